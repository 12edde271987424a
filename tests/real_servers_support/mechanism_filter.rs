//! A proxy that makes a real server look as if it offered only one AUTH mechanism.
//!
//! smtpwire picks PLAIN whenever a server offers it, and Postfix and aiosmtpd both offer
//! PLAIN and LOGIN (over TLS only), so LOGIN cannot be reached against them directly. This
//! proxy listens on 127.0.0.1 in plain text, speaks implicit TLS to the real server
//! (verifying its certificate against the test CA), passes every byte both ways unchanged
//! except the EHLO reply's `AUTH` line, which it rewrites to name one mechanism. The
//! server's own SASL code then runs that mechanism against what the client sends.
//!
//! The client must allow AUTH in plain text to reach the proxy (loopback only), and the
//! proxy records what the client sent, in clear.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long each side is waited for before turning to the other.
const POLL: Duration = Duration::from_millis(10);
/// The longest a proxied connection lives.
const LIFETIME: Duration = Duration::from_secs(60);
/// The most connections one proxy accepts.
const MAX_CONNECTIONS: usize = 20;
const IO_TIMEOUT: Duration = Duration::from_secs(10);

struct Shared {
    upstream: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    mechanism: String,
    stop: AtomicBool,
    accepted: AtomicUsize,
    from_client: Mutex<Vec<u8>>,
    rewritten: AtomicUsize,
}

/// A running proxy; dropping it stops its threads.
pub struct MechanismFilter {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl MechanismFilter {
    /// Proxies to the implicit-TLS server at `upstream`, trusting the CA in the PEM file
    /// `ca` and verifying the name `localhost`, and offers only `mechanism`.
    pub fn start(upstream: SocketAddr, ca: &Path, mechanism: &str) -> MechanismFilter {
        assert!(upstream.ip().is_loopback());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).expect("the CA PEM file") {
            roots
                .add(cert.expect("a CA certificate"))
                .expect("usable CA");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            upstream,
            tls: Arc::new(tls),
            mechanism: mechanism.to_owned(),
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            from_client: Mutex::new(Vec::new()),
            rewritten: AtomicUsize::new(0),
        });
        let for_acceptor = Arc::clone(&shared);
        let acceptor = thread::spawn(move || {
            let mut workers = Vec::new();
            for _ in 0..MAX_CONNECTIONS {
                let Ok((client, _)) = listener.accept() else {
                    break;
                };
                if for_acceptor.stop.load(Ordering::SeqCst) {
                    break;
                }
                for_acceptor.accepted.fetch_add(1, Ordering::SeqCst);
                let shared = Arc::clone(&for_acceptor);
                workers.push(thread::spawn(move || {
                    // A failure ends this connection only; the client sees it closed.
                    let _ = proxy(client, &shared);
                }));
            }
            for worker in workers {
                let _ = worker.join();
            }
        });
        MechanismFilter {
            addr,
            shared,
            threads: vec![acceptor],
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Everything clients sent, in clear.
    pub fn client_bytes(&self) -> Vec<u8> {
        self.shared
            .from_client
            .lock()
            .map(|b| b.clone())
            .unwrap_or_default()
    }

    /// How many `AUTH` lines were rewritten.
    pub fn rewritten(&self) -> usize {
        self.shared.rewritten.load(Ordering::SeqCst)
    }
}

impl Drop for MechanismFilter {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn proxy(mut client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut upstream = TcpStream::connect_timeout(&shared.upstream, IO_TIMEOUT)?;
    let name = ServerName::try_from("localhost").expect("a valid name");
    let mut tls = rustls::ClientConnection::new(Arc::clone(&shared.tls), name)
        .map_err(std::io::Error::other)?;
    for socket in [&client, &upstream] {
        socket.set_read_timeout(Some(POLL))?;
        socket.set_write_timeout(Some(IO_TIMEOUT))?;
    }
    let started = Instant::now();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut from_server: Vec<u8> = Vec::new();
    // Bounded by LIFETIME: each turn waits at most POLL on each side.
    while started.elapsed() < LIFETIME && !shared.stop.load(Ordering::SeqCst) {
        match client.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                if let Ok(mut record) = shared.from_client.lock() {
                    record.extend_from_slice(&buffer[..n]);
                }
                tls.writer().write_all(&buffer[..n])?;
            }
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
        while tls.wants_write() {
            tls.write_tls(&mut upstream)?;
        }
        match tls.read_tls(&mut upstream) {
            Ok(0) => return Ok(()),
            Ok(_) => {
                tls.process_new_packets().map_err(std::io::Error::other)?;
                // Bounded: each turn takes plaintext out until none is left.
                loop {
                    match tls.reader().read(&mut buffer) {
                        Ok(0) => return Ok(()),
                        Ok(n) => from_server.extend_from_slice(&buffer[..n]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                pass_whole_lines(&mut from_server, &mut client, shared)?;
            }
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
        while tls.wants_write() {
            tls.write_tls(&mut upstream)?;
        }
    }
    Ok(())
}

fn is_timeout(error: &std::io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Writes every complete line of `pending` to `client`, the `AUTH` capability rewritten,
/// and keeps the incomplete rest.
fn pass_whole_lines(
    pending: &mut Vec<u8>,
    client: &mut TcpStream,
    shared: &Shared,
) -> std::io::Result<()> {
    let Some(last_newline) = pending.iter().rposition(|&b| b == b'\n') else {
        return Ok(());
    };
    let whole: Vec<u8> = pending.drain(..=last_newline).collect();
    let mut out = Vec::with_capacity(whole.len());
    for line in whole.split_inclusive(|&b| b == b'\n') {
        let upper = line.to_ascii_uppercase();
        let is_auth = upper.len() > 9
            && upper.starts_with(b"250")
            && matches!(upper[3], b'-' | b' ')
            && (upper[4..].starts_with(b"AUTH ") || upper[4..].starts_with(b"AUTH="));
        if is_auth {
            shared.rewritten.fetch_add(1, Ordering::SeqCst);
            out.extend_from_slice(&line[..4]);
            out.extend_from_slice(format!("AUTH {}\r\n", shared.mechanism).as_bytes());
        } else {
            out.extend_from_slice(line);
        }
    }
    client.write_all(&out)
}
