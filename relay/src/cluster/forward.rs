//! A connection forwarded to the relay that owns its document, frame for frame, and the
//! header that vouches for its client between relays.
//!
//! The relay a client reached has already checked the client's `hello` (its token, or its
//! right to come without one); it opens a websocket to the owner's `--node-url`, sends the same
//! `hello`, then passes every text frame on in both directions. The owner checks the `hello`
//! again. So that the owner sees the client as the first relay did (its address for the limits
//! and the log, whether it may come without a token), the first relay vouches for the client
//! in a header signed with the secret all relays of the cluster share ([`super::vouch`]).
//! Anybody else's header does not verify. A forwarded connection is never forwarded again: a
//! relay that does not own its document closes it with `owner_changed`, and the client
//! reconnects, so no loop can form while a lease moves.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use sync_core::protocol::ErrorCode;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::vouch::{HEADER, Vouch};
use crate::access::Access;
use crate::metrics::{bump, drop_one};
use crate::wire::Outbound;

/// What the first relay says of a forwarded client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Vouched {
    /// The client's address.
    pub(crate) client: IpAddr,
    /// Whether the first relay let it in without a token.
    pub(crate) anonymous: bool,
}

/// Frames from the client waiting to go to the owner.
const QUEUE: usize = 256;

/// The largest message the owner may send a forwarded client: what the app accepts.
const MAX_MESSAGE: usize = 256 << 20;

/// The websocket to the owner.
pub(crate) type Upstream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a websocket to the owner at `address` (through `tls` for `wss://`) with the vouching
/// `header`, and sends the client's `hello`. Fails (saying why) if that does not happen within
/// `within`.
pub(crate) async fn connect(
    (address, tls): (&str, &Arc<rustls::ClientConfig>),
    header: &str,
    hello: &str,
    within: Duration,
) -> Result<Upstream, String> {
    let opening = async {
        let mut request = address
            .into_client_request()
            .map_err(|e| format!("{address}: {e}"))?;
        let value = HeaderValue::from_str(header).map_err(|e| e.to_string())?;
        request.headers_mut().insert(HEADER, value);
        // The owner's messages are as large as its documents: a welcome, a snapshot.
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let connector = tokio_tungstenite::Connector::Rustls(Arc::clone(tls));
        let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            Some(connector),
        )
        .await
        .map_err(|e| format!("{address}: {e}"))?;
        ws.send(Message::text(hello))
            .await
            .map_err(|e| format!("{address}: {e}"))?;
        Ok(ws)
    };
    tokio::time::timeout(within, opening)
        .await
        .map_err(|_| format!("{address}: no answer within {} ms", within.as_millis()))?
}

/// Passes frames between the client (whose frames come on the returned channel, and whose
/// queue is `out`) and the owner, until either side ends. When the owner ends the connection,
/// its close frame goes to the client as it is; when the connection to the owner breaks or
/// goes silent (the owner is pinged as clients are, and must answer within the idle timeout),
/// the client is closed with `owner_changed` at once, so it reconnects and reaches the new
/// owner. A client that does not read what the owner sends is kicked (`slow_consumer`), as a
/// room would.
pub(crate) fn pipe(
    upstream: Box<Upstream>,
    (out, kick): (mpsc::Sender<Outbound>, tokio_util::sync::CancellationToken),
    shared: &crate::Shared,
) -> mpsc::Sender<Utf8Bytes> {
    let (tx, mut from_client) = mpsc::channel::<Utf8Bytes>(QUEUE);
    let metrics = std::sync::Arc::clone(&shared.metrics);
    let limits = &shared.config.limits;
    let (ping_every, silence) = (limits.ping_interval(), limits.idle_timeout());
    bump(&metrics.forwarded_connections);
    tokio::spawn(async move {
        let (mut sink, mut stream) = upstream.split();
        let mut ping = tokio::time::interval(ping_every);
        let mut heard = tokio::time::Instant::now();
        loop {
            tokio::select! {
                frame = from_client.recv() => match frame {
                    Some(text) => {
                        let sent = tokio::time::timeout(silence, sink.send(Message::Text(text))).await;
                        if !matches!(sent, Ok(Ok(()))) {
                            lost(&out, &kick);
                            break;
                        }
                    }
                    // The client left.
                    None => {
                        let _ = tokio::time::timeout(silence, sink.close()).await;
                        break;
                    }
                },
                frame = stream.next() => {
                    heard = tokio::time::Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            if out.try_send(Outbound::Text(text)).is_err() {
                                kick.cancel();
                                let _ = tokio::time::timeout(silence, sink.close()).await;
                                break;
                            }
                        }
                        Some(Ok(Message::Close(frame))) => {
                            if out.try_send(Outbound::Closed(frame)).is_err() {
                                kick.cancel();
                            }
                            break;
                        }
                        // Pongs and pings (answered by tungstenite); binary frames are not the
                        // protocol's.
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => {
                            lost(&out, &kick);
                            break;
                        }
                    }
                }
                _ = ping.tick() => {
                    let pinged = tokio::time::timeout(silence, sink.send(Message::Ping(Default::default()))).await;
                    if !matches!(pinged, Ok(Ok(()))) || heard.elapsed() > silence {
                        lost(&out, &kick);
                        break;
                    }
                }
            }
        }
        drop_one(&metrics.forwarded_connections);
    });
    tx
}

/// The connection to the owner broke or went silent: the client is told to reconnect (or
/// dropped, if its queue is full).
fn lost(out: &mpsc::Sender<Outbound>, kick: &tokio_util::sync::CancellationToken) {
    let close = Outbound::Close {
        code: ErrorCode::OwnerChanged,
        message: "the connection to the relay that owns the document broke; reconnect".to_owned(),
    };
    if out.try_send(close).is_err() {
        kick.cancel();
    }
}

/// Where a `hello` is served.
pub(crate) enum Routed {
    /// Here: this relay holds the document's lease.
    Here,
    /// By the owner, over this websocket (the `hello` already sent).
    There(Box<Upstream>),
    /// Nowhere now: the connection closes with this code and message.
    Nowhere(ErrorCode, String),
}

/// Finds where `doc` is served for a client this relay let in (`vouched` says who it is and
/// whether it came without a token; `hello` is its `hello` frame): here when this relay holds
/// or takes the lease; else by the owner, if it answers. An owner that does not answer keeps
/// its lease until it runs out, and then this relay takes the document: so this waits up to
/// twice the lease time before it answers `owner_unavailable`. A connection another relay
/// forwarded is not forwarded again (`owner_changed`).
pub(crate) async fn route(
    cluster: &Arc<super::Cluster>,
    access: &Access,
    (doc, hello): (&str, &str),
    (vouched, from_node, misdirected): (Vouched, bool, bool),
) -> Routed {
    let lease = cluster.lease();
    let deadline = tokio::time::Instant::now() + 2 * lease;
    let patience = (lease / 2).min(Duration::from_secs(3));
    loop {
        let failure = match cluster.claim(doc).await {
            Ok(_) if misdirected => {
                return Routed::Nowhere(
                    ErrorCode::OwnerUnavailable,
                    "the relay that passed this connection on meant it for another relay: a \
                     relay's --node-url leads here by mistake (its operator is told in the log)"
                        .to_owned(),
                );
            }
            Ok(super::Owner::Here) => return Routed::Here,
            Ok(super::Owner::There { .. }) if from_node => {
                return Routed::Nowhere(
                    ErrorCode::OwnerChanged,
                    "the document moved to another relay; reconnect".to_owned(),
                );
            }
            Ok(super::Owner::There { address, node }) => {
                let now = crate::wire::now_secs();
                let header = Vouch::new((vouched.client, vouched.anonymous), (&node, doc), now)
                    .and_then(|vouch| vouch.header(|text| access.vouch(text)));
                let Some(header) = header else {
                    return Routed::Nowhere(
                        ErrorCode::OwnerUnavailable,
                        "this relay has no signing secret to reach the others with".to_owned(),
                    );
                };
                match connect((&address, cluster.node_tls()), &header, hello, patience).await {
                    Ok(upstream) => return Routed::There(Box::new(upstream)),
                    Err(e) => format!("the relay that owns it ({node}) does not answer: {e}"),
                }
            }
            Err(e) => format!("the cluster's database cannot be reached: {e}"),
        };
        let now = tokio::time::Instant::now();
        if now >= deadline {
            tracing::warn!(doc, %failure, "no relay can serve the document");
            return Routed::Nowhere(
                ErrorCode::OwnerUnavailable,
                format!("document {doc} cannot be served now ({failure}); reconnect shortly"),
            );
        }
        tracing::debug!(doc, %failure, "waiting for the document's owner or its lease");
        tokio::time::sleep((lease / 10).min(deadline - now)).await;
    }
}
