//! `concord demo`: a relay and several editor windows on one document, side by side, with
//! different names (and so different colours), for trying collaboration by hand.
//!
//! The relay runs in this process with its data in a temporary directory; each window is a
//! `concord --relay ... --doc ...` process with a data directory of its own, as if each were
//! on another computer. Closing every window (or Ctrl+C) ends the demo.

use std::path::PathBuf;
use std::process::{Child, Command, ExitCode};
use std::time::Duration;

use crate::launch::DemoArgs;
use crate::session::host::{self, Host};

/// The people in the demo, one per window.
pub const NAMES: [&str; 4] = ["Ann", "Ben", "Cleo", "Dev"];

/// Width of each window, in points.
const WIDTH: f32 = 640.0;

/// Runs the demo until every window is closed.
pub fn run(args: &DemoArgs) -> ExitCode {
    match demo(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("concord demo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let runtime = crate::launch::runtime()?;
    let dir = std::env::temp_dir().join(format!("concord-demo-{}", std::process::id()));
    let host = Host::start(
        runtime.handle(),
        (std::net::Ipv4Addr::LOCALHOST, 0).into(),
        &dir.join("relay"),
    )?;
    let doc = host::new_document_id(Some(std::path::Path::new("demo")));
    let seed = host.invite(&doc, "seed");
    let sample = sync_core::Value::parse(crate::launch::SAMPLE)?;
    runtime
        .block_on(host::seed(&seed, &sample))
        .context("cannot put the sample document on the relay")?;
    let exe = std::env::current_exe().context("cannot find the concord program")?;
    let invite = host.invite(&doc, "guest");
    println!(
        "Relay: {} (plain ws://, on this computer only)  document: {doc}",
        host.url()
    );
    println!("Another window joins with:\n  {}", invite.invite());
    let mut children: Vec<Child> = Vec::new();
    for (i, name) in NAMES.iter().take(usize::from(args.windows)).enumerate() {
        let target = host.invite(&doc, name);
        let x = 20.0 + WIDTH * i as f32;
        let child = Command::new(&exe)
            .args(["--relay", &target.relay, "--doc", &doc, "--name", name])
            .args(["--position", &format!("{x},40")])
            .env("CONCORD_TOKEN", target.token.unwrap_or_default())
            // Each window keeps its state and settings apart, as if on its own computer, and
            // leaves the user's own settings alone.
            .env("CONCORD_DATA_DIR", window_dir(&dir, name))
            .env("CONCORD_CONFIG_DIR", window_dir(&dir, name))
            .spawn()
            .with_context(|| format!("cannot start the window for {name}"))?;
        children.push(child);
    }
    for mut child in children {
        let _ = child.wait();
    }
    host.stop(runtime.handle(), Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn window_dir(dir: &std::path::Path, name: &str) -> PathBuf {
    dir.join(format!("window-{}", name.to_lowercase()))
}
