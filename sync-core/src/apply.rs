//! Applying changes: atomically, with an exact inverse.
//!
//! Every operation that succeeds records the operations that undo it. If a later operation of the
//! same change fails, the recorded inverses run backwards and the document is exactly as before,
//! so no copy of the document is needed to make a change atomic. When all succeed, the recorded
//! inverses are the change's inverse: applying it restores the document exactly, member order
//! included. This is the basis of undo, history and rebasing.

use crate::op::{Change, Operation};
use crate::pointer::{IndexError, Pointer, Token, parse_index};
use crate::value::{MAX_DEPTH, SpliceOutOfRange, Value};

/// Why a change did not apply. The document is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("operation {index} ({op} {}) failed: {kind}", shown(.path))]
pub struct ApplyError {
    /// Position of the failing operation in the change (0-based).
    pub index: usize,
    /// The failing operation's name (`add`, `splice`, ...).
    pub op: &'static str,
    /// The failing operation's `path`.
    pub path: Pointer,
    /// What went wrong.
    pub kind: ApplyErrorKind,
}

/// A path as messages show it: the root, which is the empty string, as `""`.
fn shown(path: &Pointer) -> String {
    if path.is_root() {
        "\"\"".to_owned()
    } else {
        path.to_string()
    }
}

impl ApplyError {
    /// The error of operation `op`, at position `index` in its change.
    pub fn new(index: usize, op: &Operation, kind: ApplyErrorKind) -> ApplyError {
        ApplyError {
            index,
            op: op.name(),
            path: op.path().clone(),
            kind,
        }
    }

    /// A stable, machine-readable name for the error (the kind's code).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// What went wrong applying one operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyErrorKind {
    /// A location that must exist does not.
    #[error("{at} does not exist")]
    NotFound {
        /// The first missing location on the way.
        at: Pointer,
    },
    /// A token tried to step into a scalar.
    #[error("{at} is {found}, which has no members")]
    NotAContainer {
        /// The scalar's location.
        at: Pointer,
        /// Its type.
        found: &'static str,
    },
    /// A token that cannot index the array it met.
    #[error("{token:?} {reason} (in the array at {at})")]
    BadIndex {
        /// The array's location.
        at: Pointer,
        /// The offending token.
        token: String,
        /// Why it does not index the array.
        reason: IndexError,
    },
    /// A `test` found a different value.
    #[error("test failed: found {actual}, expected {expected}")]
    TestFailed {
        /// The value found, abbreviated.
        actual: String,
        /// The value expected, abbreviated.
        expected: String,
    },
    /// `move` into the moved value itself.
    #[error("cannot move {from} into its own descendant")]
    MoveIntoDescendant {
        /// The move's source.
        from: Pointer,
    },
    /// `remove` of the whole document.
    #[error("cannot remove the whole document (replace it instead)")]
    RemoveRoot,
    /// `splice` on something that is not a string.
    #[error("splice needs a string, found {found}")]
    NotAString {
        /// The type found.
        found: &'static str,
    },
    /// `incr` on something that is not a number.
    #[error("incr needs a number, found {found}")]
    NotANumber {
        /// The type found.
        found: &'static str,
    },
    /// `splice` positions outside the string.
    #[error(transparent)]
    SpliceOutOfRange(#[from] SpliceOutOfRange),
    /// `incr` would leave the range of finite numbers.
    #[error("the sum is not a finite number")]
    NumberOverflow,
    /// The result would nest deeper than [`MAX_DEPTH`].
    #[error("the result would nest deeper than {MAX_DEPTH} arrays and objects")]
    TooDeep,
}

impl ApplyErrorKind {
    /// A stable, machine-readable name for the error.
    pub fn code(&self) -> &'static str {
        match self {
            ApplyErrorKind::NotFound { .. } => "path_not_found",
            ApplyErrorKind::NotAContainer { .. } => "not_a_container",
            ApplyErrorKind::BadIndex { .. } => "bad_index",
            ApplyErrorKind::TestFailed { .. } => "test_failed",
            ApplyErrorKind::MoveIntoDescendant { .. } => "move_into_descendant",
            ApplyErrorKind::RemoveRoot => "remove_root",
            ApplyErrorKind::NotAString { .. } => "not_a_string",
            ApplyErrorKind::NotANumber { .. } => "not_a_number",
            ApplyErrorKind::SpliceOutOfRange(_) => "splice_out_of_range",
            ApplyErrorKind::NumberOverflow => "number_overflow",
            ApplyErrorKind::TooDeep => "too_deep",
        }
    }
}

type Result<T, E = ApplyErrorKind> = std::result::Result<T, E>;

impl Change {
    /// Applies the change to `doc` atomically and returns its inverse.
    ///
    /// On error `doc` is exactly as it was, and the error names the failing operation.
    pub fn apply(&self, doc: &mut Value) -> Result<Change, ApplyError> {
        apply(doc, &self.0)
    }
}

/// Applies `ops` to `doc` atomically and returns the inverse change.
///
/// ```
/// use sync_core::{Change, Value};
///
/// let mut doc = Value::parse(r#"{"title": "Draft", "tags": ["a"]}"#)?;
/// let change = Change::from_json(r#"[
///     {"op": "splice", "path": "/title", "pos": 0, "del": 5, "ins": "Final"},
///     {"op": "add", "path": "/tags/-", "value": "b"}
/// ]"#)?;
/// let inverse = change.apply(&mut doc)?;
/// assert_eq!(doc.to_json(), r#"{"title":"Final","tags":["a","b"]}"#);
/// inverse.apply(&mut doc)?;
/// assert_eq!(doc.to_json(), r#"{"title":"Draft","tags":["a"]}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn apply(doc: &mut Value, ops: &[Operation]) -> Result<Change, ApplyError> {
    apply_all(doc, ops.iter())
}

/// [`apply`] for operations given by an iterator.
pub(crate) fn apply_all<'a>(
    doc: &mut Value,
    ops: impl Iterator<Item = &'a Operation>,
) -> Result<Change, ApplyError> {
    // Inverses of the applied operations, last one first once reversed (see `apply_op`).
    let mut undo = Vec::with_capacity(ops.size_hint().0);
    for (index, op) in ops.enumerate() {
        if let Err(kind) = apply_op(doc, op, &mut undo) {
            rollback(doc, &undo);
            return Err(ApplyError::new(index, op, kind));
        }
    }
    undo.reverse();
    Ok(Change(undo))
}

/// Applies one operation, pushing its inverse onto `undo` in *reverse* application order, so
/// that reversing the whole of `undo` yields the inverse of everything applied so far.
pub(crate) fn apply_op(doc: &mut Value, op: &Operation, undo: &mut Vec<Operation>) -> Result<()> {
    match op {
        Operation::Add { path, value, index } => {
            check_depth(path, value)?;
            undo.push(add(doc, path, value.clone(), *index).map_err(|(e, _)| e)?);
        }
        Operation::Remove { path } => {
            let (value, position) = remove(doc, path)?;
            undo.push(Operation::Add {
                path: path.clone(),
                value,
                index: position,
            });
        }
        Operation::Replace { path, value } => {
            check_depth(path, value)?;
            let target = walk_mut(doc, path, path.len())?;
            let old = std::mem::replace(target, value.clone());
            undo.push(Operation::Replace {
                path: path.clone(),
                value: old,
            });
        }
        Operation::Move { from, path, index } => move_(doc, from, path, *index, undo)?,
        Operation::Copy { from, path } => {
            let value = walk(doc, from)?.clone();
            check_depth(path, &value)?;
            undo.push(add(doc, path, value, None).map_err(|(e, _)| e)?);
        }
        Operation::Test { path, value } => {
            let actual = walk(doc, path)?;
            if actual != value {
                return Err(ApplyErrorKind::TestFailed {
                    actual: abbreviate(actual),
                    expected: abbreviate(value),
                });
            }
        }
        Operation::Merge { path, value } => merge(doc, path, value, undo)?,
        Operation::Splice {
            path,
            pos,
            del,
            ins,
        } => {
            let target = walk_mut(doc, path, path.len())?;
            let Value::String(text) = target else {
                return Err(ApplyErrorKind::NotAString {
                    found: target.type_name(),
                });
            };
            let deleted = text.splice(*pos, *del, ins)?;
            undo.push(Operation::Splice {
                path: path.clone(),
                pos: *pos,
                del: ins.chars().count(),
                ins: deleted,
            });
        }
        Operation::Incr { path, by } => {
            let target = walk_mut(doc, path, path.len())?;
            let Value::Number(n) = target else {
                return Err(ApplyErrorKind::NotANumber {
                    found: target.type_name(),
                });
            };
            let (sum, exact) = n.add(by).ok_or(ApplyErrorKind::NumberOverflow)?;
            let old = std::mem::replace(n, sum);
            undo.push(if exact {
                Operation::Incr {
                    path: path.clone(),
                    by: by.negate(),
                }
            } else {
                Operation::Replace {
                    path: path.clone(),
                    value: Value::Number(old),
                }
            });
        }
    }
    Ok(())
}

/// Undoes what `undo` recorded. Inverses of applied operations always apply; a failure here
/// would be a bug in an inverse, which the property tests look for.
pub(crate) fn rollback(doc: &mut Value, undo: &[Operation]) {
    let mut scratch = Vec::new();
    for op in undo.iter().rev() {
        let restored = apply_op(doc, op, &mut scratch);
        debug_assert!(restored.is_ok(), "inverse {op:?} failed: {restored:?}");
    }
}

fn check_depth(path: &Pointer, value: &Value) -> Result<()> {
    if path.len() + value.depth() > MAX_DEPTH {
        return Err(ApplyErrorKind::TooDeep);
    }
    Ok(())
}

/// The pointer made of the first `n` tokens of `path`.
fn prefix(path: &Pointer, n: usize) -> Pointer {
    Pointer::from_tokens(path.tokens().iter().take(n).cloned())
}

/// The value at the first `upto` tokens of `path`, with errors that say where the walk stopped.
fn walk_mut<'v>(doc: &'v mut Value, path: &Pointer, upto: usize) -> Result<&'v mut Value> {
    let mut cur = doc;
    for (depth, token) in path.tokens().iter().take(upto).enumerate() {
        let found = cur.type_name();
        cur = match cur {
            Value::Object(map) => map.get_mut(token).ok_or_else(|| ApplyErrorKind::NotFound {
                at: prefix(path, depth + 1),
            })?,
            Value::Array(items) => {
                let i = array_index(path, depth, token, items.len(), false)?;
                items.get_mut(i).ok_or_else(|| ApplyErrorKind::NotFound {
                    at: prefix(path, depth + 1),
                })?
            }
            _ => {
                return Err(ApplyErrorKind::NotAContainer {
                    at: prefix(path, depth),
                    found,
                });
            }
        };
    }
    Ok(cur)
}

/// Read-only [`walk_mut`] over the whole path.
fn walk<'v>(doc: &'v Value, path: &Pointer) -> Result<&'v Value> {
    let mut cur = doc;
    for (depth, token) in path.tokens().iter().enumerate() {
        cur = match cur {
            Value::Object(map) => map.get(token).ok_or_else(|| ApplyErrorKind::NotFound {
                at: prefix(path, depth + 1),
            })?,
            Value::Array(items) => {
                let i = array_index(path, depth, token, items.len(), false)?;
                items.get(i).ok_or_else(|| ApplyErrorKind::NotFound {
                    at: prefix(path, depth + 1),
                })?
            }
            _ => {
                let found = cur.type_name();
                return Err(ApplyErrorKind::NotAContainer {
                    at: prefix(path, depth),
                    found,
                });
            }
        };
    }
    Ok(cur)
}

fn array_index(
    path: &Pointer,
    depth: usize,
    token: &Token,
    len: usize,
    allow_end: bool,
) -> Result<usize> {
    parse_index(token, len, allow_end).map_err(|reason| ApplyErrorKind::BadIndex {
        at: prefix(path, depth),
        token: token.to_string(),
        reason,
    })
}

/// The parent container of `path` and the last token. `path` must not be the root.
fn parent_mut<'v>(doc: &'v mut Value, path: &'_ Pointer) -> Result<(&'v mut Value, Token)> {
    let last = path.tokens().last().cloned().unwrap_or_default();
    let parent = walk_mut(doc, path, path.len().saturating_sub(1))?;
    Ok((parent, last))
}

/// Adds `value` at `path` (RFC 6902 `add`) and returns the inverse operation. On failure the
/// value is handed back untouched.
fn add(
    doc: &mut Value,
    path: &Pointer,
    value: Value,
    index: Option<usize>,
) -> Result<Operation, (ApplyErrorKind, Value)> {
    if path.is_root() {
        let old = std::mem::replace(doc, value);
        return Ok(Operation::Replace {
            path: Pointer::root(),
            value: old,
        });
    }
    let (parent, token) = match parent_mut(doc, path) {
        Ok(found) => found,
        Err(e) => return Err((e, value)),
    };
    match parent {
        Value::Object(map) => match map.get_mut(&token) {
            Some(slot) => {
                let old = std::mem::replace(slot, value);
                Ok(Operation::Replace {
                    path: path.clone(),
                    value: old,
                })
            }
            None => {
                map.insert_at(index.unwrap_or(usize::MAX), token, value);
                Ok(Operation::Remove { path: path.clone() })
            }
        },
        Value::Array(items) => match array_index(path, path.len() - 1, &token, items.len(), true) {
            Ok(i) => {
                items.insert(i, value);
                Ok(Operation::Remove {
                    path: with_last(path, i),
                })
            }
            Err(e) => Err((e, value)),
        },
        other => {
            let found = other.type_name();
            Err((
                ApplyErrorKind::NotAContainer {
                    at: prefix(path, path.len() - 1),
                    found,
                },
                value,
            ))
        }
    }
}

/// Removes the value at `path`; returns it and, for an object member, the position it held
/// (so that re-adding it restores member order).
fn remove(doc: &mut Value, path: &Pointer) -> Result<(Value, Option<usize>)> {
    if path.is_root() {
        return Err(ApplyErrorKind::RemoveRoot);
    }
    let (parent, token) = parent_mut(doc, path)?;
    match parent {
        Value::Object(map) => {
            let (position, value) = map
                .remove(&token)
                .ok_or_else(|| ApplyErrorKind::NotFound { at: path.clone() })?;
            Ok((value, Some(position)))
        }
        Value::Array(items) => {
            let i = array_index(path, path.len() - 1, &token, items.len(), false)?;
            Ok((items.remove(i), None))
        }
        other => Err(ApplyErrorKind::NotAContainer {
            at: prefix(path, path.len() - 1),
            found: other.type_name(),
        }),
    }
}

/// `path` with its last token replaced by the array index `i`.
fn with_last(path: &Pointer, i: usize) -> Pointer {
    let mut tokens = path.tokens().to_vec();
    if let Some(last) = tokens.last_mut() {
        *last = Token::from(i.to_string());
    }
    Pointer::from_tokens(tokens)
}

/// RFC 6902 `move`: remove at `from`, then add at `path` (read after the removal).
///
/// Renaming a member within one object keeps its place. The inverse is a move back, so that
/// edits rebased over an undo follow the item; where the move overwrote a member, the inverse
/// restores that member and then re-adds the moved value.
fn move_(
    doc: &mut Value,
    from: &Pointer,
    path: &Pointer,
    index: Option<usize>,
    undo: &mut Vec<Operation>,
) -> Result<()> {
    let moved = walk(doc, from)?;
    if from == path {
        return Ok(());
    }
    if from.is_proper_prefix_of(path) {
        return Err(ApplyErrorKind::MoveIntoDescendant { from: from.clone() });
    }
    // Only a move deeper can make the document deeper.
    if path.len() > from.len() {
        check_depth(path, moved)?;
    }
    let (value, from_position) = remove(doc, from)?;
    let renamed = from_position.is_some() && from.parent() == path.parent();
    let index = index.or(if renamed { from_position } else { None });
    // The inverse is a move back, except where RFC 6902 forbids that move (a value moved up
    // into an array that holds its old place) or where the move overwrote a value; there it is
    // a removal and a re-insertion, which needs a copy of the moved value.
    let overwrites = path.is_root() || target_position(doc, path).is_some();
    let upward = path.is_proper_prefix_of(from);
    let copy = (overwrites || upward).then(|| value.clone());
    match add(doc, path, value, index) {
        Ok(inverse) => {
            match (inverse, copy) {
                (Operation::Remove { path: landed }, None) => {
                    undo.push(Operation::Move {
                        from: landed,
                        path: from.clone(),
                        index: from_position,
                    });
                }
                (inverse, copy) => {
                    // Undo order: clear the destination (restoring what it held), then re-add.
                    let moved = copy.unwrap_or_default();
                    undo.push(Operation::Add {
                        path: from.clone(),
                        value: moved,
                        index: from_position,
                    });
                    undo.push(inverse);
                }
            }
            Ok(())
        }
        Err((e, value)) => {
            let restored = add(doc, from, value, from_position);
            debug_assert!(restored.is_ok(), "restoring {from} failed");
            Err(e)
        }
    }
}

/// The position of the existing object member at `path`, if there is one.
fn target_position(doc: &Value, path: &Pointer) -> Option<usize> {
    let (parent, key) = path.split_last()?;
    parent.resolve(doc)?.as_object()?.index_of(key)
}

/// RFC 7396 merge patch at `path`, recording fine-grained inverses (only what it touched).
fn merge(doc: &mut Value, path: &Pointer, patch: &Value, undo: &mut Vec<Operation>) -> Result<()> {
    check_depth(path, patch)?;
    if !path.is_root() {
        let (parent, token) = parent_mut(doc, path)?;
        if let Value::Object(map) = parent
            && !map.contains_key(&token)
        {
            map.insert(token, crate::merge::merged(Value::Null, patch));
            undo.push(Operation::Remove { path: path.clone() });
            return Ok(());
        }
    }
    let target = walk_mut(doc, path, path.len())?;
    merge_into(target, patch, path, undo);
    Ok(())
}

fn merge_into(target: &mut Value, patch: &Value, path: &Pointer, undo: &mut Vec<Operation>) {
    let Value::Object(members) = patch else {
        let old = std::mem::replace(target, patch.clone());
        undo.push(Operation::Replace {
            path: path.clone(),
            value: old,
        });
        return;
    };
    if !matches!(target, Value::Object(_)) {
        // The whole target is replaced: one inverse restores it, whatever happens inside.
        let old = std::mem::replace(target, crate::merge::merged(Value::Null, patch));
        undo.push(Operation::Replace {
            path: path.clone(),
            value: old,
        });
        return;
    }
    let Value::Object(map) = target else { return };
    for (key, value) in members.iter() {
        let child = path.child(key);
        match (map.get_mut(key), value) {
            (None, Value::Null) => {}
            (Some(_), Value::Null) => {
                if let Some((position, old)) = map.remove(key) {
                    undo.push(Operation::Add {
                        path: child,
                        value: old,
                        index: Some(position),
                    });
                }
            }
            (Some(slot), value) => merge_into(slot, value, &child, undo),
            (None, value) => {
                map.insert(key, crate::merge::merged(Value::Null, value));
                undo.push(Operation::Remove { path: child });
            }
        }
    }
}

fn abbreviate(value: &Value) -> String {
    let mut json = value.to_json();
    if json.len() > 80 {
        let mut cut = 77;
        while !json.is_char_boundary(cut) {
            cut -= 1;
        }
        json.truncate(cut);
        json.push_str("...");
    }
    json
}
