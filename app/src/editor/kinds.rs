//! The six kinds of JSON value, and what a value becomes when its kind is switched: every kind
//! can become every other, starting from what the value was (a number's digits as a string,
//! a string that reads as a number as that number, an object's values as an array).

use sync_core::{Map, Number, Value};

/// The kind of a JSON value, as the type switch offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A string.
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
    /// An object.
    Object,
    /// An array.
    Array,
}

impl ValueKind {
    /// Every kind, in the order the type switch lists them.
    pub const ALL: [ValueKind; 6] = [
        ValueKind::String,
        ValueKind::Number,
        ValueKind::Bool,
        ValueKind::Null,
        ValueKind::Object,
        ValueKind::Array,
    ];

    /// The kind of `value`.
    pub fn of(value: &Value) -> ValueKind {
        match value {
            Value::String(_) => ValueKind::String,
            Value::Number(_) => ValueKind::Number,
            Value::Bool(_) => ValueKind::Bool,
            Value::Null => ValueKind::Null,
            Value::Object(_) => ValueKind::Object,
            Value::Array(_) => ValueKind::Array,
        }
    }

    /// Its name, for people.
    pub fn label(self) -> &'static str {
        match self {
            ValueKind::String => "string",
            ValueKind::Number => "number",
            ValueKind::Bool => "boolean",
            ValueKind::Null => "null",
            ValueKind::Object => "object",
            ValueKind::Array => "array",
        }
    }

    /// Whether it is edited as text in a field (strings and numbers).
    pub fn is_text(self) -> bool {
        matches!(self, ValueKind::String | ValueKind::Number)
    }

    /// What `value` becomes as this kind. `shown`: the text its field shows, if it is being
    /// edited as text (what the user sees counts, even before it is applied).
    pub fn convert(self, value: &Value, shown: Option<&str>) -> Value {
        let text = || match (shown, value) {
            (Some(shown), _) => shown.to_owned(),
            (None, Value::String(s)) => s.to_string(),
            (None, Value::Null) => String::new(),
            (None, other) => other.to_json(),
        };
        match self {
            ValueKind::String => Value::from(text().as_str()),
            ValueKind::Number => Number::parse(text().trim())
                .or_else(|| match value {
                    Value::Bool(b) => Number::parse(if *b { "1" } else { "0" }),
                    _ => None,
                })
                .map_or_else(|| Value::from(0), Value::Number),
            // `true`, or a number other than zero.
            ValueKind::Bool => Value::Bool(match value {
                Value::Bool(b) if shown.is_none() => *b,
                _ => {
                    let text = text();
                    let text = text.trim();
                    text == "true" || Number::parse(text).is_some_and(|n| n.as_f64() != 0.0)
                }
            }),
            ValueKind::Null => Value::Null,
            ValueKind::Object => match value {
                Value::Object(members) => Value::Object(members.clone()),
                // An array's items keep their order, under their indexes.
                Value::Array(items) => {
                    let mut members = Map::new();
                    for (i, item) in items.iter().enumerate() {
                        members.insert(i.to_string(), item.clone());
                    }
                    Value::Object(members)
                }
                _ => Value::Object(Map::new()),
            },
            ValueKind::Array => match value {
                Value::Array(items) => Value::Array(items.clone()),
                Value::Object(members) => Value::Array(members.values().cloned().collect()),
                _ => Value::Array(Vec::new()),
            },
        }
    }
}

/// The text a field shows for `value`, if it is edited as text.
pub fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::ValueKind;
    use sync_core::Value;

    fn json(text: &str) -> Value {
        Value::parse(text).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn every_kind_becomes_every_other() {
        let values = [
            r#""12""#,
            r#""hello""#,
            "3.50",
            "0",
            "true",
            "false",
            "null",
            r#"{"a": 1, "b": [2]}"#,
            r#"[1, "x"]"#,
        ];
        for text in values {
            let value = json(text);
            for kind in ValueKind::ALL {
                let converted = kind.convert(&value, None);
                assert_eq!(ValueKind::of(&converted), kind, "{text} as {kind:?}");
            }
        }
        let as_kind = |text: &str, kind: ValueKind| kind.convert(&json(text), None).to_json();
        assert_eq!(as_kind(r#""12""#, ValueKind::Number), "12");
        assert_eq!(as_kind(r#""hello""#, ValueKind::Number), "0");
        assert_eq!(as_kind("3.50", ValueKind::String), r#""3.50""#);
        assert_eq!(as_kind("true", ValueKind::Number), "1");
        assert_eq!(as_kind("0", ValueKind::Bool), "false");
        assert_eq!(as_kind("null", ValueKind::String), r#""""#);
        assert_eq!(
            as_kind(r#"{"a": 1, "b": [2]}"#, ValueKind::Array),
            "[1,[2]]"
        );
        assert_eq!(
            as_kind(r#"[1, "x"]"#, ValueKind::Object),
            r#"{"0":1,"1":"x"}"#
        );
        assert_eq!(as_kind(r#"[1, "x"]"#, ValueKind::String), r#""[1,\"x\"]""#);
        // What the field shows counts, before it is applied.
        let typed = ValueKind::Number.convert(&json(r#""a""#), Some("42"));
        assert_eq!(typed.to_json(), "42");
        assert_eq!(
            ValueKind::Bool.convert(&json("1"), Some("true")).to_json(),
            "true"
        );
        // A number being edited as 1 is true, as 0 false.
        let bool_of = |shown| ValueKind::Bool.convert(&json("1"), Some(shown)).to_json();
        assert_eq!(
            (bool_of("1"), bool_of("0")),
            ("true".to_owned(), "false".to_owned())
        );
    }
}
