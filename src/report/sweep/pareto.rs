//! The cost-against-speed chart of a sweep: cost per 1K sessions against p95 session at
//! every (point, variant), with the Pareto frontier.

use super::model::{Metric, Sweep};
use crate::error::Result;
use crate::report::charts::{Figure, Scatter, scatter};
use crate::report::kit::{Mark, vstyle};

/// Cost per 1K sessions against p95 session over every (point, variant), Pareto frontier
/// marked.
pub fn pareto_chart(s: &Sweep) -> Result<Figure> {
    let title = "Cost against speed at every grid point";
    let (p95, cost) = (Metric::session_p95(), Metric::cost_per_1k());
    let mut points = Vec::new();
    for p in &s.points {
        for v in &s.variants {
            if let (Some(a), Some(b)) = (s.stat(&p95, p.index, v), s.stat(&cost, p.index, v)) {
                let label = if s.variants.len() > 1 {
                    format!("{v}: {}", s.point_label(p.index))
                } else {
                    s.point_label(p.index)
                };
                points.push((a.mean, b.mean, label, s.variant_index(v)));
            }
        }
    }
    let many = points.len() > 10;
    let legend: Vec<(String, Mark)> = if s.variants.len() > 1 {
        s.variants
            .iter()
            .enumerate()
            .map(|(i, v)| (v.clone(), Mark::Dot(vstyle(i).color)))
            .collect()
    } else {
        Vec::new()
    };
    let svg = scatter(&Scatter {
        title,
        subtitle: if many {
            "One dot per point and variant; the frontier (ringed, dashed, labelled): nothing else is both faster and cheaper."
        } else {
            "One dot per point and variant; ringed dots are on the Pareto frontier (dashed)."
        },
        x_desc: "p95 session duration, seconds",
        y_desc: "USD per 1,000 completed sessions",
        points,
        label_frontier_only: many,
        legend,
    })?;
    Ok(Figure {
        id: "pareto".into(),
        title: title.into(),
        svg,
        caption: "Points on the frontier are the only ones worth choosing between: every other \
            point is beaten on both speed and cost by one of them. Points where no session \
            completed are not shown."
            .into(),
    })
}
