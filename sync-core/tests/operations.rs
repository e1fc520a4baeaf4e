//! The behaviour of each operation beyond the RFC suites: member order, inverses, extension
//! operations and the errors users see.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sync_core::{Change, Value};

fn doc(s: &str) -> Value {
    Value::parse(s).unwrap()
}

/// Applies `patch` to `start`, checks the result, then checks that the inverse restores `start`
/// byte for byte.
fn check(start: &str, patch: &str, expected: &str) -> Change {
    let mut d = doc(start);
    let inverse = Change::from_json(patch).unwrap().apply(&mut d).unwrap();
    assert_eq!(d.to_json(), doc(expected).to_json(), "applying {patch}");
    let mut back = d.clone();
    inverse.apply(&mut back).unwrap();
    assert_eq!(
        back.to_json(),
        doc(start).to_json(),
        "inverse {}",
        inverse.to_json()
    );
    inverse
}

fn error(start: &str, patch: &str) -> sync_core::ApplyError {
    let mut d = doc(start);
    let err = Change::from_json(patch).unwrap().apply(&mut d).unwrap_err();
    assert_eq!(
        d.to_json(),
        doc(start).to_json(),
        "a failed change must leave no trace"
    );
    err
}

#[test]
fn renaming_a_key_keeps_its_place() {
    check(
        r#"{"a":1,"b":2,"c":3}"#,
        r#"[{"op":"move","from":"/b","path":"/x"}]"#,
        r#"{"a":1,"x":2,"c":3}"#,
    );
}

#[test]
fn undoing_a_removal_puts_the_member_back_in_place() {
    let inverse = check(
        r#"{"a":1,"b":2,"c":3}"#,
        r#"[{"op":"remove","path":"/a"}]"#,
        r#"{"b":2,"c":3}"#,
    );
    assert_eq!(
        inverse.to_json(),
        r#"[{"op":"add","path":"/a","value":1,"index":0}]"#
    );
}

#[test]
fn add_can_place_a_new_member() {
    check(
        r#"{"a":1,"c":3}"#,
        r#"[{"op":"add","path":"/b","value":2,"index":1}]"#,
        r#"{"a":1,"b":2,"c":3}"#,
    );
    // On an existing member the value is replaced in place; the position is ignored.
    check(
        r#"{"a":1,"c":3}"#,
        r#"[{"op":"add","path":"/c","value":4,"index":0}]"#,
        r#"{"a":1,"c":4}"#,
    );
}

#[test]
fn moves_in_arrays_invert_to_moves() {
    let inverse = check(
        "[0,1,2,3]",
        r#"[{"op":"move","from":"/0","path":"/3"}]"#,
        "[1,2,3,0]",
    );
    assert_eq!(
        inverse.to_json(),
        r#"[{"op":"move","from":"/3","path":"/0"}]"#
    );
}

#[test]
fn a_move_that_overwrites_restores_both_values() {
    check(
        r#"{"x":1,"a":2,"y":3}"#,
        r#"[{"op":"move","from":"/x","path":"/y"}]"#,
        r#"{"a":2,"y":1}"#,
    );
    check(
        r#"{"y":{"z":[1]}}"#,
        r#"[{"op":"move","from":"/y/z","path":"/y"}]"#,
        r#"{"y":[1]}"#,
    );
    check(
        r#"[1,{"z":2}]"#,
        r#"[{"op":"move","from":"/1/z","path":""}]"#,
        "2",
    );
    check(
        "[0,[1,2]]",
        r#"[{"op":"move","from":"/1/0","path":"/1"}]"#,
        "[0,1,[2]]",
    );
}

#[test]
fn moving_into_its_own_descendant_is_refused() {
    let err = error(
        r#"{"a":{"b":{}}}"#,
        r#"[{"op":"move","from":"/a","path":"/a/b/c"}]"#,
    );
    assert_eq!(err.code(), "move_into_descendant");
}

#[test]
fn splice_edits_by_character_and_inverts() {
    let inverse = check(
        r#"{"s":"héllo"}"#,
        r#"[{"op":"splice","path":"/s","pos":1,"del":1,"ins":"e🙂"}]"#,
        r#"{"s":"he🙂llo"}"#,
    );
    assert_eq!(
        inverse.to_json(),
        r#"[{"op":"splice","path":"/s","pos":1,"del":2,"ins":"é"}]"#
    );
    let err = error(
        r#"{"s":"abc"}"#,
        r#"[{"op":"splice","path":"/s","pos":2,"del":5,"ins":""}]"#,
    );
    assert_eq!(err.code(), "splice_out_of_range");
    assert_eq!(
        err.to_string(),
        "operation 0 (splice /s) failed: characters 2..7 are outside a string of 3 characters"
    );
    assert_eq!(
        error(
            r#"{"s":1}"#,
            r#"[{"op":"splice","path":"/s","pos":0,"del":0,"ins":"x"}]"#
        )
        .code(),
        "not_a_string"
    );
}

#[test]
fn incr_sums_and_inverts_exactly() {
    let inverse = check(
        r#"{"n":40}"#,
        r#"[{"op":"incr","path":"/n","by":2}]"#,
        r#"{"n":42}"#,
    );
    assert_eq!(inverse.to_json(), r#"[{"op":"incr","path":"/n","by":-2}]"#);
    // Fractions add as floats, so the inverse restores the old value itself.
    let inverse = check(
        r#"{"n":0.1}"#,
        r#"[{"op":"incr","path":"/n","by":0.2}]"#,
        r#"{"n":0.30000000000000004}"#,
    );
    assert_eq!(
        inverse.to_json(),
        r#"[{"op":"replace","path":"/n","value":0.1}]"#
    );
    assert_eq!(
        error(r#"{"n":"1"}"#, r#"[{"op":"incr","path":"/n","by":1}]"#).code(),
        "not_a_number"
    );
    assert_eq!(
        error(
            r#"{"n":1e308}"#,
            r#"[{"op":"incr","path":"/n","by":1e308}]"#
        )
        .code(),
        "number_overflow"
    );
}

#[test]
fn merge_touches_only_what_the_patch_names_and_inverts_exactly() {
    let inverse = check(
        r#"{"cfg":{"a":1,"b":{"c":2,"d":3},"e":4},"other":true}"#,
        r#"[{"op":"merge","path":"/cfg","value":{"a":null,"b":{"c":5},"f":[null]}}]"#,
        r#"{"cfg":{"b":{"c":5,"d":3},"e":4,"f":[null]},"other":true}"#,
    );
    assert_eq!(
        inverse.len(),
        3,
        "one inverse per touched member: {}",
        inverse.to_json()
    );
    // A missing target is merged from null: it is created.
    check(
        r#"{}"#,
        r#"[{"op":"merge","path":"/new","value":{"x":1,"y":null}}]"#,
        r#"{"new":{"x":1}}"#,
    );
}

#[test]
fn a_failed_change_names_the_operation_and_leaves_no_trace() {
    let err = error(
        r#"{"a":[1,2],"b":"x"}"#,
        r#"[{"op":"add","path":"/a/-","value":3},{"op":"remove","path":"/b"},{"op":"replace","path":"/c/d","value":0}]"#,
    );
    assert_eq!(
        (err.index, err.op, err.code()),
        (2, "replace", "path_not_found")
    );
    assert_eq!(
        err.to_string(),
        "operation 2 (replace /c/d) failed: /c does not exist"
    );
}

#[test]
fn errors_say_why_an_index_is_bad() {
    let cases = [
        (
            r#"[{"op":"remove","path":"/a/01"}]"#,
            r#"operation 0 (remove /a/01) failed: "01" has a leading zero (in the array at /a)"#,
        ),
        (
            r#"[{"op":"remove","path":"/a/2"}]"#,
            r#"operation 0 (remove /a/2) failed: "2" is out of range for an array of 2 items (in the array at /a)"#,
        ),
        (
            r#"[{"op":"replace","path":"/a/-","value":0}]"#,
            r#"operation 0 (replace /a/-) failed: "-" '-' (after the last item) is not allowed here (in the array at /a)"#,
        ),
        (
            r#"[{"op":"add","path":"/a/x","value":0}]"#,
            r#"operation 0 (add /a/x) failed: "x" is not an array index (in the array at /a)"#,
        ),
        (
            r#"[{"op":"add","path":"/s/x","value":0}]"#,
            "operation 0 (add /s/x) failed: /s is string, which has no members",
        ),
        (
            r#"[{"op":"remove","path":""}]"#,
            r#"operation 0 (remove "") failed: cannot remove the whole document (replace it instead)"#,
        ),
        (
            r#"[{"op":"test","path":"/s","value":"y"}]"#,
            r#"operation 0 (test /s) failed: test failed: found "x", expected "y""#,
        ),
    ];
    for (patch, message) in cases {
        assert_eq!(error(r#"{"a":[1,2],"s":"x"}"#, patch).to_string(), message);
    }
}

#[test]
fn test_compares_numbers_by_value_and_objects_without_order() {
    check(
        r#"{"n":1,"o":{"a":1,"b":2}}"#,
        r#"[{"op":"test","path":"/n","value":1.0},{"op":"test","path":"/o","value":{"b":2,"a":1e0}}]"#,
        r#"{"n":1,"o":{"a":1,"b":2}}"#,
    );
}

#[test]
fn copy_is_deep_and_inverts_to_a_removal() {
    let inverse = check(
        r#"{"a":{"x":[1]}}"#,
        r#"[{"op":"copy","from":"/a","path":"/b"},{"op":"add","path":"/b/x/-","value":2}]"#,
        r#"{"a":{"x":[1]},"b":{"x":[1,2]}}"#,
    );
    assert_eq!(inverse.len(), 2);
}
