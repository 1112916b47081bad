//! `spillway calibrate`: known parameters recovered from synthetic telemetry (written here,
//! and simulated by Spillway itself), the LatencyLab and llmperf readers on fixtures and on
//! the real files in `data/`, bad rows, determinism, and the shipped example's golden files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use rand_pcg::Pcg64;
use spillway::calibrate::{self, Calibration, Options, Outcome, telemetry};

use crate::cli::{spillway, stderr, stdout, tempdir};
use crate::root;

/// Relative tolerance of a recovered parameter: within 5% of the value that generated the
/// data. (With the sample sizes below the standard errors are 0.5-1.5%.)
const TOL: f64 = 0.05;

fn close(what: &str, got: f64, want: f64) {
    eprintln!("{what}: recovered {got}, generated with {want}");
    assert!(
        (got / want - 1.0).abs() <= TOL,
        "{what}: recovered {got}, generated with {want} (tolerance {}%)",
        TOL * 100.0
    );
}

const HEAD: &str = "timestamp,model,deployment,prompt_tokens,completion_tokens,ttft_ms,duration_ms,status,retry_after_ms,streaming\n";

/// What the synthetic service does.
struct Truth {
    base_s: f64,
    prefill: f64,
    decode: f64,
    cv: f64,
    ttft_noise_cv: f64,
    /// `(load, speed factor, TTFT factor)`.
    curve: &'static [(u32, f64, f64)],
    streamed: bool,
}

/// Spillway's telemetry CSV for `truth`: requests launched in batches of 1, 2, 4 or 8 at
/// once (so every request of a batch starts with that many in flight), the next batch after
/// the slowest one ends. TTFT = (base + prompt / prefill) x TTFT factor x noise; decode at
/// decode x M x speed factor, M lognormal with mean 1 and the given cv, as Spillway draws it.
fn synthetic(truth: &Truth, cycles: usize, seed: u64) -> String {
    let mut rng = Pcg64::seed_from_u64(seed);
    let prompts = Uniform::new_inclusive(100u32, 4000).unwrap();
    let completions = Uniform::new_inclusive(50u32, 600).unwrap();
    let s2 = (1.0 + truth.cv * truth.cv).ln();
    let n2 = (1.0 + truth.ttft_noise_cv * truth.ttft_noise_cv).ln();
    let mut out = String::from(HEAD);
    let mut t = 1_700_000_000.0;
    for _ in 0..cycles {
        for &(load, speed, ttft_f) in truth.curve.iter().flat_map(|c| {
            // Lone requests four times as often, so that every level is well sampled.
            std::iter::repeat_n(c, if c.0 == 1 { 4 } else { 1 })
        }) {
            let mut longest: f64 = 0.0;
            for _ in 0..load {
                let p = prompts.sample(&mut rng);
                let k = completions.sample(&mut rng);
                let z: f64 = StandardNormal.sample(&mut rng);
                let zt: f64 = StandardNormal.sample(&mut rng);
                let m = (s2.sqrt() * z - s2 / 2.0).exp();
                let noise = (n2.sqrt() * zt - n2 / 2.0).exp();
                let ttft = (truth.base_s + p as f64 / truth.prefill) * ttft_f * noise;
                let e2e = ttft + k as f64 / (truth.decode * m * speed);
                longest = longest.max(e2e);
                let ttft_ms = if truth.streamed {
                    format!("{:.3}", ttft * 1e3)
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "{t:.6},synthetic,d1,{p},{k},{ttft_ms},{:.3},200,,{}",
                    e2e * 1e3,
                    truth.streamed
                )
                .unwrap();
            }
            t += longest + 1.0;
        }
    }
    out
}

fn calibrate_text(text: &str, holdout: f64) -> Calibration {
    let t = telemetry::read_spillway("synthetic.csv", text).unwrap();
    calibrate::calibrate(
        &t,
        &Options {
            holdout,
            ..Options::default()
        },
    )
    .unwrap()
}

#[test]
fn recovers_known_parameters_from_synthetic_streamed_telemetry() {
    let truth = Truth {
        base_s: 0.35,
        prefill: 4_000.0,
        decode: 60.0,
        cv: 0.25,
        ttft_noise_cv: 0.1,
        curve: &[(1, 1.0, 1.0), (2, 0.9, 1.1), (4, 0.75, 1.3), (8, 0.5, 1.8)],
        streamed: true,
    };
    let c = calibrate_text(&synthetic(&truth, 150, 11), 0.3);
    let m = &c.models[0];
    let f = m.fit.as_ref().unwrap();
    let p = &f.params;
    close("ttft_base", p.ttft_base_s, truth.base_s);
    close(
        "prefill_tokens_per_s",
        p.prefill_tokens_per_s.unwrap(),
        truth.prefill,
    );
    close(
        "decode_tokens_per_s",
        p.decode_tokens_per_s.unwrap(),
        truth.decode,
    );
    close(
        "decode_variation_cv",
        p.decode_variation_cv.unwrap(),
        truth.cv,
    );
    let speed = p
        .speed_curve
        .as_ref()
        .expect("four load levels: a speed curve");
    let ttft = p
        .ttft_curve
        .as_ref()
        .expect("four load levels: a TTFT curve");
    assert_eq!(speed.len(), 4, "{speed:?}");
    for (k, &(load, s, tf)) in truth.curve.iter().enumerate() {
        assert_eq!(speed[k][0], load as f64);
        assert_eq!(ttft[k][0], load as f64);
        close(&format!("speed factor at {load}"), speed[k][1], s);
        close(&format!("TTFT factor at {load}"), ttft[k][1], tf);
    }
    // The model is right, so the simulated distribution matches the held-out one.
    let e = m.held_out.e2e.unwrap();
    assert_eq!(e.n, m.test);
    assert!(e.ks < 0.08, "KS distance {}", e.ks);
    for key in ["speed_curve", "ttft_curve"] {
        let want = format!("{key}: from 4 load levels between 1 and 8");
        assert!(
            f.notes.iter().any(|n| n.starts_with(&want)),
            "{:?}",
            f.notes
        );
    }
}

#[test]
fn recovers_parameters_from_non_streamed_telemetry() {
    let truth = Truth {
        base_s: 0.5,
        prefill: 2_500.0,
        decode: 45.0,
        cv: 0.2,
        ttft_noise_cv: 0.0,
        curve: &[(1, 1.0, 1.0)],
        streamed: false,
    };
    let c = calibrate_text(&synthetic(&truth, 600, 5), 0.3);
    let f = c.models[0].fit.as_ref().unwrap();
    let p = &f.params;
    close("ttft_base", p.ttft_base_s, truth.base_s);
    close(
        "prefill_tokens_per_s",
        p.prefill_tokens_per_s.unwrap(),
        truth.prefill,
    );
    close(
        "decode_tokens_per_s",
        p.decode_tokens_per_s.unwrap(),
        truth.decode,
    );
    close(
        "decode_variation_cv",
        p.decode_variation_cv.unwrap(),
        truth.cv,
    );
    assert!(p.ttft_curve.is_none() && p.speed_curve.is_none());
    assert!(c.models[0].held_out.ttft.is_none(), "no TTFT to score");
    assert!(
        f.notes
            .iter()
            .any(|n| n.starts_with("no streamed requests")),
        "{:?}",
        f.notes
    );
}

#[test]
fn recovers_what_spillway_itself_simulated() {
    // Spillway serves a model with known parameters; its per-request output becomes
    // telemetry; calibration must give the parameters back.
    let dir = tempdir();
    let scenario = dir.join("roundtrip.toml");
    std::fs::write(
        &scenario,
        r#"
[scenario]
name = "calibration-roundtrip"
duration = "40m"
seed = 7

[models."test-model"]
ttft_base = "400ms"
prefill_tokens_per_s = 5000.0
decode_tokens_per_s = 40.0
decode_variation_cv = 0.3
# Prices are not part of the fit; any price serves here.
price_input_per_1m = 0.0
price_output_per_1m = 0.0

[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "test-model"
tpm = 50_000_000

[[deployment]]
name = "d"
kind = "standard"
model = "test-model"
pool = "p"
tpm = 50_000_000

[workload]
arrival = "poisson"
rate_per_min = 100

[[workload.class]]
name = "c"
prompt_tokens = { dist = "uniform", min = 100, max = 6000 }
completion_tokens = { dist = "uniform", min = 20, max = 400 }
streaming = true
"#,
    )
    .unwrap();
    let out = dir.join("run");
    let o = spillway(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--requests-csv",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(out.join("requests-calibration-roundtrip.csv"))
        .or_else(|_| {
            let f = std::fs::read_dir(&out)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with("requests-")
                })
                .expect("a requests CSV");
            std::fs::read_to_string(f)
        })
        .unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let h = rows.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let mut tele = String::from(HEAD);
    for r in rows.records() {
        let r = r.unwrap();
        let secs = |name: &str| r[col(name)].parse::<f64>().unwrap();
        writeln!(
            tele,
            "{},test-model,d,{},{},{:.3},{:.3},{},,true",
            &r[col("start_s")],
            &r[col("prompt_tokens")],
            &r[col("completion_tokens")],
            secs("ttft_s") * 1e3,
            secs("e2e_s") * 1e3,
            &r[col("status")]
        )
        .unwrap();
    }
    let c = calibrate_text(&tele, 0.3);
    let m = &c.models[0];
    assert!(m.requests > 3500, "{} requests", m.requests);
    let p = &m.fit.as_ref().unwrap().params;
    close("ttft_base", p.ttft_base_s, 0.4);
    close(
        "prefill_tokens_per_s",
        p.prefill_tokens_per_s.unwrap(),
        5000.0,
    );
    close("decode_tokens_per_s", p.decode_tokens_per_s.unwrap(), 40.0);
    close("decode_variation_cv", p.decode_variation_cv.unwrap(), 0.3);
    // Load varied (Poisson arrivals), but this deployment does not slow down with it.
    let f = m.fit.as_ref().unwrap();
    assert!(p.speed_curve.is_none() && p.ttft_curve.is_none(), "{p:?}");
    assert!(
        f.notes
            .iter()
            .any(|n| n.starts_with("speed_curve: not identified: load varied")),
        "{:?}",
        f.notes
    );
    // Spillway's TTFT has no spread: the fitted line predicts it exactly.
    assert!(
        m.held_out.ttft.unwrap().p95_ape < 0.01,
        "{:?}",
        m.held_out.ttft
    );
}

#[test]
fn says_plainly_what_the_data_cannot_identify() {
    // Every prompt the same size, one request at a time.
    let mut text = String::from(HEAD);
    for i in 0..60 {
        let e2e = 1500.0 + 37.0 * (i % 7) as f64;
        writeln!(
            text,
            "{},m,d,550,150,{},{e2e},200,,true",
            i * 10,
            300 + i % 5
        )
        .unwrap();
    }
    let c = calibrate_text(&text, 0.3);
    let f = c.models[0].fit.as_ref().unwrap();
    assert!(f.params.prefill_tokens_per_s.is_none());
    assert!(f.params.speed_curve.is_none() && f.params.ttft_curve.is_none());
    let notes = f.notes.join("\n");
    assert!(
        notes.contains("every prompt has the same size (550 tokens)"),
        "{notes}"
    );
    assert!(
        notes.contains("no load variation, no load curve"),
        "{notes}"
    );
    let toml = calibrate::render::models_toml(&c);
    assert!(
        toml.contains("# prefill_tokens_per_s: not identified (see above)\n"),
        "{toml}"
    );
    assert!(
        toml.contains("# speed_curve: not identified (see above)\n"),
        "{toml}"
    );
    let json: serde_json::Value = serde_json::from_str(&calibrate::render::json(&c)).unwrap();
    assert!(json["models"][0]["params"]["prefill_tokens_per_s"].is_null());
    // Too few successes: nothing fitted, and the outputs say so.
    let few = format!("{HEAD}1,m,d,5,5,1,2,200,,true\n2,m,d,5,5,,,429,1000,false\n");
    let c = calibrate_text(&few, 0.3);
    assert!(
        c.models[0]
            .fit
            .as_ref()
            .unwrap_err()
            .contains("at least 5 needed")
    );
    assert!(calibrate::render::models_toml(&c).contains("# Not fitted:"));
}

#[test]
fn a_fitted_block_pastes_into_a_scenario() {
    let t = calibrate::read(&root().join("data/latencylab/prompt.csv"), None, 4.0).unwrap();
    let c = calibrate::calibrate(
        &t,
        &Options {
            model: Some("OpenAI_gpt-4-1106-preview".into()),
            ..Options::default()
        },
    )
    .unwrap();
    let block = calibrate::render::models_toml(&c);
    // Telemetry has no prices: the user adds them to the pasted block (the block says so).
    let text = format!(
        "[scenario]\nname = \"pasted\"\nduration = \"1m\"\n\n{block}price_input_per_1m = 0\nprice_output_per_1m = 0\n\n\
         [[pool]]\nname = \"p\"\nsubscription = \"s\"\nregion = \"r\"\nmodel = \"OpenAI_gpt-4-1106-preview\"\ntpm = 100000\n\n\
         [[deployment]]\nname = \"d\"\nkind = \"standard\"\nmodel = \"OpenAI_gpt-4-1106-preview\"\npool = \"p\"\ntpm = 100000\n\n\
         [workload]\narrival = \"poisson\"\nrate_per_min = 1\n\n\
         [[workload.class]]\nname = \"c\"\nprompt_tokens = 100\ncompletion_tokens = 100\n"
    );
    let set = crate::parse(&text);
    let p = &c.models[0].fit.as_ref().unwrap().params;
    let sc = &set.variants[0];
    let s = &sc.deployments[0].serving;
    let (base, _) = p.scenario_ttft();
    assert_eq!(s.ttft_base.as_secs_f64(), base);
    // The fitted median scaled by sqrt(1 + cv^2), so the simulated median is the fitted one.
    let cv = p.ttft_variation_cv.unwrap();
    assert_eq!(s.ttft_variation_cv, cv);
    assert!((base / p.ttft_base_s - (1.0 + cv * cv).sqrt()).abs() < 0.002);
    assert_eq!(s.decode_tokens_per_s, p.decode_tokens_per_s.unwrap());
    assert_eq!(s.decode_variation_cv, p.decode_variation_cv.unwrap());
}

fn count(c: &Calibration, f: impl Fn(&calibrate::Mix) -> usize) -> usize {
    c.models
        .iter()
        .map(|m| f(&m.mix_train) + f(&m.mix_test))
        .sum()
}

#[test]
fn latencylab_real_file() {
    let t = calibrate::read(&root().join("data/latencylab/prompt.csv"), None, 4.0).unwrap();
    assert_eq!(t.format, calibrate::Format::Latencylab);
    assert_eq!(t.requests.len(), 306);
    assert_eq!(telemetry::model_names(&t.requests).len(), 6);
    let timeouts: Vec<&calibrate::Request> = t
        .requests
        .iter()
        .filter(|r| r.outcome == Outcome::Timeout)
        .collect();
    assert_eq!(timeouts.len(), 9);
    assert!(
        timeouts
            .iter()
            .all(|r| r.model == "Azure_gpt-4-1106-preview")
    );
    // 250..4,250 characters at 4 per token.
    let prompts: std::collections::BTreeSet<u32> = t
        .requests
        .iter()
        .filter(|r| r.outcome == Outcome::Ok)
        .map(|r| r.prompt_tokens)
        .collect();
    assert_eq!(
        (prompts.first(), prompts.last(), prompts.len()),
        (Some(&63), Some(&1063), 17)
    );
    let c = calibrate::calibrate(&t, &Options::default()).unwrap();
    assert_eq!(c.models.len(), 6);
    for m in &c.models {
        let f = m.fit.as_ref().unwrap();
        // One request at a time per endpoint: no load curve can be identified.
        assert!(f.params.speed_curve.is_none(), "{}", m.name);
        assert!(
            m.held_out.e2e.is_some() && m.held_out.ttft.is_some(),
            "{}",
            m.name
        );
    }
    assert_eq!(count(&c, |m| m.timeout), 9);
}

#[test]
fn llmperf_real_files() {
    let dir = root().join("data/llmperf-leaderboard/individual");
    let t = calibrate::read(&dir, None, 4.0).unwrap();
    assert_eq!(t.format, calibrate::Format::Llmperf);
    assert_eq!(t.requests.len(), 2845);
    assert!(
        t.requests
            .iter()
            .all(|r| r.start_s.is_none() && r.prompt_tokens == 550)
    );
    let c = calibrate::calibrate(&t, &Options::default()).unwrap();
    assert_eq!(c.models.len(), 19);
    assert_eq!(count(&c, |m| m.rate_limited), 392);
    let lepton = c.models.iter().find(|m| m.name == "lepton_7b").unwrap();
    assert_eq!(
        lepton.mix_train.rate_limited + lepton.mix_test.rate_limited,
        130
    );
    let toml = calibrate::render::models_toml(&c);
    assert!(
        toml.contains("# name = \"lepton_7b-capacity-429\"\n# kind = \"capacity-429\"\n"),
        "{toml}"
    );
    let notes = lepton.fit.as_ref().unwrap().notes.join("\n");
    assert!(
        notes.contains("every prompt has the same size (550 tokens)"),
        "{notes}"
    );
    assert!(notes.contains("the requests have no timestamps"), "{notes}");
}

/// A small LatencyLab file: two endpoints, three rows, one failure.
const LATENCYLAB_FIXTURE: &str = "timestamp,A success,A input_characters,A output_characters,A first_token_time_seconds,A first_sentence_time_seconds,A total_request_time_seconds,A chunks_time_seconds,B success,B input_characters,B output_characters,B first_token_time_seconds,B first_sentence_time_seconds,B total_request_time_seconds,B chunks_time_seconds
2024-04-12 10:32:28.690452,True,250,595,0.40,0.47,1.75,\"[0.018, 0.0002]\",False,250,0,0.0,0.0,0.0,[]
2024-04-12 10:33:32.321344,True,500,1078,0.45,0.52,2.84,\"[0.034]\",True,500,924,1.10,1.10,4.48,\"[0.0004, 0.66]\"
2024-04-12 10:34:40.000000,True,750,800,0.43,0.50,2.10,[],True,750,700,1.00,1.05,3.90,[]
";

#[test]
fn latencylab_and_llmperf_fixtures_through_the_command() {
    let dir = tempdir();
    let ll = dir.join("prompt.csv");
    std::fs::write(&ll, LATENCYLAB_FIXTURE).unwrap();
    // Too few requests to fit, but read, counted and reported.
    let o = spillway(&["calibrate", ll.to_str().unwrap(), "--holdout", "0.3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("(format latencylab)"), "{out}");
    assert!(
        out.contains("# A: 3 requests, 2 for fitting, 1 held out."),
        "{out}"
    );
    assert!(out.contains("timeouts (408, 504, no answer)"), "{out}");
    let lp = dir.join("lp");
    std::fs::create_dir_all(&lp).unwrap();
    let req = |code: &str, ttft: f64, e2e: f64, out: u32| {
        format!(
            "{{\"error_code\": {code}, \"ttft_s\": {ttft}, \"end_to_end_latency_s\": {e2e}, \"number_input_tokens\": 550, \"number_output_tokens\": {out}}}"
        )
    };
    let mut a: Vec<String> = (0..20)
        .map(|i| {
            req(
                "null",
                0.3 + 0.01 * (i % 3) as f64,
                2.0 + 0.1 * (i % 4) as f64,
                150,
            )
        })
        .collect();
    a.push(req("429", 0.0, 0.0, 1));
    std::fs::write(
        lp.join("prov_7b.json"),
        format!("[\n{}\n]\n", a.join(",\n")),
    )
    .unwrap();
    std::fs::write(
        lp.join("other_13b.json"),
        format!("[{}]", req("-1", 0.0, 0.0, 1)),
    )
    .unwrap();
    let o = spillway(&[
        "calibrate",
        lp.to_str().unwrap(),
        "--model",
        "prov_7b",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("[models.\"prov_7b\"]\nttft_base = \""),
        "{out}"
    );
    assert!(!out.contains("other_13b"), "{out}");
    assert!(stderr(&o).is_empty(), "--quiet: {}", stderr(&o));
    let o = spillway(&["calibrate", lp.to_str().unwrap(), "--model", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("its models are other_13b, prov_7b"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_telemetry_rows_exit_2_naming_the_place_and_write_nothing() {
    let dir = tempdir();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "bad.csv",
            format!("{HEAD}2024-04-12T10:00:00Z,m,d,100,20,450,900,200,,true\n2024-04-12T10:00:01Z,m,d,100,20,fast,900,200,,true\n"),
            "bad.csv:3:33: column 'ttft_ms': 'fast' is not a number of milliseconds",
        ),
        (
            "status.csv",
            format!("{HEAD}1,m,d,100,20,,900,999,,false\n"),
            "status.csv:2:19: column 'status': '999' is not a status",
        ),
        (
            "prompt.csv",
            LATENCYLAB_FIXTURE.replacen("True,500,1078", "True,500,lots", 1),
            "prompt.csv:3:37: column 'A output_characters': 'lots' is not a token count",
        ),
        (
            "run.json",
            "[\n{\"error_code\": null, \"ttft_s\": 0.5, \"end_to_end_latency_s\": 1.0, \"number_input_tokens\": 5, \"number_output_tokens\": 5},\n{\"error_code\": null, \"ttft_s\": -1, \"end_to_end_latency_s\": 1.0}\n]".to_string(),
            "run.json:3:22: key 'ttft_s': -1 is not a duration in seconds",
        ),
    ];
    for (name, text, want) in cases {
        let f = dir.join(name);
        std::fs::write(&f, text).unwrap();
        let out = dir.join(format!("out-{name}"));
        let o = spillway(&[
            "calibrate",
            f.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(want), "{name}: got {err}");
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
        assert!(stdout(&o).is_empty(), "{name}: printed {}", stdout(&o));
        assert!(!out.exists(), "{name}: {} was written", out.display());
    }
    let o = spillway(&[
        "calibrate",
        dir.join("bad.csv").to_str().unwrap(),
        "--holdout",
        "1.5",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let unknown = dir.join("other.csv");
    std::fs::write(&unknown, "when,who,what\n1,2,3\n").unwrap();
    let o = spillway(&["calibrate", unknown.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot tell the telemetry format"),
        "{}",
        stderr(&o)
    );
}

fn run_calibrate(file: &str, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spillway"))
        .current_dir(root())
        .args(["calibrate", file, "--out", out.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn same_telemetry_gives_the_same_bytes() {
    let dir = tempdir();
    let (a, b) = (dir.join("a"), dir.join("b"));
    for d in [&a, &b] {
        let o = run_calibrate("data/llmperf-leaderboard/individual", d);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let names: Vec<_> = files(&a)
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    for n in &names {
        assert_eq!(
            std::fs::read(a.join(n)).unwrap(),
            std::fs::read(b.join(n)).unwrap(),
            "{n:?} differs between two runs"
        );
    }
    let html = std::fs::read_to_string(a.join("calibration.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.matches("<svg").count() == 38);
    for banned in ["<script", "src=", "href=\"http", "url("] {
        assert!(
            !html.contains(banned),
            "the page fetches or runs something: {banned}"
        );
    }
}

/// The shipped example: `results/latencylab-calibration/` is what the command writes today
/// (regenerate with `scripts/regenerate-results.sh` after an intended change).
#[test]
fn calibration_golden_results_match() {
    let golden = root().join("results/latencylab-calibration");
    let out = tempdir().join("latencylab-calibration");
    let o = run_calibrate("data/latencylab/prompt.csv", &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let (want, got) = (files(&golden), files(&out));
    let names = |v: &[PathBuf]| -> Vec<String> {
        v.iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(&want), names(&got), "file lists differ");
    for (w, g) in want.iter().zip(&got) {
        let (w_text, g_text) = (
            std::fs::read_to_string(w).unwrap(),
            std::fs::read_to_string(g).unwrap(),
        );
        if w_text != g_text {
            let line = w_text
                .lines()
                .zip(g_text.lines())
                .position(|(a, b)| a != b)
                .map_or(
                    w_text.lines().count().min(g_text.lines().count()) + 1,
                    |k| k + 1,
                );
            panic!(
                "{} differs from a fresh run at line {line} (run scripts/regenerate-results.sh if the change is intended)",
                w.display()
            );
        }
    }
}

/// `--out` is all or nothing: a second calibration replaces the first's files; a directory
/// holding files Spillway did not write is refused (exit 2) and left as it was.
#[test]
fn calibrate_out_is_all_or_nothing() {
    let dir = tempdir();
    let data = root().join("data/latencylab/prompt.csv");
    let out = dir.join("cal");
    for _ in 0..2 {
        let o = spillway(&[
            "calibrate",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "calibration.html",
            "calibration.json",
            "calibration.md",
            "models.toml"
        ]
    );
    let other = dir.join("notes");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("mine.txt"), "keep me").unwrap();
    let o = spillway(&[
        "calibrate",
        data.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let left: Vec<_> = std::fs::read_dir(&other).unwrap().collect();
    assert_eq!(left.len(), 1, "only the user's file stays");
    // Nothing staged is left beside the target either.
    let beside: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        beside.iter().all(|n| !n.contains("spillway-tmp")),
        "{beside:?}"
    );
}
