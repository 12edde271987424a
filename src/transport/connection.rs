//! The blocking driver: one SMTP connection, its socket, and the sans-IO session inside.
//!
//! # How the session is driven
//!
//! Every public call makes one change to the session (`send_message`, `noop`, `reset`,
//! `quit`, or nothing for `connect`), then runs one loop until the event it waits for:
//!
//! 1. drain [`Session::poll_event`]: `StartTls` runs the handshake on the open socket and
//!    calls `handle_tls_established`; `Failed` ends the connection; the awaited event ends
//!    the loop;
//! 2. move pending output out with [`Session::poll_transmit`] into one buffer;
//! 3. if the session waits for a reply, write the whole buffer (one write for a pipelined
//!    group, or for the tail of a body with its final dot), then read once and feed
//!    `handle_input` or `handle_eof`;
//! 4. before every read and write, the time left until the session's absolute deadline
//!    ([`Session::poll_timeout`]) or the caller's deadline, whichever is earlier, becomes the
//!    socket timeout; once it is zero, `handle_timeout` is called.
//!
//! A body is read from the caller in chunks of the write-buffer size and passed to
//! `write_body`; output is written only when more than the write buffer is pending, and the
//! last chunk goes out together with the end of the message.

use super::connect::{self, earliest};
use super::error::Error;
use super::options::ConnectOptions;
use super::socket::Socket;
use super::stream::{Received, Stream, StreamError, is_retryable};
#[cfg(feature = "tls")]
use super::tls::{self, HandshakeError, TlsConfig, TlsStream};
use crate::capabilities::Capabilities;
use crate::data;
use crate::reply::Reply;
use crate::session::{
    BodyInfo, Delivery, Envelope, Event, Interruption, Session, SessionConfig, SessionError, Step,
    Timeouts, TlsPolicy, UsageError,
};
use crate::time::Timestamp;
use std::io::{self, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How much is read from the socket at once.
const READ_BUFFER: usize = 16 * 1024;
/// After a write fails with a reset or broken pipe, how long each read for what the server
/// said before it closed (a 421, typically) may wait, and how many such reads are made.
const SALVAGE_READ_TIMEOUT: Duration = Duration::from_millis(200);
const SALVAGE_READS: usize = 8;
/// How long `close` lets a TLS `close_notify` take.
const CLOSE_NOTIFY_TIMEOUT: Duration = Duration::from_millis(500);

/// Where a STARTTLS handshake goes: the client configuration and the name to verify.
#[cfg(feature = "tls")]
#[derive(Clone)]
struct TlsTarget {
    config: TlsConfig,
    name: rustls::pki_types::ServerName<'static>,
}

/// Which limit a deadline comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expiry {
    /// The session's reply deadline: it decides what passing it means.
    Session,
    /// The caller's deadline, or the fallback when the session names none.
    Call,
}

/// The limits of one public call.
#[derive(Clone, Copy, Debug)]
struct CallLimit {
    /// The caller's overall deadline.
    deadline: Option<Instant>,
    /// Used only while the session reports no deadline of its own: the call's start plus
    /// the longest reply timeout.
    fallback: Instant,
}

/// An open SMTP connection: greeted, EHLO done, TLS and AUTH done as configured.
///
/// Every call blocks until it is done, and never longer than the session's reply deadlines
/// (RFC 5321 §4.5.3.2 by default, see [`Timeouts`]) or the deadline set with
/// [`Connection::set_deadline`]. After a failure other than a refusal or a usage error, the
/// socket is closed and every later call returns [`Error::Usage`].
///
/// `S` is the socket: a [`TcpStream`] from [`Connection::connect`], or any [`Socket`] given
/// to [`Connection::establish`].
pub struct Connection<S: Socket = TcpStream> {
    session: Session,
    stream: Stream<S>,
    /// The session's clock starts here.
    epoch: Instant,
    /// Bytes from the session not written yet.
    outgoing: Vec<u8>,
    /// Bytes read from the socket, handed to the session at once.
    incoming: Vec<u8>,
    /// The buffer a body is read into, kept between messages.
    body_chunk: Vec<u8>,
    write_buffer: usize,
    quit_timeout: Duration,
    deadline: Option<Instant>,
    #[cfg(feature = "tls")]
    tls: Option<TlsTarget>,
}

impl std::fmt::Debug for Connection<TcpStream> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("step", &self.session.step())
            .field("tls", &self.stream.is_tls())
            .field("closed", &self.stream.is_closed())
            .finish_non_exhaustive()
    }
}

impl Connection<TcpStream> {
    /// Resolves the host, connects to its addresses in turn, runs implicit TLS if the policy
    /// says so, then the greeting, EHLO, STARTTLS and EHLO again, and AUTH, until the session
    /// is ready for a message.
    ///
    /// Resolution and each connection attempt get [`ConnectOptions::connect_timeout`]; the
    /// whole call ends by [`ConnectOptions::deadline`] when one is set.
    pub fn connect(options: &ConnectOptions) -> Result<Connection<TcpStream>, Error> {
        let plan = Plan::new(options)?;
        let start = Instant::now();
        let resolve_by = earliest(start, options.connect_timeout, options.deadline);
        let addresses = connect::resolve(&options.host, options.port, resolve_by)?;
        let socket = connect::connect_any(
            &options.host,
            options.port,
            &addresses,
            options.connect_timeout,
            options.deadline,
        )?;
        Connection::start(socket, options, plan)
    }
}

/// What a connection will do about TLS, decided before connecting.
struct Plan {
    session: SessionConfig,
    #[cfg(feature = "tls")]
    tls: Option<TlsTarget>,
}

impl Plan {
    fn new(options: &ConnectOptions) -> Result<Plan, Error> {
        let mut session = options.session.clone();
        #[cfg(not(feature = "tls"))]
        match session.tls {
            TlsPolicy::None => {}
            // Without TLS support, "STARTTLS if offered" becomes "never".
            TlsPolicy::Opportunistic => session.tls = TlsPolicy::None,
            policy => return Err(super::ConfigError::TlsNotCompiled { policy }.into()),
        }
        #[cfg(feature = "tls")]
        let tls = match session.tls {
            TlsPolicy::None => None,
            policy => {
                let name = options.tls_server_name.as_deref().unwrap_or(&options.host);
                match tls::server_name(name) {
                    Ok(name) => Some(TlsTarget {
                        config: options.tls.clone(),
                        name,
                    }),
                    Err(error) if policy == TlsPolicy::Opportunistic => {
                        // No certificate can match this name, so TLS could never be
                        // verified: opportunistic TLS means plain text then.
                        log::warn!("smtpwire: no STARTTLS: {error}");
                        session.tls = TlsPolicy::None;
                        None
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        };
        Ok(Plan {
            session,
            #[cfg(feature = "tls")]
            tls,
        })
    }
}

impl<S: Socket> Connection<S> {
    /// Runs SMTP over a socket the caller opened (through a proxy, or wrapped to observe it):
    /// implicit TLS if the policy says so, greeting, EHLO, STARTTLS, AUTH, until ready.
    /// [`ConnectOptions::host`] is only used as the TLS server name (unless
    /// [`ConnectOptions::tls_server_name`](ConnectOptions) is set); the port and connect
    /// timeout are not used.
    pub fn establish(socket: S, options: &ConnectOptions) -> Result<Connection<S>, Error> {
        let plan = Plan::new(options)?;
        Connection::start(socket, options, plan)
    }

    fn start(socket: S, options: &ConnectOptions, plan: Plan) -> Result<Connection<S>, Error> {
        let epoch = Instant::now();
        let stream = Self::open_stream(socket, &plan, epoch, options.deadline)?;
        let write_buffer = options.effective_write_buffer();
        let mut connection = Connection {
            session: Session::new(plan.session, Timestamp::ZERO),
            stream,
            epoch,
            outgoing: Vec::with_capacity(write_buffer),
            incoming: vec![0; READ_BUFFER],
            body_chunk: Vec::new(),
            write_buffer,
            quit_timeout: options.quit_timeout,
            deadline: options.deadline,
            #[cfg(feature = "tls")]
            tls: plan.tls,
        };
        let limit = connection.call_limit();
        connection.run_until(limit, |event| matches!(event, Event::Ready).then_some(()))?;
        Ok(connection)
    }

    /// The plain socket, or with implicit TLS the socket after the handshake.
    fn open_stream(
        socket: S,
        plan: &Plan,
        epoch: Instant,
        deadline: Option<Instant>,
    ) -> Result<Stream<S>, Error> {
        #[cfg(feature = "tls")]
        if plan.session.tls == TlsPolicy::Implicit {
            if let Some(target) = &plan.tls {
                let by = earliest(epoch, plan.session.timeouts.greeting, deadline);
                return match TlsStream::handshake(socket, &target.config, target.name.clone(), by) {
                    Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
                    Err(error) => Err(handshake_error(error, Interruption::at(Step::TlsHandshake))),
                };
            }
        }
        let _ = (plan, epoch, deadline);
        Ok(Stream::Plain(socket))
    }

    /// Sends one message, streaming `body` in constant memory. `info` must describe the body
    /// truthfully ([`BodyInfo::wire_size`] exact when given).
    ///
    /// The body is read in chunks of [`ConnectOptions::write_buffer`] octets. A refusal
    /// ([`Error::Rejected`]) leaves the connection usable; so does a usage error raised
    /// before anything was sent.
    pub fn send<R: Read>(
        &mut self,
        envelope: &Envelope,
        mut body: R,
        info: BodyInfo,
    ) -> Result<Delivery, Error> {
        self.check_open()?;
        let limit = self.call_limit();
        let now = self.now();
        self.session.send_message(envelope.clone(), info, now)?;
        let early = self.run_until(limit, |event| match event {
            Event::SendBody => Some(None),
            Event::TransactionDone(result) => Some(Some(result)),
            _ => None,
        })?;
        if early.is_none() {
            self.stream_body(&mut body, limit)?;
        }
        let result = match early {
            Some(result) => result,
            None => self.run_until(limit, |event| match event {
                Event::TransactionDone(result) => Some(result),
                _ => None,
            })?,
        };
        result.map_err(|failure| Error::Rejected { failure })
    }

    /// Sends one message held in memory, with its exact size and 8-bit flag computed from it
    /// (so that `BDAT n LAST` and `SIZE=` can be used). A line over 998 octets fails before
    /// anything is sent.
    pub fn send_bytes(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Delivery, Error> {
        let info = BodyInfo {
            wire_size: Some(data::bdat_wire_len(body)?),
            eight_bit: Some(!body.is_ascii()),
            smtputf8: false,
        };
        self.send(envelope, body, info)
    }

    /// Sends NOOP and returns the server's positive reply; a negative one is
    /// [`Error::Refused`].
    pub fn noop(&mut self) -> Result<Reply, Error> {
        self.check_open()?;
        let limit = self.call_limit();
        let now = self.now();
        self.session.noop(now)?;
        let reply = self.run_until(limit, |event| match event {
            Event::NoopDone(reply) => Some(reply),
            _ => None,
        })?;
        positive(reply, Step::Noop)
    }

    /// Sends RSET and returns the server's positive reply; a negative one is
    /// [`Error::Refused`].
    pub fn rset(&mut self) -> Result<Reply, Error> {
        self.check_open()?;
        let limit = self.call_limit();
        let now = self.now();
        self.session.reset(now)?;
        let reply = self.run_until(limit, |event| match event {
            Event::ResetDone(reply) => Some(reply),
            _ => None,
        })?;
        positive(reply, Step::Rset)
    }

    /// Sends QUIT when the session is ready, waits for its reply at most
    /// [`ConnectOptions::quit_timeout`], then closes the socket (with TLS, after a
    /// `close_notify`). The socket is closed whatever the result.
    pub fn close(mut self) -> Result<(), Error> {
        if self.stream.is_closed() {
            return Ok(());
        }
        let mut result = Ok(());
        if self.session.is_ready() {
            let mut limit = self.call_limit();
            limit.deadline = Some(earliest(Instant::now(), self.quit_timeout, self.deadline));
            let now = self.now();
            result = match self.session.quit(now) {
                Ok(()) => {
                    self.run_until(limit, |event| matches!(event, Event::Closed).then_some(()))
                }
                Err(error) => Err(error.into()),
            };
        }
        self.stream.close(CLOSE_NOTIFY_TIMEOUT);
        result
    }

    /// Whether the connection can take a message now: open, not failed, session ready.
    pub fn is_usable(&self) -> bool {
        !self.stream.is_closed() && self.session.error().is_none() && self.session.is_ready()
    }

    /// The server's capabilities from the latest EHLO (after TLS, the ones learnt over TLS).
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.session.capabilities()
    }

    /// Whether TLS is up (implicit or STARTTLS).
    pub fn is_tls(&self) -> bool {
        self.stream.is_tls() && self.session.is_tls()
    }

    /// The session, for inspection (step, error, configuration).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The socket underneath (below TLS, if any), until the connection is closed.
    pub fn get_ref(&self) -> Option<&S> {
        self.stream.socket()
    }

    /// Sets an overall deadline for every later call (each still also bounded by the
    /// session's reply deadlines); `None` removes it. Passing it fails the call with
    /// [`Error::Timeout`] and closes the connection.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// The deadline set with [`Connection::set_deadline`] or [`ConnectOptions::deadline`].
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    // ---- the driver loop -------------------------------------------------------------

    /// The session's notion of now.
    fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.epoch.elapsed())
    }

    fn call_limit(&self) -> CallLimit {
        let longest = longest_timeout(&self.session.config().timeouts);
        CallLimit {
            deadline: self.deadline,
            fallback: earliest(Instant::now(), longest, None),
        }
    }

    /// Fails unless the socket is open.
    fn check_open(&self) -> Result<(), Error> {
        if !self.stream.is_closed() {
            return Ok(());
        }
        Err(Error::Usage(match self.session.error() {
            Some(error) => UsageError::Failed(error.clone()),
            None => UsageError::Closed,
        }))
    }

    /// Moves bytes until `accept` takes an event, or the session fails, or a deadline passes.
    fn run_until<T>(
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
                        let interruption = self.session.interruption();
                        return Err(self.fail_session(error, interruption));
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
    fn next_deadline(&self, limit: &CallLimit) -> (Instant, Expiry) {
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
    fn time_left(&mut self, limit: &CallLimit) -> Result<Option<Duration>, Error> {
        let (at, expiry) = self.next_deadline(limit);
        let left = at.saturating_duration_since(Instant::now());
        if !left.is_zero() {
            return Ok(Some(left));
        }
        self.on_deadline(expiry).map(|()| None)
    }

    /// A deadline passed. The session decides what its own deadline means; the caller's
    /// deadline is always a [`Error::Timeout`].
    fn on_deadline(&mut self, expiry: Expiry) -> Result<(), Error> {
        if expiry == Expiry::Session {
            let now = self.now();
            self.session.handle_timeout(now);
            if let Some(error) = self.session.error().cloned() {
                let interruption = self.session.interruption();
                return Err(self.fail_session(error, interruption));
            }
            if self.session.poll_timeout().is_none_or(|at| at > now) {
                return Ok(());
            }
        }
        let interruption = self.session.interruption();
        Err(self.fail(Error::Timeout { interruption }))
    }

    /// Writes everything pending, one socket write per turn.
    fn flush(&mut self, limit: &CallLimit) -> Result<(), Error> {
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
    fn receive(&mut self, limit: &CallLimit) -> Result<(), Error> {
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
    fn deliver(&mut self, received: Received) -> Result<(), Error> {
        let now = self.now();
        match received {
            Received::Data(n) => {
                // Taken before the input, which may fail the session and clear its
                // transaction: a bad reply after the final dot must still say that the
                // message may have been accepted.
                let before = self.session.interruption();
                // `receive` never reports more than the buffer's length.
                self.session.handle_input(&self.incoming[..n], now);
                if let Some(error) = self.session.error().cloned() {
                    return Err(self.fail_session(error, before));
                }
            }
            Received::Eof => {
                self.session.handle_eof(now);
                if let Some(error) = self.session.error().cloned() {
                    let interruption = self.session.interruption();
                    return Err(self.fail_session(error, interruption));
                }
            }
            #[cfg(feature = "tls")]
            Received::Nothing => {}
        }
        Ok(())
    }

    /// Streams the body from `body` into the session, then ends it.
    fn stream_body(&mut self, body: &mut dyn Read, limit: CallLimit) -> Result<(), Error> {
        let mut chunk = std::mem::take(&mut self.body_chunk);
        chunk.resize(self.write_buffer, 0);
        let result = self.pump_body(body, &mut chunk, &limit);
        self.body_chunk = chunk;
        result
    }

    fn pump_body(
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
    fn start_tls(&mut self, limit: &CallLimit) -> Result<(), Error> {
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
    fn start_tls(&mut self, _limit: &CallLimit) -> Result<(), Error> {
        let policy = self.session.config().tls;
        Err(self.fail(super::ConfigError::TlsNotCompiled { policy }.into()))
    }

    // ---- failures ----------------------------------------------------------------------

    /// Closes the socket and returns `error`.
    fn fail(&mut self, error: Error) -> Error {
        self.stream = Stream::Closed;
        self.outgoing.clear();
        error
    }

    /// The session failed: close and report. `context` is where the session stood before the
    /// input that failed it, for the errors that do not say.
    fn fail_session(&mut self, error: SessionError, context: Interruption) -> Error {
        self.fail(Error::from_session(error, context))
    }

    /// The session's own error if it failed, else `otherwise`.
    fn fail_with_session_or(&mut self, otherwise: Error) -> Error {
        match self.session.error().cloned() {
            Some(error) => {
                let interruption = self.session.interruption();
                self.fail_session(error, interruption)
            }
            None => self.fail(otherwise),
        }
    }

    /// The session refused a body chunk or the end of the body: the message cannot be ended
    /// cleanly any more, so the connection is dropped.
    fn fail_mid_body(&mut self, error: UsageError) -> Error {
        self.fail_with_session_or(error.into())
    }

    /// A socket error while reading or configuring.
    fn io_failure(&mut self, source: io::Error) -> Error {
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
    fn write_failure(&mut self, source: io::Error) -> Error {
        if !is_reset(source.kind()) {
            return self.io_failure(source);
        }
        let interruption = self.session.interruption();
        for _ in 0..SALVAGE_READS {
            if self.stream.set_read_timeout(SALVAGE_READ_TIMEOUT).is_err() {
                break;
            }
            match self.stream.receive(&mut self.incoming) {
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

/// A positive reply, or [`Error::Refused`].
fn positive(reply: Reply, step: Step) -> Result<Reply, Error> {
    if reply.code().get() / 100 == 2 {
        Ok(reply)
    } else {
        Err(Error::Refused { step, reply })
    }
}

/// The error for a failed handshake, where no session decides.
#[cfg(feature = "tls")]
fn handshake_error(error: HandshakeError, interruption: Interruption) -> Error {
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
