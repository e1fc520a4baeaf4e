//! A shared document is kept on disk by its changes: after a whole state, the changes the
//! relay confirms and the work not yet confirmed are appended to a journal (no copy of the
//! document on the UI thread), and a window that starts again gets it all back.

use std::path::Path;

use super::{START, Team, connected, doc, join, session, until};

/// The lines of the journal that follows the state in `slot`.
fn journal_lines(slot: &Path) -> usize {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(slot.join("state.json")).unwrap()).unwrap();
    let name = state["journal"].as_str().unwrap();
    std::fs::read_to_string(slot.join(name))
        .unwrap()
        .lines()
        .count()
}

#[test]
fn a_shared_document_is_journaled_by_its_changes_and_comes_back_after_a_restart() {
    let mut team = Team::new();
    let place = team.target("journal");
    let mut ben = team.window("ben-journal");
    join(&mut ben, &place, "Ben");
    until(&mut [&mut ben], "Ben is connected", |w| connected(w[0]));
    ben.state_mut().workspace.import_patch(START).unwrap();
    let mut ann = team.window("ann-journal");
    join(&mut ann, &place, "Ann");
    until(&mut [&mut ann, &mut ben], "Ann has the document", |w| {
        w.iter().all(|a| connected(a)) && doc(w[0]) == doc(w[1])
    });
    // Both edit, one change at a time: Ann's own (acknowledged) and Ben's (applied).
    for n in 0..4 {
        let incr = r#"[{"op": "incr", "path": "/count", "by": 1}]"#;
        let (editor, other) = if n % 2 == 0 {
            (&mut ann, &mut ben)
        } else {
            (&mut ben, &mut ann)
        };
        editor.state_mut().workspace.import_patch(incr).unwrap();
        let count = format!(r#""count":{}"#, 4 + n);
        until(&mut [editor, other], "the change is everywhere", |w| {
            w.iter().all(|a| connected(a) && doc(a).contains(&count))
        });
    }
    until(&mut [&mut ann], "Ann's state is on disk", |w| {
        session(w[0]).saved_locally(&w[0].workspace.editor)
    });
    let slot = session(ann.state()).outbox_dir().unwrap();
    assert!(journal_lines(&slot) > 0, "saved by its changes");
    // The window closes and starts again on the same data: the document is back at once.
    let expected = doc(ann.state());
    assert!(expected.contains(r#""count":7"#), "{expected}");
    drop(ann);
    let mut ann = team.reopen("ann-journal");
    join(&mut ann, &place, "Ann");
    assert_eq!(doc(ann.state()), expected);
    until(&mut [&mut ann, &mut ben], "Ann is back in sync", |w| {
        w.iter().all(|a| connected(a)) && doc(w[0]) == doc(w[1])
    });
}
