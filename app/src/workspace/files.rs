//! Files: opening in the background, the native and in-app dialogs, saving, the settings file,
//! and a broken file fixed in the raw view.

use std::path::Path;

use sync_core::value::Style;

use super::FileForm;
use super::{UNSAVED, Workspace};
use crate::editor::Editor;
use crate::file_dialog::{Outcome, Pending, Purpose};
use crate::loader::Loader;

impl Workspace {
    /// Shows a file dialog (unless one is showing): the desktop's, or the app's own where the
    /// desktop has none.
    pub(crate) fn start_dialog(&mut self, purpose: Purpose) {
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
    pub(crate) fn poll_dialog(&mut self) {
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
    pub(crate) fn chosen(&mut self, purpose: Purpose, path: &Path) {
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

    pub(crate) fn save_settings(&mut self) {
        if let Some(path) = &self.settings_path
            && let Err(e) = self.settings.save(path)
        {
            self.message = Some(format!("cannot save settings to {}: {e}", path.display()));
        }
    }

    /// Opens `path` in the background, unless the document has unsaved changes.
    pub(crate) fn open_file(&mut self, path: &Path) {
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
    pub(crate) fn poll_loading(&mut self) {
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
    pub(crate) fn fix_in_raw(&mut self) {
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
        self.raw = Some(super::Raw {
            text,
            error: Some(error),
            edited: true,
        });
    }

    /// Takes the fixed text of the broken file (see [`ConcordApp::broken`]) as its document:
    /// the file's document from now on, unsaved until saved.
    pub(crate) fn fixed(&mut self, doc: sync_core::Value) {
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
