//! Rebasing a sequence of operations over another: the list-against-list transform.
//!
//! Rebasing one operation `x` over one operation `y` is [`rebase_op`]. A change is a sequence,
//! and so is what it is rebased over, and each operation of a sequence is defined on the
//! document its predecessors left. So operation `j` of B must be rebased over A *as already
//! carried past B's operations before `j`*, and each operation of A over B's operations as
//! already rebased past A's earlier ones; an operation that splits into pieces (a splice cut by
//! another edit) is a sequence of its own, and the same holds for each piece. [`transform`]
//! does exactly that, recursively, so both sides end up defined on the document both
//! sequences made:
//!
//! ```text
//!     doc ── xs ──▶ · ── ys' ──▶ ·
//!     doc ── ys ──▶ · ── xs' ──▶ ·
//! ```
//!
//! Everything that happens to `x` on the way (it overwrote a write of `y`, it was dropped) is
//! collected in [`Met`], with the tag of the `y` that caused it, so that the Authority can name
//! whose edit lost.

use std::borrow::Cow;

use super::paths::map_path;
use super::{
    DropReason, Placed, Rebased, Shape, Side, dest_in_node_after, expressible, independent,
    rebase_op,
};
use crate::op::Operation;
use crate::value::Value;

/// An operation rebased over, with a tag saying where it came from (the change, for the
/// Authority; nothing, for a replica that rebases over one change at a time). Borrowed until
/// rebasing changes it, so that rebasing over a long log copies only what it rewrites.
pub(crate) type Over<'a, T> = (Cow<'a, Placed>, T);

/// What happened to one operation while it was rebased, by the tags of the operations that
/// caused it.
#[derive(Debug)]
pub(crate) struct Met<T> {
    /// The operations whose writes a piece of it now overwrites, each tag once, in order.
    pub(crate) overwrote: Vec<T>,
    /// Why a piece was dropped, and by which operation (the last drop met).
    pub(crate) dropped: Option<(DropReason, T)>,
    /// The moves that put something inside what a piece overwrites, each tag once: the
    /// operation's author had not seen it there.
    pub(crate) relocated: Vec<T>,
}

impl<T> Default for Met<T> {
    fn default() -> Met<T> {
        Met {
            overwrote: Vec::new(),
            dropped: None,
            relocated: Vec::new(),
        }
    }
}

/// Rebases `x` over the sequence `over` (on `side` of it) and carries `over` past `x`, in
/// place. Returns `x`'s pieces: one, several (a split splice), or none (dropped, or nothing left
/// to do). The common case, an `x` that nothing in `over` touches, costs one check per
/// operation and copies nothing.
pub(crate) fn rebase_carrying<'a, T: Copy + PartialEq>(
    x: &Placed,
    over: &mut Vec<Over<'a, T>>,
    side: Side,
    met: &mut Met<T>,
) -> Vec<Placed> {
    // Kept in case x is dropped (cheap: the operations are mostly borrowed).
    let before = over.clone();
    let dropped_before = met.dropped;
    met.dropped = None;
    let pieces = rebase_through(x.clone(), over, side, met);
    if pieces.is_empty()
        && let Some((_, tag)) = met.dropped
    {
        // x is dropped, but the operations after it were made on the document it left: undo
        // it first for them, then what happened concurrently applies as it would have without x.
        let undone = undo_for_paths(x);
        *over = undone
            .into_iter()
            .map(|p| (Cow::Owned(p), tag))
            .chain(before)
            .collect();
    }
    met.dropped = met.dropped.or(dropped_before);
    expressible(pieces)
}

/// The loop of [`rebase_carrying`]: `x` over `over`, `over` carried past `x`.
fn rebase_through<T: Copy + PartialEq>(
    x: Placed,
    over: &mut Vec<Over<'_, T>>,
    side: Side,
    met: &mut Met<T>,
) -> Vec<Placed> {
    let mut pieces = vec![x];
    let mut i = 0;
    while i < over.len() && !pieces.is_empty() {
        let Some(item) = over.get(i) else { break };
        if let [piece] = pieces.as_slice()
            && untouched(piece, &item.0)
        {
            i += 1;
            continue;
        }
        let item = item.clone();
        let (rebased, carried) = transform(pieces, vec![item], side, met);
        pieces = rebased;
        let n = carried.len();
        over.splice(i..=i, carried);
        i += n;
    }
    pieces
}

/// Rebases the sequence `xs` over the sequence `ys` and `ys` over `xs`; `side` is where `xs`
/// stands in the server's order. Returns both, each defined after the other.
pub(crate) fn transform<'a, T: Copy + PartialEq>(
    xs: Vec<Placed>,
    ys: Vec<Over<'a, T>>,
    side: Side,
    met: &mut Met<T>,
) -> (Vec<Placed>, Vec<Over<'a, T>>) {
    if xs.is_empty() || ys.is_empty() {
        return (xs, ys);
    }
    if xs.len() > 1 {
        // Each x over ys as carried past the xs before it.
        let mut ys = ys;
        let mut out = Vec::with_capacity(xs.len());
        for x in xs {
            let (rebased, carried) = transform(vec![x], ys, side, met);
            out.extend(rebased);
            ys = carried;
        }
        return (out, ys);
    }
    if ys.len() > 1 {
        // One x over each y in turn, each y carried past x as rebased over the ys before it.
        let mut xs = xs;
        let mut out = Vec::with_capacity(ys.len());
        for y in ys {
            let (rebased, carried) = transform(xs, vec![y], side, met);
            xs = rebased;
            out.extend(carried);
        }
        return (xs, out);
    }
    match (xs.into_iter().next(), ys.into_iter().next()) {
        (Some(x), Some(y)) => pair(x, y, side, met),
        // Unreachable: both have exactly one element here.
        (x, y) => (x.into_iter().collect(), y.into_iter().collect()),
    }
}

/// One operation against one: `x` rebased over `y`, and `y` carried past `x`.
fn pair<'a, T: Copy + PartialEq>(
    x: Placed,
    (y, tag): Over<'a, T>,
    side: Side,
    met: &mut Met<T>,
) -> (Vec<Placed>, Vec<Over<'a, T>>) {
    let x_after = match rebase_op(&x, &y, side) {
        Rebased::Same => None,
        Rebased::Keep(ops) => Some(ops.into_iter().map(|op| after(&x, op, &y, side)).collect()),
        Rebased::Overwrites(op) => {
            if !y.shape.undone && !met.overwrote.contains(&tag) {
                met.overwrote.push(tag);
            }
            let moved_inside = matches!(&y.op, Operation::Move { path, .. }
                if x.op.path().is_proper_prefix_of(path));
            if moved_inside && !y.shape.undone && !met.relocated.contains(&tag) {
                met.relocated.push(tag);
            }
            Some(vec![after(&x, op, &y, side)])
        }
        Rebased::Drop(reason) => {
            met.dropped = Some((reason, tag));
            Some(Vec::new())
        }
    };
    if side == Side::Later
        && let Some(carried) = past_a_cycle(&x, x_after.as_deref(), &y, tag)
    {
        return (x_after.unwrap_or_else(|| vec![x]), carried);
    }
    let y_after = match rebase_op(&y, &x, side.flip()) {
        Rebased::Same => None,
        Rebased::Keep(ops) => Some(
            ops.into_iter()
                .map(|op| (Cow::Owned(after(&y, op, &x, side.flip())), tag))
                .collect(),
        ),
        Rebased::Overwrites(op) => Some(vec![(Cow::Owned(after(&y, op, &x, side.flip())), tag)]),
        Rebased::Drop(_) => Some(Vec::new()),
    };
    (
        x_after.unwrap_or_else(|| vec![x]),
        y_after.unwrap_or_else(|| vec![(y, tag)]),
    )
}

/// `y` carried past the move `x` (rebased to `x_after`, `None` if unchanged) when `x` is, or
/// becomes, a cycle: its destination inside the node it moves (see `Shape::dest_in_node`). A
/// cycle cannot happen where it stands, so what comes after it is carried as if it had not
/// happened: undone where `y` made it one, and happening again once `y` takes its destination
/// out of the node. `None` when no cycle is involved.
fn past_a_cycle<'a, T: Copy>(
    x: &Placed,
    x_after: Option<&[Placed]>,
    y: &Cow<'a, Placed>,
    tag: T,
) -> Option<Vec<Over<'a, T>>> {
    let cycle = |p: &Placed| matches!(p.op, Operation::Move { .. }) && p.shape.dest_in_node;
    if !matches!(x.op, Operation::Move { .. }) {
        return None;
    }
    // x as it is after y: one move, or nothing left of it (or several pieces).
    let now = match x_after {
        Some([one]) => Some(one),
        Some(_) => None,
        None => Some(x),
    };
    match (cycle(x), now) {
        (false, Some(now)) if cycle(now) => {
            let undo = undo_for_paths(x).into_iter().map(|p| (Cow::Owned(p), tag));
            Some(undo.chain([(y.clone(), tag)]).collect())
        }
        (false, _) => None,
        (true, Some(now)) if !cycle(now) => {
            Some(vec![(y.clone(), tag), (Cow::Owned(now.clone()), tag)])
        }
        (true, _) => Some(vec![(y.clone(), tag)]),
    }
}

/// What undoes `x` as far as locations go: an operation with `x`'s inverse effect on paths,
/// array indexes and string positions. Values are placeholders: the result only maps the
/// operations made after `x` back to the document before it, it is never applied.
fn undo_for_paths(x: &Placed) -> Vec<Placed> {
    use Operation as O;
    let shape = x.shape;
    let placed = |op: Operation, shape: Shape| {
        vec![Placed {
            op,
            shape: Shape {
                undone: true,
                ..shape
            },
        }]
    };
    match &x.op {
        // Onto a member that was there, it only replaced the member's value: the member stays,
        // and what was inside the value it put there is gone.
        O::Add { path, .. } | O::Copy { path, .. } if shape.replaces_member => {
            placed(O::replace(path.clone(), Value::Null), Shape::default())
        }
        O::Add { path, .. } | O::Copy { path, .. } => {
            placed(O::Remove { path: path.clone() }, shape)
        }
        O::Remove { path } => placed(O::add(path.clone(), Value::Null), shape),
        O::Replace { path, .. } | O::Merge { path, .. } => {
            placed(O::replace(path.clone(), Value::Null), shape)
        }
        O::Move { from, path, .. } => placed(
            O::Move {
                from: path.clone(),
                path: from.clone(),
                index: None,
            },
            Shape {
                path_in_array: shape.from_in_array,
                from_in_array: shape.path_in_array,
                ..Shape::default()
            },
        ),
        O::Splice {
            path,
            pos,
            del,
            ins,
        } => placed(
            O::Splice {
                path: path.clone(),
                pos: *pos,
                del: ins.chars().count(),
                ins: "\u{fffc}".repeat(*del),
            },
            shape,
        ),
        O::Test { .. } | O::Incr { .. } => Vec::new(),
    }
}

/// Whether rebasing leaves both `x` and `y` as they are (the common case, decided without
/// allocating).
fn untouched(x: &Placed, y: &Placed) -> bool {
    independent(&x.op, &y.op, y.shape) && independent(&y.op, &x.op, x.shape)
}

/// `op`, what `before` became after `through`, with its shape: a node that `through` moved
/// now sits in the container `through` moved it to.
fn after(before: &Placed, op: Operation, through: &Placed, side: Side) -> Placed {
    if op == through.op {
        // The other operation applied again after this one (a merge patch over a value this
        // one set): it merges into what this one wrote, replacing it unless that is an object.
        let replaces = match &before.op {
            Operation::Replace { value, .. } | Operation::Add { value, .. } => {
                !matches!(value, Value::Object(_))
            }
            _ => true,
        };
        return Placed {
            op,
            shape: Shape {
                replaces_target: replaces,
                ..through.shape
            },
        };
    }
    let mut shape = before.shape;
    shape.dest_in_node = dest_in_node_after(before, &op, through, side);
    // What is left of a move after a later write won its destination is the removal of its
    // source (unless it is the removal of the destination member itself).
    if let (Operation::Move { from, path: to, .. }, Operation::Remove { path }) = (&before.op, &op)
    {
        let at_source = from == path
            || map_path(from, &through.op, through.shape, false, Side::Later).as_ref() == Ok(path);
        let at_destination = !at_source && !shape.path_in_array && path.last() == to.last();
        if !at_destination {
            shape.path_in_array = shape.from_in_array;
        }
        shape.from_in_array = false;
    }
    if let Operation::Move { from, path: to, .. } = &through.op {
        if before.op.path() == from && op.path() == to {
            shape.path_in_array = through.shape.path_in_array;
        }
        if before.op.from() == Some(from) && op.from() == Some(to) {
            shape.from_in_array = through.shape.path_in_array;
        }
    }
    Placed { op, shape }
}
