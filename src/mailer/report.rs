//! What a send returns: the delivery, per-recipient outcomes, and what it took.

use crate::address::Address;
use crate::message::MessageId;
use crate::reply::Reply;
use crate::session::RecipientOutcome;

/// A message the server accepted, and the way there.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendReport {
    /// The server's reply after the message, e.g. `250 2.0.0 Ok: queued as 4F2A`.
    pub reply: Reply,
    /// Every recipient with its RCPT reply: those refused during an interrupted attempt
    /// first (they were not tried again), then those of the attempt that succeeded.
    pub recipients: Vec<RecipientOutcome>,
    /// Attempts it took, the successful one included (at least 1).
    pub attempts: u32,
    /// Connections opened during this send to replace one lost to a failure.
    pub reconnects: u32,
    /// An earlier attempt lost its connection after the whole message was sent, before the
    /// server's reply, and the message was sent again: the recipients may get it twice
    /// (with the same Message-ID, which lets their software recognise the copy).
    pub possible_duplicate: bool,
    /// The Message-ID, when the mailer composed the message or was given a [`Message`].
    ///
    /// [`Message`]: crate::message::Message
    pub message_id: Option<MessageId>,
}

impl SendReport {
    /// The recipients the server accepted.
    pub fn accepted(&self) -> impl Iterator<Item = &Address> {
        self.recipients
            .iter()
            .filter(|outcome| outcome.accepted())
            .map(|outcome| &outcome.address)
    }

    /// The recipients the server refused, with their refusals.
    pub fn refused(&self) -> impl Iterator<Item = &RecipientOutcome> {
        self.recipients.iter().filter(|outcome| !outcome.accepted())
    }
}

/// What a failed send had done before it failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Attempts made (0 when the send failed before its first attempt).
    pub attempts: u32,
    /// Connections opened to replace one lost to a failure.
    pub reconnects: u32,
    /// An attempt lost its connection after the whole message was sent, before the
    /// server's reply: the message may have been delivered.
    pub possible_duplicate: bool,
    /// Recipients refused during interrupted attempts, not tried again.
    pub refused: Vec<RecipientOutcome>,
}
