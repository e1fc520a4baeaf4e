//! The Concord relay: what people self-host so that their Concord windows can meet.
//!
//! It wraps one [`sync_core::authority::Authority`] per document (a *room*) behind websockets.
//! A change is acknowledged and broadcast only after the transaction that stores it commits;
//! one bad client never hurts the others; nobody reads or writes a document their token does
//! not cover. The protocol is `docs/PROTOCOL.md`.
//!
//! # Layout
//! - [`cli`]: the `concord-relay` command line; [`config`]: settings and their defaults; [`docid`]: which document ids are accepted.
//! - [`auth`]: signed tokens, the signing secret and the registry of tokens minted and
//!   revoked; `access`: checking tokens on a running relay and acting on revocations.
//! - [`store`]: durable storage with group commit, in SQLite or PostgreSQL.
//! - `cluster`: several relays on one PostgreSQL store: leases with fencing epochs,
//!   `cluster::forward`, a connection passed on to the relay that owns its document, and
//!   [`vouch`], the signed word one relay gives another about a forwarded client.
//! - `room`: one task per loaded document, owning its Authority; `room::batch` serves a batch
//!   of its commands.
//! - `conn`: one task per connection (reader) plus its writer task; `wire`: what a room or a
//!   forwarded connection queues for a connection's writer, and the clock; `admission`: who a
//!   `hello` lets in; `bucket`: the rate limit; `frame`: reading a frame, and the answer to one
//!   that holds no message; `upload`: joining a change sent in parts.
//! - Before a connection is served: `stream` (plain TCP or [`tls`], with the request head put
//!   back), `http` (the head: `GET /healthz`, `GET /metrics` or the upgrade), [`peer`] (who
//!   sent it: proxy headers and trusted proxies), `gate` (the cap on connections that have
//!   not said hello). [`metrics`]: the counters.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! let config = relay::config::Config::default();
//! // Serves until `shutdown` is cancelled, then closes every connection and stores what is
//! // in progress.
//! relay::run(listener, config, shutdown).await?;
//! # Ok(())
//! # }
//! ```

mod access;
mod admission;
pub mod auth;
mod bucket;
pub mod cli;
mod cluster;
pub mod config;
pub use cluster::vouch;
mod conn;
pub mod docid;
mod frame;
mod gate;
mod http;
pub mod metrics;
pub mod peer;
mod room;
pub mod store;
mod stream;
pub mod tls;
mod upload;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use sync_core::protocol::ErrorCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::access::Access;
use crate::auth::Secret;
use crate::auth::registry::Registry;
use crate::cluster::Cluster;
use crate::config::{Anonymous, Config};
use crate::gate::{Full, Gate, Pass};
use crate::http::Route;
use crate::metrics::{Metrics, bump, drop_one};
use crate::peer::Peer;
use crate::room::Rooms;
use crate::store::Store;
use crate::stream::{Io, Stream};
use crate::tls::Tls;

/// What every connection and room shares.
struct Shared {
    config: Config,
    access: Arc<Access>,
    /// With a PostgreSQL store: this relay's part in the cluster.
    cluster: Option<Arc<Cluster>>,
    rooms: Arc<Rooms>,
    metrics: Arc<Metrics>,
    gate: Arc<Gate>,
    tls: Option<Arc<Tls>>,
    shutdown: CancellationToken,
}

/// How long a connection refused at the cap of those that have not said hello has to complete
/// its handshake and be told why; one that does not is dropped without a word.
const REFUSAL_GRACE: Duration = Duration::from_secs(1);

/// Serves on `listener` until `shutdown` is cancelled; then stops accepting, closes every
/// connection with `shutting_down`, lets every room store what it has in progress, and closes
/// the database.
///
/// Fails before serving if the limits are not valid ([`config::Limits::validate`]), if the data
/// directory or database cannot be opened, if the TLS certificate or key cannot be read, or if
/// the listener is reachable from other machines while no signing secret exists and anonymous
/// access was not asked for explicitly.
///
/// With [`Config::handle_hangup`](config::Config::handle_hangup), SIGHUP reads the TLS
/// certificate and key again (on Unix).
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Opening an SQLite store creates the data directory.
    let location = config.location();
    let store = Store::connect(&location, &config.postgres_options())
        .await
        .with_context(|| format!("cannot open the store {location}"))?;
    run_with_store(listener, config, store, shutdown).await
}

/// [`run`] on a store opened by the caller (which keeps a handle, to inspect it or, in tests,
/// to make it fail). The store is closed when the relay stops.
pub async fn run_with_store(
    listener: TcpListener,
    mut config: Config,
    store: Store,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    config.listen = listener.local_addr()?;
    let (access, tls) = match open_access(&config, &store).await {
        Ok(opened) => opened,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let metrics = Arc::new(Metrics::default());
    let cluster = match join_cluster(&config, &store, &metrics) {
        Ok(cluster) => cluster,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let tracker = TaskTracker::new();
    // Rooms apart from connections: a stopping relay gives its leases back once every room
    // has stored what it had, without waiting for slow clients' sockets.
    let room_tracker = TaskTracker::new();
    let rooms = Rooms::new(
        store.clone(),
        cluster.clone(),
        Arc::new(config.clone()),
        Arc::clone(&metrics),
        room_tracker.clone(),
        shutdown.clone(),
    );
    let gate = Gate::new(
        config.limits.unauthenticated_cap(),
        config.limits.max_unauthenticated_per_address,
    );
    let shared = Arc::new(Shared {
        config,
        access: Arc::clone(&access),
        cluster: cluster.clone(),
        rooms,
        metrics,
        gate,
        tls,
        shutdown: shutdown.clone(),
    });
    tracing::info!(
        listen = %shared.config.listen,
        tls = shared.tls.is_some(),
        data_dir = %shared.config.data_dir.display(),
        anonymous = ?shared.config.anonymous,
        "relay serving"
    );
    tracker.spawn(log_metrics(Arc::clone(&shared)));
    tracker.spawn(access.watch(shutdown.clone()));
    if let Some(cluster) = &cluster {
        tracker.spawn(Arc::clone(cluster).renew_until(shutdown.clone()));
    }
    if shared.config.handle_hangup {
        tracker.spawn(reload_on_hangup(shared.tls.clone(), shutdown.clone()));
    }
    accept_loop(&listener, &shared, &tracker).await;
    drop(listener);
    room_tracker.close();
    room_tracker.wait().await;
    // Every room has stored what it had: its lease goes back now, so that another relay takes
    // the document at once rather than when the lease runs out.
    if let Some(cluster) = &cluster {
        cluster.release_all().await;
    }
    tracker.close();
    tracker.wait().await;
    // A room started by a connection that was still saying hello has ended too.
    room_tracker.wait().await;
    store.close().await;
    tracing::info!("relay stopped");
    Ok(())
}

/// With a PostgreSQL store, this relay's part in the cluster.
fn join_cluster(
    config: &Config,
    store: &Store,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Option<Arc<Cluster>>> {
    let Some(postgres) = store.postgres() else {
        return Ok(None);
    };
    let cluster = Cluster::new(
        postgres.pool().clone(),
        (
            config.validate_cluster()?,
            tls::client(config.node_ca.as_deref())
                .map_err(|e| anyhow::anyhow!("--node-ca: {e}"))?,
        ),
        config.lease(),
        Arc::clone(metrics),
    )?;
    Ok(Some(cluster))
}

/// Checks the limits, then opens what the relay needs besides the store: the data directory,
/// the token registry with the signing secret, and the TLS files.
async fn open_access(
    config: &Config,
    store: &Store,
) -> anyhow::Result<(Arc<Access>, Option<Arc<Tls>>)> {
    config.limits.validate()?;
    let opening = (config.clone(), store.clone());
    // Files and perhaps a database: opened off the async threads.
    let (registry, tls) = tokio::task::spawn_blocking(move || {
        let (config, store) = opening;
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
        let registry = Registry::of_store(&store, &config.database_path(), config.secret_path())?;
        let tls = config.tls.map(Tls::load).transpose()?;
        Ok::<_, anyhow::Error>((registry, tls.map(Arc::new)))
    })
    .await??;
    let secret = open_secret(config, &registry).await?;
    Ok((Access::open(registry, secret).await?, tls))
}

/// Loads the signing secret, creating it where that is safe (always in a PostgreSQL store,
/// which every relay of a cluster shares); refuses a public listener with no secret unless
/// anonymous access was asked for.
async fn open_secret(config: &Config, registry: &Registry) -> anyhow::Result<Option<Secret>> {
    if config.listen.ip().is_loopback() || config.location().is_postgres() {
        return Ok(Some(registry.secret_or_create().await?));
    }
    match registry.secret().await? {
        Some(secret) => Ok(Some(secret)),
        None if config.anonymous == Anonymous::Allow => Ok(None),
        None => anyhow::bail!(
            "{} is reachable from other machines but has no signing secret at {}: mint a token \
             with `concord-relay token` (which creates the secret) or pass `--anonymous allow` \
             to let anyone in",
            config.listen,
            registry.secret_place()
        ),
    }
}

async fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, tracker: &TaskTracker) {
    let slots = Arc::new(Semaphore::new(shared.config.limits.max_connections));
    let ids = AtomicU64::new(1);
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shared.shutdown.cancelled() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff = Duration::from_millis(10);
                accepted
            }
            Err(e) => {
                // Out of file descriptors, say: wait and try again rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(shared);
        let slot = Arc::clone(&slots).try_acquire_owned().ok();
        let conn = ids.fetch_add(1, Ordering::Relaxed);
        tracker.spawn(connection(stream, peer, shared, slot, conn));
    }
}

/// One accepted socket: its TLS handshake, its request head, then a health or metrics answer
/// or the websocket served until it closes. Before its `hello` is admitted it counts against
/// the cap on connections that have not said hello, which refuses it instead when full.
async fn connection(
    tcp: TcpStream,
    addr: SocketAddr,
    shared: Arc<Shared>,
    slot: Option<OwnedSemaphorePermit>,
    conn: u64,
) {
    let intake = tokio::select! {
        intake = intake(tcp, addr, &shared, conn) => intake,
        // Nothing of a document was said yet: there is nothing to store, and nobody to tell.
        () = shared.shutdown.cancelled() => return,
    };
    let Some((ws, peer, pass, hello_deadline)) = intake else {
        return;
    };
    let Some(_slot) = slot else {
        bump(&shared.metrics.refused);
        let message = format!(
            "the relay serves {} connections at most; try again later",
            shared.config.limits.max_connections
        );
        return conn::refuse(ws, ErrorCode::TooManyConnections, &message).await;
    };
    // A client forwarded by another relay is counted there, as a client.
    let gauge = if peer.from_node {
        &shared.metrics.connections_from_relays
    } else {
        &shared.metrics.connections
    };
    bump(gauge);
    tracing::info!(
        conn,
        client = %peer.client,
        socket = %peer.socket,
        proxy_headers = peer.proxied,
        from_relay = peer.from_node,
        "connected"
    );
    let client = peer.client;
    conn::serve(ws, Arc::clone(&shared), (conn, peer), pass, hello_deadline).await;
    tracing::info!(conn, %client, "disconnected");
    drop_one(gauge);
}

/// A connection from its first byte to its websocket handshake: TLS, the request head (and
/// the answer to `/healthz` or `/metrics`), its place under the cap of connections that have
/// not said hello. `None` when it ended, was answered, or was refused (which is counted when
/// it happens, and told to the client if its handshake completes within a second). Also gives
/// the deadline for its `hello`: the hello timeout runs from the first byte.
async fn intake(
    tcp: TcpStream,
    addr: SocketAddr,
    shared: &Arc<Shared>,
    conn: u64,
) -> Option<(WebSocketStream<Stream>, Peer, Pass, Instant)> {
    let mut deadline = Instant::now() + shared.config.limits.hello_timeout();
    let socket = addr.ip().to_canonical();
    let via_proxy = shared.config.trusted_proxies.contains(socket);
    let refused = |full: Full, client: std::net::IpAddr| {
        bump(&shared.metrics.refused_unauthenticated);
        tracing::debug!(conn, %client, "refused: {}", full.message());
    };
    // A trusted proxy's connections count against the address it forwards, once read.
    let mut pass = shared.gate.enter((!via_proxy).then_some(socket));
    if let Err(full) = &pass {
        refused(*full, socket);
        deadline = deadline.min(Instant::now() + REFUSAL_GRACE);
    }
    let io = match &shared.tls {
        None => Io::Plain(tcp),
        Some(tls) => match tokio::time::timeout_at(deadline, tls.acceptor().accept(tcp)).await {
            Ok(Ok(tls)) => Io::Tls(Box::new(tls)),
            Ok(Err(e)) => {
                tracing::debug!(conn, %addr, error = %e, "TLS handshake failed");
                return None;
            }
            Err(_) => return None,
        },
    };
    let mut stream = Stream::new(io);
    let proxies = (
        &shared.config.trusted_proxies,
        shared.config.client_address_header,
    );
    let head = http::read_head(&mut stream, socket, proxies, deadline).await?;
    match head.route {
        Route::Health { head } => {
            // In a cluster a relay that cannot reach PostgreSQL cannot serve: it says so, so
            // that a load balancer sends clients elsewhere.
            let (status, body) = match &shared.cluster {
                Some(cluster) if !cluster.healthy() => {
                    ("503 Service Unavailable", "PostgreSQL unreachable\n")
                }
                _ => ("200 OK", "ok\n"),
            };
            http::answer(stream, status, "text/plain", body, !head).await;
            return None;
        }
        Route::Metrics => {
            let body = shared.metrics.render();
            http::respond(stream, "text/plain; version=0.0.4", &body).await;
            return None;
        }
        Route::NotAllowed => {
            let body = "only GET here\n";
            http::respond_with(stream, "405 Method Not Allowed", "text/plain", body).await;
            return None;
        }
        Route::NotFound => {
            let body = "not found: this relay serves websockets, /healthz and /metrics\n";
            http::respond_with(stream, "404 Not Found", "text/plain", body).await;
            return None;
        }
        Route::WebSocket => {}
    }
    let mut peer = head.peer;
    // Another relay of the cluster forwarding its client says who the client is.
    let vouched = match (&shared.cluster, head.forwarded.as_deref()) {
        (Some(cluster), Some(value)) => believed(cluster, &shared.access, value),
        _ => None,
    };
    if let (Some(vouch), Some(cluster)) = (&vouched, &shared.cluster) {
        peer.client = vouch.client;
        peer.from_node = true;
        peer.vouched_anonymous = vouch.anonymous;
        peer.vouched_doc = Some(vouch.doc.clone());
        if vouch.node != cluster.node() {
            peer.misdirected = true;
            tracing::error!(
                meant_for = %vouch.node,
                this = cluster.node(),
                "a client came forwarded for relay {}, not this one: another relay's --node-url \
                 leads here instead of to itself (set each relay's --node-url to its own \
                 address), or a vouch read off the relays' network was sent here",
                vouch.node
            );
        }
    }
    peer.unverified_vouch =
        shared.cluster.is_some() && head.forwarded.is_some() && vouched.is_none();
    if let (true, Ok(held)) = (via_proxy || vouched.is_some(), &mut pass)
        && let Err(full) = held.readdress(peer.client)
    {
        refused(full, peer.client);
        deadline = deadline.min(Instant::now() + REFUSAL_GRACE);
        pass = Err(full);
    }
    let ws = conn::accept(stream, shared, deadline).await?;
    match pass {
        Ok(pass) => Some((ws, peer, pass, deadline)),
        Err(full) => {
            conn::refuse(ws, ErrorCode::TooManyConnections, &full.message()).await;
            None
        }
    }
}

/// The vouch in a forwarded connection's header, if a relay of the cluster made it in the last
/// minute and it was not used before (a vouch read off the network and sent again is not).
fn believed(cluster: &Cluster, access: &Access, value: &str) -> Option<vouch::Vouch> {
    let now = wire::now_secs();
    let vouch = vouch::Vouch::read(value, |text, tag| access.vouches(text, tag), now)?;
    if !cluster.nonces.first_use(&vouch, now) {
        tracing::warn!(
            client = %vouch.client,
            "a relay's vouch for a forwarded client came a second time; refused"
        );
        return None;
    }
    Some(vouch)
}

/// Reads the TLS certificate and key again on each SIGHUP, until shutdown. Without TLS the
/// signal is only logged: it must not end the relay (`systemctl reload` sends it).
async fn reload_on_hangup(tls: Option<Arc<Tls>>, shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: a TLS certificate is read only at start");
            return;
        };
        loop {
            tokio::select! {
                received = hangup.recv() => if received.is_none() { return },
                () = shutdown.cancelled() => return,
            }
            let Some(tls) = &tls else {
                tracing::info!("SIGHUP: nothing to read again (no TLS)");
                continue;
            };
            let tls = Arc::clone(tls);
            let reloaded = tokio::task::spawn_blocking(move || tls.reload())
                .await
                .map_err(anyhow::Error::from)
                .and_then(|reloaded| reloaded);
            match reloaded {
                Ok(()) => tracing::info!("TLS certificate and key read again"),
                Err(e) => tracing::error!(
                    error = %format!("{e:#}"),
                    "TLS certificate not reloaded; the previous one stays in use"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tls;
        shutdown.cancelled().await;
    }
}

/// Logs the counters every 30 seconds while anything happens.
async fn log_metrics(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    let mut last_changes = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shared.shutdown.cancelled() => return,
        }
        let m = &shared.metrics;
        let changes = Metrics::get(&m.changes);
        if changes != last_changes || Metrics::get(&m.connections) > 0 {
            tracing::info!(
                connections = Metrics::get(&m.connections),
                documents = Metrics::get(&m.documents),
                changes_per_second = (changes - last_changes) as f64 / 30.0,
                queue_drops = Metrics::get(&m.queue_drops),
                refused = Metrics::get(&m.refused),
                refused_unauthenticated = Metrics::get(&m.refused_unauthenticated),
                unauthenticated = shared.gate.waiting(),
                "relay counters"
            );
        }
        last_changes = changes;
    }
}
