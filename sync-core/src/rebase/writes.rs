//! What a write does to other writes: two writes of one place (the conflict table's rows about
//! one location), a write around what another wrote (a replaced or removed ancestor, a merge
//! patch naming members), and what a copy made of an edited value.

use std::borrow::Cow;

use super::paths::map_path;
use super::{DropReason, Rebased, Shape, Side, is_index, moved_destination, node_place};
use crate::op::Operation;
use crate::pointer::Pointer;
use crate::value::Value;

/// Whether `y` is a merge patch of an ancestor of `place` that gives it a value that is not an
/// object (which replaces what was there).
pub(super) fn merge_sets(y: &Operation, shape: Shape, place: &Pointer) -> bool {
    let Operation::Merge { path, value } = y else {
        return false;
    };
    if !path.is_proper_prefix_of(place) || shape.replaces_target {
        return false;
    }
    let mut patch = value;
    for token in place.tokens().iter().skip(path.len()) {
        let Value::Object(members) = patch else {
            return false;
        };
        match members.get(token) {
            Some(inner) => patch = inner,
            None => return false,
        }
    }
    !matches!(patch, Value::Object(_) | Value::Null)
}

/// Whether `x` sets or removes a whole value strictly inside which `y` wrote something (a value,
/// an item, an edit), so that `x` applied after `y` discards `y`'s write. An `add`, `move` or
/// `copy` whose last token could be an array index is taken to insert, not to replace.
pub(super) fn sets_around(x: &Operation, y: &Operation, y_shape: Shape) -> bool {
    use Operation as O;
    let whole = match x {
        O::Replace { .. } | O::Remove { .. } => true,
        O::Merge { value, .. } => !matches!(value, Value::Object(_)),
        O::Add { path, .. } | O::Move { path, .. } | O::Copy { path, .. } => !is_index(path),
        O::Test { .. } | O::Splice { .. } | O::Incr { .. } => false,
    };
    let writes = !matches!(y, O::Remove { .. } | O::Test { .. });
    if !writes || !x.path().is_proper_prefix_of(y.path()) {
        return false;
    }
    match x {
        // A merge patch object replaces only the members it names with a non-object (`null`
        // removes them), and any array it reaches (y's parent, when that is one).
        O::Merge { value, .. } if !whole => {
            let mut patch = value;
            let below = y.path().tokens().iter().skip(x.path().len());
            let last = y.path().len() - x.path().len() - 1;
            for (i, token) in below.enumerate() {
                if i == last && y_shape.path_in_array && matches!(patch, Value::Object(_)) {
                    return true;
                }
                match patch {
                    Value::Object(members) => match members.get(token) {
                        Some(inner) => patch = inner,
                        None => return false,
                    },
                    _ => return true,
                }
            }
            merges_over(patch, y)
        }
        _ => whole,
    }
}

/// `x` as it applies inside the copy `y` made, when `x` edits what `y` copied: the same edit
/// with the copied source's prefix replaced by the copy's place (as `x` itself leaves it). A
/// move out of the source removes the node from the copy too; a move into it copies the node
/// into the copy. A removal of the source itself has no twin.
pub(super) fn into_copy(
    x: &Operation,
    x_shape: Shape,
    y: &Operation,
    y_shape: Shape,
    mapped: &[Operation],
) -> Option<Operation> {
    let Operation::Copy { from, path: to } = y else {
        return None;
    };
    if matches!(x, Operation::Test { .. }) {
        return None;
    }
    let inside = |p: &Pointer| from.is_proper_prefix_of(p);
    // Where the copy is once x, as rebased over it, applied.
    let copy = mapped.iter().try_fold(to.clone(), |at, op| {
        map_path(&at, op, x_shape, y_shape.path_in_array, Side::Later).ok()
    })?;
    let twin_of = |p: &Pointer| {
        let mut tokens = copy.tokens().to_vec();
        tokens.extend(p.tokens().iter().skip(from.len()).cloned());
        Pointer::from_tokens(tokens)
    };
    // At the source itself: an edit of the copied value (not its removal, nor an insertion
    // before it into its array).
    let inserts = x_shape.path_in_array
        && matches!(
            x,
            Operation::Add { .. } | Operation::Move { .. } | Operation::Copy { .. }
        );
    // A move's destination where it is while the node is still there (see `node_place`).
    let dest = node_place(x, x_shape);
    let at_source = dest == *from && !inserts && !matches!(x, Operation::Remove { .. });
    // x writes the source whole (sets it, or moves or copies a node onto it): the copy then
    // holds what x wrote, in place of what it held. Carried operations only map paths, so a
    // placeholder says so (an insertion would shift the copy's array).
    if at_source
        && matches!(
            x,
            Operation::Add { .. } | Operation::Move { .. } | Operation::Copy { .. }
        )
    {
        return Some(Operation::Replace {
            path: copy,
            value: Value::Null,
        });
    }
    match (x.from().map(inside), inside(&dest) || at_source) {
        (None | Some(true), true) => {
            let mut twin = x.clone();
            twin.map_paths(|p| *p = twin_of(p));
            Some(twin)
        }
        (Some(true), false) if matches!(x, Operation::Move { .. }) => Some(Operation::Remove {
            path: twin_of(x.from()?),
        }),
        (Some(false), true) => Some(Operation::Copy {
            from: x.path().clone(),
            path: twin_of(&dest),
        }),
        _ => None,
    }
}

/// Whether the merge patch `patch`, applied where `y` wrote, replaces or removes something `y`
/// wrote there. (What `y` wrote is known for values it carries; a moved or copied node is taken
/// to survive an object patch.)
pub(super) fn merges_over(patch: &Value, y: &Operation) -> bool {
    /// Whether merging `patch` into `value` replaces or removes part of it.
    fn replaces(patch: &Value, value: &Value) -> bool {
        let (Value::Object(patch), Value::Object(members)) = (patch, value) else {
            return true;
        };
        patch.iter().any(|(key, part)| match members.get(key) {
            None => false,
            Some(inner) => !matches!(part, Value::Object(_)) || replaces(part, inner),
        })
    }
    match (patch, y) {
        (_, Operation::Add { value, .. } | Operation::Replace { value, .. }) => {
            replaces(patch, value)
        }
        (Value::Object(_), Operation::Splice { .. } | Operation::Incr { .. }) => true,
        (Value::Object(_), _) => false,
        _ => true,
    }
}

/// `x`, a move or copy from `from` onto the member `path`, after `y` moved that member into
/// an array: the node is replaced where it is now, by a removal and an insertion at its index.
pub(super) fn replace_in_array(
    x: &Operation,
    from: &Pointer,
    path: &Pointer,
    y: &Operation,
    shape: Shape,
    side: Side,
) -> Rebased {
    let place = match map_path(path, y, shape, false, side) {
        Ok(place) => place,
        Err(reason) => return Rebased::Drop(reason),
    };
    let removal = Operation::Remove {
        path: place.clone(),
    };
    let in_array = Shape {
        path_in_array: true,
        ..Shape::default()
    };
    let from = map_path(from, y, shape, false, side)
        .and_then(|from| map_path(&from, &removal, in_array, false, Side::Later));
    let from = match from {
        Ok(from) => from,
        Err(reason) => return Rebased::Drop(reason),
    };
    let insert = match x {
        Operation::Move { index, .. } => Operation::Move {
            from,
            path: place,
            index: *index,
        },
        _ => Operation::Copy { from, path: place },
    };
    Rebased::Keep(vec![removal, insert])
}

/// What a write does to the value at its path.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    /// Sets the whole value (add to a member or the root, replace, copy or move onto it).
    Set,
    /// Edits the value in place (splice, incr, merge).
    Edit,
    /// Removes it.
    Remove,
}

/// The place `op` writes (as a whole value) and how, for operations that write one. The place
/// is read in the document `op` applies to (a move's destination, written for the document
/// without the moved node, is read where that place is while the node is still there).
pub(super) fn write_of(
    op: &Operation,
    shape_in_array: bool,
    shape_replaces: bool,
) -> Option<(Cow<'_, Pointer>, Write)> {
    use Operation as O;
    let at = |path| Some(Cow::Borrowed(path));
    let (path, write) = match op {
        // An add or a move/copy into an array inserts a new item rather than writing one.
        O::Move { from, path, .. } if !shape_in_array => {
            // (A destination written inside the source is no move to read that way: it is
            // the placeholder that undoes one, as far as paths go.)
            let path = match moved_destination(op) {
                Some(at) if !from.is_proper_prefix_of(path) => Cow::Owned(at),
                _ => Cow::Borrowed(path),
            };
            return Some((path, Write::Set));
        }
        O::Add { path, .. } | O::Copy { path, .. } if !shape_in_array => (at(path), Write::Set),
        O::Replace { path, .. } => (at(path), Write::Set),
        O::Remove { path } => (at(path), Write::Remove),
        // A merge patch that is not an object replaces its target whole.
        O::Merge { path, value } if !matches!(value, Value::Object(_)) || shape_replaces => {
            (at(path), Write::Set)
        }
        O::Splice { path, .. } | O::Incr { path, .. } | O::Merge { path, .. } => {
            (at(path), Write::Edit)
        }
        _ => (None, Write::Set),
    };
    path.map(|path| (path, write))
}

/// `x`, a write of a whole value, after a later write `y` of the same place won: gone, except
/// that a move still took its node away from where it was.
pub(super) fn overwritten(x: &Operation, y: &Operation, shape: Shape) -> Rebased {
    match x {
        Operation::Move { from, .. } => match map_path(from, y, shape, false, Side::Earlier) {
            Ok(path) => Rebased::Keep(vec![Operation::Remove { path }]),
            Err(reason) => Rebased::Drop(reason),
        },
        _ => Rebased::Drop(DropReason::Overwritten),
    }
}

/// The rows of the conflict table about two writes to one location (after mapping x's path).
pub(super) fn same_target(
    x: &Operation,
    y: &Operation,
    shape: Shape,
    side: Side,
) -> Option<Rebased> {
    use Operation as O;
    // An x that inserts into an array never collides with a write: it makes a new item. When
    // x's path is y's path, y's shape says whether their parent is an array.
    let x_inserts =
        matches!(x, O::Add { .. } | O::Copy { .. } | O::Move { .. }) && shape.path_in_array;
    let (yp, yw) = write_of(y, shape.path_in_array, shape.replaces_target)?;
    if x_inserts || *x.path() != *yp {
        return None;
    }
    let xw = match x {
        O::Add { .. } | O::Replace { .. } | O::Copy { .. } | O::Move { .. } => Write::Set,
        O::Remove { .. } => Write::Remove,
        O::Splice { .. } | O::Incr { .. } | O::Merge { .. } => Write::Edit,
        O::Test { .. } => return None,
    };
    let later = side == Side::Later;
    Some(match (xw, yw) {
        // Two writes of the whole value: the later one wins...
        (Write::Set | Write::Remove, Write::Set | Write::Edit) => {
            if later {
                Rebased::Overwrites(x.clone())
            } else if xw == Write::Remove || yw == Write::Edit {
                // ...except that a removal stands, and so does a set under a later edit: a
                // later write made without seeing them is dropped (below), so they still apply
                // after it. A later merge is not dropped: it applies to x's value.
                match y {
                    O::Merge { .. } if xw == Write::Set => {
                        Rebased::Keep(vec![x.clone(), y.clone()])
                    }
                    _ => Rebased::Keep(vec![x.clone()]),
                }
            } else {
                overwritten(x, y, shape)
            }
        }
        // y removed it: an edit made without seeing the removal never resurrects it.
        (Write::Set, Write::Remove) if later => Rebased::Drop(DropReason::Removed),
        (Write::Set, Write::Remove) => overwritten(x, y, shape),
        (Write::Remove, Write::Remove) => Rebased::Keep(Vec::new()),
        // An edit in place of a value someone replaced or removed: dropped (the splice row),
        // whichever came first, except that a merge applies to a replacement value.
        (Write::Edit, Write::Set) => match x {
            O::Merge { value, .. } if later && merges_over(value, y) => {
                Rebased::Overwrites(x.clone())
            }
            O::Merge { .. } if later => Rebased::Keep(vec![x.clone()]),
            _ => Rebased::Drop(if later {
                DropReason::Replaced
            } else {
                DropReason::Overwritten
            }),
        },
        (Write::Edit, Write::Remove) => Rebased::Drop(DropReason::Removed),
        // Two edits in place both apply (incr + incr; splices are merged before this point).
        (Write::Edit, Write::Edit) => Rebased::Keep(vec![x.clone()]),
    })
}
