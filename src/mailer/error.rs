//! Why a send failed, with how far it got.

use super::report::Progress;
use crate::message::ComposeError;
use crate::session::RecipientOutcome;
use crate::transport;
use std::io;

/// A send (or [`Mailer::connect`](super::Mailer::connect)) that failed for good.
///
/// Every variant that comes from the connection carries the [`transport::Error`] (typed:
/// match on it, or ask [`transport::Error::is_transient`] whether a refusal may pass later)
/// and the [`Progress`] made (attempts, reconnections, recipients refused on the way).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A failure that is not retried: the server refused the message, a recipient, the
    /// session or the credentials (4yz or 5yz), TLS failed or is unavailable, the server
    /// broke the protocol, or the input is invalid.
    #[error("{error}")]
    NotRetried {
        /// The failure.
        #[source]
        error: transport::Error,
        /// What was done before.
        progress: Progress,
    },
    /// Every attempt allowed failed with a reconnectable error (421, end of stream, reset,
    /// deadline, no connection).
    #[error("gave up after {} attempts: {error}", progress.attempts)]
    GaveUp {
        /// The last attempt's failure.
        #[source]
        error: transport::Error,
        /// What was done before.
        progress: Progress,
    },
    /// The whole-send deadline passed: during an attempt, or before a retry could start.
    #[error("the send deadline passed after {} attempt(s): {error}", progress.attempts)]
    DeadlineExceeded {
        /// The last attempt's failure.
        #[source]
        error: transport::Error,
        /// What was done before.
        progress: Progress,
    },
    /// The connection was lost after the whole message was sent and before the server's
    /// reply, and the mailer is set to send at most once: the message may or may not have
    /// been delivered, and was not sent again.
    #[error(
        "the message may have been delivered (connection lost after its end); not sent again: {error}"
    )]
    OutcomeUnknown {
        /// How the connection was lost.
        #[source]
        error: transport::Error,
        /// What was done before.
        progress: Progress,
    },
    /// A reconnectable failure after the body, read from a plain [`Read`](std::io::Read),
    /// was started: it cannot be read again, so the message was not sent again.
    #[error("the body cannot be read again, so the message was not sent again: {error}")]
    BodyNotResendable {
        /// The failure.
        #[source]
        error: transport::Error,
        /// What was done before.
        progress: Progress,
    },
    /// Rewinding the caller's body for an attempt failed.
    #[error("cannot rewind the message body")]
    Body {
        /// The seek error.
        #[source]
        source: io::Error,
        /// What was done before.
        progress: Progress,
    },
    /// The message could not be composed (no sender configured, a control character in
    /// the subject, …). Nothing was sent.
    #[error("cannot compose the message")]
    Compose(#[source] ComposeError),
}

impl SendError {
    /// A short stable word for the failure, for logs and command-line output: the
    /// transport's [`kind`](transport::Error::kind) (`service-closing`,
    /// `connection-closed`, `connection-reset`, `timeout`, `rejected`, `tls`, `protocol`,
    /// `invalid-input`, …), or `timeout` for a passed send deadline, `outcome-unknown`,
    /// `body-read`, and `invalid-input` for a message that cannot be composed.
    pub fn kind(&self) -> &'static str {
        match self {
            SendError::NotRetried { error, .. }
            | SendError::GaveUp { error, .. }
            | SendError::BodyNotResendable { error, .. } => error.kind(),
            SendError::DeadlineExceeded { .. } => "timeout",
            SendError::OutcomeUnknown { .. } => "outcome-unknown",
            SendError::Body { .. } => "body-read",
            SendError::Compose(_) => "invalid-input",
        }
    }

    /// The connection's error behind this one, if any.
    pub fn transport_error(&self) -> Option<&transport::Error> {
        match self {
            SendError::NotRetried { error, .. }
            | SendError::GaveUp { error, .. }
            | SendError::DeadlineExceeded { error, .. }
            | SendError::OutcomeUnknown { error, .. }
            | SendError::BodyNotResendable { error, .. } => Some(error),
            SendError::Body { .. } | SendError::Compose(_) => None,
        }
    }

    /// What the send did before it failed (`None` when nothing was tried).
    pub fn progress(&self) -> Option<&Progress> {
        match self {
            SendError::NotRetried { progress, .. }
            | SendError::GaveUp { progress, .. }
            | SendError::DeadlineExceeded { progress, .. }
            | SendError::OutcomeUnknown { progress, .. }
            | SendError::BodyNotResendable { progress, .. }
            | SendError::Body { progress, .. } => Some(progress),
            SendError::Compose(_) => None,
        }
    }

    /// Attempts made before failing.
    pub fn attempts(&self) -> u32 {
        self.progress().map_or(0, |progress| progress.attempts)
    }

    /// Whether the server refused for now (a 4yz reply): the caller may try again later.
    pub fn is_transient(&self) -> bool {
        self.transport_error()
            .is_some_and(transport::Error::is_transient)
    }

    /// Whether the server refused for good (a 5yz reply).
    pub fn is_permanent(&self) -> bool {
        self.transport_error()
            .is_some_and(transport::Error::is_permanent)
    }

    /// Whether the message may have been delivered despite the error: an attempt lost its
    /// connection (or the server broke the protocol) after the whole message was sent.
    pub fn may_have_been_delivered(&self) -> bool {
        let cut_after_the_end = self
            .transport_error()
            .and_then(transport::Error::interruption)
            .is_some_and(|i| i.fate.may_have_been_accepted());
        cut_after_the_end || self.progress().is_some_and(|p| p.possible_duplicate)
    }

    /// Recipients refused on the way: during interrupted attempts, and by the final
    /// refusal of the transaction when there was one.
    pub fn refused_recipients(&self) -> Vec<RecipientOutcome> {
        let mut refused = self
            .progress()
            .map(|progress| progress.refused.clone())
            .unwrap_or_default();
        if let Some(transport::Error::Rejected { failure }) = self.transport_error() {
            refused.extend(
                failure_recipients(failure)
                    .iter()
                    .filter(|outcome| !outcome.accepted())
                    .cloned(),
            );
        }
        refused
    }
}

/// The recipient outcomes a transaction failure carries.
fn failure_recipients(failure: &crate::session::TransactionFailure) -> &[RecipientOutcome] {
    use crate::session::TransactionFailure as F;
    match failure {
        F::AllRecipientsRejected { recipients }
        | F::DataRejected { recipients, .. }
        | F::MessageRejected { recipients, .. } => recipients,
        _ => &[],
    }
}
