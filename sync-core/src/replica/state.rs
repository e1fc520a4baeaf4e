//! What a replica persists: enough to restart offline and sync later, exactly once.

use serde::{Deserialize, Serialize};

use super::{Event, Replica, ops_of, place};
use crate::op::Operation;
use crate::protocol::{ClientId, Conflict, Overwrite, Revision};
use crate::value::Value;

/// A replica's durable state: enough to restart offline and sync later, exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaState {
    /// The replica's id.
    pub client: ClientId,
    /// Its author's display name.
    pub name: String,
    /// The last confirmed revision (absent before the first sync).
    pub rev: Option<Revision>,
    /// The confirmed document at `rev`.
    pub confirmed: Value,
    /// Pending local changes, oldest first; `seq` is set on those already sent.
    pub pending: Vec<PendingState>,
    /// The next sequence number to use.
    pub next_seq: u64,
    /// Undo entries (inverse changes), most recent last.
    pub undo: Vec<Vec<Operation>>,
    /// Redo entries, most recent last.
    pub redo: Vec<Vec<Operation>>,
}

/// A pending change in [`ReplicaState`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingState {
    /// Its sequence number, if it was sent.
    pub seq: Option<u64>,
    /// Its operations.
    pub ops: Vec<Operation>,
    /// Others' writes it overwrites, found when the replica rebased it (sent with it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overwrites: Vec<Overwrite>,
    /// Operations of it, already sent, that rebasing here dropped: reported if it is sent
    /// again as it stands (see the replica's `resend_inflight`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lost: Vec<Conflict>,
    /// Operations of it, already sent, that rebasing here made no longer apply as a whole:
    /// reported, like `lost`, if it is sent again as it stands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphaned: Vec<Operation>,
}

impl Replica {
    /// The replica's durable state.
    pub fn save(&self) -> ReplicaState {
        let mut confirmed = self.view.clone();
        for pending in [&self.buffer, &self.inflight].into_iter().flatten() {
            let restored = pending.inverse.apply(&mut confirmed);
            debug_assert!(restored.is_ok());
        }
        ReplicaState {
            confirmed,
            ..self.save_except_document()
        }
    }

    /// The replica's durable state but for its confirmed document, left `null`: for a caller
    /// that keeps the confirmed document itself, from the changes the relay confirmed, and so
    /// need not copy it (the app's outbox journal). Costs the size of the pending changes and
    /// the undo history, not of the document.
    pub fn save_except_document(&self) -> ReplicaState {
        let pending = [&self.inflight, &self.buffer]
            .into_iter()
            .flatten()
            .map(|p| PendingState {
                seq: p.seq,
                ops: p.ops(),
                overwrites: p.overwrites.clone(),
                lost: p.lost.clone(),
                orphaned: p.orphaned.clone(),
            })
            .collect();
        ReplicaState {
            client: self.client.clone(),
            name: self.name.clone(),
            rev: self.rev,
            confirmed: Value::Null,
            pending,
            next_seq: self.next_seq,
            undo: self.undo.iter().map(|e| ops_of(e)).collect(),
            redo: self.redo.iter().map(|e| ops_of(e)).collect(),
        }
    }

    /// A replica restored from its durable state, disconnected. Pending changes that no longer
    /// apply to the confirmed document (which would mean the state was tampered with) are
    /// returned as [`Event::Lost`].
    pub fn restore(state: ReplicaState) -> (Replica, Vec<Event>) {
        let mut replica =
            Replica::with_document(state.client, &state.name, state.confirmed, state.rev);
        replica.next_seq = state.next_seq;
        let events = replica.replay(state.pending);
        replica.undo = state.undo.iter().map(|e| place(e, &replica.view)).collect();
        replica.redo = state.redo.iter().map(|e| place(e, &replica.view)).collect();
        (replica, events)
    }
}
