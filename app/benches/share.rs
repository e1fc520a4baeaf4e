//! How long sharing a 20 MB document takes, end to end, and a 5 MB paste into it: two real
//! editor windows run headlessly (egui_kittest), the relay the sharing window starts inside the
//! app, real sockets on loopback.
//!
//! ```text
//! cargo bench -p app --bench share
//! ```
//!
//! Timed phases, each from the user's action to what another person sees: Share (until the
//! relay has stored the document and acknowledged it to the sharing window; it travels as one
//! change, in parts), a second window joining by the invite (until it shows the document), and
//! a paste of a 5 MB value in that window (until the first one shows it). Windows draw a frame
//! every 2 ms while waiting, as a busy window would. Under `cargo test` it runs once on a
//! 2 MB document.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    clippy::print_stderr,
    missing_docs
)]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use app::editor::Editor;
use app::session::Status;
use app::ui::ConcordApp;
use egui_kittest::Harness;
use sync_core::Value;
use sync_core::protocol::Revision;

type Window = Harness<'static, ConcordApp>;

/// A document of about `bytes` bytes of JSON: sections of 1,000 records.
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
                r#"{{"id":{i},"name":"record {i}","note":"a \"quoted\" word, café, €5","tags":["a","b"],"score":{}.5}}"#,
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

fn window(rt: &tokio::runtime::Runtime, data: &Path, doc: Value) -> Window {
    let handle = rt.handle().clone();
    let data = data.to_path_buf();
    let mut window = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            ConcordApp::new(Editor::new(doc, None, Default::default()))
                .with_context(&cc.egui_ctx)
                .with_collaboration(handle, Some(data))
        });
    window.step();
    window
}

fn synced_at(app: &ConcordApp, rev: u64) -> bool {
    let app = &app.workspace;
    let connected = app
        .session
        .as_ref()
        .is_some_and(|s| matches!(s.status(), Status::Connected { .. }));
    connected
        && app.editor.replica().pending() == 0
        && app.editor.replica().rev() == Some(Revision(rev))
}

/// Steps the windows until `done` holds; the time it took.
fn until(
    windows: &mut [&mut Window],
    start: Instant,
    done: impl Fn(&[&ConcordApp]) -> bool,
) -> Duration {
    loop {
        for window in windows.iter_mut() {
            window.step();
        }
        let states: Vec<&ConcordApp> = windows.iter().map(|w| w.state()).collect();
        if done(&states) {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(600), "timed out");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (bytes, paste_bytes) = if full {
        (20_000_000, 5_000_000)
    } else {
        (2_000_000, 500_000)
    };
    let rt = app::launch::runtime().unwrap();
    let root = std::env::temp_dir().join(format!("concord-share-bench-{}", std::process::id()));
    let (dir_a, dir_b) = (root.join("ann"), root.join("ben"));
    let text = document(bytes);
    let doc = Value::parse(&text).unwrap();
    let size = doc.to_json().len();

    let mut ann = window(&rt, &dir_a, doc);
    let start = Instant::now();
    ann.state_mut().workspace.share(false).unwrap();
    let shared = until(&mut [&mut ann], start, |w| synced_at(w[0], 1));

    let invite = ann.state().workspace.invite().cloned().unwrap();
    let mut ben = window(&rt, &dir_b, Value::parse("{}").unwrap());
    let start = Instant::now();
    ben.state_mut().workspace.join(invite, "Ben").unwrap();
    let joined = until(&mut [&mut ann, &mut ben], start, |w| synced_at(w[1], 1));
    assert!(ann.state().workspace.editor.doc() == ben.state().workspace.editor.doc());

    let line = "pasted \\\"text\\\" with café, € and\\ttabs; ";
    let pasted = format!(
        r#"{{"text": "{}"}}"#,
        line.repeat(paste_bytes / line.len() + 1)
    );
    let start = Instant::now();
    ben.event(egui::Event::Paste(pasted));
    let paste = until(&mut [&mut ann, &mut ben], start, |w| {
        synced_at(w[0], 2) && synced_at(w[1], 2)
    });

    println!(
        "document: {size} bytes of compact JSON; paste: {} bytes",
        paste_bytes
    );
    println!("| phase | time |");
    println!("|---|---|");
    println!("| Share until the relay has stored and acknowledged it | {shared:.2?} |");
    println!("| a second window joins by the invite until it shows the document | {joined:.2?} |");
    println!(
        "| a paste of {:.1} MB in that window until the first shows it | {paste:.2?} |",
        paste_bytes as f64 / 1e6
    );
    drop((ann, ben));
    drop(rt);
    let _ = std::fs::remove_dir_all(root);
}
