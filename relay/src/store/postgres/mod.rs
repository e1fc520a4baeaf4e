//! The PostgreSQL store, which several relays share: its versioned schema, and the store
//! ([`Options`] say how it is used).
//!
//! # Schema (version 1, kept in `concord_schema.version`)
//! The tables of the SQLite store, for the same rows, with PostgreSQL's types:
//! - `changes(doc, rev, client, seq, author, time, ops, conflicts, group_rev)`, key
//!   `(doc, rev)`, and the partial index `changes_with_conflicts`;
//! - `snapshots(doc, rev, body)`; `clients(doc, client, seq, rev)`, key `(doc, client)`;
//! - `tokens(id, user, docs, role, exp, minted, revoked)` and `revocations(n, id, time)`;
//! - `signing_secret(id = 1, key)`: the one secret every relay of the cluster signs and checks
//!   tokens with, created once by the first;
//! - `leases(doc, node, address, epoch, expires)`: which relay owns which document.
//!
//! Migrations run in one transaction under an advisory lock, so relays that start together
//! migrate once. A database of a version this relay does not know is refused untouched.

use tokio_postgres::Client;

use super::StoreError;

mod server;
mod store;
mod write;

pub use server::{Roots, Server, SslMode, TlsSettings, settings};
pub use store::Options;
pub(crate) use store::{Postgres, pool, pool_error};

/// The schema version this module writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// What turns a database of version `n - 1` into version `n`, for each `n` from 1.
const MIGRATIONS: [(i64, &str); 1] = [(
    1,
    "
CREATE TABLE changes (
    doc TEXT NOT NULL,
    rev BIGINT NOT NULL,
    client TEXT NOT NULL,
    seq BIGINT NOT NULL,
    author TEXT NOT NULL,
    time BIGINT NOT NULL,
    ops TEXT NOT NULL,
    conflicts TEXT NOT NULL,
    group_rev BIGINT,
    PRIMARY KEY (doc, rev)
);
CREATE INDEX changes_with_conflicts ON changes (doc, rev) WHERE conflicts <> '[]';
CREATE TABLE snapshots (
    doc TEXT NOT NULL PRIMARY KEY,
    rev BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE clients (
    doc TEXT NOT NULL,
    client TEXT NOT NULL,
    seq BIGINT NOT NULL,
    rev BIGINT NOT NULL,
    PRIMARY KEY (doc, client)
);
CREATE TABLE tokens (
    n BIGSERIAL,
    id TEXT NOT NULL PRIMARY KEY,
    \"user\" TEXT NOT NULL,
    docs TEXT NOT NULL,
    role TEXT NOT NULL,
    exp BIGINT NOT NULL,
    minted BIGINT NOT NULL,
    revoked BIGINT
);
CREATE TABLE revocations (
    n BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL,
    time BIGINT NOT NULL
);
CREATE TABLE signing_secret (
    id INT PRIMARY KEY CHECK (id = 1),
    key TEXT NOT NULL
);
CREATE TABLE leases (
    doc TEXT NOT NULL PRIMARY KEY,
    node TEXT NOT NULL,
    address TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires TIMESTAMPTZ NOT NULL
);
",
)];

/// The advisory lock that migrations take, so that one relay migrates at a time.
const MIGRATION_LOCK: i64 = 0x0063_6f6e_636f_7264; // "concord" in ASCII

/// Connects to `url` (`postgres://USER@HOST:PORT/DB`, with TLS as [`Server`] reads it); the
/// connection is driven by a task on the current runtime until the client is dropped.
pub async fn connect(url: &str) -> Result<Client, StoreError> {
    Server::open(url)?.connect().await
}

/// The schema version of the database (0 for one without Concord's tables).
pub async fn version(client: &Client) -> Result<i64, StoreError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('concord_schema') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_opt("SELECT version FROM concord_schema", &[])
        .await?;
    Ok(row.map_or(0, |row| row.get(0)))
}

/// Brings the database to [`SCHEMA_VERSION`], creating the tables on first use; refuses one of
/// a newer version, untouched, with [`StoreError::Schema`].
pub async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS concord_schema \
         (id INT PRIMARY KEY DEFAULT 1 CHECK (id = 1), version BIGINT NOT NULL)",
    )
    .await?;
    let version: i64 = match tx
        .query_opt("SELECT version FROM concord_schema", &[])
        .await?
    {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO concord_schema (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    if version > SCHEMA_VERSION {
        return Err(StoreError::Schema {
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    for (to, migration) in MIGRATIONS {
        if to > version {
            tx.batch_execute(migration).await?;
            tracing::info!(from = to - 1, to, "migrated the PostgreSQL schema");
        }
    }
    tx.execute("UPDATE concord_schema SET version = $1", &[&SCHEMA_VERSION])
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A fresh database of its own on the test PostgreSQL (`CONCORD_TEST_POSTGRES`, which
/// `scripts/with-postgres.sh` sets), by its URL; `None`, after a SKIPPED line, without one.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) async fn test_database(name: &str) -> Option<String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let Ok(base) = std::env::var("CONCORD_TEST_POSTGRES") else {
        eprintln!(
            "SKIPPED: {name} on PostgreSQL needs CONCORD_TEST_POSTGRES (scripts/with-postgres.sh)"
        );
        return None;
    };
    let admin = connect(&base).await.unwrap();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let db = format!(
        "concord_{}_{}_{n}",
        name.replace('-', "_"),
        std::process::id()
    );
    // Each on its own: neither may run inside a transaction.
    for statement in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
    ] {
        admin.batch_execute(&statement).await.unwrap();
    }
    let (root, _) = base.rsplit_once('/').unwrap();
    Some(format!("{root}/{db}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    async fn fresh_database(name: &str) -> Option<(Client, String)> {
        let url = test_database(name).await?;
        Some((connect(&url).await.unwrap(), url))
    }

    #[tokio::test]
    async fn the_schema_is_made_once_even_by_relays_starting_together() {
        let Some((client, url)) = fresh_database("schema_once").await else {
            return;
        };
        assert_eq!(version(&client).await.unwrap(), 0);
        // All started before any is awaited, so that they contend for the lock.
        let racers: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move {
                    let mut client = connect(&url).await.unwrap();
                    migrate(&mut client).await
                })
            })
            .collect();
        for racer in racers {
            racer.await.unwrap().unwrap();
        }
        assert_eq!(version(&client).await.unwrap(), SCHEMA_VERSION);
        let tables: i64 = client
            .query_one(
                "SELECT count(*) FROM information_schema.tables WHERE table_name IN \
                 ('changes', 'snapshots', 'clients', 'tokens', 'revocations', 'signing_secret', 'leases')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(tables, 7);
    }

    #[tokio::test]
    async fn a_newer_schema_is_refused_untouched() {
        let Some((mut client, _)) = fresh_database("schema_newer").await else {
            return;
        };
        client
            .batch_execute(
                "CREATE TABLE concord_schema (id INT PRIMARY KEY DEFAULT 1, version BIGINT NOT NULL); \
                 INSERT INTO concord_schema (version) VALUES (99); CREATE TABLE changes (x INT)",
            )
            .await
            .unwrap();
        let error = migrate(&mut client).await.unwrap_err();
        assert!(
            matches!(
                error,
                StoreError::Schema {
                    found: 99,
                    known: SCHEMA_VERSION
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("newer"), "{error}");
        // Nothing was changed.
        assert_eq!(version(&client).await.unwrap(), 99);
        let columns: i64 = client
            .query_one(
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'changes'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(columns, 1);
    }
}
