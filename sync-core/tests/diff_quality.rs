//! How small `diff`'s patches are, not only that they are correct (the laws check that).

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sync_core::{Map, Operation, Value, diff};

mod common;

use common::{Rng, minimal_edits};

fn record(id: usize) -> Value {
    let mut m = Map::new();
    m.insert("id", Value::from(id as i64));
    m.insert("name", Value::from(format!("user {id}")));
    m.insert(
        "tags",
        Value::Array(vec![Value::from("a"), Value::from(format!("t{}", id % 7))]),
    );
    Value::Object(m)
}

#[test]
fn array_of_records_after_random_inserts_and_deletes_is_within_ten_percent_of_minimal() {
    for seed in 0..20 {
        let mut rng = Rng(seed);
        let before: Vec<usize> = (0..2000).collect();
        let mut after = before.clone();
        for e in 0..100 {
            if rng.below(2) == 0 {
                let at = rng.below(after.len() + 1);
                after.insert(at, 10_000 + e);
            } else {
                let at = rng.below(after.len());
                after.remove(at);
            }
        }
        let a = Value::Array(before.iter().map(|id| record(*id)).collect());
        let b = Value::Array(after.iter().map(|id| record(*id)).collect());
        let patch = diff::diff_rfc6902(&a, &b);
        let minimal = minimal_edits(&before, &after);
        assert!(
            patch.len() * 10 <= minimal * 11,
            "seed {seed}: {} operations where {minimal} inserts and deletes suffice",
            patch.len()
        );
        let mut doc = a.clone();
        patch.apply(&mut doc).unwrap();
        assert_eq!(doc, b);
    }
}

#[test]
fn a_moved_item_is_one_move() {
    let a = Value::Array((0..50).map(record).collect());
    let mut items: Vec<Value> = (0..50).map(record).collect();
    let moved = items.remove(3);
    items.insert(40, moved);
    let patch = diff::diff(&a, &Value::Array(items));
    assert_eq!(
        patch.to_json(),
        r#"[{"op":"move","from":"/3","path":"/40"}]"#
    );
}

#[test]
fn one_changed_field_in_an_array_item_is_one_replace() {
    let a = Value::Array((0..50).map(record).collect());
    let mut b = a.clone();
    let Value::Array(items) = &mut b else {
        unreachable!()
    };
    let Value::Object(m) = &mut items[17] else {
        unreachable!()
    };
    m.insert("name", Value::from("renamed"));
    let patch = diff::diff_rfc6902(&a, &b);
    assert_eq!(
        patch.ops(),
        [Operation::replace("/17/name".parse().unwrap(), "renamed")]
    );
}

#[test]
fn a_renamed_key_is_one_move_and_keeps_its_place() {
    let a = Value::parse(r#"{"a": 1, "b": {"deep": [1, 2, 3]}, "c": 3}"#).unwrap();
    let b = Value::parse(r#"{"a": 1, "bee": {"deep": [1, 2, 3]}, "c": 3}"#).unwrap();
    let patch = diff::diff(&a, &b);
    assert_eq!(
        patch.to_json(),
        r#"[{"op":"move","from":"/b","path":"/bee"}]"#
    );
    let mut doc = a;
    patch.apply(&mut doc).unwrap();
    assert_eq!(doc.to_json(), b.to_json(), "member order too");
}

#[test]
fn a_string_edit_is_one_splice_when_that_is_smaller() {
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(20);
    let a = Value::from(text.as_str());
    let b = Value::from(text.replacen("lazy", "sleepy", 1));
    let patch = diff::diff(&a, &b);
    assert_eq!(
        patch.ops(),
        [Operation::Splice {
            path: sync_core::Pointer::root(),
            pos: 35,
            del: 3,
            ins: "sleep".into()
        }]
    );
    assert_eq!(diff::diff_rfc6902(&a, &b).ops()[0].name(), "replace");
}

#[test]
fn new_members_go_where_the_target_has_them_in_extended_mode() {
    let a = Value::parse(r#"{"a": 1, "c": 3}"#).unwrap();
    let b = Value::parse(r#"{"a": 1, "b": 2, "c": 3}"#).unwrap();
    let mut doc = a.clone();
    diff::diff(&a, &b).apply(&mut doc).unwrap();
    assert_eq!(doc.to_json(), b.to_json());
}
