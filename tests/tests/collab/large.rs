//! Changes larger than a frame, from real windows: a 20 MB document shared from the window and
//! a 5 MB value pasted into it reach another window; a change over the relay's document limit
//! is refused once, shown, and never sent again.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use app::editor::Editor;
use app::session::Status;
use app::ui::ConcordApp;
use e2e::{TestRelay, temp_dir};
use egui_kittest::Harness;
use sync_core::Value;

use super::{Window, at, connected, join, runtime, session, target};

/// How long a window may take over a change of many megabytes (the tests run unoptimized).
const SLOW: Duration = Duration::from_secs(180);

/// A window holding `doc`, with its own data directory.
fn window_with(rt: &tokio::runtime::Runtime, data: &Path, doc: Value) -> Window {
    let handle = rt.handle().clone();
    let data = data.to_path_buf();
    let mut window = Harness::builder()
        .with_size(egui::vec2(900.0, 600.0))
        .build_eframe(move |cc| {
            ConcordApp::new(Editor::new(doc, None, Default::default()))
                .with_context(&cc.egui_ctx)
                .with_collaboration(handle, Some(data))
        });
    window.step();
    window
}

/// Steps the windows until `done` holds (for at most [`SLOW`]); `done` should check only what
/// is cheap to check on documents this large.
fn wait(windows: &mut [&mut Window], what: &str, done: impl Fn(&[&ConcordApp]) -> bool) {
    let deadline = Instant::now() + SLOW;
    loop {
        for window in windows.iter_mut() {
            window.step();
        }
        let states: Vec<&ConcordApp> = windows.iter().map(|w| w.state()).collect();
        if done(&states) {
            return;
        }
        let seen: Vec<_> = states
            .iter()
            .map(|a| (a.workspace.editor.replica().rev(), &a.workspace.message))
            .collect();
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}; the windows have {seen:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A document of about `bytes` bytes of JSON: sections of records with text to escape and
/// characters of every width.
fn document(bytes: usize) -> String {
    let mut text = String::from("{");
    let (mut section, mut i) = (0, 0u64);
    while text.len() < bytes {
        if section > 0 {
            text.push(',');
        }
        let _ = write!(text, r#""section {section}":["#);
        for j in 0..1000 {
            if j > 0 {
                text.push(',');
            }
            let _ = write!(
                text,
                r#"{{"id":{i},"name":"record {i}","note":"a \"quoted\" word, a\\backslash, a line\nbreak, café, €5, 😀","tags":["a","b"],"score":{}.5}}"#,
                i % 100
            );
            i += 1;
        }
        text.push(']');
        section += 1;
    }
    text.push('}');
    text
}

/// A pasted value of about `bytes` bytes: a JSON object with a long string in it.
fn clipboard(bytes: usize) -> String {
    let line = "pasted \\\"text\\\" with café, €, 😀 and\\ttabs; ";
    let text = line.repeat(bytes / line.len() + 1);
    format!(r#"{{"from": "clipboard", "text": "{text}"}}"#)
}

fn synced_at(app: &ConcordApp, rev: u64) -> bool {
    connected(app)
        && app.workspace.editor.replica().rev() == Some(sync_core::protocol::Revision(rev))
}

#[test]
fn a_shared_20_mb_document_and_a_pasted_5_mb_value_reach_another_window() {
    let rt = runtime();
    let (dir_a, dir_b) = (temp_dir("ann"), temp_dir("ben"));
    let text = document(20_000_000);
    let doc = Value::parse(&text).unwrap();
    assert!(doc.to_json().len() > 20_000_000);
    let mut ann = window_with(&rt, &dir_a, doc.clone());
    // Ann shares the document from her window: it goes to the relay as one change, in parts.
    ann.state_mut().workspace.share(false).unwrap();
    let invite = ann.state().workspace.invite().cloned().unwrap();
    wait(&mut [&mut ann], "Ann's document is on the relay", |w| {
        synced_at(w[0], 1)
    });
    // Ben joins by the invite and gets it.
    let mut ben = super::window(&rt, &dir_b);
    join(&mut ben, &invite, "Ben");
    wait(&mut [&mut ann, &mut ben], "Ben has the document", |w| {
        synced_at(w[1], 1)
    });
    assert!(
        ben.state().workspace.editor.doc() == &doc,
        "Ben has Ann's document"
    );
    // Ben pastes a 5 MB value (nothing selected: it goes into the document itself).
    let pasted = clipboard(5_000_000);
    ben.event(egui::Event::Paste(pasted.clone()));
    ben.step();
    assert!(
        at("/pasted")
            .resolve(ben.state().workspace.editor.doc())
            .is_some()
    );
    wait(&mut [&mut ann, &mut ben], "the paste reaches Ann", |w| {
        synced_at(w[0], 2) && synced_at(w[1], 2)
    });
    let value = Value::parse(&pasted).unwrap();
    assert_eq!(
        at("/pasted").resolve(ann.state().workspace.editor.doc()),
        Some(&value)
    );
    assert!(ann.state().workspace.editor.doc() == ben.state().workspace.editor.doc());
    drop((ann, ben));
}

/// The relay's counter of rejected changes, from its metrics page.
fn rejects(relay: &TestRelay) -> u64 {
    let mut stream = std::net::TcpStream::connect(relay.addr).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: relay\r\n\r\n")
        .unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).unwrap();
    page.lines()
        .find_map(|l| l.strip_prefix("concord_rejects_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

#[test]
fn a_change_over_the_document_limit_is_refused_once_and_shown() {
    let rt = runtime();
    let relay = rt
        .block_on(TestRelay::start(|c| {
            c.limits.max_document_bytes = 3_000_000;
        }))
        .unwrap();
    let dir = temp_dir("ann");
    let mut ann = super::window(&rt, &dir);
    join(&mut ann, &target(&relay, "limit"), "Ann");
    wait(&mut [&mut ann], "Ann is connected", |w| connected(w[0]));
    // A 5 MB paste: more than the document may hold.
    ann.event(egui::Event::Paste(clipboard(5_000_000)));
    wait(&mut [&mut ann], "the relay refuses the paste", |w| {
        w[0].workspace
            .session
            .as_ref()
            .is_some_and(|s| !s.lost.is_empty())
            && connected(w[0])
    });
    ann.step();
    let lost = &session(ann.state()).lost;
    assert_eq!(lost.len(), 1);
    assert!(lost[0].reason.contains("document_too_large"), "{lost:?}");
    assert!(
        ann.state()
            .workspace
            .message
            .as_deref()
            .is_some_and(|m| m.contains("document_too_large")),
        "{:?}",
        ann.state().workspace.message
    );
    assert_eq!(
        ann.state().workspace.editor.doc(),
        &Value::parse("{}").unwrap()
    );
    // The window goes on: its next edit is confirmed; and the refused change is not sent
    // again, not even after a reconnect.
    ann.state_mut()
        .workspace
        .import_patch(r#"[{"op": "add", "path": "/small", "value": 1}]"#)
        .unwrap();
    wait(&mut [&mut ann], "the next edit is confirmed", |w| {
        synced_at(w[0], 1)
    });
    ann.state_mut()
        .workspace
        .apply(app::workspace::Intent::Command(
            app::commands::Command::ToggleOffline,
        ));
    wait(&mut [&mut ann], "Ann is offline", |w| {
        w[0].workspace
            .session
            .as_ref()
            .is_some_and(|s| matches!(s.status(), Status::Offline { .. }))
    });
    ann.state_mut()
        .workspace
        .apply(app::workspace::Intent::Command(
            app::commands::Command::ToggleOffline,
        ));
    wait(&mut [&mut ann], "Ann is back", |w| connected(w[0]));
    std::thread::sleep(Duration::from_millis(300));
    ann.step();
    assert_eq!(rejects(&relay), 1);
    assert_eq!(session(ann.state()).lost.len(), 1);
    let stored = rt.block_on(relay.stored("limit")).unwrap();
    assert_eq!(stored.1, Value::parse(r#"{"small": 1}"#).unwrap());
    drop(ann);
    rt.block_on(relay.stop()).unwrap();
}

#[test]
fn a_document_larger_than_a_window_relay_holds_is_not_shared_and_stays_as_it_was() {
    let rt = runtime();
    let dir = temp_dir("too-large-to-share");
    let limit = app::session::host::Host::max_document_bytes();
    let mut big = sync_core::Map::new();
    big.insert("text", Value::from("x".repeat(limit)));
    let doc = Value::Object(big);
    let mut ann = window_with(&rt, &dir, doc.clone());
    // Through the Share dialog, as a person would.
    ann.state_mut()
        .workspace
        .apply(app::workspace::Intent::Command(
            app::commands::Command::Share,
        ));
    ann.step();
    ann.step();
    egui_kittest::kittest::Queryable::get_by_label(&ann, "Start sharing").click();
    ann.step();
    ann.step();
    let error = ann
        .state()
        .workspace
        .sharing
        .as_ref()
        .unwrap()
        .error
        .clone()
        .unwrap();
    assert!(
        error.contains("holds documents of up to 64.0 MiB"),
        "{error}"
    );
    assert!(
        ann.state().workspace.session.is_none(),
        "nothing was shared"
    );
    assert!(ann.state().workspace.invite().is_none());
    assert!(
        ann.state().workspace.editor.doc() == &doc,
        "the document is as it was"
    );
    drop(ann);
}
