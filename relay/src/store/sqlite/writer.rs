//! The writer thread: it owns the connection, serves loads in order, and commits every
//! batch waiting, from every document, in one transaction.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::sync::mpsc::Receiver;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::read::{conflicts_of, load, read_u64};
use crate::store::group::{Job, Pending, answer, misfit, refused_before_writing};
use crate::store::rows::Prepared;
use crate::store::{Loaded, MAX_GROUP, StoreError};

/// The writer thread's state.
pub(in crate::store) struct Writer {
    pub(in crate::store) conn: Connection,
    pub(in crate::store) fail_next: Arc<AtomicU32>,
    /// Documents whose last load failed: never written until they load again.
    pub(in crate::store) unloadable: HashSet<String>,
}

impl Writer {
    pub(in crate::store) fn run(mut self, rx: &Receiver<Job>) {
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

    /// Serves requests in order: consecutive commits share one transaction; a read (a load,
    /// conflict records) first commits what was queued before it.
    pub(in crate::store) fn serve(&mut self, requests: Vec<Job>) -> ControlFlow<()> {
        let mut group = Vec::new();
        for request in requests {
            match request {
                Job::Commit { batch, reply } => group.push(Pending { batch, reply }),
                Job::Load { doc, reply } => {
                    self.commit_group(std::mem::take(&mut group));
                    let result = self.load(&doc);
                    // The caller may have stopped waiting; that is fine.
                    let _ = reply.send(result);
                }
                Job::Conflicts { query, reply } => {
                    self.commit_group(std::mem::take(&mut group));
                    // The caller logs a failure: it knows what the records were for.
                    let _ = reply.send(conflicts_of(&self.conn, &query));
                }
                Job::Close => {
                    self.commit_group(group);
                    return ControlFlow::Break(());
                }
            }
        }
        self.commit_group(group);
        ControlFlow::Continue(())
    }

    pub(in crate::store) fn load(&mut self, doc: &str) -> Result<Option<Loaded>, StoreError> {
        let result = load(&mut self.conn, doc);
        crate::store::note_load(&mut self.unloadable, doc, &result);
        result
    }

    /// Writes a group of batches in one transaction and answers every caller.
    pub(in crate::store) fn commit_group(&mut self, group: Vec<Pending>) {
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
        if result.is_err()
            && !self.conn.is_autocommit()
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::error!(error = %e, "rolling back a failed group commit failed");
        }
        answer(group, refused, result);
    }
}

/// Writes every batch of `group` that fits, in one transaction. On a SQLite failure returns
/// the index of the batch that hit it (`None` for the transaction itself) and the error.
pub(in crate::store) fn write_group(
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
        let refusal = match refused_before_writing(fail_next, unloadable, batch) {
            Some(refusal) => Some(refusal),
            None => write_batch(&tx, batch).map_err(|e| (Some(index), e.into()))?,
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
pub(in crate::store) fn write_batch(
    tx: &Transaction<'_>,
    batch: &Prepared,
) -> Result<Option<StoreError>, rusqlite::Error> {
    let doc = batch.doc.as_str();
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
                Err(e) => {
                    return Ok(Some(StoreError::Corrupt {
                        doc: doc.to_owned(),
                        detail: format!("stored revision: {e}"),
                    }));
                }
            },
        }
    }
    if let Some(misfit) = misfit(batch, head) {
        return Ok(Some(misfit));
    }

    let mut insert = tx.prepare_cached(
        "INSERT INTO changes (doc, rev, client, seq, author, time, ops, conflicts, group_rev)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
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
            row.conflicts,
            row.group
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
