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
pub mod series;
pub mod sweep;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sweep::SweepDoc;
use crate::words::{esc, run as run_words};
pub use load::Run;

/// The report's file name when no `--out` is given: `DIR/report.html`.
pub const REPORT_FILE: &str = "report.html";

/// Renders the report of a run or sweep output directory (a sweep when `sweep.json` is
/// present, a run when `summary.json` is). Every file is checked before use
/// ([`load`]): a wrong schema, type, range or index is an error naming the file and field.
pub fn render_dir(dir: &Path) -> Result<String> {
    render_dir_inner(dir).map_err(load::one_line_error)
}

fn render_dir_inner(dir: &Path) -> Result<String> {
    let sweep = dir.join("sweep.json");
    let summary = dir.join("summary.json");
    if sweep.is_file() {
        sweep::render(&sweep::model::Sweep::new(load::read_sweep(&sweep)?))
    } else if summary.is_file() {
        render_run(&Run::load(dir)?)
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
    let html = render_dir(dir)?;
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

/// Renders a loaded run as the HTML document.
pub fn render_run(run: &Run) -> Result<String> {
    let mut body = String::new();
    body += &format!(
        "<header>\n<h1>Spillway report: {}</h1>\n<p class=\"lede\">{}</p>\n",
        esc(&run.summary.scenario),
        run_words::intro(&run.summary).html()
    );
    let has_series = run.series.iter().any(Option::is_some);
    let mut nav = vec![
        ("findings", "Findings"),
        ("cost-vs-p95", "Cost vs speed"),
        ("summary", "Summary"),
        ("session-durations", "Sessions"),
        ("latency-cdf", "Latency"),
        ("failures", "Failures"),
    ];
    if has_series {
        nav.push(("over-time", "Over time"));
    }
    nav.push(("details", "Details"));
    body += &html::nav(&nav);
    body += "</header>\n";

    body += "<section id=\"variants\">\n<h2>Variants</h2>\n<ul class=\"key\">\n";
    for (i, v) in run.summary.variants.iter().enumerate() {
        body += &format!(
            "<li>{}<code>{}</code>{}</li>\n",
            html::swatch(kit::vstyle(i)),
            esc(&v.name),
            v.description
                .as_deref()
                .map(|d| format!(": {}", esc(d)))
                .unwrap_or_default()
        );
    }
    body += "</ul>\n</section>\n";

    body += "<section id=\"findings\">\n<h2>Findings</h2>\n";
    body += &html::bullets(&run_words::headline(&run.summary), "findings");
    let cmp = run_words::comparisons(&run.summary);
    if !cmp.is_empty() {
        body += &format!(
            "<h3>Each variant against <code>{}</code></h3>\n",
            esc(&run.summary.variants[0].name)
        );
        body += &html::bullets(&cmp, "findings");
    }
    body += "</section>\n";

    let swatch_of = |name: &str| {
        run.summary
            .variants
            .iter()
            .position(|v| v.name == name)
            .map(|i| html::swatch(kit::vstyle(i)))
    };
    let section = |id: &str, title: &str, inner: String| {
        format!("<section id=\"{id}-section\">\n<h2>{title}</h2>\n{inner}</section>\n")
    };
    body += &section(
        "cost",
        "Cost against speed",
        html::figure(&charts::cost_vs_p95(run)?),
    );
    body += &format!(
        "<section id=\"summary\">\n<h2>Summary</h2>\n{}</section>\n",
        html::table(&run_words::summary_table(&run.summary), &swatch_of)
    );
    body += &section(
        "sessions",
        "Sessions",
        html::figure(&charts::session_boxes(run)?),
    );
    body += &section(
        "latency",
        "Request latency",
        html::figure(&charts::latency_cdf(run)?),
    );
    body += &section("fail", "Failures", html::figure(&charts::failures(run)?));
    if has_series {
        let scales = charts::TsScales::of(run);
        let mut inner = format!("<p>{}</p>\n", charts::TIMESERIES_CAPTION);
        for i in 0..run.summary.variants.len() {
            if let Some(f) = charts::timeseries(run, i, &scales)? {
                inner += &html::figure(&f);
            }
        }
        body += &format!("<section id=\"over-time\">\n<h2>Over time</h2>\n{inner}</section>\n");
    }
    body += "<section id=\"details\">\n<h2>Details</h2>\n<h3>Failures, retries and tokens</h3>\n";
    body += &html::table(&run_words::detail_table(&run.summary), &swatch_of);
    let deps = run_words::deployment_table(&run.summary);
    if !deps.rows.is_empty() {
        body += "<h3>Deployments</h3>\n";
        body += &html::table(&deps, &swatch_of);
    }
    body += "</section>\n";
    body += "<footer>Made by <code>spillway report</code> from <code>summary.json</code> and \
             <code>timeseries-*.csv</code>. Percentiles come from HDR histograms (3 significant \
             digits). Costs are list prices as configured in the scenario.</footer>\n";
    Ok(html::document(
        &format!("Spillway report: {}", run.summary.scenario),
        &body,
    ))
}
