//! `spillway calibrate`: fit a model's serving parameters to per-request telemetry, and say
//! how well the fit predicts requests it has not seen.
//!
//! 1. [`read`] turns a telemetry file into [`Request`]s: Spillway's documented CSV
//!    ([`telemetry`]), or the LatencyLab and llmperf benchmark files ([`adapters`]).
//! 2. [`calibrate`] reconstructs each request's load from the timestamps ([`load`]), splits each model's requests into training and held-out sets
//!    (deterministically, by seed and model name), fits `ttft_base`, `prefill_tokens_per_s`,
//!    `decode_tokens_per_s`, `decode_variation_cv`, `speed_curve` and `ttft_curve` on the
//!    training set ([`fit`]), and scores the held-out set ([`evaluate`]): median and p95
//!    absolute percentage errors of TTFT and end-to-end time, and the Kolmogorov-Smirnov
//!    distance between observed and simulated end-to-end times. What the data cannot
//!    identify is said in plain words and left out of the parameters.
//! 3. [`render`] writes the `[models."NAME"]` blocks (`models.toml`) and `calibration.json`;
//!    [`html`] the self-contained page with Q-Q and residual charts.
//!
//! Every output is a function of the file, the options and nothing else: no timestamps,
//! numbers rounded to a few significant digits, models in name order.
//!
//! ```
//! use spillway::calibrate::{self, Options};
//! let csv = "timestamp,model,prompt_tokens,completion_tokens,ttft_ms,duration_ms,status,streaming\n";
//! let mut text = csv.to_string();
//! for i in 0..40 {
//!     let prompt = 500 + 100 * (i % 10);
//!     let ttft = 200.0 + prompt as f64 / 5.0; // 200 ms + prompt / 5,000 tokens/s
//!     let speed = 50.0 * (1.0 + 0.1 * ((i % 5) as f64 - 2.0));
//!     text += &format!("{i}0,m,{prompt},100,{ttft},{},200,true\n", ttft + 100_000.0 / speed);
//! }
//! let t = calibrate::telemetry::read_spillway("t.csv", &text)?;
//! let c = calibrate::calibrate(&t, &Options::default())?;
//! let p = &c.models[0].fit.as_ref().unwrap().params;
//! assert_eq!(p.ttft_base_s, 0.2);
//! assert_eq!(p.prefill_tokens_per_s, Some(5000.0));
//! # Ok::<(), spillway::error::Error>(())
//! ```

pub mod adapters;
pub mod evaluate;
pub mod fit;
pub mod html;
pub mod load;
pub mod render;
pub mod stats;
pub mod telemetry;

use std::path::Path;

use crate::error::{Error, Result};
pub use evaluate::{ErrorStats, Errors, Mix, Point, QQ};
pub use fit::{Fit, Params};
pub use telemetry::{Format, Outcome, Request, Telemetry};

/// How to calibrate.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Share of each model's requests held out for scoring, in (0, 1).
    pub holdout: f64,
    /// Seed of the split and of the simulated draws.
    pub seed: u64,
    /// Only this model (default: every model in the file).
    pub model: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            holdout: 0.3,
            seed: 1,
            model: None,
        }
    }
}

/// One model's calibration.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelResult {
    /// Model name.
    pub name: String,
    /// Requests of this model in the file.
    pub requests: usize,
    /// Requests in the training split.
    pub train: usize,
    /// Requests held out.
    pub test: usize,
    /// The fit, or why there is none.
    pub fit: std::result::Result<Fit, String>,
    /// Status mix of the training split.
    pub mix_train: Mix,
    /// Status mix of the held-out split.
    pub mix_test: Mix,
    /// Errors on the held-out split.
    pub held_out: Errors,
    /// Errors on the training split (a much lower figure than held out means overfitting).
    pub in_sample: Errors,
    /// Observed against simulated quantiles of the held-out split.
    pub qq: QQ,
    /// Every scored request (training then held out), for the charts.
    pub points: Vec<Point>,
}

/// The calibration of a whole file.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// The telemetry file as given.
    pub file: String,
    /// Its format.
    pub format: Format,
    /// What the reader assumed.
    pub assumptions: Vec<String>,
    /// The options used.
    pub options: Options,
    /// One result per model, in name order.
    pub models: Vec<ModelResult>,
}

/// The format of `path`: a directory or a `.json` file is llmperf's; a CSV is told by its
/// header (LatencyLab's columns end in ` success`, ...; Spillway's are its own names).
pub fn detect(path: &Path) -> Result<Format> {
    let shown = path.display().to_string();
    if path.is_dir() || path.extension().is_some_and(|e| e == "json") {
        return Ok(Format::Llmperf);
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(path).map_err(|e| Error::io(&shown, e))?,
            64 * 1024,
        ),
        &mut bytes,
    )
    .map_err(|e| Error::io(&shown, e))?;
    let head = String::from_utf8_lossy(&bytes).into_owned();
    let first = head
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches('\u{feff}');
    let names: Vec<&str> = first.split(',').map(str::trim).collect();
    if names.first() == Some(&"timestamp") && names.iter().skip(1).any(|n| n.ends_with(" success"))
    {
        Ok(Format::Latencylab)
    } else if names.iter().all(|n| telemetry::COLUMNS.contains(n)) && names.contains(&"model") {
        Ok(Format::Spillway)
    } else {
        Err(Error::Usage(format!(
            "{shown}: cannot tell the telemetry format from its first line; give --format spillway, latencylab or llmperf (Spillway's columns: {})",
            telemetry::COLUMNS.join(", ")
        )))
    }
}

/// Reads a telemetry file in `format` (detected when `None`); LatencyLab sizes are turned
/// into tokens at `chars_per_token`.
pub fn read(path: &Path, format: Option<Format>, chars_per_token: f64) -> Result<Telemetry> {
    let format = match format {
        Some(f) => f,
        None => detect(path)?,
    };
    let shown = path.display().to_string();
    if format == Format::Llmperf {
        return adapters::read_llmperf(path);
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(&shown, e))?;
    let text = telemetry::utf8(&shown, bytes)?;
    match format {
        Format::Spillway => telemetry::read_spillway(&shown, &text),
        Format::Latencylab => adapters::read_latencylab(&shown, &text, chars_per_token),
        Format::Llmperf => unreachable!("handled above"),
    }
}

/// Calibrates every model of `t` (or the one `opts.model` names).
pub fn calibrate(t: &Telemetry, opts: &Options) -> Result<Calibration> {
    if !(opts.holdout > 0.0 && opts.holdout < 1.0) {
        return Err(Error::Usage(format!(
            "--holdout {}: expected a share of requests between 0 and 1 (exclusive), e.g. 0.3",
            opts.holdout
        )));
    }
    if t.requests.is_empty() {
        return Err(Error::Usage(format!("{}: no requests in the file", t.file)));
    }
    let names = telemetry::model_names(&t.requests);
    let chosen: Vec<String> = match &opts.model {
        Some(m) if names.contains(m) => vec![m.clone()],
        Some(m) => {
            return Err(Error::Usage(format!(
                "--model '{m}': no such model in {}; its models are {}",
                t.file,
                names.join(", ")
            )));
        }
        None => names,
    };
    let load = load::concurrency(&t.requests);
    let models = chosen
        .iter()
        .map(|name| {
            let obs: Vec<fit::Obs> = t
                .requests
                .iter()
                .zip(&load)
                .filter(|(r, _)| &r.model == name)
                .map(|(r, &load)| fit::Obs { r, load })
                .collect();
            calibrate_model(name, &obs, opts)
        })
        .collect();
    Ok(Calibration {
        file: t.file.clone(),
        format: t.format,
        assumptions: t.assumptions.clone(),
        options: opts.clone(),
        models,
    })
}

fn calibrate_model(name: &str, obs: &[fit::Obs], opts: &Options) -> ModelResult {
    let is_test = evaluate::split(obs.len(), opts.holdout, opts.seed, name);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (o, &t) in obs.iter().zip(&is_test) {
        if t { test.push(*o) } else { train.push(*o) }
    }
    let fitted = fit::fit(&train);
    let (mut held_out, mut in_sample, mut qq, mut points) = (
        Errors::default(),
        Errors::default(),
        QQ::default(),
        Vec::new(),
    );
    if let Ok(f) = &fitted {
        (held_out, qq) = evaluate::errors(&f.params, &test, opts.seed, name);
        in_sample = evaluate::errors(&f.params, &train, opts.seed, name).0;
        points = evaluate::points(&f.params, &train, false);
        points.extend(evaluate::points(&f.params, &test, true));
    }
    ModelResult {
        name: name.to_string(),
        requests: obs.len(),
        train: train.len(),
        test: test.len(),
        fit: fitted,
        mix_train: Mix::of(train.iter().map(|o| o.r)),
        mix_test: Mix::of(test.iter().map(|o| o.r)),
        held_out,
        in_sample,
        qq,
        points,
    }
}
