//! Same inputs, same bytes: run to run, for any thread count, and against the committed
//! golden files in `results/`.

use std::path::Path;
use std::process::Command;

use spillway::output::Exporter;
use spillway::runner;

use crate::{root, scenario_path};

fn summary_json(path: &str, threads: usize) -> String {
    let set = spillway::scenario::load(path, &[], None).unwrap();
    let chosen = runner::select(&set, &[]).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let runs = pool
        .install(|| runner::run_variants(&chosen, |_| Ok(None)))
        .unwrap();
    spillway::output::json::Json.render(&runner::summary(&set, &runs))
}

#[test]
fn twice_and_one_vs_many_threads_are_identical() {
    for name in [
        "foundry-parallel-load.toml",
        "timeouts-to-triumph.toml",
        "gateway-strategies.toml",
    ] {
        let p = scenario_path(name);
        let a = summary_json(&p, 1);
        let b = summary_json(&p, 1);
        let c = summary_json(&p, 4);
        assert_eq!(a, b, "{name}: two runs differ");
        assert_eq!(a, c, "{name}: 1 vs 4 threads differ");
    }
}

#[test]
fn variants_see_the_same_sessions() {
    // Common random numbers: with the same deployments, two variants that differ only in the
    // client's retry budget ask for exactly the same tokens in their first requests.
    let text = r#"
[scenario]
name = "crn"
duration = "5m"
[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "gpt-4o-mini"
tpm = 1_000_000
[[deployment]]
name = "d"
kind = "standard"
model = "gpt-4o-mini"
pool = "p"
tpm = 1_000_000
[workload]
arrival = "poisson"
rate_per_min = 20
[[workload.class]]
name = "c"
steps = 3
prompt_tokens = { dist = "normal", mean = 800, sd = 300 }
completion_tokens = { dist = "exponential", mean = 200 }
[[variant]]
name = "x"
[[variant]]
name = "y"
set = { "client.max_retries" = 5, "workload.class.c.max_tokens" = 4000 }
"#;
    let set = crate::parse(text);
    #[derive(Default)]
    struct Collect(Vec<(u64, u32, u32, u32)>);
    impl spillway::engine::RequestSink for Collect {
        fn record(&mut self, r: &spillway::engine::RequestRecord) {
            self.0
                .push((r.session, r.step, r.prompt_tokens, r.wanted_tokens));
        }
    }
    let mut x = Collect::default();
    let mut y = Collect::default();
    spillway::engine::simulate(&set.variants[0], Some(&mut x));
    spillway::engine::simulate(&set.variants[1], Some(&mut y));
    x.0.sort();
    y.0.sort();
    assert!(x.0.len() > 100);
    assert_eq!(x.0, y.0);
}

fn diff_dirs(expected: &Path, actual: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .map(|r| {
                r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let (e, a) = (names(expected), names(actual));
    if e != a {
        problems.push(format!(
            "file lists differ: committed {e:?}, regenerated {a:?}"
        ));
    }
    for n in e
        .iter()
        .filter(|n| a.contains(n) && expected.join(n.as_str()).is_file())
    {
        if std::fs::read(expected.join(n)).unwrap() != std::fs::read(actual.join(n)).unwrap() {
            problems.push(format!("{n} differs"));
        }
    }
    problems
}

/// Regenerates every shipped scenario's `--out` directory and compares it byte for byte with
/// `results/<scenario>/`. To accept an intended change, run `scripts/regenerate-results.sh`
/// and say why in the commit.
/// The same run with glibc's math functions forced onto other code paths: glibc picks its
/// `exp` and `log` by CPU (FMA, AVX or SSE2 variants, through ifuncs), and its error bound is
/// about half a unit in the last place, not correct rounding; byte-identical results on any
/// x86-64 machine rest on the variants agreeing on every value a run draws. The tunable hides
/// CPU features from glibc, so this machine runs what an older one would (elsewhere than glibc
/// on x86-64 the variable is ignored and the runs are simply repeated).
#[test]
fn results_do_not_depend_on_the_cpu_features_glibc_picks_its_math_by() {
    let tmp = crate::cli::tempdir();
    let run = |label: &str, tunables: Option<&str>| {
        let out = tmp.join(label);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_spillway"));
        cmd.args([
            "run",
            &scenario_path("timeouts-to-triumph.toml"),
            "--out",
            out.to_str().unwrap(),
            "--requests-csv",
            "--quiet",
            "--jobs",
            "2",
        ]);
        match tunables {
            Some(t) => cmd.env("GLIBC_TUNABLES", t),
            None => cmd.env_remove("GLIBC_TUNABLES"),
        };
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    let native = run("native", None);
    for (label, t) in [
        ("avx", "glibc.cpu.hwcaps=-AVX2,-FMA"),
        ("sse2", "glibc.cpu.hwcaps=-AVX,-AVX2,-FMA,-FMA4"),
    ] {
        let other = run(label, Some(t));
        let problems = diff_dirs(&native, &other);
        assert!(problems.is_empty(), "{label}: {problems:?}");
    }
}

#[test]
fn golden_results_match() {
    let tmp = crate::cli::tempdir();
    let mut problems = Vec::new();
    for name in [
        "foundry-parallel-load",
        "timeouts-to-triumph",
        "gateway-strategies",
        "foundry-sensitivity",
        "azure-trace-replay",
        "mooncake-caching",
    ] {
        let out = tmp.join(name);
        let o = Command::new(env!("CARGO_BIN_EXE_spillway"))
            .args([
                "run",
                &scenario_path(&format!("{name}.toml")),
                "--out",
                out.to_str().unwrap(),
                "--report",
                "--quiet",
                "--jobs",
                "2",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // Only scenarios with a [sweep] have sweep outputs.
        if !root().join("results").join(name).join("sweep").is_dir() {
            for p in diff_dirs(&root().join("results").join(name), &out) {
                problems.push(format!("results/{name}: {p}"));
            }
            continue;
        }
        let sweep_out = out.join("sweep");
        let o = Command::new(env!("CARGO_BIN_EXE_spillway"))
            .args([
                "sweep",
                &scenario_path(&format!("{name}.toml")),
                "--out",
                sweep_out.to_str().unwrap(),
                "--report",
                "--quiet",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for p in diff_dirs(&root().join("results").join(name), &out) {
            problems.push(format!("results/{name}: {p}"));
        }
        for p in diff_dirs(&root().join("results").join(name).join("sweep"), &sweep_out) {
            problems.push(format!("results/{name}/sweep: {p}"));
        }
    }
    assert!(
        problems.is_empty(),
        "golden files differ (run scripts/regenerate-results.sh if the change is intended):\n{}",
        problems.join("\n")
    );
}
