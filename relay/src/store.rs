//! Durable storage: every document's change log, its latest snapshot and the clients'
//! exactly-once records, in one SQLite database.
//!
//! # Schema (version 1, kept in `PRAGMA user_version`)
//! All three tables are `WITHOUT ROWID`, keyed by the document id:
//! - `changes(doc, rev, client, seq, author, time, ops, conflicts)`, key `(doc, rev)`: the full
//!   log, one row per [`Commit`]; `ops` and `conflicts` are JSON text written by `serde_json`.
//!   The log is never pruned: it is the document's history.
//! - `snapshots(doc, rev, body)`: the latest snapshot of each document, as JSON text.
//! - `clients(doc, client, seq, rev)`, key `(doc, client)`: the last change of each client that
//!   the document applied ([`ClientRecord`]), always the one with the highest `seq`.
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
//! were queued: a [`Store::load`] queued after a commit first commits the batches before it, so
//! it sees them.
//!
//! A batch that does not fit the stored log (a gap in revisions, see [`StoreError::Gap`]) or
//! that belongs to a document that failed to load is refused on its own, before anything of it
//! is written; the other batches of the group are unaffected. A failure of SQLite itself (a full
//! disk, an I/O error) fails the whole transaction, and every batch of the group gets the error:
//! the batch that hit it (or the first one) gets the original error, the others
//! [`StoreError::Failed`] with its message.
//!
//! # A document that fails to load is never overwritten
//! [`Store::load`] checks everything it reads (the snapshot parses, the changes follow each
//! other without a gap, every column has the expected type) and answers
//! [`StoreError::Corrupt`] rather than a partial document. The store then refuses every commit
//! to that document (also with [`StoreError::Corrupt`]) until it loads successfully, so its rows
//! stay as they are for a person to inspect and repair.

use std::collections::HashSet;
use std::fmt;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use sync_core::authority::ClientRecord;
use sync_core::protocol::{ClientId, Commit, Conflict, Revision};
use sync_core::{Map, Operation, Value};
use tokio::sync::oneshot;

/// The schema version this module writes and reads (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

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
    #[error("the database has schema version {0}; this relay uses version {SCHEMA_VERSION}")]
    Schema(i64),
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

/// What one room stores at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The document.
    pub doc: String,
    /// New changes, in revision order, each the next revision after the last stored one.
    pub changes: Vec<Commit>,
    /// A snapshot to store (replacing the previous one): the document as JSON text at that
    /// revision, which must not be ahead of the log (after this batch's changes).
    pub snapshot: Option<(Revision, String)>,
}

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
    tx: SyncSender<Request>,
    fail_next: Arc<AtomicU32>,
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
    Close,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, and its directory.
    ///
    /// Refuses a database whose `PRAGMA user_version` is neither 0 (new) nor
    /// [`SCHEMA_VERSION`] with [`StoreError::Schema`], before changing anything in it.
    /// Otherwise switches it to WAL mode, sets `synchronous=FULL`, creates the schema if missing
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
                tx,
                fail_next,
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

    /// Stores a batch durably: returns only after the transaction that holds it has committed
    /// (`Ok`) or failed (`Err`, and nothing of the batch was stored).
    ///
    /// The batch's changes must be consecutive and start right after the stored head (the
    /// highest stored revision of the document, or 0), else [`StoreError::Gap`]. Each change's
    /// client record is kept if its `seq` is higher than the stored one. The snapshot, if any,
    /// replaces the stored one.
    pub async fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let batch = prepare(batch)?;
        let (reply, answer) = oneshot::channel();
        self.send(Request::Commit { batch, reply }).await?;
        answer.await.unwrap_or(Err(StoreError::Closed))
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
fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(32);
    // Checked before anything is changed in a database this relay does not understand.
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version != 0 && version != SCHEMA_VERSION {
        return Err(StoreError::Schema(version));
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
        SCHEMA_VERSION => tx.execute_batch(SCHEMA)?,
        other => return Err(StoreError::Schema(other)),
    }
    tx.commit()?;
    Ok(conn)
}

/// A batch checked and encoded for SQLite, ready for the writer thread.
struct Prepared {
    doc: String,
    /// The first and last revisions of the changes, if there are any.
    revs: Option<(u64, u64)>,
    rows: Vec<ChangeRow>,
    snapshot: Option<SnapshotRow>,
}

struct ChangeRow {
    rev: i64,
    client: String,
    seq: i64,
    author: String,
    time: i64,
    ops: String,
    conflicts: String,
}

struct SnapshotRow {
    rev: u64,
    rev_sql: i64,
    body: String,
}

fn to_sql(value: u64) -> Option<i64> {
    i64::try_from(value).ok()
}

/// Checks and encodes a batch on the caller's task, so that the writer thread only writes.
fn prepare(batch: Batch) -> Result<Prepared, StoreError> {
    let Batch {
        doc,
        changes,
        snapshot,
    } = batch;
    let invalid = |detail: String| StoreError::Invalid {
        doc: doc.clone(),
        detail,
    };
    let too_large = |what: &str, rev: Revision, value: u64| {
        invalid(format!(
            "change {rev}: {what} {value} is too large to store"
        ))
    };
    let mut rows = Vec::with_capacity(changes.len());
    let mut next: Option<u64> = None;
    for change in &changes {
        if let Some(expected) = next
            && change.rev.0 != expected
        {
            return Err(StoreError::Gap {
                doc,
                expected,
                found: change.rev.0,
            });
        }
        let rev =
            to_sql(change.rev.0).ok_or_else(|| too_large("revision", change.rev, change.rev.0))?;
        let seq = to_sql(change.seq).ok_or_else(|| too_large("seq", change.rev, change.seq))?;
        let time = to_sql(change.time).ok_or_else(|| too_large("time", change.rev, change.time))?;
        let ops = serde_json::to_string(&change.ops)
            .map_err(|e| invalid(format!("change {}: operations: {e}", change.rev)))?;
        let conflicts = serde_json::to_string(&change.conflicts)
            .map_err(|e| invalid(format!("change {}: conflicts: {e}", change.rev)))?;
        // What cannot be read back would make the document fail to load: refuse it now.
        let ops_back: Result<Vec<Operation>, _> = serde_json::from_str(&ops);
        let conflicts_back: Result<Vec<Conflict>, _> = serde_json::from_str(&conflicts);
        if ops_back.ok().as_ref() != Some(&change.ops)
            || conflicts_back.ok().as_ref() != Some(&change.conflicts)
        {
            return Err(invalid(format!(
                "change {} does not survive a round trip through JSON",
                change.rev
            )));
        }
        rows.push(ChangeRow {
            rev,
            client: change.client.0.clone(),
            seq,
            author: change.author.clone(),
            time,
            ops,
            conflicts,
        });
        // `rev` fits in an i64, so this cannot overflow.
        next = change.rev.0.checked_add(1);
    }
    let revs = changes
        .first()
        .zip(changes.last())
        .map(|(first, last)| (first.rev.0, last.rev.0));
    let snapshot = match snapshot {
        None => None,
        Some((rev, body)) => {
            let rev_sql = to_sql(rev.0)
                .ok_or_else(|| invalid(format!("snapshot revision {} is too large", rev.0)))?;
            if let Err(e) = Value::parse(&body) {
                return Err(invalid(format!("the snapshot at {rev} is not JSON: {e}")));
            }
            Some(SnapshotRow {
                rev: rev.0,
                rev_sql,
                body,
            })
        }
    };
    Ok(Prepared {
        doc,
        revs,
        rows,
        snapshot,
    })
}

/// A commit request waiting for its group's transaction.
struct Pending {
    batch: Prepared,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The writer thread's state.
struct Writer {
    conn: Connection,
    fail_next: Arc<AtomicU32>,
    /// Documents whose last load failed: never written until they load again.
    unloadable: HashSet<String>,
}

impl Writer {
    fn run(mut self, rx: &Receiver<Request>) {
        while let Ok(first) = rx.recv() {
            let mut requests = vec![first];
            while requests.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(request) => requests.push(request),
                    Err(_) => break,
                }
            }
            if self.serve(requests).is_break() {
                break;
            }
        }
        // Returning drops the receiver: requests still queued are dropped, and their callers
        // get `Closed`.
    }

    /// Serves requests in order: consecutive commits share one transaction; a load first
    /// commits what was queued before it.
    fn serve(&mut self, requests: Vec<Request>) -> ControlFlow<()> {
        let mut group = Vec::new();
        for request in requests {
            match request {
                Request::Commit { batch, reply } => group.push(Pending { batch, reply }),
                Request::Load { doc, reply } => {
                    self.commit_group(std::mem::take(&mut group));
                    let result = self.load(&doc);
                    // The caller may have stopped waiting; that is fine.
                    let _ = reply.send(result);
                }
                Request::Close => {
                    self.commit_group(group);
                    return ControlFlow::Break(());
                }
            }
        }
        self.commit_group(group);
        ControlFlow::Continue(())
    }

    fn load(&mut self, doc: &str) -> Result<Option<Loaded>, StoreError> {
        let result = load(&mut self.conn, doc);
        match &result {
            Err(StoreError::Corrupt { detail, .. }) => {
                tracing::error!(doc, %detail, "a stored document is corrupt; it will not be written");
                self.unloadable.insert(doc.to_owned());
            }
            Err(e) => tracing::error!(doc, error = %e, "loading a document failed"),
            Ok(_) => {
                self.unloadable.remove(doc);
            }
        }
        result
    }

    /// Writes a group of batches in one transaction and answers every caller.
    fn commit_group(&mut self, group: Vec<Pending>) {
        if group.is_empty() {
            return;
        }
        // One entry per batch examined: `Some` if it was refused on its own.
        let mut refused: Vec<Option<StoreError>> = Vec::with_capacity(group.len());
        let result = write_group(
            &mut self.conn,
            &self.fail_next,
            &self.unloadable,
            &group,
            &mut refused,
        );
        match result {
            Ok(()) => {
                tracing::debug!(batches = group.len(), "group committed");
                for (pending, refusal) in group.into_iter().zip(refused) {
                    let answer = refusal.map_or(Ok(()), Err);
                    let _ = pending.reply.send(answer);
                }
            }
            Err((culprit, error)) => {
                tracing::error!(%error, batches = group.len(), "a group commit failed");
                if !self.conn.is_autocommit()
                    && let Err(e) = self.conn.execute_batch("ROLLBACK")
                {
                    tracing::error!(error = %e, "rolling back a failed group commit failed");
                }
                let message = error.to_string();
                let mut original = Some(error);
                let mut refused = refused.into_iter();
                for (index, pending) in group.into_iter().enumerate() {
                    let own = refused.next().flatten();
                    let answer = match own {
                        Some(own) => own,
                        None if culprit.is_none_or(|c| c == index) => original
                            .take()
                            .unwrap_or_else(|| StoreError::Failed(message.clone())),
                        None => StoreError::Failed(message.clone()),
                    };
                    let _ = pending.reply.send(Err(answer));
                }
            }
        }
    }
}

/// Writes every batch of `group` that fits, in one transaction. On a SQLite failure returns
/// the index of the batch that hit it (`None` for the transaction itself) and the error.
fn write_group(
    conn: &mut Connection,
    fail_next: &AtomicU32,
    unloadable: &HashSet<String>,
    group: &[Pending],
    refused: &mut Vec<Option<StoreError>>,
) -> Result<(), (Option<usize>, StoreError)> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| (None, e.into()))?;
    for (index, pending) in group.iter().enumerate() {
        let batch = &pending.batch;
        let injected = fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let refusal = if injected {
            Some(StoreError::Injected)
        } else if unloadable.contains(&batch.doc) {
            Some(StoreError::Corrupt {
                doc: batch.doc.clone(),
                detail: "the document failed to load, so it is not written".to_owned(),
            })
        } else {
            write_batch(&tx, batch).map_err(|e| (Some(index), e.into()))?
        };
        if let Some(refusal) = &refusal {
            tracing::warn!(doc = %batch.doc, error = %refusal, "batch refused");
        }
        refused.push(refusal);
    }
    tx.commit().map_err(|e| (None, e.into()))
}

/// Checks a batch against the stored log and writes it. Returns `Some(refusal)`, having
/// written nothing, if it does not fit.
fn write_batch(
    tx: &Transaction<'_>,
    batch: &Prepared,
) -> Result<Option<StoreError>, rusqlite::Error> {
    let doc = batch.doc.as_str();
    let corrupt = |detail: String| {
        Some(StoreError::Corrupt {
            doc: doc.to_owned(),
            detail,
        })
    };
    let last_change: SqlValue = tx
        .prepare_cached("SELECT MAX(rev) FROM changes WHERE doc = ?1")?
        .query_row([doc], |row| row.get(0))?;
    let snapshot: Option<SqlValue> = tx
        .prepare_cached("SELECT rev FROM snapshots WHERE doc = ?1")?
        .query_row([doc], |row| row.get(0))
        .optional()?;
    let mut head = 0;
    for value in [Some(last_change), snapshot].into_iter().flatten() {
        match value {
            SqlValue::Null => {}
            value => match read_u64(value) {
                Ok(rev) => head = head.max(rev),
                Err(e) => return Ok(corrupt(format!("stored revision: {e}"))),
            },
        }
    }
    let mut new_head = head;
    if let Some((first, last)) = batch.revs {
        // `head` came from an i64, so this cannot overflow.
        let expected = head.saturating_add(1);
        if first != expected {
            return Ok(Some(StoreError::Gap {
                doc: doc.to_owned(),
                expected,
                found: first,
            }));
        }
        new_head = last;
    }
    if let Some(snapshot) = &batch.snapshot
        && snapshot.rev > new_head
    {
        return Ok(Some(StoreError::Invalid {
            doc: doc.to_owned(),
            detail: format!(
                "the snapshot at r{} is ahead of the log, which ends at r{new_head}",
                snapshot.rev
            ),
        }));
    }

    let mut insert = tx.prepare_cached(
        "INSERT INTO changes (doc, rev, client, seq, author, time, ops, conflicts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut record = tx.prepare_cached(
        "INSERT INTO clients (doc, client, seq, rev) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(doc, client) DO UPDATE SET seq = excluded.seq, rev = excluded.rev
         WHERE excluded.seq > clients.seq",
    )?;
    for row in &batch.rows {
        insert.execute(params![
            doc,
            row.rev,
            row.client,
            row.seq,
            row.author,
            row.time,
            row.ops,
            row.conflicts
        ])?;
        record.execute(params![doc, row.client, row.seq, row.rev])?;
    }
    if let Some(snapshot) = &batch.snapshot {
        tx.prepare_cached(
            "INSERT INTO snapshots (doc, rev, body) VALUES (?1, ?2, ?3)
             ON CONFLICT(doc) DO UPDATE SET rev = excluded.rev, body = excluded.body",
        )?
        .execute(params![doc, snapshot.rev_sql, snapshot.body])?;
    }
    Ok(None)
}

fn read_u64(value: SqlValue) -> Result<u64, String> {
    match value {
        SqlValue::Integer(i) => u64::try_from(i).map_err(|_| format!("negative number {i}")),
        other => Err(format!(
            "expected an integer, found {:?}",
            other.data_type()
        )),
    }
}

fn read_text(value: SqlValue) -> Result<String, String> {
    match value {
        SqlValue::Text(text) => Ok(text),
        other => Err(format!("expected text, found {:?}", other.data_type())),
    }
}

/// Reads everything stored for `doc`, checking it, in one read transaction.
fn load(conn: &mut Connection, doc: &str) -> Result<Option<Loaded>, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        doc: doc.to_owned(),
        detail,
    };
    let tx = conn.transaction()?;

    let snapshot_row: Option<(SqlValue, SqlValue)> = tx
        .prepare_cached("SELECT rev, body FROM snapshots WHERE doc = ?1")?
        .query_row([doc], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let snapshot = match snapshot_row {
        None => None,
        Some((rev, body)) => {
            let rev = read_u64(rev).map_err(|e| corrupt(format!("snapshot revision: {e}")))?;
            let body = read_text(body).map_err(|e| corrupt(format!("snapshot at r{rev}: {e}")))?;
            let value = Value::parse(&body)
                .map_err(|e| corrupt(format!("snapshot at r{rev} is not JSON: {e}")))?;
            Some((rev, value))
        }
    };
    let seen_snapshot = snapshot.is_some();
    let (snapshot_rev, snapshot) = snapshot.unwrap_or((0, Value::Object(Map::new())));
    let snapshot_rev_sql = match seen_snapshot {
        // Without a snapshot every change is read, so that stray revisions are noticed too.
        false => i64::MIN,
        true => to_sql(snapshot_rev).ok_or_else(|| corrupt("snapshot revision".to_owned()))?,
    };

    let mut changes = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT rev, client, seq, author, time, ops, conflicts FROM changes
             WHERE doc = ?1 AND rev > ?2 ORDER BY rev",
        )?;
        let mut rows = stmt.query(params![doc, snapshot_rev_sql])?;
        let mut expected = snapshot_rev.saturating_add(1);
        while let Some(row) = rows.next()? {
            let columns: [SqlValue; 7] = [
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
            ];
            let commit = read_commit(columns, expected).map_err(&corrupt)?;
            expected = commit.rev.0.saturating_add(1);
            changes.push(commit);
        }
    }

    let mut clients = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT client, seq, rev FROM clients WHERE doc = ?1 ORDER BY client",
        )?;
        let mut rows = stmt.query([doc])?;
        while let Some(row) = rows.next()? {
            let (client, seq, rev): (SqlValue, SqlValue, SqlValue) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            let client = read_text(client).map_err(|e| corrupt(format!("client record: {e}")))?;
            let seq = read_u64(seq)
                .map_err(|e| corrupt(format!("client record of {client:?}: seq: {e}")))?;
            let rev = read_u64(rev)
                .map_err(|e| corrupt(format!("client record of {client:?}: revision: {e}")))?;
            clients.push((
                ClientId(client),
                ClientRecord {
                    seq,
                    rev: Revision(rev),
                },
            ));
        }
    }
    tx.commit()?;

    if !seen_snapshot && changes.is_empty() && clients.is_empty() {
        return Ok(None);
    }
    Ok(Some(Loaded {
        snapshot,
        snapshot_rev: Revision(snapshot_rev),
        changes,
        clients,
    }))
}

/// Decodes one row of `changes`, which must have revision `expected`.
fn read_commit(columns: [SqlValue; 7], expected: u64) -> Result<Commit, String> {
    let [rev, client, seq, author, time, ops, conflicts] = columns;
    let rev = read_u64(rev).map_err(|e| format!("a change's revision: {e}"))?;
    if rev != expected {
        return Err(format!(
            "the log jumps from r{} to r{rev}",
            expected.saturating_sub(1)
        ));
    }
    let field = |name: &str, e: String| format!("change r{rev}: {name}: {e}");
    let client = read_text(client).map_err(|e| field("client", e))?;
    let seq = read_u64(seq).map_err(|e| field("seq", e))?;
    let author = read_text(author).map_err(|e| field("author", e))?;
    let time = read_u64(time).map_err(|e| field("time", e))?;
    let ops = read_text(ops).map_err(|e| field("ops", e))?;
    let ops: Vec<Operation> =
        serde_json::from_str(&ops).map_err(|e| field("ops", e.to_string()))?;
    let conflicts = read_text(conflicts).map_err(|e| field("conflicts", e))?;
    let conflicts: Vec<Conflict> =
        serde_json::from_str(&conflicts).map_err(|e| field("conflicts", e.to_string()))?;
    Ok(Commit {
        rev: Revision(rev),
        client: ClientId(client),
        seq,
        author,
        time,
        ops,
        conflicts,
    })
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use std::path::PathBuf;
    use std::sync::atomic::AtomicU64;

    use sync_core::Change;
    use sync_core::authority::{Authority, AuthorityConfig};

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

    fn revs(loaded: &Loaded) -> Vec<u64> {
        loaded.changes.iter().map(|c| c.rev.0).collect()
    }

    fn count(path: &Path, sql: &str) -> i64 {
        let conn = Connection::open(path).unwrap();
        conn.query_row(sql, [], |row| row.get(0)).unwrap()
    }

    #[tokio::test]
    async fn commit_then_load_round_trips_exactly() {
        let dir = TempDir::new("round-trip");
        let store = Store::open(&dir.db()).unwrap();
        let ops1 = r#"[
            {"op": "add", "path": "/title", "value": "Hello"},
            {"op": "add", "path": "/a", "value": {"n": [1.10, 1e400, -0.0, {"deep": [null, true]}], "s": "x"}, "index": 0}
        ]"#;
        let ops2 = r#"[
            {"op": "splice", "path": "/title", "pos": 1, "del": 4, "ins": "é wörld 🎉"},
            {"op": "incr", "path": "/a/n/0", "by": 1e-2}
        ]"#;
        let mut second = change(2, "c2", 7, ops2);
        second.author = "Bob \"B\" 🐝".into();
        second.time = 1_700_000_000_123;
        second.conflicts = serde_json::from_str(
            r#"[{"kind": "overwritten", "path": "/title", "value": 1.10,
                 "winner": {"client": "c2", "author": "Bob"},
                 "loser": {"client": "c1", "author": "Ann"}, "rev": 2}]"#,
        )
        .unwrap();
        let commits = vec![change(1, "c1", 1, ops1), second];
        store.commit(batch("doc", commits.clone())).await.unwrap();

        let loaded = store.load("doc").await.unwrap().unwrap();
        assert_eq!(loaded.snapshot, Value::parse("{}").unwrap());
        assert_eq!(loaded.snapshot_rev, Revision(0));
        assert_eq!(loaded.changes, commits);
        for (stored, original) in loaded.changes.iter().zip(&commits) {
            assert_eq!(
                Change(stored.ops.clone()).to_json(),
                Change(original.ops.clone()).to_json()
            );
        }
        // Every digit survives; sync-core's serde writes exponents as `e+` (the same value).
        let text = Change(loaded.changes[0].ops.clone()).to_json();
        assert!(text.contains("[1.10,1e+400,-0.0,"), "{text}");
        let Operation::Add { value, .. } = &loaded.changes[0].ops[1] else {
            panic!("an add")
        };
        let expected =
            Value::parse(r#"{"n": [1.10, 1e400, -0.0, {"deep": [null, true]}], "s": "x"}"#);
        assert_eq!(value, &expected.unwrap());
        assert_eq!(
            loaded.clients,
            vec![
                (
                    ClientId::from("c1"),
                    ClientRecord {
                        seq: 1,
                        rev: Revision(1)
                    }
                ),
                (
                    ClientId::from("c2"),
                    ClientRecord {
                        seq: 7,
                        rev: Revision(2)
                    }
                ),
            ]
        );

        // Operations built from losslessly parsed values come back equal.
        let value =
            Value::parse(r#"{"n": [1.10, 1e400, 1E5, 2.50e-3, 123456789012345678901234567890]}"#);
        let op = Operation::add("/b".parse().unwrap(), value.unwrap());
        let mut third = change(3, "c1", 2, "[]");
        third.ops = vec![op];
        store
            .commit(batch("doc", vec![third.clone()]))
            .await
            .unwrap();
        let loaded = store.load("doc").await.unwrap().unwrap();
        assert_eq!(loaded.changes.last(), Some(&third));
        assert_eq!(
            Change(third.ops).to_json(),
            r#"[{"op":"add","path":"/b","value":{"n":[1.10,1e+400,1e+5,2.50e-3,123456789012345678901234567890]}}]"#
        );

        // What was stored rebuilds the document.
        let authority = Authority::restore(
            loaded.snapshot,
            loaded.snapshot_rev,
            loaded.changes,
            loaded.clients,
            AuthorityConfig::default(),
        )
        .unwrap();
        assert_eq!(authority.rev(), Revision(3));
        assert_eq!(
            authority.document().to_json(),
            r#"{"a":{"n":[1.11,1e+400,-0.0,{"deep":[null,true]}],"s":"x"},"title":"Hé wörld 🎉","b":{"n":[1.10,1e+400,1e+5,2.50e-3,123456789012345678901234567890]}}"#
        );

        // A snapshot keeps its text exactly.
        let body = r#"{"a":{"n":[1.10,1e400,-0.0]},"title":"Hé"}"#;
        store
            .commit(Batch {
                doc: "doc".into(),
                changes: vec![],
                snapshot: Some((Revision(3), body.to_owned())),
            })
            .await
            .unwrap();
        let loaded = store.load("doc").await.unwrap().unwrap();
        assert_eq!(loaded.snapshot.to_json(), body);
        assert_eq!(loaded.snapshot_rev, Revision(3));
        assert!(loaded.changes.is_empty());
        store.close();
    }

    #[tokio::test]
    async fn an_unknown_document_loads_as_none() {
        let dir = TempDir::new("unknown");
        let store = Store::open(&dir.db()).unwrap();
        assert!(store.load("nope").await.unwrap().is_none());
        store
            .commit(batch("doc", vec![set(1, "c1", 1)]))
            .await
            .unwrap();
        assert!(store.load("nope").await.unwrap().is_none());
        assert!(store.load("doc").await.unwrap().is_some());
        store.close();
    }

    #[tokio::test]
    async fn a_snapshot_replaces_the_previous_one_and_the_log_is_kept() {
        let dir = TempDir::new("snapshot");
        let store = Store::open(&dir.db()).unwrap();
        store
            .commit(batch("doc", (1..=3).map(|r| set(r, "c1", r)).collect()))
            .await
            .unwrap();
        store
            .commit(Batch {
                doc: "doc".into(),
                changes: vec![],
                snapshot: Some((Revision(3), r#"{"n":3}"#.to_owned())),
            })
            .await
            .unwrap();
        store
            .commit(Batch {
                doc: "doc".into(),
                changes: vec![set(4, "c1", 4), set(5, "c1", 5)],
                snapshot: Some((Revision(4), r#"{"n":4}"#.to_owned())),
            })
            .await
            .unwrap();
        let loaded = store.load("doc").await.unwrap().unwrap();
        assert_eq!(loaded.snapshot.to_json(), r#"{"n":4}"#);
        assert_eq!(loaded.snapshot_rev, Revision(4));
        assert_eq!(revs(&loaded), vec![5]);
        assert_eq!(count(&dir.db(), "SELECT COUNT(*) FROM snapshots"), 1);
        assert_eq!(count(&dir.db(), "SELECT COUNT(*) FROM changes"), 5);

        // The next change follows the log, not the snapshot.
        let err = store
            .commit(batch("doc", vec![set(5, "c1", 6)]))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Gap {
                    expected: 6,
                    found: 5,
                    ..
                }
            ),
            "{err}"
        );
        store
            .commit(batch("doc", vec![set(6, "c1", 6)]))
            .await
            .unwrap();

        // A snapshot ahead of the log is refused.
        let err = store
            .commit(Batch {
                doc: "doc".into(),
                changes: vec![],
                snapshot: Some((Revision(9), "{}".to_owned())),
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
        // So is one that is not JSON.
        let err = store
            .commit(Batch {
                doc: "doc".into(),
                changes: vec![],
                snapshot: Some((Revision(6), "{".to_owned())),
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
        let loaded = store.load("doc").await.unwrap().unwrap();
        assert_eq!(loaded.snapshot_rev, Revision(4));
        assert_eq!(revs(&loaded), vec![5, 6]);

        // A document created with content starts with a snapshot at revision 0.
        store
            .commit(Batch {
                doc: "new".into(),
                changes: vec![],
                snapshot: Some((Revision(0), r#"{"items":[]}"#.to_owned())),
            })
            .await
            .unwrap();
        store
            .commit(batch("new", vec![set(1, "c1", 1)]))
            .await
            .unwrap();
        let loaded = store.load("new").await.unwrap().unwrap();
        assert_eq!(loaded.snapshot.to_json(), r#"{"items":[]}"#);
        assert_eq!(revs(&loaded), vec![1]);
        store.close();
    }

    #[tokio::test]
    async fn clients_keep_their_highest_seq() {
        let dir = TempDir::new("clients");
        let store = Store::open(&dir.db()).unwrap();
        store
            .commit(batch(
                "doc",
                vec![set(1, "c1", 1), set(2, "c2", 1), set(3, "c1", 5)],
            ))
            .await
            .unwrap();
        store
            .commit(batch("doc", vec![set(4, "c1", 3)]))
            .await
            .unwrap();
        store
            .commit(batch("other", vec![set(1, "c1", 9)]))
            .await
            .unwrap();
        let loaded = store.load("doc").await.unwrap().unwrap();
        let record = |seq, rev| ClientRecord {
            seq,
            rev: Revision(rev),
        };
        assert_eq!(
            loaded.clients,
            vec![
                (ClientId::from("c1"), record(5, 3)),
                (ClientId::from("c2"), record(1, 2)),
            ]
        );
        store.close();
    }

    #[tokio::test]
    async fn a_batch_with_a_gap_is_refused_and_writes_nothing() {
        let dir = TempDir::new("gap");
        let store = Store::open(&dir.db()).unwrap();
        let err = store
            .commit(batch("doc", vec![set(2, "c1", 1)]))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Gap {
                    expected: 1,
                    found: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(store.load("doc").await.unwrap().is_none());

        store
            .commit(batch("doc", vec![set(1, "c1", 1), set(2, "c1", 2)]))
            .await
            .unwrap();
        for bad in [
            vec![set(4, "c2", 1)],
            vec![set(2, "c2", 1)],
            vec![set(3, "c2", 1), set(5, "c2", 2)],
            vec![set(3, "c2", 1), set(3, "c2", 2)],
        ] {
            let err = store
                .commit(Batch {
                    doc: "doc".into(),
                    changes: bad,
                    snapshot: Some((Revision(2), "{}".to_owned())),
                })
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::Gap { .. }), "{err}");
        }
        let loaded = store.load("doc").await.unwrap().unwrap();
        assert_eq!(revs(&loaded), vec![1, 2]);
        assert_eq!(loaded.snapshot_rev, Revision(0));
        assert_eq!(loaded.clients.len(), 1);
        assert_eq!(count(&dir.db(), "SELECT COUNT(*) FROM snapshots"), 0);
        store.close();
    }

    #[tokio::test]
    async fn numbers_too_large_for_sqlite_are_refused() {
        let dir = TempDir::new("too-large");
        let store = Store::open(&dir.db()).unwrap();
        let mut big = set(1, "c1", u64::MAX);
        let err = store
            .commit(batch("doc", vec![big.clone()]))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
        big.seq = 1;
        big.time = u64::MAX;
        let err = store.commit(batch("doc", vec![big])).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
        assert!(store.load("doc").await.unwrap().is_none());
        store.close();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_documents_all_land_and_survive_reopening() {
        let dir = TempDir::new("concurrent");
        let store = Store::open(&dir.db()).unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|d| {
                let store = store.clone();
                tokio::spawn(async move {
                    let doc = format!("doc-{d}");
                    for rev in 1..=20 {
                        let client = format!("c{}", rev % 3);
                        store
                            .commit(batch(&doc, vec![set(rev, &client, rev)]))
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let check = |loaded: Loaded| {
            assert_eq!(revs(&loaded), (1..=20).collect::<Vec<_>>());
            assert_eq!(loaded.clients.len(), 3);
        };
        for d in 0..50 {
            check(store.load(&format!("doc-{d}")).await.unwrap().unwrap());
        }
        store.close();

        let store = Store::open(&dir.db()).unwrap();
        for d in 0..50 {
            check(store.load(&format!("doc-{d}")).await.unwrap().unwrap());
        }
        store.close();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn more_requests_than_the_queue_holds_all_land() {
        let dir = TempDir::new("full-queue");
        let store = Store::open(&dir.db()).unwrap();
        let n = 3 * QUEUE_CAPACITY;
        let tasks: Vec<_> = (0..n)
            .map(|d| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .commit(batch(&format!("doc-{d}"), vec![set(1, "c1", 1)]))
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(
            count(&dir.db(), "SELECT COUNT(*) FROM changes"),
            i64::try_from(n).unwrap()
        );
        store.close();
    }

    #[tokio::test]
    async fn corrupt_rows_fail_the_load_and_are_never_overwritten() {
        let dir = TempDir::new("corrupt");
        let store = Store::open(&dir.db()).unwrap();
        store
            .commit(batch("doc", vec![set(1, "c1", 1), set(2, "c1", 2)]))
            .await
            .unwrap();
        store
            .commit(batch("fine", vec![set(1, "c1", 1)]))
            .await
            .unwrap();

        let side = Connection::open(dir.db()).unwrap();
        side.execute(
            "UPDATE changes SET ops = 'not json' WHERE doc = 'doc' AND rev = 2",
            [],
        )
        .unwrap();
        let err = store.load("doc").await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt { doc, .. } if doc == "doc"),
            "{err}"
        );

        // Neither a change nor a snapshot is written to it.
        let err = store
            .commit(batch("doc", vec![set(3, "c1", 3)]))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        let err = store
            .commit(Batch {
                doc: "doc".into(),
                changes: vec![],
                snapshot: Some((Revision(0), "{}".to_owned())),
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        let ops: String = side
            .query_row(
                "SELECT ops FROM changes WHERE doc = 'doc' AND rev = 2",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(ops, "not json");
        assert_eq!(
            count(&dir.db(), "SELECT COUNT(*) FROM changes WHERE doc = 'doc'"),
            2
        );
        assert_eq!(count(&dir.db(), "SELECT COUNT(*) FROM snapshots"), 0);

        // Other documents are unaffected.
        store
            .commit(batch("fine", vec![set(2, "c1", 2)]))
            .await
            .unwrap();
        assert_eq!(
            revs(&store.load("fine").await.unwrap().unwrap()),
            vec![1, 2]
        );

        // Once repaired, it loads and takes changes again.
        let good: String = side
            .query_row(
                "SELECT ops FROM changes WHERE doc = 'doc' AND rev = 1",
                [],
                |row| row.get(0),
            )
            .unwrap();
        side.execute(
            "UPDATE changes SET ops = ?1 WHERE doc = 'doc' AND rev = 2",
            [good],
        )
        .unwrap();
        assert_eq!(revs(&store.load("doc").await.unwrap().unwrap()), vec![1, 2]);
        store
            .commit(batch("doc", vec![set(3, "c1", 3)]))
            .await
            .unwrap();
        store.close();
    }

    #[tokio::test]
    async fn every_kind_of_damage_is_reported_as_corrupt() {
        let damage = [
            "DELETE FROM changes WHERE doc = 'doc' AND rev = 1",
            "UPDATE changes SET conflicts = '{' WHERE doc = 'doc' AND rev = 2",
            "UPDATE changes SET seq = -1 WHERE doc = 'doc' AND rev = 2",
            "UPDATE changes SET author = x'00ff' WHERE doc = 'doc' AND rev = 2",
            "UPDATE changes SET rev = 'two' WHERE doc = 'doc' AND rev = 2",
            "INSERT INTO snapshots (doc, rev, body) VALUES ('doc', 1, '{\"a\":')",
            "INSERT INTO snapshots (doc, rev, body) VALUES ('doc', -1, '{}')",
            "UPDATE clients SET seq = 'x' WHERE doc = 'doc'",
        ];
        for sql in damage {
            let dir = TempDir::new("damage");
            let store = Store::open(&dir.db()).unwrap();
            store
                .commit(batch("doc", vec![set(1, "c1", 1), set(2, "c1", 2)]))
                .await
                .unwrap();
            Connection::open(dir.db())
                .unwrap()
                .execute(sql, [])
                .unwrap();
            let err = store.load("doc").await.unwrap_err();
            assert!(matches!(err, StoreError::Corrupt { .. }), "{sql}: {err}");
            store.close();
        }
    }

    #[tokio::test]
    async fn an_injected_failure_fails_exactly_the_next_commit() {
        let dir = TempDir::new("inject");
        let store = Store::open(&dir.db()).unwrap();
        store
            .commit(batch("doc", vec![set(1, "c1", 1)]))
            .await
            .unwrap();
        store.fail_next_commits(1);
        let err = store
            .commit(Batch {
                doc: "doc".into(),
                changes: vec![set(2, "c1", 2)],
                snapshot: Some((Revision(2), r#"{"n":2}"#.to_owned())),
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Injected), "{err}");
        let loaded = store.load("doc").await.unwrap().unwrap();
        assert_eq!(revs(&loaded), vec![1]);
        assert_eq!(loaded.snapshot_rev, Revision(0));
        assert_eq!(loaded.clients[0].1.seq, 1);

        store
            .commit(batch("doc", vec![set(2, "c1", 2)]))
            .await
            .unwrap();
        assert_eq!(revs(&store.load("doc").await.unwrap().unwrap()), vec![1, 2]);

        store.fail_next_commits(2);
        assert!(
            store
                .commit(batch("doc", vec![set(3, "c1", 3)]))
                .await
                .is_err()
        );
        assert!(
            store
                .commit(batch("doc", vec![set(3, "c1", 3)]))
                .await
                .is_err()
        );
        store
            .commit(batch("doc", vec![set(3, "c1", 3)]))
            .await
            .unwrap();
        store.close();
    }

    #[test]
    fn a_group_is_served_in_order_and_a_bad_batch_fails_alone() {
        let dir = TempDir::new("group");
        let conn = open_connection(&dir.db()).unwrap();
        let mut writer = Writer {
            conn,
            fail_next: Arc::new(AtomicU32::new(0)),
            unloadable: HashSet::new(),
        };
        let commit = |doc: &str, changes| {
            let (reply, answer) = oneshot::channel();
            let batch = prepare(batch(doc, changes)).unwrap();
            (Request::Commit { batch, reply }, answer)
        };
        let load = |doc: &str| {
            let (reply, answer) = oneshot::channel();
            (
                Request::Load {
                    doc: doc.to_owned(),
                    reply,
                },
                answer,
            )
        };
        let (c1, mut a1) = commit("a", vec![set(1, "c1", 1)]);
        let (c2, mut a2) = commit("b", vec![set(2, "c1", 1)]);
        let (c3, mut a3) = commit("a", vec![set(2, "c1", 2)]);
        let (l1, mut b1) = load("a");
        let (c4, mut a4) = commit("a", vec![set(3, "c1", 3)]);
        let (l2, mut b2) = load("a");
        let flow = writer.serve(vec![c1, c2, c3, l1, c4, l2]);
        assert!(flow.is_continue());
        a1.try_recv().unwrap().unwrap();
        assert!(matches!(
            a2.try_recv().unwrap(),
            Err(StoreError::Gap { .. })
        ));
        a3.try_recv().unwrap().unwrap();
        a4.try_recv().unwrap().unwrap();
        assert_eq!(revs(&b1.try_recv().unwrap().unwrap().unwrap()), vec![1, 2]);
        assert_eq!(
            revs(&b2.try_recv().unwrap().unwrap().unwrap()),
            vec![1, 2, 3]
        );

        // Requests after a close are dropped unanswered; the callers see `Closed`.
        let (c5, mut a5) = commit("a", vec![set(4, "c1", 4)]);
        let (c6, mut a6) = commit("a", vec![set(5, "c1", 5)]);
        assert!(writer.serve(vec![c5, Request::Close, c6]).is_break());
        a5.try_recv().unwrap().unwrap();
        assert!(a6.try_recv().is_err());
    }

    #[test]
    fn a_failed_transaction_fails_every_batch_of_the_group() {
        let dir = TempDir::new("group-failure");
        let conn = open_connection(&dir.db()).unwrap();
        let mut writer = Writer {
            conn,
            fail_next: Arc::new(AtomicU32::new(0)),
            unloadable: HashSet::new(),
        };
        // Another connection holds the write lock, so the group cannot begin.
        writer.conn.busy_timeout(Duration::from_millis(10)).unwrap();
        let mut side = Connection::open(dir.db()).unwrap();
        let lock = side
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let mut answers = Vec::new();
        let mut group = Vec::new();
        for doc in ["a", "b", "c"] {
            let (reply, answer) = oneshot::channel();
            let batch = prepare(batch(doc, vec![set(1, "c1", 1)])).unwrap();
            group.push(Pending { batch, reply });
            answers.push(answer);
        }
        writer.commit_group(group);
        let mut answers = answers.into_iter().map(|mut a| a.try_recv().unwrap());
        assert!(matches!(answers.next(), Some(Err(StoreError::Sqlite(_)))));
        assert!(answers.all(|a| matches!(a, Err(StoreError::Failed(m)) if m.contains("locked"))));
        drop(lock);
        assert_eq!(count(&dir.db(), "SELECT COUNT(*) FROM changes"), 0);
        assert!(writer.conn.is_autocommit());
    }

    #[tokio::test]
    async fn the_database_is_in_wal_mode_with_the_schema_version() {
        let dir = TempDir::new("wal");
        let store = Store::open(&dir.db()).unwrap();
        let side = Connection::open(dir.db()).unwrap();
        let mode: String = side
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let version: i64 = side
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let synchronous: i64 = writer_pragma(&dir.db(), "synchronous");
        assert_eq!(synchronous, 2, "FULL");
        store.close();
    }

    /// A pragma as the store's own connection sets it.
    fn writer_pragma(path: &Path, name: &str) -> i64 {
        let conn = open_connection(path).unwrap();
        conn.pragma_query_value(None, name, |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn another_schema_version_is_refused_untouched() {
        let dir = TempDir::new("version");
        {
            let conn = Connection::open(dir.db()).unwrap();
            conn.pragma_update(None, "user_version", 7).unwrap();
        }
        let err = Store::open(&dir.db()).unwrap_err();
        assert!(matches!(err, StoreError::Schema(7)), "{err}");
        let conn = Connection::open(dir.db()).unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
    }

    #[tokio::test]
    async fn open_creates_the_directory() {
        let dir = TempDir::new("nested");
        let path = dir.0.join("a").join("b").join("relay.db");
        let store = Store::open(&path).unwrap();
        store
            .commit(batch("doc", vec![set(1, "c1", 1)]))
            .await
            .unwrap();
        store.close();
        assert!(path.exists());
    }

    #[tokio::test]
    async fn after_close_every_request_is_refused() {
        let dir = TempDir::new("close");
        let store = Store::open(&dir.db()).unwrap();
        let clone = store.clone();
        store
            .commit(batch("doc", vec![set(1, "c1", 1)]))
            .await
            .unwrap();
        store.close();
        store.close();
        let err = store
            .commit(batch("doc", vec![set(2, "c1", 2)]))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Closed), "{err}");
        assert!(matches!(clone.load("doc").await, Err(StoreError::Closed)));
        clone.close();

        // What was committed before is there.
        let store = Store::open(&dir.db()).unwrap();
        assert_eq!(revs(&store.load("doc").await.unwrap().unwrap()), vec![1]);
        store.close();
    }
}
