//! Hard to break (issues 12 and 13): the work estimate and run budgets, Ctrl-C and SIGTERM,
//! the progress bar only on a terminal, variant names that collide as file names, output
//! directories that are all or nothing (killed at every write step), output-path errors in
//! words, and the fuzz corpus replayed on stable Rust.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{spillway, stderr, tempdir};

/// A year of 10,000 closed-loop users: validates, but is far too much work for one run.
const YEAR: &str = r#"
[scenario]
name = "a year of support chat"
duration = "365d"

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
arrival = "closed"
users = 10_000
user_think_time_s = 30

[[workload.class]]
name = "chat"
steps = 5
prompt_tokens = 1500
completion_tokens = 400
think_time_s = 20
"#;

/// Two variants, ten minutes, a few hundred calls: quick, with a per-request CSV to stream.
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

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts exit 2 with one line of error naming every needle, and no panic.
fn refused(o: &std::process::Output, needles: &[&str]) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("os error"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
    err
}

/// The staging directories left beside `target`.
fn leftovers(target: &Path) -> Vec<String> {
    let name = target.file_name().unwrap().to_string_lossy().into_owned();
    let prefix = format!(".{name}.spillway-tmp-");
    std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

/// The regular files of a directory (not its subdirectories), name -> bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().unwrap().is_file())
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Issue 12 point 4 / issue 13 case 13: a 365-day, 10,000-user scenario validates, but `run`
/// refuses it before starting with the estimate and how to proceed; `--force` starts it (a
/// tiny budget then stops it with the budget error), and nothing is written either way.
#[test]
fn the_estimate_refuses_a_year_of_ten_thousand_users() {
    let dir = tempdir();
    let f = write(&dir, "year.toml", YEAR);
    assert!(spillway(&["validate", &f]).status.success());
    let out = dir.join("out");
    let started = Instant::now();
    let o = spillway(&["run", &f, "--out", s(&out)]);
    refused(
        &o,
        &[
            "year.toml: variant 'baseline'",
            "too much work",
            "billion events",
            "365 days",
            "budget of 1 billion events",
            "--max-events 32000000000",
            "--force",
        ],
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!out.exists() && leftovers(&out).is_empty());
    // The same for a sweep over it, and for check.
    let o = spillway(&[
        "sweep",
        &f,
        "--out",
        s(&out),
        "--grid",
        "workload.users=10,10000",
    ]);
    refused(&o, &["sweep point 1, variant 'baseline'", "too much work"]);
    // A budget of its own: refused as long as the estimate is over it.
    let o = spillway(&["run", &f, "--max-events", "30000000000"]);
    refused(&o, &["budget of 30 billion events"]);
    // --force starts it; a tiny budget stops it within the first check.
    let o = spillway(&[
        "run",
        &f,
        "--force",
        "--max-events",
        "1000",
        "--out",
        s(&out),
    ]);
    refused(
        &o,
        &[
            "variant 'baseline'",
            "more than 1000 events",
            "--max-events",
        ],
    );
    assert!(!out.exists() && leftovers(&out).is_empty());
    // The memory guard holds even with --force.
    let o = spillway(&["run", &f, "--force", "--max-state-mb", "1"]);
    refused(&o, &["sessions in flight", "--max-state-mb"]);
}

/// Starts `args`, waits until its staging directory for `target` exists (the run is under
/// way), sends `signal`, and returns the output.
fn interrupt_when_running(args: &[&str], target: &Path, signal: i32) -> std::process::Output {
    let child = Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(args)
        .env_remove("CI")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while leftovers(target).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(60), "never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the request CSV grow a little.
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signals the child we started, by its id.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    child.wait_with_output().unwrap()
}

/// Issue 13 case 12: Ctrl-C (SIGINT) and SIGTERM stop a long run cleanly: exit 130, one line,
/// no output directory and no temporary file left (before: every interrupted run left a
/// `requests-*.csv.PID.tmp` of 80-260 MB).
#[test]
fn ctrl_c_and_sigterm_stop_a_run_with_exit_130_and_leave_nothing() {
    let dir = tempdir();
    let f = write(&dir, "year.toml", YEAR);
    for (signal, name) in [(libc::SIGINT, "int"), (libc::SIGTERM, "term")] {
        let out = dir.join(format!("out-{name}"));
        let started = Instant::now();
        let o = interrupt_when_running(
            &["run", &f, "--force", "--requests-csv", "--out", s(&out)],
            &out,
            signal,
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(130), "{name}: {err}");
        assert!(err.contains("interrupted; nothing was written"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(60));
        assert!(!out.exists(), "{name}: the target was created");
        assert!(leftovers(&out).is_empty(), "{name}: {:?}", leftovers(&out));
    }
}

/// Runs the binary with its stderr on a pseudo-terminal; returns what the terminal showed.
fn on_a_terminal(args: &[&str], envs: &[(&str, &str)]) -> String {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new file descriptors; no name, settings or size given.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty");
    // SAFETY: both descriptors were just opened and are owned here only.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_spillway"));
    cmd.args(args)
        .env_remove("CI")
        .stdout(Stdio::null())
        .stderr(Stdio::from(slave));
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut master = std::fs::File::from(master);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        // Ends with EIO once the child (the last holder of the terminal) exits.
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    assert!(child.wait().unwrap().success());
    reader.join().unwrap()
}

/// Issue 12 point 4: `run` and `sweep` show a progress bar with an ETA on a terminal, and none
/// when stderr is not a terminal, when CI is set, or with -q.
#[test]
fn progress_shows_on_a_terminal_only() {
    let dir = tempdir();
    let f = write(&dir, "small.toml", SMALL);
    let bar = "% of simulated time";
    let shown = on_a_terminal(&["run", &f, "--jobs", "1"], &[]);
    assert!(shown.contains(bar) && shown.contains("ETA"), "{shown}");
    assert!(shown.contains("variants done"), "{shown}");
    let shown = on_a_terminal(
        &[
            "sweep",
            &f,
            "--grid",
            "workload.rate_per_min=5,10",
            "--out",
            s(&dir.join("sw")),
        ],
        &[],
    );
    assert!(
        shown.contains(bar) && shown.contains("runs done"),
        "{shown}"
    );
    // Off in CI and with -q, even on a terminal.
    let shown = on_a_terminal(&["run", &f], &[("CI", "true")]);
    assert!(!shown.contains(bar), "{shown}");
    let shown = on_a_terminal(&["run", &f, "-q"], &[]);
    assert!(shown.is_empty(), "{shown}");
    // Off when stderr is not a terminal: only the closing line.
    let o = Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(["run", &f])
        .env_remove("CI")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains(bar) && !err.contains('\u{1b}'), "{err}");
}

/// Issue 13 case D12: variants whose names become the same file name ("a b" and "a_b") are
/// refused before anything runs, naming both (before: exit 0 or 2 at random and malformed
/// CSV rows with --jobs 2; silent overwrite with --jobs 1).
#[test]
fn variant_names_that_collide_as_file_names_are_refused() {
    let dir = tempdir();
    let text = SMALL
        .replace("name = \"a\"", "name = \"a b\"")
        .replace("name = \"b\"", "name = \"a_b\"");
    let f = write(&dir, "d12.toml", &text);
    let out = dir.join("out");
    for jobs in ["1", "2"] {
        let o = spillway(&[
            "run",
            &f,
            "--out",
            s(&out),
            "--requests-csv",
            "--jobs",
            jobs,
        ]);
        refused(&o, &["d12.toml", "'a b'", "'a_b'", "timeseries-a_b.csv"]);
        assert!(!out.exists() && leftovers(&out).is_empty());
    }
    // Case alone differs: the same file on macOS and Windows.
    let text = SMALL
        .replace("name = \"a\"", "name = \"Chat\"")
        .replace("name = \"b\"", "name = \"chat\"");
    let f = write(&dir, "case.toml", &text);
    refused(
        &spillway(&["run", &f, "--out", s(&out)]),
        &["'Chat'", "'chat'"],
    );
    // Without --out nothing is written, so nothing collides; one variant alone is fine too.
    assert!(spillway(&["run", &f, "-q"]).status.success());
    let o = spillway(&["run", &f, "--variant", "chat", "--out", s(&out), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Issue 12 point 7 / issue 13: one test per class of output-path error; each says what is
/// wrong with the path, in words (before: `File exists (os error 17)`).
#[test]
fn output_path_errors_say_what_is_wrong_with_the_path() {
    let dir = tempdir();
    let f = write(&dir, "small.toml", SMALL);
    // Exists as a file.
    let o = spillway(&["run", &f, "--out", "/etc/passwd"]);
    refused(&o, &["--out /etc/passwd: is a file, not a directory"]);
    let file = dir.join("a-file");
    std::fs::write(&file, "mine").unwrap();
    for cmd in ["run", "sweep"] {
        let mut args = vec![cmd, &f, "--out", s(&file)];
        if cmd == "sweep" {
            args.extend(["--grid", "workload.rate_per_min=1,2"]);
        }
        refused(&spillway(&args), &["is a file, not a directory"]);
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    // Under a file.
    let o = spillway(&["run", &f, "--out", s(&file.join("x"))]);
    refused(
        &o,
        &["a-file is a file, not a directory, so nothing can be created under it"],
    );
    // Not writable (sysfs refuses new entries, even to root).
    let o = spillway(&["run", &f, "--out", "/sys/spillway-out"]);
    refused(
        &o,
        &["--out /sys/spillway-out: cannot write in /sys: permission denied"],
    );
    let o = spillway(&["run", &f, "--out", "/sys/spillway-out/deeper"]);
    refused(
        &o,
        &["cannot create the directory /sys/spillway-out: permission denied"],
    );
    // A symbolic link to nothing.
    let link = dir.join("dangling");
    std::os::unix::fs::symlink(dir.join("nowhere"), &link).unwrap();
    refused(
        &spillway(&["run", &f, "--out", s(&link)]),
        &["is a symbolic link to nothing"],
    );
    // Missing parents are created.
    let deep = dir.join("a/b/c");
    let o = spillway(&["run", &f, "--out", s(&deep), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(deep.join("summary.json").is_file());
    // A directory holding files Spillway did not write is refused, and left as it was.
    let mixed = dir.join("mixed");
    std::fs::create_dir_all(mixed.join("notes")).unwrap();
    std::fs::write(mixed.join("plan.txt"), "keep me").unwrap();
    std::fs::write(mixed.join("summary.json"), "{}").unwrap();
    let o = spillway(&["run", &f, "--out", s(&mixed)]);
    refused(&o, &["holds notes/, plan.txt that Spillway did not write"]);
    assert_eq!(
        std::fs::read_to_string(mixed.join("plan.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(
        std::fs::read_to_string(mixed.join("summary.json")).unwrap(),
        "{}"
    );
    assert!(leftovers(&mixed).is_empty());
    // `merge --out` says the same.
    let shard = dir.join("shard");
    let o = spillway(&[
        "sweep",
        &f,
        "--grid",
        "workload.rate_per_min=5",
        "--shard",
        "0/1",
        "--out",
        s(&shard),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    refused(
        &spillway(&["merge", s(&shard), "--out", "/etc/passwd"]),
        &["--out /etc/passwd: is a file, not a directory"],
    );
}

/// An existing output directory is replaced as a whole: files of the old output that the new
/// one does not write are gone (a variant no longer run, a stale report, an old temporary
/// file), a sweep kept inside it stays, and an empty directory is filled.
#[test]
fn an_existing_output_directory_is_replaced_as_a_whole() {
    let dir = tempdir();
    let f = write(&dir, "small.toml", SMALL);
    let out = dir.join("out");
    let o = spillway(&["run", &f, "--out", s(&out), "--report", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("timeseries-b.csv").is_file() && out.join("report.html").is_file());
    std::fs::write(out.join("requests-a.csv.12345.tmp"), "old leftover").unwrap();
    let o = spillway(&[
        "sweep",
        &f,
        "--grid",
        "workload.rate_per_min=5,10",
        "--out",
        s(&out.join("sweep")),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sweep_before = files(&out.join("sweep"));
    let o = spillway(&["run", &f, "--variant", "a", "--out", s(&out), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = files(&out).into_keys().collect();
    assert_eq!(names, ["summary.json", "summary.md", "timeseries-a.csv"]);
    assert_eq!(files(&out.join("sweep")), sweep_before);
    assert!(leftovers(&out).is_empty());
    // An empty directory (as `mkdir` leaves it) is filled.
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(
        spillway(&["run", &f, "--out", s(&empty), "-q"])
            .status
            .success()
    );
    assert!(empty.join("summary.json").is_file());
}

/// Runs the binary with the kill hook at write step `k` (0: none); returns its status.
fn run_killed_at(args: &[&str], k: usize) -> std::process::ExitStatus {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_spillway"));
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    if k > 0 {
        cmd.env("SPILLWAY_TEST_KILL_AT_WRITE_STEP", k.to_string());
    }
    cmd.status().unwrap()
}

/// The write steps of a command, from the trace hook.
fn write_steps(args: &[&str]) -> Vec<String> {
    let o = Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(args)
        .env("SPILLWAY_TEST_TRACE_WRITE_STEPS", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stderr(&o)
        .lines()
        .filter_map(|l| l.strip_prefix("spillway: write step "))
        .map(str::to_string)
        .collect()
}

/// Issue 13 point 3: a run killed (SIGKILL, no clean-up) at each of its write steps leaves the
/// target holding the previous complete output or the new complete output, never a mix; the
/// sweep kept inside it is never lost; and the next run removes what the killed one left.
/// Then the same with kills at random moments (fixed seed), and for a sweep and a merge into
/// new directories.
#[test]
fn killed_at_any_write_step_the_target_is_old_or_new_never_mixed() {
    let dir = tempdir();
    let f = write(&dir, "small.toml", SMALL);
    let target = dir.join("out");
    let (old, new) = (dir.join("old"), dir.join("new"));
    let run = |out: &Path, seed: &str| {
        vec![
            "run".to_string(),
            f.clone(),
            "--seed".into(),
            seed.into(),
            "--requests-csv".into(),
            "--report".into(),
            "--out".into(),
            s(out).into(),
        ]
    };
    let args = |v: &[String]| v.iter().map(String::clone).collect::<Vec<_>>();
    let call = |v: &Vec<String>, k: usize| {
        run_killed_at(&v.iter().map(String::as_str).collect::<Vec<_>>(), k)
    };
    assert!(call(&run(&old, "1"), 0).success());
    assert!(
        spillway(&[
            "sweep",
            &f,
            "--grid",
            "workload.rate_per_min=5",
            "--out",
            s(&old.join("sweep")),
            "-q"
        ])
        .status
        .success()
    );
    assert!(call(&run(&new, "2"), 0).success());
    let (old_files, new_files) = (files(&old), files(&new));
    assert_ne!(old_files, new_files);
    let new_args = args(&run(&target, "2"));
    let steps = write_steps(&new_args.iter().map(String::as_str).collect::<Vec<_>>());
    // Staging, 2 summaries, 2 time series, 2 request CSVs, the report, the exchange, the
    // carry-over of subdirectories (the target exists: the traced run wrote it).
    assert!(steps.len() >= 9, "{steps:?}");
    let check = |k: usize, when: &str| {
        let now = files(&target);
        assert!(
            now == old_files || now == new_files,
            "{when}: a mixed directory: {:?}",
            now.keys().collect::<Vec<_>>()
        );
        // The sweep kept inside is in the target or, for now, in a leftover staging
        // directory that the next run puts back.
        let kept = target.join("sweep/sweep.json").is_file()
            || leftovers(&target)
                .iter()
                .any(|l| dir.join(l).join("sweep/sweep.json").is_file());
        assert!(kept, "{when}: the sweep inside was lost (step {k})");
    };
    for k in 1..=steps.len() {
        copy_dir(&old, &target);
        let status = call(&new_args.to_vec(), k);
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "step {k} ({})",
            steps[k - 1]
        );
        check(k, &format!("killed at step {k} ({})", steps[k - 1]));
        // The next run cleans up after the killed one.
        assert!(call(&new_args.to_vec(), 0).success());
        assert_eq!(files(&target), new_files, "after step {k}");
        assert!(target.join("sweep/sweep.json").is_file(), "after step {k}");
        assert!(
            leftovers(&target).is_empty(),
            "after step {k}: {:?}",
            leftovers(&target)
        );
    }
    // SIGKILL from outside at random moments (a fixed seed: the same delays every time).
    let mut rng = 0x5350_494c_u64;
    for i in 0..12 {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis((rng >> 33) % 400);
        copy_dir(&old, &target);
        let mut child = Command::new(env!("CARGO_BIN_EXE_spillway"))
            .args(&new_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        check(i, &format!("killed after {delay:?}"));
    }
    // A sweep and a merge into new directories: absent or complete.
    let sw = dir.join("sweep-out");
    let sweep: Vec<String> = [
        "sweep",
        &f,
        "--grid",
        "workload.rate_per_min=5,10",
        "--report",
        "--out",
        s(&sw),
    ]
    .map(String::from)
    .to_vec();
    let n = write_steps(&sweep.iter().map(String::as_str).collect::<Vec<_>>()).len();
    let complete = files(&sw);
    for k in 1..=n {
        let _ = std::fs::remove_dir_all(&sw);
        assert_eq!(call(&sweep, k).signal(), Some(libc::SIGKILL));
        let now = files(&sw);
        assert!(
            now.is_empty() || now == complete,
            "sweep killed at step {k}: {:?}",
            now.keys()
        );
    }
    let shards: Vec<PathBuf> = (0..2).map(|i| dir.join(format!("shard{i}"))).collect();
    for (i, d) in shards.iter().enumerate() {
        let o = spillway(&[
            "sweep",
            &f,
            "--grid",
            "workload.rate_per_min=5,10",
            "--shard",
            &format!("{i}/2"),
            "--out",
            s(d),
            "-q",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let merged = dir.join("merged");
    let merge: Vec<String> = ["merge", s(&shards[0]), s(&shards[1]), "--out", s(&merged)]
        .map(String::from)
        .to_vec();
    let n = write_steps(&merge.iter().map(String::as_str).collect::<Vec<_>>()).len();
    let complete = files(&merged);
    assert_eq!(complete.len(), 2);
    for k in 1..=n {
        let _ = std::fs::remove_dir_all(&merged);
        assert_eq!(call(&merge, k).signal(), Some(libc::SIGKILL));
        let now = files(&merged);
        assert!(
            now.is_empty() || now == complete,
            "merge killed at step {k}"
        );
    }
}

/// Issue 13 point 5: every committed fuzz input (`fuzz/corpus/<target>/`) goes through its
/// target's body again, on stable Rust: no panic, no non-finite number in a summary.
#[test]
fn the_fuzz_corpus_replays_clean() {
    for (name, target) in spillway::fuzzing::TARGETS {
        let dir = crate::root().join("fuzz/corpus").join(name);
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        inputs.sort();
        assert!(inputs.len() >= 4, "{name}: {} inputs", inputs.len());
        for p in &inputs {
            let data = std::fs::read(p).unwrap();
            let res = std::panic::catch_unwind(|| target(&data));
            assert!(res.is_ok(), "fuzz target {name} panics on {}", p.display());
        }
    }
}

/// The `cargo fuzz` targets (built only with cargo-fuzz, not by `cargo test`) call the same
/// library functions the replay uses, one file and one corpus per target.
#[test]
fn every_fuzz_target_calls_its_library_body() {
    let manifest = std::fs::read_to_string(crate::root().join("fuzz/Cargo.toml")).unwrap();
    for (name, _) in spillway::fuzzing::TARGETS {
        let path = crate::root().join(format!("fuzz/fuzz_targets/{name}.rs"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!("spillway::fuzzing::{name}(data)")),
            "{}",
            path.display()
        );
        assert!(manifest.contains(&format!("path = \"fuzz_targets/{name}.rs\"")));
    }
}
