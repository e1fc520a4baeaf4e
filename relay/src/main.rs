//! `concord-relay`: the relay's command line (see `relay::cli`).

fn main() -> anyhow::Result<()> {
    relay::cli::main()
}
