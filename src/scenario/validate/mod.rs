//! Checking a [`RawScenario`] into a [`Scenario`]: one checker per TOML table, in the order of
//! `docs/scenario.md`, each in its own file. [`validate`] calls them in a fixed order (the first
//! problem found is the one reported): `[scenario]`, the models in use, `[[pool]]`,
//! `[[deployment]]` (and spillover), the pools' quota, `[client]`, `[router]`, `[gateway]`,
//! `[[fault]]`, `[workload]`.
//!
//! Every checker takes a [`Ctx`], which names the file and the variant in errors, and returns
//! typed values or an error keyed by the dotted path of the value (`deployment.NAME.tpm`).

mod client;
mod deployments;
mod faults;
mod gateway;
mod meta;
mod models;
mod pools;
mod router;
mod trace_keys;
mod trace_workload;
mod workload;

use crate::dist::{Dist, RawDist};
use crate::error::{Error, Result};
use crate::time::{SimTime, parse_duration};

use super::limits::{Limits, Range};
use super::raw::RawScenario;
use super::{Scenario, Workload};

pub(super) use meta::check_baseline;
pub(super) use models::Models;

/// Where the checks run: the file and variant that errors name.
pub(crate) struct Ctx<'a> {
    /// The scenario file.
    pub file: &'a str,
    /// The variant being checked (`None`: the file as written).
    pub variant: Option<&'a str>,
    /// Size limits.
    pub limits: &'a Limits,
}

impl Ctx<'_> {
    /// An error at `key`.
    pub fn err(&self, key: impl Into<String>, msg: impl Into<String>) -> Error {
        Error::at_key(self.file, self.variant, key, msg)
    }
    /// Parses the duration `v`, or `default` when it is absent.
    pub fn dur(&self, key: &str, v: Option<&String>, default: &str) -> Result<SimTime> {
        parse_duration(v.map_or(default, String::as_str)).map_err(|m| self.err(key, m))
    }
    /// Checks the distribution `v` (samples clamped to `lower`), or the constant `default`.
    pub fn dist(&self, key: &str, v: Option<&RawDist>, default: f64, lower: f64) -> Result<Dist> {
        match v {
            None => Ok(Dist::constant(default)),
            Some(r) => Dist::from_raw(r, lower).map_err(|m| self.err(key, m)),
        }
    }
    /// `v` if it is within `range` (its wording: [`Range::check`]).
    pub fn range(&self, key: &str, v: f64, range: &Range) -> Result<f64> {
        range.check(v).map_err(|m| self.err(key, m))
    }
    /// `v` if it is within `range`.
    pub fn range_int(&self, key: &str, v: u64, range: &Range) -> Result<u64> {
        range.check_int(v).map_err(|m| self.err(key, m))
    }
}

/// Checks every table of `raw` and resolves defaults: the variant `variant` of the scenario.
/// `seed` (from `--seed`) replaces `[scenario] seed`.
pub(crate) fn validate(
    raw: &RawScenario,
    c: &Ctx,
    variant: &str,
    description: Option<String>,
    seed: Option<u64>,
) -> Result<Scenario> {
    let meta = meta::check(&raw.scenario, c, raw.deployment.len())?;
    let models = models::check(raw, c)?;
    let pools = pools::check(&raw.pool, c, &models)?;
    let (deployments, spill_targets) = deployments::check(&raw.deployment, c, &models, &pools)?;
    pools::check_quota(&pools, &deployments, c, &models)?;
    let client = client::check(&raw.client, c)?;
    let router = router::check(&raw.router, c, &deployments, &spill_targets, models.len())?;
    let gateway = match &raw.gateway {
        None => None,
        Some(g) => {
            router::check_no_router(&raw.router, c)?;
            Some(gateway::check(g, c, &deployments, models.len())?)
        }
    };
    let faults = faults::check(&raw.fault, c, &deployments)?;
    let seed = seed.unwrap_or(raw.scenario.seed.unwrap_or(1));
    let (arrivals, classes, class_cdf) = workload::check(
        &raw.workload,
        c,
        &models,
        &router,
        gateway.as_ref(),
        meta.duration,
    )?;
    let trace = trace_workload::trace(
        &raw.workload,
        c,
        &models,
        &classes,
        &router,
        gateway.as_ref(),
        seed,
    )?;
    Ok(Scenario {
        name: raw.scenario.name.clone(),
        variant: variant.to_string(),
        description,
        seed,
        duration: meta.duration,
        drain: meta.drain,
        metrics_interval: meta.metrics_interval,
        models: models.params,
        pools,
        deployments,
        client,
        router,
        gateway,
        faults,
        workload: Workload {
            arrivals,
            max_sessions: raw.workload.sessions,
            classes,
            class_cdf,
            trace,
        },
        baseline: raw.scenario.baseline.clone(),
    })
}
