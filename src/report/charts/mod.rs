//! The charts of a run report. Each returns a [`Figure`]: an inline `<svg>` drawn with
//! plotters, a title and a caption that says how to read it.
//!
//! - [`latency`]: end-to-end latency CDFs;
//! - [`sessions`]: session durations as boxes;
//! - [`mod@failures`]: failed requests by cause;
//! - [`mod@scatter`]: cost against speed with the Pareto frontier (also used by sweeps);
//! - [`mod@timeseries`]: each variant's requests, errors, load and utilization over time.

pub mod breakdown;
pub mod failures;
pub mod latency;
pub mod scatter;
pub mod sessions;
pub mod timeseries;

use super::kit::{self, Area, Axis, Chart, DErr, LABEL, Mark, MeshSpec, text_w, tick, vstyle};
use super::load::Run;
use crate::metrics::VariantSummary;

pub use breakdown::time_breakdown;
pub use failures::failures;
pub use latency::latency_cdf;
pub use scatter::{Pt, Scatter, cost_vs_p95, frontier_flags, pareto, scatter};
pub use sessions::session_boxes;
pub use timeseries::{TIMESERIES_CAPTION, TsScales, timeseries};

/// One chart of the report.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Anchor id (stable, derived from the chart kind and variant index).
    pub id: String,
    /// What the chart shows.
    pub title: String,
    /// The `<svg>` element.
    pub svg: String,
    /// How to read it (HTML).
    pub caption: String,
}

pub(crate) type R = std::result::Result<(), DErr>;

pub(crate) fn variant_legend(
    run: &Run,
    which: impl Fn(&VariantSummary) -> bool,
) -> Vec<(String, Mark)> {
    run.summary
        .variants
        .iter()
        .enumerate()
        .filter(|(_, v)| which(v))
        .map(|(i, v)| {
            let s = vstyle(i);
            (v.name.clone(), Mark::Line(s.color, s.dash))
        })
        .collect()
}

pub(crate) fn row_label_width(run: &Run) -> i32 {
    run.summary
        .variants
        .iter()
        .map(|v| text_w(&v.name, LABEL))
        .max()
        .unwrap_or(0)
        + 18
}

/// The x range of a horizontal chart with `label_px` pixels of text right of the data.
pub(crate) fn with_headroom(hi: f64, plot_px: i32, label_px: i32) -> f64 {
    let plot_px = plot_px.max(label_px * 2);
    hi * plot_px as f64 / (plot_px - label_px) as f64
}

/// A chart with one row per variant (the first at the top) over the numeric axis `x`.
pub(crate) fn variant_rows_chart<'a, 'b>(
    area: &'a Area<'b>,
    run: &Run,
    x: Axis,
    y_label_w: i32,
    x_desc: &str,
) -> std::result::Result<Chart<'a, 'b>, DErr> {
    let n = run.summary.variants.len();
    let rows_fmt = |v: &f64| {
        let i = n as f64 - 1.0 - v.round();
        run.summary
            .variants
            .get(i.max(0.0) as usize)
            .map(|v| v.name.clone())
            .unwrap_or_default()
    };
    kit::chart(
        area,
        x,
        Axis::rows(n),
        y_label_w,
        &MeshSpec {
            x_desc,
            y_desc: "",
            x_fmt: &|v| tick(*v),
            y_fmt: &rows_fmt,
            x_grid: true,
            y_grid: false,
        },
    )
}

/// The value at quantile `q` of a CDF given as sorted `[value, quantile]` points: the first
/// point whose quantile reaches `q`.
pub fn quantile(cdf: &[[f64; 2]], q: f64) -> Option<f64> {
    cdf.iter()
        .find(|p| p[1] >= q - 1e-9)
        .or(cdf.last())
        .map(|p| p[0])
}
