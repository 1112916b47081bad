//! Scenario errors end to end: the reliability reproducers of issue 13 (copied under
//! `tests/fixtures/reliability/`), the documented limits, one-line errors, and type errors in
//! the domain's words (issue 12).

use std::path::Path;
use std::process::Output;

use crate::cli::{spillway, stderr, stdout, tempdir};
use crate::root;

/// Path of a reliability fixture.
fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures/reliability")
        .join(name)
        .display()
        .to_string()
}

/// Writes `text` to `name` in `dir`.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Asserts a bad-input exit: code 2, no panic, exactly one line on stderr, containing every
/// needle. Returns the line.
fn one_line_error(o: &Output, needles: &[&str]) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
    err
}

/// A small valid scenario (the reliability cases' base).
const BASE: &str = r#"
[scenario]
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
"#;

#[test]
fn d1_closed_loop_users_are_limited() {
    let o = spillway(&["validate", &fixture("D1-oom-users-u32max.toml")]);
    one_line_error(
        &o,
        &[
            "key 'workload.users'",
            "4_294_967_295 concurrent users",
            "at most 1_000_000",
            "Limits",
        ],
    );
}

#[test]
fn d2_expected_sessions_are_limited() {
    let o = spillway(&["validate", &fixture("D2-oom-rate.toml")]);
    one_line_error(
        &o,
        &[
            "key 'workload.rate_per_min'",
            "about 4_294_967_295 sessions",
            "at most 10_000_000",
            "shorter duration",
            "workload.sessions",
        ],
    );
    // The same rate with a cap on the sessions is fine.
    let dir = tempdir();
    let capped = std::fs::read_to_string(fixture("D2-oom-rate.toml"))
        .unwrap()
        .replace(
            "rate_per_min = 4294967295",
            "rate_per_min = 4294967295\nsessions = 100",
        );
    let f = write(&dir, "capped.toml", &capped);
    assert_eq!(spillway(&["validate", &f]).status.code(), Some(0));
}

#[test]
fn d4_copies_are_bounded_before_expansion() {
    let o = spillway(&["validate", &fixture("D4-validate-slow-copies.toml")]);
    one_line_error(
        &o,
        &["key 'deployment.d.copies'", "at most 64", "got 1_000_000"],
    );
}

#[test]
fn d5_absurd_prices_and_ptu_figures_are_rejected_with_range_and_unit() {
    let o = spillway(&["validate", &fixture("D5a-json-null-cost.toml")]);
    one_line_error(
        &o,
        &[
            "key 'models.\"gpt-4o-mini\".price_input_per_1m'",
            "[0, 10_000] (USD per 1M tokens)",
            "got 1e308",
        ],
    );
    let o = spillway(&["validate", &fixture("D5b-json-null-utilization.toml")]);
    one_line_error(
        &o,
        &[
            "key 'models.\"gpt-4o-mini\".ptu_input_tpm'",
            "[1, 10_000_000] (tokens per minute per PTU)",
            "got 5e-324",
        ],
    );
    let o = spillway(&[
        "validate",
        &fixture("D5b-json-null-utilization.toml"),
        "--set",
        "models.\"gpt-4o-mini\".ptu_output_ratio=1e308",
        "--set",
        "models.\"gpt-4o-mini\".ptu_input_tpm=2500",
    ]);
    one_line_error(&o, &["ptu_output_ratio", "(0, 1000]"]);
}

#[test]
fn inputs_at_the_bounds_give_finite_results() {
    // Every price, ratio and speed at the edge of its range: the summary has no null (a
    // non-finite number) anywhere.
    let dir = tempdir();
    let text = format!(
        "{BASE}\n[models.\"gpt-4o-mini\"]\nprice_input_per_1m = 10_000\nprice_output_per_1m = 10_000\n\
         ptu_input_tpm = 1\nptu_output_ratio = 1000\nptu_price_per_hour = 10_000\ndecode_variation_cv = 10\n\
         [[variant]]\nname = \"standard\"\n[[variant]]\nname = \"ptu\"\n\
         set = {{ \"deployment\" = [{{ name = \"ptu\", kind = \"provisioned\", model = \"gpt-4o-mini\", ptu = 100000, spillover = \"d\" }}, \
         {{ name = \"d\", kind = \"standard\", model = \"gpt-4o-mini\", pool = \"p\", tpm = 1_000_000 }}], \"router.deployments\" = [\"ptu\"] }}\n"
    );
    let f = write(&dir, "edges.toml", &text);
    let o = spillway(&["run", &f, "--format", "json", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("\"cost_usd\""), "{out}");
    assert!(!out.contains("null") && !out.contains("inf"), "{out}");
}

#[test]
fn d6_names_with_control_characters_are_one_line_errors() {
    let o = spillway(&["validate", &fixture("D6-multiline-error.toml")]);
    let e = one_line_error(
        &o,
        &[
            "key 'deployment[0].pool'",
            "control characters",
            "got \"p\\nx\"",
        ],
    );
    assert!(e.ends_with("\"p\\nx\"\n"), "{e}");
    // Names elsewhere, and strings that are not names, print on one line too.
    let dir = tempdir();
    let f = write(&dir, "s.toml", BASE);
    let cases: &[(&str, &str)] = &[
        ("workload.class.chat.name", "\"a\\tb\""),
        ("scenario.name", "\"x\\ny\""),
        ("workload.arrival", "\"poisson\\nclosed\""),
        ("deployment.d.kind", "\"std\\r\""),
    ];
    for (k, v) in cases {
        let o = spillway(&["validate", &f, "--set", &format!("{k}={v}")]);
        one_line_error(&o, &[]);
    }
    let v = write(
        &dir,
        "v.toml",
        &format!("{BASE}\n[[variant]]\nname = \"a\\nb\"\n"),
    );
    one_line_error(
        &spillway(&["validate", &v]),
        &["key 'variant[0].name'", "\"a\\nb\""],
    );
    // A --set key with a newline.
    one_line_error(
        &spillway(&["validate", &f, "--set", "deployment.x\ny.tpm=1"]),
        &["x\\ny"],
    );
}

#[test]
fn d8_retries_are_limited() {
    let o = spillway(&["validate", &fixture("D8-zero-backoff-retry-livelock.toml")]);
    one_line_error(
        &o,
        &[
            "key 'client.max_retries'",
            "4_294_967_295 retries",
            "at most 100",
        ],
    );
}

#[test]
fn d13_non_finite_model_numbers_name_the_key() {
    let o = spillway(&[
        "validate",
        &fixture("D13-nan-decode-misleading-message.toml"),
    ]);
    let e = one_line_error(
        &o,
        &[
            "key 'models.\"gpt-4o-mini\".decode_tokens_per_s'",
            "must be a finite number > 0",
            "got NaN",
        ],
    );
    assert!(!e.contains("not built in"), "{e}");
    let dir = tempdir();
    let f = write(&dir, "s.toml", BASE);
    for key in [
        "prefill_tokens_per_s",
        "rpm_per_1k_tpm",
        "price_output_per_1m",
    ] {
        let o = spillway(&[
            "validate",
            &f,
            "--set",
            &format!("models.\"gpt-4o-mini\".{key}=inf"),
        ]);
        one_line_error(&o, &[key, "finite", "got inf"]);
    }
}

#[test]
fn sizes_are_limited_before_anything_is_allocated() {
    let dir = tempdir();
    let f = write(&dir, "s.toml", BASE);
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--set", "workload.class.chat.steps=20000"],
            &["workload.class.chat.steps", "at most 10_000"],
        ),
        (
            &[
                "--set",
                "workload.rate_per_min=1000000",
                "--set",
                "workload.class.chat.steps=100",
            ],
            &["key 'workload.class'", "calls", "at most 50_000_000"],
        ),
        (
            &[
                "--set",
                "scenario.duration=\"1000h\"",
                "--set",
                "scenario.metrics_interval=\"1s\"",
                "--set",
                "workload.sessions=10",
            ],
            &[
                "key 'scenario.metrics_interval'",
                "time-series rows",
                "longer metrics_interval",
            ],
        ),
        (
            &["--set", "client.max_retries=101"],
            &["client.max_retries", "at most 100"],
        ),
        (
            &["--set", "deployment.d.token_window=\"1ms\""],
            &["deployment.d.token_window", "from 1s to 24h", "\"1ms\""],
        ),
        (
            &[
                "--set",
                "pool.p.tpm=2_000_000_000_000",
                "--set",
                "deployment.d.tpm=2_000_000_000_000",
            ],
            &["pool.p.tpm", "(0, 1_000_000_000_000] (tokens per minute)"],
        ),
    ];
    for (args, needles) in cases {
        let mut a = vec!["validate", f.as_str()];
        a.extend_from_slice(args);
        one_line_error(&spillway(&a), needles);
    }
}

/// Rust's type words that must never reach a user.
const RUST_WORDS: &[&str] = &[
    "u64",
    "u32",
    "u16",
    "f64",
    "struct Raw",
    "untagged",
    "a sequence",
];

/// Asserts a one-line error in the domain's words.
fn in_words(o: &Output, needles: &[&str]) {
    let e = one_line_error(o, needles);
    for w in RUST_WORDS {
        assert!(!e.contains(w), "Rust type words {w:?} in: {e}");
    }
}

#[test]
fn type_errors_in_the_file_keep_line_column_and_name_the_key() {
    let dir = tempdir();
    let f = write(
        &dir,
        "neg.toml",
        &BASE.replacen("tpm = 1_000_000", "tpm = -5", 1),
    );
    in_words(
        &spillway(&["validate", &f]),
        &[
            "neg.toml:11:7: key 'pool[0].tpm'",
            "'tpm' must be a whole number of tokens per minute, e.g. 100_000; got -5 (it cannot be negative)",
        ],
    );
    let f = write(
        &dir,
        "dur.toml",
        &BASE.replace("duration = \"10m\"", "duration = 600"),
    );
    in_words(
        &spillway(&["validate", &f]),
        &[
            "dur.toml:4:12: key 'scenario.duration'",
            "'duration' is a duration: write it with a unit",
            "for 600 seconds write \"600s\"",
        ],
    );
}

#[test]
fn type_errors_of_numbers_given_as_text() {
    let dir = tempdir();
    let f = write(&dir, "s.toml", BASE);
    in_words(
        &spillway(&["validate", &f, "--set", "workload.rate_per_min=abc"]),
        &[
            "key 'workload.rate_per_min'",
            "'rate_per_min' must be a number of sessions per minute, e.g. 30; got \"abc\"",
        ],
    );
    let closed = BASE.replace(
        "arrival = \"poisson\"\nrate_per_min = 10",
        "arrival = \"closed\"\nusers = 2",
    );
    let f = write(&dir, "closed.toml", &closed);
    in_words(
        &spillway(&["validate", &f, "--set", "workload.users=abc"]),
        &[
            "key 'workload.users'",
            "'users' must be a whole number of concurrent users, e.g. 10; got \"abc\"",
        ],
    );
}

#[test]
fn type_errors_of_durations_given_as_numbers() {
    let dir = tempdir();
    let f = write(&dir, "s.toml", BASE);
    in_words(
        &spillway(&["validate", &f, "--set", "client.timeout=30"]),
        &[
            "key 'client.timeout'",
            "'timeout' is a duration: write it with a unit, e.g. \"30s\"; got 30",
        ],
    );
}

#[test]
fn type_errors_of_think_times_given_as_durations() {
    let dir = tempdir();
    let f = write(
        &dir,
        "think.toml",
        &BASE.replace("name = \"chat\"", "name = \"chat\"\nthink_time_s = \"5s\""),
    );
    in_words(
        &spillway(&["validate", &f]),
        &[
            "think.toml:26:16: key 'workload.class[0].think_time_s'",
            "a number of seconds (not a duration string)",
            "got \"5s\"",
        ],
    );
    // Inside a distribution table, the inner key is named.
    let f = write(&dir, "s.toml", BASE);
    in_words(
        &spillway(&[
            "validate",
            &f,
            "--set",
            "workload.class.chat.think_time_s={dist=\"constant\",value=\"5s\"}",
        ]),
        &["'value' must be a number", "got \"5s\"", "seconds"],
    );
}

#[test]
fn type_errors_of_booleans_statuses_and_tables() {
    let dir = tempdir();
    let f = write(&dir, "s.toml", BASE);
    in_words(
        &spillway(&["validate", &f, "--set", "workload.class.chat.streaming=yes"]),
        &["'streaming' must be true or false", "got \"yes\""],
    );
    in_words(
        &spillway(&[
            "validate",
            &f,
            "--set",
            "gateway.backend=[{deployment=\"d\"}]",
            "--set",
            "gateway.retry.on=[true]",
        ]),
        &[
            "key 'gateway.retry.on[0]'",
            "a list of HTTP statuses or ranges",
            "got true",
        ],
    );
    let t = write(&dir, "table.toml", &BASE.replace("[[pool]]", "[pool]"));
    in_words(
        &spillway(&["validate", &t]),
        &[
            "key 'pool'",
            "'pool' must be an array of tables, e.g. [[pool]]; got a table",
        ],
    );
}

#[test]
fn set_with_a_dotted_model_name_suggests_quoting() {
    let dir = tempdir();
    let f = write(&dir, "s.toml", BASE);
    in_words(
        &spillway(&[
            "validate",
            &f,
            "--set",
            "models.gpt-4.1-mini.decode_tokens_per_s=90",
        ]),
        &[
            "key '--set models.gpt-4.1-mini.decode_tokens_per_s'",
            "a model name with dots must be quoted: --set 'models.\"gpt-4.1-mini\".decode_tokens_per_s=...'",
        ],
    );
    let v = write(
        &dir,
        "v.toml",
        &format!("{BASE}\n[[variant]]\nname = \"a\"\nset = {{ \"models.gpt-4.1-mini.x\" = 1 }}\n"),
    );
    in_words(
        &spillway(&["validate", &v]),
        &[
            "key 'set.models.gpt-4.1-mini.x'",
            "set = { 'models.\"gpt-4.1-mini\".x' = ... }",
        ],
    );
}

#[test]
fn invalid_utf8_names_the_position() {
    let dir = tempdir();
    let p = dir.join("latin1.toml");
    std::fs::write(&p, b"[scenario]\nname = \"caf\xe9\"\n").unwrap();
    one_line_error(
        &spillway(&["validate", p.to_str().unwrap()]),
        &["latin1.toml:2:12:", "byte 0xe9", "not UTF-8"],
    );
}
