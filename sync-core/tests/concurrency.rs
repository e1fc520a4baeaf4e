//! Laws of concurrent changes, classified against DESIGN.md's conflict table.
//!
//! - No change that the table keeps is rejected: two changes of several operations each, made
//!   on one document, are sequenced A then B; B may be rejected only where the table says so (a
//!   `test` that no longer holds, a move into its own descendant).
//! - Concurrent text edits keep every intent: after two sequences of splices on one string are
//!   merged, every character someone inserted and nobody deleted is there exactly once, every
//!   character someone deleted is gone, and characters keep the order they had in every state
//!   someone saw. Merging in either order gives the same string.
//!
//! `PROPTEST_CASES=N` scales the number of cases (default 256); failures are shrunk, printed
//! and saved under `tests/concurrency.proptest-regressions`.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;

mod common;
use common::strategy::{OpSeed, build, op_seed, value};
use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};
use sync_core::protocol::{ClientId, Revision, Role, ServerMessage};
use sync_core::rebase::{Placed, Shape, Side, rebase_change};
use sync_core::{Change, Operation, Pointer, Value};

/// A change of several operations, each valid on the document its predecessors left (the
/// ones that do not apply are left out, as an editor never sends them).
fn valid_change(doc: &Value, seeds: &[OpSeed]) -> Vec<Operation> {
    let mut at = doc.clone();
    let mut ops = Vec::new();
    for seed in seeds {
        let Some(op) = build(&at, std::slice::from_ref(seed)).into_iter().next() else {
            continue;
        };
        let op = sync_core::authority::canonical(op, &at);
        if Change(vec![op.clone()]).apply(&mut at).is_ok() {
            ops.push(op);
        }
    }
    ops
}

fn json(ops: &[Operation]) -> String {
    Change(ops.to_vec()).to_json()
}

/// Submits A then B, both made on revision 0 of `doc`. Returns B's outcome.
fn sequence(doc: &Value, a: &[Operation], b: &[Operation]) -> Result<Value, (String, String)> {
    let mut authority = Authority::new(doc.clone(), AuthorityConfig::default());
    let (ann, bob) = (ClientId::from("ann"), ClientId::from("bob"));
    let submit = |authority: &mut Authority, client: &ClientId, ops: &[Operation]| {
        authority.submit(&Submission {
            client,
            author: client.0.as_str(),
            role: Role::Write,
            seq: 1,
            base_rev: Revision(0),
            ops: ops.to_vec(),
            overwrites: &[],
            now: 0,
        })
    };
    let Outcome::Applied { .. } = submit(&mut authority, &ann, a) else {
        panic!("A is valid on its own base: {}", json(a))
    };
    match submit(&mut authority, &bob, b) {
        Outcome::Applied { .. } => Ok(authority.document().clone()),
        Outcome::Rejected {
            reject: ServerMessage::Reject { code, message, .. },
        } => Err((code, message)),
        other => panic!("unexpected {other:?}"),
    }
}

/// Whether the conflict table allows rejecting `b` with `code`.
fn table_allows(code: &str, b: &[Operation]) -> bool {
    match code {
        "test_failed" => b.iter().any(|op| matches!(op, Operation::Test { .. })),
        "move_into_descendant" => b.iter().any(|op| matches!(op, Operation::Move { .. })),
        _ => false,
    }
}

/// A string of `n` characters none of which occurs elsewhere: `base + i`.
fn unique(base: u32, from: u32, n: u32) -> String {
    (from..from + n)
        .map(|i| char::from_u32(base + i).unwrap())
        .collect()
}

/// The material of one splice: where (an index into the positions of the string then),
/// how much to delete, how much to insert.
type SpliceSeed = (prop::sample::Index, usize, u32);

/// Splices built from seeds on `start`, inserting fresh characters of the block at `base`.
/// Returns the operations and the string they leave.
fn splices(start: &str, seeds: &[SpliceSeed], base: u32) -> (Vec<Operation>, String) {
    let mut text: Vec<char> = start.chars().collect();
    let mut fresh = 0;
    let mut ops = Vec::new();
    for (at, del, ins) in seeds {
        let pos = at.index(text.len() + 1);
        let del = (*del).min(text.len() - pos);
        let ins = unique(base, fresh, *ins);
        fresh += ins.chars().count() as u32;
        text.splice(pos..pos + del, ins.chars());
        ops.push(Operation::Splice {
            path: Pointer::root(),
            pos,
            del,
            ins,
        });
    }
    (ops, text.into_iter().collect())
}

fn placed(ops: &[Operation], start: &str) -> Vec<Placed> {
    let doc = Value::from(start);
    ops.iter()
        .map(|op| Placed {
            op: op.clone(),
            shape: Shape::of(op, &doc),
        })
        .collect()
}

fn applied(start: &str, ops: &[Operation]) -> String {
    let mut doc = Value::from(start);
    Change(ops.to_vec()).apply(&mut doc).unwrap();
    doc.as_text().unwrap().to_string()
}

/// Whether the characters of `seen` that are in `merged` stand in `merged` in the same order.
fn keeps_order(seen: &str, merged: &str) -> bool {
    let rank: std::collections::HashMap<char, usize> =
        merged.chars().enumerate().map(|(i, c)| (c, i)).collect();
    let ranks: Vec<usize> = seen.chars().filter_map(|c| rank.get(&c).copied()).collect();
    ranks.windows(2).all(|w| w[0] < w[1])
}

const ORIGINAL: u32 = 0x4E00; // CJK ideographs
const FROM_A: u32 = 0x0410; // Cyrillic
const FROM_B: u32 = 0x0391; // Greek

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("tests/concurrency.proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_concurrent_change_the_table_keeps_is_rejected(
        doc in value(),
        a in prop::collection::vec(op_seed(), 1..6),
        b in prop::collection::vec(op_seed(), 1..14),
    ) {
        let (a, b) = (valid_change(&doc, &a), valid_change(&doc, &b));
        if a.is_empty() || b.is_empty() {
            return Ok(()); // nothing concurrent to check
        }
        if let Err((code, message)) = sequence(&doc, &a, &b) {
            prop_assert!(
                table_allows(&code, &b),
                "B rejected ({code}: {message}) where the table keeps it\ndoc {doc}\nA {}\nB {}",
                json(&a),
                json(&b)
            );
        }
    }

    #[test]
    fn concurrent_splices_keep_every_intent(
        len in 0u32..12,
        a in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, 0u32..3), 1..5),
        b in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, 0u32..3), 1..5),
    ) {
        let start = unique(ORIGINAL, 0, len);
        let (a, after_a) = splices(&start, &a, FROM_A);
        let (b, after_b) = splices(&start, &b, FROM_B);
        // B after A (the server's order), and A after B: the same string.
        let b_over_a = rebase_change(&placed(&b, &start), &placed(&a, &start), Side::Later);
        let a_over_b = rebase_change(&placed(&a, &start), &placed(&b, &start), Side::Earlier);
        prop_assert!(b_over_a.notes.is_empty() && a_over_b.notes.is_empty());
        let merged = applied(&after_a, &b_over_a.ops);
        prop_assert_eq!(&merged, &applied(&after_b, &a_over_b.ops), "A {} B {}", json(&a), json(&b));
        // Kept exactly once: what either side inserted and kept, and the original characters
        // both kept. Everything else is gone.
        let kept_by = |side: &str, c: char| side.contains(c);
        let expected: Vec<char> = after_a
            .chars()
            .filter(|&c| !start.contains(c) || kept_by(&after_b, c))
            .chain(after_b.chars().filter(|&c| !start.contains(c)))
            .collect();
        let mut got: Vec<char> = merged.chars().collect();
        let mut want = expected;
        got.sort_unstable();
        want.sort_unstable();
        prop_assert_eq!(got, want, "merged {:?} from {:?}, A left {:?}, B left {:?}", merged, start, after_a, after_b);
        // Order as seen by each side and in the original.
        for seen in [&start, &after_a, &after_b] {
            prop_assert!(keeps_order(seen, &merged), "{:?} reorders {:?}", merged, seen);
        }
    }
}

/// Differential test against loro (`--features peers`): two parties splice one string
/// concurrently, each in several operations. Where no two inserts are concurrent at one
/// position (the one place where merging text has to pick an order, and where Concord puts the
/// first-sequenced party first while loro orders by peer), the merged text must equal loro's.
#[cfg(feature = "peers")]
mod against_loro {
    use super::*;
    use loro::{ExportMode, LoroDoc};

    /// Where a side's inserts stand: for each character it inserted and kept, the nearest
    /// original character left of it that neither side deleted (`None`: none, the start).
    /// Inserts of both sides with one anchor are concurrent at one position.
    fn anchors(start: &str, after: &str, other: &str) -> Vec<Option<char>> {
        let survives = |c: char| start.contains(c) && after.contains(c) && other.contains(c);
        let text: Vec<char> = after.chars().collect();
        text.iter()
            .enumerate()
            .filter(|(_, c)| !start.contains(**c))
            .map(|(i, _)| text[..i].iter().rev().copied().find(|c| survives(*c)))
            .collect()
    }

    fn loro_merge(start: &str, a: &[Operation], b: &[Operation]) -> String {
        let base = LoroDoc::new();
        base.set_peer_id(9).unwrap();
        base.get_text("t").insert(0, start).unwrap();
        base.commit();
        let snapshot = base.export(ExportMode::Snapshot).unwrap();
        let side = |peer: u64, ops: &[Operation]| {
            let doc = LoroDoc::new();
            doc.set_peer_id(peer).unwrap();
            doc.import(&snapshot).unwrap();
            let text = doc.get_text("t");
            for op in ops {
                if let Operation::Splice { pos, del, ins, .. } = op {
                    if *del > 0 {
                        text.delete(*pos, *del).unwrap();
                    }
                    if !ins.is_empty() {
                        text.insert(*pos, ins).unwrap();
                    }
                    doc.commit();
                }
            }
            doc
        };
        let (doc_a, doc_b) = (side(1, a), side(2, b));
        doc_a
            .import(
                &doc_b
                    .export(ExportMode::updates(&doc_a.oplog_vv()))
                    .unwrap(),
            )
            .unwrap();
        doc_a.get_text("t").to_string()
    }

    proptest! {
        #[test]
        fn merged_splices_equal_loros_where_no_inserts_tie(
            len in 0u32..12,
            a in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, 0u32..3), 1..5),
            b in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, 0u32..3), 1..5),
        ) {
            let start = unique(ORIGINAL, 0, len);
            let (a, after_a) = splices(&start, &a, FROM_A);
            let (b, after_b) = splices(&start, &b, FROM_B);
            let anchored_a = anchors(&start, &after_a, &after_b);
            let anchored_b = anchors(&start, &after_b, &after_a);
            if anchored_a.iter().any(|x| anchored_b.contains(x)) {
                return Ok(()); // concurrent inserts at one position: the order is a choice
            }
            let b_over_a = rebase_change(&placed(&b, &start), &placed(&a, &start), Side::Later);
            let merged = applied(&after_a, &b_over_a.ops);
            prop_assert_eq!(merged, loro_merge(&start, &a, &b), "A {} B {}", json(&a), json(&b));
        }
    }
}
