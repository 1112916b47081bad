//! The `spillway` binary end to end: every command, every output file, and bad input.

use std::path::Path;
use std::process::{Command, Output};

use crate::scenario_path;

/// Runs the binary.
pub fn spillway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Its standard output.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Its standard error.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes `text` to a fresh file and returns its path.
fn scenario_file(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const SMALL: &str = r#"
[scenario]
name = "small"
seed = 7
duration = "10m"

[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "gpt-4o-mini"
tpm = 200_000

[[deployment]]
name = "std"
kind = "standard"
model = "gpt-4o-mini"
pool = "p"
tpm = 200_000

[workload]
arrival = "poisson"
rate_per_min = 30

[[workload.class]]
name = "chat"
prompt_tokens = { dist = "normal", mean = 1000, sd = 200 }
completion_tokens = { dist = "lognormal", mean = 300, cv = 0.8 }
steps = 2

[[variant]]
name = "a"

[[variant]]
name = "b"
set = { "deployment.std.tpm" = 20_000, "pool.p.tpm" = 20_000 }
"#;

/// Asserts a bad-input run: exit 2, no panic, and a message containing every `needle`.
fn assert_bad(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
}

#[test]
fn run_prints_the_side_by_side_table() {
    let o = spillway(&[
        "run",
        &scenario_path("foundry-parallel-load.toml"),
        "--variant",
        "1-user",
        "--variant",
        "4-users",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("1-user") && out.contains("4-users"), "{out}");
    assert!(!out.contains("10-users"), "--variant must filter: {out}");
    assert!(
        out.contains("sessions ok") && out.contains("p95 s"),
        "{out}"
    );
    // Timings go to stderr, never stdout.
    let err = stderr(&o);
    assert!(err.contains("events") && err.contains("events/s"), "{err}");
}

#[test]
fn json_has_every_contract_key() {
    let dir = tempdir();
    let f = scenario_file(&dir, "s.toml", SMALL);
    let o = spillway(&["run", &f, "--format", "json", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).is_empty(),
        "--quiet prints nothing: {}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["schema"], "spillway.summary/v1");
    assert_eq!(v["scenario"], "small");
    assert_eq!(v["seed"], 7);
    let variants = v["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    let p_keys = ["mean", "p50", "p90", "p95", "p99", "max"];
    for var in variants {
        for k in [
            "sent",
            "attempts",
            "succeeded",
            "failed",
            "rate_limited",
            "timed_out",
            "retries",
            "truncated",
            "spilled",
        ] {
            assert!(
                var["requests"][k].is_u64(),
                "requests.{k} must be an integer: {var}"
            );
        }
        for k in p_keys {
            assert!(var["latency_ms"]["ttft"][k].is_number(), "ttft.{k}");
            assert!(var["latency_ms"]["e2e"][k].is_number(), "e2e.{k}");
            assert!(
                var["sessions"]["duration_ms"][k].is_number(),
                "duration_ms.{k}"
            );
        }
        for k in ["started", "completed", "failed"] {
            assert!(var["sessions"][k].is_u64(), "sessions.{k}");
        }
        for k in ["prompt", "completion", "charged_estimate"] {
            assert!(var["tokens"][k].is_u64(), "tokens.{k}");
        }
        for k in ["requests_per_min", "output_tokens_per_min"] {
            assert!(var["throughput"][k].is_number(), "throughput.{k}");
        }
        for k in ["total", "per_1k_sessions"] {
            assert!(var["cost_usd"][k].is_number(), "cost_usd.{k}");
        }
        let deps = var["deployments"].as_array().unwrap();
        assert_eq!(deps.len(), 1);
        for k in ["attempts", "admitted", "rejected_429", "timed_out_408"] {
            assert!(deps[0][k].is_u64(), "deployments[].{k}");
        }
        assert_eq!(deps[0]["name"], "std");
        assert_eq!(deps[0]["kind"], "standard");
        assert!(deps[0]["utilization_mean"].is_number());
    }
    // Variant b has a tenth of the quota: it must be throttled where a is not.
    assert_eq!(variants[0]["requests"]["rate_limited"], 0);
    assert!(
        variants[1]["deployments"][0]["rejected_429"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn markdown_format_is_a_table() {
    let dir = tempdir();
    let f = scenario_file(&dir, "s.toml", SMALL);
    let o = spillway(&["run", &f, "--format", "markdown", "-q"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.starts_with("# Spillway report: small"), "{out}");
    // The comparison sentence of variant b against the first variant, a.
    assert!(out.contains("- `b`: p95 session"), "{out}");
    assert!(
        out.contains("| variant |") && out.contains("| a |") && out.contains("| b |"),
        "{out}"
    );
}

#[test]
fn out_dir_gets_every_file_and_no_temporaries() {
    let dir = tempdir();
    let f = scenario_file(&dir, "s.toml", SMALL);
    let out = dir.join("out");
    let o = spillway(&[
        "run",
        &f,
        "--out",
        out.to_str().unwrap(),
        "--requests-csv",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "requests-a.csv",
            "requests-b.csv",
            "summary.json",
            "summary.md",
            "timeseries-a.csv",
            "timeseries-b.csv"
        ]
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    // One CSV row per finished request.
    for (i, v) in ["a", "b"].iter().enumerate() {
        let csv = std::fs::read_to_string(out.join(format!("requests-{v}.csv"))).unwrap();
        let rows = csv.lines().count() - 1;
        let r = &summary["variants"][i]["requests"];
        let finished = r["succeeded"].as_u64().unwrap() + r["failed"].as_u64().unwrap();
        assert_eq!(rows as u64, finished, "variant {v}");
        let ts = std::fs::read_to_string(out.join(format!("timeseries-{v}.csv"))).unwrap();
        let header = ts.lines().next().unwrap();
        assert!(
            header.starts_with(
                "t_s,arrivals,completions,failures,rejected_429,timed_out_408,in_flight"
            ),
            "{header}"
        );
        assert!(
            header.contains("std_tokens_per_min") && header.contains("std_utilization"),
            "{header}"
        );
        // 10 minutes at 60 s plus the drain: at least ten rows.
        assert!(ts.lines().count() > 10, "{ts}");
    }
}

#[test]
fn set_and_seed_change_the_run() {
    let dir = tempdir();
    let f = scenario_file(&dir, "s.toml", SMALL);
    let base = stdout(&spillway(&[
        "run",
        &f,
        "--format",
        "json",
        "-q",
        "--variant",
        "a",
    ]));
    let seeded = stdout(&spillway(&[
        "run",
        &f,
        "--format",
        "json",
        "-q",
        "--variant",
        "a",
        "--seed",
        "8",
    ]));
    let set = stdout(&spillway(&[
        "run",
        &f,
        "--format",
        "json",
        "-q",
        "--variant",
        "a",
        "--set",
        "workload.rate_per_min=60",
    ]));
    let sent = |s: &str| -> u64 {
        let v: serde_json::Value = serde_json::from_str(s).unwrap();
        v["variants"][0]["requests"]["sent"].as_u64().unwrap()
    };
    assert_ne!(base, seeded);
    assert!(seeded.contains("\"seed\": 8"));
    assert!(
        sent(&set) > sent(&base) * 3 / 2,
        "doubling the rate roughly doubles requests"
    );
}

#[test]
fn validate_checks_without_running() {
    let o = spillway(&["validate", &scenario_path("timeouts-to-triumph.toml")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("token-cap-streaming-spillover"));
}

#[test]
fn shipped_scenarios_validate() {
    for entry in std::fs::read_dir(crate::root().join("scenarios")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            let o = spillway(&["validate", p.to_str().unwrap()]);
            assert!(o.status.success(), "{}: {}", p.display(), stderr(&o));
        }
    }
}

#[test]
fn unknown_key_names_line_and_column() {
    let dir = tempdir();
    let text = SMALL.replace("duration = \"10m\"", "duration = \"10m\"\ndurashun = 3");
    let f = scenario_file(&dir, "bad.toml", &text);
    let o = spillway(&["validate", &f]);
    assert_bad(&o, &["bad.toml:6:1", "durashun"]);
}

#[test]
fn bad_values_name_the_key_and_what_is_allowed() {
    let dir = tempdir();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "duration = \"10m\"",
            "duration = \"ten minutes\"",
            &["scenario.duration", "250ms"],
        ),
        (
            "kind = \"standard\"",
            "kind = \"serverless\"",
            &["deployment.std.kind", "standard, provisioned"],
        ),
        (
            "arrival = \"poisson\"",
            "arrival = \"bursty\"",
            &["workload.arrival", "closed, poisson, constant"],
        ),
        (
            "dist = \"lognormal\", mean = 300, cv = 0.8",
            "dist = \"lognormal\", mean = 300",
            &["completion_tokens", "'cv'"],
        ),
        (
            "tpm = 200_000\n\n[workload]",
            "tpm = 250_000\n\n[workload]",
            &["pool.p.tpm", "over-allocated", "'std'"],
        ),
        (
            "pool = \"p\"",
            "pool = \"q\"",
            &["deployment.std.pool", "unknown pool 'q'"],
        ),
        (
            "rate_per_min = 30",
            "rate_per_min = -3",
            &["workload.rate_per_min", ">= 0"],
        ),
        ("name = \"b\"", "name = \"a\"", &["duplicate variant name"]),
        (
            "\"deployment.std.tpm\" = 20_000",
            "\"deployment.nope.tpm\" = 20_000",
            &["variant 'b'", "no entry named 'nope'", "std"],
        ),
    ];
    for (i, (from, to, needles)) in cases.iter().enumerate() {
        assert!(SMALL.contains(from), "case {i}: {from}");
        let f = scenario_file(&dir, &format!("bad{i}.toml"), &SMALL.replacen(from, to, 1));
        assert_bad(&spillway(&["validate", &f]), needles);
        // run reports the same and writes nothing.
        let out = dir.join(format!("out{i}"));
        assert_bad(
            &spillway(&["run", &f, "--out", out.to_str().unwrap()]),
            needles,
        );
        assert!(
            !out.exists() || std::fs::read_dir(&out).unwrap().next().is_none(),
            "case {i}: no output on bad input"
        );
    }
}

#[test]
fn bad_flags_and_files_exit_2() {
    let dir = tempdir();
    let f = scenario_file(&dir, "s.toml", SMALL);
    assert_bad(
        &spillway(&["run", "/nonexistent/x.toml"]),
        &["/nonexistent/x.toml"],
    );
    assert_bad(&spillway(&["run", &f, "--set", "novalue"]), &["KEY=VALUE"]);
    assert_bad(
        &spillway(&["run", &f, "--variant", "zzz"]),
        &["'zzz'", "a, b"],
    );
    assert_bad(
        &spillway(&["run", &f, "--set", "client.timeout=soon"]),
        &["key 'client.timeout'", "soon", "250ms"],
    );
    assert_bad(&spillway(&["run", &f, "--format", "xml"]), &["xml"]);
    let garbage = scenario_file(&dir, "garbage.toml", "[scenario\nname = 1");
    assert_bad(&spillway(&["validate", &garbage]), &["garbage.toml:1:"]);
}

#[test]
fn help_explains_the_commands() {
    let o = spillway(&["--help"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("run") && out.contains("validate") && out.contains("Exit codes"),
        "{out}"
    );
    let o = spillway(&["run", "--help"]);
    let out = stdout(&o);
    for flag in [
        "--seed",
        "--set",
        "--variant",
        "--format",
        "--out",
        "--requests-csv",
        "--jobs",
    ] {
        assert!(out.contains(flag), "run --help lacks {flag}");
    }
}

/// A fresh temporary directory under the target dir (no extra dependency needed).
pub fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "spillway-it-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn report_command_and_run_report_flag() {
    let dir = tempdir();
    // From a saved run directory.
    let html = dir.join("r.html");
    let run_dir = crate::root().join("results/timeouts-to-triumph");
    let o = spillway(&[
        "report",
        run_dir.to_str().unwrap(),
        "--out",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        text.starts_with("<!DOCTYPE html>"),
        "{}",
        &text[..200.min(text.len())]
    );
    assert!(text.contains("token-cap-streaming-spillover"));
    // From a sweep directory.
    let sweep_dir = crate::root().join("results/foundry-parallel-load/sweep");
    let s_html = dir.join("s.html");
    let o = spillway(&[
        "report",
        sweep_dir.to_str().unwrap(),
        "--out",
        s_html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(s_html.is_file());
    // run --report writes report.html next to the other outputs.
    let f = scenario_file(&dir, "s.toml", SMALL);
    let out = dir.join("out");
    let o = spillway(&["run", &f, "--out", out.to_str().unwrap(), "--report", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("report.html").is_file());
    // Bad input: exit 2, naming the directory; --report needs --out.
    assert_bad(
        &spillway(&["report", "/nonexistent/dir"]),
        &["/nonexistent/dir"],
    );
    let o = spillway(&["run", &f, "--report"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Issue 12 point 6 / issue 13 case 14: `--jobs 0` was accepted silently and `--jobs 100000`
/// spent 12-15 s spawning threads before failing. Both are refused before any thread starts.
#[test]
fn jobs_must_be_from_1_to_1024() {
    let dir = tempdir();
    let f = scenario_file(&dir, "s.toml", SMALL);
    let out = dir.join("o");
    for jobs in ["0", "100000", "1025", "many"] {
        for cmd in [
            &["run", &f][..],
            &["check", &f],
            &[
                "sweep",
                &f,
                "--out",
                out.to_str().unwrap(),
                "--grid",
                "workload.rate_per_min=5",
            ],
        ] {
            let mut args = cmd.to_vec();
            args.extend(["--jobs", jobs]);
            // Refused while parsing flags, before any thread is spawned (the message is
            // clap's "invalid value ... for '--jobs <N>'").
            assert_bad(&spillway(&args), &["--jobs <N>", "from 1 to 1024"]);
        }
    }
    assert!(!out.exists());
}
