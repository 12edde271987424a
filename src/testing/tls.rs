//! The server's TLS identity: certificate chain, key and the rustls configuration built
//! from them (ring provider, never the process-wide default).

use std::fmt;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why a [`TlsIdentity`] could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsIdentityError {
    /// rcgen failed to generate the certificate.
    #[error("generating the test certificate failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// The PEM input held no certificate.
    #[error("no certificate found in the PEM input")]
    NoCertificate,
    /// The key PEM could not be parsed or held no private key.
    #[error("no usable private key in the PEM input: {0}")]
    Key(String),
    /// A certificate PEM block could not be parsed.
    #[error("unreadable certificate PEM: {0}")]
    Certificate(String),
    /// rustls refused the certificate chain or key.
    #[error("rustls refused the certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A certificate chain and private key the server presents, for STARTTLS or implicit TLS.
///
/// Cheap to clone (the rustls configuration is shared), so one identity can serve a
/// STARTTLS server and an implicit-TLS server at once, and a client trusting
/// [`TlsIdentity::certificate_der`] can talk to both.
#[derive(Clone)]
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    config: Arc<ServerConfig>,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Generates a fresh self-signed certificate (ECDSA P-256) valid for the names
    /// `localhost` and `127.0.0.1`. The certificate is its own trust anchor: a client that
    /// adds [`TlsIdentity::certificate_der`] to its root store and connects to `localhost`
    /// (or the IP address `127.0.0.1`) verifies it.
    pub fn generate_localhost() -> Result<Self, TlsIdentityError> {
        let generated =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])?;
        let chain = vec![generated.cert.der().clone()];
        let key = PrivateKeyDer::try_from(generated.signing_key.serialize_der())
            .map_err(|e| TlsIdentityError::Key(e.to_owned()))?;
        Self::from_der(chain, key)
    }

    /// Uses a certificate chain (leaf first) and private key given as PEM text.
    pub fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Self, TlsIdentityError> {
        let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsIdentityError::Certificate(e.to_string()))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| TlsIdentityError::Key(e.to_string()))?;
        Self::from_der(chain, key)
    }

    /// Uses a certificate chain (leaf first, DER) and a private key (DER: PKCS#8, PKCS#1
    /// or SEC1).
    pub fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsIdentityError> {
        if chain.is_empty() {
            return Err(TlsIdentityError::NoCertificate);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain.clone(), key)?;
        Ok(TlsIdentity {
            chain,
            config: Arc::new(config),
        })
    }

    /// The leaf certificate, DER. For a generated identity this is also the trust anchor.
    #[must_use]
    pub fn certificate_der(&self) -> Vec<u8> {
        // `from_der` refuses an empty chain, so this is never the empty default.
        self.chain.first().map(|c| c.to_vec()).unwrap_or_default()
    }

    /// The leaf certificate as PEM text (`-----BEGIN CERTIFICATE-----` ...).
    #[must_use]
    pub fn certificate_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.certificate_der())
    }

    /// The whole chain, leaf first, DER.
    #[must_use]
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        self.chain.iter().map(|c| c.to_vec()).collect()
    }

    pub(crate) fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }
}

/// PEM armour: base64 in 64-column lines between BEGIN/END lines.
fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    // base64 output is ASCII, so every 64-octet chunk is valid UTF-8.
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identity_round_trips_through_pem() {
        let identity = TlsIdentity::generate_localhost().expect("generate");
        let der = identity.certificate_der();
        let pem = identity.certificate_pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        let parsed = CertificateDer::from_pem_slice(pem.as_bytes()).expect("parse pem");
        assert_eq!(parsed.as_ref(), der.as_slice());
    }

    #[test]
    fn pem_without_certificate_is_refused() {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let key_pem = generated.signing_key.serialize_pem();
        let error = TlsIdentity::from_pem("", &key_pem).unwrap_err();
        assert!(matches!(error, TlsIdentityError::NoCertificate));
        let error = TlsIdentity::from_pem(&generated.cert.pem(), "garbage").unwrap_err();
        assert!(matches!(error, TlsIdentityError::Key(_)));
        assert!(TlsIdentity::from_pem(&generated.cert.pem(), &key_pem).is_ok());
    }
}
