//! The embedded store: one SQLite database file, written by one thread of its own.
//!
//! # Schema (version 3, kept in `PRAGMA user_version`)
//! The three tables of documents are `WITHOUT ROWID`, keyed by the document id:
//! - `changes(doc, rev, client, seq, author, time, ops, conflicts, group_rev)`, key
//!   `(doc, rev)`: the full log, one row per [`Commit`](sync_core::protocol::Commit); `ops` and `conflicts` are JSON text
//!   written by `serde_json`; `group_rev` is the revision that began the typing group the change
//!   continues ([`Commit::group`](sync_core::protocol::Commit::group)), `NULL` if it begins one. The log is never pruned: it is the
//!   document's history.
//!
//! Version 1 had no `group_rev`; a version 1 database is migrated when opened (the column is
//! added, every change standing alone), in the transaction that sets the new version. A
//! database of a version this relay does not know is refused untouched.
//! - `snapshots(doc, rev, body)`: the latest snapshot of each document, as JSON text.
//! - `clients(doc, client, seq, rev)`, key `(doc, client)`: the last change of each client that
//!   the document applied ([`ClientRecord`](sync_core::authority::ClientRecord)), always the one with the highest `seq`.
//!
//! Two more hold the access tokens ([`crate::auth::registry`]):
//! - `tokens(id, user, docs, role, exp, minted, revoked)`, key `id`, in the order minted
//!   (`rowid`): every token minted by `concord-relay token`, and when it was revoked (`NULL`
//!   while it is not).
//! - `revocations(n, id, time)`: every revocation in order (`n` increases), which a running
//!   relay reads as they come; `id` is `*` when the signing secret was rotated.
//!
//! Version 3 added the token tables. A version 2 database gets them when opened; a relay that
//! knows only version 2 refuses a version 3 database, so it cannot ignore revocations.
//!
//! A partial index, `changes_with_conflicts(doc, rev) WHERE conflicts <> '[]'`, lists the
//! changes that recorded conflicts, so that [`Store::conflicts_of`](super::Store::conflicts_of) visits only those however
//! long the log. It only adds to version 1 (an older relay keeps it up to date without knowing
//! it), so it is created, when missing, on opening.
//!
//! Revisions, sequence numbers and times are `u64` in Rust and `INTEGER` (`i64`) in SQLite; a
//! value that does not fit is refused, never truncated.
//!
//! # Durability
//! The database runs in WAL mode with `synchronous=FULL`, so a transaction that has committed
//! survives a crash or a power cut.
//!
//! # One writer thread
//! One thread owns the connection that writes, and serves the requests in the order they were
//! queued (through a bounded queue, [`QUEUE_CAPACITY`]); the history of old revisions is read
//! on read-only connections of its own (`history`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;
use super::group::Job;

mod history;
pub(in crate::store) mod read;
pub(in crate::store) mod writer;

use writer::Writer;

/// The schema version this module writes and reads (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 3;

/// What turns a database of version `n - 1` into version `n`, for each `n` after 1. (Tables
/// that are only added are created by [`SCHEMA`], which runs after the migrations.)
const MIGRATIONS: [(i64, &str); 2] = [
    (2, "ALTER TABLE changes ADD COLUMN group_rev INTEGER;"),
    (3, "-- the tokens and revocations tables, created by SCHEMA"),
];

/// How many requests may wait for the writer thread.
pub const QUEUE_CAPACITY: usize = 1024;

/// How long a statement waits for a lock held by another connection to the same file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS changes (
    doc TEXT NOT NULL,
    rev INTEGER NOT NULL,
    client TEXT NOT NULL,
    seq INTEGER NOT NULL,
    author TEXT NOT NULL,
    time INTEGER NOT NULL,
    ops TEXT NOT NULL,
    conflicts TEXT NOT NULL,
    group_rev INTEGER,
    PRIMARY KEY (doc, rev)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
    doc TEXT NOT NULL PRIMARY KEY,
    rev INTEGER NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clients (
    doc TEXT NOT NULL,
    client TEXT NOT NULL,
    seq INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    PRIMARY KEY (doc, client)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS changes_with_conflicts ON changes (doc, rev) WHERE conflicts <> '[]';
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT NOT NULL PRIMARY KEY,
    user TEXT NOT NULL,
    docs TEXT NOT NULL,
    role TEXT NOT NULL,
    exp INTEGER NOT NULL,
    minted INTEGER NOT NULL,
    revoked INTEGER
);
CREATE TABLE IF NOT EXISTS revocations (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    time INTEGER NOT NULL
);
";

/// The SQLite store: the writer thread and the way to it.
pub(super) struct Sqlite {
    /// The database, for reads of the history on connections of their own.
    path: PathBuf,
    tx: SyncSender<Job>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path`, and its directory, and starts the
    /// writer thread.
    pub(super) fn open(path: &Path, fail_next: Arc<AtomicU32>) -> Result<Sqlite, StoreError> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        let conn = open_connection(path)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE_CAPACITY);
        let writer = Writer {
            conn,
            fail_next,
            unloadable: HashSet::new(),
        };
        let handle = std::thread::Builder::new()
            .name("concord-store".to_owned())
            .spawn(move || writer.run(&rx))?;
        tracing::info!(path = %path.display(), "store opened");
        Ok(Sqlite {
            path: path.to_path_buf(),
            tx,
            writer: Mutex::new(Some(handle)),
        })
    }

    /// Queues `request` for the writer thread, from a blocking task when the queue is full
    /// (so that an async caller never blocks a runtime thread).
    pub(super) async fn send(&self, request: Job) -> Result<(), StoreError> {
        match self.tx.try_send(request) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(_)) => Err(StoreError::Closed),
            Err(TrySendError::Full(request)) => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || tx.send(request).map_err(drop))
                    .await
                    .map_err(|_| StoreError::Closed)?
                    .map_err(|()| StoreError::Closed)
            }
        }
    }

    /// Stops the writer thread after it has finished every request queued before, and waits
    /// for it (blocking the calling thread).
    pub(super) fn close(&self) {
        // Held until the thread has stopped, so a concurrent second call also waits for it.
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(handle) = writer.take() else {
            return;
        };
        // Fails only if the thread is already gone.
        let _ = self.tx.send(Job::Close);
        if handle.join().is_err() {
            tracing::error!("the store's writer thread panicked");
        }
        tracing::info!("store closed");
    }
}

/// Opens the connection, checks the schema version and sets the database up.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(32);
    // Checked before anything is changed in a database this relay does not understand.
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if !(0..=SCHEMA_VERSION).contains(&version) {
        return Err(StoreError::Schema {
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "the store's database could not be switched to WAL mode");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read again under the write lock: another process may have created the schema meanwhile.
    let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    match version {
        0 => {
            tx.execute_batch(SCHEMA)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        known @ 1..=SCHEMA_VERSION => {
            for (to, migration) in MIGRATIONS {
                if to > known {
                    tx.execute_batch(migration)?;
                    tracing::info!(from = to - 1, to, "migrated the store's schema");
                }
            }
            tx.execute_batch(SCHEMA)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        other => {
            return Err(StoreError::Schema {
                found: other,
                known: SCHEMA_VERSION,
            });
        }
    }
    tx.commit()?;
    Ok(conn)
}
