//! One mail transaction: what goes in (envelope, body description) and what comes out.

use crate::address::{Address, ReversePath};
use crate::command::{DsnReturn, EnvelopeId, Notify};
use crate::reply::Reply;
use alloc::vec::Vec;

/// Who a message is from and to, with optional delivery status notification requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path (MAIL FROM).
    pub from: ReversePath,
    /// The forward paths (one RCPT TO each), at least one.
    pub recipients: Vec<Address>,
    /// `RET=` for every recipient's DSN (needs DSN).
    pub ret: Option<DsnReturn>,
    /// `ENVID=` (needs DSN).
    pub envid: Option<EnvelopeId>,
    /// `NOTIFY=` on every RCPT (needs DSN).
    pub notify: Option<Notify>,
}

impl Envelope {
    /// An envelope without DSN parameters.
    pub fn new(from: ReversePath, recipients: Vec<Address>) -> Envelope {
        Envelope {
            from,
            recipients,
            ret: None,
            envid: None,
            notify: None,
        }
    }
}

/// What the session must know about the body before it sends MAIL FROM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BodyInfo {
    /// The exact size of the body on the wire without dot-stuffing (line endings as CRLF and
    /// a final CRLF): what [`crate::data::bdat_wire_len`] returns. Known sizes are announced
    /// with SIZE and allow `BDAT n LAST`; unknown ones go with DATA.
    pub wire_size: Option<u64>,
    /// Whether the body holds octets above 127 (`None`: not known).
    pub eight_bit: Option<bool>,
    /// Whether the message needs SMTPUTF8 (UTF-8 in its header fields).
    pub smtputf8: bool,
}

/// How one recipient fared at RCPT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientOutcome {
    /// The recipient.
    pub address: Address,
    /// The server's reply to its RCPT TO.
    pub reply: Reply,
}

impl RecipientOutcome {
    /// Whether the server accepted the recipient (2yz).
    pub fn accepted(&self) -> bool {
        self.reply.code().get() / 100 == 2
    }
}

/// A message the server accepted for at least one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The reply after the final dot (or BDAT LAST), e.g. `250 2.0.0 Ok: queued as 4F2A`.
    pub reply: Reply,
    /// Every recipient with its RCPT reply; refused ones did not get the message.
    pub recipients: Vec<RecipientOutcome>,
}

/// A transaction that ended without the message being accepted. The connection stays usable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionFailure {
    /// MAIL FROM was refused.
    MailRejected {
        /// The refusal.
        reply: Reply,
    },
    /// Every recipient was refused; no body was sent (except inside a pipelined BDAT flight).
    AllRecipientsRejected {
        /// Every recipient with its refusal.
        recipients: Vec<RecipientOutcome>,
    },
    /// DATA (or BDAT) was refused.
    DataRejected {
        /// The refusal.
        reply: Reply,
        /// Every recipient with its RCPT reply.
        recipients: Vec<RecipientOutcome>,
    },
    /// The server refused the message after receiving all of it.
    MessageRejected {
        /// The refusal.
        reply: Reply,
        /// Every recipient with its RCPT reply.
        recipients: Vec<RecipientOutcome>,
    },
}

/// How a transaction ended.
pub type TransactionResult = Result<Delivery, TransactionFailure>;
