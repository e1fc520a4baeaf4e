//! A change as the stores keep it: encoded as a row (refusing what would not load again
//! exactly), and decoded back with every check that tells damage from data. Both stores use
//! these, so they keep and refuse exactly the same things.

use sync_core::protocol::{ClientId, Commit, Conflict, Revision};
use sync_core::{Map, Operation, Value};

use super::{Batch, Checked, StoreError};

/// A batch checked and encoded, ready for a store's writer.
pub(super) struct Prepared {
    pub(super) doc: String,
    pub(super) fence: Option<super::Fence>,
    /// The first and last revisions of the changes, if there are any.
    pub(super) revs: Option<(u64, u64)>,
    pub(super) rows: Vec<ChangeRow>,
    pub(super) snapshot: Option<SnapshotRow>,
}

impl Prepared {
    /// About how many bytes the batch sends: its operations, conflicts and snapshot.
    pub(super) fn size(&self) -> usize {
        let rows: usize = self
            .rows
            .iter()
            .map(|r| r.ops.len() + r.conflicts.len() + r.author.len() + r.client.len())
            .sum();
        rows + self.snapshot.as_ref().map_or(0, |s| s.body.len())
    }
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
    // PostgreSQL's text cannot hold NUL, so neither store keeps it (the relay replaces control
    // characters in names, and client ids are ASCII without them).
    for (what, text) in [("client id", &change.client.0), ("author", &change.author)] {
        if text.contains('\0') {
            return Err(format!("change {rev}: its {what} holds a NUL character"));
        }
    }
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
/// caller's task, so that the writer only writes.
pub(super) fn prepare(batch: Batch<Checked>) -> Result<Prepared, StoreError> {
    let Batch {
        doc,
        fence,
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
        fence,
        revs,
        rows: changes.into_iter().map(Checked::into_row).collect(),
        snapshot,
    })
}

/// A row of `changes` as read, before it is checked: what [`decode`] turns into a [`Commit`].
pub(super) struct RawChange {
    pub(super) rev: u64,
    pub(super) client: String,
    pub(super) seq: u64,
    pub(super) author: String,
    pub(super) time: u64,
    pub(super) ops: String,
    pub(super) conflicts: String,
    pub(super) group: Option<u64>,
}

/// Decodes one row of `changes`, which must have revision `expected`; says what is wrong
/// otherwise.
pub(super) fn decode(raw: RawChange, expected: u64) -> Result<Commit, String> {
    let RawChange {
        rev,
        client,
        seq,
        author,
        time,
        ops,
        conflicts,
        group,
    } = raw;
    if rev != expected {
        return Err(format!(
            "the log jumps from r{} to r{rev}",
            expected.saturating_sub(1)
        ));
    }
    let field = |name: &str, e: String| format!("change r{rev}: {name}: {e}");
    let ops: Vec<Operation> =
        serde_json::from_str(&ops).map_err(|e| field("ops", e.to_string()))?;
    let conflicts: Vec<Conflict> =
        serde_json::from_str(&conflicts).map_err(|e| field("conflicts", e.to_string()))?;
    let group = match group {
        Some(group) if group >= rev => {
            return Err(field("group", format!("r{group} is not before it")));
        }
        group => group.map(Revision),
    };
    Ok(Commit {
        rev: Revision(rev),
        client: ClientId(client),
        seq,
        author,
        time,
        ops,
        conflicts,
        group,
    })
}

/// Checks that a read of the changes `from..=to`, at most `limit` of them, that ended at `last`
/// (`cut` short by its size, or not) found the whole range it should have.
pub(super) fn whole_range(
    doc: &str,
    (from, to): (Revision, Revision),
    limit: usize,
    (last, cut): (Option<Revision>, bool),
) -> Result<(), StoreError> {
    let wanted_last = Revision(to.0.min(from.0.saturating_add(limit as u64).saturating_sub(1)));
    if !cut && limit > 0 && to >= from && last != Some(wanted_last) {
        return Err(StoreError::Corrupt {
            doc: doc.to_owned(),
            detail: format!(
                "the log holds changes up to {} of {from}–{wanted_last}",
                last.map_or_else(|| "none".to_owned(), |r| r.to_string())
            ),
        });
    }
    Ok(())
}

/// Adds to `found` the records lost by `loser` in one change's conflicts (`conflicts`, the
/// JSON of change `rev`), latest first, until `found` holds `limit`; says whether it does.
pub(super) fn lost_by(
    (rev, conflicts): (u64, &str),
    loser: &ClientId,
    found: &mut Vec<Conflict>,
    limit: usize,
) -> Result<bool, String> {
    let conflicts: Vec<Conflict> =
        serde_json::from_str(conflicts).map_err(|e| format!("change r{rev}: conflicts: {e}"))?;
    for conflict in conflicts
        .into_iter()
        .rev()
        .filter(|c| c.loser.client == *loser)
    {
        found.push(conflict);
        if found.len() == limit {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Where a replay to revision `rev` of `doc` starts: the stored snapshot (its revision, and
/// its body as read) when it is at or before `rev`, else the empty document of revision 0.
pub(super) fn replay_start(
    doc: &str,
    rev: Revision,
    snapshot: Option<(u64, Result<String, String>)>,
) -> Result<(Revision, Value), StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        doc: doc.to_owned(),
        detail,
    };
    match snapshot {
        Some((at, body)) if at <= rev.0 => {
            let body = body.map_err(|e| corrupt(format!("snapshot at r{at}: {e}")))?;
            let value = Value::parse(&body)
                .map_err(|e| corrupt(format!("snapshot at r{at} is not JSON: {e}")))?;
            Ok((Revision(at), value))
        }
        _ => Ok((Revision(0), Value::Object(Map::new()))),
    }
}

/// Applies `commit` to `value` in a replay of `doc`.
pub(super) fn replay(doc: &str, value: &mut Value, commit: &Commit) -> Result<(), StoreError> {
    sync_core::apply::apply(value, &commit.ops)
        .map(drop)
        .map_err(|e| StoreError::Corrupt {
            doc: doc.to_owned(),
            detail: format!("change {} does not replay: {e}", commit.rev),
        })
}

/// Checks that a replay of `doc` from `from` reached `rev` (its last change was `last`).
pub(super) fn replayed_to(
    doc: &str,
    (from, last): (Revision, Option<Revision>),
    rev: Revision,
) -> Result<(), StoreError> {
    if last == Some(rev) {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        doc: doc.to_owned(),
        detail: format!("the log ends at {} before {rev}", last.unwrap_or(from)),
    })
}

/// Where a load of `doc` starts: the stored snapshot (its revision, its body as read) or the
/// empty document of revision 0, and the revision after which the log is read: every change
/// when there is no snapshot, so that stray revisions are noticed too.
pub(super) struct LoadStart {
    pub(super) snapshot: Option<(u64, Value)>,
    pub(super) after: i64,
}

impl LoadStart {
    pub(super) fn new(
        doc: &str,
        snapshot: Option<(u64, Result<String, String>)>,
    ) -> Result<LoadStart, StoreError> {
        let corrupt = |detail: String| StoreError::Corrupt {
            doc: doc.to_owned(),
            detail,
        };
        let Some((rev, body)) = snapshot else {
            return Ok(LoadStart {
                snapshot: None,
                after: i64::MIN,
            });
        };
        let body = body.map_err(|e| corrupt(format!("snapshot at r{rev}: {e}")))?;
        let value = Value::parse(&body)
            .map_err(|e| corrupt(format!("snapshot at r{rev} is not JSON: {e}")))?;
        let after = to_sql(rev).ok_or_else(|| corrupt("snapshot revision".to_owned()))?;
        Ok(LoadStart {
            snapshot: Some((rev, value)),
            after,
        })
    }

    /// The revision the first change read must have.
    pub(super) fn first_expected(&self) -> u64 {
        self.snapshot
            .as_ref()
            .map_or(0, |(rev, _)| *rev)
            .saturating_add(1)
    }

    /// The document loaded, or `None` if nothing at all is stored for it.
    pub(super) fn loaded(
        self,
        changes: Vec<Commit>,
        clients: Vec<(ClientId, sync_core::authority::ClientRecord)>,
    ) -> Option<super::Loaded> {
        if self.snapshot.is_none() && changes.is_empty() && clients.is_empty() {
            return None;
        }
        let (rev, snapshot) = self.snapshot.unwrap_or((0, Value::Object(Map::new())));
        Some(super::Loaded {
            snapshot,
            snapshot_rev: Revision(rev),
            changes,
            clients,
        })
    }
}
