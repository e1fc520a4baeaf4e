//! The local edits that lost (overwritten, dropped, refused, no longer applying) as the
//! Conflicts panel lists them, and the change that puts one back.

use sync_core::protocol::{Conflict, ConflictKind};
use sync_core::{Operation, Pointer, Value};

/// A local edit that lost: overwritten, dropped, refused by the relay, or no longer applying
/// after a resync.
#[derive(Debug, Clone, PartialEq)]
pub struct Lost {
    /// What happened, as the relay recorded it (for overwritten and dropped edits).
    pub conflict: Option<Conflict>,
    /// The change that was refused or no longer applied (the others have `conflict`).
    pub ops: Vec<Operation>,
    /// Why, for people.
    pub reason: String,
    /// When it was learnt.
    pub at: std::time::SystemTime,
    /// "Restore mine" was used on it.
    pub restored: bool,
}

impl Lost {
    /// Where it happened.
    pub fn path(&self) -> Pointer {
        match (&self.conflict, self.ops.first()) {
            (Some(conflict), _) => conflict.path.clone(),
            (None, Some(op)) => op.path().clone(),
            (None, None) => Pointer::root(),
        }
    }

    /// The change that puts my value back, as things stand in `doc`; `None` when the edit
    /// carried no value, or when what now stands above its place is not an object or array
    /// (putting it back would destroy someone else's value).
    pub fn restoring_change(&self, doc: &Value) -> Option<Vec<Operation>> {
        Some(match self.restoring(doc)? {
            Restoring::Put { path, value, place } => vec![place.op(path, value)],
            Restoring::Replay(ops) => ops.to_vec(),
        })
    }

    /// Whether "Restore mine" can put my value back in `doc` (checked every frame the panel
    /// shows, so nothing is copied).
    pub fn can_restore(&self, doc: &Value) -> bool {
        self.restoring(doc).is_some()
    }

    /// How my value would come back in `doc`.
    fn restoring<'a>(&'a self, doc: &Value) -> Option<Restoring<'a>> {
        let put =
            |path, value| Place::find(path, doc).map(|place| Restoring::Put { path, value, place });
        match &self.conflict {
            Some(Conflict {
                kind: ConflictKind::Overwritten,
                path,
                value: Some(value),
                ..
            })
            // A value set where someone removed the member (or an ancestor) meanwhile: it
            // comes back with my value (replaying the replace would fail, the member being
            // gone).
            | Some(Conflict {
                kind: ConflictKind::Dropped,
                op: Some(Operation::Replace { path, value }),
                ..
            }) => put(path, value),
            // Typing in, or counting up, a value someone removed meanwhile: the value as it
            // was when the edit was dropped comes back (the keystroke alone means nothing
            // without its string).
            Some(Conflict {
                kind: ConflictKind::Dropped,
                op: Some(op @ (Operation::Splice { .. } | Operation::Incr { .. })),
                path,
                value: Some(value),
                ..
            }) if op.path().resolve(doc).is_none() => put(path, value),
            Some(Conflict {
                kind: ConflictKind::Dropped,
                op: Some(op),
                ..
            }) => Some(Restoring::Replay(std::slice::from_ref(op))),
            Some(_) => None,
            None => (!self.ops.is_empty()).then_some(Restoring::Replay(&self.ops)),
        }
    }

    /// Whether `other` records the same loss (one typed string is many keystrokes, each dropped
    /// the same way and recorded with the whole string).
    pub(super) fn same_loss(&self, other: &Conflict) -> bool {
        self.conflict.as_ref().is_some_and(|c| {
            c.kind == other.kind
                && c.path == other.path
                && c.value == other.value
                && c.reason == other.reason
                && c.winner == other.winner
                && c.rev == other.rev
        })
    }
}

/// How a lost edit comes back.
enum Restoring<'a> {
    /// My value, put at its place.
    Put {
        path: &'a Pointer,
        value: &'a Value,
        place: Place,
    },
    /// The operations, applied again.
    Replay(&'a [Operation]),
}

/// Where a value goes back at `path` in a document: replacing what is there, added where
/// nothing is, and where ancestors are gone too, added at the first missing one (the
/// ancestor at this depth) inside objects that lead to it.
#[derive(Clone, Copy)]
enum Place {
    Replace,
    Add { depth: usize },
}

impl Place {
    /// `None` when something that is not an object or array stands above `path`.
    fn find(path: &Pointer, doc: &Value) -> Option<Place> {
        if path.resolve(doc).is_some() {
            return Some(Place::Replace);
        }
        let tokens = path.tokens();
        // The deepest ancestor still in the document (the root always is).
        let depth = (0..tokens.len())
            .rev()
            .find(|&n| {
                Pointer::from_tokens(tokens.iter().take(n).cloned())
                    .resolve(doc)
                    .is_some()
            })
            .unwrap_or(0);
        let parent = Pointer::from_tokens(tokens.iter().take(depth).cloned()).resolve(doc)?;
        matches!(parent, Value::Object(_) | Value::Array(_)).then_some(Place::Add { depth })
    }

    /// The operation that puts `value` back at `path`.
    fn op(self, path: &Pointer, value: &Value) -> Operation {
        let Place::Add { depth } = self else {
            return Operation::replace(path.clone(), value.clone());
        };
        let tokens = path.tokens();
        let mut nested = value.clone();
        for token in tokens.iter().skip(depth + 1).rev() {
            let mut members = sync_core::Map::new();
            members.insert(token.clone(), nested);
            nested = Value::Object(members);
        }
        Operation::Add {
            path: Pointer::from_tokens(tokens.iter().take(depth + 1).cloned()),
            value: nested,
            index: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use sync_core::protocol::{ClientId, Conflict, ConflictKind, Party, Revision};
    use sync_core::rebase::DropReason;
    use sync_core::{Operation, Pointer, Value};

    use super::Lost;

    fn lost(kind: ConflictKind, op: Option<Operation>) -> Lost {
        let party = |name: &str| Party {
            client: ClientId(format!("w{name}")),
            author: name.to_owned(),
        };
        Lost {
            conflict: Some(Conflict {
                kind,
                path: Pointer::parse("/visitors").unwrap(),
                value: Some(Value::from(42)),
                op,
                reason: (kind == ConflictKind::Dropped).then_some(DropReason::Removed),
                winner: party("ben"),
                loser: party("ann"),
                rev: Revision(2),
            }),
            ops: Vec::new(),
            reason: String::new(),
            at: std::time::SystemTime::UNIX_EPOCH,
            restored: false,
        }
    }

    #[test]
    fn restoring_a_value_set_on_a_member_removed_meanwhile_adds_it_back() {
        let set = Operation::replace(Pointer::parse("/visitors").unwrap(), Value::from(42));
        let dropped = lost(ConflictKind::Dropped, Some(set.clone()));
        let gone = Value::parse(r#"{"name": "plan"}"#).unwrap();
        let mut doc = gone.clone();
        let change = dropped.restoring_change(&gone).unwrap();
        sync_core::apply::apply(&mut doc, &change).unwrap();
        assert_eq!(doc.to_json(), r#"{"name":"plan","visitors":42}"#);
        // Where the member is there (someone added it again), the value replaces it.
        let back = Value::parse(r#"{"visitors": 7}"#).unwrap();
        assert_eq!(dropped.restoring_change(&back), Some(vec![set]));
        // An overwritten value comes back the same way.
        let overwritten = lost(ConflictKind::Overwritten, None);
        assert_eq!(
            overwritten.restoring_change(&gone),
            dropped.restoring_change(&gone)
        );
    }

    /// Typing a string offline in a member someone removed meanwhile: each keystroke is dropped
    /// and recorded with the whole string; one record is shown, and Restore mine puts the
    /// string back, with the object that held it.
    #[test]
    fn a_string_typed_into_a_member_removed_meanwhile_is_one_loss_restored_whole() {
        let keystroke = |pos: usize, ins: &str| {
            let mut l = lost(
                ConflictKind::Dropped,
                Some(Operation::Splice {
                    path: Pointer::parse("/owner/email").unwrap(),
                    pos,
                    del: 0,
                    ins: ins.to_owned(),
                }),
            );
            if let Some(c) = &mut l.conflict {
                c.path = Pointer::parse("/owner/email").unwrap();
                c.value = Some(Value::from("ann@x"));
            }
            l
        };
        let first = keystroke(0, "a");
        let second = keystroke(1, "n");
        assert!(first.same_loss(second.conflict.as_ref().unwrap()));
        let mut restored = Value::parse(r#"{"name": "plan"}"#).unwrap();
        let change = second.restoring_change(&restored).unwrap();
        sync_core::apply::apply(&mut restored, &change).unwrap();
        assert_eq!(
            restored.to_json(),
            r#"{"name":"plan","owner":{"email":"ann@x"}}"#
        );
        // Where something that holds no members stands in the way, nothing is offered.
        let blocked = Value::parse(r#"{"owner": "someone else's"}"#).unwrap();
        assert_eq!(second.restoring_change(&blocked), None);
    }
}
