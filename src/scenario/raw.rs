//! The scenario file as written: serde structs that mirror the TOML one to one.
//!
//! Nothing here is checked beyond its TOML type and unknown keys (every table denies unknown
//! fields). The validators (`validate/`) turn a [`RawScenario`] into a typed [`super::Scenario`].
//! Durations stay strings here so that their errors can name the key.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::dist::RawDist;

/// A whole scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawScenario {
    /// `[scenario]`: name, seed, horizon.
    pub scenario: RawMeta,
    /// `[models."NAME"]`: overrides of the built-in per-model parameters.
    #[serde(default)]
    pub models: BTreeMap<String, RawModel>,
    /// `[[pool]]`: standard quota pools (subscription x region x model x deployment type).
    #[serde(default)]
    pub pool: Vec<RawPool>,
    /// `[[deployment]]`: standard and provisioned deployments.
    #[serde(default)]
    pub deployment: Vec<RawDeployment>,
    /// `[client]`: the application's SDK settings.
    #[serde(default)]
    pub client: RawClient,
    /// `[router]`: how the client spreads calls over deployments.
    #[serde(default)]
    pub router: RawRouter,
    /// `[gateway]`: the gateway in front of the deployments (replaces `[router]` when present).
    pub gateway: Option<RawGateway>,
    /// `[[fault]]`: faults injected on deployments.
    #[serde(default)]
    pub fault: Vec<RawFault>,
    /// `[workload]`: arrivals and session classes.
    pub workload: RawWorkload,
    /// `[[variant]]`: named overrides; kept as plain tables and applied before deserializing.
    #[serde(default)]
    #[schemars(with = "Vec<crate::cli::schema::VariantSchema>")]
    pub variant: Vec<toml::Table>,
    /// `[sweep]`: the parameter grid of `spillway sweep`.
    pub sweep: Option<RawSweep>,
    /// `[[slo]]`: service-level objectives checked by `spillway check` and `sweep --check`.
    #[serde(default)]
    pub slo: Vec<RawSlo>,
}

/// `[sweep]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawSweep {
    /// `"dotted.key" = [values]` or `"dotted.key" = "A..B step S"`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, crate::cli::schema::GridValues>")]
    pub grid: toml::Table,
    /// Independent replications per point and variant (different seeds).
    pub replications: Option<u32>,
    /// Variants to sweep (default: all).
    pub variants: Option<Vec<String>>,
}

/// `[[slo]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawSlo {
    /// Shown in the SLO table (default: the metric and bound).
    pub name: Option<String>,
    /// A summary path (`sessions.duration_ms.p95`) or a ratio of two (`requests.failed / requests.sent`).
    pub metric: String,
    /// Upper bound, in the metric's unit (milliseconds for latencies, a share for ratios).
    pub max: Option<f64>,
    /// Lower bound, in the metric's unit.
    pub min: Option<f64>,
    /// Variants it applies to (default: all).
    pub variants: Option<Vec<String>>,
}

/// `[scenario]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawMeta {
    /// Scenario name, echoed in outputs.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Master seed.
    pub seed: Option<u64>,
    /// How long new sessions arrive.
    pub duration: String,
    /// How long in-flight sessions may run on after `duration`.
    pub drain: Option<String>,
    /// Time-series interval.
    pub metrics_interval: Option<String>,
    /// The variant the others are compared with in the table, `summary.md` and the report
    /// (default: the first variant); `--baseline NAME` replaces it.
    pub baseline: Option<String>,
}

/// `[models."NAME"]`: every key optional; unset keys take the model catalogue's value for that model (`spillway models`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawModel {
    /// Fixed part of time to first token (a duration, e.g. "300ms"): TTFT = ttft_base + prompt tokens / prefill_tokens_per_s.
    pub ttft_base: Option<String>,
    /// Prompt tokens processed per second before the first token.
    pub prefill_tokens_per_s: Option<f64>,
    /// Mean solo decode speed, output tokens per second (required for a model that is not in the catalogue).
    pub decode_tokens_per_s: Option<f64>,
    /// Per-request speed variation: coefficient of variation of a lognormal factor with mean 1 (0 = none).
    pub decode_variation_cv: Option<f64>,
    /// How decoding slows with concurrency: [[n, factor], ...], n whole and increasing, factor > 0.
    pub speed_curve: Option<Vec<[f64; 2]>>,
    /// Completion tokens charged at admission when a call sends no max_tokens.
    pub default_max_tokens_estimate: Option<u32>,
    /// Requests per minute granted per 1,000 TPM of quota (default rpm of pools and standard deployments).
    pub rpm_per_1k_tpm: Option<f64>,
    /// Input tokens per minute per PTU (provisioned capacity).
    pub ptu_input_tpm: Option<f64>,
    /// Weight of one output token relative to one input token in PTU utilization.
    pub ptu_output_ratio: Option<f64>,
    /// Smallest provisioned deployment of this model, in PTUs (default: the catalogue's Global and Data Zone minimum).
    pub ptu_minimum: Option<u32>,
    /// Provisioned deployments of this model grow in steps of this many PTUs (default: the catalogue's).
    pub ptu_step: Option<u32>,
    /// USD per 1M input tokens on standard deployments (required for a model without a catalogue price; 0 allowed).
    pub price_input_per_1m: Option<f64>,
    /// USD per 1M cached input tokens on standard deployments (default: the catalogue's, else the input price).
    pub price_cached_input_per_1m: Option<f64>,
    /// USD per 1M output tokens on standard deployments (required for a model without a catalogue price; 0 allowed).
    pub price_output_per_1m: Option<f64>,
    /// Context window, tokens: prompt + max_tokens beyond it gets a 400.
    pub context_window: Option<u32>,
    /// USD per PTU-hour (default of provisioned deployments of this model; required for a model without a catalogue price).
    pub ptu_price_per_hour: Option<f64>,
    /// How time to first token grows with the attempts in service on the deployment:
    /// [[n, factor], ...] (default flat).
    pub ttft_curve: Option<Vec<[f64; 2]>>,
    /// Per-attempt time-to-first-token noise: coefficient of variation of a lognormal factor
    /// with mean 1 (default 0; e.g. Global Standard's spread: no latency SLA).
    pub ttft_variation_cv: Option<f64>,
    /// Whether a retry or failover is served at a fresh speed draw (default true: another
    /// replica); false keeps one speed per call.
    pub fresh_speed_per_attempt: Option<bool>,
}

/// `[[pool]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawPool {
    /// Unique pool name; deployments refer to it.
    pub name: String,
    /// Subscription label (reported only).
    pub subscription: String,
    /// Region; becomes the region of the pool's standard deployments.
    pub region: String,
    /// Model of the pool; every deployment in it must serve this model.
    pub model: String,
    /// Label: "global-standard" (default), "data-zone-standard", "standard".
    pub deployment_type: Option<String>,
    /// Tokens per minute of the pool.
    pub tpm: u64,
    /// Requests per minute of the pool (default: tpm / 1000 x the model's rpm_per_1k_tpm).
    pub rpm: Option<u64>,
}

/// `[[deployment]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawDeployment {
    /// Unique deployment name (router lists, spillover, --set deployment.NAME.KEY, outputs).
    pub name: String,
    /// "standard" (pay-as-you-go, rolling TPM/RPM windows) or "provisioned" (PTU, leaky bucket).
    pub kind: String,
    /// Model served.
    pub model: String,
    /// Provisioned only: region label (a standard deployment takes its pool's region).
    pub region: Option<String>,
    // standard
    /// Standard: the [[pool]] this deployment draws its quota from.
    pub pool: Option<String>,
    /// Standard: this deployment's share of the pool, tokens per minute, a multiple of 1000.
    pub tpm: Option<u64>,
    /// Standard: requests per minute (default: tpm / 1000 x the model's rpm_per_1k_tpm).
    pub rpm: Option<u64>,
    /// Standard: rolling token window length (default "60s").
    pub token_window: Option<String>,
    /// Standard: rolling request window length (default "10s").
    pub request_window: Option<String>,
    /// Standard: whether a rejected (429) attempt still takes a slot in the request window (default false).
    pub count_rejected_requests: Option<bool>,
    // provisioned
    /// Provisioned: provisioned throughput units.
    pub ptu: Option<u32>,
    /// Provisioned: 100% utilization = this much drain at full capacity (default "60s").
    pub bucket_depth: Option<String>,
    /// Provisioned: a standard deployment of the same model that takes this deployment's 429s.
    pub spillover: Option<String>,
    /// Provisioned: USD per PTU-hour, billed over the scenario duration.
    pub ptu_price_per_hour: Option<f64>,
    // serving
    /// At most this many admitted attempts in prefill or decode at once; more wait in a FIFO queue.
    pub max_concurrency: Option<u32>,
    /// Server-side limit for non-streaming attempts from admission (default "60s"; "none" disables); 408 beyond it.
    pub completion_window: Option<String>,
    /// Whether tokens processed by attempts that end early are billed (standard; default true).
    pub bill_incomplete: Option<bool>,
    /// Added to ttft_base for this deployment (e.g. a cross-region round trip).
    pub extra_latency: Option<String>,
    /// Replaces the model's ttft_base for this deployment.
    pub ttft_base: Option<String>,
    /// Replaces the model's prefill speed for this deployment.
    pub prefill_tokens_per_s: Option<f64>,
    /// Replaces the model's decode speed for this deployment.
    pub decode_tokens_per_s: Option<f64>,
    /// Replaces the model's per-request speed variation for this deployment.
    pub decode_variation_cv: Option<f64>,
    /// Replaces the model's speed curve for this deployment.
    pub speed_curve: Option<Vec<[f64; 2]>>,
    /// Overrides the model's `ttft_curve` on this deployment.
    pub ttft_curve: Option<Vec<[f64; 2]>>,
    /// Overrides the model's `ttft_variation_cv` on this deployment.
    pub ttft_variation_cv: Option<f64>,
    /// Standard only: replicate this deployment and its pool into this many subscriptions.
    pub copies: Option<u32>,
}

/// `[client]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawClient {
    /// Per attempt, from admission (default "600s"); streaming: bounds the wait for the first token only.
    pub timeout: Option<String>,
    /// Retries after the first attempt (default 2).
    pub max_retries: Option<u32>,
    /// Backoff before the first retry, doubled each retry (default "500ms").
    pub backoff_initial: Option<String>,
    /// Cap of the backoff (default "8s").
    pub backoff_max: Option<String>,
    /// Jitter fraction in [0, 1] (default 0.25).
    pub backoff_jitter: Option<f64>,
    /// A Retry-After up to this is honoured; longer ones fall back to the backoff (default "60s").
    pub retry_after_cap: Option<String>,
    /// HTTP statuses retried (default [408, 409, 429, 500, 502, 503, 504]).
    pub retry_statuses: Option<Vec<RawStatus>>,
    /// Whether a client-side timeout is retried (default true).
    pub retry_on_timeout: Option<bool>,
}

/// `[router]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawRouter {
    /// "round-robin" (default) or "priority".
    pub policy: Option<String>,
    /// The routing list, in order (default: every deployment that is not a spillover target).
    pub deployments: Option<Vec<String>>,
    /// Statuses that make the router try the next deployment at once (default [429]).
    pub failover_on: Option<Vec<u16>>,
}

/// An HTTP status or an inclusive range of them: `429` or `"500-599"`.
#[derive(Clone, Debug, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RawStatus {
    /// One status.
    One(u16),
    /// `"429"` or `"500-599"`.
    Text(String),
}

impl<'de> Deserialize<'de> for RawStatus {
    // Not `untagged`: serde's untagged errors say only "data did not match any variant"; this
    // says what was found and what is allowed.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, Unexpected};
        const EXPECTED: &str = "an HTTP status or a range like \"500-599\"";
        match toml::Value::deserialize(d)? {
            toml::Value::Integer(i) => u16::try_from(i)
                .map(RawStatus::One)
                .map_err(|_| D::Error::invalid_value(Unexpected::Signed(i), &EXPECTED)),
            toml::Value::String(s) => Ok(RawStatus::Text(s)),
            toml::Value::Float(f) => Err(D::Error::invalid_type(Unexpected::Float(f), &EXPECTED)),
            toml::Value::Boolean(b) => Err(D::Error::invalid_type(Unexpected::Bool(b), &EXPECTED)),
            toml::Value::Array(_) => Err(D::Error::invalid_type(Unexpected::Seq, &EXPECTED)),
            other => Err(D::Error::invalid_type(
                Unexpected::Other(other.type_str()),
                &EXPECTED,
            )),
        }
    }
}

/// `[gateway]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawGateway {
    /// "round-robin" (default), "weighted", "random", "priority", "least-outstanding", "least-utilized", "lowest-latency" or "power-of-two".
    pub policy: Option<String>,
    /// Gateway instances, 1-64 (default 1); they share no state.
    pub instances: Option<u32>,
    /// Weight of a new latency sample for lowest-latency, in (0, 1] (default 0.3).
    pub ewma_alpha: Option<f64>,
    /// Latency sample recorded for a failed forward (default "5s").
    pub latency_failure_penalty: Option<String>,
    /// How long a reported utilization is believed (default "10s").
    pub utilization_ttl: Option<String>,
    /// [[gateway.backend]]: the deployments behind the gateway.
    #[serde(default)]
    pub backend: Vec<RawBackend>,
    /// [gateway.retry]: retries the gateway makes itself.
    pub retry: Option<RawGatewayRetry>,
    /// [gateway.throttle]: mark a backend throttled for its Retry-After (present = enabled).
    pub throttle: Option<RawThrottle>,
    /// [gateway.breaker]: one circuit breaker per backend and instance (present = enabled).
    pub breaker: Option<RawBreaker>,
    /// Inbound max_tokens cap applied to every request.
    pub max_tokens: Option<u32>,
    /// Gateway timeout: 504 when a forward has not finished (or, streaming, started) within it.
    pub timeout: Option<String>,
    /// [gateway.token_limit]: tokens per minute per key (present = enabled).
    pub token_limit: Option<RawTokenLimit>,
    /// [gateway.token_quota]: tokens per period per key (present = enabled).
    pub token_quota: Option<RawTokenQuota>,
    /// [gateway.cache]: a semantic cache (present = enabled).
    pub cache: Option<RawCache>,
}

/// `[gateway.token_limit]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawTokenLimit {
    /// Estimated tokens admitted per key in a rolling 60 s window, per instance.
    pub tokens_per_minute: u64,
    /// What a counter is kept per: "class" (default) or "all".
    pub key: Option<String>,
}

/// `[gateway.token_quota]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawTokenQuota {
    /// Estimated tokens admitted per key and period, per instance.
    pub tokens: u64,
    /// Period length (a duration); periods start at time 0.
    pub period: String,
    /// What a counter is kept per: "class" (default) or "all".
    pub key: Option<String>,
}

/// `[gateway.cache]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawCache {
    /// Probability in [0, 1] that a request is answered from the cache.
    pub hit_ratio: f64,
    /// Time every lookup takes (default "30ms").
    pub lookup_latency: Option<String>,
    /// USD per 1,000 prompt tokens embedded per lookup (default 0.0001).
    pub embedding_cost_per_1k_tokens: Option<f64>,
}

/// `[[gateway.backend]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawBackend {
    /// The deployment behind this backend.
    pub deployment: String,
    /// Priority group, 1 used first (default 1).
    pub priority: Option<u32>,
    /// Relative weight for policy "weighted" (default 1).
    pub weight: Option<f64>,
}

/// `[gateway.retry]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawGatewayRetry {
    /// Retries after the first forward of a client attempt (default 0).
    pub count: Option<u32>,
    /// Wait before each gateway retry (default "0s").
    pub interval: Option<String>,
    /// The first retry goes at once (default true).
    pub first_fast_retry: Option<bool>,
    /// Backend statuses retried: integers or ranges such as "500-599" (default [408, 429, "500-599"]).
    pub on: Option<Vec<RawStatus>>,
}

/// `[gateway.throttle]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawThrottle {
    /// Statuses that mark the backend throttled (default [429, "500-599"]).
    pub on: Option<Vec<RawStatus>>,
    /// How long a mark lasts when the answer has no Retry-After (default "10s").
    pub default_retry_after: Option<String>,
}

/// `[gateway.breaker]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawBreaker {
    /// Answers that count as failures (default [429, "500-599"]).
    pub statuses: Option<Vec<RawStatus>>,
    /// Trip at this many failures within interval (default 5).
    pub failures: Option<u32>,
    /// Instead of failures: trip at this share of answers, in (0, 100].
    pub failure_percent: Option<f64>,
    /// With failure_percent: answers needed within interval first (default 10).
    pub min_requests: Option<u32>,
    /// Rolling interval failures are counted in (default "10s").
    pub interval: Option<String>,
    /// How long the breaker stays open (default "30s").
    pub trip_duration: Option<String>,
    /// The tripping answer's Retry-After replaces trip_duration (default false).
    pub accept_retry_after: Option<bool>,
    /// Upper bound on an accepted Retry-After (default "none").
    pub retry_after_cap: Option<String>,
}

/// `[[fault]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawFault {
    /// Unique fault name.
    pub name: String,
    /// "outage", "errors", "capacity-429" or "limit-cut".
    pub kind: String,
    /// One deployment (default: all); not with region.
    pub deployment: Option<String>,
    /// Every deployment in this region; not with deployment.
    pub region: Option<String>,
    /// Start of the fault (default "0s").
    pub from: Option<String>,
    /// End of the fault (default "end").
    pub to: Option<String>,
    /// Status answered (default 503 for outage, 500 for errors).
    pub status: Option<u16>,
    /// Probability per attempt, for errors and capacity-429.
    pub rate: Option<f64>,
    /// capacity-429: Retry-After sent (default "1s").
    pub retry_after: Option<String>,
    /// limit-cut: share of the limits kept, in (0, 1].
    pub factor: Option<f64>,
}

/// `[workload]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawWorkload {
    /// "closed" (N users), "poisson" or "constant" (open loop); not with trace.
    pub arrival: Option<String>,
    /// Closed loop: concurrent users.
    pub users: Option<u32>,
    /// Closed loop: pause between one user's sessions, seconds (a number or a distribution).
    pub user_think_time_s: Option<RawDist>,
    /// Open loop: sessions per minute (or give schedule).
    pub rate_per_min: Option<f64>,
    /// Open loop: piecewise-constant rate, [{ at = "0s", rate_per_min = N }, ...].
    pub schedule: Option<Vec<RawRatePoint>>,
    /// Stop after this many sessions have started.
    pub sessions: Option<u64>,
    /// [[workload.class]]: session classes.
    #[serde(default)]
    pub class: Vec<RawClass>,
    /// Replay a recorded trace instead of arrivals (docs/traces.md).
    pub trace: Option<RawTrace>,
}

/// `[workload] trace = { file = "...", ... }`: a trace replayed as the workload.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawTrace {
    /// The trace file, relative to the scenario file's folder; gzip-compressed or not.
    pub file: String,
    /// "auto" (default: told from the header), "azure", "mooncake", "burstgpt", "spillway-csv" or "spillway-jsonl".
    pub format: Option<String>,
    /// "open" (default: each request at its recorded time) or "session" (a session's next step after the previous one completes plus the recorded gap).
    pub mode: Option<String>,
    /// Start of the window on the trace's clock: a duration after its first request ("10m") or a date-time.
    pub from: Option<String>,
    /// End of the window (excluded): a duration after its first request, a date-time, or "end" (default).
    pub to: Option<String>,
    /// Replay this many times faster than recorded (default 1); not with rate_per_min.
    pub speedup: Option<f64>,
    /// Replay at this mean rate, requests per minute (sets the speed-up); not with speedup.
    pub rate_per_min: Option<f64>,
    /// Factor on prompt tokens (default 1).
    pub prompt_scale: Option<f64>,
    /// Factor on completion tokens (default 1).
    pub completion_scale: Option<f64>,
    /// Model renaming: { "name in the trace" = "scenario model" }.
    pub models: Option<BTreeMap<String, String>>,
    /// Fraction of sessions replayed, in (0, 1] (default 1: all), chosen by a hash of (seed, session).
    pub sample: Option<f64>,
    /// Seed of the sample (default: the scenario's seed).
    pub sample_seed: Option<u64>,
    /// A session id silent for longer than this starts a new session (default "1h").
    pub session_idle: Option<String>,
    /// Whether requests keep the trace's cached prompt tokens (default true); false replays every prompt token as uncached.
    pub prompt_cache: Option<bool>,
}

/// One step of a piecewise arrival schedule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawRatePoint {
    /// When this rate starts (a duration; the first point is at "0s").
    pub at: String,
    /// Sessions per minute from then on.
    pub rate_per_min: f64,
}

/// `[[workload.class]]`: a kind of session. Either the short form (one call shape repeated
/// `steps` times in sequence) or a flow of `[[workload.class.step]]`s; the class's own call keys
/// are then the defaults of its steps.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawClass {
    /// Unique class name.
    pub name: String,
    /// Relative frequency (default 1).
    pub weight: Option<f64>,
    /// Short form: sequential calls per session (default 1). Not with `step`.
    pub steps: Option<u32>,
    /// Model the calls use (required when the scenario uses several).
    pub model: Option<String>,
    /// Prompt tokens per call: a number or a distribution table.
    pub prompt_tokens: Option<RawDist>,
    /// Completion tokens the call wants: a number or a distribution table.
    pub completion_tokens: Option<RawDist>,
    /// Share of the prompt that is a cached prefix, from 0 to 1 (default 0).
    pub cached_prompt_share: Option<RawDist>,
    /// Pause after each successful call before the next step, seconds (default 0).
    pub think_time_s: Option<RawDist>,
    /// max_tokens sent with every call: caps the answer and is charged at admission.
    pub max_tokens: Option<u32>,
    /// Streaming calls (default false).
    pub streaming: Option<bool>,
    /// The flow: steps in order; consecutive steps with the same `group` run at once.
    #[serde(default)]
    pub step: Vec<RawStep>,
}

/// `[[workload.class.step]]`: one step of a flow. Keys left out take the class's value.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawStep {
    /// Name (for outputs; default `step-N`).
    pub name: Option<String>,
    /// Model this step calls.
    pub model: Option<String>,
    /// Prompt tokens: a number or a distribution table.
    pub prompt_tokens: Option<RawDist>,
    /// Completion tokens the call wants.
    pub completion_tokens: Option<RawDist>,
    /// Share of the prompt that is a cached prefix, from 0 to 1.
    pub cached_prompt_share: Option<RawDist>,
    /// Pause after this step (after its group, for a group's last step), seconds.
    pub think_time_s: Option<RawDist>,
    /// max_tokens sent with the call.
    pub max_tokens: Option<u32>,
    /// Whether the call streams.
    pub streaming: Option<bool>,
    /// Run the step this many times in sequence (default 1).
    pub repeat: Option<u32>,
    /// Make this many copies of the call at once (fan-out; the flow waits for all; default 1).
    pub parallel: Option<u32>,
    /// Consecutive steps with the same group name run at once; the flow waits for all.
    pub group: Option<String>,
}
