//! Getting started: `spillway init` and its templates.

use std::path::Path;

use spillway::cli::init::Template;

use crate::cli::{spillway, stderr, stdout, tempdir};

/// Runs the binary in `dir`.
fn spillway_in(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

#[test]
fn every_template_inits_validates_and_runs() {
    let dir = tempdir();
    for t in Template::ALL {
        let path = dir.join(format!("{}.toml", t.name()));
        let p = path.to_str().unwrap();
        let o = spillway(&["init", "--template", t.name(), p]);
        assert!(o.status.success(), "init {}: {}", t.name(), stderr(&o));
        assert!(
            stdout(&o).contains(&format!("spillway run {p}")),
            "{}",
            stdout(&o)
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("{file}"), "{}: marker left", t.name());
        assert!(
            text.contains(&format!("spillway validate {p} ")),
            "{}",
            t.name()
        );
        for cmd in [&["validate", p][..], &["run", p, "-q"][..]] {
            let o = spillway(cmd);
            assert!(
                o.status.success(),
                "{} {}: {}",
                cmd[0],
                t.name(),
                stderr(&o)
            );
        }
    }
}

#[test]
fn init_writes_scenario_toml_by_default_and_never_overwrites_without_force() {
    let dir = tempdir();
    let o = spillway_in(&dir, &["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let written = std::fs::read_to_string(dir.join("scenario.toml")).unwrap();
    assert!(written.contains("name = \"chat-payg\""), "default template");

    std::fs::write(dir.join("scenario.toml"), "mine").unwrap();
    let o = spillway_in(&dir, &["init", "--template", "agent-flow"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("scenario.toml: already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("scenario.toml")).unwrap(),
        "mine"
    );

    let o = spillway_in(&dir, &["init", "--template", "agent-flow", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.join("scenario.toml")).unwrap();
    assert!(text.contains("name = \"agent-flow\""));

    // A directory gets DIR/scenario.toml; missing parents are created.
    std::fs::create_dir(dir.join("d")).unwrap();
    let o = spillway_in(&dir, &["init", "d", "-t", "ptu-spillover"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("d/scenario.toml").is_file());
    let o = spillway_in(&dir, &["init", "a/b/gw.toml", "-t", "gateway-regions"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("a/b/gw.toml").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn init_list_and_unknown_template() {
    let o = spillway(&["init", "--list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for t in Template::ALL {
        assert!(
            out.lines().any(|l| l.starts_with(t.name())),
            "{} missing: {out}",
            t.name()
        );
    }
    let o = spillway(&["init", "--template", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("nope") && err.contains("chat-payg"), "{err}");
}

/// Every `templates/*.toml` file is a template `init` offers, and every parameter in it
/// carries a comment (on its line or the line above) saying what it is and where it comes
/// from; only the labels of variants (`name`, `description`) are exempt.
#[test]
fn templates_are_all_offered_and_every_key_is_commented() {
    let mut files: Vec<String> = std::fs::read_dir(crate::root().join("templates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut offered: Vec<String> = Template::ALL
        .iter()
        .map(|t| format!("{}.toml", t.name()))
        .collect();
    offered.sort();
    assert_eq!(files, offered);

    let sources = ["[facts]", "[yours]", "[assume]"];
    for t in Template::ALL {
        let text = t.text();
        assert_eq!(
            text,
            std::fs::read_to_string(
                crate::root()
                    .join("templates")
                    .join(format!("{}.toml", t.name()))
            )
            .unwrap()
        );
        for s in sources {
            assert!(text.contains(s), "{}: no {s} tag", t.name());
        }
        assert!(text.contains("docs/scenario.md"), "{}", t.name());
        let mut table = "";
        let mut prev = "";
        let mut keys = 0;
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.starts_with('[') && !l.contains('=') {
                table = l;
                prev = l;
                continue;
            }
            let is_key = l
                .split_once('=')
                .is_some_and(|(k, _)| !k.trim().is_empty() && !k.contains('#') && !k.contains('{'));
            let label =
                table == "[[variant]]" && (l.starts_with("name") || l.starts_with("description"));
            if is_key && !label {
                keys += 1;
                assert!(
                    l.contains('#') || prev.starts_with('#'),
                    "{} line {}: no comment: {l}",
                    t.name(),
                    i + 1
                );
            }
            if !l.is_empty() {
                prev = l;
            }
        }
        assert!(keys > 30, "{}: only {keys} keys seen", t.name());
    }
}

#[test]
fn completions_name_every_subcommand_in_every_shell() {
    let names = [
        "run",
        "validate",
        "sweep",
        "check",
        "merge",
        "report",
        "init",
        "completions",
        "man",
    ];
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = spillway(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        for n in names {
            assert!(script.contains(n), "{shell} completion lacks {n}");
        }
    }
    let o = spillway(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bash"), "{}", stderr(&o));
}

/// The bash script really completes: subcommands after `spillway`, template names after
/// `init --template`.
#[test]
fn bash_completion_completes_subcommands_and_templates() {
    let dir = tempdir();
    let script = dir.join("spillway.bash");
    std::fs::write(&script, spillway(&["completions", "bash"]).stdout).unwrap();
    let probe = format!(
        "source '{}'; COMP_WORDS=(spillway ''); COMP_CWORD=1; _spillway spillway '' spillway; echo \"${{COMPREPLY[*]}}\"; \
         COMP_WORDS=(spillway init --template ''); COMP_CWORD=3; _spillway spillway '' --template; echo \"${{COMPREPLY[*]}}\"",
        script.display()
    );
    let o = std::process::Command::new("bash")
        .args(["--noprofile", "--norc", "-c", &probe])
        .output()
        .unwrap();
    let out = stdout(&o);
    let mut lines = out.lines();
    let subcommands: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    for n in ["run", "validate", "init", "completions", "man"] {
        assert!(
            subcommands.contains(&n),
            "{n} not offered: {out} {}",
            stderr(&o)
        );
    }
    let templates: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    for t in Template::ALL {
        assert!(
            templates.contains(&t.name()),
            "{} not offered: {out}",
            t.name()
        );
    }
}

#[test]
fn man_page_is_roff_and_mentions_every_subcommand() {
    let o = spillway(&["man"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = stdout(&o);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        &page[..60.min(page.len())]
    );
    assert!(page.contains("\n.TH spillway 1 "), "no .TH header");
    assert!(page.contains("\n.SH SYNOPSIS\n") && page.contains("\n.SH SUBCOMMANDS\n"));
    let names = [
        "run",
        "validate",
        "sweep",
        "check",
        "merge",
        "report",
        "init",
        "completions",
        "man",
    ];
    for n in names {
        assert!(
            page.contains(&format!("spillway\\-{n}(1)")),
            "page lacks spillway-{n}(1)"
        );
    }
    // One page per subcommand, and all of them with --dir.
    let o = spillway(&["man", "init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let init = stdout(&o);
    assert!(
        init.contains("\n.TH spillway-init 1 ") && init.contains("\\-\\-template"),
        "{init}"
    );
    let o = spillway(&["man", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no command 'nope'"), "{}", stderr(&o));
    let dir = tempdir();
    let o = spillway(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for n in names {
        assert!(
            dir.join(format!("spillway-{n}.1")).is_file(),
            "no spillway-{n}.1"
        );
    }
    assert!(dir.join("spillway.1").is_file());
}

/// The committed schema is exactly what the types generate (and what `spillway schema`
/// prints), so it cannot drift from the reader.
#[test]
fn committed_schema_matches_the_types() {
    use spillway::cli::schema::{SCHEMA_PATH, schema_text};
    let committed = std::fs::read_to_string(crate::root().join(SCHEMA_PATH)).unwrap();
    assert!(
        committed == schema_text(),
        "{SCHEMA_PATH} is stale: regenerate it with `cargo run --release -- schema > {SCHEMA_PATH}`"
    );
    let o = spillway(&["schema"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), committed);
}

/// The scenario file as JSON, the way TOML editors hand it to a JSON Schema validator.
fn toml_as_json(text: &str) -> serde_json::Value {
    let v: toml::Value = toml::from_str(text).unwrap();
    serde_json::to_value(v).unwrap()
}

/// Every error the committed schema finds in `text`, as "path: message".
fn schema_errors(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    let doc = toml_as_json(text);
    validator
        .iter_errors(&doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn committed_validator() -> jsonschema::Validator {
    let path = crate::root().join(spillway::cli::schema::SCHEMA_PATH);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft7::new(&schema).expect("a valid draft-07 schema")
}

#[test]
fn shipped_scenarios_and_templates_follow_the_schema() {
    let validator = committed_validator();
    let mut checked = 0;
    for entry in std::fs::read_dir(crate::root().join("scenarios")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&p).unwrap();
            let errors = schema_errors(&validator, &text);
            assert!(errors.is_empty(), "{}: {errors:#?}", p.display());
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} scenarios");
    for t in Template::ALL {
        let errors = schema_errors(&validator, t.text());
        assert!(errors.is_empty(), "template {}: {errors:#?}", t.name());
    }
}

/// The schema is not vacuous: it rejects what the reader rejects (unknown keys at every
/// level, wrong types, missing required keys, unknown variant sections).
#[test]
fn schema_rejects_unknown_keys_wrong_types_and_missing_keys() {
    let validator = committed_validator();
    let base = Template::ChatPayg.text();
    assert!(schema_errors(&validator, base).is_empty());
    let cases = [
        (
            "tpm = 150_000                      # this",
            "tpmm = 150_000  # this",
            "/deployment/0",
        ),
        (
            "duration = \"30m\"",
            "duration = 1800",
            "/scenario/duration",
        ),
        ("steps = 4 ", "steps = \"four\" ", "/workload/class/0/steps"),
        (
            "cv = 0.8 }",
            "cv = 0.8, sdd = 3 }",
            "/workload/class/0/completion_tokens",
        ),
        ("[client]\n", "[client]\nmax_retry = 3\n", "/client"),
        (
            "name = \"peak\"\n",
            "name = \"peak\"\nclinet = { max_retries = 3 }\n",
            "/variant/1",
        ),
        ("arrival = \"poisson\"", "arival = \"poisson\"", "/workload"),
        ("name = \"chat-payg\"", "", "/scenario"),
        ("max = 0.01", "max = \"1%\"", "/slo/1/max"),
        (
            "variants = [\"normal-hour\"]",
            "variants = \"normal-hour\"",
            "/sweep/variants",
        ),
    ];
    for (from, to, path) in cases {
        assert!(base.contains(from), "{from:?} not in the template");
        let broken = base.replacen(from, to, 1);
        let errors = schema_errors(&validator, &broken);
        assert!(
            errors.iter().any(|e| e.starts_with(path)),
            "{to:?}: expected an error at {path}, got {errors:#?}"
        );
        // The reader rejects the same file.
        assert!(
            spillway::scenario::parse(&broken, "t.toml", &[], None).is_err(),
            "{to:?}: the reader accepts it"
        );
    }
}

/// Shipped scenarios name the committed schema on their first line, by a path relative to
/// the file (as Taplo resolves it).
#[test]
fn shipped_scenarios_carry_the_schema_header() {
    for entry in std::fs::read_dir(crate::root().join("scenarios")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&p).unwrap();
            let first = text.lines().next().unwrap_or_default();
            let rel = first
                .strip_prefix("#:schema ")
                .unwrap_or_else(|| panic!("{}: first line is {first:?}", p.display()));
            let target = p.parent().unwrap().join(rel);
            assert_eq!(
                target.canonicalize().unwrap(),
                crate::root()
                    .join(spillway::cli::schema::SCHEMA_PATH)
                    .canonicalize()
                    .unwrap(),
                "{}",
                p.display()
            );
        }
    }
}

/// The variant sections the schema offers are the ones the reader accepts (and a section it
/// does not offer is refused by both).
#[test]
fn schema_variant_sections_match_the_reader() {
    let schema = spillway::cli::schema::scenario_schema();
    let props = schema["definitions"]["Variant"]["properties"]
        .as_object()
        .expect("Variant properties");
    let base = Template::ChatPayg.text();
    let refused = "a variant may hold";
    let mut sections = 0;
    for key in props.keys() {
        if ["name", "description", "set"].contains(&key.as_str()) {
            continue;
        }
        sections += 1;
        // An empty replacement: the reader may find it incomplete, but not out of place.
        let text = base.replacen(
            "name = \"peak\"\n",
            &format!("name = \"peak\"\n{key} = {{}}\n"),
            1,
        );
        if let Err(e) = spillway::scenario::parse(&text, "t.toml", &[], None) {
            assert!(!e.to_string().contains(refused), "{key}: {e}");
        }
    }
    assert!(sections >= 8, "{sections}");
    let text = base.replacen("name = \"peak\"\n", "name = \"peak\"\nsweep = {}\n", 1);
    let e = spillway::scenario::parse(&text, "t.toml", &[], None).unwrap_err();
    assert!(e.to_string().contains(refused), "{e}");
    assert!(!props.contains_key("sweep"));
}
