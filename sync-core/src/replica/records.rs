//! The conflict records a replica makes itself: for the work it rebases before sending (what
//! a foreign change dropped of it, or moved into what it overwrites), and the whole values
//! that the relay's records of its own dropped edits leave out.

use super::{Inverse, Replica};
use crate::apply::ApplyError;
use crate::authority::apply_placed;
use crate::op::{Change, Operation};
use crate::protocol::{Commit, Conflict, ConflictKind, Party, Revision};
use crate::rebase::{DropReason, Placed, follow};
use crate::value::Value;

impl Replica {
    /// Applies `ops` one by one (all or nothing), noting for each index in `at` what it
    /// overwrites: something the change at `rev` moved there, which this replica's user never
    /// saw there and loses.
    pub(super) fn apply_noting(
        &mut self,
        ops: Vec<Operation>,
        at: &[usize],
        rev: Revision,
        lost: &mut Vec<Conflict>,
    ) -> Result<(Vec<Placed>, Change), ApplyError> {
        let mut placed = Vec::with_capacity(ops.len());
        let mut inverse = Inverse::default();
        let mut noted = Vec::new();
        for (k, op) in ops.into_iter().enumerate() {
            if at.contains(&k) {
                noted.push(self.relocated(&op, rev));
            }
            match apply_placed(&mut self.view, vec![op]) {
                Ok((p, inv)) => {
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
        Ok((placed, Change(inverse.ops())))
    }

    /// The record of a local operation that overwrites, where it applies now, something the
    /// change at `rev` moved there: this replica's user never saw it there and loses it.
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
