//! What a person can ask of a window, as one enum: the views and the keyboard record
//! [`Intent`]s while the frame is drawn, and [`Workspace::apply`] carries them out after it, one
//! at a time, so nothing changes under the drawing.

use sync_core::Pointer;

use super::{Workspace, edit};
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
        }
    }
}
