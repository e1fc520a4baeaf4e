//! Several relays on one PostgreSQL store: one owner per document, by a lease with a fencing
//! epoch.
//!
//! A relay that gets a client for a document takes the document's lease in the `leases` table
//! (its node id, the address other relays reach it at, an epoch, an expiry) if nobody holds
//! it or the holder's lease has run out; every takeover adds one to the epoch. While it holds
//! leases it renews them all every third of the lease time. Every batch it commits names its
//! lease ([`Fence`]) and the store writes it only while that lease is the document's current
//! one and unexpired, holding a share lock on the lease row meanwhile; so a relay that paused
//! or was cut off past its lease can never write again, whatever it believes, and a takeover
//! waits for commits under the old epoch to end before the new owner loads the document.
//!
//! A relay that finds a lease gone (renewal found it taken, or failed for a whole lease time,
//! or a commit was fenced) stops serving that document at once ([`Held::lost`]) and closes
//! its clients with `owner_changed`; they reconnect and reach the new owner. Its other
//! documents are unaffected. A document unloaded for idleness gives its lease back, and a
//! relay stopping gives all of them back, so a rolling restart moves documents without waiting
//! for leases to run out. Given back means expired, never deleted: the epoch only grows.
//!
//! Every time is PostgreSQL's (`clock_timestamp()`), so relays' clocks need not agree.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::{Metrics, bump, drop_one};
use crate::store::postgres::pool_error;
use crate::store::{Fence, StoreError};

pub(crate) mod forward;
pub mod vouch;

/// A lease this relay holds.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    /// Its epoch.
    pub(crate) epoch: u64,
    /// Cancelled when the lease is lost or given back: the room stops serving the document.
    pub(crate) lost: CancellationToken,
    /// When it was taken.
    since: tokio::time::Instant,
    /// Whether a room took it ([`Cluster::serve`]). One that no room takes within a lease
    /// time (its client left between the claim and the room) is given back at a renewal.
    served: Arc<AtomicBool>,
}

/// Who owns a document.
#[derive(Debug, Clone)]
pub(crate) enum Owner {
    /// This relay, which holds the lease (see [`Cluster::holding`]).
    Here,
    /// Another relay, reached at this address, whose lease has not run out.
    There {
        /// The other relay's node id.
        node: String,
        /// Its `--node-url`.
        address: String,
    },
}

/// This relay's part in a cluster.
pub(crate) struct Cluster {
    pool: Pool,
    /// This process's id among the relays: new at every start, so that a restarted relay
    /// never mistakes a lease of its former self for its own.
    node: String,
    /// Where other relays reach this one.
    address: String,
    /// The TLS client other relays' `wss://` addresses are reached with.
    node_tls: Arc<rustls::ClientConfig>,
    lease: Duration,
    held: Mutex<HashMap<String, Held>>,
    /// One claim at a time per document: two of this relay's connections claiming it at once
    /// must not both take it (the second would raise the epoch under the first's room).
    claiming: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Claims in flight. Each runs as a task of its own, so that a caller that gives up (its
    /// client gone, the relay stopping) never leaves a lease taken in PostgreSQL but not
    /// recorded here, where renewals and [`Cluster::release_all`] would miss it.
    claims: TaskTracker,
    /// Set when the relay gives its leases back: no claim takes one after that.
    stopping: AtomicBool,
    metrics: Arc<Metrics>,
    /// Whether the last renewal (or check) reached PostgreSQL.
    reachable: AtomicBool,
    /// The vouches for forwarded clients already believed.
    pub(crate) nonces: vouch::Nonces,
}

impl Cluster {
    /// A relay of the cluster on `pool`, reached at `address`, reaching the others with
    /// `node_tls`, holding leases for `lease`.
    pub(crate) fn new(
        pool: Pool,
        (address, node_tls): (String, Arc<rustls::ClientConfig>),
        lease: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Cluster>, StoreError> {
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let node: String = id.iter().map(|byte| format!("{byte:02x}")).collect();
        tracing::info!(
            node,
            address,
            lease_ms = lease.as_millis(),
            "joining the cluster"
        );
        Ok(Arc::new(Cluster {
            pool,
            node,
            address,
            node_tls,
            lease,
            held: Mutex::new(HashMap::new()),
            claiming: Mutex::new(HashMap::new()),
            claims: TaskTracker::new(),
            stopping: AtomicBool::new(false),
            metrics,
            reachable: AtomicBool::new(true),
            nonces: vouch::Nonces::default(),
        }))
    }

    /// This relay's node id.
    pub(crate) fn node(&self) -> &str {
        &self.node
    }

    /// The TLS client for other relays' `wss://` addresses.
    pub(crate) fn node_tls(&self) -> &Arc<rustls::ClientConfig> {
        &self.node_tls
    }

    /// The lease time.
    pub(crate) fn lease(&self) -> Duration {
        self.lease
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lease this relay holds on `doc`, if it holds one that is not being given back.
    pub(crate) fn holding(&self, doc: &str) -> Option<Held> {
        self.held()
            .get(doc)
            .filter(|held| !held.lost.is_cancelled())
            .cloned()
    }

    /// The lease this relay holds on `doc`, for a room that serves the document under it.
    pub(crate) fn serve(&self, doc: &str) -> Option<Held> {
        // Under the map's lock, so that giving back unserved leases sees it or takes it first.
        let map = self.held();
        let held = map.get(doc).filter(|held| !held.lost.is_cancelled())?;
        held.served.store(true, Ordering::Relaxed);
        Some(held.clone())
    }

    /// Gives back the leases no room took within a lease time of their claim: their clients
    /// left before the room started, and nobody would give them back otherwise.
    async fn give_back_unserved(&self) {
        let unserved: Vec<(String, Held)> = {
            let mut map = self.held();
            let docs: Vec<String> = map
                .iter()
                .filter(|(_, held)| {
                    !held.served.load(Ordering::Relaxed) && held.since.elapsed() >= self.lease
                })
                .map(|(doc, _)| doc.clone())
                .collect();
            docs.into_iter()
                .filter_map(|doc| map.remove(&doc).map(|held| (doc, held)))
                .collect()
        };
        if unserved.is_empty() {
            return;
        }
        tracing::info!(
            leases = unserved.len(),
            "leases no room took are given back"
        );
        self.expire(unserved).await;
    }

    /// What a commit under `held` names.
    pub(crate) fn fence(&self, held: &Held) -> Fence {
        Fence {
            node: self.node.clone(),
            epoch: held.epoch,
        }
    }

    /// Takes the lease of `doc` when nobody holds it, its holder's lease ran out, or it was
    /// this relay's own; else says who holds it. The claim goes on to its end even if the
    /// caller stops waiting for it.
    pub(crate) async fn claim(self: &Arc<Self>, doc: &str) -> Result<Owner, StoreError> {
        if self.holding(doc).is_some() {
            return Ok(Owner::Here);
        }
        let (this, doc) = (Arc::clone(self), doc.to_owned());
        self.claims
            .spawn(async move { this.claim_in_turn(&doc).await })
            .await
            .map_err(|e| StoreError::Unavailable(format!("a lease claim failed: {e}")))?
    }

    /// [`Cluster::claim`], one claim at a time for each document.
    async fn claim_in_turn(&self, doc: &str) -> Result<Owner, StoreError> {
        let turn = Arc::clone(
            self.claiming
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(doc.to_owned())
                .or_default(),
        );
        let claimed = {
            let _turn = turn.lock().await;
            // Another connection of this relay may have taken it while this one waited.
            if self.holding(doc).is_some() {
                Ok(Owner::Here)
            } else if self.is_stopping() {
                // Not even a question to PostgreSQL: the relay waits for claims in flight.
                Err(stopping())
            } else {
                self.claim_now(doc).await
            }
        };
        let mut claiming = self.claiming.lock().unwrap_or_else(PoisonError::into_inner);
        // Nobody else waits on it (the map and this function hold the only two).
        if Arc::strong_count(&turn) == 2 {
            claiming.remove(doc);
        }
        claimed
    }

    /// Whether the relay is giving its leases back (and takes no more).
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// [`Cluster::claim`], asking PostgreSQL.
    async fn claim_now(&self, doc: &str) -> Result<Owner, StoreError> {
        let ms = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        let client = self.pool.get().await.map_err(pool_error)?;
        // Another relay's live lease is only read: taking it for update, as the upsert does
        // even when it changes nothing, would wait behind that relay's commits and hold them up.
        let current = client
            .query_opt(
                "SELECT node, address FROM leases
                 WHERE doc = $1 AND expires > clock_timestamp() AND node <> $2",
                &[&doc, &self.node],
            )
            .await?;
        if let Some(row) = current {
            return Ok(Owner::There {
                node: row.try_get(0)?,
                address: row.try_get(1)?,
            });
        }
        // Checked again after [`Cluster::release_all`] set it and before it waits for claims
        // in flight: a lease taken from here on is in the map before the leases are given back.
        if self.is_stopping() {
            return Err(stopping());
        }
        let taken = client
            .query_opt(
                "INSERT INTO leases (doc, node, address, epoch, expires)
                 VALUES ($1, $2, $3, 1, clock_timestamp() + make_interval(secs => $4::BIGINT / 1000.0))
                 ON CONFLICT (doc) DO UPDATE
                 SET node = excluded.node, address = excluded.address,
                     epoch = leases.epoch + 1, expires = excluded.expires
                 WHERE leases.expires <= clock_timestamp() OR leases.node = excluded.node
                 RETURNING epoch",
                &[&doc, &self.node, &self.address, &ms],
            )
            .await?;
        if let Some(row) = taken {
            let epoch: i64 = row.try_get(0)?;
            let held = Held {
                epoch: u64::try_from(epoch).unwrap_or(0),
                lost: CancellationToken::new(),
                since: tokio::time::Instant::now(),
                served: Arc::new(AtomicBool::new(false)),
            };
            // Another task of this relay may have taken it meanwhile: the newer epoch wins,
            // and the older one's room (if any) stops.
            let replaced = self.held().insert(doc.to_owned(), held);
            match replaced {
                Some(old) => old.lost.cancel(),
                None => bump(&self.metrics.leases_held),
            }
            bump(&self.metrics.lease_changes);
            tracing::info!(doc, epoch, "lease taken");
            return Ok(Owner::Here);
        }
        let row = client
            .query_opt("SELECT node, address FROM leases WHERE doc = $1", &[&doc])
            .await?;
        match row {
            Some(row) => Ok(Owner::There {
                node: row.try_get(0)?,
                address: row.try_get(1)?,
            }),
            // Given back between the two statements: ask again.
            None => Box::pin(self.claim_now(doc)).await,
        }
    }

    /// Stops serving `doc` under `held`: the lease is gone (or given back).
    pub(crate) fn lose(&self, doc: &str, held: &Held) {
        let mut map = self.held();
        if map.get(doc).is_some_and(|h| h.epoch == held.epoch) {
            map.remove(doc);
            drop(map);
            drop_one(&self.metrics.leases_held);
            bump(&self.metrics.lease_changes);
            tracing::warn!(
                doc,
                epoch = held.epoch,
                "lease lost: the document is no longer served here"
            );
        }
        held.lost.cancel();
    }

    /// Gives the lease of `doc` back (expires it now), so another relay can take it at once.
    pub(crate) async fn release(&self, doc: &str, held: &Held) {
        // Cancelled first, so that a room starting meanwhile does not take it for a live one.
        held.lost.cancel();
        let mine = {
            let mut map = self.held();
            match map.get(doc) {
                Some(h) if h.epoch == held.epoch => map.remove(doc),
                // Lost already, or taken again under a newer epoch: nothing of it to give.
                _ => None,
            }
        };
        if let Some(mine) = mine {
            self.expire(vec![(doc.to_owned(), mine)]).await;
        }
    }

    /// Gives every lease back, in one statement: the relay is stopping, and its rooms have
    /// stored what they had. Claims still in flight end first; none starts after.
    pub(crate) async fn release_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.claims.close();
        self.claims.wait().await;
        let all: Vec<(String, Held)> = self.held().drain().collect();
        self.expire(all).await;
    }

    /// Expires `leases`, already out of the map, in one statement, so that other relays can
    /// take their documents at once; their rooms stop.
    async fn expire(&self, leases: Vec<(String, Held)>) {
        let (docs, epochs): (Vec<String>, Vec<i64>) = leases
            .iter()
            .map(|(doc, held)| {
                drop_one(&self.metrics.leases_held);
                bump(&self.metrics.lease_changes);
                held.lost.cancel();
                (doc.clone(), i64::try_from(held.epoch).unwrap_or(i64::MAX))
            })
            .unzip();
        if docs.is_empty() {
            return;
        }
        let released = async {
            let client = self.pool.get().await.map_err(pool_error)?;
            client
                .execute(
                    "UPDATE leases AS l SET expires = clock_timestamp()
                     FROM UNNEST($2::TEXT[], $3::BIGINT[]) AS h(doc, epoch)
                     WHERE l.doc = h.doc AND l.epoch = h.epoch AND l.node = $1",
                    &[&self.node, &docs, &epochs],
                )
                .await?;
            Ok::<_, StoreError>(())
        };
        match released.await {
            Ok(()) => tracing::info!(leases = docs.len(), "leases given back"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot give the leases back; they run out by themselves");
            }
        }
    }

    /// Renews every lease held, every third of the lease time, until `shutdown`. A lease that
    /// is not renewed (taken over) is lost at once; if no renewal succeeds for a whole lease
    /// time, every lease is lost, since others may have taken them.
    pub(crate) async fn renew_until(self: Arc<Cluster>, shutdown: CancellationToken) {
        let every = self.lease / 3;
        let mut last_renewed = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = shutdown.cancelled() => return,
            }
            let started = tokio::time::Instant::now();
            // A round slower than its period counts as failed: leases may be running out.
            let round = tokio::time::timeout(every, self.renew()).await;
            match round
                .unwrap_or_else(|_| Err(StoreError::Unavailable("renewal timed out".to_owned())))
            {
                Ok(()) => {
                    last_renewed = started;
                    self.reachable.store(true, Ordering::Relaxed);
                    // Bounded as a renewal is, so that it never delays the next one.
                    let _ = tokio::time::timeout(every, self.give_back_unserved()).await;
                }
                Err(e) => {
                    self.reachable.store(false, Ordering::Relaxed);
                    tracing::warn!(error = %e, "cannot renew leases");
                    if last_renewed.elapsed() >= self.lease {
                        let all: Vec<(String, Held)> = self
                            .held()
                            .iter()
                            .map(|(doc, held)| (doc.clone(), held.clone()))
                            .collect();
                        for (doc, held) in all {
                            self.lose(&doc, &held);
                        }
                    }
                }
            }
        }
    }

    /// One round of renewal.
    async fn renew(&self) -> Result<(), StoreError> {
        let (docs, epochs): (Vec<String>, Vec<i64>) = self
            .held()
            .iter()
            .map(|(doc, held)| (doc.clone(), i64::try_from(held.epoch).unwrap_or(i64::MAX)))
            .unzip();
        let ms = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        let client = self.pool.get().await.map_err(pool_error)?;
        if docs.is_empty() {
            client.execute("SELECT 1", &[]).await?;
            return Ok(());
        }
        // The rows are locked in the order of their documents, as the store's commits lock
        // them, so the two never deadlock.
        let rows = client
            .query(
                "WITH mine AS (
                     SELECT l.doc FROM leases AS l
                     JOIN UNNEST($2::TEXT[], $3::BIGINT[]) AS h(doc, epoch)
                       ON l.doc = h.doc AND l.epoch = h.epoch
                     WHERE l.node = $1 AND l.expires > clock_timestamp()
                     ORDER BY l.doc
                     FOR UPDATE OF l
                 )
                 UPDATE leases AS l
                 SET expires = clock_timestamp() + make_interval(secs => $4::BIGINT / 1000.0)
                 FROM mine WHERE l.doc = mine.doc
                 RETURNING l.doc",
                &[&self.node, &docs, &epochs, &ms],
            )
            .await?;
        let renewed: std::collections::HashSet<String> =
            rows.iter().filter_map(|row| row.try_get(0).ok()).collect();
        for (doc, epoch) in docs.iter().zip(&epochs) {
            if renewed.contains(doc) {
                continue;
            }
            // The lease asked about, unless it was taken again meanwhile.
            let held = self
                .holding(doc)
                .filter(|held| i64::try_from(held.epoch).ok() == Some(*epoch));
            if let Some(held) = held {
                self.lose(doc, &held);
            }
        }
        Ok(())
    }

    /// Whether PostgreSQL answered the last renewal (or, holding no lease, the last check),
    /// made every third of a lease: what `/healthz` says, without a query per request.
    pub(crate) fn healthy(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }
}

/// Why a stopping relay takes no lease.
fn stopping() -> StoreError {
    StoreError::Unavailable("the relay is stopping and takes no lease".to_owned())
}

#[cfg(test)]
mod tests;
