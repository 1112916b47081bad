//! Trace replay: reading recorded traffic (Azure's LLM inference trace, Mooncake, BurstGPT,
//! Spillway's own CSV and JSONL) one request at a time, in time order, with the transforms of
//! `[workload] trace` applied. The reference for users is `docs/traces.md`.
//!
//! ```no_run
//! use spillway::scenario::TraceSpec;
//!
//! let mut spec = TraceSpec::new("data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv.gz");
//! spec.sample = Some(0.1);
//! let mut reader = spillway::trace::open(&spec)?;
//! let mut rec = spillway::trace::TraceRecord::default();
//! while reader.read_into(&mut rec)? {
//!     // rec.time, rec.session, rec.step, rec.prompt_tokens, ...
//! }
//! # Ok::<(), spillway::error::Error>(())
//! ```
//!
//! **Memory is flat in the trace's length.** The file is streamed from disk through a 64 KiB
//! buffer (gzip is decompressed on the fly); one row is parsed into a reused record; what is
//! remembered between rows is bounded by what is *open* at once, not by what has been read:
//! the sessions seen within `session_idle` (to number steps and measure gaps) and, for
//! Mooncake, one counter of prompt blocks (see `state`). [`scan`] reads a whole trace once for
//! validation and the target rate, keeping only sums and the distinct model and class names.
//!
//! **Order of the transforms.** Each row is read and checked (every row up to the end of the
//! window, even the ones before it or outside the sample). Then: the window (`from` <= t <
//! `to` on the trace's clock, durations counted from the first row), the sample (whole
//! sessions), the clock (`time = (t - from) / speedup`), the tokens (scaled, rounded), the
//! model (renamed). Mooncake's cached prefix is computed over every row in file order, before
//! the window and the sample: it is a property of the recorded request.
//!
//! **Errors** are one line naming the trace file, the line and (where known) the column, the
//! field, and what is allowed; the reader reads nothing after its first error.

mod clock;
mod csv_rows;
mod json_rows;
mod row;
mod source;
mod state;
mod stats;

use std::path::Path;

use crate::error::{Error, Location, Result};
use crate::scenario::TraceSpec;
use crate::time::SimTime;

pub use clock::{ClockKind, parse_datetime, show_datetime};
use row::{Bad, Row};
use state::{Blocks, Sessions, keep_session};
pub use stats::{TraceStats, scan};

/// Tokens per prompt block in Mooncake's `hash_ids`.
pub const MOONCAKE_BLOCK_TOKENS: u32 = 512;

/// A trace file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TraceFormat {
    /// Azure's LLM inference trace 2023: `TIMESTAMP,ContextTokens,GeneratedTokens`.
    Azure,
    /// Mooncake's JSONL: `timestamp` (ms), `input_length`, `output_length`, `hash_ids`.
    Mooncake,
    /// BurstGPT's CSV: `Timestamp, Session ID, Elapsed time, Model, Request tokens, Response
    /// tokens, Total tokens, Log Type`.
    BurstGpt,
    /// Spillway's own CSV (`docs/traces.md`).
    SpillwayCsv,
    /// Spillway's own JSONL (`docs/traces.md`).
    SpillwayJsonl,
}

impl TraceFormat {
    /// Every format, in the order the docs list them.
    pub const ALL: [TraceFormat; 5] = [
        TraceFormat::Azure,
        TraceFormat::Mooncake,
        TraceFormat::BurstGpt,
        TraceFormat::SpillwayCsv,
        TraceFormat::SpillwayJsonl,
    ];

    /// The name used in `format = "..."`.
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Azure => "azure",
            TraceFormat::Mooncake => "mooncake",
            TraceFormat::BurstGpt => "burstgpt",
            TraceFormat::SpillwayCsv => "spillway-csv",
            TraceFormat::SpillwayJsonl => "spillway-jsonl",
        }
    }

    /// The format named `name`.
    pub fn from_name(name: &str) -> Option<TraceFormat> {
        TraceFormat::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether it is JSON lines (else CSV with a header).
    pub fn is_jsonl(self) -> bool {
        matches!(self, TraceFormat::Mooncake | TraceFormat::SpillwayJsonl)
    }
}

/// How the workload room releases a trace's requests (`docs/traces.md`, "Replay modes").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TraceMode {
    /// Every request at its recorded time, whatever happened to the ones before it.
    #[default]
    Open,
    /// A session's first request at its recorded time; each next one when the previous one
    /// has completed, plus the recorded gap ([`TraceRecord::think`], else the class's think
    /// time).
    Session,
}

/// A point on a trace's clock, for the window's `from` and `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockPoint {
    /// This long after the trace's first row.
    After(SimTime),
    /// This date-time (microseconds since 1970-01-01 UTC); only for traces timed by
    /// date-times.
    At(i64),
}

/// How fast the trace is replayed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TraceSpeed {
    /// Trace time divided by this factor (2 = twice as fast).
    Factor(f64),
    /// The factor that makes the replayed requests arrive at this mean rate per minute:
    /// requests replayed / time of the last one (read once with [`scan`]).
    RatePerMin(f64),
}

/// One replayed request, after the transforms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceRecord {
    /// When it is sent: from the start of the window (the first row, or `from`), divided by
    /// the speed-up.
    pub time: SimTime,
    /// Its session, numbered from 0 in order of first appearance in the file (a row without a
    /// session id is a session of its own; a session id silent for longer than
    /// `session_idle` starts a new session).
    pub session: u64,
    /// Its place among the session's replayed requests, from 0.
    pub step: u32,
    /// The model, after renaming; `None` when the trace names none (the class decides).
    pub model: Option<String>,
    /// Prompt tokens, after scaling.
    pub prompt_tokens: u32,
    /// Completion tokens the request got (the answer's length), after scaling.
    pub completion_tokens: u32,
    /// Prompt tokens a prefix cache would hold (Mooncake: 512 x the leading blocks an earlier
    /// row sent, capped at the prompt; Spillway: `cached_prompt`; else 0), after scaling.
    pub cached_prompt_tokens: u32,
    /// `max_tokens` sent, when the trace says (never scaled).
    pub max_tokens: Option<u32>,
    /// Whether the request streamed, when the trace says.
    pub streaming: Option<bool>,
    /// The class the trace names (BurstGPT: its `Log Type`).
    pub class: Option<String>,
    /// Whether the trace records the request as failed (BurstGPT: 0 response tokens).
    pub failed: bool,
    /// Time since the session's previous replayed request was sent (0 for step 0), after
    /// the speed-up.
    pub gap: SimTime,
    /// The user's pause between the end of the previous request and this one, when the
    /// trace records how long requests took (BurstGPT's `Elapsed time`, Spillway's
    /// `duration_ms`): `gap` less the previous request's duration, at least 0, after the
    /// speed-up. `None` for step 0 and for traces without durations.
    pub think: Option<SimTime>,
    /// How long the request took as recorded (never scaled).
    pub elapsed: Option<SimTime>,
    /// The row's line in the file.
    pub line: u64,
}

/// Reads a trace: [`open`] it, then [`TraceReader::read_into`] (no allocation per record
/// once the record's strings have grown) or iterate.
pub struct TraceReader {
    rows: Rows,
    row: Row,
    shown: String,
    format: TraceFormat,
    spec: TraceSpec,
    speedup: f64,
    sessions: Sessions,
    blocks: Blocks,
    /// First row: its time and clock.
    first: Option<(i64, ClockKind)>,
    origin: i64,
    end: Option<i64>,
    /// Previous row's time and line.
    prev: (i64, u64),
    done: bool,
}

enum Rows {
    Csv(Box<csv_rows::CsvRows>),
    Json(json_rows::JsonRows),
}

/// Opens the trace `spec` describes, ready to read its first request. Reads its first line
/// to tell the format when `spec.format` is `None`, and the whole trace once (see [`scan`])
/// when the speed is a target rate.
pub fn open(spec: &TraceSpec) -> Result<TraceReader> {
    check_spec(spec)?;
    let shown = spec.file.display().to_string();
    let format = detect(&spec.file, spec.format)?;
    let stream = source::open_stream(&spec.file).map_err(|e| Error::io(&shown, e))?;
    let rows = if format.is_jsonl() {
        Rows::Json(json_rows::JsonRows::new(stream, format))
    } else {
        Rows::Csv(Box::new(
            csv_rows::CsvRows::new(stream, format).map_err(|b| located(&shown, b))?,
        ))
    };
    let speedup = match spec.speed {
        TraceSpeed::Factor(f) => f,
        TraceSpeed::RatePerMin(r) => scan(spec)?.speedup_for_rate(r).ok_or_else(|| {
            Error::Usage(format!(
                "{shown}: every replayed request is at the same instant, so no speed-up gives {r} requests per minute; give a speed-up instead"
            ))
        })?,
    };
    Ok(TraceReader {
        rows,
        row: Row::default(),
        shown,
        format,
        spec: spec.clone(),
        speedup,
        sessions: Sessions::new(i64::try_from(spec.session_idle.0).unwrap_or(i64::MAX)),
        blocks: Blocks::default(),
        first: None,
        origin: 0,
        end: None,
        prev: (i64::MIN, 0),
        done: false,
    })
}

/// The format of the trace at `path`: `given` (checked against the file's first line), or
/// told from its first line.
pub fn detect(path: &Path, given: Option<TraceFormat>) -> Result<TraceFormat> {
    let shown = path.display().to_string();
    source::detect(path, given).map_err(|e| match e {
        Ok(bad) => located(&shown, bad),
        Err(io) => Error::io(&shown, io),
    })
}

/// A spec built by hand (validation checks the same with the scenario's keys).
fn check_spec(s: &TraceSpec) -> Result<()> {
    let pos = |v: f64| v.is_finite() && v > 0.0;
    let speed_ok = match s.speed {
        TraceSpeed::Factor(f) | TraceSpeed::RatePerMin(f) => pos(f),
    };
    if !speed_ok || !pos(s.prompt_scale) || !pos(s.completion_scale) {
        return Err(Error::Usage(
            "a trace's speed-up, rate and token scales must be numbers > 0".into(),
        ));
    }
    if s.sample.is_some_and(|f| !(f > 0.0 && f <= 1.0)) {
        return Err(Error::Usage(
            "a trace's sample must be a fraction of sessions in (0, 1]".into(),
        ));
    }
    Ok(())
}

/// A problem in the trace file, at its place.
fn located(file: &str, bad: Bad) -> Error {
    Error::Scenario {
        location: Box::new(Location {
            file: file.to_string(),
            line: Some(bad.line as usize),
            column: bad.column,
            ..Default::default()
        }),
        message: bad.message,
    }
}

impl TraceReader {
    /// The trace's format.
    pub fn format(&self) -> TraceFormat {
        self.format
    }

    /// The speed-up in force (the target rate's, when the spec gives one).
    pub fn speedup(&self) -> f64 {
        self.speedup
    }

    /// Sessions remembered now (bounded by the sessions open within `session_idle`).
    pub fn open_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Prompt block ids remembered apart from the in-order counter (0 for Mooncake's own
    /// numbering; see `docs/traces.md`, "Memory").
    pub fn out_of_order_blocks(&self) -> usize {
        self.blocks.out_of_order()
    }

    /// Reads the next replayed request into `rec` (its strings are reused); `false` at the
    /// end of the trace or of the window. After an error, nothing more is read.
    pub fn read_into(&mut self, rec: &mut TraceRecord) -> Result<bool> {
        match self.advance(rec) {
            Ok(more) => {
                self.done |= !more;
                Ok(more)
            }
            Err(bad) => {
                self.done = true;
                Err(located(&self.shown, bad))
            }
        }
    }

    fn advance(&mut self, rec: &mut TraceRecord) -> Result<bool, Bad> {
        while !self.done {
            let more = match &mut self.rows {
                Rows::Csv(c) => c.next(&mut self.row)?,
                Rows::Json(j) => j.next(&mut self.row)?,
            };
            if !more {
                return Ok(false);
            }
            self.check_clock()?;
            let r = &self.row;
            let cached = if r.has_ids {
                let lead = self.blocks.leading_seen_then_add(&r.ids) as u64;
                (lead * u64::from(MOONCAKE_BLOCK_TOKENS)).min(u64::from(r.prompt)) as u32
            } else {
                r.cached.unwrap_or(0)
            };
            if self.end.is_some_and(|end| r.t >= end) {
                return Ok(false);
            }
            let open = self.sessions.row(r.session, r.t, r.step).map_err(|p| Bad {
                line: r.line,
                column: Some(r.step_col),
                message: format!(
                    "field 'step' is {} but the same session's row before it had step {p}; a session's steps must increase (or restart at 0 for a new session)",
                    r.step.unwrap_or_default()
                ),
            })?;
            if r.t < self.origin {
                continue;
            }
            if let Some(f) = self.spec.sample
                && !keep_session(self.spec.sample_seed, open.id, f)
            {
                continue;
            }
            self.emit(rec, &open, cached);
            self.sessions.replayed(r.session, r.t, r.elapsed);
            return Ok(true);
        }
        Ok(false)
    }

    /// Checks the row's clock against the first row's and the time order; at the first row,
    /// places the window.
    fn check_clock(&mut self) -> Result<(), Bad> {
        let r = &self.row;
        let kind = r.clock.unwrap_or(ClockKind::Number);
        let bad = |message: String| Bad {
            line: r.line,
            column: Some(r.t_col),
            message,
        };
        match self.first {
            None => {
                self.first = Some((r.t, kind));
                let point = |key: &str, p: Option<ClockPoint>| match p {
                    None => Ok(None),
                    Some(ClockPoint::After(d)) => Ok(Some(
                        r.t.saturating_add(i64::try_from(d.0).unwrap_or(i64::MAX)),
                    )),
                    Some(ClockPoint::At(_)) if kind != ClockKind::DateTime => Err(bad(format!(
                        "workload.trace.{key} is a date-time, but this trace's timestamps are {}: give it as a duration after the first row, e.g. \"10m\"",
                        kind.words()
                    ))),
                    Some(ClockPoint::At(at)) => Ok(Some(at)),
                };
                self.origin = point("from", self.spec.from)?.unwrap_or(r.t);
                self.end = point("to", self.spec.to)?;
            }
            Some((_, k)) if k != kind => {
                return Err(bad(format!(
                    "field 'timestamp' is one of {} but the first row's was one of {}; a trace keeps to one clock",
                    kind.words(),
                    k.words()
                )));
            }
            Some(_) => {}
        }
        let (pt, pl) = self.prev;
        if r.t < pt {
            let show = |t: i64| match kind {
                ClockKind::DateTime => show_datetime(t),
                ClockKind::Number => format!("{} s", t as f64 / 1e6),
            };
            return Err(bad(format!(
                "field 'timestamp' ({}) is earlier than line {pl}'s ({}); the rows must be in time order: sort the file by its timestamp first",
                show(r.t),
                show(pt)
            )));
        }
        self.prev = (r.t, r.line);
        Ok(())
    }

    /// Fills `rec` from the current row of session `open` (as it was before this row).
    fn emit(&self, rec: &mut TraceRecord, open: &state::Open, cached: u32) {
        let r = &self.row;
        let spec = &self.spec;
        rec.time = self.scale_time(r.t - self.origin);
        rec.session = open.id;
        rec.step = open.kept;
        rec.prompt_tokens = scale_tokens(r.prompt, spec.prompt_scale);
        rec.completion_tokens = scale_tokens(r.completion, spec.completion_scale);
        rec.cached_prompt_tokens = scale_tokens(cached, spec.prompt_scale).min(rec.prompt_tokens);
        rec.max_tokens = r.max_tokens;
        rec.streaming = r.streaming;
        rec.failed = r.failed;
        let model = r.has_model.then(|| {
            spec.models
                .get(&r.model)
                .map_or(r.model.as_str(), String::as_str)
        });
        set_text(&mut rec.model, model);
        set_text(&mut rec.class, r.has_class.then_some(r.class.as_str()));
        let first = open.kept == 0;
        let since = r.t - open.last_kept;
        rec.gap = if first {
            SimTime::ZERO
        } else {
            self.scale_time(since)
        };
        rec.think = match (first, open.last_elapsed) {
            (false, Some(e)) => Some(self.scale_time((since - e).max(0))),
            _ => None,
        };
        rec.elapsed = r.elapsed.map(|e| SimTime(e as u64));
        rec.line = r.line;
    }

    /// A span of trace time (>= 0) on the replay's clock.
    fn scale_time(&self, us: i64) -> SimTime {
        let us = us.max(0);
        if self.speedup == 1.0 {
            return SimTime(us as u64);
        }
        let v = (us as f64 / self.speedup).round();
        if v >= u64::MAX as f64 {
            SimTime::MAX
        } else {
            SimTime(v as u64)
        }
    }
}

/// `n` tokens scaled by `f`, rounded to the nearest; never below 1 when `n` is at least 1.
fn scale_tokens(n: u32, f: f64) -> u32 {
    if f == 1.0 || n == 0 {
        return n;
    }
    let v = (f64::from(n) * f).round();
    if v >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        (v as u32).max(1)
    }
}

/// Sets an optional text, reusing its buffer.
fn set_text(dst: &mut Option<String>, src: Option<&str>) {
    match (dst.as_mut(), src) {
        (Some(d), Some(s)) => {
            d.clear();
            d.push_str(s);
        }
        (None, Some(s)) => *dst = Some(s.to_string()),
        (_, None) => *dst = None,
    }
}

impl Iterator for TraceReader {
    type Item = Result<TraceRecord>;

    /// The next replayed request; `None` at the end, and after an error.
    fn next(&mut self) -> Option<Result<TraceRecord>> {
        let mut rec = TraceRecord::default();
        match self.read_into(&mut rec) {
            Ok(true) => Some(Ok(rec)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
