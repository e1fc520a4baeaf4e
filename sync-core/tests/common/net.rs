//! An Authority and replicas wired by hand, for tests that decide when each message goes.

use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};
use sync_core::protocol::{ClientId, ClientMessage, Conflict, Role, ServerMessage};
use sync_core::replica::{Event, Replica};
use sync_core::{Change, Operation, Value};

/// The operations of a change written as JSON.
pub fn ops(json: &str) -> Vec<Operation> {
    Change::from_json(json).unwrap().0
}

/// An Authority and replicas wired by hand: messages go only when a test says so.
pub struct Net {
    /// The Authority, in the relay's place.
    pub authority: Authority,
    /// The replicas, one per window.
    pub replicas: Vec<Replica>,
    /// What each replica has sent that the Authority has not yet received.
    pub outbox: Vec<Vec<ClientMessage>>,
    /// What the Authority has sent each replica that it has not yet received.
    pub inbox: Vec<Vec<ServerMessage>>,
    /// The conflict records each replica was told of (by the relay or by itself).
    pub conflicts: Vec<Vec<Conflict>>,
}

impl Net {
    pub fn new(doc: &str, names: &[&str]) -> Net {
        let mut net = Net {
            authority: Authority::new(Value::parse(doc).unwrap(), AuthorityConfig::default()),
            replicas: names
                .iter()
                .map(|n| Replica::new(ClientId::from(*n), n))
                .collect(),
            outbox: vec![Vec::new(); names.len()],
            inbox: vec![Vec::new(); names.len()],
            conflicts: vec![Vec::new(); names.len()],
        };
        for i in 0..names.len() {
            net.connect(i);
        }
        net
    }

    pub fn take(&mut self, i: usize, events: Vec<Event>) -> Vec<Event> {
        let mut rest = Vec::new();
        for e in events {
            match e {
                Event::Send(m) => self.outbox[i].push(m),
                Event::Conflicts(c) => {
                    self.conflicts[i].extend(c.iter().cloned());
                    rest.push(Event::Conflicts(c));
                }
                other => rest.push(other),
            }
        }
        rest
    }

    pub fn connect(&mut self, i: usize) {
        let hello = self.replicas[i].hello("doc", None);
        self.outbox[i].push(hello);
        self.send(i);
        self.recv(i);
    }

    pub fn edit(&mut self, i: usize, json: &str) {
        let events = self.replicas[i].edit(ops(json)).unwrap();
        self.take(i, events);
    }

    /// Delivers replica `i`'s outgoing messages to the Authority.
    pub fn send(&mut self, i: usize) {
        let client = self.replicas[i].client().clone();
        for message in std::mem::take(&mut self.outbox[i]) {
            match message {
                ClientMessage::Hello { last_rev, .. } => {
                    let w = self.authority.welcome(&client, last_rev, Role::Write);
                    self.inbox[i].push(w);
                }
                ClientMessage::Submit {
                    seq,
                    base_rev,
                    ops,
                    overwrites,
                } => {
                    let outcome = self.authority.submit(&Submission {
                        client: &client,
                        author: client.0.as_str(),
                        role: Role::Write,
                        seq,
                        base_rev,
                        ops,
                        overwrites: &overwrites,
                        now: 0,
                    });
                    match outcome {
                        Outcome::Applied { ack, broadcast, .. } => {
                            self.inbox[i].push(ack);
                            for j in 0..self.replicas.len() {
                                if j != i {
                                    self.inbox[j].push(broadcast.clone());
                                }
                            }
                        }
                        Outcome::Duplicate { ack } => self.inbox[i].push(ack),
                        Outcome::Rejected { reject } => self.inbox[i].push(reject),
                    }
                }
                ClientMessage::Snapshot { .. } => {
                    let (rev, doc) = (self.authority.rev(), self.authority.document().clone());
                    self.inbox[i].push(ServerMessage::Snapshot { rev, doc });
                }
                _ => {}
            }
        }
    }

    /// Delivers what the Authority sent replica `i`; returns the non-send events.
    pub fn recv(&mut self, i: usize) -> Vec<Event> {
        let mut out = Vec::new();
        for message in std::mem::take(&mut self.inbox[i]) {
            let events = self.replicas[i].receive(message);
            out.extend(self.take(i, events));
        }
        out
    }

    /// Runs until nothing is left to deliver.
    pub fn settle(&mut self) {
        for _ in 0..100 {
            let idle =
                self.outbox.iter().all(Vec::is_empty) && self.inbox.iter().all(Vec::is_empty);
            if idle {
                return;
            }
            for i in 0..self.replicas.len() {
                self.send(i);
                self.recv(i);
            }
        }
        panic!("did not settle");
    }

    pub fn view(&self, i: usize) -> String {
        self.replicas[i].view().to_json()
    }
}
