//! The relay end to end, on real sockets: one test binary, one module per behaviour.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod access;
mod auth;
mod bad_input;
mod cluster;
mod crash;
mod durability;
mod leases;
mod limits;
mod losses;
mod parts;
mod revocation;
mod sync;
mod tls;

use sync_core::{Operation, Pointer, Value};

/// `{"op": "add", "path": path, "value": value}`.
pub fn add(path: &str, value: &str) -> Operation {
    Operation::add(Pointer::parse(path).unwrap(), Value::parse(value).unwrap())
}

/// `{"op": "replace", ...}`.
pub fn replace(path: &str, value: &str) -> Operation {
    Operation::replace(Pointer::parse(path).unwrap(), Value::parse(value).unwrap())
}

/// Parses JSON.
pub fn json(text: &str) -> Value {
    Value::parse(text).unwrap()
}
