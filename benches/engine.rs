//! Criterion benches for the engine and its hot data structures (DESIGN.md section 8).
//!
//! - `engine/bench-10k-sessions`: the whole engine on `scenarios/bench-100k-sessions.toml` cut
//!   to 10,000 sessions (100,000 requests), throughput in live events (`RunMetrics.events`),
//!   so criterion's "elem/s" is events per second on one core. `bench-10k-sessions-speed-curve`
//!   is the same run with a load-dependent decode speed (the general processor-sharing path).
//!   `gateway` is `scenarios/gateway-strategies.toml`'s `round-robin` variant (a gateway with
//!   retries and injected faults in front of PTU and standard deployments) and `ptu` is
//!   `scenarios/timeouts-to-triumph.toml`'s `token-cap-streaming-spillover` variant (a PTU
//!   deployment with a completion window, streaming, spillover to standard).
//!   `scripts/callgrind-per-request.sh` counts the instructions of the same runs per request.
//! - `processor_sharing/*`: the O(log n) decode structure alone with 10, 100 and 1,000 jobs
//!   decoding (the bench scenario has ~35 per deployment): each iteration finds the next finish,
//!   advances to it, pops it and adds a new job, the steady state of a loaded deployment.
//! - `rolling_window/*`: the standard deployment's token window (60 s, 2M TPM): one check (and
//!   a charge when admitted) per iteration, below and above the limit.
//! - `event_queue/push_pop`: the future-event list alone, one pop and one push per iteration,
//!   with 1,000 pending events scheduled up to 10 s ahead (the bench scenario's think times and
//!   decode ends: they wait in the timing wheel's buckets), and 1,000, 6,000 and 60,000 pending
//!   up to 20 minutes ahead (most beyond the wheel's 33.5 s, in its far heap; 60,000 is a heap
//!   that no longer fits in L1/L2).
//!
//! Measurement times are short so that `cargo bench --bench engine` ends in a few minutes.
//! The benches use a tiny inline generator so that the workload of each bench is fixed.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spillway::deployment::{ProcessorSharing, RollingWindow};
use spillway::engine::{EventQueue, simulate};
use spillway::scenario;
use spillway::time::SimTime;

const BENCH_SCENARIO: &str = include_str!("../scenarios/bench-100k-sessions.toml");
const GATEWAY_SCENARIO: &str = include_str!("../scenarios/gateway-strategies.toml");
const PTU_SCENARIO: &str = include_str!("../scenarios/timeouts-to-triumph.toml");

/// SplitMix64: a fixed, fast stream of pseudo-random numbers for bench inputs.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A mild concurrency slowdown (15% at 100 requests decoding) for the second engine bench.
/// The built-in gpt-4o-mini curve is flat, which lets the engine skip most deadline events and
/// keeps decode rescheduling rare; with this curve every decode start and finish moves the
/// deployment's next finish, which is the general processor-sharing path.
const SPEED_CURVE: &str = "[[1.0, 1.0], [100.0, 0.85]]";

fn bench_engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let sessions = ("workload.sessions".to_string(), "10000".to_string());
    let curve = (
        r#"models."gpt-4o-mini".speed_curve"#.to_string(),
        SPEED_CURVE.to_string(),
    );
    let bench = (
        BENCH_SCENARIO,
        "scenarios/bench-100k-sessions.toml",
        "baseline",
    );
    let cases = [
        ("bench-10k-sessions", bench, vec![sessions.clone()]),
        (
            "bench-10k-sessions-speed-curve",
            bench,
            vec![sessions, curve],
        ),
        (
            "gateway",
            (
                GATEWAY_SCENARIO,
                "scenarios/gateway-strategies.toml",
                "round-robin",
            ),
            vec![],
        ),
        (
            "ptu",
            (
                PTU_SCENARIO,
                "scenarios/timeouts-to-triumph.toml",
                "token-cap-streaming-spillover",
            ),
            vec![],
        ),
    ];
    for (name, (text, path, variant), sets) in cases {
        let set = scenario::parse(text, path, &sets, None).expect("the bench scenario is valid");
        let sc = set
            .variants
            .iter()
            .find(|v| v.variant == variant)
            .expect("the bench variant exists");
        // Runs are deterministic: every iteration handles exactly this many events.
        let events = simulate(sc, None).events;
        g.throughput(Throughput::Elements(events));
        g.bench_function(name, |b| {
            b.iter(|| black_box(simulate(black_box(sc), None).events))
        });
    }
    g.finish();
}

fn bench_processor_sharing(c: &mut Criterion) {
    // Concurrency slowdown similar in shape to a deployment's speed curve.
    let speed = |n: usize| 1.0 / (1.0 + 0.005 * (n as f64 - 1.0));
    let live = |_: u64, _: u32| true;
    let mut g = c.benchmark_group("processor_sharing");
    g.throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for jobs in [10usize, 100, 1000] {
        let mut ps = ProcessorSharing::default();
        let mut rng = Mix(jobs as u64);
        let mut key = 0u64;
        let now = SimTime::ZERO;
        // Solo work of ~2.3 s (250 tokens at 108 tokens/s), spread.
        let work = move |rng: &mut Mix| 0.2 + 4.2 * rng.unit();
        for _ in 0..jobs {
            key += 1;
            let w = work(&mut rng);
            ps.add(now, key, key as u32, w, speed);
        }
        let mut now = now;
        g.bench_function(format!("finish_and_add/{jobs}_jobs"), |b| {
            b.iter(|| {
                // One departure and one arrival: the steady state of a loaded deployment.
                let t = ps.next_finish(now, speed, live).expect("jobs are active");
                now = t;
                ps.advance(now, speed);
                let done = ps.pop_finished(live);
                black_box(done);
                key += 1;
                let w = work(&mut rng);
                black_box(ps.add(now, key, key as u32, w, speed));
            })
        });
    }
    g.finish();
}

fn bench_rolling_window(c: &mut Criterion) {
    let mut g = c.benchmark_group("rolling_window");
    g.throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    // 2M TPM over a 60 s window; calls of ~2,150 tokens. "admit": ~830 calls/min, 90% of the
    // limit, nearly all admitted. "saturated": twice the limit, so half the checks are
    // rejections that binary-search the window for their Retry-After.
    for (name, calls_per_min) in [("admit", 830.0), ("saturated", 1860.0)] {
        let mut w = RollingWindow::new(SimTime::from_secs(60), 2_000_000);
        let mut rng = Mix(7);
        let mut now = SimTime::ZERO;
        let mean_gap_us = 60e6 / calls_per_min;
        let step = move |rng: &mut Mix, w: &mut RollingWindow, now: &mut SimTime| {
            *now += SimTime::from_micros((2.0 * mean_gap_us * rng.unit()) as u64);
            let amount = 1_500 + rng.next() % 1_300;
            match w.check(*now, amount) {
                Ok(()) => {
                    w.charge(*now, amount);
                    SimTime::ZERO
                }
                Err(at) => at,
            }
        };
        // Fill the window to its steady state first.
        for _ in 0..10_000 {
            step(&mut rng, &mut w, &mut now);
        }
        g.bench_function(format!("check_charge/{name}"), |b| {
            b.iter(|| black_box(step(&mut rng, &mut w, &mut now)))
        });
    }
    g.finish();
}

fn bench_event_queue(c: &mut Criterion) {
    let mut g = c.benchmark_group("event_queue");
    g.throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    // One pop and one push per iteration keep the queue at its starting size. The payload has
    // the size of the engine's events (16 bytes).
    // (pending events, delays uniform in [0, horizon us), name)
    for (pending, horizon, name) in [
        (1_000u64, 10_000_000u64, "1000_pending_10s_ahead"),
        (1_000, 1_200_000_000, "1000_pending"),
        (6_000, 1_200_000_000, "6000_pending"),
        (60_000, 1_200_000_000, "60000_pending"),
    ] {
        let mut q: EventQueue<(u32, u64)> = EventQueue::default();
        let mut rng = Mix(pending ^ horizon);
        for i in 0..pending {
            q.push(SimTime::from_micros(rng.next() % horizon), (i as u32, i));
        }
        g.bench_function(format!("push_pop/{name}"), |b| {
            b.iter(|| {
                let (t, ev) = q.pop().expect("never empty");
                q.push(t + SimTime::from_micros(rng.next() % horizon), ev);
                black_box(t)
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_engine,
    bench_processor_sharing,
    bench_rolling_window,
    bench_event_queue
);
criterion_main!(benches);
