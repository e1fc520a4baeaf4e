//! Files: opening one in the background with its progress, and a file that did not open.

use std::path::Path;

use super::ConcordApp;
use crate::editor::Editor;
use crate::loader::Loader;
use crate::workspace::{Intent, Workspace};

impl ConcordApp {
    /// An app that opens `path` in the background, showing progress meanwhile.
    pub fn open(path: &Path, ctx: &egui::Context) -> ConcordApp {
        let empty = Editor::new(
            sync_core::Value::Object(sync_core::Map::new()),
            None,
            sync_core::value::Style::default(),
        );
        let mut app = ConcordApp::new(empty).with_context(ctx);
        app.workspace.open_file(path);
        app
    }
}

/// A file that did not open because it is not JSON: where it breaks and the text around it,
/// with a way to fix it in the raw view (or to open another file).
pub(super) fn broken_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(broken) = &app.broken else { return };
    ui.heading(format!("{} is not JSON", broken.path.display()));
    ui.colored_label(
        ui.visuals().error_fg_color,
        format!(
            "line {}, column {}: {}",
            broken.line, broken.column, broken.reason
        ),
    );
    ui.add_space(6.0);
    egui::Frame::group(ui.style()).show(ui, |ui| {
        for (number, line) in &broken.around {
            let text = format!("{number:>6} | {line}");
            let text = egui::RichText::new(text).monospace();
            if *number == broken.line {
                ui.label(text.strong());
                // A caret under the place, after the line number's room.
                let pad = " ".repeat(9 + broken.caret.saturating_sub(1));
                ui.label(egui::RichText::new(format!("{pad}^")).monospace().strong());
            } else {
                ui.label(text.weak());
            }
        }
    });
    ui.add_space(6.0);
    ui.label("The file is left as it is: nothing is saved until it parses.");
    ui.horizontal(|ui| {
        let can_fix = broken.text.is_some();
        if ui
            .add_enabled(can_fix, egui::Button::new("Fix it in the raw view"))
            .on_disabled_hover_text(format!(
                "only a UTF-8 file of at most {} MiB can be fixed here",
                crate::loader::FIXABLE >> 20
            ))
            .clicked()
        {
            intents.push(Intent::FixInRaw);
        }
        if ui.button("Open another file…").clicked() {
            intents.push(Intent::Command(crate::commands::Command::Open));
        }
    });
}

/// The progress of a file being opened.
pub(super) fn loading_ui(ui: &mut egui::Ui, loader: &Loader) {
    use crate::loader::Progress;
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() / 3.0);
        let mib = loader.total as f64 / f64::from(1u32 << 20);
        ui.label(format!("Opening {} ({mib:.1} MiB)", loader.path.display()));
        let (fraction, text) = match loader.progress() {
            Progress::Reading(f) => (f, format!("reading {:.0}%", f * 100.0)),
            Progress::Parsing => (1.0, "parsing".to_owned()),
        };
        ui.add(
            egui::ProgressBar::new(fraction)
                .desired_width(360.0)
                .text(text)
                .animate(true),
        );
    });
}
