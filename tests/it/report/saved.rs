//! Corrupted saved outputs through `spillway report` (issue 13, point 4): every file the report
//! reads is checked before use. A bad one is refused with exit 2 and one line naming the file
//! and the field, nothing is written, and nothing panics or allocates by a number read from
//! disk. Also the D11 sweep (a price grid from 0.1 to 1e300) and a fixed-seed mutation loop
//! over the shipped outputs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use spillway::report::render_dir;

use super::copy_dir;
use crate::cli::tempdir;
use crate::root;

const RUN: &str = "results/timeouts-to-triumph";
const SWEEP: &str = "results/timeouts-to-triumph/sweep";

/// A copy of a shipped output directory without its report.
fn fixture(dir: &str) -> PathBuf {
    let d = copy_dir(&root().join(dir));
    std::fs::remove_file(d.join("report.html")).unwrap();
    d
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// Edits the JSON file `name` of `dir` as a value.
fn edit(dir: &Path, name: &str, f: impl FnOnce(&mut Value)) {
    let path = dir.join(name);
    let mut v = read_json(&path);
    f(&mut v);
    write_json(&path, &v);
}

/// Edits the file `name` of `dir` as text.
fn edit_text(dir: &Path, name: &str, f: impl FnOnce(String) -> String) {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, f(text)).unwrap();
}

/// `spillway report DIR` must exit 2 with one line that names `file` and contains each of
/// `words`, and write no report (nor a temporary file).
fn refused(dir: &Path, file: &str, words: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(["report", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{file}: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(file), "does not name {file}: {err}");
    for w in words {
        assert!(err.contains(w), "no '{w}' in: {err}");
    }
    for bad in ["panicked", "u64", "f64", "usize", "inf", "NaN "] {
        assert!(!err.contains(bad), "'{bad}' in: {err}");
    }
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("report.html"))
        .collect();
    assert!(left.is_empty(), "a report was written: {left:?}");
}

#[test]
fn corrupted_summaries_are_refused_naming_the_file_and_field() {
    let d = fixture(RUN);
    edit_text(&d, "summary.json", |t| t[..t.len() / 2].to_string());
    refused(&d, "summary.json", &["not valid JSON", "summary.json:"]);

    type Edit = fn(&mut Value);
    let cases: [(Edit, &[&str]); 13] = [
        (
            |v| v["variants"][0]["requests"]["sent"] = "32962".into(),
            &["variants[0].requests.sent", "expected a whole number"],
        ),
        (
            |v| v["variants"][1]["requests"]["sent"] = (-1).into(),
            &["variants[1].requests.sent", "-1"],
        ),
        (
            |v| v["variants"][0]["latency_ms"]["e2e"]["p95"] = "NaN".into(),
            &["variants[0].latency_ms.e2e.p95", "expected a number"],
        ),
        (
            |v| v["variants"][0]["cost_usd"]["total"] = Value::Null,
            &["variants[0].cost_usd.total", "null"],
        ),
        (
            |v| v["variants"][2]["requests"]["failed"] = 99_999_999.into(),
            &["variants[2].requests.sent", "succeeded"],
        ),
        (
            |v| v["variants"][0]["requests"]["failed_ratio"] = 7.5.into(),
            &["variants[0].requests.failed_ratio", "failed / sent"],
        ),
        (
            |v| v["variants"][0]["sessions"]["duration_ms"]["p50"] = 1e9.into(),
            &["variants[0].sessions.duration_ms.p90", "below p50"],
        ),
        (
            |v| {
                let pts = v["variants"][0]["distributions"]["e2e_ms"].clone();
                let many: Vec<Value> = (0..2000).map(|_| pts[0].clone()).collect();
                v["variants"][0]["distributions"]["e2e_ms"] = Value::Array(many);
            },
            &["variants[0].distributions.e2e_ms", "at most 1000"],
        ),
        (
            |v| v["variants"][0]["distributions"]["ttft_ms"][5][1] = 2.0.into(),
            &["variants[0].distributions.ttft_ms[5]", "quantile"],
        ),
        (
            |v| v["variants"] = Value::Array(Vec::new()),
            &["'variants'", "at least one"],
        ),
        (
            |v| v["variants"][1]["name"] = v["variants"][0]["name"].clone(),
            &["variants[1].name", "twice"],
        ),
        (
            |v| v["schema"] = "spillway.summary/v0".into(),
            &["'schema'"],
        ),
        (
            |v| {
                let one = v["variants"][0].clone();
                v["variants"] = (0..201)
                    .map(|i| {
                        let mut x = one.clone();
                        x["name"] = format!("v{i}").into();
                        x
                    })
                    .collect();
            },
            &["'variants'", "201 variants", "at most 200"],
        ),
    ];
    for (f, words) in cases {
        let d = fixture(RUN);
        edit(&d, "summary.json", f);
        refused(&d, "summary.json", words);
    }
    // Numbers too big for their field, written as text.
    for big in ["1e400", "18446744073709551616", "1e20"] {
        let d = fixture(RUN);
        edit_text(&d, "summary.json", |t| {
            t.replacen("\"sent\": 32962", &format!("\"sent\": {big}"), 1)
        });
        refused(&d, "summary.json", &["summary.json:"]);
    }
}

#[test]
fn corrupted_time_series_are_refused_naming_the_file_row_and_column() {
    let csv = "timeseries-token-cap.csv";
    // One variant's series missing while the others are there.
    let d = fixture(RUN);
    std::fs::remove_file(d.join(csv)).unwrap();
    refused(&d, csv, &["missing", "timeseries-baseline.csv"]);
    let cell = |text: String, row: usize, col: usize, with: &str| {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut cells: Vec<String> = lines[row].split(',').map(str::to_string).collect();
        cells[col] = with.to_string();
        lines[row] = cells.join(",");
        lines.join("\n") + "\n"
    };
    for (row, col, with, words) in [
        (3, 1, "NaN", &["row 4", "'arrivals'"][..]),
        (2, 6, "-3", &["row 3", "'in_flight'"]),
        (5, 0, "0", &["row 6", "'t_s'"]),
        (1, 8, "1e999", &["row 2", "_utilization'"]),
    ] {
        let d = fixture(RUN);
        edit_text(&d, csv, |t| cell(t, row, col, with));
        refused(&d, csv, words);
    }
    let d = fixture(RUN);
    edit_text(&d, csv, |t| t.replacen("_utilization", "_utilisation", 1));
    refused(&d, csv, &["utilization columns"]);
    let d = fixture(RUN);
    edit_text(&d, csv, |t| t.replacen("in_flight", "inflight", 1));
    refused(&d, csv, &["'in_flight'"]);
}

#[test]
fn corrupted_sweeps_are_refused_naming_the_file_and_field() {
    let d = fixture(SWEEP);
    edit_text(&d, "sweep.json", |t| t[..t.len() * 2 / 3].to_string());
    refused(&d, "sweep.json", &["not valid JSON"]);
    type Edit = fn(&mut Value);
    let cases: [(Edit, &[&str]); 11] = [
        (
            |v| v["runs"][0]["point"] = 1_000_000_000_000_000u64.into(),
            &["runs[0].point", "1000000000000000"],
        ),
        (
            |v| v["runs"][1]["index"] = 1_000_000_000_000_000u64.into(),
            &["runs[1].index", "out of range"],
        ),
        (|v| v["runs"][2]["index"] = (-2).into(), &["runs[2].index"]),
        (
            |v| v["runs"][3]["variant"] = "nobody".into(),
            &["runs[3].variant", "nobody"],
        ),
        (
            |v| v["slo"][0]["results"][0]["point"] = 99_999.into(),
            &["slo[0].results[0].point", "out of range"],
        ),
        (
            |v| v["shard"] = serde_json::json!({"index": 3, "count": 2}),
            &["'shard'", "3/2"],
        ),
        (
            |v| v["replications"] = 4_294_967_295u64.into(),
            &["runs[1]"],
        ),
        (|v| v["replications"] = 0.into(), &["'replications'"]),
        (
            |v| v["runs"][4]["summary"]["requests"]["sent"] = (-7).into(),
            &["runs[4].summary.requests.sent"],
        ),
        (
            |v| {
                v["points"][1]["values"] = serde_json::json!({});
            },
            &["points[1].values", "no value"],
        ),
        (
            |v| {
                let runs = v["runs"].as_array_mut().unwrap();
                runs.pop();
            },
            &["'runs'", "runs, but the sweep has"],
        ),
    ];
    for (f, words) in cases {
        let d = fixture(SWEEP);
        edit(&d, "sweep.json", f);
        refused(&d, "sweep.json", words);
    }
}

/// ../shared/reliability-cases/D11-report-oom-wide-grid.toml swept a price grid of 0.1 and
/// 1e300, and the report aborted allocating 4 GB for the log axis's ticks. Such a price is now
/// refused when the scenario is checked; the widest valid grid (18 orders of magnitude) must
/// still give a report with a small, finite axis.
#[test]
fn d11_a_sweep_over_a_huge_float_range_reports() {
    let d = tempdir();
    let sc = d.join("d11.toml");
    std::fs::write(
        &sc,
        r#"[scenario]
name = "minimal"
duration = "10m"

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
rate_per_min = 10

[[workload.class]]
name = "chat"
prompt_tokens = 1000
completion_tokens = 300

[sweep.grid]
"models.\"gpt-4o-mini\".price_input_per_1m" = [1e-9, 10000]
"#,
    )
    .unwrap();
    let out = d.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(["sweep", sc.to_str().unwrap(), "--out"])
        .arg(&out)
        .args(["--report", "-q"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let text = super::text_of(&html);
    assert!(text.contains("price_input_per_1m=10,000"), "{text}");
    for bad in ["inf", "NaN", "9,223,372,036,854,775,807"] {
        assert!(!text.contains(bad), "'{bad}' in the report");
    }
}

/// A small deterministic generator (SplitMix64): the same mutations on every machine.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// JSON pointers of every node of `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// One random structure-aware mutation of `doc`.
fn mutate(doc: &mut Value, rng: &mut Mix) {
    let mut ptrs = Vec::new();
    pointers(doc, String::new(), &mut ptrs);
    let p = ptrs[rng.below(ptrs.len())].clone();
    let values = [
        serde_json::json!(0),
        serde_json::json!(-1),
        serde_json::json!(1e308),
        serde_json::json!(-1e308),
        serde_json::json!(5e-324),
        serde_json::json!(0.5),
        serde_json::json!(u64::MAX),
        serde_json::json!(1_000_000_000_000_000u64),
        serde_json::json!(i64::MIN),
        serde_json::json!("NaN"),
        serde_json::json!("inf"),
        serde_json::json!(""),
        Value::Null,
        serde_json::json!(true),
        serde_json::json!([]),
        serde_json::json!({}),
    ];
    let Some(node) = doc.pointer_mut(&p) else {
        return;
    };
    match rng.below(4) {
        0 => *node = values[rng.below(values.len())].clone(),
        1 => {
            // A float field scaled to an extreme (the nodes picked are mostly leaves).
            if let Value::Number(n) = node
                && let Some(x) = n.as_f64()
                && n.is_f64()
            {
                *node = serde_json::json!(x * [1e300, 1e-300, 0.0, 1e15][rng.below(4)]);
            } else {
                *node = values[rng.below(values.len())].clone();
            }
        }
        2 => match node {
            Value::Array(a) if !a.is_empty() => {
                // Drop, duplicate or swap entries.
                let i = rng.below(a.len());
                match rng.below(3) {
                    0 => {
                        a.remove(i);
                    }
                    1 => {
                        let x = a[i].clone();
                        a.insert(i, x);
                    }
                    _ => {
                        let j = rng.below(a.len());
                        a.swap(i, j);
                    }
                }
            }
            Value::Object(m) if !m.is_empty() => {
                let k = m.keys().nth(rng.below(m.len())).unwrap().clone();
                m.remove(&k);
            }
            Value::Number(n) if n.is_f64() => {
                // Extreme but finite: costs, rates and means may take it.
                let x = n.as_f64().unwrap_or(0.0);
                let scale = [1e300, 1e-300, 0.0, 1e15][rng.below(4)];
                *node = serde_json::json!(x * scale);
            }
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(0.0);
                *node = serde_json::json!(x * 1e6 + 1.0);
            }
            _ => *node = Value::Null,
        },
        _ => {
            if let Value::String(s) = node {
                s.push('\n');
            } else {
                *node = serde_json::json!("x");
            }
        }
    }
}

/// 400 mutations of the shipped summary and sweep (several edits each, some also cut short)
/// through the report: refused (with one line naming the file) or rendered, never a panic.
#[test]
fn mutated_shipped_outputs_never_panic_the_report() {
    let mut rng = Mix(0x5350_494c_4c57_4159);
    let run = {
        // The summary alone: the mutations are in the JSON.
        let d = tempdir();
        std::fs::copy(
            root().join(RUN).join("summary.json"),
            d.join("summary.json"),
        )
        .unwrap();
        d
    };
    let sweep = fixture(SWEEP);
    let originals = [
        (
            run.join("summary.json"),
            read_json(&run.join("summary.json")),
        ),
        (
            sweep.join("sweep.json"),
            read_json(&sweep.join("sweep.json")),
        ),
    ];
    let (mut refused, mut rendered) = (0, 0);
    for case in 0..400 {
        let (path, original) = &originals[case % 2];
        let mut doc = original.clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut doc, &mut rng);
        }
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        if rng.below(10) == 0 {
            text.truncate(rng.below(text.len()));
        }
        std::fs::write(path, &text).unwrap();
        let dir = path.parent().unwrap();
        let res = std::panic::catch_unwind(|| render_dir(dir));
        match res {
            Err(_) => panic!("case {case}: the report panicked on {}", path.display()),
            Ok(Ok(html)) => {
                rendered += 1;
                assert!(html.ends_with("</html>\n"), "case {case}");
            }
            Ok(Err(e)) => {
                refused += 1;
                let m = e.to_string();
                assert_eq!(m.lines().count(), 1, "case {case}: {m}");
                assert!(
                    m.contains(path.file_name().unwrap().to_str().unwrap()),
                    "{m}"
                );
            }
        }
    }
    // Both outcomes happen: the loop exercises the checks and the drawing.
    assert!(
        refused > 100 && rendered >= 10,
        "{refused} refused, {rendered} rendered"
    );
}
