//! Command-line arguments (as written, by clap) and the commands they run.

pub mod completions;
pub mod init;
pub mod report;
pub mod schema;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::output::{self, csv as csv_out, write_atomic};
use crate::runner::{self, FinishingSink};
use crate::scenario;
use crate::slo;
use crate::sweep;

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
    Validate(ScenarioArgs),
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
}

/// `spillway sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Sweep KEY over VALUES: a comma list (`--grid workload.users=1,2,4`) or a range
    /// (`--grid 'pool.p.tpm=100000..500000 step 100000'`). Replaces the scenario's
    /// [sweep.grid] values for KEY, or adds KEY. Repeatable.
    #[arg(long = "grid", value_name = "KEY=VALUES")]
    pub grid: Vec<String>,
    /// Independent replications per point and variant (default: [sweep] replications, or 1).
    #[arg(long, value_name = "R")]
    pub replications: Option<u32>,
    /// Sweep only this variant (repeatable; default: [sweep] variants, or all).
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<String>,
    /// Worker threads (default: all cores). Output is identical whatever the number.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Run only every N-th run starting at I (0-based) and write this shard's sweep.json;
    /// combine the shards with `spillway merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Directory for sweep.csv and sweep.json (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also evaluate the [[slo]] entries on every point: exit 1 when any fails.
    #[arg(long)]
    pub check: bool,
    /// Also write DIR/report.html, a self-contained HTML report with charts.
    #[arg(long)]
    pub report: bool,
    /// Format of the SLO table printed with --check.
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,
    /// No progress bar and no timings on stderr (the bar is also off when stderr is not a
    /// terminal or CI is set).
    #[arg(long, short)]
    pub quiet: bool,
}

/// `spillway check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Check only this variant (repeatable; default all).
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<String>,
    /// Table for a terminal, or Markdown for a pull-request comment.
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
}

/// Formats of an SLO table.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum CheckFormat {
    /// Aligned text.
    Table,
    /// Markdown.
    Markdown,
}

/// `spillway merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' output directories (each holds a sweep.json written with --shard).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged sweep.csv and sweep.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also print the SLO table; exit 1 when any fails.
    #[arg(long)]
    pub check: bool,
    /// Format of the SLO table printed with --check.
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,
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
    /// Worker threads for running variants in parallel (default: all cores). Output is the
    /// same whatever the number.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Print nothing on stderr (no event counts or timings).
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_sets(sets: &[String]) -> Result<Vec<(String, String)>> {
    sets.iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(Error::Usage(format!(
                "--set '{s}': expected KEY=VALUE, e.g. --set workload.users=8"
            ))),
        })
        .collect()
}

fn load(a: &ScenarioArgs) -> Result<scenario::ScenarioSet> {
    let sets = parse_sets(&a.sets)?;
    scenario::load(&a.scenario.display().to_string(), &sets, a.seed)
}

/// Runs a parsed command line; returns the process exit code.
pub fn execute(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Validate(a) => {
            let set = load(&a)?;
            let slos = slo::from_set(&set)?;
            let names: Vec<&str> = set.variants.iter().map(|v| v.variant.as_str()).collect();
            println!(
                "{}: ok: scenario '{}', {} variant(s): {}",
                a.scenario.display(),
                set.name,
                set.variants.len(),
                names.join(", ")
            );
            if set.sweep.is_some() {
                // Every point of every swept variant is built and checked.
                let plan = sweep::plan(&set, &sweep::Options::default())?;
                let keys: Vec<&str> = plan.params.iter().map(|p| p.key.as_str()).collect();
                println!(
                    "sweep: {} point(s) x {} variant(s) x {} replication(s) over {}",
                    plan.points.len(),
                    plan.variants.len(),
                    plan.replications,
                    keys.join(", ")
                );
            }
            if !slos.is_empty() {
                let names: Vec<&str> = slos.iter().map(|s| s.name.as_str()).collect();
                println!("slo: {}", names.join("; "));
            }
            Ok(0)
        }
        Command::Run(a) => run(a),
        Command::Sweep(a) => sweep(a),
        Command::Check(a) => check(a),
        Command::Merge(a) => merge(a),
        Command::Report(a) => report::report_command(a),
        Command::Init(a) => init::init_command(a),
        Command::Completions(a) => completions::completions_command(a),
        Command::Man(a) => completions::man_command(a),
        Command::Schema => schema::schema_command(),
    }
}

fn thread_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Usage(format!("--jobs: {e}")))
}

fn parse_grid(flags: &[String]) -> Result<Vec<(String, String)>> {
    flags
        .iter()
        .map(|g| match g.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(Error::Usage(format!(
                "--grid '{g}': expected KEY=VALUES, e.g. --grid workload.users=1,2,4"
            ))),
        })
        .collect()
}

/// Whether to draw a progress bar: a terminal, not CI, not --quiet.
fn show_progress(quiet: bool) -> bool {
    use std::io::IsTerminal;
    !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// Prints a finished sweep's SLO table; returns the exit code (0 all hold, 1 any fails).
fn print_slo_table(doc: &sweep::SweepDoc, format: CheckFormat) -> u8 {
    let verdicts = sweep::verdicts(doc);
    let table = slo::render(
        &verdicts,
        &sweep::point_labels(doc),
        format == CheckFormat::Markdown,
    );
    let _ = std::io::stdout().lock().write_all(table.as_bytes());
    if verdicts.iter().all(|v| v.pass) {
        0
    } else {
        1
    }
}

fn sweep(a: SweepArgs) -> Result<u8> {
    let set = load(&a.scenario)?;
    let shard = a
        .shard
        .as_deref()
        .map(sweep::Shard::parse)
        .transpose()
        .map_err(|m| Error::Usage(format!("--shard: {m}")))?;
    let opts = sweep::Options {
        grid: parse_grid(&a.grid)?,
        replications: a.replications,
        variants: a.variants.clone(),
    };
    let pool = thread_pool(a.jobs)?;
    let plan = pool.install(|| sweep::plan(&set, &opts))?;
    if a.check && plan.slos.is_empty() {
        return Err(Error::Usage(format!(
            "{}: --check needs [[slo]] entries in the scenario",
            set.file()
        )));
    }
    if a.report && shard.is_some() {
        return Err(Error::Usage(
            "--report applies to a whole sweep: run `spillway report` on the merged directory"
                .into(),
        ));
    }
    if a.check && shard.is_some() {
        return Err(Error::Usage(
            "--check applies to a whole sweep: check after `spillway merge --check`".into(),
        ));
    }
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(a.out.display().to_string(), e))?;
    let started = Instant::now();
    let doc = pool.install(|| sweep::run(&plan, shard, show_progress(a.quiet)));
    let wall = started.elapsed().as_secs_f64();
    write_atomic(&a.out.join("sweep.json"), &sweep::json_bytes(&doc))?;
    if shard.is_none() {
        write_atomic(&a.out.join("sweep.csv"), &sweep::csv_bytes(&doc)?)?;
        if a.report {
            crate::report::write_report(&a.out, None)?;
        }
    }
    if !a.quiet {
        let runs = doc.runs.len();
        eprintln!(
            "spillway: {} points x {} variant(s) x {} replication(s): {runs} runs{} in {wall:.3} s wall ({:.1} runs/s on {} thread(s))",
            plan.points.len(),
            plan.variants.len(),
            plan.replications,
            shard
                .map(|s| format!(" (shard {}/{})", s.index, s.count))
                .unwrap_or_default(),
            runs as f64 / wall.max(1e-9),
            pool.current_num_threads()
        );
    }
    let mut stdout = std::io::stdout().lock();
    if shard.is_some() {
        let _ = writeln!(
            stdout,
            "wrote {} (shard; combine with `spillway merge`)",
            a.out.join("sweep.json").display()
        );
        return Ok(0);
    }
    let _ = writeln!(
        stdout,
        "wrote {} and {}",
        a.out.join("sweep.csv").display(),
        a.out.join("sweep.json").display()
    );
    drop(stdout);
    Ok(if a.check {
        print_slo_table(&doc, a.format)
    } else {
        0
    })
}

fn check(a: CheckArgs) -> Result<u8> {
    let set = load(&a.scenario)?;
    let slos = slo::from_set(&set)?;
    if slos.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no [[slo]] entries to check",
            set.file()
        )));
    }
    let chosen = runner::select(&set, &a.variants)?;
    let runs = thread_pool(a.jobs)?.install(|| runner::run_variants(&chosen, |_| Ok(None)))?;
    let values: Vec<(String, serde_json::Value)> = runs
        .iter()
        .map(|r| (r.summary.name.clone(), slo::summary_value(&r.summary)))
        .collect();
    let verdicts = slo::evaluate(&slos, values.iter().map(|(n, v)| (None, n.as_str(), v)));
    let ok = verdicts.iter().all(|v| v.pass);
    let text = slo::render(&verdicts, &[], a.format == CheckFormat::Markdown);
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(if ok { 0 } else { 1 })
}

fn merge(a: MergeArgs) -> Result<u8> {
    let mut docs = Vec::new();
    for d in &a.dirs {
        let path = d.join("sweep.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::io(path.display().to_string(), e))?;
        let doc: sweep::SweepDoc = serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "{}: not a spillway sweep.json: {e}",
                path.display()
            ))
        })?;
        if doc.schema != sweep::SWEEP_SCHEMA {
            return Err(Error::Usage(format!(
                "{}: schema '{}', expected '{}'",
                path.display(),
                doc.schema,
                sweep::SWEEP_SCHEMA
            )));
        }
        docs.push((path.display().to_string(), doc));
    }
    let doc = sweep::merge(docs)?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(a.out.display().to_string(), e))?;
    write_atomic(&a.out.join("sweep.json"), &sweep::json_bytes(&doc))?;
    write_atomic(&a.out.join("sweep.csv"), &sweep::csv_bytes(&doc)?)?;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "merged {} shard(s), {} runs into {}",
        a.dirs.len(),
        doc.runs.len(),
        a.out.display()
    );
    drop(stdout);
    Ok(if a.check {
        print_slo_table(&doc, a.format)
    } else {
        0
    })
}

fn run(a: RunArgs) -> Result<u8> {
    let set = load(&a.scenario)?;
    let chosen = runner::select(&set, &a.variants)?;
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Usage(format!("--jobs: {e}")))?;
    let started = Instant::now();
    let out_dir = a.out.clone();
    let want_requests = a.requests_csv;
    let runs = pool.install(|| {
        runner::run_variants(&chosen, |sc| {
            if want_requests {
                let dir = out_dir.as_ref().expect("clap requires --out");
                Ok(Some(
                    Box::new(csv_out::RequestCsv::create(dir, sc)?) as Box<dyn FinishingSink>
                ))
            } else {
                Ok(None)
            }
        })
    })?;
    let wall = started.elapsed().as_secs_f64();
    let summary = runner::summary(&set, &runs);
    if let Some(dir) = &a.out {
        write_atomic(
            &dir.join("summary.json"),
            output::json::Json.render_bytes(&summary).as_slice(),
        )?;
        write_atomic(
            &dir.join("summary.md"),
            output::exporter("markdown")
                .expect("known")
                .render(&summary)
                .as_bytes(),
        )?;
        for r in &runs {
            let bytes = csv_out::timeseries(&r.scenario, &r.metrics.series)?;
            write_atomic(
                &dir.join(format!(
                    "timeseries-{}.csv",
                    csv_out::file_stem(&r.scenario.variant)
                )),
                &bytes,
            )?;
        }
        if a.report {
            let path = crate::report::write_report(dir, None)?;
            if !a.quiet {
                eprintln!("spillway: wrote {}", path.display());
            }
        }
    }
    let name = match a.format {
        Format::Table => "table",
        Format::Json => "json",
        Format::Markdown => "markdown",
    };
    let text = output::exporter(name)
        .expect("known format")
        .render(&summary);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
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
