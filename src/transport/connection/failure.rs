//! What a failure becomes: the error reported, and a closed socket.

use super::Connection;
use crate::session::{Interruption, SessionError, UsageError};
use crate::transport::error::Error;
use crate::transport::socket::Socket;
use crate::transport::stream::{Received, Stream};
#[cfg(feature = "tls")]
use crate::transport::tls::HandshakeError;
use std::io;
use std::time::Duration;

/// After a write fails with a reset or broken pipe, how long each read for what the server
/// said before it closed (a 421, typically) may wait, and how many such reads are made.
const SALVAGE_READ_TIMEOUT: Duration = Duration::from_millis(200);
const SALVAGE_READS: usize = 8;

impl<S: Socket> Connection<S> {
    /// Closes the socket and returns `error`.
    pub(super) fn fail(&mut self, error: Error) -> Error {
        self.stream = Stream::Closed;
        self.outgoing.clear();
        error
    }

    /// The session failed: close and report.
    pub(super) fn fail_session(&mut self, error: SessionError) -> Error {
        self.fail(Error::from_session(error))
    }

    /// The session's own error if it failed, else `otherwise`.
    pub(super) fn fail_with_session_or(&mut self, otherwise: Error) -> Error {
        match self.session.error().cloned() {
            Some(error) => self.fail_session(error),
            None => self.fail(otherwise),
        }
    }

    /// The session refused a body chunk or the end of the body: the message cannot be ended
    /// cleanly any more, so the connection is dropped.
    pub(super) fn fail_mid_body(&mut self, error: UsageError) -> Error {
        self.fail_with_session_or(error.into())
    }

    /// A socket error while reading or configuring.
    pub(super) fn io_failure(&mut self, source: io::Error) -> Error {
        let interruption = self.session.interruption();
        let error = match source.kind() {
            io::ErrorKind::UnexpectedEof => match self.deliver(Received::Eof) {
                Err(error) => return error,
                Ok(()) => Error::ConnectionClosed { interruption },
            },
            kind if is_reset(kind) => Error::ConnectionReset {
                interruption,
                source,
            },
            _ => Error::Io {
                interruption,
                source,
            },
        };
        self.fail(error)
    }

    /// A socket error while writing. On a reset or broken pipe the server may have said why
    /// before closing (a 421): what it sent is read, briefly, and given to the session first.
    ///
    /// An end of stream found that way counts only after a broken pipe: Linux reports
    /// `EPIPE` when the server had closed its side (FIN) before the reset, and
    /// `ECONNRESET` for a bare reset, after which every read returns end of stream too.
    pub(super) fn write_failure(&mut self, source: io::Error) -> Error {
        if !is_reset(source.kind()) {
            return self.io_failure(source);
        }
        let interruption = self.session.interruption();
        let closed_first = source.kind() == io::ErrorKind::BrokenPipe;
        for _ in 0..SALVAGE_READS {
            if self.stream.set_read_timeout(SALVAGE_READ_TIMEOUT).is_err() {
                break;
            }
            match self.stream.receive(&mut self.incoming) {
                Ok(Received::Eof) if !closed_first => break,
                Ok(received) => {
                    let eof = received == Received::Eof;
                    if let Err(error) = self.deliver(received) {
                        return error;
                    }
                    if eof {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        self.fail(Error::ConnectionReset {
            interruption,
            source,
        })
    }
}

/// Whether a socket error means the peer reset or closed the connection under us.
fn is_reset(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// The error for a failed handshake, where no session decides.
#[cfg(feature = "tls")]
pub(super) fn handshake_error(error: HandshakeError, interruption: Interruption) -> Error {
    match error {
        HandshakeError::Tls(source) => Error::Tls {
            interruption,
            source,
        },
        HandshakeError::Eof => Error::ConnectionClosed { interruption },
        HandshakeError::TimedOut => Error::Timeout { interruption },
        HandshakeError::Io(source) if is_reset(source.kind()) => Error::ConnectionReset {
            interruption,
            source,
        },
        HandshakeError::Io(source) => Error::Io {
            interruption,
            source,
        },
    }
}
