//! What the command line asks the desktop editor for (a file, the sample document, a shared
//! document on a relay, or the multi-window demo), and what every way of starting it needs:
//! the sample document, the data directory and the network runtime.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;
use sync_core::Value;

use crate::editor::Editor;

/// The document shown when no file is given.
pub const SAMPLE: &str = include_str!("../../assets/sample.json");

/// What the command line asks the window to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Launch {
    /// Edit a file, or the sample document.
    Editor(Option<PathBuf>),
    /// Join a document on a relay.
    Join(JoinArgs),
    /// Start a relay and several windows on one document.
    Demo(DemoArgs),
}

/// `concord --relay URL --doc ID [--name NAME] [--token TOKEN]`.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(
    name = "concord",
    about = "Open a shared document on a relay, in the editor",
    after_help = "Unsynced edits are kept in the data directory and sent when the relay is \
                  reachable again, even after a restart."
)]
pub struct JoinArgs {
    /// The relay's address, as ws://host:port or wss://host.
    #[arg(long)]
    pub relay: String,
    /// The document id.
    #[arg(long)]
    pub doc: String,
    /// The name others see (default: the one in the preferences).
    #[arg(long)]
    pub name: Option<String>,
    /// A token from the relay's owner (`concord-relay token`), where the relay needs one.
    #[arg(long, env = "CONCORD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Where to put the window, as X,Y in screen points.
    #[arg(long, value_parser = parse_position, hide = true)]
    pub position: Option<(f32, f32)>,
}

/// `concord demo [--windows N]`.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(
    name = "concord demo",
    about = "Start a relay and several editor windows on one document, side by side, to try \
             collaboration by hand"
)]
pub struct DemoArgs {
    /// How many windows (2 to 4).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=4))]
    pub windows: u8,
}

fn parse_position(text: &str) -> Result<(f32, f32), String> {
    let (x, y) = text.split_once(',').ok_or("X,Y")?;
    let number = |s: &str| s.trim().parse::<f32>().map_err(|e| e.to_string());
    Ok((number(x)?, number(y)?))
}

/// Reads the command line: `None` means the patch tools (`concord patch ...`, `--help`, ...).
pub fn launch(args: &[OsString]) -> Option<Result<Launch, clap::Error>> {
    let rest = args.get(1..).unwrap_or_default();
    let first = rest.first().map(|a| a.to_string_lossy());
    if first.as_deref() == Some("demo") {
        return Some(DemoArgs::try_parse_from(rest).map(Launch::Demo));
    }
    let joins = rest.iter().any(|a| {
        let a = a.to_string_lossy();
        a == "--relay" || a.starts_with("--relay=")
    });
    if joins {
        return Some(JoinArgs::try_parse_from(args).map(Launch::Join));
    }
    file_argument(args).map(|file| Ok(Launch::Editor(file)))
}

/// Whether the command line asks for the editor, and on which file: `concord` alone (the
/// sample document) or `concord FILE`. `None` means the patch tools (`concord patch ...`,
/// `--help`, ...).
pub fn file_argument(args: &[OsString]) -> Option<Option<PathBuf>> {
    const TOOLS: [&str; 5] = ["patch", "merge-patch", "diff", "help", "demo"];
    match args.get(1..).unwrap_or_default() {
        [] => Some(None),
        [one] => {
            let text = one.to_string_lossy();
            let tool = TOOLS.contains(&text.as_ref()) || text.starts_with('-');
            (!tool).then(|| Some(PathBuf::from(one)))
        }
        _ => None,
    }
}

/// An editor on the sample document.
pub fn sample_editor() -> anyhow::Result<Editor> {
    let (doc, style) = Value::parse_styled(SAMPLE)?;
    Ok(Editor::new(doc, None, style))
}

/// Where offline edits and a hosted relay's data live: `CONCORD_DATA_DIR` if set, else the
/// platform's data directory for Concord.
pub fn data_dir() -> Option<PathBuf> {
    std::env::var_os("CONCORD_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| directories::ProjectDirs::from("", "", "concord").map(|d| d.data_dir().into()))
}

/// The runtime network work runs on: two worker threads are plenty for one window.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("concord-net")
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn args(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn the_command_line_picks_the_window() {
        assert_eq!(
            launch(&args("concord")).unwrap().unwrap(),
            Launch::Editor(None)
        );
        assert_eq!(
            launch(&args("concord a.json")).unwrap().unwrap(),
            Launch::Editor(Some("a.json".into()))
        );
        let Launch::Join(join) = launch(&args("concord --relay ws://h:1 --doc d --name Ann"))
            .unwrap()
            .unwrap()
        else {
            panic!("not a join");
        };
        assert_eq!((join.relay.as_str(), join.doc.as_str()), ("ws://h:1", "d"));
        assert_eq!(join.name.as_deref(), Some("Ann"));
        assert!(
            launch(&args("concord --relay ws://h:1")).unwrap().is_err(),
            "no --doc"
        );
        assert_eq!(
            launch(&args("concord demo --windows 3")).unwrap().unwrap(),
            Launch::Demo(DemoArgs { windows: 3 })
        );
        assert!(launch(&args("concord demo --windows 9")).unwrap().is_err());
        assert!(launch(&args("concord patch a b")).is_none());
        assert!(launch(&args("concord --help")).is_none());
    }
}
