//! Sharing the open document from the window: it stays as it was shown.

use super::*;

#[test]
fn starting_to_share_keeps_the_tree_as_it_was() {
    let rt = runtime();
    let dir = temp_dir("sharer");
    let mut ann = window(&rt, &dir);
    ann.state_mut().import_patch(START).unwrap();
    settle(&mut ann);
    ann.get_by_label("Expand /tags").click();
    settle(&mut ann);
    ann.get_by_label("node /tags/0").click();
    settle(&mut ann);
    ann.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::I,
    );
    settle(&mut ann);
    ann.get_by_label("Start sharing").click();
    settle(&mut ann);
    ann.get_by_label("Close window").click();
    until(&mut [&mut ann], "the shared document is confirmed", |w| {
        connected(w[0])
    });
    settle(&mut ann);
    assert!(ann.state().editor.is_expanded(&at("/tags")));
    assert_eq!(ann.state().editor.selected(), Some(&at("/tags/0")));
    assert!(ann.query_by_label("node /tags/0").is_some());
    drop(ann);
    let _ = std::fs::remove_dir_all(dir);
}
