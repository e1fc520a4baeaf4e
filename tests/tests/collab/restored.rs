//! A relay whose data directory is restored from an older backup while windows are connected:
//! every window is told and keeps its newer copy; Restore my copy brings that copy back to
//! everyone (other windows that held it follow without asking), Use the relay's takes the
//! relay's, and the outbox follows.

use std::path::Path;

use app::session::Status;
use app::ui::ConcordApp;
use e2e::TestRelay;
use egui_kittest::kittest::Queryable as _;
use sync_core::Value;
use sync_core::protocol::Revision;

use super::{START, Team, Window, connected, doc, join, session, settle, until};

fn status_of(app: &ConcordApp) -> Status {
    session(app).status().clone()
}

fn told_relay_behind(app: &ConcordApp) -> bool {
    matches!(status_of(app), Status::RelayBehind { .. })
}

/// The team's relay stopped, its data directory replaced by `backup` (if any) or copied to
/// `copy`, and started again at the same address: what an operator taking a backup, or
/// restoring an older one, does.
fn restart_relay(team: &mut Team, backup: Option<&Path>, copy: Option<&Path>) {
    let relay = team.relay.take().unwrap();
    let (dir, addr) = (relay.data_dir.clone(), relay.addr);
    team.rt.block_on(relay.stop()).unwrap();
    if let Some(backup) = backup {
        e2e::copy_data_dir(backup, &dir).unwrap();
    }
    if let Some(copy) = copy {
        e2e::copy_data_dir(&dir, copy).unwrap();
    }
    let relay = TestRelay::restart_at(&dir, addr);
    team.relay = Some(team.rt.block_on(relay).unwrap());
}

/// Ann's two windows (on one computer) and Ben's on a relay whose data directory is then
/// restored from a backup taken at r1, after the document went on to r3. Returns the
/// windows (Ann's first).
fn relay_restored_under_three_windows(team: &mut Team, doc_id: &str) -> [Window; 3] {
    // The relay's data outlive it here: it comes back on them.
    let relay_dir = team.dir("relay");
    let relay = TestRelay::start_in(&relay_dir, |_| {});
    team.relay = Some(team.rt.block_on(relay).unwrap());
    let backup = team.dir("backup");
    let place = team.target(doc_id);
    // Ann's second window shares her data directory (it takes the next slot in it).
    let mut ann = team.window("ann");
    let mut ann2 = team.reopen("ann");
    let mut ben = team.window("ben");
    join(&mut ann, &place, "Ann");
    join(&mut ann2, &place, "Ann");
    join(&mut ben, &place, "Ben");
    until(
        &mut [&mut ann, &mut ann2, &mut ben],
        "all are connected",
        |w| w.iter().all(|a| connected(a)),
    );
    ann.state_mut().workspace.import_patch(START).unwrap();
    until(
        &mut [&mut ann, &mut ann2, &mut ben],
        "r1 is everywhere",
        |w| w.iter().all(|a| connected(a) && doc(a) == doc(w[0])),
    );
    // The backup is taken at r1 (the relay stopped for it, and back at once).
    restart_relay(team, None, Some(&backup));
    // r2 and r3.
    until(&mut [&mut ann, &mut ann2, &mut ben], "all are back", |w| {
        w.iter().all(|a| connected(a))
    });
    ann.state_mut()
        .workspace
        .import_patch(r#"[{"op": "replace", "path": "/title", "value": "Newer"}]"#)
        .unwrap();
    until(
        &mut [&mut ann, &mut ann2, &mut ben],
        "r2 is everywhere",
        |w| w.iter().all(|a| connected(a) && doc(a).contains("Newer")),
    );
    ben.state_mut()
        .workspace
        .import_patch(r#"[{"op": "add", "path": "/tags/-", "value": "b"}]"#)
        .unwrap();
    until(
        &mut [&mut ann, &mut ann2, &mut ben],
        "r3 is everywhere",
        |w| {
            w.iter().all(|a| {
                connected(a)
                    && doc(a) == NEWER
                    && a.workspace.editor.replica().rev().map(|r| r.0) == Some(3)
            })
        },
    );
    // The relay's data directory is restored from the backup while the windows are connected.
    restart_relay(team, Some(&backup), None);
    [ann, ann2, ben]
}

/// The document at r3, before the relay lost it.
const NEWER: &str = r#"{"title":"Newer","count":3,"tags":["a","b"]}"#;

#[test]
fn a_relay_restored_from_an_older_copy_is_told_and_restore_my_copy_brings_it_back() {
    let mut team = Team::without_relay();
    let windows = relay_restored_under_three_windows(&mut team, "restore-mine");
    let [mut ann, mut ann2, mut ben] = windows;
    until(
        &mut [&mut ann, &mut ann2, &mut ben],
        "every window is told the relay is behind",
        |w| w.iter().all(|a| told_relay_behind(a)),
    );
    // Nothing was rolled back: every window keeps the newer document.
    for w in [&ann, &ann2, &ben] {
        assert_eq!(doc(w.state()), NEWER);
    }
    assert_eq!(
        team.rt
            .block_on(team.relay().stored("restore-mine"))
            .unwrap()
            .0
            .0,
        1
    );
    // Ann sees what happened, in the notice and the status bar, and both ways on.
    settle(&mut ann);
    assert!(
        ann.query_by_label_contains("it has r1 of this document, this window has r3")
            .is_some()
    );
    assert!(
        ann.query_by_label(
            "connection: the relay is behind: it has r1, this window r3; not syncing"
        )
        .is_some()
    );
    assert!(ann.query_by_label("Use the relay's").is_some());
    // Ben goes on working meanwhile: kept in his window, not sent.
    ben.state_mut()
        .workspace
        .import_patch(r#"[{"op": "incr", "path": "/count", "by": 1}]"#)
        .unwrap();
    until(&mut [&mut ben], "Ben's edit is saved locally", |w| {
        session(w[0]).saved_locally(&w[0].workspace.editor)
    });
    ben.step();
    assert!(told_relay_behind(ben.state()));
    assert!(
        ben.query_by_label("sync: 1 unconfirmed, saved locally")
            .is_some()
    );
    // Ann restores her copy: one change on top of r1. Her other window and Ben's, which had
    // confirmed the same copy, take it without being asked again; Ben's edit follows.
    ann.get_by_label("Restore my copy").click();
    let expected = r#"{"title":"Newer","count":4,"tags":["a","b"]}"#;
    until(
        &mut [&mut ann, &mut ann2, &mut ben],
        "everyone has Ann's copy and Ben's edit",
        |w| w.iter().all(|a| connected(a) && doc(a) == expected),
    );
    assert_eq!(
        team.rt
            .block_on(team.relay().stored("restore-mine"))
            .unwrap(),
        (Revision(3), Value::parse(expected).unwrap())
    );
    settle(&mut ann2);
    assert!(
        ann2.query_by_label("Restore my copy").is_none(),
        "the notice is gone"
    );
    assert_eq!(
        ann2.state().workspace.message.as_deref(),
        Some("the relay has this window's copy again: back in sync")
    );
}

#[test]
fn a_relay_restored_from_an_older_copy_is_told_and_use_the_relays_takes_its_copy() {
    let mut team = Team::without_relay();
    let windows = relay_restored_under_three_windows(&mut team, "use-relays");
    let [mut ann, mut ann2, mut ben] = windows;
    until(
        &mut [&mut ann, &mut ann2, &mut ben],
        "every window is told the relay is behind",
        |w| w.iter().all(|a| told_relay_behind(a)),
    );
    // Ann makes an edit while she decides; then takes the relay's copy. Her edit applies on it.
    ann.state_mut()
        .workspace
        .import_patch(r#"[{"op": "incr", "path": "/count", "by": 1}]"#)
        .unwrap();
    settle(&mut ann);
    ann.get_by_label("Use the relay's").click();
    let relays = r#"{"title":"Plan","count":4,"tags":["a"]}"#;
    until(
        &mut [&mut ann],
        "Ann has the relay's copy and her edit is confirmed",
        |w| connected(w[0]) && doc(w[0]) == relays,
    );
    // Her other window and Ben's are still asked (they hold r3, which the relay lost), until
    // they choose too.
    settle(&mut ben);
    assert!(told_relay_behind(ann2.state()) && told_relay_behind(ben.state()));
    assert_eq!(doc(ben.state()), NEWER);
    ben.get_by_label("Use the relay's").click();
    ann2.get_by_label("Use the relay's").click();
    until(
        &mut [&mut ann, &mut ann2, &mut ben],
        "every window has the relay's copy",
        |w| w.iter().all(|a| connected(a) && doc(a) == relays),
    );
    assert_eq!(
        team.rt.block_on(team.relay().stored("use-relays")).unwrap(),
        (Revision(2), Value::parse(relays).unwrap())
    );
    // What Ann's window keeps on disk followed: started again, it has the relay's copy at its
    // revision, and the relay is not behind it.
    until(&mut [&mut ann], "Ann's state is saved", |w| {
        session(w[0]).saved_locally(&w[0].workspace.editor)
    });
    let place = session(ann.state()).target().clone();
    drop(ann);
    let mut ann = team.reopen("ann");
    join(&mut ann, &place, "Ann");
    assert_eq!(
        doc(ann.state()),
        relays,
        "from the outbox, before connecting"
    );
    assert_eq!(
        ann.state().workspace.editor.replica().rev().map(|r| r.0),
        Some(2)
    );
    until(&mut [&mut ann], "Ann is connected", |w| connected(w[0]));
    assert_eq!(doc(ann.state()), relays);
}
