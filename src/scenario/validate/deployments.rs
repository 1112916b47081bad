//! `[[deployment]]`: standard and provisioned deployments, how they serve tokens, and their
//! spillover targets. Keys of the other kind are errors.

use super::{Ctx, Models};
use crate::error::Result;
use crate::scenario::limits;
use crate::scenario::models::speed_table;
use crate::scenario::raw::RawDeployment;
use crate::scenario::{Deployment, DeploymentKind, ModelParams, Pool, Serving};
use crate::time::SimTime;

/// Checks the `[[deployment]]` entries. Also returns, by deployment, whether it is some
/// provisioned deployment's spillover target.
pub(super) fn check(
    raw: &[RawDeployment],
    c: &Ctx,
    models: &Models,
    pools: &[Pool],
) -> Result<(Vec<Deployment>, Vec<bool>)> {
    let mut deployments = Vec::new();
    for i in 0..raw.len() {
        deployments.push(one(i, raw, c, models, pools)?);
    }
    if deployments.is_empty() {
        return Err(c.err(
            "deployment",
            "the scenario needs at least one [[deployment]]",
        ));
    }
    let spill_targets = spillover(raw, c, &mut deployments)?;
    Ok((deployments, spill_targets))
}

/// Checks deployment `i` of `raw`.
fn one(
    i: usize,
    raw: &[RawDeployment],
    c: &Ctx,
    models: &Models,
    pools: &[Pool],
) -> Result<Deployment> {
    let d = &raw[i];
    let key = format!("deployment.{}", d.name);
    if d.name.is_empty() {
        return Err(c.err(format!("deployment[{i}].name"), "must not be empty"));
    }
    if raw[..i].iter().any(|e| e.name == d.name) {
        return Err(c.err(
            format!("deployment[{i}].name"),
            format!("duplicate deployment name '{}'", d.name),
        ));
    }
    let model = models.index(c, &format!("{key}.model"), &d.model)?;
    let mp = &models.params[model];
    let (kind, region) = match d.kind.as_str() {
        "standard" => standard(&key, d, c, model, models, pools)?,
        "provisioned" => provisioned(&key, d, c, mp)?,
        other => {
            return Err(c.err(
                format!("{key}.kind"),
                format!("unknown kind '{other}'; allowed: standard, provisioned"),
            ));
        }
    };
    if d.region.is_some() && d.kind == "standard" {
        return Err(c.err(
            format!("{key}.region"),
            "a standard deployment takes its region from its pool",
        ));
    }
    let serving = serving(&key, d, c, mp)?;
    if d.max_concurrency == Some(0) {
        return Err(c.err(
            format!("{key}.max_concurrency"),
            "must be >= 1 (omit it for no cap)",
        ));
    }
    let completion_window = match d.completion_window.as_deref() {
        Some("none") => None,
        other => {
            let k = format!("{key}.completion_window");
            let w = c.dur(&k, other.map(str::to_string).as_ref(), "60s")?;
            if w == SimTime::ZERO {
                return Err(c.err(k, "must be > 0, or \"none\" for no window"));
            }
            Some(w)
        }
    };
    Ok(Deployment {
        name: d.name.clone(),
        model,
        region,
        kind,
        serving,
        max_concurrency: d.max_concurrency,
        completion_window,
        bill_incomplete: d.bill_incomplete.unwrap_or(true),
    })
}

/// An error when a key of the other kind (`kind`) is present.
fn forbid(c: &Ctx, key: &str, what: &str, present: bool, kind: &str) -> Result<()> {
    if present {
        Err(c.err(
            format!("{key}.{what}"),
            format!("does not apply to a {kind} deployment"),
        ))
    } else {
        Ok(())
    }
}

/// The standard keys: pool, TPM share, RPM, windows. Returns the kind and the pool's region.
fn standard(
    key: &str,
    d: &RawDeployment,
    c: &Ctx,
    model: usize,
    models: &Models,
    pools: &[Pool],
) -> Result<(DeploymentKind, String)> {
    let kind = "standard";
    forbid(c, key, "ptu", d.ptu.is_some(), kind)?;
    forbid(c, key, "bucket_depth", d.bucket_depth.is_some(), kind)?;
    forbid(c, key, "spillover", d.spillover.is_some(), kind)?;
    forbid(
        c,
        key,
        "ptu_price_per_hour",
        d.ptu_price_per_hour.is_some(),
        kind,
    )?;
    let pool_name = d.pool.as_ref().ok_or_else(|| {
        c.err(
            format!("{key}.pool"),
            "a standard deployment needs 'pool' (its quota pool)",
        )
    })?;
    let pool = pools
        .iter()
        .position(|p| &p.name == pool_name)
        .ok_or_else(|| {
            c.err(
                format!("{key}.pool"),
                format!(
                    "unknown pool '{pool_name}' (pools: {})",
                    pools
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    if pools[pool].model != model {
        return Err(c.err(
            format!("{key}.model"),
            format!(
                "deployment model '{}' differs from pool '{}' model '{}'",
                d.model, pool_name, models.names[pools[pool].model]
            ),
        ));
    }
    let tpm = d.tpm.ok_or_else(|| {
        c.err(
            format!("{key}.tpm"),
            "a standard deployment needs 'tpm' (its share of the pool)",
        )
    })?;
    if tpm == 0 || tpm % 1000 != 0 {
        return Err(c.err(
            format!("{key}.tpm"),
            format!("must be a positive multiple of 1000 (quota is assigned in steps of 1K TPM), got {tpm}"),
        ));
    }
    c.range_int(&format!("{key}.tpm"), tpm, &limits::TPM)?;
    let rpm = d.rpm.unwrap_or_else(|| {
        ((tpm as f64 / 1000.0) * models.params[model].rpm_per_1k_tpm).floor() as u64
    });
    if rpm == 0 {
        return Err(c.err(
            format!("{key}.rpm"),
            "works out to 0 requests per minute; set 'rpm' or raise 'tpm'",
        ));
    }
    c.range_int(&format!("{key}.rpm"), rpm, &limits::RPM)?;
    let token_window = c.dur(
        &format!("{key}.token_window"),
        d.token_window.as_ref(),
        "60s",
    )?;
    let request_window = c.dur(
        &format!("{key}.request_window"),
        d.request_window.as_ref(),
        "10s",
    )?;
    for (name, w, written) in [
        ("token_window", token_window, &d.token_window),
        ("request_window", request_window, &d.request_window),
    ] {
        if w == SimTime::ZERO {
            return Err(c.err(format!("{key}.{name}"), "must be > 0"));
        }
        window_range(c, &format!("{key}.{name}"), w, written)?;
    }
    Ok((
        DeploymentKind::Standard {
            pool,
            tpm,
            rpm,
            token_window,
            request_window,
            count_rejected_requests: d.count_rejected_requests.unwrap_or(false),
        },
        pools[pool].region.clone(),
    ))
}

/// A rolling window from 1 s to a day: shorter ones would give a token limit of zero.
fn window_range(c: &Ctx, key: &str, w: SimTime, written: &Option<String>) -> Result<()> {
    let (lo, hi) = (limits::MIN_WINDOW_S, limits::MAX_WINDOW_S);
    if w < SimTime::from_secs(lo) || w > SimTime::from_secs(hi) {
        return Err(c.err(
            key,
            format!(
                "must be from {lo}s to {}h (a rolling window), got \"{}\"",
                hi / 3600,
                written.as_deref().unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

/// The provisioned keys: PTUs, bucket depth, PTU-hour price. Returns the kind (spillover still
/// unresolved) and the region.
fn provisioned(
    key: &str,
    d: &RawDeployment,
    c: &Ctx,
    mp: &ModelParams,
) -> Result<(DeploymentKind, String)> {
    let kind = "provisioned";
    forbid(c, key, "pool", d.pool.is_some(), kind)?;
    forbid(c, key, "tpm", d.tpm.is_some(), kind)?;
    forbid(c, key, "rpm", d.rpm.is_some(), kind)?;
    forbid(c, key, "token_window", d.token_window.is_some(), kind)?;
    forbid(c, key, "request_window", d.request_window.is_some(), kind)?;
    forbid(
        c,
        key,
        "count_rejected_requests",
        d.count_rejected_requests.is_some(),
        kind,
    )?;
    let ptu = d
        .ptu
        .ok_or_else(|| c.err(format!("{key}.ptu"), "a provisioned deployment needs 'ptu'"))?;
    if ptu == 0 {
        return Err(c.err(format!("{key}.ptu"), "must be > 0"));
    }
    c.range_int(&format!("{key}.ptu"), ptu.into(), &limits::PTU)?;
    let bucket_depth = c.dur(
        &format!("{key}.bucket_depth"),
        d.bucket_depth.as_ref(),
        "60s",
    )?;
    if bucket_depth == SimTime::ZERO {
        return Err(c.err(format!("{key}.bucket_depth"), "must be > 0"));
    }
    let price = c.range(
        &format!("{key}.ptu_price_per_hour"),
        d.ptu_price_per_hour.unwrap_or(mp.ptu_price_per_hour),
        &limits::PRICE_PER_PTU_HOUR,
    )?;
    Ok((
        DeploymentKind::Provisioned {
            ptu,
            capacity_per_min: ptu as f64 * mp.ptu_input_tpm,
            output_ratio: mp.ptu_output_ratio,
            bucket_depth,
            spillover: None, // resolved by `spillover`, once all names are known
            price_per_ptu_hour: price,
        },
        d.region.clone().unwrap_or_else(|| "default".into()),
    ))
}

/// The serving keys (both kinds): the model's, overridden by the deployment's.
fn serving(key: &str, d: &RawDeployment, c: &Ctx, mp: &ModelParams) -> Result<Serving> {
    let ttft_base = match &d.ttft_base {
        Some(s) => c.dur(&format!("{key}.ttft_base"), Some(s), "")?,
        None => mp.serving.ttft_base,
    } + c.dur(
        &format!("{key}.extra_latency"),
        d.extra_latency.as_ref(),
        "0s",
    )?;
    Ok(Serving {
        ttft_base,
        prefill_tokens_per_s: c.range(
            &format!("{key}.prefill_tokens_per_s"),
            d.prefill_tokens_per_s
                .unwrap_or(mp.serving.prefill_tokens_per_s),
            &limits::PREFILL_TOKENS_PER_S,
        )?,
        decode_tokens_per_s: c.range(
            &format!("{key}.decode_tokens_per_s"),
            d.decode_tokens_per_s
                .unwrap_or(mp.serving.decode_tokens_per_s),
            &limits::DECODE_TOKENS_PER_S,
        )?,
        decode_variation_cv: c.range(
            &format!("{key}.decode_variation_cv"),
            d.decode_variation_cv
                .unwrap_or(mp.serving.decode_variation_cv),
            &limits::DECODE_VARIATION_CV,
        )?,
        speed_table: match &d.speed_curve {
            Some(curve) => {
                speed_table(curve).map_err(|m| c.err(format!("{key}.speed_curve"), m))?
            }
            None => mp.serving.speed_table.clone(),
        },
        ttft_table: match &d.ttft_curve {
            Some(curve) => speed_table(curve).map_err(|m| c.err(format!("{key}.ttft_curve"), m))?,
            None => mp.serving.ttft_table.clone(),
        },
        ttft_variation_cv: c.range(
            &format!("{key}.ttft_variation_cv"),
            d.ttft_variation_cv.unwrap_or(mp.serving.ttft_variation_cv),
            &limits::DECODE_VARIATION_CV,
        )?,
        fresh_speed_per_attempt: mp.serving.fresh_speed_per_attempt,
    })
}

/// Resolves `spillover` names: a provisioned deployment's target must be a standard deployment
/// of the same model. Returns, by deployment, whether it is a target.
fn spillover(raw: &[RawDeployment], c: &Ctx, deployments: &mut [Deployment]) -> Result<Vec<bool>> {
    let mut spill_targets = vec![false; deployments.len()];
    for (i, d) in raw.iter().enumerate() {
        if let Some(target) = &d.spillover {
            let key = format!("deployment.{}.spillover", d.name);
            let t = deployments
                .iter()
                .position(|x| &x.name == target)
                .ok_or_else(|| c.err(&key, format!("unknown deployment '{target}'")))?;
            if !matches!(deployments[t].kind, DeploymentKind::Standard { .. }) {
                return Err(c.err(
                    &key,
                    format!("spillover target '{target}' must be a standard deployment"),
                ));
            }
            if deployments[t].model != deployments[i].model {
                return Err(c.err(
                    &key,
                    format!("spillover target '{target}' serves a different model"),
                ));
            }
            spill_targets[t] = true;
            if let DeploymentKind::Provisioned { spillover, .. } = &mut deployments[i].kind {
                *spillover = Some(t);
            }
        }
    }
    Ok(spill_targets)
}

#[cfg(test)]
mod tests {
    use crate::scenario::DeploymentKind;
    use crate::scenario::testutil::{BASE, err, err_set, with_set};
    use crate::time::SimTime;

    #[test]
    fn rejects_zero_windows() {
        let e = err(&BASE.replace(
            "tpm = 100_000\n[workload]",
            "tpm = 100_000\ncompletion_window = \"0s\"\n[workload]",
        ));
        assert!(
            e.contains("deployment.d.completion_window") && e.contains("none"),
            "{e}"
        );
        let e = err(&BASE.replace(
            "tpm = 100_000\n[workload]",
            "tpm = 100_000\ntoken_window = \"0s\"\n[workload]",
        ));
        assert!(e.contains("deployment.d.token_window"), "{e}");
    }

    #[test]
    fn standard_defaults_come_from_the_model() {
        let d = &with_set(&[]).deployments[0];
        // gpt-4o-mini: 6 RPM per 1K TPM; windows 60 s and 10 s; the pool's region.
        match d.kind {
            DeploymentKind::Standard {
                tpm,
                rpm,
                token_window,
                request_window,
                count_rejected_requests,
                ..
            } => {
                assert_eq!((tpm, rpm), (100_000, 600));
                assert_eq!(token_window, SimTime::from_secs(60));
                assert_eq!(request_window, SimTime::from_secs(10));
                assert!(!count_rejected_requests);
            }
            _ => panic!("standard expected"),
        }
        assert_eq!(d.region, "r");
        assert_eq!(d.completion_window, Some(SimTime::from_secs(60)));
        assert!(d.bill_incomplete);
    }

    #[test]
    fn tpm_shares_are_whole_thousands() {
        let e = err_set(&[("deployment.d.tpm", "1500")]);
        assert!(
            e.contains("positive multiple of 1000") && e.contains("1500"),
            "{e}"
        );
    }

    #[test]
    fn keys_of_the_other_kind_are_errors() {
        let e = err_set(&[("deployment.d.ptu", "5")]);
        assert!(
            e.contains("deployment.d.ptu") && e.contains("standard"),
            "{e}"
        );
        let e = err_set(&[("deployment.d.kind", "provisioned")]);
        assert!(
            e.contains("deployment.d.pool") && e.contains("provisioned"),
            "{e}"
        );
    }

    #[test]
    fn provisioned_capacity_and_spillover() {
        let sc = with_set(&[(
            "deployment",
            "[{name=\"ptu\",kind=\"provisioned\",model=\"gpt-4o-mini\",ptu=15,spillover=\"d\"},\
             {name=\"d\",kind=\"standard\",model=\"gpt-4o-mini\",pool=\"p\",tpm=100000}]",
        )]);
        match sc.deployments[0].kind {
            DeploymentKind::Provisioned {
                capacity_per_min,
                spillover,
                ..
            } => {
                assert_eq!(capacity_per_min, 15.0 * 37_000.0);
                assert_eq!(spillover, Some(1));
            }
            _ => panic!("provisioned expected"),
        }
        assert_eq!(sc.deployments[0].region, "default");
        let e = err_set(&[(
            "deployment",
            "[{name=\"ptu\",kind=\"provisioned\",model=\"gpt-4o-mini\",ptu=15,spillover=\"zz\"}]",
        )]);
        assert!(e.contains("unknown deployment 'zz'"), "{e}");
    }

    #[test]
    fn serving_keys_override_the_model() {
        let d = &with_set(&[
            ("deployment.d.decode_tokens_per_s", "33"),
            ("deployment.d.extra_latency", "\"50ms\""),
        ])
        .deployments[0];
        assert_eq!(d.serving.decode_tokens_per_s, 33.0);
        assert_eq!(d.serving.ttft_base, SimTime::from_millis(350));
    }
}
