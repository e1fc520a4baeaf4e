//! Operations and changes: the unit of every edit, its wire form, and its history.
//!
//! [`Operation`] is RFC 6902 plus three extensions (`merge`, `splice`, `incr`). It serializes with
//! `tag = "op"`, so the Rust enum *is* the wire form: `{"op":"add","path":"/a","value":1}`. A
//! [`Change`] is a list of operations applied atomically.

use serde::{Deserialize, Serialize};

use crate::pointer::Pointer;
use crate::value::{Number, Value};

/// One edit of a JSON document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Operation {
    /// RFC 6902 `add`: insert into an array, set an object member, or replace the whole document.
    Add {
        /// Where to add; for arrays an index or `-` (append).
        path: Pointer,
        /// The value to add.
        value: Value,
        /// Concord extension: the position a *new* object member takes among its siblings
        /// (default: last). Other RFC 6902 tools ignore it, as the RFC requires of unknown members.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<usize>,
    },
    /// RFC 6902 `remove`.
    Remove {
        /// What to remove; must exist.
        path: Pointer,
    },
    /// RFC 6902 `replace`: the target must exist.
    Replace {
        /// What to replace.
        path: Pointer,
        /// The new value.
        value: Value,
    },
    /// RFC 6902 `move`: remove at `from`, add at `path`. Renaming a key within one object keeps
    /// the member's place.
    Move {
        /// The value to move.
        from: Pointer,
        /// Its new location; not inside `from`.
        path: Pointer,
        /// Concord extension, as on `add`: the position of a new object member.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<usize>,
    },
    /// RFC 6902 `copy`: add a copy of the value at `from` at `path`.
    Copy {
        /// The value to copy.
        from: Pointer,
        /// Where to add the copy.
        path: Pointer,
    },
    /// RFC 6902 `test`: the value at `path` equals `value` (numbers by value, objects regardless
    /// of member order), or the whole change fails.
    Test {
        /// What to compare.
        path: Pointer,
        /// The expected value.
        value: Value,
    },
    /// RFC 7396 merge patch applied to the value at `path` (created from `null` if absent).
    Merge {
        /// The target of the merge patch.
        path: Pointer,
        /// The merge patch.
        value: Value,
    },
    /// Edit inside a string: at character `pos` delete `del` characters and insert `ins`.
    /// Positions count Unicode scalar values.
    Splice {
        /// The string to edit.
        path: Pointer,
        /// Start, in characters.
        pos: usize,
        /// Characters to delete.
        del: usize,
        /// Text to insert.
        ins: String,
    },
    /// Add `by` to the number at `path`: a counter whose concurrent increments all count.
    Incr {
        /// The number to change.
        path: Pointer,
        /// The amount (may be negative or fractional).
        by: Number,
    },
}

impl Operation {
    /// The operation's name as it appears in `"op"`.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Add { .. } => "add",
            Operation::Remove { .. } => "remove",
            Operation::Replace { .. } => "replace",
            Operation::Move { .. } => "move",
            Operation::Copy { .. } => "copy",
            Operation::Test { .. } => "test",
            Operation::Merge { .. } => "merge",
            Operation::Splice { .. } => "splice",
            Operation::Incr { .. } => "incr",
        }
    }

    /// The location the operation writes to (for `test`, the one it reads).
    pub fn path(&self) -> &Pointer {
        match self {
            Operation::Add { path, .. }
            | Operation::Remove { path }
            | Operation::Replace { path, .. }
            | Operation::Move { path, .. }
            | Operation::Copy { path, .. }
            | Operation::Test { path, .. }
            | Operation::Merge { path, .. }
            | Operation::Splice { path, .. }
            | Operation::Incr { path, .. } => path,
        }
    }

    /// The source location of `move` and `copy`.
    pub fn from(&self) -> Option<&Pointer> {
        match self {
            Operation::Move { from, .. } | Operation::Copy { from, .. } => Some(from),
            _ => None,
        }
    }

    /// Where the operation puts a value (or edits one in place), if it does: every operation
    /// but `remove` and `test`.
    pub(crate) fn written_at(&self) -> Option<&Pointer> {
        match self {
            Operation::Remove { .. } | Operation::Test { .. } => None,
            other => Some(other.path()),
        }
    }

    /// Whether the operation replaces what stands at its path (rather than inserting beside it
    /// or editing inside it).
    pub(crate) fn replaces_place(&self) -> bool {
        matches!(
            self,
            Operation::Add { .. }
                | Operation::Replace { .. }
                | Operation::Remove { .. }
                | Operation::Copy { .. }
                | Operation::Move { .. }
        )
    }

    /// Rewrites every location of the operation (`path`, and `from` where there is one).
    pub fn map_paths(&mut self, mut f: impl FnMut(&mut Pointer)) {
        match self {
            Operation::Move { from, path, .. } | Operation::Copy { from, path } => {
                f(from);
                f(path);
            }
            Operation::Add { path, .. }
            | Operation::Remove { path }
            | Operation::Replace { path, .. }
            | Operation::Test { path, .. }
            | Operation::Merge { path, .. }
            | Operation::Splice { path, .. }
            | Operation::Incr { path, .. } => f(path),
        }
    }

    /// Whether this is one of RFC 6902's six operations (extension members aside).
    pub fn is_rfc6902(&self) -> bool {
        !matches!(
            self,
            Operation::Merge { .. } | Operation::Splice { .. } | Operation::Incr { .. }
        )
    }

    /// `add` without a position hint.
    pub fn add(path: Pointer, value: impl Into<Value>) -> Operation {
        Operation::Add {
            path,
            value: value.into(),
            index: None,
        }
    }

    /// `remove`.
    pub fn remove(path: Pointer) -> Operation {
        Operation::Remove { path }
    }

    /// `replace`.
    pub fn replace(path: Pointer, value: impl Into<Value>) -> Operation {
        Operation::Replace {
            path,
            value: value.into(),
        }
    }

    /// `move` without a position hint.
    pub fn move_(from: Pointer, path: Pointer) -> Operation {
        Operation::Move {
            from,
            path,
            index: None,
        }
    }
}

/// A list of operations applied atomically: all of them or none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Change(pub Vec<Operation>);

impl Change {
    /// The operations, in order.
    pub fn ops(&self) -> &[Operation] {
        &self.0
    }

    /// Whether the change does nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Parses a JSON array of operations (an RFC 6902 patch document, extensions allowed).
    pub fn from_json(text: &str) -> Result<Change, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The change as a compact JSON array.
    pub fn to_json(&self) -> String {
        // Serializing plain data to a string cannot fail.
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    /// The change as an indented JSON array.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.0).unwrap_or_default()
    }
}

impl From<Vec<Operation>> for Change {
    fn from(ops: Vec<Operation>) -> Change {
        Change(ops)
    }
}

impl IntoIterator for Change {
    type Item = Operation;
    type IntoIter = std::vec::IntoIter<Operation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Change {
    type Item = &'a Operation;
    type IntoIter = std::slice::Iter<'a, Operation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
