//! `concord`: the desktop editor (`concord [FILE]`, `concord --relay URL --doc ID`,
//! `concord demo`), and the patch tools (`concord patch`, `merge-patch`, `diff`; see
//! `concord --help`).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match app::launch::launch(&args) {
        Some(Ok(launch)) => app::gui::run(launch),
        // Usage errors and `--help` are handled by clap (exit codes 2 and 0).
        Some(Err(e)) => e.exit(),
        None => {
            let cli = app::cli::Cli::parse_from(args);
            app::cli::main(&cli)
        }
    }
}
