//! How long the editor takes to draw a frame of a 1,000,000-node document, fully expanded,
//! while scrolling through it; and how long building the rows takes.
//!
//! ```text
//! cargo bench -p app --bench frame
//! ```
//!
//! Frames are run headlessly through egui_kittest: the whole egui pass (layout and the tree's
//! drawing code, for the rows on screen) and tessellation; uploading to the GPU and drawing
//! there are not included. Under `cargo test` it runs once on a
//! small document, as a check that it works.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    missing_docs
)]

use std::time::Instant;

use app::editor::Editor;
use app::ui::ConcordApp;
use egui_kittest::Harness;
use sync_core::value::Style;
use sync_core::{Map, Value};

mod common;
use common::{frame, percentile};

/// A document of `records` records of 9 nodes each (plus the array and the root).
fn document(records: usize) -> Value {
    let items = (0..records)
        .map(|i| {
            let tags = vec![Value::from("alpha"), Value::from("beta")];
            let mut m = Map::new();
            m.insert("id", Value::from(i as i64));
            m.insert("name", Value::from(format!("record {i}")));
            m.insert("active", Value::Bool(i % 2 == 0));
            m.insert("score", Value::parse("12.5").unwrap());
            m.insert("tags", Value::Array(tags));
            m.insert("note", Value::Null);
            Value::Object(m)
        })
        .collect();
    let mut root = Map::new();
    root.insert("records", Value::Array(items));
    Value::Object(root)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let records = if full { 111_112 } else { 100 };
    let frames = if full { 300 } else { 5 };
    let doc = document(records);
    let mut editor = Editor::new(doc, None, Style::default());
    let start = Instant::now();
    editor.expand_all(true);
    let rows = editor.rows().len();
    let flatten = start.elapsed();
    let nodes = editor.node_count();
    println!("document: {nodes} nodes, {rows} rows fully expanded; rows built in {flatten:.1?}");

    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |_cc| ConcordApp::new(editor));
    harness.run();
    // Warm up (font atlas, first layouts), then measure.
    for _ in 0..20 {
        harness.step();
    }
    let mut times = Vec::with_capacity(frames);
    for n in 0..frames {
        // Jump to a different place every frame, as fast scrolling does, selecting a row.
        let row = (n * 7919 * 31) % rows.max(1);
        let path = harness.state_mut().workspace.editor.path_of_row(row);
        harness
            .state_mut()
            .workspace
            .editor
            .select(Some(path.clone()));
        harness.state_mut().workspace.scroll_to = Some(path);
        // The egui pass, and what the renderer does next on the CPU: tessellation.
        times.push(frame(&mut harness));
    }
    let p50 = percentile(&mut times, 0.5);
    let p99 = percentile(&mut times, 0.99);
    let max = percentile(&mut times, 1.0);
    println!(
        "frame (egui pass and tessellation, scrolling to a new place each frame): p50 {p50:.2?}, p99 {p99:.2?}, max {max:.2?} over {frames} frames"
    );
}
