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
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use serde::{Deserialize, Serialize};
use sync_core::replica::ReplicaState;

pub mod journal;

use journal::{Journal, Step};

/// What a slot holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// The relay's address.
    pub relay: String,
    /// The document id.
    pub doc: String,
    /// The replica's state.
    pub replica: ReplicaState,
    /// The journal of later steps that follows this state on disk (set by the outbox's
    /// writer; see [`journal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
}

/// What the writer is asked to keep.
enum Job {
    /// The whole state.
    Whole(Box<Saved>),
    /// What changed since the last job.
    Step(Step),
}

/// One window's slot, open.
pub struct Outbox {
    dir: PathBuf,
    /// Held while the slot is in use.
    _lock: File,
    jobs: Option<mpsc::Sender<(u64, Job)>>,
    writer: Option<std::thread::JoinHandle<()>>,
    progress: Arc<Progress>,
}

#[derive(Default)]
struct Progress {
    /// The newest generation on disk.
    written: AtomicU64,
    /// The last write's error, if it failed.
    error: Mutex<Option<String>>,
    /// Steps cannot be taken now (none was written whole yet, or one did not apply): the
    /// next save must be whole.
    needs_whole: std::sync::atomic::AtomicBool,
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
        let (jobs, queue) = mpsc::channel::<(u64, Job)>();
        let progress = Arc::new(Progress::default());
        progress.needs_whole.store(true, Ordering::Release);
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

    /// Queues `state` (the session's state as of `generation`) to be written whole.
    pub fn save(&self, generation: u64, state: Saved) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send((generation, Job::Whole(Box::new(state))));
        }
    }

    /// Queues what changed since the last save (the session's state as of `generation`), to
    /// be appended to the journal; see [`Outbox::needs_whole`].
    pub fn save_step(&self, generation: u64, step: Step) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send((generation, Job::Step(step)));
        }
    }

    /// Whether the next save must be whole: nothing was written whole yet in this slot's
    /// session, or a step did not apply to what was.
    pub fn needs_whole(&self) -> bool {
        self.progress.needs_whole.load(Ordering::Acquire)
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

fn write_loop(dir: &Path, queue: &mpsc::Receiver<(u64, Job)>, progress: &Progress) {
    let mut writer = Writer {
        dir,
        current: None,
        journal: None,
        number: 0,
    };
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        jobs.extend(queue.try_iter());
        let generation = jobs.iter().map(|(g, _)| *g).max().unwrap_or_default();
        let result = writer.take(jobs, progress);
        if let Ok(mut error) = progress.error.lock() {
            *error = result.as_ref().err().cloned();
        }
        if result.is_ok() {
            progress.written.fetch_max(generation, Ordering::AcqRel);
        }
    }
}

/// The writer thread's side: the state as last written, and its journal.
struct Writer<'a> {
    dir: &'a Path,
    current: Option<Saved>,
    journal: Option<Journal>,
    /// Numbers the journals this writer starts.
    number: u64,
}

impl Writer<'_> {
    /// Writes what `jobs` (queued together, oldest first) bring: the newest whole state, then
    /// the steps after it.
    fn take(&mut self, jobs: Vec<(u64, Job)>, progress: &Progress) -> Result<(), String> {
        let newest_whole = jobs
            .iter()
            .rposition(|(_, job)| matches!(job, Job::Whole(_)));
        let mut steps = Vec::new();
        let mut whole = false;
        // A step that does not apply: what came before it is still written.
        let mut failed = None;
        for (i, (_, job)) in jobs.into_iter().enumerate() {
            match job {
                Job::Whole(saved) if Some(i) == newest_whole => {
                    self.current = Some(*saved);
                    whole = true;
                }
                // Older than the newest whole state: nothing to write of it.
                Job::Whole(_) => {}
                Job::Step(_) if newest_whole.is_some_and(|w| i < w) => {}
                Job::Step(_) if failed.is_some() => {}
                Job::Step(step) => {
                    let applied = match &mut self.current {
                        Some(current) => step.apply_to(current),
                        None => Err("no whole state was written to take it".to_owned()),
                    };
                    match applied {
                        Ok(()) => steps.push(step),
                        Err(e) => failed = Some(e),
                    }
                }
            }
        }
        let written = self.write(whole, &steps, progress);
        if let Some(e) = failed {
            // The session's later steps follow the one that failed: only a whole state can
            // be taken now.
            self.current = None;
            self.journal = None;
            progress.needs_whole.store(true, Ordering::Release);
            return Err(format!("the state was not saved: {e}"));
        }
        written
    }

    /// Writes the current state: `whole` (or when its journal has grown enough), or else by
    /// appending `steps` to its journal.
    fn write(&mut self, whole: bool, steps: &[Step], progress: &Progress) -> Result<(), String> {
        let Some(current) = &mut self.current else {
            return Ok(());
        };
        let compact = match (&mut self.journal, whole) {
            (Some(journal), false) => journal.append(steps).map_err(|e| e.to_string())?,
            _ => true,
        };
        if compact {
            self.number += 1;
            let journal =
                journal::write_whole(self.dir, current, self.number).map_err(|e| e.to_string())?;
            self.journal = Some(journal);
            progress.needs_whole.store(false, Ordering::Release);
        }
        Ok(())
    }
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
        Ok(mut saved) if saved.relay == relay && saved.doc == doc => {
            let problem = journal::replay(dir, &mut saved);
            (Some(saved), problem)
        }
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
            journal: None,
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

    /// Waits until `outbox` has written `generation`.
    fn written(outbox: &Outbox, generation: u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while outbox.written() < generation && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(outbox.written(), generation, "{:?}", outbox.error());
    }

    /// A step setting `/a` to `n` at revision `rev`.
    fn step(n: u64, rev: u64) -> Step {
        let mut rest = saved("d").replica;
        rest.confirmed = Value::Null;
        rest.rev = Some(Revision(rev));
        let ops = sync_core::Change::from_json(&format!(
            r#"[{{"op": "replace", "path": "/a", "value": {n}}}]"#
        ))
        .unwrap();
        Step {
            confirmed: vec![ops.0],
            rest,
        }
    }

    fn journal_of(dir: &Path) -> String {
        let state: Saved =
            serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
        std::fs::read_to_string(dir.join(state.journal.unwrap())).unwrap()
    }

    #[test]
    fn steps_after_a_whole_state_are_journaled_and_read_back() {
        let root = temp("journal");
        let (outbox, _, _) = Outbox::open(&root, "ws://127.0.0.1:9000", "d").unwrap();
        let dir = outbox.dir().to_path_buf();
        assert!(outbox.needs_whole());
        outbox.save(1, saved("d"));
        written(&outbox, 1);
        assert!(!outbox.needs_whole());
        let whole = std::fs::read(dir.join("state.json")).unwrap();
        outbox.save_step(2, step(2, 4));
        written(&outbox, 2);
        outbox.save_step(3, step(3, 5));
        written(&outbox, 3);
        // The state on disk is as it was; the steps are lines of its journal.
        assert_eq!(std::fs::read(dir.join("state.json")).unwrap(), whole);
        assert_eq!(journal_of(&dir).lines().count(), 2);
        outbox.close();
        let (outbox, state, problem) = Outbox::open(&root, "ws://127.0.0.1:9000", "d").unwrap();
        assert_eq!(problem, None);
        let state = state.unwrap();
        assert_eq!(
            state.replica.confirmed,
            Value::parse(r#"{"a": 3}"#).unwrap()
        );
        assert_eq!(state.replica.rev, Some(Revision(5)));
        drop(outbox);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_step_cut_short_is_ignored_and_a_damaged_one_reported() {
        let root = temp("journal-torn");
        let (outbox, _, _) = Outbox::open(&root, "ws://127.0.0.1:9000", "d").unwrap();
        let dir = outbox.dir().to_path_buf();
        outbox.save(1, saved("d"));
        written(&outbox, 1);
        outbox.save_step(2, step(2, 4));
        written(&outbox, 2);
        outbox.close();
        let state: Saved =
            serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
        let journal = dir.join(state.journal.unwrap());
        let good = std::fs::read_to_string(&journal).unwrap();
        // A crash while appending the next step: its line is cut short.
        std::fs::write(&journal, format!("{good}{{\"confirmed\": [[{{\"op\"")).unwrap();
        let (outbox, state, problem) = Outbox::open(&root, "ws://127.0.0.1:9000", "d").unwrap();
        assert_eq!(problem, None);
        assert_eq!(
            state.unwrap().replica.confirmed,
            Value::parse(r#"{"a": 2}"#).unwrap()
        );
        drop(outbox);
        // A damaged line with more after it is reported; what came before stands.
        std::fs::write(&journal, format!("{{ damaged\n{good}")).unwrap();
        let (outbox, state, problem) = Outbox::open(&root, "ws://127.0.0.1:9000", "d").unwrap();
        assert!(problem.unwrap().contains("line 1"));
        assert_eq!(
            state.unwrap().replica.confirmed,
            Value::parse(r#"{"a": 1}"#).unwrap()
        );
        drop(outbox);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_step_that_does_not_apply_asks_for_a_whole_state_and_changes_nothing() {
        let root = temp("journal-bad");
        let (outbox, _, _) = Outbox::open(&root, "ws://127.0.0.1:9000", "d").unwrap();
        // No whole state yet: a step cannot be taken.
        outbox.save_step(1, step(2, 4));
        outbox.save(2, saved("d"));
        written(&outbox, 2);
        let mut bad = step(9, 5);
        bad.confirmed = vec![
            sync_core::Change::from_json(r#"[{"op": "remove", "path": "/nope"}]"#)
                .unwrap()
                .0,
        ];
        outbox.save_step(3, bad);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !outbox.needs_whole() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert!(outbox.needs_whole());
        assert_eq!(outbox.written(), 2);
        assert!(outbox.error().unwrap().contains("not saved"));
        outbox.save(4, saved("d"));
        written(&outbox, 4);
        assert!(!outbox.needs_whole());
        outbox.close();
        let (_, state, problem) = Outbox::open(&root, "ws://127.0.0.1:9000", "d").unwrap();
        assert_eq!(problem, None);
        assert_eq!(state, Some(saved("d")));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_journal_grown_past_the_state_is_folded_into_a_new_whole_state() {
        let root = temp("journal-compact");
        let (outbox, _, _) = Outbox::open(&root, "ws://127.0.0.1:9000", "d").unwrap();
        let dir = outbox.dir().to_path_buf();
        outbox.save(1, saved("d"));
        written(&outbox, 1);
        // Steps of about 100 KB each, past the 4 MiB a journal may always reach.
        let long = "x".repeat(100_000);
        for generation in 2..50u64 {
            let mut big = step(generation, generation + 3);
            big.confirmed = vec![
                sync_core::Change::from_json(&format!(
                    r#"[{{"op": "replace", "path": "/a", "value": "{long}{generation}"}}]"#
                ))
                .unwrap()
                .0,
            ];
            outbox.save_step(generation, big);
            written(&outbox, generation);
        }
        let journals = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("journal-"))
            .count();
        assert_eq!(journals, 1, "the old journal is gone");
        assert!(journal_of(&dir).len() < 4 << 20);
        outbox.close();
        let (_, state, problem) = Outbox::open(&root, "ws://127.0.0.1:9000", "d").unwrap();
        assert_eq!(problem, None);
        let state = state.unwrap();
        assert_eq!(
            state.replica.confirmed,
            Value::parse(&format!(r#"{{"a": "{long}49"}}"#)).unwrap()
        );
        assert_eq!(state.replica.rev, Some(Revision(52)));
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
