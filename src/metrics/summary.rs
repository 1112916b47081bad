//! The `spillway.summary/v1` document: what a user reads of a run, built from a run's
//! [`RunMetrics`] and its scenario after the run.

use serde::{Deserialize, Serialize};

use super::trace_summary::{TraceSummary, trace_summary};
use super::verdicts::{LoadSummary, SloSummary};
use super::{RunMetrics, round3};
use crate::scenario::{DeploymentKind, Scenario};

/// Schema name of the summary document.
pub const SUMMARY_SCHEMA: &str = "spillway.summary/v1";

/// Percentile summary in milliseconds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// The summary document.
///
/// Names the simulator writes are `&'static str`, so reading it back needs a
/// `Deserializer<'static>`: an owned [`serde_json::Value`] or
/// `serde_json::Deserializer::from_reader` (see [`crate::output::json::de`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    /// Always [`SUMMARY_SCHEMA`].
    #[serde(deserialize_with = "crate::output::json::de::summary_schema")]
    pub schema: &'static str,
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// The variant the others are compared with (`[scenario] baseline` or `--baseline`;
    /// default the first). Absent in summaries written before it existed: then the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// The scenario's `[[slo]]` entries and their verdict on each variant (absent when the
    /// scenario has none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slo: Vec<SloSummary>,
    /// One entry per variant, in file order.
    pub variants: Vec<VariantSummary>,
}

/// One variant's results.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub struct VariantSummary {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub requests: RequestCounts,
    pub latency_ms: LatencySummary,
    pub sessions: SessionCounts,
    pub tokens: TokenCounts,
    pub throughput: Throughput,
    pub cost_usd: Cost,
    pub deployments: Vec<DeploymentSummary>,
    /// Present when the scenario has a `[gateway]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewaySummary>,
    /// Present when the scenario has `[[fault]]`s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultSummary>,
    /// Present when the workload replays a trace (`[workload] trace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceSummary>,
    pub sim: SimInfo,
    /// The load the variant ran under (absent in summaries written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadSummary>,
    /// CDF points for charts: `[value_ms, quantile]` (left out of `sweep.json`'s runs).
    #[serde(default)]
    pub distributions: Distributions,
}

/// Distribution points for charts (see [`Latency::cdf`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Distributions {
    pub e2e_ms: Vec<[f64; 2]>,
    pub ttft_ms: Vec<[f64; 2]>,
    pub session_duration_ms: Vec<[f64; 2]>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestCounts {
    pub sent: u64,
    pub attempts: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub rate_limited: u64,
    pub timed_out: u64,
    pub retries: u64,
    pub truncated: u64,
    pub spilled: u64,
    pub failovers: u64,
    pub client_retries: u64,
    pub other_failed: u64,
    pub incomplete: u64,
    pub failed_ratio: f64,
    pub attempts_per_request: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LatencySummary {
    pub ttft: Percentiles,
    pub e2e: Percentiles,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionCounts {
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
    pub incomplete: u64,
    pub duration_ms: Percentiles,
    /// Where the time of a completed session went, mean milliseconds per session (the
    /// critical path of each stage, and the think time between stages).
    #[serde(default)]
    pub time_breakdown_ms: TimeBreakdown,
}

/// Mean time per completed session, by what it was spent on, milliseconds. The parts add up
/// to the mean session duration.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TimeBreakdown {
    /// Think time between stages.
    pub think: f64,
    /// Before the answering attempt was admitted: quota, backoff, failed attempts.
    pub waiting: f64,
    /// Admitted, waiting for a concurrency slot.
    pub queued: f64,
    /// Time to first token once served.
    pub prefill: f64,
    /// Decoding.
    pub generating: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenCounts {
    pub prompt: u64,
    /// Prompt tokens processed that were a cached prefix (all attempts).
    #[serde(default)]
    pub cached_prompt: u64,
    pub completion: u64,
    pub charged_estimate: u64,
    pub wanted_completion: u64,
    pub wasted_completion: u64,
    pub completion_per_request: f64,
    pub generated_per_request: f64,
    /// "Tokens per request" under each reading a report could mean; see [`PerRequest`].
    #[serde(default)]
    pub per_request: PerRequest,
}

/// Tokens per request sent, under every reading of the phrase (the seed case 000 reports "60%
/// fewer tokens per request" without saying which).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PerRequest {
    /// Completion tokens generated, delivered or not (wasted by 408s and timeouts included).
    pub generated: f64,
    /// Completion tokens billed on standard deployments (pay-as-you-go output).
    pub billed_output: f64,
    /// Prompt + completion tokens processed by the deployments (every attempt).
    pub processed: f64,
    /// PTU-normalized tokens processed on provisioned deployments: uncached prompt + output
    /// ratio x completion (what PTU capacity is sized for).
    pub ptu_normalized: f64,
    /// Tokens charged at admission (estimates: prompt + max_tokens or the default estimate).
    pub charged: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Throughput {
    pub requests_per_min: f64,
    pub output_tokens_per_min: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cost {
    pub total: f64,
    pub tokens: f64,
    pub ptu: f64,
    pub spilled_tokens: f64,
    pub per_1k_sessions: f64,
    pub per_1k_requests: f64,
    /// What cached prompt prefixes saved against the input price (not in `total`).
    #[serde(default)]
    pub cache_savings: f64,
    /// Embedding cost of the gateway's semantic cache (included in `total`); present when
    /// the scenario has a `[gateway.cache]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_embedding: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeploymentSummary {
    pub name: String,
    #[serde(deserialize_with = "crate::output::json::de::deployment_kind")]
    pub kind: &'static str,
    pub region: String,
    pub attempts: u64,
    pub admitted: u64,
    pub rejected_429: u64,
    /// 400s: prompt + max_tokens over the model's context window.
    #[serde(default)]
    pub rejected_400: u64,
    pub timed_out_408: u64,
    pub spilled_in: u64,
    pub utilization_mean: f64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub charged_estimate: u64,
    pub cost_usd: f64,
}

/// The gateway's counters in the summary.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GatewaySummary {
    #[serde(deserialize_with = "crate::output::json::de::gateway_policy")]
    pub policy: &'static str,
    pub instances: u32,
    /// Forwards to backends (= `requests.attempts`).
    pub forwarded: u64,
    /// Retries made by the gateway itself.
    pub gateway_retries: u64,
    /// Retries that went to a different backend than the forward before.
    pub failovers: u64,
    /// Gateway-generated 503s (all breakers open) and 429s (all backends throttled).
    pub rejected_503: u64,
    pub rejected_429: u64,
    pub breaker_trips: u64,
    /// Sum over backends and instances of the time breakers were open, seconds.
    pub breaker_open_s: f64,
    pub throttle_marks: u64,
    /// Gateway policy counters; present when the gateway has a `max_tokens` cap, a token
    /// limit or quota, a cache or a timeout.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub policies: Option<GatewayPolicySummary>,
    pub backends: Vec<BackendSummary>,
}

/// The gateway policies' counters (keys of the summary's `gateway` block).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GatewayPolicySummary {
    /// Requests whose `max_tokens` the gateway's cap lowered (or set).
    pub max_tokens_capped: u64,
    /// Gateway 429s of the token limit.
    pub token_limit_429: u64,
    /// Gateway 403s of the token quota.
    pub token_quota_403: u64,
    /// Cache lookups that hit / missed, and the hit share of lookups.
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub cache_hit_ratio: f64,
    /// Embedding cost of the lookups (also in `cost_usd`).
    pub embedding_cost_usd: f64,
    /// Gateway timeouts (504 to the client).
    pub timeouts_504: u64,
}

/// One gateway backend in the summary.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackendSummary {
    pub deployment: String,
    pub priority: u32,
    pub forwarded: u64,
    /// Share of all forwards.
    pub share: f64,
    pub admitted: u64,
    pub failed: u64,
    pub breaker_trips: u64,
    pub breaker_open_s: f64,
    pub throttle_marks: u64,
}

/// Injected faults in the summary.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FaultSummary {
    /// Attempts answered by an injected error (outage or transient error).
    pub errors: u64,
    /// Attempts answered by an injected capacity 429.
    pub capacity_429: u64,
    /// Attempts that reached a deployment during an outage on it.
    pub attempts_in_outage: u64,
    pub deployments: Vec<FaultDeploymentSummary>,
}

/// Per deployment fault counts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FaultDeploymentSummary {
    pub name: String,
    pub errors: u64,
    pub capacity_429: u64,
    pub attempts_in_outage: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SimInfo {
    pub span_s: f64,
    pub events: u64,
    pub in_flight_mean: f64,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

impl RunMetrics {
    /// Builds the variant's summary.
    pub fn summarize(&self, sc: &Scenario) -> VariantSummary {
        let span_min = self.span.as_secs_f64() / 60.0;
        // PTU is reserved for the period studied and billed while it serves: the duration,
        // or the span of the run when the drain goes on past it.
        let span_h = sc.duration.max(self.span).as_secs_f64() / 3600.0;
        let (deployments, token_cost, ptu_cost) = self.deployment_summaries(sc, span_h);
        let embedding = self.gateway.embedding_cost_usd;
        let total = token_cost + ptu_cost + embedding;
        let charged: u64 = self.deployments.iter().map(|m| m.charged_estimate).sum();
        VariantSummary {
            name: sc.variant.clone(),
            description: sc.description.clone(),
            requests: RequestCounts {
                sent: self.sent,
                attempts: self.attempts,
                succeeded: self.succeeded,
                failed: self.failed,
                rate_limited: self.rate_limited,
                timed_out: self.timed_out,
                retries: self.attempts.saturating_sub(self.sent),
                truncated: self.truncated,
                spilled: self.spilled,
                failovers: self.failovers,
                client_retries: self.client_retries,
                other_failed: self.failed - self.rate_limited - self.timed_out,
                incomplete: self.incomplete_requests,
                failed_ratio: round6(ratio(self.failed as f64, self.sent as f64)),
                attempts_per_request: round6(ratio(self.attempts as f64, self.sent as f64)),
            },
            latency_ms: LatencySummary {
                ttft: self.ttft.percentiles(),
                e2e: self.e2e.percentiles(),
            },
            sessions: SessionCounts {
                started: self.sessions_started,
                completed: self.sessions_completed,
                failed: self.sessions_failed,
                incomplete: self.sessions_started - self.sessions_completed - self.sessions_failed,
                duration_ms: self.session_duration.percentiles(),
                time_breakdown_ms: self.time_breakdown(),
            },
            tokens: TokenCounts {
                prompt: self.prompt_tokens,
                cached_prompt: self
                    .deployments
                    .iter()
                    .map(|m| m.cached_prompt_tokens)
                    .sum(),
                completion: self.completion_tokens,
                charged_estimate: charged,
                wanted_completion: self.wanted_tokens,
                wasted_completion: self.wasted_tokens,
                completion_per_request: round3(ratio(
                    self.completion_tokens as f64,
                    self.succeeded as f64,
                )),
                generated_per_request: round3(ratio(
                    (self.completion_tokens + self.wasted_tokens) as f64,
                    self.sent as f64,
                )),
                per_request: self.per_request(),
            },
            throughput: Throughput {
                requests_per_min: round3(ratio(self.succeeded as f64, span_min)),
                output_tokens_per_min: round3(ratio(self.completion_tokens as f64, span_min)),
            },
            cost_usd: Cost {
                total: round6(total),
                tokens: round6(token_cost),
                ptu: round6(ptu_cost),
                spilled_tokens: round6(self.spilled_token_cost_usd),
                per_1k_sessions: round6(ratio(total * 1000.0, self.sessions_completed as f64)),
                per_1k_requests: round6(ratio(total * 1000.0, self.succeeded as f64)),
                cache_savings: round6(self.deployments.iter().map(|m| m.cache_savings_usd).sum()),
                gateway_embedding: sc
                    .gateway
                    .as_ref()
                    .and_then(|g| g.cache.as_ref())
                    .map(|_| round6(embedding)),
            },
            deployments,
            gateway: sc.gateway.as_ref().map(|g| self.gateway_summary(sc, g)),
            faults: (!sc.faults.is_empty()).then(|| self.fault_summary(sc)),
            trace: self.trace.as_ref().and_then(|t| trace_summary(sc, t)),
            distributions: Distributions {
                e2e_ms: self.e2e.cdf(),
                ttft_ms: self.ttft.cdf(),
                session_duration_ms: self.session_duration.cdf(),
            },
            load: Some(LoadSummary::of(sc)),
            sim: SimInfo {
                span_s: round3(self.span.as_secs_f64()),
                events: self.events,
                in_flight_mean: round6(ratio(
                    self.in_flight_area as f64,
                    self.span.as_micros() as f64,
                )),
            },
        }
    }
    /// Per-deployment rows, and the run's token and PTU costs (PTU billed over `span_h`
    /// hours).
    fn deployment_summaries(
        &self,
        sc: &Scenario,
        span_h: f64,
    ) -> (Vec<DeploymentSummary>, f64, f64) {
        let mut ptu_cost = 0.0;
        let mut token_cost = 0.0;
        let mut deployments = Vec::new();
        for (d, m) in sc.deployments.iter().zip(&self.deployments) {
            let own_ptu = match d.kind {
                DeploymentKind::Provisioned {
                    ptu,
                    price_per_ptu_hour,
                    ..
                } => ptu as f64 * price_per_ptu_hour * span_h,
                DeploymentKind::Standard { .. } => 0.0,
            };
            ptu_cost += own_ptu;
            token_cost += m.token_cost_usd;
            deployments.push(DeploymentSummary {
                name: d.name.clone(),
                kind: d.kind_name(),
                region: d.region.clone(),
                attempts: m.attempts,
                admitted: m.admitted,
                rejected_429: m.rejected_429,
                rejected_400: m.rejected_400,
                timed_out_408: m.timed_out_408,
                spilled_in: m.spilled_in,
                utilization_mean: round6(ratio(m.utilization_sum, m.utilization_samples as f64)),
                prompt_tokens: m.prompt_tokens,
                completion_tokens: m.completion_tokens,
                charged_estimate: m.charged_estimate,
                cost_usd: round6(m.token_cost_usd + own_ptu),
            });
        }
        (deployments, token_cost, ptu_cost)
    }

    /// The gateway block of the summary.
    fn gateway_summary(&self, sc: &Scenario, g: &crate::gateway::GatewaySpec) -> GatewaySummary {
        let gm = &self.gateway;
        let forwarded: u64 = gm.backends.iter().map(|b| b.forwarded).sum();
        GatewaySummary {
            policy: g.policy.name(),
            instances: g.instances,
            forwarded,
            gateway_retries: gm.retries,
            failovers: self.failovers,
            rejected_503: gm.rejected_503,
            rejected_429: gm.rejected_429,
            breaker_trips: gm.backends.iter().map(|b| b.breaker_trips).sum(),
            breaker_open_s: round3(
                gm.backends
                    .iter()
                    .map(|b| b.breaker_open.as_secs_f64())
                    .sum(),
            ),
            throttle_marks: gm.backends.iter().map(|b| b.throttle_marks).sum(),
            policies: (g.max_tokens.is_some()
                || g.has_token_policy()
                || g.cache.is_some()
                || g.timeout.is_some())
            .then(|| GatewayPolicySummary {
                max_tokens_capped: gm.max_tokens_capped,
                token_limit_429: gm.token_limit_429,
                token_quota_403: gm.token_quota_403,
                cache_hits: gm.cache_hits,
                cache_misses: gm.cache_misses,
                cache_hit_ratio: round6(ratio(
                    gm.cache_hits as f64,
                    (gm.cache_hits + gm.cache_misses) as f64,
                )),
                embedding_cost_usd: round6(gm.embedding_cost_usd),
                timeouts_504: gm.timeouts_504,
            }),
            backends: g
                .backends
                .iter()
                .zip(&gm.backends)
                .map(|(b, m)| BackendSummary {
                    deployment: sc.deployments[b.deployment].name.clone(),
                    priority: b.priority,
                    forwarded: m.forwarded,
                    share: round6(ratio(m.forwarded as f64, forwarded as f64)),
                    admitted: m.admitted,
                    failed: m.failed,
                    breaker_trips: m.breaker_trips,
                    breaker_open_s: round3(m.breaker_open.as_secs_f64()),
                    throttle_marks: m.throttle_marks,
                })
                .collect(),
        }
    }

    /// Tokens per request sent under each reading.
    fn per_request(&self) -> PerRequest {
        let n = self.sent as f64;
        let sum = |f: fn(&super::DeploymentMetrics) -> f64| -> f64 {
            self.deployments.iter().map(f).sum()
        };
        PerRequest {
            generated: round3(ratio(
                (self.completion_tokens + self.wasted_tokens) as f64,
                n,
            )),
            billed_output: round3(ratio(sum(|m| m.billed_completion_tokens as f64), n)),
            processed: round3(ratio(
                sum(|m| (m.prompt_tokens + m.completion_tokens) as f64),
                n,
            )),
            ptu_normalized: round3(ratio(sum(|m| m.normalized_tokens), n)),
            charged: round3(ratio(sum(|m| m.charged_estimate as f64), n)),
        }
    }

    /// Mean time per completed session by part, milliseconds.
    fn time_breakdown(&self) -> TimeBreakdown {
        let n = self.sessions_completed as f64;
        let t = &self.session_times;
        let ms = |us: u64| round3(ratio(us as f64 / 1e3, n));
        TimeBreakdown {
            think: ms(t.think),
            waiting: ms(t.waiting),
            queued: ms(t.queued),
            prefill: ms(t.prefill),
            generating: ms(t.generating),
        }
    }

    /// The faults block of the summary.
    fn fault_summary(&self, sc: &Scenario) -> FaultSummary {
        FaultSummary {
            errors: self.deployments.iter().map(|m| m.fault_errors).sum(),
            capacity_429: self.deployments.iter().map(|m| m.fault_429).sum(),
            attempts_in_outage: self.deployments.iter().map(|m| m.attempts_in_outage).sum(),
            deployments: sc
                .deployments
                .iter()
                .zip(&self.deployments)
                .map(|(d, m)| FaultDeploymentSummary {
                    name: d.name.clone(),
                    errors: m.fault_errors,
                    capacity_429: m.fault_429,
                    attempts_in_outage: m.attempts_in_outage,
                })
                .collect(),
        }
    }
}
