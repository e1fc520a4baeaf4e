//! The Connect and Share dialogs.

use egui::{RichText, WidgetInfo};

use crate::workspace::{ConnectAsk, Dialog, Intent, ShareAsk, Workspace};

/// The Connect dialog.
pub(in crate::ui) fn connect_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(shown) = &app.connect else { return };
    // Typed into here, then recorded as a whole if anything changed.
    let mut form = shown.clone();
    let mut open = true;
    let mut ask = None;
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
                    ask = Some(ConnectAsk::UseInvite);
                }
            });
            ui.separator();
            egui::Grid::new("connect").num_columns(2).show(ui, |ui| {
                for (text, name, value, hint, secret) in [
                    (
                        "Relay",
                        "relay address",
                        &mut form.relay,
                        "ws://127.0.0.1:9090",
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
            if form.relay.trim().starts_with("ws://") {
                ui.label(
                    RichText::new("ws:// is not encrypted: fine on this computer or a local network; use wss:// for a relay on the internet.")
                        .weak(),
                );
            }
            if let Some(error) = &form.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
            ui.horizontal(|ui| {
                if ui.button("Connect").clicked() {
                    ask = Some(ConnectAsk::Connect);
                }
            });
        });
    if form != *shown {
        intents.push(Intent::Connect(ConnectAsk::Fields(form)));
    }
    intents.extend(ask.map(Intent::Connect));
    if !open {
        intents.push(Intent::Dismiss(Dialog::Connect));
    }
}

/// The Share dialog: where others may join from, then the invite to give them.
pub(in crate::ui) fn share_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let invite = app.invite();
    let Some(form) = &app.sharing else { return };
    let mut network = form.network;
    let mut open = true;
    let mut start = false;
    let mut copy = None;
    egui::Window::new("Share this document")
        .open(&mut open)
        .resizable(false)
        .collapsible(false)
        .show(ui.ctx(), |ui| match &invite {
            None => {
                ui.label("Concord starts a relay in this window; others join it with an invite.");
                ui.radio_value(&mut network, false, "This computer only (other windows)");
                ui.radio_value(&mut network, true, "Computers on my network");
                ui.label(
                    RichText::new("Plain ws://, not encrypted: for this computer or a local network you trust. Across the internet, use a relay of your own with TLS (wss://).")
                        .weak(),
                );
                if let Some(error) = &form.error {
                    ui.colored_label(ui.visuals().error_fg_color, error);
                }
                start = ui.button("Start sharing").clicked();
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
                        ui.label(RichText::new(crate::words::short(&value, 40)).monospace());
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
    if network != form.network {
        intents.push(Intent::Share(ShareAsk::Network(network)));
    }
    if start {
        intents.push(Intent::Share(ShareAsk::Start));
    }
    intents.extend(copy.map(Intent::Copy));
    if !open {
        intents.push(Intent::Dismiss(Dialog::Share));
    }
}
