//! The writer thread: it owns the connection, serves loads in order, and commits every
//! batch waiting, from every document, in one transaction.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::Receiver;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use sync_core::protocol::{Commit, Conflict};
use sync_core::{Operation, Value};
use tokio::sync::oneshot;

use super::read::{conflicts_of, load, read_u64};
use super::{Batch, Checked, Loaded, MAX_GROUP, Request, StoreError};

/// A batch checked and encoded for SQLite, ready for the writer thread.
pub(super) struct Prepared {
    pub(super) doc: String,
    /// The first and last revisions of the changes, if there are any.
    pub(super) revs: Option<(u64, u64)>,
    pub(super) rows: Vec<ChangeRow>,
    pub(super) snapshot: Option<SnapshotRow>,
}

/// One row of `changes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ChangeRow {
    pub(super) rev: i64,
    pub(super) client: String,
    pub(super) seq: i64,
    pub(super) author: String,
    pub(super) time: i64,
    pub(super) ops: String,
    pub(super) conflicts: String,
    pub(super) group: Option<i64>,
}

pub(super) struct SnapshotRow {
    pub(super) rev: u64,
    pub(super) rev_sql: i64,
    pub(super) body: String,
}

pub(super) fn to_sql(value: u64) -> Option<i64> {
    i64::try_from(value).ok()
}

/// Encodes one change as its row, refusing (with why) what would not load again exactly.
pub(super) fn encode(change: &Commit) -> Result<ChangeRow, String> {
    let rev = change.rev;
    let too_large =
        |what: &str, value: u64| format!("change {rev}: {what} {value} is too large to store");
    let rev_sql = to_sql(rev.0).ok_or_else(|| too_large("revision", rev.0))?;
    let seq = to_sql(change.seq).ok_or_else(|| too_large("seq", change.seq))?;
    let time = to_sql(change.time).ok_or_else(|| too_large("time", change.time))?;
    let group = match change.group {
        Some(group) if group >= rev => {
            return Err(format!(
                "change {rev}: its group begins at {group}, not before it"
            ));
        }
        Some(group) => Some(to_sql(group.0).ok_or_else(|| too_large("group", group.0))?),
        None => None,
    };
    let ops =
        serde_json::to_string(&change.ops).map_err(|e| format!("change {rev}: operations: {e}"))?;
    let conflicts = serde_json::to_string(&change.conflicts)
        .map_err(|e| format!("change {rev}: conflicts: {e}"))?;
    // What cannot be read back would make the document fail to load: refuse it now.
    let ops_back: Result<Vec<Operation>, _> = serde_json::from_str(&ops);
    let conflicts_back: Result<Vec<Conflict>, _> = serde_json::from_str(&conflicts);
    if ops_back.ok().as_ref() != Some(&change.ops)
        || conflicts_back.ok().as_ref() != Some(&change.conflicts)
    {
        return Err(format!(
            "change {rev} does not survive a round trip through JSON"
        ));
    }
    Ok(ChangeRow {
        rev: rev_sql,
        client: change.client.0.clone(),
        seq,
        author: change.author.clone(),
        time,
        ops,
        conflicts,
        group,
    })
}

/// Checks that a batch's changes follow each other and that its snapshot is JSON, on the
/// caller's task, so that the writer thread only writes.
pub(super) fn prepare(batch: Batch<Checked>) -> Result<Prepared, StoreError> {
    let Batch {
        doc,
        changes,
        snapshot,
    } = batch;
    let invalid = |detail: String| StoreError::Invalid {
        doc: doc.clone(),
        detail,
    };
    let mut next: Option<u64> = None;
    for change in &changes {
        let rev = change.rev().0;
        if let Some(expected) = next
            && rev != expected
        {
            return Err(StoreError::Gap {
                doc,
                expected,
                found: rev,
            });
        }
        // A checked revision fits in an i64, so this cannot overflow.
        next = rev.checked_add(1);
    }
    let revs = changes
        .first()
        .zip(changes.last())
        .map(|(first, last)| (first.rev().0, last.rev().0));
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
        rows: changes.into_iter().map(Checked::into_row).collect(),
        snapshot,
    })
}

/// A commit request waiting for its group's transaction.
pub(super) struct Pending {
    pub(super) batch: Prepared,
    pub(super) reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The writer thread's state.
pub(super) struct Writer {
    pub(super) conn: Connection,
    pub(super) fail_next: Arc<AtomicU32>,
    /// Documents whose last load failed: never written until they load again.
    pub(super) unloadable: HashSet<String>,
}

impl Writer {
    pub(super) fn run(mut self, rx: &Receiver<Request>) {
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
    pub(super) fn serve(&mut self, requests: Vec<Request>) -> ControlFlow<()> {
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
                Request::Conflicts { query, reply } => {
                    self.commit_group(std::mem::take(&mut group));
                    // The caller logs a failure: it knows what the records were for.
                    let _ = reply.send(conflicts_of(&self.conn, &query));
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

    pub(super) fn load(&mut self, doc: &str) -> Result<Option<Loaded>, StoreError> {
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
    pub(super) fn commit_group(&mut self, group: Vec<Pending>) {
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
pub(super) fn write_group(
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
pub(super) fn write_batch(
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
