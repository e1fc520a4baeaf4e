//! The state hash: a stable hash of a document's content that replicas compare with the
//! Authority's, and its wire form.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh64::{Xxh64, xxh64};

use crate::value::Value;

/// A document's state hash, written on the wire as 16 lowercase hex digits (a JSON number
/// would lose bits in JavaScript).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateHash(pub u64);

impl std::fmt::Display for StateHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for StateHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StateHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<StateHash, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        let valid = text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit());
        valid
            .then(|| u64::from_str_radix(&text, 16).ok())
            .flatten()
            .map(StateHash)
            .ok_or_else(|| serde::de::Error::custom("a state hash is 16 hex digits"))
    }
}

/// A stable hash of a document's content (numbers by value, members in any order), so replicas
/// can check that they hold what the Authority holds: XXH64 (seed 0) over the canonical encoding
/// that `docs/PROTOCOL.md` specifies, the same on every platform and build.
pub fn state_hash(doc: &Value) -> StateHash {
    let mut pool = Vec::new();
    let mut h = Feed::default();
    hash_value(doc, &mut h, &mut pool);
    StateHash(h.digest())
}

/// XXH64 of everything fed, in one shot while that is short (most object members are), streamed
/// once it grows.
#[derive(Default)]
struct Feed {
    buf: Vec<u8>,
    stream: Option<Xxh64>,
}

impl Feed {
    /// What is buffered before it is streamed.
    const BUFFER: usize = 4096;

    fn update(&mut self, bytes: &[u8]) {
        if self.buf.len() + bytes.len() > Feed::BUFFER {
            let stream = self.stream.get_or_insert_with(|| Xxh64::new(0));
            stream.update(&self.buf);
            self.buf.clear();
            if bytes.len() > Feed::BUFFER {
                stream.update(bytes);
                return;
            }
        }
        self.buf.extend_from_slice(bytes);
    }

    fn digest(&mut self) -> u64 {
        let digest = match &mut self.stream {
            Some(stream) => {
                stream.update(&self.buf);
                stream.digest()
            }
            None => xxh64(&self.buf, 0),
        };
        self.buf.clear();
        self.stream = None;
        digest
    }
}

/// Feeds the canonical encoding of `v`; `pool` keeps the feeds of object members for reuse.
fn hash_value(v: &Value, h: &mut Feed, pool: &mut Vec<Feed>) {
    match v {
        Value::Null => h.update(b"n"),
        Value::Bool(b) => h.update(if *b { b"t" } else { b"f" }),
        Value::Number(n) => {
            h.update(b"#");
            n.with_normal_form(|text| h.update(text));
        }
        Value::String(t) => {
            h.update(b"\"");
            h.update(&(t.len_bytes() as u64).to_le_bytes());
            t.chunks().for_each(|c| h.update(c.as_bytes()));
        }
        Value::Array(items) => {
            h.update(b"[");
            h.update(&(items.len() as u64).to_le_bytes());
            items.iter().for_each(|item| hash_value(item, h, pool));
        }
        Value::Object(map) => {
            // Order-independent: the sum of the members' own hashes.
            let mut m = pool.pop().unwrap_or_default();
            let sum = map.iter().fold(0u64, |sum, (k, item)| {
                m.update(&(k.len() as u64).to_le_bytes());
                m.update(k.as_bytes());
                hash_value(item, &mut m, pool);
                sum.wrapping_add(m.digest())
            });
            pool.push(m);
            h.update(b"{");
            h.update(&(map.len() as u64).to_le_bytes());
            h.update(&sum.to_le_bytes());
        }
    }
}
