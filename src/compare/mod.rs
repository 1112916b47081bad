//! `spillway compare`: replay observed telemetry through a scenario and compare what the
//! simulation gives each request with what was observed (`docs/compare.md`).
//!
//! The telemetry's requests (any file `spillway calibrate` reads, with timestamps) become the
//! scenario's workload: a trace in open mode, each request at its observed start time with its
//! model, prompt and completion tokens and streaming, the scenario's first class giving what
//! telemetry does not say (`max_tokens`). The scenario's deployments, client and gateway are
//! kept. Then, request by request: TTFT and end-to-end percentiles (observed vs simulated,
//! with their relative errors), the failure rate by status (429, 408 and timeouts, 5xx,
//! other), and completed requests per minute.

mod render;

pub use render::{html, json, markdown, text};

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::calibrate::{Outcome, Request, Telemetry};
use crate::engine::{RequestRecord, RequestSink, simulate};
use crate::error::{Error, Result};
use crate::scenario::{Arrivals, Scenario, TraceSpec};
use crate::time::SimTime;
use crate::trace::{TraceFormat, TraceMode};

/// The percentiles compared.
pub const QUANTILES: [f64; 4] = [0.50, 0.90, 0.95, 0.99];

/// One percentile, observed and simulated.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Quantile {
    /// The percentile (50, 90, 95, 99).
    pub p: u32,
    /// Observed, milliseconds.
    pub observed_ms: f64,
    /// Simulated, milliseconds.
    pub simulated_ms: f64,
    /// (simulated - observed) / observed.
    pub error: f64,
}

/// One latency's comparison.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LatencyComparison {
    /// Requests measured, observed.
    pub observed_n: usize,
    /// Requests measured, simulated.
    pub simulated_n: usize,
    /// The percentiles (empty when either side has no request).
    pub quantiles: Vec<Quantile>,
}

/// One status class's share of requests.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StatusShare {
    /// `ok`, `429`, `408/timeout`, `5xx`, `other`.
    pub status: &'static str,
    /// Observed requests.
    pub observed: u64,
    /// Simulated requests.
    pub simulated: u64,
    /// Observed share of all requests.
    pub observed_rate: f64,
    /// Simulated share of all requests.
    pub simulated_rate: f64,
}

/// Completed requests in one minute.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Minute {
    /// Minute from the first request's start.
    pub minute: u32,
    /// Observed requests that completed (2xx) in it.
    pub observed: u64,
    /// Simulated requests that succeeded in it.
    pub simulated: u64,
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Comparison {
    /// Always `spillway.compare/v1`.
    pub schema: &'static str,
    /// Scenario name.
    pub scenario: String,
    /// The variant run.
    pub variant: String,
    /// The telemetry file.
    pub telemetry: String,
    /// Requests replayed (every telemetry request with a timestamp).
    pub requests: u64,
    /// Requests the simulation finished (the others were cut at the end of the drain).
    pub simulated_finished: u64,
    /// Time to first token of succeeded requests whose telemetry has one.
    pub ttft: LatencyComparison,
    /// End-to-end time of succeeded requests.
    pub e2e: LatencyComparison,
    /// Requests by how they ended.
    pub status: Vec<StatusShare>,
    /// Completed requests per minute.
    pub throughput: Vec<Minute>,
    /// Sum over minutes of |simulated - observed| / sum of observed.
    pub throughput_error: f64,
    /// Largest |error| over the TTFT and end-to-end percentiles.
    pub max_latency_error: f64,
    /// What the comparison assumed.
    pub notes: Vec<String>,
}

/// Schema name of `compare.json`.
pub const COMPARE_SCHEMA: &str = "spillway.compare/v1";

/// What the simulation did to one replayed request.
#[derive(Clone, Copy, Debug, Default)]
struct Sim {
    done: bool,
    status: u16,
    ttft: Option<SimTime>,
    end: SimTime,
    start: SimTime,
}

/// Collects each replayed request's outcome by its session key (the trace's order).
struct Collect(Vec<Sim>);

impl RequestSink for Collect {
    fn record(&mut self, r: &RequestRecord) {
        if let Some(s) = self.0.get_mut(r.session as usize) {
            *s = Sim {
                done: true,
                status: r.status,
                ttft: r.ttft,
                end: r.end,
                start: r.start,
            };
        }
    }
}

/// Replays `t` through `sc` and compares.
pub fn compare(sc: &Scenario, t: &Telemetry) -> Result<Comparison> {
    let mut obs: Vec<&Request> = t.requests.iter().filter(|r| r.start_s.is_some()).collect();
    if obs.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no request has a timestamp; compare replays requests at their observed times (Spillway's telemetry CSV and llmperf's files have them)",
            t.file
        )));
    }
    let start = |r: &Request| r.start_s.unwrap_or(0.0);
    obs.sort_by(|a, b| start(a).total_cmp(&start(b)));
    let t0 = start(obs[0]);
    let mut notes = Vec::new();
    let trace_file = write_trace(sc, &obs, t0, &mut notes)?;
    let result = run(sc, &obs, t0, &trace_file, t, notes);
    let _ = std::fs::remove_file(&trace_file);
    result
}

fn run(
    sc: &Scenario,
    obs: &[&Request],
    t0: f64,
    trace_file: &PathBuf,
    t: &Telemetry,
    notes: Vec<String>,
) -> Result<Comparison> {
    let span = obs.last().map_or(0.0, |r| r.start_s.unwrap_or(t0) - t0);
    let mut spec = TraceSpec::new(trace_file);
    spec.format = Some(TraceFormat::SpillwayCsv);
    spec.mode = TraceMode::Open;
    spec.sample_seed = sc.seed;
    let mut run = sc.clone();
    run.workload.trace = Some(spec);
    run.workload.arrivals = Arrivals::Constant {
        schedule: vec![(SimTime::ZERO, 0.0)],
    };
    run.workload.max_sessions = None;
    run.duration = SimTime::from_secs_f64(span) + SimTime::from_secs(1);
    let mut sink = Collect(vec![Sim::default(); obs.len()]);
    let m = simulate(&run, Some(&mut sink));
    if let Some(e) = m.trace.as_ref().and_then(|c| c.error.clone()) {
        return Err(Error::Usage(format!("{}: {e}", t.file)));
    }
    let sims = sink.0;
    let ms = |s: f64| s * 1e3;
    let obs_ttft: Vec<f64> = obs.iter().filter_map(|r| r.ttft_s.map(ms)).collect();
    let sim_ttft: Vec<f64> = obs
        .iter()
        .zip(&sims)
        .filter(|(r, s)| r.ttft_s.is_some() && s.done && s.status == 200)
        .filter_map(|(_, s)| s.ttft.map(|t| t.as_secs_f64() * 1e3))
        .collect();
    let obs_e2e: Vec<f64> = obs
        .iter()
        .filter(|r| r.outcome == Outcome::Ok)
        .filter_map(|r| r.e2e_s.map(ms))
        .collect();
    let sim_e2e: Vec<f64> = sims
        .iter()
        .filter(|s| s.done && s.status == 200)
        .map(|s| (s.end - s.start).as_secs_f64() * 1e3)
        .collect();
    let ttft = latency(obs_ttft, sim_ttft);
    let e2e = latency(obs_e2e, sim_e2e);
    let max_latency_error = ttft
        .quantiles
        .iter()
        .chain(&e2e.quantiles)
        .map(|q| q.error.abs())
        .fold(0.0, f64::max);
    let (throughput, throughput_error) = per_minute(obs, &sims, t0);
    Ok(Comparison {
        schema: COMPARE_SCHEMA,
        scenario: sc.name.clone(),
        variant: sc.variant.clone(),
        telemetry: t.file.clone(),
        requests: obs.len() as u64,
        simulated_finished: sims.iter().filter(|s| s.done).count() as u64,
        ttft,
        e2e,
        status: status_mix(obs, &sims),
        throughput,
        throughput_error,
        max_latency_error,
        notes,
    })
}

/// Writes the observed requests as a Spillway CSV trace (a temporary file, removed after the
/// run); says in `notes` what it assumed.
fn write_trace(
    sc: &Scenario,
    obs: &[&Request],
    t0: f64,
    notes: &mut Vec<String>,
) -> Result<PathBuf> {
    static N: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "spillway-compare-{}-{}.csv",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let io = |e| Error::io(path.display().to_string(), e);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
    let known = |m: &str| sc.models.iter().any(|p| p.name == m);
    // A failed request's answer length is unknown: it asks for the median of its model's
    // completed requests.
    let mut by_model: std::collections::BTreeMap<&str, Vec<u32>> = Default::default();
    for r in obs.iter().filter(|r| r.outcome == Outcome::Ok) {
        by_model
            .entry(&r.model)
            .or_default()
            .push(r.completion_tokens);
    }
    let median = |m: &str| {
        by_model.get(m).map_or(1, |v| {
            let mut v = v.clone();
            v.sort_unstable();
            v[v.len() / 2].max(1)
        })
    };
    let mut unknown = std::collections::BTreeSet::new();
    let mut stand_ins = 0u64;
    writeln!(out, "timestamp,model,prompt,completion,streaming").map_err(io)?;
    for r in obs {
        let model = if known(&r.model) {
            r.model.as_str()
        } else {
            unknown.insert(r.model.clone());
            ""
        };
        let completion = if r.outcome == Outcome::Ok {
            r.completion_tokens
        } else {
            stand_ins += 1;
            median(&r.model)
        };
        writeln!(
            out,
            "{:.6},{model},{},{completion},{}",
            r.start_s.unwrap_or(t0) - t0,
            r.prompt_tokens.max(1),
            r.streaming
        )
        .map_err(io)?;
    }
    out.flush().map_err(io)?;
    if !unknown.is_empty() {
        notes.push(format!(
            "the telemetry's model(s) {} are not in the scenario: their requests use the first class's model",
            unknown.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if stand_ins > 0 {
        notes.push(format!(
            "{stand_ins} failed request(s) have no answer length: each asks for the median completion of its model's completed requests"
        ));
    }
    notes.push("max_tokens is the scenario's first class's (telemetry does not record it)".into());
    Ok(path)
}

/// Percentiles of both sides and their errors.
fn latency(mut observed: Vec<f64>, mut simulated: Vec<f64>) -> LatencyComparison {
    observed.sort_by(f64::total_cmp);
    simulated.sort_by(f64::total_cmp);
    let quantiles = if observed.is_empty() || simulated.is_empty() {
        Vec::new()
    } else {
        QUANTILES
            .iter()
            .map(|&q| {
                let o = crate::calibrate::stats::quantile_sorted(&observed, q);
                let s = crate::calibrate::stats::quantile_sorted(&simulated, q);
                Quantile {
                    p: (q * 100.0).round() as u32,
                    observed_ms: round3(o),
                    simulated_ms: round3(s),
                    error: round4(if o > 0.0 { (s - o) / o } else { 0.0 }),
                }
            })
            .collect()
    };
    LatencyComparison {
        observed_n: observed.len(),
        simulated_n: simulated.len(),
        quantiles,
    }
}

/// Requests by status class, both sides (simulated requests cut off count as `other`).
fn status_mix(obs: &[&Request], sims: &[Sim]) -> Vec<StatusShare> {
    let classes: [(&str, Outcome); 5] = [
        ("ok", Outcome::Ok),
        ("429", Outcome::RateLimited),
        ("408/timeout", Outcome::Timeout),
        ("5xx", Outcome::ServerError),
        ("other", Outcome::OtherError),
    ];
    let n = obs.len().max(1) as f64;
    classes
        .iter()
        .map(|&(status, o)| {
            let observed = obs.iter().filter(|r| r.outcome == o).count() as u64;
            let simulated = sims
                .iter()
                .filter(|s| {
                    let got = if s.done {
                        Outcome::of_status(s.status)
                    } else {
                        Outcome::OtherError
                    };
                    got == o
                })
                .count() as u64;
            StatusShare {
                status,
                observed,
                simulated,
                observed_rate: round4(observed as f64 / n),
                simulated_rate: round4(simulated as f64 / n),
            }
        })
        .collect()
}

/// Completed requests per minute from the first start, both sides, and the relative error.
fn per_minute(obs: &[&Request], sims: &[Sim], t0: f64) -> (Vec<Minute>, f64) {
    let obs_min: Vec<u32> = obs
        .iter()
        .filter(|r| r.outcome == Outcome::Ok)
        .filter_map(|r| Some(((r.start_s? - t0 + r.e2e_s?) / 60.0).max(0.0) as u32))
        .collect();
    let sim_min: Vec<u32> = sims
        .iter()
        .filter(|s| s.done && s.status == 200)
        .map(|s| (s.end.as_secs_f64() / 60.0) as u32)
        .collect();
    let last = obs_min.iter().chain(&sim_min).copied().max().unwrap_or(0);
    let mut rows: Vec<Minute> = (0..=last)
        .map(|minute| Minute {
            minute,
            observed: 0,
            simulated: 0,
        })
        .collect();
    for m in obs_min {
        rows[m as usize].observed += 1;
    }
    for m in sim_min {
        rows[m as usize].simulated += 1;
    }
    let total: u64 = rows.iter().map(|r| r.observed).sum();
    let diff: u64 = rows.iter().map(|r| r.observed.abs_diff(r.simulated)).sum();
    (rows, round4(diff as f64 / total.max(1) as f64))
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}
