//! The header a relay vouches for a forwarded client with, and the record of the vouches
//! already used.
//!
//! The relay a client reached tells the owner who the client is (its address, whether it was
//! let in without a token) in the header [`HEADER`]: that, the time, a random nonce, the relay
//! it is meant for (its node id) and the document, then a tag made with the signing secret all
//! relays of the cluster share. The owner believes a vouch whose tag verifies, made within
//! [`VOUCH_SECONDS`], for itself, used for that document's `hello`, and seen for the first time
//! ([`Nonces`]); so a vouch read off the relays' network cannot be used again, nor for another
//! relay or document.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The header a relay vouches for a forwarded client with.
pub const HEADER: &str = "concord-forwarded";

/// How long a vouch stays good: relays' clocks need only agree this well.
pub const VOUCH_SECONDS: u64 = 60;

/// What the first relay says of a forwarded client, and for which relay and document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vouch {
    /// The client's address.
    pub client: IpAddr,
    /// Whether the first relay let it in without a token.
    pub anonymous: bool,
    /// When it was made (Unix seconds).
    pub at: u64,
    /// Random, hex: each vouch is believed once.
    pub nonce: String,
    /// The node id of the relay it is meant for (the document's owner).
    pub node: String,
    /// The document the client asked for.
    pub doc: String,
}

impl Vouch {
    /// A vouch with a fresh nonce; `None` if the system has no randomness to give.
    pub fn new(
        (client, anonymous): (IpAddr, bool),
        (node, doc): (&str, &str),
        at: u64,
    ) -> Option<Vouch> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).ok()?;
        Some(Vouch {
            client,
            anonymous,
            at,
            nonce: nonce.iter().map(|byte| format!("{byte:02x}")).collect(),
            node: node.to_owned(),
            doc: doc.to_owned(),
        })
    }

    /// What the tag is made over (and the header's value, less the tag): visible ASCII, the
    /// document percent-encoded.
    pub fn text(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.client,
            u8::from(self.anonymous),
            self.at,
            self.nonce,
            self.node,
            utf8_percent_encode(&self.doc, NON_ALPHANUMERIC)
        )
    }

    /// The header's value, given the tag maker (the shared secret's).
    pub fn header(&self, tag: impl FnOnce(&str) -> Option<String>) -> Option<String> {
        let text = self.text();
        let tag = tag(&text)?;
        Some(format!("{text} {tag}"))
    }

    /// A header's value read: the vouch, if `verifies(text, tag)` and it was made within
    /// [`VOUCH_SECONDS`] of `now`. Whether it is meant for this relay and document, and seen
    /// for the first time, is for the caller to check.
    pub fn read(value: &str, verifies: impl FnOnce(&str, &str) -> bool, now: u64) -> Option<Vouch> {
        let (text, tag) = value.trim().rsplit_once(' ')?;
        if !verifies(text, tag) {
            return None;
        }
        let mut parts = text.split(' ');
        let client: IpAddr = parts.next()?.parse().ok()?;
        let anonymous = match parts.next()? {
            "1" => true,
            "0" => false,
            _ => return None,
        };
        let at: u64 = parts.next()?.parse().ok()?;
        let nonce = parts.next().filter(|n| !n.is_empty())?.to_owned();
        let node = parts.next().filter(|n| !n.is_empty())?.to_owned();
        let doc = percent_decode_str(parts.next()?)
            .decode_utf8()
            .ok()?
            .into_owned();
        (parts.next().is_none() && now.abs_diff(at) <= VOUCH_SECONDS).then(|| Vouch {
            client: client.to_canonical(),
            anonymous,
            at,
            nonce,
            node,
            doc,
        })
    }
}

/// The nonces of the vouches a relay believed in the last [`VOUCH_SECONDS`] (and a little
/// more), so that none is believed twice. Only vouches whose tag verified are recorded, so
/// only relays of the cluster can add to it.
#[derive(Debug, Default)]
pub struct Nonces {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// Nonce → the time after which a vouch carrying it is too old anyway.
    until: HashMap<String, u64>,
    /// The size at which expired nonces are next swept out.
    sweep_at: usize,
}

impl Nonces {
    /// Records the nonce of `vouch`; false if it was already recorded (a vouch used again).
    pub fn first_use(&self, vouch: &Vouch, now: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.until.len() >= seen.sweep_at {
            seen.until.retain(|_, until| *until >= now);
            seen.sweep_at = (seen.until.len() * 2).max(1024);
        }
        let until = vouch.at.saturating_add(VOUCH_SECONDS + 1);
        seen.until.insert(vouch.nonce.clone(), until).is_none()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn tag(text: &str) -> Option<String> {
        Some(format!("t{}", text.len()))
    }

    fn verifies(text: &str, tag: &str) -> bool {
        tag == format!("t{}", text.len())
    }

    #[test]
    fn a_vouch_reads_back_as_it_was_made_whatever_the_document_is_called() {
        for doc in ["plan", "team plan/2026 ü", "100% done", ""] {
            let vouch =
                Vouch::new(("::ffff:10.0.0.9".parse().unwrap(), true), ("n1", doc), NOW).unwrap();
            let header = vouch.header(tag).unwrap();
            assert!(
                header.bytes().all(|b| b.is_ascii_graphic() || b == b' '),
                "{header}"
            );
            let read = Vouch::read(&header, verifies, NOW + 5).unwrap();
            // The address as IPv4, as the relay sees a client's.
            assert_eq!(read.client, "10.0.0.9".parse::<IpAddr>().unwrap());
            assert_eq!(
                (
                    read.anonymous,
                    read.nonce,
                    read.node.as_str(),
                    read.doc.as_str()
                ),
                (true, vouch.nonce, "n1", doc)
            );
        }
        let (a, b) = (
            Vouch::new(("10.0.0.9".parse().unwrap(), false), ("n", "d"), NOW).unwrap(),
            Vouch::new(("10.0.0.9".parse().unwrap(), false), ("n", "d"), NOW).unwrap(),
        );
        assert_ne!(a.nonce, b.nonce);
    }

    #[test]
    fn a_vouch_is_not_believed_untagged_stale_or_malformed() {
        let vouch = Vouch::new(("10.0.0.9".parse().unwrap(), true), ("n1", "d"), NOW).unwrap();
        let header = vouch.header(tag).unwrap();
        assert!(Vouch::read(&header, |_, _| false, NOW).is_none());
        assert!(Vouch::read(&header, verifies, NOW + VOUCH_SECONDS + 1).is_none());
        assert!(Vouch::read(&header, verifies, NOW - VOUCH_SECONDS - 1).is_none());
        for text in [
            "10.0.0.9 1 1800000000",
            "10.0.0.9 2 1800000000 ab n1 d",
            "host 1 1800000000 ab n1 d",
            "10.0.0.9 1 1800000000 ab n1 d extra",
            "10.0.0.9 1 1800000000 ab n1 %FF",
        ] {
            let header = format!("{text} {}", tag(text).unwrap());
            assert!(Vouch::read(&header, verifies, NOW).is_none(), "{text}");
        }
    }

    #[test]
    fn each_vouch_is_believed_once_and_old_nonces_are_swept_out() {
        let nonces = Nonces::default();
        let vouch = Vouch::new(("10.0.0.9".parse().unwrap(), true), ("n1", "d"), NOW).unwrap();
        assert!(nonces.first_use(&vouch, NOW));
        assert!(!nonces.first_use(&vouch, NOW + 1));
        for i in 0..3000 {
            let other =
                Vouch::new(("10.0.0.9".parse().unwrap(), true), ("n1", "d"), NOW + i).unwrap();
            assert!(nonces.first_use(&other, NOW + i));
        }
        // Only the last minute's (and the sweep's slack) are kept.
        let kept = nonces.seen.lock().unwrap().until.len();
        assert!(kept <= 1024, "{kept}");
    }
}
