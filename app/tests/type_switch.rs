//! The inline value editor: every kind can become every other through the type switch, a
//! boolean is a checkbox, and a number that does not parse keeps its field open with the
//! reason beside it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use app::editor::ValueKind;
use app::ui::ConcordApp;
use egui::{Event, Key};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use sync_core::{Pointer, Value};

const DOC: &str = r#"{"s": "12", "n": 3, "b": true, "z": null, "o": {"a": 1}, "l": [1, "x"]}"#;

fn value(h: &Harness<'_, ConcordApp>, path: &str) -> String {
    Pointer::parse(path)
        .unwrap()
        .resolve(h.state().workspace.editor.doc())
        .unwrap()
        .to_json()
}

/// Opens the editor of `path` (a click on its key, then Enter).
fn open(h: &mut Harness<'_, ConcordApp>, path: &str) {
    h.get_by_label(&format!("node {path}")).click();
    h.run();
    h.key_press(Key::Enter);
    h.run();
    assert!(h.state().workspace.editing.is_some(), "editing {path}");
}

/// Chooses `kind` in the type switch of the value being edited at `path`.
fn switch_to(h: &mut Harness<'_, ConcordApp>, path: &str, kind: ValueKind) {
    let label = format!("type of {path}");
    let switch = h.get_by_label(&label);
    let below = switch.rect();
    switch.click();
    h.run();
    // The option in the list that opened below the switch (a row's badge may read the same).
    h.get_all_by_label(kind.label())
        .find(|n| {
            n.rect().top() >= below.bottom() - 1.0 && (n.rect().left() - below.left()).abs() < 40.0
        })
        .unwrap_or_else(|| panic!("{} in the list", kind.label()))
        .click();
    h.run();
}

#[test]
fn every_kind_becomes_every_other_from_the_type_switch() {
    for (path, start) in [
        ("/s", r#""12""#),
        ("/n", "3"),
        ("/b", "true"),
        ("/z", "null"),
        ("/o", r#"{"a":1}"#),
        ("/l", r#"[1,"x"]"#),
    ] {
        for kind in ValueKind::ALL {
            let mut h = common::window(DOC);
            assert_eq!(value(&h, path), start);
            open(&mut h, path);
            switch_to(&mut h, path, kind);
            let now = Value::parse(&value(&h, path)).unwrap();
            assert_eq!(ValueKind::of(&now), kind, "{path} ({start}) as {kind:?}");
            // One change, which one undo takes back.
            h.state_mut().workspace.editing = None;
            if now != Value::parse(start).unwrap() {
                h.state_mut().workspace.editor.undo().unwrap();
                assert_eq!(value(&h, path), start, "{path} as {kind:?}, undone");
            }
        }
    }
}

#[test]
fn a_switched_value_starts_from_what_it_was_and_goes_on_being_edited() {
    let mut h = common::window(DOC);
    open(&mut h, "/s");
    switch_to(&mut h, "/s", ValueKind::Number);
    assert_eq!(value(&h, "/s"), "12");
    assert!(h.get_by_label("edit /s").is_focused());
    // null to string: an empty string, the field open and taking keys.
    open(&mut h, "/z");
    switch_to(&mut h, "/z", ValueKind::String);
    assert_eq!(value(&h, "/z"), r#""""#);
    h.event(Event::Text("hi".to_owned()));
    h.run();
    assert_eq!(value(&h, "/z"), r#""hi""#);
    // A number to an object: a new object, opened in the tree to take members.
    open(&mut h, "/n");
    switch_to(&mut h, "/n", ValueKind::Object);
    assert_eq!(value(&h, "/n"), "{}");
    assert!(h.state().workspace.editing.is_none());
    assert!(
        h.state()
            .workspace
            .editor
            .is_expanded(&Pointer::parse("/n").unwrap())
    );
    assert_eq!(
        h.state().workspace.editor.selected(),
        Some(&Pointer::parse("/n").unwrap())
    );
}

#[test]
fn a_boolean_is_a_checkbox_space_sets_it_enter_keeps_it_escape_takes_it_back() {
    let mut h = common::window(DOC);
    open(&mut h, "/b");
    let checkbox = h.get_by_label("edit /b");
    assert!(checkbox.is_focused());
    h.key_press(Key::Space);
    h.run();
    assert_eq!(value(&h, "/b"), "false", "applied at once");
    h.key_press(Key::Enter);
    h.run();
    assert!(h.state().workspace.editing.is_none());
    assert_eq!(value(&h, "/b"), "false");
    // Escape takes back what the checkbox did.
    open(&mut h, "/b");
    h.key_press(Key::Space);
    h.run();
    h.key_press(Key::Space);
    h.run();
    h.key_press(Key::Space);
    h.run();
    assert_eq!(value(&h, "/b"), "true");
    h.key_press(Key::Escape);
    h.run();
    assert!(h.state().workspace.editing.is_none());
    assert_eq!(value(&h, "/b"), "false");
    // null to boolean: false, as a checkbox.
    open(&mut h, "/z");
    switch_to(&mut h, "/z", ValueKind::Bool);
    assert_eq!(value(&h, "/z"), "false");
    assert!(h.get_by_label("edit /z").is_focused());
}

#[test]
fn a_number_that_does_not_parse_keeps_its_field_open_until_fixed_or_cancelled() {
    let mut h = common::window(DOC);
    open(&mut h, "/n");
    h.event(Event::Text("12abc".to_owned()));
    h.run();
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(value(&h, "/n"), "3");
    let editing = h.state().workspace.editing.clone().unwrap();
    assert_eq!(editing.text, "12abc", "nothing typed is thrown away");
    assert!(editing.error.unwrap().contains("not a number"));
    assert!(h.query_by_label("problem with /n").is_some());
    assert!(h.get_by_label("edit /n").is_focused());
    // Clicking another row does not leave it either.
    h.get_by_label("node /s").click();
    h.run();
    assert!(h.state().workspace.editing.is_some());
    assert_eq!(value(&h, "/n"), "3");
    // Fixed, it is applied and the mark goes.
    h.get_by_label("edit /n").focus();
    h.run();
    for _ in 0..3 {
        h.key_press(Key::Backspace);
        h.run();
    }
    h.key_press(Key::Enter);
    h.run();
    assert!(h.state().workspace.editing.is_none());
    assert_eq!(value(&h, "/n"), "12");
    // Escape leaves a bad number as the document had it.
    open(&mut h, "/n");
    h.event(Event::Text("x".to_owned()));
    h.run();
    h.key_press(Key::Enter);
    h.run();
    h.key_press(Key::Escape);
    h.run();
    assert!(h.state().workspace.editing.is_none());
    assert_eq!(value(&h, "/n"), "12");
}
