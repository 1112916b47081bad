//! The bodies of the fuzz targets, as library functions.
//!
//! `fuzz/` holds `cargo fuzz` targets (libFuzzer, nightly) that call these functions, one per
//! input the program reads from users; a stable `cargo test` (`tests/it/robust.rs`) replays the
//! committed corpus `fuzz/corpus/<target>/` through the same functions, so CI checks every
//! input the fuzzer ever found interesting without nightly. Each function accepts any bytes and
//! panics only on a bug: a panic in the code under test, or an accepted input that gives a
//! non-finite number in an output document.
//!
//! | target | input | what it exercises |
//! |---|---|---|
//! | [`scenario`] | a scenario file | parsing, validation, the work estimate, and a short run of each variant when it is small |
//! | [`set_grid`] | lines of `--set KEY=VALUE` and `--grid KEY=VALUES` | the overrides on a fixed scenario, grid values, a small sweep plan |
//! | [`report`] | a kind byte, then a `summary.json`, a `sweep.json`, or a summary and a time series | `report`'s reading of saved outputs and the rendering of what it accepts |
//! | [`merge`] | up to four `sweep.json` shards, separated by a `0xFF` byte | `merge`'s reading, checks and combination of shards |
//! | [`trace`] | an options byte, then a trace file (plain or gzip) | [`crate::trace::open`] and its reader, every format, window, sample, speed and mode |
//! | [`telemetry`] | a format byte, then a telemetry file | `calibrate`'s readers, the fit and scoring of what they accept, and its four outputs |
//!
//! Targets that read files write their input into a scratch directory of the calling thread
//! (removed when the thread ends).

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use crate::engine::{Control, simulate_with};
use crate::output::Exporter;
use crate::runner;
use crate::scenario::{self, Arrivals, Scenario};

#[cfg(test)]
mod tests;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// The targets, by name, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/` call them.
pub const TARGETS: [(&str, Target); 6] = [
    ("scenario", scenario),
    ("set_grid", set_grid),
    ("report", report),
    ("merge", merge),
    ("trace", trace),
    ("telemetry", telemetry),
];

/// Variants run by [`scenario`] only when they are this small (estimated events), so that one
/// input takes milliseconds.
const MAX_RUN_EVENTS: f64 = 20_000.0;

/// Event budget of those runs (the engine checks it every 16K events).
const RUN_BUDGET: u64 = 50_000;

/// Most closed-loop users, and most time-series rows, of a run [`scenario`] makes.
const MAX_RUN_USERS: u32 = 1_000;
const MAX_RUN_ROWS: u64 = 2_000;

/// Most sweep runs [`set_grid`] plans.
const MAX_PLAN_RUNS: usize = 64;

/// Most records [`trace`] reads from one input.
const MAX_TRACE_RECORDS: usize = 100_000;

/// Parses and validates a scenario file; estimates each variant's work; runs the small ones
/// and checks that their summary JSON holds only finite numbers.
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(set) = scenario::parse(text, "fuzz.toml", &[], None) {
        for sc in &set.variants {
            run_small(sc);
        }
    }
}

/// Runs `sc` when it is small, under a budget, and checks its summary.
pub fn run_small(sc: &Scenario) {
    let est = runner::estimate(sc);
    assert!(
        est.events.is_finite() && est.events >= 0.0,
        "estimate {est:?}"
    );
    let users = match &sc.workload.arrivals {
        Arrivals::Closed { users, .. } => *users,
        _ => 0,
    };
    let span = sc.duration.saturating_add(sc.drain).as_micros();
    let rows = span / sc.metrics_interval.as_micros().max(1);
    if est.events > MAX_RUN_EVENTS || users > MAX_RUN_USERS || rows > MAX_RUN_ROWS {
        return;
    }
    let control = Control {
        max_events: RUN_BUDGET,
        max_state_bytes: 64 << 20,
        ..Control::default()
    };
    let metrics = simulate_with(sc, None, control);
    if metrics.stopped.is_some() {
        return;
    }
    let summary = crate::metrics::Summary {
        schema: crate::metrics::SUMMARY_SCHEMA,
        scenario: sc.name.clone(),
        seed: sc.seed,
        variants: vec![metrics.summarize(sc)],
        baseline: None,
        slo: Vec::new(),
    };
    assert_finite_json(&summary);
}

/// Panics when the summary's JSON document holds a number that is not finite (written as
/// `null`) or the table shows `inf` or `NaN`.
pub fn assert_finite_json(summary: &crate::metrics::Summary) {
    let value = serde_json::to_value(summary).expect("a summary serializes");
    if let Some(path) = non_finite(&value, "") {
        panic!("summary JSON has a non-finite number at {path}");
    }
    let table = crate::output::table::Table.render(summary);
    assert!(
        !table.contains("inf") && !table.contains("NaN"),
        "table shows a non-finite number:\n{table}"
    );
}

/// The path of the first `null` or non-finite number in `v`.
fn non_finite(v: &serde_json::Value, at: &str) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::Null => Some(at.to_string()),
        Value::Number(n) if n.as_f64().is_some_and(|f| !f.is_finite()) => Some(at.to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| non_finite(x, &format!("{at}[{i}]"))),
        Value::Object(map) => map
            .iter()
            .find_map(|(k, x)| non_finite(x, &format!("{at}.{k}"))),
        _ => None,
    }
}

/// The scenario [`set_grid`] overrides: small, with one of each kind of deployment, a
/// gateway-free router and a sweep.
pub const SET_BASE: &str = r#"
[scenario]
name = "fuzz-base"
duration = "2m"
drain = "1m"

[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "gpt-4o-mini"
tpm = 100_000

[[deployment]]
name = "std"
kind = "standard"
model = "gpt-4o-mini"
pool = "p"
tpm = 100_000

[[deployment]]
name = "ptu"
kind = "provisioned"
model = "gpt-4o-mini"
region = "r"
ptu = 15
spillover = "std"

[workload]
arrival = "poisson"
rate_per_min = 6

[[workload.class]]
name = "chat"
steps = 2
prompt_tokens = { dist = "normal", mean = 800, sd = 200 }
completion_tokens = { dist = "lognormal", mean = 200, cv = 0.8 }

[[variant]]
name = "as-is"

[[variant]]
name = "capped"
set = { "workload.class.chat.max_tokens" = 300 }

[sweep.grid]
"workload.rate_per_min" = [2, 4]
"#;

/// Each line of the input is an override: `set KEY=VALUE` (or a bare `KEY=VALUE`) is a
/// `--set`, `grid KEY=VALUES` a `--grid`. The `--set`s go through the command line's own
/// reading onto [`SET_BASE`]; when they are accepted, each variant runs if small, and the
/// `--grid`s are read and planned when the sweep is small.
pub fn set_grid(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sets = Vec::new();
    let mut grid = Vec::new();
    for line in text.lines().take(32) {
        match line.strip_prefix("grid ") {
            Some(g) => grid.push(g.to_string()),
            None => sets.push(line.strip_prefix("set ").unwrap_or(line).to_string()),
        }
    }
    let path = scratch(|dir| {
        let p = dir.join("base.toml");
        if !p.exists() {
            std::fs::write(&p, SET_BASE).expect("scratch file");
        }
        p
    });
    let args = crate::cli::ScenarioArgs {
        scenario: path,
        sets,
        seed: None,
    };
    let Ok(set) = crate::cli::load(&args) else {
        return;
    };
    for sc in &set.variants {
        run_small(sc);
    }
    // As `sweep --grid KEY=VALUES` reads them.
    let Some(grid) = grid
        .iter()
        .map(|g| {
            g.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect::<Option<Vec<_>>>()
    else {
        return;
    };
    for (_, values) in &grid {
        let _ = crate::sweep::parse_values(values);
    }
    let opts = crate::sweep::Options {
        grid,
        max_runs: Some(MAX_PLAN_RUNS),
        ..Default::default()
    };
    let _ = crate::sweep::plan(&set, &opts);
}

/// The first byte says what the rest is: `0` a `summary.json`, `1` a `sweep.json`, `2` a run
/// directory (a `summary.json`, a `0xFF` byte, and the time series of its first variant).
/// What `report` reads it with must accept or refuse it, and render what it accepts.
pub fn report(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    scratch(|dir| {
        let dir = fresh(dir, "report");
        match kind % 3 {
            0 => {
                write(&dir, "summary.json", rest);
                if crate::report::load::read_summary(&dir.join("summary.json")).is_ok() {
                    let _ = crate::report::render_dir(&dir);
                }
            }
            1 => {
                write(&dir, "sweep.json", rest);
                if crate::report::load::read_sweep(&dir.join("sweep.json")).is_ok() {
                    let _ = crate::report::render_dir(&dir);
                }
            }
            _ => {
                let (summary, series) = split_once(rest);
                write(&dir, "summary.json", summary);
                if let Ok(s) = crate::report::load::read_summary(&dir.join("summary.json"))
                    && let Some(v) = s.variants.first()
                {
                    let stem = crate::output::csv::file_stem(&v.name);
                    write(&dir, &format!("timeseries-{stem}.csv"), series);
                    if crate::report::Run::load(&dir).is_ok() {
                        let _ = crate::report::render_dir(&dir);
                    }
                }
            }
        }
    });
}

/// Up to four shards' `sweep.json`, separated by `0xFF` bytes: read and checked as `merge`
/// reads them, combined when all are accepted, and the combination rendered.
pub fn merge(data: &[u8]) {
    scratch(|dir| {
        let mut docs = Vec::new();
        for (i, part) in data.split(|&b| b == 0xFF).take(4).enumerate() {
            let d = fresh(dir, &format!("shard{i}"));
            write(&d, "sweep.json", part);
            match crate::sweep::read_doc(&d.join("sweep.json")) {
                Ok(doc) => docs.push((d.display().to_string(), doc)),
                Err(_) => return,
            }
        }
        if let Ok(doc) = crate::sweep::merge(docs) {
            let _ = crate::sweep::json_bytes(&doc);
            let _ = crate::sweep::csv_bytes(&doc);
        }
    });
}

/// A trace file after an options byte, read as `[workload] trace` reads it. The byte's low
/// three bits give the format (`0`, `6`, `7`: told from the first line; `1` to `5`: the formats
/// of [`crate::trace::TraceFormat::ALL`], checked against the first line); bit 3 keeps half
/// the sessions; bit 4 releases session by session; bit 5 asks for 60 requests a minute (the
/// trace is read twice); bit 6 starts the window 1 s after the first row; bit 7 doubles the
/// tokens. Every record up to the first error or [`MAX_TRACE_RECORDS`] is read, and their
/// times must never go back.
pub fn trace(data: &[u8]) {
    use crate::scenario::TraceSpec;
    use crate::time::SimTime;
    use crate::trace::{ClockPoint, TraceFormat, TraceMode, TraceRecord, TraceSpeed};
    let Some((&opts, rest)) = data.split_first() else {
        return;
    };
    scratch(|dir| {
        let path = dir.join("trace");
        std::fs::write(&path, rest).expect("scratch file");
        let mut spec = TraceSpec::new(&path);
        spec.format = usize::from(opts & 7)
            .checked_sub(1)
            .and_then(|i| TraceFormat::ALL.get(i).copied());
        if opts & 8 != 0 {
            spec.sample = Some(0.5);
        }
        if opts & 16 != 0 {
            spec.mode = TraceMode::Session;
        }
        if opts & 32 != 0 {
            spec.speed = TraceSpeed::RatePerMin(60.0);
        }
        if opts & 64 != 0 {
            spec.from = Some(ClockPoint::After(SimTime::from_secs(1)));
        }
        if opts & 128 != 0 {
            spec.prompt_scale = 2.0;
            spec.completion_scale = 2.0;
        }
        let Ok(mut reader) = crate::trace::open(&spec) else {
            return;
        };
        let mut rec = TraceRecord::default();
        let mut last = SimTime::ZERO;
        for _ in 0..MAX_TRACE_RECORDS {
            match reader.read_into(&mut rec) {
                Ok(true) => {
                    assert!(
                        rec.time >= last,
                        "time went back: {:?} < {last:?}",
                        rec.time
                    );
                    last = rec.time;
                }
                Ok(false) | Err(_) => break,
            }
        }
    });
}

/// A telemetry file after a format byte (`0` Spillway's CSV, `1` LatencyLab's CSV, `2`
/// llmperf's JSON), read as `spillway calibrate` reads it; what is accepted is calibrated and
/// rendered (`models.toml`, which must parse as TOML, `calibration.json`, which must parse as
/// JSON, the Markdown and the HTML page).
pub fn telemetry(data: &[u8]) {
    use crate::calibrate::{self, Format, html, render};
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    scratch(|dir| {
        let (name, format) = match kind % 3 {
            0 => ("telemetry.csv", Format::Spillway),
            1 => ("latencylab.csv", Format::Latencylab),
            _ => ("model.json", Format::Llmperf),
        };
        let path = dir.join(name);
        std::fs::write(&path, rest).expect("scratch file");
        let Ok(t) = calibrate::read(&path, Some(format), 4.0) else {
            return;
        };
        let Ok(c) = calibrate::calibrate(&t, &calibrate::Options::default()) else {
            return;
        };
        let toml_text = render::models_toml(&c);
        if let Err(e) = toml_text.parse::<toml::Table>() {
            panic!("models.toml does not parse: {e}\n{toml_text}");
        }
        let json = render::json(&c);
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
            panic!("calibration.json does not parse: {e}");
        }
        let _ = render::markdown(&c);
        let _ = html::page(&c);
    });
}

/// `data` split at its first `0xFF` byte.
fn split_once(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// An empty directory `name` inside `dir`.
fn fresh(dir: &Path, name: &str) -> PathBuf {
    let d = dir.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch directory");
    d
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("scratch file");
}

/// The calling thread's scratch directory, removed when the thread ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch<T>(f: impl FnOnce(&Path) -> T) -> T {
    thread_local! {
        static DIR: RefCell<Option<Scratch>> = const { RefCell::new(None) };
    }
    DIR.with(|d| {
        let mut d = d.borrow_mut();
        let dir = d.get_or_insert_with(|| {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "spillway-fuzz-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).expect("scratch directory");
            Scratch(p)
        });
        f(&dir.0)
    })
}
