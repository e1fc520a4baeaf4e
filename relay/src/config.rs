//! The relay's settings: safe defaults, overridden by a TOML file, overridden by command-line
//! options and environment variables (see `main.rs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sync_core::parts::FRAME_LIMIT;

use crate::peer::{ClientHeader, Peer, TrustedProxies};
use crate::store::{Location, postgres};
use crate::tls::TlsFiles;

/// Who may connect without a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Anonymous {
    /// Allowed to truly local connections only (the default): the relay listens on a
    /// loopback address, the socket's peer is a loopback address that is not a trusted proxy,
    /// and the request carries no proxy headers (`Forwarded`, `X-Forwarded-For`, `X-Real-IP`).
    /// A reverse proxy on the same machine adds such headers, so what it forwards needs a
    /// token. A tunnel that forwards bytes without headers (`ssh -R`, stunnel, a TCP-mode
    /// proxy) looks local: where one reaches the relay, use `Deny`.
    #[default]
    Loopback,
    /// Allowed on any listener: anyone who can reach the relay can read and write every
    /// document.
    Allow,
    /// Never: every connection needs a token.
    Deny,
}

/// The shortest lease time taken: renewals come every third of it.
pub const MIN_LEASE_MS: u64 = 300;

/// Everything the relay can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Where the SQLite database and the signing secret live.
    pub data_dir: PathBuf,
    /// Where the documents are kept: `sqlite:PATH`, or `postgres://USER@HOST:PORT/DB` for a
    /// store several relays share (which keeps the signing secret too). Unset: the SQLite
    /// file `concord.sqlite3` in `data_dir`.
    pub store: Option<Location>,
    /// With a PostgreSQL store, where the other relays of the cluster reach this one
    /// (`ws://10.0.0.5:9090`). Unset: `ws://` (or `wss://` with TLS) and the listening
    /// address, which must then be a specific one.
    pub node_url: Option<String>,
    /// With a PostgreSQL store, a PEM file of the authorities that signed the other relays'
    /// certificates, when they serve `wss://` with certificates of a private authority; trusted
    /// beside the system's.
    pub node_ca: Option<PathBuf>,
    /// With a PostgreSQL store, how long a relay's lease on a document lasts without renewal:
    /// how long its documents wait for another relay after it dies, in milliseconds.
    pub lease_ms: u64,
    /// Who may connect without a token.
    pub anonymous: Anonymous,
    /// Reverse proxies (addresses or networks, `["127.0.0.1", "10.0.0.0/8"]`) whose
    /// `Forwarded`, `X-Forwarded-For` or `X-Real-IP` headers are believed: the client address
    /// they give is the one the limits and the log use. Headers from anyone else are ignored.
    pub trusted_proxies: TrustedProxies,
    /// The header the trusted proxies give the client's address in; the others are ignored.
    pub client_address_header: ClientHeader,
    /// Serve `wss://` with this certificate and key instead of plain `ws://`.
    pub tls: Option<TlsFiles>,
    /// The limits that protect the relay and its other users.
    pub limits: Limits,
    /// The documents' sync settings.
    pub documents: Documents,
    /// Whether the relay takes SIGHUP (to read its TLS files again; without TLS it is only
    /// logged, never fatal). `concord-relay serve` sets it; a relay run inside another program
    /// (a window's Share) leaves the signal to that program.
    #[serde(skip)]
    pub handle_hangup: bool,
}

/// Limits, each with a safe default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The largest websocket message (and frame) accepted, in bytes: at least
    /// [`FRAME_LIMIT`] (1 MiB), the frame every client may send. Changes longer than a frame
    /// come in parts, so this bounds what one frame costs to read, not how large a change is.
    pub max_message_bytes: usize,
    /// The largest a document may grow, in bytes of compact JSON.
    pub max_document_bytes: usize,
    /// Operations per second a connection may submit, on average.
    pub ops_per_second: u32,
    /// Operations a connection may submit in a burst above the average.
    pub ops_burst: u32,
    /// Seconds a new connection has to say `hello`.
    pub hello_timeout_secs: u64,
    /// Seconds between pings to each client.
    pub ping_interval_secs: u64,
    /// Seconds of silence (not even a pong) after which a connection is closed.
    pub idle_timeout_secs: u64,
    /// Messages queued for one client before it counts as too slow and is told to resync.
    pub outbound_queue: usize,
    /// Connections served at once; more are refused with `too_many_connections`.
    pub max_connections: usize,
    /// Connections that have not completed `hello`, in total; more are closed at once with
    /// `too_many_connections`. Unset: a tenth of `max_connections`.
    pub max_unauthenticated: Option<usize>,
    /// Connections that have not completed `hello`, per client address.
    pub max_unauthenticated_per_address: usize,
}

/// How documents are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Documents {
    /// A snapshot is stored every this many changes.
    pub snapshot_every: u64,
    /// Changes kept in memory per document: clients this close catch up by changes.
    pub retained_changes: usize,
    /// Seconds a document with nobody connected stays loaded.
    pub idle_unload_secs: u64,
    /// Seconds after which a silent peer's presence expires.
    pub presence_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            data_dir: default_data_dir(),
            store: None,
            node_url: None,
            node_ca: None,
            lease_ms: 10_000,
            anonymous: Anonymous::default(),
            trusted_proxies: TrustedProxies::default(),
            client_address_header: ClientHeader::default(),
            tls: None,
            limits: Limits::default(),
            documents: Documents::default(),
            handle_hangup: false,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_bytes: 1 << 20,
            max_document_bytes: 64 << 20,
            ops_per_second: 200,
            ops_burst: 2000,
            hello_timeout_secs: 10,
            ping_interval_secs: 20,
            idle_timeout_secs: 60,
            outbound_queue: 1024,
            max_connections: 20_000,
            max_unauthenticated: None,
            max_unauthenticated_per_address: 32,
        }
    }
}

impl Default for Documents {
    fn default() -> Documents {
        Documents {
            snapshot_every: 1000,
            retained_changes: 1024,
            idle_unload_secs: 60,
            presence_timeout_secs: 30,
        }
    }
}

impl Limits {
    /// [`Limits::hello_timeout_secs`] as a duration.
    pub fn hello_timeout(&self) -> Duration {
        Duration::from_secs(self.hello_timeout_secs)
    }

    /// [`Limits::ping_interval_secs`] as a duration.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_secs(self.ping_interval_secs.max(1))
    }

    /// [`Limits::idle_timeout_secs`] as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }

    /// [`Limits::max_unauthenticated`], or its default: a tenth of the connections.
    pub fn unauthenticated_cap(&self) -> usize {
        self.max_unauthenticated
            .unwrap_or(self.max_connections / 10)
            .max(1)
    }

    /// The longest text of a change sent in parts that a connection holds while its parts
    /// arrive: a document's limit and a frame (room for the message around the values). A
    /// longer change could not fit in a document and is rejected as too large.
    pub fn max_upload_bytes(&self) -> usize {
        self.max_document_bytes
            .saturating_add(self.max_message_bytes)
    }

    /// Refuses limits the protocol does not allow: frames smaller than [`FRAME_LIMIT`], which
    /// every client may send.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.max_message_bytes < FRAME_LIMIT {
            anyhow::bail!(
                "max_message_bytes is {}, but a relay must accept frames of {FRAME_LIMIT} bytes: \
                 clients send changes longer than that in parts of that size",
                self.max_message_bytes
            );
        }
        Ok(())
    }
}

impl Config {
    /// Reads a TOML config file; members it does not name keep their defaults.
    pub fn from_file(path: &Path) -> anyhow::Result<Config> {
        use anyhow::Context as _;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        // The parser quotes the line it stopped at, which may hold a store's password.
        toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!(crate::store::redact(&e.to_string())))
            .with_context(|| format!("invalid config file {}", path.display()))
    }

    /// The SQLite database: the store's, or `concord.sqlite3` in the data directory.
    pub fn database_path(&self) -> PathBuf {
        match &self.store {
            Some(Location::Sqlite(path)) => path.clone(),
            _ => self.data_dir.join("concord.sqlite3"),
        }
    }

    /// Where the documents are kept.
    pub fn location(&self) -> Location {
        self.store
            .clone()
            .unwrap_or_else(|| Location::Sqlite(self.database_path()))
    }

    /// How the PostgreSQL store is used: no statement may outlast nine tenths of a lease, and
    /// no transaction sit idle or wait for a lock longer than half of one, so a relay that froze
    /// in the middle of one cannot hold up another relay's takeover.
    pub fn postgres_options(&self) -> postgres::Options {
        let lease = self.lease();
        postgres::Options {
            statement_timeout: lease.mul_f64(0.9),
            lock_timeout: lease / 2,
            connect_timeout: lease,
            ..postgres::Options::default()
        }
    }

    /// The lease time of a cluster.
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms.max(MIN_LEASE_MS))
    }

    /// Checks the cluster's settings: a lease no shorter than [`MIN_LEASE_MS`], and a node
    /// URL the other relays can use.
    pub fn validate_cluster(&self) -> anyhow::Result<String> {
        anyhow::ensure!(
            self.lease_ms >= MIN_LEASE_MS,
            "--lease-ms {} is too short: leases are renewed every third of it, so it is at least \
             {MIN_LEASE_MS}",
            self.lease_ms
        );
        self.node_url()
    }

    /// Where the other relays of a cluster reach this one: a `ws://` or `wss://` URL.
    pub fn node_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.node_url {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
            let scheme_ok = url.starts_with("ws://") || url.starts_with("wss://");
            anyhow::ensure!(
                scheme_ok && url.as_str().into_client_request().is_ok(),
                "--node-url {url:?} is not where other relays can reach this one: write \
                 ws://HOST:PORT (or wss://HOST:PORT when the relay serves TLS)"
            );
            return Ok(url.clone());
        }
        anyhow::ensure!(
            !self.listen.ip().is_unspecified(),
            "with a PostgreSQL store, say where the other relays reach this one with --node-url \
             (CONCORD_NODE_URL): {} listens on every address",
            self.listen
        );
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        Ok(format!("{scheme}://{}", self.listen))
    }

    /// The token signing secret.
    pub fn secret_path(&self) -> PathBuf {
        self.data_dir.join("secret.key")
    }

    /// Whether `peer` is let in without a token.
    pub fn allows_anonymous(&self, peer: &Peer) -> bool {
        match self.anonymous {
            Anonymous::Loopback => {
                (self.listen.ip().is_loopback() && peer.is_local()) || peer.vouched_anonymous
            }
            Anonymous::Allow => true,
            Anonymous::Deny => false,
        }
    }
}

/// The platform's data directory for the relay (for example `~/.local/share/concord-relay`),
/// or `./concord-relay-data` where the platform has none.
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "concord-relay").map_or_else(
        || PathBuf::from("concord-relay-data"),
        |dirs| dirs.data_dir().to_path_buf(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_file_overrides_only_what_it_names() {
        let config: Config = toml::from_str(
            "listen = \"0.0.0.0:8080\"\nanonymous = \"deny\"\n[limits]\nops_per_second = 5\n",
        )
        .unwrap();
        assert_eq!(config.listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(config.limits.ops_per_second, 5);
        assert_eq!(config.limits.max_message_bytes, 1 << 20);
        assert_eq!(config.anonymous, Anonymous::Deny);
    }

    #[test]
    fn frames_smaller_than_clients_may_send_are_refused() {
        let mut limits = Limits::default();
        assert!(limits.validate().is_ok());
        limits.max_message_bytes = FRAME_LIMIT - 1;
        let error = limits.validate().unwrap_err().to_string();
        assert!(error.contains("1048576"), "{error}");
    }

    #[test]
    fn unknown_settings_are_refused() {
        assert!(toml::from_str::<Config>("listne = \"0.0.0.0:1\"").is_err());
    }

    #[test]
    fn anonymous_access_defaults_to_truly_local_peers_only() {
        let local = Peer::direct([127, 0, 0, 1].into());
        let remote = Peer::direct([192, 0, 2, 1].into());
        let proxied = Peer::from_request(
            [127, 0, 0, 1].into(),
            [("X-Forwarded-For", &b"192.0.2.1"[..])],
            &TrustedProxies::default(),
            ClientHeader::default(),
        );
        let mut config = Config::default();
        assert!(config.allows_anonymous(&local));
        assert!(!config.allows_anonymous(&remote));
        assert!(!config.allows_anonymous(&proxied));
        // On a listener others can reach, nobody goes without a token: a tunnel to it from
        // this machine would look local.
        config.listen = "0.0.0.0:9090".parse().unwrap();
        assert!(!config.allows_anonymous(&local));
        config.anonymous = Anonymous::Allow;
        assert!(config.allows_anonymous(&proxied));
        config.anonymous = Anonymous::Deny;
        assert!(!config.allows_anonymous(&local));
    }

    #[test]
    fn proxies_and_tls_come_from_the_file() {
        let config: Config = toml::from_str(
            "trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n[tls]\ncert = \"/c.pem\"\nkey = \"/k.pem\"\n",
        )
        .unwrap();
        assert!(config.trusted_proxies.contains([10, 1, 1, 1].into()));
        assert_eq!(config.tls.unwrap().key, PathBuf::from("/k.pem"));
        assert!(toml::from_str::<Config>("trusted_proxies = [\"proxy\"]").is_err());
        let limits = Limits::default();
        assert_eq!(limits.unauthenticated_cap(), 2000);
    }

    #[test]
    fn the_example_config_is_valid_and_says_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/relay.example.toml");
        let config = Config::from_file(&path).unwrap();
        assert_eq!(config.limits, Limits::default());
        assert_eq!(config.documents, Documents::default());
        assert_eq!(config.lease_ms, Config::default().lease_ms);
        assert_eq!(config.store, None);
    }

    #[test]
    fn a_cluster_setting_comes_from_the_file_and_no_statement_outlasts_its_lease() {
        let config: Config = toml::from_str(
            "store = \"postgres://concord@db.internal:5432/concord\"\n\
             node_url = \"ws://10.0.0.5:9090\"\nlease_ms = 4000\nlisten = \"0.0.0.0:9090\"",
        )
        .unwrap();
        assert!(config.location().is_postgres());
        assert_eq!(config.node_url().unwrap(), "ws://10.0.0.5:9090");
        assert_eq!(config.lease(), Duration::from_secs(4));
        let options = config.postgres_options();
        assert_eq!(options.statement_timeout, Duration::from_millis(3600));
        assert_eq!(options.lock_timeout, Duration::from_secs(2));
        // Listening on every address, a relay cannot guess where the others reach it.
        let unsure = Config {
            node_url: None,
            ..config
        };
        let error = unsure.node_url().unwrap_err();
        assert!(error.to_string().contains("--node-url"), "{error}");
        for wrong in ["http://10.0.0.5:9090", "not a url", "ws://"] {
            let wrong = Config {
                node_url: Some(wrong.to_owned()),
                ..unsure.clone()
            };
            let error = wrong.validate_cluster().unwrap_err();
            assert!(error.to_string().contains("ws://HOST:PORT"), "{error}");
        }
        let short = Config {
            lease_ms: 100,
            ..unsure
        };
        assert!(
            short
                .validate_cluster()
                .unwrap_err()
                .to_string()
                .contains("too short")
        );
        // A bad store is refused with what to write instead; the relay's own words never show
        // a password.
        let bad = toml::from_str::<Config>("store = \"mysql://db/x\"").unwrap_err();
        assert!(bad.to_string().contains("is not a store"), "{bad}");
        let bad = Location::parse("mysql://ann:hunter2@db/x").unwrap_err();
        assert!(bad.to_string().contains("postgres://"), "{bad}");
        for given in [
            "mysql://ann:hunter2@db/x",
            "postgres//ann:hunter2@db/x",
            "host=db password=hunter2 user=ann",
            "postgres://db:1/x?password=hunter2&user=ann",
            // An `@` in the query after the credentials, and a `?` in the password.
            "postgres://ann:hunter2@db/x?sslmode=verify-ca&sslrootcert=/home/ops@corp/ca.pem",
            "postgres://ann:hun?ter2@db/x?sslmode=verify-full&sslrootcert=/nowhere.pem",
            "postgres://ann:hunter2@db/x?sslmode=nonsense&sslkey=/k@k.pem",
            "postgres://ann:hunter2@",
            // Passwords with spaces, slashes, quotes and encoded or spaced keys.
            "postgres://ann:my hunter2 pass@db/x?sslmode=bogus",
            "postgres://ann:a@hunter2/c@db/x?sslmode=bogus",
            "postgres://db/x?pass%77ord=hunter2&sslmode=bogus",
            "host=db password = 'hunter2 x' user=ann",
            "host=db password='it\\'s hunter2' user=ann",
        ] {
            let shown = match Location::parse(given) {
                Ok(location) => location.to_string(),
                Err(e) => e.to_string(),
            };
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        let url = Location::parse("postgres://ann:hunter2@db:5432/x").unwrap();
        assert_eq!(url.to_string(), "postgres://ann:***@db:5432/x");
        // A password with an unencoded `@` shows neither of its parts.
        let given = "postgres://ann:hunter@2secret@db/x?sslmode=bogus";
        let shown = Location::parse(given).unwrap_err().to_string();
        assert!(
            !shown.contains("hunter") && !shown.contains("2secret"),
            "{shown}"
        );
        // A config file the parser refuses is quoted without its password.
        let dir = std::env::temp_dir().join(format!("concord-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("relay.toml");
        std::fs::write(
            &file,
            "store = \"postgres://ann:hun\\\"ter2@db/x?sslmode=bogus\"\nlease_ms = 1000\n",
        )
        .unwrap();
        let error = format!("{:#}", Config::from_file(&file).unwrap_err());
        assert!(error.contains("sslmode=bogus"), "{error}");
        assert!(!error.contains("ter2"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
