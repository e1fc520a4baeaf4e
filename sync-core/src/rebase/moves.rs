//! Where a move's destination is. RFC 6902 names it in the document *without* the moved node,
//! while every other location names a place in the document with it; these turn one into the
//! other, follow a destination through another operation, and tell a cycle (a destination
//! inside the moved node itself) from the same words naming the next item of the list.

use super::paths::map_path;
use super::{DropReason, Placed, Shape, Side, is_index};
use crate::op::Operation;
use crate::pointer::{Pointer, Token};

/// For a move out of an array, its destination as it reads in the document *with* the moved
/// item still there (the destination names a place in the document without it): where it
/// passes through that array at or after the item, one index further. `None` when that is the
/// destination as written.
pub(crate) fn moved_destination(x: &Operation) -> Option<Pointer> {
    let Operation::Move { from, path, .. } = x else {
        return None;
    };
    let (index, parent) = from.tokens().split_last()?;
    let index: usize = index.parse().ok()?;
    let depth = parent.len();
    let tokens = path.tokens();
    if tokens.len() <= depth || tokens.get(..depth) != Some(parent) {
        return None;
    }
    let at: usize = tokens.get(depth)?.parse().ok()?;
    (at >= index).then(|| {
        let mut tokens = tokens.to_vec();
        if let Some(t) = tokens.get_mut(depth) {
            *t = Token::from((at + 1).to_string());
        }
        Pointer::from_tokens(tokens)
    })
}

/// Maps a move's destination through `y`.
///
/// The destination names a place in the document *without* the moved node (RFC 6902 removes
/// first), while `y` is written for the document with it. So the destination is read where
/// that place is while the node is still there ([`node_place`]), followed through `y` like any
/// place, and named again in the document without the node (now at `mapped_from`, its source
/// after `y`). A destination that `y` carries inside the moved node itself is a cycle: it stays
/// named in the document with the node (`Shape::dest_in_node`), follows `y`s as any place does,
/// and applying it reports the cycle, unless a later `y` takes that place out of the node again.
pub(super) fn map_destination(
    x: &Operation,
    x_shape: Shape,
    mapped_from: &Pointer,
    y: &Operation,
    shape: Shape,
    side: Side,
) -> Result<Pointer, DropReason> {
    let Operation::Move { path: dest, .. } = x else {
        return Ok(x.path().clone());
    };
    let insert = is_index(dest);
    let there = map_path(&node_place(x, x_shape), y, shape, insert, side)?;
    if mapped_from.is_proper_prefix_of(&there) {
        return Ok(there);
    }
    let removal = Operation::Remove {
        path: mapped_from.clone(),
    };
    let removal_shape = Shape {
        path_in_array: x_shape.from_in_array,
        ..Shape::default()
    };
    map_path(&there, &removal, removal_shape, insert, Side::Later)
}

/// A move's destination named in the document with the moved node still there: as written for
/// a cycle, otherwise one index further where it passes through the node's array after it.
pub(super) fn node_place(x: &Operation, x_shape: Shape) -> Pointer {
    let shifted = (x_shape.from_in_array && !x_shape.dest_in_node)
        .then(|| moved_destination(x))
        .flatten();
    shifted.unwrap_or_else(|| x.path().clone())
}

/// Whether `op`, what the move `before` became after `through`, has its destination inside the
/// node it moves (see [`map_destination`]).
pub(crate) fn dest_in_node_after(
    before: &Placed,
    op: &Operation,
    through: &Placed,
    side: Side,
) -> bool {
    let (Operation::Move { path: dest, .. }, Operation::Move { from: now, .. }) = (&before.op, op)
    else {
        return false;
    };
    let place = node_place(&before.op, before.shape);
    map_path(&place, &through.op, through.shape, is_index(dest), side)
        .is_ok_and(|there| now.is_proper_prefix_of(&there))
}

/// `op`, which writes the place the move `y` writes, with that place named as it is after `y`
/// (a move's destination names a place in the document without the moved node, `op`'s the
/// place in the document with it).
pub(super) fn at_moved_place(mut op: Operation, y: &Operation) -> Operation {
    if let Operation::Move { from, path, .. } = y
        && !from.is_proper_prefix_of(path)
        && let Some(before) = moved_destination(y)
        && *op.path() == before
    {
        use Operation as O;
        match &mut op {
            O::Add { path: at, .. }
            | O::Remove { path: at }
            | O::Replace { path: at, .. }
            | O::Move { path: at, .. }
            | O::Copy { path: at, .. }
            | O::Test { path: at, .. }
            | O::Merge { path: at, .. }
            | O::Splice { path: at, .. }
            | O::Incr { path: at, .. } => *at = path.clone(),
        }
    }
    op
}

/// `pieces` as RFC 6902 can write them. A move rebased over another can end up taking its node
/// into the array item that follows it: once the node has left, that item has the node's index,
/// so the destination's words start with the node's own (`move /a/0` into `/a/0/c`), which reads
/// as a move into the node itself and is refused as a cycle. Such a move is written as two with
/// the same effect: the node first steps past that item, then moves from there.
pub(crate) fn expressible(pieces: Vec<Placed>) -> Vec<Placed> {
    if !pieces.iter().any(reads_as_cycle) {
        return pieces;
    }
    pieces
        .into_iter()
        .flat_map(|p| match (reads_as_cycle(&p), &p.op) {
            (true, Operation::Move { from, path, index }) => {
                let past = from
                    .tokens()
                    .split_last()
                    .and_then(|(i, parent)| Some((i.parse::<usize>().ok()? + 1, parent)))
                    .map(|(next, parent)| {
                        Pointer::from_tokens(
                            parent
                                .iter()
                                .cloned()
                                .chain([Token::from(next.to_string())]),
                        )
                    });
                let Some(past) = past else { return vec![p] };
                let step = Placed {
                    op: Operation::Move {
                        from: from.clone(),
                        path: past.clone(),
                        index: None,
                    },
                    shape: Shape {
                        path_in_array: true,
                        from_in_array: true,
                        ..Shape::default()
                    },
                };
                let rest = Placed {
                    op: Operation::Move {
                        from: past,
                        path: path.clone(),
                        index: *index,
                    },
                    shape: p.shape,
                };
                vec![step, rest]
            }
            _ => vec![p],
        })
        .collect()
}

/// A move out of an array whose destination starts with the words of its source although it
/// is not a cycle (see [`expressible`]).
fn reads_as_cycle(p: &Placed) -> bool {
    matches!(&p.op, Operation::Move { from, path, .. } if from.is_proper_prefix_of(path))
        && p.shape.from_in_array
        && !p.shape.dest_in_node
}
