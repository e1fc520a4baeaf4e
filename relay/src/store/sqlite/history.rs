//! Reading a document's history from the log: ranges of changes, and the document as it was at
//! a revision, for what a room no longer keeps in memory.
//!
//! These reads only look at changes that were committed long before (older than what the room
//! retains), so they need not be ordered after the writer's queue. Each runs on a read-only
//! connection of its own in a blocking task, never on the writer thread: replaying a long log
//! must not hold up every document's commits.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags, params};
use sync_core::Value;
use sync_core::protocol::{Commit, Revision};

use super::read::{change_columns, read_commit, read_text, read_u64};
use super::{BUSY_TIMEOUT, Sqlite};
use crate::store::StoreError;
use crate::store::rows::{replay, replay_start, replayed_to, to_sql, whole_range};

impl Sqlite {
    /// The changes of `doc` from revision `from` on, up to `to`, in order: at most `limit`
    /// of them, and no more once their operations pass `max_bytes` of JSON (at least one).
    /// Every change in the range must be there: a gap or a row that does not decode is
    /// [`StoreError::Corrupt`].
    pub(in crate::store) async fn changes(
        &self,
        doc: &str,
        from: Revision,
        to: Revision,
        (limit, max_bytes): (usize, usize),
    ) -> Result<Vec<Commit>, StoreError> {
        let path = self.path.clone();
        let doc = doc.to_owned();
        tokio::task::spawn_blocking(move || {
            changes(&reader(&path)?, &doc, (from, to), (limit, max_bytes))
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    /// The document `doc` as it was at revision `rev`: the stored snapshot when it is at or
    /// before `rev`, else the empty document of revision 0, with the changes up to `rev`
    /// replayed on it.
    pub(in crate::store) async fn document_at(
        &self,
        doc: &str,
        rev: Revision,
    ) -> Result<Value, StoreError> {
        let path = self.path.clone();
        let doc = doc.to_owned();
        tokio::task::spawn_blocking(move || document_at(&reader(&path)?, &doc, rev))
            .await
            .map_err(|_| StoreError::Closed)?
    }
}

/// A read-only connection to the database.
fn reader(path: &std::path::Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Calls `each` with every change of `doc` in `from..=to`, in order, up to `limit` and until
/// their operations pass `max_bytes` of JSON, checking that none is missing. Returns the last
/// revision seen, and whether the bytes ended the walk.
fn each_change(
    conn: &Connection,
    doc: &str,
    (from, to, limit, max_bytes): (Revision, Revision, usize, usize),
    mut each: impl FnMut(Commit) -> Result<(), StoreError>,
) -> Result<(Option<Revision>, bool), StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        doc: doc.to_owned(),
        detail,
    };
    if limit == 0 || to < from {
        return Ok((None, false));
    }
    let bound = |rev: Revision| to_sql(rev.0).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT rev, client, seq, author, time, ops, conflicts, group_rev FROM changes
         WHERE doc = ?1 AND rev >= ?2 AND rev <= ?3 ORDER BY rev LIMIT ?4",
    )?;
    let limit_sql = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = stmt.query(params![doc, bound(from), bound(to), limit_sql])?;
    let mut expected = from.0;
    let mut last = None;
    let mut bytes = 0usize;
    while let Some(row) = rows.next()? {
        if last.is_some() && bytes > max_bytes {
            return Ok((last, true));
        }
        let columns = change_columns(row)?;
        if let SqlValue::Text(ops) = &columns[5] {
            bytes = bytes.saturating_add(ops.len());
        }
        let commit = read_commit(columns, expected).map_err(&corrupt)?;
        expected = commit.rev.0.saturating_add(1);
        last = Some(commit.rev);
        each(commit)?;
    }
    Ok((last, false))
}

fn changes(
    conn: &Connection,
    doc: &str,
    (from, to): (Revision, Revision),
    (limit, max_bytes): (usize, usize),
) -> Result<Vec<Commit>, StoreError> {
    let mut found = Vec::new();
    let (last, cut) = each_change(conn, doc, (from, to, limit, max_bytes), |commit| {
        found.push(commit);
        Ok(())
    })?;
    whole_range(doc, (from, to), limit, (last, cut))?;
    Ok(found)
}

fn document_at(conn: &Connection, doc: &str, rev: Revision) -> Result<Value, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        doc: doc.to_owned(),
        detail,
    };
    let snapshot: Option<(SqlValue, SqlValue)> = {
        let mut stmt = conn.prepare_cached("SELECT rev, body FROM snapshots WHERE doc = ?1")?;
        let mut rows = stmt.query([doc])?;
        match rows.next()? {
            Some(row) => Some((row.get(0)?, row.get(1)?)),
            None => None,
        }
    };
    let snapshot = match snapshot {
        None => None,
        Some((at, body)) => {
            let at = read_u64(at).map_err(|e| corrupt(format!("snapshot revision: {e}")))?;
            Some((at, read_text(body)))
        }
    };
    let (from, mut value) = replay_start(doc, rev, snapshot)?;
    if from == rev {
        return Ok(value);
    }
    let (last, _) = each_change(
        conn,
        doc,
        (from.next(), rev, usize::MAX, usize::MAX),
        |commit| replay(doc, &mut value, &commit),
    )?;
    replayed_to(doc, (from, last), rev)?;
    Ok(value)
}
