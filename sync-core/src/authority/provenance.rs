//! Whose work a concurrent move carried into what a change overwrites.
//!
//! When a change overwrites or removes a value, the writers of what it held lose their work and
//! are told. If a concurrent move put a node inside that value, the node's own writers lose
//! their work too, though the change never touched where they wrote it: they are found by
//! following every retained write forward to the moment of the move and keeping those that
//! landed inside the moved node or hold it (the move took a part of their value). (Rare, so the walk over the log is only made then, and only
//! over the [`LOOKBACK`] changes before the move: each one followed to the move costs a pass
//! over what lies between, and a sender must not be able to make the room do that for the
//! whole log at every submit.)

use std::collections::VecDeque;

use super::Entry;
use crate::op::Operation;
use crate::pointer::Pointer;
use crate::protocol::Party;
use crate::rebase::{Placed, follow};

/// How many changes before a move are searched for the writers of what it carried.
pub(super) const LOOKBACK: usize = 64;

/// The writers of the nodes that the moves of the change at `mover` (an index into `log`) put
/// at or below `target`, a location in the document after the whole log and then `applied`
/// (the operations of the change being applied that came before the one at `target`).
pub(super) fn writers_moved_into(
    log: &VecDeque<Entry>,
    mover: usize,
    applied: &[Placed],
    target: &Pointer,
) -> Vec<Party> {
    let Some(entry) = log.get(mover) else {
        return Vec::new();
    };
    let mut writers = Vec::new();
    for (k, placed) in entry.placed.iter().enumerate() {
        let Operation::Move { from, path, .. } = &placed.op else {
            continue;
        };
        let after = ops_between(log, (mover, k + 1), (log.len(), 0)).chain(applied);
        let lands = follow_through(path, after).is_some_and(|at| target.is_prefix_of(&at));
        if !lands {
            continue;
        }
        let first = mover.saturating_sub(LOOKBACK);
        for (j, earlier) in log.iter().enumerate().take(mover + 1).skip(first) {
            let party = Party {
                client: earlier.commit.client.clone(),
                author: earlier.commit.author.clone(),
            };
            let end = if j == mover { k } else { earlier.placed.len() };
            for (m, write) in earlier.placed.iter().enumerate().take(end) {
                let Some(at) = write.op.written_at() else {
                    continue;
                };
                let between = ops_between(log, (j, m + 1), (mover, k));
                // Inside the moved node, or holding it: either way the move carried the write's
                // value (all of it, or a part).
                if landings(at, between).iter().any(|at| at.overlaps(from))
                    && !writers.contains(&party)
                {
                    writers.push(party.clone());
                }
            }
        }
    }
    writers
}

/// The writers of the node at `node`, a location in the document after the whole log and then
/// `applied`: the retained writes of the last [`LOOKBACK`] changes that are inside it or hold it
/// there.
pub(super) fn writers_of(log: &VecDeque<Entry>, applied: &[Placed], node: &Pointer) -> Vec<Party> {
    let mut writers: Vec<Party> = Vec::new();
    let first = log.len().saturating_sub(LOOKBACK);
    for (j, entry) in log.iter().enumerate().skip(first) {
        let wrote = entry.placed.iter().enumerate().any(|(m, write)| {
            write.op.written_at().is_some_and(|at| {
                let after = ops_between(log, (j, m + 1), (log.len(), 0)).chain(applied);
                landings(at, after).iter().any(|at| at.overlaps(node))
            })
        });
        let party = Party {
            client: entry.commit.client.clone(),
            author: entry.commit.author.clone(),
        };
        if wrote && !writers.contains(&party) {
            writers.push(party);
        }
    }
    writers
}

/// Whether a write of the change at `logged` (an index into `log`) is at, inside or around
/// `target`, a location in the document after the whole log and then `applied`: whether
/// overwriting `target` takes something that change wrote.
pub(super) fn wrote_into(
    log: &VecDeque<Entry>,
    logged: usize,
    applied: &[Placed],
    target: &Pointer,
) -> bool {
    let Some(entry) = log.get(logged) else {
        return false;
    };
    entry.placed.iter().enumerate().any(|(m, write)| {
        write.op.written_at().is_some_and(|at| {
            let after = ops_between(log, (logged, m + 1), (log.len(), 0)).chain(applied);
            landings(at, after).iter().any(|at| at.overlaps(target))
        })
    })
}

/// The writers of the changes at `unseen` (indexes into `log`: changes the author of the
/// change being applied never saw) whose work stands at, inside or around `target` now, in the
/// document after the whole log and then `applied`. Only the last [`LOOKBACK`] changes are
/// asked.
pub(super) fn unseen_writers(
    log: &VecDeque<Entry>,
    unseen: impl Iterator<Item = usize>,
    applied: &[Placed],
    target: &Pointer,
) -> Vec<Party> {
    let first = log.len().saturating_sub(LOOKBACK);
    let mut writers: Vec<Party> = Vec::new();
    for logged in unseen.filter(|&i| i >= first) {
        let Some(entry) = log.get(logged) else {
            continue;
        };
        let party = Party {
            client: entry.commit.client.clone(),
            author: entry.commit.author.clone(),
        };
        if !writers.contains(&party) && wrote_into(log, logged, applied, target) {
            writers.push(party);
        }
    }
    writers
}

/// The logged operations from `start` up to (not including) `end`, each a position (change,
/// operation) in `log`.
fn ops_between(
    log: &VecDeque<Entry>,
    start: (usize, usize),
    end: (usize, usize),
) -> impl Iterator<Item = &Placed> {
    log.iter()
        .enumerate()
        .skip(start.0)
        .take_while(move |(j, _)| *j <= end.0)
        .flat_map(move |(j, entry)| {
            let from = if j == start.0 { start.1 } else { 0 };
            let to = if j == end.0 {
                end.1
            } else {
                entry.placed.len()
            };
            entry.placed.get(from..to).unwrap_or_default()
        })
}

/// How many places one write is followed to at most, through the copies made of it.
const LANDINGS: usize = 8;

/// Where what was written at `path` is after `through`: where the node went, and where copies
/// of it (or of what holds it) were made, up to [`LANDINGS`] places. A write copied and then
/// overwritten where it was is still someone's work in the copy.
fn landings<'a>(path: &Pointer, through: impl Iterator<Item = &'a Placed>) -> Vec<Pointer> {
    let mut at = vec![path.clone()];
    for y in through {
        let copies: Vec<Pointer> = match &y.op {
            // A copy of what holds the write holds it at the same place inside; a copy of a
            // part of the write is a part of it.
            Operation::Copy { from, path } => at
                .iter()
                .filter_map(|a| match a.tokens().get(from.len()..) {
                    Some(within) if from.is_prefix_of(a) => Some(Pointer::from_tokens(
                        path.tokens().iter().chain(within).cloned(),
                    )),
                    _ => a.is_prefix_of(from).then(|| path.clone()),
                })
                .collect(),
            _ => Vec::new(),
        };
        at.retain_mut(|a| match follow(a, std::slice::from_ref(y)) {
            Some(next) => {
                *a = next;
                true
            }
            None => false,
        });
        for copy in copies {
            if at.len() < LANDINGS && !at.contains(&copy) {
                at.push(copy);
            }
        }
        if at.is_empty() {
            break;
        }
    }
    at
}

/// Where the node at `path` is after `through`; `None` once it is gone.
pub(super) fn follow_through<'a>(
    path: &Pointer,
    mut through: impl Iterator<Item = &'a Placed>,
) -> Option<Pointer> {
    through.try_fold(path.clone(), |at, y| follow(&at, std::slice::from_ref(y)))
}
