//! Concord's application: the desktop JSON editor and the `concord` command-line tools.
//!
//! The binary in `main.rs` only parses its arguments; everything it does lives here so that it
//! can be tested and reused.
//!
//! # Layout
//! - [`editor`]: the model of one open document (no egui): a Replica, the tree's expansion,
//!   selection and flattened rows, edits, undo, saving.
//! - [`commands`]: every user intent with its label and shortcut.
//! - [`workspace`]: the state of one window, which the window draws.
//! - [`ui`]: the eframe app: menu, tree, status bar.
//! - [`session`]: collaboration: the connection to a relay, presence, conflicts, history, the
//!   offline outbox, and the relay hosted for "Share this document".
//! - [`settings`]: theme, font size, recent files, display name, in the config directory.
//! - [`file_dialog`]: what a file dialog is for, and the desktop's open and save-as dialogs, off
//!   the UI thread.
//! - [`loader`]: reading and parsing a file on a background thread, with progress.
//! - [`words`]: counts as people read them ("1 node", "12,345 nodes").
//! - [`launch`]: what the command line asks the window for, the sample document, the network
//!   runtime; [`gui`]: starting the window; [`demo`]: a relay and several windows, to try
//!   collaboration; [`cli`]: `concord patch`, `merge-patch`, `diff`.

pub mod cli;
pub mod commands;
pub mod demo;
pub mod editor;
pub mod file_dialog;
pub mod gui;
pub mod launch;
pub mod loader;
pub mod session;
pub mod settings;
pub mod ui;
pub mod words;
pub mod workspace;
