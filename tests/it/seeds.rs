//! The shipped scenarios reproduce the seed cases (DESIGN section 9; issue acceptance points).
//! The figures come out of the model: see each scenario file for where its parameters come from.

use serde_json::Value;

use spillway::output::Exporter;
use spillway::runner;

use crate::scenario_path;

fn summary(name: &str) -> Value {
    let set = spillway::scenario::load(&scenario_path(name), &[], None).unwrap();
    let chosen = runner::select(&set, &[]).unwrap();
    let runs = runner::run_variants(&chosen, |_| Ok(None)).unwrap();
    serde_json::from_str(&spillway::output::json::Json.render(&runner::summary(&set, &runs)))
        .unwrap()
}

fn variant<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("variant {name} missing"))
}

fn f(v: &Value, path: &[&str]) -> f64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_f64()
        .unwrap_or_else(|| panic!("{path:?} missing"))
}

#[test]
fn foundry_parallel_load_reproduces_the_seed() {
    let s = summary("foundry-parallel-load.toml");
    let names: Vec<&str> = s["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "1-user",
            "4-users",
            "4-users-3-deployments",
            "4-users-3-subscriptions",
            "4-users-quota-increase",
            "4-users-2-regions",
            "4-users-ptu",
            "4-users-consolidated",
            "4-users-parallel",
            "10-users",
            "50-users",
            "50-users-3-subscriptions"
        ]
    );
    let p50 = |name: &str| f(variant(&s, name), &["sessions", "duration_ms", "p50"]) / 1000.0;
    let one = p50("1-user");
    let four = p50("4-users");
    let three_dep = p50("4-users-3-deployments");
    let three_sub = p50("4-users-3-subscriptions");
    assert!(
        (50.0..=70.0).contains(&one),
        "1-user median session {one:.1} s, seed says 50-70 s"
    );
    assert!(
        (200.0..=300.0).contains(&four),
        "4-users median session {four:.1} s, seed says 200-300 s"
    );
    assert!(
        (three_dep / four - 1.0).abs() <= 0.15,
        "3 deployments in one subscription {three_dep:.1} s vs {four:.1} s: must be within 15%"
    );
    assert!(
        three_sub <= 0.45 * four,
        "3 subscriptions {three_sub:.1} s vs {four:.1} s: must be at most 0.45x"
    );
    // More users on the same quota only get slower.
    assert!(p50("10-users") > four, "10 users slower than 4");
    // Every 4-user variant with more quota beats the single subscription.
    for v in ["4-users-quota-increase", "4-users-2-regions", "4-users-ptu"] {
        assert!(p50(v) < four, "{v} should beat 4-users");
    }
    // What makes 4-users slow is waiting for quota (429s and their Retry-After), not serving.
    let b = &variant(&s, "4-users")["sessions"]["time_breakdown_ms"];
    let part = |k: &str| b[k].as_f64().unwrap();
    assert!(
        part("waiting") > 2.0 * (part("prefill") + part("generating")),
        "4-users should be dominated by waiting for quota: {b}"
    );
    // Consolidating the flow sends fewer, larger calls: fewer charges against the quota.
    assert!(p50("4-users-consolidated") < 0.7 * four);
    // Running steps at once on a quota that already binds bursts into the window: more calls
    // are refused for good than in the sequential flow.
    let failed = |name: &str| f(variant(&s, name), &["requests", "failed_ratio"]);
    assert!(failed("4-users-parallel") > 5.0 * failed("4-users").max(0.001));
}

#[test]
fn timeouts_to_triumph_reproduces_the_seed() {
    let s = summary("timeouts-to-triumph.toml");
    let fail_408_429 = |name: &str| {
        let v = variant(&s, name);
        (f(v, &["requests", "rate_limited"]) + f(v, &["requests", "timed_out"]))
            / f(v, &["requests", "sent"])
    };
    let base = fail_408_429("baseline");
    let fixed = fail_408_429("token-cap-streaming-spillover");
    assert!(
        base > 0.01,
        "baseline 408/429 failures {:.3}% must exceed 1%",
        base * 100.0
    );
    assert!(
        fixed < 0.001,
        "with cap, streaming and spillover {:.3}% must be below 0.1%",
        fixed * 100.0
    );
    // The baseline's 408s come from the completion window, on the PTU deployment.
    let b = variant(&s, "baseline");
    assert!(
        b["deployments"][0]["timed_out_408"].as_u64().unwrap() > 0,
        "baseline 408s on the PTU deployment"
    );
    // Tokens per request fall sharply with the cap (the seed reports 60%): we require 30%.
    let generated = |name: &str| f(variant(&s, name), &["tokens", "generated_per_request"]);
    let cut = 1.0 - generated("token-cap") / generated("baseline");
    assert!(
        cut >= 0.30,
        "tokens generated per request fell {:.0}%",
        cut * 100.0
    );
    // The cap truncates answers: a quality cost that is counted.
    assert!(f(variant(&s, "token-cap"), &["requests", "truncated"]) > 0.0);
    // Spillover is counted and billed.
    let sp = variant(&s, "token-cap-streaming-spillover");
    assert!(
        f(sp, &["requests", "spilled"]) > 0.0,
        "spilled requests are counted"
    );
    assert!(
        f(sp, &["cost_usd", "spilled_tokens"]) > 0.0,
        "spilled requests are billed per token"
    );
    assert!(sp["deployments"][1]["spilled_in"].as_u64().unwrap() > 0);
}
