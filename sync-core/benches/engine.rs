#![allow(
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
// Benchmark set-up panics on purpose if a generated input is broken.
//! The document engine's speed, on generated documents, with json-patch side by side.
//!
//! ```text
//! cargo bench -p sync-core --bench engine                    # Concord only
//! cargo bench -p sync-core --bench engine --features peers   # with json-patch 5
//! ```
//!
//! Before timing, it prints the patch sizes (operations and bytes) each library produces.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sync_core::{Change, Operation, Pointer, Value, diff};

mod common;

use common::{Rng, document, minimal_edits, paths, record, word};

fn ptr(s: &str) -> Pointer {
    Pointer::parse(s).unwrap()
}

/// `count` RFC 6902 operations that apply in sequence to `doc`: replaces, adds, removes, moves,
/// copies and tests over the users' fields and tags.
fn edit_script(rng: &mut Rng, doc: &Value, count: usize) -> Change {
    let mut scratch = doc.clone();
    let users = doc
        .as_object()
        .unwrap()
        .get("users")
        .unwrap()
        .as_array()
        .unwrap()
        .len();
    let mut ops = Vec::with_capacity(count);
    while ops.len() < count {
        let u = rng.below(users);
        let tags = |d: &Value, u: usize| {
            ptr(&format!("/users/{u}/tags"))
                .resolve(d)
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        };
        let op = match rng.below(20) {
            0..=9 => {
                let field = ["name", "email", "age", "active", "score"][rng.below(5)];
                let value = match field {
                    "age" => Value::from(rng.below(99) as i64),
                    "active" => Value::from(rng.below(2) == 0),
                    "score" => Value::parse(&format!("{}.5", rng.below(100))).unwrap(),
                    _ => Value::from(word(rng)),
                };
                Operation::replace(ptr(&format!("/users/{u}/{field}")), value)
            }
            10..=12 => Operation::add(ptr(&format!("/users/{u}/tags/-")), word(rng)),
            13..=14 if tags(&scratch, u) > 0 => {
                Operation::remove(ptr(&format!("/users/{u}/tags/0")))
            }
            15..=16 => Operation::add(ptr(&format!("/users/{u}/note{}", ops.len())), word(rng)),
            17 if tags(&scratch, u) > 0 => Operation::move_(
                ptr(&format!("/users/{u}/tags/0")),
                ptr(&format!("/users/{}/tags/-", rng.below(users))),
            ),
            18 => Operation::Copy {
                from: ptr(&format!("/users/{u}/name")),
                path: ptr(&format!("/users/{u}/alias")),
            },
            _ => Operation::Test {
                path: ptr(&format!("/users/{u}/id")),
                value: Value::from(u as i64),
            },
        };
        Change(vec![op.clone()])
            .apply(&mut scratch)
            .expect("generated operations apply");
        ops.push(op);
    }
    Change(ops)
}

/// `doc` with `percent`% of its leaves changed.
fn change_leaves(rng: &mut Rng, doc: &Value, percent: usize) -> Value {
    let all: Vec<Pointer> = paths(doc)
        .into_iter()
        .filter(|p| !p.resolve(doc).is_some_and(Value::is_container))
        .collect();
    let mut out = doc.clone();
    for _ in 0..all.len() * percent / 100 {
        let path = &all[rng.below(all.len())];
        let target = path.resolve_mut(&mut out).unwrap();
        *target = match target {
            Value::String(t) => Value::from(format!("{t} {}", word(rng))),
            Value::Number(_) => Value::from(rng.below(1000) as i64),
            Value::Bool(b) => Value::Bool(!*b),
            _ => Value::Null,
        };
    }
    out
}

/// An array of `n` records and the same array after `edits` random inserts and deletes.
fn edited_array(rng: &mut Rng, n: usize, edits: usize) -> (Value, Value) {
    let items: Vec<Value> = (0..n).map(|i| record(rng, i)).collect();
    let mut edited = items.clone();
    for e in 0..edits {
        if rng.below(2) == 0 {
            let at = rng.below(edited.len() + 1);
            edited.insert(at, record(rng, n + e));
        } else {
            let at = rng.below(edited.len());
            edited.remove(at);
        }
    }
    (Value::Array(items), Value::Array(edited))
}

struct Inputs {
    doc: Value,
    script: Change,
    changed: Value,
    array: (Value, Value),
}

fn inputs() -> Inputs {
    let mut rng = Rng(0x00c0_ffee);
    let doc = document(&mut rng, 1_000_000);
    let script = edit_script(&mut rng, &doc, 10_000);
    let changed = change_leaves(&mut rng, &doc, 1);
    let array = edited_array(&mut rng, 10_000, 100);
    Inputs {
        doc,
        script,
        changed,
        array,
    }
}

/// The fewest inserts and deletes between two arrays of records with distinct `id`s.
fn minimal_array_edits(a: &Value, b: &Value) -> usize {
    let ids = |v: &Value| -> Vec<String> {
        let items = v.as_array().unwrap();
        items
            .iter()
            .map(|r| {
                r.as_object()
                    .and_then(|m| m.get("id"))
                    .map(Value::to_json)
                    .unwrap_or_default()
            })
            .collect()
    };
    minimal_edits(&ids(a), &ids(b))
}

fn report_sizes(i: &Inputs) {
    let row = |name: &str, ops: usize, bytes: usize| {
        eprintln!("  {name:<38} {ops:>7} ops {bytes:>10} bytes");
    };
    eprintln!(
        "document: {} bytes, {} nodes",
        i.doc.to_json().len(),
        i.doc.node_count()
    );
    eprintln!(
        "array edit: {} inserts and deletes at the least (100 random edits, some undoing others)",
        minimal_array_edits(&i.array.0, &i.array.1)
    );
    eprintln!("patch sizes:");
    for (label, (a, b)) in [
        ("1 MB, 1% of leaves changed", (&i.doc, &i.changed)),
        (
            "10,000 objects, 100 inserts/deletes",
            (&i.array.0, &i.array.1),
        ),
    ] {
        let plain = diff::diff_rfc6902(a, b);
        row(
            &format!("{label}: concord rfc6902"),
            plain.len(),
            plain.to_json().len(),
        );
        let ext = diff::diff(a, b);
        row(
            &format!("{label}: concord extended"),
            ext.len(),
            ext.to_json().len(),
        );
        #[cfg(feature = "peers")]
        {
            let theirs = json_patch::diff(&serde_json::Value::from(a), &serde_json::Value::from(b));
            row(
                &format!("{label}: json-patch"),
                theirs.0.len(),
                serde_json::to_string(&theirs).unwrap().len(),
            );
        }
    }
}

fn engine(c: &mut Criterion) {
    let i = inputs();
    report_sizes(&i);

    let mut group = c.benchmark_group("apply 10,000 ops to 1 MB");
    group.bench_function("concord (with inverse)", |b| {
        b.iter_batched_ref(
            || i.doc.clone(),
            |doc| black_box(i.script.apply(doc).unwrap()),
            BatchSize::LargeInput,
        );
    });
    #[cfg(feature = "peers")]
    {
        let doc = serde_json::Value::from(&i.doc);
        let patch: json_patch::Patch = serde_json::from_str(&i.script.to_json()).unwrap();
        group.bench_function("json-patch", |b| {
            b.iter_batched_ref(
                || doc.clone(),
                |doc| json_patch::patch(doc, &patch).unwrap(),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();

    for (label, (a, b)) in [
        ("diff 1 MB, 1% of leaves changed", (&i.doc, &i.changed)),
        (
            "diff 10,000 objects, 100 inserts and deletes",
            (&i.array.0, &i.array.1),
        ),
    ] {
        let mut group = c.benchmark_group(label);
        group.bench_function("concord rfc6902", |bench| {
            bench.iter(|| diff::diff_rfc6902(a, b));
        });
        group.bench_function("concord extended", |bench| bench.iter(|| diff::diff(a, b)));
        #[cfg(feature = "peers")]
        {
            let (x, y) = (serde_json::Value::from(a), serde_json::Value::from(b));
            group.bench_function("json-patch", |bench| {
                bench.iter(|| json_patch::diff(&x, &y));
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(4));
    targets = engine
}
criterion_main!(benches);
