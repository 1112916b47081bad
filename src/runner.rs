//! Running the variants of a scenario in parallel, with results in file order.
//!
//! Each variant is one single-threaded run; rayon spreads runs over cores. Results are
//! collected by index, so the output is identical whatever the thread count.

use std::sync::atomic::{AtomicBool, AtomicU64};

use rayon::prelude::*;

use crate::engine::{Control, RequestSink, simulate_with};
use crate::error::{Error, Result};
use crate::metrics::{RunMetrics, Summary, VariantSummary};
use crate::scenario::{Scenario, ScenarioSet};

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

/// Budgets and observers of a set of runs.
#[derive(Debug, Default)]
pub struct RunOptions<'a> {
    /// Event budget per run (`None`: unlimited).
    pub max_events: Option<u64>,
    /// Per-session state budget per run, bytes (`None`: unlimited).
    pub max_state_bytes: Option<u64>,
    /// Set by a Ctrl-C handler: every run stops at its next check.
    pub interrupt: Option<&'a AtomicBool>,
    /// Simulated time reached by each run (microseconds), by position in the variant list,
    /// for a progress display.
    pub progress: Option<&'a [AtomicU64]>,
}

/// Runs the given variants in parallel. `make_sink` may give each variant a per-request sink.
pub fn run_variants<F>(variants: &[&Scenario], make_sink: F) -> Result<Vec<VariantRun>>
where
    F: Fn(&Scenario) -> Result<Option<Box<dyn FinishingSink>>> + Sync,
{
    run_variants_with(variants, &RunOptions::default(), make_sink)
}

/// [`run_variants`] under budgets and observers. A run stopped early (budget, stalled clock,
/// Ctrl-C) is an error naming the variant and what to do; its sink is not finished (its
/// temporary file is removed when the sink is dropped).
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
            let control = Control {
                max_events: opts.max_events.unwrap_or(u64::MAX),
                max_state_bytes: opts.max_state_bytes.unwrap_or(u64::MAX),
                interrupt: opts.interrupt,
                progress: opts.progress.and_then(|p| p.get(i)),
            };
            let mut sink = make_sink(sc)?;
            let metrics = match sink.as_mut() {
                Some(s) => simulate_with(sc, Some(s.as_sink()), control),
                None => simulate_with(sc, None, control),
            };
            if let Some(stop) = metrics.stopped {
                let why = stop.describe(sc.duration + sc.drain);
                return Err(match stop {
                    crate::engine::Stopped::Interrupted { .. } => Error::Interrupted,
                    _ => Error::Usage(format!("variant '{}': {why}", sc.variant)),
                });
            }
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
