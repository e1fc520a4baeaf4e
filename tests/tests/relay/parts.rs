//! Changes larger than a frame, sent in parts (`submit_part`) by a client written from
//! `docs/PROTOCOL.md` alone: a 20 MB document as one change, a 5 MB value, a change over the
//! document limit, and parts out of order; none of them closes the connection.

use std::fmt::Write as _;
use std::time::Duration;

use e2e::{Client, TestRelay, error_code};
use sync_core::protocol::{Revision, ServerMessage};
use sync_core::{Operation, Pointer, Value};
use tokio_tungstenite::tungstenite::Message;

/// How long a change of many megabytes may take (the tests run unoptimized).
const SLOW: Duration = Duration::from_secs(120);

/// The members of a document of about `bytes` bytes, as (key, value's JSON text): sections of
/// records with text to escape and characters of every width.
fn document(bytes: usize) -> Vec<(String, String)> {
    let (mut members, mut size, mut i) = (Vec::new(), 0, 0u64);
    while size < bytes {
        let mut section = String::from("[");
        for j in 0..1000 {
            if j > 0 {
                section.push(',');
            }
            let _ = write!(
                section,
                r#"{{"id":{i},"name":"record {i}","note":"a \"quoted\" word, a\\backslash, a line\nbreak, café, €5, 😀","tags":["a","b"],"score":{}.5}}"#,
                i % 100
            );
            i += 1;
        }
        section.push(']');
        size += section.len();
        members.push((format!("section {}", members.len()), section));
    }
    members
}

/// The document of `members`, as JSON text.
fn object(members: &[(String, String)]) -> String {
    let members: Vec<String> = members
        .iter()
        .map(|(key, value)| format!(r#""{key}":{value}"#))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// A `submit` of change `seq` on `base_rev`, as text, adding each of `members` at the top
/// level: what sharing a document sends.
fn submit_adding(seq: u64, base_rev: u64, members: &[(String, String)]) -> String {
    let ops: Vec<String> = members
        .iter()
        .map(|(key, value)| format!(r#"{{"op":"add","path":"/{key}","value":{value}}}"#))
        .collect();
    format!(
        r#"{{"type":"submit","seq":{seq},"base_rev":{base_rev},"ops":[{}]}}"#,
        ops.join(",")
    )
}

/// The `submit_part` frames of `text`, change `seq`: slices of at most `slice` bytes cut on
/// character boundaries, each written as a JSON string (escaping at most doubles a slice of
/// JSON text, so a 256 KiB slice stays well within the 1 MiB frame every relay accepts).
fn parts(seq: u64, text: &str, slice: usize) -> Vec<String> {
    let mut slices = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = slice.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (head, tail) = rest.split_at(end);
        slices.push(head);
        rest = tail;
    }
    let count = slices.len();
    slices
        .iter()
        .enumerate()
        .map(|(i, data)| {
            serde_json::to_string(&serde_json::json!({
                "type": "submit_part", "seq": seq, "part": i, "parts": count, "data": data
            }))
            .unwrap()
        })
        .collect()
}

fn at(path: &str) -> Pointer {
    Pointer::parse(path).unwrap()
}

async fn send_all(c: &mut Client, frames: &[String]) {
    for frame in frames {
        assert!(frame.len() <= 1 << 20, "{} bytes", frame.len());
        c.send_raw(Message::Text(frame.as_str().into()))
            .await
            .unwrap();
    }
}

async fn text(c: &mut Client, text: &str) {
    c.send_raw(Message::Text(text.into())).await.unwrap();
}

/// The next message other than `presence`, however long a large change takes to serve.
async fn recv_slowly(c: &mut Client) -> ServerMessage {
    loop {
        let message = tokio::time::timeout(SLOW, c.recv_frame())
            .await
            .expect("an answer in time")
            .unwrap();
        if !matches!(message, ServerMessage::Presence { .. }) {
            return message;
        }
    }
}

async fn joined(relay: &TestRelay, doc: &str, client: &str) -> Client {
    let (c, welcome) = Client::join(relay.addr, doc, client, None, None)
        .await
        .unwrap();
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mb_document_and_a_5_mb_value_travel_in_parts_to_everyone() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let mut ann = joined(&relay, "big", "ann").await;
    let mut ben = joined(&relay, "big", "ben").await;
    // Ann shares a 20 MB document: one change, in parts.
    let members = document(20_000_000);
    let share = submit_adding(1, 0, &members);
    assert!(share.len() > 20_000_000);
    send_all(&mut ann, &parts(1, &share, 256 << 10)).await;
    let ack = recv_slowly(&mut ann).await;
    assert!(
        matches!(
            ack,
            ServerMessage::Ack {
                seq: 1,
                rev: Revision(1),
                ..
            }
        ),
        "{ack:?}"
    );
    let ServerMessage::Applied { commit, .. } = recv_slowly(&mut ben).await else {
        panic!("Ben expected Ann's change")
    };
    assert_eq!((commit.rev, commit.seq), (Revision(1), 1));
    let expected = Value::parse(&object(&members)).unwrap();
    let mut bens = Value::parse("{}").unwrap();
    sync_core::Change::from(commit.ops)
        .apply(&mut bens)
        .unwrap();
    assert_eq!(bens, expected);
    // Ben pastes a 5 MB value: a string with characters of every width, cut across them.
    let value = "pasted \"text\"\\ with café, €, 😀 and\ttabs; ".repeat(120_000);
    assert!(value.len() > 5_000_000);
    let paste = serde_json::to_string(&serde_json::json!({
        "type": "submit", "seq": 1, "base_rev": 1,
        "ops": [{"op": "add", "path": "/pasted", "value": value}]
    }))
    .unwrap();
    send_all(&mut ben, &parts(1, &paste, 100_001)).await;
    let ack = recv_slowly(&mut ben).await;
    assert!(
        matches!(
            ack,
            ServerMessage::Ack {
                seq: 1,
                rev: Revision(2),
                ..
            }
        ),
        "{ack:?}"
    );
    let ServerMessage::Applied { commit, .. } = recv_slowly(&mut ann).await else {
        panic!("Ann expected Ben's change")
    };
    let pasted = Value::from(value.as_str());
    assert!(
        matches!(&commit.ops[..], [Operation::Add { value, .. }] if *value == pasted),
        "the value arrives whole"
    );
    // The relay stored both: a new window is welcomed with the whole document.
    let (rev, stored) = relay.stored("big").await.unwrap();
    assert_eq!(rev, Revision(2));
    assert_eq!(at("/pasted").resolve(&stored), Some(&pasted));
    let mut shared = stored.clone();
    sync_core::Change::from(vec![Operation::remove(at("/pasted"))])
        .apply(&mut shared)
        .unwrap();
    assert_eq!(shared, expected, "the shared document is stored");
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_over_the_document_limit_is_rejected_and_the_connection_goes_on() {
    let relay = TestRelay::start(|c| {
        c.limits.max_document_bytes = 3_000_000;
    })
    .await
    .unwrap();
    let mut c = joined(&relay, "limit", "c").await;
    // 5 MB, in 20 parts: rejected once the relay has more than the limit and a frame.
    let value = "x".repeat(5_000_000);
    let big = format!(
        r#"{{"type": "submit", "seq": 1, "base_rev": 0, "ops": [{{"op": "add", "path": "/big", "value": "{value}"}}]}}"#
    );
    send_all(&mut c, &parts(1, &big, 256 << 10)).await;
    // One answer, for its seq: no error for the parts that followed.
    c.send_raw(Message::Text(
        r#"{"type": "submit", "seq": 2, "base_rev": 0, "ops": [{"op": "add", "path": "/small", "value": 1}]}"#.into(),
    ))
    .await
    .unwrap();
    let reject = recv_slowly(&mut c).await;
    assert!(
        matches!(&reject, ServerMessage::Reject { seq: 1, code, .. } if code == "document_too_large"),
        "{reject:?}"
    );
    assert!(
        matches!(
            recv_slowly(&mut c).await,
            ServerMessage::Ack {
                seq: 2,
                rev: Revision(1),
                ..
            }
        ),
        "the connection goes on"
    );
    // A change in parts within the limit is applied.
    let fits = format!(
        r#"{{"type": "submit", "seq": 3, "base_rev": 1, "ops": [{{"op": "add", "path": "/fits", "value": "{}"}}]}}"#,
        "y".repeat(2_000_000)
    );
    send_all(&mut c, &parts(3, &fits, 256 << 10)).await;
    assert!(matches!(
        recv_slowly(&mut c).await,
        ServerMessage::Ack {
            seq: 3,
            rev: Revision(2),
            ..
        }
    ));
    // A change that fits in parts but would make the document too large is rejected too.
    let over = format!(
        r#"{{"type": "submit", "seq": 4, "base_rev": 2, "ops": [{{"op": "add", "path": "/over", "value": "{}"}}]}}"#,
        "z".repeat(2_000_000)
    );
    send_all(&mut c, &parts(4, &over, 256 << 10)).await;
    let reject = recv_slowly(&mut c).await;
    assert!(
        matches!(&reject, ServerMessage::Reject { seq: 4, code, .. } if code == "document_too_large"),
        "{reject:?}"
    );
    let (rev, stored) = relay.stored("limit").await.unwrap();
    assert_eq!(rev, Revision(2));
    assert!(at("/big").resolve(&stored).is_none() && at("/over").resolve(&stored).is_none());
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_out_of_order_are_refused_and_the_connection_goes_on() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    // Before hello, a part is refused like any message.
    let mut early = Client::connect(relay.addr).await.unwrap();
    text(
        &mut early,
        r#"{"type": "submit_part", "seq": 1, "part": 0, "parts": 2, "data": "{"}"#,
    )
    .await;
    assert_eq!(error_code(&early.recv().await.unwrap()), "hello_required");
    let mut c = joined(&relay, "order", "c").await;
    let change = |seq: u64, value: &str| {
        format!(
            r#"{{"type": "submit", "seq": {seq}, "base_rev": 0, "ops": [{{"op": "add", "path": "/{value}", "value": "{value}"}}]}}"#
        )
    };
    let one = parts(1, &change(1, "one"), 20);
    let two = parts(2, &change(2, "two"), 20);
    assert!(one.len() > 3 && two.len() > 3);
    let cases: [(&[&String], &str); 5] = [
        // Another change's part while one is open.
        (&[&one[0], &one[1], &two[0]], "part_out_of_order"),
        // A later part with nothing open (the last case abandoned change 1).
        (&[&one[2]], "part_out_of_order"),
        // A gap, and a repeat.
        (&[&one[0], &one[2]], "part_out_of_order"),
        (&[&one[0], &one[1], &one[1]], "part_out_of_order"),
        // Numbered past its count.
        (
            &[
                &r#"{"type": "submit_part", "seq": 1, "part": 2, "parts": 2, "data": "x"}"#
                    .to_owned(),
            ],
            "invalid_message",
        ),
    ];
    for (frames, code) in cases {
        for frame in frames {
            text(&mut c, frame).await;
        }
        assert_eq!(error_code(&c.recv().await.unwrap()), code, "{frames:?}");
    }
    // Parts that join into something other than a submit of their change.
    for (seq, joined) in [
        (5, r#"{"type": "submit", "seq": 5, "#.to_owned()),
        (6, change(7, "seven")),
        (8, r#"{"type": "presence"}"#.to_owned()),
    ] {
        send_all(&mut c, &parts(seq, &joined, 10)).await;
        let error = c.recv().await.unwrap();
        assert!(
            matches!(&error, ServerMessage::Error { message, .. } if message.contains(&format!("change {seq}"))),
            "{error:?}"
        );
    }
    // Nothing of it applied; the connection is served, in parts or not.
    send_all(&mut c, &two).await;
    assert!(matches!(
        c.recv().await.unwrap(),
        ServerMessage::Ack {
            seq: 2,
            rev: Revision(1),
            ..
        }
    ));
    let (rev, stored) = relay.stored("order").await.unwrap();
    assert_eq!(rev, Revision(1));
    assert_eq!(stored, Value::parse(r#"{"two": "two"}"#).unwrap());
    relay.stop().await.unwrap();
}
