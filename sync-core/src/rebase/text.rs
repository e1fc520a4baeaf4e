//! Concurrent edits of one string, merged character by character; positions in a string
//! followed through changes.

use super::{Placed, Side, moves, paths::map_path};
use crate::op::Operation;
use crate::pointer::Pointer;

/// Where a string and the positions in it went through a sequence of changes (see
/// [`follow_text`]): a caret, a selection, someone's place in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFollow {
    /// Where the string is now.
    pub path: Pointer,
    /// The splices made to it, in order: start, characters deleted, characters inserted.
    splices: Vec<(usize, usize, usize)>,
    /// Whether its value was replaced whole.
    replaced: bool,
}

impl TextFollow {
    /// Where the character position `at` of the string before the changes is now: before a
    /// splice it stays, after one it moves with the text, inside a deleted range it goes to
    /// the end of what was inserted there. `None` if the value was replaced whole: the old
    /// positions have no place in the new text.
    pub fn position(&self, at: usize) -> Option<usize> {
        if self.replaced {
            return None;
        }
        Some(self.splices.iter().fold(at, |at, &(pos, del, ins)| {
            if at <= pos {
                at
            } else if at >= pos + del {
                at - del + ins
            } else {
                pos + ins
            }
        }))
    }

    /// Whether the text changed at all (spliced or replaced).
    pub fn changed(&self) -> bool {
        self.replaced || !self.splices.is_empty()
    }
}

/// Follows the string at `path` through `through` (changes as they applied, with their
/// shapes, as [`Replica::take_moves`](crate::replica::Replica::take_moves) gives them):
/// where it is now and how its positions moved. `None` if it was removed (or something above
/// it replaced).
///
/// ```
/// use sync_core::{Change, Pointer, Value};
/// use sync_core::rebase::{Placed, Shape, follow_text};
///
/// let doc = Value::parse(r#"{"notes": ["a", "Hello world"]}"#)?;
/// let change = Change::from_json(r#"[
///     {"op": "remove", "path": "/notes/0"},
///     {"op": "splice", "path": "/notes/0", "pos": 0, "del": 5, "ins": "Goodbye"}
/// ]"#)?;
/// let mut at = doc.clone();
/// let mut placed = Vec::new();
/// for op in change.ops() {
///     placed.push(Placed { op: op.clone(), shape: Shape::of(op, &at) });
///     sync_core::apply::apply(&mut at, std::slice::from_ref(op))?;
/// }
/// let follow = follow_text(&Pointer::parse("/notes/1")?, &placed).unwrap();
/// assert_eq!(follow.path, Pointer::parse("/notes/0")?);
/// // The caret after "Hello" is now after "Goodbye"; the one before "world" moved by two.
/// assert_eq!(follow.position(5), Some(7));
/// assert_eq!(follow.position(6), Some(8));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn follow_text(path: &Pointer, through: &[Placed]) -> Option<TextFollow> {
    let mut follow = TextFollow {
        path: path.clone(),
        splices: Vec::new(),
        replaced: false,
    };
    for y in through {
        match &y.op {
            Operation::Splice {
                path,
                pos,
                del,
                ins,
            } if *path == follow.path => {
                follow.splices.push((*pos, *del, ins.chars().count()));
            }
            Operation::Test { .. } | Operation::Splice { .. } | Operation::Incr { .. } => {}
            op => {
                let before = follow.path.clone();
                if moves(&follow.path, y) {
                    follow.path = map_path(&follow.path, op, y.shape, false, Side::Later).ok()?;
                }
                // Written where the string is now (not inserted before it in an array, which
                // moved it, nor the string itself moved there): its value is another.
                let carried = matches!(op, Operation::Move { from, .. } if *from == before);
                if *op.path() == follow.path && !carried && !matches!(op, Operation::Remove { .. })
                {
                    follow.replaced = true;
                }
            }
        }
    }
    Some(follow)
}

/// x's splice `(pos, del, ins)` rebased over y's splice `(pos, del, inserted length)` of the
/// same string. Deletions of both apply, each character once; both insertions are kept, y's
/// first at the same position when x is later.
pub(super) fn merge_splices(
    path: &Pointer,
    x: (usize, usize, &String),
    y: (usize, usize, usize),
    side: Side,
) -> Vec<Operation> {
    let (xs, xdel, ins) = x;
    let (ys, ydel, ylen) = y;
    let (xe, ye) = (xs + xdel, ys + ydel);
    // x's deletion, in two parts: before y's range and after it.
    let d1 = xe.min(ys).saturating_sub(xs);
    let d2 = xe.saturating_sub(xs.max(ye));
    let start2 = xs.max(ye) - ydel + ylen;
    let at = if xs < ys {
        xs
    } else if xs > ye {
        xs - ydel + ylen
    } else if xs == ys && side == Side::Earlier {
        ys
    } else {
        ys + ylen
    };
    let ins_len = ins.chars().count();
    let splice = |pos, del, ins: &str| Operation::Splice {
        path: path.clone(),
        pos,
        del,
        ins: ins.to_owned(),
    };
    let mut out = Vec::new();
    if d1 > 0 {
        out.push(splice(xs, d1, ins));
        if d2 > 0 {
            out.push(splice(start2 - d1 + ins_len, d2, ""));
        }
    } else if d2 > 0 && start2 == at {
        out.push(splice(at, d2, ins));
    } else if d2 > 0 {
        // The insertion point comes before y's text, the remaining deletion after it.
        out.push(splice(start2, d2, ""));
        if !ins.is_empty() {
            out.push(splice(at, 0, ins));
        }
    } else if !ins.is_empty() {
        out.push(splice(at, 0, ins));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rebase::{Placed, Rebased, Shape, rebase_op};

    fn placed(op: &Operation) -> Placed {
        Placed {
            op: op.clone(),
            shape: Shape::default(),
        }
    }
    use crate::value::Value;

    fn text_after(start: &str, ops: &[Operation]) -> String {
        let mut doc = Value::from(start);
        crate::apply::apply(&mut doc, ops).unwrap();
        doc.as_text().unwrap().to_string()
    }

    fn placed_through(start: &Value, ops: &[Operation]) -> Vec<Placed> {
        let mut doc = start.clone();
        ops.iter()
            .map(|op| {
                let placed = Placed {
                    op: op.clone(),
                    shape: Shape::of(op, &doc),
                };
                crate::apply::apply(&mut doc, std::slice::from_ref(op)).unwrap();
                placed
            })
            .collect()
    }

    #[test]
    fn positions_follow_splices_and_the_string_follows_its_array() {
        let doc = Value::parse(r#"{"l": ["x", "abcdef"], "o": "z"}"#).unwrap();
        let at = |s: &str| Pointer::parse(s).unwrap();
        let change = crate::Change::from_json(
            r#"[{"op": "add", "path": "/l/0", "value": 1},
                {"op": "splice", "path": "/l/2", "pos": 1, "del": 2, "ins": "XYZ"},
                {"op": "splice", "path": "/o", "pos": 0, "del": 1, "ins": ""},
                {"op": "splice", "path": "/l/2", "pos": 0, "del": 0, "ins": "-"}]"#,
        )
        .unwrap();
        let follow = follow_text(&at("/l/1"), &placed_through(&doc, change.ops())).unwrap();
        assert_eq!(follow.path, at("/l/2"));
        assert!(follow.changed());
        // "abcdef" became "-aXYZdef": a caret at 0 stays before what was inserted there,
        // one inside "bc" goes to the end of "XYZ", one after it moves by two.
        assert_eq!(follow.position(0), Some(0));
        assert_eq!(follow.position(1), Some(2));
        assert_eq!(follow.position(2), Some(5));
        assert_eq!(follow.position(4), Some(6));
        assert_eq!(follow.position(6), Some(8));
    }

    #[test]
    fn a_string_removed_or_replaced_has_no_positions_to_follow() {
        let doc = Value::parse(r#"{"l": ["abc"], "s": "abc", "o": {"t": "abc"}}"#).unwrap();
        let at = |s: &str| Pointer::parse(s).unwrap();
        let ops = |json: &str| crate::Change::from_json(json).unwrap().ops().to_vec();
        let removed = ops(r#"[{"op": "remove", "path": "/l/0"}]"#);
        assert_eq!(
            follow_text(&at("/l/0"), &placed_through(&doc, &removed)),
            None
        );
        let above = ops(r#"[{"op": "replace", "path": "/o", "value": 1}]"#);
        assert_eq!(
            follow_text(&at("/o/t"), &placed_through(&doc, &above)),
            None
        );
        let replaced = ops(r#"[{"op": "replace", "path": "/s", "value": "new"}]"#);
        let follow = follow_text(&at("/s"), &placed_through(&doc, &replaced)).unwrap();
        assert_eq!((follow.path.clone(), follow.position(2)), (at("/s"), None));
        // Moved, it keeps its text and its positions.
        let moved = ops(r#"[{"op": "move", "from": "/s", "path": "/o/u"}]"#);
        let follow = follow_text(&at("/s"), &placed_through(&doc, &moved)).unwrap();
        assert_eq!(
            (follow.path.clone(), follow.position(2)),
            (at("/o/u"), Some(2))
        );
        // A change elsewhere leaves it as it was.
        let elsewhere = ops(r#"[{"op": "replace", "path": "/l/0", "value": "x"}]"#);
        let follow = follow_text(&at("/s"), &placed_through(&doc, &elsewhere)).unwrap();
        assert!(!follow.changed());
        assert_eq!(follow.position(2), Some(2));
    }

    #[test]
    fn concurrent_splices_keep_both_edits() {
        let p = Pointer::root();
        // "hello world": A inserts "big " at 6, B deletes "hello " (0..6) and inserts "HI ".
        let a = Operation::Splice {
            path: p.clone(),
            pos: 6,
            del: 0,
            ins: "big ".into(),
        };
        let b = Operation::Splice {
            path: p,
            pos: 0,
            del: 6,
            ins: "HI ".into(),
        };
        let b2 = rebase_op(&placed(&b), &placed(&a), Side::Later);
        let Rebased::Keep(b2) = b2 else { panic!() };
        let after_a = text_after("hello world", &[a]);
        assert_eq!(text_after(&after_a, &b2), "HI big world");
    }

    #[test]
    fn overlapping_deletions_delete_each_character_once() {
        let p = Pointer::root();
        let a = Operation::Splice {
            path: p.clone(),
            pos: 2,
            del: 4,
            ins: "X".into(),
        }; // ab[cdef]gh
        let b = Operation::Splice {
            path: p,
            pos: 0,
            del: 4,
            ins: "Y".into(),
        }; // [abcd]efgh
        let Rebased::Keep(b2) = rebase_op(&placed(&b), &placed(&a), Side::Later) else {
            panic!()
        };
        let Rebased::Keep(a2) = rebase_op(&placed(&a), &placed(&b), Side::Earlier) else {
            panic!()
        };
        let one = text_after(&text_after("abcdefgh", &[a]), &b2);
        let two = text_after(&text_after("abcdefgh", &[b]), &a2);
        assert_eq!(one, "YXgh");
        assert_eq!(one, two);
    }
}
