//! Inline editing: which value or key is being edited, its text, and how its field opens.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Workspace;
use crate::editor::{ValueKind, text_of};

/// The number of the next edit (see [`Editing::number`]).
static NEXT_EDIT: AtomicU64 = AtomicU64::new(0);

/// Which part of a node is being edited inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The value.
    Value,
    /// The member's key.
    Key,
}

/// A value or key being edited inline.
#[derive(Debug, Clone, PartialEq)]
pub struct Editing {
    /// Which node.
    pub path: sync_core::Pointer,
    /// Its value or its key.
    pub part: Part,
    /// What the text is read as.
    pub kind: ValueKind,
    /// The text in the field.
    pub text: String,
    /// Set until the field has the keyboard (see [`Opening`]).
    pub opening: Option<Opening>,
    /// Whether the field has changed the document (a string changes as it is typed, a
    /// checkbox or the type switch at once): its changes are one undo step, which Escape
    /// takes back.
    pub typed: bool,
    /// Why the text could not be applied (a number that does not parse): shown beside the
    /// field, which stays open.
    pub error: Option<String>,
    /// Which edit this is, unique in the process: the window names the edit's text field by
    /// it, so the field keeps its focus and caret while the node's path changes (someone
    /// inserted above it).
    pub number: u64,
    /// The caret's position in characters, once the field has one.
    pub caret: Option<usize>,
}

impl Editing {
    /// An edit of `path`'s `part` starting from `text` read as `kind`, its field opening as
    /// `opening` says.
    pub fn new(
        path: sync_core::Pointer,
        part: Part,
        (kind, text): (ValueKind, String),
        opening: Opening,
    ) -> Editing {
        Editing {
            path,
            part,
            kind,
            text,
            opening: Some(opening),
            typed: false,
            error: None,
            number: NEXT_EDIT.fetch_add(1, Ordering::Relaxed),
            caret: None,
        }
    }
}

/// A text field a command just opened, until it has the keyboard. It takes the keyboard before
/// it is first drawn, so that it reads the keys of the frame it appears in; the keys typed in
/// the frame of the command itself, after it, were read before the field existed.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Opening {
    /// Select the whole text, so that typing replaces it (as in every editor) and the arrow
    /// keys keep it.
    #[default]
    SelectAll,
    /// Replace the text with this, the caret after it: the keys typed in the command's frame,
    /// or a completed path.
    Replace(String),
    /// Give the field the keyboard back with its text and caret as they are (after a value it
    /// could not take, say).
    Keep,
}

/// Escape: what the field did to the document is taken back, as one change (so others get it
/// too), and edits others made meanwhile stay.
pub(super) fn cancel(app: &mut Workspace) {
    if app.editing.take().is_some_and(|editing| editing.typed)
        && let Err(e) = app.editor.undo()
    {
        app.message = Some(e.to_string());
    }
}

/// Strings change as they are typed, one splice per change; the field's keystrokes are one
/// undo step. A number waits for the field to be left.
pub(super) fn typed(app: &mut Workspace) {
    let Some(editing) = &mut app.editing else {
        return;
    };
    editing.error = None;
    let is_string = matches!(
        editing.path.resolve(app.editor.doc()),
        Some(sync_core::Value::String(_))
    );
    if editing.part == Part::Value && editing.kind == ValueKind::String && is_string {
        match app
            .editor
            .type_string(&editing.path, &editing.text, editing.typed)
        {
            Ok(changed) => editing.typed |= changed,
            Err(e) => app.message = Some(e.to_string()),
        }
    }
}

/// Sets the edited value from the field at once (a checkbox), in the field's undo step.
pub(super) fn set(app: &mut Workspace, value: sync_core::Value) {
    let Some(editing) = &mut app.editing else {
        return;
    };
    editing.text = text_of(&value);
    match app.editor.set_in_field(&editing.path, value, editing.typed) {
        Ok(changed) => editing.typed |= changed,
        Err(e) => app.message = Some(e.to_string()),
    }
}

/// The type switch chose `kind`: the value becomes one of that kind at once, starting from
/// what it was (or what its field shows). A string, number or boolean goes on being edited;
/// `null` is done; an object or array is opened in the tree to take members.
pub(super) fn retype(app: &mut Workspace, kind: ValueKind) {
    let Some(editing) = &mut app.editing else {
        return;
    };
    let Some(current) = editing.path.resolve(app.editor.doc()).cloned() else {
        app.editing = None;
        return;
    };
    let shown = editing.kind.is_text().then_some(editing.text.as_str());
    let value = kind.convert(&current, shown);
    editing.text = text_of(&value);
    editing.kind = kind;
    editing.error = None;
    match app.editor.set_in_field(&editing.path, value, editing.typed) {
        Ok(changed) => editing.typed |= changed,
        Err(e) => {
            app.message = Some(e.to_string());
            return;
        }
    }
    match kind {
        ValueKind::String | ValueKind::Number | ValueKind::Bool => {
            editing.opening = Some(Opening::SelectAll);
        }
        ValueKind::Null => app.editing = None,
        ValueKind::Object | ValueKind::Array => {
            let path = editing.path.clone();
            app.editing = None;
            app.editor.set_expanded(&path, true);
            app.editor.select(Some(path));
        }
    }
}

/// Applies the value being edited (if it differs) and stops editing. Returns whether the edit
/// ended: a value the field cannot take (a number that does not parse) keeps it open, with the
/// reason beside it and the document as it was.
pub(super) fn commit(app: &mut Workspace) -> bool {
    let Some(mut editing) = app.editing.take() else {
        return true;
    };
    let result = match (editing.part, editing.kind) {
        (Part::Value, ValueKind::String | ValueKind::Number) => {
            app.editor
                .set_scalar(&editing.path, editing.kind, &editing.text)
        }
        // A checkbox and the type switch applied what they did at once.
        (Part::Value, _) => Ok(()),
        (Part::Key, _) => app.editor.rename(&editing.path, &editing.text).map(|_| ()),
    };
    match result {
        Ok(()) => {
            app.message = None;
            true
        }
        Err(crate::editor::EditError::Invalid(reason)) => {
            editing.error = Some(reason);
            editing.opening = Some(Opening::Keep);
            app.editing = Some(editing);
            false
        }
        Err(e) => {
            app.message = Some(e.to_string());
            true
        }
    }
}
