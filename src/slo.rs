//! Service-level objectives: `[[slo]]` entries checked against run or sweep results.
//!
//! An SLO names a metric of the variant summary by its path in `summary.json`
//! (`sessions.duration_ms.p95`, `cost_usd.per_1k_sessions`, `deployments.NAME.rejected_429`)
//! or a ratio of two (`requests.failed / requests.sent`), a bound (`max`, `min` or both) and
//! optionally the variants it applies to. `spillway check` exits 1 when any fails.

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::metrics::{DeploymentMetrics, RunMetrics, VariantSummary};
use crate::scenario::ScenarioSet;
use crate::scenario::raw::RawSlo;

/// A checked SLO.
#[derive(Clone, Debug, Serialize)]
pub struct Slo {
    /// Display name (defaults to the metric and bound).
    pub name: String,
    /// The metric expression as written.
    pub metric: String,
    /// Upper bound (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Lower bound (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Variants it applies to (empty: all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<String>,
    #[serde(skip)]
    expr: Expr,
}

#[derive(Clone, Debug)]
enum Expr {
    Path(Vec<String>),
    Ratio(Vec<String>, Vec<String>),
}

impl Slo {
    /// Rebuilds an SLO from its stored parts (for `merge`; paths were checked when loading).
    pub fn from_parts(
        name: &str,
        metric: &str,
        min: Option<f64>,
        max: Option<f64>,
        variants: &[String],
    ) -> Slo {
        Slo {
            name: name.to_string(),
            metric: metric.to_string(),
            max,
            min,
            variants: variants.to_vec(),
            expr: parse_expr(metric),
        }
    }

    /// Whether the SLO applies to `variant`.
    pub fn applies_to(&self, variant: &str) -> bool {
        self.variants.is_empty() || self.variants.iter().any(|v| v == variant)
    }

    /// The metric's value in a variant summary (as JSON).
    pub fn measure(&self, summary: &Value) -> Option<f64> {
        match &self.expr {
            Expr::Path(p) => lookup(summary, p),
            Expr::Ratio(a, b) => {
                let (a, b) = (lookup(summary, a)?, lookup(summary, b)?);
                Some(if b == 0.0 { 0.0 } else { a / b })
            }
        }
    }

    /// Whether `value` meets the bound.
    pub fn holds(&self, value: f64) -> bool {
        self.max.is_none_or(|m| value <= m) && self.min.is_none_or(|m| value >= m)
    }

    /// The unit the metric is measured in (inferred from its path).
    pub fn unit(&self) -> Unit {
        match &self.expr {
            Expr::Path(p) => path_unit(p),
            Expr::Ratio(a, b) => match (path_unit(a), path_unit(b)) {
                (x, y) if x == y => Unit::Ratio,
                (Unit::Usd, Unit::Number) => Unit::Usd,
                _ => Unit::Number,
            },
        }
    }

    /// The bound as written in the file, e.g. `<= 120000` (for default names).
    pub fn bound_text(&self) -> String {
        match (self.min, self.max) {
            (Some(lo), Some(hi)) => format!("{lo} ..= {hi}"),
            (None, Some(hi)) => format!("<= {hi}"),
            (Some(lo), None) => format!(">= {lo}"),
            (None, None) => String::new(),
        }
    }
}

/// Looks up a dotted path; inside arrays of objects a segment picks the entry by `name`
/// (`deployments.NAME.rejected_429`).
pub fn lookup(v: &Value, path: &[String]) -> Option<f64> {
    let mut cur = v;
    for seg in path {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(items) => items
                .iter()
                .find(|i| i.get("name").and_then(Value::as_str) == Some(seg))?,
            _ => return None,
        };
    }
    cur.as_f64()
}

fn parse_expr(metric: &str) -> Expr {
    match metric.split_once('/') {
        Some((a, b)) => Expr::Ratio(parse_path(a), parse_path(b)),
        None => Expr::Path(parse_path(metric)),
    }
}

/// Splits a dotted metric path into segments.
pub fn parse_path(text: &str) -> Vec<String> {
    text.trim()
        .split('.')
        .map(|s| s.trim().to_string())
        .collect()
}

/// Checks the `[[slo]]` entries of a scenario. Metric paths are resolved against a summary of
/// the first variant, so a misspelt path is an error before anything runs.
pub fn from_set(set: &ScenarioSet) -> Result<Vec<Slo>> {
    let probe_sc = &set.variants[0];
    let probe = RunMetrics {
        deployments: vec![DeploymentMetrics::default(); probe_sc.deployments.len()],
        ..Default::default()
    }
    .summarize(probe_sc);
    let probe = serde_json::to_value(&probe).expect("summary serializes");
    let mut out = Vec::new();
    for (i, r) in set.slo.iter().enumerate() {
        out.push(
            check_one(r, &probe, set)
                .map_err(|m| Error::at_key(set.file(), None, format!("slo[{i}]"), m))?,
        );
    }
    Ok(out)
}

fn check_one(r: &RawSlo, probe: &Value, set: &ScenarioSet) -> std::result::Result<Slo, String> {
    let expr = parse_expr(&r.metric);
    let paths: Vec<&Vec<String>> = match &expr {
        Expr::Path(p) => vec![p],
        Expr::Ratio(a, b) => vec![a, b],
    };
    for p in paths {
        if lookup(probe, p).is_none() {
            let top: Vec<&str> = probe
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(_, v)| v.is_object() || v.is_array())
                        .map(|(k, _)| k.as_str())
                        .collect()
                })
                .unwrap_or_default();
            return Err(format!(
                "metric '{}' is not a number in the summary; paths look like sessions.duration_ms.p95, requests.failed / requests.sent, deployments.NAME.rejected_429 (sections: {})",
                p.join("."),
                top.join(", ")
            ));
        }
    }
    if r.max.is_none() && r.min.is_none() {
        return Err("give a bound: 'max', 'min' or both".into());
    }
    for b in [r.max, r.min].into_iter().flatten() {
        if !b.is_finite() {
            return Err(format!("bound {b} must be a finite number"));
        }
    }
    let variants = r.variants.clone().unwrap_or_default();
    for v in &variants {
        if !set.variants.iter().any(|x| &x.variant == v) {
            return Err(format!("unknown variant '{v}' in 'variants'"));
        }
    }
    let mut slo = Slo {
        name: r.name.clone().unwrap_or_default(),
        metric: r.metric.trim().to_string(),
        max: r.max,
        min: r.min,
        variants,
        expr,
    };
    if slo.name.is_empty() {
        slo.name = format!("{} {}", slo.metric, slo.bound_text());
    }
    Ok(slo)
}

/// One SLO evaluated on one variant (of one sweep point, when sweeping).
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// SLO name.
    pub slo: String,
    /// The metric expression.
    pub metric: String,
    /// Sweep point index (absent for `check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<usize>,
    /// Variant.
    pub variant: String,
    /// Measured value (mean over replications in a sweep), in the summary's unit; NaN when
    /// the metric is not a number in the summary.
    pub value: f64,
    /// Whether the bound holds.
    pub pass: bool,
    /// Lower bound (inclusive), in the summary's unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper bound (inclusive), in the summary's unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The metric's unit.
    pub unit: Unit,
}

impl Verdict {
    /// A verdict of `slo` on a measured `value`.
    pub fn new(slo: &Slo, point: Option<usize>, variant: &str, value: f64, pass: bool) -> Self {
        Verdict {
            slo: slo.name.clone(),
            metric: slo.metric.clone(),
            point,
            variant: variant.to_string(),
            value,
            pass,
            min: slo.min,
            max: slo.max,
            unit: slo.unit(),
        }
    }

    /// The bound in the metric's unit, e.g. `<= 120 s`, `<= 1%`, `10 s ..= 20 s`.
    pub fn bound_text(&self) -> String {
        let b = |x: f64| self.unit.show(x, 9);
        match (self.min, self.max) {
            (Some(lo), Some(hi)) => format!("{} ..= {}", b(lo), b(hi)),
            (None, Some(hi)) => format!("<= {}", b(hi)),
            (Some(lo), None) => format!(">= {}", b(lo)),
            (None, None) => String::new(),
        }
    }

    /// The measured value in the metric's unit, e.g. `238.3 s`; `n/a` when not measured.
    pub fn value_text(&self) -> String {
        self.unit.show(self.value, 4)
    }
}

/// The unit of an SLO's metric, inferred from its path in the summary: how its values and
/// bounds are shown (the bounds in the file and the numbers in JSON stay in the summary's
/// unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Milliseconds (`*_ms` paths such as `sessions.duration_ms.p95`), shown in seconds.
    Ms,
    /// Seconds (`*_s` paths such as `gateway.breaker_open_s`).
    S,
    /// A share from 0 to 1 (`*_ratio`, `share`, `utilization_mean`, or a ratio of two values
    /// of one unit such as `requests.failed / requests.sent`), shown in %.
    Ratio,
    /// US dollars (`cost_usd.*`, `*_usd`).
    Usd,
    /// A count or a rate, shown as is.
    Number,
}

impl Unit {
    /// `value` with `sig` significant digits in this unit (`n/a` when not a number).
    pub fn show(self, value: f64, sig: i32) -> String {
        if !value.is_finite() {
            return "n/a".into();
        }
        match self {
            Unit::Ms => format!("{} s", sig_digits(value / 1000.0, sig)),
            Unit::S => format!("{} s", sig_digits(value, sig)),
            Unit::Ratio => format!("{}%", sig_digits(value * 100.0, sig)),
            Unit::Usd => format!("${}", sig_digits(value, sig)),
            Unit::Number => sig_digits(value, sig),
        }
    }
}

/// The unit of one summary path. Names of deployments and backends (the segment after
/// `deployments` / `backends`) are not read as units.
fn path_unit(path: &[String]) -> Unit {
    let fields: Vec<&str> = path
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || !matches!(path[i - 1].as_str(), "deployments" | "backends"))
        .map(|(_, s)| s.as_str())
        .collect();
    let last = fields.last().copied().unwrap_or("");
    if last == "count" {
        Unit::Number
    } else if fields.iter().any(|f| f.ends_with("_ms")) {
        Unit::Ms
    } else if last.ends_with("_s") {
        Unit::S
    } else if last.ends_with("_ratio") || last == "share" || last == "utilization_mean" {
        Unit::Ratio
    } else if fields
        .iter()
        .any(|f| *f == "cost_usd" || f.ends_with("_usd"))
    {
        Unit::Usd
    } else {
        Unit::Number
    }
}

/// `x` rounded to `sig` significant digits (whole numbers at least), without an exponent or
/// trailing zeros: 238.289 -> `238.3`, 120.0 -> `120`, 0.0034 -> `0.0034`.
fn sig_digits(x: f64, sig: i32) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let decimals = (sig - 1 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

/// Evaluates every applicable SLO on each `(point, variant, summary)`.
pub fn evaluate<'a>(
    slos: &[Slo],
    results: impl IntoIterator<Item = (Option<usize>, &'a str, &'a Value)> + Clone,
) -> Vec<Verdict> {
    let mut out = Vec::new();
    for slo in slos {
        for (point, variant, summary) in results.clone() {
            if !slo.applies_to(variant) {
                continue;
            }
            let value = slo.measure(summary).unwrap_or(f64::NAN);
            out.push(Verdict::new(slo, point, variant, value, slo.holds(value)));
        }
    }
    out
}

/// Builds `VariantSummary` JSON for evaluation.
pub fn summary_value(s: &VariantSummary) -> Value {
    serde_json::to_value(s).expect("summary serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(metric: &str) -> Unit {
        Slo::from_parts("x", metric, None, Some(1.0), &[]).unit()
    }

    #[test]
    fn units_follow_the_summary_paths() {
        assert_eq!(unit("sessions.duration_ms.p95"), Unit::Ms);
        assert_eq!(unit("latency_ms.e2e.p99"), Unit::Ms);
        assert_eq!(unit("sessions.duration_ms.count"), Unit::Number);
        assert_eq!(unit("gateway.breaker_open_s"), Unit::S);
        assert_eq!(unit("requests.failed_ratio"), Unit::Ratio);
        assert_eq!(unit("requests.failed / requests.sent"), Unit::Ratio);
        assert_eq!(unit("deployments.ptu.utilization_mean"), Unit::Ratio);
        assert_eq!(unit("cost_usd.per_1k_sessions"), Unit::Usd);
        assert_eq!(unit("cost_usd.total / sessions.completed"), Unit::Usd);
        assert_eq!(unit("requests.rate_limited"), Unit::Number);
        // A deployment's name is not read as a unit.
        assert_eq!(unit("deployments.east_ms.rejected_429"), Unit::Number);
        assert_eq!(unit("latency_ms.e2e.p99 / requests.sent"), Unit::Number);
    }

    #[test]
    fn values_and_bounds_in_their_units() {
        assert_eq!(Unit::Ms.show(120_000.0, 9), "120 s");
        assert_eq!(Unit::Ms.show(238_288.895, 4), "238.3 s");
        assert_eq!(Unit::Ms.show(90_500.0, 9), "90.5 s");
        assert_eq!(Unit::Ms.show(850.0, 4), "0.85 s");
        assert_eq!(Unit::Ratio.show(0.01, 9), "1%");
        assert_eq!(Unit::Ratio.show(0.003_448_275, 4), "0.3448%");
        assert_eq!(Unit::Ratio.show(0.0, 4), "0%");
        assert_eq!(Unit::Usd.show(12.3456, 4), "$12.35");
        assert_eq!(Unit::Number.show(1_234_567.0, 4), "1234567");
        assert_eq!(Unit::Ms.show(f64::NAN, 4), "n/a");
        let slo = Slo::from_parts(
            "p95",
            "sessions.duration_ms.p95",
            Some(10_000.0),
            Some(20_000.0),
            &[],
        );
        let v = Verdict::new(&slo, None, "a", 25_000.0, false);
        assert_eq!(v.bound_text(), "10 s ..= 20 s");
        assert_eq!(v.value_text(), "25 s");
        // The default name keeps the bound as written in the file (sweep.json is unchanged).
        assert_eq!(slo.bound_text(), "10000 ..= 20000");
    }
}
