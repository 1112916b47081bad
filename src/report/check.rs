//! Checks of saved documents beyond their types: indices in range and the layout the writers
//! guarantee, so that the report can index without looking twice. Each check returns the
//! field at fault and what is wrong ([`super::load::Bad`]).

use std::collections::BTreeSet;

use serde_json::Value;

use super::load::Bad;
use crate::metrics::{Summary, VariantSummary};
use crate::sweep::SweepDoc;

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

/// A run's summary: at least one variant, names unique.
pub fn summary(s: &Summary) -> Result<(), Bad> {
    if s.variants.is_empty() {
        return bad("variants", "empty: a run has at least one variant");
    }
    unique_names(s.variants.iter().map(|v| v.name.as_str()), |i| {
        format!("variants[{i}].name")
    })?;
    for (i, v) in s.variants.iter().enumerate() {
        variant(v).map_err(|(f, m)| (format!("variants[{i}].{f}"), m))?;
    }
    Ok(())
}

/// One variant's summary.
pub fn variant(v: &VariantSummary) -> Result<(), Bad> {
    unique_names(v.deployments.iter().map(|d| d.name.as_str()), |i| {
        format!("deployments[{i}].name")
    })
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
    let Some(total) = np.checked_mul(nv).and_then(|x| x.checked_mul(nr)) else {
        return bad(
            "replications",
            "points x variants x replications is too large",
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
