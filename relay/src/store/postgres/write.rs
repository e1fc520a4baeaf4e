//! Writing a group of batches in one transaction, in a few statements whatever the group's
//! size: one that locks the leases of the fenced batches, one that reads every document's
//! stored head (both sent at once), then one insert of every change, one upsert of every
//! client record and one of every snapshot (also sent at once). Each batch is still checked on
//! its own (its fence, then that it continues the stored log) and refused alone; only a
//! failure of the database fails the group. A group holds at most one batch per document
//! (the writer starts a new group rather than put a second one in).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::AtomicU32;

use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;

use crate::store::StoreError;
use crate::store::group::{Pending, misfit, refused_before_writing};
use crate::store::rows::{Prepared, to_sql};

/// Checks every batch of `group` and writes those that fit, pushing one entry per batch onto
/// `refused` (`Some` for a batch refused on its own). On a database failure returns the error
/// (no single batch is to blame: the statements hold them all).
pub(super) async fn write_group(
    tx: &Transaction<'_>,
    (fail_next, unloadable): (&AtomicU32, &HashSet<String>),
    group: &[Pending],
    refused: &mut Vec<Option<StoreError>>,
) -> Result<(), (Option<usize>, StoreError)> {
    let failed = |e: tokio_postgres::Error| (None, StoreError::from(e));
    refused.extend(
        group
            .iter()
            .map(|p| refused_before_writing(fail_next, unloadable, &p.batch)),
    );
    let open: Vec<&Prepared> = group
        .iter()
        .zip(refused.iter())
        .filter(|(_, refusal)| refusal.is_none())
        .map(|(p, _)| &p.batch)
        .collect();
    if open.is_empty() {
        return Ok(());
    }
    let (current, heads) = read_fences_and_heads(tx, &open).await.map_err(failed)?;
    let mut writing = Vec::new();
    for (pending, refusal) in group.iter().zip(refused.iter_mut()) {
        if refusal.is_some() {
            continue;
        }
        let batch = &pending.batch;
        *refusal = judge(batch, &current, heads.get(batch.doc.as_str()).copied());
        match refusal {
            Some(refusal) => tracing::warn!(doc = %batch.doc, error = %refusal, "batch refused"),
            None => writing.push(batch),
        }
    }
    if writing.is_empty() {
        return Ok(());
    }
    write(tx, &writing).await.map_err(failed)
}

/// The documents whose fence holds (their lease rows now share-locked), and every document's
/// stored head: the highest revision of its log and of its snapshot, as stored.
async fn read_fences_and_heads(
    tx: &Transaction<'_>,
    open: &[&Prepared],
) -> Result<(HashSet<String>, HashMap<String, [Option<i64>; 2]>), tokio_postgres::Error> {
    let fenced: Vec<&&Prepared> = open.iter().filter(|b| b.fence.is_some()).collect();
    let fence_docs: Vec<&str> = fenced.iter().map(|b| b.doc.as_str()).collect();
    let fence_nodes: Vec<&str> = fenced
        .iter()
        .filter_map(|b| b.fence.as_ref().map(|f| f.node.as_str()))
        .collect();
    let fence_epochs: Vec<i64> = fenced
        .iter()
        .filter_map(|b| b.fence.as_ref())
        .map(|f| to_sql(f.epoch).unwrap_or(i64::MAX))
        .collect();
    let docs: Vec<&str> = open.iter().map(|b| b.doc.as_str()).collect();
    // A share lock on each lease: a takeover waits until this transaction ends, so every
    // batch written under the old epoch is committed before the new owner loads. Taken in
    // the order of the documents, as renewals take theirs, so the two never deadlock.
    let fences = tx
        .prepare_cached(
            "SELECT l.doc FROM leases AS l
             JOIN UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[]) AS f(doc, node, epoch)
               ON l.doc = f.doc AND l.node = f.node AND l.epoch = f.epoch
             WHERE l.expires > clock_timestamp()
             ORDER BY l.doc
             FOR SHARE OF l",
        )
        .await?;
    let heads = tx
        .prepare_cached(
            "SELECT d.doc,
                    (SELECT MAX(rev) FROM changes AS c WHERE c.doc = d.doc),
                    (SELECT rev FROM snapshots AS s WHERE s.doc = d.doc)
             FROM UNNEST($1::TEXT[]) AS d(doc)",
        )
        .await?;
    let fence_params: [&(dyn ToSql + Sync); 3] = [&fence_docs, &fence_nodes, &fence_epochs];
    let head_params: [&(dyn ToSql + Sync); 1] = [&docs];
    // Sent together; PostgreSQL runs them in this order.
    let (fence_rows, head_rows) = tokio::try_join!(
        tx.query(&fences, &fence_params),
        tx.query(&heads, &head_params),
    )?;
    let current = fence_rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut stored = HashMap::new();
    for row in head_rows {
        stored.insert(row.try_get(0)?, [row.try_get(1)?, row.try_get(2)?]);
    }
    Ok((current, stored))
}

/// Why `batch` is refused, if it is: its fence no longer holds, its document's stored head
/// cannot be read, or its changes do not continue it.
fn judge(
    batch: &Prepared,
    current: &HashSet<String>,
    stored: Option<[Option<i64>; 2]>,
) -> Option<StoreError> {
    if let Some(fence) = &batch.fence
        && !current.contains(&batch.doc)
    {
        return Some(StoreError::Fenced {
            doc: batch.doc.clone(),
            epoch: fence.epoch,
        });
    }
    let mut head = 0;
    for value in stored.unwrap_or_default().into_iter().flatten() {
        match u64::try_from(value) {
            Ok(rev) => head = head.max(rev),
            Err(_) => {
                return Some(StoreError::Corrupt {
                    doc: batch.doc.clone(),
                    detail: format!("stored revision: negative number {value}"),
                });
            }
        }
    }
    misfit(batch, head)
}

/// Writes the batches' changes, client records and snapshots: one statement each, sent
/// together.
async fn write(tx: &Transaction<'_>, batches: &[&Prepared]) -> Result<(), tokio_postgres::Error> {
    let rows: Vec<(&str, &crate::store::rows::ChangeRow)> = batches
        .iter()
        .flat_map(|b| b.rows.iter().map(move |row| (b.doc.as_str(), row)))
        .collect();
    let docs: Vec<&str> = rows.iter().map(|(doc, _)| *doc).collect();
    let revs: Vec<i64> = rows.iter().map(|(_, r)| r.rev).collect();
    let clients: Vec<&str> = rows.iter().map(|(_, r)| r.client.as_str()).collect();
    let seqs: Vec<i64> = rows.iter().map(|(_, r)| r.seq).collect();
    let authors: Vec<&str> = rows.iter().map(|(_, r)| r.author.as_str()).collect();
    let times: Vec<i64> = rows.iter().map(|(_, r)| r.time).collect();
    let ops: Vec<&str> = rows.iter().map(|(_, r)| r.ops.as_str()).collect();
    let conflicts: Vec<&str> = rows.iter().map(|(_, r)| r.conflicts.as_str()).collect();
    let groups: Vec<Option<i64>> = rows.iter().map(|(_, r)| r.group).collect();
    // One record per client of a document (the highest seq): one statement may not update a
    // row twice.
    let mut highest: BTreeMap<(&str, &str), (i64, i64)> = BTreeMap::new();
    for (doc, row) in &rows {
        let entry = highest
            .entry((doc, row.client.as_str()))
            .or_insert((row.seq, row.rev));
        if row.seq > entry.0 {
            *entry = (row.seq, row.rev);
        }
    }
    let record_docs: Vec<&str> = highest.keys().map(|(doc, _)| *doc).collect();
    let record_clients: Vec<&str> = highest.keys().map(|(_, client)| *client).collect();
    let record_seqs: Vec<i64> = highest.values().map(|(seq, _)| *seq).collect();
    let record_revs: Vec<i64> = highest.values().map(|(_, rev)| *rev).collect();
    let snapshots: Vec<(&str, i64, &str)> = batches
        .iter()
        .filter_map(|b| {
            let s = b.snapshot.as_ref()?;
            Some((b.doc.as_str(), s.rev_sql, s.body.as_str()))
        })
        .collect();
    let snapshot_docs: Vec<&str> = snapshots.iter().map(|(doc, _, _)| *doc).collect();
    let snapshot_revs: Vec<i64> = snapshots.iter().map(|(_, rev, _)| *rev).collect();
    let snapshot_bodies: Vec<&str> = snapshots.iter().map(|(_, _, body)| *body).collect();

    let insert = tx
        .prepare_cached(
            "INSERT INTO changes (doc, rev, client, seq, author, time, ops, conflicts, group_rev)
             SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::BIGINT[], $5::TEXT[],
                                  $6::BIGINT[], $7::TEXT[], $8::TEXT[], $9::BIGINT[])",
        )
        .await?;
    let record = tx
        .prepare_cached(
            "INSERT INTO clients (doc, client, seq, rev)
             SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[])
             ON CONFLICT (doc, client) DO UPDATE SET seq = excluded.seq, rev = excluded.rev
             WHERE excluded.seq > clients.seq",
        )
        .await?;
    let upsert = tx
        .prepare_cached(
            "INSERT INTO snapshots (doc, rev, body)
             SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[])
             ON CONFLICT (doc) DO UPDATE SET rev = excluded.rev, body = excluded.body",
        )
        .await?;
    let change_params: [&(dyn ToSql + Sync); 9] = [
        &docs, &revs, &clients, &seqs, &authors, &times, &ops, &conflicts, &groups,
    ];
    let record_params: [&(dyn ToSql + Sync); 4] =
        [&record_docs, &record_clients, &record_seqs, &record_revs];
    let snapshot_params: [&(dyn ToSql + Sync); 3] =
        [&snapshot_docs, &snapshot_revs, &snapshot_bodies];
    // Sent together; an empty array inserts nothing.
    tokio::try_join!(
        tx.execute(&insert, &change_params),
        tx.execute(&record, &record_params),
        tx.execute(&upsert, &snapshot_params),
    )?;
    Ok(())
}
