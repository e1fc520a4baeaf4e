//! The store's tests, by concept; the helpers they share.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod checking;
mod conflicts;
mod damage;
mod history;
mod opening;
mod storing;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;

use sync_core::Change;
use sync_core::authority::{Authority, AuthorityConfig};

use sync_core::Operation;

use super::writer::{self, Pending, Writer};
use super::*;

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "concord-store-test-{}-{name}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("relay.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn change(rev: u64, client: &str, seq: u64, ops: &str) -> Commit {
    Commit {
        rev: Revision(rev),
        client: ClientId::from(client),
        seq,
        author: "Ann".into(),
        time: 0,
        ops: Change::from_json(ops).unwrap().0,
        conflicts: vec![],
        group: None,
    }
}

/// A change that sets `/n` to `rev`.
fn set(rev: u64, client: &str, seq: u64) -> Commit {
    change(
        rev,
        client,
        seq,
        &format!(r#"[{{"op": "add", "path": "/n", "value": {rev}}}]"#),
    )
}

fn batch(doc: &str, changes: Vec<Commit>) -> Batch {
    Batch {
        doc: doc.to_owned(),
        changes,
        snapshot: None,
    }
}

/// A batch as the writer thread takes it (checked and encoded).
fn prepared(batch: Batch) -> Prepared {
    let changes = batch
        .changes
        .iter()
        .map(|change| Checked {
            rev: change.rev,
            row: writer::encode(change).unwrap(),
        })
        .collect();
    writer::prepare(Batch {
        doc: batch.doc,
        changes,
        snapshot: batch.snapshot,
    })
    .unwrap()
}

fn revs(loaded: &Loaded) -> Vec<u64> {
    loaded.changes.iter().map(|c| c.rev.0).collect()
}

fn count(path: &Path, sql: &str) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}
