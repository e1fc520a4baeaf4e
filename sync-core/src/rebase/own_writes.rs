//! Writes of the change being applied that a later operation of the same change overwrites
//! although its author never pointed it there.
//!
//! A change is a sequence its author made one operation after the other: where a later
//! operation overwrites what an earlier one wrote, the author saw it and meant it. Rebased over
//! concurrent changes, a later operation can land on an earlier one's value although they were
//! apart where the author made them (a concurrent move brought them together). That value is
//! lost, and the one to tell is the change's own sender. So each write is followed in both
//! frames, as applied and as authored; an overwrite found in the first and not in the second is
//! such a loss.
//!
//! A move of the change that is dropped leaves its node where it was, though its author had
//! moved it away: a later operation of the change that overwrites the node there did not mean
//! to, and the node's writers lose their work. Those nodes are followed the same way.
//!
//! Only the last [`TRACKED`] writes are followed: each operation maps every followed location,
//! and a change of many thousands of operations must not cost their square.

use std::collections::VecDeque;

use super::{Placed, follow, moves, moves_anything};
use crate::op::Operation;
use crate::pointer::Pointer;
use crate::value::Value;

/// How many of a change's most recent writes are followed.
pub(crate) const TRACKED: usize = 256;

/// One write of the change: where its value is now in each frame.
struct Write {
    /// The operation that made it, by its index in the change.
    op: usize,
    /// In the document as the change is applied; the write is forgotten once this is gone.
    applied: Pointer,
    /// In the document as its author made the change; `None` once gone there.
    authored: Option<Pointer>,
    kind: Kind,
}

/// What a followed write is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A value the change wrote whole (added or replaced: not moved or copied, which brings
    /// others' work, nor a splice or an increment inside one), holding nothing that the change
    /// moved or copied into it since.
    Whole,
    /// A value the change wrote in part (a splice, an increment, where a move or copy put
    /// something), or wrote whole and then moved or copied others' work into.
    Part,
    /// A node that a dropped move left in place, rather than a value the change wrote.
    Stranded,
}

/// What a piece overwrites that its author did not point at.
#[derive(Default)]
pub(crate) struct Unmeant {
    /// A value written by an earlier operation of the change.
    pub(crate) own: bool,
    /// Nodes left in place by dropped moves, where they are.
    pub(crate) stranded: Vec<Pointer>,
}

/// The change's writes followed so far.
#[derive(Default)]
pub(crate) struct OwnWrites {
    writes: VecDeque<Write>,
}

impl OwnWrites {
    /// Follows nothing yet.
    pub(crate) fn new() -> OwnWrites {
        OwnWrites::default()
    }

    /// What the piece `applied` (about to apply to `doc`, where known) of operation `k`,
    /// `authored` where its author made it, overwrites of the change's earlier writes and of
    /// the nodes its dropped moves left, that the operation did not touch there. What it
    /// overwrites whole is forgotten.
    pub(crate) fn overwrites_unmeant(
        &mut self,
        k: usize,
        applied: &Placed,
        authored: &Operation,
        doc: Option<&Value>,
    ) -> Unmeant {
        let mut unmeant = Unmeant::default();
        let Some(target) = overwrites_at(applied, doc) else {
            return unmeant;
        };
        // A move or copy of a node that holds the write carries it along.
        let carried = |at: &Pointer| applied.op.from().is_some_and(|from| from.is_prefix_of(at));
        // Without the document, an add inside may as well make a new member.
        let replaces = doc.is_some()
            || matches!(
                applied.op,
                Operation::Replace { .. } | Operation::Remove { .. }
            );
        self.writes.retain(|write| {
            let whole = target.is_prefix_of(&write.applied);
            let inside = replaces && write.applied.is_proper_prefix_of(target);
            if !whole && !inside || carried(&write.applied) {
                return true;
            }
            // The operation's own earlier pieces count as meant.
            // Where it was made, the operation took the same: all of the write where it takes
            // all of it here, some of it where it takes a part.
            // (Not where a move or copy there carried the write along.)
            let meant = write.op == k
                || write.authored.as_ref().is_some_and(|at| {
                    let took = if whole {
                        authored.path().is_prefix_of(at)
                    } else {
                        authored.path().overlaps(at)
                    };
                    took && !authored.from().is_some_and(|from| from.is_prefix_of(at))
                });
            if !meant && write.kind == Kind::Stranded {
                unmeant.stranded.push(write.applied.clone());
            } else if !meant {
                unmeant.own = true;
            }
            !whole
        });
        unmeant
    }

    /// Whether `target` is at or inside a value that an earlier operation of the change wrote
    /// whole (see [`Kind::Whole`]) and that is still there: what stands at `target` is then the
    /// change's own, and no one else's write is overwritten there.
    pub(crate) fn holds(&self, target: &Pointer) -> bool {
        self.writes
            .iter()
            .any(|write| write.kind == Kind::Whole && write.applied.is_prefix_of(target))
    }

    /// Notes the node that operation `k`, a move dropped in rebasing, leaves at `at`; its
    /// author had moved it to the move's destination.
    pub(crate) fn stranded(&mut self, k: usize, at: Pointer) {
        if self.writes.len() == TRACKED {
            self.writes.pop_front();
        }
        self.writes.push_back(Write {
            op: k,
            applied: at,
            authored: None,
            kind: Kind::Stranded,
        });
    }

    /// Follows the writes through a piece of operation `k` as applied, and adds the piece's
    /// own write.
    pub(crate) fn after_applied(&mut self, k: usize, piece: &Placed) {
        let own = piece.op.written_at();
        if self.writes.is_empty() && own.is_none() {
            return;
        }
        let moves_any = moves_anything(piece);
        // A value moved or copied into a write is not the change's own work: the write holds
        // others' from then on (see `holds`).
        if let Operation::Move { path, .. } | Operation::Copy { path, .. } = &piece.op {
            for write in &mut self.writes {
                if write.kind == Kind::Whole && write.applied.is_proper_prefix_of(path) {
                    write.kind = Kind::Part;
                }
            }
        }
        self.writes.retain_mut(|write| {
            if !moves_any || !moves(&write.applied, piece) {
                return true;
            }
            match follow(&write.applied, std::slice::from_ref(piece)) {
                Some(at) => {
                    write.applied = at;
                    true
                }
                None => false,
            }
        });
        if let Some(at) = own {
            // A run of edits inside one value (typing) is followed as one write.
            let inside = matches!(piece.op, Operation::Splice { .. } | Operation::Incr { .. });
            let same_run = self
                .writes
                .back()
                .is_some_and(|w| w.kind == Kind::Part && w.applied == *at);
            if inside && same_run {
                return;
            }
            if self.writes.len() == TRACKED {
                self.writes.pop_front();
            }
            self.writes.push_back(Write {
                op: k,
                applied: at.clone(),
                authored: None,
                kind: match piece.op {
                    Operation::Add { .. } | Operation::Replace { .. } => Kind::Whole,
                    _ => Kind::Part,
                },
            });
        }
    }

    /// Follows the writes through operation `k` as its author made it (`op`, with its shape
    /// there), once all its pieces are applied; the writes they made start at its location.
    pub(crate) fn after_authored(&mut self, k: usize, op: &Placed) {
        let own = op.op.written_at();
        let moves_any = moves_anything(op);
        for write in &mut self.writes {
            if write.op == k {
                write.authored = own.cloned();
            } else if let Some(at) = write.authored.take_if(|at| moves_any && moves(at, op)) {
                write.authored = follow(&at, std::slice::from_ref(op));
            }
        }
    }
}

/// The location whose value the operation replaces or removes, if it does. Without the
/// document, an add, copy or move onto an object member is taken to replace it (what is
/// followed stands there, or inside it, only where it exists).
pub(crate) fn overwrites_at<'a>(piece: &'a Placed, doc: Option<&Value>) -> Option<&'a Pointer> {
    match &piece.op {
        Operation::Replace { path, .. } | Operation::Remove { path } => Some(path),
        Operation::Add { path, .. }
        | Operation::Copy { path, .. }
        | Operation::Move { path, .. }
            if !piece.shape.path_in_array && doc.is_none_or(|doc| path.resolve(doc).is_some()) =>
        {
            Some(path)
        }
        _ => None,
    }
}
