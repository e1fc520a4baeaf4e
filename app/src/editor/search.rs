//! Search over keys and values, in document order.

use sync_core::pointer::Token;
use sync_core::{Pointer, Value};

/// The nodes whose key or (scalar) value contains `query`, ignoring case, in document order.
/// Numbers, booleans and `null` match by their JSON text. An empty query matches nothing.
///
/// It walks the whole document on every query, so it keeps one path buffer (not a path per
/// node) and compares ASCII text without lowering it into a copy.
pub fn search(doc: &Value, query: &str) -> Vec<Pointer> {
    let query = query.to_lowercase();
    if query.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    // (value, depth, key under its parent, whether that key matched); the path of the node
    // being visited is `path`, cut to its depth.
    let mut stack: Vec<(&Value, usize, Token, bool)> = vec![(doc, 0, Token::default(), false)];
    let mut path: Vec<Token> = Vec::new();
    while let Some((value, depth, key, key_matched)) = stack.pop() {
        path.truncate(depth.saturating_sub(1));
        if depth > 0 {
            path.push(key);
        }
        let value_matched = match value {
            Value::String(text) => contains(&text.as_str(), &query),
            Value::Number(_) | Value::Bool(_) | Value::Null => contains(&value.to_json(), &query),
            Value::Object(_) | Value::Array(_) => false,
        };
        if key_matched || value_matched {
            found.push(Pointer::from_tokens(path.iter().cloned()));
        }
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter().rev() {
                    stack.push((child, depth + 1, Token::from(key), contains(key, &query)));
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate().rev() {
                    stack.push((child, depth + 1, Token::from(i.to_string()), false));
                }
            }
            _ => {}
        }
    }
    found
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
}
