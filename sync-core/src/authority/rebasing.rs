//! Rebasing a submitted change over what happened since its base and applying it: the part of
//! the Authority that decides who loses what (conflict records, claims checked against the log,
//! shapes read where the change was made).

use std::borrow::Cow;

use super::log::{apply_expanded, canonical, carried_value, expand};
use super::{Authority, provenance};
use crate::apply::{ApplyError, apply_op, rollback};
use crate::op::{Change, Operation};
use crate::pointer::Pointer;
use crate::protocol::{ClientId, Conflict, ConflictKind, Overwrite, Party, Revision};
use crate::rebase::{
    Met, Over, OwnWrites, Placed, Shape, Side, expressible, follow, overwrites_at, rebase_carrying,
    transform,
};
use crate::value::Value;

/// A write the sender says an operation of its change overwrote, as the log bears it out.
struct Claim {
    /// The operation, by its index in the change.
    index: usize,
    /// Whose write it was.
    loser: Party,
    /// The overwritten change's index in the log, while it is retained.
    logged: Option<usize>,
    /// A node the operation overwrites instead, relative to its path (see
    /// [`Overwrite::node`]): its writers lose, not `loser`.
    node: Option<Pointer>,
}

impl Authority {
    /// Rebases `ops` (made on `base`) over the changes since, applies them atomically and
    /// records the conflicts met, and those the sender's replica met when it rebased the
    /// change itself (`overwrites`).
    pub(super) fn rebase_and_apply(
        &mut self,
        ops: &[Operation],
        base: Revision,
        overwrites: &[Overwrite],
        me: &Party,
        rev: Revision,
    ) -> Result<Applied, ApplyError> {
        // The log holds revisions oldest+1..=head; the changes since `base` start here.
        let oldest = self.oldest_retained().0;
        let skip = usize::try_from(base.0 - oldest).unwrap_or(usize::MAX);
        let claimed = self.claimed_losers(overwrites, base, &me.client);
        // A merge patch is rebased as the writes it made where its author made it (see
        // `apply_expanded`); the document at `base` then also gives every shape.
        let mut at_base = None;
        let expanded;
        let (ops, origins): (&[Operation], Vec<usize>) =
            if ops.iter().any(|op| matches!(op, Operation::Merge { .. })) {
                let mut doc = self.document_at(base).unwrap_or_else(|| self.doc.clone());
                let (placed, inverse, origins) = apply_expanded(&mut doc, ops.to_vec())?;
                inverse.apply(&mut doc)?;
                at_base = Some(doc);
                expanded = placed.into_iter().map(|p| p.op).collect::<Vec<_>>();
                (&expanded, origins)
            } else {
                (ops, (0..ops.len()).collect())
            };
        let indexed = self.indexed(ops.len());
        // Where something since `base` wrote a container around an operation of the change,
        // the head no longer tells what the operation pointed into: read its shape in the
        // document it was made on instead (rare, so the copy is made only then).
        let mut context = match at_base {
            Some(doc) if !indexed => Some(doc),
            _ => (!indexed && self.wrote_around(ops, skip))
                .then(|| self.document_at(base))
                .flatten(),
        };
        let single_shape = match ops {
            [x] if indexed => Some(self.shape_at_base(x, base)),
            _ => None,
        };
        let Authority {
            doc, log, index, ..
        } = self;
        // What happened since `base`, each operation tagged with the index of its change in
        // the log; borrowed from the log until rebasing changes one. Needed whole only to carry
        // it past the operations of a change of several.
        let mut over: Vec<Over<'_, usize>> = Vec::new();
        if !indexed {
            for (i, entry) in log.iter().enumerate().skip(skip) {
                over.extend(entry.placed.iter().map(|p| (Cow::Borrowed(p), i)));
            }
        }
        let party_of = |i: usize| {
            log.get(i).map(|e| Party {
                client: e.commit.client.clone(),
                author: e.commit.author.clone(),
            })
        };
        let mut undo = Vec::new();
        let mut placed = Vec::new();
        let mut conflicts = Vec::new();
        // The change's own writes, followed where concurrent changes can bring its operations
        // onto each other's values.
        let mut own = (ops.len() > 1 && log.len() > skip).then(OwnWrites::new);
        // Whether an operation applied so far moved or copied something.
        let mut carried = false;
        // Claims of dropped operations, each with the place it overwrote (see below).
        let mut heirless: Vec<(Pointer, &Claim)> = Vec::new();
        for (k, (x, &index_in_change)) in ops.iter().zip(&origins).enumerate() {
            // A claim is about what its operation overwrote: made once, by the first write a
            // merge expanded into.
            let first_of_origin = k == 0 || origins.get(k - 1) != Some(&index_in_change);
            let mut met = Met::default();
            // The node a move or copy takes, where it is now: what its author loses if it is
            // dropped. (Found before rebasing carries what happened since past it.)
            let taken_at = (!indexed && x.from().is_some())
                .then(|| node_place(x, over.iter().map(|(y, _)| y.as_ref())))
                .flatten();
            let taken = taken_at.as_ref().and_then(|at| at.resolve(doc).cloned());
            // The nodes the sender says x overwrites (see `Overwrite::node`), named where x was
            // made: where they are now, followed through what happened since.
            let nodes: Vec<Pointer> = claimed
                .iter()
                .filter(|c| first_of_origin && c.index == index_in_change)
                .filter_map(|c| c.node.as_ref())
                .filter_map(|node| {
                    let at = Pointer::from_tokens(
                        x.path().tokens().iter().chain(node.tokens()).cloned(),
                    );
                    if indexed {
                        let since = log.iter().skip(skip).flat_map(|e| e.placed.iter());
                        provenance::follow_through(&at, since)
                    } else {
                        provenance::follow_through(&at, over.iter().map(|(y, _)| y.as_ref()))
                    }
                })
                .collect();
            let mut authored = None;
            let pieces = if indexed {
                // Visit only the changes that touch what x (as rebased so far) touches.
                let mut pieces = vec![Placed {
                    op: x.clone(),
                    shape: single_shape.unwrap_or_else(|| Shape::of(x, doc)),
                }];
                let mut from = base.0 + 1;
                while !pieces.is_empty()
                    && let Some(rev) = index.next(&pieces, from)
                {
                    let i = usize::try_from(rev - oldest - 1).unwrap_or(usize::MAX);
                    let entry = log.get(i).map(|e| e.placed.as_slice()).unwrap_or_default();
                    let entry = entry.iter().map(|p| (Cow::Borrowed(p), i)).collect();
                    pieces = transform(pieces, entry, Side::Later, &mut met).0;
                    from = rev + 1;
                }
                expressible(pieces)
            } else {
                let shape = match &mut context {
                    Some(context) => {
                        let shape = Shape::of(x, context);
                        // Valid where it was made; if not, applying it below says so.
                        let _ = Change(vec![x.clone()]).apply(context);
                        shape
                    }
                    None => shape_in_context(x, &over, doc),
                };
                authored = Some(shape);
                rebase_carrying(
                    &Placed {
                        op: x.clone(),
                        shape,
                    },
                    &mut over,
                    Side::Later,
                    &mut met,
                )
            };
            let authored = authored.map(|shape| Placed {
                op: x.clone(),
                shape,
            });
            if pieces.is_empty() {
                if let (Some(own), Some(authored)) = (&mut own, &authored) {
                    // A dropped move leaves its node where it was.
                    if let (Operation::Move { .. }, Some(at)) = (x, &taken_at)
                        && at.resolve(doc).is_some()
                    {
                        own.stranded(k, at.clone());
                    }
                    own.after_authored(k, authored);
                }
                if let Some((reason, origin)) = met.dropped
                    && let Some(winner) = party_of(origin)
                {
                    let since = || log.iter().skip(skip).flat_map(|e| e.placed.iter());
                    let value = carried_value(x).or(taken).or_else(|| {
                        indexed
                            .then(|| node_place(x, since()))
                            .flatten()
                            .and_then(|at| at.resolve(doc).cloned())
                    });
                    conflicts.push(Conflict {
                        kind: ConflictKind::Dropped,
                        path: x.path().clone(),
                        value,
                        op: Some(x.clone()),
                        reason: Some(reason),
                        winner,
                        loser: me.clone(),
                        rev,
                    });
                }
                heirless.extend(
                    claimed
                        .iter()
                        .filter(|c| first_of_origin && c.index == index_in_change)
                        .filter(|c| c.node.is_none())
                        .map(|c| (x.path().clone(), c)),
                );
                continue;
            }
            // Whose writes the first piece overwrites: found here, or claimed by the sender.
            let mut losers: Vec<Party> =
                met.overwrote.iter().filter_map(|&i| party_of(i)).collect();
            // Something moved into what x overwrites was not there when x was made: its sender
            // loses it too.
            let mut relocated = !met.relocated.is_empty();
            // The changes x overwrote, found here or claimed: the writers of what their moves
            // carried into x's target lose it too. (Every overwritten change is asked, not only
            // those met as moves: carried past x's change, a move whose source that change took
            // is only the value it left at its destination.)
            let mut overwritten = met.relocated.clone();
            overwritten.extend(met.overwrote.iter().filter(|i| !met.relocated.contains(i)));
            let mut nodes = nodes.into_iter();
            let mut to_check = Vec::new();
            // Claims of earlier operations that were dropped pass to the first later one that
            // overwrites their place (or above), as the replica passes them: it overwrites what
            // they would have.
            let heir = first_of_origin && x.replaces_place();
            let inherits = |place: &Pointer| heir && x.path().is_prefix_of(place);
            let passed = heirless.iter().filter(|(place, _)| inherits(place));
            let passed: Vec<&Claim> = passed.map(|&(_, c)| c).collect();
            heirless.retain(|(place, _)| !inherits(place));
            let its_own = claimed
                .iter()
                .filter(|c| first_of_origin && c.index == index_in_change);
            for claim in its_own.chain(passed) {
                match (&claim.node, claim.logged) {
                    (Some(_), _) => {}
                    // Borne out below: that change wrote into what x overwrites.
                    (None, Some(logged)) if log.len() - logged <= provenance::LOOKBACK => {
                        to_check.push((claim.loser.clone(), logged));
                        overwritten.push(logged);
                    }
                    (None, logged) => {
                        losers.push(claim.loser.clone());
                        overwritten.extend(logged);
                    }
                }
            }
            for piece in pieces {
                let op = canonical(piece.op, doc);
                let piece = Placed {
                    shape: Shape::of(&op, doc),
                    op,
                };
                // An earlier write of the change that this piece overwrites only because of
                // what it was rebased over: lost, and the sender is told.
                if let Some(own) = &mut own {
                    // Inside a value the change itself wrote whole, nobody else's write stands.
                    if own.holds(piece.op.path()) {
                        losers.clear();
                        overwritten.clear();
                        to_check.clear();
                    }
                    let unmeant = own.overwrites_unmeant(k, &piece, x, Some(doc));
                    relocated |= unmeant.own;
                    for node in &unmeant.stranded {
                        losers.extend(provenance::writers_of(log, &placed, node));
                    }
                }
                // An earlier operation of the change moved or copied something under what
                // this one overwrites: work the author never saw may have come with it.
                if carried && overwrites_at(&piece, Some(doc)).is_some() {
                    let unseen = (skip..log.len()).chain(claimed.iter().filter_map(|c| c.logged));
                    losers.extend(provenance::unseen_writers(
                        log,
                        unseen,
                        &placed,
                        piece.op.path(),
                    ));
                }
                for (loser, logged) in to_check.drain(..) {
                    if provenance::wrote_into(log, logged, &placed, piece.op.path()) {
                        losers.push(loser);
                    }
                }
                for at in nodes.by_ref() {
                    // Only what the operation overwrites.
                    if piece.op.path().is_prefix_of(&at) && at.resolve(doc).is_some() {
                        losers.extend(provenance::writers_of(log, &placed, &at));
                    }
                }
                for mover in overwritten.drain(..) {
                    losers.extend(provenance::writers_moved_into(
                        log,
                        mover,
                        &placed,
                        piece.op.path(),
                    ));
                }
                if std::mem::take(&mut relocated) {
                    conflicts.push(Conflict {
                        kind: ConflictKind::Overwritten,
                        path: piece.op.path().clone(),
                        value: piece.op.path().resolve(doc).cloned(),
                        op: None,
                        reason: None,
                        winner: me.clone(),
                        loser: me.clone(),
                        rev,
                    });
                }
                if !losers.is_empty() {
                    let before = piece.op.path().resolve(doc).cloned();
                    let mut seen: Vec<ClientId> = Vec::new();
                    for loser in losers.drain(..) {
                        if loser.client == me.client || seen.contains(&loser.client) {
                            continue;
                        }
                        seen.push(loser.client.clone());
                        conflicts.push(Conflict {
                            kind: ConflictKind::Overwritten,
                            path: piece.op.path().clone(),
                            value: before.clone(),
                            op: None,
                            reason: None,
                            winner: me.clone(),
                            loser,
                            rev,
                        });
                    }
                }
                let start = undo.len();
                if let Err(kind) = apply_op(doc, &piece.op, &mut undo) {
                    rollback(doc, &undo);
                    return Err(ApplyError::new(index_in_change, x, kind));
                }
                let at = placed.len();
                carried |= matches!(piece.op, Operation::Move { .. } | Operation::Copy { .. });
                placed.extend(expand(
                    piece.op,
                    piece.shape,
                    undo.get(start..).unwrap_or_default(),
                    doc,
                ));
                if let Some(own) = &mut own {
                    for piece in placed.get(at..).unwrap_or_default() {
                        own.after_applied(k, piece);
                    }
                }
            }
            if let (Some(own), Some(authored)) = (&mut own, &authored) {
                own.after_authored(k, authored);
            }
        }
        undo.reverse();
        Ok(Applied {
            placed,
            inverse: Change(undo),
            conflicts,
        })
    }

    /// Whether a change logged after the first `skip` ones wrote at or above a container that
    /// an operation of `ops` points into.
    fn wrote_around(&self, ops: &[Operation], skip: usize) -> bool {
        let containers = containers(ops);
        self.log
            .iter()
            .skip(skip)
            .flat_map(|e| &e.placed)
            .any(|y| writes_around(&y.op, &containers))
    }

    /// The shape of `x`, a one-operation change made on `base`. Read in the head unless a change
    /// since wrote around what `x` points into (found through the index, so it costs nothing
    /// when nothing did); then in the document at `base`.
    fn shape_at_base(&self, x: &Operation, base: Revision) -> Shape {
        let placed = [Placed {
            op: x.clone(),
            shape: Shape::of(x, &self.doc),
        }];
        // Only adds, moves, copies and merges rebase differently by what they point into.
        if !matches!(
            x,
            Operation::Add { .. }
                | Operation::Move { .. }
                | Operation::Copy { .. }
                | Operation::Merge { .. }
        ) {
            return placed[0].shape;
        }
        let containers = containers(std::slice::from_ref(x));
        let mut from = base.0 + 1;
        while let Some(rev) = self.index.next(&placed, from) {
            let wrote = self.entry(Revision(rev)).is_some_and(|entry| {
                entry
                    .placed
                    .iter()
                    .any(|y| writes_around(&y.op, &containers))
            });
            if wrote {
                return self
                    .document_at(base)
                    .map_or(placed[0].shape, |doc| Shape::of(x, &doc));
            }
            from = rev + 1;
        }
        placed[0].shape
    }

    /// The writes a submitter says its change overwrote, as (operation index, whose write).
    /// A claim names a change no later than the submission's base (later ones the Authority
    /// rebases over itself) and someone else's; where the change is still retained, the log
    /// says whose it was.
    fn claimed_losers(
        &self,
        overwrites: &[Overwrite],
        base: Revision,
        me: &ClientId,
    ) -> Vec<Claim> {
        overwrites
            .iter()
            .filter(|o| o.rev <= base && o.rev > Revision(0))
            .filter_map(|o| {
                let (loser, logged) = match self.entry(o.rev) {
                    Some(entry) => (
                        Party {
                            client: entry.commit.client.clone(),
                            author: entry.commit.author.clone(),
                        },
                        o.rev
                            .0
                            .checked_sub(self.oldest_retained().0 + 1)
                            .and_then(|i| usize::try_from(i).ok()),
                    ),
                    None if o.rev >= self.oldest_retained() => return None,
                    None => (o.loser.clone(), None),
                };
                (loser.client != *me).then_some(Claim {
                    index: o.index,
                    loser,
                    logged,
                    node: o.node.clone(),
                })
            })
            .collect()
    }
}

/// Where the node that the move or copy `x` takes is now: its source followed through
/// `through` (what happened since `x` was made).
fn node_place<'a>(x: &Operation, through: impl Iterator<Item = &'a Placed>) -> Option<Pointer> {
    provenance::follow_through(x.from()?, through)
}

/// The containers the operations point into: the parents of their locations, and the target
/// of a merge (whether it is an object decides what the merge does).
fn containers(ops: &[Operation]) -> Vec<Pointer> {
    ops.iter()
        .flat_map(|x| {
            let target = matches!(x, Operation::Merge { .. }).then(|| x.path().clone());
            [
                x.path().parent(),
                x.from().and_then(Pointer::parent),
                target,
            ]
        })
        .flatten()
        .collect()
}

/// Whether `y` wrote a value at or above one of `containers` (so that what is there now may
/// not be what was there before).
/// Array indexes are compared as equal: the operations of a change name places after its own
/// earlier operations, where indexes may have moved.
fn writes_around(y: &Operation, containers: &[Pointer]) -> bool {
    let index = |t: &str| t == "-" || (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
    let above = |p: &Pointer, c: &Pointer| {
        let (yt, ct) = (p.tokens(), c.tokens());
        yt.len() <= ct.len()
            && yt
                .iter()
                .zip(ct)
                .all(|(a, b)| a == b || (index(a) && index(b)))
    };
    let wrote = !matches!(
        y,
        Operation::Splice { .. } | Operation::Incr { .. } | Operation::Test { .. }
    ) && containers.iter().any(|c| above(y.path(), c));
    // A move also takes its node away from its source.
    let took = matches!(y, Operation::Move { .. })
        && y.from()
            .is_some_and(|from| containers.iter().any(|c| above(from, c)));
    wrote || took
}

/// The shape of `x`, an operation of a change made on an older revision, where it applies:
/// its locations followed through `over` (what happened since its base, carried past the
/// change's earlier operations) and read in `doc` (the head, with those operations applied).
fn shape_in_context(x: &Operation, over: &[Over<'_, usize>], doc: &Value) -> Shape {
    let now = |p: Pointer| {
        over.iter()
            .try_fold(p, |q, (y, _)| follow(&q, std::slice::from_ref(y.as_ref())))
    };
    let is = |p: Option<Pointer>, array: bool| match p
        .and_then(now)
        .as_ref()
        .and_then(|p| p.resolve(doc))
    {
        Some(Value::Array(_)) => array,
        Some(Value::Object(_)) => !array,
        _ => false,
    };
    // A move into its own node is a cycle (see `Shape::dest_in_node`); any other move's
    // destination is read where that place is while the node is still there.
    let dest_in_node =
        matches!(x, Operation::Move { from, path, .. } if from.is_proper_prefix_of(path));
    let dest = (!dest_in_node)
        .then(|| crate::rebase::moved_destination(x))
        .flatten();
    let path_in_array = is(dest.as_ref().unwrap_or(x.path()).parent(), true);
    let exists = || {
        now(x.path().clone())
            .as_ref()
            .is_some_and(|p| p.resolve(doc).is_some())
    };
    Shape {
        path_in_array,
        from_in_array: x.from().is_some_and(|from| is(from.parent(), true)),
        replaces_target: matches!(x, Operation::Merge { .. }) && !is(Some(x.path().clone()), false),
        dest_in_node,
        replaces_member: matches!(x, Operation::Add { .. } | Operation::Copy { .. })
            && !path_in_array
            && exists(),
        undone: false,
    }
}

/// A change as rebased and applied.
pub(super) struct Applied {
    /// Its operations as applied (merges expanded), with their shapes.
    pub(super) placed: Vec<Placed>,
    /// What takes them off again.
    pub(super) inverse: Change,
    /// The conflicts met.
    pub(super) conflicts: Vec<Conflict>,
}
