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

/// The configured certificate chain and key, read and checked once at start-up.
pub struct TlsFiles {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// The REST listener's acceptor, speaking HTTP/2 and HTTP/1.1 by ALPN.
    pub rest: TlsAcceptor,
}

impl TlsFiles {
    /// Reads both files and makes the REST listener's TLS configuration from them, which checks
    /// that they make a TLS identity: a start-up error names the flag and file at fault rather
    /// than the transport's "transport error" later.
    pub fn read(cert: &Path, key: &Path) -> Result<Self, String> {
        let read = |flag: &str, path: &Path| {
            std::fs::read(path).map_err(|e| format!("cannot read {flag} {}: {e}", path.display()))
        };
        let (cert_pem, key_pem) = (read("--tls-cert", cert)?, read("--tls-key", key)?);
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
        if chain.is_empty() {
            return Err(format!(
                "--tls-cert {} holds no PEM certificate",
                cert.display()
            ));
        }
        let private_key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| format!("--tls-key {} holds no PEM private key ({e})", key.display()))?;
        let rest = acceptor(chain, private_key)
            .map_err(|e| format!("--tls-cert and --tls-key do not make a TLS identity: {e}"))?;
        Ok(TlsFiles {
            cert_pem,
            key_pem,
            rest,
        })
    }

    /// tonic's server configuration.
    pub fn grpc(&self) -> tonic::transport::ServerTlsConfig {
        tonic::transport::ServerTlsConfig::new().identity(tonic::transport::Identity::from_pem(
            &self.cert_pem,
            &self.key_pem,
        ))
    }
}

/// An acceptor for the REST listener, speaking HTTP/2 and HTTP/1.1 by ALPN.
fn acceptor(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<TlsAcceptor, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::TlsFiles;

    #[test]
    fn a_tls_file_that_cannot_serve_is_named_at_start() {
        let dir = std::env::temp_dir().join(format!("livegate-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let garbage = dir.join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();

        let refused = TlsFiles::read(&missing, &garbage).err().unwrap();
        assert!(refused.starts_with("cannot read --tls-cert"), "{refused}");
        assert!(refused.contains("missing.pem"), "{refused}");
        let refused = TlsFiles::read(&garbage, &garbage).err().unwrap();
        assert!(refused.contains("holds no PEM certificate"), "{refused}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
