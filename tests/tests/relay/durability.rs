//! Durability: restarts keep every acknowledged change; storage failures fail closed; a change
//! the store refuses is rejected alone; a relay restored from an older copy says so.

use e2e::{Client, Peer, TestRelay, copy_data_dir, error_code, temp_dir};
use sync_core::protocol::{CatchUp, ClientMessage, Revision, ServerMessage};
use sync_core::replica::Event;
use tokio_tungstenite::tungstenite::Message;

use crate::{add, json, replace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_relay_serves_everything_it_acknowledged() {
    let relay = TestRelay::start(|c| c.documents.snapshot_every = 7)
        .await
        .unwrap();
    let dir = relay.data_dir.clone();
    let mut a = Peer::join(relay.addr, "keep", "a", None).await.unwrap();
    a.edit(vec![add("/list", "[]")]).await.unwrap();
    for i in 0..30 {
        a.edit(vec![add("/list/-", &i.to_string())]).await.unwrap();
        a.flush().await.unwrap();
    }
    let before = a.view().clone();
    let rev = a.replica.rev().unwrap();
    relay.stop().await.unwrap();
    // Snapshots were taken along the way (every 7 changes) and the rest replays from the log.
    let relay = TestRelay::start_in(&dir, |c| c.documents.snapshot_every = 7)
        .await
        .unwrap();
    assert_eq!(relay.stored("keep").await.unwrap(), (rev, before.clone()));
    // The window reconnects with its revision and goes on.
    let replica = a.disconnect();
    let mut a = Peer::resume(relay.addr, "keep", replica, None)
        .await
        .unwrap();
    a.edit(vec![add("/list/-", "\"after\"")]).await.unwrap();
    a.flush().await.unwrap();
    assert_eq!(a.replica.rev(), Some(Revision(rev.0 + 1)));
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_failure_acknowledges_nothing_and_loses_nothing() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let mut a = Peer::join(relay.addr, "fragile", "a", None).await.unwrap();
    a.edit(vec![add("/n", "1")]).await.unwrap();
    a.flush().await.unwrap();
    let mut b = Client::join(relay.addr, "fragile", "b", None, None)
        .await
        .unwrap()
        .0;
    relay.store.fail_next_commits(1);
    a.edit(vec![add("/m", "2")]).await.unwrap();
    // No ack: an error and a close instead, for everyone in the document.
    let err = loop {
        let message = b.recv().await.unwrap();
        if matches!(message, ServerMessage::Error { .. }) {
            break message;
        }
        assert!(
            !matches!(message, ServerMessage::Applied { .. }),
            "nothing is broadcast"
        );
    };
    assert_eq!(error_code(&err), "storage_failed");
    assert_eq!(a.replica.pending(), 1);
    // Storage is back: the document reloads as stored, the window resubmits, once.
    let replica = a.disconnect();
    let mut a = Peer::resume(relay.addr, "fragile", replica, None)
        .await
        .unwrap();
    a.flush().await.unwrap();
    assert_eq!(a.view(), &json(r#"{"n": 1, "m": 2}"#));
    assert_eq!(
        relay.stored("fragile").await.unwrap(),
        (Revision(2), json(r#"{"n": 1, "m": 2}"#))
    );
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_under_load_loses_nothing() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let dir = relay.data_dir.clone();
    let addr = relay.addr;
    let mut seed = Peer::join(addr, "busy", "seed", None).await.unwrap();
    seed.edit(vec![add("/log", "[]")]).await.unwrap();
    seed.flush().await.unwrap();
    // Four windows append as fast as they can while the relay shuts down.
    let mut writers = Vec::new();
    for w in 0..4 {
        writers.push(tokio::spawn(async move {
            let mut p = Peer::join(addr, "busy", &format!("w{w}"), None)
                .await
                .unwrap();
            for i in 0..1000 {
                if p.edit(vec![add("/log/-", &format!("\"w{w}-{i}\""))])
                    .await
                    .is_err()
                {
                    break;
                }
                if p.step().await.is_err() {
                    break;
                }
            }
            p.disconnect()
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    relay.stop().await.unwrap();
    let mut replicas = Vec::new();
    for w in writers {
        replicas.push(w.await.unwrap());
    }
    // Restart; every window resumes and flushes what it had pending.
    let relay = TestRelay::start_in(&dir, |_| {}).await.unwrap();
    let mut expected = 0;
    for replica in replicas {
        let mut p = Peer::resume(relay.addr, "busy", replica, None)
            .await
            .unwrap();
        p.flush().await.unwrap();
        expected += count_own(p.view(), p.replica.client().0.as_str());
    }
    let (_, doc) = relay.stored("busy").await.unwrap();
    let sync_core::Value::Object(root) = &doc else {
        panic!()
    };
    let Some(sync_core::Value::Array(log)) = root.get("log") else {
        panic!()
    };
    // Every entry once: no duplicates, and each window's entries are all there.
    let mut seen = std::collections::HashSet::new();
    for item in log {
        assert!(seen.insert(item.to_json()), "{item} twice");
    }
    assert_eq!(log.len(), expected);
    relay.stop().await.unwrap();
}

/// How many entries of the log `client` wrote, as that window sees them.
fn count_own(view: &sync_core::Value, client: &str) -> usize {
    let sync_core::Value::Object(root) = view else {
        return 0;
    };
    let Some(sync_core::Value::Array(log)) = root.get("log") else {
        return 0;
    };
    log.iter()
        .filter(|v| v.to_json().starts_with(&format!("\"{client}-")))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_that_fails_to_load_is_refused_and_never_overwritten() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let dir = relay.data_dir.clone();
    let mut a = Peer::join(relay.addr, "damaged", "a", None).await.unwrap();
    a.edit(vec![add("/n", "1")]).await.unwrap();
    a.flush().await.unwrap();
    relay.stop().await.unwrap();
    // Damage the stored change behind the relay's back.
    let db = rusqlite::Connection::open(dir.join("concord.sqlite3")).unwrap();
    db.execute(
        "UPDATE changes SET ops = 'not json' WHERE doc = 'damaged'",
        [],
    )
    .unwrap();
    let relay = TestRelay::start_in(&dir, |_| {}).await.unwrap();
    for attempt in 0..2 {
        let (mut c, answer) = Client::join(relay.addr, "damaged", "b", None, None)
            .await
            .unwrap();
        assert_eq!(
            error_code(&answer),
            "document_unavailable",
            "attempt {attempt}"
        );
        assert!(c.closed().await.is_ok());
    }
    // Other documents are served; the damaged row is as it was.
    let mut other = Peer::join(relay.addr, "healthy", "c", None).await.unwrap();
    other.edit(vec![add("/ok", "true")]).await.unwrap();
    other.flush().await.unwrap();
    relay.stop().await.unwrap();
    let ops: String = db
        .query_row("SELECT ops FROM changes WHERE doc = 'damaged'", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(ops, "not json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_document_unloads_and_reloads_as_it_was() {
    let relay = TestRelay::start(|c| c.documents.idle_unload_secs = 1)
        .await
        .unwrap();
    let mut a = Peer::join(relay.addr, "idle", "a", None).await.unwrap();
    a.edit(vec![add("/kept", "1")]).await.unwrap();
    a.flush().await.unwrap();
    drop(a);
    let loaded = |relay: &TestRelay| {
        let addr = relay.addr;
        async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").await.unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).await.unwrap();
            text.contains("concord_documents 1")
        }
    };
    let mut unloaded = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if !loaded(&relay).await {
            unloaded = true;
            break;
        }
    }
    assert!(unloaded, "the document unloaded");
    assert_eq!(
        relay.stored("idle").await.unwrap(),
        (Revision(1), json(r#"{"kept": 1}"#))
    );
    relay.stop().await.unwrap();
}

/// A `submit` frame, as a client written from the protocol page sends it.
fn submit(seq: u64, base_rev: u64, ops: &str) -> Message {
    let text =
        format!(r#"{{"type": "submit", "seq": {seq}, "base_rev": {base_rev}, "ops": {ops}}}"#);
    Message::Text(text.into())
}

/// The answer to the client's own change; what came before it is added to `seen`.
async fn answer(c: &mut Client, seen: &mut Vec<ServerMessage>) -> ServerMessage {
    loop {
        let message = c.recv().await.unwrap();
        if matches!(
            message,
            ServerMessage::Ack { .. } | ServerMessage::Reject { .. } | ServerMessage::Error { .. }
        ) {
            return message;
        }
        seen.push(message);
    }
}

/// What `c` receives until someone's change at `rev` reaches it, added to `seen`.
async fn until_applied(c: &mut Client, rev: u64, seen: &mut Vec<ServerMessage>) {
    loop {
        let message = c.recv().await.unwrap();
        let done = matches!(&message, ServerMessage::Applied { commit, .. } if commit.rev.0 == rev);
        seen.push(message);
        if done {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_the_store_refuses_is_rejected_alone_and_the_document_goes_on() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let dir = relay.data_dir.clone();
    // The store refuses every change that writes /poison, as it refuses one it cannot keep.
    relay
        .store
        .refuse_changes(|c| c.ops.iter().any(|op| op.path().to_string() == "/poison"));
    let poison = r#"[{"op": "add", "path": "/poison", "value": null}]"#;
    let (mut a, _) = Client::join(relay.addr, "shared", "a", None, None)
        .await
        .unwrap();
    let (mut b, _) = Client::join(relay.addr, "shared", "b", None, None)
        .await
        .unwrap();
    let (mut watcher, _) = Client::join(relay.addr, "shared", "w", None, None)
        .await
        .unwrap();
    let ack = |m: &ServerMessage, seq, rev| {
        assert!(
            matches!(m, ServerMessage::Ack { seq: s, rev: r, .. } if *s == seq && r.0 == rev),
            "expected the ack of {seq} at r{rev}: {m:?}"
        );
    };
    let refused = |m: &ServerMessage, seq| {
        assert!(
            matches!(m, ServerMessage::Reject { seq: s, code, .. } if *s == seq && code == "not_storable"),
            "expected {seq} rejected as not_storable: {m:?}"
        );
    };

    let mut b_seen = Vec::new();
    a.send_raw(submit(1, 0, r#"[{"op": "add", "path": "/n", "value": 1}]"#))
        .await
        .unwrap();
    ack(&answer(&mut a, &mut Vec::new()).await, 1, 1);
    a.send_raw(submit(2, 1, poison)).await.unwrap();
    refused(&answer(&mut a, &mut Vec::new()).await, 2);
    // Someone else's change takes the next revision: the refused one took none.
    b.send_raw(submit(1, 1, r#"[{"op": "add", "path": "/m", "value": 2}]"#))
        .await
        .unwrap();
    ack(&answer(&mut b, &mut b_seen).await, 1, 2);
    // Sent again, it is refused again, and the sender goes on.
    a.send_raw(submit(2, 2, poison)).await.unwrap();
    refused(&answer(&mut a, &mut Vec::new()).await, 2);
    a.send_raw(submit(3, 2, r#"[{"op": "add", "path": "/k", "value": 3}]"#))
        .await
        .unwrap();
    ack(&answer(&mut a, &mut Vec::new()).await, 3, 3);

    // The others saw the three changes that applied, in order, and nothing of the refused one.
    for (c, mut seen, expected) in [
        (&mut b, b_seen, vec![1, 3]),
        (&mut watcher, Vec::new(), vec![1, 2, 3]),
    ] {
        until_applied(c, 3, &mut seen).await;
        let applied: Vec<u64> = seen
            .iter()
            .filter_map(|m| match m {
                ServerMessage::Applied { commit, .. } => Some(commit.rev.0),
                _ => None,
            })
            .collect();
        assert_eq!(applied, expected, "{seen:?}");
        for message in &seen {
            let text = serde_json::to_string(message).unwrap();
            assert!(!text.contains("poison"), "{text}");
            assert!(!matches!(message, ServerMessage::Error { .. }), "{text}");
        }
    }
    // The retained log is whole, and the store and the relay agree, also after a restart.
    watcher
        .send(&ClientMessage::History {
            from: Revision(1),
            to: None,
        })
        .await
        .unwrap();
    let history = watcher
        .recv_until(|m| matches!(m, ServerMessage::History { .. }))
        .await
        .unwrap();
    let ServerMessage::History { changes, .. } = history else {
        unreachable!()
    };
    assert_eq!(
        changes.iter().map(|c| c.rev.0).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let expected = (Revision(3), json(r#"{"n": 1, "m": 2, "k": 3}"#));
    assert_eq!(relay.stored("shared").await.unwrap(), expected);
    relay.stop().await.unwrap();
    let relay = TestRelay::start_in(&dir, |_| {}).await.unwrap();
    assert_eq!(relay.stored("shared").await.unwrap(), expected);
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_restored_from_an_older_copy_says_so_and_a_window_restores_its_own() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let (dir, addr) = (relay.data_dir.clone(), relay.addr);
    let mut a = Peer::join(addr, "restored", "a", None).await.unwrap();
    a.edit(vec![add("/n", "1")]).await.unwrap();
    a.flush().await.unwrap();
    // A backup is taken at r1; the document goes on to r3.
    relay.stop().await.unwrap();
    let backup = temp_dir("backup");
    copy_data_dir(&dir, &backup).unwrap();
    let relay = TestRelay::restart_at(&dir, addr).await.unwrap();
    let mut a = Peer::resume(addr, "restored", a.disconnect(), None)
        .await
        .unwrap();
    a.edit(vec![add("/m", "2")]).await.unwrap();
    a.flush().await.unwrap();
    a.edit(vec![replace("/n", "3")]).await.unwrap();
    a.flush().await.unwrap();
    assert_eq!(a.replica.rev(), Some(Revision(3)));
    // The relay's data directory is restored from the backup while the window is connected.
    relay.stop().await.unwrap();
    copy_data_dir(&backup, &dir).unwrap();
    let relay = TestRelay::restart_at(&dir, addr).await.unwrap();
    // A client holding r3 is told that the relay is behind, with the relay's document.
    let (raw, welcome) = Client::join(addr, "restored", "raw", None, Some(Revision(3)))
        .await
        .unwrap();
    let ServerMessage::Welcome {
        rev,
        catch_up: CatchUp::RelayBehind { doc },
        ..
    } = welcome
    else {
        panic!("expected relay_behind, got {welcome:?}");
    };
    assert_eq!((rev, doc), (Revision(1), json(r#"{"n": 1}"#)));
    raw.close().await;
    // The window keeps its copy, sends nothing, and says so.
    let mut a = Peer::resume(addr, "restored", a.disconnect(), None)
        .await
        .unwrap();
    assert!(
        a.events.contains(&Event::RelayBehind {
            relay: Revision(1),
            mine: Revision(3)
        }),
        "{:?}",
        a.events
    );
    assert_eq!(a.view(), &json(r#"{"n": 3, "m": 2}"#));
    assert_eq!(relay.stored("restored").await.unwrap().0, Revision(1));
    // Restore my copy: one change on top of r1, and the relay holds the copy again.
    let events = a.replica.restore_my_copy().unwrap();
    a.handle(events).await.unwrap();
    a.flush().await.unwrap();
    assert_eq!(a.replica.rev(), Some(Revision(2)));
    assert_eq!(
        relay.stored("restored").await.unwrap(),
        (Revision(2), json(r#"{"n": 3, "m": 2}"#))
    );
    relay.stop().await.unwrap();
}

/// The whole log can be read back, however little the relay keeps in memory: `history` a page
/// at a time, and the document at any revision, also after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_history_is_read_from_the_log_a_page_at_a_time() {
    let dir = e2e::temp_dir("history-log");
    let small = |c: &mut relay::config::Config| {
        c.documents.retained_changes = 10;
        c.documents.snapshot_every = 7;
    };
    let relay = TestRelay::start_in(&dir, small).await.unwrap();
    let mut ann = Peer::join(relay.addr, "d", "ann", None).await.unwrap();
    let total = 1205;
    for i in 0..total {
        ann.edit(vec![add(&format!("/k{i}"), &i.to_string())])
            .await
            .unwrap();
        ann.flush().await.unwrap();
    }
    let read = |relay_addr| async move {
        let (mut c, _) = Client::join(relay_addr, "d", "reader", None, None)
            .await
            .unwrap();
        let mut all = Vec::new();
        let mut from = Revision(1);
        let mut pages = 0;
        loop {
            c.send(&ClientMessage::History { from, to: None })
                .await
                .unwrap();
            let page = c
                .recv_until(|m| matches!(m, ServerMessage::History { .. }))
                .await
                .unwrap();
            let ServerMessage::History { changes, next } = page else {
                unreachable!()
            };
            pages += 1;
            assert!(changes.len() <= 1000);
            all.extend(changes);
            match next {
                Some(next) => from = next,
                None => break,
            }
        }
        // The document at an old revision, rebuilt from the log.
        c.send(&ClientMessage::Snapshot {
            rev: Some(Revision(500)),
        })
        .await
        .unwrap();
        let snapshot = c
            .recv_until(|m| matches!(m, ServerMessage::Snapshot { .. }))
            .await
            .unwrap();
        (all, pages, snapshot)
    };
    let expected_at_500 = {
        let members: Vec<String> = (0..500).map(|i| format!("\"k{i}\": {i}")).collect();
        json(&format!("{{{}}}", members.join(", ")))
    };
    let check = |(all, pages, snapshot): (Vec<sync_core::protocol::Commit>, u32, ServerMessage)| {
        assert_eq!(pages, 2);
        let revs: Vec<u64> = all.iter().map(|c| c.rev.0).collect();
        assert_eq!(revs, (1..=total).collect::<Vec<u64>>());
        assert_eq!(all[41].ops, vec![add("/k41", "41")]);
        assert_eq!(
            snapshot,
            ServerMessage::Snapshot {
                rev: Revision(500),
                doc: expected_at_500.clone()
            }
        );
    };
    check(read(relay.addr).await);
    relay.stop().await.unwrap();
    // After a restart the room holds even less in memory; the log has it all.
    let relay = TestRelay::start_in(&dir, small).await.unwrap();
    check(read(relay.addr).await);
    relay.stop().await.unwrap();
}

/// A history request that arrives with the changes it asks for (in one batch of the room's)
/// is read from the log only once they are stored: it gets them all, not a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_asked_with_the_changes_it_covers_is_read_after_they_are_stored() {
    let relay = TestRelay::start(|c| {
        c.documents.retained_changes = 4;
        c.limits.ops_per_second = 100_000;
        c.limits.ops_burst = 100_000;
    })
    .await
    .unwrap();
    let (mut c, _) = Client::join(relay.addr, "d", "c", None, None)
        .await
        .unwrap();
    // Sent back to back, unanswered: the room takes them in one batch.
    for seq in 1..=40u64 {
        c.send(&ClientMessage::Submit {
            seq,
            base_rev: Revision(seq - 1),
            ops: vec![add(&format!("/k{seq}"), "1")],
            overwrites: Vec::new(),
        })
        .await
        .unwrap();
    }
    c.send(&ClientMessage::History {
        from: Revision(1),
        to: None,
    })
    .await
    .unwrap();
    let history = c
        .recv_until(|m| {
            matches!(
                m,
                ServerMessage::History { .. } | ServerMessage::Error { .. }
            )
        })
        .await
        .unwrap();
    let ServerMessage::History { changes, next } = history else {
        panic!("no history: {history:?}")
    };
    assert_eq!(next, None);
    let revs: Vec<u64> = changes.iter().map(|c| c.rev.0).collect();
    assert_eq!(revs, (1..=40).collect::<Vec<u64>>());
    relay.stop().await.unwrap();
}
