//! The registry, and the one signing secret of a cluster, in the PostgreSQL store.

use deadpool_postgres::Pool;
use tokio_postgres::Row;

use super::{Listed, ROTATED, Revoked, role_name, role_named, token_id};
use crate::auth::{Claims, Secret};
use crate::store::StoreError;
use crate::store::postgres::pool_error;

/// A time in seconds as PostgreSQL's `BIGINT`: one past its integers is the end of its time.
fn seconds(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored row that does not read back as what was written.
fn damaged(detail: String) -> StoreError {
    StoreError::Corrupt {
        doc: "(tokens)".to_owned(),
        detail,
    }
}

pub(super) async fn record(
    pool: &Pool,
    token: &str,
    claims: &Claims,
    now: u64,
) -> Result<String, StoreError> {
    let id = token_id(token);
    let client = pool.get().await.map_err(pool_error)?;
    client
        .execute(
            "INSERT INTO tokens (id, \"user\", docs, role, exp, minted, revoked) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL) ON CONFLICT (id) DO NOTHING",
            &[
                &id,
                &claims.user,
                &claims.docs,
                &role_name(claims.role),
                &seconds(claims.exp),
                &seconds(now),
            ],
        )
        .await?;
    Ok(id)
}

const LISTED: &str = "SELECT id, \"user\", docs, role, exp, minted, revoked FROM tokens";

pub(super) async fn list(pool: &Pool, now: u64) -> Result<Vec<Listed>, StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    let rows = client
        .query(
            &format!("{LISTED} WHERE exp > $1 ORDER BY n"),
            &[&seconds(now)],
        )
        .await?;
    rows.iter().map(read_listed).collect()
}

/// Held by every transaction that appends a revocation, so that they commit in the order of
/// their numbers: a relay reading "every revocation after n" never passes over one still
/// being committed.
const REVOCATIONS_LOCK: i64 = 0x0063_6f6e_7265_766b; // "conrevk"

pub(super) async fn revoke(pool: &Pool, id: &str, now: u64) -> Result<Revoked, StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&REVOCATIONS_LOCK])
        .await?;
    tx.execute(
        "UPDATE tokens SET revoked = $2 WHERE id = $1 AND revoked IS NULL",
        &[&id, &seconds(now)],
    )
    .await?;
    tx.execute(
        "INSERT INTO revocations (id, time) VALUES ($1, $2)",
        &[&id, &seconds(now)],
    )
    .await?;
    let listed = tx
        .query_opt(&format!("{LISTED} WHERE id = $1"), &[&id])
        .await?;
    tx.commit().await?;
    Ok(match listed {
        Some(row) => Revoked::Listed(Box::new(read_listed(&row)?)),
        None => Revoked::Unlisted(id.to_owned()),
    })
}

pub(super) async fn revocations_after(
    pool: &Pool,
    n: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    let rows = client
        .query(
            "SELECT n, id FROM revocations WHERE n > $1 ORDER BY n",
            &[&n],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// The cluster's signing secret, if one was made.
pub(super) async fn secret(pool: &Pool) -> Result<Option<Secret>, StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    let row = client
        .query_opt("SELECT key FROM signing_secret WHERE id = 1", &[])
        .await?;
    row.map(|row| read_secret(&row)).transpose()
}

/// The cluster's signing secret, made now if none was: by whichever relay (or `token`
/// command) comes first; the others read it.
pub(super) async fn secret_or_create(pool: &Pool) -> Result<Secret, StoreError> {
    let fresh = Secret::random().map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let client = pool.get().await.map_err(pool_error)?;
    client
        .execute(
            "INSERT INTO signing_secret (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
            &[&fresh.to_file_text().trim()],
        )
        .await?;
    let row = client
        .query_one("SELECT key FROM signing_secret WHERE id = 1", &[])
        .await?;
    read_secret(&row)
}

/// Replaces the signing secret and revokes every token, in one transaction. Returns how many
/// tokens were still active.
pub(super) async fn rotate(pool: &Pool, now: u64) -> Result<usize, StoreError> {
    let fresh = Secret::random().map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&REVOCATIONS_LOCK])
        .await?;
    tx.execute(
        "INSERT INTO signing_secret (id, key) VALUES (1, $1) \
         ON CONFLICT (id) DO UPDATE SET key = excluded.key",
        &[&fresh.to_file_text().trim()],
    )
    .await?;
    let voided = tx
        .execute(
            "UPDATE tokens SET revoked = $1 WHERE revoked IS NULL",
            &[&seconds(now)],
        )
        .await?;
    tx.execute(
        "INSERT INTO revocations (id, time) VALUES ($1, $2)",
        &[&ROTATED, &seconds(now)],
    )
    .await?;
    tx.commit().await?;
    Ok(usize::try_from(voided).unwrap_or(usize::MAX))
}

fn read_secret(row: &Row) -> Result<Secret, StoreError> {
    let key: String = row.try_get(0)?;
    Secret::from_hex(&key)
        .ok_or_else(|| damaged("the signing secret is not 64 hex digits".to_owned()))
}

fn read_listed(row: &Row) -> Result<Listed, StoreError> {
    let id: String = row.try_get(0)?;
    let role: String = row.try_get(3)?;
    let role =
        role_named(&role).ok_or_else(|| damaged(format!("token {id}: unknown role {role:?}")))?;
    let unsigned = |i: usize| -> Result<u64, StoreError> {
        let value: i64 = row.try_get(i)?;
        u64::try_from(value).map_err(|_| damaged(format!("token {id}: negative time {value}")))
    };
    let revoked: Option<i64> = row.try_get(6)?;
    Ok(Listed {
        claims: Claims {
            user: row.try_get(1)?,
            docs: row.try_get(2)?,
            role,
            exp: unsigned(4)?,
        },
        minted: unsigned(5)?,
        revoked: revoked.and_then(|r| u64::try_from(r).ok()),
        id,
    })
}
