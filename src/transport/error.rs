//! Everything that can go wrong on a connection, as one typed enum.
//!
//! Each variant says whose fault it is and what to do next: [`Error::is_reconnectable`] for
//! failures a new connection may cure, [`Error::is_permanent`] / [`Error::is_transient`] for
//! refusals, and [`Error::interruption`] for where the conversation was cut and whether the
//! message in flight may already have been accepted.

use crate::address::AddressError;
use crate::data::LineTooLong;
use crate::reply::Reply;
use crate::session::{
    Interruption, MessageFate, ProtocolViolation, SessionError, Step, TlsPolicy,
    TransactionFailure, UsageError,
};
use std::fmt;
use std::io;
use std::net::SocketAddr;
#[cfg(feature = "tls")]
use std::path::PathBuf;

/// A failed connection, conversation or transaction.
///
/// After any variant but [`Error::Rejected`], [`Error::Usage`], [`Error::Address`],
/// [`Error::LineTooLong`] raised before the body was started and [`Error::Config`], the
/// connection is closed and every later call fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host name did not resolve (or not in time).
    #[error("cannot resolve {host:?}")]
    Resolve {
        /// The name looked up.
        host: String,
        /// Why (the resolver's error, or `TimedOut`).
        #[source]
        source: io::Error,
    },
    /// No address of the host accepted a TCP connection.
    #[error("cannot connect to {host:?} port {port}")]
    Connect {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// Every address tried, with its failure.
        #[source]
        source: ConnectError,
    },
    /// The server said 421: it is closing the connection.
    #[error("server closing the connection at {}: {reply}", interruption.step)]
    ServiceClosing {
        /// The 421 reply.
        reply: Reply,
        /// Where the conversation was cut.
        interruption: Interruption,
    },
    /// The server closed the connection (end of stream).
    #[error("connection closed by the server at {}", interruption.step)]
    ConnectionClosed {
        /// Where the conversation was cut.
        interruption: Interruption,
    },
    /// The connection was reset or the pipe broke (`ECONNRESET`, `EPIPE`, `ECONNABORTED`).
    #[error("connection reset at {}", interruption.step)]
    ConnectionReset {
        /// Where the conversation was cut.
        interruption: Interruption,
        /// The socket error.
        #[source]
        source: io::Error,
    },
    /// A deadline passed: the session's reply deadline or the caller's overall deadline.
    #[error("deadline passed at {}", interruption.step)]
    Timeout {
        /// Where the conversation was cut.
        interruption: Interruption,
    },
    /// Another socket error.
    #[error("socket error at {}", interruption.step)]
    Io {
        /// Where the conversation was cut.
        interruption: Interruption,
        /// The socket error.
        #[source]
        source: io::Error,
    },
    /// The server refused the message (MAIL, every RCPT, DATA, or the message itself). The
    /// connection stays usable.
    #[error("message refused: {}", failure_reply(.failure))]
    Rejected {
        /// What was refused, with the reply and every recipient's outcome.
        failure: TransactionFailure,
    },
    /// The server refused the session outside a transaction (greeting, EHLO and HELO, or a
    /// NOOP or RSET answered negatively).
    #[error("server refused {step}: {reply}")]
    Refused {
        /// The step refused.
        step: Step,
        /// The refusal.
        reply: Reply,
    },
    /// TLS is required, and the server does not offer STARTTLS or refused it.
    #[error("TLS is required but the server {}", if reply.is_some() { "refused STARTTLS" } else { "does not offer STARTTLS" })]
    TlsUnavailable {
        /// The refusal, when STARTTLS was refused.
        reply: Option<Reply>,
    },
    /// The TLS handshake or a TLS record failed: bad certificate, wrong name, alert, …
    #[cfg(feature = "tls")]
    #[error("TLS failure at {}", interruption.step)]
    Tls {
        /// Where the conversation was cut.
        interruption: Interruption,
        /// What rustls reported.
        #[source]
        source: rustls::Error,
    },
    /// Credentials are configured, TLS is not up, and plaintext AUTH is not allowed.
    #[error("credentials are not sent without TLS")]
    AuthRequiresTls,
    /// The server offers no mechanism the credentials can use.
    #[error("the server offers no usable authentication mechanism")]
    AuthUnavailable,
    /// The server refused the credentials.
    #[error("authentication failed: {reply}")]
    AuthFailed {
        /// The refusal.
        reply: Reply,
    },
    /// The server broke the protocol.
    #[error("protocol violation at {}", interruption.step)]
    Protocol {
        /// Where the conversation was cut.
        interruption: Interruption,
        /// What the server did wrong.
        #[source]
        violation: ProtocolViolation,
    },
    /// The body has a line longer than RFC 5321 allows. Found before sending anything
    /// ([`Connection::send_bytes`](super::Connection::send_bytes)), the connection stays
    /// usable; found while streaming, it is closed without ending the message.
    #[error("the message has a line that is too long")]
    LineTooLong(#[source] LineTooLong),
    /// Reading the caller's body failed; the connection is closed without ending the message.
    #[error("cannot read the message body at {}", interruption.step)]
    BodyRead {
        /// Where the conversation was cut.
        interruption: Interruption,
        /// The reader's error.
        #[source]
        source: io::Error,
    },
    /// A call the session cannot take now, or a message the server cannot take.
    #[error("invalid call")]
    Usage(#[source] UsageError),
    /// An invalid address.
    #[error("invalid address")]
    Address(#[source] AddressError),
    /// The connection options cannot be used.
    #[error("invalid connection options")]
    Config(#[source] ConfigError),
}

fn failure_reply(failure: &TransactionFailure) -> FailureReply<'_> {
    FailureReply(failure)
}

/// Shows the reply a transaction failure carries.
struct FailureReply<'a>(&'a TransactionFailure);

impl fmt::Display for FailureReply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            TransactionFailure::MailRejected { reply } => write!(f, "MAIL refused: {reply}"),
            TransactionFailure::AllRecipientsRejected { recipients } => {
                write!(f, "all {} recipients refused", recipients.len())
            }
            TransactionFailure::DataRejected { reply, .. } => write!(f, "DATA refused: {reply}"),
            TransactionFailure::MessageRejected { reply, .. } => write!(f, "{reply}"),
        }
    }
}

/// The interruption a variant carries, by reference or by mutable reference.
macro_rules! with_interruption {
    ($error:expr) => {
        match $error {
            Error::ServiceClosing { interruption, .. }
            | Error::ConnectionClosed { interruption }
            | Error::ConnectionReset { interruption, .. }
            | Error::Timeout { interruption }
            | Error::Io { interruption, .. }
            | Error::Protocol { interruption, .. }
            | Error::BodyRead { interruption, .. } => Some(interruption),
            #[cfg(feature = "tls")]
            Error::Tls { interruption, .. } => Some(interruption),
            _ => None,
        }
    };
}

/// The first digit of a reply code.
fn class(reply: &Reply) -> u16 {
    reply.code().get() / 100
}

impl Error {
    /// A stable short word for the kind of failure, for logs and command-line output:
    /// `resolve`, `connect`, `service-closing`, `connection-closed`, `connection-reset`,
    /// `timeout`, `io`, `rejected`, `refused`, `tls-unavailable`, `tls`, `auth`, `protocol`,
    /// `invalid-input`, `body-read` or `config`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Resolve { .. } => "resolve",
            Error::Connect { .. } => "connect",
            Error::ServiceClosing { .. } => "service-closing",
            Error::ConnectionClosed { .. } => "connection-closed",
            Error::ConnectionReset { .. } => "connection-reset",
            Error::Timeout { .. } => "timeout",
            Error::Io { .. } => "io",
            Error::Rejected { .. } => "rejected",
            Error::Refused { .. } => "refused",
            Error::TlsUnavailable { .. } => "tls-unavailable",
            #[cfg(feature = "tls")]
            Error::Tls { .. } => "tls",
            Error::AuthRequiresTls | Error::AuthUnavailable | Error::AuthFailed { .. } => "auth",
            Error::Protocol { .. } => "protocol",
            Error::LineTooLong(_) | Error::Usage(_) | Error::Address(_) => "invalid-input",
            Error::BodyRead { .. } => "body-read",
            Error::Config(_) => "config",
        }
    }

    /// Whether a new connection may succeed where this one failed: true for 421, end of
    /// stream, reset or broken pipe, and deadlines; false for everything else.
    pub fn is_reconnectable(&self) -> bool {
        matches!(
            self,
            Error::ServiceClosing { .. }
                | Error::ConnectionClosed { .. }
                | Error::ConnectionReset { .. }
                | Error::Timeout { .. }
        )
    }

    /// Whether a deadline passed: a reply deadline, the caller's overall deadline, or every
    /// connection attempt timing out.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Resolve { source, .. } => source.kind() == io::ErrorKind::TimedOut,
            Error::Connect { source, .. } => source.timed_out(),
            _ => false,
        }
    }

    /// Whether the server refused for good (a 5yz reply): sending the same again will fail
    /// again. For [`TransactionFailure::AllRecipientsRejected`], when every refusal is 5yz.
    pub fn is_permanent(&self) -> bool {
        self.refusal_classes()
            .is_some_and(|(any_4, all_5)| all_5 && !any_4)
    }

    /// Whether the server refused for now (a 4yz reply): trying again later may succeed. For
    /// [`TransactionFailure::AllRecipientsRejected`], when any refusal is 4yz.
    pub fn is_transient(&self) -> bool {
        self.refusal_classes().is_some_and(|(any_4, _)| any_4)
    }

    /// For refusals: (some reply is 4yz, every reply is 5yz).
    fn refusal_classes(&self) -> Option<(bool, bool)> {
        let single = |reply: &Reply| Some((class(reply) == 4, class(reply) == 5));
        match self {
            Error::Refused { reply, .. } | Error::AuthFailed { reply } => single(reply),
            Error::Rejected { failure } => match failure {
                TransactionFailure::MailRejected { reply }
                | TransactionFailure::DataRejected { reply, .. }
                | TransactionFailure::MessageRejected { reply, .. } => single(reply),
                TransactionFailure::AllRecipientsRejected { recipients } => Some((
                    recipients.iter().any(|r| class(&r.reply) == 4),
                    recipients.iter().all(|r| class(&r.reply) == 5),
                )),
            },
            _ => None,
        }
    }

    /// Where the conversation was cut, for the variants that end a connection mid-way.
    pub fn interruption(&self) -> Option<&Interruption> {
        with_interruption!(self)
    }

    /// Marks that the end of the message never left this machine: a failure while writing
    /// it means the server cannot have accepted the message, whatever the session assumed
    /// when it handed the end over.
    pub(crate) fn end_not_sent(mut self) -> Error {
        if let Some(interruption) = with_interruption!(&mut self) {
            if interruption.fate == MessageFate::Unknown {
                interruption.fate = MessageFate::NotDelivered;
            }
        }
        self
    }

    /// The step of the conversation the error happened at, when known.
    pub fn step(&self) -> Option<Step> {
        match self {
            Error::Refused { step, .. } => Some(*step),
            _ => self.interruption().map(|i| i.step),
        }
    }

    /// Builds the error for a terminal session error.
    pub(crate) fn from_session(error: SessionError) -> Error {
        match error {
            SessionError::ServiceClosing {
                reply,
                interruption,
            } => Error::ServiceClosing {
                reply,
                interruption,
            },
            SessionError::ConnectionClosed { interruption } => {
                Error::ConnectionClosed { interruption }
            }
            SessionError::Timeout { interruption } => Error::Timeout { interruption },
            SessionError::Refused { step, reply } => Error::Refused { step, reply },
            SessionError::TlsUnavailable { reply } => Error::TlsUnavailable { reply },
            SessionError::AuthRequiresTls => Error::AuthRequiresTls,
            SessionError::AuthUnavailable => Error::AuthUnavailable,
            SessionError::AuthFailed { reply } => Error::AuthFailed { reply },
            SessionError::Protocol {
                interruption,
                violation,
            } => Error::Protocol {
                interruption,
                violation,
            },
            SessionError::LineTooLong(error) => Error::LineTooLong(error),
            SessionError::BodySizeMismatch { declared, actual } => {
                Error::Usage(UsageError::BodySizeMismatch { declared, actual })
            }
        }
    }
}

impl From<UsageError> for Error {
    fn from(error: UsageError) -> Error {
        match error {
            UsageError::LineTooLong(error) => Error::LineTooLong(error),
            other => Error::Usage(other),
        }
    }
}

impl From<AddressError> for Error {
    fn from(error: AddressError) -> Error {
        Error::Address(error)
    }
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Error {
        Error::Config(error)
    }
}

impl From<LineTooLong> for Error {
    fn from(error: LineTooLong) -> Error {
        Error::LineTooLong(error)
    }
}

/// Connection options that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TLS policy needs TLS, and the crate was built without the `tls` feature.
    #[error("TLS policy {policy:?} needs the `tls` feature")]
    TlsNotCompiled {
        /// The policy asked for.
        policy: TlsPolicy,
    },
    /// The name to verify the server's certificate against is neither a DNS name nor an IP
    /// address.
    #[error("{name:?} is not a valid TLS server name")]
    InvalidServerName {
        /// The name given.
        name: String,
    },
    /// A certificate or key file cannot be read.
    #[cfg(feature = "tls")]
    #[error("cannot read {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// PEM text is malformed.
    #[cfg(feature = "tls")]
    #[error("malformed PEM")]
    Pem(#[source] rustls::pki_types::pem::Error),
    /// PEM text holds no certificate, or no private key, where one was expected.
    #[cfg(feature = "tls")]
    #[error("no {0} found in the PEM text")]
    PemItemMissing(PemItem),
    /// rustls refused a certificate or key (a root that does not parse, a client key that
    /// does not match its kind, …).
    #[cfg(feature = "tls")]
    #[error("unusable certificate or key")]
    Certificate(#[source] rustls::Error),
    /// No trust anchor is left to verify servers with.
    #[cfg(feature = "tls")]
    #[error("the set of root certificates is empty")]
    NoRootCertificates,
}

/// What a PEM text was expected to hold.
#[cfg(feature = "tls")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PemItem {
    /// A certificate.
    Certificate,
    /// A private key.
    PrivateKey,
}

#[cfg(feature = "tls")]
impl fmt::Display for PemItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PemItem::Certificate => "certificate",
            PemItem::PrivateKey => "private key",
        })
    }
}

/// One address that refused or did not answer a TCP connection.
#[derive(Debug)]
pub struct ConnectAttempt {
    /// The address tried.
    pub address: SocketAddr,
    /// Why it failed (`TimedOut` when the connect timeout or the deadline passed).
    pub error: io::Error,
}

/// Every address of a host failed to connect. Its source is the last attempt's error.
#[derive(Debug)]
pub struct ConnectError {
    /// The attempts in the order they were made; never empty.
    pub attempts: Vec<ConnectAttempt>,
}

impl ConnectError {
    /// Whether the last attempt ran out of time.
    pub fn timed_out(&self) -> bool {
        self.attempts
            .last()
            .is_some_and(|a| a.error.kind() == io::ErrorKind::TimedOut)
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} address(es) tried", self.attempts.len())?;
        if let Some(last) = self.attempts.last() {
            write!(f, ", last {}", last.address)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.attempts
            .last()
            .map(|a| &a.error as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(step: Step, fate: MessageFate) -> Interruption {
        Interruption {
            fate,
            ..Interruption::at(step)
        }
    }

    fn reset() -> io::Error {
        io::ErrorKind::ConnectionReset.into()
    }

    #[test]
    fn only_eof_reset_and_deadlines_are_reconnectable_here() {
        let at = || cut(Step::Mail, MessageFate::NotDelivered);
        let reconnectable = [
            Error::ConnectionClosed { interruption: at() },
            Error::ConnectionReset {
                interruption: at(),
                source: reset(),
            },
            Error::Timeout { interruption: at() },
        ];
        for error in &reconnectable {
            assert!(error.is_reconnectable(), "{error:?}");
            assert_eq!(error.step(), Some(Step::Mail));
        }
        let final_ones = [
            Error::Io {
                interruption: at(),
                source: io::ErrorKind::Other.into(),
            },
            Error::BodyRead {
                interruption: at(),
                source: io::ErrorKind::Other.into(),
            },
            Error::AuthRequiresTls,
            Error::AuthUnavailable,
            Error::TlsUnavailable { reply: None },
            Error::Usage(UsageError::NoRecipients),
            Error::Config(ConfigError::TlsNotCompiled {
                policy: TlsPolicy::Required,
            }),
            Error::LineTooLong(LineTooLong {
                line: 3,
                limit: 998,
            }),
        ];
        for error in &final_ones {
            assert!(!error.is_reconnectable(), "{error:?}");
            assert!(!error.is_permanent() && !error.is_transient(), "{error:?}");
        }
    }

    #[test]
    fn kinds_are_stable_words() {
        let at = || Interruption::at(Step::Ehlo);
        let cases: Vec<(Error, &str)> = vec![
            (
                Error::ConnectionClosed { interruption: at() },
                "connection-closed",
            ),
            (
                Error::ConnectionReset {
                    interruption: at(),
                    source: reset(),
                },
                "connection-reset",
            ),
            (Error::Timeout { interruption: at() }, "timeout"),
            (
                Error::Io {
                    interruption: at(),
                    source: reset(),
                },
                "io",
            ),
            (Error::TlsUnavailable { reply: None }, "tls-unavailable"),
            (Error::AuthRequiresTls, "auth"),
            (Error::AuthUnavailable, "auth"),
            (Error::Usage(UsageError::NoRecipients), "invalid-input"),
            (Error::Address(AddressError::MissingAt), "invalid-input"),
            (
                Error::LineTooLong(LineTooLong {
                    line: 1,
                    limit: 998,
                }),
                "invalid-input",
            ),
            (
                Error::BodyRead {
                    interruption: at(),
                    source: reset(),
                },
                "body-read",
            ),
            (
                Error::Config(ConfigError::InvalidServerName { name: "x y".into() }),
                "config",
            ),
            (
                Error::Resolve {
                    host: "h".into(),
                    source: io::ErrorKind::NotFound.into(),
                },
                "resolve",
            ),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind(), kind, "{error:?}");
        }
    }

    #[test]
    fn timeouts_are_recognised_across_variants() {
        assert!(
            Error::Timeout {
                interruption: Interruption::at(Step::Data)
            }
            .is_timeout()
        );
        let timed_out = Error::Resolve {
            host: "h".into(),
            source: io::ErrorKind::TimedOut.into(),
        };
        assert!(timed_out.is_timeout());
        let attempt = |error: io::ErrorKind| ConnectAttempt {
            address: SocketAddr::from(([127, 0, 0, 1], 25)),
            error: error.into(),
        };
        let connect = |attempts| Error::Connect {
            host: "h".into(),
            port: 25,
            source: ConnectError { attempts },
        };
        let slow = connect(vec![
            attempt(io::ErrorKind::ConnectionRefused),
            attempt(io::ErrorKind::TimedOut),
        ]);
        assert!(slow.is_timeout() && !slow.is_reconnectable());
        assert!(!connect(vec![attempt(io::ErrorKind::ConnectionRefused)]).is_timeout());
        assert!(
            !Error::ConnectionClosed {
                interruption: Interruption::at(Step::Data)
            }
            .is_timeout()
        );
    }

    #[test]
    fn an_end_that_was_never_written_cannot_have_been_accepted() {
        let unknown = Error::ConnectionReset {
            interruption: cut(Step::FinalReply, MessageFate::Unknown),
            source: reset(),
        };
        let fixed = unknown.end_not_sent();
        assert_eq!(
            fixed.interruption().unwrap().fate,
            MessageFate::NotDelivered
        );
        let idle = Error::Timeout {
            interruption: cut(Step::Noop, MessageFate::NoMessage),
        };
        assert_eq!(
            idle.end_not_sent().interruption().unwrap().fate,
            MessageFate::NoMessage
        );
    }

    #[test]
    fn session_errors_keep_their_interruption() {
        let theirs = cut(Step::FinalReply, MessageFate::Unknown);
        let error = Error::from_session(SessionError::ConnectionClosed {
            interruption: theirs.clone(),
        });
        assert_eq!(error.interruption(), Some(&theirs));
        let error = Error::from_session(SessionError::Timeout {
            interruption: theirs.clone(),
        });
        assert!(error.is_timeout());
        assert_eq!(error.interruption(), Some(&theirs));
        let error = Error::from_session(SessionError::Protocol {
            interruption: theirs.clone(),
            violation: ProtocolViolation::StartTlsInjection,
        });
        assert_eq!(error.interruption(), Some(&theirs));
        assert!(matches!(
            Error::from_session(SessionError::AuthRequiresTls),
            Error::AuthRequiresTls
        ));
    }

    #[test]
    fn a_line_too_long_usage_error_becomes_its_own_variant() {
        let too_long = LineTooLong {
            line: 7,
            limit: 998,
        };
        assert!(
            matches!(Error::from(UsageError::LineTooLong(too_long)), Error::LineTooLong(e) if e == too_long)
        );
        assert!(matches!(
            Error::from(UsageError::NoRecipients),
            Error::Usage(UsageError::NoRecipients)
        ));
    }

    #[test]
    fn the_cause_chain_is_typed() {
        use std::error::Error as _;
        let error = Error::ConnectionReset {
            interruption: Interruption::at(Step::Rcpt),
            source: reset(),
        };
        let source = error.source().unwrap().downcast_ref::<io::Error>().unwrap();
        assert_eq!(source.kind(), io::ErrorKind::ConnectionReset);
        let connect = Error::Connect {
            host: "h".into(),
            port: 25,
            source: ConnectError {
                attempts: vec![ConnectAttempt {
                    address: SocketAddr::from(([127, 0, 0, 1], 25)),
                    error: io::ErrorKind::ConnectionRefused.into(),
                }],
            },
        };
        let chain = connect.source().unwrap();
        assert!(chain.downcast_ref::<ConnectError>().is_some());
        assert_eq!(
            chain
                .source()
                .unwrap()
                .downcast_ref::<io::Error>()
                .unwrap()
                .kind(),
            io::ErrorKind::ConnectionRefused
        );
    }
}
