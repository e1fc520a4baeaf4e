//! What the app's benchmarks share: a generated document of user records.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use app::ui::ConcordApp;
use egui_kittest::Harness;

/// Steps one frame and tessellates it, as the renderer would next; returns how long it took.
pub fn frame(harness: &mut Harness<'_, ConcordApp>) -> Duration {
    let start = Instant::now();
    harness.step();
    let output = harness.output();
    let primitives = harness
        .ctx
        .tessellate(output.shapes.clone(), output.pixels_per_point);
    let took = start.elapsed();
    std::hint::black_box(primitives);
    took
}

/// About `bytes` of JSON: `{"version": 1, "users": [...]}`, records with strings, numbers,
/// booleans, a tag array and an address object, one per line.
pub fn generate(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 1024);
    text.push_str("{\"version\": 1, \"users\": [\n");
    let mut i = 0u64;
    while text.len() < bytes {
        if i > 0 {
            text.push_str(",\n");
        }
        let _ = write!(
            text,
            r#"  {{"id": {i}, "name": "user {i}", "email": "user{i}@example.com", "age": {}, "score": {}.{}, "active": {}, "tags": ["alpha", "beta", "gamma"], "address": {{"street": "{} Main Street", "city": "Springfield", "zip": "{:05}"}}}}"#,
            18 + i % 70,
            i % 100,
            i % 10,
            i.is_multiple_of(2),
            i % 500,
            i % 99_999
        );
        i += 1;
    }
    text.push_str("\n]}\n");
    text
}

/// The `q` quantile (0 to 1) of `samples`, which it sorts.
pub fn percentile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    samples
        .get(((samples.len().saturating_sub(1)) as f64 * q).round() as usize)
        .copied()
        .unwrap_or_default()
}
