//! Inputs shared by the benchmarks: a deterministic generator of JSON documents and the
//! automerge-paper editing trace.

#![allow(dead_code)]

use std::io::Read as _;
use std::path::PathBuf;

use sync_core::{Map, Value};

#[path = "../../tests/common/mod.rs"]
mod shared;

// Each benchmark uses part of this module.
#[allow(unused_imports)]
pub use shared::{Rng, minimal_edits, paths};

/// A made-up word, for generated text.
pub fn word(rng: &mut Rng) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "an", "el", "or", "us", "qi", "zo", "be",
        "da",
    ];
    (0..2 + rng.below(3))
        .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
        .collect()
}

pub fn record(rng: &mut Rng, id: usize) -> Value {
    let mut address = Map::new();
    address.insert(
        "street",
        Value::from(format!("{} {} street", rng.below(200), word(rng))),
    );
    address.insert("city", Value::from(word(rng)));
    address.insert("zip", Value::from(format!("{:05}", rng.below(99_999))));
    let mut m = Map::new();
    m.insert("id", Value::from(id as i64));
    m.insert("name", Value::from(format!("{} {}", word(rng), word(rng))));
    m.insert(
        "email",
        Value::from(format!("{}@{}.example", word(rng), word(rng))),
    );
    m.insert("age", Value::from(18 + rng.below(70) as i64));
    m.insert(
        "score",
        Value::parse(&format!("{}.{}", rng.below(100), rng.below(10))).unwrap(),
    );
    m.insert("active", Value::from(rng.below(2) == 0));
    m.insert(
        "tags",
        Value::Array(
            (0..1 + rng.below(4))
                .map(|_| Value::from(word(rng)))
                .collect(),
        ),
    );
    m.insert("address", Value::Object(address));
    Value::Object(m)
}

/// `{"version": 1, "users": [...]}` of about `bytes` bytes of compact JSON.
pub fn document(rng: &mut Rng, bytes: usize) -> Value {
    let mut users = Vec::new();
    let mut size = 0;
    while size < bytes {
        let r = record(rng, users.len());
        size += r.to_json().len() + 1;
        users.push(r);
    }
    let mut m = Map::new();
    m.insert("version", Value::from(1));
    m.insert("users", Value::Array(users));
    Value::Object(m)
}

/// One edit of the trace: at character `pos` delete `del` characters and insert `ins`.
pub type TraceEdit = (usize, usize, String);

/// The automerge-paper trace (259,778 edits typing a LaTeX paper): start text, edits, end text.
/// `None`, with a note, when `../shared` is absent.
pub fn automerge_paper() -> Option<(String, Vec<TraceEdit>, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/bench-data/automerge-paper.json.gz");
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!(
            "SKIPPED: {} not found; the trace benchmarks need ../shared",
            path.display()
        );
        return None;
    };
    let mut json = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut json)
        .expect("the trace is gzipped JSON");
    let trace: serde_json::Value = serde_json::from_str(&json).expect("the trace is JSON");
    let text = |key: &str| {
        trace[key]
            .as_str()
            .expect("start and end are strings")
            .to_owned()
    };
    let mut edits = Vec::new();
    for txn in trace["txns"].as_array().expect("txns") {
        for patch in txn["patches"].as_array().expect("patches") {
            let number = |i: usize| patch[i].as_u64().expect("positions are numbers") as usize;
            let ins = patch[2].as_str().expect("inserted text").to_owned();
            edits.push((number(0), number(1), ins));
        }
    }
    Some((text("startContent"), edits, text("endContent")))
}
