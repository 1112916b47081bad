//! `spillway calibrate TELEMETRY`: fit serving parameters to per-request telemetry.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::calibrate::{self, Format, Options, adapters, html, render};
use crate::error::{Error, Result};

/// `spillway calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The telemetry: Spillway's CSV (docs/calibration.md), LatencyLab's prompt.csv, or
    /// llmperf's per-request JSON (a file, or the directory of them).
    pub telemetry: PathBuf,
    /// The file's format (default: told from the file: a directory or .json is llmperf's, a
    /// CSV by its header).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Calibrate only this model (default: every model in the file).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Share of each model's requests held out to measure the error, between 0 and 1.
    #[arg(long, default_value_t = 0.3, value_name = "SHARE")]
    pub holdout: f64,
    /// Seed of the training/held-out split and of the simulated draws.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub seed: u64,
    /// LatencyLab only: characters per token used to turn its sizes into tokens.
    #[arg(long, default_value_t = adapters::DEFAULT_CHARS_PER_TOKEN, value_name = "CHARS")]
    pub chars_per_token: f64,
    /// Also write models.toml, calibration.json, calibration.md and calibration.html into
    /// DIR (created if missing; each file written atomically).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print nothing on stderr (no error table or file list).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `spillway calibrate`: prints the `[models."NAME"]` blocks on stdout and the held-out
/// error table on stderr. Everything is computed before anything is written.
pub fn calibrate_command(a: CalibrateArgs) -> Result<u8> {
    if !(a.chars_per_token.is_finite() && a.chars_per_token > 0.0 && a.chars_per_token <= 100.0) {
        return Err(Error::Usage(format!(
            "--chars-per-token {}: expected a number of characters per token above 0 and at most 100 (about 4 for English)",
            a.chars_per_token
        )));
    }
    let opts = Options {
        holdout: a.holdout,
        seed: a.seed,
        model: a.model.clone(),
    };
    let telemetry = calibrate::read(&a.telemetry, a.format, a.chars_per_token)?;
    let c = calibrate::calibrate(&telemetry, &opts)?;
    let toml = render::models_toml(&c);
    let files = [
        ("models.toml", toml.clone()),
        ("calibration.json", render::json(&c)),
        ("calibration.md", render::markdown(&c)),
        ("calibration.html", html::page(&c)?),
    ];
    if let Some(dir) = &a.out {
        // All or nothing: the files appear together, or the directory is left as it was.
        let out = crate::output::dir::OutDir::prepare("--out", dir)?;
        for (name, text) in &files {
            out.write(name, text.as_bytes())?;
        }
        out.commit(None)?;
    }
    let _ = std::io::stdout().lock().write_all(toml.as_bytes());
    if !a.quiet {
        eprint!(
            "\nHeld-out errors ({} of each model's requests held out; scored = held-out requests with a duration):\n{}",
            render::pct(a.holdout),
            render::text_table(&render::error_table(&c))
        );
        if let Some(dir) = &a.out {
            eprintln!(
                "spillway: wrote {}",
                files
                    .iter()
                    .map(|f| dir.join(f.0).display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(0)
}
