//! The mailer: connect late, reconnect on `421` and end of stream with bounded backoff, and
//! never lose or silently duplicate a message.
//!
//! A [`Mailer`] is configured once ([`Mailer::builder`]) and then sends message after
//! message over one connection while it lives. It connects when the first message goes
//! (or at [`Mailer::connect`]); when the connection has died in the meantime (the server
//! closed it while the program was busy, or answers `421 … timeout exceeded` to the next
//! command), it connects again and sends the message again.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use smtpwire::mailer::Mailer;
//! use smtpwire::session::TlsPolicy;
//! use smtpwire::auth::Credentials;
//!
//! let mut mailer = Mailer::builder("mail.example.com", 587)
//!     .tls(TlsPolicy::Required)
//!     .credentials(Credentials::password("robot", "secret")?)
//!     .sender("Robot <robot@example.com>".parse()?)
//!     .build();
//! let report = mailer.send_mail(["ann@example.org".parse()?], "Report", "All is well.\n")?;
//! println!("{} after {} attempt(s)", report.reply, report.attempts);
//! mailer.close()?;
//! # Ok(())
//! # }
//! ```
//!
//! # What is retried, and how
//!
//! An *attempt* is one try to send the message over one connection (opened first when
//! needed). One counter covers the whole send, reconnections included, and the send gives
//! up after [`MailerBuilder::max_attempts`] (default 5) with the last error and the count.
//!
//! * **Reconnect and send again** when the connection is lost: `421`, end of stream, reset
//!   or broken pipe, a reply deadline, and a dial that cannot connect at all. The first
//!   redial is immediate; the next ones wait `base·2^(i-1)`, capped, ±20 % jitter
//!   ([`Backoff`]). Recipients the server refused before the cut are not sent to again:
//!   the next attempt goes only to the unresolved ones.
//! * **Not retried**: refusals, whether 5yz or 4yz ([`SendError::is_transient`] tells the
//!   caller which), and permanent failures: certificate rejected, TLS required but
//!   unavailable, authentication refused, protocol violation, invalid input. After a
//!   refused transaction the connection is kept.
//! * **After the final dot** a lost connection leaves the outcome unknown. By default the
//!   message is sent again and reported as a possible duplicate
//!   ([`SendReport::possible_duplicate`]); with [`UnknownOutcome::Fail`] it is not, and the
//!   send fails with [`SendError::OutcomeUnknown`].
//! * **The whole-send deadline** ([`MailerBuilder::send_deadline`]) bounds a send, retries
//!   included: no retry starts after it, no wait runs past it, and the connection gets it
//!   so that no socket wait does either.
//!
//! A message is composed once: every attempt sends the same bytes, with the same
//! Message-ID and Date.
//!
//! # Parallel sending
//!
//! A `Mailer` is [`Send`] but holds one connection: give each worker thread its own.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use smtpwire::mailer::{Counters, Mailer};
//! use smtpwire::session::TlsPolicy;
//! use std::sync::Arc;
//! # let server = smtpwire::testing::Server::builder().start()?;
//! # let (host, port) = (server.addr().ip().to_string(), server.addr().port());
//!
//! let counters = Arc::new(Counters::new()); // shared by every worker
//! let workers: Vec<_> = (0..4)
//!     .map(|worker| {
//!         let mut mailer = Mailer::builder(host.clone(), port)
//!             .tls(TlsPolicy::None)
//!             .sender("robot@example.com".parse().unwrap())
//!             .observer(counters.clone())
//!             .build();
//!         std::thread::spawn(move || -> Result<(), smtpwire::mailer::SendError> {
//!             for n in 0..3 {
//!                 let to = format!("user{worker}.{n}@example.org").parse().unwrap();
//!                 mailer.send_mail([to], "Hello", "Hi!\n")?;
//!             }
//!             let _ = mailer.close();
//!             Ok(())
//!         })
//!     })
//!     .collect();
//! for worker in workers {
//!     worker.join().expect("worker panicked")?;
//! }
//! assert_eq!(counters.snapshot().successes, 12);
//! # Ok(())
//! # }
//! ```
//!
//! # Watching it
//!
//! An [`Observer`] sees every attempt, failure, wait and delivery ([`Counters`] counts
//! them), and the `log` facade gets what an operator wants to read: `info` for "sleeping
//! for … before reconnecting" and "reconnected", `warn` for failed attempts and possible
//! duplicates, `debug` for connections. Credentials never appear in either.
//!
//! [`Mailer`]: crate::mailer::Mailer
//! [`Mailer::builder`]: crate::mailer::Mailer::builder
//! [`Mailer::connect`]: crate::mailer::Mailer::connect
//! [`MailerBuilder::max_attempts`]: crate::mailer::MailerBuilder::max_attempts
//! [`MailerBuilder::send_deadline`]: crate::mailer::MailerBuilder::send_deadline
//! [`Backoff`]: crate::mailer::Backoff
//! [`Counters`]: crate::mailer::Counters
//! [`Observer`]: crate::mailer::Observer
//! [`SendError::OutcomeUnknown`]: crate::mailer::SendError::OutcomeUnknown
//! [`SendError::is_transient`]: crate::mailer::SendError::is_transient
//! [`SendReport::possible_duplicate`]: crate::mailer::SendReport::possible_duplicate
//! [`UnknownOutcome::Fail`]: crate::mailer::UnknownOutcome::Fail

// `transport::Error` is carried by value so that callers can match on it (see the note in
// the transport module); `SendError` holds one.
#![allow(clippy::result_large_err)]

mod body;
mod clock;
mod config;
mod dial;
mod error;
mod observer;
mod report;
mod retry;

pub use clock::{Clock, MANUAL_CLOCK_SLEEP_LOG_CAP, ManualClock, SystemClock};
pub use config::{EhloIdentity, MailerBuilder, UnknownOutcome};
pub use error::SendError;
pub use observer::{Counters, CountersSnapshot, FailureKind, MailerEvent, Observer};
pub use report::{Progress, SendReport};
pub use retry::{
    Backoff, DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP, DEFAULT_MAX_ATTEMPTS, JITTER_PERCENT,
    Jitter,
};

mod run;

use crate::message::{Mailbox, Message};
use crate::session::Envelope;
use crate::transport::{self, Connection};
use body::{Bytes, ReadOnce, Seekable};
use config::Config;
use retry::JitterSource;
use std::fmt;
use std::io::{Read, Seek};

/// Sends messages over one SMTP connection, opened late and reopened when it dies, with
/// bounded retries. See the [module documentation](self).
///
/// Dropping a mailer closes its socket without QUIT; call [`Mailer::close`] to say goodbye.
pub struct Mailer {
    config: Config,
    connection: Option<Connection>,
    jitter: JitterSource,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("config", &self.config)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A builder for a mailer that sends to `host:port` (a name, or an IP address with or
    /// without brackets).
    pub fn builder(host: impl Into<String>, port: u16) -> MailerBuilder {
        MailerBuilder::new(host.into(), port)
    }

    fn from_config(config: Config) -> Mailer {
        Mailer {
            jitter: JitterSource::new(config.backoff.jitter),
            config,
            connection: None,
        }
    }

    /// Opens a connection now (closing the current one first, with QUIT), retrying like a
    /// send does. Never needed: every send connects when it has to.
    pub fn connect(&mut self) -> Result<(), SendError> {
        let _ = self.close();
        self.run_connect()
    }

    /// Sends QUIT, waits for its reply at most the
    /// [QUIT timeout](MailerBuilder::quit_timeout), and closes the connection, if there is
    /// one.
    /// The socket is closed whatever the result.
    pub fn close(&mut self) -> Result<(), transport::Error> {
        match self.connection.take() {
            Some(connection) => connection.close(),
            None => Ok(()),
        }
    }

    /// Whether the mailer holds a connection that looked ready when last used. A server may
    /// have closed it since; the next send finds out and reconnects.
    pub fn is_connected(&self) -> bool {
        self.connection.as_ref().is_some_and(Connection::is_usable)
    }

    /// The current connection, for inspection (TLS, capabilities).
    pub fn connection(&self) -> Option<&Connection> {
        self.connection.as_ref()
    }

    /// Composes a text message from the configured [sender](MailerBuilder::sender) to `to`
    /// and sends it. The message (with its Message-ID and Date) is composed once; every
    /// attempt sends the same bytes.
    ///
    /// Fails with [`SendError::Compose`] without a sender, without recipients, or with a
    /// control character in the subject.
    pub fn send_mail<I>(
        &mut self,
        to: I,
        subject: &str,
        body: &str,
    ) -> Result<SendReport, SendError>
    where
        I: IntoIterator<Item = Mailbox>,
    {
        let sender = self.config.sender.clone().ok_or(SendError::Compose(
            crate::message::ComposeError::MissingFrom,
        ));
        let message = sender.and_then(|sender| {
            to.into_iter()
                .fold(Message::builder().from(sender), |builder, to| {
                    builder.to(to)
                })
                .subject(subject)
                .text_body(body)
                .build()
                .map_err(SendError::Compose)
        });
        match message {
            Ok(message) => self.send_message(&message),
            Err(error) => Err(self.failed(error)),
        }
    }

    /// Sends a composed message to its envelope (From to To, Cc and Bcc). The report
    /// carries its Message-ID.
    pub fn send_message(&mut self, message: &Message) -> Result<SendReport, SendError> {
        let mut body = Bytes::with_info(message.as_bytes(), message.body_info());
        let mut report = self.run_send(&message.envelope(), &mut body)?;
        report.message_id = Some(message.message_id().clone());
        Ok(report)
    }

    /// Sends `message`, an RFC 5322 message the caller composed, to `envelope`. Line endings
    /// are normalised to CRLF and a final CRLF is added when missing; a line over 998
    /// octets fails before anything is sent.
    pub fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<SendReport, SendError> {
        match Bytes::new(message) {
            Ok(mut body) => self.run_send(envelope, &mut body),
            Err(error) => Err(self.failed(SendError::NotRetried {
                error,
                progress: Progress::default(),
            })),
        }
    }

    /// Sends a message read from `body`, in constant memory. Each attempt seeks back to
    /// where `body` stood when this call began, so every attempt sends the same bytes.
    pub fn send_stream<R: Read + Seek>(
        &mut self,
        envelope: &Envelope,
        body: R,
    ) -> Result<SendReport, SendError> {
        self.run_send(envelope, &mut Seekable::new(body))
    }

    /// Sends a message read from a reader that cannot seek. It is retried only while none
    /// of it was read (a failure at MAIL or RCPT, or while connecting); once its first byte
    /// was read, a lost connection ends the send with [`SendError::BodyNotResendable`].
    /// Prefer [`Mailer::send_stream`] or [`Mailer::send`] when you can.
    pub fn send_stream_once<R: Read>(
        &mut self,
        envelope: &Envelope,
        body: R,
    ) -> Result<SendReport, SendError> {
        self.run_send(envelope, &mut ReadOnce::new(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailer_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Mailer>();
        assert_send::<SendError>();
    }

    #[test]
    fn send_mail_without_a_sender_fails_before_connecting() {
        let counters = std::sync::Arc::new(Counters::new());
        // Port 9 on loopback: nothing is dialled, so nothing needs to listen.
        let mut mailer = Mailer::builder("127.0.0.1", 9)
            .observer(counters.clone())
            .build();
        let to: Mailbox = "bob@example.org".parse().unwrap();
        let error = mailer.send_mail([to], "hi", "body").unwrap_err();
        assert!(matches!(error, SendError::Compose(_)), "{error:?}");
        assert_eq!(error.kind(), "invalid-input");
        assert_eq!(error.attempts(), 0);
        let counts = counters.snapshot();
        assert_eq!((counts.attempts, counts.failed_sends), (0, 1));
    }
}
