//! Reading a document back: its snapshot, the changes after it and its client records, each
//! checked, so that damage is reported instead of served.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params};
use sync_core::authority::ClientRecord;
use sync_core::protocol::{ClientId, Commit, Conflict, Revision};
use sync_core::{Map, Operation, Value};

use super::writer::to_sql;
use super::{Loaded, StoreError};

pub(super) fn read_u64(value: SqlValue) -> Result<u64, String> {
    match value {
        SqlValue::Integer(i) => u64::try_from(i).map_err(|_| format!("negative number {i}")),
        other => Err(format!(
            "expected an integer, found {:?}",
            other.data_type()
        )),
    }
}

pub(super) fn read_text(value: SqlValue) -> Result<String, String> {
    match value {
        SqlValue::Text(text) => Ok(text),
        other => Err(format!("expected text, found {:?}", other.data_type())),
    }
}

/// Reads everything stored for `doc`, checking it, in one read transaction.
pub(super) fn load(conn: &mut Connection, doc: &str) -> Result<Option<Loaded>, StoreError> {
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
pub(super) fn read_commit(columns: [SqlValue; 7], expected: u64) -> Result<Commit, String> {
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
