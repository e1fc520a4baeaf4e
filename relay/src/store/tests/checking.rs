//! Checking changes before they are stored: what the store cannot keep exactly is refused on
//! its own, and everything else comes back exactly as it went in.
//!
//! `PROPTEST_CASES=N` scales the properties (default 256; the one through SQLite runs a
//! tenth of them). A failing case is shrunk, printed and saved under `proptest-regressions/`,
//! which proptest replays first on every later run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use rusqlite::types::Value as SqlValue;
use sync_core::protocol::{Conflict, ConflictKind, Party};
use sync_core::rebase::DropReason;
use sync_core::{Map, Number, Pointer};

use super::*;

conformance!(a_change_the_store_cannot_keep_is_refused_alone_and_nothing_is_written);

async fn a_change_the_store_cannot_keep_is_refused_alone_and_nothing_is_written(backing: Backing) {
    let store = backing.open().await;
    let mut too_large = set(1, "c1", 1);
    too_large.seq = u64::MAX;
    assert!(matches!(
        store.check("doc", &too_large),
        Err(StoreError::Invalid { .. })
    ));
    // Text no store can keep (PostgreSQL's text holds no NUL): refused alike by both.
    let mut nul = set(1, "c1", 1);
    nul.author = "An\0n".to_owned();
    let err = store.check("doc", &nul).unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid { detail, .. } if detail.contains("NUL")),
        "{err}"
    );
    // The test aid refuses the changes chosen, in `check` and in `commit` alike.
    store.refuse_changes(|change| change.client.0 == "refused");
    let refused = set(1, "refused", 1);
    let err = store.check("doc", &refused).unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid { detail, .. } if detail.contains("on purpose")),
        "{err}"
    );
    let err = store.commit(batch("doc", vec![refused])).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    assert!(store.load("doc").await.unwrap().is_none());
    // Other changes are stored, checked or not.
    let checked = store.check("doc", &set(1, "c1", 1)).unwrap();
    assert_eq!(checked.rev(), Revision(1));
    store
        .commit_checked(Batch {
            doc: "doc".into(),
            fence: None,
            changes: vec![checked],
            snapshot: None,
        })
        .await
        .unwrap();
    store
        .commit(batch("doc", vec![set(2, "c2", 1)]))
        .await
        .unwrap();
    let loaded = store.load("doc").await.unwrap().unwrap();
    assert_eq!(loaded.changes, vec![set(1, "c1", 1), set(2, "c2", 1)]);
    store.close().await;
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(String::new()),
        4 => "[a-z]{1,3}",
        4 => "\\PC{0,6}",
        2 => prop::sample::select(vec![
            "\"", "\\", "/~0~1", "\u{0}\u{1f}\u{7f}", "\u{2028}\u{2029}", "\u{feff}", "é🎉",
            "\u{10ffff}",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Numbers as people write them: every digit, trailing zeros, exponents, negative zero.
fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        prop::sample::select(vec![
            "1.0",
            "1.10",
            "1e400",
            "1E400",
            "-1e-400",
            "1e+5",
            "-0",
            "-0.0",
            "0.5",
            "2E-3",
            "12345678901234567890123",
            "-98765432109876543210.000",
        ])
        .prop_map(|t| Number::parse(t).unwrap()),
    ]
}

/// Every kind of value, `null` included, nested.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        2 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
        2 => number().prop_map(Value::Number),
        2 => text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec((text(), inner), 0..4).prop_map(|members| {
                let mut map = Map::new();
                for (key, value) in members {
                    map.insert(key, value);
                }
                Value::from(map)
            }),
        ]
    })
}

fn pointer() -> impl Strategy<Value = Pointer> {
    prop::collection::vec(text(), 0..3).prop_map(Pointer::from_tokens)
}

fn operation() -> impl Strategy<Value = Operation> {
    let index = prop::option::of(0..5usize);
    prop_oneof![
        (pointer(), value(), index.clone()).prop_map(|(path, value, index)| Operation::Add {
            path,
            value,
            index
        }),
        pointer().prop_map(|path| Operation::Remove { path }),
        (pointer(), value()).prop_map(|(path, value)| Operation::Replace { path, value }),
        (pointer(), pointer(), index).prop_map(|(from, path, index)| Operation::Move {
            from,
            path,
            index
        }),
        (pointer(), pointer()).prop_map(|(from, path)| Operation::Copy { from, path }),
        (pointer(), value()).prop_map(|(path, value)| Operation::Test { path, value }),
        (pointer(), value()).prop_map(|(path, value)| Operation::Merge { path, value }),
        (pointer(), 0..9usize, 0..9usize, text()).prop_map(|(path, pos, del, ins)| {
            Operation::Splice {
                path,
                pos,
                del,
                ins,
            }
        }),
        (pointer(), number()).prop_map(|(path, by)| Operation::Incr { path, by }),
    ]
}

fn party() -> impl Strategy<Value = Party> {
    (text(), text()).prop_map(|(client, author)| Party {
        client: ClientId(client),
        author,
    })
}

/// What a conflict says lost: nothing (a removal) or a value, `null` inside it included, but
/// never `null` itself: [`a_null_that_lost_round_trips`] covers that.
fn lost() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        1 => Just(None),
        3 => value().prop_filter("not null itself", |v| *v != Value::Null).prop_map(Some),
    ]
}

/// Conflict records whose losing value comes from `lost`.
fn conflict(lost: impl Strategy<Value = Option<Value>>) -> impl Strategy<Value = Conflict> {
    let reason = prop::option::of(prop::sample::select(vec![
        DropReason::Removed,
        DropReason::Replaced,
        DropReason::Overwritten,
    ]));
    (
        any::<bool>(),
        pointer(),
        lost,
        prop::option::of(operation()),
        reason,
        party(),
        party(),
        any::<u64>(),
    )
        .prop_map(
            |(overwritten, path, value, op, reason, winner, loser, rev)| Conflict {
                kind: if overwritten {
                    ConflictKind::Overwritten
                } else {
                    ConflictKind::Dropped
                },
                path,
                value,
                op,
                reason,
                winner,
                loser,
                rev: Revision(rev),
            },
        )
}

/// What the store holds in an `INTEGER` column: up to `i64::MAX`.
fn storable() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(i64::MAX as u64), 0..=i64::MAX as u64]
}

fn commit() -> impl Strategy<Value = Commit> {
    commit_with(conflict(lost()))
}

/// A client id as the relay admits them.
fn client_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._:-]{1,12}"
}

/// An author as the relay names them: any text, its control characters replaced.
fn author() -> impl Strategy<Value = String> {
    text().prop_map(|name| crate::admission::shown_name(&name))
}

fn commit_with(conflict: impl Strategy<Value = Conflict>) -> impl Strategy<Value = Commit> {
    (
        1..=i64::MAX as u64,
        client_id(),
        storable(),
        author(),
        storable(),
        prop::collection::vec(operation(), 0..4),
        prop::collection::vec(conflict, 0..3),
        prop::option::of(0..=1_000_000u64),
    )
        .prop_map(
            |(rev, client, seq, author, time, ops, conflicts, group)| Commit {
                rev: Revision(rev),
                client: ClientId(client),
                seq,
                author,
                time,
                ops,
                conflicts,
                group: group.filter(|g| *g < rev).map(Revision),
            },
        )
}

/// The columns the row of `change` puts in the `changes` table.
fn columns(row: rows::ChangeRow) -> [SqlValue; 8] {
    [
        SqlValue::Integer(row.rev),
        SqlValue::Text(row.client),
        SqlValue::Integer(row.seq),
        SqlValue::Text(row.author),
        SqlValue::Integer(row.time),
        SqlValue::Text(row.ops),
        SqlValue::Text(row.conflicts),
        row.group.map_or(SqlValue::Null, SqlValue::Integer),
    ]
}

/// Whether `commit` comes back from its row equal and with the same JSON.
fn round_trips(commit: &Commit) -> Result<(), TestCaseError> {
    let row = rows::encode(commit).map_err(TestCaseError::fail)?;
    let back =
        sqlite::read::read_commit(columns(row), commit.rev.0).map_err(TestCaseError::fail)?;
    prop_assert_eq!(
        serde_json::to_string(&back).unwrap(),
        serde_json::to_string(commit).unwrap()
    );
    prop_assert_eq!(&back, commit);
    Ok(())
}

proptest! {
    /// Every change the Authority can make is stored, and reads back equal, with the same
    /// JSON (so every digit of every number, every `null` in a value, every character).
    #[test]
    fn every_commit_round_trips_exactly_through_its_row(commit in commit()) {
        round_trips(&commit)?;
    }
}

proptest! {
    /// A conflict whose losing value is `null` comes back with `null` (not as "no value"),
    /// so the store keeps it instead of refusing the change.
    #[test]
    fn a_null_that_lost_round_trips(commit in commit_with(conflict(Just(Some(Value::Null))))) {
        round_trips(&commit)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: ProptestConfig::default().cases / 10,
        ..ProptestConfig::default()
    })]

    /// The same through each store: a log of such changes is committed and loaded back
    /// whole.
    #[test]
    fn logs_of_every_value_kind_load_back_exactly(changes in prop::collection::vec(commit(), 1..6)) {
        let changes: Vec<Commit> = changes
            .into_iter()
            .zip(1..)
            .map(|(change, rev)| Commit {
                rev: Revision(rev),
                group: change.group.map(|g| Revision(g.0 % rev)).filter(|g| g.0 > 0),
                ..change
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (sqlite, postgres) = STORES.get_or_init(|| runtime.block_on(async {
            let sqlite = Backing::sqlite("round-trip").unwrap();
            let postgres = Backing::postgres("round_trip").await;
            (sqlite, postgres)
        }));
        static DOCS: AtomicU64 = AtomicU64::new(0);
        for backing in std::iter::once(sqlite).chain(postgres) {
            let doc = format!("doc-{}", DOCS.fetch_add(1, Ordering::SeqCst));
            let loaded = runtime.block_on(async {
                let store = backing.open().await;
                let loaded = match store.commit(batch(&doc, changes.clone())).await {
                    Ok(()) => store.load(&doc).await,
                    Err(e) => Err(e),
                };
                store.close().await;
                loaded
            });
            let loaded = loaded.map_err(|e| TestCaseError::fail(format!("{backing:?}: {e}")))?.unwrap();
            prop_assert_eq!(loaded.changes, changes.clone());
        }
    }
}

/// The stores the property above runs through, made once.
static STORES: std::sync::OnceLock<(Backing, Option<Backing>)> = std::sync::OnceLock::new();
