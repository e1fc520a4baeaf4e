//! What a replica tells the app, and why a local edit can be refused.

use crate::apply::ApplyError;
use crate::op::Operation;
use crate::protocol::{ClientMessage, Commit, Conflict, Peer, Revision, Role};
use crate::value::Value;

/// What the app should know or do after a replica call.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Send this message to the relay.
    Send(ClientMessage),
    /// The view changed because of someone else (or a resync): redraw.
    Changed,
    /// Conflicts decided by the relay that involve this replica's work or that it caused.
    Conflicts(Vec<Conflict>),
    /// The relay refused a local change; it is gone from the view.
    Rejected {
        /// The change as it was last sent.
        ops: Vec<Operation>,
        /// Why, machine-readable.
        code: String,
        /// Why, for people.
        message: String,
    },
    /// After a resync, a pending local change no longer applied; it is gone from the view.
    Lost {
        /// The change.
        ops: Vec<Operation>,
        /// Why it no longer applies.
        error: String,
    },
    /// The replica's state disagreed with the relay's; it asked for a snapshot to heal.
    Diverged {
        /// The revision at which the hashes differed.
        rev: Revision,
    },
    /// The relay holds less than this replica: its revision is behind the one confirmed here
    /// (it was restored from an older copy, say). The replica keeps its own copy, pending work
    /// included, and sends nothing until its user chooses:
    /// [`Replica::restore_my_copy`](super::Replica::restore_my_copy) or
    /// [`Replica::use_relay_copy`](super::Replica::use_relay_copy). Emitted again whenever the
    /// relay's revision moves meanwhile.
    RelayBehind {
        /// The relay's revision.
        relay: Revision,
        /// The revision confirmed here.
        mine: Revision,
    },
    /// Connected and caught up (after a welcome, or after the user chose how to go on from a
    /// relay that was behind).
    Welcomed {
        /// What this connection may do.
        role: Role,
    },
    /// The peers changed.
    Presence(Vec<Peer>),
    /// Changes asked for with [`ClientMessage::History`], a page of them.
    History {
        /// The changes.
        changes: Vec<Commit>,
        /// Where the next page starts, when the range asked for goes on.
        next: Option<Revision>,
    },
    /// A document asked for with [`ClientMessage::Snapshot`].
    Snapshot {
        /// Its revision.
        rev: Revision,
        /// The document.
        doc: Value,
    },
    /// The relay reported an error.
    Error {
        /// Machine-readable.
        code: String,
        /// For people.
        message: String,
    },
}

/// Why a local edit was refused. The view is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The relay gave this replica read access only.
    #[error("this document is read-only here")]
    ReadOnly,
    /// The edit does not apply to the view.
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

impl EditError {
    /// A stable, machine-readable name for the error.
    pub fn code(&self) -> &'static str {
        match self {
            EditError::ReadOnly => "read_only",
            EditError::Apply(e) => e.code(),
        }
    }
}
