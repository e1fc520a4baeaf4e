//! How long a frame takes when a key is typed into a string value, and into Find, on a 100 MB
//! document: no work per keystroke may grow with the document.
//!
//! ```text
//! cargo bench -p app --bench typing
//! ```
//!
//! The document is generated (the records of the `load` benchmark) and opened in the real app,
//! headlessly through egui_kittest at 1280×800. Each key arrives in a frame of its own, as
//! from a person typing; the time of a frame is the whole egui pass and tessellation. Under
//! `cargo test` it runs once on a 1 MB document, as a check that it works.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    missing_docs
)]

use std::time::{Duration, Instant};

use app::editor::Editor;
use app::ui::ConcordApp;
use egui::{Event, Key, Modifiers};
use egui_kittest::Harness;
use sync_core::value::Style;
use sync_core::{Pointer, Value};

mod common;
use common::{frame, generate, percentile};

fn key(harness: &mut Harness<'_, ConcordApp>, key: Key, modifiers: Modifiers) {
    for pressed in [true, false] {
        harness.input_mut().events.push(Event::Key {
            key,
            physical_key: None,
            pressed,
            repeat: false,
            modifiers,
        });
    }
}

/// Types `text` one character a frame, each followed by one more frame (what a window draws
/// next); returns every frame's time.
fn type_text(harness: &mut Harness<'_, ConcordApp>, text: &str) -> Vec<Duration> {
    let mut times = Vec::new();
    for c in text.chars() {
        harness.input_mut().events.push(Event::Text(c.to_string()));
        times.push(frame(harness));
        times.push(frame(harness));
    }
    times
}

fn report(what: &str, times: &mut [Duration]) {
    if std::env::var_os("TYPING_SLOW").is_some() {
        for (i, t) in times.iter().enumerate().filter(|(_, t)| t.as_millis() > 16) {
            println!("  frame {i}: {t:.1?}");
        }
    }
    let p50 = percentile(times, 0.5);
    let p99 = percentile(times, 0.99);
    let max = percentile(times, 1.0);
    println!(
        "{what}: p50 {p50:.2?}, p99 {p99:.2?}, max {max:.2?} over {} frames",
        times.len()
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let size = if full { 100 << 20 } else { 1 << 20 };
    let text = generate(size);
    let start = Instant::now();
    let doc = Value::parse(&text).unwrap();
    drop(text);
    let parsed = start.elapsed();
    let mut editor = Editor::new(doc, None, Style::default());
    let nodes = editor.node_count();
    println!(
        "document: {:.1} MiB, {nodes} nodes, parsed in {parsed:.2?}",
        size as f64 / f64::from(1u32 << 20)
    );
    let name = Pointer::parse("/users/0/name").unwrap();
    editor.reveal(&name);
    editor.select(Some(name.clone()));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |_cc| ConcordApp::new(editor));
    for _ in 0..20 {
        harness.step();
    }

    // Enter opens the selected value; then the end of its text, and a word typed after it.
    key(&mut harness, Key::Enter, Modifiers::NONE);
    for _ in 0..5 {
        harness.step();
    }
    key(&mut harness, Key::End, Modifiers::NONE);
    harness.step();
    let word = " with a longer name typed one key at a time";
    let mut times = type_text(&mut harness, word);
    report("a key typed in a string value", &mut times);
    key(&mut harness, Key::Enter, Modifiers::NONE);
    harness.step();
    let typed = harness.state().workspace.editor.doc();
    let typed = Pointer::parse("/users/0/name")
        .unwrap()
        .resolve(typed)
        .cloned();
    assert_eq!(typed, Some(Value::from(format!("user 0{word}"))));

    // Find: Ctrl+F, a query typed one key a frame, then frames until every match is found.
    key(&mut harness, Key::F, Modifiers::COMMAND);
    harness.step();
    let start = Instant::now();
    let mut times = type_text(&mut harness, "user 4242");
    let mut frames = 0;
    while harness
        .state()
        .workspace
        .search
        .as_ref()
        .is_some_and(|s| !s.is_done())
    {
        times.push(frame(&mut harness));
        frames += 1;
    }
    let all = start.elapsed();
    report(
        "a key typed in Find, and the frames until all matches",
        &mut times,
    );
    let search = harness.state().workspace.search.as_ref().unwrap();
    println!(
        "Find: {} matches for {:?}, all found {all:.2?} after the first key ({frames} frames after the last key)",
        search.count(),
        search.query
    );
    assert!(search.count() > 0);
}
