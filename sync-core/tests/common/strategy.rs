//! Proptest strategies for documents and operations of every kind, shared by the law tests.

use proptest::prelude::*;
use sync_core::{Number, Operation, Pointer, Value};

use super::paths as all_paths;

pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-e]{1,2}",
        1 => Just(String::new()),
        1 => Just("a/b".to_owned()),
        1 => Just("~1".to_owned()),
        1 => "\\PC{1,4}",
    ]
}

pub fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        (-1000i64..1000).prop_map(Number::from),
        prop::sample::select(vec![
            "1.10",
            "1e400",
            "-0",
            "12345678901234567890123",
            "0.5",
            "2E-3"
        ])
        .prop_map(|t| Number::parse(t).unwrap()),
    ]
}

pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number().prop_map(Value::Number),
        "[a-c]{0,3}".prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::from),
    ]
}

pub fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..7).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Every location in `doc`, and next to each container a few that do not exist.
pub fn paths(doc: &Value) -> Vec<Pointer> {
    let mut out = Vec::new();
    for at in all_paths(doc) {
        match at.resolve(doc) {
            Some(Value::Array(items)) => {
                out.push(at.child("-"));
                out.push(at.child(items.len().to_string()));
                out.push(at.child((items.len() + 1).to_string()));
            }
            Some(Value::Object(_)) => out.push(at.child("new")),
            _ => {}
        }
        out.push(at);
    }
    out
}

/// The random material of one operation; [`build`] turns it into an operation on a document.
#[derive(Debug, Clone)]
pub struct OpSeed {
    kind: u8,
    path: prop::sample::Index,
    from: prop::sample::Index,
    value: Value,
    pos: usize,
    del: usize,
    text: String,
    by: Number,
    index: Option<usize>,
}

pub fn op_seed() -> impl Strategy<Value = OpSeed> {
    (
        0u8..9,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        value(),
        0usize..12,
        0usize..4,
        "\\PC{0,4}",
        number(),
        prop::option::of(0usize..5),
    )
        .prop_map(
            |(kind, path, from, value, pos, del, text, by, index)| OpSeed {
                kind,
                path,
                from,
                value,
                pos,
                del,
                text,
                by,
                index,
            },
        )
}

pub fn build(doc: &Value, seeds: &[OpSeed]) -> Vec<Operation> {
    let paths = paths(doc);
    seeds
        .iter()
        .map(|s| {
            let path = s.path.get(&paths).clone();
            let from = s.from.get(&paths).clone();
            match s.kind {
                0 => Operation::Add {
                    path,
                    value: s.value.clone(),
                    index: s.index,
                },
                1 => Operation::Remove { path },
                2 => Operation::Replace {
                    path,
                    value: s.value.clone(),
                },
                3 => Operation::Move {
                    from,
                    path,
                    index: s.index,
                },
                4 => Operation::Copy { from, path },
                5 => Operation::Test {
                    path,
                    value: s.value.clone(),
                },
                6 => Operation::Merge {
                    path,
                    value: s.value.clone(),
                },
                7 => Operation::Splice {
                    path,
                    pos: s.pos,
                    del: s.del,
                    ins: s.text.clone(),
                },
                _ => Operation::Incr {
                    path,
                    by: s.by.clone(),
                },
            }
        })
        .collect()
}
