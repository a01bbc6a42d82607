//! The `trailcheck` command: `cli` parses, `config` checks, one module per subcommand runs.

mod archive;
mod cli;
mod config;
mod exit;
mod keys;
mod progress;
mod simulate;

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(cli::run(std::env::args_os()).code())
}
