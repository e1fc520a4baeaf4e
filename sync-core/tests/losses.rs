//! No edit is lost silently: whenever the server's order makes someone's edit be overwritten,
//! dropped or removed with an ancestor, a conflict record reaches the person whose edit lost,
//! whether they were online, offline, or had a change in flight. Each test is a situation
//! people meet, driven through replicas and an Authority wired by hand.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::net::Net;
use sync_core::Value;
use sync_core::protocol::{Conflict, ConflictKind};
use sync_core::rebase::DropReason;

const ANN: usize = 0;
const BEN: usize = 1;

/// The records about `who`'s own lost edits (what the app shows them).
fn lost_by(net: &Net, who: usize) -> Vec<Conflict> {
    let me = net.replicas[who].client().clone();
    net.conflicts[who]
        .iter()
        .filter(|c| c.loser.client == me)
        .cloned()
        .collect()
}

fn only(records: Vec<Conflict>) -> Conflict {
    assert_eq!(records.len(), 1, "{records:#?}");
    records.into_iter().next().unwrap()
}

#[test]
fn an_offline_edit_that_overwrites_an_online_one_is_recorded_for_the_online_author() {
    let mut net = Net::new(r#"{"version": "1.0"}"#, &["ann", "ben"]);
    net.replicas[BEN].disconnected();
    net.edit(
        BEN,
        r#"[{"op": "replace", "path": "/version", "value": "3.0"}]"#,
    );
    net.edit(
        ANN,
        r#"[{"op": "replace", "path": "/version", "value": "2.0"}]"#,
    );
    net.settle();
    net.connect(BEN);
    net.settle();
    assert_eq!(net.view(ANN), r#"{"version":"3.0"}"#);
    assert_eq!(net.view(BEN), net.view(ANN));
    let c = only(lost_by(&net, ANN));
    assert_eq!(c.kind, ConflictKind::Overwritten);
    assert_eq!(c.path.to_string(), "/version");
    assert_eq!(c.value, Some(Value::from("2.0")));
    assert_eq!(c.winner.client.0, "ben");
    assert!(lost_by(&net, BEN).is_empty());
}

#[test]
fn an_offline_edit_inside_a_member_removed_meanwhile_is_dropped_with_a_record() {
    let mut net = Net::new(
        r#"{"owner": {"email": "a@x", "name": "A"}, "n": 1}"#,
        &["ann", "ben"],
    );
    net.replicas[ANN].disconnected();
    net.edit(
        ANN,
        r#"[{"op": "replace", "path": "/owner/email", "value": "ann@x"}]"#,
    );
    net.edit(BEN, r#"[{"op": "remove", "path": "/owner"}]"#);
    net.settle();
    net.connect(ANN);
    net.settle();
    assert_eq!(net.view(ANN), r#"{"n":1}"#);
    assert_eq!(net.authority.document().to_json(), r#"{"n":1}"#);
    let c = only(lost_by(&net, ANN));
    assert_eq!(c.kind, ConflictKind::Dropped);
    assert_eq!(c.path.to_string(), "/owner/email");
    assert_eq!(c.value, Some(Value::from("ann@x")));
    assert_eq!(c.reason, Some(DropReason::Removed));
    assert_eq!(c.winner.client.0, "ben");
}

#[test]
fn an_offline_set_of_a_member_removed_meanwhile_is_dropped_and_never_resurrects_it() {
    let mut net = Net::new(r#"{"visitors": 7, "tags": []}"#, &["ann", "ben"]);
    net.replicas[ANN].disconnected();
    net.edit(
        ANN,
        r#"[{"op": "replace", "path": "/visitors", "value": 42}]"#,
    );
    net.edit(BEN, r#"[{"op": "remove", "path": "/visitors"}]"#);
    net.settle();
    net.connect(ANN);
    net.settle();
    assert_eq!(net.authority.document().to_json(), r#"{"tags":[]}"#);
    assert_eq!(net.view(ANN), r#"{"tags":[]}"#);
    let c = only(lost_by(&net, ANN));
    assert_eq!(c.kind, ConflictKind::Dropped);
    assert_eq!(c.value, Some(Value::from(42)));
    assert_eq!(c.reason, Some(DropReason::Removed));
}

#[test]
fn a_change_in_flight_when_the_connection_dropped_is_resent_on_its_base_and_recorded() {
    let mut net = Net::new(r#"{"title": "Draft"}"#, &["ann", "ben"]);
    net.edit(
        ANN,
        r#"[{"op": "replace", "path": "/title", "value": "Ann's"}]"#,
    );
    net.outbox[ANN].clear(); // lost with the connection
    net.replicas[ANN].disconnected();
    net.edit(
        BEN,
        r#"[{"op": "replace", "path": "/title", "value": "Ben's"}]"#,
    );
    net.settle();
    net.connect(ANN);
    net.settle();
    assert_eq!(net.authority.document().to_json(), r#"{"title":"Ann's"}"#);
    assert_eq!(net.view(BEN), net.view(ANN));
    let c = only(lost_by(&net, BEN));
    assert_eq!(c.kind, ConflictKind::Overwritten);
    assert_eq!(c.value, Some(Value::from("Ben's")));
    assert_eq!(c.winner.client.0, "ann");
}

#[test]
fn an_edit_waiting_behind_one_in_flight_that_overwrites_a_concurrent_write_is_recorded() {
    let mut net = Net::new(r#"{"a": 0, "b": 0}"#, &["ann", "ben"]);
    net.edit(ANN, r#"[{"op": "replace", "path": "/a", "value": 1}]"#);
    net.edit(ANN, r#"[{"op": "replace", "path": "/b", "value": 1}]"#); // buffered
    net.edit(BEN, r#"[{"op": "replace", "path": "/b", "value": 2}]"#);
    net.send(BEN); // sequenced first
    net.send(ANN);
    net.settle();
    assert_eq!(net.authority.document().to_json(), r#"{"a":1,"b":1}"#);
    assert_eq!(net.view(BEN), net.view(ANN));
    let c = only(lost_by(&net, BEN));
    assert_eq!(c.kind, ConflictKind::Overwritten);
    assert_eq!(c.path.to_string(), "/b");
    assert_eq!(c.value, Some(Value::from(2)));
    assert_eq!(c.winner.client.0, "ann");
}

#[test]
fn an_unsent_edit_dropped_by_a_concurrent_removal_is_reported_at_once() {
    let mut net = Net::new(r#"{"o": {"k": 0}, "a": 0}"#, &["ann", "ben"]);
    net.edit(ANN, r#"[{"op": "replace", "path": "/a", "value": 1}]"#);
    net.edit(ANN, r#"[{"op": "replace", "path": "/o/k", "value": 5}]"#); // buffered
    net.edit(BEN, r#"[{"op": "remove", "path": "/o"}]"#);
    net.send(BEN);
    net.recv(ANN); // Ben's removal arrives before Ann's ack
    let c = only(lost_by(&net, ANN));
    assert_eq!(c.kind, ConflictKind::Dropped);
    assert_eq!(c.path.to_string(), "/o/k");
    assert_eq!(c.value, Some(Value::from(5)));
    net.settle();
    assert_eq!(lost_by(&net, ANN).len(), 1, "reported once");
    assert_eq!(net.view(ANN), r#"{"a":1}"#);
}

#[test]
fn a_change_in_flight_dropped_by_a_concurrent_removal_is_reported_once_by_the_relay() {
    let mut net = Net::new(r#"{"o": {"k": 0}}"#, &["ann", "ben"]);
    net.edit(ANN, r#"[{"op": "replace", "path": "/o/k", "value": 5}]"#);
    net.edit(BEN, r#"[{"op": "remove", "path": "/o"}]"#);
    net.send(BEN);
    net.recv(ANN); // the removal arrives while Ann's change is in flight
    assert!(lost_by(&net, ANN).is_empty(), "the relay decides");
    net.settle();
    let c = only(lost_by(&net, ANN));
    assert_eq!(c.kind, ConflictKind::Dropped);
    assert_eq!(c.rev.0, 2, "decided when Ann's change applied");
}

#[test]
fn removing_a_member_someone_edited_inside_meanwhile_tells_them() {
    let mut net = Net::new(r#"{"owner": {"email": "a@x"}}"#, &["ann", "ben"]);
    net.replicas[BEN].disconnected();
    net.edit(BEN, r#"[{"op": "remove", "path": "/owner"}]"#);
    net.edit(
        ANN,
        r#"[{"op": "replace", "path": "/owner/email", "value": "ann@x"}]"#,
    );
    net.settle();
    net.connect(BEN);
    net.settle();
    assert_eq!(net.authority.document().to_json(), r#"{}"#);
    let c = only(lost_by(&net, ANN));
    assert_eq!(c.kind, ConflictKind::Overwritten);
    assert_eq!(c.path.to_string(), "/owner");
    assert_eq!(
        c.value,
        Some(Value::parse(r#"{"email": "ann@x"}"#).unwrap())
    );
}

#[test]
fn edits_made_after_seeing_a_change_are_no_conflict() {
    let mut net = Net::new(r#"{"v": 0}"#, &["ann", "ben"]);
    net.edit(ANN, r#"[{"op": "replace", "path": "/v", "value": 1}]"#);
    net.settle();
    net.edit(BEN, r#"[{"op": "replace", "path": "/v", "value": 2}]"#);
    net.settle();
    assert!(
        net.conflicts.iter().all(Vec::is_empty),
        "{:?}",
        net.conflicts
    );
}

#[test]
fn a_long_offline_period_caught_up_by_changes_records_every_loss() {
    let mut net = Net::new(r#"{"list": [], "title": "t", "n": 0}"#, &["ann", "ben"]);
    net.replicas[ANN].disconnected();
    net.edit(
        ANN,
        r#"[{"op": "replace", "path": "/title", "value": "ann"}]"#,
    );
    net.edit(ANN, r#"[{"op": "incr", "path": "/n", "by": 1}]"#);
    for i in 0..300 {
        net.edit(
            BEN,
            &format!(r#"[{{"op": "add", "path": "/list/0", "value": {i}}}]"#),
        );
        net.settle();
    }
    net.edit(
        BEN,
        r#"[{"op": "replace", "path": "/title", "value": "ben"}]"#,
    );
    net.settle();
    net.connect(ANN);
    net.settle();
    let doc = net.authority.document();
    assert_eq!(doc.to_json(), net.view(BEN));
    assert_eq!(net.view(ANN), net.view(BEN));
    assert_eq!(
        sync_core::Pointer::parse("/title").unwrap().resolve(doc),
        Some(&Value::from("ann"))
    );
    assert_eq!(
        sync_core::Pointer::parse("/n").unwrap().resolve(doc),
        Some(&Value::from(1))
    );
    let c = only(lost_by(&net, BEN));
    assert_eq!(c.value, Some(Value::from("ben")));
}

#[test]
fn a_dropped_edit_inside_a_string_is_recorded_with_the_whole_string_as_its_author_had_it() {
    // Offline: the replica drops it itself.
    let mut net = Net::new(r#"{"owner": {"email": "ada@x"}}"#, &["ann", "ben"]);
    net.replicas[ANN].disconnected();
    net.edit(
        ANN,
        r#"[{"op": "splice", "path": "/owner/email", "pos": 0, "del": 3, "ins": "ann"}]"#,
    );
    net.edit(BEN, r#"[{"op": "remove", "path": "/owner"}]"#);
    net.settle();
    net.connect(ANN);
    net.settle();
    assert_eq!(only(lost_by(&net, ANN)).value, Some(Value::from("ann@x")));

    // In flight: the relay drops it and records the fragment; the replica fills in the rest.
    let mut net = Net::new(r#"{"owner": {"email": "ada@x"}}"#, &["ann", "ben"]);
    net.edit(
        ANN,
        r#"[{"op": "splice", "path": "/owner/email", "pos": 0, "del": 3, "ins": "ann"}]"#,
    );
    net.edit(BEN, r#"[{"op": "remove", "path": "/owner"}]"#);
    net.send(BEN);
    net.settle();
    let c = only(lost_by(&net, ANN));
    assert_eq!(c.kind, ConflictKind::Dropped);
    assert_eq!(c.value, Some(Value::from("ann@x")));
}

/// Ann's change was sent, lost with the connection, and her window restarted (so it no longer
/// knows what it sent). Meanwhile Ben moved `b` into `a`, so Ann's move of `a` into `b` would
/// now put `a` inside itself: her whole change no longer applies. Her window sends it again as
/// it stands (nothing), so the relay will never report it: her window does.
#[test]
fn a_change_in_flight_that_no_longer_applies_after_a_restart_is_reported_lost() {
    use sync_core::Operation;
    use sync_core::replica::{Event, Replica};
    let mut net = Net::new(r#"{"a": {}, "b": {}}"#, &["ann", "ben"]);
    net.edit(
        ANN,
        r#"[{"op": "add", "path": "/a/x", "value": "Ann's"},
            {"op": "move", "from": "/a", "path": "/b/a"}]"#,
    );
    net.outbox[ANN].clear(); // lost with the connection
    let (restarted, events) = Replica::restore(net.replicas[ANN].save());
    assert!(events.is_empty(), "{events:?}");
    net.replicas[ANN] = restarted;
    net.edit(BEN, r#"[{"op": "move", "from": "/b", "path": "/a/b"}]"#);
    net.settle();
    let hello = net.replicas[ANN].hello("doc", None);
    net.outbox[ANN].push(hello);
    net.send(ANN);
    let events = net.recv(ANN);
    net.settle();
    let lost: Vec<&Operation> = events
        .iter()
        .filter_map(|e| match e {
            Event::Lost { ops, .. } => Some(ops),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(
        lost.iter()
            .any(|op| op.path().to_string() == "/a/x" && op.name() == "add"),
        "{events:?}"
    );
    assert_eq!(net.authority.document().to_json(), r#"{"a":{"b":{}}}"#);
    assert_eq!(net.view(ANN), net.view(BEN));
}

/// Ann, offline, moved `k` into a list and then removed the item before it; Ben replaced the
/// list. Her move is dropped, and its record holds the node she moved, found where her later
/// edit had shifted it (not whatever sits at the move's own index).
#[test]
fn a_dropped_move_is_recorded_with_the_node_it_moved_after_later_edits_shifted_it() {
    let mut net = Net::new(r#"{"k": {"t": "mine"}, "l": ["a", "b"]}"#, &["ann", "ben"]);
    net.replicas[ANN].disconnected();
    net.edit(ANN, r#"[{"op": "move", "from": "/k", "path": "/l/1"}]"#);
    net.edit(ANN, r#"[{"op": "remove", "path": "/l/0"}]"#);
    net.edit(BEN, r#"[{"op": "replace", "path": "/l", "value": "gone"}]"#);
    net.settle();
    net.connect(ANN);
    net.settle();
    let moved: Vec<Conflict> = lost_by(&net, ANN)
        .into_iter()
        .filter(|c| matches!(c.op, Some(sync_core::Operation::Move { .. })))
        .collect();
    let c = only(moved);
    assert_eq!(c.kind, ConflictKind::Dropped);
    assert_eq!(c.value, Some(Value::parse(r#"{"t": "mine"}"#).unwrap()));
    assert_eq!(net.view(ANN), net.view(BEN));
}

/// Ann's copy into `p` is in flight and her next edit, waiting behind it, replaces `p`.
/// Carol added to what Ann's copy overwrote; then Ben replaced the object Ann copied from,
/// so the copy is dropped. Ann's waiting edit is what overwrites Carol's addition now, and
/// Carol is told.
#[test]
fn a_claim_of_a_dropped_operation_in_flight_passes_to_the_edit_waiting_behind_it() {
    const CAROL: usize = 2;
    let mut net = Net::new(
        r#"{"o": {"src": "s"}, "p": {"c": ["x"]}}"#,
        &["ann", "ben", "carol"],
    );
    net.edit(ANN, r#"[{"op": "copy", "from": "/o/src", "path": "/p/c"}]"#);
    net.edit(
        ANN,
        r#"[{"op": "replace", "path": "/p", "value": {"mine": 1}}]"#,
    ); // buffered
    net.edit(
        CAROL,
        r#"[{"op": "add", "path": "/p/c/1", "value": "carol's"}]"#,
    );
    net.send(CAROL);
    net.recv(ANN); // Carol's addition reaches Ann while her copy is in flight
    net.edit(BEN, r#"[{"op": "replace", "path": "/o", "value": "gone"}]"#);
    net.send(BEN);
    net.recv(ANN); // and then Ben's replacement of what the copy copies from
    net.settle();
    assert_eq!(net.view(CAROL), r#"{"o":"gone","p":{"mine":1}}"#);
    assert_eq!(net.view(ANN), net.view(CAROL));
    let c = only(lost_by(&net, CAROL));
    assert_eq!(c.kind, ConflictKind::Overwritten);
    assert_eq!(c.path.to_string(), "/p");
    assert_eq!(c.winner.client.0, "ann");
}

/// Ann's edit waiting behind one in flight moves an item out of `items` and then removes
/// `items`. Ben removed where she moved it to, and his change reaches her first: her replica
/// drops the move, so the item stays where it was and her removal takes it. Carol had written
/// in it, and only the relay knows that: Ann's change claims the node, and Carol is told.
#[test]
fn a_node_left_in_place_by_a_move_dropped_before_sending_is_reported_to_its_writer() {
    const CAROL: usize = 2;
    let mut net = Net::new(
        r#"{"x": 0, "items": [{"k": "x"}], "tags": []}"#,
        &["ann", "ben", "carol"],
    );
    net.edit(
        CAROL,
        r#"[{"op": "replace", "path": "/items/0/k", "value": "carol's"}]"#,
    );
    net.settle();
    net.edit(ANN, r#"[{"op": "replace", "path": "/x", "value": 1}]"#);
    net.edit(
        ANN,
        r#"[{"op": "move", "from": "/items/0", "path": "/tags/0"},
            {"op": "remove", "path": "/items"}]"#,
    ); // buffered
    net.edit(BEN, r#"[{"op": "remove", "path": "/tags"}]"#);
    net.send(BEN);
    net.recv(ANN); // Ben's removal reaches Ann while her first edit is in flight
    net.settle();
    assert_eq!(net.view(CAROL), r#"{"x":1}"#);
    assert_eq!(net.view(ANN), net.view(CAROL));
    let c = only(lost_by(&net, CAROL));
    assert_eq!(c.kind, ConflictKind::Overwritten);
    assert_eq!(c.path.to_string(), "/items");
    assert_eq!(c.winner.client.0, "ann");
    // Ann is told her move was dropped, with the item it moved.
    let c = only(lost_by(&net, ANN));
    assert_eq!(
        (c.kind, c.path.to_string()),
        (ConflictKind::Dropped, "/tags/0".to_owned())
    );
    assert_eq!(c.value, Some(Value::parse(r#"{"k": "carol's"}"#).unwrap()));
    assert!(lost_by(&net, BEN).is_empty(), "{:#?}", lost_by(&net, BEN));
}

/// Ann's edit waiting behind one in flight sets a member of `p` and then replaces `q`, two
/// places apart where she made it. Ben moved `p` onto `q`, and his change reaches her first:
/// rebased by her replica, her replacement lands on the node that holds her own first write.
/// That write is lost although she never pointed at it, and she is told at once.
#[test]
fn an_unsent_edit_that_a_concurrent_move_makes_overwrite_its_own_write_is_reported() {
    let mut net = Net::new(r#"{"x": 0, "p": {}, "q": 0}"#, &["ann", "ben"]);
    net.edit(ANN, r#"[{"op": "replace", "path": "/x", "value": 1}]"#);
    net.edit(
        ANN,
        r#"[{"op": "add", "path": "/p/v", "value": "ann's first"},
            {"op": "replace", "path": "/q", "value": "ann's second"}]"#,
    ); // buffered
    net.edit(BEN, r#"[{"op": "move", "from": "/p", "path": "/q"}]"#);
    net.send(BEN);
    net.recv(ANN); // Ben's move reaches Ann while her first edit is in flight
    let c = only(lost_by(&net, ANN));
    assert_eq!(c.kind, ConflictKind::Overwritten);
    assert_eq!(c.path.to_string(), "/q");
    assert_eq!(
        c.value,
        Some(Value::parse(r#"{"v": "ann's first"}"#).unwrap())
    );
    net.settle();
    assert_eq!(net.view(BEN), r#"{"x":1,"q":"ann's second"}"#);
    assert_eq!(net.view(ANN), net.view(BEN));
    assert_eq!(lost_by(&net, ANN).len(), 1, "{:#?}", lost_by(&net, ANN));
}

/// Ann's edit waiting behind one in flight moves an item into `meta`, removes `tags`, and then
/// removes the item. Carol wrote in the item meanwhile; Ann's replica saw that before sending and
/// claims Carol's write for the last removal. But Ben moved `meta` into `tags` first, so at the
/// relay Ann's own move has put the item under `tags` and her removal of `tags` takes it (the
/// last removal is dropped with its claim). Carol's work is gone all the same, taken by Ann's
/// change: she is told.
#[test]
fn a_claimed_write_taken_by_an_earlier_operation_than_the_one_claiming_it_is_reported() {
    const CAROL: usize = 2;
    let mut net = Net::new(
        r#"{"x": 0, "items": [{"a": 1}], "meta": {"b": {}}, "tags": []}"#,
        &["ann", "ben", "carol"],
    );
    net.edit(ANN, r#"[{"op": "replace", "path": "/x", "value": 1}]"#);
    net.edit(
        ANN,
        r#"[{"op": "move", "from": "/items/0", "path": "/meta/b/i"},
            {"op": "remove", "path": "/tags"},
            {"op": "remove", "path": "/meta/b/i"}]"#,
    ); // buffered
    net.edit(
        CAROL,
        r#"[{"op": "add", "path": "/items/0/k", "value": "carol's"}]"#,
    );
    net.send(CAROL);
    net.recv(ANN); // Carol's write reaches Ann's waiting edit: it now claims it
    net.send(ANN); // her first edit is sequenced
    net.edit(
        BEN,
        r#"[{"op": "move", "from": "/meta", "path": "/tags/0"}]"#,
    );
    net.send(BEN);
    net.recv(ANN); // the ack sends her waiting edit, made before Ben's move
    net.send(ANN);
    net.settle();
    assert_eq!(net.view(CAROL), r#"{"x":1,"items":[]}"#);
    assert_eq!(net.view(ANN), net.view(CAROL));
    let c = only(lost_by(&net, CAROL));
    assert_eq!(c.kind, ConflictKind::Overwritten);
    assert_eq!(c.winner.client.0, "ann");
    let value = c.value.map(|v| v.to_json()).unwrap_or_default();
    assert!(value.contains("carol's"), "{value}");
}

/// Ann's edit waiting behind one in flight copies `src` over `p` and then replaces `p`. Carol
/// set `p` meanwhile, and Ann's replica claims Carol's write for the copy. At the relay Ben has
/// removed `src` first, so the copy is dropped with its claim; Ann's replacement now overwrites
/// Carol's value in its place, takes the claim over, and Carol is told.
#[test]
fn a_claim_of_an_operation_the_relay_drops_passes_to_the_next_that_overwrites_its_place() {
    const CAROL: usize = 2;
    let mut net = Net::new(r#"{"x": 0, "src": 1, "p": 0}"#, &["ann", "ben", "carol"]);
    net.edit(ANN, r#"[{"op": "replace", "path": "/x", "value": 1}]"#);
    net.edit(
        ANN,
        r#"[{"op": "copy", "from": "/src", "path": "/p"},
            {"op": "replace", "path": "/p", "value": "ann's"}]"#,
    ); // buffered
    net.edit(
        CAROL,
        r#"[{"op": "replace", "path": "/p", "value": "carol's"}]"#,
    );
    net.send(CAROL);
    net.recv(ANN); // Carol's write reaches Ann's waiting edit: its copy now claims it
    net.send(ANN); // her first edit is sequenced
    net.edit(BEN, r#"[{"op": "remove", "path": "/src"}]"#);
    net.send(BEN);
    net.recv(ANN); // the ack sends her waiting edit, made before Ben's removal
    net.send(ANN);
    net.settle();
    assert_eq!(net.view(CAROL), r#"{"x":1,"p":"ann's"}"#);
    assert_eq!(net.view(ANN), net.view(CAROL));
    let c = only(lost_by(&net, CAROL));
    assert_eq!(c.kind, ConflictKind::Overwritten);
    assert_eq!(c.value, Some(Value::from("carol's")));
    assert_eq!(c.winner.client.0, "ann");
}

/// The replica, wired by hand: what it says to messages a relay could send.
fn server(json: &str) -> sync_core::protocol::ServerMessage {
    serde_json::from_str(json).unwrap()
}

#[test]
fn an_unsent_edit_over_what_the_relays_version_of_my_change_kept_and_i_never_saw_is_reported() {
    use sync_core::protocol::ClientId;
    use sync_core::replica::{Event, Replica};
    let mut ann = Replica::new(ClientId::from("ann"), "Ann");
    ann.receive(server(
        r#"{"type": "welcome", "protocol": 1, "rev": 1, "role": "write", "catch_up": {"kind": "snapshot", "doc": {"x": 0, "meta": {"a": 1}}}, "peers": []}"#,
    ));
    let sent = ann
        .edit(common::net::ops(
            r#"[{"op": "replace", "path": "/x", "value": 1}, {"op": "add", "path": "/meta/k", "value": "Ann's"}]"#,
        ))
        .unwrap();
    assert!(
        sent.iter().any(|e| matches!(e, Event::Send(_))),
        "in flight"
    );
    // Ben replaced `meta` meanwhile: here, Ann's member of it is gone with it.
    ann.receive(server(
        r#"{"type": "applied", "rev": 2, "client": "ben", "seq": 1, "author": "Ben", "time": 0, "ops": [{"op": "replace", "path": "/meta", "value": {"a": 2}}]}"#,
    ));
    assert_eq!(ann.view().to_json(), r#"{"x":1,"meta":{"a":2}}"#);
    // Ann goes on over what she sees.
    ann.edit(common::net::ops(
        r#"[{"op": "replace", "path": "/x", "value": 5}, {"op": "replace", "path": "/meta", "value": true}]"#,
    ))
    .unwrap();
    // The relay's version of her change kept her member.
    let events = ann.receive(server(
        r#"{"type": "ack", "seq": 1, "rev": 3, "ops": [{"op": "replace", "path": "/x", "value": 1}, {"op": "add", "path": "/meta/k", "value": "Ann's"}]}"#,
    ));
    assert_eq!(ann.view().to_json(), r#"{"x":5,"meta":true}"#);
    // Her `replace /meta` now overwrites her member, which she never saw there: she is told.
    // Her `replace /x` overwrites the 1 she saw: nothing to tell.
    let told: Vec<Conflict> = events
        .into_iter()
        .filter_map(|e| match e {
            Event::Conflicts(c) => Some(c),
            _ => None,
        })
        .flatten()
        .collect();
    let c = only(told);
    assert_eq!(c.kind, ConflictKind::Overwritten);
    assert_eq!(c.path.to_string(), "/meta");
    assert_eq!(
        c.value,
        Some(Value::parse(r#"{"a":2,"k":"Ann's"}"#).unwrap())
    );
    assert_eq!(c.loser.client.0, "ann");
}
