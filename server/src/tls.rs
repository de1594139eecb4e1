//! TLS for both transports when a certificate and key are configured: rustls (ring) for the
//! REST listener through tokio-rustls, and tonic's own rustls support for gRPC, from the same
//! PEM files. Without them the server speaks plaintext, which suits a mesh that terminates TLS
//! in a sidecar. The REST listener's TLS handshake is done by [`crate::http_server`].

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The configured certificate chain and key, read once at start-up.
pub struct TlsFiles {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl TlsFiles {
    pub fn read(cert: &Path, key: &Path) -> std::io::Result<Self> {
        Ok(TlsFiles {
            cert_pem: std::fs::read(cert)?,
            key_pem: std::fs::read(key)?,
        })
    }

    /// tonic's server configuration.
    pub fn grpc(&self) -> tonic::transport::ServerTlsConfig {
        tonic::transport::ServerTlsConfig::new().identity(tonic::transport::Identity::from_pem(
            &self.cert_pem,
            &self.key_pem,
        ))
    }

    /// An acceptor for the REST listener, speaking HTTP/2 and HTTP/1.1 by ALPN.
    pub fn rest(&self) -> Result<TlsAcceptor, Box<dyn std::error::Error + Send + Sync>> {
        let chain =
            CertificateDer::pem_slice_iter(&self.cert_pem).collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
