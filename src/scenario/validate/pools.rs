//! `[[pool]]`: standard quota pools (subscription x region x model x deployment type), and the
//! check that the standard deployments' shares fit in their pool.

use super::{Ctx, Models};
use crate::error::Result;
use crate::scenario::limits;
use crate::scenario::raw::RawPool;
use crate::scenario::{Deployment, DeploymentKind, Pool};

/// Checks the `[[pool]]` entries; a pool's `rpm` defaults to its model's ratio.
pub(super) fn check(raw: &[RawPool], c: &Ctx, models: &Models) -> Result<Vec<Pool>> {
    let mut pools = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let key = format!("pool.{}", p.name);
        if raw[..i].iter().any(|q| q.name == p.name) {
            return Err(c.err(
                format!("pool[{i}].name"),
                format!("duplicate pool name '{}'", p.name),
            ));
        }
        let model = models.index(c, &format!("{key}.model"), &p.model)?;
        if p.tpm == 0 {
            return Err(c.err(format!("{key}.tpm"), "must be > 0"));
        }
        c.range_int(&format!("{key}.tpm"), p.tpm, &limits::TPM)?;
        if let Some(rpm) = p.rpm {
            c.range_int(&format!("{key}.rpm"), rpm, &limits::RPM.or_zero())?;
        }
        let rpm = p.rpm.unwrap_or_else(|| {
            ((p.tpm as f64 / 1000.0) * models.params[model].rpm_per_1k_tpm).floor() as u64
        });
        pools.push(Pool {
            name: p.name.clone(),
            subscription: p.subscription.clone(),
            region: p.region.clone(),
            model,
            deployment_type: p
                .deployment_type
                .clone()
                .unwrap_or_else(|| "global-standard".into()),
            tpm: p.tpm,
            rpm,
        });
    }
    Ok(pools)
}

/// Checks that no two pools are the same quota and that no pool is over-allocated.
pub(super) fn check_quota(
    pools: &[Pool],
    deployments: &[Deployment],
    c: &Ctx,
    models: &Models,
) -> Result<()> {
    // A pool is one subscription x region x model x deployment type: two entries for the same
    // one would double its quota.
    for (i, p) in pools.iter().enumerate() {
        if let Some(q) = pools[..i].iter().find(|q| {
            q.subscription == p.subscription
                && q.region == p.region
                && q.model == p.model
                && q.deployment_type == p.deployment_type
        }) {
            return Err(c.err(
                format!("pool.{}", p.name),
                format!(
                    "pools '{}' and '{}' are the same quota (subscription '{}', region '{}', model '{}', type '{}'); quota is per subscription x region x model x deployment type",
                    q.name, p.name, p.subscription, p.region, models.names[p.model], p.deployment_type
                ),
            ));
        }
    }
    for (pi, p) in pools.iter().enumerate() {
        check_allocation(pi, p, deployments, c)?;
    }
    Ok(())
}

/// Pool allocation: the shares (TPM, then RPM) of the standard deployments in pool `pi` may
/// not exceed the pool.
fn check_allocation(pi: usize, p: &Pool, deployments: &[Deployment], c: &Ctx) -> Result<()> {
    let members: Vec<&Deployment> = deployments
        .iter()
        .filter(|d| matches!(d.kind, DeploymentKind::Standard { pool, .. } if pool == pi))
        .collect();
    let names = || {
        members
            .iter()
            .map(|d| format!("'{}'", d.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let total: u64 = members
        .iter()
        .map(|d| match d.kind {
            DeploymentKind::Standard { tpm, .. } => tpm,
            _ => 0,
        })
        .sum();
    if total > p.tpm {
        return Err(c.err(
            format!("pool.{}.tpm", p.name),
            format!(
                "pool '{}' is over-allocated: deployments {} take {} TPM but the pool has {} TPM",
                p.name,
                names(),
                total,
                p.tpm
            ),
        ));
    }
    let rpm_total: u64 = members
        .iter()
        .map(|d| match d.kind {
            DeploymentKind::Standard { rpm, .. } => rpm,
            _ => 0,
        })
        .sum();
    if rpm_total > p.rpm {
        return Err(c.err(
            format!("pool.{}.rpm", p.name),
            format!(
                "pool '{}' is over-allocated: deployments {} take {} RPM but the pool has {} RPM",
                p.name,
                names(),
                rpm_total,
                p.rpm
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::testutil::{BASE, err, err_set, with_set};

    #[test]
    fn rejects_duplicate_quota_pools_and_rpm_overallocation() {
        let dup = BASE.replace(
            "[[deployment]]",
            "[[pool]]\nname = \"p2\"\nsubscription = \"s\"\nregion = \"r\"\nmodel = \"gpt-4o-mini\"\ntpm = 1000\n[[deployment]]",
        );
        let e = err(&dup);
        assert!(e.contains("'p' and 'p2' are the same quota"), "{e}");
        let e = err(&BASE.replace(
            "tpm = 100_000\n[[deployment]]",
            "tpm = 100_000\nrpm = 10\n[[deployment]]",
        ));
        assert!(
            e.contains("pool.p.rpm") && e.contains("600 RPM") && e.contains("has 10 RPM"),
            "{e}"
        );
    }

    #[test]
    fn rejects_tpm_overallocation_naming_the_deployments() {
        let e = err_set(&[("pool.p.tpm", "50000")]);
        assert!(
            e.contains("key 'pool.p.tpm'")
                && e.contains(
                    "over-allocated: deployments 'd' take 100000 TPM but the pool has 50000 TPM"
                ),
            "{e}"
        );
    }

    #[test]
    fn rpm_defaults_to_the_models_ratio() {
        let sc = with_set(&[]);
        assert_eq!((sc.pools[0].tpm, sc.pools[0].rpm), (100_000, 600));
        assert_eq!(sc.pools[0].deployment_type, "global-standard");
        let e = err_set(&[("pool.p.tpm", "0")]);
        assert!(e.contains("pool.p.tpm") && e.contains("> 0"), "{e}");
    }
}
