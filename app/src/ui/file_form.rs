//! The app's own file dialog, for where the desktop has none (no portal running) or the user
//! asks for it (`CONCORD_FILE_DIALOG=in-app`): a path field that Tab completes, and the folder's
//! entries to click through.

use std::path::{Path, PathBuf};

use egui::{Key, Modifiers, Role, WidgetInfo};

use super::Opening;
use crate::dialogs::Purpose;
use crate::workspace::Workspace;

/// The in-app file dialog, while open.
#[derive(Debug, Clone)]
pub struct FileForm {
    /// What it is for.
    pub purpose: Purpose,
    /// The path typed so far.
    pub path: String,
    /// Set until the field has the keyboard.
    pub opening: Option<Opening>,
    /// Why the path cannot be used, after an attempt.
    pub error: Option<String>,
    /// The folder last listed and its entries (name, is a folder), folders first.
    listing: Option<(PathBuf, Vec<(String, bool)>)>,
}

impl FileForm {
    /// The dialog for `purpose`, starting in `directory` (with the suggested name when it
    /// names a file to write).
    pub fn new(purpose: Purpose, directory: Option<&Path>) -> FileForm {
        let directory = directory
            .map(Path::to_path_buf)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        let mut path = directory.join("").display().to_string();
        if purpose.writes() {
            path.push_str(purpose.suggested_name());
        }
        FileForm {
            purpose,
            path,
            opening: Some(Opening::Keep),
            error: None,
            listing: None,
        }
    }

    /// The folder the typed path is in, and the start of the name typed in it.
    fn split(&self) -> (PathBuf, String) {
        match self.path.rsplit_once('/') {
            Some((dir, name)) => (PathBuf::from(format!("{dir}/")), name.to_owned()),
            None => (PathBuf::from("."), self.path.clone()),
        }
    }

    /// The entries of the folder typed, listed again when it changes.
    fn entries(&mut self) -> (&Path, &[(String, bool)]) {
        let (dir, _) = self.split();
        if self.listing.as_ref().is_none_or(|(d, _)| *d != dir) {
            let mut entries: Vec<(String, bool)> = std::fs::read_dir(&dir)
                .map(|read| {
                    read.flatten()
                        .map(|e| {
                            let folder = e.file_type().is_ok_and(|t| t.is_dir());
                            (e.file_name().to_string_lossy().into_owned(), folder)
                        })
                        .filter(|(name, _)| !name.starts_with('.'))
                        .collect()
                })
                .unwrap_or_default();
            entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            self.listing = Some((dir, entries));
        }
        self.listing
            .as_ref()
            .map_or((Path::new("."), &[][..]), |(d, e)| {
                (d.as_path(), e.as_slice())
            })
    }

    /// Completes the typed name to what all entries starting with it share (a folder's name
    /// gets its `/`).
    fn complete(&mut self) {
        let (_, typed) = self.split();
        let (dir, entries) = self.entries();
        let matching: Vec<&(String, bool)> = entries
            .iter()
            .filter(|(n, _)| n.starts_with(&typed))
            .collect();
        let Some((first, folder)) = matching.first() else {
            return;
        };
        let mut common = first.clone();
        for (name, _) in &matching {
            while !name.starts_with(&common) {
                common.pop();
            }
        }
        let mut path = dir.join(&common).display().to_string();
        if matching.len() == 1 && *folder {
            path.push('/');
        }
        // The completed path replaces the text, the caret at its end.
        self.opening = Some(Opening::Replace(path));
    }

    /// The path chosen, if it can be used for this purpose.
    fn check(&self) -> Result<PathBuf, String> {
        let path = PathBuf::from(self.path.trim());
        if self.purpose.writes() {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            if path.is_dir() {
                return Err(format!("{} is a folder", path.display()));
            }
            match parent {
                Some(dir) if !dir.is_dir() => Err(format!("there is no folder {}", dir.display())),
                _ => Ok(path),
            }
        } else if path.is_file() {
            Ok(path)
        } else {
            Err(format!("there is no file {}", path.display()))
        }
    }
}

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
            } else if form.purpose.writes() && Path::new(form.path.trim()).is_file() {
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
