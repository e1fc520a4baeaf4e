//! The window's dialogs: Connect, Share, the preferences and the prompt before closing with
//! unsaved changes. Each draws the workspace's state of it and records what is done in it
//! (`workspace::dialogs` carries that out).

use egui::{RichText, WidgetInfo};

use crate::workspace::{CloseChoice, ConnectAsk, Dialog, Intent, ShareAsk, Workspace};

/// The Connect dialog.
pub(super) fn connect_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
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
pub(super) fn share_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
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

/// Asks what to do with unsaved changes before the window closes.
pub(super) fn close_prompt_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let name = app
        .editor
        .path()
        .map_or_else(|| "the document".to_owned(), |p| p.display().to_string());
    let hosted = app.hosts_unsaved();
    egui::Modal::new(egui::Id::unique("close prompt")).show(ui.ctx(), |ui| {
        if hosted {
            ui.heading("Shared from this window");
            ui.label(
                "Closing stops sharing this document, and it has no file: nobody could open it \
                 again. Save it to a file before closing?",
            );
        } else {
            ui.heading("Unsaved changes");
            ui.label(format!("Save the changes to {name} before closing?"));
        }
        ui.horizontal(|ui| {
            // Without a file yet, saving asks where first.
            let save = if app.editor.path().is_some() {
                "Save and close"
            } else {
                "Save as… and close"
            };
            if ui.button(save).clicked() {
                intents.push(Intent::Close(CloseChoice::Save));
            }
            let without = if hosted {
                "Close anyway"
            } else {
                "Close without saving"
            };
            if ui.button(without).clicked() {
                intents.push(Intent::Close(CloseChoice::Discard));
            }
            if ui.button("Cancel").clicked() {
                intents.push(Intent::Dismiss(Dialog::ClosePrompt));
            }
        });
    });
}
