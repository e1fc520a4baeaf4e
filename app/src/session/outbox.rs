//! The outbox: a session's durable state in the data directory (the confirmed document, its
//! revision, the local changes not yet confirmed), so that edits made offline survive a crash
//! or a restart and sync later, exactly once.
//!
//! Each relay and document gets a directory; each window on it takes a *slot* in it, held by
//! a file lock while the window is open, so two windows on one document never share a client
//! id or overwrite each other's state. A window that starts takes the first free slot, so the
//! work a crashed window left is picked up by the next one.
//!
//! Writes happen on a thread of their own (the newest state wins when several are queued):
//! the UI never waits for the disk, and says "saved locally" only once the state that holds
//! an edit is on disk ([`Outbox::written`]).

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use serde::{Deserialize, Serialize};
use sync_core::replica::ReplicaState;

/// What a slot holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// The relay's address.
    pub relay: String,
    /// The document id.
    pub doc: String,
    /// The replica's state.
    pub replica: ReplicaState,
}

/// One window's slot, open.
pub struct Outbox {
    dir: PathBuf,
    /// Held while the slot is in use.
    _lock: File,
    jobs: Option<mpsc::Sender<(u64, Saved)>>,
    writer: Option<std::thread::JoinHandle<()>>,
    progress: Arc<Progress>,
}

#[derive(Default)]
struct Progress {
    /// The newest generation on disk.
    written: AtomicU64,
    /// The last write's error, if it failed.
    error: Mutex<Option<String>>,
}

/// Slots tried per document before giving up (more windows than this on one document from one
/// machine is a mistake).
const SLOTS: usize = 64;

impl Outbox {
    /// Opens the first free slot for `relay` and `doc` under `root`; returns it with the state
    /// saved in it, if any. A state that cannot be read is moved aside (never overwritten) and
    /// reported as the error beside a fresh slot.
    pub fn open(
        root: &Path,
        relay: &str,
        doc: &str,
    ) -> std::io::Result<(Outbox, Option<Saved>, Option<String>)> {
        let base = root.join(directory_name(relay, doc));
        for slot in 0..SLOTS {
            let dir = base.join(slot.to_string());
            std::fs::create_dir_all(&dir)?;
            let lock = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join("lock"))?;
            match lock.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => continue,
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
            let (saved, problem) = read_state(&dir, relay, doc);
            return Ok((Outbox::start(dir, lock), saved, problem));
        }
        Err(std::io::Error::other(format!(
            "{SLOTS} windows already have {doc} open"
        )))
    }

    fn start(dir: PathBuf, lock: File) -> Outbox {
        let (jobs, queue) = mpsc::channel::<(u64, Saved)>();
        let progress = Arc::new(Progress::default());
        let writer = {
            let (dir, progress) = (dir.clone(), Arc::clone(&progress));
            std::thread::Builder::new()
                .name("concord-outbox".to_owned())
                .spawn(move || write_loop(&dir, &queue, &progress))
                .ok()
        };
        Outbox {
            dir,
            _lock: lock,
            jobs: Some(jobs),
            writer,
            progress,
        }
    }

    /// The slot's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Queues `state` (the session's state as of `generation`) to be written.
    pub fn save(&self, generation: u64, state: Saved) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send((generation, state));
        }
    }

    /// The newest generation on disk (0: nothing yet).
    pub fn written(&self) -> u64 {
        self.progress.written.load(Ordering::Acquire)
    }

    /// Why the last write failed, if it did.
    pub fn error(&self) -> Option<String> {
        self.progress.error.lock().ok().and_then(|e| e.clone())
    }

    /// Writes what is queued and waits until it is on disk.
    pub fn close(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.jobs = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.stop();
    }
}

fn write_loop(dir: &Path, queue: &mpsc::Receiver<(u64, Saved)>, progress: &Progress) {
    while let Ok(mut job) = queue.recv() {
        // Only the newest state matters.
        while let Ok(newer) = queue.try_recv() {
            job = newer;
        }
        let (generation, state) = job;
        let result = write_state(dir, &state);
        if let Ok(mut error) = progress.error.lock() {
            *error = result.as_ref().err().map(|e| e.to_string());
        }
        if result.is_ok() {
            progress.written.fetch_max(generation, Ordering::AcqRel);
        }
    }
}

/// Writes `state.json` through a temporary file, flushed to disk before it replaces the old
/// one, so a crash leaves the old state or the new, never half of one.
fn write_state(dir: &Path, state: &Saved) -> std::io::Result<()> {
    let text = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    let temp = dir.join("state.json.tmp");
    let mut file = File::create(&temp)?;
    file.write_all(&text)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, dir.join("state.json"))?;
    // The rename itself is durable once the directory is.
    File::open(dir)?.sync_all()
}

/// The saved state in `dir`, if any, and what went wrong reading it.
fn read_state(dir: &Path, relay: &str, doc: &str) -> (Option<Saved>, Option<String>) {
    let path = dir.join("state.json");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (None, None),
        Err(e) => return (None, Some(format!("cannot read {}: {e}", path.display()))),
    };
    match serde_json::from_slice::<Saved>(&bytes) {
        Ok(saved) if saved.relay == relay && saved.doc == doc => (Some(saved), None),
        Ok(_) => (None, set_aside(&path, "it belongs to another document")),
        Err(e) => (None, set_aside(&path, &e.to_string())),
    }
}

/// Moves a state that cannot be used out of the way, keeping it for whoever wants to look.
fn set_aside(path: &Path, why: &str) -> Option<String> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let aside = path.with_extension(format!("damaged-{stamp}.json"));
    let moved = std::fs::rename(path, &aside);
    Some(match moved {
        Ok(()) => format!(
            "the saved offline state could not be used ({why}); it was kept as {}",
            aside.display()
        ),
        Err(e) => format!("the saved offline state could not be used ({why}) nor moved: {e}"),
    })
}

/// A directory name for a relay and document: readable, safe on every file system, and
/// unique (a hash of both settles what the readable part leaves ambiguous).
fn directory_name(relay: &str, doc: &str) -> String {
    let host = relay
        .trim_start_matches("ws://")
        .trim_start_matches("wss://");
    let readable = super::safe_name(&format!("{host}-{doc}"), &['-', '.'], '_', 60);
    let hash = format!("{relay}\n{doc}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    format!("{readable}-{hash:016x}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sync_core::Value;
    use sync_core::protocol::{ClientId, Revision};
    use sync_core::replica::Replica;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("concord-outbox-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn saved(doc: &str) -> Saved {
        let replica = Replica::with_document(
            ClientId::from("c1"),
            "Ann",
            Value::parse(r#"{"a": 1}"#).unwrap(),
            Some(Revision(3)),
        );
        Saved {
            relay: "ws://127.0.0.1:9000".to_owned(),
            doc: doc.to_owned(),
            replica: replica.save(),
        }
    }

    #[test]
    fn state_survives_and_a_second_window_gets_its_own_slot() {
        let root = temp("slots");
        let relay = "ws://127.0.0.1:9000";
        let (first, nothing, problem) = Outbox::open(&root, relay, "doc").unwrap();
        assert!(nothing.is_none() && problem.is_none());
        first.save(1, saved("doc"));
        first.save(2, saved("doc"));
        let dir = first.dir().to_path_buf();
        // Another window on the same document while the first is open: another slot.
        let (second, none, _) = Outbox::open(&root, relay, "doc").unwrap();
        assert!(none.is_none());
        assert_ne!(second.dir(), dir);
        first.close();
        // Reopened, the first slot has the state back.
        let (again, state, _) = Outbox::open(&root, relay, "doc").unwrap();
        assert_eq!(again.dir(), dir);
        assert_eq!(state, Some(saved("doc")));
        drop((second, again));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn written_reports_the_newest_generation_on_disk() {
        let root = temp("written");
        let (outbox, _, _) = Outbox::open(&root, "ws://r", "d").unwrap();
        assert_eq!(outbox.written(), 0);
        outbox.save(7, saved("d"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while outbox.written() < 7 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(outbox.written(), 7);
        assert_eq!(outbox.error(), None);
        drop(outbox);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_damaged_state_is_set_aside_not_overwritten() {
        let root = temp("damaged");
        let (outbox, _, _) = Outbox::open(&root, "ws://r", "d").unwrap();
        let dir = outbox.dir().to_path_buf();
        drop(outbox);
        std::fs::write(dir.join("state.json"), "{ not json").unwrap();
        let (outbox, state, problem) = Outbox::open(&root, "ws://r", "d").unwrap();
        assert!(state.is_none());
        assert!(problem.unwrap().contains("could not be used"));
        let kept: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("damaged"))
            .collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(
            std::fs::read_to_string(kept[0].path()).unwrap(),
            "{ not json"
        );
        drop(outbox);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn directory_names_are_safe_and_distinct() {
        let a = directory_name("ws://host:9000", "a/b");
        let b = directory_name("ws://host:9000", "a_b");
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        );
    }
}
