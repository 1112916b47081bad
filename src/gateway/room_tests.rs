//! The gateway room's orchestration, without the engine: forwards, its own retries,
//! throttling marks, token limits and the cache, against a scripted admission.

use super::*;
use crate::deployment::Admitted;
use crate::scenario::{Scenario, parse};

fn scenario(gateway: &str) -> Scenario {
    let text = format!(
        r#"
[scenario]
name = "t"
duration = "10m"
[[pool]]
name = "a"
subscription = "a"
region = "r"
model = "gpt-4o-mini"
tpm = 100_000
[[pool]]
name = "b"
subscription = "b"
region = "r"
model = "gpt-4o-mini"
tpm = 100_000
[[deployment]]
name = "da"
kind = "standard"
model = "gpt-4o-mini"
pool = "a"
tpm = 100_000
[[deployment]]
name = "db"
kind = "standard"
model = "gpt-4o-mini"
pool = "b"
tpm = 100_000
[workload]
arrival = "poisson"
rate_per_min = 1
[[workload.class]]
name = "c"
prompt_tokens = 1000
completion_tokens = 500
[gateway]
policy = "priority"
{gateway}
[[gateway.backend]]
deployment = "da"
[[gateway.backend]]
deployment = "db"
"#
    );
    parse(&text, "t.toml", &[], None)
        .unwrap_or_else(|e| panic!("{e}"))
        .variants
        .remove(0)
}

fn gateway(sc: &Scenario) -> Gateway<'_> {
    let g = sc.gateway.as_ref().expect("a gateway");
    Gateway::new(g, &sc.models, 1, sc.seed, sc.duration)
}

fn call() -> Call {
    Call {
        class: 0,
        step: 0,
        model: 0,
        prompt: 1000,
        cached: 0,
        want: 500,
        max_tokens: None,
        streaming: false,
        speed_z: 0.0,
        key: 0,
    }
}

const THROTTLED: Reject = Reject {
    status: 429,
    at: Some(SimTime(7_000_000)),
};

/// Sends one client attempt at `now` against deployments answering from `answers`; returns
/// what the gateway did and the deployments tried, in order.
fn send(
    g: &mut Gateway,
    q: &mut EventQueue<Ev>,
    now: SimTime,
    answers: &[Result<(), Reject>],
) -> (Handled, Vec<usize>) {
    let mut tried = Vec::new();
    let mut admit = |_: &mut EventQueue<Ev>, d: usize, _: &Call, _: bool| {
        tried.push(d);
        answers[d].map(|()| Admitted { utilization: 0.0 })
    };
    g.on_request(0, &call());
    let h = g.receive(0, 1, &call(), now, q, &mut admit);
    (h, tried)
}

#[test]
fn a_fast_retry_goes_to_another_backend_at_once() {
    let sc = scenario("[gateway.retry]\ncount = 1\nfirst_fast_retry = true\n");
    let mut g = gateway(&sc);
    let mut q = EventQueue::default();
    let (h, tried) = send(&mut g, &mut q, SimTime::ZERO, &[Err(THROTTLED), Ok(())]);
    assert_eq!((h, tried), (Handled::Pending, vec![0, 1]));
    assert!(q.is_empty(), "nothing scheduled: the retry went at once");
    assert_eq!(g.failovers(), 1);
    let m = g.totals();
    assert_eq!(
        (m.retries, m.backends[0].failed, m.backends[1].admitted),
        (1, 1, 1)
    );
}

#[test]
fn without_retries_the_backends_answer_goes_back_to_the_client() {
    let sc = scenario("");
    let mut g = gateway(&sc);
    let mut q = EventQueue::default();
    let (h, tried) = send(&mut g, &mut q, SimTime::ZERO, &[Err(THROTTLED), Ok(())]);
    assert_eq!((h, tried), (Handled::Answer(THROTTLED), vec![0]));
}

#[test]
fn a_slow_retry_is_an_event_and_marks_keep_throttled_backends_out() {
    let sc = scenario(
        "[gateway.retry]\ncount = 1\ninterval = \"2s\"\nfirst_fast_retry = false\n[gateway.throttle]\non = [429]\n",
    );
    let mut g = gateway(&sc);
    let mut q = EventQueue::default();
    let (h, tried) = send(&mut g, &mut q, SimTime::ZERO, &[Err(THROTTLED), Ok(())]);
    assert_eq!((h, tried), (Handled::Pending, vec![0]));
    let (t, ev) = q.pop().expect("the retry is scheduled");
    assert_eq!(t, SimTime::from_secs(2));
    assert!(matches!(ev, Ev::GatewayRetry { slot: 0, key: 1 }));
    // Backend 0 is marked until its Retry-After (7 s): the next attempt skips it...
    let (h, tried) = send(&mut g, &mut q, SimTime::from_secs(3), &[Ok(()), Ok(())]);
    assert_eq!((h, tried), (Handled::Pending, vec![1]));
    // ... and when every backend is marked, the gateway answers 429 itself.
    let both = [Err(THROTTLED), Err(THROTTLED)];
    let (h, _) = send(&mut g, &mut q, SimTime::from_secs(4), &both);
    let mut admit =
        |_: &mut EventQueue<Ev>, _: usize, _: &Call, _: bool| -> Result<Admitted, Reject> {
            panic!("no backend is available")
        };
    assert_eq!(
        h,
        Handled::Pending,
        "backend 1 got the 429, retry scheduled"
    );
    let h = g.forward(0, 1, &call(), SimTime::from_secs(5), &mut q, &mut admit);
    assert_eq!(
        h,
        Handled::Answer(THROTTLED),
        "429 until the earliest mark ends"
    );
    assert_eq!(g.totals().rejected_429, 1);
}

#[test]
fn the_token_limit_answers_429_once_the_minute_is_spent() {
    let sc = scenario("[gateway.token_limit]\ntokens_per_minute = 3000\n");
    let mut g = gateway(&sc);
    let mut q = EventQueue::default();
    // Each call is estimated at 1,000 prompt + 648 default completion = 1,648 tokens.
    let (h, _) = send(&mut g, &mut q, SimTime::ZERO, &[Ok(()), Ok(())]);
    assert_eq!(h, Handled::Pending);
    let (h, tried) = send(&mut g, &mut q, SimTime::from_secs(1), &[Ok(()), Ok(())]);
    assert!(tried.is_empty());
    assert_eq!(
        h,
        Handled::Answer(Reject {
            status: 429,
            at: Some(SimTime::from_secs(60))
        })
    );
}

#[test]
fn a_cache_hit_answers_after_the_lookup_with_the_capped_tokens() {
    let sc =
        scenario("max_tokens = 200\n[gateway.cache]\nhit_ratio = 1.0\nlookup_latency = \"50ms\"\n");
    let mut g = gateway(&sc);
    let mut q = EventQueue::default();
    let (h, tried) = send(&mut g, &mut q, SimTime::ZERO, &[Ok(()), Ok(())]);
    assert_eq!((h, tried.len()), (Handled::Pending, 0));
    let (t, ev) = q.pop().unwrap();
    assert_eq!(t, SimTime::from_millis(50));
    assert!(matches!(ev, Ev::GatewayLookup { .. }));
    let mut admit =
        |_: &mut EventQueue<Ev>, _: usize, _: &Call, _: bool| -> Result<Admitted, Reject> {
            panic!("a hit reaches no backend")
        };
    let h = g.lookup_done(0, 1, &call(), t, &mut q, &mut admit);
    assert_eq!(h, Handled::Cached(200));
    let m = g.totals();
    assert_eq!((m.cache_hits, m.max_tokens_capped), (1, 1));
}
