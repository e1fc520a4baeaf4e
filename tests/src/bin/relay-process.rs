//! The relay's command line (`concord-relay`), built in this package so that end-to-end tests
//! can start it as a process and kill it with SIGKILL.

fn main() -> anyhow::Result<()> {
    relay::cli::main()
}
