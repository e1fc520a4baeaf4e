#![allow(
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
// Benchmark set-up panics on purpose if an input is broken.
//! The sync engine's speed.
//!
//! ```text
//! cargo bench -p sync-core --bench sync                    # Concord only
//! cargo bench -p sync-core --bench sync --features peers   # with loro, yrs and automerge
//! ```
//!
//! - the automerge-paper trace (259,778 single-character edits) typed into a Replica, and the
//!   same end to end: each edit submitted to an Authority, acknowledged, and applied by a
//!   second Replica;
//! - 10,000 map sets from 1,000 clients, each change made on the revision its client last saw,
//!   so every change is rebased over about a thousand concurrent ones;
//! - one change rebased over 1,000 revisions that each shift the array it edits.
//!
//! The Authority's time input comes from a clock, as in the relay: it paces the state hashes
//! (at most every 64 revisions and once a second by default).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};
use sync_core::protocol::{ClientId, ClientMessage, Revision, Role, ServerMessage};
use sync_core::replica::{Event, Replica};
use sync_core::{Operation, Pointer, Value};

mod common;

use common::TraceEdit;

fn text_doc(start: &str) -> Value {
    Value::parse(&format!(r#"{{"text": {}}}"#, Value::from(start).to_json())).unwrap()
}

fn splice(path: &Pointer, (pos, del, ins): &TraceEdit) -> Operation {
    Operation::Splice {
        path: path.clone(),
        pos: *pos,
        del: *del,
        ins: ins.clone(),
    }
}

fn text_of(replica: &Replica) -> String {
    replica
        .view()
        .as_object()
        .unwrap()
        .get("text")
        .unwrap()
        .as_text()
        .unwrap()
        .to_string()
}

/// Types the trace into a lone replica.
fn trace_local(start: &str, edits: &[TraceEdit]) -> Replica {
    let path = Pointer::parse("/text").unwrap();
    let mut replica = Replica::with_document(
        ClientId::from("typist"),
        "Typist",
        text_doc(start),
        Some(Revision(0)),
    );
    for edit in edits {
        replica.edit(vec![splice(&path, edit)]).unwrap();
    }
    replica
}

/// Types the trace into one replica whose every edit goes through an Authority to another.
fn trace_end_to_end(start: &str, edits: &[TraceEdit]) -> Replica {
    let path = Pointer::parse("/text").unwrap();
    let mut authority = Authority::new(text_doc(start), AuthorityConfig::default());
    let (a, b) = (ClientId::from("typist"), ClientId::from("reader"));
    let mut typist = Replica::new(a.clone(), "Typist");
    let mut reader = Replica::new(b.clone(), "Reader");
    typist.receive(authority.welcome(&a, None, Role::Write));
    reader.receive(authority.welcome(&b, None, Role::Write));
    let clock = Instant::now();
    for edit in edits {
        for event in typist.edit(vec![splice(&path, edit)]).unwrap() {
            let Event::Send(ClientMessage::Submit {
                seq,
                base_rev,
                ops,
                overwrites,
            }) = event
            else {
                continue;
            };
            let outcome = authority.submit(&Submission {
                client: &a,
                author: "Typist",
                role: Role::Write,
                seq,
                base_rev,
                ops,
                overwrites: &overwrites,
                now: millis(clock),
            });
            let Outcome::Applied { ack, broadcast, .. } = outcome else {
                panic!("applies")
            };
            typist.receive(ack);
            reader.receive(broadcast);
        }
    }
    reader
}

/// `clients` clients make the sets of [`map_set_pairs`]; each change is made on the revision of
/// its client's previous one.
fn map_sets(ids: &[ClientId], pairs: &[(usize, String, i64)]) -> Authority {
    let config = AuthorityConfig {
        retained: 4096,
        ..AuthorityConfig::default()
    };
    let mut authority = Authority::new(Value::parse(r#"{"m": {}}"#).unwrap(), config);
    let clients = ids.len();
    let clock = Instant::now();
    let mut base = vec![Revision(0); clients];
    for (i, (c, key, value)) in pairs.iter().enumerate() {
        let op = Operation::add(Pointer::from_tokens(["m", key.as_str()]), *value);
        let outcome = authority.submit(&Submission {
            client: &ids[*c],
            author: "someone",
            role: Role::Write,
            seq: (i / clients) as u64 + 1,
            base_rev: base[*c],
            ops: vec![op],
            overwrites: &[],
            now: millis(clock),
        });
        let Outcome::Applied { commit, .. } = outcome else {
            panic!("applies")
        };
        base[*c] = commit.rev;
    }
    authority
}

/// An Authority that applied `n` inserts at the front of a list since revision 0.
fn behind(n: usize) -> Authority {
    let items: Vec<Value> = (0..10)
        .map(|i| Value::parse(&format!(r#"{{"t": "item {i}"}}"#)).unwrap())
        .collect();
    let mut doc = sync_core::Map::new();
    doc.insert("items", Value::Array(items));
    let config = AuthorityConfig {
        retained: n + 16,
        ..AuthorityConfig::default()
    };
    let mut authority = Authority::new(Value::Object(doc), config);
    let other = ClientId::from("other");
    for seq in 1..=n as u64 {
        let op = Operation::add(Pointer::parse("/items/0").unwrap(), Value::from("new"));
        let outcome = authority.submit(&Submission {
            client: &other,
            author: "Other",
            role: Role::Write,
            seq,
            base_rev: authority.rev(),
            ops: vec![op],
            overwrites: &[],
            now: 0,
        });
        assert!(matches!(outcome, Outcome::Applied { .. }));
    }
    authority
}

fn late_change() -> Vec<Operation> {
    (0..10)
        .map(|i| {
            Operation::replace(
                Pointer::parse(&format!("/items/{i}/t")).unwrap(),
                Value::from("edited"),
            )
        })
        .collect()
}

/// An Authority where `n` people each wrote in an item of a list, and then `n` others each moved
/// one item onto a slot of their own; returns it with the revision before the moves.
fn moved_in(n: usize) -> (Authority, Revision) {
    let items: Vec<Value> = (0..n)
        .map(|i| Value::parse(&format!(r#"{{"t": "item {i}"}}"#)).unwrap())
        .collect();
    let slots: sync_core::Map = (0..n).map(|i| (format!("s{i}"), Value::from(0))).collect();
    let mut doc = sync_core::Map::new();
    doc.insert("items", Value::Array(items));
    doc.insert("slots", Value::Object(slots));
    let mut authority = Authority::new(Value::Object(doc), AuthorityConfig::default());
    for i in 0..n {
        let path = Pointer::parse(&format!("/items/{i}/t")).unwrap();
        let op = Operation::replace(path, Value::from("w"));
        apply_one(&mut authority, &format!("w{i}"), op);
    }
    let base = authority.rev();
    for i in 0..n {
        let op = Operation::Move {
            from: Pointer::parse("/items/0").unwrap(),
            path: Pointer::parse(&format!("/slots/s{i}")).unwrap(),
            index: None,
        };
        apply_one(&mut authority, &format!("m{i}"), op);
    }
    (authority, base)
}

/// The one-operation change `op` of `who`, made on the head revision, as the Authority applies
/// it: the `applied` that everyone else receives.
fn apply_one(authority: &mut Authority, who: &str, op: Operation) -> ServerMessage {
    let outcome = authority.submit(&Submission {
        client: &ClientId::from(who),
        author: who,
        role: Role::Write,
        seq: 1,
        base_rev: authority.rev(),
        ops: vec![op],
        overwrites: &[],
        now: 0,
    });
    let Outcome::Applied { broadcast, .. } = outcome else {
        panic!("applies: {outcome:?}")
    };
    broadcast
}

/// A replica with one edit in flight and 2,000 more waiting behind it (typing in a string, and
/// every tenth edit a field of an item of a list), and someone else's change as it reaches it:
/// one that inserts at the front of that list (so that rebasing moves the waiting edits), or
/// one that edits elsewhere.
fn busy_replica(shifts_the_list: bool) -> (Replica, ServerMessage) {
    let items: Vec<Value> = (0..10)
        .map(|i| Value::parse(&format!(r#"{{"t": "item {i}"}}"#)).unwrap())
        .collect();
    let mut doc = sync_core::Map::new();
    doc.insert("text", Value::from(""));
    doc.insert("other", Value::from(0));
    doc.insert("items", Value::Array(items));
    let mut authority = Authority::new(Value::Object(doc), AuthorityConfig::default());
    let me = ClientId::from("busy");
    let mut replica = Replica::new(me.clone(), "Busy");
    replica.receive(authority.welcome(&me, None, Role::Write));
    let text = Pointer::parse("/text").unwrap();
    let mut typed = 0;
    for i in 0..=2000usize {
        let op = if i % 10 == 9 {
            let field = Pointer::parse(&format!("/items/{}/t", i / 10 % 10)).unwrap();
            Operation::replace(field, Value::from(i64::try_from(i).unwrap()))
        } else {
            typed += 1;
            splice(&text, &(typed - 1, 0, "x".to_owned()))
        };
        replica.edit(vec![op]).unwrap();
    }
    let op = if shifts_the_list {
        Operation::add(Pointer::parse("/items/0").unwrap(), Value::from("new"))
    } else {
        Operation::replace(Pointer::parse("/other").unwrap(), Value::from(1))
    };
    let broadcast = apply_one(&mut authority, "other", op);
    (replica, broadcast)
}

fn sync(c: &mut Criterion) {
    if let Some((start, edits, end)) = common::automerge_paper() {
        assert_eq!(
            text_of(&trace_local(&start, &edits)),
            end,
            "the local replay reproduces the paper"
        );
        assert_eq!(
            text_of(&trace_end_to_end(&start, &edits)),
            end,
            "so does the end-to-end one"
        );
        let mut group = c.benchmark_group("automerge-paper trace");
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(10));
        group.bench_function("concord replica (local)", |b| {
            b.iter(|| trace_local(&start, &edits));
        });
        group.bench_function("concord end to end (authority, second replica)", |b| {
            b.iter(|| trace_end_to_end(&start, &edits));
        });
        #[cfg(feature = "peers")]
        peers::trace(&mut group, &start, &edits, &end);
        group.finish();
    }

    let mut group = c.benchmark_group("10,000 concurrent map sets");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    // 1,000 clients set 10 keys each (5,000 distinct keys, so some sets collide).
    let ids: Vec<ClientId> = (0..1000).map(|c| ClientId(format!("c{c}"))).collect();
    let pairs = map_set_pairs(1000, 10);
    group.bench_function("concord authority (1,000 clients)", |b| {
        b.iter(|| map_sets(&ids, &pairs));
    });
    #[cfg(feature = "peers")]
    peers::map_sets(&mut group);
    group.finish();

    let mut group = c.benchmark_group("rebase");
    group.bench_function("a change 1,000 revisions behind", |b| {
        let late = ClientId::from("late");
        b.iter_batched(
            || behind(1000),
            |mut authority| {
                let outcome = authority.submit(&Submission {
                    client: &late,
                    author: "Late",
                    role: Role::Write,
                    seq: 1,
                    base_rev: Revision(0),
                    ops: late_change(),
                    overwrites: &[],
                    now: 0,
                });
                assert!(matches!(outcome, Outcome::Applied { .. }));
                black_box(authority)
            },
            BatchSize::LargeInput,
        );
    });
    // Each of its 64 operations overwrites a slot that a concurrent move filled with an item
    // someone wrote in: the Authority traces every one back to its writer.
    group.bench_function(
        "a change overwriting what 64 concurrent moves carried",
        |b| {
            let late = ClientId::from("late");
            let ops: Vec<Operation> = (0..64)
                .map(|i| {
                    let path = Pointer::parse(&format!("/slots/s{i}")).unwrap();
                    Operation::replace(path, Value::from("late"))
                })
                .collect();
            b.iter_batched(
                || moved_in(64),
                |(mut authority, base)| {
                    let outcome = authority.submit(&Submission {
                        client: &late,
                        author: "Late",
                        role: Role::Write,
                        seq: 1,
                        base_rev: base,
                        ops: ops.clone(),
                        overwrites: &[],
                        now: 0,
                    });
                    // Each slot's mover and the writer of what it carried.
                    let Outcome::Applied { commit, .. } = &outcome else {
                        panic!("applies: {outcome:?}");
                    };
                    assert_eq!(commit.conflicts.len(), 128);
                    black_box(authority)
                },
                BatchSize::LargeInput,
            );
        },
    );
    group.finish();

    let mut group = c.benchmark_group("fold under pending edits");
    for (name, shifts) in [
        ("a change that moves 2,000 waiting edits", true),
        ("a change beside 2,000 waiting edits", false),
    ] {
        let (replica, broadcast) = busy_replica(shifts);
        group.bench_function(name, |b| {
            b.iter_batched(
                || (replica.clone(), broadcast.clone()),
                |(mut replica, broadcast)| {
                    let events = replica.receive(broadcast);
                    assert_eq!(replica.pending(), 2);
                    black_box((replica, events))
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

/// The Authority's time input, read from a clock as the relay does (it paces state hashes).
fn millis(clock: Instant) -> u64 {
    clock.elapsed().as_millis() as u64
}

/// The 10,000 sets of [`map_sets`] as (key, value) pairs, in the same order.
fn map_set_pairs(clients: usize, per_client: usize) -> Vec<(usize, String, i64)> {
    let mut pairs = Vec::with_capacity(clients * per_client);
    for round in 0..per_client {
        for c in 0..clients {
            let key = (c * 7919 + round * 104_729) % 5000;
            pairs.push((c, format!("k{key}"), round as i64));
        }
    }
    pairs
}

#[cfg(feature = "peers")]
mod peers {
    //! The same workloads replayed by other libraries, in the same run. Each trace edit is its
    //! own transaction (one user edit); the map sets are split between two replicas (the first
    //! 500 clients' sets and the last 500's), each set its own commit, then both replicas
    //! exchange their changes as each library's update format.

    use criterion::{BenchmarkGroup, measurement::WallTime};

    use super::TraceEdit;

    pub fn trace(
        group: &mut BenchmarkGroup<'_, WallTime>,
        start: &str,
        edits: &[TraceEdit],
        end: &str,
    ) {
        assert_eq!(loro_peer::replay_trace(start, edits), end);
        assert_eq!(yrs_peer::replay_trace(start, edits), end);
        assert_eq!(automerge_peer::replay_trace(start, edits), end);
        group.bench_function("loro", |b| b.iter(|| loro_peer::replay_trace(start, edits)));
        group.bench_function("yrs", |b| b.iter(|| yrs_peer::replay_trace(start, edits)));
        group.bench_function("automerge", |b| {
            b.iter(|| automerge_peer::replay_trace(start, edits));
        });
    }

    pub fn map_sets(group: &mut BenchmarkGroup<'_, WallTime>) {
        let pairs = super::map_set_pairs(1000, 10);
        let (a, b): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(c, _, _)| *c < 500);
        let a: Vec<(String, i64)> = a.into_iter().map(|(_, k, v)| (k, v)).collect();
        let b: Vec<(String, i64)> = b.into_iter().map(|(_, k, v)| (k, v)).collect();
        group.bench_function("loro (two replicas, merged)", |bench| {
            bench.iter(|| loro_peer::merge_map_sets(&a, &b));
        });
        group.bench_function("yrs (two replicas, merged)", |bench| {
            bench.iter(|| yrs_peer::merge_map_sets(&a, &b));
        });
        group.bench_function("automerge (two replicas, merged)", |bench| {
            bench.iter(|| automerge_peer::merge_map_sets(&a, &b));
        });
    }

    mod loro_peer {
        use loro::{ExportMode, LoroDoc};

        /// `LoroText::insert` / `delete` count Unicode scalar values, as the trace does.
        pub fn replay_trace(start: &str, patches: &[(usize, usize, String)]) -> String {
            let doc = LoroDoc::new();
            let text = doc.get_text("text");
            if !start.is_empty() {
                text.insert(0, start).unwrap();
            }
            doc.commit();
            for (pos, del, ins) in patches {
                if *del > 0 {
                    text.delete(*pos, *del).unwrap();
                }
                if !ins.is_empty() {
                    text.insert(*pos, ins).unwrap();
                }
                doc.commit();
            }
            text.to_string()
        }

        pub fn merge_map_sets(a: &[(String, i64)], b: &[(String, i64)]) -> usize {
            let doc_a = LoroDoc::new();
            doc_a.set_peer_id(1).unwrap();
            let doc_b = LoroDoc::new();
            doc_b.set_peer_id(2).unwrap();
            let map_a = doc_a.get_map("m");
            for (k, v) in a {
                map_a.insert(k, *v).unwrap();
                doc_a.commit();
            }
            let map_b = doc_b.get_map("m");
            for (k, v) in b {
                map_b.insert(k, *v).unwrap();
                doc_b.commit();
            }
            let a_to_b = doc_a
                .export(ExportMode::updates(&doc_b.oplog_vv()))
                .unwrap();
            let b_to_a = doc_b
                .export(ExportMode::updates(&doc_a.oplog_vv()))
                .unwrap();
            doc_b.import(&a_to_b).unwrap();
            doc_a.import(&b_to_a).unwrap();
            assert_eq!(map_a.get_deep_value(), map_b.get_deep_value());
            map_a.len()
        }
    }

    mod yrs_peer {
        use yrs::types::ToJson;
        use yrs::updates::decoder::Decode;
        use yrs::{
            Doc, GetString, Map, OffsetKind, Options, ReadTxn, StateVector, Text, Transact, Update,
        };

        /// yrs counts UTF-8 bytes or UTF-16 units, not characters; the trace is ASCII, where
        /// UTF-16 units and characters agree (checked).
        pub fn replay_trace(start: &str, patches: &[(usize, usize, String)]) -> String {
            assert!(start.is_ascii() && patches.iter().all(|(_, _, s)| s.is_ascii()));
            let doc = Doc::with_options(Options {
                offset_kind: OffsetKind::Utf16,
                ..Options::default()
            });
            let text = doc.get_or_insert_text("text");
            {
                let mut txn = doc.transact_mut();
                if !start.is_empty() {
                    text.insert(&mut txn, 0, start);
                }
            }
            for (pos, del, ins) in patches {
                let mut txn = doc.transact_mut();
                if *del > 0 {
                    text.remove_range(&mut txn, *pos as u32, *del as u32);
                }
                if !ins.is_empty() {
                    text.insert(&mut txn, *pos as u32, ins);
                }
            }
            let txn = doc.transact();
            text.get_string(&txn)
        }

        pub fn merge_map_sets(a: &[(String, i64)], b: &[(String, i64)]) -> usize {
            let doc_a = Doc::with_client_id(1);
            let doc_b = Doc::with_client_id(2);
            let map_a = doc_a.get_or_insert_map("m");
            let map_b = doc_b.get_or_insert_map("m");
            for (k, v) in a {
                let mut txn = doc_a.transact_mut();
                map_a.insert(&mut txn, k.as_str(), *v);
            }
            for (k, v) in b {
                let mut txn = doc_b.transact_mut();
                map_b.insert(&mut txn, k.as_str(), *v);
            }
            let sv_a: StateVector = doc_a.transact().state_vector();
            let sv_b: StateVector = doc_b.transact().state_vector();
            let a_to_b = doc_a.transact().encode_state_as_update_v1(&sv_b);
            let b_to_a = doc_b.transact().encode_state_as_update_v1(&sv_a);
            doc_b
                .transact_mut()
                .apply_update(Update::decode_v1(&a_to_b).unwrap())
                .unwrap();
            doc_a
                .transact_mut()
                .apply_update(Update::decode_v1(&b_to_a).unwrap())
                .unwrap();
            let (txn_a, txn_b) = (doc_a.transact(), doc_b.transact());
            assert_eq!(map_a.to_json(&txn_a), map_b.to_json(&txn_b));
            map_a.len(&txn_a) as usize
        }
    }

    mod automerge_peer {
        use std::collections::BTreeMap;

        use automerge::transaction::Transactable;
        use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc, TextEncoding};

        /// Counting Unicode code points, set explicitly.
        pub fn replay_trace(start: &str, patches: &[(usize, usize, String)]) -> String {
            let mut doc = AutoCommit::new_with_encoding(TextEncoding::UnicodeCodePoint);
            let text = doc.put_object(ROOT, "text", ObjType::Text).unwrap();
            if !start.is_empty() {
                doc.splice_text(&text, 0, 0, start).unwrap();
            }
            doc.commit();
            for (pos, del, ins) in patches {
                doc.splice_text(&text, *pos, *del as isize, ins).unwrap();
                doc.commit();
            }
            doc.text(&text).unwrap()
        }

        fn map_contents(doc: &AutoCommit, m: &automerge::ObjId) -> BTreeMap<String, i64> {
            doc.keys(m)
                .map(|k| {
                    let (v, _) = doc.get(m, k.as_str()).unwrap().unwrap();
                    (k, v.as_i64().unwrap())
                })
                .collect()
        }

        pub fn merge_map_sets(a: &[(String, i64)], b: &[(String, i64)]) -> usize {
            // A map under a root key is an object made by an operation: both replicas must share
            // it (B forks from A), or their two maps would conflict.
            let mut doc_a = AutoCommit::new().with_actor(ActorId::from(&[0xAAu8][..]));
            let m = doc_a.put_object(ROOT, "m", ObjType::Map).unwrap();
            doc_a.commit();
            let mut doc_b = doc_a.fork().with_actor(ActorId::from(&[0xBBu8][..]));
            for (k, v) in a {
                doc_a.put(&m, k.as_str(), *v).unwrap();
                doc_a.commit();
            }
            for (k, v) in b {
                doc_b.put(&m, k.as_str(), *v).unwrap();
                doc_b.commit();
            }
            let (a_bytes, b_bytes) = (doc_a.save(), doc_b.save());
            doc_a.load_incremental(&b_bytes).unwrap();
            doc_b.load_incremental(&a_bytes).unwrap();
            assert_eq!(map_contents(&doc_a, &m), map_contents(&doc_b, &m));
            doc_a.length(&m)
        }
    }
}

criterion_group!(benches, sync);
criterion_main!(benches);
