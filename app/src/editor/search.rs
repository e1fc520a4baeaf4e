//! Search over keys and values, in document order, a slice at a time.

use std::time::{Duration, Instant};

use sync_core::{Pointer, Value};

use super::walk::Walk;

/// How many matches a scan keeps (it counts them all). Past this, a search names too much of
/// the document to step through one match at a time.
pub const KEPT_MATCHES: usize = 100_000;

/// A search through a document that can stop anywhere and go on later, so that searching a
/// large document never freezes the window: matches come in document order as it goes.
///
/// The nodes whose key or (scalar) value contains the query match, ignoring case; numbers,
/// booleans and `null` by their JSON text. An empty query matches nothing. A scan belongs to
/// one state of the document: after the document changes, start a new one.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The query, lowercased.
    query: String,
    walk: Walk,
    /// The first [`KEPT_MATCHES`] matches.
    found: Vec<Pointer>,
    count: usize,
}

impl Default for Scan {
    /// A scan for nothing, done.
    fn default() -> Scan {
        Scan::new("")
    }
}

impl Scan {
    /// A scan for `query`, not yet started.
    pub fn new(query: &str) -> Scan {
        let query = query.to_lowercase();
        let mut walk = Walk::new();
        if query.is_empty() {
            walk.run(&Value::Null, 0, |_| {});
        }
        Scan {
            query,
            walk,
            found: Vec::new(),
            count: 0,
        }
    }

    /// Whether the whole document has been searched.
    pub fn is_done(&self) -> bool {
        self.walk.is_done()
    }

    /// The matches found so far (the first [`KEPT_MATCHES`] of them), in document order.
    pub fn matches(&self) -> &[Pointer] {
        &self.found
    }

    /// How many matches have been found so far, kept or not.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Goes on searching `doc` for about `budget`, at least a few thousand nodes; returns
    /// whether it is done.
    pub fn run_for(&mut self, doc: &Value, budget: Duration) -> bool {
        let start = Instant::now();
        while !self.run(doc, 4096) && start.elapsed() < budget {}
        self.is_done()
    }

    /// Goes on searching `doc` for at most `nodes` more nodes; returns whether it is done.
    pub fn run(&mut self, doc: &Value, nodes: usize) -> bool {
        let Scan {
            query,
            walk,
            found,
            count,
        } = self;
        walk.run(doc, nodes, |visit| {
            let key_matched = match visit.parent {
                Some((Value::Object(map), index)) => map
                    .get_index(index)
                    .is_some_and(|(key, _)| contains(key, query)),
                _ => false,
            };
            let value_matched = match visit.value {
                Value::String(text) => contains(&text.as_str(), query),
                Value::Number(_) | Value::Bool(_) | Value::Null => {
                    contains(&visit.value.to_json(), query)
                }
                Value::Object(_) | Value::Array(_) => false,
            };
            if key_matched || value_matched {
                *count += 1;
                if found.len() < KEPT_MATCHES {
                    found.push(visit.pointer(doc));
                }
            }
        })
    }
}

/// The nodes whose key or (scalar) value contains `query`, ignoring case, in document order
/// (all of them, searched at once; see [`Scan`]).
pub fn search(doc: &Value, query: &str) -> Vec<Pointer> {
    let mut scan = Scan::new(query);
    scan.run(doc, usize::MAX);
    scan.found
}

/// Whether `text`, lowercased, contains `query` (already lowercase). ASCII text is compared in
/// place; other text is lowered first, so that case folding is Unicode's (`K`, the Kelvin
/// sign, lowers to `k`).
fn contains(text: &str, query: &str) -> bool {
    if text.is_ascii() && query.is_ascii() {
        let (text, query) = (text.as_bytes(), query.as_bytes());
        return text.len() >= query.len()
            && text
                .windows(query.len())
                .any(|w| w.eq_ignore_ascii_case(query));
    }
    text.to_lowercase().contains(query)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn keys_and_values_match_in_document_order_ignoring_case() {
        let doc = Value::parse(
            r#"{"Name": "Ann", "team": [{"name": "Bob"}, "annex"], "n": 42, "ok": null}"#,
        )
        .unwrap();
        let paths: Vec<String> = search(&doc, "ann")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(paths, ["/Name", "/team/1"]);
        let paths: Vec<String> = search(&doc, "NAME")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(paths, ["/Name", "/team/0/name"]);
        assert_eq!(search(&doc, "42").len(), 1);
        assert_eq!(search(&doc, "null").len(), 1);
        assert!(search(&doc, "").is_empty());
        // Unicode case folding where the text is not ASCII: the Kelvin sign lowers to k.
        let kelvin = Value::parse(r#"{"t": "300 \u212a"}"#).unwrap();
        assert_eq!(search(&kelvin, "k").len(), 1);
        assert!(search(&doc, "zzz").is_empty());
    }

    #[test]
    fn a_scan_in_slices_of_any_size_finds_what_one_pass_finds() {
        let doc = Value::parse(
            r#"{"a": {"ab": [], "b": {}, "c": ["xa", {"a": null}, [[["ba"]]]]}, "z": "A",
                "": {"deep": {"er": {"est": "a"}}}, "last": [1, 2, "a"]}"#,
        )
        .unwrap();
        let whole = search(&doc, "a");
        assert_eq!(whole.len(), 9);
        for slice in 1..20 {
            let mut scan = Scan::new("a");
            let mut slices = 0;
            while !scan.run(&doc, slice) {
                slices += 1;
                assert!(slices < 100);
            }
            assert_eq!(scan.matches(), whole, "slices of {slice} nodes");
            assert_eq!(scan.count(), whole.len());
        }
    }
}
