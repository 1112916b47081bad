//! `spillway init`: write a commented starter scenario from a built-in template.
//!
//! The templates live in `templates/*.toml` and are compiled into the binary. Every key in
//! them says what it is and where its value comes from; a `{file}` marker in their comments
//! is replaced by the path written, so the "Next:" commands can be pasted as they are.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::error::{Error, Result};
use crate::output::write_atomic;

/// The file written when no path is given.
pub const DEFAULT_PATH: &str = "scenario.toml";

/// `spillway init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the scenario (default scenario.toml; a directory gets DIR/scenario.toml).
    /// Missing parent directories are created.
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Which starter to write (see --list).
    #[arg(long, short, value_enum, value_name = "NAME", default_value_t = Template::ChatPayg)]
    pub template: Template,
    /// Overwrite PATH if it exists.
    #[arg(long)]
    pub force: bool,
    /// List the templates and exit.
    #[arg(long, conflicts_with_all = ["path", "force"])]
    pub list: bool,
}

/// The built-in starter scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// A chat app on one pay-as-you-go (standard) deployment: normal hour, peak, a second
    /// subscription.
    ChatPayg,
    /// A 10-call agent flow on a low quota (the seed case of foundry-parallel-load): users
    /// against subscriptions.
    AgentFlow,
    /// Provisioned throughput (PTU) with spillover of its 429s to a standard deployment.
    PtuSpillover,
    /// A gateway in front of deployments in two regions, one of them out for five minutes.
    GatewayRegions,
}

impl Template {
    /// Every template, in listing order.
    pub const ALL: [Template; 4] = [
        Template::ChatPayg,
        Template::AgentFlow,
        Template::PtuSpillover,
        Template::GatewayRegions,
    ];

    /// The name given to `--template`.
    pub fn name(self) -> &'static str {
        match self {
            Template::ChatPayg => "chat-payg",
            Template::AgentFlow => "agent-flow",
            Template::PtuSpillover => "ptu-spillover",
            Template::GatewayRegions => "gateway-regions",
        }
    }

    /// One line saying what the template models.
    pub fn summary(self) -> &'static str {
        match self {
            Template::ChatPayg => {
                "chat app on one pay-as-you-go (standard) deployment: normal hour, peak, a second subscription"
            }
            Template::AgentFlow => {
                "10-call agent flow on a low quota: 1 vs 4 users, 3 subscriptions, a quota increase"
            }
            Template::PtuSpillover => {
                "provisioned throughput (PTU) below the peak: no spillover, spillover to standard, a bigger PTU"
            }
            Template::GatewayRegions => {
                "gateway over two regions with a 5-minute outage: round-robin, priority, circuit breakers"
            }
        }
    }

    /// The template's text as shipped (with its `{file}` markers).
    pub fn text(self) -> &'static str {
        match self {
            Template::ChatPayg => include_str!("../../templates/chat-payg.toml"),
            Template::AgentFlow => include_str!("../../templates/agent-flow.toml"),
            Template::PtuSpillover => include_str!("../../templates/ptu-spillover.toml"),
            Template::GatewayRegions => include_str!("../../templates/gateway-regions.toml"),
        }
    }

    /// The text to write at `path`: `{file}` replaced by the path, quoted for a shell when
    /// it needs it.
    pub fn render(self, path: &Path) -> String {
        self.text()
            .replace("{file}", &shell_word(&path.display().to_string()))
    }
}

/// `s` as one shell word: as is when it is plain, else in single quotes.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+=:,@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Where `init` writes: PATH, PATH/scenario.toml for a directory, or scenario.toml.
fn target(path: Option<&Path>) -> PathBuf {
    match path {
        None => PathBuf::from(DEFAULT_PATH),
        Some(p) if p.is_dir() => p.join(DEFAULT_PATH),
        Some(p) => p.to_path_buf(),
    }
}

/// Runs `spillway init`; returns the exit code.
pub fn init_command(a: InitArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    if a.list {
        let width = Template::ALL
            .iter()
            .map(|t| t.name().len())
            .max()
            .unwrap_or(0);
        for t in Template::ALL {
            let _ = writeln!(out, "{:width$}  {}", t.name(), t.summary());
        }
        let _ = writeln!(
            out,
            "\nspillway init --template NAME [PATH]   (default: chat-payg, scenario.toml)"
        );
        return Ok(0);
    }
    let path = target(a.path.as_deref());
    if path.exists() && !a.force {
        return Err(Error::Usage(format!(
            "{}: already exists; pass --force to overwrite it, or give another path",
            path.display()
        )));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            Error::Usage(format!(
                "{}: cannot create the directory for the scenario: {e}",
                parent.display()
            ))
        })?;
    }
    write_atomic(&path, a.template.render(&path).as_bytes())?;
    let file = shell_word(&path.display().to_string());
    let _ = writeln!(
        out,
        "wrote {} (template {}: {})\n\nnext:\n  spillway validate {file}\n  spillway run {file}\n  spillway run {file} --out out --report    # out/report.html\n\nEvery key in the file says what it is and where its value comes from; the reference of every key is docs/scenario.md.",
        path.display(),
        a.template.name(),
        a.template.summary(),
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_clap_values() {
        for t in Template::ALL {
            let v = t.to_possible_value().expect("not skipped");
            assert_eq!(v.get_name(), t.name());
        }
    }

    #[test]
    fn render_replaces_the_file_marker_and_quotes_odd_paths() {
        let plain = Template::AgentFlow.render(Path::new("dir/flow.toml"));
        assert!(!plain.contains("{file}"));
        assert!(plain.contains("spillway run dir/flow.toml "));
        let spaced = Template::ChatPayg.render(Path::new("my scenario.toml"));
        assert!(spaced.contains("spillway validate 'my scenario.toml'"));
        assert_eq!(shell_word("it's.toml"), r"'it'\''s.toml'");
    }
}
