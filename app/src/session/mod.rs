//! Collaboration: an editor's document joined to a relay. No egui here; the UI reads the
//! session's state and calls its methods.
//!
//! - [`net`]: the network task (connect, carry messages, reconnect with backoff and jitter);
//! - [`outbox`]: the session's durable state in the data directory, a whole state followed by
//!   a journal of steps ([`outbox::journal`]);
//! - [`history`]: the history panel's model (view, revert, restore);
//! - [`host`]: a relay inside the app, for "Share this document";
//! - [`target`]: where to connect, and invites;
//! - `lost`: the local edits that lost, and how to put them back.
//!
//! The [`Editor`] holds the [`Replica`]; [`Session::poll`] feeds it what the relay sent and
//! sends what it asks to send, and after every change of the replica's state queues that state
//! for the outbox.

pub mod history;
pub mod host;
mod lost;
pub mod net;
pub mod outbox;
pub mod target;
pub mod tls;

pub use lost::Lost;
pub use target::Target;

use std::path::{Path, PathBuf};
use std::time::Instant;

use sync_core::protocol::{ClientId, ClientMessage, Conflict, ConflictKind, Peer, Revision, Role};
use sync_core::replica::{Event, Replica};
use sync_core::{Operation, Pointer, Value};

use crate::editor::Editor;
use history::{Answer, History};
use net::{NetCommand, NetConfig, NetEvent, NetHandle, Wake};
use outbox::{Outbox, Saved};

/// The connection, as the status bar shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Opening the connection (the first attempt is 1).
    Connecting {
        /// Attempts since the connection last worked.
        attempt: u32,
    },
    /// The socket is open; the relay has not welcomed us yet.
    Joining,
    /// Connected and caught up.
    Connected {
        /// What this connection may do.
        role: Role,
    },
    /// Connected to a relay that holds less than this window (restored from an older copy,
    /// say): this window keeps its copy and sends nothing until the user chooses
    /// ([`Session::restore_my_copy`] or [`Session::use_relay_copy`]).
    RelayBehind {
        /// The relay's revision.
        relay: Revision,
        /// The revision this window holds.
        mine: Revision,
    },
    /// The connection dropped; the next attempt is at `at`.
    Reconnecting {
        /// When.
        at: Instant,
        /// Why the last one ended.
        reason: String,
    },
    /// Not connected, and not trying until asked to.
    Offline {
        /// Why.
        reason: String,
    },
}

/// What a window holds of its shared document (see [`Session::holding`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// The relay's, as it sent it (or the window's own, which it shares).
    Synced,
    /// Only what this computer kept from an earlier run: the relay has not answered yet.
    Kept,
    /// Nothing yet: the relay has not answered, and nothing was kept here.
    Nothing,
}

/// What a session's network task needs from the window: how to wake it when something
/// arrives, and how to connect (the TLS trust of `wss://` relays among it).
pub struct Link {
    /// Wakes the window.
    pub wake: Wake,
    /// How to connect.
    pub config: NetConfig,
}

/// An editor's link to a relay.
pub struct Session {
    target: Target,
    net: NetHandle,
    /// The open connection, once its socket is open.
    epoch: Option<u64>,
    status: Status,
    peers: Vec<Peer>,
    /// My edits that lost, oldest first.
    pub lost: Vec<Lost>,
    /// Lost edits not yet looked at.
    pub unseen: usize,
    /// The history panel's model.
    pub history: History,
    outbox: Option<Outbox>,
    /// The editor generation last queued for the outbox.
    queued: u64,
    /// What advanced the confirmed document since the last save (see [`outbox::journal`]).
    confirming: outbox::journal::Confirming,
    /// Things to tell the user, oldest first (taken by the UI).
    notices: Vec<String>,
    /// Whether the relay has welcomed this window since it joined (until then the document is
    /// only what this computer kept, if anything).
    welcomed: bool,
    /// Whether this window shares its own document (it has it before the relay answers).
    sharing: bool,
    /// Where I am, as last told to the relay.
    presence_sent: Option<(Option<Pointer>, Option<usize>)>,
    /// A patch exported from the history, waiting for a file: its text and what it holds.
    export: Option<(String, String)>,
    /// When the state was last queued for the outbox, and how long copying it took.
    last_save: Instant,
    save_cost: std::time::Duration,
}

impl Session {
    /// Joins `target`: takes this window's slot in the outbox under `data_dir` (bringing back
    /// what an earlier run left unsynced there) and starts connecting. The editor returned
    /// holds the document as far as it is known here.
    pub fn join(
        runtime: &tokio::runtime::Handle,
        target: Target,
        name: &str,
        data_dir: Option<&Path>,
        link: Link,
    ) -> (Session, Editor) {
        Session::start(runtime, target, name, data_dir, link, None)
    }

    /// Shares `doc` as a new document at `target` (which must not hold it yet): the document
    /// becomes the first change this window sends.
    pub fn share(
        runtime: &tokio::runtime::Handle,
        target: Target,
        name: &str,
        data_dir: Option<&Path>,
        link: Link,
        doc: &Value,
    ) -> (Session, Editor) {
        Session::start(runtime, target, name, data_dir, link, Some(doc))
    }

    fn start(
        runtime: &tokio::runtime::Handle,
        target: Target,
        name: &str,
        data_dir: Option<&Path>,
        link: Link,
        share: Option<&Value>,
    ) -> (Session, Editor) {
        let mut notices = Vec::new();
        let (outbox, saved) = match data_dir.map(|d| Outbox::open(d, &target.relay, &target.doc)) {
            None => (None, None),
            Some(Ok((outbox, saved, problem))) => {
                notices.extend(problem);
                (Some(outbox), saved)
            }
            Some(Err(e)) => {
                notices.push(format!(
                    "offline edits cannot be kept on this computer: {e}"
                ));
                (None, None)
            }
        };
        let mut replica = match saved {
            Some(saved) => {
                let (mut replica, events) = Replica::restore(saved.replica);
                replica.set_name(name);
                for event in events {
                    if let Event::Lost { error, .. } = event {
                        notices.push(format!("an offline edit could not be kept: {error}"));
                    }
                }
                if replica.pending() > 0 {
                    notices.push(format!(
                        "{} from the last session will be sent",
                        crate::words::counted(
                            replica.pending(),
                            "unsynced change",
                            "unsynced changes"
                        )
                    ));
                }
                replica
            }
            None => {
                let client = ClientId(new_client_id());
                match share {
                    // A new document starts as `{}` on the relay: the shared document is
                    // the difference, pending until the relay confirms it.
                    Some(_) => Replica::with_document(
                        client,
                        name,
                        Value::Object(Default::default()),
                        None,
                    ),
                    None => Replica::new(client, name),
                }
            }
        };
        if let Some(doc) = share {
            let change = sync_core::diff::diff(replica.view(), doc);
            if !change.is_empty()
                && let Err(e) = replica.edit(change.0)
            {
                notices.push(format!("the document could not be shared: {e}"));
            }
        }
        let editor = Editor::shared(replica);
        let net = net::spawn(runtime, target.relay.clone(), link.config, link.wake);
        let session = Session {
            target,
            net,
            epoch: None,
            status: Status::Connecting { attempt: 1 },
            peers: Vec::new(),
            lost: Vec::new(),
            unseen: 0,
            history: History::default(),
            outbox,
            queued: 0,
            confirming: outbox::journal::Confirming::default(),
            notices,
            welcomed: false,
            sharing: share.is_some(),
            presence_sent: None,
            export: None,
            last_save: Instant::now(),
            save_cost: std::time::Duration::ZERO,
        };
        (session, editor)
    }

    /// Where this session connects.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The connection's state.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// What the window holds of the document: before the relay answers, only what this
    /// computer kept of it, if anything.
    pub fn holding(&self, editor: &Editor) -> Holding {
        if self.welcomed || self.sharing {
            Holding::Synced
        } else if editor.replica().rev().is_some() {
            Holding::Kept
        } else {
            Holding::Nothing
        }
    }

    /// Everyone in the document (me included), as the relay last said.
    pub fn peers(&self) -> &[Peer] {
        &self.peers
    }

    /// Where the outbox keeps this window's state, if anywhere.
    pub fn outbox_dir(&self) -> Option<PathBuf> {
        self.outbox.as_ref().map(|o| o.dir().to_path_buf())
    }

    /// Whether every change of the editor's state so far is on disk (or there is no disk).
    pub fn saved_locally(&self, editor: &Editor) -> bool {
        self.outbox
            .as_ref()
            .is_none_or(|o| o.written() >= editor.generation())
    }

    /// Whether the outbox works: `false` when offline edits would not survive a restart.
    pub fn keeps_offline_edits(&self) -> bool {
        self.outbox.as_ref().is_some_and(|o| o.error().is_none())
    }

    /// A patch the history exported (the changes since a revision), with what it holds, once.
    pub fn take_export(&mut self) -> Option<(String, String)> {
        self.export.take()
    }

    /// Things to tell the user since the last call.
    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    /// Connect now (skipping the wait), or come back online.
    pub fn connect_now(&mut self) {
        let _ = self.net.commands.try_send(NetCommand::Connect);
    }

    /// Trusts `tls` for the relay's certificate from now on, trying again at once if not
    /// connected (the CA file changed).
    pub fn trust(&mut self, tls: std::sync::Arc<rustls::ClientConfig>) {
        let _ = self.net.commands.try_send(NetCommand::Trust(tls));
    }

    /// Closes the connection and stays offline; edits keep going to the outbox.
    pub fn go_offline(&mut self) {
        let _ = self.net.commands.try_send(NetCommand::Disconnect);
    }

    /// Handles what the network task reported, feeding the editor; sends what the editor
    /// asks to send; queues the editor's state for the outbox if it changed. Call once per
    /// frame (and after edits).
    pub fn poll(&mut self, editor: &mut Editor) {
        while let Ok(event) = self.net.events.try_recv() {
            self.network_event(event, editor);
        }
        self.flush(editor);
    }

    /// Sends what the editor asks to send and saves its state if it changed (at most every
    /// [`Session::save_interval`]: the copy of the state is taken on the UI thread).
    pub fn flush(&mut self, editor: &mut Editor) {
        let events = editor.take_events();
        self.replica_events(events, editor);
        if self.last_save.elapsed() >= self.save_interval() {
            self.save(editor);
        }
    }

    /// Queues the editor's state for the outbox, if it changed since last time.
    fn save(&mut self, editor: &Editor) {
        if editor.generation() == self.queued {
            return;
        }
        if let Some(outbox) = &self.outbox {
            let start = Instant::now();
            self.queued = editor.generation();
            // What changed since the last save, when the relay's messages say it; otherwise
            // the whole state, copied here.
            let step = if outbox.needs_whole() {
                None
            } else {
                self.confirming.step(editor.replica())
            };
            if let Some(step) = step {
                outbox.save_step(self.queued, step);
            } else {
                let replica = editor.replica().save();
                self.confirming.restart(&replica);
                outbox.save(
                    self.queued,
                    Saved {
                        relay: self.target.relay.clone(),
                        doc: self.target.doc.clone(),
                        replica,
                        journal: None,
                    },
                );
            }
            self.last_save = Instant::now();
            self.save_cost = start.elapsed();
        }
    }

    /// The shortest time between two saves: a save copies the document on the UI thread, so
    /// saves of a large document are spaced to take at most a tenth of the time (and a small
    /// one is saved at once).
    pub fn save_interval(&self) -> std::time::Duration {
        let spaced = self.save_cost.saturating_mul(10);
        if spaced < std::time::Duration::from_millis(20) {
            std::time::Duration::ZERO
        } else {
            spaced
        }
    }

    fn network_event(&mut self, event: NetEvent, editor: &mut Editor) {
        match event {
            NetEvent::Connecting { attempt } => self.status = Status::Connecting { attempt },
            NetEvent::Open { epoch } => {
                self.epoch = Some(epoch);
                self.status = Status::Joining;
                self.presence_sent = None;
                self.history.reset_requests();
                let hello = editor
                    .replica()
                    .hello(&self.target.doc, self.target.token.clone());
                self.send(hello);
            }
            NetEvent::Message { epoch, message } => {
                if self.epoch == Some(epoch) {
                    let was_behind = matches!(self.status, Status::RelayBehind { .. });
                    self.confirming.received(&message);
                    let events = editor.receive(*message);
                    self.confirming.after(editor.replica(), &events);
                    self.replica_events(events, editor);
                    if was_behind && matches!(self.status, Status::Connected { .. }) {
                        // Someone (another window of mine, say) restored the copy this
                        // window holds: it took the relay's quietly, nothing lost.
                        self.notices.push(
                            "the relay has this window's copy again: back in sync".to_owned(),
                        );
                    }
                }
            }
            NetEvent::Garbled { error } => {
                self.notices
                    .push(format!("the relay sent something unreadable: {error}"));
            }
            NetEvent::Closed { reason, retry_at } => {
                self.epoch = None;
                editor.disconnected();
                self.peers.clear();
                self.status = match retry_at {
                    Some(at) => Status::Reconnecting { at, reason },
                    None => Status::Offline { reason },
                };
            }
        }
    }

    fn replica_events(&mut self, events: Vec<Event>, editor: &mut Editor) {
        for event in events {
            match event {
                Event::Send(message) => self.send(message),
                Event::Changed => {}
                Event::Conflicts(conflicts) => {
                    let me = editor.replica().client().clone();
                    for conflict in conflicts.into_iter().filter(|c| c.loser.client == me) {
                        if self.lost.iter().any(|l| l.same_loss(&conflict)) {
                            continue;
                        }
                        let reason = describe(&conflict);
                        self.notices.push(reason.clone());
                        self.lose(Some(conflict), Vec::new(), reason);
                    }
                }
                Event::Rejected { ops, code, message } => {
                    let reason = format!("the relay refused your change: {message} ({code})");
                    self.notices.push(reason.clone());
                    self.lose(None, ops, reason);
                }
                Event::Lost { ops, error } => {
                    let reason = format!("an unsynced change no longer applies: {error}");
                    self.notices.push(reason.clone());
                    self.lose(None, ops, reason);
                }
                Event::Diverged { rev } => self.notices.push(format!(
                    "this window disagreed with the relay at {rev}: reloading the document"
                )),
                Event::RelayBehind { relay, mine } => {
                    if !matches!(self.status, Status::RelayBehind { .. }) {
                        self.notices.push(format!(
                            "the relay has only {relay} of this document, this window {mine}: \
                             choose which copy to keep"
                        ));
                    }
                    self.status = Status::RelayBehind { relay, mine };
                }
                Event::Welcomed { role } => {
                    self.status = Status::Connected { role };
                    self.welcomed = true;
                    if role == Role::Read {
                        self.notices
                            .push("you can read this document but not change it".to_owned());
                    }
                }
                Event::Presence(peers) => self.peers = peers,
                Event::History { changes, next } => {
                    if let Some(ask) = self.history.receive_changes(changes, next) {
                        self.send(ask);
                    }
                    self.finish_history(editor);
                }
                Event::Snapshot { rev, doc } => {
                    let answer = self.history.receive_snapshot(rev, &doc, editor.doc());
                    self.history_answer(answer, editor);
                    self.finish_history(editor);
                }
                Event::Error { code, message } => {
                    if code == "rate_limited" {
                        // Nothing of the change applied: send it again (at most once applied).
                        let retry = editor.retry();
                        self.replica_events(retry, editor);
                    } else if (code == "not_retained" || code == "invalid_range")
                        && self.history.failed()
                    {
                        self.notices
                            .push(format!("the relay could not read that history: {message}"));
                    } else {
                        self.notices
                            .push(format!("the relay said: {message} ({code})"));
                    }
                }
            }
        }
    }

    /// Completes a revert or an export whose changes are all here, or asks for the page
    /// still missing.
    fn finish_history(&mut self, editor: &mut Editor) {
        let head = editor.replica().rev().unwrap_or(Revision(0));
        let (ask, answer) = self.history.finish(head);
        if let Some(ask) = ask {
            self.send(ask);
        }
        self.history_answer(answer, editor);
    }

    fn history_answer(&mut self, answer: Answer, editor: &mut Editor) {
        match answer {
            Answer::Nothing => {}
            Answer::Failed(why) => self.notices.push(why),
            Answer::Edit { ops, what } => match editor.edit(ops) {
                Ok(()) => self.notices.push(what),
                Err(e) => self.notices.push(format!("{what} failed: {e}")),
            },
            Answer::Export { text, what } => self.export = Some((text, what)),
        }
    }

    fn lose(&mut self, conflict: Option<Conflict>, ops: Vec<Operation>, reason: String) {
        self.lost.push(Lost {
            conflict,
            ops,
            reason,
            at: std::time::SystemTime::now(),
            restored: false,
        });
        self.unseen += 1;
    }

    /// Puts my value back for lost edit `index`, as a new change.
    pub fn restore_mine(&mut self, index: usize, editor: &mut Editor) -> Result<(), String> {
        let lost = self.lost.get(index).ok_or("no such conflict")?;
        let change = lost
            .restoring_change(editor.doc())
            .ok_or("this edit carried no value to restore")?;
        editor.edit(change).map_err(|e| e.to_string())?;
        if let Some(lost) = self.lost.get_mut(index) {
            lost.restored = true;
        }
        self.flush(editor);
        Ok(())
    }

    /// "Restore my copy", while the relay is behind this window: the document stays as this
    /// window has it, and goes to the relay as one new change on top of the relay's revision,
    /// so every window converges on it.
    pub fn restore_my_copy(&mut self, editor: &mut Editor) -> Result<(), String> {
        let Status::RelayBehind { relay, .. } = self.status else {
            return Err("the relay is not behind this window".to_owned());
        };
        editor.restore_my_copy().map_err(|e| e.to_string())?;
        self.flush(editor);
        self.notices.push(format!(
            "your copy goes to the relay as a change on top of {relay}"
        ));
        Ok(())
    }

    /// "Use the relay's", while the relay is behind this window: the document becomes the
    /// relay's; my unsynced edits are applied on it where they still apply (the others are
    /// listed among the conflicts), and what only this window had confirmed is gone.
    pub fn use_relay_copy(&mut self, editor: &mut Editor) -> Result<(), String> {
        let Status::RelayBehind { relay, .. } = self.status else {
            return Err("the relay is not behind this window".to_owned());
        };
        editor.use_relay_copy();
        self.flush(editor);
        self.notices
            .push(format!("this window now has the relay's copy at {relay}"));
        Ok(())
    }

    /// Tells the relay where I am, if that changed.
    pub fn set_presence(&mut self, selection: Option<Pointer>, caret: Option<usize>) {
        let here = (selection, caret);
        if self.presence_sent.as_ref() == Some(&here) || self.epoch.is_none() {
            return;
        }
        if !matches!(self.status, Status::Connected { .. }) {
            return;
        }
        let (selection, caret) = here.clone();
        self.send(ClientMessage::Presence { selection, caret });
        self.presence_sent = Some(here);
    }

    /// Sends `message` on the current connection (dropped if there is none: the replica
    /// sends its state again when it is welcomed).
    pub fn send(&mut self, message: ClientMessage) {
        self.confirming.sent(&message);
        if let Some(epoch) = self.epoch {
            // The queue holds a few messages at most (one change in flight); if it is full the
            // task is stuck, and the connection will be replaced.
            let _ = self
                .net
                .commands
                .try_send(NetCommand::Send { epoch, message });
        }
    }

    /// Writes the outbox to disk and waits for it (when the window closes).
    pub fn close(mut self, editor: &mut Editor) {
        self.flush(editor);
        self.save(editor);
        if let Some(outbox) = self.outbox.take() {
            outbox.close();
        }
    }
}

/// A sentence about a conflict I lost.
fn describe(conflict: &Conflict) -> String {
    let at = if conflict.path.is_root() {
        "the document".to_owned()
    } else {
        conflict.path.to_string()
    };
    match conflict.kind {
        ConflictKind::Overwritten => format!(
            "{}'s change replaced your edit at {at} ({})",
            conflict.winner.author, conflict.rev
        ),
        ConflictKind::Dropped => {
            let why = conflict
                .reason
                .map(|r| format!(": {}", r.describe()))
                .unwrap_or_default();
            format!(
                "your edit at {at} was dropped because of {}'s change{why} ({})",
                conflict.winner.author, conflict.rev
            )
        }
    }
}

/// `text` with every character but ASCII letters, digits and `keep` replaced by `with`, cut
/// to `max` characters: safe in file names and document ids.
fn safe_name(text: &str, keep: &[char], with: char, max: usize) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || keep.contains(&c) {
                c
            } else {
                with
            }
        })
        .take(max)
        .collect()
}

/// A fresh client id: random, so that no two windows anywhere share one.
pub fn new_client_id() -> String {
    let n = getrandom::u64().unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default()
            ^ u64::from(std::process::id())
    });
    format!("w{n:016x}")
}

/// Where sessions keep their outboxes: `sessions` in the platform's data directory.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "concord").map(|d| d.data_dir().join("sessions"))
}
