//! serde support, so values travel inside operations and protocol messages.
//!
//! The workspace builds `serde_json` with `arbitrary_precision`, so numbers inside messages keep
//! every digit (`serde_json` does spell exponents as `e+`/`e-`: `1E5` arrives as `1e+5`, the same
//! value). Deserializing goes through `serde_json::Value` because that is the public way to read
//! such numbers; values in messages are small, and documents read from files use the faster
//! parser in [`super::parse`].

use std::str::FromStr;

use serde::de::Error as _;
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{MAX_DEPTH, Map, Number, Text, Value};

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let number = serde_json::Number::from_str(&self.to_string()).map_err(S::Error::custom)?;
        number.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Number, D::Error> {
        let number = serde_json::Number::deserialize(deserializer)?;
        Number::parse(&number.to_string())
            .ok_or_else(|| D::Error::custom(format!("invalid number {number}")))
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_str())
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(t) => t.serialize(serializer),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map.iter() {
                    out.serialize_entry(k, v)?;
                }
                out.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Value::try_from(value).map_err(D::Error::custom)
    }
}

/// A `serde_json::Value` that cannot become a document value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FromSerdeError {
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH} arrays and objects")]
    TooDeep,
    /// A number `serde_json` holds that is not JSON (only possible without `arbitrary_precision`).
    #[error("invalid number {0}")]
    InvalidNumber(String),
}

impl TryFrom<serde_json::Value> for Value {
    type Error = FromSerdeError;

    fn try_from(value: serde_json::Value) -> Result<Value, FromSerdeError> {
        from_serde(value, 0)
    }
}

fn from_serde(value: serde_json::Value, depth: usize) -> Result<Value, FromSerdeError> {
    Ok(match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => {
            let text = n.to_string();
            Value::Number(Number::parse(&text).ok_or(FromSerdeError::InvalidNumber(text))?)
        }
        serde_json::Value::String(s) => Value::String(Text::from(s)),
        serde_json::Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(FromSerdeError::TooDeep);
            }
            Value::Array(
                items
                    .into_iter()
                    .map(|v| from_serde(v, depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        serde_json::Value::Object(members) => {
            if depth >= MAX_DEPTH {
                return Err(FromSerdeError::TooDeep);
            }
            let mut map = Map::new();
            for (k, v) in members {
                map.insert(k, from_serde(v, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}

impl From<&Value> for serde_json::Value {
    /// Exact when `serde_json` has `arbitrary_precision` (as in this workspace).
    fn from(value: &Value) -> serde_json::Value {
        match value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Number::from_str(&n.to_string())
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::String(t) => serde_json::Value::String(t.to_string()),
            Value::Array(items) => items.iter().map(serde_json::Value::from).collect(),
            Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_digits_through_serde() {
        let text = r#"[1.10,12345678901234567890123,-0,{"b":1,"a":2}]"#;
        let value = Value::parse(text).unwrap();
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, text);
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back.to_json(), text);
    }

    #[test]
    fn exponents_are_normalized_by_serde_json_but_keep_their_value() {
        let back: Value = serde_json::from_str("[1e400, 2E5]").unwrap();
        assert_eq!(back.to_json(), "[1e+400,2e+5]");
        assert_eq!(back, Value::parse("[1e400, 2E5]").unwrap());
    }

    #[test]
    fn deserializing_refuses_deep_values() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        let err = serde_json::from_str::<Value>(&deep).unwrap_err();
        assert!(err.to_string().contains("nesting deeper"), "{err}");
    }
}
