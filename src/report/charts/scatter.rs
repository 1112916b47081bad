//! Cost against speed: a labelled scatter with the Pareto frontier of each load level dashed,
//! for the variants of a run ([`cost_vs_p95`], on the report's first screen) and the points
//! of a sweep.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Figure, R};
use crate::error::Result;
use crate::report::kit::{
    self, Axis, Boxr, Chart, Mark, MeshSpec, SMALL, bold, font, legend_lines, legend_row, render,
    text_w, tick, titled, vstyle,
};
use crate::report::load::Run;
use crate::words::compare::{
    has_sessions, load_groups, meets, truncated_ratio, truncates, verdicts,
};
use crate::words::{esc, fmt_ratio, fmt_secs, fmt_usd};

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

/// The most points of a scatter that get a label.
const MAX_LABELS: usize = 40;

/// A guide line at a value, with its label.
pub type Guide = (f64, String);

/// One point of a [`Scatter`].
#[derive(Clone, Debug)]
pub struct Pt {
    /// Position, in data units.
    pub x: f64,
    pub y: f64,
    /// Its label.
    pub label: String,
    /// Colour index ([`vstyle`]).
    pub color: usize,
    /// Load level: the Pareto frontier is drawn within each level.
    pub group: usize,
    /// Drawn hollow (it misses an SLO).
    pub hollow: bool,
    /// Ringed wide (the verdict at its load).
    pub pick: bool,
}

/// A labelled scatter of points with the Pareto frontier of each load level dashed.
pub struct Scatter<'a> {
    pub title: &'a str,
    pub subtitle: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    /// Size in SVG pixels (it scales to the page).
    pub size: (u32, u32),
    pub points: Vec<Pt>,
    /// Label only the frontier points (for crowded sweeps).
    pub label_frontier_only: bool,
    /// Legend entries drawn at the top.
    pub legend: Vec<(String, Mark)>,
    /// Vertical guide lines (an SLO bound on x), with their labels.
    pub x_guides: Vec<Guide>,
    /// Horizontal guide lines (an SLO bound on y), with their labels.
    pub y_guides: Vec<Guide>,
}

/// Whether each point is on the Pareto frontier of its load level.
pub fn frontier_flags(points: &[Pt]) -> Vec<bool> {
    let mut on = vec![false; points.len()];
    let mut groups: Vec<usize> = points.iter().map(|p| p.group).collect();
    groups.sort_unstable();
    groups.dedup();
    for g in groups {
        let idx: Vec<usize> = (0..points.len())
            .filter(|&k| points[k].group == g)
            .collect();
        let xy: Vec<(f64, f64)> = idx.iter().map(|&k| (points[k].x, points[k].y)).collect();
        for f in pareto(&xy) {
            on[idx[f]] = true;
        }
    }
    on
}

/// The frontier of each load level as a polyline, left to right.
fn frontier_lines(points: &[Pt], on: &[bool]) -> Vec<Vec<(f64, f64)>> {
    let mut groups: Vec<usize> = points.iter().map(|p| p.group).collect();
    groups.sort_unstable();
    groups.dedup();
    groups
        .into_iter()
        .map(|g| {
            let mut pts: Vec<(f64, f64)> = (0..points.len())
                .filter(|&k| on[k] && points[k].group == g)
                .map(|k| (points[k].x, points[k].y))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            pts
        })
        .filter(|l| l.len() > 1)
        .collect()
}

/// Draws a [`Scatter`].
pub fn scatter(sc: &Scatter) -> Result<String> {
    let (w, h) = sc.size;
    let on_front = frontier_flags(&sc.points);
    let xs = sc
        .points
        .iter()
        .map(|p| p.x)
        .chain(sc.x_guides.iter().map(|g| g.0));
    let x_hi = xs.clone().fold(0.0, f64::max);
    let x_lo = xs.fold(f64::INFINITY, f64::min);
    let y_hi = sc
        .points
        .iter()
        .map(|p| p.y)
        .chain(sc.y_guides.iter().map(|g| g.0))
        .fold(0.0, f64::max);
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
    render(w, h, sc.title, |root| {
        let area = titled(root, sc.title, Some(sc.subtitle))?;
        // One row of legend, or more when it would not fit the width.
        let rows = legend_lines(&sc.legend, w as i32 - 28);
        let legend_h = match rows.len() {
            0 => 0,
            n => 30 + 24 * (n as i32 - 1),
        };
        for (i, row) in rows.iter().enumerate() {
            legend_row(&area, 14, 24 * i as i32, row)?;
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
        draw_guides(&mut c, sc, &x, &y)?;
        for pts in frontier_lines(&sc.points, &on_front) {
            c.draw_series(DashedLineSeries::new(pts, 6, 5, kit::MUTED.stroke_width(2)))?;
        }
        for (k, p) in sc.points.iter().enumerate() {
            let s = vstyle(p.color);
            let r = if on_front[k] { 8 } else { 6 };
            let fill = if p.hollow { WHITE } else { s.color };
            c.draw_series(std::iter::once(Circle::new((p.x, p.y), r, fill.filled())))?;
            let ring = if p.hollow {
                s.color.stroke_width(3)
            } else {
                kit::INK.stroke_width(if on_front[k] { 2 } else { 1 })
            };
            c.draw_series(std::iter::once(Circle::new((p.x, p.y), r, ring)))?;
            if p.pick {
                c.draw_series(std::iter::once(Circle::new(
                    (p.x, p.y),
                    r + 6,
                    kit::INK.stroke_width(2),
                )))?;
            }
        }
        draw_labels(&mut c, sc, &on_front, &x, &y)
    })
}

/// SLO bounds as dotted lines across the plot, labelled at their end.
fn draw_guides(c: &mut Chart, sc: &Scatter, x: &Axis, y: &Axis) -> R {
    let st = kit::AXIS.stroke_width(2);
    for (gx, label) in &sc.x_guides {
        c.draw_series(DashedLineSeries::new(
            vec![(*gx, y.lo), (*gx, y.hi)],
            3,
            4,
            st,
        ))?;
        c.draw_series(std::iter::once(
            EmptyElement::at((*gx, y.hi))
                + Text::new(
                    label.clone(),
                    (-6, 4),
                    font(SMALL)
                        .color(&kit::MUTED)
                        .pos(Pos::new(HPos::Right, VPos::Top)),
                ),
        ))?;
    }
    for (gy, label) in &sc.y_guides {
        c.draw_series(DashedLineSeries::new(
            vec![(x.lo, *gy), (x.hi, *gy)],
            3,
            4,
            st,
        ))?;
        c.draw_series(std::iter::once(
            EmptyElement::at((x.hi, *gy))
                + Text::new(
                    label.clone(),
                    (-6, -4),
                    font(SMALL)
                        .color(&kit::MUTED)
                        .pos(Pos::new(HPos::Right, VPos::Bottom)),
                ),
        ))?;
    }
    Ok(())
}

/// Labels the points (or only the frontier's), one label for points drawn on top of each
/// other, placed clear of each other and of the other points.
fn draw_labels(c: &mut Chart, sc: &Scatter, on_front: &[bool], x: &Axis, y: &Axis) -> R {
    let mut candidates: Vec<usize> = (0..sc.points.len())
        .filter(|k| !sc.label_frontier_only || on_front[*k])
        .collect();
    // Past MAX_LABELS, an evenly spaced selection of them (in point order): more would not
    // be read, and placing them takes time quadratic in their number.
    if candidates.len() > MAX_LABELS {
        let n = candidates.len();
        candidates = (0..MAX_LABELS)
            .map(|k| candidates[k * (n - 1) / (MAX_LABELS - 1)])
            .collect();
    }
    let mut labelled = vec![false; sc.points.len()];
    for &k in &candidates {
        labelled[k] = true;
    }
    // Points drawn on top of each other share one label.
    let mut shown: Vec<usize> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut px: Vec<(i32, i32)> = Vec::new();
    for &k in &candidates {
        let p = c.backend_coord(&(sc.points[k].x, sc.points[k].y));
        match px
            .iter()
            .position(|q| (q.0 - p.0).abs() <= 5 && (q.1 - p.1).abs() <= 5)
        {
            Some(g) => {
                counts[g] += 1;
                let both = format!("{}, {}", labels[g], sc.points[k].label);
                if counts[g] == 2 && both.chars().count() <= 48 {
                    labels[g] = both;
                } else {
                    let first = &sc.points[shown[g]].label;
                    labels[g] = format!("{first} and {} more at this spot", counts[g] - 1);
                }
            }
            None => {
                shown.push(k);
                counts.push(1);
                labels.push(sc.points[k].label.clone());
                px.push(p);
            }
        }
    }
    let (xr, yr) = (
        c.backend_coord(&(x.lo, y.hi)),
        c.backend_coord(&(x.hi, y.lo)),
    );
    let others: Vec<(i32, i32)> = (0..sc.points.len())
        .filter(|k| !labelled[*k])
        .map(|k| c.backend_coord(&(sc.points[k].x, sc.points[k].y)))
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
        let p = (sc.points[k].x, sc.points[k].y);
        if dy != 0 {
            let w = text_w(&label, SMALL) + 4;
            // To the label's near end; straight up or down to its edge when it spans the point.
            let (tx, ty) = if dx < 0 && dx + w > 0 {
                (0, dy - dy.signum() * 8)
            } else if dx < 0 {
                (dx + w, dy)
            } else {
                (dx, dy)
            };
            c.draw_series(std::iter::once(
                EmptyElement::at(p)
                    + PathElement::new(vec![(0, 0), (tx, ty)], kit::AXIS.stroke_width(1)),
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
}

/// The size of the first screen's cost-against-speed chart, in SVG pixels.
pub const ANSWER_SIZE: (u32, u32) = (640, 540);

/// SLO bounds to draw on the cost-against-speed chart: a `max` on p95 session duration
/// (vertical) or on cost per 1K sessions (horizontal) that applies to every variant.
fn slo_guides(run: &Run) -> (Vec<Guide>, Vec<Guide>) {
    let (mut xg, mut yg) = (Vec::new(), Vec::new());
    for o in run.summary.slo.iter().filter(|o| o.variants.is_empty()) {
        match (o.metric.replace(' ', "").as_str(), o.max) {
            ("sessions.duration_ms.p95", Some(m)) => {
                xg.push((m / 1e3, format!("SLO: p95 ≤ {}", fmt_secs(m))));
            }
            ("cost_usd.per_1k_sessions", Some(m)) => {
                yg.push((m, format!("SLO: ≤ {} per 1K sessions", fmt_usd(m))));
            }
            _ => {}
        }
    }
    (xg, yg)
}

/// Cost per 1K completed sessions against p95 session duration, one point per variant: hollow
/// when it misses an SLO, ringed wide when it is the verdict at its load, the Pareto frontier
/// of each load dashed, SLO bounds on either axis dotted.
pub fn cost_vs_p95(run: &Run) -> Result<Figure> {
    let title = "Cost against speed";
    let s = &run.summary;
    let groups = load_groups(s);
    let picks: Vec<usize> = verdicts(s, &groups).iter().filter_map(|g| g.pick).collect();
    // When every variant truncates, the caption says so once instead of every label.
    let all_cut = s.variants.iter().all(truncates);
    let points: Vec<Pt> = s
        .variants
        .iter()
        .enumerate()
        .filter(|(_, v)| has_sessions(v))
        .map(|(i, v)| Pt {
            x: v.sessions.duration_ms.p95 / 1e3,
            y: v.cost_usd.per_1k_sessions,
            label: if truncates(v) && !all_cut {
                format!("{} (cuts {})", v.name, fmt_ratio(truncated_ratio(v)))
            } else {
                v.name.clone()
            },
            color: i,
            group: groups
                .iter()
                .position(|g| g.members.contains(&i))
                .unwrap_or(0),
            hollow: !meets(s, i),
            pick: picks.contains(&i),
        })
        .collect();
    let grey = kit::MUTED;
    let bar = if s.slo.is_empty() {
        ("under 1% failed", "1% or more failed")
    } else {
        ("meets every SLO", "misses an SLO")
    };
    let mut legend = vec![(bar.0.to_string(), Mark::Dot(grey))];
    if points.iter().any(|p| p.hollow) {
        legend.push((bar.1.to_string(), Mark::Hollow(grey)));
    }
    if !picks.is_empty() {
        legend.push(("verdict".to_string(), Mark::Ringed(grey)));
    }
    let (x_guides, y_guides) = slo_guides(run);
    let subtitle = if groups.len() > 1 {
        "One dot per variant; dashed: the Pareto frontier at each load."
    } else {
        "One dot per variant; dashed: the Pareto frontier."
    };
    let svg = scatter(&Scatter {
        title,
        subtitle,
        x_desc: "p95 session duration, seconds",
        y_desc: "USD per 1,000 completed sessions",
        size: ANSWER_SIZE,
        points,
        label_frontier_only: false,
        legend,
        x_guides,
        y_guides,
    })?;
    let mut caption = "Lower left is better. Ringed dots are on the Pareto frontier of their \
        load: nothing at the same load is both faster and cheaper. Cost is what the run's \
        tokens (standard deployments) and reserved PTU hours (provisioned) cost, divided by \
        the sessions that completed."
        .to_string();
    if all_cut {
        caption += " Every variant cuts more than 1% of its answers short (max_tokens).";
    } else if s.variants.iter().any(truncates) {
        caption += " “cuts” marks a variant that cuts more than 1% of its answers short \
            (max_tokens): faster and cheaper, but its answers are not the same.";
    }
    let none: Vec<&str> = s
        .variants
        .iter()
        .filter(|v| !has_sessions(v))
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
