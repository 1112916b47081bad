//! The gateway (`[gateway]`) and faults (`[[fault]]`): the shipped scenario's figures, its
//! determinism, and small scenarios that isolate one mechanism each.

use serde_json::Value;
use spillway::output::Exporter;
use spillway::runner;

use crate::scenario_path;

fn summary_of(set: &spillway::scenario::ScenarioSet, threads: usize) -> String {
    let chosen = runner::select(set, &[]).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let runs = pool
        .install(|| runner::run_variants(&chosen, |_| Ok(None)))
        .unwrap();
    spillway::output::json::Json.render(&runner::summary(set, &runs))
}

fn run_text(text: &str) -> Value {
    serde_json::from_str(&summary_of(&crate::parse(text), 1)).unwrap()
}

fn variant<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no variant {name}"))
}

fn f(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number: {cur}"))
}

fn ptu_utilization(v: &Value) -> f64 {
    v["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "provisioned")
        .unwrap()["utilization_mean"]
        .as_f64()
        .unwrap()
}

#[test]
fn gateway_strategies_shows_what_the_issue_asks() {
    let set =
        spillway::scenario::load(&scenario_path("gateway-strategies.toml"), &[], None).unwrap();
    let names: Vec<&str> = set.variants.iter().map(|v| v.variant.as_str()).collect();
    assert_eq!(
        names,
        [
            "round-robin",
            "priority-spillover",
            "least-utilized",
            "lowest-latency",
            "power-of-two",
            "retry-storm",
            "backoff-and-breaker",
            "two-instances"
        ]
    );
    let doc: Value = serde_json::from_str(&summary_of(&set, 2)).unwrap();
    let storm = variant(&doc, "retry-storm");
    let calm = variant(&doc, "backoff-and-breaker");
    assert!(
        f(storm, "requests.attempts_per_request") > 2.0 * f(calm, "requests.attempts_per_request"),
        "retry-storm amplifies attempts"
    );
    assert!(
        f(storm, "latency_ms.e2e.p99") > f(calm, "latency_ms.e2e.p99"),
        "retry-storm has the worse p99"
    );
    let rr = variant(&doc, "round-robin");
    let prio = variant(&doc, "priority-spillover");
    assert!(ptu_utilization(prio) > ptu_utilization(rr) + 0.2);
    assert!(f(prio, "cost_usd.per_1k_sessions") < f(rr, "cost_usd.per_1k_sessions"));
    // Breakers cut what is sent to the failed region during the outage.
    for without in [rr, storm] {
        assert!(
            f(calm, "faults.attempts_in_outage") * 10.0 < f(without, "faults.attempts_in_outage"),
            "breakers cut attempts to the failed region"
        );
    }
    assert!(f(calm, "gateway.breaker_trips") > 0.0);
    assert!(f(calm, "gateway.breaker_open_s") > 0.0);
    // Two instances: each trips its own breakers.
    let two = variant(&doc, "two-instances");
    assert!(f(two, "gateway.breaker_trips") > f(calm, "gateway.breaker_trips"));
    assert_eq!(f(two, "gateway.instances"), 2.0);
    // Shares add up to one; forwards are the attempts.
    for v in doc["variants"].as_array().unwrap() {
        let shares: f64 = v["gateway"]["backends"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["share"].as_f64().unwrap())
            .sum();
        assert!((shares - 1.0).abs() < 1e-5, "{shares}");
        assert_eq!(v["gateway"]["forwarded"], v["requests"]["attempts"]);
    }
}

#[test]
fn gateway_strategies_is_deterministic() {
    let set =
        spillway::scenario::load(&scenario_path("gateway-strategies.toml"), &[], None).unwrap();
    let a = summary_of(&set, 1);
    assert_eq!(a, summary_of(&set, 1), "two runs differ");
    assert_eq!(a, summary_of(&set, 4), "1 vs 4 threads differ");
}

/// Two standard deployments in two regions behind a gateway; Poisson load well within them.
const BASE: &str = r#"
[scenario]
name = "gw"
duration = "20m"
[[pool]]
name = "pa"
subscription = "s"
region = "east"
model = "gpt-4o-mini"
tpm = 1_000_000
[[pool]]
name = "pb"
subscription = "s"
region = "west"
model = "gpt-4o-mini"
tpm = 1_000_000
[[deployment]]
name = "a"
kind = "standard"
model = "gpt-4o-mini"
pool = "pa"
tpm = 1_000_000
[[deployment]]
name = "b"
kind = "standard"
model = "gpt-4o-mini"
pool = "pb"
tpm = 1_000_000
[workload]
arrival = "poisson"
rate_per_min = 60
[[workload.class]]
name = "c"
prompt_tokens = 500
completion_tokens = 50
max_tokens = 100
"#;

fn with(extra: &str) -> String {
    format!("{BASE}\n{extra}")
}

const GW: &str = r#"
[gateway]
policy = "round-robin"
[[gateway.backend]]
deployment = "a"
[[gateway.backend]]
deployment = "b"
"#;

fn backend<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["gateway"]["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["deployment"] == name)
        .unwrap()
}

#[test]
fn without_gateway_or_faults_the_summary_has_no_new_blocks() {
    let doc = run_text(BASE);
    let v = &doc["variants"][0];
    assert!(v.get("gateway").is_none() && v.get("faults").is_none());
}

#[test]
fn round_robin_splits_evenly_and_priority_groups_keep_the_lower_group_idle() {
    let doc = run_text(&with(GW));
    let v = &doc["variants"][0];
    let (a, b) = (backend(v, "a"), backend(v, "b"));
    assert!((a["forwarded"].as_i64().unwrap() - b["forwarded"].as_i64().unwrap()).abs() <= 1);
    let prio = GW.replace("deployment = \"b\"", "deployment = \"b\"\npriority = 2");
    let doc = run_text(&with(&prio));
    let v = &doc["variants"][0];
    assert_eq!(backend(v, "b")["forwarded"], 0);
    assert_eq!(f(backend(v, "a"), "share"), 1.0);
}

#[test]
fn an_outage_fails_attempts_and_gateway_retries_fail_over() {
    let outage = "[[fault]]\nname = \"east-down\"\nkind = \"outage\"\nregion = \"east\"\nfrom = \"5m\"\nto = \"10m\"\n";
    let none = run_text(&with(&format!(
        "{GW}\n{outage}\n[client]\nmax_retries = 0\n"
    )));
    let v = &none["variants"][0];
    // Half the requests in the five minutes go east and fail at once (no retries anywhere).
    let in_outage = f(v, "faults.attempts_in_outage");
    assert!((120.0..=180.0).contains(&in_outage), "{in_outage}");
    assert_eq!(f(v, "faults.errors"), in_outage);
    assert_eq!(f(v, "requests.failed"), in_outage);
    // One gateway retry on another backend saves all of them.
    let retry = run_text(&with(&format!(
        "{GW}\n[gateway.retry]\ncount = 1\n{outage}\n[client]\nmax_retries = 0\n"
    )));
    let v = &retry["variants"][0];
    assert_eq!(f(v, "requests.failed"), 0.0);
    assert_eq!(
        f(v, "gateway.gateway_retries"),
        f(v, "faults.attempts_in_outage")
    );
    assert_eq!(f(v, "gateway.failovers"), f(v, "gateway.gateway_retries"));
    // A breaker stops sending east after 3 failures, probing every 30 s.
    let breaker = run_text(&with(&format!(
        "{GW}\n[gateway.retry]\ncount = 1\n[gateway.breaker]\nfailures = 3\ntrip_duration = \"30s\"\n{outage}\n[client]\nmax_retries = 0\n"
    )));
    let v = &breaker["variants"][0];
    assert_eq!(f(v, "requests.failed"), 0.0);
    let cut = f(v, "faults.attempts_in_outage");
    assert!(cut <= 3.0 + 10.0 + 1.0, "{cut}");
    assert!(f(v, "gateway.breaker_trips") >= 10.0);
    // 5 minutes open minus the probes' instants.
    assert!((f(v, "gateway.breaker_open_s") - 300.0).abs() <= 31.0);
}

#[test]
fn throttle_marks_skip_a_429ing_backend_until_its_retry_after() {
    // Backend a is tiny (1K TPM): almost every call is a 429 there.
    let text = BASE.replace(
        "pool = \"pa\"\ntpm = 1_000_000",
        "pool = \"pa\"\ntpm = 1_000",
    );
    let gw_retry = format!("{GW}\n[gateway.retry]\ncount = 1\n");
    let plain = run_text(&format!("{text}\n{gw_retry}"));
    let marked = run_text(&format!(
        "{text}\n{gw_retry}\n[gateway.throttle]\non = [429]\n"
    ));
    let (p, m) = (&plain["variants"][0], &marked["variants"][0]);
    assert_eq!(f(p, "requests.failed"), 0.0);
    assert_eq!(f(m, "requests.failed"), 0.0);
    // Without marks half the calls hit a first; with them, a is skipped while marked.
    assert!(f(backend(m, "a"), "forwarded") * 5.0 < f(backend(p, "a"), "forwarded"));
    assert!(f(m, "gateway.throttle_marks") > 0.0);
    assert!(f(m, "requests.attempts_per_request") < f(p, "requests.attempts_per_request"));
}

#[test]
fn capacity_429s_and_transient_errors_follow_their_rates() {
    let faults = "[[fault]]\nname = \"cap\"\nkind = \"capacity-429\"\ndeployment = \"a\"\nrate = 0.2\n[[fault]]\nname = \"err\"\nkind = \"errors\"\ndeployment = \"b\"\nrate = 0.1\nstatus = 503\n";
    let doc = run_text(&with(&format!(
        "{GW}\n{faults}\n[client]\nmax_retries = 8\n"
    )));
    let v = &doc["variants"][0];
    let dep = |name: &str| {
        v["faults"]["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap()
            .clone()
    };
    let attempts = |name: &str| {
        v["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap()["attempts"]
            .as_f64()
            .unwrap()
    };
    let cap = f(&dep("a"), "capacity_429") / attempts("a");
    let err = f(&dep("b"), "errors") / attempts("b");
    assert!((cap - 0.2).abs() < 0.04, "{cap}");
    assert!((err - 0.1).abs() < 0.03, "{err}");
    // The client's retries hide them.
    assert_eq!(f(v, "requests.failed"), 0.0);
}

#[test]
fn faults_also_apply_without_a_gateway_and_do_not_move_the_workload() {
    // The router sees the outage's 503s; the sessions sampled are the same.
    let outage = "[[fault]]\nname = \"a-down\"\nkind = \"outage\"\ndeployment = \"a\"\nfrom = \"0s\"\nto = \"end\"\n[client]\nmax_retries = 0\n";
    let doc = run_text(&with(outage));
    let v = &doc["variants"][0];
    assert!(f(v, "requests.failed") > 0.0);
    assert_eq!(
        f(v, "requests.sent"),
        f(&run_text(BASE)["variants"][0], "requests.sent")
    );
}

#[test]
fn a_limit_cut_causes_429s_only_while_it_lasts() {
    let text = BASE.replace("rate_per_min = 60", "rate_per_min = 300");
    let cut = "[[fault]]\nname = \"cut\"\nkind = \"limit-cut\"\ndeployment = \"a\"\nfactor = 0.02\nfrom = \"5m\"\nto = \"10m\"\n";
    let before = run_text(&format!("{text}\n{GW}"));
    let after = run_text(&format!("{text}\n{GW}\n{cut}"));
    let r429 = |d: &Value| {
        d["variants"][0]["deployments"][0]["rejected_429"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(r429(&before), 0.0);
    assert!(r429(&after) > 100.0, "{}", r429(&after));
    // Per minute: 429s only in minutes 5-9.
    let set = crate::parse(&format!("{text}\n{GW}\n{cut}"));
    let m = spillway::engine::simulate(&set.variants[0], None);
    for row in &m.series {
        let minute = row.t.as_secs_f64() / 60.0;
        let inside = (5.0..10.0).contains(&minute);
        assert_eq!(
            row.rejected_429 > 0,
            inside,
            "minute {minute}: {}",
            row.rejected_429
        );
    }
}

#[test]
fn bad_gateway_and_fault_keys_are_named() {
    let err = |text: &str| {
        spillway::scenario::parse(text, "g.toml", &[], None)
            .unwrap_err()
            .to_string()
    };
    let e = err(&with(&GW.replace("round-robin", "fastest")));
    assert!(
        e.contains("gateway.policy") && e.contains("least-utilized"),
        "{e}"
    );
    let e = err(&with(&format!("{GW}\n[router]\npolicy = \"priority\"\n")));
    assert!(e.contains("either [router] or [gateway]"), "{e}");
    let e = err(&with(
        &GW.replace("deployment = \"b\"", "deployment = \"zz\""),
    ));
    assert!(
        e.contains("gateway.backend[1].deployment") && e.contains("zz"),
        "{e}"
    );
    let e = err(&with(&format!(
        "{GW}\n[gateway.breaker]\nfailures = 3\nfailure_percent = 50\n"
    )));
    assert!(e.contains("gateway.breaker.failure_percent"), "{e}");
    let e = err(&with(&format!(
        "{GW}\n[gateway.breaker]\nstatuses = [\"599-500\"]\n"
    )));
    assert!(
        e.contains("gateway.breaker.statuses") && e.contains("empty"),
        "{e}"
    );
    let e = err(&with("[[fault]]\nname = \"x\"\nkind = \"meteor\"\n"));
    assert!(e.contains("fault.x.kind") && e.contains("limit-cut"), "{e}");
    let e = err(&with(
        "[[fault]]\nname = \"x\"\nkind = \"errors\"\nrate = 1.5\n",
    ));
    assert!(e.contains("fault.x.rate"), "{e}");
    let e = err(&with(
        "[[fault]]\nname = \"x\"\nkind = \"outage\"\nfrom = \"10m\"\nto = \"5m\"\n",
    ));
    assert!(e.contains("fault.x.to"), "{e}");
    let e = err(&with(
        "[[fault]]\nname = \"x\"\nkind = \"outage\"\nregion = \"mars\"\n",
    ));
    assert!(e.contains("fault.x.region") && e.contains("mars"), "{e}");
}
