//! Native TLS for the API (`[api] tls_cert`, `tls_key`): rustls with the ring provider, the
//! one libp2p already brings. The certificate chain and key are read from PEM files once at
//! start; the connection loop (`conn.rs`) runs the handshake within `header_timeout` and then
//! serves HTTP/1.1 inside it with the same bounds as plain connections.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
pub use tokio_rustls::TlsAcceptor;

/// Why the TLS configuration could not be loaded. The message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate file is unreadable or holds no PEM certificate.
    #[error("api.tls_cert: {path}: {why}")]
    Cert {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The key file is unreadable or holds no PEM private key.
    #[error("api.tls_key: {path}: {why}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// rustls refused the pair (the key does not match the certificate, say).
    #[error("api.tls_cert, api.tls_key: {0}")]
    Config(String),
}

/// Largest PEM file read, bytes (1 MiB): a certificate chain is a few KiB.
const MAX_PEM_BYTES: u64 = 1 << 20;

fn read(path: &Path) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > MAX_PEM_BYTES {
        return Err(format!("larger than {MAX_PEM_BYTES} bytes"));
    }
    std::fs::read(path).map_err(|e| e.to_string())
}

/// The acceptor for the certificate chain `cert` and private key `key` (PEM files).
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let cert_err = |why: String| TlsError::Cert {
        path: cert.to_path_buf(),
        why,
    };
    let key_err = |why: String| TlsError::Key {
        path: key.to_path_buf(),
        why,
    };
    let pem = read(cert).map_err(cert_err)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| cert_err(format!("not PEM certificates: {e}")))?;
    if chain.is_empty() {
        return Err(cert_err("no CERTIFICATE block".into()));
    }
    let pem = read(key).map_err(key_err)?;
    let secret = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| key_err(format!("no PEM private key: {e}")))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| TlsError::Config(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, secret)
    .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
