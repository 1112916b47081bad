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

    /// The bound as text, e.g. `<= 120000`.
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
    /// Sweep point index (absent for `check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<usize>,
    /// Variant.
    pub variant: String,
    /// Measured value (mean over replications in a sweep).
    pub value: f64,
    /// Whether the bound holds.
    pub pass: bool,
    /// The bound as text.
    pub bound: String,
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
            out.push(Verdict {
                slo: slo.name.clone(),
                point,
                variant: variant.to_string(),
                value,
                pass: slo.holds(value),
                bound: slo.bound_text(),
            });
        }
    }
    out
}

/// Renders verdicts as an aligned table (`markdown = false`) or a Markdown table.
pub fn render(verdicts: &[Verdict], params: &[(usize, String)], markdown: bool) -> String {
    let failed = verdicts.iter().filter(|v| !v.pass).count();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for v in verdicts {
        let mut r = vec![v.slo.clone(), v.variant.clone()];
        if let Some(p) = v.point {
            r.push(
                params
                    .iter()
                    .find(|(i, _)| *i == p)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_else(|| p.to_string()),
            );
        }
        r.push(v.bound.clone());
        r.push(format_value(v.value));
        r.push(if v.pass { "pass".into() } else { "FAIL".into() });
        rows.push(r);
    }
    let mut header = vec!["slo", "variant"];
    if verdicts.iter().any(|v| v.point.is_some()) {
        header.push("point");
    }
    header.extend(["bound", "measured", "verdict"]);
    let verdict_line = if failed == 0 {
        format!("all {} SLO checks pass", verdicts.len())
    } else {
        format!("{failed} of {} SLO checks FAIL", verdicts.len())
    };
    if markdown {
        let mut s = String::from("## SLO checks\n\n");
        s += &format!(
            "| {} |\n|{}\n",
            header.join(" | "),
            "---|".repeat(header.len())
        );
        for r in &rows {
            let cells: Vec<String> = r
                .iter()
                .map(|c| {
                    if c == "FAIL" {
                        "**FAIL**".to_string()
                    } else {
                        c.replace('|', "\\|")
                    }
                })
                .collect();
            s += &format!("| {} |\n", cells.join(" | "));
        }
        s += &format!(
            "\n{}\n",
            if failed == 0 {
                verdict_line
            } else {
                format!("**{verdict_line}**")
            }
        );
        return s;
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
            + "\n"
    };
    let mut s = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    s += &line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    for r in &rows {
        s += &line(r);
    }
    s += &verdict_line;
    s.push('\n');
    s
}

fn format_value(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else if v.abs() >= 1000.0 || (v.fract() == 0.0 && v.abs() < 1e15) {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// Builds `VariantSummary` JSON for evaluation.
pub fn summary_value(s: &VariantSummary) -> Value {
    serde_json::to_value(s).expect("summary serializes")
}
