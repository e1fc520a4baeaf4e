//! The Replica's promises: optimistic edits, undo of one's own changes only, offline state that
//! survives a restart and syncs exactly once, resync by snapshot, healing a divergence.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};

mod common;
use common::net::{Net, ops};
use sync_core::protocol::{ClientId, ClientMessage, Revision, Role, ServerMessage};
use sync_core::replica::{Event, Replica};
use sync_core::{Operation, Pointer, Value};

#[test]
fn a_local_edit_shows_at_once_and_reaches_everyone() {
    let mut net = Net::new(r#"{"n": 0}"#, &["ann", "bob"]);
    net.edit(0, r#"[{"op": "replace", "path": "/n", "value": 1}]"#);
    assert_eq!(net.view(0), r#"{"n":1}"#, "optimistic");
    assert_eq!(net.view(1), r#"{"n":0}"#);
    net.settle();
    assert_eq!(net.view(1), r#"{"n":1}"#);
    assert_eq!(net.replicas[0].pending(), 0);
}

#[test]
fn edits_made_while_one_is_in_flight_go_as_one_change_after_the_ack() {
    let mut net = Net::new(r#"{"l": []}"#, &["ann"]);
    net.edit(0, r#"[{"op": "add", "path": "/l/-", "value": 1}]"#);
    net.edit(0, r#"[{"op": "add", "path": "/l/-", "value": 2}]"#);
    net.edit(0, r#"[{"op": "add", "path": "/l/-", "value": 3}]"#);
    assert_eq!(net.outbox[0].len(), 1, "one in flight");
    assert_eq!(net.replicas[0].pending(), 2, "in flight and buffered");
    net.settle();
    assert_eq!(
        net.authority.rev(),
        Revision(2),
        "the buffer went as one change"
    );
    assert_eq!(net.authority.document().to_json(), r#"{"l":[1,2,3]}"#);
}

#[test]
fn pending_work_is_rebased_over_foreign_changes() {
    let mut net = Net::new(r#"{"l": ["a", "b"]}"#, &["ann", "bob"]);
    net.edit(0, r#"[{"op": "replace", "path": "/l/1", "value": "B"}]"#);
    net.edit(1, r#"[{"op": "add", "path": "/l/0", "value": "first"}]"#);
    net.send(1); // bob's insert is sequenced first
    net.recv(0); // ann sees it under her pending edit
    assert_eq!(net.view(0), r#"{"l":["first","a","B"]}"#);
    net.settle();
    assert_eq!(net.view(0), net.view(1));
    assert_eq!(net.view(1), r#"{"l":["first","a","B"]}"#);
}

#[test]
fn undo_undoes_only_my_changes_rebased_over_others() {
    let mut net = Net::new(r#"{"l": ["a"], "t": "x"}"#, &["ann", "bob"]);
    net.edit(0, r#"[{"op": "add", "path": "/l/1", "value": "mine"}]"#);
    net.settle();
    net.edit(1, r#"[{"op": "add", "path": "/l/0", "value": "bob's"}, {"op": "replace", "path": "/t", "value": "y"}]"#);
    net.settle();
    assert_eq!(net.view(0), r#"{"l":["bob's","a","mine"],"t":"y"}"#);
    let events = net.replicas[0].undo().unwrap();
    net.take(0, events);
    net.settle();
    assert_eq!(
        net.view(0),
        r#"{"l":["bob's","a"],"t":"y"}"#,
        "my insert is gone, bob's edits stay"
    );
    assert_eq!(net.view(1), net.view(0));
    let events = net.replicas[0].redo().unwrap();
    net.take(0, events);
    net.settle();
    assert_eq!(net.view(1), r#"{"l":["bob's","a","mine"],"t":"y"}"#);
}

#[test]
fn a_rejected_change_leaves_the_view_and_is_reported() {
    let mut net = Net::new(r#"{"stock": 1}"#, &["ann", "bob"]);
    net.edit(0, r#"[{"op": "replace", "path": "/stock", "value": 0}]"#);
    net.edit(1, r#"[{"op": "test", "path": "/stock", "value": 1}, {"op": "add", "path": "/sold", "value": true}]"#);
    net.send(0);
    net.send(1);
    net.recv(0);
    let events = net.recv(1);
    let rejected = events.iter().find_map(|e| match e {
        Event::Rejected { code, .. } => Some(code.clone()),
        _ => None,
    });
    assert_eq!(rejected.as_deref(), Some("test_failed"));
    assert_eq!(net.view(1), r#"{"stock":0}"#);
    assert_eq!(net.replicas[1].pending(), 0);
}

#[test]
fn offline_edits_survive_a_restart_and_sync_exactly_once() {
    let mut net = Net::new(r#"{"notes": []}"#, &["ann", "bob"]);
    net.replicas[0].disconnected();
    net.edit(
        0,
        r#"[{"op": "add", "path": "/notes/-", "value": "offline 1"}]"#,
    );
    net.edit(
        0,
        r#"[{"op": "add", "path": "/notes/-", "value": "offline 2"}]"#,
    );
    assert!(net.outbox[0].is_empty(), "nothing is sent while offline");
    // The app persists the state (as JSON) and is killed; a new process restores it.
    let saved = serde_json::to_string(&net.replicas[0].save()).unwrap();
    let (restored, lost) = Replica::restore(serde_json::from_str(&saved).unwrap());
    assert!(lost.is_empty());
    net.replicas[0] = restored;
    assert_eq!(net.view(0), r#"{"notes":["offline 1","offline 2"]}"#);
    net.edit(
        1,
        r#"[{"op": "add", "path": "/notes/0", "value": "bob online"}]"#,
    );
    net.settle();
    net.connect(0);
    net.settle();
    assert_eq!(
        net.authority.document().to_json(),
        r#"{"notes":["bob online","offline 1","offline 2"]}"#
    );
    assert_eq!(net.view(0), net.view(1));
    // Reconnecting again sends nothing twice.
    let rev = net.authority.rev();
    net.replicas[0].disconnected();
    net.connect(0);
    net.settle();
    assert_eq!(net.authority.rev(), rev);
}

#[test]
fn a_lost_ack_is_recovered_on_reconnect_without_applying_twice() {
    let mut net = Net::new(r#"{"n": 0}"#, &["ann"]);
    net.edit(0, r#"[{"op": "incr", "path": "/n", "by": 5}]"#);
    net.send(0); // applied...
    net.inbox[0].clear(); // ...but the ack is lost with the connection
    net.replicas[0].disconnected();
    assert_eq!(net.replicas[0].pending(), 1);
    net.connect(0);
    net.settle();
    assert_eq!(
        net.authority.document().to_json(),
        r#"{"n":5}"#,
        "applied once"
    );
    assert_eq!(net.replicas[0].pending(), 0);
    assert_eq!(net.view(0), r#"{"n":5}"#);
}

#[test]
fn the_relay_answers_a_resent_change_with_its_original_ack() {
    let mut authority = Authority::new(
        Value::parse(r#"{"n": 0}"#).unwrap(),
        AuthorityConfig::default(),
    );
    let ann = ClientId::from("ann");
    let submit = Submission {
        client: &ann,
        author: "Ann",
        role: Role::Write,
        seq: 7,
        base_rev: Revision(0),
        ops: ops(r#"[{"op": "incr", "path": "/n", "by": 1}]"#),
        overwrites: &[],
        now: 0,
    };
    let Outcome::Applied { ack, .. } = authority.submit(&submit) else {
        panic!()
    };
    let Outcome::Duplicate { ack: again } = authority.submit(&submit) else {
        panic!()
    };
    let (ServerMessage::Ack { rev: r1, .. }, ServerMessage::Ack { rev: r2, .. }) = (ack, again)
    else {
        panic!()
    };
    assert_eq!(r1, r2);
    assert_eq!(authority.document().to_json(), r#"{"n":1}"#);
    // Also after a restart from the durable log.
    let log = authority.history(Revision(1), Revision(1));
    let mut restarted = Authority::restore(
        Value::parse(r#"{"n": 0}"#).unwrap(),
        Revision(0),
        log,
        [],
        AuthorityConfig::default(),
    )
    .unwrap();
    assert!(matches!(
        restarted.submit(&submit),
        Outcome::Duplicate { .. }
    ));
    assert_eq!(restarted.document().to_json(), r#"{"n":1}"#);
}

#[test]
fn a_snapshot_replays_pending_work_and_reports_what_no_longer_applies() {
    let mut replica = Replica::with_document(
        ClientId::from("ann"),
        "Ann",
        Value::parse(r#"{"a": {"x": 1}, "b": 1}"#).unwrap(),
        Some(Revision(3)),
    );
    replica
        .edit(ops(r#"[{"op": "replace", "path": "/a/x", "value": 2}]"#))
        .unwrap();
    let events = replica.receive(ServerMessage::Welcome {
        protocol: 1,
        rev: Revision(50),
        role: Role::Write,
        client_seq: None,
        catch_up: sync_core::protocol::CatchUp::Snapshot {
            doc: Value::parse(r#"{"b": 2}"#).unwrap(),
            conflicts: vec![],
        },
        peers: vec![],
    });
    assert!(
        events.iter().any(|e| matches!(e, Event::Lost { .. })),
        "{events:?}"
    );
    assert_eq!(replica.view().to_json(), r#"{"b":2}"#);
    assert_eq!(replica.rev(), Some(Revision(50)));
}

#[test]
fn a_state_hash_mismatch_triggers_a_resync_that_heals() {
    let mut replica = Replica::with_document(
        ClientId::from("ann"),
        "Ann",
        Value::parse(r#"{"n": 1}"#).unwrap(),
        Some(Revision(0)),
    );
    replica.receive(ServerMessage::Welcome {
        protocol: 1,
        rev: Revision(0),
        role: Role::Write,
        client_seq: None,
        catch_up: sync_core::protocol::CatchUp::Changes { changes: vec![] },
        peers: vec![],
    });
    // The relay's document differs (n is 100, not 1): its hash says so.
    let truth = Value::parse(r#"{"n": 101}"#).unwrap();
    let commit = sync_core::protocol::Commit {
        rev: Revision(1),
        client: ClientId::from("bob"),
        seq: 1,
        author: "Bob".into(),
        time: 0,
        ops: ops(r#"[{"op": "incr", "path": "/n", "by": 1}]"#),
        conflicts: vec![],
        group: None,
    };
    let events = replica.receive(ServerMessage::Applied {
        commit,
        hash: Some(sync_core::protocol::state_hash(&truth)),
    });
    assert!(
        events.contains(&Event::Diverged { rev: Revision(1) }),
        "{events:?}"
    );
    assert!(events.contains(&Event::Send(ClientMessage::Snapshot { rev: None })));
    replica.receive(ServerMessage::Snapshot {
        rev: Revision(1),
        doc: truth.clone(),
    });
    assert_eq!(replica.view(), &truth);
}

#[test]
fn a_read_only_replica_does_not_send_and_the_relay_refuses_its_submits() {
    let mut authority = Authority::new(Value::parse("{}").unwrap(), AuthorityConfig::default());
    let reader = ClientId::from("reader");
    let outcome = authority.submit(&Submission {
        client: &reader,
        author: "R",
        role: Role::Read,
        seq: 1,
        base_rev: Revision(0),
        ops: ops(r#"[{"op": "add", "path": "/x", "value": 1}]"#),
        overwrites: &[],
        now: 0,
    });
    let Outcome::Rejected {
        reject: ServerMessage::Reject { code, .. },
    } = outcome
    else {
        panic!()
    };
    assert_eq!(code, "read_only");
    assert_eq!(authority.document().to_json(), "{}");

    let mut replica = Replica::new(reader, "R");
    replica.receive(authority.welcome(replica.client(), None, Role::Read));
    let err = replica
        .edit(ops(r#"[{"op": "add", "path": "/x", "value": 1}]"#))
        .unwrap_err();
    assert_eq!(err.code(), "read_only");
    assert_eq!(replica.view().to_json(), "{}");
}

#[test]
fn history_document_at_a_revision_and_state_hash() {
    let mut net = Net::new(r#"{"v": 0}"#, &["ann"]);
    for v in 1..=3 {
        net.edit(
            0,
            &format!(r#"[{{"op": "replace", "path": "/v", "value": {v}}}]"#),
        );
        net.settle();
    }
    let history = net.authority.history(Revision(1), Revision(3));
    assert_eq!(
        history.iter().map(|c| c.rev.0).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        net.authority.document_at(Revision(1)).unwrap().to_json(),
        r#"{"v":1}"#
    );
    assert_eq!(
        net.authority.document_at(Revision(0)).unwrap().to_json(),
        r#"{"v":0}"#
    );
    assert_eq!(
        net.authority.state_hash(),
        sync_core::protocol::state_hash(&Value::parse(r#"{"v": 3.0}"#).unwrap())
    );
}

fn edit_op() -> impl Strategy<Value = (u8, usize, i64)> {
    (0u8..5, 0usize..8, -3i64..10)
}

proptest! {
    /// Undoing N times then redoing N times, with nothing else in between, returns the same
    /// document, byte for byte.
    #[test]
    fn undo_n_times_then_redo_n_times_returns_the_same_document(edits in prop::collection::vec(edit_op(), 1..20)) {
        let mut replica = Replica::with_document(ClientId::from("ann"), "Ann", Value::parse(r#"{"l": [0], "s": "abc", "n": 0, "o": {}}"#).unwrap(), None);
        let mut made = 0;
        for (kind, at, v) in edits {
            let len = replica.view().as_object().unwrap().get("l").unwrap().as_array().unwrap().len();
            let op = match kind {
                0 => Operation::add(Pointer::parse(&format!("/l/{}", at.min(len))).unwrap(), v),
                1 if len > 0 => Operation::remove(Pointer::parse(&format!("/l/{}", at % len)).unwrap()),
                2 => Operation::Splice { path: Pointer::parse("/s").unwrap(), pos: 0, del: 0, ins: v.to_string() },
                3 => Operation::Incr { path: Pointer::parse("/n").unwrap(), by: v.into() },
                _ => Operation::add(Pointer::parse(&format!("/o/k{at}")).unwrap(), v),
            };
            if replica.edit(vec![op]).is_ok() {
                made += 1;
            }
        }
        let after = replica.view().to_json();
        for _ in 0..made {
            replica.undo().unwrap();
        }
        prop_assert_eq!(replica.view().to_json(), r#"{"l":[0],"s":"abc","n":0,"o":{}}"#);
        for _ in 0..made {
            replica.redo().unwrap();
        }
        prop_assert_eq!(replica.view().to_json(), after);
    }
}

/// The relay goes back to an older copy of itself: its Authority as it was at `rev`, rebuilt
/// from its own log (as from a backup), and every connection drops.
fn restore_relay_to(net: &mut Net, start: &str, rev: Revision) {
    let log = net.authority.history(Revision(1), rev);
    net.authority = Authority::restore(
        Value::parse(start).unwrap(),
        Revision(0),
        log,
        [],
        AuthorityConfig::default(),
    )
    .unwrap();
    for i in 0..net.replicas.len() {
        net.replicas[i].disconnected();
        net.outbox[i].clear();
        net.inbox[i].clear();
    }
}

/// Says hello to the relay and returns what the replica reported of its welcome.
fn reconnect(net: &mut Net, i: usize) -> Vec<Event> {
    let hello = net.replicas[i].hello("doc", None);
    net.outbox[i].push(hello);
    net.send(i);
    net.recv(i)
}

fn behind(relay: u64, mine: u64) -> Event {
    Event::RelayBehind {
        relay: Revision(relay),
        mine: Revision(mine),
    }
}

#[test]
fn a_relay_restored_from_an_older_copy_does_not_roll_my_copy_back() {
    let start = r#"{"n": 0}"#;
    let mut net = Net::new(start, &["ann", "bob"]);
    net.edit(0, r#"[{"op": "replace", "path": "/n", "value": 1}]"#);
    net.settle();
    net.edit(0, r#"[{"op": "add", "path": "/a", "value": "A"}]"#);
    net.settle();
    net.edit(1, r#"[{"op": "add", "path": "/b", "value": "B"}]"#);
    net.settle();
    assert_eq!(net.authority.rev(), Revision(3));
    restore_relay_to(&mut net, start, Revision(1));
    // Ann goes on offline, then reconnects: the relay is at r1, she holds r3.
    net.edit(0, r#"[{"op": "add", "path": "/offline", "value": true}]"#);
    let mine = net.view(0);
    let events = reconnect(&mut net, 0);
    assert!(events.contains(&behind(1, 3)), "{events:?}");
    assert!(
        !events.iter().any(|e| matches!(e, Event::Welcomed { .. })),
        "not caught up: {events:?}"
    );
    assert_eq!(net.view(0), mine, "her copy stays, pending work included");
    assert_eq!(net.replicas[0].relay_behind(), Some(Revision(1)));
    assert_eq!(net.replicas[0].rev(), Some(Revision(3)));
    assert!(net.outbox[0].is_empty(), "nothing is sent on r3, gone");
    // She can go on editing meanwhile; it stays here, and so does what is saved.
    net.edit(0, r#"[{"op": "incr", "path": "/n", "by": 1}]"#);
    assert!(net.outbox[0].is_empty());
    let mine = net.view(0);
    assert_eq!(mine, r#"{"n":2,"a":"A","b":"B","offline":true}"#);
    assert_eq!(net.replicas[0].save().rev, Some(Revision(3)));
    // Restore my copy: one change on top of r1 that makes the relay's document hers.
    let events = net.replicas[0].restore_my_copy().unwrap();
    net.take(0, events);
    assert_eq!(net.outbox[0].len(), 1);
    assert!(matches!(
        &net.outbox[0][0],
        ClientMessage::Submit {
            base_rev: Revision(1),
            ..
        }
    ));
    assert_eq!(net.view(0), mine, "the view does not move");
    assert!(net.replicas[0].can_undo(), "nor does the undo history");
    net.settle();
    assert_eq!(net.authority.rev(), Revision(2));
    assert_eq!(net.authority.document().to_json(), mine);
    assert_eq!(net.replicas[0].relay_behind(), None);
    assert_eq!(net.replicas[0].save().rev, Some(Revision(2)));
    // Bob, who held r3 without Ann's later work, is told too, and takes the relay's.
    let events = reconnect(&mut net, 1);
    assert!(events.contains(&behind(2, 3)), "{events:?}");
    let events = net.replicas[1].use_relay_copy();
    assert!(events.iter().any(|e| matches!(e, Event::Welcomed { .. })));
    net.take(1, events);
    net.settle();
    assert_eq!(net.view(1), mine);
    assert_eq!(net.replicas[1].rev(), Some(Revision(2)));
}

#[test]
fn using_the_relays_copy_replays_pending_work_and_reports_what_no_longer_applies() {
    let start = r#"{"n": 0}"#;
    let mut net = Net::new(start, &["ann", "bob"]);
    net.edit(0, r#"[{"op": "add", "path": "/a", "value": {"x": 1}}]"#);
    net.settle();
    net.edit(0, r#"[{"op": "add", "path": "/b", "value": 2}]"#);
    net.settle();
    // A change in flight when the relay goes (never to arrive), and one made offline after.
    net.edit(0, r#"[{"op": "add", "path": "/c", "value": 3}]"#);
    restore_relay_to(&mut net, start, Revision(0));
    net.edit(0, r#"[{"op": "replace", "path": "/a/x", "value": 2}]"#);
    let events = reconnect(&mut net, 0);
    assert!(events.contains(&behind(0, 2)), "{events:?}");
    // Bob takes the relay's at once and edits there meanwhile; Ann's copy of the relay's
    // document follows.
    let events = reconnect(&mut net, 1);
    assert!(events.contains(&behind(0, 2)), "{events:?}");
    let events = net.replicas[1].use_relay_copy();
    net.take(1, events);
    assert_eq!(net.view(1), r#"{"n":0}"#);
    net.edit(1, r#"[{"op": "incr", "path": "/n", "by": 5}]"#);
    net.settle();
    assert_eq!(net.replicas[0].relay_behind(), Some(Revision(1)));
    assert!(net.outbox[0].is_empty());
    // Use the relay's: its document, with her work replayed where it still applies.
    let events = net.replicas[0].use_relay_copy();
    let events = net.take(0, events);
    assert!(
        events.iter().any(|e| matches!(e, Event::Lost { .. })),
        "{events:?}"
    );
    assert!(events.contains(&Event::Changed));
    assert_eq!(net.view(0), r#"{"n":5,"c":3}"#);
    net.settle();
    assert_eq!(net.authority.document().to_json(), r#"{"n":5,"c":3}"#);
    assert_eq!(net.view(1), net.view(0));
    let saved = net.replicas[0].save();
    assert_eq!((saved.rev, saved.pending.len()), (Some(Revision(2)), 0));
}

#[test]
fn a_second_window_takes_the_copy_another_restored_and_keeps_its_own_work() {
    let start = r#"{"n": 0}"#;
    let mut net = Net::new(start, &["ann", "ann-2"]);
    net.edit(0, r#"[{"op": "add", "path": "/a", "value": 1}]"#);
    net.settle();
    net.edit(1, r#"[{"op": "add", "path": "/b", "value": 2}]"#);
    net.settle();
    restore_relay_to(&mut net, start, Revision(0));
    for i in 0..2 {
        let events = reconnect(&mut net, i);
        assert!(events.contains(&behind(0, 2)), "{events:?}");
    }
    // The second window goes on working while the first one restores the copy they share.
    net.edit(1, r#"[{"op": "add", "path": "/late", "value": 3}]"#);
    let events = net.replicas[0].restore_my_copy().unwrap();
    net.take(0, events);
    net.send(0);
    let events = net.recv(1);
    assert!(
        events.iter().any(|e| matches!(e, Event::Welcomed { .. })),
        "the relay holds what it confirmed: nothing to ask ({events:?})"
    );
    assert_eq!(net.replicas[1].relay_behind(), None);
    assert!(net.replicas[1].can_undo());
    net.settle();
    let all = r#"{"n":0,"a":1,"b":2,"late":3}"#;
    assert_eq!(net.authority.document().to_json(), all);
    assert_eq!((net.view(0), net.view(1)), (all.to_owned(), all.to_owned()));
    // A window that comes back later finds the relay holding its copy: not asked either.
    net.replicas[1].disconnected();
    let events = reconnect(&mut net, 1);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::RelayBehind { .. }))
    );
}

#[test]
fn keystrokes_joined_into_one_undo_step_are_taken_back_as_one_change_keeping_others_edits() {
    let mut net = Net::new(r#"{"s": "ab"}"#, &["ann", "bob"]);
    let typed = |pos: usize, del: usize, ins: &str| {
        ops(&format!(
            r#"[{{"op": "splice", "path": "/s", "pos": {pos}, "del": {del}, "ins": "{ins}"}}]"#
        ))
    };
    // Ann types "xyz" after the "a", with a backspace on the way, one keystroke at a time
    // (some sent, some waiting behind them).
    net.edit(
        0,
        r#"[{"op": "splice", "path": "/s", "pos": 1, "del": 0, "ins": "x"}]"#,
    );
    for (pos, del, ins) in [(2, 0, "y"), (3, 0, "q"), (3, 1, ""), (3, 0, "z")] {
        let events = net.replicas[0].edit_joining(typed(pos, del, ins)).unwrap();
        net.take(0, events);
    }
    assert_eq!(net.view(0), r#"{"s":"axyzb"}"#);
    // Bob edits the same string meanwhile.
    net.edit(
        1,
        r#"[{"op": "splice", "path": "/s", "pos": 2, "del": 0, "ins": "!"}]"#,
    );
    net.settle();
    assert_eq!(net.view(0), r#"{"s":"axyzb!"}"#);
    // One undo takes the whole run back, as one change; Bob's edit stays.
    let before = net.authority.rev();
    let events = net.replicas[0].undo().unwrap();
    net.take(0, events);
    assert_eq!(net.view(0), r#"{"s":"ab!"}"#);
    assert!(!net.replicas[0].can_undo(), "one step");
    net.settle();
    assert_eq!(net.authority.rev(), Revision(before.0 + 1), "one change");
    assert_eq!(net.view(1), r#"{"s":"ab!"}"#);
    // Redo brings the run back whole.
    let events = net.replicas[0].redo().unwrap();
    net.take(0, events);
    net.settle();
    assert_eq!(net.view(1), r#"{"s":"axyzb!"}"#);
}

#[test]
fn an_edit_after_an_undo_does_not_join_the_step_below() {
    let mut net = Net::new(r#"{"n": 0, "s": ""}"#, &["ann"]);
    net.edit(0, r#"[{"op": "replace", "path": "/n", "value": 1}]"#);
    net.edit(
        0,
        r#"[{"op": "splice", "path": "/s", "pos": 0, "del": 0, "ins": "a"}]"#,
    );
    net.replicas[0].undo().unwrap();
    net.replicas[0]
        .edit_joining(ops(
            r#"[{"op": "splice", "path": "/s", "pos": 0, "del": 0, "ins": "b"}]"#,
        ))
        .unwrap();
    net.replicas[0].undo().unwrap();
    assert_eq!(
        net.view(0),
        r#"{"n":1,"s":""}"#,
        "the set of n is its own step"
    );
}
