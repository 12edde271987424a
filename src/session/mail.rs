//! The mail transaction in progress: its envelope, the replies so far and the body encoder.

use super::{BodyInfo, Delivery, Envelope, Interruption, MessageFate, RecipientOutcome, Step};
use super::{TransactionFailure, TransactionResult, UsageError};
use crate::address::ReversePath;
use crate::capabilities::Capabilities;
use crate::command::{BodyType, MailParameters, RcptParameters};
use crate::data::{DataEncoder, Framing};
use crate::reply::Reply;
use crate::time::Timestamp;
use alloc::vec::Vec;

/// Where the body stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BodyState {
    /// Not asked for yet (waiting for the 354, or for RCPT replies before BDAT).
    NotYet,
    /// [`super::Event::SendBody`] was emitted; the driver writes the body.
    Wanted,
    /// The end of the message (final dot or the last BDAT octet) was handed to the driver.
    Ended,
    /// No body will be sent in this transaction.
    Skipped,
}

/// A transaction between MAIL FROM and its final reply.
#[derive(Debug)]
pub(super) struct MailTransaction {
    pub(super) envelope: Envelope,
    /// Whether MAIL, every RCPT and DATA/BDAT went in one flight.
    pub(super) pipelined: bool,
    /// The parameters of every RCPT TO.
    pub(super) rcpt_params: RcptParameters,
    /// `Some(n)` when the body goes as `BDAT n LAST`.
    pub(super) bdat_size: Option<u64>,
    pub(super) mail_reply: Option<Reply>,
    /// The RCPT reply of each recipient, by envelope index.
    pub(super) rcpt_replies: Vec<Option<Reply>>,
    pub(super) body: BodyState,
    pub(super) encoder: DataEncoder,
    /// When the driver must have written the next body block.
    pub(super) body_deadline: Timestamp,
    /// The reply to `BDAT LAST` when it came before [`super::Session::finish_body`]: a
    /// refusal at any point, or an acceptance once every octet was handed over.
    pub(super) early_final: Option<Reply>,
}

impl MailTransaction {
    pub(super) fn new(envelope: Envelope, plan: &Plan) -> Self {
        let framing = if plan.bdat_size.is_some() {
            Framing::Bdat
        } else {
            Framing::Data
        };
        let recipients = envelope.recipients.len();
        MailTransaction {
            envelope,
            pipelined: plan.pipelined,
            rcpt_params: plan.rcpt.clone(),
            bdat_size: plan.bdat_size,
            mail_reply: None,
            rcpt_replies: (0..recipients).map(|_| None).collect(),
            body: BodyState::NotYet,
            encoder: DataEncoder::new(framing),
            body_deadline: Timestamp::ZERO,
            early_final: None,
        }
    }

    /// Whether MAIL FROM was answered with a refusal.
    pub(super) fn mail_refused(&self) -> bool {
        self.mail_reply.as_ref().is_some_and(|r| !is_positive(r))
    }

    /// Whether at least one recipient was accepted.
    pub(super) fn any_recipient_accepted(&self) -> bool {
        self.rcpt_replies.iter().flatten().any(is_positive)
    }

    /// Whether the server can still deliver this message: MAIL was not refused and not every
    /// recipient was refused.
    pub(super) fn deliverable(&self) -> bool {
        let all_refused = self
            .rcpt_replies
            .iter()
            .all(|r| r.as_ref().is_some_and(|r| !is_positive(r)));
        !self.mail_refused() && !all_refused
    }

    /// Every recipient that has an RCPT reply, with it.
    pub(super) fn outcomes(&self) -> Vec<RecipientOutcome> {
        self.envelope
            .recipients
            .iter()
            .zip(&self.rcpt_replies)
            .filter_map(|(address, reply)| {
                reply.as_ref().map(|reply| RecipientOutcome {
                    address: address.clone(),
                    reply: reply.clone(),
                })
            })
            .collect()
    }

    /// The failure this transaction ends with when its DATA, BDAT or final reply is `reply`
    /// (negative, or positive but with nothing deliverable).
    pub(super) fn failure(&self, reply: Reply, after_body: bool) -> TransactionFailure {
        if let Some(mail) = self.mail_reply.as_ref().filter(|r| !is_positive(r)) {
            return TransactionFailure::MailRejected {
                reply: mail.clone(),
            };
        }
        if !self.any_recipient_accepted() {
            return TransactionFailure::AllRecipientsRejected {
                recipients: self.outcomes(),
            };
        }
        if after_body {
            TransactionFailure::MessageRejected {
                reply,
                recipients: self.outcomes(),
            }
        } else {
            TransactionFailure::DataRejected {
                reply,
                recipients: self.outcomes(),
            }
        }
    }

    /// How the transaction ends with `reply` as its final reply.
    pub(super) fn conclude(&self, reply: Reply) -> TransactionResult {
        if is_positive(&reply) && self.deliverable() && self.any_recipient_accepted() {
            Ok(Delivery {
                reply,
                recipients: self.outcomes(),
            })
        } else {
            Err(self.failure(reply, true))
        }
    }

    /// Whether the server is in the middle of a transaction after this one fails, so that
    /// RSET is needed before the next one.
    pub(super) fn needs_reset(&self) -> bool {
        self.mail_reply.as_ref().is_some_and(is_positive)
    }

    /// Whether the whole message has been handed to the driver: the final dot was written, or
    /// every octet announced by `BDAT n LAST` (the server may answer once it has them, even
    /// before [`super::Session::finish_body`]).
    pub(super) fn body_complete(&self) -> bool {
        match self.body {
            BodyState::Ended => true,
            BodyState::Wanted => self.bdat_size == Some(self.encoder.wire_len()),
            BodyState::NotYet | BodyState::Skipped => false,
        }
    }

    /// Whether the driver is still writing the body.
    pub(super) fn body_in_progress(&self) -> bool {
        self.body == BodyState::Wanted && !self.body_complete()
    }

    /// Where the conversation stands if it is cut now at `step`.
    pub(super) fn interruption(&self, step: Step) -> Interruption {
        let fate = if self.body_complete() && self.deliverable() {
            MessageFate::Unknown
        } else {
            MessageFate::NotDelivered
        };
        let mut unresolved = Vec::new();
        let mut refused = Vec::new();
        for (address, reply) in self.envelope.recipients.iter().zip(&self.rcpt_replies) {
            match reply {
                Some(reply) if !is_positive(reply) => refused.push(RecipientOutcome {
                    address: address.clone(),
                    reply: reply.clone(),
                }),
                _ => unresolved.push(address.clone()),
            }
        }
        if self.mail_refused() {
            // The server refused the whole transaction: nothing was resolved for anyone.
            unresolved = self.envelope.recipients.clone();
            refused.clear();
        }
        Interruption {
            step,
            fate,
            unresolved,
            refused,
        }
    }
}

/// Whether a reply is a positive completion (2yz).
pub(super) fn is_positive(reply: &Reply) -> bool {
    reply.code().get() / 100 == 2
}

/// How a transaction will be carried out, chosen from the message and the server's extensions
/// before anything is sent.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) mail: MailParameters,
    pub(super) rcpt: RcptParameters,
    /// `Some(n)`: the body goes as `BDAT n LAST`; `None`: with DATA.
    pub(super) bdat_size: Option<u64>,
    /// MAIL, every RCPT and DATA (or BDAT with the body) in one flight.
    pub(super) pipelined: bool,
}

impl Plan {
    /// Chooses the parameters for `envelope` and `body` on a server with `capabilities`, or
    /// says why the server cannot take the message.
    pub(super) fn new(
        envelope: &Envelope,
        body: &BodyInfo,
        capabilities: &Capabilities,
    ) -> Result<Plan, UsageError> {
        if envelope.recipients.is_empty() {
            return Err(UsageError::NoRecipients);
        }
        if let (Some(limit), Some(size)) = (capabilities.size_limit(), body.wire_size) {
            if size > limit {
                return Err(UsageError::MessageTooLarge { size, limit });
            }
        }
        let sender_needs_utf8 = match &envelope.from {
            ReversePath::Null => false,
            ReversePath::Address(address) => address.requires_smtputf8(),
        };
        let smtputf8 = body.smtputf8
            || sender_needs_utf8
            || envelope.recipients.iter().any(|r| r.requires_smtputf8());
        if smtputf8 && !capabilities.smtputf8() {
            return Err(UsageError::SmtpUtf8Unsupported);
        }
        let eight_bit_offered = capabilities.eight_bit_mime();
        let body_type = match body.eight_bit {
            Some(true) if !eight_bit_offered => return Err(UsageError::EightBitUnsupported),
            Some(true) => Some(BodyType::EightBitMime),
            // Declaring 8BITMIME costs nothing and covers content we could not inspect.
            None if eight_bit_offered => Some(BodyType::EightBitMime),
            // UTF-8 header fields are 8-bit content too.
            Some(false) if smtputf8 && eight_bit_offered => Some(BodyType::EightBitMime),
            Some(false) | None => None,
        };
        let wants_dsn =
            envelope.ret.is_some() || envelope.envid.is_some() || envelope.notify.is_some();
        if wants_dsn && !capabilities.dsn() {
            return Err(UsageError::DsnUnsupported);
        }
        Ok(Plan {
            mail: MailParameters {
                size: body.wire_size.filter(|_| capabilities.size_advertised()),
                body: body_type,
                smtputf8,
                ret: envelope.ret,
                envid: envelope.envid.clone(),
            },
            rcpt: RcptParameters {
                notify: envelope.notify,
                orcpt: None,
            },
            bdat_size: body.wire_size.filter(|_| capabilities.chunking()),
            pipelined: capabilities.pipelining(),
        })
    }
}
