//! The replies of a mail transaction: MAIL, RCPT, DATA or BDAT, the final reply, RSET.
//!
//! Without PIPELINING each reply sends the next command; with it every reply was already
//! asked for and the transaction is decided when the last one (DATA or BDAT) arrives.

use super::mail::{BodyState, MailTransaction, is_positive};
use super::outstanding::Awaiting;
use super::{Event, ProtocolViolation, Session, SessionError, Step, TransactionFailure};
use crate::command::Command;
use crate::reply::{Reply, ReplyCode};
use crate::time::Timestamp;

impl Session {
    pub(super) fn on_mail(&mut self, reply: Reply, now: Timestamp) {
        let Some(mut transaction) = self.transaction.take() else {
            return self.fail_protocol(ProtocolViolation::UnexpectedReply(reply));
        };
        let refused = !is_positive(&reply);
        transaction.mail_reply = Some(reply.clone());
        if transaction.pipelined {
            // The RCPT and DATA replies are on their way; decide when the last one arrives.
            self.transaction = Some(transaction);
        } else if refused {
            self.finish_transaction(Err(TransactionFailure::MailRejected { reply }), false, now);
        } else {
            self.send_rcpt(&transaction, 0, now);
            self.transaction = Some(transaction);
        }
    }

    pub(super) fn on_rcpt(&mut self, index: usize, reply: Reply, now: Timestamp) {
        let Some(mut transaction) = self.transaction.take() else {
            return self.fail_protocol(ProtocolViolation::UnexpectedReply(reply));
        };
        if let Some(slot) = transaction.rcpt_replies.get_mut(index) {
            *slot = Some(reply);
        }
        if !transaction.pipelined {
            let next = index + 1;
            if next < transaction.envelope.recipients.len() {
                self.send_rcpt(&transaction, next, now);
            } else if transaction.any_recipient_accepted() {
                self.send_body_command(&mut transaction, now);
            } else {
                // No recipient: no body is sent at all.
                let failure = TransactionFailure::AllRecipientsRejected {
                    recipients: transaction.outcomes(),
                };
                let reset = transaction.needs_reset();
                return self.finish_transaction(Err(failure), reset, now);
            }
        }
        self.transaction = Some(transaction);
    }

    pub(super) fn on_data(&mut self, reply: Reply, now: Timestamp) {
        let Some(mut transaction) = self.transaction.take() else {
            return self.fail_protocol(ProtocolViolation::UnexpectedReply(reply));
        };
        if reply.code() != ReplyCode::START_MAIL_INPUT {
            let reset = transaction.needs_reset();
            let failure = transaction.failure(reply, false);
            return self.finish_transaction(Err(failure), reset, now);
        }
        if transaction.deliverable() && transaction.any_recipient_accepted() {
            transaction.body = BodyState::Wanted;
            transaction.body_deadline = now.saturating_add(self.config.timeouts.data_block);
            self.events.push_back(Event::SendBody);
        } else {
            // RFC 2920 §3.1: DATA accepted although no recipient was. End the empty message at
            // once; nobody can receive it.
            transaction.body = BodyState::Skipped;
            transaction.encoder.finish(&mut self.transmit);
            self.expect(Awaiting::EndOfData, now);
        }
        self.transaction = Some(transaction);
    }

    pub(super) fn on_bdat_last(&mut self, reply: Reply, now: Timestamp) {
        let Some(mut transaction) = self.transaction.take() else {
            return self.fail_protocol(ProtocolViolation::UnexpectedReply(reply));
        };
        if transaction.body != BodyState::Ended {
            let all_written = transaction.bdat_size == Some(transaction.encoder.wire_len());
            if is_positive(&reply) && !all_written {
                // Nothing can be accepted before all of it was sent.
                self.transaction = Some(transaction);
                return self.fail_protocol(ProtocolViolation::UnexpectedCode(reply));
            }
            // The server may answer as soon as it has the last octet, before the driver calls
            // `finish_body`; and a refusal may come early, the server discarding the rest of
            // the chunk (RFC 3030 §4.2). Either way the reply is settled when the body ends.
            transaction.early_final = Some(reply);
            self.transaction = Some(transaction);
            return;
        }
        let result = transaction.conclude(reply);
        let reset = result.is_err() && transaction.needs_reset();
        self.finish_transaction(result, reset, now);
    }

    pub(super) fn on_end_of_data(&mut self, reply: Reply, now: Timestamp) {
        let Some(transaction) = self.transaction.take() else {
            return self.fail_protocol(ProtocolViolation::UnexpectedReply(reply));
        };
        // The final reply ends the transaction whatever it says: no RSET is needed.
        self.finish_transaction(transaction.conclude(reply), false, now);
    }

    pub(super) fn on_rset(&mut self, requested: bool, reply: Reply) {
        if !is_positive(&reply) {
            return self.fail(SessionError::Refused {
                step: Step::Rset,
                reply,
            });
        }
        if requested {
            self.events.push_back(Event::ResetDone(reply));
        }
        self.become_idle();
    }

    fn send_rcpt(&mut self, transaction: &MailTransaction, index: usize, now: Timestamp) {
        if let Some(to) = transaction.envelope.recipients.get(index) {
            Command::Rcpt {
                to,
                params: &transaction.rcpt_params,
            }
            .encode(&mut self.transmit);
            self.expect(Awaiting::Rcpt(index), now);
        }
    }

    /// DATA, or `BDAT n LAST` followed at once by [`Event::SendBody`].
    pub(super) fn send_body_command(&mut self, transaction: &mut MailTransaction, now: Timestamp) {
        match transaction.bdat_size {
            Some(size) => {
                Command::Bdat { size, last: true }.encode(&mut self.transmit);
                self.expect(Awaiting::BdatLast, now);
                transaction.body = BodyState::Wanted;
                transaction.body_deadline = now.saturating_add(self.config.timeouts.data_block);
                self.events.push_back(Event::SendBody);
            }
            None => {
                Command::Data.encode(&mut self.transmit);
                self.expect(Awaiting::Data, now);
            }
        }
    }
}
