//! The history read from the log: ranges of changes, and the document at a revision.

use super::*;

conformance!(
    a_long_log_replays_whole_to_any_revision,
    ranges_come_whole_up_to_the_limit_and_documents_replay_to_any_revision,
    a_gap_in_the_log_is_reported_not_skipped,
);

/// A change that appends `rev` to the array `/list` (created by the first).
fn push(rev: u64) -> Commit {
    let ops = if rev == 1 {
        r#"[{"op": "add", "path": "/list", "value": [1]}]"#.to_owned()
    } else {
        format!(r#"[{{"op": "add", "path": "/list/-", "value": {rev}}}]"#)
    };
    change(rev, "c1", rev, &ops)
}

fn list_up_to(rev: u64) -> Value {
    let items: Vec<String> = (1..=rev).map(|r| r.to_string()).collect();
    Value::parse(&format!(r#"{{"list": [{}]}}"#, items.join(", "))).unwrap()
}

async fn ranges_come_whole_up_to_the_limit_and_documents_replay_to_any_revision(backing: Backing) {
    let store = backing.open().await;
    store
        .commit(batch("doc", (1..=10).map(push).collect()))
        .await
        .unwrap();
    // A snapshot at r6, as a room stores one.
    store
        .commit(Batch {
            doc: "doc".to_owned(),
            fence: None,
            changes: (11..=12).map(push).collect(),
            snapshot: Some((Revision(6), list_up_to(6).to_json())),
        })
        .await
        .unwrap();
    let got = store
        .changes("doc", Revision(3), Revision(12), (4, usize::MAX))
        .await
        .unwrap();
    let revs: Vec<u64> = got.iter().map(|c| c.rev.0).collect();
    assert_eq!(revs, [3, 4, 5, 6]);
    let tail = store
        .changes("doc", Revision(11), Revision(12), (100, usize::MAX))
        .await
        .unwrap();
    assert_eq!(tail.len(), 2);
    assert_eq!(tail[0], push(11));
    // Before the snapshot (replayed from the empty document), at it, and after it.
    for rev in [0, 1, 5, 6, 9, 12] {
        let doc = store.document_at("doc", Revision(rev)).await.unwrap();
        let want = if rev == 0 {
            Value::parse("{}").unwrap()
        } else {
            list_up_to(rev)
        };
        assert_eq!(doc, want, "r{rev}");
    }
    // A size budget ends the page once passed, after at least one change.
    let one = store
        .changes("doc", Revision(3), Revision(12), (100, 0))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    let each = serde_json::to_string(&push(3).ops).unwrap().len();
    let three = store
        .changes("doc", Revision(3), Revision(12), (100, 2 * each + 1))
        .await
        .unwrap();
    assert_eq!(
        three.len(),
        3,
        "the change that passes the budget ends the page"
    );
    // Past the end of the log: refused, not made up.
    let error = store
        .changes("doc", Revision(11), Revision(14), (100, usize::MAX))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    let error = store.document_at("doc", Revision(13)).await.unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    store.close().await;
}

async fn a_gap_in_the_log_is_reported_not_skipped(backing: Backing) {
    let store = backing.open().await;
    store
        .commit(batch("doc", (1..=5).map(push).collect()))
        .await
        .unwrap();
    store.close().await;
    backing
        .sql("DELETE FROM changes WHERE doc = 'doc' AND rev = 3")
        .await;
    let store = backing.open().await;
    let error = store
        .changes("doc", Revision(1), Revision(5), (10, usize::MAX))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("jumps"), "{error}");
    let error = store.document_at("doc", Revision(4)).await.unwrap_err();
    assert!(error.to_string().contains("jumps"), "{error}");
    store.close().await;
}

/// Longer than a replay reads at once (a thousand changes), with no snapshot: every change
/// from the first is applied, none twice.
async fn a_long_log_replays_whole_to_any_revision(backing: Backing) {
    let store = backing.open().await;
    for first in (1..=2500).step_by(500) {
        store
            .commit(batch("doc", (first..first + 500).map(push).collect()))
            .await
            .unwrap();
    }
    for rev in [999, 1000, 1001, 2345, 2500] {
        let doc = store.document_at("doc", Revision(rev)).await.unwrap();
        assert_eq!(doc, list_up_to(rev), "r{rev}");
    }
    store.close().await;
}
