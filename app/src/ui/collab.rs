//! Collaboration in the window: joining and sharing, the connection in the status bar, the
//! side panel (people, conflicts, history), the conflict notice, a read-only view of an old
//! revision, and the marks other people leave on the tree.

use std::time::{Duration, Instant};

use egui::{Color32, RichText, WidgetInfo};
use sync_core::protocol::{Peer, Role};
use sync_core::{Pointer, Value};

use super::{ConcordApp, Target as EditTarget, UNSAVED};
use crate::editor::ScalarKind;
use crate::session::host::{self, Host};
use crate::session::{Session, Status, Target};

/// The Connect dialog's fields.
#[derive(Debug, Clone, Default)]
pub struct ConnectForm {
    /// An invite to fill the other fields from.
    pub invite: String,
    /// The relay's address.
    pub relay: String,
    /// The document id.
    pub doc: String,
    /// The display name.
    pub name: String,
    /// The token (may be empty).
    pub token: String,
    /// Why the last attempt was refused.
    pub error: Option<String>,
}

/// The Share dialog's state.
#[derive(Debug, Clone, Default)]
pub struct ShareForm {
    /// Let other computers on the network join (else this computer only).
    pub network: bool,
    /// Why sharing failed.
    pub error: Option<String>,
}

/// Which part of the side panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Who is here.
    People,
    /// My edits that lost.
    Conflicts,
    /// The revisions.
    History,
}

/// The colour of palette entry `index` (the relay gives each peer one of 16).
pub fn palette(index: u8) -> Color32 {
    // The most distinct first: the relay gives people the first colour free in this order.
    const COLORS: [Color32; 16] = [
        Color32::from_rgb(0xe5, 0x39, 0x35), // red
        Color32::from_rgb(0x1e, 0x88, 0xe5), // blue
        Color32::from_rgb(0x43, 0xa0, 0x47), // green
        Color32::from_rgb(0xfb, 0xc0, 0x2d), // yellow
        Color32::from_rgb(0x8e, 0x24, 0xaa), // purple
        Color32::from_rgb(0x00, 0xac, 0xc1), // cyan
        Color32::from_rgb(0xfb, 0x8c, 0x00), // orange
        Color32::from_rgb(0xd8, 0x1b, 0x60), // pink
        Color32::from_rgb(0x7c, 0xb3, 0x42), // lime
        Color32::from_rgb(0x39, 0x49, 0xab), // indigo
        Color32::from_rgb(0x6d, 0x4c, 0x41), // brown
        Color32::from_rgb(0x00, 0x89, 0x7b), // teal
        Color32::from_rgb(0xf0, 0x62, 0x92), // rose
        Color32::from_rgb(0x54, 0x6e, 0x7a), // slate
        Color32::from_rgb(0xc0, 0xca, 0x33), // olive
        Color32::from_rgb(0x5e, 0x35, 0xb1), // violet
    ];
    COLORS
        .get(usize::from(index) % COLORS.len())
        .copied()
        .unwrap_or(Color32::GRAY)
}

impl ConcordApp {
    /// The display name to use: the one in the settings, or "Anonymous".
    fn display_name(&self) -> String {
        let name = self.settings.display_name.trim();
        if name.is_empty() {
            "Anonymous".to_owned()
        } else {
            name.to_owned()
        }
    }

    /// Opens the Connect dialog, filled in from the last connection.
    pub fn open_connect_dialog(&mut self) {
        let last = self.settings.last_connection.clone().unwrap_or_default();
        self.connect = Some(ConnectForm {
            relay: last.relay,
            doc: last.doc,
            token: last.token.unwrap_or_default(),
            name: self.settings.display_name.clone(),
            ..ConnectForm::default()
        });
    }

    /// Joins `target` as `name`: the document replaces the one open (refused while that has
    /// unsaved changes). The connection is remembered in the settings.
    pub fn join(&mut self, target: Target, name: &str) -> Result<(), String> {
        target.validate()?;
        if self.editor.is_dirty() {
            return Err(UNSAVED.to_owned());
        }
        let runtime = self
            .runtime
            .clone()
            .ok_or("collaboration is not available here")?;
        self.end_session();
        let (session, editor) = Session::join(
            &runtime,
            target.clone(),
            name,
            self.sessions_dir().as_deref(),
            std::sync::Arc::new(self.waker()),
        );
        self.start_session(session, editor);
        self.settings.last_connection = Some(target);
        if !name.is_empty() && self.settings.display_name != name {
            name.clone_into(&mut self.settings.display_name);
        }
        self.save_settings();
        Ok(())
    }

    /// Starts a relay in this window and shares the open document on it as a new document;
    /// the Share dialog then shows the invite.
    pub fn share(&mut self, network: bool) -> Result<(), String> {
        let runtime = self
            .runtime
            .clone()
            .ok_or("sharing is not available here")?;
        let data = self
            .data_dir
            .as_ref()
            .map(|d| d.join("relay"))
            .ok_or("sharing needs a data directory")?;
        let ip = if network {
            std::net::Ipv4Addr::UNSPECIFIED
        } else {
            std::net::Ipv4Addr::LOCALHOST
        };
        let host = Host::start(&runtime, (ip, 0).into(), &data).map_err(|e| format!("{e:#}"))?;
        let doc = host::new_document_id(self.editor.path());
        let name = self.display_name();
        let mut target = host.invite(&doc, &name);
        // This window joins through the loopback address, whatever others use.
        target.relay = format!("ws://127.0.0.1:{}", host.addr().port());
        let document = self.editor.doc().clone();
        self.end_session();
        let (session, mut editor) = Session::share(
            &runtime,
            target,
            &name,
            self.sessions_dir().as_deref(),
            std::sync::Arc::new(self.waker()),
            &document,
        );
        editor.keep_file(&self.editor);
        self.start_session(session, editor);
        self.host = Some(host);
        Ok(())
    }

    /// The invite others use to join the shared document, while this window shares one.
    pub fn invite(&self) -> Option<Target> {
        let (host, session) = (self.host.as_ref()?, self.session.as_ref()?);
        Some(host.invite(&session.target().doc, "guest"))
    }

    fn start_session(&mut self, session: Session, editor: crate::editor::Editor) {
        let mut editor = editor;
        editor.select(self.editor.selected().cloned());
        self.editor = editor;
        self.editing = None;
        self.raw = None;
        self.search = None;
        self.session = Some(session);
        self.side = Some(Side::People);
    }

    /// Leaves the shared document (its unsynced edits stay in the outbox for next time) and
    /// stops the relay this window hosts, if any.
    pub fn end_session(&mut self) {
        if let Some(session) = self.session.take() {
            session.close(&mut self.editor);
        }
        if let (Some(host), Some(runtime)) = (self.host.take(), &self.runtime) {
            host.stop(runtime, Duration::from_secs(5));
        }
    }

    fn sessions_dir(&self) -> Option<std::path::PathBuf> {
        self.data_dir.as_ref().map(|d| d.join("sessions"))
    }

    /// Once per frame: takes in what the relay sent, keeps an edit in progress in step with
    /// other people's changes to the same string, and tells the relay where I am.
    pub(super) fn poll_session(&mut self, ctx: &egui::Context) {
        let Some(session) = &mut self.session else {
            return;
        };
        let before = self.editor.generation();
        session.poll(&mut self.editor);
        if let Some(notice) = session.take_notices().pop() {
            self.message = Some(notice);
        }
        if self.editor.generation() != before {
            self.follow_nodes();
            self.follow_remote_edits(ctx);
        }
        if let Some((text, what)) = self.session.as_mut().and_then(Session::take_export) {
            self.message = Some(format!("choose where to save {what}"));
            self.export = Some(text);
            self.start_dialog(crate::dialogs::Purpose::ExportPatch);
        }
        let caret = self
            .editing
            .as_ref()
            .filter(|e| e.target == EditTarget::Value && e.kind == ScalarKind::String)
            .and_then(|e| e.caret);
        let selection = self.editor.selected().cloned();
        if let Some(session) = &mut self.session {
            session.set_presence(selection, caret);
            match session.status() {
                Status::Reconnecting { .. } => {
                    ctx.request_repaint_after(Duration::from_millis(250));
                }
                _ if !session.saved_locally(&self.editor) => {
                    ctx.request_repaint_after(Duration::from_millis(50));
                }
                _ => {}
            }
        }
    }

    /// Someone else changed the document: what this window shows by path (the value being
    /// edited, a node to scroll to) follows its node, shifted by insertions above it or
    /// carried by a move.
    fn follow_nodes(&mut self) {
        if let Some(editing) = &mut self.editing {
            match self.editor.follow(&editing.path) {
                Some(path) => editing.path = path,
                None => {
                    self.message = Some(format!(
                        "someone removed {} while you were editing it",
                        super::tree::display(&editing.path)
                    ));
                    self.editing = None;
                }
            }
        }
        if let Some(path) = &self.scroll_to {
            self.scroll_to = self.editor.follow(path);
        }
        self.editor.take_moves();
    }

    /// Someone else changed the document: an inline edit of a string they also changed takes
    /// their change in, the caret staying on the same character; an edit of a value they
    /// removed ends.
    fn follow_remote_edits(&mut self, ctx: &egui::Context) {
        let Some(editing) = &mut self.editing else {
            return;
        };
        match editing.path.resolve(self.editor.doc()) {
            None => {
                self.message = Some(format!(
                    "someone removed {} while you were editing it",
                    super::tree::display(&editing.path)
                ));
                self.editing = None;
            }
            Some(Value::String(now))
                if editing.target == EditTarget::Value && editing.kind == ScalarKind::String =>
            {
                let now = now.to_string();
                if now == editing.text {
                    return;
                }
                if let (Some(id), Some((pos, del, ins))) = (
                    editing.field,
                    crate::editor::splice_between(&editing.text, &now),
                ) && let Some(mut state) = egui::TextEdit::load_state(ctx, id)
                    && let Some(range) = state.cursor.char_range()
                {
                    let ins = ins.chars().count();
                    let shift = |c: usize| {
                        if c <= pos {
                            c
                        } else if c >= pos + del {
                            c + ins - del
                        } else {
                            pos + ins
                        }
                    };
                    let moved = egui::text::CCursorRange::two(
                        egui::text::CCursor::new(shift(range.secondary.index.0)),
                        egui::text::CCursor::new(shift(range.primary.index.0)),
                    );
                    state.cursor.set_char_range(Some(moved));
                    state.store(ctx, id);
                    editing.caret = Some(shift(range.primary.index.0));
                }
                editing.text = now;
            }
            Some(_) => {}
        }
    }

    /// The people other than me whose selection is `path`.
    pub(super) fn peers_at<'a>(&'a self, path: &'a Pointer) -> impl Iterator<Item = &'a Peer> {
        let me = self.editor.replica().client();
        self.session
            .iter()
            .flat_map(|s| s.peers())
            .filter(move |p| p.client != *me && p.selection.as_ref() == Some(path))
    }

    /// Writes my unsynced changes as an RFC 6902 patch: what would turn the last confirmed
    /// document into the one I see. For a file edited alone, that is every edit since it
    /// was opened.
    pub fn unsynced_patch(&self) -> Result<String, String> {
        let state = self.editor.replica().save();
        let ops: Vec<sync_core::Operation> =
            state.pending.into_iter().flat_map(|p| p.ops).collect();
        if ops.is_empty() {
            return Err("there are no unsynced changes".to_owned());
        }
        let change = sync_core::Change(ops);
        let plain =
            sync_core::export::to_rfc6902(&state.confirmed, &change).map_err(|e| e.to_string())?;
        Ok(patch_text(&plain))
    }

    /// Applies a patch (RFC 6902, Concord's extensions allowed) as one change; nothing changes
    /// if any of it does not apply.
    pub fn import_patch(&mut self, text: &str) -> Result<usize, String> {
        let change = sync_core::Change::from_json(text).map_err(|e| format!("not a patch: {e}"))?;
        let n = change.len();
        if n == 0 {
            return Err("the patch is empty".to_owned());
        }
        self.editor
            .edit(change.0)
            .map_err(|e| format!("the patch does not apply: {e}"))?;
        Ok(n)
    }
}

/// A patch as a file: a JSON array, one operation per line.
pub fn patch_text(change: &sync_core::Change) -> String {
    let lines: Vec<String> = change
        .ops()
        .iter()
        .map(|op| format!("  {}", serde_json::to_string(op).unwrap_or_default()))
        .collect();
    format!("[\n{}\n]\n", lines.join(",\n"))
}

/// The connection's part of the status bar.
pub(super) fn status_ui(ui: &mut egui::Ui, app: &mut ConcordApp) {
    let Some(session) = &mut app.session else {
        return;
    };
    let (dot, text) = match session.status() {
        Status::Connecting { attempt: 1 } => (Color32::YELLOW, "connecting…".to_owned()),
        Status::Connecting { attempt } => {
            (Color32::YELLOW, format!("connecting (attempt {attempt})…"))
        }
        Status::Joining => (Color32::YELLOW, "joining…".to_owned()),
        Status::Connected { role: Role::Write } => (Color32::GREEN, "connected".to_owned()),
        Status::Connected { role: Role::Read } => {
            (Color32::GREEN, "connected, read-only".to_owned())
        }
        Status::Reconnecting { at, reason } => {
            let wait = at
                .saturating_duration_since(Instant::now())
                .as_secs_f32()
                .ceil();
            (
                Color32::ORANGE,
                format!("reconnecting in {wait:.0} s ({reason})"),
            )
        }
        Status::Offline { reason } => (Color32::GRAY, format!("offline ({reason})")),
    };
    color_dot(ui, dot);
    let status = ui.label(RichText::new(&text).color(dot));
    status.widget_info(|| {
        WidgetInfo::labeled(egui::Role::Label, true, format!("connection: {text}"))
    });
    let target = session.target();
    ui.label(RichText::new(&target.doc).weak())
        .on_hover_text(format!("on the relay at {}", target.relay));
    let button = match session.status() {
        Status::Reconnecting { .. } => Some("Reconnect now"),
        Status::Offline { .. } => Some("Go online"),
        _ => None,
    };
    if let Some(text) = button
        && ui.small_button(text).clicked()
    {
        session.connect_now();
    }
    let pending = app.editor.replica().pending();
    let saved = session.saved_locally(&app.editor);
    let text = match (pending, saved, session.keeps_offline_edits()) {
        (0, true, _) => "all changes synced".to_owned(),
        (n, true, true) => format!("{n} unconfirmed, saved locally"),
        (n, true, false) => format!("{n} unconfirmed, not kept offline"),
        (n, false, _) => format!("{n} unconfirmed, saving locally…"),
    };
    let label = ui.label(&text);
    label.widget_info(|| WidgetInfo::labeled(egui::Role::Label, true, format!("sync: {text}")));
}

/// A strip above the document when my edits lost to someone else's.
pub(super) fn notice_ui(ui: &mut egui::Ui, app: &mut ConcordApp) {
    let Some(session) = &mut app.session else {
        return;
    };
    let Some(last) = session.lost.last() else {
        return;
    };
    ui.horizontal(|ui| {
        let text = match session.unseen {
            1 => last.reason.clone(),
            n => format!("{n} of your edits lost to other people's: {}", last.reason),
        };
        ui.label(RichText::new(text).color(ui.visuals().warn_fg_color));
        if ui.button("Show conflicts").clicked() {
            app.side = Some(Side::Conflicts);
            session.unseen = 0;
        }
        if ui.button("Dismiss").clicked() {
            session.unseen = 0;
        }
    });
}

/// The side panel: people, conflicts or history.
pub(super) fn side_ui(ui: &mut egui::Ui, app: &mut ConcordApp) {
    let Some(mut side) = app.side else { return };
    ui.horizontal(|ui| {
        let conflicts = app.session.as_ref().map_or(0, |s| s.lost.len());
        ui.selectable_value(&mut side, Side::People, "People");
        ui.selectable_value(
            &mut side,
            Side::Conflicts,
            format!("Conflicts ({conflicts})"),
        );
        ui.selectable_value(&mut side, Side::History, "History");
        if ui
            .small_button("Close")
            .on_hover_text("Close the panel")
            .clicked()
        {
            app.side = None;
        }
    });
    if app.side.is_none() {
        return;
    }
    app.side = Some(side);
    ui.separator();
    if app.session.is_none() {
        ui.label("This document is not shared.");
        ui.label(
            "Share it (Share ▸ Share this document) or join one (Share ▸ Connect to a relay).",
        );
        return;
    }
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| match side {
            Side::People => people_ui(ui, app),
            Side::Conflicts => conflicts_ui(ui, app),
            Side::History => history_ui(ui, app),
        });
}

fn people_ui(ui: &mut egui::Ui, app: &mut ConcordApp) {
    let Some(session) = &app.session else { return };
    let me = app.editor.replica().client().clone();
    let peers = session.peers();
    if peers.is_empty() {
        ui.label("Nobody is here yet (not connected).");
    }
    let mut go = None;
    for peer in peers {
        ui.horizontal(|ui| {
            let you = if peer.client == me { " (you)" } else { "" };
            let role = if peer.role == Role::Read {
                ", read-only"
            } else {
                ""
            };
            color_dot(ui, palette(peer.color));
            let name = format!("{}{you}{role}", peer.name);
            let label = ui.label(&name);
            label.widget_info(|| {
                WidgetInfo::labeled(egui::Role::Label, true, format!("person {name}"))
            });
            if let Some(at) = &peer.selection {
                let link = ui.link(super::tree::display(at));
                if link.clicked() {
                    go = Some(at.clone());
                }
            }
        });
    }
    if let Some(path) = go {
        app.editor.reveal(&path);
        app.editor.select(Some(path.clone()));
        app.scroll_to = Some(path);
    }
}

fn conflicts_ui(ui: &mut egui::Ui, app: &mut ConcordApp) {
    let Some(session) = &mut app.session else {
        return;
    };
    session.unseen = 0;
    if session.lost.is_empty() {
        ui.label("None of your edits has lost to anyone else's.");
        return;
    }
    let mut restore = None;
    for (index, lost) in session.lost.iter().enumerate().rev() {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(RichText::new(&lost.reason).strong());
            let at = super::tree::display(&lost.path());
            let when = lost
                .at
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| clock(d.as_secs()))
                .unwrap_or_default();
            ui.label(format!("at {at}, {when}"));
            if let Some(conflict) = &lost.conflict {
                ui.label(format!("won: {}", conflict.winner.author));
                if let Some(value) = &conflict.value {
                    ui.label(format!("your value: {}", short_json(value)));
                }
            }
            if lost.restored {
                ui.label(RichText::new("restored").weak());
            } else {
                let button = ui.button("Restore mine");
                button.widget_info(|| {
                    WidgetInfo::labeled(egui::Role::Button, true, format!("restore mine at {at}"))
                });
                if button.clicked() {
                    restore = Some(index);
                }
            }
        });
    }
    if let Some(index) = restore
        && let Err(e) = session.restore_mine(index, &mut app.editor)
    {
        app.message = Some(format!("cannot restore: {e}"));
    }
}

fn history_ui(ui: &mut egui::Ui, app: &mut ConcordApp) {
    let Some(session) = &mut app.session else {
        return;
    };
    if let Some(ask) = session.history.refresh(app.editor.replica().rev()) {
        session.send(ask);
    }
    if session.history.commits.is_empty() {
        ui.label("No changes yet.");
        return;
    }
    enum Act {
        View,
        Revert,
        Restore,
        Export,
    }
    let mut act = None;
    for commit in session.history.commits.iter().rev() {
        ui.horizontal(|ui| {
            ui.label(RichText::new(commit.rev.to_string()).strong());
            ui.label(format!("{} · {}", commit.author, clock(commit.time / 1000)));
        });
        ui.label(crate::session::history::summary(&commit.ops));
        ui.horizontal(|ui| {
            let rev = commit.rev;
            for (text, what, label) in [
                ("View", Act::View, "view"),
                ("Revert", Act::Revert, "revert"),
                ("Restore", Act::Restore, "restore"),
                ("Export since", Act::Export, "export since"),
            ] {
                let button = ui.small_button(text);
                let label = format!("{label} {rev}");
                button.widget_info(|| WidgetInfo::labeled(egui::Role::Button, true, label.clone()));
                if button.clicked() {
                    act = Some((what, rev));
                }
            }
        });
        ui.separator();
    }
    match act {
        Some((Act::View, rev)) => {
            let ask = session.history.view(rev);
            session.send(ask);
        }
        Some((Act::Revert, rev)) => {
            for ask in session.history.revert(rev) {
                session.send(ask);
            }
        }
        Some((Act::Restore, rev)) => {
            let ask = session.history.restore(rev);
            session.send(ask);
        }
        Some((Act::Export, rev)) => {
            for ask in session.history.export_since(rev) {
                session.send(ask);
            }
        }
        None => {}
    }
}

/// A window with the document as it was at an old revision; nothing in it can be edited.
pub(super) fn revision_ui(ui: &mut egui::Ui, app: &mut ConcordApp) {
    let Some(session) = &mut app.session else {
        return;
    };
    let Some((rev, doc)) = &session.history.viewing else {
        return;
    };
    let mut open = true;
    let mut text = doc.to_json_pretty();
    egui::Window::new(format!("History: {rev}"))
        .open(&mut open)
        .default_size([420.0, 480.0])
        .show(ui.ctx(), |ui| {
            let heading = ui.label(format!("The document as it was at {rev} (read-only)"));
            egui::ScrollArea::both().show(ui, |ui| {
                // Selectable and copyable, but any change to the text is thrown away.
                ui.add(
                    egui::TextEdit::multiline(&mut text)
                        .code_editor()
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(heading.id);
            });
        });
    if !open {
        session.history.viewing = None;
    }
}

/// The Connect dialog.
pub(super) fn connect_ui(ui: &mut egui::Ui, app: &mut ConcordApp) {
    let Some(form) = &mut app.connect else { return };
    let mut open = true;
    let mut submit = false;
    egui::Window::new("Connect to a relay")
        .open(&mut open)
        .resizable(false)
        .collapsible(false)
        .show(ui.ctx(), |ui| {
            ui.label("Paste an invite, or fill in the fields.");
            ui.horizontal(|ui| {
                ui.label("Invite");
                ui.add(
                    egui::TextEdit::singleline(&mut form.invite)
                        .hint_text("concord --relay ws://… --doc … --token …")
                        .desired_width(320.0),
                )
                .widget_info(|| WidgetInfo::labeled(egui::Role::TextInput, true, "invite"));
                if ui.button("Use invite").clicked() {
                    match Target::parse_invite(&form.invite) {
                        Ok(target) => {
                            form.relay = target.relay;
                            form.doc = target.doc;
                            form.token = target.token.unwrap_or_default();
                            form.error = None;
                        }
                        Err(e) => form.error = Some(e),
                    }
                }
            });
            ui.separator();
            egui::Grid::new("connect").num_columns(2).show(ui, |ui| {
                for (text, name, value, hint, secret) in [
                    (
                        "Relay",
                        "relay address",
                        &mut form.relay,
                        "ws://127.0.0.1:9000",
                        false,
                    ),
                    (
                        "Document",
                        "document id",
                        &mut form.doc,
                        "a document id",
                        false,
                    ),
                    (
                        "Your name",
                        "your name",
                        &mut form.name,
                        "shown to the others",
                        false,
                    ),
                    (
                        "Token",
                        "token",
                        &mut form.token,
                        "if the relay needs one",
                        true,
                    ),
                ] {
                    ui.label(text);
                    ui.add(
                        egui::TextEdit::singleline(value)
                            .hint_text(hint)
                            .password(secret)
                            .desired_width(320.0),
                    )
                    .widget_info(|| WidgetInfo::labeled(egui::Role::TextInput, true, name));
                    ui.end_row();
                }
            });
            if let Some(error) = &form.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
            ui.horizontal(|ui| {
                submit = ui.button("Connect").clicked();
            });
        });
    if !open {
        app.connect = None;
        return;
    }
    if submit {
        let target = Target {
            relay: form.relay.trim().to_owned(),
            doc: form.doc.trim().to_owned(),
            token: Some(form.token.trim().to_owned()).filter(|t| !t.is_empty()),
        };
        let name = form.name.trim().to_owned();
        match app.join(target, &name) {
            Ok(()) => app.connect = None,
            Err(e) => {
                if let Some(form) = &mut app.connect {
                    form.error = Some(e);
                }
            }
        }
    }
}

/// The Share dialog: where others may join from, then the invite to give them.
pub(super) fn share_ui(ui: &mut egui::Ui, app: &mut ConcordApp) {
    let invite = app.invite();
    let Some(form) = &mut app.sharing else { return };
    let mut open = true;
    let mut start = None;
    let mut copy = None;
    egui::Window::new("Share this document")
        .open(&mut open)
        .resizable(false)
        .collapsible(false)
        .show(ui.ctx(), |ui| match &invite {
            None => {
                ui.label("Concord starts a relay in this window; others join it with an invite.");
                ui.radio_value(&mut form.network, false, "This computer only (other windows)");
                ui.radio_value(&mut form.network, true, "Computers on my network");
                if let Some(error) = &form.error {
                    ui.colored_label(ui.visuals().error_fg_color, error);
                }
                if ui.button("Start sharing").clicked() {
                    start = Some(form.network);
                }
            }
            Some(invite) => {
                ui.label("Give this invite to the people who should join. Anyone who has it can edit this document for a week.");
                let mut text = invite.invite();
                let field = ui.add(
                    egui::TextEdit::multiline(&mut text)
                        .desired_rows(3)
                        .desired_width(420.0)
                        .interactive(true),
                );
                field.widget_info(|| WidgetInfo::labeled(egui::Role::TextInput, false, "invite"));
                egui::Grid::new("invite").num_columns(3).show(ui, |ui| {
                    let token = invite.token.clone().unwrap_or_default();
                    for (label, value) in [
                        ("Relay", invite.relay.clone()),
                        ("Document", invite.doc.clone()),
                        ("Token", token),
                    ] {
                        ui.label(label);
                        ui.label(RichText::new(short(&value, 40)).monospace());
                        let button = ui.small_button("Copy");
                        button.widget_info(|| {
                            WidgetInfo::labeled(egui::Role::Button, true, format!("copy {}", label.to_lowercase()))
                        });
                        if button.clicked() {
                            copy = Some(value);
                        }
                        ui.end_row();
                    }
                });
                if ui.button("Copy invite").clicked() {
                    copy = Some(invite.invite());
                }
            }
        });
    if let Some(text) = copy {
        app.clipboard = Some(text);
        app.message = Some("copied".to_owned());
    }
    if let Some(network) = start
        && let Err(e) = app.share(network)
        && let Some(form) = &mut app.sharing
    {
        form.error = Some(e);
    }
    if !open {
        app.sharing = None;
    }
}

/// Coloured name tags for the people (other than me) at a row.
pub(super) fn markers_ui(ui: &mut egui::Ui, app: &ConcordApp, path: &Pointer) {
    for peer in app.peers_at(path) {
        let text = RichText::new(format!(" {} ", peer.name))
            .small()
            .color(Color32::BLACK)
            .background_color(palette(peer.color));
        let tag = ui.label(text);
        let what = if peer.caret.is_some() {
            "editing"
        } else {
            "at"
        };
        let label = format!("{} is {what} {}", peer.name, super::tree::display(path));
        tag.widget_info(|| WidgetInfo::labeled(egui::Role::Label, true, label.clone()));
    }
}

/// The carets other people have in the string at `path`, with their colours.
pub(super) fn carets_at(app: &ConcordApp, path: &Pointer) -> Vec<(Color32, usize)> {
    app.peers_at(path)
        .filter_map(|p| p.caret.map(|c| (palette(p.color), c)))
        .collect()
}

/// Draws other people's carets in a string shown in `galley` at `origin`.
pub(super) fn paint_carets(
    ui: &egui::Ui,
    galley: &egui::Galley,
    origin: egui::Pos2,
    carets: &[(Color32, usize)],
    offset: usize,
) {
    for &(color, caret) in carets {
        let rect = galley.pos_from_cursor(egui::text::CCursor::new(caret + offset));
        let rect = rect.translate(origin.to_vec2());
        ui.painter()
            .vline(rect.left(), rect.y_range(), egui::Stroke::new(2.0, color));
    }
}

/// A small filled circle in `color`, the size of a letter.
fn color_dot(ui: &mut egui::Ui, color: Color32) {
    let size = ui.text_style_height(&egui::TextStyle::Body);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(size * 0.7, size), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), size * 0.3, color);
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let start: String = text.chars().take(max - 1).collect();
    format!("{start}…")
}

fn short_json(value: &Value) -> String {
    short(&value.to_json(), 80)
}

/// `hh:mm:ss` (UTC) of a time in seconds since the Unix epoch, with the date if not today.
fn clock(secs: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    if now / 86_400 == secs / 86_400 {
        format!("{h:02}:{m:02}:{s:02} UTC")
    } else {
        let days = secs / 86_400;
        format!("{h:02}:{m:02} UTC, {} days ago", now / 86_400 - days)
    }
}
