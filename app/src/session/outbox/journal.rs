//! The outbox's journal: after a whole state, each later save can be a *step* appended to a
//! journal file: the changes that advanced the confirmed document since the last save, and the
//! rest of the replica's state (pending changes, undo), which is small. So keeping a large
//! shared document on disk costs the size of its changes, not of the document, and the UI
//! thread never has to copy the document to save it.
//!
//! `state.json` names the journal that follows it (`journal-N.jsonl`, one JSON step a line).
//! Reading applies the steps in order; a last line cut short (a crash while appending) is
//! ignored, as it was never reported written. When the journal grows past the state's own
//! size, the writer writes the whole state again, naming a new, empty journal, and removes the
//! old one: a crash between the two leaves an old journal that no state names, removed later.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sync_core::Operation;
use sync_core::protocol::{CatchUp, ClientMessage, Revision, ServerMessage};
use sync_core::replica::{Event, Replica, ReplicaState};

use super::Saved;

/// A journal this many bytes long is always small enough to keep appending to.
const COMPACT_FROM: u64 = 4 << 20;

/// What changed since the last save.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The changes that advanced the confirmed document, oldest first, as the relay logged
    /// them.
    pub confirmed: Vec<Vec<Operation>>,
    /// The replica's state now, but for its confirmed document (left `null`: see
    /// [`sync_core::replica::Replica::save_except_document`]).
    pub rest: ReplicaState,
}

impl Step {
    /// Brings `saved` to this step, all or nothing: on an error `saved` is as it was.
    pub fn apply_to(&self, saved: &mut Saved) -> Result<(), String> {
        let doc = &mut saved.replica.confirmed;
        let mut undo = Vec::with_capacity(self.confirmed.len());
        for (i, ops) in self.confirmed.iter().enumerate() {
            match sync_core::apply::apply(doc, ops) {
                Ok(inverse) => undo.push(inverse),
                Err(e) => {
                    for inverse in undo.iter().rev() {
                        let restored = inverse.apply(doc);
                        debug_assert!(restored.is_ok());
                    }
                    return Err(format!(
                        "change {} of a saved step does not apply: {e}",
                        i + 1
                    ));
                }
            }
        }
        let confirmed = std::mem::take(&mut saved.replica.confirmed);
        saved.replica = ReplicaState {
            confirmed,
            ..self.rest.clone()
        };
        Ok(())
    }
}

/// The journal being appended to.
pub(super) struct Journal {
    file: File,
    bytes: u64,
    /// The size of the state it follows: past it, the whole state is written again.
    state_bytes: u64,
}

/// Writes `saved` whole as the slot's state, followed by a new, empty journal (named in it);
/// removes the journals of earlier states. Returns the new journal.
pub(super) fn write_whole(dir: &Path, saved: &mut Saved, number: u64) -> std::io::Result<Journal> {
    let name = format!("journal-{number}.jsonl");
    // The journal exists before the state that names it.
    let file = File::create(dir.join(&name))?;
    saved.journal = Some(name.clone());
    let text = serde_json::to_vec(&*saved).map_err(std::io::Error::other)?;
    write_atomically(dir, "state.json", &text)?;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let old = entry.file_name().to_string_lossy().into_owned();
        if old.starts_with("journal-") && old.ends_with(".jsonl") && old != name {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(Journal {
        file,
        bytes: 0,
        state_bytes: text.len() as u64,
    })
}

impl Journal {
    /// Appends `steps` and flushes them to disk. Returns whether the journal has grown enough
    /// that the whole state should be written again.
    pub(super) fn append(&mut self, steps: &[Step]) -> std::io::Result<bool> {
        let mut text = Vec::new();
        for step in steps {
            serde_json::to_writer(&mut text, step).map_err(std::io::Error::other)?;
            text.push(b'\n');
        }
        self.file.write_all(&text)?;
        self.file.sync_data()?;
        self.bytes += text.len() as u64;
        Ok(self.bytes > self.state_bytes.max(COMPACT_FROM))
    }
}

/// Brings `saved` (read from `state.json` in `dir`) up to date with the journal it names.
/// Returns what went wrong, if anything did beyond a last line cut short; what came before it
/// stands.
pub(super) fn replay(dir: &Path, saved: &mut Saved) -> Option<String> {
    let name = saved.journal.take()?;
    let text = match std::fs::read(dir.join(&name)) {
        Ok(text) => text,
        Err(e) => return Some(format!("cannot read the saved state's journal {name}: {e}")),
    };
    let mut lines = text.split(|&b| b == b'\n').peekable();
    let mut number = 0;
    while let Some(line) = lines.next() {
        number += 1;
        if line.is_empty() {
            continue;
        }
        let last = lines.peek().is_none_or(|rest| rest.is_empty());
        let step = match serde_json::from_slice::<Step>(line) {
            Ok(step) => step,
            // Cut short by a crash while it was written: never reported written.
            Err(_) if last && !text.ends_with(b"\n") => return None,
            Err(e) => return Some(format!("line {number} of {name} is damaged: {e}")),
        };
        if let Err(e) = step.apply_to(saved) {
            return Some(format!("line {number} of {name}: {e}"));
        }
    }
    None
}

/// Writes `text` as `dir/name` through a temporary file, flushed to disk before it replaces
/// the old one, so a crash leaves the old file or the new, never half of one.
pub(super) fn write_atomically(dir: &Path, name: &str, text: &[u8]) -> std::io::Result<()> {
    let temp = dir.join(format!("{name}.tmp"));
    let mut file = File::create(&temp)?;
    file.write_all(text)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, dir.join(name))?;
    // The rename itself is durable once the directory is.
    File::open(dir)?.sync_all()
}

/// What advanced the confirmed document since the outbox last took the session's state, read
/// from the relay's messages as they arrive: each `applied` commit, each `ack` (with the
/// relay's version of the change, or the change as it was sent), a `welcome`'s catch-up. A
/// save sends these as a [`Step`] instead of copying the document. Anything else that may
/// move the confirmed document (a snapshot, a divergence, a relay that is behind, a revision
/// that does not follow) makes the next save whole.
#[derive(Debug, Default)]
pub(in crate::session) struct Confirming {
    /// The revision the changes bring the outbox's copy to; `None` while not known.
    rev: Option<Revision>,
    changes: Vec<Vec<Operation>>,
    /// The change in flight, as it was sent: its `seq` and operations.
    sent: Option<(u64, Vec<Operation>)>,
    /// In debug builds, for small documents: the confirmed document the steps make, checked
    /// against the replica's at every step.
    #[cfg(debug_assertions)]
    shadow: Option<sync_core::Value>,
}

impl Confirming {
    /// Notes a message sent to the relay.
    pub(in crate::session) fn sent(&mut self, message: &ClientMessage) {
        if let ClientMessage::Submit { seq, ops, .. } = message {
            self.sent = Some((*seq, ops.clone()));
        }
    }

    /// Notes a message from the relay, before the replica takes it.
    pub(in crate::session) fn received(&mut self, message: &ServerMessage) {
        match message {
            ServerMessage::Applied { commit, .. } => self.advance(commit.rev, Some(&commit.ops)),
            ServerMessage::Ack { seq, rev, ops, .. } => {
                let sent = self
                    .sent
                    .as_ref()
                    .filter(|(sent, _)| sent == seq)
                    .map(|(_, ops)| ops);
                let ops = ops.as_ref().or(sent).cloned();
                self.advance(*rev, ops.as_ref());
            }
            ServerMessage::Welcome {
                catch_up: CatchUp::Changes { changes },
                ..
            } => {
                for commit in changes {
                    self.advance(commit.rev, Some(&commit.ops));
                }
            }
            ServerMessage::Presence { .. } | ServerMessage::History { .. } => {}
            _ => self.rev = None,
        }
    }

    /// Notes what the replica did with a message: a divergence or a relay that is behind
    /// moves the confirmed document in ways the messages do not say.
    pub(in crate::session) fn after(&mut self, replica: &Replica, events: &[Event]) {
        let unsettled = events
            .iter()
            .any(|e| matches!(e, Event::Diverged { .. } | Event::RelayBehind { .. }));
        if unsettled || replica.rev() != self.rev {
            self.rev = None;
        }
    }

    fn advance(&mut self, rev: Revision, ops: Option<&Vec<Operation>>) {
        match (self.rev, ops) {
            // Already in the outbox's copy (a duplicate, or a catch-up from before it).
            (Some(at), _) if rev <= at => {}
            (Some(at), Some(ops)) if rev == at.next() => {
                self.changes.push(ops.clone());
                self.rev = Some(rev);
            }
            _ => self.rev = None,
        }
    }

    /// The step that brings the outbox's copy to `replica`'s state, if the messages say how;
    /// otherwise `None`, and the save must be whole (then [`Confirming::restart`]).
    pub(in crate::session) fn step(&mut self, replica: &Replica) -> Option<Step> {
        if self.rev.is_none() || self.rev != replica.rev() {
            return None;
        }
        let step = Step {
            confirmed: std::mem::take(&mut self.changes),
            rest: replica.save_except_document(),
        };
        #[cfg(debug_assertions)]
        if let Some(shadow) = &mut self.shadow {
            for ops in &step.confirmed {
                let applied = sync_core::apply::apply(shadow, ops);
                debug_assert!(applied.is_ok(), "a journaled change does not apply");
            }
            debug_assert_eq!(
                *shadow,
                replica.save().confirmed,
                "the journal's confirmed document is the replica's"
            );
        }
        Some(step)
    }

    /// After a whole save of `state`: steps start from it.
    pub(in crate::session) fn restart(&mut self, state: &ReplicaState) {
        self.rev = state.rev;
        self.changes.clear();
        #[cfg(debug_assertions)]
        {
            let small = state.rev.is_some() && state.confirmed.to_json().len() < 1 << 20;
            self.shadow = small.then(|| state.confirmed.clone());
        }
    }
}
