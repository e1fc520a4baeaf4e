//! Where a relay keeps its documents, as people write it, and how it is shown: never with a
//! password.

use std::fmt;
use std::path::PathBuf;

use super::{StoreError, postgres};

/// Where a relay keeps its documents: `sqlite:PATH`, or a `postgres://` (or `postgresql://`)
/// URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its URL (`postgres://USER@HOST:PORT/DB`).
    Postgres(String),
}

impl Location {
    /// Reads `sqlite:PATH`, `postgres://...` or `postgresql://...`; an error never shows a
    /// password the text holds.
    pub fn parse(text: &str) -> Result<Location, StoreError> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            postgres::settings(text)
                .map_err(|e| StoreError::Location(format!("{}: {e}", redact(text))))?;
            return Ok(Location::Postgres(text.to_owned()));
        }
        match text.strip_prefix("sqlite:") {
            Some(path) if !path.is_empty() => Ok(Location::Sqlite(PathBuf::from(path))),
            _ => Err(StoreError::Location(format!(
                "{:?} is not a store: write sqlite:PATH or postgres://USER@HOST:PORT/DATABASE",
                redact(text)
            ))),
        }
    }
}

impl Location {
    /// Whether it is a PostgreSQL store.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }
}

impl serde::Serialize for Location {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Location::Sqlite(path) => {
                serializer.serialize_str(&format!("sqlite:{}", path.display()))
            }
            Location::Postgres(url) => serializer.serialize_str(url),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Location {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Location, D::Error> {
        let text = String::deserialize(deserializer)?;
        Location::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The location as it may be logged and shown: a PostgreSQL password is replaced by `***`.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Location::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `text` (a store's location as given, well formed or not, or a message that quotes one or
/// more) without the passwords it may carry: `user:***@host`, the value of a `password`
/// query parameter, and `password=***` in a key-value connection string.
///
/// In a URL the credentials end at the last `@` before the query's `?` (or the first `@`, when
/// the `?` comes before any): tokio-postgres reads them up to the first `@`, but a password
/// with an `@`, `/` or space of its own must not show its end either. The URL runs to the end
/// of its line, so a password with spaces or quotes is masked whole; when that takes in more
/// than the credentials, more is masked, never less.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    let mut from = 0;
    let mut any_url = false;
    while let Some(scheme) = out.get(from..).and_then(|rest| rest.find("://")) {
        any_url = true;
        let start = from + scheme + 3;
        let end = out
            .get(start..)
            .and_then(|rest| rest.find('\n'))
            .map_or(out.len(), |i| start + i);
        from = end;
        let span = out.get(start..end).unwrap_or_default();
        let query = span.find('?').unwrap_or(span.len());
        let at = span
            .get(..query)
            .and_then(|before| before.rfind('@'))
            .or_else(|| span.find('@'));
        if let Some(at) = at
            && let Some(colon) = span.get(..at).and_then(|userinfo| userinfo.find(':'))
        {
            out.replace_range(start + colon + 1..start + at, "***");
            from = start + colon + 1 + "***".len();
        }
    }
    if !any_url && let Some(at) = out.rfind('@') {
        let start = out
            .get(..at)
            .and_then(|before| before.rfind(['/', ' ']))
            .map_or(0, |i| i + 1);
        if let Some(colon) = out.get(start..at).and_then(|userinfo| userinfo.find(':')) {
            out.replace_range(start + colon + 1..at, "***");
        }
    }
    mask_password_settings(&out)
}

/// `text` with the value of every `password` setting masked: `password=VALUE` in a URL's
/// query (its key percent-encoded or not) or a key-value string (`password = 'a b'` too).
fn mask_password_settings(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    // The places a key starts: the text's start, or after `?`, `&`, a space or a quote.
    let mut masked = String::with_capacity(text.len());
    let mut rest = 0;
    let mut at = 0;
    while at < text.len() {
        let starts_key = at == 0
            || matches!(
                lower.as_bytes().get(at.wrapping_sub(1)),
                Some(b'?' | b'&' | b' ' | b'"' | b'\'' | b'\n')
            );
        let key_len = ["password", "pass%77ord", "p%61ssword"]
            .iter()
            .find(|key| starts_key && lower.get(at..).is_some_and(|t| t.starts_with(*key)))
            .map(|key| key.len());
        let Some(key_len) = key_len else {
            at += text
                .get(at..)
                .and_then(|t| t.chars().next())
                .map_or(1, char::len_utf8);
            continue;
        };
        let after_key = at + key_len;
        let tail = text.get(after_key..).unwrap_or_default();
        let spaces = tail.len() - tail.trim_start_matches(' ').len();
        let Some(value_tail) = tail.get(spaces..).and_then(|t| t.strip_prefix('=')) else {
            at = after_key;
            continue;
        };
        let value_start = text.len() - value_tail.trim_start_matches(' ').len();
        let value = text.get(value_start..).unwrap_or_default();
        let value_len = match value.strip_prefix('\'') {
            // A quoted value runs to its closing quote (a backslash escapes one).
            Some(quoted) => {
                let mut escaped = false;
                quoted
                    .char_indices()
                    .find(|&(_, c)| {
                        let closes = c == '\'' && !escaped;
                        escaped = c == '\\' && !escaped;
                        closes
                    })
                    .map_or(value.len(), |(i, _)| i + 2)
            }
            None => value
                .find(['&', ' ', '"', '\'', '\n'])
                .unwrap_or(value.len()),
        };
        masked.push_str(text.get(rest..value_start).unwrap_or_default());
        masked.push_str("***");
        rest = value_start + value_len;
        at = rest;
    }
    masked.push_str(text.get(rest..).unwrap_or_default());
    masked
}
