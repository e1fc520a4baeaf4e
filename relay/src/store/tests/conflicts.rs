//! Reading what one client lost in a range of the log (`Store::conflicts_of`): its records
//! only, in order, the latest up to a limit, visiting only the changes that recorded conflicts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use rusqlite::params;
use sync_core::Pointer;
use sync_core::protocol::{Conflict, ConflictKind, Party};

use super::*;

conformance!(
    a_clients_records_in_a_range_come_in_order_up_to_a_limit,
    a_damaged_record_is_reported_to_the_client_it_names,
);

/// `loser`'s write at `path` lost to `winner`'s, in change `rev`.
fn lost(rev: u64, loser: &str, winner: &str, path: &str) -> Conflict {
    let party = |client: &str| Party {
        client: ClientId::from(client),
        author: client.to_uppercase(),
    };
    Conflict {
        kind: ConflictKind::Overwritten,
        path: Pointer::parse(path).unwrap(),
        value: Some(Value::parse(r#"{"was": [1.50, null]}"#).unwrap()),
        op: None,
        reason: None,
        winner: party(winner),
        loser: party(loser),
        rev: Revision(rev),
    }
}

/// Changes 1 to 10 of `doc`, with `conflicts[rev]` recorded in change `rev` where given.
async fn log(store: &Store, doc: &str, mut conflicts: Vec<(u64, Vec<Conflict>)>) {
    let changes = (1..=10)
        .map(|rev| {
            let mut change = set(rev, "w", rev);
            if let Some(at) = conflicts.iter().position(|(r, _)| *r == rev) {
                change.conflicts = conflicts.swap_remove(at).1;
            }
            change
        })
        .collect();
    store.commit(batch(doc, changes)).await.unwrap();
}

/// (revision, path) of what `loser` lost in `doc`'s changes `after+1..=up_to`, `limit` at most.
async fn read(
    store: &Store,
    doc: &str,
    loser: &str,
    (after, up_to): (u64, u64),
    limit: usize,
) -> Vec<(u64, String)> {
    let query = ConflictQuery {
        doc: doc.to_owned(),
        loser: ClientId::from(loser),
        after: Revision(after),
        up_to: Revision(up_to),
        limit,
    };
    let records = store.conflicts_of(query).await.unwrap();
    assert!(records.iter().all(|c| c.loser.client.0 == loser));
    records
        .into_iter()
        .map(|c| (c.rev.0, c.path.to_string()))
        .collect()
}

fn at(records: &[(u64, &str)]) -> Vec<(u64, String)> {
    records.iter().map(|(r, p)| (*r, (*p).to_owned())).collect()
}

async fn a_clients_records_in_a_range_come_in_order_up_to_a_limit(backing: Backing) {
    let store = backing.open().await;
    log(
        &store,
        "doc",
        vec![
            (2, vec![lost(2, "a", "w", "/x")]),
            (3, vec![lost(3, "b", "w", "/y"), lost(3, "a", "w", "/z")]),
            // Ids that contain "a" or quote it, and "a" as the winner: none is a's loss.
            (
                5,
                vec![
                    lost(5, "ab", "w", "/p"),
                    lost(5, "b", "a", "/won"),
                    lost(5, "x\"a\"", "w", "/quoted"),
                ],
            ),
            (6, vec![lost(6, "a", "w", "/q1"), lost(6, "a", "b", "/q2")]),
            (8, vec![lost(8, "a", "w", "/r")]),
        ],
    )
    .await;
    // Another document's records stay its own.
    log(&store, "other", vec![(1, vec![lost(1, "a", "w", "/o")])]).await;
    let all = 10_000;

    // In revision order, and in each change as it listed them.
    assert_eq!(
        read(&store, "doc", "a", (0, 10), all).await,
        at(&[(2, "/x"), (3, "/z"), (6, "/q1"), (6, "/q2"), (8, "/r")])
    );
    // After `after`, up to `up_to` included.
    assert_eq!(
        read(&store, "doc", "a", (2, 6), all).await,
        at(&[(3, "/z"), (6, "/q1"), (6, "/q2")])
    );
    assert_eq!(
        read(&store, "doc", "a", (6, 8), all).await,
        at(&[(8, "/r")])
    );
    assert_eq!(read(&store, "doc", "a", (3, 5), all).await, at(&[]));
    assert_eq!(read(&store, "doc", "a", (8, 8), all).await, at(&[]));
    assert_eq!(read(&store, "doc", "a", (9, 2), all).await, at(&[]));
    assert_eq!(read(&store, "doc", "a", (0, u64::MAX), all).await.len(), 5);
    // The limit keeps the latest, still oldest first, cutting inside a change if need be.
    assert_eq!(
        read(&store, "doc", "a", (0, 10), 2).await,
        at(&[(6, "/q2"), (8, "/r")])
    );
    assert_eq!(
        read(&store, "doc", "a", (0, 10), 4).await,
        at(&[(3, "/z"), (6, "/q1"), (6, "/q2"), (8, "/r")])
    );
    assert_eq!(read(&store, "doc", "a", (0, 10), 0).await, at(&[]));
    // Each loser its own.
    assert_eq!(
        read(&store, "doc", "b", (0, 10), all).await,
        at(&[(3, "/y"), (5, "/won")])
    );
    assert_eq!(
        read(&store, "doc", "ab", (0, 10), all).await,
        at(&[(5, "/p")])
    );
    assert_eq!(
        read(&store, "doc", "x\"a\"", (0, 10), all).await,
        at(&[(5, "/quoted")])
    );
    assert_eq!(read(&store, "doc", "nobody", (0, 10), all).await, at(&[]));
    assert_eq!(
        read(&store, "other", "a", (0, 10), all).await,
        at(&[(1, "/o")])
    );
    assert_eq!(read(&store, "unknown", "a", (0, 10), all).await, at(&[]));

    // What is read comes back exactly as it was recorded.
    let query = ConflictQuery {
        doc: "doc".to_owned(),
        loser: ClientId::from("a"),
        after: Revision(7),
        up_to: Revision(8),
        limit: all,
    };
    assert_eq!(
        store.conflicts_of(query).await.unwrap(),
        vec![lost(8, "a", "w", "/r")]
    );
    store.close().await;
}

async fn a_damaged_record_is_reported_to_the_client_it_names(backing: Backing) {
    let store = backing.open().await;
    log(
        &store,
        "doc",
        vec![
            (2, vec![lost(2, "b", "w", "/y")]),
            (4, vec![lost(4, "a", "w", "/x")]),
        ],
    )
    .await;
    backing
        .sql(r#"UPDATE changes SET conflicts = '[{"loser": {"client": "a"' WHERE rev = 4"#)
        .await;
    let query = |loser: &str, up_to: u64| ConflictQuery {
        doc: "doc".to_owned(),
        loser: ClientId::from(loser),
        after: Revision(0),
        up_to: Revision(up_to),
        limit: 100,
    };
    let err = store.conflicts_of(query("a", 10)).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    // Outside the range, or not naming the client: not read.
    assert!(store.conflicts_of(query("a", 3)).await.unwrap().is_empty());
    assert_eq!(store.conflicts_of(query("b", 10)).await.unwrap().len(), 1);
    store.close().await;
}

#[tokio::test]
async fn only_the_changes_that_recorded_conflicts_are_visited() {
    let dir = TempDir::new("conflicts-index");
    // A database from before the index gets it on opening.
    Store::open(&dir.db()).unwrap().close().await;
    Connection::open(dir.db())
        .unwrap()
        .execute_batch("DROP INDEX changes_with_conflicts")
        .unwrap();
    let store = Store::open(&dir.db()).unwrap();
    log(&store, "doc", vec![(3, vec![lost(3, "a", "w", "/x")])]).await;
    let indexed = count(
        &dir.db(),
        "SELECT COUNT(*) FROM changes INDEXED BY changes_with_conflicts
         WHERE doc = 'doc' AND conflicts <> '[]'",
    );
    assert_eq!(indexed, 1);
    // SQLite plans the read through that index, not through the whole log, and in its order
    // (no sort), so that it can stop at the limit.
    let conn = Connection::open(dir.db()).unwrap();
    let plan: Vec<String> = conn
        .prepare(&format!(
            "EXPLAIN QUERY PLAN {}",
            super::super::sqlite::read::CONFLICTS_OF
        ))
        .unwrap()
        .query_map(params!["doc", 0, 10, "\"a\""], |row| row.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter()
            .any(|step| step.contains("changes_with_conflicts")),
        "{plan:?}"
    );
    assert!(!plan.iter().any(|step| step.contains("B-TREE")), "{plan:?}");
    store.close().await;
}
