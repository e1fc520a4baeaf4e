//! `concord`: the desktop editor (`concord [FILE]`), and the patch tools (`concord patch`,
//! `merge-patch`, `diff`; see `concord --help`).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match app::gui::file_argument(&args) {
        Some(file) => app::gui::run(file),
        None => {
            // Usage errors and `--help` are handled by clap (exit codes 2 and 0).
            let cli = app::cli::Cli::parse_from(args);
            app::cli::main(&cli)
        }
    }
}
