//! The gateway in front of the deployments (API Management, LiteLLM and the like): routing
//! policies, gateway retries, throttling marks and circuit breakers, and the faults that
//! make them matter.
//!
//! The room ([`Gateway`]) owns every gateway instance's state (rotation cursor, breakers,
//! throttling marks, load estimates, token windows and quotas: nothing is shared between
//! instances) and the gateway's whole orchestration of a client attempt: cache lookup, token
//! policies, the forward to a backend, its own retries, and what it learns from each answer.
//! Admission stays the deployment's: the gateway is given it as a function ([`Admit`]). The
//! pure parts are beside it: the checked configuration ([`spec`]), the breaker state machine
//! ([`breaker`]), availability and the policies' choice ([`balance`]), the quota counter
//! ([`tokens`]). Everything is O(1) amortized or O(backends) per call, allocates nothing after
//! warm-up, and draws randomness only from named streams ([`Stream::Gateway`] per instance,
//! [`Stream::Cache`] for cache hits).
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
//! Gateway policies: an inbound
//! `max_tokens` cap ([`GatewaySpec::max_tokens`]), a tokens-per-minute limit per key
//! ([`TokenLimitSpec`], a rolling window per instance and key, 429), a token quota per period
//! and key ([`TokenQuotaSpec`], [`QuotaCounter`], 403), a semantic cache ([`CacheSpec`]) and a
//! gateway timeout (504).

pub mod balance;
pub mod breaker;
pub mod spec;
pub mod tokens;

use rand::RngExt;

use crate::deployment::{Admit, Reject};
pub use crate::deployment::{Fault, FaultKind};
use crate::events::{Ev, EventQueue};
use crate::metrics::{BackendMetrics, CLIENT_TIMEOUT, GatewayMetrics};
use crate::rng::{SimRng, Stream, stream};
use crate::scenario::ModelParams;
use crate::time::SimTime;
use crate::workload::Call;
pub use balance::{Available, Load, available, choose};
pub use breaker::{Breaker, BreakerState};
pub use spec::*;
pub use tokens::QuotaCounter;

/// What the gateway did with a client attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Handled {
    /// A backend admitted it, or the gateway scheduled its own next step (a cache lookup
    /// or a retry): nothing for the client yet.
    Pending,
    /// The answer goes back to the client.
    Answer(Reject),
    /// The semantic cache answered with this many completion tokens.
    Cached(u32),
}

/// One gateway instance's own state: nothing is shared between instances.
struct Instance {
    /// Rotation cursor (next backend index to start from).
    cursor: usize,
    rng: SimRng,
    /// Per backend.
    breakers: Vec<Breaker>,
    throttled_until: Vec<SimTime>,
    load: Vec<Load>,
    /// Token-limit windows and quota counters, per key (class, or one for `key = "all"`).
    token_windows: Vec<crate::deployment::RollingWindow>,
    quotas: Vec<QuotaCounter>,
}

/// The gateway's state of one session slot's current client attempt.
#[derive(Clone, Copy, Debug)]
struct Forward {
    /// The instance handling it.
    instance: u32,
    /// The backend of the current forward.
    backend: u32,
    /// Retries made by the gateway in this client attempt.
    retries: u32,
    /// Backends tried (bit per backend).
    tried: u64,
    forwarded_at: SimTime,
    /// Whether the semantic cache answers the current request.
    cache_hit: bool,
}

impl Default for Forward {
    fn default() -> Self {
        Forward {
            instance: 0,
            backend: u32::MAX,
            retries: 0,
            tried: 0,
            forwarded_at: SimTime::ZERO,
            cache_hit: false,
        }
    }
}

/// The gateway of one run.
pub struct Gateway<'a> {
    spec: &'a GatewaySpec,
    models: &'a [ModelParams],
    instances: Vec<Instance>,
    /// The instance that takes the next client attempt.
    next: usize,
    slots: Vec<Forward>,
    weights: Vec<f64>,
    /// End of the run (`duration + drain`): caps breaker open times.
    horizon: SimTime,
    cache_rng: SimRng,
    metrics: GatewayMetrics,
    failovers: u64,
}

impl<'a> Gateway<'a> {
    /// Bytes of per-session state this room keeps for each session slot.
    pub const SLOT_BYTES: usize = std::mem::size_of::<Forward>();

    /// The gateway `spec` of a run with master seed `seed`, `classes` session classes, the
    /// run's `models`, ending at `horizon`.
    pub fn new(
        spec: &'a GatewaySpec,
        models: &'a [ModelParams],
        classes: usize,
        seed: u64,
        horizon: SimTime,
    ) -> Self {
        let nb = spec.backends.len();
        let keys = |k: TokenKey| if k == TokenKey::All { 1 } else { classes };
        Gateway {
            spec,
            models,
            instances: (0..spec.instances)
                .map(|i| Instance {
                    cursor: 0,
                    rng: stream(seed, Stream::Gateway, i as u64),
                    breakers: vec![Breaker::default(); nb],
                    throttled_until: vec![SimTime::ZERO; nb],
                    load: vec![Load::default(); nb],
                    token_windows: spec.token_limit.as_ref().map_or_else(Vec::new, |t| {
                        let w = crate::deployment::RollingWindow::new(
                            SimTime::from_secs(60),
                            t.tokens_per_minute,
                        );
                        vec![w; keys(t.key)]
                    }),
                    quotas: spec
                        .token_quota
                        .as_ref()
                        .map_or_else(Vec::new, |q| vec![QuotaCounter::default(); keys(q.key)]),
                })
                .collect(),
            next: 0,
            slots: Vec::new(),
            weights: spec.backends.iter().map(|b| b.weight).collect(),
            horizon,
            cache_rng: stream(seed, Stream::Cache, 0),
            metrics: GatewayMetrics {
                backends: vec![BackendMetrics::default(); nb],
                ..Default::default()
            },
            failovers: 0,
        }
    }

    /// The gateway's timeout, if it has one.
    #[inline]
    pub fn timeout(&self) -> Option<SimTime> {
        self.spec.timeout
    }

    /// `call` as forwarded: `max_tokens` lowered (or set) to the gateway's cap.
    #[inline]
    pub fn capped(&self, call: &Call) -> Call {
        match self.spec.max_tokens {
            Some(cap) => Call {
                max_tokens: Some(call.max_tokens.map_or(cap, |m| m.min(cap))),
                ..*call
            },
            None => *call,
        }
    }

    /// A new request of `slot` reaches the gateway: its `max_tokens` cap is counted and the
    /// cache draw made (one per request, hit or not: the stream stays aligned across
    /// variants).
    pub fn on_request(&mut self, slot: u32, call: &Call) {
        let i = slot as usize;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, Forward::default());
        }
        if self.spec.max_tokens.is_some() && self.capped(call).max_tokens != call.max_tokens {
            self.metrics.max_tokens_capped += 1;
        }
        if let Some(c) = &self.spec.cache {
            let u: f64 = self.cache_rng.random();
            self.slots[i].cache_hit = u < c.hit_ratio;
        }
    }

    /// A client attempt of `slot` (session `key`) arrives at `now`: the next instance (in
    /// turn) takes it; it looks the cache up first (an event) or goes through the token
    /// policies to a backend.
    pub fn receive(
        &mut self,
        slot: u32,
        key: u64,
        call: &Call,
        now: SimTime,
        q: &mut EventQueue<Ev>,
        admit: &mut impl Admit,
    ) -> Handled {
        let inst = self.next % self.instances.len();
        self.next = self.next.wrapping_add(1);
        let f = &mut self.slots[slot as usize];
        f.instance = inst as u32;
        f.retries = 0;
        f.tried = 0;
        f.backend = u32::MAX;
        if let Some(c) = &self.spec.cache {
            // Every lookup pays its latency and an embeddings call on the prompt.
            self.metrics.embedding_cost_usd +=
                call.prompt as f64 * c.embedding_cost_per_1k_tokens / 1000.0;
            q.push(now + c.lookup_latency, Ev::GatewayLookup { slot, key });
            return Handled::Pending;
        }
        self.policies(slot, key, call, now, q, admit)
    }

    /// The cache lookup of `slot`'s attempt is done at `now`: a hit answers, a miss goes on.
    pub fn lookup_done(
        &mut self,
        slot: u32,
        key: u64,
        call: &Call,
        now: SimTime,
        q: &mut EventQueue<Ev>,
        admit: &mut impl Admit,
    ) -> Handled {
        if self.slots[slot as usize].cache_hit {
            self.metrics.cache_hits += 1;
            Handled::Cached(self.capped(call).tokens())
        } else {
            self.metrics.cache_misses += 1;
            self.policies(slot, key, call, now, q, admit)
        }
    }

    /// The token policies on a client attempt (quota, then limit), charged with the estimate
    /// when both admit it; then the forward.
    fn policies(
        &mut self,
        slot: u32,
        key: u64,
        call: &Call,
        now: SimTime,
        q: &mut EventQueue<Ev>,
        admit: &mut impl Admit,
    ) -> Handled {
        let g = self.spec;
        if g.has_token_policy() {
            let class = call.class as usize;
            let model = &self.models[call.model as usize];
            let est = call.prompt as u64
                + self
                    .capped(call)
                    .max_tokens
                    .unwrap_or(model.default_max_tokens_estimate) as u64;
            let gi = &mut self.instances[self.slots[slot as usize].instance as usize];
            let key_of = |k: TokenKey| if k == TokenKey::All { 0 } else { class };
            if let Some(qs) = &g.token_quota
                && let Err(end) = gi.quotas[key_of(qs.key)].check(qs, now, est)
            {
                self.metrics.token_quota_403 += 1;
                return Handled::Answer(Reject {
                    status: 403,
                    at: Some(end),
                });
            }
            if let Some(t) = &g.token_limit {
                let w = &mut gi.token_windows[key_of(t.key)];
                if let Err(at) = w.check(now, est) {
                    self.metrics.token_limit_429 += 1;
                    return Handled::Answer(Reject {
                        status: 429,
                        at: Some(at.ceil_ms_after(now)),
                    });
                }
                w.charge(now, est);
            }
            if let Some(qs) = &g.token_quota {
                gi.quotas[key_of(qs.key)].charge(est);
            }
        }
        self.forward(slot, key, call, now, q, admit)
    }

    /// Forwards `slot`'s client attempt to a backend, or answers itself when none is
    /// available (503 when every breaker is open, 429 when some backend is marked
    /// throttled), and retries on its own per `[gateway.retry]`.
    pub fn forward(
        &mut self,
        slot: u32,
        key: u64,
        call: &Call,
        now: SimTime,
        q: &mut EventQueue<Ev>,
        admit: &mut impl Admit,
    ) -> Handled {
        let g = self.spec;
        let call = self.capped(call);
        loop {
            let f = self.slots[slot as usize];
            let inst = f.instance as usize;
            let list = &g.by_model[call.model as usize];
            let gi = &mut self.instances[inst];
            let mut cands = [0usize; 64];
            let Available {
                n,
                unblock,
                throttled,
            } = available(
                list,
                &g.backends,
                g.breaker.is_some().then_some(&gi.breakers[..]),
                &gi.throttled_until,
                f.tried,
                now,
                &mut cands,
            );
            if n == 0 {
                let status = if throttled {
                    self.metrics.rejected_429 += 1;
                    429
                } else {
                    self.metrics.rejected_503 += 1;
                    503
                };
                return Handled::Answer(Reject {
                    status,
                    at: Some(unblock),
                });
            }
            let b = choose(
                g.policy,
                now,
                &cands[..n],
                &self.weights,
                &gi.load,
                &mut gi.cursor,
                &mut gi.rng,
            );
            if let Some(spec) = &g.breaker {
                gi.breakers[b].on_forward(spec, now);
            }
            let f = &mut self.slots[slot as usize];
            if f.retries > 0 && f.backend != b as u32 {
                self.failovers += 1;
            }
            f.tried |= 1u64 << b;
            f.backend = b as u32;
            f.forwarded_at = now;
            self.metrics.backends[b].forwarded += 1;
            let d = g.backends[b].deployment;
            let headers = g.policy == Policy::LeastUtilized;
            match admit(q, d, &call, headers) {
                Ok(a) => {
                    self.metrics.backends[b].admitted += 1;
                    let load = &mut self.instances[inst].load[b];
                    load.outstanding += 1;
                    load.utilization = a.utilization;
                    load.utilization_until = now + g.utilization_ttl;
                    return Handled::Pending;
                }
                Err(rej) => {
                    // An error answer reports no headers: the gateway takes it as full.
                    let load = &mut self.instances[inst].load[b];
                    load.utilization = 1.0;
                    load.utilization_until = now + g.utilization_ttl;
                    self.observe(inst, b, rej.status, rej.at, None, now);
                    match self.retry_delay(slot, rej.status) {
                        Some(SimTime::ZERO) => continue,
                        Some(delay) => {
                            q.push(now + delay, Ev::GatewayRetry { slot, key });
                            return Handled::Pending;
                        }
                        None => return Handled::Answer(rej),
                    }
                }
            }
        }
    }

    /// Whether the gateway retries after `status` on `slot`'s client attempt: the delay
    /// before the retry (counted), or `None` when the answer goes back to the client.
    fn retry_delay(&mut self, slot: u32, status: u16) -> Option<SimTime> {
        let r = &self.spec.retry;
        let f = &mut self.slots[slot as usize];
        if !r.on.contains(status) || f.retries >= r.count {
            return None;
        }
        let delay = if r.first_fast_retry && f.retries == 0 {
            SimTime::ZERO
        } else {
            r.interval
        };
        f.retries += 1;
        self.metrics.retries += 1;
        Some(delay)
    }

    /// An admitted forward of `slot` ended at `now` with `status` (200 with its first token
    /// at `first_token`, 408, 504, or [`CLIENT_TIMEOUT`] when the client gave up): the
    /// instance's outstanding count, breaker, throttle mark and latency estimate learn of it.
    pub fn answered(&mut self, slot: u32, status: u16, first_token: SimTime, now: SimTime) {
        let f = self.slots[slot as usize];
        let (inst, b) = (f.instance as usize, f.backend as usize);
        let latency = (status == 200).then(|| first_token - f.forwarded_at);
        let load = &mut self.instances[inst].load[b];
        load.outstanding = load.outstanding.saturating_sub(1);
        if status != CLIENT_TIMEOUT {
            self.observe(inst, b, status, None, latency, now);
        }
    }

    /// The gateway's own timeout ended `slot`'s forward (504 to the client).
    pub fn timed_out(&mut self) {
        self.metrics.timeouts_504 += 1;
    }

    /// An admitted forward of `slot` ran into the backend's completion window (408): the
    /// gateway retries or answers the client.
    pub fn backend_timed_out(
        &mut self,
        slot: u32,
        key: u64,
        call: &Call,
        now: SimTime,
        q: &mut EventQueue<Ev>,
        admit: &mut impl Admit,
    ) -> Handled {
        match self.retry_delay(slot, 408) {
            Some(SimTime::ZERO) => self.forward(slot, key, call, now, q, admit),
            Some(delay) => {
                q.push(now + delay, Ev::GatewayRetry { slot, key });
                Handled::Pending
            }
            None => Handled::Answer(Reject {
                status: 408,
                at: None,
            }),
        }
    }

    /// Backend `b` answered instance `inst` with `status` at `now` (Retry-After at `at`).
    fn observe(
        &mut self,
        inst: usize,
        b: usize,
        status: u16,
        at: Option<SimTime>,
        latency: Option<SimTime>,
        now: SimTime,
    ) {
        let g = self.spec;
        let gi = &mut self.instances[inst];
        let bm = &mut self.metrics.backends[b];
        let ra = at.map(|a| a.saturating_sub(now));
        if let Some(spec) = &g.breaker {
            gi.breakers[b].on_result(spec, now, status, ra, self.horizon);
        }
        let sample = match latency {
            Some(l) => l.as_millis_f64(),
            None => g.failure_penalty.as_millis_f64(),
        };
        gi.load[b].observe_latency(sample, g.ewma_alpha);
        if status == 200 {
            return;
        }
        bm.failed += 1;
        if let Some(t) = &g.throttle
            && t.on.contains(status)
        {
            let until = at.unwrap_or(now + t.default_retry_after);
            gi.throttled_until[b] = gi.throttled_until[b].max(until);
            bm.throttle_marks += 1;
        }
    }

    /// Failovers made (a retry that went to a different backend than the forward before).
    pub fn failovers(&self) -> u64 {
        self.failovers
    }

    /// What the gateway counted, at the end of the run (breakers summed over instances).
    pub fn totals(mut self) -> GatewayMetrics {
        for inst in &self.instances {
            for (b, br) in inst.breakers.iter().enumerate() {
                let bm = &mut self.metrics.backends[b];
                bm.breaker_trips += br.trips;
                bm.breaker_open += br.open_time;
            }
        }
        self.metrics
    }
}

#[cfg(test)]
mod room_tests;
#[cfg(test)]
mod tests;
