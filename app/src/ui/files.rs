//! Files and what surrounds them: background loading, native dialogs, settings, and the
//! prompt before closing with unsaved changes.

use std::path::Path;

use sync_core::value::Style;

use super::file_form::FileForm;
use super::{ConcordApp, UNSAVED};
use crate::dialogs::{Outcome, Pending, Purpose};
use crate::editor::Editor;
use crate::loader::Loader;
use crate::workspace::Workspace;

impl Workspace {
    /// Shows a file dialog (unless one is showing): the desktop's, or the app's own where the
    /// desktop has none.
    pub(super) fn start_dialog(&mut self, purpose: Purpose) {
        if self.dialog.is_some() || self.file_form.is_some() {
            return;
        }
        let directory = self
            .editor
            .path()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        if self.in_app_dialogs {
            self.file_form = Some(FileForm::new(purpose, directory.as_deref()));
        } else {
            self.dialog = Some(Pending::start(purpose, directory, self.waker()));
        }
    }

    /// Acts on a dialog that has closed.
    pub(super) fn poll_dialog(&mut self) {
        let Some(dialog) = &self.dialog else { return };
        let purpose = dialog.purpose;
        match dialog.poll() {
            Outcome::Open => {}
            Outcome::Nothing => {
                self.dialog = None;
                self.close_after_save = false;
            }
            // No desktop dialog: the app's own, now and from now on.
            Outcome::Unavailable(why) => {
                self.dialog = None;
                self.in_app_dialogs = true;
                self.message = Some(format!("{why}: choose the file here"));
                let directory = self
                    .editor
                    .path()
                    .and_then(Path::parent)
                    .map(Path::to_path_buf);
                self.file_form = Some(FileForm::new(purpose, directory.as_deref()));
            }
            Outcome::Chosen(path) => {
                self.dialog = None;
                self.chosen(purpose, &path);
            }
        }
    }

    /// Acts on the file chosen for `purpose` in a dialog (the desktop's or the app's own).
    pub(super) fn chosen(&mut self, purpose: Purpose, path: &Path) {
        match purpose {
            Purpose::Open => self.open_file(path),
            Purpose::ExportPatch => {
                let text = self.export.take().unwrap_or_default();
                self.message = Some(match std::fs::write(path, text) {
                    Ok(()) => format!("Patch written to {}", path.display()),
                    Err(e) => format!("cannot write {}: {e}", path.display()),
                });
            }
            Purpose::ImportPatch => {
                let result = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))
                    .and_then(|text| self.import_patch(&text));
                self.message = Some(match result {
                    Ok(n) => format!(
                        "Applied {} from {}",
                        crate::words::counted(n, "operation", "operations"),
                        path.display()
                    ),
                    Err(e) => e,
                });
            }
            Purpose::SaveAs => match self.editor.save_as(path) {
                Ok(()) => {
                    self.settings.remember(path);
                    self.save_settings();
                    self.message = Some(format!("Saved to {}", path.display()));
                    if std::mem::take(&mut self.close_after_save) {
                        self.close_confirmed = true;
                        self.close_window = true;
                    }
                }
                Err(e) => {
                    self.close_after_save = false;
                    self.message = Some(format!("{e:#}"));
                }
            },
        }
    }

    pub(super) fn save_settings(&mut self) {
        if let Some(path) = &self.settings_path
            && let Err(e) = self.settings.save(path)
        {
            self.message = Some(format!("cannot save settings to {}: {e}", path.display()));
        }
    }

    /// Opens `path` in the background, unless the document has unsaved changes.
    pub fn open_file(&mut self, path: &Path) {
        if self.editor.is_dirty() {
            self.message = Some(UNSAVED.to_owned());
            return;
        }
        self.end_session();
        self.editing = None;
        self.raw = None;
        self.search = None;
        self.loading = Some(Loader::start(path, self.waker()));
    }

    /// What background work calls to have the window drawn again.
    pub(crate) fn waker(&self) -> impl Fn() + Send + Sync + 'static {
        let waker = self.waker.clone();
        move || {
            if let Some(wake) = &waker {
                wake();
            }
        }
    }

    /// Takes the loaded editor when the background load is done.
    pub(super) fn poll_loading(&mut self) {
        let Some(result) = self.loading.as_ref().and_then(Loader::poll) else {
            return;
        };
        self.loading = None;
        match result {
            Ok(editor) => {
                if let Some(path) = editor.path() {
                    self.settings.remember(path);
                }
                self.editor = editor;
                self.broken = None;
                self.message = None;
                self.save_settings();
            }
            Err(crate::loader::LoadError::NotJson(broken)) => {
                self.message = None;
                self.broken = Some(broken);
            }
            Err(e) => self.message = Some(e.to_string()),
        }
    }

    /// Opens the text of the file that did not parse in the raw view, to fix it there.
    pub(super) fn fix_in_raw(&mut self) {
        let Some(broken) = &self.broken else { return };
        let Some(text) = broken.text.clone() else {
            self.message = Some(format!(
                "{} is too large or not text: fix it in another editor",
                broken.path.display()
            ));
            return;
        };
        let error = format!(
            "line {}, column {}: {}",
            broken.line, broken.column, broken.reason
        );
        self.editing = None;
        self.raw = Some(super::raw::Raw {
            text,
            error: Some(error),
            edited: true,
        });
    }

    /// Takes the fixed text of the broken file (see [`ConcordApp::broken`]) as its document:
    /// the file's document from now on, unsaved until saved.
    pub(super) fn fixed(&mut self, doc: sync_core::Value) {
        let Some(broken) = self.broken.take() else {
            return;
        };
        self.end_session();
        let mut editor = Editor::new(doc, Some(broken.path.clone()), Style::default());
        editor.mark_dirty();
        self.settings.remember(&broken.path);
        self.save_settings();
        self.editor = editor;
        self.message = Some(format!(
            "fixed: save to write it to {}",
            broken.path.display()
        ));
    }
}

impl ConcordApp {
    /// An app that opens `path` in the background, showing progress meanwhile.
    pub fn open(path: &Path, ctx: &egui::Context) -> ConcordApp {
        let empty = Editor::new(
            sync_core::Value::Object(sync_core::Map::new()),
            None,
            sync_core::value::Style::default(),
        );
        let mut app = ConcordApp::new(empty).with_context(ctx);
        app.open_file(path);
        app
    }
}

/// A file that did not open because it is not JSON: where it breaks and the text around it,
/// with a way to fix it in the raw view (or to open another file).
pub(super) fn broken_ui(ui: &mut egui::Ui, app: &mut Workspace) {
    let Some(broken) = &app.broken else { return };
    let mut fix = false;
    let mut other = false;
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
        fix = ui
            .add_enabled(can_fix, egui::Button::new("Fix it in the raw view"))
            .on_disabled_hover_text(format!(
                "only a UTF-8 file of at most {} MiB can be fixed here",
                crate::loader::FIXABLE >> 20
            ))
            .clicked();
        other = ui.button("Open another file…").clicked();
    });
    if fix {
        app.fix_in_raw();
    }
    if other {
        app.run(crate::commands::Command::Open);
    }
}

/// Asks what to do with unsaved changes before the window closes.
pub(super) fn close_prompt_ui(ui: &mut egui::Ui, app: &mut Workspace) {
    let name = app
        .editor
        .path()
        .map_or_else(|| "the document".to_owned(), |p| p.display().to_string());
    let mut choice = None;
    let hosted = app.hosts_unsaved();
    egui::Modal::new(egui::Id::unique("close prompt")).show(ui.ctx(), |ui| {
        if hosted {
            ui.heading("Shared from this window");
            ui.label(
                "Closing stops sharing this document, and it has no file: nobody could open it \
                 again. Save it to a file before closing?",
            );
        } else {
            ui.heading("Unsaved changes");
            ui.label(format!("Save the changes to {name} before closing?"));
        }
        ui.horizontal(|ui| {
            // Without a file yet, saving asks where first.
            let save = if app.editor.path().is_some() {
                "Save and close"
            } else {
                "Save as… and close"
            };
            if ui.button(save).clicked() {
                choice = Some(true);
            }
            let without = if hosted {
                "Close anyway"
            } else {
                "Close without saving"
            };
            if ui.button(without).clicked() {
                choice = Some(false);
            }
            if ui.button("Cancel").clicked() {
                app.closing = false;
            }
        });
    });
    let Some(save) = choice else { return };
    if save && app.editor.path().is_none() {
        app.closing = false;
        app.close_after_save = true;
        app.start_dialog(Purpose::SaveAs);
        return;
    }
    if save && let Err(e) = app.editor.save() {
        app.message = Some(format!("{e:#}"));
        app.closing = false;
        return;
    }
    app.closing = false;
    app.close_confirmed = true;
    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
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
