//! TLS in the relay itself, for people without a reverse proxy: a certificate chain and its
//! private key (PEM files), served through rustls, and read again on [`Tls::reload`] (SIGHUP)
//! so that a renewed certificate takes effect without a restart. Connections already open keep
//! the certificate they were opened with.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use anyhow::Context as _;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tokio_rustls::TlsAcceptor;

/// The PEM files the relay's own TLS is served from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The leaf's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The listener's TLS: what new connections are served with.
pub struct Tls {
    files: TlsFiles,
    acceptor: RwLock<TlsAcceptor>,
}

impl Tls {
    /// Reads the files; fails with a message naming the file that is missing or unreadable, or
    /// a key that does not match the certificate.
    pub fn load(files: TlsFiles) -> anyhow::Result<Tls> {
        let acceptor = acceptor(&files)?;
        Ok(Tls {
            files,
            acceptor: RwLock::new(acceptor),
        })
    }

    /// Reads the files again. On failure the certificate in use stays in use.
    pub fn reload(&self) -> anyhow::Result<()> {
        let acceptor = acceptor(&self.files)?;
        *self
            .acceptor
            .write()
            .unwrap_or_else(PoisonError::into_inner) = acceptor;
        Ok(())
    }

    /// What a new connection is served with.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        self.acceptor
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn acceptor(files: &TlsFiles) -> anyhow::Result<TlsAcceptor> {
    let certs = read_certs(&files.cert).map_err(anyhow::Error::msg)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        anyhow::anyhow!(
            "cannot read a private key from {}: {}",
            files.key.display(),
            pem_error(&e)
        )
    })?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| {
            format!(
                "the key in {} does not go with the certificate in {}",
                files.key.display(),
                files.cert.display()
            )
        })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The certificates in a PEM file, in order; an error names the file and says what is wrong
/// with it, and a file with none is an error.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| {
            format!(
                "cannot read certificates from {}: {}",
                path.display(),
                pem_error(&e)
            )
        })?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// The certificates the system trusts (its store, as `rustls-native-certs` finds it), or an
/// error saying there are none; `what` says what they were to check.
pub fn system_roots(what: &str) -> Result<rustls::RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found.errors.first().map(ToString::to_string);
        return Err(format!(
            "the system has no trusted certificates to check {what} with ({})",
            why.unwrap_or_else(|| "none found".to_owned())
        ));
    }
    Ok(roots)
}

/// The TLS client for `wss://` servers: it trusts the system's authorities (those that can be
/// read) and those in `extra` (a PEM file), so servers whose certificates a private authority
/// signed can be reached. The relay reaches the other relays of its cluster with it (`extra`:
/// `--node-ca`), and the app its relays (`extra`: its CA file). Fails, naming the file, when
/// `extra` cannot be read or holds no certificate.
pub fn client(extra: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = extra {
        trust_file(&mut roots, path)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS is not available: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Adds the certificates of the PEM file `path` to `roots`.
pub fn trust_file(roots: &mut rustls::RootCertStore, path: &Path) -> Result<(), String> {
    for cert in read_certs(path)? {
        roots.add(cert).map_err(|e| {
            format!(
                "{} holds a certificate that cannot be trusted: {e}",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// The cryptography every TLS configuration of Concord's uses (ring).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A PEM reading error for people (the library's own shows the expected line as bytes).
fn pem_error(error: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error;
    match error {
        Error::MissingSectionEnd { .. } => {
            "a PEM section has no END line (was the file cut short?)".to_owned()
        }
        Error::IllegalSectionStart { .. } => "a PEM BEGIN line is malformed".to_owned(),
        Error::Base64Decode(_) => "a PEM section is not valid base64".to_owned(),
        Error::NoItemsFound => "it holds no PEM section of that kind".to_owned(),
        Error::Io(e) => e.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn write_pair(dir: &Path, name: &str) -> TlsFiles {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let files = TlsFiles {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        };
        std::fs::write(&files.cert, cert.cert.pem()).unwrap();
        std::fs::write(&files.key, cert.signing_key.serialize_pem()).unwrap();
        files
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("concord-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_matching_pair_loads_and_a_broken_reload_keeps_the_old_one() {
        let dir = temp("reload");
        let files = write_pair(&dir, "a");
        let tls = Tls::load(files.clone()).unwrap();
        // A renewed pair in place is taken.
        let renewed = write_pair(&dir, "b");
        std::fs::copy(&renewed.cert, &files.cert).unwrap();
        std::fs::copy(&renewed.key, &files.key).unwrap();
        tls.reload().unwrap();
        // A half-written renewal is refused, and the pair in use stays.
        std::fs::write(&files.key, "-----BEGIN PRIVATE KEY-----\n").unwrap();
        assert!(tls.reload().is_err());
        let _still = tls.acceptor();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn errors_name_the_file_at_fault() {
        let dir = temp("errors");
        let a = write_pair(&dir, "a");
        let b = write_pair(&dir, "b");
        let missing = TlsFiles {
            cert: dir.join("none.crt"),
            key: a.key.clone(),
        };
        let error = format!("{:#}", Tls::load(missing).err().unwrap());
        assert!(error.contains("none.crt"), "{error}");
        let mismatched = TlsFiles {
            cert: a.cert.clone(),
            key: b.key.clone(),
        };
        let error = format!("{:#}", Tls::load(mismatched).err().unwrap());
        assert!(error.contains("does not go with"), "{error}");
        std::fs::write(&b.key, "-----BEGIN PRIVATE KEY-----\nAAAA\n").unwrap();
        let error = format!("{:#}", Tls::load(b).err().unwrap());
        assert!(error.contains("no END line"), "{error}");
        std::fs::write(&a.cert, "not pem").unwrap();
        let error = format!("{:#}", Tls::load(a).err().unwrap());
        assert!(error.contains("no PEM certificate"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
