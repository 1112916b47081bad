//! The gateway in front of the deployments (API Management, LiteLLM and the like): routing
//! policies, gateway retries, throttling marks and circuit breakers, and the faults that
//! make them matter.
//!
//! This module holds the checked configuration ([`GatewaySpec`], [`Fault`]) and the pure
//! state machines the engine drives ([`Breaker`], [`choose`]); the engine
//! (`crate::engine`) owns the per-instance state and calls them on each forward and each
//! backend answer. Everything here is O(1) amortized or O(backends) per call, allocates
//! nothing after warm-up, and draws randomness only from the generator it is given (the
//! engine passes a named stream, [`crate::rng::Stream::Gateway`]).
//!
//! Semantics, in one line each (the key reference is `docs/scenario.md`, `[gateway]`):
//!
//! - every policy picks among the *available* backends (breaker not open, not marked
//!   throttled, not yet tried by this request when an untried one is left) of the best
//!   (lowest-numbered) priority group that has one: a lower group is used only when every
//!   backend above is unavailable;
//! - `round-robin`: the next available backend in list order after the last one picked;
//! - `weighted`: random, proportional to `weight`;
//! - `random`: uniform;
//! - `priority`: the first available backend in list order;
//! - `least-outstanding`: fewest attempts this instance has in flight there (ties rotate);
//! - `least-utilized`: lowest utilization last reported to this instance by the backend's
//!   response headers (standard: share of the token window used; PTU: bucket level), ties
//!   rotate;
//! - `lowest-latency`: lowest EWMA of time to first token observed by this instance (failures
//!   count as a penalty sample; unobserved backends first), ties rotate;
//! - `power-of-two`: two distinct random backends, the one with fewer outstanding attempts.
//!
//! Gateway policies (checked configuration here, applied by the engine): an inbound
//! `max_tokens` cap ([`GatewaySpec::max_tokens`]), a tokens-per-minute limit per key
//! ([`TokenLimitSpec`], a rolling window per instance and key, 429), a token quota per period
//! and key ([`TokenQuotaSpec`], [`QuotaCounter`], 403), a semantic cache ([`CacheSpec`]) and a
//! gateway timeout (504).

use std::collections::VecDeque;

use rand::RngExt;

use crate::time::SimTime;

/// Routing policy of a gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Rotate over the backends.
    RoundRobin,
    /// Random, proportional to weight.
    Weighted,
    /// Uniform random.
    Random,
    /// First available in list order.
    Priority,
    /// Fewest outstanding attempts.
    LeastOutstanding,
    /// Lowest last-reported utilization.
    LeastUtilized,
    /// Lowest EWMA latency.
    LowestLatency,
    /// Two random choices, the less loaded.
    PowerOfTwo,
}

impl Policy {
    /// All policies with their names, in documentation order.
    pub const ALL: [(&'static str, Policy); 8] = [
        ("round-robin", Policy::RoundRobin),
        ("weighted", Policy::Weighted),
        ("random", Policy::Random),
        ("priority", Policy::Priority),
        ("least-outstanding", Policy::LeastOutstanding),
        ("least-utilized", Policy::LeastUtilized),
        ("lowest-latency", Policy::LowestLatency),
        ("power-of-two", Policy::PowerOfTwo),
    ];

    /// The policy named `name`.
    pub fn from_name(name: &str) -> Option<Policy> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
    }

    /// The policy's name as written in a scenario.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map(|(n, _)| *n)
            .expect("every policy is listed")
    }
}

/// A set of HTTP statuses given as single statuses and inclusive ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusSet(pub Vec<(u16, u16)>);

impl StatusSet {
    /// Whether `status` is in the set.
    #[inline]
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|&(a, b)| a <= status && status <= b)
    }

    /// Parses one entry: `"429"` or `"500-599"`.
    pub fn parse_entry(text: &str) -> Result<(u16, u16), String> {
        let one = |t: &str| -> Result<u16, String> {
            let v: u16 = t
                .trim()
                .parse()
                .map_err(|_| format!("'{text}' is not a status or a range like \"500-599\""))?;
            if (100..=599).contains(&v) {
                Ok(v)
            } else {
                Err(format!("{v} is not an HTTP status (100-599)"))
            }
        };
        match text.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (one(a)?, one(b)?);
                if a > b {
                    return Err(format!("range '{text}' is empty"));
                }
                Ok((a, b))
            }
            None => {
                let v = one(text)?;
                Ok((v, v))
            }
        }
    }
}

/// One backend of the gateway.
#[derive(Clone, Debug)]
pub struct Backend {
    /// Deployment index.
    pub deployment: usize,
    /// Priority group: 1 is tried first.
    pub priority: u32,
    /// Relative weight (`weighted`).
    pub weight: f64,
}

/// Retries the gateway makes on its own, before answering the client.
#[derive(Clone, Debug)]
pub struct RetrySpec {
    /// Retries after the first forward (0 = none).
    pub count: u32,
    /// Wait before each retry.
    pub interval: SimTime,
    /// Whether the first retry goes at once, whatever `interval`.
    pub first_fast_retry: bool,
    /// Backend statuses that are retried.
    pub on: StatusSet,
}

/// Marking a backend throttled until its Retry-After.
#[derive(Clone, Debug)]
pub struct ThrottleSpec {
    /// Statuses that mark the backend.
    pub on: StatusSet,
    /// How long a mark lasts when the answer has no Retry-After.
    pub default_retry_after: SimTime,
}

/// When a breaker trips.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TripRule {
    /// At least this many failures within the interval.
    Count(u32),
    /// At least this percentage of failures within the interval, once `min_requests` answers
    /// were seen in it.
    Percent {
        /// Threshold, 0-100.
        percent: f64,
        /// Answers needed in the interval before the percentage counts.
        min_requests: u32,
    },
}

/// A circuit breaker's rule (one per backend, per instance).
#[derive(Clone, Debug)]
pub struct BreakerSpec {
    /// Statuses that count as failures.
    pub statuses: StatusSet,
    /// Count or percentage.
    pub rule: TripRule,
    /// The rolling interval failures are counted in.
    pub interval: SimTime,
    /// How long the breaker stays open.
    pub trip_duration: SimTime,
    /// Whether the tripping answer's Retry-After replaces `trip_duration`.
    pub accept_retry_after: bool,
    /// Upper bound on an accepted Retry-After (`None`: no bound, as API Management does).
    pub retry_after_cap: Option<SimTime>,
}

/// The checked `[gateway]` section.
#[derive(Clone, Debug)]
pub struct GatewaySpec {
    /// Routing policy.
    pub policy: Policy,
    /// Backends, in list order.
    pub backends: Vec<Backend>,
    /// Per model index, the backends (indices into `backends`) serving it, in list order.
    pub by_model: Vec<Vec<usize>>,
    /// Gateway instances; each has its own state and requests are spread over them in turn.
    pub instances: u32,
    /// Gateway retries.
    pub retry: RetrySpec,
    /// Throttling marks, if enabled.
    pub throttle: Option<ThrottleSpec>,
    /// Circuit breakers, if enabled.
    pub breaker: Option<BreakerSpec>,
    /// Weight of a new sample in the latency EWMA.
    pub ewma_alpha: f64,
    /// Latency sample recorded for a failed forward (`lowest-latency`).
    pub failure_penalty: SimTime,
    /// How long a reported utilization is believed (`least-utilized`).
    pub utilization_ttl: SimTime,
    /// Inbound `max_tokens` cap: a request's `max_tokens` becomes `min(requested, cap)`.
    pub max_tokens: Option<u32>,
    /// Tokens-per-minute limit per key (429 with Retry-After when over).
    pub token_limit: Option<TokenLimitSpec>,
    /// Token quota per period and key (403 when exhausted).
    pub token_quota: Option<TokenQuotaSpec>,
    /// Semantic cache in front of the backends.
    pub cache: Option<CacheSpec>,
    /// Gateway timeout: 504 to the client when a forward has not finished (non-streaming) or
    /// produced its first token (streaming) within it.
    pub timeout: Option<SimTime>,
}

impl GatewaySpec {
    /// Whether any token policy (limit or quota) is configured.
    pub fn has_token_policy(&self) -> bool {
        self.token_limit.is_some() || self.token_quota.is_some()
    }
}

/// What a token policy counts per: one counter per session class, or one for all requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKey {
    /// One counter per session class.
    Class,
    /// One counter shared by all requests.
    All,
}

/// `[gateway.token_limit]`: estimated tokens per rolling minute, per key.
#[derive(Clone, Debug)]
pub struct TokenLimitSpec {
    /// Estimated tokens admitted per rolling 60 s.
    pub tokens_per_minute: u64,
    /// Counter key.
    pub key: TokenKey,
}

/// `[gateway.token_quota]`: estimated tokens per fixed period, per key.
#[derive(Clone, Debug)]
pub struct TokenQuotaSpec {
    /// Estimated tokens admitted per period.
    pub tokens: u64,
    /// Period length; periods start at time 0.
    pub period: SimTime,
    /// Counter key.
    pub key: TokenKey,
}

/// `[gateway.cache]`: a semantic cache.
#[derive(Clone, Debug)]
pub struct CacheSpec {
    /// Probability that a request is answered from the cache.
    pub hit_ratio: f64,
    /// Time every lookup takes.
    pub lookup_latency: SimTime,
    /// Embedding cost of a lookup, USD per 1,000 prompt tokens.
    pub embedding_cost_per_1k_tokens: f64,
}

/// A token quota counter of one key: fixed periods starting at time 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct QuotaCounter {
    period: u64,
    used: u64,
}

impl QuotaCounter {
    /// `Ok` if `amount` fits in `spec.tokens` for the period containing `now` (a new period
    /// starts from zero); otherwise when the period ends.
    pub fn check(
        &mut self,
        spec: &TokenQuotaSpec,
        now: SimTime,
        amount: u64,
    ) -> Result<(), SimTime> {
        let len = spec.period.as_micros().max(1);
        let p = now.as_micros() / len;
        if p != self.period {
            self.period = p;
            self.used = 0;
        }
        if self.used + amount > spec.tokens {
            return Err(SimTime::from_micros((p + 1).saturating_mul(len)));
        }
        Ok(())
    }

    /// Charges `amount` to the current period (after a successful [`check`](Self::check)).
    pub fn charge(&mut self, amount: u64) {
        self.used += amount;
    }
}

/// A fault injected on deployments.
#[derive(Clone, Debug)]
pub struct Fault {
    /// Name (for outputs).
    pub name: String,
    /// What happens.
    pub kind: FaultKind,
    /// Deployments it applies to.
    pub deployments: Vec<usize>,
    /// Active from (inclusive).
    pub from: SimTime,
    /// Active until (exclusive).
    pub to: SimTime,
}

impl Fault {
    /// Whether the fault is active at `now`.
    #[inline]
    pub fn active(&self, now: SimTime) -> bool {
        self.from <= now && now < self.to
    }
}

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// Every attempt is answered at once with `status` (no Retry-After).
    Outage {
        /// Status, e.g. 503.
        status: u16,
    },
    /// A share of attempts is answered at once with `status`.
    Errors {
        /// Status, e.g. 500.
        status: u16,
        /// Probability per attempt.
        rate: f64,
    },
    /// A share of attempts gets a capacity 429 ("system is experiencing high demand") that
    /// quota does not explain.
    Capacity429 {
        /// Probability per attempt.
        rate: f64,
        /// Retry-After sent with it.
        retry_after: SimTime,
    },
    /// A standard deployment's token and request limits are multiplied by `factor`.
    LimitCut {
        /// Factor in (0, 1].
        factor: f64,
    },
}

/// The state of a circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Forwarding; failures are counted.
    Closed,
    /// Not forwarding until the given time.
    Open {
        /// When it lets a probe through.
        until: SimTime,
    },
    /// One probe was let through; its answer closes or re-opens the breaker. Another probe
    /// goes when `probe_until` passes without an answer.
    HalfOpen {
        /// When another probe may go.
        probe_until: SimTime,
    },
}

/// One circuit breaker: the state machine of API Management's backend circuit breaker
/// (count or percentage of failing answers in a rolling interval, trip duration or accepted
/// Retry-After), with a half-open probe.
#[derive(Clone, Debug)]
pub struct Breaker {
    state: BreakerState,
    /// Answers in the rolling interval, oldest first: `(time, failed)`.
    events: VecDeque<(SimTime, bool)>,
    failures: u32,
    /// Times it tripped.
    pub trips: u64,
    /// Total time it was set open for (each trip's open span, capped at the horizon given).
    pub open_time: SimTime,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            state: BreakerState::Closed,
            events: VecDeque::new(),
            failures: 0,
            trips: 0,
            open_time: SimTime::ZERO,
        }
    }
}

impl Breaker {
    /// The current state (as last updated; see [`Breaker::available`]).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Whether a forward may go now (closed, open past its end, or half-open with no probe
    /// pending). Does not change the state.
    #[inline]
    pub fn available(&self, now: SimTime) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open { until } => now >= until,
            BreakerState::HalfOpen { probe_until } => now >= probe_until,
        }
    }

    /// Until when the breaker blocks forwards (`now` or earlier when it does not).
    pub fn blocked_until(&self) -> SimTime {
        match self.state {
            BreakerState::Closed => SimTime::ZERO,
            BreakerState::Open { until } => until,
            BreakerState::HalfOpen { probe_until } => probe_until,
        }
    }

    /// A forward goes through the breaker at `now` (it must be [`available`](Self::available)):
    /// an open breaker past its end becomes half-open and this forward is its probe.
    pub fn on_forward(&mut self, spec: &BreakerSpec, now: SimTime) {
        match self.state {
            BreakerState::Closed => {}
            BreakerState::Open { .. } | BreakerState::HalfOpen { .. } => {
                self.state = BreakerState::HalfOpen {
                    probe_until: now + spec.trip_duration,
                };
            }
        }
    }

    /// The backend answered `status` (200 on success) at `now`, with a Retry-After of
    /// `retry_after` if any. Returns whether the breaker tripped. `horizon` caps the open
    /// time counted in [`Breaker::open_time`].
    pub fn on_result(
        &mut self,
        spec: &BreakerSpec,
        now: SimTime,
        status: u16,
        retry_after: Option<SimTime>,
        horizon: SimTime,
    ) -> bool {
        let failed = spec.statuses.contains(status);
        match self.state {
            BreakerState::Open { .. } => false, // an answer to a forward sent before the trip
            BreakerState::HalfOpen { .. } => {
                if failed {
                    self.trip(spec, now, retry_after, horizon);
                    true
                } else {
                    self.state = BreakerState::Closed;
                    self.events.clear();
                    self.failures = 0;
                    false
                }
            }
            BreakerState::Closed => {
                self.events.push_back((now, failed));
                self.failures += failed as u32;
                while let Some(&(t, f)) = self.events.front() {
                    if t + spec.interval <= now {
                        self.events.pop_front();
                        self.failures -= f as u32;
                    } else {
                        break;
                    }
                }
                let trip = failed
                    && match spec.rule {
                        TripRule::Count(n) => self.failures >= n,
                        TripRule::Percent {
                            percent,
                            min_requests,
                        } => {
                            let total = self.events.len() as u32;
                            total >= min_requests
                                && self.failures as f64 * 100.0 >= percent * total as f64
                        }
                    };
                if trip {
                    self.trip(spec, now, retry_after, horizon);
                }
                trip
            }
        }
    }

    fn trip(
        &mut self,
        spec: &BreakerSpec,
        now: SimTime,
        retry_after: Option<SimTime>,
        horizon: SimTime,
    ) {
        let span = match retry_after {
            Some(ra) if spec.accept_retry_after && ra > SimTime::ZERO => {
                spec.retry_after_cap.map_or(ra, |cap| ra.min(cap))
            }
            _ => spec.trip_duration,
        };
        let until = now.saturating_add(span);
        self.state = BreakerState::Open { until };
        self.events.clear();
        self.failures = 0;
        self.trips += 1;
        self.open_time += until.min(horizon).saturating_sub(now);
    }
}

/// What one gateway instance knows about one backend's load.
#[derive(Clone, Copy, Debug, Default)]
pub struct Load {
    /// Attempts this instance has forwarded there that are still running.
    pub outstanding: u32,
    /// EWMA of observed latency, milliseconds (valid when `observed`).
    pub latency_ewma_ms: f64,
    /// Whether any latency was observed.
    pub observed: bool,
    /// Utilization last reported by the backend (0 = idle, 1 = at its limit; an error answer
    /// reports 1).
    pub utilization: f64,
    /// When `utilization` stops being believed (then the backend counts as idle).
    pub utilization_until: SimTime,
}

impl Load {
    /// Adds a latency sample to the EWMA.
    pub fn observe_latency(&mut self, ms: f64, alpha: f64) {
        if self.observed {
            self.latency_ewma_ms += alpha * (ms - self.latency_ewma_ms);
        } else {
            self.latency_ewma_ms = ms;
            self.observed = true;
        }
    }
}

/// What [`available`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Available {
    /// Candidates written (the first `n` entries of the output).
    pub n: usize,
    /// When the first unavailable backend becomes available again (`SimTime::MAX` if none
    /// is unavailable).
    pub unblock: SimTime,
    /// Whether some backend is marked throttled.
    pub throttled: bool,
}

/// The backends a forward may go to now, written to `out` in list order: of `list` (backend
/// indices serving the model, in list order), those whose breaker (when `breakers` is given)
/// is available and that are not marked throttled (`now >= throttled_until[b]`), untried ones
/// only (bit `b` of `tried`) unless every available one was tried; of those, the best
/// (lowest-numbered) priority group. The result feeds [`choose`].
pub fn available(
    list: &[usize],
    backends: &[Backend],
    breakers: Option<&[Breaker]>,
    throttled_until: &[SimTime],
    tried: u64,
    now: SimTime,
    out: &mut [usize; 64],
) -> Available {
    let mut n = 0;
    let mut unblock = SimTime::MAX;
    let mut throttled = false;
    // Untried backends first; when every available one was tried, any available.
    for pass in 0..2 {
        let mut best = u32::MAX;
        for &b in list {
            let br = breakers.is_none_or(|br| br[b].available(now));
            let th = now >= throttled_until[b];
            if !(br && th) {
                if pass == 0 {
                    let mut t = SimTime::ZERO;
                    if !br {
                        t = breakers.expect("a closed breaker implies breakers")[b].blocked_until();
                    }
                    if !th {
                        t = t.max(throttled_until[b]);
                        throttled = true;
                    }
                    unblock = unblock.min(t);
                }
                continue;
            }
            if pass == 0 && tried & (1u64 << b) != 0 {
                continue;
            }
            let p = backends[b].priority;
            if p < best {
                best = p;
                n = 0;
            }
            if p == best {
                out[n] = b;
                n += 1;
            }
        }
        if n > 0 || tried == 0 {
            break;
        }
    }
    Available {
        n,
        unblock,
        throttled,
    }
}

/// Picks one of `cands` (backend indices, in list order, all available and of one priority
/// group) by `policy` at `now`. `load` and `weights` are indexed by backend; `cursor` is the
/// instance's rotation state (the next backend index to start from) and `rng` its random
/// stream. `cands` must not be empty.
pub fn choose<R: rand::Rng + ?Sized>(
    policy: Policy,
    now: SimTime,
    cands: &[usize],
    weights: &[f64],
    load: &[Load],
    cursor: &mut usize,
    rng: &mut R,
) -> usize {
    debug_assert!(!cands.is_empty());
    // The first candidate at or after the cursor, wrapping: a rotation that skips the
    // unavailable.
    let rotated = |cursor: usize| -> usize { cands.iter().position(|&b| b >= cursor).unwrap_or(0) };
    // Minimum of `key` over the candidates, ties broken by rotation from the cursor.
    let min_by = |cursor: &mut usize, key: &dyn Fn(usize) -> f64| -> usize {
        let start = rotated(*cursor);
        let n = cands.len();
        let mut best = cands[start];
        let mut best_key = key(best);
        for j in 1..n {
            let b = cands[(start + j) % n];
            let k = key(b);
            if k < best_key {
                best = b;
                best_key = k;
            }
        }
        *cursor = best + 1;
        best
    };
    match policy {
        Policy::RoundRobin => {
            let b = cands[rotated(*cursor)];
            *cursor = b + 1;
            b
        }
        Policy::Priority => cands[0],
        Policy::Random => cands[rng.random_range(0..cands.len())],
        Policy::Weighted => {
            let total: f64 = cands.iter().map(|&b| weights[b]).sum();
            let mut x = rng.random::<f64>() * total;
            for &b in cands {
                x -= weights[b];
                if x < 0.0 {
                    return b;
                }
            }
            *cands.last().expect("not empty")
        }
        Policy::LeastOutstanding => min_by(cursor, &|b| load[b].outstanding as f64),
        Policy::LeastUtilized => min_by(cursor, &|b| {
            if now < load[b].utilization_until {
                load[b].utilization
            } else {
                0.0
            }
        }),
        Policy::LowestLatency => min_by(cursor, &|b| {
            if load[b].observed {
                load[b].latency_ewma_ms
            } else {
                -1.0
            }
        }),
        Policy::PowerOfTwo => {
            let n = cands.len();
            if n == 1 {
                return cands[0];
            }
            let i = rng.random_range(0..n);
            let mut j = rng.random_range(0..n - 1);
            if j >= i {
                j += 1;
            }
            let (a, b) = (cands[i], cands[j]);
            if load[b].outstanding < load[a].outstanding {
                b
            } else {
                a
            }
        }
    }
}

#[cfg(test)]
mod tests;
