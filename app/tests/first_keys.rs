//! Every key typed after a command that opens a field reaches that field, including keys that
//! arrive in the same frame as the command (a fast typist, or keys delivered in a burst), and
//! the field opens with its whole text selected, so typing replaces it.

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

const DOC: &str = r#"{"title": "Draft", "count": 3, "meta": {"ok": true}}"#;

fn doc(h: &Harness<'_, ConcordApp>) -> String {
    h.state().workspace.editor.doc().to_json()
}

fn select(h: &mut Harness<'_, ConcordApp>, path: &str) {
    h.get_by_label(&format!("node {path}")).click();
    h.run();
    assert_eq!(
        h.state().workspace.editor.selected(),
        Some(&Pointer::parse(path).unwrap())
    );
}

/// Presses `key` (with `modifiers`) and types `text` in one frame.
fn command_then_keys(h: &mut Harness<'_, ConcordApp>, modifiers: Modifiers, key: Key, text: &str) {
    let input = h.input_mut();
    for pressed in [true, false] {
        input.events.push(Event::Key {
            key,
            physical_key: None,
            pressed,
            repeat: false,
            modifiers,
        });
    }
    input.events.push(Event::Text(text.to_owned()));
    h.step();
}

/// Types `text` in the next frame, then lets the window settle.
fn then_type(h: &mut Harness<'_, ConcordApp>, text: &str) {
    h.event(Event::Text(text.to_owned()));
    h.run();
}

#[test]
fn find_takes_the_key_typed_in_the_frame_of_ctrl_f_and_the_next() {
    let mut h = common::window(DOC);
    command_then_keys(&mut h, Modifiers::COMMAND, Key::F, "m");
    then_type(&mut h, "eta");
    assert_eq!(h.state().workspace.search.as_ref().unwrap().query, "meta");
    assert!(h.get_by_label("search").is_focused());
    assert_eq!(
        h.state().workspace.editor.selected(),
        Some(&Pointer::parse("/meta").unwrap())
    );
    // Ctrl+F again selects the query: typing replaces it.
    h.key_press_modifiers(Modifiers::COMMAND, Key::F);
    h.run();
    then_type(&mut h, "ok");
    assert_eq!(h.state().workspace.search.as_ref().unwrap().query, "ok");
}

#[test]
fn f2_opens_the_key_selected_and_typing_replaces_it_from_the_first_key() {
    let mut h = common::window(DOC);
    select(&mut h, "/count");
    command_then_keys(&mut h, Modifiers::NONE, Key::F2, "t");
    then_type(&mut h, "otal");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(doc(&h), r#"{"title":"Draft","total":3,"meta":{"ok":true}}"#);
    // Typed after the field has opened, the same.
    h.key_press(Key::F2);
    h.run();
    then_type(&mut h, "sum");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(doc(&h), r#"{"title":"Draft","sum":3,"meta":{"ok":true}}"#);
}

#[test]
fn enter_opens_a_value_selected_and_the_first_key_replaces_it() {
    let mut h = common::window(DOC);
    select(&mut h, "/title");
    command_then_keys(&mut h, Modifiers::NONE, Key::Enter, "X");
    h.run();
    // A string changes as it is typed, the first key included.
    assert_eq!(
        Pointer::parse("/title")
            .unwrap()
            .resolve(h.state().workspace.editor.doc()),
        Some(&Value::from("X"))
    );
    then_type(&mut h, "YZ");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(doc(&h), r#"{"title":"XYZ","count":3,"meta":{"ok":true}}"#);
    // A number, too.
    select(&mut h, "/count");
    command_then_keys(&mut h, Modifiers::NONE, Key::Enter, "4");
    then_type(&mut h, "2");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(doc(&h), r#"{"title":"XYZ","count":42,"meta":{"ok":true}}"#);
}

#[test]
fn the_arrow_keys_keep_the_selected_text() {
    let mut h = common::window(DOC);
    select(&mut h, "/title");
    h.key_press(Key::Enter);
    h.run();
    h.key_press(Key::End);
    h.run();
    then_type(&mut h, "s");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(
        doc(&h),
        r#"{"title":"Drafts","count":3,"meta":{"ok":true}}"#
    );
}

#[test]
fn a_new_member_takes_its_name_from_the_first_key() {
    let mut h = common::window(DOC);
    select(&mut h, "/meta");
    command_then_keys(&mut h, Modifiers::NONE, Key::Insert, "n");
    then_type(&mut h, "ote");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(
        doc(&h),
        r#"{"title":"Draft","count":3,"meta":{"ok":true,"note":null}}"#
    );
}
