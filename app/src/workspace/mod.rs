//! The state of one window: the open document and its editor, the shared session, the hosted
//! relay, the settings, the edit in progress, search, the raw text, the dialogs' forms and the
//! notices. The window (`ui::ConcordApp`, which this module knows nothing of) draws it and
//! turns what is done in it into [`Intent`]s, which [`Workspace::apply`] carries out;
//! background work wakes the window through its [`Waker`].

use crate::editor::Editor;
mod collab;
mod commands;
mod dialogs;
mod edit;
mod file_form;
mod files;
mod intent;
mod raw;
mod search;

pub use collab::{ConnectForm, ShareForm, Side};
pub use dialogs::{CloseChoice, ConnectAsk, Dialog, ShareAsk};
pub use edit::{Editing, Opening, Part};
pub use file_form::{FileAsk, FileForm};
pub use intent::{Field, HistoryAsk, Intent};
pub use raw::{Raw, RawAsk};
pub(crate) use search::SLICE;
pub use search::Search;

/// What the status bar says when a document with unsaved changes would be replaced.
pub(crate) const UNSAVED: &str = "the document has unsaved changes: save them first (Ctrl+S)";

/// What background work calls to have the window drawn again.
pub type Waker = std::sync::Arc<dyn Fn() + Send + Sync>;

/// What the window must do at the end of a frame (see [`Workspace::end_frame`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FrameEnd {
    /// Put this text on the system clipboard.
    pub clipboard: Option<String>,
    /// Close the window.
    pub close: bool,
}

/// Everything one window shows and edits.
pub struct Workspace {
    /// The text typed in this frame after the last shortcut: a field that shortcut's command
    /// opens takes it (see [`Opening`]).
    pub(crate) typed_ahead: String,
    /// Wakes the window when background work (a dialog, a load, the network) has news.
    pub(crate) waker: Option<Waker>,
    /// The window is to close now (a save the close prompt waited for is done).
    pub close_window: bool,
    /// The open document.
    pub editor: Editor,
    /// The value being edited, if any.
    pub editing: Option<Editing>,
    /// The last error or notice, shown in the status bar.
    pub message: Option<String>,
    /// Text to put on the clipboard at the end of the frame.
    pub(crate) clipboard: Option<String>,
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
    /// The file that was to open and is not JSON: shown instead of a document, with where it
    /// breaks, until it is fixed in the raw view or another file is opened. Nothing can be
    /// saved meanwhile (there is no document, and writing one would replace the file).
    pub broken: Option<Box<crate::loader::Broken>>,
    /// The app's own file dialog, while open.
    pub file_form: Option<FileForm>,
    /// Use the app's own file dialog rather than the desktop's (`CONCORD_FILE_DIALOG=in-app`,
    /// or once the desktop had none).
    pub in_app_dialogs: bool,
    /// The window closes once the Save as dialog it asked for has saved (from the close
    /// prompt, for a document with no file yet).
    pub(crate) close_after_save: bool,
    /// Theme, font size, recent files, display name.
    pub settings: crate::settings::Settings,
    /// Where the settings are saved (`None`: not saved, as in tests).
    pub(crate) settings_path: Option<std::path::PathBuf>,
    /// The unsaved-changes prompt is showing, after a close was asked for.
    pub closing: bool,
    /// The user chose to close even with unsaved changes (or saved them).
    pub(crate) close_confirmed: bool,
    /// A native open or save dialog that is showing.
    pub dialog: Option<crate::file_dialog::Pending>,
    /// The preferences window is open.
    pub preferences: bool,
    /// The shared document's link to its relay, when collaborating.
    pub session: Option<crate::session::Session>,
    /// The relay this window hosts while sharing, and the invite to it.
    pub(crate) host: Option<(crate::session::host::Host, crate::session::Target)>,
    /// The runtime network work runs on (`None`: no collaboration, as in some tests).
    pub(crate) runtime: Option<tokio::runtime::Handle>,
    /// Where offline edits and a hosted relay's data live.
    pub(crate) data_dir: Option<std::path::PathBuf>,
    /// The Connect dialog, when open.
    pub connect: Option<ConnectForm>,
    /// The Share dialog, when open.
    pub sharing: Option<ShareForm>,
    /// The side panel, when shown.
    pub side: Option<Side>,
    /// A patch to write once the export dialog has a file.
    pub(crate) export: Option<String>,
}

impl Workspace {
    /// A workspace on `editor`, alone (no collaboration until it is given a runtime).
    pub fn new(editor: Editor) -> Workspace {
        Workspace {
            typed_ahead: String::new(),
            waker: None,
            close_window: false,
            editor,
            editing: None,
            message: None,
            clipboard: None,
            copied: None,
            search: None,
            scroll_to: None,
            raw: None,
            loading: None,
            broken: None,
            file_form: None,
            close_after_save: false,
            in_app_dialogs: std::env::var("CONCORD_FILE_DIALOG").is_ok_and(|v| v == "in-app"),
            settings: crate::settings::Settings::default(),
            settings_path: None,
            closing: false,
            close_confirmed: false,
            dialog: None,
            preferences: false,
            session: None,
            host: None,
            runtime: None,
            data_dir: None,
            connect: None,
            sharing: None,
            side: None,
            export: None,
        }
    }

    /// How a field a command opens starts: with the keys typed after the command in its frame,
    /// or with its text selected (see [`Opening`]).
    pub(crate) fn opening(&mut self) -> Opening {
        match std::mem::take(&mut self.typed_ahead) {
            typed if typed.is_empty() => Opening::SelectAll,
            typed => Opening::Replace(typed),
        }
    }

    /// Whether this window shares a document it hosts that has no file: closing the window
    /// stops the relay that holds it, and nothing could open it again.
    pub fn hosts_unsaved(&self) -> bool {
        self.host.is_some() && self.editor.path().is_none()
    }

    /// Goes on with work the last change left, a slice a frame so that the window never
    /// freezes: counting a large document's nodes, searching it. Returns whether it is all
    /// done (if not, call it again in the next frame).
    pub fn tick(&mut self) -> bool {
        let counted = self.editor.tick(std::time::Duration::from_millis(3));
        let searched = self.advance_search(SLICE);
        counted && searched
    }

    /// Once a frame's intents are applied: the edits made in it go out (and into the
    /// outbox), and what the window must do is handed to it.
    pub fn end_frame(&mut self) -> FrameEnd {
        if let Some(session) = &mut self.session {
            session.flush(&mut self.editor);
        }
        let clipboard = self.clipboard.take();
        if clipboard.is_some() {
            self.copied.clone_from(&clipboard);
        }
        FrameEnd {
            clipboard,
            close: std::mem::take(&mut self.close_window),
        }
    }

    /// The window was asked to close: returns whether it may. With unsaved changes, or the
    /// only copy of a document this window shares, it asks first (the close prompt).
    pub fn close_requested(&mut self) -> bool {
        if (self.editor.is_dirty() || self.hosts_unsaved()) && !self.close_confirmed {
            self.closing = true;
            return false;
        }
        true
    }

    /// Whether the window is closing, as the user confirmed (after saving, or without).
    pub fn close_confirmed(&self) -> bool {
        self.close_confirmed
    }
}

#[cfg(test)]
mod tests;
