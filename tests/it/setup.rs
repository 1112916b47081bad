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
