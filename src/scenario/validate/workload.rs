//! `[workload]` and `[[workload.class]]`: how sessions arrive (closed loop, Poisson, constant,
//! with a piecewise schedule) and the session classes with their token distributions.

use super::{Ctx, Models};
use crate::dist::Dist;
use crate::dist::RawDist;
use crate::error::Result;
use crate::gateway::GatewaySpec;
use crate::scenario::limits;
use crate::scenario::raw::{RawClass, RawStep, RawWorkload};
use crate::scenario::{Arrivals, RouterSpec, SessionClass, Stage, Step};
use crate::time::SimTime;

/// Checks `[workload]`: the arrivals, the classes and their cumulative weights. A class's model
/// must be served by the gateway when there is one, else by the router. An open loop's expected
/// sessions over `duration` must be within the limits.
pub(super) fn check(
    w: &RawWorkload,
    c: &Ctx,
    models: &Models,
    router: &RouterSpec,
    gateway: Option<&GatewaySpec>,
    duration: SimTime,
) -> Result<(Arrivals, Vec<SessionClass>, Vec<f64>)> {
    let arrivals = arrivals(w, c)?;
    if w.class.is_empty() && w.trace.is_some() {
        let class = super::trace_workload::trace_class(c, models, router, gateway)?;
        return Ok((arrivals, vec![class], vec![1.0]));
    }
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
    check_size(w, c, &arrivals, &classes, duration)?;
    Ok((arrivals, classes, class_cdf))
}

/// Open loop: the sessions expected to arrive in `[0, duration)` (capped by `sessions`), and
/// the calls they make, within the limits. (A closed loop's work depends on how fast sessions
/// finish; its users are bounded instead.)
fn check_size(
    w: &RawWorkload,
    c: &Ctx,
    arrivals: &Arrivals,
    classes: &[SessionClass],
    duration: SimTime,
) -> Result<()> {
    let schedule = match arrivals {
        Arrivals::Closed { .. } => return Ok(()),
        Arrivals::Poisson { schedule } | Arrivals::Constant { schedule } => schedule,
    };
    let arriving = expected_sessions(schedule, duration);
    let sessions = match w.sessions {
        Some(cap) => arriving.min(cap as f64),
        None => arriving,
    };
    let l = c.limits;
    if sessions > l.max_expected_sessions as f64 {
        let (key, how) = if w.schedule.is_some() {
            ("workload.schedule", "the schedule".to_string())
        } else {
            (
                "workload.rate_per_min",
                format!("{} per minute", limits::shown(schedule[0].1)),
            )
        };
        return Err(c.err(
            key,
            format!(
                "about {} sessions would arrive ({how} for {}); at most {} per run: split the run (e.g. a shorter duration) or cap it with 'workload.sessions'; {}",
                limits::shown(sessions.round()),
                limits::span(duration),
                limits::group(l.max_expected_sessions as i64),
                limits::SEE_LIMITS
            ),
        ));
    }
    let total: f64 = classes.iter().map(|k| k.weight).sum();
    let mean_steps: f64 = classes
        .iter()
        .map(|k| k.weight / total * k.calls as f64)
        .sum();
    let calls = sessions * mean_steps;
    if calls > l.max_expected_calls as f64 {
        return Err(c.err(
            "workload.class",
            format!(
                "about {} calls would be made ({} sessions x {mean_steps:.1} steps on average); at most {} per run: split the run (e.g. a shorter duration) or cap it with 'workload.sessions'; {}",
                limits::shown(calls.round()),
                limits::shown(sessions.round()),
                limits::group(l.max_expected_calls as i64),
                limits::SEE_LIMITS
            ),
        ));
    }
    Ok(())
}

/// Sessions expected in `[0, duration)` from a piecewise-constant rate per minute.
fn expected_sessions(schedule: &[(SimTime, f64)], duration: SimTime) -> f64 {
    schedule
        .iter()
        .enumerate()
        .map(|(i, &(from, rate))| {
            let to = schedule.get(i + 1).map_or(duration, |p| p.0.min(duration));
            let minutes = to.saturating_sub(from).as_secs_f64() / 60.0;
            rate * minutes
        })
        .sum()
}

/// The arrival process: `closed` (users), `poisson` or `constant` (a rate or a schedule).
fn arrivals(w: &RawWorkload, c: &Ctx) -> Result<Arrivals> {
    if w.trace.is_some() {
        return super::trace_workload::trace_arrivals(w, c);
    }
    let Some(arrival) = w.arrival.as_deref() else {
        return Err(c.err(
            "workload.arrival",
            "missing: give 'arrival' (\"closed\", \"poisson\" or \"constant\"), or a 'trace' to replay",
        ));
    };
    match arrival {
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
            if users > c.limits.max_users {
                return Err(c.err(
                    "workload.users",
                    format!(
                        "{} concurrent users; at most {} per run: model a sample of them (e.g. 1 user in 10, with a tenth of the quota); {}",
                        limits::group(users.into()),
                        limits::group(c.limits.max_users.into()),
                        limits::SEE_LIMITS
                    ),
                ));
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
                    format!("does not apply to arrival = \"{arrival}\""),
                ));
            }
            if w.user_think_time_s.is_some() {
                return Err(c.err(
                    "workload.user_think_time_s",
                    "applies to arrival = \"closed\" only",
                ));
            }
            let s = schedule(w, c)?;
            if arrival == "poisson" {
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
            c.range("workload.rate_per_min", *r, &limits::RATE_PER_MIN)?,
        )]),
        (None, Some(points)) => {
            let mut out: Vec<(SimTime, f64)> = Vec::new();
            for (i, p) in points.iter().enumerate() {
                let k = format!("workload.schedule[{i}]");
                let at = c.dur(&format!("{k}.at"), Some(&p.at), "")?;
                let rate = c.range(
                    &format!("{k}.rate_per_min"),
                    p.rate_per_min,
                    &limits::RATE_PER_MIN,
                )?;
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
                w.arrival.as_deref().unwrap_or_default()
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
    let weight = c.range(
        &format!("{key}.weight"),
        k.weight.unwrap_or(1.0),
        &limits::CLASS_WEIGHT,
    )?;
    let ctx = StepCtx {
        c,
        models,
        router,
        gateway,
    };
    let (steps, flow) = if k.step.is_empty() {
        let n = k.steps.unwrap_or(1);
        if n == 0 {
            return Err(c.err(format!("{key}.steps"), "must be >= 1"));
        }
        let step = ctx.step(k, &RawStep::default(), &key, "step-1")?;
        let stage = Stage {
            calls: vec![0],
            think_after: 0,
        };
        (vec![step], vec![stage; n as usize])
    } else {
        if k.steps.is_some() {
            return Err(c.err(
                format!("{key}.steps"),
                "give either 'steps' (the short form) or [[workload.class.step]]s, not both",
            ));
        }
        flow(k, &ctx, &key)?
    };
    let calls: u64 = flow.iter().map(|s| s.calls.len() as u64).sum();
    if calls > c.limits.max_steps as u64 {
        return Err(c.err(
            format!("{key}.steps"),
            format!(
                "{} calls per session; at most {} per session; {}",
                limits::group(calls as i64),
                limits::group(c.limits.max_steps.into()),
                limits::SEE_LIMITS
            ),
        ));
    }
    Ok(SessionClass {
        name: k.name.clone(),
        weight,
        steps,
        flow,
        calls: calls as u32,
    })
}

/// Most calls a session makes at once (one stage).
const MAX_STAGE_CALLS: u32 = 1_000;

/// The long form: `[[workload.class.step]]`s into call shapes and stages. `repeat` runs a
/// step in sequence, `parallel` makes copies at once, and consecutive steps sharing a `group`
/// form one stage.
fn flow(k: &RawClass, ctx: &StepCtx, key: &str) -> Result<(Vec<Step>, Vec<Stage>)> {
    let c = ctx.c;
    let mut steps = Vec::new();
    let mut flow: Vec<Stage> = Vec::new();
    let mut open_group: Option<&str> = None;
    for (i, raw) in k.step.iter().enumerate() {
        let name = raw
            .name
            .clone()
            .unwrap_or_else(|| format!("step-{}", i + 1));
        if steps.iter().any(|s: &Step| s.name == name) {
            return Err(c.err(
                format!("{key}.step[{i}].name"),
                format!("duplicate step name '{name}'"),
            ));
        }
        let skey = format!("{key}.step.{name}");
        steps.push(ctx.step(k, raw, &skey, &name)?);
        let index = (steps.len() - 1) as u16;
        let repeat = raw.repeat.unwrap_or(1);
        let parallel = raw.parallel.unwrap_or(1);
        if repeat == 0 || parallel == 0 {
            let which = if repeat == 0 { "repeat" } else { "parallel" };
            return Err(c.err(format!("{skey}.{which}"), "must be >= 1"));
        }
        if parallel > MAX_STAGE_CALLS {
            return Err(c.err(
                format!("{skey}.parallel"),
                format!("{parallel} calls at once; at most {MAX_STAGE_CALLS}"),
            ));
        }
        if repeat as u64 > c.limits.max_steps as u64 {
            return Err(c.err(
                format!("{skey}.repeat"),
                format!(
                    "{repeat} repetitions; at most {} calls per session",
                    c.limits.max_steps
                ),
            ));
        }
        let calls = vec![index; parallel as usize];
        match raw.group.as_deref() {
            Some(g) => {
                if repeat != 1 {
                    return Err(c.err(
                        format!("{skey}.repeat"),
                        "a step in a group runs once per group; repeat the group's steps instead",
                    ));
                }
                let joins = open_group == Some(g);
                match flow.last_mut() {
                    Some(stage) if joins => {
                        stage.calls.extend(calls);
                        stage.think_after = index;
                        if stage.calls.len() > MAX_STAGE_CALLS as usize {
                            return Err(c.err(
                                format!("{skey}.group"),
                                format!(
                                    "group '{g}' makes more than {MAX_STAGE_CALLS} calls at once"
                                ),
                            ));
                        }
                    }
                    _ => flow.push(Stage {
                        calls,
                        think_after: index,
                    }),
                }
                open_group = raw.group.as_deref();
            }
            None => {
                for _ in 0..repeat {
                    flow.push(Stage {
                        calls: calls.clone(),
                        think_after: index,
                    });
                }
                open_group = None;
            }
        }
    }
    Ok((steps, flow))
}

/// What checking a step needs.
struct StepCtx<'a, 'c> {
    c: &'a Ctx<'c>,
    models: &'a Models,
    router: &'a RouterSpec,
    gateway: Option<&'a GatewaySpec>,
}

impl StepCtx<'_, '_> {
    /// One call shape: the step's keys, else the class's.
    fn step(&self, k: &RawClass, s: &RawStep, key: &str, name: &str) -> Result<Step> {
        let c = self.c;
        let model_name = s.model.as_ref().or(k.model.as_ref());
        let model = match model_name {
            Some(m) => self.models.index(c, &format!("{key}.model"), m)?,
            None if self.models.len() == 1 => 0,
            None => {
                return Err(c.err(
                    format!("{key}.model"),
                    "several models are in use; say which one this class (or step) calls",
                ));
            }
        };
        let served = match self.gateway {
            Some(g) => !g.by_model[model].is_empty(),
            None => !self.router.routes[model].is_empty(),
        };
        if !served {
            return Err(c.err(
                format!("{key}.model"),
                format!(
                    "no routed deployment serves model '{}'",
                    self.models.names[model]
                ),
            ));
        }
        let max_tokens = s.max_tokens.or(k.max_tokens);
        if max_tokens == Some(0) {
            return Err(c.err(
                format!("{key}.max_tokens"),
                "must be >= 1 (omit it to send none)",
            ));
        }
        let tokens = |which: &str, own: &Option<RawDist>, class: &Option<RawDist>| {
            let raw = own.as_ref().or(class.as_ref()).ok_or_else(|| {
                c.err(
                    format!("{key}.{which}"),
                    "missing: give it on the step or on its class (a number or a distribution)",
                )
            })?;
            Dist::from_raw(raw, 1.0).map_err(|m| c.err(format!("{key}.{which}"), m))
        };
        let share_key = format!("{key}.cached_prompt_share");
        let cached_prompt_share = match s
            .cached_prompt_share
            .as_ref()
            .or(k.cached_prompt_share.as_ref())
        {
            None => Dist::constant(0.0),
            Some(raw) => Dist::share(raw).map_err(|m| c.err(share_key, m))?,
        };
        Ok(Step {
            name: name.to_string(),
            model,
            prompt_tokens: tokens("prompt_tokens", &s.prompt_tokens, &k.prompt_tokens)?,
            completion_tokens: tokens(
                "completion_tokens",
                &s.completion_tokens,
                &k.completion_tokens,
            )?,
            cached_prompt_share,
            think_time_s: c.dist(
                &format!("{key}.think_time_s"),
                s.think_time_s.as_ref().or(k.think_time_s.as_ref()),
                0.0,
                0.0,
            )?,
            max_tokens,
            streaming: s.streaming.or(k.streaming).unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::Arrivals;
    use crate::scenario::testutil::{err_set, with_set};
    use crate::time::SimTime;

    /// `BASE` with its class replaced by `class` (TOML table keys after `name = "c"`).
    fn flow(class: &str) -> String {
        let base = crate::scenario::testutil::BASE;
        let head = &base[..base.find("[[workload.class]]").unwrap()];
        format!("{head}[[workload.class]]\nname = \"c\"\n{class}")
    }

    #[test]
    fn a_flow_of_steps_expands_repeats_fan_outs_and_groups_into_stages() {
        let text = flow(
            r#"prompt_tokens = 1000
completion_tokens = 100
[[workload.class.step]]
name = "plan"
repeat = 2
[[workload.class.step]]
name = "search"
parallel = 3
completion_tokens = 20
group = "fan"
[[workload.class.step]]
name = "lookup"
group = "fan"
think_time_s = 2
[[workload.class.step]]
name = "answer"
max_tokens = 500
streaming = true
"#,
        );
        let sc = crate::scenario::testutil::ok(&text).variants.remove(0);
        let k = &sc.workload.classes[0];
        let names: Vec<&str> = k.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["plan", "search", "lookup", "answer"]);
        let stages: Vec<(Vec<u16>, u16)> = k
            .flow
            .iter()
            .map(|s| (s.calls.clone(), s.think_after))
            .collect();
        assert_eq!(
            stages,
            vec![
                (vec![0], 0),
                (vec![0], 0),
                (vec![1, 1, 1, 2], 2),
                (vec![3], 3)
            ]
        );
        assert_eq!(k.calls, 7);
        // Steps take the class's keys unless they give their own.
        assert_eq!(k.steps[1].completion_tokens.mean(), 20.0);
        assert_eq!(k.steps[2].completion_tokens.mean(), 100.0);
        assert_eq!(k.steps[2].think_time_s.mean(), 2.0);
        assert_eq!(
            (k.steps[3].max_tokens, k.steps[3].streaming),
            (Some(500), true)
        );
    }

    #[test]
    fn the_short_form_is_one_step_repeated() {
        let sc = crate::scenario::testutil::ok(&flow(
            "steps = 3\nprompt_tokens = 10\ncompletion_tokens = 5\n",
        ));
        let k = &sc.variants[0].workload.classes[0];
        assert_eq!((k.steps.len(), k.flow.len(), k.calls), (1, 3, 3));
    }

    #[test]
    fn flow_mistakes_name_the_step_and_the_key() {
        use crate::scenario::testutil::err;
        let e = err(&flow(
            "steps = 2\nprompt_tokens = 1\ncompletion_tokens = 1\n[[workload.class.step]]\nname = \"a\"\n",
        ));
        assert!(
            e.contains("workload.class.c.steps") && e.contains("not both"),
            "{e}"
        );
        let e = err(&flow(
            "[[workload.class.step]]\nname = \"a\"\ncompletion_tokens = 1\n",
        ));
        assert!(
            e.contains("workload.class.c.step.a.prompt_tokens") && e.contains("missing"),
            "{e}"
        );
        let e = err(&flow(
            "prompt_tokens = 1\ncompletion_tokens = 1\n[[workload.class.step]]\nname = \"a\"\nparallel = 0\n",
        ));
        assert!(e.contains("step.a.parallel") && e.contains(">= 1"), "{e}");
        let e = err(&flow(
            "prompt_tokens = 1\ncompletion_tokens = 1\n[[workload.class.step]]\nname = \"a\"\ngroup = \"g\"\nrepeat = 2\n",
        ));
        assert!(e.contains("step.a.repeat") && e.contains("group"), "{e}");
        let e = err(&flow(
            "prompt_tokens = 1\ncompletion_tokens = 1\ncached_prompt_share = 1.5\n",
        ));
        assert!(
            e.contains("cached_prompt_share") && e.contains("from 0 to 1"),
            "{e}"
        );
    }

    #[test]
    fn class_weights_become_a_cdf() {
        let w = with_set(&[(
            "workload.class",
            "[{name=\"a\",weight=1,prompt_tokens=1,completion_tokens=1},\
             {name=\"b\",weight=3,prompt_tokens=1,completion_tokens=1}]",
        )])
        .workload;
        assert_eq!(w.class_cdf, vec![0.25, 1.0]);
        assert_eq!(w.classes[1].calls, 1);
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

    #[test]
    fn expected_sessions_follow_the_schedule_within_duration() {
        let m = SimTime::MIN;
        let s = [(SimTime::ZERO, 10.0), (SimTime(10 * m.0), 100.0)];
        // 10 min at 10/min, then 5 min at 100/min (the duration ends the last piece).
        assert_eq!(super::expected_sessions(&s, SimTime(15 * m.0)), 600.0);
        // A piece that starts after the duration adds nothing.
        assert_eq!(super::expected_sessions(&s, SimTime(5 * m.0)), 50.0);
    }

    #[test]
    fn open_loop_size_is_limited_unless_capped() {
        let e = err_set(&[(
            "workload",
            "{arrival=\"constant\",rate_per_min=2e6,class=[{name=\"c\",prompt_tokens=1,completion_tokens=1}]}",
        )]);
        assert!(
            e.contains("key 'workload.rate_per_min'")
                && e.contains(
                    "about 20_000_000 sessions would arrive (2_000_000 per minute for 10m)"
                )
                && e.contains("at most 10_000_000"),
            "{e}"
        );
        // Capped by 'sessions', it is fine.
        with_set(&[(
            "workload",
            "{arrival=\"constant\",rate_per_min=2e6,sessions=1000,class=[{name=\"c\",prompt_tokens=1,completion_tokens=1}]}",
        )]);
        let e = err_set(&[(
            "workload",
            "{arrival=\"poisson\",schedule=[{at=\"0s\",rate_per_min=1},{at=\"5m\",rate_per_min=4e6}],class=[{name=\"c\",prompt_tokens=1,completion_tokens=1}]}",
        )]);
        assert!(
            e.contains("key 'workload.schedule'") && e.contains("the schedule for 10m"),
            "{e}"
        );
    }

    #[test]
    fn closed_loop_users_are_limited_and_limits_can_be_lifted() {
        let e = err_set(&[("workload.users", "1000001")]);
        assert!(
            e.contains("1_000_001 concurrent users; at most 1_000_000"),
            "{e}"
        );
        let sets = vec![("workload.users".to_string(), "4294967295".to_string())];
        let none = crate::scenario::Limits::NONE;
        let set = crate::scenario::parse_with_limits(
            crate::scenario::testutil::BASE,
            "t.toml",
            &sets,
            None,
            &none,
        )
        .unwrap();
        assert!(matches!(
            set.variants[0].workload.arrivals,
            Arrivals::Closed {
                users: 4_294_967_295,
                ..
            }
        ));
        // The limits are kept for sweep points.
        assert!(set.rebuild(0, &[]).is_ok());
    }
}
