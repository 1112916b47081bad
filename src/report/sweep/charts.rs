//! Metric charts of a sweep: one metric against the swept parameter chosen for the x axis,
//! one line per variant (and per combination of the other parameters, as shades), with 95%
//! confidence bands over replications and the SLO bound when charting an SLO.

use std::collections::{BTreeMap, BTreeSet};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use super::model::{Metric, SloView, Stat, Sweep, value_text};
use crate::error::Result;
use crate::report::charts::Figure;
use crate::report::kit::{
    self, Area, Axis, Chart, DErr, Dash, LABEL, Mark, MeshSpec, Shape, W, font, legend,
    legend_width, line, render, tick, tint, titled, vstyle,
};
use crate::sweep::short_key;
use crate::words::esc;

/// How the x axis of the metric charts is laid out.
#[derive(Clone, Debug)]
pub struct XPlan {
    /// Index into `params` of the x parameter (`None`: x is the point index).
    param: Option<usize>,
    /// Numeric (else categorical, by index into `cats`).
    numeric: bool,
    cats: Vec<String>,
    /// Position of each category in `cats`.
    cat_ix: BTreeMap<String, usize>,
    /// Facets: the points of each combination of the other parameters, with a label.
    pub facets: Vec<Facet>,
}

/// The points of one combination of the other parameters, with its label.
pub type Facet = (String, Vec<usize>);

fn num_of(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// Chooses the x parameter (the first numeric one that varies, else the first that varies)
/// and groups the points by the values of the others.
pub fn plan(s: &Sweep) -> XPlan {
    // Distinct values per parameter, by their JSON text (equal values, equal text).
    let distinct: Vec<usize> = (0..s.params.len())
        .map(|k| {
            let seen: BTreeSet<String> = s.points.iter().map(|p| p.values[k].to_string()).collect();
            seen.len()
        })
        .collect();
    let numeric_param = (0..s.params.len())
        .find(|&k| distinct[k] > 1 && s.points.iter().all(|p| num_of(&p.values[k]).is_some()));
    let param = numeric_param.or_else(|| (0..s.params.len()).find(|&k| distinct[k] > 1));
    let numeric = numeric_param.is_some() || param.is_none();
    let mut cats: Vec<String> = Vec::new();
    let mut cat_ix: BTreeMap<String, usize> = BTreeMap::new();
    if let (Some(k), false) = (param, numeric) {
        for p in &s.points {
            let t = value_text(&p.values[k]);
            if !cat_ix.contains_key(&t) {
                cat_ix.insert(t.clone(), cats.len());
                cats.push(t);
            }
        }
    }
    let short = s.short_params();
    let mut facets: Vec<Facet> = Vec::new();
    let mut facet_ix: BTreeMap<String, usize> = BTreeMap::new();
    for p in &s.points {
        let label = (0..s.params.len())
            .filter(|&k| Some(k) != param && distinct[k] > 1)
            .map(|k| format!("{}={}", short[k], value_text(&p.values[k])))
            .collect::<Vec<_>>()
            .join(", ");
        match facet_ix.get(&label) {
            Some(&f) => facets[f].1.push(p.index),
            None => {
                facet_ix.insert(label.clone(), facets.len());
                facets.push((label, vec![p.index]));
            }
        }
    }
    XPlan {
        param,
        numeric,
        cats,
        cat_ix,
        facets,
    }
}

impl XPlan {
    fn x_of(&self, s: &Sweep, point: usize) -> Option<f64> {
        let p = s.point(point)?;
        match self.param {
            None => Some(point as f64),
            Some(k) if self.numeric => num_of(&p.values[k]),
            Some(k) => self
                .cat_ix
                .get(&value_text(&p.values[k]))
                .map(|&i| i as f64),
        }
    }

    fn axis(&self, xs: &[f64]) -> Axis {
        if !self.numeric {
            return Axis {
                lo: -0.5,
                hi: self.cats.len().max(1) as f64 - 0.5,
                log: false,
                ticks: (0..self.cats.len()).map(|i| i as f64).collect(),
            };
        }
        let mut vals: Vec<f64> = xs.to_vec();
        vals.sort_by(f64::total_cmp);
        vals.dedup();
        let (lo, hi) = (
            vals.first().copied().unwrap_or(0.0),
            vals.last().copied().unwrap_or(1.0),
        );
        if lo > 0.0 && hi / lo >= 10.0 {
            // 4% of the range on a log scale each side (through logarithms when the ratio
            // overflows).
            let r = hi / lo;
            let pad = if r.is_finite() {
                r.powf(0.04)
            } else {
                ((hi.ln() - lo.ln()) * 0.04).exp()
            };
            let mut a = Axis::log_fit(lo / pad, hi * pad);
            if vals.len() <= 12 {
                a.ticks = vals;
            }
            a
        } else {
            let pad = if hi > lo { (hi - lo) * 0.04 } else { 0.5 };
            let mut a = Axis::linear(lo - pad, hi + pad, 8);
            a.lo = lo - pad;
            a.hi = hi + pad;
            if vals.len() <= 12 {
                a.ticks = vals;
            } else {
                a.ticks.retain(|t| *t >= a.lo && *t <= a.hi);
            }
            a
        }
    }

    fn desc(&self, s: &Sweep) -> String {
        match self.param {
            Some(k) => s.params[k].clone(),
            None => "point".into(),
        }
    }

    /// The x tick label of `v`.
    fn x_label(&self, v: f64) -> String {
        if self.numeric {
            tick(v)
        } else {
            self.cats
                .get(v.round().max(0.0) as usize)
                .cloned()
                .unwrap_or_default()
        }
    }
}

/// The colour of facet `k` of `n` for a variant colour: one hue per variant, darker to
/// lighter across the facets (a sequential encoding of the other parameter).
fn shade(c: RGBColor, k: usize, n: usize) -> RGBColor {
    if n <= 1 {
        return c;
    }
    let t = -0.3 + 0.9 * k as f64 / (n - 1) as f64;
    if t < 0.0 {
        let m = |x: u8| (x as f64 * (1.0 + t)).round() as u8;
        RGBColor(m(c.0), m(c.1), m(c.2))
    } else {
        tint(c, t)
    }
}

/// One line of a metric chart.
struct Line {
    label: String,
    color: RGBColor,
    dash: Dash,
    shape: Shape,
    /// (x, stat, misses the SLO), sorted by x.
    pts: Vec<(f64, Stat, bool)>,
}

/// What a metric chart shows: the request of [`metric_chart`].
struct Spec<'a> {
    s: &'a Sweep,
    plan: &'a XPlan,
    m: &'a Metric,
    facets: &'a [&'a Facet],
    slo: Option<&'a SloView>,
}

/// The lines: one per variant (that the SLO applies to) and facet with data.
fn lines(sp: &Spec) -> Vec<Line> {
    let (s, facets) = (sp.s, sp.facets);
    let mut lines: Vec<Line> = Vec::new();
    for (vi, vname) in s.variants.iter().enumerate() {
        if let Some(o) = sp.slo
            && !o.variants.is_empty()
            && !o.variants.contains(vname)
        {
            continue;
        }
        for (fi, facet) in facets.iter().enumerate() {
            let mut pts: Vec<(f64, Stat, bool)> = facet
                .1
                .iter()
                .filter_map(|&p| {
                    let x = sp.plan.x_of(s, p)?;
                    let st = s.stat(sp.m, p, vname)?;
                    let fail = sp
                        .slo
                        .and_then(|o| o.result(p, vname))
                        .is_some_and(|r| !r.1);
                    Some((x, st, fail))
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            if pts.is_empty() {
                continue;
            }
            let st = vstyle(vi);
            let label = match (s.variants.len() > 1, facets.len() > 1) {
                (true, true) => format!("{vname}, {}", facet.0),
                (false, true) => facet.0.clone(),
                _ => vname.clone(),
            };
            let (dash, shape) = if facets.len() > 1 {
                (
                    [Dash::Solid, Dash::Dashed, Dash::Dotted][fi % 3],
                    Shape::nth(fi),
                )
            } else {
                (st.dash, Shape::Circle)
            };
            lines.push(Line {
                label,
                color: shade(st.color, fi, facets.len()),
                dash,
                shape,
                pts,
            });
        }
    }
    lines
}

fn title(sp: &Spec) -> String {
    let mut title = format!("{} vs {}", sp.m.title, short_key(&sp.plan.desc(sp.s)));
    if sp.facets.len() == 1 && !sp.facets[0].0.is_empty() {
        title += &format!(" ({})", sp.facets[0].0);
    }
    if let Some(slo) = sp.slo {
        title = format!("SLO “{}”: {}", slo.name, lower_first(&title));
    }
    title
}

fn subtitle(s: &Sweep, lines: &[Line]) -> String {
    let spread = lines.iter().any(|l| l.pts.iter().any(|p| p.1.ci95 > 0.0));
    if s.replications > 1 && spread {
        format!(
            "Mean of {} replications per point; shaded band: 95% confidence interval.",
            s.replications
        )
    } else if s.replications > 1 {
        format!(
            "Mean of {} replications per point (they agree: no confidence band to draw).",
            s.replications
        )
    } else {
        "One run per point and variant.".to_string()
    }
}

fn caption(sp: &Spec) -> String {
    let s = sp.s;
    let mut caption = format!(
        "Each line is one {}; each dot one grid point{}.",
        match (s.variants.len() > 1, sp.facets.len() > 1) {
            (true, true) => "variant (colour) and value of the other parameters (shade)",
            (false, true) => "value of the other parameters (darker to lighter)",
            _ => "variant",
        },
        if s.replications > 1 {
            ", the mean over its replications"
        } else {
            ""
        }
    );
    if let Some(o) = sp.slo {
        caption += &format!(
            " The dashed line is the SLO bound (<code>{}</code> {}); a cross marks a point where it is missed.",
            esc(&o.metric),
            esc(&o.bound_text())
        );
    }
    caption
}

/// One metric against the x parameter: one line per variant and facet (the facets given are
/// drawn in the same chart, shaded).
pub fn metric_chart(
    s: &Sweep,
    plan: &XPlan,
    m: &Metric,
    facets: &[&Facet],
    slo: Option<&SloView>,
    id: String,
) -> Result<Figure> {
    let sp = Spec {
        s,
        plan,
        m,
        facets,
        slo,
    };
    let title = title(&sp);
    let lines = lines(&sp);
    let xs: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.pts.iter().map(|p| p.0))
        .collect();
    let x = plan.axis(&xs);
    let threshold: Vec<f64> = slo
        .map(|o| {
            o.min
                .into_iter()
                .chain(o.max)
                .map(|b| b * m.scale)
                .collect()
        })
        .unwrap_or_default();
    let y_hi = lines
        .iter()
        .flat_map(|l| l.pts.iter().map(|p| p.1.mean + p.1.ci95))
        .chain(threshold.iter().copied())
        .fold(0.0, f64::max);
    let y = Axis::linear(0.0, if y_hi > 0.0 { y_hi * 1.08 } else { 1.0 }, 6);
    let mut labels: Vec<String> = lines.iter().map(|l| l.label.clone()).collect();
    if slo.is_some() {
        labels.push("misses the SLO".into());
    }
    let h = 470u32.max(130 + 22 * (labels.len() as u32 + 1));
    let sub = subtitle(s, &lines);
    let svg = render(W, h, &title, |root| {
        let area = titled(root, &title, Some(&sub))?;
        let lw = legend_width(&labels);
        let (plot, side) = area.split_horizontally(W as i32 - lw - 10);
        let mut c = metric_axes(&plot, &sp, x.clone(), y.clone())?;
        for t in &threshold {
            c.draw_series(DashedLineSeries::new(
                vec![(x.lo, *t), (x.hi, *t)],
                8,
                5,
                kit::INK.stroke_width(2),
            ))?;
        }
        for l in &lines {
            draw_line(&mut c, l)?;
        }
        if let (Some(o), Some(t)) = (slo, threshold.last()) {
            c.draw_series(std::iter::once(
                EmptyElement::at((x.hi, *t))
                    + Text::new(
                        format!("SLO {}", o.bound_text()),
                        (-6, -4),
                        kit::bold(kit::SMALL).pos(Pos::new(HPos::Right, VPos::Bottom)),
                    ),
            ))?;
        }
        metric_legend(&side, &lines, slo.is_some())
    })?;
    Ok(Figure {
        id,
        title,
        svg,
        caption: caption(&sp),
    })
}

/// The chart's axes, grid and axis labels.
fn metric_axes<'a, 'b>(
    plot: &'a Area<'b>,
    sp: &Spec,
    x: Axis,
    y: Axis,
) -> std::result::Result<Chart<'a, 'b>, DErr> {
    let ylabels: Vec<String> = y.ticks.iter().map(|t| tick(*t)).collect();
    let log_note = if x.log { " (log scale)" } else { "" };
    let x_desc = format!("{}{log_note}", sp.plan.desc(sp.s));
    kit::chart(
        plot,
        x,
        y,
        kit::y_label_width(&ylabels, true),
        &MeshSpec {
            x_desc: &x_desc,
            y_desc: &sp.m.axis,
            x_fmt: &|v| sp.plan.x_label(*v),
            y_fmt: &|v| tick(*v),
            x_grid: true,
            y_grid: true,
        },
    )
}

/// One line: its confidence band and error bars, the line, its markers and SLO crosses.
fn draw_line(c: &mut Chart, l: &Line) -> std::result::Result<(), DErr> {
    let pts = &l.pts;
    if pts.iter().any(|p| p.1.ci95 > 0.0) && pts.len() > 1 {
        let mut poly: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1.mean + p.1.ci95)).collect();
        poly.extend(
            pts.iter()
                .rev()
                .map(|p| (p.0, (p.1.mean - p.1.ci95).max(0.0))),
        );
        c.draw_series(std::iter::once(Polygon::new(
            poly,
            tint(l.color, 0.6).mix(0.4).filled(),
        )))?;
    }
    for p in pts.iter().filter(|p| p.1.ci95 > 0.0) {
        c.draw_series(std::iter::once(PathElement::new(
            vec![
                (p.0, (p.1.mean - p.1.ci95).max(0.0)),
                (p.0, p.1.mean + p.1.ci95),
            ],
            l.color.stroke_width(1),
        )))?;
    }
    let at: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1.mean)).collect();
    line(c, at.clone(), l.color, l.dash, 3)?;
    kit::markers(c, &at, l.shape, l.color)?;
    c.draw_series(
        pts.iter()
            .filter(|p| p.2)
            .map(|p| Cross::new((p.0, p.1.mean), 7, kit::INK.stroke_width(2))),
    )?;
    Ok(())
}

fn metric_legend(side: &Area, lines: &[Line], slo: bool) -> std::result::Result<(), DErr> {
    let entries: Vec<(String, Mark)> = lines
        .iter()
        .map(|l| (l.label.clone(), Mark::LineMarker(l.color, l.dash, l.shape)))
        .collect();
    legend(side, 4, 24, &entries)?;
    if slo {
        let y0 = 24 + 22 * entries.len() as i32 + 9;
        side.draw(&Cross::new((18, y0), 7, kit::INK.stroke_width(2)))?;
        side.draw_text(
            "misses the SLO",
            &font(LABEL).pos(Pos::new(HPos::Left, VPos::Center)),
            (40, y0),
        )?;
    }
    Ok(())
}

/// The text with its first letter lowercased unless it starts an acronym or a name (`p95`,
/// `SLO`).
fn lower_first(text: &str) -> String {
    let mut c = text.chars();
    match c.next() {
        Some(f) if c.clone().next().is_some_and(|n| n.is_lowercase()) => {
            f.to_lowercase().chain(c).collect()
        }
        Some(f) => std::iter::once(f).chain(c).collect(),
        None => String::new(),
    }
}
