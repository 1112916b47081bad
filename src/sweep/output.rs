//! `sweep.csv` and `sweep.json`.
//!
//! `sweep.csv` has one row per point x variant: `point`, `variant`, one column per swept
//! parameter (the full key path), `replications`, then for each metric in [`METRICS`] its
//! mean over the replications and `<metric>_ci95`, the half-width of a 95% Student-t
//! confidence interval (empty with one replication). Column names are stable.

use serde_json::Value as Json;

use super::{SweepDoc, groups};
use crate::error::{Error, Result};

/// `(column, path in the variant summary, scale)`: the metrics of `sweep.csv`.
pub const METRICS: &[(&str, &str, f64)] = &[
    ("sessions_started", "sessions.started", 1.0),
    ("sessions_completed", "sessions.completed", 1.0),
    ("sessions_failed", "sessions.failed", 1.0),
    ("session_p50_s", "sessions.duration_ms.p50", 1e-3),
    ("session_p95_s", "sessions.duration_ms.p95", 1e-3),
    ("session_p99_s", "sessions.duration_ms.p99", 1e-3),
    ("e2e_p50_s", "latency_ms.e2e.p50", 1e-3),
    ("e2e_p95_s", "latency_ms.e2e.p95", 1e-3),
    ("ttft_p50_s", "latency_ms.ttft.p50", 1e-3),
    ("requests_sent", "requests.sent", 1.0),
    ("failed_ratio", "requests.failed_ratio", 1.0),
    ("rate_limited", "requests.rate_limited", 1.0),
    ("timed_out", "requests.timed_out", 1.0),
    ("attempts_per_request", "requests.attempts_per_request", 1.0),
    ("spilled", "requests.spilled", 1.0),
    ("generated_per_request", "tokens.generated_per_request", 1.0),
    ("requests_per_min", "throughput.requests_per_min", 1.0),
    ("cost_usd", "cost_usd.total", 1.0),
    ("cost_per_1k_sessions_usd", "cost_usd.per_1k_sessions", 1.0),
];

fn get(v: &Json, path: &str) -> f64 {
    path.split('.')
        .fold(v, |v, k| &v[k])
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// Two-sided 95% Student-t quantile for `df` degrees of freedom.
pub fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if df == 0 {
        f64::NAN
    } else {
        T.get(df - 1).copied().unwrap_or(1.96)
    }
}

/// Mean and 95% half-width (NaN with fewer than two values).
pub fn mean_ci(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, f64::NAN);
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    (mean, t95(n - 1) * (var / n as f64).sqrt())
}

fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        let r = (x * 1e6).round() / 1e6;
        format!("{}", if r == 0.0 { 0.0 } else { r })
    }
}

/// A JSON value as plain CSV text (strings unquoted).
pub fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Renders `sweep.csv`.
pub fn csv_bytes(doc: &SweepDoc) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::Usage(format!("writing sweep.csv: {e}"));
    let mut header: Vec<String> = vec!["point".into(), "variant".into()];
    header.extend(doc.parameters.iter().cloned());
    header.push("replications".into());
    for (m, _, _) in METRICS {
        header.push(m.to_string());
        header.push(format!("{m}_ci95"));
    }
    w.write_record(&header).map_err(err)?;
    for (point, variant, items) in groups(doc) {
        // Checked documents always have the point and its values; an unchecked one is an
        // error here, never a panic.
        let p = doc.points.get(point).ok_or_else(|| {
            Error::Usage(format!(
                "writing sweep.csv: a run names point {point}, which the sweep does not have"
            ))
        })?;
        let mut rec = vec![point.to_string(), variant];
        for k in &doc.parameters {
            let v = p.values.get(k).ok_or_else(|| {
                Error::Usage(format!(
                    "writing sweep.csv: point {point} has no value for '{k}'"
                ))
            })?;
            rec.push(json_text(v));
        }
        rec.push(items.len().to_string());
        for (_, path, scale) in METRICS {
            let xs: Vec<f64> = items.iter().map(|s| get(s, path) * scale).collect();
            let (m, ci) = mean_ci(&xs);
            rec.push(num(m));
            rec.push(num(ci));
        }
        w.write_record(&rec).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::Usage(format!("writing sweep.csv: {e}")))
}

/// Renders `sweep.json`.
pub fn json_bytes(doc: &SweepDoc) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(doc).expect("sweep document serializes");
    s.push('\n');
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_interval_of_known_values() {
        let (m, ci) = mean_ci(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        // sd = 1.291, se = 0.6455, t(3) = 3.182
        assert!((ci - 3.182 * 0.645_497).abs() < 1e-3, "{ci}");
        assert!(mean_ci(&[5.0]).1.is_nan());
        assert_eq!(t95(100), 1.96);
    }
}
