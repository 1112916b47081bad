//! The workload: who calls, when, and what each call asks for.
//!
//! Sessions arrive open-loop (a piecewise-constant Poisson or evenly spaced rate,
//! [`arrivals`]) or are started by closed-loop users after a think time. A session runs its
//! class's steps one after another; each step is one [`Call`] whose tokens, speed draw and
//! following think time come from the session's own random stream, keyed by the session
//! (common random numbers: every variant sees exactly the same calls). This room owns the
//! session slots; the other rooms keep their per-request state in slabs indexed by the same
//! slot. It never decides anything about how a call is served.

pub mod arrivals;

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::events::{Ev, EventQueue};
use crate::rng::{SimRng, Stream, stream};
use crate::scenario::{Arrivals, Scenario};
use crate::time::SimTime;

/// What one step asks of the service.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Call {
    /// Session class index.
    pub class: u16,
    /// Model index.
    pub model: u32,
    /// Prompt tokens.
    pub prompt: u32,
    /// Completion tokens the answer would have without a cap.
    pub want: u32,
    /// `max_tokens` sent with the call (a gateway may lower it on the way).
    pub max_tokens: Option<u32>,
    /// Whether the answer streams.
    pub streaming: bool,
    /// Standard normal draw behind the decode-speed variation of this call.
    pub speed_z: f64,
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

/// Cache-line aligned: a session's state never straddles more lines than it must.
#[derive(Clone, Debug)]
#[repr(align(64))]
struct Session {
    alive: bool,
    key: u64,
    user: u32,
    class: u16,
    rng: SimRng,
    started: SimTime,
    step: u32,
    think: SimTime,
    call: Call,
}

/// Where a session goes after a step succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterStep {
    /// Every step is done: the session completed, taking this long.
    Completed(SimTime),
    /// The next step starts now (no think time).
    NextNow,
    /// The next step was scheduled after the think time.
    Thinking,
}

/// The sessions of one run.
pub struct Workload<'a> {
    sc: &'a Scenario,
    arrival_rng: SimRng,
    user_rngs: Vec<SimRng>,
    user_sessions: Vec<u32>,
    sessions: Vec<Session>,
    free: Vec<u32>,
    begun: u64,
}

impl<'a> Workload<'a> {
    /// Bytes of per-session state this room keeps for each session slot.
    pub const SLOT_BYTES: usize = std::mem::size_of::<Session>();

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
            begun: 0,
        }
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
        let u: f64 = rng.random();
        let cdf = &self.sc.workload.class_cdf;
        let class = cdf.partition_point(|&c| c <= u).min(cdf.len() - 1) as u16;
        let k = &self.sc.workload.classes[class as usize];
        let s = Session {
            alive: true,
            key,
            user,
            class,
            rng,
            started: now,
            step: 0,
            think: SimTime::ZERO,
            call: Call {
                class,
                model: k.model as u32,
                prompt: 0,
                want: 0,
                max_tokens: k.max_tokens,
                streaming: k.streaming,
                speed_z: 0.0,
            },
        };
        match self.free.pop() {
            Some(i) => {
                self.sessions[i as usize] = s;
                i
            }
            None => {
                self.sessions.push(s);
                (self.sessions.len() - 1) as u32
            }
        }
    }

    /// Draws the next call of the session in `slot` (always the same draws in the same
    /// order: common random numbers across variants).
    #[inline]
    pub fn next_call(&mut self, slot: u32) -> Call {
        let s = &mut self.sessions[slot as usize];
        let class = &self.sc.workload.classes[s.class as usize];
        s.call.prompt = class.prompt_tokens.sample(&mut s.rng).round().max(1.0) as u32;
        s.call.want = class.completion_tokens.sample(&mut s.rng).round().max(1.0) as u32;
        s.call.speed_z = StandardNormal.sample(&mut s.rng);
        s.think = SimTime::from_secs_f64(class.think_time_s.sample(&mut s.rng));
        s.call
    }

    /// Session slots allocated (the most sessions ever in flight at once).
    pub fn slots(&self) -> usize {
        self.sessions.len()
    }

    /// The current call of the session in `slot`.
    #[inline]
    pub fn call(&self, slot: u32) -> &Call {
        &self.sessions[slot as usize].call
    }

    /// The key of the session in `slot`.
    #[inline]
    pub fn key(&self, slot: u32) -> u64 {
        self.sessions[slot as usize].key
    }

    /// The step the session in `slot` is at (from 0).
    #[inline]
    pub fn step(&self, slot: u32) -> u32 {
        self.sessions[slot as usize].step
    }

    /// Whether `slot` still holds live session `key` (events of ended sessions are stale).
    #[inline]
    pub fn is_current(&self, slot: u32, key: u64) -> bool {
        let s = &self.sessions[slot as usize];
        s.alive && s.key == key
    }

    /// The current step of the session in `slot` succeeded at `now`.
    #[inline]
    pub fn step_done(&mut self, slot: u32, now: SimTime, q: &mut EventQueue<Ev>) -> AfterStep {
        let s = &mut self.sessions[slot as usize];
        let steps = self.sc.workload.classes[s.class as usize].steps;
        s.step += 1;
        if s.step >= steps {
            AfterStep::Completed(now - s.started)
        } else if s.think == SimTime::ZERO {
            AfterStep::NextNow
        } else {
            q.push(
                now + s.think,
                Ev::StepStart {
                    slot,
                    session: s.key,
                },
            );
            AfterStep::Thinking
        }
    }

    /// The session in `slot` ended (completed or failed) at `now`: its slot is freed, and a
    /// closed-loop user starts another session after a think time, within `duration`.
    pub fn end_session(&mut self, slot: u32, now: SimTime, q: &mut EventQueue<Ev>) {
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
        for _ in 0..2 {
            assert_eq!(wa.next_call(sa), wb.next_call(sb));
        }
        let c = *wa.call(sa);
        assert!((100..=2000).contains(&c.prompt) && c.want >= 1);
    }

    #[test]
    fn steps_run_in_sequence_with_think_time_then_the_session_completes() {
        let sc = scenario("arrival = \"poisson\"\nrate_per_min = 10");
        let mut w = Workload::new(&sc);
        let mut q = EventQueue::default();
        let slot = w.arrive(SimTime::ZERO);
        w.next_call(slot);
        let t1 = SimTime::from_secs(3);
        assert_eq!(w.step_done(slot, t1, &mut q), AfterStep::Thinking);
        let (t, ev) = q.pop().unwrap();
        assert_eq!(t, t1 + SimTime::from_secs(5));
        assert!(matches!(
            ev,
            Ev::StepStart {
                slot: 0,
                session: 0
            }
        ));
        assert_eq!(w.step(slot), 1);
        let t2 = SimTime::from_secs(20);
        assert_eq!(w.step_done(slot, t2, &mut q), AfterStep::Completed(t2));
        let key = w.key(slot);
        w.end_session(slot, t2, &mut q);
        assert!(!w.is_current(slot, key));
        // The slot is reused by the next session, with a new key.
        let next = w.arrive(t2);
        assert_eq!(next, slot);
        assert!(w.is_current(next, 1) && !w.is_current(next, key));
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
