//! The connection to a relay: one tokio task that connects, carries messages both ways, and
//! reconnects with backoff and jitter when the connection drops.
//!
//! The task knows nothing of documents: the UI thread holds the [`Replica`](sync_core::replica)
//! and answers [`NetEvent::Open`] with its `hello`. Each connection has an *epoch*; a message
//! the UI meant for an earlier connection is dropped, never sent on a newer one (where it would
//! arrive before the `hello`).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sync_core::parts;
use sync_core::protocol::{ClientMessage, ErrorCode, ServerMessage};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// What the network task tells the UI.
#[derive(Debug)]
pub enum NetEvent {
    /// An attempt to connect started (the first is 1).
    Connecting {
        /// Attempts since the last connection that worked.
        attempt: u32,
    },
    /// The socket is open: the UI says `hello` with this epoch.
    Open {
        /// Identifies this connection.
        epoch: u64,
    },
    /// A message from the relay.
    Message {
        /// The connection it came on.
        epoch: u64,
        /// The message.
        message: Box<ServerMessage>,
    },
    /// The relay sent something that is not a protocol message; it was ignored.
    Garbled {
        /// What was wrong with it.
        error: String,
    },
    /// The connection closed or could not be made.
    Closed {
        /// Why, for people.
        reason: String,
        /// When the next attempt starts; `None` when the task waits for
        /// [`NetCommand::Connect`] (the user went offline, or the relay refused this client
        /// for good: a bad token, say).
        retry_at: Option<std::time::Instant>,
    },
}

/// What the UI tells the network task.
#[derive(Debug)]
pub enum NetCommand {
    /// Send `message` if the connection `epoch` is still the current one.
    Send {
        /// The connection it is meant for.
        epoch: u64,
        /// The message.
        message: ClientMessage,
    },
    /// Connect now: skip the wait before the next attempt, or come back online.
    Connect,
    /// Close the connection and stay offline until [`NetCommand::Connect`].
    Disconnect,
    /// Trust these certificates for `wss://` from now on (the CA file changed), and try again
    /// at once if not connected.
    Trust(std::sync::Arc<rustls::ClientConfig>),
}

/// How the task connects and when it gives up on a connection.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Longest wait for the socket to open.
    pub connect_timeout: Duration,
    /// A connection silent this long (the relay pings every 20 s by default) is dead.
    pub silence_timeout: Duration,
    /// The wait after the first failure; it doubles with each failure after it.
    pub backoff_min: Duration,
    /// The longest wait.
    pub backoff_max: Duration,
    /// The largest message accepted from the relay. A welcome carries the whole document.
    pub max_message_bytes: usize,
    /// The certificates a `wss://` relay may present ([`super::tls::client_config`]); `None`:
    /// the platform's roots alone.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Default for NetConfig {
    fn default() -> NetConfig {
        NetConfig {
            connect_timeout: Duration::from_secs(10),
            silence_timeout: Duration::from_secs(50),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_message_bytes: 256 << 20,
            tls: None,
        }
    }
}

impl NetConfig {
    /// The wait before attempt `failures + 1`: exponential, capped, with "equal jitter" (a
    /// random point in the upper half), so that windows dropped together do not all come
    /// back at the same instant. `random` is uniform in `0..=u64::MAX`.
    pub fn backoff(&self, failures: u32, random: u64) -> Duration {
        let exponent = failures.saturating_sub(1).min(16);
        let full = self
            .backoff_min
            .saturating_mul(1 << exponent)
            .min(self.backoff_max);
        let half = full / 2;
        let fraction = (random >> 11) as f64 / (1u64 << 53) as f64;
        half + half.mul_f64(fraction)
    }
}

/// Codes after which trying again cannot help until the user changes something.
const FATAL: [ErrorCode; 7] = [
    ErrorCode::Unauthorized,
    ErrorCode::TokenExpired,
    ErrorCode::TokenRevoked,
    ErrorCode::Forbidden,
    ErrorCode::InvalidDocumentId,
    ErrorCode::InvalidClientId,
    ErrorCode::UnsupportedProtocol,
];

/// Wakes the UI after an event was queued (`egui::Context::request_repaint` in the app).
pub type Wake = std::sync::Arc<dyn Fn() + Send + Sync>;

/// The UI's ends of the channels.
pub struct NetHandle {
    /// Commands to the task. Dropping it ends the task (the socket is closed cleanly).
    pub commands: mpsc::Sender<NetCommand>,
    /// Events from the task.
    pub events: mpsc::Receiver<NetEvent>,
}

/// Events queued for the UI at most; the task waits (and so reads nothing more from the
/// socket) while the UI is this far behind.
const EVENT_QUEUE: usize = 1024;
/// Commands queued for the task at most.
const COMMAND_QUEUE: usize = 256;

/// Starts the task on `runtime`, connecting to `url` at once.
pub fn spawn(
    runtime: &tokio::runtime::Handle,
    url: String,
    config: NetConfig,
    wake: Wake,
) -> NetHandle {
    let (command_tx, command_rx) = mpsc::channel(COMMAND_QUEUE);
    let (event_tx, event_rx) = mpsc::channel(EVENT_QUEUE);
    let task = Task {
        url,
        config,
        commands: command_rx,
        events: event_tx,
        wake,
        epoch: 0,
    };
    runtime.spawn(task.run());
    NetHandle {
        commands: command_tx,
        events: event_rx,
    }
}

struct Task {
    url: String,
    config: NetConfig,
    commands: mpsc::Receiver<NetCommand>,
    events: mpsc::Sender<NetEvent>,
    wake: Wake,
    epoch: u64,
}

/// How a connection ended.
enum End {
    /// It dropped or failed; try again after a wait.
    Retry(String),
    /// Stay offline until told to connect.
    Wait(String),
    /// The UI is gone.
    Quit,
}

impl Task {
    async fn run(mut self) {
        let mut failures = 0u32;
        loop {
            if !self
                .emit(NetEvent::Connecting {
                    attempt: failures + 1,
                })
                .await
            {
                return;
            }
            let (end, connected) = self.connect_and_serve().await;
            if connected {
                failures = 0;
            }
            let wait = match end {
                End::Quit => return,
                End::Wait(reason) => {
                    if !self
                        .emit(NetEvent::Closed {
                            reason,
                            retry_at: None,
                        })
                        .await
                    {
                        return;
                    }
                    None
                }
                End::Retry(reason) => {
                    failures = failures.saturating_add(1);
                    let delay = self
                        .config
                        .backoff(failures, getrandom::u64().unwrap_or(u64::MAX / 2));
                    let retry_at = std::time::Instant::now() + delay;
                    if !self
                        .emit(NetEvent::Closed {
                            reason,
                            retry_at: Some(retry_at),
                        })
                        .await
                    {
                        return;
                    }
                    Some(Instant::now() + delay)
                }
            };
            match self.wait(wait).await {
                Some(reset) => {
                    if reset {
                        failures = 0;
                    }
                }
                None => return,
            }
        }
    }

    /// Waits until `until` (forever if `None`) or a `Connect`. Returns `None` if the UI is
    /// gone, else whether the user asked to connect (which resets the backoff).
    async fn wait(&mut self, until: Option<Instant>) -> Option<bool> {
        let mut online = until.is_some();
        let mut until = until;
        loop {
            let sleep = async {
                match until {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = sleep => return Some(false),
                command = self.commands.recv() => match command? {
                    NetCommand::Connect => return Some(true),
                    NetCommand::Trust(tls) => {
                        self.config.tls = Some(tls);
                        return Some(true);
                    }
                    NetCommand::Disconnect => {
                        if online {
                            online = false;
                            until = None;
                            let event = NetEvent::Closed {
                                reason: "by choice".to_owned(),
                                retry_at: None,
                            };
                            if !self.emit(event).await {
                                return None;
                            }
                        }
                    }
                    // Meant for a connection that is gone.
                    NetCommand::Send { .. } => {}
                },
            }
        }
    }

    /// Queues an event for the UI and wakes it; `false` if the UI is gone.
    async fn emit(&self, event: NetEvent) -> bool {
        let sent = self.events.send(event).await.is_ok();
        (self.wake)();
        sent
    }

    /// One connection, from opening it to its end. Also says whether it opened.
    async fn connect_and_serve(&mut self) -> (End, bool) {
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(self.config.max_message_bytes))
            .max_frame_size(Some(self.config.max_message_bytes));
        // Only `wss://` needs the certificates (`ws://` stays plain whatever the connector).
        let tls = match &self.config.tls {
            _ if !self.url.starts_with("wss://") => None,
            Some(tls) => Some(std::sync::Arc::clone(tls)),
            // The platform's roots, read once (off the UI thread) and kept.
            None => match tokio::task::spawn_blocking(|| super::tls::client_config(None))
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
            {
                Ok(tls) => {
                    self.config.tls = Some(std::sync::Arc::clone(&tls));
                    Some(tls)
                }
                Err(e) => return (End::Retry(e), false),
            },
        };
        let connect = tokio_tungstenite::connect_async_tls_with_config(
            self.url.as_str(),
            Some(ws_config),
            true,
            tls.map(tokio_tungstenite::Connector::Rustls),
        );
        let ws = tokio::select! {
            result = tokio::time::timeout(self.config.connect_timeout, connect) => match result {
                Ok(Ok((ws, _response))) => ws,
                Ok(Err(e)) => return (End::Retry(describe_connect_error(&e)), false),
                Err(_) => return (End::Retry("the relay did not answer in time".to_owned()), false),
            },
            command = self.commands.recv() => return match command {
                None => (End::Quit, false),
                Some(NetCommand::Disconnect) => (End::Wait("by choice".to_owned()), false),
                Some(NetCommand::Trust(tls)) => {
                    self.config.tls = Some(tls);
                    (End::Retry("connection restarted".to_owned()), false)
                }
                // Already connecting; a stale send is dropped.
                Some(NetCommand::Connect | NetCommand::Send { .. }) => {
                    (End::Retry("connection restarted".to_owned()), false)
                }
            },
        };
        self.epoch += 1;
        let epoch = self.epoch;
        if !self.emit(NetEvent::Open { epoch }).await {
            return (End::Quit, true);
        }
        (self.serve(ws, epoch).await, true)
    }

    async fn serve<S>(&mut self, ws: tokio_tungstenite::WebSocketStream<S>, epoch: u64) -> End
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let (mut sink, mut stream) = ws.split();
        let mut fatal: Option<String> = None;
        loop {
            let silence = tokio::time::sleep(self.config.silence_timeout);
            tokio::select! {
                () = silence => {
                    return End::Retry("the relay went silent".to_owned());
                }
                frame = stream.next() => {
                    let text = match frame {
                        None => return ended(fatal, "the relay closed the connection".to_owned()),
                        Some(Err(e)) => return ended(fatal, format!("connection lost: {e}")),
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(frame))) => {
                            let reason = frame
                                .map(|f| f.reason.to_string())
                                .filter(|r| !r.is_empty())
                                .unwrap_or_else(|| "closed".to_owned());
                            return ended(fatal, format!("the relay closed the connection ({reason})"));
                        }
                        // Pings are answered by tungstenite; binary frames are not ours.
                        Some(Ok(_)) => continue,
                    };
                    let event = match serde_json::from_str::<ServerMessage>(&text) {
                        Ok(message) => {
                            if let ServerMessage::Error { code, message: text } = &message
                                && FATAL.iter().any(|c| c.as_str() == code)
                            {
                                fatal = Some(format!("{text} ({code})"));
                            }
                            NetEvent::Message { epoch, message: Box::new(message) }
                        }
                        Err(e) => NetEvent::Garbled { error: e.to_string() },
                    };
                    if !self.emit(event).await {
                        let _ = sink.close().await;
                        return End::Quit;
                    }
                }
                command = self.commands.recv() => match command {
                    None => {
                        let _ = sink.close().await;
                        return End::Quit;
                    }
                    Some(NetCommand::Disconnect) => {
                        let _ = sink.close().await;
                        return End::Wait("by choice".to_owned());
                    }
                    Some(NetCommand::Connect) => {}
                    // Connected already: the new trust serves the next connection.
                    Some(NetCommand::Trust(tls)) => self.config.tls = Some(tls),
                    Some(NetCommand::Send { epoch: for_epoch, message }) => {
                        if for_epoch != epoch {
                            continue;
                        }
                        if let Err(e) = send(&mut sink, &message).await {
                            return End::Retry(format!("connection lost: {e}"));
                        }
                    }
                },
            }
        }
    }
}

/// Sends `message` in the frames the relay accepts: a change longer than a frame goes in
/// parts ([`sync_core::parts`]), whether it is sent for the first time or again after a
/// reconnect, since both come here.
pub async fn send<S>(sink: &mut S, message: &ClientMessage) -> Result<(), S::Error>
where
    S: futures_util::Sink<Message> + Unpin,
{
    // Messages are plain data; encoding them cannot fail.
    let Ok(frames) = parts::frames(message, parts::FRAME_LIMIT) else {
        return Ok(());
    };
    for frame in frames {
        sink.feed(Message::text(frame)).await?;
    }
    sink.flush().await
}

/// The end of a connection that closed: after a fatal error, wait for the user.
fn ended(fatal: Option<String>, reason: String) -> End {
    match fatal {
        Some(fatal) => End::Wait(fatal),
        None => End::Retry(reason),
    }
}

fn describe_connect_error(e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "the relay is not running (connection refused)".to_owned()
        }
        Error::Io(io) => super::tls::describe(io).unwrap_or_else(|| format!("cannot connect: {e}")),
        Error::Tls(e) => format!("cannot connect securely: {e}"),
        Error::Url(url) => format!("not a relay address: {url}"),
        other => format!("cannot connect: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered_in_the_upper_half() {
        let config = NetConfig::default();
        assert_eq!(config.backoff(1, 0), Duration::from_millis(250));
        assert_eq!(config.backoff(1, u64::MAX), Duration::from_millis(500));
        assert_eq!(config.backoff(3, 0), Duration::from_secs(1));
        assert_eq!(config.backoff(3, u64::MAX), Duration::from_secs(2));
        for failures in [7, 20, u32::MAX] {
            let wait = config.backoff(failures, u64::MAX);
            assert!(wait <= Duration::from_secs(30), "{failures}: {wait:?}");
            assert!(config.backoff(failures, 0) >= Duration::from_secs(15));
        }
        let mid = config.backoff(2, u64::MAX / 2);
        assert!(mid > Duration::from_millis(500) && mid < Duration::from_secs(1));
    }

    #[test]
    fn what_a_cluster_of_relays_answers_while_a_document_moves_is_retried() {
        // A relay that cannot reach the owner yet, one that lost the document to another, one
        // stopping for a rolling restart: none of them stops the retries.
        for code in [
            ErrorCode::OwnerUnavailable,
            ErrorCode::OwnerChanged,
            ErrorCode::ShuttingDown,
            ErrorCode::StorageFailed,
            ErrorCode::DocumentUnavailable,
            ErrorCode::TooManyConnections,
        ] {
            assert!(!FATAL.contains(&code), "{code:?}");
        }
        assert!(matches!(ended(None, "closed".to_owned()), End::Retry(_)));
    }
}
