//! Relays sharing one PostgreSQL store: a database of their own for each test, and relay
//! processes on it.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;

use crate::RelayProcess;

/// A fresh database on the test PostgreSQL (`CONCORD_TEST_POSTGRES`, which
/// `scripts/with-postgres.sh` sets), by its URL; `None`, after a SKIPPED line, without one.
pub async fn database(name: &str) -> anyhow::Result<Option<String>> {
    static N: AtomicU64 = AtomicU64::new(0);
    let Ok(base) = std::env::var("CONCORD_TEST_POSTGRES") else {
        eprintln!(
            "SKIPPED: {name} needs PostgreSQL (CONCORD_TEST_POSTGRES; scripts/with-postgres.sh)"
        );
        return Ok(None);
    };
    let admin = relay::store::postgres::connect(&base).await?;
    let db = format!(
        "concord_e2e_{name}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    // Each on its own: neither may run inside a transaction.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await?;
    let (root, _) = base
        .rsplit_once('/')
        .context("CONCORD_TEST_POSTGRES has no database")?;
    Ok(Some(format!("{root}/{db}")))
}

/// `store` as a relay on another machine would reach it, when the test PostgreSQL serves TLS
/// (`CONCORD_TEST_POSTGRES_TLS`): by the name in the server's certificate, checked against the
/// test authority (`sslmode=verify-full`). Without TLS, `store` as it is.
pub fn over_tls(store: &str) -> String {
    match std::env::var("CONCORD_TEST_POSTGRES_TLS") {
        Ok(dir) => format!(
            "{}?sslmode=verify-full&sslrootcert={}",
            store.replacen("@127.0.0.1:", "@localhost:", 1),
            Path::new(&dir).join("ca.pem").display()
        ),
        Err(_) => store.to_owned(),
    }
}

/// How many of the relays' connections to `store`'s database are open, and how many of them
/// are encrypted, as PostgreSQL sees them.
pub async fn relay_sessions(store: &str) -> anyhow::Result<(i64, i64)> {
    let client = relay::store::postgres::connect(store).await?;
    let row = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a \
             JOIN pg_stat_ssl s USING (pid) \
             WHERE a.application_name = 'concord-relay' AND a.datname = current_database()",
            &[],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// A relay of the cluster on `store` (a `postgres://` URL) with a lease of `lease_ms`.
pub async fn node(
    binary: &Path,
    data_dir: &Path,
    store: &str,
    lease_ms: u64,
) -> anyhow::Result<RelayProcess> {
    let lease = lease_ms.to_string();
    RelayProcess::start_with(binary, data_dir, &options(store, &lease)).await
}

/// The same, again on `addr` (a node restarting where it listened).
pub async fn node_at(
    binary: &Path,
    data_dir: &Path,
    store: &str,
    lease_ms: u64,
    addr: std::net::SocketAddr,
) -> anyhow::Result<RelayProcess> {
    let lease = lease_ms.to_string();
    RelayProcess::start_at(binary, data_dir, addr, &options(store, &lease)).await
}

fn options<'a>(store: &'a str, lease: &'a str) -> [&'a std::ffi::OsStr; 4] {
    [
        "--store".as_ref(),
        store.as_ref(),
        "--lease-ms".as_ref(),
        lease.as_ref(),
    ]
}

/// The address of the relay that holds `doc`'s lease now, if one does.
pub async fn owner(store: &str, doc: &str) -> anyhow::Result<Option<String>> {
    let client = relay::store::postgres::connect(store).await?;
    let row = client
        .query_opt(
            "SELECT address FROM leases WHERE doc = $1 AND expires > clock_timestamp()",
            &[&doc],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

/// The value of the metric `name` in a `/metrics` page.
pub fn metric(page: &str, name: &str) -> Option<u64> {
    page.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}
