//! Scenarios: the TOML format as written ([`raw`]), overrides ([`overlay`]) and the checked,
//! typed [`Scenario`] the engine runs.
//!
//! Loading follows the raw → checked pattern: the file is parsed into a TOML tree, each
//! `[[variant]]`'s overrides and the command line's `--set` pairs are applied to a copy of it,
//! the copy is deserialized into [`raw::RawScenario`] (unknown keys are errors), and
//! [`validate`] checks units, ranges and cross-references and resolves defaults. Every error
//! names the file, the line and column where known, the variant, and the key.
//!
//! The full key reference, with defaults and their sources, is `docs/scenario.md`.

mod gateway;
pub mod models;
pub mod overlay;
pub mod raw;

use std::collections::BTreeMap;

use toml::{Table, Value};

use crate::dist::{Dist, RawDist};
use crate::error::{Error, Location, Result, line_col};
use crate::time::{SimTime, parse_duration};
use raw::*;

pub use models::ModelParams;

/// A loaded scenario file: one checked [`Scenario`] per variant, in file order.
#[derive(Clone, Debug)]
pub struct ScenarioSet {
    /// `[scenario] name`.
    pub name: String,
    /// The master seed (after `--seed`).
    pub seed: u64,
    /// The variants; a file without `[[variant]]` has one named `baseline`.
    pub variants: Vec<Scenario>,
    /// `[sweep]` as written, if any (checked by [`crate::sweep`]).
    pub sweep: Option<RawSweep>,
    /// `[[slo]]` entries as written (checked by [`crate::slo`]).
    pub slo: Vec<RawSlo>,
    /// What the variants were built from, to rebuild them with more overrides.
    source: Source,
}

/// The parsed file and the overrides that built a [`ScenarioSet`].
#[derive(Clone, Debug)]
struct Source {
    file: String,
    base: Table,
    variants: Vec<(String, Table)>,
    overrides: Vec<Override>,
    seed: Option<u64>,
}

/// One `KEY = VALUE` override and where it came from (for error messages).
#[derive(Clone, Debug)]
pub struct Override {
    /// Where it was given, e.g. `--set` or `sweep point 3`.
    pub origin: String,
    /// Dotted key path.
    pub key: String,
    /// Value.
    pub value: Value,
}

impl ScenarioSet {
    /// The file the set was loaded from.
    pub fn file(&self) -> &str {
        &self.source.file
    }

    /// Rebuilds variant `index` (file order) with `extra` overrides applied last (after the
    /// variant's own and the command line's). Used for sweep points.
    pub fn rebuild(&self, index: usize, extra: &[Override]) -> Result<Scenario> {
        let mut overrides = self.source.overrides.clone();
        overrides.extend_from_slice(extra);
        let src = &self.source;
        match src.variants.get(index) {
            Some((name, vt)) => {
                build_variant(&src.base, Some((name, vt)), &src.file, &overrides, src.seed)
            }
            None => build_variant(&src.base, None, &src.file, &overrides, src.seed),
        }
    }
}

/// One fully checked variant of a scenario, ready to simulate.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Scenario name.
    pub name: String,
    /// Variant name.
    pub variant: String,
    /// Variant description, if any.
    pub description: Option<String>,
    /// Master seed (shared by all variants: common random numbers).
    pub seed: u64,
    /// New sessions arrive in `[0, duration)`.
    pub duration: SimTime,
    /// Sessions still running at `duration + drain` are cut off and reported as incomplete.
    pub drain: SimTime,
    /// Time-series interval.
    pub metrics_interval: SimTime,
    /// Models used, by index.
    pub models: Vec<ModelParams>,
    /// Quota pools.
    pub pools: Vec<Pool>,
    /// Deployments, by index.
    pub deployments: Vec<Deployment>,
    /// Client SDK behaviour.
    pub client: ClientPolicy,
    /// Router (used when there is no gateway).
    pub router: RouterSpec,
    /// The gateway, when `[gateway]` is present: it replaces the router.
    pub gateway: Option<crate::gateway::GatewaySpec>,
    /// Faults injected on deployments.
    pub faults: Vec<crate::gateway::Fault>,
    /// Arrivals and session classes.
    pub workload: Workload,
}

/// A standard quota pool.
#[derive(Clone, Debug)]
pub struct Pool {
    /// Name.
    pub name: String,
    /// Subscription.
    pub subscription: String,
    /// Region.
    pub region: String,
    /// Model index.
    pub model: usize,
    /// Deployment type (`global-standard`, `data-zone-standard`, `standard`).
    pub deployment_type: String,
    /// Tokens per minute.
    pub tpm: u64,
    /// Requests per minute.
    pub rpm: u64,
}

/// How a deployment serves tokens.
#[derive(Clone, Debug)]
pub struct Serving {
    /// Fixed part of time to first token (plus any extra network latency).
    pub ttft_base: SimTime,
    /// Prompt tokens processed per second before the first token.
    pub prefill_tokens_per_s: f64,
    /// Mean decode speed (tokens/s) of one request alone on the deployment.
    pub decode_tokens_per_s: f64,
    /// Per-request speed variation: coefficient of variation of a lognormal multiplier.
    pub decode_variation_cv: f64,
    /// Speed multiplier by concurrency: `speed_table[n]` for n requests decoding (index 0
    /// unused); beyond the end the last value holds.
    pub speed_table: Vec<f64>,
}

/// Whether a speed table leaves every request at its solo speed whatever the concurrency.
pub fn is_flat(speed_table: &[f64]) -> bool {
    speed_table.iter().all(|&f| f == 1.0)
}

impl Serving {
    /// Speed multiplier with `n` requests decoding at once.
    #[inline]
    pub fn speed_factor(&self, n: usize) -> f64 {
        debug_assert!(!self.speed_table.is_empty());
        let i = n.min(self.speed_table.len() - 1);
        self.speed_table[i]
    }
}

/// Deployment kind and admission parameters.
#[derive(Clone, Debug)]
pub enum DeploymentKind {
    /// Pay-as-you-go: rolling token and request windows.
    Standard {
        /// Pool index.
        pool: usize,
        /// Token limit per `token_window` (the deployment's TPM share).
        tpm: u64,
        /// Request limit per minute.
        rpm: u64,
        /// Rolling token window length (60 s).
        token_window: SimTime,
        /// Rolling request window length (10 s; requests allowed = rpm * window / 60 s).
        request_window: SimTime,
        /// Whether rejected attempts still count in the request window.
        count_rejected_requests: bool,
    },
    /// Provisioned throughput: leaky-bucket utilization.
    Provisioned {
        /// PTUs.
        ptu: u32,
        /// Normalized tokens drained per minute (ptu x input TPM per PTU).
        capacity_per_min: f64,
        /// Output tokens' weight in the normalized cost.
        output_ratio: f64,
        /// Bucket depth as a drain time: 100% utilization = this much drain.
        bucket_depth: SimTime,
        /// Standard deployment that takes this one's 429s.
        spillover: Option<usize>,
        /// Price per PTU-hour.
        price_per_ptu_hour: f64,
    },
}

/// A deployment, checked.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// Name.
    pub name: String,
    /// Model index.
    pub model: usize,
    /// Region (pool region for standard deployments).
    pub region: String,
    /// Kind and admission parameters.
    pub kind: DeploymentKind,
    /// Serving speed.
    pub serving: Serving,
    /// Concurrency cap; admitted attempts beyond it wait in a FIFO queue.
    pub max_concurrency: Option<u32>,
    /// Server-side completion window for non-streaming attempts (408 when exceeded).
    pub completion_window: Option<SimTime>,
    /// Whether tokens of attempts that end early (408, client timeout) are billed.
    pub bill_incomplete: bool,
}

impl Deployment {
    /// `"standard"` or `"provisioned"`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            DeploymentKind::Standard { .. } => "standard",
            DeploymentKind::Provisioned { .. } => "provisioned",
        }
    }
}

/// The client SDK's timeout and retry behaviour.
#[derive(Clone, Debug)]
pub struct ClientPolicy {
    /// Non-streaming: bounds the whole answer. Streaming: bounds the wait for the first token.
    pub timeout: SimTime,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff before retry n (0-based): `min(initial * 2^n, max) * (1 - jitter * U[0,1))`.
    pub backoff_initial: SimTime,
    /// Backoff cap.
    pub backoff_max: SimTime,
    /// Jitter fraction.
    pub backoff_jitter: f64,
    /// Retry-After is honoured when `0 < value <= cap`; otherwise the backoff applies.
    pub retry_after_cap: SimTime,
    /// HTTP statuses that are retried.
    pub retry_statuses: Vec<u16>,
    /// Whether client-side timeouts are retried.
    pub retry_on_timeout: bool,
}

/// Minimal router policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutePolicy {
    /// Rotate over the deployments.
    RoundRobin,
    /// Always the first deployment in the list that has not been tried for this attempt.
    Priority,
}

/// The router: which deployments serve each model, and failover.
#[derive(Clone, Debug)]
pub struct RouterSpec {
    /// Policy.
    pub policy: RoutePolicy,
    /// Deployments per model index, in routing order.
    pub routes: Vec<Vec<usize>>,
    /// Statuses on which the router tries the next deployment at once.
    pub failover_on: Vec<u16>,
}

/// How sessions arrive.
#[derive(Clone, Debug)]
pub enum Arrivals {
    /// `users` concurrent users, each starting a new session when the last ends, after a
    /// think time.
    Closed {
        /// Users.
        users: u32,
        /// Think time between a user's sessions, seconds.
        think_time_s: Dist,
    },
    /// Poisson arrivals with a piecewise-constant rate (sessions per minute) starting at the
    /// given times; a single rate is one piece.
    Poisson {
        /// `(from, sessions per minute)`, sorted, first at time zero.
        schedule: Vec<(SimTime, f64)>,
    },
    /// Evenly spaced arrivals at a piecewise-constant rate.
    Constant {
        /// `(from, sessions per minute)`, sorted, first at time zero.
        schedule: Vec<(SimTime, f64)>,
    },
}

/// A session class.
#[derive(Clone, Debug)]
pub struct SessionClass {
    /// Name.
    pub name: String,
    /// Relative weight.
    pub weight: f64,
    /// Sequential calls per session.
    pub steps: u32,
    /// Model index.
    pub model: usize,
    /// Prompt tokens per call.
    pub prompt_tokens: Dist,
    /// Completion tokens the call wants.
    pub completion_tokens: Dist,
    /// Think time after each call, seconds.
    pub think_time_s: Dist,
    /// `max_tokens` sent with each call.
    pub max_tokens: Option<u32>,
    /// Whether calls stream.
    pub streaming: bool,
}

/// The workload.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Arrival process.
    pub arrivals: Arrivals,
    /// Stop after this many sessions (open loop) or session starts (closed loop).
    pub max_sessions: Option<u64>,
    /// Classes.
    pub classes: Vec<SessionClass>,
    /// Cumulative class weights, normalised to end at 1.
    pub class_cdf: Vec<f64>,
}

/// Loads and checks a scenario file. `sets` are `--set KEY=VALUE` pairs applied to every
/// variant after its own overrides; `seed` replaces `[scenario] seed`.
pub fn load(path: &str, sets: &[(String, String)], seed: Option<u64>) -> Result<ScenarioSet> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text, path, sets, seed)
}

/// Parses and checks scenario text; `file` is used in error messages.
pub fn parse(
    text: &str,
    file: &str,
    sets: &[(String, String)],
    seed: Option<u64>,
) -> Result<ScenarioSet> {
    let toml_err = |e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map(|s| line_col(text, s.start))
            .map_or((None, None), |(l, c)| (Some(l), Some(c)));
        Error::Scenario {
            location: Box::new(Location {
                file: file.to_string(),
                line,
                column,
                ..Default::default()
            }),
            message: e.message().to_string(),
        }
    };
    // Parse twice: as a tree (for overrides) and as the typed base document, so that unknown
    // keys and type errors in the file itself are reported with line and column.
    let mut base: Table = toml::from_str(text).map_err(toml_err)?;
    let base_raw: RawScenario = toml::from_str(text).map_err(toml_err)?;
    let overrides: Vec<Override> = sets
        .iter()
        .map(|(k, v)| Override {
            origin: "--set".into(),
            key: k.clone(),
            value: overlay::parse_value(v),
        })
        .collect();

    let variants = match base.remove("variant") {
        None => vec![],
        Some(Value::Array(v)) => v,
        Some(_) => {
            return Err(Error::at_key(
                file,
                None,
                "variant",
                "must be an array of tables ([[variant]])",
            ));
        }
    };
    let mut out = Vec::new();
    let mut named = Vec::new();
    let mut seen = BTreeMap::new();
    if variants.is_empty() {
        out.push(build_variant(&base, None, file, &overrides, seed)?);
    }
    for (i, v) in variants.iter().enumerate() {
        let Value::Table(vt) = v else {
            return Err(Error::at_key(
                file,
                None,
                format!("variant[{i}]"),
                "must be a table",
            ));
        };
        let name = match vt.get("name") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(Error::at_key(
                    file,
                    None,
                    format!("variant[{i}].name"),
                    "every [[variant]] needs a non-empty string 'name'",
                ));
            }
        };
        if seen.insert(name.clone(), i).is_some() {
            return Err(Error::at_key(
                file,
                Some(&name),
                format!("variant[{i}].name"),
                "duplicate variant name",
            ));
        }
        out.push(build_variant(
            &base,
            Some((&name, vt)),
            file,
            &overrides,
            seed,
        )?);
        named.push((name, vt.clone()));
    }
    if let Some(v) = out.iter().find(|v| v.seed != out[0].seed) {
        return Err(Error::at_key(
            file,
            Some(&v.variant),
            "scenario.seed",
            "the seed is shared by all variants (common random numbers); set it in [scenario] or with --seed",
        ));
    }
    let first = &out[0];
    Ok(ScenarioSet {
        name: first.name.clone(),
        seed: first.seed,
        sweep: base_raw.sweep,
        slo: base_raw.slo,
        variants: out,
        source: Source {
            file: file.to_string(),
            base,
            variants: named,
            overrides,
            seed,
        },
    })
}

fn build_variant(
    base: &Table,
    variant: Option<(&str, &Table)>,
    file: &str,
    overrides: &[Override],
    seed: Option<u64>,
) -> Result<Scenario> {
    let vname = variant.map(|(n, _)| n);
    let err = |key: &str, msg: String| Error::at_key(file, vname, key, msg);
    let mut doc = base.clone();
    let mut description = None;
    if let Some((_, vt)) = variant {
        // Whole sections are replaced first, then `set` applies on top of them, whatever
        // order the keys were written in.
        for (k, v) in vt {
            match k.as_str() {
                "name" | "set" => {}
                "description" => match v {
                    Value::String(d) => description = Some(d.clone()),
                    _ => return Err(err("description", "must be a string".into())),
                },
                section => {
                    const SECTIONS: &[&str] = &[
                        "scenario",
                        "models",
                        "pool",
                        "deployment",
                        "client",
                        "router",
                        "gateway",
                        "fault",
                        "workload",
                    ];
                    if !SECTIONS.contains(&section) {
                        return Err(err(
                            section,
                            format!(
                                "a variant may hold name, description, set, or a whole section to replace ({})",
                                SECTIONS.join(", ")
                            ),
                        ));
                    }
                    doc.insert(section.to_string(), v.clone());
                }
            }
        }
        if let Some(v) = vt.get("set") {
            let Value::Table(pairs) = v else {
                return Err(err(
                    "set",
                    "must be a table of \"dotted.key\" = value".into(),
                ));
            };
            for (path, value) in pairs {
                overlay::set_path(&mut doc, path, value.clone())
                    .map_err(|m| err(&format!("set.{path}"), m))?;
            }
        }
    }
    for o in overrides {
        overlay::set_path(&mut doc, &o.key, o.value.clone())
            .map_err(|m| err(&format!("{} {}", o.origin, o.key), m))?;
    }
    // [sweep] and [[slo]] are read once from the file; they do not vary by variant.
    doc.remove("sweep");
    doc.remove("slo");
    let mut raw: RawScenario =
        serde_path_to_error::deserialize(Value::Table(doc)).map_err(|e| {
            let path = e.path().to_string();
            err(&path, e.into_inner().message().to_string())
        })?;
    expand_copies(&mut raw).map_err(|(k, m)| err(&k, m))?;
    let ctx = Ctx {
        file,
        variant: vname,
    };
    validate(&raw, &ctx, vname.unwrap_or("baseline"), description, seed)
}

/// Expands `copies = N` on a standard deployment into N deployments, each in its own copy of
/// the deployment's pool under its own subscription (`<name>-1` .. `<name>-N`, pool
/// `<pool>-k`, subscription `<subscription>-k`): "N subscriptions" as one sweepable number.
fn expand_copies(raw: &mut RawScenario) -> std::result::Result<(), (String, String)> {
    let mut i = 0;
    while i < raw.deployment.len() {
        let Some(n) = raw.deployment[i].copies else {
            i += 1;
            continue;
        };
        let d = raw.deployment[i].clone();
        let key = format!("deployment.{}.copies", d.name);
        if n == 0 {
            return Err((key, "must be >= 1".into()));
        }
        if d.kind != "standard" {
            return Err((key, "applies to standard deployments only".into()));
        }
        let pool_name = d
            .pool
            .clone()
            .ok_or_else(|| (key.clone(), "needs the deployment's 'pool'".to_string()))?;
        let shared = raw
            .deployment
            .iter()
            .any(|o| o.name != d.name && o.pool.as_deref() == Some(pool_name.as_str()));
        if shared {
            return Err((
                key,
                format!(
                    "copies replicates pool '{pool_name}' too, so no other deployment may use it"
                ),
            ));
        }
        if raw
            .deployment
            .iter()
            .any(|o| o.spillover.as_deref() == Some(d.name.as_str()))
        {
            return Err((key, "a spillover target cannot have copies".into()));
        }
        raw.deployment[i].copies = None;
        if n == 1 {
            i += 1;
            continue;
        }
        let pi = raw
            .pool
            .iter()
            .position(|p| p.name == pool_name)
            .ok_or_else(|| {
                (
                    format!("deployment.{}.pool", d.name),
                    format!("unknown pool '{pool_name}'"),
                )
            })?;
        let pool = raw.pool.remove(pi);
        for k in (1..=n).rev() {
            let mut p = pool.clone();
            p.name = format!("{}-{k}", pool.name);
            p.subscription = format!("{}-{k}", pool.subscription);
            raw.pool.insert(pi, p);
        }
        raw.deployment.remove(i);
        for k in (1..=n).rev() {
            let mut c = d.clone();
            c.copies = None;
            c.name = format!("{}-{k}", d.name);
            c.pool = Some(format!("{pool_name}-{k}"));
            raw.deployment.insert(i, c);
        }
        if let Some(list) = raw.router.deployments.as_mut()
            && let Some(pos) = list.iter().position(|x| *x == d.name)
        {
            list.remove(pos);
            for k in (1..=n).rev() {
                list.insert(pos, format!("{}-{k}", d.name));
            }
        }
        i += n as usize;
    }
    Ok(())
}

struct Ctx<'a> {
    file: &'a str,
    variant: Option<&'a str>,
}

impl Ctx<'_> {
    fn err(&self, key: impl Into<String>, msg: impl Into<String>) -> Error {
        Error::at_key(self.file, self.variant, key, msg)
    }
    fn dur(&self, key: &str, v: Option<&String>, default: &str) -> Result<SimTime> {
        parse_duration(v.map_or(default, String::as_str)).map_err(|m| self.err(key, m))
    }
    fn dist(&self, key: &str, v: Option<&RawDist>, default: f64, lower: f64) -> Result<Dist> {
        match v {
            None => Ok(Dist::constant(default)),
            Some(r) => Dist::from_raw(r, lower).map_err(|m| self.err(key, m)),
        }
    }
    fn positive(&self, key: &str, v: f64) -> Result<f64> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(self.err(key, format!("must be a number > 0, got {v}")))
        }
    }
    fn non_negative(&self, key: &str, v: f64) -> Result<f64> {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(self.err(key, format!("must be a number >= 0, got {v}")))
        }
    }
}

fn validate(
    raw: &RawScenario,
    c: &Ctx,
    variant: &str,
    description: Option<String>,
    seed: Option<u64>,
) -> Result<Scenario> {
    let meta = &raw.scenario;
    let duration = c.dur("scenario.duration", Some(&meta.duration), "")?;
    if duration == SimTime::ZERO {
        return Err(c.err("scenario.duration", "must be > 0"));
    }
    let drain = c.dur("scenario.drain", meta.drain.as_ref(), "1h")?;
    let metrics_interval = c.dur(
        "scenario.metrics_interval",
        meta.metrics_interval.as_ref(),
        "60s",
    )?;
    if metrics_interval < SimTime::SEC {
        return Err(c.err("scenario.metrics_interval", "must be at least 1s"));
    }

    // Models: every model named anywhere, with built-in defaults and file overrides.
    let mut model_names: Vec<String> = Vec::new();
    let mut note_model = |m: &str| {
        if !model_names.iter().any(|x| x == m) {
            model_names.push(m.to_string());
        }
    };
    raw.deployment.iter().for_each(|d| note_model(&d.model));
    raw.pool.iter().for_each(|p| note_model(&p.model));
    raw.workload
        .class
        .iter()
        .filter_map(|k| k.model.as_deref())
        .for_each(&mut note_model);
    for name in raw.models.keys() {
        if !model_names.contains(name) {
            return Err(c.err(
                format!("models.\"{name}\""),
                "this model is not used by any deployment, pool or class",
            ));
        }
    }
    let mut models = Vec::new();
    for name in &model_names {
        let m = models::resolve(name, raw.models.get(name))
            .map_err(|(k, m)| c.err(format!("models.\"{name}\".{k}"), m))?;
        models.push(m);
    }
    let model_index = |key: &str, name: &str| -> Result<usize> {
        model_names
            .iter()
            .position(|m| m == name)
            .ok_or_else(|| c.err(key, format!("unknown model '{name}'")))
    };

    // Pools.
    let mut pools = Vec::new();
    for (i, p) in raw.pool.iter().enumerate() {
        let key = format!("pool.{}", p.name);
        if raw.pool[..i].iter().any(|q| q.name == p.name) {
            return Err(c.err(
                format!("pool[{i}].name"),
                format!("duplicate pool name '{}'", p.name),
            ));
        }
        let model = model_index(&format!("{key}.model"), &p.model)?;
        if p.tpm == 0 {
            return Err(c.err(format!("{key}.tpm"), "must be > 0"));
        }
        let rpm = p.rpm.unwrap_or_else(|| {
            ((p.tpm as f64 / 1000.0) * models[model].rpm_per_1k_tpm).floor() as u64
        });
        pools.push(Pool {
            name: p.name.clone(),
            subscription: p.subscription.clone(),
            region: p.region.clone(),
            model,
            deployment_type: p
                .deployment_type
                .clone()
                .unwrap_or_else(|| "global-standard".into()),
            tpm: p.tpm,
            rpm,
        });
    }

    // Deployments.
    let mut deployments = Vec::new();
    for (i, d) in raw.deployment.iter().enumerate() {
        let key = format!("deployment.{}", d.name);
        if d.name.is_empty() {
            return Err(c.err(format!("deployment[{i}].name"), "must not be empty"));
        }
        if raw.deployment[..i].iter().any(|e| e.name == d.name) {
            return Err(c.err(
                format!("deployment[{i}].name"),
                format!("duplicate deployment name '{}'", d.name),
            ));
        }
        let model = model_index(&format!("{key}.model"), &d.model)?;
        let mp = &models[model];
        let forbid = |what: &str, present: bool, kind: &str| -> Result<()> {
            if present {
                Err(c.err(
                    format!("{key}.{what}"),
                    format!("does not apply to a {kind} deployment"),
                ))
            } else {
                Ok(())
            }
        };
        let (kind, region) = match d.kind.as_str() {
            "standard" => {
                forbid("ptu", d.ptu.is_some(), "standard")?;
                forbid("bucket_depth", d.bucket_depth.is_some(), "standard")?;
                forbid("spillover", d.spillover.is_some(), "standard")?;
                forbid(
                    "ptu_price_per_hour",
                    d.ptu_price_per_hour.is_some(),
                    "standard",
                )?;
                let pool_name = d.pool.as_ref().ok_or_else(|| {
                    c.err(
                        format!("{key}.pool"),
                        "a standard deployment needs 'pool' (its quota pool)",
                    )
                })?;
                let pool = pools
                    .iter()
                    .position(|p| &p.name == pool_name)
                    .ok_or_else(|| {
                        c.err(
                            format!("{key}.pool"),
                            format!(
                                "unknown pool '{pool_name}' (pools: {})",
                                pools
                                    .iter()
                                    .map(|p| p.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                    })?;
                if pools[pool].model != model {
                    return Err(c.err(
                        format!("{key}.model"),
                        format!(
                            "deployment model '{}' differs from pool '{}' model '{}'",
                            d.model, pool_name, model_names[pools[pool].model]
                        ),
                    ));
                }
                let tpm = d.tpm.ok_or_else(|| {
                    c.err(
                        format!("{key}.tpm"),
                        "a standard deployment needs 'tpm' (its share of the pool)",
                    )
                })?;
                if tpm == 0 || tpm % 1000 != 0 {
                    return Err(c.err(format!("{key}.tpm"), format!("must be a positive multiple of 1000 (quota is assigned in steps of 1K TPM), got {tpm}")));
                }
                let rpm = d
                    .rpm
                    .unwrap_or_else(|| ((tpm as f64 / 1000.0) * mp.rpm_per_1k_tpm).floor() as u64);
                if rpm == 0 {
                    return Err(c.err(
                        format!("{key}.rpm"),
                        "works out to 0 requests per minute; set 'rpm' or raise 'tpm'",
                    ));
                }
                let token_window = c.dur(
                    &format!("{key}.token_window"),
                    d.token_window.as_ref(),
                    "60s",
                )?;
                let request_window = c.dur(
                    &format!("{key}.request_window"),
                    d.request_window.as_ref(),
                    "10s",
                )?;
                for (name, w) in [
                    ("token_window", token_window),
                    ("request_window", request_window),
                ] {
                    if w == SimTime::ZERO {
                        return Err(c.err(format!("{key}.{name}"), "must be > 0"));
                    }
                }

                (
                    DeploymentKind::Standard {
                        pool,
                        tpm,
                        rpm,
                        token_window,
                        request_window,
                        count_rejected_requests: d.count_rejected_requests.unwrap_or(false),
                    },
                    pools[pool].region.clone(),
                )
            }
            "provisioned" => {
                forbid("pool", d.pool.is_some(), "provisioned")?;
                forbid("tpm", d.tpm.is_some(), "provisioned")?;
                forbid("rpm", d.rpm.is_some(), "provisioned")?;
                forbid("token_window", d.token_window.is_some(), "provisioned")?;
                forbid("request_window", d.request_window.is_some(), "provisioned")?;
                forbid(
                    "count_rejected_requests",
                    d.count_rejected_requests.is_some(),
                    "provisioned",
                )?;
                let ptu = d.ptu.ok_or_else(|| {
                    c.err(format!("{key}.ptu"), "a provisioned deployment needs 'ptu'")
                })?;
                if ptu == 0 {
                    return Err(c.err(format!("{key}.ptu"), "must be > 0"));
                }
                let bucket_depth = c.dur(
                    &format!("{key}.bucket_depth"),
                    d.bucket_depth.as_ref(),
                    "60s",
                )?;
                if bucket_depth == SimTime::ZERO {
                    return Err(c.err(format!("{key}.bucket_depth"), "must be > 0"));
                }
                let price = c.non_negative(
                    &format!("{key}.ptu_price_per_hour"),
                    d.ptu_price_per_hour.unwrap_or(mp.ptu_price_per_hour),
                )?;
                (
                    DeploymentKind::Provisioned {
                        ptu,
                        capacity_per_min: ptu as f64 * mp.ptu_input_tpm,
                        output_ratio: mp.ptu_output_ratio,
                        bucket_depth,
                        spillover: None, // resolved below, once all names are known
                        price_per_ptu_hour: price,
                    },
                    d.region.clone().unwrap_or_else(|| "default".into()),
                )
            }
            other => {
                return Err(c.err(
                    format!("{key}.kind"),
                    format!("unknown kind '{other}'; allowed: standard, provisioned"),
                ));
            }
        };
        if d.region.is_some() && d.kind == "standard" {
            return Err(c.err(
                format!("{key}.region"),
                "a standard deployment takes its region from its pool",
            ));
        }
        let ttft_base = match &d.ttft_base {
            Some(s) => c.dur(&format!("{key}.ttft_base"), Some(s), "")?,
            None => mp.serving.ttft_base,
        } + c.dur(
            &format!("{key}.extra_latency"),
            d.extra_latency.as_ref(),
            "0s",
        )?;
        let serving = Serving {
            ttft_base,
            prefill_tokens_per_s: c.positive(
                &format!("{key}.prefill_tokens_per_s"),
                d.prefill_tokens_per_s
                    .unwrap_or(mp.serving.prefill_tokens_per_s),
            )?,
            decode_tokens_per_s: c.positive(
                &format!("{key}.decode_tokens_per_s"),
                d.decode_tokens_per_s
                    .unwrap_or(mp.serving.decode_tokens_per_s),
            )?,
            decode_variation_cv: c.non_negative(
                &format!("{key}.decode_variation_cv"),
                d.decode_variation_cv
                    .unwrap_or(mp.serving.decode_variation_cv),
            )?,
            speed_table: match &d.speed_curve {
                Some(curve) => models::speed_table(curve)
                    .map_err(|m| c.err(format!("{key}.speed_curve"), m))?,
                None => mp.serving.speed_table.clone(),
            },
        };
        if d.max_concurrency == Some(0) {
            return Err(c.err(
                format!("{key}.max_concurrency"),
                "must be >= 1 (omit it for no cap)",
            ));
        }
        let completion_window = match d.completion_window.as_deref() {
            Some("none") => None,
            other => {
                let k = format!("{key}.completion_window");
                let w = c.dur(&k, other.map(str::to_string).as_ref(), "60s")?;
                if w == SimTime::ZERO {
                    return Err(c.err(k, "must be > 0, or \"none\" for no window"));
                }
                Some(w)
            }
        };
        deployments.push(Deployment {
            name: d.name.clone(),
            model,
            region,
            kind,
            serving,
            max_concurrency: d.max_concurrency,
            completion_window,
            bill_incomplete: d.bill_incomplete.unwrap_or(true),
        });
    }
    if deployments.is_empty() {
        return Err(c.err(
            "deployment",
            "the scenario needs at least one [[deployment]]",
        ));
    }
    // Spillover targets.
    let mut spill_targets = vec![false; deployments.len()];
    for (i, d) in raw.deployment.iter().enumerate() {
        if let Some(target) = &d.spillover {
            let key = format!("deployment.{}.spillover", d.name);
            let t = deployments
                .iter()
                .position(|x| &x.name == target)
                .ok_or_else(|| c.err(&key, format!("unknown deployment '{target}'")))?;
            if !matches!(deployments[t].kind, DeploymentKind::Standard { .. }) {
                return Err(c.err(
                    &key,
                    format!("spillover target '{target}' must be a standard deployment"),
                ));
            }
            if deployments[t].model != deployments[i].model {
                return Err(c.err(
                    &key,
                    format!("spillover target '{target}' serves a different model"),
                ));
            }
            spill_targets[t] = true;
            if let DeploymentKind::Provisioned { spillover, .. } = &mut deployments[i].kind {
                *spillover = Some(t);
            }
        }
    }
    // A pool is one subscription x region x model x deployment type: two entries for the same
    // one would double its quota.
    for (i, p) in pools.iter().enumerate() {
        if let Some(q) = pools[..i].iter().find(|q| {
            q.subscription == p.subscription
                && q.region == p.region
                && q.model == p.model
                && q.deployment_type == p.deployment_type
        }) {
            return Err(c.err(
                format!("pool.{}", p.name),
                format!(
                    "pools '{}' and '{}' are the same quota (subscription '{}', region '{}', model '{}', type '{}'); quota is per subscription x region x model x deployment type",
                    q.name, p.name, p.subscription, p.region, model_names[p.model], p.deployment_type
                ),
            ));
        }
    }
    // Pool allocation: shares may not exceed the pool.
    for (pi, p) in pools.iter().enumerate() {
        let members: Vec<&Deployment> = deployments
            .iter()
            .filter(|d| matches!(d.kind, DeploymentKind::Standard { pool, .. } if pool == pi))
            .collect();
        let total: u64 = members
            .iter()
            .map(|d| match d.kind {
                DeploymentKind::Standard { tpm, .. } => tpm,
                _ => 0,
            })
            .sum();
        if total > p.tpm {
            return Err(c.err(
                format!("pool.{}.tpm", p.name),
                format!(
                    "pool '{}' is over-allocated: deployments {} take {} TPM but the pool has {} TPM",
                    p.name,
                    members.iter().map(|d| format!("'{}'", d.name)).collect::<Vec<_>>().join(", "),
                    total,
                    p.tpm
                ),
            ));
        }
        let rpm_total: u64 = members
            .iter()
            .map(|d| match d.kind {
                DeploymentKind::Standard { rpm, .. } => rpm,
                _ => 0,
            })
            .sum();
        if rpm_total > p.rpm {
            return Err(c.err(
                format!("pool.{}.rpm", p.name),
                format!(
                    "pool '{}' is over-allocated: deployments {} take {} RPM but the pool has {} RPM",
                    p.name,
                    members.iter().map(|d| format!("'{}'", d.name)).collect::<Vec<_>>().join(", "),
                    rpm_total,
                    p.rpm
                ),
            ));
        }
    }

    // Client.
    let rc = &raw.client;
    let client = ClientPolicy {
        timeout: c.dur("client.timeout", rc.timeout.as_ref(), "600s")?,
        max_retries: rc.max_retries.unwrap_or(2),
        backoff_initial: c.dur(
            "client.backoff_initial",
            rc.backoff_initial.as_ref(),
            "500ms",
        )?,
        backoff_max: c.dur("client.backoff_max", rc.backoff_max.as_ref(), "8s")?,
        backoff_jitter: {
            let j = rc.backoff_jitter.unwrap_or(0.25);
            if !(0.0..=1.0).contains(&j) {
                return Err(c.err(
                    "client.backoff_jitter",
                    format!("must be within [0, 1], got {j}"),
                ));
            }
            j
        },
        retry_after_cap: c.dur("client.retry_after_cap", rc.retry_after_cap.as_ref(), "60s")?,
        retry_statuses: rc
            .retry_statuses
            .clone()
            .unwrap_or_else(|| vec![408, 409, 429, 500, 502, 503, 504]),
        retry_on_timeout: rc.retry_on_timeout.unwrap_or(true),
    };
    if client.timeout == SimTime::ZERO {
        return Err(c.err("client.timeout", "must be > 0"));
    }
    for s in &client.retry_statuses {
        if !(100..=599).contains(s) {
            return Err(c.err(
                "client.retry_statuses",
                format!("{s} is not an HTTP status"),
            ));
        }
    }

    // Router.
    let rr = &raw.router;
    let policy = match rr.policy.as_deref().unwrap_or("round-robin") {
        "round-robin" => RoutePolicy::RoundRobin,
        "priority" => RoutePolicy::Priority,
        other => {
            return Err(c.err(
                "router.policy",
                format!("unknown policy '{other}'; allowed: round-robin, priority (the full gateway offers more)"),
            ));
        }
    };
    let listed: Vec<usize> = match &rr.deployments {
        Some(names) => {
            let mut v = Vec::new();
            for n in names {
                let i = deployments
                    .iter()
                    .position(|d| &d.name == n)
                    .ok_or_else(|| {
                        c.err("router.deployments", format!("unknown deployment '{n}'"))
                    })?;
                if v.contains(&i) {
                    return Err(c.err("router.deployments", format!("'{n}' is listed twice")));
                }
                v.push(i);
            }
            v
        }
        None => (0..deployments.len())
            .filter(|&i| !spill_targets[i])
            .collect(),
    };
    let routes: Vec<Vec<usize>> = (0..models.len())
        .map(|m| {
            listed
                .iter()
                .copied()
                .filter(|&d| deployments[d].model == m)
                .collect()
        })
        .collect();
    if let Some(r) = routes.iter().find(|r| r.len() > 64) {
        return Err(c.err(
            "router.deployments",
            format!(
                "{} deployments serve one model; the router handles at most 64 per model",
                r.len()
            ),
        ));
    }
    let failover_on = rr.failover_on.clone().unwrap_or_else(|| vec![429]);
    for s in &failover_on {
        if !(100..=599).contains(s) {
            return Err(c.err("router.failover_on", format!("{s} is not an HTTP status")));
        }
    }
    let router = RouterSpec {
        policy,
        routes,
        failover_on,
    };

    // Gateway and faults.
    let gateway = match &raw.gateway {
        None => None,
        Some(g) => {
            if rr.policy.is_some() || rr.deployments.is_some() || rr.failover_on.is_some() {
                return Err(c.err(
                    "router",
                    "give either [router] or [gateway], not both: the gateway does the routing",
                ));
            }
            Some(gateway::gateway(g, c, &deployments, models.len())?)
        }
    };
    let faults = gateway::faults(&raw.fault, c, &deployments)?;

    // Workload.
    let w = &raw.workload;
    let schedule = |kind: &str| -> Result<Vec<(SimTime, f64)>> {
        match (&w.rate_per_min, &w.schedule) {
            (Some(r), None) => Ok(vec![(
                SimTime::ZERO,
                c.non_negative("workload.rate_per_min", *r)?,
            )]),
            (None, Some(points)) => {
                let mut out: Vec<(SimTime, f64)> = Vec::new();
                for (i, p) in points.iter().enumerate() {
                    let k = format!("workload.schedule[{i}]");
                    let at = c.dur(&format!("{k}.at"), Some(&p.at), "")?;
                    let rate = c.non_negative(&format!("{k}.rate_per_min"), p.rate_per_min)?;
                    if i == 0 && at != SimTime::ZERO {
                        return Err(c.err(
                            format!("{k}.at"),
                            "the first schedule point must be at \"0s\"",
                        ));
                    }
                    if let Some(last) = out.last()
                        && at <= last.0
                    {
                        return Err(c.err(
                            format!("{k}.at"),
                            "schedule points must be in increasing time order",
                        ));
                    }
                    out.push((at, rate));
                }
                if out.is_empty() {
                    return Err(c.err("workload.schedule", "must not be empty"));
                }
                Ok(out)
            }
            (Some(_), Some(_)) => Err(c.err(
                "workload.schedule",
                "give either 'rate_per_min' or 'schedule', not both",
            )),
            (None, None) => Err(c.err(
                "workload.rate_per_min",
                format!("arrival = \"{kind}\" needs 'rate_per_min' or 'schedule'"),
            )),
        }
    };
    let arrivals = match w.arrival.as_str() {
        "closed" => {
            if w.rate_per_min.is_some() || w.schedule.is_some() {
                return Err(c.err(
                    "workload.rate_per_min",
                    "does not apply to arrival = \"closed\" (use 'users')",
                ));
            }
            let users = w
                .users
                .ok_or_else(|| c.err("workload.users", "arrival = \"closed\" needs 'users'"))?;
            if users == 0 {
                return Err(c.err("workload.users", "must be >= 1"));
            }
            Arrivals::Closed {
                users,
                think_time_s: c.dist(
                    "workload.user_think_time_s",
                    w.user_think_time_s.as_ref(),
                    0.0,
                    0.0,
                )?,
            }
        }
        "poisson" | "constant" => {
            if w.users.is_some() {
                return Err(c.err(
                    "workload.users",
                    format!("does not apply to arrival = \"{}\"", w.arrival),
                ));
            }
            if w.user_think_time_s.is_some() {
                return Err(c.err(
                    "workload.user_think_time_s",
                    "applies to arrival = \"closed\" only",
                ));
            }
            let s = schedule(&w.arrival)?;
            if w.arrival == "poisson" {
                Arrivals::Poisson { schedule: s }
            } else {
                Arrivals::Constant { schedule: s }
            }
        }
        other => {
            return Err(c.err(
                "workload.arrival",
                format!("unknown arrival '{other}'; allowed: closed, poisson, constant"),
            ));
        }
    };
    if w.class.is_empty() {
        return Err(c.err(
            "workload.class",
            "the workload needs at least one [[workload.class]]",
        ));
    }
    let mut classes = Vec::new();
    for (i, k) in w.class.iter().enumerate() {
        let key = format!("workload.class.{}", k.name);
        if w.class[..i].iter().any(|o| o.name == k.name) {
            return Err(c.err(
                format!("workload.class[{i}].name"),
                format!("duplicate class name '{}'", k.name),
            ));
        }
        let model = match &k.model {
            Some(m) => model_index(&format!("{key}.model"), m)?,
            None if models.len() == 1 => 0,
            None => {
                return Err(c.err(
                    format!("{key}.model"),
                    "several models are in use; say which one this class calls",
                ));
            }
        };
        let served = match &gateway {
            Some(g) => !g.by_model[model].is_empty(),
            None => !router.routes[model].is_empty(),
        };
        if !served {
            return Err(c.err(
                format!("{key}.model"),
                format!("no routed deployment serves model '{}'", model_names[model]),
            ));
        }
        let steps = k.steps.unwrap_or(1);
        if steps == 0 {
            return Err(c.err(format!("{key}.steps"), "must be >= 1"));
        }
        let weight = c.non_negative(&format!("{key}.weight"), k.weight.unwrap_or(1.0))?;
        if k.max_tokens == Some(0) {
            return Err(c.err(
                format!("{key}.max_tokens"),
                "must be >= 1 (omit it to send none)",
            ));
        }
        classes.push(SessionClass {
            name: k.name.clone(),
            weight,
            steps,
            model,
            prompt_tokens: Dist::from_raw(&k.prompt_tokens, 1.0)
                .map_err(|m| c.err(format!("{key}.prompt_tokens"), m))?,
            completion_tokens: Dist::from_raw(&k.completion_tokens, 1.0)
                .map_err(|m| c.err(format!("{key}.completion_tokens"), m))?,
            think_time_s: c.dist(
                &format!("{key}.think_time_s"),
                k.think_time_s.as_ref(),
                0.0,
                0.0,
            )?,
            max_tokens: k.max_tokens,
            streaming: k.streaming.unwrap_or(false),
        });
    }
    let total: f64 = classes.iter().map(|k| k.weight).sum();
    if total <= 0.0 {
        return Err(c.err("workload.class", "class weights must not all be zero"));
    }
    let mut acc = 0.0;
    let class_cdf = classes
        .iter()
        .map(|k| {
            acc += k.weight / total;
            acc
        })
        .collect();
    if w.sessions == Some(0) {
        return Err(c.err("workload.sessions", "must be >= 1 (omit it for no limit)"));
    }

    Ok(Scenario {
        name: meta.name.clone(),
        variant: variant.to_string(),
        description,
        seed: seed.unwrap_or(meta.seed.unwrap_or(1)),
        duration,
        drain,
        metrics_interval,
        models,
        pools,
        deployments,
        client,
        router,
        gateway,
        faults,
        workload: Workload {
            arrivals,
            max_sessions: w.sessions,
            classes,
            class_cdf,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[scenario]
name = "t"
duration = "10m"
[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "gpt-4o-mini"
tpm = 100_000
[[deployment]]
name = "d"
kind = "standard"
model = "gpt-4o-mini"
pool = "p"
tpm = 100_000
[workload]
arrival = "closed"
users = 2
[[workload.class]]
name = "c"
prompt_tokens = 100
completion_tokens = 10
"#;

    fn err(text: &str) -> String {
        parse(text, "t.toml", &[], None).unwrap_err().to_string()
    }

    #[test]
    fn variant_set_applies_after_section_replacement() {
        let text = format!(
            "{BASE}\n[[variant]]\nname = \"v\"\nset = {{ \"workload.users\" = 7 }}\n[variant.workload]\narrival = \"closed\"\nusers = 3\n[[variant.workload.class]]\nname = \"c\"\nprompt_tokens = 100\ncompletion_tokens = 10\n"
        );
        let set = parse(&text, "t.toml", &[], None).unwrap();
        match set.variants[0].workload.arrivals {
            Arrivals::Closed { users, .. } => assert_eq!(users, 7),
            _ => panic!("closed loop expected"),
        }
    }

    #[test]
    fn cli_set_applies_last() {
        let text =
            format!("{BASE}\n[[variant]]\nname = \"v\"\nset = {{ \"workload.users\" = 7 }}\n");
        let set = parse(
            &text,
            "t.toml",
            &[("workload.users".into(), "9".into())],
            None,
        )
        .unwrap();
        assert!(matches!(
            set.variants[0].workload.arrivals,
            Arrivals::Closed { users: 9, .. }
        ));
    }

    #[test]
    fn variants_may_not_change_the_seed() {
        let text = format!(
            "{BASE}\n[[variant]]\nname = \"a\"\n[[variant]]\nname = \"b\"\nset = {{ \"scenario.seed\" = 5 }}\n"
        );
        let e = err(&text);
        assert!(
            e.contains("variant 'b'") && e.contains("common random numbers"),
            "{e}"
        );
    }

    #[test]
    fn rejects_zero_windows_and_bad_statuses() {
        let e = err(&BASE.replace(
            "tpm = 100_000\n[workload]",
            "tpm = 100_000\ncompletion_window = \"0s\"\n[workload]",
        ));
        assert!(
            e.contains("deployment.d.completion_window") && e.contains("none"),
            "{e}"
        );
        let e = err(&BASE.replace(
            "tpm = 100_000\n[workload]",
            "tpm = 100_000\ntoken_window = \"0s\"\n[workload]",
        ));
        assert!(e.contains("deployment.d.token_window"), "{e}");
        let e = err(&format!("{BASE}\n[router]\nfailover_on = [999]\n"));
        assert!(e.contains("router.failover_on") && e.contains("999"), "{e}");
    }

    #[test]
    fn rejects_duplicate_quota_pools_and_rpm_overallocation() {
        let dup = BASE.replace(
            "[[deployment]]",
            "[[pool]]\nname = \"p2\"\nsubscription = \"s\"\nregion = \"r\"\nmodel = \"gpt-4o-mini\"\ntpm = 1000\n[[deployment]]",
        );
        let e = err(&dup);
        assert!(e.contains("'p' and 'p2' are the same quota"), "{e}");
        let e = err(&BASE.replace(
            "tpm = 100_000\n[[deployment]]",
            "tpm = 100_000\nrpm = 10\n[[deployment]]",
        ));
        assert!(
            e.contains("pool.p.rpm") && e.contains("600 RPM") && e.contains("has 10 RPM"),
            "{e}"
        );
    }

    #[test]
    fn distribution_errors_name_the_key_and_line() {
        let e = err(&BASE.replace(
            "prompt_tokens = 100",
            "prompt_tokens = { dist = \"normal\", mean = 1, sdd = 2 }",
        ));
        assert!(
            e.contains("t.toml:22:17") && e.contains("unknown field `sdd`"),
            "{e}"
        );
        let e = err(&BASE.replace("prompt_tokens = 100", "prompt_tokens = \"lots\""));
        assert!(e.contains("expected a number or a table"), "{e}");
    }
}
