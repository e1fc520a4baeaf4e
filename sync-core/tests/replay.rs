//! Replays one rejected change written by the simulation's `SIM_DUMP`: the document at the
//! change's base, the log since, and the change. Ignored unless asked for:
//!
//! ```sh
//! SIM_SEED=n SIM_DUMP=/tmp/case.json cargo test -p sync-core --release --test simulation
//! SIM_REPLAY=/tmp/case.json cargo test -p sync-core --release --test replay -- --ignored
//! ```
//!
//! It prints the rejection (and, with `SIM_EXPLAIN=1`, the change rebased over the log) and
//! exits 0 if the change is rejected, 1 if it applies, 3 if the change is not valid on its own
//! base and 4 if the log does not apply: the exit codes `scripts/shrink-rejection.py` uses to
//! shrink a case to the few operations that matter.

// Test code: a panic is a failing test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::exit)]

use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};
use sync_core::protocol::{ClientId, Commit, Revision, Role};
use sync_core::rebase::{Placed, Shape, Side, rebase_change};
use sync_core::{Change, Operation, Value};

#[test]
#[ignore = "replays the case named by SIM_REPLAY"]
fn replay() {
    let path = std::env::var("SIM_REPLAY").expect("SIM_REPLAY names a case file");
    let case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let field = |name: &str| case.get(name).cloned().unwrap_or_default();
    let snapshot: Value = serde_json::from_value(field("snapshot")).unwrap();
    let base: Revision = serde_json::from_value(field("base")).unwrap();
    let log: Vec<Commit> = serde_json::from_value(field("log")).unwrap();
    let ops: Vec<Operation> = serde_json::from_value(field("ops")).unwrap();
    if Change(ops.clone()).apply(&mut snapshot.clone()).is_err() {
        std::process::exit(3);
    }
    if std::env::var("SIM_EXPLAIN").is_ok() {
        let placed = |ops: &mut dyn Iterator<Item = &Operation>| {
            let mut doc = snapshot.clone();
            ops.map(|op| {
                let shape = Shape::of(op, &doc);
                Change(vec![op.clone()]).apply(&mut doc).unwrap();
                Placed {
                    op: op.clone(),
                    shape,
                }
            })
            .collect::<Vec<_>>()
        };
        let over = placed(&mut log.iter().flat_map(|c| &c.ops));
        let change = placed(&mut ops.iter());
        let rebased = rebase_change(&change, &over, Side::Later);
        eprintln!("rebased over the log: {:?}", rebased.ops);
    }
    let config = AuthorityConfig {
        retained: log.len() + 1,
        ..AuthorityConfig::default()
    };
    let Ok(mut authority) = Authority::restore(snapshot, base, log, [], config) else {
        std::process::exit(4);
    };
    let outcome = authority.submit(&Submission {
        client: &ClientId::from("replay"),
        author: "replay",
        role: Role::Write,
        seq: 1,
        base_rev: base,
        ops,
        overwrites: &[],
        now: 0,
    });
    match outcome {
        Outcome::Rejected { reject } => {
            eprintln!("{reject:?}");
            std::process::exit(0)
        }
        _ => std::process::exit(1),
    }
}
