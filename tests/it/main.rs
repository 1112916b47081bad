//! Spillway's integration tests: one binary, one module per area.

mod calibrate;
mod cli;
mod determinism;
mod fidelity;
mod gateway;
mod invariants;
mod models;
mod queueing;
mod report;
mod scenario_errors;
mod seeds;
mod setup;
mod sweep;
mod traces;

use std::path::PathBuf;

/// The repository root (where Cargo.toml is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Path of a shipped scenario.
pub fn scenario_path(name: &str) -> String {
    root().join("scenarios").join(name).display().to_string()
}

/// Loads a scenario from TOML text (panics with the error message on failure: tests only).
pub fn parse(text: &str) -> spillway::scenario::ScenarioSet {
    spillway::scenario::parse(text, "<test>", &[], None).unwrap_or_else(|e| panic!("{e}"))
}
