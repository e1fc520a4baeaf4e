//! One websocket connection: the handshake, `hello` (version, document id, token), then a
//! reader that checks and forwards messages to the document's room, and a writer task that
//! drains a bounded queue and pings. Every bad input is answered with an `error` carrying a
//! stable code; the connection goes on where it can. A change sent in parts is joined by the
//! reader ([`crate::upload`]) and then served exactly like a `submit` that came whole.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sync_core::parts::SubmitPart;
use sync_core::protocol::{ClientMessage, ErrorCode, PROTOCOL_VERSION};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes, error::CapacityError};
use tokio_util::sync::CancellationToken;

use crate::Shared;
use crate::access::{Holding, Revocation};
use crate::admission::admit;
use crate::bucket::{Bucket, READ_COST};
use crate::cluster::forward::{self, Routed, Vouched};
use crate::config::Limits;
use crate::frame::{self, Frame, Unreadable};
use crate::gate::Pass;
use crate::metrics::bump;
use crate::peer::Peer;
use crate::room::{Member, Request};
use crate::stream::Stream;
use crate::upload::{Step, Upload};
use crate::wire::{Outbound, error_text, now_millis};

/// How a connection ends, as a websocket close code.
fn close_code(code: ErrorCode) -> CloseCode {
    match code {
        ErrorCode::ShuttingDown => CloseCode::Away,
        ErrorCode::FrameTooLarge => CloseCode::Size,
        ErrorCode::StorageFailed | ErrorCode::DocumentUnavailable => CloseCode::Error,
        ErrorCode::TooManyConnections | ErrorCode::OwnerUnavailable => CloseCode::Again,
        ErrorCode::OwnerChanged => CloseCode::Restart,
        ErrorCode::InvalidJson => CloseCode::Invalid,
        // Application codes (4000-4999): "fell behind, reconnect and catch up".
        ErrorCode::SlowConsumer => CloseCode::Library(4008),
        _ => CloseCode::Policy,
    }
}

/// The websocket settings: messages and frames no larger than the configured limit, and small
/// buffers (tungstenite allocates its read buffer up front, 128 KiB by default: with
/// thousands of mostly idle connections that would be most of the relay's memory).
fn ws_config(shared: &Shared) -> WebSocketConfig {
    let max = shared.config.limits.max_message_bytes;
    WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
}

/// Accepts the websocket handshake, or gives up at `deadline`.
pub(crate) async fn accept(
    stream: Stream,
    shared: &Shared,
    deadline: Instant,
) -> Option<WebSocketStream<Stream>> {
    let handshake = tokio_tungstenite::accept_async_with_config(stream, Some(ws_config(shared)));
    match tokio::time::timeout_at(deadline, handshake).await {
        Ok(Ok(ws)) => Some(ws),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "websocket handshake failed");
            None
        }
        Err(_) => None,
    }
}

/// Tells a connection over the cap why it is refused, and closes it.
pub(crate) async fn refuse(mut ws: WebSocketStream<Stream>, code: ErrorCode, message: &str) {
    send_close(&mut ws, code, message).await;
    let _ = SinkExt::close(&mut ws).await;
}

/// Sends the `error` that says why, then the close frame with the matching close code. A
/// connection that is already gone has nobody to tell, so failures are ignored.
async fn send_close<S>(sink: &mut S, code: ErrorCode, message: &str)
where
    S: futures_util::Sink<Message> + Unpin,
{
    let _ = sink.send(Message::Text(error_text(code, message))).await;
    let close = CloseFrame {
        code: close_code(code),
        reason: code.as_str().into(),
    };
    let _ = sink.send(Message::Close(Some(close))).await;
}

/// Where the connection is in its life.
enum State {
    /// Waiting for `hello`.
    New,
    /// In a room.
    Joined {
        room: mpsc::Sender<Request>,
        bucket: Bucket,
        /// A change being sent in parts.
        upload: Upload,
        /// The hold on the token it came with, so that revoking the token closes it.
        _token: Option<Holding>,
    },
    /// Forwarded to the relay that owns the document (in a cluster): every text frame goes
    /// there as it is.
    Forwarded {
        upstream: mpsc::Sender<Utf8Bytes>,
        /// The hold on the token it came with, so that revoking the token closes it.
        _token: Option<Holding>,
    },
}

impl State {
    fn joined(room: mpsc::Sender<Request>, limits: &Limits, token: Option<Holding>) -> State {
        State::Joined {
            room,
            bucket: Bucket::new(limits.ops_per_second, limits.ops_burst),
            upload: Upload::new(limits.max_upload_bytes()),
            _token: token,
        }
    }
}

/// Whether to go on reading after a message.
enum Next {
    Continue,
    Close(ErrorCode, String),
}

/// Who is on a connection: its number, its peer, the signal that its token was revoked, and
/// its place among the connections that have not said hello (given up once it is admitted).
struct Who {
    conn: u64,
    peer: Peer,
    revocation: Revocation,
    pass: std::sync::Mutex<Option<Pass>>,
}

/// Serves an accepted websocket until it closes. `pass` holds its place among the connections
/// that have not said hello until its hello is admitted, which must come by `hello_deadline`.
pub(crate) async fn serve(
    ws: WebSocketStream<Stream>,
    shared: Arc<Shared>,
    (conn, peer): (u64, Peer),
    pass: Pass,
    hello_deadline: Instant,
) {
    let (sink, mut stream) = ws.split();
    let (out, out_rx) = mpsc::channel(shared.config.limits.outbound_queue.max(1));
    let kick = CancellationToken::new();
    let done = CancellationToken::new();
    let finish = CancellationToken::new();
    let mut writer = tokio::spawn(write_loop(
        sink,
        out_rx,
        Ends {
            kick: kick.clone(),
            finish: finish.clone(),
            done: done.clone(),
            shutdown: shared.shutdown.clone(),
        },
        shared.config.limits.ping_interval(),
    ));
    let limits = &shared.config.limits;
    let mut last_heard = Instant::now();
    let mut state = State::New;
    let who = Who {
        conn,
        peer,
        revocation: Revocation::default(),
        pass: std::sync::Mutex::new(Some(pass)),
    };
    let end: Option<(ErrorCode, String)> = loop {
        let deadline = match state {
            State::New => hello_deadline,
            State::Joined { .. } | State::Forwarded { .. } => last_heard + limits.idle_timeout(),
        };
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else { break None };
                last_heard = Instant::now();
                let next = match message {
                    Ok(Message::Text(text)) => {
                        if let State::Forwarded { upstream, .. } = &state {
                            // The owner checks it. The pipe takes frames as fast as the owner
                            // does; while it waits, the connection can still end.
                            tokio::select! {
                                sent = upstream.send(text) => if sent.is_err() { break None },
                                reason = who.revocation.revoked() => break Some((ErrorCode::TokenRevoked, reason)),
                                () = kick.cancelled() => break None,
                                () = done.cancelled() => break None,
                            }
                            continue;
                        }
                        on_text(&text, &mut state, &shared, &who, &out, &kick).await
                    }
                    Ok(Message::Binary(_)) => {
                        reply(&out, &kick, &shared, ErrorCode::BinaryFrame, "the protocol uses text frames; this binary frame was ignored");
                        Next::Continue
                    }
                    Ok(Message::Close(_)) => break None,
                    Ok(_) => Next::Continue,
                    Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                        Next::Close(ErrorCode::FrameTooLarge, format!("a message of {size} bytes is over the limit of {max_size}"))
                    }
                    Err(WsError::Capacity(e)) => Next::Close(ErrorCode::FrameTooLarge, e.to_string()),
                    // The websocket protocol ends a connection that sends invalid UTF-8.
                    Err(WsError::Utf8(_)) => Next::Close(ErrorCode::InvalidJson, "a text frame that is not valid UTF-8".to_owned()),
                    Err(e) => {
                        tracing::debug!(conn, error = %e, "connection failed");
                        break None;
                    }
                };
                if let Next::Close(code, message) = next {
                    break Some((code, message));
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                break Some(match state {
                    State::New => (ErrorCode::HelloTimeout, format!("no hello within {} s", limits.hello_timeout_secs)),
                    State::Joined { .. } | State::Forwarded { .. } => (ErrorCode::IdleTimeout, format!("nothing heard for {} s", limits.idle_timeout_secs)),
                });
            }
            reason = who.revocation.revoked() => break Some((ErrorCode::TokenRevoked, reason)),
            // Too slow for the room, or the writer ended: leave the room now.
            () = kick.cancelled() => break None,
            () = done.cancelled() => break None,
        }
    };
    if let Some((code, message)) = end {
        bump(&shared.metrics.errors);
        // Ends the writer after everything queued before it. A full queue means the client
        // is not reading: the writer is dropped below instead.
        let _ = out.try_send(Outbound::Close { code, message });
    }
    if let State::Joined { room, .. } = &state {
        let _ = room.send(Request::Leave { conn }).await;
    }
    // The room may still have the queue's sender: the writer is told to end once the queue
    // is empty, which sends the reply to a client's close at once.
    drop(state);
    drop(out);
    finish.cancel();
    // A client that stopped reading gets the idle timeout to read what is queued (a slow
    // consumer is told to resync that way); after that its socket is dropped.
    if tokio::time::timeout(limits.idle_timeout(), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}

/// Queues an error for the client. A client whose queue is full is not reading: it is kicked.
fn reply(
    out: &mpsc::Sender<Outbound>,
    kick: &CancellationToken,
    shared: &Shared,
    code: ErrorCode,
    message: &str,
) {
    bump(&shared.metrics.errors);
    if out
        .try_send(Outbound::Text(error_text(code, message)))
        .is_err()
    {
        kick.cancel();
    }
}

async fn on_text(
    text: &str,
    state: &mut State,
    shared: &Arc<Shared>,
    who: &Who,
    out: &mpsc::Sender<Outbound>,
    kick: &CancellationToken,
) -> Next {
    let reader = Reader {
        shared,
        text,
        pass: &who.pass,
        conn: who.conn,
        peer: &who.peer,
        revocation: &who.revocation,
        out,
        kick,
    };
    match frame::read(text) {
        Ok(Frame::Message(message)) => reader.message(message, state).await,
        Ok(Frame::Part(part)) => reader.part(part, state).await,
        Err(unreadable) => reader.unreadable(unreadable, state).await,
    }
}

/// What the connection's reader answers with: its connection and the relay's shared state.
struct Reader<'a> {
    shared: &'a Arc<Shared>,
    /// The frame being read, as it came.
    text: &'a str,
    pass: &'a std::sync::Mutex<Option<Pass>>,
    conn: u64,
    peer: &'a Peer,
    revocation: &'a Revocation,
    out: &'a mpsc::Sender<Outbound>,
    kick: &'a CancellationToken,
}

impl Reader<'_> {
    fn reply(&self, code: ErrorCode, message: &str) {
        reply(self.out, self.kick, self.shared, code, message);
    }

    fn hello_required(&self) -> Next {
        self.reply(
            ErrorCode::HelloRequired,
            "the first message must be hello; this one was ignored",
        );
        Next::Continue
    }

    /// Passes `command` to the room; a room that is gone ends the connection.
    async fn to_room(&self, room: &mpsc::Sender<Request>, command: Request) -> Next {
        if room.send(command).await.is_err() {
            return Next::Close(
                ErrorCode::ShuttingDown,
                "the document is no longer served on this connection (the relay may be shutting down); reconnect".to_owned(),
            );
        }
        Next::Continue
    }

    /// Rejects change `seq` through the room, so that the reject comes after the answers to
    /// earlier changes.
    async fn reject(&self, state: &State, seq: u64, code: &'static str, message: String) -> Next {
        let State::Joined { room, .. } = state else {
            return self.hello_required();
        };
        let command = Request::Reject {
            conn: self.conn,
            seq,
            code,
            message,
        };
        self.to_room(room, command).await
    }

    async fn unreadable(&self, unreadable: Unreadable, state: &State) -> Next {
        match unreadable {
            Unreadable::Error(code, message) => {
                self.reply(code, &message);
                Next::Continue
            }
            Unreadable::Reject { seq, code, message } => {
                self.reject(state, seq, code, message).await
            }
        }
    }

    /// A slice of a change sent in parts; the last one is served as the whole `submit`.
    async fn part(&self, part: SubmitPart<'_>, state: &mut State) -> Next {
        let State::Joined { upload, .. } = state else {
            return self.hello_required();
        };
        let (seq, text) = match upload.push(part) {
            Ok(Step::Pending) => return Next::Continue,
            Ok(Step::Complete { seq, text }) => (seq, text),
            Ok(Step::TooLarge { seq, message }) => {
                return self.reject(state, seq, "document_too_large", message).await;
            }
            Err((code, message)) => {
                self.reply(code, &message);
                return Next::Continue;
            }
        };
        let read = match frame::read(&text) {
            Ok(Frame::Message(message @ ClientMessage::Submit { seq: s, .. })) if s == seq => {
                Ok(message)
            }
            Ok(_) => Err(Unreadable::Error(
                ErrorCode::InvalidMessage,
                format!("the parts of change {seq} do not hold a submit of change {seq}"),
            )),
            Err(Unreadable::Reject {
                seq: s,
                code,
                message,
            }) if s == seq => Err(Unreadable::Reject { seq, code, message }),
            Err(Unreadable::Reject { .. }) => Err(Unreadable::Error(
                ErrorCode::InvalidMessage,
                format!("the parts of change {seq} hold a submit of another change"),
            )),
            Err(Unreadable::Error(code, message)) => Err(Unreadable::Error(
                code,
                format!("the parts of change {seq}: {message}"),
            )),
        };
        // The text is read: release it before waiting on the room.
        drop(text);
        match read {
            Ok(submit) => self.message(submit, state).await,
            Err(unreadable) => self.unreadable(unreadable, state).await,
        }
    }

    async fn message(&self, message: ClientMessage, state: &mut State) -> Next {
        match (message, &mut *state) {
            (
                ClientMessage::Hello {
                    protocol,
                    doc,
                    client,
                    token,
                    last_rev,
                    name,
                },
                State::New,
            ) => {
                if protocol != PROTOCOL_VERSION {
                    return Next::Close(
                        ErrorCode::UnsupportedProtocol,
                        format!("this relay speaks protocol {PROTOCOL_VERSION}, not {protocol}"),
                    );
                }
                if let Err(message) = crate::docid::validate(&doc) {
                    return Next::Close(ErrorCode::InvalidDocumentId, message);
                }
                if let Err(e) = client.validate() {
                    return Next::Close(ErrorCode::InvalidClientId, e.to_string());
                }
                let admitted = match admit(self.shared, self.peer, token.as_deref(), &doc, &name) {
                    Ok(admitted) => admitted,
                    Err((code, message)) => return Next::Close(code, message),
                };
                // Admitted: no longer among those that have not said hello, even while it
                // waits for its document's owner.
                drop(
                    self.pass
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .take(),
                );
                let holding = admitted.token.map(|id| {
                    let access = &self.shared.access;
                    access.hold(id, self.conn, self.revocation.clone())
                });
                // Checked again now that a revocation would find this connection.
                if let (Some(_), Some(token)) = (&holding, &token)
                    && let Err((code, message)) =
                        self.shared.access.verify(token, now_millis() / 1000)
                {
                    return Next::Close(code, message);
                }
                if let Some(cluster) = &self.shared.cluster {
                    let vouched = Vouched {
                        client: self.peer.client,
                        anonymous: token.is_none(),
                    };
                    let (doc, hello) = (doc.as_str(), self.text);
                    let (from_node, misdirected) = (self.peer.from_node, self.peer.misdirected);
                    let access = &self.shared.access;
                    let routing = forward::route(
                        cluster,
                        access,
                        (doc, hello),
                        (vouched, from_node, misdirected),
                    );
                    // A relay stopping does not wait for an owner to come back.
                    let routed = tokio::select! {
                        routed = routing => routed,
                        () = self.shared.shutdown.cancelled() => Routed::Nowhere(
                            ErrorCode::ShuttingDown,
                            "the relay is shutting down; reconnect later".to_owned(),
                        ),
                    };
                    match routed {
                        Routed::Here => {}
                        Routed::There(upstream) => {
                            tracing::debug!(
                                conn = self.conn,
                                doc,
                                "forwarded to the document's owner"
                            );
                            let upstream = forward::pipe(
                                upstream,
                                (self.out.clone(), self.kick.clone()),
                                self.shared,
                            );
                            *state = State::Forwarded {
                                upstream,
                                _token: holding,
                            };
                            return Next::Continue;
                        }
                        Routed::Nowhere(code, message) => return Next::Close(code, message),
                    }
                }
                let member = Member {
                    conn: self.conn,
                    client,
                    author: admitted.author,
                    role: admitted.role,
                    out: self.out.clone(),
                    kick: self.kick.clone(),
                };
                match join(self.shared, &doc, member, last_rev).await {
                    Ok(room) => {
                        tracing::debug!(conn = self.conn, doc, "joined");
                        *state = State::joined(room, &self.shared.config.limits, holding);
                        Next::Continue
                    }
                    Err(code) => {
                        let message = match code {
                            ErrorCode::OwnerChanged => format!(
                                "another relay owns document {doc} now; reconnect to reach it"
                            ),
                            _ => format!("document {doc} cannot be served; it is left as stored"),
                        };
                        Next::Close(code, message)
                    }
                }
            }
            (ClientMessage::Hello { .. }, State::Joined { .. }) => {
                self.reply(
                    ErrorCode::DuplicateHello,
                    "this connection already said hello; the second one was ignored",
                );
                Next::Continue
            }
            (_, State::New) => self.hello_required(),
            // Forwarded frames never come here.
            (_, State::Forwarded { .. }) => Next::Continue,
            (message, State::Joined { room, bucket, .. }) => {
                let conn = self.conn;
                let command = match message {
                    ClientMessage::Submit {
                        seq,
                        base_rev,
                        ops,
                        overwrites,
                    } => {
                        if !bucket.take(ops.len()) {
                            let limits = &self.shared.config.limits;
                            self.reply(
                                ErrorCode::RateLimited,
                                &format!(
                                    "change {seq} was not applied: more than {} operations a second (bursts of {}); send it again shortly",
                                    limits.ops_per_second, limits.ops_burst
                                ),
                            );
                            return Next::Continue;
                        }
                        Request::Submit {
                            conn,
                            seq,
                            base_rev,
                            ops,
                            overwrites,
                        }
                    }
                    ClientMessage::Presence { selection, caret } => Request::Presence {
                        conn,
                        selection,
                        caret,
                    },
                    ClientMessage::History { .. } | ClientMessage::Snapshot { .. }
                        if !bucket.take(READ_COST) =>
                    {
                        self.reply(
                            ErrorCode::RateLimited,
                            "history and snapshots are asked for too often; ask again shortly",
                        );
                        return Next::Continue;
                    }
                    ClientMessage::History { from, to } => Request::History { conn, from, to },
                    ClientMessage::Snapshot { rev } => Request::Snapshot { conn, rev },
                    ClientMessage::Hello { .. } => return Next::Continue,
                };
                self.to_room(room, command).await
            }
        }
    }
}

/// Enters the document's room. A room that closed meanwhile (unloaded when idle) is started
/// again.
async fn join(
    shared: &Arc<Shared>,
    doc: &str,
    member: Member,
    last_rev: Option<sync_core::protocol::Revision>,
) -> Result<mpsc::Sender<Request>, ErrorCode> {
    for _ in 0..3 {
        let room = shared.rooms.room(doc);
        let (joined, answer) = oneshot::channel();
        let command = Request::Join {
            member: member.clone(),
            last_rev,
            joined,
        };
        if room.send(command).await.is_err() {
            continue;
        }
        match answer.await {
            Ok(Ok(())) => return Ok(room),
            Ok(Err(code)) => return Err(code),
            Err(_) => continue,
        }
    }
    Err(ErrorCode::DocumentUnavailable)
}

/// What ends a connection's writer, and what it signals when it ends.
struct Ends {
    /// The client is too slow: close with `slow_consumer`.
    kick: CancellationToken,
    /// The reader is done: close once the queue is empty.
    finish: CancellationToken,
    /// Cancelled by the writer when it ends, so that the reader stops too.
    done: CancellationToken,
    /// The relay is shutting down.
    shutdown: CancellationToken,
}

/// Sends queued messages and pings; ends on a close, a kick (slow consumer), the reader's end
/// or shutdown.
async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocketStream<Stream>, Message>,
    mut out_rx: mpsc::Receiver<Outbound>,
    ends: Ends,
    ping_every: Duration,
) {
    let Ends {
        kick,
        finish,
        done,
        shutdown,
    } = ends;
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    let close = loop {
        tokio::select! {
            biased;
            () = kick.cancelled() => {
                break Some((ErrorCode::SlowConsumer, "this connection fell behind; reconnect to catch up".to_owned()));
            }
            outbound = out_rx.recv() => match outbound {
                Some(Outbound::Text(text)) => {
                    if sink.send(Message::Text(text)).await.is_err() {
                        break None;
                    }
                }
                Some(Outbound::Close { code, message }) => break Some((code, message)),
                Some(Outbound::Closed(frame)) => {
                    let _ = sink.send(Message::Close(frame)).await;
                    break None;
                }
                None => break None,
            },
            () = shutdown.cancelled() => {
                break Some((ErrorCode::ShuttingDown, "the relay is shutting down; reconnect later".to_owned()));
            }
            () = finish.cancelled() => break None,
            _ = ping.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break None;
                }
            }
        }
    };
    if let Some((code, message)) = close {
        send_close(&mut sink, code, &message).await;
    }
    let _ = sink.close().await;
    done.cancel();
}
