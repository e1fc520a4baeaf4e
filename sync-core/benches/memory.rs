#![allow(
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! How much memory a document costs, measured with a counting allocator.
//!
//! ```text
//! cargo bench -p sync-core --bench memory
//! ```
//!
//! Prints the bytes held by an Authority holding a generated 10 MB document (and by the same
//! document as a plain `Value` and as a `serde_json::Value`), as a multiple of the JSON size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use sync_core::Value;
use sync_core::authority::{Authority, AuthorityConfig};

mod common;

/// Counts the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: defers to the system allocator; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout, passed through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same pointer and layout, passed through.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same arguments, passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn held<T>(make: impl FnOnce() -> T) -> (T, isize) {
    let before = LIVE.load(Ordering::Relaxed);
    let value = make();
    (value, LIVE.load(Ordering::Relaxed) - before)
}

fn main() {
    // `cargo test --benches` runs this too: keep that quick.
    let size = if std::env::args().any(|a| a == "--bench") {
        10_000_000
    } else {
        100_000
    };
    let text = common::document(&mut common::Rng(7), size).to_json();
    let json = text.len() as f64;
    let report = |name: &str, bytes: isize| {
        println!(
            "{name:<40} {:>12} bytes  {:>5.2}x the JSON",
            bytes,
            bytes as f64 / json
        );
    };
    println!("document: {} bytes of compact JSON", text.len());
    let (authority, bytes) =
        held(|| Authority::new(Value::parse(&text).unwrap(), AuthorityConfig::default()));
    report("Authority holding the document", bytes);
    let (theirs, bytes) = held(|| serde_json::from_str::<serde_json::Value>(&text).unwrap());
    report("serde_json::Value (workspace features)", bytes);
    drop((authority, theirs));
}
