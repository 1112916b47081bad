//! `[router]`: which deployments serve each model, in what order, the policy, and failover.
//! With a `[gateway]` the router must be absent (the gateway routes).

use super::Ctx;
use crate::error::Result;
use crate::scenario::raw::RawRouter;
use crate::scenario::{Deployment, RoutePolicy, RouterSpec};

/// The router handles at most this many deployments per model.
pub(crate) const MAX_ROUTES_PER_MODEL: usize = 64;

/// Checks `[router]`. `spill_targets[d]` says whether deployment `d` is a spillover target
/// (left out of the default list); `models` is the number of models in use.
pub(super) fn check(
    rr: &RawRouter,
    c: &Ctx,
    deployments: &[Deployment],
    spill_targets: &[bool],
    models: usize,
) -> Result<RouterSpec> {
    let policy = match rr.policy.as_deref().unwrap_or("round-robin") {
        "round-robin" => RoutePolicy::RoundRobin,
        "priority" => RoutePolicy::Priority,
        other => {
            return Err(c.err(
                "router.policy",
                format!("unknown policy '{other}'; allowed: round-robin, priority (the full gateway offers more)"),
            ));
        }
    };
    let listed: Vec<usize> = match &rr.deployments {
        Some(names) => {
            let mut v = Vec::new();
            for n in names {
                let i = deployments
                    .iter()
                    .position(|d| &d.name == n)
                    .ok_or_else(|| {
                        c.err("router.deployments", format!("unknown deployment '{n}'"))
                    })?;
                if v.contains(&i) {
                    return Err(c.err("router.deployments", format!("'{n}' is listed twice")));
                }
                v.push(i);
            }
            v
        }
        None => (0..deployments.len())
            .filter(|&i| !spill_targets[i])
            .collect(),
    };
    let routes: Vec<Vec<usize>> = (0..models)
        .map(|m| {
            listed
                .iter()
                .copied()
                .filter(|&d| deployments[d].model == m)
                .collect()
        })
        .collect();
    if let Some(r) = routes.iter().find(|r| r.len() > MAX_ROUTES_PER_MODEL) {
        return Err(c.err(
            "router.deployments",
            format!(
                "{} deployments serve one model; the router handles at most 64 per model",
                r.len()
            ),
        ));
    }
    let failover_on = rr.failover_on.clone().unwrap_or_else(|| vec![429]);
    for s in &failover_on {
        if !(100..=599).contains(s) {
            return Err(c.err("router.failover_on", format!("{s} is not an HTTP status")));
        }
    }
    Ok(RouterSpec {
        policy,
        routes,
        failover_on,
    })
}

/// With a `[gateway]`, `[router]` must be absent: the gateway does the routing.
pub(super) fn check_no_router(rr: &RawRouter, c: &Ctx) -> Result<()> {
    if rr.policy.is_some() || rr.deployments.is_some() || rr.failover_on.is_some() {
        return Err(c.err(
            "router",
            "give either [router] or [gateway], not both: the gateway does the routing",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::RoutePolicy;
    use crate::scenario::testutil::{err_set, with_set};

    #[test]
    fn rejects_bad_failover_statuses_and_names() {
        let e = err_set(&[("router.failover_on", "[999]")]);
        assert!(e.contains("router.failover_on") && e.contains("999"), "{e}");
        let e = err_set(&[("router.deployments", "[\"x\"]")]);
        assert!(e.contains("unknown deployment 'x'"), "{e}");
        let e = err_set(&[("router.deployments", "[\"d\", \"d\"]")]);
        assert!(e.contains("listed twice"), "{e}");
    }

    #[test]
    fn defaults_route_every_deployment_but_spillover_targets() {
        let r = with_set(&[]).router;
        assert_eq!(r.policy, RoutePolicy::RoundRobin);
        assert_eq!(r.failover_on, vec![429]);
        assert_eq!(r.routes, vec![vec![0]]);
        let r = with_set(&[(
            "deployment",
            "[{name=\"ptu\",kind=\"provisioned\",model=\"gpt-4o-mini\",ptu=15,spillover=\"d\"},\
             {name=\"d\",kind=\"standard\",model=\"gpt-4o-mini\",pool=\"p\",tpm=100000}]",
        )])
        .router;
        assert_eq!(r.routes, vec![vec![0]]);
    }

    #[test]
    fn at_most_64_deployments_per_model() {
        let deps: Vec<String> = (0..65)
            .map(|i| {
                format!(
                    "{{name=\"d{i}\",kind=\"standard\",model=\"gpt-4o-mini\",pool=\"p\",tpm=1000}}"
                )
            })
            .collect();
        let e = err_set(&[("deployment", &format!("[{}]", deps.join(",")))]);
        assert!(
            e.contains("key 'router.deployments'") && e.contains("65 deployments serve one model"),
            "{e}"
        );
    }
}
