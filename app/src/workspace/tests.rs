//! The workspace driven as a window drives it, with no window: sequences of intents and what
//! they leave in the document, the edit in progress and the status bar.

#![allow(clippy::unwrap_used)]

use sync_core::{Pointer, Value};

use super::{Intent, Workspace};
use crate::commands::Command;
use crate::editor::{Editor, Place, ValueKind};

fn workspace(json: &str) -> Workspace {
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
