//! The tokens a relay has minted and revoked, kept in its store beside the documents, and the
//! secret that signs them: in a file beside an SQLite store, in the database with PostgreSQL
//! (so that every relay of a cluster checks the same tokens).
//!
//! A token's id is the first 16 hex digits of the SHA-256 of the whole token, so every token
//! has one (those minted before the registry too), anyone holding the token can work it out,
//! and it reveals nothing of the signature. `concord-relay token` records what it mints;
//! `token revoke` marks it revoked and appends to the revocations, which a running relay reads
//! a few times a second ([`Registry::revocations_after`]). Rotating the signing secret appends
//! [`ROTATED`] and marks every token revoked.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use deadpool_postgres::Pool;
use sha2::{Digest as _, Sha256};
use sync_core::protocol::Role;

use super::{Claims, Secret, SecretError};
use crate::store::{Store, StoreError};

mod postgres;
mod sqlite;

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
        "{place} has schema version {version}, and this program writes version {known}: start \
         the relay of this version first (it upgrades the database), then run this again"
    )]
    Version {
        /// The database.
        place: String,
        /// Its version.
        version: i64,
        /// The version this program writes.
        known: i64,
    },
    /// A PostgreSQL database no relay has used.
    #[error(
        "no relay has used {0}: is --store the relays'? (Only `token`, minting a first token \
         before the first relay starts, sets a new database up)"
    )]
    NoRelayYet(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signing secret's file could not be read or written.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl From<rusqlite::Error> for RegistryError {
    fn from(error: rusqlite::Error) -> RegistryError {
        RegistryError::Store(StoreError::Sqlite(error))
    }
}

/// The registry: where tokens are recorded and revoked, and where the signing secret lives.
/// Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    /// An SQLite database, with the secret in a file.
    Sqlite {
        db: Arc<Mutex<sqlite::Sqlite>>,
        secret: PathBuf,
    },
    /// The PostgreSQL store, which holds the secret too.
    Postgres(Pool),
}

impl Registry {
    /// Opens the registry in the SQLite database at `path` (created, or migrated, if need be),
    /// with the signing secret in the file `secret`: what the relay itself does when it starts.
    pub fn open(path: &Path, secret: PathBuf) -> Result<Registry, StoreError> {
        Ok(Registry::sqlite(sqlite::Sqlite::open(path)?, secret))
    }

    /// Opens the registry of a relay's existing SQLite database, as the command line does
    /// beside a relay that may be running: a database that is missing, or of another schema
    /// version than this program's, is an error, never created or migrated here (a relay of
    /// an older version still running on it would not see revocations).
    pub fn open_existing(path: &Path, secret: PathBuf) -> Result<Registry, RegistryError> {
        Ok(Registry::sqlite(
            sqlite::Sqlite::open_existing(path)?,
            secret,
        ))
    }

    fn sqlite(db: sqlite::Sqlite, secret: PathBuf) -> Registry {
        Registry {
            kind: Kind::Sqlite {
                db: Arc::new(Mutex::new(db)),
                secret,
            },
        }
    }

    /// The registry of a store: the PostgreSQL store's own tables, or the SQLite database with
    /// the secret in the file `secret`.
    pub fn of_store(
        store: &Store,
        database: &Path,
        secret: PathBuf,
    ) -> Result<Registry, StoreError> {
        match store.postgres() {
            Some(postgres) => Ok(Registry {
                kind: Kind::Postgres(postgres.pool().clone()),
            }),
            None => Registry::open(database, secret),
        }
    }

    /// Opens the registry of a PostgreSQL store for the command line. A database no relay has
    /// used yet gets the schema only when `create` (minting a first token before the first
    /// relay starts); otherwise it is an error, as is one of another schema version, so that
    /// a mistyped `--store` changes nothing.
    pub async fn open_postgres(url: &str, create: bool) -> Result<Registry, RegistryError> {
        use crate::store::postgres;
        let place = || crate::store::Location::Postgres(url.to_owned()).to_string();
        let server = postgres::Server::open(url)?;
        let mut client = server
            .connect()
            .await
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", place())))?;
        match postgres::version(&client).await? {
            0 if create => postgres::migrate(&mut client).await?,
            0 => return Err(RegistryError::NoRelayYet(place())),
            postgres::SCHEMA_VERSION => {}
            version => {
                return Err(RegistryError::Version {
                    place: crate::store::Location::Postgres(url.to_owned()).to_string(),
                    version,
                    known: postgres::SCHEMA_VERSION,
                });
            }
        }
        Ok(Registry {
            kind: Kind::Postgres(postgres::pool(&server, &postgres::Options::default(), 2)?),
        })
    }

    /// Runs `work` on the SQLite database off the async threads.
    async fn blocking<T: Send + 'static>(
        db: &Arc<Mutex<sqlite::Sqlite>>,
        work: impl FnOnce(&mut sqlite::Sqlite) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = Arc::clone(db);
        tokio::task::spawn_blocking(move || {
            work(&mut db.lock().unwrap_or_else(PoisonError::into_inner))
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    /// Records a token just minted; returns its id.
    pub async fn record(
        &self,
        token: &str,
        claims: &Claims,
        now: u64,
    ) -> Result<String, StoreError> {
        match &self.kind {
            Kind::Sqlite { db, .. } => {
                let (token, claims) = (token.to_owned(), claims.clone());
                Registry::blocking(db, move |db| db.record(&token, &claims, now)).await
            }
            Kind::Postgres(pool) => postgres::record(pool, token, claims, now).await,
        }
    }

    /// Every token minted and not expired at `now`, in the order they were minted.
    pub async fn list(&self, now: u64) -> Result<Vec<Listed>, StoreError> {
        match &self.kind {
            Kind::Sqlite { db, .. } => Registry::blocking(db, move |db| db.list(now)).await,
            Kind::Postgres(pool) => postgres::list(pool, now).await,
        }
    }

    /// Revokes the token with `id` at `now` (again, if it already was: the first time stays).
    pub async fn revoke(&self, id: &str, now: u64) -> Result<Revoked, StoreError> {
        match &self.kind {
            Kind::Sqlite { db, .. } => {
                let id = id.to_owned();
                Registry::blocking(db, move |db| db.revoke(&id, now)).await
            }
            Kind::Postgres(pool) => postgres::revoke(pool, id, now).await,
        }
    }

    /// The revocations after number `n`, in order, with their numbers.
    pub async fn revocations_after(&self, n: i64) -> Result<Vec<(i64, String)>, StoreError> {
        match &self.kind {
            Kind::Sqlite { db, .. } => {
                Registry::blocking(db, move |db| db.revocations_after(n)).await
            }
            Kind::Postgres(pool) => postgres::revocations_after(pool, n).await,
        }
    }

    /// The signing secret, if there is one.
    pub async fn secret(&self) -> Result<Option<Secret>, RegistryError> {
        match &self.kind {
            Kind::Sqlite { secret, .. } => {
                let path = secret.clone();
                Ok(tokio::task::spawn_blocking(move || Secret::load(&path))
                    .await
                    .map_err(|_| StoreError::Closed)??)
            }
            Kind::Postgres(pool) => Ok(postgres::secret(pool).await?),
        }
    }

    /// The signing secret, made now if there is none.
    pub async fn secret_or_create(&self) -> Result<Secret, RegistryError> {
        match &self.kind {
            Kind::Sqlite { secret, .. } => {
                let path = secret.clone();
                Ok(
                    tokio::task::spawn_blocking(move || Secret::load_or_create(&path))
                        .await
                        .map_err(|_| StoreError::Closed)??,
                )
            }
            Kind::Postgres(pool) => Ok(postgres::secret_or_create(pool).await?),
        }
    }

    /// Replaces the signing secret with a fresh one and records it as the revocation
    /// [`ROTATED`]: every token is void. Returns how many listed tokens were still active.
    pub async fn rotate(&self, now: u64) -> Result<usize, RegistryError> {
        match &self.kind {
            Kind::Sqlite { db, secret } => {
                let path = secret.clone();
                tokio::task::spawn_blocking(move || Secret::rotate(&path))
                    .await
                    .map_err(|_| StoreError::Closed)??;
                Ok(Registry::blocking(db, move |db| db.rotated(now)).await?)
            }
            Kind::Postgres(pool) => Ok(postgres::rotate(pool, now).await?),
        }
    }

    /// Where the secret is, to name in a message.
    pub fn secret_place(&self) -> String {
        match &self.kind {
            Kind::Sqlite { secret, .. } => secret.display().to_string(),
            Kind::Postgres(_) => "the PostgreSQL store".to_owned(),
        }
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Read => "read",
        Role::Write => "write",
    }
}

fn role_named(name: &str) -> Option<Role> {
    match name {
        "read" => Some(Role::Read),
        "write" => Some(Role::Write),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use rusqlite::Connection;

    use super::*;

    fn claims(user: &str, exp: u64) -> Claims {
        Claims {
            user: user.to_owned(),
            docs: "team-*".to_owned(),
            role: Role::Write,
            exp,
        }
    }

    /// What every registry does, whichever store it is in.
    async fn lists_revokes_and_rotates(registry: &Registry) {
        let ann = registry
            .record("ann.token", &claims("ann", 200), 100)
            .await
            .unwrap();
        // Minted in the same second: listed in the order they were minted all the same.
        let ben = registry
            .record("ben.token", &claims("ben", 150), 100)
            .await
            .unwrap();
        assert_ne!(ann, ben);
        assert_eq!(ann, token_id("ann.token"));
        assert!(is_token_id(&ann));
        assert!(!is_token_id("ann.token"));
        let listed = registry.list(120).await.unwrap();
        let users: Vec<&str> = listed.iter().map(|l| l.claims.user.as_str()).collect();
        assert_eq!(users, ["ann", "ben"]);
        assert_eq!(listed[0].claims, claims("ann", 200));
        assert_eq!(registry.list(160).await.unwrap().len(), 1, "ben's expired");
        match registry.revoke(&ann, 130).await.unwrap() {
            Revoked::Listed(listed) => assert_eq!(listed.revoked, Some(130)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            registry.revoke("0123456789abcdef", 131).await.unwrap(),
            Revoked::Unlisted("0123456789abcdef".to_owned())
        );
        // The secret is made once, then the same; rotating replaces it.
        let before = registry.secret_or_create().await.unwrap();
        let token = before.mint(&claims("cy", 300));
        assert!(
            registry
                .secret()
                .await
                .unwrap()
                .unwrap()
                .verify(&token, 200)
                .is_ok()
        );
        assert_eq!(
            registry.rotate(140).await.unwrap(),
            1,
            "only ben was still valid"
        );
        let after = registry.secret().await.unwrap().unwrap();
        assert!(
            after.verify(&token, 200).is_err(),
            "the old secret's tokens are void"
        );
        let all = registry.revocations_after(0).await.unwrap();
        let ids: Vec<&str> = all.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids, [ann.as_str(), "0123456789abcdef", ROTATED]);
        assert_eq!(registry.revocations_after(all[1].0).await.unwrap().len(), 1);
        // The first revocation's time stays.
        registry.revoke(&ann, 199).await.unwrap();
        assert_eq!(registry.list(120).await.unwrap()[0].revoked, Some(130));
        assert_eq!(registry.list(120).await.unwrap()[1].revoked, Some(140));
    }

    #[tokio::test]
    async fn in_sqlite_tokens_are_listed_until_they_expire_and_revocations_are_read_in_order() {
        let dir = std::env::temp_dir().join(format!("concord-registry-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("secret.key");
        let registry = Registry::open(&dir.join("db.sqlite3"), secret.clone()).unwrap();
        lists_revokes_and_rotates(&registry).await;
        drop(registry);
        // The command line's way in: the database must be there, at this version.
        assert!(Registry::open_existing(&dir.join("db.sqlite3"), secret.clone()).is_ok());
        let missing = Registry::open_existing(&dir.join("none.sqlite3"), secret.clone())
            .err()
            .unwrap();
        assert!(missing.to_string().contains("--data-dir"), "{missing}");
        assert!(!dir.join("none.sqlite3").exists());
        let old = dir.join("old.sqlite3");
        Connection::open(&old)
            .unwrap()
            .pragma_update(None, "user_version", 2)
            .unwrap();
        let error = Registry::open_existing(&old, secret).err().unwrap();
        assert!(error.to_string().contains("start the relay"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn in_postgresql_tokens_and_the_secret_are_shared_by_every_relay() {
        let Some(url) = crate::store::postgres::test_database("registry").await else {
            return;
        };
        // The command line on a database no relay has used yet makes the schema.
        // Listing or revoking there changes nothing, and says why.
        let error = Registry::open_postgres(&url, false).await.err().unwrap();
        assert!(error.to_string().contains("no relay has used"), "{error}");
        let client = crate::store::postgres::connect(&url).await.unwrap();
        assert_eq!(crate::store::postgres::version(&client).await.unwrap(), 0);
        let registry = Registry::open_postgres(&url, true).await.unwrap();
        lists_revokes_and_rotates(&registry).await;
        // Another relay of the cluster sees the same secret and tokens.
        let other = Registry::open_postgres(&url, false).await.unwrap();
        let secret = registry.secret().await.unwrap().unwrap();
        let token = secret.mint(&claims("dee", 300));
        let theirs = other.secret_or_create().await.unwrap();
        assert!(theirs.verify(&token, 200).is_ok());
        assert_eq!(other.list(120).await.unwrap().len(), 2);
        // A newer schema is refused, untouched.
        crate::store::postgres::connect(&url)
            .await
            .unwrap()
            .batch_execute("UPDATE concord_schema SET version = 99")
            .await
            .unwrap();
        let error = Registry::open_postgres(&url, true).await.err().unwrap();
        assert!(error.to_string().contains("start the relay"), "{error}");
        assert!(!error.to_string().contains("password"), "{error}");
    }
}
