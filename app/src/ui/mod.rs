//! The window: a menu bar, the tree, a status bar. The views read the [`Workspace`] and record
//! [`Intent`]s; the window applies them after the frame is drawn, in the order they were
//! recorded.
//!
//! - `bars`: the menu bar and the status bar;
//! - `search`: the search bar;
//! - `tree` and `raw`: the two views of the document;
//! - `files`: a file loading, a file that did not open;
//! - `dialogs`: Connect, Share, the preferences, the prompt before closing; `file_form`: the
//!   app's own file dialog;
//! - `collab`: the connection, people, conflicts, history, other people's carets;
//! - `actions`: copy, cut and paste, which egui reports as events.

mod actions;
mod bars;
mod collab;
mod dialogs;
mod file_form;
mod files;
mod raw;
mod search;
mod tree;

pub use collab::palette;
pub use tree::row_name;

use std::borrow::Cow;

use egui::{CentralPanel, Panel};

use crate::commands::Command;
use crate::editor::Editor;
use crate::workspace::{Editing, Intent, Opening, Workspace};

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

/// The id of the text field of `editing`: the same for the whole edit.
pub(crate) fn field_id(editing: &Editing) -> egui::Id {
    egui::Id::unique(("concord edit", editing.number))
}

/// Prepares the text field `id` that a command opened (see [`Opening`]), just before it is
/// drawn for the first time: gives it the keyboard and puts the typed keys in its `text`, or
/// selects its text.
pub(super) fn open_field(ui: &egui::Ui, id: egui::Id, text: &mut Cow<'_, str>, opening: &Opening) {
    use egui::text::{CCursor, CCursorRange};
    ui.memory_mut(|m| m.request_focus(id));
    let mut state = egui::text_edit::TextEditState::load(ui.ctx(), id).unwrap_or_default();
    let range = match opening {
        Opening::Keep => return,
        Opening::SelectAll => CCursorRange::select_all_str(text),
        Opening::Replace(new) => {
            if text != new {
                *text = Cow::Owned(new.clone());
            }
            CCursorRange::one(CCursor::new(text.chars().count()))
        }
    };
    state.cursor.set_char_range(Some(range));
    state.store(ui.ctx(), id);
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
        self.workspace.runtime = Some(runtime);
        self.workspace.data_dir = data_dir;
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
        self.workspace.settings = settings;
        self.workspace.settings_path = path;
        self
    }

    /// The commands whose shortcuts were pressed in this frame, with the text typed after the
    /// last of them.
    fn shortcuts(&self, ctx: &egui::Context) -> Intent {
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
        Intent::Shortcuts {
            commands,
            typed_after: typed,
        }
    }

    /// Whether the status message has been shown for [`MESSAGE_SECONDS`] and goes, so that it
    /// never sits beside what has happened since; the window is woken to do so.
    fn message_expired(&mut self, ctx: &egui::Context) -> bool {
        let now = ctx.input(|i| i.time);
        let Some(message) = &self.workspace.message else {
            self.message_since = None;
            return false;
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
            self.message_since = None;
            return true;
        }
        ctx.request_repaint_after(std::time::Duration::from_secs_f64(left));
        false
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
        self.workspace.end_session();
    }
}

impl eframe::App for ConcordApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if self.workspace.waker.is_none() {
            self.wake(ctx);
        }
        self.poll(ctx);
        // Settings take effect when they change.
        let settings = &self.workspace.settings;
        let wanted = (settings.theme, settings.clamped_font_size());
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
            self.workspace.apply(Intent::OpenFile(path));
        }
        if ctx.input(|i| i.viewport().close_requested()) && !self.workspace.close_requested() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
        }
        // A save the close prompt waited for finished (a native dialog, even while the window
        // is hidden, when only this runs).
        if std::mem::take(&mut self.workspace.close_window) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        if !self.workspace.tick() {
            ctx.request_repaint();
        }
        // What is done in this frame, in the order it happened; the shortcuts after it.
        let mut intents = Vec::new();
        if self.message_expired(&ctx) {
            intents.push(Intent::MessageSeen);
        }
        escape_closes_a_dialog(&ctx, &self.workspace, &mut intents);
        let shortcuts = self.shortcuts(&ctx);
        actions::clipboard_intents(&ctx, &mut intents);
        draw(ui, &self.workspace, &mut intents);
        intents.push(shortcuts);
        let ws = &mut self.workspace;
        for intent in intents {
            ws.apply(intent);
        }
        let done = ws.end_frame();
        if let Some(text) = done.clipboard {
            ctx.copy_text(text);
        }
        if done.close {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

/// Escape closes the topmost dialog (one per press), before anything else in the window sees
/// the key.
fn escape_closes_a_dialog(ctx: &egui::Context, ws: &Workspace, intents: &mut Vec<Intent>) {
    if let Some(dialog) = ws.topmost_dialog()
        && ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape))
    {
        intents.push(Intent::Dismiss(dialog));
    }
}

/// Draws the window: the views read `ws` and record what is done in them. What is done in the
/// document comes first: a click on a panel's button takes the keyboard from the field being
/// edited, which is committed before the button acts (on the document as it was left).
fn draw(ui: &mut egui::Ui, ws: &Workspace, intents: &mut Vec<Intent>) {
    use crate::session::{Holding, Status};
    let session = ws.session.as_ref();
    // What is done around the document, put after what is done in it.
    let mut around = Vec::new();
    Panel::top("menu").show(ui, |ui| {
        bars::menu_bar_ui(ui, &ws.editor, &ws.settings, &mut around);
    });
    if ws.search.is_some() {
        Panel::top("search").show(ui, |ui| search::search_ui(ui, ws, &mut around));
    }
    Panel::bottom("status").show(ui, |ui| bars::status_ui(ui, ws, &mut around));
    if session.is_some_and(|s| matches!(s.status(), Status::RelayBehind { .. })) {
        Panel::top("relay behind").show(ui, |ui| collab::relay_behind_ui(ui, ws, &mut around));
    }
    if session.is_some_and(|s| s.holding(&ws.editor) == Holding::Kept) {
        Panel::top("kept copy").show(ui, |ui| collab::kept_copy_ui(ui, ws));
    }
    if session.is_some_and(|s| s.unseen > 0) {
        Panel::top("conflict notice").show(ui, |ui| collab::notice_ui(ui, ws, &mut around));
    }
    if ws.side.is_some() {
        Panel::right("side")
            .resizable(true)
            .default_size(250.0)
            .show(ui, |ui| collab::side_ui(ui, ws, &mut around));
    }
    CentralPanel::default().show(ui, |ui| {
        if let Some(loader) = &ws.loading {
            files::loading_ui(ui, loader);
        } else if session.is_some_and(|s| s.holding(&ws.editor) == Holding::Nothing) {
            collab::waiting_ui(ui, ws, intents);
        } else if ws.broken.is_some() && ws.raw.is_none() {
            files::broken_ui(ui, ws, intents);
        } else if ws.raw.is_some() {
            raw::raw_ui(ui, ws, intents);
        } else {
            tree::tree_ui(ui, ws, intents);
        }
    });
    if ws.closing {
        dialogs::close_prompt_ui(ui, ws, &mut around);
    }
    if ws.preferences {
        dialogs::preferences_ui(ui, ws, &mut around);
    }
    file_form::file_form_ui(ui, ws, &mut around);
    dialogs::connect_ui(ui, ws, &mut around);
    dialogs::share_ui(ui, ws, &mut around);
    collab::revision_ui(ui, ws, &mut around);
    intents.append(&mut around);
}
