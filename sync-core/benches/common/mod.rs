//! Inputs shared by the benchmarks: a deterministic generator of JSON documents and the
//! automerge-paper editing trace.

#![allow(dead_code)]

use std::io::Read as _;
use std::path::PathBuf;

use sync_core::{Map, Value};

/// SplitMix64: a tiny deterministic generator, so every run measures the same documents.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn word(&mut self) -> String {
        const SYLLABLES: [&str; 16] = [
            "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "an", "el", "or", "us", "qi", "zo",
            "be", "da",
        ];
        (0..2 + self.below(3))
            .map(|_| SYLLABLES[self.below(SYLLABLES.len())])
            .collect()
    }
}

pub fn record(rng: &mut Rng, id: usize) -> Value {
    let mut address = Map::new();
    address.insert(
        "street",
        Value::from(format!("{} {} street", rng.below(200), rng.word())),
    );
    address.insert("city", Value::from(rng.word()));
    address.insert("zip", Value::from(format!("{:05}", rng.below(99_999))));
    let mut m = Map::new();
    m.insert("id", Value::from(id as i64));
    m.insert(
        "name",
        Value::from(format!("{} {}", rng.word(), rng.word())),
    );
    m.insert(
        "email",
        Value::from(format!("{}@{}.example", rng.word(), rng.word())),
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
                .map(|_| Value::from(rng.word()))
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
