//! Saving keeps a file's layout: minified stays minified, tabs and four spaces stay, unless
//! Preferences say otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use app::settings::SaveLayout;
use app::ui::ConcordApp;
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

/// Opens `text` from a file, sets `/n` to 2 by keyboard, saves, and returns the file's text.
fn edit_and_save(name: &str, text: &str, setting: SaveLayout) -> String {
    let dir = common::temp_dir(name);
    let file = dir.join("data.json");
    std::fs::write(&file, text).unwrap();
    let mut h = common::opened(&file);
    h.state_mut().workspace.settings.save_layout = setting;
    h.get_by_label("node /n").click();
    h.run();
    h.key_press(Key::Enter);
    h.run();
    h.event(egui::Event::Text("2".to_owned()));
    h.run();
    h.key_press(Key::Enter);
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    h.run();
    assert!(
        !h.state().workspace.editor.is_dirty(),
        "{:?}",
        h.state().workspace.message
    );
    std::fs::read_to_string(&file).unwrap()
}

#[test]
fn saving_keeps_the_files_layout() {
    let minified = "{\"n\":1,\"list\":[1,2],\"o\":{\"a\":\"x\"}}";
    assert_eq!(
        edit_and_save("min", minified, SaveLayout::AsRead),
        "{\"n\":2,\"list\":[1,2],\"o\":{\"a\":\"x\"}}\n"
    );
    // As Python's json.dumps writes.
    let spaced = "{\"n\": 1, \"list\": [1, 2]}";
    assert_eq!(
        edit_and_save("spaced", spaced, SaveLayout::AsRead),
        "{\"n\": 2, \"list\": [1, 2]}\n"
    );
    let tabs = "{\n\t\"n\": 1,\n\t\"o\": {\n\t\t\"a\": \"x\"\n\t}\n}\n";
    assert_eq!(
        edit_and_save("tabs", tabs, SaveLayout::AsRead),
        tabs.replace("1", "2")
    );
    let four = "{\n    \"n\": 1,\n    \"list\": [\n        1\n    ]\n}\n";
    assert_eq!(
        edit_and_save("four", four, SaveLayout::AsRead),
        four.replace("\"n\": 1", "\"n\": 2")
    );
}

#[test]
fn preferences_can_choose_the_layout() {
    let minified = "{\"n\":1,\"o\":{\"a\":\"x\"}}";
    assert_eq!(
        edit_and_save("pref", minified, SaveLayout::TwoSpaces),
        "{\n  \"n\": 2,\n  \"o\": {\n    \"a\": \"x\"\n  }\n}\n"
    );
    // The choice is in Preferences.
    let mut h = Harness::builder()
        .with_size(egui::vec2(900.0, 700.0))
        .build_eframe(|_cc| {
            ConcordApp::new(app::editor::Editor::new(
                sync_core::Value::parse("{}").unwrap(),
                None,
                Default::default(),
            ))
        });
    h.state_mut().workspace.preferences = true;
    h.run();
    h.get_by_label("save files").click();
    h.run();
    h.get_by_label("tabs").click();
    h.run();
    assert_eq!(h.state().workspace.settings.save_layout, SaveLayout::Tabs);
}

#[test]
fn containers_the_file_wrote_on_one_line_stay_on_one_line_in_the_raw_view_and_when_saved() {
    // Written by hand: short lists and points on one line, the rest expanded.
    let text = "{\n  \"n\": 1,\n  \"tags\": [\"a\", \"b\"],\n  \"origin\": {\"x\": 0, \"y\": 0},\n  \"scripts\": {\n    \"test\": \"cargo test\"\n  }\n}\n";
    let saved = edit_and_save("one-line", text, SaveLayout::AsRead);
    assert_eq!(saved, text.replace("\"n\": 1", "\"n\": 2"));
    // The raw view shows the text as the file has it.
    let dir = common::temp_dir("one-line-raw");
    let file = dir.join("data.json");
    std::fs::write(&file, text).unwrap();
    let mut h = common::opened(&file);
    h.key_press_modifiers(Modifiers::COMMAND, Key::R);
    h.run();
    assert_eq!(
        h.state().workspace.raw.as_ref().map(|r| r.text.as_str()),
        Some(text.trim_end())
    );
}
