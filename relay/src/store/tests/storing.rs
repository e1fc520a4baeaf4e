//! Writing and reading back: round trips, snapshots, client records, gaps, concurrency.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;

conformance!(
    commit_then_load_round_trips_exactly,
    an_unknown_document_loads_as_none,
    a_snapshot_replaces_the_previous_one_and_the_log_is_kept,
    clients_keep_their_highest_seq,
    a_batch_with_a_gap_is_refused_and_writes_nothing,
    numbers_too_large_for_64_bit_integers_are_refused,
    concurrent_documents_all_land_and_survive_reopening,
    more_requests_than_the_queue_holds_all_land,
    a_bad_batch_among_many_at_once_is_refused_alone,
);

async fn commit_then_load_round_trips_exactly(backing: Backing) {
    let store = backing.open().await;
    let ops1 = r#"[
        {"op": "add", "path": "/title", "value": "Hello"},
        {"op": "add", "path": "/a", "value": {"n": [1.10, 1e400, -0.0, {"deep": [null, true]}], "s": "x"}, "index": 0}
    ]"#;
    let ops2 = r#"[
        {"op": "splice", "path": "/title", "pos": 1, "del": 4, "ins": "é wörld 🎉"},
        {"op": "incr", "path": "/a/n/0", "by": 1e-2}
    ]"#;
    let mut second = change(2, "c2", 7, ops2);
    second.author = "Bob \"B\" 🐝".into();
    second.time = 1_700_000_000_123;
    second.conflicts = serde_json::from_str(
        r#"[{"kind": "overwritten", "path": "/title", "value": 1.10,
             "winner": {"client": "c2", "author": "Bob"},
             "loser": {"client": "c1", "author": "Ann"}, "rev": 2}]"#,
    )
    .unwrap();
    let commits = vec![change(1, "c1", 1, ops1), second];
    store.commit(batch("doc", commits.clone())).await.unwrap();

    let loaded = store.load("doc").await.unwrap().unwrap();
    assert_eq!(loaded.snapshot, Value::parse("{}").unwrap());
    assert_eq!(loaded.snapshot_rev, Revision(0));
    assert_eq!(loaded.changes, commits);
    for (stored, original) in loaded.changes.iter().zip(&commits) {
        assert_eq!(
            Change(stored.ops.clone()).to_json(),
            Change(original.ops.clone()).to_json()
        );
    }
    // Every digit survives; sync-core's serde writes exponents as `e+` (the same value).
    let text = Change(loaded.changes[0].ops.clone()).to_json();
    assert!(text.contains("[1.10,1e+400,-0.0,"), "{text}");
    let Operation::Add { value, .. } = &loaded.changes[0].ops[1] else {
        panic!("an add")
    };
    let expected = Value::parse(r#"{"n": [1.10, 1e400, -0.0, {"deep": [null, true]}], "s": "x"}"#);
    assert_eq!(value, &expected.unwrap());
    assert_eq!(
        loaded.clients,
        vec![
            (
                ClientId::from("c1"),
                ClientRecord {
                    seq: 1,
                    rev: Revision(1)
                }
            ),
            (
                ClientId::from("c2"),
                ClientRecord {
                    seq: 7,
                    rev: Revision(2)
                }
            ),
        ]
    );

    // Operations built from losslessly parsed values come back equal.
    let value =
        Value::parse(r#"{"n": [1.10, 1e400, 1E5, 2.50e-3, 123456789012345678901234567890]}"#);
    let op = Operation::add("/b".parse().unwrap(), value.unwrap());
    let mut third = change(3, "c1", 2, "[]");
    third.ops = vec![op];
    store
        .commit(batch("doc", vec![third.clone()]))
        .await
        .unwrap();
    let loaded = store.load("doc").await.unwrap().unwrap();
    assert_eq!(loaded.changes.last(), Some(&third));
    assert_eq!(
        Change(third.ops).to_json(),
        r#"[{"op":"add","path":"/b","value":{"n":[1.10,1e+400,1e+5,2.50e-3,123456789012345678901234567890]}}]"#
    );

    // What was stored rebuilds the document.
    let authority = Authority::restore(
        loaded.snapshot,
        loaded.snapshot_rev,
        loaded.changes,
        loaded.clients,
        AuthorityConfig::default(),
    )
    .unwrap();
    assert_eq!(authority.rev(), Revision(3));
    assert_eq!(
        authority.document().to_json(),
        r#"{"a":{"n":[1.11,1e+400,-0.0,{"deep":[null,true]}],"s":"x"},"title":"Hé wörld 🎉","b":{"n":[1.10,1e+400,1e+5,2.50e-3,123456789012345678901234567890]}}"#
    );

    // A snapshot keeps its text exactly.
    let body = r#"{"a":{"n":[1.10,1e400,-0.0]},"title":"Hé"}"#;
    store
        .commit(Batch {
            doc: "doc".into(),
            fence: None,
            changes: vec![],
            snapshot: Some((Revision(3), body.to_owned())),
        })
        .await
        .unwrap();
    let loaded = store.load("doc").await.unwrap().unwrap();
    assert_eq!(loaded.snapshot.to_json(), body);
    assert_eq!(loaded.snapshot_rev, Revision(3));
    assert!(loaded.changes.is_empty());
    store.close().await;
}

async fn an_unknown_document_loads_as_none(backing: Backing) {
    let store = backing.open().await;
    assert!(store.load("nope").await.unwrap().is_none());
    store
        .commit(batch("doc", vec![set(1, "c1", 1)]))
        .await
        .unwrap();
    assert!(store.load("nope").await.unwrap().is_none());
    assert!(store.load("doc").await.unwrap().is_some());
    store.close().await;
}

async fn a_snapshot_replaces_the_previous_one_and_the_log_is_kept(backing: Backing) {
    let store = backing.open().await;
    store
        .commit(batch("doc", (1..=3).map(|r| set(r, "c1", r)).collect()))
        .await
        .unwrap();
    store
        .commit(Batch {
            doc: "doc".into(),
            fence: None,
            changes: vec![],
            snapshot: Some((Revision(3), r#"{"n":3}"#.to_owned())),
        })
        .await
        .unwrap();
    store
        .commit(Batch {
            doc: "doc".into(),
            fence: None,
            changes: vec![set(4, "c1", 4), set(5, "c1", 5)],
            snapshot: Some((Revision(4), r#"{"n":4}"#.to_owned())),
        })
        .await
        .unwrap();
    let loaded = store.load("doc").await.unwrap().unwrap();
    assert_eq!(loaded.snapshot.to_json(), r#"{"n":4}"#);
    assert_eq!(loaded.snapshot_rev, Revision(4));
    assert_eq!(revs(&loaded), vec![5]);
    assert_eq!(backing.count("SELECT COUNT(*) FROM snapshots").await, 1);
    assert_eq!(backing.count("SELECT COUNT(*) FROM changes").await, 5);

    // The next change follows the log, not the snapshot.
    let err = store
        .commit(batch("doc", vec![set(5, "c1", 6)]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Gap {
                expected: 6,
                found: 5,
                ..
            }
        ),
        "{err}"
    );
    store
        .commit(batch("doc", vec![set(6, "c1", 6)]))
        .await
        .unwrap();

    // A snapshot ahead of the log is refused.
    let err = store
        .commit(Batch {
            doc: "doc".into(),
            fence: None,
            changes: vec![],
            snapshot: Some((Revision(9), "{}".to_owned())),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    // So is one that is not JSON.
    let err = store
        .commit(Batch {
            doc: "doc".into(),
            fence: None,
            changes: vec![],
            snapshot: Some((Revision(6), "{".to_owned())),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    let loaded = store.load("doc").await.unwrap().unwrap();
    assert_eq!(loaded.snapshot_rev, Revision(4));
    assert_eq!(revs(&loaded), vec![5, 6]);

    // A document created with content starts with a snapshot at revision 0.
    store
        .commit(Batch {
            doc: "new".into(),
            fence: None,
            changes: vec![],
            snapshot: Some((Revision(0), r#"{"items":[]}"#.to_owned())),
        })
        .await
        .unwrap();
    store
        .commit(batch("new", vec![set(1, "c1", 1)]))
        .await
        .unwrap();
    let loaded = store.load("new").await.unwrap().unwrap();
    assert_eq!(loaded.snapshot.to_json(), r#"{"items":[]}"#);
    assert_eq!(revs(&loaded), vec![1]);
    store.close().await;
}

async fn clients_keep_their_highest_seq(backing: Backing) {
    let store = backing.open().await;
    store
        .commit(batch(
            "doc",
            vec![set(1, "c1", 1), set(2, "c2", 1), set(3, "c1", 5)],
        ))
        .await
        .unwrap();
    store
        .commit(batch("doc", vec![set(4, "c1", 3)]))
        .await
        .unwrap();
    store
        .commit(batch("other", vec![set(1, "c1", 9)]))
        .await
        .unwrap();
    let loaded = store.load("doc").await.unwrap().unwrap();
    let record = |seq, rev| ClientRecord {
        seq,
        rev: Revision(rev),
    };
    assert_eq!(
        loaded.clients,
        vec![
            (ClientId::from("c1"), record(5, 3)),
            (ClientId::from("c2"), record(1, 2)),
        ]
    );
    store.close().await;
}

async fn a_batch_with_a_gap_is_refused_and_writes_nothing(backing: Backing) {
    let store = backing.open().await;
    let err = store
        .commit(batch("doc", vec![set(2, "c1", 1)]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Gap {
                expected: 1,
                found: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(store.load("doc").await.unwrap().is_none());

    store
        .commit(batch("doc", vec![set(1, "c1", 1), set(2, "c1", 2)]))
        .await
        .unwrap();
    for bad in [
        vec![set(4, "c2", 1)],
        vec![set(2, "c2", 1)],
        vec![set(3, "c2", 1), set(5, "c2", 2)],
        vec![set(3, "c2", 1), set(3, "c2", 2)],
    ] {
        let err = store
            .commit(Batch {
                doc: "doc".into(),
                fence: None,
                changes: bad,
                snapshot: Some((Revision(2), "{}".to_owned())),
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Gap { .. }), "{err}");
    }
    let loaded = store.load("doc").await.unwrap().unwrap();
    assert_eq!(revs(&loaded), vec![1, 2]);
    assert_eq!(loaded.snapshot_rev, Revision(0));
    assert_eq!(loaded.clients.len(), 1);
    assert_eq!(backing.count("SELECT COUNT(*) FROM snapshots").await, 0);
    store.close().await;
}

async fn numbers_too_large_for_64_bit_integers_are_refused(backing: Backing) {
    let store = backing.open().await;
    let mut big = set(1, "c1", u64::MAX);
    let err = store
        .commit(batch("doc", vec![big.clone()]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    big.seq = 1;
    big.time = u64::MAX;
    let err = store.commit(batch("doc", vec![big])).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    assert!(store.load("doc").await.unwrap().is_none());
    store.close().await;
}

async fn concurrent_documents_all_land_and_survive_reopening(backing: Backing) {
    let store = backing.open().await;
    let tasks: Vec<_> = (0..50)
        .map(|d| {
            let store = store.clone();
            tokio::spawn(async move {
                let doc = format!("doc-{d}");
                for rev in 1..=20 {
                    let client = format!("c{}", rev % 3);
                    store
                        .commit(batch(&doc, vec![set(rev, &client, rev)]))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let check = |loaded: Loaded| {
        assert_eq!(revs(&loaded), (1..=20).collect::<Vec<_>>());
        assert_eq!(loaded.clients.len(), 3);
    };
    for d in 0..50 {
        check(store.load(&format!("doc-{d}")).await.unwrap().unwrap());
    }
    store.close().await;

    let store = backing.open().await;
    for d in 0..50 {
        check(store.load(&format!("doc-{d}")).await.unwrap().unwrap());
    }
    store.close().await;
}

async fn more_requests_than_the_queue_holds_all_land(backing: Backing) {
    let store = backing.open().await;
    let n = 3 * sqlite::QUEUE_CAPACITY;
    let tasks: Vec<_> = (0..n)
        .map(|d| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .commit(batch(&format!("doc-{d}"), vec![set(1, "c1", 1)]))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        backing.count("SELECT COUNT(*) FROM changes").await,
        i64::try_from(n).unwrap()
    );
    store.close().await;
}

/// Many documents' batches at once, so that they share group commits: the one with a gap and
/// the one under a stale fence are refused, alone; every other lands.
async fn a_bad_batch_among_many_at_once_is_refused_alone(backing: Backing) {
    let store = backing.open().await;
    for d in 0..40 {
        store
            .commit(batch(&format!("doc-{d}"), vec![set(1, "c1", 1)]))
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..40)
        .map(|d| {
            let store = store.clone();
            tokio::spawn(async move {
                // Document 7 skips a revision.
                let rev = if d == 7 { 3 } else { 2 };
                store
                    .commit(batch(&format!("doc-{d}"), vec![set(rev, "c1", rev)]))
                    .await
            })
        })
        .collect();
    for (d, task) in tasks.into_iter().enumerate() {
        let result = task.await.unwrap();
        match d {
            7 => assert!(matches!(result, Err(StoreError::Gap { .. })), "{result:?}"),
            _ => result.unwrap(),
        }
    }
    for d in 0..40 {
        let loaded = store.load(&format!("doc-{d}")).await.unwrap().unwrap();
        assert_eq!(revs(&loaded), if d == 7 { vec![1] } else { vec![1, 2] });
    }
    store.close().await;
}
