//! The app's own file dialog, for where the desktop has none (no portal running) or the user
//! asks for it (`CONCORD_FILE_DIALOG=in-app`): a path field that Tab completes, and the folder's
//! entries to click through.

use egui::{Key, Modifiers, Role, WidgetInfo};

use crate::workspace::{Opening, Workspace};

/// Draws the in-app file dialog; acts on the file chosen.
pub(super) fn file_form_ui(ui: &mut egui::Ui, app: &mut Workspace) {
    let Some(form) = &mut app.file_form else {
        return;
    };
    let mut chosen = None;
    let mut cancel = false;
    let title = form.purpose.title();
    egui::Window::new(title)
        .collapsible(false)
        .resizable(false)
        .default_width(520.0)
        .show(ui.ctx(), |ui| {
            let id = ui.make_persistent_id("file path");
            // Tab completes the name, rather than leaving the field.
            if ui.memory(|m| m.has_focus(id))
                && ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Tab))
            {
                form.complete();
            }
            // Until the field has the keyboard (a window's first frame only measures it).
            if let Some(opening) = form.opening.clone() {
                super::open_field(ui, id, &mut form.path, opening);
            }
            let field = ui.add(
                egui::TextEdit::singleline(&mut form.path)
                    .id(id)
                    // Tab stays in the field, to complete.
                    .lock_focus(true)
                    .desired_width(500.0),
            );
            field.widget_info(|| WidgetInfo::labeled(Role::TextInput, true, "file path"));
            if field.has_focus() {
                form.opening = None;
            }
            if field.changed() {
                form.error = None;
            }
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            if let Some(error) = &form.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            } else if form.purpose.writes() && std::path::Path::new(form.path.trim()).is_file() {
                ui.label("This replaces the file that is there.");
            }
            let (_, typed) = form.split();
            let mut clicked: Option<(String, bool, bool)> = None;
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
                        if entry.double_clicked() {
                            clicked = Some((name.clone(), *folder, true));
                        } else if entry.clicked() {
                            clicked = Some((name.clone(), *folder, false));
                        }
                    }
                });
            if let Some((name, folder, twice)) = clicked {
                let (dir, _) = form.split();
                let mut path = dir.join(&name).display().to_string();
                if folder {
                    path.push('/');
                }
                form.path = path;
                form.error = None;
                form.opening = Some(Opening::Keep);
                if twice && !folder {
                    chosen = Some(form.check());
                }
            }
            ui.horizontal(|ui| {
                let verb = if form.purpose.writes() {
                    "Save"
                } else {
                    "Open"
                };
                if ui.button(verb).clicked() || enter {
                    chosen = Some(form.check());
                }
                if ui.button("Cancel").clicked() {
                    cancel = true;
                }
            });
        });
    match chosen {
        Some(Ok(path)) => {
            let purpose = form.purpose;
            app.file_form = None;
            app.chosen(purpose, &path);
        }
        Some(Err(e)) => {
            form.error = Some(e);
            form.opening = Some(Opening::Keep);
        }
        None if cancel => {
            app.file_form = None;
            app.close_after_save = false;
        }
        None => {}
    }
}
