//! What the report reads, as plain typed views over the JSON and CSV outputs.
//!
//! The report parses `summary.json` as a [`serde_json::Value`] and the time series with the
//! `csv` crate rather than deserializing into the simulator's own structs, so that it keeps
//! working on older or newer documents: a missing field reads as zero (or "no data") instead
//! of failing the whole report.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// A percentile summary in milliseconds (`{ mean, p50, p90, p95, p99, max }`).
#[derive(Clone, Debug, Default)]
pub struct Pct {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Pct {
    fn from_json(v: Option<&Value>) -> Pct {
        let g = |k: &str| {
            v.and_then(|v| v.get(k))
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
        };
        Pct {
            count: v
                .and_then(|v| v.get("count"))
                .and_then(Value::as_u64)
                .unwrap_or(0),
            mean: g("mean"),
            p50: g("p50"),
            p90: g("p90"),
            p95: g("p95"),
            p99: g("p99"),
            max: g("max"),
        }
    }
}

/// One deployment's totals in a variant.
#[derive(Clone, Debug, Default)]
pub struct Deployment {
    pub name: String,
    pub kind: String,
    pub region: String,
    pub attempts: u64,
    pub admitted: u64,
    pub rejected_429: u64,
    pub timed_out_408: u64,
    pub spilled_in: u64,
    pub utilization_mean: f64,
    pub cost_usd: f64,
}

/// One variant's results (one entry of `summary.json`'s `variants`, or one sweep run).
#[derive(Clone, Debug, Default)]
pub struct Variant {
    pub name: String,
    pub description: Option<String>,
    pub sent: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub rate_limited: u64,
    pub timed_out: u64,
    pub other_failed: u64,
    pub failed_ratio: f64,
    pub retries: u64,
    pub spilled: u64,
    pub sessions_started: u64,
    pub sessions_completed: u64,
    pub session_ms: Pct,
    pub e2e_ms: Pct,
    pub ttft_ms: Pct,
    pub completion_per_request: f64,
    pub generated_per_request: f64,
    pub cost_total: f64,
    pub cost_per_1k_sessions: f64,
    /// `[value_ms, quantile]` points of the end-to-end latency CDF.
    pub e2e_cdf: Vec<(f64, f64)>,
    /// `[value_ms, quantile]` points of the session duration CDF.
    pub session_cdf: Vec<(f64, f64)>,
    pub deployments: Vec<Deployment>,
    /// Simulated span in seconds (`sim.span_s`), when known.
    pub span_s: Option<f64>,
}

fn u(v: &Value, path: &[&str]) -> u64 {
    get(v, path).and_then(Value::as_u64).unwrap_or(0)
}

fn f(v: &Value, path: &[&str]) -> f64 {
    get(v, path).and_then(Value::as_f64).unwrap_or(0.0)
}

fn s(v: &Value, path: &[&str]) -> String {
    get(v, path)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `v.a.b.c`, if every step exists.
pub fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(k))
}

fn cdf(v: Option<&Value>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = v
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    let p = p.as_array()?;
                    Some((p.first()?.as_f64()?, p.get(1)?.as_f64()?))
                })
                .filter(|(x, q)| x.is_finite() && q.is_finite())
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.total_cmp(&b.0)));
    out
}

impl Variant {
    /// Reads one variant summary object; missing fields read as zero.
    pub fn from_json(v: &Value) -> Variant {
        let failed = u(v, &["requests", "failed"]);
        let rate_limited = u(v, &["requests", "rate_limited"]);
        let timed_out = u(v, &["requests", "timed_out"]);
        let sent = u(v, &["requests", "sent"]);
        let other_failed = get(v, &["requests", "other_failed"])
            .and_then(Value::as_u64)
            .unwrap_or_else(|| failed.saturating_sub(rate_limited + timed_out));
        let failed_ratio = get(v, &["requests", "failed_ratio"])
            .and_then(Value::as_f64)
            .unwrap_or(if sent > 0 {
                failed as f64 / sent as f64
            } else {
                0.0
            });
        let deployments = v
            .get("deployments")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|d| Deployment {
                        name: s(d, &["name"]),
                        kind: s(d, &["kind"]),
                        region: s(d, &["region"]),
                        attempts: u(d, &["attempts"]),
                        admitted: u(d, &["admitted"]),
                        rejected_429: u(d, &["rejected_429"]),
                        timed_out_408: u(d, &["timed_out_408"]),
                        spilled_in: u(d, &["spilled_in"]),
                        utilization_mean: f(d, &["utilization_mean"]),
                        cost_usd: f(d, &["cost_usd"]),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Variant {
            name: s(v, &["name"]),
            description: v
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            sent,
            succeeded: u(v, &["requests", "succeeded"]),
            failed,
            rate_limited,
            timed_out,
            other_failed,
            failed_ratio,
            retries: u(v, &["requests", "retries"]),
            spilled: u(v, &["requests", "spilled"]),
            sessions_started: u(v, &["sessions", "started"]),
            sessions_completed: u(v, &["sessions", "completed"]),
            session_ms: Pct::from_json(get(v, &["sessions", "duration_ms"])),
            e2e_ms: Pct::from_json(get(v, &["latency_ms", "e2e"])),
            ttft_ms: Pct::from_json(get(v, &["latency_ms", "ttft"])),
            completion_per_request: f(v, &["tokens", "completion_per_request"]),
            generated_per_request: f(v, &["tokens", "generated_per_request"]),
            cost_total: f(v, &["cost_usd", "total"]),
            cost_per_1k_sessions: f(v, &["cost_usd", "per_1k_sessions"]),
            e2e_cdf: cdf(get(v, &["distributions", "e2e_ms"])),
            session_cdf: cdf(get(v, &["distributions", "session_duration_ms"])),
            deployments,
            span_s: get(v, &["sim", "span_s"]).and_then(Value::as_f64),
        }
    }

    /// Whether any session completed (so session percentiles and cost per session mean
    /// something).
    pub fn has_sessions(&self) -> bool {
        self.sessions_completed > 0
    }

    /// The session duration at quantile `q` (ms), from the CDF points; `None` without them.
    pub fn session_quantile(&self, q: f64) -> Option<f64> {
        quantile(&self.session_cdf, q)
    }
}

/// The value at quantile `q` of a CDF given as sorted `(value, quantile)` points: the first
/// point whose quantile reaches `q`.
pub fn quantile(cdf: &[(f64, f64)], q: f64) -> Option<f64> {
    cdf.iter()
        .find(|p| p.1 >= q - 1e-9)
        .or(cdf.last())
        .map(|p| p.0)
}

/// One variant's time series (`timeseries-<variant>.csv`).
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Interval starts, seconds.
    pub t_s: Vec<f64>,
    pub arrivals: Vec<f64>,
    pub completions: Vec<f64>,
    pub failures: Vec<f64>,
    pub rejected_429: Vec<f64>,
    pub timed_out_408: Vec<f64>,
    pub in_flight: Vec<f64>,
    /// Per deployment (in column order): name and utilization at each interval's end.
    pub utilization: Vec<(String, Vec<f64>)>,
    /// The last row is a shorter interval (the run ended inside it), so its rates are over a
    /// few seconds only.
    pub partial_last: bool,
}

impl Series {
    /// Parses the CSV text; `what` names the file in errors.
    pub fn parse(text: &str, what: &str) -> Result<Series> {
        let bad = |m: String| Error::Usage(format!("{what}: {m}"));
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let header: Vec<String> = r
            .headers()
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        let col = |name: &str| header.iter().position(|h| h == name);
        let t_col = col("t_s").ok_or_else(|| bad("no t_s column".into()))?;
        let fixed = [
            "arrivals",
            "completions",
            "failures",
            "rejected_429",
            "timed_out_408",
            "in_flight",
        ]
        .map(col);
        let util_cols: Vec<(String, usize)> = header
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.strip_suffix("_utilization").map(|n| (n.to_string(), i)))
            .collect();
        let mut s = Series {
            utilization: util_cols
                .iter()
                .map(|(n, _)| (n.clone(), Vec::new()))
                .collect(),
            ..Default::default()
        };
        for (line, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| bad(e.to_string()))?;
            let num = |c: Option<usize>| -> Result<f64> {
                match c {
                    None => Ok(0.0),
                    Some(c) => {
                        let cell = rec.get(c).unwrap_or("");
                        cell.trim().parse::<f64>().map_err(|_| {
                            bad(format!(
                                "row {}: column '{}': '{cell}' is not a number",
                                line + 2,
                                header[c]
                            ))
                        })
                    }
                }
            };
            s.t_s.push(num(Some(t_col))?);
            s.arrivals.push(num(fixed[0])?);
            s.completions.push(num(fixed[1])?);
            s.failures.push(num(fixed[2])?);
            s.rejected_429.push(num(fixed[3])?);
            s.timed_out_408.push(num(fixed[4])?);
            s.in_flight.push(num(fixed[5])?);
            for (k, (_, c)) in util_cols.iter().enumerate() {
                s.utilization[k].1.push(num(Some(*c))?);
            }
        }
        Ok(s)
    }

    /// The interval length in seconds (the most common step between rows; 60 when unknown).
    pub fn interval_s(&self) -> f64 {
        let mut steps: Vec<f64> = self.t_s.windows(2).map(|w| w[1] - w[0]).collect();
        steps.retain(|d| *d > 0.0);
        steps.sort_by(f64::total_cmp);
        if steps.is_empty() {
            60.0
        } else {
            steps[steps.len() / 2]
        }
    }
}

/// A run output directory: the summary and, per variant, its time series when present.
#[derive(Clone, Debug)]
pub struct Run {
    pub scenario: String,
    pub seed: Option<u64>,
    pub variants: Vec<Variant>,
    /// Same order as `variants`.
    pub series: Vec<Option<Series>>,
}

impl Run {
    /// Reads the summary document (series are left empty).
    pub fn from_summary(summary: &Value) -> Result<Run> {
        let variants = summary
            .get("variants")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                Error::Usage("summary: no 'variants' array (is this a spillway summary?)".into())
            })?;
        let variants: Vec<Variant> = variants.iter().map(Variant::from_json).collect();
        Ok(Run {
            scenario: s(summary, &["scenario"]),
            seed: summary.get("seed").and_then(Value::as_u64),
            series: vec![None; variants.len()],
            variants,
        })
    }

    /// Reads `summary.json` and every `timeseries-<variant>.csv` found in `dir`.
    pub fn load(dir: &Path) -> Result<Run> {
        let path = dir.join("summary.json");
        let summary = read_json(&path)?;
        let mut run = Run::from_summary(&summary)
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
        for (i, v) in run.variants.iter().enumerate() {
            let p = dir.join(format!(
                "timeseries-{}.csv",
                crate::output::csv::file_stem(&v.name)
            ));
            if p.is_file() {
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| Error::io(p.display().to_string(), e))?;
                let mut series = Series::parse(&text, &p.display().to_string())?;
                if let (Some(&last), Some(span)) = (series.t_s.last(), v.span_s) {
                    series.partial_last =
                        series.t_s.len() > 1 && span - last < series.interval_s() - 1e-6;
                }
                run.series[i] = Some(series);
            }
        }
        Ok(run)
    }
}

/// Reads and parses a JSON file.
pub fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("{}: not valid JSON: {e}", path.display())))
}
