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

/// How long sending a fatal alert may take before the connection is dropped anyway.
const ALERT_TIMEOUT: Duration = Duration::from_secs(1);

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
                if self.socket.set_write_timeout(Some(ALERT_TIMEOUT)).is_ok() {
                    let _ = self.conn.write_tls(&mut self.socket);
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use rustls::server::WebPkiClientVerifier;
    use rustls::{ServerConfig, ServerConnection};
    use std::net::{TcpListener, TcpStream};
    use std::thread::{self, JoinHandle};

    /// A certificate authority made for one test.
    struct Ca {
        issuer: CertifiedIssuer<'static, KeyPair>,
    }

    /// A certificate chain and its key, DER.
    struct Identity {
        chain: Vec<CertificateDer<'static>>,
        key: Vec<u8>,
    }

    impl Ca {
        fn new() -> Ca {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let issuer =
                CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
            Ca { issuer }
        }

        fn der(&self) -> Vec<u8> {
            self.issuer.der().to_vec()
        }

        fn issue(&self, names: &[&str], expired: bool) -> Identity {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let mut params = CertificateParams::new(names).unwrap();
            if expired {
                params.not_before = rcgen::date_time_ymd(2001, 1, 1);
                params.not_after = rcgen::date_time_ymd(2002, 1, 1);
            }
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            Identity {
                chain: vec![cert.der().clone()],
                key: key.serialize_der(),
            }
        }
    }

    fn server_config(identity: Identity, client_ca: Option<&Ca>) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                roots.add(CertificateDer::from(ca.der())).unwrap();
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let key = PrivateKeyDer::try_from(identity.key).unwrap();
        Arc::new(builder.with_single_cert(identity.chain, key).unwrap())
    }

    /// A server for one connection: handshakes, answers `ping` with `pong`, and reports what
    /// its handshake ended with.
    fn serve_once(config: Arc<ServerConfig>) -> (u16, JoinHandle<Result<(), rustls::Error>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut conn = ServerConnection::new(config).unwrap();
            // Bounded: each turn reads or writes; the socket timeout ends a stall.
            for _ in 0..100 {
                if !conn.is_handshaking() {
                    break;
                }
                if conn.wants_write() {
                    conn.write_tls(&mut socket).unwrap();
                } else if conn.read_tls(&mut socket).unwrap_or(0) == 0 {
                    return Err(rustls::Error::HandshakeNotComplete);
                } else if let Err(error) = conn.process_new_packets() {
                    let _ = conn.write_tls(&mut socket);
                    return Err(error);
                }
            }
            let mut stream = rustls::StreamOwned::new(conn, socket);
            let mut ping = [0u8; 4];
            stream.read_exact(&mut ping).unwrap();
            assert_eq!(&ping, b"ping");
            stream.write_all(b"pong").unwrap();
            stream.flush().unwrap();
            stream.conn.send_close_notify();
            let _ = stream.conn.complete_io(&mut stream.sock);
            Ok(())
        });
        (port, handle)
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    fn client(
        port: u16,
        config: &TlsConfig,
        name: &str,
    ) -> Result<TlsStream<TcpStream>, HandshakeError> {
        let socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
        TlsStream::handshake(socket, config, server_name(name).unwrap(), soon())
    }

    fn trusting(ca: &Ca) -> TlsConfig {
        TlsConfig::builder()
            .without_webpki_roots()
            .add_root_der(&ca.der())
            .unwrap()
            .build()
            .unwrap()
    }

    /// Sends all of `data` and reads until `expected.len()` bytes came, each step bounded.
    fn exchange(stream: &mut TlsStream<TcpStream>, data: &[u8], expected: usize) -> Vec<u8> {
        stream
            .socket()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .socket()
            .set_write_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut sent = 0;
        for _ in 0..100 {
            if sent == data.len() && !stream.has_queued_output() {
                break;
            }
            sent += stream.send(&data[sent..]).unwrap();
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        for _ in 0..100 {
            if got.len() >= expected {
                break;
            }
            match stream.receive(&mut buf) {
                Ok(Received::Data(n)) => got.extend_from_slice(&buf[..n]),
                Ok(Received::Nothing) => {}
                other => panic!("{other:?}"),
            }
        }
        got
    }

    #[test]
    fn handshake_then_data_both_ways_then_close_notify_is_eof() {
        let ca = Ca::new();
        let (port, server) = serve_once(server_config(ca.issue(&["localhost"], false), None));
        let mut stream = client(port, &trusting(&ca), "localhost").unwrap();
        assert_eq!(exchange(&mut stream, b"ping", 4), b"pong");
        let mut buf = [0u8; 16];
        let mut end = None;
        for _ in 0..10 {
            match stream.receive(&mut buf).unwrap() {
                Received::Nothing => {}
                other => {
                    end = Some(other);
                    break;
                }
            }
        }
        assert_eq!(end, Some(Received::Eof));
        server.join().unwrap().unwrap();
    }

    #[test]
    fn an_ip_address_name_is_verified_against_ip_san() {
        let ca = Ca::new();
        let (port, server) = serve_once(server_config(ca.issue(&["127.0.0.1"], false), None));
        let mut stream = client(port, &trusting(&ca), "127.0.0.1").unwrap();
        assert_eq!(exchange(&mut stream, b"ping", 4), b"pong");
        server.join().unwrap().unwrap();
    }

    fn expect_certificate_error(
        result: Result<TlsStream<TcpStream>, HandshakeError>,
    ) -> rustls::CertificateError {
        match result {
            Err(HandshakeError::Tls(rustls::Error::InvalidCertificate(error))) => error,
            Err(other) => panic!("expected a certificate error, got {other:?}"),
            Ok(_) => panic!("the handshake succeeded"),
        }
    }

    #[test]
    fn a_wrong_host_name_fails_closed() {
        let ca = Ca::new();
        let (port, server) =
            serve_once(server_config(ca.issue(&["mail.example.com"], false), None));
        let error = expect_certificate_error(client(port, &trusting(&ca), "localhost"));
        assert!(
            matches!(
                error,
                rustls::CertificateError::NotValidForNameContext { .. }
            ),
            "{error:?}"
        );
        assert!(server.join().unwrap().is_err());
    }

    #[test]
    fn an_untrusted_ca_fails_closed() {
        let ca = Ca::new();
        let (port, server) = serve_once(server_config(ca.issue(&["localhost"], false), None));
        let error = expect_certificate_error(client(port, &TlsConfig::default(), "localhost"));
        assert_eq!(error, rustls::CertificateError::UnknownIssuer);
        assert!(server.join().unwrap().is_err());
    }

    #[test]
    fn an_expired_certificate_fails_closed() {
        let ca = Ca::new();
        let (port, server) = serve_once(server_config(ca.issue(&["localhost"], true), None));
        let error = expect_certificate_error(client(port, &trusting(&ca), "localhost"));
        assert!(
            matches!(error, rustls::CertificateError::ExpiredContext { .. }),
            "{error:?}"
        );
        assert!(server.join().unwrap().is_err());
    }

    #[test]
    fn a_client_certificate_is_presented_when_configured() {
        let server_ca = Ca::new();
        let client_ca = Ca::new();
        let config = server_config(server_ca.issue(&["localhost"], false), Some(&client_ca));
        let client_identity = client_ca.issue(&["client.example"], false);
        let with_identity = TlsConfig::builder()
            .without_webpki_roots()
            .add_root_der(&server_ca.der())
            .unwrap()
            .client_certificate_der(
                client_identity.chain.iter().map(|c| c.to_vec()).collect(),
                client_identity.key,
            )
            .unwrap()
            .build()
            .unwrap();
        let (port, server) = serve_once(Arc::clone(&config));
        let mut stream = client(port, &with_identity, "localhost").unwrap();
        assert_eq!(exchange(&mut stream, b"ping", 4), b"pong");
        server.join().unwrap().unwrap();

        // Without it, the server refuses (TLS 1.3 reports it after the client's Finished).
        let (port, server) = serve_once(config);
        if let Ok(mut stream) = client(port, &trusting(&server_ca), "localhost") {
            let _ = stream.send(b"ping");
            let mut buf = [0u8; 16];
            let mut refused = false;
            for _ in 0..10 {
                match stream.receive(&mut buf) {
                    Ok(Received::Nothing) => {}
                    Ok(_) => break,
                    Err(_) => {
                        refused = true;
                        break;
                    }
                }
            }
            assert!(refused);
        }
        assert!(server.join().unwrap().is_err());
    }

    #[test]
    fn a_silent_server_times_out_the_handshake() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let socket = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let started = Instant::now();
        let by = started + Duration::from_millis(300);
        let result = TlsStream::handshake(
            socket,
            &TlsConfig::default(),
            server_name("localhost").unwrap(),
            by,
        );
        assert!(matches!(result, Err(HandshakeError::TimedOut)));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// A handshake against a peer that is not a TLS server: `peer` does what it likes with its
    /// end first (the returned value is kept open until the handshake ends).
    fn handshake_with_raw_peer<T>(
        peer: impl FnOnce(TcpStream) -> T,
    ) -> Result<TlsStream<TcpStream>, HandshakeError> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let socket = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let _held = peer(listener.accept().unwrap().0);
        let name = server_name("localhost").unwrap();
        TlsStream::handshake(socket, &TlsConfig::default(), name, soon())
    }

    #[test]
    fn a_server_that_hangs_up_is_eof() {
        let result = handshake_with_raw_peer(drop);
        assert!(
            matches!(result, Err(HandshakeError::Eof | HandshakeError::Io(_))),
            "{:?}",
            result.err()
        );
    }

    #[test]
    fn plaintext_from_the_server_fails_the_handshake() {
        // What a STARTTLS injection looks like from here: bytes that are not TLS.
        let result = handshake_with_raw_peer(|mut peer| {
            peer.write_all(b"250-PIPELINING\r\n250 AUTH PLAIN\r\n")
                .unwrap();
            peer
        });
        assert!(
            matches!(result, Err(HandshakeError::Tls(_))),
            "{:?}",
            result.err()
        );
    }

    #[test]
    fn server_names_accept_dns_names_and_ip_literals() {
        assert!(matches!(
            server_name("mail.example.com"),
            Ok(ServerName::DnsName(_))
        ));
        assert!(matches!(
            server_name("192.0.2.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name("::1"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(
            server_name("bad name"),
            Err(ConfigError::InvalidServerName { .. })
        ));
        assert!(matches!(
            server_name(""),
            Err(ConfigError::InvalidServerName { .. })
        ));
    }

    #[test]
    fn the_builder_refuses_unusable_roots_and_keys() {
        assert!(matches!(
            TlsConfig::builder().add_root_der(b"not a certificate"),
            Err(ConfigError::Certificate(_))
        ));
        assert!(matches!(
            TlsConfig::builder().add_root_pem(b"no pem here"),
            Err(ConfigError::PemItemMissing(PemItem::Certificate))
        ));
        assert!(matches!(
            TlsConfig::builder().add_root_pem(b"-----BEGIN CERTIFICATE-----\nAAAA"),
            Err(ConfigError::Pem(_))
        ));
        assert!(matches!(
            TlsConfig::builder().without_webpki_roots().build(),
            Err(ConfigError::NoRootCertificates)
        ));
        assert!(matches!(
            TlsConfig::builder().add_root_pem_file("/nonexistent/smtpwire-ca.pem"),
            Err(ConfigError::ReadFile { .. })
        ));
        let ca = Ca::new();
        let identity = ca.issue(&["client.example"], false);
        let other_key = KeyPair::generate().unwrap().serialize_pem();
        let chain_pem = ca.issuer.pem();
        assert!(matches!(
            TlsConfig::builder().client_certificate_pem(chain_pem.as_bytes(), b"no key"),
            Err(ConfigError::PemItemMissing(PemItem::PrivateKey))
        ));
        // A key that does not belong to the certificate is caught when building.
        let mismatched = TlsConfig::builder()
            .client_certificate_pem(chain_pem.as_bytes(), other_key.as_bytes())
            .unwrap()
            .build();
        assert!(
            matches!(mismatched, Err(ConfigError::Certificate(_))),
            "{:?}",
            mismatched.err()
        );
        let _ = identity;
    }

    #[test]
    fn roots_load_from_a_pem_file() {
        let ca = Ca::new();
        let path = std::env::temp_dir().join(format!("smtpwire-ca-{}.pem", std::process::id()));
        std::fs::write(&path, ca.issuer.pem()).unwrap();
        let config = TlsConfig::builder()
            .without_webpki_roots()
            .add_root_pem_file(&path)
            .unwrap()
            .build();
        std::fs::remove_file(&path).unwrap();
        let config = config.unwrap();
        let (port, server) = serve_once(server_config(ca.issue(&["localhost"], false), None));
        let mut stream = client(port, &config, "localhost").unwrap();
        assert_eq!(exchange(&mut stream, b"ping", 4), b"pong");
        server.join().unwrap().unwrap();
    }
}
