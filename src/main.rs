//! The `spillway` binary: parse flags, call the library, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use spillway::cli::{Cli, execute, interrupt::EXIT_INTERRUPTED};
use spillway::error::Error;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // clap uses 2 for usage errors and 0 for --help / --version.
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    match execute(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            // 130 (128 + SIGINT) for Ctrl-C or SIGTERM, as shells report an interrupted command.
            ExitCode::from(match e {
                Error::Interrupted => EXIT_INTERRUPTED,
                _ => 2,
            })
        }
    }
}
