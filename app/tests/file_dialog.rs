//! The app's own file dialog, where the desktop has none: a path field that Tab completes and
//! the folder's entries, for saving, opening and importing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use app::file_dialog::{Pending, Purpose};
use app::ui::ConcordApp;
use egui::{Event, Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

/// Replaces the path in the dialog's field with `text`.
fn type_path(h: &mut Harness<'_, ConcordApp>, text: &str) {
    h.get_by_label("file path").focus();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.run();
    h.event(Event::Text(text.to_owned()));
    h.run();
}

#[test]
fn with_no_desktop_dialog_the_apps_own_saves_a_new_document() {
    let dir = common::temp_dir("save");
    let mut h = common::window(r#"{"a": 1}"#);
    // The desktop has no dialog (no portal): the app's own opens, and stays the one used.
    h.state_mut().workspace.dialog =
        Some(Pending::failed(Purpose::SaveAs, "no desktop file dialog"));
    h.run();
    assert!(h.state().workspace.file_form.is_some());
    assert!(h.state().workspace.in_app_dialogs);
    // Its field has the keyboard, the caret after the suggested name.
    assert!(h.get_by_label("file path").is_focused());
    h.event(Event::Text("x".to_owned()));
    h.run();
    assert!(
        h.state()
            .workspace
            .file_form
            .as_ref()
            .unwrap()
            .path
            .ends_with("document.jsonx")
    );
    let file = dir.join("new.json");
    type_path(&mut h, &file.display().to_string());
    h.key_press(Key::Enter);
    h.run();
    assert!(
        h.state().workspace.file_form.is_none(),
        "{:?}",
        h.state().workspace.message
    );
    assert_eq!(h.state().workspace.editor.path(), Some(file.as_path()));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "{\n  \"a\": 1\n}\n"
    );
}

#[test]
fn tab_completes_and_a_path_that_is_not_there_is_refused_in_place() {
    let dir = common::temp_dir("complete");
    std::fs::write(dir.join("alpha.json"), r#"{"x": 1}"#).unwrap();
    std::fs::write(dir.join("alphabet.json"), "{}").unwrap();
    std::fs::create_dir_all(dir.join("beta")).unwrap();
    let mut h = common::window(r#"{"a": 1}"#);
    h.state_mut().workspace.in_app_dialogs = true;
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run();
    assert!(h.state().workspace.file_form.is_some(), "Ctrl+O opens it");
    // The folder's entries show, folders first.
    type_path(&mut h, &format!("{}/", dir.display()));
    assert!(h.query_by_label("beta/").is_some());
    assert!(h.query_by_label("alpha.json").is_some());
    // Tab completes what all matching entries share, then the one left.
    type_path(&mut h, &format!("{}/al", dir.display()));
    h.key_press(Key::Tab);
    h.run();
    assert_eq!(
        h.state().workspace.file_form.as_ref().unwrap().path,
        format!("{}/alpha", dir.display())
    );
    // A key typed and Tab in the same frame: the key first, then the completion of it.
    let input = h.input_mut();
    input.events.push(Event::Text("b".to_owned()));
    for pressed in [true, false] {
        input.events.push(Event::Key {
            key: Key::Tab,
            physical_key: None,
            pressed,
            repeat: false,
            modifiers: Modifiers::NONE,
        });
    }
    h.run();
    assert_eq!(
        h.state().workspace.file_form.as_ref().unwrap().path,
        format!("{}/alphabet.json", dir.display())
    );
    // A file that is not there is refused in place.
    type_path(&mut h, &format!("{}/gamma.json", dir.display()));
    h.key_press(Key::Enter);
    h.run();
    let form = h.state().workspace.file_form.clone().unwrap();
    assert!(form.error.unwrap().contains("there is no file"));
    // A click on an entry of the folder, then Open.
    type_path(&mut h, &format!("{}/", dir.display()));
    h.get_by_label("alpha.json").click();
    h.run();
    h.get_by_label("Open").click();
    // The file loads in the background, waking the window as it goes: step, not settle.
    h.step();
    assert!(h.state().workspace.file_form.is_none());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while h.state().workspace.loading.is_some() {
        assert!(std::time::Instant::now() < deadline);
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    h.run();
    assert_eq!(h.state().workspace.editor.doc().to_json(), r#"{"x":1}"#);
    // Escape closes it.
    h.key_press_modifiers(Modifiers::COMMAND, Key::I);
    h.run();
    assert!(h.state().workspace.file_form.is_some());
    h.key_press(Key::Escape);
    h.run();
    assert!(h.state().workspace.file_form.is_none());
}

#[test]
fn closing_a_document_with_no_file_offers_to_save_it_somewhere_first() {
    let dir = common::temp_dir("close");
    let mut h = common::window(r#"{"a": 1}"#);
    h.state_mut().workspace.in_app_dialogs = true;
    h.get_by_label("node /a").click();
    h.run();
    h.key_press(Key::Delete);
    h.run();
    assert!(h.state().workspace.editor.is_dirty());
    common::request_close(&mut h);
    assert!(h.state().workspace.closing);
    h.get_by_label("Save as… and close").click();
    h.run();
    // Where to save it is asked first; the window closes once it is saved there.
    assert!(h.state().workspace.file_form.is_some());
    let file = dir.join("kept.json");
    type_path(&mut h, &file.display().to_string());
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{}\n");
    assert!(!h.state().workspace.editor.is_dirty());
    assert!(h.state().workspace.close_confirmed(), "the window closes");
}
