//! The whole SMTP client conversation as a sans-IO state machine.
//!
//! A [`Session`] never touches a socket and never reads a clock: the driver feeds it what the
//! server sent, tells it the time, and carries out what it asks. The blocking
//! `transport` module is one such driver; an async or embedded one is written the same way.
//!
//! # Driving a session
//!
//! Every call that takes `now` may change the state. After each such call the driver drains
//! the outputs, in this order, until each is empty:
//!
//! 1. [`Session::poll_transmit`]: bytes to write to the server, all of them in one write when
//!    possible (a pipelined command group goes out together);
//! 2. [`Session::poll_event`]: what happened ([`Event`]); [`Event::StartTls`] means *handshake
//!    now, before reading or writing anything else*; [`Event::SendBody`] means *stream the
//!    body now* with [`Session::write_body`] and [`Session::finish_body`];
//! 3. [`Session::poll_timeout`]: the deadline for the next input. The driver waits for bytes
//!    from the server no later than that; if it passes, it calls [`Session::handle_timeout`].
//!
//! Inputs are [`Session::handle_input`] (bytes received, split anywhere),
//! [`Session::handle_eof`] (the server closed the connection),
//! [`Session::handle_timeout`] and [`Session::handle_tls_established`]. Requests are
//! [`Session::send_message`], [`Session::noop`], [`Session::reset`] and [`Session::quit`], each
//! allowed only when [`Session::is_ready`].
//!
//! Deadlines are absolute: a reply's deadline is set when its command is queued (or when the
//! previous reply arrives) and only a complete reply moves on to the next one, so a server
//! that trickles a byte at a time cannot extend it.
//!
//! # States
//!
//! ```text
//!            greeting 220
//!  Opening ──────────────► EHLO ──500/502──► HELO
//!                           │                 │
//!                           ├── STARTTLS? ──► TlsHandshake ──tls up──► EHLO (again, caps reset)
//!                           │                 (220 only; bytes behind it: fail)
//!                           ├── AUTH? ──334──► response ──… 235
//!                           ▼
//!                         Idle ◄──────────────────────────────────────────────┐
//!                           │ send_message                                    │
//!                           ▼                                                 │
//!  MAIL ─► RCPT… ─► DATA ─354─► body ─► final dot ─► final reply ─────────────┤
//!       └─ (PIPELINING: one flight; with CHUNKING and a known size:           │
//!           MAIL, RCPT…, BDAT n LAST and the body all in that flight) ────────┤
//!  a transaction that failed after MAIL was accepted ─► RSET ─────────────────┤
//!  NOOP, RSET ────────────────────────────────────────────────────────────────┘
//!  QUIT ─► Closed
//!
//!  any step: 421 ─► Failed(ServiceClosing)   EOF ─► Failed(ConnectionClosed)
//!            deadline ─► Failed(Timeout)     bad bytes ─► Failed(Protocol)
//! ```
//!
//! A failed session stays failed: every later request returns the error and nothing more is
//! sent.

mod config;
mod error;
mod event;
mod mail;
mod opening;
mod outstanding;
mod transaction;
mod transaction_replies;

pub use config::{SessionConfig, Timeouts, TlsPolicy};
pub use error::{Interruption, MessageFate, ProtocolViolation, SessionError, Step, UsageError};
pub use event::Event;
pub use transaction::{
    BodyInfo, Delivery, Envelope, RecipientOutcome, TransactionFailure, TransactionResult,
};

use crate::auth::AuthExchange;
use crate::capabilities::Capabilities;
use crate::command::Command;
use crate::reply::{Reply, ReplyCode, ReplyParser, Status};
use crate::time::Timestamp;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use mail::{BodyState, MailTransaction, Plan};
use outstanding::{Awaiting, Outstanding};

/// A client SMTP session that never performs IO and never reads a clock.
///
/// See the [module documentation](self) for how to drive it.
pub struct Session {
    config: SessionConfig,
    parser: ReplyParser,
    /// Bytes the driver has not taken yet.
    transmit: Vec<u8>,
    events: VecDeque<Event>,
    phase: Phase,
    outstanding: Outstanding,
    /// When the reply at the front of `outstanding` must have arrived.
    reply_deadline: Option<Timestamp>,
    /// Whether TLS is up, as far as this session knows: implicit TLS, or a handshake it asked
    /// for completed. Never what the server claims.
    tls_up: bool,
    /// STARTTLS has been sent once; it is never sent again.
    starttls_sent: bool,
    capabilities: Option<Capabilities>,
    auth: Option<AuthExchange>,
    transaction: Option<MailTransaction>,
    error: Option<SessionError>,
}

/// The coarse state; the fine state is the queue of outstanding replies and the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Greeting, EHLO or HELO, STARTTLS, AUTH.
    Opening,
    /// The driver runs the TLS handshake; no bytes may arrive until it is done.
    TlsHandshake { deadline: Timestamp },
    /// Ready for a transaction, NOOP, RSET or QUIT.
    Idle,
    /// A transaction, NOOP or RSET is under way.
    Busy,
    /// QUIT was sent.
    Quitting,
    /// QUIT was answered.
    Closed,
    /// A terminal error happened.
    Failed,
}

impl Session {
    /// A session that waits for the server's greeting. With [`TlsPolicy::Implicit`] the driver
    /// has already completed the TLS handshake.
    pub fn new(config: SessionConfig, now: Timestamp) -> Session {
        let mut outstanding = Outstanding::default();
        outstanding.push_transmitted(Awaiting::Greeting);
        Session {
            parser: ReplyParser::with_limits(config.reply_limits),
            transmit: Vec::new(),
            events: VecDeque::new(),
            phase: Phase::Opening,
            outstanding,
            reply_deadline: Some(now.saturating_add(config.timeouts.greeting)),
            tls_up: config.tls == TlsPolicy::Implicit,
            starttls_sent: false,
            capabilities: None,
            auth: None,
            transaction: None,
            error: None,
            config,
        }
    }

    // ----- inputs -------------------------------------------------------------------------

    /// Feeds bytes received from the server, split anywhere.
    ///
    /// Replies are matched, in order, to the commands the driver has taken with
    /// [`Session::poll_transmit`]; a reply to nothing is a protocol error. After a `220` to
    /// STARTTLS, any further byte is a STARTTLS response injection and fails the session.
    pub fn handle_input(&mut self, data: &[u8], now: Timestamp) {
        if self.is_finished() {
            return;
        }
        if matches!(self.phase, Phase::TlsHandshake { .. }) {
            return self.fail_protocol(ProtocolViolation::StartTlsInjection);
        }
        let mut rest = data;
        while !rest.is_empty() {
            let reply = match self.parser.parse(rest) {
                Err(error) => return self.fail_protocol(ProtocolViolation::Malformed(error)),
                Ok(Status::Partial) => return,
                Ok(Status::Complete { reply, consumed }) => {
                    // The parser never reports more than it was given; `get` keeps this total.
                    rest = rest.get(consumed..).unwrap_or_default();
                    reply.to_reply()
                }
            };
            self.on_reply(reply, now);
            if self.is_finished() {
                return;
            }
            if matches!(self.phase, Phase::TlsHandshake { .. }) {
                if !rest.is_empty() {
                    // Whatever follows the 220 was sent before the handshake and must never
                    // be read as if it came through TLS (CVE-2021-38371, CVE-2021-22947, …):
                    // fail before the driver is ever told to start the handshake.
                    return self.fail_protocol(ProtocolViolation::StartTlsInjection);
                }
                self.events.push_back(Event::StartTls);
                return;
            }
        }
    }

    /// Reports that the server closed the connection (end of stream).
    ///
    /// After QUIT this ends the session normally; anywhere else it is
    /// [`SessionError::ConnectionClosed`].
    pub fn handle_eof(&mut self, now: Timestamp) {
        let _ = now;
        match self.phase {
            Phase::Closed | Phase::Failed => {}
            Phase::Quitting => self.close(),
            _ => {
                let interruption = self.interruption();
                self.fail(SessionError::ConnectionClosed { interruption });
            }
        }
    }

    /// Lets the session notice that its deadline ([`Session::poll_timeout`]) has passed; does
    /// nothing before it.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            let interruption = self.interruption();
            self.fail(SessionError::Timeout { interruption });
        }
    }

    /// Reports that the TLS handshake requested by [`Event::StartTls`] completed. Everything
    /// learnt before is forgotten and EHLO is sent again. Ignored unless a handshake was
    /// requested.
    pub fn handle_tls_established(&mut self, now: Timestamp) {
        if !matches!(self.phase, Phase::TlsHandshake { .. }) {
            return;
        }
        self.phase = Phase::Opening;
        self.tls_up = true;
        self.capabilities = None;
        // Nothing received before the handshake may be read after it.
        self.parser.reset();
        self.send_ehlo(now);
    }

    // ----- requests -----------------------------------------------------------------------

    /// Starts a mail transaction. Allowed only when [`Session::is_ready`].
    ///
    /// The parameters (SIZE, BODY, SMTPUTF8, DSN) are chosen from `body`, the envelope and the
    /// server's extensions; a message the server cannot take fails here, before anything is
    /// sent. With PIPELINING, MAIL, every RCPT and DATA go in one flight; with CHUNKING and a
    /// known size the body goes as `BDAT n LAST`, and with both [`Event::SendBody`] comes at
    /// once so that the body joins the same flight: one round trip per message, at the price
    /// of sending the body before the RCPT replies are known (when every recipient is then
    /// refused, the server reads and discards it).
    pub fn send_message(
        &mut self,
        envelope: Envelope,
        body: BodyInfo,
        now: Timestamp,
    ) -> Result<(), UsageError> {
        self.check_ready()?;
        let none = Capabilities::none();
        let capabilities = self.capabilities.as_ref().unwrap_or(&none);
        let plan = Plan::new(&envelope, &body, capabilities)?;
        let mut transaction = MailTransaction::new(envelope, &plan);
        self.phase = Phase::Busy;
        Command::Mail {
            from: &transaction.envelope.from,
            params: &plan.mail,
        }
        .encode(&mut self.transmit);
        self.expect(Awaiting::Mail, now);
        if plan.pipelined {
            for (index, to) in transaction.envelope.recipients.iter().enumerate() {
                Command::Rcpt {
                    to,
                    params: &plan.rcpt,
                }
                .encode(&mut self.transmit);
                self.expect(Awaiting::Rcpt(index), now);
            }
            self.send_body_command(&mut transaction, now);
        }
        self.transaction = Some(transaction);
        Ok(())
    }

    /// Feeds the next chunk of the message body, after [`Event::SendBody`]. Line endings are
    /// normalised to CRLF and, after DATA, leading dots doubled; memory use does not grow with
    /// the message.
    ///
    /// A line longer than 998 octets fails the session ([`SessionError::LineTooLong`]): the
    /// end of the message is then never sent, and the driver must drop the connection.
    pub fn write_body(&mut self, chunk: &[u8], now: Timestamp) -> Result<(), UsageError> {
        self.check_body_wanted()?;
        let block_timeout = self.config.timeouts.data_block;
        let Some(transaction) = self.transaction.as_mut() else {
            return Err(UsageError::NotReady(self.step()));
        };
        if let Err(error) = transaction.encoder.encode(chunk, &mut self.transmit) {
            self.fail(SessionError::LineTooLong(error));
            return Err(UsageError::LineTooLong(error));
        }
        transaction.body_deadline = now.saturating_add(block_timeout);
        if let Some(declared) = transaction.bdat_size {
            let actual = transaction.encoder.wire_len();
            if actual > declared {
                self.fail(SessionError::BodySizeMismatch { declared, actual });
                return Err(UsageError::BodySizeMismatch { declared, actual });
            }
        }
        Ok(())
    }

    /// Ends the message body: the final dot after DATA, or the end of the `BDAT n LAST` chunk
    /// (whose size must then match exactly).
    pub fn finish_body(&mut self, now: Timestamp) -> Result<(), UsageError> {
        self.check_body_wanted()?;
        let Some(transaction) = self.transaction.as_mut() else {
            return Err(UsageError::NotReady(self.step()));
        };
        transaction.encoder.finish(&mut self.transmit);
        if let Some(declared) = transaction.bdat_size {
            let actual = transaction.encoder.wire_len();
            if actual != declared {
                self.fail(SessionError::BodySizeMismatch { declared, actual });
                return Err(UsageError::BodySizeMismatch { declared, actual });
            }
        }
        transaction.body = BodyState::Ended;
        match (transaction.bdat_size, transaction.early_final.take()) {
            (None, _) => self.expect(Awaiting::EndOfData, now),
            (Some(_), Some(early)) => {
                let result = transaction.conclude(early);
                let reset = result.is_err() && transaction.needs_reset();
                self.finish_transaction(result, reset, now);
            }
            (Some(_), None) => {
                // Replies to the pipelined commands may have waited while the body was
                // written; each gets its full time from now.
                self.reply_deadline = self.next_reply_deadline(now);
            }
        }
        Ok(())
    }

    /// Sends NOOP; [`Event::NoopDone`] carries the reply. Allowed only when ready.
    pub fn noop(&mut self, now: Timestamp) -> Result<(), UsageError> {
        self.check_ready()?;
        self.phase = Phase::Busy;
        Command::Noop.encode(&mut self.transmit);
        self.expect(Awaiting::Noop, now);
        Ok(())
    }

    /// Sends RSET; [`Event::ResetDone`] carries the reply. Allowed only when ready.
    pub fn reset(&mut self, now: Timestamp) -> Result<(), UsageError> {
        self.check_ready()?;
        self.phase = Phase::Busy;
        Command::Rset.encode(&mut self.transmit);
        self.expect(Awaiting::Rset { requested: true }, now);
        Ok(())
    }

    /// Sends QUIT; [`Event::Closed`] follows its reply (or the server closing the
    /// connection). Allowed only when ready.
    pub fn quit(&mut self, now: Timestamp) -> Result<(), UsageError> {
        self.check_ready()?;
        self.phase = Phase::Quitting;
        Command::Quit.encode(&mut self.transmit);
        self.expect(Awaiting::Quit, now);
        Ok(())
    }

    // ----- outputs ------------------------------------------------------------------------

    /// Moves every byte waiting to be sent into `buf` and says whether there were any. When
    /// `buf` is empty the buffers are swapped, so nothing is copied. Once taken, the commands
    /// count as sent: their replies may arrive.
    #[must_use]
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> bool {
        if self.transmit.is_empty() {
            return false;
        }
        self.outstanding.mark_all_transmitted();
        if buf.is_empty() {
            core::mem::swap(buf, &mut self.transmit);
        } else {
            buf.extend_from_slice(&self.transmit);
            self.transmit.clear();
        }
        true
    }

    /// The number of bytes waiting to be sent.
    pub fn pending_transmit_len(&self) -> usize {
        self.transmit.len()
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] must be called if nothing arrives before: the deadline
    /// of the reply awaited, of the TLS handshake, or of the next body block. `None` when the
    /// session waits for nothing.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match self.phase {
            Phase::Idle | Phase::Closed | Phase::Failed => None,
            Phase::TlsHandshake { deadline } => Some(deadline),
            Phase::Opening | Phase::Busy | Phase::Quitting => {
                match self
                    .transaction
                    .as_ref()
                    .filter(|t| t.body == BodyState::Wanted)
                {
                    Some(transaction) => Some(transaction.body_deadline),
                    None => self.reply_deadline,
                }
            }
        }
    }

    /// Whether the session waits for bytes from the server: a reply is owed to a command the
    /// driver has taken.
    pub fn wants_input(&self) -> bool {
        matches!(self.phase, Phase::Opening | Phase::Busy | Phase::Quitting)
            && self.outstanding.front_transmitted()
    }

    /// Whether the session is ready for a new transaction, NOOP, RSET or QUIT.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// Where the conversation stands if it were cut now: the step, the fate of the message in
    /// flight and its recipients. A driver whose socket fails (reset, broken pipe) reports this.
    pub fn interruption(&self) -> Interruption {
        let step = self.step();
        match &self.transaction {
            Some(transaction) => transaction.interruption(step),
            None => Interruption::at(step),
        }
    }

    /// The step the session is in, for error reports.
    pub fn step(&self) -> Step {
        match self.phase {
            Phase::Closed | Phase::Failed => Step::Closed,
            Phase::TlsHandshake { .. } => Step::TlsHandshake,
            Phase::Idle => Step::Idle,
            Phase::Opening | Phase::Busy | Phase::Quitting => {
                let body_wanted = self
                    .transaction
                    .as_ref()
                    .is_some_and(MailTransaction::body_in_progress);
                match self.outstanding.front() {
                    // Pipelined MAIL and RCPT replies are owed before the body matters.
                    Some(awaiting @ (Awaiting::Mail | Awaiting::Rcpt(_)))
                        if self.outstanding.front_transmitted() =>
                    {
                        awaiting.step()
                    }
                    _ if body_wanted => Step::Body,
                    Some(awaiting) => awaiting.step(),
                    None => Step::Idle,
                }
            }
        }
    }

    /// The capabilities from the latest EHLO (empty after HELO), or `None` before it.
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.capabilities.as_ref()
    }

    /// Whether the session knows TLS to be up (implicit, or after a STARTTLS handshake it
    /// asked for).
    pub fn is_tls(&self) -> bool {
        self.tls_up
    }

    /// The terminal error, once the session has failed.
    pub fn error(&self) -> Option<&SessionError> {
        self.error.as_ref()
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    // ----- replies --------------------------------------------------------------------------

    fn on_reply(&mut self, reply: Reply, now: Timestamp) {
        if reply.code() == ReplyCode::SERVICE_NOT_AVAILABLE {
            // RFC 5321 §3.8: 421 may come at any time, asked for or not.
            if self.phase == Phase::Quitting {
                return self.close();
            }
            let interruption = self.interruption();
            return self.fail(SessionError::ServiceClosing {
                reply,
                interruption,
            });
        }
        let awaiting = match self.outstanding.pop_for_reply() {
            Ok(awaiting) => awaiting,
            Err(_) => return self.fail_protocol(ProtocolViolation::UnexpectedReply(reply)),
        };
        self.reply_deadline = self.next_reply_deadline(now);
        match awaiting {
            Awaiting::Greeting => self.on_greeting(reply, now),
            Awaiting::Ehlo => self.on_ehlo(reply, now),
            Awaiting::Helo => self.on_helo(reply, now),
            Awaiting::StartTls => self.on_starttls(reply, now),
            Awaiting::Auth => self.on_auth(reply, now),
            Awaiting::Mail => self.on_mail(reply, now),
            Awaiting::Rcpt(index) => self.on_rcpt(index, reply, now),
            Awaiting::Data => self.on_data(reply, now),
            Awaiting::BdatLast => self.on_bdat_last(reply, now),
            Awaiting::EndOfData => self.on_end_of_data(reply, now),
            Awaiting::Rset { requested } => self.on_rset(requested, reply),
            Awaiting::Noop => {
                self.events.push_back(Event::NoopDone(reply));
                self.become_idle();
            }
            Awaiting::Quit => self.close(),
        }
    }

    // ----- helpers ----------------------------------------------------------------------------

    /// Waits for one more reply; its deadline starts now if nothing else is awaited.
    fn expect(&mut self, awaiting: Awaiting, now: Timestamp) {
        let first = self.outstanding.is_empty();
        self.outstanding.push(awaiting);
        if first {
            self.reply_deadline = self.next_reply_deadline(now);
        }
    }

    fn next_reply_deadline(&self, now: Timestamp) -> Option<Timestamp> {
        self.outstanding
            .front()
            .map(|next| now.saturating_add(next.timeout(&self.config.timeouts)))
    }

    fn finish_transaction(&mut self, result: TransactionResult, reset: bool, now: Timestamp) {
        self.transaction = None;
        self.events.push_back(Event::TransactionDone(result));
        if reset {
            // The server still holds the failed transaction's state.
            Command::Rset.encode(&mut self.transmit);
            self.expect(Awaiting::Rset { requested: false }, now);
        } else {
            self.become_idle();
        }
    }

    fn become_idle(&mut self) {
        self.phase = Phase::Idle;
        self.events.push_back(Event::Ready);
    }

    fn close(&mut self) {
        self.phase = Phase::Closed;
        self.outstanding.clear();
        self.reply_deadline = None;
        self.events.push_back(Event::Closed);
    }

    fn fail_protocol(&mut self, violation: ProtocolViolation) {
        // Taken before `fail` forgets the transaction.
        let interruption = self.interruption();
        self.fail(SessionError::Protocol {
            interruption,
            violation,
        });
    }

    /// Ends the session for good: the error sticks and nothing more is sent.
    fn fail(&mut self, error: SessionError) {
        if self.is_finished() {
            return;
        }
        self.phase = Phase::Failed;
        self.transmit.clear();
        self.outstanding.clear();
        self.reply_deadline = None;
        self.auth = None;
        self.transaction = None;
        self.events.push_back(Event::Failed(error.clone()));
        self.error = Some(error);
    }

    fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Closed | Phase::Failed)
    }

    fn check_ready(&self) -> Result<(), UsageError> {
        match (self.phase, &self.error) {
            (Phase::Idle, _) => Ok(()),
            (Phase::Failed, Some(error)) => Err(UsageError::Failed(Box::new(error.clone()))),
            (Phase::Closed | Phase::Quitting, _) => Err(UsageError::Closed),
            _ => Err(UsageError::NotReady(self.step())),
        }
    }

    fn check_body_wanted(&self) -> Result<(), UsageError> {
        if let Some(error) = &self.error {
            return Err(UsageError::Failed(Box::new(error.clone())));
        }
        match &self.transaction {
            Some(transaction) if transaction.body == BodyState::Wanted => Ok(()),
            _ => Err(UsageError::NotReady(self.step())),
        }
    }
}

/// Shows the state, never the bytes waiting to be sent (they may hold credentials).
impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("step", &self.step())
            .field("phase", &self.phase)
            .field("tls_up", &self.tls_up)
            .field("pending_transmit_len", &self.transmit.len())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}
