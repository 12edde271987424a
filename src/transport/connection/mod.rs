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

mod driver;
mod failure;

use super::connect::{self, earliest};
use super::error::Error;
use super::options::ConnectOptions;
use super::socket::Socket;
use super::stream::Stream;
#[cfg(feature = "tls")]
use super::tls::{self, TlsConfig, TlsStream};
use crate::capabilities::Capabilities;
use crate::data;
use crate::ehlo_name::EhloName;
use crate::reply::Reply;
use crate::session::{
    BodyInfo, Delivery, Envelope, Event, Session, SessionConfig, Step, TlsPolicy,
};
use crate::time::Timestamp;
#[cfg(feature = "tls")]
use failure::handshake_error;
use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How much is read from the socket at once.
const READ_BUFFER: usize = 16 * 1024;
/// How long `close` lets a TLS `close_notify` take.
const CLOSE_NOTIFY_TIMEOUT: Duration = Duration::from_millis(500);

/// Where a STARTTLS handshake goes: the client configuration and the name to verify.
#[cfg(feature = "tls")]
#[derive(Clone)]
struct TlsTarget {
    config: TlsConfig,
    name: rustls::pki_types::ServerName<'static>,
}

/// An open SMTP connection: greeted, EHLO done, TLS and AUTH done as configured.
///
/// Every call blocks until it is done, and never longer than the session's reply deadlines
/// (RFC 5321 §4.5.3.2 by default, see [`Timeouts`](crate::session::Timeouts)) or the deadline set with
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

impl<S: Socket> std::fmt::Debug for Connection<S> {
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
        let mut plan = Plan::new(options)?;
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
        if options.ehlo_from_local_address {
            let local = socket.local_addr().map_err(|source| Error::Io {
                interruption: crate::session::Interruption::at(Step::Greeting),
                source,
            })?;
            plan.session.ehlo_name = EhloName::from_ip(local.ip());
        }
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
    /// timeout are not used, and the socket's options (TCP_NODELAY, keepalive) are left as
    /// the caller set them.
    pub fn establish(socket: S, options: &ConnectOptions) -> Result<Connection<S>, Error> {
        let plan = Plan::new(options)?;
        Connection::start(socket, options, plan)
    }

    fn start(socket: S, options: &ConnectOptions, plan: Plan) -> Result<Connection<S>, Error> {
        let epoch = Instant::now();
        let stream = Self::open_stream(socket, &plan, epoch, options.deadline)?;
        let write_buffer = options.effective_write_buffer();
        let mut connection = Connection {
            // The greeting's deadline runs from now, after any implicit TLS handshake.
            session: Session::new(plan.session, Timestamp::from_duration(epoch.elapsed())),
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
                    Err(error) => Err(handshake_error(
                        error,
                        crate::session::Interruption::at(Step::TlsHandshake),
                    )),
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
        if result.is_err() {
            self.settle(limit);
        }
        result.map_err(|failure| Error::Rejected { failure })
    }

    /// After a refused transaction the session resets the server's state (RSET) on its own:
    /// waits for that, so that the connection is ready again when `send` returns. If the
    /// reset fails, the connection is closed ([`Connection::is_usable`] says so) and the
    /// refusal is still what `send` reports.
    fn settle(&mut self, limit: driver::CallLimit) {
        if !self.session.is_ready() {
            let _ = self.run_until(limit, |event| matches!(event, Event::Ready).then_some(()));
        }
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
        self.simple_command(Step::Noop, Session::noop, |event| match event {
            Event::NoopDone(reply) => Some(reply),
            _ => None,
        })
    }

    /// Sends RSET and returns the server's positive reply; a negative one is
    /// [`Error::Refused`].
    pub fn rset(&mut self) -> Result<Reply, Error> {
        self.simple_command(Step::Rset, Session::reset, |event| match event {
            Event::ResetDone(reply) => Some(reply),
            _ => None,
        })
    }

    /// Runs one command that expects one reply, carried by the event `done` picks.
    fn simple_command(
        &mut self,
        step: Step,
        start: fn(&mut Session, Timestamp) -> Result<(), crate::session::UsageError>,
        done: fn(Event) -> Option<Reply>,
    ) -> Result<Reply, Error> {
        self.check_open()?;
        let limit = self.call_limit();
        let now = self.now();
        start(&mut self.session, now)?;
        let reply = self.run_until(limit, done)?;
        positive(reply, step)
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
}

/// A positive reply, or [`Error::Refused`].
fn positive(reply: Reply, step: Step) -> Result<Reply, Error> {
    if reply.code().get() / 100 == 2 {
        Ok(reply)
    } else {
        Err(Error::Refused { step, reply })
    }
}
