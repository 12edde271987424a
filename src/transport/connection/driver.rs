//! The loop that moves bytes between the socket and the session, with deadlines as socket
//! timeouts.

use super::Connection;
#[cfg(feature = "tls")]
use super::failure::handshake_error;
use crate::session::{Event, Timeouts, UsageError};
use crate::time::Timestamp;
use crate::transport::connect::earliest;
use crate::transport::error::Error;
use crate::transport::socket::Socket;
#[cfg(feature = "tls")]
use crate::transport::stream::Stream;
use crate::transport::stream::{Received, StreamError, is_retryable};
#[cfg(feature = "tls")]
use crate::transport::tls::{HandshakeError, TlsStream};
use std::io::{self, Read};
use std::time::{Duration, Instant};

/// Which limit a deadline comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expiry {
    /// The session's reply deadline: it decides what passing it means.
    Session,
    /// The caller's deadline, or the fallback when the session names none.
    Call,
}

/// The limits of one public call.
#[derive(Clone, Copy, Debug)]
pub(super) struct CallLimit {
    /// The caller's overall deadline.
    pub(super) deadline: Option<Instant>,
    /// Used only while the session reports no deadline of its own: the call's start plus
    /// the longest reply timeout.
    pub(super) fallback: Instant,
}

impl<S: Socket> Connection<S> {
    /// The session's notion of now.
    pub(super) fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.epoch.elapsed())
    }

    pub(super) fn call_limit(&self) -> CallLimit {
        let longest = longest_timeout(&self.session.config().timeouts);
        CallLimit {
            deadline: self.deadline,
            fallback: earliest(Instant::now(), longest, None),
        }
    }

    /// Fails unless the socket is open.
    pub(super) fn check_open(&self) -> Result<(), Error> {
        if !self.stream.is_closed() {
            return Ok(());
        }
        Err(Error::Usage(match self.session.error() {
            Some(error) => UsageError::Failed(Box::new(error.clone())),
            None => UsageError::Closed,
        }))
    }

    /// Moves bytes until `accept` takes an event, or the session fails, or a deadline passes.
    pub(super) fn run_until<T>(
        &mut self,
        limit: CallLimit,
        mut accept: impl FnMut(Event) -> Option<T>,
    ) -> Result<T, Error> {
        // Bounded by time: every turn either consumes events, writes, reads with a timeout no
        // later than the deadline, or fails once the deadline has passed.
        loop {
            while let Some(event) = self.session.poll_event() {
                match event {
                    Event::StartTls => self.start_tls(&limit)?,
                    Event::Failed(error) => {
                        return Err(self.fail_session(error));
                    }
                    other => {
                        if let Some(value) = accept(other) {
                            return Ok(value);
                        }
                    }
                }
            }
            let _ = self.session.poll_transmit(&mut self.outgoing);
            if self.session.wants_input() {
                self.flush(&limit)?;
                self.receive(&limit)?;
            } else if !self.outgoing.is_empty() || self.stream.has_queued_output() {
                self.flush(&limit)?;
            } else {
                // Nothing to send, nothing awaited, and the event we wait for did not come.
                return Err(Error::Usage(UsageError::NotReady(self.session.step())));
            }
        }
    }

    /// The next limit on blocking, and where it comes from.
    pub(super) fn next_deadline(&self, limit: &CallLimit) -> (Instant, Expiry) {
        let session = self
            .session
            .poll_timeout()
            .and_then(|at| self.epoch.checked_add(at.as_duration()));
        let (at, expiry) = match session {
            Some(at) => (at, Expiry::Session),
            None => (limit.fallback, Expiry::Call),
        };
        match limit.deadline {
            Some(call) if call < at => (call, Expiry::Call),
            _ => (at, expiry),
        }
    }

    /// The time left before the next deadline; `None` when a passed session deadline moved
    /// the session on (the caller looks again).
    pub(super) fn time_left(&mut self, limit: &CallLimit) -> Result<Option<Duration>, Error> {
        let (at, expiry) = self.next_deadline(limit);
        let left = at.saturating_duration_since(Instant::now());
        if !left.is_zero() {
            return Ok(Some(left));
        }
        self.on_deadline(expiry).map(|()| None)
    }

    /// A deadline passed. The session decides what its own deadline means; the caller's
    /// deadline is always a [`Error::Timeout`].
    pub(super) fn on_deadline(&mut self, expiry: Expiry) -> Result<(), Error> {
        if expiry == Expiry::Session {
            let now = self.now();
            self.session.handle_timeout(now);
            if let Some(error) = self.session.error().cloned() {
                return Err(self.fail_session(error));
            }
            if self.session.poll_timeout().is_none_or(|at| at > now) {
                return Ok(());
            }
        }
        let interruption = self.session.interruption();
        Err(self.fail(Error::Timeout { interruption }))
    }

    /// Writes everything pending. An error means some of it, and so possibly the end of a
    /// message, never left: the message cannot have been accepted.
    pub(super) fn flush(&mut self, limit: &CallLimit) -> Result<(), Error> {
        self.write_pending(limit).map_err(Error::end_not_sent)
    }

    /// Writes everything pending, one socket write per turn.
    pub(super) fn write_pending(&mut self, limit: &CallLimit) -> Result<(), Error> {
        let mut sent = 0;
        // Bounded by time: each turn writes with a timeout no later than the deadline.
        while sent < self.outgoing.len() || self.stream.has_queued_output() {
            let Some(timeout) = self.time_left(limit)? else {
                continue;
            };
            if let Err(error) = self.stream.set_write_timeout(timeout) {
                return Err(self.io_failure(error));
            }
            match self.stream.send(&self.outgoing[sent..]) {
                Ok(0) if sent < self.outgoing.len() && !self.stream.is_tls() => {
                    return Err(self.write_failure(io::ErrorKind::WriteZero.into()));
                }
                Ok(n) => sent += n,
                Err(error) if is_retryable(&error) => {}
                Err(error) => return Err(self.write_failure(error)),
            }
        }
        self.outgoing.clear();
        Ok(())
    }

    /// Reads once (with the time left as timeout) and feeds the session.
    pub(super) fn receive(&mut self, limit: &CallLimit) -> Result<(), Error> {
        let Some(timeout) = self.time_left(limit)? else {
            return Ok(());
        };
        if let Err(error) = self.stream.set_read_timeout(timeout) {
            return Err(self.io_failure(error));
        }
        match self.stream.receive(&mut self.incoming) {
            Ok(received) => self.deliver(received),
            Err(StreamError::Io(error)) if is_retryable(&error) => Ok(()),
            Err(StreamError::Io(error)) => Err(self.io_failure(error)),
            #[cfg(feature = "tls")]
            Err(StreamError::Tls(source)) => {
                let interruption = self.session.interruption();
                Err(self.fail(Error::Tls {
                    interruption,
                    source,
                }))
            }
        }
    }

    /// Hands what the socket gave to the session; fails the connection if the session failed.
    pub(super) fn deliver(&mut self, received: Received) -> Result<(), Error> {
        let now = self.now();
        match received {
            Received::Data(n) => {
                // `receive` never reports more than the buffer's length.
                self.session.handle_input(&self.incoming[..n], now);
                if let Some(error) = self.session.error().cloned() {
                    return Err(self.fail_session(error));
                }
            }
            Received::Eof => {
                self.session.handle_eof(now);
                if let Some(error) = self.session.error().cloned() {
                    return Err(self.fail_session(error));
                }
            }
            #[cfg(feature = "tls")]
            Received::Nothing => {}
        }
        Ok(())
    }

    /// Streams the body from `body` into the session, then ends it.
    pub(super) fn stream_body(
        &mut self,
        body: &mut dyn Read,
        limit: CallLimit,
    ) -> Result<(), Error> {
        let mut chunk = std::mem::take(&mut self.body_chunk);
        chunk.resize(self.write_buffer, 0);
        let result = self.pump_body(body, &mut chunk, &limit);
        self.body_chunk = chunk;
        result
    }

    pub(super) fn pump_body(
        &mut self,
        body: &mut dyn Read,
        chunk: &mut [u8],
        limit: &CallLimit,
    ) -> Result<(), Error> {
        loop {
            let n = match body.read(chunk) {
                Ok(0) => break,
                Ok(n) => n.min(chunk.len()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    let interruption = self.session.interruption();
                    return Err(self.fail(Error::BodyRead {
                        interruption,
                        source,
                    }));
                }
            };
            let now = self.now();
            // `n` is at most the chunk's length (clamped above against a lying reader).
            if let Err(error) = self.session.write_body(&chunk[..n], now) {
                return Err(self.fail_mid_body(error));
            }
            let _ = self.session.poll_transmit(&mut self.outgoing);
            if self.outgoing.len() >= self.write_buffer {
                self.flush(limit)?;
            }
        }
        let now = self.now();
        if let Err(error) = self.session.finish_body(now) {
            return Err(self.fail_mid_body(error));
        }
        Ok(())
    }

    #[cfg(feature = "tls")]
    pub(super) fn start_tls(&mut self, limit: &CallLimit) -> Result<(), Error> {
        let Some(target) = self.tls.clone() else {
            // The policy was None: the session cannot have asked.
            return Err(self.fail(Error::Usage(UsageError::NotReady(self.session.step()))));
        };
        let (by, expiry) = self.next_deadline(limit);
        let socket = match std::mem::replace(&mut self.stream, Stream::Closed) {
            Stream::Plain(socket) => socket,
            other => {
                // TLS is already up: never a second handshake.
                self.stream = other;
                return Err(self.fail(Error::Usage(UsageError::NotReady(self.session.step()))));
            }
        };
        match TlsStream::handshake(socket, &target.config, target.name, by) {
            Ok(tls) => {
                self.stream = Stream::Tls(Box::new(tls));
                let now = self.now();
                self.session.handle_tls_established(now);
                Ok(())
            }
            Err(error) => {
                let interruption = self.session.interruption();
                Err(match error {
                    HandshakeError::TimedOut => match self.on_deadline(expiry) {
                        Err(error) => error,
                        Ok(()) => self.fail(Error::Timeout { interruption }),
                    },
                    HandshakeError::Eof => match self.deliver(Received::Eof) {
                        Err(error) => error,
                        Ok(()) => self.fail(Error::ConnectionClosed { interruption }),
                    },
                    other => self.fail(handshake_error(other, interruption)),
                })
            }
        }
    }

    #[cfg(not(feature = "tls"))]
    pub(super) fn start_tls(&mut self, _limit: &CallLimit) -> Result<(), Error> {
        let policy = self.session.config().tls;
        Err(self.fail(crate::transport::ConfigError::TlsNotCompiled { policy }.into()))
    }
}

/// The longest of the reply timeouts.
fn longest_timeout(timeouts: &Timeouts) -> Duration {
    [
        timeouts.greeting,
        timeouts.command,
        timeouts.mail,
        timeouts.rcpt,
        timeouts.data_init,
        timeouts.data_block,
        timeouts.data_final,
    ]
    .into_iter()
    .max()
    .unwrap_or(timeouts.command)
}
