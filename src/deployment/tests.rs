//! The deployment room's decisions, without the engine: admission sequences, spillover, the
//! concurrency queue and the completion window, driven by hand on a queue.

use super::*;
use crate::scenario::parse;

fn scenario(deployments: &str) -> Scenario {
    let text = format!(
        r#"
[scenario]
name = "t"
duration = "10m"
[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "gpt-4o-mini"
tpm = 10_000
rpm = 600
{deployments}
[workload]
arrival = "poisson"
rate_per_min = 1
[[workload.class]]
name = "c"
prompt_tokens = 1000
completion_tokens = 500
max_tokens = 1000
"#
    );
    parse(&text, "t.toml", &[], None)
        .unwrap_or_else(|e| panic!("{e}"))
        .variants
        .remove(0)
}

const STANDARD: &str = r#"
[[deployment]]
name = "std"
kind = "standard"
model = "gpt-4o-mini"
pool = "p"
tpm = 10_000
rpm = 600
"#;

fn call(prompt: u32, want: u32, max_tokens: Option<u32>, streaming: bool) -> Call {
    Call {
        class: 0,
        model: 0,
        prompt,
        want,
        max_tokens,
        streaming,
        speed_z: 0.0,
    }
}

const TIMERS: Timers = Timers {
    client: SimTime(600_000_000),
    gateway: None,
};

fn admit(
    deps: &mut Deployments,
    q: &mut EventQueue<Ev>,
    slot: u32,
    d: usize,
    c: &Call,
    now: SimTime,
) -> Result<Admitted, Reject> {
    deps.new_client_attempt(slot);
    deps.admit(slot, d, c, now, TIMERS, false, q, None)
}

#[test]
fn a_standard_window_admits_its_estimates_then_says_when_the_oldest_expires() {
    let sc = scenario(STANDARD);
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(&sc, &mut q, false);
    // Each call is charged prompt + max_tokens = 2,000 of the 10,000-token minute.
    let c = call(1000, 10, Some(1000), false);
    for (slot, s) in (0..5).zip([0u64, 1, 2, 3, 4]) {
        let now = SimTime::from_secs(s);
        assert!(
            admit(&mut deps, &mut q, slot, 0, &c, now).is_ok(),
            "call {slot}"
        );
    }
    let rej = admit(&mut deps, &mut q, 5, 0, &c, SimTime::from_secs(5)).unwrap_err();
    // The first charge (t = 0) leaves the 60 s window at t = 60 s.
    assert_eq!(
        rej,
        Reject {
            status: 429,
            at: Some(SimTime::from_secs(60))
        }
    );
    assert!(admit(&mut deps, &mut q, 5, 0, &c, SimTime::from_secs(60)).is_ok());
    let m = &deps.totals().per_dep[0];
    assert_eq!((m.attempts, m.admitted, m.rejected_429), (7, 6, 1));
    assert_eq!(m.charged_estimate, 12_000);
}

#[test]
fn without_max_tokens_the_model_default_estimate_is_charged() {
    let sc = scenario(STANDARD);
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(&sc, &mut q, false);
    // gpt-4o-mini's default completion estimate is 648 tokens [facts].
    admit(
        &mut deps,
        &mut q,
        0,
        0,
        &call(1000, 10, None, false),
        SimTime::ZERO,
    )
    .unwrap();
    assert_eq!(deps.totals().per_dep[0].charged_estimate, 1648);
}

#[test]
fn a_full_ptu_spills_to_its_standard_target() {
    let sc = scenario(
        r#"
[[deployment]]
name = "ptu"
kind = "provisioned"
model = "gpt-4o-mini"
region = "r"
ptu = 15
bucket_depth = "1s"
spillover = "std"
[[deployment]]
name = "std"
kind = "standard"
model = "gpt-4o-mini"
pool = "p"
tpm = 10_000
"#,
    );
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(&sc, &mut q, false);
    // 15 PTU x 37,000 = 555,000 per minute: a 1 s bucket holds 9,250. A 10,000-token call
    // fills it past 100%, so the next one is spilled.
    let big = call(10_000, 10, Some(10), false);
    admit(&mut deps, &mut q, 0, 0, &big, SimTime::ZERO).unwrap();
    assert!(!deps.spilled(0));
    let small = call(100, 10, Some(10), false);
    admit(&mut deps, &mut q, 1, 0, &small, SimTime::ZERO).unwrap();
    assert!(deps.spilled(1));
    let t = deps.totals();
    assert_eq!(t.spilled, 1);
    assert_eq!((t.per_dep[0].rejected_429, t.per_dep[1].spilled_in), (1, 1));
    assert_eq!(t.per_dep[1].admitted, 1);
}

#[test]
fn a_concurrency_cap_queues_and_a_finished_attempt_lets_the_next_start() {
    let mut text = STANDARD.to_string();
    text.push_str("max_concurrency = 1\n");
    let sc = scenario(&text);
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(&sc, &mut q, false);
    let c = call(100, 100, Some(100), false);
    admit(&mut deps, &mut q, 0, 0, &c, SimTime::ZERO).unwrap();
    admit(&mut deps, &mut q, 1, 0, &c, SimTime::ZERO).unwrap();
    // Slot 0 pre-fills; slot 1 waits (its deadline is scheduled, its prefill is not).
    let mut prefills = Vec::new();
    let mut deadlines = Vec::new();
    while let Some((t, ev)) = q.pop() {
        match ev {
            Ev::PrefillDone { slot, attempt } => {
                assert!(deps.is_prefilling(slot, attempt));
                prefills.push(slot);
                deps.prefill_done(slot, t, &mut q);
            }
            Ev::DecodeFinish { slot, attempt } => {
                assert!(deps.is_decoding(slot, attempt));
                let done = deps.complete(slot, t, &mut q, None);
                assert_eq!(done.tokens, 100);
                assert!(deps.is_idle(slot));
            }
            Ev::Deadline { slot, attempt } => deadlines.push((slot, attempt)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        prefills,
        vec![0, 1],
        "the queued attempt starts once the first is done"
    );
    assert_eq!(
        deadlines.len(),
        1,
        "only the queued attempt needs a deadline"
    );
}

#[test]
fn the_completion_window_ends_a_long_answer_with_408_and_counts_what_it_generated() {
    let mut text = STANDARD.to_string();
    text.push_str("completion_window = \"60s\"\n");
    let sc = scenario(&text);
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(&sc, &mut q, false);
    let serving = &sc.deployments[0].serving;
    let rate = serving.decode_tokens_per_s
        * SpeedVariation::new(serving.decode_variation_cv).multiplier(0.0);
    // Wants far more than 60 s of tokens.
    let c = call(100, 20_000, None, false);
    admit(&mut deps, &mut q, 0, 0, &c, SimTime::ZERO).unwrap();
    let mut first = SimTime::ZERO;
    loop {
        let (t, ev) = q.pop().expect("the window fires");
        match ev {
            Ev::PrefillDone { slot, .. } => {
                first = t;
                deps.prefill_done(slot, t, &mut q);
            }
            Ev::Deadline { slot, attempt } => {
                assert!(deps.deadline_live(slot, attempt));
                assert_eq!(t, SimTime::from_secs(60));
                let e = deps.expire(slot, t, &mut q, None);
                assert_eq!(e.kind, DeadlineKind::Server);
                let expect = ((t - first).as_secs_f64() * rate).floor() as u32;
                assert_eq!(e.generated, expect);
                break;
            }
            Ev::DecodeFinish { .. } => panic!("a 20,000-token answer cannot finish in 60 s"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(deps.is_idle(0));
    assert_eq!(deps.totals().per_dep[0].timed_out_408, 1);
}

#[test]
fn a_deadline_that_cannot_fire_is_not_scheduled_and_a_streaming_one_stops_at_the_first_token() {
    let short = Timers {
        client: SimTime::from_secs(5),
        gateway: None,
    };
    let c = call(100, 20_000, None, true);
    // Flat speed: the first token is known to come long before 5 s, so no deadline at all.
    let sc = scenario(STANDARD);
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(&sc, &mut q, false);
    deps.new_client_attempt(0);
    deps.admit(0, 0, &c, SimTime::ZERO, short, false, &mut q, None)
        .unwrap();
    let kinds: Vec<Ev> = std::iter::from_fn(|| {
        let (t, ev) = q.pop()?;
        if let Ev::PrefillDone { slot, .. } = ev {
            deps.prefill_done(slot, t, &mut q);
        }
        Some(ev)
    })
    .collect();
    assert!(
        matches!(kinds[..], [Ev::PrefillDone { .. }, Ev::DecodeFinish { .. }]),
        "{kinds:?}"
    );
    // Speed that depends on concurrency: the deadline is scheduled, and once the first token
    // is out it no longer counts.
    let text =
        format!("{STANDARD}\n[models.\"gpt-4o-mini\"]\nspeed_curve = [[1.0, 1.0], [10.0, 0.5]]\n");
    let sc = scenario(&text);
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(&sc, &mut q, false);
    deps.new_client_attempt(0);
    deps.admit(0, 0, &c, SimTime::ZERO, short, false, &mut q, None)
        .unwrap();
    let (t, ev) = q.pop().unwrap();
    let Ev::PrefillDone { slot, .. } = ev else {
        panic!("prefill first, got {ev:?}")
    };
    deps.prefill_done(slot, t, &mut q);
    let (_, ev) = q.pop().unwrap();
    let Ev::Deadline { slot, attempt } = ev else {
        panic!("deadline next, got {ev:?}")
    };
    assert!(!deps.deadline_live(slot, attempt));
}
