//! Concurrent edits of one string, merged character by character.

use super::Side;
use crate::op::Operation;
use crate::pointer::Pointer;

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
