//! Concord's functional core: the JSON document model and the algebra of edits.
//!
//! Everything in Concord is a JSON patch: a local edit, what the relay stores and broadcasts,
//! history, undo. This crate is that engine, with no IO, no async and no clock, so the relay and
//! the desktop app are thin shells around it and all of it tests deterministically.
//!
//! # Layout
//! - [`value`]: [`Value`], a lossless JSON tree (exact numbers, member order, ropes for long
//!   strings) with its own parser and writer, and [`MAX_DEPTH`].
//! - [`pointer`](mod@pointer): RFC 6901 JSON Pointers.
//! - [`op`]: [`Operation`] (RFC 6902 plus `merge`, `splice`, `incr`) and [`Change`], their wire
//!   form.
//! - [`apply`]: atomic application with exact inverses.
//! - [`merge`]: RFC 7396 merge patches, applied and generated.
//! - [`diff`]: small patches between two documents.
//! - [`history`]: how the log groups typing into words and bursts for people.
//! - [`export`]: rewriting extensions into plain RFC 6902.
//! - [`parts`]: a change too large for a frame, sent as `submit_part` messages.
//! - [`rebase`]: moving an operation past a concurrent one, by DESIGN.md's conflict table.
//!
//! # The main flow
//! ```
//! use sync_core::{Change, Value, diff};
//!
//! // Read a document exactly as written.
//! let mut doc = Value::parse(r#"{"name": "Concord", "version": 1.10, "tags": ["json"]}"#)?;
//!
//! // Apply a change atomically; keep its inverse for undo.
//! let change = Change::from_json(r#"[
//!     {"op": "add", "path": "/tags/-", "value": "sync"},
//!     {"op": "incr", "path": "/version", "by": 1}
//! ]"#)?;
//! let undo = change.apply(&mut doc)?;
//! assert_eq!(doc.to_json(), r#"{"name":"Concord","version":2.1,"tags":["json","sync"]}"#);
//!
//! // A failing change leaves the document exactly as it was and says why.
//! let bad = Change::from_json(r#"[
//!     {"op": "remove", "path": "/tags/0"},
//!     {"op": "test", "path": "/name", "value": "Discord"}
//! ]"#)?;
//! let err = bad.apply(&mut doc).unwrap_err();
//! assert_eq!((err.index, err.code()), (1, "test_failed"));
//! assert_eq!(doc.to_json(), r#"{"name":"Concord","version":2.1,"tags":["json","sync"]}"#);
//!
//! // Undo, and find the same change again by diffing.
//! let before = {
//!     let mut d = doc.clone();
//!     undo.apply(&mut d)?;
//!     d
//! };
//! assert_eq!(before.to_json(), r#"{"name":"Concord","version":1.10,"tags":["json"]}"#);
//! let patch = diff::diff(&before, &doc);
//! let mut replayed = before.clone();
//! patch.apply(&mut replayed)?;
//! assert_eq!(replayed, doc);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod apply;
pub mod authority;
pub mod diff;
pub mod export;
pub mod history;
pub mod merge;
pub mod op;
pub mod parts;
pub mod pointer;
pub mod presence;
pub mod protocol;
pub mod rebase;
pub mod replica;
pub mod value;

pub use apply::{ApplyError, ApplyErrorKind};
pub use op::{Change, Operation};
pub use pointer::{Pointer, PointerError};
pub use value::{MAX_DEPTH, Map, Number, ParseError, Text, Value};
