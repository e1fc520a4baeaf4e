//! Deterministic simulation of one Authority and 3 to 8 Replicas over an in-memory network.
//!
//! Each connection keeps its order (as a websocket does), but deliveries across connections
//! interleave at random; connections drop, losing what was in flight (acks included); replicas
//! restart from their persisted state; the Authority restarts from its durable log. Replicas
//! make random edits of every kind, concurrently, and undo and redo. When the network goes
//! quiet, every replica must equal the Authority, every acknowledged change must be in the log,
//! and no change may be applied twice.
//!
//! Every outcome is classified against DESIGN.md's conflict table, not counted:
//!
//! - a rejection is allowed only where the table calls for one (the edits made here have no
//!   `test`, so only a move into its own descendant);
//! - no edit is lost silently. Every value an edit writes carries a unique marker (`"m17@17"`).
//!   When the network is quiet, each marker someone wrote is still in the document, or was
//!   taken out by someone whose own view held it (an edit made seeing it), or its writer was
//!   told: a conflict record naming them the loser and carrying it, or their change reported
//!   rejected or lost. A marker that was ever copied (it stood twice in the document or a
//!   view) no longer names one edit's value and is not followed.
//!
//! `SIM_SEED=n` replays one case; `SIM_CASES=n` sets how many run (default 2000). A failure
//! prints its seed and, for a lost edit, its story. `SIM_TRACE=file` writes a case's whole
//! trace; `SIM_SURVEY=1` runs every case and lists all that fail. `KNOWN_OPEN` lists the seeds
//! that still fail the loss check (open defects, reported on every run). `SIM_DUMP=file` writes
//! the first change the Authority rejects where the table keeps it (the document at its base,
//! the log since, the change) for `tests/replay.rs` to replay and `scripts/shrink-rejection.py`
//! to shrink.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};

use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};
use sync_core::protocol::{ClientId, ClientMessage, Commit, Revision, Role, ServerMessage};
use sync_core::replica::{Event, Replica, ReplicaState};
use sync_core::{Operation, Value};

mod common;
#[path = "simulation/cycles.rs"]
mod cycles;
#[path = "simulation/edits.rs"]
mod edits;
#[path = "simulation/oracle.rs"]
mod oracle;
#[path = "simulation/stats.rs"]
mod stats;

use edits::random_change;
use oracle::{count_markers, markers, op_markers};
use stats::Stats;

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
    /// The next marker to write.
    next_mark: u64,
    /// Every marker a local action put into a view, and whose action it was.
    written: Vec<(String, usize)>,
    /// Markers a local action took out of the view that held them: gone knowingly.
    taken_out: HashSet<String>,
    /// Per client, the markers of its own edits it was told it lost.
    told: Vec<HashSet<String>>,
    /// Markers that stood more than once in a view (copied): no longer one edit's value.
    copied: HashSet<String>,
    config: AuthorityConfig,
    trace: Vec<String>,
    stats: Stats,
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
            next_mark: 0,
            written: Vec::new(),
            taken_out: HashSet::new(),
            told: vec![HashSet::new(); n],
            copied: HashSet::new(),
            config: config(),
            trace: Vec::new(),
            stats: Stats::default(),
        }
    }

    fn handle_events(&mut self, i: usize, events: Vec<Event>) {
        let me = self.clients[i].replica.client().clone();
        for event in events {
            match event {
                Event::Send(message) => {
                    let c = &mut self.clients[i];
                    if c.connected {
                        c.to_server.push_back(message);
                    }
                }
                Event::Conflicts(conflicts) => {
                    for c in conflicts.iter().filter(|c| c.loser.client == me) {
                        self.trace.push(format!("c{i} told {c:?}"));
                        let told = &mut self.told[i];
                        c.value.iter().for_each(|v| markers(v, told));
                        if let Some(op) = &c.op {
                            op_markers(op, told);
                        }
                    }
                }
                Event::Rejected { ops, code, message } => {
                    // The edits here have no `test`: only a move into its own descendant may
                    // be refused.
                    let allowed = code == "move_into_descendant"
                        && ops.iter().any(|op| matches!(op, Operation::Move { .. }));
                    assert!(
                        allowed,
                        "c{i}'s change was rejected where the table keeps it: {code}: {message}\n{}",
                        sync_core::Change(ops).to_json()
                    );
                    ops.iter().for_each(|op| op_markers(op, &mut self.told[i]));
                }
                Event::Lost { ops, .. } => {
                    ops.iter().for_each(|op| op_markers(op, &mut self.told[i]));
                }
                _ => {}
            }
        }
        let c = &mut self.clients[i];
        c.saved = c.replica.save();
        if std::env::var("SIM_TRACE").is_ok() {
            let pending = serde_json::to_string(&c.saved.pending).unwrap();
            self.trace.push(format!("c{i} pending {pending}"));
        }
    }

    /// A change of client `i` made on `base` was refused as a move into its own descendant
    /// (`message` names the operation): node identities must agree that the move became one.
    fn check_cycle(&mut self, i: usize, base: Revision, ops: &[Operation], message: &str) {
        let verdict = cycles::refused(
            self.authority.document_at(base),
            &self.log,
            base,
            ops,
            message,
        );
        match verdict {
            cycles::Verdict::Cycle => self.stats.cycles += 1,
            cycles::Verdict::Undetermined => self.stats.undetermined += 1,
            cycles::Verdict::NotACycle(why) => panic!(
                "c{i}'s change was refused as a move into its own descendant, but {why}: {message}\n{}",
                sync_core::Change(ops.to_vec()).to_json()
            ),
        }
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
                let mut welcome = self.authority.welcome(&client, last_rev, Role::Write);
                // The records in changes the Authority no longer keeps come from the durable
                // log, as the relay reads them from its store.
                if let ServerMessage::Welcome {
                    catch_up: sync_core::protocol::CatchUp::Snapshot { conflicts, .. },
                    ..
                } = &mut welcome
                    && let Some(since) = last_rev
                {
                    let oldest = self.authority.oldest_retained();
                    let older = self
                        .log
                        .iter()
                        .filter(|c| c.rev > since && c.rev <= oldest)
                        .flat_map(|c| &c.conflicts)
                        .filter(|c| c.loser.client == client)
                        .cloned();
                    let mut all: Vec<_> = older.collect();
                    all.append(conflicts);
                    *conflicts = all;
                }
                self.clients[i].to_client.push_back(welcome);
            }
            ClientMessage::Submit {
                seq,
                base_rev,
                ops,
                overwrites,
            } => {
                self.trace.push(format!(
                    "c{i} submits seq {seq} on {base_rev}: {} claiming {overwrites:?}",
                    serde_json::to_string(&ops).unwrap()
                ));
                let dump_ops = ops.clone();
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
                        self.trace.push(format!(
                            "c{i} seq {seq} -> {}: {}",
                            commit.rev,
                            serde_json::to_string(&commit).unwrap()
                        ));
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
                        if let (Ok(path), ServerMessage::Reject { code, .. }) =
                            (std::env::var("SIM_DUMP"), &reject)
                            && code != "move_into_descendant"
                            && !std::path::Path::new(&path).exists()
                        {
                            let dump = serde_json::json!({
                                "snapshot": self.authority.document_at(base_rev).unwrap(),
                                "base": base_rev,
                                "log": self.log.iter().filter(|c| c.rev > base_rev).collect::<Vec<_>>(),
                                "ops": dump_ops,
                            });
                            std::fs::write(path, dump.to_string()).unwrap();
                        }
                        self.trace
                            .push(format!("c{i} seq {seq} rejected: {reject:?}"));
                        self.stats.rejected += 1;
                        if let ServerMessage::Reject { code, message, .. } = &reject
                            && code == "move_into_descendant"
                        {
                            self.check_cycle(i, base_rev, &dump_ops, message);
                        }
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
        let ops = random_change(
            &mut self.rng,
            self.clients[i].replica.view(),
            &mut self.next_mark,
        );
        self.trace.push(format!(
            "c{i} edits {}",
            serde_json::to_string(&ops).unwrap()
        ));
        // Operation by operation, as the edit's author saw it: a marker one operation writes
        // and a later one changes was still written (and taken out) by them, and one that one
        // operation copies and a later one changes stood twice in between.
        let mut view = self.clients[i].replica.view().clone();
        let mut had = HashMap::new();
        count_markers(&view, &mut had);
        for op in &ops {
            if sync_core::Change(vec![op.clone()])
                .apply(&mut view)
                .is_err()
            {
                break;
            }
            had = self.note(i, &had, &view);
        }
        self.local(i, |replica| replica.edit(ops));
    }

    /// Something client `i`'s user did: notes the markers it put into the view and those it
    /// took out of it.
    fn local(
        &mut self,
        i: usize,
        action: impl FnOnce(&mut Replica) -> Result<Vec<Event>, sync_core::replica::EditError>,
    ) {
        let mut before = HashMap::new();
        count_markers(self.clients[i].replica.view(), &mut before);
        let Ok(events) = action(&mut self.clients[i].replica) else {
            return;
        };
        let sent: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::Send(m) => serde_json::to_string(m).ok(),
                _ => None,
            })
            .collect();
        self.trace.push(format!(
            "c{i} local -> view {} sends {sent:?}",
            self.clients[i].replica.view().to_json()
        ));
        let view = self.clients[i].replica.view().clone();
        self.note(i, &before, &view);
        self.handle_events(i, events);
    }

    /// Client `i`'s view went from holding the markers `before` (each with how many times it
    /// stood there) to `view`: notes the markers its user wrote, took out and copied; returns
    /// those `view` holds.
    fn note(
        &mut self,
        i: usize,
        before: &HashMap<String, usize>,
        view: &Value,
    ) -> HashMap<String, usize> {
        let mut now = HashMap::new();
        count_markers(view, &mut now);
        // Standing twice, before or after (copies can also arrive from others).
        for counts in [before, &now] {
            self.copied.extend(
                counts
                    .iter()
                    .filter(|(_, n)| **n > 1)
                    .map(|(m, _)| m.clone()),
            );
        }
        // A marker names the edit that first wrote it. (One can stand again later: a redo, or
        // a splice that takes out what another splice put into it.)
        for mark in now.keys().filter(|m| !before.contains_key(*m)) {
            if !self.written.iter().any(|(m, _)| m == mark) {
                self.written.push((mark.clone(), i));
            }
        }
        // Taken out knowingly: every place it stood, or one of them.
        let fewer = |(m, n): (&String, &usize)| now.get(m).copied().unwrap_or(0) < *n;
        self.taken_out
            .extend(before.iter().filter(|e| fewer(*e)).map(|(m, _)| m.clone()));
        now
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
                if self.rng.chance(50) {
                    self.trace.push(format!("c{i} undoes"));
                    self.local(i, Replica::undo);
                } else {
                    self.trace.push(format!("c{i} redoes"));
                    self.local(i, Replica::redo);
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
        if let Ok(path) = std::env::var("SIM_TRACE") {
            let _ = std::fs::write(path, world.trace.join("\n"));
        }
        let tail: Vec<&String> = world.trace.iter().rev().take(40).collect();
        format!("{message}\n  last events (newest first): {tail:#?}")
    })
}

/// Seeds whose histories still lose an edit without telling its author: open defects of the
/// sync engine, each found by the loss check and not yet fixed. They run like every other case
/// and their failure is reported, not hidden; any other failing seed fails the test, and so does
/// a listed seed that passes. Run one with `SIM_SEED=n SIM_TRACE=file` to read its story.
const KNOWN_OPEN: [u64; 0] = [];

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
    // `SIM_SURVEY=1` runs every case and lists all the failing seeds instead of stopping at
    // the first.
    let survey = std::env::var("SIM_SURVEY").is_ok();
    let mut failed = Vec::new();
    let mut open = Vec::new();
    for seed in 0..cases {
        let known = KNOWN_OPEN.contains(&seed);
        match run_case(seed, steps) {
            Ok(stats) => {
                assert!(
                    !known || survey,
                    "SIM_SEED={seed} passes now: take it off KNOWN_OPEN (and say so on the issue)"
                );
                if stats.diverged > 0 {
                    diverged.push(seed);
                }
                total += stats;
            }
            Err(_) if known && !survey => open.push(seed),
            Err(e) if survey => {
                failed.push(format!("{seed}: {}", e.lines().next().unwrap_or_default()));
            }
            Err(e) => panic!("simulation failed with SIM_SEED={seed} (of {cases} cases): {e}"),
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
    if !open.is_empty() {
        eprintln!("simulation: known open losses still fail with SIM_SEED in {open:?}");
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
