//! The window: a menu bar, the tree, a status bar. Widgets push [`Command`]s and edits; the
//! app applies commands in one place, at the end of the frame.

mod raw;
mod tree;

pub use raw::Raw;
pub use tree::row_name;

use egui::{Button, CentralPanel, MenuBar, Panel};

use crate::commands::Command;
use crate::editor::rows::Kind;
use crate::editor::{Editor, ScalarKind};

/// What is being edited inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The value.
    Value,
    /// The member's key.
    Key,
}

/// A value or key being edited inline.
#[derive(Debug, Clone, PartialEq)]
pub struct Editing {
    /// Which node.
    pub path: sync_core::Pointer,
    /// Its value or its key.
    pub target: Target,
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
    /// Text to put on the clipboard at the end of the frame.
    clipboard: Option<String>,
    /// The text most recently put on the clipboard.
    pub copied: Option<String>,
    /// The search bar, when open.
    pub search: Option<Search>,
    /// A node to scroll into view in the next frame.
    pub scroll_to: Option<sync_core::Pointer>,
    /// The raw JSON view, when shown instead of the tree.
    pub raw: Option<Raw>,
    /// A file being loaded in the background; the editor is replaced when it is done.
    pub loading: Option<crate::loader::Loader>,
    /// Theme, font size, recent files, display name.
    pub settings: crate::settings::Settings,
    /// Where the settings are saved (`None`: not saved, as in tests).
    settings_path: Option<std::path::PathBuf>,
    /// The settings last applied to egui (applied again when they change).
    applied: Option<(crate::settings::Theme, f32)>,
    /// The unsaved-changes prompt is showing, after a close was asked for.
    pub closing: bool,
    /// The user chose to close even with unsaved changes (or saved them).
    close_confirmed: bool,
    /// A native open or save dialog that is showing.
    pub dialog: Option<crate::dialogs::Pending>,
    /// The preferences window is open.
    pub preferences: bool,
    /// The egui context, for waking the window from background work started by commands.
    egui_ctx: Option<egui::Context>,
}

/// The search bar's state.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// What is searched for.
    pub query: String,
    /// The nodes that match, in document order.
    pub matches: Vec<sync_core::Pointer>,
    /// The match shown, if any.
    pub current: Option<usize>,
    /// Whether the field still has to take the keyboard focus.
    pub focus: bool,
}

impl ConcordApp {
    /// An app on `editor`.
    pub fn new(editor: Editor) -> ConcordApp {
        ConcordApp {
            editor,
            editing: None,
            message: None,
            clipboard: None,
            copied: None,
            search: None,
            scroll_to: None,
            raw: None,
            loading: None,
            settings: crate::settings::Settings::default(),
            settings_path: None,
            applied: None,
            closing: false,
            close_confirmed: false,
            dialog: None,
            preferences: false,
            egui_ctx: None,
        }
    }

    /// Shows a native dialog (unless one is showing).
    fn start_dialog(&mut self, purpose: crate::dialogs::Purpose) {
        if self.dialog.is_some() {
            return;
        }
        let directory = self
            .editor
            .path()
            .and_then(std::path::Path::parent)
            .map(std::path::Path::to_path_buf);
        let ctx = self.egui_ctx.clone();
        self.dialog = Some(crate::dialogs::Pending::start(
            purpose,
            directory,
            move || {
                if let Some(ctx) = &ctx {
                    ctx.request_repaint();
                }
            },
        ));
    }

    /// Acts on a dialog that has closed.
    fn poll_dialog(&mut self, ctx: &egui::Context) {
        use crate::dialogs::{Outcome, Purpose};
        let Some(dialog) = &self.dialog else { return };
        let purpose = dialog.purpose;
        match dialog.poll() {
            Outcome::Open => {}
            Outcome::Nothing => self.dialog = None,
            Outcome::Chosen(path) => {
                self.dialog = None;
                match purpose {
                    Purpose::Open => self.open_file(&path, ctx),
                    Purpose::SaveAs => match self.editor.save_as(&path) {
                        Ok(()) => {
                            self.settings.remember(&path);
                            self.save_settings();
                            self.message = Some(format!("Saved to {}", path.display()));
                        }
                        Err(e) => self.message = Some(format!("{e:#}")),
                    },
                }
            }
        }
    }

    /// Uses `settings`, saving changes to `path`.
    pub fn with_settings(
        mut self,
        settings: crate::settings::Settings,
        path: Option<std::path::PathBuf>,
    ) -> ConcordApp {
        self.settings = settings;
        self.settings_path = path;
        self
    }

    fn save_settings(&mut self) {
        if let Some(path) = &self.settings_path
            && let Err(e) = self.settings.save(path)
        {
            self.message = Some(format!("cannot save settings to {}: {e}", path.display()));
        }
    }

    /// Opens `path` in the background, unless the document has unsaved changes.
    pub fn open_file(&mut self, path: &std::path::Path, ctx: &egui::Context) {
        if self.editor.is_dirty() {
            self.message =
                Some("the document has unsaved changes: save them first (Ctrl+S)".to_owned());
            return;
        }
        let ctx = ctx.clone();
        self.editing = None;
        self.raw = None;
        self.search = None;
        self.loading = Some(crate::loader::Loader::start(path, move || {
            ctx.request_repaint();
        }));
    }

    /// An app that opens `path` in the background, showing progress meanwhile.
    pub fn open(path: &std::path::Path, ctx: &egui::Context) -> ConcordApp {
        let empty = Editor::new(
            sync_core::Value::Object(sync_core::Map::new()),
            None,
            sync_core::value::Style::default(),
        );
        let mut app = ConcordApp::new(empty);
        let ctx = ctx.clone();
        app.loading = Some(crate::loader::Loader::start(path, move || {
            ctx.request_repaint();
        }));
        app
    }

    /// Takes the loaded editor when the background load is done.
    fn poll_loading(&mut self) {
        let Some(result) = self.loading.as_ref().and_then(crate::loader::Loader::poll) else {
            return;
        };
        self.loading = None;
        match result {
            Ok(editor) => {
                if let Some(path) = editor.path() {
                    self.settings.remember(path);
                }
                self.editor = editor;
                self.message = None;
                self.save_settings();
            }
            Err(e) => self.message = Some(format!("{e:#}")),
        }
    }

    /// Runs a command.
    pub fn run(&mut self, command: Command) {
        let result = match command {
            Command::Open => {
                if self.editor.is_dirty() {
                    Err("the document has unsaved changes: save them first (Ctrl+S)".to_owned())
                } else {
                    self.start_dialog(crate::dialogs::Purpose::Open);
                    Ok(())
                }
            }
            Command::SaveAs => {
                self.start_dialog(crate::dialogs::Purpose::SaveAs);
                Ok(())
            }
            Command::Save if self.editor.path().is_none() => {
                self.start_dialog(crate::dialogs::Purpose::SaveAs);
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
                } else if raw::apply(self) {
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
                let search = self.search.get_or_insert_with(Search::default);
                search.focus = true;
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
        };
        match result {
            Ok(()) if command == Command::Save && self.dialog.is_none() => {
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

    fn with_selected(
        &mut self,
        f: impl FnOnce(&mut ConcordApp, sync_core::Pointer) -> Result<(), crate::editor::EditError>,
    ) -> Result<(), String> {
        let Some(path) = self.editor.selected().cloned() else {
            return Ok(());
        };
        f(self, path).map_err(|e| e.to_string())
    }

    /// After adding a node: name it if it is an object member, else edit its value.
    fn start_naming_or_editing(&mut self, path: &sync_core::Pointer) {
        self.editor.reveal(path);
        self.editor.select(Some(path.clone()));
        let in_object = path
            .parent()
            .and_then(|p| {
                p.resolve(self.editor.doc())
                    .map(|v| matches!(v, sync_core::Value::Object(_)))
            })
            .unwrap_or(false);
        if in_object {
            self.start_renaming();
        } else {
            self.start_editing();
        }
    }

    /// Searches again (after the query or the document changed) and shows the first match.
    pub fn refresh_search(&mut self) {
        let Some(search) = &mut self.search else {
            return;
        };
        search.matches = crate::editor::search::search(self.editor.doc(), &search.query);
        search.current = None;
        self.step_match(1);
    }

    /// Shows the next (`by` = 1) or previous (-1) match, wrapping around: expands the tree to
    /// it, selects it and scrolls to it.
    fn step_match(&mut self, by: isize) {
        let Some(search) = &mut self.search else {
            return;
        };
        let n = search.matches.len();
        if n == 0 {
            search.current = None;
            return;
        }
        let next = match search.current {
            None if by < 0 => n - 1,
            None => 0,
            Some(i) => (i as isize + by).rem_euclid(n as isize) as usize,
        };
        search.current = Some(next);
        if let Some(path) = search.matches.get(next).cloned() {
            self.editor.reveal(&path);
            self.editor.select(Some(path.clone()));
            self.scroll_to = Some(path);
        }
    }

    /// Starts renaming the selected member, if it is an object member.
    pub fn start_renaming(&mut self) {
        let Some(path) = self.editor.selected().cloned() else {
            return;
        };
        let in_object = path
            .parent()
            .and_then(|p| {
                p.resolve(self.editor.doc())
                    .map(|v| matches!(v, sync_core::Value::Object(_)))
            })
            .unwrap_or(false);
        if !in_object {
            self.message = Some("only object members have keys to rename".to_owned());
            return;
        }
        let text = path.last().unwrap_or_default().to_owned();
        self.editing = Some(Editing {
            path,
            target: Target::Key,
            kind: ScalarKind::String,
            text,
            focus: true,
        });
    }

    /// Copy, cut and paste of whole nodes as JSON, through the system clipboard (egui reports
    /// them as events, not keys), when no text field has the keyboard.
    fn clipboard_events(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let events = ctx.input(|i| i.events.clone());
        for event in events {
            let selected = self.editor.selected().cloned();
            match event {
                egui::Event::Copy | egui::Event::Cut => {
                    let Some(path) = selected else { continue };
                    if let Some(value) = path.resolve(self.editor.doc()) {
                        self.clipboard = Some(value.to_json_pretty());
                    }
                    if matches!(event, egui::Event::Cut)
                        && let Err(e) = self.editor.delete(&path)
                    {
                        self.message = Some(e.to_string());
                    }
                }
                egui::Event::Paste(text) => {
                    let at = selected.unwrap_or_default();
                    let result = match sync_core::Value::parse(&text) {
                        Ok(value) => self
                            .editor
                            .insert_value_after(&at, value)
                            .map(|_| ())
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(format!("the clipboard does not hold JSON: {e}")),
                    };
                    if let Err(message) = result {
                        self.message = Some(message);
                    }
                }
                _ => {}
            }
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
            target: Target::Value,
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
            // F3 (find next) types nothing, so it works from the search field too.
            let plain = shortcut.modifiers.is_none() && shortcut.logical_key != egui::Key::F3;
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
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if self.egui_ctx.is_none() {
            self.egui_ctx = Some(ctx.clone());
        }
        self.poll_loading();
        self.poll_dialog(ctx);
        // Settings take effect when they change.
        let wanted = (self.settings.theme, self.settings.clamped_font_size());
        if self.applied != Some(wanted) {
            ctx.set_theme(match wanted.0 {
                crate::settings::Theme::Dark => egui::Theme::Dark,
                crate::settings::Theme::Light => egui::Theme::Light,
            });
            ctx.set_zoom_factor(wanted.1 / 14.0);
            self.applied = Some(wanted);
        }
        // A file dropped on the window is opened.
        let dropped = ctx.input(|i| {
            i.raw.dropped_files.iter().find_map(|f| {
                let path = f.path();
                (!path.as_os_str().is_empty()).then(|| path.to_path_buf())
            })
        });
        if let Some(path) = dropped {
            self.open_file(&path, ctx);
        }
        // Closing with unsaved changes asks first.
        if ctx.input(|i| i.viewport().close_requested())
            && self.editor.is_dirty()
            && !self.close_confirmed
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.closing = true;
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let mut commands = self.shortcuts(ui.ctx());
        self.clipboard_events(ui.ctx());
        let mut open = None;
        Panel::top("menu").show(ui, |ui| {
            menu_bar_ui(
                ui,
                &self.editor,
                &self.settings.recent,
                &mut commands,
                &mut open,
            );
        });
        if let Some(path) = open {
            self.open_file(&path, ui.ctx());
        }
        if self.search.is_some() {
            Panel::top("search").show(ui, |ui| search_ui(ui, self, &mut commands));
        }
        Panel::bottom("status").show(ui, |ui| status_ui(ui, self));
        CentralPanel::default().show(ui, |ui| {
            if let Some(loader) = &self.loading {
                loading_ui(ui, loader);
            } else if self.raw.is_some() {
                raw::raw_ui(ui, self);
            } else {
                tree::tree_ui(ui, self, &mut commands);
            }
        });
        if self.closing {
            close_prompt_ui(ui, self);
        }
        if self.preferences {
            preferences_ui(ui, self);
        }
        for command in commands {
            self.run(command);
        }
        if let Some(text) = self.clipboard.take() {
            ui.ctx().copy_text(text.clone());
            self.copied = Some(text);
        }
    }
}

fn menu_bar_ui(
    ui: &mut egui::Ui,
    editor: &Editor,
    recent: &[std::path::PathBuf],
    commands: &mut Vec<Command>,
    open: &mut Option<std::path::PathBuf>,
) {
    MenuBar::new().ui(ui, |ui| {
        for (menu, items) in Command::MENUS {
            ui.menu_button(menu, |ui| {
                if menu == "File" {
                    ui.menu_button("Open recent", |ui| {
                        if recent.is_empty() {
                            ui.label("(none yet)");
                        }
                        for path in recent {
                            if ui.button(path.display().to_string()).clicked() {
                                *open = Some(path.clone());
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
                        commands.push(command);
                        ui.close();
                    }
                }
            });
        }
    });
}

fn search_ui(ui: &mut egui::Ui, app: &mut ConcordApp, commands: &mut Vec<Command>) {
    let mut changed = false;
    let mut close = false;
    ui.horizontal(|ui| {
        let Some(search) = &mut app.search else {
            return;
        };
        ui.label("Find");
        let field = ui.add(
            egui::TextEdit::singleline(&mut search.query)
                .hint_text("key or value")
                .desired_width(260.0),
        );
        field.widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, "search"));
        if search.focus {
            field.request_focus();
            search.focus = false;
        }
        changed = field.changed();
        if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            let back = ui.input(|i| i.modifiers.shift);
            commands.push(if back {
                Command::FindPrevious
            } else {
                Command::FindNext
            });
            field.request_focus();
        }
        if ui
            .button("Previous")
            .on_hover_text("Previous match (Shift+F3)")
            .clicked()
        {
            commands.push(Command::FindPrevious);
        }
        if ui.button("Next").on_hover_text("Next match (F3)").clicked() {
            commands.push(Command::FindNext);
        }
        let count = match (search.current, search.matches.len()) {
            (_, 0) if search.query.is_empty() => String::new(),
            (_, 0) => "no matches".to_owned(),
            (Some(i), n) => format!("{} of {n}", i + 1),
            (None, n) => format!("{n} matches"),
        };
        ui.label(count);
        if ui
            .button("Close")
            .on_hover_text("Close the search bar (Escape)")
            .clicked()
            || ui.input(|i| i.key_pressed(egui::Key::Escape))
        {
            close = true;
        }
    });
    if close {
        app.search = None;
    } else if changed {
        app.refresh_search();
    }
}

/// The preferences: display name, theme, text size. Changes are saved as they are made.
fn preferences_ui(ui: &mut egui::Ui, app: &mut ConcordApp) {
    use crate::settings::Theme;
    let before = app.settings.clone();
    let mut open = true;
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
                        egui::TextEdit::singleline(&mut app.settings.display_name)
                            .hint_text("shown to others when you collaborate"),
                    )
                    .labelled_by(label.id);
                    ui.end_row();
                    ui.label("Theme");
                    ui.horizontal(|ui| {
                        ui.radio_value(&mut app.settings.theme, Theme::Dark, "Dark");
                        ui.radio_value(&mut app.settings.theme, Theme::Light, "Light");
                    });
                    ui.end_row();
                    let label = ui.label("Text size");
                    ui.add(egui::Slider::new(&mut app.settings.font_size, 8.0..=32.0).step_by(1.0))
                        .labelled_by(label.id);
                    ui.end_row();
                });
        });
    app.preferences = open;
    if app.settings != before {
        app.save_settings();
    }
}

/// Asks what to do with unsaved changes before the window closes.
fn close_prompt_ui(ui: &mut egui::Ui, app: &mut ConcordApp) {
    let name = app
        .editor
        .path()
        .map_or_else(|| "the document".to_owned(), |p| p.display().to_string());
    let mut choice = None;
    egui::Modal::new(egui::Id::unique("close prompt")).show(ui.ctx(), |ui| {
        ui.heading("Unsaved changes");
        ui.label(format!("Save the changes to {name} before closing?"));
        ui.horizontal(|ui| {
            if ui
                .add_enabled(
                    app.editor.path().is_some(),
                    egui::Button::new("Save and close"),
                )
                .clicked()
            {
                choice = Some(true);
            }
            if ui.button("Close without saving").clicked() {
                choice = Some(false);
            }
            if ui.button("Cancel").clicked() {
                app.closing = false;
            }
        });
    });
    let Some(save) = choice else { return };
    if save && let Err(e) = app.editor.save() {
        app.message = Some(format!("{e:#}"));
        app.closing = false;
        return;
    }
    app.closing = false;
    app.close_confirmed = true;
    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
}

fn loading_ui(ui: &mut egui::Ui, loader: &crate::loader::Loader) {
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
        ui.separator();
        ui.label(editor.size().to_string());
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
