//! Who is in a document and where: joins, updates, leaves and timeouts.
//!
//! Time is an input (milliseconds), never read from a clock, so the relay, the simulation and
//! the tests drive it alike.

use std::collections::{BTreeMap, HashMap};

use crate::pointer::Pointer;
use crate::protocol::{ClientId, Peer, Role};

/// The peers of one document.
#[derive(Debug, Clone, Default)]
pub struct Presence {
    peers: BTreeMap<ClientId, Entry>,
    timeout_ms: u64,
    /// The colour each client last had here (at most [`REMEMBERED`]), so that someone who
    /// reconnects keeps theirs while it is free, whoever comes back first.
    last_colors: HashMap<ClientId, u8>,
}

/// How many clients' last colours are remembered (then the memory starts over).
const REMEMBERED: usize = 4096;

#[derive(Debug, Clone)]
struct Entry {
    peer: Peer,
    last_seen: u64,
}

impl Presence {
    /// No peers; an entry not heard from for `timeout_ms` expires.
    pub fn new(timeout_ms: u64) -> Presence {
        Presence {
            peers: BTreeMap::new(),
            timeout_ms,
            last_colors: HashMap::new(),
        }
    }

    /// `client` joins (or rejoins). It gets the colour it had here before if nobody has it
    /// now (so colours do not swap when people reconnect in another order), else the first
    /// colour nobody here has, in palette order: the palette starts with its most distinct
    /// colours, so a few people never look alike, and up to [`PALETTE`] always differ. (With
    /// more, colours repeat, by the client's own [`color_of`].)
    pub fn join(&mut self, client: ClientId, name: &str, role: Role, now: u64) {
        let taken = |c: u8| {
            self.peers
                .values()
                .any(|e| e.peer.client != client && e.peer.color == c)
        };
        let before = self.last_colors.get(&client).copied();
        let color = before
            .filter(|&c| !taken(c))
            .or_else(|| (0..PALETTE).find(|&c| !taken(c)))
            .unwrap_or_else(|| color_of(&client));
        if self.last_colors.len() >= REMEMBERED && before.is_none() {
            self.last_colors.clear();
        }
        self.last_colors.insert(client.clone(), color);
        let peer = Peer {
            color,
            client: client.clone(),
            name: name.to_owned(),
            role,
            selection: None,
            caret: None,
        };
        self.peers.insert(
            client,
            Entry {
                peer,
                last_seen: now,
            },
        );
    }

    /// `client` selected `selection` with the caret at `caret`; returns whether anything changed
    /// (so the relay tells the room only then). Unknown clients are ignored.
    pub fn update(
        &mut self,
        client: &ClientId,
        selection: Option<Pointer>,
        caret: Option<usize>,
        now: u64,
    ) -> bool {
        let Some(entry) = self.peers.get_mut(client) else {
            return false;
        };
        entry.last_seen = now;
        let changed = entry.peer.selection != selection || entry.peer.caret != caret;
        entry.peer.selection = selection;
        entry.peer.caret = caret;
        changed
    }

    /// `client` is still here (any message counts).
    pub fn touch(&mut self, client: &ClientId, now: u64) {
        if let Some(entry) = self.peers.get_mut(client) {
            entry.last_seen = now;
        }
    }

    /// `client` left; returns whether it was here.
    pub fn leave(&mut self, client: &ClientId) -> bool {
        self.peers.remove(client).is_some()
    }

    /// Removes the peers not heard from for the timeout and returns them.
    pub fn expire(&mut self, now: u64) -> Vec<ClientId> {
        let timeout = self.timeout_ms;
        let gone: Vec<ClientId> = self
            .peers
            .iter()
            .filter(|(_, e)| now.saturating_sub(e.last_seen) >= timeout)
            .map(|(c, _)| c.clone())
            .collect();
        for client in &gone {
            self.peers.remove(client);
        }
        gone
    }

    /// Everyone here, ordered by client id.
    pub fn peers(&self) -> Vec<Peer> {
        self.peers.values().map(|e| e.peer.clone()).collect()
    }

    /// Whether `client` is here.
    pub fn contains(&self, client: &ClientId) -> bool {
        self.peers.contains_key(client)
    }
}

/// The number of colours peers are told apart by.
pub const PALETTE: u8 = 16;

/// A palette index (`0..PALETTE`) that is the same for a client id everywhere.
pub fn color_of(client: &ClientId) -> u8 {
    let h = client.0.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    (h % u32::from(PALETTE)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_join_update_leave_and_expire() {
        let mut p = Presence::new(1000);
        let (a, b) = (ClientId::from("a"), ClientId::from("b"));
        p.join(a.clone(), "Ann", Role::Write, 0);
        p.join(b.clone(), "Bob", Role::Read, 0);
        assert_eq!(p.peers().len(), 2);
        assert!(p.update(&a, Some("/x".parse().unwrap()), Some(3), 500));
        assert!(
            !p.update(&a, Some("/x".parse().unwrap()), Some(3), 600),
            "no change"
        );
        assert_eq!(p.peers()[0].selection, Some("/x".parse().unwrap()));
        assert_eq!(p.expire(1000), vec![b], "b was last seen at 0");
        assert!(p.leave(&a));
        assert!(p.peers().is_empty());
        assert_eq!(color_of(&a), color_of(&ClientId::from("a")));
    }

    #[test]
    fn people_in_one_room_get_different_colours() {
        let mut p = Presence::new(1000);
        for i in 0..16 {
            p.join(ClientId(format!("client-{i}")), "x", Role::Write, 0);
        }
        let mut colours: Vec<u8> = p.peers().iter().map(|peer| peer.color).collect();
        colours.sort_unstable();
        colours.dedup();
        assert_eq!(colours.len(), 16);
        // The first free colour: someone leaving frees theirs for the next to come.
        assert!(p.leave(&ClientId::from("client-3")));
        p.join(ClientId::from("late"), "y", Role::Write, 0);
        let late = p.peers().into_iter().find(|peer| peer.client.0 == "late");
        assert_eq!(late.map(|peer| peer.color), Some(3));
    }

    #[test]
    fn people_who_reconnect_in_another_order_keep_their_colours() {
        let mut p = Presence::new(1000);
        let (ann, ben) = (ClientId::from("ann"), ClientId::from("ben"));
        p.join(ann.clone(), "Ann", Role::Write, 0);
        p.join(ben.clone(), "Ben", Role::Write, 0);
        let colour = |p: &Presence, who: &ClientId| {
            p.peers()
                .into_iter()
                .find(|peer| &peer.client == who)
                .map(|peer| peer.color)
        };
        let (a, b) = (colour(&p, &ann), colour(&p, &ben));
        assert_ne!(a, b);
        // Both connections drop; Ben is back first.
        p.leave(&ann);
        p.leave(&ben);
        p.join(ben.clone(), "Ben", Role::Write, 10);
        p.join(ann.clone(), "Ann", Role::Write, 10);
        assert_eq!((colour(&p, &ann), colour(&p, &ben)), (a, b));
    }
}
