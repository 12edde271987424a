//! The whole SMTP client conversation as a sans-IO state machine.
//!
//! SKELETON: the public API below is the contract for the transport (issue 4); the state
//! machine itself comes with issue 3.

mod config;
mod error;
mod event;
mod transaction;

pub use config::{SessionConfig, Timeouts, TlsPolicy};
pub use error::{Interruption, MessageFate, ProtocolViolation, SessionError, Step, UsageError};
pub use event::Event;
pub use transaction::{
    BodyInfo, Delivery, Envelope, RecipientOutcome, TransactionFailure, TransactionResult,
};

use crate::capabilities::Capabilities;
use crate::time::Timestamp;
use alloc::vec::Vec;

/// A client SMTP session that never performs IO and never reads a clock.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
}

impl Session {
    /// A session that waits for the server's greeting. With [`TlsPolicy::Implicit`] the driver
    /// has already completed the TLS handshake.
    pub fn new(config: SessionConfig, now: Timestamp) -> Session {
        let _ = now;
        Session { config }
    }

    /// Feeds bytes received from the server.
    pub fn handle_input(&mut self, data: &[u8], now: Timestamp) {
        let _ = (data, now);
        todo!()
    }

    /// Reports that the server closed the connection (end of stream).
    pub fn handle_eof(&mut self, now: Timestamp) {
        let _ = now;
        todo!()
    }

    /// Lets the session notice that its deadline ([`Session::poll_timeout`]) has passed.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let _ = now;
        todo!()
    }

    /// Reports that the TLS handshake requested by [`Event::StartTls`] completed.
    pub fn handle_tls_established(&mut self, now: Timestamp) {
        let _ = now;
        todo!()
    }

    /// Starts a mail transaction. Allowed only when the session is ready ([`Event::Ready`] or
    /// the end of the previous transaction).
    pub fn send_message(
        &mut self,
        envelope: Envelope,
        body: BodyInfo,
        now: Timestamp,
    ) -> Result<(), UsageError> {
        let _ = (envelope, body, now);
        todo!()
    }

    /// Feeds the next chunk of the message body, after [`Event::SendBody`].
    pub fn write_body(&mut self, chunk: &[u8], now: Timestamp) -> Result<(), UsageError> {
        let _ = (chunk, now);
        todo!()
    }

    /// Ends the message body.
    pub fn finish_body(&mut self, now: Timestamp) -> Result<(), UsageError> {
        let _ = now;
        todo!()
    }

    /// Sends NOOP. Allowed only when the session is ready.
    pub fn noop(&mut self, now: Timestamp) -> Result<(), UsageError> {
        let _ = now;
        todo!()
    }

    /// Sends RSET. Allowed only when the session is ready.
    pub fn reset(&mut self, now: Timestamp) -> Result<(), UsageError> {
        let _ = now;
        todo!()
    }

    /// Sends QUIT. Allowed only when the session is ready.
    pub fn quit(&mut self, now: Timestamp) -> Result<(), UsageError> {
        let _ = now;
        todo!()
    }

    /// Moves every byte waiting to be sent into `buf` (swapping buffers when `buf` is empty)
    /// and says whether there were any.
    #[must_use]
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> bool {
        let _ = buf;
        todo!()
    }

    /// The number of bytes waiting to be sent.
    pub fn pending_transmit_len(&self) -> usize {
        todo!()
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        todo!()
    }

    /// When [`Session::handle_timeout`] must be called if nothing arrives before.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        todo!()
    }

    /// Whether the session waits for bytes from the server.
    pub fn wants_input(&self) -> bool {
        todo!()
    }

    /// Whether the session is ready for a new transaction, NOOP, RSET or QUIT.
    pub fn is_ready(&self) -> bool {
        todo!()
    }

    /// Where the conversation stands if it were cut now: the step, the fate of the message in
    /// flight and its recipients. A driver whose socket fails (reset, broken pipe) reports this.
    pub fn interruption(&self) -> Interruption {
        todo!()
    }

    /// The step the session is in, for error reports.
    pub fn step(&self) -> Step {
        todo!()
    }

    /// The capabilities from the latest EHLO, or `None` before EHLO completed.
    pub fn capabilities(&self) -> Option<&Capabilities> {
        todo!()
    }

    /// Whether the session knows TLS to be up (implicit or after STARTTLS).
    pub fn is_tls(&self) -> bool {
        todo!()
    }

    /// The terminal error, once the session has failed.
    pub fn error(&self) -> Option<&SessionError> {
        todo!()
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }
}
