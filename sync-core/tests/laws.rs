//! Properties that must hold for every document and every change.
//!
//! `PROPTEST_CASES=N` scales the number of cases (default 256). A failing case is shrunk,
//! printed, and saved under `tests/laws.proptest-regressions`, which proptest replays first on
//! every later run; commit that file with the fix.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;

mod common;
use common::strategy::{build, op_seed, value};
use sync_core::value::{Inline, Layout, Style, Text};

fn styles() -> impl Iterator<Item = Style> {
    let one_line = |width, arrays, objects, nested, spaced, padded| Inline {
        depth: None,
        width,
        arrays,
        objects,
        nested,
        spaced,
        padded,
    };
    let layouts = [
        (Layout::Compact, None),
        (Layout::Spaced, None),
        (Layout::Spaces(2), None),
        (Layout::Spaces(4), None),
        (Layout::Spaces(0), None),
        (Layout::Tabs, None),
        // Files that keep some containers on one line, as written by hand or by Prettier.
        (
            Layout::Spaces(2),
            Some(one_line(40, true, true, true, true, false)),
        ),
        (
            Layout::Spaces(4),
            Some(one_line(80, true, false, false, false, false)),
        ),
        (
            Layout::Tabs,
            Some(one_line(120, false, true, true, true, true)),
        ),
        (
            Layout::Spaces(2),
            Some(one_line(12, true, true, false, true, true)),
        ),
        // Everything from a depth down on one line (records one per line).
        (
            Layout::Spaces(2),
            Some(Inline {
                depth: Some(2),
                ..one_line(0, true, true, true, true, false)
            }),
        ),
        (
            Layout::Tabs,
            Some(Inline {
                depth: Some(3),
                ..one_line(0, true, true, true, false, true)
            }),
        ),
    ];
    (0..8u8).flat_map(move |bits| {
        layouts.into_iter().map(move |(layout, inline)| Style {
            escape_non_ascii: bits & 1 != 0,
            escape_slash: bits & 2 != 0,
            uppercase_hex: bits & 4 != 0,
            layout,
            inline,
        })
    })
}
use sync_core::{Change, MAX_DEPTH, Operation, Pointer, Value, diff, export, merge};

/// A document and a version of it edited by random operations (the ones that applied).
fn edited_pair() -> impl Strategy<Value = (Value, Value)> {
    (value(), prop::collection::vec(op_seed(), 1..10)).prop_map(|(a, seeds)| {
        let mut b = a.clone();
        for op in build(&a, &seeds) {
            let _ = Change(vec![op]).apply(&mut b);
        }
        (a, b)
    })
}

/// Array-heavy pairs: a list of records and the same list with inserts, removals and moves.
fn edited_list() -> impl Strategy<Value = (Value, Value)> {
    let item = prop_oneof![(0u32..40).prop_map(|i| Value::from(i64::from(i))), value()];
    (
        prop::collection::vec(item.clone(), 0..30),
        prop::collection::vec(
            (
                0u8..3,
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
                item,
            ),
            0..12,
        ),
    )
        .prop_map(|(items, edits)| {
            let mut b = items.clone();
            for (kind, at, to, value) in edits {
                match kind {
                    0 => {
                        let i = if b.is_empty() {
                            0
                        } else {
                            at.index(b.len() + 1)
                        };
                        b.insert(i, value);
                    }
                    1 if !b.is_empty() => {
                        b.remove(at.index(b.len()));
                    }
                    _ if !b.is_empty() => {
                        let moved = b.remove(at.index(b.len()));
                        let j = to.index(b.len() + 1);
                        b.insert(j, moved);
                    }
                    _ => {}
                }
            }
            (Value::Array(items), Value::Array(b))
        })
}

fn b_json(op: &Operation) -> String {
    serde_json::to_string(op).unwrap()
}

fn apply_all(doc: &Value, change: &Change) -> Value {
    let mut out = doc.clone();
    if let Err(e) = change.apply(&mut out) {
        panic!("patch {} does not apply to {doc}: {e}", change.to_json());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("tests/laws.proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn diff_round_trips((a, b) in prop_oneof![edited_pair(), edited_list(), (value(), value())]) {
        let extended = diff::diff(&a, &b);
        prop_assert_eq!(&apply_all(&a, &extended), &b);
        let plain = diff::diff_rfc6902(&a, &b);
        prop_assert!(plain.ops().iter().all(Operation::is_rfc6902));
        prop_assert_eq!(&apply_all(&a, &plain), &b);
        prop_assert!(diff::diff(&b, &b).is_empty());
        // Deterministic: the same inputs give the same patch.
        prop_assert_eq!(diff::diff(&a, &b), extended);
    }

    #[test]
    fn inverse_restores_exactly_and_failures_change_nothing(
        doc in value(),
        seeds in prop::collection::vec(op_seed(), 1..6),
    ) {
        let change = Change(build(&doc, &seeds));
        let before = doc.to_json();
        let mut edited = doc;
        match change.apply(&mut edited) {
            Ok(inverse) => {
                let after = edited.to_json();
                let redo = inverse.apply(&mut edited).unwrap();
                prop_assert_eq!(edited.to_json(), before, "inverse of {}", change.to_json());
                redo.apply(&mut edited).unwrap();
                prop_assert_eq!(edited.to_json(), after, "inverse of the inverse");
            }
            Err(e) => {
                prop_assert!(e.index < change.len());
                prop_assert_eq!(&e.path, change.ops()[e.index].path());
                prop_assert_eq!(edited.to_json(), before, "failed change {} left traces", change.to_json());
            }
        }
    }

    #[test]
    fn every_operation_survives_a_serde_round_trip(doc in value(), seeds in prop::collection::vec(op_seed(), 1..6)) {
        for op in build(&doc, &seeds) {
            let json = serde_json::to_string(&op).unwrap();
            let back: Operation = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
            prop_assert_eq!(back, op);
        }
    }

    #[test]
    fn merge_patches_round_trip_where_expressible((a, b) in prop_oneof![edited_pair(), (value(), value())]) {
        match merge::diff(&a, &b) {
            Ok(patch) => prop_assert_eq!(merge::merged(a, &patch), b),
            Err(e) => {
                prop_assert!(!e.paths.is_empty());
                for path in &e.paths {
                    prop_assert_eq!(path.resolve(&b), Some(&Value::Null));
                }
            }
        }
    }

    #[test]
    fn text_round_trips_byte_for_byte(doc in value()) {
        let compact = doc.to_json();
        prop_assert_eq!(&Value::parse(&compact).unwrap().to_json(), &compact);
        let pretty = doc.to_json_pretty();
        prop_assert_eq!(Value::parse(&pretty).unwrap().to_json_pretty(), pretty);
        // Whatever the escaping style and layout, reading notes them and writing reproduces
        // the bytes.
        for style in styles() {
            let text = doc.to_json_as(style);
            let (again, seen) = Value::parse_styled(&text).unwrap();
            prop_assert_eq!(&again, &doc);
            prop_assert_eq!(again.to_json_as(seen), text, "{:?} read as {:?}", style, seen);
        }
        // serde_json reads what we write, to the same value.
        let theirs: serde_json::Value = serde_json::from_str(&compact).unwrap();
        prop_assert_eq!(Value::try_from(theirs).unwrap(), doc);
    }

    #[test]
    fn rfc6902_export_has_the_same_effect(doc in value(), seeds in prop::collection::vec(op_seed(), 1..6)) {
        let change = Change(build(&doc, &seeds));
        let mut extended = doc.clone();
        if change.apply(&mut extended).is_ok() {
            let plain = export::to_rfc6902(&doc, &change).unwrap();
            prop_assert!(plain.ops().iter().all(Operation::is_rfc6902));
            let hinted = |op: &Operation| {
                matches!(op, Operation::Add { index: Some(_), .. } | Operation::Move { index: Some(_), .. })
            };
            prop_assert!(!plain.ops().iter().any(hinted));
            prop_assert_eq!(apply_all(&doc, &plain), extended);
        }
    }

    /// Two concurrent operations valid on the same document: after A, B rebased over A still
    /// applies (or was dropped, with a reason). Tests and moves are left out: they may rightly
    /// fail after rebasing (a changed value, a move into its own descendant).
    #[test]
    fn a_rebased_operation_still_applies(doc in value(), seeds in prop::collection::vec(op_seed(), 2..3)) {
        let ops = build(&doc, &seeds);
        // What is rebased over is canonical (`-` resolved), as in the log and in replicas.
        let a = &sync_core::authority::canonical(ops[0].clone(), &doc);
        let b = &ops[1];
        let applies = |op: &Operation| {
            let mut d = doc.clone();
            Change(vec![op.clone()]).apply(&mut d).is_ok()
        };
        // Most random pairs are valid; the rest say nothing about rebasing.
        if !(applies(a) && applies(b)) || matches!(b, Operation::Test { .. } | Operation::Move { .. }) {
            return Ok(());
        }
        let placed = |op: &Operation| sync_core::rebase::Placed { op: op.clone(), shape: sync_core::rebase::Shape::of(op, &doc) };
        let mut after_a = doc.clone();
        Change(vec![a.clone()]).apply(&mut after_a).unwrap();
        match sync_core::rebase::rebase_op(&placed(b), &placed(a), sync_core::rebase::Side::Later) {
            sync_core::rebase::Rebased::Same => {
                let mut d = after_a.clone();
                prop_assert!(Change(vec![b.clone()]).apply(&mut d).is_ok(), "{} after {}", b_json(b), b_json(a));
            }
            sync_core::rebase::Rebased::Keep(rebased) => {
                let mut d = after_a.clone();
                let result = Change(rebased.clone()).apply(&mut d);
                prop_assert!(result.is_ok(), "{} rebased to {} after {}: {:?}", b_json(b), Change(rebased).to_json(), b_json(a), result);
            }
            sync_core::rebase::Rebased::Overwrites(op) => {
                let mut d = after_a.clone();
                prop_assert!(Change(vec![op.clone()]).apply(&mut d).is_ok(), "{} after {}", b_json(&op), b_json(a));
            }
            sync_core::rebase::Rebased::Drop(_) => {}
        }
    }

    #[test]
    fn splices_match_a_plain_string_model(
        start in "\\PC{0,1500}",
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..40, "\\PC{0,30}"), 1..40),
    ) {
        let mut text = Text::from(start.as_str());
        let mut model: Vec<char> = start.chars().collect();
        for (at, del, ins) in edits {
            let pos = at.index(model.len() + 1);
            let del = del.min(model.len() - pos);
            let deleted = text.splice(pos, del, &ins).unwrap();
            let expected: String = model.splice(pos..pos + del, ins.chars()).collect();
            prop_assert_eq!(deleted, expected);
            prop_assert_eq!(text.len_chars(), model.len());
        }
        prop_assert_eq!(text.to_string(), model.iter().collect::<String>());
    }
}

#[test]
fn operations_cannot_nest_past_the_limit() {
    let deep = Value::parse(&("[".repeat(MAX_DEPTH - 1) + &"]".repeat(MAX_DEPTH - 1))).unwrap();
    let mut doc = Value::parse(r#"{"a": {}}"#).unwrap();
    let before = doc.to_json();
    for op in [
        Operation::add(Pointer::parse("/a/b").unwrap(), deep.clone()),
        Operation::replace(
            Pointer::parse("/a").unwrap(),
            Value::Array(vec![deep.clone()]),
        ),
        Operation::Merge {
            path: Pointer::parse("/a/b").unwrap(),
            value: deep.clone(),
        },
    ] {
        let err = Change(vec![op]).apply(&mut doc).unwrap_err();
        assert_eq!(err.code(), "too_deep");
        assert_eq!(doc.to_json(), before);
    }
    // Exactly at the limit is fine.
    Change(vec![Operation::add(Pointer::parse("/b").unwrap(), deep)])
        .apply(&mut doc)
        .unwrap();
    assert_eq!(doc.depth(), MAX_DEPTH);
}
