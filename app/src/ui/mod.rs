//! The window: a menu bar, the tree, a status bar. Widgets push [`Command`]s and edits; the
//! app applies commands in one place, at the end of the frame.
//!
//! - `actions`: what each command does;
//! - `files`: opening, saving, dialogs, settings, the close prompt;
//! - `panels`: the menu bar, status bar and preferences;
//! - `find`: the search bar and its matches;
//! - `tree` and `raw`: the two views of the document.

mod actions;
mod collab;
mod file_form;
mod files;
mod find;
mod panels;
mod raw;
mod tree;

pub use collab::palette;
pub use tree::row_name;

use egui::{CentralPanel, Panel};

use crate::commands::Command;
use crate::editor::Editor;
use crate::workspace::{Editing, Opening, Target, Workspace};

/// How long a status message stays, in seconds, unless another replaces it.
pub const MESSAGE_SECONDS: f64 = 10.0;

/// The desktop editor's window: its [`Workspace`] (everything the window shows and edits),
/// and what only egui needs.
pub struct ConcordApp {
    /// The state of the window, which the views read.
    pub workspace: Workspace,
    /// The settings last applied to egui (applied again when they change).
    applied: Option<(crate::settings::Theme, f32)>,
    /// Every shortcut, in the order they are tried.
    shortcuts: Vec<(Command, egui::KeyboardShortcut)>,
    /// The status message shown, with when it was first shown (egui's clock, in seconds): it
    /// goes after [`MESSAGE_SECONDS`] unless something replaces it first.
    message_since: Option<(String, f64)>,
}

impl std::ops::Deref for ConcordApp {
    type Target = Workspace;

    fn deref(&self) -> &Workspace {
        &self.workspace
    }
}

impl std::ops::DerefMut for ConcordApp {
    fn deref_mut(&mut self) -> &mut Workspace {
        &mut self.workspace
    }
}

/// The id of the text field of `editing`: the same for the whole edit.
pub(crate) fn field_id(editing: &Editing) -> egui::Id {
    egui::Id::unique(("concord edit", editing.number))
}

/// Draws the text field `id` a command opened (see [`Opening`]): gives it the keyboard and
/// puts the typed keys in, or selects its text. Returns whether the text changed. Called just
/// before the field is drawn for the first time.
pub(super) fn open_field(ui: &egui::Ui, id: egui::Id, text: &mut String, opening: Opening) -> bool {
    use egui::text::{CCursor, CCursorRange};
    ui.memory_mut(|m| m.request_focus(id));
    let mut state = egui::text_edit::TextEditState::load(ui.ctx(), id).unwrap_or_default();
    let (range, changed) = match opening {
        Opening::Keep => return false,
        Opening::SelectAll => (CCursorRange::select_all_str(text.as_str()), false),
        Opening::Replace(new) => {
            let changed = *text != new;
            *text = new;
            (
                CCursorRange::one(CCursor::new(text.chars().count())),
                changed,
            )
        }
    };
    state.cursor.set_char_range(Some(range));
    state.store(ui.ctx(), id);
    changed
}

impl ConcordApp {
    /// An app on `editor`.
    pub fn new(editor: Editor) -> ConcordApp {
        ConcordApp {
            workspace: Workspace::new(editor),
            applied: None,
            shortcuts: shortcut_table(),
            message_since: None,
        }
    }

    /// Lets the app collaborate: network work runs on `runtime`, offline edits and a hosted
    /// relay live under `data_dir` (none: nothing is kept on disk).
    pub fn with_collaboration(
        mut self,
        runtime: tokio::runtime::Handle,
        data_dir: Option<std::path::PathBuf>,
    ) -> ConcordApp {
        self.runtime = Some(runtime);
        self.data_dir = data_dir;
        self
    }

    /// Sets the egui context that background work wakes (eframe gives it at creation; the
    /// first frame sets it otherwise).
    pub fn with_context(mut self, ctx: &egui::Context) -> ConcordApp {
        self.wake(ctx);
        self
    }

    /// Background work wakes `ctx`.
    fn wake(&mut self, ctx: &egui::Context) {
        let ctx = ctx.clone();
        self.workspace.waker = Some(std::sync::Arc::new(move || ctx.request_repaint()));
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

    /// The commands whose shortcuts were pressed in this frame; notes the text typed after
    /// the last of them (`typed_ahead`).
    fn shortcuts(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let typing = ctx.egui_wants_keyboard_input();
        let (commands, typed) = ctx.input_mut(|i| {
            // The frame's events as they came, to find what was typed after a shortcut.
            let events = i.events.clone();
            let mut commands = Vec::new();
            let mut last = None;
            for (command, shortcut) in &self.shortcuts {
                // While a field has the keyboard, plain keys and undo belong to it.
                // F3 (find next) types nothing, so it works from the search field too.
                let plain = shortcut.modifiers.is_none() && shortcut.logical_key != egui::Key::F3;
                let undo = matches!(command, Command::Undo | Command::Redo);
                if typing && (plain || undo) {
                    continue;
                }
                let at = events.iter().rposition(|e| pressed(e, shortcut));
                if i.consume_shortcut(shortcut) {
                    commands.push(*command);
                    last = last.max(at);
                }
            }
            let after = last.map_or(events.len(), |at| at + 1);
            let typed: String = events
                .get(after..)
                .unwrap_or_default()
                .iter()
                .filter_map(|e| match e {
                    egui::Event::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect();
            (commands, typed)
        });
        self.typed_ahead = typed;
        commands
    }

    /// Escape closes an open dialog (the close prompt, a file dialog, Share, Connect,
    /// Preferences: one per
    /// press), before anything else in the window sees the key.
    fn escape_closes_a_dialog(&mut self, ctx: &egui::Context) {
        let open = self.closing
            || self.file_form.is_some()
            || self.sharing.is_some()
            || self.connect.is_some()
            || self.preferences;
        if !open || !ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape)) {
            return;
        }
        if self.closing {
            self.closing = false;
        } else if self.file_form.is_some() {
            self.file_form = None;
            self.close_after_save = false;
        } else if self.sharing.is_some() {
            self.sharing = None;
        } else if self.connect.is_some() {
            self.connect = None;
        } else {
            self.preferences = false;
        }
    }

    /// Clears the status message once it has been shown for [`MESSAGE_SECONDS`], so that it
    /// never sits beside what has happened since; the window is woken to do so.
    fn expire_message(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        let Some(message) = &self.message else {
            self.message_since = None;
            return;
        };
        let since = match &self.message_since {
            Some((shown, since)) if shown == message => *since,
            _ => {
                self.message_since = Some((message.clone(), now));
                now
            }
        };
        let left = MESSAGE_SECONDS - (now - since);
        if left <= 0.0 {
            self.message = None;
            self.message_since = None;
        } else {
            ctx.request_repaint_after(std::time::Duration::from_secs_f64(left));
        }
    }
}

/// Every command's shortcuts, those with more modifiers first: egui matches Ctrl+Z when
/// Ctrl+Shift+Z is pressed, so the longer combination must be tried first.
fn shortcut_table() -> Vec<(Command, egui::KeyboardShortcut)> {
    let mut table: Vec<(Command, egui::KeyboardShortcut)> = Command::ALL
        .iter()
        .flat_map(|&command| command.shortcuts().into_iter().map(move |s| (command, s)))
        .collect();
    table.sort_by_key(|(_, s)| std::cmp::Reverse(modifier_count(s.modifiers)));
    table
}

/// Whether `event` is the press of `shortcut`'s key, as `consume_shortcut` matches it.
fn pressed(event: &egui::Event, shortcut: &egui::KeyboardShortcut) -> bool {
    matches!(
        event,
        egui::Event::Key { key, pressed: true, modifiers, .. }
            if *key == shortcut.logical_key && modifiers.matches_logically(shortcut.modifiers)
    )
}

fn modifier_count(m: egui::Modifiers) -> u8 {
    u8::from(m.alt) + u8::from(m.shift) + u8::from(m.command || m.ctrl || m.mac_cmd)
}

impl Drop for ConcordApp {
    /// The window is closing: the shared document's state goes to disk, the connection is
    /// closed, and a relay this window hosts stores what it has and stops.
    fn drop(&mut self) {
        self.end_session();
    }
}

impl eframe::App for ConcordApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if self.workspace.waker.is_none() {
            self.wake(ctx);
        }
        self.poll_loading();
        // Saving lays files out as the settings say (by default, as each file was).
        let ws = &mut self.workspace;
        ws.editor.lay_out(ws.settings.save_layout.layout());
        self.poll_dialog();
        self.poll_session(ctx);
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
            self.open_file(&path);
        }
        // Closing with unsaved changes asks first, and so does closing the only copy of a
        // document this window shares.
        if ctx.input(|i| i.viewport().close_requested())
            && (self.editor.is_dirty() || self.hosts_unsaved())
            && !self.close_confirmed
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.closing = true;
        }
        // A save the close prompt waited for finished (a native dialog, even while the window
        // is hidden, when only this runs).
        if std::mem::take(&mut self.workspace.close_window) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        // Counting a large document's nodes after a change, a slice a frame.
        if !self.editor.tick(std::time::Duration::from_millis(3)) {
            ui.ctx().request_repaint();
        }
        self.expire_message(ui.ctx());
        self.escape_closes_a_dialog(ui.ctx());
        let mut commands = self.shortcuts(ui.ctx());
        let mut intents: Vec<crate::workspace::Intent> = Vec::new();
        self.clipboard_events(ui.ctx());
        Panel::top("menu").show(ui, |ui| {
            let ws = &self.workspace;
            panels::menu_bar_ui(ui, &ws.editor, &ws.settings, &mut commands, &mut intents);
        });
        if self.search.is_some() {
            Panel::top("search").show(ui, |ui| find::search_ui(ui, self, &mut commands));
        }
        Panel::bottom("status").show(ui, |ui| {
            panels::status_ui(ui, &self.workspace, &mut intents);
        });
        if self
            .session
            .as_ref()
            .is_some_and(|s| matches!(s.status(), crate::session::Status::RelayBehind { .. }))
        {
            Panel::top("relay behind").show(ui, |ui| {
                collab::relay_behind_ui(ui, &self.workspace, &mut intents);
            });
        }
        if self
            .session
            .as_ref()
            .is_some_and(|s| s.holding(&self.editor) == crate::session::Holding::Kept)
        {
            Panel::top("kept copy").show(ui, |ui| collab::kept_copy_ui(ui, self));
        }
        if self.session.as_ref().is_some_and(|s| s.unseen > 0) {
            Panel::top("conflict notice").show(ui, |ui| {
                collab::notice_ui(ui, &self.workspace, &mut intents);
            });
        }
        if self.side.is_some() {
            Panel::right("side")
                .resizable(true)
                .default_size(250.0)
                .show(ui, |ui| collab::side_ui(ui, &self.workspace, &mut intents));
        }
        CentralPanel::default().show(ui, |ui| {
            if let Some(loader) = &self.loading {
                files::loading_ui(ui, loader);
            } else if self
                .session
                .as_ref()
                .is_some_and(|s| s.holding(&self.editor) == crate::session::Holding::Nothing)
            {
                collab::waiting_ui(ui, &self.workspace, &mut intents);
            } else if self.broken.is_some() && self.raw.is_none() {
                files::broken_ui(ui, self);
            } else if self.raw.is_some() {
                raw::raw_ui(ui, self);
            } else {
                tree::tree_ui(ui, self);
            }
        });
        if self.closing {
            files::close_prompt_ui(ui, self);
        }
        if self.preferences {
            panels::preferences_ui(ui, self);
        }
        file_form::file_form_ui(ui, self);
        collab::connect_ui(ui, self);
        collab::share_ui(ui, self);
        collab::revision_ui(ui, self);
        for intent in intents {
            self.apply(intent);
        }
        for command in commands {
            self.apply(crate::workspace::Intent::Command(command));
        }
        self.typed_ahead.clear();
        // Edits made in this frame go out now, and into the outbox.
        let ws = &mut self.workspace;
        if let Some(session) = &mut ws.session {
            session.flush(&mut ws.editor);
        }
        if let Some(text) = self.clipboard.take() {
            ui.ctx().copy_text(text.clone());
            self.copied = Some(text);
        }
        if std::mem::take(&mut self.workspace.close_window) {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}
