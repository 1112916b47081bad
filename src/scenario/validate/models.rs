//! `[models."NAME"]`: the models in use (every model named by a deployment, pool or class, in
//! that order of first mention), each with its built-in defaults and the file's overrides.

use super::Ctx;
use crate::error::Result;
use crate::scenario::ModelParams;
use crate::scenario::models::resolve;
use crate::scenario::raw::RawScenario;

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
    Ok(Models { names, params })
}

#[cfg(test)]
mod tests {
    use crate::scenario::testutil::{err_set, with_set};

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
