//! Checks `[gateway]` and `[[fault]]` (raw → typed). Keys, defaults and their sources are in
//! `docs/scenario.md`.

use super::raw::{RawFault, RawGateway, RawStatus};
use super::{Ctx, Deployment, DeploymentKind};
use crate::error::Result;
use crate::gateway::{
    Backend, BreakerSpec, CacheSpec, Fault, FaultKind, GatewaySpec, Policy, RetrySpec, StatusSet,
    ThrottleSpec, TokenKey, TokenLimitSpec, TokenQuotaSpec, TripRule,
};

fn token_key(c: &Ctx, key: &str, v: Option<&str>) -> Result<TokenKey> {
    match v.unwrap_or("class") {
        "class" => Ok(TokenKey::Class),
        "all" => Ok(TokenKey::All),
        other => Err(c.err(key, format!("unknown key '{other}'; allowed: class, all"))),
    }
}
use crate::time::SimTime;

fn statuses(
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

/// 408, 429 and 5xx: what gateways retry and count by default.
const RETRYABLE: &[(u16, u16)] = &[(408, 408), (429, 429), (500, 599)];

/// Checks `[gateway]`; `models` is the number of models in use.
pub(super) fn gateway(
    raw: &RawGateway,
    c: &Ctx,
    deployments: &[Deployment],
    models: usize,
) -> Result<GatewaySpec> {
    let policy_name = raw.policy.as_deref().unwrap_or("round-robin");
    let policy = Policy::from_name(policy_name).ok_or_else(|| {
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
    })?;
    if raw.backend.is_empty() {
        return Err(c.err(
            "gateway.backend",
            "the gateway needs at least one [[gateway.backend]]",
        ));
    }
    let mut backends = Vec::new();
    for (i, b) in raw.backend.iter().enumerate() {
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
        let weight = c.positive(&format!("{key}.weight"), b.weight.unwrap_or(1.0))?;
        backends.push(Backend {
            deployment: d,
            priority,
            weight,
        });
    }
    let by_model: Vec<Vec<usize>> = (0..models)
        .map(|m| {
            (0..backends.len())
                .filter(|&b| deployments[backends[b].deployment].model == m)
                .collect()
        })
        .collect();
    if backends.len() > 64 {
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
    let rr = raw.retry.clone().unwrap_or_default();
    let retry = RetrySpec {
        count: rr.count.unwrap_or(0),
        interval: c.dur("gateway.retry.interval", rr.interval.as_ref(), "0s")?,
        first_fast_retry: rr.first_fast_retry.unwrap_or(true),
        on: statuses(c, "gateway.retry.on", rr.on.as_ref(), RETRYABLE)?,
    };
    let throttle = match &raw.throttle {
        None => None,
        Some(t) => Some(ThrottleSpec {
            on: statuses(
                c,
                "gateway.throttle.on",
                t.on.as_ref(),
                &[(429, 429), (500, 599)],
            )?,
            default_retry_after: c.dur(
                "gateway.throttle.default_retry_after",
                t.default_retry_after.as_ref(),
                "10s",
            )?,
        }),
    };
    let breaker = match &raw.breaker {
        None => None,
        Some(b) => {
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
                Some(s) => {
                    Some(c.dur("gateway.breaker.retry_after_cap", Some(&s.to_string()), "")?)
                }
            };
            Some(BreakerSpec {
                statuses: statuses(
                    c,
                    "gateway.breaker.statuses",
                    b.statuses.as_ref(),
                    &[(429, 429), (500, 599)],
                )?,
                rule,
                interval,
                trip_duration,
                accept_retry_after: b.accept_retry_after.unwrap_or(false),
                retry_after_cap,
            })
        }
    };
    if raw.max_tokens == Some(0) {
        return Err(c.err("gateway.max_tokens", "must be >= 1"));
    }
    let token_limit = match &raw.token_limit {
        None => None,
        Some(t) => {
            if t.tokens_per_minute == 0 {
                return Err(c.err("gateway.token_limit.tokens_per_minute", "must be >= 1"));
            }
            Some(TokenLimitSpec {
                tokens_per_minute: t.tokens_per_minute,
                key: token_key(c, "gateway.token_limit.key", t.key.as_deref())?,
            })
        }
    };
    let token_quota = match &raw.token_quota {
        None => None,
        Some(t) => {
            if t.tokens == 0 {
                return Err(c.err("gateway.token_quota.tokens", "must be >= 1"));
            }
            let period = c.dur("gateway.token_quota.period", Some(&t.period), "")?;
            if period == SimTime::ZERO {
                return Err(c.err("gateway.token_quota.period", "must be > 0"));
            }
            Some(TokenQuotaSpec {
                tokens: t.tokens,
                period,
                key: token_key(c, "gateway.token_quota.key", t.key.as_deref())?,
            })
        }
    };
    let cache = match &raw.cache {
        None => None,
        Some(k) => {
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
            Some(CacheSpec {
                hit_ratio: k.hit_ratio,
                lookup_latency: c.dur(
                    "gateway.cache.lookup_latency",
                    k.lookup_latency.as_ref(),
                    "30ms",
                )?,
                embedding_cost_per_1k_tokens: cost,
            })
        }
    };
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

/// Checks the `[[fault]]` entries.
pub(super) fn faults(raw: &[RawFault], c: &Ctx, deployments: &[Deployment]) -> Result<Vec<Fault>> {
    let mut out = Vec::new();
    for (i, f) in raw.iter().enumerate() {
        let key = format!("fault.{}", f.name);
        if f.name.is_empty() {
            return Err(c.err(format!("fault[{i}].name"), "must not be empty"));
        }
        if raw[..i].iter().any(|g| g.name == f.name) {
            return Err(c.err(
                format!("fault[{i}].name"),
                format!("duplicate fault name '{}'", f.name),
            ));
        }
        let targets: Vec<usize> = match (&f.deployment, &f.region) {
            (Some(_), Some(_)) => {
                return Err(c.err(
                    format!("{key}.region"),
                    "give 'deployment' or 'region', not both",
                ));
            }
            (Some(d), None) => {
                vec![
                    deployments
                        .iter()
                        .position(|x| &x.name == d)
                        .ok_or_else(|| {
                            c.err(
                                format!("{key}.deployment"),
                                format!("unknown deployment '{d}'"),
                            )
                        })?,
                ]
            }
            (None, Some(r)) => {
                let v: Vec<usize> = (0..deployments.len())
                    .filter(|&i| &deployments[i].region == r)
                    .collect();
                if v.is_empty() {
                    return Err(c.err(
                        format!("{key}.region"),
                        format!("no deployment is in region '{r}'"),
                    ));
                }
                v
            }
            (None, None) => (0..deployments.len()).collect(),
        };
        let from = c.dur(&format!("{key}.from"), f.from.as_ref(), "0s")?;
        let to = match f.to.as_deref() {
            None | Some("end") => SimTime::MAX,
            Some(s) => c.dur(&format!("{key}.to"), Some(&s.to_string()), "")?,
        };
        if to <= from {
            return Err(c.err(format!("{key}.to"), "must be after 'from'"));
        }
        let forbid = |k: &str, present: bool| -> Result<()> {
            if present {
                Err(c.err(
                    format!("{key}.{k}"),
                    format!("does not apply to kind = \"{}\"", f.kind),
                ))
            } else {
                Ok(())
            }
        };
        let status = |default: u16| -> Result<u16> {
            let s = f.status.unwrap_or(default);
            if (400..=599).contains(&s) {
                Ok(s)
            } else {
                Err(c.err(
                    format!("{key}.status"),
                    format!("must be an error status (400-599), got {s}"),
                ))
            }
        };
        let rate = || -> Result<f64> {
            let r = f.rate.ok_or_else(|| {
                c.err(
                    format!("{key}.rate"),
                    "needs 'rate' (probability per attempt)",
                )
            })?;
            if (0.0..=1.0).contains(&r) {
                Ok(r)
            } else {
                Err(c.err(
                    format!("{key}.rate"),
                    format!("must be within [0, 1], got {r}"),
                ))
            }
        };
        let kind = match f.kind.as_str() {
            "outage" => {
                forbid("rate", f.rate.is_some())?;
                forbid("retry_after", f.retry_after.is_some())?;
                forbid("factor", f.factor.is_some())?;
                FaultKind::Outage {
                    status: status(503)?,
                }
            }
            "errors" => {
                forbid("retry_after", f.retry_after.is_some())?;
                forbid("factor", f.factor.is_some())?;
                FaultKind::Errors {
                    status: status(500)?,
                    rate: rate()?,
                }
            }
            "capacity-429" => {
                forbid("status", f.status.is_some())?;
                forbid("factor", f.factor.is_some())?;
                FaultKind::Capacity429 {
                    rate: rate()?,
                    retry_after: c.dur(
                        &format!("{key}.retry_after"),
                        f.retry_after.as_ref(),
                        "1s",
                    )?,
                }
            }
            "limit-cut" => {
                forbid("status", f.status.is_some())?;
                forbid("rate", f.rate.is_some())?;
                forbid("retry_after", f.retry_after.is_some())?;
                let factor = f.factor.ok_or_else(|| {
                    c.err(
                        format!("{key}.factor"),
                        "needs 'factor' (share of the limit kept)",
                    )
                })?;
                if !(factor > 0.0 && factor <= 1.0) {
                    return Err(c.err(
                        format!("{key}.factor"),
                        format!("must be within (0, 1], got {factor}"),
                    ));
                }
                if let Some(&d) = targets
                    .iter()
                    .find(|&&d| !matches!(deployments[d].kind, DeploymentKind::Standard { .. }))
                {
                    return Err(c.err(
                        format!("{key}.kind"),
                        format!(
                            "limit-cut applies to standard deployments only; '{}' is provisioned",
                            deployments[d].name
                        ),
                    ));
                }
                FaultKind::LimitCut { factor }
            }
            other => {
                return Err(c.err(
                    format!("{key}.kind"),
                    format!(
                        "unknown kind '{other}'; allowed: outage, errors, capacity-429, limit-cut"
                    ),
                ));
            }
        };
        out.push(Fault {
            name: f.name.clone(),
            kind,
            deployments: targets,
            from,
            to,
        });
    }
    Ok(out)
}
