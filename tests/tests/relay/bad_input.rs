//! Every bad input gets its code and harms nothing: the document is unchanged and another
//! client on the same relay keeps working.

use e2e::{Client, Peer, TestRelay, error_code, hello};
use sync_core::protocol::{ClientMessage, Revision, ServerMessage};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use crate::{add, json};

/// A relay with a document holding `{"a": 1}` at revision 1 and a bystander in it.
async fn setup() -> (TestRelay, Peer) {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let mut bystander = Peer::join(relay.addr, "doc", "bystander", None)
        .await
        .unwrap();
    bystander.edit(vec![add("/a", "1")]).await.unwrap();
    bystander.flush().await.unwrap();
    (relay, bystander)
}

/// The document is as `setup` left it, and the bystander can still edit and be heard.
async fn unharmed(relay: TestRelay, mut bystander: Peer) {
    assert_eq!(
        relay.stored("doc").await.unwrap(),
        (Revision(1), json(r#"{"a": 1}"#))
    );
    bystander.edit(vec![add("/b", "2")]).await.unwrap();
    bystander.flush().await.unwrap();
    assert_eq!(bystander.replica.rev(), Some(Revision(2)));
    relay.stop().await.unwrap();
}

/// A client in the document, welcomed.
async fn joined(relay: &TestRelay) -> Client {
    let (c, welcome) = Client::join(relay.addr, "doc", "bad", None, None)
        .await
        .unwrap();
    assert!(matches!(welcome, ServerMessage::Welcome { .. }));
    c
}

async fn text(c: &mut Client, text: &str) {
    c.send_raw(Message::Text(text.into())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_get_their_codes_and_the_connection_goes_on() {
    let (relay, bystander) = setup().await;
    let mut c = joined(&relay).await;
    let cases = [
        ("{\"type\": \"submit\", ", "invalid_json"),
        ("not json at all", "invalid_json"),
        (r#"{"type": "sumbit", "seq": 1}"#, "invalid_message"),
        (
            r#"{"type": "submit", "base_rev": 1, "ops": []}"#,
            "invalid_message",
        ),
    ];
    for (frame, code) in cases {
        text(&mut c, frame).await;
        assert_eq!(error_code(&c.recv().await.unwrap()), code, "{frame}");
    }
    // A malformed change whose seq can be read is answered about that seq, so that its sender
    // does not wait for ever.
    let malformed = [
        r#"{"type": "submit", "seq": 1, "base_rev": 1, "ops": [{"op": "add", "path": "a/b", "value": 1}]}"#,
        r#"{"type": "submit", "seq": 1, "base_rev": 1, "ops": [{"op": "add", "path": "/a/~2", "value": 1}]}"#,
        r#"{"type": "submit", "seq": 1, "base_rev": 1, "ops": [], "overwrites": [{"index": 0, "rev": 1, "loser": {"client": "x", "author": "X"}, "node": 0}]}"#,
    ];
    for frame in malformed {
        text(&mut c, frame).await;
        let answer = c.recv().await.unwrap();
        assert!(
            matches!(&answer, ServerMessage::Reject { seq: 1, code, .. } if code == "invalid_change"),
            "{frame}: {answer:?}"
        );
    }
    c.send_raw(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(error_code(&c.recv().await.unwrap()), "binary_frame");
    c.send(&hello("doc", "bad", None, None)).await.unwrap();
    assert_eq!(error_code(&c.recv().await.unwrap()), "duplicate_hello");
    // The connection still works: a bad base revision is a rejection, not an error.
    c.send(&ClientMessage::Submit {
        seq: 1,
        base_rev: Revision(99),
        ops: vec![add("/z", "1")],
        overwrites: Vec::new(),
    })
    .await
    .unwrap();
    let reject = c
        .recv_until(|m| matches!(m, ServerMessage::Reject { .. }))
        .await
        .unwrap();
    assert!(matches!(reject, ServerMessage::Reject { code, .. } if code == "base_ahead"));
    unharmed(relay, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_is_refused_and_closes_only_its_connection() {
    let (relay, bystander) = setup().await;
    let mut c = joined(&relay).await;
    let invalid_utf8 = Frame::message(vec![0x7b, 0xff, 0xfe, 0x7d], OpCode::Data(Data::Text), true);
    c.send_raw(Message::Frame(invalid_utf8)).await.unwrap();
    assert_eq!(error_code(&c.recv().await.unwrap()), "invalid_json");
    assert_eq!(c.closed().await.unwrap(), Some(1007));
    unharmed(relay, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_is_refused_and_closes_only_its_connection() {
    let (relay, bystander) = setup().await;
    let mut c = joined(&relay).await;
    let big = format!(
        r#"{{"type": "submit", "seq": 1, "base_rev": 1, "ops": [{{"op": "add", "path": "/big", "value": "{}"}}]}}"#,
        "x".repeat(sync_core::parts::FRAME_LIMIT)
    );
    text(&mut c, &big).await;
    assert_eq!(error_code(&c.recv().await.unwrap()), "frame_too_large");
    assert_eq!(c.closed().await.unwrap(), Some(1009));
    unharmed(relay, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_before_hello_and_bad_hellos_are_refused() {
    let (relay, bystander) = setup().await;
    let mut c = Client::connect(relay.addr).await.unwrap();
    c.send(&ClientMessage::Submit {
        seq: 1,
        base_rev: Revision(0),
        ops: vec![add("/z", "1")],
        overwrites: Vec::new(),
    })
    .await
    .unwrap();
    assert_eq!(error_code(&c.recv().await.unwrap()), "hello_required");
    // Still waiting for a hello: a proper one is welcomed.
    c.send(&hello("doc", "late", None, None)).await.unwrap();
    assert!(matches!(
        c.recv().await.unwrap(),
        ServerMessage::Welcome { .. }
    ));

    let mut wrong_version = Client::connect(relay.addr).await.unwrap();
    text(
        &mut wrong_version,
        r#"{"type": "hello", "protocol": 99, "doc": "doc", "client": "v", "name": "v"}"#,
    )
    .await;
    assert_eq!(
        error_code(&wrong_version.recv().await.unwrap()),
        "unsupported_protocol"
    );
    assert!(wrong_version.closed().await.is_ok());

    for id in ["../etc/passwd", "a/b", "", ".hidden"] {
        let (mut c, answer) = Client::join(relay.addr, id, "p", None, None).await.unwrap();
        assert_eq!(error_code(&answer), "invalid_document_id", "{id:?}");
        assert!(c.closed().await.is_ok());
    }
    unharmed(relay, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_past_the_rate_limit_is_refused_without_applying() {
    let relay = TestRelay::start(|c| {
        c.limits.ops_per_second = 1;
        c.limits.ops_burst = 5;
    })
    .await
    .unwrap();
    let mut bystander = Peer::join(relay.addr, "doc", "bystander", None)
        .await
        .unwrap();
    bystander.edit(vec![add("/a", "1")]).await.unwrap();
    bystander.flush().await.unwrap();
    let mut c = joined(&relay).await;
    for seq in 1..=50 {
        c.send(&ClientMessage::Submit {
            seq,
            base_rev: Revision(1),
            ops: vec![add(&format!("/flood{seq}"), "1")],
            overwrites: Vec::new(),
        })
        .await
        .unwrap();
    }
    let mut limited = 0;
    let mut applied = 0;
    while limited + applied < 50 {
        match c.recv().await.unwrap() {
            ServerMessage::Error { code, .. } if code == "rate_limited" => limited += 1,
            ServerMessage::Ack { .. } => applied += 1,
            _ => {}
        }
    }
    // The burst passes (and, on a slow machine, the odd token refilled meanwhile); every other
    // change is refused, each with rate_limited.
    assert!((5..=7).contains(&applied), "{applied} applied");
    assert_eq!(limited, 50 - applied);
    // The refused changes are not in the document; the bystander keeps working.
    let (_c, welcome) = Client::join(relay.addr, "doc", "inspector", None, None)
        .await
        .unwrap();
    let ServerMessage::Welcome { rev, .. } = welcome else {
        panic!()
    };
    assert_eq!(rev, Revision(6));
    bystander.edit(vec![add("/b", "2")]).await.unwrap();
    bystander.flush().await.unwrap();
    relay.stop().await.unwrap();
}

/// A `submit` of change `seq` adding, at `/deep`, a value nested `n` arrays deep.
fn deep_submit(seq: u64, n: usize) -> String {
    let value = "[".repeat(n) + &"]".repeat(n);
    format!(
        r#"{{"type": "submit", "seq": {seq}, "base_rev": 1, "ops": [{{"op": "add", "path": "/deep", "value": {value}}}]}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_nested_too_deep_is_a_reject_of_its_seq_and_the_connection_goes_on() {
    let (relay, bystander) = setup().await;
    let mut c = joined(&relay).await;
    // Just past the limit, past what a JSON reader nests by default (128), far past both; and
    // at the limit, where the value is read but the document would nest one deeper.
    for (seq, n) in [(1, 101), (2, 130), (3, 10_000), (4, 100)] {
        text(&mut c, &deep_submit(seq, n)).await;
        let answer = c.recv().await.unwrap();
        assert!(
            matches!(&answer, ServerMessage::Reject { seq: s, code, .. } if *s == seq && code == "too_deep"),
            "{n} deep: {answer:?}"
        );
    }
    // The connection is still served.
    c.send(&ClientMessage::Snapshot { rev: None })
        .await
        .unwrap();
    assert_eq!(
        c.recv().await.unwrap(),
        ServerMessage::Snapshot {
            rev: Revision(1),
            doc: json(r#"{"a": 1}"#)
        }
    );
    unharmed(relay, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_with_an_invalid_client_id_is_refused_and_nobody_hears_of_it() {
    let (relay, mut bystander) = setup().await;
    let too_long = "x".repeat(129);
    for id in ["", &too_long, "a b", "é", "a/b", "nul\0", "\u{202e}rtl"] {
        let (mut c, answer) = Client::join(relay.addr, "doc", id, None, None)
            .await
            .unwrap();
        assert_eq!(error_code(&answer), "invalid_client_id", "{id:?}");
        assert_eq!(c.closed().await.unwrap(), Some(1008), "{id:?}");
    }
    // No presence, nothing: the refused never entered the document.
    let heard = bystander
        .step_within(std::time::Duration::from_millis(300))
        .await
        .unwrap();
    assert!(!heard, "the bystander heard {:?}", bystander.events);
    // The longest id and every character the rule allows pass.
    let longest = "x".repeat(128);
    for id in [longest.as_str(), "host.example:4:tab_2-A"] {
        let (_c, answer) = Client::join(relay.addr, "doc", id, None, None)
            .await
            .unwrap();
        let ServerMessage::Welcome { peers, .. } = answer else {
            panic!("{id}: {answer:?}")
        };
        assert!(peers.iter().any(|p| p.client.0 == id), "{id}");
    }
    unharmed(relay, bystander).await;
}
