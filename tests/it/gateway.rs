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

// ---- gateway policies: max_tokens cap, token limit, token quota, cache, timeout ----

/// [`GW`] with top-level `[gateway]` keys added.
fn gw(keys: &str) -> String {
    GW.replace(
        "policy = \"round-robin\"",
        &format!("policy = \"round-robin\"\n{keys}"),
    )
}

#[test]
fn the_gateway_max_tokens_cap_truncates_and_lowers_charged_estimates() {
    let plain = run_text(&with(GW));
    let capped = run_text(&with(&gw("max_tokens = 20")));
    let (p, c) = (&plain["variants"][0], &capped["variants"][0]);
    let sent = f(c, "requests.sent");
    assert_eq!(f(p, "requests.sent"), sent, "same workload");
    // Every request wants 50 > 20: all truncated, 20 tokens each; none without the cap.
    assert_eq!(f(p, "requests.truncated"), 0.0);
    assert_eq!(f(c, "requests.truncated"), f(c, "requests.succeeded"));
    assert_eq!(f(c, "tokens.completion"), 20.0 * f(c, "requests.succeeded"));
    assert_eq!(f(c, "gateway.max_tokens_capped"), sent);
    // The deployment is charged prompt + 20 instead of prompt + 100 (the client's max_tokens).
    assert_eq!(f(p, "tokens.charged_estimate"), 600.0 * sent);
    assert_eq!(f(c, "tokens.charged_estimate"), 520.0 * sent);
    // A cap above the client's max_tokens changes nothing but is still reported.
    let loose = run_text(&with(&gw("max_tokens = 1000")));
    let l = &loose["variants"][0];
    assert_eq!(f(l, "tokens.charged_estimate"), 600.0 * sent);
    assert_eq!(f(l, "gateway.max_tokens_capped"), 0.0);
    assert!(
        p["gateway"].get("max_tokens_capped").is_none(),
        "no policy keys without policies"
    );
}

/// Constant arrivals, one per second; each request is estimated at 500 + 100 = 600 tokens.
fn constant(text: &str) -> String {
    text.replace("arrival = \"poisson\"", "arrival = \"constant\"")
}

#[test]
fn the_token_limit_answers_429_with_retry_after_and_bounds_tokens_per_minute_per_key() {
    // 6,000 estimated tokens per minute = 10 requests of 600 per rolling minute.
    let limit = "[gateway.token_limit]\ntokens_per_minute = 6000\nkey = \"all\"\n";
    let doc = run_text(&constant(&with(&format!(
        "{GW}\n{limit}\n[client]\nmax_retries = 0\n"
    ))));
    let v = &doc["variants"][0];
    let (sent, ok) = (f(v, "requests.sent"), f(v, "requests.succeeded"));
    // 20 minutes of 10 per minute, give or take the edges.
    assert!((195.0..=210.0).contains(&ok), "{ok}");
    assert_eq!(f(v, "gateway.token_limit_429"), sent - ok);
    assert_eq!(f(v, "requests.rate_limited"), sent - ok);
    // Rejected requests never reach a deployment.
    assert_eq!(f(v, "gateway.forwarded"), ok);
    assert!(f(v, "tokens.charged_estimate") <= 6000.0 * 21.0);
    // Retry-After is the time until the window admits (up to a minute), far beyond the
    // SDK's backoff (at most 8 s): honouring it, the retried requests wait tens of seconds.
    let doc = run_text(&constant(&with(&format!(
        "{GW}\n{limit}\n[client]\nmax_retries = 1\nretry_after_cap = \"120s\"\n"
    ))));
    let v = &doc["variants"][0];
    assert!(f(v, "latency_ms.e2e.p99") > 20_000.0, "{}", v["latency_ms"]);
    assert!(f(v, "latency_ms.e2e.max") <= 61_000.0 + 5_000.0);
    // Per key: two classes of equal weight (30 requests a minute each), each with its own
    // counter, get 10 a minute each; one shared counter admits 10 a minute in all.
    let two = format!(
        "{}\n[[workload.class]]\nname = \"d\"\nprompt_tokens = 500\ncompletion_tokens = 50\nmax_tokens = 100\n",
        constant(BASE)
    );
    let admitted = |key: &str| -> f64 {
        let limit = format!("[gateway.token_limit]\ntokens_per_minute = 6000\nkey = \"{key}\"\n");
        let doc = run_text(&format!(
            "{two}\n{GW}\n{limit}\n[client]\nmax_retries = 0\n"
        ));
        let v = &doc["variants"][0];
        assert!(f(v, "gateway.token_limit_429") > 0.0);
        f(v, "requests.succeeded")
    };
    let (own, shared) = (admitted("class"), admitted("all"));
    assert!((390.0..=420.0).contains(&own), "{own}");
    assert!((195.0..=210.0).contains(&shared), "{shared}");
}

#[test]
fn the_token_quota_answers_403_after_its_tokens_and_resets_each_period() {
    // 30,000 tokens per 5 minutes = 50 requests of 600 per period; 4 periods in 20 minutes.
    let quota = "[gateway.token_quota]\ntokens = 30000\nperiod = \"5m\"\nkey = \"all\"\n";
    let doc = run_text(&with(&format!("{GW}\n{quota}\n")));
    let v = &doc["variants"][0];
    let sent = f(v, "requests.sent");
    assert_eq!(
        f(v, "requests.succeeded"),
        200.0,
        "50 per period, 4 periods"
    );
    assert_eq!(f(v, "gateway.token_quota_403"), sent - 200.0);
    // 403 is not retried by default: one answer per refused request.
    assert_eq!(f(v, "requests.client_retries"), 0.0);
    assert_eq!(f(v, "requests.other_failed"), sent - 200.0);
    assert_eq!(f(v, "tokens.charged_estimate"), 200.0 * 600.0);
    // A period longer than the run never resets.
    let doc2 = run_text(&with(&format!(
        "{GW}\n{}",
        quota.replace("\"5m\"", "\"1h\"")
    )));
    assert_eq!(f(&doc2["variants"][0], "requests.succeeded"), 50.0);
}

#[test]
fn the_semantic_cache_hits_at_its_ratio_and_hits_never_reach_a_deployment() {
    let cache = "[gateway.cache]\nhit_ratio = 0.3\nlookup_latency = \"30ms\"\nembedding_cost_per_1k_tokens = 0.0001\n";
    let plain = run_text(&with(GW));
    let doc = run_text(&with(&format!("{GW}\n{cache}\n")));
    let (p, v) = (&plain["variants"][0], &doc["variants"][0]);
    let sent = f(v, "requests.sent");
    let (hits, misses) = (f(v, "gateway.cache_hits"), f(v, "gateway.cache_misses"));
    assert_eq!(hits + misses, sent, "one lookup per request (no failures)");
    let sd = (sent * 0.3 * 0.7).sqrt();
    assert!((hits - 0.3 * sent).abs() <= 4.0 * sd, "{hits} of {sent}");
    assert_eq!(f(v, "requests.succeeded"), sent);
    // Hits never reach a deployment: forwards, attempts and charges are the misses'.
    assert_eq!(f(v, "gateway.forwarded"), misses);
    let dep_attempts: f64 = v["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attempts"].as_f64().unwrap())
        .sum();
    assert_eq!(dep_attempts, misses);
    assert_eq!(f(v, "tokens.charged_estimate"), 600.0 * misses);
    // Every lookup pays its embeddings call, counted in the total cost.
    let emb = sent * 500.0 * 0.0001 / 1000.0;
    assert!((f(v, "gateway.embedding_cost_usd") - emb).abs() < 1e-5);
    assert!((f(v, "cost_usd.gateway_embedding") - emb).abs() < 1e-5);
    assert!(
        (f(v, "cost_usd.total") - f(v, "cost_usd.tokens") - f(v, "cost_usd.ptu") - emb).abs()
            < 1e-5
    );
    assert!(p["cost_usd"].get("gateway_embedding").is_none());
    // Misses pay the lookup latency on top; hits answer in it.
    assert!(f(v, "latency_ms.e2e.p50") < f(p, "latency_ms.e2e.p50") + 30.0);
    let all_hit = run_text(&with(&format!("{GW}\n{}", cache.replace("0.3", "1.0"))));
    let a = &all_hit["variants"][0];
    assert_eq!(f(a, "gateway.forwarded"), 0.0);
    // (Percentiles come from a histogram with a small relative error.)
    assert!((f(a, "latency_ms.ttft.max") - 30.0).abs() < 0.1);
    assert!((f(a, "latency_ms.e2e.max") - 30.0).abs() < 0.1);
}

#[test]
fn the_gateway_timeout_answers_504_for_long_answers_only() {
    let long = BASE.replace(
        "completion_tokens = 50\nmax_tokens = 100",
        "completion_tokens = 3000\nmax_tokens = 4000",
    );
    let gw = gw("timeout = \"10s\"");
    let client = "[client]\nmax_retries = 0\n";
    // Short answers finish well within 10 s.
    let short = run_text(&format!("{}\n{gw}\n{client}", BASE));
    let s = &short["variants"][0];
    assert_eq!(f(s, "gateway.timeouts_504"), 0.0);
    assert_eq!(f(s, "requests.failed"), 0.0);
    // 3,000 tokens take far longer: every forward is cut at 10 s and answered 504.
    let doc = run_text(&format!("{long}\n{gw}\n{client}"));
    let v = &doc["variants"][0];
    let sent = f(v, "requests.sent");
    assert_eq!(f(v, "gateway.timeouts_504"), sent);
    assert_eq!(f(v, "requests.other_failed"), sent);
    assert!(f(v, "tokens.wasted_completion") > 0.0);
    // Without the gateway timeout they succeed.
    let none = run_text(&format!("{long}\n{GW}\n{client}"));
    assert_eq!(f(&none["variants"][0], "requests.failed"), 0.0);
    // Streaming: the timeout bounds the first token only.
    let streaming = long.replace("max_tokens = 4000", "max_tokens = 4000\nstreaming = true");
    let doc = run_text(&format!("{streaming}\n{gw}\n{client}"));
    assert_eq!(f(&doc["variants"][0], "gateway.timeouts_504"), 0.0);
    // 504 is in the SDK's default retry statuses: each 504 is retried.
    let doc = run_text(&format!("{long}\n{gw}\n[client]\nmax_retries = 1\n"));
    let v = &doc["variants"][0];
    assert_eq!(f(v, "gateway.timeouts_504"), 2.0 * sent);
    assert_eq!(f(v, "requests.client_retries"), sent);
}

#[test]
fn bad_gateway_policy_keys_are_named() {
    let err = |text: &str| {
        spillway::scenario::parse(text, "g.toml", &[], None)
            .unwrap_err()
            .to_string()
    };
    let e = err(&with(&gw("max_tokens = 0")));
    assert!(e.contains("gateway.max_tokens"), "{e}");
    let e = err(&with(&gw("timeout = \"0s\"")));
    assert!(e.contains("gateway.timeout"), "{e}");
    let e = err(&with(&format!(
        "{GW}\n[gateway.token_limit]\ntokens_per_minute = 100\nkey = \"user\"\n"
    )));
    assert!(
        e.contains("gateway.token_limit.key") && e.contains("class, all"),
        "{e}"
    );
    let e = err(&with(&format!(
        "{GW}\n[gateway.token_quota]\ntokens = 100\nperiod = \"0s\"\n"
    )));
    assert!(e.contains("gateway.token_quota.period"), "{e}");
    let e = err(&with(&format!("{GW}\n[gateway.cache]\nhit_ratio = 1.5\n")));
    assert!(e.contains("gateway.cache.hit_ratio"), "{e}");
}
