//! [`Message`]: the composed bytes, and what the session needs to know to send them.

use super::builder::MessageBuilder;
use super::message_id::MessageId;
use crate::address::{Address, ReversePath};
use crate::data::bdat_wire_len;
use crate::session::{BodyInfo, Envelope};
use core::fmt;
use std::time::SystemTime;
use std::vec::Vec;

/// A composed message: RFC 5322 bytes with CRLF line endings, ending with CRLF, every line
/// at most 998 octets; plus its envelope.
///
/// The bytes never change: send them again unchanged on every retry, so the Message-ID and
/// Date stay the same and receivers can recognise a duplicate.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub(super) bytes: Vec<u8>,
    pub(super) message_id: MessageId,
    pub(super) date: SystemTime,
    pub(super) sender: Address,
    pub(super) recipients: Vec<Address>,
    pub(super) smtputf8: bool,
}

impl Message {
    /// A builder for a new message.
    pub fn builder() -> MessageBuilder {
        MessageBuilder::new()
    }

    /// The message as it goes after DATA or BDAT (before dot-stuffing).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The message bytes, consuming the message.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The `Message-ID`.
    pub fn message_id(&self) -> &MessageId {
        &self.message_id
    }

    /// The time in the `Date` header (to the nanosecond as given; the header shows whole
    /// seconds).
    pub fn date(&self) -> SystemTime {
        self.date
    }

    /// The `From` address: the envelope's reverse path.
    pub fn sender(&self) -> &Address {
        &self.sender
    }

    /// The envelope recipients: To, then Cc, then Bcc addresses, each once (the first
    /// spelling kept; domains compared without regard to ASCII case). Never empty.
    pub fn recipients(&self) -> &[Address] {
        &self.recipients
    }

    /// The envelope for [`Session::send_message`](crate::session::Session::send_message): MAIL FROM the
    /// sender, RCPT TO each of [`recipients`](Message::recipients), without DSN parameters.
    pub fn envelope(&self) -> Envelope {
        Envelope::new(
            ReversePath::Address(self.sender.clone()),
            self.recipients.clone(),
        )
    }

    /// What the session must know about the bytes: their exact BDAT size, whether they hold
    /// octets above 127 (only when an address or the Message-ID holds UTF-8: subject, names
    /// and body are 7-bit encoded), and whether the message needs SMTPUTF8 (an address of the
    /// envelope or the headers holds UTF-8).
    pub fn body_info(&self) -> BodyInfo {
        BodyInfo {
            // Composed lines are at most 998 octets, so this never fails; `None` would only
            // send the message with DATA instead of a sized BDAT.
            wire_size: bdat_wire_len(&self.bytes).ok(),
            eight_bit: Some(!self.bytes.is_ascii()),
            smtputf8: self.smtputf8,
        }
    }
}

/// Shows the Message-ID, date, addresses and size, not the content.
impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("message_id", &self.message_id)
            .field("date", &self.date)
            .field("sender", &self.sender)
            .field("recipients", &self.recipients)
            .field("len", &self.bytes.len())
            .finish()
    }
}
