//! Running the variants of a scenario in parallel, with results in file order.
//!
//! Each variant is one single-threaded run; rayon spreads runs over cores. Results are
//! collected by index, so the output is identical whatever the thread count.
//!
//! Before a long run, [`estimate`] says how much work a scenario is (sessions, calls, events
//! over the simulated span) so that the command line can refuse an absurd one before it starts;
//! during a run, [`RunOptions`] carries the budgets that stop one that goes astray, the Ctrl-C
//! flag, and a [`Progress`] window for a progress bar.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;

use crate::engine::{Control, RequestSink, Stopped, simulate_with};
use crate::error::{Error, Result};
use crate::metrics::{RunMetrics, Summary, VariantSummary};
use crate::scenario::{Arrivals, Scenario, ScenarioSet};
use crate::time::SimTime;

/// One variant's outcome.
#[derive(Clone, Debug)]
pub struct VariantRun {
    /// The checked scenario that ran.
    pub scenario: Scenario,
    /// Its summary.
    pub summary: VariantSummary,
    /// Raw metrics (time series, event count).
    pub metrics: RunMetrics,
}

/// Picks the variants named in `only` (all when empty), keeping file order.
pub fn select<'a>(set: &'a ScenarioSet, only: &[String]) -> Result<Vec<&'a Scenario>> {
    for name in only {
        if !set.variants.iter().any(|v| &v.variant == name) {
            return Err(Error::Usage(format!(
                "--variant '{name}' is not in the scenario; variants: {}",
                set.variants
                    .iter()
                    .map(|v| v.variant.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(set
        .variants
        .iter()
        .filter(|v| only.is_empty() || only.contains(&v.variant))
        .collect())
}

/// Events the engine handles per call, on average, for [`estimate`]: a step start and the end
/// of the attempt, plus the first token where something observes it, retries, failovers and
/// deadlines. Measured on the shipped scenarios' variants: 1.4 (parallel calls share a step
/// start) to 6.8 (many 429s, each retried), 2.0 on the simplest; 3 is a middle figure.
pub const EVENTS_PER_CALL: f64 = 3.0;

/// The work a scenario asks for, estimated from its workload before it runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Sessions expected to start.
    pub sessions: f64,
    /// Calls (steps of sessions) expected.
    pub calls: f64,
    /// Events the engine is expected to handle: calls x [`EVENTS_PER_CALL`].
    pub events: f64,
    /// Simulated span: duration + drain.
    pub span: SimTime,
}

/// Estimates the work of one run of `sc` from its workload alone (no simulation).
///
/// - Open loop: the arrival rate integrated over `duration` (the schedule's pieces), capped by
///   `workload.sessions`.
/// - Closed loop: `users x duration / session time`, where a session's time is, per class
///   (weighted), the sum over its flow's stages of the slowest call (time to first token +
///   prefill + decode with the step model's speeds) and the think time after the stage, plus
///   the user's think time between sessions; capped by `workload.sessions`. Throttling makes
///   real sessions slower, so this errs high.
/// - A trace (`[workload] trace`) brings its own sessions, which are not counted here: the
///   run-time budget (`--max-events`) still applies.
///
/// Calls are sessions x the classes' mean calls per session; events are calls x
/// [`EVENTS_PER_CALL`].
pub fn estimate(sc: &Scenario) -> Estimate {
    let w = &sc.workload;
    let total_weight: f64 = w.classes.iter().map(|k| k.weight).sum();
    let share = |weight: f64| {
        if total_weight > 0.0 {
            weight / total_weight
        } else {
            1.0 / w.classes.len().max(1) as f64
        }
    };
    let mean_steps: f64 = w
        .classes
        .iter()
        .map(|k| share(k.weight) * f64::from(k.calls))
        .sum();
    let arriving = match &w.arrivals {
        Arrivals::Poisson { schedule } | Arrivals::Constant { schedule } => {
            scheduled_sessions(schedule, sc.duration)
        }
        Arrivals::Closed {
            users,
            think_time_s,
        } => {
            let per_session: f64 = think_time_s.mean().max(0.0)
                + w.classes
                    .iter()
                    .map(|k| share(k.weight) * session_seconds(sc, k))
                    .sum::<f64>();
            // A session takes at least a millisecond: zero think time and instant models
            // still go through the event queue.
            let rounds = sc.duration.as_secs_f64() / per_session.max(1e-3);
            *users as f64 * (1.0 + rounds)
        }
    };
    let sessions = match w.max_sessions {
        Some(cap) => arriving.min(cap as f64),
        None => arriving,
    };
    let calls = sessions * mean_steps;
    Estimate {
        sessions,
        calls,
        events: calls * EVENTS_PER_CALL,
        span: sc.duration.saturating_add(sc.drain),
    }
}

/// Sessions expected in `[0, duration)` from a piecewise-constant rate per minute.
fn scheduled_sessions(schedule: &[(SimTime, f64)], duration: SimTime) -> f64 {
    schedule
        .iter()
        .enumerate()
        .map(|(i, &(from, rate))| {
            let to = schedule.get(i + 1).map_or(duration, |p| p.0.min(duration));
            rate * to.saturating_sub(from).as_secs_f64() / 60.0
        })
        .sum()
}

/// Seconds one session of class `k` takes when nothing throttles it: per stage of its flow,
/// the slowest of the stage's calls (they run at once), then the think time after the stage.
fn session_seconds(sc: &Scenario, k: &crate::scenario::SessionClass) -> f64 {
    let think = |i: u16| {
        k.steps
            .get(usize::from(i))
            .map_or(0.0, |st| st.think_time_s.mean().max(0.0))
    };
    let t: f64 = k
        .flow
        .iter()
        .map(|stage| {
            let slowest = stage
                .calls
                .iter()
                .filter_map(|&i| k.steps.get(usize::from(i)))
                .map(|st| call_seconds(sc, st))
                .fold(0.0, f64::max);
            slowest + think(stage.think_after)
        })
        .sum();
    if t.is_finite() { t } else { 0.0 }
}

/// Seconds one call of step `st` takes when nothing throttles it: base latency + prompt /
/// prefill speed + answer / decode speed (0 when the model is unknown or a figure is not
/// finite).
fn call_seconds(sc: &Scenario, st: &crate::scenario::Step) -> f64 {
    let Some(model) = sc.models.get(st.model) else {
        return 0.0;
    };
    let s = &model.serving;
    let mut answer = st.completion_tokens.mean().max(0.0);
    if let Some(cap) = st.max_tokens {
        answer = answer.min(f64::from(cap));
    }
    let per = |tokens: f64, speed: f64| if speed > 0.0 { tokens / speed } else { 0.0 };
    let t = s.ttft_base.as_secs_f64()
        + per(st.prompt_tokens.mean().max(0.0), s.prefill_tokens_per_s)
        + per(answer, s.decode_tokens_per_s);
    if t.is_finite() { t } else { 0.0 }
}

/// What runs publish for a progress display: per slot (a variant of `run`, a worker thread of
/// a sweep) the simulated time reached by the run it holds and that run's horizon, and how
/// many runs have finished. The engine updates a slot every [`crate::engine::CHECK_EVERY`]
/// events; reading it never blocks a run.
#[derive(Debug)]
pub struct Progress {
    slots: Vec<Slot>,
    done: AtomicU64,
    total: u64,
}

#[derive(Debug, Default)]
struct Slot {
    /// Simulated time reached, microseconds.
    reached: AtomicU64,
    /// Duration + drain of the run in the slot, microseconds (0: no run).
    horizon: AtomicU64,
}

impl Progress {
    /// A window for `total` runs spread over `slots` slots.
    pub fn new(slots: usize, total: u64) -> Progress {
        Progress {
            slots: (0..slots.max(1)).map(|_| Slot::default()).collect(),
            done: AtomicU64::new(0),
            total,
        }
    }

    /// Runs finished so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Runs in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The share of the work done, from 0 to 1: finished runs plus the simulated share of
    /// those in flight.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            return 1.0;
        }
        let partial: f64 = self
            .slots
            .iter()
            .map(|s| {
                let h = s.horizon.load(Ordering::Relaxed);
                if h == 0 {
                    0.0
                } else {
                    (s.reached.load(Ordering::Relaxed) as f64 / h as f64).min(1.0)
                }
            })
            .sum();
        ((self.done() as f64 + partial) / self.total as f64).clamp(0.0, 1.0)
    }

    fn slot(&self, i: usize) -> &Slot {
        &self.slots[i % self.slots.len()]
    }

    fn begin(&self, i: usize, horizon: SimTime) -> &AtomicU64 {
        let s = self.slot(i);
        s.reached.store(0, Ordering::Relaxed);
        s.horizon
            .store(horizon.as_micros().max(1), Ordering::Relaxed);
        &s.reached
    }

    fn end(&self, i: usize) {
        let s = self.slot(i);
        s.horizon.store(0, Ordering::Relaxed);
        s.reached.store(0, Ordering::Relaxed);
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Budgets and observers of a set of runs.
#[derive(Debug, Default)]
pub struct RunOptions<'a> {
    /// Event budget per run (`None`: unlimited).
    pub max_events: Option<u64>,
    /// Per-session state budget per run, bytes (`None`: unlimited).
    pub max_state_bytes: Option<u64>,
    /// Set by a Ctrl-C handler: every run stops at its next check, and no run starts.
    pub interrupt: Option<&'a AtomicBool>,
    /// Where runs publish how far they got, for a progress display.
    pub progress: Option<&'a Progress>,
}

impl RunOptions<'_> {
    /// Whether the interrupt flag is set.
    pub fn interrupted(&self) -> bool {
        self.interrupt.is_some_and(|f| f.load(Ordering::Relaxed))
    }
}

/// Runs one scenario under `opts`, publishing progress in slot `slot`. A run stopped early
/// (budget, stalled clock, Ctrl-C) is an error naming the variant and what to do; so is an
/// interrupt seen before the run starts.
pub fn run_one<'a>(
    sc: &'a Scenario,
    sink: Option<&'a mut dyn RequestSink>,
    opts: &'a RunOptions<'a>,
    slot: usize,
) -> Result<RunMetrics> {
    if opts.interrupted() {
        return Err(Error::Interrupted);
    }
    let horizon = sc.duration.saturating_add(sc.drain);
    let control = Control {
        max_events: opts.max_events.unwrap_or(u64::MAX),
        max_state_bytes: opts.max_state_bytes.unwrap_or(u64::MAX),
        interrupt: opts.interrupt,
        progress: opts.progress.map(|p| p.begin(slot, horizon)),
    };
    let metrics = simulate_with(sc, sink, control);
    if let Some(p) = opts.progress {
        p.end(slot);
    }
    // A trace that went bad after validation read it (changed on disk): an error, and
    // nothing is written.
    if let Some(msg) = metrics.trace.as_ref().and_then(|t| t.error.as_ref()) {
        return Err(Error::Usage(format!("variant '{}': {msg}", sc.variant)));
    }
    match metrics.stopped {
        None => Ok(metrics),
        Some(Stopped::Interrupted { .. }) => Err(Error::Interrupted),
        Some(stop) => Err(Error::Usage(format!(
            "variant '{}': {}",
            sc.variant,
            stop.describe(horizon)
        ))),
    }
}

/// Runs the given variants in parallel. `make_sink` may give each variant a per-request sink.
pub fn run_variants<F>(variants: &[&Scenario], make_sink: F) -> Result<Vec<VariantRun>>
where
    F: Fn(&Scenario) -> Result<Option<Box<dyn FinishingSink>>> + Sync,
{
    run_variants_with(variants, &RunOptions::default(), make_sink)
}

/// [`run_variants`] under budgets and observers ([`run_one`]); variant `i` publishes its
/// progress in slot `i`. A stopped run's sink is not finished (dropping it removes its
/// temporary file).
pub fn run_variants_with<F>(
    variants: &[&Scenario],
    opts: &RunOptions,
    make_sink: F,
) -> Result<Vec<VariantRun>>
where
    F: Fn(&Scenario) -> Result<Option<Box<dyn FinishingSink>>> + Sync,
{
    variants
        .par_iter()
        .enumerate()
        .map(|(i, sc)| {
            let mut sink = make_sink(sc)?;
            let metrics = run_one(sc, sink.as_mut().map(|s| s.as_sink()), opts, i)?;
            if let Some(s) = sink {
                s.finish()?;
            }
            let summary = metrics.summarize(sc);
            Ok(VariantRun {
                scenario: (*sc).clone(),
                summary,
                metrics,
            })
        })
        .collect()
}

/// A per-request sink that must be finished (flushed, renamed into place) after the run.
pub trait FinishingSink: Send {
    /// The sink to give the engine.
    fn as_sink(&mut self) -> &mut dyn RequestSink;
    /// Completes the output.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// The summary document for a set of runs.
pub fn summary(set: &ScenarioSet, runs: &[VariantRun]) -> Summary {
    Summary::new(set, runs.iter().map(|r| r.summary.clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(workload: &str, extra: &str) -> Scenario {
        let text = format!(
            r#"
[scenario]
name = "e"
duration = "10m"
drain = "5m"
{extra}
[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "gpt-4o-mini"
tpm = 1_000_000

[[deployment]]
name = "d"
kind = "standard"
model = "gpt-4o-mini"
pool = "p"
tpm = 1_000_000

{workload}

[[workload.class]]
name = "a"
steps = 3
prompt_tokens = 1000
completion_tokens = 333
think_time_s = 5
"#
        );
        crate::scenario::parse(&text, "e.toml", &[], None)
            .unwrap_or_else(|e| panic!("{e}"))
            .variants
            .remove(0)
    }

    #[test]
    fn open_loop_estimate_integrates_the_rate_and_obeys_the_session_cap() {
        let sc = parse("[workload]\narrival = \"poisson\"\nrate_per_min = 12", "");
        let e = estimate(&sc);
        assert_eq!(e.sessions, 120.0);
        assert_eq!(e.calls, 360.0);
        assert_eq!(e.events, 360.0 * EVENTS_PER_CALL);
        assert_eq!(e.span, SimTime::from_secs(900));
        let sched = "[workload]\narrival = \"constant\"\nschedule = [{ at = \"0s\", rate_per_min = 6 }, { at = \"5m\", rate_per_min = 60 }]";
        assert_eq!(estimate(&parse(sched, "")).sessions, 30.0 + 300.0);
        let capped = format!("{sched}\nsessions = 40");
        assert_eq!(estimate(&parse(&capped, "")).sessions, 40.0);
    }

    #[test]
    fn closed_loop_estimate_is_users_times_rounds_of_a_session() {
        let sc = parse(
            "[workload]\narrival = \"closed\"\nusers = 10\nuser_think_time_s = 15",
            "[models.\"gpt-4o-mini\"]\ndecode_tokens_per_s = 111.0\nprefill_tokens_per_s = 1e12\n",
        );
        let s = &sc.models[0].serving;
        // A call: think 5 s + base latency + 333 tokens at 111 tokens/s (3 s).
        let call = 5.0 + s.ttft_base.as_secs_f64() + 3.0;
        let session = 15.0 + 3.0 * call;
        let e = estimate(&sc);
        let want = 10.0 * (1.0 + 600.0 / session);
        assert!((e.sessions - want).abs() < 1e-6, "{} vs {want}", e.sessions);
        assert!((e.calls - 3.0 * want).abs() < 1e-6);
    }

    #[test]
    fn progress_counts_finished_runs_and_the_share_of_those_in_flight() {
        let p = Progress::new(2, 4);
        assert_eq!(p.fraction(), 0.0);
        let reached = p.begin(0, SimTime::from_secs(100));
        reached.store(SimTime::from_secs(50).as_micros(), Ordering::Relaxed);
        assert_eq!(p.fraction(), 0.125);
        p.end(0);
        p.end(1);
        assert_eq!((p.done(), p.fraction()), (2, 0.5));
        assert_eq!(Progress::new(1, 0).fraction(), 1.0);
    }
}
