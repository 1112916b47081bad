//! `[[fault]]`: faults injected on deployments: outages, transient errors, capacity 429s, limit
//! cuts, each on one deployment, a region, or all, for a span of time.

use super::Ctx;
use crate::error::Result;
use crate::gateway::{Fault, FaultKind};
use crate::scenario::raw::RawFault;
use crate::scenario::{Deployment, DeploymentKind};
use crate::time::SimTime;

/// Checks the `[[fault]]` entries.
pub(super) fn check(raw: &[RawFault], c: &Ctx, deployments: &[Deployment]) -> Result<Vec<Fault>> {
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
        let targets = targets(f, &key, c, deployments)?;
        let from = c.dur(&format!("{key}.from"), f.from.as_ref(), "0s")?;
        let to = match f.to.as_deref() {
            None | Some("end") => SimTime::MAX,
            Some(s) => c.dur(&format!("{key}.to"), Some(&s.to_string()), "")?,
        };
        if to <= from {
            return Err(c.err(format!("{key}.to"), "must be after 'from'"));
        }
        let kind = kind(f, &key, c, deployments, &targets)?;
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

/// The deployments a fault applies to: one, a region's, or all.
fn targets(f: &RawFault, key: &str, c: &Ctx, deployments: &[Deployment]) -> Result<Vec<usize>> {
    match (&f.deployment, &f.region) {
        (Some(_), Some(_)) => Err(c.err(
            format!("{key}.region"),
            "give 'deployment' or 'region', not both",
        )),
        (Some(d), None) => Ok(vec![
            deployments
                .iter()
                .position(|x| &x.name == d)
                .ok_or_else(|| {
                    c.err(
                        format!("{key}.deployment"),
                        format!("unknown deployment '{d}'"),
                    )
                })?,
        ]),
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
            Ok(v)
        }
        (None, None) => Ok((0..deployments.len()).collect()),
    }
}

/// The fault's kind and the keys that apply to it (others are errors).
fn kind(
    f: &RawFault,
    key: &str,
    c: &Ctx,
    deployments: &[Deployment],
    targets: &[usize],
) -> Result<FaultKind> {
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
    match f.kind.as_str() {
        "outage" => {
            forbid("rate", f.rate.is_some())?;
            forbid("retry_after", f.retry_after.is_some())?;
            forbid("factor", f.factor.is_some())?;
            Ok(FaultKind::Outage {
                status: status(503)?,
            })
        }
        "errors" => {
            forbid("retry_after", f.retry_after.is_some())?;
            forbid("factor", f.factor.is_some())?;
            Ok(FaultKind::Errors {
                status: status(500)?,
                rate: rate()?,
            })
        }
        "capacity-429" => {
            forbid("status", f.status.is_some())?;
            forbid("factor", f.factor.is_some())?;
            Ok(FaultKind::Capacity429 {
                rate: rate()?,
                retry_after: c.dur(&format!("{key}.retry_after"), f.retry_after.as_ref(), "1s")?,
            })
        }
        "limit-cut" => {
            forbid("status", f.status.is_some())?;
            forbid("rate", f.rate.is_some())?;
            forbid("retry_after", f.retry_after.is_some())?;
            limit_cut(f, key, c, deployments, targets)
        }
        other => Err(c.err(
            format!("{key}.kind"),
            format!("unknown kind '{other}'; allowed: outage, errors, capacity-429, limit-cut"),
        )),
    }
}

/// `limit-cut`: a factor in (0, 1], on standard deployments only.
fn limit_cut(
    f: &RawFault,
    key: &str,
    c: &Ctx,
    deployments: &[Deployment],
    targets: &[usize],
) -> Result<FaultKind> {
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
    Ok(FaultKind::LimitCut { factor })
}

#[cfg(test)]
mod tests {
    use crate::gateway::FaultKind;
    use crate::scenario::testutil::{err_set, with_set};
    use crate::time::SimTime;

    #[test]
    fn targets_and_spans() {
        let f = &with_set(&[(
            "fault",
            "[{name=\"a\",kind=\"outage\",region=\"r\",from=\"1m\"}]",
        )])
        .faults[0];
        assert_eq!(f.deployments, vec![0]);
        assert_eq!((f.from, f.to), (SimTime::MIN, SimTime::MAX));
        assert!(matches!(f.kind, FaultKind::Outage { status: 503 }));
        let e = err_set(&[("fault", "[{name=\"a\",kind=\"outage\",region=\"zz\"}]")]);
        assert!(e.contains("no deployment is in region 'zz'"), "{e}");
    }

    #[test]
    fn keys_that_do_not_apply_are_errors() {
        let e = err_set(&[("fault", "[{name=\"a\",kind=\"outage\",rate=0.5}]")]);
        assert!(
            e.contains("fault.a.rate") && e.contains("\"outage\""),
            "{e}"
        );
        let e = err_set(&[("fault", "[{name=\"a\",kind=\"errors\"}]")]);
        assert!(e.contains("needs 'rate'"), "{e}");
    }
}
