//! The `concord-relay` command line: serve documents, or mint a token. It parses options,
//! sets up logging and signals, and wires them to [`crate::run`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::auth::registry::{Registry, Revoked, is_token_id, token_id};
use crate::auth::{Claims, parse_ttl};
use crate::config::{Anonymous, Config};
use crate::peer::TrustedProxies;
use crate::store::Location;
use crate::tls::TlsFiles;
use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use sync_core::protocol::Role;
use tokio_util::sync::CancellationToken;

/// The Concord relay: orders, stores and fans out the changes of shared JSON documents.
///
/// Settings come from defaults, then the config file, then environment variables and options.
/// Logging follows RUST_LOG (default `info`).
#[derive(Parser)]
#[command(name = "concord-relay", version)]
struct Cli {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Serve documents over websockets until SIGINT or SIGTERM.
    Serve(Box<ServeArgs>),
    /// Print a signed token that lets its holder open matching documents (alone on the first
    /// line of standard output), or list or revoke the tokens minted.
    Token(TokenArgs),
    /// The signing secret.
    Secret {
        #[command(subcommand)]
        action: SecretAction,
    },
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct TokenArgs {
    #[command(subcommand)]
    action: Option<TokenAction>,
    #[command(flatten)]
    place: Place,
    /// Who holds the token (shown as the author of their changes without a display name).
    #[arg(long, required = true)]
    user: Option<String>,
    /// Which documents: `*` matches any run of characters (`team-*`, or `*` for all).
    #[arg(long, required = true)]
    docs: Option<String>,
    /// What the holder may do.
    #[arg(long, value_enum, required = true)]
    role: Option<RoleArg>,
    /// How long the token is valid: `90s`, `15m`, `12h`, `30d`, `2w`, or combined (`1d12h`).
    #[arg(long, default_value = "30d")]
    ttl: String,
}

#[derive(Subcommand)]
enum TokenAction {
    /// One line per token minted here and not expired, in the order minted, tab-separated: id, user,
    /// documents, role, expiry (UTC), and `active` or `revoked` with when.
    List(Place),
    /// Revoke a token: a running relay refuses it within a second and closes the connections
    /// that hold it (`token_revoked`).
    Revoke {
        #[command(flatten)]
        place: Place,
        /// The token's id (16 hex digits, from `token list`) or the whole token.
        token: String,
    },
}

#[derive(Subcommand)]
enum SecretAction {
    /// Replace the signing secret: every token ever minted stops working at once, and open
    /// connections with a token are closed. The emergency lever when a token or the secret
    /// leaked; mint new tokens afterwards.
    Rotate(Place),
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Read,
    Write,
}

/// Where the relay's settings and data are: options of every command.
#[derive(Args)]
struct Place {
    /// A TOML config file (see assets/relay.example.toml).
    #[arg(long, env = "CONCORD_CONFIG")]
    config: Option<PathBuf>,
    /// Where the database and the signing secret live [default: the platform data directory,
    /// e.g. ~/.local/share/concord-relay].
    #[arg(long, env = "CONCORD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where the documents and tokens are kept: `sqlite:PATH`, or
    /// `postgres://USER@HOST:PORT/DB` for a store several relays share (which keeps the
    /// signing secret too) [default: concord.sqlite3 in the data directory].
    // Read as text and parsed by `Place::config`: the option parser's own error would repeat
    // the value, password and all.
    #[arg(long, env = "CONCORD_STORE", hide_env_values = true)]
    store: Option<String>,
}

impl Place {
    /// The config file's settings (or the defaults) with the data directory given here.
    fn config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(dir) = &self.data_dir {
            config.data_dir.clone_from(dir);
        }
        if let Some(store) = &self.store {
            config.store = Some(Location::parse(store)?);
        }
        Ok(config)
    }
}

/// The options of `serve`.
#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    place: Place,
    /// Where to listen [default: 127.0.0.1:9090].
    #[arg(long, env = "CONCORD_LISTEN")]
    listen: Option<SocketAddr>,
    /// Who may connect without a token [default: loopback: connections from this machine
    /// that carry no proxy headers]. Use `deny` in production.
    #[arg(long, env = "CONCORD_ANONYMOUS", value_enum)]
    anonymous: Option<Anonymous>,
    /// A reverse proxy whose Forwarded / X-Forwarded-For / X-Real-IP headers are believed,
    /// as an address or network (10.0.0.0/8); repeat or separate with commas.
    #[arg(long = "trusted-proxy", env = "CONCORD_TRUSTED_PROXIES", value_delimiter = ',', value_parser = crate::peer::parse_net)]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// The header the trusted proxies give the client's address in [default:
    /// x-forwarded-for]; the others are ignored.
    #[arg(long, env = "CONCORD_CLIENT_ADDRESS_HEADER", value_enum)]
    client_address_header: Option<crate::peer::ClientHeader>,
    /// Serve wss:// with this PEM certificate chain (with --tls-key); SIGHUP reads it again.
    #[arg(long, env = "CONCORD_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "CONCORD_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Connections served at once [default: 20000].
    #[arg(long, env = "CONCORD_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Connections that have not completed hello, in total [default: a tenth of
    /// --max-connections].
    #[arg(long, env = "CONCORD_MAX_UNAUTHENTICATED")]
    max_unauthenticated: Option<usize>,
    /// Connections that have not completed hello, per client address [default: 32].
    #[arg(long, env = "CONCORD_MAX_UNAUTHENTICATED_PER_ADDRESS")]
    max_unauthenticated_per_address: Option<usize>,
    /// Largest message accepted, in bytes; at least 1048576 [default: 1048576].
    #[arg(long, env = "CONCORD_MAX_MESSAGE_BYTES")]
    max_message_bytes: Option<usize>,
    /// Largest document, in bytes of compact JSON [default: 67108864].
    #[arg(long, env = "CONCORD_MAX_DOCUMENT_BYTES")]
    max_document_bytes: Option<usize>,
    /// Operations per second per connection, on average [default: 200].
    #[arg(long, env = "CONCORD_OPS_PER_SECOND")]
    ops_per_second: Option<u32>,
    /// A snapshot every this many changes [default: 1000].
    #[arg(long, env = "CONCORD_SNAPSHOT_EVERY")]
    snapshot_every: Option<u64>,
    /// With a PostgreSQL store: where the other relays reach this one, `ws://HOST:PORT`
    /// [default: ws:// and --listen, when that is a specific address].
    #[arg(long, env = "CONCORD_NODE_URL")]
    node_url: Option<String>,
    /// With a PostgreSQL store and relays serving wss:// with certificates of a private
    /// authority: that authority's certificate (PEM), trusted beside the system's.
    #[arg(long, env = "CONCORD_NODE_CA")]
    node_ca: Option<PathBuf>,
    /// With a PostgreSQL store: how long a lease on a document lasts without renewal, in
    /// milliseconds; a dead relay's documents move after it [default: 10000].
    #[arg(long, env = "CONCORD_LEASE_MS")]
    lease_ms: Option<u64>,
}

impl ServeArgs {
    fn config(&self) -> anyhow::Result<Config> {
        let mut config = self.place.config()?;
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if let Some(anonymous) = self.anonymous {
            config.anonymous = anonymous;
        }
        if !self.trusted_proxies.is_empty() {
            config.trusted_proxies = TrustedProxies::new(self.trusted_proxies.clone());
        }
        if let Some(header) = self.client_address_header {
            config.client_address_header = header;
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            config.tls = Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        let limits = &mut config.limits;
        set(&mut limits.max_connections, self.max_connections);
        if self.max_unauthenticated.is_some() {
            limits.max_unauthenticated = self.max_unauthenticated;
        }
        set(
            &mut limits.max_unauthenticated_per_address,
            self.max_unauthenticated_per_address,
        );
        set(&mut limits.max_message_bytes, self.max_message_bytes);
        set(&mut limits.max_document_bytes, self.max_document_bytes);
        set(&mut limits.ops_per_second, self.ops_per_second);
        set(&mut config.documents.snapshot_every, self.snapshot_every);
        if self.node_url.is_some() {
            config.node_url.clone_from(&self.node_url);
        }
        if self.node_ca.is_some() {
            config.node_ca.clone_from(&self.node_ca);
        }
        set(&mut config.lease_ms, self.lease_ms);
        Ok(config)
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// Runs the command line: `concord-relay serve ...` or `concord-relay token ...`.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.action {
        Action::Serve(args) => serve(Config {
            handle_hangup: true,
            ..args.config()?
        }),
        Action::Token(args) => block_on(async {
            match args.action {
                None => mint(&args).await,
                Some(TokenAction::List(place)) => list(&place.config()?).await,
                Some(TokenAction::Revoke { place, token }) => {
                    revoke(&place.config()?, &token).await
                }
            }
        }),
        Action::Secret {
            action: SecretAction::Rotate(place),
        } => block_on(async { rotate(&place.config()?).await }),
    }
}

/// Runs a command that needs no server on a runtime of its own.
fn block_on(work: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(work)
}

fn now() -> anyhow::Result<u64> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())
}

/// A time in Unix seconds as UTC, to the second (`2027-01-31T12:00:00Z`).
fn utc(seconds: u64) -> String {
    let time = UNIX_EPOCH + std::time::Duration::from_secs(seconds.min(253_402_300_799));
    humantime::format_rfc3339_seconds(time).to_string()
}

/// The registry of the relay whose store `config` names; an SQLite one must exist.
async fn registry(config: &Config) -> anyhow::Result<Registry> {
    Ok(match config.location() {
        Location::Postgres(url) => Registry::open_postgres(&url, false).await?,
        Location::Sqlite(path) => Registry::open_existing(&path, config.secret_path())?,
    })
}

/// The registry for a token just minted: the relay's, or a new one where no relay has run yet
/// (a first token minted before the first start).
async fn registry_for_minting(config: &Config) -> anyhow::Result<Registry> {
    let path = match config.location() {
        Location::Sqlite(path) if !path.exists() => path,
        Location::Postgres(url) => return Ok(Registry::open_postgres(&url, true).await?),
        Location::Sqlite(_) => return registry(config).await,
    };
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    Registry::open(&path, config.secret_path())
        .with_context(|| format!("cannot open {}", path.display()))
}

async fn mint(args: &TokenArgs) -> anyhow::Result<()> {
    let (Some(user), Some(docs), Some(role)) = (&args.user, &args.docs, args.role) else {
        anyhow::bail!("a token needs --user, --docs and --role");
    };
    let config = args.place.config()?;
    let ttl = parse_ttl(&args.ttl).map_err(anyhow::Error::msg)?;
    let registry = registry_for_minting(&config).await?;
    let secret = registry.secret_or_create().await?;
    let now = now()?;
    let claims = Claims {
        user: user.clone(),
        docs: docs.clone(),
        role: match role {
            RoleArg::Read => Role::Read,
            RoleArg::Write => Role::Write,
        },
        exp: now.saturating_add(ttl.as_secs()),
    };
    let token = secret.mint(&claims);
    let id = registry.record(&token, &claims, now).await?;
    println!("{token}");
    eprintln!(
        "token {id}: {} may {} {} until {}",
        claims.user,
        match claims.role {
            Role::Read => "read",
            Role::Write => "read and write",
        },
        claims.docs,
        utc(claims.exp)
    );
    Ok(())
}

async fn list(config: &Config) -> anyhow::Result<()> {
    for listed in registry(config).await?.list(now()?).await? {
        let state = match listed.revoked {
            Some(at) => format!("revoked {}", utc(at)),
            None => "active".to_owned(),
        };
        let role = match listed.claims.role {
            Role::Read => "read",
            Role::Write => "write",
        };
        println!(
            "{}\t{}\t{}\t{role}\t{}\t{state}",
            listed.id,
            listed.claims.user,
            listed.claims.docs,
            utc(listed.claims.exp)
        );
    }
    Ok(())
}

async fn revoke(config: &Config, token: &str) -> anyhow::Result<()> {
    let token = token.trim();
    let id = if is_token_id(token) {
        token.to_ascii_lowercase()
    } else if token.contains('.') {
        token_id(token)
    } else {
        anyhow::bail!(
            "{token:?} is neither a token id (16 hex digits, see `concord-relay token list`) nor a token"
        );
    };
    match registry(config).await?.revoke(&id, now()?).await? {
        Revoked::Listed(listed) => println!(
            "revoked {id} ({}, {}): a running relay refuses it and closes its connections within a second",
            listed.claims.user, listed.claims.docs
        ),
        Revoked::Unlisted(id) => println!(
            "revoked {id}, which this relay's list does not hold (minted elsewhere or before tokens were listed): it is refused should it come"
        ),
    }
    Ok(())
}

async fn rotate(config: &Config) -> anyhow::Result<()> {
    // The relay's own registry, opened before anything changes.
    let voided = registry(config).await?.rotate(now()?).await?;
    println!(
        "the signing secret is new: every token minted before ({voided} listed as active) no longer works, \
         and a running relay closes their connections within a second; mint new ones with `concord-relay token`"
    );
    Ok(())
}

fn serve(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        crate::run(listener, config, shutdown).await
    })
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            shutdown.cancel();
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
    shutdown.cancel();
}
