//! The checked, typed scenario the engine runs: what the validators (`validate/`) produce from a
//! [`super::raw::RawScenario`]. Every value here has passed its range and cross-reference checks;
//! indexes (model, pool, deployment) point into the vectors of the same [`Scenario`].

use crate::dist::Dist;
use crate::time::SimTime;

use super::ModelParams;

/// One fully checked variant of a scenario, ready to simulate.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Scenario name.
    pub name: String,
    /// Variant name.
    pub variant: String,
    /// Variant description, if any.
    pub description: Option<String>,
    /// Master seed (shared by all variants: common random numbers).
    pub seed: u64,
    /// New sessions arrive in `[0, duration)`.
    pub duration: SimTime,
    /// Sessions still running at `duration + drain` are cut off and reported as incomplete.
    pub drain: SimTime,
    /// Time-series interval.
    pub metrics_interval: SimTime,
    /// Models used, by index.
    pub models: Vec<ModelParams>,
    /// Quota pools.
    pub pools: Vec<Pool>,
    /// Deployments, by index.
    pub deployments: Vec<Deployment>,
    /// Client SDK behaviour.
    pub client: ClientPolicy,
    /// Router (used when there is no gateway).
    pub router: RouterSpec,
    /// The gateway, when `[gateway]` is present: it replaces the router.
    pub gateway: Option<crate::gateway::GatewaySpec>,
    /// Faults injected on deployments.
    pub faults: Vec<crate::gateway::Fault>,
    /// Arrivals and session classes.
    pub workload: Workload,
    /// `[scenario] baseline`: the variant the others are compared with (`None`: the first).
    /// The same in every variant of a file.
    pub baseline: Option<String>,
}

/// A standard quota pool.
#[derive(Clone, Debug)]
pub struct Pool {
    /// Name.
    pub name: String,
    /// Subscription.
    pub subscription: String,
    /// Region.
    pub region: String,
    /// Model index.
    pub model: usize,
    /// Deployment type (`global-standard`, `data-zone-standard`, `standard`).
    pub deployment_type: String,
    /// Tokens per minute.
    pub tpm: u64,
    /// Requests per minute.
    pub rpm: u64,
}

/// How a deployment serves tokens.
#[derive(Clone, Debug)]
pub struct Serving {
    /// Fixed part of time to first token (plus any extra network latency).
    pub ttft_base: SimTime,
    /// Prompt tokens processed per second before the first token.
    pub prefill_tokens_per_s: f64,
    /// Mean decode speed (tokens/s) of one request alone on the deployment.
    pub decode_tokens_per_s: f64,
    /// Per-request speed variation: coefficient of variation of a lognormal multiplier.
    pub decode_variation_cv: f64,
    /// Speed multiplier by concurrency: `speed_table[n]` for n requests decoding (index 0
    /// unused); beyond the end the last value holds.
    pub speed_table: Vec<f64>,
    /// Time-to-first-token multiplier by the attempts in service when one starts (same form
    /// as `speed_table`).
    pub ttft_table: Vec<f64>,
    /// Per-attempt time-to-first-token noise: coefficient of variation of a lognormal factor.
    pub ttft_variation_cv: f64,
    /// Whether a retry or failover draws a fresh decode speed.
    pub fresh_speed_per_attempt: bool,
}

/// Whether a speed table leaves every request at its solo speed whatever the concurrency.
pub fn is_flat(speed_table: &[f64]) -> bool {
    speed_table.iter().all(|&f| f == 1.0)
}

impl Serving {
    /// Speed multiplier with `n` requests decoding at once.
    #[inline]
    pub fn speed_factor(&self, n: usize) -> f64 {
        debug_assert!(!self.speed_table.is_empty());
        let i = n.min(self.speed_table.len() - 1);
        self.speed_table[i]
    }

    /// Time-to-first-token multiplier with `n` attempts in service.
    #[inline]
    pub fn ttft_factor(&self, n: usize) -> f64 {
        let i = n.min(self.ttft_table.len() - 1);
        self.ttft_table[i]
    }
}

/// Deployment kind and admission parameters.
#[derive(Clone, Debug)]
pub enum DeploymentKind {
    /// Pay-as-you-go: rolling token and request windows.
    Standard {
        /// Pool index.
        pool: usize,
        /// Token limit per `token_window` (the deployment's TPM share).
        tpm: u64,
        /// Request limit per minute.
        rpm: u64,
        /// Rolling token window length (60 s).
        token_window: SimTime,
        /// Rolling request window length (10 s; requests allowed = rpm * window / 60 s).
        request_window: SimTime,
        /// Whether rejected attempts still count in the request window.
        count_rejected_requests: bool,
    },
    /// Provisioned throughput: leaky-bucket utilization.
    Provisioned {
        /// PTUs.
        ptu: u32,
        /// Normalized tokens drained per minute (ptu x input TPM per PTU).
        capacity_per_min: f64,
        /// Output tokens' weight in the normalized cost.
        output_ratio: f64,
        /// Bucket depth as a drain time: 100% utilization = this much drain.
        bucket_depth: SimTime,
        /// Standard deployment that takes this one's 429s.
        spillover: Option<usize>,
        /// Price per PTU-hour.
        price_per_ptu_hour: f64,
    },
}

/// A deployment, checked.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// Name.
    pub name: String,
    /// Model index.
    pub model: usize,
    /// Region (pool region for standard deployments).
    pub region: String,
    /// Kind and admission parameters.
    pub kind: DeploymentKind,
    /// Serving speed.
    pub serving: Serving,
    /// Concurrency cap; admitted attempts beyond it wait in a FIFO queue.
    pub max_concurrency: Option<u32>,
    /// Server-side completion window for non-streaming attempts (408 when exceeded).
    pub completion_window: Option<SimTime>,
    /// Whether tokens of attempts that end early (408, client timeout) are billed.
    pub bill_incomplete: bool,
}

impl Deployment {
    /// `"standard"` or `"provisioned"`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            DeploymentKind::Standard { .. } => "standard",
            DeploymentKind::Provisioned { .. } => "provisioned",
        }
    }
}

/// The client SDK's timeout and retry behaviour.
#[derive(Clone, Debug)]
pub struct ClientPolicy {
    /// Non-streaming: bounds the whole answer. Streaming: bounds the wait for the first token.
    pub timeout: SimTime,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff before retry n (0-based): `min(initial * 2^n, max) * (1 - jitter * U[0,1))`.
    pub backoff_initial: SimTime,
    /// Backoff cap.
    pub backoff_max: SimTime,
    /// Jitter fraction.
    pub backoff_jitter: f64,
    /// Retry-After is honoured when `0 < value <= cap`; otherwise the backoff applies.
    pub retry_after_cap: SimTime,
    /// HTTP statuses that are retried.
    pub retry_statuses: crate::gateway::StatusSet,
    /// Whether client-side timeouts are retried.
    pub retry_on_timeout: bool,
}

/// Minimal router policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutePolicy {
    /// Rotate over the deployments.
    RoundRobin,
    /// Always the first deployment in the list that has not been tried for this attempt.
    Priority,
}

/// The router: which deployments serve each model, and failover.
#[derive(Clone, Debug)]
pub struct RouterSpec {
    /// Policy.
    pub policy: RoutePolicy,
    /// Deployments per model index, in routing order.
    pub routes: Vec<Vec<usize>>,
    /// Statuses on which the router tries the next deployment at once.
    pub failover_on: Vec<u16>,
}

/// How sessions arrive.
#[derive(Clone, Debug)]
pub enum Arrivals {
    /// `users` concurrent users, each starting a new session when the last ends, after a
    /// think time.
    Closed {
        /// Users.
        users: u32,
        /// Think time between a user's sessions, seconds.
        think_time_s: Dist,
    },
    /// Poisson arrivals with a piecewise-constant rate (sessions per minute) starting at the
    /// given times; a single rate is one piece.
    Poisson {
        /// `(from, sessions per minute)`, sorted, first at time zero.
        schedule: Vec<(SimTime, f64)>,
    },
    /// Evenly spaced arrivals at a piecewise-constant rate.
    Constant {
        /// `(from, sessions per minute)`, sorted, first at time zero.
        schedule: Vec<(SimTime, f64)>,
    },
}

/// One call shape of a session class: what the call asks for.
#[derive(Clone, Debug)]
pub struct Step {
    /// Name (`step-N` unless given).
    pub name: String,
    /// Model index.
    pub model: usize,
    /// Prompt tokens.
    pub prompt_tokens: Dist,
    /// Completion tokens the call wants.
    pub completion_tokens: Dist,
    /// Share of the prompt that is a cached prefix, in [0, 1].
    pub cached_prompt_share: Dist,
    /// Think time after the step (after its stage), seconds.
    pub think_time_s: Dist,
    /// `max_tokens` sent with the call.
    pub max_tokens: Option<u32>,
    /// Whether the call streams.
    pub streaming: bool,
}

/// Calls a session makes at once; the flow moves on when all have succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    /// One entry per call, the index of its step (a step may appear several times: fan-out).
    pub calls: Vec<u16>,
    /// The step whose think time follows the stage.
    pub think_after: u16,
}

/// A session class.
#[derive(Clone, Debug)]
pub struct SessionClass {
    /// Name.
    pub name: String,
    /// Relative weight.
    pub weight: f64,
    /// The call shapes.
    pub steps: Vec<Step>,
    /// The flow: stages in order.
    pub flow: Vec<Stage>,
    /// Calls per session (over every stage).
    pub calls: u32,
}

/// The workload.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Arrival process. With a trace, an open loop of rate 0: the trace brings every session.
    pub arrivals: Arrivals,
    /// Stop after this many sessions (open loop) or session starts (closed loop).
    pub max_sessions: Option<u64>,
    /// Classes.
    pub classes: Vec<SessionClass>,
    /// Cumulative class weights, normalised to end at 1.
    pub class_cdf: Vec<f64>,
    /// `[workload] trace`: the sessions come from this trace instead of `arrivals`. A
    /// request's class is the one its record names (when a class has that name), else the
    /// first class; the class gives what the record lacks (model, `max_tokens`, streaming,
    /// think time). See `docs/traces.md`.
    pub trace: Option<TraceSpec>,
}

/// `[workload] trace`, checked: which trace to replay and how (`docs/traces.md`). Read it
/// with [`crate::trace::open`].
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSpec {
    /// The trace file (a scenario's relative path is resolved against the scenario's folder).
    pub file: std::path::PathBuf,
    /// Its format; `None`: told from its first line when opened.
    pub format: Option<crate::trace::TraceFormat>,
    /// How requests are released: at their recorded times, or session by session.
    pub mode: crate::trace::TraceMode,
    /// Start of the window on the trace's clock (default: its first row).
    pub from: Option<crate::trace::ClockPoint>,
    /// End of the window, excluded (default: the end of the trace).
    pub to: Option<crate::trace::ClockPoint>,
    /// Speed-up factor, or the mean rate to reach.
    pub speed: crate::trace::TraceSpeed,
    /// Factor on prompt (and cached prompt) tokens.
    pub prompt_scale: f64,
    /// Factor on completion tokens.
    pub completion_scale: f64,
    /// Model renaming: the trace's name to the scenario's.
    pub models: std::collections::BTreeMap<String, String>,
    /// Fraction of sessions kept, in (0, 1]; `None` keeps them all.
    pub sample: Option<f64>,
    /// Seed of the sample (the scenario's seed unless `sample_seed` is given).
    pub sample_seed: u64,
    /// A session id silent for longer than this starts a new session.
    pub session_idle: SimTime,
    /// Whether replayed requests keep the trace's cached prompt tokens (`prompt_cache`).
    pub prompt_cache: bool,
}

impl TraceSpec {
    /// The trace at `file`, replayed as recorded: format told from the file, open mode, the
    /// whole trace at its own speed, tokens and models as written, every session.
    pub fn new(file: impl Into<std::path::PathBuf>) -> TraceSpec {
        TraceSpec {
            file: file.into(),
            format: None,
            mode: crate::trace::TraceMode::Open,
            from: None,
            to: None,
            speed: crate::trace::TraceSpeed::Factor(1.0),
            prompt_scale: 1.0,
            completion_scale: 1.0,
            models: std::collections::BTreeMap::new(),
            sample: None,
            sample_seed: 0,
            session_idle: SimTime::from_secs(3600),
            prompt_cache: true,
        }
    }
}
