//! Building one variant: the file's tree with the variant's whole-section replacements, then its
//! `set` pairs, then the command line's overrides, deserialized into a [`RawScenario`], with
//! `copies` expanded, then checked by [`validate`]. See `docs/scenario.md`, "`[[variant]]` and
//! `--set`".

use toml::{Table, Value};

use super::limits::{self, Limits, MAX_COPIES};
use super::raw::RawScenario;
use super::validate::{Ctx, validate};
use super::{Override, Scenario, names, overlay, words};
use crate::error::{Error, Result};

/// The sections a variant may replace whole.
const SECTIONS: &[&str] = &[
    "scenario",
    "models",
    "pool",
    "deployment",
    "client",
    "router",
    "gateway",
    "fault",
    "workload",
];

/// What every variant is built from.
pub(super) struct Build<'a> {
    /// The file's tree, without its `[[variant]]` entries.
    pub base: &'a Table,
    /// The file, for error messages.
    pub file: &'a str,
    /// Overrides applied after the variant's own (`--set`, sweep points).
    pub overrides: &'a [Override],
    /// `--seed`.
    pub seed: Option<u64>,
    /// Size limits.
    pub limits: &'a Limits,
}

/// Builds and checks one variant (`None`: the file as written, named `baseline`).
pub(super) fn build_variant(b: &Build, variant: Option<(&str, &Table)>) -> Result<Scenario> {
    let vname = variant.map(|(n, _)| n);
    let err = |key: &str, msg: String| Error::at_key(b.file, vname, key, msg);
    let mut doc = b.base.clone();
    let mut description = None;
    if let Some((_, vt)) = variant {
        description = apply_variant(&mut doc, vt).map_err(|(k, m)| err(&k, m))?;
    }
    for o in b.overrides {
        let key = format!("{} {}", o.origin, o.key);
        if let Some(quoted) = overlay::quoted_model_path(&o.key) {
            let example = if o.origin == "--set" {
                format!("--set '{quoted}=...'")
            } else {
                quoted
            };
            return Err(err(
                &key,
                format!("a model name with dots must be quoted: {example}"),
            ));
        }
        overlay::set_path(&mut doc, &o.key, o.value.clone()).map_err(|m| err(&key, m))?;
    }
    // [sweep] and [[slo]] are read once from the file; they do not vary by variant.
    doc.remove("sweep");
    doc.remove("slo");
    let mut raw: RawScenario =
        serde_path_to_error::deserialize(Value::Table(doc)).map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().message().to_string();
            err(&path, words::type_error(&path, &message).unwrap_or(message))
        })?;
    let ctx = Ctx {
        file: b.file,
        variant: vname,
        limits: b.limits,
    };
    check_counts(&raw, &ctx)?;
    names::check(&raw, &ctx)?;
    expand_copies(&mut raw, b.limits).map_err(|(k, m)| err(&k, m))?;
    validate(&raw, &ctx, vname.unwrap_or("baseline"), description, b.seed)
}

/// The sizes of the lists (before `copies` are expanded), checked before anything loops over
/// them.
fn check_counts(raw: &RawScenario, c: &Ctx) -> Result<()> {
    let l = c.limits;
    let counts = [
        (
            "deployment",
            "[[deployment]] entries",
            raw.deployment.len(),
            l.max_deployments,
        ),
        ("pool", "[[pool]] entries", raw.pool.len(), l.max_pools),
        ("fault", "[[fault]] entries", raw.fault.len(), l.max_faults),
        (
            "workload.class",
            "[[workload.class]] entries",
            raw.workload.class.len(),
            l.max_classes,
        ),
        (
            "workload.schedule",
            "schedule points",
            raw.workload.schedule.as_ref().map_or(0, Vec::len),
            l.max_schedule_points,
        ),
    ];
    for (key, what, n, max) in counts {
        if n > max {
            return Err(c.err(
                key,
                format!(
                    "{} {what}; at most {} per scenario: split the scenario; {}",
                    limits::group(n as i64),
                    limits::group(max as i64),
                    limits::SEE_LIMITS
                ),
            ));
        }
    }
    Ok(())
}

/// Applies a `[[variant]]` table to `doc`: whole sections are replaced first, then `set` applies
/// on top of them, whatever order the keys were written in. Returns the variant's description.
/// Errors are `(key, message)`.
fn apply_variant(doc: &mut Table, vt: &Table) -> Result<Option<String>, (String, String)> {
    let mut description = None;
    for (k, v) in vt {
        match k.as_str() {
            "name" | "set" => {}
            "description" => match v {
                Value::String(d) => description = Some(d.clone()),
                _ => return Err(("description".into(), "must be a string".into())),
            },
            section => {
                if !SECTIONS.contains(&section) {
                    return Err((
                        section.to_string(),
                        format!(
                            "a variant may hold name, description, set, or a whole section to replace ({})",
                            SECTIONS.join(", ")
                        ),
                    ));
                }
                doc.insert(section.to_string(), v.clone());
            }
        }
    }
    if let Some(v) = vt.get("set") {
        let Value::Table(pairs) = v else {
            return Err((
                "set".into(),
                "must be a table of \"dotted.key\" = value".into(),
            ));
        };
        for (path, value) in pairs {
            if let Some(quoted) = overlay::quoted_model_path(path) {
                return Err((
                    format!("set.{path}"),
                    format!("a model name with dots must be quoted: set = {{ '{quoted}' = ... }}"),
                ));
            }
            overlay::set_path(doc, path, value.clone()).map_err(|m| (format!("set.{path}"), m))?;
        }
    }
    Ok(description)
}

fn expand_copies(raw: &mut RawScenario, limits: &Limits) -> Result<(), (String, String)> {
    let mut i = 0;
    while i < raw.deployment.len() {
        let Some(n) = raw.deployment[i].copies else {
            i += 1;
            continue;
        };
        let key = format!("deployment.{}.copies", raw.deployment[i].name);
        // The bounds first, in O(1), before anything is copied.
        if n == 0 {
            return Err((key, "must be >= 1".into()));
        }
        if n > MAX_COPIES {
            return Err((
                key,
                format!(
                    "must be at most {MAX_COPIES} (the router handles at most 64 deployments per model), got {}",
                    limits::group(n.into())
                ),
            ));
        }
        let extra = n as usize - 1;
        if raw.deployment.len() + extra > limits.max_deployments
            || raw.pool.len() + extra > limits.max_pools
        {
            return Err((
                key,
                format!(
                    "would make {} deployments and {} pools; at most {} and {} per scenario: split the scenario; {}",
                    limits::group((raw.deployment.len() + extra) as i64),
                    limits::group((raw.pool.len() + extra) as i64),
                    limits::group(limits.max_deployments as i64),
                    limits::group(limits.max_pools as i64),
                    limits::SEE_LIMITS
                ),
            ));
        }
        let d = raw.deployment[i].clone();
        if d.kind != "standard" {
            return Err((key, "applies to standard deployments only".into()));
        }
        let pool_name = d
            .pool
            .clone()
            .ok_or_else(|| (key.clone(), "needs the deployment's 'pool'".to_string()))?;
        let shared = raw
            .deployment
            .iter()
            .any(|o| o.name != d.name && o.pool.as_deref() == Some(pool_name.as_str()));
        if shared {
            return Err((
                key,
                format!(
                    "copies replicates pool '{pool_name}' too, so no other deployment may use it"
                ),
            ));
        }
        if raw
            .deployment
            .iter()
            .any(|o| o.spillover.as_deref() == Some(d.name.as_str()))
        {
            return Err((key, "a spillover target cannot have copies".into()));
        }
        raw.deployment[i].copies = None;
        if n == 1 {
            i += 1;
            continue;
        }
        let pi = raw
            .pool
            .iter()
            .position(|p| p.name == pool_name)
            .ok_or_else(|| {
                (
                    format!("deployment.{}.pool", d.name),
                    format!("unknown pool '{pool_name}'"),
                )
            })?;
        let pool = raw.pool.remove(pi);
        for k in (1..=n).rev() {
            let mut p = pool.clone();
            p.name = format!("{}-{k}", pool.name);
            p.subscription = format!("{}-{k}", pool.subscription);
            raw.pool.insert(pi, p);
        }
        raw.deployment.remove(i);
        for k in (1..=n).rev() {
            let mut c = d.clone();
            c.copies = None;
            c.name = format!("{}-{k}", d.name);
            c.pool = Some(format!("{pool_name}-{k}"));
            raw.deployment.insert(i, c);
        }
        if let Some(list) = raw.router.deployments.as_mut()
            && let Some(pos) = list.iter().position(|x| *x == d.name)
        {
            list.remove(pos);
            for k in (1..=n).rev() {
                list.insert(pos, format!("{}-{k}", d.name));
            }
        }
        i += n as usize;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::testutil::{BASE, err, err_set, ok, with_set};
    use crate::scenario::{Arrivals, DeploymentKind};

    #[test]
    fn variant_set_applies_after_section_replacement() {
        let text = format!(
            "{BASE}\n[[variant]]\nname = \"v\"\nset = {{ \"workload.users\" = 7 }}\n[variant.workload]\narrival = \"closed\"\nusers = 3\n[[variant.workload.class]]\nname = \"c\"\nprompt_tokens = 100\ncompletion_tokens = 10\n"
        );
        let set = ok(&text);
        match set.variants[0].workload.arrivals {
            Arrivals::Closed { users, .. } => assert_eq!(users, 7),
            _ => panic!("closed loop expected"),
        }
    }

    #[test]
    fn cli_set_applies_last() {
        let text =
            format!("{BASE}\n[[variant]]\nname = \"v\"\nset = {{ \"workload.users\" = 7 }}\n");
        let set = crate::scenario::parse(
            &text,
            "t.toml",
            &[("workload.users".into(), "9".into())],
            None,
        )
        .unwrap();
        assert!(matches!(
            set.variants[0].workload.arrivals,
            Arrivals::Closed { users: 9, .. }
        ));
    }

    #[test]
    fn a_variant_holds_only_known_keys() {
        let e = err(&format!("{BASE}\n[[variant]]\nname = \"v\"\nfoo = 1\n"));
        assert!(
            e.contains("key 'foo'") && e.contains("whole section"),
            "{e}"
        );
        let e = err(&format!("{BASE}\n[[variant]]\nname = \"v\"\nset = 3\n"));
        assert!(e.contains("key 'set'") && e.contains("dotted.key"), "{e}");
        let mut doc = Table::new();
        let vt: Table = "name = \"v\"\ndescription = \"why\"".parse().unwrap();
        assert_eq!(
            apply_variant(&mut doc, &vt).unwrap().as_deref(),
            Some("why")
        );
    }

    #[test]
    fn copies_expand_into_numbered_deployments_pools_and_subscriptions() {
        let sc = with_set(&[("deployment.d.copies", "3")]);
        let names: Vec<&str> = sc.deployments.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["d-1", "d-2", "d-3"]);
        let pools: Vec<(&str, &str)> = sc
            .pools
            .iter()
            .map(|p| (p.name.as_str(), p.subscription.as_str()))
            .collect();
        assert_eq!(pools, [("p-1", "s-1"), ("p-2", "s-2"), ("p-3", "s-3")]);
        for (i, d) in sc.deployments.iter().enumerate() {
            assert!(
                matches!(d.kind, DeploymentKind::Standard { pool, tpm: 100_000, .. } if pool == i)
            );
        }
        // Every copy is routed, in order.
        assert_eq!(sc.router.routes, vec![vec![0, 1, 2]]);
        // copies = 1 leaves the names alone.
        let sc = with_set(&[("deployment.d.copies", "1")]);
        assert_eq!(sc.deployments[0].name, "d");
        assert_eq!(sc.pools[0].name, "p");
    }

    #[test]
    fn list_sizes_are_limited_before_expansion() {
        let classes: Vec<String> = (0..1001)
            .map(|i| format!("{{name=\"c{i}\",prompt_tokens=1,completion_tokens=1}}"))
            .collect();
        let e = err_set(&[("workload.class", &format!("[{}]", classes.join(",")))]);
        assert!(
            e.contains("key 'workload.class'")
                && e.contains("1_001 [[workload.class]] entries; at most 1_000"),
            "{e}"
        );
        // copies may not push the deployments past the limit either.
        let limits = Limits {
            max_deployments: 10,
            ..Limits::default()
        };
        let sets = vec![("deployment.d.copies".to_string(), "11".to_string())];
        let e = crate::scenario::parse_with_limits(BASE, "t.toml", &sets, None, &limits)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("would make 11 deployments and 11 pools; at most 10"),
            "{e}"
        );
    }

    #[test]
    fn copies_replace_the_name_in_the_router_list() {
        let sc = with_set(&[
            ("deployment.d.copies", "2"),
            ("router.deployments", "[\"d\"]"),
        ]);
        assert_eq!(sc.router.routes, vec![vec![0, 1]]);
    }

    #[test]
    fn copies_errors() {
        let e = err_set(&[("deployment.d.copies", "0")]);
        assert!(
            e.contains("deployment.d.copies") && e.contains(">= 1"),
            "{e}"
        );
        let e = err_set(&[
            ("deployment.d.copies", "2"),
            (
                "deployment",
                "[{name=\"d\",kind=\"provisioned\",model=\"gpt-4o-mini\",ptu=1,copies=2}]",
            ),
        ]);
        assert!(e.contains("standard deployments only"), "{e}");
    }
}
