//! The app's own file dialog, for where the desktop has none (no portal running) or the user
//! asks for it (`CONCORD_FILE_DIALOG=in-app`): a path field that Tab completes, and the folder's
//! entries to click through.

use std::borrow::Cow;

use egui::{Key, Modifiers, Role, WidgetInfo};

use crate::workspace::{Dialog, Field, FileAsk, Intent, Workspace};

/// Draws the in-app file dialog.
pub(super) fn file_form_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(form) = &app.file_form else {
        return;
    };
    egui::Window::new(form.purpose.title())
        .collapsible(false)
        .resizable(false)
        .default_width(520.0)
        .show(ui.ctx(), |ui| {
            let id = ui.make_persistent_id("file path");
            // Tab completes the name, rather than leaving the field: what was typed before it
            // in the same frame first.
            let complete = ui.memory(|m| m.has_focus(id))
                && ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Tab));
            let mut path = Cow::Borrowed(form.path.as_str());
            // Until the field has the keyboard (a window's first frame only measures it).
            if let Some(opening) = &form.opening {
                super::open_field(ui, id, &mut path, opening);
            }
            let field = ui.add(
                egui::TextEdit::singleline(&mut path)
                    .id(id)
                    // Tab stays in the field, to complete.
                    .lock_focus(true)
                    .desired_width(500.0),
            );
            field.widget_info(|| WidgetInfo::labeled(Role::TextInput, true, "file path"));
            if field.has_focus() && form.opening.is_some() {
                intents.push(Intent::Opened(Field::FilePath));
            }
            if let Cow::Owned(path) = path {
                intents.push(Intent::FileForm(FileAsk::Path(path)));
            }
            if complete {
                intents.push(Intent::FileForm(FileAsk::Complete));
            }
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            if let Some(error) = &form.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            } else if form.purpose.writes() && std::path::Path::new(form.path.trim()).is_file() {
                ui.label("This replaces the file that is there.");
            }
            let (_, typed) = form.split();
            egui::ScrollArea::vertical()
                .max_height(260.0)
                .show(ui, |ui| {
                    let (_, entries) = form.entries();
                    // Those that start with the name typed; all of them if none does (a new
                    // file's name, say).
                    let mut shown: Vec<&(String, bool)> = entries
                        .iter()
                        .filter(|(n, _)| n.starts_with(&typed))
                        .collect();
                    if shown.is_empty() {
                        shown = entries.iter().collect();
                    }
                    for (name, folder) in shown.into_iter().take(500) {
                        let text = if *folder {
                            format!("{name}/")
                        } else {
                            name.clone()
                        };
                        let entry = ui.selectable_label(false, text);
                        if entry.clicked() || entry.double_clicked() {
                            intents.push(Intent::FileForm(FileAsk::Entry {
                                name: name.clone(),
                                folder: *folder,
                                choose: entry.double_clicked(),
                            }));
                        }
                    }
                });
            ui.horizontal(|ui| {
                let verb = if form.purpose.writes() {
                    "Save"
                } else {
                    "Open"
                };
                if ui.button(verb).clicked() || enter {
                    intents.push(Intent::FileForm(FileAsk::Choose));
                }
                if ui.button("Cancel").clicked() {
                    intents.push(Intent::Dismiss(Dialog::FileForm));
                }
            });
        });
}
