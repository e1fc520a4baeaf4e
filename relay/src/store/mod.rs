//! Durable storage: every document's change log, its latest snapshot and the clients'
//! exactly-once records, in one SQLite database.
//!
//! # Schema (version 3, kept in `PRAGMA user_version`)
//! The three tables of documents are `WITHOUT ROWID`, keyed by the document id:
//! - `changes(doc, rev, client, seq, author, time, ops, conflicts, group_rev)`, key
//!   `(doc, rev)`: the full log, one row per [`Commit`]; `ops` and `conflicts` are JSON text
//!   written by `serde_json`; `group_rev` is the revision that began the typing group the change
//!   continues ([`Commit::group`]), `NULL` if it begins one. The log is never pruned: it is the
//!   document's history.
//!
//! Version 1 had no `group_rev`; a version 1 database is migrated when opened (the column is
//! added, every change standing alone), in the transaction that sets the new version. A
//! database of a version this relay does not know is refused untouched.
//! - `snapshots(doc, rev, body)`: the latest snapshot of each document, as JSON text.
//! - `clients(doc, client, seq, rev)`, key `(doc, client)`: the last change of each client that
//!   the document applied ([`ClientRecord`]), always the one with the highest `seq`.
//!
//! Two more hold the access tokens ([`crate::auth::registry`]):
//! - `tokens(id, user, docs, role, exp, minted, revoked)`, key `id`, in the order minted
//!   (`rowid`): every token minted by `concord-relay token`, and when it was revoked (`NULL`
//!   while it is not).
//! - `revocations(n, id, time)`: every revocation in order (`n` increases), which a running
//!   relay reads as they come; `id` is `*` when the signing secret was rotated.
//!
//! Version 3 added the token tables. A version 2 database gets them when opened; a relay that
//! knows only version 2 refuses a version 3 database, so it cannot ignore revocations.//!
//! A partial index, `changes_with_conflicts(doc, rev) WHERE conflicts <> '[]'`, lists the
//! changes that recorded conflicts, so that [`Store::conflicts_of`] visits only those however
//! long the log. It only adds to version 1 (an older relay keeps it up to date without knowing
//! it), so it is created, when missing, on opening.
//!
//! Revisions, sequence numbers and times are `u64` in Rust and `INTEGER` (`i64`) in SQLite; a
//! value that does not fit is refused, never truncated.
//!
//! # Durability
//! The database runs in WAL mode with `synchronous=FULL`, so a transaction that has committed
//! survives a crash or a power cut. [`Store::commit`] returns only after the transaction holding
//! its batch has committed, and the relay acknowledges a change only after that.
//!
//! # Group commit
//! One writer thread owns the connection. It takes a request, then every request already
//! waiting (up to [`MAX_GROUP`]), and writes all the batches among them, from any documents, in
//! one `IMMEDIATE` transaction: one fsync for all of them. Requests are served in the order they
//! were queued: a [`Store::load`] (or [`Store::conflicts_of`]) queued after a commit first
//! commits the batches before it, so it sees them.
//!
//! A batch that does not fit the stored log (a gap in revisions, see [`StoreError::Gap`]) or
//! that belongs to a document that failed to load is refused on its own, before anything of it
//! is written; the other batches of the group are unaffected. A failure of SQLite itself (a full
//! disk, an I/O error) fails the whole transaction, and every batch of the group gets the error:
//! the batch that hit it (or the first one) gets the original error, the others
//! [`StoreError::Failed`] with its message.
//!
//! # One change the store cannot keep is refused alone
//! [`Store::check`] encodes a change and reads it back before it joins a batch: a change that
//! would not load again exactly (a number too large for SQLite, a value that does not survive
//! a round trip through JSON) is refused with [`StoreError::Invalid`] right there, so the
//! relay can reject that change alone and keep the document serving. [`Store::commit`] runs
//! the same check on every change of a [`Batch`]; a room checks each change as it applies it
//! and commits the [`Checked`] forms, so nothing is encoded twice.
//!
//! # A document that fails to load is never overwritten
//! [`Store::load`] checks everything it reads (the snapshot parses, the changes follow each
//! other without a gap, every column has the expected type) and answers
//! [`StoreError::Corrupt`] rather than a partial document. The store then refuses every commit
//! to that document (also with [`StoreError::Corrupt`]) until it loads successfully, so its rows
//! stay as they are for a person to inspect and repair.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use sync_core::Value;
use sync_core::authority::ClientRecord;
use sync_core::protocol::{ClientId, Commit, Conflict, Revision};
use tokio::sync::oneshot;

mod history;
pub mod postgres;
mod read;
#[cfg(test)]
mod tests;
mod writer;

use writer::{ChangeRow, Prepared, Writer, encode, prepare};

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

/// The most requests the writer serves in one round (their batches share one transaction).
pub const MAX_GROUP: usize = 256;

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

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (I/O error, full disk, locked database, ...).
    #[error("storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row could not be read back: bad JSON, a gap in revisions, a mistyped column.
    /// The document is not served and not written until it loads again.
    #[error("document {doc:?} is corrupt in storage: {detail}")]
    Corrupt {
        /// The document.
        doc: String,
        /// What is wrong.
        detail: String,
    },
    /// The database has a schema version this relay does not know.
    #[error(
        "the database has schema version {found}, newer than this relay's {known}: a newer \
         relay wrote it; run that one (or a newer one) instead"
    )]
    Schema {
        /// The database's version.
        found: i64,
        /// The newest version this relay knows.
        known: i64,
    },
    /// PostgreSQL failed (unreachable, a constraint, a timeout, ...).
    #[error("storage error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// A batch whose changes do not continue the stored log. Nothing of it was written.
    #[error("document {doc:?}: expected revision {expected} next, found {found}")]
    Gap {
        /// The document.
        doc: String,
        /// The revision that should come next.
        expected: u64,
        /// The revision the batch has there.
        found: u64,
    },
    /// A batch the store cannot store faithfully: a number too large for SQLite, operations
    /// that do not survive a round trip through JSON, a snapshot that is not JSON or that is
    /// ahead of the log. Nothing of it was written.
    #[error("document {doc:?}: batch refused: {detail}")]
    Invalid {
        /// The document.
        doc: String,
        /// Why.
        detail: String,
    },
    /// A failure made on purpose by [`Store::fail_next_commits`]. Nothing was written.
    #[error("injected storage failure")]
    Injected,
    /// The store is closed (or its writer thread is gone); nothing was done.
    #[error("the store is closed")]
    Closed,
    /// The transaction this batch shared with others failed; the message is the original
    /// error, which one other batch of the group received. Nothing of the batch was written.
    #[error("{0} (in a transaction shared with other batches)")]
    Failed(String),
    /// Creating the database's directory or the writer thread failed.
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// What one room stores at once: new changes, as [`Commit`]s or as the [`Checked`] forms that
/// [`Store::check`] made of them, and perhaps a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch<C = Commit> {
    /// The document.
    pub doc: String,
    /// New changes, in revision order, each the next revision after the last stored one.
    pub changes: Vec<C>,
    /// A snapshot to store (replacing the previous one): the document as JSON text at that
    /// revision, which must not be ahead of the log (after this batch's changes).
    pub snapshot: Option<(Revision, String)>,
}

/// A change that [`Store::check`] found storable, encoded as the row it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    rev: Revision,
    row: ChangeRow,
}

impl Checked {
    /// The change's revision.
    pub fn rev(&self) -> Revision {
        self.rev
    }

    fn into_row(self) -> ChangeRow {
        self.row
    }
}

/// Decides which changes [`Store::refuse_changes`] makes the store refuse.
type Refusal = Arc<dyn Fn(&Commit) -> bool + Send + Sync>;

/// A document as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The latest snapshot (for a document with changes but no snapshot yet: an empty object,
    /// which is how documents start).
    pub snapshot: Value,
    /// The snapshot's revision (`Revision(0)` without a snapshot).
    pub snapshot_rev: Revision,
    /// The changes after the snapshot, in order, each the revision after the one before.
    pub changes: Vec<Commit>,
    /// The exactly-once records, ordered by client id.
    pub clients: Vec<(ClientId, ClientRecord)>,
}

/// Which conflict records [`Store::conflicts_of`] reads: those whose loser is `loser` in the
/// changes of `doc` after revision `after` up to `up_to` (included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictQuery {
    /// The document.
    pub doc: String,
    /// Whose losses.
    pub loser: ClientId,
    /// The changes after this revision...
    pub after: Revision,
    /// ...up to and including this one.
    pub up_to: Revision,
    /// At most this many records are read: the latest ones, so that a client away for a very
    /// long time costs the store a bounded read.
    pub limit: usize,
}

/// A handle to the store; cheap to clone (an `Arc` inside).
///
/// All SQLite work happens on one dedicated writer thread that owns the connection. Requests
/// reach it through a bounded queue ([`QUEUE_CAPACITY`]) and answers come back on oneshot
/// channels, so async callers never block a runtime thread: when the queue is full, the request
/// is handed over from a blocking task (`tokio::task::spawn_blocking`).
///
/// If a future returned by [`commit`](Store::commit) is dropped after its batch was queued, the
/// batch may still be stored; only an `Ok` answer says that it was.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// The database, for reads of the history on connections of their own.
    path: std::path::PathBuf,
    tx: SyncSender<Request>,
    fail_next: Arc<AtomicU32>,
    refuse: RwLock<Option<Refusal>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

enum Request {
    Load {
        doc: String,
        reply: oneshot::Sender<Result<Option<Loaded>, StoreError>>,
    },
    Commit {
        batch: Prepared,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Conflicts {
        query: ConflictQuery,
        reply: oneshot::Sender<Result<Vec<Conflict>, StoreError>>,
    },
    Close,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, and its directory.
    ///
    /// Refuses a database whose `PRAGMA user_version` is newer than [`SCHEMA_VERSION`] with
    /// [`StoreError::Schema`], before changing anything in it. Otherwise switches it to WAL
    /// mode, sets `synchronous=FULL`, creates the schema if missing or migrates an older one
    /// (setting the version), and starts the writer thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        let conn = open_connection(path)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE_CAPACITY);
        let fail_next = Arc::new(AtomicU32::new(0));
        let writer = Writer {
            conn,
            fail_next: Arc::clone(&fail_next),
            unloadable: HashSet::new(),
        };
        let handle = std::thread::Builder::new()
            .name("concord-store".to_owned())
            .spawn(move || writer.run(&rx))?;
        tracing::info!(path = %path.display(), "store opened");
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                tx,
                fail_next,
                refuse: RwLock::new(None),
                writer: Mutex::new(Some(handle)),
            }),
        })
    }

    /// Everything stored for `doc`, or `None` if the store has never seen it.
    ///
    /// Fails with [`StoreError::Corrupt`] if anything stored for it cannot be read back; the
    /// document is then not written until a later load succeeds.
    pub async fn load(&self, doc: &str) -> Result<Option<Loaded>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Load {
            doc: doc.to_owned(),
            reply,
        })
        .await?;
        answer.await.unwrap_or(Err(StoreError::Closed))
    }

    /// The conflict records `query` names, in the order they were made (by revision, then as
    /// each change listed them): the latest [`ConflictQuery::limit`] of them.
    ///
    /// What a client catching up by snapshot has lost in changes older than a room keeps in
    /// memory. Only the changes that recorded conflicts are visited (the partial index), only
    /// those that mention the loser's id are decoded, and the read stops at the limit, so
    /// neither a long log nor a long absence makes it large. A row that mentions the loser but
    /// does not decode is reported as [`StoreError::Corrupt`].
    pub async fn conflicts_of(&self, query: ConflictQuery) -> Result<Vec<Conflict>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Conflicts { query, reply }).await?;
        answer.await.unwrap_or(Err(StoreError::Closed))
    }

    /// Whether `change` (of document `doc`) can be stored faithfully: encodes it and reads it
    /// back. A change that would not load again exactly is refused with
    /// [`StoreError::Invalid`]; nothing is written either way.
    pub fn check(&self, doc: &str, change: &Commit) -> Result<Checked, StoreError> {
        let invalid = |detail: String| StoreError::Invalid {
            doc: doc.to_owned(),
            detail,
        };
        let refuse = self
            .inner
            .refuse
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if refuse.is_some_and(|refuse| refuse(change)) {
            return Err(invalid(format!(
                "change {} refused on purpose (Store::refuse_changes)",
                change.rev
            )));
        }
        let row = encode(change).map_err(invalid)?;
        Ok(Checked {
            rev: change.rev,
            row,
        })
    }

    /// Stores a batch durably: returns only after the transaction that holds it has committed
    /// (`Ok`) or failed (`Err`, and nothing of the batch was stored).
    ///
    /// Every change is checked first ([`Store::check`]). The batch's changes must be
    /// consecutive and start right after the stored head (the highest stored revision of the
    /// document, or 0), else [`StoreError::Gap`]. Each change's client record is kept if its
    /// `seq` is higher than the stored one. The snapshot, if any, replaces the stored one.
    pub async fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let Batch {
            doc,
            changes,
            snapshot,
        } = batch;
        let changes = changes
            .iter()
            .map(|change| self.check(&doc, change))
            .collect::<Result<_, _>>()?;
        self.commit_checked(Batch {
            doc,
            changes,
            snapshot,
        })
        .await
    }

    /// [`Store::commit`] for changes already checked.
    pub async fn commit_checked(&self, batch: Batch<Checked>) -> Result<(), StoreError> {
        let batch = prepare(batch)?;
        let (reply, answer) = oneshot::channel();
        self.send(Request::Commit { batch, reply }).await?;
        answer.await.unwrap_or(Err(StoreError::Closed))
    }

    /// A test aid: makes [`Store::check`] (and so [`Store::commit`]) refuse every change for
    /// which `refuse` is true, as it refuses a change it cannot store faithfully, so that tests
    /// can check that the relay rejects that change alone. Replaces any rule set before.
    pub fn refuse_changes(&self, refuse: impl Fn(&Commit) -> bool + Send + Sync + 'static) {
        *self
            .inner
            .refuse
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(refuse));
    }

    /// A test aid: makes the next `n` commits the writer takes up fail with
    /// [`StoreError::Injected`], without writing anything of them, so that tests can check
    /// that the relay fails closed. Replaces any count set before; 0 cancels it.
    pub fn fail_next_commits(&self, n: u32) {
        self.inner.fail_next.store(n, Ordering::SeqCst);
    }

    /// Stops the writer thread after it has finished every request queued before this call,
    /// and waits for it. Later requests, from any clone, get [`StoreError::Closed`]. Calling it
    /// again does nothing.
    ///
    /// This blocks the calling thread until the queue is drained; from async code, call it
    /// inside `tokio::task::spawn_blocking` (or at shutdown, when blocking does not matter).
    pub fn close(&self) {
        // Held until the thread has stopped, so a concurrent second call also waits for it.
        let mut writer = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(handle) = writer.take() else {
            return;
        };
        // Fails only if the thread is already gone.
        let _ = self.inner.tx.send(Request::Close);
        if handle.join().is_err() {
            tracing::error!("the store's writer thread panicked");
        }
        tracing::info!("store closed");
    }

    async fn send(&self, request: Request) -> Result<(), StoreError> {
        match self.inner.tx.try_send(request) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(_)) => Err(StoreError::Closed),
            Err(TrySendError::Full(request)) => {
                let tx = self.inner.tx.clone();
                tokio::task::spawn_blocking(move || tx.send(request))
                    .await
                    .map_err(|_| StoreError::Closed)?
                    .map_err(|_| StoreError::Closed)
            }
        }
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
