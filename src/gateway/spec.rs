//! The checked `[gateway]` configuration: routing policy, backends, retries, throttling
//! marks, circuit breakers, token policies, cache and timeout.

use crate::time::SimTime;

/// Routing policy of a gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Rotate over the backends.
    RoundRobin,
    /// Random, proportional to weight.
    Weighted,
    /// Uniform random.
    Random,
    /// First available in list order.
    Priority,
    /// Fewest outstanding attempts.
    LeastOutstanding,
    /// Lowest last-reported utilization.
    LeastUtilized,
    /// Lowest EWMA latency.
    LowestLatency,
    /// Two random choices, the less loaded.
    PowerOfTwo,
}

impl Policy {
    /// All policies with their names, in documentation order.
    pub const ALL: [(&'static str, Policy); 8] = [
        ("round-robin", Policy::RoundRobin),
        ("weighted", Policy::Weighted),
        ("random", Policy::Random),
        ("priority", Policy::Priority),
        ("least-outstanding", Policy::LeastOutstanding),
        ("least-utilized", Policy::LeastUtilized),
        ("lowest-latency", Policy::LowestLatency),
        ("power-of-two", Policy::PowerOfTwo),
    ];

    /// The policy named `name`.
    pub fn from_name(name: &str) -> Option<Policy> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
    }

    /// The policy's name as written in a scenario.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map(|(n, _)| *n)
            .expect("every policy is listed")
    }
}

/// A set of HTTP statuses given as single statuses and inclusive ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusSet(pub Vec<(u16, u16)>);

impl StatusSet {
    /// Whether `status` is in the set.
    #[inline]
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|&(a, b)| a <= status && status <= b)
    }

    /// Parses one entry: `"429"` or `"500-599"`.
    pub fn parse_entry(text: &str) -> Result<(u16, u16), String> {
        let one = |t: &str| -> Result<u16, String> {
            let v: u16 = t
                .trim()
                .parse()
                .map_err(|_| format!("'{text}' is not a status or a range like \"500-599\""))?;
            if (100..=599).contains(&v) {
                Ok(v)
            } else {
                Err(format!("{v} is not an HTTP status (100-599)"))
            }
        };
        match text.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (one(a)?, one(b)?);
                if a > b {
                    return Err(format!("range '{text}' is empty"));
                }
                Ok((a, b))
            }
            None => {
                let v = one(text)?;
                Ok((v, v))
            }
        }
    }
}

/// One backend of the gateway.
#[derive(Clone, Debug)]
pub struct Backend {
    /// Deployment index.
    pub deployment: usize,
    /// Priority group: 1 is tried first.
    pub priority: u32,
    /// Relative weight (`weighted`).
    pub weight: f64,
}

/// Retries the gateway makes on its own, before answering the client.
#[derive(Clone, Debug)]
pub struct RetrySpec {
    /// Retries after the first forward (0 = none).
    pub count: u32,
    /// Wait before each retry.
    pub interval: SimTime,
    /// Whether the first retry goes at once, whatever `interval`.
    pub first_fast_retry: bool,
    /// Backend statuses that are retried.
    pub on: StatusSet,
}

/// Marking a backend throttled until its Retry-After.
#[derive(Clone, Debug)]
pub struct ThrottleSpec {
    /// Statuses that mark the backend.
    pub on: StatusSet,
    /// How long a mark lasts when the answer has no Retry-After.
    pub default_retry_after: SimTime,
}

/// When a breaker trips.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TripRule {
    /// At least this many failures within the interval.
    Count(u32),
    /// At least this percentage of failures within the interval, once `min_requests` answers
    /// were seen in it.
    Percent {
        /// Threshold, 0-100.
        percent: f64,
        /// Answers needed in the interval before the percentage counts.
        min_requests: u32,
    },
}

/// A circuit breaker's rule (one per backend, per instance).
#[derive(Clone, Debug)]
pub struct BreakerSpec {
    /// Statuses that count as failures.
    pub statuses: StatusSet,
    /// Count or percentage.
    pub rule: TripRule,
    /// The rolling interval failures are counted in.
    pub interval: SimTime,
    /// How long the breaker stays open.
    pub trip_duration: SimTime,
    /// Whether the tripping answer's Retry-After replaces `trip_duration`.
    pub accept_retry_after: bool,
    /// Upper bound on an accepted Retry-After (`None`: no bound, as API Management does).
    pub retry_after_cap: Option<SimTime>,
}

/// The checked `[gateway]` section.
#[derive(Clone, Debug)]
pub struct GatewaySpec {
    /// Routing policy.
    pub policy: Policy,
    /// Backends, in list order.
    pub backends: Vec<Backend>,
    /// Per model index, the backends (indices into `backends`) serving it, in list order.
    pub by_model: Vec<Vec<usize>>,
    /// Gateway instances; each has its own state and requests are spread over them in turn.
    pub instances: u32,
    /// Gateway retries.
    pub retry: RetrySpec,
    /// Throttling marks, if enabled.
    pub throttle: Option<ThrottleSpec>,
    /// Circuit breakers, if enabled.
    pub breaker: Option<BreakerSpec>,
    /// Weight of a new sample in the latency EWMA.
    pub ewma_alpha: f64,
    /// Latency sample recorded for a failed forward (`lowest-latency`).
    pub failure_penalty: SimTime,
    /// How long a reported utilization is believed (`least-utilized`).
    pub utilization_ttl: SimTime,
    /// Inbound `max_tokens` cap: a request's `max_tokens` becomes `min(requested, cap)`.
    pub max_tokens: Option<u32>,
    /// Tokens-per-minute limit per key (429 with Retry-After when over).
    pub token_limit: Option<TokenLimitSpec>,
    /// Token quota per period and key (403 when exhausted).
    pub token_quota: Option<TokenQuotaSpec>,
    /// Semantic cache in front of the backends.
    pub cache: Option<CacheSpec>,
    /// Gateway timeout: 504 to the client when a forward has not finished (non-streaming) or
    /// produced its first token (streaming) within it.
    pub timeout: Option<SimTime>,
}

impl GatewaySpec {
    /// Whether any token policy (limit or quota) is configured.
    pub fn has_token_policy(&self) -> bool {
        self.token_limit.is_some() || self.token_quota.is_some()
    }
}

/// What a token policy counts per: one counter per session class, or one for all requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKey {
    /// One counter per session class.
    Class,
    /// One counter shared by all requests.
    All,
}

/// `[gateway.token_limit]`: estimated tokens per rolling minute, per key.
#[derive(Clone, Debug)]
pub struct TokenLimitSpec {
    /// Estimated tokens admitted per rolling 60 s.
    pub tokens_per_minute: u64,
    /// Counter key.
    pub key: TokenKey,
}

/// `[gateway.token_quota]`: estimated tokens per fixed period, per key.
#[derive(Clone, Debug)]
pub struct TokenQuotaSpec {
    /// Estimated tokens admitted per period.
    pub tokens: u64,
    /// Period length; periods start at time 0.
    pub period: SimTime,
    /// Counter key.
    pub key: TokenKey,
}

/// `[gateway.cache]`: a semantic cache.
#[derive(Clone, Debug)]
pub struct CacheSpec {
    /// Probability that a request is answered from the cache.
    pub hit_ratio: f64,
    /// Time every lookup takes.
    pub lookup_latency: SimTime,
    /// Embedding cost of a lookup, USD per 1,000 prompt tokens.
    pub embedding_cost_per_1k_tokens: f64,
}
