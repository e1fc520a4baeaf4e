//! The real editor window, driven through its accessibility tree (egui_kittest), asserting on
//! the document and the editor's state.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use app::ui::ConcordApp;
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use sync_core::{Pointer, Value};

const DOC: &str = r#"{"title": "Draft", "count": 3, "tags": ["a", "b"], "meta": {"ok": true}}"#;

fn doc(h: &Harness<'_, ConcordApp>) -> String {
    h.state().workspace.editor.doc().to_json()
}

fn at(path: &str) -> Pointer {
    Pointer::parse(path).unwrap()
}

#[test]
fn the_status_bar_shows_selection_node_count_and_size() {
    let mut h = common::window(DOC);
    select(&mut h, "/tags");
    let size = format!("{} bytes", doc(&h).len());
    for text in ["/tags", "8 nodes", size.as_str()] {
        assert!(h.query_by_label(text).is_some(), "{text}");
    }
    h.key_press(Key::Delete);
    h.run();
    let size = format!("{} bytes", doc(&h).len());
    assert!(h.query_by_label("5 nodes").is_some());
    assert!(h.query_by_label(&size).is_some(), "{size}");
}

#[test]
fn containers_expand_and_collapse_by_click() {
    let mut h = common::window(DOC);
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
    let mut h = common::window(DOC);
    h.get_by_label("node /title").click();
    h.run();
    h.key_press(Key::ArrowDown);
    h.run();
    assert_eq!(h.state().workspace.editor.selected(), Some(&at("/count")));
    h.key_press(Key::ArrowDown);
    h.run();
    h.key_press(Key::ArrowRight);
    h.run();
    assert!(h.state().workspace.editor.is_expanded(&at("/tags")));
    h.key_press(Key::ArrowRight);
    h.run();
    assert_eq!(h.state().workspace.editor.selected(), Some(&at("/tags/0")));
    h.key_press(Key::ArrowLeft);
    h.run();
    assert_eq!(h.state().workspace.editor.selected(), Some(&at("/tags")));
}

#[test]
fn typing_in_a_string_edits_it_as_typed() {
    let mut h = common::window(DOC);
    h.get_by_label("node /title").click();
    h.run();
    h.key_press(Key::Enter);
    h.run();
    let field = h.get_by_label("edit /title");
    assert!(field.is_focused());
    // The field opens with its text selected: End keeps it and goes after it.
    h.key_press(Key::End);
    h.run();
    h.get_by_label("edit /title").type_text("s!");
    h.run();
    // Applied keystroke by keystroke, before the field is left.
    assert_eq!(
        at("/title").resolve(h.state().workspace.editor.doc()),
        Some(&Value::from("Drafts!"))
    );
    h.key_press(Key::Enter);
    h.run();
    assert!(h.state().workspace.editing.is_none());
    assert_eq!(
        doc(&h),
        r#"{"title":"Drafts!","count":3,"tags":["a","b"],"meta":{"ok":true}}"#
    );
}

#[test]
fn an_invalid_number_is_reported_and_changes_nothing() {
    let mut h = common::window(DOC);
    h.get_by_label("node /count").click();
    h.run();
    h.key_press(Key::Enter);
    h.run();
    h.get_by_label("edit /count").type_text("x");
    h.run();
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(doc(&h), Value::parse(DOC).unwrap().to_json());
    // The field stays open, with the reason beside it.
    let error = h
        .state()
        .workspace
        .editing
        .as_ref()
        .unwrap()
        .error
        .clone()
        .unwrap();
    assert!(error.contains("not a number"), "{error}");
    assert!(h.get_by_label("edit /count").is_focused());
    assert!(h.query_by_label("problem with /count").is_some());
}

#[test]
fn delete_undo_and_redo_by_keyboard_and_menu() {
    let mut h = common::window(DOC);
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
    let mut h = common::window(DOC);
    h.get_by_label("View").click();
    h.run();
    h.get_by_label_contains("Expand all").click();
    h.run();
    assert!(h.query_by_label("node /meta/ok").is_some());
    assert!(h.query_by_label("node /tags/1").is_some());
}

/// Selects the node at `path` by clicking its key.
fn select(h: &mut Harness<'_, ConcordApp>, path: &str) {
    h.get_by_label(&format!("node {path}")).click();
    h.run();
}

#[test]
fn renaming_a_key_keeps_its_place() {
    let mut h = common::window(DOC);
    select(&mut h, "/count");
    h.key_press(Key::F2);
    h.run();
    let field = h.get_by_label("rename /count");
    assert!(field.is_focused());
    // Select the old name and type over it.
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("rename /count").type_text("total");
    h.run();
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(
        doc(&h),
        r#"{"title":"Draft","total":3,"tags":["a","b"],"meta":{"ok":true}}"#
    );
    assert_eq!(h.state().workspace.editor.selected(), Some(&at("/total")));
}

#[test]
fn adding_a_child_then_naming_it_and_duplicating() {
    let mut h = common::window(DOC);
    select(&mut h, "/meta");
    h.key_press(Key::Insert);
    h.run();
    // The new member is revealed and its key is open for naming.
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("rename /meta/new").type_text("note");
    h.run();
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(
        doc(&h),
        r#"{"title":"Draft","count":3,"tags":["a","b"],"meta":{"ok":true,"note":null}}"#
    );
    select(&mut h, "/title");
    h.key_press_modifiers(Modifiers::COMMAND, Key::D);
    h.run();
    assert_eq!(
        doc(&h),
        r#"{"title":"Draft","title copy":"Draft","count":3,"tags":["a","b"],"meta":{"ok":true,"note":null}}"#
    );
}

#[test]
fn copy_pointer_copy_and_paste_use_the_clipboard() {
    let mut h = common::window(DOC);
    h.get_by_label("Expand /tags").click();
    h.run();
    select(&mut h, "/tags/1");
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::C);
    h.run();
    let copied = |h: &Harness<'_, ConcordApp>| h.state().workspace.copied.clone();
    assert_eq!(copied(&h).as_deref(), Some("/tags/1"));
    select(&mut h, "/meta");
    h.event(egui::Event::Copy);
    h.run();
    assert_eq!(copied(&h).as_deref(), Some("{\n  \"ok\": true\n}"));
    // Pasting JSON puts it after the selected node; pasting something else changes nothing.
    select(&mut h, "/tags/0");
    h.event(egui::Event::Paste(r#"{"z": [1]}"#.to_owned()));
    h.run();
    assert_eq!(
        doc(&h),
        r#"{"title":"Draft","count":3,"tags":["a",{"z":[1]},"b"],"meta":{"ok":true}}"#
    );
    h.event(egui::Event::Paste("not json".to_owned()));
    h.run();
    assert!(
        h.state()
            .workspace
            .message
            .clone()
            .unwrap()
            .contains("does not hold JSON")
    );
    assert_eq!(
        doc(&h),
        r#"{"title":"Draft","count":3,"tags":["a",{"z":[1]},"b"],"meta":{"ok":true}}"#
    );
}

#[test]
fn search_finds_keys_and_values_and_expands_to_each_match() {
    let mut h = common::window(DOC);
    h.key_press_modifiers(Modifiers::COMMAND, Key::F);
    h.run();
    let field = h.get_by_label("search");
    assert!(field.is_focused());
    field.type_text("o");
    h.run();
    // "count" (key), "ok" (key): in document order; the first is selected.
    let matches: Vec<String> = h
        .state()
        .workspace
        .search
        .as_ref()
        .unwrap()
        .matches()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(matches, ["/count", "/meta/ok"]);
    assert_eq!(h.state().workspace.editor.selected(), Some(&at("/count")));
    assert!(h.query_by_label("1 of 2 matches").is_some());
    // The next match is inside a collapsed object: it is revealed.
    h.key_press(Key::F3);
    h.run();
    assert_eq!(h.state().workspace.editor.selected(), Some(&at("/meta/ok")));
    assert!(h.query_by_label("node /meta/ok").is_some());
    // Wraps around, both ways.
    h.key_press(Key::F3);
    h.run();
    assert_eq!(h.state().workspace.editor.selected(), Some(&at("/count")));
    h.key_press_modifiers(Modifiers::SHIFT, Key::F3);
    h.run();
    assert_eq!(h.state().workspace.editor.selected(), Some(&at("/meta/ok")));
    h.get_by_label("Close").click();
    h.run();
    assert!(h.state().workspace.search.is_none());
}

#[test]
fn the_raw_view_applies_valid_text_and_reports_invalid_text_without_harm() {
    let mut h = common::window(DOC);
    h.key_press_modifiers(Modifiers::COMMAND, Key::R);
    h.run();
    let raw = h.get_by_label("raw JSON");
    assert!(raw.value().unwrap().contains("\"title\": \"Draft\""));
    // Replace the text with something that is not JSON.
    raw.focus();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("raw JSON")
        .type_text("{\"title\": \"Final\",\n  \"count\": }");
    h.run();
    h.get_by_label("Apply").click();
    h.run();
    let error = h
        .state()
        .workspace
        .raw
        .as_ref()
        .unwrap()
        .error
        .clone()
        .unwrap();
    assert!(error.starts_with("line 2, column 12"), "{error}");
    assert!(
        h.query_by_label_contains("Not JSON: line 2, column 12")
            .is_some()
    );
    assert_eq!(
        doc(&h),
        Value::parse(DOC).unwrap().to_json(),
        "the document is untouched"
    );
    // Leaving the view is refused while the text is invalid; discarding restores it.
    h.key_press_modifiers(Modifiers::COMMAND, Key::R);
    h.run();
    assert!(h.state().workspace.raw.is_some());
    h.get_by_label("Discard").click();
    h.run();
    assert!(h.state().workspace.raw.as_ref().unwrap().error.is_none());
    // Valid text applies as one undoable change.
    h.get_by_label("raw JSON").focus();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("raw JSON")
        .type_text(r#"{"title": "Final", "count": 4}"#);
    h.run();
    h.get_by_label("Apply").click();
    h.run();
    assert_eq!(doc(&h), r#"{"title":"Final","count":4}"#);
    h.key_press_modifiers(Modifiers::COMMAND, Key::R);
    h.run();
    assert!(h.state().workspace.raw.is_none());
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    assert_eq!(doc(&h), Value::parse(DOC).unwrap().to_json());
}

#[test]
fn files_load_in_the_background_and_bad_files_are_reported() {
    let dir = common::temp_dir("load");
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    std::fs::write(&good, DOC).unwrap();
    let h = common::opened(&good);
    assert_eq!(doc(&h), Value::parse(DOC).unwrap().to_json());
    assert_eq!(h.state().workspace.editor.path(), Some(good.as_path()));
    assert!(h.query_by_label("node /title").is_some());

    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"a\": 1,\n \"b\": }").unwrap();
    let h = common::opened(&bad);
    let broken = h.state().workspace.broken.clone().unwrap();
    assert_eq!((broken.line, broken.column), (2, 7));
    assert!(
        h.query_by_label(&format!("{} is not JSON", bad.display()))
            .is_some()
    );
    assert_eq!(
        h.state().workspace.editor.path(),
        None,
        "nothing was opened"
    );
}

#[test]
fn closing_with_unsaved_changes_asks_first() {
    let dir = common::temp_dir("close");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("doc.json");
    std::fs::write(&file, DOC).unwrap();
    let mut h = common::opened(&file);
    let close = common::request_close;
    // Nothing to save: no question.
    close(&mut h);
    assert!(!h.state().workspace.closing);
    // An edit, then close: the prompt; Cancel keeps everything.
    select(&mut h, "/meta");
    h.key_press(Key::Delete);
    h.run();
    close(&mut h);
    assert!(h.state().workspace.closing);
    assert!(h.query_by_label_contains("Save the changes to").is_some());
    h.get_by_label("Cancel").click();
    h.run();
    assert!(!h.state().workspace.closing);
    assert!(h.state().workspace.editor.is_dirty());
    // Save and close writes the file.
    close(&mut h);
    h.get_by_label("Save and close").click();
    h.run();
    assert!(!h.state().workspace.editor.is_dirty());
    let saved = Value::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        saved.to_json(),
        r#"{"title":"Draft","count":3,"tags":["a","b"]}"#
    );
}

/// A file dropped on the window, as the windowing integration reports it.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn theme_and_text_size_are_settings_and_dropped_files_open() {
    let mut h = common::window(DOC);
    assert_eq!(
        h.state().workspace.settings.theme,
        app::settings::Theme::Dark
    );
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::T);
    h.run();
    assert_eq!(
        h.state().workspace.settings.theme,
        app::settings::Theme::Light
    );
    assert_eq!(h.ctx.theme(), egui::Theme::Light);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Plus);
    h.run();
    assert_eq!(h.state().workspace.settings.font_size, 15.0);
    // A file dropped on the window is opened and remembered.
    let dir = common::temp_dir("drop");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dropped.json");
    std::fs::write(&file, r#"{"dropped": true}"#).unwrap();
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(file.clone())));
    h.step();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.state().workspace.loading.is_some() && std::time::Instant::now() < deadline {
        h.step();
    }
    h.run();
    assert_eq!(doc(&h), r#"{"dropped":true}"#);
    assert_eq!(
        h.state().workspace.settings.recent.first(),
        Some(&std::fs::canonicalize(&file).unwrap())
    );
}

/// Drags the key of `from` onto the point a fraction `at` down the row of `onto`.
fn drag(h: &mut Harness<'_, ConcordApp>, from: &str, onto: &str, at: f32) {
    let start = h.get_by_label(&format!("node {from}")).rect().center();
    let row = h.get_by_label(&format!("node {onto}")).rect();
    // The row is as tall as its key's label; aim within it.
    let end = egui::pos2(row.center().x, row.top() + row.height() * at);
    h.drag_at(start);
    h.run();
    for step in 1..=5 {
        h.hover_at(start + (end - start) * (step as f32 / 5.0));
        h.run();
    }
    h.drop_at(end);
    h.run();
}

#[test]
fn dragging_reorders_an_array_and_moves_between_containers() {
    let mut h = common::window(DOC);
    h.get_by_label("Expand /tags").click();
    h.run();
    // "a" after "b".
    drag(&mut h, "/tags/0", "/tags/1", 0.95);
    assert_eq!(
        doc(&h),
        r#"{"title":"Draft","count":3,"tags":["b","a"],"meta":{"ok":true}}"#
    );
    // "count" into the "meta" object (the middle of a container's row).
    drag(&mut h, "/count", "/meta", 0.5);
    assert_eq!(
        doc(&h),
        r#"{"title":"Draft","tags":["b","a"],"meta":{"ok":true,"count":3}}"#
    );
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    assert_eq!(
        doc(&h),
        r#"{"title":"Draft","count":3,"tags":["b","a"],"meta":{"ok":true}}"#
    );
}

#[test]
fn the_display_name_and_theme_are_set_in_preferences() {
    let mut h = common::window(DOC);
    h.get_by_label("File").click();
    h.run();
    h.get_by_label_contains("Preferences").click();
    h.run();
    h.get_by_label("Display name").focus();
    h.run();
    h.get_by_label("Display name").type_text("Ann");
    h.run();
    h.get_by_label("Light").click();
    h.run();
    assert_eq!(h.state().workspace.settings.display_name, "Ann");
    assert_eq!(
        h.state().workspace.settings.theme,
        app::settings::Theme::Light
    );
}

#[test]
fn the_type_switch_turns_a_number_into_a_string() {
    let mut h = common::window(DOC);
    select(&mut h, "/count");
    h.key_press(Key::Enter);
    h.run();
    h.get_by_label("type of /count").click();
    h.run();
    h.get_by_label("string").click();
    h.run();
    assert_eq!(
        doc(&h),
        r#"{"title":"Draft","count":"3","tags":["a","b"],"meta":{"ok":true}}"#
    );
    // It goes on being edited, as a string now.
    assert_eq!(h.state().workspace.editing.as_ref().unwrap().text, "3");
    assert!(h.get_by_label("edit /count").is_focused());
}
