//! Helpers for the scenario's unit tests: a minimal valid scenario and short ways to check it.

use super::{Scenario, ScenarioSet, parse};

/// A minimal valid scenario: one pool, one standard deployment, a closed loop of 2 users.
pub const BASE: &str = r#"
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

/// Parses `text` (file `t.toml`), panicking with the error.
pub fn ok(text: &str) -> ScenarioSet {
    parse(text, "t.toml", &[], None).unwrap_or_else(|e| panic!("{e}"))
}

/// The error `text` gives (panics when it is accepted).
pub fn err(text: &str) -> String {
    match parse(text, "t.toml", &[], None) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The error `BASE` gives with `--set` pairs.
pub fn err_set(sets: &[(&str, &str)]) -> String {
    let sets: Vec<(String, String)> = sets
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match parse(BASE, "t.toml", &sets, None) {
        Ok(_) => panic!("accepted: {sets:?}"),
        Err(e) => e.to_string(),
    }
}

/// `BASE` with `--set` pairs, checked.
pub fn with_set(sets: &[(&str, &str)]) -> Scenario {
    let sets: Vec<(String, String)> = sets
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parse(BASE, "t.toml", &sets, None)
        .unwrap_or_else(|e| panic!("{e}"))
        .variants
        .remove(0)
}
