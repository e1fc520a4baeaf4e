//! The Authority: one per document, in the relay. It orders changes, rebases them, applies them
//! and says who to tell what. It does no IO: the relay persists what [`Outcome::Applied`]
//! carries *before* sending its messages, and restores an Authority with
//! [`Authority::restore`] after a restart.
//!
//! ```
//! use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};
//! use sync_core::protocol::{ClientId, Revision, Role, ServerMessage};
//! use sync_core::{Change, Value};
//!
//! let mut authority = Authority::new(Value::parse(r#"{"items": []}"#)?, AuthorityConfig::default());
//! let ann = ClientId::from("ann");
//! let ops = Change::from_json(r#"[{"op": "add", "path": "/items/-", "value": "milk"}]"#)?.0;
//! let outcome = authority.submit(&Submission {
//!     client: &ann, author: "Ann", role: Role::Write, seq: 1, base_rev: Revision(0), ops,
//!     overwrites: &[], now: 0,
//! });
//! let Outcome::Applied { commit, ack, .. } = outcome else { panic!("applies") };
//! assert_eq!(commit.rev, Revision(1));
//! // The append was recorded at its concrete index, so everyone rebases over the same thing.
//! assert_eq!(Change(commit.ops).to_json(), r#"[{"op":"add","path":"/items/0","value":"milk"}]"#);
//! assert!(matches!(ack, ServerMessage::Ack { seq: 1, .. }));
//! assert_eq!(authority.document().to_json(), r#"{"items":["milk"]}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::apply::{ApplyError, apply_op, rollback};
use crate::op::{Change, Operation};
use crate::pointer::Pointer;
use crate::presence::Presence;
use crate::protocol::{
    CatchUp, ClientId, Commit, Conflict, ConflictKind, Overwrite, PROTOCOL_VERSION, Party,
    Revision, Role, ServerMessage, StateHash, state_hash,
};
use crate::rebase::{Met, Over, Placed, Shape, Side, follow, rebase_carrying, transform};
use crate::value::Value;

mod index;
mod log;
mod provenance;

use index::WriteIndex;
pub(crate) use log::apply_expanded;
pub(crate) use log::carried_value;
pub use log::{apply_placed, canonical};
use log::{expand, place_and_apply};

/// Tuning of an [`Authority`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityConfig {
    /// Changes kept in memory: replicas within this many revisions catch up by changes and
    /// submits based on them can be rebased; older ones get a snapshot.
    pub retained: usize,
    /// Acks and broadcasts carry the state hash at most every this many revisions...
    pub hash_every: u64,
    /// ...and at most this often (milliseconds of the `now` given to [`Authority::submit`]).
    /// Hashing reads the whole document, so both bounds keep its cost a small share of the
    /// work however large the document and however busy the room.
    pub hash_interval_ms: u64,
    /// Presence entries not heard from for this long (milliseconds) expire.
    pub presence_timeout_ms: u64,
}

impl Default for AuthorityConfig {
    fn default() -> AuthorityConfig {
        AuthorityConfig {
            retained: 1024,
            hash_every: 64,
            hash_interval_ms: 1000,
            presence_timeout_ms: 30_000,
        }
    }
}

/// The last change of a client that the document applied: the exactly-once record. The relay
/// persists it in the same transaction as the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    /// The client's sequence number for it.
    pub seq: u64,
    /// The revision it produced.
    pub rev: Revision,
}

/// One change submitted by a replica.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    /// The submitting replica.
    pub client: &'a ClientId,
    /// Its author's display name.
    pub author: &'a str,
    /// What the connection may do.
    pub role: Role,
    /// The replica's sequence number for the change.
    pub seq: u64,
    /// The revision the change was made on.
    pub base_rev: Revision,
    /// The change.
    pub ops: Vec<Operation>,
    /// Writes of others that the sender's replica found the change overwrote when it rebased
    /// the change itself, before sending it (see [`Overwrite`]).
    pub overwrites: &'a [Overwrite],
    /// Now, in milliseconds since the Unix epoch.
    pub now: u64,
}

/// What to do after a submission.
// Returned once per submission and consumed at once; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Applied as `commit`. Make `commit` (and the client's record) durable, then send `ack` to
    /// the submitter and `broadcast` to everyone else.
    Applied {
        /// The change as applied.
        commit: Commit,
        /// For the submitter.
        ack: ServerMessage,
        /// For everyone else.
        broadcast: ServerMessage,
    },
    /// Already applied (a resend after a lost ack): send `ack` again. Nothing to persist.
    Duplicate {
        /// The original answer.
        ack: ServerMessage,
    },
    /// Not applied, nothing of it: send `reject` to the submitter.
    Rejected {
        /// The answer.
        reject: ServerMessage,
    },
}

/// Why an Authority could not be restored from storage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// The log skips or repeats a revision.
    #[error("the log jumps from {expected} to {found}")]
    Gap {
        /// The revision that should come next.
        expected: Revision,
        /// The revision found.
        found: Revision,
    },
    /// A logged change no longer applies: the stored data is inconsistent.
    #[error("change {rev} does not apply: {error}")]
    Corrupt {
        /// The change's revision.
        rev: Revision,
        /// Why.
        error: ApplyError,
    },
}

/// A write the sender says an operation of its change overwrote, as the log bears it out.
struct Claim {
    /// The operation, by its index in the change.
    index: usize,
    /// Whose write it was.
    loser: Party,
    /// The overwritten change's index in the log, while it is retained.
    logged: Option<usize>,
}

struct Entry {
    commit: Commit,
    placed: Vec<Placed>,
    inverse: Change,
}

/// The server-side state machine of one document.
pub struct Authority {
    doc: Value,
    rev: Revision,
    log: VecDeque<Entry>,
    /// Where the retained changes wrote.
    index: WriteIndex,
    /// The revision and time of the last change that carried the state hash.
    last_hash: (Revision, u64),
    clients: HashMap<ClientId, ClientRecord>,
    presence: Presence,
    config: AuthorityConfig,
    /// Rebase every change by visiting everything since its base (the index is checked against
    /// this in tests).
    #[cfg(test)]
    scan_all: bool,
}

impl Authority {
    /// A new document at revision 0.
    pub fn new(doc: Value, config: AuthorityConfig) -> Authority {
        Authority::at(doc, Revision(0), config)
    }

    fn at(doc: Value, rev: Revision, config: AuthorityConfig) -> Authority {
        Authority {
            doc,
            rev,
            log: VecDeque::new(),
            index: WriteIndex::default(),
            last_hash: (rev, 0),
            clients: HashMap::new(),
            presence: Presence::new(config.presence_timeout_ms),
            config,
            #[cfg(test)]
            scan_all: false,
        }
    }

    /// Rebuilds the Authority from durable state: a snapshot at `rev`, the changes logged after
    /// it (in order), and the clients' exactly-once records.
    pub fn restore(
        snapshot: Value,
        rev: Revision,
        log: impl IntoIterator<Item = Commit>,
        clients: impl IntoIterator<Item = (ClientId, ClientRecord)>,
        config: AuthorityConfig,
    ) -> Result<Authority, RestoreError> {
        let mut authority = Authority::at(snapshot, rev, config);
        authority.clients.extend(clients);
        for commit in log {
            let expected = authority.rev.next();
            if commit.rev != expected {
                return Err(RestoreError::Gap {
                    expected,
                    found: commit.rev,
                });
            }
            let (placed, inverse) = place_and_apply(&mut authority.doc, commit.ops.clone())
                .map_err(|error| RestoreError::Corrupt {
                    rev: commit.rev,
                    error,
                })?;
            let record = ClientRecord {
                seq: commit.seq,
                rev: commit.rev,
            };
            let newer = authority
                .clients
                .get(&commit.client)
                .is_none_or(|r| r.seq < commit.seq);
            if newer {
                authority.clients.insert(commit.client.clone(), record);
            }
            authority.rev = commit.rev;
            authority.push(Entry {
                commit,
                placed,
                inverse,
            });
        }
        Ok(authority)
    }

    /// The document at the head revision.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// The head revision.
    pub fn rev(&self) -> Revision {
        self.rev
    }

    /// The exactly-once records, for persisting.
    pub fn clients(&self) -> &HashMap<ClientId, ClientRecord> {
        &self.clients
    }

    /// The oldest revision a replica may hold and still catch up by changes.
    pub fn oldest_retained(&self) -> Revision {
        Revision(self.rev.0 - self.log.len() as u64)
    }

    /// The state hash at the head revision.
    pub fn state_hash(&self) -> StateHash {
        state_hash(&self.doc)
    }

    /// Orders, rebases and applies a submitted change.
    pub fn submit(&mut self, s: &Submission<'_>) -> Outcome {
        let reject = |code: &str, message: String| Outcome::Rejected {
            reject: ServerMessage::Reject {
                seq: s.seq,
                code: code.to_owned(),
                message,
            },
        };
        if s.role == Role::Read {
            return reject(
                "read_only",
                "this connection may only read the document".to_owned(),
            );
        }
        if let Some(record) = self.clients.get(s.client).copied() {
            if s.seq == record.seq {
                return Outcome::Duplicate {
                    ack: self.original_ack(s.seq, record.rev),
                };
            }
            if s.seq < record.seq {
                return reject(
                    "stale_seq",
                    format!(
                        "change {} is older than change {} already applied",
                        s.seq, record.seq
                    ),
                );
            }
        }
        if s.base_rev > self.rev {
            return reject(
                "base_ahead",
                format!(
                    "base revision {} is ahead of the document ({})",
                    s.base_rev, self.rev
                ),
            );
        }
        if s.base_rev < self.oldest_retained() {
            return reject(
                "base_too_old",
                format!(
                    "base revision {} is older than the oldest kept ({}); resync and resubmit",
                    s.base_rev,
                    self.oldest_retained()
                ),
            );
        }
        let rev = self.rev.next();
        let me = Party {
            client: s.client.clone(),
            author: s.author.to_owned(),
        };
        let applied = match self.rebase_and_apply(&s.ops, s.base_rev, s.overwrites, &me, rev) {
            Ok(applied) => applied,
            Err(e) => return reject(e.code(), e.to_string()),
        };
        let commit = Commit {
            rev,
            client: s.client.clone(),
            seq: s.seq,
            author: s.author.to_owned(),
            time: s.now,
            ops: applied.placed.iter().map(|p| p.op.clone()).collect(),
            conflicts: applied.conflicts,
        };
        self.rev = rev;
        self.clients
            .insert(s.client.clone(), ClientRecord { seq: s.seq, rev });
        self.presence.touch(s.client, s.now);
        let hash = self.hash_due(rev, s.now).then(|| self.state_hash());
        let ack = ServerMessage::Ack {
            seq: s.seq,
            rev,
            ops: (commit.ops != s.ops).then(|| commit.ops.clone()),
            conflicts: commit.conflicts.clone(),
            hash,
        };
        let broadcast = ServerMessage::Applied {
            commit: commit.clone(),
            hash,
        };
        self.push(Entry {
            commit: commit.clone(),
            placed: applied.placed,
            inverse: applied.inverse,
        });
        Outcome::Applied {
            commit,
            ack,
            broadcast,
        }
    }

    fn push(&mut self, entry: Entry) {
        self.index.insert(entry.commit.rev.0, &entry.placed);
        self.log.push_back(entry);
        while self.log.len() > self.config.retained {
            if let Some(old) = self.log.pop_front() {
                self.index.remove_oldest(old.commit.rev.0, &old.placed);
            }
        }
    }

    /// Whether the change at `rev`, made at `now`, carries the state hash (recording that it
    /// does).
    fn hash_due(&mut self, rev: Revision, now: u64) -> bool {
        let (last_rev, last_time) = self.last_hash;
        let due = rev.0 >= last_rev.0 + self.config.hash_every.max(1)
            && now >= last_time.saturating_add(self.config.hash_interval_ms);
        if due {
            self.last_hash = (rev, now);
        }
        due
    }

    /// Whether a change of `n` operations is rebased through the index (one operation needs
    /// nothing carried past it, so only the changes that touch it matter).
    fn indexed(&self, n: usize) -> bool {
        #[cfg(test)]
        if self.scan_all {
            return false;
        }
        n == 1
    }

    fn entry(&self, rev: Revision) -> Option<&Entry> {
        let index = rev.0.checked_sub(self.oldest_retained().0 + 1)?;
        self.log.get(usize::try_from(index).ok()?)
    }

    fn original_ack(&self, seq: u64, rev: Revision) -> ServerMessage {
        let commit = self.entry(rev).map(|e| &e.commit);
        ServerMessage::Ack {
            seq,
            rev,
            ops: commit.map(|c| c.ops.clone()),
            conflicts: commit.map(|c| c.conflicts.clone()).unwrap_or_default(),
            hash: None,
        }
    }

    /// Rebases `ops` (made on `base`) over the changes since, applies them atomically and
    /// records the conflicts met, and those the sender's replica met when it rebased the
    /// change itself (`overwrites`).
    fn rebase_and_apply(
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
        for (k, (x, &index_in_change)) in ops.iter().zip(&origins).enumerate() {
            // A claim is about what its operation overwrote: made once, by the first write a
            // merge expanded into.
            let first_of_origin = k == 0 || origins.get(k - 1) != Some(&index_in_change);
            let mut met = Met::default();
            // The node a move or copy takes, where it is now: what its author loses if it is
            // dropped. (Found before rebasing carries what happened since past it.)
            let taken = (!indexed && x.from().is_some())
                .then(|| node_now(x, over.iter().map(|(y, _)| y.as_ref()), doc))
                .flatten();
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
                pieces
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
            if pieces.is_empty() {
                if let Some((reason, origin)) = met.dropped
                    && let Some(winner) = party_of(origin)
                {
                    let since = || log.iter().skip(skip).flat_map(|e| e.placed.iter());
                    let value = carried_value(x)
                        .or(taken)
                        .or_else(|| indexed.then(|| node_now(x, since(), doc)).flatten());
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
                continue;
            }
            // Whose writes the first piece overwrites: found here, or claimed by the sender.
            let mut losers: Vec<Party> =
                met.overwrote.iter().filter_map(|&i| party_of(i)).collect();
            // Something moved into what x overwrites was not there when x was made: its sender
            // loses it too.
            let mut relocated = !met.relocated.is_empty();
            // The changes x overwrote, found here or claimed: the writers of what their moves
            // carried into x's target lose it too.
            let mut overwritten = met.relocated.clone();
            for claim in claimed
                .iter()
                .filter(|c| first_of_origin && c.index == index_in_change)
            {
                losers.push(claim.loser.clone());
                overwritten.extend(claim.logged);
            }
            for piece in pieces {
                let canonical = canonical(piece.op, doc);
                let shape = Shape::of(&canonical, doc);
                for mover in overwritten.drain(..) {
                    losers.extend(provenance::writers_moved_into(log, mover, canonical.path()));
                }
                if std::mem::take(&mut relocated) {
                    conflicts.push(Conflict {
                        kind: ConflictKind::Overwritten,
                        path: canonical.path().clone(),
                        value: canonical.path().resolve(doc).cloned(),
                        op: None,
                        reason: None,
                        winner: me.clone(),
                        loser: me.clone(),
                        rev,
                    });
                }
                if !losers.is_empty() {
                    let before = canonical.path().resolve(doc).cloned();
                    let mut seen: Vec<ClientId> = Vec::new();
                    for loser in losers.drain(..) {
                        if loser.client == me.client || seen.contains(&loser.client) {
                            continue;
                        }
                        seen.push(loser.client.clone());
                        conflicts.push(Conflict {
                            kind: ConflictKind::Overwritten,
                            path: canonical.path().clone(),
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
                if let Err(kind) = apply_op(doc, &canonical, &mut undo) {
                    rollback(doc, &undo);
                    return Err(ApplyError::new(index_in_change, x, kind));
                }
                placed.extend(expand(
                    canonical,
                    shape,
                    undo.get(start..).unwrap_or_default(),
                    doc,
                ));
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
                })
            })
            .collect()
    }

    /// The welcome for a replica that holds `last_rev` (if anything), with the catch-up it needs.
    /// A replica ahead of the head (this Authority was restored from less than it had
    /// acknowledged) is told so, with the document, rather than given a snapshot it would take
    /// as newer than its own.
    pub fn welcome(
        &self,
        client: &ClientId,
        last_rev: Option<Revision>,
        role: Role,
    ) -> ServerMessage {
        let catch_up = match last_rev.and_then(|r| self.changes_since(r)) {
            Some(changes) => CatchUp::Changes { changes },
            None if last_rev.is_some_and(|r| r > self.rev) => CatchUp::RelayBehind {
                doc: self.doc.clone(),
            },
            None => CatchUp::Snapshot {
                doc: self.doc.clone(),
                // A replica that held nothing lost nothing it held.
                conflicts: last_rev.map_or_else(Vec::new, |r| self.conflicts_of(client, r)),
            },
        };
        ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            rev: self.rev,
            role,
            client_seq: self.clients.get(client).map(|r| r.seq),
            catch_up,
            peers: self.presence.peers(),
        }
    }

    /// The conflicts recorded in the retained changes after `rev` whose loser is `client`: what
    /// a replica catching up by snapshot would otherwise never hear of. (Older ones are in the
    /// store; the relay adds them.)
    pub fn conflicts_of(&self, client: &ClientId, rev: Revision) -> Vec<Conflict> {
        self.log
            .iter()
            .filter(|e| e.commit.rev > rev)
            .flat_map(|e| &e.commit.conflicts)
            .filter(|c| c.loser.client == *client)
            .cloned()
            .collect()
    }

    /// The changes after `rev`, or `None` if they are no longer all retained (or `rev` is ahead).
    pub fn changes_since(&self, rev: Revision) -> Option<Vec<Commit>> {
        if rev > self.rev || rev < self.oldest_retained() {
            return None;
        }
        Some(
            self.log
                .iter()
                .filter(|e| e.commit.rev > rev)
                .map(|e| e.commit.clone())
                .collect(),
        )
    }

    /// The retained changes in `from..=to`.
    pub fn history(&self, from: Revision, to: Revision) -> Vec<Commit> {
        self.log
            .iter()
            .filter(|e| e.commit.rev >= from && e.commit.rev <= to)
            .map(|e| e.commit.clone())
            .collect()
    }

    /// The document as it was at `rev`, if `rev` is within the retained changes.
    pub fn document_at(&self, rev: Revision) -> Option<Value> {
        if rev > self.rev || rev < self.oldest_retained() {
            return None;
        }
        let mut doc = self.doc.clone();
        for entry in self.log.iter().rev().take_while(|e| e.commit.rev > rev) {
            entry.inverse.apply(&mut doc).ok()?;
        }
        Some(doc)
    }

    /// The presence of the document's peers, to update with joins and selections.
    pub fn presence(&mut self) -> &mut Presence {
        &mut self.presence
    }
}

/// The node that the move or copy `x` takes, as it is in `doc`: its source followed through
/// `through` (what happened since `x` was made).
fn node_now<'a>(
    x: &Operation,
    through: impl Iterator<Item = &'a Placed>,
    doc: &Value,
) -> Option<Value> {
    let mut from = x.from()?.clone();
    for y in through {
        from = follow(&from, std::slice::from_ref(y))?;
    }
    from.resolve(doc).cloned()
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
    Shape {
        path_in_array: is(
            crate::rebase::moved_destination(x)
                .as_ref()
                .unwrap_or(x.path())
                .parent(),
            true,
        ),
        from_in_array: x.from().is_some_and(|from| is(from.parent(), true)),
        replaces_target: matches!(x, Operation::Merge { .. }) && !is(Some(x.path().clone()), false),
    }
}

struct Applied {
    placed: Vec<Placed>,
    inverse: Change,
    conflicts: Vec<Conflict>,
}

#[cfg(test)]
mod tests;
