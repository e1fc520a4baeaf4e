//! Reading a client's text frame: the message it holds, or how to answer one that holds none.
//!
//! Most unreadable frames get an `error` (`invalid_json`, `invalid_message`). A `submit` whose
//! `seq` can be read is different: its sender has that change in flight, waiting for an answer
//! about its `seq`, and an `error` would leave it waiting for ever. So the relay reads `seq` on
//! its own and answers with a `reject` of that `seq`: code `too_deep` when a value nests deeper
//! than a document may ([`MAX_DEPTH`]; a correct client can send one, because someone pasted
//! it), read in a pass that skips over values without descending into them (so without a depth
//! limit), and `invalid_change` when the change is malformed (an unknown operation, a pointer
//! that is not one, no operations at all).
//!
//! A frame may also hold a `submit_part`, a slice of a change too long for a frame (see
//! [`sync_core::parts`]): not a message of its own, so it is read apart from the messages.

use serde::Deserialize;
use serde::de::IgnoredAny;
use sync_core::MAX_DEPTH;
use sync_core::parts::SubmitPart;
use sync_core::protocol::{ClientMessage, ErrorCode};

/// What a readable frame holds.
#[derive(Debug)]
pub(crate) enum Frame<'a> {
    /// A message.
    Message(ClientMessage),
    /// A slice of a `submit` sent in parts.
    Part(SubmitPart<'a>),
}

/// How a submitted value sits in its frame: message object, `ops` array, operation object.
const VALUE_LEVEL: usize = 3;

/// A frame that holds no message the relay can serve, and the answer it gets.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// Answer with an `error`.
    Error(ErrorCode, String),
    /// A `submit` that cannot be read whole: answer with a `reject` of `seq`.
    Reject {
        /// The change's sequence number.
        seq: u64,
        /// The reject code: `too_deep` or `invalid_change`.
        code: &'static str,
        /// Why, for people.
        message: String,
    },
}

/// A frame's `type`, read alone. Other members are skipped.
#[derive(Deserialize)]
struct Tag {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// What the relay reads of a frame it cannot read whole. Other members are skipped.
#[derive(Deserialize)]
struct Header {
    #[serde(rename = "type")]
    kind: Option<String>,
    seq: Option<u64>,
}

/// How a part begins when the client writes its `type` first, as [`sync_core::parts`] does:
/// such a frame is read as a part straight away, without trying it as a message first.
const PART_START: &str = r#"{"type":"submit_part","#;

/// Reads a text frame.
pub(crate) fn read(text: &str) -> Result<Frame<'_>, Unreadable> {
    if text.starts_with(PART_START) {
        return read_part(text);
    }
    let error = match serde_json::from_str::<ClientMessage>(text) {
        Ok(message) => return Ok(Frame::Message(message)),
        Err(error) => error,
    };
    // Whether it is JSON at all, checked without a depth limit (serde_json stops at 128).
    if let Err(e) = serde_json::from_str::<IgnoredAny>(text) {
        return Err(Unreadable::Error(ErrorCode::InvalidJson, e.to_string()));
    }
    if let Ok(Tag { kind: Some(kind) }) = serde_json::from_str::<Tag>(text)
        && kind == "submit_part"
    {
        return read_part(text);
    }
    let depth = nesting(text);
    let submit = match serde_json::from_str::<Header>(text) {
        Ok(Header {
            kind: Some(kind),
            seq: Some(seq),
        }) if kind == "submit" => Some(seq),
        _ => None,
    };
    if depth <= MAX_DEPTH + VALUE_LEVEL {
        return Err(match submit {
            Some(seq) => Unreadable::Reject {
                seq,
                code: "invalid_change",
                message: format!("change {seq} was not applied: {error}"),
            },
            None => Unreadable::Error(ErrorCode::InvalidMessage, error.to_string()),
        });
    }
    match submit {
        Some(seq) => Err(Unreadable::Reject {
            seq,
            code: "too_deep",
            message: format!(
                "change {seq} was not applied: a value in it nests deeper than {MAX_DEPTH} arrays and objects"
            ),
        }),
        None => Err(Unreadable::Error(
            ErrorCode::InvalidMessage,
            format!(
                "the message nests {depth} arrays and objects deep; values may nest {MAX_DEPTH} deep"
            ),
        )),
    }
}

/// Reads a frame that says it is a `submit_part`.
fn read_part(text: &str) -> Result<Frame<'_>, Unreadable> {
    serde_json::from_str(text).map(Frame::Part).map_err(|e| {
        let code = if e.is_syntax() || e.is_eof() {
            ErrorCode::InvalidJson
        } else {
            ErrorCode::InvalidMessage
        };
        Unreadable::Error(code, format!("a submit_part: {e}"))
    })
}

/// How deeply arrays and objects nest in `text` (JSON text, or close to it), counted without
/// recursion.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A submit of seq 7 adding a value nested `n` arrays deep.
    fn submit_nested(n: usize) -> String {
        let value = "[".repeat(n) + &"]".repeat(n);
        format!(
            r#"{{"type": "submit", "seq": 7, "base_rev": 0, "ops": [{{"op": "add", "path": "/a", "value": {value}}}]}}"#
        )
    }

    #[test]
    fn nesting_counts_containers_outside_strings() {
        assert_eq!(nesting("1"), 0);
        assert_eq!(nesting(r#"{"a": [1, {"b": []}]}"#), 4);
        assert_eq!(nesting(r#"{"a": "[[[{{{\"[[["}"#), 1);
        assert_eq!(nesting(r#"["\\", [[]]]"#), 3);
    }

    #[test]
    fn a_value_at_the_limit_is_read() {
        let text = submit_nested(MAX_DEPTH);
        let message = read(&text).unwrap();
        assert!(matches!(
            message,
            Frame::Message(ClientMessage::Submit { seq: 7, .. })
        ));
    }

    #[test]
    fn parts_are_read_whatever_the_order_of_their_members() {
        for text in [
            r#"{"type":"submit_part","seq":3,"part":1,"parts":2,"data":"{\"a\""}"#,
            r#"{"data": "{\"a\"", "parts": 2, "part": 1, "seq": 3, "type": "submit_part"}"#,
        ] {
            let Ok(Frame::Part(part)) = read(text) else {
                panic!("{text}")
            };
            assert_eq!((part.seq, part.part, part.parts), (3, 1, 2));
            assert_eq!(part.data, "{\"a\"");
        }
        let code = |text: &str| match read(text) {
            Err(Unreadable::Error(code, _)) => code,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(
            code(r#"{"type":"submit_part","seq":3,"part":1,"parts":2}"#),
            ErrorCode::InvalidMessage
        );
        assert_eq!(
            code(r#"{"parts": 2, "type": "submit_part", "seq": -1, "part": 0, "data": ""}"#),
            ErrorCode::InvalidMessage
        );
        assert_eq!(
            code(r#"{"type":"submit_part","seq":3,"part":1,"#),
            ErrorCode::InvalidJson
        );
    }

    #[test]
    fn a_submit_nested_too_deep_is_a_reject_of_its_seq_however_deep() {
        // Just past the limit (serde_json reads it; the value refuses it), past serde_json's
        // own limit of 128, and far past both.
        for n in [MAX_DEPTH + 1, 130, 100_000] {
            let answer = read(&submit_nested(n)).unwrap_err();
            assert!(
                matches!(&answer, Unreadable::Reject { seq: 7, code: "too_deep", message } if message.contains("nests deeper than 100")),
                "{n}: {answer:?}"
            );
        }
    }

    #[test]
    fn other_unreadable_frames_are_errors() {
        let code = |text: &str| match read(text) {
            Err(Unreadable::Error(code, _)) => code,
            other => panic!("{text}: {other:?}"),
        };
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(code("{\"type\": \"submit\", "), ErrorCode::InvalidJson);
        assert_eq!(code(&format!("{deep}x")), ErrorCode::InvalidJson);
        assert_eq!(code(&deep), ErrorCode::InvalidMessage);
        // Too deep, but not a submit, or without a seq to answer about.
        assert_eq!(
            code(&format!(r#"{{"type": "presence", "x": {deep}}}"#)),
            ErrorCode::InvalidMessage
        );
        assert_eq!(
            code(&format!(
                r#"{{"type": "submit", "base_rev": 0, "ops": [{{"op": "add", "path": "/a", "value": {deep}}}]}}"#
            )),
            ErrorCode::InvalidMessage
        );
        assert_eq!(
            code(r#"{"type": "submit", "seq": "x"}"#),
            ErrorCode::InvalidMessage
        );
    }

    #[test]
    fn a_malformed_submit_with_a_seq_is_a_reject_of_that_seq() {
        for ops in [
            r#", "ops": [{"op": "add", "path": "a", "value": 1}]"#,
            r#", "ops": [{"op": "frobnicate", "path": "/a"}]"#,
            // No operations, or no base: still a change its sender waits to hear about.
            "",
            r#", "ops": "x""#,
        ] {
            let text = format!(r#"{{"type": "submit", "seq": 4, "base_rev": 1{ops}}}"#);
            let answer = read(&text).unwrap_err();
            assert!(
                matches!(
                    &answer,
                    Unreadable::Reject {
                        seq: 4,
                        code: "invalid_change",
                        ..
                    }
                ),
                "{ops}: {answer:?}"
            );
        }
    }
}
