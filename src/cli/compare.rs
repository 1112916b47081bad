//! `spillway compare SCENARIO --telemetry FILE`: replay observed requests through a scenario
//! and compare simulated with observed outcomes (`docs/compare.md`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::ScenarioArgs;
use crate::calibrate::{self, Format, adapters};
use crate::compare;
use crate::error::{Error, Result};

/// `spillway compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The observed requests: any telemetry `spillway calibrate` reads, with timestamps
    /// (Spillway's CSV, llmperf's JSON).
    #[arg(long, value_name = "FILE")]
    pub telemetry: PathBuf,
    /// The telemetry's format (default: told from the file).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The variant to run (default: the first).
    #[arg(long, value_name = "NAME")]
    pub variant: Option<String>,
    /// LatencyLab only: characters per token used to turn its sizes into tokens.
    #[arg(long, default_value_t = adapters::DEFAULT_CHARS_PER_TOKEN, value_name = "CHARS")]
    pub chars_per_token: f64,
    /// Also write compare.json, compare.md and compare.html into DIR (created if missing;
    /// each file written atomically).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print nothing on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `spillway compare`: the comparison table on stdout. Everything is computed before
/// anything is written.
pub fn compare_command(a: CompareArgs) -> Result<u8> {
    let set = super::load(&a.scenario)?;
    let only: Vec<String> = a.variant.iter().cloned().collect();
    let chosen = crate::runner::select(&set, &only)?;
    let sc = chosen
        .first()
        .ok_or_else(|| Error::Usage("the scenario has no variant to run".into()))?;
    let telemetry = calibrate::read(&a.telemetry, a.format, a.chars_per_token)?;
    let c = compare::compare(sc, &telemetry)?;
    let files = [
        ("compare.json", compare::json(&c)),
        ("compare.md", compare::markdown(&c)),
        ("compare.html", compare::html(&c)),
    ];
    if let Some(dir) = &a.out {
        // All or nothing: the files appear together, or the directory is left as it was.
        let out = crate::output::dir::OutDir::prepare("--out", dir)?;
        for (name, text) in &files {
            out.write(name, text.as_bytes())?;
        }
        out.commit(None)?;
    }
    let _ = std::io::stdout()
        .lock()
        .write_all(compare::text(&c).as_bytes());
    if !a.quiet
        && let Some(dir) = &a.out
    {
        eprintln!(
            "spillway: wrote {}",
            files
                .iter()
                .map(|f| dir.join(f.0).display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(0)
}
