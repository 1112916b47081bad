//! The cost-against-speed chart of a sweep: cost per 1K sessions against p95 session at
//! every (point, variant), with the Pareto frontier of each load level (points at different
//! loads are not alternatives to each other), the verdict of each level ringed wide, and
//! points that miss an SLO hollow.

use super::model::{Metric, Sweep};
use super::words::{meets_all, picks, truncated_pct, truncates};
use crate::error::Result;
use crate::report::charts::{Figure, Pt, Scatter, scatter};
use crate::report::kit::{self, Mark, vstyle};
use crate::words::fmt_ratio;

/// The size of the sweep's cost-against-speed chart, in SVG pixels.
pub const SIZE: (u32, u32) = (640, 540);

/// Cost per 1K sessions against p95 session over every (point, variant), Pareto frontier of
/// each load level marked.
pub fn pareto_chart(s: &Sweep) -> Result<Figure> {
    let title = "Cost against speed at every grid point";
    let (p95, cost) = (Metric::session_p95(), Metric::cost_per_1k());
    let chosen: Vec<(usize, &str)> = picks(s).into_iter().filter_map(|p| p.1).collect();
    let mut points = Vec::new();
    for p in &s.points {
        for v in &s.variants {
            if let (Some(a), Some(b)) = (s.stat(&p95, p.index, v), s.stat(&cost, p.index, v)) {
                let mut label = if s.variants.len() > 1 {
                    format!("{v}: {}", s.point_label(p.index))
                } else {
                    s.point_label(p.index)
                };
                if truncates(s, p.index, v) {
                    let t = truncated_pct(s, p.index, v).unwrap_or(0.0);
                    label += &format!(" (cuts {})", fmt_ratio(t / 100.0));
                }
                points.push(Pt {
                    x: a.mean,
                    y: b.mean,
                    label,
                    color: s.variant_index(v),
                    group: s.level(p.index, v),
                    hollow: meets_all(s, p.index, v) == Some(false),
                    pick: chosen.contains(&(p.index, v.as_str())),
                });
            }
        }
    }
    let many = points.len() > 10;
    let mut legend: Vec<(String, Mark)> = if s.variants.len() > 1 {
        s.variants
            .iter()
            .enumerate()
            .map(|(i, v)| (v.clone(), Mark::Dot(vstyle(i).color)))
            .collect()
    } else {
        Vec::new()
    };
    if !s.slos.is_empty() {
        legend.push(("meets every SLO".into(), Mark::Dot(kit::MUTED)));
    }
    if points.iter().any(|p| p.hollow) {
        legend.push(("misses an SLO".into(), Mark::Hollow(kit::MUTED)));
    }
    if !chosen.is_empty() {
        legend.push(("verdict".into(), Mark::Ringed(kit::MUTED)));
    }
    let per_load = s.levels.len() > 1;
    let subtitle = match (many, per_load) {
        (true, true) => "Labelled: the Pareto frontier (dashed) at each load.",
        (true, false) => "Labelled: the Pareto frontier (dashed).",
        (false, true) => "One dot per point and variant; dashed: the frontier at each load.",
        (false, false) => "One dot per point and variant; dashed: the Pareto frontier.",
    };
    let svg = scatter(&Scatter {
        title,
        subtitle,
        x_desc: "p95 session duration, seconds",
        y_desc: "USD per 1,000 completed sessions",
        size: SIZE,
        points,
        label_frontier_only: many,
        legend,
        x_guides: Vec::new(),
        y_guides: Vec::new(),
    })?;
    let mut caption = String::from(
        "Points on a frontier are the only ones worth choosing between: every other point at \
         the same load is beaten on both speed and cost by one of them.",
    );
    if per_load {
        caption += " Each load (users or arrival rate) has its own frontier: a point at \
                    another load is not an alternative.";
    }
    caption += " Points where no session completed are not shown.";
    Ok(Figure {
        id: "pareto".into(),
        title: title.into(),
        svg,
        caption,
    })
}
