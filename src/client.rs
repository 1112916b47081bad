//! The client: the application's SDK between a session and the service.
//!
//! It owns what the SDK decides: how long it waits for an answer ([`Client::timeout`];
//! non-streaming, the whole answer; streaming, the first token), which answers it retries
//! and after how long (backoff with jitter, Retry-After honoured up to a cap), and when it
//! gives up. The decision itself is the pure function [`decide`]; [`Client`] adds the
//! per-request counters and the jitter stream. It never picks a deployment (the router or
//! gateway does) and never looks at a deployment's state: it only sees answers.

use rand::RngExt;

use crate::metrics::{CLIENT_TIMEOUT, Outcome};
use crate::rng::{SimRng, Stream, stream};
use crate::scenario::ClientPolicy;
use crate::time::SimTime;

/// How long the SDK waits before re-sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delay {
    /// The answer's Retry-After, honoured as is.
    RetryAfter(SimTime),
    /// Exponential backoff before retry `n` (0-based), jittered by a uniform draw.
    Backoff(u32),
}

/// What the SDK does with an error answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Re-send after the delay.
    Retry(Delay),
    /// Give up: the request ends with this outcome.
    GiveUp(Outcome),
}

/// The SDK's decision on an error answer `status` ([`CLIENT_TIMEOUT`] for its own timeout)
/// carrying `retry_after` (relative), after `retries` retries of this request.
pub fn decide(
    policy: &ClientPolicy,
    status: u16,
    retry_after: Option<SimTime>,
    retries: u32,
) -> Decision {
    let retryable = if status == CLIENT_TIMEOUT {
        policy.retry_on_timeout
    } else {
        policy.retry_statuses.contains(status)
    };
    if !retryable || retries >= policy.max_retries {
        return Decision::GiveUp(Outcome::of_failure(status));
    }
    Decision::Retry(match retry_after {
        Some(ra) if ra > SimTime::ZERO && ra <= policy.retry_after_cap => Delay::RetryAfter(ra),
        _ => Delay::Backoff(retries),
    })
}

/// The SDK's backoff before retry `n` (0-based): `min(initial * 2^n, max) * (1 - jitter * u)`
/// with `u` uniform in [0, 1).
pub fn backoff(initial: SimTime, max: SimTime, jitter: f64, n: u32, u: f64) -> SimTime {
    let base = initial.as_secs_f64() * 2f64.powi(n.min(62) as i32);
    let capped = base.min(max.as_secs_f64());
    SimTime::from_secs_f64(capped * (1.0 - jitter * u))
}

/// What the client does after an error answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Re-send at this time.
    RetryAt(SimTime),
    /// The request failed.
    Failed(Outcome),
}

#[derive(Clone, Copy, Debug, Default)]
struct Request {
    started: SimTime,
    attempts: u32,
    retries: u32,
}

/// The client of one run: the policy, per-request counters by session slot, and the jitter
/// stream ([`Stream::Chaos`]).
pub struct Client<'a> {
    policy: &'a ClientPolicy,
    rng: SimRng,
    requests: Vec<Request>,
    retries: u64,
}

impl<'a> Client<'a> {
    /// Bytes of per-session state this room keeps for each session slot.
    pub const SLOT_BYTES: usize = std::mem::size_of::<Request>();

    /// The client of a run with master seed `seed`.
    pub fn new(policy: &'a ClientPolicy, seed: u64) -> Self {
        Client {
            policy,
            rng: stream(seed, Stream::Chaos, 0),
            requests: Vec::new(),
            retries: 0,
        }
    }

    /// How long an attempt may take before the SDK gives up on it.
    #[inline]
    pub fn timeout(&self) -> SimTime {
        self.policy.timeout
    }

    /// The session in `slot` sends a new request at `now`.
    #[inline]
    pub fn begin(&mut self, slot: u32, now: SimTime) {
        let i = slot as usize;
        if i >= self.requests.len() {
            self.requests.resize(i + 1, Request::default());
        }
        self.requests[i] = Request {
            started: now,
            attempts: 0,
            retries: 0,
        };
    }

    /// One client attempt of the request in `slot` reached `n` deployments (router failovers
    /// and gateway retries included).
    #[inline]
    pub fn tried(&mut self, slot: u32, n: u32) {
        self.requests[slot as usize].attempts += n;
    }

    /// When the request in `slot` started.
    #[inline]
    pub fn started(&self, slot: u32) -> SimTime {
        self.requests[slot as usize].started
    }

    /// Deployment attempts made for the request in `slot`.
    #[inline]
    pub fn attempts(&self, slot: u32) -> u32 {
        self.requests[slot as usize].attempts
    }

    /// The request in `slot` got the error answer `status` at `now`: retry (when) or fail.
    /// The jitter is drawn only when the backoff applies, so the stream stays aligned.
    pub fn on_error(
        &mut self,
        slot: u32,
        status: u16,
        retry_after: Option<SimTime>,
        now: SimTime,
    ) -> Next {
        let r = &mut self.requests[slot as usize];
        match decide(self.policy, status, retry_after, r.retries) {
            Decision::GiveUp(outcome) => Next::Failed(outcome),
            Decision::Retry(delay) => {
                r.retries += 1;
                self.retries += 1;
                let wait = match delay {
                    Delay::RetryAfter(ra) => ra,
                    Delay::Backoff(n) => {
                        let u: f64 = self.rng.random();
                        let p = self.policy;
                        backoff(p.backoff_initial, p.backoff_max, p.backoff_jitter, n, u)
                    }
                };
                Next::RetryAt(now + wait)
            }
        }
    }

    /// Retries made by the SDK in the run.
    pub fn retries(&self) -> u64 {
        self.retries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ClientPolicy {
        ClientPolicy {
            timeout: SimTime::from_secs(600),
            max_retries: 2,
            backoff_initial: SimTime::from_millis(500),
            backoff_max: SimTime::from_secs(8),
            backoff_jitter: 0.25,
            retry_after_cap: SimTime::from_secs(60),
            retry_statuses: crate::gateway::StatusSet(vec![(408, 408), (429, 429), (500, 599)]),
            retry_on_timeout: true,
        }
    }

    #[test]
    fn backoff_follows_the_sdk_formula() {
        let ms = SimTime::from_millis;
        assert_eq!(backoff(ms(500), ms(8000), 0.25, 0, 0.0), ms(500));
        assert_eq!(backoff(ms(500), ms(8000), 0.25, 2, 0.0), ms(2000));
        assert_eq!(backoff(ms(500), ms(8000), 0.25, 10, 0.0), ms(8000));
        assert_eq!(
            backoff(ms(500), ms(8000), 0.25, 0, 0.5),
            SimTime::from_micros(437_500)
        );
    }

    #[test]
    fn retry_after_is_honoured_only_within_the_cap() {
        let p = policy();
        let s = SimTime::from_secs;
        assert_eq!(
            decide(&p, 429, Some(s(7)), 0),
            Decision::Retry(Delay::RetryAfter(s(7)))
        );
        // Past the cap, or zero: the SDK's own backoff.
        assert_eq!(
            decide(&p, 429, Some(s(61)), 1),
            Decision::Retry(Delay::Backoff(1))
        );
        assert_eq!(
            decide(&p, 429, Some(SimTime::ZERO), 0),
            Decision::Retry(Delay::Backoff(0))
        );
        assert_eq!(decide(&p, 503, None, 0), Decision::Retry(Delay::Backoff(0)));
    }

    #[test]
    fn gives_up_after_max_retries_or_on_a_status_it_does_not_retry() {
        let p = policy();
        assert_eq!(
            decide(&p, 429, None, 2),
            Decision::GiveUp(Outcome::RateLimited)
        );
        assert_eq!(decide(&p, 400, None, 0), Decision::GiveUp(Outcome::Failed));
        assert_eq!(
            decide(&p, CLIENT_TIMEOUT, None, 2),
            Decision::GiveUp(Outcome::TimedOut)
        );
        let mut no_timeouts = policy();
        no_timeouts.retry_on_timeout = false;
        assert_eq!(
            decide(&no_timeouts, CLIENT_TIMEOUT, None, 0),
            Decision::GiveUp(Outcome::TimedOut)
        );
        assert_eq!(
            decide(&p, 408, None, 2),
            Decision::GiveUp(Outcome::TimedOut)
        );
    }

    #[test]
    fn the_client_counts_retries_and_draws_jitter_only_for_backoff() {
        let p = policy();
        let mut a = Client::new(&p, 7);
        let mut b = Client::new(&p, 7);
        let now = SimTime::from_secs(100);
        a.begin(0, now);
        b.begin(0, now);
        // `a` first honours a Retry-After (no draw), then backs off; `b` backs off at once.
        assert_eq!(
            a.on_error(0, 429, Some(SimTime::from_secs(3)), now),
            Next::RetryAt(now + SimTime::from_secs(3))
        );
        let Next::RetryAt(ta) = a.on_error(0, 503, None, now) else {
            panic!("retries left")
        };
        let Next::RetryAt(tb) = b.on_error(0, 503, None, now) else {
            panic!("retries left")
        };
        // Same first jitter draw, different retry number: 1 s vs 0.5 s before jitter.
        let (da, db) = ((ta - now).as_secs_f64(), (tb - now).as_secs_f64());
        assert!((da / db - 2.0).abs() < 1e-5, "{da} {db}");
        assert_eq!(a.retries(), 2);
        assert_eq!(a.on_error(0, 503, None, now), Next::Failed(Outcome::Failed));
    }
}
