//! `spillway run`'s flags for the comparison: which table columns (`--columns`, `--wide`)
//! and which variant the others are compared with (`--baseline`); and the run's summary
//! finished with the baseline and the SLO verdicts.

use std::io::Write;

use clap::Args;

use crate::error::{Error, Result};
use crate::metrics::Summary;
use crate::output::table;
use crate::scenario::Scenario;
use crate::slo::Slo;
use crate::words::columns::{Column, default_columns, wide_columns};

/// Table and comparison flags of `spillway run`.
#[derive(Debug, Default, Args)]
pub struct TableArgs {
    /// The table's columns, comma-separated, e.g. `--columns variant,p95,failed,cost-1k`
    /// (default: variant, load when variants differ in load, sessions, p95, failed,
    /// truncated, cost-1k, slo when the scenario has [[slo]]).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "COLUMN,...",
        conflicts_with = "wide"
    )]
    pub columns: Vec<Column>,
    /// Show every column of the table (the default ones fit 100 characters).
    #[arg(long)]
    pub wide: bool,
    /// Compare the other variants with this one (in the summary, summary.md and the report);
    /// replaces `[scenario] baseline`; default: the first variant. At a load the baseline did
    /// not run at, variants are compared with the first variant of that load.
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
}

/// `--baseline NAME`, checked against the variants that run.
pub fn baseline(a: &TableArgs, chosen: &[&Scenario]) -> Result<Option<String>> {
    match &a.baseline {
        Some(b) if !chosen.iter().any(|v| &v.variant == b) => Err(Error::Usage(format!(
            "--baseline '{b}' is not a variant that runs; variants: {}",
            chosen
                .iter()
                .map(|v| v.variant.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        other => Ok(other.clone()),
    }
}

/// The run's summary with `--baseline` (when given) and the SLO verdicts.
pub fn finish(summary: Summary, slos: &[Slo], baseline: Option<String>) -> Summary {
    let mut s = summary.with_slos(slos);
    if baseline.is_some() {
        s.baseline = baseline;
    }
    s
}

/// The columns the flags ask for.
pub fn columns(a: &TableArgs, summary: &Summary) -> Vec<Column> {
    if a.wide {
        wide_columns(summary)
    } else if a.columns.is_empty() {
        default_columns(summary)
    } else {
        a.columns.clone()
    }
}

/// Prints the table on stdout: with colours on a terminal, without when stdout is piped or
/// `NO_COLOR` is set (`CLICOLOR_FORCE=1` forces them).
pub fn print(a: &TableArgs, summary: &Summary) {
    let text = table::render(summary, &columns(a, summary), true);
    let mut out = anstream::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
