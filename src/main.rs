//! The `trailcheck` command: `cli` parses, `config` checks, one module per subcommand runs.

mod archive;
mod athena;
mod checkpoint;
mod cli;
mod config;
mod events;
mod exit;
mod keys;
mod lake;
mod memory;
mod merge;
mod progress;
mod restore_plan;
mod simulate;
mod triage;
mod validate;
mod versions;

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};
use exit::Exit;

fn main() -> ExitCode {
    ExitCode::from(run(std::env::args_os()).code())
}

/// Parses `args`, runs the command, prints a fatal error once, and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Exit {
    let args: Vec<OsString> = args.into_iter().collect();
    let command_line: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Intact
            };
        }
    };
    match cli.command {
        Command::Validate(args) => validate::run(&args, command_line),
        Command::Merge(args) => merge::run(&args, command_line),
        Command::Events(args) => events::run(&args),
        Command::Triage(args) => triage::run(&args, command_line),
        Command::Simulate(args) => match simulate::run(&args) {
            Ok(()) => Exit::Intact,
            Err(e) => fatal(&e),
        },
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "trailcheck", &mut io::stdout());
            Exit::Intact
        }
        Command::Archive(args) => archive::run(&args).unwrap_or_else(|e| fatal(&e)),
        Command::VerifyQueryResults(args) => lake::run(&args),
        Command::RestorePlan(args) => restore_plan::run(&args).unwrap_or_else(|e| fatal(&e)),
        Command::Keys(command) => keys::run(&command).unwrap_or_else(|e| fatal(&e)),
    }
}

/// Prints a fatal error once, with its causes, and returns the usage exit code.
pub fn fatal(error: &dyn std::error::Error) -> Exit {
    let mut message = format!("trailcheck: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    let _ = writeln!(io::stderr(), "{message}");
    Exit::Usage
}
