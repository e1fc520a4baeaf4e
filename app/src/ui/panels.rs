//! The bars and windows around the document: menus, search, status, preferences.

use egui::{Button, MenuBar};

use crate::commands::Command;
use crate::editor::Editor;
use crate::workspace::{Dialog, Intent, Workspace};

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

/// The preferences: display name, theme, text size. Changes are saved as they are made.
pub(super) fn preferences_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    use crate::settings::Theme;
    // Changed here, then recorded as a whole if anything did.
    let mut settings = app.settings.clone();
    let mut open = true;
    let mut retrust = false;
    egui::Window::new("Preferences")
        .open(&mut open)
        .resizable(false)
        .collapsible(false)
        .show(ui.ctx(), |ui| {
            egui::Grid::new("preferences")
                .num_columns(2)
                .show(ui, |ui| {
                    let label = ui.label("Display name");
                    ui.add(
                        egui::TextEdit::singleline(&mut settings.display_name)
                            .hint_text("shown to others when you collaborate"),
                    )
                    .labelled_by(label.id);
                    ui.end_row();
                    ui.label("Theme");
                    ui.horizontal(|ui| {
                        ui.radio_value(&mut settings.theme, Theme::Dark, "Dark");
                        ui.radio_value(&mut settings.theme, Theme::Light, "Light");
                    });
                    ui.end_row();
                    let label = ui.label("Text size");
                    ui.add(egui::Slider::new(&mut settings.font_size, 8.0..=32.0).step_by(1.0))
                        .labelled_by(label.id);
                    ui.end_row();
                    ui.label("Save files");
                    let choice = egui::ComboBox::from_id_salt("save layout")
                        .selected_text(settings.save_layout.label())
                        .show_ui(ui, |ui| {
                            for layout in crate::settings::SaveLayout::ALL {
                                ui.selectable_value(
                                    &mut settings.save_layout,
                                    layout,
                                    layout.label(),
                                );
                            }
                        });
                    choice.response.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "save files")
                    });
                    ui.end_row();
                    let label = ui.label("Relay CA file");
                    let mut path = settings
                        .ca_file
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    let field = ui
                        .add(egui::TextEdit::singleline(&mut path).hint_text("PEM, for wss://"))
                        .labelled_by(label.id)
                        .on_hover_text(
                            "An extra certificate authority, for wss:// relays whose \
                             certificate is of their own making. Used when the field is left.",
                        );
                    if field.changed() {
                        settings.ca_file =
                            (!path.is_empty()).then(|| std::path::PathBuf::from(path));
                    }
                    if field.lost_focus() {
                        retrust = true;
                    }
                    ui.end_row();
                });
            if std::env::var_os(crate::session::tls::CA_FILE_ENV).is_some() {
                ui.label(
                    egui::RichText::new(format!(
                        "{} is set: it is used instead of the CA file above.",
                        crate::session::tls::CA_FILE_ENV
                    ))
                    .weak(),
                );
            }
        });
    if settings != app.settings {
        intents.push(Intent::Preferences(Box::new(settings)));
    }
    if retrust {
        intents.push(Intent::Retrust);
    }
    if !open {
        intents.push(Intent::Dismiss(Dialog::Preferences));
    }
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
