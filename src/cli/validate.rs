//! `spillway validate SCENARIO.toml`: every check `run`, `sweep` and `check` make before
//! running, and nothing else. "ok" is printed only once everything has passed.

use clap::Args;

use super::{ScenarioArgs, load};
use crate::error::Result;
use crate::slo;
use crate::sweep;

/// `spillway validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The most runs (points x variants x replications) the scenario's [sweep] may have, as
    /// for `spillway sweep --max-runs` (default 100000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_runs: Option<u64>,
}

/// Loads and checks the scenario, its `[[slo]]`s and every point of its `[sweep]`; prints a
/// summary on success. Exit code 0, or an error (exit 2).
pub fn validate_command(a: ValidateArgs) -> Result<u8> {
    let set = load(&a.scenario)?;
    let slos = slo::from_set(&set)?;
    let plan = match set.sweep {
        // Every point of every swept variant is built and checked.
        Some(_) => Some(sweep::plan(
            &set,
            &sweep::Options {
                max_runs: a.max_runs.map(|n| n as usize),
                ..Default::default()
            },
        )?),
        None => None,
    };
    let names: Vec<&str> = set.variants.iter().map(|v| v.variant.as_str()).collect();
    println!(
        "{}: ok: scenario '{}', {} variant(s): {}",
        a.scenario.scenario.display(),
        set.name,
        set.variants.len(),
        names.join(", ")
    );
    if let Some(plan) = plan {
        let keys: Vec<&str> = plan.params.iter().map(|p| p.key.as_str()).collect();
        println!(
            "sweep: {} point(s) x {} variant(s) x {} replication(s) over {}",
            plan.points.len(),
            plan.variants.len(),
            plan.replications,
            keys.join(", ")
        );
    }
    if !slos.is_empty() {
        let names: Vec<&str> = slos.iter().map(|s| s.name.as_str()).collect();
        println!("slo: {}", names.join("; "));
    }
    Ok(0)
}
