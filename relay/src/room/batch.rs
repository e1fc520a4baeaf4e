//! Serving one batch of commands: each command queues its answers, the changes applied are
//! stored in one transaction, and only then do the answers go out, in order.
//!
//! A change the store refuses on its own ([`Store::check`](crate::store::Store::check): it
//! could not be stored faithfully) is taken back out of the Authority at once and rejected to
//! its sender with `not_storable`; nobody else hears of it and the document goes on. Only a
//! failed commit (the disk, not the change) stops the room.

use sync_core::authority::{Authority, ClientRecord, Outcome, Submission};
use sync_core::protocol::{ClientId, Commit, ErrorCode, Overwrite, Revision, ServerMessage};
use sync_core::{Operation, Pointer, Value};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::welcome::Catching;
use super::{Recipients, Request, Room, To, error_message};
use crate::metrics::bump;
use crate::store::{Batch, Checked, StoreError};
use crate::wire::encode;

/// A submitted change, as the connection passed it on.
struct Change {
    seq: u64,
    base_rev: Revision,
    ops: Vec<Operation>,
    overwrites: Vec<Overwrite>,
}

/// Why a room stops serving its document.
#[derive(Debug)]
pub(super) enum Stop {
    /// The store failed: nothing more is acknowledged until the document loads again.
    Storage(String),
    /// This relay's lease on the document is gone (another relay took it over): its clients
    /// go to the new owner.
    LeaseLost(String),
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Storage(message)
    }
}

/// What a batch has to say and to store, queued until its changes are stored.
#[derive(Default)]
struct Answers {
    /// Messages, each with its recipients fixed when it was queued.
    outgoing: Vec<(Recipients, Utf8Bytes)>,
    /// The changes applied, checked by the store.
    stored: Vec<Checked>,
    /// Joins waiting for the store to read what their members lost (see `welcome`).
    parked: Vec<Catching>,
    /// Requests for history older than the room keeps, read from the store once everything
    /// of the batch is stored and sent.
    older: Vec<Older>,
}

/// A request the room answers from the store.
#[derive(Clone, Copy)]
enum Older {
    History {
        conn: u64,
        from: Revision,
        to: Revision,
        asked_to: Revision,
    },
    Snapshot {
        conn: u64,
        rev: Revision,
    },
}

impl Room<'_> {
    /// Serves a batch of commands: applies the submits, stores what they changed in one
    /// transaction, and only then sends the answers (in order). An error means nothing of the
    /// batch was acknowledged and the room must stop.
    pub(super) async fn handle(&mut self, batch: Vec<Request>) -> Result<(), Stop> {
        let mut answers = Answers::default();
        let now = crate::wire::now_millis();
        for command in batch {
            match command {
                Request::Join {
                    member,
                    last_rev,
                    joined,
                } => {
                    let parked = self.join(&mut answers.outgoing, member, last_rev, joined, now);
                    answers.parked.extend(parked);
                }
                Request::Submit {
                    conn,
                    seq,
                    base_rev,
                    ops,
                    overwrites,
                } => {
                    let change = Change {
                        seq,
                        base_rev,
                        ops,
                        overwrites,
                    };
                    self.submit(&mut answers, conn, change, now)?;
                }
                Request::Reject {
                    conn,
                    seq,
                    code,
                    message,
                } => self.reject(&mut answers, conn, seq, code, message),
                Request::Presence {
                    conn,
                    selection,
                    caret,
                } => self.presence(&mut answers, conn, selection, caret, now),
                Request::History { conn, from, to } => self.history(&mut answers, conn, from, to),
                Request::Snapshot { conn, rev } => self.snapshot(&mut answers, conn, rev),
                Request::Leave { conn } => self.leave(&mut answers, conn),
            }
        }
        if !answers.stored.is_empty() {
            self.store(answers.stored).await?;
        }
        // Every change is stored now: the store can read what the parked joins need.
        for catching in answers.parked {
            self.read_older(catching);
        }
        for (to, text) in answers.outgoing {
            self.deliver(to, &text);
        }
        // Everything before is stored and sent: older history is read after it.
        for older in answers.older {
            self.read_older_history(older);
        }
        Ok(())
    }

    /// Applies a change, checks that the store can keep it, and queues its ack and broadcast.
    /// An error means the Authority could not be put back after a refusal: the room must stop.
    fn submit(
        &mut self,
        answers: &mut Answers,
        conn: u64,
        change: Change,
        now: u64,
    ) -> Result<(), String> {
        let Change {
            seq,
            base_rev,
            ops,
            overwrites,
        } = change;
        let Some(member) = self.member(conn) else {
            return Ok(());
        };
        let (client, author, role) = (member.client.clone(), member.author.clone(), member.role);
        let added = match self.fits(&ops) {
            Ok(added) => added,
            Err(message) => {
                self.reject(answers, conn, seq, "document_too_large", message);
                return Ok(());
            }
        };
        let record_before = self.authority.clients().get(&client).copied();
        let outcome = self.authority.submit(&Submission {
            client: &client,
            author: &author,
            role,
            seq,
            base_rev,
            ops,
            overwrites: &overwrites,
            now,
        });
        let to_sender = self.recipients(To::One(conn));
        match outcome {
            Outcome::Applied {
                commit,
                ack,
                broadcast,
            } => match self.rooms.store.check(self.doc, &commit) {
                Ok(checked) => {
                    // The estimate made before applying it still bounds what it added.
                    self.size = self.size.saturating_add(added);
                    answers.stored.push(checked);
                    answers.outgoing.push((to_sender, encode(&ack)));
                    let others = self.recipients(To::AllBut(conn));
                    answers.outgoing.push((others, encode(&broadcast)));
                }
                Err(refusal) => {
                    tracing::warn!(doc = self.doc, %client, seq, error = %refusal, "the store refused a change; it is rejected");
                    self.forget_last(&client, record_before)?;
                    let message = format!(
                        "change {seq} was not applied: the relay cannot store it ({refusal})"
                    );
                    self.reject(answers, conn, seq, "not_storable", message);
                }
            },
            Outcome::Duplicate { ack } => answers.outgoing.push((to_sender, encode(&ack))),
            Outcome::Rejected { reject } => {
                bump(&self.rooms.metrics.rejects);
                answers.outgoing.push((to_sender, encode(&reject)));
            }
        }
        Ok(())
    }

    /// Takes the change just applied back out of the Authority, because the store refused it:
    /// rebuilds the Authority from its own retained changes without it (as a restart would
    /// rebuild it from the store) and gives the client back its record from before.
    /// Presence carries over; the retained log is one change shorter.
    fn forget_last(
        &mut self,
        client: &ClientId,
        before: Option<ClientRecord>,
    ) -> Result<(), String> {
        let head = self.authority.rev();
        let oldest = self.authority.oldest_retained();
        let Some(start) = self.authority.document_at(oldest) else {
            return Err(format!("the document at {oldest} cannot be rebuilt"));
        };
        let kept = self
            .authority
            .history(oldest.next(), Revision(head.0.saturating_sub(1)));
        let mut clients = self.authority.clients().clone();
        match before {
            Some(record) => clients.insert(client.clone(), record),
            None => clients.remove(client),
        };
        let config = super::authority_config(&self.rooms.config);
        let mut rebuilt = Authority::restore(start, oldest, kept, clients, config)
            .map_err(|e| format!("rebuilding the document without a refused change: {e}"))?;
        std::mem::swap(rebuilt.presence(), self.authority.presence());
        self.authority = rebuilt;
        Ok(())
    }

    /// Queues a `reject` of change `seq` for its sender.
    fn reject(&mut self, answers: &mut Answers, conn: u64, seq: u64, code: &str, message: String) {
        bump(&self.rooms.metrics.rejects);
        let reject = ServerMessage::Reject {
            seq,
            code: code.to_owned(),
            message,
        };
        answers
            .outgoing
            .push((self.recipients(To::One(conn)), encode(&reject)));
    }

    fn presence(
        &mut self,
        answers: &mut Answers,
        conn: u64,
        selection: Option<Pointer>,
        caret: Option<usize>,
        now: u64,
    ) {
        let Some(client) = self.member(conn).map(|m| m.client.clone()) else {
            return;
        };
        self.authority
            .presence()
            .update(&client, selection, caret, now);
        let text = self.presence_text();
        answers
            .outgoing
            .push((self.recipients(To::AllBut(conn)), text));
    }

    /// The changes `from..=to`, a page at a time ([`MAX_HISTORY`] changes, fewer when they
    /// are large): from memory, or, for changes older than the room keeps, from the log, read
    /// once the batch is stored and without holding up the room (the answer then comes when
    /// the read does).
    fn history(&mut self, answers: &mut Answers, conn: u64, from: Revision, to: Option<Revision>) {
        let (from, to) = match history_range(from, to, self.authority.rev()) {
            Ok(range) => range,
            Err(message) => {
                let message = error_message(ErrorCode::InvalidRange, message);
                answers
                    .outgoing
                    .push((self.recipients(To::One(conn)), encode(&message)));
                return;
            }
        };
        let asked_to = to;
        let to = Revision(to.0.min(from.0.saturating_add(MAX_HISTORY as u64 - 1)));
        if from > self.authority.oldest_retained() {
            let message = history_page(self.authority.history(from, to), asked_to);
            answers
                .outgoing
                .push((self.recipients(To::One(conn)), encode(&message)));
            return;
        }
        answers.older.push(Older::History {
            conn,
            from,
            to,
            asked_to,
        });
    }

    /// The document at `rev` (the head when absent): from memory, or, before what the room
    /// keeps, replayed from the log once the batch is stored, without holding up the room.
    fn snapshot(&mut self, answers: &mut Answers, conn: u64, rev: Option<Revision>) {
        let head = self.authority.rev();
        let rev = rev.unwrap_or(head);
        let message = if rev > head {
            error_message(
                ErrorCode::InvalidRange,
                format!("revision {rev} is after the head, {head}"),
            )
        } else if let Some(doc) = self.authority.document_at(rev) {
            ServerMessage::Snapshot { rev, doc }
        } else {
            answers.older.push(Older::Snapshot { conn, rev });
            return;
        };
        answers
            .outgoing
            .push((self.recipients(To::One(conn)), encode(&message)));
    }

    /// Starts the store's read for a request older than the room keeps; its answer goes
    /// straight to the connection when the read is done. Called only when every change is
    /// stored, so the log holds everything up to what the room keeps.
    fn read_older_history(&mut self, older: Older) {
        let conn = match &older {
            Older::History { conn, .. } | Older::Snapshot { conn, .. } => *conn,
        };
        let Some(member) = self.member(conn) else {
            return;
        };
        let (out, kick) = (member.out.clone(), member.kick.clone());
        let (store, doc) = (self.rooms.store.clone(), self.doc.to_owned());
        let oldest = self.authority.oldest_retained();
        match older {
            Older::History {
                from, to, asked_to, ..
            } => {
                // What the room keeps of the range, taken now; the rest from the log.
                let kept = self.authority.history(from.max(oldest.next()), to);
                let stored_to = to.min(oldest);
                self.rooms.tracker.spawn(async move {
                    let count = (stored_to.0 - from.0 + 1) as usize;
                    let read = store
                        .changes(&doc, from, stored_to, (count, MAX_HISTORY_BYTES))
                        .await;
                    let message = match read {
                        Ok(mut changes) => {
                            // A page cut short by size ends there, before what is kept.
                            if changes.last().map(|c| c.rev) == Some(stored_to) {
                                changes.extend(kept);
                            }
                            history_page(changes, asked_to)
                        }
                        Err(e) => {
                            tracing::error!(doc, error = %e, "reading the history from the log failed");
                            error_message(
                                ErrorCode::NotRetained,
                                format!("the changes before {} cannot be read: {e}", oldest.next()),
                            )
                        }
                    };
                    send_alone(&out, &kick, &message);
                });
            }
            Older::Snapshot { rev, .. } => {
                self.rooms.tracker.spawn(async move {
                    let message = match store.document_at(&doc, rev).await {
                        Ok(value) => ServerMessage::Snapshot { rev, doc: value },
                        Err(e) => {
                            tracing::error!(doc, error = %e, "replaying the log to {rev} failed");
                            error_message(
                                ErrorCode::NotRetained,
                                format!("the document at {rev} cannot be read: {e}"),
                            )
                        }
                    };
                    send_alone(&out, &kick, &message);
                });
            }
        }
    }

    fn leave(&mut self, answers: &mut Answers, conn: u64) {
        let Some(at) = self.members.iter().position(|p| p.member.conn == conn) else {
            return;
        };
        let member = self.members.remove(at).member;
        if !self
            .members
            .iter()
            .any(|p| p.member.client == member.client)
            && self.authority.presence().leave(&member.client)
        {
            let text = self.presence_text();
            answers.outgoing.push((self.recipients(To::All), text));
        }
    }

    /// Stores applied changes (and a snapshot when one is due) in one transaction.
    async fn store(&mut self, changes: Vec<Checked>) -> Result<(), Stop> {
        let n = changes.len() as u64;
        let every = self.rooms.config.documents.snapshot_every.max(1);
        let head = self.authority.rev();
        let snapshot = (head.0 - self.snapshot_rev.0 >= every)
            .then(|| (head, self.authority.document().to_json()));
        // A snapshot also resets the size estimate to the truth.
        if let Some((_, json)) = &snapshot {
            self.size = json.len();
        }
        let batch = Batch {
            doc: self.doc.to_owned(),
            fence: self.fence.clone(),
            changes,
            snapshot,
        };
        let had_snapshot = batch.snapshot.is_some();
        self.rooms
            .store
            .commit_checked(batch)
            .await
            .map_err(|e| match e {
                fenced @ StoreError::Fenced { .. } => Stop::LeaseLost(fenced.to_string()),
                other => Stop::Storage(other.to_string()),
            })?;
        if had_snapshot {
            self.snapshot_rev = head;
        }
        bump(&self.rooms.metrics.commits);
        self.rooms
            .metrics
            .changes
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Whether a change carrying `ops` keeps the document within its size limit, and if so how
    /// many bytes it adds at most. The size is estimated from above (the size at load or at the
    /// last snapshot plus what every change added at most); only when the estimate says no is
    /// the document measured.
    fn fits(&mut self, ops: &[Operation]) -> Result<usize, String> {
        let max = self.rooms.config.limits.max_document_bytes;
        let added = growth(ops, self.authority.document());
        if self.size.saturating_add(added) <= max {
            return Ok(added);
        }
        self.size = self.authority.document().to_json().len();
        if self.size.saturating_add(added) <= max {
            return Ok(added);
        }
        Err(format!(
            "the document would grow past the relay's limit of {max} bytes"
        ))
    }
}

/// The revisions a `history` request names, checked against the head: `1 <= from <= to <=
/// head`. Without `to` it runs to the head, and `from` may then be `head + 1`: what follows the
/// head, which is nothing yet.
/// The most changes one `history` answer holds.
pub(crate) const MAX_HISTORY: usize = 1000;

/// Roughly the most bytes of operations one `history` answer holds (it always holds at least
/// one change, however large).
const MAX_HISTORY_BYTES: usize = 8 << 20;

/// The answer holding the first of `changes` that fit one, saying where the next page starts
/// when the range asked for (up to `to`) goes on past it.
fn history_page(changes: Vec<Commit>, to: Revision) -> ServerMessage {
    let changes = page(changes);
    let next = changes
        .last()
        .map(|last| last.rev.next())
        .filter(|next| *next <= to);
    ServerMessage::History { changes, next }
}

/// The first changes of `changes` that fit one answer.
fn page(mut changes: Vec<Commit>) -> Vec<Commit> {
    changes.truncate(MAX_HISTORY);
    let mut bytes = 0;
    let fits = changes
        .iter()
        .take_while(|c| {
            bytes += serde_json::to_string(&c.ops).map_or(0, |t| t.len());
            bytes <= MAX_HISTORY_BYTES
        })
        .count()
        .max(1);
    changes.truncate(fits);
    changes
}

/// Sends an answer read apart from the room to one connection; one whose queue is full is not
/// reading and is dropped.
fn send_alone(
    out: &tokio::sync::mpsc::Sender<crate::wire::Outbound>,
    kick: &tokio_util::sync::CancellationToken,
    message: &ServerMessage,
) {
    if out
        .try_send(crate::wire::Outbound::Text(encode(message)))
        .is_err()
    {
        kick.cancel();
    }
}

fn history_range(
    from: Revision,
    to: Option<Revision>,
    head: Revision,
) -> Result<(Revision, Revision), String> {
    if from.0 == 0 {
        return Err("revision 0 is the empty document; the first change is revision 1".to_owned());
    }
    match to {
        Some(to) if to > head => Err(format!("revision {to} is after the head, {head}")),
        Some(to) if from > to => Err(format!("the range {from} to {to} is backwards")),
        Some(to) => Ok((from, to)),
        None if from > head.next() => Err(format!(
            "revision {from} is after the head, {head} (the next change will be {})",
            head.next()
        )),
        None => Ok((from, head)),
    }
}

/// The bytes of JSON that `ops` add to `doc`, at most: the values they write (with their
/// paths), the text they insert, and what copies copy.
fn growth(ops: &[Operation], doc: &Value) -> usize {
    ops.iter()
        .map(|op| match op {
            Operation::Add { value, .. }
            | Operation::Replace { value, .. }
            | Operation::Merge { value, .. } => value.to_json().len() + op.path().to_string().len(),
            Operation::Splice { ins, .. } => ins.len(),
            Operation::Incr { .. } => 24,
            Operation::Copy { from, path } => from
                .resolve(doc)
                .map_or(0, |v| v.to_json().len() + path.to_string().len()),
            // Moves, removes and tests add nothing.
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{Revision, history_range};

    #[test]
    fn history_ranges_run_forwards_within_the_log() {
        let r = Revision;
        let head = r(5);
        assert_eq!(history_range(r(1), None, head), Ok((r(1), r(5))));
        assert_eq!(history_range(r(2), Some(r(4)), head), Ok((r(2), r(4))));
        assert_eq!(history_range(r(5), Some(r(5)), head), Ok((r(5), r(5))));
        // What follows the head: nothing yet, asked without `to` (an empty document's history).
        assert_eq!(history_range(r(6), None, head), Ok((r(6), r(5))));
        assert_eq!(history_range(r(1), None, r(0)), Ok((r(1), r(0))));
        for (from, to) in [
            (r(0), None),
            (r(0), Some(r(3))),
            (r(7), None),
            (r(4), Some(r(3))),
            (r(6), Some(r(5))),
            (r(1), Some(r(6))),
            (r(9), Some(r(9))),
        ] {
            assert!(history_range(from, to, head).is_err(), "{from:?} {to:?}");
        }
    }
}
