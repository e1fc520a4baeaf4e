//! The conflict records a replica makes itself: for the work it rebases before sending (what
//! a foreign change dropped of it, or moved into what it overwrites), and the whole values
//! that the relay's records of its own dropped edits leave out.

use super::{Inverse, Replica};
use crate::apply::{ApplyError, apply_op, rollback};
use crate::authority::apply_placed;
use crate::op::{Change, Operation};
use crate::pointer::Pointer;
use crate::protocol::{
    Commit, Conflict, ConflictKind, Overwrite, Party, Revision, StateHash, state_hash,
};
use crate::rebase::{DropReason, OwnWrites, Placed, Shape, follow};
use crate::value::Value;

impl Replica {
    /// Applies `ops` one by one (all or nothing), noting what they overwrite that this
    /// replica's user never saw there (see [`Noting`]): records of the user's own losses go to
    /// `lost`, claims for others' to `claims`.
    pub(super) fn apply_noting(
        &mut self,
        ops: Vec<Operation>,
        noting: &Noting<'_>,
        lost: &mut Vec<Conflict>,
        claims: &mut Vec<Overwrite>,
    ) -> Result<(Vec<Placed>, Change), ApplyError> {
        let mut placed = Vec::with_capacity(ops.len());
        let mut inverse = Inverse::default();
        let mut noted = Vec::new();
        let mut claimed = Vec::new();
        let mut own = OwnWrites::new();
        // The next operation of the authored change to follow through.
        let mut next = 0;
        for (j, op) in ops.into_iter().enumerate() {
            let mut unmeant = false;
            if let Some(f) = &noting.following {
                let k = f.sources.get(j).copied().unwrap_or(next);
                // The operations before k are done: the dropped ones leave their nodes.
                while next < k {
                    f.advance(&mut own, next);
                    next += 1;
                }
                let piece = Placed {
                    shape: Shape::of(&op, &self.view),
                    op: op.clone(),
                };
                if let Some(authored) = f.authored.get(k) {
                    let found = own.overwrites_unmeant(k, &piece, &authored.op, Some(&self.view));
                    unmeant = found.own;
                    claimed.extend(found.stranded.iter().map(|node| f.claim(j, &piece, node)));
                }
            }
            let unseen = noting.seen.iter().any(|(i, before)| {
                *i == j && op.path().resolve(&self.view).map(state_hash) != *before
            });
            if unmeant || unseen || noting.relocated_at.contains(&j) {
                noted.push(self.relocated(&op, noting.rev));
            }
            match apply_placed(&mut self.view, vec![op]) {
                Ok((p, inv)) => {
                    if noting.following.is_some() {
                        // `next` is the operation this one came from.
                        for piece in &p {
                            own.after_applied(next, piece);
                        }
                    }
                    placed.extend(p);
                    inverse.push_newer(Inverse::of(inv));
                }
                Err(e) => {
                    let restored = inverse.apply(&mut self.view);
                    debug_assert!(restored.is_ok());
                    return Err(e);
                }
            }
        }
        lost.append(&mut noted);
        claims.append(&mut claimed);
        Ok((placed, Change(inverse.ops())))
    }

    /// What each of `ops` (the buffer, applied to the view as it is) overwrites where it
    /// applies, by index: see [`Seen`]. The view is left as it was.
    pub(super) fn seen_by(&mut self, ops: &[Placed], rev: Revision) -> Seen {
        let mut before = Vec::new();
        let mut undo = Vec::new();
        for (i, p) in ops.iter().enumerate() {
            if overwrites_place(p) {
                before.push((i, p.op.path().resolve(&self.view).map(state_hash)));
            }
            if apply_op(&mut self.view, &p.op, &mut undo).is_err() {
                break;
            }
        }
        rollback(&mut self.view, &undo);
        Seen { rev, before }
    }

    /// The record of a local operation that overwrites, where it applies now, something its
    /// user never saw there (the change at `rev` moved it there, say): the user loses it.
    pub(super) fn relocated(&self, op: &Operation, rev: Revision) -> Conflict {
        Conflict {
            kind: ConflictKind::Overwritten,
            path: op.path().clone(),
            value: op.path().resolve(&self.view).cloned(),
            op: None,
            reason: None,
            winner: Party {
                client: self.client.clone(),
                author: self.name.clone(),
            },
            loser: Party {
                client: self.client.clone(),
                author: self.name.clone(),
            },
            rev,
        }
    }

    /// Each pending move or copy with the node at its destination in the view (followed through
    /// the pending operations after it, which may have shifted it).
    /// Also each pending splice and increment with the whole value it edits, as the view shows
    /// it: a dropped edit inside a value is recorded with the value as its author had it, not
    /// the fragment the edit inserted.
    pub(super) fn taken_nodes(&self) -> Vec<(Operation, Value)> {
        let mut out: Vec<(Operation, Value)> = Vec::new();
        let pending = [&self.inflight, &self.buffer].into_iter().flatten();
        let placed: Vec<&Placed> = pending.flat_map(|p| &p.ops).collect();
        for (i, op) in placed.iter().map(|p| &p.op).enumerate() {
            let inside = matches!(op, Operation::Splice { .. } | Operation::Incr { .. });
            // A typing burst is many splices of one string: its value once is enough.
            let known = inside
                && out
                    .iter()
                    .any(|(o, _)| o.path() == op.path() && o.name() == op.name());
            let at = if op.from().is_some() {
                let mut later = placed.iter().skip(i + 1);
                later.try_fold(op.path().clone(), |at, p| {
                    follow(&at, std::slice::from_ref(*p))
                })
            } else {
                Some(op.path().clone())
            };
            if (op.from().is_some() || inside)
                && !known
                && let Some(value) = at.and_then(|at| at.resolve(&self.view).cloned())
            {
                out.push((op.clone(), value));
            }
        }
        out
    }

    /// What [`Replica::fill_in`] needs for `conflicts`: nothing, unless one of them is a dropped
    /// edit of this replica's inside a value.
    pub(super) fn shown_for(&self, conflicts: &[Conflict]) -> Vec<(Operation, Value)> {
        let mine = conflicts.iter().any(|c| {
            c.loser.client == self.client
                && matches!(
                    c.op,
                    Some(Operation::Splice { .. } | Operation::Incr { .. })
                )
        });
        if !mine {
            return Vec::new();
        }
        // What rebasing here already found of the change in flight, with the whole value.
        let found = self.inflight.iter().flat_map(|p| &p.lost);
        let found = found.filter_map(|c| Some((c.op.clone()?, c.value.clone()?)));
        let mut shown: Vec<(Operation, Value)> = found.collect();
        shown.extend(self.taken_nodes());
        shown
    }

    /// Fills in, for this replica's own dropped edits inside a value (splices, increments)
    /// among `conflicts` (as the relay recorded them, with the fragment the edit carried), the
    /// whole value as this replica's view shows it (`shown`, see [`Replica::taken_nodes`]).
    pub(super) fn fill_in(&self, conflicts: &mut [Conflict], shown: &[(Operation, Value)]) {
        for c in conflicts.iter_mut().filter(|c| {
            c.loser.client == self.client
                && c.kind == ConflictKind::Dropped
                && matches!(
                    c.op,
                    Some(Operation::Splice { .. } | Operation::Incr { .. })
                )
        }) {
            let whole = shown.iter().find(|(op, _)| {
                op.path() == &c.path && op.name() == c.op.as_ref().map_or("", Operation::name)
            });
            if let Some((_, value)) = whole {
                c.value = Some(value.clone());
            }
        }
    }

    /// The record of a local operation that `by` dropped when this replica rebased it.
    /// `taken`: for a move or copy, the node it took, as the view showed it.
    pub(super) fn dropped(
        &self,
        op: Operation,
        reason: DropReason,
        by: &Commit,
        taken: Option<Value>,
    ) -> Conflict {
        let value = match op {
            Operation::Splice { .. } | Operation::Incr { .. } => {
                taken.or_else(|| crate::authority::carried_value(&op))
            }
            _ => crate::authority::carried_value(&op).or(taken),
        };
        Conflict {
            kind: ConflictKind::Dropped,
            path: op.path().clone(),
            value,
            op: Some(op),
            reason: Some(reason),
            winner: Party {
                client: by.client.clone(),
                author: by.author.clone(),
            },
            loser: Party {
                client: self.client.clone(),
                author: self.name.clone(),
            },
            rev: by.rev,
        }
    }
}

/// What a replica notes while it applies its own change, rebased, one operation at a time.
pub(super) struct Noting<'a> {
    /// The operations (indexes into the rebased change) that overwrite something the change at
    /// `rev` moved there.
    pub(super) relocated_at: &'a [usize],
    /// The change the pending one was rebased over.
    pub(super) rev: Revision,
    /// The change as its author made it, to follow its writes in both frames.
    pub(super) following: Option<Following<'a>>,
    /// Operations (indexes into the rebased change) that overwrite a concurrent write, each
    /// with what its user saw it overwrite (see [`Seen`]): finding something else there now,
    /// the user loses it.
    pub(super) seen: &'a [(usize, Option<StateHash>)],
}

/// What each buffered operation overwrote where its user made it, on this replica's own version
/// of the change in flight. When the relay's version of that change replaces it (the relay
/// kept an operation the rebase here had dropped, say), a buffered operation may overwrite
/// there something its user never saw: the user is told.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// The revision of the relay's version.
    pub(super) rev: Revision,
    /// By index into the buffer, for each operation that overwrites a place (see
    /// [`overwrites_place`]): the hash of the value there before it, if any.
    pub(super) before: Vec<(usize, Option<StateHash>)>,
}

/// Whether `p` replaces the value at its path (rather than inserting into an array, or editing
/// inside a value).
fn overwrites_place(p: &Placed) -> bool {
    match p.op {
        Operation::Replace { .. } | Operation::Remove { .. } => true,
        Operation::Add { .. } | Operation::Copy { .. } | Operation::Move { .. } => {
            !p.shape.path_in_array
        }
        _ => false,
    }
}

/// A pending change rebased over someone else's change `by`, followed while it is applied (see
/// `rebase::OwnWrites`): an operation that overwrites what an earlier one of the change wrote,
/// although it did not where the author made it, is a loss of this replica's user, recorded
/// here. One that overwrites a node that a dropped move of the change left in place is a loss
/// of the node's writers, whom only the relay knows: it is claimed (see `Overwrite::node`).
pub(super) struct Following<'a> {
    /// The change as its author made it.
    pub(super) authored: &'a [Placed],
    /// For each rebased operation, the index of the authored one it came from.
    pub(super) sources: &'a [usize],
    /// The nodes dropped moves leave, by the index of the move, where they stay.
    pub(super) stranded: &'a [(usize, Pointer)],
    /// The change it was rebased over.
    pub(super) by: &'a Commit,
}

impl Following<'_> {
    /// Done with authored operation `k`: its node, if it was a dropped move, and its frame.
    fn advance(&self, own: &mut OwnWrites, k: usize) {
        for (_, node) in self.stranded.iter().filter(|(index, _)| *index == k) {
            own.stranded(k, node.clone());
        }
        if let Some(authored) = self.authored.get(k) {
            own.after_authored(k, authored);
        }
    }

    /// The claim that rebased operation `j` (`piece`) overwrites the node at `node`.
    fn claim(&self, j: usize, piece: &Placed, node: &Pointer) -> Overwrite {
        // Relative to what the operation overwrites: all of the node, or a part of it.
        let target = piece.op.path();
        let within = node.tokens().get(target.len()..).unwrap_or_default();
        Overwrite {
            index: j,
            rev: self.by.rev,
            loser: Party {
                client: self.by.client.clone(),
                author: self.by.author.clone(),
            },
            node: Some(Pointer::from_tokens(within.iter().cloned())),
        }
    }
}
