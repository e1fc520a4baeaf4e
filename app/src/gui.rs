//! Starting the desktop editor's window, or the demo's windows, as the command line asked
//! ([`crate::launch`]).

use std::path::PathBuf;
use std::process::ExitCode;

use sync_core::Value;

use crate::editor::Editor;
use crate::launch::{JoinArgs, Launch, data_dir, runtime, sample_editor};
use crate::session::Target;
use crate::settings::Settings;
use crate::ui::ConcordApp;

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
                    .unwrap_or_else(|| app.workspace.settings.display_name.clone());
                if let Err(e) = app.workspace.join(target, &name) {
                    app.workspace.message = Some(e);
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
