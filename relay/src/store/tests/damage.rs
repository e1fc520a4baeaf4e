//! Damage and failures: corrupt rows, injected and real transaction failures, groups.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;

#[tokio::test]
async fn corrupt_rows_fail_the_load_and_are_never_overwritten() {
    let dir = TempDir::new("corrupt");
    let store = Store::open(&dir.db()).unwrap();
    store
        .commit(batch("doc", vec![set(1, "c1", 1), set(2, "c1", 2)]))
        .await
        .unwrap();
    store
        .commit(batch("fine", vec![set(1, "c1", 1)]))
        .await
        .unwrap();

    let side = Connection::open(dir.db()).unwrap();
    side.execute(
        "UPDATE changes SET ops = 'not json' WHERE doc = 'doc' AND rev = 2",
        [],
    )
    .unwrap();
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
            changes: vec![],
            snapshot: Some((Revision(0), "{}".to_owned())),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    let ops: String = side
        .query_row(
            "SELECT ops FROM changes WHERE doc = 'doc' AND rev = 2",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(ops, "not json");
    assert_eq!(
        count(&dir.db(), "SELECT COUNT(*) FROM changes WHERE doc = 'doc'"),
        2
    );
    assert_eq!(count(&dir.db(), "SELECT COUNT(*) FROM snapshots"), 0);

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
    let good: String = side
        .query_row(
            "SELECT ops FROM changes WHERE doc = 'doc' AND rev = 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    side.execute(
        "UPDATE changes SET ops = ?1 WHERE doc = 'doc' AND rev = 2",
        [good],
    )
    .unwrap();
    assert_eq!(revs(&store.load("doc").await.unwrap().unwrap()), vec![1, 2]);
    store
        .commit(batch("doc", vec![set(3, "c1", 3)]))
        .await
        .unwrap();
    store.close();
}

#[tokio::test]
async fn every_kind_of_damage_is_reported_as_corrupt() {
    let damage = [
        "DELETE FROM changes WHERE doc = 'doc' AND rev = 1",
        "UPDATE changes SET conflicts = '{' WHERE doc = 'doc' AND rev = 2",
        "UPDATE changes SET seq = -1 WHERE doc = 'doc' AND rev = 2",
        "UPDATE changes SET author = x'00ff' WHERE doc = 'doc' AND rev = 2",
        "UPDATE changes SET rev = 'two' WHERE doc = 'doc' AND rev = 2",
        "INSERT INTO snapshots (doc, rev, body) VALUES ('doc', 1, '{\"a\":')",
        "INSERT INTO snapshots (doc, rev, body) VALUES ('doc', -1, '{}')",
        "UPDATE clients SET seq = 'x' WHERE doc = 'doc'",
    ];
    for sql in damage {
        let dir = TempDir::new("damage");
        let store = Store::open(&dir.db()).unwrap();
        store
            .commit(batch("doc", vec![set(1, "c1", 1), set(2, "c1", 2)]))
            .await
            .unwrap();
        Connection::open(dir.db())
            .unwrap()
            .execute(sql, [])
            .unwrap();
        let err = store.load("doc").await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{sql}: {err}");
        store.close();
    }
}

#[tokio::test]
async fn an_injected_failure_fails_exactly_the_next_commit() {
    let dir = TempDir::new("inject");
    let store = Store::open(&dir.db()).unwrap();
    store
        .commit(batch("doc", vec![set(1, "c1", 1)]))
        .await
        .unwrap();
    store.fail_next_commits(1);
    let err = store
        .commit(Batch {
            doc: "doc".into(),
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
    store.close();
}

#[test]
fn a_group_is_served_in_order_and_a_bad_batch_fails_alone() {
    let dir = TempDir::new("group");
    let conn = open_connection(&dir.db()).unwrap();
    let mut writer = Writer {
        conn,
        fail_next: Arc::new(AtomicU32::new(0)),
        unloadable: HashSet::new(),
    };
    let commit = |doc: &str, changes| {
        let (reply, answer) = oneshot::channel();
        let batch = prepared(batch(doc, changes));
        (Request::Commit { batch, reply }, answer)
    };
    let load = |doc: &str| {
        let (reply, answer) = oneshot::channel();
        (
            Request::Load {
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
    assert!(writer.serve(vec![c5, Request::Close, c6]).is_break());
    a5.try_recv().unwrap().unwrap();
    assert!(a6.try_recv().is_err());
}

#[test]
fn a_failed_transaction_fails_every_batch_of_the_group() {
    let dir = TempDir::new("group-failure");
    let conn = open_connection(&dir.db()).unwrap();
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
