//! The window: a menu bar, the tree, a status bar. Widgets push [`Command`]s and edits; the
//! app applies commands in one place, at the end of the frame.

mod tree;

pub use tree::row_name;

use egui::{Button, CentralPanel, MenuBar, Panel};

use crate::commands::Command;
use crate::editor::rows::Kind;
use crate::editor::{Editor, ScalarKind};

/// A value being edited inline.
#[derive(Debug, Clone, PartialEq)]
pub struct Editing {
    /// Which value.
    pub path: sync_core::Pointer,
    /// What the text is read as.
    pub kind: ScalarKind,
    /// The text in the field.
    pub text: String,
    /// Whether the field still has to take the keyboard focus.
    pub focus: bool,
}

/// The desktop editor.
pub struct ConcordApp {
    /// The open document.
    pub editor: Editor,
    /// The value being edited, if any.
    pub editing: Option<Editing>,
    /// The last error or notice, shown in the status bar.
    pub message: Option<String>,
}

impl ConcordApp {
    /// An app on `editor`.
    pub fn new(editor: Editor) -> ConcordApp {
        ConcordApp {
            editor,
            editing: None,
            message: None,
        }
    }

    /// Runs a command.
    pub fn run(&mut self, command: Command) {
        let result = match command {
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
        };
        match result {
            Ok(()) if command == Command::Save => {
                self.message = Some("Saved".to_owned());
            }
            Ok(()) => {}
            Err(message) => self.message = Some(message),
        }
    }

    fn move_selection(&mut self, by: isize) {
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

    fn expand_selected(&mut self, expand: bool) {
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

    /// Starts editing the selected value, if it is a scalar.
    pub fn start_editing(&mut self) {
        let Some(path) = self.editor.selected().cloned() else {
            return;
        };
        let Some(value) = path.resolve(self.editor.doc()) else {
            return;
        };
        let (kind, text) = match value {
            sync_core::Value::String(t) => (ScalarKind::String, t.to_string()),
            sync_core::Value::Number(n) => (ScalarKind::Number, n.to_string()),
            sync_core::Value::Bool(b) => (ScalarKind::Bool, b.to_string()),
            sync_core::Value::Null => (ScalarKind::Null, String::new()),
            _ => return,
        };
        self.editing = Some(Editing {
            path,
            kind,
            text,
            focus: true,
        });
    }

    fn shortcuts(&self, ctx: &egui::Context) -> Vec<Command> {
        let typing = ctx.egui_wants_keyboard_input();
        // egui matches Ctrl+Z when Ctrl+Shift+Z is pressed, so the shortcuts with more
        // modifiers are tried first.
        let mut shortcuts: Vec<(Command, egui::KeyboardShortcut)> = Command::ALL
            .iter()
            .flat_map(|&command| command.shortcuts().into_iter().map(move |s| (command, s)))
            .collect();
        shortcuts.sort_by_key(|(_, s)| std::cmp::Reverse(modifier_count(s.modifiers)));
        let mut commands = Vec::new();
        for (command, shortcut) in shortcuts {
            // While a field has the keyboard, plain keys and undo belong to it.
            let plain = shortcut.modifiers.is_none();
            let undo = matches!(command, Command::Undo | Command::Redo);
            if typing && (plain || undo) {
                continue;
            }
            if ctx.input_mut(|i| i.consume_shortcut(&shortcut)) {
                commands.push(command);
            }
        }
        commands
    }
}

fn modifier_count(m: egui::Modifiers) -> u8 {
    u8::from(m.alt) + u8::from(m.shift) + u8::from(m.command || m.ctrl || m.mac_cmd)
}

impl eframe::App for ConcordApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let mut commands = self.shortcuts(ui.ctx());
        Panel::top("menu").show(ui, |ui| menu_bar_ui(ui, &self.editor, &mut commands));
        Panel::bottom("status").show(ui, |ui| status_ui(ui, self));
        CentralPanel::default().show(ui, |ui| {
            tree::tree_ui(ui, self, &mut commands);
        });
        for command in commands {
            self.run(command);
        }
    }
}

fn menu_bar_ui(ui: &mut egui::Ui, editor: &Editor, commands: &mut Vec<Command>) {
    MenuBar::new().ui(ui, |ui| {
        for (menu, items) in Command::MENUS {
            ui.menu_button(menu, |ui| {
                for &command in items {
                    let enabled = match command {
                        Command::Undo => editor.can_undo(),
                        Command::Redo => editor.can_redo(),
                        Command::Save => editor.path().is_some(),
                        Command::Delete | Command::EditSelected => editor.selected().is_some(),
                        _ => true,
                    };
                    let shortcut = command
                        .shortcuts()
                        .first()
                        .map(|s| ui.ctx().format_shortcut(s))
                        .unwrap_or_default();
                    let button = Button::new(command.label()).shortcut_text(shortcut);
                    if ui.add_enabled(enabled, button).clicked() {
                        commands.push(command);
                        ui.close();
                    }
                }
            });
        }
    });
}

fn status_ui(ui: &mut egui::Ui, app: &ConcordApp) {
    ui.horizontal(|ui| {
        let editor = &app.editor;
        let selected = editor.selected().map_or_else(
            || "nothing selected".to_owned(),
            |p| format!("/{}", p.to_string().trim_start_matches('/')),
        );
        ui.label(selected);
        ui.separator();
        ui.label(format!("{} nodes", editor.node_count()));
        if let Some(path) = editor.path() {
            ui.separator();
            let dirty = if editor.is_dirty() { " (modified)" } else { "" };
            ui.label(format!("{}{dirty}", path.display()));
        }
        if let Some(message) = &app.message {
            ui.separator();
            ui.label(message);
        }
    });
}

/// The text shown for a value in its row.
fn preview(value: &sync_core::Value, kind: Kind) -> String {
    match kind {
        Kind::Object(n) => format!("{{{n}}}"),
        Kind::Array(n) => format!("[{n}]"),
        _ => {
            let mut text = value.to_json();
            if text.len() > 200 {
                let cut = (0..=200)
                    .rev()
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(0);
                text.truncate(cut);
                text.push('…');
            }
            text
        }
    }
}
