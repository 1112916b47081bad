//! The workload when a trace brings the sessions: its arrivals, its default class, and the
//! trace key checked against the scenario's models and routes (`[workload] trace`).

use super::trace_keys;
use super::{Ctx, Models};
use crate::dist::Dist;
use crate::error::Result;
use crate::gateway::GatewaySpec;
use crate::scenario::limits;
use crate::scenario::raw::RawWorkload;
use crate::scenario::{Arrivals, RouterSpec, SessionClass, Stage, Step, TraceSpec};
use crate::time::SimTime;
use crate::trace::{self, TraceFormat, TraceMode, TraceSpeed};

/// With a trace, the trace brings the arrivals: `arrival`, `users`, `rate_per_min`,
/// `schedule` and `user_think_time_s` must not be given. The arrivals are an open loop of
/// rate 0 (no synthetic session).
pub(super) fn trace_arrivals(w: &RawWorkload, c: &Ctx) -> Result<Arrivals> {
    let given = [
        ("arrival", w.arrival.is_some()),
        ("users", w.users.is_some()),
        ("rate_per_min", w.rate_per_min.is_some()),
        ("schedule", w.schedule.is_some()),
        ("user_think_time_s", w.user_think_time_s.is_some()),
    ];
    if let Some((key, _)) = given.iter().find(|(_, set)| *set) {
        return Err(c.err(
            format!("workload.{key}"),
            "does not apply with 'trace': the trace brings the sessions and their times (remove one of them)",
        ));
    }
    Ok(Arrivals::Constant {
        schedule: vec![(SimTime::ZERO, 0.0)],
    })
}

/// The class of a trace replayed without `[[workload.class]]`: named "trace", on the one
/// model in use, no `max_tokens`, not streaming, no think time (its token distributions are
/// never drawn: the trace gives the tokens).
pub(super) fn trace_class(
    c: &Ctx,
    models: &Models,
    router: &RouterSpec,
    gateway: Option<&GatewaySpec>,
) -> Result<SessionClass> {
    if models.len() != 1 {
        return Err(c.err(
            "workload.class",
            "several models are in use: add a [[workload.class]] naming the model that requests without one use (the trace's own model names are mapped with trace.models)",
        ));
    }
    if !served(0, router, gateway) {
        return Err(c.err(
            "workload.trace",
            format!("no routed deployment serves model '{}'", models.names[0]),
        ));
    }
    Ok(SessionClass {
        name: "trace".into(),
        weight: 1.0,
        steps: vec![Step {
            name: "step-1".into(),
            model: 0,
            prompt_tokens: Dist::constant(1.0),
            completion_tokens: Dist::constant(1.0),
            cached_prompt_share: Dist::constant(0.0),
            think_time_s: Dist::constant(0.0),
            max_tokens: None,
            streaming: false,
        }],
        flow: vec![Stage {
            calls: vec![0],
            think_after: 0,
        }],
        calls: 1,
    })
}

/// Whether model `m` has a deployment to go to.
fn served(m: usize, router: &RouterSpec, gateway: Option<&GatewaySpec>) -> bool {
    match gateway {
        Some(g) => !g.by_model[m].is_empty(),
        None => !router.routes[m].is_empty(),
    }
}

/// `[workload] trace`: the file (relative to the scenario's folder), format, mode and
/// transforms; then one pass over the trace ([`trace::scan`], remembered per process): every
/// row up to the window's end is well-formed and in time order, some request is replayed,
/// the replayed models are served and the classes the trace names exist. `seed` is the
/// scenario's (the sample's default seed).
pub(super) fn trace(
    w: &RawWorkload,
    c: &Ctx,
    models: &Models,
    classes: &[SessionClass],
    router: &RouterSpec,
    gateway: Option<&GatewaySpec>,
    seed: u64,
) -> Result<Option<TraceSpec>> {
    let Some(t) = &w.trace else {
        return Ok(None);
    };
    let k = |name: &str| format!("workload.trace.{name}");
    let mut spec = trace_keys::check(t, c, seed)?;
    for (from, to) in &spec.models {
        let key = k(&format!("models.\"{from}\""));
        let m = models.index(c, &key, to).map_err(|_| {
            c.err(
                &key,
                format!(
                    "'{to}' is not a model of this scenario (models in use: {})",
                    models.names.join(", ")
                ),
            )
        })?;
        if !served(m, router, gateway) {
            return Err(c.err(key, format!("no routed deployment serves model '{to}'")));
        }
    }
    spec.format = Some(trace::detect(&spec.file, spec.format)?);
    let stats = trace::scan(&spec)?;
    let shown = spec.file.display().to_string();
    if stats.records == 0 {
        return Err(c.err(
            "workload.trace",
            format!(
                "no request of {shown} is replayed: the window (from, to) or the sample leaves none"
            ),
        ));
    }
    if matches!(spec.speed, TraceSpeed::RatePerMin(_)) && stats.rate_per_min().is_none() {
        return Err(c.err(
            k("rate_per_min"),
            "every replayed request is at the same instant, so no speed-up gives a rate: give 'speedup' instead",
        ));
    }
    if spec.mode == TraceMode::Session && stats.max_steps <= 1 {
        return Err(c.err(
            k("mode"),
            format!(
                "mode = \"session\" releases a session's steps one after another, but every replayed session of {shown} has one request (the {} format has no session ids?): use mode = \"open\"",
                stats.format.map_or("", |f| f.name())
            ),
        ));
    }
    let l = c.limits;
    if stats.records > l.max_expected_calls || stats.sessions > l.max_expected_sessions {
        return Err(c.err(
            "workload.trace",
            format!(
                "{} requests in {} sessions are replayed; at most {} calls and {} sessions per run: replay a window (from, to) or a sample; {}",
                limits::group(stats.records as i64),
                limits::group(stats.sessions as i64),
                limits::group(l.max_expected_calls as i64),
                limits::group(l.max_expected_sessions as i64),
                limits::SEE_LIMITS
            ),
        ));
    }
    for (name, line) in &stats.models {
        let ok = models.names.iter().position(|m| m == name);
        if !ok.is_some_and(|m| served(m, router, gateway)) {
            return Err(c.err(
                k("models"),
                format!(
                    "the trace's model '{name}' (first at {shown}:{line}) is not served by any deployment; map it to one with models = {{ \"{name}\" = \"{}\" }}",
                    models.names[0]
                ),
            ));
        }
    }
    let strict = matches!(
        stats.format,
        Some(TraceFormat::SpillwayCsv | TraceFormat::SpillwayJsonl)
    );
    for (name, line) in stats.classes.iter().filter(|_| strict) {
        if !classes.iter().any(|k| &k.name == name) {
            let names: Vec<&str> = classes.iter().map(|k| k.name.as_str()).collect();
            return Err(c.err(
                "workload.class",
                format!(
                    "the trace names class '{name}' (first at {shown}:{line}) but no [[workload.class]] has that name (classes: {})",
                    names.join(", ")
                ),
            ));
        }
    }
    Ok(Some(spec))
}
