//! Serving an admitted attempt: its deadline, the concurrency queue, pre-fill, decode (at a
//! fixed speed, or under processor sharing when speed depends on concurrency), and the
//! accounting of what it processed (tokens, cost, the PTU bucket's correction).

use super::{
    Attempt, Completed, DeadlineKind, DepState, Deployments, Expired, Phase, Timers, Try,
    is_decoding,
};
use rand_distr::{Distribution, StandardNormal};

use crate::events::{Ev, EventQueue};
use crate::metrics::Audit;
use crate::rng::{Stream, stream};
use crate::scenario::{DeploymentKind, Serving};
use crate::time::SimTime;
use crate::workload::Call;

/// Time to first token once an attempt holds a slot, alone and without noise: fixed latency
/// plus processing of the prompt's uncached tokens (a cached prefix is not processed again).
#[inline]
pub fn prefill_time(serving: &Serving, uncached_prompt: u32) -> SimTime {
    serving.ttft_base
        + SimTime::from_secs_f64(uncached_prompt as f64 / serving.prefill_tokens_per_s)
}

/// Per-request decode speed multiplier: lognormal with mean 1 and a given coefficient of
/// variation, applied to a standard normal draw `z`.
#[derive(Clone, Copy, Debug)]
pub struct SpeedVariation {
    sigma: f64,
    half_variance: f64,
}

impl SpeedVariation {
    /// For coefficient of variation `cv` (0 = every request at the median speed).
    pub fn new(cv: f64) -> Self {
        let s2 = if cv > 0.0 { (1.0 + cv * cv).ln() } else { 0.0 };
        SpeedVariation {
            sigma: s2.sqrt(),
            half_variance: s2 / 2.0,
        }
    }

    /// `exp(sigma z - sigma^2 / 2)`: mean 1 over standard normal `z`.
    #[inline]
    pub fn multiplier(&self, z: f64) -> f64 {
        if self.sigma == 0.0 {
            return 1.0;
        }
        (self.sigma * z - self.half_variance).exp()
    }
}

/// [`SpeedVariation::multiplier`] for a one-off `cv`.
pub fn speed_multiplier(cv: f64, z: f64) -> f64 {
    SpeedVariation::new(cv).multiplier(z)
}

/// The earliest of the timers of an attempt admitted at `now`: the client's timeout, the
/// server's completion window (non-streaming attempts only) and the gateway's timeout.
pub fn first_deadline(
    now: SimTime,
    timers: Timers,
    window: Option<SimTime>,
    streaming: bool,
) -> (SimTime, DeadlineKind) {
    let client = now + timers.client;
    let server = if streaming {
        None
    } else {
        window.map(|w| now + w)
    };
    let (mut deadline, mut kind) = match server {
        Some(w) if w < client => (w, DeadlineKind::Server),
        _ => (client, DeadlineKind::Client),
    };
    // The gateway's timeout runs from the forward, which is now (admission is immediate).
    if let Some(t) = timers.gateway
        && now + t < deadline
    {
        deadline = now + t;
        kind = DeadlineKind::Gateway;
    }
    (deadline, kind)
}

/// The standard normal draws behind an attempt's decode speed and (when the deployment has
/// time-to-first-token noise) its TTFT noise. The first attempt's speed is the call's own draw;
/// a later attempt (retry or failover: another replica) draws a fresh one from the attempt's
/// stream, keyed by the call and the attempt number, so every variant sees the same draws.
#[inline]
fn attempt_draws(seed: u64, serving: &Serving, call: &Call, attempt: u32) -> (f64, Option<f64>) {
    let fresh = attempt > 0 && serving.fresh_speed_per_attempt;
    let noise = serving.ttft_variation_cv > 0.0;
    if !fresh && !noise {
        return (call.speed_z, None);
    }
    let mut r = stream(seed, Stream::Attempt, call.key ^ attempt as u64);
    let z: f64 = StandardNormal.sample(&mut r);
    let speed = if fresh { z } else { call.speed_z };
    (speed, noise.then(|| StandardNormal.sample(&mut r)))
}

/// When attempt `a`, decoding at its own fixed speed from its first token at `first`, ends.
#[inline]
fn fixed_speed_end(a: &Attempt, first: SimTime) -> SimTime {
    first + SimTime::from_secs_f64(a.tokens as f64 / a.rate)
}

/// Attempt `a` of `slot` has its first token at `first` and decodes at a fixed speed until
/// `end`: its end is scheduled.
#[inline]
fn decode_at_fixed_speed(
    a: &mut Attempt,
    slot: u32,
    first: SimTime,
    end: SimTime,
    q: &mut EventQueue<Ev>,
) {
    a.first_token = first;
    a.phase = Phase::Decoding;
    q.push(
        end,
        Ev::DecodeFinish {
            slot,
            attempt: a.id,
        },
    );
}

impl DepState {
    /// Pre-fill time of attempt `a` starting with `n` attempts in service (itself included).
    #[inline]
    fn prefill(&self, serving: &Serving, a: &Attempt, n: u32) -> SimTime {
        let base = prefill_time(serving, a.prompt - a.cached);
        if a.ttft_noise == 1.0 && self.flat_ttft {
            return base;
        }
        SimTime::from_secs_f64(base.as_secs_f64() * serving.ttft_factor(n as usize) * a.ttft_noise)
    }
}

impl Deployments<'_> {
    /// Starts serving the attempt of `slot` just admitted by deployment `d` with `estimate`
    /// charged: schedules its deadline (when it can fire) and pre-fills it, or queues it
    /// behind the concurrency cap.
    #[inline]
    pub(super) fn serve(
        &mut self,
        at: &Try,
        d: usize,
        call: &Call,
        estimate: f64,
        q: &mut EventQueue<Ev>,
    ) {
        let (slot, now) = (at.slot, at.now);
        self.next_attempt += 1;
        let id = self.next_attempt;
        let dep = &self.sc.deployments[d];
        let st = &mut self.deps[d];
        let a = &mut self.slots[slot as usize];
        *a = Attempt::admitted(id, d, call, estimate, a.spilled, now);
        let (deadline, kind) =
            first_deadline(now, at.timers, dep.completion_window, call.streaming);
        a.deadline = kind;
        let (speed_z, ttft_noise) = attempt_draws(self.sc.seed, &dep.serving, call, at.attempt);
        a.rate = dep.serving.decode_tokens_per_s * st.speed_variation.multiplier(speed_z);
        a.ttft_noise = ttft_noise.map_or(1.0, |z| st.ttft_variation.multiplier(z));
        let queued = dep.max_concurrency.is_some_and(|cap| st.busy >= cap);
        // Its pre-fill time if it starts now (as the `busy + 1`-th attempt in service).
        let prefill = (!queued).then(|| st.prefill(&dep.serving, a, st.busy + 1));
        // Most deadlines never fire. When the attempt starts at once, its first token is
        // known now, and so is its end at a fixed speed, or a bound on it when the speed
        // depends on concurrency (decoding at the slowest speed of the curve the whole time);
        // a deadline that falls safely after them would only be a stale event, so it is not
        // scheduled.
        let known = (!queued).then(|| {
            let first = now + prefill.unwrap_or(SimTime::ZERO);
            let end = if st.flat {
                fixed_speed_end(a, first)
            } else {
                first
                    + SimTime::from_secs_f64(a.tokens as f64 / (a.rate * st.slowest))
                    + SimTime::SEC
            };
            (first, end)
        });
        let needed = match known {
            None => true,
            Some((first, end)) => {
                deadline <= if call.streaming { first } else { end } + SimTime::MS
            }
        };
        if needed {
            // Deadlines are "now + a fixed delay": they go to that delay's FIFO lane.
            let lane = match kind {
                DeadlineKind::Gateway => self
                    .gateway_lane
                    .expect("a gateway deadline implies a gateway timeout"),
                DeadlineKind::Server => st
                    .window_lane
                    .expect("a server deadline implies a completion window"),
                DeadlineKind::Client => self.client_lane,
            };
            q.push_lane(lane, deadline, Ev::Deadline { slot, attempt: id });
        }
        if queued {
            a.phase = Phase::Queued;
            st.queue.push_back((slot, id));
        } else if let (false, true, Some((first, end))) = (needed, st.flat, known) {
            // Nothing can observe the first token before the end (no deadline is pending,
            // and the speed does not depend on concurrency): it is recorded now, and the
            // attempt's one event is its end, at exactly the time the pre-fill event's
            // handler would have scheduled it.
            st.busy += 1;
            a.served = now;
            decode_at_fixed_speed(a, slot, first, end, q);
        } else {
            self.start_prefill(slot, now, prefill, q);
        }
    }

    /// The attempt of `slot` gets a concurrency slot and pre-fills; `prefill` is its pre-fill
    /// time when already known.
    #[inline]
    fn start_prefill(
        &mut self,
        slot: u32,
        now: SimTime,
        prefill: Option<SimTime>,
        q: &mut EventQueue<Ev>,
    ) {
        let a = &mut self.slots[slot as usize];
        let d = a.dep as usize;
        let st = &mut self.deps[d];
        st.busy += 1;
        a.phase = Phase::Prefill;
        a.served = now;
        let dt = prefill.unwrap_or_else(|| st.prefill(&self.sc.deployments[d].serving, a, st.busy));
        q.push(
            now + dt,
            Ev::PrefillDone {
                slot,
                attempt: a.id,
            },
        );
    }

    /// The attempt of `slot` has its first token at `now`: it starts decoding.
    #[inline]
    pub fn prefill_done(&mut self, slot: u32, now: SimTime, q: &mut EventQueue<Ev>) {
        let a = &mut self.slots[slot as usize];
        let d = a.dep as usize;
        if self.deps[d].flat {
            // Speed does not depend on concurrency: sharing changes nothing, so the attempt
            // ends at a fixed time and needs no processor-sharing bookkeeping.
            let end = fixed_speed_end(a, now);
            decode_at_fixed_speed(a, slot, now, end, q);
            return;
        }
        a.first_token = now;
        a.phase = Phase::Decoding;
        let work = a.tokens as f64 / a.rate;
        let serving = &self.sc.deployments[d].serving;
        a.v_start = self.deps[d]
            .ps
            .add(now, a.id, slot, work, |n| serving.speed_factor(n));
        self.reschedule_decode(d, now, q);
    }

    /// Deployment `d`'s earliest processor-sharing finish is due at `now`: the virtual clock
    /// catches up. Then [`next_finished`](Self::next_finished) gives the attempts done, and
    /// [`reschedule_decode`](Self::reschedule_decode) the next finish.
    #[inline]
    pub fn decode_due(&mut self, d: usize, now: SimTime) {
        let st = &mut self.deps[d];
        st.decode_at = SimTime::MAX;
        let serving = &self.sc.deployments[d].serving;
        st.ps.advance(now, |n| serving.speed_factor(n));
    }

    /// The next attempt of deployment `d` whose decoding is done, by its slot.
    #[inline]
    pub fn next_finished(&mut self, d: usize) -> Option<u32> {
        let slots = &self.slots;
        self.deps[d]
            .ps
            .pop_finished(|id, s| is_decoding(slots, id, s))
            .map(|(_, slot)| slot)
    }

    /// Schedules deployment `d`'s next processor-sharing finish. It replaces the pending one
    /// in the queue (a keyed event), so superseded finishes are never popped; the generation
    /// stays as a check.
    pub fn reschedule_decode(&mut self, d: usize, now: SimTime, q: &mut EventQueue<Ev>) {
        let serving = &self.sc.deployments[d].serving;
        let slots = &self.slots;
        let st = &mut self.deps[d];
        let next = st.ps.next_finish(
            now,
            |n| serving.speed_factor(n),
            |id, s| is_decoding(slots, id, s),
        );
        match next {
            Some(t) if t == st.decode_at => {}
            Some(t) => {
                st.decode_gen += 1;
                st.decode_at = t;
                let ev = Ev::DecodeDone {
                    dep: d as u32,
                    generation: st.decode_gen,
                };
                // One pending finish per deployment: the superseded one leaves the queue.
                q.push_keyed(d, t, ev);
            }
            None => {
                st.decode_gen += 1;
                st.decode_at = SimTime::MAX;
                q.cancel_keyed(d);
            }
        }
    }

    /// A concurrency slot of deployment `d` is free: the first live queued attempt starts.
    #[inline]
    fn release_slot(&mut self, d: usize, now: SimTime, q: &mut EventQueue<Ev>) {
        self.deps[d].busy -= 1;
        while let Some((slot, id)) = self.deps[d].queue.pop_front() {
            let a = &self.slots[slot as usize];
            if a.id == id && a.phase == Phase::Queued {
                self.start_prefill(slot, now, None, q);
                break;
            }
        }
    }

    /// Bills and accounts an attempt's processed tokens on deployment `d`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn account(
        &mut self,
        slot: u32,
        d: usize,
        prompt: u32,
        completion: u32,
        bill: bool,
        now: SimTime,
        audit: Option<&mut (dyn Audit + '_)>,
    ) {
        let dep = &self.sc.deployments[d];
        let model = &self.sc.models[dep.model];
        let a = &self.slots[slot as usize];
        let dm = &mut self.metrics[d];
        let st = &mut self.deps[d];
        // The cached prefix of a processed prompt.
        let cached = a.cached.min(prompt);
        match dep.kind {
            DeploymentKind::Provisioned { output_ratio, .. } => {
                // Cached prompt tokens are left out of PTU utilization [facts].
                let actual = (prompt - cached) as f64 + output_ratio * completion as f64;
                st.interval_normalized += actual;
                dm.normalized_tokens += actual;
                let bucket = st.bucket.as_mut().expect("provisioned");
                bucket.correct(now, actual - a.estimate);
                if let Some(au) = audit {
                    let level = bucket.level(now);
                    au.bucket(
                        d,
                        now,
                        bucket.added,
                        bucket.corrected,
                        bucket.drained,
                        level,
                    );
                }
            }
            DeploymentKind::Standard { .. } => {
                if bill {
                    let cost = ((prompt - cached) as f64 * model.price_input_per_1m
                        + cached as f64 * model.price_cached_input_per_1m
                        + completion as f64 * model.price_output_per_1m)
                        / 1e6;
                    dm.token_cost_usd += cost;
                    dm.billed_completion_tokens += completion as u64;
                    if cached > 0 {
                        // (Without a cached prefix, the saving is 0 and adding it changes
                        // nothing.)
                        dm.cache_savings_usd += cached as f64
                            * (model.price_input_per_1m - model.price_cached_input_per_1m)
                            / 1e6;
                    }
                    if a.spilled {
                        self.spilled_cost += cost;
                    }
                }
            }
        }
        dm.prompt_tokens += prompt as u64;
        dm.cached_prompt_tokens += cached as u64;
        dm.completion_tokens += completion as u64;
        st.interval_tokens += prompt as u64 + completion as u64;
    }

    /// The attempt of `slot` decoded its last token at `now`.
    #[inline]
    pub fn complete(
        &mut self,
        slot: u32,
        now: SimTime,
        q: &mut EventQueue<Ev>,
        audit: Option<&mut (dyn Audit + '_)>,
    ) -> Completed {
        let a = &self.slots[slot as usize];
        let d = a.dep as usize;
        let done = Completed {
            dep: d,
            tokens: a.tokens,
            admitted: a.admitted,
            served: a.served,
            first_token: a.first_token,
        };
        self.account(slot, d, a.prompt, a.tokens, true, now, audit);
        self.release_slot(d, now, q);
        self.slots[slot as usize].phase = Phase::Idle;
        done
    }

    /// The deadline of the attempt of `slot` fired at `now`: the attempt is cancelled.
    pub fn expire(
        &mut self,
        slot: u32,
        now: SimTime,
        q: &mut EventQueue<Ev>,
        audit: Option<&mut (dyn Audit + '_)>,
    ) -> Expired {
        let a = self.slots[slot as usize];
        let generated = self.cancel(slot, now, q, audit);
        if a.deadline == DeadlineKind::Server {
            self.metrics[a.dep as usize].timed_out_408 += 1;
            self.interval_408 += 1;
        }
        Expired {
            kind: a.deadline,
            generated,
        }
    }

    /// Stops the attempt of `slot` wherever it is; returns the completion tokens it
    /// generated.
    fn cancel(
        &mut self,
        slot: u32,
        now: SimTime,
        q: &mut EventQueue<Ev>,
        audit: Option<&mut (dyn Audit + '_)>,
    ) -> u32 {
        let a = self.slots[slot as usize];
        let d = a.dep as usize;
        let bill = self.sc.deployments[d].bill_incomplete;
        let generated = match a.phase {
            Phase::Queued => {
                self.account(slot, d, 0, 0, false, now, audit);
                0
            }
            Phase::Prefill => {
                self.account(slot, d, a.prompt, 0, bill, now, audit);
                self.release_slot(d, now, q);
                0
            }
            Phase::Decoding if self.deps[d].flat => {
                let generated =
                    (((now - a.first_token).as_secs_f64() * a.rate).floor() as u32).min(a.tokens);
                self.account(slot, d, a.prompt, generated, bill, now, audit);
                self.release_slot(d, now, q);
                generated
            }
            Phase::Decoding => {
                let serving = &self.sc.deployments[d].serving;
                let ps = &mut self.deps[d].ps;
                ps.cancel(now, |n| serving.speed_factor(n));
                let done = ((ps.virtual_now() - a.v_start) * a.rate).floor().max(0.0) as u32;
                let generated = done.min(a.tokens);
                // Mark idle before rescheduling so the cancelled entry counts as stale.
                self.slots[slot as usize].phase = Phase::Idle;
                self.reschedule_decode(d, now, q);
                self.account(slot, d, a.prompt, generated, bill, now, audit);
                self.release_slot(d, now, q);
                generated
            }
            Phase::Idle => 0,
        };
        self.slots[slot as usize].phase = Phase::Idle;
        generated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_multiplier_has_mean_one() {
        let mut r = stream(9, Stream::Chaos, 1);
        let n = 200_000;
        let mean: f64 = (0..n)
            .map(|_| speed_multiplier(0.3, StandardNormal.sample(&mut r)))
            .sum::<f64>()
            / n as f64;
        assert!((mean - 1.0).abs() < 0.005, "{mean}");
        assert_eq!(speed_multiplier(0.0, 2.0), 1.0);
    }

    #[test]
    fn the_earliest_timer_ends_an_attempt() {
        let s = SimTime::from_secs;
        let now = s(100);
        let timers = Timers {
            client: s(600),
            gateway: None,
        };
        // Non-streaming: the 60 s completion window comes first.
        assert_eq!(
            first_deadline(now, timers, Some(s(60)), false),
            (s(160), DeadlineKind::Server)
        );
        // Streaming: no completion window; the client's timeout bounds the first token.
        assert_eq!(
            first_deadline(now, timers, Some(s(60)), true),
            (s(700), DeadlineKind::Client)
        );
        // A shorter gateway timeout wins over both.
        let gw = Timers {
            client: s(600),
            gateway: Some(s(30)),
        };
        assert_eq!(
            first_deadline(now, gw, Some(s(60)), false),
            (s(130), DeadlineKind::Gateway)
        );
        // Ties go to the client (then the window), never to a later timer.
        let tie = Timers {
            client: s(60),
            gateway: Some(s(60)),
        };
        assert_eq!(
            first_deadline(now, tie, Some(s(60)), false),
            (s(160), DeadlineKind::Client)
        );
    }
}
