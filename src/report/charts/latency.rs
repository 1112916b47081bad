//! End-to-end latency of successful requests: one CDF per variant, log x axis.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Figure, variant_legend};
use crate::error::Result;
use crate::report::kit::{
    self, Axis, MeshSpec, SMALL, W, font, legend, legend_width, line, render, tick, titled, vstyle,
};
use crate::report::load::Run;
use crate::words::esc;

/// End-to-end latency CDF per variant, log x axis.
pub fn latency_cdf(run: &Run) -> Result<Figure> {
    let title = "End-to-end latency of successful requests, per variant";
    let with: Vec<usize> = (0..run.summary.variants.len())
        .filter(|&i| run.summary.variants[i].distributions.e2e_ms.len() > 1)
        .collect();
    let lo = with
        .iter()
        .filter_map(|&i| run.summary.variants[i].distributions.e2e_ms.first())
        .map(|p| p[0] / 1e3)
        .fold(f64::INFINITY, f64::min);
    let hi = with
        .iter()
        .filter_map(|&i| run.summary.variants[i].distributions.e2e_ms.last())
        .map(|p| p[0] / 1e3)
        .fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > 0.0 {
        (lo.max(1e-3), hi)
    } else {
        (0.1, 100.0)
    };
    let entries = variant_legend(run, |v| v.distributions.e2e_ms.len() > 1);
    let lw = legend_width(&entries.iter().map(|e| e.0.clone()).collect::<Vec<_>>());
    let h = 500u32.max(130 + 22 * entries.len() as u32);
    let svg = render(W, h, title, |root| {
        let area = titled(
            root,
            title,
            Some(
                "Share of successful requests that finished within a given time (log scale). Further left is faster.",
            ),
        )?;
        let (plot, side) = area.split_horizontally(W as i32 - lw - 10);
        let x = Axis::log(lo, hi);
        let y = Axis::linear(0.0, 100.0, 5);
        let yl = ["100".to_string()];
        let mut c = kit::chart(
            &plot,
            x,
            y,
            kit::y_label_width(&yl, true),
            &MeshSpec {
                x_desc: "request latency, seconds (log scale)",
                y_desc: "% of successful requests",
                x_fmt: &|v| tick(*v),
                y_fmt: &|v| tick(*v),
                x_grid: true,
                y_grid: true,
            },
        )?;
        let (x0, x1) = (c.x_range().start, c.x_range().end);
        for (q, name) in [(50.0, "median"), (95.0, "p95")] {
            c.draw_series(DashedLineSeries::new(
                vec![(x0, q), (x1, q)],
                4,
                4,
                kit::MUTED.stroke_width(1),
            ))?;
            c.draw_series(std::iter::once(
                EmptyElement::at((x0, q))
                    + Text::new(
                        name,
                        (6, -3),
                        font(SMALL)
                            .color(&kit::MUTED)
                            .pos(Pos::new(HPos::Left, VPos::Bottom)),
                    ),
            ))?;
        }
        for &i in &with {
            let s = vstyle(i);
            let pts = run.summary.variants[i]
                .distributions
                .e2e_ms
                .iter()
                .map(|&[v, q]| (v / 1e3, q * 100.0))
                .collect();
            line(&mut c, pts, s.color, s.dash, 3)?;
        }
        legend(&side, 4, 24, &entries)
    })?;
    let mut caption =
        "Each line is one variant: the share of successful requests (y) that took at \
        most the time on the x axis, from the request's start to its last token, retries \
        included. Read the p95 where a line crosses the dashed p95 line; lines drawn on top of \
        each other mean the same distribution. Failed requests are not included; see the \
        failure chart."
            .to_string();
    let missing: Vec<&str> = run
        .summary
        .variants
        .iter()
        .filter(|v| v.distributions.e2e_ms.len() <= 1)
        .map(|v| v.name.as_str())
        .collect();
    if !missing.is_empty() {
        caption += &format!(
            " No latency distribution for: {}.",
            esc(&missing.join(", "))
        );
    }
    Ok(Figure {
        id: "latency-cdf".into(),
        title: title.into(),
        svg,
        caption,
    })
}
