//! Reading a document back: its snapshot, the changes after it and its client records, each
//! checked, so that damage is reported instead of served; and the conflict records one client
//! lost in a range of the log.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params};
use sync_core::authority::ClientRecord;
use sync_core::protocol::{ClientId, Commit, Conflict, Revision};

use crate::store::rows::{LoadStart, RawChange, decode, lost_by, to_sql};
use crate::store::{ConflictQuery, Loaded, StoreError};

/// The changes of a document (`?1`) in a range of revisions (`?2 < rev <= ?3`) that recorded a
/// conflict mentioning a client (`?4`, its id as JSON text), latest first. Through the partial
/// index, named because SQLite would rather scan the table's own key, which covers the columns
/// but visits every change: so only the changes that recorded conflicts are visited. A change
/// that does not mention the client's id cannot hold a record it lost.
pub(in crate::store) const CONFLICTS_OF: &str = "SELECT rev, conflicts
     FROM changes INDEXED BY changes_with_conflicts
     WHERE doc = ?1 AND rev > ?2 AND rev <= ?3 AND conflicts <> '[]' AND instr(conflicts, ?4) > 0
     ORDER BY rev DESC";

pub(in crate::store) fn read_u64(value: SqlValue) -> Result<u64, String> {
    match value {
        SqlValue::Integer(i) => u64::try_from(i).map_err(|_| format!("negative number {i}")),
        other => Err(format!(
            "expected an integer, found {:?}",
            other.data_type()
        )),
    }
}

pub(in crate::store) fn read_text(value: SqlValue) -> Result<String, String> {
    match value {
        SqlValue::Text(text) => Ok(text),
        other => Err(format!("expected text, found {:?}", other.data_type())),
    }
}

/// Reads everything stored for `doc`, checking it, in one read transaction.
pub(in crate::store) fn load(
    conn: &mut Connection,
    doc: &str,
) -> Result<Option<Loaded>, StoreError> {
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
            Some((rev, read_text(body)))
        }
    };
    let start = LoadStart::new(doc, snapshot)?;

    let mut changes = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT rev, client, seq, author, time, ops, conflicts, group_rev FROM changes
             WHERE doc = ?1 AND rev > ?2 ORDER BY rev",
        )?;
        let mut rows = stmt.query(params![doc, start.after])?;
        let mut expected = start.first_expected();
        while let Some(row) = rows.next()? {
            let columns = change_columns(row)?;
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
    Ok(start.loaded(changes, clients))
}

/// The columns of a row of `changes` selected as `rev, client, seq, author, time, ops,
/// conflicts, group_rev`, for [`read_commit`].
pub(in crate::store) fn change_columns(row: &rusqlite::Row<'_>) -> rusqlite::Result<[SqlValue; 8]> {
    Ok([
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ])
}

/// Decodes one row of `changes`, which must have revision `expected`.
pub(in crate::store) fn read_commit(
    columns: [SqlValue; 8],
    expected: u64,
) -> Result<Commit, String> {
    let [rev, client, seq, author, time, ops, conflicts, group] = columns;
    let rev = read_u64(rev).map_err(|e| format!("a change's revision: {e}"))?;
    let field = |name: &str, e: String| format!("change r{rev}: {name}: {e}");
    let raw = RawChange {
        rev,
        client: read_text(client).map_err(|e| field("client", e))?,
        seq: read_u64(seq).map_err(|e| field("seq", e))?,
        author: read_text(author).map_err(|e| field("author", e))?,
        time: read_u64(time).map_err(|e| field("time", e))?,
        ops: read_text(ops).map_err(|e| field("ops", e))?,
        conflicts: read_text(conflicts).map_err(|e| field("conflicts", e))?,
        group: match group {
            SqlValue::Null => None,
            group => Some(read_u64(group).map_err(|e| field("group", e))?),
        },
    };
    decode(raw, expected)
}

/// The records `query` names: read latest first until the limit, returned oldest first.
pub(in crate::store) fn conflicts_of(
    conn: &Connection,
    query: &ConflictQuery,
) -> Result<Vec<Conflict>, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        doc: query.doc.clone(),
        detail,
    };
    let mut found = Vec::new();
    if query.names_nothing() {
        return Ok(found);
    }
    // Revisions past what SQLite holds name changes that cannot be stored: none.
    let bound = |rev: Revision| to_sql(rev.0).unwrap_or(i64::MAX);
    let needle = query.needle();
    let mut stmt = conn.prepare_cached(CONFLICTS_OF)?;
    let mut rows = stmt.query(params![
        query.doc,
        bound(query.after),
        bound(query.up_to),
        needle
    ])?;
    while let Some(row) = rows.next()? {
        let (rev, conflicts): (SqlValue, SqlValue) = (row.get(0)?, row.get(1)?);
        let rev = read_u64(rev).map_err(|e| corrupt(format!("a change's revision: {e}")))?;
        let conflicts =
            read_text(conflicts).map_err(|e| corrupt(format!("change r{rev}: conflicts: {e}")))?;
        if lost_by((rev, &conflicts), &query.loser, &mut found, query.limit).map_err(corrupt)? {
            found.reverse();
            return Ok(found);
        }
    }
    found.reverse();
    Ok(found)
}
