//! `spillway check SCENARIO.toml`: run the scenario and check its `[[slo]]` entries.

use std::path::PathBuf;

use clap::Args;

use super::budget::BudgetArgs;
use super::gate::{self, CheckFormat, Gate};
use super::{ScenarioArgs, flags, interrupt, load, thread_pool};
use crate::error::{Error, Result};
use crate::runner;
use crate::slo;

/// `spillway check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Check only this variant (repeatable; default all).
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<String>,
    /// What to print on stdout: a table for a terminal, Markdown for a pull-request comment,
    /// the spillway.check/v1 JSON document, or JUnit XML (one test case per SLO x variant).
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,
    /// Also write the report to FILE, in the format its extension names (.xml JUnit, .json,
    /// .md Markdown, .txt table). Repeatable: `--out slo.xml --out slo.md`.
    #[arg(long, value_name = "FILE", value_parser = gate::parse_report_path)]
    pub out: Vec<(PathBuf, CheckFormat)>,
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(long, value_name = "N", value_parser = flags::parse_jobs)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// Nothing on stderr but errors (no "wrote FILE" lines).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `spillway check`; returns the exit code (0 all hold, 1 any fails).
pub fn check(a: CheckArgs) -> Result<u8> {
    let set = load(&a.scenario)?;
    let slos = slo::from_set(&set)?;
    if slos.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no [[slo]] entries to check",
            set.file()
        )));
    }
    let chosen = runner::select(&set, &a.variants)?;
    a.budget.check(
        chosen
            .iter()
            .map(|s| (format!("{}: variant '{}'", set.file(), s.variant), *s)),
    )?;
    let opts = runner::RunOptions {
        max_events: a.budget.max_events(),
        max_state_bytes: Some(a.budget.max_state_bytes()),
        interrupt: Some(interrupt::install()),
        progress: None,
    };
    let runs =
        thread_pool(a.jobs)?.install(|| runner::run_variants_with(&chosen, &opts, |_| Ok(None)))?;
    let values: Vec<(String, serde_json::Value)> = runs
        .iter()
        .map(|r| (r.summary.name.clone(), slo::summary_value(&r.summary)))
        .collect();
    let gate = Gate {
        scenario: set.name.clone(),
        seed: set.seed,
        verdicts: slo::evaluate(&slos, values.iter().map(|(n, v)| (None, n.as_str(), v))),
        points: Default::default(),
    };
    gate::emit(&gate, a.format, &a.out, a.quiet)
}
