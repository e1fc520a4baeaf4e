//! The cap on connections that have not completed `hello`: in total and per client address,
//! so that a flood of idle sockets from a few addresses cannot take the slots that people
//! with tokens need.
//!
//! A connection holds a [`Pass`] from the moment it is accepted until its `hello` is admitted
//! (or it ends); dropping the pass frees its place.
//!
//! An IPv6 client is counted by its /64 network: one host commonly holds a whole /64, so
//! counting single addresses would let it open any number of connections.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// The counts, shared by every connection.
#[derive(Debug)]
pub(crate) struct Gate {
    total_cap: usize,
    per_address_cap: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Why a connection was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// The relay holds its cap of connections that have not said hello.
    Total(usize),
    /// This address holds its cap.
    Address(IpAddr, usize),
}

impl Full {
    /// What the refused client is told.
    pub(crate) fn message(self) -> String {
        match self {
            Full::Total(cap) => format!(
                "the relay already has {cap} connections that have not said hello; try again later"
            ),
            Full::Address(IpAddr::V6(net), cap) => format!(
                "{net}/64 already has {cap} connections that have not said hello; try again later"
            ),
            Full::Address(addr, cap) => format!(
                "{addr} already has {cap} connections that have not said hello; try again later"
            ),
        }
    }
}

/// One connection's place under the cap, counted against an address once that is known.
#[derive(Debug)]
pub(crate) struct Pass {
    gate: Arc<Gate>,
    address: Option<IpAddr>,
}

impl Gate {
    pub(crate) fn new(total_cap: usize, per_address_cap: usize) -> Arc<Gate> {
        Arc::new(Gate {
            total_cap: total_cap.max(1),
            per_address_cap: per_address_cap.max(1),
            counts: Mutex::new(Counts::default()),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        // The counts stay consistent at every point a panic could happen (there is none).
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a new connection, counted against `address` when it is known now (it is
    /// not when the peer is a proxy whose request has not been read).
    pub(crate) fn enter(self: &Arc<Gate>, address: Option<IpAddr>) -> Result<Pass, Full> {
        let mut counts = self.counts();
        if counts.total >= self.total_cap {
            return Err(Full::Total(self.total_cap));
        }
        if let Some(address) = address {
            take_address(&mut counts, address, self.per_address_cap)?;
        }
        counts.total += 1;
        Ok(Pass {
            gate: Arc::clone(self),
            address,
        })
    }

    /// Connections holding a pass.
    pub(crate) fn waiting(&self) -> usize {
        self.counts().total
    }
}

/// What a client's connections are counted under: an IPv4 address, or an IPv6 address's /64.
fn bucket(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            for segment in segments.iter_mut().skip(4) {
                *segment = 0;
            }
            IpAddr::from(segments)
        }
        v4 => v4,
    }
}

fn take_address(counts: &mut Counts, address: IpAddr, cap: usize) -> Result<(), Full> {
    let address = bucket(address);
    let count = counts.by_address.entry(address).or_insert(0);
    if *count >= cap {
        if *count == 0 {
            counts.by_address.remove(&address);
        }
        return Err(Full::Address(address, cap));
    }
    *count += 1;
    Ok(())
}

fn release_address(counts: &mut Counts, address: IpAddr) {
    let address = bucket(address);
    if let Some(count) = counts.by_address.get_mut(&address) {
        *count -= 1;
        if *count == 0 {
            counts.by_address.remove(&address);
        }
    }
}

impl Pass {
    /// Counts the pass against `address` (a trusted proxy's client) instead of the one it had.
    pub(crate) fn readdress(&mut self, address: IpAddr) -> Result<(), Full> {
        if self.address == Some(address) {
            return Ok(());
        }
        let mut counts = self.gate.counts();
        take_address(&mut counts, address, self.gate.per_address_cap)?;
        if let Some(old) = self.address.replace(address) {
            release_address(&mut counts, old);
        }
        Ok(())
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut counts = self.gate.counts();
        counts.total -= 1;
        if let Some(address) = self.address {
            release_address(&mut counts, address);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ip(n: u8) -> Option<IpAddr> {
        Some(IpAddr::from([192, 0, 2, n]))
    }

    #[test]
    fn each_address_and_the_total_are_capped() {
        let gate = Gate::new(5, 2);
        let a1 = gate.enter(ip(1)).unwrap();
        let _a2 = gate.enter(ip(1)).unwrap();
        assert_eq!(
            gate.enter(ip(1)).unwrap_err(),
            Full::Address(ip(1).unwrap(), 2)
        );
        let _b = gate.enter(ip(2)).unwrap();
        let _c = gate.enter(ip(3)).unwrap();
        let _unknown = gate.enter(None).unwrap();
        assert_eq!(gate.enter(ip(4)).unwrap_err(), Full::Total(5));
        assert_eq!(gate.waiting(), 5);
        // A refusal takes no place; a pass dropped frees one, for its address too.
        drop(a1);
        assert_eq!(gate.waiting(), 4);
        let _a3 = gate.enter(ip(1)).unwrap();
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let gate = Gate::new(10, 2);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let _a = gate.enter(Some(a)).unwrap();
        let _b = gate.enter(Some(b)).unwrap();
        assert!(
            gate.enter(Some("2001:db8:1:2::77".parse().unwrap()))
                .is_err()
        );
        let _other = gate.enter(Some(other)).unwrap();
    }

    #[test]
    fn a_pass_moves_to_the_forwarded_address() {
        let gate = Gate::new(10, 1);
        let mut via_proxy = gate.enter(None).unwrap();
        via_proxy.readdress(ip(7).unwrap()).unwrap();
        let mut second = gate.enter(None).unwrap();
        assert!(second.readdress(ip(7).unwrap()).is_err());
        second.readdress(ip(8).unwrap()).unwrap();
        // Moving again releases the old address.
        via_proxy.readdress(ip(9).unwrap()).unwrap();
        let _again = gate.enter(ip(7)).unwrap();
        drop((via_proxy, second));
        assert_eq!(gate.waiting(), 1);
        assert!(gate.counts().by_address.len() == 1);
    }
}
