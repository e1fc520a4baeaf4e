//! JSON objects: members in the order they were written, looked up by key quickly.
//!
//! Most objects in real documents are small, so an object of up to [`SMALL`] members is a plain
//! vector searched linearly (no hash table, no stored hashes: about half the memory); a larger
//! one is an index map with O(1) lookup. The representation is private and switches by itself.

use std::fmt;

use compact_str::CompactString;
use indexmap::IndexMap;

use super::Value;

/// An object key. Keys up to 24 bytes are stored inline.
pub type Key = CompactString;

/// Hashes keys for lookup: fast, and seeded per process so that crafted keys cannot be made to
/// collide in advance.
type KeyHasher = foldhash::fast::RandomState;

/// Objects with at most this many members are stored without a hash table.
pub const SMALL: usize = 8;

/// The members of a JSON object, in document order.
///
/// Order is kept so that a document written back is the document that was read, and so that a
/// restored member returns to its place. Equality ignores order, as JSON does.
#[derive(Clone, Default)]
pub struct Map(Repr);

#[derive(Clone)]
enum Repr {
    Small(Vec<(Key, Value)>),
    Large(Box<IndexMap<Key, Value, KeyHasher>>),
}

impl Default for Repr {
    fn default() -> Repr {
        Repr::Small(Vec::new())
    }
}

impl Map {
    /// An empty object.
    pub fn new() -> Map {
        Map::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Small(v) => v.len(),
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
            Repr::Small(v) => v.iter().find(|(k, _)| k == key).map(|(_, value)| value),
            Repr::Large(m) => m.get(key),
        }
    }

    /// The value of `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match &mut self.0 {
            Repr::Small(v) => v.iter_mut().find(|(k, _)| k == key).map(|(_, value)| value),
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
            Repr::Small(v) => v.iter().position(|(k, _)| k == key),
            Repr::Large(m) => m.get_index_of(key),
        }
    }

    /// The member at position `index`.
    pub fn get_index(&self, index: usize) -> Option<(&str, &Value)> {
        match &self.0 {
            Repr::Small(v) => v.get(index).map(|(k, value)| (k.as_str(), value)),
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
            Repr::Small(v) if v.len() < SMALL => v.insert(index, (key, value)),
            Repr::Small(v) => {
                let mut large: IndexMap<Key, Value, KeyHasher> =
                    std::mem::take(v).into_iter().collect();
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
            Repr::Small(v) => {
                let index = v.iter().position(|(k, _)| k == key)?;
                Some((index, v.remove(index).1))
            }
            Repr::Large(m) => m
                .shift_remove_full(key)
                .map(|(index, _, value)| (index, value)),
        }
    }

    /// Frees unused capacity (after a document is read, say).
    pub fn shrink_to_fit(&mut self) {
        match &mut self.0 {
            Repr::Small(v) => v.shrink_to_fit(),
            Repr::Large(m) => m.shrink_to_fit(),
        }
    }

    /// Members in order.
    pub fn iter(&self) -> Iter<'_> {
        match &self.0 {
            Repr::Small(v) => Iter::Small(v.iter()),
            Repr::Large(m) => Iter::Large(m.iter()),
        }
    }

    /// Members in order, values mutable.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&str, &mut Value)> {
        let (small, large) = match &mut self.0 {
            Repr::Small(v) => (Some(v.iter_mut()), None),
            Repr::Large(m) => (None, Some(m.iter_mut())),
        };
        let len = small.as_ref().map_or(0, ExactSizeIterator::len)
            + large.as_ref().map_or(0, ExactSizeIterator::len);
        Exact {
            inner: small
                .into_iter()
                .flatten()
                .map(|(k, value)| (k.as_str(), value))
                .chain(
                    large
                        .into_iter()
                        .flatten()
                        .map(|(k, value)| (k.as_str(), value)),
                ),
            len,
        }
    }

    /// Keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator {
        self.iter().map(|(k, _)| k)
    }

    /// Values in order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value> + DoubleEndedIterator {
        self.iter().map(|(_, value)| value)
    }
}

/// The members of a [`Map`], in order.
pub enum Iter<'a> {
    /// Over a small object.
    Small(std::slice::Iter<'a, (Key, Value)>),
    /// Over a large object.
    Large(indexmap::map::Iter<'a, Key, Value>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Small(it) => it.next().map(|(k, v)| (k.as_str(), v)),
            Iter::Large(it) => it.next().map(|(k, v)| (k.as_str(), v)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Small(it) => it.size_hint(),
            Iter::Large(it) => it.size_hint(),
        }
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Small(it) => it.next_back().map(|(k, v)| (k.as_str(), v)),
            Iter::Large(it) => it.next_back().map(|(k, v)| (k.as_str(), v)),
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
        match self.0 {
            Repr::Small(v) => IntoIter::Small(v.into_iter()),
            Repr::Large(m) => IntoIter::Large(m.into_iter()),
        }
    }
}

/// The members of a [`Map`], taken.
pub enum IntoIter {
    /// Of a small object.
    Small(std::vec::IntoIter<(Key, Value)>),
    /// Of a large object.
    Large(indexmap::map::IntoIter<Key, Value>),
}

impl Iterator for IntoIter {
    type Item = (Key, Value);

    fn next(&mut self) -> Option<(Key, Value)> {
        match self {
            IntoIter::Small(it) => it.next(),
            IntoIter::Large(it) => it.next(),
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
    fn equality_ignores_order_across_representations() {
        let small: Map = (0..3).map(|i| (format!("k{i}"), Value::from(i))).collect();
        let mut reordered = Map::new();
        for i in (0..3).rev() {
            reordered.insert(format!("k{i}"), Value::from(i));
        }
        assert_eq!(small, reordered);
    }
}
