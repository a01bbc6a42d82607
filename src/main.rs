use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(trailcheck::cli::run(std::env::args_os()).code())
}
