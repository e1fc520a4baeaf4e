//! DESIGN.md's conflict table, one test per row, through the Authority: A and B are made on
//! the same revision, A is sequenced first, B is rebased over it.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};
use sync_core::protocol::{
    ClientId, Commit, Conflict, ConflictKind, Revision, Role, ServerMessage,
};
use sync_core::rebase::DropReason;
use sync_core::{Change, Value};

struct Run {
    doc: Value,
    b: Result<Commit, (String, String)>,
}

/// Applies A then B, both made on revision 0 of `doc`.
fn concurrent(doc: &str, a: &str, b: &str) -> Run {
    let mut authority = Authority::new(Value::parse(doc).unwrap(), AuthorityConfig::default());
    let (ann, bob) = (ClientId::from("ann"), ClientId::from("bob"));
    let submit = |authority: &mut Authority, client: &ClientId, author: &str, ops: &str| {
        authority.submit(&Submission {
            client,
            author,
            role: Role::Write,
            seq: 1,
            base_rev: Revision(0),
            ops: Change::from_json(ops).unwrap().0,
            overwrites: &[],
            now: 1000,
        })
    };
    let Outcome::Applied { .. } = submit(&mut authority, &ann, "Ann", a) else {
        panic!("A applies")
    };
    let b = match submit(&mut authority, &bob, "Bob", b) {
        Outcome::Applied {
            commit,
            ack,
            broadcast,
        } => {
            // The sender and everyone else hear of the same conflicts.
            let ServerMessage::Ack { conflicts, .. } = ack else {
                panic!()
            };
            let ServerMessage::Applied { commit: told, .. } = broadcast else {
                panic!()
            };
            assert_eq!(conflicts, commit.conflicts);
            assert_eq!(told, commit);
            Ok(commit)
        }
        Outcome::Rejected {
            reject: ServerMessage::Reject { code, message, .. },
        } => Err((code, message)),
        other => panic!("unexpected {other:?}"),
    };
    Run {
        doc: authority.document().clone(),
        b,
    }
}

fn json(v: &Value) -> String {
    v.to_json()
}

fn only_conflict(run: &Run) -> Conflict {
    let commit = run.b.as_ref().expect("B applies");
    assert_eq!(commit.conflicts.len(), 1, "{:?}", commit.conflicts);
    commit.conflicts[0].clone()
}

#[test]
fn both_set_the_same_key_b_wins_and_a_value_is_kept_as_a_conflict() {
    let run = concurrent(
        r#"{"title": "Draft"}"#,
        r#"[{"op": "replace", "path": "/title", "value": "Ann's"}]"#,
        r#"[{"op": "replace", "path": "/title", "value": "Bob's"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"title":"Bob's"}"#);
    let c = only_conflict(&run);
    assert_eq!(c.kind, ConflictKind::Overwritten);
    assert_eq!(c.path.to_string(), "/title");
    assert_eq!(c.value, Some(Value::from("Ann's")));
    assert_eq!(
        (c.loser.client.0.as_str(), c.winner.client.0.as_str()),
        ("ann", "bob")
    );
    assert_eq!(c.rev, Revision(2));
}

#[test]
fn both_add_the_same_new_key_b_wins() {
    let run = concurrent(
        r#"{}"#,
        r#"[{"op": "add", "path": "/k", "value": 1}]"#,
        r#"[{"op": "add", "path": "/k", "value": 2}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"k":2}"#);
    assert_eq!(only_conflict(&run).value, Some(Value::from(1)));
}

#[test]
fn an_insert_before_b_index_shifts_it_up() {
    let run = concurrent(
        r#"{"l": ["a", "b", "c"]}"#,
        r#"[{"op": "add", "path": "/l/0", "value": "x"}]"#,
        r#"[{"op": "replace", "path": "/l/2", "value": "C"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"l":["x","a","b","C"]}"#);
}

#[test]
fn a_removal_before_b_index_shifts_it_down() {
    let run = concurrent(
        r#"{"l": ["a", "b", "c"]}"#,
        r#"[{"op": "remove", "path": "/l/0"}]"#,
        r#"[{"op": "replace", "path": "/l/2", "value": "C"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"l":["b","C"]}"#);
}

#[test]
fn a_removed_ancestor_drops_b_with_its_intended_value() {
    let run = concurrent(
        r#"{"o": {"k": 1}, "keep": true}"#,
        r#"[{"op": "remove", "path": "/o"}]"#,
        r#"[{"op": "replace", "path": "/o/k", "value": 2}, {"op": "add", "path": "/b", "value": 1}]"#,
    );
    assert_eq!(
        json(&run.doc),
        r#"{"keep":true,"b":1}"#,
        "B's other operation still applies"
    );
    let c = only_conflict(&run);
    assert_eq!(
        (c.kind, c.reason),
        (ConflictKind::Dropped, Some(DropReason::Removed))
    );
    assert_eq!(c.path.to_string(), "/o/k");
    assert_eq!(c.value, Some(Value::from(2)));
    assert_eq!(c.loser.client.0, "bob");
}

#[test]
fn a_replaced_ancestor_drops_b() {
    let run = concurrent(
        r#"{"o": {"k": 1}}"#,
        r#"[{"op": "replace", "path": "/o", "value": {"fresh": true}}]"#,
        r#"[{"op": "add", "path": "/o/k2", "value": 2}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"o":{"fresh":true}}"#);
    assert_eq!(only_conflict(&run).reason, Some(DropReason::Replaced));
}

#[test]
fn both_insert_at_the_same_index_both_kept_a_first() {
    let run = concurrent(
        r#"["a", "b"]"#,
        r#"[{"op": "add", "path": "/1", "value": "from A"}]"#,
        r#"[{"op": "add", "path": "/1", "value": "from B"}]"#,
    );
    assert_eq!(json(&run.doc), r#"["a","from A","from B","b"]"#);
}

#[test]
fn both_splice_the_same_string_both_edits_kept() {
    let run = concurrent(
        r#"{"s": "hello world"}"#,
        r#"[{"op": "splice", "path": "/s", "pos": 0, "del": 5, "ins": "HELLO"}]"#,
        r#"[{"op": "splice", "path": "/s", "pos": 6, "del": 5, "ins": "there"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"s":"HELLO there"}"#);
}

#[test]
fn both_insert_text_at_the_same_position_a_first() {
    let run = concurrent(
        r#"{"s": "ab"}"#,
        r#"[{"op": "splice", "path": "/s", "pos": 1, "del": 0, "ins": "X"}]"#,
        r#"[{"op": "splice", "path": "/s", "pos": 1, "del": 0, "ins": "Y"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"s":"aXYb"}"#);
}

#[test]
fn a_replaced_string_drops_b_splice() {
    let run = concurrent(
        r#"{"s": "hello"}"#,
        r#"[{"op": "replace", "path": "/s", "value": "bye"}]"#,
        r#"[{"op": "splice", "path": "/s", "pos": 5, "del": 0, "ins": "!"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"s":"bye"}"#);
    let c = only_conflict(&run);
    assert_eq!(
        (c.kind, c.reason),
        (ConflictKind::Dropped, Some(DropReason::Replaced))
    );
}

#[test]
fn both_incr_the_same_number_both_apply() {
    let run = concurrent(
        r#"{"n": 1}"#,
        r#"[{"op": "incr", "path": "/n", "by": 2}]"#,
        r#"[{"op": "incr", "path": "/n", "by": 3}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"n":6}"#);
    assert!(run.b.unwrap().conflicts.is_empty());
}

#[test]
fn a_moves_an_item_b_edits_inside_it_and_follows() {
    let run = concurrent(
        r#"{"todo": [{"t": "a"}, {"t": "b"}], "done": []}"#,
        r#"[{"op": "move", "from": "/todo/0", "path": "/done/0"}]"#,
        r#"[{"op": "replace", "path": "/todo/0/t", "value": "A!"}, {"op": "replace", "path": "/todo/1/t", "value": "B!"}]"#,
    );
    assert_eq!(
        json(&run.doc),
        r#"{"todo":[{"t":"B!"}],"done":[{"t":"A!"}]}"#
    );
}

#[test]
fn both_move_the_same_item_b_destination_wins_and_it_exists_once() {
    let run = concurrent(
        r#"{"l": ["x", "y", "z"], "m": []}"#,
        r#"[{"op": "move", "from": "/l/0", "path": "/l/2"}]"#,
        r#"[{"op": "move", "from": "/l/0", "path": "/m/0"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"l":["y","z"],"m":["x"]}"#);
}

#[test]
fn a_removes_an_item_b_moves_it_b_dropped_and_it_stays_removed() {
    let run = concurrent(
        r#"{"l": ["x", "y"], "m": []}"#,
        r#"[{"op": "remove", "path": "/l/0"}]"#,
        r#"[{"op": "move", "from": "/l/0", "path": "/m/0"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"l":["y"],"m":[]}"#);
    let c = only_conflict(&run);
    assert_eq!(
        (c.kind, c.reason),
        (ConflictKind::Dropped, Some(DropReason::Removed))
    );
}

#[test]
fn a_moves_an_item_b_removes_it_removed_at_its_new_place() {
    let run = concurrent(
        r#"{"l": ["x", "y"], "m": []}"#,
        r#"[{"op": "move", "from": "/l/0", "path": "/m/0"}]"#,
        r#"[{"op": "remove", "path": "/l/0"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"l":["y"],"m":[]}"#);
}

#[test]
fn a_move_into_its_own_descendant_is_rejected() {
    let run = concurrent(
        r#"{"a": {}, "b": {}}"#,
        r#"[{"op": "move", "from": "/a", "path": "/b/a"}]"#,
        r#"[{"op": "move", "from": "/b", "path": "/a/b"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"b":{"a":{}}}"#);
    let (code, message) = run.b.unwrap_err();
    assert_eq!(code, "move_into_descendant", "{message}");
}

#[test]
fn b_test_fails_after_rebasing_the_whole_change_is_rejected() {
    let run = concurrent(
        r#"{"stock": 1}"#,
        r#"[{"op": "replace", "path": "/stock", "value": 0}]"#,
        r#"[{"op": "test", "path": "/stock", "value": 1}, {"op": "replace", "path": "/stock", "value": 0}, {"op": "add", "path": "/sold", "value": true}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"stock":0}"#, "nothing of B applied");
    let (code, message) = run.b.unwrap_err();
    assert_eq!(code, "test_failed");
    assert!(
        message.starts_with("operation 0 (test /stock)"),
        "{message}"
    );
}

#[test]
fn a_malformed_move_out_of_an_empty_array_is_rejected_not_a_panic() {
    let run = concurrent(
        r#"{"l": [], "n": 0}"#,
        r#"[{"op": "replace", "path": "/n", "value": 1}]"#,
        r#"[{"op": "move", "from": "/l/0", "path": "/l/-"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"l":[],"n":1}"#);
    let (code, _) = run.b.unwrap_err();
    assert_eq!(code, "bad_index");
}

#[test]
fn a_removes_b_target_that_b_replaces_b_is_dropped_and_the_member_stays_removed() {
    let run = concurrent(
        r#"{"visitors": 7, "tags": []}"#,
        r#"[{"op": "remove", "path": "/visitors"}]"#,
        r#"[{"op": "replace", "path": "/visitors", "value": 42}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"tags":[]}"#);
    let c = only_conflict(&run);
    assert_eq!(c.kind, ConflictKind::Dropped);
    assert_eq!(c.reason, Some(DropReason::Removed));
    assert_eq!(c.value, Some(Value::from(42)));
    assert_eq!(c.loser.client.0, "bob");
}

#[test]
fn both_splice_one_string_in_several_operations_both_edits_kept() {
    // Each side deletes and inserts in two operations, the second defined on the string the
    // first left: B's second splice must be rebased over A as already carried past B's first.
    let run = concurrent(
        r#"{"s": "01234567"}"#,
        r#"[{"op": "splice", "path": "/s", "pos": 2, "del": 2, "ins": "a"}, {"op": "splice", "path": "/s", "pos": 5, "del": 2, "ins": ""}]"#,
        r#"[{"op": "splice", "path": "/s", "pos": 4, "del": 2, "ins": "é"}, {"op": "splice", "path": "/s", "pos": 4, "del": 3, "ins": ""}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"s":"01a"}"#);
    assert!(run.b.unwrap().conflicts.is_empty());
}

#[test]
fn a_removes_the_last_item_b_moves_the_one_before_onto_its_index() {
    // B's destination is an index in the array without the moved item (RFC 6902), so A's
    // removal is mapped into that array before it shifts the destination.
    let run = concurrent(
        r#"{"arr": [0, 1, 2]}"#,
        r#"[{"op": "remove", "path": "/arr/2"}]"#,
        r#"[{"op": "move", "from": "/arr/1", "path": "/arr/2"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"arr":[0,1]}"#);
}

#[test]
fn a_null_value_that_lost_is_recorded_as_null_and_survives_the_wire() {
    let run = concurrent(
        r#"{"o": {"k": 0}}"#,
        r#"[{"op": "replace", "path": "/o/k", "value": null}]"#,
        r#"[{"op": "replace", "path": "/o/k", "value": 2}]"#,
    );
    let commit = run.b.as_ref().unwrap();
    assert_eq!(only_conflict(&run).value, Some(Value::Null));
    let wire = serde_json::to_string(commit).unwrap();
    assert!(wire.contains(r#""value":null"#), "{wire}");
    let back: Commit = serde_json::from_str(&wire).unwrap();
    assert_eq!(&back, commit);
}

#[test]
fn b_removes_an_ancestor_of_what_a_wrote_a_is_told_with_the_subtree() {
    let run = concurrent(
        r#"{"owner": {"email": "a@x"}, "n": 1}"#,
        r#"[{"op": "replace", "path": "/owner/email", "value": "ann@x"}]"#,
        r#"[{"op": "remove", "path": "/owner"}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"n":1}"#);
    let c = only_conflict(&run);
    assert_eq!(c.kind, ConflictKind::Overwritten);
    assert_eq!(
        (c.loser.client.0.as_str(), c.path.to_string().as_str()),
        ("ann", "/owner")
    );
    assert_eq!(
        c.value,
        Some(Value::parse(r#"{"email": "ann@x"}"#).unwrap())
    );
}

#[test]
fn b_inserts_into_an_array_a_replaced_meanwhile_b_is_dropped_not_misplaced() {
    let run = concurrent(
        r#"{"l": [1, 2]}"#,
        r#"[{"op": "replace", "path": "/l", "value": ["x"]}]"#,
        r#"[{"op": "add", "path": "/l/1", "value": 9}]"#,
    );
    assert_eq!(json(&run.doc), r#"{"l":["x"]}"#);
    assert_eq!(only_conflict(&run).reason, Some(DropReason::Replaced));
}

/// The writes a replica says its change overwrote are recorded when the log bears them out,
/// and ignored when it does not (the sender's own change, or one after the base).
#[test]
fn claimed_overwrites_are_recorded_only_where_the_log_bears_them_out() {
    use sync_core::protocol::{Overwrite, Party};
    let mut authority = Authority::new(
        Value::parse(r#"{"a": 0, "b": 0}"#).unwrap(),
        AuthorityConfig::default(),
    );
    let (ann, bob) = (ClientId::from("ann"), ClientId::from("bob"));
    let submit = |authority: &mut Authority, client, seq, base, ops: &str, claims: &[Overwrite]| {
        let outcome = authority.submit(&Submission {
            client,
            author: client.0.as_str(),
            role: Role::Write,
            seq,
            base_rev: Revision(base),
            ops: Change::from_json(ops).unwrap().0,
            overwrites: claims,
            now: 0,
        });
        let Outcome::Applied { commit, .. } = outcome else {
            panic!("applies: {outcome:?}")
        };
        commit
    };
    submit(
        &mut authority,
        &ann,
        1,
        0,
        r#"[{"op": "replace", "path": "/a", "value": 1}]"#,
        &[],
    );
    submit(
        &mut authority,
        &bob,
        1,
        1,
        r#"[{"op": "replace", "path": "/b", "value": 1}]"#,
        &[],
    );
    // Bob rebased his change over Ann's revision 1 himself: his write of /a overwrites hers.
    let claim = |index, rev, client: &ClientId| Overwrite {
        index,
        rev: Revision(rev),
        loser: Party {
            client: client.clone(),
            author: client.0.clone(),
        },
    };
    let claims = [
        claim(1, 1, &ann),
        claim(0, 2, &ann), // his own change, whatever the claim says: no conflict with himself
        claim(0, 9, &ann), // beyond his base: not his to claim
    ];
    let commit = submit(
        &mut authority,
        &bob,
        2,
        2,
        r#"[{"op": "replace", "path": "/b", "value": 2}, {"op": "replace", "path": "/a", "value": 2}]"#,
        &claims,
    );
    assert_eq!(commit.conflicts.len(), 1, "{:?}", commit.conflicts);
    let c = &commit.conflicts[0];
    assert_eq!(
        (c.loser.client.0.as_str(), c.winner.client.0.as_str()),
        ("ann", "bob")
    );
    assert_eq!(
        (c.path.to_string(), c.value.clone()),
        ("/a".to_owned(), Some(Value::from(1)))
    );
}

// Cases the simulation found, each a change the table keeps that was rejected.

#[test]
fn a_moves_a_node_b_takes_something_out_of_it_and_edits_inside_it_b_follows() {
    let run = concurrent(
        r#"{"l": [0, {}, {"c0": {"n": {"c2": 0}, "k2": [0, 0]}}, [], {}]}"#,
        r#"[{"op": "move", "from": "/l/2", "path": "/l/4"}]"#,
        r#"[{"op": "move", "from": "/l/2/c0/n/c2", "path": "/l/4"},
            {"op": "replace", "path": "/l/2/c0/k2/1", "value": false}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    assert_eq!(
        json(&run.doc),
        r#"{"l":[0,{},[],0,{},{"c0":{"n":{},"k2":[0,false]}}]}"#
    );
}

#[test]
fn a_moves_an_item_and_puts_something_into_it_b_moves_the_item_too() {
    let run = concurrent(
        r#"{"count": 0, "meta": {"c": [0, false, 0]}, "tags": [0, null, 0]}"#,
        r#"[{"op": "move", "from": "/meta", "path": "/tags/2"},
            {"op": "add", "path": "/tags/3", "value": "a"},
            {"op": "add", "path": "/tags/5", "value": "b"},
            {"op": "move", "from": "/count", "path": "/tags/2/c/3"},
            {"op": "move", "from": "/tags/2/c/3", "path": "/tags/6"},
            {"op": "move", "from": "/tags/6", "path": "/tags/2/c/3"}]"#,
        r#"[{"op": "move", "from": "/meta", "path": "/tags/3"}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    // B's destination wins; at the end of the list, after what A appended there.
    assert_eq!(
        json(&run.doc),
        r#"{"tags":[0,null,"a",0,"b",{"c":[0,false,0,0]}]}"#
    );
}

#[test]
fn a_merge_patch_that_puts_an_object_where_there_was_none_sets_that_member() {
    // B's merge replaces `k2` with an object, then B adds inside it. The merge is rebased as
    // the write it made (a replace of `k2`), which follows the node A moved, as every write of
    // a moved node does; B's add goes into B's own object there, not into A's `false`.
    let run = concurrent(
        r#"{"l": [[0], {"k1": {"k2": false}}]}"#,
        r#"[{"op": "move", "from": "/l/1/k1/k2", "path": "/l/0/1"}]"#,
        r#"[{"op": "merge", "path": "/l/1/k1", "value": {"k2": {"t": "x"}, "k3": null}},
            {"op": "add", "path": "/l/1/k1/k2/k2", "value": "y"}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    assert_eq!(
        json(&run.doc),
        r#"{"l":[[0,{"t":"x","k2":"y"}],{"k1":{}}]}"#
    );
}

#[test]
fn a_moves_a_value_onto_what_b_copies_b_copies_it_from_there() {
    let run = concurrent(
        r#"[[1, 2, 3], 4, 5, 6, {"a": 7, "b": 8}]"#,
        r#"[{"op": "move", "from": "/0/1", "path": "/4/b"}]"#,
        r#"[{"op": "replace", "path": "/0/0", "value": [9, 10]},
            {"op": "copy", "from": "/4/b", "path": "/0"},
            {"op": "add", "path": "/1/3", "value": 11}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    // The copy takes what A moved there; B's insertion follows the array A shortened.
    assert_eq!(json(&run.doc), r#"[2,[[9,10],3,11],4,5,6,{"a":7,"b":2}]"#);
}

#[test]
fn a_moves_an_item_into_a_member_b_replaces_b_edits_a_sibling_after_the_item_left() {
    // What is left of A's move once B's write won its destination is taking the item out of
    // its array: B's later path shifts with it.
    let run = concurrent(
        r#"{"l": [{}, {}, {"k0": {"n": 9}, "k1": {}}, {}]}"#,
        r#"[{"op": "add", "path": "/l/1", "value": "new"},
            {"op": "move", "from": "/l/0", "path": "/l/2/k1/0"}]"#,
        r#"[{"op": "add", "path": "/l/2/k1", "value": "b"},
            {"op": "replace", "path": "/l/2/k0/n", "value": 10}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    assert_eq!(
        json(&run.doc),
        r#"{"l":["new",{},{"k0":{"n":10},"k1":"b"},{}]}"#
    );
}

#[test]
fn a_moves_an_array_and_a_node_of_b_into_it_b_moves_that_node_into_the_array_too() {
    // B moves an item into `t`; A moved `t` into that very item first: a move into its own
    // descendant, which the table rejects.
    let run = concurrent(
        r#"{"l": [{"c": ["x"]}, {}], "t": [{"n": 2}]}"#,
        r#"[{"op": "move", "from": "/t", "path": "/l/0/c/1"},
            {"op": "move", "from": "/l/0/c/1/0/n", "path": "/l/1"}]"#,
        r#"[{"op": "move", "from": "/l/0", "path": "/t/1"}]"#,
    );
    let (code, message) = run.b.unwrap_err();
    assert_eq!(code, "move_into_descendant", "{message}");
}

#[test]
fn a_moves_an_array_to_the_end_b_moves_an_item_into_it_and_edits_it_there() {
    let run = concurrent(
        r#"{"l": [{"n": 0}, {"t": "b"}, {}, {}], "t": []}"#,
        r#"[{"op": "move", "from": "/t", "path": "/l/1"},
            {"op": "add", "path": "/l/1", "value": "new"},
            {"op": "move", "from": "/l/2", "path": "/l/5"}]"#,
        r#"[{"op": "splice", "path": "/l/1/t", "pos": 1, "del": 0, "ins": "x"},
            {"op": "move", "from": "/l/0", "path": "/t/0"},
            {"op": "incr", "path": "/t/0/n", "by": -1}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    assert_eq!(
        json(&run.doc),
        r#"{"l":["new",{"t":"bx"},{},{},[{"n":-1}]]}"#
    );
}

/// Carol wrote a value; Ann moved it into `b`; Bob, who never saw it there, replaced `b`.
/// Carol's value is gone although Bob never touched where she wrote it: she is told too.
#[test]
fn a_value_moved_into_what_a_later_change_overwrites_is_reported_to_its_writer() {
    let mut authority = Authority::new(
        Value::parse(r#"{"a": ["x"], "b": {}}"#).unwrap(),
        AuthorityConfig::default(),
    );
    let submit = |authority: &mut Authority, client: &str, base, ops: &str| {
        let outcome = authority.submit(&Submission {
            client: &ClientId::from(client),
            author: client,
            role: Role::Write,
            seq: 1,
            base_rev: Revision(base),
            ops: Change::from_json(ops).unwrap().0,
            overwrites: &[],
            now: 0,
        });
        let Outcome::Applied { commit, .. } = outcome else {
            panic!("applies: {outcome:?}")
        };
        commit
    };
    submit(
        &mut authority,
        "carol",
        0,
        r#"[{"op": "replace", "path": "/a/0", "value": "carol's"}]"#,
    );
    submit(
        &mut authority,
        "ann",
        1,
        r#"[{"op": "move", "from": "/a/0", "path": "/b/k"}]"#,
    );
    let bob = submit(
        &mut authority,
        "bob",
        1,
        r#"[{"op": "replace", "path": "/b", "value": {"new": 1}}]"#,
    );
    assert_eq!(json(authority.document()), r#"{"a":[],"b":{"new":1}}"#);
    let mut losers: Vec<&str> = bob
        .conflicts
        .iter()
        .map(|c| c.loser.client.0.as_str())
        .collect();
    losers.sort_unstable();
    assert_eq!(losers, ["ann", "bob", "carol"], "{:#?}", bob.conflicts);
    let carol = bob
        .conflicts
        .iter()
        .find(|c| c.loser.client.0 == "carol")
        .unwrap();
    assert_eq!(carol.kind, ConflictKind::Overwritten);
    assert_eq!(
        carol.value.as_ref().map(Value::to_json).as_deref(),
        Some(r#"{"k":"carol's"}"#)
    );
}

#[test]
fn both_move_one_node_and_a_moved_a_list_into_it_b_moving_it_into_that_list_is_a_cycle() {
    let run = concurrent(
        r#"{"l": [{}], "m": {"b": {"c": []}}, "t": []}"#,
        r#"[{"op": "move", "from": "/t", "path": "/m/b/c/0"},
            {"op": "move", "from": "/m/b", "path": "/l/1"}]"#,
        r#"[{"op": "move", "from": "/m/b", "path": "/t/0"}]"#,
    );
    let (code, message) = run.b.unwrap_err();
    assert_eq!(code, "move_into_descendant", "{message}");
}

#[test]
fn a_moves_a_list_into_a_node_and_out_again_b_moves_the_node_into_that_list() {
    // B's destination was inside the node B moves only while A's list sat in it: once A took
    // the list out again, B's move is an ordinary one.
    let run = concurrent(
        r#"{"l": [null, {}, {}], "t": ["x", "y"]}"#,
        r#"[{"op": "move", "from": "/l/2", "path": "/l/1"},
            {"op": "add", "path": "/l/1/k", "value": ["a"]},
            {"op": "move", "from": "/t", "path": "/l/1/k/1"},
            {"op": "move", "from": "/l/1/k/1", "path": "/l/3"}]"#,
        r#"[{"op": "move", "from": "/l/2", "path": "/t/1"}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    assert_eq!(json(&run.doc), r#"{"l":[null,{},["x",{"k":["a"]},"y"]]}"#);
}

#[test]
fn a_moves_an_item_onto_a_member_after_the_array_b_appends_to_moves_b_appends_where_it_is() {
    // A's move of `null` onto member "4" of the object after `c` names that object in the
    // array without `null`; B's append into `c` is not a write of that member.
    let run = concurrent(
        r#"{"items": [14, 3, null, {}, {}, [2]], "meta": {"b": {"c": [true, 2, {"t": "xa"}]}}, "tags": [{"n": 9}]}"#,
        r#"[{"op": "move", "from": "/meta/b/c", "path": "/items/4"},
            {"op": "move", "from": "/tags/0/n", "path": "/items/4/3"},
            {"op": "remove", "path": "/items/0"},
            {"op": "move", "from": "/items/1", "path": "/items/3/4"}]"#,
        r#"[{"op": "move", "from": "/meta/b/c/2/t", "path": "/items/5/1"},
            {"op": "add", "path": "/meta/b/c/3", "value": {"n": 1}},
            {"op": "add", "path": "/meta/b/c/3/k1", "value": 67}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    assert_eq!(
        json(&run.doc),
        r#"{"items":[3,{},[true,2,{},9,{"n":1,"k1":67}],{"4":null},[2,"xa"]],"meta":{"b":{}},"tags":[{}]}"#
    );
}

#[test]
fn b_sets_a_member_where_the_undo_of_its_own_dropped_move_puts_a_value_back() {
    // B's move of `k1` out of `meta` is dropped (A removed `k1`); B's later set of `k1` in
    // `meta`, now at another index, is read after the undone move.
    let run = concurrent(
        r#"{"meta": {"a": 1, "k1": 44}, "tags": [0, "x", "yz"]}"#,
        r#"[{"op": "remove", "path": "/meta/k1"}]"#,
        r#"[{"op": "move", "from": "/meta", "path": "/tags/3"},
            {"op": "move", "from": "/tags/3/a", "path": "/tags/2"},
            {"op": "move", "from": "/tags/4/k1", "path": "/tags/2"},
            {"op": "remove", "path": "/tags/4"},
            {"op": "add", "path": "/k1", "value": "new"},
            {"op": "move", "from": "/k1", "path": "/tags/4"},
            {"op": "add", "path": "/tags/5/k1", "value": null}]"#,
    );
    let commit = run.b.as_ref().expect("applies");
    assert_eq!(json(&run.doc), r#"{"tags":[0,"x",1,"new",{}]}"#);
    // Its set of `k1`, made after taking the old one away, lands where A removed it: dropped,
    // and recorded for B.
    assert!(
        commit
            .conflicts
            .iter()
            .any(|c| c.kind == ConflictKind::Dropped && c.path.to_string() == "/tags/5/k1"),
        "{:#?}",
        commit.conflicts
    );
}
