//! Collaboration in the workspace: joining and sharing, following other people's changes
//! with what is being edited, presence, patches as files.

use std::time::Duration;

use sync_core::protocol::Peer;
use sync_core::{Pointer, Value};

use super::intent::HistoryAsk;
use super::{Part, UNSAVED, Workspace};
use crate::editor::ValueKind;
use crate::session::host::{self, Host};
use crate::session::net::NetConfig;
use crate::session::{Link, Session, Status, Target, tls};

/// The Connect dialog's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectForm {
    /// An invite to fill the other fields from.
    pub invite: String,
    /// The relay's address.
    pub relay: String,
    /// The document id.
    pub doc: String,
    /// The display name.
    pub name: String,
    /// The token (may be empty).
    pub token: String,
    /// Why the last attempt was refused.
    pub error: Option<String>,
}

/// The Share dialog's state.
#[derive(Debug, Clone, Default)]
pub struct ShareForm {
    /// Let other computers on the network join (else this computer only).
    pub network: bool,
    /// Why sharing failed.
    pub error: Option<String>,
}

/// Which part of the side panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Who is here.
    People,
    /// My edits that lost.
    Conflicts,
    /// The revisions.
    History,
}

impl Workspace {
    /// The display name to use: the one in the settings, or "Anonymous".
    pub(crate) fn display_name(&self) -> String {
        let name = self.settings.display_name.trim();
        if name.is_empty() {
            "Anonymous".to_owned()
        } else {
            name.to_owned()
        }
    }

    /// Opens the Connect dialog, filled in from the last connection.
    pub(crate) fn open_connect_dialog(&mut self) {
        let last = self.settings.last_connection.clone().unwrap_or_default();
        self.connect = Some(ConnectForm {
            relay: last.relay,
            doc: last.doc,
            token: last.token.unwrap_or_default(),
            name: self.settings.display_name.clone(),
            ..ConnectForm::default()
        });
    }

    /// Joins `target` as `name`: the document replaces the one open (refused while that has
    /// unsaved changes). The connection is remembered in the settings.
    pub fn join(&mut self, target: Target, name: &str) -> Result<(), String> {
        target.validate()?;
        if self.editor.is_dirty() {
            return Err(UNSAVED.to_owned());
        }
        let runtime = self
            .runtime
            .clone()
            .ok_or("collaboration is not available here")?;
        let link = self.link(&target)?;
        self.end_session();
        let (session, editor) = Session::join(
            &runtime,
            target.clone(),
            name,
            self.sessions_dir().as_deref(),
            link,
        );
        self.start_session(session, editor);
        self.settings.remember_shared(&target);
        self.settings.last_connection = Some(target);
        if !name.is_empty() && self.settings.display_name != name {
            name.clone_into(&mut self.settings.display_name);
        }
        self.save_settings();
        Ok(())
    }

    /// Starts a relay in this window and shares the open document on it as a new document;
    /// the Share dialog then shows the invite.
    pub fn share(&mut self, network: bool) -> Result<(), String> {
        let runtime = self
            .runtime
            .clone()
            .ok_or("sharing is not available here")?;
        // A document the relay would refuse is not shared at all: the window keeps it as it is.
        let size = match self.editor.size() {
            crate::editor::DocumentSize::Exact(bytes) => bytes,
            _ => self.editor.doc().to_json().len(),
        };
        let limit = Host::max_document_bytes();
        if size > limit {
            return Err(format!(
                "this document is {} as JSON; a relay started in a window holds documents of up \
                 to {} (a relay of your own can hold more: max_document_bytes)",
                crate::editor::DocumentSize::Exact(size),
                crate::editor::DocumentSize::Exact(limit)
            ));
        }
        let data = self
            .data_dir
            .as_ref()
            .map(|d| d.join("relay"))
            .ok_or("sharing needs a data directory")?;
        let ip = if network {
            std::net::Ipv4Addr::UNSPECIFIED
        } else {
            std::net::Ipv4Addr::LOCALHOST
        };
        let host = Host::start(&runtime, (ip, 0).into(), &data).map_err(|e| format!("{e:#}"))?;
        let doc = host::new_document_id(self.editor.path());
        let name = self.display_name();
        let mut target = host.invite(&doc, &name);
        // This window joins through the loopback address, whatever others use.
        target.relay = format!("ws://127.0.0.1:{}", host.addr().port());
        let document = self.editor.doc().clone();
        let link = self.link(&target)?;
        self.end_session();
        let (session, mut editor) = Session::share(
            &runtime,
            target,
            &name,
            self.sessions_dir().as_deref(),
            link,
            &document,
        );
        editor.keep_file(&self.editor);
        // The same document: the tree stays as it was.
        editor.keep_view(&self.editor);
        self.start_session(session, editor);
        let invite = host.invite(&doc, "guest");
        self.host = Some((host, invite));
        Ok(())
    }

    /// Hands the certificates trusted now (the CA file changed) to a session on a `wss://`
    /// relay; one that is not connected tries again at once. A CA file that cannot be read is
    /// said in the status bar, and the session keeps what it trusted.
    pub(crate) fn retrust(&mut self) {
        let Some(session) = &mut self.session else {
            return;
        };
        if !session.target().relay.starts_with("wss://") {
            return;
        }
        let ca_file = tls::ca_file(self.settings.ca_file.as_deref());
        match tls::client_config(ca_file.as_deref()) {
            Ok(config) => session.trust(config),
            Err(e) => self.message = Some(e),
        }
    }

    /// How a session of this window connects to `target`: it wakes the window, and a
    /// `wss://` relay is trusted through the platform's certificates and the CA file of the
    /// preferences or `CONCORD_CA_FILE` (a CA file that cannot be read is an error then).
    pub(crate) fn link(&self, target: &Target) -> Result<Link, String> {
        let tls = if target.relay.starts_with("wss://") {
            let ca_file = tls::ca_file(self.settings.ca_file.as_deref());
            Some(tls::client_config(ca_file.as_deref())?)
        } else {
            None
        };
        let config = NetConfig {
            tls,
            ..NetConfig::default()
        };
        Ok(Link {
            wake: std::sync::Arc::new(self.waker()),
            config,
        })
    }

    /// The invite others use to join the shared document, while this window shares one.
    pub fn invite(&self) -> Option<&Target> {
        self.host.as_ref().map(|(_, invite)| invite)
    }

    pub(crate) fn start_session(&mut self, session: Session, editor: crate::editor::Editor) {
        let mut editor = editor;
        editor.select(self.editor.selected().cloned());
        self.editor = editor;
        self.editing = None;
        self.raw = None;
        self.search = None;
        self.session = Some(session);
        self.side = Some(Side::People);
    }

    /// Leaves the shared document (its unsynced edits stay in the outbox for next time) and
    /// stops the relay this window hosts, if any.
    pub(crate) fn end_session(&mut self) {
        if let Some(session) = self.session.take() {
            session.close(&mut self.editor);
        }
        if let (Some((host, _)), Some(runtime)) = (self.host.take(), &self.runtime) {
            host.stop(runtime, Duration::from_secs(5));
        }
    }

    pub(crate) fn sessions_dir(&self) -> Option<std::path::PathBuf> {
        self.data_dir.as_ref().map(|d| d.join("sessions"))
    }

    /// Someone else changed the document: a node to scroll to follows its node, shifted by
    /// insertions above it or carried by a move (the selection follows in the editor, the
    /// value being edited in [`Workspace::follow_remote_edits`]).
    fn follow_nodes(&mut self) {
        if let Some(path) = &self.scroll_to {
            self.scroll_to = self.editor.follow(path);
        }
        self.editor.take_moves();
    }

    /// The people other than me whose selection is `path`.
    pub(crate) fn peers_at<'a>(&'a self, path: &'a Pointer) -> impl Iterator<Item = &'a Peer> {
        let me = self.editor.replica().client();
        self.session
            .iter()
            .flat_map(|s| s.peers())
            .filter(move |p| p.client != *me && p.selection.as_ref() == Some(path))
    }

    /// Writes my unsynced changes as an RFC 6902 patch: what would turn the last confirmed
    /// document into the one I see. For a file edited alone, that is every edit since it
    /// was opened.
    pub fn unsynced_patch(&self) -> Result<String, String> {
        let state = self.editor.replica().save();
        let ops: Vec<sync_core::Operation> =
            state.pending.into_iter().flat_map(|p| p.ops).collect();
        if ops.is_empty() {
            return Err("there are no unsynced changes".to_owned());
        }
        let change = sync_core::Change(ops);
        let plain =
            sync_core::export::to_rfc6902(&state.confirmed, &change).map_err(|e| e.to_string())?;
        Ok(sync_core::export::patch_text(&plain))
    }

    /// Applies a patch (RFC 6902, Concord's extensions allowed) as one change; nothing changes
    /// if any of it does not apply.
    pub fn import_patch(&mut self, text: &str) -> Result<usize, String> {
        let change = sync_core::Change::from_json(text).map_err(|e| format!("not a patch: {e}"))?;
        let n = change.len();
        if n == 0 {
            return Err("the patch is empty".to_owned());
        }
        self.editor
            .edit(change.0)
            .map_err(|e| format!("the patch does not apply: {e}"))?;
        Ok(n)
    }
}

/// How someone else's change moved the text of the string being edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextShift {
    /// How the positions of the text moved.
    follow: sync_core::rebase::TextFollow,
    /// The length of the text now, in characters.
    chars: usize,
}

impl TextShift {
    /// Where a caret at `c` goes: it stays on the same character, or goes to the end of a
    /// text that was replaced whole.
    pub(crate) fn apply(&self, c: usize) -> usize {
        self.follow
            .position(c)
            .unwrap_or(self.chars)
            .min(self.chars)
    }
}

/// What a poll of the session asks of the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Polled {
    /// Poll again after this long (reconnecting, or saving what is not on disk yet).
    pub(crate) again_after: Option<Duration>,
    /// Someone else's change moved the text of the field being edited.
    pub(crate) shifted: Option<TextShift>,
}

impl Workspace {
    /// Once per frame, before it is drawn: takes in what came meanwhile (a file loaded, a
    /// file dialog's answer, what the relay sent). Returns what the window must do about it.
    pub(crate) fn poll(&mut self) -> Polled {
        self.poll_loading();
        // Saving lays files out as the settings say (by default, as each file was).
        self.editor.lay_out(self.settings.save_layout.layout());
        self.poll_dialog();
        self.poll_session()
    }

    /// Once per frame: takes in what the relay sent, keeps an edit in progress in step with
    /// other people's changes to the same string, and tells the relay where I am.
    fn poll_session(&mut self) -> Polled {
        let mut polled = Polled::default();
        let Some(session) = &mut self.session else {
            return polled;
        };
        let before = self.editor.generation();
        session.poll(&mut self.editor);
        let notices = session.take_notices();
        if !notices.is_empty() {
            self.message = Some(notices.join(" · "));
        }
        if self.editor.generation() != before {
            polled.shifted = self.follow_remote_edits();
            self.follow_nodes();
        }
        if let Some((text, what)) = self.session.as_mut().and_then(Session::take_export) {
            self.message = Some(format!("choose where to save {what}"));
            self.export = Some(text);
            self.start_dialog(crate::file_dialog::Purpose::ExportPatch);
        }
        let caret = self
            .editing
            .as_ref()
            .filter(|e| e.part == Part::Value && e.kind == ValueKind::String)
            .and_then(|e| e.caret);
        let selection = self.editor.selected().cloned();
        if let Some(session) = &mut self.session {
            session.set_presence(selection, caret);
            polled.again_after = match session.status() {
                Status::Reconnecting { .. } => Some(Duration::from_millis(250)),
                _ if !session.saved_locally(&self.editor) => Some(Duration::from_millis(50)),
                _ => None,
            };
        }
        polled
    }

    /// Someone else changed the document: an inline edit follows its node (and ends if it
    /// was removed); an edit of a string they also changed takes their change in, the caret
    /// staying on the same character (returned, for the field's own caret and selection).
    pub(super) fn follow_remote_edits(&mut self) -> Option<TextShift> {
        let editing = self.editing.as_mut()?;
        // Gone: removed by someone, or no longer in a document the relay sent whole.
        let Some(follow) = self
            .editor
            .follow_text(&editing.path)
            .filter(|f| f.path.resolve(self.editor.doc()).is_some())
        else {
            self.message = Some(format!(
                "someone removed {} while you were editing it",
                crate::words::path(&editing.path)
            ));
            self.editing = None;
            return None;
        };
        editing.path.clone_from(&follow.path);
        if editing.part != Part::Value || editing.kind != ValueKind::String {
            return None;
        }
        let Some(Value::String(now)) = editing.path.resolve(self.editor.doc()) else {
            return None;
        };
        let now = now.to_string();
        if now == editing.text {
            return None;
        }
        let shift = TextShift {
            follow,
            chars: now.chars().count(),
        };
        editing.caret = editing.caret.map(|c| shift.apply(c));
        editing.text = now;
        Some(shift)
    }
}

impl Workspace {
    /// Puts back the edit that lost at `index` of the session's lost edits.
    pub(crate) fn restore_mine(&mut self, index: usize) {
        let Some(session) = &mut self.session else {
            return;
        };
        if let Err(e) = session.restore_mine(index, &mut self.editor) {
            self.message = Some(format!("cannot restore: {e}"));
        }
    }

    /// The relay is behind this window: takes its copy (`relays`), or sends this window's on
    /// top of it.
    pub(crate) fn settle_relay_behind(&mut self, relays: bool) {
        let Some(session) = &mut self.session else {
            return;
        };
        let result = if relays {
            // The whole document may change under an edit in progress.
            self.editing = None;
            session.use_relay_copy(&mut self.editor)
        } else {
            session.restore_my_copy(&mut self.editor)
        };
        if let Err(e) = result {
            self.message = Some(format!("cannot do that: {e}"));
        }
    }

    /// Sends the relay what the History panel asks for.
    pub(crate) fn ask_history(&mut self, ask: HistoryAsk) {
        let Some(session) = &mut self.session else {
            return;
        };
        let history = &mut session.history;
        let asks = match ask {
            HistoryAsk::Refresh => {
                // While the relay is behind, its head is the relay's revision, not this
                // window's.
                let replica = self.editor.replica();
                history
                    .refresh(replica.relay_behind().or(replica.rev()))
                    .into_iter()
                    .collect()
            }
            HistoryAsk::Older => history.older().into_iter().collect(),
            HistoryAsk::View(rev) => vec![history.view(rev)],
            HistoryAsk::Revert(rev) => history.revert(rev),
            HistoryAsk::Restore(rev) => vec![history.restore(rev)],
            HistoryAsk::ExportSince(rev) => history.export_since(rev),
        };
        for ask in asks {
            session.send(ask);
        }
    }
}
