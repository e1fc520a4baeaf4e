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

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::apply::ApplyError;
use crate::op::{Change, Operation};
use crate::presence::Presence;
use crate::protocol::{
    CatchUp, ClientId, Commit, Conflict, Overwrite, PROTOCOL_VERSION, Party, Revision, Role,
    ServerMessage, StateHash, state_hash,
};
use crate::rebase::Placed;
use crate::value::Value;

mod index;
mod log;
mod provenance;
mod rebasing;

use index::WriteIndex;
pub(crate) use log::apply_expanded;
pub(crate) use log::carried_value;
use log::place_and_apply;
pub use log::{apply_placed, canonical};

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
        let ops: Vec<Operation> = applied.placed.iter().map(|p| p.op.clone()).collect();
        // Typing continues the group of the client's previous change (see `history`).
        let group = self
            .clients
            .get(s.client)
            .and_then(|record| self.entry(record.rev))
            .map(|previous| &previous.commit)
            .filter(|previous| {
                crate::history::continues(previous, &ops, s.now, !applied.conflicts.is_empty())
            })
            .map(crate::history::group_of);
        let commit = Commit {
            rev,
            client: s.client.clone(),
            seq: s.seq,
            author: s.author.to_owned(),
            time: s.now,
            ops,
            conflicts: applied.conflicts,
            group,
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

#[cfg(test)]
mod tests;
