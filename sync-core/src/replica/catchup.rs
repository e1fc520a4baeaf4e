//! Catching up and healing: the welcome after (re)connecting, resending the change in flight,
//! and starting over from a snapshot when the replica's state disagreed with the relay's.

use super::{Event, Inverse, Pending, Replica};
use crate::authority::apply_placed;
use crate::op::Operation;
use crate::protocol::{CatchUp, ClientMessage, Peer, Revision, Role, StateHash, state_hash};
use crate::value::Value;

impl Replica {
    /// Catches up on a new connection: by the changes missed (this replica's own change in
    /// flight among them is its ack), or from a snapshot with the pending changes replayed on
    /// it; then resends the change in flight if it never arrived, and sends the buffer.
    pub(super) fn welcome(
        &mut self,
        rev: Revision,
        role: Role,
        client_seq: Option<u64>,
        catch_up: CatchUp,
        peers: Vec<Peer>,
    ) -> Vec<Event> {
        self.role = role;
        self.resyncing = false;
        let mut events = Vec::new();
        let inflight_seq = self.inflight.as_ref().and_then(|p| p.seq);
        match catch_up {
            CatchUp::Changes { changes } => {
                for commit in changes {
                    if commit.client == self.client && Some(commit.seq) == inflight_seq {
                        events.extend(self.ack(commit.seq, commit.rev, Some(commit.ops), None));
                        if !commit.conflicts.is_empty() {
                            events.push(Event::Conflicts(commit.conflicts));
                        }
                    } else {
                        events.extend(self.foreign(commit, None));
                    }
                }
                if self.rev != Some(rev) {
                    // The changes did not reach the announced head: start over from a snapshot.
                    self.resyncing = true;
                    events.push(Event::Send(ClientMessage::Snapshot { rev: None }));
                }
            }
            CatchUp::Snapshot { doc } => {
                let applied =
                    matches!((client_seq, inflight_seq), (Some(done), Some(s)) if done >= s);
                events.extend(self.reset(doc, rev, applied));
            }
        }
        self.connected = true;
        events.push(Event::Presence(peers));
        events.push(Event::Welcomed { role });
        events.extend(self.resend_inflight());
        events.extend(self.flush());
        events
    }

    /// Sends the change in flight again: after a `rate_limited` error, which means the relay
    /// did not apply it. Sending it twice is harmless: the relay applies a change once and
    /// answers a duplicate with the original ack.
    pub fn retry(&mut self) -> Vec<Event> {
        self.resend_inflight()
    }

    /// A change still in flight was not applied: send it again, same sequence number (so the
    /// relay applies it at most once), rebased on the current revision.
    pub(super) fn resend_inflight(&mut self) -> Vec<Event> {
        match (&self.inflight, self.rev) {
            (
                Some(Pending {
                    seq: Some(seq),
                    ops,
                    ..
                }),
                Some(rev),
            ) if self.connected && !self.resyncing => {
                let seq = *seq;
                self.sent = ops.iter().map(|p| p.op.clone()).collect();
                let ops = self.sent.clone();
                vec![Event::Send(ClientMessage::Submit {
                    seq,
                    base_rev: rev,
                    ops,
                })]
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn confirmed_hash(&mut self) -> StateHash {
        let (inflight, buffer) = self.take_pending();
        let hash = state_hash(&self.view);
        for pending in [&inflight, &buffer].into_iter().flatten() {
            let redone = apply_placed(&mut self.view, pending.ops());
            debug_assert!(redone.is_ok());
        }
        self.inflight = inflight;
        self.buffer = buffer;
        hash
    }

    pub(super) fn diverged(&mut self, rev: Revision) -> Vec<Event> {
        self.resyncing = true;
        vec![
            Event::Diverged { rev },
            Event::Send(ClientMessage::Snapshot { rev: None }),
        ]
    }

    /// Replaces the confirmed state with `doc` at `rev` and replays pending work on it, keeping
    /// what still applies. `inflight_applied`: the change in flight is already in `doc`.
    pub(super) fn reset(
        &mut self,
        doc: Value,
        rev: Revision,
        inflight_applied: bool,
    ) -> Vec<Event> {
        let (inflight, buffer) = self.take_pending();
        self.view = doc;
        self.rev = Some(rev);
        self.undo.clear();
        self.redo.clear();
        let mut events = vec![Event::Changed];
        let inflight = inflight.filter(|_| !inflight_applied);
        let pending = [inflight, buffer]
            .into_iter()
            .flatten()
            .map(|p| (p.seq, p.ops()));
        events.extend(self.replay(pending));
        events
    }

    /// Applies pending changes (oldest first) on the view as it stands: the first, if it was
    /// sent, is in flight again; the rest are buffered. Those that no longer apply are reported.
    pub(super) fn replay(
        &mut self,
        pending: impl IntoIterator<Item = (Option<u64>, Vec<Operation>)>,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        for (i, (seq, ops)) in pending.into_iter().enumerate() {
            match apply_placed(&mut self.view, ops.clone()) {
                Ok((placed, inverse)) => {
                    let replayed = Pending {
                        seq,
                        ops: placed,
                        inverse: Inverse::of(inverse),
                    };
                    if i == 0 && seq.is_some() {
                        self.inflight = Some(replayed);
                    } else {
                        self.merge_into_buffer(replayed);
                    }
                }
                Err(e) => events.push(Event::Lost {
                    ops,
                    error: e.to_string(),
                }),
            }
        }
        events
    }

    pub(super) fn merge_into_buffer(&mut self, pending: Pending) {
        match &mut self.buffer {
            Some(buffer) => {
                buffer.ops.extend(pending.ops);
                buffer.inverse.push_newer(pending.inverse);
            }
            None => {
                self.buffer = Some(Pending {
                    seq: None,
                    ..pending
                });
            }
        }
    }
}
