//! The PostgreSQL store: a pool of connections, and one writer task that serves the requests
//! in order and commits every batch waiting, from every document, in one transaction.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use sync_core::Value;
use sync_core::authority::ClientRecord;
use sync_core::protocol::{ClientId, Commit, Conflict, Revision};
use tokio::sync::mpsc;
use tokio_postgres::Row;

use super::Server;

use super::migrate;
use crate::store::group::{Job, Pending, answer};
use crate::store::rows::{
    LoadStart, RawChange, decode, lost_by, replay, replay_start, replayed_to, to_sql, whole_range,
};
use crate::store::{ConflictQuery, Loaded, MAX_GROUP, StoreError, note_load};

/// How many requests may wait for the writer task.
const QUEUE_CAPACITY: usize = 1024;

/// The most bytes of changes and snapshots a group commit sends (one batch may be larger:
/// it goes alone).
const MAX_GROUP_BYTES: usize = 64 << 20;

/// How many changes a replay reads before it applies them.
const REPLAY_PAGE: usize = 1000;

/// How many rows a read of a range fetches at a time, so that a read cut short by its size
/// (or a replay of a long log) never holds the whole range.
const FETCH_ROWS: i32 = 128;

/// Connections kept for the writer's commits, the leases and the tokens: reads, however many,
/// never take these.
const CONTROL_CONNECTIONS: usize = 4;

/// How a relay uses its PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Connections for reads: loads, conflict records, history (which may take at most half of
    /// them at once).
    pub pool_size: usize,
    /// The longest any statement may run, on every session.
    pub statement_timeout: Duration,
    /// The longest a transaction may sit idle, or a lock be waited for, on every session.
    pub lock_timeout: Duration,
    /// How long a connection is waited for (made, or free in its pool).
    pub connect_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            pool_size: 16,
            statement_timeout: Duration::from_secs(9),
            lock_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The PostgreSQL store: its two pools and the way to the writer task.
pub(crate) struct Postgres {
    /// Commits, leases, tokens: a few connections reads never take.
    pool: Pool,
    /// Loads and every other read.
    reads: Pool,
    /// History reads at once: at most half the reads' connections, so a flood of them never
    /// holds up loads.
    history: Arc<tokio::sync::Semaphore>,
    tx: mpsc::Sender<Job>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// What a pool could not give: its backend's error, or that it timed out or was closed.
pub(crate) fn pool_error(error: PoolError) -> StoreError {
    match error {
        PoolError::Backend(e) => StoreError::Postgres(e),
        other => StoreError::Unavailable(other.to_string()),
    }
}

impl Postgres {
    /// Connects to `url`, brings its schema up to date and starts the writer task.
    pub(crate) async fn open(
        url: &str,
        options: &Options,
        fail_next: Arc<AtomicU32>,
    ) -> Result<Postgres, StoreError> {
        let server = Server::open(url)?;
        let pool = pool(&server, options, CONTROL_CONNECTIONS)?;
        {
            let mut client = pool.get().await.map_err(pool_error)?;
            migrate(&mut client).await?;
        }
        let reads = self::pool(&server, options, options.pool_size.max(2))?;
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let writer = Writer {
            pool: pool.clone(),
            reads: reads.clone(),
            patience: options.statement_timeout + options.lock_timeout,
            fail_next,
            unloadable: HashSet::new(),
        };
        let handle = tokio::spawn(writer.run(rx));
        tracing::info!("store opened on PostgreSQL");
        Ok(Postgres {
            pool,
            history: Arc::new(tokio::sync::Semaphore::new((options.pool_size / 2).max(1))),
            reads,
            tx,
            writer: Mutex::new(Some(handle)),
        })
    }

    /// The pool, for the relay's other tables (tokens, the signing secret, leases).
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(in crate::store) async fn send(&self, request: Job) -> Result<(), StoreError> {
        self.tx.send(request).await.map_err(|_| StoreError::Closed)
    }

    /// Stops the writer task after it has finished every request queued before, waits for it,
    /// and closes the pool.
    pub(crate) async fn close(&self) {
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(handle) = handle else {
            return;
        };
        // Fails only if the task is already gone.
        let _ = self.tx.send(Job::Close).await;
        if handle.await.is_err() {
            tracing::error!("the store's writer task panicked");
        }
        self.pool.close();
        self.reads.close();
        tracing::info!("store closed");
    }

    /// See [`Store::changes`](crate::store::Store::changes).
    pub(crate) async fn changes(
        &self,
        doc: &str,
        from: Revision,
        to: Revision,
        (limit, max_bytes): (usize, usize),
    ) -> Result<Vec<Commit>, StoreError> {
        let _turn = self
            .history
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        let mut found = Vec::new();
        let (last, cut) = self
            .each_change(doc, (from, to, limit, max_bytes), |commit| {
                found.push(commit);
                Ok(())
            })
            .await?;
        whole_range(doc, (from, to), limit, (last, cut))?;
        Ok(found)
    }

    /// See [`Store::document_at`](crate::store::Store::document_at).
    pub(crate) async fn document_at(&self, doc: &str, rev: Revision) -> Result<Value, StoreError> {
        let corrupt = |detail: String| StoreError::Corrupt {
            doc: doc.to_owned(),
            detail,
        };
        let _turn = self
            .history
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        let snapshot = {
            let client = self.reads.get().await.map_err(pool_error)?;
            client
                .query_opt("SELECT rev, body FROM snapshots WHERE doc = $1", &[&doc])
                .await?
        };
        let snapshot = match snapshot {
            None => None,
            Some(row) => {
                let at =
                    unsigned(&row, 0).map_err(|e| corrupt(format!("snapshot revision: {e}")))?;
                Some((at, row.try_get::<_, String>(1).map_err(|e| e.to_string())))
            }
        };
        // Parsing a snapshot and replaying changes is work for a blocking task, not for a
        // runtime thread: it is done a page of changes at a time.
        let start_doc = doc.to_owned();
        let (from, mut value) =
            tokio::task::spawn_blocking(move || replay_start(&start_doc, rev, snapshot))
                .await
                .map_err(|_| StoreError::Closed)??;
        let mut last = None;
        let mut next = from.next();
        while next <= rev {
            let mut page = Vec::new();
            let (seen, _) = self
                .each_change(doc, (next, rev, REPLAY_PAGE, usize::MAX), |commit| {
                    page.push(commit);
                    Ok(())
                })
                .await?;
            let Some(seen) = seen else { break };
            let page_doc = doc.to_owned();
            value = tokio::task::spawn_blocking(move || {
                let mut value = value;
                for commit in &page {
                    replay(&page_doc, &mut value, commit)?;
                }
                Ok::<_, StoreError>(value)
            })
            .await
            .map_err(|_| StoreError::Closed)??;
            last = Some(seen);
            next = seen.next();
        }
        if from != rev {
            replayed_to(doc, (from, last), rev)?;
        }
        Ok(value)
    }

    /// Calls `each` with every change of `doc` in `from..=to`, in order, up to `limit` and
    /// until their operations pass `max_bytes` of JSON, checking that none is missing. Returns
    /// the last revision seen, and whether the bytes ended the walk. Rows are fetched a few at
    /// a time.
    async fn each_change(
        &self,
        doc: &str,
        (from, to, limit, max_bytes): (Revision, Revision, usize, usize),
        mut each: impl FnMut(Commit) -> Result<(), StoreError>,
    ) -> Result<(Option<Revision>, bool), StoreError> {
        if limit == 0 || to < from {
            return Ok((None, false));
        }
        let corrupt = |detail: String| StoreError::Corrupt {
            doc: doc.to_owned(),
            detail,
        };
        let bound = |rev: Revision| to_sql(rev.0).unwrap_or(i64::MAX);
        let limit_sql = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut client = self.reads.get().await.map_err(pool_error)?;
        let tx = client.build_transaction().read_only(true).start().await?;
        let statement = tx
            .prepare_cached(
                "SELECT rev, client, seq, author, time, ops, conflicts, group_rev FROM changes
                 WHERE doc = $1 AND rev >= $2 AND rev <= $3 ORDER BY rev LIMIT $4",
            )
            .await?;
        let portal = tx
            .bind(&statement, &[&doc, &bound(from), &bound(to), &limit_sql])
            .await?;
        let mut expected = from.0;
        let mut last = None;
        let mut bytes = 0usize;
        loop {
            let rows = tx.query_portal(&portal, FETCH_ROWS).await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                if last.is_some() && bytes > max_bytes {
                    return Ok((last, true));
                }
                let raw = raw_change(&row).map_err(&corrupt)?;
                bytes = bytes.saturating_add(raw.ops.len());
                let commit = decode(raw, expected).map_err(&corrupt)?;
                expected = commit.rev.0.saturating_add(1);
                last = Some(commit.rev);
                each(commit)?;
            }
        }
        Ok((last, false))
    }
}

/// A pool of `size` connections to `server`, every session with the timeouts of `options`, and
/// with `synchronous_commit` on whatever the server's default: a commit the relay acknowledges
/// is on disk.
pub(crate) fn pool(server: &Server, options: &Options, size: usize) -> Result<Pool, StoreError> {
    let mut config = server.config();
    let statement = options.statement_timeout.as_millis();
    let lock = options.lock_timeout.as_millis();
    config.options(format!(
        "-c statement_timeout={statement} -c idle_in_transaction_session_timeout={lock} \
         -c lock_timeout={lock} -c synchronous_commit=on"
    ));
    config.application_name("concord-relay");
    config.connect_timeout(options.connect_timeout);
    let manager = Manager::from_config(
        config,
        server.tls(),
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(options.connect_timeout))
        .create_timeout(Some(options.connect_timeout))
        .recycle_timeout(Some(options.connect_timeout))
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// Column `index` of `row`, a `BIGINT` that must not be negative.
fn unsigned(row: &Row, index: usize) -> Result<u64, String> {
    let value: i64 = row.try_get(index).map_err(|e| e.to_string())?;
    u64::try_from(value).map_err(|_| format!("negative number {value}"))
}

/// A row selected as `rev, client, seq, author, time, ops, conflicts, group_rev`.
fn raw_change(row: &Row) -> Result<RawChange, String> {
    let rev = unsigned(row, 0).map_err(|e| format!("a change's revision: {e}"))?;
    let field = |name: &str, e: String| format!("change r{rev}: {name}: {e}");
    let text = |index: usize, name: &str| -> Result<String, String> {
        row.try_get(index).map_err(|e| field(name, e.to_string()))
    };
    let group: Option<i64> = row.try_get(7).map_err(|e| field("group", e.to_string()))?;
    Ok(RawChange {
        rev,
        client: text(1, "client")?,
        seq: unsigned(row, 2).map_err(|e| field("seq", e))?,
        author: text(3, "author")?,
        time: unsigned(row, 4).map_err(|e| field("time", e))?,
        ops: text(5, "ops")?,
        conflicts: text(6, "conflicts")?,
        group: group
            .map(|g| u64::try_from(g).map_err(|_| field("group", format!("negative number {g}"))))
            .transpose()?,
    })
}

/// The writer task's state.
struct Writer {
    /// For commits.
    pool: Pool,
    /// For loads and conflict records.
    reads: Pool,
    /// The longest a round of work may take: PostgreSQL's own timeouts cannot end a round
    /// while the server itself does not answer (frozen, or cut off without the connection
    /// noticing).
    patience: Duration,
    fail_next: Arc<AtomicU32>,
    /// Documents whose last load failed: never written until they load again.
    unloadable: HashSet<String>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            let mut requests = vec![first];
            while requests.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(request) => requests.push(request),
                    Err(_) => break,
                }
            }
            if self.serve(requests).await.is_break() {
                break;
            }
        }
    }

    /// Serves requests in order: consecutive commits share one transaction; a read (a load,
    /// conflict records) first commits what was queued before it.
    async fn serve(&mut self, requests: Vec<Job>) -> ControlFlow<()> {
        let mut group = Vec::new();
        let mut docs = HashSet::new();
        let mut bytes = 0;
        for request in requests {
            match request {
                Job::Commit { batch, reply } => {
                    // One batch per document in a group (see `write`), and a group far below
                    // PostgreSQL's limit on a message.
                    let size = batch.size();
                    if docs.contains(&batch.doc)
                        || (!group.is_empty() && bytes + size > MAX_GROUP_BYTES)
                    {
                        self.commit_group(std::mem::take(&mut group)).await;
                        docs.clear();
                        bytes = 0;
                    }
                    docs.insert(batch.doc.clone());
                    bytes += size;
                    group.push(Pending { batch, reply });
                }
                Job::Load { doc, reply } => {
                    self.commit_group(std::mem::take(&mut group)).await;
                    docs.clear();
                    bytes = 0;
                    let result = tokio::time::timeout(self.patience, load(&self.reads, &doc))
                        .await
                        .unwrap_or_else(|_| {
                            Err(StoreError::Unavailable("no answer in time".to_owned()))
                        });
                    note_load(&mut self.unloadable, &doc, &result);
                    // The caller may have stopped waiting; that is fine.
                    let _ = reply.send(result);
                }
                Job::Conflicts { query, reply } => {
                    self.commit_group(std::mem::take(&mut group)).await;
                    docs.clear();
                    bytes = 0;
                    let read =
                        tokio::time::timeout(self.patience, conflicts_of(&self.reads, &query))
                            .await
                            .unwrap_or_else(|_| {
                                Err(StoreError::Unavailable("no answer in time".to_owned()))
                            });
                    let _ = reply.send(read);
                }
                Job::Close => {
                    self.commit_group(group).await;
                    return ControlFlow::Break(());
                }
            }
        }
        self.commit_group(group).await;
        ControlFlow::Continue(())
    }

    /// Writes a group of batches in one transaction and answers every caller.
    async fn commit_group(&mut self, group: Vec<Pending>) {
        if group.is_empty() {
            return;
        }
        let mut refused = Vec::with_capacity(group.len());
        let result = self.write_group(&group, &mut refused).await;
        answer(group, refused, result);
    }

    /// Writes every batch of `group` that fits, in one transaction (rolled back when it fails,
    /// as the transaction is dropped uncommitted).
    async fn write_group(
        &self,
        group: &[Pending],
        refused: &mut Vec<Option<StoreError>>,
    ) -> Result<(), (Option<usize>, StoreError)> {
        let mut client = self.pool.get().await.map_err(|e| (None, pool_error(e)))?;
        let refusing = (self.fail_next.as_ref(), &self.unloadable);
        let written = tokio::time::timeout(self.patience, async {
            let tx = client.transaction().await.map_err(|e| (None, e.into()))?;
            super::write::write_group(&tx, refusing, group, refused).await?;
            tx.commit().await.map_err(|e| (None, e.into()))
        })
        .await;
        written.unwrap_or_else(|_| {
            // Whether it committed is unknown: nothing of it is acknowledged (its changes are
            // sent again and applied once), and the connection, in an unknown state, is
            // dropped rather than used again.
            drop(deadpool_postgres::Object::take(client));
            let waited = self.patience.as_millis();
            Err((
                None,
                StoreError::Unavailable(format!("no answer within {waited} ms")),
            ))
        })
    }
}

/// Reads everything stored for `doc` in one repeatable-read transaction, then checks and
/// decodes it in a blocking task (a log of many changes, a snapshot of many megabytes, is work
/// no runtime thread should do).
async fn load(pool: &Pool, doc: &str) -> Result<Option<Loaded>, StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let snapshot = tx
        .query_opt("SELECT rev, body FROM snapshots WHERE doc = $1", &[&doc])
        .await?;
    let snapshot_rev = snapshot
        .as_ref()
        .map(|row| unsigned(row, 0))
        .transpose()
        .map_err(|e| StoreError::Corrupt {
            doc: doc.to_owned(),
            detail: format!("snapshot revision: {e}"),
        })?;
    // Without a snapshot every change is read, so that stray revisions are noticed too.
    let after = snapshot_rev.map_or(i64::MIN, |rev| to_sql(rev).unwrap_or(i64::MAX));
    let changes = tx
        .query(
            "SELECT rev, client, seq, author, time, ops, conflicts, group_rev FROM changes
             WHERE doc = $1 AND rev > $2 ORDER BY rev",
            &[&doc, &after],
        )
        .await?;
    let clients = tx
        .query(
            "SELECT client, seq, rev FROM clients WHERE doc = $1 ORDER BY client COLLATE \"C\"",
            &[&doc],
        )
        .await?;
    tx.commit().await?;
    let doc = doc.to_owned();
    tokio::task::spawn_blocking(move || {
        let snapshot = snapshot
            .zip(snapshot_rev)
            .map(|(row, rev)| (rev, row.try_get::<_, String>(1).map_err(|e| e.to_string())));
        decode_load(&doc, snapshot, &changes, &clients)
    })
    .await
    .map_err(|_| StoreError::Closed)?
}

/// Checks and decodes what [`load`] read.
fn decode_load(
    doc: &str,
    snapshot: Option<(u64, Result<String, String>)>,
    change_rows: &[Row],
    client_rows: &[Row],
) -> Result<Option<Loaded>, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        doc: doc.to_owned(),
        detail,
    };
    let start = LoadStart::new(doc, snapshot)?;
    let mut changes = Vec::with_capacity(change_rows.len());
    let mut expected = start.first_expected();
    for row in change_rows {
        let commit = decode(raw_change(row).map_err(&corrupt)?, expected).map_err(&corrupt)?;
        expected = commit.rev.0.saturating_add(1);
        changes.push(commit);
    }
    let mut clients = Vec::with_capacity(client_rows.len());
    for row in client_rows {
        let client: String = row
            .try_get(0)
            .map_err(|e| corrupt(format!("client record: {e}")))?;
        let seq = unsigned(row, 1)
            .map_err(|e| corrupt(format!("client record of {client:?}: seq: {e}")))?;
        let rev = unsigned(row, 2)
            .map_err(|e| corrupt(format!("client record of {client:?}: revision: {e}")))?;
        clients.push((
            ClientId(client),
            ClientRecord {
                seq,
                rev: Revision(rev),
            },
        ));
    }
    Ok(start.loaded(changes, clients))
}

/// The records `query` names: read latest first until the limit, returned oldest first.
async fn conflicts_of(pool: &Pool, query: &ConflictQuery) -> Result<Vec<Conflict>, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        doc: query.doc.clone(),
        detail,
    };
    let mut found = Vec::new();
    if query.names_nothing() {
        return Ok(found);
    }
    let bound = |rev: Revision| to_sql(rev.0).unwrap_or(i64::MAX);
    let needle = query.needle();
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.build_transaction().read_only(true).start().await?;
    // Through the partial index: only the changes that recorded conflicts are visited.
    let statement = tx
        .prepare_cached(
            "SELECT rev, conflicts FROM changes
             WHERE doc = $1 AND rev > $2 AND rev <= $3 AND conflicts <> '[]'
               AND strpos(conflicts, $4) > 0
             ORDER BY rev DESC",
        )
        .await?;
    let portal = tx
        .bind(
            &statement,
            &[
                &query.doc,
                &bound(query.after),
                &bound(query.up_to),
                &needle,
            ],
        )
        .await?;
    loop {
        let rows = tx.query_portal(&portal, FETCH_ROWS).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let rev =
                unsigned(&row, 0).map_err(|e| corrupt(format!("a change's revision: {e}")))?;
            let conflicts: String = row
                .try_get(1)
                .map_err(|e| corrupt(format!("change r{rev}: conflicts: {e}")))?;
            if lost_by((rev, &conflicts), &query.loser, &mut found, query.limit).map_err(corrupt)? {
                found.reverse();
                return Ok(found);
            }
        }
    }
    found.reverse();
    Ok(found)
}
