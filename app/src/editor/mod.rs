//! The editor's model, without egui: one document in a [`Replica`] (so every edit is a
//! sync-core operation with an undo entry, and the same session can later sync), the tree's
//! expansion and selection, and the flattened rows the tree view draws.

mod changes;
mod file;
mod kinds;
pub mod rows;
pub mod search;
mod structure;
pub mod walk;

pub use file::DocumentSize;
pub use kinds::{ValueKind, text_of};
pub use structure::Place;

use std::cell::{Ref, RefCell};
use std::path::{Path, PathBuf};

use sync_core::pointer::Token;
use sync_core::protocol::{ClientId, ClientMessage, ServerMessage};
use sync_core::replica::{Event, Replica};
use sync_core::value::Style;
use sync_core::{Operation, Pointer, Value};

use rows::{Expansion, Laid, Row};

/// Why an edit was not made. The document is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The text typed is not a value of the kind asked for.
    #[error("{0}")]
    Invalid(String),
    /// The operation does not apply (the document changed under it, say).
    #[error(transparent)]
    Rejected(#[from] sync_core::replica::EditError),
}

/// One open document.
pub struct Editor {
    replica: Replica,
    /// The file it came from (and is saved to), if any.
    path: Option<PathBuf>,
    /// How the file escaped strings, reproduced when it is saved.
    style: Style,
    /// A layout imposed on saving (the settings), instead of the file's own.
    layout: Option<sync_core::value::Layout>,
    /// Whether there are edits not saved to `path`.
    dirty: bool,
    expansion: Expansion,
    selected: Option<Pointer>,
    /// The rows the tree shows, laid out again when read after the document's shape or the
    /// expansion changed (a cache: reading it through `&self` keeps the views read-only).
    rows: RefCell<Laid>,
    counts: changes::Counts,
    /// The file's size when it was last read or written.
    saved_size: Option<u64>,
    /// Whether the document is shared through a relay (its edits then live in the session's
    /// outbox, not only in a file).
    shared: bool,
    /// What the replica asked for (messages to send, conflicts...), for the session.
    events: Vec<Event>,
    /// What others' changes did to the document since the UI last looked, so that it can
    /// follow the nodes it shows.
    moves: Vec<sync_core::rebase::Placed>,
    /// Counts changes of the replica's state (local edits, and messages from the relay that
    /// change it).
    generation: u64,
    /// This editor among all (see [`Version`]).
    id: u64,
    /// Counts changes of the document itself, local or not.
    changes: u64,
}

/// Which document, in which state: what was computed from a document is out of date when its
/// editor's version moves, including when the editor is replaced by another (a file opened,
/// the same document shared).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Version {
    editor: u64,
    changes: u64,
}

/// Numbers the editors made, so that two never share a [`Version`].
static EDITORS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Editor {
    /// An editor on `doc`, read from `path` if given.
    pub fn new(doc: Value, path: Option<PathBuf>, style: Style) -> Editor {
        let replica = Replica::with_document(ClientId::from("local"), "local", doc, None);
        Editor::on_replica(replica, path, style, false)
    }

    /// An editor on a shared document's replica.
    pub fn shared(mut replica: Replica) -> Editor {
        replica.track_moves();
        Editor::on_replica(replica, None, Style::default(), true)
    }

    fn on_replica(replica: Replica, path: Option<PathBuf>, style: Style, shared: bool) -> Editor {
        let mut editor = Editor {
            replica,
            path,
            style,
            layout: None,
            dirty: false,
            expansion: Expansion::default(),
            selected: None,
            rows: RefCell::new(Laid::stale()),
            counts: changes::Counts::uncounted(),
            saved_size: None,
            shared,
            events: Vec::new(),
            moves: Vec::new(),
            generation: 0,
            id: EDITORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            changes: 0,
        };
        editor.refresh_counts();
        editor
    }

    /// Keeps the file (and its string escaping) of the editor this one replaces, as when a
    /// file's document is shared: saving writes the shared document to it.
    pub fn keep_file(&mut self, from: &Editor) {
        self.path.clone_from(&from.path);
        self.style = from.style;
        self.saved_size = from.saved_size;
        self.dirty = from.dirty;
    }

    /// Keeps what the tree showed in the editor this one replaces (which containers were open,
    /// what was selected), as when the same document starts being shared.
    pub fn keep_view(&mut self, from: &Editor) {
        self.expansion = from.expansion.clone();
        self.rows.get_mut().stale = true;
        self.select(from.selected.clone());
    }

    /// Whether the document is shared through a relay.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The replica (for the session: its `hello`, its state to save).
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Counts changes of the replica's state; the session saves the state when it moves.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The document's version: it moves with every change of the document, local or not, and
    /// differs between editors.
    pub fn version(&self) -> Version {
        Version {
            editor: self.id,
            changes: self.changes,
        }
    }

    /// What the replica asked for since the last call: messages to send, conflicts...
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Folds in a message from the relay; returns what the replica asked for.
    pub fn receive(&mut self, message: ServerMessage) -> Vec<Event> {
        let before = (self.replica.rev(), self.replica.pending());
        let pending_ops = self.replica.pending_ops();
        let events = self.replica.receive(message);
        let moves = self.replica.take_moves();
        // Local work that no longer applies leaves the view without a move of its own.
        let in_place = (self.replica.pending_ops() == pending_ops)
            .then(|| changes::InPlace::of_received(&moves, &events))
            .flatten();
        if !moves.is_empty() {
            // The selection follows its node: an insertion above it shifts it, a move
            // carries it along.
            if let Some(selected) = &self.selected {
                self.selected = sync_core::rebase::follow(selected, &moves);
            }
            self.moves.extend(moves);
        }
        // A replica that found its state differs from the relay's has taken its local work off
        // the view (and asked for a snapshot) without saying `Changed`.
        let changed = events
            .iter()
            .any(|e| matches!(e, Event::Changed | Event::Diverged { .. }));
        // Only what changes the saved state counts (a presence update or a history answer
        // does not): the revision, the pending changes, a sequence number given to a submit.
        let submitted = events
            .iter()
            .any(|e| matches!(e, Event::Send(ClientMessage::Submit { .. })));
        let after = (self.replica.rev(), self.replica.pending());
        if changed || submitted || before != after {
            self.generation += 1;
        }
        if changed {
            self.document_changed(in_place);
        }
        events
    }

    /// "Restore my copy" while the relay is behind this window (see
    /// [`Replica::restore_my_copy`]): the document stays as it is, and goes to the relay as
    /// one change on top of the relay's revision.
    pub fn restore_my_copy(&mut self) -> Result<(), EditError> {
        let events = self.replica.restore_my_copy()?;
        self.events.extend(events);
        // The confirmed state and the pending change moved, not the document.
        self.generation += 1;
        Ok(())
    }

    /// "Use the relay's" while the relay is behind this window (see
    /// [`Replica::use_relay_copy`]): the document becomes the relay's, with the pending edits
    /// that still apply on it.
    pub fn use_relay_copy(&mut self) {
        let events = self.replica.use_relay_copy();
        if events.contains(&Event::Changed) {
            self.changed(None);
        }
        self.events.extend(events);
    }

    /// Where the node at `path` (as the UI last saw the document) is now, after what others
    /// changed since [`Editor::take_moves`] was last called; `None` if it is gone.
    pub fn follow(&self, path: &Pointer) -> Option<Pointer> {
        sync_core::rebase::follow(path, &self.moves)
    }

    /// Where the string at `path` (as the UI last saw the document) is now, and where its
    /// character positions went, after what others changed since [`Editor::take_moves`] was
    /// last called; `None` if it is gone.
    pub fn follow_text(&self, path: &Pointer) -> Option<sync_core::rebase::TextFollow> {
        sync_core::rebase::follow_text(path, &self.moves)
    }

    /// Forgets the changes [`Editor::follow`] follows paths through (call once per frame,
    /// after following what the UI shows).
    pub fn take_moves(&mut self) -> bool {
        let any = !self.moves.is_empty();
        self.moves.clear();
        any
    }

    /// The connection dropped.
    pub fn disconnected(&mut self) {
        self.replica.disconnected();
    }

    /// Sends the change in flight again (after the relay said `rate_limited`).
    pub fn retry(&mut self) -> Vec<Event> {
        self.replica.retry()
    }

    /// The document as it is now.
    pub fn doc(&self) -> &Value {
        self.replica.view()
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether there are unsaved edits.
    pub fn is_dirty(&self) -> bool {
        // A shared document without a file is kept by the relay and the outbox.
        self.dirty && !(self.shared && self.path.is_none())
    }

    /// How many values the document holds (as last counted: see [`Editor::is_counting`]).
    pub fn node_count(&self) -> usize {
        self.counts.nodes
    }

    /// The visible rows, laid out again if the structure or expansion changed.
    pub fn rows(&self) -> Ref<'_, [Row]> {
        // Only a change through `&mut self` makes them stale, so no row read before it is
        // still borrowed here.
        if self.rows.borrow().stale {
            let mut laid = self.rows.borrow_mut();
            laid.rows = rows::flatten(self.replica.view(), &self.expansion);
            laid.stale = false;
        }
        Ref::map(self.rows.borrow(), |laid| laid.rows.as_slice())
    }

    /// The path of visible row `index`.
    pub fn path_of_row(&self, index: usize) -> Pointer {
        rows::path_of(&self.rows(), index)
    }

    /// The selected node.
    pub fn selected(&self) -> Option<&Pointer> {
        self.selected.as_ref()
    }

    /// Selects a node (or nothing).
    pub fn select(&mut self, path: Option<Pointer>) {
        self.selected = path;
    }

    /// Whether the container at `path` shows its children.
    pub fn is_expanded(&self, path: &Pointer) -> bool {
        self.expansion.is_expanded(path.tokens())
    }

    /// Shows or hides the children of the container at `path`.
    pub fn set_expanded(&mut self, path: &Pointer, expanded: bool) {
        if self.expansion.is_expanded(path.tokens()) == expanded {
            return;
        }
        self.expansion.set(path.tokens(), expanded);
        self.redo_rows(path);
    }

    /// Shows the node at `path` again after its expansion (or a descendant's) changed: its
    /// rows alone are rebuilt, if it is shown.
    fn redo_rows(&mut self, path: &Pointer) {
        let laid = self.rows.get_mut();
        if laid.stale {
            return;
        }
        if let Some(row) = rows::row_of(&laid.rows, path) {
            rows::redo_subtree(&mut laid.rows, row, self.replica.view(), &self.expansion);
        }
    }

    /// Expands every container (or collapses all but the root).
    pub fn expand_all(&mut self, expanded: bool) {
        self.expansion = Expansion {
            all: expanded,
            ..Expansion::default()
        };
        self.rows.get_mut().stale = true;
    }

    /// Expands the containers above `path`, so that its row is visible.
    pub fn reveal(&mut self, path: &Pointer) {
        let tokens = path.tokens();
        let mut topmost = None;
        for end in 0..tokens.len() {
            let ancestor: &[Token] = tokens.get(..end).unwrap_or_default();
            if !self.expansion.is_expanded(ancestor) {
                self.expansion.set(ancestor, true);
                topmost.get_or_insert(end);
            }
        }
        // The highest container opened shows its rows again, the others' among them.
        if let Some(end) = topmost {
            let ancestor = Pointer::from_tokens(tokens.iter().take(end).cloned());
            self.redo_rows(&ancestor);
        }
    }

    /// The visible row showing `path`, if any.
    pub fn row_of(&self, path: &Pointer) -> Option<usize> {
        rows::row_of(&self.rows(), path)
    }

    /// Applies a change made by the user (at once; it gets an undo entry).
    pub fn edit(&mut self, ops: Vec<Operation>) -> Result<(), EditError> {
        let in_place = self.in_place(&ops);
        let events = self.replica.edit(ops)?;
        self.events.extend(events);
        self.changed(in_place);
        Ok(())
    }

    /// What `ops`, about to be applied, do if they only set scalars in place.
    fn in_place<'a>(
        &self,
        ops: impl IntoIterator<Item = &'a Operation>,
    ) -> Option<changes::InPlace> {
        changes::InPlace::of(self.doc(), ops, self.counts.size.is_some())
    }

    /// After a local edit.
    fn changed(&mut self, in_place: Option<changes::InPlace>) {
        self.generation += 1;
        self.document_changed(in_place);
    }

    /// Sets the string at `path` to `text`, as the one `splice` that turns the old text into
    /// the new (what typing produces, keystroke by keystroke).
    pub fn set_string(&mut self, path: &Pointer, text: &str) -> Result<(), EditError> {
        self.type_string(path, text, false).map(|_| ())
    }

    /// A keystroke in the field editing the string at `path`, which now reads `text`: as
    /// [`Editor::set_string`], and when `continuing` (not the field's first change) it joins
    /// the field's undo step, so that one undo (or Escape) takes the field's typing back.
    /// Returns whether the document changed.
    pub fn type_string(
        &mut self,
        path: &Pointer,
        text: &str,
        continuing: bool,
    ) -> Result<bool, EditError> {
        let Some(Value::String(old)) = path.resolve(self.doc()) else {
            self.edit(vec![Operation::replace(path.clone(), Value::from(text))])?;
            return Ok(true);
        };
        let old = old.to_string();
        let Some((pos, del, ins)) = splice_between(&old, text) else {
            return Ok(false);
        };
        let ops = vec![Operation::Splice {
            path: path.clone(),
            pos,
            del,
            ins,
        }];
        self.edit_in_field(ops, continuing)?;
        Ok(true)
    }

    /// Sets the value at `path` from a field (the type switch, a checkbox): as
    /// [`Editor::type_string`], one undo step with the field's other changes when `continuing`.
    /// Returns whether the document changed.
    pub fn set_in_field(
        &mut self,
        path: &Pointer,
        value: Value,
        continuing: bool,
    ) -> Result<bool, EditError> {
        if path.resolve(self.doc()) == Some(&value) {
            return Ok(false);
        }
        self.edit_in_field(vec![Operation::replace(path.clone(), value)], continuing)?;
        Ok(true)
    }

    /// A change made in a field: joining the field's undo step when `continuing`.
    fn edit_in_field(&mut self, ops: Vec<Operation>, continuing: bool) -> Result<(), EditError> {
        let in_place = self.in_place(&ops);
        let events = if continuing {
            self.replica.edit_joining(ops)?
        } else {
            self.replica.edit(ops)?
        };
        self.events.extend(events);
        self.changed(in_place);
        Ok(())
    }

    /// Sets the value at `path` from `text` read as `kind` (switching its type if it differs).
    pub fn set_scalar(
        &mut self,
        path: &Pointer,
        kind: ValueKind,
        text: &str,
    ) -> Result<(), EditError> {
        let value = match kind {
            ValueKind::String => {
                if matches!(path.resolve(self.doc()), Some(Value::String(_))) {
                    return self.set_string(path, text);
                }
                Value::from(text)
            }
            ValueKind::Number => match Value::parse(text.trim()) {
                Ok(number @ Value::Number(_)) => number,
                _ => {
                    return Err(EditError::Invalid(format!(
                        "{:?} is not a number",
                        text.trim()
                    )));
                }
            },
            ValueKind::Bool => match text.trim() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                other => {
                    return Err(EditError::Invalid(format!(
                        "{other:?} is not true or false"
                    )));
                }
            },
            ValueKind::Null => Value::Null,
            ValueKind::Object | ValueKind::Array => match path.resolve(self.doc()) {
                Some(value) => kind.convert(value, None),
                None => kind.convert(&Value::Null, None),
            },
        };
        if path.resolve(self.doc()) == Some(&value) {
            return Ok(());
        }
        self.edit(vec![Operation::replace(path.clone(), value)])
    }

    /// Makes the document `doc` (edited as text, say) through the smallest change that turns
    /// the current one into it, so that it is one undoable edit like any other. Returns how
    /// many operations that took.
    pub fn replace_with(&mut self, doc: &Value) -> Result<usize, EditError> {
        let change = sync_core::diff::diff(self.doc(), doc);
        let n = change.len();
        if n > 0 {
            self.edit(change.0)?;
        }
        Ok(n)
    }

    /// Removes the value at `path` (not the root).
    pub fn delete(&mut self, path: &Pointer) -> Result<(), EditError> {
        if path.is_root() {
            return Err(EditError::Invalid(
                "the document itself cannot be deleted".to_owned(),
            ));
        }
        // Select the next sibling, or the parent.
        let parent = path.parent();
        self.edit(vec![Operation::remove(path.clone())])?;
        if self.selected.is_none() {
            self.selected = parent;
        }
        Ok(())
    }

    /// Undoes the last edit.
    pub fn undo(&mut self) -> Result<(), EditError> {
        if self.replica.can_undo() {
            let in_place = self.in_place(self.replica.undo_ops());
            let events = self.replica.undo()?;
            self.events.extend(events);
            self.changed(in_place);
        }
        Ok(())
    }

    /// Redoes the last undone edit.
    pub fn redo(&mut self) -> Result<(), EditError> {
        if self.replica.can_redo() {
            let in_place = self.in_place(self.replica.redo_ops());
            let events = self.replica.redo()?;
            self.events.extend(events);
            self.changed(in_place);
        }
        Ok(())
    }

    /// Whether there is something to undo.
    pub fn can_undo(&self) -> bool {
        self.replica.can_undo()
    }

    /// Whether there is something to redo.
    pub fn can_redo(&self) -> bool {
        self.replica.can_redo()
    }
}

/// The splice `(pos, del, ins)` (positions in characters) that turns `old` into `new`: the part
/// between their common prefix and common suffix. `None` if they are equal.
pub fn splice_between(old: &str, new: &str) -> Option<(usize, usize, String)> {
    if old == new {
        return None;
    }
    let old_chars: Vec<char> = old.chars().collect();
    let new_chars: Vec<char> = new.chars().collect();
    let prefix = old_chars
        .iter()
        .zip(&new_chars)
        .take_while(|(a, b)| a == b)
        .count();
    let max_suffix = old_chars.len().min(new_chars.len()) - prefix;
    let suffix = old_chars
        .iter()
        .rev()
        .zip(new_chars.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let del = old_chars.len() - prefix - suffix;
    let ins: String = new_chars
        .get(prefix..new_chars.len() - suffix)
        .unwrap_or_default()
        .iter()
        .collect();
    Some((prefix, del, ins))
}

#[cfg(test)]
mod tests;
