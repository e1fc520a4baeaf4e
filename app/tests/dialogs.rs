//! Dialogs close with Escape, one per press, before the key reaches anything else.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable as _;

#[test]
fn escape_closes_preferences_and_the_connect_dialog() {
    let mut h = common::window(r#"{"a": "x"}"#);
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::P);
    h.run();
    assert!(h.state().workspace.preferences);
    h.key_press(Key::Escape);
    h.run();
    assert!(!h.state().workspace.preferences);
    h.key_press_modifiers(Modifiers::COMMAND, Key::K);
    h.run();
    assert!(h.state().workspace.connect.is_some());
    h.key_press(Key::Escape);
    h.run();
    assert!(h.state().workspace.connect.is_none());
}

#[test]
fn escape_in_a_dialog_leaves_an_edit_in_the_tree_alone() {
    let mut h = common::window(r#"{"a": "x"}"#);
    h.get_by_label("node /a").click();
    h.run();
    h.key_press(Key::Enter);
    h.run();
    h.event(egui::Event::Text("y".to_owned()));
    h.run();
    h.state_mut().workspace.preferences = true;
    h.run();
    h.key_press(Key::Escape);
    h.run();
    assert!(!h.state().workspace.preferences);
    assert_eq!(
        h.state().workspace.editor.doc().to_json(),
        r#"{"a":"y"}"#,
        "the edit stays"
    );
}
