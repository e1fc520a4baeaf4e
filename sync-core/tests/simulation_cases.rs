//! Concurrent changes the simulation found handled wrongly, each shrunk to the few operations
//! that show it: A and B are made on the same revision, A is sequenced first, B is rebased over
//! it. Each was a change the conflict table keeps that was rejected, or a loss nobody was told
//! of.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::concurrent::{concurrent, json};
use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};
use sync_core::protocol::{ClientId, Commit, ConflictKind, Revision, Role};
use sync_core::{Change, Value};

/// `client`'s change `ops`, made on revision `base`, as the Authority applies it.
fn submit_as(authority: &mut Authority, client: &str, base: u64, ops: &str) -> Commit {
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
}

/// Carol's change on `doc`, then Ann's and Bob's, both made after Carol's: the document at the
/// end, and Bob's change as the Authority applied it.
fn carol_then_ann_and_bob(doc: &str, carol: &str, ann: &str, bob: &str) -> (Value, Commit) {
    let mut authority = Authority::new(Value::parse(doc).unwrap(), AuthorityConfig::default());
    submit_as(&mut authority, "carol", 0, carol);
    submit_as(&mut authority, "ann", 1, ann);
    let bob = submit_as(&mut authority, "bob", 1, bob);
    (authority.document().clone(), bob)
}

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
    let (doc, bob) = carol_then_ann_and_bob(
        r#"{"a": ["x"], "b": {}}"#,
        r#"[{"op": "replace", "path": "/a/0", "value": "carol's"}]"#,
        r#"[{"op": "move", "from": "/a/0", "path": "/b/k"}]"#,
        r#"[{"op": "replace", "path": "/b", "value": {"new": 1}}]"#,
    );
    assert_eq!(json(&doc), r#"{"a":[],"b":{"new":1}}"#);
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

#[test]
fn a_moves_a_value_into_an_item_b_moves_that_item_where_the_value_was_and_edits_in_it() {
    // B takes the item holding the value A moved into it to where that value was; B's later
    // edits inside the item find it there, and B's edit of the value follows it into the item.
    let run = concurrent(
        r#"{"items": ["é", {}, {}, {"k3": [[{}, "m3", 2]]}],
            "meta": {"b": {"c": [true, 2, 4]}, "k0": ["mx2"]}}"#,
        r#"[{"op": "move", "from": "/meta/k0/0", "path": "/items/3/k3/0/2"}]"#,
        r#"[{"op": "remove", "path": "/meta/b/c/2"},
            {"op": "move", "from": "/items/3/k3/0", "path": "/meta/k0/1"},
            {"op": "remove", "path": "/meta/k0/1/0"},
            {"op": "replace", "path": "/meta/k0/0", "value": "new"},
            {"op": "incr", "path": "/meta/k0/1/1", "by": -2}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    assert_eq!(
        json(&run.doc),
        r#"{"items":["é",{},{},{"k3":[]}],"meta":{"b":{"c":[true,2]},"k0":[["m3","new",0]]}}"#
    );
}

#[test]
fn a_moves_an_item_deep_into_a_sibling_b_copies_it_over_that_sibling_and_edits_it() {
    // A moves the item deep inside a later sibling; B copies the item over that sibling's
    // member, which holds the item now: the copy holds B's splice, and B's edit of the item
    // itself is dropped with it (a record for Bob).
    let run = concurrent(
        r#"{"items": [null, {"t": "a"}, [], {}, {"c0": [{}, {}, {"c0": [3]}]}]}"#,
        r#"[{"op": "add", "path": "/items/3", "value": false},
            {"op": "move", "from": "/items/1", "path": "/items/4/c0/2/c0/1"}]"#,
        r#"[{"op": "splice", "path": "/items/1/t", "pos": 0, "del": 0, "ins": "b"},
            {"op": "copy", "from": "/items/1", "path": "/items/4/c0"},
            {"op": "add", "path": "/items/1/k1", "value": 7}]"#,
    );
    let commit = run.b.expect("B applies");
    let kinds: Vec<_> = commit
        .conflicts
        .iter()
        .map(|c| (c.kind, c.path.to_string(), c.loser.client.0.clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![(
            ConflictKind::Dropped,
            "/items/1/k1".to_owned(),
            "bob".to_owned()
        )]
    );
    assert_eq!(
        json(&run.doc),
        r#"{"items":[null,[],false,{},{"c0":{"t":"ba"}}]}"#
    );
}

#[test]
fn undoing_a_dropped_move_puts_the_member_back_into_its_own_item_not_the_one_before() {
    // A replaced the second item, so B's move of its member is dropped (and undone for B's
    // later operations): undone, that member goes back into the second item, not onto the
    // member of the first item that B moves next, though the two read alike.
    let run = concurrent(
        r#"{"items": [{"n": 1}, {"t": "c", "n": 2}]}"#,
        r#"[{"op": "replace", "path": "/items/1", "value": "new"}]"#,
        r#"[{"op": "move", "from": "/items/1/n", "path": "/items/0"},
            {"op": "move", "from": "/items/1/n", "path": "/items/2"},
            {"op": "splice", "path": "/items/3/t", "pos": 0, "del": 1, "ins": "yz"}]"#,
    );
    let commit = run.b.expect("B applies");
    let dropped: Vec<_> = commit
        .conflicts
        .iter()
        .map(|c| (c.kind, c.path.to_string()))
        .collect();
    assert_eq!(
        dropped,
        vec![
            (ConflictKind::Dropped, "/items/0".to_owned()),
            (ConflictKind::Dropped, "/items/3/t".to_owned())
        ]
    );
    assert_eq!(json(&run.doc), r#"{"items":[{},1,"new"]}"#);
}

#[test]
fn a_moves_a_value_into_a_list_b_moves_that_list_beside_it_copies_it_and_edits_the_copy() {
    // A's value lands in the list that B copies, so the copy holds it too, and B's edit of the
    // copy's second item finds the item B meant, one further.
    let run = concurrent(
        r#"{"items": [{}, {"t": "c"}], "meta": {"b": {"c": [1, 4, 3]}}}"#,
        r#"[{"op": "move", "from": "/meta/b/c/2", "path": "/items/1"}]"#,
        r#"[{"op": "move", "from": "/items", "path": "/meta/b/c/3"},
            {"op": "copy", "from": "/meta/b/c/3", "path": "/c2"},
            {"op": "replace", "path": "/c2/1/t", "value": null}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    assert_eq!(
        json(&run.doc),
        r#"{"meta":{"b":{"c":[1,4,[{},3,{"t":"c"}]]}},"c2":[{},3,{"t":null}]}"#
    );
}

#[test]
fn b_moves_a_list_into_a_node_a_moved_the_other_way_and_out_again_b_edits_in_the_list() {
    // A moved `tags` into list `c` and then out of it into `items`; B (not seeing that) put a
    // new item into `tags` and moved `c` into it. While `tags` sat in `c`, B's move was a
    // cycle; once A took `tags` out, it is not. B's later edit of `c` finds it where it ends.
    let run = concurrent(
        r#"{"items": [{"n": 0}], "meta": {"b": {"c": [1, 2, 3]}}, "tags": ["yyz"]}"#,
        r#"[{"op": "add", "path": "/meta/b/c/3", "value": null},
            {"op": "move", "from": "/tags", "path": "/meta/b/c/4"},
            {"op": "move", "from": "/meta/b/c/4", "path": "/items/0"}]"#,
        r#"[{"op": "incr", "path": "/items/0/n", "by": 1},
            {"op": "add", "path": "/tags/1", "value": ["new", 2]},
            {"op": "move", "from": "/meta/b/c", "path": "/tags/1/0"},
            {"op": "incr", "path": "/tags/1/0/1", "by": 2}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    assert_eq!(
        json(&run.doc),
        r#"{"items":[["yyz",[[1,4,3,null],"new",2]],{"n":1}],"meta":{"b":{}}}"#
    );
}

#[test]
fn b_moves_a_node_into_a_list_a_moved_into_it_then_copied_out_b_replaces_the_list() {
    // A moved `items` into `meta`, copied it out to `c2` and moved it into the copy; B moved
    // `meta` into `items` (a cycle while `items` sat in `meta`) and then replaced `items`.
    let run = concurrent(
        r#"{"items": ["x", {}, {}, null], "meta": {"b": {"c": [4, 3]}}, "tags": []}"#,
        r#"[{"op": "move", "from": "/items", "path": "/meta/b/c/2"},
            {"op": "copy", "from": "/meta/b/c/2", "path": "/c2"},
            {"op": "move", "from": "/meta/b/c/2", "path": "/c2/4"}]"#,
        r#"[{"op": "replace", "path": "/tags", "value": ["t", 2]},
            {"op": "move", "from": "/meta", "path": "/items/4"},
            {"op": "replace", "path": "/items", "value": ["new", 2]}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    assert_eq!(
        json(&run.doc),
        r#"{"tags":["t",2],"c2":["x",{},{},null,["new",2]]}"#
    );
}

#[test]
fn both_move_one_value_b_into_the_item_that_a_moves_it_beside_b_destination_wins() {
    // A moved the value into the list and then further along it; B moved it into the list's
    // first item. B's destination wins; it never was inside the value itself, though after
    // A's first move it reads as if it were.
    let run = concurrent(
        r#"{"items": [false, {"k2": ["m4"]}, 4], "k1": {"n": 9}}"#,
        r#"[{"op": "move", "from": "/k1/n", "path": "/items/1"},
            {"op": "move", "from": "/items/1", "path": "/items/3"},
            {"op": "remove", "path": "/items/0"},
            {"op": "add", "path": "/items/3", "value": "new"}]"#,
        r#"[{"op": "incr", "path": "/items/2", "by": 2},
            {"op": "remove", "path": "/items/0"},
            {"op": "move", "from": "/k1/n", "path": "/items/0/k2/1"}]"#,
    );
    assert!(run.b.is_ok(), "{:?}", run.b);
    assert_eq!(
        json(&run.doc),
        r#"{"items":[{"k2":["m4",9]},6,"new"],"k1":{}}"#
    );
}

/// As above, but Bob's change first removes an item before the one he then replaces: where
/// Ann's move put Carol's value is read after Bob's own removal.
#[test]
fn a_value_moved_into_what_a_later_operation_of_a_change_overwrites_is_reported_to_its_writer() {
    let (doc, bob) = carol_then_ann_and_bob(
        r#"{"l": ["x", {}], "b": {}}"#,
        r#"[{"op": "add", "path": "/b/k", "value": "carol's"}]"#,
        r#"[{"op": "move", "from": "/b", "path": "/l/1/b"}]"#,
        r#"[{"op": "remove", "path": "/l/0"}, {"op": "replace", "path": "/l/0", "value": "bob's"}]"#,
    );
    assert_eq!(json(&doc), r#"{"l":["bob's"]}"#);
    let carol = bob.conflicts.iter().find(|c| c.loser.client.0 == "carol");
    let carol = carol.unwrap_or_else(|| panic!("carol is told: {:#?}", bob.conflicts));
    assert_eq!(carol.kind, ConflictKind::Overwritten);
    assert_eq!(
        carol.value.as_ref().map(Value::to_json).as_deref(),
        Some(r#"{"b":{"k":"carol's"}}"#)
    );
}

/// Ann moved Carol's value out of `k` into a list; Bob, who never saw it there, replaced `k`
/// and then removed the list. Seen past Bob's replacement of `k`, Ann's move is only the value
/// it left in the list, and Bob's removal of the list still takes Carol's value: she is told.
#[test]
fn a_value_moved_out_of_what_a_change_replaced_and_then_removed_is_reported_to_its_writer() {
    let (doc, bob) = carol_then_ann_and_bob(
        r#"{"k": {"n": "x"}, "m": {"a": [0]}}"#,
        r#"[{"op": "replace", "path": "/k/n", "value": "carol's"}]"#,
        r#"[{"op": "move", "from": "/k/n", "path": "/m/a/1"}]"#,
        r#"[{"op": "replace", "path": "/k", "value": {"new": 1}},
            {"op": "remove", "path": "/m/a"}]"#,
    );
    assert_eq!(json(&doc), r#"{"k":{"new":1},"m":{}}"#);
    let carol = bob.conflicts.iter().find(|c| c.loser.client.0 == "carol");
    let carol = carol.unwrap_or_else(|| panic!("carol is told: {:#?}", bob.conflicts));
    assert_eq!(carol.kind, ConflictKind::Overwritten);
    assert_eq!(
        carol.value.as_ref().map(Value::to_json).as_deref(),
        Some(r#"[0,"carol's"]"#)
    );
}

/// Bob sets a member of `p` and then replaces `q`, two places apart where he made the change;
/// Ann moved `p` onto `q` meanwhile. Rebased, Bob's replacement lands on the node that holds his
/// own first write: that write is lost although he never pointed at it, and he is told.
#[test]
fn a_move_brings_two_operations_of_one_change_together_the_first_ones_value_is_reported() {
    let run = concurrent(
        r#"{"p": {}, "q": 0}"#,
        r#"[{"op": "move", "from": "/p", "path": "/q"}]"#,
        r#"[{"op": "add", "path": "/p/v", "value": "bob's first"},
            {"op": "replace", "path": "/q", "value": "bob's second"}]"#,
    );
    let bob = run.b.expect("B applies");
    assert_eq!(json(&run.doc), r#"{"q":"bob's second"}"#);
    let own = bob.conflicts.iter().find(|c| c.loser.client.0 == "bob");
    let own = own.unwrap_or_else(|| panic!("bob is told: {:#?}", bob.conflicts));
    assert_eq!(own.kind, ConflictKind::Overwritten);
    assert_eq!(
        own.value.as_ref().map(Value::to_json).as_deref(),
        Some(r#"{"v":"bob's first"}"#)
    );
}

/// Where Bob's change overwrites its own earlier write in the order he made it, he meant it:
/// nobody is told, though the change was rebased over a concurrent one.
#[test]
fn a_change_that_overwrites_its_own_write_as_made_reports_nothing_after_a_rebase() {
    let run = concurrent(
        r#"{"l": [0, 1], "q": 0}"#,
        r#"[{"op": "add", "path": "/l/0", "value": "ann's"}]"#,
        r#"[{"op": "replace", "path": "/l/1", "value": "bob's first"},
            {"op": "replace", "path": "/l/1", "value": "bob's second"}]"#,
    );
    let bob = run.b.expect("B applies");
    assert_eq!(json(&run.doc), r#"{"l":["ann's",0,"bob's second"],"q":0}"#);
    assert!(bob.conflicts.is_empty(), "{:#?}", bob.conflicts);
}

/// Ann moved a part of Carol's value (a member of the object Carol added) to `t`; Bob, who
/// never saw it there, replaced `t`. The part was Carol's work: she is told.
#[test]
fn a_part_of_a_value_moved_where_a_later_change_overwrites_is_reported_to_its_writer() {
    let (doc, bob) = carol_then_ann_and_bob(
        r#"{"t": 0}"#,
        r#"[{"op": "add", "path": "/b", "value": {"k": "carol's", "other": 1}}]"#,
        r#"[{"op": "move", "from": "/b/k", "path": "/t"}]"#,
        r#"[{"op": "replace", "path": "/t", "value": "bob's"}]"#,
    );
    assert_eq!(json(&doc), r#"{"t":"bob's","b":{"other":1}}"#);
    let carol = bob.conflicts.iter().find(|c| c.loser.client.0 == "carol");
    let carol = carol.unwrap_or_else(|| panic!("carol is told: {:#?}", bob.conflicts));
    assert_eq!(carol.kind, ConflictKind::Overwritten);
    assert_eq!(
        carol.value.as_ref().map(Value::to_json).as_deref(),
        Some(r#""carol's""#)
    );
}

/// Bob moved an item out of `items` and then removed `items`; Ann had removed where he moved it
/// to, so his move is dropped and the item stays where it was, and his removal takes it. Carol
/// had written in it: she is told, as Bob is of his dropped move.
#[test]
fn a_node_a_dropped_move_leaves_in_place_and_a_later_operation_removes_is_reported() {
    let (doc, bob) = carol_then_ann_and_bob(
        r#"{"items": [{"k": "x"}], "tags": []}"#,
        r#"[{"op": "replace", "path": "/items/0/k", "value": "carol's"}]"#,
        r#"[{"op": "remove", "path": "/tags"}]"#,
        r#"[{"op": "move", "from": "/items/0", "path": "/tags/0"},
            {"op": "remove", "path": "/items"}]"#,
    );
    assert_eq!(json(&doc), r#"{}"#);
    let carol = bob.conflicts.iter().find(|c| c.loser.client.0 == "carol");
    let carol = carol.unwrap_or_else(|| panic!("carol is told: {:#?}", bob.conflicts));
    assert_eq!(carol.kind, ConflictKind::Overwritten);
    assert_eq!(
        carol.value.as_ref().map(Value::to_json).as_deref(),
        Some(r#"[{"k":"carol's"}]"#)
    );
    let own = bob.conflicts.iter().find(|c| c.loser.client.0 == "bob");
    assert_eq!(own.map(|c| c.kind), Some(ConflictKind::Dropped));
}

/// Bob moved a member of an item over the item, then replaced the item and added a member to
/// what he put there. Ann replaced that member first, so his move is dropped and his replacement
/// follows the member: the addition then takes all of what he wrote, not a part. He is told.
#[test]
fn an_addition_inside_a_write_that_lands_on_all_of_it_after_rebasing_is_reported() {
    let run = concurrent(
        r#"{"items": [0, {"k0": {"x": 1}}]}"#,
        r#"[{"op": "replace", "path": "/items/1/k0", "value": {"y": 1}}]"#,
        r#"[{"op": "move", "from": "/items/1/k0", "path": "/items/1"},
            {"op": "replace", "path": "/items/1", "value": {"t": "bob's"}},
            {"op": "add", "path": "/items/1/k0", "value": true}]"#,
    );
    let bob = run.b.expect("B applies");
    assert_eq!(json(&run.doc), r#"{"items":[0,{"k0":true}]}"#);
    let told: Vec<_> = bob
        .conflicts
        .iter()
        .filter(|c| c.kind == ConflictKind::Overwritten)
        .map(|c| {
            (
                c.loser.client.0.as_str(),
                c.value.as_ref().map(Value::to_json),
            )
        })
        .collect();
    let value = |v: &str| Some(v.to_owned());
    // Ann of her member, which Bob's replacement took; Bob of that replacement (he is also told
    // of his dropped move). Ann is not told of Bob's own value.
    assert_eq!(
        told,
        [
            ("ann", value(r#"{"y":1}"#)),
            ("bob", value(r#"{"t":"bob's"}"#)),
        ]
    );
}

/// Bob set a member inside `t` and then copied `s` over `t`, so his value lived on in the copy.
/// Ann had moved `t` out of `s`: Bob's copy still lands on `t` where it went, but what it copies
/// no longer holds his value, which is lost. He is told.
#[test]
fn a_copy_that_carried_the_changes_own_write_where_it_was_made_but_not_after_is_reported() {
    let run = concurrent(
        r#"{"s": {"t": {"w": 0}}, "o": {}}"#,
        r#"[{"op": "move", "from": "/s/t", "path": "/o/t"}]"#,
        r#"[{"op": "replace", "path": "/s/t/w", "value": "bob's"},
            {"op": "copy", "from": "/s", "path": "/s/t"}]"#,
    );
    let bob = run.b.expect("B applies");
    assert_eq!(json(&run.doc), r#"{"s":{},"o":{"t":{}}}"#);
    let own = bob.conflicts.iter().find(|c| c.loser.client.0 == "bob");
    let own = own.unwrap_or_else(|| panic!("bob is told: {:#?}", bob.conflicts));
    assert_eq!(own.kind, ConflictKind::Overwritten);
    assert_eq!(
        own.value.as_ref().map(Value::to_json).as_deref(),
        Some(r#"{"w":"bob's"}"#)
    );
}

/// Bob copied `src` over the member `m` and then set `m` again; Ann had removed `src`, so the
/// copy is dropped. The member was there before the copy, and it still is: Bob's second set
/// lands on it rather than being dropped as if `m` were gone.
#[test]
fn undoing_a_dropped_copy_onto_a_member_that_was_there_keeps_the_member() {
    let run = concurrent(
        r#"{"src": {"a": 1}, "m": {"k": 0}}"#,
        r#"[{"op": "remove", "path": "/src"}]"#,
        r#"[{"op": "copy", "from": "/src", "path": "/m"},
            {"op": "replace", "path": "/m", "value": "bob's"}]"#,
    );
    let commit = run.b.expect("B applies");
    assert_eq!(json(&run.doc), r#"{"m":"bob's"}"#);
    let kinds: Vec<_> = commit
        .conflicts
        .iter()
        .map(|c| (c.kind, c.path.to_string(), c.loser.client.0.as_str()))
        .collect();
    // Bob of his copy; Ann never wrote `m`, so she loses nothing there.
    assert_eq!(kinds, [(ConflictKind::Dropped, "/m".to_owned(), "bob")]);
}

#[test]
fn a_move_into_the_item_that_a_concurrent_move_put_right_after_the_moved_node_is_kept() {
    // Ann moves `b` into the list, right after "x"; Bob, concurrently, moves "x" into `b`. Rebased,
    // Bob's move takes "x" from `/tags/0` into what is `/tags/0` once "x" has left: RFC 6902 cannot
    // say that in one move (it reads as a move into "x" itself), and it must not be refused.
    let doc = r#"{"tags": ["x"], "meta": {"b": {"c": [1]}}}"#;
    let ann = r#"[{"op": "move", "from": "/meta/b", "path": "/tags/1"}]"#;
    let bob_move = r#"{"op": "move", "from": "/tags/0", "path": "/meta/b/c/0"}"#;
    // Alone (rebased through the write index), and with an operation after it.
    for (bob, expected) in [
        (
            format!("[{bob_move}]"),
            r#"{"tags":[{"c":["x",1]}],"meta":{}}"#,
        ),
        (
            format!(r#"[{bob_move}, {{"op": "add", "path": "/tags/-", "value": "end"}}]"#),
            r#"{"tags":[{"c":["x",1]},"end"],"meta":{}}"#,
        ),
    ] {
        let mut authority = Authority::new(Value::parse(doc).unwrap(), AuthorityConfig::default());
        submit_as(&mut authority, "ann", 0, ann);
        let bob = submit_as(&mut authority, "bob", 0, &bob);
        assert_eq!(authority.document().to_json(), expected);
        assert!(bob.conflicts.is_empty(), "{:?}", bob.conflicts);
        // What the relay logs applies as RFC 6902 says, move by move.
        let mut replayed = Value::parse(doc).unwrap();
        Change::from_json(ann)
            .unwrap()
            .apply(&mut replayed)
            .unwrap();
        Change(bob.ops).apply(&mut replayed).unwrap();
        assert_eq!(replayed.to_json(), expected);
    }
    // Bob's replica rebases his move over Ann's itself, before sending it (he was offline).
    let mut net = common::net::Net::new(doc, &["ann", "bob"]);
    net.replicas[1].disconnected();
    net.edit(1, &format!("[{bob_move}]"));
    net.edit(0, ann);
    net.settle();
    net.connect(1);
    let events = net.recv(1);
    net.settle();
    let expected = r#"{"tags":[{"c":["x",1]}],"meta":{}}"#;
    assert_eq!(net.view(1), expected, "{events:?}");
    assert_eq!(net.view(0), expected);
    assert_eq!(net.authority.document().to_json(), expected);
    assert!(
        net.conflicts.iter().all(Vec::is_empty),
        "{:?}",
        net.conflicts
    );
}
