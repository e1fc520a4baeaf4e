//! Folding a change in under the pending ones: the confirmed state takes the change, and the
//! change in flight and the buffer are rebased over it and put back on the view, with what
//! that rebasing found (claims, drops, relocations).

use super::records::{Following, Noting, Seen};
use super::{Inverse, Pending, Replica, ops_of, place};
use crate::authority::apply_placed;
use crate::op::Operation;
use crate::pointer::Pointer;
use crate::protocol::{Commit, Conflict, Overwrite, Party};
use crate::rebase::{Note, Placed, Side, rebase_change};
use crate::value::Value;

impl Replica {
    /// Takes the pending changes off the view, leaving the confirmed state; returns them
    /// (in flight first).
    pub(super) fn take_pending(&mut self) -> (Option<Pending>, Option<Pending>) {
        for pending in [&self.buffer, &self.inflight].into_iter().flatten() {
            let restored = pending.inverse.apply(&mut self.view);
            debug_assert!(restored.is_ok(), "pending inverse failed: {restored:?}");
        }
        (self.inflight.take(), self.buffer.take())
    }

    /// Rebases a pending change over `over` (applied just before) and puts it back on the view.
    /// Returns the change and `over` carried past it. With `by`, `over` is someone else's
    /// change: what the pending change overwrites of it and what of the pending change it
    /// drops are noted (see [`Pending::overwrites`] and [`Pending::lost`]).
    pub(super) fn put_back(
        &mut self,
        pending: Pending,
        over: &[Placed],
        by: Option<&Commit>,
        folded: &mut Folded,
    ) -> Option<Pending> {
        let rebased = rebase_change(&pending.ops, over, Side::Later);
        let carried = rebased.over;
        let sources = rebased.sources;
        // Claims follow their operation. One that was dropped had overwritten what a later
        // operation made on top of it now overwrites (a write of the same place or above):
        // its claims pass to that one, or to the next pending change (see `Folded::heirless`).
        let mut overwrites: Vec<Overwrite> = Vec::new();
        for o in &pending.overwrites {
            if let Some(index) = sources.iter().position(|&s| s == o.index) {
                overwrites.push(Overwrite { index, ..o.clone() });
                continue;
            }
            let Some(place) = pending.ops.get(o.index).map(|p| p.op.path()) else {
                continue;
            };
            let heir = sources.iter().zip(&rebased.ops).position(|(&s, op)| {
                s > o.index && op.replaces_place() && op.path().is_prefix_of(place)
            });
            match heir {
                Some(index) => overwrites.push(inherited(o, index, place, &rebased.ops)),
                None => folded.heirless.push((place.clone(), o.clone())),
            }
        }
        let mut lost = pending.lost;
        // Nodes that dropped moves leave in place, by the index of the move.
        let mut stranded: Vec<(usize, Pointer)> = Vec::new();
        // Operations that overwrite something `by` moved into what they overwrite.
        let mut relocated_at = Vec::new();
        // Operations that overwrite a write of the relay's version of this replica's own
        // change, with what their user saw there.
        let mut seen = Vec::new();
        let by_rev = match by {
            // Not someone else's change: the relay's version of this replica's own (or its
            // refusal). What no longer applies after it has nobody to lose to.
            None => {
                let before = folded.seen.take().unwrap_or_default();
                for note in rebased.notes {
                    match note {
                        Note::Dropped { op, .. } => folded.orphaned.push(op),
                        Note::Overwrites { index, .. } => {
                            let source = sources.get(index);
                            let saw = before.before.iter().find(|(i, _)| Some(i) == source);
                            seen.extend(saw.map(|&(_, hash)| (index, hash)));
                        }
                    }
                }
                before.rev
            }
            Some(by) => {
                let by_party = Party {
                    client: by.client.clone(),
                    author: by.author.clone(),
                };
                for note in rebased.notes {
                    match note {
                        Note::Overwrites { index, relocated } => {
                            overwrites.push(Overwrite {
                                index,
                                rev: by.rev,
                                loser: by_party.clone(),
                                node: None,
                            });
                            if relocated {
                                relocated_at.push(index);
                            }
                        }
                        Note::Dropped {
                            op,
                            index,
                            reason,
                            node,
                        } => {
                            stranded.extend(node.map(|node| (index, node)));
                            let taken = folded.taken.iter().find(|(o, _)| {
                                *o == op
                                    || (matches!(
                                        o,
                                        Operation::Splice { .. } | Operation::Incr { .. }
                                    ) && o.path() == op.path()
                                        && o.name() == op.name())
                            });
                            let taken = taken.map(|(_, node)| node.clone());
                            lost.push(self.dropped(op, reason, by, taken));
                        }
                    }
                }
                by.rev
            }
        };
        folded.carried = carried;
        // Over someone else's change that moved its operations, a change of several is applied
        // one by one, following its own writes (see `Following`). Where the rebase left every
        // operation as it was, none can land on another's write.
        let moved = sources.len() != pending.ops.len()
            || rebased
                .ops
                .iter()
                .zip(&pending.ops)
                .any(|(op, p)| *op != p.op);
        let following = by
            .filter(|_| pending.ops.len() > 1 && moved)
            .map(|by| Following {
                authored: &pending.ops,
                sources: &sources,
                stranded: &stranded,
                by,
            });
        let applied = if relocated_at.is_empty() && following.is_none() && seen.is_empty() {
            apply_placed(&mut self.view, rebased.ops)
        } else {
            let noting = Noting {
                relocated_at: &relocated_at,
                rev: by_rev,
                following,
                seen: &seen,
            };
            self.apply_noting(rebased.ops, &noting, &mut lost, &mut overwrites)
        };
        match applied {
            Ok((ops, inverse)) => Some(Pending {
                seq: pending.seq,
                ops,
                inverse: Inverse::of(inverse),
                overwrites,
                lost,
                orphaned: pending.orphaned,
            }),
            // It no longer applies (a test failed, say): locally it is gone. The relay will say
            // so for a change in flight, if it gets it as sent; otherwise this replica will.
            Err(_) => match pending.seq {
                None => {
                    folded.orphaned.extend(ops_of(&pending.ops));
                    None
                }
                Some(seq) => {
                    let mut orphaned = pending.orphaned;
                    orphaned.extend(ops_of(&pending.ops));
                    Some(Pending {
                        seq: Some(seq),
                        lost,
                        orphaned,
                        ..Pending::default()
                    })
                }
            },
        }
    }

    /// Applies `ops` (placed by the caller) under the pending changes and rebases everything
    /// local over them; `by` is the foreign change they came from, if they did. Returns `ops`
    /// as they affected the view, and what rebasing dropped of changes not yet sent (theirs to
    /// report at once: nobody else will). `seen`: see [`Seen`].
    pub(super) fn under_pending(
        &mut self,
        over: Vec<Placed>,
        by: Option<&Commit>,
        taken: Vec<(Operation, Value)>,
        seen: Option<Seen>,
    ) -> Folded {
        let (inflight, buffer) = (self.inflight.take(), self.buffer.take());
        let mut folded = Folded {
            carried: over,
            taken,
            ..Folded::default()
        };
        if let Some(p) = inflight {
            let over = std::mem::take(&mut folded.carried);
            self.inflight = self.put_back(p, &over, by, &mut folded);
        }
        if let Some(mut p) = buffer {
            for (place, claim) in std::mem::take(&mut folded.heirless) {
                let heir = p
                    .ops
                    .iter()
                    .position(|q| q.op.replaces_place() && q.op.path().is_prefix_of(&place));
                if let Some(index) = heir {
                    p.overwrites
                        .push(inherited(&claim, index, &place, &ops_of(&p.ops)));
                }
            }
            let over = std::mem::take(&mut folded.carried);
            folded.seen = seen;
            self.buffer = self
                .put_back(p, &over, by, &mut folded)
                .map(|mut p| {
                    folded.lost.append(&mut p.lost);
                    p
                })
                .filter(|p| !p.ops.is_empty());
        }
        let over = folded.carried.clone();
        // Undo and redo entries live in the view: the top one applies to it as it is, each one
        // below to the view the one above leaves. Rebase them down the stack, carrying what the
        // view received past each.
        for stack in [&mut self.undo, &mut self.redo] {
            let mut received = over.clone();
            for entry in stack.iter_mut().rev() {
                let rebased = rebase_change(entry, &received, Side::Later);
                *entry = place(&rebased.ops, &self.view);
                received = rebased.over;
            }
            stack.retain(|entry| !entry.is_empty());
        }
        folded
    }
}

/// What folding a change in under the pending ones did.
#[derive(Default)]
pub(super) struct Folded {
    /// The change carried past the pending ones: what it did to the view.
    pub(super) carried: Vec<Placed>,
    /// Operations of changes not yet sent that someone else's change dropped (for the
    /// Conflicts panel).
    pub(super) lost: Vec<Conflict>,
    /// The nodes pending moves and copies took (see [`Replica::taken_nodes`]).
    pub(super) taken: Vec<(Operation, Value)>,
    /// Buffered operations that no longer apply: after this replica's own change was replaced
    /// or refused, or a rebased change that as a whole no longer applies.
    pub(super) orphaned: Vec<Operation>,
    /// Claims of the change in flight whose operation was dropped with no later one of that
    /// change to take them, each with the place it overwrote: a buffered operation that
    /// overwrites that place now takes them (it overwrites what the dropped one would have).
    pub(super) heirless: Vec<(Pointer, Overwrite)>,
    /// For the buffer, when the relay's version of this replica's change in flight replaced
    /// its own: what each buffered operation overwrote where its user made it.
    pub(super) seen: Option<Seen>,
}

/// The claim `o`, made by an operation at `place` that was dropped, as the operation at `index`
/// of `ops` takes it over (it overwrites `place` or above): a node the claim names is then
/// named from that operation's path.
fn inherited(o: &Overwrite, index: usize, place: &Pointer, ops: &[Operation]) -> Overwrite {
    let heir = ops.get(index).map_or(0, |op| op.path().len());
    let node = o.node.as_ref().map(|node| {
        let between = place.tokens().get(heir..).unwrap_or_default();
        Pointer::from_tokens(between.iter().chain(node.tokens()).cloned())
    });
    Overwrite {
        index,
        node,
        ..o.clone()
    }
}
