//! The terminal table of `spillway run`: the default fits 100 columns for every shipped
//! scenario, `--columns` and `--wide` choose columns, and colour appears only on a terminal
//! (forced here with `CLICOLOR_FORCE`), never when piped or with `NO_COLOR`.

use std::process::{Command, Output};

use crate::cli::{spillway, stderr, stdout};
use crate::{root, scenario_path};

/// Runs the binary with the colour variables cleared, then `env` set.
fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_spillway"));
    c.args(args);
    for k in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TERM"] {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the binary runs")
}

/// Every line's width in characters (not bytes: the table holds no escape code here).
fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// Removes ANSI escape sequences (`ESC [ ... m`).
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            for d in it.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn default_table_fits_100_columns_for_every_shipped_scenario() {
    let mut files: Vec<_> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    for f in &files {
        let o = spillway(&["run", f.to_str().unwrap(), "-q"]);
        assert!(o.status.success(), "{}: {}", f.display(), stderr(&o));
        let out = stdout(&o);
        assert!(!out.contains('\u{1b}'), "escape codes when piped: {out}");
        assert!(
            widest(&out) <= 100,
            "{}: {} columns:\n{out}",
            f.display(),
            widest(&out)
        );
        // The columns that answer the question.
        let header = out.lines().nth(1).unwrap();
        for h in [
            "variant",
            "sessions ok",
            "p95 s",
            "failed %",
            "trunc %",
            "$/1K sess",
        ] {
            assert!(header.contains(h), "{}: no '{h}' in {header}", f.display());
        }
    }
    // The widest shipped table was 207-212 columns; --wide still has every column.
    let o = spillway(&[
        "run",
        &scenario_path("foundry-parallel-load.toml"),
        "-q",
        "--wide",
    ]);
    let out = stdout(&o);
    assert!(widest(&out) > 150, "{out}");
    for h in [
        "p50 s",
        "429 (req)",
        "408/timeout (req)",
        "retries",
        "spilled",
        "e2e p95 s",
        "ttft p50 s",
        "out tokens/req",
        "generated/req",
        "think s",
        "waiting s",
        "queued s",
        "prefill s",
        "gen s",
        "cost $",
        "p95 vs ref",
        "load",
        "SLOs",
    ] {
        assert!(
            out.lines().nth(1).unwrap().contains(h),
            "--wide lacks {h}: {out}"
        );
    }
}

#[test]
fn columns_pick_the_table_and_help_lists_them() {
    let f = scenario_path("foundry-parallel-load.toml");
    let o = spillway(&[
        "run",
        &f,
        "-q",
        "--variant",
        "4-users",
        "--variant",
        "4-users-3-subscriptions",
        "--columns",
        "variant,p95-vs-ref,cost-1k,429",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    let header: Vec<&str> = lines[1]
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(
        header,
        ["variant", "p95 vs ref", "$/1K sess", "429 (req)"],
        "{out}"
    );
    assert!(
        lines[3].starts_with("4-users ") && lines[3].contains("ref"),
        "{out}"
    );
    assert!(
        lines[4].starts_with("4-users-3-subscriptions *") && lines[4].contains("-70%"),
        "{out}"
    );
    // The session-time breakdown: summary.json's means, in seconds.
    let o = spillway(&[
        "run",
        &f,
        "-q",
        "--variant",
        "4-users",
        "--columns",
        "variant,think,waiting,queued,prefill,generating",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let s = super::summary("results/foundry-parallel-load");
    let v = s["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "4-users")
        .unwrap();
    let b = &v["sessions"]["time_breakdown_ms"];
    let want: Vec<String> = ["think", "waiting", "queued", "prefill", "generating"]
        .iter()
        .map(|k| format!("{:.1}", b[*k].as_f64().unwrap() / 1e3))
        .collect();
    let row: Vec<&str> = out.lines().nth(3).unwrap().split_whitespace().collect();
    assert_eq!(row[1..], want[..], "{out}");
    assert!(
        want[1] != "0.0",
        "waiting for quota dominates at 4 users: {out}"
    );
    assert!(
        out.contains("where a completed session's time went"),
        "{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
    let o = spillway(&["run", &f, "--columns", "variant,speed"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("speed") && stderr(&o).contains("cost-1k"),
        "{}",
        stderr(&o)
    );
    let o = spillway(&["run", &f, "--columns", "variant", "--wide"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = spillway(&["run", "--help"]);
    let help = stdout(&o);
    for name in [
        "--columns",
        "--wide",
        "--baseline",
        "truncated",
        "cost-1k",
        "p95-vs-ref",
        "sessions",
        "slo",
    ] {
        assert!(help.contains(name), "run --help lacks {name}: {help}");
    }
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let args = ["run", &scenario_path("timeouts-to-triumph.toml"), "-q"];
    let args: Vec<&str> = args.iter().map(|s| &**s).collect();
    let piped = run_env(&args, &[]);
    let plain = stdout(&piped);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    // CLICOLOR_FORCE stands in for a terminal: colours, and nothing else changes.
    let forced = stdout(&run_env(&args, &[("CLICOLOR_FORCE", "1")]));
    assert!(
        forced.contains("\u{1b}["),
        "no colour when forced: {forced}"
    );
    assert_eq!(strip(&forced), plain);
    // SLOs met in green (32), missed in bold red (1;31); truncation over 1% bold yellow (33).
    let row = |name: &str| {
        forced
            .lines()
            .find(|l| strip(l).starts_with(name))
            .unwrap()
            .to_string()
    };
    assert!(
        row("baseline ").contains("\u{1b}[1m\u{1b}[31m1/2"),
        "{}",
        row("baseline ")
    );
    assert!(
        row("token-cap *").contains("\u{1b}[32m2/2"),
        "{}",
        row("token-cap *")
    );
    assert!(
        row("token-cap *").contains("\u{1b}[1m\u{1b}[33m3.95!"),
        "{}",
        row("token-cap *")
    );
    // NO_COLOR wins over everything.
    let none = stdout(&run_env(
        &args,
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    ));
    assert!(!none.contains('\u{1b}'), "{none}");
    assert_eq!(none, plain);
}
