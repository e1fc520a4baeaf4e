//! JSON objects: members in the order they were written, looked up by key quickly.
//!
//! Most objects in real documents are small, so an object of up to [`SMALL`] members keeps its
//! keys packed in one byte buffer beside a vector of values, searched linearly (no hash table,
//! no stored hashes, no 24-byte string per key: well under half the memory of a hash map); a
//! larger one is an index map with O(1) lookup. The representation is private and switches by
//! itself.

use std::fmt;
use std::ops::Range;

use compact_str::CompactString;
use indexmap::IndexMap;
use thin_vec::ThinVec;

use super::Value;

/// A key, when one is handed out on its own.
pub type Key = CompactString;

type KeyHasher = foldhash::fast::RandomState;

/// The most members an object holds in its small form.
pub const SMALL: usize = 8;

/// A JSON object.
#[derive(Clone, Default)]
pub struct Map(Repr);

#[derive(Clone)]
enum Repr {
    Small(Small),
    Large(Box<IndexMap<Key, Value, KeyHasher>>),
}

impl Default for Repr {
    fn default() -> Repr {
        Repr::Small(Small::default())
    }
}

/// A small object: the `n`th key in `keys` names the `n`th value.
#[derive(Clone, Default)]
struct Small {
    keys: Keys,
    values: ThinVec<Value>,
}

/// Keys packed in one buffer: each is its length, its bytes, and its length again, so that they
/// can be read from either end. A length under 255 takes one byte; a longer one takes five (255
/// and four bytes little-endian before the key; the four bytes and 255 after it).
#[derive(Clone, Default)]
struct Keys(ThinVec<u8>);

/// The marker of a five-byte length.
const LONG: u8 = u8::MAX;

impl Keys {
    fn iter(&self) -> KeyIter<'_> {
        KeyIter(&self.0)
    }

    fn position(&self, key: &str) -> Option<usize> {
        let key = key.as_bytes();
        let mut rest = self.0.as_slice();
        let mut index = 0;
        while let Some((k, after)) = split_first_key(rest) {
            if k == key {
                return Some(index);
            }
            rest = after;
            index += 1;
        }
        None
    }

    /// The bytes the `index`th key takes (or the end, for the one past the last).
    fn span(&self, index: usize) -> Range<usize> {
        let total = self.0.len();
        let mut rest = self.0.as_slice();
        for _ in 0..index {
            match split_first_key(rest) {
                Some((_, after)) => rest = after,
                None => return total..total,
            }
        }
        let start = total - rest.len();
        let end = split_first_key(rest).map_or(total, |(_, after)| total - after.len());
        start..end
    }

    fn insert(&mut self, index: usize, key: &str) {
        let at = self.span(index).start;
        let len = key.len();
        let mut encoded = Vec::with_capacity(len + 10);
        match u8::try_from(len) {
            Ok(short) if short < LONG => {
                encoded.push(short);
                encoded.extend_from_slice(key.as_bytes());
                encoded.push(short);
            }
            _ => {
                // Keys are bounded by the message and document limits, far below 4 GiB.
                let long = u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes();
                encoded.push(LONG);
                encoded.extend_from_slice(&long);
                encoded.extend_from_slice(key.as_bytes());
                encoded.extend_from_slice(&long);
                encoded.push(LONG);
            }
        }
        self.0.splice(at..at, encoded);
    }

    fn remove(&mut self, index: usize) {
        let span = self.span(index);
        self.0.drain(span);
    }
}

/// The first key of `bytes` and what follows it.
fn split_first_key(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = bytes.split_first()?;
    let (len, rest, trailer) = if first == LONG {
        let (len, rest) = rest.split_first_chunk::<4>()?;
        (u32::from_le_bytes(*len) as usize, rest, 5)
    } else {
        (usize::from(first), rest, 1)
    };
    let key = rest.get(..len)?;
    Some((key, rest.get(len + trailer..)?))
}

/// The last key of `bytes` and what precedes it.
fn split_last_key(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&last, rest) = bytes.split_last()?;
    let (len, rest, header) = if last == LONG {
        let (rest, len) = rest.split_last_chunk::<4>()?;
        (u32::from_le_bytes(*len) as usize, rest, 5)
    } else {
        (usize::from(last), rest, 1)
    };
    let start = rest.len().checked_sub(len)?;
    let key = rest.get(start..)?;
    Some((key, rest.get(..start.checked_sub(header)?)?))
}

/// A key's bytes as the `&str` they were made from.
fn as_str(key: &[u8]) -> &str {
    // Only whole `&str`s are ever packed, so this never fails.
    std::str::from_utf8(key).unwrap_or_default()
}

/// The keys of a small object as bytes, in order.
struct RawKeys<'a>(&'a [u8]);

impl<'a> Iterator for RawKeys<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (key, rest) = split_first_key(self.0)?;
        self.0 = rest;
        Some(key)
    }
}

/// The keys of a small object, in order.
#[derive(Clone)]
struct KeyIter<'a>(&'a [u8]);

impl<'a> Iterator for KeyIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (key, rest) = split_first_key(self.0)?;
        self.0 = rest;
        Some(as_str(key))
    }
}

impl DoubleEndedIterator for KeyIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let (key, rest) = split_last_key(self.0)?;
        self.0 = rest;
        Some(as_str(key))
    }
}

impl Map {
    /// An empty object.
    pub fn new() -> Map {
        Map::default()
    }

    /// How many members it has.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Small(s) => s.values.len(),
            Repr::Large(m) => m.len(),
        }
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.0 {
            Repr::Small(s) => s.values.get(s.keys.position(key)?),
            Repr::Large(m) => m.get(key),
        }
    }

    /// The value of `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match &mut self.0 {
            Repr::Small(s) => s.values.get_mut(s.keys.position(key)?),
            Repr::Large(m) => m.get_mut(key),
        }
    }

    /// Whether `key` is a member.
    pub fn contains_key(&self, key: &str) -> bool {
        self.index_of(key).is_some()
    }

    /// The position of `key` among the members.
    pub fn index_of(&self, key: &str) -> Option<usize> {
        match &self.0 {
            Repr::Small(s) => s.keys.position(key),
            Repr::Large(m) => m.get_index_of(key),
        }
    }

    /// The member at position `index`.
    pub fn get_index(&self, index: usize) -> Option<(&str, &Value)> {
        match &self.0 {
            Repr::Small(s) => Some((s.keys.iter().nth(index)?, s.values.get(index)?)),
            Repr::Large(m) => m.get_index(index).map(|(k, value)| (k.as_str(), value)),
        }
    }

    /// Sets `key` to `value`. An existing member keeps its place and its old value is returned;
    /// a new member goes last.
    pub fn insert(&mut self, key: impl Into<Key>, value: Value) -> Option<Value> {
        self.insert_at(usize::MAX, key, value)
    }

    /// Inserts a new member at position `index` (clamped to the end), or replaces the value of an
    /// existing member in its place. Returns the replaced value.
    pub fn insert_at(&mut self, index: usize, key: impl Into<Key>, value: Value) -> Option<Value> {
        let key = key.into();
        if let Some(slot) = self.get_mut(&key) {
            return Some(std::mem::replace(slot, value));
        }
        let index = index.min(self.len());
        match &mut self.0 {
            Repr::Small(s) if s.values.len() < SMALL => {
                s.keys.insert(index, &key);
                s.values.insert(index, value);
            }
            Repr::Small(s) => {
                let s = std::mem::take(s);
                let mut large: IndexMap<Key, Value, KeyHasher> =
                    s.keys.iter().map(Key::from).zip(s.values).collect();
                large.shift_insert(index, key, value);
                self.0 = Repr::Large(Box::new(large));
            }
            Repr::Large(m) => {
                m.shift_insert(index, key, value);
            }
        }
        None
    }

    /// Removes `key`, returning its former position and value; later members move up.
    pub fn remove(&mut self, key: &str) -> Option<(usize, Value)> {
        match &mut self.0 {
            Repr::Small(s) => {
                let index = s.keys.position(key)?;
                s.keys.remove(index);
                Some((index, s.values.remove(index)))
            }
            Repr::Large(m) => m
                .shift_remove_full(key)
                .map(|(index, _, value)| (index, value)),
        }
    }

    /// Frees unused capacity (after a document is read, say).
    pub fn shrink_to_fit(&mut self) {
        match &mut self.0 {
            Repr::Small(s) => {
                s.keys.0.shrink_to_fit();
                s.values.shrink_to_fit();
            }
            Repr::Large(m) => m.shrink_to_fit(),
        }
    }

    /// Members in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.0 {
            Repr::Small(s) => IterRepr::Small(s.keys.iter(), s.values.iter()),
            Repr::Large(m) => IterRepr::Large(m.iter()),
        })
    }

    /// Members in order, values mutable.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&str, &mut Value)> {
        let len = self.len();
        let (small, large) = match &mut self.0 {
            Repr::Small(s) => (Some(s.keys.iter().zip(s.values.iter_mut())), None),
            Repr::Large(m) => (None, Some(m.iter_mut())),
        };
        Exact {
            inner: small.into_iter().flatten().chain(
                large
                    .into_iter()
                    .flatten()
                    .map(|(k, value)| (k.as_str(), value)),
            ),
            len,
        }
    }

    /// Whether both objects have the same keys in the same order.
    pub fn same_keys_in_order(&self, other: &Map) -> bool {
        if let (Repr::Small(a), Repr::Small(b)) = (&self.0, &other.0) {
            return a.keys.0 == b.keys.0;
        }
        self.len() == other.len()
            && self
                .iter_bytes()
                .map(|(k, _)| k)
                .eq(other.iter_bytes().map(|(k, _)| k))
    }

    /// Members in order, keys as bytes (cheaper where only equality or hashing of keys matters).
    pub(crate) fn iter_bytes(&self) -> impl Iterator<Item = (&[u8], &Value)> {
        let (small, large) = match &self.0 {
            Repr::Small(s) => (
                Some(RawKeys(s.keys.0.as_slice()).zip(s.values.iter())),
                None,
            ),
            Repr::Large(m) => (None, Some(m.iter())),
        };
        small.into_iter().flatten().chain(
            large
                .into_iter()
                .flatten()
                .map(|(k, value)| (k.as_bytes(), value)),
        )
    }

    /// Keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator {
        self.iter().map(|(k, _)| k)
    }

    /// Values in order (without reading the keys).
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value> + DoubleEndedIterator {
        match &self.0 {
            Repr::Small(s) => Values::Small(s.values.iter()),
            Repr::Large(m) => Values::Large(m.values()),
        }
    }

    /// The value of the member at position `index` (without reading the keys).
    pub fn value_at(&self, index: usize) -> Option<&Value> {
        match &self.0 {
            Repr::Small(s) => s.values.get(index),
            Repr::Large(m) => m.get_index(index).map(|(_, value)| value),
        }
    }
}

/// The values of a [`Map`], in order.
enum Values<'a> {
    Small(std::slice::Iter<'a, Value>),
    Large(indexmap::map::Values<'a, Key, Value>),
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a Value;

    fn next(&mut self) -> Option<&'a Value> {
        match self {
            Values::Small(values) => values.next(),
            Values::Large(values) => values.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Values::Small(values) => values.size_hint(),
            Values::Large(values) => values.size_hint(),
        }
    }
}

impl DoubleEndedIterator for Values<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Values::Small(values) => values.next_back(),
            Values::Large(values) => values.next_back(),
        }
    }
}

impl ExactSizeIterator for Values<'_> {}

/// The members of a [`Map`], in order.
pub struct Iter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Small(KeyIter<'a>, std::slice::Iter<'a, Value>),
    Large(indexmap::map::Iter<'a, Key, Value>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Small(keys, values) => Some((keys.next()?, values.next()?)),
            IterRepr::Large(it) => it.next().map(|(k, v)| (k.as_str(), v)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Small(_, values) => values.size_hint(),
            IterRepr::Large(it) => it.size_hint(),
        }
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Small(keys, values) => Some((keys.next_back()?, values.next_back()?)),
            IterRepr::Large(it) => it.next_back().map(|(k, v)| (k.as_str(), v)),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// An iterator with a known length.
struct Exact<I> {
    inner: I,
    len: usize,
}

impl<I: Iterator> Iterator for Exact<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next()?;
        self.len -= 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len, Some(self.len))
    }
}

impl<I: Iterator> ExactSizeIterator for Exact<I> {}

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        if self.len() != other.len() {
            return false;
        }
        // Small objects with the same keys in the same order: compare the values.
        if let (Repr::Small(a), Repr::Small(b)) = (&self.0, &other.0)
            && a.keys.0 == b.keys.0
        {
            return a.values == b.values;
        }
        // Members are usually in the same order: compare pairwise, look up only past a mismatch.
        for ((ka, va), (kb, vb)) in self.iter().zip(other.iter()) {
            if ka != kb {
                return self.iter().all(|(k, v)| other.get(k) == Some(v));
            }
            if va != vb {
                return false;
            }
        }
        true
    }
}

impl Eq for Map {}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<Key>> FromIterator<(K, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Map {
        let mut map = Map::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl IntoIterator for Map {
    type Item = (Key, Value);
    type IntoIter = IntoIter;

    fn into_iter(self) -> IntoIter {
        IntoIter(match self.0 {
            Repr::Small(s) => {
                let keys: Vec<Key> = s.keys.iter().map(Key::from).collect();
                IntoIterRepr::Small(keys.into_iter().zip(s.values))
            }
            Repr::Large(m) => IntoIterRepr::Large(m.into_iter()),
        })
    }
}

/// The members of a [`Map`], taken.
pub struct IntoIter(IntoIterRepr);

enum IntoIterRepr {
    Small(std::iter::Zip<std::vec::IntoIter<Key>, thin_vec::IntoIter<Value>>),
    Large(indexmap::map::IntoIter<Key, Value>),
}

impl Iterator for IntoIter {
    type Item = (Key, Value);

    fn next(&mut self) -> Option<(Key, Value)> {
        match &mut self.0 {
            IntoIterRepr::Small(it) => it.next(),
            IntoIterRepr::Large(it) => it.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_from_small_to_large_keeping_order_and_positions() {
        let mut m = Map::new();
        for i in 0..20 {
            m.insert(format!("k{i}"), Value::from(i));
        }
        assert!(matches!(m.0, Repr::Large(_)));
        m.insert_at(1, "first-ish", Value::Null);
        assert_eq!(m.index_of("first-ish"), Some(1));
        assert_eq!(
            m.keys().take(3).collect::<Vec<_>>(),
            ["k0", "first-ish", "k1"]
        );
        assert_eq!(m.remove("k0"), Some((0, Value::from(0))));
        assert_eq!(m.get("k19"), Some(&Value::from(19)));
        assert_eq!(m.len(), 20);

        let mut s = Map::new();
        s.insert("b", Value::from(2));
        s.insert_at(0, "a", Value::from(1));
        assert!(matches!(s.0, Repr::Small(_)));
        assert_eq!(s.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(s.insert("a", Value::from(9)), Some(Value::from(1)));
        assert_eq!(s.iter_mut().len(), 2);
    }

    #[test]
    fn values_are_read_without_the_keys_in_order_from_both_ends() {
        for n in [0u64, 3, SMALL as u64 + 5] {
            let m: Map = (0..n).map(|i| (format!("k{i}"), Value::from(i))).collect();
            let expected: Vec<&Value> = m.iter().map(|(_, v)| v).collect();
            assert_eq!(m.values().collect::<Vec<_>>(), expected);
            let n = expected.len();
            assert_eq!(m.values().len(), n);
            let backwards: Vec<&Value> = m.values().rev().collect();
            assert_eq!(
                backwards,
                expected.iter().rev().copied().collect::<Vec<_>>()
            );
            for (i, value) in expected.iter().enumerate() {
                assert_eq!(m.value_at(i), Some(*value));
            }
            assert_eq!(m.value_at(n), None);
        }
    }

    #[test]
    fn packed_keys_read_from_both_ends_at_any_length() {
        let long = "x".repeat(300);
        let keys = [
            "",
            "a",
            long.as_str(),
            "é ü",
            &"y".repeat(254),
            &"z".repeat(255),
        ];
        let mut m = Map::new();
        for (i, key) in keys.iter().enumerate() {
            m.insert(*key, Value::from(i as i64));
        }
        assert!(matches!(m.0, Repr::Small(_)));
        assert_eq!(m.keys().collect::<Vec<_>>(), keys);
        assert_eq!(
            m.keys().rev().collect::<Vec<_>>(),
            keys.iter().rev().copied().collect::<Vec<_>>()
        );
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(m.get(key), Some(&Value::from(i as i64)), "{key}");
            assert_eq!(m.get_index(i).map(|(k, _)| k), Some(*key));
        }
        assert_eq!(m.remove(&long), Some((2, Value::from(2))));
        m.insert_at(0, long.as_str(), Value::Null);
        assert_eq!(m.index_of(&long), Some(0));
        assert_eq!(m.get("a"), Some(&Value::from(1)));
        let owned: Vec<(Key, Value)> = m.clone().into_iter().collect();
        assert_eq!(owned.len(), keys.len());
        assert_eq!(owned[0].0, long.as_str());
        assert_eq!(m.get("absent"), None);
    }

    #[test]
    fn equality_ignores_order_across_representations() {
        let small: Map = (0..3).map(|i| (format!("k{i}"), Value::from(i))).collect();
        let mut reordered = Map::new();
        for i in (0..3).rev() {
            reordered.insert(format!("k{i}"), Value::from(i));
        }
        assert_eq!(small, reordered);
    }
}
