//! The write index must not change a single result: an Authority that visits every change
//! since a submission's base and one that visits only the indexed ones answer alike. Also the
//! state hash's pacing, and the welcome's catch-up.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::{Authority, AuthorityConfig, Outcome, Submission};
use crate::op::Operation;
use crate::pointer::Pointer;
use crate::protocol::{ClientId, Revision, Role};
use crate::value::Value;

/// SplitMix64: small, seedable, good enough to pick edits.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A location in `doc`, found by walking down from the root; sometimes one that does not exist.
fn existing(rng: &mut Rng, doc: &Value) -> Pointer {
    let mut path = Pointer::root();
    let mut at = doc;
    while rng.below(4) != 0 {
        let (token, next) = match at {
            Value::Array(items) if !items.is_empty() => {
                let i = rng.below(items.len());
                (i.to_string(), &items[i])
            }
            Value::Object(map) if !map.is_empty() => {
                let (key, value) = map.get_index(rng.below(map.len())).unwrap();
                (key.to_owned(), value)
            }
            _ => break,
        };
        path.push(token);
        at = next;
    }
    if rng.below(10) == 0 {
        path.push(["a", "b", "0", "9"][rng.below(4)]);
    }
    path
}

/// A place to add to: a new member, an index in an array, or the array's end.
fn insertion(rng: &mut Rng, doc: &Value) -> Pointer {
    let mut path = existing(rng, doc);
    match path.resolve(doc) {
        Some(Value::Array(items)) => {
            let n = items.len();
            path.push(if rng.below(3) == 0 {
                "-".to_owned()
            } else {
                rng.below(n + 1).to_string()
            });
        }
        Some(Value::Object(_)) => path.push(["a", "b", "k", "m"][rng.below(4)]),
        _ => {}
    }
    path
}

fn value(rng: &mut Rng) -> Value {
    let text = [
        r#""v""#,
        "1",
        r#"{"a": [1, "x"]}"#,
        r#"[{"b": 2}]"#,
        "null",
        r#""long text""#,
    ];
    Value::parse(text[rng.below(text.len())]).unwrap()
}

fn operation(rng: &mut Rng, doc: &Value) -> Operation {
    let at = existing(rng, doc);
    match rng.below(9) {
        0 | 1 => Operation::add(insertion(rng, doc), value(rng)),
        2 => Operation::remove(at),
        3 => Operation::replace(at, value(rng)),
        4 => Operation::move_(at, insertion(rng, doc)),
        5 => Operation::Copy {
            from: at,
            path: insertion(rng, doc),
        },
        6 => Operation::Splice {
            path: at,
            pos: rng.below(3),
            del: rng.below(2),
            ins: "z".to_owned(),
        },
        7 => Operation::Incr {
            path: at,
            by: 2.into(),
        },
        _ => Operation::Test {
            value: at.resolve(doc).cloned().unwrap_or_default(),
            path: at,
        },
    }
}

#[test]
fn the_write_index_changes_no_result() {
    let start = Value::parse(
        r#"{"a": [{"t": "text", "n": 1}, "s", [1, 2, 3], 4], "b": {"c": {"d": "more"}, "e": [0, 1]}}"#,
    )
    .unwrap();
    let clients: Vec<ClientId> = (0..4).map(|c| ClientId(format!("c{c}"))).collect();
    let mut applied = 0;
    for seed in 0..400 {
        let mut rng = Rng(seed);
        let config = AuthorityConfig {
            retained: 12,
            ..AuthorityConfig::default()
        };
        let mut indexed = Authority::new(start.clone(), config);
        let mut scanning = Authority::new(start.clone(), config);
        scanning.scan_all = true;
        // Each client edits the document as of the revision it last saw.
        let mut seen: Vec<(Revision, Value)> = vec![(Revision(0), start.clone()); clients.len()];
        for step in 0..60u64 {
            let c = rng.below(clients.len());
            let ops: Vec<Operation> = (0..1 + rng.below(2) * rng.below(3))
                .map(|_| operation(&mut rng, &seen[c].1))
                .collect();
            let submission = Submission {
                client: &clients[c],
                author: "someone",
                role: Role::Write,
                seq: step + 1,
                base_rev: seen[c].0,
                ops,
                overwrites: &[],
                now: 0,
            };
            let outcome = indexed.submit(&submission);
            assert_eq!(
                outcome,
                scanning.submit(&submission),
                "seed {seed}, step {step}: {:?}",
                submission.ops
            );
            assert_eq!(indexed.document(), scanning.document(), "seed {seed}");
            if matches!(outcome, Outcome::Applied { .. }) {
                applied += 1;
            }
            // Sometimes the client catches up.
            if rng.below(3) == 0 {
                seen[c] = (indexed.rev(), indexed.document().clone());
            }
        }
        let filed = indexed.index.len();
        assert!(filed > 0 || indexed.log.is_empty(), "seed {seed}");
    }
    // The generator must exercise rebasing, not just rejections.
    assert!(applied > 400 * 20, "only {applied} changes applied");
}

#[test]
fn the_state_hash_is_paced_by_revisions_and_by_time() {
    let config = AuthorityConfig {
        hash_every: 4,
        hash_interval_ms: 1000,
        ..AuthorityConfig::default()
    };
    let mut authority = Authority::new(Value::parse(r#"{"n": 0}"#).unwrap(), config);
    let ann = ClientId::from("ann");
    let mut hashed = Vec::new();
    // Ten changes a second for three seconds.
    for seq in 1..=30u64 {
        let outcome = authority.submit(&Submission {
            client: &ann,
            author: "Ann",
            role: Role::Write,
            seq,
            base_rev: authority.rev(),
            ops: vec![Operation::Incr {
                path: Pointer::parse("/n").unwrap(),
                by: 1.into(),
            }],
            overwrites: &[],
            now: seq * 100,
        });
        let Outcome::Applied { ack, broadcast, .. } = outcome else {
            panic!("applies")
        };
        let (
            crate::protocol::ServerMessage::Ack { hash, .. },
            crate::protocol::ServerMessage::Applied { hash: same, .. },
        ) = (ack, broadcast)
        else {
            panic!("an ack and a broadcast")
        };
        assert_eq!(hash, same);
        if let Some(hash) = hash {
            assert_eq!(hash, authority.state_hash());
            hashed.push(seq);
        }
    }
    // Not before 4 revisions and 1,000 ms have passed since the last one.
    assert_eq!(hashed, [10, 20, 30]);
}

#[test]
fn a_replica_ahead_of_the_head_is_told_the_relay_is_behind() {
    use crate::protocol::{CatchUp, ServerMessage};
    let doc = Value::parse(r#"{"n": 0}"#).unwrap();
    let mut authority = Authority::new(doc, AuthorityConfig::default());
    let ann = ClientId::from("ann");
    let outcome = authority.submit(&Submission {
        client: &ann,
        author: "Ann",
        role: Role::Write,
        seq: 1,
        base_rev: Revision(0),
        ops: vec![Operation::replace(
            Pointer::parse("/n").unwrap(),
            Value::parse("1").unwrap(),
        )],
        overwrites: &[],
        now: 0,
    });
    assert!(matches!(outcome, Outcome::Applied { .. }));
    let catch_up = |last_rev| match authority.welcome(&ann, last_rev, Role::Write) {
        ServerMessage::Welcome {
            rev,
            catch_up,
            client_seq,
            ..
        } => {
            assert_eq!((rev, client_seq), (Revision(1), Some(1)), "the relay's own");
            catch_up
        }
        other => panic!("not a welcome: {other:?}"),
    };
    // Holding the head or less: the changes since, as ever.
    assert!(
        matches!(catch_up(Some(Revision(1))), CatchUp::Changes { changes } if changes.is_empty())
    );
    assert!(
        matches!(catch_up(Some(Revision(0))), CatchUp::Changes { changes } if changes.len() == 1)
    );
    assert!(matches!(catch_up(None), CatchUp::Snapshot { .. }));
    // Holding more than the relay has (it was restored from an older copy): not a snapshot
    // to adopt, but the relay's document with a warning.
    let behind = catch_up(Some(Revision(500)));
    assert_eq!(
        behind,
        CatchUp::RelayBehind {
            doc: Value::parse(r#"{"n": 1}"#).unwrap()
        }
    );
    assert_eq!(
        serde_json::to_string(&behind).unwrap(),
        r#"{"kind":"relay_behind","doc":{"n":1}}"#
    );
}

#[test]
fn typing_is_grouped_by_word_and_pause_per_client_however_it_interleaves() {
    let mut authority = Authority::new(
        Value::parse(r#"{"title": "", "body": ""}"#).unwrap(),
        AuthorityConfig::default(),
    );
    let ann = ClientId::from("ann");
    let bob = ClientId::from("bob");
    let mut seqs = std::collections::HashMap::new();
    let mut groups = Vec::new();
    let mut typing = |client: &ClientId, path: &str, pos: usize, text: &str, now: u64| {
        let seq = seqs.entry(client.clone()).or_insert(0);
        *seq += 1;
        let outcome = authority.submit(&Submission {
            client,
            author: &client.0,
            role: Role::Write,
            seq: *seq,
            base_rev: authority.rev(),
            ops: vec![Operation::Splice {
                path: Pointer::parse(path).unwrap(),
                pos,
                del: 0,
                ins: text.to_owned(),
            }],
            overwrites: &[],
            now,
        });
        let Outcome::Applied {
            commit, broadcast, ..
        } = outcome
        else {
            panic!("applies")
        };
        assert!(
            matches!(&broadcast, crate::protocol::ServerMessage::Applied { commit: sent, .. } if sent.group == commit.group),
            "everyone learns the group"
        );
        groups.push((commit.rev.0, commit.group.map(|g| g.0)));
    };
    // Ann types "hi you" in the title while Bob types "ok" in the body between her keys.
    for (i, c) in "hi you".chars().enumerate() {
        typing(&ann, "/title", i, &c.to_string(), 100 * i as u64);
        if i < 2 {
            typing(&bob, "/body", i, ["o", "k"][i], 100 * i as u64 + 50);
        }
    }
    // A pause, then more of the same word.
    typing(&ann, "/title", 6, "r", 600 + crate::history::PAUSE_MS);
    assert_eq!(
        groups,
        [
            (1, None),    // Ann "h" begins a group
            (2, None),    // Bob "o" begins his
            (3, Some(1)), // "i"
            (4, Some(2)), // Bob "k"
            (5, Some(1)), // " " ends the word
            (6, None),    // "y" begins the next
            (7, Some(6)), // "o"
            (8, Some(6)), // "u"
            (9, None),    // after the pause
        ]
    );
}
