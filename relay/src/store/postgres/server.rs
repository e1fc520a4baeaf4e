//! How the relay reaches PostgreSQL: a `postgres://` URL's connection settings, read by
//! tokio-postgres, and its TLS settings, read here with libpq's meaning. tokio-postgres knows
//! `sslmode=disable|prefer|require` and no certificate files; people copy URLs from `psql`, so
//! the relay takes what libpq takes:
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow`, `prefer` (the default) | if the server offers it | not checked |
//! | `require` | always | not checked; with `sslrootcert=FILE`, checked as `verify-ca` |
//! | `verify-ca` | always | signed by an authority in `sslrootcert=FILE` |
//! | `verify-full` | always | signed by a trusted authority, and naming the host |
//!
//! `sslrootcert=FILE` (PEM) gives the trusted authorities. `sslrootcert=system` trusts the
//! system's, and so means `verify-full` (a weaker mode is refused, as libpq refuses it).
//! `sslcert=FILE` and `sslkey=FILE` give a client certificate, for servers that authenticate by
//! certificate. Where the relay differs from libpq:
//! - `verify-full` without `sslrootcert` trusts the system's authorities (libpq reads
//!   `~/.postgresql/root.crt`, which a service account seldom has);
//! - `allow` is read as `prefer`: it tries TLS first rather than last;
//! - `prefer` does not retry without TLS when the TLS handshake fails (write `sslmode=disable`
//!   for a server whose TLS rustls cannot speak);
//! - the `PGSSLMODE`-style environment variables are not read, and libpq's other TLS settings
//!   (`sslpassword`, `sslcrl`, ...) are refused as unknown.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_postgres::Client;
use tokio_postgres::config::SslMode as WireMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

/// `sslmode`, as libpq reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, the certificate unchecked (`allow` or `prefer`).
    Prefer,
    /// Always TLS; the certificate is checked only against a given `sslrootcert`.
    Require,
    /// Always TLS, the certificate signed by a trusted authority.
    VerifyCa,
    /// Always TLS, the certificate signed by a trusted authority and naming the host.
    VerifyFull,
}

/// Where trusted authorities come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// The system's certificate store.
    System,
    /// A PEM file of certificates.
    File(PathBuf),
}

/// A URL's TLS settings, checked for form but with no file read yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `sslmode`.
    pub mode: SslMode,
    /// `sslrootcert`, if given.
    pub roots: Option<Roots>,
    /// `sslcert` and `sslkey`, if given.
    pub client: Option<(PathBuf, PathBuf)>,
}

impl TlsSettings {
    /// Whether the server's certificate is checked, and whether against its name too.
    fn checks(&self) -> Option<bool> {
        match self.mode {
            SslMode::Disable | SslMode::Prefer => None,
            SslMode::Require => self.roots.as_ref().map(|_| false),
            SslMode::VerifyCa => Some(false),
            SslMode::VerifyFull => Some(true),
        }
    }
}

/// A PostgreSQL URL read: what tokio-postgres connects with, and the TLS settings.
pub fn settings(url: &str) -> Result<(tokio_postgres::Config, TlsSettings), String> {
    let (base, query) = split_query(url);
    // tokio-postgres reads up to the first `@` as the credentials: with no user in the URL,
    // an `@` in the query would make the host and the settings part of a user name (where
    // libpq would read them as they look).
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    if let Some(at) = base.get(after_scheme..).and_then(|rest| rest.find('@'))
        && base
            .get(after_scheme..after_scheme + at)
            .and_then(|userinfo| userinfo.split(':').next())
            .is_some_and(|user| user.contains(['/', '?']))
    {
        return Err(
            "the URL has no user before its first @: write an @ in a setting as %40, or name \
             the user (postgres://USER@HOST/...)"
                .to_owned(),
        );
    }
    let mut kept = Vec::new();
    let mut mode = None;
    let mut roots = None;
    let (mut cert, mut key) = (None, None);
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        // Keys are decoded too, as tokio-postgres decodes them: `ssl%6Dode` is `sslmode`.
        let decode = |text: &str| {
            percent_decode_str(text)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| "a setting of the URL is not UTF-8 once decoded".to_owned())
        };
        let (name, value) = (decode(name)?, decode(value)?);
        match name.as_str() {
            "sslmode" => mode = Some(ssl_mode(&value)?),
            "sslrootcert" if value == "system" => roots = Some(Roots::System),
            "sslrootcert" => roots = Some(Roots::File(PathBuf::from(value))),
            "sslcert" => cert = Some(PathBuf::from(value)),
            "sslkey" => key = Some(PathBuf::from(value)),
            _ => kept.push(pair),
        }
    }
    let client = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err("sslcert and sslkey go together: give both or neither".to_owned()),
    };
    let mode = checked_mode(mode, roots.as_ref())?;
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: tokio_postgres::Config = rest
        .parse()
        .map_err(|e: tokio_postgres::Error| crate::store::with_causes(&e))?;
    // Every `sslmode` was taken out above: one tokio-postgres still found came in a form this
    // reading missed, and must not be overridden unseen.
    if config.get_ssl_mode() != WireMode::Prefer {
        return Err(
            "sslmode is given in a form that cannot be read; write sslmode=MODE once".to_owned(),
        );
    }
    config.ssl_mode(match mode {
        SslMode::Disable => WireMode::Disable,
        SslMode::Prefer => WireMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
    });
    Ok((
        config,
        TlsSettings {
            mode,
            roots,
            client,
        },
    ))
}

/// The URL before its query, and the query: the query starts at the first `?` after the
/// credentials, which end at the first `@` (as tokio-postgres reads them), so that a `?` in a
/// password is not taken for it.
fn split_query(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let host = url
        .get(after_scheme..)
        .and_then(|rest| rest.find('@'))
        .map_or(after_scheme, |at| after_scheme + at + 1);
    match url.get(host..).and_then(|rest| rest.find('?')) {
        Some(at) => (
            url.get(..host + at).unwrap_or(url),
            url.get(host + at + 1..).unwrap_or(""),
        ),
        None => (url, ""),
    }
}

/// The mode to use, given the one asked for (if any) and the trusted roots, with libpq's
/// rules: with `sslrootcert=system` the mode is `verify-full` and no weaker one is taken (the
/// system trusts every public authority, so only the host's name makes a check worth
/// anything); `verify-ca` needs a file of authorities for the same reason.
fn checked_mode(asked: Option<SslMode>, roots: Option<&Roots>) -> Result<SslMode, String> {
    match (asked, roots) {
        (None | Some(SslMode::VerifyFull), Some(Roots::System)) => Ok(SslMode::VerifyFull),
        (Some(_), Some(Roots::System)) => Err(
            "sslrootcert=system checks the certificate against every public authority, so it \
             needs sslmode=verify-full (or no sslmode)"
                .to_owned(),
        ),
        (Some(SslMode::VerifyCa), None) => Err(
            "sslmode=verify-ca needs sslrootcert=FILE, the authority that signed the server's \
             certificate (against the system's authorities, use verify-full)"
                .to_owned(),
        ),
        (asked, _) => Ok(asked.unwrap_or(SslMode::Prefer)),
    }
}

fn ssl_mode(text: &str) -> Result<SslMode, String> {
    Ok(match text {
        "disable" => SslMode::Disable,
        "allow" | "prefer" => SslMode::Prefer,
        "require" => SslMode::Require,
        "verify-ca" => SslMode::VerifyCa,
        "verify-full" => SslMode::VerifyFull,
        other => {
            return Err(format!(
                "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, \
                 verify-full"
            ));
        }
    })
}

/// A PostgreSQL server as the relay reaches it: the connection settings and the TLS client,
/// its files read.
#[derive(Clone)]
pub struct Server {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").finish_non_exhaustive()
    }
}

impl Server {
    /// Reads `url` and the certificate files it names; an error says which setting or file is
    /// wrong, and never shows a password.
    pub fn open(url: &str) -> Result<Server, StoreError> {
        let place = || crate::store::Location::Postgres(url.to_owned()).to_string();
        let (config, settings) =
            settings(url).map_err(|e| StoreError::Location(format!("{}: {e}", place())))?;
        let tls = client_config(&settings)
            .map_err(|e| StoreError::Location(format!("{}: {e}", place())))?;
        Ok(Server {
            config,
            tls: MakeRustlsConnect::new(tls),
        })
    }

    /// The connection settings, to add session options to.
    pub fn config(&self) -> tokio_postgres::Config {
        self.config.clone()
    }

    /// What makes each connection's TLS.
    pub fn tls(&self) -> MakeRustlsConnect {
        self.tls.clone()
    }

    /// One connection, driven by a task on the current runtime until the client is dropped.
    pub async fn connect(&self) -> Result<Client, StoreError> {
        let (client, connection) = self.config.connect(self.tls.clone()).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "the connection to PostgreSQL ended");
            }
        });
        Ok(client)
    }
}

/// The TLS client for `settings`: which certificates it trusts, how far it checks them, and
/// the client certificate it shows.
fn client_config(settings: &TlsSettings) -> Result<ClientConfig, String> {
    let provider = crate::tls::provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS protocol versions: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = match settings.checks() {
        None => Arc::new(Unchecked(provider)),
        Some(names) => {
            let roots = match settings.roots.as_ref().unwrap_or(&Roots::System) {
                Roots::System => crate::tls::system_roots("PostgreSQL's certificate")
                    .map_err(|e| format!("{e}; give sslrootcert=FILE"))?,
                Roots::File(path) => file_roots(path)?,
            };
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("trusted certificates: {e}"))?;
            if names {
                webpki
            } else {
                Arc::new(AnyName(webpki))
            }
        }
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match &settings.client {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let certs = crate::tls::read_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("cannot read a private key from {}: {e}", key.display()))?;
            builder.with_client_auth_cert(certs, key).map_err(|e| {
                format!(
                    "sslkey does not go with the certificate in {}: {e}",
                    cert.display()
                )
            })
        }
    }
}

fn file_roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    crate::tls::trust_file(&mut roots, path)?;
    Ok(roots)
}

/// Takes any certificate (`prefer` and `require`, as libpq does), while still checking that
/// the server holds the key of the certificate it shows.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted authority, whatever host the certificate
/// names.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn read(url: &str) -> Result<(String, TlsSettings), String> {
        settings(url).map(|(config, tls)| (format!("{:?}", config.get_ssl_mode()), tls))
    }

    #[test]
    fn the_tls_settings_are_read_as_libpq_reads_them_and_taken_out_of_the_url() {
        let (wire, tls) = read("postgres://u@h:5/db").unwrap();
        assert_eq!(wire, "Prefer");
        assert_eq!((tls.mode, tls.checks()), (SslMode::Prefer, None));

        let (wire, tls) = read(
            "postgres://u@h/db?application_name=x&sslmode=verify-full&sslrootcert=/etc/ca%20here.pem\
             &sslcert=/c.pem&sslkey=/k.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(wire, "Require");
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.checks(), Some(true));
        assert_eq!(
            tls.roots,
            Some(Roots::File(PathBuf::from("/etc/ca here.pem")))
        );
        assert_eq!(
            tls.client,
            Some((PathBuf::from("/c.pem"), PathBuf::from("/k.pem")))
        );

        for (mode, wire, checks) in [
            ("disable", "Disable", None),
            ("allow", "Prefer", None),
            ("prefer", "Prefer", None),
            ("require", "Require", None),
            ("verify-full", "Require", Some(true)),
        ] {
            let (got, tls) = read(&format!("postgres://h/db?sslmode={mode}")).unwrap();
            assert_eq!((got.as_str(), tls.checks()), (wire, checks), "{mode}");
        }
        // As libpq: require with a file of authorities checks the chain; the system's
        // authorities mean verify-full.
        let (_, tls) = read("postgresql://h/db?sslmode=require&sslrootcert=/ca.pem").unwrap();
        assert_eq!(tls.checks(), Some(false));
        let (wire, tls) = read("postgresql://h/db?sslrootcert=system").unwrap();
        assert_eq!((wire.as_str(), tls.mode), ("Require", SslMode::VerifyFull));
        // Keys are decoded as tokio-postgres decodes them, and the query is found after the
        // credentials even when a password holds a `?`.
        let (wire, tls) = read("postgres://h/db?ssl%6Dode=require").unwrap();
        assert_eq!((wire.as_str(), tls.mode), ("Require", SslMode::Require));
        let (config, tls) =
            settings("postgres://u:pa?ss@h/db?sslmode=verify-full&sslrootcert=/ca.pem").unwrap();
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(config.get_password(), Some(&b"pa?ss"[..]));
        assert_eq!(config.get_dbname(), Some("db"));
    }

    #[test]
    fn bad_tls_settings_are_refused_with_what_is_wrong() {
        let error = read("postgres://h/db?sslmode=verify").unwrap_err();
        assert!(error.contains("sslmode=verify is not one of"), "{error}");
        let error = read("postgres://h/db?sslcert=/c.pem").unwrap_err();
        assert!(error.contains("sslcert and sslkey go together"), "{error}");
        let error = read("postgres://h/db?sslmode=require&colour=blue").unwrap_err();
        assert!(error.contains("colour"), "{error}");
        // Checks that would check nothing worth having.
        for weak in ["disable", "prefer", "require", "verify-ca"] {
            let error = read(&format!(
                "postgres://h/db?sslmode={weak}&sslrootcert=system"
            ))
            .unwrap_err();
            assert!(
                error.contains("needs sslmode=verify-full"),
                "{weak}: {error}"
            );
        }
        let error = read("postgres://h/db?sslmode=verify-ca").unwrap_err();
        assert!(
            error.contains("verify-ca needs sslrootcert=FILE"),
            "{error}"
        );

        let error = Server::open(
            "postgres://u:hunter2@h/db?sslmode=verify-ca&sslrootcert=/home/ops@corp/nowhere.pem",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("/home/ops@corp/nowhere.pem"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let error = Server::open("postgres://h/db?sslcert=/nowhere.pem&sslkey=/k.pem")
            .unwrap_err()
            .to_string();
        assert!(error.contains("/nowhere.pem"), "{error}");
    }

    /// The files `scripts/with-postgres.sh` makes when its PostgreSQL serves TLS: `ca.pem`,
    /// whose authority signed the server's certificate (for `localhost` only), and `client.pem`
    /// and `client.key`, a certificate for the role `concord_cert`, which may only log in with
    /// it. The port is the test PostgreSQL's.
    fn tls_server(test: &str) -> Option<(PathBuf, u16)> {
        let (Ok(dir), Ok(base)) = (
            std::env::var("CONCORD_TEST_POSTGRES_TLS"),
            std::env::var("CONCORD_TEST_POSTGRES"),
        ) else {
            eprintln!(
                "SKIPPED: {test} needs a PostgreSQL with TLS: CONCORD_TEST_POSTGRES and \
                 CONCORD_TEST_POSTGRES_TLS (scripts/with-postgres.sh, with openssl)"
            );
            return None;
        };
        let port = base.rsplit_once(':').unwrap().1.split('/').next().unwrap();
        Some((PathBuf::from(dir), port.parse().unwrap()))
    }

    /// Whether the connection is encrypted, as the server sees it.
    async fn encrypted(client: &Client) -> bool {
        client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    }

    async fn connect(url: &str) -> Result<Client, String> {
        let server = Server::open(url).map_err(|e| e.to_string())?;
        server.connect().await.map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn each_sslmode_encrypts_and_checks_as_it_says() {
        let Some((dir, port)) = tls_server("each_sslmode") else {
            return;
        };
        let ca = dir.join("ca.pem").display().to_string();
        let verified = |mode: &str| format!("sslmode={mode}&sslrootcert={ca}");
        // (host, query, whether encrypted, or what the refusal says)
        let cases: [(&str, String, Result<bool, &str>); 9] = [
            ("localhost", "sslmode=disable".to_owned(), Ok(false)),
            // Not checked: reached by an address the certificate does not name.
            ("127.0.0.1", String::new(), Ok(true)),
            ("127.0.0.1", "sslmode=prefer".to_owned(), Ok(true)),
            ("127.0.0.1", "sslmode=require".to_owned(), Ok(true)),
            ("localhost", verified("verify-full"), Ok(true)),
            ("127.0.0.1", verified("verify-ca"), Ok(true)),
            ("127.0.0.1", verified("require"), Ok(true)),
            // The certificate does not name 127.0.0.1.
            (
                "127.0.0.1",
                verified("verify-full"),
                Err("not valid for name \"127.0.0.1\""),
            ),
            // The system does not trust the test authority (or has no authorities at all).
            ("localhost", "sslmode=verify-full".to_owned(), Err("")),
        ];
        for (host, query, expected) in cases {
            let url = format!("postgres://concord@{host}:{port}/postgres?{query}");
            match (connect(&url).await, expected) {
                (Ok(client), Ok(encrypted_as)) => {
                    assert_eq!(encrypted(&client).await, encrypted_as, "{url}");
                }
                (Err(error), Err("")) => assert!(
                    error.contains("UnknownIssuer") || error.contains("no trusted certificates"),
                    "{url}: {error}"
                ),
                (Err(error), Err(says)) => assert!(error.contains(says), "{url}: {error}"),
                (Ok(_), Err(_)) => panic!("{url} connected"),
                (Err(error), Ok(_)) => panic!("{url}: {error}"),
            }
        }
    }

    #[tokio::test]
    async fn a_certificate_from_another_authority_is_refused() {
        let Some((dir, port)) = tls_server("another_authority") else {
            return;
        };
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let file = dir.join(format!("other-{}.pem", std::process::id()));
        std::fs::write(&file, other.cert.pem()).unwrap();
        for mode in ["verify-full", "verify-ca", "require"] {
            let url = format!(
                "postgres://concord@localhost:{port}/postgres?sslmode={mode}&sslrootcert={}",
                file.display()
            );
            let error = connect(&url).await.unwrap_err();
            assert!(
                error.contains("UnknownIssuer") || error.contains("BadSignature"),
                "{mode}: {error}"
            );
        }
        std::fs::remove_file(file).unwrap();
    }

    #[tokio::test]
    async fn a_client_certificate_logs_in_where_the_server_asks_for_one() {
        let Some((dir, port)) = tls_server("client_certificate") else {
            return;
        };
        let url = |extra: &str| {
            format!(
                "postgres://concord_cert@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}{extra}",
                dir.join("ca.pem").display()
            )
        };
        let client = connect(&url(&format!(
            "&sslcert={}&sslkey={}",
            dir.join("client.pem").display(),
            dir.join("client.key").display()
        )))
        .await
        .unwrap();
        let user: String = client
            .query_one("SELECT current_user", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(user, "concord_cert");
        let error = connect(&url("")).await.unwrap_err();
        assert!(error.contains("certificate"), "{error}");
    }
}
