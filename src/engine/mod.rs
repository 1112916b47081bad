//! The discrete-event engine: one run of one variant, single-threaded.
//!
//! Sessions arrive (open loop) or are started by users (closed loop) and run their steps one
//! after another. Each step is a *request*; the client sends *attempts*, the router picks a
//! deployment, the deployment admits or rejects (429) at once, an admitted attempt waits for a
//! concurrency slot if the deployment has a cap, pre-fills, then decodes under processor
//! sharing until it finishes, the server's completion window ends it (408) or the client's
//! timeout fires. Failures are retried per the client policy.
//!
//! The hot loop allocates nothing per event, formats nothing and never scans all requests:
//! sessions live in a slab, stale events are skipped by comparing an attempt id (lazy
//! cancellation), and every per-deployment structure is O(log n) or O(1) amortized.

mod queue;

use std::collections::VecDeque;

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::deployment::{LeakyBucket, ProcessorSharing, RollingWindow};
use crate::gateway::{
    Available, Breaker, FaultKind, Load, QuotaCounter, TokenKey, available, choose,
};
use crate::metrics::{BackendMetrics, DeploymentMetrics, RunMetrics, SeriesRow};
use crate::rng::{SimRng, Stream, stream};
use crate::scenario::{Arrivals, DeploymentKind, RoutePolicy, Scenario};
use crate::time::SimTime;
pub use queue::{EventQueue, Lane};

/// Status used for a client-side timeout (no HTTP status reached the client).
pub const CLIENT_TIMEOUT: u16 = 0;

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An attempt completed.
    Succeeded,
    /// The client gave up; the last error was a 429.
    RateLimited,
    /// The client gave up; the last error was a 408 or a client timeout.
    TimedOut,
    /// The client gave up on another status.
    Failed,
}

impl Outcome {
    /// Lower-case name used in CSV output.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::RateLimited => "rate_limited",
            Outcome::TimedOut => "timed_out",
            Outcome::Failed => "failed",
        }
    }
}

/// One finished request, as given to a [`RequestSink`].
#[derive(Clone, Copy, Debug)]
pub struct RequestRecord {
    /// Session key (stable across variants).
    pub session: u64,
    /// Step within the session, from 0.
    pub step: u32,
    /// Class index.
    pub class: usize,
    /// When the request started.
    pub start: SimTime,
    /// When it ended.
    pub end: SimTime,
    /// How it ended.
    pub outcome: Outcome,
    /// Last status (200 on success, [`CLIENT_TIMEOUT`] for a client timeout).
    pub status: u16,
    /// Attempts made.
    pub attempts: u32,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Completion tokens delivered (0 on failure).
    pub completion_tokens: u32,
    /// Completion tokens wanted.
    pub wanted_tokens: u32,
    /// Time to first token from the request's start, on success.
    pub ttft: Option<SimTime>,
    /// Deployment of the last admitted attempt.
    pub deployment: Option<usize>,
    /// Whether the last attempt was spilled.
    pub spilled: bool,
}

/// Receives every finished request, in the order they finish (streamed per-request output).
pub trait RequestSink {
    /// One request ended.
    fn record(&mut self, r: &RequestRecord);
}

/// Sees the engine's internal steps; used by tests to check invariants. Every method has an
/// empty default, and the engine calls them only when an auditor is attached.
pub trait Audit {
    /// An event is about to be handled at `now` (live or stale).
    fn event(&mut self, _now: SimTime) {}
    /// Deployment `dep` admitted an attempt at `now`, charging `tokens` (the estimate) to a
    /// standard deployment's token window, or `normalized` to a provisioned one's bucket.
    fn admitted(&mut self, _dep: usize, _now: SimTime, _tokens: u64, _normalized: f64) {}
    /// A provisioned deployment's bucket after a change: `(added, corrected, drained, level)`.
    fn bucket(
        &mut self,
        _dep: usize,
        _now: SimTime,
        _added: f64,
        _corrected: f64,
        _drained: f64,
        _level: f64,
    ) {
    }
}

#[derive(Clone, Copy, Debug)]
enum Ev {
    Arrival,
    UserStart { user: u32 },
    StepStart { slot: u32, session: u64 },
    Retry { slot: u32, session: u64 },
    GatewayRetry { slot: u32, session: u64 },
    GatewayLookup { slot: u32, session: u64 },
    PrefillDone { slot: u32, attempt: u64 },
    DecodeDone { dep: u32, generation: u64 },
    DecodeFinish { slot: u32, attempt: u64 },
    Deadline { slot: u32, attempt: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Queued,
    Prefill,
    Decoding,
}

const OPEN_LOOP: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Session {
    alive: bool,
    key: u64,
    user: u32,
    class: u16,
    rng: SimRng,
    started: SimTime,
    step: u32,
    // current request
    req_started: SimTime,
    prompt: u32,
    want: u32,
    speed_z: f64,
    think: SimTime,
    attempts: u32,
    client_retries: u32,
    tried: u64,
    route_start: usize,
    min_retry_at: SimTime,
    // gateway: the instance handling the current client attempt, the backend of the current
    // forward, retries made by the gateway in this client attempt, backends tried
    gw_instance: u32,
    gw_backend: u32,
    gw_retries: u32,
    gw_tried: u64,
    gw_forwarded_at: SimTime,
    gw_cache_hit: bool,
    // current attempt
    attempt: u64,
    phase: Phase,
    dep: u32,
    first_token: SimTime,
    estimate: f64,
    deadline_is_server: bool,
    deadline_is_gateway: bool,
    spilled: bool,
    tokens: u32,
    rate: f64,
    v_start: f64,
}

impl Session {
    /// The record of the current request, ending now. `deployment` is given on success.
    fn record(
        &self,
        now: SimTime,
        outcome: Outcome,
        status: u16,
        deployment: Option<usize>,
    ) -> RequestRecord {
        let ok = outcome == Outcome::Succeeded;
        RequestRecord {
            session: self.key,
            step: self.step,
            class: self.class as usize,
            start: self.req_started,
            end: now,
            outcome,
            status,
            attempts: self.attempts,
            prompt_tokens: self.prompt,
            completion_tokens: if ok { self.tokens } else { 0 },
            wanted_tokens: self.want,
            ttft: ok.then(|| self.first_token - self.req_started),
            deployment,
            spilled: self.spilled,
        }
    }

    fn new(key: u64, user: u32, rng: SimRng, now: SimTime) -> Self {
        Session {
            alive: true,
            key,
            user,
            class: 0,
            rng,
            started: now,
            step: 0,
            req_started: now,
            prompt: 0,
            want: 0,
            speed_z: 0.0,
            think: SimTime::ZERO,
            attempts: 0,
            client_retries: 0,
            tried: 0,
            route_start: 0,
            min_retry_at: SimTime::MAX,
            gw_instance: 0,
            gw_backend: u32::MAX,
            gw_retries: 0,
            gw_tried: 0,
            gw_forwarded_at: SimTime::ZERO,
            gw_cache_hit: false,
            attempt: 0,
            phase: Phase::Idle,
            dep: 0,
            first_token: SimTime::MAX,
            estimate: 0.0,
            deadline_is_server: false,
            deadline_is_gateway: false,
            spilled: false,
            tokens: 0,
            rate: 1.0,
            v_start: 0.0,
        }
    }
}

struct DepState {
    /// Token and request limits as configured (a `limit-cut` fault scales them).
    base_limits: (u64, u64),
    /// Whether decode speed is independent of concurrency (see `admitted`).
    flat: bool,
    /// Per-request decode speed variation, with its constants computed once.
    speed_variation: SpeedVariation,
    tokens: Option<RollingWindow>,
    requests: Option<RollingWindow>,
    bucket: Option<LeakyBucket>,
    ps: ProcessorSharing,
    busy: u32,
    queue: VecDeque<(u32, u64)>,
    decode_gen: u64,
    decode_at: SimTime,
    interval_tokens: u64,
    /// Provisioned: normalized tokens (input + ratio x output) processed in the interval, and
    /// the capacity per minute they are measured against.
    interval_normalized: f64,
    capacity_per_min: f64,
}

#[derive(Default)]
struct Interval {
    arrivals: u64,
    completions: u64,
    failures: u64,
    rejected_429: u64,
    timed_out_408: u64,
}

impl Interval {
    fn is_empty(&self) -> bool {
        self.arrivals + self.completions + self.failures + self.rejected_429 + self.timed_out_408
            == 0
    }
}

/// One run of one variant.
pub struct Engine<'a> {
    sc: &'a Scenario,
    sink: Option<&'a mut dyn RequestSink>,
    audit: Option<&'a mut dyn Audit>,
    now: SimTime,
    queue: EventQueue<Ev>,
    /// Lane of client-timeout deadlines (fixed delay: `client.timeout`).
    client_lane: Lane,
    /// Per deployment, the lane of its completion-window deadlines (one lane per distinct
    /// window length).
    window_lanes: Vec<Option<Lane>>,
    sessions: Vec<Session>,
    free: Vec<u32>,
    deps: Vec<DepState>,
    m: RunMetrics,
    interval: Interval,
    next_sample: SimTime,
    in_flight: u64,
    next_attempt: u64,
    sessions_begun: u64,
    arrival_rng: SimRng,
    chaos: SimRng,
    user_rngs: Vec<SimRng>,
    user_sessions: Vec<u32>,
    rr: Vec<usize>,
    /// Gateway instances (empty without a gateway).
    gw: Vec<GwInstance>,
    /// The instance that takes the next client attempt.
    gw_next: usize,
    /// Per deployment, the indices of the faults that apply to it.
    dep_faults: Vec<Vec<usize>>,
    /// Draws of the transient fault rates.
    fault_rng: SimRng,
    /// Gateway backend weights, by backend.
    gw_weights: Vec<f64>,
    /// End of the run (`duration + drain`): caps breaker open times.
    horizon: SimTime,
    /// Per class, the `max_tokens` sent to the deployment (the client's, capped by the
    /// gateway's `max_tokens`).
    max_tokens: Vec<Option<u32>>,
    /// Semantic-cache draws (one per request when the gateway has a cache).
    cache_rng: SimRng,
    /// Lane of gateway-timeout deadlines (fixed delay: `gateway.timeout`).
    gw_lane: Option<Lane>,
}

/// One gateway instance's own state: nothing is shared between instances.
struct GwInstance {
    /// Rotation cursor (next backend index to start from).
    cursor: usize,
    rng: SimRng,
    /// Per backend.
    breakers: Vec<Breaker>,
    throttled_until: Vec<SimTime>,
    load: Vec<Load>,
    /// Token-limit windows and quota counters, per key (class, or one for `key = "all"`).
    token_windows: Vec<RollingWindow>,
    quotas: Vec<QuotaCounter>,
}

/// A backend's (or the gateway's) error answer to a forward.
#[derive(Clone, Copy, Debug)]
struct Reject {
    status: u16,
    /// Retry-After as an absolute time, when the answer carries one.
    at: Option<SimTime>,
}

/// Runs one variant to the end and returns what it measured.
pub fn simulate<'a>(sc: &'a Scenario, sink: Option<&'a mut dyn RequestSink>) -> RunMetrics {
    let mut e = Engine::new(sc, sink);
    e.run();
    e.m
}

/// [`simulate`] with an auditor that sees internal steps (for invariant tests).
pub fn simulate_audited<'a>(
    sc: &'a Scenario,
    sink: Option<&'a mut dyn RequestSink>,
    audit: &'a mut dyn Audit,
) -> RunMetrics {
    let mut e = Engine::new(sc, sink);
    e.audit = Some(audit);
    e.run();
    e.m
}

impl<'a> Engine<'a> {
    /// A fresh engine for `sc`.
    pub fn new(sc: &'a Scenario, sink: Option<&'a mut dyn RequestSink>) -> Self {
        let deps = sc
            .deployments
            .iter()
            .map(|d| {
                let (tokens, requests, bucket) = match d.kind {
                    DeploymentKind::Standard {
                        tpm,
                        rpm,
                        token_window,
                        request_window,
                        ..
                    } => {
                        let per_window = ((rpm as f64) * request_window.as_secs_f64() / 60.0)
                            .floor()
                            .max(1.0) as u64;
                        let tok = ((tpm as f64) * token_window.as_secs_f64() / 60.0).round() as u64;
                        (
                            Some(RollingWindow::new(token_window, tok)),
                            Some(RollingWindow::new(request_window, per_window)),
                            None,
                        )
                    }
                    DeploymentKind::Provisioned {
                        capacity_per_min,
                        bucket_depth,
                        ..
                    } => (
                        None,
                        None,
                        Some(LeakyBucket::new(capacity_per_min, bucket_depth)),
                    ),
                };
                DepState {
                    base_limits: (
                        tokens.as_ref().map_or(0, |w| w.limit()),
                        requests.as_ref().map_or(0, |w| w.limit()),
                    ),
                    flat: crate::scenario::is_flat(&d.serving.speed_table),
                    speed_variation: SpeedVariation::new(d.serving.decode_variation_cv),
                    tokens,
                    requests,
                    bucket,
                    ps: ProcessorSharing::default(),
                    busy: 0,
                    queue: VecDeque::new(),
                    decode_gen: 0,
                    decode_at: SimTime::MAX,
                    interval_tokens: 0,
                    interval_normalized: 0.0,
                    capacity_per_min: match d.kind {
                        DeploymentKind::Provisioned {
                            capacity_per_min, ..
                        } => capacity_per_min,
                        DeploymentKind::Standard { .. } => 0.0,
                    },
                }
            })
            .collect();
        let users = match sc.workload.arrivals {
            Arrivals::Closed { users, .. } => users,
            _ => 0,
        };
        let mut m = RunMetrics {
            deployments: vec![DeploymentMetrics::default(); sc.deployments.len()],
            ..Default::default()
        };
        if let Some(g) = &sc.gateway {
            m.gateway.backends = vec![BackendMetrics::default(); g.backends.len()];
        }
        let mut queue = EventQueue::default();
        let client_lane = queue.add_lane();
        let mut lane_of: Vec<(SimTime, Lane)> = Vec::new();
        let gw_lane = sc
            .gateway
            .as_ref()
            .and_then(|g| g.timeout)
            .map(|_| queue.add_lane());
        let n_classes = sc.workload.classes.len();
        let window_lanes = sc
            .deployments
            .iter()
            .map(|d| {
                d.completion_window
                    .map(|w| match lane_of.iter().find(|(l, _)| *l == w) {
                        Some((_, lane)) => *lane,
                        None => {
                            let lane = queue.add_lane();
                            lane_of.push((w, lane));
                            lane
                        }
                    })
            })
            .collect();
        Engine {
            sc,
            sink,
            audit: None,
            now: SimTime::ZERO,
            queue,
            client_lane,
            window_lanes,
            sessions: Vec::new(),
            free: Vec::new(),
            deps,
            m,
            interval: Interval::default(),
            next_sample: sc.metrics_interval,
            in_flight: 0,
            next_attempt: 0,
            sessions_begun: 0,
            arrival_rng: stream(sc.seed, Stream::Arrivals, 0),
            chaos: stream(sc.seed, Stream::Chaos, 0),
            user_rngs: (0..users)
                .map(|u| stream(sc.seed, Stream::User, u as u64))
                .collect(),
            user_sessions: vec![0; users as usize],
            rr: vec![0; sc.models.len()],
            gw: sc.gateway.as_ref().map_or_else(Vec::new, |g| {
                (0..g.instances)
                    .map(|i| GwInstance {
                        cursor: 0,
                        rng: stream(sc.seed, Stream::Gateway, i as u64),
                        breakers: vec![Breaker::default(); g.backends.len()],
                        throttled_until: vec![SimTime::ZERO; g.backends.len()],
                        load: vec![Load::default(); g.backends.len()],
                        token_windows: g.token_limit.as_ref().map_or_else(Vec::new, |t| {
                            let keys = if t.key == TokenKey::All { 1 } else { n_classes };
                            vec![
                                RollingWindow::new(SimTime::from_secs(60), t.tokens_per_minute);
                                keys
                            ]
                        }),
                        quotas: g.token_quota.as_ref().map_or_else(Vec::new, |q| {
                            let keys = if q.key == TokenKey::All { 1 } else { n_classes };
                            vec![QuotaCounter::default(); keys]
                        }),
                    })
                    .collect()
            }),
            gw_next: 0,
            dep_faults: (0..sc.deployments.len())
                .map(|d| {
                    (0..sc.faults.len())
                        .filter(|&f| sc.faults[f].deployments.contains(&d))
                        .collect()
                })
                .collect(),
            fault_rng: stream(sc.seed, Stream::Faults, 0),
            gw_weights: sc
                .gateway
                .as_ref()
                .map_or_else(Vec::new, |g| g.backends.iter().map(|b| b.weight).collect()),
            horizon: sc.duration + sc.drain,
            max_tokens: sc
                .workload
                .classes
                .iter()
                .map(|k| match sc.gateway.as_ref().and_then(|g| g.max_tokens) {
                    Some(cap) => Some(k.max_tokens.map_or(cap, |m| m.min(cap))),
                    None => k.max_tokens,
                })
                .collect(),
            cache_rng: stream(sc.seed, Stream::Cache, 0),
            gw_lane,
        }
    }

    fn run(&mut self) {
        match self.sc.workload.arrivals {
            Arrivals::Closed { users, .. } => {
                for u in 0..users {
                    self.queue.push(SimTime::ZERO, Ev::UserStart { user: u });
                }
            }
            _ => {
                if let Some(t) = self.next_arrival(SimTime::ZERO)
                    && t < self.sc.duration
                {
                    self.queue.push(t, Ev::Arrival);
                }
            }
        }
        let end = self.sc.duration + self.sc.drain;
        let mut cut = false;
        while let Some((t, ev)) = self.queue.pop() {
            if t > end {
                cut = true;
                break;
            }
            // Stale events (cancelled lazily) are dropped before they can move the clock, so
            // nothing measured depends on how many of them were scheduled.
            if !self.is_live(ev) {
                continue;
            }
            if let Some(a) = self.audit.as_deref_mut() {
                a.event(t);
            }
            self.advance_clock(t);
            self.handle(ev);
            self.m.events += 1;
        }
        let stop = if cut { end } else { self.now };
        self.advance_clock(stop);
        // The last, partial interval: also when the run ends exactly on a boundary but events
        // happened at that instant (they belong to the interval starting there).
        if self.now > self.next_sample - self.sc.metrics_interval || !self.interval.is_empty() {
            self.sample(self.now);
        }
        self.m.span = self.now;
        self.m.incomplete_requests = self.in_flight;
        for inst in &self.gw {
            for (b, br) in inst.breakers.iter().enumerate() {
                let bm = &mut self.m.gateway.backends[b];
                bm.breaker_trips += br.trips;
                bm.breaker_open += br.open_time;
            }
        }
    }

    fn advance_clock(&mut self, t: SimTime) {
        while t >= self.next_sample {
            let b = self.next_sample;
            self.m.in_flight_area += self.in_flight as u128 * (b - self.now).as_micros() as u128;
            self.now = b;
            self.sample(b);
            self.next_sample = b + self.sc.metrics_interval;
        }
        self.m.in_flight_area += self.in_flight as u128 * (t - self.now).as_micros() as u128;
        self.now = t;
    }

    /// Writes one time-series row for the interval ending at `b` (allocates once per interval,
    /// not per event).
    fn sample(&mut self, b: SimTime) {
        let start = self.next_sample - self.sc.metrics_interval;
        let len_min = (b - start).as_secs_f64() / 60.0;
        let mut per_dep = Vec::with_capacity(self.deps.len());
        for (i, d) in self.deps.iter_mut().enumerate() {
            // Provisioned: share of the PTU capacity processed in the interval (the bucket
            // level is the admission mechanism; it stays near zero below capacity). Standard:
            // share of the token limit held by the rolling window at the interval's end.
            let util = if d.bucket.is_some() {
                if len_min > 0.0 {
                    d.interval_normalized / (d.capacity_per_min * len_min)
                } else {
                    0.0
                }
            } else if let Some(w) = d.tokens.as_mut() {
                w.used(b) as f64 / w.limit() as f64
            } else {
                0.0
            };
            let dm = &mut self.m.deployments[i];
            dm.utilization_sum += util;
            dm.utilization_samples += 1;
            let tpm = if len_min > 0.0 {
                d.interval_tokens as f64 / len_min
            } else {
                0.0
            };
            per_dep.push((tpm, util));
            d.interval_tokens = 0;
            d.interval_normalized = 0.0;
        }
        let iv = std::mem::take(&mut self.interval);
        self.m.series.push(SeriesRow {
            t: start,
            arrivals: iv.arrivals,
            completions: iv.completions,
            failures: iv.failures,
            rejected_429: iv.rejected_429,
            timed_out_408: iv.timed_out_408,
            in_flight: self.in_flight,
            deployments: per_dep,
        });
    }

    /// Whether an event still has something to do (lazy cancellation: attempt ids, session
    /// keys and decode generations that no longer match mean it was superseded).
    fn is_live(&self, ev: Ev) -> bool {
        match ev {
            Ev::Arrival | Ev::UserStart { .. } => self
                .sc
                .workload
                .max_sessions
                .is_none_or(|m| self.sessions_begun < m),
            Ev::StepStart { slot, session }
            | Ev::Retry { slot, session }
            | Ev::GatewayRetry { slot, session }
            | Ev::GatewayLookup { slot, session } => self.waiting(slot, session),
            Ev::PrefillDone { slot, attempt } => {
                let s = &self.sessions[slot as usize];
                s.attempt == attempt && s.phase == Phase::Prefill
            }
            Ev::DecodeDone { dep, generation } => self.deps[dep as usize].decode_gen == generation,
            Ev::DecodeFinish { slot, attempt } => is_decoding(&self.sessions, attempt, slot),
            Ev::Deadline { slot, attempt } => {
                let s = &self.sessions[slot as usize];
                // A streaming client's timeout bounds the wait for the first token only.
                s.alive
                    && s.attempt == attempt
                    && s.phase != Phase::Idle
                    && !(s.phase == Phase::Decoding
                        && self.sc.workload.classes[s.class as usize].streaming)
            }
        }
    }

    /// Handles a live event.
    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Arrival => {
                let key = self.sessions_begun;
                self.begin_session(key, OPEN_LOOP);
                if let Some(t) = self.next_arrival(self.now)
                    && t < self.sc.duration
                {
                    self.queue.push(t, Ev::Arrival);
                }
            }
            Ev::UserStart { user } => {
                let n = self.user_sessions[user as usize];
                self.user_sessions[user as usize] += 1;
                self.begin_session(((user as u64 + 1) << 32) | n as u64, user);
            }
            Ev::StepStart { slot, .. } => self.start_request(slot),
            Ev::Retry { slot, .. } => self.send(slot),
            Ev::GatewayRetry { slot, .. } => self.gw_forward(slot),
            Ev::GatewayLookup { slot, .. } => {
                if self.sessions[slot as usize].gw_cache_hit {
                    self.m.gateway.cache_hits += 1;
                    self.cache_answer(slot);
                } else {
                    self.m.gateway.cache_misses += 1;
                    self.gw_policies(slot);
                }
            }
            Ev::PrefillDone { slot, .. } => self.start_decode(slot),
            Ev::DecodeFinish { slot, .. } => self.attempt_succeeded(slot),
            Ev::DecodeDone { dep, .. } => {
                let d = dep as usize;
                self.deps[d].decode_at = SimTime::MAX;
                let serving = &self.sc.deployments[d].serving;
                self.deps[d]
                    .ps
                    .advance(self.now, |n| serving.speed_factor(n));
                loop {
                    let sessions = &self.sessions;
                    let done = self.deps[d]
                        .ps
                        .pop_finished(|a, s| is_decoding(sessions, a, s));
                    match done {
                        Some((_, slot)) => self.attempt_succeeded(slot),
                        None => break,
                    }
                }
                self.reschedule_decode(d);
            }
            Ev::Deadline { slot, .. } => {
                let s = &self.sessions[slot as usize];
                if s.deadline_is_gateway {
                    // The gateway gives up on the forward and answers 504; the attempt at
                    // the deployment is cancelled as for a client timeout.
                    let generated = self.cancel_attempt(slot);
                    self.m.wasted_tokens += generated as u64;
                    self.m.gateway.timeouts_504 += 1;
                    self.gw_answered(slot, 504, None);
                    self.attempt_failed(slot, 504, None);
                    return;
                }
                let status = if s.deadline_is_server {
                    408
                } else {
                    CLIENT_TIMEOUT
                };
                let d = s.dep as usize;
                let generated = self.cancel_attempt(slot);
                self.m.wasted_tokens += generated as u64;
                if status == 408 {
                    self.m.deployments[d].timed_out_408 += 1;
                    self.interval.timed_out_408 += 1;
                }
                if self.sc.gateway.is_some() {
                    self.gw_answered(slot, status, None);
                    if status == 408 {
                        self.gw_failed(slot, Reject { status, at: None });
                        return;
                    }
                }
                self.attempt_failed(slot, status, None);
            }
        }
    }

    fn waiting(&self, slot: u32, session: u64) -> bool {
        let s = &self.sessions[slot as usize];
        s.alive && s.key == session && s.phase == Phase::Idle
    }

    /// Next open-loop arrival after `from`: integrate the piecewise-constant rate until it
    /// reaches an Exp(1) draw (Poisson) or exactly 1 (constant spacing).
    fn next_arrival(&mut self, from: SimTime) -> Option<SimTime> {
        let (schedule, poisson) = match &self.sc.workload.arrivals {
            Arrivals::Poisson { schedule } => (schedule, true),
            Arrivals::Constant { schedule } => (schedule, false),
            Arrivals::Closed { .. } => return None,
        };
        let mut target: f64 = if poisson {
            let u: f64 = self.arrival_rng.random();
            -(1.0 - u).ln()
        } else {
            1.0
        };
        let mut t = from;
        let mut i = schedule.partition_point(|p| p.0 <= t).saturating_sub(1);
        loop {
            let rate_per_us = schedule[i].1 / 60e6;
            let piece_end = schedule.get(i + 1).map_or(SimTime::MAX, |p| p.0);
            if rate_per_us > 0.0 {
                let need_us = target / rate_per_us;
                let cand = t + SimTime::from_secs_f64(need_us / 1e6).max(SimTime(1));
                if cand < piece_end {
                    return Some(cand);
                }
                target -= rate_per_us * (piece_end - t).as_micros() as f64;
            }
            if piece_end == SimTime::MAX {
                return None;
            }
            t = piece_end;
            i += 1;
        }
    }

    fn begin_session(&mut self, key: u64, user: u32) {
        self.sessions_begun += 1;
        self.m.sessions_started += 1;
        let mut rng = stream(self.sc.seed, Stream::Session, key);
        let u: f64 = rng.random();
        let cdf = &self.sc.workload.class_cdf;
        let class = cdf.partition_point(|&c| c <= u).min(cdf.len() - 1) as u16;
        let mut s = Session::new(key, user, rng, self.now);
        s.class = class;
        let slot = match self.free.pop() {
            Some(i) => {
                self.sessions[i as usize] = s;
                i
            }
            None => {
                self.sessions.push(s);
                (self.sessions.len() - 1) as u32
            }
        };
        self.start_request(slot);
    }

    fn start_request(&mut self, slot: u32) {
        let s = &mut self.sessions[slot as usize];
        let class = &self.sc.workload.classes[s.class as usize];
        // Always the same draws in the same order: common random numbers across variants.
        s.prompt = class.prompt_tokens.sample(&mut s.rng).round().max(1.0) as u32;
        s.want = class.completion_tokens.sample(&mut s.rng).round().max(1.0) as u32;
        s.speed_z = StandardNormal.sample(&mut s.rng);
        s.think = SimTime::from_secs_f64(class.think_time_s.sample(&mut s.rng));
        s.req_started = self.now;
        s.attempts = 0;
        s.client_retries = 0;
        if let Some(g) = &self.sc.gateway {
            let k = s.class as usize;
            if g.max_tokens.is_some() && self.max_tokens[k] != class.max_tokens {
                self.m.gateway.max_tokens_capped += 1;
            }
            if let Some(c) = &g.cache {
                // One draw per request, hit or not: the stream stays aligned across variants.
                let u: f64 = self.cache_rng.random();
                s.gw_cache_hit = u < c.hit_ratio;
            }
        }
        self.m.sent += 1;
        self.interval.arrivals += 1;
        self.in_flight += 1;
        self.send(slot);
    }

    /// A client attempt: the router tries deployments until one admits or failover ends.
    fn send(&mut self, slot: u32) {
        if self.sc.gateway.is_some() {
            self.gw_send(slot);
            return;
        }
        let s = &mut self.sessions[slot as usize];
        s.tried = 0;
        s.min_retry_at = SimTime::MAX;
        s.spilled = false;
        let model = self.sc.workload.classes[s.class as usize].model;
        let route = &self.sc.router.routes[model];
        if self.sc.router.policy == RoutePolicy::RoundRobin {
            s.route_start = self.rr[model] % route.len();
            self.rr[model] = self.rr[model].wrapping_add(1);
        } else {
            s.route_start = 0;
        }
        loop {
            let s = &mut self.sessions[slot as usize];
            let n = route.len();
            let Some(k) = (0..n)
                .map(|j| (s.route_start + j) % n)
                .find(|&k| s.tried & (1 << k) == 0)
            else {
                let ra = s.min_retry_at - self.now;
                self.attempt_failed(slot, 429, Some(ra));
                return;
            };
            if s.tried != 0 {
                self.m.failovers += 1;
            }
            s.tried |= 1 << k;
            s.attempts += 1;
            self.m.attempts += 1;
            match self.admit(slot, route[k]) {
                Ok(()) => return,
                Err(rej) => {
                    let s = &mut self.sessions[slot as usize];
                    if let Some(at) = rej.at {
                        s.min_retry_at = s.min_retry_at.min(at);
                    }
                    if !self.sc.router.failover_on.contains(&rej.status)
                        || s.tried.count_ones() as usize == n
                    {
                        // The last answer's status; the soonest Retry-After seen, if any.
                        let ra =
                            (s.min_retry_at != SimTime::MAX).then(|| s.min_retry_at - self.now);
                        self.attempt_failed(slot, rej.status, ra);
                        return;
                    }
                }
            }
        }
    }

    /// A client attempt through the gateway: the next instance (in turn) takes it.
    fn gw_send(&mut self, slot: u32) {
        let n = self.gw.len();
        let inst = self.gw_next % n;
        self.gw_next = self.gw_next.wrapping_add(1);
        let s = &mut self.sessions[slot as usize];
        s.gw_instance = inst as u32;
        s.gw_retries = 0;
        s.gw_tried = 0;
        s.gw_backend = u32::MAX;
        s.spilled = false;
        let g = self.sc.gateway.as_ref().expect("gateway");
        if let Some(c) = &g.cache {
            // Every lookup pays its latency and an embeddings call on the prompt.
            self.m.gateway.embedding_cost_usd +=
                s.prompt as f64 * c.embedding_cost_per_1k_tokens / 1000.0;
            let key = s.key;
            self.queue.push(
                self.now + c.lookup_latency,
                Ev::GatewayLookup { slot, session: key },
            );
            return;
        }
        self.gw_policies(slot);
    }

    /// The gateway's token policies on a client attempt (quota, then limit), charged with the
    /// estimate when both admit it; then the forward.
    fn gw_policies(&mut self, slot: u32) {
        let g = self.sc.gateway.as_ref().expect("gateway");
        if g.has_token_policy() {
            let now = self.now;
            let s = &self.sessions[slot as usize];
            let class = s.class as usize;
            let model = &self.sc.models[self.sc.workload.classes[class].model];
            let est = s.prompt as u64
                + self.max_tokens[class].unwrap_or(model.default_max_tokens_estimate) as u64;
            let gi = &mut self.gw[s.gw_instance as usize];
            if let Some(q) = &g.token_quota {
                let k = if q.key == TokenKey::All { 0 } else { class };
                if let Err(end) = gi.quotas[k].check(q, now, est) {
                    self.m.gateway.token_quota_403 += 1;
                    self.attempt_failed(slot, 403, Some(end.saturating_sub(now)));
                    return;
                }
            }
            if let Some(t) = &g.token_limit {
                let k = if t.key == TokenKey::All { 0 } else { class };
                if let Err(at) = gi.token_windows[k].check(now, est) {
                    self.m.gateway.token_limit_429 += 1;
                    self.attempt_failed(slot, 429, Some(ceil_ms(at, now) - now));
                    return;
                }
                gi.token_windows[k].charge(now, est);
            }
            if let Some(q) = &g.token_quota {
                let k = if q.key == TokenKey::All { 0 } else { class };
                gi.quotas[k].charge(est);
            }
        }
        self.gw_forward(slot);
    }

    /// The semantic cache answers the current request: it succeeds now, with no attempt at
    /// any deployment.
    fn cache_answer(&mut self, slot: u32) {
        let now = self.now;
        let s = &mut self.sessions[slot as usize];
        s.tokens = s
            .want
            .min(self.max_tokens[s.class as usize].unwrap_or(u32::MAX));
        s.first_token = now;
        self.request_succeeded(slot, None);
    }

    /// The gateway forwards the current client attempt to a backend, or answers itself when
    /// none is available (503 when every breaker is open, 429 when some backend is marked
    /// throttled), and retries on its own per `[gateway.retry]`.
    fn gw_forward(&mut self, slot: u32) {
        let g = self
            .sc
            .gateway
            .as_ref()
            .expect("gateway forward without a gateway");
        loop {
            let now = self.now;
            let s = &self.sessions[slot as usize];
            let inst = s.gw_instance as usize;
            let list = &g.by_model[self.sc.workload.classes[s.class as usize].model];
            let tried = s.gw_tried;
            let gi = &mut self.gw[inst];
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
                tried,
                now,
                &mut cands,
            );
            if n == 0 {
                let status = if throttled {
                    self.m.gateway.rejected_429 += 1;
                    429
                } else {
                    self.m.gateway.rejected_503 += 1;
                    503
                };
                self.attempt_failed(slot, status, Some(unblock.saturating_sub(now)));
                return;
            }
            let b = choose(
                g.policy,
                now,
                &cands[..n],
                &self.gw_weights,
                &gi.load,
                &mut gi.cursor,
                &mut gi.rng,
            );
            if let Some(spec) = &g.breaker {
                gi.breakers[b].on_forward(spec, now);
            }
            let s = &mut self.sessions[slot as usize];
            if s.gw_retries > 0 && s.gw_backend != b as u32 {
                self.m.failovers += 1;
            }
            s.gw_tried |= 1u64 << b;
            s.gw_backend = b as u32;
            s.gw_forwarded_at = now;
            s.attempts += 1;
            self.m.attempts += 1;
            self.m.gateway.backends[b].forwarded += 1;
            let d = g.backends[b].deployment;
            match self.admit(slot, d) {
                Ok(()) => {
                    self.m.gateway.backends[b].admitted += 1;
                    let util = if g.policy == crate::gateway::Policy::LeastUtilized {
                        self.reported_utilization(d)
                    } else {
                        0.0
                    };
                    let load = &mut self.gw[inst].load[b];
                    load.outstanding += 1;
                    load.utilization = util;
                    load.utilization_until = now + g.utilization_ttl;
                    return;
                }
                Err(rej) => {
                    // An error answer reports no headers: the gateway takes it as full.
                    let load = &mut self.gw[inst].load[b];
                    load.utilization = 1.0;
                    load.utilization_until = now + g.utilization_ttl;
                    self.gw_observe(inst, b, rej.status, rej.at, None);
                    match self.gw_retry(slot, rej.status) {
                        Some(SimTime::ZERO) => continue,
                        Some(delay) => {
                            let key = self.sessions[slot as usize].key;
                            self.queue
                                .push(now + delay, Ev::GatewayRetry { slot, session: key });
                        }
                        None => {
                            let ra = rej.at.map(|a| a.saturating_sub(now));
                            self.attempt_failed(slot, rej.status, ra);
                        }
                    }
                    return;
                }
            }
        }
    }

    /// What deployment `d`'s response headers say about its load now: the share of the
    /// token window used (standard), or the bucket's utilization (provisioned).
    fn reported_utilization(&mut self, d: usize) -> f64 {
        let st = &mut self.deps[d];
        if let Some(b) = st.bucket.as_mut() {
            b.utilization(self.now)
        } else if let Some(w) = st.tokens.as_mut() {
            w.used(self.now) as f64 / w.limit().max(1) as f64
        } else {
            0.0
        }
    }

    /// Whether the gateway retries after `status` on the current client attempt: the delay
    /// before the retry (counted), or `None` when the answer goes back to the client.
    fn gw_retry(&mut self, slot: u32, status: u16) -> Option<SimTime> {
        let g = self.sc.gateway.as_ref().expect("gateway");
        let s = &mut self.sessions[slot as usize];
        if !g.retry.on.contains(status) || s.gw_retries >= g.retry.count {
            return None;
        }
        let delay = if g.retry.first_fast_retry && s.gw_retries == 0 {
            SimTime::ZERO
        } else {
            g.retry.interval
        };
        s.gw_retries += 1;
        self.m.gateway.retries += 1;
        Some(delay)
    }

    /// An admitted forward ended (200, 408 or the client gave up): the instance's
    /// outstanding count, breaker, throttle mark and latency estimate learn of it.
    fn gw_answered(&mut self, slot: u32, status: u16, at: Option<SimTime>) {
        let s = &self.sessions[slot as usize];
        let (inst, b) = (s.gw_instance as usize, s.gw_backend as usize);
        let latency = (status == 200).then(|| s.first_token - s.gw_forwarded_at);
        let load = &mut self.gw[inst].load[b];
        load.outstanding = load.outstanding.saturating_sub(1);
        if status != CLIENT_TIMEOUT {
            self.gw_observe(inst, b, status, at, latency);
        }
    }

    /// Backend `b` answered instance `inst` with `status` (Retry-After at `at`).
    fn gw_observe(
        &mut self,
        inst: usize,
        b: usize,
        status: u16,
        at: Option<SimTime>,
        latency: Option<SimTime>,
    ) {
        let g = self.sc.gateway.as_ref().expect("gateway");
        let now = self.now;
        let gi = &mut self.gw[inst];
        let bm = &mut self.m.gateway.backends[b];
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

    /// A forward failed after admission (408): the gateway retries or answers the client.
    fn gw_failed(&mut self, slot: u32, rej: Reject) {
        match self.gw_retry(slot, rej.status) {
            Some(SimTime::ZERO) => self.gw_forward(slot),
            Some(delay) => {
                let key = self.sessions[slot as usize].key;
                self.queue
                    .push(self.now + delay, Ev::GatewayRetry { slot, session: key });
            }
            None => {
                let ra = rej.at.map(|a| a.saturating_sub(self.now));
                self.attempt_failed(slot, rej.status, ra);
            }
        }
    }

    /// Injected faults on deployment `d` now: an immediate error answer, if one applies,
    /// and the factor applied to a standard deployment's limits.
    fn faults_at(&mut self, d: usize) -> (Option<Reject>, f64) {
        let now = self.now;
        let mut factor = 1.0;
        let mut out = None;
        for &f in &self.dep_faults[d] {
            let fault = &self.sc.faults[f];
            if !fault.active(now) {
                continue;
            }
            let dm = &mut self.m.deployments[d];
            match fault.kind {
                FaultKind::Outage { status } => {
                    dm.attempts_in_outage += 1;
                    if out.is_none() {
                        dm.fault_errors += 1;
                        out = Some(Reject { status, at: None });
                    }
                }
                FaultKind::Errors { status, rate } => {
                    let u: f64 = self.fault_rng.random();
                    if out.is_none() && u < rate {
                        dm.fault_errors += 1;
                        out = Some(Reject { status, at: None });
                    }
                }
                FaultKind::Capacity429 { rate, retry_after } => {
                    let u: f64 = self.fault_rng.random();
                    if out.is_none() && u < rate {
                        dm.fault_429 += 1;
                        dm.rejected_429 += 1;
                        self.interval.rejected_429 += 1;
                        out = Some(Reject {
                            status: 429,
                            at: Some(now + retry_after),
                        });
                    }
                }
                FaultKind::LimitCut { factor: k } => factor = f64::min(factor, k),
            }
        }
        (out, factor)
    }

    /// Admission at deployment `d`: `Err` is the error answer (a 429 with its Retry-After, or
    /// an injected fault's status).
    fn admit(&mut self, slot: u32, d: usize) -> Result<(), Reject> {
        let now = self.now;
        if !self.dep_faults[d].is_empty() {
            let (rej, factor) = self.faults_at(d);
            if let Some(rej) = rej {
                self.m.deployments[d].attempts += 1;
                // The service forwards a provisioned deployment's 5xx to its spillover target.
                if let DeploymentKind::Provisioned {
                    spillover: Some(t), ..
                } = self.sc.deployments[d].kind
                    && rej.status >= 500
                {
                    self.sessions[slot as usize].spilled = true;
                    self.m.spilled += 1;
                    self.m.deployments[t].spilled_in += 1;
                    return self.admit(slot, t);
                }
                return Err(rej);
            }
            let st = &mut self.deps[d];
            let (tl, rl) = st.base_limits;
            if let (Some(tw), Some(rw)) = (st.tokens.as_mut(), st.requests.as_mut()) {
                tw.set_limit(((tl as f64 * factor).round() as u64).max(1));
                rw.set_limit(((rl as f64 * factor).floor() as u64).max(1));
            }
        }
        let dep = &self.sc.deployments[d];
        let model = &self.sc.models[dep.model];
        let s = &mut self.sessions[slot as usize];
        let est_completion =
            self.max_tokens[s.class as usize].unwrap_or(model.default_max_tokens_estimate) as u64;
        let dm = &mut self.m.deployments[d];
        dm.attempts += 1;
        let st = &mut self.deps[d];
        match dep.kind {
            DeploymentKind::Standard {
                count_rejected_requests,
                ..
            } => {
                let est = s.prompt as u64 + est_completion;
                let rw = st.requests.as_mut().expect("standard has windows");
                let tw = st.tokens.as_mut().expect("standard has windows");
                let r1 = rw.check(now, 1);
                let r2 = tw.check(now, est);
                if r1.is_ok() && r2.is_ok() {
                    rw.charge(now, 1);
                    tw.charge(now, est);
                    dm.charged_estimate += est;
                    s.estimate = est as f64;
                    if let Some(a) = self.audit.as_deref_mut() {
                        a.admitted(d, now, est, 0.0);
                    }
                } else {
                    // A rejected request still counts against the request window; the
                    // Retry-After the service returns accounts for it.
                    let r1 = if count_rejected_requests {
                        rw.charge(now, 1);
                        rw.check(now, 1)
                    } else {
                        r1
                    };
                    dm.rejected_429 += 1;
                    self.interval.rejected_429 += 1;
                    let at = r1.err().unwrap_or(now).max(r2.err().unwrap_or(now));
                    return Err(Reject {
                        status: 429,
                        at: Some(ceil_ms(at, now)),
                    });
                }
            }
            DeploymentKind::Provisioned {
                output_ratio,
                spillover,
                ..
            } => {
                let est = s.prompt as f64 + output_ratio * est_completion as f64;
                let bucket = st.bucket.as_mut().expect("provisioned has a bucket");
                match bucket.try_admit(now, est) {
                    Ok(()) => {
                        dm.charged_estimate += est.round() as u64;
                        s.estimate = est;
                        if let Some(a) = self.audit.as_deref_mut() {
                            a.admitted(d, now, 0, est);
                            let level = bucket.level(now);
                            a.bucket(
                                d,
                                now,
                                bucket.added,
                                bucket.corrected,
                                bucket.drained,
                                level,
                            );
                        }
                    }
                    Err(at) => {
                        dm.rejected_429 += 1;
                        self.interval.rejected_429 += 1;
                        if let Some(t) = spillover {
                            // The service forwards the 429 to the spillover deployment itself.
                            s.spilled = true;
                            self.m.spilled += 1;
                            self.m.deployments[t].spilled_in += 1;
                            return self.admit(slot, t);
                        }
                        return Err(Reject {
                            status: 429,
                            at: Some(ceil_ms(at, now)),
                        });
                    }
                }
            }
        }
        self.m.deployments[d].admitted += 1;
        self.admitted(slot, d);
        Ok(())
    }

    fn admitted(&mut self, slot: u32, d: usize) {
        let now = self.now;
        self.next_attempt += 1;
        let id = self.next_attempt;
        let dep = &self.sc.deployments[d];
        let s = &mut self.sessions[slot as usize];
        let streaming = self.sc.workload.classes[s.class as usize].streaming;
        s.attempt = id;
        s.dep = d as u32;
        s.first_token = SimTime::MAX;
        let client = now + self.sc.client.timeout;
        let server = if streaming {
            None
        } else {
            dep.completion_window.map(|w| now + w)
        };
        let (mut deadline, is_server) = match server {
            Some(w) if w < client => (w, true),
            _ => (client, false),
        };
        // The gateway's timeout runs from the forward, which is now (admission is immediate).
        let is_gateway = match self.sc.gateway.as_ref().and_then(|g| g.timeout) {
            Some(t) if now + t < deadline => {
                deadline = now + t;
                true
            }
            _ => false,
        };
        s.deadline_is_server = is_server && !is_gateway;
        s.deadline_is_gateway = is_gateway;
        let st = &mut self.deps[d];
        s.rate = dep.serving.decode_tokens_per_s * st.speed_variation.multiplier(s.speed_z);
        let queued = dep.max_concurrency.is_some_and(|cap| st.busy >= cap);
        // Most deadlines never fire. When the attempt starts at once and its speed does not
        // depend on concurrency, its first token and its end are known now; a deadline that
        // falls safely after them would only be a stale event, so it is not scheduled.
        let needed = queued
            || !st.flat
            || deadline <= {
                let serving = &dep.serving;
                let first = now + prefill_time(serving, s.prompt);
                let ends = if streaming {
                    first
                } else {
                    let tokens = s
                        .want
                        .min(self.max_tokens[s.class as usize].unwrap_or(u32::MAX));
                    first + SimTime::from_secs_f64(tokens as f64 / s.rate)
                };
                ends + SimTime::MS
            };
        if needed {
            // Deadlines are "now + a fixed delay": they go to that delay's FIFO lane.
            let lane = if is_gateway {
                self.gw_lane
                    .expect("a gateway deadline implies a gateway timeout")
            } else if is_server {
                self.window_lanes[d].expect("a server deadline implies a completion window")
            } else {
                self.client_lane
            };
            self.queue
                .push_lane(lane, deadline, Ev::Deadline { slot, attempt: id });
        }
        if queued {
            s.phase = Phase::Queued;
            st.queue.push_back((slot, id));
        } else {
            self.start_prefill(slot);
        }
    }

    fn start_prefill(&mut self, slot: u32) {
        let s = &mut self.sessions[slot as usize];
        let d = s.dep as usize;
        let serving = &self.sc.deployments[d].serving;
        self.deps[d].busy += 1;
        s.phase = Phase::Prefill;
        let dt = prefill_time(serving, s.prompt);
        self.queue.push(
            self.now + dt,
            Ev::PrefillDone {
                slot,
                attempt: s.attempt,
            },
        );
    }

    fn start_decode(&mut self, slot: u32) {
        let s = &mut self.sessions[slot as usize];
        let d = s.dep as usize;
        let serving = &self.sc.deployments[d].serving;
        s.first_token = self.now;
        s.tokens = s
            .want
            .min(self.max_tokens[s.class as usize].unwrap_or(u32::MAX));
        s.phase = Phase::Decoding;
        let work = s.tokens as f64 / s.rate;
        if self.deps[d].flat {
            // Speed does not depend on concurrency: sharing changes nothing, so the attempt
            // ends at a fixed time and needs no processor-sharing bookkeeping.
            let (t, attempt) = (self.now + SimTime::from_secs_f64(work), s.attempt);
            self.queue.push(t, Ev::DecodeFinish { slot, attempt });
            return;
        }
        s.v_start = self.deps[d]
            .ps
            .add(self.now, s.attempt, slot, work, |n| serving.speed_factor(n));
        self.reschedule_decode(d);
    }

    fn reschedule_decode(&mut self, d: usize) {
        let serving = &self.sc.deployments[d].serving;
        let sessions = &self.sessions;
        let st = &mut self.deps[d];
        let next = st.ps.next_finish(
            self.now,
            |n| serving.speed_factor(n),
            |a, s| is_decoding(sessions, a, s),
        );
        match next {
            Some(t) if t == st.decode_at => {}
            Some(t) => {
                st.decode_gen += 1;
                st.decode_at = t;
                self.queue.push(
                    t,
                    Ev::DecodeDone {
                        dep: d as u32,
                        generation: st.decode_gen,
                    },
                );
            }
            None => {
                st.decode_gen += 1;
                st.decode_at = SimTime::MAX;
            }
        }
    }

    fn release_slot(&mut self, d: usize) {
        self.deps[d].busy -= 1;
        while let Some((slot, id)) = self.deps[d].queue.pop_front() {
            let s = &self.sessions[slot as usize];
            if s.alive && s.attempt == id && s.phase == Phase::Queued {
                self.start_prefill(slot);
                break;
            }
        }
    }

    /// Bills and accounts an attempt's processed tokens on deployment `d`.
    fn account(&mut self, slot: u32, d: usize, prompt: u32, completion: u32, bill: bool) {
        let dep = &self.sc.deployments[d];
        let model = &self.sc.models[dep.model];
        let s = &self.sessions[slot as usize];
        let dm = &mut self.m.deployments[d];
        let st = &mut self.deps[d];
        match dep.kind {
            DeploymentKind::Provisioned { output_ratio, .. } => {
                let actual = prompt as f64 + output_ratio * completion as f64;
                st.interval_normalized += actual;
                let bucket = st.bucket.as_mut().expect("provisioned");
                bucket.correct(self.now, actual - s.estimate);
                if let Some(a) = self.audit.as_deref_mut() {
                    let level = bucket.level(self.now);
                    a.bucket(
                        d,
                        self.now,
                        bucket.added,
                        bucket.corrected,
                        bucket.drained,
                        level,
                    );
                }
            }
            DeploymentKind::Standard { .. } => {
                if bill {
                    let cost = (prompt as f64 * model.price_input_per_1m
                        + completion as f64 * model.price_output_per_1m)
                        / 1e6;
                    dm.token_cost_usd += cost;
                    if s.spilled {
                        self.m.spilled_token_cost_usd += cost;
                    }
                }
            }
        }
        dm.prompt_tokens += prompt as u64;
        dm.completion_tokens += completion as u64;
        st.interval_tokens += prompt as u64 + completion as u64;
    }

    fn attempt_succeeded(&mut self, slot: u32) {
        let d = self.sessions[slot as usize].dep as usize;
        let (prompt, tokens) = {
            let s = &self.sessions[slot as usize];
            (s.prompt, s.tokens)
        };
        self.account(slot, d, prompt, tokens, true);
        self.release_slot(d);
        if self.sc.gateway.is_some() {
            self.gw_answered(slot, 200, None);
        }
        self.request_succeeded(slot, Some(d));
    }

    /// The current request succeeded now (its tokens and first token are set): counted, and
    /// the session moves on. `d` is the deployment that answered (`None`: the cache).
    fn request_succeeded(&mut self, slot: u32, d: Option<usize>) {
        let now = self.now;
        let s = &mut self.sessions[slot as usize];
        s.phase = Phase::Idle;
        self.m.succeeded += 1;
        self.m.e2e.record(now - s.req_started);
        self.m.ttft.record(s.first_token - s.req_started);
        self.m.prompt_tokens += s.prompt as u64;
        self.m.completion_tokens += s.tokens as u64;
        self.m.wanted_tokens += s.want as u64;
        if s.want > s.tokens {
            self.m.truncated += 1;
        }
        self.interval.completions += 1;
        self.in_flight -= 1;
        if let Some(sink) = self.sink.as_deref_mut() {
            sink.record(&s.record(now, Outcome::Succeeded, 200, d));
        }
        self.next_step(slot);
    }

    /// Stops an admitted attempt wherever it is; returns the completion tokens it generated.
    fn cancel_attempt(&mut self, slot: u32) -> u32 {
        let s = &self.sessions[slot as usize];
        let d = s.dep as usize;
        let phase = s.phase;
        let bill = self.sc.deployments[d].bill_incomplete;
        let generated = match phase {
            Phase::Queued => {
                self.account(slot, d, 0, 0, false);
                0
            }
            Phase::Prefill => {
                let p = s.prompt;
                self.account(slot, d, p, 0, bill);
                self.release_slot(d);
                0
            }
            Phase::Decoding if self.deps[d].flat => {
                let generated = (((self.now - s.first_token).as_secs_f64() * s.rate).floor()
                    as u32)
                    .min(s.tokens);
                let p = s.prompt;
                self.account(slot, d, p, generated, bill);
                self.release_slot(d);
                generated
            }
            Phase::Decoding => {
                let serving = &self.sc.deployments[d].serving;
                self.deps[d]
                    .ps
                    .cancel(self.now, |n| serving.speed_factor(n));
                let s = &self.sessions[slot as usize];
                let done = ((self.deps[d].ps.virtual_now() - s.v_start) * s.rate)
                    .floor()
                    .max(0.0) as u32;
                let generated = done.min(s.tokens);
                let p = s.prompt;
                // Mark idle before rescheduling so the cancelled entry counts as stale.
                self.sessions[slot as usize].phase = Phase::Idle;
                self.reschedule_decode(d);
                self.account(slot, d, p, generated, bill);
                self.release_slot(d);
                generated
            }
            Phase::Idle => 0,
        };
        self.sessions[slot as usize].phase = Phase::Idle;
        generated
    }

    fn attempt_failed(&mut self, slot: u32, status: u16, retry_after: Option<SimTime>) {
        let client = &self.sc.client;
        let s = &mut self.sessions[slot as usize];
        s.phase = Phase::Idle;
        let retryable = if status == CLIENT_TIMEOUT {
            client.retry_on_timeout
        } else {
            client.retry_statuses.contains(&status)
        };
        if retryable && s.client_retries < client.max_retries {
            let n = s.client_retries;
            s.client_retries += 1;
            self.m.client_retries += 1;
            let delay = match retry_after {
                Some(ra) if ra > SimTime::ZERO && ra <= client.retry_after_cap => ra,
                _ => {
                    let u: f64 = self.chaos.random();
                    backoff(
                        client.backoff_initial,
                        client.backoff_max,
                        client.backoff_jitter,
                        n,
                        u,
                    )
                }
            };
            let key = s.key;
            self.queue
                .push(self.now + delay, Ev::Retry { slot, session: key });
            return;
        }
        let outcome = match status {
            429 => Outcome::RateLimited,
            408 | CLIENT_TIMEOUT => Outcome::TimedOut,
            _ => Outcome::Failed,
        };
        self.m.failed += 1;
        match outcome {
            Outcome::RateLimited => self.m.rate_limited += 1,
            Outcome::TimedOut => self.m.timed_out += 1,
            _ => {}
        }
        self.interval.failures += 1;
        self.in_flight -= 1;
        if let Some(sink) = self.sink.as_deref_mut() {
            sink.record(&s.record(self.now, outcome, status, None));
        }
        self.m.sessions_failed += 1;
        self.end_session(slot);
    }

    fn next_step(&mut self, slot: u32) {
        let s = &mut self.sessions[slot as usize];
        let steps = self.sc.workload.classes[s.class as usize].steps;
        s.step += 1;
        if s.step >= steps {
            self.m.sessions_completed += 1;
            self.m.session_duration.record(self.now - s.started);
            self.end_session(slot);
        } else if s.think == SimTime::ZERO {
            self.start_request(slot);
        } else {
            let (t, key) = (self.now + s.think, s.key);
            self.queue.push(t, Ev::StepStart { slot, session: key });
        }
    }

    fn end_session(&mut self, slot: u32) {
        let s = &mut self.sessions[slot as usize];
        s.alive = false;
        let user = s.user;
        self.free.push(slot);
        if user != OPEN_LOOP
            && let Arrivals::Closed { think_time_s, .. } = &self.sc.workload.arrivals
        {
            // Users start new sessions only within `duration`, like open-loop arrivals. The
            // think time is drawn even when it is not used, so the user's stream stays aligned.
            let think =
                SimTime::from_secs_f64(think_time_s.sample(&mut self.user_rngs[user as usize]));
            let start = self.now + think;
            if start < self.sc.duration {
                self.queue.push(start, Ev::UserStart { user });
            }
        }
    }
}

#[inline]
fn is_decoding(sessions: &[Session], attempt: u64, slot: u32) -> bool {
    let s = &sessions[slot as usize];
    s.alive && s.attempt == attempt && s.phase == Phase::Decoding
}

/// Time to first token once an attempt holds a slot: fixed latency plus prompt processing.
#[inline]
fn prefill_time(serving: &crate::scenario::Serving, prompt: u32) -> SimTime {
    serving.ttft_base + SimTime::from_secs_f64(prompt as f64 / serving.prefill_tokens_per_s)
}

/// Retry-After as the service sends it: whole milliseconds, rounded up.
fn ceil_ms(at: SimTime, now: SimTime) -> SimTime {
    let d = (at - now).as_micros();
    now + SimTime::from_micros(d.div_ceil(1000) * 1000)
}

/// The SDK's backoff before retry `n` (0-based): `min(initial * 2^n, max) * (1 - jitter * u)`
/// with `u` uniform in [0, 1).
pub fn backoff(initial: SimTime, max: SimTime, jitter: f64, n: u32, u: f64) -> SimTime {
    let base = initial.as_secs_f64() * 2f64.powi(n.min(62) as i32);
    let capped = base.min(max.as_secs_f64());
    SimTime::from_secs_f64(capped * (1.0 - jitter * u))
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn retry_after_rounds_up_to_whole_ms() {
        let now = SimTime::from_secs(1);
        assert_eq!(ceil_ms(now + SimTime(1), now), now + SimTime::MS);
        assert_eq!(ceil_ms(now + SimTime::MS, now), now + SimTime::MS);
    }
}
