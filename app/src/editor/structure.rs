//! Edits of the tree's structure: rename a key, add a child or a sibling, duplicate.

use sync_core::{Operation, Pointer, Value};

use super::{EditError, Editor};

/// Where a dragged node goes, relative to the node it is dropped on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Just before it, among its siblings.
    Before,
    /// Just after it, among its siblings.
    After,
    /// Inside it (an object or array), last.
    Into,
}

impl Editor {
    /// Renames the member at `path` to `key`, keeping its place among its siblings.
    pub fn rename(&mut self, path: &Pointer, key: &str) -> Result<Pointer, EditError> {
        let Some(parent) = path.parent() else {
            return Err(EditError::Invalid(
                "the document itself has no key".to_owned(),
            ));
        };
        let Some(Value::Object(map)) = parent.resolve(self.doc()) else {
            return Err(EditError::Invalid(
                "array items are numbered, not named".to_owned(),
            ));
        };
        if path.last() == Some(key) {
            return Ok(path.clone());
        }
        if map.contains_key(key) {
            return Err(EditError::Invalid(format!(
                "there is already a member {key:?} here"
            )));
        }
        let to = parent.child(key);
        let was_selected = self.selected() == Some(path);
        self.edit(vec![Operation::move_(path.clone(), to.clone())])?;
        if was_selected {
            self.select(Some(to.clone()));
        }
        Ok(to)
    }

    /// Adds `null` as the last child of the container at `path` (a member named `new`, or
    /// `new 2` and so on if taken), expands it, and returns the new child's path.
    pub fn add_child(&mut self, path: &Pointer) -> Result<Pointer, EditError> {
        let child = match path.resolve(self.doc()) {
            Some(Value::Object(map)) => path.child(free_key(map, "new")),
            Some(Value::Array(items)) => path.child(items.len().to_string()),
            _ => {
                return Err(EditError::Invalid(
                    "only objects and arrays have children".to_owned(),
                ));
            }
        };
        self.edit(vec![Operation::add(child.clone(), Value::Null)])?;
        self.set_expanded(path, true);
        self.select(Some(child.clone()));
        Ok(child)
    }

    /// Adds `null` right after the node at `path` and returns the new node's path.
    pub fn add_sibling(&mut self, path: &Pointer) -> Result<Pointer, EditError> {
        let Some(parent) = path.parent() else {
            return Err(EditError::Invalid(
                "the document itself has no siblings".to_owned(),
            ));
        };
        self.insert_after(&parent, path, Value::Null)
    }

    /// Copies the node at `path` to right after it and returns the copy's path.
    pub fn duplicate(&mut self, path: &Pointer) -> Result<Pointer, EditError> {
        let Some(parent) = path.parent() else {
            return Err(EditError::Invalid(
                "the document itself cannot be duplicated".to_owned(),
            ));
        };
        let Some(value) = path.resolve(self.doc()).cloned() else {
            return Err(EditError::Invalid(format!("{path} does not exist")));
        };
        self.insert_after(&parent, path, value)
    }

    /// Moves the node at `from` next to or into the node at `target` (dragging it there) as one
    /// `move`, so that edits others make to it follow it. Returns its new path.
    pub fn move_node(
        &mut self,
        from: &Pointer,
        target: &Pointer,
        place: Place,
    ) -> Result<Pointer, EditError> {
        if from.is_root() {
            return Err(EditError::Invalid(
                "the document itself cannot be moved".to_owned(),
            ));
        }
        if target.tokens().starts_with(from.tokens()) {
            return Err(EditError::Invalid(
                "a node cannot go inside itself".to_owned(),
            ));
        }
        let key = from.last().unwrap_or_default().to_owned();
        let from_parent = from.parent().unwrap_or_default();
        let (parent, sibling) = match place {
            Place::Into => (target.clone(), None),
            Place::Before | Place::After => match target.parent() {
                Some(parent) => (parent, target.last().map(str::to_owned)),
                None => {
                    return Err(EditError::Invalid(
                        "nothing goes beside the document itself".to_owned(),
                    ));
                }
            },
        };
        let same_parent = parent == from_parent;
        let (to, index) = match parent.resolve(self.doc()) {
            Some(Value::Array(items)) => {
                let len = items.len();
                let from_index = if same_parent {
                    key.parse::<usize>().ok()
                } else {
                    None
                };
                let mut at = match (&sibling, place) {
                    (Some(s), Place::After) => s.parse::<usize>().map_or(len, |i| i + 1),
                    (Some(s), _) => s.parse::<usize>().unwrap_or(len),
                    (None, _) => len,
                };
                // The move takes the item out first: later places shift down by one.
                if let Some(f) = from_index
                    && f < at
                {
                    at -= 1;
                }
                (parent.child(at.to_string()), None)
            }
            Some(Value::Object(map)) => {
                let name = if same_parent {
                    key.clone()
                } else {
                    free_key(map, &key)
                };
                let from_index = if same_parent {
                    map.index_of(&key)
                } else {
                    None
                };
                let mut at = match (&sibling, place) {
                    (Some(s), Place::After) => map.index_of(s).map_or(map.len(), |i| i + 1),
                    (Some(s), _) => map.index_of(s).unwrap_or(map.len()),
                    (None, _) => map.len(),
                };
                if let Some(f) = from_index
                    && f < at
                {
                    at -= 1;
                }
                (parent.child(name), Some(at))
            }
            _ => {
                return Err(EditError::Invalid(format!(
                    "{parent} is not an object or array"
                )));
            }
        };
        if &to == from && index.is_none() {
            return Ok(to);
        }
        let ops = if &to == from {
            // A member moving among its own siblings: a move onto itself does nothing, so it
            // goes by a temporary name to its new place and takes its name back there (both
            // moves in one change, so it is one step to undo and others' edits follow it).
            let Some(Value::Object(map)) = parent.resolve(self.doc()) else {
                return Ok(to);
            };
            let temporary = parent.child(free_key(map, "\u{1}moving"));
            vec![
                Operation::Move {
                    from: from.clone(),
                    path: temporary.clone(),
                    index,
                },
                Operation::Move {
                    from: temporary,
                    path: to.clone(),
                    index,
                },
            ]
        } else {
            vec![Operation::Move {
                from: from.clone(),
                path: to.clone(),
                index,
            }]
        };
        self.edit(ops)?;
        self.select(Some(to.clone()));
        Ok(to)
    }

    /// Inserts `value` (pasted, say) right after the node at `path`; into the document itself
    /// if `path` is the root container. Returns the new node's path.
    pub fn insert_value_after(
        &mut self,
        path: &Pointer,
        value: Value,
    ) -> Result<Pointer, EditError> {
        match path.parent() {
            Some(parent) => self.insert_after(&parent, path, value),
            None => {
                let child = match self.doc() {
                    Value::Object(map) => path.child(free_key(map, "pasted")),
                    Value::Array(items) => path.child(items.len().to_string()),
                    _ => {
                        return Err(EditError::Invalid(
                            "paste into an object or array".to_owned(),
                        ));
                    }
                };
                self.edit(vec![Operation::add(child.clone(), value)])?;
                self.select(Some(child.clone()));
                Ok(child)
            }
        }
    }

    /// Inserts `value` after `path` (a child of `parent`): the next index in an array, the next
    /// place in an object (under a free key derived from `path`'s).
    fn insert_after(
        &mut self,
        parent: &Pointer,
        path: &Pointer,
        value: Value,
    ) -> Result<Pointer, EditError> {
        let last = path.last().unwrap_or_default().to_owned();
        let (to, index) = match parent.resolve(self.doc()) {
            Some(Value::Array(_)) => {
                let next = last.parse::<usize>().map_or(0, |i| i + 1);
                (parent.child(next.to_string()), None)
            }
            Some(Value::Object(map)) => {
                let key = free_key(map, &format!("{last} copy"));
                let place = map.index_of(&last).map(|i| i + 1);
                (parent.child(key), place)
            }
            _ => return Err(EditError::Invalid(format!("{parent} is not a container"))),
        };
        self.edit(vec![Operation::Add {
            path: to.clone(),
            value,
            index,
        }])?;
        self.select(Some(to.clone()));
        Ok(to)
    }
}

/// `base`, or `base 2`, `base 3`... whichever `map` does not have yet.
fn free_key(map: &sync_core::Map, base: &str) -> String {
    if !map.contains_key(base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| format!("{base} {n}"))
        .find(|key| !map.contains_key(key))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sync_core::value::Style;

    use super::*;

    fn editor() -> Editor {
        let doc = Value::parse(r#"{"a": 1, "b": [10, 20], "c": {"x": true}}"#).unwrap();
        Editor::new(doc, None, Style::default())
    }

    fn at(path: &str) -> Pointer {
        Pointer::parse(path).unwrap()
    }

    #[test]
    fn renaming_keeps_the_place_and_refuses_taken_keys() {
        let mut e = editor();
        assert_eq!(e.rename(&at("/a"), "alpha").unwrap(), at("/alpha"));
        assert_eq!(
            e.doc().to_json(),
            r#"{"alpha":1,"b":[10,20],"c":{"x":true}}"#
        );
        assert!(e.rename(&at("/alpha"), "b").is_err());
        assert!(e.rename(&at("/b/0"), "zero").is_err());
        e.undo().unwrap();
        assert_eq!(e.doc().to_json(), r#"{"a":1,"b":[10,20],"c":{"x":true}}"#);
    }

    #[test]
    fn children_and_siblings_go_where_expected() {
        let mut e = editor();
        assert_eq!(e.add_child(&at("/c")).unwrap(), at("/c/new"));
        assert_eq!(e.add_child(&at("/c")).unwrap(), at("/c/new 2"));
        assert_eq!(e.add_child(&at("/b")).unwrap(), at("/b/2"));
        assert_eq!(e.add_sibling(&at("/b/0")).unwrap(), at("/b/1"));
        assert_eq!(e.add_sibling(&at("/a")).unwrap(), at("/a copy"));
        assert_eq!(
            e.doc().to_json(),
            r#"{"a":1,"a copy":null,"b":[10,null,20,null],"c":{"x":true,"new":null,"new 2":null}}"#
        );
        assert!(e.add_child(&at("/a")).is_err());
        assert!(e.add_sibling(&Pointer::root()).is_err());
    }

    #[test]
    fn dragging_reorders_and_moves_between_containers() {
        let mut e = Editor::new(
            Value::parse(r#"{"list": [0, 1, 2, 3], "obj": {"a": 1, "b": 2, "c": 3}, "box": []}"#)
                .unwrap(),
            None,
            Style::default(),
        );
        // Within an array, both ways.
        assert_eq!(
            e.move_node(&at("/list/0"), &at("/list/2"), Place::After)
                .unwrap(),
            at("/list/2")
        );
        assert_eq!(
            e.doc().to_json(),
            r#"{"list":[1,2,0,3],"obj":{"a":1,"b":2,"c":3},"box":[]}"#
        );
        assert_eq!(
            e.move_node(&at("/list/3"), &at("/list/0"), Place::Before)
                .unwrap(),
            at("/list/0")
        );
        assert_eq!(
            e.doc().to_json(),
            r#"{"list":[3,1,2,0],"obj":{"a":1,"b":2,"c":3},"box":[]}"#
        );
        // Within an object: member order.
        e.move_node(&at("/obj/a"), &at("/obj/c"), Place::After)
            .unwrap();
        assert_eq!(
            e.doc().to_json(),
            r#"{"list":[3,1,2,0],"obj":{"b":2,"c":3,"a":1},"box":[]}"#
        );
        // Between containers.
        assert_eq!(
            e.move_node(&at("/obj/b"), &at("/box"), Place::Into)
                .unwrap(),
            at("/box/0")
        );
        assert_eq!(
            e.move_node(&at("/list/0"), &at("/obj"), Place::Into)
                .unwrap(),
            at("/obj/0")
        );
        assert_eq!(
            e.doc().to_json(),
            r#"{"list":[1,2,0],"obj":{"c":3,"a":1,"0":3},"box":[2]}"#
        );
        // Not into itself; undo puts things back one move at a time.
        assert!(
            e.move_node(&at("/obj"), &at("/obj/c"), Place::After)
                .is_err()
        );
        assert!(e.move_node(&at("/obj"), &at("/obj"), Place::Into).is_err());
        for _ in 0..5 {
            e.undo().unwrap();
        }
        assert_eq!(
            e.doc().to_json(),
            r#"{"list":[0,1,2,3],"obj":{"a":1,"b":2,"c":3},"box":[]}"#
        );
    }

    #[test]
    fn duplicates_land_next_to_the_original() {
        let mut e = editor();
        assert_eq!(e.duplicate(&at("/c")).unwrap(), at("/c copy"));
        assert_eq!(e.duplicate(&at("/b/1")).unwrap(), at("/b/2"));
        assert_eq!(
            e.doc().to_json(),
            r#"{"a":1,"b":[10,20,20],"c":{"x":true},"c copy":{"x":true}}"#
        );
        assert_eq!(e.selected(), Some(&at("/b/2")));
    }
}
