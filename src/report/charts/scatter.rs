//! Cost against speed: a labelled scatter with the Pareto frontier dashed, for the variants
//! of a run ([`cost_vs_p95`]) and the points of a sweep.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Figure, R};
use crate::error::Result;
use crate::report::kit::{
    self, Axis, Boxr, Chart, Mark, MeshSpec, SMALL, W, bold, font, legend_row, render, text_w,
    tick, titled, vstyle,
};
use crate::report::load::Run;
use crate::words::esc;
use crate::words::run::has_sessions;

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
    let mut on_front = vec![false; xs.len()];
    for &i in &front {
        on_front[i] = true;
    }
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
            let on_front = on_front[k];
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
        draw_labels(&mut c, sc, &on_front, &x, &y)
    })
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
        .filter(|k| !labelled[*k])
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
}

/// Cost per 1K completed sessions against p95 session duration, one point per variant.
pub fn cost_vs_p95(run: &Run) -> Result<Figure> {
    let title = "Cost against speed: cost per 1,000 sessions vs p95 session duration";
    let points: Vec<(f64, f64, String, usize)> = run
        .summary
        .variants
        .iter()
        .enumerate()
        .filter(|(_, v)| has_sessions(v))
        .map(|(i, v)| {
            (
                v.sessions.duration_ms.p95 / 1e3,
                v.cost_usd.per_1k_sessions,
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
        .summary
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
