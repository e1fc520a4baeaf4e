//! JSON objects: members in the order they were written, looked up by key in O(1).

use std::fmt;

use compact_str::CompactString;
use indexmap::IndexMap;

use super::Value;

/// An object key. Keys up to 24 bytes are stored inline.
pub type Key = CompactString;

/// Hashes keys for lookup: fast, and seeded per process so that crafted keys cannot be made to
/// collide in advance.
type KeyHasher = foldhash::fast::RandomState;

/// The members of a JSON object, in document order.
///
/// Order is kept so that a document written back is the document that was read, and so that a
/// restored member returns to its place. Equality ignores order, as JSON does.
#[derive(Clone, Default)]
pub struct Map(Box<IndexMap<Key, Value, KeyHasher>>);

impl Map {
    /// An empty object.
    pub fn new() -> Map {
        Map::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// The value of `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0.get_mut(key)
    }

    /// Whether `key` is a member.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// The position of `key` among the members.
    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.0.get_index_of(key)
    }

    /// The member at position `index`.
    pub fn get_index(&self, index: usize) -> Option<(&str, &Value)> {
        self.0.get_index(index).map(|(k, v)| (k.as_str(), v))
    }

    /// Sets `key` to `value`. An existing member keeps its place and its old value is returned;
    /// a new member goes last.
    pub fn insert(&mut self, key: impl Into<Key>, value: Value) -> Option<Value> {
        self.0.insert(key.into(), value)
    }

    /// Inserts a new member at position `index` (clamped to the end), or replaces the value of an
    /// existing member in its place. Returns the replaced value.
    pub fn insert_at(&mut self, index: usize, key: impl Into<Key>, value: Value) -> Option<Value> {
        let key = key.into();
        if let Some(slot) = self.0.get_mut(&key) {
            return Some(std::mem::replace(slot, value));
        }
        let index = index.min(self.0.len());
        self.0.shift_insert(index, key, value);
        None
    }

    /// Removes `key`, returning its former position and value; later members move up.
    pub fn remove(&mut self, key: &str) -> Option<(usize, Value)> {
        self.0
            .shift_remove_full(key)
            .map(|(index, _, value)| (index, value))
    }

    /// Members in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> + DoubleEndedIterator {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Members in order, values mutable.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&str, &mut Value)> {
        self.0.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.0.keys().map(Key::as_str)
    }

    /// Values in order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value> {
        self.0.values()
    }
}

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        if self.len() != other.len() {
            return false;
        }
        // Members are usually in the same order: compare pairwise, look up only past a mismatch.
        let mut pairs = self.iter().zip(other.iter());
        for ((ka, va), (kb, vb)) in pairs.by_ref() {
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
        Map(Box::new(
            iter.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }
}

impl IntoIterator for Map {
    type Item = (Key, Value);
    type IntoIter = indexmap::map::IntoIter<Key, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
