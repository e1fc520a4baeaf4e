//! What each menu command does ([`Workspace::run`]), and the moves of the selection and of
//! inline editing they start.

use super::{Editing, Part, Raw, Search, Workspace};
use crate::commands::Command;
use crate::editor::ValueKind;
use crate::file_dialog::Purpose;

impl Workspace {
    /// Runs a command.
    pub(super) fn run(&mut self, command: Command) {
        let result = match command {
            // A file that did not open has no document to write (and writing one would replace
            // the file).
            Command::Save | Command::SaveAs | Command::ImportPatch if self.broken.is_some() => {
                Err(self.broken.as_ref().map_or_else(String::new, |b| {
                    format!(
                        "{} did not open (it is not JSON): fix it in the raw view or open another file",
                        b.path.display()
                    )
                }))
            }
            Command::ToggleRaw if self.raw.is_none() && self.broken.is_some() => {
                self.fix_in_raw();
                Ok(())
            }
            Command::Open => {
                if self.editor.is_dirty() {
                    Err(super::UNSAVED.to_owned())
                } else {
                    self.start_dialog(Purpose::Open);
                    Ok(())
                }
            }
            Command::SaveAs => {
                self.start_dialog(Purpose::SaveAs);
                Ok(())
            }
            Command::Save if self.editor.path().is_none() => {
                self.start_dialog(Purpose::SaveAs);
                Ok(())
            }
            Command::Save => self.editor.save().map_err(|e| format!("{e:#}")),
            Command::Undo => self.editor.undo().map_err(|e| e.to_string()),
            Command::Redo => self.editor.redo().map_err(|e| e.to_string()),
            Command::Delete => match self.editor.selected().cloned() {
                Some(path) => self.editor.delete(&path).map_err(|e| e.to_string()),
                None => Ok(()),
            },
            Command::ExpandAll => {
                self.editor.expand_all(true);
                Ok(())
            }
            Command::CollapseAll => {
                self.editor.expand_all(false);
                Ok(())
            }
            Command::SelectUp => {
                self.move_selection(-1);
                Ok(())
            }
            Command::SelectDown => {
                self.move_selection(1);
                Ok(())
            }
            Command::ExpandSelected => {
                self.expand_selected(true);
                Ok(())
            }
            Command::CollapseSelected => {
                self.expand_selected(false);
                Ok(())
            }
            Command::EditSelected => {
                self.start_editing();
                Ok(())
            }
            Command::Rename => {
                self.start_renaming();
                Ok(())
            }
            Command::AddChild => self.with_selected(|app, path| {
                let child = app.editor.add_child(&path)?;
                app.start_naming_or_editing(&child);
                Ok(())
            }),
            Command::AddSibling => self.with_selected(|app, path| {
                let sibling = app.editor.add_sibling(&path)?;
                app.start_naming_or_editing(&sibling);
                Ok(())
            }),
            Command::Duplicate => self.with_selected(|app, path| {
                app.editor.duplicate(&path)?;
                Ok(())
            }),
            Command::ToggleRaw => {
                if self.raw.is_none() {
                    self.editing = None;
                    self.raw = Some(Raw::of(self));
                    Ok(())
                } else if self.apply_raw() {
                    self.raw = None;
                    Ok(())
                } else {
                    Err("the text is not JSON: fix it or discard it first".to_owned())
                }
            }
            Command::ToggleTheme => {
                self.settings.theme = match self.settings.theme {
                    crate::settings::Theme::Dark => crate::settings::Theme::Light,
                    crate::settings::Theme::Light => crate::settings::Theme::Dark,
                };
                self.save_settings();
                Ok(())
            }
            Command::ZoomIn | Command::ZoomOut => {
                let step = if command == Command::ZoomIn {
                    1.0
                } else {
                    -1.0
                };
                self.settings.font_size =
                    (self.settings.clamped_font_size() + step).clamp(8.0, 32.0);
                self.save_settings();
                Ok(())
            }
            Command::Preferences => {
                self.preferences = true;
                Ok(())
            }
            Command::Find => {
                let opening = self.opening();
                let search = self.search.get_or_insert_with(Search::default);
                search.opening = Some(opening);
                Ok(())
            }
            Command::FindNext => {
                self.step_match(1);
                Ok(())
            }
            Command::FindPrevious => {
                self.step_match(-1);
                Ok(())
            }
            Command::CopyPointer => {
                if let Some(path) = self.editor.selected() {
                    self.clipboard = Some(path.to_string());
                }
                Ok(())
            }
            Command::Connect => {
                self.open_connect_dialog();
                Ok(())
            }
            Command::Share => {
                self.sharing.get_or_insert_with(super::ShareForm::default);
                Ok(())
            }
            Command::ToggleOffline => match &mut self.session {
                None => Err("this document is not shared".to_owned()),
                Some(session) => {
                    if matches!(session.status(), crate::session::Status::Offline { .. }) {
                        session.connect_now();
                    } else {
                        session.go_offline();
                    }
                    Ok(())
                }
            },
            Command::People | Command::Conflicts | Command::History => {
                let side = match command {
                    Command::People => super::Side::People,
                    Command::Conflicts => super::Side::Conflicts,
                    _ => super::Side::History,
                };
                self.side = if self.side == Some(side) {
                    None
                } else {
                    Some(side)
                };
                Ok(())
            }
            Command::ExportUnsynced => self.unsynced_patch().map(|text| {
                self.export = Some(text);
                self.start_dialog(Purpose::ExportPatch);
            }),
            Command::ImportPatch => {
                self.start_dialog(Purpose::ImportPatch);
                Ok(())
            }
        };
        match result {
            Ok(()) if command == Command::Save && self.dialog.is_none() => {
                self.message = Some("Saved".to_owned());
            }
            Ok(()) => {}
            Err(message) => self.message = Some(message),
        }
    }

    pub(crate) fn move_selection(&mut self, by: isize) {
        let current = self.editor.selected().cloned();
        let row = current.and_then(|p| self.editor.row_of(&p));
        let count = self.editor.rows().len();
        let next = match row {
            Some(row) => row.saturating_add_signed(by).min(count.saturating_sub(1)),
            None => 0,
        };
        let path = self.editor.path_of_row(next);
        self.editor.select(Some(path));
    }

    pub(crate) fn expand_selected(&mut self, expand: bool) {
        let Some(path) = self.editor.selected().cloned() else {
            return;
        };
        let is_container = matches!(
            path.resolve(self.editor.doc()),
            Some(sync_core::Value::Object(_) | sync_core::Value::Array(_))
        );
        let expanded = self.editor.is_expanded(&path);
        if is_container && expanded != expand {
            self.editor.set_expanded(&path, expand);
        } else if expand {
            self.move_selection(1);
        } else if let Some(parent) = path.parent() {
            self.editor.select(Some(parent));
        }
    }

    pub(crate) fn with_selected(
        &mut self,
        f: impl FnOnce(&mut Workspace, sync_core::Pointer) -> Result<(), crate::editor::EditError>,
    ) -> Result<(), String> {
        let Some(path) = self.editor.selected().cloned() else {
            return Ok(());
        };
        f(self, path).map_err(|e| e.to_string())
    }

    /// After adding a node: name it if it is an object member, else edit its value.
    pub(crate) fn start_naming_or_editing(&mut self, path: &sync_core::Pointer) {
        self.editor.reveal(path);
        self.editor.select(Some(path.clone()));
        if self.is_member(path) {
            self.start_renaming();
        } else {
            self.start_editing();
        }
    }

    /// Whether `path` names an object member (which has a key to edit).
    pub(crate) fn is_member(&self, path: &sync_core::Pointer) -> bool {
        path.parent()
            .and_then(|p| p.resolve(self.editor.doc()))
            .is_some_and(|v| matches!(v, sync_core::Value::Object(_)))
    }

    /// Starts renaming the selected member, if it is an object member.
    pub(crate) fn start_renaming(&mut self) {
        let Some(path) = self.editor.selected().cloned() else {
            return;
        };
        if !self.is_member(&path) {
            self.message = Some("only object members have keys to rename".to_owned());
            return;
        }
        let text = path.last().unwrap_or_default().to_owned();
        let opening = self.opening();
        self.editing = Some(Editing::new(
            path,
            Part::Key,
            (ValueKind::String, text),
            opening,
        ));
    }

    /// Starts editing the selected value.
    pub(crate) fn start_editing(&mut self) {
        let Some(path) = self.editor.selected().cloned() else {
            return;
        };
        let Some(value) = path.resolve(self.editor.doc()) else {
            return;
        };
        // Containers too: the type switch can turn them into any other kind.
        let (kind, text) = (ValueKind::of(value), crate::editor::text_of(value));
        let opening = self.opening();
        self.editing = Some(Editing::new(path, Part::Value, (kind, text), opening));
    }
}

impl Workspace {
    /// Copies the selected node as JSON (Ctrl+C outside a text field), and deletes it if `cut`.
    pub(super) fn copy_selected(&mut self, cut: bool) {
        let Some(path) = self.editor.selected().cloned() else {
            return;
        };
        if let Some(value) = path.resolve(self.editor.doc()) {
            self.clipboard = Some(value.to_json_pretty());
        }
        if cut && let Err(e) = self.editor.delete(&path) {
            self.message = Some(e.to_string());
        }
    }

    /// Pastes `text`, which must be JSON, after the selected node (Ctrl+V outside a text
    /// field). The status bar says what this paste did.
    pub(super) fn paste(&mut self, text: &str) {
        let at = self
            .editor
            .selected()
            .cloned()
            .unwrap_or_else(sync_core::Pointer::root);
        let result = match sync_core::Value::parse(text) {
            Ok(value) => self
                .editor
                .insert_value_after(&at, value)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(format!("the clipboard does not hold JSON: {e}")),
        };
        self.message = Some(match result {
            Ok(()) => format!("pasted after {}", crate::words::path(&at)),
            Err(message) => message,
        });
    }
}
