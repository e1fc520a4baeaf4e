//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

pub mod concurrent;
pub mod net;
pub mod strategy;

use std::collections::HashMap;
use std::hash::Hash;

use sync_core::{Pointer, Value};

/// SplitMix64: a tiny deterministic generator, so a seed replays a case exactly.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// One of `items`, if there are any.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }
}

/// Every location in `doc`, root first, in document order.
pub fn paths(doc: &Value) -> Vec<Pointer> {
    fn walk(v: &Value, at: &mut Pointer, out: &mut Vec<Pointer>) {
        out.push(at.clone());
        match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    at.push(i.to_string());
                    walk(item, at, out);
                    at.pop();
                }
            }
            Value::Object(map) => {
                for (k, item) in map.iter() {
                    at.push(k);
                    walk(item, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut Pointer::root(), &mut out);
    out
}

/// The fewest inserts and deletes that turn the list `a` of distinct ids into `b`:
/// `|a| + |b| - 2 * LCS`, the LCS found as the longest increasing run of positions in `a`.
pub fn minimal_edits<T: Hash + Eq>(a: &[T], b: &[T]) -> usize {
    let at: HashMap<&T, usize> = a.iter().enumerate().map(|(i, id)| (id, i)).collect();
    let mut tails: Vec<usize> = Vec::new();
    for i in b.iter().filter_map(|id| at.get(id).copied()) {
        let k = tails.partition_point(|t| *t < i);
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    a.len() + b.len() - 2 * tails.len()
}
