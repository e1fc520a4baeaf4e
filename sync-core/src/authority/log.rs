//! The logged form of operations: `-` resolved, `merge` expanded, shapes read as they apply.

use crate::apply::{ApplyError, apply_op, rollback};
use crate::op::{Change, Operation};
use crate::rebase::{Placed, Shape};
use crate::value::Value;

/// The value an operation carries (what a dropped one would have written).
pub(crate) fn carried_value(op: &Operation) -> Option<Value> {
    match op {
        Operation::Add { value, .. }
        | Operation::Replace { value, .. }
        | Operation::Merge { value, .. } => Some(value.clone()),
        Operation::Splice { ins, .. } => Some(Value::from(ins.as_str())),
        Operation::Incr { by, .. } => Some(Value::Number(by.clone())),
        _ => None,
    }
}

/// `op` with an end-of-array `-` replaced by the index it names in `doc` (so that everyone
/// rebases over the same index). Operations are canonical before anything is rebased over them.
pub fn canonical(mut op: Operation, doc: &Value) -> Operation {
    let (path, removing) = match &mut op {
        Operation::Add { path, .. } | Operation::Copy { path, .. } => (path, None),
        Operation::Move { from, path, .. } => (path, from.parent()),
        _ => return op,
    };
    if path.last() != Some("-") {
        return op;
    }
    let parent = path.parent().unwrap_or_default();
    if let Some(Value::Array(items)) = parent.resolve(doc) {
        // A move out of the same array leaves one item fewer before the insertion.
        let shrink = removing.as_ref() == Some(&parent);
        let index = items.len().saturating_sub(usize::from(shrink));
        path.pop();
        path.push(index.to_string());
    }
    op
}

/// The logged form of an applied operation: as it is, except that `merge` becomes the writes it
/// made (so that everyone rebases over plain writes).
pub(super) fn expand(op: Operation, shape: Shape, undo: &[Operation], doc: &Value) -> Vec<Placed> {
    if !matches!(op, Operation::Merge { .. }) {
        return vec![Placed { op, shape }];
    }
    undo.iter()
        .map(|inverse| {
            let current = |path: &crate::Pointer| path.resolve(doc).cloned().unwrap_or_default();
            let op = match inverse {
                Operation::Remove { path } => Operation::Add {
                    path: path.clone(),
                    value: current(path),
                    index: None,
                },
                Operation::Add { path, .. } => Operation::Remove { path: path.clone() },
                other => Operation::Replace {
                    path: other.path().clone(),
                    value: current(other.path()),
                },
            };
            // A merge writes object members only.
            Placed {
                op,
                shape: Shape::default(),
            }
        })
        .collect()
}

/// Applies logged operations (already canonical) and returns them placed, with the inverse.
pub(super) fn place_and_apply(
    doc: &mut Value,
    ops: Vec<Operation>,
) -> Result<(Vec<Placed>, Change), ApplyError> {
    let mut undo = Vec::new();
    let mut placed = Vec::with_capacity(ops.len());
    for (index, op) in ops.into_iter().enumerate() {
        let shape = Shape::of(&op, doc);
        if let Err(kind) = apply_op(doc, &op, &mut undo) {
            rollback(doc, &undo);
            return Err(ApplyError::new(index, &op, kind));
        }
        placed.push(Placed { op, shape });
    }
    undo.reverse();
    Ok((placed, Change(undo)))
}

/// Applies a change as its author made it (`-` resolved, as [`canonical`] does) and returns it
/// as the log keeps operations: each `merge` replaced by the writes it made there, with, for
/// each operation returned, the index of the operation it came from. A merge patch means
/// different writes on different documents (an object value merges into an object but replaces
/// anything else, and `null` removes a member only where there is one), so a merge is rebased
/// as what it did where it was made, never reinterpreted in a document its author did not see.
/// On an error nothing is applied.
pub(crate) fn apply_expanded(
    doc: &mut Value,
    ops: Vec<Operation>,
) -> Result<(Vec<Placed>, Change, Vec<usize>), ApplyError> {
    let mut undo = Vec::new();
    let mut placed = Vec::with_capacity(ops.len());
    let mut origins = Vec::with_capacity(ops.len());
    for (index, op) in ops.into_iter().enumerate() {
        let op = canonical(op, doc);
        let shape = Shape::of(&op, doc);
        let start = undo.len();
        if let Err(kind) = apply_op(doc, &op, &mut undo) {
            rollback(doc, &undo);
            return Err(ApplyError::new(index, &op, kind));
        }
        let before = placed.len();
        placed.extend(expand(
            op,
            shape,
            undo.get(start..).unwrap_or_default(),
            doc,
        ));
        origins.extend(std::iter::repeat_n(index, placed.len() - before));
    }
    undo.reverse();
    Ok((placed, Change(undo), origins))
}

/// Applies a change from the log (or from the relay) to `doc`, returning the operations with
/// their shapes and the inverse. Used by replicas for foreign changes.
pub fn apply_placed(
    doc: &mut Value,
    ops: Vec<Operation>,
) -> Result<(Vec<Placed>, Change), ApplyError> {
    place_and_apply(doc, ops)
}
