//! The sync protocol: the messages replicas and the relay exchange, as serde enums.
//!
//! Each message is one JSON text frame tagged by `"type"`; the client's first message is
//! `hello`, carrying [`PROTOCOL_VERSION`]. `docs/PROTOCOL.md` documents every message with an
//! example (kept true by tests) and every error code.

use serde::{Deserialize, Serialize};

use crate::op::Operation;
use crate::pointer::Pointer;
use crate::rebase::DropReason;
use crate::value::Value;

mod codes;
mod hash;

pub use codes::{ErrorCode, REJECT_CODES};
pub use hash::{StateHash, state_hash};

/// The protocol version this crate speaks; `hello` must carry it.
pub const PROTOCOL_VERSION: u32 = 1;

/// A position in a document's history: the number of changes applied since it was created.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Revision(pub u64);

impl Revision {
    /// The revision after this one.
    pub fn next(self) -> Revision {
        Revision(self.0 + 1)
    }
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Identifies one replica (an app window, or a command-line session) across reconnects and
/// restarts. Chosen by the client, unique per document.
///
/// The relay admits only ids that pass [`ClientId::validate`] (1 to [`ClientId::MAX_LEN`]
/// ASCII letters, digits, `-`, `_`, `.` and `:`), so that ids stay readable in logs, presence
/// and history. Deserializing does not check: records stored before the rule existed must
/// still load.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(pub String);

/// Why a client id is refused (the protocol's `invalid_client_id`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidClientId {
    /// Empty, or longer than [`ClientId::MAX_LEN`].
    #[error("a client id has 1 to {max} characters, not {0}", max = ClientId::MAX_LEN)]
    Length(usize),
    /// A character outside the allowed set, at this character index.
    #[error(
        "a client id has ASCII letters, digits, '-', '_', '.' and ':' only, not {found:?} (character {at})"
    )]
    Character {
        /// The character refused.
        found: char,
        /// Its index, in characters.
        at: usize,
    },
}

impl ClientId {
    /// The longest id admitted, in characters (all ASCII, so also in bytes).
    pub const MAX_LEN: usize = 128;

    /// Checks the id against the protocol's rule: 1 to [`ClientId::MAX_LEN`] characters, each
    /// an ASCII letter or digit, `-`, `_`, `.` or `:`.
    pub fn validate(&self) -> Result<(), InvalidClientId> {
        let id = self.0.as_str();
        if let Some((at, found)) = id
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
        {
            return Err(InvalidClientId::Character { found, at });
        }
        // Every character is ASCII now, so the length in bytes is the length in characters.
        if id.is_empty() || id.len() > ClientId::MAX_LEN {
            return Err(InvalidClientId::Length(id.len()));
        }
        Ok(())
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ClientId {
    fn from(s: &str) -> ClientId {
        ClientId(s.to_owned())
    }
}

/// What a peer may do with a document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Receive changes and presence; submits are refused.
    Read,
    /// Read and submit changes.
    #[default]
    Write,
}

/// One change in the document's log, as the Authority applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// The revision this change produced.
    pub rev: Revision,
    /// The replica that submitted it.
    pub client: ClientId,
    /// The replica's sequence number for it (unique per client, increasing).
    pub seq: u64,
    /// The display name of its author.
    pub author: String,
    /// When it was applied, in milliseconds since the Unix epoch (the Authority's clock).
    pub time: u64,
    /// The operations as applied: rebased over earlier concurrent changes, `-` indexes
    /// resolved, `merge` expanded into the writes it made.
    pub ops: Vec<Operation>,
    /// Conflicts this change caused or suffered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// When this change continues its client's typing (see [`crate::history`]): the revision
    /// of the change that began the group. History shows and reverts a group as one entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Revision>,
}

/// Whose work a conflict concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// The replica.
    pub client: ClientId,
    /// Its author's display name.
    pub author: String,
}

/// How someone's edit lost to a concurrent one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// A later write to the same place replaced the loser's value.
    Overwritten,
    /// The loser's operation no longer applied and was left out.
    Dropped,
}

/// A record of an edit that lost, so the UI can show it and restore it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// Overwritten or dropped.
    pub kind: ConflictKind,
    /// Where: for `overwritten`, the place whose value was replaced (in the document after the
    /// change); for `dropped`, the dropped operation's path as submitted.
    pub path: Pointer,
    /// The value that lost: the overwritten value, or the value the dropped operation carried
    /// (for a move or copy, the node it would have taken). Absent when there was none (a
    /// removal); `null` when the value was `null`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub value: Option<Value>,
    /// For `dropped`: the operation as submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<Operation>,
    /// For `dropped`: why it no longer applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<DropReason>,
    /// Whose edit won.
    pub winner: Party,
    /// Whose edit lost.
    pub loser: Party,
    /// The revision of the change that decided it.
    pub rev: Revision,
}

/// Reads a field that is present as `Some`, even when it is `null` (serde's `Option` reads
/// `null` as `None`, which would lose a `null` value).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A write of someone else's that a submitted change overwrites, found by the sender's replica
/// when it rebased the change over that write before sending it: the author of the change did
/// not see the write when making the edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overwrite {
    /// The index, in the submitted change, of the operation that overwrites.
    pub index: usize,
    /// The revision of the change whose write it overwrites.
    pub rev: Revision,
    /// Whose change that was, as the replica heard it: the relay checks it against its log
    /// where it still keeps that change.
    pub loser: Party,
    /// Set when what the operation overwrites is not a write of that change but a node the
    /// change itself had moved away, its move dropped in rebasing over that change: where the
    /// node stands, relative to the operation's `path`. The relay then tells the node's
    /// writers, as its log has them, rather than `loser`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<Pointer>,
}

/// A peer in a document: who is there and where they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// The peer's replica.
    pub client: ClientId,
    /// Display name.
    pub name: String,
    /// Index into the UI's palette: the first one free when the peer joined, so that people
    /// in one room look different.
    pub color: u8,
    /// Read or write.
    pub role: Role,
    /// The node the peer has selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Pointer>,
    /// The caret, in characters, when editing a string at `selection`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caret: Option<usize>,
}

/// How a welcome brings a replica up to date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CatchUp {
    /// The changes after the revision the replica holds, in order.
    Changes {
        /// The missing changes.
        changes: Vec<Commit>,
    },
    /// The whole document at the welcome's revision (the replica held nothing, or too old a
    /// revision).
    Snapshot {
        /// The document.
        doc: Value,
        /// The conflicts in the changes the snapshot skips whose loser is this replica, so
        /// that nobody learns of their lost edits only from a changed document.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        conflicts: Vec<Conflict>,
    },
    /// The relay holds less than the replica: the `last_rev` in its hello is ahead of the
    /// relay's head (the relay was restored from an older backup, lost its disk, or failed over
    /// to a lagging database). Here is the relay's document at the welcome's revision; the
    /// replica must not take it as a newer state of its own, since adopting it would silently
    /// roll its newer document back. It keeps its copy until its user chooses.
    RelayBehind {
        /// The relay's document at the welcome's revision.
        doc: Value,
    },
}

/// Messages from a replica to the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The first message on a connection.
    Hello {
        /// Must be [`PROTOCOL_VERSION`].
        protocol: u32,
        /// The document to open.
        doc: String,
        /// The replica.
        client: ClientId,
        /// A signed access token, where the relay requires one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// The last revision the replica holds, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_rev: Option<Revision>,
        /// Display name; optional on the wire. Empty (or absent) means "none given": the relay
        /// then names the peer after its token's user, or `anonymous`.
        #[serde(default)]
        name: String,
    },
    /// A change made on top of revision `base_rev`.
    Submit {
        /// The replica's sequence number for this change.
        seq: u64,
        /// The revision the change was made on.
        base_rev: Revision,
        /// The change.
        ops: Vec<Operation>,
        /// Writes of others this change overwrites that the replica met when it rebased the
        /// change itself (up to `base_rev`), so that the relay records them for the people
        /// whose edits lost.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        overwrites: Vec<Overwrite>,
    },
    /// Where the replica's user is.
    Presence {
        /// The selected node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selection: Option<Pointer>,
        /// The caret in the selected string.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caret: Option<usize>,
    },
    /// Asks for the changes in `from..=to` (to the head if `to` is absent).
    History {
        /// First revision wanted (the change that produced it).
        from: Revision,
        /// Last revision wanted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Revision>,
    },
    /// Asks for the document at `rev` (the head if absent).
    Snapshot {
        /// The revision.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rev: Option<Revision>,
    },
}

/// Messages from the relay to a replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The answer to `hello`.
    Welcome {
        /// The protocol version the relay speaks.
        protocol: u32,
        /// The head revision.
        rev: Revision,
        /// What the replica may do.
        role: Role,
        /// The last sequence number of this client the document applied, if any; a replica
        /// whose change was in flight learns from it whether that change arrived.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_seq: Option<u64>,
        /// How to reach `rev`.
        catch_up: CatchUp,
        /// Everyone here, the recipient included (with the colour it was given).
        peers: Vec<Peer>,
    },
    /// The sender's change applied.
    Ack {
        /// The change's sequence number.
        seq: u64,
        /// The revision it produced.
        rev: Revision,
        /// The operations as applied, when they differ from those submitted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ops: Option<Vec<Operation>>,
        /// Conflicts it caused or suffered.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        conflicts: Vec<Conflict>,
        /// The state hash at `rev`, sent every few revisions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hash: Option<StateHash>,
    },
    /// Someone else's change applied.
    Applied {
        /// The change.
        #[serde(flatten)]
        commit: Commit,
        /// The state hash at its revision, sent every few revisions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hash: Option<StateHash>,
    },
    /// The sender's change did not apply; nothing of it did.
    Reject {
        /// The change's sequence number.
        seq: u64,
        /// A stable, machine-readable reason.
        code: String,
        /// The reason for people.
        message: String,
    },
    /// The peers in the document changed.
    Presence {
        /// Everyone here now, the recipient included.
        peers: Vec<Peer>,
    },
    /// The changes asked for with `history`, a page at a time.
    History {
        /// The changes, in order, from the one asked for.
        changes: Vec<Commit>,
        /// Where the next page starts, when the range asked for goes on past this one: ask
        /// again from there. Absent when the answer holds the rest of the range.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<Revision>,
    },
    /// The document asked for with `snapshot`.
    Snapshot {
        /// Its revision.
        rev: Revision,
        /// The document.
        doc: Value,
    },
    /// A message could not be served; the connection goes on where it can.
    Error {
        /// A stable, machine-readable reason.
        code: String,
        /// The reason for people.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{ClientId, InvalidClientId, StateHash, Value, state_hash};
    use xxhash_rust::xxh64::Xxh64;

    #[test]
    fn client_ids_the_app_and_tools_make_are_valid() {
        let longest = "x".repeat(ClientId::MAX_LEN);
        // The app's windows (`w` and 16 hex digits), its scratch ids, the load generator's, the
        // protocol page's, and the other characters the rule allows.
        for id in [
            "w00ff12ab34cd56ef",
            "local",
            "history",
            "e1795000000-3-2",
            "c-7f3a",
            "host.example:4:tab_2",
            longest.as_str(),
        ] {
            assert_eq!(ClientId::from(id).validate(), Ok(()), "{id}");
        }
    }

    #[test]
    fn a_hello_without_a_name_reads_as_none_given() {
        let hello = r#"{"type": "hello", "protocol": 1, "doc": "d", "client": "c"}"#;
        let message: super::ClientMessage = serde_json::from_str(hello).unwrap();
        assert!(matches!(message, super::ClientMessage::Hello { name, .. } if name.is_empty()));
    }

    #[test]
    fn empty_long_and_odd_client_ids_are_refused() {
        let too_long = "x".repeat(ClientId::MAX_LEN + 1);
        assert_eq!(
            ClientId::from("").validate(),
            Err(InvalidClientId::Length(0))
        );
        assert_eq!(
            ClientId::from(too_long.as_str()).validate(),
            Err(InvalidClientId::Length(129))
        );
        for (id, found, at) in [
            ("a b", ' ', 1),
            ("é", 'é', 0),
            ("a/b", '/', 1),
            ("tab\t", '\t', 3),
            ("nul\0", '\0', 3),
            ("ab\u{202e}", '\u{202e}', 2),
        ] {
            assert_eq!(
                ClientId::from(id).validate(),
                Err(InvalidClientId::Character { found, at }),
                "{id:?}"
            );
        }
    }

    /// The specification read literally: one streaming XXH64 per object member.
    fn reference(v: &Value, h: &mut Xxh64) {
        match v {
            Value::Null => h.update(b"n"),
            Value::Bool(b) => h.update(if *b { b"t" } else { b"f" }),
            Value::Number(n) => {
                h.update(b"#");
                h.update(n.normal_form().as_bytes());
            }
            Value::String(t) => {
                h.update(b"\"");
                h.update(&(t.len_bytes() as u64).to_le_bytes());
                h.update(t.to_string().as_bytes());
            }
            Value::Array(items) => {
                h.update(b"[");
                h.update(&(items.len() as u64).to_le_bytes());
                items.iter().for_each(|item| reference(item, h));
            }
            Value::Object(map) => {
                let sum = map.iter().fold(0u64, |sum, (k, item)| {
                    let mut m = Xxh64::new(0);
                    m.update(&(k.len() as u64).to_le_bytes());
                    m.update(k.as_bytes());
                    reference(item, &mut m);
                    sum.wrapping_add(m.digest())
                });
                h.update(b"{");
                h.update(&(map.len() as u64).to_le_bytes());
                h.update(&sum.to_le_bytes());
            }
        }
    }

    #[test]
    fn buffered_hashing_matches_the_specification() {
        let long = "x".repeat(10_000);
        let members: Vec<String> = (0..300)
            .map(|i| {
                format!(
                    r#""k{i}": [{i}, {i}.5, "{}", {{"n": null, "t": true}}]"#,
                    "y".repeat(i * 7)
                )
            })
            .collect();
        let texts = [
            "null".to_owned(),
            "[]".to_owned(),
            "{}".to_owned(),
            format!(r#"{{"long": "{long}", "n": 1e400, "deep": {{"a": [{{"b": "{long}"}}]}}}}"#),
            format!("{{{}}}", members.join(", ")),
            format!(
                "[{}]",
                (0..5000)
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ];
        for text in &texts {
            let doc = Value::parse(text).unwrap();
            let mut h = Xxh64::new(0);
            reference(&doc, &mut h);
            assert_eq!(
                state_hash(&doc),
                StateHash(h.digest()),
                "{}",
                &text[..40.min(text.len())]
            );
        }
    }
}
