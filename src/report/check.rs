//! Checks of saved documents beyond their types: ranges (no negative duration, ratios within
//! 0..1), consistency (the counts add up as the simulator writes them, percentiles in order),
//! indices in range and the layout the writers guarantee, and the sizes the report draws. Each
//! check returns the field at fault and what is wrong ([`super::load::Bad`]).

use std::collections::BTreeSet;

use serde_json::Value;

use super::load::Bad;
use crate::metrics::{Percentiles, Summary, VariantSummary};
use crate::sweep::SweepDoc;

/// The most variants a run report draws.
pub const MAX_VARIANTS: usize = 200;
/// The most points of a latency or session-duration CDF (the simulator writes 102).
pub const MAX_CDF_POINTS: usize = 1_000;
/// The most (point, variant) combinations a sweep report draws.
pub const MAX_CELLS: usize = 100_000;

fn bad<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, Bad> {
    Err((field.into(), message.into()))
}

/// A JSON value for a message, cut to a readable length.
pub fn short_json(v: &Value) -> String {
    let t = v.to_string();
    if t.chars().count() > 40 {
        format!("{}...", t.chars().take(40).collect::<String>())
    } else {
        t
    }
}

/// The names are unique and not empty; `field(i)` names entry `i`.
fn unique_names<'a>(
    names: impl Iterator<Item = &'a str>,
    field: impl Fn(usize) -> String,
) -> Result<(), Bad> {
    let mut seen = BTreeSet::new();
    for (i, n) in names.enumerate() {
        if n.is_empty() {
            return bad(field(i), "empty");
        }
        if !seen.insert(n) {
            return bad(field(i), format!("'{n}' appears twice"));
        }
    }
    Ok(())
}

/// A run's summary: one to [`MAX_VARIANTS`] variants with unique names, each checked
/// ([`variant`]).
pub fn summary(s: &Summary) -> Result<(), Bad> {
    if s.variants.is_empty() {
        return bad("variants", "empty: a run has at least one variant");
    }
    if s.variants.len() > MAX_VARIANTS {
        return bad(
            "variants",
            format!(
                "{} variants; the report draws at most {MAX_VARIANTS}",
                s.variants.len()
            ),
        );
    }
    unique_names(s.variants.iter().map(|v| v.name.as_str()), |i| {
        format!("variants[{i}].name")
    })?;
    // Two names that make the same file name would share one time series.
    let mut stems = BTreeSet::new();
    for (i, v) in s.variants.iter().enumerate() {
        let stem = crate::output::csv::file_stem(&v.name);
        if !stems.insert(stem.clone()) {
            return bad(
                format!("variants[{i}].name"),
                format!(
                    "'{}' has the same file name as another variant (timeseries-{stem}.csv)",
                    v.name
                ),
            );
        }
    }
    for (i, v) in s.variants.iter().enumerate() {
        variant(v).map_err(|(f, m)| (format!("variants[{i}].{f}"), m))?;
    }
    let known = |n: &str| s.variants.iter().any(|v| v.name == n);
    if let Some(b) = &s.baseline
        && !known(b)
    {
        return bad("baseline", format!("'{b}' is not a variant of this run"));
    }
    for (k, o) in s.slo.iter().enumerate() {
        if o.name.is_empty() || o.metric.is_empty() {
            return bad(format!("slo[{k}]"), "needs a name and a metric");
        }
        for (j, r) in o.results.iter().enumerate() {
            if !known(&r.variant) {
                return bad(
                    format!("slo[{k}].results[{j}].variant"),
                    format!("'{}' is not a variant of this run", r.variant),
                );
            }
        }
    }
    Ok(())
}

/// `parts` add up to `total` (as the simulator's counts do).
fn adds_up(total: (&str, u64), parts: &[(&str, u64)]) -> Result<(), Bad> {
    let sum: u128 = parts.iter().map(|p| p.1 as u128).sum();
    if sum == total.1 as u128 {
        return Ok(());
    }
    let terms: Vec<String> = parts.iter().map(|(n, x)| format!("{n} {x}")).collect();
    bad(
        total.0,
        format!("{}, but {} = {sum}", total.1, terms.join(" + ")),
    )
}

/// Each of `values` is >= 0.
fn non_negative(values: &[(&str, f64)]) -> Result<(), Bad> {
    match values.iter().find(|v| v.1 < 0.0) {
        Some((f, x)) => bad(*f, format!("{x} is negative")),
        None => Ok(()),
    }
}

/// A percentile summary: values >= 0, `p50 <= p90 <= p95 <= p99 <= max`.
fn percentiles(field: &str, p: &Percentiles) -> Result<(), Bad> {
    let f = |k: &str| format!("{field}.{k}");
    let order = [
        ("p50", p.p50),
        ("p90", p.p90),
        ("p95", p.p95),
        ("p99", p.p99),
        ("max", p.max),
    ];
    non_negative(&[(&f("mean"), p.mean), (&f("p50"), p.p50)])?;
    for w in order.windows(2) {
        if w[1].1 < w[0].1 {
            return bad(
                f(w[1].0),
                format!("{} is below {} {}", w[1].1, w[0].0, w[0].1),
            );
        }
    }
    Ok(())
}

/// CDF points `[value, quantile]`: at most [`MAX_CDF_POINTS`], values >= 0, quantiles in
/// 0..1, both non-decreasing.
fn cdf(field: &str, pts: &[[f64; 2]]) -> Result<(), Bad> {
    if pts.len() > MAX_CDF_POINTS {
        return bad(
            field,
            format!(
                "{} points; at most {MAX_CDF_POINTS} (the simulator writes 102)",
                pts.len()
            ),
        );
    }
    for (i, p) in pts.iter().enumerate() {
        let f = format!("{field}[{i}]");
        if p[0] < 0.0 || !(0.0..=1.0).contains(&p[1]) {
            return bad(f, "needs a value >= 0 and a quantile from 0 to 1");
        }
        if i > 0 && (p[0] < pts[i - 1][0] || p[1] < pts[i - 1][1]) {
            return bad(f, "below the point before it (a CDF only rises)");
        }
    }
    Ok(())
}

/// One variant's summary: names unique, counts that add up, ratios and percentiles in range.
pub fn variant(v: &VariantSummary) -> Result<(), Bad> {
    if v.name.is_empty() {
        return bad("name", "empty");
    }
    let r = &v.requests;
    adds_up(
        ("requests.sent", r.sent),
        &[
            ("succeeded", r.succeeded),
            ("failed", r.failed),
            ("incomplete", r.incomplete),
        ],
    )?;
    adds_up(
        ("requests.failed", r.failed),
        &[
            ("rate_limited", r.rate_limited),
            ("timed_out", r.timed_out),
            ("other_failed", r.other_failed),
        ],
    )?;
    let ratio = if r.sent > 0 {
        r.failed as f64 / r.sent as f64
    } else {
        0.0
    };
    if (r.failed_ratio - ratio).abs() > 1e-6 {
        return bad(
            "requests.failed_ratio",
            format!("{}, but failed / sent = {ratio}", r.failed_ratio),
        );
    }
    if r.truncated > r.succeeded {
        return bad(
            "requests.truncated",
            format!(
                "{}, more than the {} requests that succeeded",
                r.truncated, r.succeeded
            ),
        );
    }
    let s = &v.sessions;
    let t = &s.time_breakdown_ms;
    non_negative(&[
        ("sessions.time_breakdown_ms.think", t.think),
        ("sessions.time_breakdown_ms.waiting", t.waiting),
        ("sessions.time_breakdown_ms.queued", t.queued),
        ("sessions.time_breakdown_ms.prefill", t.prefill),
        ("sessions.time_breakdown_ms.generating", t.generating),
    ])?;
    if let Some(l) = &v.load {
        let pieces: Vec<(String, f64)> = l
            .schedule
            .iter()
            .enumerate()
            .flat_map(|(k, p)| {
                [
                    (format!("load.schedule[{k}][0]"), p[0]),
                    (format!("load.schedule[{k}][1]"), p[1]),
                ]
            })
            .collect();
        let mut vals: Vec<(&str, f64)> = vec![
            ("load.duration_s", l.duration_s),
            ("load.rate_per_min", l.rate_per_min.unwrap_or(0.0)),
        ];
        vals.extend(pieces.iter().map(|(f, x)| (f.as_str(), *x)));
        non_negative(&vals)?;
    }
    adds_up(
        ("sessions.started", s.started),
        &[
            ("completed", s.completed),
            ("failed", s.failed),
            ("incomplete", s.incomplete),
        ],
    )?;
    percentiles("latency_ms.ttft", &v.latency_ms.ttft)?;
    percentiles("latency_ms.e2e", &v.latency_ms.e2e)?;
    percentiles("sessions.duration_ms", &s.duration_ms)?;
    let (t, c) = (&v.tokens, &v.cost_usd);
    non_negative(&[
        ("requests.attempts_per_request", r.attempts_per_request),
        ("tokens.completion_per_request", t.completion_per_request),
        ("tokens.generated_per_request", t.generated_per_request),
        ("throughput.requests_per_min", v.throughput.requests_per_min),
        (
            "throughput.output_tokens_per_min",
            v.throughput.output_tokens_per_min,
        ),
        ("cost_usd.total", c.total),
        ("cost_usd.tokens", c.tokens),
        ("cost_usd.ptu", c.ptu),
        ("cost_usd.spilled_tokens", c.spilled_tokens),
        ("cost_usd.per_1k_sessions", c.per_1k_sessions),
        ("cost_usd.per_1k_requests", c.per_1k_requests),
        (
            "cost_usd.gateway_embedding",
            c.gateway_embedding.unwrap_or(0.0),
        ),
        ("sim.span_s", v.sim.span_s),
        ("sim.in_flight_mean", v.sim.in_flight_mean),
    ])?;
    deployments(v)?;
    let d = &v.distributions;
    cdf("distributions.e2e_ms", &d.e2e_ms)?;
    cdf("distributions.ttft_ms", &d.ttft_ms)?;
    cdf("distributions.session_duration_ms", &d.session_duration_ms)
}

/// A variant's deployments: names unique, admitted <= attempts, utilization and cost >= 0.
fn deployments(v: &VariantSummary) -> Result<(), Bad> {
    unique_names(v.deployments.iter().map(|d| d.name.as_str()), |i| {
        format!("deployments[{i}].name")
    })?;
    for (i, d) in v.deployments.iter().enumerate() {
        let f = |k: &str| format!("deployments[{i}].{k}");
        if d.admitted > d.attempts {
            return bad(
                f("admitted"),
                format!("{}, more than its {} attempts", d.admitted, d.attempts),
            );
        }
        non_negative(&[
            (&f("utilization_mean"), d.utilization_mean),
            (&f("cost_usd"), d.cost_usd),
        ])?;
    }
    Ok(())
}

/// A sweep: points numbered in order with a value for every parameter, runs in index order
/// (point, then variant, then replication) and within the grid, SLO results naming points
/// and variants that exist.
pub fn sweep(d: &SweepDoc) -> Result<(), Bad> {
    if d.variants.is_empty() {
        return bad("variants", "empty: a sweep runs at least one variant");
    }
    unique_names(d.variants.iter().map(String::as_str), |i| {
        format!("variants[{i}]")
    })?;
    unique_names(d.parameters.iter().map(String::as_str), |i| {
        format!("parameters[{i}]")
    })?;
    if d.replications == 0 {
        return bad("replications", "0: a sweep runs each point at least once");
    }
    for (i, p) in d.points.iter().enumerate() {
        if p.point != i {
            return bad(
                format!("points[{i}].point"),
                format!("{}, expected {i} (points are numbered in order)", p.point),
            );
        }
        for k in &d.parameters {
            if !p.values.contains_key(k) {
                return bad(format!("points[{i}].values"), format!("no value for '{k}'"));
            }
        }
        if let Some(k) = p.values.keys().find(|k| !d.parameters.contains(k)) {
            return bad(
                format!("points[{i}].values"),
                format!("'{k}' is not one of the swept parameters"),
            );
        }
    }
    runs(d)?;
    slos(d)
}

/// Runs are in index order and each sits where its index says.
fn runs(d: &SweepDoc) -> Result<(), Bad> {
    let (np, nv, nr) = (d.points.len(), d.variants.len(), d.replications as usize);
    let cells = np.saturating_mul(nv);
    if cells > MAX_CELLS {
        return bad(
            "points",
            format!(
                "{np} points x {nv} variants; the report draws at most {MAX_CELLS} combinations"
            ),
        );
    }
    let Some(total) = cells.checked_mul(nr) else {
        return bad(
            "replications",
            format!("{nr}: points x variants x replications is too large"),
        );
    };
    if let Some(s) = d.shard
        && (s.count == 0 || s.index >= s.count)
    {
        return bad(
            "shard",
            format!("{}/{}: need 0 <= index < count", s.index, s.count),
        );
    }
    let mut prev: Option<usize> = None;
    for (k, r) in d.runs.iter().enumerate() {
        let f = |x: &str| format!("runs[{k}].{x}");
        if r.index >= total {
            return bad(
                f("index"),
                format!("{} is out of range: the sweep has {total} runs", r.index),
            );
        }
        if prev.is_some_and(|p| r.index <= p) {
            return bad(
                f("index"),
                format!("{}: runs are not in index order", r.index),
            );
        }
        prev = Some(r.index);
        let (point, vi, rep) = (r.index / (nv * nr), (r.index / nr) % nv, r.index % nr);
        if r.point != point {
            return bad(
                f("point"),
                format!("{}, but run {} is of point {point}", r.point, r.index),
            );
        }
        if r.variant != d.variants[vi] {
            return bad(
                f("variant"),
                format!(
                    "'{}', but run {} is of variant '{}'",
                    r.variant, r.index, d.variants[vi]
                ),
            );
        }
        if r.replication as usize != rep {
            return bad(
                f("replication"),
                format!(
                    "{}, but run {} is replication {rep}",
                    r.replication, r.index
                ),
            );
        }
        if let Some(s) = d.shard
            && r.index % s.count != s.index
        {
            return bad(
                f("index"),
                format!("{}: not a run of shard {}/{}", r.index, s.index, s.count),
            );
        }
    }
    let expected = match d.shard {
        None => total,
        Some(s) => total.saturating_sub(s.index).div_ceil(s.count),
    };
    if d.runs.len() != expected {
        return bad(
            "runs",
            format!("{} runs, but the sweep has {expected}", d.runs.len()),
        );
    }
    Ok(())
}

/// SLO results name points and variants of the sweep.
fn slos(d: &SweepDoc) -> Result<(), Bad> {
    for (i, s) in d.slo.iter().enumerate() {
        for (j, v) in s.variants.iter().enumerate() {
            if !d.variants.contains(v) {
                return bad(
                    format!("slo[{i}].variants[{j}]"),
                    format!("'{v}' is not a variant of the sweep"),
                );
            }
        }
        if s.results.len() > d.points.len() * d.variants.len() {
            return bad(
                format!("slo[{i}].results"),
                format!(
                    "{} results, more than the {} point x variant combinations",
                    s.results.len(),
                    d.points.len() * d.variants.len()
                ),
            );
        }
        for (j, r) in s.results.iter().enumerate() {
            let f = |x: &str| format!("slo[{i}].results[{j}].{x}");
            if r.point >= d.points.len() {
                return bad(
                    f("point"),
                    format!(
                        "{} is out of range: the sweep has {} points",
                        r.point,
                        d.points.len()
                    ),
                );
            }
            if !d.variants.contains(&r.variant) {
                return bad(
                    f("variant"),
                    format!("'{}' is not a variant of the sweep", r.variant),
                );
            }
        }
    }
    Ok(())
}
