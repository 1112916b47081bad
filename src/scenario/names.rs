//! Names and labels (scenario, variant, model, pool, subscription, region, deployment, class,
//! fault, SLO, ...) may not hold control characters: a newline or a tab in a name would split
//! an error message, a table row or a CSV line. Checked before any name is used.

use super::raw::RawScenario;
use super::validate::Ctx;
use crate::error::{Result, escape_control};

/// `Ok` if `name` holds no control character; otherwise the message, with the name escaped.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.chars().any(char::is_control) {
        Err(format!(
            "names may not contain control characters (newline, tab, ...); got \"{}\"",
            escape_control(name)
        ))
    } else {
        Ok(())
    }
}

/// Checks every name and label of `raw`; errors are keyed by position (`deployment[0].pool`),
/// since the name itself is what is wrong.
pub(crate) fn check(raw: &RawScenario, c: &Ctx) -> Result<()> {
    let mut names: Vec<(String, &str)> = vec![("scenario.name".into(), &raw.scenario.name)];
    names.extend(
        raw.models
            .keys()
            .map(|m| ("models".to_string(), m.as_str())),
    );
    for (i, p) in raw.pool.iter().enumerate() {
        names.push((format!("pool[{i}].name"), &p.name));
        names.push((format!("pool[{i}].subscription"), &p.subscription));
        names.push((format!("pool[{i}].region"), &p.region));
        names.push((format!("pool[{i}].model"), &p.model));
        if let Some(t) = &p.deployment_type {
            names.push((format!("pool[{i}].deployment_type"), t));
        }
    }
    for (i, d) in raw.deployment.iter().enumerate() {
        names.push((format!("deployment[{i}].name"), &d.name));
        names.push((format!("deployment[{i}].model"), &d.model));
        for (k, v) in [
            ("region", &d.region),
            ("pool", &d.pool),
            ("spillover", &d.spillover),
        ] {
            if let Some(v) = v {
                names.push((format!("deployment[{i}].{k}"), v));
            }
        }
    }
    for n in raw.router.deployments.iter().flatten() {
        names.push(("router.deployments".into(), n));
    }
    for (i, b) in raw
        .gateway
        .iter()
        .flat_map(|g| g.backend.iter())
        .enumerate()
    {
        names.push((format!("gateway.backend[{i}].deployment"), &b.deployment));
    }
    for (i, f) in raw.fault.iter().enumerate() {
        names.push((format!("fault[{i}].name"), &f.name));
        for (k, v) in [("deployment", &f.deployment), ("region", &f.region)] {
            if let Some(v) = v {
                names.push((format!("fault[{i}].{k}"), v));
            }
        }
    }
    for (i, k) in raw.workload.class.iter().enumerate() {
        names.push((format!("workload.class[{i}].name"), &k.name));
        if let Some(m) = &k.model {
            names.push((format!("workload.class[{i}].model"), m));
        }
    }
    for (key, name) in names {
        check_name(name).map_err(|m| c.err(key, m))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::testutil::{BASE, err};

    #[test]
    fn control_characters_are_rejected_and_shown_escaped() {
        assert!(check_name("gpt-4o-mini east").is_ok());
        assert_eq!(
            check_name("p\nx").unwrap_err(),
            "names may not contain control characters (newline, tab, ...); got \"p\\nx\""
        );
        let e = err(&BASE.replace("pool = \"p\"", "pool = \"p\\nx\""));
        assert_eq!(
            e,
            "t.toml: key 'deployment[0].pool': names may not contain control characters (newline, tab, ...); got \"p\\nx\""
        );
        let e = err(&BASE.replace("name = \"c\"", "name = \"c\\tc\""));
        assert!(
            e.contains("workload.class[0].name") && e.contains("c\\tc"),
            "{e}"
        );
        let e = err(&format!("{BASE}\n[[variant]]\nname = \"a\\rb\"\n"));
        assert!(e.contains("variant[0].name") && e.contains("a\\rb"), "{e}");
        assert!(!e.contains('\n') && !e.contains('\r'));
    }
}
