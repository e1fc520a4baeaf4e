//! A field's typing is one undo step: Escape takes it back (the value the field opened with
//! returns, as one change), Enter keeps it, and Ctrl+Z then takes all of it back at once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use app::ui::ConcordApp;
use egui::{Event, Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use sync_core::{Pointer, Value};

const DOC: &str = r#"{"title": "Draft", "count": 3}"#;

fn doc(h: &Harness<'_, ConcordApp>) -> String {
    h.state().workspace.editor.doc().to_json()
}

fn title(h: &Harness<'_, ConcordApp>) -> Value {
    Pointer::parse("/title")
        .unwrap()
        .resolve(h.state().workspace.editor.doc())
        .cloned()
        .unwrap()
}

/// Opens the value of `path` for editing, the caret at the end of its text.
fn edit_at_end(h: &mut Harness<'_, ConcordApp>, path: &str) {
    h.get_by_label(&format!("node {path}")).click();
    h.run();
    h.key_press(Key::Enter);
    h.run();
    h.key_press(Key::End);
    h.run();
}

/// Types `text` one key per frame, as a person does.
fn type_slowly(h: &mut Harness<'_, ConcordApp>, text: &str) {
    for c in text.chars() {
        h.event(Event::Text(c.to_string()));
        h.run();
    }
}

#[test]
fn escape_takes_back_what_the_field_typed() {
    let mut h = common::window(DOC);
    edit_at_end(&mut h, "/title");
    type_slowly(&mut h, "s!");
    h.key_press(Key::Backspace);
    h.run();
    assert_eq!(title(&h), Value::from("Drafts"), "typed as it goes");
    h.key_press(Key::Escape);
    h.run();
    assert!(h.state().workspace.editing.is_none());
    assert_eq!(doc(&h), Value::parse(DOC).unwrap().to_json());
    // Nothing of the field is left to undo.
    assert!(!h.state().workspace.editor.can_undo());
}

#[test]
fn enter_keeps_the_typing_and_one_undo_takes_all_of_it_back() {
    let mut h = common::window(DOC);
    edit_at_end(&mut h, "/title");
    type_slowly(&mut h, " two");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(title(&h), Value::from("Draft two"));
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    assert_eq!(doc(&h), Value::parse(DOC).unwrap().to_json());
    h.key_press_modifiers(Modifiers::COMMAND, Key::Y);
    h.run();
    assert_eq!(title(&h), Value::from("Draft two"));
}

#[test]
fn two_fields_are_two_undo_steps() {
    let mut h = common::window(DOC);
    edit_at_end(&mut h, "/title");
    type_slowly(&mut h, "s");
    h.key_press(Key::Enter);
    h.run();
    edit_at_end(&mut h, "/title");
    type_slowly(&mut h, "!");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(title(&h), Value::from("Drafts!"));
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    assert_eq!(title(&h), Value::from("Drafts"));
}

#[test]
fn escape_on_a_number_leaves_it_as_it_was() {
    let mut h = common::window(DOC);
    edit_at_end(&mut h, "/count");
    type_slowly(&mut h, "0");
    h.key_press(Key::Escape);
    h.run();
    assert!(h.state().workspace.editing.is_none());
    assert_eq!(doc(&h), Value::parse(DOC).unwrap().to_json());
}
