//! "Share this document": the relay crate run inside the app, so that sharing needs no server.
//!
//! The hosted relay keeps its data (and its signing secret) in the app's data directory and
//! lets nobody in without a token; the invite carries one, minted for the shared document
//! alone. It stops when the window closes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use relay::auth::{Claims, Secret};
use relay::config::{Anonymous, Config};
use relay::store::Store;
use sync_core::protocol::Role;
use tokio_util::sync::CancellationToken;

use super::Target;

/// How long an invite's token stays valid.
pub const INVITE_VALID_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// A relay running inside the app.
pub struct Host {
    addr: SocketAddr,
    /// The address others use: `addr`, or this machine's network address when `addr` is
    /// the unspecified address.
    public_ip: IpAddr,
    secret: Secret,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Host {
    /// The largest document a relay started in a window holds, in bytes of compact JSON (the
    /// relay's default limit).
    pub fn max_document_bytes() -> usize {
        Config::default().limits.max_document_bytes
    }

    /// Starts a relay listening on `bind` (port 0 picks a free one) with its data in
    /// `data_dir`.
    ///
    /// It holds documents of up to [`Host::max_document_bytes`].
    pub fn start(
        runtime: &tokio::runtime::Handle,
        bind: SocketAddr,
        data_dir: &Path,
    ) -> anyhow::Result<Host> {
        let config = Config {
            listen: bind,
            data_dir: data_dir.to_path_buf(),
            anonymous: Anonymous::Deny,
            ..Config::default()
        };
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let secret = Secret::load_or_create(&config.secret_path())?;
        let store = Store::open(&config.database_path())
            .with_context(|| format!("cannot open {}", config.database_path().display()))?;
        let listener = std::net::TcpListener::bind(bind)
            .with_context(|| format!("cannot listen on {bind}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let listener = {
            let _inside = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let shutdown = CancellationToken::new();
        let task = runtime.spawn(relay::run_with_store(
            listener,
            config,
            store,
            shutdown.clone(),
        ));
        let public_ip = if addr.ip().is_unspecified() {
            network_address().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
        } else {
            addr.ip()
        };
        Ok(Host {
            addr,
            public_ip,
            secret,
            shutdown,
            task: Some(task),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address to give others: `ws://ip:port`.
    pub fn url(&self) -> String {
        format!("ws://{}", SocketAddr::new(self.public_ip, self.addr.port()))
    }

    /// A target for `doc` with a new token for `user`, valid for [`INVITE_VALID_FOR`].
    pub fn invite(&self, doc: &str, user: &str) -> Target {
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d + INVITE_VALID_FOR)
            .unwrap_or_default()
            .as_secs();
        let token = self.secret.mint(&Claims {
            user: user.to_owned(),
            docs: doc.to_owned(),
            role: Role::Write,
            exp,
        });
        Target {
            relay: self.url(),
            doc: doc.to_owned(),
            token: Some(token),
        }
    }

    /// Stops the relay: it closes every connection and stores what is in progress. Waits for
    /// that (from a thread outside the runtime) at most `within`.
    pub fn stop(mut self, runtime: &tokio::runtime::Handle, within: Duration) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = runtime.block_on(async { tokio::time::timeout(within, task).await });
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Makes `doc` the content of the new document at `target`, as one change from a short-lived
/// client (the demo's starting document).
pub async fn seed(target: &Target, doc: &sync_core::Value) -> anyhow::Result<()> {
    use futures_util::StreamExt as _;
    use sync_core::protocol::{ClientId, ServerMessage};
    use sync_core::replica::{Event, Replica};
    use tokio_tungstenite::tungstenite::Message;

    let (mut ws, _) = tokio_tungstenite::connect_async(target.relay.as_str())
        .await
        .with_context(|| format!("cannot reach {}", target.relay))?;
    let mut replica = Replica::with_document(
        ClientId(super::new_client_id()),
        "seed",
        sync_core::Value::Object(Default::default()),
        None,
    );
    let hello = replica.hello(&target.doc, target.token.clone());
    super::net::send(&mut ws, &hello).await?;
    let change = sync_core::diff::diff(replica.view(), doc);
    replica.edit(change.0)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while replica.pending() > 0 || !replica.is_connected() {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .context("the relay did not confirm the document in time")?;
        let Some(Ok(Message::Text(text))) = frame else {
            anyhow::bail!("the relay closed the connection");
        };
        let message: ServerMessage = serde_json::from_str(&text)?;
        if let ServerMessage::Error { code, message } = &message {
            anyhow::bail!("the relay refused the document: {message} ({code})");
        }
        for event in replica.receive(message) {
            if let Event::Send(message) = event {
                super::net::send(&mut ws, &message).await?;
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}

/// This machine's address on its network: the source address of a route to a public address
/// (a UDP "connect" sends nothing).
fn network_address() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// A document id for a new shared document: its file's name (made safe) and a random suffix.
pub fn new_document_id(file: Option<&Path>) -> String {
    let stem = file
        .and_then(|p| p.file_stem())
        .map(|s| super::safe_name(&s.to_string_lossy(), &['-', '_'], '-', 40))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "doc".to_owned());
    let suffix = getrandom::u32().unwrap_or_else(|_| std::process::id());
    format!("{stem}-{:06x}", suffix & 0xff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_ids_are_valid_for_the_relay() {
        for file in [
            None,
            Some(Path::new("/tmp/My Config.json")),
            Some(Path::new("/tmp/..json")),
            Some(Path::new("/tmp/ü.json")),
        ] {
            let id = new_document_id(file);
            assert_eq!(relay::docid::validate(&id), Ok(()), "{id}");
        }
        assert!(new_document_id(Some(Path::new("a/settings.json"))).starts_with("settings-"));
    }
}
