//! The window's dialogs as the workspace holds them: which is open, what their buttons ask
//! for, and closing them (one at a time, with Escape, the topmost first).

use crate::file_dialog::Purpose;
use crate::session::Target;

use super::{ConnectForm, Workspace};

/// A dialog of the window, or the window showing an old revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialog {
    /// The prompt before closing with unsaved changes.
    ClosePrompt,
    /// The app's own file dialog.
    FileForm,
    /// Share this document.
    Share,
    /// Connect to a relay.
    Connect,
    /// The preferences.
    Preferences,
    /// The document as it was at an old revision (History → View).
    Revision,
}

impl Dialog {
    /// The order Escape closes them in: the topmost first.
    const BY_ESCAPE: [Dialog; 5] = [
        Dialog::ClosePrompt,
        Dialog::FileForm,
        Dialog::Share,
        Dialog::Connect,
        Dialog::Preferences,
    ];
}

/// What the Connect dialog's buttons ask for.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectAsk {
    /// Its fields as they are now typed.
    Fields(ConnectForm),
    /// Fill the fields from the invite pasted.
    UseInvite,
    /// Connect with the fields as they are.
    Connect,
}

/// What the Share dialog asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareAsk {
    /// Others may join from the network (true) or from this computer only.
    Network(bool),
    /// Start the relay in this window, and share.
    Start,
}

/// The answer to the prompt before closing with unsaved changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseChoice {
    /// Save (asking where, for a document without a file), then close.
    Save,
    /// Close without saving.
    Discard,
}

impl Workspace {
    /// Whether `dialog` is open.
    pub fn is_open(&self, dialog: Dialog) -> bool {
        match dialog {
            Dialog::ClosePrompt => self.closing,
            Dialog::FileForm => self.file_form.is_some(),
            Dialog::Share => self.sharing.is_some(),
            Dialog::Connect => self.connect.is_some(),
            Dialog::Preferences => self.preferences,
            Dialog::Revision => self
                .session
                .as_ref()
                .is_some_and(|s| s.history.viewing.is_some()),
        }
    }

    /// The dialog Escape closes now, if any.
    pub fn topmost_dialog(&self) -> Option<Dialog> {
        Dialog::BY_ESCAPE.into_iter().find(|&d| self.is_open(d))
    }

    /// Closes `dialog`, doing nothing of what it was open for.
    pub(super) fn dismiss(&mut self, dialog: Dialog) {
        match dialog {
            Dialog::ClosePrompt => self.closing = false,
            Dialog::FileForm => {
                self.file_form = None;
                self.close_after_save = false;
            }
            Dialog::Share => self.sharing = None,
            Dialog::Connect => self.connect = None,
            Dialog::Preferences => self.preferences = false,
            Dialog::Revision => {
                if let Some(session) = &mut self.session {
                    session.history.viewing = None;
                }
            }
        }
    }

    pub(super) fn ask_connect(&mut self, ask: ConnectAsk) {
        let Some(form) = &mut self.connect else {
            return;
        };
        match ask {
            ConnectAsk::Fields(fields) => *form = fields,
            ConnectAsk::UseInvite => match Target::parse_invite(&form.invite) {
                Ok(target) => {
                    form.relay = target.relay;
                    form.doc = target.doc;
                    form.token = target.token.unwrap_or_default();
                    form.error = None;
                }
                Err(e) => form.error = Some(e),
            },
            ConnectAsk::Connect => {
                let target = Target {
                    relay: form.relay.trim().to_owned(),
                    doc: form.doc.trim().to_owned(),
                    token: Some(form.token.trim().to_owned()).filter(|t| !t.is_empty()),
                };
                let name = form.name.trim().to_owned();
                match self.join(target, &name) {
                    Ok(()) => self.connect = None,
                    Err(e) => {
                        if let Some(form) = &mut self.connect {
                            form.error = Some(e);
                        }
                    }
                }
            }
        }
    }

    pub(super) fn ask_share(&mut self, ask: ShareAsk) {
        let Some(form) = &mut self.sharing else {
            return;
        };
        match ask {
            ShareAsk::Network(network) => form.network = network,
            ShareAsk::Start => {
                let network = form.network;
                if let Err(e) = self.share(network)
                    && let Some(form) = &mut self.sharing
                {
                    form.error = Some(e);
                }
            }
        }
    }

    /// The close prompt was answered: the window closes (once a document without a file
    /// has been saved where the user chose), unless saving fails.
    pub(super) fn close_prompt_answered(&mut self, choice: CloseChoice) {
        self.closing = false;
        if choice == CloseChoice::Save {
            if self.editor.path().is_none() {
                self.close_after_save = true;
                self.start_dialog(Purpose::SaveAs);
                return;
            }
            if let Err(e) = self.editor.save() {
                self.message = Some(format!("{e:#}"));
                return;
            }
        }
        self.close_confirmed = true;
        self.close_window = true;
    }

    /// The preferences changed to `settings`: they take effect and are saved.
    pub(super) fn set_preferences(&mut self, settings: crate::settings::Settings) {
        if self.settings != settings {
            self.settings = settings;
            self.save_settings();
        }
    }
}
