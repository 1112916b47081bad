//! `[gateway]`: backends, policy, retries, throttling marks, breakers, instances, the
//! `max_tokens` cap, token limit and quota, semantic cache, timeout. Keys, defaults and their
//! sources are in `docs/scenario.md`.

use super::Ctx;
use crate::error::Result;
use crate::gateway::{
    Backend, BreakerSpec, CacheSpec, GatewaySpec, Policy, RetrySpec, StatusSet, ThrottleSpec,
    TokenKey, TokenLimitSpec, TokenQuotaSpec, TripRule,
};
use crate::scenario::raw::{
    RawBackend, RawBreaker, RawCache, RawGateway, RawGatewayRetry, RawStatus, RawThrottle,
    RawTokenLimit, RawTokenQuota,
};
use crate::scenario::{Deployment, limits};
use crate::time::SimTime;

/// The gateway handles at most this many backends.
const MAX_BACKENDS: usize = 64;

/// 408, 429 and 5xx: what gateways retry and count by default.
const RETRYABLE: &[(u16, u16)] = &[(408, 408), (429, 429), (500, 599)];

/// 429 and 5xx: what marks a backend throttled and what a breaker counts by default.
const THROTTLING: &[(u16, u16)] = &[(429, 429), (500, 599)];

fn token_key(c: &Ctx, key: &str, v: Option<&str>) -> Result<TokenKey> {
    match v.unwrap_or("class") {
        "class" => Ok(TokenKey::Class),
        "all" => Ok(TokenKey::All),
        other => Err(c.err(key, format!("unknown key '{other}'; allowed: class, all"))),
    }
}

pub(super) fn statuses(
    c: &Ctx,
    key: &str,
    v: Option<&Vec<RawStatus>>,
    default: &[(u16, u16)],
) -> Result<StatusSet> {
    let Some(list) = v else {
        return Ok(StatusSet(default.to_vec()));
    };
    let mut out = Vec::new();
    for s in list {
        let e = match s {
            RawStatus::One(n) => StatusSet::parse_entry(&n.to_string()),
            RawStatus::Text(t) => StatusSet::parse_entry(t),
        }
        .map_err(|m| c.err(key, m))?;
        out.push(e);
    }
    Ok(StatusSet(out))
}

/// Checks `[gateway]`; `models` is the number of models in use.
pub(super) fn check(
    raw: &RawGateway,
    c: &Ctx,
    deployments: &[Deployment],
    models: usize,
) -> Result<GatewaySpec> {
    let policy = policy(raw.policy.as_deref(), c)?;
    let backends = backends(&raw.backend, c, deployments)?;
    let by_model: Vec<Vec<usize>> = (0..models)
        .map(|m| {
            (0..backends.len())
                .filter(|&b| deployments[backends[b].deployment].model == m)
                .collect()
        })
        .collect();
    if backends.len() > MAX_BACKENDS {
        return Err(c.err(
            "gateway.backend",
            format!(
                "{} backends; the gateway handles at most 64",
                backends.len()
            ),
        ));
    }
    let instances = raw.instances.unwrap_or(1);
    if instances == 0 || instances > 64 {
        return Err(c.err("gateway.instances", "must be within 1..=64"));
    }
    let ewma_alpha = raw.ewma_alpha.unwrap_or(0.3);
    if !(ewma_alpha > 0.0 && ewma_alpha <= 1.0) {
        return Err(c.err(
            "gateway.ewma_alpha",
            format!("must be within (0, 1], got {ewma_alpha}"),
        ));
    }
    let failure_penalty = c.dur(
        "gateway.latency_failure_penalty",
        raw.latency_failure_penalty.as_ref(),
        "5s",
    )?;
    let utilization_ttl = c.dur(
        "gateway.utilization_ttl",
        raw.utilization_ttl.as_ref(),
        "10s",
    )?;
    let retry = retry(raw.retry.as_ref(), c)?;
    let throttle = raw.throttle.as_ref().map(|t| throttle(t, c)).transpose()?;
    let breaker = raw.breaker.as_ref().map(|b| breaker(b, c)).transpose()?;
    if raw.max_tokens == Some(0) {
        return Err(c.err("gateway.max_tokens", "must be >= 1"));
    }
    let token_limit = raw
        .token_limit
        .as_ref()
        .map(|t| token_limit(t, c))
        .transpose()?;
    let token_quota = raw
        .token_quota
        .as_ref()
        .map(|t| token_quota(t, c))
        .transpose()?;
    let cache = raw.cache.as_ref().map(|k| cache(k, c)).transpose()?;
    let timeout = match &raw.timeout {
        None => None,
        Some(t) => {
            let v = c.dur("gateway.timeout", Some(t), "")?;
            if v == SimTime::ZERO {
                return Err(c.err("gateway.timeout", "must be > 0"));
            }
            Some(v)
        }
    };
    Ok(GatewaySpec {
        policy,
        backends,
        by_model,
        instances,
        retry,
        throttle,
        breaker,
        ewma_alpha,
        failure_penalty,
        utilization_ttl,
        max_tokens: raw.max_tokens,
        token_limit,
        token_quota,
        cache,
        timeout,
    })
}

/// `policy`: one of the gateway's routing policies.
fn policy(name: Option<&str>, c: &Ctx) -> Result<Policy> {
    let policy_name = name.unwrap_or("round-robin");
    Policy::from_name(policy_name).ok_or_else(|| {
        c.err(
            "gateway.policy",
            format!(
                "unknown policy '{policy_name}'; allowed: {}",
                Policy::ALL
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// `[gateway.retry]` (defaults: no retries; 408, 429 and 5xx when there are).
fn retry(raw: Option<&RawGatewayRetry>, c: &Ctx) -> Result<RetrySpec> {
    let rr = raw.cloned().unwrap_or_default();
    if let Some(n) = rr.count
        && n > c.limits.max_retries
    {
        return Err(c.err(
            "gateway.retry.count",
            super::client::too_many_retries(n, c.limits.max_retries),
        ));
    }
    Ok(RetrySpec {
        count: rr.count.unwrap_or(0),
        interval: c.dur("gateway.retry.interval", rr.interval.as_ref(), "0s")?,
        first_fast_retry: rr.first_fast_retry.unwrap_or(true),
        on: statuses(c, "gateway.retry.on", rr.on.as_ref(), RETRYABLE)?,
    })
}

/// `[gateway.throttle]`.
fn throttle(t: &RawThrottle, c: &Ctx) -> Result<ThrottleSpec> {
    Ok(ThrottleSpec {
        on: statuses(c, "gateway.throttle.on", t.on.as_ref(), THROTTLING)?,
        default_retry_after: c.dur(
            "gateway.throttle.default_retry_after",
            t.default_retry_after.as_ref(),
            "10s",
        )?,
    })
}

/// `[[gateway.backend]]`: known deployments, each listed once, priority >= 1, weight > 0.
fn backends(raw: &[RawBackend], c: &Ctx, deployments: &[Deployment]) -> Result<Vec<Backend>> {
    if raw.is_empty() {
        return Err(c.err(
            "gateway.backend",
            "the gateway needs at least one [[gateway.backend]]",
        ));
    }
    let mut backends = Vec::new();
    for (i, b) in raw.iter().enumerate() {
        let key = format!("gateway.backend[{i}]");
        let d = deployments
            .iter()
            .position(|x| x.name == b.deployment)
            .ok_or_else(|| {
                c.err(
                    format!("{key}.deployment"),
                    format!("unknown deployment '{}'", b.deployment),
                )
            })?;
        if backends.iter().any(|x: &Backend| x.deployment == d) {
            return Err(c.err(
                format!("{key}.deployment"),
                format!("'{}' is listed twice", b.deployment),
            ));
        }
        let priority = b.priority.unwrap_or(1);
        if priority == 0 {
            return Err(c.err(format!("{key}.priority"), "must be >= 1 (1 is tried first)"));
        }
        let weight = c.range(
            &format!("{key}.weight"),
            b.weight.unwrap_or(1.0),
            &limits::BACKEND_WEIGHT,
        )?;
        backends.push(Backend {
            deployment: d,
            priority,
            weight,
        });
    }
    Ok(backends)
}

/// `[gateway.breaker]`: a count or a percentage in an interval, trip duration, Retry-After.
fn breaker(b: &RawBreaker, c: &Ctx) -> Result<BreakerSpec> {
    let rule = match (b.failures, b.failure_percent) {
        (Some(_), Some(_)) => {
            return Err(c.err(
                "gateway.breaker.failure_percent",
                "give either 'failures' (a count) or 'failure_percent', not both",
            ));
        }
        (Some(0), None) => {
            return Err(c.err("gateway.breaker.failures", "must be >= 1"));
        }
        (Some(n), None) => {
            if b.min_requests.is_some() {
                return Err(c.err(
                    "gateway.breaker.min_requests",
                    "applies with 'failure_percent' only",
                ));
            }
            TripRule::Count(n)
        }
        (None, Some(p)) => {
            if !(p > 0.0 && p <= 100.0) {
                return Err(c.err(
                    "gateway.breaker.failure_percent",
                    format!("must be within (0, 100], got {p}"),
                ));
            }
            TripRule::Percent {
                percent: p,
                min_requests: b.min_requests.unwrap_or(10).max(1),
            }
        }
        (None, None) => TripRule::Count(5),
    };
    let interval = c.dur("gateway.breaker.interval", b.interval.as_ref(), "10s")?;
    let trip_duration = c.dur(
        "gateway.breaker.trip_duration",
        b.trip_duration.as_ref(),
        "30s",
    )?;
    for (k, v) in [("interval", interval), ("trip_duration", trip_duration)] {
        if v == SimTime::ZERO {
            return Err(c.err(format!("gateway.breaker.{k}"), "must be > 0"));
        }
    }
    let retry_after_cap = match b.retry_after_cap.as_deref() {
        None | Some("none") => None,
        Some(s) => Some(c.dur("gateway.breaker.retry_after_cap", Some(&s.to_string()), "")?),
    };
    Ok(BreakerSpec {
        statuses: statuses(
            c,
            "gateway.breaker.statuses",
            b.statuses.as_ref(),
            THROTTLING,
        )?,
        rule,
        interval,
        trip_duration,
        accept_retry_after: b.accept_retry_after.unwrap_or(false),
        retry_after_cap,
    })
}

/// `[gateway.token_limit]`.
fn token_limit(t: &RawTokenLimit, c: &Ctx) -> Result<TokenLimitSpec> {
    if t.tokens_per_minute == 0 {
        return Err(c.err("gateway.token_limit.tokens_per_minute", "must be >= 1"));
    }
    Ok(TokenLimitSpec {
        tokens_per_minute: t.tokens_per_minute,
        key: token_key(c, "gateway.token_limit.key", t.key.as_deref())?,
    })
}

/// `[gateway.token_quota]`.
fn token_quota(t: &RawTokenQuota, c: &Ctx) -> Result<TokenQuotaSpec> {
    if t.tokens == 0 {
        return Err(c.err("gateway.token_quota.tokens", "must be >= 1"));
    }
    let period = c.dur("gateway.token_quota.period", Some(&t.period), "")?;
    if period == SimTime::ZERO {
        return Err(c.err("gateway.token_quota.period", "must be > 0"));
    }
    Ok(TokenQuotaSpec {
        tokens: t.tokens,
        period,
        key: token_key(c, "gateway.token_quota.key", t.key.as_deref())?,
    })
}

/// `[gateway.cache]`.
fn cache(k: &RawCache, c: &Ctx) -> Result<CacheSpec> {
    if !(0.0..=1.0).contains(&k.hit_ratio) {
        return Err(c.err(
            "gateway.cache.hit_ratio",
            format!("must be within [0, 1], got {}", k.hit_ratio),
        ));
    }
    let cost = k.embedding_cost_per_1k_tokens.unwrap_or(0.0001);
    if !(cost >= 0.0 && cost.is_finite()) {
        return Err(c.err(
            "gateway.cache.embedding_cost_per_1k_tokens",
            format!("must be >= 0, got {cost}"),
        ));
    }
    c.range(
        "gateway.cache.embedding_cost_per_1k_tokens",
        cost,
        &limits::PRICE_PER_1K_TOKENS,
    )?;
    Ok(CacheSpec {
        hit_ratio: k.hit_ratio,
        lookup_latency: c.dur(
            "gateway.cache.lookup_latency",
            k.lookup_latency.as_ref(),
            "30ms",
        )?,
        embedding_cost_per_1k_tokens: cost,
    })
}

#[cfg(test)]
mod tests {
    use crate::gateway::TripRule;
    use crate::scenario::testutil::{err_set, with_set};
    use crate::time::SimTime;

    const BACKEND: (&str, &str) = ("gateway.backend", "[{deployment=\"d\"}]");

    #[test]
    fn defaults() {
        let g = with_set(&[BACKEND, ("gateway.breaker.failures", "5")])
            .gateway
            .unwrap();
        assert_eq!(g.instances, 1);
        assert_eq!(g.retry.count, 0);
        assert_eq!(g.by_model, vec![vec![0]]);
        let b = g.breaker.unwrap();
        assert!(matches!(b.rule, TripRule::Count(5)));
        assert_eq!(b.trip_duration, SimTime::from_secs(30));
    }

    #[test]
    fn rejects_router_with_gateway_and_unknown_backends() {
        let e = err_set(&[BACKEND, ("router.policy", "priority")]);
        assert!(e.contains("key 'router'") && e.contains("not both"), "{e}");
        let e = err_set(&[("gateway.backend", "[{deployment=\"zz\"}]")]);
        assert!(
            e.contains("gateway.backend[0].deployment") && e.contains("'zz'"),
            "{e}"
        );
        let e = err_set(&[
            BACKEND,
            ("gateway.breaker.failures", "3"),
            ("gateway.breaker.failure_percent", "3"),
        ]);
        assert!(e.contains("not both"), "{e}");
    }
}
