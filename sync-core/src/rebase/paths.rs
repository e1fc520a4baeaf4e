//! How an operation moves the locations other operations point to.

use super::{DropReason, Shape, Side};
use crate::op::Operation;
use crate::pointer::{Pointer, Token};
use crate::value::Value;

/// Maps a path of x through y. `insert` says the path is an insertion point of x (an array
/// slot rather than an existing item).
pub(super) fn map_path(
    q: &Pointer,
    y: &Operation,
    shape: Shape,
    insert: bool,
    side: Side,
) -> Result<Pointer, DropReason> {
    use Operation as O;
    match y {
        O::Add { path, .. } | O::Copy { path, .. } => {
            if shape.path_in_array {
                Ok(insert_shift(q, path, insert, side))
            } else if path.is_proper_prefix_of(q) {
                Err(DropReason::Replaced)
            } else {
                Ok(q.clone())
            }
        }
        O::Replace { path, .. } => {
            if path.is_proper_prefix_of(q) {
                Err(DropReason::Replaced)
            } else {
                Ok(q.clone())
            }
        }
        O::Remove { path } => {
            if path.is_prefix_of(q) {
                if q == path && insert && shape.path_in_array {
                    Ok(q.clone())
                } else {
                    Err(DropReason::Removed)
                }
            } else if shape.path_in_array {
                Ok(remove_shift(q, path))
            } else {
                Ok(q.clone())
            }
        }
        O::Move { from, path: to, .. } => {
            let at_slot = q == from && insert && shape.from_in_array;
            if from.is_prefix_of(q) && !at_slot {
                // The item moved: follow it.
                let mut tokens: Vec<Token> = to.tokens().to_vec();
                tokens.extend(q.tokens().iter().skip(from.len()).cloned());
                return Ok(Pointer::from_tokens(tokens));
            }
            let q = if shape.from_in_array {
                remove_shift(q, from)
            } else {
                q.clone()
            };
            if shape.path_in_array {
                Ok(insert_shift(&q, to, insert, side))
            } else if to.is_proper_prefix_of(&q) {
                Err(DropReason::Replaced)
            } else {
                Ok(q)
            }
        }
        O::Merge { path, .. } if shape.replaces_target => {
            if path.is_proper_prefix_of(q) {
                Err(DropReason::Replaced)
            } else {
                Ok(q.clone())
            }
        }
        O::Merge { path, value } => merge_path(q, path, value),
        O::Test { .. } | O::Splice { .. } | O::Incr { .. } => Ok(q.clone()),
    }
}

/// Whether `y` can move or remove the location `q` at all (see [`map_path`]): `false` is
/// certain and lets a caller skip the mapping; `true` only means it may. An operation reaches
/// only the locations inside what it writes, and for an array item, inside the array (whose
/// later items shift).
pub(super) fn may_move(q: &Pointer, y: &Operation, shape: Shape) -> bool {
    use Operation as O;
    let reaches = |at: &Pointer, in_array: bool| {
        let scope = at.tokens();
        let scope = if in_array {
            scope.split_last().map_or(scope, |(_, parent)| parent)
        } else {
            scope
        };
        q.tokens().starts_with(scope)
    };
    match y {
        O::Test { .. } | O::Splice { .. } | O::Incr { .. } => false,
        O::Replace { path, .. } | O::Merge { path, .. } => reaches(path, false),
        O::Add { path, .. } | O::Copy { path, .. } | O::Remove { path } => {
            reaches(path, shape.path_in_array)
        }
        O::Move { from, path, .. } => {
            reaches(from, shape.from_in_array) || reaches(path, shape.path_in_array)
        }
    }
}

/// `q` after a merge patch was applied at `at`: gone if the patch removed (`null`) or replaced
/// (a non-object) something on the way to it. (A merge can also replace a non-object target by
/// an object; that takes the document to know, and is left as it is.)
fn merge_path(q: &Pointer, at: &Pointer, patch: &Value) -> Result<Pointer, DropReason> {
    if !at.is_prefix_of(q) {
        return Ok(q.clone());
    }
    let mut patch = patch;
    for token in q.tokens().iter().skip(at.len()) {
        let Value::Object(members) = patch else {
            return Err(DropReason::Replaced);
        };
        match members.get(token) {
            None => return Ok(q.clone()),
            Some(Value::Null) => return Err(DropReason::Removed),
            Some(inner) => patch = inner,
        }
    }
    Ok(q.clone())
}

/// The index token of `q` at the depth of `slot`'s parent array, if `q` passes through it.
fn index_through(q: &Pointer, slot: &Pointer) -> Option<(usize, usize, usize)> {
    let depth = slot.len().checked_sub(1)?;
    if q.len() <= depth || q.tokens().get(..depth) != slot.tokens().get(..depth) {
        return None;
    }
    let j = parse_slot(q.tokens().get(depth)?)?;
    let i = parse_slot(slot.tokens().get(depth)?)?;
    Some((depth, i, j))
}

fn parse_slot(token: &str) -> Option<usize> {
    if token == "-" {
        Some(usize::MAX)
    } else {
        token.parse().ok()
    }
}

fn with_index(q: &Pointer, depth: usize, j: usize) -> Pointer {
    let mut tokens = q.tokens().to_vec();
    if let Some(t) = tokens.get_mut(depth) {
        *t = Token::from(j.to_string());
    }
    Pointer::from_tokens(tokens)
}

/// `q` after an item was inserted at `slot` (an array index path).
fn insert_shift(q: &Pointer, slot: &Pointer, insert: bool, side: Side) -> Pointer {
    let Some((depth, i, j)) = index_through(q, slot) else {
        return q.clone();
    };
    if j == usize::MAX || i == usize::MAX {
        return q.clone();
    }
    let own_slot = insert && q.len() == depth + 1;
    if j > i || (j == i && !(own_slot && side == Side::Earlier)) {
        with_index(q, depth, j + 1)
    } else {
        q.clone()
    }
}

/// `q` after the item at `slot` was removed (`q` is not inside it).
fn remove_shift(q: &Pointer, slot: &Pointer) -> Pointer {
    match index_through(q, slot) {
        Some((depth, i, j)) if j != usize::MAX && j > i => with_index(q, depth, j - 1),
        _ => q.clone(),
    }
}
