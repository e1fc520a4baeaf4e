//! Keeps `docs/PROTOCOL.md` true: every example parses as the message it shows and writes back
//! to the same JSON, every message type has an example, and every code is documented.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;

use sync_core::Value;
use sync_core::parts::SubmitPart;
use sync_core::protocol::{
    ClientMessage, ErrorCode, REJECT_CODES, ServerMessage, StateHash, state_hash,
};

fn document() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PROTOCOL.md");
    std::fs::read_to_string(path).expect("docs/PROTOCOL.md is part of the repository")
}

/// The ```json client / ```json server blocks, with their side.
fn examples(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        if let Some(side) = line.strip_prefix("```json ") {
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.starts_with("```"))
                .collect();
            out.push((side.trim().to_owned(), body.join("\n")));
        }
    }
    out
}

#[test]
fn every_example_round_trips_and_every_message_has_one() {
    let doc = document();
    let mut client_types = BTreeSet::new();
    let mut server_types = BTreeSet::new();
    for (side, json) in examples(&doc) {
        let expected: serde_json::Value = serde_json::from_str(&json).unwrap();
        let written = match side.as_str() {
            // A part is a slice of a submit, not a message of its own (`sync_core::parts`).
            "client" if expected["type"] == "submit_part" => {
                let part: SubmitPart<'_> =
                    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
                serde_json::to_value(&part).unwrap()
            }
            "client" => {
                let message: ClientMessage =
                    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
                serde_json::to_value(&message).unwrap()
            }
            "server" => {
                let message: ServerMessage =
                    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
                serde_json::to_value(&message).unwrap()
            }
            other => panic!("unknown side {other}"),
        };
        assert_eq!(written, expected, "the example does not round-trip");
        let kind = expected["type"].as_str().unwrap().to_owned();
        if side == "client" {
            client_types.insert(kind)
        } else {
            server_types.insert(kind)
        };
    }
    let all = |names: &[&str]| {
        names
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        client_types,
        all(&[
            "hello",
            "history",
            "presence",
            "snapshot",
            "submit",
            "submit_part"
        ])
    );
    assert_eq!(
        server_types,
        all(&[
            "ack", "applied", "error", "history", "presence", "reject", "snapshot", "welcome"
        ])
    );
}

#[test]
fn the_parts_in_the_example_join_into_a_submit_of_their_change() {
    let doc = document();
    let mut text = String::new();
    for (_, json) in examples(&doc) {
        if let Ok(part) = serde_json::from_str::<SubmitPart<'_>>(&json) {
            assert_eq!(part.seq, 15);
            text.push_str(&part.data);
        }
    }
    let joined: ClientMessage =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(matches!(joined, ClientMessage::Submit { seq: 15, .. }));
}

#[test]
fn every_code_is_documented() {
    let doc = document();
    for code in ErrorCode::ALL {
        assert!(
            doc.contains(&format!("| `{}` |", code.as_str())),
            "error code {} undocumented",
            code.as_str()
        );
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{}\"", code.as_str()));
    }
    for code in REJECT_CODES {
        assert!(
            doc.contains(&format!("| `{code}` |")),
            "reject code {code} undocumented"
        );
    }
}

#[test]
fn the_state_hash_is_as_specified() {
    // Worked from the specification by hand for `{"a": 1.50}`.
    use xxhash_rust::xxh64::xxh64;
    let member = [&1u64.to_le_bytes()[..], b"a", b"#15e-1"].concat();
    let object = [
        &b"{"[..],
        &1u64.to_le_bytes(),
        &xxh64(&member, 0).to_le_bytes(),
    ]
    .concat();
    let expected = StateHash(xxh64(&object, 0));
    assert_eq!(
        state_hash(&Value::parse(r#"{"a": 1.50}"#).unwrap()),
        expected
    );
    assert_eq!(
        state_hash(&Value::parse(r#"{"a": 1.5e0}"#).unwrap()),
        expected
    );
    let json = serde_json::to_string(&StateHash(0xc0ffee)).unwrap();
    assert_eq!(json, r#""0000000000c0ffee""#);
}

#[test]
fn every_apply_error_code_is_a_documented_reject_code() {
    use sync_core::ApplyErrorKind as K;
    use sync_core::pointer::IndexError;
    let root = sync_core::Pointer::root();
    // Listed by an exhaustive match, so a new kind must be added here (and to the docs).
    let code = |k: &K| match k {
        K::NotFound { .. }
        | K::NotAContainer { .. }
        | K::BadIndex { .. }
        | K::TestFailed { .. }
        | K::MoveIntoDescendant { .. }
        | K::RemoveRoot
        | K::NotAString { .. }
        | K::NotANumber { .. }
        | K::SpliceOutOfRange(_)
        | K::NumberOverflow
        | K::TooDeep => k.code(),
    };
    let kinds = [
        K::NotFound { at: root.clone() },
        K::NotAContainer {
            at: root.clone(),
            found: "number",
        },
        K::BadIndex {
            at: root.clone(),
            token: "x".into(),
            reason: IndexError::NotANumber,
        },
        K::TestFailed {
            actual: String::new(),
            expected: String::new(),
        },
        K::MoveIntoDescendant { from: root },
        K::RemoveRoot,
        K::NotAString { found: "number" },
        K::NotANumber { found: "string" },
        K::SpliceOutOfRange(sync_core::value::SpliceOutOfRange {
            pos: 1,
            del: 1,
            len: 0,
        }),
        K::NumberOverflow,
        K::TooDeep,
    ];
    for kind in &kinds {
        assert!(
            REJECT_CODES.contains(&code(kind)),
            "{} is not a reject code",
            code(kind)
        );
    }
}
