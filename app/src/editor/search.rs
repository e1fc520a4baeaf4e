//! Search over keys and values, in document order.

use sync_core::pointer::Token;
use sync_core::{Pointer, Value};

/// The nodes whose key or (scalar) value contains `query`, ignoring case, in document order.
/// Numbers, booleans and `null` match by their JSON text. An empty query matches nothing.
pub fn search(doc: &Value, query: &str) -> Vec<Pointer> {
    let query = query.to_lowercase();
    if query.is_empty() {
        return Vec::new();
    }
    let contains = |text: &str| text.to_lowercase().contains(&query);
    let mut found = Vec::new();
    // (value, path tokens up to it, whether its key matched)
    let mut stack: Vec<(&Value, Vec<Token>, bool)> = vec![(doc, Vec::new(), false)];
    while let Some((value, path, key_matched)) = stack.pop() {
        let value_matched = match value {
            Value::String(text) => contains(&text.to_string()),
            Value::Number(_) | Value::Bool(_) | Value::Null => contains(&value.to_json()),
            Value::Object(_) | Value::Array(_) => false,
        };
        if key_matched || value_matched {
            found.push(Pointer::from_tokens(path.iter().cloned()));
        }
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter().rev() {
                    let mut child_path = path.clone();
                    child_path.push(Token::from(key));
                    stack.push((child, child_path, contains(key)));
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate().rev() {
                    let mut child_path = path.clone();
                    child_path.push(Token::from(i.to_string()));
                    stack.push((child, child_path, false));
                }
            }
            _ => {}
        }
    }
    found
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
        assert!(search(&doc, "zzz").is_empty());
    }
}
