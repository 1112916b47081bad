//! `[workload]` and `[[workload.class]]`: how sessions arrive (closed loop, Poisson, constant,
//! with a piecewise schedule) and the session classes with their token distributions.

use super::{Ctx, Models};
use crate::dist::Dist;
use crate::error::Result;
use crate::gateway::GatewaySpec;
use crate::scenario::raw::{RawClass, RawWorkload};
use crate::scenario::{Arrivals, RouterSpec, SessionClass};
use crate::time::SimTime;

/// Checks `[workload]`: the arrivals, the classes and their cumulative weights. A class's model
/// must be served by the gateway when there is one, else by the router.
pub(super) fn check(
    w: &RawWorkload,
    c: &Ctx,
    models: &Models,
    router: &RouterSpec,
    gateway: Option<&GatewaySpec>,
) -> Result<(Arrivals, Vec<SessionClass>, Vec<f64>)> {
    let arrivals = arrivals(w, c)?;
    if w.class.is_empty() {
        return Err(c.err(
            "workload.class",
            "the workload needs at least one [[workload.class]]",
        ));
    }
    let mut classes = Vec::new();
    for i in 0..w.class.len() {
        let k = &w.class[i];
        if w.class[..i].iter().any(|o| o.name == k.name) {
            return Err(c.err(
                format!("workload.class[{i}].name"),
                format!("duplicate class name '{}'", k.name),
            ));
        }
        classes.push(class(k, c, models, router, gateway)?);
    }
    let total: f64 = classes.iter().map(|k| k.weight).sum();
    if total <= 0.0 {
        return Err(c.err("workload.class", "class weights must not all be zero"));
    }
    let mut acc = 0.0;
    let class_cdf = classes
        .iter()
        .map(|k| {
            acc += k.weight / total;
            acc
        })
        .collect();
    if w.sessions == Some(0) {
        return Err(c.err("workload.sessions", "must be >= 1 (omit it for no limit)"));
    }
    Ok((arrivals, classes, class_cdf))
}

/// The arrival process: `closed` (users), `poisson` or `constant` (a rate or a schedule).
fn arrivals(w: &RawWorkload, c: &Ctx) -> Result<Arrivals> {
    match w.arrival.as_str() {
        "closed" => {
            if w.rate_per_min.is_some() || w.schedule.is_some() {
                return Err(c.err(
                    "workload.rate_per_min",
                    "does not apply to arrival = \"closed\" (use 'users')",
                ));
            }
            let users = w
                .users
                .ok_or_else(|| c.err("workload.users", "arrival = \"closed\" needs 'users'"))?;
            if users == 0 {
                return Err(c.err("workload.users", "must be >= 1"));
            }
            Ok(Arrivals::Closed {
                users,
                think_time_s: c.dist(
                    "workload.user_think_time_s",
                    w.user_think_time_s.as_ref(),
                    0.0,
                    0.0,
                )?,
            })
        }
        "poisson" | "constant" => {
            if w.users.is_some() {
                return Err(c.err(
                    "workload.users",
                    format!("does not apply to arrival = \"{}\"", w.arrival),
                ));
            }
            if w.user_think_time_s.is_some() {
                return Err(c.err(
                    "workload.user_think_time_s",
                    "applies to arrival = \"closed\" only",
                ));
            }
            let s = schedule(w, c)?;
            if w.arrival == "poisson" {
                Ok(Arrivals::Poisson { schedule: s })
            } else {
                Ok(Arrivals::Constant { schedule: s })
            }
        }
        other => Err(c.err(
            "workload.arrival",
            format!("unknown arrival '{other}'; allowed: closed, poisson, constant"),
        )),
    }
}

/// An open-loop rate: `rate_per_min` (one piece) or `schedule` (first point at 0, increasing).
fn schedule(w: &RawWorkload, c: &Ctx) -> Result<Vec<(SimTime, f64)>> {
    match (&w.rate_per_min, &w.schedule) {
        (Some(r), None) => Ok(vec![(
            SimTime::ZERO,
            c.non_negative("workload.rate_per_min", *r)?,
        )]),
        (None, Some(points)) => {
            let mut out: Vec<(SimTime, f64)> = Vec::new();
            for (i, p) in points.iter().enumerate() {
                let k = format!("workload.schedule[{i}]");
                let at = c.dur(&format!("{k}.at"), Some(&p.at), "")?;
                let rate = c.non_negative(&format!("{k}.rate_per_min"), p.rate_per_min)?;
                if i == 0 && at != SimTime::ZERO {
                    return Err(c.err(
                        format!("{k}.at"),
                        "the first schedule point must be at \"0s\"",
                    ));
                }
                if let Some(last) = out.last()
                    && at <= last.0
                {
                    return Err(c.err(
                        format!("{k}.at"),
                        "schedule points must be in increasing time order",
                    ));
                }
                out.push((at, rate));
            }
            if out.is_empty() {
                return Err(c.err("workload.schedule", "must not be empty"));
            }
            Ok(out)
        }
        (Some(_), Some(_)) => Err(c.err(
            "workload.schedule",
            "give either 'rate_per_min' or 'schedule', not both",
        )),
        (None, None) => Err(c.err(
            "workload.rate_per_min",
            format!(
                "arrival = \"{}\" needs 'rate_per_min' or 'schedule'",
                w.arrival
            ),
        )),
    }
}

/// One `[[workload.class]]` (its name already checked for duplicates).
fn class(
    k: &RawClass,
    c: &Ctx,
    models: &Models,
    router: &RouterSpec,
    gateway: Option<&GatewaySpec>,
) -> Result<SessionClass> {
    let key = format!("workload.class.{}", k.name);
    let model = match &k.model {
        Some(m) => models.index(c, &format!("{key}.model"), m)?,
        None if models.len() == 1 => 0,
        None => {
            return Err(c.err(
                format!("{key}.model"),
                "several models are in use; say which one this class calls",
            ));
        }
    };
    let served = match gateway {
        Some(g) => !g.by_model[model].is_empty(),
        None => !router.routes[model].is_empty(),
    };
    if !served {
        return Err(c.err(
            format!("{key}.model"),
            format!(
                "no routed deployment serves model '{}'",
                models.names[model]
            ),
        ));
    }
    let steps = k.steps.unwrap_or(1);
    if steps == 0 {
        return Err(c.err(format!("{key}.steps"), "must be >= 1"));
    }
    let weight = c.non_negative(&format!("{key}.weight"), k.weight.unwrap_or(1.0))?;
    if k.max_tokens == Some(0) {
        return Err(c.err(
            format!("{key}.max_tokens"),
            "must be >= 1 (omit it to send none)",
        ));
    }
    Ok(SessionClass {
        name: k.name.clone(),
        weight,
        steps,
        model,
        prompt_tokens: Dist::from_raw(&k.prompt_tokens, 1.0)
            .map_err(|m| c.err(format!("{key}.prompt_tokens"), m))?,
        completion_tokens: Dist::from_raw(&k.completion_tokens, 1.0)
            .map_err(|m| c.err(format!("{key}.completion_tokens"), m))?,
        think_time_s: c.dist(
            &format!("{key}.think_time_s"),
            k.think_time_s.as_ref(),
            0.0,
            0.0,
        )?,
        max_tokens: k.max_tokens,
        streaming: k.streaming.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use crate::scenario::Arrivals;
    use crate::scenario::testutil::{err_set, with_set};
    use crate::time::SimTime;

    #[test]
    fn class_weights_become_a_cdf() {
        let w = with_set(&[(
            "workload.class",
            "[{name=\"a\",weight=1,prompt_tokens=1,completion_tokens=1},\
             {name=\"b\",weight=3,prompt_tokens=1,completion_tokens=1}]",
        )])
        .workload;
        assert_eq!(w.class_cdf, vec![0.25, 1.0]);
        assert_eq!(w.classes[1].steps, 1);
        let e = err_set(&[("workload.class.c.weight", "0")]);
        assert!(e.contains("must not all be zero"), "{e}");
    }

    #[test]
    fn schedules_start_at_zero_and_increase() {
        let open = "{arrival=\"poisson\",class=[{name=\"c\",prompt_tokens=1,completion_tokens=1}],";
        let w = with_set(&[(
            "workload",
            &format!(
                "{open}schedule=[{{at=\"0s\",rate_per_min=1}},{{at=\"1m\",rate_per_min=2}}]}}"
            ),
        )])
        .workload;
        match w.arrivals {
            Arrivals::Poisson { schedule } => {
                assert_eq!(schedule, vec![(SimTime::ZERO, 1.0), (SimTime::MIN, 2.0)])
            }
            _ => panic!("poisson expected"),
        }
        let e = err_set(&[(
            "workload",
            &format!("{open}schedule=[{{at=\"1s\",rate_per_min=1}}]}}"),
        )]);
        assert!(
            e.contains("workload.schedule[0].at") && e.contains("\"0s\""),
            "{e}"
        );
    }

    #[test]
    fn closed_and_open_keys_do_not_mix() {
        let e = err_set(&[("workload.rate_per_min", "3")]);
        assert!(e.contains("does not apply to arrival = \"closed\""), "{e}");
        let e = err_set(&[("workload.users", "0")]);
        assert!(e.contains("workload.users") && e.contains(">= 1"), "{e}");
    }
}
