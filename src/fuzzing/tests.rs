//! Generated scenarios: none may panic, and every accepted one that runs gives finite numbers
//! in its summary JSON and table.

use proptest::prelude::*;

use super::*;

/// A number from a wide, log-spread range, sometimes an extreme the validators must refuse.
fn wide(lo: f64, hi: f64) -> impl Strategy<Value = String> {
    prop_oneof![
        40 => (lo.ln()..hi.ln()).prop_map(|x| format!("{:?}", x.exp())),
        1 => prop::sample::select(vec![
            "0", "0.0", "-1", "1e308", "5e-324", "1e-300", "nan", "inf", "4294967295",
        ])
        .prop_map(str::to_string),
    ]
}

/// A duration string from `min_s` to `max_s` seconds, sometimes an odd one.
fn duration(min_s: u64, max_s: u64) -> impl Strategy<Value = String> {
    prop_oneof![
        20 => (min_s..=max_s).prop_map(|s| format!("\"{s}s\"")),
        1 => prop::sample::select(vec!["\"0s\"", "\"1us\"", "\"1.5ms\"", "\"24h\"", "\"-1s\""])
            .prop_map(str::to_string),
    ]
}

/// A token distribution.
fn tokens() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..5_000).prop_map(|v| v.to_string()),
        (1u32..3_000, 0u32..2_000)
            .prop_map(|(m, sd)| format!("{{ dist = \"normal\", mean = {m}, sd = {sd} }}")),
        (1u32..3_000, wide(0.01, 5.0))
            .prop_map(|(m, cv)| format!("{{ dist = \"lognormal\", mean = {m}, cv = {cv} }}")),
        (1u32..3_000).prop_map(|m| format!("{{ dist = \"exponential\", mean = {m} }}")),
        (1u32..2_000, 0u32..2_000)
            .prop_map(|(lo, w)| format!("{{ dist = \"uniform\", min = {lo}, max = {} }}", lo + w)),
    ]
}

/// A session class.
fn class(i: usize) -> impl Strategy<Value = String> {
    (
        1u32..4,
        tokens(),
        tokens(),
        prop::option::of(1u32..4_000),
        any::<bool>(),
        wide(0.001, 30.0),
        0u32..5,
    )
        .prop_map(move |(steps, p, c, max, stream, think, weight)| {
            let max = max
                .map(|m| format!("max_tokens = {m}\n"))
                .unwrap_or_default();
            format!(
                "[[workload.class]]\nname = \"c{i}\"\nsteps = {steps}\nweight = {weight}\n\
                 prompt_tokens = {p}\ncompletion_tokens = {c}\n{max}streaming = {stream}\n\
                 think_time_s = {think}\n"
            )
        })
}

/// The workload table.
fn workload() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..30, wide(0.001, 60.0)).prop_map(|(u, t)| format!(
            "[workload]\narrival = \"closed\"\nusers = {u}\nuser_think_time_s = {t}\n"
        )),
        (prop::sample::select(vec!["poisson", "constant"]), wide(0.01, 200.0)).prop_map(
            |(a, r)| format!("[workload]\narrival = \"{a}\"\nrate_per_min = {r}\n")
        ),
        (wide(0.01, 100.0), wide(0.01, 100.0)).prop_map(|(r1, r2)| format!(
            "[workload]\narrival = \"poisson\"\nschedule = [{{ at = \"0s\", rate_per_min = {r1} }}, {{ at = \"30s\", rate_per_min = {r2} }}]\n"
        )),
    ]
}

/// Model overrides of gpt-4o-mini, each key sometimes present.
fn model() -> impl Strategy<Value = String> {
    let key = |k: &'static str, v: BoxedStrategy<String>| {
        prop::option::of(v).prop_map(move |v| v.map(|v| format!("{k} = {v}\n")).unwrap_or_default())
    };
    (
        key("decode_tokens_per_s", wide(0.01, 1e6).boxed()),
        key("prefill_tokens_per_s", wide(1.0, 1e9).boxed()),
        key("decode_variation_cv", wide(0.001, 3.0).boxed()),
        key("price_input_per_1m", wide(0.001, 1e3).boxed()),
        key("price_output_per_1m", wide(0.001, 1e3).boxed()),
        key("ptu_input_tpm", wide(1.0, 1e6).boxed()),
        key("ptu_output_ratio", wide(0.01, 100.0).boxed()),
        key(
            "speed_curve",
            (2u32..64, wide(0.01, 1.0).boxed())
                .prop_map(|(n, f)| format!("[[1, 1.0], [{n}, {f}]]"))
                .boxed(),
        ),
    )
        .prop_map(|(a, b, c, d, e, f, g, h)| {
            format!("[models.\"gpt-4o-mini\"]\n{a}{b}{c}{d}{e}{f}{g}{h}")
        })
}

/// The deployments (a standard one, sometimes a PTU one spilling over to it), client, faults
/// and gateway.
fn serving() -> impl Strategy<Value = String> {
    (
        prop_oneof![20 => (1u64..10_000).prop_map(|k| k * 1000), 1 => Just(0u64)],
        // PTU: mostly sizes the catalogue's rule allows (15, 20, 25, ...), sometimes any.
        prop::option::of(prop_oneof![20 => (0u32..40).prop_map(|k| 15 + 5 * k), 1 => 1u32..200]),
        any::<bool>(),
        prop::option::of((0u32..8, duration(0, 20), duration(1, 120))),
        prop::option::of(prop::sample::select(vec!["outage", "errors", "capacity-429"])),
        prop::option::of(prop::sample::select(vec![
            "round-robin",
            "least-utilized",
            "lowest-latency",
            "power-of-two",
        ])),
        prop::option::of(duration(1, 120)),
    )
        .prop_map(|(tpm, ptu, spill, client, fault, gateway, window)| {
            let mut s = format!(
                "[[pool]]\nname = \"p\"\nsubscription = \"s\"\nregion = \"r\"\nmodel = \"gpt-4o-mini\"\ntpm = {tpm}\n\n\
                 [[deployment]]\nname = \"std\"\nkind = \"standard\"\nmodel = \"gpt-4o-mini\"\npool = \"p\"\ntpm = {tpm}\n"
            );
            if let Some(w) = window {
                s.push_str(&format!("completion_window = {w}\n"));
            }
            if let Some(ptu) = ptu {
                s.push_str(&format!(
                    "\n[[deployment]]\nname = \"ptu\"\nkind = \"provisioned\"\nmodel = \"gpt-4o-mini\"\nregion = \"r\"\nptu = {ptu}\n{}",
                    if spill { "spillover = \"std\"\n" } else { "" }
                ));
            }
            if let Some((retries, backoff, timeout)) = client {
                s.push_str(&format!(
                    "\n[client]\nmax_retries = {retries}\nbackoff_initial = {backoff}\ntimeout = {timeout}\n"
                ));
            }
            match fault {
                Some("outage") => s.push_str(
                    "\n[[fault]]\nname = \"f\"\nkind = \"outage\"\ndeployment = \"std\"\nfrom = \"10s\"\nto = \"40s\"\n",
                ),
                Some(kind) => s.push_str(&format!(
                    "\n[[fault]]\nname = \"f\"\nkind = \"{kind}\"\nrate = 0.2\n"
                )),
                None => {}
            }
            if let Some(policy) = gateway {
                s.push_str(&format!(
                    "\n[gateway]\npolicy = \"{policy}\"\n[[gateway.backend]]\ndeployment = \"std\"\n"
                ));
                if ptu.is_some() {
                    s.push_str("[[gateway.backend]]\ndeployment = \"ptu\"\n");
                }
            }
            s
        })
}

/// A whole scenario file.
fn scenario_text() -> impl Strategy<Value = String> {
    (
        0..=i64::MAX as u64,
        duration(1, 600),
        duration(0, 300),
        duration(1, 120),
        prop::option::of(model()),
        serving(),
        workload(),
        prop::collection::vec(0usize..1, 1..3),
    )
        .prop_flat_map(|(seed, dur, drain, interval, model, serving, workload, n)| {
            let classes: Vec<_> = (0..n.len()).map(class).collect();
            classes.prop_map(move |classes| {
                format!(
                    "[scenario]\nname = \"gen\"\nseed = {seed}\nduration = {dur}\ndrain = {drain}\nmetrics_interval = {interval}\n\n{}\n{serving}\n{workload}\n{}",
                    model.clone().unwrap_or_default(),
                    classes.join("\n")
                )
            })
        })
}

/// Cases of the property test: 256, or `SPILLWAY_PROPTEST_CASES` for a longer run by hand
/// (e.g. `SPILLWAY_PROPTEST_CASES=20000 cargo test --release --lib generated_scenarios`).
fn cases() -> u32 {
    std::env::var("SPILLWAY_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(crate::testkit::proptest_config(cases()))]

    /// Issue 13 point 5: no generated scenario panics (parse, validate, estimate, run) or
    /// gives a non-finite number in its summary JSON or table.
    #[test]
    fn generated_scenarios_never_panic_and_give_finite_numbers(text in scenario_text()) {
        scenario(text.as_bytes());
    }
}

/// The generator is not vacuous: most of what it makes is accepted and run.
#[test]
fn most_generated_scenarios_are_valid_and_run() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::new(crate::testkit::proptest_config(1));
    let strategy = scenario_text();
    let (mut valid, mut ran) = (0, 0);
    for _ in 0..200 {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        let r = crate::scenario::parse(&text, "gen.toml", &[], None);
        if let Err(e) = &r {
            eprintln!("{e}");
        }
        if let Ok(set) = r {
            valid += 1;
            if runner::estimate(&set.variants[0]).events <= MAX_RUN_EVENTS {
                ran += 1;
            }
        }
    }
    eprintln!("valid {valid}, ran {ran} of 200");
    assert!(valid >= 100 && ran >= 50, "valid {valid}, ran {ran} of 200");
}

#[test]
fn a_null_or_infinite_number_is_found() {
    let v = serde_json::json!({"a": [1.0, {"b": null}]});
    assert_eq!(non_finite(&v, "").as_deref(), Some(".a[1].b"));
    assert_eq!(non_finite(&serde_json::json!({"a": 1}), ""), None);
}

/// The seeds of `trace` and `telemetry` reach past the readers: each trace seed but the bad
/// ones yields records, and each telemetry seed is read and calibrated. Without this, a seed
/// a reader refuses would leave the fuzzer mutating from nothing.
#[test]
fn trace_and_telemetry_seeds_are_accepted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let seeds = |target: &str| {
        let mut v: Vec<PathBuf> = std::fs::read_dir(root.join(target))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("seed-")
            })
            .collect();
        v.sort();
        v
    };
    let dir = std::env::temp_dir().join(format!("spillway-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut read = 0;
    for p in seeds("trace") {
        let bytes = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains("bad-") || name.contains("unsorted") || bytes[0] != 0 {
            continue;
        }
        let f = dir.join(&name);
        std::fs::write(&f, &bytes[1..]).unwrap();
        let mut r = crate::trace::open(&crate::scenario::TraceSpec::new(&f)).unwrap();
        let mut rec = crate::trace::TraceRecord::default();
        assert!(r.read_into(&mut rec).unwrap(), "{name}: no record");
        read += 1;
    }
    assert!(read >= 7, "{read} trace seeds read");
    let formats = [
        ("telemetry.csv", crate::calibrate::Format::Spillway),
        ("latencylab.csv", crate::calibrate::Format::Latencylab),
        ("model.json", crate::calibrate::Format::Llmperf),
    ];
    let telemetry = seeds("telemetry");
    assert!(telemetry.len() >= 4, "{} telemetry seeds", telemetry.len());
    for p in telemetry {
        let bytes = std::fs::read(&p).unwrap();
        let (name, format) = formats[usize::from(bytes[0] % 3)];
        let f = dir.join(name);
        std::fs::write(&f, &bytes[1..]).unwrap();
        let t = crate::calibrate::read(&f, Some(format), 4.0)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        crate::calibrate::calibrate(&t, &crate::calibrate::Options::default())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
