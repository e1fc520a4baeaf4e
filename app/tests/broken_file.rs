//! A file that is not JSON: shown as such (where it breaks, the text around it), never as an
//! empty document that could be saved over it, and fixable in the raw view.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable as _;

const BROKEN: &str = "{\n  \"name\": \"Ada\",\n  \"tags\": [\"a\" \"b\"],\n  \"n\": 1\n}\n";

fn temp_file(name: &str, text: &str) -> (common::TempDir, std::path::PathBuf) {
    let dir = common::temp_dir(name);
    let file = dir.join("data.json");
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

#[test]
fn a_file_that_is_not_json_shows_where_and_is_never_saved_over() {
    let (_dir, file) = temp_file("shown", BROKEN);
    let mut h = common::opened(&file);
    assert!(
        h.query_by_label(&format!("{} is not JSON", file.display()))
            .is_some()
    );
    let broken = h.state().workspace.broken.clone().unwrap();
    assert_eq!((broken.line, broken.column), (3, 16));
    let problem = format!("line 3, column 16: {}", broken.reason);
    assert!(broken.reason.contains("expected"), "{}", broken.reason);
    assert!(h.query_by_label(&problem).is_some(), "{problem}");
    // The text around it, with the line numbers.
    assert!(
        h.query_by_label("     3 |   \"tags\": [\"a\" \"b\"],")
            .is_some()
    );
    // No document: saving is refused, and the file stays as it was.
    h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    h.run();
    let message = h.state().workspace.message.clone().unwrap();
    assert!(message.contains("did not open"), "{message}");
    assert!(
        h.state().workspace.dialog.is_none(),
        "no dialog to save elsewhere either"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), BROKEN);
    assert!(
        h.query_by_label("node (root)").is_none(),
        "no tree of a document that is not there"
    );
    assert!(h.query_by_label("1 node").is_none(), "nor a count of it");
    assert!(
        h.query_by_label(&format!("{} did not open", file.display()))
            .is_some()
    );
}

#[test]
fn a_broken_file_is_fixed_in_the_raw_view_and_saved() {
    let (_dir, file) = temp_file("fixed", BROKEN);
    let mut h = common::opened(&file);
    h.get_by_label("Fix it in the raw view").click();
    h.run();
    let raw = h.get_by_label("raw JSON");
    assert_eq!(raw.value().unwrap(), BROKEN, "the file's text, as it is");
    assert!(h.state().workspace.raw.as_ref().unwrap().error.is_some());
    // Discard goes back to the file that did not open.
    h.get_by_label("Discard").click();
    h.run();
    assert!(h.state().workspace.raw.is_none());
    assert!(h.state().workspace.broken.is_some());
    // Ctrl+R opens the text too; fixed and applied, it is the file's document.
    h.key_press_modifiers(Modifiers::COMMAND, Key::R);
    h.run();
    h.state_mut().workspace.raw.as_mut().unwrap().text =
        BROKEN.replace("\"a\" \"b\"", "\"a\", \"b\"");
    h.get_by_label("Apply").click();
    h.run();
    assert!(h.state().workspace.broken.is_none());
    assert_eq!(h.state().workspace.editor.path(), Some(file.as_path()));
    assert_eq!(
        h.state().workspace.editor.doc().to_json(),
        r#"{"name":"Ada","tags":["a","b"],"n":1}"#
    );
    assert!(h.state().workspace.editor.is_dirty());
    h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    h.run();
    let saved = sync_core::Value::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved.to_json(), r#"{"name":"Ada","tags":["a","b"],"n":1}"#);
}
