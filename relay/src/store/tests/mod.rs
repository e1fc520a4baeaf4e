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

use super::group::Pending;
use super::rows::{self, Prepared};
use super::sqlite::writer::Writer;
use super::*;
use rusqlite::Connection;

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
        fence: None,
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
            row: rows::encode(change).unwrap(),
        })
        .collect();
    rows::prepare(Batch {
        doc: batch.doc,
        fence: None,
        changes,
        snapshot: batch.snapshot,
    })
    .unwrap()
}

fn revs(loaded: &Loaded) -> Vec<u64> {
    loaded.changes.iter().map(|c| c.rev.0).collect()
}

/// The store a conformance test runs on: an SQLite file in a temporary directory, or a
/// database of its own on the test PostgreSQL (`CONCORD_TEST_POSTGRES`, which
/// `scripts/with-postgres.sh` sets).
struct Backing {
    dir: TempDir,
    postgres: Option<String>,
}

impl fmt::Debug for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        })
    }
}

impl Backing {
    fn sqlite(name: &str) -> Option<Backing> {
        Some(Backing {
            dir: TempDir::new(name),
            postgres: None,
        })
    }

    /// `None`, after a SKIPPED line, without a test PostgreSQL.
    async fn postgres(name: &str) -> Option<Backing> {
        let url = postgres::test_database(name).await?;
        Some(Backing {
            dir: TempDir::new(name),
            postgres: Some(url),
        })
    }

    async fn open(&self) -> Store {
        match &self.postgres {
            None => Store::open(&self.dir.db()).unwrap(),
            Some(url) => Store::connect(
                &Location::Postgres(url.clone()),
                &postgres::Options::default(),
            )
            .await
            .unwrap(),
        }
    }

    /// Runs statements on the database behind the store's back.
    async fn sql(&self, statements: &str) {
        match &self.postgres {
            None => Connection::open(self.dir.db())
                .unwrap()
                .execute_batch(statements)
                .unwrap(),
            Some(url) => postgres::connect(url)
                .await
                .unwrap()
                .batch_execute(statements)
                .await
                .unwrap(),
        }
    }

    /// The one number `query` selects.
    async fn count(&self, query: &str) -> i64 {
        match &self.postgres {
            None => count(&self.dir.db(), query),
            Some(url) => postgres::connect(url)
                .await
                .unwrap()
                .query_one(query, &[])
                .await
                .unwrap()
                .get(0),
        }
    }
}

/// Runs each named test, `async fn NAME(backing: Backing)`, on both stores: as
/// `NAME::sqlite` and `NAME::postgres`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(backing) = super::Backing::sqlite(stringify!($name)) {
                    super::$name(backing).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(backing) = super::Backing::postgres(stringify!($name)).await {
                    super::$name(backing).await;
                }
            }
        }
    )*};
}
use conformance;

fn count(path: &Path, sql: &str) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}
