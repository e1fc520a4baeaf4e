//! Where the retained changes wrote, so that rebasing a one-operation change visits only the
//! changes that can affect it instead of every change since its base.
//!
//! Rebasing `x` over `y` leaves `x` as it is unless `y` *touches* one of `x`'s locations `q`
//! (see `rebase::touches`): a path or `from` of `y` is `q` or above it, or `y` inserts into or
//! removes from an array that `q` passes through. So each logged operation is filed under
//!
//! - its location itself ([`Kind::At`]), found from every location at or below it,
//! - when it is an array item, the array ([`Kind::Within`]), found from every location strictly
//!   below the array, and
//! - every location strictly above its path ([`Kind::Below`]), found from that location: an `x`
//!   that replaces or removes a value overwrites what others wrote inside it;
//!
//! and the changes that can affect `x` are those filed under a prefix of one of its locations,
//! or below its path.
//! Keys are hashes of those prefixes; a collision only adds a candidate, which rebasing then
//! finds independent, so the result is exactly that of visiting every change.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;

use foldhash::fast::FixedState;

use crate::op::Operation;
use crate::pointer::Token;
use crate::rebase::Placed;

/// How a logged location relates to the locations that look it up.
#[derive(Clone, Copy)]
enum Kind {
    /// The location was written: it affects itself and everything below it.
    At,
    /// An item of this array was inserted, removed or moved: it shifts everything below it.
    Within,
    /// Something strictly below this location was written.
    Below,
}

/// The revisions whose operations touch each location, oldest first.
#[derive(Default)]
pub(super) struct WriteIndex {
    revs: HashMap<u64, VecDeque<u64>, foldhash::fast::RandomState>,
}

impl WriteIndex {
    /// Files the operations of the change at `rev` (newer than everything filed).
    pub(super) fn insert(&mut self, rev: u64, placed: &[Placed]) {
        for_each_key(placed, |key| {
            let revs = self.revs.entry(key).or_default();
            if revs.back() != Some(&rev) {
                revs.push_back(rev);
            }
        });
    }

    /// Forgets the change at `rev`, the oldest filed.
    pub(super) fn remove_oldest(&mut self, rev: u64, placed: &[Placed]) {
        for_each_key(placed, |key| {
            if let Some(revs) = self.revs.get_mut(&key) {
                if revs.front() == Some(&rev) {
                    revs.pop_front();
                }
                if revs.is_empty() {
                    self.revs.remove(&key);
                }
            }
        });
    }

    /// The first revision at or after `from` whose change may touch a location of `pieces`.
    pub(super) fn next(&self, pieces: &[Placed], from: u64) -> Option<u64> {
        let mut first: Option<u64> = None;
        let mut consider = |key: u64| {
            if let Some(revs) = self.revs.get(&key) {
                let at = revs.partition_point(|&r| r < from);
                if let Some(&rev) = revs.get(at) {
                    first = Some(first.map_or(rev, |f| f.min(rev)));
                }
            }
        };
        for piece in pieces {
            let piece = &piece.op;
            for location in [Some(piece.path()), piece.from()].into_iter().flatten() {
                let tokens = location.tokens();
                let mut prefix = ROOT;
                for token in tokens {
                    consider(key(prefix, Kind::At));
                    consider(key(prefix, Kind::Within));
                    prefix = extend(prefix, token);
                }
                consider(key(prefix, Kind::At));
            }
            consider(key(hash_of(piece.path().tokens()), Kind::Below));
        }
        first
    }

    /// How many locations are filed (for tests and diagnostics).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.revs.len()
    }
}

/// The hash of the root location.
const ROOT: u64 = 0x9e37_79b9_7f4a_7c15;

fn extend(prefix: u64, token: &Token) -> u64 {
    FixedState::with_seed(prefix).hash_one(token.as_str())
}

fn key(prefix: u64, kind: Kind) -> u64 {
    match kind {
        Kind::At => prefix,
        Kind::Within => prefix.rotate_left(17) ^ 0x5bd1_e995,
        Kind::Below => prefix.rotate_left(31) ^ 0x2545_f491_4f6c_dd1d,
    }
}

fn hash_of(tokens: &[Token]) -> u64 {
    tokens.iter().fold(ROOT, extend)
}

/// Calls `f` with every key the operations are filed under.
fn for_each_key(placed: &[Placed], mut f: impl FnMut(u64)) {
    for p in placed {
        let locations = [
            Some((p.op.path(), p.shape.path_in_array)),
            p.op.from().map(|from| (from, p.shape.from_in_array)),
        ];
        for (location, in_array) in locations.into_iter().flatten() {
            let tokens = location.tokens();
            f(key(hash_of(tokens), Kind::At));
            if in_array && let Some((_, parent)) = tokens.split_last() {
                f(key(hash_of(parent), Kind::Within));
            }
        }
        // Every strict ancestor of what it wrote (a removal loses nothing of anyone's).
        if !matches!(p.op, Operation::Remove { .. } | Operation::Test { .. }) {
            let tokens = p.op.path().tokens();
            let mut prefix = ROOT;
            for token in tokens.iter().take(tokens.len().saturating_sub(1)) {
                f(key(prefix, Kind::Below));
                prefix = extend(prefix, token);
            }
            if !tokens.is_empty() {
                f(key(prefix, Kind::Below));
            }
        }
    }
}
