//! Rebasing: moving an operation past a concurrent one that was sequenced before it.
//!
//! Two replicas edit the same revision; the Authority sequences A first, so B must be rebased
//! over A: rewritten to apply after A with the intent it had. DESIGN.md's conflict table is the
//! contract, row by row:
//!
//! | A (first) | B (rebased) |
//! |---|---|
//! | sets a path | B setting the same path wins; A's value becomes a conflict record |
//! | inserts / removes an array item before B's index | B's index shifts by +1 / -1 |
//! | removes or replaces an ancestor of B's target | B is dropped, with a conflict record |
//! | inserts at B's insertion index | both kept, A's first |
//! | splices the string B splices | both kept, merged character by character |
//! | replaces the string B splices | B's splice dropped |
//! | increments the number B increments | both apply |
//! | moves the item B edits inside | B follows the item |
//! | moves the item B moves | B's destination wins; the item exists once |
//! | removes the item B moves | B dropped; the item stays removed |
//! | moves the item B removes | the item is removed at its new place |
//!
//! A move into its own descendant after rebasing fails when applied (the whole change is
//! rejected), and so does a `test` that no longer holds.
//!
//! Rebasing a *change* (several operations) over another also needs the other direction: each
//! of B's operations is defined after B's earlier ones, so A is carried past them too, with A's
//! priority ([`Side::Earlier`]). Only the Authority's order makes replicas converge; rebasing
//! decides how well intent is kept.
//!
//! A JSON Pointer alone does not say whether `/list/3` indexes an array or names the key `"3"`,
//! so every operation rebased over travels with its [`Shape`], read from the document it applied
//! to.

use std::borrow::Cow;

use crate::op::Operation;

mod list;
mod moves;
mod own_writes;
mod paths;
mod text;
mod writes;

use crate::pointer::Pointer;
use crate::value::Value;
pub(crate) use list::{Met, Over, rebase_carrying, transform};
use moves::{at_moved_place, map_destination, node_place};
pub(crate) use moves::{dest_in_node_after, expressible, moved_destination};
pub(crate) use own_writes::{OwnWrites, overwrites_at};
use paths::map_path;
use text::merge_splices;
pub use text::{TextFollow, follow_text};
use writes::{
    Write, into_copy, merge_sets, overwritten, replace_in_array, same_target, sets_around, write_of,
};

/// Which containers an operation's paths pointed into when it applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shape {
    /// The parent of `path` is an array (so the last token is an index).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub path_in_array: bool,
    /// The parent of `from` (for `move` and `copy`) is an array.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_in_array: bool,
    /// A `merge` whose target was not an object, so that it replaced the target whole.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaces_target: bool,
    /// A `move` whose destination is inside the moved node itself (a cycle, which applying it
    /// refuses): the destination names that place in the document with the node, not in the
    /// document without it as a move's destination otherwise does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dest_in_node: bool,
    /// An `add` or `copy` onto an object member that was there, so that it replaced the
    /// member's value rather than making the member.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaces_member: bool,
    /// Not an edit but what undoes a dropped one as far as locations go (see
    /// `rebase::list`): nobody wrote it, so nobody loses it when it is overwritten.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undone: bool,
}

impl Shape {
    /// The shape of `op` in `doc`, read before `op` is applied to it.
    pub fn of(op: &Operation, doc: &Value) -> Shape {
        let in_array = |p: &Pointer| {
            p.tokens().split_last().is_some_and(|(_, parent)| {
                matches!(
                    crate::pointer::resolve_tokens(doc, parent),
                    Some(Value::Array(_))
                )
            })
        };
        let replaces_target = matches!(op, Operation::Merge { .. })
            && !matches!(
                crate::pointer::resolve_tokens(doc, op.path().tokens()),
                Some(Value::Object(_))
            );
        // A move into its own node is a cycle (see `Shape::dest_in_node`).
        let dest_in_node =
            matches!(op, Operation::Move { from, path, .. } if from.is_proper_prefix_of(path));
        // A move's destination names a place in the document without the moved node: read it
        // where that place is while the node is still there.
        let path = (!dest_in_node).then(|| moved_destination(op)).flatten();
        let path_in_array = in_array(path.as_ref().unwrap_or(op.path()));
        let replaces_member = matches!(op, Operation::Add { .. } | Operation::Copy { .. })
            && !path_in_array
            && crate::pointer::resolve_tokens(doc, op.path().tokens()).is_some();
        Shape {
            path_in_array,
            from_in_array: op.from().is_some_and(in_array),
            replaces_target,
            dest_in_node,
            replaces_member,
            undone: false,
        }
    }
}

/// An operation together with its [`Shape`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The operation.
    pub op: Operation,
    /// Where it pointed when it applied.
    pub shape: Shape,
}

/// Which of two concurrent operations the server sequenced first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The operation being rebased comes after the one it is rebased over (it wins same-place
    /// writes; its inserts go after the other's).
    Later,
    /// The operation being rebased comes first (the other wins same-place writes; its inserts
    /// stay in front).
    Earlier,
}

impl Side {
    fn flip(self) -> Side {
        match self {
            Side::Later => Side::Earlier,
            Side::Earlier => Side::Later,
        }
    }
}

/// Why a rebased operation no longer applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Its target, or an ancestor of it, was removed.
    Removed,
    /// An ancestor of its target (or the string it edits) was replaced.
    Replaced,
    /// A later write to the same place won.
    Overwritten,
}

impl DropReason {
    /// A short explanation for people.
    pub fn describe(self) -> &'static str {
        match self {
            DropReason::Removed => "what it edited was removed",
            DropReason::Replaced => "what it edited was replaced",
            DropReason::Overwritten => "a later edit of the same place won",
        }
    }
}

/// The result of rebasing one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebased {
    /// Unaffected: the operation applies as it is.
    Same,
    /// The operation as it applies now: usually one, two when a splice is split around another
    /// edit, none when it became a no-op.
    Keep(Vec<Operation>),
    /// Kept, and it overwrites what the other operation wrote at the same place: the value found
    /// there before it applies is a conflict record.
    Overwrites(Operation),
    /// No longer applies.
    Drop(DropReason),
}

/// What happened to one operation of a rebased change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Operation `index` (of the rebased change's output) overwrites a concurrent write.
    Overwrites {
        /// Index into [`RebasedChange::ops`].
        index: usize,
        /// The concurrent change had moved something into what the operation overwrites: the
        /// operation's own author never saw it there, so loses it too.
        relocated: bool,
    },
    /// An operation was dropped.
    Dropped {
        /// The operation as submitted.
        op: Operation,
        /// Its index in the input change.
        index: usize,
        /// Why.
        reason: DropReason,
        /// For a move whose node is still there: where the node stays, in the output as its
        /// earlier operations leave it.
        node: Option<Pointer>,
    },
}

/// A change rebased over another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebasedChange {
    /// The operations to apply now.
    pub ops: Vec<Operation>,
    /// For each of [`RebasedChange::ops`], the index of the operation of the input change it
    /// came from (a split splice gives several, a dropped operation none).
    pub sources: Vec<usize>,
    /// Conflicts met on the way.
    pub notes: Vec<Note>,
    /// The other change carried past this one: its effect when applied after the rebased
    /// change's original.
    pub over: Vec<Placed>,
}

/// Where the node at `path` is after `through` applied (a change others made, say): array
/// indexes shift around insertions and removals, a moved node is followed to its new place.
/// `None` if the node is gone (removed, or an ancestor replaced).
///
/// ```
/// use sync_core::{Change, Pointer, Value};
/// use sync_core::rebase::{Placed, Shape, follow};
///
/// let doc = Value::parse(r#"{"list": ["a", "b"]}"#)?;
/// let insert = Change::from_json(r#"[{"op": "add", "path": "/list/0", "value": "new"}]"#)?;
/// let placed: Vec<Placed> = insert.ops().iter()
///     .map(|op| Placed { op: op.clone(), shape: Shape::of(op, &doc) })
///     .collect();
/// assert_eq!(follow(&Pointer::parse("/list/1")?, &placed), Some(Pointer::parse("/list/2")?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn follow(path: &Pointer, through: &[Placed]) -> Option<Pointer> {
    through.iter().try_fold(path.clone(), |path, y| {
        if moves(&path, y) {
            map_path(&path, &y.op, y.shape, false, Side::Later).ok()
        } else {
            Some(path)
        }
    })
}

/// Whether `y` can move or remove any location: edits inside a value and tests do not.
pub(crate) fn moves_anything(y: &Placed) -> bool {
    !matches!(
        y.op,
        Operation::Test { .. } | Operation::Splice { .. } | Operation::Incr { .. }
    )
}

/// Whether `y` can move or remove the location `at`: `false` is certain ([`follow`] through
/// `y` leaves it where it is), `true` only means it may.
pub(crate) fn moves(at: &Pointer, y: &Placed) -> bool {
    let may = paths::may_move(at, &y.op, y.shape);
    debug_assert!(
        may || map_path(at, &y.op, y.shape, false, Side::Later).as_ref() == Ok(at),
        "{y:?} moves {at}"
    );
    may
}

/// Rebases the change `ops` (with shapes) over the concurrent change `over`, which applied
/// first when `side` is [`Side::Later`]: each operation over `over` as already carried past
/// the operations before it (the list transform of `rebase::list`).
pub fn rebase_change(ops: &[Placed], over: &[Placed], side: Side) -> RebasedChange {
    let mut out = RebasedChange::default();
    let mut carried: Vec<Over<'_, ()>> = over.iter().map(|p| (Cow::Borrowed(p), ())).collect();
    for (index, x) in ops.iter().enumerate() {
        let mut met = Met::default();
        // Where a move's node is before the move, if the move is dropped.
        let node = matches!(x.op, Operation::Move { .. })
            .then(|| x.op.from())
            .flatten()
            .and_then(|from| {
                carried.iter().try_fold(from.clone(), |at, (y, ())| {
                    follow(&at, std::slice::from_ref(y.as_ref()))
                })
            });
        let pieces = rebase_carrying(x, &mut carried, side, &mut met);
        if pieces.is_empty() {
            if let Some((reason, ())) = met.dropped {
                out.notes.push(Note::Dropped {
                    op: x.op.clone(),
                    index,
                    reason,
                    node,
                });
            }
            continue;
        }
        if !met.overwrote.is_empty() {
            out.notes.push(Note::Overwrites {
                index: out.ops.len(),
                relocated: !met.relocated.is_empty(),
            });
        }
        out.sources.extend(std::iter::repeat_n(index, pieces.len()));
        out.ops.extend(pieces.into_iter().map(|p| p.op));
    }
    out.over = carried.into_iter().map(|(p, ())| p.into_owned()).collect();
    out
}

/// Rebases `x` over `y`, both defined on the same document, each with its shape there.
pub fn rebase_op(x: &Placed, y: &Placed, side: Side) -> Rebased {
    // A move onto its own place, or a copy onto its own member, does nothing, and nothing is
    // done to it. (A copy onto its own array index inserts a duplicate.)
    let no_op = |p: &Placed| match &p.op {
        Operation::Move { from, path, .. } => from == path,
        Operation::Copy { from, path } => from == path && !p.shape.path_in_array,
        _ => false,
    };
    if no_op(y) {
        return Rebased::Same;
    }
    if no_op(x) {
        // Where y leaves its node in place, it stays as it is; otherwise it has nothing to do
        // (and followed into an array, a copy onto itself would insert a duplicate).
        return match map_path(x.op.path(), &y.op, y.shape, false, side) {
            Ok(place) if &place == x.op.path() => Rebased::Same,
            _ => Rebased::Keep(Vec::new()),
        };
    }
    let rebased = rebase_paths(&x.op, x.shape, &y.op, y.shape, side);
    // x edited what y copies, and y comes after x: the copy holds x's edit too.
    if side == Side::Earlier {
        let mapped = match &rebased {
            Rebased::Same => std::slice::from_ref(&x.op),
            Rebased::Keep(ops) => ops.as_slice(),
            _ => &[],
        };
        if let Some(twin) = into_copy(&x.op, x.shape, &y.op, y.shape, mapped) {
            return match rebased {
                Rebased::Same => Rebased::Keep(vec![x.op.clone(), twin]),
                Rebased::Keep(mut ops) => {
                    ops.push(twin);
                    Rebased::Keep(ops)
                }
                // The copy landed over x's target: only x's effect in the copy remains.
                Rebased::Drop(_) => Rebased::Keep(vec![twin]),
                other => other,
            };
        }
    }
    // x replaces or removes something inside which y wrote: y's write is lost with it, so x
    // overwrites it (the conflict table's first row, for a whole subtree).
    if side == Side::Later && sets_around(&x.op, &y.op, y.shape) {
        return match rebased {
            Rebased::Same => Rebased::Overwrites(x.op.clone()),
            Rebased::Keep(ops) if ops.len() == 1 => ops
                .into_iter()
                .next()
                .map_or(Rebased::Same, Rebased::Overwrites),
            other => other,
        };
    }
    rebased
}

/// `x` rebased over `y` by the rows of the conflict table about one place, or else by mapping
/// its paths.
fn rebase_paths(x: &Operation, x_shape: Shape, y: &Operation, shape: Shape, side: Side) -> Rebased {
    use Operation as O;
    if independent(x, y, shape) {
        return Rebased::Same;
    }
    // Same-place cases first: the conflict table's rows about one location.
    match (x, y) {
        // Both move the same item: the later destination wins; the item stays single.
        (
            O::Move {
                from: xf,
                path: xt,
                index,
            },
            O::Move {
                from: yf, path: yt, ..
            },
        ) if xf == yf => {
            return match side {
                Side::Later if xt == yt => Rebased::Keep(Vec::new()),
                // (A destination inside the node itself, a cycle, goes with the node, so that
                // applying it reports the cycle. Any other names a place in the document
                // without the node, which is the same wherever the node was.)
                Side::Later => Rebased::Keep(vec![O::Move {
                    from: yt.clone(),
                    path: if x_shape.dest_in_node {
                        let inside = xt.tokens().iter().skip(xf.len()).cloned();
                        Pointer::from_tokens(yt.tokens().iter().cloned().chain(inside))
                    } else {
                        xt.clone()
                    },
                    index: *index,
                }]),
                // The later destination won; but a move onto a member still took the value
                // that was there.
                Side::Earlier if xt != yt && !x_shape.path_in_array => {
                    match map_path(xt, y, shape, false, side) {
                        Ok(path) => Rebased::Keep(vec![O::Remove { path }]),
                        Err(reason) => Rebased::Drop(reason),
                    }
                }
                Side::Earlier => Rebased::Drop(DropReason::Overwritten),
            };
        }
        // x removes the item y moved: it is removed at its new place (unless that place is the
        // whole document, which cannot be removed).
        (O::Remove { path }, O::Move { from, path: to, .. }) if path == from => {
            return if to.is_root() {
                Rebased::Drop(DropReason::Replaced)
            } else {
                Rebased::Keep(vec![O::Remove { path: to.clone() }])
            };
        }
        // x moves the item y removed: nothing to move. (When x came first, the node it wrote
        // over at its destination, a member, is gone all the same: y removed it there.)
        (O::Move { from, path: to, .. }, O::Remove { path }) if from == path => {
            if side == Side::Earlier && !x_shape.path_in_array {
                return match map_path(to, y, shape, false, side) {
                    Ok(to) => Rebased::Keep(vec![O::Remove { path: to }]),
                    Err(reason) => Rebased::Drop(reason),
                };
            }
            return Rebased::Drop(DropReason::Removed);
        }
        // Both remove the same thing.
        (O::Remove { path: a }, O::Remove { path: b }) if a == b => {
            return Rebased::Keep(Vec::new());
        }
        // Both splice one string: merge character by character.
        (
            O::Splice {
                path: a,
                pos,
                del,
                ins,
            },
            O::Splice {
                path: b,
                pos: ypos,
                del: ydel,
                ins: yins,
            },
        ) if a == b => {
            return Rebased::Keep(merge_splices(
                a,
                (*pos, *del, ins),
                (*ypos, *ydel, yins.chars().count()),
                side,
            ));
        }
        _ => {}
    }
    // x moves a node whose place y sets to another value. When y came first, the node x meant
    // is gone. When y came after x and set it by a merge patch of an ancestor (which, unlike a
    // write of the place itself, does not follow the node to where x took it), y's value is
    // not x's to move: what is left of x is what it wrote at its destination.
    if let O::Move { from, path, .. } = x {
        let set = matches!(write_of(y, shape.path_in_array, shape.replaces_target),
            Some((at, Write::Set)) if *at == *from);
        let merged = merge_sets(y, shape, from);
        match side {
            Side::Later if set || merged => return Rebased::Drop(DropReason::Replaced),
            Side::Earlier if merged => {
                return match map_path(path, y, shape, is_index(path), side) {
                    Ok(path) => Rebased::Keep(vec![O::Add {
                        path,
                        value: Value::Null,
                        index: None,
                    }]),
                    Err(reason) => Rebased::Drop(reason),
                };
            }
            _ => {}
        }
    }
    // x sets a member that a merge patch y sets too: two writes of one place, the later wins.
    let sets_member = match x {
        O::Replace { .. } => true,
        O::Add { .. } | O::Move { .. } | O::Copy { .. } => !x_shape.path_in_array,
        _ => false,
    };
    if sets_member && merge_sets(y, shape, x.path()) {
        return match side {
            Side::Later => Rebased::Overwrites(x.clone()),
            Side::Earlier => overwritten(x, y, shape),
        };
    }
    if let Some(outcome) = same_target(x, y, shape, side) {
        // The write collides, but a move's or copy's source still follows y, and where y
        // is a move the place is read after it.
        return match outcome {
            Rebased::Keep(ops) => match ops
                .into_iter()
                .map(|op| with_mapped_from(at_moved_place(op, y), y, shape, side))
                .collect()
            {
                Ok(ops) => Rebased::Keep(ops),
                Err(reason) => Rebased::Drop(reason),
            },
            Rebased::Overwrites(op) => {
                match with_mapped_from(at_moved_place(op, y), y, shape, side) {
                    Ok(op) => Rebased::Overwrites(op),
                    Err(reason) => Rebased::Drop(reason),
                }
            }
            other => other,
        };
    }
    // A move or copy onto a member that y moved into an array. Coming later, it is dropped:
    // the member it meant to set is gone from there (and replacing the node in the array would
    // take two operations, which could be parted). Carried past y, it replaced the node, so it
    // does so where the node is now: a removal and an insertion at its index.
    // (A move's destination is compared where it is while the node is still there: the same
    // words can name the next item's member.)
    if let (O::Move { from, path, .. } | O::Copy { from, path }, O::Move { from: moved, .. }) =
        (x, y)
        && path == moved
        && node_place(x, x_shape) == *moved
        && !x_shape.path_in_array
        && shape.path_in_array
    {
        return match side {
            Side::Later => Rebased::Drop(DropReason::Removed),
            Side::Earlier => replace_in_array(x, from, path, y, shape, side),
        };
    }
    // Otherwise only paths change.
    let map = |p: &Pointer, insert: bool| map_path(p, y, shape, insert, side);
    let inserts = |p: &Pointer| is_index(p);
    let result = match x {
        // Setting a member that y moved elsewhere sets the moved node where it is now.
        O::Add { path, value, .. }
            if !x_shape.path_in_array && matches!(y, O::Move { from, .. } if from == path) =>
        {
            map(path, false).map(|path| O::Replace {
                path,
                value: value.clone(),
            })
        }
        O::Add { path, value, index } => map(path, inserts(path)).map(|path| O::Add {
            path,
            value: value.clone(),
            index: *index,
        }),
        O::Remove { path } => map(path, false).map(|path| O::Remove { path }),
        O::Replace { path, value } => map(path, false).map(|path| O::Replace {
            path,
            value: value.clone(),
        }),
        O::Move { from, path, index } => match map(from, false) {
            Ok(mapped) => {
                match map_destination(x, x_shape, &mapped, y, shape, side) {
                    Ok(path) => Ok(O::Move {
                        from: mapped,
                        path,
                        index: *index,
                    }),
                    // x came first, and y then replaced or removed around where x put the
                    // node: only taking it away from its old place remains.
                    Err(_) if side == Side::Earlier => Ok(O::Remove { path: mapped }),
                    Err(reason) => Err(reason),
                }
            }
            // x came first and moved a node that y then removed or replaced from around its old
            // place. x's source is gone from y's document, but what x wrote at its destination
            // still stands there: an operation carried past y says so with a write of that
            // place. (Carried operations only map paths; the value stands for the moved node.)
            Err(_) if side == Side::Earlier => map(path, inserts(path)).map(|path| O::Add {
                path,
                value: Value::Null,
                index: None,
            }),
            Err(reason) => Err(reason),
        },
        O::Copy { from, path } => match map(from, false) {
            Ok(from) => map(path, inserts(path)).map(|path| O::Copy { from, path }),
            // As for a move: what the copy wrote still stands.
            Err(_) if side == Side::Earlier => map(path, inserts(path)).map(|path| O::Add {
                path,
                value: Value::Null,
                index: None,
            }),
            Err(reason) => Err(reason),
        },
        O::Test { path, value } => map(path, false).map(|path| O::Test {
            path,
            value: value.clone(),
        }),
        O::Merge { path, value } => map(path, false).map(|path| O::Merge {
            path,
            value: value.clone(),
        }),
        O::Splice {
            path,
            pos,
            del,
            ins,
        } => map(path, false).map(|path| O::Splice {
            path,
            pos: *pos,
            del: *del,
            ins: ins.clone(),
        }),
        O::Incr { path, by } => map(path, false).map(|path| O::Incr {
            path,
            by: by.clone(),
        }),
    };
    match result {
        Ok(op) => Rebased::Keep(vec![op]),
        Err(reason) => Rebased::Drop(reason),
    }
}

/// Whether nothing `y` does can change where `x` points or what it means, and `x` does not
/// write around what `y` wrote: the common case, decided without allocating.
fn independent(x: &Operation, y: &Operation, shape: Shape) -> bool {
    let touched = |q: &Pointer| {
        let (ypath, yfrom) = (y.path(), y.from());
        touches(ypath, shape.path_in_array, q)
            || yfrom.is_some_and(|f| touches(f, shape.from_in_array, q))
    };
    !touched(x.path())
        && !x.from().is_some_and(touched)
        && !x.path().is_proper_prefix_of(y.path())
        && !moved_destination(x).is_some_and(|dest| touched(&dest))
}

/// Whether a write at `y` (an array item if `in_array`) can affect the location `q`: it is at or
/// above `q`, or it shifts the array `q` passes through.
fn touches(y: &Pointer, in_array: bool, q: &Pointer) -> bool {
    let (yt, qt) = (y.tokens(), q.tokens());
    if qt.starts_with(yt) {
        return true;
    }
    in_array
        && yt
            .split_last()
            .is_some_and(|(_, parent)| qt.len() > parent.len() && qt.starts_with(parent))
}

/// `op` with its `from` (for `move` and `copy`) mapped through `y`.
fn with_mapped_from(
    op: Operation,
    y: &Operation,
    shape: Shape,
    side: Side,
) -> Result<Operation, DropReason> {
    Ok(match op {
        Operation::Move { from, path, index } => Operation::Move {
            from: map_path(&from, y, shape, false, side)?,
            path,
            index,
        },
        Operation::Copy { from, path } => Operation::Copy {
            from: map_path(&from, y, shape, false, side)?,
            path,
        },
        other => other,
    })
}

/// Whether the last token of `p` can be an array index (digits or `-`). Whether it *is* one is
/// decided by the other operation's shape where it matters.
fn is_index(p: &Pointer) -> bool {
    p.last()
        .is_some_and(|t| t == "-" || (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())))
}
