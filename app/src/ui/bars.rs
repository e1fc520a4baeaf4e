//! The bars above and below the document: the menus and the status bar.

use egui::{Button, MenuBar};

use crate::commands::Command;
use crate::editor::Editor;
use crate::workspace::{Intent, Workspace};

/// The menus, every command with its shortcut; File also lists the recent files and shared
/// documents.
pub(super) fn menu_bar_ui(
    ui: &mut egui::Ui,
    editor: &Editor,
    settings: &crate::settings::Settings,
    intents: &mut Vec<Intent>,
) {
    MenuBar::new().ui(ui, |ui| {
        for (menu, items) in Command::MENUS {
            ui.menu_button(menu, |ui| {
                if menu == "File" {
                    ui.menu_button("Open recent", |ui| {
                        if settings.recent.is_empty() && settings.recent_shared.is_empty() {
                            ui.label("(none yet)");
                        }
                        for path in &settings.recent {
                            if ui.button(path.display().to_string()).clicked() {
                                intents.push(Intent::OpenFile(path.clone()));
                                ui.close();
                            }
                        }
                        if !settings.recent.is_empty() && !settings.recent_shared.is_empty() {
                            ui.separator();
                        }
                        for target in &settings.recent_shared {
                            let text = format!("{} on {}", target.doc, target.relay);
                            if ui.button(text).clicked() {
                                intents.push(Intent::Join(target.clone()));
                                ui.close();
                            }
                        }
                    });
                }
                for &command in items {
                    let enabled = match command {
                        Command::Undo => editor.can_undo(),
                        Command::Redo => editor.can_redo(),
                        Command::Save => editor.path().is_some() || editor.is_dirty(),
                        Command::Delete
                        | Command::EditSelected
                        | Command::Rename
                        | Command::AddChild
                        | Command::AddSibling
                        | Command::Duplicate
                        | Command::CopyPointer => editor.selected().is_some(),
                        _ => true,
                    };
                    let shortcut = command
                        .shortcuts()
                        .first()
                        .map(|s| ui.ctx().format_shortcut(s))
                        .unwrap_or_default();
                    let button = Button::new(command.label()).shortcut_text(shortcut);
                    if ui.add_enabled(enabled, button).clicked() {
                        intents.push(Intent::Command(command));
                        ui.close();
                    }
                }
            });
        }
    });
}

/// The selection, the document's node count and size, its file and whether it is modified,
/// and the last message.
pub(super) fn status_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    ui.horizontal(|ui| {
        if app.session.is_some() {
            super::collab::status_ui(ui, app, intents);
            ui.separator();
        }
        // A file that did not open: no document to count (what the window holds is nothing).
        if let Some(broken) = &app.broken {
            ui.label(format!("{} did not open", broken.path.display()));
            return;
        }
        let editor = &app.editor;
        let selected = editor
            .selected()
            .map_or_else(|| "nothing selected".to_owned(), crate::words::path);
        ui.label(selected);
        ui.separator();
        let nodes = crate::words::counted(editor.node_count(), "node", "nodes");
        if editor.is_counting() {
            ui.label(format!("{nodes} (counting…)"))
                .on_hover_text("the document changed shape: its nodes are being counted again");
        } else {
            ui.label(nodes);
        }
        ui.separator();
        ui.label(editor.size().to_string());
        if let Some(path) = editor.path() {
            ui.separator();
            let dirty = if editor.is_dirty() { " (modified)" } else { "" };
            ui.label(format!("{}{dirty}", path.display()));
        }
        if let Some(message) = &app.message {
            ui.separator();
            // A long message is cut to the room left, and shows whole on hover.
            ui.add(egui::Label::new(message).truncate());
        }
    });
}
