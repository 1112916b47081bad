//! Reading saved `sweep.json` documents back (for `merge`), checking everything in them before
//! use, and combining shards.
//!
//! A saved document is input like any other: it may be truncated, edited by hand, written by
//! another version or crafted. [`read_doc`] refuses it (exit 2, naming the file and the field)
//! unless the schema, every index and every count are consistent with each other, so nothing
//! downstream indexes out of range, and no allocation is ever sized by a number read from the
//! file: counts are compared with the lengths of lists actually present.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{SWEEP_SCHEMA, SweepDoc, evaluate_slos, run_seed};
use crate::error::{Error, Result};

/// Reads and checks the `sweep.json` at `path`.
pub fn read_doc(path: &Path) -> Result<SweepDoc> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(file.clone(), e))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let doc: SweepDoc = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let at = if inner.line() > 0 {
            format!("{file}:{}:{}", inner.line(), inner.column())
        } else {
            file.clone()
        };
        let what = in_words(&inner.to_string());
        if field.is_empty() || field == "." {
            Error::Usage(format!("{at}: not a spillway sweep.json: {what}"))
        } else {
            Error::Usage(format!(
                "{at}: key '{field}': not a spillway sweep.json: {what}"
            ))
        }
    })?;
    validate(&doc).map_err(|(field, msg)| Error::at_key(&file, None, field, msg))?;
    Ok(doc)
}

/// serde's words for types, as the domain says them (the file is JSON, not Rust).
fn in_words(msg: &str) -> String {
    // serde appends " at line L column C"; the location is already in front of the message.
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    msg.replace("expected usize", "expected a whole number >= 0")
        .replace("expected u64", "expected a whole number >= 0")
        .replace(
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        )
        .replace("expected f64", "expected a number")
}

type Bad = (String, String);

fn bad(field: impl Into<String>, msg: impl Into<String>) -> Bad {
    (field.into(), msg.into())
}

/// Every index, count and cross-reference of a document, checked against the others.
pub fn validate(doc: &SweepDoc) -> std::result::Result<(), Bad> {
    if doc.schema != SWEEP_SCHEMA {
        return Err(bad(
            "schema",
            format!(
                "'{}' is not a schema this version reads; expected '{SWEEP_SCHEMA}'",
                doc.schema
            ),
        ));
    }
    if doc.replications == 0 {
        return Err(bad("replications", "must be at least 1"));
    }
    unique_names(&doc.parameters, "parameters", "parameter")?;
    unique_names(&doc.variants, "variants", "variant")?;
    for (i, p) in doc.points.iter().enumerate() {
        if p.point != i {
            return Err(bad(
                format!("points[{i}].point"),
                format!("is {}, expected {i} (points are listed in order)", p.point),
            ));
        }
        if let Some(k) = doc.parameters.iter().find(|k| !p.values.contains_key(*k)) {
            return Err(bad(
                format!("points[{i}].values"),
                format!("no value for parameter '{k}'"),
            ));
        }
        if let Some(k) = p.values.keys().find(|k| !doc.parameters.contains(k)) {
            return Err(bad(
                format!("points[{i}].values"),
                format!("'{k}' is not one of the parameters"),
            ));
        }
    }
    if doc.points.is_empty() {
        return Err(bad("points", "is empty; a sweep has at least one point"));
    }
    let total = doc.total_runs();
    check_shard_and_runs(doc, total)?;
    check_slos(doc)
}

fn unique_names(names: &[String], field: &str, what: &str) -> std::result::Result<(), Bad> {
    if names.is_empty() {
        return Err(bad(
            field,
            format!("is empty; a sweep has at least one {what}"),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, n) in names.iter().enumerate() {
        if !seen.insert(n) {
            return Err(bad(
                format!("{field}[{i}]"),
                format!("{what} '{n}' is listed twice"),
            ));
        }
    }
    Ok(())
}

fn check_shard_and_runs(doc: &SweepDoc, total: usize) -> std::result::Result<(), Bad> {
    let (nv, nr) = (doc.variants.len(), doc.replications as usize);
    // Which run indices this document must hold: all, or every count-th from index.
    let (first, stride) = match doc.shard {
        None => (0, 1),
        Some(s) => {
            if s.count == 0 {
                return Err(bad("shard.count", "is 0; a sweep has at least one shard"));
            }
            if s.index >= s.count {
                return Err(bad(
                    "shard.index",
                    format!(
                        "is {}, but shards are numbered 0 to {}",
                        s.index,
                        s.count - 1
                    ),
                ));
            }
            (s.index, s.count)
        }
    };
    let expected = if first >= total {
        0
    } else {
        (total - 1 - first) / stride + 1
    };
    if doc.runs.len() != expected {
        let whose = doc
            .shard
            .map(|s| format!("shard {}/{} of ", s.index, s.count))
            .unwrap_or_default();
        return Err(bad(
            "runs",
            format!(
                "holds {} runs, but {whose}a sweep of {} point(s) x {nv} variant(s) x {nr} replication(s) has {expected}",
                doc.runs.len(),
                doc.points.len()
            ),
        ));
    }
    for (k, r) in doc.runs.iter().enumerate() {
        let field = |f: &str| format!("runs[{k}].{f}");
        if r.point >= doc.points.len() {
            return Err(bad(
                field("point"),
                format!(
                    "is {}, but the sweep has points 0 to {}",
                    r.point,
                    doc.points.len() - 1
                ),
            ));
        }
        let Some(vi) = doc.variants.iter().position(|v| *v == r.variant) else {
            return Err(bad(
                field("variant"),
                format!(
                    "'{}' is not one of the variants ({})",
                    r.variant,
                    doc.variants.join(", ")
                ),
            ));
        };
        if r.replication as usize >= nr {
            return Err(bad(
                field("replication"),
                format!(
                    "is {}, but the sweep has {nr} replication(s)",
                    r.replication
                ),
            ));
        }
        let index = (r.point * nv + vi) * nr + r.replication as usize;
        let want = first + k * stride;
        if r.index != index || r.index != want {
            return Err(bad(
                field("index"),
                format!(
                    "is {}; run {k} of this file must be run {want} (point {}, variant '{}', replication {} is run {index})",
                    r.index, r.point, r.variant, r.replication
                ),
            ));
        }
        let seed = run_seed(doc.seed, r.replication);
        if r.seed != seed {
            return Err(bad(
                field("seed"),
                format!(
                    "is {}, but replication {} of a sweep with seed {} runs with seed {seed}",
                    r.seed, r.replication, doc.seed
                ),
            ));
        }
        if !r.summary.is_object() {
            return Err(bad(
                field("summary"),
                "must be a variant summary (a JSON object)",
            ));
        }
    }
    Ok(())
}

fn check_slos(doc: &SweepDoc) -> std::result::Result<(), Bad> {
    for (i, s) in doc.slo.iter().enumerate() {
        let field = |f: &str| format!("slo[{i}].{f}");
        if s.metric.trim().is_empty() {
            return Err(bad(field("metric"), "is empty"));
        }
        if s.min.is_none() && s.max.is_none() {
            return Err(bad(field("max"), "an SLO needs 'max', 'min' or both"));
        }
        if let Some(v) = s.variants.iter().find(|v| !doc.variants.contains(v)) {
            return Err(bad(
                field("variants"),
                format!("'{v}' is not one of the variants"),
            ));
        }
        for (j, r) in s.results.iter().enumerate() {
            if r.point >= doc.points.len() || !doc.variants.contains(&r.variant) {
                return Err(bad(
                    format!("slo[{i}].results[{j}]"),
                    format!(
                        "point {} / variant '{}' is not in the sweep",
                        r.point, r.variant
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Combines shard documents (each already checked by [`read_doc`] or [`validate`]) into the
/// document one unsharded run writes.
pub fn merge(docs: Vec<(String, SweepDoc)>) -> Result<SweepDoc> {
    let Some((first_name, first)) = docs.first() else {
        return Err(Error::Usage(
            "merge needs at least one shard directory".into(),
        ));
    };
    let Some(count) = first.shard.map(|s| s.count) else {
        return Err(Error::Usage(format!(
            "{first_name}: not a shard's output (no \"shard\" in sweep.json)"
        )));
    };
    // Shard indices seen, with the file that held each: sized by the files given, never by a
    // count read from them.
    let mut seen: BTreeMap<usize, &str> = BTreeMap::new();
    let mut runs = Vec::new();
    for (name, d) in &docs {
        let same = d.schema == first.schema
            && d.scenario == first.scenario
            && d.seed == first.seed
            && d.parameters == first.parameters
            && d.replications == first.replications
            && d.variants == first.variants
            && d.points == first.points
            && d.slo
                .iter()
                .map(|s| (&s.name, &s.metric, s.min, s.max, &s.variants))
                .eq(first
                    .slo
                    .iter()
                    .map(|s| (&s.name, &s.metric, s.min, s.max, &s.variants)));
        if !same {
            return Err(Error::Usage(format!(
                "{name}: a shard of a different sweep than {first_name} (scenario, seed, grid, variants, replications and SLOs must match)"
            )));
        }
        let Some(s) = d.shard else {
            return Err(Error::Usage(format!("{name}: not a shard's output")));
        };
        if s.count != count {
            return Err(Error::Usage(format!(
                "{name}: key 'shard.count': is {}, but {first_name} has {count} (the shards of one sweep have the same count)",
                s.count
            )));
        }
        if let Some(other) = seen.insert(s.index, name) {
            return Err(Error::Usage(format!(
                "{name}: shard {}/{count} given twice (also {other})",
                s.index
            )));
        }
        runs.extend(d.runs.iter().cloned());
    }
    if seen.len() < count {
        // At most ten missing shards are named; the walk stops there.
        let missing: Vec<String> = (0..count)
            .filter(|i| !seen.contains_key(i))
            .take(10)
            .map(|i| format!("{i}/{count}"))
            .collect();
        let more = count - seen.len() - missing.len();
        return Err(Error::Usage(format!(
            "missing shards: {}{}",
            missing.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )));
    }
    runs.sort_by_key(|r| r.index);
    let mut doc = first.clone();
    doc.shard = None;
    if runs.len() != doc.total_runs() || runs.iter().enumerate().any(|(i, r)| r.index != i) {
        return Err(Error::Usage(format!(
            "the shards hold {} runs, the sweep has {}",
            runs.len(),
            doc.total_runs()
        )));
    }
    doc.runs = runs;
    evaluate_slos(&mut doc);
    Ok(doc)
}
