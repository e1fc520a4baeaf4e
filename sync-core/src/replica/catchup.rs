//! Catching up and healing: the welcome after (re)connecting, resending the change in flight,
//! starting over from a snapshot when the replica's state disagreed with the relay's, and
//! holding on to this replica's copy when the relay turns out to be behind it.
//!
//! # A relay that is behind
//!
//! A relay restored from an older backup (or after a lost disk, or a failover to a lagging
//! database) answers a hello whose `last_rev` is ahead of its head with the catch-up
//! `relay_behind` and its document. Adopting that document, as after a snapshot, would roll
//! this replica back and lose the newer document without anybody being told. So the replica
//! keeps its view, pending work and undo history, sends nothing (its confirmed revision no
//! longer exists on the relay), reports [`Event::RelayBehind`], and meanwhile keeps the
//! relay's copy up to date with the changes others make there. Its user chooses:
//!
//! - [`Replica::restore_my_copy`]: the relay's document becomes the confirmed state, and the
//!   difference to the view (pending work included) goes as one new change on top of it, so
//!   that everyone converges on this copy;
//! - [`Replica::use_relay_copy`]: the relay's document is adopted as after a snapshot, the
//!   pending work replayed on it and what no longer applies reported.
//!
//! Should the relay's copy come to equal this replica's confirmed document (another window
//! restored the same copy), nothing can be lost: the replica takes it quietly, pending work
//! and undo history untouched. The state is not persisted: after a restart or a reconnect the
//! replica's hello names its revision again and the relay's welcome says again where it stands.

use super::{Event, Inverse, Pending, PendingState, Replica, Sent, orphans};
use crate::authority::apply_placed;
use crate::op::Operation;
use crate::pointer::Pointer;
use crate::protocol::{
    CatchUp, ClientMessage, Commit, Conflict, Overwrite, Peer, Revision, Role, StateHash,
    state_hash,
};
use crate::replica::EditError;
use crate::value::Value;

/// The relay's copy of the document while the relay is behind this replica.
#[derive(Debug, Clone)]
pub(super) struct Behind {
    /// The relay's revision, kept up to date with the changes others make there.
    rev: Revision,
    /// The relay's document at `rev`.
    doc: Value,
    /// The last `seq` of this replica that the relay applied, as its welcome said.
    client_seq: Option<u64>,
    /// The relay's changes stopped following on from `rev`: a snapshot of its head was asked
    /// for, and changes are ignored until it comes.
    refreshing: bool,
}

impl Replica {
    /// Catches up on a new connection: by the changes missed (this replica's own change in
    /// flight among them is its ack), or from a snapshot with the pending changes replayed on
    /// it; then resends the change in flight if it never arrived, and sends the buffer.
    /// A relay behind this replica is not caught up with: see the module docs.
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
        self.behind = None;
        let mut events = Vec::new();
        let inflight_seq = self.inflight.as_ref().and_then(|p| p.seq);
        match catch_up {
            CatchUp::Changes { changes } => {
                for commit in changes {
                    if commit.client == self.client && Some(commit.seq) == inflight_seq {
                        let shown = self.shown_for(&commit.conflicts);
                        events.extend(self.ack(commit.seq, commit.rev, Some(commit.ops), None));
                        if !commit.conflicts.is_empty() {
                            let mut conflicts = commit.conflicts;
                            self.fill_in(&mut conflicts, &shown);
                            events.push(Event::Conflicts(conflicts));
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
            CatchUp::RelayBehind { doc } => {
                // The relay may remember a later seq of ours than this replica does (it cannot
                // when it is merely older): never reuse one it has seen.
                if let Some(done) = client_seq {
                    self.next_seq = self.next_seq.max(done.saturating_add(1));
                }
                self.behind = Some(Behind {
                    rev,
                    doc,
                    client_seq,
                    refreshing: false,
                });
            }
        }
        self.connected = true;
        events.push(Event::Presence(peers));
        if self.behind.is_some() {
            events.extend(self.relay_moved());
        } else {
            events.extend(self.resume());
        }
        events
    }

    /// Caught up: says so, and sends what waits.
    fn resume(&mut self) -> Vec<Event> {
        let mut events = vec![Event::Welcomed { role: self.role }];
        events.extend(self.resend_inflight());
        events.extend(self.flush());
        events
    }

    /// The relay's revision while it is behind this replica (see [`Event::RelayBehind`]);
    /// `None` when it is not, or not known to be.
    pub fn relay_behind(&self) -> Option<Revision> {
        self.behind.as_ref().map(|b| b.rev)
    }

    /// "Restore my copy", while the relay is behind: the relay's document becomes the
    /// confirmed state at its revision, and what turns it into the view (pending work
    /// included) is submitted as one new change, so that everyone converges on this copy.
    /// The view and the undo history stay as they are. Refused on a read-only connection;
    /// nothing happens when the relay is not behind.
    pub fn restore_my_copy(&mut self) -> Result<Vec<Event>, EditError> {
        if self.role == Role::Read {
            return Err(EditError::ReadOnly);
        }
        let Some(Behind { rev, doc, .. }) = self.behind.take() else {
            return Ok(Vec::new());
        };
        // The pending changes are part of the copy: the view holds them already.
        let (inflight, buffer) = (self.inflight.take(), self.buffer.take());
        let mine = std::mem::replace(&mut self.view, doc);
        self.rev = Some(rev);
        self.sent = None;
        let mut events = Vec::new();
        // Parts of a change already sent that rebasing here dropped: the relay would have
        // reported them had the change arrived; it never will now.
        let (lost, orphaned): (Vec<_>, Vec<_>) = [inflight, buffer]
            .into_iter()
            .flatten()
            .map(|p| (p.lost, p.orphaned))
            .unzip();
        let lost: Vec<Conflict> = lost.into_iter().flatten().collect();
        if !lost.is_empty() {
            events.push(Event::Conflicts(lost));
        }
        events.extend(orphans(orphaned.into_iter().flatten().collect()));
        let change = crate::diff::diff(&self.view, &mine);
        if !change.is_empty() {
            // `apply(a, diff(a, b)) == b` always; replacing the whole document is the fallback
            // that cannot fail, should that law ever be broken.
            let applied = apply_placed(&mut self.view, change.0).or_else(|e| {
                debug_assert!(false, "diff did not apply: {e}");
                apply_placed(
                    &mut self.view,
                    vec![Operation::replace(Pointer::root(), mine.clone())],
                )
            });
            if let Ok((ops, inverse)) = applied {
                self.buffer = Some(Pending {
                    ops,
                    inverse: Inverse::of(inverse),
                    ..Pending::default()
                });
            }
        }
        debug_assert_eq!(self.view, mine, "the view is the copy restored");
        events.extend(self.resume());
        Ok(events)
    }

    /// "Use the relay's", while the relay is behind: its document is adopted as after a
    /// snapshot; pending changes are replayed on it (those that no longer apply are reported)
    /// and sent. Nothing happens when the relay is not behind.
    pub fn use_relay_copy(&mut self) -> Vec<Event> {
        let Some(Behind {
            rev,
            doc,
            client_seq,
            ..
        }) = self.behind.take()
        else {
            return Vec::new();
        };
        let inflight_seq = self.inflight.as_ref().and_then(|p| p.seq);
        let applied = matches!((client_seq, inflight_seq), (Some(done), Some(s)) if done >= s);
        let mut events = self.reset(doc, rev, applied);
        events.extend(self.resume());
        events
    }

    /// Someone else's change on a relay that is behind: it moves the relay's copy on.
    pub(super) fn relay_applied(&mut self, commit: &Commit, hash: Option<StateHash>) -> Vec<Event> {
        let Some(behind) = &mut self.behind else {
            return Vec::new();
        };
        if behind.refreshing || commit.rev <= behind.rev {
            return Vec::new();
        }
        let follows = commit.rev == behind.rev.next()
            && crate::apply::apply(&mut behind.doc, &commit.ops).is_ok()
            && hash.is_none_or(|h| state_hash(&behind.doc) == h);
        if !follows {
            behind.refreshing = true;
            return vec![Event::Send(ClientMessage::Snapshot { rev: None })];
        }
        behind.rev = commit.rev;
        self.relay_moved()
    }

    /// A snapshot while the relay is behind: the relay's head, if one was asked for to catch
    /// its copy up; otherwise someone else's question (the history's).
    pub(super) fn relay_snapshot(&mut self, rev: Revision, doc: Value) -> Vec<Event> {
        match &mut self.behind {
            Some(behind) if behind.refreshing => {
                *behind = Behind {
                    rev,
                    doc,
                    client_seq: behind.client_seq,
                    refreshing: false,
                };
                self.relay_moved()
            }
            _ => vec![Event::Snapshot { rev, doc }],
        }
    }

    /// The relay's copy moved (or arrived): if it is what this replica confirmed (or this
    /// replica confirmed nothing), nothing can be lost and it is taken quietly; otherwise the
    /// user is told where both stand.
    fn relay_moved(&mut self) -> Vec<Event> {
        let Some(behind) = &self.behind else {
            return Vec::new();
        };
        let inflight_seq = self.inflight.as_ref().and_then(|p| p.seq);
        let inflight_applied =
            matches!((behind.client_seq, inflight_seq), (Some(done), Some(s)) if done >= s);
        let relay = behind.rev;
        let Some(mine) = self.rev else {
            return self.use_relay_copy();
        };
        let doc = behind.doc.clone();
        if !inflight_applied && self.confirmed_is(&doc) {
            self.behind = None;
            self.rev = Some(relay);
            // The change in flight was sent on a revision the relay no longer has: it goes
            // anew, as it stands, on the relay's.
            self.sent = None;
            return self.resume();
        }
        vec![Event::RelayBehind { relay, mine }]
    }

    /// Whether the confirmed state (the view without the pending changes) is `doc`.
    fn confirmed_is(&mut self, doc: &Value) -> bool {
        let (inflight, buffer) = self.take_pending();
        let same = self.view == *doc;
        for pending in [&inflight, &buffer].into_iter().flatten() {
            let redone = apply_placed(&mut self.view, pending.ops());
            debug_assert!(redone.is_ok());
        }
        self.inflight = inflight;
        self.buffer = buffer;
        same
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
        let ready = self.connected && !self.resyncing && self.behind.is_none();
        let (Some(rev), true) = (self.rev, ready) else {
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
                events.extend(orphans(std::mem::take(&mut inflight.orphaned)));
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
        let orphaned = inflight
            .iter()
            .filter(|_| !inflight_applied)
            .flat_map(|p| p.orphaned.iter().cloned())
            .collect();
        events.extend(orphans(orphaned));
        let inflight = inflight.filter(|_| !inflight_applied);
        let pending = [inflight, buffer]
            .into_iter()
            .flatten()
            .map(|p| PendingState {
                seq: p.seq,
                ops: p.ops(),
                overwrites: p.overwrites,
                lost: Vec::new(),
                orphaned: Vec::new(),
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
                orphaned,
            },
        ) in pending.into_iter().enumerate()
        {
            match apply_placed(&mut self.view, ops.clone()) {
                Ok((placed, inverse)) => {
                    let mut replayed = Pending {
                        seq,
                        ops: placed,
                        inverse: Inverse::of(inverse),
                        overwrites,
                        lost,
                        orphaned,
                    };
                    if i == 0 && seq.is_some() {
                        self.inflight = Some(replayed);
                    } else {
                        events.extend(orphans(std::mem::take(&mut replayed.orphaned)));
                        self.merge_into_buffer(replayed);
                    }
                }
                Err(e) => {
                    if !lost.is_empty() {
                        events.push(Event::Conflicts(lost));
                    }
                    events.extend(orphans(orphaned));
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
