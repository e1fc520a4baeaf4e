//! Counters the relay keeps about itself, served at `GET /metrics` (Prometheus text format) and
//! logged periodically.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// The relay's counters; shared by every task.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open websocket connections from clients (a client forwarded to another relay counts
    /// here, where its socket is, and not at the owner: summed over relays, this is clients).
    pub connections: AtomicU64,
    /// Open websocket connections that other relays of the cluster forwarded here.
    pub connections_from_relays: AtomicU64,
    /// Documents loaded.
    pub documents: AtomicU64,
    /// Changes applied and stored since start.
    pub changes: AtomicU64,
    /// Submits rejected since start.
    pub rejects: AtomicU64,
    /// Clients dropped because their outbound queue was full.
    pub queue_drops: AtomicU64,
    /// Connections refused at the connection cap.
    pub refused: AtomicU64,
    /// Connections refused at the cap of those that have not said hello (in total or from
    /// one address).
    pub refused_unauthenticated: AtomicU64,
    /// Transactions committed (each holds one or more changes).
    pub commits: AtomicU64,
    /// Bad messages answered with an error.
    pub errors: AtomicU64,
    /// Documents whose lease this relay holds (in a cluster).
    pub leases_held: AtomicU64,
    /// Connections forwarded to the relay that owns their document (in a cluster), now.
    pub forwarded_connections: AtomicU64,
    /// Leases taken, given back or lost since start (in a cluster).
    pub lease_changes: AtomicU64,
}

/// Adds one to a counter.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Subtracts one from a gauge.
pub fn drop_one(gauge: &AtomicU64) {
    gauge.fetch_sub(1, Ordering::Relaxed);
}

impl Metrics {
    /// The counters in Prometheus text exposition format.
    pub fn render(&self) -> String {
        let rows: [(&str, &str, &str, &AtomicU64); 13] = [
            (
                "concord_connections",
                "gauge",
                "open websocket connections from clients",
                &self.connections,
            ),
            (
                "concord_connections_from_relays",
                "gauge",
                "open websocket connections other relays forwarded here",
                &self.connections_from_relays,
            ),
            (
                "concord_documents",
                "gauge",
                "documents loaded",
                &self.documents,
            ),
            (
                "concord_changes_total",
                "counter",
                "changes applied and stored",
                &self.changes,
            ),
            (
                "concord_rejects_total",
                "counter",
                "submitted changes rejected",
                &self.rejects,
            ),
            (
                "concord_queue_drops_total",
                "counter",
                "clients dropped for a full outbound queue",
                &self.queue_drops,
            ),
            (
                "concord_refused_total",
                "counter",
                "connections refused at the cap",
                &self.refused,
            ),
            (
                "concord_refused_unauthenticated_total",
                "counter",
                "connections refused at the cap of those that have not said hello",
                &self.refused_unauthenticated,
            ),
            (
                "concord_commits_total",
                "counter",
                "storage transactions committed",
                &self.commits,
            ),
            (
                "concord_errors_total",
                "counter",
                "bad messages answered with an error",
                &self.errors,
            ),
            (
                "concord_leases_held",
                "gauge",
                "documents whose lease this relay holds",
                &self.leases_held,
            ),
            (
                "concord_forwarded_connections",
                "gauge",
                "connections forwarded to the relay that owns their document",
                &self.forwarded_connections,
            ),
            (
                "concord_lease_changes_total",
                "counter",
                "leases taken, given back or lost",
                &self.lease_changes,
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in rows {
            let value = value.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }

    /// The value of a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
