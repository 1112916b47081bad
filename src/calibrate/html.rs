//! `calibration.html`: one self-contained page (inline CSS and SVG drawn with plotters, no
//! script, nothing fetched, no timestamp) with the held-out error table and, per model, what
//! was found, the block to paste, observed-against-simulated quantiles and residuals.

use plotters::prelude::*;

use super::render::{self, pct};
use super::{Calibration, ModelResult};
use crate::error::Result;
use crate::report::kit::{
    self, Axis, Dash, Mark, MeshSpec, PALETTE, Shape, W, legend_row, markers, render as svg, tick,
    tint, titled,
};
use crate::words::esc;

/// Most markers drawn per series of the residual chart.
const MAX_POINTS: usize = 1_500;

const CSS: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #222;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 56px; }
h1 { font-size: 27px; margin: 8px 0 6px; }
h2 { font-size: 20px; margin: 40px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #ddd; }
p, li { max-width: 85ch; }
nav a { color: #1a4f8a; margin-right: 12px; white-space: nowrap; font-size: 14px; }
figure { margin: 14px 0 30px; }
svg.chart { display: block; width: 100%; height: auto; border: 1px solid #e4e4e4; border-radius: 4px; }
svg.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
figcaption { font-size: 13.5px; color: #555; margin-top: 6px; max-width: 90ch; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13.5px; font-variant-numeric: tabular-nums; margin: 6px 0 10px; }
th, td { padding: 4px 7px; border-bottom: 1px solid #e6e6e6; text-align: left; white-space: nowrap; }
thead th { border-bottom: 2px solid #bbb; font-weight: 600; }
td.n, th.n { text-align: right; }
pre { background: #f6f6f6; padding: 10px 12px; border-radius: 4px; overflow-x: auto; font-size: 13px; }
"#;

/// The page.
pub fn page(c: &Calibration) -> Result<String> {
    let mut b = format!(
        "<h1>Calibration of <code>{}</code></h1>\n<p>Format <code>{}</code>, seed {}, {} of each model's requests held out. \
         The errors are measured on the held-out requests, which the fit never saw: for each one the fitted model predicts its \
         time to first token (TTFT) and end-to-end time (e2e), and the table gives the median and 95th percentile of the \
         absolute percentage errors, and the Kolmogorov-Smirnov distance (0 = same distribution, 1 = disjoint) between observed \
         and simulated end-to-end times. <em>n/i</em>: not identified by this data (each model's notes say why).</p>\n",
        esc(&c.file),
        c.format.name(),
        c.options.seed,
        pct(c.options.holdout)
    );
    let items: Vec<String> = c
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| format!("<a href=\"#m{i}\">{}</a>", esc(&m.name)))
        .collect();
    b += &format!("<nav>{}</nav>\n<h2>Held-out errors</h2>\n", items.join(""));
    b += &table(&render::error_table(c));
    if !c.assumptions.is_empty() {
        b += "<p>Assumed by the reader:</p>\n<ul>\n";
        for a in &c.assumptions {
            b += &format!("<li>{}.</li>\n", esc(a));
        }
        b += "</ul>\n";
    }
    for (i, m) in c.models.iter().enumerate() {
        b += &model_section(i, m)?;
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"spillway calibrate\">\n\
         <title>Calibration of {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{b}</main>\n</body>\n</html>\n",
        esc(&c.file)
    ))
}

fn table(t: &crate::words::Table) -> String {
    let cls = |n: bool| if n { " class=\"n\"" } else { "" };
    let mut o = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
    for (h, n) in t.header.iter().zip(&t.numeric) {
        o += &format!("<th{}>{}</th>", cls(*n), esc(h));
    }
    o += "</tr></thead>\n<tbody>\n";
    for r in &t.rows {
        o += "<tr>";
        for (c, n) in r.iter().zip(&t.numeric) {
            o += &format!("<td{}>{}</td>", cls(*n), esc(c));
        }
        o += "</tr>\n";
    }
    o + "</tbody></table></div>\n"
}

fn model_section(i: usize, m: &ModelResult) -> Result<String> {
    let mut o = format!("<h2 id=\"m{i}\">{}</h2>\n<ul>\n", esc(&m.name));
    match &m.fit {
        Ok(f) => {
            for n in &f.notes {
                o += &format!("<li>{}.</li>\n", esc(n));
            }
        }
        Err(why) => o += &format!("<li>Not fitted: {}.</li>\n", esc(why)),
    }
    o += "</ul>\n";
    o += &format!("<pre>{}</pre>\n", esc(&render::model_toml(m)));
    if m.fit.is_ok() {
        o += &figure(
            &qq_chart(m)?,
            "Each point pairs a quantile of the held-out requests (across) with the same quantile of the fitted model's \
             simulated requests (up). On the dashed line the fit reproduces the distribution; below it, the model is faster \
             than the service at that quantile. Spillway draws no spread of TTFT, so TTFT points flatten where the observed \
             TTFT varies.",
        );
        o += &figure(
            &residual_chart(m)?,
            "Every scored request (every k-th one beyond 1,500 per series): how far the observation is from the fitted model's prediction for it, in percent of the \
             prediction (pale: training requests; strong: held out). A trend across means the model's shape is wrong for \
             this data; a wide band means the service varies more than the model explains.",
        );
    }
    Ok(o)
}

fn figure(svg: &str, caption: &str) -> String {
    format!(
        "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>\n",
        esc(caption)
    )
}

fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

fn secs(v: &f64) -> String {
    tick(*v)
}

fn qq_chart(m: &ModelResult) -> Result<String> {
    let title = format!(
        "{}: observed against simulated quantiles (held out)",
        m.name
    );
    let all = m.qq.e2e.iter().chain(&m.qq.ttft).flat_map(|p| [p.0, p.1]);
    let (lo, hi) = span(all);
    let (lo, hi) = if lo.is_finite() {
        (lo * 0.9, hi * 1.1)
    } else {
        (0.1, 10.0)
    };
    svg(W, 480, &title, |root| {
        let area = titled(root, &title, None)?;
        let entries = [
            (
                "end-to-end".to_string(),
                Mark::LineMarker(PALETTE[0], Dash::Solid, Shape::Circle),
            ),
            (
                "time to first token".to_string(),
                Mark::LineMarker(PALETTE[1], Dash::Solid, Shape::Triangle),
            ),
            (
                "perfect fit".to_string(),
                Mark::Line(kit::MUTED, Dash::Dashed),
            ),
        ];
        legend_row(&area, 70, 0, &entries)?;
        let (_, plot) = area.split_vertically(26);
        let mut c = kit::chart(
            &plot,
            Axis::log_fit(lo, hi),
            Axis::log_fit(lo, hi),
            70,
            &MeshSpec {
                x_desc: "observed, seconds (log scale)",
                y_desc: "simulated, seconds",
                x_fmt: &secs,
                y_fmt: &secs,
                x_grid: true,
                y_grid: true,
            },
        )?;
        c.draw_series(DashedLineSeries::new(
            vec![(lo, lo), (hi, hi)],
            6,
            5,
            kit::MUTED.stroke_width(1),
        ))?;
        markers(&mut c, &m.qq.e2e, Shape::Circle, PALETTE[0])?;
        markers(&mut c, &m.qq.ttft, Shape::Triangle, PALETTE[1])?;
        Ok(())
    })
}

fn residual_chart(m: &ModelResult) -> Result<String> {
    let title = format!("{}: residuals, (observed - predicted) / predicted", m.name);
    let rel = |(obs, pred): (f64, f64)| (pred, 100.0 * (obs - pred) / pred.max(1e-9));
    // At most about MAX_POINTS markers per series (every k-th request), so that a large
    // telemetry file still gives a page a browser opens.
    let series = |ttft: bool, held: bool| -> Vec<(f64, f64)> {
        let v: Vec<(f64, f64)> = m
            .points
            .iter()
            .filter(|p| p.held_out == held)
            .filter_map(|p| if ttft { p.ttft } else { p.e2e })
            .map(rel)
            .collect();
        let k = v.len().div_ceil(MAX_POINTS).max(1);
        v.into_iter().step_by(k).collect()
    };
    let all: Vec<(f64, f64)> = [false, true]
        .iter()
        .flat_map(|&t| [series(t, false), series(t, true)])
        .flatten()
        .collect();
    let (lo, hi) = span(all.iter().map(|p| p.0));
    let (lo, hi) = if lo.is_finite() {
        (lo * 0.9, hi * 1.1)
    } else {
        (0.1, 10.0)
    };
    let ys = super::stats::sorted(all.iter().map(|p| p.1));
    let y_lo = super::stats::quantile_sorted(&ys, 0.0).clamp(-100.0, -25.0);
    let y_hi = super::stats::quantile_sorted(&ys, 1.0).clamp(25.0, 300.0);
    svg(W, 440, &title, |root| {
        let area = titled(root, &title, None)?;
        let entries = [
            (
                "end-to-end".to_string(),
                Mark::LineMarker(PALETTE[0], Dash::Solid, Shape::Circle),
            ),
            (
                "time to first token".to_string(),
                Mark::LineMarker(PALETTE[1], Dash::Solid, Shape::Triangle),
            ),
        ];
        legend_row(&area, 70, 0, &entries)?;
        let (_, plot) = area.split_vertically(26);
        let mut c = kit::chart(
            &plot,
            Axis::log_fit(lo, hi),
            Axis::linear(y_lo, y_hi, 6),
            70,
            &MeshSpec {
                x_desc: "predicted, seconds (log scale)",
                y_desc: "residual, % (values beyond the axis sit on its edge)",
                x_fmt: &secs,
                y_fmt: &|v| tick(*v),
                x_grid: true,
                y_grid: true,
            },
        )?;
        c.draw_series(LineSeries::new(
            vec![(lo, 0.0), (hi, 0.0)],
            kit::MUTED.stroke_width(1),
        ))?;
        for (k, (shape, ttft)) in [(Shape::Circle, false), (Shape::Triangle, true)]
            .into_iter()
            .enumerate()
        {
            markers(&mut c, &series(ttft, false), shape, tint(PALETTE[k], 0.6))?;
            markers(&mut c, &series(ttft, true), shape, PALETTE[k])?;
        }
        Ok(())
    })
}
