//! The typed view of a sweep the report draws from: points with their values in parameter
//! order, runs grouped by (point, variant) with their typed summaries, SLO results, and the
//! metrics charted, with mean and confidence interval over replications.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::Value;

use super::super::load::SavedSweep;
use crate::metrics::VariantSummary;
use crate::report::kit::tick;
use crate::slo::{lookup, parse_path};
use crate::words::{fmt_ratio, fmt_secs, fmt_usd};

/// One grid point: its index and the value of each swept parameter (in parameter order).
#[derive(Clone, Debug)]
pub struct Point {
    /// Index in the grid (= position in [`Sweep::points`]).
    pub index: usize,
    /// Values, in parameter order.
    pub values: Vec<Value>,
}

/// One run of the sweep: a point, a variant, a replication and its variant summary.
#[derive(Clone, Debug)]
pub struct RunRec {
    /// Point index.
    pub point: usize,
    /// Variant name.
    pub variant: String,
    /// Replication.
    pub replication: u32,
    /// The run's summary, typed.
    pub summary: VariantSummary,
    /// The same summary serialized back to JSON (without `distributions`), for metric paths
    /// ([`crate::slo::lookup`]).
    pub json: Value,
}

/// One SLO result.
#[derive(Clone, Debug)]
pub struct SloResult {
    /// Point index.
    pub point: usize,
    /// Variant name.
    pub variant: String,
    /// Measured value (`None` when the metric was missing for the variant).
    pub value: Option<f64>,
    /// Whether the bound held.
    pub pass: bool,
}

/// One `[[slo]]` entry with its results.
#[derive(Clone, Debug)]
pub struct SloView {
    /// Name.
    pub name: String,
    /// Metric expression.
    pub metric: String,
    /// Lower bound.
    pub min: Option<f64>,
    /// Upper bound.
    pub max: Option<f64>,
    /// Variants it applies to (empty: all).
    pub variants: Vec<String>,
    /// Results, as stored.
    pub results: Vec<SloResult>,
    /// Result indices by (point, variant).
    by_cell: BTreeMap<(usize, String), Vec<usize>>,
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
    pub fn result(&self, point: usize, variant: &str) -> Option<(Option<f64>, bool)> {
        let rs: Vec<&SloResult> = self
            .by_cell
            .get(&(point, variant.to_string()))?
            .iter()
            .map(|&k| &self.results[k])
            .collect();
        let vals: Vec<f64> = rs.iter().filter_map(|r| r.value).collect();
        let value = if vals.is_empty() {
            None
        } else {
            Some(vals.iter().sum::<f64>() / vals.len() as f64)
        };
        Some((value, rs.iter().all(|r| r.pass)))
    }
}

/// A checked sweep document, as the report draws it.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// Swept keys, in column order.
    pub params: Vec<String>,
    /// Replications per point and variant.
    pub replications: u32,
    /// Grid points, in index order.
    pub points: Vec<Point>,
    /// Variant names, in sweep order.
    pub variants: Vec<String>,
    /// Runs, in index order.
    pub runs: Vec<RunRec>,
    /// SLOs with their results.
    pub slos: Vec<SloView>,
    /// The load levels of the sweep in words ([`crate::words::compare::load_label`]), in
    /// order of first appearance; one empty label when the runs say nothing of their load.
    pub levels: Vec<String>,
    /// The runs of each (point, variant index) present.
    cells: BTreeMap<(usize, usize), Range<usize>>,
    /// The load level of each (point, variant index) present.
    cell_level: BTreeMap<(usize, usize), usize>,
    variant_ix: BTreeMap<String, usize>,
}

impl Sweep {
    /// The view of a checked sweep ([`crate::report::load::read_sweep`]).
    pub fn new(saved: SavedSweep) -> Sweep {
        let SavedSweep { doc, summaries } = saved;
        let variant_ix: BTreeMap<String, usize> = doc
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| (v.clone(), i))
            .collect();
        let points = doc
            .points
            .iter()
            .map(|p| Point {
                index: p.point,
                values: doc.parameters.iter().map(|k| p.values[k].clone()).collect(),
            })
            .collect();
        let runs: Vec<RunRec> = doc
            .runs
            .into_iter()
            .zip(summaries)
            .map(|(r, summary)| RunRec {
                point: r.point,
                json: r.summary,
                variant: r.variant,
                replication: r.replication,
                summary,
            })
            .collect();
        let mut cells: BTreeMap<(usize, usize), Range<usize>> = BTreeMap::new();
        for (k, r) in runs.iter().enumerate() {
            let key = (r.point, variant_ix[&r.variant]);
            cells.entry(key).or_insert(k..k).end = k + 1;
        }
        let (levels, cell_level) = load_levels(&runs, &cells);
        let slos = doc
            .slo
            .into_iter()
            .map(|s| {
                let results: Vec<SloResult> = s
                    .results
                    .into_iter()
                    .map(|r| SloResult {
                        point: r.point,
                        variant: r.variant,
                        value: r.value.is_finite().then_some(r.value),
                        pass: r.pass,
                    })
                    .collect();
                let mut by_cell: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
                for (k, r) in results.iter().enumerate() {
                    by_cell
                        .entry((r.point, r.variant.clone()))
                        .or_default()
                        .push(k);
                }
                SloView {
                    name: s.name,
                    metric: s.metric,
                    min: s.min,
                    max: s.max,
                    variants: s.variants,
                    results,
                    by_cell,
                }
            })
            .collect();
        Sweep {
            scenario: doc.scenario,
            seed: doc.seed,
            params: doc.parameters,
            replications: doc.replications,
            points,
            variants: doc.variants,
            runs,
            slos,
            levels,
            cells,
            cell_level,
            variant_ix,
        }
    }

    /// The load level (index into [`Sweep::levels`]) of (point, variant).
    pub fn level(&self, point: usize, variant: &str) -> usize {
        self.variant_ix
            .get(variant)
            .and_then(|&vi| self.cell_level.get(&(point, vi)))
            .copied()
            .unwrap_or(0)
    }

    /// The runs of (point, variant), one per replication present.
    pub fn runs_of(&self, point: usize, variant: &str) -> &[RunRec] {
        self.variant_ix
            .get(variant)
            .and_then(|&vi| self.cells.get(&(point, vi)))
            .map_or(&[], |r| &self.runs[r.clone()])
    }

    /// Mean and 95% confidence half-width of `m` over the replications of (point, variant).
    pub fn stat(&self, m: &Metric, point: usize, variant: &str) -> Option<Stat> {
        let xs: Vec<f64> = self
            .runs_of(point, variant)
            .iter()
            .filter_map(|r| m.measure(&r.json))
            .collect();
        Stat::of(&xs)
    }

    /// The position of a variant (its colour).
    pub fn variant_index(&self, name: &str) -> usize {
        self.variant_ix.get(name).copied().unwrap_or(0)
    }

    /// Point `index`.
    pub fn point(&self, index: usize) -> Option<&Point> {
        self.points.get(index)
    }

    /// Short names of the parameters (`workload.users` -> `users`) when they stay unique.
    pub fn short_params(&self) -> Vec<String> {
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
    pub fn point_label(&self, index: usize) -> String {
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

/// The runs of each (point, variant index): a range of [`Sweep::runs`].
type Cells = BTreeMap<(usize, usize), Range<usize>>;

/// The distinct loads of the runs (by their summaries' `load`), in order of first
/// appearance, in words; and the level of each (point, variant index).
fn load_levels(runs: &[RunRec], cells: &Cells) -> (Vec<String>, BTreeMap<(usize, usize), usize>) {
    let mut keys: Vec<Option<&crate::metrics::LoadSummary>> = Vec::new();
    let mut of_cell = BTreeMap::new();
    // Cells in run order, so levels come in the order the grid has them.
    let mut order: Vec<(&(usize, usize), &Range<usize>)> = cells.iter().collect();
    order.sort_by_key(|(_, r)| r.start);
    for (cell, r) in order {
        let load = runs[r.start].summary.load.as_ref();
        let level = match keys.iter().position(|k| *k == load) {
            Some(l) => l,
            None => {
                keys.push(load);
                keys.len() - 1
            }
        };
        of_cell.insert(*cell, level);
    }
    let labels = keys
        .iter()
        .map(|k| k.map(crate::words::compare::load_label).unwrap_or_default())
        .collect();
    (labels, of_cell)
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
    /// A metric at a summary path.
    pub fn new(
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

    /// Answers cut short by `max_tokens`, percent of succeeded requests.
    pub fn truncated_pct() -> Metric {
        Metric {
            title: "Truncated answers".into(),
            axis: "truncated answers, % of succeeded requests".into(),
            scale: 100.0,
            unit_suffix: "%",
            num: parse_path("requests.truncated"),
            den: Some(parse_path("requests.succeeded")),
            needs_sessions: false,
        }
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

    /// A value in the shown unit as text (`6.5 s`, `$2.38`, `0.25%`).
    pub fn show(&self, x: f64) -> String {
        if !x.is_finite() {
            crate::words::NA.to_string()
        } else if self.unit_suffix == " s" {
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
