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

use crate::op::Operation;

mod paths;
mod text;

use crate::pointer::Pointer;
use crate::value::Value;
use paths::map_path;
use text::merge_splices;

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
        Shape {
            path_in_array: in_array(op.path()),
            from_in_array: op.from().is_some_and(in_array),
            replaces_target,
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
    },
    /// An operation was dropped.
    Dropped {
        /// The operation as submitted.
        op: Operation,
        /// Why.
        reason: DropReason,
    },
}

/// A change rebased over another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebasedChange {
    /// The operations to apply now.
    pub ops: Vec<Operation>,
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
        map_path(&path, &y.op, y.shape, false, Side::Later).ok()
    })
}

/// Rebases the change `ops` (with shapes) over the concurrent change `over`, which applied
/// first when `side` is [`Side::Later`].
pub fn rebase_change(ops: &[Placed], over: &[Placed], side: Side) -> RebasedChange {
    let mut out = RebasedChange::default();
    let mut over: Vec<Placed> = over.to_vec();
    for x in ops {
        let mut pieces = vec![x.op.clone()];
        let mut overwrites = false;
        let mut dropped = None;
        for y in &over {
            let effect = rebase_pieces(&mut pieces, &y.op, y.shape, side);
            overwrites |= effect.overwrote;
            dropped = effect.dropped.or(dropped);
            if pieces.is_empty() {
                break;
            }
        }
        match (dropped, pieces.is_empty()) {
            (Some(reason), true) => out.notes.push(Note::Dropped {
                op: x.op.clone(),
                reason,
            }),
            _ => {
                if overwrites {
                    out.notes.push(Note::Overwrites {
                        index: out.ops.len(),
                    });
                }
                out.ops.extend(pieces);
                // Carry `over` past x, so it lines up with x's successors.
                carry(&mut over, x, side.flip());
            }
        }
    }
    out.over = over;
    out
}

/// What rebasing some pieces over one operation did to them.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Effect {
    /// A piece now overwrites what `y` wrote.
    pub(crate) overwrote: bool,
    /// A piece was dropped, and why.
    pub(crate) dropped: Option<DropReason>,
}

/// Rebases the pieces of one operation over `y`, in place.
pub(crate) fn rebase_pieces(
    pieces: &mut Vec<Operation>,
    y: &Operation,
    shape: Shape,
    side: Side,
) -> Effect {
    let mut effect = Effect::default();
    let mut i = 0;
    while i < pieces.len() {
        let Some(piece) = pieces.get(i) else { break };
        match rebase_op(piece, y, shape, side) {
            Rebased::Same => i += 1,
            Rebased::Keep(ops) => {
                let n = ops.len();
                pieces.splice(i..=i, ops);
                i += n;
            }
            Rebased::Overwrites(op) => {
                effect.overwrote = true;
                if let Some(slot) = pieces.get_mut(i) {
                    *slot = op;
                }
                i += 1;
            }
            Rebased::Drop(reason) => {
                effect.dropped = Some(reason);
                pieces.remove(i);
            }
        }
    }
    effect
}

/// Carries `over` past `x` (which is on `side` relative to each of them), in place.
pub(crate) fn carry(over: &mut Vec<Placed>, x: &Placed, side: Side) {
    let mut i = 0;
    while i < over.len() {
        let Some(y) = over.get(i) else { break };
        match rebase_op(&y.op, &x.op, x.shape, side) {
            Rebased::Same => i += 1,
            Rebased::Keep(ops) => {
                let shape = y.shape;
                let n = ops.len();
                over.splice(i..=i, ops.into_iter().map(|op| Placed { op, shape }));
                i += n;
            }
            Rebased::Overwrites(op) => {
                if let Some(slot) = over.get_mut(i) {
                    slot.op = op;
                }
                i += 1;
            }
            Rebased::Drop(_) => {
                over.remove(i);
            }
        }
    }
}

/// Rebases `x` over `y` (whose shape is `shape`), both defined on the same document.
pub fn rebase_op(x: &Operation, y: &Operation, shape: Shape, side: Side) -> Rebased {
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
                Side::Later => Rebased::Keep(vec![O::Move {
                    from: yt.clone(),
                    path: xt.clone(),
                    index: *index,
                }]),
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
        // x moves the item y removed: nothing to move.
        (O::Move { from, .. }, O::Remove { path }) if from == path => {
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
    if let Some(outcome) = same_target(x, y, shape, side) {
        // The write collides, but a move's or copy's source still follows y.
        return match outcome {
            Rebased::Keep(ops) => match ops
                .into_iter()
                .map(|op| with_mapped_from(op, y, shape, side))
                .collect()
            {
                Ok(ops) => Rebased::Keep(ops),
                Err(reason) => Rebased::Drop(reason),
            },
            Rebased::Overwrites(op) => match with_mapped_from(op, y, shape, side) {
                Ok(op) => Rebased::Overwrites(op),
                Err(reason) => Rebased::Drop(reason),
            },
            other => other,
        };
    }
    // Otherwise only paths change.
    let map = |p: &Pointer, insert: bool| map_path(p, y, shape, insert, side);
    let inserts = |p: &Pointer| is_index(p);
    let result = match x {
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
        O::Move { from, path, index } => map(from, false).and_then(|from| {
            map(path, inserts(path)).map(|path| O::Move {
                from,
                path,
                index: *index,
            })
        }),
        O::Copy { from, path } => map(from, false)
            .and_then(|from| map(path, inserts(path)).map(|path| O::Copy { from, path })),
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

/// Whether nothing `y` does can change where `x` points or what it means: the common case, decided
/// without allocating.
fn independent(x: &Operation, y: &Operation, shape: Shape) -> bool {
    let touched = |q: &Pointer| {
        let (ypath, yfrom) = (y.path(), y.from());
        touches(ypath, shape.path_in_array, q)
            || yfrom.is_some_and(|f| touches(f, shape.from_in_array, q))
    };
    !touched(x.path()) && !x.from().is_some_and(touched)
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

/// What a write does to the value at its path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    /// Sets the whole value (add to a member or the root, replace, copy or move onto it).
    Set,
    /// Edits the value in place (splice, incr, merge).
    Edit,
    /// Removes it.
    Remove,
}

/// The place `op` writes (as a whole value) and how, for operations that write one.
fn write_of(
    op: &Operation,
    shape_in_array: bool,
    shape_replaces: bool,
) -> Option<(&Pointer, Write)> {
    use Operation as O;
    match op {
        // An add or a move/copy into an array inserts a new item rather than writing one.
        O::Add { path, .. } | O::Copy { path, .. } | O::Move { path, .. } if !shape_in_array => {
            Some((path, Write::Set))
        }
        O::Replace { path, .. } => Some((path, Write::Set)),
        O::Remove { path } => Some((path, Write::Remove)),
        // A merge patch that is not an object replaces its target whole.
        O::Merge { path, value } if !matches!(value, Value::Object(_)) || shape_replaces => {
            Some((path, Write::Set))
        }
        O::Splice { path, .. } | O::Incr { path, .. } | O::Merge { path, .. } => {
            Some((path, Write::Edit))
        }
        _ => None,
    }
}

/// The rows of the conflict table about two writes to one location (after mapping x's path).
fn same_target(x: &Operation, y: &Operation, shape: Shape, side: Side) -> Option<Rebased> {
    use Operation as O;
    // An x that inserts into an array never collides with a write: it makes a new item. When
    // x's path is y's path, y's shape says whether their parent is an array.
    let x_inserts =
        matches!(x, O::Add { .. } | O::Copy { .. } | O::Move { .. }) && shape.path_in_array;
    let (yp, yw) = write_of(y, shape.path_in_array, shape.replaces_target)?;
    if x_inserts || x.path() != yp {
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
        // Two writes of the whole value: the later one wins.
        (Write::Set | Write::Remove, Write::Set | Write::Edit) => {
            if later {
                Rebased::Overwrites(x.clone())
            } else {
                Rebased::Drop(DropReason::Overwritten)
            }
        }
        // y removed it; a later set puts it back where it can (object members), else drops.
        (Write::Set, Write::Remove) => {
            if !later {
                Rebased::Drop(DropReason::Overwritten)
            } else if shape.path_in_array {
                Rebased::Drop(DropReason::Removed)
            } else {
                match x {
                    O::Replace { path, value } | O::Add { path, value, .. } => {
                        Rebased::Keep(vec![O::Add {
                            path: path.clone(),
                            value: value.clone(),
                            index: None,
                        }])
                    }
                    // A move or copy onto the removed member just adds it again.
                    other => Rebased::Keep(vec![other.clone()]),
                }
            }
        }
        (Write::Remove, Write::Remove) => Rebased::Keep(Vec::new()),
        // An edit in place of a value someone replaced or removed: dropped (the splice row),
        // whichever came first, except that a merge applies to a replacement value.
        (Write::Edit, Write::Set) => match x {
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
