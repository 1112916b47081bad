//! `--max-events`, `--max-state-mb` and `--force`: the budget of each run, and the estimate
//! that refuses an absurd run before it starts.
//!
//! Before anything runs, every run's work is estimated ([`runner::estimate`]: sessions x
//! steps over the simulated span, three events per call as a middle figure). A run estimated to need more
//! events than the budget is refused with one line saying the estimate and how to proceed.
//! `--max-events N` sets the budget (default [`DEFAULT_MAX_EVENTS`]); `--force` starts anyway
//! and, unless `--max-events` is also given, lifts the event budget. A run that goes over its
//! budget all the same (the estimate errs) stops with exit 2 and writes nothing. The memory
//! guard on the state of the sessions in flight (`--max-state-mb`, default 1024) always holds.

use clap::Args;

use crate::engine::{DEFAULT_MAX_EVENTS, DEFAULT_MAX_STATE_BYTES};
use crate::error::{Error, Result};
use crate::runner::{self, Estimate};
use crate::scenario::Scenario;

/// Budget flags of the commands that run scenarios.
#[derive(Clone, Debug, Default, Args)]
pub struct BudgetArgs {
    /// The most events one run may handle (default 1000000000: one to a few minutes of one
    /// core). A run estimated to need more is refused before it starts; one that needs more
    /// anyway stops with exit 2 and writes nothing.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_events: Option<u64>,
    /// The most memory, in MB, the state of the sessions in flight may take in one run
    /// (default 1024); a run that needs more stops with exit 2 and writes nothing.
    #[arg(long, value_name = "MB", value_parser = clap::value_parser!(u64).range(1..=1 << 24))]
    pub max_state_mb: Option<u64>,
    /// Start even when the estimated work is over the event budget; without --max-events,
    /// the run then has no event budget (Ctrl-C stops it).
    #[arg(long)]
    pub force: bool,
}

impl BudgetArgs {
    /// The event budget of each run (`None`: none).
    pub fn max_events(&self) -> Option<u64> {
        match (self.max_events, self.force) {
            (Some(n), _) => Some(n),
            (None, true) => None,
            (None, false) => Some(DEFAULT_MAX_EVENTS),
        }
    }

    /// The memory budget of each run's session state, bytes.
    pub fn max_state_bytes(&self) -> u64 {
        self.max_state_mb
            .map_or(DEFAULT_MAX_STATE_BYTES, |mb| mb.saturating_mul(1 << 20))
    }

    /// Refuses the runs whose estimated events are over the budget (unless `--force`): one
    /// line naming the run, the estimate and how to proceed.
    pub fn check<'a>(&self, runs: impl IntoIterator<Item = (String, &'a Scenario)>) -> Result<()> {
        if self.force {
            return Ok(());
        }
        let budget = self.max_events().unwrap_or(u64::MAX);
        let worst = runs
            .into_iter()
            .map(|(label, sc)| (label, runner::estimate(sc)))
            .filter(|(_, e)| e.events.is_finite())
            .max_by(|a, b| a.1.events.total_cmp(&b.1.events));
        match worst {
            Some((label, e)) if e.events > budget as f64 => Err(refusal(&label, &e, budget)),
            _ => Ok(()),
        }
    }
}

/// The one-line refusal of an estimate over the budget.
fn refusal(label: &str, e: &Estimate, budget: u64) -> Error {
    // A budget that would let it run: the estimate rounded up to two significant digits.
    let digits = e.events.log10().floor() as i32 - 1;
    let step = 10f64.powi(digits.max(0));
    let enough = ((e.events / step).ceil() * step).min(u64::MAX as f64) as u64;
    Error::Usage(format!(
        "{label}: too much work for one run: about {} events ({} sessions, {} calls over {} of \
         simulated time), over the budget of {} events per run (--max-events; a billion \
         events take one to a few minutes of one core); shorten the run or lower the load (duration, users, \
         rate, or cap it with workload.sessions), raise the budget with --max-events {enough}, \
         or start anyway with --force",
        count(e.events),
        count(e.sessions),
        count(e.calls),
        span(e.span.as_secs_f64()),
        count(budget as f64),
    ))
}

/// A large count in words: `16 billion`, `530 million`, `12,000`.
pub fn count(v: f64) -> String {
    let v = v.max(0.0);
    for (scale, word) in [(1e12, "trillion"), (1e9, "billion"), (1e6, "million")] {
        if v >= scale {
            let x = v / scale;
            return if x >= 100.0 || x.fract() < 0.05 {
                format!("{x:.0} {word}")
            } else {
                format!("{x:.1} {word}")
            };
        }
    }
    crate::scenario::limits::group(v.round() as i64).replace('_', ",")
}

/// A simulated span in words: `365 days`, `3 hours`, `10 minutes`, `45 seconds`.
fn span(secs: f64) -> String {
    let (v, unit) = if secs >= 2.0 * 86_400.0 {
        (secs / 86_400.0, "days")
    } else if secs >= 2.0 * 3_600.0 {
        (secs / 3_600.0, "hours")
    } else if secs >= 120.0 {
        (secs / 60.0, "minutes")
    } else {
        (secs, "seconds")
    };
    if v.fract() < 0.05 {
        format!("{v:.0} {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_spans_in_words() {
        assert_eq!(count(16.2e9), "16.2 billion");
        assert_eq!(count(1e9), "1 billion");
        assert_eq!(count(530e6), "530 million");
        assert_eq!(count(12_000.0), "12,000");
        assert_eq!(span(365.0 * 86_400.0), "365 days");
        assert_eq!(span(600.0), "10 minutes");
    }

    #[test]
    fn force_lifts_the_event_budget_unless_one_is_given() {
        let mut b = BudgetArgs::default();
        assert_eq!(b.max_events(), Some(DEFAULT_MAX_EVENTS));
        b.force = true;
        assert_eq!(b.max_events(), None);
        b.max_events = Some(5);
        assert_eq!(b.max_events(), Some(5));
        assert_eq!(b.max_state_bytes(), DEFAULT_MAX_STATE_BYTES);
        b.max_state_mb = Some(2);
        assert_eq!(b.max_state_bytes(), 2 << 20);
    }
}
