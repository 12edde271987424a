//! Terminal session errors, local misuse, and where a conversation was cut.

use crate::address::Address;
use crate::data::LineTooLong;
use crate::reply::{Reply, ReplyError};
use crate::session::RecipientOutcome;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

/// The step of the conversation a session is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Waiting for the greeting.
    Greeting,
    /// EHLO sent.
    Ehlo,
    /// HELO sent (after EHLO was refused).
    Helo,
    /// STARTTLS sent.
    StartTls,
    /// The TLS handshake is running.
    TlsHandshake,
    /// AUTH in progress.
    Auth,
    /// Ready, no command outstanding.
    Idle,
    /// MAIL FROM sent.
    Mail,
    /// RCPT TO sent.
    Rcpt,
    /// DATA or BDAT sent, waiting for its reply.
    Data,
    /// The body is being sent.
    Body,
    /// The body was sent in full (final dot or BDAT LAST): waiting for the final reply.
    FinalReply,
    /// RSET sent.
    Rset,
    /// NOOP sent.
    Noop,
    /// QUIT sent.
    Quit,
    /// The session ended.
    Closed,
}

impl Step {
    /// A short lower-case name: `greeting`, `ehlo`, `mail`, `final-reply`, …
    pub fn name(self) -> &'static str {
        match self {
            Step::Greeting => "greeting",
            Step::Ehlo => "ehlo",
            Step::Helo => "helo",
            Step::StartTls => "starttls",
            Step::TlsHandshake => "tls-handshake",
            Step::Auth => "auth",
            Step::Idle => "idle",
            Step::Mail => "mail",
            Step::Rcpt => "rcpt",
            Step::Data => "data",
            Step::Body => "body",
            Step::FinalReply => "final-reply",
            Step::Rset => "rset",
            Step::Noop => "noop",
            Step::Quit => "quit",
            Step::Closed => "closed",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What may have become of the message in flight when the conversation was cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageFate {
    /// No transaction was under way.
    NoMessage,
    /// A transaction was under way but its end (final dot or BDAT LAST) was never sent
    /// complete: the server cannot have accepted it.
    NotDelivered,
    /// The whole message was sent and no final reply came: the server may have accepted it.
    /// Sending it again may deliver it twice; not sending it may lose it.
    Unknown,
}

impl MessageFate {
    /// Whether the server may already have accepted the message.
    pub fn may_have_been_accepted(self) -> bool {
        self == MessageFate::Unknown
    }
}

/// Where a conversation was cut by a 421, EOF, deadline or IO failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interruption {
    /// The step the session was in.
    pub step: Step,
    /// What may have become of the message in flight.
    pub fate: MessageFate,
    /// Recipients of the interrupted transaction whose delivery is not known (all that were not
    /// refused at RCPT). Empty without a transaction.
    pub unresolved: Vec<Address>,
    /// Recipients the server refused at RCPT before the cut: resending to them is pointless.
    pub refused: Vec<RecipientOutcome>,
}

impl Interruption {
    /// An interruption outside any transaction.
    pub fn at(step: Step) -> Interruption {
        Interruption {
            step,
            fate: MessageFate::NoMessage,
            unresolved: Vec::new(),
            refused: Vec::new(),
        }
    }
}

/// How the server broke the protocol.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolViolation {
    /// The bytes received are not a valid reply.
    #[error("malformed reply: {0}")]
    Malformed(ReplyError),
    /// A reply arrived when none was expected (nothing asked for it).
    #[error("unexpected reply {0}")]
    UnexpectedReply(Reply),
    /// Bytes arrived behind the 220 to STARTTLS, before the TLS handshake: a response
    /// injection attempt (CVE-2021-38371 and friends).
    #[error("data received behind the STARTTLS reply, before the TLS handshake")]
    StartTlsInjection,
    /// A reply code that makes no sense at this step.
    #[error("unexpected reply code for this step: {0}")]
    UnexpectedCode(Reply),
}

/// Why a session ended for good. After it, every call returns the same error and nothing more
/// is sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The server sent 421 (service not available, closing): reconnect and try again.
    #[error("server closing the connection at {}: {reply}", interruption.step)]
    ServiceClosing {
        /// The 421 reply.
        reply: Reply,
        /// Where the conversation was cut.
        interruption: Interruption,
    },
    /// The server closed the connection (EOF): reconnect and try again.
    #[error("connection closed by the server at {}", interruption.step)]
    ConnectionClosed {
        /// Where the conversation was cut.
        interruption: Interruption,
    },
    /// A reply did not come before its deadline.
    #[error("no reply before the deadline at {}", interruption.step)]
    Timeout {
        /// Where the conversation was cut.
        interruption: Interruption,
    },
    /// The server refused the session outside a transaction (a greeting other than 220, EHLO
    /// and HELO refused, …).
    #[error("server refused {step}: {reply}")]
    Refused {
        /// The step refused.
        step: Step,
        /// The refusal.
        reply: Reply,
    },
    /// TLS is required and the server did not offer STARTTLS or refused it.
    #[error("TLS is required and the server does not provide it{}", match reply { Some(reply) => alloc::format!(" ({reply})"), None => alloc::string::String::new() })]
    TlsUnavailable {
        /// The server's refusal of STARTTLS (or of EHLO, which leaves no way to STARTTLS);
        /// `None` when STARTTLS was simply not offered.
        reply: Option<Reply>,
    },
    /// Credentials are configured but TLS is not up and plaintext AUTH is not allowed.
    #[error("credentials are not sent without TLS")]
    AuthRequiresTls,
    /// The server offers none of the mechanisms the credentials can use.
    #[error("the server offers no usable authentication mechanism")]
    AuthUnavailable,
    /// The server refused the credentials.
    #[error("authentication failed: {reply}")]
    AuthFailed {
        /// The refusal.
        reply: Reply,
    },
    /// The server broke the protocol.
    #[error("protocol violation at {}: {violation}", interruption.step)]
    Protocol {
        /// Where the conversation was cut: a bad reply after the final dot leaves the
        /// message's fate unknown, as a lost connection does.
        interruption: Interruption,
        /// What went wrong.
        violation: ProtocolViolation,
    },
    /// The body has a line longer than RFC 5321 allows; the message was not ended and the
    /// connection must be dropped.
    #[error("message refused before sending its end: {0}")]
    LineTooLong(LineTooLong),
    /// The body written differs in size from the `BDAT n LAST` announced; the message was not
    /// ended and the connection must be dropped.
    #[error("the body is {actual} octets on the wire, {declared} were announced")]
    BodySizeMismatch {
        /// The announced size.
        declared: u64,
        /// The size written (so far, when it already exceeds the announced one).
        actual: u64,
    },
}

impl SessionError {
    /// Whether reconnecting and trying again may succeed (421, EOF, deadline).
    pub fn is_reconnectable(&self) -> bool {
        matches!(
            self,
            SessionError::ServiceClosing { .. }
                | SessionError::ConnectionClosed { .. }
                | SessionError::Timeout { .. }
        )
    }

    /// Where the conversation was cut, for 421, EOF, deadlines and protocol violations.
    pub fn interruption(&self) -> Option<&Interruption> {
        match self {
            SessionError::ServiceClosing { interruption, .. }
            | SessionError::ConnectionClosed { interruption }
            | SessionError::Timeout { interruption }
            | SessionError::Protocol { interruption, .. } => Some(interruption),
            _ => None,
        }
    }
}

/// A call the session cannot take in its current state, or a message the server cannot take.
/// Nothing was sent and the session is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The session is not in a state that takes this call.
    #[error("not allowed at step {0}")]
    NotReady(Step),
    /// The session has failed.
    #[error("the session has failed: {0}")]
    Failed(Box<SessionError>),
    /// The session has ended.
    #[error("the session is closed")]
    Closed,
    /// An envelope without recipients.
    #[error("the envelope has no recipients")]
    NoRecipients,
    /// The message is larger than the server's SIZE limit.
    #[error("the message ({size} octets) is larger than the server's limit ({limit} octets)")]
    MessageTooLarge {
        /// The message's size.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// The body has 8-bit octets and the server lacks 8BITMIME.
    #[error("the message has 8-bit content and the server does not offer 8BITMIME")]
    EightBitUnsupported,
    /// The envelope or header needs SMTPUTF8 and the server lacks it.
    #[error("the message needs SMTPUTF8 and the server does not offer it")]
    SmtpUtf8Unsupported,
    /// DSN parameters were given and the server lacks DSN.
    #[error("DSN parameters were given and the server does not offer DSN")]
    DsnUnsupported,
    /// The body's wire size differs from the size announced for BDAT.
    #[error("the body is {actual} octets on the wire, {declared} were announced")]
    BodySizeMismatch {
        /// The announced size.
        declared: u64,
        /// The size of what was written.
        actual: u64,
    },
    /// A body line is too long (the session has failed; see [`SessionError::LineTooLong`]).
    #[error(transparent)]
    LineTooLong(LineTooLong),
}
