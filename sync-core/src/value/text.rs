//! JSON strings that stay cheap to edit however long they grow.
//!
//! Most strings are short and never edited, so they are stored flat (inline up to 24 bytes). A
//! string that is spliced while longer than [`ROPE_THRESHOLD`] bytes becomes a rope, so typing
//! into a long text costs O(log n) per keystroke instead of O(n). Positions are counted in
//! Unicode scalar values (Rust `char`s), as `splice` defines them.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

use compact_str::CompactString;
use jumprope::JumpRope as Rope;

/// Flat strings longer than this (in bytes) become ropes when spliced.
pub const ROPE_THRESHOLD: usize = 1024;

/// A JSON string value.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Flat(CompactString),
    Rope(Box<Rope>),
}

/// Why a splice could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("characters {pos}..{end} are outside a string of {len} characters", end = .pos.saturating_add(*.del))]
pub struct SpliceOutOfRange {
    /// Requested start position.
    pub pos: usize,
    /// Requested number of characters to delete.
    pub del: usize,
    /// Length of the string in characters.
    pub len: usize,
}

impl Text {
    /// An empty string.
    pub const fn new() -> Text {
        Text(Repr::Flat(CompactString::const_new("")))
    }

    /// Length in Unicode scalar values.
    pub fn len_chars(&self) -> usize {
        match &self.0 {
            Repr::Flat(s) => s.chars().count(),
            Repr::Rope(r) => r.len_chars(),
        }
    }

    /// Length in bytes of the UTF-8 text.
    pub fn len_bytes(&self) -> usize {
        match &self.0 {
            Repr::Flat(s) => s.len(),
            Repr::Rope(r) => r.len_bytes(),
        }
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len_bytes() == 0
    }

    /// The text as one `str`: borrowed when flat, assembled when a rope.
    pub fn as_str(&self) -> Cow<'_, str> {
        match &self.0 {
            Repr::Flat(s) => Cow::Borrowed(s.as_str()),
            Repr::Rope(r) => Cow::Owned(r.to_string()),
        }
    }

    /// The text in pieces, in order, without copying.
    pub fn chunks(&self) -> impl Iterator<Item = &str> {
        let (flat, rope) = match &self.0 {
            Repr::Flat(s) => (Some(s.as_str()), None),
            Repr::Rope(r) => (None, Some(r.substrings())),
        };
        flat.into_iter().chain(rope.into_iter().flatten())
    }

    /// The characters in `start..end` (character positions), or `None` if out of range.
    pub fn slice_chars(&self, start: usize, end: usize) -> Option<String> {
        if start > end {
            return None;
        }
        match &self.0 {
            Repr::Flat(s) => {
                let from = char_to_byte(s, start)?;
                let to = from + char_to_byte(s.get(from..)?, end - start)?;
                s.get(from..to).map(str::to_owned)
            }
            Repr::Rope(r) => {
                (end <= r.len_chars()).then(|| r.slice_substrings(start..end).collect())
            }
        }
    }

    /// Deletes `del` characters at character position `pos` and inserts `ins` there, returning
    /// the deleted text. On error nothing changes.
    pub fn splice(
        &mut self,
        pos: usize,
        del: usize,
        ins: &str,
    ) -> Result<String, SpliceOutOfRange> {
        let out_of_range = |len| SpliceOutOfRange { pos, del, len };
        if let Repr::Flat(s) = &mut self.0 {
            if s.len() <= ROPE_THRESHOLD {
                let Some(from) = char_to_byte(s, pos) else {
                    return Err(out_of_range(s.chars().count()));
                };
                let Some(to) = s.get(from..).and_then(|rest| char_to_byte(rest, del)) else {
                    return Err(out_of_range(s.chars().count()));
                };
                let to = from + to;
                let deleted = s.get(from..to).map(str::to_owned).unwrap_or_default();
                s.replace_range(from..to, ins);
                return Ok(deleted);
            }
            self.0 = Repr::Rope(Box::new(Rope::from(s.as_str())));
        }
        let Repr::Rope(rope) = &mut self.0 else {
            unreachable!("flat strings past the threshold were just turned into ropes");
        };
        let len = rope.len_chars();
        let end = pos
            .checked_add(del)
            .filter(|end| *end <= len)
            .ok_or(out_of_range(len))?;
        let deleted = if del == 0 {
            String::new()
        } else {
            rope.slice_substrings(pos..end).collect()
        };
        if del > 0 {
            rope.remove(pos..end);
        }
        rope.insert(pos, ins);
        Ok(deleted)
    }

    fn eq_chunks(&self, other: &Text) -> bool {
        if self.len_bytes() != other.len_bytes() {
            return false;
        }
        let mut a = self.chunks().flat_map(str::bytes);
        let mut b = other.chunks().flat_map(str::bytes);
        loop {
            match (a.next(), b.next()) {
                (None, None) => return true,
                (x, y) if x == y => {}
                _ => return false,
            }
        }
    }
}

/// The byte offset of character `n` in `s` (`s.len()` for `n == count`), or `None` past the end.
fn char_to_byte(s: &str, n: usize) -> Option<usize> {
    if n == 0 {
        return Some(0);
    }
    match s.char_indices().nth(n) {
        Some((at, _)) => Some(at),
        None => (s.chars().count() == n).then_some(s.len()),
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::new()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        match (&self.0, &other.0) {
            (Repr::Flat(a), Repr::Flat(b)) => a == b,
            _ => self.eq_chunks(other),
        }
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        match &self.0 {
            Repr::Flat(a) => a == other,
            Repr::Rope(r) => **r == other,
        }
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // One write of the whole text, whatever the representation, so that equal texts hash
        // equally (hashers may treat several writes differently from one).
        match &self.0 {
            Repr::Flat(s) => state.write(s.as_bytes()),
            Repr::Rope(r) => state.write(r.to_string().as_bytes()),
        }
        state.write_u8(0xff);
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chunks().try_for_each(|c| f.write_str(c))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_str(), f)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Repr::Flat(CompactString::from(s)))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Repr::Flat(CompactString::from(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_count_characters_not_bytes() {
        let mut t = Text::from("héllo wörld");
        assert_eq!(t.splice(1, 4, "ey").unwrap(), "éllo");
        assert_eq!(t.to_string(), "hey wörld");
        assert_eq!(t.splice(9, 0, "!").unwrap(), "");
        assert_eq!(t.to_string(), "hey wörld!");
    }

    #[test]
    fn out_of_range_splice_changes_nothing() {
        let mut t = Text::from("abc");
        assert_eq!(
            t.splice(2, 2, "x"),
            Err(SpliceOutOfRange {
                pos: 2,
                del: 2,
                len: 3
            })
        );
        assert_eq!(
            t.splice(4, 0, "x"),
            Err(SpliceOutOfRange {
                pos: 4,
                del: 0,
                len: 3
            })
        );
        assert_eq!(t.splice(usize::MAX, 2, "x").unwrap_err().len, 3);
        assert_eq!(t.to_string(), "abc");
    }

    #[test]
    fn long_strings_become_ropes_and_stay_equal() {
        let long = "ab🙂".repeat(400);
        let mut rope = Text::from(long.as_str());
        rope.splice(0, 0, "").unwrap();
        assert!(matches!(rope.0, Repr::Rope(_)));
        assert_eq!(rope, Text::from(long.as_str()));
        assert_eq!(rope.len_chars(), 1200);
        assert_eq!(rope.splice(1198, 2, "Z").unwrap(), "b🙂");
        assert_eq!(rope.slice_chars(1195, 1199).unwrap(), "b🙂aZ");
        assert_eq!(rope.splice(1200, 0, "x").unwrap_err().len, 1199);

        use std::collections::hash_map::DefaultHasher;
        let h = |t: &Text| {
            let mut s = DefaultHasher::new();
            t.hash(&mut s);
            s.finish()
        };
        let flat = Text::from(rope.to_string());
        assert_eq!(h(&rope), h(&flat));
        assert_eq!(rope, flat);
    }

    #[test]
    fn slices_by_character() {
        let t = Text::from("añb");
        assert_eq!(t.slice_chars(1, 3).as_deref(), Some("ñb"));
        assert_eq!(t.slice_chars(3, 3).as_deref(), Some(""));
        assert_eq!(t.slice_chars(2, 4), None);
    }
}
