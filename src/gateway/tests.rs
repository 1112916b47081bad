use super::*;
use crate::rng::{Stream, stream};
use proptest::prelude::*;

fn s(x: u64) -> SimTime {
    SimTime::from_secs(x)
}

fn spec(rule: TripRule) -> BreakerSpec {
    BreakerSpec {
        statuses: StatusSet(vec![(429, 429), (500, 599)]),
        rule,
        interval: s(10),
        trip_duration: s(30),
        accept_retry_after: false,
        retry_after_cap: None,
    }
}

const FAR: SimTime = SimTime::MAX;

#[test]
fn status_sets_parse_singles_and_ranges() {
    assert_eq!(StatusSet::parse_entry("429"), Ok((429, 429)));
    assert_eq!(StatusSet::parse_entry("500-599"), Ok((500, 599)));
    assert!(StatusSet::parse_entry("599-500").is_err());
    assert!(StatusSet::parse_entry("99").is_err());
    assert!(StatusSet::parse_entry("abc").is_err());
    let set = StatusSet(vec![(429, 429), (500, 599)]);
    assert!(set.contains(429) && set.contains(503) && !set.contains(408) && !set.contains(200));
}

#[test]
fn policy_names_round_trip() {
    for (name, p) in Policy::ALL {
        assert_eq!(Policy::from_name(name), Some(p));
        assert_eq!(p.name(), name);
    }
    assert_eq!(Policy::from_name("fastest"), None);
}

#[test]
fn count_breaker_trips_on_the_nth_failure_within_the_interval() {
    let sp = spec(TripRule::Count(3));
    let mut b = Breaker::default();
    assert!(!b.on_result(&sp, s(0), 503, None, FAR));
    assert!(!b.on_result(&sp, s(1), 200, None, FAR));
    assert!(!b.on_result(&sp, s(2), 500, None, FAR));
    // The first failure left the 10 s interval at t = 10: only two remain.
    assert!(!b.on_result(&sp, s(11), 429, None, FAR));
    assert!(b.available(s(11)));
    // At 11.5 s the failures at 2, 11 and 11.5 s are within 10 s: the third trips it.
    let t = SimTime::from_millis(11_500);
    assert!(b.on_result(&sp, t, 502, None, FAR));
    assert_eq!(b.state(), BreakerState::Open { until: t + s(30) });
    assert!(!b.available(t + s(29)));
    assert!(b.available(t + s(30)));
    assert_eq!(b.blocked_until(), t + s(30));
    assert_eq!(b.trips, 1);
    assert_eq!(b.open_time, s(30));
    // Statuses outside the set never count.
    let mut c = Breaker::default();
    for t in 0..10 {
        assert!(!c.on_result(&sp, s(t), 408, None, FAR));
    }
}

#[test]
fn half_open_probe_closes_or_reopens() {
    let sp = spec(TripRule::Count(1));
    let mut b = Breaker::default();
    assert!(b.on_result(&sp, s(0), 500, None, FAR));
    assert!(b.available(s(30)));
    b.on_forward(&sp, s(30));
    assert_eq!(b.state(), BreakerState::HalfOpen { probe_until: s(60) });
    // One probe at a time.
    assert!(!b.available(s(31)));
    // An answer to a forward sent before the trip does not count while open; the probe's does.
    assert!(b.on_result(&sp, s(32), 503, None, FAR));
    assert_eq!(b.state(), BreakerState::Open { until: s(62) });
    assert_eq!(b.trips, 2);
    b.on_forward(&sp, s(62));
    assert!(!b.on_result(&sp, s(63), 200, None, FAR));
    assert_eq!(b.state(), BreakerState::Closed);
    // A probe that never answers: another goes after trip_duration.
    assert!(b.on_result(&sp, s(100), 500, None, FAR));
    b.on_forward(&sp, s(130));
    assert!(!b.available(s(159)));
    assert!(b.available(s(160)));
}

#[test]
fn accepted_retry_after_replaces_the_trip_duration_up_to_its_cap() {
    let mut sp = spec(TripRule::Count(1));
    let mut b = Breaker::default();
    b.on_result(&sp, s(0), 429, Some(s(86_400)), FAR);
    assert_eq!(b.blocked_until(), s(30), "not accepted: trip_duration");
    sp.accept_retry_after = true;
    let mut b = Breaker::default();
    b.on_result(&sp, s(0), 429, Some(s(86_400)), s(3600));
    assert_eq!(b.blocked_until(), s(86_400), "uncapped: a day open");
    assert_eq!(b.open_time, s(3600), "open time is capped at the horizon");
    sp.retry_after_cap = Some(s(60));
    let mut b = Breaker::default();
    b.on_result(&sp, s(0), 429, Some(s(86_400)), FAR);
    assert_eq!(b.blocked_until(), s(60));
    let mut b = Breaker::default();
    b.on_result(&sp, s(0), 503, None, FAR);
    assert_eq!(b.blocked_until(), s(30), "no Retry-After: trip_duration");
}

#[test]
fn percentage_breaker_needs_its_minimum_of_answers() {
    let sp = spec(TripRule::Percent {
        percent: 50.0,
        min_requests: 4,
    });
    let mut b = Breaker::default();
    assert!(!b.on_result(&sp, s(0), 500, None, FAR)); // 1/1 but below the minimum
    assert!(!b.on_result(&sp, s(1), 200, None, FAR));
    assert!(!b.on_result(&sp, s(2), 200, None, FAR));
    assert!(b.on_result(&sp, s(3), 500, None, FAR)); // 2/4 = 50%
}

fn pick(policy: Policy, cands: &[usize], load: &[Load], cursor: &mut usize) -> usize {
    let mut rng = stream(1, Stream::Gateway, 0);
    choose(
        policy,
        SimTime::ZERO,
        cands,
        &[1.0; 8],
        load,
        cursor,
        &mut rng,
    )
}

#[test]
fn round_robin_rotates_and_skips_the_unavailable() {
    let load = [Load::default(); 4];
    let mut cur = 0;
    let picks: Vec<usize> = (0..6)
        .map(|_| pick(Policy::RoundRobin, &[0, 1, 2, 3], &load, &mut cur))
        .collect();
    assert_eq!(picks, [0, 1, 2, 3, 0, 1]);
    // Backend 2 unavailable: 1 is followed by 3.
    let mut cur = 2;
    assert_eq!(pick(Policy::RoundRobin, &[0, 1, 3], &load, &mut cur), 3);
    assert_eq!(pick(Policy::RoundRobin, &[0, 1, 3], &load, &mut cur), 0);
}

#[test]
fn priority_takes_the_first_candidate() {
    let load = [Load::default(); 4];
    let mut cur = 3;
    assert_eq!(pick(Policy::Priority, &[1, 3], &load, &mut cur), 1);
}

#[test]
fn least_outstanding_and_least_utilized_take_the_minimum() {
    let mut load = [Load::default(); 3];
    load[0].outstanding = 5;
    load[1].outstanding = 2;
    load[2].outstanding = 7;
    let mut cur = 0;
    assert_eq!(
        pick(Policy::LeastOutstanding, &[0, 1, 2], &load, &mut cur),
        1
    );
    // Ties rotate.
    let tied = [Load::default(); 3];
    let mut cur = 0;
    let picks: Vec<usize> = (0..3)
        .map(|_| pick(Policy::LeastOutstanding, &[0, 1, 2], &tied, &mut cur))
        .collect();
    assert_eq!(picks, [0, 1, 2]);
    let mut load = [Load::default(); 3];
    for (b, u) in [(0, 0.9), (1, 0.2), (2, 0.5)] {
        load[b].utilization = u;
        load[b].utilization_until = SimTime::MAX;
    }
    let mut cur = 0;
    assert_eq!(pick(Policy::LeastUtilized, &[0, 1, 2], &load, &mut cur), 1);
    // A stale report counts as idle.
    load[0].utilization_until = SimTime::ZERO;
    assert_eq!(pick(Policy::LeastUtilized, &[0, 1, 2], &load, &mut cur), 0);
}

#[test]
fn lowest_latency_tries_unobserved_backends_first_then_the_fastest() {
    let mut load = [Load::default(); 3];
    load[0].observe_latency(500.0, 0.5);
    load[1].observe_latency(300.0, 0.5);
    let mut cur = 0;
    assert_eq!(pick(Policy::LowestLatency, &[0, 1, 2], &load, &mut cur), 2);
    load[2].observe_latency(400.0, 0.5);
    assert_eq!(pick(Policy::LowestLatency, &[0, 1, 2], &load, &mut cur), 1);
    // EWMA: 300 + 0.5 * (1300 - 300) = 800.
    load[1].observe_latency(1300.0, 0.5);
    assert_eq!(load[1].latency_ewma_ms, 800.0);
    assert_eq!(pick(Policy::LowestLatency, &[0, 1, 2], &load, &mut cur), 2);
}

#[test]
fn random_weighted_and_power_of_two_follow_their_distributions() {
    let mut rng = stream(3, Stream::Gateway, 0);
    let load = [Load::default(); 3];
    let weights = [1.0, 3.0, 0.0];
    let mut counts = [0u32; 3];
    let mut cur = 0;
    let n = 40_000;
    for _ in 0..n {
        counts[choose(
            Policy::Weighted,
            SimTime::ZERO,
            &[0, 1, 2],
            &weights,
            &load,
            &mut cur,
            &mut rng,
        )] += 1;
    }
    assert_eq!(counts[2], 0);
    let share = counts[1] as f64 / n as f64;
    assert!((share - 0.75).abs() < 0.01, "{share}");
    let mut counts = [0u32; 3];
    for _ in 0..n {
        counts[choose(
            Policy::Random,
            SimTime::ZERO,
            &[0, 1, 2],
            &[1.0; 3],
            &load,
            &mut cur,
            &mut rng,
        )] += 1;
    }
    for c in counts {
        assert!((c as f64 / n as f64 - 1.0 / 3.0).abs() < 0.01, "{counts:?}");
    }
    // Power of two: the busiest of three is never picked (it loses every pair it is in);
    // the idlest wins every pair it is in (2/3 of pairs).
    let mut load = [Load::default(); 3];
    load[0].outstanding = 9;
    load[1].outstanding = 1;
    load[2].outstanding = 4;
    let mut counts = [0u32; 3];
    for _ in 0..n {
        counts[choose(
            Policy::PowerOfTwo,
            SimTime::ZERO,
            &[0, 1, 2],
            &[1.0; 3],
            &load,
            &mut cur,
            &mut rng,
        )] += 1;
    }
    assert_eq!(counts[0], 0);
    assert!(
        (counts[1] as f64 / n as f64 - 2.0 / 3.0).abs() < 0.01,
        "{counts:?}"
    );
    // One candidate: it, without a draw.
    assert_eq!(
        choose(
            Policy::PowerOfTwo,
            SimTime::ZERO,
            &[2],
            &[1.0; 3],
            &load,
            &mut cur,
            &mut rng
        ),
        2
    );
}

/// A slow reference of the count rule: failures among all answers recorded since the last
/// trip (or close) within the interval ending now.
fn reference_failures(log: &[(SimTime, bool)], now: SimTime, interval: SimTime) -> u32 {
    log.iter()
        .filter(|(t, f)| *f && *t + interval > now)
        .count() as u32
}

proptest! {
    #![proptest_config(crate::testkit::proptest_config(512))]
    /// Random answers at random times: the breaker trips exactly when the reference count
    /// reaches the threshold, never lets a forward through while open, and its open time is
    /// the sum of its trip spans.
    #[test]
    fn breaker_matches_a_reference(
        steps in proptest::collection::vec((0u64..4_000, 0u8..4, any::<bool>()), 1..300),
        threshold in 1u32..5,
        accept in any::<bool>(),
    ) {
        let mut sp = spec(TripRule::Count(threshold));
        sp.accept_retry_after = accept;
        sp.retry_after_cap = Some(s(45));
        let mut b = Breaker::default();
        let mut now = SimTime::ZERO;
        let mut log: Vec<(SimTime, bool)> = Vec::new();
        let mut open_total = SimTime::ZERO;
        let mut trips = 0u64;
        for (dt_ms, kind, with_ra) in steps {
            now += SimTime::from_millis(dt_ms);
            let status = [200u16, 429, 503, 408][kind as usize];
            let ra = with_ra.then_some(s(90));
            let before = b.state();
            if b.available(now) {
                b.on_forward(&sp, now);
                let ok = matches!(b.state(), BreakerState::Closed | BreakerState::HalfOpen { .. });
                prop_assert!(ok, "a forward leaves the breaker closed or half-open");
            } else {
                // Blocked: nothing goes, nothing is answered.
                let blocked = matches!(before, BreakerState::Open { until } if now < until)
                    || matches!(before, BreakerState::HalfOpen { probe_until } if now < probe_until);
                prop_assert!(blocked, "unavailable only while open or probing");
                continue;
            }
            let was_half_open = matches!(b.state(), BreakerState::HalfOpen { .. });
            let failed = sp.statuses.contains(status);
            let tripped = b.on_result(&sp, now, status, ra, FAR);
            if was_half_open {
                prop_assert_eq!(tripped, failed);
                log.clear();
            } else {
                log.push((now, failed));
                let expected = failed && reference_failures(&log, now, sp.interval) >= threshold;
                prop_assert_eq!(tripped, expected);
                if tripped {
                        log.clear();
                }
            }
            if tripped {
                trips += 1;
                let span = if accept && ra.is_some() { s(45) } else { s(30) };
                prop_assert_eq!(b.state(), BreakerState::Open { until: now + span });
                open_total += span;
            }
        }
        prop_assert_eq!(b.trips, trips);
        prop_assert_eq!(b.open_time, open_total);
    }
}

proptest! {
    #![proptest_config(crate::testkit::proptest_config(512))]
    /// Throttling marks: random backends (priority groups, marks, tries, loads) and random
    /// times, every policy: a backend marked throttled until T is never chosen before T, and
    /// from T on it is chosen again when it is the best (the only backend of the best
    /// priority group, or the first in list order under `priority`). Each instance keeps its
    /// own marks and rotation across the sequence of picks.
    #[test]
    fn throttled_backends_are_skipped_until_their_mark_ends(
        backends in proptest::collection::vec((1u32..4, 0u64..120, 0u32..5, 0u8..10), 1..10),
        picks in proptest::collection::vec((0u64..150, any::<u64>()), 1..40),
    ) {
        let list: Vec<usize> = (0..backends.len()).collect();
        let bs: Vec<Backend> = backends
            .iter()
            .map(|&(priority, ..)| Backend { deployment: 0, priority, weight: 1.0 })
            .collect();
        let marks: Vec<SimTime> = backends.iter().map(|&(_, t, ..)| s(t)).collect();
        let load: Vec<Load> = backends
            .iter()
            .map(|&(_, _, out, util)| Load {
                outstanding: out,
                latency_ewma_ms: util as f64 * 100.0,
                observed: util % 3 != 0,
                utilization: util as f64 / 10.0,
                utilization_until: FAR,
            })
            .collect();
        let weights = vec![1.0; bs.len()];
        for (_, policy) in Policy::ALL {
            let mut rng = stream(7, Stream::Gateway, 0);
            let mut cursor = 0usize;
            for &(t, tried) in &picks {
                let now = s(t);
                let tried = tried & ((1u64 << bs.len()) - 1);
                let mut out = [0usize; 64];
                let a = available(&list, &bs, None, &marks, tried, now, &mut out);
                let free: Vec<usize> = list.iter().copied().filter(|&b| now >= marks[b]).collect();
                prop_assert_eq!(a.n == 0, free.is_empty());
                prop_assert_eq!(a.throttled, free.len() < bs.len());
                if a.n == 0 {
                    // The gateway answers itself until the first mark ends.
                    let first = marks.iter().copied().min().unwrap();
                    prop_assert_eq!(a.unblock, first);
                    prop_assert!(a.unblock > now);
                    continue;
                }
                let b = choose(policy, now, &out[..a.n], &weights, &load, &mut cursor, &mut rng);
                prop_assert!(now >= marks[b], "{:?} chose {} marked until {:?} at {:?}", policy, b, marks[b], now);
                // The best group among the unmarked backends, untried ones only when any
                // is left (the engine's retry order).
                let untried: Vec<usize> =
                    free.iter().copied().filter(|&x| tried & (1 << x) == 0).collect();
                let eligible = if untried.is_empty() { &free } else { &untried };
                let best = eligible.iter().map(|&x| bs[x].priority).min().unwrap();
                prop_assert_eq!(bs[b].priority, best);
                let group: Vec<usize> =
                    eligible.iter().copied().filter(|&x| bs[x].priority == best).collect();
                prop_assert_eq!(&out[..a.n], &group[..]);
                if group.len() == 1 || policy == Policy::Priority {
                    prop_assert_eq!(b, group[0], "the best backend");
                }
            }
        }
    }

    /// One backend alone in the best group, marked until T: before T the others (or the
    /// gateway itself) answer; at and after T every policy picks it again.
    #[test]
    fn a_mark_ends_at_its_time_for_every_policy(
        others in 0usize..6,
        until in 1u64..600,
        before in 0u64..600,
        after in 0u64..600,
    ) {
        let n = others + 1;
        let list: Vec<usize> = (0..n).collect();
        let bs: Vec<Backend> = (0..n)
            .map(|i| Backend { deployment: i, priority: if i == 0 { 1 } else { 2 }, weight: 1.0 })
            .collect();
        let mut marks = vec![SimTime::ZERO; n];
        marks[0] = s(until);
        let load = vec![Load::default(); n];
        let weights = vec![1.0; n];
        for (_, policy) in Policy::ALL {
            let mut rng = stream(3, Stream::Gateway, 0);
            let mut cursor = 0usize;
            let mut out = [0usize; 64];
            let early = s(before % until);
            let a = available(&list, &bs, None, &marks, 0, early, &mut out);
            if others == 0 {
                prop_assert_eq!(a.n, 0);
                prop_assert_eq!(a.unblock, s(until));
            } else {
                let b = choose(policy, early, &out[..a.n], &weights, &load, &mut cursor, &mut rng);
                prop_assert!(b != 0, "{:?} chose the marked backend before its mark ended", policy);
            }
            let late = s(until + after);
            let a = available(&list, &bs, None, &marks, 0, late, &mut out);
            let b = choose(policy, late, &out[..a.n], &weights, &load, &mut cursor, &mut rng);
            prop_assert_eq!(b, 0, "{:?} did not return to the best backend after its mark", policy);
        }
    }
}
