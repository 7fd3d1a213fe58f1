//! TLS to PostgreSQL, with libpq's `sslmode` meanings.
//!
//! The database URL's query string takes `sslmode` and `sslrootcert` as `psql` does:
//!
//! | `sslmode` | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | no | — |
//! | `prefer` (default) | if the server offers TLS | no |
//! | `require` | yes | no (as `verify-ca` when `sslrootcert` is given, as in libpq) |
//! | `verify-ca` | yes | signed by a root in `sslrootcert` |
//! | `verify-full` | yes | signed by a root in `sslrootcert`, and issued for the URL's host |
//!
//! `sslrootcert` is a PEM file of root certificates, or `system` for the Mozilla root program's
//! set (the roots most operating systems trust; managed databases usually publish their own CA
//! file instead). Client certificates (`sslcert`, `sslkey`) are refused with a clear error
//! rather than ignored. TLS is rustls with the *ring* provider: nothing to install.

use std::str::FromStr;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::{StoreError, without_password};

/// How the connection is protected, as libpq's `sslmode` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, unverified.
    Prefer,
    /// TLS, unverified.
    Require,
    /// TLS, the chain checked against the roots.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disable" => Ok(Self::Disable),
            "prefer" | "allow" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify-ca" => Ok(Self::VerifyCa),
            "verify-full" => Ok(Self::VerifyFull),
            other => Err(StoreError::Tls(format!(
                "sslmode={other:?} is not one of disable, prefer, require, verify-ca, verify-full"
            ))),
        }
    }
}

/// A connection configuration and the TLS connector its `sslmode` asks for.
pub(super) struct Connection {
    /// The driver's configuration, with its TLS mode set.
    pub(super) config: postgres::Config,
    /// The connector (used only when the mode is not `disable`).
    pub(super) tls: MakeRustlsConnect,
    /// The mode asked for.
    pub(super) mode: SslMode,
}

/// Parses a `postgres://` URL, taking out the TLS parameters the driver does not know.
pub(super) fn connection(url: &str) -> Result<Connection, StoreError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = SslMode::Prefer;
    let mut root_cert: Option<String> = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode_str(value).decode_utf8_lossy();
        match key {
            "sslmode" => mode = value.parse()?,
            "sslrootcert" => root_cert = Some(value.into_owned()),
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" => {
                return Err(StoreError::Tls(format!(
                    "{key} (client certificates, revocation lists) is not supported; \
                     use a password or a trusted network for authentication"
                )));
            }
            _ => rest.push(pair),
        }
    }
    let driver_url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let mut config = postgres::Config::from_str(&driver_url)
        .map_err(|e| StoreError::UnsupportedUrl(format!("{}: {e}", without_password(url))))?;
    config.ssl_mode(match mode {
        SslMode::Disable => postgres::config::SslMode::Disable,
        SslMode::Prefer => postgres::config::SslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            postgres::config::SslMode::Require
        }
    });
    let tls = MakeRustlsConnect::new(client_config(mode, root_cert.as_deref())?);
    Ok(Connection { config, tls, mode })
}

fn client_config(mode: SslMode, root_cert: Option<&str>) -> Result<ClientConfig, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Tls(e.to_string()))?;
    let chain = match (mode, root_cert) {
        (SslMode::VerifyFull, Some(roots)) => Some((roots, true)),
        (SslMode::VerifyCa | SslMode::Require, Some(roots)) => Some((roots, false)),
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err(StoreError::Tls(
                "sslmode=verify-ca and verify-full need sslrootcert=<PEM file of the server's \
                 CA> (or sslrootcert=system for the common public roots)"
                    .into(),
            ));
        }
        (SslMode::Disable | SslMode::Prefer | SslMode::Require, _) => None,
    };
    let chain = match chain {
        Some((roots, check_name)) => {
            let roots = Arc::new(root_store(roots)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .build()
                .map_err(|e| StoreError::Tls(e.to_string()))?;
            Some((webpki, check_name))
        }
        None => None,
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Verifier { chain, provider }))
        .with_no_client_auth())
}

fn root_store(root_cert: &str) -> Result<RootCertStore, StoreError> {
    if root_cert == "system" {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    }
    let unreadable =
        |e: &dyn std::fmt::Display| StoreError::Tls(format!("sslrootcert={root_cert}: {e}"));
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(root_cert).map_err(|e| unreadable(&e))? {
        roots
            .add(cert.map_err(|e| unreadable(&e))?)
            .map_err(|e| unreadable(&e))?;
    }
    if roots.is_empty() {
        return Err(unreadable(&"no PEM certificate in the file"));
    }
    Ok(roots)
}

/// The server's certificate as the mode asks: for `verify-ca` and `verify-full` the chain must
/// lead to a root (and for `verify-full` be issued for the host); for `prefer` and `require`
/// without roots it is not checked (libpq's meaning: encryption against passive eavesdropping
/// only). The handshake's signatures are always verified, so the session key belongs to
/// whoever holds the certificate's key.
#[derive(Debug)]
struct Verifier {
    /// The chain verifier and whether the host name is checked; `None`: unverified.
    chain: Option<(Arc<WebPkiServerVerifier>, bool)>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some((webpki, check_name)) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            // The chain is checked before the name, so a name error means the chain is good.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_the_url() {
        let c = connection("postgres://u@db.example:5432/ldp?sslmode=disable&connect_timeout=2")
            .unwrap();
        assert_eq!(c.mode, SslMode::Disable);
        assert_eq!(c.config.get_ssl_mode(), postgres::config::SslMode::Disable);
        assert_eq!(c.config.get_dbname(), Some("ldp"));
        let c = connection("postgres://u@db.example/ldp?sslmode=require").unwrap();
        assert_eq!(c.config.get_ssl_mode(), postgres::config::SslMode::Require);
        let c = connection("postgres://u@db.example/ldp").unwrap();
        assert_eq!(c.mode, SslMode::Prefer);
        let c = connection("postgres://u@db.example/ldp?sslmode=verify-full&sslrootcert=system")
            .unwrap();
        assert_eq!(c.mode, SslMode::VerifyFull);
        assert_eq!(c.config.get_ssl_mode(), postgres::config::SslMode::Require);
    }

    #[test]
    fn a_refused_url_never_shows_its_password() {
        let message = connection("postgres://ldp:s3cret@db.example:5432/ldp?bogus=1")
            .err()
            .map(|e| e.to_string())
            .unwrap();
        assert!(!message.contains("s3cret"), "{message}");
        assert!(
            message.contains("postgres://ldp:***@db.example:5432/ldp"),
            "{message}"
        );
        assert_eq!(
            without_password("mysql://u:p@w@h/d"),
            "mysql://u:***@h/d",
            "the last @ ends the user info"
        );
        assert_eq!(without_password("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(without_password("sqlite:///a:b@c"), "sqlite:///a:b@c");
    }

    #[test]
    fn unusable_tls_settings_are_refused_with_the_reason() {
        let message = |url: &str| connection(url).err().map(|e| e.to_string()).unwrap();
        assert!(message("postgres://u@h/d?sslmode=verify-full").contains("sslrootcert"));
        assert!(message("postgres://u@h/d?sslmode=strict").contains("sslmode=\"strict\""));
        assert!(message("postgres://u@h/d?sslmode=require&sslcert=c.pem").contains("sslcert"));
        let missing = message("postgres://u@h/d?sslmode=verify-ca&sslrootcert=/nonexistent.pem");
        assert!(missing.contains("/nonexistent.pem"), "{missing}");
    }
}
