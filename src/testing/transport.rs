//! The connection's socket, plain or TLS, with short timeouts so every blocking call comes
//! back at least every [`POLL`] to look at the shutdown flag.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustls::{ServerConfig, ServerConnection};

/// How long any socket call may block before the shutdown flag is looked at again.
pub(crate) const POLL: Duration = Duration::from_millis(20);

/// After a clean close, how long to keep reading (and discarding) so the kernel does not
/// turn unread client data into an RST.
const CLOSE_DRAIN: Duration = Duration::from_secs(1);

/// At most this many TLS records are processed per [`Transport::read`] call before it
/// reports [`ReadEvent::Idle`].
const TLS_READS_PER_CALL: usize = 64;

/// What one read brought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadEvent {
    /// This many octets were stored at the start of the buffer.
    Data(usize),
    /// Nothing arrived within [`POLL`].
    Idle,
    /// The client closed its side.
    Eof,
}

/// Why the socket can no longer be used.
#[derive(Debug)]
pub(crate) enum LinkError {
    /// The server is shutting down.
    Shutdown,
    /// The client did not read our output for longer than the write bound.
    WriteStalled,
    Io(io::Error),
    Tls(rustls::Error),
}

/// A client connection's socket with optional TLS.
pub(crate) struct Transport {
    tcp: TcpStream,
    tls: Option<Box<ServerConnection>>,
    shutdown: Arc<AtomicBool>,
    write_bound: Duration,
}

impl Transport {
    /// Wraps an accepted socket; `write_bound` is how long a write may wait for the client
    /// to read.
    pub(crate) fn new(
        tcp: TcpStream,
        shutdown: Arc<AtomicBool>,
        write_bound: Duration,
    ) -> io::Result<Self> {
        tcp.set_nonblocking(false)?;
        tcp.set_read_timeout(Some(POLL))?;
        tcp.set_write_timeout(Some(POLL))?;
        tcp.set_nodelay(true)?;
        Ok(Transport {
            tcp,
            tls: None,
            shutdown,
            write_bound,
        })
    }

    /// Whether TLS is up (or its handshake under way).
    pub(crate) fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    fn check_shutdown(&self) -> Result<(), LinkError> {
        if self.shutdown.load(Ordering::Relaxed) {
            Err(LinkError::Shutdown)
        } else {
            Ok(())
        }
    }

    /// Starts a server-side TLS session on the socket. The handshake proceeds in later
    /// [`Transport::read`] calls; anything written meanwhile is sent once it completes.
    pub(crate) fn start_tls(&mut self, config: Arc<ServerConfig>) -> Result<(), LinkError> {
        let connection = ServerConnection::new(config).map_err(LinkError::Tls)?;
        self.tls = Some(Box::new(connection));
        Ok(())
    }

    /// Reads what is available into `buf` (plaintext when TLS is up), waiting at most about
    /// [`POLL`].
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Result<ReadEvent, LinkError> {
        self.check_shutdown()?;
        let Some(tls) = self.tls.as_deref_mut() else {
            return match self.tcp.read(buf) {
                Ok(0) => Ok(ReadEvent::Eof),
                Ok(n) => Ok(ReadEvent::Data(n)),
                Err(e) if is_timeout(&e) => Ok(ReadEvent::Idle),
                Err(e) => Err(LinkError::Io(e)),
            };
        };
        for _ in 0..TLS_READS_PER_CALL {
            match tls.reader().read(buf) {
                Ok(0) => return Ok(ReadEvent::Eof),
                Ok(n) => return Ok(ReadEvent::Data(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(ReadEvent::Eof),
                Err(e) => return Err(LinkError::Io(e)),
            }
            flush_tls(tls, &mut self.tcp, &self.shutdown, self.write_bound)?;
            match tls.read_tls(&mut self.tcp) {
                Ok(0) => return Ok(ReadEvent::Eof),
                Ok(_) => {
                    if let Err(error) = tls.process_new_packets() {
                        // Best effort: tell the client why (the alert), then give up.
                        let _ = flush_tls(tls, &mut self.tcp, &self.shutdown, self.write_bound);
                        return Err(LinkError::Tls(error));
                    }
                    flush_tls(tls, &mut self.tcp, &self.shutdown, self.write_bound)?;
                }
                Err(e) if is_timeout(&e) => return Ok(ReadEvent::Idle),
                Err(e) => return Err(LinkError::Io(e)),
            }
            if self.shutdown.load(Ordering::Relaxed) {
                return Err(LinkError::Shutdown);
            }
        }
        Ok(ReadEvent::Idle)
    }

    /// Reads raw octets from the socket, bypassing TLS (used while staying silent).
    pub(crate) fn read_raw(&mut self, buf: &mut [u8]) -> Result<ReadEvent, LinkError> {
        self.check_shutdown()?;
        match self.tcp.read(buf) {
            Ok(0) => Ok(ReadEvent::Eof),
            Ok(n) => Ok(ReadEvent::Data(n)),
            Err(e) if is_timeout(&e) => Ok(ReadEvent::Idle),
            Err(e) => Err(LinkError::Io(e)),
        }
    }

    /// Writes all of `bytes` (through TLS when it is up) in as few socket writes as the
    /// kernel allows.
    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        match self.tls.as_deref_mut() {
            Some(tls) => {
                tls.writer().write_all(bytes).map_err(LinkError::Io)?;
                flush_tls(tls, &mut self.tcp, &self.shutdown, self.write_bound)
            }
            None => write_plain(&mut self.tcp, bytes, &self.shutdown, self.write_bound),
        }
    }

    /// Closes cleanly: TLS `close_notify` if TLS is up, FIN, then reads and discards what
    /// the client still sends for a short while, so the close stays a FIN and not an RST.
    pub(crate) fn close_cleanly(&mut self) {
        if let Some(tls) = self.tls.as_deref_mut() {
            tls.send_close_notify();
            let _ = flush_tls(tls, &mut self.tcp, &self.shutdown, self.write_bound);
        }
        let _ = self.tcp.shutdown(Shutdown::Write);
        let deadline = Instant::now() + CLOSE_DRAIN;
        let mut scratch = [0u8; 4096];
        while Instant::now() < deadline && !self.shutdown.load(Ordering::Relaxed) {
            match self.tcp.read(&mut scratch) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {}
                Err(_) => break,
            }
        }
    }

    /// Arms an RST: with linger zero, dropping the transport resets the connection.
    pub(crate) fn arm_reset(&mut self) {
        let _ = socket2::SockRef::from(&self.tcp).set_linger(Some(Duration::ZERO));
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Waits after a timed-out write: fails on shutdown or when no progress was made for
/// `write_bound`.
fn after_write_timeout(
    shutdown: &AtomicBool,
    last_progress: Instant,
    write_bound: Duration,
) -> Result<(), LinkError> {
    if shutdown.load(Ordering::Relaxed) {
        Err(LinkError::Shutdown)
    } else if last_progress.elapsed() > write_bound {
        Err(LinkError::WriteStalled)
    } else {
        Ok(())
    }
}

fn write_plain(
    tcp: &mut TcpStream,
    mut bytes: &[u8],
    shutdown: &AtomicBool,
    write_bound: Duration,
) -> Result<(), LinkError> {
    let mut last_progress = Instant::now();
    while !bytes.is_empty() {
        match tcp.write(bytes) {
            Ok(0) => return Err(LinkError::Io(io::ErrorKind::WriteZero.into())),
            Ok(n) => {
                bytes = &bytes[n..];
                last_progress = Instant::now();
            }
            Err(e) if is_timeout(&e) => after_write_timeout(shutdown, last_progress, write_bound)?,
            Err(e) => return Err(LinkError::Io(e)),
        }
    }
    Ok(())
}

/// Sends every TLS record rustls has queued.
fn flush_tls(
    tls: &mut ServerConnection,
    tcp: &mut TcpStream,
    shutdown: &AtomicBool,
    write_bound: Duration,
) -> Result<(), LinkError> {
    let mut last_progress = Instant::now();
    while tls.wants_write() {
        match tls.write_tls(tcp) {
            Ok(0) => return Err(LinkError::Io(io::ErrorKind::WriteZero.into())),
            Ok(_) => last_progress = Instant::now(),
            Err(e) if is_timeout(&e) => after_write_timeout(shutdown, last_progress, write_bound)?,
            Err(e) => return Err(LinkError::Io(e)),
        }
    }
    Ok(())
}
