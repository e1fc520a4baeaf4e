//! Deterministic simulation of one Authority and 3 to 8 Replicas over an in-memory network.
//!
//! Each connection keeps its order (as a websocket does), but deliveries across connections
//! interleave at random; connections drop, losing what was in flight (acks included); replicas
//! restart from their persisted state; the Authority restarts from its durable log. Replicas
//! make random edits of every kind, concurrently, and undo and redo. When the network goes
//! quiet, every replica must equal the Authority, every acknowledged change must be in the log,
//! and no change may be applied twice.
//!
//! `SIM_SEED=n` replays one case; `SIM_CASES=n` sets how many run (default 2000). A failure
//! prints its seed.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{HashSet, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};

use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};
use sync_core::protocol::{ClientId, ClientMessage, Commit, Revision, Role, ServerMessage};
use sync_core::replica::{Event, Replica, ReplicaState};
use sync_core::{Number, Operation, Pointer, Value};

mod common;

use common::{Rng, paths};

const INITIAL: &str = r#"{
    "items": [{"t": "a", "n": 0}, {"t": "b", "n": 1}, {"t": "c", "n": 2}],
    "text": "hello world",
    "count": 0,
    "meta": {"a": 1, "b": {"c": [1, 2, 3]}},
    "tags": ["x", "y"]
}"#;

struct Client {
    replica: Replica,
    /// What the replica last persisted: it restarts from this.
    saved: ReplicaState,
    connected: bool,
    to_server: VecDeque<ClientMessage>,
    to_client: VecDeque<ServerMessage>,
    /// Whether the server side has seen this connection's hello.
    hello_seen: bool,
}

struct World {
    rng: Rng,
    authority: Authority,
    initial: Value,
    /// The durable log: every commit, in order (persisted before its ack is sent).
    log: Vec<Commit>,
    clients: Vec<Client>,
    /// (client index, seq, rev) of every ack a replica received.
    acked: Vec<(usize, u64, Revision)>,
    config: AuthorityConfig,
    trace: Vec<String>,
    stats: Stats,
}

/// What a run exercised, so that a quiet run can be told from an idle one.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    commits: usize,
    conflicts: usize,
    rejected: usize,
    duplicates: usize,
    snapshots: usize,
    diverged: usize,
    lost: usize,
    restarts: usize,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        self.commits += o.commits;
        self.conflicts += o.conflicts;
        self.rejected += o.rejected;
        self.duplicates += o.duplicates;
        self.snapshots += o.snapshots;
        self.diverged += o.diverged;
        self.lost += o.lost;
        self.restarts += o.restarts;
    }
}

fn config() -> AuthorityConfig {
    // A short log makes far-behind replicas catch up by snapshot.
    AuthorityConfig {
        retained: 24,
        hash_every: 5,
        hash_interval_ms: 0,
        presence_timeout_ms: 60_000,
    }
}

impl World {
    fn new(seed: u64) -> World {
        let mut rng = Rng(seed);
        let n = 3 + rng.below(6);
        let initial = Value::parse(INITIAL).unwrap();
        let clients = (0..n)
            .map(|i| {
                let replica = Replica::new(ClientId(format!("c{i}")), &format!("Client {i}"));
                Client {
                    saved: replica.save(),
                    replica,
                    connected: false,
                    to_server: VecDeque::new(),
                    to_client: VecDeque::new(),
                    hello_seen: false,
                }
            })
            .collect();
        World {
            rng,
            authority: Authority::new(initial.clone(), config()),
            initial,
            log: Vec::new(),
            clients,
            acked: Vec::new(),
            config: config(),
            trace: Vec::new(),
            stats: Stats::default(),
        }
    }

    fn handle_events(&mut self, i: usize, events: Vec<Event>) {
        for event in events {
            if let Event::Send(message) = event {
                let c = &mut self.clients[i];
                if c.connected {
                    c.to_server.push_back(message);
                }
            }
        }
        let c = &mut self.clients[i];
        c.saved = c.replica.save();
    }

    fn connect(&mut self, i: usize) {
        let c = &mut self.clients[i];
        c.connected = true;
        c.hello_seen = false;
        c.to_server.clear();
        c.to_client.clear();
        let hello = c.replica.hello("doc", None);
        c.to_server.push_back(hello);
        self.trace.push(format!("connect c{i}"));
    }

    fn disconnect(&mut self, i: usize) {
        let c = &mut self.clients[i];
        c.connected = false;
        c.hello_seen = false;
        c.to_server.clear();
        c.to_client.clear();
        c.replica.disconnected();
        self.authority.presence().leave(c.replica.client());
        self.trace.push(format!("disconnect c{i}"));
    }

    fn restart_client(&mut self, i: usize) {
        self.disconnect(i);
        let saved = self.clients[i].saved.clone();
        let (replica, events) = Replica::restore(saved);
        assert!(
            events.is_empty(),
            "restoring a saved replica loses nothing: {events:?}"
        );
        self.clients[i].replica = replica;
        self.trace.push(format!("restart c{i}"));
    }

    fn restart_authority(&mut self) {
        for i in 0..self.clients.len() {
            if self.clients[i].connected {
                self.disconnect(i);
            }
        }
        self.authority = Authority::restore(
            self.initial.clone(),
            Revision(0),
            self.log.clone(),
            [],
            self.config,
        )
        .expect("the durable log restores");
        self.trace.push("restart authority".to_owned());
        self.stats.restarts += 1;
    }

    /// The server side receives one message from client `i`.
    fn serve(&mut self, i: usize, message: ClientMessage) {
        let client = self.clients[i].replica.client().clone();
        let name = format!("Client {i}");
        match message {
            ClientMessage::Hello { last_rev, .. } => {
                self.clients[i].hello_seen = true;
                self.authority
                    .presence()
                    .join(client.clone(), &name, Role::Write, 0);
                let welcome = self.authority.welcome(&client, last_rev, Role::Write);
                self.clients[i].to_client.push_back(welcome);
            }
            ClientMessage::Submit {
                seq,
                base_rev,
                ops,
                overwrites,
            } => {
                let outcome = self.authority.submit(&Submission {
                    client: &client,
                    author: &name,
                    role: Role::Write,
                    seq,
                    base_rev,
                    ops,
                    overwrites: &overwrites,
                    now: 0,
                });
                match outcome {
                    Outcome::Applied {
                        commit,
                        ack,
                        broadcast,
                    } => {
                        self.trace.push(format!("c{i} seq {seq} -> {}", commit.rev));
                        self.stats.commits += 1;
                        self.stats.conflicts += commit.conflicts.len();
                        self.log.push(commit);
                        self.clients[i].to_client.push_back(ack);
                        for (j, other) in self.clients.iter_mut().enumerate() {
                            if j != i && other.connected && other.hello_seen {
                                other.to_client.push_back(broadcast.clone());
                            }
                        }
                    }
                    Outcome::Duplicate { ack } => {
                        self.trace.push(format!("c{i} seq {seq} duplicate"));
                        self.stats.duplicates += 1;
                        self.clients[i].to_client.push_back(ack);
                    }
                    Outcome::Rejected { reject } => {
                        self.trace
                            .push(format!("c{i} seq {seq} rejected: {reject:?}"));
                        self.stats.rejected += 1;
                        self.clients[i].to_client.push_back(reject);
                    }
                }
            }
            ClientMessage::Snapshot { rev } => {
                let rev = rev.unwrap_or(self.authority.rev());
                let doc = self.authority.document_at(rev).unwrap();
                self.clients[i]
                    .to_client
                    .push_back(ServerMessage::Snapshot { rev, doc });
            }
            ClientMessage::Presence { selection, caret } => {
                self.authority
                    .presence()
                    .update(&client, selection, caret, 0);
            }
            ClientMessage::History { .. } => {}
        }
    }

    fn deliver_to_server(&mut self, i: usize) -> bool {
        let Some(message) = self.clients[i].to_server.pop_front() else {
            return false;
        };
        // Now and then the network delivers a submit twice (a retransmission).
        let again = matches!(message, ClientMessage::Submit { .. }) && self.rng.chance(10);
        if again {
            self.serve(i, message.clone());
        }
        self.serve(i, message);
        true
    }

    fn deliver_to_client(&mut self, i: usize) -> bool {
        let Some(message) = self.clients[i].to_client.pop_front() else {
            return false;
        };
        if let ServerMessage::Ack { seq, rev, .. } = &message {
            self.acked.push((i, *seq, *rev));
        }
        if matches!(message, ServerMessage::Snapshot { .. })
            || matches!(
                &message,
                ServerMessage::Welcome {
                    catch_up: sync_core::protocol::CatchUp::Snapshot { .. },
                    ..
                }
            )
        {
            self.stats.snapshots += 1;
        }
        let events = self.clients[i].replica.receive(message);
        for event in &events {
            match event {
                Event::Lost { .. } => {
                    self.stats.lost += 1;
                    self.trace.push(format!("c{i} lost {event:?}"));
                }
                Event::Diverged { .. } => {
                    self.stats.diverged += 1;
                    self.trace.push(format!("c{i} diverged {event:?}"));
                    if std::env::var("SIM_SEED").is_ok() {
                        panic!("c{i} diverged");
                    }
                }
                _ => {}
            }
        }
        self.handle_events(i, events);
        true
    }

    fn edit(&mut self, i: usize) {
        let ops = random_change(&mut self.rng, self.clients[i].replica.view());
        if let Ok(events) = self.clients[i].replica.edit(ops) {
            self.handle_events(i, events);
        }
    }

    fn step(&mut self) {
        let n = self.clients.len();
        let i = self.rng.below(n);
        match self.rng.below(100) {
            0..=29 => self.edit(i),
            30..=54 => {
                self.deliver_to_server(i);
            }
            55..=79 => {
                self.deliver_to_client(i);
            }
            80..=83 => {
                let r = if self.rng.chance(50) {
                    self.clients[i].replica.undo()
                } else {
                    self.clients[i].replica.redo()
                };
                if let Ok(events) = r {
                    self.handle_events(i, events);
                }
            }
            84..=88 => {
                if self.clients[i].connected {
                    self.disconnect(i);
                } else {
                    self.connect(i);
                }
            }
            89..=90 => self.restart_client(i),
            91 => {
                if self.rng.chance(30) {
                    self.restart_authority();
                }
            }
            _ => {
                if self.clients[i].connected {
                    let paths = paths(self.clients[i].replica.view());
                    let selection = self.rng.pick(&paths).cloned();
                    self.clients[i]
                        .to_server
                        .push_back(ClientMessage::Presence {
                            selection,
                            caret: None,
                        });
                }
            }
        }
    }

    /// Connects everyone and delivers until nothing moves.
    fn quiesce(&mut self) {
        for i in 0..self.clients.len() {
            if !self.clients[i].connected {
                self.connect(i);
            }
        }
        for _ in 0..100_000 {
            let mut moved = false;
            for i in 0..self.clients.len() {
                moved |= self.deliver_to_server(i);
                moved |= self.deliver_to_client(i);
            }
            if !moved {
                return;
            }
        }
        panic!("the network did not go quiet");
    }

    fn check(&self) {
        let head = self.authority.document();
        for (i, c) in self.clients.iter().enumerate() {
            assert_eq!(c.replica.pending(), 0, "c{i} still has pending changes");
            assert_eq!(
                c.replica.rev(),
                Some(self.authority.rev()),
                "c{i} is behind"
            );
            assert_eq!(c.replica.view(), head, "c{i} diverged");
            assert_eq!(
                c.replica.view().to_json(),
                head.to_json(),
                "c{i} differs in member order"
            );
        }
        // No change applied twice.
        let mut seen = HashSet::new();
        for commit in &self.log {
            assert!(
                seen.insert((commit.client.clone(), commit.seq)),
                "{} seq {} applied twice",
                commit.client,
                commit.seq
            );
        }
        // Every acknowledged change is in the log, at the revision its ack named.
        for (i, seq, rev) in &self.acked {
            let commit = self
                .log
                .get(rev.0 as usize - 1)
                .expect("acked revision exists");
            assert_eq!(
                (&commit.client.0, commit.seq),
                (&format!("c{i}"), *seq),
                "ack for c{i} seq {seq} at {rev}"
            );
        }
        // The durable log rebuilds the same document.
        let rebuilt = Authority::restore(
            self.initial.clone(),
            Revision(0),
            self.log.clone(),
            [],
            self.config,
        )
        .unwrap();
        assert_eq!(rebuilt.document().to_json(), head.to_json());
    }
}

fn small_value(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => Value::from(rng.below(100) as i64),
        1 => Value::from(format!("v{}", rng.below(10))),
        2 => Value::Bool(rng.chance(50)),
        3 => Value::parse(r#"{"t": "new", "n": 9}"#).unwrap(),
        4 => Value::parse("[1, 2]").unwrap(),
        _ => Value::Null,
    }
}

/// A random change of one to three operations, mostly valid on `doc`.
fn random_change(rng: &mut Rng, doc: &Value) -> Vec<Operation> {
    let mut scratch = doc.clone();
    let mut ops = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let all = paths(&scratch);
        let non_root: Vec<Pointer> = all.iter().filter(|p| !p.is_root()).cloned().collect();
        let arrays: Vec<Pointer> = all
            .iter()
            .filter(|p| matches!(p.resolve(&scratch), Some(Value::Array(_))))
            .cloned()
            .collect();
        let objects: Vec<Pointer> = all
            .iter()
            .filter(|p| matches!(p.resolve(&scratch), Some(Value::Object(_))))
            .cloned()
            .collect();
        let strings: Vec<Pointer> = all
            .iter()
            .filter(|p| matches!(p.resolve(&scratch), Some(Value::String(_))))
            .cloned()
            .collect();
        let numbers: Vec<Pointer> = all
            .iter()
            .filter(|p| matches!(p.resolve(&scratch), Some(Value::Number(_))))
            .cloned()
            .collect();
        let op = match rng.below(10) {
            0 => {
                let Some(array) = rng.pick(&arrays).cloned() else {
                    continue;
                };
                let len = array
                    .resolve(&scratch)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                let at = if rng.chance(30) {
                    "-".to_owned()
                } else {
                    rng.below(len + 1).to_string()
                };
                Operation::add(array.child(at), small_value(rng))
            }
            1 => {
                let Some(object) = rng.pick(&objects).cloned() else {
                    continue;
                };
                Operation::add(object.child(format!("k{}", rng.below(4))), small_value(rng))
            }
            2 => {
                let Some(p) = rng.pick(&non_root).cloned() else {
                    continue;
                };
                Operation::remove(p)
            }
            3 => {
                let Some(p) = rng.pick(&non_root).cloned() else {
                    continue;
                };
                Operation::replace(p, small_value(rng))
            }
            4 => {
                let (Some(from), Some(to)) =
                    (rng.pick(&non_root).cloned(), rng.pick(&arrays).cloned())
                else {
                    continue;
                };
                let len = to
                    .resolve(&scratch)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                Operation::move_(from, to.child(rng.below(len + 1).to_string()))
            }
            5 => {
                let (Some(from), Some(to)) =
                    (rng.pick(&non_root).cloned(), rng.pick(&objects).cloned())
                else {
                    continue;
                };
                Operation::Copy {
                    from,
                    path: to.child(format!("c{}", rng.below(3))),
                }
            }
            6 | 7 => {
                let Some(p) = rng.pick(&strings).cloned() else {
                    continue;
                };
                let len = p
                    .resolve(&scratch)
                    .and_then(Value::as_text)
                    .map_or(0, |t| t.len_chars());
                let pos = rng.below(len + 1);
                let del = rng.below(len - pos + 1).min(3);
                Operation::Splice {
                    path: p,
                    pos,
                    del,
                    ins: ["", "x", "yz", "é"][rng.below(4)].to_owned(),
                }
            }
            8 => {
                let Some(p) = rng.pick(&numbers).cloned() else {
                    continue;
                };
                Operation::Incr {
                    path: p,
                    by: Number::from(rng.below(5) as i64 - 2),
                }
            }
            _ => {
                let Some(p) = rng.pick(&objects).cloned() else {
                    continue;
                };
                let k = rng.below(4);
                let patch = Value::parse(&format!(
                    r#"{{"k{k}": {}, "k{}": null}}"#,
                    rng.below(9),
                    (k + 1) % 4
                ))
                .unwrap();
                Operation::Merge {
                    path: p,
                    value: patch,
                }
            }
        };
        if sync_core::Change(vec![op.clone()])
            .apply(&mut scratch)
            .is_ok()
        {
            ops.push(op);
        }
    }
    ops
}

fn run_case(seed: u64, steps: usize) -> Result<Stats, String> {
    let mut world = World::new(seed);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        for _ in 0..steps {
            world.step();
        }
        world.quiesce();
        world.check();
    }));
    outcome.map(|()| world.stats).map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        let tail: Vec<&String> = world.trace.iter().rev().take(40).collect();
        format!("{message}\n  last events (newest first): {tail:#?}")
    })
}

#[test]
fn replicas_converge_under_delays_drops_and_restarts() {
    let steps = 400;
    if let Ok(seed) = std::env::var("SIM_SEED") {
        let seed: u64 = seed.parse().expect("SIM_SEED is a number");
        match run_case(seed, steps) {
            Ok(stats) => eprintln!("SIM_SEED={seed}: {stats:?}"),
            Err(e) => panic!("simulation failed with SIM_SEED={seed}: {e}"),
        }
        return;
    }
    let cases: u64 = std::env::var("SIM_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2000);
    let mut total = Stats::default();
    let mut diverged = Vec::new();
    for seed in 0..cases {
        match run_case(seed, steps) {
            Ok(stats) => {
                if stats.diverged > 0 {
                    diverged.push(seed);
                }
                total += stats;
            }
            Err(e) => panic!("simulation failed with SIM_SEED={seed} (of {cases} cases): {e}"),
        }
    }
    eprintln!("simulation: {cases} cases of {steps} steps converged: {total:?}");
    // A divergence heals by snapshot, but means a replica's own bookkeeping went wrong.
    assert!(
        diverged.is_empty(),
        "replicas diverged (and healed) with SIM_SEED in {diverged:?}"
    );
    // The run must have exercised what it claims to.
    assert!(total.commits > cases as usize * 10, "{total:?}");
    assert!(
        total.conflicts > 0 && total.rejected > 0 && total.duplicates > 0,
        "{total:?}"
    );
    assert!(total.snapshots > 0 && total.restarts > 0, "{total:?}");
}
