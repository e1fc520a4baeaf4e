//! What a person can ask of a window, as one enum: the views and the keyboard record
//! [`Intent`]s while the frame is drawn, and [`Workspace::apply`] carries them out after it, one
//! at a time, so nothing changes under the drawing.

use sync_core::Pointer;

use sync_core::protocol::Revision;

use super::{Side, Workspace, edit};
use crate::commands::Command;
use crate::editor::{Place, ValueKind};

/// Something a person asked of the window.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// A menu command, or its shortcut.
    Command(Command),
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
    /// The text in the field being edited changed (it is the edit's text now).
    Typed,
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
            Intent::Typed => edit::typed(self),
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
        }
    }
}
