//! The document model: a JSON value that round-trips losslessly and edits cheaply.
//!
//! [`Value`] is what every Concord document is. It differs from `serde_json::Value` in three
//! ways that the editor and the sync engine rely on:
//! - numbers keep their text ([`Number`]), so `1.10` and `1e400` survive a round trip;
//! - objects keep member order ([`Map`]), so a saved file is the file that was opened;
//! - long strings are ropes ([`Text`]), so typing into them costs O(log n).
//!
//! Nesting is limited to [`MAX_DEPTH`] containers: the parser refuses deeper documents and
//! operations refuse to build them, so no recursive walk over a document can overflow the stack.

mod layout;
mod map;
mod number;
mod parse;
mod serde_impl;
mod text;
mod write;

use std::fmt;
use std::hash::{Hash, Hasher};

pub use map::{IntoIter, Iter, Key, Map, SMALL};
pub use number::Number;
pub use parse::{ParseError, ParseErrorKind};
pub use serde_impl::FromSerdeError;
pub use text::{ROPE_THRESHOLD, SpliceOutOfRange, Text};

/// The deepest nesting of arrays and objects a document may have.
///
/// Chosen below `serde_json`'s recursion limit (128) with room for the protocol envelope around a
/// document, so every document can also travel inside a message.
pub const MAX_DEPTH: usize = 100;

/// How a document's strings are escaped beyond what JSON requires.
///
/// Writers differ: `serde_json` and `JSON.stringify` write non-ASCII characters as they are,
/// Python's `json.dumps` escapes them (`"caf\u00e9"`), PHP also escapes `/`. The parser notes
/// the document's habit (the majority, for a mixed one) so that saving an edited file changes
/// only what was edited. Quotes, backslashes and control characters are always escaped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Style {
    /// Write non-ASCII characters as `\uXXXX` escapes (surrogate pairs beyond U+FFFF).
    pub escape_non_ascii: bool,
    /// Write `/` as `\/`.
    pub escape_slash: bool,
    /// Use `A`-`F` rather than `a`-`f` in `\u` escapes.
    pub uppercase_hex: bool,
    /// How the text was laid out: on one line, or indented by what unit.
    pub layout: Layout,
    /// In indented text, the containers kept on one line (as `["a", "b"]` in a file written
    /// by hand or by Prettier), if the text had any.
    pub inline: Option<Inline>,
}

/// Which containers indented text writes on one line. Where the file wrote every container
/// below some depth under the document's members on one line (a list of records, one per
/// line), all of them there, however long (`depth`); otherwise those of the kinds the file wrote so whose one-line form ends
/// within the widest line the file gave one (short lists of tags, a point's coordinates). A
/// file that wrote everything expanded (as `JSON.stringify(v, null, 2)` does) has no rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Inline {
    /// Every non-empty container nested this deep or deeper (the document's members are at
    /// depth 1, so this is 2 or more) is on one line, and the others are expanded; when set,
    /// the other fields but the spacing and padding do not apply.
    pub depth: Option<u32>,
    /// The column (in bytes, indentation and key included) a one-line container may end at.
    pub width: u32,
    /// Whether arrays may be written on one line.
    pub arrays: bool,
    /// Whether objects may be written on one line.
    pub objects: bool,
    /// Whether a container on one line may hold other non-empty containers.
    pub nested: bool,
    /// A space after each `,` and `:` on such a line (`[1, 2]`, not `[1,2]`).
    pub spaced: bool,
    /// A space inside an object's braces (`{ "a": 1 }`, as Prettier writes).
    pub padded: bool,
}

/// How a document's text is laid out. The parser notes it (from the first indented line) so
/// that saving a minified file keeps it minified, and one indented by tabs or four spaces keeps
/// its indentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Indented by this many spaces per level (two by default, as `serde_json` and
    /// `JSON.stringify(value, null, 2)` write).
    Spaces(u8),
    /// Indented by one tab per level.
    Tabs,
    /// All on one line, with no space between tokens.
    Compact,
    /// All on one line, with a space after each `:` and `,` (as Python's `json.dumps` writes).
    Spaced,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout::Spaces(2)
    }
}

/// A JSON value.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept exactly as written.
    Number(Number),
    /// A string.
    String(Text),
    /// An array.
    Array(Vec<Value>),
    /// An object, members in document order.
    Object(Map),
}

impl Value {
    /// Parses JSON text losslessly (see [`parse`](Value::parse_slice) for bytes).
    ///
    /// Refuses duplicate keys (one of them would be lost) and nesting deeper than [`MAX_DEPTH`];
    /// errors carry the line and column.
    pub fn parse(text: &str) -> Result<Value, ParseError> {
        parse::parse(text).map(|(value, _)| value)
    }

    /// Parses JSON from bytes, which must be UTF-8 (a leading byte-order mark is skipped).
    pub fn parse_slice(bytes: &[u8]) -> Result<Value, ParseError> {
        parse::parse_slice(bytes).map(|(value, _)| value)
    }

    /// Parses JSON text and reports how its strings were escaped, so that
    /// [`to_json_styled`](Value::to_json_styled) can write the document back as it was.
    pub fn parse_styled(text: &str) -> Result<(Value, Style), ParseError> {
        parse::parse(text)
    }

    /// [`parse_styled`](Value::parse_styled) for bytes, as [`parse_slice`](Value::parse_slice).
    pub fn parse_slice_styled(bytes: &[u8]) -> Result<(Value, Style), ParseError> {
        parse::parse_slice(bytes)
    }

    /// Compact JSON text.
    pub fn to_json(&self) -> String {
        self.to_json_styled(Style::default(), false)
    }

    /// JSON text indented by two spaces per level, as `serde_json::to_string_pretty` writes it.
    pub fn to_json_pretty(&self) -> String {
        self.to_json_styled(Style::default(), true)
    }

    /// JSON text laid out and escaped as `style` says: what saving a file writes, so that an
    /// edited file changes only where it was edited.
    pub fn to_json_as(&self, style: Style) -> String {
        let one_line = matches!(style.layout, Layout::Compact | Layout::Spaced);
        self.to_json_styled(style, !one_line)
    }

    /// JSON text with strings escaped in `style`, on one line (spaced if `style` is) or
    /// indented (by `style`'s unit; two spaces for a one-line style).
    pub fn to_json_styled(&self, style: Style, pretty: bool) -> String {
        let mut out = String::new();
        write::write(self, &mut out, pretty.then_some(0), style);
        out
    }

    /// The JSON type's name: `null`, `boolean`, `number`, `string`, `array` or `object`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_text(&self) -> Option<&Text> {
        match self {
            Value::String(t) => Some(t),
            _ => None,
        }
    }

    /// The array's items, if this is an array.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The object's members, if this is an object.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Whether this is an array or an object.
    pub fn is_container(&self) -> bool {
        matches!(self, Value::Array(_) | Value::Object(_))
    }

    /// The number of containers on the deepest path: `0` for a scalar, `1` for `[1]`.
    pub fn depth(&self) -> usize {
        match self {
            Value::Array(items) => 1 + items.iter().map(Value::depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(Value::depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// The number of values in the tree, this one included.
    pub fn node_count(&self) -> usize {
        match self {
            Value::Array(items) => 1 + items.iter().map(Value::node_count).sum::<usize>(),
            Value::Object(map) => 1 + map.values().map(Value::node_count).sum::<usize>(),
            _ => 1,
        }
    }
}

impl Hash for Value {
    /// Consistent with `==`: numbers hash by value and objects regardless of member order.
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Number(n) => n.hash(state),
            Value::String(t) => t.hash(state),
            Value::Array(items) => {
                items.len().hash(state);
                items.iter().for_each(|v| v.hash(state));
            }
            Value::Object(map) => {
                // Order-independent: combine the members' own hashes commutatively.
                let mut sum = 0u64;
                for (k, v) in map.iter_bytes() {
                    let mut h = member_hasher();
                    k.hash(&mut h);
                    v.hash(&mut h);
                    sum = sum.wrapping_add(h.finish());
                }
                map.len().hash(state);
                sum.hash(state);
            }
        }
    }
}

/// A fast hasher with a fixed seed, for combining the hashes of object members.
fn member_hasher() -> impl Hasher {
    use std::hash::BuildHasher as _;
    foldhash::fast::FixedState::with_seed(0x0063_6f6e_636f_7264).build_hasher()
}

impl fmt::Display for Value {
    /// Compact JSON; `{:#}` writes it indented.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.write_str(&self.to_json_pretty())
        } else {
            f.write_str(&self.to_json())
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Number(i.into())
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Value {
        Value::Number(i.into())
    }
}

impl From<u64> for Value {
    fn from(u: u64) -> Value {
        Value::Number(u.into())
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s.into())
    }
}

impl From<Text> for Value {
    fn from(t: Text) -> Value {
        Value::String(t)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Value {
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_ignores_member_order_and_number_spelling() {
        let a = Value::parse(r#"{"a": 1, "b": [1.0, {"x": null}]}"#).unwrap();
        let b = Value::parse(r#"{"b": [1, {"x": null}], "a": 1.00}"#).unwrap();
        assert_eq!(a, b);
        let hash = |v: &Value| {
            let mut h = std::hash::DefaultHasher::new();
            v.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(
            a,
            Value::parse(r#"{"a": 1, "b": [1.0, {"x": false}]}"#).unwrap()
        );
    }

    #[test]
    fn depth_and_node_count() {
        let v = Value::parse(r#"{"a": [1, [2]], "b": {}}"#).unwrap();
        assert_eq!(v.depth(), 3);
        assert_eq!(v.node_count(), 6);
        assert_eq!(Value::from(3).depth(), 0);
    }

    #[test]
    fn value_stays_small() {
        // Documents hold millions of values: keep the enum at four words.
        assert!(
            std::mem::size_of::<Value>() <= 32,
            "{}",
            std::mem::size_of::<Value>()
        );
    }
}
