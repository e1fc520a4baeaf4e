//! The registry in the relay's SQLite database.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, params};

use super::{Listed, ROTATED, RegistryError, Revoked, role_name, role_named, token_id};
use crate::auth::Claims;
use crate::store::StoreError;

/// The registry in an SQLite database, over a connection of its own.
pub(super) struct Sqlite {
    conn: Connection,
}

impl Sqlite {
    /// Opens the registry in the database at `path` (created, or migrated, if need be): what
    /// the relay itself does when it starts.
    pub(super) fn open(path: &Path) -> Result<Sqlite, StoreError> {
        Ok(Sqlite {
            conn: crate::store::sqlite::open_connection(path)?,
        })
    }

    /// Opens the registry of a relay's existing database, as the command line does beside a
    /// relay that may be running: a database that is missing, or of another schema version
    /// than this program's, is an error, never created or migrated here (a relay of an older
    /// version still running on it would not see revocations).
    pub(super) fn open_existing(path: &Path) -> Result<Sqlite, RegistryError> {
        if !path.exists() {
            return Err(RegistryError::Missing(path.to_path_buf()));
        }
        let version: i64 =
            Connection::open(path)?.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version != crate::store::SCHEMA_VERSION {
            return Err(RegistryError::Version {
                place: path.display().to_string(),
                version,
                known: crate::store::SCHEMA_VERSION,
            });
        }
        Ok(Sqlite::open(path)?)
    }

    /// Records a token just minted.
    pub(super) fn record(
        &self,
        token: &str,
        claims: &Claims,
        now: u64,
    ) -> Result<String, StoreError> {
        let id = token_id(token);
        self.conn.execute(
            "INSERT INTO tokens (id, user, docs, role, exp, minted, revoked) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL) ON CONFLICT (id) DO NOTHING",
            params![
                id,
                claims.user,
                claims.docs,
                role_name(claims.role),
                seconds(claims.exp),
                seconds(now)
            ],
        )?;
        Ok(id)
    }

    /// Every token minted and not expired at `now`, in the order they were minted.
    pub(super) fn list(&self, now: u64) -> Result<Vec<Listed>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT id, user, docs, role, exp, minted, revoked FROM tokens \
             WHERE exp > ?1 ORDER BY rowid",
        )?;
        let rows = statement.query_map([seconds(now)], read_listed)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Revokes the token with `id` at `now` (again, if it already was: the first time stays).
    pub(super) fn revoke(&mut self, id: &str, now: u64) -> Result<Revoked, StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE tokens SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
            params![id, seconds(now)],
        )?;
        tx.execute(
            "INSERT INTO revocations (id, time) VALUES (?1, ?2)",
            params![id, seconds(now)],
        )?;
        let listed = tx
            .query_row(
                "SELECT id, user, docs, role, exp, minted, revoked FROM tokens WHERE id = ?1",
                [id],
                read_listed,
            )
            .optional()?;
        tx.commit()?;
        Ok(match listed {
            Some(listed) => Revoked::Listed(Box::new(listed)),
            None => Revoked::Unlisted(id.to_owned()),
        })
    }

    /// Records that the signing secret was rotated at `now`: every token listed is revoked.
    pub(super) fn rotated(&mut self, now: u64) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let voided = tx.execute(
            "UPDATE tokens SET revoked = ?1 WHERE revoked IS NULL",
            [seconds(now)],
        )?;
        tx.execute(
            "INSERT INTO revocations (id, time) VALUES (?1, ?2)",
            params![ROTATED, seconds(now)],
        )?;
        tx.commit()?;
        Ok(voided)
    }

    /// The revocations after number `n`, in order, with their numbers.
    pub(super) fn revocations_after(&self, n: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT n, id FROM revocations WHERE n > ?1 ORDER BY n")?;
        let rows = statement.query_map([n], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// A time for SQLite: one past its integers is the end of its time (a token that never
/// expires, in practice).
fn seconds(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn read_listed(row: &rusqlite::Row<'_>) -> rusqlite::Result<Listed> {
    let name: String = row.get(3)?;
    let Some(role) = role_named(&name) else {
        return Err(rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("unknown role {name:?}").into(),
        ));
    };
    let unsigned = |i: usize| -> rusqlite::Result<u64> {
        let value: i64 = row.get(i)?;
        u64::try_from(value).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Integer, e.into())
        })
    };
    let revoked: Option<i64> = row.get(6)?;
    Ok(Listed {
        id: row.get(0)?,
        claims: Claims {
            user: row.get(1)?,
            docs: row.get(2)?,
            role,
            exp: unsigned(4)?,
        },
        minted: unsigned(5)?,
        revoked: revoked.and_then(|r| u64::try_from(r).ok()),
    })
}
