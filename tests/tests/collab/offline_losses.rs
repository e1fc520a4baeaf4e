//! The three ways issue 11 says work was lost without a word, as people run into them: one
//! window works offline (Ctrl+Shift+O) while the other changes the same place, then comes back
//! online. Every loss reaches the loser's notice and Conflicts panel, deleted members stay
//! deleted, and "Restore mine" puts the lost value back everywhere. Then the same
//! through a network that fails under a window while its change is in flight, both ways: the
//! change never reached the relay, or its confirmation never came back ([`Line`], a TCP
//! forwarder between one window and the relay, holds and cuts the connection).

use std::net::SocketAddr;

use app::session::Status;
use app::ui::ConcordApp;
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable as _;
use sync_core::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::watch;

use super::{Team, Window, at, connected, join, session, settle, until};

/// Ann's and Ben's windows (each with a data directory of its own) on the sample document at
/// `doc_id`, connected and agreeing. `ben_via` is the relay address Ben's window uses.
fn ann_and_ben(team: &mut Team, doc_id: &str, ben_via: Option<SocketAddr>) -> (Window, Window) {
    let mut ann = team.member(doc_id, "Ann");
    let sample = Value::parse(app::launch::SAMPLE).unwrap();
    ann.state_mut()
        .workspace
        .editor
        .replace_with(&sample)
        .unwrap();
    let mut place = team.target(doc_id);
    if let Some(addr) = ben_via {
        place.relay = format!("ws://{addr}");
    }
    let mut ben = team.window("ben");
    join(&mut ben, &place, "Ben");
    until(&mut [&mut ann, &mut ben], "both have the sample", |w| {
        w.iter()
            .all(|a| connected(a) && a.workspace.editor.doc() == &sample)
    });
    settle(&mut ann);
    settle(&mut ben);
    (ann, ben)
}

/// The value at `path` as JSON, or `None` where there is none.
fn value_at(app: &ConcordApp, path: &str) -> Option<String> {
    at(path)
        .resolve(app.workspace.editor.doc())
        .map(Value::to_json)
}

fn offline(app: &ConcordApp) -> bool {
    matches!(session(app).status(), Status::Offline { .. })
}

fn reconnecting(app: &ConcordApp) -> bool {
    matches!(session(app).status(), Status::Reconnecting { .. })
}

/// Work offline / go online, from the keyboard.
fn toggle_offline(window: &mut Window) {
    window.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::O);
    window.step();
}

/// After the network came back: clicks "Reconnect now" in the status bar, unless the window's
/// own next attempt has already begun (its wait grows while the network is down, and may end
/// first on a busy machine).
fn reconnect_now(window: &mut Window) {
    settle(window);
    if let Some(button) = window.query_by_label("Reconnect now") {
        button.click();
    }
}

/// Sets the value at `path` as a person does: clicks its row, opens it (Enter), selects the
/// text in the field (Ctrl+A), types `text` over it and presses Enter.
fn set_value(window: &mut Window, path: &str, text: &str) {
    let before = value_at(window.state(), path);
    window.get_by_label(&format!("node {path}")).click();
    window.step();
    window.key_press(Key::Enter);
    window.step();
    window.key_press_modifiers(Modifiers::COMMAND, Key::A);
    // One key at a time, a frame each, as a person types: each keystroke is its own edit.
    for key in text.chars() {
        window
            .get_by_label(&format!("edit {path}"))
            .type_text(&key.to_string());
        window.step();
    }
    window.key_press(Key::Enter);
    window.step();
    assert!(
        window.state().workspace.editing.is_none(),
        "the edit is committed"
    );
    assert_ne!(
        value_at(window.state(), path),
        before,
        "{path} changed ({:?})",
        window.state().workspace.message
    );
}

/// Deletes the node at `path` as a person does: clicks its row and presses Delete.
fn delete(window: &mut Window, path: &str) {
    window.get_by_label(&format!("node {path}")).click();
    window.step();
    window.key_press(Key::Delete);
    window.step();
}

/// How many of the window's edits lost, as its session counts them.
fn lost(window: &Window) -> usize {
    session(window.state()).lost.len()
}

/// Checks that the window shows its conflict notice, and that the notice (or the status bar,
/// which shows the latest notice too) says `what`.
fn told(window: &Window, what: &str) {
    assert!(
        window.query_by_label("Show conflicts").is_some(),
        "the notice shows"
    );
    assert!(
        window.query_all_by_label_contains(what).next().is_some(),
        "it says {what:?}"
    );
}

/// Opens the Conflicts panel from the notice's button, and lets the layout settle.
fn show_conflicts(window: &mut Window) {
    window.get_by_label("Show conflicts").click();
    settle(window);
    assert!(
        window.query_by_label("Show conflicts").is_none(),
        "the notice goes"
    );
    assert!(window.query_by_label_contains("Conflicts (").is_some());
}

#[test]
fn an_offline_overwrite_wins_and_the_synced_value_it_replaced_is_listed_and_restorable() {
    let mut team = Team::new();
    let (mut ann, mut ben) = ann_and_ben(&mut team, "lost-version", None);
    // Ben works offline and sets the version; Ann sets it too, and the relay confirms hers.
    toggle_offline(&mut ben);
    until(&mut [&mut ben], "Ben is offline", |w| offline(w[0]));
    set_value(&mut ben, "/version", "3.0");
    set_value(&mut ann, "/version", "2.0");
    until(&mut [&mut ann, &mut ben], "Ann's value is confirmed", |w| {
        connected(w[0]) && value_at(w[1], "/version").as_deref() == Some("3.0")
    });
    assert_eq!(
        team.rt
            .block_on(team.relay().stored("lost-version"))
            .unwrap()
            .1
            .pointer_json("/version"),
        "2.0"
    );
    // Ben comes back online from the status bar: his change is sequenced after Ann's and wins.
    ben.get_by_label("Go online").click();
    until(
        &mut [&mut ann, &mut ben],
        "Ben's value is everywhere",
        |w| {
            w.iter()
                .all(|a| connected(a) && value_at(a, "/version").as_deref() == Some("3.0"))
        },
    );
    // Ann is told, in the notice and in her Conflicts panel; Ben lost nothing.
    assert_eq!(lost(&ann), 1);
    assert_eq!(lost(&ben), 0);
    settle(&mut ben);
    assert!(ben.query_by_label("Show conflicts").is_none());
    settle(&mut ann);
    told(&ann, "Ben's change replaced your edit at /version");
    show_conflicts(&mut ann);
    assert!(ann.query_by_label("Conflicts (1)").is_some());
    assert!(ann.query_by_label_contains("at /version, ").is_some());
    assert!(ann.query_by_label("your value: 2.0").is_some());
    assert!(ann.query_by_label("won: Ben").is_some());
    // Restore mine: Ann's value goes back to every window, as a new change.
    ann.get_by_label("restore mine at /version").click();
    until(
        &mut [&mut ann, &mut ben],
        "Ann's value is back everywhere",
        |w| {
            w.iter()
                .all(|a| connected(a) && value_at(a, "/version").as_deref() == Some("2.0"))
        },
    );
    settle(&mut ann);
    assert!(ann.query_by_label("restored").is_some());
    assert!(ann.query_by_label("restore mine at /version").is_none());
    assert_eq!(lost(&ben), 0, "restoring is not a conflict for Ben");
}

/// Ann, offline, changes the owner's email (from the Share menu, by typing over it) while
/// Ben deletes the owner; she comes back online. Returns the windows once they agree again,
/// with Ann's Conflicts panel open, after checking what both show.
fn email_edited_offline_while_the_owner_is_deleted(
    team: &mut Team,
    doc_id: &str,
) -> (Window, Window) {
    let (mut ann, mut ben) = ann_and_ben(team, doc_id, None);
    ann.get_by_label("Share").click();
    settle(&mut ann);
    ann.get_by_label_contains("Work offline / go online")
        .click();
    until(&mut [&mut ann], "Ann is offline", |w| offline(w[0]));
    ann.get_by_label("Expand /owner").click();
    settle(&mut ann);
    set_value(&mut ann, "/owner/email", "ann@example.org");
    assert_eq!(
        value_at(ann.state(), "/owner/email").as_deref(),
        Some(r#""ann@example.org""#)
    );
    delete(&mut ben, "/owner");
    until(&mut [&mut ben], "Ben's deletion is confirmed", |w| {
        connected(w[0]) && value_at(w[0], "/owner").is_none()
    });
    // Back online: her edit was made without seeing the deletion, so it cannot bring the
    // owner back.
    toggle_offline(&mut ann);
    until(&mut [&mut ann, &mut ben], "both agree again", |w| {
        w.iter().all(|a| connected(a)) && w[0].workspace.editor.doc() == w[1].workspace.editor.doc()
    });
    for window in [&mut ann, &mut ben] {
        assert_eq!(value_at(window.state(), "/owner"), None);
        settle(window);
        assert!(window.query_by_label("node /owner").is_none());
        assert!(window.query_by_label("node /owner/email").is_none());
    }
    let (_, stored) = team.rt.block_on(team.relay().stored(doc_id)).unwrap();
    assert_eq!(stored.pointer_json("/owner"), "(none)");
    // Ann is told her edit was dropped; Ben lost nothing.
    assert_eq!(lost(&ben), 0);
    assert_eq!(lost(&ann), 1, "{:?}", session(ann.state()).lost);
    told(
        &ann,
        "your edit at /owner/email was dropped because of Ben's change",
    );
    show_conflicts(&mut ann);
    (ann, ben)
}

#[test]
fn an_offline_edit_inside_a_member_deleted_meanwhile_is_dropped_and_listed() {
    let mut team = Team::new();
    let (mut ann, mut ben) =
        email_edited_offline_while_the_owner_is_deleted(&mut team, "lost-email");
    // Fifteen keystrokes, each dropped the same way: one loss, listed once.
    assert!(ann.query_by_label("Conflicts (1)").is_some());
    assert!(ann.query_by_label_contains("at /owner/email, ").is_some());
    assert!(ann.query_by_label("won: Ben").is_some());
    assert!(ann.query_by_label_contains("your value: ").is_some());
    // Restore mine puts her email back, with the owner that held it, in every window.
    ann.get_by_label("restore mine at /owner/email").click();
    until(
        &mut [&mut ann, &mut ben],
        "Ann's email is back everywhere",
        |w| {
            w.iter().all(|a| {
                connected(a)
                    && value_at(a, "/owner/email").as_deref() == Some(r#""ann@example.org""#)
            })
        },
    );
    settle(&mut ann);
    assert!(ann.query_by_label("restored").is_some());
    assert!(
        !ann.state()
            .workspace
            .message
            .as_deref()
            .unwrap_or_default()
            .starts_with("cannot restore"),
        "{:?}",
        ann.state().workspace.message
    );
}

/// Typing over "ada@…" with "ann@…" is one splice that inserts "nn"; when it is dropped, the
/// panel shows the string as Ann had it, not that fragment.
#[test]
fn an_offline_edit_inside_a_member_deleted_meanwhile_is_listed_with_the_value_she_had() {
    let mut team = Team::new();
    let (ann, _ben) =
        email_edited_offline_while_the_owner_is_deleted(&mut team, "lost-email-value");
    assert!(
        ann.query_by_label(r#"your value: "ann@example.org""#)
            .is_some(),
        "the panel shows what she had typed; her record is {:?}",
        session(ann.state()).lost
    );
}

#[test]
fn an_offline_edit_of_a_member_deleted_meanwhile_does_not_bring_it_back_and_is_listed() {
    let mut team = Team::new();
    let (mut ann, mut ben) = ann_and_ben(&mut team, "lost-visitors", None);
    toggle_offline(&mut ann);
    until(&mut [&mut ann], "Ann is offline", |w| offline(w[0]));
    set_value(&mut ann, "/visitors", "42");
    delete(&mut ben, "/visitors");
    until(&mut [&mut ben], "Ben's deletion is confirmed", |w| {
        connected(w[0]) && value_at(w[0], "/visitors").is_none()
    });
    toggle_offline(&mut ann);
    until(&mut [&mut ann, &mut ben], "both agree again", |w| {
        w.iter().all(|a| connected(a)) && w[0].workspace.editor.doc() == w[1].workspace.editor.doc()
    });
    for window in [&mut ann, &mut ben] {
        assert_eq!(
            value_at(window.state(), "/visitors"),
            None,
            "it stays deleted"
        );
        settle(window);
        assert!(window.query_by_label("node /visitors").is_none());
    }
    assert_eq!(
        team.rt
            .block_on(team.relay().stored("lost-visitors"))
            .unwrap()
            .1
            .pointer_json("/visitors"),
        "(none)"
    );
    assert_eq!(lost(&ben), 0);
    assert_eq!(lost(&ann), 1);
    told(
        &ann,
        "your edit at /visitors was dropped because of Ben's change",
    );
    show_conflicts(&mut ann);
    assert!(ann.query_by_label("Conflicts (1)").is_some());
    assert!(ann.query_by_label_contains("at /visitors, ").is_some());
    assert!(ann.query_by_label("won: Ben").is_some());
    assert!(ann.query_by_label("your value: 42").is_some());
    // Restore mine is a new edit, made knowing of the deletion: the member comes back.
    ann.get_by_label("restore mine at /visitors").click();
    until(
        &mut [&mut ann, &mut ben],
        "Ann's value is back everywhere",
        |w| {
            w.iter()
                .all(|a| connected(a) && value_at(a, "/visitors").as_deref() == Some("42"))
        },
    );
    settle(&mut ann);
    assert!(ann.query_by_label("restored").is_some());
    assert_eq!(lost(&ben), 0, "restoring is not a conflict for Ben");
}

#[test]
fn a_change_in_flight_that_never_reached_the_relay_is_sent_again_and_wins() {
    let mut team = Team::new();
    let line = team.rt.block_on(Line::open(team.relay().addr)).unwrap();
    let (mut ann, mut ben) = ann_and_ben(&mut team, "inflight-out", Some(line.addr));
    // Ben's change leaves his window but the network holds it; then the connection drops.
    line.set(|s| s.hold_to_relay = true);
    set_value(&mut ben, "/version", "3.0");
    assert_eq!(ben.state().workspace.editor.replica().pending(), 1);
    line.set(|s| {
        s.cut += 1;
        s.down = true;
    });
    until(&mut [&mut ben], "Ben's window sees the drop", |w| {
        reconnecting(w[0])
    });
    settle(&mut ben);
    assert!(
        ben.query_by_label("sync: 1 unconfirmed, saved locally")
            .is_some()
    );
    // Meanwhile Ann sets the version, and the relay confirms it.
    set_value(&mut ann, "/version", "2.0");
    until(&mut [&mut ann], "Ann's value is confirmed", |w| {
        connected(w[0])
    });
    let (rev, stored) = team
        .rt
        .block_on(team.relay().stored("inflight-out"))
        .unwrap();
    assert_eq!(stored.pointer_json("/version"), "2.0");
    // The network is back and Ben reconnects. His change, which the relay never had, goes
    // again and comes after Ann's: it wins, and Ann is told.
    line.set(|s| {
        s.hold_to_relay = false;
        s.down = false;
    });
    reconnect_now(&mut ben);
    until(
        &mut [&mut ann, &mut ben],
        "Ben's value is everywhere",
        |w| {
            w.iter()
                .all(|a| connected(a) && value_at(a, "/version").as_deref() == Some("3.0"))
        },
    );
    assert_eq!(
        team.rt
            .block_on(team.relay().stored("inflight-out"))
            .unwrap()
            .0
            .0,
        rev.0 + 1
    );
    assert_eq!(lost(&ben), 0);
    assert_eq!(lost(&ann), 1);
    settle(&mut ann);
    show_conflicts(&mut ann);
    assert!(ann.query_by_label("your value: 2.0").is_some());
    assert!(ann.query_by_label("won: Ben").is_some());
}

#[test]
fn a_change_in_flight_whose_confirmation_was_lost_is_applied_once_and_loses_nothing() {
    let mut team = Team::new();
    let line = team.rt.block_on(Line::open(team.relay().addr)).unwrap();
    let (mut ann, mut ben) = ann_and_ben(&mut team, "inflight-back", Some(line.addr));
    let (start, _) = team
        .rt
        .block_on(team.relay().stored("inflight-back"))
        .unwrap();
    // Ben's change reaches the relay (and Ann), but the confirmation is held on its way back;
    // then the connection drops.
    line.set(|s| s.hold_to_window = true);
    set_value(&mut ben, "/version", "3.0");
    until(&mut [&mut ann, &mut ben], "Ann has Ben's value", |w| {
        value_at(w[0], "/version").as_deref() == Some("3.0")
    });
    assert_eq!(
        ben.state().workspace.editor.replica().pending(),
        1,
        "not confirmed"
    );
    line.set(|s| {
        s.cut += 1;
        s.down = true;
    });
    until(&mut [&mut ben], "Ben's window sees the drop", |w| {
        reconnecting(w[0])
    });
    // Ann, who saw Ben's value, changes it.
    set_value(&mut ann, "/version", "2.0");
    until(&mut [&mut ann], "Ann's value is confirmed", |w| {
        connected(w[0])
    });
    // Ben reconnects: his change is not applied again (it would put 3.0 back over Ann's), and
    // nobody lost anything: Ann changed a value she had seen.
    line.set(|s| {
        s.hold_to_window = false;
        s.down = false;
    });
    reconnect_now(&mut ben);
    until(&mut [&mut ann, &mut ben], "both agree", |w| {
        w.iter().all(|a| connected(a)) && w[0].workspace.editor.doc() == w[1].workspace.editor.doc()
    });
    for window in [&ann, &ben] {
        assert_eq!(value_at(window.state(), "/version").as_deref(), Some("2.0"));
    }
    let (end, stored) = team
        .rt
        .block_on(team.relay().stored("inflight-back"))
        .unwrap();
    assert_eq!(stored.pointer_json("/version"), "2.0");
    assert_eq!(end.0, start.0 + 2, "Ben's change once, Ann's once");
    assert_eq!((lost(&ann), lost(&ben)), (0, 0));
}

/// Reads a value of a stored document as JSON, `(none)` where there is none.
trait PointerJson {
    fn pointer_json(&self, path: &str) -> String;
}

impl PointerJson for Value {
    fn pointer_json(&self, path: &str) -> String {
        at(path)
            .resolve(self)
            .map_or_else(|| "(none)".to_owned(), Value::to_json)
    }
}

/// What the network between a window and the relay does to the connections on it.
#[derive(Debug, Clone, Default)]
struct LineState {
    /// Bytes from the window wait (and are lost if the line is cut first).
    hold_to_relay: bool,
    /// Bytes from the relay wait (and are lost if the line is cut first).
    hold_to_window: bool,
    /// Raised to drop every connection on the line.
    cut: u64,
    /// New connections are closed at once.
    down: bool,
}

/// A TCP line between a window and the relay: the network under one window, made to fail.
struct Line {
    /// Where the window connects.
    addr: SocketAddr,
    state: watch::Sender<LineState>,
    accept: tokio::task::JoinHandle<()>,
}

impl Line {
    async fn open(relay: SocketAddr) -> std::io::Result<Line> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (state, _) = watch::channel(LineState::default());
        let states = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((window, _)) = listener.accept().await {
                let now = states.borrow().clone();
                if now.down {
                    continue;
                }
                let Ok(upstream) = tokio::net::TcpStream::connect(relay).await else {
                    continue;
                };
                let (from_window, to_window) = window.into_split();
                let (from_relay, to_relay) = upstream.into_split();
                tokio::spawn(carry(
                    from_window,
                    to_relay,
                    states.subscribe(),
                    now.cut,
                    |s| s.hold_to_relay,
                ));
                tokio::spawn(carry(
                    from_relay,
                    to_window,
                    states.subscribe(),
                    now.cut,
                    |s| s.hold_to_window,
                ));
            }
        });
        Ok(Line {
            addr,
            state,
            accept,
        })
    }

    fn set(&self, change: impl FnOnce(&mut LineState)) {
        self.state.send_modify(change);
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        self.accept.abort();
        self.state.send_modify(|s| s.cut += 1);
    }
}

/// Carries bytes one way until either end closes or the line is cut; waits while `held`.
async fn carry(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut state: watch::Receiver<LineState>,
    cut: u64,
    held: fn(&LineState) -> bool,
) {
    let mut buf = vec![0_u8; 64 << 10];
    loop {
        let went = match state.wait_for(|s| s.cut != cut || !held(s)).await {
            Ok(now) => now.cut != cut,
            Err(_) => true,
        };
        if went {
            return;
        }
        tokio::select! {
            // A hold set before the bytes came is seen before they are carried.
            biased;
            changed = state.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if to.write_all(buf.get(..n).unwrap_or_default()).await.is_err() {
                        return;
                    }
                }
            },
        }
    }
}
