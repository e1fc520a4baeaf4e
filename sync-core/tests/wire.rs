//! Golden tests: the JSON wire form of every operation, pinned. Other tools and other relays
//! read these bytes; changing one is a protocol change.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sync_core::{Change, Number, Operation, Pointer, Value};

fn p(s: &str) -> Pointer {
    Pointer::parse(s).unwrap()
}

fn v(s: &str) -> Value {
    Value::parse(s).unwrap()
}

fn assert_wire(op: &Operation, json: &str) {
    assert_eq!(
        serde_json::to_string(&op).unwrap(),
        json,
        "serializing {op:?}"
    );
    let back: Operation = serde_json::from_str(json).unwrap();
    assert_eq!(&back, op, "deserializing {json}");
}

#[test]
fn add() {
    assert_wire(
        &Operation::add(p("/a~1b/0"), v("[1.10]")),
        r#"{"op":"add","path":"/a~1b/0","value":[1.10]}"#,
    );
    assert_wire(
        &Operation::Add {
            path: p("/k"),
            value: v("null"),
            index: Some(0),
        },
        r#"{"op":"add","path":"/k","value":null,"index":0}"#,
    );
}

#[test]
fn remove() {
    assert_wire(
        &Operation::remove(p("/items/-")),
        r#"{"op":"remove","path":"/items/-"}"#,
    );
}

#[test]
fn replace() {
    assert_wire(
        &Operation::replace(p(""), v(r#"{"z":1,"a":2}"#)),
        r#"{"op":"replace","path":"","value":{"z":1,"a":2}}"#,
    );
}

#[test]
fn move_() {
    assert_wire(
        &Operation::move_(p("/a"), p("/b")),
        r#"{"op":"move","from":"/a","path":"/b"}"#,
    );
    assert_wire(
        &Operation::Move {
            from: p("/a"),
            path: p("/o/b"),
            index: Some(3),
        },
        r#"{"op":"move","from":"/a","path":"/o/b","index":3}"#,
    );
}

#[test]
fn copy() {
    assert_wire(
        &Operation::Copy {
            from: p("/a"),
            path: p("/b"),
        },
        r#"{"op":"copy","from":"/a","path":"/b"}"#,
    );
}

#[test]
fn test() {
    assert_wire(
        &Operation::Test {
            path: p("/n"),
            value: v("1.10"),
        },
        r#"{"op":"test","path":"/n","value":1.10}"#,
    );
}

/// Every digit crosses the wire; the exponent is spelled `e+`/`e-` (serde_json's
/// arbitrary-precision reader normalizes it on input, so output does the same).
#[test]
fn numbers_keep_their_digits_and_normalize_exponents() {
    let op = Operation::add(p("/n"), v("[1e400, 2E-3, 12345678901234567890123, -0]"));
    let json = r#"{"op":"add","path":"/n","value":[1e+400,2e-3,12345678901234567890123,-0]}"#;
    assert_eq!(serde_json::to_string(&op).unwrap(), json);
    assert_eq!(serde_json::from_str::<Operation>(json).unwrap(), op);
}

#[test]
fn merge() {
    assert_wire(
        &Operation::Merge {
            path: p("/cfg"),
            value: v(r#"{"debug":null,"port":8080}"#),
        },
        r#"{"op":"merge","path":"/cfg","value":{"debug":null,"port":8080}}"#,
    );
}

#[test]
fn splice() {
    assert_wire(
        &Operation::Splice {
            path: p("/title"),
            pos: 3,
            del: 1,
            ins: "é🙂".into(),
        },
        r#"{"op":"splice","path":"/title","pos":3,"del":1,"ins":"é🙂"}"#,
    );
}

#[test]
fn incr() {
    assert_wire(
        &Operation::Incr {
            path: p("/count"),
            by: Number::parse("-2.5").unwrap(),
        },
        r#"{"op":"incr","path":"/count","by":-2.5}"#,
    );
}

#[test]
fn a_change_is_a_plain_json_array() {
    let change = Change(vec![Operation::remove(p("/a")), Operation::add(p("/b"), 1)]);
    let json = r#"[{"op":"remove","path":"/a"},{"op":"add","path":"/b","value":1}]"#;
    assert_eq!(change.to_json(), json);
    assert_eq!(Change::from_json(json).unwrap(), change);
}

#[test]
fn member_order_in_the_input_does_not_matter() {
    let op: Operation = serde_json::from_str(r#"{"value":2,"path":"/x","op":"replace"}"#).unwrap();
    assert_eq!(op, Operation::replace(p("/x"), 2));
}

#[test]
fn unknown_members_are_ignored_as_rfc6902_requires() {
    let op: Operation = serde_json::from_str(r#"{"op":"remove","path":"/x","note":"hi"}"#).unwrap();
    assert_eq!(op, Operation::remove(p("/x")));
}

#[test]
fn malformed_operations_are_refused_with_a_reason() {
    let cases = [
        (r#"{"op":"spam","path":"/x"}"#, "unknown variant `spam`"),
        (r#"{"path":"/x"}"#, "missing field `op`"),
        (r#"{"op":"add","value":1}"#, "missing field `path`"),
        (r#"{"op":"add","path":"/x"}"#, "missing field `value`"),
        (r#"{"op":"move","path":"/x"}"#, "missing field `from`"),
        (
            r#"{"op":"add","path":"x","value":1}"#,
            "must be empty or start with '/'",
        ),
        (r#"{"op":"add","path":"/a~2","value":1}"#, "invalid escape"),
        (
            r#"{"op":"add","path":null,"value":1}"#,
            "invalid type: null",
        ),
        (
            r#"{"op":"splice","path":"/s","pos":-1,"del":0,"ins":""}"#,
            "invalid value",
        ),
        (r#"{"op":"incr","path":"/n","by":"1"}"#, "invalid type"),
        (
            r#"{"op":"add","path":"/a","value":1,"op":"remove"}"#,
            "duplicate field `op`",
        ),
        (
            r#"{"op":"add","path":"/a","path":"/b","value":1}"#,
            "duplicate field `path`",
        ),
    ];
    for (json, expected) in cases {
        let err = serde_json::from_str::<Operation>(json)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(expected),
            "{json}: {err:?} should mention {expected:?}"
        );
    }
}
