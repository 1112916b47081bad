//! Invariants (DESIGN 7.1), checked with property tests on small random scenarios.
//!
//! Each case builds a scenario from random parameters (rates, token sizes, quotas small enough
//! to cause 429s, request-window limits, retries and backoff, provisioned deployments with and
//! without spillover, streaming or not, concurrency caps, completion windows and client
//! timeouts short enough to cause 408s and timeouts, open-loop (constant, Poisson, piecewise
//! schedules) and closed-loop arrivals, a drain short enough to cut requests off), runs it with
//! an [`Audit`] and a [`RequestSink`] attached, and checks:
//!
//! * time never goes backwards, and no event lies beyond `duration + drain`;
//! * every request ends exactly once: each `(session, step)` is reported at most once, a
//!   session's steps are reported in order and only its last may fail, and
//!   `succeeded + failed + incomplete == sent`, with the counters, the records and the time
//!   series all agreeing; open-loop sessions start before `duration`;
//! * the token estimates admitted by a standard deployment within any rolling token window
//!   never exceed its limit, and the admitted requests within any rolling request window never
//!   exceed theirs;
//! * a provisioned deployment's bucket balances (`added + corrected - drained == level`),
//!   never goes negative, and admits only at or below 100%;
//! * `attempts == sent + retries`, and attempts are first tries, router failovers or client
//!   retries (exactly, once no request is left in flight); per deployment,
//!   `attempts == admitted + rejected`;
//! * `sessions started == completed + failed + incomplete`;
//! * serving limits: concurrency caps, completion windows and client timeouts hold for every
//!   successful request, and decoding takes tokens / speed within the speed curve's range;
//! * Little's law on the sample path: the integral of requests in flight equals the sum of
//!   the requests' durations when none is left in flight.
//!
//! Cases use a fixed proptest seed so CI is reproducible; set `PROPTEST_RNG_SEED` (and
//! `PROPTEST_CASES`) to explore others. A coverage check makes sure the random scenarios do
//! reach the behaviours the invariants are about (429s, 408s, spills, retries, cut-offs ...).
//!
//! Two tests at the end pin down bugs found this way (both fixed in the engine).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

use spillway::engine::{
    Audit, CLIENT_TIMEOUT, Outcome, RequestRecord, RequestSink, simulate_audited,
};
use spillway::scenario::{Arrivals, DeploymentKind, Scenario};
use spillway::time::SimTime;

/// Cases per run (override with `PROPTEST_CASES`).
const CASES: u32 = 256;
/// Fixed seed of the case generator (override with `PROPTEST_RNG_SEED`).
const SEED: u64 = 0x5eed_7001;

// ---------------------------------------------------------------------------------------------
// Random scenarios.

#[derive(Clone, Debug)]
enum DepKind {
    Standard {
        tpm_k: u64,
        rpm: Option<u64>,
        token_window_s: Option<u32>,
        request_window_s: Option<u32>,
        count_rejected: bool,
    },
    Provisioned {
        ptu: u32,
        depth_s: u32,
        spill: bool,
    },
}

#[derive(Clone, Debug)]
struct DepParams {
    kind: DepKind,
    max_concurrency: Option<u32>,
    completion_window_s: Option<u32>,
    bill_incomplete: bool,
    extra_latency_ms: u32,
}

#[derive(Clone, Debug)]
struct ClassParams {
    weight: f64,
    steps: u32,
    prompt_mean: f64,
    completion_mean: f64,
    completion_lognormal: bool,
    think_s: f64,
    max_tokens: Option<u32>,
    streaming: bool,
}

#[derive(Clone, Debug)]
enum ArrivalParams {
    Poisson {
        rate_per_min: f64,
    },
    Constant {
        rate_per_min: f64,
    },
    Closed {
        users: u32,
        think_s: f64,
    },
    /// Piecewise-constant rate: `(seconds after the previous point, rate)`, the first at 0 s;
    /// rates may be 0.
    Schedule {
        poisson: bool,
        pieces: Vec<(u32, f64)>,
    },
}

#[derive(Clone, Debug)]
struct Params {
    seed: u64,
    duration_s: u32,
    drain_s: u32,
    interval_s: u32,
    // model
    decode: f64,
    ttft_ms: u32,
    prefill: f64,
    cv: f64,
    speed_curve: Option<(u32, f64)>,
    default_estimate: u32,
    ptu_input_tpm: f64,
    // deployments, client, router
    deps: Vec<DepParams>,
    timeout_s: u32,
    max_retries: u32,
    backoff_initial_ms: u32,
    backoff_max_s: u32,
    jitter: f64,
    retry_after_cap_s: u32,
    retry_on_timeout: bool,
    retry_408: bool,
    priority: bool,
    failover: bool,
    // workload
    arrivals: ArrivalParams,
    sessions: Option<u64>,
    classes: Vec<ClassParams>,
}

fn dep_params() -> impl Strategy<Value = DepParams> {
    // Quotas from tight (a few requests a minute: mostly 429s) to ample (none).
    let tpm_k = prop_oneof![2 => 1u64..=20, 3 => 20u64..=1000];
    let rpm = prop::option::weighted(0.3, prop_oneof![1u64..=30, 30u64..=600]);
    let standard = (
        tpm_k,
        rpm,
        prop::option::of(5u32..=90),
        prop::option::of(1u32..=20),
        any::<bool>(),
    )
        .prop_map(
            |(tpm_k, rpm, token_window_s, request_window_s, count_rejected)| DepKind::Standard {
                tpm_k,
                rpm,
                token_window_s,
                request_window_s,
                count_rejected,
            },
        );
    let provisioned = (prop_oneof![1u32..=3, 3u32..=30], 1u32..=60, any::<bool>()).prop_map(
        |(ptu, depth_s, spill)| DepKind::Provisioned {
            ptu,
            depth_s,
            spill,
        },
    );
    (
        prop_oneof![3 => standard, 2 => provisioned],
        prop::option::of(1u32..=6),
        prop::option::of(1u32..=40),
        any::<bool>(),
        prop_oneof![3 => Just(0u32), 1 => 1u32..=200],
    )
        .prop_map(
            |(kind, max_concurrency, completion_window_s, bill_incomplete, extra_latency_ms)| {
                DepParams {
                    kind,
                    max_concurrency,
                    completion_window_s,
                    bill_incomplete,
                    extra_latency_ms,
                }
            },
        )
}

fn class_params() -> impl Strategy<Value = ClassParams> {
    (
        0.1f64..3.0,
        1u32..=4,
        10.0f64..4000.0,
        5.0f64..2500.0,
        any::<bool>(),
        prop_oneof![Just(0.0), 0.0f64..8.0],
        prop::option::of(16u32..=2000),
        any::<bool>(),
    )
        .prop_map(
            |(
                weight,
                steps,
                prompt_mean,
                completion_mean,
                completion_lognormal,
                think_s,
                max_tokens,
                streaming,
            )| ClassParams {
                weight,
                steps,
                prompt_mean,
                completion_mean,
                completion_lognormal,
                think_s,
                max_tokens,
                streaming,
            },
        )
}

fn arrival_params() -> impl Strategy<Value = ArrivalParams> {
    prop_oneof![
        3 => (2.0f64..240.0).prop_map(|rate_per_min| ArrivalParams::Poisson { rate_per_min }),
        1 => (2.0f64..120.0).prop_map(|rate_per_min| ArrivalParams::Constant { rate_per_min }),
        2 => (1u32..=12, prop_oneof![Just(0.0), 0.0f64..10.0]).prop_map(|(users, think_s)| ArrivalParams::Closed { users, think_s }),
        1 => (any::<bool>(), prop::collection::vec((1u32..=60, prop_oneof![Just(0.0), 1.0f64..240.0]), 1..=4))
            .prop_map(|(poisson, pieces)| ArrivalParams::Schedule { poisson, pieces }),
    ]
}

fn params() -> impl Strategy<Value = Params> {
    let run = (
        0u64..=i64::MAX as u64, // TOML integers are i64
        20u32..=240,
        prop_oneof![1 => Just(0u32), 2 => 1u32..=120, 1 => Just(3600u32)],
        1u32..=60,
    );
    let model = (
        15.0f64..300.0,
        0u32..=800,
        500.0f64..20_000.0,
        prop_oneof![Just(0.0), 0.0f64..0.6],
        prop::option::of((2u32..=12, 0.1f64..1.5)),
        50u32..=2000,
        500.0f64..20_000.0,
    );
    let client = (
        1u32..=90,
        0u32..=5,
        10u32..=2000,
        1u32..=20,
        0.0f64..=1.0,
        0u32..=60,
        any::<bool>(),
        any::<bool>(),
    );
    let router = (
        any::<bool>(),
        prop_oneof![3 => Just(true), 1 => Just(false)],
    );
    let workload = (
        arrival_params(),
        prop::option::of(1u64..=300),
        prop::collection::vec(class_params(), 1..=3),
    );
    (
        run,
        model,
        prop::collection::vec(dep_params(), 1..=3),
        client,
        router,
        workload,
    )
        .prop_map(|(run, model, deps, client, router, workload)| Params {
            seed: run.0,
            duration_s: run.1,
            drain_s: run.2,
            interval_s: run.3,
            decode: model.0,
            ttft_ms: model.1,
            prefill: model.2,
            cv: model.3,
            speed_curve: model.4,
            default_estimate: model.5,
            ptu_input_tpm: model.6,
            deps,
            timeout_s: client.0,
            max_retries: client.1,
            backoff_initial_ms: client.2,
            backoff_max_s: client.3,
            jitter: client.4,
            retry_after_cap_s: client.5,
            retry_on_timeout: client.6,
            retry_408: client.7,
            priority: router.0,
            failover: router.1,
            arrivals: workload.0,
            sessions: workload.1,
            classes: workload.2,
        })
}

impl Params {
    /// The scenario as TOML text.
    fn toml(&self) -> String {
        let mut t = String::new();
        let w = &mut t;
        let _ = writeln!(w, "[scenario]\nname = \"invariants\"\nseed = {}", self.seed);
        let _ = writeln!(
            w,
            "duration = \"{}s\"\ndrain = \"{}s\"\nmetrics_interval = \"{}s\"\n",
            self.duration_s, self.drain_s, self.interval_s
        );
        let _ = writeln!(w, "[models.\"m\"]");
        let _ = writeln!(w, "ttft_base = \"{}ms\"", self.ttft_ms);
        let _ = writeln!(w, "prefill_tokens_per_s = {:.3}", self.prefill);
        let _ = writeln!(w, "decode_tokens_per_s = {:.3}", self.decode);
        let _ = writeln!(w, "decode_variation_cv = {:.4}", self.cv);
        if let Some((n, f)) = self.speed_curve {
            let _ = writeln!(w, "speed_curve = [[1, 1.0], [{n}, {f:.4}]]");
        }
        let _ = writeln!(w, "default_max_tokens_estimate = {}", self.default_estimate);
        let _ = writeln!(w, "ptu_input_tpm = {:.1}", self.ptu_input_tpm);
        // "m" is not in the model catalogue: its prices must be given (these were its defaults).
        let _ = writeln!(
            w,
            "price_input_per_1m = 0.0\nprice_output_per_1m = 0.0\nptu_price_per_hour = 1.0\n"
        );
        // The first standard deployment takes the provisioned deployments' spillover.
        let spill_target = self
            .deps
            .iter()
            .position(|d| matches!(d.kind, DepKind::Standard { .. }));
        for (i, d) in self.deps.iter().enumerate() {
            if let DepKind::Standard { tpm_k, rpm, .. } = d.kind {
                // The pool must hold the deployment's RPM too (default: 6 per 1K TPM).
                let _ = writeln!(
                    w,
                    "[[pool]]\nname = \"p{i}\"\nsubscription = \"s{i}\"\nregion = \"r\"\nmodel = \"m\"\ntpm = {}\nrpm = {}\n",
                    tpm_k * 1000,
                    rpm.unwrap_or(0).max(tpm_k * 6)
                );
            }
        }
        for (i, d) in self.deps.iter().enumerate() {
            let _ = writeln!(w, "[[deployment]]\nname = \"d{i}\"\nmodel = \"m\"");
            match &d.kind {
                DepKind::Standard {
                    tpm_k,
                    rpm,
                    token_window_s,
                    request_window_s,
                    count_rejected,
                } => {
                    let _ = writeln!(
                        w,
                        "kind = \"standard\"\npool = \"p{i}\"\ntpm = {}",
                        tpm_k * 1000
                    );
                    if let Some(r) = rpm {
                        let _ = writeln!(w, "rpm = {r}");
                    }
                    if let Some(s) = token_window_s {
                        let _ = writeln!(w, "token_window = \"{s}s\"");
                    }
                    if let Some(s) = request_window_s {
                        let _ = writeln!(w, "request_window = \"{s}s\"");
                    }
                    let _ = writeln!(w, "count_rejected_requests = {count_rejected}");
                }
                DepKind::Provisioned {
                    ptu,
                    depth_s,
                    spill,
                } => {
                    let _ = writeln!(
                        w,
                        "kind = \"provisioned\"\nptu = {ptu}\nbucket_depth = \"{depth_s}s\""
                    );
                    if let (true, Some(t)) = (spill, spill_target) {
                        let _ = writeln!(w, "spillover = \"d{t}\"");
                    }
                }
            }
            if let Some(c) = d.max_concurrency {
                let _ = writeln!(w, "max_concurrency = {c}");
            }
            match d.completion_window_s {
                Some(s) => {
                    let _ = writeln!(w, "completion_window = \"{s}s\"");
                }
                None => {
                    let _ = writeln!(w, "completion_window = \"none\"");
                }
            }
            let _ = writeln!(w, "bill_incomplete = {}", d.bill_incomplete);
            let _ = writeln!(w, "extra_latency = \"{}ms\"\n", d.extra_latency_ms);
        }
        let _ = writeln!(
            w,
            "[client]\ntimeout = \"{}s\"\nmax_retries = {}",
            self.timeout_s, self.max_retries
        );
        let _ = writeln!(
            w,
            "backoff_initial = \"{}ms\"\nbackoff_max = \"{}s\"",
            self.backoff_initial_ms, self.backoff_max_s
        );
        let _ = writeln!(
            w,
            "backoff_jitter = {:.4}\nretry_after_cap = \"{}s\"",
            self.jitter, self.retry_after_cap_s
        );
        let _ = writeln!(w, "retry_on_timeout = {}", self.retry_on_timeout);
        let statuses = if self.retry_408 {
            "[408, 429, 500]"
        } else {
            "[429, 503]"
        };
        let _ = writeln!(w, "retry_statuses = {statuses}\n");
        let _ = writeln!(
            w,
            "[router]\npolicy = \"{}\"",
            if self.priority {
                "priority"
            } else {
                "round-robin"
            }
        );
        let _ = writeln!(
            w,
            "failover_on = {}\n",
            if self.failover { "[429]" } else { "[]" }
        );
        let _ = writeln!(w, "[workload]");
        match &self.arrivals {
            ArrivalParams::Poisson { rate_per_min } => {
                let _ = writeln!(w, "arrival = \"poisson\"\nrate_per_min = {rate_per_min:.3}");
            }
            ArrivalParams::Constant { rate_per_min } => {
                let _ = writeln!(
                    w,
                    "arrival = \"constant\"\nrate_per_min = {rate_per_min:.3}"
                );
            }
            ArrivalParams::Schedule { poisson, pieces } => {
                let kind = if *poisson { "poisson" } else { "constant" };
                let mut at = 0;
                let points: Vec<String> = pieces
                    .iter()
                    .enumerate()
                    .map(|(k, &(gap, rate))| {
                        if k > 0 {
                            at += gap;
                        }
                        format!("{{ at = \"{at}s\", rate_per_min = {rate:.3} }}")
                    })
                    .collect();
                let _ = writeln!(
                    w,
                    "arrival = \"{kind}\"\nschedule = [{}]",
                    points.join(", ")
                );
            }
            ArrivalParams::Closed { users, think_s } => {
                let _ = writeln!(w, "arrival = \"closed\"\nusers = {users}");
                let _ = writeln!(
                    w,
                    "user_think_time_s = {{ dist = \"exponential\", mean = {:.3} }}",
                    think_s.max(0.001)
                );
            }
        }
        if let Some(n) = self.sessions {
            let _ = writeln!(w, "sessions = {n}");
        }
        for (i, k) in self.classes.iter().enumerate() {
            let _ = writeln!(
                w,
                "\n[[workload.class]]\nname = \"c{i}\"\nweight = {:.3}\nsteps = {}",
                k.weight, k.steps
            );
            let _ = writeln!(
                w,
                "prompt_tokens = {{ dist = \"normal\", mean = {:.1}, sd = {:.1}, min = 1 }}",
                k.prompt_mean,
                k.prompt_mean / 3.0
            );
            if k.completion_lognormal {
                let _ = writeln!(
                    w,
                    "completion_tokens = {{ dist = \"lognormal\", mean = {:.1}, cv = 1.0 }}",
                    k.completion_mean
                );
            } else {
                let _ = writeln!(
                    w,
                    "completion_tokens = {{ dist = \"exponential\", mean = {:.1} }}",
                    k.completion_mean
                );
            }
            if k.think_s > 0.0 {
                let _ = writeln!(
                    w,
                    "think_time_s = {{ dist = \"exponential\", mean = {:.3} }}",
                    k.think_s.max(0.001)
                );
            }
            if let Some(m) = k.max_tokens {
                let _ = writeln!(w, "max_tokens = {m}");
            }
            let _ = writeln!(w, "streaming = {}", k.streaming);
        }
        t
    }
}

// ---------------------------------------------------------------------------------------------
// What the engine shows us.

/// Records the audit hooks and checks the ones that can be checked on the spot.
struct Auditor<'a> {
    sc: &'a Scenario,
    last_event: SimTime,
    events: u64,
    /// Per deployment: `(time, token estimate)` of each admission to a standard deployment.
    std_admits: Vec<Vec<(SimTime, u64)>>,
    /// Per deployment: admissions to a provisioned deployment, and the estimate of an admission
    /// whose bucket report is due next.
    ptu_admits: Vec<u64>,
    ptu_pending: Vec<Option<f64>>,
    /// Per deployment: last `(added, drained)`, which may only grow.
    ptu_totals: Vec<(f64, f64)>,
    errors: Vec<String>,
}

impl<'a> Auditor<'a> {
    fn new(sc: &'a Scenario) -> Self {
        let n = sc.deployments.len();
        Auditor {
            sc,
            last_event: SimTime::ZERO,
            events: 0,
            std_admits: vec![Vec::new(); n],
            ptu_admits: vec![0; n],
            ptu_pending: vec![None; n],
            ptu_totals: vec![(0.0, 0.0); n],
            errors: Vec::new(),
        }
    }

    fn error(&mut self, msg: String) {
        if self.errors.len() < 10 {
            self.errors.push(msg);
        }
    }
}

fn tol(scale: f64) -> f64 {
    1e-6 * scale.abs().max(1.0)
}

impl Audit for Auditor<'_> {
    fn event(&mut self, now: SimTime) {
        if now < self.last_event {
            self.error(format!(
                "time went backwards: event at {now:?} after one at {:?}",
                self.last_event
            ));
        }
        if now > self.sc.duration + self.sc.drain {
            self.error(format!("event at {now:?} beyond duration + drain"));
        }
        self.last_event = self.last_event.max(now);
        self.events += 1;
    }

    fn admitted(&mut self, dep: usize, now: SimTime, tokens: u64, normalized: f64) {
        if now != self.last_event {
            self.error(format!(
                "admission at {now:?} outside the current event at {:?}",
                self.last_event
            ));
        }
        match self.sc.deployments[dep].kind {
            DeploymentKind::Standard { .. } => self.std_admits[dep].push((now, tokens)),
            DeploymentKind::Provisioned { .. } => {
                self.ptu_admits[dep] += 1;
                if !(normalized.is_finite() && normalized > 0.0) {
                    self.error(format!(
                        "d{dep}: provisioned admission with estimate {normalized}"
                    ));
                }
                self.ptu_pending[dep] = Some(normalized);
            }
        }
    }

    fn bucket(
        &mut self,
        dep: usize,
        now: SimTime,
        added: f64,
        corrected: f64,
        drained: f64,
        level: f64,
    ) {
        let DeploymentKind::Provisioned {
            capacity_per_min,
            bucket_depth,
            ..
        } = self.sc.deployments[dep].kind
        else {
            self.error(format!("bucket report for standard deployment d{dep}"));
            return;
        };
        let scale = added.max(drained).max(level);
        if (added + corrected - drained - level).abs() > tol(scale) {
            self.error(format!(
                "d{dep} at {now:?}: PTU accounting does not balance: added {added} + corrected {corrected} - drained {drained} = {} != level {level}",
                added + corrected - drained
            ));
        }
        if level.is_nan() || level < 0.0 {
            self.error(format!("d{dep} at {now:?}: negative bucket level {level}"));
        }
        let (a0, d0) = self.ptu_totals[dep];
        if added < a0 - tol(a0) || drained < d0 - tol(d0) {
            self.error(format!(
                "d{dep} at {now:?}: added/drained shrank: ({a0}, {d0}) -> ({added}, {drained})"
            ));
        }
        self.ptu_totals[dep] = (added, drained);
        if let Some(est) = self.ptu_pending[dep].take() {
            // Admission happens only at or below 100%: the level before this estimate.
            let depth = capacity_per_min / 60.0 * bucket_depth.as_secs_f64();
            if level - est > depth + tol(depth) {
                self.error(format!(
                    "d{dep} at {now:?}: admitted at level {} above the bucket depth {depth}",
                    level - est
                ));
            }
        }
    }
}

/// Every finished request, in order.
#[derive(Default)]
struct Records(Vec<RequestRecord>);

impl RequestSink for Records {
    fn record(&mut self, r: &RequestRecord) {
        self.0.push(*r);
    }
}

/// Which behaviours one case reached (for the coverage check).
#[derive(Default, Debug, Clone, Copy)]
struct Coverage {
    cases: u64,
    rejected_429: u64,
    request_window_429: u64,
    failed_429: u64,
    timed_out_408: u64,
    client_timeouts: u64,
    spilled: u64,
    client_retries: u64,
    failovers: u64,
    incomplete: u64,
    truncated: u64,
    closed_loop: u64,
    multi_step_sessions: u64,
}

impl Coverage {
    fn add(&mut self, o: &Coverage) {
        let f = |a: &mut u64, b: u64| *a += (b > 0) as u64;
        self.cases += 1;
        f(&mut self.rejected_429, o.rejected_429);
        f(&mut self.request_window_429, o.request_window_429);
        f(&mut self.failed_429, o.failed_429);
        f(&mut self.timed_out_408, o.timed_out_408);
        f(&mut self.client_timeouts, o.client_timeouts);
        f(&mut self.spilled, o.spilled);
        f(&mut self.client_retries, o.client_retries);
        f(&mut self.failovers, o.failovers);
        f(&mut self.incomplete, o.incomplete);
        f(&mut self.truncated, o.truncated);
        f(&mut self.closed_loop, o.closed_loop);
        f(&mut self.multi_step_sessions, o.multi_step_sessions);
    }
}

macro_rules! ensure {
    ($errors:expr, $cond:expr, $($fmt:tt)+) => {
        let ok: bool = $cond;
        if !ok {
            $errors.push(format!($($fmt)+));
        }
    };
}

/// Checks every window of `len` ending at an admission: the sum of the amounts admitted in
/// `(t - len, t]` may not exceed `limit`. `admits` is in time order.
fn worst_window(admits: &[(SimTime, u64)], len: SimTime) -> (u64, SimTime) {
    let mut lo = 0;
    let mut sum = 0u64;
    let mut worst = (0, SimTime::ZERO);
    for (i, &(t, x)) in admits.iter().enumerate() {
        sum += x;
        // A charge made at `s` no longer counts at `s + len`.
        while admits[lo].0 + len <= t {
            sum -= admits[lo].1;
            lo += 1;
        }
        if sum > worst.0 {
            worst = (sum, t);
        }
        debug_assert!(lo <= i);
    }
    worst
}

/// Runs one scenario and checks every invariant; returns what it reached.
fn check_scenario(sc: &Scenario) -> Result<Coverage, Vec<String>> {
    let mut audit = Auditor::new(sc);
    let mut recs = Records::default();
    let m = simulate_audited(sc, Some(&mut recs), &mut audit);
    let recs = recs.0;
    let mut e: Vec<String> = std::mem::take(&mut audit.errors);
    let end = sc.duration + sc.drain;
    let ndeps = sc.deployments.len();

    // --- Time.
    ensure!(
        e,
        m.span <= end,
        "span {:?} beyond duration + drain {end:?}",
        m.span
    );
    ensure!(
        e,
        audit.last_event <= m.span,
        "last event {:?} after the span {:?}",
        audit.last_event,
        m.span
    );
    ensure!(
        e,
        audit.events >= m.events,
        "{} audited events but {} handled",
        audit.events,
        m.events
    );
    let mut prev_end = SimTime::ZERO;
    for r in &recs {
        ensure!(
            e,
            r.start <= r.end,
            "request {}/{} ends at {:?} before it starts at {:?}",
            r.session,
            r.step,
            r.end,
            r.start
        );
        ensure!(
            e,
            r.end >= prev_end,
            "request {}/{} reported at {:?} after one ending at {prev_end:?}",
            r.session,
            r.step,
            r.end
        );
        ensure!(
            e,
            r.end <= m.span,
            "request {}/{} ends at {:?} after the span",
            r.session,
            r.step,
            r.end
        );
        prev_end = prev_end.max(r.end);
    }

    // --- Every request ends exactly once.
    let mut seen = HashSet::new();
    let mut by_session: BTreeMap<u64, Vec<&RequestRecord>> = BTreeMap::new();
    for r in &recs {
        ensure!(
            e,
            seen.insert((r.session, r.step)),
            "request {}/{} reported twice",
            r.session,
            r.step
        );
        by_session.entry(r.session).or_default().push(r);
    }
    let count = |o: Outcome| recs.iter().filter(|r| r.outcome == o).count() as u64;
    let succeeded = count(Outcome::Succeeded);
    ensure!(
        e,
        m.succeeded == succeeded,
        "succeeded {} but {succeeded} success records",
        m.succeeded
    );
    ensure!(
        e,
        m.failed == recs.len() as u64 - succeeded,
        "failed {} but {} failure records",
        m.failed,
        recs.len() as u64 - succeeded
    );
    ensure!(
        e,
        m.rate_limited == count(Outcome::RateLimited),
        "rate_limited {} vs {} records",
        m.rate_limited,
        count(Outcome::RateLimited)
    );
    ensure!(
        e,
        m.timed_out == count(Outcome::TimedOut),
        "timed_out {} vs {} records",
        m.timed_out,
        count(Outcome::TimedOut)
    );
    ensure!(
        e,
        m.succeeded + m.failed + m.incomplete_requests == m.sent,
        "succeeded {} + failed {} + incomplete {} != sent {}",
        m.succeeded,
        m.failed,
        m.incomplete_requests,
        m.sent
    );
    ensure!(
        e,
        m.e2e.count() == m.succeeded && m.ttft.count() == m.succeeded,
        "latency counts {} / {} vs succeeded {}",
        m.e2e.count(),
        m.ttft.count(),
        m.succeeded
    );
    // Generated classes use the short form: one call shape, repeated.
    let route_len =
        |class: usize| sc.router.routes[sc.workload.classes[class].steps[0].model].len() as u32;
    let mut completed_sessions = 0;
    for (key, rs) in &by_session {
        let class = rs[0].class;
        let steps = sc.workload.classes[class].calls;
        for (i, r) in rs.iter().enumerate() {
            ensure!(
                e,
                r.step == i as u32,
                "session {key}: step {} reported in position {i}",
                r.step
            );
            ensure!(e, r.class == class, "session {key}: class changed");
            if i + 1 < rs.len() {
                ensure!(
                    e,
                    r.outcome == Outcome::Succeeded,
                    "session {key}: step {} failed but the session went on",
                    r.step
                );
                let next = rs[i + 1].start;
                ensure!(
                    e,
                    next >= r.end,
                    "session {key}: step {} started at {next:?} before step {} ended at {:?}",
                    i + 1,
                    r.step,
                    r.end
                );
            }
        }
        let last = rs.last().unwrap();
        ensure!(
            e,
            last.step < steps,
            "session {key}: step {} of a {steps}-step class",
            last.step
        );
        if last.outcome == Outcome::Succeeded && last.step + 1 == steps {
            completed_sessions += 1;
        }
        if let Arrivals::Closed { users, .. } = sc.workload.arrivals {
            ensure!(
                e,
                (key >> 32) >= 1 && (key >> 32) <= users as u64,
                "closed-loop session key {key:#x} names no user"
            );
        } else {
            ensure!(
                e,
                *key < m.sessions_started,
                "open-loop session key {key} >= sessions started {}",
                m.sessions_started
            );
        }
    }
    // New sessions start in [0, duration) (docs/scenario.md, `duration`): open-loop arrivals,
    // and closed-loop users "start no new session after it".
    let open = !matches!(sc.workload.arrivals, Arrivals::Closed { .. });
    for r in recs.iter().filter(|r| r.step == 0 && open) {
        ensure!(
            e,
            r.start < sc.duration,
            "session {:#x} started at {:?}, at or after the duration {:?}",
            r.session,
            r.start,
            sc.duration
        );
    }
    for r in &recs {
        let class = &sc.workload.classes[r.class];
        ensure!(
            e,
            r.attempts >= 1,
            "request {}/{} made no attempt",
            r.session,
            r.step
        );
        let most = (sc.client.max_retries + 1) * route_len(r.class);
        ensure!(
            e,
            r.attempts <= most,
            "request {}/{}: {} attempts, at most {most} possible",
            r.session,
            r.step,
            r.attempts
        );
        match r.outcome {
            Outcome::Succeeded => {
                ensure!(e, r.status == 200, "success with status {}", r.status);
                let want = r
                    .wanted_tokens
                    .min(class.steps[0].max_tokens.unwrap_or(u32::MAX));
                ensure!(
                    e,
                    r.completion_tokens == want,
                    "request {}/{}: {} tokens delivered, {want} due",
                    r.session,
                    r.step,
                    r.completion_tokens
                );
                ensure!(
                    e,
                    r.deployment.is_some_and(|d| d < ndeps),
                    "success without a deployment"
                );
                let ttft = r.ttft.unwrap_or(SimTime::MAX);
                ensure!(
                    e,
                    ttft <= r.end - r.start,
                    "request {}/{}: ttft {ttft:?} beyond its duration",
                    r.session,
                    r.step
                );
            }
            o => {
                ensure!(
                    e,
                    r.completion_tokens == 0 && r.ttft.is_none(),
                    "failed request {}/{} delivered tokens",
                    r.session,
                    r.step
                );
                let ok = match o {
                    Outcome::RateLimited => r.status == 429,
                    Outcome::TimedOut => r.status == 408 || r.status == CLIENT_TIMEOUT,
                    _ => true,
                };
                ensure!(
                    e,
                    ok,
                    "request {}/{}: outcome {o:?} with status {}",
                    r.session,
                    r.step,
                    r.status
                );
                if r.status == 408 {
                    ensure!(
                        e,
                        !class.steps[0].streaming,
                        "request {}/{}: a streaming call got a 408",
                        r.session,
                        r.step
                    );
                }
            }
        }
    }
    let prompt: u64 = recs
        .iter()
        .filter(|r| r.outcome == Outcome::Succeeded)
        .map(|r| r.prompt_tokens as u64)
        .sum();
    let completion: u64 = recs
        .iter()
        .filter(|r| r.outcome == Outcome::Succeeded)
        .map(|r| r.completion_tokens as u64)
        .sum();
    ensure!(
        e,
        (m.prompt_tokens, m.completion_tokens) == (prompt, completion),
        "token totals {} / {} vs records {prompt} / {completion}",
        m.prompt_tokens,
        m.completion_tokens
    );

    // --- Sessions.
    ensure!(
        e,
        m.sessions_completed + m.sessions_failed <= m.sessions_started,
        "sessions completed {} + failed {} > started {}",
        m.sessions_completed,
        m.sessions_failed,
        m.sessions_started
    );
    ensure!(
        e,
        m.sessions_completed == completed_sessions,
        "sessions completed {} but {completed_sessions} per the records",
        m.sessions_completed
    );
    ensure!(
        e,
        m.sessions_failed == m.failed,
        "sessions failed {} vs failed requests {}",
        m.sessions_failed,
        m.failed
    );
    ensure!(
        e,
        by_session.len() as u64 <= m.sessions_started,
        "{} sessions reported, {} started",
        by_session.len(),
        m.sessions_started
    );
    if let Some(max) = sc.workload.max_sessions {
        ensure!(
            e,
            m.sessions_started <= max,
            "{} sessions started, limit {max}",
            m.sessions_started
        );
    }
    let sessions_incomplete = m
        .sessions_started
        .saturating_sub(m.sessions_completed + m.sessions_failed);
    ensure!(
        e,
        sessions_incomplete >= m.incomplete_requests,
        "{} requests in flight but only {sessions_incomplete} sessions",
        m.incomplete_requests
    );
    if m.span < end {
        // The event queue ran dry before the cut-off: everything ended.
        ensure!(
            e,
            m.incomplete_requests == 0 && sessions_incomplete == 0,
            "run ended early with {} requests / {sessions_incomplete} sessions in flight",
            m.incomplete_requests
        );
    }

    // --- Attempts.
    ensure!(
        e,
        m.attempts >= m.sent,
        "attempts {} < sent {}",
        m.attempts,
        m.sent
    );
    let tries = m.sent + m.failovers + m.client_retries;
    if m.incomplete_requests == 0 {
        ensure!(
            e,
            m.attempts == tries,
            "attempts {} != sent {} + failovers {} + client retries {}",
            m.attempts,
            m.sent,
            m.failovers,
            m.client_retries
        );
    } else {
        // A retry scheduled before the cut-off may not have been made.
        ensure!(
            e,
            m.attempts <= tries,
            "attempts {} > sent {} + failovers {} + client retries {}",
            m.attempts,
            m.sent,
            m.failovers,
            m.client_retries
        );
    }
    let dep_attempts: u64 = m.deployments.iter().map(|d| d.attempts).sum();
    ensure!(
        e,
        dep_attempts == m.attempts + m.spilled,
        "deployment attempts {dep_attempts} != attempts {} + spilled {}",
        m.attempts,
        m.spilled
    );
    let spilled_in: u64 = m.deployments.iter().map(|d| d.spilled_in).sum();
    ensure!(
        e,
        spilled_in == m.spilled,
        "spilled_in {spilled_in} != spilled {}",
        m.spilled
    );
    for (i, d) in m.deployments.iter().enumerate() {
        ensure!(
            e,
            d.attempts == d.admitted + d.rejected_429,
            "d{i}: attempts {} != admitted {} + rejected {}",
            d.attempts,
            d.admitted,
            d.rejected_429
        );
    }

    // --- Admission limits.
    for (i, dep) in sc.deployments.iter().enumerate() {
        match dep.kind {
            DeploymentKind::Standard {
                tpm,
                rpm,
                token_window,
                request_window,
                ..
            } => {
                let admits = &audit.std_admits[i];
                ensure!(
                    e,
                    admits.len() as u64 == m.deployments[i].admitted,
                    "d{i}: {} audited admissions, {} counted",
                    admits.len(),
                    m.deployments[i].admitted
                );
                let charged: u64 = admits.iter().map(|a| a.1).sum();
                ensure!(
                    e,
                    charged == m.deployments[i].charged_estimate,
                    "d{i}: charged {} vs audited {charged}",
                    m.deployments[i].charged_estimate
                );
                let limit = (tpm as f64 * token_window.as_secs_f64() / 60.0).round() as u64;
                let (worst, at) = worst_window(admits, token_window);
                ensure!(
                    e,
                    worst <= limit,
                    "d{i}: {worst} tokens admitted in the {token_window:?} window ending at {at:?}, limit {limit}"
                );
                let per_window = ((rpm as f64) * request_window.as_secs_f64() / 60.0)
                    .floor()
                    .max(1.0) as u64;
                let ones: Vec<(SimTime, u64)> = admits.iter().map(|a| (a.0, 1)).collect();
                let (worst, at) = worst_window(&ones, request_window);
                ensure!(
                    e,
                    worst <= per_window,
                    "d{i}: {worst} requests admitted in the {request_window:?} window ending at {at:?}, limit {per_window}"
                );
            }
            DeploymentKind::Provisioned { .. } => {
                ensure!(
                    e,
                    audit.ptu_admits[i] == m.deployments[i].admitted,
                    "d{i}: {} audited admissions, {} counted",
                    audit.ptu_admits[i],
                    m.deployments[i].admitted
                );
            }
        }
    }

    // --- Serving limits, from the successful requests: a request held a slot from the start
    // of its prefill (first token - prefill time) to its end.
    let prefill = |d: usize, prompt: u32| {
        let sv = &sc.deployments[d].serving;
        sv.ttft_base + SimTime::from_secs_f64(prompt as f64 / sv.prefill_tokens_per_s)
    };
    let mut holds: Vec<Vec<(SimTime, i64)>> = vec![Vec::new(); ndeps];
    for r in recs.iter().filter(|r| r.outcome == Outcome::Succeeded) {
        let (Some(d), Some(ttft)) = (r.deployment, r.ttft) else {
            continue;
        };
        let first = r.start + ttft;
        let slot = first.saturating_sub(prefill(d, r.prompt_tokens));
        ensure!(
            e,
            slot >= r.start,
            "request {}/{}: first token at {first:?} sooner than its prefill allows",
            r.session,
            r.step
        );
        let dep = &sc.deployments[d];
        let streaming = sc.workload.classes[r.class].steps[0].streaming;
        // The attempt was admitted no later than it got its slot, and its deadlines count from
        // admission: the server's completion window (non-streaming) bounds the whole answer,
        // the client's timeout the whole answer or, streaming, the first token.
        if let (Some(w), false) = (dep.completion_window, streaming) {
            ensure!(
                e,
                r.end - slot <= w,
                "request {}/{} on d{d}: served for {:?}, completion window {w:?}",
                r.session,
                r.step,
                r.end - slot
            );
        }
        let bounded = if streaming {
            first - slot
        } else {
            r.end - slot
        };
        ensure!(
            e,
            bounded <= sc.client.timeout,
            "request {}/{}: {bounded:?} beyond the client timeout",
            r.session,
            r.step
        );
        // Decoding: with no per-request speed variation it takes tokens / speed, the speed
        // between the slowest and the fastest factor of the curve (exactly the solo speed
        // when the curve is flat); times are rounded up to whole microseconds.
        let sv = &dep.serving;
        if sv.decode_variation_cv == 0.0 && r.completion_tokens > 0 {
            let solo = r.completion_tokens as f64 / sv.decode_tokens_per_s;
            let lo = sv.speed_table.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = sv.speed_table.iter().copied().fold(0.0, f64::max);
            let took = (r.end - first).as_secs_f64();
            let slack = 3e-6 + 1e-9 * solo;
            ensure!(
                e,
                took >= solo / hi - slack && took <= solo / lo + slack,
                "request {}/{} on d{d}: decoded {} tokens in {took} s; solo {solo} s, speed factors {lo}..{hi}",
                r.session,
                r.step,
                r.completion_tokens
            );
        }
        holds[d].push((slot, 1));
        holds[d].push((r.end, -1));
    }
    for (d, h) in holds.iter_mut().enumerate() {
        let Some(cap) = sc.deployments[d].max_concurrency else {
            continue;
        };
        // Releases before acquisitions at the same instant: a freed slot is taken at once.
        h.sort();
        let mut busy = 0i64;
        for &(t, x) in h.iter() {
            busy += x;
            ensure!(
                e,
                busy <= cap as i64,
                "d{d}: {busy} requests held slots at {t:?}, cap {cap}"
            );
        }
    }
    for (d, dm) in m.deployments.iter().enumerate() {
        if dm.timed_out_408 > 0 {
            let possible = sc.deployments[d].completion_window.is_some()
                && sc.workload.classes.iter().any(|k| !k.steps[0].streaming);
            ensure!(
                e,
                possible,
                "d{d}: {} 408s without a completion window for any non-streaming call",
                dm.timed_out_408
            );
        }
    }

    // --- Closed loop: a user runs one session at a time.
    if let Arrivals::Closed { .. } = sc.workload.arrivals {
        let mut by_user: BTreeMap<u64, Vec<(u64, SimTime, SimTime)>> = BTreeMap::new();
        for (key, rs) in &by_session {
            let (first, last) = (rs[0].start, rs.last().unwrap().end);
            by_user
                .entry(key >> 32)
                .or_default()
                .push((key & 0xffff_ffff, first, last));
        }
        for (user, sessions) in &by_user {
            // Numbered 0, 1, ... (only a user's last session may have nothing reported yet).
            for (i, s) in sessions.iter().enumerate() {
                ensure!(
                    e,
                    s.0 == i as u64,
                    "user {user}: session number {} in position {i}",
                    s.0
                );
            }
            for w in sessions.windows(2) {
                ensure!(
                    e,
                    w[1].1 >= w[0].2,
                    "user {user}: session {} started at {:?} before session {} ended at {:?}",
                    w[1].0,
                    w[1].1,
                    w[0].0,
                    w[0].2
                );
                // A user goes on only if the last session ended before `duration`. (Whether the
                // next may then *start* after `duration` is unsettled; see
                // `invariants_closed_loop_users_start_no_session_after_duration`.)
                ensure!(
                    e,
                    w[0].2 < sc.duration,
                    "user {user}: session {} began after session {} ended at {:?}, past the duration",
                    w[1].0,
                    w[0].0,
                    w[0].2
                );
            }
        }
    }

    // --- Sums over the records.
    let record_attempts: u64 = recs.iter().map(|r| r.attempts as u64).sum();
    if m.incomplete_requests == 0 {
        ensure!(
            e,
            record_attempts == m.attempts,
            "records made {record_attempts} attempts, counted {}",
            m.attempts
        );
    } else {
        ensure!(
            e,
            record_attempts <= m.attempts,
            "records made {record_attempts} attempts, counted {}",
            m.attempts
        );
    }
    let ok = || recs.iter().filter(|r| r.outcome == Outcome::Succeeded);
    let wanted: u64 = ok().map(|r| r.wanted_tokens as u64).sum();
    let truncated = ok()
        .filter(|r| r.wanted_tokens > r.completion_tokens)
        .count() as u64;
    ensure!(
        e,
        m.wanted_tokens == wanted && m.truncated == truncated,
        "wanted {} / truncated {} vs records {wanted} / {truncated}",
        m.wanted_tokens,
        m.truncated
    );
    let generated: u64 = m.deployments.iter().map(|d| d.completion_tokens).sum();
    ensure!(
        e,
        generated == m.completion_tokens + m.wasted_tokens,
        "deployments generated {generated} completion tokens, delivered {} + wasted {}",
        m.completion_tokens,
        m.wasted_tokens
    );
    let token_cost: f64 = m.deployments.iter().map(|d| d.token_cost_usd).sum();
    ensure!(
        e,
        m.spilled_token_cost_usd <= token_cost * (1.0 + 1e-9) + 1e-12,
        "spilled cost {} above token cost {token_cost}",
        m.spilled_token_cost_usd
    );
    if m.spilled == 0 {
        ensure!(
            e,
            m.spilled_token_cost_usd == 0.0,
            "spilled cost {} without spills",
            m.spilled_token_cost_usd
        );
    }

    // --- Little's law on the sample path.
    let durations: u128 = recs
        .iter()
        .map(|r| (r.end - r.start).as_micros() as u128)
        .sum();
    if m.incomplete_requests == 0 {
        ensure!(
            e,
            m.in_flight_area == durations,
            "in-flight area {} != sum of request durations {durations}",
            m.in_flight_area
        );
    } else {
        ensure!(
            e,
            m.in_flight_area >= durations,
            "in-flight area {} < sum of finished request durations {durations}",
            m.in_flight_area
        );
    }

    // --- The time series: one row per interval of the span, and every event counted once.
    // The row count, the totals and the last row, including runs that end exactly on an
    // interval boundary (the events of that instant belong to the interval starting there).
    let iv = sc.metrics_interval.as_micros();
    let on_boundary = m.span.as_micros().is_multiple_of(iv);
    let rejected: u64 = m.deployments.iter().map(|d| d.rejected_429).sum();
    let t408: u64 = m.deployments.iter().map(|d| d.timed_out_408).sum();
    for (k, row) in m.series.iter().enumerate() {
        ensure!(
            e,
            row.t.as_micros() == k as u64 * iv,
            "series row {k} starts at {:?}",
            row.t
        );
        ensure!(
            e,
            row.deployments.len() == ndeps,
            "series row {k} has {} deployments",
            row.deployments.len()
        );
    }
    {
        let rows = m.span.as_micros().div_ceil(iv) as usize;
        // A run ending on a boundary may close with an empty-length last interval.
        let ok = m.series.len() == rows || (on_boundary && m.series.len() == rows + 1);
        ensure!(
            e,
            ok,
            "{} series rows for a span of {:?} in {:?} intervals",
            m.series.len(),
            m.span,
            sc.metrics_interval
        );
        let sum = |f: fn(&spillway::metrics::SeriesRow) -> u64| m.series.iter().map(f).sum::<u64>();
        ensure!(
            e,
            sum(|r| r.arrivals) == m.sent,
            "series arrivals {} vs sent {}",
            sum(|r| r.arrivals),
            m.sent
        );
        ensure!(
            e,
            sum(|r| r.completions) == m.succeeded,
            "series completions {} vs succeeded {}",
            sum(|r| r.completions),
            m.succeeded
        );
        ensure!(
            e,
            sum(|r| r.failures) == m.failed,
            "series failures {} vs failed {}",
            sum(|r| r.failures),
            m.failed
        );
        ensure!(
            e,
            sum(|r| r.rejected_429) == rejected,
            "series 429s {} vs {rejected}",
            sum(|r| r.rejected_429)
        );
        ensure!(
            e,
            sum(|r| r.timed_out_408) == t408,
            "series 408s {} vs {t408}",
            sum(|r| r.timed_out_408)
        );
        // A run in which nothing happens (no session arrives within `duration`) has no span
        // and no rows; otherwise the last row's in-flight count is what was left at the end.
        let last = m.series.last().map(|r| r.in_flight);
        ensure!(
            e,
            last == Some(m.incomplete_requests) || (last.is_none() && m.sent == 0),
            "last series row: {last:?} in flight, {} incomplete",
            m.incomplete_requests
        );
    }
    let finals_408 = recs.iter().filter(|r| r.status == 408).count() as u64;
    ensure!(
        e,
        t408 >= finals_408,
        "{finals_408} requests failed with a 408 but only {t408} 408s counted"
    );

    // --- The summary.
    if e.is_empty() {
        let s = m.summarize(sc);
        let q = &s.requests;
        ensure!(
            e,
            q.attempts == q.sent + q.retries,
            "summary: attempts {} != sent {} + retries {}",
            q.attempts,
            q.sent,
            q.retries
        );
        ensure!(
            e,
            q.succeeded + q.failed + q.incomplete == q.sent,
            "summary: succeeded + failed + incomplete != sent"
        );
        ensure!(
            e,
            q.other_failed == 0,
            "summary: {} requests failed with a status the model never produces",
            q.other_failed
        );
        let ss = &s.sessions;
        ensure!(
            e,
            ss.started == ss.completed + ss.failed + ss.incomplete,
            "summary: sessions {} != {} + {} + {}",
            ss.started,
            ss.completed,
            ss.failed,
            ss.incomplete
        );
        ensure!(
            e,
            s.deployments.len() == ndeps,
            "summary: {} deployments",
            s.deployments.len()
        );
    }

    if !e.is_empty() {
        return Err(e);
    }
    let reached_request_limit = sc
        .deployments
        .iter()
        .enumerate()
        .any(|(i, d)| match d.kind {
            DeploymentKind::Standard {
                rpm,
                request_window,
                ..
            } => {
                let per_window = ((rpm as f64) * request_window.as_secs_f64() / 60.0)
                    .floor()
                    .max(1.0) as u64;
                let ones: Vec<(SimTime, u64)> =
                    audit.std_admits[i].iter().map(|a| (a.0, 1)).collect();
                m.deployments[i].rejected_429 > 0
                    && worst_window(&ones, request_window).0 == per_window
            }
            _ => false,
        });
    Ok(Coverage {
        cases: 1,
        rejected_429: m.deployments.iter().map(|d| d.rejected_429).sum(),
        request_window_429: reached_request_limit as u64,
        failed_429: m.rate_limited,
        timed_out_408: t408,
        client_timeouts: recs.iter().filter(|r| r.status == CLIENT_TIMEOUT).count() as u64,
        spilled: m.spilled,
        client_retries: m.client_retries,
        failovers: m.failovers,
        incomplete: m.incomplete_requests,
        truncated: m.truncated,
        closed_loop: matches!(sc.workload.arrivals, Arrivals::Closed { .. }) as u64,
        multi_step_sessions: (m.sessions_completed > 0
            && sc.workload.classes.iter().any(|k| k.calls > 1)) as u64,
    })
}

fn config() -> Config {
    let mut c = Config {
        cases: CASES,
        failure_persistence: None, // no regression files written into the source tree
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_some() {
        c.cases = Config::default().cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        c.rng_seed = RngSeed::Fixed(SEED);
    }
    c
}

#[test]
fn invariants_hold_on_random_scenarios() {
    let coverage = RefCell::new(Coverage::default());
    let mut runner = TestRunner::new(config());
    let result = runner.run(&params(), |p| {
        let text = p.toml();
        let set = spillway::scenario::parse(&text, "<invariants>", &[], None)
            .map_err(|err| TestCaseError::fail(format!("{err}\n--- scenario ---\n{text}")))?;
        for sc in &set.variants {
            match check_scenario(sc) {
                Ok(c) => coverage.borrow_mut().add(&c),
                Err(errors) => {
                    return Err(TestCaseError::fail(format!(
                        "{}\n--- scenario ---\n{text}",
                        errors.join("\n")
                    )));
                }
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The random scenarios must reach what the invariants are about, or they check little.
    let c = coverage.into_inner();
    println!("coverage (cases reaching each behaviour): {c:?}");
    let need = (c.cases / 16).max(1);
    let reached = [
        ("429 rejections", c.rejected_429),
        ("request-window 429s", c.request_window_429),
        ("requests failed on 429", c.failed_429),
        ("408s", c.timed_out_408),
        ("client timeouts", c.client_timeouts),
        ("spillover", c.spilled),
        ("client retries", c.client_retries),
        ("router failovers", c.failovers),
        ("requests cut off in flight", c.incomplete),
        ("truncated answers", c.truncated),
        ("closed-loop arrivals", c.closed_loop),
        ("completed multi-step sessions", c.multi_step_sessions),
    ];
    for (what, n) in reached {
        assert!(
            n >= need,
            "only {n} of {} cases reached {what} (want >= {need}): the generator needs adjusting",
            c.cases
        );
    }
}

/// The checker itself catches violations: a deliberately wrong window check and a handmade
/// over-limit admission sequence are flagged.
#[test]
fn invariants_window_check_detects_overload() {
    let s = SimTime::from_secs;
    let admits = [
        (s(0), 600),
        (s(30), 300),
        (s(59), 200),
        (s(60), 100),
        (s(119), 1),
    ];
    // (0, 59]: 600 + 300 + 200 = 1,100; at 60 the charge from 0 has expired: 300 + 200 + 100.
    assert_eq!(worst_window(&admits, s(60)), (1100, s(59)));
    assert_eq!(worst_window(&admits, s(30)), (600, s(0)));
    assert_eq!(worst_window(&admits[3..], s(60)), (101, s(119)));
}

/// A fixed scenario with every feature on: runs through the same checks (a quick smoke test
/// that does not depend on the generator) and really produces 429s, spills and 408s.
#[test]
fn invariants_hold_on_a_busy_mixed_scenario() {
    let text = r#"
[scenario]
name = "busy"
seed = 11
duration = "5m"
drain = "20s"
metrics_interval = "7s"

[models."m"]
price_input_per_1m = 0.0   # not in the catalogue: prices must be given
price_output_per_1m = 0.0
ptu_price_per_hour = 1.0
decode_tokens_per_s = 60.0
speed_curve = [[1, 1.0], [6, 0.5]]
ptu_input_tpm = 1000.0

[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "m"
tpm = 20_000

[[deployment]]
name = "ptu"
kind = "provisioned"
model = "m"
ptu = 2
bucket_depth = "10s"
spillover = "paygo"
max_concurrency = 3
completion_window = "8s"

[[deployment]]
name = "paygo"
kind = "standard"
model = "m"
pool = "p"
tpm = 20_000
rpm = 30
completion_window = "12s"

[client]
timeout = "20s"
max_retries = 3

[workload]
arrival = "poisson"
rate_per_min = 90

[[workload.class]]
name = "chat"
steps = 3
prompt_tokens = { dist = "normal", mean = 400, sd = 150 }
completion_tokens = { dist = "exponential", mean = 300 }
think_time_s = { dist = "exponential", mean = 2.0 }

[[workload.class]]
name = "stream"
streaming = true
prompt_tokens = 200
completion_tokens = { dist = "lognormal", mean = 800, cv = 1.0 }
max_tokens = 1000
"#;
    let set = crate::parse(text);
    let c = check_scenario(&set.variants[0]).unwrap_or_else(|e| panic!("{}", e.join("\n")));
    println!("busy scenario reached: {c:?}");
    assert!(
        c.rejected_429 > 0
            && c.spilled > 0
            && c.timed_out_408 > 0
            && c.client_retries > 0
            && c.incomplete > 0,
        "{c:?}"
    );
}

/// The time series counts events at the run's final instant. Found by the property test (and
/// fixed): when the final instant was an interval boundary (`span % metrics_interval == 0`),
/// the engine sampled the interval ending there *before* handling that instant's events, and
/// closed the run without sampling the zero-length interval that held them.
#[test]
fn invariants_series_counts_events_at_the_final_instant() {
    // 1. Exact service times: one closed-loop user's 2 s requests (1 s prefill + 1 s decode)
    //    end at 2, 4, ..., 10 s; the run ends at 10 s, a boundary of the 5 s interval. The
    //    series shows 4 completions of 5 and one request still in flight at the end.
    let exact = r#"
[scenario]
name = "edge"
duration = "10s"
drain = "0s"
metrics_interval = "5s"

[models."m"]
price_input_per_1m = 0.0   # not in the catalogue: prices must be given
price_output_per_1m = 0.0
ttft_base = "0s"
prefill_tokens_per_s = 1000.0
decode_tokens_per_s = 100.0
decode_variation_cv = 0.0

[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "m"
tpm = 1_000_000

[[deployment]]
name = "d"
kind = "standard"
model = "m"
pool = "p"
tpm = 1_000_000

[workload]
arrival = "closed"
users = 1

[[workload.class]]
name = "c"
prompt_tokens = 1000
completion_tokens = 100
"#;
    // 2. Everything at time 0 (the property test's shrunk case): a closed-loop session starts at
    //    0 and its only request is rejected at once (it can never fit the token window), with
    //    no retry. The run ends at 0: the series has no row at all, though 1 request was sent,
    //    rejected and failed.
    let at_zero = r#"
[scenario]
name = "edge0"
duration = "20s"
metrics_interval = "1s"

[models."m"]
price_input_per_1m = 0.0   # not in the catalogue: prices must be given
price_output_per_1m = 0.0
decode_tokens_per_s = 15.0

[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "m"
tpm = 1000

[[deployment]]
name = "d"
kind = "standard"
model = "m"
pool = "p"
tpm = 1000

[client]
max_retries = 0

[workload]
arrival = "closed"
users = 1
sessions = 1

[[workload.class]]
name = "c"
prompt_tokens = 10
completion_tokens = 5
max_tokens = 2000
"#;
    let mut failures = Vec::new();
    for (name, text) in [
        ("exact service times", exact),
        ("everything at time 0", at_zero),
    ] {
        let set = crate::parse(text);
        if let Err(errors) = check_scenario(&set.variants[0]) {
            failures.push(format!("{name}:\n  {}", errors.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// docs/scenario.md, `[scenario] duration`: "closed-loop users start no new session after it"
/// (and `users`: "... waits `user_think_time_s` and starts the next, as long as the clock is
/// before `duration`"). The engine used to check the clock when a session *ended*, then start
/// the next one after the think time even if that was past `duration` (fixed).
#[test]
fn invariants_closed_loop_users_start_no_session_after_duration() {
    // One user; each 1-step session takes ~1 s; 15 s between sessions. Sessions start at 0 and
    // ~16 s; the third would start at ~32 s, after the 20 s duration (inside the drain).
    let text = r#"
[scenario]
name = "closed-after-duration"
duration = "20s"
drain = "60s"

[models."m"]
price_input_per_1m = 0.0   # not in the catalogue: prices must be given
price_output_per_1m = 0.0
ttft_base = "0s"
decode_tokens_per_s = 100.0
decode_variation_cv = 0.0

[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "m"
tpm = 1_000_000

[[deployment]]
name = "d"
kind = "standard"
model = "m"
pool = "p"
tpm = 1_000_000

[workload]
arrival = "closed"
users = 1
user_think_time_s = 15.0

[[workload.class]]
name = "c"
prompt_tokens = 10
completion_tokens = 100
"#;
    let set = crate::parse(text);
    let sc = &set.variants[0];
    let mut recs = Records::default();
    let m = spillway::engine::simulate(sc, Some(&mut recs));
    let late: Vec<String> = recs
        .0
        .iter()
        .filter(|r| r.step == 0 && r.start >= sc.duration)
        .map(|r| format!("session {:#x} at {:?}", r.session, r.start))
        .collect();
    assert!(
        late.is_empty(),
        "{} sessions started; started at or after the 20 s duration: {}",
        m.sessions_started,
        late.join(", ")
    );
}
