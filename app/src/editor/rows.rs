//! The tree as a flat list of visible rows: rebuilt only when the document's structure or the
//! expansion changes, so drawing a frame touches only the rows on screen.

use std::collections::HashSet;

use sync_core::pointer::Token;
use sync_core::{Pointer, Value};

/// What a row's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An object (with its member count).
    Object(u32),
    /// An array (with its item count).
    Array(u32),
    /// A string.
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
}

impl Kind {
    /// The kind of `value`.
    pub fn of(value: &Value) -> Kind {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        match value {
            Value::Object(map) => Kind::Object(count(map.len())),
            Value::Array(items) => Kind::Array(count(items.len())),
            Value::String(_) => Kind::String,
            Value::Number(_) => Kind::Number,
            Value::Bool(_) => Kind::Bool,
            Value::Null => Kind::Null,
        }
    }

    /// Whether it has children.
    pub fn is_container(self) -> bool {
        matches!(self, Kind::Object(_) | Kind::Array(_))
    }

    /// The type badge.
    pub fn badge(self) -> &'static str {
        match self {
            Kind::Object(_) => "obj",
            Kind::Array(_) => "arr",
            Kind::String => "str",
            Kind::Number => "num",
            Kind::Bool => "bool",
            Kind::Null => "null",
        }
    }
}

/// The rows of a tree as last laid out, and whether the document's shape or the expansion
/// changed since.
#[derive(Debug, Default)]
pub(crate) struct Laid {
    pub(crate) rows: Vec<Row>,
    pub(crate) stale: bool,
}

impl Laid {
    /// None yet: laid out when first read.
    pub(crate) fn stale() -> Laid {
        Laid {
            rows: Vec::new(),
            stale: true,
        }
    }
}

/// One visible line of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Nesting depth (the root is 0).
    pub depth: u16,
    /// The index of the parent row (`None` for the root).
    pub parent: Option<u32>,
    /// The member key or item index under the parent (empty for the root).
    pub key: Token,
    /// Whether `key` is an array index.
    pub in_array: bool,
    /// The value's kind.
    pub kind: Kind,
    /// Whether its children are shown.
    pub expanded: bool,
    /// How many rows its subtree takes, itself included: the next sibling's row is `span`
    /// rows further on.
    pub span: u32,
}

/// Which containers are expanded: the default for all of them, except those toggled.
#[derive(Debug, Clone, Default)]
pub struct Expansion {
    /// Whether containers start expanded (the root always is, unless toggled).
    pub all: bool,
    /// Container paths whose state is the opposite of the default.
    pub toggled: HashSet<Vec<Token>>,
}

impl Expansion {
    /// Whether the container at `path` shows its children.
    pub fn is_expanded(&self, path: &[Token]) -> bool {
        let default = self.all || path.is_empty();
        default != self.toggled.contains(path)
    }

    /// Sets whether the container at `path` shows its children.
    pub fn set(&mut self, path: &[Token], expanded: bool) {
        let default = self.all || path.is_empty();
        if expanded == default {
            self.toggled.remove(path);
        } else {
            self.toggled.insert(path.to_vec());
        }
    }
}

/// The visible rows of `doc`, depth first.
pub fn flatten(doc: &Value, expansion: &Expansion) -> Vec<Row> {
    let root = Row {
        depth: 0,
        parent: None,
        key: Token::default(),
        in_array: false,
        kind: Kind::Null,
        expanded: false,
        span: 1,
    };
    subtree(doc, &[], &root, 0, expansion)
}

/// The rows of the node `value` at `path`, shown as row `at` (whose place in the tree `row`
/// gives) and its visible descendants, depth first: what goes at `at` in the rows.
fn subtree(value: &Value, path: &[Token], row: &Row, at: usize, expansion: &Expansion) -> Vec<Row> {
    let mut rows = Vec::new();
    // (value, depth, parent row, key, in_array); the path of the row being visited is kept in
    // `path`, truncated to its depth.
    let mut stack: Vec<(&Value, u16, Option<u32>, Token, bool)> =
        vec![(value, row.depth, row.parent, row.key.clone(), row.in_array)];
    let base = usize::from(row.depth);
    let mut path: Vec<Token> = path.to_vec();
    while let Some((value, depth, parent, key, in_array)) = stack.pop() {
        if usize::from(depth) > base {
            path.truncate(usize::from(depth) - 1);
            path.push(key.clone());
        }
        let kind = Kind::of(value);
        let expanded = kind.is_container() && expansion.is_expanded(&path);
        let index = u32::try_from(at + rows.len()).unwrap_or(u32::MAX);
        rows.push(Row {
            depth,
            parent,
            key,
            in_array,
            kind,
            expanded,
            span: 1,
        });
        if !expanded {
            continue;
        }
        let child_depth = depth.saturating_add(1);
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter().rev() {
                    stack.push((v, child_depth, Some(index), Token::from(k), false));
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate().rev() {
                    stack.push((
                        v,
                        child_depth,
                        Some(index),
                        Token::from(i.to_string()),
                        true,
                    ));
                }
            }
            _ => {}
        }
    }
    // Children come after their parents: add each row's span to its parent's, last to first.
    for i in (1..rows.len()).rev() {
        let (Some(span), Some(parent)) = (
            rows.get(i).map(|r| r.span),
            rows.get(i).and_then(|r| r.parent),
        ) else {
            continue;
        };
        if let Some(p) = rows.get_mut((parent as usize).wrapping_sub(at)) {
            p.span = p.span.saturating_add(span);
        }
    }
    rows
}

/// Shows the node at row `index` again, with its descendants as `expansion` has them now
/// (after it was expanded or collapsed): its rows are replaced, and the rows around them
/// adjusted. Costs the rows shown after it, not the document.
pub fn redo_subtree(rows: &mut Vec<Row>, index: usize, doc: &Value, expansion: &Expansion) {
    let Some(row) = rows.get(index).cloned() else {
        return;
    };
    let path = path_of(rows, index);
    let Some(value) = path.resolve(doc) else {
        return;
    };
    let new = subtree(value, path.tokens(), &row, index, expansion);
    let old_span = row.span as usize;
    let new_span = new.len();
    rows.splice(index..(index + old_span).min(rows.len()), new);
    // The rows after it moved: so did the parents among them.
    let shift = |p: u32| {
        let p = p as usize;
        let moved = if p > index {
            p + new_span - old_span
        } else {
            p
        };
        u32::try_from(moved).unwrap_or(u32::MAX)
    };
    for after in rows.iter_mut().skip(index + new_span) {
        after.parent = after.parent.map(shift);
    }
    // Its ancestors' subtrees grew or shrank as it did.
    let mut at = row.parent;
    while let Some(parent) = at.and_then(|p| rows.get_mut(p as usize)) {
        parent.span = u32::try_from(parent.span as usize + new_span - old_span).unwrap_or(u32::MAX);
        at = parent.parent;
    }
}

/// The row showing `path`, if it is visible: found by walking down from the root, skipping
/// each sibling's subtree by its span.
pub fn row_of(rows: &[Row], path: &Pointer) -> Option<usize> {
    let mut at = 0usize;
    for token in path.tokens() {
        let row = rows.get(at)?;
        if !row.expanded {
            return None;
        }
        let end = at + row.span as usize;
        let mut child = at + 1;
        loop {
            if child >= end {
                return None;
            }
            let c = rows.get(child)?;
            if c.key == *token {
                break;
            }
            child += c.span.max(1) as usize;
        }
        at = child;
    }
    rows.get(at).map(|_| at)
}

/// The JSON Pointer of row `index`, from the parent links.
pub fn path_of(rows: &[Row], index: usize) -> Pointer {
    let mut tokens = Vec::new();
    let mut at = rows.get(index);
    while let Some(row) = at {
        if row.parent.is_none() {
            break;
        }
        tokens.push(row.key.clone());
        at = row.parent.and_then(|p| rows.get(p as usize));
    }
    tokens.reverse();
    Pointer::from_tokens(tokens)
}

/// How many values `doc` holds (containers and leaves, the root included).
pub fn node_count(doc: &Value) -> usize {
    let mut count = 0;
    let mut stack = vec![doc];
    while let Some(value) = stack.pop() {
        count += 1;
        match value {
            Value::Object(map) => stack.extend(map.values()),
            Value::Array(items) => stack.extend(items.iter()),
            _ => {}
        }
    }
    count
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn doc() -> Value {
        Value::parse(r#"{"a": {"b": 1, "c": [true, null]}, "d": "x"}"#).unwrap()
    }

    #[test]
    fn collapsed_shows_the_root_and_its_children() {
        let rows = flatten(&doc(), &Expansion::default());
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["", "a", "d"]);
        assert!(rows[0].expanded && !rows[1].expanded);
        assert_eq!(rows[1].kind, Kind::Object(2));
    }

    #[test]
    fn expanded_shows_everything_in_document_order_with_paths() {
        let expansion = Expansion {
            all: true,
            ..Expansion::default()
        };
        let rows = flatten(&doc(), &expansion);
        let paths: Vec<String> = (0..rows.len())
            .map(|i| path_of(&rows, i).to_string())
            .collect();
        assert_eq!(paths, ["", "/a", "/a/b", "/a/c", "/a/c/0", "/a/c/1", "/d"]);
        assert_eq!(rows[4].depth, 3);
        assert_eq!(rows[0].span, 7);
        assert_eq!(rows[1].span, 5);
        for (i, path) in paths.iter().enumerate() {
            assert_eq!(
                row_of(&rows, &Pointer::parse(path).unwrap()),
                Some(i),
                "{path}"
            );
        }
        assert_eq!(row_of(&rows, &Pointer::parse("/zzz").unwrap()), None);
        assert!(rows[4].in_array);
        assert_eq!(node_count(&doc()), 7);
    }

    #[test]
    fn toggling_overrides_the_default() {
        let mut expansion = Expansion::default();
        expansion.set(&[Token::from("a")], true);
        assert_eq!(flatten(&doc(), &expansion).len(), 5);
        expansion.set(&[], false);
        assert_eq!(flatten(&doc(), &expansion).len(), 1);
    }
}
