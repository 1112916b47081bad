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
        step: 0,
        model: 0,
        prompt,
        cached: 0,
        want,
        max_tokens,
        streaming,
        speed_z: 0.0,
        key: 0,
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
    admit_try(
        deps,
        q,
        d,
        c,
        Try {
            slot,
            attempt: 0,
            now,
            timers: TIMERS,
        },
    )
}

/// Deployment `d` answers attempt `at` of `c` (a new client attempt of its slot).
fn admit_try(
    deps: &mut Deployments,
    q: &mut EventQueue<Ev>,
    d: usize,
    c: &Call,
    at: Try,
) -> Result<Admitted, Reject> {
    deps.new_client_attempt(at.slot);
    deps.admit(&at, d, c, false, q, None)
}

/// Attempt `attempt` of slot 0 at time zero under `timers`.
fn at_zero(attempt: u32, timers: Timers) -> Try {
    Try {
        slot: 0,
        attempt,
        now: SimTime::ZERO,
        timers,
    }
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
    // Slot 0 starts at once; slot 1 waits (its deadline is scheduled, its prefill is not).
    // Slot 0's first token can be observed by nothing (no deadline), so it has no pre-fill
    // event; slot 1, whose deadline is pending, has one, once slot 0 is done.
    let mut prefills = Vec::new();
    let mut deadlines = Vec::new();
    let mut done_at = Vec::new();
    while let Some((t, ev)) = q.pop() {
        match ev {
            Ev::PrefillDone { slot, attempt } => {
                assert!(deps.is_prefilling(slot, attempt));
                prefills.push((slot, t));
                deps.prefill_done(slot, t, &mut q);
            }
            Ev::DecodeFinish { slot, attempt } => {
                assert!(deps.is_decoding(slot, attempt));
                let done = deps.complete(slot, t, &mut q, None);
                assert_eq!(done.tokens, 100);
                assert!(deps.is_idle(slot));
                done_at.push((slot, done.served, t));
            }
            Ev::Deadline { slot, attempt } => deadlines.push((slot, attempt)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(done_at.len(), 2, "{done_at:?}");
    let (first_end, second_served) = (done_at[0].2, done_at[1].1);
    assert_eq!(
        (done_at[0].0, done_at[1].0, second_served),
        (0, 1, first_end),
        "the queued attempt starts once the first is done"
    );
    assert_eq!(prefills.len(), 1, "{prefills:?}");
    assert_eq!(
        prefills[0].0, 1,
        "only the queued attempt has a pre-fill event"
    );
    assert!(prefills[0].1 > first_end);
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
    admit_try(&mut deps, &mut q, 0, &c, at_zero(0, short)).unwrap();
    let kinds: Vec<Ev> = std::iter::from_fn(|| {
        let (t, ev) = q.pop()?;
        match ev {
            Ev::PrefillDone { slot, .. } => deps.prefill_done(slot, t, &mut q),
            Ev::DecodeFinish { slot, .. } => {
                // The first token recorded at admission is the pre-fill time.
                let done = deps.complete(slot, t, &mut q, None);
                let serving = &sc.deployments[0].serving;
                assert_eq!(done.first_token, prefill_time(serving, 100));
            }
            _ => {}
        }
        Some(ev)
    })
    .collect();
    assert!(
        matches!(kinds[..], [Ev::DecodeFinish { .. }]),
        "nothing observes the first token, so the end is the one event: {kinds:?}"
    );
    // Speed that depends on concurrency: the end is not known at admission, but it is
    // bounded (decoding at the curve's slowest speed, 0.5 here, all along).
    let text =
        format!("{STANDARD}\n[models.\"gpt-4o-mini\"]\nspeed_curve = [[1.0, 1.0], [10.0, 0.5]]\n");
    let sc = scenario(&text);
    let serving = &sc.deployments[0].serving;
    let run = |c: &Call, timers: Timers| {
        let mut q = EventQueue::default();
        let mut deps = Deployments::new(&sc, &mut q, false);
        admit_try(&mut deps, &mut q, 0, c, at_zero(0, timers)).unwrap();
        let mut seen = Vec::new();
        while let Some((t, ev)) = q.pop() {
            match ev {
                Ev::PrefillDone { slot, .. } => deps.prefill_done(slot, t, &mut q),
                Ev::DecodeDone { dep, .. } => {
                    deps.decode_due(dep as usize, t);
                    while let Some(slot) = deps.next_finished(dep as usize) {
                        deps.complete(slot, t, &mut q, None);
                    }
                    deps.reschedule_decode(dep as usize, t, &mut q);
                }
                Ev::Deadline { slot, attempt } => {
                    let live = deps.deadline_live(slot, attempt);
                    if live {
                        deps.expire(slot, t, &mut q, None);
                    }
                    seen.push((t, live));
                }
                _ => {}
            }
        }
        seen
    };
    // Streaming: the 5 s timeout bounds the first token only, known to come at ~0.3 s.
    assert_eq!(
        run(&c, short),
        vec![],
        "no deadline for a streaming first token known in time"
    );
    // 100 tokens: done within 0.3 s + 100 / (111 x 0.5) s = 2.1 s even at the slowest speed.
    assert_eq!(run(&call(100, 100, None, false), short), vec![]);
    // 20,000 tokens can take 360 s: the deadline is scheduled and ends the attempt at 5 s.
    assert_eq!(
        run(&call(100, 20_000, None, false), short),
        vec![(SimTime::from_secs(5), true)]
    );
    // A streaming first token that comes within a millisecond of the timeout keeps its
    // deadline; once the first token is out, the deadline no longer counts.
    let first = prefill_time(serving, 100);
    let tight = Timers {
        client: first + SimTime(500),
        gateway: None,
    };
    assert_eq!(run(&c, tight), vec![(first + SimTime(500), false)]);
}

/// Serves `c` as attempt `attempt` of its call on a fresh copy of `sc`'s deployment 0 at time
/// zero; returns (first token, end) of the attempt when nothing else runs.
fn serve_alone(sc: &Scenario, c: &Call, attempt: u32) -> (SimTime, SimTime) {
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(sc, &mut q, false);
    admit_try(&mut deps, &mut q, 0, c, at_zero(attempt, TIMERS)).unwrap();
    while let Some((t, ev)) = q.pop() {
        match ev {
            Ev::PrefillDone { slot, .. } => deps.prefill_done(slot, t, &mut q),
            Ev::DecodeFinish { slot, .. } => {
                return (deps.complete(slot, t, &mut q, None).first_token, t);
            }
            _ => {}
        }
    }
    panic!("the attempt did not finish")
}

#[test]
fn a_retry_is_served_at_a_fresh_speed_that_every_variant_shares() {
    let sc = scenario(STANDARD);
    let mut c = call(100, 2000, None, false);
    c.speed_z = 0.7;
    c.key = 12345;
    let first = serve_alone(&sc, &c, 0);
    let retry = serve_alone(&sc, &c, 1);
    let again = serve_alone(&sc, &c, 1);
    assert_ne!(first.1, retry.1, "attempt 1 draws its own speed");
    assert_eq!(
        retry, again,
        "the same attempt of the same call: the same speed"
    );
    assert_ne!(serve_alone(&sc, &c, 2).1, retry.1);
    // The old behaviour on request: one speed per call.
    let text = format!("{STANDARD}\n[models.\"gpt-4o-mini\"]\nfresh_speed_per_attempt = false\n");
    let same = scenario(&text);
    assert_eq!(serve_alone(&same, &c, 1), serve_alone(&same, &c, 0));
}

#[test]
fn ttft_grows_with_the_attempts_in_service_along_the_curve() {
    let text =
        format!("{STANDARD}\n[models.\"gpt-4o-mini\"]\nttft_curve = [[1.0, 1.0], [3.0, 2.0]]\n");
    let sc = scenario(&text);
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(&sc, &mut q, false);
    let c = call(1000, 10, Some(10), false);
    for slot in 0..3 {
        deps.new_client_attempt(slot);
        let at = Try {
            slot,
            attempt: 0,
            now: SimTime::ZERO,
            timers: TIMERS,
        };
        deps.admit(&at, 0, &c, false, &mut q, None).unwrap();
    }
    let alone = prefill_time(&sc.deployments[0].serving, 1000).as_secs_f64();
    let mut firsts = Vec::new();
    while let Some((t, ev)) = q.pop() {
        match ev {
            Ev::PrefillDone { slot, .. } => deps.prefill_done(slot, t, &mut q),
            Ev::DecodeFinish { slot, .. } => {
                let done = deps.complete(slot, t, &mut q, None);
                firsts.push((slot, done.first_token.as_secs_f64() / alone));
            }
            _ => {}
        }
    }
    firsts.sort_by_key(|f| f.0);
    assert_eq!(firsts.len(), 3, "{firsts:?}");
    // 1, 2 and 3 attempts in service when each starts: factors 1, 1.5 and 2.
    for (got, want) in firsts.iter().zip([1.0, 1.5, 2.0]) {
        assert!((got.1 - want).abs() < 1e-5, "{firsts:?}");
    }
}

#[test]
fn a_cached_prefix_is_neither_prefilled_nor_charged_to_the_ptu_and_is_billed_cheaper() {
    let mut c = call(5_000, 10, Some(10), false);
    let uncached = serve_alone(&scenario(STANDARD), &c, 0);
    c.cached = 4_000;
    let cached = serve_alone(&scenario(STANDARD), &c, 0);
    let serving = &scenario(STANDARD).deployments[0].serving;
    assert_eq!(uncached.0, prefill_time(serving, 5_000));
    assert_eq!(cached.0, prefill_time(serving, 1_000));
    // Standard billing: 1,000 input tokens at the input price, 4,000 at the cached price.
    let text = format!(
        "{STANDARD}\n[models.\"gpt-4o-mini\"]\nprice_input_per_1m = 1.0\nprice_cached_input_per_1m = 0.25\nprice_output_per_1m = 0.0\n"
    );
    let sc = scenario(&text);
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(&sc, &mut q, false);
    admit_try(&mut deps, &mut q, 0, &c, at_zero(0, TIMERS)).unwrap();
    while let Some((t, ev)) = q.pop() {
        match ev {
            Ev::PrefillDone { slot, .. } => deps.prefill_done(slot, t, &mut q),
            Ev::DecodeFinish { slot, .. } => {
                deps.complete(slot, t, &mut q, None);
            }
            _ => {}
        }
    }
    let m = &deps.totals().per_dep[0];
    assert!((m.token_cost_usd - (1_000.0 + 4_000.0 * 0.25) / 1e6).abs() < 1e-12);
    assert!((m.cache_savings_usd - 4_000.0 * 0.75 / 1e6).abs() < 1e-12);
    assert_eq!(m.cached_prompt_tokens, 4_000);
    // PTU: the estimate leaves the cached prefix out.
    let ptu = scenario(
        r#"
[[deployment]]
name = "ptu"
kind = "provisioned"
model = "gpt-4o-mini"
region = "r"
ptu = 15
"#,
    );
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(&ptu, &mut q, false);
    admit_try(&mut deps, &mut q, 0, &c, at_zero(0, TIMERS)).unwrap();
    // 1,000 uncached prompt tokens + ratio 4 x 10 max_tokens.
    assert_eq!(deps.totals().per_dep[0].charged_estimate, 1_040);
}

const PTU_SPILL: &str = r#"
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
rpm = 600
"#;

#[test]
fn when_the_spillover_target_rejects_too_the_client_sees_the_ptus_own_answer() {
    let sc = scenario(PTU_SPILL);
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(&sc, &mut q, false);
    // Fill the PTU past 100% (the 1 s bucket holds 9,250) and the standard window.
    admit(
        &mut deps,
        &mut q,
        0,
        0,
        &call(10_000, 10, Some(10), false),
        SimTime::ZERO,
    )
    .unwrap();
    admit(
        &mut deps,
        &mut q,
        1,
        1,
        &call(9_000, 10, Some(10), false),
        SimTime::ZERO,
    )
    .unwrap();
    let rej = admit(
        &mut deps,
        &mut q,
        2,
        0,
        &call(5_000, 10, Some(10), false),
        SimTime::ZERO,
    )
    .unwrap_err();
    // The PTU's 429: its Retry-After is when its bucket is back at 100%, not the standard
    // window's 60 s.
    assert_eq!(rej.status, 429);
    let at = rej.at.unwrap();
    assert!(at < SimTime::from_secs(2), "{at}");
    assert!(deps.spilled(2));
}

#[test]
fn a_prompt_over_the_context_window_gets_400_and_a_ptu_spills_it() {
    let sc = scenario(PTU_SPILL);
    let mut q = EventQueue::default();
    let mut deps = Deployments::new(&sc, &mut q, false);
    // gpt-4o-mini's context window: 128,000 tokens.
    let big = call(120_000, 10, Some(10_000), false);
    let rej = admit(&mut deps, &mut q, 0, 1, &big, SimTime::ZERO).unwrap_err();
    assert_eq!(
        rej,
        Reject {
            status: 400,
            at: None
        }
    );
    let rej = admit(&mut deps, &mut q, 1, 0, &big, SimTime::ZERO).unwrap_err();
    assert_eq!(rej.status, 400);
    assert!(deps.spilled(1), "the PTU forwarded its 400");
    let t = deps.totals();
    assert_eq!(
        (t.per_dep[0].rejected_400, t.per_dep[1].rejected_400),
        (1, 2)
    );
    assert_eq!(t.per_dep[1].spilled_in, 1);
}

#[test]
fn rejected_calls_count_against_the_request_window_but_not_the_token_window() {
    let text = STANDARD.replace("rpm = 600\n", "rpm = 60\ncount_rejected_requests = true\n");
    let c = call(4_000, 10, Some(1_000), false);
    let mut q = EventQueue::default();
    let sc = scenario(&text);
    let mut deps = Deployments::new(&sc, &mut q, false);
    admit(&mut deps, &mut q, 0, 0, &c, SimTime::ZERO).unwrap();
    admit(&mut deps, &mut q, 1, 0, &c, SimTime::from_secs(10)).unwrap();
    // 10,000 of 10,000 tokens used: rejected at 20 s, again at 21 s. The rejections are not
    // charged to the token window: room again when the first charge leaves it (60 s).
    let rej = admit(&mut deps, &mut q, 2, 0, &c, SimTime::from_secs(20)).unwrap_err();
    assert_eq!(rej.at, Some(SimTime::from_secs(60)));
    let rej = admit(&mut deps, &mut q, 2, 0, &c, SimTime::from_secs(21)).unwrap_err();
    assert_eq!(rej.at, Some(SimTime::from_secs(60)));
    // The request window counts them: 12 RPM is 2 requests per 10 s.
    let small = call(10, 10, Some(10), false);
    let requests = |counted: bool| {
        let extra = if counted {
            "count_rejected_requests = true\n"
        } else {
            ""
        };
        let sc = scenario(&STANDARD.replace("rpm = 600\n", &format!("rpm = 12\n{extra}")));
        let mut q = EventQueue::default();
        let mut deps = Deployments::new(&sc, &mut q, false);
        let s = SimTime::from_secs;
        admit(&mut deps, &mut q, 0, 0, &small, s(0)).unwrap();
        admit(&mut deps, &mut q, 1, 0, &small, s(1)).unwrap();
        let first = admit(&mut deps, &mut q, 2, 0, &small, s(2)).unwrap_err().at;
        let second = admit(&mut deps, &mut q, 2, 0, &small, s(3)).unwrap_err().at;
        (first.unwrap(), second.unwrap())
    };
    // Not counted: room again at 10 s when the 0 s request leaves. Counted: each rejection
    // holds a place too, so the Retry-After moves to 11 s, then 12 s.
    let s = SimTime::from_secs;
    assert_eq!(requests(false), (s(10), s(10)));
    assert_eq!(requests(true), (s(11), s(12)));
}
