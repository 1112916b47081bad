//! `spillway sweep` and `spillway merge`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use rayon::prelude::*;

use super::budget::BudgetArgs;
use super::gate::{self, CheckFormat, Gate};
use super::{ScenarioArgs, flags, interrupt, load, progress, show_progress, thread_pool};
use crate::error::{Error, Result};
use crate::output::dir::{OutDir, step};
use crate::runner::{self, Progress, RunOptions};
use crate::sweep;

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
    /// The most runs (points x variants x replications) this sweep may have (default 100000:
    /// about 2 GB of memory at most). A bigger sweep is refused before anything runs.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_runs: Option<u64>,
    /// Sweep only this variant (repeatable; default: [sweep] variants, or all).
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<String>,
    /// Worker threads, 1 to 1024 (default: all cores). Output is identical whatever the number.
    #[arg(long, value_name = "N", value_parser = flags::parse_jobs)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub budget: BudgetArgs,
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
    /// Also write DIR/report.html, a self-contained HTML report with charts (its path is
    /// printed).
    #[arg(long)]
    pub report: bool,
    /// Format of the SLO report printed with --check. With json or junit, stdout holds only
    /// that document (the "wrote ..." lines go to stderr).
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,
    /// With --check: also write the SLO report to FILE, in the format its extension names
    /// (.xml JUnit, .json, .md Markdown, .txt table). Repeatable.
    #[arg(long, value_name = "FILE", requires = "check", value_parser = gate::parse_report_path)]
    pub check_out: Vec<(PathBuf, CheckFormat)>,
    /// No progress bar and no timings on stderr (the bar is also off when stderr is not a
    /// terminal or CI is set).
    #[arg(long, short)]
    pub quiet: bool,
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
    /// Also print the SLO report; exit 1 when any fails.
    #[arg(long)]
    pub check: bool,
    /// Format of the SLO report printed with --check. With json or junit, stdout holds only
    /// that document (the "merged ..." line goes to stderr).
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,
    /// With --check: also write the SLO report to FILE, in the format its extension names
    /// (.xml JUnit, .json, .md Markdown, .txt table). Repeatable.
    #[arg(long, value_name = "FILE", requires = "check", value_parser = gate::parse_report_path)]
    pub check_out: Vec<(PathBuf, CheckFormat)>,
    /// Nothing on stderr but errors.
    #[arg(long, short)]
    pub quiet: bool,
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

/// A "wrote ..." line: on stdout, or on stderr when stdout carries a JSON or JUnit document.
fn notice(to_stderr: bool, line: String) {
    use std::io::Write;
    if to_stderr {
        eprintln!("{line}");
    } else {
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

/// Runs `spillway sweep`; returns the exit code.
pub fn sweep(a: SweepArgs) -> Result<u8> {
    let interrupt = interrupt::install();
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
        max_runs: a.max_runs.map(|n| n as usize),
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
    pool.install(|| check_budget(&plan, &a.budget, set.file()))?;
    let out = OutDir::prepare("--out", &a.out)?;
    let progress = Progress::new(pool.current_num_threads(), my_runs(&plan, shard));
    let run_opts = RunOptions {
        max_events: a.budget.max_events(),
        max_state_bytes: Some(a.budget.max_state_bytes()),
        interrupt: Some(interrupt),
        progress: Some(&progress),
    };
    let started = Instant::now();
    let doc = progress::with_bar(show_progress(a.quiet), &progress, "runs", || {
        pool.install(|| sweep::run(&plan, shard, &run_opts))
    })?;
    let wall = started.elapsed().as_secs_f64();
    // Every file is written into the staging directory, then put in place together.
    out.write("sweep.json", &sweep::json_bytes(&doc))?;
    if shard.is_none() {
        out.write("sweep.csv", &sweep::csv_bytes(&doc)?)?;
        if a.report {
            crate::report::write_report(out.path(), None)?;
            step("report.html");
        }
    }
    out.commit(Some(interrupt))?;
    let report = (a.report && shard.is_none()).then(|| a.out.join(crate::report::REPORT_FILE));
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
    let to_stderr = a.check && a.format.is_document();
    if shard.is_some() {
        notice(
            to_stderr,
            format!(
                "wrote {} (shard; combine with `spillway merge`)",
                a.out.join("sweep.json").display()
            ),
        );
        return Ok(0);
    }
    notice(
        to_stderr,
        format!(
            "wrote {} and {}",
            a.out.join("sweep.csv").display(),
            a.out.join("sweep.json").display()
        ),
    );
    if let Some(path) = report {
        notice(to_stderr, format!("wrote {}", path.display()));
    }
    if !a.check {
        return Ok(0);
    }
    gate::emit(&Gate::of_sweep(&doc), a.format, &a.check_out, a.quiet)
}

/// Runs `spillway merge`; returns the exit code.
pub fn merge(a: MergeArgs) -> Result<u8> {
    let interrupt = interrupt::install();
    let mut docs = Vec::new();
    for d in &a.dirs {
        let path = d.join("sweep.json");
        docs.push((path.display().to_string(), sweep::read_doc(&path)?));
    }
    let doc = sweep::merge(docs)?;
    // Both files are rendered before anything is written, then put in place together.
    let (json, csv) = (sweep::json_bytes(&doc), sweep::csv_bytes(&doc)?);
    let out = OutDir::prepare("--out", &a.out)?;
    out.write("sweep.json", &json)?;
    out.write("sweep.csv", &csv)?;
    out.commit(Some(interrupt))?;
    notice(
        a.check && a.format.is_document(),
        format!(
            "merged {} shard(s), {} runs into {}",
            a.dirs.len(),
            doc.runs.len(),
            a.out.display()
        ),
    );
    if !a.check {
        return Ok(0);
    }
    gate::emit(&Gate::of_sweep(&doc), a.format, &a.check_out, a.quiet)
}

/// Runs of this process: the whole sweep, or this shard's share of it.
fn my_runs(plan: &sweep::Plan, shard: Option<sweep::Shard>) -> u64 {
    let total = plan.points.len() * plan.variants.len() * plan.replications as usize;
    let mine = match shard {
        None => total,
        Some(s) if s.index >= total => 0,
        Some(s) => (total - s.index - 1) / s.count + 1,
    };
    mine as u64
}

/// Refuses the sweep when the run estimated to be the largest (every point and variant is
/// estimated; replications are the same work) is over the event budget.
fn check_budget(plan: &sweep::Plan, budget: &BudgetArgs, file: &str) -> Result<()> {
    if budget.force {
        return Ok(());
    }
    let nv = plan.variants.len();
    let estimates: Vec<f64> = (0..plan.points.len() * nv)
        .into_par_iter()
        .map(|k| {
            plan.scenario(k / nv, k % nv)
                .map(|sc| runner::estimate(&sc).events)
        })
        .collect::<Result<_>>()?;
    let Some(worst) = (0..estimates.len()).max_by(|&i, &j| estimates[i].total_cmp(&estimates[j]))
    else {
        return Ok(());
    };
    let sc = plan.scenario(worst / nv, worst % nv)?;
    let label = format!(
        "{}: sweep point {}, variant '{}'",
        file,
        worst / nv,
        plan.variants[worst % nv]
    );
    budget.check([(label, &sc)])
}
