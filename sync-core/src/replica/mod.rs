//! The Replica: one per window. It applies local edits at once, keeps at most one change in
//! flight and buffers the rest, and folds in what the relay says.
//!
//! The replica holds one document, the *view*: the confirmed state (the Authority's, at
//! [`Replica::rev`]) with the pending local changes applied on top. Each pending change keeps its
//! inverse, so the confirmed state is always one undo away: a foreign change is applied by
//! taking the pending changes off, applying it, rebasing the pending changes over it and putting
//! them back. Methods take what happened and return [`Event`]s, including the messages to send;
//! the replica does no IO.
//!
//! ```
//! use sync_core::replica::{Event, Replica};
//! use sync_core::protocol::{CatchUp, ClientId, ClientMessage, Revision, Role, ServerMessage};
//! use sync_core::{Change, Value};
//!
//! let mut replica = Replica::new(ClientId::from("ann"), "Ann");
//! replica.receive(ServerMessage::Welcome {
//!     protocol: 1, rev: Revision(7), role: Role::Write, client_seq: None,
//!     catch_up: CatchUp::Snapshot { doc: Value::parse(r#"{"n": 1}"#)?, conflicts: vec![] },
//!     peers: vec![],
//! });
//! // A local edit shows at once and yields the message to send.
//! let events = replica.edit(Change::from_json(r#"[{"op": "incr", "path": "/n", "by": 1}]"#)?.0)?;
//! assert_eq!(replica.view().to_json(), r#"{"n":2}"#);
//! assert!(matches!(&events[..], [Event::Send(ClientMessage::Submit { seq: 1, base_rev: Revision(7), .. })]));
//! // The ack confirms it.
//! replica.receive(ServerMessage::Ack { seq: 1, rev: Revision(8), ops: None, conflicts: vec![], hash: None });
//! assert_eq!((replica.rev(), replica.pending()), (Some(Revision(8)), 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::VecDeque;

use crate::apply::ApplyError;
use crate::authority::{apply_expanded, apply_placed};
use crate::op::{Change, Operation};
use crate::protocol::{
    ClientId, ClientMessage, Commit, Conflict, Overwrite, PROTOCOL_VERSION, Revision, Role,
    ServerMessage, StateHash, state_hash,
};
use crate::rebase::{Placed, Shape};
use crate::value::Value;

mod catchup;
mod events;
mod folding;
mod joining;
mod records;
mod state;

pub use events::{EditError, Event};
pub use state::{PendingState, ReplicaState};

/// Undo entries kept; older ones are forgotten.
pub const UNDO_LIMIT: usize = 200;

/// A local change not yet confirmed.
#[derive(Debug, Clone, Default)]
struct Pending {
    /// Set once sent.
    seq: Option<u64>,
    /// As applied to the view, with shapes.
    ops: Vec<Placed>,
    /// Takes it off the view.
    inverse: Inverse,
    /// Others' writes that `ops` overwrite, found when this replica rebased the change over
    /// their changes: sent with it, so that the relay records them for those people.
    overwrites: Vec<Overwrite>,
    /// Operations of a change already sent that rebasing here dropped. The relay finds and
    /// reports the same when it applies the change as sent; they are this replica's to report
    /// only if the change is sent again as it stands here.
    lost: Vec<Conflict>,
    /// Operations of a change already sent that, rebased here, no longer applied as a whole
    /// (a move that became a cycle, say). Like `lost`: the relay reports them if it gets the
    /// change as sent; this replica does if it sends the change again as it stands.
    orphaned: Vec<Operation>,
}

/// What was last sent for the change in flight, to send again byte for byte after a
/// reconnect: the relay then rebases it from its own base and records every conflict.
#[derive(Debug, Clone)]
struct Sent {
    base: Revision,
    ops: Vec<Operation>,
    overwrites: Vec<Overwrite>,
}

/// The inverse of a pending change, stored last step first, so that a newer edit joining the
/// buffer adds its inverse in O(1) (a long typing session would otherwise cost O(n^2)).
#[derive(Debug, Clone, Default)]
struct Inverse(Vec<Operation>);

impl Inverse {
    fn of(change: Change) -> Inverse {
        let mut ops = change.0;
        ops.reverse();
        Inverse(ops)
    }

    /// Adds the inverse of an edit made after the ones already here.
    fn push_newer(&mut self, newer: Inverse) {
        self.0.extend(newer.0);
    }

    /// The inverse operations in the order they apply.
    fn ops(&self) -> Vec<Operation> {
        self.0.iter().rev().cloned().collect()
    }

    fn apply(&self, doc: &mut Value) -> Result<Change, ApplyError> {
        crate::apply::apply_all(doc, self.0.iter().rev())
    }
}

impl Pending {
    fn ops(&self) -> Vec<Operation> {
        self.ops.iter().map(|p| p.op.clone()).collect()
    }
}

impl Sent {
    fn submit(&self, seq: u64) -> ClientMessage {
        ClientMessage::Submit {
            seq,
            base_rev: self.base,
            ops: self.ops.clone(),
            overwrites: self.overwrites.clone(),
        }
    }
}

/// The client-side state machine of one document.
#[derive(Debug, Clone)]
pub struct Replica {
    client: ClientId,
    name: String,
    view: Value,
    rev: Option<Revision>,
    inflight: Option<Pending>,
    /// What was last sent for the change in flight: an ack without `ops` means "applied as
    /// sent", which may differ from the in-flight change as rebased here since. `None` after a
    /// restart or a resync: the change is then sent anew as it stands.
    sent: Option<Sent>,
    buffer: Option<Pending>,
    next_seq: u64,
    undo: VecDeque<Vec<Placed>>,
    redo: VecDeque<Vec<Placed>>,
    connected: bool,
    role: Role,
    resyncing: bool,
    /// The relay's copy while the relay is behind this replica: nothing is sent meanwhile.
    behind: Option<catchup::Behind>,
    /// What others' changes did to the view since [`Replica::take_moves`], when tracked.
    moves: Option<Vec<Placed>>,
}

impl Replica {
    /// A replica that holds nothing yet; its first welcome brings the document.
    pub fn new(client: ClientId, name: &str) -> Replica {
        Replica::with_document(client, name, Value::Null, None)
    }

    /// A replica holding `doc` confirmed at `rev` (`None`: a local document never synced).
    pub fn with_document(
        client: ClientId,
        name: &str,
        doc: Value,
        rev: Option<Revision>,
    ) -> Replica {
        Replica {
            client,
            name: name.to_owned(),
            view: doc,
            rev,
            inflight: None,
            sent: None,
            buffer: None,
            next_seq: 1,
            undo: VecDeque::new(),
            redo: VecDeque::new(),
            connected: false,
            role: Role::Write,
            resyncing: false,
            behind: None,
            moves: None,
        }
    }

    /// From now on, keeps what changes not made here do to the view (others' changes, and
    /// the relay's version of this replica's own), so that a UI can follow the nodes it
    /// shows with [`rebase::follow`](crate::rebase::follow). Take them with
    /// [`Replica::take_moves`] after each message, or they accumulate.
    pub fn track_moves(&mut self) {
        self.moves.get_or_insert_with(Vec::new);
    }

    /// What changes not made here did to the view since the last call (empty unless
    /// tracked). A resync that replaced the whole view leaves nothing to follow.
    pub fn take_moves(&mut self) -> Vec<Placed> {
        self.moves.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn moved(&mut self, ops: Vec<Placed>) {
        if let Some(moves) = &mut self.moves {
            moves.extend(ops);
        }
    }

    /// The document as the user sees it: confirmed state plus pending local changes.
    pub fn view(&self) -> &Value {
        &self.view
    }

    /// The confirmed revision.
    pub fn rev(&self) -> Option<Revision> {
        self.rev
    }

    /// This replica's id.
    pub fn client(&self) -> &ClientId {
        &self.client
    }

    /// The number of operations of the local changes not yet confirmed that the view holds:
    /// it moves when one of them no longer applies and leaves the view.
    pub fn pending_ops(&self) -> usize {
        [&self.inflight, &self.buffer]
            .into_iter()
            .flatten()
            .map(|p| p.ops.len())
            .sum()
    }

    /// The number of local changes not yet confirmed (in flight and buffered).
    pub fn pending(&self) -> usize {
        usize::from(self.inflight.is_some()) + usize::from(self.buffer.is_some())
    }

    /// Whether there is something to undo / redo.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether there is something to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Changes the display name sent in the next `hello`.
    pub fn set_name(&mut self, name: &str) {
        name.clone_into(&mut self.name);
    }

    /// Whether a welcome arrived on the current connection.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The `hello` to send on a new connection.
    pub fn hello(&self, doc: &str, token: Option<String>) -> ClientMessage {
        ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            doc: doc.to_owned(),
            client: self.client.clone(),
            token,
            last_rev: self.rev,
            name: self.name.clone(),
        }
    }

    /// The connection dropped: nothing is sent until the next welcome.
    pub fn disconnected(&mut self) {
        self.connected = false;
        self.resyncing = false;
        // The next welcome says again whether the relay is behind.
        self.behind = None;
    }

    /// Applies a local edit to the view at once. Returns the submit to send, if the edit can be
    /// sent now. On error nothing changed.
    pub fn edit(&mut self, ops: Vec<Operation>) -> Result<Vec<Event>, EditError> {
        let inverse = self.apply_local(ops)?;
        self.push_undo(inverse);
        self.redo.clear();
        Ok(self.flush())
    }

    /// The operations [`Replica::undo`] would apply now (none if there is nothing to undo).
    pub fn undo_ops(&self) -> impl Iterator<Item = &Operation> {
        self.undo.back().into_iter().flatten().map(|p| &p.op)
    }

    /// The operations [`Replica::redo`] would apply now (none if there is nothing to redo).
    pub fn redo_ops(&self) -> impl Iterator<Item = &Operation> {
        self.redo.back().into_iter().flatten().map(|p| &p.op)
    }

    /// Undoes the most recent local change still undoable (rebased over everything since).
    /// An entry that no longer applies is discarded and its error returned.
    pub fn undo(&mut self) -> Result<Vec<Event>, EditError> {
        let Some(entry) = self.undo.pop_back() else {
            return Ok(Vec::new());
        };
        let inverse = self.apply_local(ops_of(&entry))?;
        self.redo.push_back(inverse);
        Ok(self.flush())
    }

    /// Redoes the most recently undone change.
    pub fn redo(&mut self) -> Result<Vec<Event>, EditError> {
        let Some(entry) = self.redo.pop_back() else {
            return Ok(Vec::new());
        };
        let inverse = self.apply_local(ops_of(&entry))?;
        self.push_undo(inverse);
        Ok(self.flush())
    }

    fn push_undo(&mut self, entry: Vec<Placed>) {
        self.undo.push_back(entry);
        if self.undo.len() > UNDO_LIMIT {
            self.undo.pop_front();
        }
    }

    /// Applies `ops` to the view as a pending change; returns their inverse, placed in the view.
    fn apply_local(&mut self, ops: Vec<Operation>) -> Result<Vec<Placed>, EditError> {
        if self.role == Role::Read {
            return Err(EditError::ReadOnly);
        }
        // Kept (and sent) as the log keeps them: `-` resolved and merges as the writes they made.
        let (placed, inverse, _) = apply_expanded(&mut self.view, ops)?;
        let undo = place(&inverse.0, &self.view);
        match &mut self.buffer {
            Some(buffer) => {
                buffer.ops.extend(placed);
                buffer.inverse.push_newer(Inverse::of(inverse));
            }
            None => {
                self.buffer = Some(Pending {
                    ops: placed,
                    inverse: Inverse::of(inverse),
                    ..Pending::default()
                });
            }
        }
        Ok(undo)
    }

    /// Sends the buffer if nothing is in flight.
    fn flush(&mut self) -> Vec<Event> {
        if self.inflight.is_some()
            || !self.connected
            || self.role == Role::Read
            || self.behind.is_some()
        {
            return Vec::new();
        }
        let (Some(mut buffer), Some(rev)) = (self.buffer.take(), self.rev) else {
            return Vec::new();
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        buffer.seq = Some(seq);
        let sent = Sent {
            base: rev,
            ops: buffer.ops(),
            overwrites: buffer.overwrites.clone(),
        };
        let submit = sent.submit(seq);
        self.sent = Some(sent);
        self.inflight = Some(buffer);
        vec![Event::Send(submit)]
    }

    /// Folds in a message from the relay.
    pub fn receive(&mut self, message: ServerMessage) -> Vec<Event> {
        match message {
            ServerMessage::Welcome {
                rev,
                role,
                client_seq,
                catch_up,
                peers,
                ..
            } => self.welcome(rev, role, client_seq, catch_up, peers),
            ServerMessage::Ack {
                seq,
                rev,
                ops,
                conflicts,
                hash,
            } => {
                let shown = self.shown_for(&conflicts);
                let mut events = self.ack(seq, rev, ops, hash);
                if !conflicts.is_empty() {
                    let mut conflicts = conflicts;
                    self.fill_in(&mut conflicts, &shown);
                    events.push(Event::Conflicts(conflicts));
                }
                events.extend(self.flush());
                events
            }
            ServerMessage::Applied { commit, hash } if self.behind.is_some() => {
                self.relay_applied(&commit, hash)
            }
            ServerMessage::Applied { commit, hash } => {
                let mut events = self.foreign(commit, hash);
                events.extend(self.flush());
                events
            }
            ServerMessage::Reject { seq, code, message } => {
                let mut events = self.reject(seq, code, message);
                events.extend(self.flush());
                events
            }
            ServerMessage::Presence { peers } => vec![Event::Presence(peers)],
            ServerMessage::History { changes, next } => vec![Event::History { changes, next }],
            ServerMessage::Snapshot { rev, doc } if self.behind.is_some() => {
                self.relay_snapshot(rev, doc)
            }
            ServerMessage::Snapshot { rev, doc } => {
                if self.resyncing {
                    self.resyncing = false;
                    let mut events = self.reset(doc, rev, false);
                    events.extend(self.resend_inflight());
                    events.extend(self.flush());
                    events
                } else {
                    vec![Event::Snapshot { rev, doc }]
                }
            }
            ServerMessage::Error { code, message } => vec![Event::Error { code, message }],
        }
    }

    fn foreign(&mut self, commit: Commit, hash: Option<StateHash>) -> Vec<Event> {
        if commit.client == self.client
            && self.inflight.as_ref().and_then(|p| p.seq) == Some(commit.seq)
        {
            return self.ack(commit.seq, commit.rev, Some(commit.ops), hash);
        }
        if self.rev.is_some_and(|r| commit.rev <= r) {
            return Vec::new(); // already have it
        }
        // The nodes pending moves and copies took, as the view shows them: what their author
        // loses if the foreign change drops them.
        let drops = commit.ops.iter().any(|op| {
            !matches!(
                op,
                Operation::Splice { .. } | Operation::Incr { .. } | Operation::Test { .. }
            )
        });
        let taken = if drops {
            self.taken_nodes()
        } else {
            Vec::new()
        };
        let (inflight, buffer) = self.take_pending();
        self.inflight = inflight;
        self.buffer = buffer;
        let rev = commit.rev;
        let Ok((placed, _)) = apply_placed(&mut self.view, commit.ops.clone()) else {
            return self.diverged(rev);
        };
        self.rev = Some(rev);
        if let Some(expected) = hash
            && state_hash(&self.view) != expected
        {
            return self.diverged(rev);
        }
        let folded = self.under_pending(placed, Some(&commit), taken, None);
        self.moved(folded.carried);
        let mut conflicts = commit.conflicts;
        conflicts.extend(folded.lost);
        let mut events = vec![Event::Changed];
        if !conflicts.is_empty() {
            events.push(Event::Conflicts(conflicts));
        }
        events.extend(orphans(folded.orphaned));
        events
    }

    fn ack(
        &mut self,
        seq: u64,
        rev: Revision,
        ops: Option<Vec<Operation>>,
        hash: Option<StateHash>,
    ) -> Vec<Event> {
        let Some(inflight) = self.inflight.take_if(|p| p.seq == Some(seq)) else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let sent = self
            .sent
            .take()
            .map(|s| s.ops)
            .unwrap_or_else(|| inflight.ops());
        let server = ops.unwrap_or(sent);
        match Some(server).filter(|server| *server != inflight.ops()) {
            // The relay applied what the view has: it is confirmed as it stands.
            None => self.rev = Some(rev),
            // The relay's version differs: it replaces ours, under the buffer.
            Some(server) => {
                let Ok((orphaned, lost)) = self.replace_inflight(&inflight, Some((&server, rev)))
                else {
                    return self.diverged(rev);
                };
                self.rev = Some(rev);
                events.push(Event::Changed);
                if !lost.is_empty() {
                    events.push(Event::Conflicts(lost));
                }
                events.extend(orphans(orphaned));
            }
        }
        if let Some(expected) = hash
            && self.confirmed_hash() != expected
        {
            return self.diverged(rev);
        }
        events
    }

    fn reject(&mut self, seq: u64, code: String, message: String) -> Vec<Event> {
        if code == "base_too_old"
            && self.sent.is_some()
            && self.inflight.as_ref().is_some_and(|p| p.seq == Some(seq))
        {
            // The relay no longer keeps the base it was sent on: send it as it stands here,
            // rebased over everything since, with what that rebasing found.
            self.sent = None;
            return self.resend_inflight();
        }
        let Some(inflight) = self.inflight.take_if(|p| p.seq == Some(seq)) else {
            return Vec::new();
        };
        // What was refused is what was sent (the change here may have been rebased since, or
        // found not to apply at all).
        let ops = self
            .sent
            .take()
            .map_or_else(|| inflight.ops(), |sent| sent.ops);
        let Ok((orphaned, _)) = self.replace_inflight(&inflight, None) else {
            let rev = self.rev.unwrap_or_default();
            return self.diverged(rev);
        };
        let mut events = vec![Event::Rejected { ops, code, message }, Event::Changed];
        events.extend(orphans(orphaned));
        events
    }

    /// Takes the (already detached) change `inflight` off the view and applies `server` in its
    /// place (nothing, for a rejection); the buffer and the undo stacks are rebased over the
    /// difference.
    ///
    /// Returns the buffered operations that no longer apply, and the records of what buffered
    /// operations now overwrite that their user never saw (see [`records::Seen`]). When the
    /// relay's version has the same effect as ours (a merge patch it logs as the writes it
    /// made, say), the buffer stays as it is: rebasing it over "ours undone, theirs done" would
    /// lose whatever it did inside what ours created.
    fn replace_inflight(
        &mut self,
        inflight: &Pending,
        server: Option<(&[Operation], Revision)>,
    ) -> Result<(Vec<Operation>, Vec<Conflict>), ()> {
        let buffer = self.buffer.take();
        if let Some(buffer) = &buffer {
            let restored = buffer.inverse.apply(&mut self.view);
            debug_assert!(restored.is_ok());
        }
        let ours = server.map(|_| state_hash(&self.view));
        let seen = server
            .zip(buffer.as_ref())
            .map(|((_, rev), buffer)| self.seen_by(&buffer.ops, rev));
        let server = server.map(|(ops, _)| ops);
        let (mut over, _) = apply_placed(&mut self.view, inflight.inverse.ops()).map_err(|_| ())?;
        if let Some(server) = server {
            let (placed, _) = apply_placed(&mut self.view, server.to_vec()).map_err(|_| ())?;
            over.extend(placed);
        }
        if ours.is_some() && ours == Some(state_hash(&self.view)) {
            if let Some(buffer) = buffer {
                let (ops, inverse) =
                    apply_placed(&mut self.view, ops_of(&buffer.ops)).map_err(|_| ())?;
                self.buffer = Some(Pending {
                    ops,
                    inverse: Inverse::of(inverse),
                    ..buffer
                });
            }
            return Ok((Vec::new(), Vec::new()));
        }
        self.buffer = buffer;
        let folded = self.under_pending(over, None, Vec::new(), seen);
        self.moved(folded.carried);
        Ok((folded.orphaned, folded.lost))
    }
}

/// The event for buffered operations that no longer apply, if any.
pub(super) fn orphans(ops: Vec<Operation>) -> Option<Event> {
    (!ops.is_empty()).then(|| Event::Lost {
        ops,
        error: "it no longer applies after the changes it was rebased over".to_owned(),
    })
}

fn ops_of(placed: &[Placed]) -> Vec<Operation> {
    placed.iter().map(|p| p.op.clone()).collect()
}

/// `ops` with the shapes they have in `doc` (exact for the first, close for the rest).
fn place(ops: &[Operation], doc: &Value) -> Vec<Placed> {
    ops.iter()
        .map(|op| Placed {
            op: op.clone(),
            shape: Shape::of(op, doc),
        })
        .collect()
}
