//! The history model's tests: entries and summaries, revert, restore, export, pages.

#![allow(clippy::unwrap_used)]

use super::*;
use sync_core::Change;

fn commit(rev: u64, ops: &str) -> Commit {
    Commit {
        rev: Revision(rev),
        client: ClientId::from("someone"),
        seq: rev,
        author: "Ann".to_owned(),
        time: 0,
        ops: Change::from_json(ops).unwrap().0,
        conflicts: Vec::new(),
        group: None,
    }
}

#[test]
fn reverting_one_change_keeps_the_later_ones() {
    // r1 inserts "x"; r2 inserts before it and r3 adds a member, after it.
    let before = Value::parse(r#"{"list": ["a", "b"]}"#).unwrap();
    let r1 = commit(1, r#"[{"op": "add", "path": "/list/1", "value": "x"}]"#);
    let r2 = commit(2, r#"[{"op": "add", "path": "/list/0", "value": "first"}]"#);
    let r3 = commit(3, r#"[{"op": "add", "path": "/title", "value": "T"}]"#);
    let ops = revert_ops(&before, &[r1, r2, r3], &[Revision(1)]).unwrap();
    // The inserted "x" is now at index 2.
    let mut head = Value::parse(r#"{"list": ["first", "a", "x", "b"], "title": "T"}"#).unwrap();
    sync_core::apply::apply(&mut head, &ops).unwrap();
    assert_eq!(head.to_json(), r#"{"list":["first","a","b"],"title":"T"}"#);
}

fn typed(rev: u64, group: Option<u64>, client: &str, path: &str, pos: usize, text: &str) -> Commit {
    let ops = format!(
        r#"[{{"op": "splice", "path": "{path}", "pos": {pos}, "del": 0, "ins": "{text}"}}]"#
    );
    Commit {
        client: ClientId::from(client),
        group: group.map(Revision),
        ..commit(rev, &ops)
    }
}

#[test]
fn a_typing_group_is_one_entry_and_reverts_as_one_keeping_what_others_typed_between() {
    let before = Value::parse(r#"{"t": "", "u": ""}"#).unwrap();
    // Ann types "hi " then "yo" in /t; Bob types "B" into /t and "x" into /u meanwhile.
    let log = vec![
        typed(1, None, "ann", "/t", 0, "h"),
        typed(2, None, "bob", "/u", 0, "x"),
        typed(3, Some(1), "ann", "/t", 1, "i"),
        typed(4, None, "bob", "/t", 2, "B"),
        typed(5, Some(1), "ann", "/t", 2, " "),
        typed(6, None, "ann", "/t", 4, "y"),
        typed(7, Some(6), "ann", "/t", 5, "o"),
    ];
    let mut history = History::default();
    history.receive_changes(log.clone(), None);
    let entries: Vec<(String, String)> = history
        .entries()
        .iter()
        .map(|e| (e.revisions(), e.summary()))
        .collect();
    assert_eq!(
        entries,
        [
            ("r6–r7".to_owned(), r#"typed "yo" in /t"#.to_owned()),
            ("r1–r5".to_owned(), r#"typed "hi " in /t"#.to_owned()),
            ("r4".to_owned(), r#"typed "B" in /t"#.to_owned()),
            ("r2".to_owned(), r#"typed "x" in /u"#.to_owned()),
        ]
    );
    // Typing that went back (a deletion) is counted, not spelled out.
    let mut edited = History::default();
    let backspace = Commit {
        group: Some(Revision(1)),
        ..commit(
            2,
            r#"[{"op": "splice", "path": "/t", "pos": 0, "del": 1, "ins": ""}]"#,
        )
    };
    edited.receive_changes(vec![typed(1, None, "ann", "/t", 0, "h"), backspace], None);
    assert_eq!(edited.entries()[0].summary(), "typed in /t (2 changes)");
    // Bob's "B" came in after Ann's "hi", before her space.
    let mut head = before.clone();
    for c in &log {
        sync_core::apply::apply(&mut head, &c.ops).unwrap();
    }
    assert_eq!(head.to_json(), r#"{"t":"hi Byo","u":"x"}"#);
    // Reverting Ann's first word takes out "h", "i" and " ", and nothing else.
    let asks = history.revert(Revision(1));
    assert_eq!(asks.len(), 2);
    assert_eq!(
        history.receive_snapshot(Revision(0), &before, &head),
        Answer::Nothing
    );
    let (None, Answer::Edit { ops, what }) = history.finish(Revision(7)) else {
        panic!("no edit");
    };
    assert_eq!(what, "reverted r1–r5 (typed in /t)");
    sync_core::apply::apply(&mut head, &ops).unwrap();
    assert_eq!(head.to_json(), r#"{"t":"Byo","u":"x"}"#);
}

#[test]
fn reverting_a_group_with_a_typo_fixed_in_it_takes_all_of_it_back() {
    // Ann types "ax", deletes the x, types "b": "ab". Reverting the group leaves "".
    let before = Value::parse(r#"{"t": ""}"#).unwrap();
    let backspace = Commit {
        group: Some(Revision(1)),
        ..commit(
            3,
            r#"[{"op": "splice", "path": "/t", "pos": 1, "del": 1, "ins": ""}]"#,
        )
    };
    let log = [
        typed(1, None, "ann", "/t", 0, "a"),
        typed(2, Some(1), "ann", "/t", 1, "x"),
        backspace,
        typed(4, Some(1), "ann", "/t", 1, "b"),
    ];
    let members = [Revision(1), Revision(2), Revision(3), Revision(4)];
    let ops = revert_ops(&before, &log, &members).unwrap();
    let mut head = before;
    for c in &log {
        sync_core::apply::apply(&mut head, &c.ops).unwrap();
    }
    assert_eq!(head.to_json(), r#"{"t":"ab"}"#);
    sync_core::apply::apply(&mut head, &ops).unwrap();
    assert_eq!(head.to_json(), r#"{"t":""}"#);
}

#[test]
fn a_revert_whose_target_is_gone_changes_nothing() {
    let before = Value::parse(r#"{"a": {"n": 1}}"#).unwrap();
    let r1 = commit(1, r#"[{"op": "replace", "path": "/a/n", "value": 2}]"#);
    let r2 = commit(2, r#"[{"op": "remove", "path": "/a"}]"#);
    // Undoing r1 sets /a/n back, but /a is gone: nothing of it applies.
    let ops = revert_ops(&before, &[r1, r2], &[Revision(1)]).unwrap();
    assert!(ops.is_empty(), "{ops:?}");
}

#[test]
fn restore_is_the_diff_to_the_old_document() {
    let mut history = History::default();
    let ask = history.restore(Revision(2));
    assert_eq!(
        ask,
        ClientMessage::Snapshot {
            rev: Some(Revision(2))
        }
    );
    let now = Value::parse(r#"{"a": 1, "b": 2}"#).unwrap();
    let old = Value::parse(r#"{"a": 0}"#).unwrap();
    let Answer::Edit { ops, .. } = history.receive_snapshot(Revision(2), &old, &now) else {
        panic!("no edit");
    };
    let mut doc = now.clone();
    sync_core::apply::apply(&mut doc, &ops).unwrap();
    assert_eq!(doc, old);
    assert!(!history.is_waiting());
}

#[test]
fn older_pages_go_back_to_the_first_change_and_stay_when_the_head_moves() {
    let mut history = History::default();
    assert_eq!(history.older(), None);
    history.receive_changes((301..=500).map(|r| commit(r, "[]")).collect(), None);
    assert!(history.has_older());
    assert_eq!(
        history.older(),
        Some(ClientMessage::History {
            from: Revision(101),
            to: Some(Revision(300))
        })
    );
    history.receive_changes((101..=300).map(|r| commit(r, "[]")).collect(), None);
    history.receive_changes((1..=100).map(|r| commit(r, "[]")).collect(), None);
    assert!(!history.has_older());
    assert_eq!(history.older(), None);
    // The list's refresh at a new head replaces only what it covers.
    history.receive_changes((302..=501).map(|r| commit(r, "[]")).collect(), None);
    let revs: Vec<u64> = history.commits.iter().map(|c| c.rev.0).collect();
    assert_eq!(revs, (1..=501).collect::<Vec<u64>>());
}

#[test]
fn the_list_is_asked_for_once_per_head_and_answers_merge() {
    let mut history = History::default();
    assert_eq!(history.refresh(None), None);
    assert_eq!(
        history.refresh(Some(Revision(500))),
        Some(ClientMessage::History {
            from: Revision(301),
            to: None
        })
    );
    assert_eq!(history.refresh(Some(Revision(500))), None);
    history.receive_changes(vec![commit(1, "[]"), commit(2, "[]")], None);
    history.receive_changes(vec![commit(2, "[]"), commit(3, "[]")], None);
    let revs: Vec<u64> = history.commits.iter().map(|c| c.rev.0).collect();
    assert_eq!(revs, [1, 2, 3]);
}

#[test]
fn the_changes_since_a_revision_export_as_plain_rfc_6902() {
    let mut history = History::default();
    history.receive_changes(
        vec![
            commit(1, r#"[{"op": "add", "path": "/n", "value": 1}]"#),
            commit(2, r#"[{"op": "incr", "path": "/n", "by": 4}]"#),
            commit(3, r#"[{"op": "add", "path": "/s", "value": "ab"}]"#),
        ],
        None,
    );
    let asks = history.export_since(Revision(1));
    assert_eq!(asks.len(), 2);
    let at_r1 = Value::parse(r#"{"n": 1}"#).unwrap();
    history.receive_snapshot(Revision(1), &at_r1, &Value::Null);
    let (None, Answer::Export { text, what }) = history.finish(Revision(3)) else {
        panic!("no export");
    };
    assert_eq!(what, "the 2 changes since r1");
    assert_eq!(
        text,
        "[\n  {\"op\":\"replace\",\"path\":\"/n\",\"value\":5},\n  {\"op\":\"add\",\"path\":\"/s\",\"value\":\"ab\"}\n]\n"
    );
    let mut doc = at_r1;
    sync_core::apply::apply(&mut doc, &Change::from_json(&text).unwrap().0).unwrap();
    assert_eq!(doc.to_json(), r#"{"n":5,"s":"ab"}"#);
    // Nothing after the head, and a gap in what is retained, are said plainly.
    history.export_since(Revision(3));
    history.receive_snapshot(Revision(3), &Value::Null, &Value::Null);
    assert_eq!(
        history.finish(Revision(3)),
        (None, Answer::Failed("nothing changed since r3".to_owned()))
    );
}

/// The relay answers `history` a page at a time: a revert waits for every page up to the
/// head, asking for each, before it computes anything.
#[test]
fn a_revert_asks_for_every_page_up_to_the_head_before_it_answers() {
    let set = |rev: u64| {
        commit(
            rev,
            &format!(r#"[{{"op": "replace", "path": "/n", "value": {rev}}}]"#),
        )
    };
    let add_a = commit(2, r#"[{"op": "add", "path": "/a", "value": true}]"#);
    let mut history = History::default();
    history.revert(Revision(2));
    // The first page (r2–r3) says the range goes on at r4.
    let ask = history.receive_changes(vec![add_a, set(3)], Some(Revision(4)));
    assert_eq!(
        ask,
        Some(ClientMessage::History {
            from: Revision(4),
            to: None
        })
    );
    let at_r1 = Value::parse(r#"{"n": 1}"#).unwrap();
    assert_eq!(
        history.receive_snapshot(Revision(1), &at_r1, &Value::Null),
        Answer::Nothing
    );
    // Not all here yet: nothing is computed, and the page asked for is not asked again.
    assert_eq!(history.finish(Revision(5)), (None, Answer::Nothing));
    assert_eq!(
        history.receive_changes(vec![set(4)], Some(Revision(5))),
        Some(ClientMessage::History {
            from: Revision(5),
            to: None
        })
    );
    assert_eq!(history.finish(Revision(5)), (None, Answer::Nothing));
    assert_eq!(history.receive_changes(vec![set(5)], None), None);
    let (None, Answer::Edit { ops, .. }) = history.finish(Revision(5)) else {
        panic!("no edit");
    };
    // r2 is undone, and nothing after it.
    let mut doc = Value::parse(r#"{"n": 5, "a": true}"#).unwrap();
    sync_core::apply::apply(&mut doc, &ops).unwrap();
    assert_eq!(doc.to_json(), r#"{"n":5}"#);
    assert!(!history.is_waiting());
}

#[test]
fn summaries_name_the_first_operation() {
    let ops = Change::from_json(
        r#"[{"op": "replace", "path": "/a", "value": 1}, {"op": "remove", "path": "/b"}]"#,
    )
    .unwrap()
    .0;
    assert_eq!(summary(&ops), "set /a and 1 more");
    assert_eq!(summary(&[]), "no change");
}
