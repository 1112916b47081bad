//! The report of a sweep (`sweep.json`, schema `spillway.sweep/v1`): metrics against the
//! swept parameter with one line per variant (95% confidence bands when there are
//! replications), cost against p95 over every point with the Pareto frontier, and SLO pass/fail.
//!
//! The reader is tolerant: a missing `slo` key means no SLOs, a run without a `replication`
//! counts as replication 0, and a point's values may be numbers, strings or booleans.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use super::charts::{Figure, Scatter, pareto, scatter};
use super::html;
use super::kit::{
    self, Axis, Dash, LABEL, Mark, MeshSpec, Shape, W, font, legend, legend_width, line, render,
    tick, tint, titled, vstyle,
};
use super::words::{Sentence, Table, esc, fmt_ratio, fmt_secs, fmt_usd};
use crate::error::{Error, Result};
use crate::slo::{lookup, parse_path};

/// One grid point: its index and the value of each swept parameter (in parameter order).
#[derive(Clone, Debug)]
pub struct Point {
    pub index: u64,
    pub values: Vec<Value>,
}

/// One run of the sweep: a point, a variant, a replication and its variant summary.
#[derive(Clone, Debug)]
pub struct RunRec {
    pub point: u64,
    pub variant: String,
    pub replication: u64,
    pub summary: Value,
}

/// One SLO result.
#[derive(Clone, Debug)]
pub struct SloResult {
    pub point: u64,
    pub variant: String,
    pub value: Option<f64>,
    pub pass: bool,
}

/// One `[[slo]]` entry with its results.
#[derive(Clone, Debug)]
pub struct SloView {
    pub name: String,
    pub metric: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Variants it applies to (empty: all).
    pub variants: Vec<String>,
    pub results: Vec<SloResult>,
}

impl SloView {
    /// The bound as text in the metric's display unit, e.g. `≤ 120 s`.
    pub fn bound_text(&self) -> String {
        let m = Metric::from_expr(&self.metric);
        let show = |x: f64| format!("{}{}", tick(x * m.scale), m.unit_suffix);
        match (self.min, self.max) {
            (Some(lo), Some(hi)) => format!("between {} and {}", show(lo), show(hi)),
            (None, Some(hi)) => format!("≤ {}", show(hi)),
            (Some(lo), None) => format!("≥ {}", show(lo)),
            (None, None) => String::new(),
        }
    }

    /// The result for a (point, variant), combining duplicates (all must pass).
    pub fn result(&self, point: u64, variant: &str) -> Option<(Option<f64>, bool)> {
        let rs: Vec<&SloResult> = self
            .results
            .iter()
            .filter(|r| r.point == point && r.variant == variant)
            .collect();
        if rs.is_empty() {
            return None;
        }
        let vals: Vec<f64> = rs.iter().filter_map(|r| r.value).collect();
        let value = if vals.is_empty() {
            None
        } else {
            Some(vals.iter().sum::<f64>() / vals.len() as f64)
        };
        Some((value, rs.iter().all(|r| r.pass)))
    }
}

/// A sweep document.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub scenario: String,
    pub seed: Option<u64>,
    pub params: Vec<String>,
    pub replications: u64,
    pub points: Vec<Point>,
    /// Variant names in order of first appearance.
    pub variants: Vec<String>,
    pub runs: Vec<RunRec>,
    pub slos: Vec<SloView>,
}

fn bad(m: impl Into<String>) -> Error {
    Error::Usage(m.into())
}

impl Sweep {
    /// Reads a `spillway.sweep/v1` document.
    pub fn from_json(v: &Value) -> Result<Sweep> {
        let runs_v = v
            .get("runs")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no 'runs' array (is this a spillway sweep?)"))?;
        let mut params: Vec<String> = v
            .get("parameters")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let pts_v = v
            .get("points")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if params.is_empty() {
            // Take the parameter names from the points, in first-seen order.
            for p in &pts_v {
                if let Some(m) = p.get("values").and_then(Value::as_object) {
                    for k in m.keys() {
                        if !params.contains(k) {
                            params.push(k.clone());
                        }
                    }
                }
            }
        }
        let mut points: Vec<Point> = pts_v
            .iter()
            .enumerate()
            .map(|(i, p)| Point {
                index: p.get("point").and_then(Value::as_u64).unwrap_or(i as u64),
                values: params
                    .iter()
                    .map(|k| {
                        p.get("values")
                            .and_then(|m| m.get(k))
                            .cloned()
                            .unwrap_or(Value::Null)
                    })
                    .collect(),
            })
            .collect();
        let mut runs = Vec::new();
        let mut variants: Vec<String> = v
            .get("variants")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for (k, r) in runs_v.iter().enumerate() {
            let summary = r.get("summary").cloned().unwrap_or(Value::Null);
            let variant = r
                .get("variant")
                .and_then(Value::as_str)
                .or_else(|| summary.get("name").and_then(Value::as_str))
                .ok_or_else(|| bad(format!("runs[{k}]: no variant name")))?
                .to_string();
            let point = r
                .get("point")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(format!("runs[{k}]: no point index")))?;
            if !variants.contains(&variant) {
                variants.push(variant.clone());
            }
            if !points.iter().any(|p| p.index == point) {
                points.push(Point {
                    index: point,
                    values: vec![Value::Null; params.len()],
                });
            }
            runs.push(RunRec {
                point,
                variant,
                replication: r.get("replication").and_then(Value::as_u64).unwrap_or(0),
                summary,
            });
        }
        points.sort_by_key(|p| p.index);
        let slos = v
            .get("slo")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|s| SloView {
                        name: s
                            .get("name")
                            .and_then(Value::as_str)
                            .or_else(|| s.get("metric").and_then(Value::as_str))
                            .unwrap_or("slo")
                            .to_string(),
                        metric: s
                            .get("metric")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        min: s.get("min").and_then(Value::as_f64),
                        max: s.get("max").and_then(Value::as_f64),
                        variants: match (s.get("variants"), s.get("variant")) {
                            (Some(Value::Array(a)), _) => a
                                .iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect(),
                            (_, Some(Value::String(v))) => vec![v.clone()],
                            _ => Vec::new(),
                        },
                        results: s
                            .get("results")
                            .and_then(Value::as_array)
                            .map(|rs| {
                                rs.iter()
                                    .filter_map(|r| {
                                        Some(SloResult {
                                            point: r.get("point")?.as_u64()?,
                                            variant: r
                                                .get("variant")
                                                .and_then(Value::as_str)
                                                .unwrap_or_default()
                                                .to_string(),
                                            value: r.get("value").and_then(Value::as_f64),
                                            pass: r
                                                .get("pass")
                                                .and_then(Value::as_bool)
                                                .unwrap_or(false),
                                        })
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let replications = v
            .get("replications")
            .and_then(Value::as_u64)
            .unwrap_or_else(|| runs.iter().map(|r| r.replication + 1).max().unwrap_or(1));
        Ok(Sweep {
            scenario: v
                .get("scenario")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            seed: v.get("seed").and_then(Value::as_u64),
            params,
            replications,
            points,
            variants,
            runs,
            slos,
        })
    }

    fn runs_of(&self, point: u64, variant: &str) -> impl Iterator<Item = &RunRec> {
        let variant = variant.to_string();
        self.runs
            .iter()
            .filter(move |r| r.point == point && r.variant == variant)
    }

    /// Mean and 95% confidence half-width of `m` over the replications of (point, variant).
    pub fn stat(&self, m: &Metric, point: u64, variant: &str) -> Option<Stat> {
        let xs: Vec<f64> = self
            .runs_of(point, variant)
            .filter_map(|r| m.measure(&r.summary))
            .collect();
        Stat::of(&xs)
    }

    fn variant_index(&self, name: &str) -> usize {
        self.variants.iter().position(|v| v == name).unwrap_or(0)
    }

    fn point(&self, index: u64) -> Option<&Point> {
        self.points.iter().find(|p| p.index == index)
    }

    /// Short names of the parameters (`workload.users` -> `users`) when they stay unique.
    fn short_params(&self) -> Vec<String> {
        let short: Vec<String> = self
            .params
            .iter()
            .map(|p| p.rsplit('.').next().unwrap_or(p).to_string())
            .collect();
        let unique = short
            .iter()
            .enumerate()
            .all(|(i, s)| !short[..i].contains(s));
        if unique { short } else { self.params.clone() }
    }

    /// `users=4, tpm=100,000` for a point.
    pub fn point_label(&self, index: u64) -> String {
        let short = self.short_params();
        match self.point(index) {
            Some(p) if !self.params.is_empty() => short
                .iter()
                .zip(&p.values)
                .map(|(k, v)| format!("{k}={}", value_text(v)))
                .collect::<Vec<_>>()
                .join(", "),
            _ => format!("point {index}"),
        }
    }
}

/// A parameter value as text.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Number(n) => n.as_f64().map(tick).unwrap_or_else(|| n.to_string()),
        Value::String(s) => s.clone(),
        Value::Null => "?".into(),
        other => other.to_string(),
    }
}

/// Mean and confidence half-width of replications.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    pub mean: f64,
    /// 95% confidence half-width (Student t); 0 with one replication.
    pub ci95: f64,
    pub n: usize,
}

impl Stat {
    /// Mean and 95% half-width of `xs` (`None` when empty).
    pub fn of(xs: &[f64]) -> Option<Stat> {
        if xs.is_empty() {
            return None;
        }
        // The same mean and Student-t half-width as sweep.csv; 0 with one replication.
        let (mean, ci) = crate::sweep::mean_ci(xs);
        let ci95 = if ci.is_nan() { 0.0 } else { ci };
        let n = xs.len();
        Some(Stat { mean, ci95, n })
    }
}

/// A metric of a variant summary, with how to show it.
#[derive(Clone, Debug)]
pub struct Metric {
    /// What it is, for titles.
    pub title: String,
    /// Axis description, with unit.
    pub axis: String,
    /// Multiplier from the summary's unit to the shown one.
    pub scale: f64,
    /// Unit after a number (` s`, `%`, ...), for sentences and bounds.
    pub unit_suffix: &'static str,
    num: Vec<String>,
    den: Option<Vec<String>>,
    /// Meaningless without completed sessions (p95 session, cost per session).
    needs_sessions: bool,
}

impl Metric {
    fn new(
        title: &str,
        axis: &str,
        path: &str,
        scale: f64,
        unit: &'static str,
        ns: bool,
    ) -> Metric {
        Metric {
            title: title.into(),
            axis: axis.into(),
            scale,
            unit_suffix: unit,
            num: parse_path(path),
            den: None,
            needs_sessions: ns,
        }
    }

    /// p95 session duration in seconds.
    pub fn session_p95() -> Metric {
        Metric::new(
            "p95 session duration",
            "p95 session duration, seconds",
            "sessions.duration_ms.p95",
            1e-3,
            " s",
            true,
        )
    }

    /// Failed requests, percent of requests sent.
    pub fn failed_pct() -> Metric {
        Metric::new(
            "Failed requests",
            "failed requests, % of requests sent",
            "requests.failed_ratio",
            100.0,
            "%",
            false,
        )
    }

    /// Cost per 1K completed sessions.
    pub fn cost_per_1k() -> Metric {
        Metric::new(
            "Cost per 1,000 sessions",
            "USD per 1,000 completed sessions",
            "cost_usd.per_1k_sessions",
            1.0,
            " USD",
            true,
        )
    }

    /// The metric an SLO names: a dotted path into the variant summary
    /// (`sessions.duration_ms.p95`) or a ratio of two (`requests.failed / requests.sent`).
    /// Millisecond paths are shown in seconds, ratios of two counts of the same thing in
    /// percent; the common ones get plain-words names.
    pub fn from_expr(expr: &str) -> Metric {
        let e = expr.trim();
        let (num, den) = match e.split_once('/') {
            Some((a, b)) => (parse_path(a), Some(parse_path(b))),
            None => (parse_path(e), None),
        };
        let needs =
            num.first().map(String::as_str) == Some("sessions") || e.contains("per_1k_sessions");
        let n: Vec<&str> = num.iter().map(String::as_str).collect();
        let secs = |title: String| Metric {
            axis: format!("{title}, seconds"),
            title,
            scale: 1e-3,
            unit_suffix: " s",
            num: num.clone(),
            den: None,
            needs_sessions: needs,
        };
        match (n.as_slice(), &den) {
            (["sessions", "duration_ms", q], None) => return secs(format!("{q} session duration")),
            (["latency_ms", "e2e", q], None) => return secs(format!("{q} request latency")),
            (["latency_ms", "ttft", q], None) => return secs(format!("{q} time to first token")),
            (["requests", "failed_ratio"], None) => return Metric::failed_pct(),
            (["cost_usd", "per_1k_sessions"], None) => return Metric::cost_per_1k(),
            _ => {}
        }
        if let Some(d) = &den
            && d.first() == num.first()
            && d.len() == 2
            && num.len() == 2
        {
            let title = if n == ["requests", "failed"] && d[1] == "sent" {
                "Failed requests".to_string()
            } else {
                e.to_string()
            };
            return Metric {
                axis: format!("{}, % of {} {}", title.to_lowercase(), d[0], d[1]),
                title,
                scale: 100.0,
                unit_suffix: "%",
                num,
                den,
                needs_sessions: needs,
            };
        }
        if den.is_none() && num.iter().any(|s| s.ends_with("_ms")) {
            return secs(e.to_string());
        }
        Metric {
            title: e.to_string(),
            axis: e.to_string(),
            scale: 1.0,
            unit_suffix: "",
            num,
            den,
            needs_sessions: needs,
        }
    }

    /// The metric's value in a variant summary, in the shown unit.
    pub fn measure(&self, summary: &Value) -> Option<f64> {
        if self.needs_sessions
            && summary
                .get("sessions")
                .and_then(|s| s.get("completed"))
                .and_then(Value::as_u64)
                == Some(0)
        {
            return None;
        }
        let a = lookup(summary, &self.num)?;
        let v = match &self.den {
            None => a,
            Some(d) => {
                let b = lookup(summary, d)?;
                if b == 0.0 { 0.0 } else { a / b }
            }
        };
        Some(v * self.scale)
    }

    fn show(&self, x: f64) -> String {
        if self.unit_suffix == " s" {
            fmt_secs(x * 1e3)
        } else if self.unit_suffix == " USD" {
            fmt_usd(x)
        } else if self.unit_suffix == "%" {
            // Two decimals below 1%, where SLO bounds like 0.1% live.
            if x == 0.0 {
                "0%".into()
            } else if x < 0.005 {
                "<0.01%".into()
            } else if x < 1.0 {
                format!("{x:.2}%")
            } else {
                fmt_ratio(x / 100.0)
            }
        } else {
            tick((x * 1000.0).round() / 1000.0)
        }
    }
}

/// How the x axis of the metric charts is laid out.
#[derive(Clone, Debug)]
struct XPlan {
    /// Index into `params` of the x parameter (`None`: x is the point index).
    param: Option<usize>,
    /// Numeric (else categorical, by index into `cats`).
    numeric: bool,
    cats: Vec<String>,
    /// Facets: the points of each combination of the other parameters, with a label.
    facets: Vec<(String, Vec<u64>)>,
}

fn num_of(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn plan(s: &Sweep) -> XPlan {
    let distinct = |k: usize| {
        let mut seen: Vec<&Value> = Vec::new();
        for p in &s.points {
            if !seen.contains(&&p.values[k]) {
                seen.push(&p.values[k]);
            }
        }
        seen.len()
    };
    let numeric_param = (0..s.params.len())
        .find(|&k| distinct(k) > 1 && s.points.iter().all(|p| num_of(&p.values[k]).is_some()));
    let param = numeric_param.or_else(|| (0..s.params.len()).find(|&k| distinct(k) > 1));
    let numeric = numeric_param.is_some() || param.is_none();
    let mut cats: Vec<String> = Vec::new();
    if let (Some(k), false) = (param, numeric) {
        for p in &s.points {
            let t = value_text(&p.values[k]);
            if !cats.contains(&t) {
                cats.push(t);
            }
        }
    }
    let short = s.short_params();
    let mut facets: Vec<(String, Vec<u64>)> = Vec::new();
    for p in &s.points {
        let label = (0..s.params.len())
            .filter(|&k| Some(k) != param && distinct(k) > 1)
            .map(|k| format!("{}={}", short[k], value_text(&p.values[k])))
            .collect::<Vec<_>>()
            .join(", ");
        match facets.iter_mut().find(|f| f.0 == label) {
            Some(f) => f.1.push(p.index),
            None => facets.push((label, vec![p.index])),
        }
    }
    XPlan {
        param,
        numeric,
        cats,
        facets,
    }
}

impl XPlan {
    fn x_of(&self, s: &Sweep, point: u64) -> Option<f64> {
        let p = s.point(point)?;
        match self.param {
            None => Some(point as f64),
            Some(k) if self.numeric => num_of(&p.values[k]),
            Some(k) => {
                let t = value_text(&p.values[k]);
                self.cats.iter().position(|c| *c == t).map(|i| i as f64)
            }
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
            let pad = (hi / lo).powf(0.04);
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

/// One metric against the x parameter: one line per variant and facet (the facets given are
/// drawn in the same chart, shaded).
fn metric_chart(
    s: &Sweep,
    plan: &XPlan,
    m: &Metric,
    facets: &[&(String, Vec<u64>)],
    slo: Option<&SloView>,
    id: String,
) -> Result<Figure> {
    let xdesc = plan.desc(s);
    let mut title = format!("{} vs {}", m.title, short_key(&xdesc));
    if facets.len() == 1 && !facets[0].0.is_empty() {
        title += &format!(" ({})", facets[0].0);
    }
    if let Some(slo) = slo {
        title = format!("SLO “{}”: {}", slo.name, title.to_lowercase_first());
    }
    let mut lines: Vec<Line> = Vec::new();
    for (vi, vname) in s.variants.iter().enumerate() {
        if let Some(o) = slo
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
                    let x = plan.x_of(s, p)?;
                    let st = s.stat(m, p, vname)?;
                    let fail = slo.and_then(|o| o.result(p, vname)).is_some_and(|r| !r.1);
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
    let xs: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.pts.iter().map(|p| p.0))
        .collect();
    let x = plan.axis(&xs);
    let mut y_hi = lines
        .iter()
        .flat_map(|l| l.pts.iter().map(|p| p.1.mean + p.1.ci95))
        .fold(0.0, f64::max);
    let threshold: Vec<f64> = slo
        .map(|o| {
            o.min
                .into_iter()
                .chain(o.max)
                .map(|b| b * m.scale)
                .collect()
        })
        .unwrap_or_default();
    for t in &threshold {
        y_hi = y_hi.max(*t);
    }
    let y = Axis::linear(0.0, if y_hi > 0.0 { y_hi * 1.08 } else { 1.0 }, 6);
    let ylabels: Vec<String> = y.ticks.iter().map(|t| tick(*t)).collect();
    let entries: Vec<(String, Mark)> = lines
        .iter()
        .map(|l| (l.label.clone(), Mark::LineMarker(l.color, l.dash, l.shape)))
        .collect();
    let mut all_labels: Vec<String> = entries.iter().map(|e| e.0.clone()).collect();
    if slo.is_some() {
        all_labels.push("misses the SLO".into());
    }
    let lw = legend_width(&all_labels);
    let h = 470u32.max(130 + 22 * (all_labels.len() as u32 + 1));
    let spread = lines.iter().any(|l| l.pts.iter().any(|p| p.1.ci95 > 0.0));
    let sub = if s.replications > 1 && spread {
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
    };
    let cats = plan.cats.clone();
    let numeric = plan.numeric;
    let log_note = if x.log { " (log scale)" } else { "" };
    let x_desc = format!("{xdesc}{log_note}");
    let svg = render(W, h, &title, |root| {
        let area = titled(root, &title, Some(&sub))?;
        let (plot, side) = area.split_horizontally(W as i32 - lw - 10);
        let xfmt = move |v: &f64| {
            if numeric {
                tick(*v)
            } else {
                cats.get(v.round().max(0.0) as usize)
                    .cloned()
                    .unwrap_or_default()
            }
        };
        let mut c = kit::chart(
            &plot,
            x.clone(),
            y.clone(),
            kit::y_label_width(&ylabels, true),
            &MeshSpec {
                x_desc: &x_desc,
                y_desc: &m.axis,
                x_fmt: &xfmt,
                y_fmt: &|v| tick(*v),
                x_grid: true,
                y_grid: true,
            },
        )?;
        for t in &threshold {
            c.draw_series(DashedLineSeries::new(
                vec![(x.lo, *t), (x.hi, *t)],
                8,
                5,
                kit::INK.stroke_width(2),
            ))?;
        }
        for l in &lines {
            let pts = &l.pts;
            if pts.iter().any(|p| p.1.ci95 > 0.0) && pts.len() > 1 {
                let mut poly: Vec<(f64, f64)> =
                    pts.iter().map(|p| (p.0, p.1.mean + p.1.ci95)).collect();
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
            line(
                &mut c,
                pts.iter().map(|p| (p.0, p.1.mean)).collect(),
                l.color,
                l.dash,
                3,
            )?;
            let at: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1.mean)).collect();
            kit::markers(&mut c, &at, l.shape, l.color)?;
            c.draw_series(
                pts.iter()
                    .filter(|p| p.2)
                    .map(|p| Cross::new((p.0, p.1.mean), 7, kit::INK.stroke_width(2))),
            )?;
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
        legend(&side, 4, 24, &entries)?;
        if slo.is_some() {
            let y0 = 24 + 22 * entries.len() as i32 + 9;
            side.draw(&Cross::new((18, y0), 7, kit::INK.stroke_width(2)))?;
            side.draw_text(
                "misses the SLO",
                &font(LABEL).pos(Pos::new(HPos::Left, VPos::Center)),
                (40, y0),
            )?;
        }
        Ok(())
    })?;
    let mut caption = format!(
        "Each line is one {}; each dot one grid point{}.",
        match (s.variants.len() > 1, facets.len() > 1) {
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
    if let Some(o) = slo {
        caption += &format!(
            " The dashed line is the SLO bound (<code>{}</code> {}); a cross marks a point where it is missed.",
            esc(&o.metric),
            esc(&o.bound_text())
        );
    }
    Ok(Figure {
        id,
        title,
        svg,
        caption,
    })
}

fn short_key(k: &str) -> &str {
    k.rsplit('.').next().unwrap_or(k)
}

trait LowerFirst {
    fn to_lowercase_first(&self) -> String;
}

impl LowerFirst for String {
    fn to_lowercase_first(&self) -> String {
        let mut c = self.chars();
        match c.next() {
            Some(f) if c.clone().next().is_some_and(|n| n.is_lowercase()) => {
                f.to_lowercase().chain(c).collect()
            }
            Some(f) => std::iter::once(f).chain(c).collect(),
            None => String::new(),
        }
    }
}

/// Cost per 1K sessions against p95 session over every (point, variant), Pareto frontier
/// marked.
fn pareto_chart(s: &Sweep) -> Result<Figure> {
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

fn intro(s: &Sweep) -> Sentence {
    let mut t = Sentence::default()
        .text("Sweep of scenario ")
        .code(&s.scenario);
    if let Some(seed) = s.seed {
        t = t.text(format!(", seed {seed}"));
    }
    t = t.text(format!(
        ": {} point{} over ",
        s.points.len(),
        if s.points.len() == 1 { "" } else { "s" }
    ));
    if s.params.is_empty() {
        t = t.text("no parameter");
    }
    for (i, p) in s.params.iter().enumerate() {
        if i > 0 {
            t = t.text(", ");
        }
        t = t.code(p);
    }
    t = t.text(format!(
        ", {} variant{}, {} replication{} each ({} runs).",
        s.variants.len(),
        if s.variants.len() == 1 { "" } else { "s" },
        s.replications,
        if s.replications == 1 { "" } else { "s" },
        s.runs.len()
    ));
    if s.replications > 1 {
        t = t.text(
            " Figures are means over replications; ± is a 95% confidence interval (Student t).",
        );
    }
    t
}

/// Findings: SLOs, the cheapest point meeting them, the frontier, each variant's range.
fn findings(s: &Sweep) -> Vec<Sentence> {
    let mut out = Vec::new();
    let p95 = Metric::session_p95();
    let cost = Metric::cost_per_1k();
    let fail = Metric::failed_pct();
    for o in &s.slos {
        let total = o.results.len();
        let pass = o.results.iter().filter(|r| r.pass).count();
        let mut t = Sentence::default()
            .text("SLO ")
            .code(&o.name)
            .text(" (")
            .code(&o.metric)
            .text(format!(" {}", o.bound_text()));
        for (i, v) in o.variants.iter().enumerate() {
            t = t.text(if i == 0 { ", variant " } else { ", " }).code(v);
        }
        t = t.text(format!("): met in {pass} of {total} results"));
        let firsts: Vec<String> = o
            .results
            .iter()
            .filter(|r| !r.pass)
            .take(3)
            .map(|r| {
                if s.variants.len() > 1 {
                    format!("{} at {}", r.variant, s.point_label(r.point))
                } else {
                    s.point_label(r.point)
                }
            })
            .collect();
        if !firsts.is_empty() {
            t = t.text(format!(
                "; missed {} {}{}",
                if s.variants.len() > 1 { "by" } else { "at" },
                firsts.join("; "),
                if total - pass > firsts.len() {
                    format!(" and {} more", total - pass - firsts.len())
                } else {
                    String::new()
                }
            ));
        }
        out.push(t.text("."));
    }
    if !s.slos.is_empty() {
        // Cheapest (point, variant) meeting every SLO that has a result for it.
        let mut best: Option<(f64, u64, &str)> = None;
        for p in &s.points {
            for v in &s.variants {
                let rs: Vec<bool> = s
                    .slos
                    .iter()
                    .filter_map(|o| o.result(p.index, v).map(|r| r.1))
                    .collect();
                if rs.is_empty() || !rs.iter().all(|x| *x) {
                    continue;
                }
                if let Some(c) = s.stat(&cost, p.index, v)
                    && best.is_none_or(|b| c.mean < b.0)
                {
                    best = Some((c.mean, p.index, v));
                }
            }
        }
        out.push(match best {
            Some((c, p, v)) => {
                let mut t = Sentence::default()
                    .text("Cheapest combination meeting every SLO: ")
                    .code(v)
                    .text(format!(
                        " at {} ({} per 1K sessions",
                        s.point_label(p),
                        fmt_usd(c)
                    ));
                if let Some(q) = s.stat(&p95, p, v) {
                    t = t.text(format!(", p95 session {}", fmt_secs(q.mean * 1e3)));
                }
                t.text(").")
            }
            None => Sentence::default().text("No combination meets every SLO."),
        });
    }
    // Frontier.
    let mut pts = Vec::new();
    for p in &s.points {
        for v in &s.variants {
            if let (Some(a), Some(b)) = (s.stat(&p95, p.index, v), s.stat(&cost, p.index, v)) {
                pts.push((a.mean, b.mean, p.index, v.as_str()));
            }
        }
    }
    let front = pareto(&pts.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>());
    if !front.is_empty() && pts.len() > 1 {
        let mut t = Sentence::default().text(format!(
            "Pareto frontier ({} of {} combinations): ",
            front.len(),
            pts.len()
        ));
        for (k, &i) in front.iter().take(6).enumerate() {
            let (a, b, p, v) = pts[i];
            if k > 0 {
                t = t.text("; ");
            }
            if s.variants.len() > 1 {
                t = t.code(v).text(" at ");
            }
            t = t.text(format!(
                "{} (p95 {}, {})",
                s.point_label(p),
                fmt_secs(a * 1e3),
                fmt_usd(b)
            ));
        }
        if front.len() > 6 {
            t = t.text(format!("; and {} more", front.len() - 6));
        }
        out.push(t.text("."));
    }
    // Each variant's range over the grid.
    if s.points.len() > 1 {
        for v in &s.variants {
            let q: Vec<(u64, f64)> = s
                .points
                .iter()
                .filter_map(|p| s.stat(&p95, p.index, v).map(|x| (p.index, x.mean)))
                .collect();
            let f: Vec<(u64, f64)> = s
                .points
                .iter()
                .filter_map(|p| s.stat(&fail, p.index, v).map(|x| (p.index, x.mean)))
                .collect();
            let lo = q.iter().min_by(|a, b| a.1.total_cmp(&b.1));
            let hi = q.iter().max_by(|a, b| a.1.total_cmp(&b.1));
            let fmax = f.iter().max_by(|a, b| a.1.total_cmp(&b.1));
            let mut t = Sentence::default().code(v).text(": ");
            match (lo, hi) {
                (Some(lo), Some(hi)) => {
                    t = t.text(format!(
                        "p95 session from {} ({}) to {} ({})",
                        fmt_secs(lo.1 * 1e3),
                        s.point_label(lo.0),
                        fmt_secs(hi.1 * 1e3),
                        s.point_label(hi.0)
                    ))
                }
                _ => t = t.text("no session completed at any point"),
            }
            if let Some(fm) = fmax {
                if fm.1 > 0.0 {
                    t = t.text(format!(
                        "; failures up to {} ({})",
                        fmt_ratio(fm.1 / 100.0),
                        s.point_label(fm.0)
                    ));
                } else {
                    t = t.text("; no failed request at any point");
                }
            }
            out.push(t.text("."));
        }
    }
    out
}

fn with_ci(st: Option<Stat>, digits: usize) -> String {
    match st {
        None => "n/a".into(),
        Some(st) if st.n > 1 => format!("{:.*} ± {:.*}", digits, st.mean, digits, st.ci95),
        Some(st) => format!("{:.*}", digits, st.mean),
    }
}

/// One row per (point, variant).
fn table(s: &Sweep) -> Table {
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(s.params.iter().cloned());
    header.extend(
        [
            "variant",
            "sessions ok",
            "session p95 s",
            "failed %",
            "$ / 1K sessions",
            "cost $",
        ]
        .map(String::from),
    );
    let mut numeric = vec![true];
    numeric.extend(s.params.iter().map(|_| true));
    numeric.extend([false, true, true, true, true, true]);
    let mut t = Table {
        header,
        numeric,
        rows: Vec::new(),
    };
    let ok = Metric::new("", "", "sessions.completed", 1.0, "", false);
    let total = Metric::new("", "", "cost_usd.total", 1.0, "", false);
    for p in &s.points {
        for v in &s.variants {
            if s.runs_of(p.index, v).next().is_none() {
                continue;
            }
            let mut row = vec![p.index.to_string()];
            row.extend(p.values.iter().map(value_text));
            row.push(v.clone());
            row.push(with_ci(s.stat(&ok, p.index, v), 0));
            row.push(with_ci(s.stat(&Metric::session_p95(), p.index, v), 1));
            row.push(with_ci(s.stat(&Metric::failed_pct(), p.index, v), 2));
            row.push(with_ci(s.stat(&Metric::cost_per_1k(), p.index, v), 2));
            row.push(with_ci(s.stat(&total, p.index, v), 2));
            t.rows.push(row);
        }
    }
    t
}

/// SLO results: one row per (point, variant), one column per SLO.
fn slo_table(s: &Sweep) -> (Table, Vec<Vec<Option<bool>>>) {
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(s.params.iter().cloned());
    header.push("variant".into());
    header.extend(s.slos.iter().map(|o| o.name.clone()));
    let mut numeric = vec![true];
    numeric.extend(s.params.iter().map(|_| true));
    numeric.push(false);
    numeric.extend(s.slos.iter().map(|_| true));
    let mut t = Table {
        header,
        numeric,
        rows: Vec::new(),
    };
    let mut marks = Vec::new();
    for p in &s.points {
        for v in &s.variants {
            let res: Vec<Option<(Option<f64>, bool)>> =
                s.slos.iter().map(|o| o.result(p.index, v)).collect();
            if res.iter().all(Option::is_none) {
                continue;
            }
            let mut row = vec![p.index.to_string()];
            row.extend(p.values.iter().map(value_text));
            row.push(v.clone());
            let mut m = vec![None; row.len()];
            for (o, r) in s.slos.iter().zip(&res) {
                let metric = Metric::from_expr(&o.metric);
                match r {
                    None => {
                        row.push("–".into());
                        m.push(None);
                    }
                    Some((val, pass)) => {
                        let shown = val
                            .map(|x| metric.show(x * metric.scale))
                            .unwrap_or_default();
                        row.push(
                            format!("{} {shown}", if *pass { "✓" } else { "✗" })
                                .trim()
                                .to_string(),
                        );
                        m.push(Some(*pass));
                    }
                }
            }
            t.rows.push(row);
            marks.push(m);
        }
    }
    (t, marks)
}

fn slo_table_html(t: &Table, marks: &[Vec<Option<bool>>]) -> String {
    let mut o = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
    for (h, n) in t.header.iter().zip(&t.numeric) {
        o += &format!(
            "<th{}>{}</th>",
            if *n { " class=\"n\"" } else { "" },
            esc(h)
        );
    }
    o += "</tr></thead>\n<tbody>\n";
    for (r, m) in t.rows.iter().zip(marks) {
        o += "<tr>";
        for (k, c) in r.iter().enumerate() {
            let mut cls: Vec<&str> = Vec::new();
            if t.numeric[k] {
                cls.push("n");
            }
            match m.get(k).copied().flatten() {
                Some(true) => cls.push("pass"),
                Some(false) => cls.push("fail"),
                None => {}
            }
            let attr = if cls.is_empty() {
                String::new()
            } else {
                format!(" class=\"{}\"", cls.join(" "))
            };
            o += &format!("<td{attr}>{}</td>", esc(c));
        }
        o += "</tr>\n";
    }
    o += "</tbody></table></div>\n";
    o
}

/// The Markdown summary of a sweep.
pub fn markdown(s: &Sweep) -> String {
    let mut out = format!(
        "# Spillway sweep report: {}\n\n{}\n",
        s.scenario,
        intro(s).markdown()
    );
    let f = findings(s);
    if !f.is_empty() {
        out += "\n## Findings\n\n";
        for x in &f {
            out += &format!("- {}\n", x.markdown());
        }
    }
    if !s.slos.is_empty() {
        out += "\n## SLOs\n\n";
        out += &slo_table(s).0.markdown();
    }
    out += "\n## Every point\n\n";
    out += &table(s).markdown();
    out
}

/// At most this many combinations of the other parameters share a chart (as shades).
const MAX_SHADES: usize = 5;

/// Renders a sweep document as the HTML report.
pub fn render_sweep(v: &Value) -> Result<String> {
    let s = Sweep::from_json(v)?;
    let plan = plan(&s);
    let mut body = format!(
        "<header>\n<h1>Spillway sweep report: {}</h1>\n<p class=\"lede\">{}</p>\n",
        esc(&s.scenario),
        intro(&s).html()
    );
    let mut nav = vec![("findings", "Findings")];
    if !s.slos.is_empty() {
        nav.push(("slo", "SLOs"));
    }
    nav.extend([
        ("metrics", "Metrics"),
        ("pareto", "Cost vs speed"),
        ("points", "Every point"),
    ]);
    body += &html::nav(&nav);
    body += "</header>\n";
    body += "<section id=\"variants\">\n<h2>Variants</h2>\n<ul class=\"key\">\n";
    for (i, name) in s.variants.iter().enumerate() {
        let desc = s
            .runs
            .iter()
            .find(|r| &r.variant == name)
            .and_then(|r| r.summary.get("description"))
            .and_then(Value::as_str)
            .map(|d| format!(": {}", esc(d)))
            .unwrap_or_default();
        body += &format!(
            "<li>{}<code>{}</code>{desc}</li>\n",
            html::swatch(vstyle(i)),
            esc(name)
        );
    }
    body += "</ul>\n";
    // A variant's description speaks of its own settings; the sweep replaces some of them.
    body += &format!(
        "<p class=\"lede\">At every point the swept values ({}) replace the variant's own settings for those keys.</p>\n",
        s.params
            .iter()
            .map(|p| format!("<code>{}</code>", esc(p)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    body += "</section>\n";
    body += "<section id=\"findings\">\n<h2>Findings</h2>\n";
    body += &html::bullets(&findings(&s), "findings");
    body += "</section>\n";

    // The combinations of the other parameters share each chart as shades of the variant's
    // colour; past MAX_SHADES, an evenly spaced selection of them (the table has every point).
    let n = plan.facets.len();
    let chosen: Vec<&(String, Vec<u64>)> = if n <= MAX_SHADES {
        plan.facets.iter().collect()
    } else {
        let mut idx: Vec<usize> = (0..MAX_SHADES)
            .map(|k| ((k * (n - 1)) as f64 / (MAX_SHADES - 1) as f64).round() as usize)
            .collect();
        idx.dedup();
        idx.iter().map(|&i| &plan.facets[i]).collect()
    };
    let groups: Vec<Vec<&(String, Vec<u64>)>> = vec![chosen.clone()];
    let facet_note = if n > MAX_SHADES {
        format!(
            "<p>Charts show {} of the {n} combinations of the other parameters, evenly spaced ({}); the table below has every point.</p>\n",
            chosen.len(),
            esc(&chosen
                .iter()
                .map(|f| f.0.as_str())
                .collect::<Vec<_>>()
                .join("; "))
        )
    } else {
        String::new()
    };
    if !s.slos.is_empty() {
        body += "<section id=\"slo\">\n<h2>SLOs</h2>\n";
        let (t, marks) = slo_table(&s);
        body += "<p>✓ met, ✗ missed, – not checked for that variant. Values are in the units \
                 shown in the charts (milliseconds as seconds).</p>\n";
        body += &slo_table_html(&t, &marks);
        body += &facet_note;
        for (k, o) in s.slos.iter().enumerate() {
            let m = Metric::from_expr(&o.metric);
            for (fi, group) in groups.iter().enumerate() {
                body += &html::figure(&metric_chart(
                    &s,
                    &plan,
                    &m,
                    group,
                    Some(o),
                    format!("slo-{k}-{fi}"),
                )?);
            }
        }
        body += "</section>\n";
    }
    body += "<section id=\"metrics\">\n<h2>Metrics across the grid</h2>\n";
    body += &facet_note;
    for (k, m) in [
        Metric::session_p95(),
        Metric::failed_pct(),
        Metric::cost_per_1k(),
    ]
    .iter()
    .enumerate()
    {
        for (fi, group) in groups.iter().enumerate() {
            body += &html::figure(&metric_chart(
                &s,
                &plan,
                m,
                group,
                None,
                format!("metric-{k}-{fi}"),
            )?);
        }
    }
    body += "</section>\n";
    body += "<section id=\"pareto-section\">\n<h2>Cost against speed</h2>\n";
    body += &html::figure(&pareto_chart(&s)?);
    body += "</section>\n";
    let swatch_of = |_: &str| None;
    body += "<section id=\"points\">\n<h2>Every point</h2>\n";
    body += &html::table(&table(&s), &swatch_of);
    body += "</section>\n";
    body += "<footer>Made by <code>spillway report</code> from <code>sweep.json</code>.</footer>\n";
    Ok(html::document(
        &format!("Spillway sweep report: {}", s.scenario),
        &body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_interval_is_student_t() {
        let s = Stat::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.mean, 2.0);
        assert!((s.ci95 - 4.303 / 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(Stat::of(&[5.0]).unwrap().ci95, 0.0);
        assert!(Stat::of(&[]).is_none());
        assert_eq!(crate::sweep::t95(100), 1.96);
    }

    #[test]
    fn slo_metrics_get_plain_names_and_units() {
        let m = Metric::from_expr("sessions.duration_ms.p95");
        assert_eq!(m.title, "p95 session duration");
        assert_eq!(m.scale, 1e-3);
        let f = Metric::from_expr("requests.failed / requests.sent");
        assert_eq!(f.title, "Failed requests");
        assert_eq!(f.unit_suffix, "%");
        let summary = serde_json::json!({"requests": {"failed": 5, "sent": 200},
            "sessions": {"completed": 0, "duration_ms": {"p95": 1000.0}},
            "deployments": [{"name": "a", "rejected_429": 7}]});
        assert_eq!(f.measure(&summary), Some(2.5));
        // No completed session: no p95 to speak of.
        assert_eq!(m.measure(&summary), None);
        let d = Metric::from_expr("deployments.a.rejected_429");
        assert_eq!(d.measure(&summary), Some(7.0));
    }
}
