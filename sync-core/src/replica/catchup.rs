//! Catching up and healing: the welcome after (re)connecting, resending the change in flight,
//! and starting over from a snapshot when the replica's state disagreed with the relay's.

use super::{Event, Inverse, Pending, PendingState, Replica, Sent};
use crate::authority::apply_placed;
use crate::protocol::{
    CatchUp, ClientMessage, Conflict, Overwrite, Peer, Revision, Role, StateHash, state_hash,
};
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
            CatchUp::Snapshot { doc, conflicts } => {
                let applied =
                    matches!((client_seq, inflight_seq), (Some(done), Some(s)) if done >= s);
                events.extend(self.reset(doc, rev, applied));
                if !conflicts.is_empty() {
                    events.push(Event::Conflicts(conflicts));
                }
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
    /// relay applies it at most once). Byte for byte as it was sent, on its original base, so
    /// that the relay rebases it over everything since and records every conflict; or, when
    /// that is no longer known (after a restart or a resync), as it stands here on the current
    /// revision, with what rebasing it here found.
    pub(super) fn resend_inflight(&mut self) -> Vec<Event> {
        let (Some(rev), true) = (self.rev, self.connected && !self.resyncing) else {
            return Vec::new();
        };
        let Some(inflight) = &mut self.inflight else {
            return Vec::new();
        };
        let Some(seq) = inflight.seq else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let sent = match &self.sent {
            Some(sent) => sent,
            None => {
                let lost = std::mem::take(&mut inflight.lost);
                if !lost.is_empty() {
                    events.push(Event::Conflicts(lost));
                }
                self.sent.insert(Sent {
                    base: rev,
                    ops: inflight.ops(),
                    overwrites: inflight.overwrites.clone(),
                })
            }
        };
        events.push(Event::Send(sent.submit(seq)));
        events
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
        // What is replayed is sent anew, as it stands: what rebasing it here dropped before
        // is this replica's to report now.
        self.sent = None;
        let mut events = vec![Event::Changed];
        let lost: Vec<Conflict> = inflight
            .iter()
            .filter(|_| !inflight_applied)
            .flat_map(|p| p.lost.iter().cloned())
            .collect();
        if !lost.is_empty() {
            events.push(Event::Conflicts(lost));
        }
        let inflight = inflight.filter(|_| !inflight_applied);
        let pending = [inflight, buffer]
            .into_iter()
            .flatten()
            .map(|p| PendingState {
                seq: p.seq,
                ops: p.ops(),
                overwrites: p.overwrites,
                lost: Vec::new(),
            });
        events.extend(self.replay(pending));
        events
    }

    /// Applies pending changes (oldest first) on the view as it stands: the first, if it was
    /// sent, is in flight again; the rest are buffered. Those that no longer apply are reported.
    pub(super) fn replay(&mut self, pending: impl IntoIterator<Item = PendingState>) -> Vec<Event> {
        let mut events = Vec::new();
        for (
            i,
            PendingState {
                seq,
                ops,
                overwrites,
                lost,
            },
        ) in pending.into_iter().enumerate()
        {
            match apply_placed(&mut self.view, ops.clone()) {
                Ok((placed, inverse)) => {
                    let replayed = Pending {
                        seq,
                        ops: placed,
                        inverse: Inverse::of(inverse),
                        overwrites,
                        lost,
                    };
                    if i == 0 && seq.is_some() {
                        self.inflight = Some(replayed);
                    } else {
                        self.merge_into_buffer(replayed);
                    }
                }
                Err(e) => {
                    if !lost.is_empty() {
                        events.push(Event::Conflicts(lost));
                    }
                    events.push(Event::Lost {
                        ops,
                        error: e.to_string(),
                    });
                }
            }
        }
        events
    }

    pub(super) fn merge_into_buffer(&mut self, pending: Pending) {
        match &mut self.buffer {
            Some(buffer) => {
                let offset = buffer.ops.len();
                buffer
                    .overwrites
                    .extend(pending.overwrites.into_iter().map(|o| Overwrite {
                        index: o.index + offset,
                        ..o
                    }));
                buffer.lost.extend(pending.lost);
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
