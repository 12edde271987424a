//! TLS with rustls: the client configuration (trust anchors, client certificate) and a thin
//! stream that runs the handshake and moves records, one socket operation per call.
//!
//! The crypto provider is always ring, passed explicitly; the process-wide default provider
//! is never read or installed. Certificates are always verified: there is no switch that
//! turns verification off.

use super::error::{ConfigError, PemItem};
use super::socket::Socket;
use super::stream::{Received, StreamError, is_retryable};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The TLS client configuration: which roots to trust, and an optional client certificate.
///
/// Cheap to clone (shared). The default trusts the Mozilla roots of `webpki-roots`.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
}

impl TlsConfig {
    /// A builder starting from the `webpki-roots` trust anchors.
    pub fn builder() -> TlsConfigBuilder {
        TlsConfigBuilder::new()
    }

    /// The rustls configuration a connection uses.
    pub(crate) fn client_config(&self) -> &Arc<ClientConfig> {
        &self.config
    }
}

impl Default for TlsConfig {
    /// Trusts the `webpki-roots` anchors, presents no client certificate. Built once per
    /// process and shared.
    fn default() -> TlsConfig {
        static DEFAULT: OnceLock<TlsConfig> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                let roots = webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect();
                // Cannot fail: ring offers TLS 1.2 and 1.3 suites, the webpki roots are not
                // empty, and there is no client key to check.
                build_config(roots, None).expect("ring supports the default TLS versions")
            })
            .clone()
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

/// A client certificate chain and its private key.
struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// Builds a [`TlsConfig`]: trust anchors to add or replace, and a client certificate.
///
/// ```no_run
/// # fn main() -> Result<(), smtpwire::transport::ConfigError> {
/// use smtpwire::transport::TlsConfig;
/// let tls = TlsConfig::builder()
///     .without_webpki_roots()
///     .add_root_pem_file("/etc/ssl/private-ca.pem")?
///     .build()?;
/// # let _ = tls;
/// # Ok(())
/// # }
/// ```
pub struct TlsConfigBuilder {
    roots: RootCertStore,
    identity: Option<ClientIdentity>,
}

impl fmt::Debug for TlsConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfigBuilder")
            .field("roots", &self.roots.len())
            .field("client_certificate", &self.identity.is_some())
            .finish()
    }
}

impl TlsConfigBuilder {
    fn new() -> TlsConfigBuilder {
        TlsConfigBuilder {
            roots: webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect(),
            identity: None,
        }
    }

    /// Forgets the `webpki-roots` anchors (and any added so far): only roots added after this
    /// call are trusted.
    pub fn without_webpki_roots(mut self) -> TlsConfigBuilder {
        self.roots = RootCertStore::empty();
        self
    }

    /// Trusts one DER-encoded root certificate.
    pub fn add_root_der(mut self, der: &[u8]) -> Result<TlsConfigBuilder, ConfigError> {
        self.roots
            .add(CertificateDer::from(der.to_vec()))
            .map_err(ConfigError::Certificate)?;
        Ok(self)
    }

    /// Trusts every certificate in PEM text (at least one).
    pub fn add_root_pem(mut self, pem: &[u8]) -> Result<TlsConfigBuilder, ConfigError> {
        for der in certificates_from_pem(pem)? {
            self.roots.add(der).map_err(ConfigError::Certificate)?;
        }
        Ok(self)
    }

    /// Trusts every certificate in a PEM file (at least one).
    pub fn add_root_pem_file(
        self,
        path: impl AsRef<Path>,
    ) -> Result<TlsConfigBuilder, ConfigError> {
        let pem = read_file(path.as_ref())?;
        self.add_root_pem(&pem)
    }

    /// Presents a client certificate: the chain (leaf first) and its private key (PKCS#1,
    /// PKCS#8 or SEC1), all DER. The key is checked by [`TlsConfigBuilder::build`].
    pub fn client_certificate_der(
        mut self,
        chain: Vec<Vec<u8>>,
        key: Vec<u8>,
    ) -> Result<TlsConfigBuilder, ConfigError> {
        let key = PrivateKeyDer::try_from(key)
            .map_err(|_| ConfigError::PemItemMissing(PemItem::PrivateKey))?;
        let chain = chain.into_iter().map(CertificateDer::from).collect();
        self.identity = Some(ClientIdentity { chain, key });
        Ok(self)
    }

    /// Presents a client certificate from PEM text: the chain (leaf first) and the private key.
    pub fn client_certificate_pem(
        mut self,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<TlsConfigBuilder, ConfigError> {
        let chain = certificates_from_pem(chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|error| match error {
            rustls::pki_types::pem::Error::NoItemsFound => {
                ConfigError::PemItemMissing(PemItem::PrivateKey)
            }
            other => ConfigError::Pem(other),
        })?;
        self.identity = Some(ClientIdentity { chain, key });
        Ok(self)
    }

    /// Presents a client certificate from PEM files: the chain (leaf first) and the private key.
    pub fn client_certificate_pem_files(
        self,
        chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<TlsConfigBuilder, ConfigError> {
        let chain = read_file(chain_path.as_ref())?;
        let key = read_file(key_path.as_ref())?;
        self.client_certificate_pem(&chain, &key)
    }

    /// The configuration. Fails when no root is left or the client key is unusable.
    pub fn build(self) -> Result<TlsConfig, ConfigError> {
        if self.roots.is_empty() {
            return Err(ConfigError::NoRootCertificates);
        }
        build_config(self.roots, self.identity)
    }
}

fn build_config(
    roots: RootCertStore,
    identity: Option<ClientIdentity>,
) -> Result<TlsConfig, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ConfigError::Certificate)?
        .with_root_certificates(roots);
    let config = match identity {
        Some(ClientIdentity { chain, key }) => builder
            .with_client_auth_cert(chain, key)
            .map_err(ConfigError::Certificate)?,
        None => builder.with_no_client_auth(),
    };
    Ok(TlsConfig {
        config: Arc::new(config),
    })
}

fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(ConfigError::Pem)?;
    if certificates.is_empty() {
        return Err(ConfigError::PemItemMissing(PemItem::Certificate));
    }
    Ok(certificates)
}

fn read_file(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        source,
    })
}

/// The name a server certificate must match: a DNS name, or an IP address (`192.0.2.1`,
/// `::1`, `[::1]`).
pub(crate) fn server_name(name: &str) -> Result<ServerName<'static>, ConfigError> {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    ServerName::try_from(bare.to_owned()).map_err(|_| ConfigError::InvalidServerName {
        name: name.to_owned(),
    })
}

/// Why a handshake failed.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    /// The socket failed.
    Io(io::Error),
    /// rustls refused the peer (certificate, alert, malformed record, …).
    Tls(rustls::Error),
    /// The peer closed the connection.
    Eof,
    /// The deadline passed.
    TimedOut,
}

/// A client TLS connection over a socket. It does no IO of its own beyond what each call
/// names: at most one socket read or write per call, so the caller controls every timeout.
pub(crate) struct TlsStream<S> {
    conn: ClientConnection,
    socket: S,
}

impl<S: Socket> TlsStream<S> {
    /// Runs a handshake on `socket`, which must not have received anything the server sent
    /// after its last plaintext reply. Gives up at `deadline`.
    pub(crate) fn handshake(
        socket: S,
        config: &TlsConfig,
        name: ServerName<'static>,
        deadline: Instant,
    ) -> Result<TlsStream<S>, HandshakeError> {
        let conn = ClientConnection::new(Arc::clone(config.client_config()), name)
            .map_err(HandshakeError::Tls)?;
        let mut stream = TlsStream { conn, socket };
        // Each turn does one socket read or write; the deadline bounds the number of turns.
        while stream.conn.is_handshaking() || stream.conn.wants_write() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(HandshakeError::TimedOut);
            }
            if stream.conn.wants_write() {
                stream
                    .socket
                    .set_write_timeout(Some(left))
                    .map_err(HandshakeError::Io)?;
                match stream.conn.write_tls(&mut stream.socket) {
                    Err(error) if !is_retryable(&error) => return Err(HandshakeError::Io(error)),
                    _ => {}
                }
            } else {
                stream
                    .socket
                    .set_read_timeout(Some(left))
                    .map_err(HandshakeError::Io)?;
                match stream.conn.read_tls(&mut stream.socket) {
                    Ok(0) => return Err(HandshakeError::Eof),
                    Ok(_) => stream.process().map_err(HandshakeError::Tls)?,
                    Err(error) if is_retryable(&error) => {}
                    Err(error) => return Err(HandshakeError::Io(error)),
                }
            }
        }
        Ok(stream)
    }

    /// Processes the records read so far. On failure, queues rustls' alert and makes one
    /// attempt to send it.
    fn process(&mut self) -> Result<(), rustls::Error> {
        match self.conn.process_new_packets() {
            Ok(_) => Ok(()),
            Err(error) => {
                let _ = self.conn.write_tls(&mut self.socket);
                Err(error)
            }
        }
    }

    /// The socket underneath.
    pub(crate) fn socket(&self) -> &S {
        &self.socket
    }

    /// Hands out decrypted data if there is some; otherwise reads once from the socket and
    /// processes what came.
    pub(crate) fn receive(&mut self, buf: &mut [u8]) -> Result<Received, StreamError> {
        if let Some(received) = self.take_plaintext(buf)? {
            return Ok(received);
        }
        self.conn.read_tls(&mut self.socket)?;
        self.process().map_err(StreamError::Tls)?;
        Ok(self.take_plaintext(buf)?.unwrap_or(Received::Nothing))
    }

    /// Decrypted data already held, or the end of the stream; `None` when neither.
    fn take_plaintext(&mut self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        match self.conn.reader().read(buf) {
            Ok(0) => Ok(Some(Received::Eof)),
            Ok(n) => Ok(Some(Received::Data(n))),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(None),
            // The peer closed TCP without close_notify. SMTP replies are self-delimiting, so
            // a truncation is visible to the session as an end of stream mid-reply.
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(Some(Received::Eof)),
            Err(error) => Err(error),
        }
    }

    /// Writes records queued earlier, or else encrypts (part of) `data` and writes once.
    /// Returns how much of `data` was taken.
    pub(crate) fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.conn.wants_write() {
            return self.conn.write_tls(&mut self.socket).map(|_| 0);
        }
        let taken = self.conn.writer().write(data)?;
        match self.conn.write_tls(&mut self.socket) {
            // Out of time: the records stay queued and go out on the next call, so `taken`
            // is still the truth.
            Err(error) if !is_retryable(&error) => Err(error),
            _ => Ok(taken),
        }
    }

    /// Whether encrypted records wait to be written.
    pub(crate) fn has_queued_output(&self) -> bool {
        self.conn.wants_write()
    }

    /// Queues `close_notify` and makes a few bounded attempts to write it.
    pub(crate) fn close_notify(&mut self, timeout: Duration) {
        self.conn.send_close_notify();
        if timeout.is_zero() || self.socket.set_write_timeout(Some(timeout)).is_err() {
            return;
        }
        for _ in 0..4 {
            if !self.conn.wants_write() || self.conn.write_tls(&mut self.socket).is_err() {
                break;
            }
        }
    }
}
