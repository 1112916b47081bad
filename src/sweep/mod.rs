//! Parameter sweeps: a grid over scenario keys, run in parallel, identical whatever the thread
//! count, shardable across machines and mergeable back into exactly what one machine writes.
//!
//! Points are the cartesian product of the grid's values (the last parameter varies fastest);
//! runs are points x variants x replications, indexed in that order. Every run's seed depends
//! only on its replication: replication 0 uses the scenario seed and replication r > 0 a seed
//! derived from (seed, r). So every point and every variant of one replication sees the same
//! sessions (common random numbers: differences come from the parameters, not from noise), and
//! replication 0 of a point is exactly `spillway run` with that point's `--set`s.

mod grid;
pub mod limits;
mod merge;
mod output;

use std::collections::BTreeMap;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::engine::simulate;
use crate::error::{Error, Result};
use crate::rng::derive_seed;
use crate::scenario::raw::RawSweep;
use crate::scenario::{Override, Scenario, ScenarioSet};
use crate::slo::{self, Slo};

pub use grid::{Param, parse_values};
pub use merge::{merge, read_doc, validate};
pub use output::{METRICS, csv_bytes, json_bytes, mean_ci, t95};

/// Schema name of `sweep.json`.
pub const SWEEP_SCHEMA: &str = "spillway.sweep/v1";

/// A checked sweep: every point of every swept variant has been built once (so bad input
/// fails before any run); runs rebuild their scenario from the loaded file, so memory does not
/// grow with the number of points.
pub struct Plan {
    /// Swept keys, in column order.
    pub params: Vec<Param>,
    /// Each point's values, one per parameter.
    pub points: Vec<Vec<toml::Value>>,
    /// Variants swept, in file order.
    pub variants: Vec<String>,
    /// Replications per point and variant.
    pub replications: u32,
    /// SLOs to evaluate.
    pub slos: Vec<Slo>,
    /// Scenario name and seed.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// What the scenarios are rebuilt from.
    set: ScenarioSet,
    /// File-order index of each swept variant.
    variant_idx: Vec<usize>,
}

impl Plan {
    /// The scenario of swept variant `vi` (an index into [`Plan::variants`]) at `point`.
    pub fn scenario(&self, point: usize, vi: usize) -> Result<Scenario> {
        let overrides: Vec<Override> = self
            .params
            .iter()
            .zip(&self.points[point])
            .map(|(p, v)| Override {
                origin: format!("sweep point {point}:"),
                key: p.key.clone(),
                value: v.clone(),
            })
            .collect();
        self.set.rebuild(self.variant_idx[vi], &overrides)
    }
}

/// Options from the command line that shape a sweep.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--grid KEY=VALUES` (replaces the scenario's values for KEY, or adds a parameter).
    pub grid: Vec<(String, String)>,
    /// `--replications`.
    pub replications: Option<u32>,
    /// `--variant` filter.
    pub variants: Vec<String>,
    /// `--max-runs`: the most runs (points x variants x replications) allowed; default
    /// [`limits::DEFAULT_MAX_RUNS`].
    pub max_runs: Option<usize>,
}

/// The seed of replication `r`.
pub fn run_seed(seed: u64, replication: u32) -> u64 {
    if replication == 0 {
        seed
    } else {
        derive_seed(&[seed, replication as u64])
    }
}

/// Checks the grid and builds every point's scenarios (so bad input fails before any run).
/// The size of the sweep is checked against [`limits`] before anything is allocated for it.
pub fn plan(set: &ScenarioSet, opts: &Options) -> Result<Plan> {
    let file = set.file();
    let raw = set.sweep.clone().unwrap_or_default();
    let params = collect_params(file, &raw, opts)?;
    let replications = match (opts.replications, raw.replications) {
        (Some(0), _) => {
            return Err(Error::Usage(
                "--replications 0: a sweep needs at least 1 replication per point".into(),
            ));
        }
        (Some(r), _) | (None, Some(r)) => r,
        (None, None) => 1,
    };
    if replications == 0 {
        return Err(Error::at_key(
            file,
            None,
            "sweep.replications",
            "must be >= 1",
        ));
    }
    let wanted = choose_variants(set, &raw, opts)?;
    let variant_idx: Vec<usize> = set
        .variants
        .iter()
        .enumerate()
        .filter(|(_, v)| wanted.contains(&v.variant))
        .map(|(i, _)| i)
        .collect();
    limits::check_size(
        file,
        &params,
        variant_idx.len(),
        replications,
        opts.max_runs.unwrap_or(limits::DEFAULT_MAX_RUNS),
    )?;
    let points = grid::cartesian(&params);
    let plan = Plan {
        params,
        points,
        variants: variant_idx
            .iter()
            .map(|&i| set.variants[i].variant.clone())
            .collect(),
        replications,
        slos: slo::from_set(set)?,
        scenario: set.name.clone(),
        seed: set.seed,
        set: set.clone(),
        variant_idx,
    };
    // Every point's variants are built (and so checked) before anything runs, in parallel;
    // the first error in point order wins, whatever the threads.
    let nv = plan.variants.len();
    if let Some(e) = (0..plan.points.len() * nv)
        .into_par_iter()
        .find_map_first(|k| plan.scenario(k / nv, k % nv).err())
    {
        return Err(e);
    }
    Ok(plan)
}

/// The swept keys and their values: the file's `[sweep.grid]`, then `--grid` (which replaces
/// a key's values or adds a key).
fn collect_params(file: &str, raw: &RawSweep, opts: &Options) -> Result<Vec<Param>> {
    let mut params: Vec<Param> = Vec::new();
    for (key, v) in &raw.grid {
        let values = grid::values_from_toml(v)
            .map_err(|m| Error::at_key(file, None, format!("sweep.grid.\"{key}\""), m))?;
        params.push(Param {
            key: key.clone(),
            values,
        });
    }
    for (key, text) in &opts.grid {
        let values = parse_values(text).map_err(|m| Error::Usage(format!("--grid {key}: {m}")))?;
        match params.iter_mut().find(|p| &p.key == key) {
            Some(p) => p.values = values,
            None => params.push(Param {
                key: key.clone(),
                values,
            }),
        }
    }
    if params.is_empty() {
        return Err(Error::at_key(
            file,
            None,
            "sweep.grid",
            "nothing to sweep: expected at least one key with its values under [sweep.grid], e.g. \"workload.users\" = [1, 2, 4] or \"pool.p.tpm\" = \"100000..500000 step 100000\" (or give --grid KEY=VALUES to `spillway sweep`)",
        ));
    }
    Ok(params)
}

/// The variants to sweep: `--variant`, else `[sweep] variants`, else all (file order kept).
fn choose_variants(set: &ScenarioSet, raw: &RawSweep, opts: &Options) -> Result<Vec<String>> {
    let mut wanted = if opts.variants.is_empty() {
        raw.variants.clone().unwrap_or_default()
    } else {
        opts.variants.clone()
    };
    for v in &wanted {
        if !set.variants.iter().any(|x| &x.variant == v) {
            return Err(Error::at_key(
                set.file(),
                None,
                "sweep.variants",
                format!(
                    "unknown variant '{v}'; variants: {}",
                    set.variants
                        .iter()
                        .map(|x| x.variant.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    if wanted.is_empty() {
        wanted = set.variants.iter().map(|v| v.variant.clone()).collect();
    }
    Ok(wanted)
}

/// One run's result, as stored in `sweep.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    /// Global run index (point-major, then variant, then replication).
    pub index: usize,
    /// Point index.
    pub point: usize,
    /// Variant name.
    pub variant: String,
    /// Replication.
    pub replication: u32,
    /// Seed used.
    pub seed: u64,
    /// The variant summary (as in `summary.json`, without `distributions`).
    pub summary: Json,
}

/// `--shard I/N`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` with `0 <= I < N`.
    pub fn parse(text: &str) -> std::result::Result<Shard, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("'{text}' is not I/N (e.g. 0/4)"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("'{i}' is not a shard index"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("'{n}' is not a shard count"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {index}/{count}: need 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }
}

/// One point's values, as stored in `sweep.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PointDoc {
    /// Point index.
    pub point: usize,
    /// Parameter -> value.
    pub values: BTreeMap<String, Json>,
}

/// An SLO and its results, as stored in `sweep.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SloDoc {
    /// Name.
    pub name: String,
    /// Metric expression.
    pub metric: String,
    /// Upper bound.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max: Option<f64>,
    /// Lower bound.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub min: Option<f64>,
    /// Variant filter.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub variants: Vec<String>,
    /// One per point x variant it applies to (empty in a shard's file).
    pub results: Vec<SloResult>,
}

/// One SLO verdict on one point and variant (mean over replications).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SloResult {
    /// Point.
    pub point: usize,
    /// Variant.
    pub variant: String,
    /// Measured value (NaN, written as `null`, when the metric is missing for the variant).
    #[serde(deserialize_with = "crate::output::json::de::number_or_null")]
    pub value: f64,
    /// Whether the bound holds.
    pub pass: bool,
}

/// The `sweep.json` document.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SweepDoc {
    /// [`SWEEP_SCHEMA`].
    pub schema: String,
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// Swept keys, in column order.
    pub parameters: Vec<String>,
    /// Replications per point and variant.
    pub replications: u32,
    /// Variants swept.
    pub variants: Vec<String>,
    /// Points.
    pub points: Vec<PointDoc>,
    /// Present in a shard's file only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shard: Option<Shard>,
    /// SLOs and their verdicts.
    pub slo: Vec<SloDoc>,
    /// Runs, in index order.
    pub runs: Vec<RunRecord>,
}

impl SweepDoc {
    /// Total runs of the whole sweep.
    /// Total runs of the whole sweep (saturating: a document read from disk may claim any
    /// number of replications).
    pub fn total_runs(&self) -> usize {
        self.points
            .len()
            .saturating_mul(self.variants.len())
            .saturating_mul(self.replications as usize)
    }
}

/// Runs the plan (or this shard's share of it) in parallel; `progress` shows a bar.
pub fn run(plan: &Plan, shard: Option<Shard>, progress: bool) -> Result<SweepDoc> {
    let nv = plan.variants.len();
    let nr = plan.replications as usize;
    let total = plan.points.len() * nv * nr;
    let mine: Vec<usize> = (0..total)
        .filter(|i| shard.is_none_or(|s| i % s.count == s.index))
        .collect();
    let bar = if progress {
        ProgressBar::new(mine.len() as u64)
    } else {
        ProgressBar::with_draw_target(Some(mine.len() as u64), ProgressDrawTarget::hidden())
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} runs, ETA {eta}",
        )
        .expect("valid template"),
    );
    let runs: Vec<RunRecord> = mine
        .par_iter()
        .map(|&index| {
            let point = index / (nv * nr);
            let vi = (index / nr) % nv;
            let replication = (index % nr) as u32;
            let mut sc = plan.scenario(point, vi)?;
            sc.seed = run_seed(plan.seed, replication);
            let metrics = simulate(&sc, None);
            if let Some(msg) = metrics.trace.as_ref().and_then(|t| t.error.as_ref()) {
                return Err(crate::error::Error::Usage(msg.clone()));
            }
            let summary = metrics.summarize(&sc);
            bar.inc(1);
            let mut summary = serde_json::to_value(&summary).expect("summary serializes");
            // The CDF points are for run reports; a sweep charts metrics against parameters,
            // and without them sweep.json stays ~20x smaller.
            if let Some(m) = summary.as_object_mut() {
                m.remove("distributions");
            }
            Ok(RunRecord {
                index,
                point,
                variant: sc.variant.clone(),
                replication,
                seed: sc.seed,
                summary,
            })
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();
    let mut doc = SweepDoc {
        schema: SWEEP_SCHEMA.into(),
        scenario: plan.scenario.clone(),
        seed: plan.seed,
        parameters: plan.params.iter().map(|p| p.key.clone()).collect(),
        replications: plan.replications,
        variants: plan.variants.clone(),
        points: plan
            .points
            .iter()
            .enumerate()
            .map(|(i, vals)| PointDoc {
                point: i,
                values: plan
                    .params
                    .iter()
                    .zip(vals)
                    .map(|(p, v)| (p.key.clone(), grid::to_json(v)))
                    .collect(),
            })
            .collect(),
        shard,
        slo: plan
            .slos
            .iter()
            .map(|s| SloDoc {
                name: s.name.clone(),
                metric: s.metric.clone(),
                max: s.max,
                min: s.min,
                variants: s.variants.clone(),
                results: Vec::new(),
            })
            .collect(),
        runs,
    };
    if shard.is_none() {
        evaluate_slos(&mut doc);
    }
    Ok(doc)
}

/// Mean of a metric over the replications of each (point, variant), in run order.
pub fn groups(doc: &SweepDoc) -> Vec<(usize, String, Vec<&Json>)> {
    let mut out: Vec<(usize, String, Vec<&Json>)> = Vec::new();
    for r in &doc.runs {
        match out.last_mut() {
            Some((p, v, items)) if *p == r.point && *v == r.variant => items.push(&r.summary),
            _ => out.push((r.point, r.variant.clone(), vec![&r.summary])),
        }
    }
    out
}

/// Fills each SLO's results (mean over replications) from the runs.
pub fn evaluate_slos(doc: &mut SweepDoc) {
    let grouped = groups(doc);
    let mut filled = Vec::new();
    for s in &doc.slo {
        let slo = Slo::from_parts(&s.name, &s.metric, s.min, s.max, &s.variants);
        let mut results = Vec::new();
        for (point, variant, items) in &grouped {
            if !slo.applies_to(variant) {
                continue;
            }
            let vals: Vec<f64> = items
                .iter()
                .map(|j| slo.measure(j).unwrap_or(f64::NAN))
                .collect();
            let value = vals.iter().sum::<f64>() / vals.len() as f64;
            results.push(SloResult {
                point: *point,
                variant: variant.clone(),
                value,
                pass: slo.holds(value),
            });
        }
        filled.push(results);
    }
    for (s, r) in doc.slo.iter_mut().zip(filled) {
        s.results = r;
    }
}

/// Verdicts of a finished sweep, for the SLO table.
pub fn verdicts(doc: &SweepDoc) -> Vec<slo::Verdict> {
    doc.slo
        .iter()
        .flat_map(|s| {
            let slo = Slo::from_parts(&s.name, &s.metric, s.min, s.max, &s.variants);
            s.results
                .iter()
                .map(move |r| slo::Verdict::new(&slo, Some(r.point), &r.variant, r.value, r.pass))
        })
        .collect()
}

/// `key=value, ...` of each point, for tables.
pub fn point_labels(doc: &SweepDoc) -> Vec<(usize, String)> {
    doc.points
        .iter()
        .map(|p| {
            let text = doc
                .parameters
                .iter()
                .map(|k| {
                    let v = p.values.get(k).map(output::json_text).unwrap_or_default();
                    format!("{}={v}", short_key(k))
                })
                .collect::<Vec<_>>()
                .join(" ");
            (p.point, text)
        })
        .collect()
}

/// The last segment of a key path, for compact labels.
pub fn short_key(k: &str) -> &str {
    k.rsplit('.').next().unwrap_or(k)
}
