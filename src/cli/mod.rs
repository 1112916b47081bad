//! Command-line arguments (as written, by clap) and the commands they run.

pub mod budget;
pub mod calibrate;
mod check;
pub mod compare;
pub mod completions;
pub mod flags;
mod gate;
pub mod init;
pub mod interrupt;
pub mod models;
mod progress;
pub mod report;
pub mod schema;
mod sets;
mod sweep;
pub mod table_args;
pub mod validate;

pub use check::CheckArgs;
pub use gate::{CHECK_SCHEMA, CheckFormat};
pub use sweep::{MergeArgs, SweepArgs};

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::output::{self, csv as csv_out};
use crate::runner::{self, FinishingSink};
use crate::scenario;

/// Spillway: a deterministic simulator of hosted-LLM API capacity (quotas, 429s, retries,
/// PTU and spillover).
#[derive(Debug, Parser)]
#[command(name = "spillway", version, about, long_about = None, after_help = "Exit codes: 0 success, 1 an SLO check failed, 2 bad input.\nScenario reference: docs/scenario.md")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every variant of a scenario (or the named ones) and print a side-by-side table.
    Run(RunArgs),
    /// Parse and check a scenario without running it.
    Validate(validate::ValidateArgs),
    /// Run a parameter grid (points x variants x replications) in parallel; write sweep.csv
    /// and sweep.json.
    Sweep(SweepArgs),
    /// Run the scenario and check its [[slo]] entries: exit 0 when all hold, 1 when any fails.
    Check(CheckArgs),
    /// Combine the outputs of `sweep --shard I/N` runs into what one unsharded sweep writes.
    Merge(MergeArgs),
    /// Render a saved run or sweep directory as one self-contained HTML report with charts.
    Report(report::ReportArgs),
    /// Write a commented starter scenario from a template (`--list` shows them).
    Init(init::InitArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff) on stdout, or write every page with --dir.
    Man(completions::ManArgs),
    /// Print the JSON Schema of the scenario file (for editors: a `#:schema PATH` first line).
    Schema,
    /// List the model catalogue (speeds, quotas, PTU sizing, prices); with NAME, every figure
    /// of that model with its source.
    Models(models::ModelsArgs),
    /// Fit a model's serving parameters to per-request telemetry; print [models."NAME"] blocks
    /// and the error on held-out requests (docs/calibration.md).
    Calibrate(calibrate::CalibrateArgs),
    /// Replay observed telemetry through a scenario and compare simulated with observed
    /// latency percentiles, failures by status and throughput (docs/compare.md).
    Compare(compare::CompareArgs),
}

/// Arguments shared by every command that reads a scenario.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Override a scenario key after each variant's own overrides, e.g.
    /// `--set workload.users=8`, `--set deployment.ptu.ptu=30`,
    /// `--set 'models."gpt-4.1-mini".decode_tokens_per_s=90'`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Replace the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Output formats for `run`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Aligned text table.
    Table,
    /// The `spillway.summary/v1` JSON document.
    Json,
    /// Markdown tables.
    Markdown,
}

/// `spillway run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Run only this variant (repeatable); default all, in file order.
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<String>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write summary.json, summary.md and timeseries-<variant>.csv into DIR (created if
    /// missing; every file is written atomically).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// With --out: also stream one CSV row per request to requests-<variant>.csv.
    #[arg(long, requires = "out")]
    pub requests_csv: bool,
    /// With --out: also write DIR/report.html, a self-contained HTML report with charts.
    #[arg(long, requires = "out")]
    pub report: bool,
    /// Worker threads for running variants in parallel, 1 to 1024 (default: all cores).
    /// Output is the same whatever the number.
    #[arg(long, value_name = "N", value_parser = flags::parse_jobs)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub budget: budget::BudgetArgs,
    /// Print nothing on stderr (no event counts or timings).
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub table: table_args::TableArgs,
}

fn parse_sets(sets: &[String]) -> Result<Vec<(String, String)>> {
    sets.iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                sets::refuse_sweep_and_slo(s, k)?;
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(Error::Usage(format!(
                "--set '{s}': expected KEY=VALUE, e.g. --set workload.users=8"
            ))),
        })
        .collect()
}

pub(crate) fn load(a: &ScenarioArgs) -> Result<scenario::ScenarioSet> {
    let sets = parse_sets(&a.sets)?;
    scenario::load(&a.scenario.display().to_string(), &sets, a.seed)
}

/// Runs a parsed command line; returns the process exit code.
pub fn execute(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Validate(a) => validate::validate_command(a),
        Command::Run(a) => run(a),
        Command::Sweep(a) => sweep::sweep(a),
        Command::Check(a) => check::check(a),
        Command::Merge(a) => sweep::merge(a),
        Command::Report(a) => report::report_command(a),
        Command::Init(a) => init::init_command(a),
        Command::Completions(a) => completions::completions_command(a),
        Command::Man(a) => completions::man_command(a),
        Command::Schema => schema::schema_command(),
        Command::Models(a) => models::models_command(a),
        Command::Calibrate(a) => calibrate::calibrate_command(a),
        Command::Compare(a) => compare::compare_command(a),
    }
}

pub(crate) fn thread_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Usage(format!("--jobs: {e}")))
}

/// Whether to draw a progress bar: a terminal, not CI, not --quiet.
pub(crate) fn show_progress(quiet: bool) -> bool {
    use std::io::IsTerminal;
    !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

fn run(a: RunArgs) -> Result<u8> {
    let interrupt = interrupt::install();
    let set = load(&a.scenario)?;
    let chosen = runner::select(&set, &a.variants)?;
    let (slos, baseline) = (
        crate::slo::from_set(&set)?,
        table_args::baseline(&a.table, &chosen)?,
    );
    // Everything that can be refused is refused before anything runs or is written.
    if a.out.is_some() {
        csv_out::check_stems(set.file(), chosen.iter().map(|s| s.variant.as_str()))?;
    }
    a.budget.check(
        chosen
            .iter()
            .map(|s| (format!("{}: variant '{}'", set.file(), s.variant), *s)),
    )?;
    let out = match &a.out {
        Some(dir) => Some(output::dir::OutDir::prepare("--out", dir)?),
        None => None,
    };
    let pool = thread_pool(a.jobs)?;
    let progress = runner::Progress::new(chosen.len(), chosen.len() as u64);
    let opts = runner::RunOptions {
        max_events: a.budget.max_events(),
        max_state_bytes: Some(a.budget.max_state_bytes()),
        interrupt: Some(interrupt),
        progress: Some(&progress),
    };
    let started = Instant::now();
    let staging = out.as_ref().map(|o| o.path());
    let want_requests = a.requests_csv;
    let runs = progress::with_bar(show_progress(a.quiet), &progress, "variants", || {
        pool.install(|| {
            runner::run_variants_with(&chosen, &opts, |sc| match staging {
                Some(dir) if want_requests => Ok(Some(Box::new(csv_out::RequestCsv::create(
                    dir, sc,
                )?)
                    as Box<dyn FinishingSink>)),
                _ => Ok(None),
            })
        })
    })?;
    let wall = started.elapsed().as_secs_f64();
    let summary = table_args::finish(runner::summary(&set, &runs), &slos, baseline);
    if let Some(out) = out {
        out.write("summary.json", &output::json::Json.render_bytes(&summary))?;
        let md = output::exporter("markdown")
            .expect("known")
            .render(&summary);
        out.write("summary.md", md.as_bytes())?;
        for r in &runs {
            let bytes = csv_out::timeseries(&r.scenario, &r.metrics.series)?;
            let stem = csv_out::file_stem(&r.scenario.variant);
            out.write(&format!("timeseries-{stem}.csv"), &bytes)?;
        }
        if a.report {
            crate::report::write_report(out.path(), None)?;
            output::dir::step("report.html");
        }
        let target = PathBuf::from(out.target());
        out.commit(Some(interrupt))?;
        if a.report && !a.quiet {
            eprintln!(
                "spillway: wrote {}",
                target.join(crate::report::REPORT_FILE).display()
            );
        }
    }
    let name = match a.format {
        Format::Table => "table",
        Format::Json => "json",
        Format::Markdown => "markdown",
    };
    if a.format == Format::Table {
        table_args::print(&a.table, &summary);
    } else {
        let text = output::exporter(name)
            .expect("known format")
            .render(&summary);
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
    if !a.quiet {
        let events: u64 = runs.iter().map(|r| r.metrics.events).sum();
        eprintln!(
            "spillway: {} variant(s), {} events in {:.3} s wall ({:.2} M events/s across {} thread(s))",
            runs.len(),
            events,
            wall,
            events as f64 / wall.max(1e-9) / 1e6,
            pool.current_num_threads()
        );
    }
    Ok(0)
}
