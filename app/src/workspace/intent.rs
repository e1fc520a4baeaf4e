//! What a person can ask of a window, as one enum: the views and the keyboard record
//! [`Intent`]s while the frame is drawn, and [`Workspace::apply`] carries them out after it, one
//! at a time, so nothing changes under the drawing.

use sync_core::Pointer;

use sync_core::protocol::Revision;

use super::dialogs::{CloseChoice, ConnectAsk, Dialog, ShareAsk};
use super::file_form::FileAsk;
use super::raw::RawAsk;
use super::{Side, Workspace, edit};
use crate::commands::Command;
use crate::editor::{Place, ValueKind};

/// Something a person asked of the window.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// A menu command (or a button that does what one does).
    Command(Command),
    /// The shortcuts pressed in a frame, and the text typed after the last of them: a field
    /// that one of them opens starts with that text (see [`Opening`](super::Opening)).
    Shortcuts {
        /// Their commands, in the order they are carried out.
        commands: Vec<Command>,
        /// The text typed after the last of them, in the same frame.
        typed_after: String,
    },
    /// The status message has been seen long enough: it goes.
    MessageSeen,
    /// Expand (true) or collapse a container.
    Toggle(Pointer, bool),
    /// Select a node (once the field being edited, if any, has taken its text).
    Select(Pointer),
    /// Edit a node's value.
    Edit(Pointer),
    /// Rename a member.
    Rename(Pointer),
    /// Move a node (dragged onto another) before, after or into it.
    Move(Pointer, Pointer, Place),
    /// The text in the field being edited is now this.
    Typed(String),
    /// The caret of the field being edited is now at this character.
    Caret(usize),
    /// This text field has the keyboard now: it opened as its [`Opening`](super::Opening)
    /// said.
    Opened(Field),
    /// The tree has scrolled to this node, as it was asked to.
    ScrolledTo(Pointer),
    /// The checkbox of the boolean being edited was set to this.
    Checked(bool),
    /// The type switch of the value being edited chose this kind.
    Retype(ValueKind),
    /// The field was left (Enter, or a click elsewhere): its text is applied.
    Commit,
    /// Escape in the field: what it did is taken back.
    Cancel,
    /// Show this side panel, or close it.
    Side(Option<Side>),
    /// Select a node, opening the containers above it, and scroll to it (someone's place in
    /// the People panel).
    Show(Pointer),
    /// The conflicts panel was seen: the notice of new ones goes.
    ConflictsSeen,
    /// Put back the edit that lost, at this index of the session's lost edits.
    RestoreMine(usize),
    /// Something of the History panel.
    History(HistoryAsk),
    /// Connect to the relay now, not at the next try (or go online).
    ConnectNow,
    /// The relay is behind this window: send this window's copy as a new change on top of
    /// the relay's.
    RestoreMyCopy,
    /// The relay is behind this window: take the relay's copy.
    UseRelayCopy,
    /// Open this file (File → Open recent).
    OpenFile(std::path::PathBuf),
    /// Join this shared document under the name in the preferences (File → Open recent).
    Join(crate::session::Target),
    /// The search bar's query is now this.
    Find(String),
    /// Close the search bar.
    CloseSearch,
    /// Something of the raw view.
    Raw(RawAsk),
    /// Something of the app's own file dialog.
    FileForm(FileAsk),
    /// Something of the Connect dialog.
    Connect(ConnectAsk),
    /// Something of the Share dialog.
    Share(ShareAsk),
    /// The preferences as they are now set (they are saved at once).
    Preferences(Box<crate::settings::Settings>),
    /// The CA file of the preferences was left: a session on a `wss://` relay trusts it from
    /// now on.
    Retrust,
    /// The answer to the prompt before closing with unsaved changes.
    Close(CloseChoice),
    /// Close this dialog, doing nothing of what it was open for (its Cancel, its close
    /// button, or Escape).
    Dismiss(Dialog),
    /// Put this text on the clipboard.
    Copy(String),
    /// Copy the selected node as JSON; and delete it, if `cut`.
    CopyNode {
        /// Whether the node is deleted too.
        cut: bool,
    },
    /// Paste this JSON after the selected node.
    Paste(String),
    /// Fix the file that did not open in the raw view.
    FixInRaw,
}

/// A text field that a command opens with the keyboard in it (see [`Intent::Opened`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The value or key being edited in the tree.
    Edit,
    /// The search bar's query.
    Search,
    /// The path of the app's own file dialog.
    FilePath,
}

/// What the History panel asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryAsk {
    /// The latest changes, if the panel's are older than the document (asked each frame it is
    /// shown; nothing is sent while they are current).
    Refresh,
    /// The page of changes before those shown.
    Older,
    /// The document as it was at this revision.
    View(Revision),
    /// Take back the changes from this revision on, as one new change.
    Revert(Revision),
    /// Make the document what it was at this revision, as one new change.
    Restore(Revision),
    /// The changes since this revision, as a patch file.
    ExportSince(Revision),
}

impl Workspace {
    /// Carries out `intent`. What cannot be done is said in the status bar; nothing panics.
    pub fn apply(&mut self, intent: Intent) {
        match intent {
            Intent::Command(command) => self.run(command),
            Intent::Shortcuts {
                commands,
                typed_after,
            } => {
                self.typed_ahead = typed_after;
                for command in commands {
                    self.run(command);
                }
                self.typed_ahead.clear();
            }
            Intent::MessageSeen => self.message = None,
            Intent::Toggle(path, expanded) => self.editor.set_expanded(&path, expanded),
            // Leaving a field with a value it cannot take keeps it open instead.
            Intent::Select(path) => {
                if edit::commit(self) {
                    self.editor.select(Some(path));
                }
            }
            Intent::Edit(path) => {
                if edit::commit(self) {
                    self.editor.select(Some(path));
                    self.start_editing();
                }
            }
            Intent::Rename(path) => {
                if edit::commit(self) {
                    self.editor.select(Some(path));
                    self.start_renaming();
                }
            }
            Intent::Move(from, target, place) => {
                if edit::commit(self)
                    && let Err(e) = self.editor.move_node(&from, &target, place)
                {
                    self.message = Some(e.to_string());
                }
            }
            Intent::Typed(text) => {
                if let Some(editing) = &mut self.editing {
                    editing.text = text;
                    edit::typed(self);
                }
            }
            Intent::Caret(caret) => {
                if let Some(editing) = &mut self.editing {
                    editing.caret = Some(caret);
                }
            }
            Intent::Opened(field) => self.opened(field),
            // A newer request (made in the same frame) stays.
            Intent::ScrolledTo(path) => {
                if self.scroll_to.as_ref() == Some(&path) {
                    self.scroll_to = None;
                }
            }
            Intent::Checked(checked) => edit::set(self, sync_core::Value::Bool(checked)),
            Intent::Retype(kind) => edit::retype(self, kind),
            Intent::Commit => {
                edit::commit(self);
            }
            Intent::Cancel => edit::cancel(self),
            Intent::Side(side) => self.side = side,
            Intent::Show(path) => {
                self.editor.reveal(&path);
                self.editor.select(Some(path.clone()));
                self.scroll_to = Some(path);
            }
            Intent::ConflictsSeen => {
                if let Some(session) = &mut self.session {
                    session.unseen = 0;
                }
            }
            Intent::RestoreMine(index) => self.restore_mine(index),
            Intent::History(ask) => self.ask_history(ask),
            Intent::ConnectNow => {
                if let Some(session) = &mut self.session {
                    session.connect_now();
                }
            }
            Intent::RestoreMyCopy => self.settle_relay_behind(false),
            Intent::UseRelayCopy => self.settle_relay_behind(true),
            Intent::OpenFile(path) => self.open_file(&path),
            Intent::Join(target) => {
                let name = self.display_name();
                if let Err(e) = self.join(target, &name) {
                    self.message = Some(e);
                }
            }
            Intent::Find(query) => self.find(query),
            Intent::CloseSearch => self.search = None,
            Intent::Raw(ask) => self.ask_raw(ask),
            Intent::FileForm(ask) => self.ask_file_form(ask),
            Intent::Connect(ask) => self.ask_connect(ask),
            Intent::Share(ask) => self.ask_share(ask),
            Intent::Preferences(settings) => self.set_preferences(*settings),
            Intent::Retrust => self.retrust(),
            Intent::Close(choice) => self.close_prompt_answered(choice),
            Intent::Dismiss(dialog) => self.dismiss(dialog),
            Intent::Copy(text) => {
                self.clipboard = Some(text);
                self.message = Some("copied".to_owned());
            }
            Intent::FixInRaw => self.fix_in_raw(),
            Intent::CopyNode { cut } => self.copy_selected(cut),
            Intent::Paste(text) => self.paste(&text),
        }
    }

    /// `field` has the keyboard: its opening is done.
    fn opened(&mut self, field: Field) {
        let opening = match field {
            Field::Edit => self.editing.as_mut().map(|e| &mut e.opening),
            Field::Search => self.search.as_mut().map(|s| &mut s.opening),
            Field::FilePath => self.file_form.as_mut().map(|f| &mut f.opening),
        };
        if let Some(opening) = opening {
            *opening = None;
        }
    }
}
