//! Sharing the open document keeps it as it was shown, closing the window that shares one with
//! no file asks first, and a shared document joined before opens again from File → Open recent.

use super::*;

#[test]
fn starting_to_share_keeps_the_tree_as_it_was() {
    let mut team = Team::without_relay();
    let mut ann = team.window("sharer");
    ann.state_mut().workspace.import_patch(START).unwrap();
    settle(&mut ann);
    ann.get_by_label("Expand /tags").click();
    settle(&mut ann);
    ann.get_by_label("node /tags/0").click();
    settle(&mut ann);
    start_sharing(&mut ann);
    ann.get_by_label("Close window").click();
    until(&mut [&mut ann], "the shared document is confirmed", |w| {
        connected(w[0])
    });
    settle(&mut ann);
    assert!(ann.state().workspace.editor.is_expanded(&at("/tags")));
    assert_eq!(
        ann.state().workspace.editor.selected(),
        Some(&at("/tags/0"))
    );
    assert!(ann.query_by_label("node /tags/0").is_some());
}

#[test]
fn a_shared_document_joined_before_opens_again_from_open_recent() {
    let mut team = Team::new();
    let mut ann = team.window("recent");
    let first = team.target("first");
    join(&mut ann, &first, "Ann");
    until(&mut [&mut ann], "Ann is on the first document", |w| {
        connected(w[0])
    });
    ann.state_mut().workspace.import_patch(START).unwrap();
    until(&mut [&mut ann], "her edit is confirmed", |w| {
        connected(w[0])
    });
    join(&mut ann, &team.target("second"), "Ann");
    until(&mut [&mut ann], "Ann is on the second document", |w| {
        connected(w[0]) && !doc(w[0]).contains("Plan")
    });
    // File → Open recent lists both; the first opens again, as it was.
    ann.get_by_label("File").click();
    settle(&mut ann);
    ann.get_by_label("Open recent").click();
    settle(&mut ann);
    ann.get_by_label(&format!("first on {}", first.relay))
        .click();
    until(&mut [&mut ann], "the first document is back", |w| {
        connected(w[0]) && doc(w[0]).contains("Plan")
    });
    assert_eq!(session(ann.state()).target().doc, "first");
}

#[test]
fn closing_a_window_that_shares_a_document_with_no_file_asks_first() {
    let mut team = Team::without_relay();
    let mut ann = team.window("host-close");
    ann.state_mut().workspace.import_patch(START).unwrap();
    start_sharing(&mut ann);
    ann.get_by_label("Close window").click();
    until(&mut [&mut ann], "the shared document is confirmed", |w| {
        connected(w[0])
    });
    assert!(ann.state().workspace.hosts_unsaved());
    assert!(
        !ann.state().workspace.editor.is_dirty(),
        "nothing unsaved as such"
    );
    request_close(&mut ann);
    assert!(ann.state().workspace.closing, "it asks");
    assert!(ann.query_by_label("Shared from this window").is_some());
    ann.get_by_label("Cancel").click();
    settle(&mut ann);
    assert!(!ann.state().workspace.closing);
    assert!(!ann.state().workspace.close_confirmed());
}
