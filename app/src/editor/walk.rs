//! A walk through a document in document order that can stop after any node and go on later
//! (on the same state of the document), so that work over the whole of a large document is
//! done a slice per frame and never freezes the window. Searching and counting use it.

use sync_core::{Pointer, Value};

/// Where a walk is: for each container being walked, from the root down, the index of its
/// next child. It holds no reference into the document, which may move in memory between
/// slices; containers are found again by index when a slice starts.
#[derive(Debug, Clone, Default)]
pub struct Walk {
    next: Vec<usize>,
    started: bool,
    done: bool,
}

/// A node being visited: the container it is in (`None` for the root) and its index there,
/// and where the walk is, to name it.
pub struct Visit<'a, 'w> {
    /// The container, and the node's index in it.
    pub parent: Option<(&'a Value, usize)>,
    /// The node.
    pub value: &'a Value,
    indices: &'w [usize],
}

impl Visit<'_, '_> {
    /// The node's path in `doc` (the document being walked).
    pub fn pointer(&self, doc: &Value) -> Pointer {
        let mut path = Pointer::root();
        let mut at = doc;
        // The node itself is the last child visited in each container on the way down.
        for &next in self.indices {
            let index = next - 1;
            match at {
                Value::Object(map) => {
                    let Some((key, child)) = map.get_index(index) else {
                        break;
                    };
                    path.push(key);
                    at = child;
                }
                Value::Array(items) => {
                    let Some(child) = items.get(index) else {
                        break;
                    };
                    path.push(index.to_string());
                    at = child;
                }
                _ => break,
            }
        }
        path
    }
}

impl Walk {
    /// A walk from the root.
    pub fn new() -> Walk {
        Walk::default()
    }

    /// Whether every node has been visited.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Visits at most `nodes` more nodes of `doc` (the root is visited first, in the first
    /// slice, on top of them), each once, in document order; returns whether the walk is done.
    /// A walk given a document whose containers are not where it left them ends.
    pub fn run<'a>(
        &mut self,
        doc: &'a Value,
        nodes: usize,
        mut visit: impl FnMut(Visit<'a, '_>),
    ) -> bool {
        if self.done {
            return true;
        }
        if !self.started {
            self.started = true;
            visit(Visit {
                parent: None,
                value: doc,
                indices: &[],
            });
            if !self.open(doc) {
                self.done = true;
                return true;
            }
        }
        // The containers being walked, found again by their indices.
        let mut containers: Vec<&'a Value> = Vec::with_capacity(self.next.len());
        containers.push(doc);
        for &next in self.next.iter().take(self.next.len().saturating_sub(1)) {
            let Some(child) = containers.last().and_then(|c| child_at(c, next - 1)) else {
                self.done = true;
                return true;
            };
            containers.push(child);
        }
        let mut left = nodes;
        while let (Some(next), Some(&container)) = (self.next.last_mut(), containers.last()) {
            if left == 0 {
                return false;
            }
            let index = *next;
            let Some(child) = child_at(container, index) else {
                self.next.pop();
                containers.pop();
                continue;
            };
            *next += 1;
            left -= 1;
            visit(Visit {
                parent: Some((container, index)),
                value: child,
                indices: &self.next,
            });
            if self.open(child) {
                containers.push(child);
            }
        }
        self.done = true;
        true
    }

    /// Starts walking `value`'s children, if it has any.
    fn open(&mut self, value: &Value) -> bool {
        let has_children = match value {
            Value::Object(map) => !map.is_empty(),
            Value::Array(items) => !items.is_empty(),
            _ => false,
        };
        if has_children {
            self.next.push(0);
        }
        has_children
    }
}

/// The `index`th child of a container.
fn child_at(container: &Value, index: usize) -> Option<&Value> {
    match container {
        Value::Object(map) => map.value_at(index),
        Value::Array(items) => items.get(index),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn slices_of_any_size_visit_every_node_once_in_document_order() {
        let doc = Value::parse(
            r#"{"a": {"ab": [], "b": {}, "c": ["xa", {"a": null}, [[["ba"]]]]}, "z": "A",
                "": {"deep": {"er": {"est": "a"}}}, "last": [1, 2, "a"]}"#,
        )
        .unwrap();
        let mut whole = Vec::new();
        Walk::new().run(&doc, usize::MAX, |v| {
            whole.push(v.pointer(&doc).to_string());
        });
        assert_eq!(whole.len(), 21);
        assert_eq!(&whole[..4], ["", "/a", "/a/ab", "/a/b"]);
        assert_eq!(whole.last().unwrap(), "/last/2");
        for slice in 1..25 {
            let mut walk = Walk::new();
            let mut seen = Vec::new();
            while !walk.run(&doc, slice, |v| seen.push(v.pointer(&doc).to_string())) {}
            assert!(walk.is_done());
            assert_eq!(seen, whole, "slices of {slice} nodes");
        }
    }

    #[test]
    fn a_walk_ends_cleanly_when_the_document_under_it_is_another() {
        let doc = Value::parse(r#"{"a": [{"x": 1}, {"x": 2}], "b": "x"}"#).unwrap();
        let mut walk = Walk::new();
        let mut seen = 0;
        assert!(!walk.run(&doc, 3, |_| seen += 1));
        // The container it was walking is gone.
        let other = Value::parse(r#"{"a": []}"#).unwrap();
        assert!(walk.run(&other, 100, |_| seen += 1));
        assert_eq!(seen, 4);
    }
}
