//! Reports for people who will not read a CSV: one self-contained HTML file with charts and
//! plain sentences, and the same words as Markdown.
//!
//! [`render_dir`] reads a saved `spillway run --out DIR` directory (`summary.json` and the
//! `timeseries-<variant>.csv` files) or a `spillway sweep` directory (`sweep.json`) and returns
//! the HTML document: inline CSS, inline SVG charts drawn with plotters, no script, nothing
//! fetched from anywhere (a Content-Security-Policy in the page forbids it), and no timestamp
//! or random id, so the same directory always gives the same bytes.
//!
//! ```
//! # let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/results/timeouts-to-triumph"));
//! let html = spillway::report::render_dir(dir)?;
//! assert!(html.starts_with("<!DOCTYPE html>"));
//! assert!(html.contains("token-cap-streaming-spillover"));
//! # Ok::<(), spillway::error::Error>(())
//! ```
//!
//! Colours come from Paul Tol's colour-blind-safe "muted" palette; variant `i` has the same
//! colour (and line pattern) in every chart of a report.

pub mod charts;
pub mod check;
mod html;
pub mod kit;
pub mod load;
mod page;
pub mod series;
pub mod sweep;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sweep::SweepDoc;
pub use load::Run;
pub use page::render_run;

/// The report's file name when no `--out` is given: `DIR/report.html`.
pub const REPORT_FILE: &str = "report.html";

/// Renders the report of a run or sweep output directory (a sweep when `sweep.json` is
/// present, a run when `summary.json` is). Every file is checked before use
/// ([`load`]): a wrong schema, type, range or index is an error naming the file and field.
pub fn render_dir(dir: &Path) -> Result<String> {
    render_dir_with(dir, &Options::default())
}

/// What `spillway report` may change in how a saved run is shown.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The variant the others are compared with, instead of the one `summary.json` names
    /// (`--baseline`; run reports only).
    pub baseline: Option<String>,
}

/// [`render_dir`] with [`Options`]; a baseline that is not a variant of the run, or one
/// given for a sweep, is an error.
pub fn render_dir_with(dir: &Path, opts: &Options) -> Result<String> {
    render_dir_inner(dir, opts).map_err(load::one_line_error)
}

fn render_dir_inner(dir: &Path, opts: &Options) -> Result<String> {
    let sweep = dir.join("sweep.json");
    let summary = dir.join("summary.json");
    if sweep.is_file() {
        if let Some(b) = &opts.baseline {
            return Err(Error::Usage(format!(
                "--baseline '{b}': {} holds a sweep (sweep.json), whose report compares grid points, not variants against a baseline; give --baseline to a run's report",
                dir.display()
            )));
        }
        sweep::render(&sweep::model::Sweep::new(load::read_sweep(&sweep)?))
    } else if summary.is_file() {
        let mut run = Run::load(dir)?;
        if let Some(b) = &opts.baseline {
            if !run.summary.variants.iter().any(|v| &v.name == b) {
                return Err(Error::Usage(format!(
                    "--baseline '{b}' is not a variant of {}; variants: {}",
                    summary.display(),
                    run.summary
                        .variants
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            run.summary.baseline = Some(b.clone());
        }
        render_run(&run)
    } else if !dir.is_dir() {
        Err(Error::Usage(format!(
            "{}: not a directory (expected the output directory of `spillway run --out` or `spillway sweep --out`)",
            dir.display()
        )))
    } else {
        Err(Error::Usage(format!(
            "{}: neither summary.json (a run) nor sweep.json (a sweep) is here; write one with `spillway run SCENARIO --out {}`",
            dir.display(),
            dir.display()
        )))
    }
}

/// Renders the report of `dir` and writes it atomically to `out` (default
/// `DIR/report.html`); returns the path written. Nothing is written when a file of `dir` is
/// refused.
pub fn write_report(dir: &Path, out: Option<&Path>) -> Result<PathBuf> {
    write_report_with(dir, out, &Options::default())
}

/// [`write_report`] with [`Options`].
pub fn write_report_with(dir: &Path, out: Option<&Path>, opts: &Options) -> Result<PathBuf> {
    let html = render_dir_with(dir, opts)?;
    let path = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join(REPORT_FILE));
    crate::output::write_atomic(&path, html.as_bytes())?;
    Ok(path)
}

/// The Markdown summary of a sweep document (checked first, like `sweep.json`).
pub fn sweep_markdown(doc: SweepDoc) -> Result<String> {
    let saved = load::sweep_from_doc(doc)
        .map_err(|(f, m)| Error::Usage(load::one_line(&format!("sweep: key '{f}': {m}"))))?;
    Ok(sweep::markdown(&sweep::model::Sweep::new(saved)))
}
