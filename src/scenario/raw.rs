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
pub struct RawSweep {
    /// `"dotted.key" = [values]` or `"dotted.key" = "A..B step S"`.
    #[serde(default)]
    pub grid: toml::Table,
    /// Independent replications per point and variant (different seeds).
    pub replications: Option<u32>,
    /// Variants to sweep (default: all).
    pub variants: Option<Vec<String>>,
}

/// `[[slo]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub name: Option<String>,
    /// A summary path (`sessions.duration_ms.p95`) or a ratio of two (`requests.failed / requests.sent`).
    pub metric: String,
    pub max: Option<f64>,
    pub min: Option<f64>,
    /// Variants it applies to (default: all).
    pub variants: Option<Vec<String>>,
}

/// `[scenario]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
}

/// `[models."NAME"]`: every key optional; unset keys take the built-in default for that model.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    pub ttft_base: Option<String>,
    pub prefill_tokens_per_s: Option<f64>,
    pub decode_tokens_per_s: Option<f64>,
    pub decode_variation_cv: Option<f64>,
    pub speed_curve: Option<Vec<[f64; 2]>>,
    pub default_max_tokens_estimate: Option<u32>,
    pub rpm_per_1k_tpm: Option<f64>,
    pub ptu_input_tpm: Option<f64>,
    pub ptu_output_ratio: Option<f64>,
    pub price_input_per_1m: Option<f64>,
    pub price_output_per_1m: Option<f64>,
    pub ptu_price_per_hour: Option<f64>,
}

/// `[[pool]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    pub name: String,
    pub subscription: String,
    pub region: String,
    pub model: String,
    pub deployment_type: Option<String>,
    pub tpm: u64,
    pub rpm: Option<u64>,
}

/// `[[deployment]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeployment {
    pub name: String,
    pub kind: String,
    pub model: String,
    pub region: Option<String>,
    // standard
    pub pool: Option<String>,
    pub tpm: Option<u64>,
    pub rpm: Option<u64>,
    pub token_window: Option<String>,
    pub request_window: Option<String>,
    pub count_rejected_requests: Option<bool>,
    // provisioned
    pub ptu: Option<u32>,
    pub bucket_depth: Option<String>,
    pub spillover: Option<String>,
    pub ptu_price_per_hour: Option<f64>,
    // serving
    pub max_concurrency: Option<u32>,
    pub completion_window: Option<String>,
    pub bill_incomplete: Option<bool>,
    pub extra_latency: Option<String>,
    pub ttft_base: Option<String>,
    pub prefill_tokens_per_s: Option<f64>,
    pub decode_tokens_per_s: Option<f64>,
    pub decode_variation_cv: Option<f64>,
    pub speed_curve: Option<Vec<[f64; 2]>>,
    /// Standard only: replicate this deployment and its pool into this many subscriptions.
    pub copies: Option<u32>,
}

/// `[client]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    pub timeout: Option<String>,
    pub max_retries: Option<u32>,
    pub backoff_initial: Option<String>,
    pub backoff_max: Option<String>,
    pub backoff_jitter: Option<f64>,
    pub retry_after_cap: Option<String>,
    pub retry_statuses: Option<Vec<u16>>,
    pub retry_on_timeout: Option<bool>,
}

/// `[router]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouter {
    pub policy: Option<String>,
    pub deployments: Option<Vec<String>>,
    pub failover_on: Option<Vec<u16>>,
}

/// An HTTP status or an inclusive range of them: `429` or `"500-599"`.
#[derive(Clone, Debug)]
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
pub struct RawGateway {
    pub policy: Option<String>,
    pub instances: Option<u32>,
    pub ewma_alpha: Option<f64>,
    pub latency_failure_penalty: Option<String>,
    pub utilization_ttl: Option<String>,
    #[serde(default)]
    pub backend: Vec<RawBackend>,
    pub retry: Option<RawGatewayRetry>,
    pub throttle: Option<RawThrottle>,
    pub breaker: Option<RawBreaker>,
    pub max_tokens: Option<u32>,
    pub timeout: Option<String>,
    pub token_limit: Option<RawTokenLimit>,
    pub token_quota: Option<RawTokenQuota>,
    pub cache: Option<RawCache>,
}

/// `[gateway.token_limit]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTokenLimit {
    pub tokens_per_minute: u64,
    pub key: Option<String>,
}

/// `[gateway.token_quota]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTokenQuota {
    pub tokens: u64,
    pub period: String,
    pub key: Option<String>,
}

/// `[gateway.cache]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    pub hit_ratio: f64,
    pub lookup_latency: Option<String>,
    pub embedding_cost_per_1k_tokens: Option<f64>,
}

/// `[[gateway.backend]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackend {
    pub deployment: String,
    pub priority: Option<u32>,
    pub weight: Option<f64>,
}

/// `[gateway.retry]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGatewayRetry {
    pub count: Option<u32>,
    pub interval: Option<String>,
    pub first_fast_retry: Option<bool>,
    pub on: Option<Vec<RawStatus>>,
}

/// `[gateway.throttle]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThrottle {
    pub on: Option<Vec<RawStatus>>,
    pub default_retry_after: Option<String>,
}

/// `[gateway.breaker]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    pub statuses: Option<Vec<RawStatus>>,
    pub failures: Option<u32>,
    pub failure_percent: Option<f64>,
    pub min_requests: Option<u32>,
    pub interval: Option<String>,
    pub trip_duration: Option<String>,
    pub accept_retry_after: Option<bool>,
    pub retry_after_cap: Option<String>,
}

/// `[[fault]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub name: String,
    pub kind: String,
    pub deployment: Option<String>,
    pub region: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub status: Option<u16>,
    pub rate: Option<f64>,
    pub retry_after: Option<String>,
    pub factor: Option<f64>,
}

/// `[workload]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub arrival: String,
    pub users: Option<u32>,
    pub user_think_time_s: Option<RawDist>,
    pub rate_per_min: Option<f64>,
    pub schedule: Option<Vec<RawRatePoint>>,
    pub sessions: Option<u64>,
    #[serde(default)]
    pub class: Vec<RawClass>,
}

/// One step of a piecewise arrival schedule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRatePoint {
    pub at: String,
    pub rate_per_min: f64,
}

/// `[[workload.class]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClass {
    pub name: String,
    pub weight: Option<f64>,
    pub steps: Option<u32>,
    pub model: Option<String>,
    pub prompt_tokens: RawDist,
    pub completion_tokens: RawDist,
    pub think_time_s: Option<RawDist>,
    pub max_tokens: Option<u32>,
    pub streaming: Option<bool>,
}
