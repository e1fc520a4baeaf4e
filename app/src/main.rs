//! `concord`: apply, make and compare JSON patches. See `concord --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Usage errors and `--help` are handled by clap (exit codes 2 and 0).
    let cli = app::cli::Cli::parse();
    app::cli::main(&cli)
}
