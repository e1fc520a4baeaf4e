//! A room: one task per loaded document, owning its [`Authority`]. Connections send it commands
//! on a bounded channel; it applies submits in batches, stores each batch in one transaction
//! (group commit), and only then answers and fans out. Nothing awaits while it holds a lock:
//! the Authority belongs to the task alone. A join whose snapshot needs the newcomer's conflict
//! records from the store waits for them off the task, while the room goes on (`welcome`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sync_core::authority::{Authority, AuthorityConfig};
use sync_core::protocol::{ClientId, ErrorCode, Overwrite, Revision, Role, ServerMessage};
use sync_core::{Operation, Pointer, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cluster::{Cluster, Held, Owner};
use crate::config::Config;
use crate::metrics::{Metrics, bump, drop_one};
use crate::store::{Fence, Store};
use crate::wire::{Outbound, encode, now_millis};

use batch::Stop;

mod batch;
mod welcome;

/// Commands a room takes at once, at most.
const BATCH: usize = 256;

/// A connection in a room.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The connection, unique in the relay.
    pub(crate) conn: u64,
    /// The replica behind it.
    pub(crate) client: ClientId,
    /// Whose name its changes carry.
    pub(crate) author: String,
    /// What its token allows.
    pub(crate) role: Role,
    /// Where its messages go.
    pub(crate) out: mpsc::Sender<Outbound>,
    /// Cancelled by the room when the connection must close (slow consumer, storage failure),
    /// after putting the reason in `out` if it could.
    pub(crate) kick: CancellationToken,
}

/// What a connection asks of its room.
#[derive(Debug)]
pub(crate) enum Request {
    /// Enter the room; the room answers with `welcome` (or an error) on the member's channel.
    Join {
        /// The connection.
        member: Member,
        /// The revision it holds.
        last_rev: Option<Revision>,
        /// Answered with whether the room took it.
        joined: oneshot::Sender<Result<(), ErrorCode>>,
    },
    /// A change.
    Submit {
        /// From which connection.
        conn: u64,
        /// The client's sequence number.
        seq: u64,
        /// The revision it was made on.
        base_rev: Revision,
        /// Its operations.
        ops: Vec<Operation>,
        /// Others' writes it overwrites that the sender met rebasing it itself.
        overwrites: Vec<Overwrite>,
    },
    /// Where the member's user is.
    Presence {
        /// From which connection.
        conn: u64,
        /// The selected node.
        selection: Option<Pointer>,
        /// The caret in a string.
        caret: Option<usize>,
    },
    /// A change the connection could not read (its values nest too deep): answered with a
    /// `reject`, after the answers to what came before it.
    Reject {
        /// From which connection.
        conn: u64,
        /// The change's sequence number.
        seq: u64,
        /// The reject code.
        code: &'static str,
        /// Why, for people.
        message: String,
    },
    /// The changes in a range.
    History {
        /// From which connection.
        conn: u64,
        /// The first revision wanted (the change that produced it).
        from: Revision,
        /// The last revision wanted (the head if absent).
        to: Option<Revision>,
    },
    /// The document at a revision (the head if absent).
    Snapshot {
        /// From which connection.
        conn: u64,
        /// Which revision.
        rev: Option<Revision>,
    },
    /// The connection closed.
    Leave {
        /// Which.
        conn: u64,
    },
}

/// The loaded documents, by id.
pub(crate) struct Rooms {
    rooms: Mutex<HashMap<String, mpsc::Sender<Request>>>,
    store: Store,
    /// The cluster this relay is part of (with a PostgreSQL store): a room serves its
    /// document only while this relay holds the document's lease.
    cluster: Option<Arc<Cluster>>,
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl Rooms {
    /// No rooms yet; rooms start on first use and are tracked by `tracker` until they end.
    pub(crate) fn new(
        store: Store,
        cluster: Option<Arc<Cluster>>,
        config: Arc<Config>,
        metrics: Arc<Metrics>,
        tracker: TaskTracker,
        shutdown: CancellationToken,
    ) -> Arc<Rooms> {
        Arc::new(Rooms {
            rooms: Mutex::new(HashMap::new()),
            store,
            cluster,
            config,
            metrics,
            tracker,
            shutdown,
        })
    }

    /// The room of `doc`, started (and its document loaded) if it is not running.
    pub(crate) fn room(self: &Arc<Self>, doc: &str) -> mpsc::Sender<Request> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = rooms.get(doc)
            && !tx.is_closed()
        {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(1024);
        rooms.insert(doc.to_owned(), tx.clone());
        let rooms_handle = Arc::clone(self);
        let doc = doc.to_owned();
        self.tracker.spawn(async move {
            bump(&rooms_handle.metrics.documents);
            run_room(&rooms_handle, &doc, rx).await;
            drop_one(&rooms_handle.metrics.documents);
        });
        tx
    }

    /// Forgets `doc`'s room if `tx` is still the one registered.
    fn unregister(&self, doc: &str, tx: &mpsc::Sender<Request>) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if rooms.get(doc).is_some_and(|t| t.same_channel(tx)) {
            rooms.remove(doc);
        }
    }

    /// Unregisters an idle room, if nothing is queued for it: under the registry's lock, so no
    /// connection can find it afterwards (one that found it before sees its channel closed and
    /// asks again).
    fn unload_if_idle(
        &self,
        doc: &str,
        tx: &mpsc::Sender<Request>,
        rx: &mpsc::Receiver<Request>,
    ) -> bool {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if !rx.is_empty() {
            return false;
        }
        if rooms.get(doc).is_some_and(|t| t.same_channel(tx)) {
            rooms.remove(doc);
        }
        true
    }
}

/// Who a message goes to.
#[derive(Clone, Copy)]
enum To {
    One(u64),
    AllBut(u64),
    All,
}

impl To {
    fn includes(self, conn: u64) -> bool {
        match self {
            To::One(one) => conn == one,
            To::AllBut(but) => conn != but,
            To::All => true,
        }
    }
}

/// The recipients of a queued message, fixed when it is queued: the members `to` names among
/// those that had joined by then. A member who joins later in the same batch gets its welcome
/// first and nothing from before it.
#[derive(Clone, Copy)]
struct Recipients {
    to: To,
    joined_before: u64,
}

/// A member and when it joined (counted in joins, room-wide).
struct Present {
    member: Member,
    joined: u64,
}

struct Room<'a> {
    doc: &'a str,
    authority: Authority,
    members: Vec<Present>,
    /// How many joins the room has seen (numbering its members).
    joins: u64,
    /// The document's size in compact JSON, estimated from above (see [`Room::fits`]).
    size: usize,
    /// The revision of the last stored snapshot.
    snapshot_rev: Revision,
    /// The lease every batch is stored under, in a cluster.
    fence: Option<Fence>,
    /// The store's reads for parked joins (see `welcome`).
    reading: JoinSet<welcome::Read>,
    rooms: &'a Rooms,
}

async fn run_room(rooms: &Arc<Rooms>, doc: &str, mut rx: mpsc::Receiver<Request>) {
    let me = match rooms.rooms.lock() {
        Ok(map) => map.get(doc).cloned(),
        Err(e) => e.into_inner().get(doc).cloned(),
    };
    let Some(me) = me else { return };
    // In a cluster, the document is served only under this relay's lease, taken before the
    // room was asked for (see `conn`).
    let held = match &rooms.cluster {
        None => None,
        // The lease was given back or lost between the claim and this room's start (the room
        // before this one unloaded meanwhile, say): claimed again if nobody else has it.
        Some(cluster) => match held_or_claimed(cluster, doc).await {
            Some(held) => Some((Arc::clone(cluster), held)),
            None => {
                rooms.unregister(doc, &me);
                let message = "this relay does not own the document (any more); reconnect";
                refuse_all(&mut rx, ErrorCode::OwnerChanged, message).await;
                return;
            }
        },
    };
    let fence = held.as_ref().map(|(cluster, held)| cluster.fence(held));
    let mut room = match load(rooms, doc, fence).await {
        Ok(room) => room,
        Err(message) => {
            tracing::error!(doc, %message, "document failed to load; it is not served");
            rooms.unregister(doc, &me);
            // Not served here: the lease goes back, so that the document is not pinned to
            // this relay.
            if let Some((cluster, held)) = &held {
                cluster.release(doc, held).await;
            }
            refuse_all(&mut rx, ErrorCode::DocumentUnavailable, &message).await;
            return;
        }
    };
    tracing::info!(doc, rev = room.authority.rev().0, "document loaded");
    let lost = async {
        match &held {
            Some((_, held)) => held.lost.cancelled().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(lost);
    let idle = Duration::from_secs(rooms.config.documents.idle_unload_secs);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_activity = tokio::time::Instant::now();
    let mut commands = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            biased;
            () = &mut lost => {
                let message = "this relay no longer owns the document; reconnect to reach the one that does";
                room.fail(ErrorCode::OwnerChanged, message);
                rooms.unregister(doc, &me);
                refuse_all(&mut rx, ErrorCode::OwnerChanged, message).await;
                return;
            }
            Some(read) = room.reading.join_next() => {
                match read {
                    Ok(read) => room.caught(read),
                    // Its join is dropped: the connection asks again.
                    Err(e) => tracing::error!(doc, error = %e, "a read for a welcome failed"),
                }
                last_activity = tokio::time::Instant::now();
            }
            n = rx.recv_many(&mut commands, BATCH) => {
                if n == 0 {
                    break;
                }
                let batch = std::mem::take(&mut commands);
                let (code, message) = match room.handle(batch).await {
                    Ok(()) => {
                        last_activity = tokio::time::Instant::now();
                        continue;
                    }
                    Err(Stop::Storage(message)) => {
                        tracing::error!(doc, %message, "storage failed; the document stops acknowledging");
                        if let Some((cluster, held)) = &held {
                            cluster.release(doc, held).await;
                        }
                        let told = format!("the relay could not store changes ({message}); reconnect later");
                        (ErrorCode::StorageFailed, told)
                    }
                    Err(Stop::LeaseLost(message)) => {
                        tracing::warn!(doc, %message, "fenced: another relay owns the document now");
                        if let Some((cluster, held)) = &held {
                            cluster.lose(doc, held);
                        }
                        (ErrorCode::OwnerChanged, "this relay no longer owns the document; reconnect to reach the one that does".to_owned())
                    }
                };
                room.fail(code, &message);
                rooms.unregister(doc, &me);
                refuse_all(&mut rx, code, &message).await;
                return;
            }
            () = rooms.shutdown.cancelled() => {
                // Serve what is queued (storing it), then end.
                rx.close();
            }
            _ = tick.tick() => {
                room.expire_presence();
                if room.members.is_empty() && room.reading.is_empty() && last_activity.elapsed() >= idle && rooms.unload_if_idle(doc, &me, &rx) {
                    if let Some((cluster, held)) = &held {
                        cluster.release(doc, held).await;
                    }
                    break;
                }
            }
        }
    }
    for Present { member, .. } in room.members.drain(..) {
        let close = Outbound::Close {
            code: ErrorCode::ShuttingDown,
            message: "the document closed; reconnect".to_owned(),
        };
        if member.out.try_send(close).is_err() {
            member.kick.cancel();
        }
    }
    tracing::info!(doc, rev = room.authority.rev().0, "document unloaded");
}

/// This relay's lease on `doc`, taken now if nobody holds it.
async fn held_or_claimed(cluster: &Arc<Cluster>, doc: &str) -> Option<Held> {
    if let Some(held) = cluster.serve(doc) {
        return Some(held);
    }
    match cluster.claim(doc).await {
        Ok(Owner::Here) => cluster.serve(doc),
        Ok(Owner::There { .. }) => None,
        Err(e) if cluster.is_stopping() => {
            tracing::debug!(doc, error = %e, "no lease claimed: the relay is stopping");
            None
        }
        Err(e) => {
            tracing::warn!(doc, error = %e, "cannot claim the document's lease");
            None
        }
    }
}

/// Answers every queued join with `code` until the channel closes.
async fn refuse_all(rx: &mut mpsc::Receiver<Request>, code: ErrorCode, message: &str) {
    rx.close();
    while let Some(command) = rx.recv().await {
        if let Request::Join { joined, .. } = command {
            let _ = joined.send(Err(code));
        }
    }
    tracing::debug!(%message, "room closed");
}

/// How the relay's settings tune a document's Authority.
fn authority_config(config: &Config) -> AuthorityConfig {
    let docs = &config.documents;
    AuthorityConfig {
        retained: docs.retained_changes,
        presence_timeout_ms: docs.presence_timeout_secs.saturating_mul(1000),
        ..AuthorityConfig::default()
    }
}

async fn load<'a>(
    rooms: &'a Rooms,
    doc: &'a str,
    fence: Option<Fence>,
) -> Result<Room<'a>, String> {
    let config = authority_config(&rooms.config);
    let loaded = rooms.store.load(doc).await.map_err(|e| e.to_string())?;
    let (authority, snapshot_rev) = match loaded {
        None => (
            Authority::new(Value::Object(Default::default()), config),
            Revision(0),
        ),
        Some(l) => {
            let rev = l.snapshot_rev;
            let authority = Authority::restore(l.snapshot, rev, l.changes, l.clients, config)
                .map_err(|e| e.to_string())?;
            (authority, rev)
        }
    };
    let size = authority.document().to_json().len();
    Ok(Room {
        doc,
        authority,
        members: Vec::new(),
        joins: 0,
        size,
        snapshot_rev,
        fence,
        reading: JoinSet::new(),
        rooms,
    })
}

impl Room<'_> {
    /// The members `to` names, as of now.
    fn recipients(&self, to: To) -> Recipients {
        Recipients {
            to,
            joined_before: self.joins,
        }
    }

    fn member(&self, conn: u64) -> Option<&Member> {
        self.members
            .iter()
            .map(|p| &p.member)
            .find(|m| m.conn == conn)
    }

    fn presence_text(&mut self) -> Utf8Bytes {
        encode(&ServerMessage::Presence {
            peers: self.authority.presence().peers(),
        })
    }

    /// Keeps live connections present and lets the rest expire.
    fn expire_presence(&mut self) {
        let now = now_millis();
        let live: Vec<ClientId> = self
            .members
            .iter()
            .map(|p| p.member.client.clone())
            .collect();
        let presence = self.authority.presence();
        for client in &live {
            presence.touch(client, now);
        }
        if !presence.expire(now).is_empty() {
            let text = self.presence_text();
            let everyone = self.recipients(To::All);
            self.deliver(everyone, &text);
        }
    }

    /// Queues `text` for its recipients. A member whose queue is full has fallen behind: it is
    /// removed and told to reconnect and catch up, never silently skipped.
    fn deliver(&mut self, to: Recipients, text: &Utf8Bytes) {
        let mut slow = Vec::new();
        for Present { member, joined } in &self.members {
            if *joined < to.joined_before
                && to.to.includes(member.conn)
                && member.out.try_send(Outbound::Text(text.clone())).is_err()
            {
                slow.push(member.conn);
            }
        }
        for conn in slow {
            if let Some(at) = self.members.iter().position(|p| p.member.conn == conn) {
                let member = self.members.remove(at).member;
                bump(&self.rooms.metrics.queue_drops);
                tracing::warn!(doc = self.doc, conn, "client fell behind; told to resync");
                member.kick.cancel();
            }
        }
    }

    /// The room stops (storage failed, or the lease is gone): every member is told why, with
    /// `code`, and closed; nothing more is acknowledged.
    fn fail(&mut self, code: ErrorCode, message: &str) {
        for Present { member, .. } in self.members.drain(..) {
            let close = Outbound::Close {
                code,
                message: message.to_owned(),
            };
            if member.out.try_send(close).is_err() {
                member.kick.cancel();
            }
        }
    }
}

/// An `error` message.
fn error_message(code: ErrorCode, message: String) -> ServerMessage {
    ServerMessage::Error {
        code: code.as_str().to_owned(),
        message,
    }
}
