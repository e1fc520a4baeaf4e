//! A lossless JSON parser that never recurses and reports where it stopped.
//!
//! Numbers keep their text, member order is kept, duplicate keys are refused (keeping either
//! would silently lose the other), and nesting past [`MAX_DEPTH`] is refused. The parser keeps
//! its own stack of open containers, so hostile input cannot overflow the call stack.

use std::fmt;

use super::number::{self, Number};
use super::{Key, Layout, MAX_DEPTH, Map, Style, Text, Value, layout};

/// Why JSON text could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at line {line}, column {column}")]
pub struct ParseError {
    /// 1-based line of the offending character.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

/// What kind of syntax error a [`ParseError`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The text ended where `expected` was due.
    UnexpectedEnd {
        /// What the parser was looking for.
        expected: &'static str,
    },
    /// A character that cannot stand here.
    Unexpected {
        /// The character found.
        found: char,
        /// What the parser was looking for.
        expected: &'static str,
    },
    /// A number that does not follow JSON's grammar (`01`, `1.`, `-`, ...).
    InvalidNumber,
    /// A backslash escape JSON does not define.
    InvalidEscape,
    /// A `\u` escape that is not four hex digits or names half a surrogate pair.
    InvalidUnicodeEscape,
    /// A raw control character (below U+0020) inside a string.
    ControlCharacter,
    /// The same key twice in one object.
    DuplicateKey(String),
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More text after the value.
    TrailingCharacters,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
}

impl ParseErrorKind {
    /// A stable, machine-readable name for the error.
    pub fn code(&self) -> &'static str {
        match self {
            ParseErrorKind::UnexpectedEnd { .. } => "unexpected_end",
            ParseErrorKind::Unexpected { .. } => "unexpected_character",
            ParseErrorKind::InvalidNumber => "invalid_number",
            ParseErrorKind::InvalidEscape => "invalid_escape",
            ParseErrorKind::InvalidUnicodeEscape => "invalid_unicode_escape",
            ParseErrorKind::ControlCharacter => "control_character",
            ParseErrorKind::DuplicateKey(_) => "duplicate_key",
            ParseErrorKind::TooDeep => "too_deep",
            ParseErrorKind::TrailingCharacters => "trailing_characters",
            ParseErrorKind::InvalidUtf8 => "invalid_utf8",
        }
    }
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::UnexpectedEnd { expected } => {
                write!(f, "unexpected end of input, expected {expected}")
            }
            ParseErrorKind::Unexpected { found, expected } => {
                write!(f, "expected {expected}, found {found:?}")
            }
            ParseErrorKind::InvalidNumber => f.write_str("invalid number"),
            ParseErrorKind::InvalidEscape => f.write_str("invalid escape in string"),
            ParseErrorKind::InvalidUnicodeEscape => {
                f.write_str("invalid \\u escape (four hex digits, surrogates in pairs)")
            }
            ParseErrorKind::ControlCharacter => {
                f.write_str("control character in string (escape it)")
            }
            ParseErrorKind::DuplicateKey(key) => write!(f, "duplicate key {key:?}"),
            ParseErrorKind::TooDeep => {
                write!(f, "nesting deeper than {MAX_DEPTH} arrays and objects")
            }
            ParseErrorKind::TrailingCharacters => f.write_str("unexpected text after the value"),
            ParseErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8"),
        }
    }
}

pub(super) fn parse_slice(bytes: &[u8]) -> Result<(Value, Style), ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => {
            let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
            // The prefix is valid UTF-8 by construction.
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            Err(error_at(prefix, prefix.len(), ParseErrorKind::InvalidUtf8))
        }
    }
}

pub(super) fn parse(text: &str) -> Result<(Value, Style), ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser {
        src: text,
        pos: 0,
        seen: Seen::default(),
    };
    let value = p.value()?;
    p.skip_ws();
    if p.pos < text.len() {
        return Err(p.error(ParseErrorKind::TrailingCharacters));
    }
    let mut style = p.seen.style();
    style.layout = layout::layout(text);
    if matches!(style.layout, Layout::Spaces(_) | Layout::Tabs) {
        style.inline = layout::inline(text);
    }
    Ok((value, style))
}

/// How the strings of the text were written, counted while parsing.
#[derive(Default)]
struct Seen {
    raw_non_ascii: usize,
    escaped_non_ascii: usize,
    raw_slash: usize,
    escaped_slash: usize,
    upper_hex: usize,
    lower_hex: usize,
}

impl Seen {
    /// The majority habit of each kind; ties go to the unescaped form.
    fn style(&self) -> Style {
        Style {
            escape_non_ascii: self.escaped_non_ascii > self.raw_non_ascii,
            escape_slash: self.escaped_slash > self.raw_slash,
            uppercase_hex: self.upper_hex > self.lower_hex,
            layout: Layout::default(),
            inline: None,
        }
    }

    /// Counts the raw (unescaped) characters of interest in a run of string bytes.
    fn raw(&mut self, run: &[u8]) {
        for &b in run {
            match b {
                b'/' => self.raw_slash += 1,
                0xC0.. => self.raw_non_ascii += 1,
                _ => {}
            }
        }
    }
}

fn error_at(src: &str, pos: usize, kind: ParseErrorKind) -> ParseError {
    let before = src.get(..pos).unwrap_or(src);
    let line = 1 + before.bytes().filter(|b| *b == b'\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = 1 + before.get(line_start..).unwrap_or_default().chars().count();
    ParseError { line, column, kind }
}

/// An open container while its contents are parsed.
enum Frame {
    Array(Vec<Value>),
    /// The object so far and the key whose value is being parsed.
    Object(Map, Key),
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    seen: Seen,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn error(&self, kind: ParseErrorKind) -> ParseError {
        error_at(self.src, self.pos, kind)
    }

    fn unexpected(&self, expected: &'static str) -> ParseError {
        match self
            .src
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
        {
            Some(found) => self.error(ParseErrorKind::Unexpected { found, expected }),
            None => self.error(ParseErrorKind::UnexpectedEnd { expected }),
        }
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        let mut stack: Vec<Frame> = Vec::new();
        'value: loop {
            self.skip_ws();
            let mut value = match self.peek() {
                Some(b'{') => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.error(ParseErrorKind::TooDeep));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        Value::Object(Map::new())
                    } else {
                        let map = Map::new();
                        let key = self.key(&map)?;
                        stack.push(Frame::Object(map, key));
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.error(ParseErrorKind::TooDeep));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        Value::Array(Vec::new())
                    } else {
                        stack.push(Frame::Array(Vec::new()));
                        continue 'value;
                    }
                }
                Some(b'"') => Value::String(Text::from(self.string()?)),
                Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
                Some(b't') => self.literal("true", Value::Bool(true))?,
                Some(b'f') => self.literal("false", Value::Bool(false))?,
                Some(b'n') => self.literal("null", Value::Null)?,
                _ => return Err(self.unexpected("a value")),
            };
            // Attach the finished value to its container; close every container that ends here.
            loop {
                let Some(frame) = stack.pop() else {
                    return Ok(value);
                };
                self.skip_ws();
                match frame {
                    Frame::Array(mut items) => {
                        items.push(value);
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                stack.push(Frame::Array(items));
                                continue 'value;
                            }
                            Some(b']') => {
                                self.pos += 1;
                                items.shrink_to_fit();
                                value = Value::Array(items);
                            }
                            _ => return Err(self.unexpected("',' or ']'")),
                        }
                    }
                    Frame::Object(mut map, key) => {
                        map.insert(key, value);
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                self.skip_ws();
                                let key = self.key(&map)?;
                                stack.push(Frame::Object(map, key));
                                continue 'value;
                            }
                            Some(b'}') => {
                                self.pos += 1;
                                map.shrink_to_fit();
                                value = Value::Object(map);
                            }
                            _ => return Err(self.unexpected("',' or '}'")),
                        }
                    }
                }
            }
        }
    }

    /// A member's key and the colon after it.
    fn key(&mut self, map: &Map) -> Result<Key, ParseError> {
        if self.peek() != Some(b'"') {
            return Err(self.unexpected("a string key"));
        }
        let start = self.pos;
        let key = Key::from(self.string()?);
        if map.contains_key(&key) {
            return Err(error_at(
                self.src,
                start,
                ParseErrorKind::DuplicateKey(key.into()),
            ));
        }
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.unexpected("':'"));
        }
        self.pos += 1;
        Ok(key)
    }

    fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, ParseError> {
        if self
            .src
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.unexpected("a value"))
        }
    }

    fn number(&mut self) -> Result<Number, ParseError> {
        let rest = self.src.as_bytes().get(self.pos..).unwrap_or_default();
        let Some(len) = number::scan(rest) else {
            return Err(self.error(ParseErrorKind::InvalidNumber));
        };
        // "01" or "1.2.3": the grammar stopped early, but the number clearly goes on.
        if let Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') = rest.get(len) {
            return Err(self.error(ParseErrorKind::InvalidNumber));
        }
        let text = self.src.get(self.pos..self.pos + len).unwrap_or_default();
        self.pos += len;
        Ok(Number::from_valid_text(text))
    }

    /// A string starting at the opening quote; returns its unescaped contents.
    fn string(&mut self) -> Result<String, ParseError> {
        self.pos += 1; // the opening quote
        let bytes = self.src.as_bytes();
        let start = self.pos;
        // Runs already counted by `Seen::raw`: the fast path counts at its end, the slow path
        // per run; the prefix before the first escape is counted here when leaving the fast
        // path.
        // Fast path: no escapes.
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b'"' => {
                    let s = self.src.get(start..self.pos).unwrap_or_default().to_owned();
                    self.seen.raw(s.as_bytes());
                    self.pos += 1;
                    return Ok(s);
                }
                b'\\' => break,
                0..0x20 => return Err(self.error(ParseErrorKind::ControlCharacter)),
                _ => self.pos += 1,
            }
        }
        let prefix = self.src.get(start..self.pos).unwrap_or_default();
        self.seen.raw(prefix.as_bytes());
        let mut out = String::from(prefix);
        loop {
            let run_start = self.pos;
            while let Some(&b) = bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            let run = self.src.get(run_start..self.pos).unwrap_or_default();
            self.seen.raw(run.as_bytes());
            out.push_str(run);
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escaped = match bytes.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => {
                            self.seen.escaped_slash += 1;
                            '/'
                        }
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let c = self.unicode_escape()?;
                            if !c.is_ascii() {
                                self.seen.escaped_non_ascii += 1;
                            }
                            out.push(c);
                            continue;
                        }
                        Some(_) => return Err(self.error(ParseErrorKind::InvalidEscape)),
                        None => return Err(self.unexpected("an escape")),
                    };
                    self.pos += 1;
                    out.push(escaped);
                }
                Some(_) => return Err(self.error(ParseErrorKind::ControlCharacter)),
                None => return Err(self.unexpected("'\"'")),
            }
        }
    }

    /// The character of a `\u` escape whose `\u` has been read, pairing surrogates.
    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let start = self.pos - 2;
        let invalid = |p: &Self| error_at(p.src, start, ParseErrorKind::InvalidUnicodeEscape);
        let high = self.hex4().ok_or_else(|| invalid(self))?;
        let code = match high {
            0xD800..=0xDBFF => {
                if self.src.get(self.pos..self.pos + 2) != Some("\\u") {
                    return Err(invalid(self));
                }
                self.pos += 2;
                let low = self.hex4().ok_or_else(|| invalid(self))?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(invalid(self));
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(invalid(self)),
            _ => high,
        };
        char::from_u32(code).ok_or_else(|| invalid(self))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.src.get(self.pos..self.pos + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        if digits.bytes().any(|b| b.is_ascii_uppercase()) {
            self.seen.upper_hex += 1;
        } else if digits.bytes().any(|b| b.is_ascii_lowercase()) {
            self.seen.lower_hex += 1;
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ParseError {
        Value::parse(text).expect_err(text)
    }

    #[test]
    fn parses_every_kind_of_value() {
        let v = Value::parse(
            " {\"a\": [1, -2.5e3, true, false, null, \"x\\n\\u00e9\\ud83d\\ude00\"], \"\": {}} ",
        )
        .unwrap();
        assert_eq!(
            v.to_json(),
            r#"{"a":[1,-2.5e3,true,false,null,"x\né😀"],"":{}}"#
        );
    }

    #[test]
    fn reports_line_and_column() {
        let e = err("{\n  \"a\": 1,\n  \"b\": tru\n}");
        assert_eq!((e.line, e.column), (3, 8));
        assert_eq!(e.kind.code(), "unexpected_character");
        let e = err("[1, 2");
        assert_eq!((e.line, e.column), (1, 6));
        assert!(matches!(e.kind, ParseErrorKind::UnexpectedEnd { .. }));
        assert_eq!(err("").kind.code(), "unexpected_end");
    }

    #[test]
    fn refuses_duplicate_keys_at_the_second_one() {
        let e = err(r#"{"a": 1, "a": 2}"#);
        assert_eq!(e.kind, ParseErrorKind::DuplicateKey("a".into()));
        assert_eq!(e.column, 10);
    }

    #[test]
    fn refuses_bad_numbers_strings_and_trailing_text() {
        assert_eq!(err("01").kind, ParseErrorKind::InvalidNumber);
        assert_eq!(err("[1.]").kind, ParseErrorKind::InvalidNumber);
        assert_eq!(err("-").kind, ParseErrorKind::InvalidNumber);
        assert_eq!(err(r#""\x""#).kind, ParseErrorKind::InvalidEscape);
        assert_eq!(
            err(r#""\ud800""#).kind,
            ParseErrorKind::InvalidUnicodeEscape
        );
        assert_eq!(
            err(r#""\udc00\ud800""#).kind,
            ParseErrorKind::InvalidUnicodeEscape
        );
        assert_eq!(err("\"a\tb\"").kind, ParseErrorKind::ControlCharacter);
        assert_eq!(err("1 2").kind, ParseErrorKind::TrailingCharacters);
        assert_eq!(err("[1,]").kind.code(), "unexpected_character");
        assert_eq!(err("{\"a\" 1}").kind.code(), "unexpected_character");
        assert_eq!(err("nul").kind.code(), "unexpected_character");
    }

    #[test]
    fn limits_nesting_without_recursing() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert_eq!(Value::parse(&ok).unwrap().depth(), MAX_DEPTH);
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(err(&deep).kind, ParseErrorKind::TooDeep);
        // Far past the limit: refused quickly, no stack overflow.
        let hostile = "{\"a\":".repeat(1_000_000);
        assert_eq!(err(&hostile).kind, ParseErrorKind::TooDeep);
    }

    #[test]
    fn bytes_must_be_utf8_and_may_start_with_a_bom() {
        assert_eq!(
            Value::parse_slice(b"\xEF\xBB\xBF[1]").unwrap().to_json(),
            "[1]"
        );
        let e = Value::parse_slice(b"[\"ok\",\n \"\xFF\"]").unwrap_err();
        assert_eq!(
            (e.kind, e.line, e.column),
            (ParseErrorKind::InvalidUtf8, 2, 3)
        );
    }
}
