//! The HTML report and the Markdown summaries (`spillway::report`): structure, numbers,
//! determinism, bad input, and a real browser. Corrupted saved outputs: [`saved`].

mod answer;
mod saved;
mod table;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use spillway::report::{self, render_dir, sweep_markdown, write_report};
use spillway::words::run_markdown;

use crate::cli::tempdir;
use crate::root;

const RUNS: [&str; 2] = [
    "results/foundry-parallel-load",
    "results/timeouts-to-triumph",
];
const SWEEPS: [&str; 2] = [
    "results/foundry-parallel-load/sweep",
    "results/timeouts-to-triumph/sweep",
];

fn summary(dir: &str) -> Value {
    let text = std::fs::read_to_string(root().join(dir).join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn variants(s: &Value) -> Vec<&Value> {
    s["variants"].as_array().unwrap().iter().collect()
}

/// HTML text content with tags removed and the few entities we emit decoded.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn run_report_has_every_chart_and_names_every_variant() {
    for dir in RUNS {
        let html = render_dir(&root().join(dir)).unwrap();
        let s = summary(dir);
        let vs = variants(&s);
        assert!(html.starts_with("<!DOCTYPE html>"), "{dir}");
        assert!(html.trim_end().ends_with("</html>"), "{dir}");
        for id in [
            "latency-cdf",
            "session-durations",
            "failures",
            "cost-vs-p95",
            "time-breakdown",
        ] {
            assert!(
                html.contains(&format!("<figure id=\"{id}\">")),
                "{dir}: chart {id} missing"
            );
        }
        for i in 0..vs.len() {
            assert!(
                html.contains(&format!("<figure id=\"timeseries-{i}\">")),
                "{dir}: time series of variant {i} missing"
            );
        }
        // 5 comparison charts + one time-series figure per variant, all inline SVG.
        assert_eq!(
            html.matches("<svg class=\"chart\"").count(),
            5 + vs.len(),
            "{dir}"
        );
        assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
        for v in &vs {
            let name = v["name"].as_str().unwrap();
            // In the words (key, findings, tables)...
            assert!(
                html.contains(&format!("<code>{}</code>", esc(name))),
                "{name}"
            );
            // ... and drawn inside the charts (legend or axis labels).
            let in_svg = html
                .split("<svg")
                .skip(1)
                .filter(|svg| svg.contains(&format!(">\n{}\n</text>", esc(name))))
                .count();
            assert!(in_svg >= 3, "{dir}: '{name}' drawn in only {in_svg} charts");
        }
        // Axis labels with units, titles that say what is shown.
        for label in [
            "request latency, seconds (log scale)",
            "session duration, seconds",
            "% of requests sent",
            "USD per 1,000 completed sessions",
            "time since start, minutes",
            "End-to-end latency of successful requests, per variant",
            "Failed requests by cause, per variant",
        ] {
            assert!(html.contains(label), "{dir}: no '{label}'");
        }
    }
}

#[test]
fn report_is_self_contained_printable_and_script_free() {
    for dir in RUNS.iter().chain(&SWEEPS) {
        let html = render_dir(&root().join(dir)).unwrap();
        let lower = html.to_lowercase();
        for banned in [
            "<script",
            "<link",
            "<iframe",
            "<img",
            "@import",
            "url(",
            "javascript:",
            "onload=",
            "https://",
        ] {
            assert!(!lower.contains(banned), "{dir}: contains '{banned}'");
        }
        // The only URL is the SVG namespace, which is a name, not a fetch.
        let urls = lower.matches("http://").count();
        let ns = lower
            .matches("xmlns=\"http://www.w3.org/2000/svg\"")
            .count();
        assert_eq!(urls, ns, "{dir}: a URL other than the SVG namespace");
        assert!(html.contains("Content-Security-Policy"), "{dir}");
        assert!(html.contains("default-src 'none'"), "{dir}");
        assert!(html.contains("@media print"), "{dir}");
        assert!(html.contains("<meta charset=\"utf-8\">"), "{dir}");
    }
}

fn secs(ms: f64) -> String {
    let s = ms / 1e3;
    if s >= 9.95 {
        format!("{s:.0} s")
    } else if s >= 0.995 {
        format!("{s:.1} s")
    } else {
        format!("{s:.2} s")
    }
}

fn change(new: f64, base: f64) -> String {
    let r = ((new / base - 1.0) * 100.0).round();
    if r == 0.0 {
        "±0%".into()
    } else {
        format!("{r:+.0}%")
    }
}

fn usd(x: f64) -> String {
    format!("${x:.2}")
}

/// Each variant's reference: the baseline when it ran at the same load (the summary's
/// `load` block), else the first variant that did.
fn references(s: &Value) -> Vec<usize> {
    let vs = variants(s);
    let base = s["baseline"].as_str().unwrap();
    (0..vs.len())
        .map(|i| {
            let same: Vec<usize> = (0..vs.len())
                .filter(|&j| vs[j]["load"] == vs[i]["load"])
                .collect();
            same.iter()
                .copied()
                .find(|&j| vs[j]["name"] == base)
                .unwrap_or(same[0])
        })
        .collect()
}

#[test]
fn sentences_quote_the_numbers_of_summary_json() {
    for dir in RUNS {
        let html = render_dir(&root().join(dir)).unwrap();
        let text = text_of(&html);
        let s = summary(dir);
        let vs = variants(&s);
        let refs = references(&s);
        let f = |v: &Value, p: &[&str]| p.iter().fold(v, |v, k| &v[*k]).as_f64().unwrap();
        let trunc = |v: &Value| f(v, &["requests", "truncated"]) / f(v, &["requests", "succeeded"]);
        for (i, v) in vs.iter().enumerate() {
            if refs[i] == i {
                continue;
            }
            let b = vs[refs[i]];
            let name = v["name"].as_str().unwrap();
            let (p95, bp95) = (
                f(v, &["sessions", "duration_ms", "p95"]),
                f(b, &["sessions", "duration_ms", "p95"]),
            );
            let (fr, bfr) = (
                f(v, &["requests", "failed_ratio"]),
                f(b, &["requests", "failed_ratio"]),
            );
            let truncated =
                if f(v, &["requests", "truncated"]) + f(b, &["requests", "truncated"]) > 0.0 {
                    format!(
                        ", answers truncated {:.1}% vs {:.1}%",
                        trunc(v) * 100.0,
                        trunc(b) * 100.0
                    )
                } else {
                    String::new()
                };
            let (c1k, bc1k) = (
                f(v, &["cost_usd", "per_1k_sessions"]),
                f(b, &["cost_usd", "per_1k_sessions"]),
            );
            let (tot, btot) = (f(v, &["cost_usd", "total"]), f(b, &["cost_usd", "total"]));
            let expected = format!(
                "{name}: p95 session {} vs {} ({}), failures {:.1}% vs {:.1}%{truncated}, cost per 1K sessions {} vs {} ({}), total cost {} vs {} ({}).",
                secs(p95),
                secs(bp95),
                change(p95, bp95),
                fr * 100.0,
                bfr * 100.0,
                usd(c1k),
                usd(bc1k),
                change(c1k, bc1k),
                usd(tot),
                usd(btot),
                change(tot, btot)
            );
            assert!(
                text.contains(&expected),
                "{dir}: expected sentence not found:\n{expected}"
            );
        }
    }
    // Checked by hand against results/foundry-parallel-load/summary.md: 3 subscriptions are
    // compared with 4 users on one subscription (the same load), not with one user: p95
    // 100.7 s vs 335.5 s, no failures against 0.34%, $45.98 vs $47.14 per 1K sessions, $7.77
    // vs $2.73 in total.
    let text = text_of(&render_dir(&root().join(RUNS[0])).unwrap());
    assert!(
        text.contains(
            "4-users-3-subscriptions: p95 session 101 s vs 336 s (-70%), failures 0.0% vs 0.3%, \
             cost per 1K sessions $45.98 vs $47.14 (-2%), total cost $7.77 vs $2.73 (+184%)."
        ),
        "{text}"
    );
    assert!(
        !text.contains("vs 73 s (+38%)"),
        "compared across loads: {text}"
    );
    assert!(text.contains("Each variant against 4-users, at 4 users"));
    assert!(text.contains("At 4 users: Shortest p95 session: 4-users-quota-increase (94 s)."));
}

#[test]
fn markdown_says_what_the_html_says() {
    for dir in RUNS {
        let s = summary(dir);
        let typed = report::load::read_summary(&root().join(dir).join("summary.json")).unwrap();
        let md = run_markdown(&typed);
        let html = render_dir(&root().join(dir)).unwrap();
        let text = text_of(&html);
        assert!(md.starts_with("# Spillway report: "), "{md}");
        let bullets: Vec<&str> = md.lines().filter(|l| l.starts_with("- ")).collect();
        // The verdict (one per load), three claims per load with two variants or more,
        // one comparison per variant that is not its load's reference.
        let refs = references(&s);
        let mut loads: Vec<&Value> = Vec::new();
        for v in variants(&s) {
            if !loads.contains(&&v["load"]) {
                loads.push(&v["load"]);
            }
        }
        let shared = loads
            .iter()
            .filter(|l| variants(&s).iter().filter(|v| &&v["load"] == *l).count() > 1)
            .count();
        let compared = refs.iter().enumerate().filter(|(i, r)| i != *r).count();
        // And one line per variant on where its session time went.
        let broken_down = variants(&s)
            .iter()
            .filter(|v| v["sessions"]["time_breakdown_ms"].is_object())
            .count();
        assert_eq!(
            bullets.len(),
            loads.len() + 3 * shared + compared + broken_down,
            "{md}"
        );
        for b in bullets {
            let plain = b[2..].replace('`', "");
            assert!(
                text.contains(&plain),
                "{dir}: Markdown line not in HTML: {plain}"
            );
        }
        for v in variants(&s) {
            let name = v["name"].as_str().unwrap();
            assert!(md.contains(&format!("| {name} |")), "{name} not in a table");
        }
        // Tables are well formed: every row of a table has as many cells as its header.
        for block in md.split("\n\n").filter(|b| b.starts_with('|')) {
            let cols: Vec<usize> = block
                .lines()
                .filter(|l| !l.starts_with("|-"))
                .map(|l| l.matches(" | ").count() + 1)
                .collect();
            assert!(cols.iter().all(|c| *c == cols[0]), "{block}");
        }
    }
    // Not a summary: an error naming the file and the field, not a panic.
    let d = tempdir();
    std::fs::write(d.join("summary.json"), "{\"x\": 1}").unwrap();
    let e = report::load::read_summary(&d.join("summary.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("summary.json") && e.contains("'schema'"), "{e}");
}

/// Copies the files of `from` (not subdirectories) into a fresh directory.
pub(crate) fn copy_dir(from: &Path) -> PathBuf {
    let to = tempdir().join("copy-with-another-name");
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    to
}

#[test]
fn same_input_gives_the_same_bytes() {
    for dir in RUNS.iter().chain(&SWEEPS) {
        let a = render_dir(&root().join(dir)).unwrap();
        let b = render_dir(&root().join(dir)).unwrap();
        assert!(a == b, "{dir}: two renders differ");
        // Nothing of where the files are (or when) leaks into the report.
        let c = render_dir(&copy_dir(&root().join(dir))).unwrap();
        assert!(a == c, "{dir}: the report depends on the directory's path");
        assert!(!a.contains(&root().display().to_string()));
    }
}

#[test]
fn shipped_sweeps_show_metrics_pareto_and_slos() {
    for dir in SWEEPS {
        let path = root().join(dir).join("sweep.json");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let html = render_dir(&root().join(dir)).unwrap();
        assert!(html.contains("<figure id=\"pareto\">"), "{dir}");
        for k in 0..3 {
            assert!(
                html.contains(&format!("<figure id=\"metric-{k}-0\">")),
                "{dir}"
            );
        }
        let slos = doc["slo"].as_array().unwrap();
        assert!(!slos.is_empty());
        for (k, o) in slos.iter().enumerate() {
            assert!(
                html.contains(&format!("<figure id=\"slo-{k}-0\">")),
                "{dir}"
            );
            let name = o["name"].as_str().unwrap();
            assert!(html.contains(&esc(name)), "{dir}: SLO '{name}' not named");
            let results = o["results"].as_array().unwrap();
            let pass = results.iter().filter(|r| r["pass"] == true).count();
            assert!(
                text_of(&html).contains(&format!("met in {pass} of {} results", results.len())),
                "{dir}: SLO '{name}' count"
            );
            // Each pass and each miss is a coloured cell of the SLO table.
            let misses = results.len() - pass;
            assert!(html.matches("<td class=\"n fail\">").count() >= misses);
        }
        for p in doc["parameters"].as_array().unwrap() {
            assert!(html.contains(p.as_str().unwrap()), "{dir}: parameter {p}");
        }
        for v in doc["variants"].as_array().unwrap() {
            assert!(html.contains(&format!("<code>{}</code>", v.as_str().unwrap())));
        }
        let md = sweep_markdown(serde_json::from_value(doc.clone()).unwrap()).unwrap();
        assert!(
            md.contains("## SLOs") && md.contains("## Every point"),
            "{md}"
        );
    }
}

/// A variant summary as `spillway sweep` stores it (from a shipped sweep), with the figures
/// the sweep report charts replaced.
fn run_summary(variant: &str, p95_ms: f64, failed: f64, per1k: f64) -> Value {
    let path = root().join(SWEEPS[0]).join("sweep.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut s = doc["runs"][0]["summary"].clone();
    let n_failed = (failed * 1000.0) as u64;
    s["name"] = variant.into();
    s.as_object_mut().unwrap().remove("description");
    let r = &mut s["requests"];
    r["sent"] = 1000.into();
    r["succeeded"] = (1000 - n_failed).into();
    r["failed"] = n_failed.into();
    r["rate_limited"] = n_failed.into();
    r["timed_out"] = 0.into();
    r["other_failed"] = 0.into();
    r["incomplete"] = 0.into();
    r["failed_ratio"] = (n_failed as f64 / 1000.0).into();
    let ss = &mut s["sessions"];
    ss["started"] = 100.into();
    ss["completed"] = 90.into();
    ss["failed"] = 10.into();
    ss["incomplete"] = 0.into();
    for k in ["mean", "p50", "p90", "p95", "p99", "max"] {
        ss["duration_ms"][k] = p95_ms.into();
    }
    s["cost_usd"]["total"] = (per1k * 0.09).into();
    s["cost_usd"]["per_1k_sessions"] = per1k.into();
    s
}

/// A small hand-made sweep: two variants, a numeric and a string parameter, three
/// replications with different results (so confidence bands), one SLO for one variant.
fn fixture() -> Value {
    let mut runs = Vec::new();
    let mut points = Vec::new();
    let mut point = 0;
    for (mode, speed) in [("sync", 1.0), ("stream", 0.7)] {
        for users in [1u64, 4, 16] {
            points.push(serde_json::json!({"point": point, "values": {"workload.users": users, "client.mode": mode}}));
            for (vi, v) in ["one-sub", "three-subs"].iter().enumerate() {
                for rep in 0..3u64 {
                    let load = users as f64 / (1.0 + 2.0 * vi as f64);
                    let summary = run_summary(
                        v,
                        60_000.0 * (1.0 + load) * (1.0 + 0.15 * rep as f64) * speed,
                        (load / 100.0).min(0.5),
                        40.0 + load + rep as f64,
                    );
                    runs.push(serde_json::json!({
                        "index": runs.len(), "point": point, "variant": v, "replication": rep,
                        "seed": 1, "summary": summary
                    }));
                }
            }
            point += 1;
        }
    }
    let results: Vec<Value> = (0..6)
        .map(|p| {
            let users = [1.0, 4.0, 16.0][p % 3];
            serde_json::json!({"point": p, "variant": "one-sub", "value": 60_000.0 * (1.0 + users) + 2_000.0, "pass": users < 5.0})
        })
        .collect();
    serde_json::json!({
        "schema": "spillway.sweep/v1", "scenario": "hand-made <fixture>", "seed": 9,
        "parameters": ["workload.users", "client.mode"], "replications": 3,
        "variants": ["one-sub", "three-subs"],
        "points": points, "runs": runs,
        "slo": [{"name": "p95 within 5 min", "metric": "sessions.duration_ms.p95", "max": 300000.0, "variants": ["one-sub"], "results": results}]
    })
}

/// Confidence bands: translucent filled polygons.
fn bands(html: &str) -> usize {
    html.split("<polygon")
        .skip(1)
        .filter(|p| p.split("/>").next().unwrap().contains("opacity=\"0.4\""))
        .count()
}

fn write_sweep(doc: &Value) -> PathBuf {
    let d = tempdir();
    std::fs::write(
        d.join("sweep.json"),
        serde_json::to_string_pretty(doc).unwrap(),
    )
    .unwrap();
    d
}

#[test]
fn sweep_fixture_with_replications_slo_and_no_slo() {
    let doc = fixture();
    let html = render_dir(&write_sweep(&doc)).unwrap();
    // Escaped scenario name, both variants, both parameters.
    assert!(html.contains("hand-made &lt;fixture&gt;"));
    assert!(!html.contains("<fixture>"));
    for s in ["one-sub", "three-subs", "workload.users", "client.mode"] {
        assert!(html.contains(s), "{s}");
    }
    // Replications: confidence bands (filled polygons) and ± in the table.
    assert!(html.contains("95% confidence interval"));
    assert!(bands(&html) > 0, "no confidence band drawn");
    assert!(html.contains(" ± "));
    // x = users (numeric), the string parameter shades the lines: 2 variants x 2 modes.
    assert!(html.contains("one-sub, mode=sync") && html.contains("three-subs, mode=stream"));
    // The SLO: table with passes and misses, its chart, and a finding.
    assert!(html.contains("<figure id=\"slo-0-0\">"));
    assert_eq!(html.matches("<td class=\"n fail\">").count(), 2);
    assert_eq!(html.matches("<td class=\"n pass\">").count(), 4);
    let text = text_of(&html);
    assert!(text.contains("met in 4 of 6 results"), "{text}");
    // The fixture's runs carry no `load` (as sweep.json before it existed): one level. Sync
    // and stream cost the same; the faster (stream) is named.
    assert!(
        text.contains("Cheapest combination meeting every SLO: one-sub at users=1, mode=stream"),
        "{text}"
    );
    assert!(text.contains("Pareto frontier (1 of 12 combinations)"));
    // Without SLOs: no SLO section, the rest still there.
    let mut no_slo = doc.clone();
    no_slo["slo"] = serde_json::json!([]);
    let html = render_dir(&write_sweep(&no_slo)).unwrap();
    assert!(!html.contains("<section id=\"slo\">"));
    assert!(html.contains("<figure id=\"pareto\">") && html.contains("<figure id=\"metric-0-0\">"));
    // One replication: still a report, without bands.
    let mut bare = no_slo.clone();
    let m = bare.as_object_mut().unwrap();
    m["replications"] = 1.into();
    m["runs"] = Value::Array(
        m["runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["replication"] == 0)
            .enumerate()
            .map(|(i, r)| {
                let mut r = r.clone();
                r["index"] = i.into();
                r
            })
            .collect(),
    );
    let html = render_dir(&write_sweep(&bare)).unwrap();
    assert!(!html.contains(" ± ") && bands(&html) == 0);
    assert!(html.contains("workload.users"));
}

#[test]
fn bad_directories_are_errors_that_say_what_is_wrong() {
    let empty = tempdir();
    let e = render_dir(&empty).unwrap_err().to_string();
    assert!(
        e.contains("summary.json") && e.contains("sweep.json"),
        "{e}"
    );
    let e = render_dir(&empty.join("missing")).unwrap_err().to_string();
    assert!(e.contains("not a directory"), "{e}");
    std::fs::write(empty.join("summary.json"), "{ not json").unwrap();
    let e = render_dir(&empty).unwrap_err().to_string();
    assert!(
        e.contains("summary.json") && e.contains("not valid JSON"),
        "{e}"
    );
    std::fs::write(empty.join("summary.json"), "{\"schema\": 1}").unwrap();
    let e = render_dir(&empty).unwrap_err().to_string();
    assert!(e.contains("summary.json") && e.contains("'schema'"), "{e}");
    std::fs::write(
        empty.join("summary.json"),
        "{\"schema\": \"spillway.summary/v1\", \"scenario\": \"s\", \"seed\": 1}",
    )
    .unwrap();
    let e = render_dir(&empty).unwrap_err().to_string();
    assert!(e.contains("missing field `variants`"), "{e}");
    // A broken time series names the file and the row.
    let d = copy_dir(&root().join(RUNS[1]));
    let csv = std::fs::read_to_string(d.join("timeseries-baseline.csv")).unwrap();
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    let mut cells: Vec<&str> = lines[2].split(',').collect();
    cells[1] = "lots";
    lines[2] = cells.join(",");
    std::fs::write(d.join("timeseries-baseline.csv"), lines.join("\n") + "\n").unwrap();
    let e = render_dir(&d).unwrap_err().to_string();
    assert!(
        e.contains("timeseries-baseline.csv") && e.contains("row 3") && e.contains("lots"),
        "{e}"
    );
    let d = tempdir();
    std::fs::write(d.join("sweep.json"), "{\"schema\": \"spillway.sweep/v1\"}").unwrap();
    let e = render_dir(&d).unwrap_err().to_string();
    assert!(
        e.contains("sweep.json") && e.contains("missing field"),
        "{e}"
    );
}

#[test]
fn run_without_time_series_still_renders() {
    let d = tempdir();
    std::fs::copy(
        root().join(RUNS[1]).join("summary.json"),
        d.join("summary.json"),
    )
    .unwrap();
    let html = render_dir(&d).unwrap();
    assert!(!html.contains("timeseries-0"));
    assert!(html.contains("<figure id=\"latency-cdf\">"));
}

#[test]
fn write_report_defaults_to_report_html_in_the_directory() {
    let d = copy_dir(&root().join(RUNS[1]));
    let p = write_report(&d, None).unwrap();
    assert_eq!(p, d.join(report::REPORT_FILE));
    let other = tempdir().join("r.html");
    assert_eq!(write_report(&d, Some(&other)).unwrap(), other);
    assert_eq!(std::fs::read(&p).unwrap(), std::fs::read(&other).unwrap());
    // No temporary file left behind.
    let names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

/// The Chromium binary: `$SPILLWAY_CHROMIUM` or Debian's `/usr/bin/chromium`.
fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("SPILLWAY_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    p.is_file().then_some(p)
}

/// Runs headless Chromium on `page`, taking a 1280x2000 screenshot; returns its stderr
/// (console messages are logged there as `INFO:CONSOLE` lines).
fn run_chromium(bin: &Path, work: &Path, page: &Path, shot: &Path) -> String {
    run_chromium_at(bin, work, page, shot, "1280,2000")
}

/// [`run_chromium`] with a window of `size` ("W,H") pixels.
fn run_chromium_at(bin: &Path, work: &Path, page: &Path, shot: &Path, size: &str) -> String {
    let profile = work.join(format!(
        "profile-{}",
        page.file_stem().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--window-size={size}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(work.join("chromium.log")).unwrap(),
        ))
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = std::fs::read_to_string(work.join("chromium.log")).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}):\n{log}");
    log
}

/// Chromium, or `None` (the test is skipped) on a workstation without it; under `CI` a
/// missing Chromium fails the test.
fn chromium_or_skip() -> Option<PathBuf> {
    let bin = chromium();
    if bin.is_none() {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!(
                "chromium is missing (/usr/bin/chromium or $SPILLWAY_CHROMIUM); .ci/run installs it"
            );
        }
        eprintln!(
            "skipped: no chromium (apt-get install chromium, or set SPILLWAY_CHROMIUM); CI fails instead"
        );
    }
    bin
}

fn console_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

#[test]
fn report_renders_in_headless_chromium_without_console_errors() {
    let Some(bin) = chromium_or_skip() else {
        return;
    };
    let work = tempdir();
    // Control: a page that breaks the report's Content-Security-Policy (an inline script and
    // an external image) must show up as console messages, or the check below proves nothing.
    let html = render_dir(&root().join(RUNS[0])).unwrap();
    let bad = work.join("control.html");
    std::fs::write(
        &bad,
        html.replace(
            "<main>",
            "<main><img src=\"https://example.invalid/x.png\"><script>console.error('spillway-canary')</script>",
        ),
    )
    .unwrap();
    let log = run_chromium(&bin, &work, &bad, &work.join("control.png"));
    assert!(
        console_lines(&log).len() >= 2,
        "the control page's CSP violations were not captured:\n{log}"
    );

    let page = work.join("report.html");
    write_report(&root().join(RUNS[0]), Some(&page)).unwrap();
    let shot = work.join("report.png");
    let log = run_chromium(&bin, &work, &page, &shot);
    let errors = console_lines(&log);
    assert!(
        errors.is_empty(),
        "console messages:\n{}",
        errors.join("\n")
    );
    eprintln!("screenshot: {}", shot.display());

    // The screenshot is the page, not a blank: varied pixels, a fair share of ink, colour.
    let file = std::io::BufReader::new(std::fs::File::open(&shot).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1280, 2000));
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    let px = &buf[..info.buffer_size()];
    let n = (info.width * info.height) as f64;
    let (mut sum, mut sum2, mut ink, mut coloured) = (0.0, 0.0, 0usize, 0usize);
    for p in px.chunks_exact(channels) {
        let (r, g, b) = (p[0] as f64, p[1] as f64, p[2] as f64);
        let l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        sum += l;
        sum2 += l * l;
        if l < 200.0 {
            ink += 1;
        }
        if r.max(g).max(b) - r.min(g).min(b) > 60.0 {
            coloured += 1;
        }
    }
    let mean = sum / n;
    let var = sum2 / n - mean * mean;
    assert!(
        var > 300.0,
        "screenshot looks blank (luminance variance {var:.1})"
    );
    assert!(ink as f64 / n > 0.01, "too little ink: {ink} pixels");
    assert!(coloured > 2000, "no coloured chart pixels: {coloured}");
}
