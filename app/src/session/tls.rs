//! Which certificates a `wss://` relay may present: the platform's root certificates, plus
//! one extra certificate authority for relays with a certificate of their own making (the
//! `CONCORD_CA_FILE` environment variable, else the CA file in the preferences). Connections go
//! through rustls; `ws://` addresses stay plain (for this computer and local networks).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;

/// The environment variable naming an extra CA file; it takes precedence over the preferences.
pub const CA_FILE_ENV: &str = "CONCORD_CA_FILE";

/// The extra CA file to trust: `CONCORD_CA_FILE`, else `configured` (from the preferences),
/// either without surrounding spaces; none when both are empty.
pub fn ca_file(configured: Option<&Path>) -> Option<PathBuf> {
    let env = std::env::var_os(CA_FILE_ENV).map(PathBuf::from);
    [env.as_deref(), configured]
        .into_iter()
        .flatten()
        .filter_map(|path| match path.to_str() {
            Some(text) => Some(text.trim())
                .filter(|t| !t.is_empty())
                .map(PathBuf::from),
            // Not text: taken as it is.
            None => Some(path.to_path_buf()),
        })
        .next()
}

/// The TLS settings for `wss://` relays: the platform's roots and the certificates in
/// `extra_ca` (PEM). Fails, naming the file, when that file cannot be read or holds no
/// certificate; platform roots that cannot be read are passed over.
pub fn client_config(extra_ca: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    relay::tls::client(extra_ca).map_err(|e| format!("the CA file: {e}"))
}

/// What went wrong with a relay's certificate or the TLS handshake, for people; `None` when
/// `error` is not about TLS.
pub fn describe(error: &io::Error) -> Option<String> {
    use rustls::CertificateError as C;
    let rustls = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    let hint = "if the relay uses a certificate of its own making, set its CA file in \
                Preferences (or CONCORD_CA_FILE)";
    Some(match rustls {
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => "the relay's certificate is not valid for this address: check the host name in the \
             relay address, or the certificate the relay serves"
            .to_owned(),
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            format!(
                "the relay's certificate is not signed by an authority this computer trusts; {hint}"
            )
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the relay's certificate has expired".to_owned()
        }
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "the relay's certificate is not valid yet (is this computer's clock right?)".to_owned()
        }
        rustls::Error::InvalidCertificate(other) => {
            format!("the relay's certificate was refused: {other:?}")
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the relay did not answer with TLS: is it a ws:// relay rather than wss://?".to_owned()
        }
        other => format!("the TLS handshake with the relay failed: {other}"),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_extra_ca_file_must_hold_certificates() {
        let dir = std::env::temp_dir().join(format!("concord-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        assert!(
            client_config(Some(&missing))
                .unwrap_err()
                .contains("missing.pem")
        );
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "nothing here").unwrap();
        assert!(
            client_config(Some(&empty))
                .unwrap_err()
                .contains("no PEM certificate")
        );
        let ca = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let good = dir.join("ca.pem");
        std::fs::write(&good, ca.cert.pem()).unwrap();
        assert!(client_config(Some(&good)).is_ok());
        assert!(client_config(None).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn certificate_errors_are_told_plainly() {
        let wrap = |e: rustls::Error| io::Error::new(io::ErrorKind::InvalidData, e);
        let name = describe(&wrap(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName,
        )))
        .unwrap();
        assert!(name.contains("not valid for this address"), "{name}");
        let issuer = describe(&wrap(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        )))
        .unwrap();
        assert!(issuer.contains("CONCORD_CA_FILE"), "{issuer}");
        assert!(describe(&io::Error::from(io::ErrorKind::ConnectionRefused)).is_none());
    }
}
