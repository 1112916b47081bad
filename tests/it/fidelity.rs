//! The service as users live it (issue 10): flows with parallel steps, the session-time
//! breakdown, per-attempt speed, prompt caching and load-dependent serving, end to end.

use serde_json::Value;
use spillway::engine::{Outcome, RequestRecord, RequestSink, simulate};
use spillway::output::Exporter;
use spillway::runner;

const BASE: &str = r#"
[scenario]
name = "fidelity"
duration = "20m"
drain = "30m"
seed = 3
[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "gpt-4o-mini"
tpm = 2_000_000
[[deployment]]
name = "d"
kind = "standard"
model = "gpt-4o-mini"
pool = "p"
tpm = 2_000_000
[workload]
arrival = "poisson"
rate_per_min = 6
"#;

#[derive(Default)]
struct Collect(Vec<RequestRecord>);
impl RequestSink for Collect {
    fn record(&mut self, r: &RequestRecord) {
        self.0.push(*r);
    }
}

fn summary(text: &str) -> Value {
    let set = crate::parse(text);
    let chosen = runner::select(&set, &[]).unwrap();
    let runs = runner::run_variants(&chosen, |_| Ok(None)).unwrap();
    serde_json::from_str(&spillway::output::json::Json.render(&runner::summary(&set, &runs)))
        .unwrap()
}

const FAN_OUT: &str = r#"
[[workload.class]]
name = "agent"
prompt_tokens = 2_000
completion_tokens = { dist = "uniform", min = 100, max = 600 }
[[workload.class.step]]
name = "plan"
think_time_s = 1
[[workload.class.step]]
name = "search"
parallel = 4
group = "research"
[[workload.class.step]]
name = "lookup"
group = "research"
completion_tokens = 50
[[workload.class.step]]
name = "answer"
"#;

#[test]
fn a_parallel_stage_runs_at_once_and_the_session_waits_for_its_slowest_call() {
    let set = crate::parse(&format!("{BASE}{FAN_OUT}"));
    let mut recs = Collect::default();
    let m = simulate(&set.variants[0], Some(&mut recs));
    assert!(m.sessions_completed > 50, "{}", m.sessions_completed);
    assert_eq!(m.failed, 0);
    let mut by_session: std::collections::BTreeMap<u64, Vec<RequestRecord>> = Default::default();
    for r in &recs.0 {
        by_session.entry(r.session).or_default().push(*r);
    }
    let mut checked = 0;
    for rs in by_session.values().filter(|rs| rs.len() == 7) {
        let mut rs = rs.clone();
        rs.sort_by_key(|r| r.step);
        // Calls 1..=5 are the research stage: sent together after plan + 1 s of thinking.
        let stage_start = rs[1].start;
        assert!(rs[1..6].iter().all(|r| r.start == stage_start));
        assert_eq!(
            stage_start,
            rs[0].end + spillway::time::SimTime::from_secs(1)
        );
        // The answer starts when the slowest research call ends (no think time after it).
        let slowest = rs[1..6].iter().map(|r| r.end).max().unwrap();
        assert_eq!(rs[6].start, slowest);
        assert!(rs.iter().all(|r| r.outcome == Outcome::Succeeded));
        checked += 1;
    }
    assert!(checked > 50, "{checked}");
}

#[test]
fn the_session_time_breakdown_adds_up_to_the_mean_session_duration() {
    let doc = summary(&format!("{BASE}{FAN_OUT}"));
    let s = &doc["variants"][0]["sessions"];
    let b = &s["time_breakdown_ms"];
    let parts: f64 = ["think", "waiting", "queued", "prefill", "generating"]
        .iter()
        .map(|k| b[k].as_f64().unwrap())
        .sum();
    let mean = s["duration_ms"]["mean"].as_f64().unwrap();
    assert!((parts - mean).abs() < 0.01 * mean, "{parts} vs {mean}: {b}");
    assert!((b["think"].as_f64().unwrap() - 1000.0).abs() < 1e-6, "{b}");
    assert!(b["generating"].as_f64().unwrap() > b["prefill"].as_f64().unwrap());
}

#[test]
fn retries_are_served_at_fresh_speeds_so_a_timed_out_call_can_succeed_on_retry() {
    // A 20 s client timeout against answers that take ~18-25 s at the mean speed: with one
    // speed per call, a call that times out times out on every retry; with a fresh speed per
    // attempt, some retries succeed.
    let class = r#"
[client]
timeout = "20s"
max_retries = 3
[[workload.class]]
name = "long"
prompt_tokens = 500
completion_tokens = 2_400
"#;
    let fresh = summary(&format!("{BASE}{class}"));
    let same = summary(&format!(
        "{BASE}{class}\n[models.\"gpt-4o-mini\"]\nfresh_speed_per_attempt = false\n"
    ));
    let failed = |d: &Value| d["variants"][0]["requests"]["timed_out"].as_u64().unwrap();
    let sent = |d: &Value| d["variants"][0]["requests"]["sent"].as_u64().unwrap();
    assert_eq!(sent(&fresh), sent(&same), "the same calls in both");
    assert!(failed(&same) > 0);
    assert!(
        failed(&fresh) < failed(&same),
        "fresh {} vs same {}",
        failed(&fresh),
        failed(&same)
    );
}

#[test]
fn caching_a_shared_prefix_cuts_ttft_and_cost_and_is_reported() {
    let class = |share: &str| {
        format!(
            "{BASE}\n[models.\"gpt-4o-mini\"]\nprice_cached_input_per_1m = 0.075\n[[workload.class]]\nname = \"c\"\nprompt_tokens = 20_000\ncompletion_tokens = 100\ncached_prompt_share = {share}\n"
        )
    };
    let none = summary(&class("0"));
    let most = summary(&class("{ dist = \"uniform\", min = 0.7, max = 0.9 }"));
    let v = |d: &Value, p: &str| {
        p.split('.')
            .fold(&d["variants"][0], |x, k| &x[k])
            .as_f64()
            .unwrap()
    };
    assert_eq!(v(&none, "tokens.cached_prompt"), 0.0);
    let share = v(&most, "tokens.cached_prompt") / v(&most, "tokens.prompt");
    assert!((share - 0.8).abs() < 0.01, "{share}");
    assert!(v(&most, "latency_ms.ttft.p50") < 0.5 * v(&none, "latency_ms.ttft.p50"));
    assert!(v(&most, "cost_usd.tokens") < 0.7 * v(&none, "cost_usd.tokens"));
    assert!(v(&most, "cost_usd.cache_savings") > 0.0);
    // Caching draws from the call's own stream: both variants saw the same calls.
    assert_eq!(v(&most, "tokens.prompt"), v(&none, "tokens.prompt"));
}

#[test]
fn a_ptu_is_billed_while_it_serves_the_drain() {
    let text = r#"
[scenario]
name = "ptu-bill"
duration = "10m"
drain = "1h"
[[deployment]]
name = "ptu"
kind = "provisioned"
model = "gpt-4o-mini"
region = "r"
ptu = 15
ptu_price_per_hour = 2.0
[workload]
arrival = "constant"
rate_per_min = 1
[[workload.class]]
name = "slow"
steps = 3
prompt_tokens = 100
completion_tokens = 100
think_time_s = 600
"#;
    let doc = summary(text);
    let v = &doc["variants"][0];
    let span_h = v["sim"]["span_s"].as_f64().unwrap() / 3600.0;
    assert!(
        span_h > 10.0 / 60.0,
        "sessions outlive the duration: {span_h} h"
    );
    let ptu = v["cost_usd"]["ptu"].as_f64().unwrap();
    assert!(
        (ptu - 15.0 * 2.0 * span_h).abs() < 1e-3,
        "{ptu} vs {}",
        30.0 * span_h
    );
}
