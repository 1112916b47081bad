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
