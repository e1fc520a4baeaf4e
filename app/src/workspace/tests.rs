//! The workspace driven as a window drives it, with no window: sequences of intents and what
//! they leave in the document, the edit in progress and the status bar.

#![allow(clippy::unwrap_used)]

use sync_core::protocol::ClientId;
use sync_core::{Pointer, Value};

use super::{Intent, Workspace};
use crate::commands::Command;
use crate::editor::{Editor, Place, ValueKind};

/// A workspace on the document `json`, alone.
pub(super) fn workspace(json: &str) -> Workspace {
    Workspace::new(Editor::new(
        Value::parse(json).unwrap(),
        None,
        Default::default(),
    ))
}

fn at(path: &str) -> Pointer {
    Pointer::parse(path).unwrap()
}

/// Types `text` into the open field, as its view records it.
fn type_text(ws: &mut Workspace, text: &str) {
    ws.apply(Intent::Typed(text.to_owned()));
}

#[test]
fn a_string_changes_as_it_is_typed_and_escape_takes_the_whole_field_back() {
    let mut ws = workspace(r#"{"title": "Plan", "n": 1}"#);
    ws.apply(Intent::Edit(at("/title")));
    assert_eq!(ws.editing.as_ref().unwrap().path, at("/title"));
    type_text(&mut ws, "Plan B");
    type_text(&mut ws, "Plan B!");
    assert_eq!(ws.editor.doc().to_json(), r#"{"title":"Plan B!","n":1}"#);
    ws.apply(Intent::Cancel);
    assert!(ws.editing.is_none());
    assert_eq!(ws.editor.doc().to_json(), r#"{"title":"Plan","n":1}"#);
}

#[test]
fn a_number_that_does_not_parse_keeps_its_field_open_and_the_document_as_it_was() {
    let mut ws = workspace(r#"{"n": 1}"#);
    ws.apply(Intent::Edit(at("/n")));
    type_text(&mut ws, "12x");
    // Selecting elsewhere first applies the field, which cannot take it.
    ws.apply(Intent::Select(at("")));
    let editing = ws.editing.as_ref().unwrap();
    assert!(editing.error.is_some(), "{editing:?}");
    assert_eq!(ws.editor.selected(), Some(&at("/n")));
    assert_eq!(ws.editor.doc().to_json(), r#"{"n":1}"#);
    type_text(&mut ws, "12");
    ws.apply(Intent::Commit);
    assert!(ws.editing.is_none());
    assert_eq!(ws.editor.doc().to_json(), r#"{"n":12}"#);
}

#[test]
fn the_type_switch_the_checkbox_and_a_drag_are_each_one_undoable_change() {
    let mut ws = workspace(r#"{"a": "yes", "list": [1, 2]}"#);
    ws.apply(Intent::Edit(at("/a")));
    ws.apply(Intent::Retype(ValueKind::Bool));
    ws.apply(Intent::Checked(false));
    ws.apply(Intent::Commit);
    assert_eq!(ws.editor.doc().to_json(), r#"{"a":false,"list":[1,2]}"#);
    ws.apply(Intent::Move(at("/list/1"), at("/list/0"), Place::Before));
    assert_eq!(ws.editor.doc().to_json(), r#"{"a":false,"list":[2,1]}"#);
    ws.apply(Intent::Command(Command::Undo));
    assert_eq!(ws.editor.doc().to_json(), r#"{"a":false,"list":[1,2]}"#);
    ws.apply(Intent::Command(Command::Undo));
    assert_eq!(ws.editor.doc().to_json(), r#"{"a":"yes","list":[1,2]}"#);
}

#[test]
fn renaming_to_a_key_that_is_taken_says_so_and_changes_nothing() {
    let mut ws = workspace(r#"{"a": 1, "b": 2}"#);
    ws.apply(Intent::Rename(at("/a")));
    ws.editing.as_mut().unwrap().text = "b".to_owned();
    ws.apply(Intent::Commit);
    assert_eq!(ws.editor.doc().to_json(), r#"{"a":1,"b":2}"#);
    let said = ws
        .editing
        .as_ref()
        .and_then(|e| e.error.clone())
        .or_else(|| ws.message.clone());
    assert!(said.is_some_and(|s| s.contains('b')), "nothing said");
}

#[test]
fn showing_someones_place_opens_the_containers_above_it_selects_and_scrolls_to_it() {
    let mut ws = workspace(r#"{"a": {"b": [1, {"c": true}]}}"#);
    ws.apply(Intent::Command(Command::CollapseAll));
    ws.apply(Intent::Show(at("/a/b/1/c")));
    assert_eq!(ws.editor.selected(), Some(&at("/a/b/1/c")));
    assert_eq!(ws.scroll_to, Some(at("/a/b/1/c")));
    assert!(
        ws.editor.row_of(&at("/a/b/1/c")).is_some(),
        "its row is shown"
    );
    ws.apply(Intent::Side(Some(super::Side::People)));
    assert_eq!(ws.side, Some(super::Side::People));
    ws.apply(Intent::Side(None));
    assert_eq!(ws.side, None);
    // Without a session, what only a session can do does nothing, and says nothing.
    ws.apply(Intent::ConflictsSeen);
    ws.apply(Intent::RestoreMine(0));
    ws.apply(Intent::History(super::HistoryAsk::Older));
    assert_eq!(ws.message, None);
}

/// A workspace on a shared document that the relay has sent as `json`.
fn shared(json: &str) -> Workspace {
    let replica = sync_core::replica::Replica::new(ClientId::from("me"), "Me");
    let mut ws = Workspace::new(Editor::shared(replica));
    welcome(&mut ws, 1, json);
    ws.editor.take_moves();
    ws
}

/// The relay sends the document whole, as `json` at revision `rev` (as after a reconnect).
fn welcome(ws: &mut Workspace, rev: u64, json: &str) {
    use sync_core::protocol::{CatchUp, Revision, Role, ServerMessage};
    ws.editor.receive(ServerMessage::Welcome {
        protocol: 1,
        rev: Revision(rev),
        role: Role::Write,
        client_seq: None,
        catch_up: CatchUp::Snapshot {
            doc: Value::parse(json).unwrap(),
            conflicts: Vec::new(),
        },
        peers: Vec::new(),
    });
}

/// Someone else's change `ops` (a JSON Patch of Concord's operations), as revision `rev`.
fn others_change(ws: &mut Workspace, rev: u64, ops: &str) {
    use sync_core::protocol::{Commit, Revision, ServerMessage};
    ws.editor.receive(ServerMessage::Applied {
        commit: Commit {
            rev: Revision(rev),
            client: ClientId::from("other"),
            seq: rev,
            author: "Other".to_owned(),
            time: 0,
            ops: sync_core::Change::from_json(ops).unwrap().0,
            conflicts: Vec::new(),
            group: None,
        },
        hash: None,
    });
}

#[test]
fn an_edit_in_progress_follows_its_string_and_caret_through_others_changes() {
    let mut ws = shared(r#"{"list": ["a", "Hello world"]}"#);
    ws.apply(Intent::Edit(at("/list/1")));
    // The caret before "world".
    ws.apply(Intent::Caret(6));
    others_change(
        &mut ws,
        2,
        r#"[{"op": "add", "path": "/list/0", "value": "new"},
            {"op": "splice", "path": "/list/2", "pos": 0, "del": 5, "ins": "Goodbye"}]"#,
    );
    let shift = ws.follow_remote_edits().unwrap();
    ws.editor.take_moves();
    let editing = ws.editing.as_ref().unwrap();
    assert_eq!(editing.path, at("/list/2"));
    assert_eq!(editing.text, "Goodbye world");
    assert_eq!(editing.caret, Some(8), "still before \"world\"");
    // The field's selection moves the same way: one end inside the replaced word goes to
    // the end of the new one.
    assert_eq!((shift.apply(2), shift.apply(11)), (7, 13));
    // Typing goes on in the text as it is now.
    type_text(&mut ws, "Goodbye world!");
    assert_eq!(
        at("/list/2").resolve(ws.editor.doc()),
        Some(&Value::from("Goodbye world!"))
    );
    // Replaced whole, the caret goes to the end of the new text.
    others_change(
        &mut ws,
        3,
        r#"[{"op": "replace", "path": "/list/2", "value": "Hi"}]"#,
    );
    let shift = ws.follow_remote_edits().unwrap();
    ws.editor.take_moves();
    assert_eq!(ws.editing.as_ref().unwrap().text, "Hi");
    assert_eq!(shift.apply(5), 2);
    // Removed, the edit ends and the status bar says why.
    others_change(&mut ws, 4, r#"[{"op": "remove", "path": "/list"}]"#);
    assert_eq!(ws.follow_remote_edits(), None);
    assert_eq!(ws.editing, None);
    assert_eq!(
        ws.message.as_deref(),
        Some("someone removed /list/2 while you were editing it")
    );
}

#[test]
fn the_caret_follows_where_others_typed_not_where_a_diff_of_the_texts_would_guess() {
    // "aaaa" with one more "a" at the start reads the same as one more at the end: only the
    // change itself says the caret's characters moved.
    let mut ws = shared(r#"{"s": "aaaa"}"#);
    ws.apply(Intent::Edit(at("/s")));
    ws.apply(Intent::Caret(2));
    others_change(
        &mut ws,
        2,
        r#"[{"op": "splice", "path": "/s", "pos": 0, "del": 0, "ins": "a"}]"#,
    );
    ws.follow_remote_edits().unwrap();
    let editing = ws.editing.as_ref().unwrap();
    assert_eq!(editing.text, "aaaaa");
    assert_eq!(editing.caret, Some(3));
}

#[test]
fn an_edit_whose_node_a_whole_new_document_no_longer_has_ends_and_says_so() {
    let mut ws = shared(r#"{"a": "x", "b": "y"}"#);
    ws.apply(Intent::Rename(at("/b")));
    // The relay sends the document whole (after a reconnect, say): no change names the
    // removal, but /b is not there.
    welcome(&mut ws, 5, r#"{"a": "x"}"#);
    assert_eq!(ws.follow_remote_edits(), None);
    assert_eq!(ws.editing, None);
    assert_eq!(
        ws.message.as_deref(),
        Some("someone removed /b while you were editing it")
    );
}

#[test]
fn copy_cut_and_paste_of_nodes_say_what_they_did_and_change_nothing_on_bad_input() {
    let mut ws = workspace(r#"{"list": [1], "n": 2}"#);
    // Nothing selected: nothing to copy.
    ws.apply(Intent::CopyNode { cut: false });
    assert_eq!(ws.end_frame().clipboard, None);
    ws.apply(Intent::Select(at("/list")));
    ws.apply(Intent::CopyNode { cut: false });
    assert_eq!(ws.end_frame().clipboard.as_deref(), Some("[\n  1\n]"));
    assert_eq!(ws.copied.as_deref(), Some("[\n  1\n]"));
    // Text that is not JSON is refused, and says so; the document stays as it was.
    ws.apply(Intent::Paste("not json".to_owned()));
    assert!(
        ws.message
            .as_deref()
            .unwrap()
            .contains("does not hold JSON")
    );
    assert_eq!(ws.editor.doc().to_json(), r#"{"list":[1],"n":2}"#);
    // JSON goes after the selected node, under a key of its own, and the message is this
    // paste's.
    ws.apply(Intent::Paste("[2]".to_owned()));
    assert_eq!(ws.message.as_deref(), Some("pasted after /list"));
    assert_eq!(
        ws.editor.doc().to_json(),
        r#"{"list":[1],"list copy":[2],"n":2}"#
    );
    // Cut: copied, then deleted, as one undoable change.
    ws.apply(Intent::Select(at("/n")));
    ws.apply(Intent::CopyNode { cut: true });
    assert_eq!(ws.end_frame().clipboard.as_deref(), Some("2"));
    assert_eq!(ws.editor.doc().to_json(), r#"{"list":[1],"list copy":[2]}"#);
    ws.apply(Intent::Command(Command::Undo));
    assert_eq!(
        ws.editor.doc().to_json(),
        r#"{"list":[1],"list copy":[2],"n":2}"#
    );
}
