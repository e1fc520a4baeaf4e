//! The real editor window, driven through its accessibility tree (egui_kittest), asserting on
//! the document and the editor's state.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use app::editor::Editor;
use app::ui::ConcordApp;
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use sync_core::value::Style;
use sync_core::{Pointer, Value};

const DOC: &str = r#"{"title": "Draft", "count": 3, "tags": ["a", "b"], "meta": {"ok": true}}"#;

fn harness(text: &str) -> Harness<'static, ConcordApp> {
    let editor = Editor::new(Value::parse(text).unwrap(), None, Style::default());
    let mut harness = Harness::builder()
        .with_size(egui::vec2(900.0, 700.0))
        .build_eframe(move |_cc| ConcordApp::new(editor));
    harness.run();
    harness
}

fn doc(h: &Harness<'_, ConcordApp>) -> String {
    h.state().editor.doc().to_json()
}

fn at(path: &str) -> Pointer {
    Pointer::parse(path).unwrap()
}

#[test]
fn containers_expand_and_collapse_by_click() {
    let mut h = harness(DOC);
    assert!(h.query_by_label("node /tags/0").is_none());
    h.get_by_label("Expand /tags").click();
    h.run();
    assert!(h.query_by_label("node /tags/0").is_some());
    h.get_by_label("Collapse /tags").click();
    h.run();
    assert!(h.query_by_label("node /tags/0").is_none());
}

#[test]
fn arrow_keys_select_and_expand() {
    let mut h = harness(DOC);
    h.get_by_label("node /title").click();
    h.run();
    h.key_press(Key::ArrowDown);
    h.run();
    assert_eq!(h.state().editor.selected(), Some(&at("/count")));
    h.key_press(Key::ArrowDown);
    h.run();
    h.key_press(Key::ArrowRight);
    h.run();
    assert!(h.state().editor.is_expanded(&at("/tags")));
    h.key_press(Key::ArrowRight);
    h.run();
    assert_eq!(h.state().editor.selected(), Some(&at("/tags/0")));
    h.key_press(Key::ArrowLeft);
    h.run();
    assert_eq!(h.state().editor.selected(), Some(&at("/tags")));
}

#[test]
fn typing_in_a_string_edits_it_as_typed() {
    let mut h = harness(DOC);
    h.get_by_label("node /title").click();
    h.run();
    h.key_press(Key::Enter);
    h.run();
    let field = h.get_by_label("edit /title");
    assert!(field.is_focused());
    field.type_text("s!");
    h.run();
    // Applied keystroke by keystroke, before the field is left.
    assert_eq!(
        at("/title").resolve(h.state().editor.doc()),
        Some(&Value::from("Drafts!"))
    );
    h.key_press(Key::Enter);
    h.run();
    assert!(h.state().editing.is_none());
    assert_eq!(
        doc(&h),
        r#"{"title":"Drafts!","count":3,"tags":["a","b"],"meta":{"ok":true}}"#
    );
}

#[test]
fn an_invalid_number_is_reported_and_changes_nothing() {
    let mut h = harness(DOC);
    h.get_by_label("node /count").click();
    h.run();
    h.key_press(Key::Enter);
    h.run();
    h.get_by_label("edit /count").type_text("x");
    h.run();
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(doc(&h), Value::parse(DOC).unwrap().to_json());
    let message = h.state().message.clone().unwrap();
    assert!(message.contains("not a number"), "{message}");
}

#[test]
fn delete_undo_and_redo_by_keyboard_and_menu() {
    let mut h = harness(DOC);
    let original = doc(&h);
    h.get_by_label("node /meta").click();
    h.run();
    h.key_press(Key::Delete);
    h.run();
    assert_eq!(doc(&h), r#"{"title":"Draft","count":3,"tags":["a","b"]}"#);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    assert_eq!(doc(&h), original);
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    h.run();
    assert_eq!(doc(&h), r#"{"title":"Draft","count":3,"tags":["a","b"]}"#);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::Y);
    h.run();
    assert_eq!(doc(&h), r#"{"title":"Draft","count":3,"tags":["a","b"]}"#);
    // The same through the menu.
    h.get_by_label("Edit").click();
    h.run();
    h.get_by_label_contains("Undo").click();
    h.run();
    assert_eq!(doc(&h), original);
}

#[test]
fn expand_all_from_the_view_menu() {
    let mut h = harness(DOC);
    h.get_by_label("View").click();
    h.run();
    h.get_by_label_contains("Expand all").click();
    h.run();
    assert!(h.query_by_label("node /meta/ok").is_some());
    assert!(h.query_by_label("node /tags/1").is_some());
}
