//! DESIGN.md's conflict table, one test per row, through the Authority: A and B are made on
//! the same revision, A is sequenced first, B is rebased over it.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::concurrent::{Run, concurrent, json};
use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};
use sync_core::protocol::{ClientId, Commit, Conflict, ConflictKind, Revision, Role};
use sync_core::rebase::DropReason;
use sync_core::{Change, Value};

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
        node: None,
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
