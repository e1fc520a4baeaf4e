//! Inline editing: which value or key is being edited, its text, and how its field opens.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::editor::ValueKind;

/// The number of the next edit (see [`Editing::number`]).
static NEXT_EDIT: AtomicU64 = AtomicU64::new(0);

/// What is being edited inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
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
    pub target: Target,
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
    /// An edit of `path`'s `target` starting from `text` read as `kind`, its field opening as
    /// `opening` says.
    pub fn new(
        path: sync_core::Pointer,
        target: Target,
        (kind, text): (ValueKind, String),
        opening: Opening,
    ) -> Editing {
        Editing {
            path,
            target,
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
