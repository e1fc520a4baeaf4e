//! Letting a member in. A welcome that catches up by snapshot carries the conflict records
//! whose loser is the newcomer in every change the snapshot skips (PROTOCOL.md, `welcome`):
//! first those of the changes older than the room keeps in memory, which only the store has,
//! then those of the changes the Authority keeps. A member that holds nothing gets none.
//!
//! The store's read goes through its one thread and can take a while on a long log, so the
//! room does not wait for it: the join is parked (the member is not in the room yet, so it
//! misses nothing and nobody sees it) while the room goes on serving, and completes when the
//! read answers. The read starts once the batch that parked the join is stored, so the store
//! holds every change it covers; if the room has let more changes go from memory meanwhile,
//! their records are read as well before the member is let in.
//!
//! A welcome carries at most [`MAX_WELCOME_CONFLICTS`] records, the latest ones, so that a
//! client away for a very long time costs a bounded read and a bounded message.

use sync_core::protocol::{CatchUp, Conflict, ErrorCode, Revision, ServerMessage};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{Member, Present, Recipients, Room, To};
use crate::store::{ConflictQuery, StoreError};
use crate::wire::{encode, now_millis};

/// The most conflict records one welcome carries (the latest ones).
pub(crate) const MAX_WELCOME_CONFLICTS: usize = 10_000;

/// A join waiting for the store to read what the member lost in changes the room no longer
/// keeps.
pub(super) struct Catching {
    member: Member,
    /// The revision the member holds.
    last_rev: Revision,
    joined: oneshot::Sender<Result<(), ErrorCode>>,
    /// The records read so far, of the changes after `last_rev` up to `read_to`: the latest
    /// [`MAX_WELCOME_CONFLICTS`] of them, oldest first.
    older: Vec<Conflict>,
    read_to: Revision,
}

/// A finished read: the join it was for and what the store answered.
pub(super) type Read = (Catching, Result<Vec<Conflict>, StoreError>);

impl Room<'_> {
    /// Takes a member in, queueing its welcome on `outgoing`; or, if its snapshot skips changes
    /// the room no longer keeps, returns the join parked, for [`Room::read_older`] to start the
    /// store's read once what came before it in the batch is stored.
    pub(super) fn join(
        &mut self,
        outgoing: &mut Vec<(Recipients, Utf8Bytes)>,
        member: Member,
        last_rev: Option<Revision>,
        joined: oneshot::Sender<Result<(), ErrorCode>>,
        now: u64,
    ) -> Option<Catching> {
        match last_rev {
            Some(last_rev) if last_rev < self.authority.oldest_retained() => Some(Catching {
                member,
                last_rev,
                joined,
                older: Vec::new(),
                read_to: last_rev,
            }),
            // Changes to catch up with, or a snapshot for a member that holds nothing.
            _ => {
                self.admit(outgoing, member, last_rev, joined, Vec::new(), now);
                None
            }
        }
    }

    /// Starts the store's read of what a parked member lost in the changes the room no longer
    /// keeps and that it has not read yet. Called only when every change is stored.
    pub(super) fn read_older(&mut self, mut catching: Catching) {
        let oldest = self.authority.oldest_retained();
        let query = ConflictQuery {
            doc: self.doc.to_owned(),
            loser: catching.member.client.clone(),
            after: catching.read_to,
            up_to: oldest,
            limit: MAX_WELCOME_CONFLICTS,
        };
        catching.read_to = oldest;
        let store = self.rooms.store.clone();
        self.reading.spawn(async move {
            let read = store.conflicts_of(query).await;
            (catching, read)
        });
    }

    /// A read finished: the member is let in, unless the room let more changes go from memory
    /// meanwhile (those are read first). A failed read refuses the join with
    /// `document_unavailable` rather than welcome the member without records it lost.
    pub(super) fn caught(&mut self, (mut catching, read): Read) {
        match read {
            Ok(records) => {
                catching.older.extend(records);
                keep_latest(&mut catching.older);
            }
            Err(e) => {
                tracing::error!(doc = self.doc, client = %catching.member.client, error = %e,
                    "reading the conflict records for a welcome failed; the join is refused");
                let _ = catching.joined.send(Err(ErrorCode::DocumentUnavailable));
                return;
            }
        }
        if catching.read_to < self.authority.oldest_retained() {
            self.read_older(catching);
            return;
        }
        let Catching {
            member,
            last_rev,
            joined,
            mut older,
            read_to,
        } = catching;
        older.extend(self.authority.conflicts_of(&member.client, read_to));
        keep_latest(&mut older);
        let mut outgoing = Vec::new();
        self.admit(
            &mut outgoing,
            member,
            Some(last_rev),
            joined,
            older,
            now_millis(),
        );
        for (to, text) in outgoing {
            self.deliver(to, &text);
        }
    }

    /// Lets a member in: present, welcomed (a snapshot with `lost` as its conflict records),
    /// and announced to the others.
    fn admit(
        &mut self,
        outgoing: &mut Vec<(Recipients, Utf8Bytes)>,
        member: Member,
        last_rev: Option<Revision>,
        joined: oneshot::Sender<Result<(), ErrorCode>>,
        lost: Vec<Conflict>,
        now: u64,
    ) {
        // Joined first, so the welcome lists the newcomer too, with its colour.
        let presence = self.authority.presence();
        presence.join(member.client.clone(), &member.author, member.role, now);
        let mut welcome = self
            .authority
            .welcome(&member.client, last_rev, member.role);
        // The room's list stands for the Authority's, which knows only the changes it keeps.
        if let ServerMessage::Welcome {
            catch_up: CatchUp::Snapshot { conflicts, .. },
            ..
        } = &mut welcome
        {
            *conflicts = lost;
        }
        let conn = member.conn;
        if joined.send(Ok(())).is_err() {
            return;
        }
        self.members.push(Present {
            member,
            joined: self.joins,
        });
        self.joins += 1;
        outgoing.push((self.recipients(To::One(conn)), encode(&welcome)));
        outgoing.push((self.recipients(To::AllBut(conn)), self.presence_text()));
    }
}

/// Drops all but the latest [`MAX_WELCOME_CONFLICTS`] records.
fn keep_latest(records: &mut Vec<Conflict>) {
    let excess = records.len().saturating_sub(MAX_WELCOME_CONFLICTS);
    records.drain(..excess);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sync_core::Pointer;
    use sync_core::protocol::{ClientId, Conflict, ConflictKind, Party, Revision};

    use super::{MAX_WELCOME_CONFLICTS, keep_latest};

    #[test]
    fn a_welcome_keeps_the_latest_records_in_order() {
        let party = |client: &str| Party {
            client: ClientId::from(client),
            author: client.to_owned(),
        };
        let record = |rev: usize| Conflict {
            kind: ConflictKind::Overwritten,
            path: Pointer::parse("/x").unwrap(),
            value: None,
            op: None,
            reason: None,
            winner: party("b"),
            loser: party("a"),
            rev: Revision(rev as u64),
        };
        let mut records: Vec<Conflict> = (1..=MAX_WELCOME_CONFLICTS + 5).map(record).collect();
        keep_latest(&mut records);
        let revs: Vec<u64> = records.iter().map(|c| c.rev.0).collect();
        let expected: Vec<u64> = (6..=MAX_WELCOME_CONFLICTS as u64 + 5).collect();
        assert_eq!(revs, expected);
        let mut few: Vec<Conflict> = (1..=3).map(record).collect();
        keep_latest(&mut few);
        assert_eq!(few.len(), 3);
    }
}
