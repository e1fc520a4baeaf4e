//! End-to-end harness: a relay in-process on `127.0.0.1:0` with its own data directory, raw
//! protocol clients, and peers that drive a real [`Replica`] over a real socket. Used by the
//! tests in `tests/` and by the `loadgen` binary.

pub mod balancer;
pub mod cluster;
mod temp;
pub mod tls;

pub use temp::{TempDir, temp_dir};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use relay::config::Config;
use relay::store::Store;
use sync_core::protocol::{
    CatchUp, ClientId, ClientMessage, PROTOCOL_VERSION, Revision, ServerMessage,
};
use sync_core::replica::{Event, Replica};
use sync_core::{Operation, Value};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// The whole answer (status line, headers, body) of a relay to `GET path` over plain HTTP.
pub async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: relay\r\n\r\n").as_bytes())
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}

/// How long a test waits for an expected message.
pub const WAIT: Duration = Duration::from_secs(10);

/// Copies a stopped relay's data directory to `to`, replacing whatever is there: taking a
/// backup, or restoring one.
pub fn copy_data_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// A relay running in this process.
pub struct TestRelay {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its store, for tests that make storage fail.
    pub store: Store,
    /// Whether it serves `wss://` (for `localhost`).
    tls: bool,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    /// The data directory made for it: removed with it if it is dropped without being
    /// stopped (a test that failed), or by [`TestRelay::discard`]; kept by
    /// [`TestRelay::stop`], for a relay started again on it.
    own_dir: Option<TempDir>,
}

impl TestRelay {
    /// Starts a relay with the default config, changed by `tweak`, on a fresh data directory.
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> anyhow::Result<TestRelay> {
        let dir = temp_dir("relay");
        let mut relay = TestRelay::start_in(&dir, tweak).await?;
        relay.own_dir = Some(dir);
        Ok(relay)
    }

    /// Starts a relay on `data_dir` (which may hold an earlier relay's data).
    pub async fn start_in(
        data_dir: &Path,
        tweak: impl FnOnce(&mut Config),
    ) -> anyhow::Result<TestRelay> {
        TestRelay::start_on(data_dir, None, tweak).await
    }

    /// Starts a relay again where an earlier one listened, on its data: what clients see as
    /// the relay coming back.
    pub async fn restart_at(data_dir: &Path, addr: SocketAddr) -> anyhow::Result<TestRelay> {
        TestRelay::start_on(data_dir, Some(addr), |_| {}).await
    }

    async fn start_on(
        data_dir: &Path,
        addr: Option<SocketAddr>,
        tweak: impl FnOnce(&mut Config),
    ) -> anyhow::Result<TestRelay> {
        let mut config = Config {
            data_dir: data_dir.to_path_buf(),
            ..Config::default()
        };
        tweak(&mut config);
        let listener = match addr {
            Some(addr) => tokio::net::TcpListener::bind(addr).await?,
            None => tokio::net::TcpListener::bind(config.listen.ip().to_string() + ":0").await?,
        };
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        std::fs::create_dir_all(data_dir)?;
        let store = Store::connect(&config.location(), &config.postgres_options()).await?;
        let tls = config.tls.is_some();
        let task = tokio::spawn(relay::run_with_store(
            listener,
            config,
            store.clone(),
            shutdown.clone(),
        ));
        Ok(TestRelay {
            addr,
            data_dir: data_dir.to_path_buf(),
            store,
            tls,
            shutdown,
            task,
            own_dir: None,
        })
    }

    /// The document as a new client is welcomed with it: its revision and content.
    pub async fn stored(&self, doc: &str) -> anyhow::Result<(Revision, Value)> {
        let (_client, welcome) = Client::join(self.addr, doc, "inspector", None, None).await?;
        match welcome {
            ServerMessage::Welcome {
                rev,
                catch_up: CatchUp::Snapshot { doc, .. },
                ..
            } => Ok((rev, doc)),
            other => bail!("expected a welcome with a snapshot, got {other:?}"),
        }
    }

    /// The websocket URL: `ws://ADDR`, or `wss://localhost:PORT` when it serves TLS.
    pub fn url(&self) -> String {
        if self.tls {
            format!("wss://localhost:{}", self.addr.port())
        } else {
            format!("ws://{}", self.addr)
        }
    }

    /// Shuts the relay down gracefully and waits until it has stored everything.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        // Stopped, not dropped: a test may start a relay again on its data, so the directory
        // made for it stays (until a later test process sweeps it away).
        if let Some(dir) = self.own_dir.take() {
            dir.keep();
        }
        self.shutdown.cancel();
        (&mut self.task).await?
    }

    /// Shuts the relay down gracefully, then removes the data directory made for it: the end
    /// of a test that needs its data no more.
    pub async fn discard(mut self) -> anyhow::Result<()> {
        let dir = self.own_dir.take();
        self.shutdown.cancel();
        let stopped = (&mut self.task).await;
        drop(dir);
        stopped?
    }
}

impl Drop for TestRelay {
    /// Dropped without being stopped (a test that failed): it is told to stop, and its task
    /// ends with the runtime; the directory made for it goes after this.
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A raw protocol client: sends and receives messages as they are.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects (no `hello` yet).
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Client> {
        Client::dial(addr, &Dial::default()).await
    }

    /// Connects as `dial` says (no `hello` yet).
    pub async fn dial(addr: SocketAddr, dial: &Dial) -> anyhow::Result<Client> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
        // What the relay sends is bounded by its document size limit, not by the 16 MiB
        // default: a welcome that catches up with many changes can be larger.
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(256 << 20))
            .max_frame_size(Some(256 << 20));
        let url = match &dial.tls {
            // The name the test certificates are made for.
            Some(_) => format!("wss://localhost:{}", addr.port()),
            None => format!("ws://{addr}"),
        };
        let mut request = url.into_client_request()?;
        for (name, value) in &dial.headers {
            request.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes())?,
                HeaderValue::from_str(value)?,
            );
        }
        let stream = tcp_from(dial.from, addr).await?;
        let connector = dial
            .tls
            .clone()
            .map(tokio_tungstenite::Connector::Rustls)
            .unwrap_or(tokio_tungstenite::Connector::Plain);
        let (ws, _) = tokio_tungstenite::client_async_tls_with_config(
            request,
            stream,
            Some(config),
            Some(connector),
        )
        .await
        .context("websocket connect")?;
        Ok(Client { ws })
    }

    /// Connects and says hello; returns the client and the relay's answer.
    pub async fn join(
        addr: SocketAddr,
        doc: &str,
        client: &str,
        token: Option<String>,
        last_rev: Option<Revision>,
    ) -> anyhow::Result<(Client, ServerMessage)> {
        let mut c = Client::connect(addr).await?;
        c.send(&hello(doc, client, token, last_rev)).await?;
        let answer = c.recv().await?;
        Ok((c, answer))
    }

    /// [`Client::join`] as `dial` says (TLS, headers, a local address), without a token or a
    /// revision held.
    pub async fn join_dialed(
        addr: SocketAddr,
        dial: &Dial,
        doc: &str,
        client: &str,
    ) -> anyhow::Result<(Client, ServerMessage)> {
        let mut c = Client::dial(addr, dial).await?;
        c.send(&hello(doc, client, None, None)).await?;
        let answer = c.recv().await?;
        Ok((c, answer))
    }

    /// Sends a message.
    pub async fn send(&mut self, message: &ClientMessage) -> anyhow::Result<()> {
        self.send_raw(Message::Text(serde_json::to_string(message)?.into()))
            .await
    }

    /// Sends a message as a window does: a change longer than a frame in parts
    /// ([`sync_core::parts`]).
    pub async fn send_in_frames(&mut self, message: &ClientMessage) -> anyhow::Result<()> {
        for frame in sync_core::parts::frames(message, sync_core::parts::FRAME_LIMIT)? {
            self.ws
                .feed(Message::Text(frame.into()))
                .await
                .context("send")?;
        }
        self.ws.flush().await.context("send")
    }

    /// Sends a frame as it is.
    pub async fn send_raw(&mut self, frame: Message) -> anyhow::Result<()> {
        self.ws.send(frame).await.context("send")
    }

    /// The next message (pings and pongs skipped), within [`WAIT`].
    pub async fn recv(&mut self) -> anyhow::Result<ServerMessage> {
        tokio::time::timeout(WAIT, self.recv_frame())
            .await
            .context("no message in time")?
    }

    /// The next message, however long it takes (cancel-safe: nothing is lost if the future is
    /// dropped before it completes).
    pub async fn recv_frame(&mut self) -> anyhow::Result<ServerMessage> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(&text)
                        .with_context(|| format!("not a server message: {text}"));
                }
                Some(Ok(Message::Close(frame))) => bail!("closed: {frame:?}"),
                Some(Ok(_)) => {}
                Some(Err(e)) => bail!("connection failed: {e}"),
                None => bail!("connection ended"),
            }
        }
    }

    /// Messages until one satisfies `wanted`, which is returned.
    pub async fn recv_until(
        &mut self,
        mut wanted: impl FnMut(&ServerMessage) -> bool,
    ) -> anyhow::Result<ServerMessage> {
        loop {
            let message = self.recv().await?;
            if wanted(&message) {
                return Ok(message);
            }
        }
    }

    /// Waits for the relay's next ping (within [`WAIT`]), passing over other messages.
    pub async fn pinged(&mut self) -> anyhow::Result<()> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .context("no ping in time")?;
            match frame {
                Some(Ok(Message::Ping(_))) => return Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) => bail!("connection failed: {e}"),
                None => bail!("connection ended"),
            }
        }
    }

    /// Closes the connection (politely: a close frame, then the socket).
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// Waits for the connection to close; returns the close code.
    pub async fn closed(&mut self) -> anyhow::Result<Option<u16>> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .context("not closed in time")?;
            match frame {
                Some(Ok(Message::Close(frame))) => return Ok(frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ok(None),
            }
        }
    }
}

/// How a raw [`Client`] reaches the relay.
#[derive(Debug, Clone, Default)]
pub struct Dial {
    /// The local address to connect from (any loopback address on Linux: `127.0.0.2` is
    /// another peer than `127.0.0.1`).
    pub from: Option<std::net::IpAddr>,
    /// Headers added to the upgrade request, as a proxy would add them.
    pub headers: Vec<(String, String)>,
    /// `wss://localhost:PORT` with this TLS configuration, instead of `ws://`.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// A TCP connection to `addr`, from `from` when given.
pub async fn tcp_from(
    from: Option<std::net::IpAddr>,
    addr: SocketAddr,
) -> anyhow::Result<TcpStream> {
    let Some(from) = from else {
        return Ok(TcpStream::connect(addr).await?);
    };
    let socket = match from {
        std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(from, 0))?;
    Ok(socket.connect(addr).await?)
}

/// A `hello`.
pub fn hello(
    doc: &str,
    client: &str,
    token: Option<String>,
    last_rev: Option<Revision>,
) -> ClientMessage {
    ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        doc: doc.to_owned(),
        client: ClientId::from(client),
        token,
        last_rev,
        name: client.to_owned(),
    }
}

/// The `code` of an `error` message, or a description of what came instead.
pub fn error_code(message: &ServerMessage) -> String {
    match message {
        ServerMessage::Error { code, .. } => code.clone(),
        other => format!("not an error: {other:?}"),
    }
}

/// A relay running as a separate process (the `relay-process` binary of this package, which is
/// the `concord-relay` command line), so that it can be killed.
pub struct RelayProcess {
    /// Where it listens.
    pub addr: SocketAddr,
    child: std::process::Child,
}

impl RelayProcess {
    /// Starts `relay-process serve` on `data_dir` and waits until it accepts connections.
    pub async fn start(binary: &Path, data_dir: &Path) -> anyhow::Result<RelayProcess> {
        RelayProcess::start_with(binary, data_dir, &[]).await
    }

    /// [`RelayProcess::start`] with more options for `serve`.
    pub async fn start_with(
        binary: &Path,
        data_dir: &Path,
        options: &[&std::ffi::OsStr],
    ) -> anyhow::Result<RelayProcess> {
        // A free port: bound, read, released, then given to the relay.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        RelayProcess::start_at(binary, data_dir, addr, options).await
    }

    /// [`RelayProcess::start_with`] listening on `addr` (where an earlier one listened).
    pub async fn start_at(
        binary: &Path,
        data_dir: &Path,
        addr: SocketAddr,
        options: &[&std::ffi::OsStr],
    ) -> anyhow::Result<RelayProcess> {
        let child = std::process::Command::new(binary)
            .args(["serve", "--listen", &addr.to_string(), "--data-dir"])
            .arg(data_dir)
            .args(options)
            .env("RUST_LOG", "warn")
            .spawn()
            .context("cannot start the relay process")?;
        let relay = RelayProcess { addr, child };
        let deadline = tokio::time::Instant::now() + WAIT;
        while TcpStream::connect(addr).await.is_err() {
            if tokio::time::Instant::now() > deadline {
                bail!("the relay process did not start listening on {addr}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(relay)
    }

    /// Kills it with SIGKILL: no shutdown, no flushing, as in a crash or a power cut (for the
    /// process; the operating system keeps what was written).
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Stops it with SIGTERM, gracefully, and waits for it to exit.
    pub fn terminate(mut self) -> anyhow::Result<std::process::ExitStatus> {
        self.signal(nix::sys::signal::Signal::SIGTERM)?;
        Ok(self.child.wait()?)
    }

    /// Sends it `signal` (SIGHUP, say).
    pub fn signal(&self, signal: nix::sys::signal::Signal) -> anyhow::Result<()> {
        let pid = i32::try_from(self.child.id())?;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal)?;
        Ok(())
    }
}

/// A relay process outlives no test: one that failed kills what it started.
impl Drop for RelayProcess {
    fn drop(&mut self) {
        // Already stopped, for one that was killed or terminated: nothing to do.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A window: a [`Replica`] connected to a relay over a real socket.
pub struct Peer {
    /// The replica.
    pub replica: Replica,
    client: Client,
    doc: String,
    token: Option<String>,
    /// Events the replica reported, other than sends.
    pub events: Vec<Event>,
}

impl Peer {
    /// Connects a new replica and waits for its welcome.
    pub async fn join(
        addr: SocketAddr,
        doc: &str,
        client: &str,
        token: Option<String>,
    ) -> anyhow::Result<Peer> {
        let replica = Replica::new(ClientId::from(client), client);
        Peer::resume(addr, doc, replica, token).await
    }

    /// Connects an existing replica (after a restart or a lost connection).
    pub async fn resume(
        addr: SocketAddr,
        doc: &str,
        mut replica: Replica,
        token: Option<String>,
    ) -> anyhow::Result<Peer> {
        let mut client = Client::connect(addr).await?;
        client.send(&replica.hello(doc, token.clone())).await?;
        let mut peer = Peer {
            replica: Replica::new(ClientId::from("placeholder"), ""),
            client,
            doc: doc.to_owned(),
            token,
            events: Vec::new(),
        };
        let welcome = peer.client.recv().await?;
        if !matches!(welcome, ServerMessage::Welcome { .. }) {
            bail!("expected a welcome, got {welcome:?}");
        }
        let events = replica.receive(welcome);
        peer.replica = replica;
        peer.handle(events).await?;
        Ok(peer)
    }

    /// [`Peer::resume`] that gives the replica back when the relay does not welcome it (a
    /// connection refused, an `error` instead of `welcome`): nothing of it changed.
    pub async fn try_resume(
        addr: SocketAddr,
        doc: &str,
        mut replica: Replica,
    ) -> Result<Peer, (Replica, anyhow::Error)> {
        let welcomed = async {
            let mut client = Client::connect(addr).await?;
            client.send(&replica.hello(doc, None)).await?;
            let welcome = client.recv().await?;
            if !matches!(welcome, ServerMessage::Welcome { .. }) {
                bail!("expected a welcome, got {welcome:?}");
            }
            Ok((client, welcome))
        };
        let (client, welcome) = match welcomed.await {
            Ok(welcomed) => welcomed,
            Err(e) => {
                replica.disconnected();
                return Err((replica, e));
            }
        };
        let events = replica.receive(welcome);
        let mut peer = Peer {
            replica,
            client,
            doc: doc.to_owned(),
            token: None,
            events: Vec::new(),
        };
        if let Err(e) = peer.handle(events).await {
            return Err((peer.disconnect(), e));
        }
        Ok(peer)
    }

    /// Edits locally (at once) and sends what the replica wants sent.
    pub async fn edit(&mut self, ops: Vec<Operation>) -> anyhow::Result<()> {
        let events = self.replica.edit(ops)?;
        self.handle(events).await
    }

    /// Receives one message and feeds it to the replica.
    pub async fn step(&mut self) -> anyhow::Result<()> {
        let message = self.client.recv().await?;
        let events = self.replica.receive(message);
        self.handle(events).await
    }

    /// Receives one message if one comes within `wait`; `Ok(false)` if none did.
    pub async fn step_within(&mut self, wait: Duration) -> anyhow::Result<bool> {
        let Ok(message) = tokio::time::timeout(wait, self.client.recv_frame()).await else {
            return Ok(false);
        };
        let events = self.replica.receive(message?);
        self.handle(events).await?;
        Ok(true)
    }

    /// Receives until the replica has nothing pending and holds revision `rev` at least.
    pub async fn settle(&mut self, rev: Revision) -> anyhow::Result<()> {
        while self.replica.pending() > 0 || self.replica.rev().is_none_or(|r| r < rev) {
            self.step().await?;
        }
        Ok(())
    }

    /// Receives until nothing of this replica's is pending.
    pub async fn flush(&mut self) -> anyhow::Result<()> {
        while self.replica.pending() > 0 {
            self.step().await?;
        }
        Ok(())
    }

    /// The document id.
    pub fn doc(&self) -> &str {
        &self.doc
    }

    /// The token it connects with.
    pub fn token(&self) -> Option<String> {
        self.token.clone()
    }

    /// The view.
    pub fn view(&self) -> &Value {
        self.replica.view()
    }

    /// Drops the connection, keeping the replica (as a window that lost its network does).
    pub fn disconnect(mut self) -> Replica {
        self.replica.disconnected();
        self.replica
    }

    /// Sends what the replica asked to send in `events` and keeps the rest in
    /// [`Peer::events`] (for events from a call made on the replica directly).
    pub async fn handle(&mut self, events: Vec<Event>) -> anyhow::Result<()> {
        for event in events {
            match event {
                Event::Send(message) => self.client.send_in_frames(&message).await?,
                Event::Error { code, .. } if code == "rate_limited" => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let retry = self.replica.retry();
                    Box::pin(self.handle(retry)).await?;
                }
                other => self.events.push(other),
            }
        }
        Ok(())
    }
}
