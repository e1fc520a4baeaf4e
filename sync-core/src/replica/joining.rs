//! Edits that continue the last one (typing on in the same field) and share its undo step, as
//! keystrokes do in every editor: one undo takes the whole run back, as one change.

use super::{EditError, Event, Replica};
use crate::op::Operation;
use crate::rebase::Placed;

impl Replica {
    /// Applies a local edit that continues the last one (the next keystroke in a field, say):
    /// like [`Replica::edit`], but it joins the last edit's undo entry, so that one
    /// [`Replica::undo`] takes both back. When the last local action was an undo or a redo
    /// (or nothing is left to undo), it is an edit of its own.
    pub fn edit_joining(&mut self, ops: Vec<Operation>) -> Result<Vec<Event>, EditError> {
        if !self.redo.is_empty() || self.undo.is_empty() {
            return self.edit(ops);
        }
        let inverse = self.apply_local(ops)?;
        if let Some(entry) = self.undo.back_mut() {
            join(inverse, entry);
        }
        Ok(self.flush())
    }
}

/// Puts `newer`, the inverse of a later edit, in front of the undo `entry` (it is undone
/// first). A typing run stays one operation: the inverse of a keystroke and that of the run
/// before it are one splice where they touch, so that a long run costs no more to extend.
fn join(newer: Vec<Placed>, entry: &mut Vec<Placed>) {
    if let ([a], Some(b)) = (newer.as_slice(), entry.first_mut())
        && let Some(op) = then(&a.op, &b.op)
    {
        b.op = op;
        return;
    }
    let mut joined = newer;
    joined.append(entry);
    *entry = joined;
}

/// The one splice that does `a` and then `b`, two splices of the same string whose ranges
/// touch (what `b` deletes meets what `a` left), if they are.
fn then(a: &Operation, b: &Operation) -> Option<Operation> {
    let (
        Operation::Splice {
            path,
            pos: p1,
            del: d1,
            ins: i1,
        },
        Operation::Splice {
            path: path2,
            pos: p2,
            del: d2,
            ins: i2,
        },
    ) = (a, b)
    else {
        return None;
    };
    let (p1, d1, p2, d2) = (*p1, *d1, *p2, *d2);
    let n1 = i1.chars().count();
    if path != path2 || p2 > p1 + n1 || p1 > p2 + d2 {
        return None;
    }
    // In the text after `a`, `b` covers [p2, p2 + d2); together they cover [start, end).
    let start = p1.min(p2);
    let end = (p1 + n1).max(p2 + d2);
    // What of `a`'s insertion `b` keeps, before and after its own range.
    let before: String = i1.chars().take(p2.saturating_sub(p1)).collect();
    let after: String = i1.chars().skip((p2 + d2).saturating_sub(p1)).collect();
    Some(Operation::Splice {
        path: path.clone(),
        pos: start,
        // `end` is past `a`'s insertion: in the text before `a`, it is `d1 - n1` further.
        del: end + d1 - n1 - start,
        ins: before + i2 + &after,
    })
}

#[cfg(test)]
mod tests {
    use super::then;
    use crate::op::Operation;
    use crate::pointer::Pointer;
    use crate::value::Value;

    fn splice(pos: usize, del: usize, ins: &str) -> Operation {
        Operation::Splice {
            path: Pointer::parse("/s").unwrap_or_else(|_| unreachable!()),
            pos,
            del,
            ins: ins.to_owned(),
        }
    }

    /// `text` after `ops`, if they apply.
    fn apply(text: &str, ops: &[Operation]) -> Option<String> {
        let mut doc = Value::parse(&format!(r#"{{"s": "{text}"}}"#)).ok()?;
        crate::apply::apply_all(&mut doc, ops.iter()).ok()?;
        match doc {
            Value::Object(members) => match members.get("s") {
                Some(Value::String(s)) => Some(s.to_string()),
                _ => None,
            },
            _ => None,
        }
    }

    #[test]
    fn two_splices_that_touch_are_one_that_does_the_same() {
        let text = "0123456789";
        // Every pair of splices on a short text: where `then` joins them, the result is the
        // same as doing both.
        let shapes = [
            (0, 0, ""),
            (0, 2, ""),
            (2, 1, "ab"),
            (3, 0, "é"),
            (5, 3, "x"),
        ];
        let mut joined = 0;
        for &(p1, d1, i1) in &shapes {
            for &(p2, d2, i2) in &shapes {
                for shift in 0..4 {
                    let a = splice(p1 + shift, d1, i1);
                    let b = splice(p2, d2, i2);
                    let Some(both) = apply(text, &[a.clone(), b.clone()]) else {
                        continue;
                    };
                    let Some(one) = then(&a, &b) else { continue };
                    joined += 1;
                    assert_eq!(
                        apply(text, std::slice::from_ref(&one)),
                        Some(both),
                        "{a:?} then {b:?} as {one:?}"
                    );
                }
            }
        }
        assert!(joined > 20, "{joined}");
        // Apart, they are not joined.
        assert_eq!(then(&splice(6, 1, ""), &splice(0, 2, "")), None);
    }
}
