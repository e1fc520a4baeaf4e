//! Starting the desktop editor: on a file, on the sample document, joined to a relay, or as
//! the multi-window demo.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sync_core::Value;

use crate::editor::Editor;
use crate::session::Target;
use crate::settings::Settings;
use crate::ui::ConcordApp;

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

/// Runs what the command line asked for.
pub fn run(launch: Launch) -> ExitCode {
    match launch {
        Launch::Demo(args) => crate::demo::run(&args),
        Launch::Editor(file) => open_window(file, None),
        Launch::Join(args) => open_window(None, Some(args)),
    }
}

/// Opens the window and runs until it is closed. A file is loaded in the background, with a
/// progress bar, so even a very large one never freezes the window.
fn open_window(file: Option<PathBuf>, join: Option<JoinArgs>) -> ExitCode {
    if let Some(path) = &file
        && let Err(e) = std::fs::metadata(path)
    {
        eprintln!("concord: cannot read {}: {e}", path.display());
        return ExitCode::from(2);
    }
    let target = match &join {
        Some(args) => {
            let target = Target {
                relay: args.relay.clone(),
                doc: args.doc.clone(),
                token: args.token.clone(),
            };
            if let Err(e) = target.validate() {
                eprintln!("concord: {e}");
                return ExitCode::from(2);
            }
            Some(target)
        }
        None => None,
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("concord: cannot start the network runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let title = match (&file, &target, &join) {
        (Some(p), _, _) => format!("Concord — {}", p.display()),
        (None, Some(t), Some(args)) => match &args.name {
            Some(name) => format!("Concord — {} ({name})", t.doc),
            None => format!("Concord — {}", t.doc),
        },
        _ => "Concord — sample".to_owned(),
    };
    let mut viewport = egui::ViewportBuilder::default()
        .with_title(title)
        .with_inner_size([960.0, 720.0]);
    if let Some((x, y)) = join.as_ref().and_then(|a| a.position) {
        viewport = viewport
            .with_position([x, y])
            .with_inner_size([640.0, 720.0]);
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    let handle = runtime.handle().clone();
    let result = eframe::run_native(
        "Concord",
        options,
        Box::new(move |cc| {
            let settings_path = Settings::default_path();
            let settings = settings_path
                .as_deref()
                .map(Settings::load)
                .unwrap_or_default();
            let mut app = match &file {
                Some(path) => ConcordApp::open(path, &cc.egui_ctx),
                None if target.is_some() => {
                    ConcordApp::new(Editor::new(Value::Null, None, Default::default()))
                }
                None => ConcordApp::new(sample_editor()?),
            }
            .with_context(&cc.egui_ctx)
            .with_settings(settings, settings_path)
            .with_collaboration(handle, data_dir());
            if let (Some(target), Some(args)) = (target, join) {
                let name = args
                    .name
                    .unwrap_or_else(|| app.settings.display_name.clone());
                if let Err(e) = app.join(target, &name) {
                    app.message = Some(e);
                }
            }
            Ok(Box::new(app))
        }),
    );
    drop(runtime);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("concord: cannot open a window: {e}");
            ExitCode::FAILURE
        }
    }
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
