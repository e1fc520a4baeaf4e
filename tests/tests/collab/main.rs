//! Collaboration end to end: two or three real editor windows (egui_kittest harnesses of the
//! app, driven through their accessibility tree where a person would click or type) on one
//! document, through a relay on a real socket.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::time::{Duration, Instant};

use app::editor::{Editor, ValueKind};
use app::session::{Status, Target};
use app::ui::ConcordApp;
use e2e::{TestRelay, temp_dir};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use sync_core::{Pointer, Value};

mod failover;
mod history;
mod journal;
mod large;
mod offline_losses;
mod restored;
mod revoked;
mod sharing;
mod team;
mod tls;
mod waiting;

use team::Team;

type Window = Harness<'static, ConcordApp>;

/// A window with its own data directory (as if on its own computer).
fn window(runtime: &tokio::runtime::Runtime, data: &Path) -> Window {
    let handle = runtime.handle().clone();
    let data = data.to_path_buf();
    let mut window = Harness::builder()
        .with_size(egui::vec2(900.0, 600.0))
        .build_eframe(move |cc| {
            let editor = Editor::new(Value::parse("{}").unwrap(), None, Default::default());
            ConcordApp::new(editor)
                .with_context(&cc.egui_ctx)
                .with_collaboration(handle, Some(data))
        });
    window.step();
    window
}

/// Steps every window until `done` holds for them (or fails after 15 s, saying `what`).
fn until(windows: &mut [&mut Window], what: &str, done: impl Fn(&[&ConcordApp]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        for window in windows.iter_mut() {
            window.step();
        }
        let states: Vec<&ConcordApp> = windows.iter().map(|w| w.state()).collect();
        if done(&states) {
            return;
        }
        if Instant::now() > deadline {
            let seen: Vec<String> = states
                .iter()
                .map(|a| format!("{} ({:?})", doc(a), a.workspace.message))
                .collect();
            panic!("timed out waiting until {what}; the windows have {seen:#?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Clicks into the field named `label` and types `text`.
fn type_into(window: &mut Window, label: &str, text: &str) {
    window.get_by_label(label).click();
    window.step();
    window.get_by_label(label).type_text(text);
    window.step();
}

/// Opens Share (Ctrl+Shift+I) and starts sharing the open document from the window; the
/// dialog stays open, with the invite.
fn start_sharing(window: &mut Window) {
    window.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::I,
    );
    settle(window);
    window.get_by_label("Start sharing").click();
    settle(window);
}

/// What the window system sends when the user closes the window, and the frames after it.
fn request_close(window: &mut Window) {
    window
        .input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    settle(window);
}

/// A few frames, for layout that depends on the previous frame.
fn settle(window: &mut Window) {
    for _ in 0..3 {
        window.step();
    }
}

fn connected(app: &ConcordApp) -> bool {
    let session = app.workspace.session.as_ref();
    let synced = app.workspace.editor.replica().pending() == 0;
    synced && session.is_some_and(|s| matches!(s.status(), Status::Connected { .. }))
}

/// The window's session (it has one).
fn session(app: &ConcordApp) -> &app::session::Session {
    app.workspace.session.as_ref().unwrap()
}

fn doc(app: &ConcordApp) -> String {
    app.workspace.editor.doc().to_json()
}

fn at(path: &str) -> Pointer {
    Pointer::parse(path).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    app::launch::runtime().unwrap()
}

fn join(window: &mut Window, target: &Target, name: &str) {
    window
        .state_mut()
        .workspace
        .join(target.clone(), name)
        .unwrap();
}

fn target(relay: &TestRelay, doc: &str) -> Target {
    Target {
        relay: relay.url(),
        doc: doc.to_owned(),
        token: None,
    }
}

const START: &str = r#"[{"op": "add", "path": "/title", "value": "Plan"}, {"op": "add", "path": "/count", "value": 3}, {"op": "add", "path": "/tags", "value": ["a"]}]"#;

#[test]
fn a_shared_document_converges_as_people_type() {
    let mut team = Team::without_relay();
    let mut ann = team.window("ann");
    ann.state_mut().workspace.import_patch(START).unwrap();
    // Ann shares the document from her window and copies the invite.
    start_sharing(&mut ann);
    ann.get_by_label("Copy invite").click();
    ann.step();
    let invite = ann.state().workspace.copied.clone().unwrap();
    ann.get_by_label("Close window").click();
    settle(&mut ann);
    assert!(ann.state().workspace.sharing.is_none());
    assert!(invite.starts_with("concord --relay ws://"), "{invite}");
    // Ben pastes it into his Connect dialog.
    let mut ben = team.window("ben");
    ben.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::K);
    settle(&mut ben);
    type_into(&mut ben, "invite", &invite);
    type_into(&mut ben, "your name", "Ben");
    ben.get_by_label("Use invite").click();
    settle(&mut ben);
    ben.get_by_label("Connect").click();
    ben.step();
    assert!(
        ben.state().workspace.connect.is_none(),
        "{:?}",
        ben.state().workspace.connect
    );
    until(
        &mut [&mut ann, &mut ben],
        "both are connected and agree",
        |w| w.iter().all(|a| connected(a)) && doc(w[0]) == doc(w[1]),
    );
    assert_eq!(
        doc(ben.state()),
        r#"{"title":"Plan","count":3,"tags":["a"]}"#
    );
    settle(&mut ann);
    assert!(ann.query_by_label("person Ben").is_some());
    assert_eq!(
        ben.state()
            .workspace
            .settings
            .last_connection
            .as_ref()
            .map(Target::invite),
        Some(invite),
        "the connection is remembered"
    );
    // Ben types into the title; Ann types into it too, at the same time.
    ben.get_by_label("node /title").click();
    ben.step();
    // (A field opens with its text selected: End goes after it.)
    ben.key_press(egui::Key::Enter);
    ben.step();
    ben.key_press(egui::Key::End);
    ben.step();
    ben.get_by_label("edit /title").type_text(" B");
    ann.get_by_label("node /title").click();
    ann.step();
    ann.key_press(egui::Key::Enter);
    ann.step();
    ann.key_press(egui::Key::End);
    ann.step();
    ann.get_by_label("edit /title").type_text("!");
    until(
        &mut [&mut ann, &mut ben],
        "both typings reach both windows",
        |w| w.iter().all(|a| connected(a)) && doc(w[0]) == doc(w[1]),
    );
    let title = at("/title")
        .resolve(ann.state().workspace.editor.doc())
        .unwrap()
        .to_json();
    assert!(title.contains(" B") && title.contains('!'), "{title}");
    // Ann's field shows Ben's typing while she is still in it.
    let editing = ann.state().workspace.editing.as_ref().unwrap();
    assert_eq!(Value::from(editing.text.as_str()).to_json(), title);
}

#[test]
fn the_connect_dialog_says_what_is_wrong_and_connects_nothing() {
    let mut team = Team::without_relay();
    let mut ann = team.window("ann");
    ann.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::K);
    settle(&mut ann);
    type_into(&mut ann, "relay address", "http://example.com");
    type_into(&mut ann, "document id", "doc");
    ann.get_by_label("Connect").click();
    settle(&mut ann);
    assert!(ann.query_by_label_contains("starts with ws://").is_some());
    assert!(ann.state().workspace.session.is_none());
    type_into(&mut ann, "invite", "concord --bogus");
    ann.get_by_label("Use invite").click();
    settle(&mut ann);
    assert!(ann.query_by_label_contains("not \"--bogus\"").is_some());
}

#[test]
fn presence_appears_and_disappears() {
    let mut team = Team::new();
    let mut ann = team.member("presence", "Ann");
    ann.state_mut().workspace.import_patch(START).unwrap();
    let mut ben = team.member("presence", "Ben");
    until(&mut [&mut ann, &mut ben], "Ben has the document", |w| {
        connected(w[1]) && doc(w[0]) == doc(w[1])
    });
    assert!(ben.query_by_label("person Ben (you)").is_some());
    assert!(ben.query_by_label("person Ann").is_some());
    // Ann selects the title: Ben sees her tag on that row.
    ann.get_by_label("node /title").click();
    until(&mut [&mut ann, &mut ben], "Ben sees where Ann is", |w| {
        session(w[1])
            .peers()
            .iter()
            .any(|p| p.name == "Ann" && p.selection == Some(at("/title")))
    });
    ben.step();
    assert!(ben.query_by_label("Ann is at /title").is_some());
    // Ann starts editing it: her tag says so, with her caret in the string.
    ann.key_press(egui::Key::Enter);
    until(&mut [&mut ann, &mut ben], "Ben sees Ann's caret", |w| {
        session(w[1]).peers().iter().any(|p| p.caret == Some(4))
    });
    ben.step();
    assert!(ben.query_by_label("Ann is editing /title").is_some());
    // Ann leaves: her tag and her entry go.
    drop(ann);
    until(&mut [&mut ben], "Ann is gone from Ben's list", |w| {
        session(w[0]).peers().len() == 1
    });
    ben.step();
    assert!(ben.query_by_label("person Ann").is_none());
    assert!(ben.query_by_label("Ann is editing /title").is_none());
}

#[test]
fn an_edit_in_progress_follows_its_node_when_others_insert_above_it() {
    let mut team = Team::new();
    let mut ann = team.member("follow", "Ann");
    ann.state_mut()
        .workspace
        .import_patch(r#"[{"op": "add", "path": "/list", "value": ["x", "y"]}]"#)
        .unwrap();
    let mut ben = team.member("follow", "Ben");
    until(&mut [&mut ann, &mut ben], "both agree", |w| {
        w.iter().all(|a| connected(a)) && doc(w[0]) == doc(w[1])
    });
    // Ann edits the second item, "y"; Ben inserts two items in front of it.
    ann.get_by_label("Expand /list").click();
    settle(&mut ann);
    ann.get_by_label("node /list/1").click();
    ann.step();
    ann.key_press(egui::Key::Enter);
    ann.step();
    ann.key_press(egui::Key::End);
    ann.step();
    ann.get_by_label("edit /list/1").type_text("1");
    ben.state_mut()
        .workspace
        .import_patch(r#"[{"op": "add", "path": "/list/0", "value": "a"}, {"op": "add", "path": "/list/0", "value": "b"}]"#)
        .unwrap();
    until(&mut [&mut ann, &mut ben], "Ben's items reach Ann", |w| {
        w.iter().all(|a| connected(a)) && doc(w[0]).contains(r#""a""#)
    });
    // Her field moved with "y" (now the fourth item), and her typing still lands in it.
    assert_eq!(
        ann.state().workspace.editing.as_ref().unwrap().path,
        at("/list/3")
    );
    assert_eq!(
        ann.state().workspace.editor.selected(),
        Some(&at("/list/3"))
    );
    settle(&mut ann);
    ann.get_by_label("edit /list/3").type_text("2");
    until(&mut [&mut ann, &mut ben], "the typing reaches Ben", |w| {
        w.iter()
            .all(|a| connected(a) && doc(a) == r#"{"list":["b","a","x","y12"]}"#)
    });
}

#[test]
fn a_lost_edit_shows_in_the_losers_panel_and_restore_mine_brings_it_back() {
    let mut team = Team::new();
    let mut ann = team.member("conflict", "Ann");
    ann.state_mut().workspace.import_patch(START).unwrap();
    let mut ben = team.member("conflict", "Ben");
    let mut cleo = team.member("conflict", "Cleo");
    until(
        &mut [&mut ann, &mut ben, &mut cleo],
        "all three agree",
        |w| w.iter().all(|a| connected(a)) && w.iter().all(|a| doc(a) == doc(w[0])),
    );
    // Ann sets the count and the relay confirms it; Ben sets it too, concurrently (his window
    // has not heard of Ann's change yet): Ben's comes second and wins.
    ann.state_mut()
        .workspace
        .editor
        .set_scalar(&at("/count"), ValueKind::Number, "10")
        .unwrap();
    until(&mut [&mut ann], "Ann's change is confirmed", |w| {
        connected(w[0])
    });
    ben.state_mut()
        .workspace
        .editor
        .set_scalar(&at("/count"), ValueKind::Number, "20")
        .unwrap();
    until(
        &mut [&mut ann, &mut ben, &mut cleo],
        "Ben's value is everywhere",
        |w| {
            w.iter()
                .all(|a| connected(a) && doc(a).contains(r#""count":20"#))
        },
    );
    // Ann, whose value lost, is told and sees it in her conflicts panel; Ben and Cleo are not.
    assert_eq!(session(ann.state()).lost.len(), 1);
    for other in [&ben, &cleo] {
        assert!(session(other.state()).lost.is_empty());
    }
    ann.step();
    ann.get_by_label("Show conflicts").click();
    // The notice goes once the panel shows: let the layout settle before clicking in it.
    settle(&mut ann);
    assert!(ann.query_by_label_contains("your value: 10").is_some());
    assert!(ann.query_by_label_contains("won: Ben").is_some());
    ann.get_by_label("restore mine at /count").click();
    until(
        &mut [&mut ann, &mut ben, &mut cleo],
        "Ann's value is back everywhere",
        |w| {
            w.iter()
                .all(|a| connected(a) && doc(a).contains(r#""count":10"#))
        },
    );
    ann.step();
    assert!(ann.query_by_label("restored").is_some());
}

#[test]
fn offline_edits_survive_a_restart_and_sync_exactly_once() {
    let mut team = Team::new();
    let place = team.target("offline");
    let mut ben = team.member("offline", "Ben");
    ben.state_mut().workspace.import_patch(START).unwrap();
    let mut ann = team.window("ann");
    join(&mut ann, &place, "Ann");
    until(&mut [&mut ann, &mut ben], "Ann has the document", |w| {
        w.iter().all(|a| connected(a)) && doc(w[0]) == doc(w[1])
    });
    // Ann works offline: two increments and a new tag, saved locally, never sent.
    ann.state_mut()
        .workspace
        .apply(app::workspace::Intent::Command(
            app::commands::Command::ToggleOffline,
        ));
    until(&mut [&mut ann], "Ann is offline", |w| {
        matches!(session(w[0]).status(), Status::Offline { .. })
    });
    let incr = r#"[{"op": "incr", "path": "/count", "by": 1}]"#;
    ann.state_mut().workspace.import_patch(incr).unwrap();
    ann.state_mut().workspace.import_patch(incr).unwrap();
    ann.state_mut()
        .workspace
        .import_patch(r#"[{"op": "add", "path": "/tags/-", "value": "offline"}]"#)
        .unwrap();
    until(&mut [&mut ann], "Ann's edits are saved locally", |w| {
        session(w[0]).saved_locally(&w[0].workspace.editor)
    });
    ann.step();
    assert!(
        ann.query_by_label_contains("unconfirmed, saved locally")
            .is_some()
    );
    // The window closes and starts again on the same data.
    std::mem::drop(ann);
    assert!(
        doc(ben.state()).contains(r#""count":3"#),
        "nothing was sent"
    );
    let mut ann = team.reopen("ann");
    join(&mut ann, &place, "Ann");
    assert_eq!(
        doc(ann.state()),
        r#"{"title":"Plan","count":5,"tags":["a","offline"]}"#,
        "the edits are back at once, before any connection"
    );
    until(
        &mut [&mut ann, &mut ben],
        "the offline edits reach Ben",
        |w| w.iter().all(|a| connected(a)) && doc(w[1]).contains("offline"),
    );
    // Exactly once: the increments counted once each, the tag added once.
    let expected = r#"{"title":"Plan","count":5,"tags":["a","offline"]}"#;
    assert_eq!(doc(ben.state()), expected);
    assert_eq!(doc(ann.state()), expected);
    // A change in flight when the window goes is not applied twice either: the restarted
    // window learns from the relay that it arrived.
    ann.state_mut().workspace.import_patch(incr).unwrap();
    ann.step();
    std::mem::drop(ann);
    let mut ann = team.reopen("ann");
    join(&mut ann, &place, "Ann");
    until(
        &mut [&mut ann, &mut ben],
        "the change in flight is settled",
        |w| w.iter().all(|a| connected(a)) && doc(w[0]) == doc(w[1]),
    );
    let after = team
        .rt
        .block_on(team.relay().stored("offline"))
        .unwrap()
        .1
        .to_json();
    assert!(after.contains(r#""count":6"#), "{after}");
    assert_eq!(doc(ben.state()), after);
}

#[test]
fn a_window_reconnects_by_itself_when_the_relay_comes_back() {
    // The relay's data outlives it here: it comes back on them.
    let mut team = Team::without_relay();
    let relay_dir = team.dir("relay");
    let relay = TestRelay::start_in(&relay_dir, |_| {});
    team.relay = Some(team.rt.block_on(relay).unwrap());
    let addr = team.relay().addr;
    let mut ann = team.member("comeback", "Ann");
    let mut ben = team.member("comeback", "Ben");
    ann.state_mut().workspace.import_patch(START).unwrap();
    until(&mut [&mut ann, &mut ben], "Ben has the document", |w| {
        connected(w[0]) && doc(w[1]) == doc(w[0])
    });
    // The relay goes away: both windows count down to their next attempt, and edits go on.
    let relay = team.relay.take().unwrap();
    team.rt.block_on(relay.stop()).unwrap();
    until(&mut [&mut ann, &mut ben], "both are reconnecting", |w| {
        w.iter()
            .all(|a| matches!(session(a).status(), Status::Reconnecting { .. }))
    });
    ann.step();
    assert!(
        ann.query_by_label_contains("connection: reconnecting in")
            .is_some()
    );
    ann.state_mut()
        .workspace
        .import_patch(r#"[{"op": "replace", "path": "/title", "value": "While away"}]"#)
        .unwrap();
    until(&mut [&mut ann], "the edit is saved locally", |w| {
        session(w[0]).saved_locally(&w[0].workspace.editor)
    });
    ann.step();
    assert!(
        ann.query_by_label("sync: 1 unconfirmed, saved locally")
            .is_some()
    );
    // It comes back at the same address: the windows reconnect on their own and converge.
    let relay = TestRelay::restart_at(&relay_dir, addr);
    team.relay = Some(team.rt.block_on(relay).unwrap());
    until(&mut [&mut ann, &mut ben], "both are back and agree", |w| {
        w.iter().all(|a| connected(a)) && doc(w[1]).contains("While away")
    });
    assert_eq!(doc(ann.state()), doc(ben.state()));
}

#[test]
fn unsynced_changes_export_as_a_plain_patch_and_import_as_one_change() {
    let rt = runtime();
    let dir = temp_dir("patch");
    let mut ann = window(&rt, &dir);
    // A document edited alone: every edit since it was opened is unsynced.
    assert!(
        ann.state().workspace.unsynced_patch().is_err(),
        "nothing yet"
    );
    ann.state_mut().workspace.import_patch(START).unwrap();
    ann.state_mut()
        .workspace
        .import_patch(r#"[{"op": "incr", "path": "/count", "by": 2}, {"op": "splice", "path": "/title", "pos": 4, "del": 0, "ins": "s"}]"#)
        .unwrap();
    let patch = ann.state().workspace.unsynced_patch().unwrap();
    // Plain RFC 6902: Concord's own operations are written as the replaces they amount to.
    assert!(
        !patch.contains("incr") && !patch.contains("splice"),
        "{patch}"
    );
    let mut doc_copy = Value::parse("{}").unwrap();
    sync_core::apply::apply(
        &mut doc_copy,
        &sync_core::Change::from_json(&patch).unwrap().0,
    )
    .unwrap();
    assert_eq!(&doc_copy, ann.state().workspace.editor.doc());
    // A bad patch changes nothing and says why.
    let before = doc(ann.state());
    let error = ann
        .state_mut()
        .workspace
        .import_patch(r#"[{"op": "replace", "path": "/missing/x", "value": 1}]"#)
        .unwrap_err();
    assert!(error.contains("does not apply"), "{error}");
    assert!(
        ann.state_mut()
            .workspace
            .import_patch("{ not json")
            .is_err()
    );
    assert_eq!(doc(ann.state()), before);
    drop(ann);
}
