//! Clients converge; catch-up by changes and by snapshot; exactly once across a lost ack;
//! presence.

use e2e::{Client, Peer, TestRelay};
use sync_core::protocol::{CatchUp, ClientMessage, Revision, ServerMessage};

use crate::{add, json, replace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_windows_converge_on_concurrent_edits() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let mut a = Peer::join(relay.addr, "plan", "a", None).await.unwrap();
    let mut b = Peer::join(relay.addr, "plan", "b", None).await.unwrap();
    let mut c = Peer::join(relay.addr, "plan", "c", None).await.unwrap();
    a.edit(vec![add("/items", "[]")]).await.unwrap();
    a.flush().await.unwrap();
    b.settle(Revision(1)).await.unwrap();
    c.settle(Revision(1)).await.unwrap();
    // Concurrent: each appends, b also sets a title, c removes nothing it did not see.
    for i in 0..5 {
        a.edit(vec![add("/items/-", &format!("\"a{i}\""))])
            .await
            .unwrap();
        b.edit(vec![add("/items/0", &format!("\"b{i}\""))])
            .await
            .unwrap();
        c.edit(vec![replace("/items", "[\"c\"]")]).await.unwrap();
    }
    b.edit(vec![add("/title", "\"Plan\"")]).await.unwrap();
    for peer in [&mut a, &mut b, &mut c] {
        peer.flush().await.unwrap();
    }
    // Everyone reaches the same head.
    let head = [&a, &b, &c]
        .iter()
        .map(|p| p.replica.rev().unwrap())
        .max()
        .unwrap();
    for peer in [&mut a, &mut b, &mut c] {
        peer.settle(head).await.unwrap();
    }
    assert_eq!(a.view(), b.view());
    assert_eq!(b.view(), c.view());
    assert_eq!(
        sync_core::Pointer::parse("/title")
            .unwrap()
            .resolve(a.view()),
        Some(&json("\"Plan\""))
    );
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_window_catches_up_by_changes_then_by_snapshot() {
    let relay = TestRelay::start(|c| c.documents.retained_changes = 8)
        .await
        .unwrap();
    let mut a = Peer::join(relay.addr, "doc", "a", None).await.unwrap();
    a.edit(vec![add("/n", "0")]).await.unwrap();
    a.flush().await.unwrap();
    // b saw revision 1, then went away.
    let (_b, welcome) = Client::join(relay.addr, "doc", "b", None, None)
        .await
        .unwrap();
    assert!(matches!(
        welcome,
        ServerMessage::Welcome {
            rev: Revision(1),
            ..
        }
    ));
    for i in 1..=3 {
        a.edit(vec![replace("/n", &i.to_string())]).await.unwrap();
        a.flush().await.unwrap();
    }
    let (_b, welcome) = Client::join(relay.addr, "doc", "b", None, Some(Revision(1)))
        .await
        .unwrap();
    let ServerMessage::Welcome {
        rev,
        catch_up: CatchUp::Changes { changes },
        ..
    } = welcome
    else {
        panic!("changes expected: {welcome:?}")
    };
    assert_eq!(rev, Revision(4));
    assert_eq!(changes.len(), 3);
    // Beyond the retained changes: a snapshot.
    for i in 4..=20 {
        a.edit(vec![replace("/n", &i.to_string())]).await.unwrap();
        a.flush().await.unwrap();
    }
    let (_b, welcome) = Client::join(relay.addr, "doc", "b", None, Some(Revision(1)))
        .await
        .unwrap();
    let ServerMessage::Welcome {
        catch_up: CatchUp::Snapshot { doc, .. },
        ..
    } = welcome
    else {
        panic!("snapshot expected: {welcome:?}")
    };
    assert_eq!(doc, json(r#"{"n": 20}"#));
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_ack_was_lost_applies_once_after_reconnecting() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let mut a = Peer::join(relay.addr, "once", "a", None).await.unwrap();
    a.edit(vec![add("/count", "0")]).await.unwrap();
    a.flush().await.unwrap();
    // Send an increment and drop the connection before reading the ack.
    a.edit(vec![sync_core::Operation::Incr {
        path: sync_core::Pointer::parse("/count").unwrap(),
        by: 1.into(),
    }])
    .await
    .unwrap();
    let replica = a.disconnect();
    assert_eq!(replica.pending(), 1);
    // Give the relay time to apply it, then come back: the change is resent and answered with
    // its original ack, not applied again.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut a = Peer::resume(relay.addr, "once", replica, None)
        .await
        .unwrap();
    a.flush().await.unwrap();
    assert_eq!(a.view(), &json(r#"{"count": 1}"#));
    assert_eq!(
        relay.stored("once").await.unwrap(),
        (Revision(2), json(r#"{"count": 1}"#))
    );
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_joins_updates_and_leaves() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let (mut ann, _) = Client::join(relay.addr, "p", "ann", None, None)
        .await
        .unwrap();
    let (mut bob, welcome) = Client::join(relay.addr, "p", "bob", None, None)
        .await
        .unwrap();
    let ServerMessage::Welcome { peers, .. } = welcome else {
        panic!()
    };
    assert!(
        peers.iter().any(|p| p.client.0 == "ann"),
        "new peers get the current list"
    );
    assert!(
        peers.iter().any(|p| p.client.0 == "bob"),
        "the list includes the newcomer, with its colour"
    );
    let joined = ann.recv().await.unwrap();
    assert!(matches!(&joined, ServerMessage::Presence { peers } if peers.len() == 2));
    bob.send(&ClientMessage::Presence {
        selection: Some(sync_core::Pointer::parse("/title").unwrap()),
        caret: Some(3),
    })
    .await
    .unwrap();
    let update = ann.recv().await.unwrap();
    let ServerMessage::Presence { peers } = update else {
        panic!("{update:?}")
    };
    let bob_entry = peers.iter().find(|p| p.client.0 == "bob").unwrap();
    assert_eq!(bob_entry.caret, Some(3));
    drop(bob);
    let left = ann.recv().await.unwrap();
    assert!(
        matches!(&left, ServerMessage::Presence { peers } if peers.len() == 1),
        "{left:?}"
    );
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_dropped_and_vanishes_from_presence() {
    let relay = TestRelay::start(|c| {
        c.limits.idle_timeout_secs = 1;
        c.limits.ping_interval_secs = 60;
    })
    .await
    .unwrap();
    let (mut ann, _) = Client::join(relay.addr, "quiet", "ann", None, None)
        .await
        .unwrap();
    let (mut bob, _) = Client::join(relay.addr, "quiet", "bob", None, None)
        .await
        .unwrap();
    ann.recv().await.unwrap(); // bob joined
    // Ann keeps talking; Bob says nothing (not even pongs: this client reads only when asked).
    let mut bob_gone = false;
    for _ in 0..10 {
        ann.send(&ClientMessage::Presence {
            selection: None,
            caret: None,
        })
        .await
        .unwrap();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(300);
        while let Ok(Ok(message)) = tokio::time::timeout_at(deadline, ann.recv()).await {
            if let ServerMessage::Presence { peers } = message {
                bob_gone = !peers.iter().any(|p| p.client.0 == "bob");
            }
        }
        if bob_gone {
            break;
        }
    }
    assert!(bob_gone, "bob vanished from presence");
    let error = bob
        .recv_until(|m| matches!(m, ServerMessage::Error { .. }))
        .await
        .unwrap();
    assert_eq!(e2e::error_code(&error), "idle_timeout");
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_and_snapshots_at_a_revision() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let mut a = Peer::join(relay.addr, "h", "a", None).await.unwrap();
    for i in 0..3 {
        a.edit(vec![add(&format!("/k{i}"), &i.to_string())])
            .await
            .unwrap();
        a.flush().await.unwrap();
    }
    let (mut c, _) = Client::join(relay.addr, "h", "c", None, None)
        .await
        .unwrap();
    c.send(&ClientMessage::History {
        from: Revision(2),
        to: None,
    })
    .await
    .unwrap();
    let history = c
        .recv_until(|m| matches!(m, ServerMessage::History { .. }))
        .await
        .unwrap();
    let ServerMessage::History { changes, .. } = history else {
        panic!()
    };
    assert_eq!(changes.iter().map(|c| c.rev.0).collect::<Vec<_>>(), [2, 3]);
    c.send(&ClientMessage::Snapshot {
        rev: Some(Revision(1)),
    })
    .await
    .unwrap();
    let snapshot = c
        .recv_until(|m| matches!(m, ServerMessage::Snapshot { .. }))
        .await
        .unwrap();
    assert_eq!(
        snapshot,
        ServerMessage::Snapshot {
            rev: Revision(1),
            doc: json(r#"{"k0": 0}"#)
        }
    );
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_outside_the_log_is_an_invalid_range_and_the_connection_goes_on() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let mut a = Peer::join(relay.addr, "h", "a", None).await.unwrap();
    for i in 0..3 {
        a.edit(vec![add(&format!("/k{i}"), &i.to_string())])
            .await
            .unwrap();
        a.flush().await.unwrap();
    }
    let (mut c, _) = Client::join(relay.addr, "h", "c", None, None)
        .await
        .unwrap();
    let answered = |m: &ServerMessage| {
        matches!(
            m,
            ServerMessage::Error { .. }
                | ServerMessage::History { .. }
                | ServerMessage::Snapshot { .. }
        )
    };
    let revs = |m: ServerMessage| match m {
        ServerMessage::History { changes, .. } => {
            changes.iter().map(|c| c.rev.0).collect::<Vec<_>>()
        }
        other => panic!("not a history: {other:?}"),
    };
    let r = Revision;
    // Backwards, from revision 0, past the head: each an error, nothing else.
    for (from, to) in [
        (r(3), Some(r(2))),
        (r(0), None),
        (r(0), Some(r(2))),
        (r(2), Some(r(4))),
        (r(5), None),
    ] {
        c.send(&ClientMessage::History { from, to }).await.unwrap();
        let answer = c.recv_until(answered).await.unwrap();
        assert_eq!(e2e::error_code(&answer), "invalid_range", "{from:?} {to:?}");
    }
    c.send(&ClientMessage::Snapshot { rev: Some(r(4)) })
        .await
        .unwrap();
    let answer = c.recv_until(answered).await.unwrap();
    assert_eq!(e2e::error_code(&answer), "invalid_range");
    // What follows the head is nothing yet; the whole log is still there to ask for.
    c.send(&ClientMessage::History {
        from: r(4),
        to: None,
    })
    .await
    .unwrap();
    assert_eq!(
        revs(c.recv_until(answered).await.unwrap()),
        Vec::<u64>::new()
    );
    c.send(&ClientMessage::History {
        from: r(1),
        to: Some(r(3)),
    })
    .await
    .unwrap();
    assert_eq!(revs(c.recv_until(answered).await.unwrap()), [1, 2, 3]);
    relay.stop().await.unwrap();
}
