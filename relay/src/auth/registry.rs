//! The tokens a relay has minted and revoked, kept in its database beside the documents.
//!
//! A token's id is the first 16 hex digits of the SHA-256 of the whole token, so every token
//! has one (those minted before the registry too), anyone holding the token can work it out,
//! and it reveals nothing of the signature. `concord-relay token` records what it mints;
//! `token revoke` marks it revoked and appends to the revocations, which a running relay reads
//! a few times a second ([`Registry::revocations_after`]). Rotating the signing secret appends
//! [`ROTATED`] and marks every token revoked.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, params};
use sha2::{Digest as _, Sha256};
use sync_core::protocol::Role;

use super::Claims;
use crate::store::StoreError;

/// The revocation that stands for "the signing secret was rotated": every token is void.
pub const ROTATED: &str = "*";

/// The id of `token`: 16 hex digits.
pub fn token_id(token: &str) -> String {
    let digest = Sha256::digest(token.trim().as_bytes());
    digest
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Whether `text` is written like a token id (16 hex digits) rather than a whole token.
pub fn is_token_id(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A token as the registry lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its id.
    pub id: String,
    /// What it grants.
    pub claims: Claims,
    /// When it was minted, in Unix seconds.
    pub minted: u64,
    /// When it was revoked, in Unix seconds.
    pub revoked: Option<u64>,
}

/// What a revocation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// A token the registry lists, now revoked.
    Listed(Box<Listed>),
    /// An id the registry does not list (minted elsewhere, or before it kept tokens): revoked
    /// all the same, should such a token be presented.
    Unlisted(String),
}

/// Why the command line cannot use a relay's registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No database there.
    #[error(
        "no relay database at {}: is --data-dir (or the config file's data_dir) the relay's? \
         Run the command as the relay's user, with its data directory",
        .0.display()
    )]
    Missing(std::path::PathBuf),
    /// A database of another version.
    #[error(
        "{} has schema version {version}, and this program writes version {}: start the relay \
         of this version first (it upgrades the database), then run this again",
        path.display(),
        crate::store::SCHEMA_VERSION
    )]
    Version {
        /// The database.
        path: std::path::PathBuf,
        /// Its version.
        version: i64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for RegistryError {
    fn from(error: rusqlite::Error) -> RegistryError {
        RegistryError::Store(StoreError::Sqlite(error))
    }
}

/// The registry, over its own connection to the relay's database.
pub struct Registry {
    conn: Connection,
}

impl Registry {
    /// Opens the registry in the database at `path` (created, or migrated, if need be): what
    /// the relay itself does when it starts.
    pub fn open(path: &Path) -> Result<Registry, StoreError> {
        Ok(Registry {
            conn: crate::store::open_connection(path)?,
        })
    }

    /// Opens the registry of a relay's existing database, as the command line does beside a
    /// relay that may be running: a database that is missing, or of another schema version
    /// than this program's, is an error, never created or migrated here (a relay of an older
    /// version still running on it would not see revocations).
    pub fn open_existing(path: &Path) -> Result<Registry, RegistryError> {
        if !path.exists() {
            return Err(RegistryError::Missing(path.to_path_buf()));
        }
        let version: i64 =
            Connection::open(path)?.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version != crate::store::SCHEMA_VERSION {
            return Err(RegistryError::Version {
                path: path.to_path_buf(),
                version,
            });
        }
        Ok(Registry::open(path)?)
    }

    /// Records a token just minted.
    pub fn record(&self, token: &str, claims: &Claims, now: u64) -> Result<String, StoreError> {
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
    pub fn list(&self, now: u64) -> Result<Vec<Listed>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT id, user, docs, role, exp, minted, revoked FROM tokens \
             WHERE exp > ?1 ORDER BY rowid",
        )?;
        let rows = statement.query_map([seconds(now)], read_listed)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Revokes the token with `id` at `now` (again, if it already was: the first time stays).
    pub fn revoke(&mut self, id: &str, now: u64) -> Result<Revoked, StoreError> {
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
    pub fn rotated(&mut self, now: u64) -> Result<usize, StoreError> {
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
    pub fn revocations_after(&self, n: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT n, id FROM revocations WHERE n > ?1 ORDER BY n")?;
        let rows = statement.query_map([n], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Read => "read",
        Role::Write => "write",
    }
}

/// A time for SQLite: one past its integers is the end of its time (a token that never
/// expires, in practice).
fn seconds(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn read_listed(row: &rusqlite::Row<'_>) -> rusqlite::Result<Listed> {
    let role: String = row.get(3)?;
    let role = match role.as_str() {
        "read" => Role::Read,
        "write" => Role::Write,
        _ => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                format!("unknown role {role:?}").into(),
            ));
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn claims(user: &str, exp: u64) -> Claims {
        Claims {
            user: user.to_owned(),
            docs: "team-*".to_owned(),
            role: Role::Write,
            exp,
        }
    }

    #[test]
    fn minted_tokens_are_listed_until_they_expire_and_revocations_are_read_in_order() {
        let dir = std::env::temp_dir().join(format!("concord-registry-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut registry = Registry::open(&dir.join("db.sqlite3")).unwrap();
        let ann = registry
            .record("ann.token", &claims("ann", 200), 100)
            .unwrap();
        // Minted in the same second: listed in the order they were minted all the same.
        let ben = registry
            .record("ben.token", &claims("ben", 150), 100)
            .unwrap();
        assert_ne!(ann, ben);
        assert_eq!(ann, token_id("ann.token"));
        assert!(is_token_id(&ann));
        assert!(!is_token_id("ann.token"));
        let listed = registry.list(120).unwrap();
        let users: Vec<&str> = listed.iter().map(|l| l.claims.user.as_str()).collect();
        assert_eq!(users, ["ann", "ben"]);
        assert_eq!(listed[0].claims, claims("ann", 200));
        assert_eq!(registry.list(160).unwrap().len(), 1, "ben's expired");
        match registry.revoke(&ann, 130).unwrap() {
            Revoked::Listed(listed) => assert_eq!(listed.revoked, Some(130)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            registry.revoke("0123456789abcdef", 131).unwrap(),
            Revoked::Unlisted("0123456789abcdef".to_owned())
        );
        assert_eq!(
            registry.rotated(140).unwrap(),
            1,
            "only ben was still valid"
        );
        let all = registry.revocations_after(0).unwrap();
        let ids: Vec<&str> = all.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids, [ann.as_str(), "0123456789abcdef", ROTATED]);
        assert_eq!(registry.revocations_after(all[1].0).unwrap().len(), 1);
        // The first revocation's time stays.
        registry.revoke(&ann, 199).unwrap();
        assert_eq!(registry.list(120).unwrap()[0].revoked, Some(130));
        assert_eq!(registry.list(120).unwrap()[1].revoked, Some(140));
        drop(registry);
        // The command line's way in: the database must be there, at this version.
        assert!(Registry::open_existing(&dir.join("db.sqlite3")).is_ok());
        let missing = Registry::open_existing(&dir.join("none.sqlite3"))
            .err()
            .unwrap();
        assert!(missing.to_string().contains("--data-dir"), "{missing}");
        assert!(!dir.join("none.sqlite3").exists());
        let old = dir.join("old.sqlite3");
        Connection::open(&old)
            .unwrap()
            .pragma_update(None, "user_version", 2)
            .unwrap();
        let error = Registry::open_existing(&old).err().unwrap();
        assert!(error.to_string().contains("start the relay"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
