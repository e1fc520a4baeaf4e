//! Starting the desktop editor.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use sync_core::Value;

use crate::editor::Editor;
use crate::settings::Settings;
use crate::ui::ConcordApp;

/// The document shown when no file is given.
pub const SAMPLE: &str = include_str!("../../assets/sample.json");

/// Whether the command line asks for the editor, and on which file: `concord` alone (the
/// sample document) or `concord FILE`. `None` means the patch tools (`concord patch ...`,
/// `--help`, ...).
pub fn file_argument(args: &[OsString]) -> Option<Option<PathBuf>> {
    const TOOLS: [&str; 4] = ["patch", "merge-patch", "diff", "help"];
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

/// Opens the window and runs until it is closed. A file is loaded in the background, with a
/// progress bar, so even a very large one never freezes the window.
pub fn run(file: Option<PathBuf>) -> ExitCode {
    if let Some(path) = &file
        && let Err(e) = std::fs::metadata(path)
    {
        eprintln!("concord: cannot read {}: {e}", path.display());
        return ExitCode::from(2);
    }
    let title = file.as_ref().map_or_else(
        || "Concord — sample".to_owned(),
        |p| format!("Concord — {}", p.display()),
    );
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size([960.0, 720.0]),
        ..Default::default()
    };
    let result = eframe::run_native(
        "Concord",
        options,
        Box::new(move |cc| {
            let app = match &file {
                Some(path) => ConcordApp::open(path, &cc.egui_ctx),
                None => ConcordApp::new(sample_editor()?),
            };
            let settings_path = Settings::default_path();
            let settings = settings_path
                .as_deref()
                .map(Settings::load)
                .unwrap_or_default();
            Ok(Box::new(app.with_settings(settings, settings_path)))
        }),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("concord: cannot open a window: {e}");
            ExitCode::FAILURE
        }
    }
}
