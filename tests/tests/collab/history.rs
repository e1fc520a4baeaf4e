//! History from real windows: typing is listed and reverted a word at a time, a change is
//! reverted, viewed and restored, and the changes since a revision exported.

use egui_kittest::kittest::Queryable as _;

use super::{START, Team, Window, connected, doc, join, session, settle, until};

/// Types `text` into the open field of `typist` a key a frame, as a person does: each key
/// is acknowledged by the relay, and seen by `reader`, before the next.
fn type_slowly(typist: &mut Window, reader: &mut Window, text: &str) {
    let mut typed = String::new();
    for c in text.chars() {
        typed.push(c);
        typist.get_by_label("edit /title").type_text(&c.to_string());
        typist.step();
        until(&mut [typist, reader], "the key is everywhere", |w| {
            connected(w[0]) && doc(w[1]).contains(&typed)
        });
    }
}

#[test]
fn typing_is_listed_and_reverted_a_word_at_a_time() {
    let mut team = Team::new();
    let (mut ann, mut ben) = (team.window("ann-words"), team.window("ben-words"));
    join(&mut ann, &team.target("words"), "Ann");
    join(&mut ben, &team.target("words"), "Ben");
    until(&mut [&mut ann, &mut ben], "both are connected", |w| {
        w.iter().all(|a| connected(a))
    });
    ann.state_mut().workspace.import_patch(START).unwrap();
    until(&mut [&mut ann, &mut ben], "r1 is everywhere", |w| {
        doc(w[1]).contains("Plan")
    });
    // Ann types " big day" after the title, each key reaching Ben as she types it.
    ann.get_by_label("node /title").click();
    ann.step();
    ann.key_press(egui::Key::Enter);
    ann.step();
    ann.key_press(egui::Key::End);
    ann.step();
    type_slowly(&mut ann, &mut ben, " big day");
    ann.key_press(egui::Key::Enter);
    ann.step();
    // Eight changes, r2 to r9; the history lists them by word: " ", "big ", "day".
    assert_eq!(
        team.rt.block_on(team.relay().stored("words")).unwrap().0.0,
        9
    );
    ben.state_mut()
        .workspace
        .apply(app::workspace::Intent::Command(
            app::commands::Command::History,
        ));
    until(&mut [&mut ben], "the history lists r9", |w| {
        session(w[0]).history.commits.len() == 9
    });
    settle(&mut ben);
    for entry in ["revert r7–r9", "revert r3–r6", "revert r2", "revert r1"] {
        assert!(ben.query_by_label(entry).is_some(), "{entry} is listed");
    }
    assert_eq!(ben.query_all_by_label_contains("Ann ·").count(), 4);
    assert!(ben.query_by_label(r#"typed "big " in /title"#).is_some());
    // Reverting "big " takes the word out for everyone, as one change.
    ben.get_by_label("revert r3–r6").click();
    let expected = r#"{"title":"Plan day","count":3,"tags":["a"]}"#;
    until(&mut [&mut ann, &mut ben], "the revert is everywhere", |w| {
        w.iter().all(|a| connected(a) && doc(a) == expected)
    });
    assert_eq!(
        team.rt.block_on(team.relay().stored("words")).unwrap().0.0,
        10
    );
}

#[test]
fn reverting_a_change_from_history_reaches_every_window() {
    let mut team = Team::new();
    let (mut ann, mut ben) = (team.window("ann"), team.window("ben"));
    join(&mut ann, &team.target("history"), "Ann");
    join(&mut ben, &team.target("history"), "Ben");
    until(&mut [&mut ann, &mut ben], "both are connected", |w| {
        w.iter().all(|a| connected(a))
    });
    // r1: the starting document; r2: Ann renames the plan; r3: Ben adds a tag.
    ann.state_mut().workspace.import_patch(START).unwrap();
    until(&mut [&mut ann, &mut ben], "r1 is everywhere", |w| {
        doc(w[1]).contains("Plan")
    });
    ann.state_mut()
        .workspace
        .import_patch(r#"[{"op": "replace", "path": "/title", "value": "Launch"}]"#)
        .unwrap();
    until(&mut [&mut ann, &mut ben], "r2 is everywhere", |w| {
        doc(w[1]).contains("Launch")
    });
    ben.state_mut()
        .workspace
        .import_patch(r#"[{"op": "add", "path": "/tags/-", "value": "b"}]"#)
        .unwrap();
    until(&mut [&mut ann, &mut ben], "r3 is everywhere", |w| {
        w.iter().all(|a| connected(a)) && doc(w[0]).contains(r#""b""#)
    });
    // Ben opens the history and reverts r2 alone.
    ben.state_mut()
        .workspace
        .apply(app::workspace::Intent::Command(
            app::commands::Command::History,
        ));
    until(&mut [&mut ben], "the history lists r3", |w| {
        session(w[0]).history.commits.len() == 3
    });
    ben.step();
    assert!(ben.query_by_label_contains("set /title").is_some());
    assert_eq!(ben.query_all_by_label_contains("Ann ·").count(), 2);
    ben.get_by_label("revert r2").click();
    let expected = r#"{"title":"Plan","count":3,"tags":["a","b"]}"#;
    until(&mut [&mut ann, &mut ben], "the revert is everywhere", |w| {
        w.iter().all(|a| connected(a) && doc(a) == expected)
    });
    // Viewing r1 shows it read-only, and restoring it is a new change for everyone.
    until(&mut [&mut ben], "the history lists the revert", |w| {
        session(w[0]).history.commits.len() == 4
    });
    settle(&mut ben);
    assert!(
        ben.query_by_label("reverted r2 (set /title)").is_some(),
        "the status bar says so"
    );
    ben.get_by_label("view r1").click();
    until(&mut [&mut ben], "r1 is shown", |w| {
        session(w[0]).history.viewing.is_some()
    });
    // A window sizes itself in its first frame, unseen.
    settle(&mut ben);
    assert!(
        ben.query_by_label("The document as it was at r1 (read-only)")
            .is_some()
    );
    ben.get_by_label("restore r1").click();
    let r1 = r#"{"title":"Plan","count":3,"tags":["a"]}"#;
    until(
        &mut [&mut ann, &mut ben],
        "r1 is restored everywhere",
        |w| w.iter().all(|a| connected(a) && doc(a) == r1),
    );
    assert_eq!(
        team.rt
            .block_on(team.relay().stored("history"))
            .unwrap()
            .0
            .0,
        5
    );
    // The changes since r1 can be exported as a patch file (the file dialog takes it).
    until(&mut [&mut ben], "the history lists r5", |w| {
        session(w[0]).history.commits.len() == 5
    });
    settle(&mut ben);
    ben.get_by_label("export since r1").click();
    until(&mut [&mut ben], "the export is ready", |w| {
        w[0].workspace.message.as_deref() == Some("choose where to save the 4 changes since r1")
    });
}

/// A long history, mostly no longer in the relay's memory: the panel lists the latest page,
/// pages back to the first change, and reverts an old change (its later changes fetched a page
/// at a time) as one new change.
#[test]
fn the_history_panel_pages_back_to_the_first_change_and_reverts_an_old_one() {
    let mut team = Team::with(|c| {
        c.documents.retained_changes = 10;
        c.documents.snapshot_every = 50;
    });
    let mut ann = team.window("long-history");
    join(&mut ann, &team.target("long"), "Ann");
    until(&mut [&mut ann], "Ann is connected", connected_all);
    // r1 adds /first; r2 to r1201 count up /n, each confirmed before the next.
    ann.state_mut()
        .workspace
        .import_patch(r#"[{"op": "add", "path": "/first", "value": true}, {"op": "add", "path": "/n", "value": 0}]"#)
        .unwrap();
    until(&mut [&mut ann], "r1 is confirmed", connected_all);
    for _ in 0..1200 {
        ann.state_mut()
            .workspace
            .import_patch(r#"[{"op": "incr", "path": "/n", "by": 1}]"#)
            .unwrap();
        until(&mut [&mut ann], "the change is confirmed", connected_all);
    }
    ann.state_mut()
        .workspace
        .apply(app::workspace::Intent::Command(
            app::commands::Command::History,
        ));
    until(&mut [&mut ann], "the latest page is listed", |w| {
        session(w[0]).history.commits.len() == 200
    });
    // Show older, until the first change is there.
    while session(ann.state()).history.has_older() {
        let before = session(ann.state()).history.commits.len();
        settle(&mut ann);
        ann.get_by_label("show older changes").click();
        until(&mut [&mut ann], "an older page came", |w| {
            session(w[0]).history.commits.len() > before
        });
    }
    let history = &session(ann.state()).history;
    assert_eq!(history.commits.len(), 1201);
    assert_eq!(history.commits[0].rev.0, 1);
    // Reverting r1 needs the document before it and all 1,200 changes since: it takes /first
    // (and /n, which r1 added) back out, as one change.
    settle(&mut ann);
    ann.get_by_label("revert r1").click();
    until(&mut [&mut ann], "the revert is confirmed", |w| {
        connected(w[0]) && doc(w[0]) == "{}"
    });
    assert_eq!(
        team.rt.block_on(team.relay().stored("long")).unwrap().0.0,
        1202
    );
}

fn connected_all(windows: &[&app::ui::ConcordApp]) -> bool {
    windows.iter().all(|a| connected(a))
}
