//! Trace replay in the workload room: the requests of `[workload] trace` released as
//! sessions, streamed from the file (see `docs/traces.md`, "Replay modes").
//!
//! **Open mode**: every record is a session of one call, begun at its recorded time. The
//! trace has one pending `Ev::Arrival` at a time: the next record is read when the previous
//! arrival is scheduled, so one record is held ahead, whatever the trace's length.
//!
//! **Session mode**: a session's first record is an arrival at its recorded time; each later
//! record of the session is released when the previous call has completed, plus the record's
//! think time (the class's `think_time_s` when the trace has no durations). Later records are
//! read as the file goes by and queued on their session. When a call completes and its
//! session has nothing queued, the file is read on until the session's next record turns up
//! or the reader is past the session's last record plus `session_idle` (the reader would then
//! number any further row with that id as a new session): the session is then complete. What
//! is held ahead is bounded by the records within `session_idle` of a session in flight, not
//! by the trace's length.
//!
//! Records are read in file order whatever the variant does (a session's calls are drawn from
//! the session's own stream), so every variant replays the same requests; which records are
//! held at a given moment may differ between variants, never what they ask for.

use std::collections::{BTreeMap, VecDeque};

use rand_distr::{Distribution, StandardNormal};

use super::{AfterCall, Call, cached_tokens, call_key};
use crate::events::{Ev, EventQueue};
use crate::rng::{Stream, stream};
use crate::scenario::{Scenario, TraceSpec};
use crate::time::SimTime;
use crate::trace::{self, TraceMode, TraceReader, TraceRecord};

/// What a replay sent, and the trace's own failures among it (the summary's `trace`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceCounts {
    /// Requests sent from trace records.
    pub requests: u64,
    /// Sessions begun from trace records.
    pub sessions: u64,
    /// Requests sent whose record the trace marks as failed (BurstGPT's 0 response tokens,
    /// Spillway's `failed`): the recorded system's own failures, replayed like the others.
    pub failed_in_trace: u64,
    /// Cached prompt tokens of the requests sent (from the trace, else the class).
    pub cached_prompt_tokens: u64,
    /// Session mode: records read and queued on a session that then failed, so not sent
    /// (records of a failed session read after it ended are dropped without being counted).
    pub steps_not_sent: u64,
    /// A problem met while reading the trace during the run (one line, file:line); the run's
    /// figures are then partial and it is an error.
    pub error: Option<String>,
}

/// One record as the workload needs it: names resolved to indices, nothing borrowed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Asked {
    /// When it is due (replay clock).
    pub time: SimTime,
    /// The trace's session number.
    pub session: u64,
    /// Class index (the record's class when a class has that name, else the first).
    pub class: u16,
    /// Model index, when the record names one.
    pub model: Option<u32>,
    /// Prompt tokens.
    pub prompt: u32,
    /// Completion tokens the record got.
    pub want: u32,
    /// Cached prompt tokens the record carries (0: none, or `prompt_cache = false`).
    pub cached: u32,
    /// `max_tokens`, when the record says.
    pub max_tokens: Option<u32>,
    /// Streaming, when the record says.
    pub streaming: Option<bool>,
    /// The trace marks it as failed.
    pub failed: bool,
    /// Recorded think time before it (session mode), when the trace has durations.
    pub think: Option<SimTime>,
}

/// A trace session in flight (session mode).
#[derive(Debug)]
struct Live {
    /// Its records read but not yet released.
    steps: VecDeque<Asked>,
    /// Time of its last record read.
    last: SimTime,
}

/// The replay of one run.
pub(super) struct Replay {
    reader: Option<TraceReader>,
    rec: TraceRecord,
    mode: TraceMode,
    use_cache: bool,
    models: BTreeMap<String, u32>,
    classes: BTreeMap<String, u16>,
    /// Records that begin a session, read and not yet begun (time order).
    starts: VecDeque<Asked>,
    /// Session mode: sessions whose first record was read, by trace session number.
    live: BTreeMap<u64, Live>,
    /// Session mode: sessions ended at the read-ahead bound while their trace might go on,
    /// with the time of their last record: a later record of one begins a new session.
    cut: BTreeMap<u64, SimTime>,
    /// Sweep `cut` when it grows past this.
    cut_sweep_at: usize,
    /// The current record of each session slot.
    current: Vec<Asked>,
    /// Time of the last record read.
    horizon: SimTime,
    /// `session_idle` on the replay clock, rounded up, plus rounding slack.
    idle: SimTime,
    /// No more sessions begin (past the duration, or the trace ended).
    closed: bool,
    /// What was sent.
    pub counts: TraceCounts,
}

impl Replay {
    /// The replay of `spec` for `sc` (an error opening it is kept in the counts: the run then
    /// replays nothing and is reported as an error).
    pub fn new(sc: &Scenario, spec: &TraceSpec) -> Replay {
        let mut counts = TraceCounts::default();
        let reader = trace::open(spec)
            .map_err(|e| counts.error = Some(e.to_string()))
            .ok();
        let speedup = reader.as_ref().map_or(1.0, TraceReader::speedup);
        let idle_us = (spec.session_idle.as_micros() as f64 / speedup).ceil();
        Replay {
            reader,
            rec: TraceRecord::default(),
            mode: spec.mode,
            use_cache: spec.prompt_cache,
            models: sc
                .models
                .iter()
                .enumerate()
                .map(|(i, m)| (m.name.clone(), i as u32))
                .collect(),
            classes: sc
                .workload
                .classes
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.clone(), i as u16))
                .collect(),
            starts: VecDeque::new(),
            live: BTreeMap::new(),
            cut: BTreeMap::new(),
            cut_sweep_at: 4096,
            current: Vec::new(),
            horizon: SimTime::ZERO,
            idle: SimTime(idle_us.min(u64::MAX as f64 / 2.0) as u64 + 2),
            closed: false,
            counts,
        }
    }

    /// Reads one record and files it: a session's start, or a later step of a session in
    /// flight. `false` at the end of the trace (or after an error).
    fn read_one(&mut self) -> bool {
        let Some(reader) = self.reader.as_mut() else {
            return false;
        };
        match reader.read_into(&mut self.rec) {
            Ok(true) => {}
            Ok(false) => {
                self.reader = None;
                return false;
            }
            Err(e) => {
                self.counts.error = Some(e.to_string());
                self.reader = None;
                return false;
            }
        }
        let a = self.asked();
        self.horizon = a.time;
        let first = self.mode == TraceMode::Open
            || self.rec.step == 0
            || self.cut.remove(&a.session).is_some();
        if self.cut.len() > self.cut_sweep_at {
            let (horizon, idle) = (self.horizon, self.idle);
            self.cut.retain(|_, last| horizon <= *last + idle);
            self.cut_sweep_at = (2 * self.cut.len()).max(4096);
        }
        if first {
            if !self.closed {
                if self.mode == TraceMode::Session {
                    let live = Live {
                        steps: VecDeque::new(),
                        last: a.time,
                    };
                    self.live.insert(a.session, live);
                }
                self.starts.push_back(a);
            }
        } else if let Some(l) = self.live.get_mut(&a.session) {
            l.steps.push_back(a);
            l.last = a.time;
        }
        true
    }

    /// The record just read, resolved.
    fn asked(&self) -> Asked {
        let r = &self.rec;
        Asked {
            time: r.time,
            session: r.session,
            class: r
                .class
                .as_ref()
                .and_then(|c| self.classes.get(c).copied())
                .unwrap_or(0),
            model: r.model.as_ref().and_then(|m| self.models.get(m).copied()),
            prompt: r.prompt_tokens,
            want: r.completion_tokens,
            cached: if self.use_cache {
                r.cached_prompt_tokens
            } else {
                0
            },
            max_tokens: r.max_tokens,
            streaming: r.streaming,
            failed: r.failed,
            think: r.think,
        }
    }

    /// When to look again for the next session at `now`: the next start's time, reading the
    /// file up to `session_idle` past `now` (session mode; open mode reads one record); when
    /// that window holds no start, the time the window should move on; `None` at the end.
    pub fn next_start(&mut self, now: SimTime) -> Option<SimTime> {
        let limit = now.saturating_add(self.idle);
        while self.starts.is_empty()
            && !self.closed
            && (self.mode == TraceMode::Open || self.horizon <= limit)
            && self.read_one()
        {}
        match self.starts.front() {
            Some(a) => Some(a.time),
            None if self.reader.is_some() && !self.closed => {
                Some((self.horizon - self.idle).max(now + SimTime(1)))
            }
            None => None,
        }
    }

    /// Whether a session start is due at `now` (else the arrival only moves the window on).
    pub fn start_due(&self, now: SimTime) -> bool {
        self.starts.front().is_some_and(|a| a.time <= now)
    }

    /// No more sessions begin (the next one would be past the duration): the starts read
    /// ahead are dropped.
    pub fn close(&mut self) {
        self.closed = true;
        for a in self.starts.drain(..) {
            self.live.remove(&a.session);
        }
    }

    /// The next start begins in session slot `slot`.
    pub fn begin(&mut self, slot: u32) -> Asked {
        let a = self.starts.pop_front().unwrap_or_default();
        let i = slot as usize;
        if self.current.len() <= i {
            self.current.resize(i + 1, Asked::default());
        }
        self.current[i] = a;
        self.counts.sessions += 1;
        a
    }

    /// The start that begins next (its class decides the session's).
    pub fn peek_start(&self) -> Option<&Asked> {
        self.starts.front()
    }

    /// The current record of session slot `slot`.
    pub fn current(&self, slot: u32) -> Asked {
        self.current[slot as usize]
    }

    /// The current record of session slot `slot` is sent with `cached` prompt tokens cached.
    pub fn send(&mut self, slot: u32, cached: u32) {
        let a = self.current[slot as usize];
        self.counts.requests += 1;
        self.counts.failed_in_trace += u64::from(a.failed);
        self.counts.cached_prompt_tokens += u64::from(cached);
    }

    /// Session mode: the next record of the session in `slot`, whose call just completed at
    /// `now` (reading on until it turns up or cannot any more); `None`: the session is
    /// complete. Open mode: always `None`.
    ///
    /// The file is read at most `session_idle` past `now`: a session that has run ahead of
    /// its recorded pace by more than that ends here, and a later record of it begins a new
    /// session at its recorded time (memory stays bounded by `session_idle` of records).
    pub fn next_step(&mut self, slot: u32, now: SimTime) -> Option<Asked> {
        if self.mode == TraceMode::Open {
            return None;
        }
        let id = self.current[slot as usize].session;
        loop {
            let l = self.live.get_mut(&id)?;
            if let Some(a) = l.steps.pop_front() {
                self.current[slot as usize] = a;
                return Some(a);
            }
            let last = l.last;
            if self.horizon > last + self.idle {
                self.live.remove(&id);
                return None;
            }
            if self.horizon > now + self.idle || !self.read_one() {
                self.live.remove(&id);
                if self.reader.is_some() {
                    self.cut.insert(id, last);
                }
                return None;
            }
        }
    }

    /// The session in `slot` ended (completed or failed): what it had queued is not sent.
    pub fn end(&mut self, slot: u32) {
        let Some(a) = self.current.get(slot as usize) else {
            return;
        };
        // Its later records, if any are read after this, find no session and are dropped.
        if let Some(l) = self.live.remove(&a.session) {
            self.counts.steps_not_sent += l.steps.len() as u64;
        }
    }

    /// Records held ahead now (starts and queued steps), for the memory tests.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.starts.len() + self.live.values().map(|l| l.steps.len()).sum::<usize>()
    }
}

/// The workload's side of a replay: calls from records, and what follows a call.
impl super::Workload<'_> {
    /// The call of a replayed session's current record, once per step: the record's tokens,
    /// model, `max_tokens`, streaming and cached prefix; its class gives what it lacks. The
    /// speed draw (and a drawn cached share) come from the session's own stream.
    pub(super) fn replayed_call(&mut self, session: u32) -> Option<Call> {
        let seed = self.sc.seed;
        let s = &mut self.sessions[session as usize];
        if s.launched > 0 {
            return None;
        }
        let r = self.replay.as_mut()?;
        let a = r.current(session);
        s.launched = 1;
        let seq = s.seq;
        s.seq += 1;
        let step = &self.sc.workload.classes[a.class as usize].steps[0];
        let prompt = a.prompt.max(1);
        let key = call_key(s.key, seq);
        let speed_z = StandardNormal.sample(&mut s.rng);
        let cached = if a.cached > 0 {
            a.cached.min(prompt)
        } else {
            let share = &step.cached_prompt_share;
            let f = if share.is_constant() {
                share.sample(&mut s.rng)
            } else {
                share.sample(&mut stream(seed, Stream::Call, key))
            };
            cached_tokens(prompt, f)
        };
        r.send(session, cached);
        Some(Call {
            class: a.class,
            step: 0,
            model: a.model.unwrap_or(step.model as u32),
            prompt,
            cached,
            want: a.want.max(1),
            max_tokens: a.max_tokens.or(step.max_tokens),
            streaming: a.streaming.unwrap_or(step.streaming),
            speed_z,
            key,
        })
    }

    /// A replayed session's call completed at `now`: its next record after the think time
    /// (session mode), or the session is complete.
    pub(super) fn next_replayed(
        &mut self,
        session: u32,
        now: SimTime,
        q: &mut EventQueue<Ev>,
    ) -> AfterCall {
        let next = self.replay.as_mut().and_then(|r| r.next_step(session, now));
        let s = &mut self.sessions[session as usize];
        s.stage += 1;
        let Some(a) = next else {
            return AfterCall::Completed {
                duration: now - s.started,
                times: s.times,
            };
        };
        s.launched = 0;
        s.pending = 1;
        let think = match a.think {
            Some(t) => t,
            None => {
                let step = &self.sc.workload.classes[s.class as usize].steps[0];
                SimTime::from_secs_f64(step.think_time_s.sample(&mut s.rng))
            }
        };
        if think == SimTime::ZERO {
            return AfterCall::NextStage;
        }
        s.times.think += think.as_micros();
        q.push(
            now + think,
            Ev::StepStart {
                slot: session,
                key: s.key,
            },
        );
        AfterCall::Thinking
    }
}

#[cfg(test)]
mod tests {
    use crate::events::{Ev, EventQueue};
    use crate::scenario::{Scenario, parse};
    use crate::time::SimTime;
    use crate::workload::{AfterCall, CallTimes, Workload};

    /// A scenario replaying `rows` (Spillway CSV after its header) with `trace_extra` keys.
    fn scenario(name: &str, rows: &str, trace_extra: &str) -> Scenario {
        let dir = std::env::temp_dir().join(format!("spillway-replay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{name}.csv"));
        let head = "timestamp,session,step,model,prompt,completion,max_tokens,streaming,class,cached_prompt,duration_ms,failed\n";
        std::fs::write(&file, format!("{head}{rows}")).unwrap();
        let text = format!(
            r#"
[scenario]
name = "t"
duration = "10m"
seed = 3
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
trace = {{ file = {:?} {trace_extra} }}
[[workload.class]]
name = "chat"
prompt_tokens = 1
completion_tokens = 1
max_tokens = 700
think_time_s = 9
"#,
            file.display().to_string()
        );
        parse(&text, "t.toml", &[], None)
            .unwrap_or_else(|e| panic!("{e}"))
            .variants
            .remove(0)
    }

    #[test]
    fn open_mode_holds_one_record_ahead_and_sends_each_at_its_time() {
        let rows = "0,,,,100,10,,,,,,\n1.5,,,,200,0,50,true,,150,,true\n1.5,,,,300,30,,,,,,\n4,,,,400,40,,,,,,\n";
        let sc = scenario("open", rows, "");
        let mut w = Workload::new(&sc);
        let mut q = EventQueue::default();
        w.start(&mut q);
        let mut sent = Vec::new();
        while let Some((t, ev)) = q.pop() {
            assert!(matches!(ev, Ev::Arrival));
            // One pending arrival, one record held (the one it is for).
            assert!(q.is_empty());
            assert_eq!(w.replay.as_ref().unwrap().held(), 1);
            let s = w.arrive(t);
            let c = w.next_stage_call(s).unwrap();
            assert_eq!(w.next_stage_call(s), None, "one call per record");
            sent.push((t, *w.call(c)));
            let after = w.call_succeeded(c, t, CallTimes::all_at(t), &mut q);
            assert!(matches!(after, AfterCall::Completed { .. }));
            w.end_session(s, t, &mut q);
            w.schedule_arrival(t, &mut q);
        }
        let at: Vec<_> = sent
            .iter()
            .map(|(t, c)| (t.as_micros(), c.prompt))
            .collect();
        assert_eq!(
            at,
            [
                (0, 100),
                (1_500_000, 200),
                (1_500_000, 300),
                (4_000_000, 400)
            ]
        );
        let c = sent[1].1;
        // The record's max_tokens, streaming and cached prefix; a failed row's 0 tokens sent as 1.
        assert_eq!(
            (c.max_tokens, c.streaming, c.cached, c.want),
            (Some(50), true, 150, 1)
        );
        // The class fills what a record lacks.
        let c = sent[0].1;
        assert_eq!((c.max_tokens, c.streaming, c.cached), (Some(700), false, 0));
        let n = w.trace_counts().unwrap();
        assert_eq!((n.requests, n.sessions, n.failed_in_trace), (4, 4, 1));
        assert_eq!(n.cached_prompt_tokens, 150);
    }

    #[test]
    fn prompt_cache_false_drops_the_traces_cached_tokens() {
        let sc = scenario(
            "nocache",
            "0,,,,200,10,,,,150,,\n",
            ", prompt_cache = false",
        );
        let mut w = Workload::new(&sc);
        let mut q = EventQueue::default();
        w.start(&mut q);
        let (t, _) = q.pop().unwrap();
        let s = w.arrive(t);
        let c = w.next_stage_call(s).unwrap();
        assert_eq!(w.call(c).cached, 0);
    }

    #[test]
    fn session_mode_releases_the_next_step_after_completion_plus_think() {
        // alice: 0 s (took 1 s), then 5 s: think 4 s. bob: 1 s, then 2 s without a duration.
        let rows = "0,alice,0,,100,10,,,,,1000,\n1,bob,0,,110,10,,,,,,\n2,bob,1,,120,10,,,,,,\n5,alice,1,,130,10,,,,,,\n";
        let sc = scenario("session", rows, ", mode = \"session\"");
        let mut w = Workload::new(&sc);
        let mut q = EventQueue::default();
        w.start(&mut q);
        let (t0, _) = q.pop().unwrap();
        let alice = w.arrive(t0);
        let a0 = w.next_stage_call(alice).unwrap();
        w.schedule_arrival(t0, &mut q);
        let (t1, _) = q.pop().unwrap();
        assert_eq!(t1, SimTime::from_secs(1));
        let bob = w.arrive(t1);
        let b0 = w.next_stage_call(bob).unwrap();
        w.schedule_arrival(t1, &mut q);
        assert!(q.is_empty(), "no third session");
        // alice's first call completes at 3 s, late: her next step at 3 + 4 s (not at 5 s).
        let done = SimTime::from_secs(3);
        assert_eq!(
            w.call_succeeded(a0, done, CallTimes::all_at(t0), &mut q),
            AfterCall::Thinking
        );
        let (t, ev) = q.pop().unwrap();
        assert_eq!(t, SimTime::from_secs(7));
        assert!(matches!(ev, Ev::StepStart { slot, .. } if slot == alice));
        let a1 = w.next_stage_call(alice).unwrap();
        assert_eq!(w.call(a1).prompt, 130);
        // bob's trace has no duration: the class's think time (9 s) follows his first call.
        assert_eq!(
            w.call_succeeded(b0, done, CallTimes::all_at(t1), &mut q),
            AfterCall::Thinking
        );
        assert_eq!(q.pop().unwrap().0, SimTime::from_secs(12));
        // alice's last call: the trace has nothing more for her, the session completes.
        let end = SimTime::from_secs(8);
        let after = w.call_succeeded(a1, end, CallTimes::all_at(SimTime::from_secs(7)), &mut q);
        let AfterCall::Completed { duration, times } = after else {
            panic!("{after:?}")
        };
        assert_eq!((duration, times.think), (end, 4_000_000));
        let n = w.trace_counts().unwrap();
        assert_eq!((n.requests, n.sessions), (3, 2));
    }

    #[test]
    fn session_mode_reads_no_further_than_session_idle_ahead_of_the_clock() {
        // alice sends a step every second for 99 s; bob starts at 100 s.
        let mut rows: String = (0..100)
            .map(|i| format!("{i},alice,{i},,100,10,,,,,,\n"))
            .collect();
        rows += "100,bob,0,,100,10,,,,,,\n";
        let sc = scenario(
            "bounded",
            &rows,
            ", mode = \"session\", session_idle = \"10s\"",
        );
        let spec = sc.workload.trace.as_ref().unwrap();
        let mut r = super::Replay::new(&sc, spec);
        assert_eq!(r.next_start(SimTime::ZERO), Some(SimTime::ZERO));
        r.begin(0);
        // Looking for the next session at 0 s reads alice's steps up to 10 s ahead, not to
        // bob at 100 s: an arrival then only moves the window on.
        let wake = r.next_start(SimTime::ZERO).unwrap();
        assert_eq!(wake, SimTime::from_secs(1) - SimTime(2));
        assert!(!r.start_due(wake));
        assert_eq!(r.held(), 11, "alice's steps 1 to 11");
        // Her steps are released one by one from the queue.
        let a = r.next_step(0, SimTime::from_millis(500)).unwrap();
        assert_eq!(a.time, SimTime::from_secs(1));
    }

    #[test]
    fn a_failed_session_does_not_send_its_later_steps() {
        let rows = "0,alice,0,,100,10,,,,,,\n1,alice,1,,100,10,,,,,,\n";
        let sc = scenario("failed", rows, ", mode = \"session\"");
        let mut w = Workload::new(&sc);
        let mut q = EventQueue::default();
        w.start(&mut q);
        let (t0, _) = q.pop().unwrap();
        let s = w.arrive(t0);
        let c = w.next_stage_call(s).unwrap();
        w.schedule_arrival(t0, &mut q);
        assert_eq!(
            w.call_failed(c),
            AfterCall::Failed {
                first_failure: true
            }
        );
        w.end_session(s, t0, &mut q);
        assert!(q.is_empty());
        let n = w.trace_counts().unwrap();
        assert_eq!((n.requests, n.steps_not_sent), (1, 1));
    }
}
