//! The connection in the status bar, the conflict notice, the notice of a relay that is behind
//! this window, the side panel (people, conflicts, history) and the window showing an old
//! revision.

use std::time::Instant;

use egui::{Color32, RichText, WidgetInfo};
use sync_core::Value;
use sync_core::protocol::Role;

use super::palette;
use crate::session::{Holding, Status};
use crate::workspace::Workspace;
use crate::workspace::{HistoryAsk, Intent, Side};

/// The connection's part of the status bar.
pub(in crate::ui) fn status_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(session) = &app.session else {
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
        Status::RelayBehind { relay, mine } => (
            Color32::ORANGE,
            format!("the relay is behind: it has {relay}, this window {mine}; not syncing"),
        ),
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
        intents.push(Intent::ConnectNow);
    }
    let pending = app.editor.replica().pending();
    let saved = session.saved_locally(&app.editor);
    let text = match (pending, saved, session.keeps_offline_edits()) {
        _ if session.holding(&app.editor) == Holding::Nothing => "no document yet".to_owned(),
        (0, true, _) if session.holding(&app.editor) == Holding::Kept => {
            "the copy kept here, not yet synced".to_owned()
        }
        (0, true, _) => "all changes synced".to_owned(),
        (n, true, true) => format!("{n} unconfirmed, saved locally"),
        (n, true, false) => format!("{n} unconfirmed, not kept offline"),
        (n, false, _) => format!("{n} unconfirmed, saving locally…"),
    };
    let label = ui.label(&text);
    label.widget_info(|| WidgetInfo::labeled(egui::Role::Label, true, format!("sync: {text}")));
}

/// In place of the document, before the relay has sent any of it: where the window is
/// connecting and how that goes.
pub(in crate::ui) fn waiting_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(session) = &app.session else {
        return;
    };
    let target = session.target().clone();
    ui.add_space(24.0);
    ui.vertical_centered(|ui| {
        ui.heading(format!("{} on {}", target.doc, target.relay));
        let text = match session.status() {
            Status::Reconnecting { reason, .. } => {
                format!("Not connected yet: {reason}. Trying again.")
            }
            Status::Offline { reason } => format!("Offline ({reason})."),
            _ => "Connecting…".to_owned(),
        };
        ui.label(text);
        ui.label(RichText::new("The document shows here once the relay sends it.").weak());
        if matches!(
            session.status(),
            Status::Reconnecting { .. } | Status::Offline { .. }
        ) && ui.button("Try now").clicked()
        {
            intents.push(Intent::ConnectNow);
        }
    });
}

/// A strip above the document while it is only the copy this computer kept (the relay has not
/// welcomed this window yet).
pub(in crate::ui) fn kept_copy_ui(ui: &mut egui::Ui, app: &Workspace) {
    let rev = app.editor.replica().rev().map_or(0, |r| r.0);
    ui.colored_label(
        Color32::ORANGE,
        format!(
            "This is the copy kept on this computer (revision {rev}), not yet synced with the \
             relay: edits made now are kept and sync when it answers."
        ),
    );
}

/// A strip above the document when my edits lost to someone else's.
pub(in crate::ui) fn notice_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(session) = &app.session else {
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
            intents.push(Intent::Side(Some(Side::Conflicts)));
            intents.push(Intent::ConflictsSeen);
        }
        if ui.button("Dismiss").clicked() {
            intents.push(Intent::ConflictsSeen);
        }
    });
}

/// A strip above the document while the relay is behind this window: what happened, and the
/// two ways on.
pub(in crate::ui) fn relay_behind_ui(
    ui: &mut egui::Ui,
    app: &Workspace,
    intents: &mut Vec<Intent>,
) {
    let Some(session) = &app.session else {
        return;
    };
    let Status::RelayBehind { relay, mine } = *session.status() else {
        return;
    };
    ui.horizontal_wrapped(|ui| {
        let text = format!(
            "The relay has lost changes: it has {relay} of this document, this window has \
             {mine}. Your copy is kept here, and nothing is sent, until you choose."
        );
        ui.label(RichText::new(text).color(ui.visuals().warn_fg_color));
        let restore = ui.button("Restore my copy").on_hover_text(format!(
            "Send the document as this window has it to the relay, as one new change on top \
             of {relay}: everyone gets your copy"
        ));
        if restore.clicked() {
            intents.push(Intent::RestoreMyCopy);
        }
        let theirs = ui.button("Use the relay's").on_hover_text(format!(
            "Take the relay's document at {relay}; your unsynced edits are applied on it where \
             they still apply, and what only this window had is gone"
        ));
        if theirs.clicked() {
            intents.push(Intent::UseRelayCopy);
        }
    });
}

/// The side panel: people, conflicts or history.
pub(in crate::ui) fn side_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(shown) = app.side else { return };
    let mut side = shown;
    let mut closed = false;
    ui.horizontal(|ui| {
        let conflicts = app.session.as_ref().map_or(0, |s| s.lost.len());
        ui.selectable_value(&mut side, Side::People, "People");
        ui.selectable_value(
            &mut side,
            Side::Conflicts,
            format!("Conflicts ({conflicts})"),
        );
        ui.selectable_value(&mut side, Side::History, "History");
        closed = ui
            .small_button("Close")
            .on_hover_text("Close the panel")
            .clicked();
    });
    if closed {
        intents.push(Intent::Side(None));
        return;
    }
    if side != shown {
        intents.push(Intent::Side(Some(side)));
    }
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
            Side::People => people_ui(ui, app, intents),
            Side::Conflicts => conflicts_ui(ui, app, intents),
            Side::History => history_ui(ui, app, intents),
        });
}

fn people_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(session) = &app.session else { return };
    let me = app.editor.replica().client().clone();
    let peers = session.peers();
    if peers.is_empty() {
        ui.label("Nobody is here yet (not connected).");
    }
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
            if let Some(at) = &peer.selection
                && ui.link(crate::words::path(at)).clicked()
            {
                intents.push(Intent::Show(at.clone()));
            }
        });
    }
}

fn conflicts_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(session) = &app.session else {
        return;
    };
    if session.unseen > 0 {
        intents.push(Intent::ConflictsSeen);
    }
    if session.lost.is_empty() {
        ui.label("None of your edits has lost to anyone else's.");
        return;
    }
    for (index, lost) in session.lost.iter().enumerate().rev() {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(RichText::new(&lost.reason).strong());
            let at = crate::words::path(&lost.path());
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
                let possible = lost.can_restore(app.editor.doc());
                let button = ui
                    .add_enabled(possible, egui::Button::new("Restore mine"))
                    .on_disabled_hover_text(
                        "nothing to put back here: the edit carried no value, or what now \
                         stands above its place holds no members",
                    );
                button.widget_info(|| {
                    WidgetInfo::labeled(egui::Role::Button, true, format!("restore mine at {at}"))
                });
                if button.clicked() {
                    intents.push(Intent::RestoreMine(index));
                }
            }
        });
    }
}

fn history_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(session) = &app.session else {
        return;
    };
    intents.push(Intent::History(HistoryAsk::Refresh));
    if session.history.commits.is_empty() {
        ui.label("No changes yet.");
        return;
    }
    for entry in session.history.entries() {
        let last = entry.last;
        ui.horizontal(|ui| {
            ui.label(RichText::new(entry.revisions()).strong());
            ui.label(format!("{} · {}", last.author, clock(last.time / 1000)));
        });
        ui.label(entry.summary());
        ui.horizontal(|ui| {
            // Reverting takes back the whole entry; the others act at its newest revision.
            for (text, ask, label) in [
                (
                    "View",
                    HistoryAsk::View(last.rev),
                    format!("view {}", last.rev),
                ),
                (
                    "Revert",
                    HistoryAsk::Revert(entry.first),
                    format!("revert {}", entry.revisions()),
                ),
                (
                    "Restore",
                    HistoryAsk::Restore(last.rev),
                    format!("restore {}", last.rev),
                ),
                (
                    "Export since",
                    HistoryAsk::ExportSince(last.rev),
                    format!("export since {}", last.rev),
                ),
            ] {
                let button = ui.small_button(text);
                button.widget_info(|| WidgetInfo::labeled(egui::Role::Button, true, label.clone()));
                if button.clicked() {
                    intents.push(Intent::History(ask));
                }
            }
        });
        ui.separator();
    }
    if session.history.has_older() {
        let button = ui.button("Show older changes");
        button.widget_info(|| WidgetInfo::labeled(egui::Role::Button, true, "show older changes"));
        if button.clicked() {
            intents.push(Intent::History(HistoryAsk::Older));
        }
    }
}

/// A window with the document as it was at an old revision; nothing in it can be edited.
pub(in crate::ui) fn revision_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(session) = &app.session else {
        return;
    };
    let Some((rev, text)) = &session.history.viewing else {
        return;
    };
    let mut open = true;
    // Selectable and copyable; a `&str` cannot be edited.
    let mut text = text.as_str();
    egui::Window::new(format!("History: {rev}"))
        .open(&mut open)
        .default_size([420.0, 480.0])
        .show(ui.ctx(), |ui| {
            let heading = ui.label(format!("The document as it was at {rev} (read-only)"));
            egui::ScrollArea::both().show(ui, |ui| {
                ui.add(
                    egui::TextEdit::multiline(&mut text)
                        .code_editor()
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(heading.id);
            });
        });
    if !open {
        intents.push(Intent::Dismiss(crate::workspace::Dialog::Revision));
    }
}

/// A small filled circle in `color`, the size of a letter.
fn color_dot(ui: &mut egui::Ui, color: Color32) {
    let size = ui.text_style_height(&egui::TextStyle::Body);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(size * 0.7, size), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), size * 0.3, color);
}

fn short_json(value: &Value) -> String {
    crate::words::short(&value.to_json(), 80)
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
