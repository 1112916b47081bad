//! `spillway completions SHELL` (clap_complete) and `spillway man` (clap_mangen): both are
//! generated from the same clap definitions as `--help`, so they never drift from it.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::error::{Error, Result};
use crate::output::write_atomic;

use super::Cli;

/// `spillway completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `spillway man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Print the page of this subcommand (spillway-run(1), ...) instead of spillway(1).
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
    /// Instead of printing one page, write every page (spillway.1, spillway-run.1, ...) into
    /// DIR (created if missing), e.g. /usr/local/share/man/man1.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub dir: Option<PathBuf>,
}

/// The command tree as the pages and scripts see it.
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The completion script for `shell`.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "spillway", &mut out);
    out
}

/// Runs `spillway completions`; returns the exit code.
pub fn completions_command(a: CompletionsArgs) -> Result<u8> {
    let _ = std::io::stdout()
        .lock()
        .write_all(&completion_script(a.shell));
    Ok(0)
}

/// The roff text of one page.
fn render(cmd: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .source(concat!("spillway ", env!("CARGO_PKG_VERSION")))
        .render(&mut out)
        .expect("writing to memory does not fail");
    out
}

/// The man page of `spillway` (`None`) or of one of its subcommands, as roff.
pub fn man_page(subcommand: Option<&str>) -> Result<Vec<u8>> {
    let cmd = command();
    let Some(name) = subcommand else {
        return Ok(render(cmd));
    };
    match cmd.find_subcommand(name) {
        Some(sub) => Ok(render(sub.clone())),
        None => {
            let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
            Err(Error::Usage(format!(
                "man: no command '{name}'; commands: {}",
                names.join(", ")
            )))
        }
    }
}

/// Every page: (file name, roff), spillway.1 first.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let cmd = command();
    let mut pages = vec![("spillway.1".to_string(), render(cmd.clone()))];
    for sub in cmd.get_subcommands() {
        let man = clap_mangen::Man::new(sub.clone());
        pages.push((man.get_filename(), render(sub.clone())));
    }
    pages
}

/// Runs `spillway man`; returns the exit code.
pub fn man_command(a: ManArgs) -> Result<u8> {
    if let Some(dir) = &a.dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
        let pages = man_pages();
        for (name, roff) in &pages {
            write_atomic(&dir.join(name), roff)?;
        }
        let _ = writeln!(
            std::io::stdout().lock(),
            "wrote {} pages into {}",
            pages.len(),
            dir.display()
        );
        return Ok(0);
    }
    let page = man_page(a.command.as_deref())?;
    let _ = std::io::stdout().lock().write_all(&page);
    Ok(0)
}
