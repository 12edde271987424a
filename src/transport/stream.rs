//! The connection's byte stream: plain, TLS, or already closed.
//!
//! Every method does at most one blocking read or write on the socket, so the driver can
//! recompute the time left before each one: a peer that trickles bytes cannot stretch a
//! deadline.

use super::socket::Socket;
#[cfg(feature = "tls")]
use super::tls::TlsStream;
use std::io;
use std::time::Duration;

/// Whether a socket error only means "not now": a timeout or an interrupted call.
pub(crate) fn is_retryable(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// What one receive step produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// `n` bytes of application data at the start of the buffer.
    Data(usize),
    /// The peer closed its side.
    Eof,
    /// Bytes arrived but none for the application yet (part of a TLS record).
    #[cfg(feature = "tls")]
    Nothing,
}

/// Why a stream operation failed.
#[derive(Debug)]
pub(crate) enum StreamError {
    /// The socket failed, or ran out of time (`WouldBlock` / `TimedOut`).
    Io(io::Error),
    /// The TLS layer refused what the peer sent.
    #[cfg(feature = "tls")]
    Tls(rustls::Error),
}

impl From<io::Error> for StreamError {
    fn from(error: io::Error) -> StreamError {
        StreamError::Io(error)
    }
}

/// The byte stream a connection talks over.
pub(crate) enum Stream<S> {
    /// Plain TCP (or the caller's socket).
    Plain(S),
    /// TLS over the socket (implicit, or after STARTTLS).
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream<S>>),
    /// Closed: after `close`, after a failure, or while the socket is being wrapped in TLS.
    Closed,
}

impl<S: Socket> Stream<S> {
    /// Whether the stream was closed.
    pub(crate) fn is_closed(&self) -> bool {
        matches!(self, Stream::Closed)
    }

    /// The socket underneath, unless closed.
    pub(crate) fn socket(&self) -> Option<&S> {
        match self {
            Stream::Plain(socket) => Some(socket),
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => Some(tls.socket()),
            Stream::Closed => None,
        }
    }

    /// Bounds the next blocking read.
    pub(crate) fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        match self.socket() {
            Some(socket) => socket.set_read_timeout(Some(timeout)),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Bounds the next blocking write.
    pub(crate) fn set_write_timeout(&self, timeout: Duration) -> io::Result<()> {
        match self.socket() {
            Some(socket) => socket.set_write_timeout(Some(timeout)),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Reads once from the socket (or hands out data TLS already holds) into `buf`, which must
    /// not be empty.
    pub(crate) fn receive(&mut self, buf: &mut [u8]) -> Result<Received, StreamError> {
        match self {
            Stream::Plain(socket) => match socket.read(buf)? {
                0 => Ok(Received::Eof),
                n => Ok(Received::Data(n)),
            },
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.receive(buf),
            Stream::Closed => Err(StreamError::Io(io::ErrorKind::NotConnected.into())),
        }
    }

    /// Writes once: returns how many bytes of `data` were taken. With TLS the count may be
    /// zero when the step only pushed out records queued earlier; see
    /// [`Stream::has_queued_output`].
    pub(crate) fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => socket.write(data),
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.send(data),
            Stream::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Whether bytes already taken by [`Stream::send`] still wait below (TLS records).
    pub(crate) fn has_queued_output(&self) -> bool {
        match self {
            Stream::Plain(_) | Stream::Closed => false,
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.has_queued_output(),
        }
    }

    /// Whether TLS is up.
    pub(crate) fn is_tls(&self) -> bool {
        match self {
            Stream::Plain(_) | Stream::Closed => false,
            #[cfg(feature = "tls")]
            Stream::Tls(_) => true,
        }
    }

    /// Ends the stream: with TLS, sends `close_notify` if the socket takes it within
    /// `timeout`; then drops the socket.
    pub(crate) fn close(&mut self, timeout: Duration) {
        #[cfg(feature = "tls")]
        if let Stream::Tls(tls) = self {
            tls.close_notify(timeout);
        }
        #[cfg(not(feature = "tls"))]
        let _ = timeout;
        *self = Stream::Closed;
    }
}
