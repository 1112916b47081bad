//! `[models."NAME"]`: the models in use (every model named by a deployment, pool or class, in
//! that order of first mention), each with its catalogue defaults and the file's overrides;
//! and what the models' deployments need of them: a price (no cost is $0 by omission), the
//! PTU figures, and a PTU count the model can be deployed with.

use super::Ctx;
use crate::error::Result;
use crate::scenario::ModelParams;
use crate::scenario::models::catalogue::{catalogue, ref_cite};
use crate::scenario::models::resolve;
use crate::scenario::raw::{RawDeployment, RawScenario};

/// The models in use, by index.
#[derive(Clone, Debug)]
pub(crate) struct Models {
    /// Names, by index.
    pub names: Vec<String>,
    /// Parameters, by index.
    pub params: Vec<ModelParams>,
}

impl Models {
    /// Number of models in use.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    /// Index of model `name`, or an error at `key`.
    pub fn index(&self, c: &Ctx, key: &str, name: &str) -> Result<usize> {
        self.names
            .iter()
            .position(|m| m == name)
            .ok_or_else(|| c.err(key, format!("unknown model '{name}'")))
    }
}

/// Collects the models in use and checks `[models."NAME"]`.
pub(super) fn check(raw: &RawScenario, c: &Ctx) -> Result<Models> {
    let mut names: Vec<String> = Vec::new();
    let mut note = |m: &str| {
        if !names.iter().any(|x| x == m) {
            names.push(m.to_string());
        }
    };
    raw.deployment.iter().for_each(|d| note(&d.model));
    raw.pool.iter().for_each(|p| note(&p.model));
    raw.workload
        .class
        .iter()
        .filter_map(|k| k.model.as_deref())
        .for_each(&mut note);
    for name in raw.models.keys() {
        if !names.contains(name) {
            return Err(c.err(
                format!("models.\"{name}\""),
                "this model is not used by any deployment, pool or class",
            ));
        }
    }
    let mut params = Vec::new();
    for name in &names {
        let m = resolve(name, raw.models.get(name))
            .map_err(|(k, m)| c.err(format!("models.\"{name}\".{k}"), m))?;
        params.push(m);
    }
    for d in &raw.deployment {
        if let Some(i) = names.iter().position(|m| m == &d.model) {
            deployment_needs(d, &params[i], raw, c)?;
        }
    }
    Ok(Models { names, params })
}

/// What deployment `d` needs of its model `mp`: token prices (standard), or the PTU figures, a
/// PTU-hour price and a PTU count the model's size rule allows (provisioned). Other problems
/// of `d` (an unknown kind, no `ptu`, keys of the other kind) are left to `deployments`.
fn deployment_needs(d: &RawDeployment, mp: &ModelParams, raw: &RawScenario, c: &Ctx) -> Result<()> {
    let model = &mp.name;
    let missing = |k: &str| mp.missing.contains(&k);
    let needs = |k: &str, what: &str, unit: &str| {
        c.err(
            format!("models.\"{model}\".{k}"),
            format!(
                "{} deployment '{}' needs {what} of model '{model}', which the model catalogue does not have: set {k} ({unit}; 0 allowed) in [models.\"{model}\"]",
                d.kind, d.name
            ),
        )
    };
    match d.kind.as_str() {
        "standard" => {
            for k in ["price_input_per_1m", "price_output_per_1m"] {
                if missing(k) {
                    return Err(needs(k, "a token price", "USD per 1M tokens"));
                }
            }
        }
        "provisioned" => {
            for k in ["ptu_input_tpm", "ptu_output_ratio"] {
                if missing(k) {
                    return Err(c.err(
                        format!("models.\"{model}\".{k}"),
                        format!(
                            "provisioned deployment '{}' of model '{model}': the model catalogue has no PTU figures for it (not offered as provisioned); to simulate one anyway set ptu_input_tpm and ptu_output_ratio in [models.\"{model}\"]",
                            d.name
                        ),
                    ));
                }
            }
            if missing("ptu_price_per_hour") && d.ptu_price_per_hour.is_none() {
                return Err(needs(
                    "ptu_price_per_hour",
                    "a PTU-hour price",
                    "USD per PTU-hour, or on the deployment",
                ));
            }
            if let Some(ptu) = d.ptu.filter(|&p| p > 0) {
                ptu_size(d, ptu, mp, raw, c)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `ptu` is at least the model's minimum and a whole number of steps above it.
fn ptu_size(
    d: &RawDeployment,
    ptu: u32,
    mp: &ModelParams,
    raw: &RawScenario,
    c: &Ctx,
) -> Result<()> {
    let (Some(min), Some(step)) = (mp.ptu_minimum, mp.ptu_step) else {
        return Ok(());
    };
    if ptu >= min && (ptu - min).is_multiple_of(step) {
        return Ok(());
    }
    let model = &mp.name;
    let overridden = raw
        .models
        .get(model)
        .is_some_and(|m| m.ptu_minimum.is_some() || m.ptu_step.is_some());
    let source = match catalogue().get(model) {
        Some(e) if !overridden => {
            let regional = match (e.ptu_regional_minimum.value, e.ptu_regional_step.value) {
                (Some(rm), Some(rs)) => format!(
                    "; a regional deployment takes {rm}, in steps of {rs}: set ptu_minimum and ptu_step in [models.\"{model}\"]"
                ),
                _ => String::new(),
            };
            let cite = e
                .ptu_minimum
                .source
                .as_deref()
                .map(ref_cite)
                .unwrap_or_default();
            format!("Global and Data Zone rule of {cite}{regional}")
        }
        _ => format!("set by [models.\"{model}\"] ptu_minimum / ptu_step"),
    };
    let mut sizes: Vec<String> = (0..3).map(|i| (min + i * step).to_string()).collect();
    sizes.push("...".into());
    Err(c.err(
        format!("deployment.{}.ptu", d.name),
        format!(
            "a provisioned deployment of {model} takes at least {min} PTU, in steps of {step} ({}), got {ptu} ({source})",
            sizes.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use crate::scenario::testutil::{BASE, err, err_set, ok, with_set};

    /// `BASE` with its model renamed to `model` and `extra` appended (a `[models]` table).
    fn custom(model: &str, extra: &str) -> String {
        format!(
            "{}\n{extra}",
            BASE.replace("\"gpt-4o-mini\"", &format!("\"{model}\""))
        )
    }

    const PTU: &str =
        "[[deployment]]\nname = \"ptu\"\nkind = \"provisioned\"\nmodel = \"MODEL\"\nptu = PTUS\n";

    fn with_ptu(model: &str, ptus: u32, extra: &str) -> String {
        let ptu = PTU
            .replace("MODEL", model)
            .replace("PTUS", &ptus.to_string());
        custom(model, &format!("{ptu}{extra}"))
    }

    #[test]
    fn a_standard_deployment_of_a_model_without_a_price_is_an_error() {
        let decode = "[models.\"my-model\"]\ndecode_tokens_per_s = 50.0\n";
        let e = err(&custom("my-model", decode));
        assert!(
            e.contains("key 'models.\"my-model\".price_input_per_1m'")
                && e.contains("standard deployment 'd' needs a token price of model 'my-model'")
                && e.contains("set price_input_per_1m (USD per 1M tokens; 0 allowed)"),
            "{e}"
        );
        let e = err(&custom(
            "my-model",
            &format!("{decode}price_input_per_1m = 0.5\n"),
        ));
        assert!(
            e.contains("'models.\"my-model\".price_output_per_1m'"),
            "{e}"
        );
        // An explicit price, 0 included, is enough.
        let set = ok(&custom(
            "my-model",
            &format!("{decode}price_input_per_1m = 0\nprice_output_per_1m = 0\n"),
        ));
        assert_eq!(set.variants[0].models[0].price_input_per_1m, 0.0);
        // A pool alone bills nothing: no price needed.
        let pool_only = format!(
            "{BASE}[[pool]]\nname = \"q\"\nsubscription = \"s\"\nregion = \"r\"\nmodel = \"my-model\"\ntpm = 1000\n{decode}"
        )
        .replace("completion_tokens = 10\n", "completion_tokens = 10\nmodel = \"gpt-4o-mini\"\n");
        ok(&pool_only);
    }

    #[test]
    fn a_provisioned_deployment_needs_a_ptu_hour_price_and_ptu_figures() {
        let priced = "[models.\"my-model\"]\ndecode_tokens_per_s = 50.0\nprice_input_per_1m = 1\nprice_output_per_1m = 2\n";
        let e = err(&with_ptu("my-model", 3, priced));
        assert!(
            e.contains("key 'models.\"my-model\".ptu_price_per_hour'")
                && e.contains("provisioned deployment 'ptu' needs a PTU-hour price")
                && e.contains("0 allowed"),
            "{e}"
        );
        // On the model or on the deployment; a model not in the catalogue has no PTU size rule.
        ok(&with_ptu(
            "my-model",
            3,
            &format!("{priced}ptu_price_per_hour = 0\n"),
        ));
        ok(&with_ptu("my-model", 3, priced)
            .replace("ptu = 3\n", "ptu = 3\nptu_price_per_hour = 2.0\n"));
        // A catalogue model that is not offered as provisioned.
        let e = err(&with_ptu("gpt-5-nano", 15, ""));
        assert!(
            e.contains("key 'models.\"gpt-5-nano\".ptu_input_tpm'")
                && e.contains("has no PTU figures for it (not offered as provisioned)"),
            "{e}"
        );
        let e = err(&with_ptu(
            "gpt-5-nano",
            15,
            "[models.\"gpt-5-nano\"]\nptu_input_tpm = 50000\nptu_output_ratio = 8\n",
        ));
        assert!(
            e.contains("'models.\"gpt-5-nano\".ptu_price_per_hour'"),
            "{e}"
        );
    }

    #[test]
    fn ptu_counts_follow_the_models_minimum_and_step() {
        for ptus in [15, 20, 25, 70, 100_000] {
            ok(&with_ptu("gpt-4o-mini", ptus, ""));
        }
        for ptus in [5, 10, 14, 16, 22] {
            let e = err(&with_ptu("gpt-4o-mini", ptus, ""));
            assert!(
                e.contains("key 'deployment.ptu.ptu'")
                    && e.contains(&format!(
                        "a provisioned deployment of gpt-4o-mini takes at least 15 PTU, in steps of 5 (15, 20, 25, ...), got {ptus}"
                    ))
                    && e.contains("Global and Data Zone rule of Microsoft Learn, 'Provisioned throughput unit (PTU) costs and billing', 2026-04-07")
                    && e.contains("a regional deployment takes 25, in steps of 25"),
                "{e}"
            );
        }
        // A regional deployment: the scenario sets the regional rule.
        let regional = "[models.\"gpt-4.1\"]\nptu_minimum = 50\nptu_step = 50\n";
        ok(&with_ptu("gpt-4.1", 100, regional));
        let e = err(&with_ptu("gpt-4.1", 75, regional));
        assert!(
            e.contains("takes at least 50 PTU, in steps of 50 (50, 100, 150, ...), got 75")
                && e.contains("set by [models.\"gpt-4.1\"] ptu_minimum / ptu_step"),
            "{e}"
        );
        // ptu = 0 is left to the deployment's own check.
        let e = err(&with_ptu("gpt-4o-mini", 0, ""));
        assert!(
            e.contains("deployment.ptu.ptu") && e.contains("must be > 0"),
            "{e}"
        );
    }

    #[test]
    fn models_in_use_come_from_deployments_pools_and_classes() {
        let sc = with_set(&[]);
        let names: Vec<&str> = sc.models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["gpt-4o-mini"]);
        let e = err_set(&[("models.\"gpt-4.1-mini\".decode_tokens_per_s", "5")]);
        assert!(
            e.contains("models.\"gpt-4.1-mini\"") && e.contains("not used"),
            "{e}"
        );
    }

    #[test]
    fn overrides_apply_to_the_model() {
        let sc = with_set(&[("models.\"gpt-4o-mini\".decode_tokens_per_s", "50")]);
        assert_eq!(sc.models[0].serving.decode_tokens_per_s, 50.0);
        assert_eq!(sc.deployments[0].serving.decode_tokens_per_s, 50.0);
    }
}
