//! [`scan`]: one pass over a whole trace, with its window, sample, token scaling and model
//! renaming (not its speed), for validation and for the speed-up that gives a target rate.
//! Memory stays flat: sums, and the distinct model and class names (at most
//! [`MAX_NAMES`] of each).
//!
//! A scan is remembered per process for the same file (path, size, modification time) and
//! the same transforms, so that a scenario's variants and sweep points read a trace once.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::scenario::TraceSpec;
use crate::time::SimTime;

use super::{TraceFormat, TraceRecord, TraceSpeed, open};

/// Distinct model names (and, separately, class names) a trace may use.
pub const MAX_NAMES: usize = 1_000;

/// Scans remembered per process.
const REMEMBERED: usize = 16;

/// What a whole pass over a trace found, for the requests it replays (after the window, the
/// sample, token scaling and model renaming; at the trace's own pace, speed-up 1).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceStats {
    /// The format read.
    pub format: Option<TraceFormat>,
    /// Requests replayed.
    pub records: u64,
    /// Sessions replayed (requests with step 0).
    pub sessions: u64,
    /// Most steps in one replayed session.
    pub max_steps: u32,
    /// Requests the trace records as failed.
    pub failed: u64,
    /// Prompt tokens, summed.
    pub prompt_tokens: u64,
    /// Completion tokens, summed.
    pub completion_tokens: u64,
    /// Cached prompt tokens, summed.
    pub cached_prompt_tokens: u64,
    /// Time of the last replayed request from the start of the window, at speed-up 1.
    pub span: SimTime,
    /// Models of replayed requests (after renaming), each with the first line naming it.
    pub models: BTreeMap<String, u64>,
    /// Classes named by replayed requests, each with the first line naming it.
    pub classes: BTreeMap<String, u64>,
    /// Requests without a model (their class gives it).
    pub without_model: u64,
    /// Most sessions remembered at once while reading (memory: ~80 bytes each).
    pub max_open_sessions: usize,
    /// Prompt block ids remembered apart from the in-order counter at the end (8-16 bytes
    /// each; 0 when blocks are numbered in order of first appearance, as Mooncake's are).
    pub out_of_order_blocks: usize,
}

impl TraceStats {
    /// Mean requests per minute over the replay at speed-up 1: requests / time of the last
    /// one. `None` when they are all at the same instant.
    pub fn rate_per_min(&self) -> Option<f64> {
        (self.span > SimTime::ZERO).then(|| self.records as f64 / (self.span.as_secs_f64() / 60.0))
    }

    /// The speed-up that makes the replayed requests arrive at `rate` per minute on average.
    pub fn speedup_for_rate(&self, rate: f64) -> Option<f64> {
        self.rate_per_min().map(|r| rate / r)
    }

    fn add(&mut self, rec: &TraceRecord, open: usize) -> std::result::Result<(), String> {
        self.records += 1;
        if rec.step == 0 {
            self.sessions += 1;
        }
        self.max_steps = self.max_steps.max(rec.step + 1);
        self.failed += u64::from(rec.failed);
        self.prompt_tokens += u64::from(rec.prompt_tokens);
        self.completion_tokens += u64::from(rec.completion_tokens);
        self.cached_prompt_tokens += u64::from(rec.cached_prompt_tokens);
        self.span = rec.time;
        self.max_open_sessions = self.max_open_sessions.max(open);
        match &rec.model {
            Some(m) => note(&mut self.models, m, rec.line, "model")?,
            None => self.without_model += 1,
        }
        if let Some(c) = &rec.class {
            note(&mut self.classes, c, rec.line, "class")?;
        }
        Ok(())
    }
}

fn note(
    names: &mut BTreeMap<String, u64>,
    name: &str,
    line: u64,
    what: &str,
) -> std::result::Result<(), String> {
    if !names.contains_key(name) {
        if names.len() >= MAX_NAMES {
            return Err(format!(
                "this trace names more than {MAX_NAMES} different {what}s (the {}th is '{name}'); a scenario cannot give each its own settings",
                MAX_NAMES + 1
            ));
        }
        names.insert(name.to_string(), line);
    }
    Ok(())
}

static CACHE: Mutex<Vec<(String, TraceStats)>> = Mutex::new(Vec::new());

/// What identifies a scan: the file (path, size, modification time) and the transforms that
/// change what is replayed.
fn key(spec: &TraceSpec) -> Option<String> {
    let meta = std::fs::metadata(&spec.file).ok()?;
    let path = std::fs::canonicalize(&spec.file).ok()?;
    Some(format!(
        "{}|{}|{:?}|{:?}|{:?}|{:?}|{}|{}|{:?}|{:?}|{}|{}",
        path.display(),
        meta.len(),
        meta.modified().ok(),
        spec.format,
        spec.from,
        spec.to,
        spec.prompt_scale,
        spec.completion_scale,
        spec.models,
        spec.sample,
        spec.sample_seed,
        spec.session_idle.0
    ))
}

/// Reads the whole trace once (see the module docs); the first problem in it is the error.
pub fn scan(spec: &TraceSpec) -> Result<TraceStats> {
    let key = key(spec);
    if let Some(k) = &key
        && let Ok(cache) = CACHE.lock()
        && let Some((_, s)) = cache.iter().find(|(c, _)| c == k)
    {
        return Ok(s.clone());
    }
    let mut plain = spec.clone();
    plain.speed = TraceSpeed::Factor(1.0);
    let mut reader = open(&plain)?;
    let mut stats = TraceStats {
        format: Some(reader.format()),
        ..TraceStats::default()
    };
    let mut rec = TraceRecord::default();
    while reader.read_into(&mut rec)? {
        let open = reader.open_sessions();
        stats.add(&rec, open).map_err(|m| Error::Scenario {
            location: Box::new(crate::error::Location {
                file: spec.file.display().to_string(),
                line: Some(rec.line as usize),
                ..Default::default()
            }),
            message: m,
        })?;
    }
    stats.out_of_order_blocks = reader.out_of_order_blocks();
    if let Some(k) = key
        && let Ok(mut cache) = CACHE.lock()
    {
        if cache.len() >= REMEMBERED {
            cache.remove(0);
        }
        cache.push((k, stats.clone()));
    }
    Ok(stats)
}
