//! How the log groups changes for people: typing arrives a keystroke a change (so that others
//! see it at once), but history shows, and reverts, a word or a burst of typing as one entry.
//!
//! The Authority decides when it applies a change whether it continues its client's previous
//! one ([`continues`]) and records that in the change's [`Commit::group`]: the revision that
//! began the group. The rule, also given in PROTOCOL.md, is that a change continues the
//! client's previous change when
//! - both only edit one and the same value, in place: every operation a `splice`, an `incr`
//!   or a `replace` by a string, number, boolean or `null`, all at the same path;
//! - it came less than [`PAUSE_MS`] after it;
//! - it does not start a word after one ended: the previous change's last inserted text
//!   ends with white space and this one's first starts with something else;
//! - neither recorded a conflict (a conflict stands alone, to be seen and reverted alone).

use crate::op::Operation;
use crate::pointer::Pointer;
use crate::protocol::{Commit, Revision};
use crate::value::Value;

/// A pause in typing longer than this (milliseconds) begins a new group.
pub const PAUSE_MS: u64 = 2_000;

/// Whether a change of `ops` applied at `time`, with conflicts or not, continues the group of
/// `previous`, its client's previous change.
pub fn continues(previous: &Commit, ops: &[Operation], time: u64, conflicts: bool) -> bool {
    if conflicts || !previous.conflicts.is_empty() {
        return false;
    }
    if time.saturating_sub(previous.time) >= PAUSE_MS {
        return false;
    }
    let (Some(before), Some(now)) = (field(&previous.ops), field(ops)) else {
        return false;
    };
    if before != now {
        return false;
    }
    let ended_word = last_inserted(&previous.ops).is_some_and(|t| t.ends_with(char::is_whitespace));
    let starts_word =
        first_inserted(ops).is_some_and(|t| t.starts_with(|c: char| !c.is_whitespace()));
    !(ended_word && starts_word)
}

/// The group a change begun at `previous` continues: the revision that began it.
pub fn group_of(previous: &Commit) -> Revision {
    previous.group.unwrap_or(previous.rev)
}

/// The one value `ops` edit in place, if that is all they do.
fn field(ops: &[Operation]) -> Option<&Pointer> {
    let mut at = None;
    for op in ops {
        let path = match op {
            Operation::Splice { path, .. } | Operation::Incr { path, .. } => path,
            Operation::Replace { path, value }
                if !matches!(value, Value::Object(_) | Value::Array(_)) =>
            {
                path
            }
            _ => return None,
        };
        match at {
            None => at = Some(path),
            Some(p) if p != path => return None,
            Some(_) => {}
        }
    }
    at
}

fn inserted(op: &Operation) -> Option<&str> {
    match op {
        Operation::Splice { ins, .. } if !ins.is_empty() => Some(ins),
        _ => None,
    }
}

fn last_inserted(ops: &[Operation]) -> Option<&str> {
    ops.iter().rev().find_map(inserted)
}

fn first_inserted(ops: &[Operation]) -> Option<&str> {
    ops.iter().find_map(inserted)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::protocol::ClientId;

    fn ops(json: &str) -> Vec<Operation> {
        crate::Change::from_json(json).unwrap().0
    }

    fn typed(text: &str) -> Vec<Operation> {
        let text = serde_json::to_string(text).unwrap();
        ops(&format!(
            r#"[{{"op": "splice", "path": "/title", "pos": 0, "del": 0, "ins": {text}}}]"#
        ))
    }

    fn commit(rev: u64, ops: Vec<Operation>, time: u64) -> Commit {
        Commit {
            rev: Revision(rev),
            client: ClientId::from("ann"),
            seq: rev,
            author: "Ann".to_owned(),
            time,
            ops,
            conflicts: Vec::new(),
            group: None,
        }
    }

    #[test]
    fn typing_in_one_value_continues_until_a_word_ends_or_a_pause() {
        let h = commit(1, typed("h"), 1000);
        assert!(continues(&h, &typed("e"), 1200, false));
        // Deleting, and white space after a word, still continue it.
        assert!(continues(
            &h,
            &ops(r#"[{"op": "splice", "path": "/title", "pos": 0, "del": 1, "ins": ""}]"#),
            1200,
            false
        ));
        let space = commit(2, typed(" "), 1300);
        assert!(continues(&h, &typed(" "), 1300, false));
        // The next word begins a new group; more white space does not.
        assert!(!continues(&space, &typed("w"), 1400, false));
        assert!(continues(&space, &typed(" "), 1400, false));
        // A pause.
        assert!(!continues(&h, &typed("e"), 1000 + PAUSE_MS, false));
        // Another value, or a change of shape.
        let elsewhere =
            ops(r#"[{"op": "splice", "path": "/body", "pos": 0, "del": 0, "ins": "e"}]"#);
        assert!(!continues(&h, &elsewhere, 1200, false));
        let shape = ops(r#"[{"op": "add", "path": "/title2", "value": "e"}]"#);
        assert!(!continues(&h, &shape, 1200, false));
        let object = ops(r#"[{"op": "replace", "path": "/title", "value": {}}]"#);
        assert!(!continues(&h, &object, 1200, false));
        // A field's other edits: a number typed, a value's type switched.
        let number = commit(
            3,
            ops(r#"[{"op": "replace", "path": "/n", "value": 1}]"#),
            0,
        );
        assert!(continues(
            &number,
            &ops(r#"[{"op": "replace", "path": "/n", "value": 12}]"#),
            500,
            false
        ));
        assert!(continues(
            &number,
            &ops(r#"[{"op": "replace", "path": "/n", "value": null}]"#),
            500,
            false
        ));
        // Conflicts stand alone.
        assert!(!continues(&h, &typed("e"), 1200, true));
    }

    #[test]
    fn a_group_is_named_by_the_revision_that_began_it() {
        let first = commit(7, typed("a"), 0);
        assert_eq!(group_of(&first), Revision(7));
        let second = Commit {
            group: Some(Revision(7)),
            ..commit(9, typed("b"), 10)
        };
        assert_eq!(group_of(&second), Revision(7));
    }
}
