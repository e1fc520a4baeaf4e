//! Durable storage: every document's change log, its latest snapshot and the clients'
//! exactly-once records, behind one interface ([`Store`]) with two implementations: an
//! embedded SQLite database ([`sqlite`], the default: a single relay needs nothing else) and
//! PostgreSQL ([`postgres`], which several relays share). Both keep the same rows, check them
//! the same way (`rows`) and answer the same; one conformance suite runs against both.
//!
//! # Durability and group commit
//! [`Store::commit`] returns only after the transaction holding its batch has committed, and
//! the relay acknowledges a change only after that. Each store has one writer that takes a
//! request, then every request already waiting (up to [`MAX_GROUP`]), and writes all the
//! batches among them, from any documents, in one transaction: one flush to disk for all of
//! them. Requests are served in the order they were queued: a [`Store::load`] (or
//! [`Store::conflicts_of`]) queued after a commit first commits the batches before it, so it
//! sees them.
//!
//! A batch that does not fit the stored log (a gap in revisions, see [`StoreError::Gap`]) or
//! that belongs to a document that failed to load is refused on its own, before anything of it
//! is written; the other batches of the group are unaffected. A failure of the database itself
//! (a full disk, an I/O error, a lost connection) fails the whole transaction, and every batch
//! of the group gets the error: the batch that hit it (or the first one) gets the original
//! error, the others [`StoreError::Failed`] with its message.
//!
//! # One change the store cannot keep is refused alone
//! [`Store::check`] encodes a change and reads it back before it joins a batch: a change that
//! would not load again exactly (a number too large for a 64-bit integer, a value that does
//! not survive a round trip through JSON) is refused with [`StoreError::Invalid`] right there,
//! so the relay can reject that change alone and keep the document serving.
//! [`Store::commit`] runs the same check on every change of a [`Batch`]; a room checks each
//! change as it applies it and commits the [`Checked`] forms, so nothing is encoded twice.
//!
//! # A document that fails to load is never overwritten
//! [`Store::load`] checks everything it reads (the snapshot parses, the changes follow each
//! other without a gap, every column holds what it should) and answers
//! [`StoreError::Corrupt`] rather than a partial document. The store then refuses every commit
//! to that document (also with [`StoreError::Corrupt`]) until it loads successfully, so its rows
//! stay as they are for a person to inspect and repair.
//!
//! # History
//! [`Store::changes`] and [`Store::document_at`] read what a room no longer keeps in memory:
//! changes committed long before, so they need not wait behind the writer's queue, and they
//! never hold it up.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use sync_core::Value;
use sync_core::authority::ClientRecord;
use sync_core::protocol::{ClientId, Commit, Conflict, Revision};
use tokio::sync::oneshot;

mod group;
pub mod postgres;
mod rows;
pub mod sqlite;
#[cfg(test)]
mod tests;

use group::Job;
pub use sqlite::SCHEMA_VERSION;

/// The most requests a writer serves in one round (their batches share one transaction).
pub const MAX_GROUP: usize = 256;

mod location;
pub use location::{Location, redact};

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
    /// PostgreSQL failed (unreachable, a refused certificate, a constraint, a timeout, ...).
    /// The message carries the error's causes, which tokio-postgres keeps apart from it.
    #[error("storage error: {}", with_causes(.0))]
    Postgres(tokio_postgres::Error),
    /// The batch's lease is no longer current: another relay took the document over, or
    /// this one let it expire. Nothing of it was written, and this relay must not write to
    /// the document again until it holds a new lease.
    #[error("document {doc:?}: the lease of epoch {epoch} is no longer this relay's")]
    Fenced {
        /// The document.
        doc: String,
        /// The epoch the batch was written under.
        epoch: u64,
    },
    /// PostgreSQL cannot be reached in time (no connection free or made within the statement
    /// timeout), or its pool is closed.
    #[error("PostgreSQL is unavailable: {0}")]
    Unavailable(String),
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
    /// A batch the store cannot store faithfully: a number too large for a 64-bit integer, operations
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
    /// A store location that is neither `sqlite:PATH` nor a `postgres://` URL.
    #[error("{0}")]
    Location(String),
    /// Creating the database's directory or the writer thread failed.
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> StoreError {
        StoreError::Postgres(error)
    }
}

/// `error` and each of its causes, joined with `: ` ("error performing TLS handshake: invalid
/// peer certificate: UnknownIssuer").
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let more = next.to_string();
        if !text.ends_with(&more) {
            text = format!("{text}: {more}");
        }
        cause = next.source();
    }
    text
}

/// What one room stores at once: new changes, as [`Commit`]s or as the [`Checked`] forms that
/// [`Store::check`] made of them, and perhaps a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch<C = Commit> {
    /// The document.
    pub doc: String,
    /// The lease it is written under, in a cluster of relays: the PostgreSQL store writes
    /// the batch only if that lease is still this relay's and current (see
    /// [`StoreError::Fenced`]). A relay alone on SQLite needs none, and the SQLite store
    /// ignores it.
    pub fence: Option<Fence>,
    /// New changes, in revision order, each the next revision after the last stored one.
    pub changes: Vec<C>,
    /// A snapshot to store (replacing the previous one): the document as JSON text at that
    /// revision, which must not be ahead of the log (after this batch's changes).
    pub snapshot: Option<(Revision, String)>,
}

/// A lease as a commit names it: the relay that holds it and its epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The relay (its node id).
    pub node: String,
    /// The lease's epoch: every takeover of a document increases it.
    pub epoch: u64,
}

/// A change that [`Store::check`] found storable, encoded as the row it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    rev: Revision,
    row: rows::ChangeRow,
}

impl Checked {
    /// The change's revision.
    pub fn rev(&self) -> Revision {
        self.rev
    }

    fn into_row(self) -> rows::ChangeRow {
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

impl ConflictQuery {
    /// Whether it can name no record at all (a limit of 0, or an empty range).
    fn names_nothing(&self) -> bool {
        self.limit == 0 || self.up_to <= self.after
    }

    /// The loser's id as a JSON string, quoted and escaped as `serde_json` wrote it into the
    /// records: a change whose conflicts do not hold it cannot hold a record the loser lost.
    fn needle(&self) -> String {
        serde_json::Value::from(self.loser.0.as_str()).to_string()
    }
}

/// A handle to the store; cheap to clone (an `Arc` inside).
///
/// Requests reach the store's writer through a bounded queue and answers come back on oneshot
/// channels, so async callers never block a runtime thread.
///
/// If a future returned by [`commit`](Store::commit) is dropped after its batch was queued, the
/// batch may still be stored; only an `Ok` answer says that it was.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    fail_next: Arc<AtomicU32>,
    refuse: RwLock<Option<Refusal>>,
}

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path`, and its directory.
    ///
    /// Refuses a database whose `PRAGMA user_version` is newer than [`SCHEMA_VERSION`] with
    /// [`StoreError::Schema`], before changing anything in it. Otherwise switches it to WAL
    /// mode, sets `synchronous=FULL`, creates the schema if missing or migrates an older one
    /// (setting the version), and starts the writer thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let fail_next = Arc::new(AtomicU32::new(0));
        let sqlite = sqlite::Sqlite::open(path, Arc::clone(&fail_next))?;
        Ok(Store::with(Backend::Sqlite(sqlite), fail_next))
    }

    /// Opens the store at `location`: [`Store::open`] for SQLite; for PostgreSQL, connects,
    /// migrates the schema (refusing a newer one with [`StoreError::Schema`]) and starts the
    /// writer task on the current runtime.
    pub async fn connect(
        location: &Location,
        options: &postgres::Options,
    ) -> Result<Store, StoreError> {
        match location {
            Location::Sqlite(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || Store::open(&path))
                    .await
                    .map_err(|_| StoreError::Closed)?
            }
            Location::Postgres(url) => {
                let fail_next = Arc::new(AtomicU32::new(0));
                let postgres =
                    postgres::Postgres::open(url, options, Arc::clone(&fail_next)).await?;
                Ok(Store::with(Backend::Postgres(postgres), fail_next))
            }
        }
    }

    fn with(backend: Backend, fail_next: Arc<AtomicU32>) -> Store {
        Store {
            inner: Arc::new(Inner {
                backend,
                fail_next,
                refuse: RwLock::new(None),
            }),
        }
    }

    /// The PostgreSQL pool, for a store that has one.
    pub(crate) fn postgres(&self) -> Option<&postgres::Postgres> {
        match &self.inner.backend {
            Backend::Postgres(postgres) => Some(postgres),
            Backend::Sqlite(_) => None,
        }
    }

    /// Everything stored for `doc`, or `None` if the store has never seen it.
    ///
    /// Fails with [`StoreError::Corrupt`] if anything stored for it cannot be read back; the
    /// document is then not written until a later load succeeds.
    pub async fn load(&self, doc: &str) -> Result<Option<Loaded>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Load {
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
    /// memory. Only the changes that recorded conflicts are visited (a partial index), only
    /// those that mention the loser's id are decoded, and the read stops at the limit, so
    /// neither a long log nor a long absence makes it large. A row that mentions the loser but
    /// does not decode is reported as [`StoreError::Corrupt`].
    pub async fn conflicts_of(&self, query: ConflictQuery) -> Result<Vec<Conflict>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Conflicts { query, reply }).await?;
        answer.await.unwrap_or(Err(StoreError::Closed))
    }

    /// The changes of `doc` from revision `from` on, up to `to`, in order: at most `limit`
    /// of them, and no more once their operations pass `max_bytes` of JSON (at least one).
    /// Every change in the range must be there: a gap or a row that does not decode is
    /// [`StoreError::Corrupt`].
    pub async fn changes(
        &self,
        doc: &str,
        from: Revision,
        to: Revision,
        (limit, max_bytes): (usize, usize),
    ) -> Result<Vec<Commit>, StoreError> {
        match &self.inner.backend {
            Backend::Sqlite(sqlite) => sqlite.changes(doc, from, to, (limit, max_bytes)).await,
            Backend::Postgres(postgres) => {
                postgres.changes(doc, from, to, (limit, max_bytes)).await
            }
        }
    }

    /// The document `doc` as it was at revision `rev`: the stored snapshot when it is at or
    /// before `rev`, else the empty document of revision 0, with the changes up to `rev`
    /// replayed on it.
    pub async fn document_at(&self, doc: &str, rev: Revision) -> Result<Value, StoreError> {
        match &self.inner.backend {
            Backend::Sqlite(sqlite) => sqlite.document_at(doc, rev).await,
            Backend::Postgres(postgres) => postgres.document_at(doc, rev).await,
        }
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
        let row = rows::encode(change).map_err(invalid)?;
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
            fence,
            changes,
            snapshot,
        } = batch;
        let changes = changes
            .iter()
            .map(|change| self.check(&doc, change))
            .collect::<Result<_, _>>()?;
        self.commit_checked(Batch {
            doc,
            fence,
            changes,
            snapshot,
        })
        .await
    }

    /// [`Store::commit`] for changes already checked.
    pub async fn commit_checked(&self, batch: Batch<Checked>) -> Result<(), StoreError> {
        let batch = rows::prepare(batch)?;
        let (reply, answer) = oneshot::channel();
        self.send(Job::Commit { batch, reply }).await?;
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

    /// Stops the writer after it has finished every request queued before this call, and
    /// waits for it. Later requests, from any clone, get [`StoreError::Closed`]. Calling it
    /// again does nothing.
    pub async fn close(&self) {
        match &self.inner.backend {
            Backend::Sqlite(_) => {
                let store = self.clone();
                let closing = tokio::task::spawn_blocking(move || {
                    if let Backend::Sqlite(sqlite) = &store.inner.backend {
                        sqlite.close();
                    }
                });
                if closing.await.is_err() {
                    tracing::error!("closing the store failed");
                }
            }
            Backend::Postgres(postgres) => postgres.close().await,
        }
    }

    async fn send(&self, request: Job) -> Result<(), StoreError> {
        match &self.inner.backend {
            Backend::Sqlite(sqlite) => sqlite.send(request).await,
            Backend::Postgres(postgres) => postgres.send(request).await,
        }
    }
}

/// Keeps `unloadable` (the documents a writer refuses to write) up to date with a load's
/// result, and logs a failure.
fn note_load(
    unloadable: &mut HashSet<String>,
    doc: &str,
    result: &Result<Option<Loaded>, StoreError>,
) {
    match result {
        Err(StoreError::Corrupt { detail, .. }) => {
            tracing::error!(doc, %detail, "a stored document is corrupt; it will not be written");
            unloadable.insert(doc.to_owned());
        }
        Err(e) => tracing::error!(doc, error = %e, "loading a document failed"),
        Ok(_) => {
            unloadable.remove(doc);
        }
    }
}
