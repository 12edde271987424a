//! Watching a mailer: an [`Observer`] sees every attempt, failure, sleep and delivery;
//! [`Counters`] is a ready one that counts them.

use super::error::SendError;
use crate::reply::Reply;
use crate::transport;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What ended an attempt, in the words an operator's dashboard wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The server closed the connection (end of stream).
    Eof,
    /// The connection was reset or the pipe broke.
    Reset,
    /// The server answered `421`: service closing.
    ServiceClosing,
    /// The server refused with another reply code (a refusal of the message, the session or
    /// the credentials).
    SmtpReply,
    /// A deadline passed: a reply deadline, the whole-send deadline, or every connection
    /// attempt timing out.
    Timeout,
    /// TLS failed, or TLS is required and the server does not provide it.
    Tls,
    /// The server broke the protocol.
    Protocol,
    /// No TCP connection could be opened (refused, unreachable, name not resolved).
    Connect,
    /// Anything else: another socket error, invalid input, configuration, reading the body.
    Other,
}

impl FailureKind {
    /// The kind of a transport error.
    pub fn of(error: &transport::Error) -> FailureKind {
        use transport::Error as E;
        if error.is_timeout() {
            return FailureKind::Timeout;
        }
        match error {
            E::ConnectionClosed { .. } => FailureKind::Eof,
            E::ConnectionReset { .. } => FailureKind::Reset,
            E::ServiceClosing { .. } => FailureKind::ServiceClosing,
            E::Rejected { .. } | E::Refused { .. } | E::AuthFailed { .. } => FailureKind::SmtpReply,
            E::TlsUnavailable { .. } => FailureKind::Tls,
            #[cfg(feature = "tls")]
            E::Tls { .. } => FailureKind::Tls,
            E::Protocol { .. } => FailureKind::Protocol,
            E::Connect { .. } | E::Resolve { .. } => FailureKind::Connect,
            _ => FailureKind::Other,
        }
    }

    /// A short stable name: `eof`, `reset`, `smtp-421`, `smtp-reply`, `timeout`, `tls`,
    /// `protocol`, `connect` or `other`.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Eof => "eof",
            FailureKind::Reset => "reset",
            FailureKind::ServiceClosing => "smtp-421",
            FailureKind::SmtpReply => "smtp-reply",
            FailureKind::Timeout => "timeout",
            FailureKind::Tls => "tls",
            FailureKind::Protocol => "protocol",
            FailureKind::Connect => "connect",
            FailureKind::Other => "other",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Something a mailer did, as it happens.
#[derive(Debug)]
#[non_exhaustive]
pub enum MailerEvent<'a> {
    /// An attempt starts (1-based; one counter across a whole send, reconnections included).
    AttemptStarted {
        /// This attempt's number.
        attempt: u32,
        /// The bound on attempts.
        max_attempts: u32,
    },
    /// A connection was opened and is ready (greeting, EHLO, TLS and AUTH done).
    Connected {
        /// Whether it replaces a connection lost to a failure (a reconnection).
        reconnect: bool,
    },
    /// An attempt failed.
    AttemptFailed {
        /// The attempt's number.
        attempt: u32,
        /// What ended it.
        kind: FailureKind,
        /// The error.
        error: &'a transport::Error,
        /// Whether another attempt may follow (the error is reconnectable and neither the
        /// bound nor the deadline is reached yet).
        will_retry: bool,
    },
    /// The mailer waits before reconnecting.
    Sleeping {
        /// How long.
        delay: Duration,
        /// The attempt that follows the wait.
        next_attempt: u32,
    },
    /// The connection was lost after the whole message was sent and before the server's
    /// reply: the message may have been delivered, and is sent again (a possible duplicate).
    PossibleDuplicate {
        /// The attempt whose outcome is unknown.
        attempt: u32,
    },
    /// The server accepted the message.
    Delivered {
        /// Attempts it took.
        attempts: u32,
        /// The server's reply after the message (often with a queue id).
        reply: &'a Reply,
    },
    /// The send (or `connect`) failed for good.
    Failed {
        /// The error returned to the caller.
        error: &'a SendError,
    },
}

/// Receives a mailer's events. Called on the sending thread, so implementations must be
/// quick and must not block; they are shared between threads (`Send + Sync`).
pub trait Observer: Send + Sync {
    /// Called for every event.
    fn on_event(&self, event: &MailerEvent<'_>);
}

/// An [`Observer`] that counts events with atomics; one may be shared by many mailers.
///
/// ```
/// use smtpwire::mailer::{Counters, Mailer};
/// use std::sync::Arc;
///
/// let counters = Arc::new(Counters::new());
/// let mailer = Mailer::builder("mail.example.com", 587)
///     .observer(counters.clone())
///     .build();
/// # drop(mailer);
/// assert_eq!(counters.snapshot().attempts, 0);
/// ```
#[derive(Debug, Default)]
pub struct Counters {
    attempts: AtomicU64,
    connects: AtomicU64,
    reconnects: AtomicU64,
    sleeps: AtomicU64,
    successes: AtomicU64,
    failed_sends: AtomicU64,
    possible_duplicates: AtomicU64,
    failures: [AtomicU64; FAILURE_KINDS],
}

/// The number of [`FailureKind`] variants.
const FAILURE_KINDS: usize = 9;

fn index(kind: FailureKind) -> usize {
    match kind {
        FailureKind::Eof => 0,
        FailureKind::Reset => 1,
        FailureKind::ServiceClosing => 2,
        FailureKind::SmtpReply => 3,
        FailureKind::Timeout => 4,
        FailureKind::Tls => 5,
        FailureKind::Protocol => 6,
        FailureKind::Connect => 7,
        FailureKind::Other => 8,
    }
}

/// The values of [`Counters`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CountersSnapshot {
    /// Attempts started.
    pub attempts: u64,
    /// Connections opened (first connections and reconnections).
    pub connects: u64,
    /// Connections opened to replace one lost to a failure.
    pub reconnects: u64,
    /// Waits before reconnecting.
    pub sleeps: u64,
    /// Messages accepted.
    pub successes: u64,
    /// Sends (and `connect` calls) that failed for good.
    pub failed_sends: u64,
    /// Messages sent again after their outcome was unknown.
    pub possible_duplicates: u64,
    /// Failed attempts: the server closed the connection.
    pub eof: u64,
    /// Failed attempts: reset or broken pipe.
    pub reset: u64,
    /// Failed attempts: `421`.
    pub service_closing: u64,
    /// Failed attempts: another reply code.
    pub smtp_reply: u64,
    /// Failed attempts: a deadline.
    pub timeout: u64,
    /// Failed attempts: TLS.
    pub tls: u64,
    /// Failed attempts: protocol violation.
    pub protocol: u64,
    /// Failed attempts: no TCP connection.
    pub connect: u64,
    /// Failed attempts: anything else.
    pub other: u64,
}

impl CountersSnapshot {
    /// Failed attempts of every kind.
    pub fn failures(&self) -> u64 {
        self.eof
            + self.reset
            + self.service_closing
            + self.smtp_reply
            + self.timeout
            + self.tls
            + self.protocol
            + self.connect
            + self.other
    }
}

impl Counters {
    /// All counters at zero.
    pub fn new() -> Counters {
        Counters::default()
    }

    /// The current values. Each counter is read atomically, the set of them is not: a
    /// snapshot taken while mailers run may be a few events apart between counters.
    pub fn snapshot(&self) -> CountersSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let failure = |kind| get(&self.failures[index(kind)]);
        CountersSnapshot {
            attempts: get(&self.attempts),
            connects: get(&self.connects),
            reconnects: get(&self.reconnects),
            sleeps: get(&self.sleeps),
            successes: get(&self.successes),
            failed_sends: get(&self.failed_sends),
            possible_duplicates: get(&self.possible_duplicates),
            eof: failure(FailureKind::Eof),
            reset: failure(FailureKind::Reset),
            service_closing: failure(FailureKind::ServiceClosing),
            smtp_reply: failure(FailureKind::SmtpReply),
            timeout: failure(FailureKind::Timeout),
            tls: failure(FailureKind::Tls),
            protocol: failure(FailureKind::Protocol),
            connect: failure(FailureKind::Connect),
            other: failure(FailureKind::Other),
        }
    }
}

impl Observer for Counters {
    fn on_event(&self, event: &MailerEvent<'_>) {
        let bump = |counter: &AtomicU64| {
            counter.fetch_add(1, Ordering::Relaxed);
        };
        match event {
            MailerEvent::AttemptStarted { .. } => bump(&self.attempts),
            MailerEvent::Connected { reconnect } => {
                bump(&self.connects);
                if *reconnect {
                    bump(&self.reconnects);
                }
            }
            MailerEvent::AttemptFailed { kind, .. } => bump(&self.failures[index(*kind)]),
            MailerEvent::Sleeping { .. } => bump(&self.sleeps),
            MailerEvent::PossibleDuplicate { .. } => bump(&self.possible_duplicates),
            MailerEvent::Delivered { .. } => bump(&self.successes),
            MailerEvent::Failed { .. } => bump(&self.failed_sends),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Interruption;
    use crate::session::Step;

    #[test]
    fn counters_count_each_event_in_its_place() {
        let counters = Counters::new();
        let eof = transport::Error::ConnectionClosed {
            interruption: Interruption::at(Step::Mail),
        };
        counters.on_event(&MailerEvent::AttemptStarted {
            attempt: 1,
            max_attempts: 5,
        });
        counters.on_event(&MailerEvent::AttemptFailed {
            attempt: 1,
            kind: FailureKind::of(&eof),
            error: &eof,
            will_retry: true,
        });
        counters.on_event(&MailerEvent::Connected { reconnect: true });
        counters.on_event(&MailerEvent::Connected { reconnect: false });
        counters.on_event(&MailerEvent::Sleeping {
            delay: Duration::from_secs(1),
            next_attempt: 2,
        });
        counters.on_event(&MailerEvent::PossibleDuplicate { attempt: 1 });
        let snapshot = counters.snapshot();
        assert_eq!(snapshot.attempts, 1);
        assert_eq!(snapshot.eof, 1);
        assert_eq!(snapshot.failures(), 1);
        assert_eq!(snapshot.connects, 2);
        assert_eq!(snapshot.reconnects, 1);
        assert_eq!(snapshot.sleeps, 1);
        assert_eq!(snapshot.possible_duplicates, 1);
        assert_eq!(snapshot.successes, 0);
    }

    #[test]
    fn every_failure_kind_has_its_own_counter() {
        let kinds = [
            FailureKind::Eof,
            FailureKind::Reset,
            FailureKind::ServiceClosing,
            FailureKind::SmtpReply,
            FailureKind::Timeout,
            FailureKind::Tls,
            FailureKind::Protocol,
            FailureKind::Connect,
            FailureKind::Other,
        ];
        let mut seen: Vec<usize> = kinds.iter().map(|&k| index(k)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), FAILURE_KINDS);
        let names: std::collections::HashSet<_> = kinds.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), FAILURE_KINDS);
    }
}
