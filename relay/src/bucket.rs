//! A connection's budget of operations: a token bucket.

use tokio::time::Instant;

/// What a `history` or `snapshot` request costs in a connection's budget of operations: it
/// may read and replay the document's log from storage, so a client cannot ask without end.
pub(crate) const READ_COST: usize = 20;

/// A token bucket over operations: `rate` a second on average, `burst` above it. A change
/// larger than the burst passes when the bucket is full (and empties it below zero), so no
/// change is too large to ever pass.
pub(crate) struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    pub(crate) fn new(rate: u32, burst: u32) -> Bucket {
        let burst = f64::from(burst.max(1));
        Bucket {
            tokens: burst,
            rate: f64::from(rate.max(1)),
            burst,
            last: Instant::now(),
        }
    }

    /// Takes `n` operations' worth, if the connection may submit them now.
    pub(crate) fn take(&mut self, n: usize) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        let n = n.max(1) as f64;
        if self.tokens >= n.min(self.burst) {
            self.tokens -= n;
            true
        } else {
            false
        }
    }
}
