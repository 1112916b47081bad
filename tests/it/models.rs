//! The model catalogue end to end: `spillway models`, every catalogue model in a scenario, the
//! no-price error and the PTU size rule from the command line.

use std::path::Path;

use crate::cli::{spillway, stderr, stdout, tempdir};
use crate::{parse, root};

/// Every model the catalogue must have (issue 10).
const MODELS: [&str; 9] = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "o4-mini",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
];

/// A scenario with one standard deployment of `model` and, with `ptu`, a provisioned one.
fn scenario(model: &str, ptu: Option<u32>, extra: &str) -> String {
    let provisioned = ptu.map_or(String::new(), |p| {
        format!("[[deployment]]\nname = \"ptu\"\nkind = \"provisioned\"\nmodel = \"{model}\"\nptu = {p}\nspillover = \"std\"\n")
    });
    format!(
        r#"[scenario]
name = "catalogue"
duration = "2m"
{extra}
[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "{model}"
tpm = 100_000

[[deployment]]
name = "std"
kind = "standard"
model = "{model}"
pool = "p"
tpm = 100_000
{provisioned}
[workload]
arrival = "poisson"
rate_per_min = 20

[[workload.class]]
name = "chat"
prompt_tokens = 500
completion_tokens = 200
"#
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn models_lists_the_catalogue_in_100_columns() {
    let o = spillway(&["models"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
    for m in MODELS {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("{m} "))),
            "{m} not listed:\n{out}"
        );
    }
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "model", "tok/s", "TTFT", "RPM/1K", "PTU", "TPM", "ratio", "min/step", "in", "$/1M",
            "cached", "out", "$/1M", "PTU", "$/h"
        ]
    );
    assert!(out.contains("spillway models NAME"), "{out}");
}

#[test]
fn models_name_prints_every_figure_with_its_source() {
    let o = spillway(&["models", "gpt-4o"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("gpt-4o (version 2024-11-20)\n"), "{out}");
    for key in [
        "decode_tokens_per_s = 115.0",
        "ttft_base = \"690ms\"",
        "rpm_per_1k_tpm = 6.0",
        "ptu_input_tpm = 2500.0",
        "ptu_minimum = 15",
        "ptu_regional_minimum = 50",
        "price_cached_input_per_1m = 1.25",
        "price_batch_output_per_1m = 5.0",
        "ptu_price_per_hour = 1.0",
    ] {
        assert!(out.contains(key), "{key} missing:\n{out}");
    }
    assert!(
        out.contains("[ptu-billing] Provisioned throughput unit (PTU) costs and billing"),
        "{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");

    let o = spillway(&["models", "gpt-9"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with("error: unknown model 'gpt-9': the catalogue has gpt-4o-mini, "),
        "{e}"
    );
}

#[test]
fn models_json_carries_every_figure_and_source() {
    let o = spillway(&["models", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["schema"], "spillway.models/v1");
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), MODELS.len());
    for m in models {
        for f in m["figures"].as_array().unwrap() {
            let sourced = f["value"].is_null() != f["none"].is_null()
                && (f["source"].is_string() || f["assumption"].is_string());
            assert!(sourced, "{}: {f}", m["name"]);
            if let Some(id) = f["source"].as_str() {
                assert!(v["refs"][id]["url"].is_string(), "{id} not in refs");
            }
        }
    }
}

#[test]
fn every_catalogue_model_validates_and_runs_without_figures() {
    for m in MODELS {
        // Standard deployments of every model; provisioned ones of every model with PTU figures.
        let ptu = (m != "gpt-5-nano").then_some(15);
        let set = parse(&scenario(m, ptu, ""));
        let params = &set.variants[0].models[0];
        assert_eq!(params.name, m);
        assert!(params.price_input_per_1m > 0.0 && params.price_output_per_1m > 0.0);
        assert!(params.price_cached_input_per_1m < params.price_input_per_1m);
    }
    let dir = tempdir();
    let f = write(
        &dir,
        "gpt-41-nano.toml",
        &scenario("gpt-4.1-nano", Some(20), ""),
    );
    let o = spillway(&["run", &f, "--format", "json", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let cost = v["variants"][0]["cost_usd"]["total"]
        .as_f64()
        .unwrap_or_default();
    assert!(cost > 0.0, "{v}");
}

#[test]
fn a_model_without_a_price_is_an_error_naming_the_key() {
    let dir = tempdir();
    let custom = "[models.\"my-model\"]\ndecode_tokens_per_s = 80.0\n";
    let f = write(&dir, "custom.toml", &scenario("my-model", None, custom));
    let o = spillway(&["validate", &f]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("custom.toml: key 'models.\"my-model\".price_input_per_1m'")
            && e.contains("standard deployment 'std' needs a token price of model 'my-model'")
            && e.contains("0 allowed"),
        "{e}"
    );
    // Prices given (0 is a price): it validates; a provisioned deployment then needs the
    // PTU-hour price.
    let priced = format!("{custom}price_input_per_1m = 0\nprice_output_per_1m = 0\n");
    let f = write(&dir, "priced.toml", &scenario("my-model", None, &priced));
    let o = spillway(&["validate", &f]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let f = write(&dir, "ptu.toml", &scenario("my-model", Some(3), &priced));
    let o = spillway(&["validate", &f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("key 'models.\"my-model\".ptu_price_per_hour'"),
        "{}",
        stderr(&o)
    );
    let o = spillway(&[
        "validate",
        &f,
        "--set",
        "models.\"my-model\".ptu_price_per_hour=1.5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn ptu_counts_are_checked_against_the_models_rule() {
    let ttt = root().join("scenarios/timeouts-to-triumph.toml");
    let ttt = ttt.to_str().unwrap();
    let o = spillway(&["validate", ttt, "--set", "deployment.ptu-gpt4omini.ptu=12"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("key 'deployment.ptu-gpt4omini.ptu'")
            && e.contains("takes at least 15 PTU, in steps of 5 (15, 20, 25, ...), got 12")
            && e.contains("Provisioned throughput unit (PTU) costs and billing"),
        "{e}"
    );
    let o = spillway(&["validate", ttt, "--set", "deployment.ptu-gpt4omini.ptu=65"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A regional deployment: the scenario gives the regional rule.
    let o = spillway(&[
        "validate",
        ttt,
        "--set",
        "deployment.ptu-gpt4omini.ptu=65",
        "--set",
        "models.\"gpt-4o-mini\".ptu_minimum=25",
        "--set",
        "models.\"gpt-4o-mini\".ptu_step=25",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("got 65 (set by"), "{}", stderr(&o));
}

/// The shipped scenarios and templates still validate under the new rules.
#[test]
fn shipped_scenarios_and_templates_validate() {
    for dir in ["scenarios", "templates"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let o = spillway(&["validate", path.to_str().unwrap()]);
                assert_eq!(
                    o.status.code(),
                    Some(0),
                    "{}: {}",
                    path.display(),
                    stderr(&o)
                );
            }
        }
    }
}

/// docs/models.md lists every catalogue model with the catalogue's version and decode speed.
#[test]
fn the_docs_table_follows_the_catalogue() {
    let doc = std::fs::read_to_string(root().join("docs/models.md")).unwrap();
    let c = spillway::scenario::models::catalogue::catalogue();
    for e in &c.model {
        let decode = e.decode_tokens_per_s.value.unwrap();
        let row = format!("| {} | {} | {decode} [", e.name, e.version);
        assert!(
            doc.contains(&row),
            "docs/models.md lacks the row '{row}...'"
        );
    }
    for id in c.refs.keys() {
        assert!(
            doc.contains(&format!("| {id} |")),
            "docs/models.md lacks source {id}"
        );
    }
}
