//! The charts of a run report. Each returns a [`Figure`]: an inline `<svg>` drawn with
//! plotters, a title and a caption that says how to read it.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::{Run, Series, Variant};
use super::kit::{
    self, Area, Axis, Boxr, Chart, DErr, Dash, LABEL, Mark, MeshSpec, SMALL, W, bold, font, legend,
    legend_row, legend_width, line, render, text_w, tick, tint, titled, vstyle,
};
use super::words::{esc, fmt_ratio, num_secs};
use crate::error::Result;

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

type R = std::result::Result<(), DErr>;

fn variant_legend(run: &Run, which: impl Fn(&Variant) -> bool) -> Vec<(String, Mark)> {
    run.variants
        .iter()
        .enumerate()
        .filter(|(_, v)| which(v))
        .map(|(i, v)| {
            let s = vstyle(i);
            (v.name.clone(), Mark::Line(s.color, s.dash))
        })
        .collect()
}

/// End-to-end latency CDF per variant, log x axis.
pub fn latency_cdf(run: &Run) -> Result<Figure> {
    let title = "End-to-end latency of successful requests, per variant";
    let with: Vec<usize> = (0..run.variants.len())
        .filter(|&i| run.variants[i].e2e_cdf.len() > 1)
        .collect();
    let lo = with
        .iter()
        .filter_map(|&i| run.variants[i].e2e_cdf.first())
        .map(|p| p.0 / 1e3)
        .fold(f64::INFINITY, f64::min);
    let hi = with
        .iter()
        .filter_map(|&i| run.variants[i].e2e_cdf.last())
        .map(|p| p.0 / 1e3)
        .fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > 0.0 {
        (lo.max(1e-3), hi)
    } else {
        (0.1, 100.0)
    };
    let entries = variant_legend(run, |v| v.e2e_cdf.len() > 1);
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
            let pts = run.variants[i]
                .e2e_cdf
                .iter()
                .map(|&(v, q)| (v / 1e3, q * 100.0))
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
        .variants
        .iter()
        .filter(|v| v.e2e_cdf.len() <= 1)
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

fn row_label_width(run: &Run) -> i32 {
    run.variants
        .iter()
        .map(|v| text_w(&v.name, LABEL))
        .max()
        .unwrap_or(0)
        + 18
}

/// The x range of a horizontal chart with `label_px` pixels of text right of the data.
fn with_headroom(hi: f64, plot_px: i32, label_px: i32) -> f64 {
    let plot_px = plot_px.max(label_px * 2);
    hi * plot_px as f64 / (plot_px - label_px) as f64
}

/// Session duration distribution per variant: a horizontal box per variant.
pub fn session_boxes(run: &Run) -> Result<Figure> {
    let title = "How long a user's session takes, per variant";
    let n = run.variants.len();
    let h = 150 + 40 * n as u32;
    let ylw = row_label_width(run);
    let plot_px = W as i32 - ylw - 40;
    let data_hi = run
        .variants
        .iter()
        .filter(|v| v.has_sessions())
        .map(|v| v.session_ms.max.max(v.session_ms.p95) / 1e3)
        .fold(0.0, f64::max);
    let label_px = text_w("p95 0000 s", SMALL) + 14;
    let x = Axis::linear(0.0, with_headroom(data_hi.max(1.0), plot_px, label_px), 8);
    let svg = render(W, h, title, |root| {
        let area = titled(
            root,
            title,
            Some(
                "Box: middle half of completed sessions (p25 to p75); bar: median; whiskers: p5 to p95; dot: longest.",
            ),
        )?;
        let mut c = variant_rows_chart(
            &area,
            run,
            x.clone(),
            ylw,
            "session duration, seconds (first request to last answer)",
        )?;
        for (i, v) in run.variants.iter().enumerate() {
            let y = Axis::row(n, i);
            let s = vstyle(i);
            if !v.has_sessions() {
                c.draw_series(std::iter::once(Text::new(
                    "no session completed",
                    (0.0, y),
                    font(SMALL)
                        .color(&kit::MUTED)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )))?;
                continue;
            }
            let q = |p: f64, fallback: f64| v.session_quantile(p).unwrap_or(fallback) / 1e3;
            let (p5, p25, p50, p75, p95, max) = (
                q(0.05, v.session_ms.p50),
                q(0.25, v.session_ms.p50),
                v.session_ms.p50 / 1e3,
                q(0.75, v.session_ms.p90),
                v.session_ms.p95 / 1e3,
                v.session_ms.max / 1e3,
            );
            let hb = 0.28;
            c.draw_series(std::iter::once(PathElement::new(
                vec![(p5, y), (p95, y)],
                s.color.stroke_width(2),
            )))?;
            for e in [p5, p95] {
                c.draw_series(std::iter::once(PathElement::new(
                    vec![(e, y - hb * 0.6), (e, y + hb * 0.6)],
                    s.color.stroke_width(2),
                )))?;
            }
            c.draw_series(std::iter::once(Rectangle::new(
                [(p25, y - hb), (p75, y + hb)],
                tint(s.color, 0.55).filled(),
            )))?;
            c.draw_series(std::iter::once(Rectangle::new(
                [(p25, y - hb), (p75, y + hb)],
                s.color.stroke_width(2),
            )))?;
            c.draw_series(std::iter::once(PathElement::new(
                vec![(p50, y - hb), (p50, y + hb)],
                kit::INK.stroke_width(3),
            )))?;
            c.draw_series(std::iter::once(Circle::new(
                (max, y),
                4,
                s.color.stroke_width(2),
            )))?;
            // The p95 label right of the whisker, or right of the longest-session dot when
            // that dot would sit under it.
            let label = format!("p95 {} s", num_secs(p95));
            let (wx, _) = c.backend_coord(&(p95, y));
            let (mx, _) = c.backend_coord(&(max, y));
            let lw = text_w(&label, SMALL);
            let dx = if mx >= wx + 2 && mx <= wx + 10 + lw + 6 {
                mx - wx + 10
            } else {
                10
            };
            c.draw_series(std::iter::once(
                EmptyElement::at((p95, y))
                    + Text::new(
                        label,
                        (dx, 0),
                        font(SMALL).pos(Pos::new(HPos::Left, VPos::Center)),
                    ),
            ))?;
        }
        Ok(())
    })?;
    Ok(Figure {
        id: "session-durations".into(),
        title: title.into(),
        svg,
        caption: "One row per variant, over completed sessions only (a session is one user's \
            whole flow, think time included). Shorter and narrower is better. Sessions that \
            were abandoned after a failed request are counted in the failure chart instead."
            .into(),
    })
}

/// Failed requests by cause per variant: stacked horizontal bars.
pub fn failures(run: &Run) -> Result<Figure> {
    let title = "Failed requests by cause, per variant";
    let n = run.variants.len();
    let h = 170 + 40 * n as u32;
    let ylw = row_label_width(run);
    let plot_px = W as i32 - ylw - 40;
    let labels: Vec<String> = run
        .variants
        .iter()
        .map(|v| {
            if v.failed == 0 {
                "none failed".to_string()
            } else {
                format!("{} ({} of {})", fmt_ratio(v.failed_ratio), v.failed, v.sent)
            }
        })
        .collect();
    let label_px = labels.iter().map(|l| text_w(l, SMALL)).max().unwrap_or(0) + 16;
    let data_hi = run
        .variants
        .iter()
        .map(|v| v.failed_ratio * 100.0)
        .fold(0.0, f64::max);
    let x = Axis::linear(
        0.0,
        with_headroom(if data_hi > 0.0 { data_hi } else { 1.0 }, plot_px, label_px),
        8,
    );
    let svg = render(W, h, title, |root| {
        let area = titled(
            root,
            title,
            Some(
                "Share of requests sent that failed after the client gave up, split by the last error.",
            ),
        )?;
        let grey = RGBColor(0x55, 0x55, 0x55);
        legend_row(
            &area,
            ylw,
            0,
            &[
                ("rate-limited (429)".into(), Mark::Swatch(grey, grey)),
                (
                    "timed out (408 or client timeout)".into(),
                    Mark::Swatch(tint(grey, 0.6), grey),
                ),
                ("other".into(), Mark::Swatch(WHITE, grey)),
            ],
        )?;
        let area = area.split_vertically(30).1;
        let mut c = variant_rows_chart(&area, run, x.clone(), ylw, "% of requests sent")?;
        for (i, v) in run.variants.iter().enumerate() {
            let y = Axis::row(n, i);
            let s = vstyle(i);
            let pct = |k: u64| {
                if v.sent > 0 {
                    k as f64 / v.sent as f64 * 100.0
                } else {
                    0.0
                }
            };
            let hb = 0.3;
            let mut x0 = 0.0;
            for (k, fill) in [
                (v.rate_limited, s.color),
                (v.timed_out, tint(s.color, 0.6)),
                (v.other_failed, WHITE),
            ] {
                if k == 0 {
                    continue;
                }
                let x1 = x0 + pct(k);
                c.draw_series(std::iter::once(Rectangle::new(
                    [(x0, y - hb), (x1, y + hb)],
                    fill.filled(),
                )))?;
                c.draw_series(std::iter::once(Rectangle::new(
                    [(x0, y - hb), (x1, y + hb)],
                    s.color.stroke_width(2),
                )))?;
                x0 = x1;
            }
            c.draw_series(std::iter::once(
                EmptyElement::at((x0, y))
                    + Text::new(
                        labels[i].clone(),
                        (8, 0),
                        font(SMALL).pos(Pos::new(HPos::Left, VPos::Center)),
                    ),
            ))?;
        }
        Ok(())
    })?;
    Ok(Figure {
        id: "failures".into(),
        title: title.into(),
        svg,
        caption: "A request fails when the client gives up: its retries ran out on 429s \
            (rate-limited), it hit the 60 s completion window (408) or the SDK's timeout \
            (timed out), or another error. Bar labels give the failed share and count. \
            Retried attempts that later succeeded are not failures; they show as 429s in the \
            time series."
            .into(),
    })
}

/// The variants that are not beaten on both axes (lower is better on both).
pub fn pareto(points: &[(f64, f64)]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..points.len()).collect();
    idx.sort_by(|&a, &b| {
        points[a]
            .0
            .total_cmp(&points[b].0)
            .then(points[a].1.total_cmp(&points[b].1))
    });
    let mut out = Vec::new();
    let mut best_y = f64::INFINITY;
    for i in idx {
        if points[i].1 < best_y {
            best_y = points[i].1;
            out.push(i);
        }
    }
    out
}

/// A labelled scatter of (x, y) points with the Pareto frontier dashed.
pub struct Scatter<'a> {
    pub title: &'a str,
    pub subtitle: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    /// x, y, label, colour index.
    pub points: Vec<(f64, f64, String, usize)>,
    /// Label only the frontier points (for crowded sweeps).
    pub label_frontier_only: bool,
    /// Legend entries drawn at the top right.
    pub legend: Vec<(String, Mark)>,
}

/// Draws a [`Scatter`].
pub fn scatter(sc: &Scatter) -> Result<String> {
    let h = 560u32;
    let xs: Vec<(f64, f64)> = sc.points.iter().map(|p| (p.0, p.1)).collect();
    let front = pareto(&xs);
    let x_hi = xs.iter().map(|p| p.0).fold(0.0, f64::max);
    let y_hi = xs.iter().map(|p| p.1).fold(0.0, f64::max);
    let x_lo = xs.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let log_x = x_lo > 0.0 && x_hi / x_lo >= 8.0;
    let x = if log_x {
        Axis::log_fit(x_lo / 1.2, x_hi * 1.2)
    } else {
        Axis::linear(0.0, if x_hi > 0.0 { x_hi * 1.12 } else { 1.0 }, 8)
    };
    let x_desc = if log_x {
        format!("{} (log scale)", sc.x_desc)
    } else {
        sc.x_desc.to_string()
    };
    let y = Axis::linear(0.0, if y_hi > 0.0 { y_hi * 1.12 } else { 1.0 }, 6);
    let ylabels: Vec<String> = y.ticks.iter().map(|t| tick(*t)).collect();
    render(W, h, sc.title, |root| {
        let area = titled(root, sc.title, Some(sc.subtitle))?;
        let legend_h = if sc.legend.is_empty() { 0 } else { 30 };
        if !sc.legend.is_empty() {
            legend_row(&area, 70, 0, &sc.legend)?;
        }
        let area = area.split_vertically(legend_h).1;
        let mut c = kit::chart(
            &area,
            x.clone(),
            y.clone(),
            kit::y_label_width(&ylabels, true),
            &MeshSpec {
                x_desc: &x_desc,
                y_desc: sc.y_desc,
                x_fmt: &|v| tick(*v),
                y_fmt: &|v| tick(*v),
                x_grid: true,
                y_grid: true,
            },
        )?;
        // "better" corner.
        c.draw_series(std::iter::once(
            EmptyElement::at((x.lo, y.lo))
                + Text::new(
                    "better: faster and cheaper",
                    (10, -8),
                    bold(SMALL)
                        .color(&kit::MUTED)
                        .pos(Pos::new(HPos::Left, VPos::Bottom)),
                ),
        ))?;
        if front.len() > 1 {
            let pts: Vec<(f64, f64)> = front.iter().map(|&i| xs[i]).collect();
            c.draw_series(DashedLineSeries::new(pts, 6, 5, kit::MUTED.stroke_width(2)))?;
        }
        for (k, p) in sc.points.iter().enumerate() {
            let s = vstyle(p.3);
            let on_front = front.contains(&k);
            c.draw_series(std::iter::once(Circle::new(
                (p.0, p.1),
                if on_front { 8 } else { 6 },
                s.color.filled(),
            )))?;
            c.draw_series(std::iter::once(Circle::new(
                (p.0, p.1),
                if on_front { 8 } else { 6 },
                kit::INK.stroke_width(if on_front { 2 } else { 1 }),
            )))?;
        }
        let candidates: Vec<usize> = (0..sc.points.len())
            .filter(|k| !sc.label_frontier_only || front.contains(k))
            .collect();
        // Points drawn on top of each other share one label.
        let mut shown: Vec<usize> = Vec::new();
        let mut labels: Vec<String> = Vec::new();
        let mut px: Vec<(i32, i32)> = Vec::new();
        for &k in &candidates {
            let p = c.backend_coord(&(sc.points[k].0, sc.points[k].1));
            match px
                .iter()
                .position(|q| (q.0 - p.0).abs() <= 5 && (q.1 - p.1).abs() <= 5)
            {
                Some(g) => labels[g] = format!("{}, {}", labels[g], sc.points[k].2),
                None => {
                    shown.push(k);
                    labels.push(sc.points[k].2.clone());
                    px.push(p);
                }
            }
        }
        let (xr, yr) = (
            c.backend_coord(&(x.lo, y.hi)),
            c.backend_coord(&(x.hi, y.lo)),
        );
        let others: Vec<(i32, i32)> = (0..sc.points.len())
            .filter(|k| !candidates.contains(k))
            .map(|k| c.backend_coord(&(sc.points[k].0, sc.points[k].1)))
            .collect();
        let offsets = kit::place_labels(
            &px,
            &labels,
            &others,
            Boxr {
                x0: xr.0,
                y0: xr.1,
                x1: yr.0,
                y1: yr.1,
            },
        );
        for ((&k, (dx, dy)), label) in shown.iter().zip(offsets).zip(labels) {
            let p = (sc.points[k].0, sc.points[k].1);
            if dy != 0 {
                let tx = if dx < 0 {
                    dx + text_w(&label, SMALL) + 4
                } else {
                    dx
                };
                c.draw_series(std::iter::once(
                    EmptyElement::at(p)
                        + PathElement::new(vec![(0, 0), (tx, dy)], kit::AXIS.stroke_width(1)),
                ))?;
            }
            c.draw_series(std::iter::once(
                EmptyElement::at(p)
                    + Text::new(
                        label,
                        (dx, dy),
                        font(SMALL).pos(Pos::new(HPos::Left, VPos::Center)),
                    ),
            ))?;
        }
        Ok(())
    })
}

/// Cost per 1K completed sessions against p95 session duration, one point per variant.
pub fn cost_vs_p95(run: &Run) -> Result<Figure> {
    let title = "Cost against speed: cost per 1,000 sessions vs p95 session duration";
    let points: Vec<(f64, f64, String, usize)> = run
        .variants
        .iter()
        .enumerate()
        .filter(|(_, v)| v.has_sessions())
        .map(|(i, v)| {
            (
                v.session_ms.p95 / 1e3,
                v.cost_per_1k_sessions,
                v.name.clone(),
                i,
            )
        })
        .collect();
    let svg = scatter(&Scatter {
        title,
        subtitle: "One dot per variant. Ringed dots are on the Pareto frontier (dashed): nothing else is both faster and cheaper.",
        x_desc: "p95 session duration, seconds",
        y_desc: "USD per 1,000 completed sessions",
        points,
        label_frontier_only: false,
        legend: Vec::new(),
    })?;
    let mut caption = "Cost is what the run's tokens (standard deployments) and reserved PTU \
        hours (provisioned) cost, divided by the sessions that completed: a variant that \
        serves more sessions for the same reservation gets cheaper per session."
        .to_string();
    let none: Vec<&str> = run
        .variants
        .iter()
        .filter(|v| !v.has_sessions())
        .map(|v| v.name.as_str())
        .collect();
    if !none.is_empty() {
        caption += &format!(
            " Not shown (no completed session): {}.",
            esc(&none.join(", "))
        );
    }
    Ok(Figure {
        id: "cost-vs-p95".into(),
        title: title.into(),
        svg,
        caption,
    })
}

/// The time axis shared by every variant's time series, and the y scales of one.
pub struct TsScales {
    t_max_min: f64,
    req_max: f64,
    err_max: f64,
    flight_max: f64,
    util_max: f64,
    interval_s: f64,
}

impl TsScales {
    /// The common scales of every series in the run.
    pub fn of(run: &Run) -> TsScales {
        let all: Vec<&Series> = run.series.iter().flatten().collect();
        let m = |f: &dyn Fn(&Series) -> f64| all.iter().map(|s| f(s)).fold(0.0, f64::max);
        let vmax = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
        TsScales {
            t_max_min: m(&|s| s.t_s.last().copied().unwrap_or(0.0) + s.interval_s()) / 60.0,
            req_max: m(&|s| vmax(&s.arrivals).max(vmax(&s.completions))),
            err_max: m(&|s| vmax(&s.rejected_429).max(vmax(&s.timed_out_408))),
            flight_max: m(&|s| vmax(&s.in_flight)),
            util_max: m(&|s| {
                let keep = s.t_s.len() - usize::from(s.partial_last);
                s.utilization
                    .iter()
                    .map(|u| vmax(&u.1[..keep.min(u.1.len())]))
                    .fold(0.0, f64::max)
            }) * 100.0,
            interval_s: all.first().map(|s| s.interval_s()).unwrap_or(60.0),
        }
    }

    /// The same time axis with the y scales of one series.
    fn local(&self, s: &Series) -> TsScales {
        let one = Run {
            scenario: String::new(),
            seed: None,
            variants: Vec::new(),
            series: vec![Some(s.clone())],
        };
        TsScales {
            t_max_min: self.t_max_min,
            interval_s: self.interval_s,
            ..TsScales::of(&one)
        }
    }

    fn per(&self) -> String {
        if (self.interval_s - 60.0).abs() < 1e-9 {
            "minute".into()
        } else {
            format!("{} s", tick(self.interval_s))
        }
    }
}

fn panel<'a>(
    area: &Area<'a>,
    title: &str,
    legend: &[(String, Mark)],
) -> std::result::Result<Area<'a>, DErr> {
    let top = Pos::new(HPos::Left, VPos::Top);
    area.draw_text(title, &bold(LABEL).pos(top), (12, 6))?;
    let mut h = 30;
    if !legend.is_empty() {
        legend_row(area, 12, 28, legend)?;
        h = 54;
    }
    Ok(area.split_vertically(h).1)
}

fn columns(c: &mut kit::Chart, t: &[f64], v: &[f64], width_min: f64, color: RGBColor) -> R {
    c.draw_series(t.iter().zip(v).filter(|(_, y)| **y > 0.0).map(|(&t, &y)| {
        let t0 = t / 60.0 + width_min * 0.15;
        Rectangle::new([(t0, 0.0), (t0 + width_min * 0.7, y)], color.filled())
    }))?;
    Ok(())
}

fn area_line(c: &mut kit::Chart, pts: Vec<(f64, f64)>, color: RGBColor, fill: RGBColor) -> R {
    if pts.len() > 1 {
        c.draw_series(AreaSeries::new(pts.clone(), 0.0, fill.filled()))?;
    }
    line(c, pts, color, Dash::Solid, 2)
}

/// The time series of variant `i`: requests, 429s and 408s, in flight, utilization.
pub fn timeseries(run: &Run, i: usize, sc: &TsScales) -> Result<Option<Figure>> {
    let Some(s) = run.series.get(i).and_then(|s| s.as_ref()) else {
        return Ok(None);
    };
    let v = &run.variants[i];
    let st = vstyle(i);
    let sc = &sc.local(s);
    let title = format!(
        "{}: requests, errors, load and utilization over time",
        v.name
    );
    let per = sc.per();
    let step_min = s.interval_s() / 60.0;
    let tm: Vec<f64> = s.t_s.iter().map(|t| t / 60.0 + step_min / 2.0).collect();
    let xs = |vals: &[f64]| -> Vec<(f64, f64)> {
        tm.iter().copied().zip(vals.iter().copied()).collect()
    };
    let x = Axis::linear(0.0, sc.t_max_min.max(1.0), 8);
    let svg = render(W, 620, &title, |root| {
        let area = titled(
            root,
            &title,
            Some("Each panel has its own scale: read the axes. Time axis shared by every variant."),
        )?;
        let panels = area.split_evenly((2, 2));
        let grey = RGBColor(0xBB, 0xBB, 0xBB);
        // The same label width in every panel, so the plots line up.
        let widest = [
            sc.req_max,
            sc.err_max,
            sc.flight_max,
            sc.util_max.max(100.0),
        ]
        .iter()
        .flat_map(|hi| Axis::linear(0.0, hi.max(1.0), 4).ticks)
        .map(tick)
        .collect::<Vec<_>>();
        let w = kit::y_label_width(&widest, false);
        // (a) requests
        let p = panel(
            &panels[0],
            &format!("Requests per {per}"),
            &[
                ("started".into(), Mark::Swatch(tint(grey, 0.4), grey)),
                ("succeeded".into(), Mark::Line(st.color, Dash::Solid)),
                ("failed".into(), Mark::Swatch(kit::INK, kit::INK)),
            ],
        )?;
        let mut c = time_panel(&p, &x, sc.req_max.max(1.0), w, "")?;
        if tm.len() > 1 {
            c.draw_series(AreaSeries::new(
                xs(&s.arrivals),
                0.0,
                tint(grey, 0.4).filled(),
            ))?;
        }
        line(&mut c, xs(&s.completions), st.color, Dash::Solid, 2)?;
        columns(&mut c, &s.t_s, &s.failures, step_min, kit::INK)?;
        // (b) 429s and 408s
        let p = panel(
            &panels[1],
            &format!("429 and 408 responses per {per} (attempts)"),
            &[
                ("429 rate-limited".into(), Mark::Line(st.color, Dash::Solid)),
                ("408 timed out".into(), Mark::Swatch(kit::INK, kit::INK)),
            ],
        )?;
        let mut c = time_panel(&p, &x, sc.err_max.max(1.0), w, "")?;
        area_line(&mut c, xs(&s.rejected_429), st.color, tint(st.color, 0.75))?;
        columns(&mut c, &s.t_s, &s.timed_out_408, step_min, kit::INK)?;
        // (c) in flight
        let p = panel(&panels[2], "Requests in flight (end of each interval)", &[])?;
        let mut c = time_panel(
            &p,
            &x,
            sc.flight_max.max(1.0),
            w,
            "time since start, minutes",
        )?;
        area_line(&mut c, xs(&s.in_flight), st.color, tint(st.color, 0.75))?;
        // (d) utilization
        let dashes = [Dash::Solid, Dash::Dashed, Dash::Dotted];
        let dep_legend: Vec<(String, Mark)> = s
            .utilization
            .iter()
            .enumerate()
            .map(|(k, (name, _))| (name.clone(), Mark::Line(st.color, dashes[k % 3])))
            .collect();
        let p = panel(&panels[3], "Utilization per deployment, %", &dep_legend)?;
        let mut c = time_panel(
            &p,
            &x,
            sc.util_max.max(100.0),
            w,
            "time since start, minutes",
        )?;
        c.draw_series(DashedLineSeries::new(
            vec![(x.lo, 100.0), (x.hi, 100.0)],
            4,
            4,
            kit::MUTED.stroke_width(1),
        ))?;
        // A last interval shorter than the others (the run ended inside it) gives a rate over
        // a few seconds: leave it out.
        let keep = s.t_s.len() - usize::from(s.partial_last);
        for (k, (_, u)) in s.utilization.iter().enumerate() {
            let pts = tm
                .iter()
                .copied()
                .zip(u.iter().map(|x| x * 100.0))
                .take(keep)
                .collect();
            line(&mut c, pts, st.color, dashes[k % 3], 2)?;
        }
        Ok(())
    })?;
    Ok(Some(Figure {
        id: format!("timeseries-{i}"),
        title,
        svg,
        caption: String::new(),
    }))
}

/// The caption shared by every time-series figure.
pub const TIMESERIES_CAPTION: &str = "Requests: started (grey area), succeeded (line) and \
    failed (black columns) per interval. 429 and 408: responses per interval, counted per \
    attempt, so one request retried five times can add five 429s. In flight: requests \
    started and not yet finished. Utilization: for standard deployments, the share of the \
    token-per-minute quota charged in the rolling window; for provisioned (PTU) \
    deployments, the share of capacity processed (a last, shorter interval after the end of \
    the run is left out of this panel).";

/// A chart with one row per variant (the first at the top) over the numeric axis `x`.
fn variant_rows_chart<'a, 'b>(
    area: &'a Area<'b>,
    run: &Run,
    x: Axis,
    y_label_w: i32,
    x_desc: &str,
) -> std::result::Result<Chart<'a, 'b>, DErr> {
    let n = run.variants.len();
    let rows_fmt = |v: &f64| {
        let i = n as f64 - 1.0 - v.round();
        run.variants
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

/// One panel of the over-time figure: a shared time axis, its own y range from 0, one label
/// width for every panel so the plots line up.
fn time_panel<'a, 'b>(
    area: &'a Area<'b>,
    x: &Axis,
    y_max: f64,
    y_label_w: i32,
    x_desc: &str,
) -> std::result::Result<Chart<'a, 'b>, DErr> {
    let fmt = |v: &f64| tick(*v);
    kit::chart(
        area,
        x.clone(),
        Axis::linear(0.0, y_max, 4),
        y_label_w,
        &MeshSpec {
            x_desc,
            y_desc: "",
            x_fmt: &fmt,
            y_fmt: &fmt,
            x_grid: false,
            y_grid: true,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::pareto;

    #[test]
    fn pareto_keeps_what_nothing_beats_on_both_axes() {
        let pts = [(1.0, 5.0), (2.0, 3.0), (3.0, 4.0), (4.0, 1.0), (2.0, 6.0)];
        assert_eq!(pareto(&pts), vec![0, 1, 3]);
        assert!(pareto(&[]).is_empty());
    }
}
