//! Opening and closing: WAL mode, schema versions, directories, requests after close.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;

conformance!(after_close_every_request_is_refused);

#[tokio::test]
async fn the_database_is_in_wal_mode_with_the_schema_version() {
    let dir = TempDir::new("wal");
    let store = Store::open(&dir.db()).unwrap();
    let side = Connection::open(dir.db()).unwrap();
    let mode: String = side
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = side
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let synchronous: i64 = writer_pragma(&dir.db(), "synchronous");
    assert_eq!(synchronous, 2, "FULL");
    store.close().await;
}

/// A pragma as the store's own connection sets it.
fn writer_pragma(path: &Path, name: &str) -> i64 {
    let conn = sqlite::open_connection(path).unwrap();
    conn.pragma_query_value(None, name, |row| row.get(0))
        .unwrap()
}

#[test]
fn another_schema_version_is_refused_untouched() {
    let dir = TempDir::new("version");
    {
        let conn = Connection::open(dir.db()).unwrap();
        conn.pragma_update(None, "user_version", 7).unwrap();
    }
    let err = Store::open(&dir.db()).unwrap_err();
    assert!(matches!(err, StoreError::Schema { found: 7, .. }), "{err}");
    let conn = Connection::open(dir.db()).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
}

/// The schema of version 1, before changes recorded their typing group.
const SCHEMA_1: &str = "
CREATE TABLE changes (
    doc TEXT NOT NULL, rev INTEGER NOT NULL, client TEXT NOT NULL, seq INTEGER NOT NULL,
    author TEXT NOT NULL, time INTEGER NOT NULL, ops TEXT NOT NULL, conflicts TEXT NOT NULL,
    PRIMARY KEY (doc, rev)
) WITHOUT ROWID;
CREATE TABLE snapshots (doc TEXT NOT NULL PRIMARY KEY, rev INTEGER NOT NULL, body TEXT NOT NULL)
    WITHOUT ROWID;
CREATE TABLE clients (
    doc TEXT NOT NULL, client TEXT NOT NULL, seq INTEGER NOT NULL, rev INTEGER NOT NULL,
    PRIMARY KEY (doc, client)
) WITHOUT ROWID;
INSERT INTO changes VALUES ('doc', 1, 'c1', 1, 'Ann', 0, '[{\"op\":\"add\",\"path\":\"/n\",\"value\":1}]', '[]');
INSERT INTO clients VALUES ('doc', 'c1', 1, 1);
PRAGMA user_version = 1;
";

#[tokio::test]
async fn a_version_1_database_is_migrated_keeping_its_log() {
    let dir = TempDir::new("migrate");
    Connection::open(dir.db())
        .unwrap()
        .execute_batch(SCHEMA_1)
        .unwrap();
    let store = Store::open(&dir.db()).unwrap();
    let version: i64 = writer_pragma(&dir.db(), "user_version");
    assert_eq!(version, SCHEMA_VERSION);
    let loaded = store.load("doc").await.unwrap().unwrap();
    assert_eq!(loaded.changes, vec![set(1, "c1", 1)]);
    // Changes stored from now on keep their group.
    let typed = Commit {
        group: Some(Revision(1)),
        ..set(2, "c1", 2)
    };
    store
        .commit(batch("doc", vec![typed.clone()]))
        .await
        .unwrap();
    store.close().await;
    let store = Store::open(&dir.db()).unwrap();
    let loaded = store.load("doc").await.unwrap().unwrap();
    assert_eq!(loaded.changes, vec![set(1, "c1", 1), typed]);
    store.close().await;
}

#[test]
fn a_newer_schema_version_is_refused_untouched() {
    let dir = TempDir::new("newer");
    {
        let conn = Connection::open(dir.db()).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let err = Store::open(&dir.db()).unwrap_err();
    assert!(
        matches!(err, StoreError::Schema { found, .. } if found == SCHEMA_VERSION + 1),
        "{err}"
    );
    let newer = format!("schema version {}, newer", SCHEMA_VERSION + 1);
    assert!(err.to_string().contains(&newer), "{err}");
}

#[tokio::test]
async fn open_creates_the_directory() {
    let dir = TempDir::new("nested");
    let path = dir.0.join("a").join("b").join("relay.db");
    let store = Store::open(&path).unwrap();
    store
        .commit(batch("doc", vec![set(1, "c1", 1)]))
        .await
        .unwrap();
    store.close().await;
    assert!(path.exists());
}

async fn after_close_every_request_is_refused(backing: Backing) {
    let store = backing.open().await;
    let clone = store.clone();
    store
        .commit(batch("doc", vec![set(1, "c1", 1)]))
        .await
        .unwrap();
    store.close().await;
    store.close().await;
    let err = store
        .commit(batch("doc", vec![set(2, "c1", 2)]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Closed), "{err}");
    assert!(matches!(clone.load("doc").await, Err(StoreError::Closed)));
    clone.close().await;

    // What was committed before is there.
    let store = backing.open().await;
    assert_eq!(revs(&store.load("doc").await.unwrap().unwrap()), vec![1]);
    store.close().await;
}
