//! The engine: one run of one variant, single-threaded.
//!
//! It holds the rooms ([`Workload`], [`Client`], [`Router`] or [`Gateway`], [`Deployments`],
//! and the metrics [`Recorder`]), the clock and the future-event list, and does two things:
//! it pops the next event, drops it if it is stale, advances the clock (closing time-series
//! intervals on the way) and hands the event to the room that owns it ([`Engine::handle`]);
//! and it carries each room's answer to the next room ([`flow`]): a call from the workload to
//! the client, an attempt from the client to the router or gateway, which call the
//! deployments' admission, and every ending back to the client and the metrics. It makes no
//! decision of the model itself: which deployment, whether to admit, whether to retry, and
//! how long anything takes are the rooms'.
//!
//! The hot loop allocates nothing per event, formats nothing and never scans all requests:
//! per-session state lives in slabs indexed by a slot, stale events are skipped by comparing
//! a session key, an attempt id or a decode generation (lazy cancellation), and every
//! per-deployment structure is O(log n) or O(1) amortized.

mod control;
mod flow;

pub use control::{
    CHECK_EVERY, Control, DEFAULT_MAX_EVENTS, DEFAULT_MAX_STATE_BYTES, STALL_CHECKS, Stopped,
};

use crate::client::Client;
use crate::deployment::Deployments;
use crate::events::Ev;
pub use crate::events::{EventQueue, Lane};
use crate::gateway::Gateway;
pub use crate::metrics::{Audit, CLIENT_TIMEOUT, Outcome, RequestRecord, RequestSink};
use crate::metrics::{Recorder, RunMetrics};
use crate::router::Router;
use crate::scenario::Scenario;
use crate::time::SimTime;
use crate::workload::Workload;

/// One run of one variant.
pub struct Engine<'a> {
    sc: &'a Scenario,
    now: SimTime,
    queue: EventQueue<Ev>,
    workload: Workload<'a>,
    client: Client<'a>,
    router: Router<'a>,
    /// The gateway, when the scenario has one (it replaces the router).
    gateway: Option<Gateway<'a>>,
    deployments: Deployments<'a>,
    metrics: Recorder,
    /// Deployment tries made by client attempts (router failovers and gateway retries
    /// included).
    attempts: u64,
    sink: Option<&'a mut dyn RequestSink>,
    audit: Option<&'a mut dyn Audit>,
    watch: control::Watch<'a>,
    /// Bytes of state per session slot, over every room's slab.
    slot_bytes: u64,
}

/// Runs one variant to the end and returns what it measured.
pub fn simulate<'a>(sc: &'a Scenario, sink: Option<&'a mut dyn RequestSink>) -> RunMetrics {
    Engine::new(sc, sink).run()
}

/// [`simulate`] under `control`: budgets, Ctrl-C and progress. A run stopped early says why
/// in [`RunMetrics::stopped`].
pub fn simulate_with<'a>(
    sc: &'a Scenario,
    sink: Option<&'a mut dyn RequestSink>,
    control: Control<'a>,
) -> RunMetrics {
    let mut e = Engine::new(sc, sink);
    e.watch = control::Watch::new(control);
    e.run()
}

/// [`simulate`] with an auditor that sees internal steps (for invariant tests).
pub fn simulate_audited<'a>(
    sc: &'a Scenario,
    sink: Option<&'a mut dyn RequestSink>,
    audit: &'a mut dyn Audit,
) -> RunMetrics {
    let mut e = Engine::new(sc, sink);
    e.audit = Some(audit);
    e.run()
}

impl<'a> Engine<'a> {
    /// A fresh engine for `sc`.
    pub fn new(sc: &'a Scenario, sink: Option<&'a mut dyn RequestSink>) -> Self {
        let mut queue = EventQueue::default();
        let gateway_timeout = sc.gateway.as_ref().is_some_and(|g| g.timeout.is_some());
        let deployments = Deployments::new(sc, &mut queue, gateway_timeout);
        Engine {
            sc,
            now: SimTime::ZERO,
            queue,
            workload: Workload::new(sc),
            client: Client::new(&sc.client, sc.seed),
            router: Router::new(&sc.router, sc.models.len()),
            gateway: sc.gateway.as_ref().map(|g| {
                Gateway::new(
                    g,
                    &sc.models,
                    sc.workload.classes.len(),
                    sc.seed,
                    sc.duration + sc.drain,
                )
            }),
            deployments,
            metrics: Recorder::new(sc.metrics_interval),
            attempts: 0,
            sink,
            audit: None,
            watch: control::Watch::new(Control::default()),
            slot_bytes: (Workload::SLOT_BYTES
                + Client::SLOT_BYTES
                + Deployments::SLOT_BYTES
                + sc.gateway.as_ref().map_or(0, |_| Gateway::SLOT_BYTES))
                as u64,
        }
    }

    /// Runs to the end (`duration + drain`, or until nothing is left to do).
    pub fn run(mut self) -> RunMetrics {
        self.workload.start(&mut self.queue);
        let end = self.sc.duration + self.sc.drain;
        let mut cut = false;
        let mut stopped = None;
        while let Some((t, ev)) = self.queue.pop() {
            if t > end {
                cut = true;
                break;
            }
            // Stale events (cancelled lazily) are dropped before they can move the clock, so
            // nothing measured depends on how many of them were scheduled.
            if !self.handle(t, ev) {
                continue;
            }
            if self.metrics.event() & (CHECK_EVERY - 1) == 0 {
                stopped = self.check();
                if stopped.is_some() {
                    break;
                }
            }
        }
        let stop = if cut { end } else { self.now };
        self.advance_clock(stop);
        let mut m = self.finish();
        m.stopped = stopped;
        m
    }

    /// The periodic look at the run's [`Control`].
    #[cold]
    fn check(&mut self) -> Option<Stopped> {
        let slots = self.workload.slots() as u64;
        let state = slots * self.slot_bytes + self.queue.bytes() as u64;
        self.watch
            .check(self.now, self.metrics.events(), slots, state)
    }

    fn advance_clock(&mut self, t: SimTime) {
        let deps = &mut self.deployments;
        self.now = self
            .metrics
            .advance(self.now, t, |b, len_min| deps.sample(b, len_min));
    }

    fn finish(self) -> RunMetrics {
        let Engine {
            now,
            mut deployments,
            metrics,
            client,
            router,
            gateway,
            attempts,
            workload,
            ..
        } = self;
        let active = deployments.interval_active();
        let mut m = metrics.finish(now, active, |b, len_min| deployments.sample(b, len_min));
        let deps = deployments.totals();
        m.deployments = deps.per_dep;
        m.spilled = deps.spilled;
        m.spilled_token_cost_usd = deps.spilled_cost;
        m.client_retries = client.retries();
        m.attempts = attempts;
        m.trace = workload.trace_counts();
        m.failovers = router.failovers() + gateway.as_ref().map_or(0, Gateway::failovers);
        if let Some(g) = gateway {
            m.gateway = g.totals();
        }
        m
    }

    /// Deployment `d`'s next processor-sharing finish is due at `t`: the attempts done
    /// succeed, and the next finish is scheduled. Out of line: only the speed-curve path
    /// comes here, and inlined it makes the loop every other path runs heavier.
    #[inline(never)]
    fn decode_done(&mut self, d: usize, t: SimTime) {
        self.deployments.decode_due(d, t);
        while let Some(slot) = self.deployments.next_finished(d) {
            self.attempt_succeeded(slot);
        }
        self.deployments.reschedule_decode(d, t, &mut self.queue);
    }

    /// Whether the call of `slot` (the one `key` names) waits for a retry or a gateway step.
    #[inline]
    fn call_waits(&self, slot: u32, key: u64) -> bool {
        self.workload.is_current_call(slot, key) && self.deployments.is_idle(slot)
    }

    /// The clock moves to `t`, where a live event happens.
    #[inline]
    fn enter(&mut self, t: SimTime) {
        if let Some(a) = self.audit.as_deref_mut() {
            a.event(t);
        }
        self.advance_clock(t);
    }

    /// Hands the event popped at `t` to the room that owns it, if it is still live, and
    /// returns whether it was. Liveness is lazy cancellation: a session key, an attempt id or
    /// a decode generation that no longer matches means the event was superseded; it is
    /// checked in the same match as the dispatch, before the clock moves.
    #[inline]
    fn handle(&mut self, t: SimTime, ev: Ev) -> bool {
        // A stale event stops here; a live one moves the clock to `t`.
        macro_rules! live {
            ($check:expr) => {
                if !$check {
                    return false;
                }
                self.enter(t);
            };
        }
        match ev {
            Ev::Arrival => {
                live!(self.workload.may_begin());
                if self.workload.arrival_due(t) {
                    let slot = self.workload.arrive(t);
                    self.begin_session(slot);
                }
                self.workload.schedule_arrival(t, &mut self.queue);
            }
            Ev::UserStart { user } => {
                live!(self.workload.may_begin());
                let slot = self.workload.user_start(user, t);
                self.begin_session(slot);
            }
            Ev::StepStart { slot, key } => {
                live!(self.workload.is_current(slot, key));
                self.start_stage(slot);
            }
            Ev::Retry { slot, key } => {
                live!(self.call_waits(slot, key));
                self.send(slot);
            }
            Ev::GatewayRetry { slot, key } => {
                live!(self.call_waits(slot, key));
                self.gateway_retry(slot);
            }
            Ev::GatewayLookup { slot, key } => {
                live!(self.call_waits(slot, key));
                self.gateway_lookup(slot);
            }
            Ev::PrefillDone { slot, attempt } => {
                live!(self.deployments.is_prefilling(slot, attempt));
                self.deployments.prefill_done(slot, t, &mut self.queue);
            }
            Ev::DecodeFinish { slot, attempt } => {
                live!(self.deployments.is_decoding(slot, attempt));
                self.attempt_succeeded(slot);
            }
            Ev::DecodeDone { dep, generation } => {
                live!(self.deployments.is_current_decode(dep, generation));
                self.decode_done(dep as usize, t);
            }
            Ev::Deadline { slot, attempt } => {
                live!(self.deployments.deadline_live(slot, attempt));
                self.deadline(slot);
            }
        }
        true
    }
}
