//! RFC 7396 JSON Merge Patch: apply one, and make one from two documents.
//!
//! A merge patch mirrors the document's shape: members present in the patch are set, `null`
//! members are removed, arrays and scalars are replaced whole. Its one blind spot follows from
//! that: it **cannot set a member to `null`**, because `null` in a patch means "remove". [`diff`]
//! therefore refuses, with the paths concerned, to make a patch for a target that has `null`
//! members the source did not already have; use a JSON Patch ([`crate::diff`]) for those.

use crate::pointer::Pointer;
use crate::value::{Map, Value};

/// Applies `patch` to `target` (RFC 7396 `MergePatch`) and returns the result.
///
/// ```
/// use sync_core::{Value, merge};
///
/// let doc = Value::parse(r#"{"title": "Hi", "author": {"name": "Ann", "email": "a@x"}}"#)?;
/// let patch = Value::parse(r#"{"title": "Hello", "author": {"email": null}}"#)?;
/// let merged = merge::merged(doc, &patch);
/// assert_eq!(merged.to_json(), r#"{"title":"Hello","author":{"name":"Ann"}}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn merged(target: Value, patch: &Value) -> Value {
    let Value::Object(members) = patch else {
        return patch.clone();
    };
    let mut map = match target {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    for (key, value) in members.iter() {
        if value.is_null() {
            map.remove(key);
        } else {
            let current = map.get_mut(key).map(std::mem::take).unwrap_or_default();
            let next = merged(current, value);
            map.insert(key, next);
        }
    }
    Value::Object(map)
}

/// Why no merge patch turns the source into the target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a merge patch cannot set a member to null (null in a merge patch means \"remove\"): {}; \
     use a JSON Patch instead",
    paths.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
)]
pub struct NullNotExpressible {
    /// The members the target sets to `null`.
    pub paths: Vec<Pointer>,
}

/// A merge patch that turns `from` into `to`, or the members it could not express.
///
/// Objects are compared member by member; anything else that differs is replaced whole. Equal
/// objects give the empty patch `{}`; equal non-objects give the document itself, since `{}`
/// would turn them into an empty object.
pub fn diff(from: &Value, to: &Value) -> Result<Value, NullNotExpressible> {
    let mut nulls = Vec::new();
    let patch = diff_at(from, to, &mut Pointer::root(), &mut nulls);
    if !nulls.is_empty() {
        return Err(NullNotExpressible { paths: nulls });
    }
    Ok(patch.unwrap_or_else(|| match to {
        Value::Object(_) => Value::Object(Map::new()),
        other => other.clone(),
    }))
}

fn diff_at(from: &Value, to: &Value, at: &mut Pointer, nulls: &mut Vec<Pointer>) -> Option<Value> {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut patch = Map::new();
            for (key, _) in a.iter().filter(|(k, _)| !b.contains_key(k)) {
                patch.insert(key, Value::Null);
            }
            for (key, new) in b.iter() {
                at.push(key);
                let member = match a.get(key) {
                    Some(old) if new.is_null() && !old.is_null() => {
                        nulls.push(at.clone());
                        None
                    }
                    Some(old) => diff_at(old, new, at, nulls),
                    None => literal(new, at, nulls),
                };
                at.pop();
                if let Some(member) = member {
                    patch.insert(key, member);
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        _ if from == to => None,
        _ => literal(to, at, nulls),
    }
}

/// `value` as a patch that sets it whole: fine unless it has `null` members, which the patch
/// would read as removals.
fn literal(value: &Value, at: &mut Pointer, nulls: &mut Vec<Pointer>) -> Option<Value> {
    if value.is_null() && !at.is_root() {
        nulls.push(at.clone());
        return None;
    }
    find_null_members(value, at, nulls);
    Some(value.clone())
}

fn find_null_members(value: &Value, at: &mut Pointer, nulls: &mut Vec<Pointer>) {
    if let Value::Object(map) = value {
        for (key, member) in map.iter() {
            at.push(key);
            if member.is_null() {
                nulls.push(at.clone());
            } else {
                find_null_members(member, at, nulls);
            }
            at.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Value {
        Value::parse(text).unwrap()
    }

    #[test]
    fn diff_then_merge_round_trips() {
        let a = v(r#"{"a": 1, "b": {"c": [1, 2], "d": "x"}, "e": true}"#);
        let b = v(r#"{"a": 1, "b": {"c": [2], "f": {"g": 0}}}"#);
        let patch = diff(&a, &b).unwrap();
        assert_eq!(
            patch.to_json(),
            r#"{"e":null,"b":{"d":null,"c":[2],"f":{"g":0}}}"#
        );
        assert_eq!(merged(a, &patch), b);
    }

    #[test]
    fn null_members_cannot_be_expressed() {
        let err = diff(
            &v(r#"{"a": 1}"#),
            &v(r#"{"a": null, "b": {"c": null}, "d": [null]}"#),
        )
        .unwrap_err();
        assert_eq!(
            err.paths,
            vec![
                Pointer::parse("/a").unwrap(),
                Pointer::parse("/b/c").unwrap()
            ]
        );
        assert!(err.to_string().contains("/a, /b/c"), "{err}");
        // A null that was already there needs no patch.
        assert_eq!(
            diff(&v(r#"{"a": null}"#), &v(r#"{"a": null}"#))
                .unwrap()
                .to_json(),
            "{}"
        );
        // At the root, null is just a value.
        assert_eq!(diff(&v("1"), &v("null")).unwrap(), Value::Null);
    }
}
