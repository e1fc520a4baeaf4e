//! What keeping a shared document's state on disk costs after an edit: the copy of the
//! replica's state taken on the UI thread (`Replica::save`), and the writer thread's work
//! (serialise, write, flush to disk, rename), for documents of 100 KB, 1 MB, 10 MB and 100 MB
//! with a pending change.
//!
//! ```text
//! cargo bench -p app --bench outbox
//! ```
//!
//! Under `cargo test` it runs once on the smallest document.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use app::session::outbox::{Outbox, Saved};
use sync_core::protocol::{ClientId, Revision};
use sync_core::replica::Replica;
use sync_core::{Change, Value};

fn generate(bytes: usize) -> String {
    let mut text = String::from("{\"users\": [");
    let mut i = 0u64;
    while text.len() < bytes {
        if i > 0 {
            text.push(',');
        }
        let _ = write!(
            text,
            r#"{{"id": {i}, "name": "user {i}", "email": "user{i}@example.com", "tags": ["a", "b"], "score": {}.5}}"#,
            i % 100
        );
        i += 1;
    }
    text.push_str("]}");
    text
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if full {
        &[100 << 10, 1 << 20, 10 << 20, 100 << 20]
    } else {
        &[100 << 10]
    };
    let rounds = if full { 20 } else { 2 };
    let root = std::env::temp_dir().join(format!("concord-outbox-bench-{}", std::process::id()));
    println!(
        "| document | Replica::save (UI thread) | write to disk (writer thread) | state file | a step instead (UI thread) |"
    );
    println!("|---|---|---|---|---|");
    for &size in sizes {
        let doc = Value::parse(&generate(size)).unwrap();
        let mut replica =
            Replica::with_document(ClientId::from("bench"), "Bench", doc, Some(Revision(1)));
        let edit =
            Change::from_json(r#"[{"op": "replace", "path": "/users/0/name", "value": "x"}]"#)
                .unwrap();
        replica.edit(edit.0).unwrap();
        let (outbox, _, _) = Outbox::open(&root, "ws://bench", &format!("doc-{size}")).unwrap();
        let mut save = Vec::new();
        let mut write = Vec::new();
        for round in 1..=rounds {
            let start = Instant::now();
            let state = replica.save();
            save.push(start.elapsed());
            let start = Instant::now();
            outbox.save(
                round,
                Saved {
                    relay: "ws://bench".to_owned(),
                    doc: format!("doc-{size}"),
                    replica: state,
                    journal: None,
                },
            );
            while outbox.written() < round {
                std::thread::sleep(Duration::from_micros(200));
            }
            write.push(start.elapsed());
        }
        // What a save costs the UI thread when the relay's messages say what changed: the
        // state without its document.
        let mut step = Vec::new();
        for _ in 0..rounds {
            let start = Instant::now();
            std::hint::black_box(replica.save_except_document());
            step.push(start.elapsed());
        }
        let file = std::fs::metadata(outbox.dir().join("state.json"))
            .map(|m| m.len())
            .unwrap_or_default();
        println!(
            "| {:.1} MB | {:.2} ms | {:.1} ms | {:.1} MB | {:.1} µs |",
            size as f64 / 1e6,
            median(save).as_secs_f64() * 1e3,
            median(write).as_secs_f64() * 1e3,
            file as f64 / 1e6,
            median(step).as_secs_f64() * 1e6
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}
