//! `[workload] trace = { ... }`: its keys one by one (the file, format, mode, window, speed,
//! token scales, model renaming, sample). What needs the trace's contents (its rows, models and
//! classes against the scenario) is checked by `trace_workload::trace`.

use super::Ctx;
use crate::error::Result;
use crate::scenario::TraceSpec;
use crate::scenario::limits::Range;
use crate::scenario::raw::RawTrace;
use crate::time::{SimTime, parse_duration};
use crate::trace::{self, ClockPoint, TraceFormat, TraceMode, TraceSpeed};

const SPEEDUP: Range = Range {
    min: 0.0,
    min_open: true,
    max: 1e6,
    unit: "times the recorded pace",
};
const TRACE_RATE: Range = Range {
    min: 0.0,
    min_open: true,
    max: 1e9,
    unit: "requests per minute",
};
const TOKEN_SCALE: Range = Range {
    min: 0.0,
    min_open: true,
    max: 1_000.0,
    unit: "times the recorded tokens",
};
const SAMPLE: Range = Range {
    min: 0.0,
    min_open: true,
    max: 1.0,
    unit: "fraction of sessions",
};

/// The keys of `trace = { ... }` checked one by one.
pub(super) fn check(t: &RawTrace, c: &Ctx, seed: u64) -> Result<TraceSpec> {
    let k = |name: &str| format!("workload.trace.{name}");
    let file = std::path::Path::new(c.file)
        .parent()
        .map_or_else(|| t.file.clone().into(), |dir| dir.join(&t.file));
    if t.file.is_empty() || !file.is_file() {
        return Err(c.err(
            k("file"),
            format!(
                "no trace file '{}' (looked for {}; a relative path is read from the scenario file's folder)",
                t.file,
                file.display()
            ),
        ));
    }
    let mut spec = TraceSpec::new(file);
    spec.format = match t.format.as_deref() {
        None | Some("auto") => None,
        Some(name) => Some(TraceFormat::from_name(name).ok_or_else(|| {
            c.err(
                k("format"),
                format!("unknown format '{name}'; allowed: auto, azure, mooncake, burstgpt, spillway-csv, spillway-jsonl"),
            )
        })?),
    };
    spec.mode = match t.mode.as_deref() {
        None | Some("open") => TraceMode::Open,
        Some("session") => TraceMode::Session,
        Some(other) => {
            return Err(c.err(
                k("mode"),
                format!("unknown mode '{other}'; allowed: open, session"),
            ));
        }
    };
    spec.from = clock_point(c, &k("from"), t.from.as_deref())?;
    spec.to = match t.to.as_deref() {
        Some("end") => None,
        to => clock_point(c, &k("to"), to)?,
    };
    let before = match (spec.from, spec.to) {
        (Some(ClockPoint::After(a)), Some(ClockPoint::After(b))) => b <= a,
        (Some(ClockPoint::At(a)), Some(ClockPoint::At(b))) => b <= a,
        (None, Some(ClockPoint::After(b))) => b == SimTime::ZERO,
        _ => false,
    };
    if before {
        return Err(c.err(
            k("to"),
            "the window must end after it starts ('to' after 'from')",
        ));
    }
    spec.speed = match (t.speedup, t.rate_per_min) {
        (Some(_), Some(_)) => {
            return Err(c.err(
                k("rate_per_min"),
                "give either 'speedup' or 'rate_per_min', not both (a target rate sets the speed-up)",
            ));
        }
        (Some(f), None) => TraceSpeed::Factor(c.range(&k("speedup"), f, &SPEEDUP)?),
        (None, Some(r)) => TraceSpeed::RatePerMin(c.range(&k("rate_per_min"), r, &TRACE_RATE)?),
        (None, None) => TraceSpeed::Factor(1.0),
    };
    if let Some(f) = t.prompt_scale {
        spec.prompt_scale = c.range(&k("prompt_scale"), f, &TOKEN_SCALE)?;
    }
    if let Some(f) = t.completion_scale {
        spec.completion_scale = c.range(&k("completion_scale"), f, &TOKEN_SCALE)?;
    }
    for (from, to) in t.models.iter().flatten() {
        if from.is_empty() || to.is_empty() {
            return Err(c.err(k("models"), "model names must not be empty"));
        }
        spec.models.insert(from.clone(), to.clone());
    }
    if let Some(f) = t.sample {
        spec.sample = Some(c.range(&k("sample"), f, &SAMPLE)?);
    }
    spec.sample_seed = t.sample_seed.unwrap_or(seed);
    spec.session_idle = c.dur(&k("session_idle"), t.session_idle.as_ref(), "1h")?;
    if spec.session_idle == SimTime::ZERO {
        return Err(c.err(k("session_idle"), "must be longer than 0s"));
    }
    spec.prompt_cache = t.prompt_cache.unwrap_or(true);
    Ok(spec)
}

/// `from` / `to`: a duration after the trace's first request, or a date-time.
fn clock_point(c: &Ctx, key: &str, v: Option<&str>) -> Result<Option<ClockPoint>> {
    let Some(text) = v else { return Ok(None) };
    if let Ok(d) = parse_duration(text) {
        return Ok(Some(ClockPoint::After(d)));
    }
    match trace::parse_datetime(text.trim()) {
        Some(at) => Ok(Some(ClockPoint::At(at))),
        None => Err(c.err(
            key,
            format!(
                "'{text}' is neither a duration after the trace's first request (e.g. \"10m\") nor a date-time (e.g. \"2023-11-16 18:30:00\")"
            ),
        )),
    }
}
