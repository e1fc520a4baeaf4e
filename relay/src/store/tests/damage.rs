//! Damage and failures: corrupt rows, injected and real transaction failures, groups.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use rusqlite::TransactionBehavior;

use super::*;

conformance!(
    corrupt_rows_fail_the_load_and_are_never_overwritten,
    every_kind_of_damage_is_reported_as_corrupt,
    an_injected_failure_fails_exactly_the_next_commit,
);

async fn corrupt_rows_fail_the_load_and_are_never_overwritten(backing: Backing) {
    let store = backing.open().await;
    store
        .commit(batch("doc", vec![set(1, "c1", 1), set(2, "c1", 2)]))
        .await
        .unwrap();
    store
        .commit(batch("fine", vec![set(1, "c1", 1)]))
        .await
        .unwrap();

    backing
        .sql("UPDATE changes SET ops = 'not json' WHERE doc = 'doc' AND rev = 2")
        .await;
    let err = store.load("doc").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { doc, .. } if doc == "doc"),
        "{err}"
    );

    // Neither a change nor a snapshot is written to it.
    let err = store
        .commit(batch("doc", vec![set(3, "c1", 3)]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    let err = store
        .commit(Batch {
            doc: "doc".into(),
            fence: None,
            changes: vec![],
            snapshot: Some((Revision(0), "{}".to_owned())),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    let damaged = "SELECT COUNT(*) FROM changes WHERE doc = 'doc' AND rev = 2 AND ops = 'not json'";
    assert_eq!(backing.count(damaged).await, 1);
    assert_eq!(
        backing
            .count("SELECT COUNT(*) FROM changes WHERE doc = 'doc'")
            .await,
        2
    );
    assert_eq!(backing.count("SELECT COUNT(*) FROM snapshots").await, 0);

    // Other documents are unaffected.
    store
        .commit(batch("fine", vec![set(2, "c1", 2)]))
        .await
        .unwrap();
    assert_eq!(
        revs(&store.load("fine").await.unwrap().unwrap()),
        vec![1, 2]
    );

    // Once repaired, it loads and takes changes again.
    backing
        .sql(
            "UPDATE changes SET ops = (SELECT ops FROM changes WHERE doc = 'doc' AND rev = 1) \
             WHERE doc = 'doc' AND rev = 2",
        )
        .await;
    assert_eq!(revs(&store.load("doc").await.unwrap().unwrap()), vec![1, 2]);
    store
        .commit(batch("doc", vec![set(3, "c1", 3)]))
        .await
        .unwrap();
    store.close().await;
}

/// Damage either database can hold: a gap, JSON that does not parse, negative numbers.
const DAMAGE: [&str; 5] = [
    "DELETE FROM changes WHERE doc = 'doc' AND rev = 1",
    "UPDATE changes SET conflicts = '{' WHERE doc = 'doc' AND rev = 2",
    "UPDATE changes SET seq = -1 WHERE doc = 'doc' AND rev = 2",
    "INSERT INTO snapshots (doc, rev, body) VALUES ('doc', 1, '{\"a\":')",
    "INSERT INTO snapshots (doc, rev, body) VALUES ('doc', -1, '{}')",
];

/// Damage only SQLite can hold: a value of the wrong type in a column.
const SQLITE_DAMAGE: [&str; 3] = [
    "UPDATE changes SET author = x'00ff' WHERE doc = 'doc' AND rev = 2",
    "UPDATE changes SET rev = 'two' WHERE doc = 'doc' AND rev = 2",
    "UPDATE clients SET seq = 'x' WHERE doc = 'doc'",
];

async fn every_kind_of_damage_is_reported_as_corrupt(backing: Backing) {
    let extra: &[&str] = match backing.postgres {
        None => &SQLITE_DAMAGE,
        Some(_) => &[],
    };
    for (n, sql) in DAMAGE.iter().chain(extra).enumerate() {
        let store = backing.open().await;
        let doc = format!("doc-{n}");
        store
            .commit(batch(&doc, vec![set(1, "c1", 1), set(2, "c1", 2)]))
            .await
            .unwrap();
        backing
            .sql(&sql.replace("'doc'", &format!("'{doc}'")))
            .await;
        let err = store.load(&doc).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{sql}: {err}");
        store.close().await;
    }
}

async fn an_injected_failure_fails_exactly_the_next_commit(backing: Backing) {
    let store = backing.open().await;
    store
        .commit(batch("doc", vec![set(1, "c1", 1)]))
        .await
        .unwrap();
    store.fail_next_commits(1);
    let err = store
        .commit(Batch {
            doc: "doc".into(),
            fence: None,
            changes: vec![set(2, "c1", 2)],
            snapshot: Some((Revision(2), r#"{"n":2}"#.to_owned())),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Injected), "{err}");
    let loaded = store.load("doc").await.unwrap().unwrap();
    assert_eq!(revs(&loaded), vec![1]);
    assert_eq!(loaded.snapshot_rev, Revision(0));
    assert_eq!(loaded.clients[0].1.seq, 1);

    store
        .commit(batch("doc", vec![set(2, "c1", 2)]))
        .await
        .unwrap();
    assert_eq!(revs(&store.load("doc").await.unwrap().unwrap()), vec![1, 2]);

    store.fail_next_commits(2);
    assert!(
        store
            .commit(batch("doc", vec![set(3, "c1", 3)]))
            .await
            .is_err()
    );
    assert!(
        store
            .commit(batch("doc", vec![set(3, "c1", 3)]))
            .await
            .is_err()
    );
    store
        .commit(batch("doc", vec![set(3, "c1", 3)]))
        .await
        .unwrap();
    store.close().await;
}

#[test]
fn a_group_is_served_in_order_and_a_bad_batch_fails_alone() {
    let dir = TempDir::new("group");
    let conn = sqlite::open_connection(&dir.db()).unwrap();
    let mut writer = Writer {
        conn,
        fail_next: Arc::new(AtomicU32::new(0)),
        unloadable: HashSet::new(),
    };
    let commit = |doc: &str, changes| {
        let (reply, answer) = oneshot::channel();
        let batch = prepared(batch(doc, changes));
        (Job::Commit { batch, reply }, answer)
    };
    let load = |doc: &str| {
        let (reply, answer) = oneshot::channel();
        (
            Job::Load {
                doc: doc.to_owned(),
                reply,
            },
            answer,
        )
    };
    let (c1, mut a1) = commit("a", vec![set(1, "c1", 1)]);
    let (c2, mut a2) = commit("b", vec![set(2, "c1", 1)]);
    let (c3, mut a3) = commit("a", vec![set(2, "c1", 2)]);
    let (l1, mut b1) = load("a");
    let (c4, mut a4) = commit("a", vec![set(3, "c1", 3)]);
    let (l2, mut b2) = load("a");
    let flow = writer.serve(vec![c1, c2, c3, l1, c4, l2]);
    assert!(flow.is_continue());
    a1.try_recv().unwrap().unwrap();
    assert!(matches!(
        a2.try_recv().unwrap(),
        Err(StoreError::Gap { .. })
    ));
    a3.try_recv().unwrap().unwrap();
    a4.try_recv().unwrap().unwrap();
    assert_eq!(revs(&b1.try_recv().unwrap().unwrap().unwrap()), vec![1, 2]);
    assert_eq!(
        revs(&b2.try_recv().unwrap().unwrap().unwrap()),
        vec![1, 2, 3]
    );

    // Requests after a close are dropped unanswered; the callers see `Closed`.
    let (c5, mut a5) = commit("a", vec![set(4, "c1", 4)]);
    let (c6, mut a6) = commit("a", vec![set(5, "c1", 5)]);
    assert!(writer.serve(vec![c5, Job::Close, c6]).is_break());
    a5.try_recv().unwrap().unwrap();
    assert!(a6.try_recv().is_err());
}

#[test]
fn a_failed_transaction_fails_every_batch_of_the_group() {
    let dir = TempDir::new("group-failure");
    let conn = sqlite::open_connection(&dir.db()).unwrap();
    let mut writer = Writer {
        conn,
        fail_next: Arc::new(AtomicU32::new(0)),
        unloadable: HashSet::new(),
    };
    // Another connection holds the write lock, so the group cannot begin.
    writer.conn.busy_timeout(Duration::from_millis(10)).unwrap();
    let mut side = Connection::open(dir.db()).unwrap();
    let lock = side
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    let mut answers = Vec::new();
    let mut group = Vec::new();
    for doc in ["a", "b", "c"] {
        let (reply, answer) = oneshot::channel();
        let batch = prepared(batch(doc, vec![set(1, "c1", 1)]));
        group.push(Pending { batch, reply });
        answers.push(answer);
    }
    writer.commit_group(group);
    let mut answers = answers.into_iter().map(|mut a| a.try_recv().unwrap());
    assert!(matches!(answers.next(), Some(Err(StoreError::Sqlite(_)))));
    assert!(answers.all(|a| matches!(a, Err(StoreError::Failed(m)) if m.contains("locked"))));
    drop(lock);
    assert_eq!(count(&dir.db(), "SELECT COUNT(*) FROM changes"), 0);
    assert!(writer.conn.is_autocommit());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_a_failed_transaction_fails_every_batch_and_loses_nothing_acked() {
    let Some(url) = postgres::test_database("group_failure").await else {
        return;
    };
    let options = postgres::Options {
        lock_timeout: Duration::from_millis(300),
        ..postgres::Options::default()
    };
    let store = Store::connect(&Location::Postgres(url.clone()), &options)
        .await
        .unwrap();
    store
        .commit(batch("a", vec![set(1, "c1", 1)]))
        .await
        .unwrap();
    // Another session holds the log, so no group can write before its lock times out.
    let mut side = postgres::connect(&url).await.unwrap();
    let lock = side.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE changes IN EXCLUSIVE MODE")
        .await
        .unwrap();
    let commits: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .enumerate()
        .map(|(n, doc)| {
            let store = store.clone();
            let rev = if n == 0 { 2 } else { 1 };
            tokio::spawn(async move { store.commit(batch(doc, vec![set(rev, "c1", rev)])).await })
        })
        .collect();
    for commit in commits {
        let error = commit.await.unwrap().unwrap_err();
        assert!(
            matches!(error, StoreError::Postgres(_) | StoreError::Failed(_)),
            "{error}"
        );
    }
    lock.rollback().await.unwrap();
    // What was acknowledged is there, and nothing of the failed batches.
    assert_eq!(revs(&store.load("a").await.unwrap().unwrap()), vec![1]);
    assert!(store.load("b").await.unwrap().is_none());
    // The store goes on once the database does.
    store
        .commit(batch("a", vec![set(2, "c1", 2)]))
        .await
        .unwrap();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_a_batch_is_written_only_under_its_documents_current_lease() {
    let Some(backing) = Backing::postgres("fence").await else {
        return;
    };
    let store = backing.open().await;
    backing
        .sql(
            "INSERT INTO leases (doc, node, address, epoch, expires) VALUES \
             ('doc', 'n1', 'ws://a', 2, clock_timestamp() + interval '1 minute'), \
             ('old', 'n1', 'ws://a', 1, clock_timestamp() - interval '1 second')",
        )
        .await;
    let fenced = |doc: &str, node: &str, epoch: u64, rev: u64| Batch {
        fence: Some(Fence {
            node: node.to_owned(),
            epoch,
        }),
        ..batch(doc, vec![set(rev, "c1", rev)])
    };
    // The current lease: written.
    store.commit(fenced("doc", "n1", 2, 1)).await.unwrap();
    // An older epoch, another relay's lease, an expired one: refused, nothing written.
    for (doc, node, epoch) in [("doc", "n1", 1), ("doc", "n2", 2), ("old", "n1", 1)] {
        let err = store.commit(fenced(doc, node, epoch, 2)).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Fenced { .. }),
            "{doc} {node} {epoch}: {err}"
        );
    }
    assert_eq!(revs(&store.load("doc").await.unwrap().unwrap()), vec![1]);
    assert!(store.load("old").await.unwrap().is_none());
    store.close().await;
}
