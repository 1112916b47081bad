//! `spillway compare`: telemetry that Spillway itself generated, compared with the scenario
//! that generated it (small errors) and with a mismatched one (large errors); outputs and
//! bad input.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::{spillway, stderr, stdout, tempdir};

const SCENARIO: &str = r#"
[scenario]
name = "compare-roundtrip"
duration = "10m"
seed = 5

[models."gpt-4o-mini"]
decode_variation_cv = 0.2

[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "gpt-4o-mini"
tpm = 150_000

[[deployment]]
name = "d"
kind = "standard"
model = "gpt-4o-mini"
pool = "p"
tpm = 150_000

[workload]
arrival = "poisson"
rate_per_min = 120

[[workload.class]]
name = "chat"
model = "gpt-4o-mini"
prompt_tokens = { dist = "uniform", min = 200, max = 1800 }
completion_tokens = { dist = "uniform", min = 20, max = 600 }
max_tokens = 500
streaming = true
"#;

/// Runs the scenario with per-request rows and turns them into Spillway telemetry (the
/// columns of docs/calibration.md); returns (scenario path, telemetry path).
fn telemetry(dir: &Path) -> (String, PathBuf) {
    let scenario = dir.join("roundtrip.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = dir.join("run");
    let o = spillway(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--requests-csv",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(out.join("requests-baseline.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let h = rows.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let mut tele = String::from(
        "timestamp,model,deployment,prompt_tokens,completion_tokens,ttft_ms,duration_ms,status,retry_after_ms,streaming\n",
    );
    for r in rows.records() {
        let r = r.unwrap();
        let ms = |name: &str| match r[col(name)].parse::<f64>() {
            Ok(s) => format!("{:.3}", s * 1e3),
            Err(_) => String::new(),
        };
        let ok = &r[col("status")] == "200";
        writeln!(
            tele,
            "{},gpt-4o-mini,{},{},{},{},{},{},,true",
            &r[col("start_s")],
            &r[col("deployment")],
            &r[col("prompt_tokens")],
            if ok { &r[col("completion_tokens")] } else { "" },
            ms("ttft_s"),
            if ok { ms("e2e_s") } else { String::new() },
            &r[col("status")]
        )
        .unwrap();
    }
    let path = dir.join("telemetry.csv");
    std::fs::write(&path, tele).unwrap();
    (scenario.display().to_string(), path)
}

fn compare_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = dir.join("cmp");
    let _ = std::fs::remove_dir_all(&out);
    let mut all = vec!["compare"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", out.to_str().unwrap(), "-q"]);
    let o = spillway(&all);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("percentile"), "{}", stdout(&o));
    serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap()).unwrap()
}

fn rate(v: &serde_json::Value, status: &str, side: &str) -> f64 {
    v["status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == status)
        .unwrap()[side]
        .as_f64()
        .unwrap()
}

#[test]
fn spillways_own_telemetry_compares_with_small_errors() {
    let dir = tempdir();
    let (scenario, tele) = telemetry(&dir);
    let v = compare_json(&dir, &[&scenario, "--telemetry", tele.to_str().unwrap()]);
    assert_eq!(v["schema"], "spillway.compare/v1");
    assert!(v["requests"].as_u64().unwrap() > 1000, "{}", v["requests"]);
    // The same service and the same arrivals; only the per-request speed draws differ.
    let max = v["max_latency_error"].as_f64().unwrap();
    assert!(max < 0.10, "largest percentile error {max}: {v}");
    assert!(v["throughput_error"].as_f64().unwrap() < 0.10, "{v}");
    // The quota is below the load: 429s, in about the same share.
    let (o, s) = (
        rate(&v, "429", "observed_rate"),
        rate(&v, "429", "simulated_rate"),
    );
    assert!(
        o > 0.01 && (o - s).abs() < 0.02,
        "429s observed {o}, simulated {s}"
    );
    for f in ["compare.json", "compare.md", "compare.html"] {
        assert!(dir.join("cmp").join(f).is_file(), "{f}");
    }
    let html = std::fs::read_to_string(dir.join("cmp/compare.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script"));
}

#[test]
fn a_mismatched_scenario_compares_with_large_errors() {
    let dir = tempdir();
    let (scenario, tele) = telemetry(&dir);
    // A slower model on a larger quota: latencies far off, and no 429s where there were some.
    let v = compare_json(
        &dir,
        &[
            &scenario,
            "--telemetry",
            tele.to_str().unwrap(),
            "--set",
            "models.\"gpt-4o-mini\".decode_tokens_per_s=30",
            "--set",
            "pool.p.tpm=2000000",
            "--set",
            "deployment.d.tpm=2000000",
        ],
    );
    let max = v["max_latency_error"].as_f64().unwrap();
    assert!(max > 0.5, "largest percentile error {max}");
    let (o, s) = (
        rate(&v, "429", "observed_rate"),
        rate(&v, "429", "simulated_rate"),
    );
    assert!(o > 0.01 && s == 0.0, "429s observed {o}, simulated {s}");
}

#[test]
fn bad_telemetry_exits_2_and_writes_nothing() {
    let dir = tempdir();
    let (scenario, _) = telemetry(&dir);
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "timestamp,model,deployment,prompt_tokens,completion_tokens,ttft_ms,duration_ms,status,retry_after_ms,streaming\n0,gpt-4o-mini,d,100,10,300,900,200,,true\n1,gpt-4o-mini,d,1x0,10,300,900,200,,true\n",
    )
    .unwrap();
    let out = dir.join("cmp");
    let o = spillway(&[
        "compare",
        &scenario,
        "--telemetry",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("bad.csv:3:"), "{}", stderr(&o));
    assert!(!out.exists());
}
