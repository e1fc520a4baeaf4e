//! RFC 6901 JSON Pointers: the paths of every operation.
//!
//! A [`Pointer`] holds its reference tokens unescaped (`/a~1b` is the one token `a/b`) and writes
//! them escaped again. Array indexes are checked when a pointer meets an array: digits only, no
//! leading zeros, and `-` (the slot after the last item) only where an operation allows it.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::value::Value;

/// One unescaped reference token.
pub type Token = CompactString;

/// A JSON Pointer (RFC 6901). The empty pointer is the whole document.
///
/// Shared and copied on write: operations, their inverses and the logs clone paths constantly,
/// and a clone is a reference-count increment.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pointer(Arc<Vec<Token>>);

/// Why a string is not a JSON Pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    /// A non-empty pointer must start with `/`.
    #[error("JSON Pointer {0:?} must be empty or start with '/'")]
    MissingSlash(String),
    /// `~` must be followed by `0` or `1`.
    #[error(
        "JSON Pointer {pointer:?} has an invalid escape at byte {at} ('~' must be followed by '0' or '1')"
    )]
    BadEscape {
        /// The pointer as given.
        pointer: String,
        /// Byte offset of the `~`.
        at: usize,
    },
}

impl PointerError {
    /// A stable, machine-readable name for the error.
    pub fn code(&self) -> &'static str {
        "invalid_pointer"
    }
}

/// Why a reference token cannot index an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// Not a plain decimal number (`1e0`, `+1`, `a`, empty).
    #[error("is not an array index")]
    NotANumber,
    /// `01`: RFC 6901 forbids leading zeros.
    #[error("has a leading zero")]
    LeadingZero,
    /// `-` names the slot after the last item, which only `add` (and a move or copy target) may
    /// use.
    #[error("'-' (after the last item) is not allowed here")]
    EndNotAllowed,
    /// Past the end of the array.
    #[error("is out of range for an array of {len} items")]
    OutOfRange {
        /// The array's length.
        len: usize,
    },
}

impl Pointer {
    /// The empty pointer: the whole document.
    pub fn root() -> Pointer {
        Pointer::default()
    }

    /// Parses RFC 6901 text: `""` or `/`-separated tokens with `~1` for `/` and `~0` for `~`.
    pub fn parse(text: &str) -> Result<Pointer, PointerError> {
        if text.is_empty() {
            return Ok(Pointer::root());
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(PointerError::MissingSlash(text.to_owned()));
        };
        let mut tokens = Vec::new();
        let mut offset = 1;
        for raw in rest.split('/') {
            tokens.push(unescape(raw).map_err(|at| PointerError::BadEscape {
                pointer: text.to_owned(),
                at: offset + at,
            })?);
            offset += raw.len() + 1;
        }
        Ok(Pointer(Arc::new(tokens)))
    }

    /// A pointer from unescaped tokens.
    pub fn from_tokens<T: Into<Token>>(tokens: impl IntoIterator<Item = T>) -> Pointer {
        Pointer(Arc::new(tokens.into_iter().map(Into::into).collect()))
    }

    /// The unescaped tokens.
    pub fn tokens(&self) -> &[Token] {
        &self.0
    }

    /// Whether this is the whole document.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of tokens (the depth of the target).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether this is the root pointer (no tokens).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The parent's pointer and the last token, or `None` for the root.
    pub fn split_last(&self) -> Option<(Pointer, &str)> {
        let (last, parent) = self.0.split_last()?;
        Some((Pointer(Arc::new(parent.to_vec())), last.as_str()))
    }

    /// The last token, or `None` for the root.
    pub fn last(&self) -> Option<&str> {
        self.0.last().map(Token::as_str)
    }

    /// The pointer to this location's parent, or `None` for the root.
    pub fn parent(&self) -> Option<Pointer> {
        self.split_last().map(|(parent, _)| parent)
    }

    /// The pointer to the child `token` of this location.
    pub fn child(&self, token: impl Into<Token>) -> Pointer {
        let mut tokens = Vec::with_capacity(self.0.len() + 1);
        tokens.extend(self.0.iter().cloned());
        tokens.push(token.into());
        Pointer(Arc::new(tokens))
    }

    /// Appends a token.
    pub fn push(&mut self, token: impl Into<Token>) {
        Arc::make_mut(&mut self.0).push(token.into());
    }

    /// Removes and returns the last token.
    pub fn pop(&mut self) -> Option<Token> {
        Arc::make_mut(&mut self.0).pop()
    }

    /// Whether `self` is `other` or one of its ancestors.
    pub fn is_prefix_of(&self, other: &Pointer) -> bool {
        other.0.starts_with(&self.0)
    }

    /// Whether one of `self` and `other` is the other or inside it.
    pub fn overlaps(&self, other: &Pointer) -> bool {
        self.is_prefix_of(other) || other.is_prefix_of(self)
    }

    /// Whether `self` is a strict ancestor of `other`.
    pub fn is_proper_prefix_of(&self, other: &Pointer) -> bool {
        self.0.len() < other.0.len() && self.is_prefix_of(other)
    }

    /// The value this pointer names in `root`, if there is one.
    pub fn resolve<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        self.0
            .iter()
            .try_fold(root, |v, token| child(v, token).ok().flatten())
    }

    /// The value this pointer names in `root`, mutably.
    pub fn resolve_mut<'v>(&self, root: &'v mut Value) -> Option<&'v mut Value> {
        self.0
            .iter()
            .try_fold(root, |v, token| child_mut(v, token).ok().flatten())
    }
}

/// The value the tokens name in `root`, without building a pointer.
pub(crate) fn resolve_tokens<'v>(root: &'v Value, tokens: &[Token]) -> Option<&'v Value> {
    tokens
        .iter()
        .try_fold(root, |v, token| child(v, token).ok().flatten())
}

/// The child of `v` named by `token`: `Ok(None)` when `v` has no such key or `v` is a scalar,
/// `Err` when `token` cannot index the array `v`.
pub(crate) fn child<'v>(v: &'v Value, token: &str) -> Result<Option<&'v Value>, IndexError> {
    match v {
        Value::Object(map) => Ok(map.get(token)),
        Value::Array(items) => {
            let i = parse_index(token, items.len(), false)?;
            Ok(items.get(i))
        }
        _ => Ok(None),
    }
}

/// Mutable counterpart of [`child`].
pub(crate) fn child_mut<'v>(
    v: &'v mut Value,
    token: &str,
) -> Result<Option<&'v mut Value>, IndexError> {
    match v {
        Value::Object(map) => Ok(map.get_mut(token)),
        Value::Array(items) => {
            let i = parse_index(token, items.len(), false)?;
            Ok(items.get_mut(i))
        }
        _ => Ok(None),
    }
}

/// The array index a token names in an array of `len` items. `-` is `len` when `allow_end`;
/// otherwise every index must be `< len` (or `<= len` with `allow_end`, for inserting).
pub fn parse_index(token: &str, len: usize, allow_end: bool) -> Result<usize, IndexError> {
    if token == "-" {
        return if allow_end {
            Ok(len)
        } else {
            Err(IndexError::EndNotAllowed)
        };
    }
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IndexError::NotANumber);
    }
    if token.len() > 1 && token.starts_with('0') {
        return Err(IndexError::LeadingZero);
    }
    let index = token
        .parse::<usize>()
        .map_err(|_| IndexError::OutOfRange { len })?;
    let limit = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    if index > limit || (!allow_end && len == 0) {
        return Err(IndexError::OutOfRange { len });
    }
    Ok(index)
}

/// Unescapes one token; on error returns the byte offset of the bad `~`.
fn unescape(raw: &str) -> Result<Token, usize> {
    if !raw.contains('~') {
        return Ok(Token::from(raw));
    }
    let mut out = Token::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((at, c)) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some((_, '0')) => out.push('~'),
                Some((_, '1')) => out.push('/'),
                _ => return Err(at),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Appends `token` escaped for a pointer (`~` as `~0`, `/` as `~1`).
fn escape_into(token: &str, out: &mut String) {
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for token in self.0.iter() {
            out.push('/');
            escape_into(token, &mut out);
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl FromStr for Pointer {
    type Err = PointerError;

    fn from_str(s: &str) -> Result<Pointer, PointerError> {
        Pointer::parse(s)
    }
}

impl Serialize for Pointer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Pointer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pointer, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Pointer::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pointer {
        Pointer::parse(s).unwrap()
    }

    #[test]
    fn parses_rfc6901_examples() {
        let doc = Value::parse(
            r#"{"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4,
                "i\\j": 5, "k\"l": 6, " ": 7, "m~n": 8}"#,
        )
        .unwrap();
        let cases = [
            ("", doc.to_json()),
            ("/foo", r#"["bar","baz"]"#.to_owned()),
            ("/foo/0", r#""bar""#.to_owned()),
            ("/", "0".to_owned()),
            ("/a~1b", "1".to_owned()),
            ("/c%d", "2".to_owned()),
            ("/e^f", "3".to_owned()),
            ("/g|h", "4".to_owned()),
            ("/i\\j", "5".to_owned()),
            ("/k\"l", "6".to_owned()),
            ("/ ", "7".to_owned()),
            ("/m~0n", "8".to_owned()),
        ];
        for (pointer, expected) in cases {
            assert_eq!(
                p(pointer).resolve(&doc).map(Value::to_json),
                Some(expected),
                "{pointer}"
            );
            assert_eq!(p(pointer).to_string(), pointer, "round trip");
        }
    }

    #[test]
    fn escapes_unescape_in_order() {
        // "~01" is "~" followed by "1", not "/".
        assert_eq!(p("/~01").tokens(), ["~1"]);
        assert_eq!(Pointer::from_tokens(["~1"]).to_string(), "/~01");
    }

    #[test]
    fn rejects_bad_pointers() {
        assert_eq!(
            Pointer::parse("foo"),
            Err(PointerError::MissingSlash("foo".into()))
        );
        assert_eq!(
            Pointer::parse("/a/b~2"),
            Err(PointerError::BadEscape {
                pointer: "/a/b~2".into(),
                at: 4
            })
        );
        assert!(matches!(
            Pointer::parse("/a~"),
            Err(PointerError::BadEscape { at: 2, .. })
        ));
    }

    #[test]
    fn array_indexes_are_strict() {
        assert_eq!(parse_index("0", 3, false), Ok(0));
        assert_eq!(parse_index("2", 3, false), Ok(2));
        assert_eq!(
            parse_index("3", 3, false),
            Err(IndexError::OutOfRange { len: 3 })
        );
        assert_eq!(parse_index("3", 3, true), Ok(3));
        assert_eq!(parse_index("-", 3, true), Ok(3));
        assert_eq!(parse_index("-", 3, false), Err(IndexError::EndNotAllowed));
        assert_eq!(parse_index("01", 3, false), Err(IndexError::LeadingZero));
        assert_eq!(parse_index("00", 3, false), Err(IndexError::LeadingZero));
        assert_eq!(parse_index("1e0", 3, false), Err(IndexError::NotANumber));
        assert_eq!(parse_index("+1", 3, false), Err(IndexError::NotANumber));
        assert_eq!(parse_index("", 3, false), Err(IndexError::NotANumber));
        assert_eq!(
            parse_index("0", 0, false),
            Err(IndexError::OutOfRange { len: 0 })
        );
        assert_eq!(
            parse_index("99999999999999999999999", 3, true),
            Err(IndexError::OutOfRange { len: 3 })
        );
    }

    #[test]
    fn prefixes() {
        assert!(p("/a").is_proper_prefix_of(&p("/a/b")));
        assert!(!p("/a").is_proper_prefix_of(&p("/a")));
        assert!(p("/a").is_prefix_of(&p("/a")));
        assert!(!p("/a").is_prefix_of(&p("/ab")));
        assert!(Pointer::root().is_prefix_of(&p("/x")));
    }

    #[test]
    fn serde_uses_the_string_form() {
        let ptr = p("/a~1b/0");
        assert_eq!(serde_json::to_string(&ptr).unwrap(), r#""/a~1b/0""#);
        assert_eq!(
            serde_json::from_str::<Pointer>(r#""/a~1b/0""#).unwrap(),
            ptr
        );
        assert!(serde_json::from_str::<Pointer>(r#""a""#).is_err());
    }
}
