//! `spillway sweep`, `check` and `merge` end to end: identity whatever the parallelism or the
//! sharding, seeds per run, SLO exit codes, bad input.

use std::path::Path;
use std::process::Output;

use crate::cli::{spillway, stderr, stdout, tempdir};
use crate::scenario_path;

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        stderr(o)
    );
    stdout(o)
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A small closed-loop scenario with a grid, replications and SLOs.
const SWEEP: &str = r#"
[scenario]
name = "sweepy"
seed = 11
duration = "5m"
drain = "10m"

[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "gpt-4o-mini"
tpm = 60_000

[[deployment]]
name = "d"
kind = "standard"
model = "gpt-4o-mini"
pool = "p"
tpm = 60_000

[client]
max_retries = 6

[workload]
arrival = "closed"
users = 2

[[workload.class]]
name = "c"
steps = 3
prompt_tokens = { dist = "normal", mean = 3000, sd = 500 }
completion_tokens = { dist = "lognormal", mean = 300, cv = 0.5 }

[[variant]]
name = "plain"

[[variant]]
name = "capped"
set = { "workload.class.c.max_tokens" = 400 }

[sweep]
replications = 3
[sweep.grid]
"workload.users" = [1, 4]
"deployment.d.copies" = "1..3 step 2"

[[slo]]
name = "median session under 30 s"
metric = "sessions.duration_ms.p50"
max = 30_000

[[slo]]
metric = "requests.failed / requests.sent"
max = 0.05
variants = ["capped"]
"#;

fn scenario(dir: &Path) -> String {
    let p = dir.join("sweepy.toml");
    std::fs::write(&p, SWEEP).unwrap();
    p.display().to_string()
}

#[test]
fn jobs_1_and_n_and_shards_give_the_same_bytes() {
    let dir = tempdir();
    let f = scenario(&dir);
    let out = |name: &str| dir.join(name);
    ok(&spillway(&[
        "sweep",
        &f,
        "--out",
        out("j1").to_str().unwrap(),
        "--jobs",
        "1",
        "-q",
    ]));
    ok(&spillway(&[
        "sweep",
        &f,
        "--out",
        out("j3").to_str().unwrap(),
        "--jobs",
        "3",
        "-q",
    ]));
    for f_ in ["sweep.csv", "sweep.json"] {
        assert_eq!(
            read(&out("j1").join(f_)),
            read(&out("j3").join(f_)),
            "{f_}: --jobs 1 vs 3"
        );
    }
    // Three shards, merged.
    let mut shard_dirs = Vec::new();
    for i in 0..3 {
        let d = out(&format!("shard{i}"));
        let s = format!("{i}/3");
        ok(&spillway(&[
            "sweep",
            &f,
            "--out",
            d.to_str().unwrap(),
            "--shard",
            &s,
            "-q",
        ]));
        assert!(
            !d.join("sweep.csv").exists(),
            "a shard writes only its sweep.json"
        );
        shard_dirs.push(d.display().to_string());
    }
    let merged = out("merged");
    let mut args = vec!["merge"];
    args.extend(shard_dirs.iter().rev().map(String::as_str)); // order of directories does not matter
    args.extend(["--out", merged.to_str().unwrap()]);
    ok(&spillway(&args));
    for f_ in ["sweep.csv", "sweep.json"] {
        assert_eq!(
            read(&out("j1").join(f_)),
            read(&merged.join(f_)),
            "{f_}: merged shards vs one run"
        );
    }
    // Merging an incomplete or duplicated set is refused.
    let o = spillway(&[
        "merge",
        &shard_dirs[0],
        &shard_dirs[1],
        "--out",
        out("bad").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing shards: 2/3"), "{}", stderr(&o));
    let o = spillway(&[
        "merge",
        &shard_dirs[0],
        &shard_dirs[0],
        &shard_dirs[1],
        "--out",
        out("bad").to_str().unwrap(),
    ]);
    assert!(stderr(&o).contains("given twice"), "{}", stderr(&o));
}

#[test]
fn grid_replications_and_seeds() {
    let dir = tempdir();
    let f = scenario(&dir);
    let d = dir.join("o");
    ok(&spillway(&[
        "sweep",
        &f,
        "--out",
        d.to_str().unwrap(),
        "-q",
    ]));
    let doc: serde_json::Value = serde_json::from_slice(&read(&d.join("sweep.json"))).unwrap();
    assert_eq!(doc["schema"], "spillway.sweep/v1");
    assert_eq!(
        doc["parameters"],
        serde_json::json!(["workload.users", "deployment.d.copies"])
    );
    // 2 users values x copies 1,3 = 4 points; x 2 variants x 3 replications = 24 runs.
    assert_eq!(doc["points"].as_array().unwrap().len(), 4);
    assert_eq!(
        doc["points"][1]["values"],
        serde_json::json!({"workload.users": 1, "deployment.d.copies": 3})
    );
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 24);
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r["index"], i);
        let rep = r["replication"].as_u64().unwrap();
        let seed = r["seed"].as_u64().unwrap();
        // Replication 0 runs with the scenario's seed; others with seeds derived from it,
        // the same for every point and variant (common random numbers).
        if rep == 0 {
            assert_eq!(seed, 11);
        } else {
            assert_ne!(seed, 11);
            assert_eq!(seed, runs[rep as usize]["seed"].as_u64().unwrap());
        }
    }
    // Replication 0 of a point is exactly `spillway run` with that point's settings.
    let run = ok(&spillway(&[
        "run",
        &f,
        "--format",
        "json",
        "-q",
        "--variant",
        "capped",
        "--set",
        "workload.users=4",
        "--set",
        "deployment.d.copies=3",
    ]));
    let run: serde_json::Value = serde_json::from_str(&run).unwrap();
    let point3_capped_rep0 = runs
        .iter()
        .find(|r| r["point"] == 3 && r["variant"] == "capped" && r["replication"] == 0)
        .unwrap();
    assert_eq!(
        point3_capped_rep0["summary"]["sessions"],
        run["variants"][0]["sessions"]
    );
    assert_eq!(
        point3_capped_rep0["summary"]["requests"],
        run["variants"][0]["requests"]
    );
    // The CSV: one row per point x variant, parameters as columns, CI half-widths filled.
    let csv = String::from_utf8(read(&d.join("sweep.csv"))).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &header[..5],
        [
            "point",
            "variant",
            "workload.users",
            "deployment.d.copies",
            "replications"
        ]
    );
    assert!(
        header.contains(&"session_p95_s")
            && header.contains(&"session_p95_s_ci95")
            && header.contains(&"cost_per_1k_sessions_usd")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 8);
    let ci = header
        .iter()
        .position(|h| *h == "session_p50_s_ci95")
        .unwrap();
    assert!(
        rows.iter().all(|r| r[4] == "3" && !r[ci].is_empty()),
        "three replications give a CI"
    );
    // More users on one subscription are slower than one user; three subscriptions help.
    let p50 = header.iter().position(|h| *h == "session_p50_s").unwrap();
    let v = |point: &str, variant: &str| -> f64 {
        rows.iter()
            .find(|r| r[0] == point && r[1] == variant)
            .unwrap()[p50]
            .parse()
            .unwrap()
    };
    assert!(
        v("2", "plain") > v("0", "plain"),
        "4 users slower than 1 on one subscription"
    );
    assert!(
        v("3", "plain") < v("2", "plain"),
        "3 subscriptions faster than 1 for 4 users"
    );
}

#[test]
fn check_exit_codes_and_formats() {
    let dir = tempdir();
    let f = scenario(&dir);
    // One user on one subscription meets both SLOs ...
    let o = spillway(&["check", &f, "--set", "workload.users=1"]);
    let out = ok(&o);
    assert!(
        out.contains("median session under 30 s")
            && out.contains("pass")
            && out.contains("all 3 SLO checks pass"),
        "{out}"
    );
    // ... six users do not: exit 1, and the table says which.
    let o = spillway(&["check", &f, "--set", "workload.users=6"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("FAIL") && out.contains("SLO checks FAIL"),
        "{out}"
    );
    let o = spillway(&[
        "check",
        &f,
        "--set",
        "workload.users=6",
        "--format",
        "markdown",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("## SLO checks")
            && out.contains("| slo | variant |")
            && out.contains("**FAIL**"),
        "{out}"
    );
    // sweep --check evaluates every point: some fail here, so exit 1.
    let o = spillway(&[
        "sweep",
        &f,
        "--out",
        dir.join("c").to_str().unwrap(),
        "--check",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("users=4 copies=1"));
    // The shipped foundry scenario: 3 subscriptions pass, 1 subscription fails.
    let p = scenario_path("foundry-parallel-load.toml");
    ok(&spillway(&[
        "check",
        &p,
        "--variant",
        "4-users-3-subscriptions",
    ]));
    assert_eq!(
        spillway(&["check", &p, "--variant", "4-users"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn bad_sweep_input_exits_2_naming_the_key() {
    let dir = tempdir();
    let f = scenario(&dir);
    let o_ = dir.join("o");
    let out = o_.to_str().unwrap();
    let bad = |args: &[&str], needles: &[&str]| {
        let o = spillway(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: stderr lacks {n:?}: {err}");
        }
    };
    bad(
        &["sweep", &f, "--out", out, "--grid", "nonsense"],
        &["--grid 'nonsense'", "KEY=VALUES"],
    );
    bad(
        &[
            "sweep",
            &f,
            "--out",
            out,
            "--grid",
            "workload.users=5..1 step 1",
        ],
        &["--grid workload.users", "start <= end"],
    );
    bad(
        &[
            "sweep",
            &f,
            "--out",
            out,
            "--grid",
            "deployment.zz.tpm=1000",
        ],
        &["deployment.zz.tpm", "no entry named 'zz'"],
    );
    bad(
        &["sweep", &f, "--out", out, "--grid", "client.timeout=soon"],
        &["client.timeout", "soon"],
    );
    bad(
        &["sweep", &f, "--out", out, "--shard", "3/3"],
        &["--shard", "0 <= I < N"],
    );
    bad(
        &["sweep", &f, "--out", out, "--variant", "nope"],
        &["unknown variant 'nope'"],
    );
    let edit = |from: &str, to: &str| -> String {
        assert!(SWEEP.contains(from), "{from}");
        let p = dir.join(format!("e{}.toml", from.len() + to.len()));
        std::fs::write(&p, SWEEP.replacen(from, to, 1)).unwrap();
        p.display().to_string()
    };
    bad(
        &["validate", &edit("\"1..3 step 2\"", "\"1..3\"")],
        &["sweep.grid.\"deployment.d.copies\"", "step"],
    );
    bad(
        &["validate", &edit("replications = 3", "replications = 0")],
        &["sweep.replications", ">= 1"],
    );
    bad(
        &["validate", &edit("replications = 3", "replicas = 3")],
        &["unknown field `replicas`"],
    );
    bad(
        &[
            "validate",
            &edit(
                "metric = \"sessions.duration_ms.p50\"",
                "metric = \"sessions.duration.p50\"",
            ),
        ],
        &["slo[0]", "sessions.duration.p50"],
    );
    bad(
        &["validate", &edit("max = 30_000", "maxx = 30_000")],
        &["unknown field `maxx`"],
    );
    bad(
        &[
            "validate",
            &edit("max = 0.05", "min = 0.01\nmax = 0.05\nvariants_ = 1"),
        ],
        &["unknown field `variants_`"],
    );
    bad(
        &[
            "validate",
            &edit("variants = [\"capped\"]", "variants = [\"capt\"]"),
        ],
        &["slo[1]", "unknown variant 'capt'"],
    );
    bad(
        &["validate", &edit("max = 0.05", "")],
        &["slo[1]", "give a bound"],
    );
    // Nothing was written by any of these.
    assert!(!o_.join("sweep.json").exists());
}

#[test]
fn progress_bar_stays_off_without_a_terminal() {
    let dir = tempdir();
    let f = scenario(&dir);
    let o = spillway(&["sweep", &f, "--out", dir.join("p").to_str().unwrap()]);
    ok(&o);
    let err = stderr(&o);
    // Not a terminal: no bar, only the one summary line with runs and runs/s.
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("24 runs") && err.contains("runs/s"), "{err}");
}

/// A shipped copy of a reliability reproducer (tests/fixtures/sweep).
fn fixture(name: &str) -> String {
    crate::root()
        .join("tests/fixtures/sweep")
        .join(name)
        .display()
        .to_string()
}

/// Issue 13 case 1: corrupt or hostile shard directories. Each used to panic (exit 101),
/// abort on a huge allocation, or write sweep.json without sweep.csv.
#[test]
fn merge_refuses_corrupt_shards_naming_file_and_field() {
    let dir = tempdir();
    let f = fixture("sweep2.toml");
    let shard = |i: usize| {
        let d = dir.join(format!("s{i}"));
        let s = format!("{i}/2");
        ok(&spillway(&[
            "sweep",
            &f,
            "-q",
            "--shard",
            &s,
            "--out",
            d.to_str().unwrap(),
        ]));
        d
    };
    let (s0, s1) = (shard(0), shard(1));
    let load = |d: &Path| -> serde_json::Value {
        serde_json::from_slice(&read(&d.join("sweep.json"))).unwrap()
    };
    // A corrupted copy of a shard's sweep.json, in its own directory.
    let corrupt = |name: &str, from: &Path, edit: &dyn Fn(&mut serde_json::Value)| {
        let mut doc = load(from);
        edit(&mut doc);
        let d = dir.join(format!("bad-{name}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("sweep.json"), serde_json::to_vec(&doc).unwrap()).unwrap();
        d
    };
    let n = std::cell::Cell::new(0);
    let refuse = |dirs: &[&Path], needles: &[&str]| {
        n.set(n.get() + 1);
        let out = dir.join(format!("out-{}", n.get()));
        let mut args = vec!["merge".to_string()];
        args.extend(dirs.iter().map(|d| d.display().to_string()));
        args.extend(["--out".into(), out.display().to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = spillway(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && err.lines().count() == 1,
            "{err}"
        );
        for n in needles {
            assert!(err.contains(n), "{args:?}: stderr lacks {n:?}: {err}");
        }
        assert!(!out.exists(), "nothing is written: {err}");
    };
    let bad = corrupt("index-ge-count", &s1, &|d| d["shard"]["index"] = 5.into());
    refuse(
        &[&s0, &bad],
        &["bad-index-ge-count/sweep.json", "shard.index", "0 to 1"],
    );
    let bad = corrupt("count-zero", &s1, &|d| {
        d["shard"]["count"] = 0.into();
        d["shard"]["index"] = 0.into();
    });
    refuse(
        &[&bad, &s0],
        &["bad-count-zero/sweep.json", "shard.count", "is 0"],
    );
    for (name, count) in [
        ("count-2p63", 1u64 << 63),
        ("count-1e15", 1_000_000_000_000_000),
    ] {
        let bad = corrupt(name, &s1, &|d| d["shard"]["count"] = count.into());
        refuse(
            &[&bad, &s0],
            &["s0/sweep.json", "shard.count", &count.to_string()],
        );
    }
    let bad = corrupt("point-oob", &s1, &|d| d["runs"][0]["point"] = 999.into());
    refuse(
        &[&s0, &bad],
        &["bad-point-oob/sweep.json", "runs[0].point", "999"],
    );
    let no_values = |d: &mut serde_json::Value| {
        for p in d["points"].as_array_mut().unwrap() {
            p["values"] = serde_json::json!({});
        }
    };
    let (b0, b1) = (
        corrupt("values-missing0", &s0, &no_values),
        corrupt("values-missing1", &s1, &no_values),
    );
    refuse(
        &[&b0, &b1],
        &[
            "values-missing0/sweep.json",
            "points[0].values",
            "workload.rate_per_min",
        ],
    );
    // More: a schema from elsewhere, a claimed replication count the runs do not have, a run
    // index that does not match its point, a seed that is not the run's, a wrong type, a
    // truncated file.
    let bad = corrupt("schema", &s1, &|d| d["schema"] = "spillway.sweep/v9".into());
    refuse(
        &[&s0, &bad],
        &["bad-schema/sweep.json", "schema", "spillway.sweep/v1"],
    );
    let bad = corrupt("reps", &s1, &|d| {
        d["replications"] = 4_294_967_295u32.into()
    });
    refuse(
        &[&bad, &s0],
        &["bad-reps/sweep.json", "runs", "holds 1 runs"],
    );
    let bad = corrupt("index", &s1, &|d| d["runs"][0]["index"] = 0.into());
    refuse(&[&s0, &bad], &["bad-index/sweep.json", "runs[0].index"]);
    let bad = corrupt("seed", &s1, &|d| d["runs"][0]["seed"] = 12345.into());
    refuse(&[&s0, &bad], &["bad-seed/sweep.json", "runs[0].seed"]);
    let bad = corrupt("negative", &s1, &|d| d["shard"]["count"] = (-1).into());
    refuse(
        &[&s0, &bad],
        &["bad-negative/sweep.json:", "shard.count", "whole number"],
    );
    let o = spillway(&["merge", s0.to_str().unwrap(), "--out", "/dev/null/x"]);
    assert!(!stderr(&o).contains("usize"), "{}", stderr(&o));
    let cut = dir.join("bad-truncated");
    std::fs::create_dir_all(&cut).unwrap();
    let text = read(&s1.join("sweep.json"));
    std::fs::write(cut.join("sweep.json"), &text[..text.len() / 2]).unwrap();
    refuse(
        &[&s0, &cut],
        &["bad-truncated/sweep.json:", "not a spillway sweep.json"],
    );
    // The good shards still merge.
    ok(&spillway(&[
        "merge",
        s0.to_str().unwrap(),
        s1.to_str().unwrap(),
        "--out",
        dir.join("good").to_str().unwrap(),
    ]));
}

/// Issue 13 D3 / D3b / D7: the size of a sweep is checked before anything is allocated for it,
/// and `validate` says "ok" only once every check has passed.
#[test]
fn sweep_size_is_checked_before_allocating_and_validate_says_ok_last() {
    let bad = |args: &[&str], needles: &[&str]| {
        let o = spillway(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(stdout(&o), "", "{args:?}: nothing on stdout, no 'ok'");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: stderr lacks {n:?}: {err}");
        }
    };
    // A 100,000 x 1,000 grid: each key is within its cap, the product is not. It used to
    // print ok and then abort building 10^8 points.
    let d3 = fixture("D3-oom-validate-grid-product.toml");
    bad(
        &["validate", &d3],
        &[
            "D3-oom-validate-grid-product.toml",
            "100000000 point(s)",
            "100000 values of workload.rate_per_min x 1000 values of client.max_retries",
            "limit of 100000 runs",
            "--max-runs N",
        ],
    );
    let dir = tempdir();
    let out = dir.join("o");
    let out = out.to_str().unwrap();
    // 2 points x 4294967295 replications: it used to abort allocating the run list.
    let d3b = fixture("D3b-replications-oom.toml");
    bad(
        &["sweep", &d3b, "--out", out, "--replications", "4294967295"],
        &["4294967295 replication(s) = 8589934590 runs", "--max-runs"],
    );
    // The limit is a flag: 2 points x 3 replications = 6 runs.
    bad(
        &[
            "sweep",
            &d3b,
            "--out",
            out,
            "--replications",
            "3",
            "--max-runs",
            "5",
        ],
        &["= 6 runs, over the limit of 5 runs"],
    );
    bad(&["validate", &d3b, "--max-runs", "1"], &["= 2 runs"]);
    ok(&spillway(&["validate", &d3b, "--max-runs", "2"]));
    ok(&spillway(&[
        "sweep",
        &d3b,
        "--out",
        out,
        "-q",
        "--replications",
        "3",
        "--max-runs",
        "6",
    ]));
    let o = spillway(&["sweep", &d3b, "--out", out, "--max-runs", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--max-runs"), "{}", stderr(&o));
    bad(
        &["sweep", &d3b, "--out", out, "--replications", "0"],
        &["--replications 0", "at least 1"],
    );
    // D7: [sweep] without a grid used to print "ok", then exit 2 naming no key.
    bad(
        &["validate", &fixture("D7-empty-sweep-grid.toml")],
        &[
            "D7-empty-sweep-grid.toml: key 'sweep.grid'",
            "expected at least one key with its values under [sweep.grid]",
            "\"workload.users\" = [1, 2, 4]",
        ],
    );
}

/// Issue 13 D10: a range whose length overflows used to give exit 0 and a sweep of 0 points.
#[test]
fn range_length_overflow_names_the_flag_the_count_and_the_limit() {
    let dir = tempdir();
    let base = fixture("base.toml");
    let out = dir.join("o");
    for (range, count) in [
        (
            "0..9223372036854775807 step 1",
            "9223372036854775808 values",
        ),
        ("0..1 step 1e-300", "about 1.0e300 values"),
        ("-1e308..1e308 step 1", "more than 10^308 values"),
    ] {
        let grid = format!("workload.rate_per_min={range}");
        let o = spillway(&[
            "sweep",
            &base,
            "--out",
            out.to_str().unwrap(),
            "--grid",
            &grid,
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{range}: {err}");
        for n in [
            "--grid workload.rate_per_min",
            count,
            "limit of 100000 per grid key",
        ] {
            assert!(err.contains(n), "{range}: stderr lacks {n:?}: {err}");
        }
        assert!(!out.exists(), "{range}: nothing written");
    }
    // The same range in the file names the file and the key.
    let text = std::fs::read_to_string(&base).unwrap()
        + "\n[sweep.grid]\n\"workload.rate_per_min\" = \"0..1 step 1e-300\"\n";
    let f = dir.join("in-file.toml");
    std::fs::write(&f, text).unwrap();
    let o = spillway(&["validate", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("in-file.toml: key 'sweep.grid.\"workload.rate_per_min\"'")
            && stderr(&o).contains("about 1.0e300 values"),
        "{}",
        stderr(&o)
    );
}

/// Issue 13 D14: `--set` on [sweep] and [[slo]] keys was silently ignored (exit 0), type
/// mismatches included. It is refused, pointing to the flags that do the job.
#[test]
fn set_on_sweep_and_slo_keys_is_refused_with_the_flag_to_use() {
    let dir = tempdir();
    let d3b = fixture("D3b-replications-oom.toml");
    let out = dir.join("o");
    let out = out.to_str().unwrap();
    for (set, needles) in [
        (
            "sweep.grid.\"workload.rate_per_min\"=[5]",
            &["--set 'sweep.grid.", "--grid KEY=VALUES"][..],
        ),
        (
            "sweep.replications=3",
            &["[sweep] cannot be changed with --set", "--replications N"],
        ),
        (
            "slo=5",
            &[
                "--set 'slo=5'",
                "[[slo]] entries cannot be changed",
                "scenario file",
            ],
        ),
    ] {
        for cmd in [
            &["sweep", &d3b, "--out", out][..],
            &["validate", &d3b],
            &["run", &d3b],
        ] {
            let mut args = cmd.to_vec();
            args.extend(["--set", set]);
            let o = spillway(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            for n in needles {
                assert!(err.contains(n), "{args:?}: stderr lacks {n:?}: {err}");
            }
        }
    }
    assert!(!dir.join("o").exists());
}

/// The structure of a JUnit report, read back with quick-xml: per `<testsuite>` its declared
/// tests / failures and the test cases and `<failure>`s it really holds.
#[derive(Debug, Default)]
struct Junit {
    tests: usize,
    failures: usize,
    /// (name, declared tests, declared failures, test cases, failures found, failure messages)
    suites: Vec<(String, usize, usize, usize, usize, Vec<String>)>,
    /// Test case names.
    cases: Vec<String>,
}

fn parse_junit(xml: &str) -> Junit {
    use quick_xml::Reader;
    use quick_xml::events::Event;
    let attr = |e: &quick_xml::events::BytesStart, k: &str| -> String {
        e.try_get_attribute(k)
            .unwrap()
            .unwrap_or_else(|| panic!("<{:?}> lacks {k}", e.name()))
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .unwrap()
            .into_owned()
    };
    let num = |s: String| s.parse::<usize>().unwrap();
    let mut r = Reader::from_str(xml);
    let mut j = Junit::default();
    let mut path: Vec<String> = Vec::new();
    loop {
        let ev = r.read_event().unwrap();
        let (start, empty) = match &ev {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let name = e.name().as_ref().to_string();
            let parent = path.last().map(String::as_str);
            match (parent, name.as_str()) {
                (None, "testsuites") => {
                    j.tests = num(attr(e, "tests"));
                    j.failures = num(attr(e, "failures"));
                }
                (Some("testsuites"), "testsuite") => j.suites.push((
                    attr(e, "name"),
                    num(attr(e, "tests")),
                    num(attr(e, "failures")),
                    0,
                    0,
                    Vec::new(),
                )),
                (Some("testsuite"), "testcase") => {
                    j.suites.last_mut().unwrap().3 += 1;
                    j.cases.push(attr(e, "name"));
                }
                (Some("testcase"), "failure") => {
                    let s = j.suites.last_mut().unwrap();
                    s.4 += 1;
                    s.5.push(attr(e, "message"));
                }
                (Some("testsuite"), "properties")
                | (Some("properties"), "property")
                | (Some("testcase"), "system-out") => {}
                (p, n) => panic!("unexpected <{n}> inside {p:?}"),
            }
            if !empty {
                path.push(name);
            }
        }
        match ev {
            Event::End(_) => {
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(path.is_empty(), "unclosed elements: {path:?}");
    j
}

/// Issue 12 point 6: `check`, `sweep --check` and `merge --check` write JSON and JUnit, accept
/// -q, show bounds in the SLO's unit, write report files with --out / --check-out, and
/// `sweep --report` prints the report's path.
#[test]
fn gates_write_junit_and_json_in_the_slos_units() {
    let dir = tempdir();
    let f = scenario(&dir);
    // check: 6 users fail the median; 3 SLO checks (the ratio applies to "capped" only).
    let args = ["check", &f, "--set", "workload.users=6", "-q"];
    let run = |fmt: &str| {
        let mut a = args.to_vec();
        a.extend(["--format", fmt]);
        let o = spillway(&a);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert_eq!(stderr(&o), "", "-q: nothing on stderr");
        stdout(&o)
    };
    let table = run("table");
    assert!(
        table.contains("<= 30 s") && !table.contains("30000") && table.contains("<= 5%"),
        "bounds in seconds and %: {table}"
    );
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json["schema"], "spillway.check/v1");
    assert_eq!(json["checks"], 3);
    let failed = json["failed"].as_u64().unwrap() as usize;
    assert!(failed >= 1 && json["passed"] == false);
    let first = &json["results"][0];
    assert_eq!(first["unit"], "ms");
    assert_eq!(first["max"], 30000.0);
    assert_eq!(first["bound_text"], "<= 30 s");
    let junit = parse_junit(&run("junit"));
    assert_eq!((junit.tests, junit.failures), (3, failed));
    assert_eq!(junit.suites.len(), 2, "one suite per SLO");
    for (name, tests, failures, cases, found, messages) in &junit.suites {
        assert_eq!((tests, failures), (cases, found), "{name}: declared = held");
        for m in messages {
            assert!(
                m.starts_with("measured ") && m.contains(", bound <="),
                "{m}"
            );
        }
    }
    assert_eq!(junit.suites.iter().map(|s| s.3).sum::<usize>(), 3);
    assert_eq!(junit.suites[0].0, "median session under 30 s");
    assert!(
        junit.suites[0].5[0].ends_with(" s, bound <= 30 s"),
        "{:?}",
        junit.suites[0].5
    );
    // --out writes each named file (format from its extension) and still prints the table.
    let (xml, md) = (dir.join("slo.xml"), dir.join("slo.md"));
    let o = spillway(&[
        "check",
        &f,
        "--set",
        "workload.users=6",
        "--out",
        xml.to_str().unwrap(),
        "--out",
        md.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("SLO checks FAIL") && stderr(&o).contains("wrote "));
    let from_file = parse_junit(&String::from_utf8(read(&xml)).unwrap());
    assert_eq!((from_file.tests, from_file.failures), (3, failed));
    assert!(
        String::from_utf8(read(&md))
            .unwrap()
            .starts_with("## SLO checks")
    );
    let o = spillway(&["check", &f, "--out", dir.join("slo.html").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(".xml (JUnit)"), "{}", stderr(&o));
    // sweep --check --format junit: stdout is only the document; one case per SLO x variant
    // x point (2 SLOs: 4 points x 2 variants + 4 points x 1 variant).
    let out = dir.join("s");
    let jfile = dir.join("sweep-slo.json");
    let o = spillway(&[
        "sweep",
        &f,
        "--out",
        out.to_str().unwrap(),
        "--check",
        "--format",
        "junit",
        "--check-out",
        jfile.to_str().unwrap(),
        "--report",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let junit = parse_junit(&stdout(&o));
    assert_eq!(junit.tests, 12);
    assert!(
        junit
            .cases
            .contains(&"plain @ users=4 copies=1".to_string())
    );
    let report = out.join("report.html");
    assert!(
        stderr(&o).contains(&format!("wrote {}", report.display())),
        "the report's path: {}",
        stderr(&o)
    );
    let json: serde_json::Value = serde_json::from_slice(&read(&jfile)).unwrap();
    assert_eq!(json["checks"], 12);
    assert_eq!(json["failed"].as_u64().unwrap() as usize, junit.failures);
    assert_eq!(
        json["results"][0]["point_values"],
        serde_json::json!({"workload.users": 1, "deployment.d.copies": 1})
    );
    // Table format: the report's path on stdout with the other "wrote" lines.
    let o = spillway(&[
        "sweep",
        &f,
        "--out",
        out.to_str().unwrap(),
        "--report",
        "-q",
    ]);
    assert!(
        ok(&o).contains(&format!("wrote {}", report.display())),
        "{}",
        stdout(&o)
    );
    // merge --check --format json.
    let shards: Vec<String> = (0..2)
        .map(|i| {
            let d = dir.join(format!("sh{i}"));
            let s = format!("{i}/2");
            ok(&spillway(&[
                "sweep",
                &f,
                "--shard",
                &s,
                "--out",
                d.to_str().unwrap(),
                "-q",
            ]));
            d.display().to_string()
        })
        .collect();
    let o = spillway(&[
        "merge",
        &shards[0],
        &shards[1],
        "--out",
        dir.join("m").to_str().unwrap(),
        "--check",
        "--format",
        "json",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let merged: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(merged["results"], json["results"], "merged = one sweep");
}
