//! `spillway report DIR [--out FILE.html]`: the HTML report of a saved run or sweep.

use std::path::PathBuf;

use clap::Args;

use crate::error::Result;

/// `spillway report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The output directory of `spillway run --out DIR` (summary.json, timeseries-*.csv) or
    /// of `spillway sweep --out DIR` (sweep.json).
    pub dir: PathBuf,
    /// Where to write the report (default: DIR/report.html). One self-contained HTML file:
    /// inline charts and styles, no script, nothing fetched.
    #[arg(long, value_name = "FILE.html")]
    pub out: Option<PathBuf>,
    /// Compare the other variants with this one instead of the baseline summary.json names
    /// (a run's report only). At a load it did not run at, variants are compared with the
    /// first variant of that load.
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
}

/// Renders the report and writes it atomically; prints the path written. Exit code 0, or an
/// error (exit 2) naming the directory or file that could not be read.
pub fn report_command(a: ReportArgs) -> Result<u8> {
    let opts = crate::report::Options {
        baseline: a.baseline,
    };
    let path = crate::report::write_report_with(&a.dir, a.out.as_deref(), &opts)?;
    println!("{}", path.display());
    Ok(0)
}
