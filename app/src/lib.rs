//! Concord's application: the `concord` command-line tool (and, beside it, the desktop editor).
//!
//! The binary in `main.rs` only parses its arguments; everything it does lives here so that it
//! can be tested and reused.

pub mod cli;
