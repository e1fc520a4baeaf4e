//! How long the editor takes from opening a 100 MB file to its first frame with the document,
//! and how long frames take meanwhile (the window must never freeze).
//!
//! ```text
//! cargo bench -p app --bench load
//! ```
//!
//! The file is generated (records like the engine benchmark's) into the temp directory. The
//! app runs headlessly through egui_kittest, stepping frames as a window would while the
//! background thread reads and parses. Under `cargo test` it runs once on a 1 MB file.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    missing_docs
)]

use std::time::{Duration, Instant};

use app::ui::ConcordApp;
use egui_kittest::Harness;

mod common;
use common::generate;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let size = if full { 100 << 20 } else { 1 << 20 };
    let path = std::env::temp_dir().join(format!("concord-load-bench-{}.json", std::process::id()));
    std::fs::write(&path, generate(size)).unwrap();
    let bytes = std::fs::metadata(&path).unwrap().len();

    let start = Instant::now();
    let open = path.clone();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| ConcordApp::open(&open, &cc.egui_ctx));
    let first_frame = start.elapsed();
    let mut frames: Vec<Duration> = Vec::new();
    while harness.state().workspace.loading.is_some() {
        let frame = Instant::now();
        harness.step();
        frames.push(frame.elapsed());
        // A window repaints when the loader wakes it; ~60 frames a second at most.
        std::thread::sleep(Duration::from_millis(16));
    }
    harness.step();
    let loaded = start.elapsed();
    assert!(
        harness.state().workspace.message.is_none(),
        "{:?}",
        harness.state().workspace.message
    );
    let nodes = harness.state().workspace.editor.node_count();
    let longest = frames.iter().max().copied().unwrap_or_default();
    println!(
        "file: {:.1} MiB, {nodes} nodes; first frame (progress bar) after {first_frame:.1?}; \
         document shown after {loaded:.2?}; {} frames while loading, the longest {longest:.1?}",
        bytes as f64 / f64::from(1u32 << 20),
        frames.len()
    );
    let _ = std::fs::remove_file(&path);
}
