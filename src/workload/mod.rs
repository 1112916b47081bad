//! The workload: who calls, when, and what each call asks for.
//!
//! Sessions arrive open-loop (a piecewise-constant Poisson or evenly spaced rate,
//! [`arrivals`]) or are started by closed-loop users after a think time. A session runs its
//! class's steps one after another; each step is one [`Call`] whose tokens, speed draw and
//! following think time come from the session's own random stream, keyed by the session
//! (common random numbers: every variant sees exactly the same calls). This room owns the
//! session slots; the other rooms keep their per-request state in slabs indexed by the same
//! slot. It never decides anything about how a call is served.
//!
//! With `[workload] trace`, the sessions and their calls come from the trace instead, streamed
//! from the file (`replay.rs`: open or session mode, `docs/traces.md`).

pub mod arrivals;
mod replay;

pub use replay::TraceCounts;

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::dist::round;
use crate::events::{Ev, EventQueue};
use crate::rng::{SimRng, Stream, stream};
use crate::scenario::{Arrivals, Scenario};
use crate::time::SimTime;

/// What one call asks of the service.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Call {
    /// Session class index.
    pub class: u16,
    /// Step (call shape) index within the class.
    pub step: u16,
    /// Model index.
    pub model: u32,
    /// Prompt tokens.
    pub prompt: u32,
    /// Prompt tokens that are a cached prefix (at most `prompt`).
    pub cached: u32,
    /// Completion tokens the answer would have without a cap.
    pub want: u32,
    /// `max_tokens` sent with the call (a gateway may lower it on the way).
    pub max_tokens: Option<u32>,
    /// Whether the answer streams.
    pub streaming: bool,
    /// Standard normal draw behind the decode-speed variation of the call's first attempt.
    pub speed_z: f64,
    /// The key of the call's own random stream: later attempts draw their speed from it, so
    /// a retry is served at a fresh speed that is the same in every variant.
    pub key: u64,
}

impl Call {
    /// Completion tokens the answer will have: what it wants, cut at `max_tokens`.
    #[inline]
    pub fn tokens(&self) -> u32 {
        self.want.min(self.max_tokens.unwrap_or(u32::MAX))
    }
}

/// User index of open-loop sessions.
const OPEN_LOOP: u32 = u32::MAX;

/// Where time went in a session, microseconds (see [`AfterCall::Completed`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Breakdown {
    /// Think time between stages.
    pub think: u64,
    /// Before the answering attempt was admitted: quota, backoff, failed attempts.
    pub waiting: u64,
    /// Admitted, waiting for a concurrency slot.
    pub queued: u64,
    /// Time to first token once served.
    pub prefill: u64,
    /// Decoding.
    pub generating: u64,
}

/// The times of a call that succeeded, for the session's [`Breakdown`].
#[derive(Clone, Copy, Debug)]
pub struct CallTimes {
    /// The call started.
    pub started: SimTime,
    /// The answering attempt was admitted.
    pub admitted: SimTime,
    /// It got a concurrency slot (prefill began).
    pub served: SimTime,
    /// Its first token came out.
    pub first_token: SimTime,
}

/// Cache-line aligned: a session's state never straddles more lines than it must.
#[derive(Clone, Debug)]
#[repr(align(64))]
struct Session {
    alive: bool,
    failed: bool,
    class: u16,
    user: u32,
    /// Current stage of the flow.
    stage: u32,
    /// Calls of the stage that have not ended yet (started or not).
    pending: u32,
    /// Calls of the stage started so far.
    launched: u32,
    /// Calls made so far in the session (numbers each call).
    seq: u32,
    key: u64,
    started: SimTime,
    think: SimTime,
    rng: SimRng,
    times: Breakdown,
}

/// One call in flight.
#[derive(Clone, Copy, Debug)]
struct CallSlot {
    alive: bool,
    session: u32,
    seq: u32,
    id: u64,
    call: Call,
}

/// Where a session goes after one of its calls ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterCall {
    /// Other calls of the stage are still running; `first_failure` when this call failed
    /// and is the session's first failure.
    Waiting {
        /// This failure made the session fail.
        first_failure: bool,
    },
    /// The stage is done and the next one starts now (no think time).
    NextStage,
    /// The stage is done; the next one was scheduled after the think time.
    Thinking,
    /// Every stage is done: the session completed, taking `duration`, spent as `times`.
    Completed {
        /// From the session's start.
        duration: SimTime,
        /// Where it went (the critical path of each stage, and think time).
        times: Breakdown,
    },
    /// The session ended after a failed call (this one or an earlier one of the stage).
    Failed {
        /// This failure made the session fail.
        first_failure: bool,
    },
}

/// The sessions and calls of one run.
pub struct Workload<'a> {
    sc: &'a Scenario,
    arrival_rng: SimRng,
    user_rngs: Vec<SimRng>,
    user_sessions: Vec<u32>,
    sessions: Vec<Session>,
    free: Vec<u32>,
    calls: Vec<CallSlot>,
    free_calls: Vec<u32>,
    next_call_id: u64,
    begun: u64,
    /// The trace replayed, when the scenario has one (`replay`).
    replay: Option<Box<replay::Replay>>,
}

impl<'a> Workload<'a> {
    /// Bytes of per-session state this room keeps for each session slot (and one call).
    pub const SLOT_BYTES: usize = std::mem::size_of::<Session>() + std::mem::size_of::<CallSlot>();

    /// The workload of `sc`.
    pub fn new(sc: &'a Scenario) -> Self {
        let users = match sc.workload.arrivals {
            Arrivals::Closed { users, .. } => users,
            _ => 0,
        };
        Workload {
            sc,
            arrival_rng: stream(sc.seed, Stream::Arrivals, 0),
            user_rngs: (0..users)
                .map(|u| stream(sc.seed, Stream::User, u as u64))
                .collect(),
            user_sessions: vec![0; users as usize],
            sessions: Vec::new(),
            free: Vec::new(),
            calls: Vec::new(),
            free_calls: Vec::new(),
            next_call_id: 0,
            begun: 0,
            replay: sc
                .workload
                .trace
                .as_ref()
                .map(|spec| Box::new(replay::Replay::new(sc, spec))),
        }
    }

    /// What the trace replay sent (`None` without a trace).
    pub fn trace_counts(&self) -> Option<TraceCounts> {
        self.replay.as_ref().map(|r| r.counts.clone())
    }

    /// Schedules the first arrival (open loop) or every user's first session (closed loop).
    pub fn start(&mut self, q: &mut EventQueue<Ev>) {
        match self.sc.workload.arrivals {
            Arrivals::Closed { users, .. } => {
                for u in 0..users {
                    q.push(SimTime::ZERO, Ev::UserStart { user: u });
                }
            }
            _ => self.schedule_arrival(SimTime::ZERO, q),
        }
    }

    /// Schedules the open-loop arrival after `now`, if it falls within `duration`.
    pub fn schedule_arrival(&mut self, now: SimTime, q: &mut EventQueue<Ev>) {
        if let Some(r) = self.replay.as_mut() {
            // The trace's next session, read now: one pending arrival at a time.
            match r.next_start(now) {
                Some(t) if t < self.sc.duration => q.push(t, Ev::Arrival),
                _ => r.close(),
            }
            return;
        }
        let (schedule, poisson) = match &self.sc.workload.arrivals {
            Arrivals::Poisson { schedule } => (schedule, true),
            Arrivals::Constant { schedule } => (schedule, false),
            Arrivals::Closed { .. } => return,
        };
        if let Some(t) = arrivals::next_arrival(schedule, poisson, now, &mut self.arrival_rng)
            && t < self.sc.duration
        {
            q.push(t, Ev::Arrival);
        }
    }

    /// Whether an arrival event begins a session now (a trace's arrival may only move its
    /// read-ahead window on).
    #[inline]
    pub fn arrival_due(&self, now: SimTime) -> bool {
        self.replay.as_ref().is_none_or(|r| r.start_due(now))
    }

    /// Whether a new session may still begin (`max_sessions`).
    #[inline]
    pub fn may_begin(&self) -> bool {
        self.sc.workload.max_sessions.is_none_or(|m| self.begun < m)
    }

    /// An open-loop session begins now; returns its slot.
    #[inline]
    pub fn arrive(&mut self, now: SimTime) -> u32 {
        self.begin(self.begun, OPEN_LOOP, now)
    }

    /// Closed-loop `user` begins a session now; returns its slot.
    #[inline]
    pub fn user_start(&mut self, user: u32, now: SimTime) -> u32 {
        let n = self.user_sessions[user as usize];
        self.user_sessions[user as usize] += 1;
        self.begin(((user as u64 + 1) << 32) | n as u64, user, now)
    }

    fn begin(&mut self, key: u64, user: u32, now: SimTime) -> u32 {
        self.begun += 1;
        let mut rng = stream(self.sc.seed, Stream::Session, key);
        let class = match self.replay.as_ref() {
            // A replayed session's class is its record's (the first class by default).
            Some(r) => r.peek_start().map_or(0, |a| a.class),
            None => {
                let u: f64 = rng.random();
                let cdf = &self.sc.workload.class_cdf;
                cdf.partition_point(|&c| c <= u).min(cdf.len() - 1) as u16
            }
        };
        let mut s = Session {
            alive: true,
            failed: false,
            class,
            user,
            stage: 0,
            pending: 0,
            launched: 0,
            seq: 0,
            key,
            started: now,
            think: SimTime::ZERO,
            rng,
            times: Breakdown::default(),
        };
        s.pending = match self.replay {
            Some(_) => 1,
            None => self.sc.workload.classes[class as usize].flow[0].calls.len() as u32,
        };
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
        if let Some(r) = self.replay.as_mut() {
            r.begin(slot);
        }
        slot
    }

    /// The next call of the current stage of `session` to start, drawn now (always the same
    /// draws in the same order: common random numbers across variants), or `None` when every
    /// call of the stage has started. Returns the call's slot.
    #[inline]
    pub fn next_stage_call(&mut self, session: u32) -> Option<u32> {
        if self.replay.is_some() {
            let call = self.replayed_call(session)?;
            return Some(self.new_call(session, call));
        }
        let seed = self.sc.seed;
        let s = &mut self.sessions[session as usize];
        let class = &self.sc.workload.classes[s.class as usize];
        let stage = &class.flow[s.stage as usize];
        let i = s.launched as usize;
        let &step_index = stage.calls.get(i)?;
        let step = &class.steps[step_index as usize];
        s.launched += 1;
        let seq = s.seq;
        s.seq += 1;
        let prompt = round(step.prompt_tokens.sample(&mut s.rng)).max(1.0) as u32;
        let want = round(step.completion_tokens.sample(&mut s.rng)).max(1.0) as u32;
        let speed_z = StandardNormal.sample(&mut s.rng);
        if i + 1 == stage.calls.len() {
            let think = &class.steps[stage.think_after as usize].think_time_s;
            s.think = SimTime::from_secs_f64(think.sample(&mut s.rng));
        }
        let key = call_key(s.key, seq);
        let cached = if step.cached_prompt_share.is_constant() {
            step.cached_prompt_share.sample(&mut s.rng)
        } else {
            // Its own stream: a variant with caching sees the same calls as one without.
            step.cached_prompt_share
                .sample(&mut stream(seed, Stream::Call, key))
        };
        let call = Call {
            class: s.class,
            step: step_index,
            model: step.model as u32,
            prompt,
            cached: cached_tokens(prompt, cached),
            want,
            max_tokens: step.max_tokens,
            streaming: step.streaming,
            speed_z,
            key,
        };
        Some(self.new_call(session, call))
    }

    /// Files `call`, the session's latest (numbered `seq - 1`), in a call slot.
    pub(super) fn new_call(&mut self, session: u32, call: Call) -> u32 {
        self.next_call_id += 1;
        let c = CallSlot {
            alive: true,
            session,
            seq: self.sessions[session as usize].seq - 1,
            id: self.next_call_id,
            call,
        };
        match self.free_calls.pop() {
            Some(i) => {
                self.calls[i as usize] = c;
                i
            }
            None => {
                self.calls.push(c);
                (self.calls.len() - 1) as u32
            }
        }
    }

    /// Session slots allocated (the most sessions ever in flight at once).
    pub fn slots(&self) -> usize {
        self.sessions.len()
    }

    /// The call in call slot `slot`.
    #[inline]
    pub fn call(&self, slot: u32) -> &Call {
        &self.calls[slot as usize].call
    }

    /// The id of the call in `slot` (events of an ended call are stale).
    #[inline]
    pub fn call_id(&self, slot: u32) -> u64 {
        self.calls[slot as usize].id
    }

    /// Whether call slot `slot` still holds live call `id`.
    #[inline]
    pub fn is_current_call(&self, slot: u32, id: u64) -> bool {
        let c = &self.calls[slot as usize];
        c.alive && c.id == id
    }

    /// The session key and the call's number in its session (from 0), for records.
    #[inline]
    pub fn call_origin(&self, slot: u32) -> (u64, u32) {
        let c = &self.calls[slot as usize];
        (self.sessions[c.session as usize].key, c.seq)
    }

    /// The key of the session in session slot `slot`.
    #[inline]
    pub fn key(&self, slot: u32) -> u64 {
        self.sessions[slot as usize].key
    }

    /// Whether session slot `slot` still holds live session `key`.
    #[inline]
    pub fn is_current(&self, slot: u32, key: u64) -> bool {
        let s = &self.sessions[slot as usize];
        s.alive && s.key == key
    }

    /// The session of call slot `slot`.
    #[inline]
    pub fn session_of(&self, slot: u32) -> u32 {
        self.calls[slot as usize].session
    }

    /// The call in `slot` succeeded at `now`, timed as `times`.
    #[inline]
    pub fn call_succeeded(
        &mut self,
        slot: u32,
        now: SimTime,
        times: CallTimes,
        q: &mut EventQueue<Ev>,
    ) -> AfterCall {
        let session = self.end_call(slot);
        let s = &mut self.sessions[session as usize];
        s.pending -= 1;
        if s.pending > 0 {
            return AfterCall::Waiting {
                first_failure: false,
            };
        }
        // The stage's last call to end is its critical path.
        let t = &mut s.times;
        t.waiting += (times.admitted - times.started).as_micros();
        t.queued += (times.served - times.admitted).as_micros();
        t.prefill += (times.first_token - times.served).as_micros();
        t.generating += (now - times.first_token).as_micros();
        if s.failed {
            return AfterCall::Failed {
                first_failure: false,
            };
        }
        self.next_stage(session, now, q)
    }

    /// The stage of `session` is done at `now`: the next one, after its think time.
    fn next_stage(&mut self, session: u32, now: SimTime, q: &mut EventQueue<Ev>) -> AfterCall {
        if self.replay.is_some() {
            return self.next_replayed(session, now, q);
        }
        let s = &mut self.sessions[session as usize];
        let flow = &self.sc.workload.classes[s.class as usize].flow;
        s.stage += 1;
        if s.stage as usize >= flow.len() {
            return AfterCall::Completed {
                duration: now - s.started,
                times: s.times,
            };
        }
        s.launched = 0;
        s.pending = flow[s.stage as usize].calls.len() as u32;
        if s.think == SimTime::ZERO {
            return AfterCall::NextStage;
        }
        s.times.think += s.think.as_micros();
        q.push(
            now + s.think,
            Ev::StepStart {
                slot: session,
                key: s.key,
            },
        );
        AfterCall::Thinking
    }

    /// The client gave up on the call in `slot`: its session fails (with this call or an
    /// earlier one) and ends once no call of the stage is left running.
    #[inline]
    pub fn call_failed(&mut self, slot: u32) -> AfterCall {
        let session = self.end_call(slot);
        let s = &mut self.sessions[session as usize];
        let first_failure = !s.failed;
        s.failed = true;
        s.pending -= 1;
        if s.pending > 0 {
            AfterCall::Waiting { first_failure }
        } else {
            AfterCall::Failed { first_failure }
        }
    }

    fn end_call(&mut self, slot: u32) -> u32 {
        let c = &mut self.calls[slot as usize];
        c.alive = false;
        self.free_calls.push(slot);
        c.session
    }

    /// The session in `slot` ended (completed or failed) at `now`: its slot is freed, and a
    /// closed-loop user starts another session after a think time, within `duration`.
    pub fn end_session(&mut self, slot: u32, now: SimTime, q: &mut EventQueue<Ev>) {
        if let Some(r) = self.replay.as_mut() {
            r.end(slot);
        }
        let s = &mut self.sessions[slot as usize];
        s.alive = false;
        let user = s.user;
        self.free.push(slot);
        if user != OPEN_LOOP
            && let Arrivals::Closed { think_time_s, .. } = &self.sc.workload.arrivals
        {
            // The think time is drawn even when it is not used, so the user's stream stays
            // aligned.
            let think =
                SimTime::from_secs_f64(think_time_s.sample(&mut self.user_rngs[user as usize]));
            let start = now + think;
            if start < self.sc.duration {
                q.push(start, Ev::UserStart { user });
            }
        }
    }
}

/// The key of call `seq` of session `session`: names the call's own random stream.
#[inline]
pub fn call_key(session: u64, seq: u32) -> u64 {
    crate::rng::splitmix64(session ^ ((seq as u64) << 40).rotate_left(7))
}

/// The cached prefix of a `prompt`-token prompt of which a `share` (0 to 1) is cached, in whole
/// tokens (rounded half away from zero, without a libm call: the hot path draws one per call).
#[inline]
pub(super) fn cached_tokens(prompt: u32, share: f64) -> u32 {
    if share == 0.0 {
        // The usual case (no prompt caching), and what the formula gives for it.
        return 0;
    }
    (round(prompt as f64 * share) as u32).min(prompt)
}

#[cfg(test)]
impl CallTimes {
    /// A call whose every moment is `t` (tests).
    pub(crate) fn all_at(t: SimTime) -> CallTimes {
        CallTimes {
            started: t,
            admitted: t,
            served: t,
            first_token: t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    fn scenario(extra: &str) -> Scenario {
        let text = format!(
            r#"
[scenario]
name = "t"
duration = "10m"
seed = 9
[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "gpt-4o-mini"
tpm = 100_000
[[deployment]]
name = "d"
kind = "standard"
model = "gpt-4o-mini"
pool = "p"
tpm = 100_000
[workload]
{extra}
[[workload.class]]
name = "c"
steps = 2
prompt_tokens = {{ dist = "uniform", min = 100, max = 2000 }}
completion_tokens = {{ dist = "exponential", mean = 300 }}
think_time_s = 5
"#
        );
        parse(&text, "t.toml", &[], None)
            .unwrap_or_else(|e| panic!("{e}"))
            .variants
            .remove(0)
    }

    #[test]
    fn session_k_asks_for_the_same_calls_whatever_else_differs() {
        // Two "variants" with different arrival processes: session 0 draws the same calls.
        let a = scenario("arrival = \"poisson\"\nrate_per_min = 10");
        let b = scenario("arrival = \"constant\"\nrate_per_min = 90");
        let (mut wa, mut wb) = (Workload::new(&a), Workload::new(&b));
        let sa = wa.arrive(SimTime::ZERO);
        let sb = wb.arrive(SimTime::from_secs(7));
        let ca = wa.next_stage_call(sa).unwrap();
        let cb = wb.next_stage_call(sb).unwrap();
        assert_eq!(wa.call(ca), wb.call(cb));
        let c = *wa.call(ca);
        assert!((100..=2000).contains(&c.prompt) && c.want >= 1);
        assert_eq!(wa.next_stage_call(sa), None, "one call per stage");
    }

    #[test]
    fn steps_run_in_sequence_with_think_time_then_the_session_completes() {
        let sc = scenario("arrival = \"poisson\"\nrate_per_min = 10");
        let mut w = Workload::new(&sc);
        let mut q = EventQueue::default();
        let s = w.arrive(SimTime::ZERO);
        let c = w.next_stage_call(s).unwrap();
        let t1 = SimTime::from_secs(3);
        let after = w.call_succeeded(c, t1, CallTimes::all_at(SimTime::from_secs(1)), &mut q);
        assert_eq!(after, AfterCall::Thinking);
        let (t, ev) = q.pop().unwrap();
        assert_eq!(t, t1 + SimTime::from_secs(5));
        assert!(matches!(ev, Ev::StepStart { slot: 0, key: 0 }));
        let c = w.next_stage_call(s).unwrap();
        assert_eq!(w.call_origin(c), (0, 1), "the second call of session 0");
        let t2 = SimTime::from_secs(20);
        let after = w.call_succeeded(c, t2, CallTimes::all_at(SimTime::from_secs(8)), &mut q);
        let AfterCall::Completed { duration, times } = after else {
            panic!("{after:?}")
        };
        assert_eq!(duration, t2);
        // 5 s of think, and each call's 1 s + 2 s of waiting and generating.
        assert_eq!(times.think, 5_000_000);
        assert_eq!(times.waiting, 0);
        assert_eq!(times.generating, 2_000_000 + 12_000_000);
        let key = w.key(s);
        w.end_session(s, t2, &mut q);
        assert!(!w.is_current(s, key));
        // The slot is reused by the next session, with a new key.
        let next = w.arrive(t2);
        assert_eq!(next, s);
        assert!(w.is_current(next, 1) && !w.is_current(next, key));
    }

    #[test]
    fn a_fan_out_stage_waits_for_all_and_a_failure_fails_the_session_once() {
        let mut sc = scenario("arrival = \"poisson\"\nrate_per_min = 10");
        sc.workload.classes[0].flow = vec![
            crate::scenario::Stage {
                calls: vec![0, 0, 0],
                think_after: 0,
            },
            crate::scenario::Stage {
                calls: vec![0],
                think_after: 0,
            },
        ];
        let mut w = Workload::new(&sc);
        let mut q = EventQueue::default();
        let s = w.arrive(SimTime::ZERO);
        let calls: Vec<u32> = std::iter::from_fn(|| w.next_stage_call(s)).collect();
        assert_eq!(calls.len(), 3);
        let t = CallTimes::all_at(SimTime::ZERO);
        assert_eq!(
            w.call_succeeded(calls[0], SimTime::from_secs(1), t, &mut q),
            AfterCall::Waiting {
                first_failure: false
            }
        );
        assert_eq!(
            w.call_failed(calls[1]),
            AfterCall::Waiting {
                first_failure: true
            }
        );
        // The last call of the stage ends: the session ends, failed (counted once).
        assert_eq!(
            w.call_succeeded(calls[2], SimTime::from_secs(2), t, &mut q),
            AfterCall::Failed {
                first_failure: false
            }
        );
        assert!(q.is_empty());
    }

    #[test]
    fn closed_loop_users_start_again_within_the_duration_only() {
        let sc = scenario("arrival = \"closed\"\nusers = 1\nuser_think_time_s = 60");
        let mut w = Workload::new(&sc);
        let mut q = EventQueue::default();
        w.start(&mut q);
        assert!(matches!(
            q.pop(),
            Some((SimTime::ZERO, Ev::UserStart { user: 0 }))
        ));
        let s = w.user_start(0, SimTime::ZERO);
        w.end_session(s, SimTime::from_secs(100), &mut q);
        assert_eq!(q.pop().map(|x| x.0), Some(SimTime::from_secs(160)));
        let s = w.user_start(0, SimTime::from_secs(160));
        // Ending after duration - think: the user does not come back.
        w.end_session(s, SimTime::from_secs(560), &mut q);
        assert!(q.is_empty());
    }
}
