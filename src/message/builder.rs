//! [`MessageBuilder`]: collects the parts of a message and writes it once, in [`build`].
//!
//! [`build`]: MessageBuilder::build

use super::composed::Message;
use super::date::format_rfc5322_date;
use super::error::ComposeError;
use super::header::{
    AsciiText, check_extra_name, check_value, write_mailbox_list, write_token_field,
    write_unstructured,
};
use super::mailbox::Mailbox;
use super::message_id::MessageId;
use super::quoted_printable;
use crate::address::Address;
use core::slice;
use std::string::String;
use std::time::SystemTime;
use std::vec::Vec;

/// The MIME header fields that describe the body, which is always UTF-8 text in
/// quoted-printable, followed by the blank line that ends the header.
const MIME_HEADERS: &str = "MIME-Version: 1.0\r\n\
    Content-Type: text/plain; charset=UTF-8\r\n\
    Content-Transfer-Encoding: quoted-printable\r\n\
    \r\n";

/// Collects the parts of a text message; [`build`](MessageBuilder::build) checks them and
/// writes the message.
///
/// Setters that cannot fail take and return the builder; [`header`](MessageBuilder::header)
/// checks its input at once and returns a `Result`. Everything else is checked by `build`.
///
/// The message has, in this order: `Date`, `From`, `Reply-To` (if any), `To` (if any), `Cc`
/// (if any), `Subject` (if set), `Message-ID`, the extra headers in the order added, then
/// `MIME-Version`, `Content-Type: text/plain; charset=UTF-8`,
/// `Content-Transfer-Encoding: quoted-printable`, a blank line and the body. Bcc mailboxes
/// are recipients of the envelope only and never appear in the message.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct MessageBuilder {
    from: Option<Mailbox>,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
    bcc: Vec<Mailbox>,
    reply_to: Vec<Mailbox>,
    subject: Option<String>,
    body: String,
    date: Option<SystemTime>,
    message_id: Option<MessageId>,
    /// Extra header fields, already checked and written (folded, each ending with CRLF).
    extra_headers: String,
}

impl MessageBuilder {
    /// An empty builder; same as [`Message::builder`].
    pub fn new() -> MessageBuilder {
        MessageBuilder::default()
    }

    /// Sets the author (`From`), whose address is also the envelope sender. Replaces an
    /// earlier one.
    pub fn from(mut self, mailbox: Mailbox) -> MessageBuilder {
        self.from = Some(mailbox);
        self
    }

    /// Adds a `To` recipient.
    pub fn to(mut self, mailbox: Mailbox) -> MessageBuilder {
        self.to.push(mailbox);
        self
    }

    /// Adds a `Cc` recipient.
    pub fn cc(mut self, mailbox: Mailbox) -> MessageBuilder {
        self.cc.push(mailbox);
        self
    }

    /// Adds a blind recipient: in the envelope, never in the message.
    pub fn bcc(mut self, mailbox: Mailbox) -> MessageBuilder {
        self.bcc.push(mailbox);
        self
    }

    /// Adds a `Reply-To` mailbox.
    pub fn reply_to(mut self, mailbox: Mailbox) -> MessageBuilder {
        self.reply_to.push(mailbox);
        self
    }

    /// Sets the `Subject`: any text without control characters but tab (checked by
    /// [`build`](MessageBuilder::build)). Non-ASCII text, and text that would not fold within
    /// 78-octet lines, is written as RFC 2047 encoded words.
    pub fn subject(mut self, subject: impl Into<String>) -> MessageBuilder {
        self.subject = Some(subject.into());
        self
    }

    /// Sets the body: any text, written in quoted-printable, with every line break (CRLF, LF
    /// or CR) as CRLF. Without it the body is empty.
    pub fn text_body(mut self, body: impl Into<String>) -> MessageBuilder {
        self.body = body.into();
        self
    }

    /// Sets the `Date`. Without it, `build` takes the current time.
    pub fn date(mut self, date: SystemTime) -> MessageBuilder {
        self.date = Some(date);
        self
    }

    /// Sets the `Message-ID`. Without it, `build` generates one in the From address's domain
    /// with [`MessageId::generate`].
    pub fn message_id(mut self, message_id: MessageId) -> MessageBuilder {
        self.message_id = Some(message_id);
        self
    }

    /// Adds the header field `name: value` after the Message-ID, keeping earlier ones.
    ///
    /// `name` must be printable ASCII without `:`, at most
    /// [`MAX_HEADER_NAME_LEN`](super::MAX_HEADER_NAME_LEN) octets, and not a field the
    /// composer writes itself (From, To, Cc, Bcc, Reply-To, Subject, Date, Message-ID,
    /// MIME-Version, Content-*). `value` must hold no control character but tab. An ASCII
    /// value is written as given, folded at its white space; a non-ASCII value becomes
    /// encoded words, which is right only for unstructured fields (RFC 2047 §5).
    pub fn header(mut self, name: &str, value: &str) -> Result<MessageBuilder, ComposeError> {
        check_extra_name(name)?;
        check_value(name, value)?;
        write_unstructured(&mut self.extra_headers, name, value, AsciiText::Verbatim)?;
        Ok(self)
    }

    /// Checks the parts and writes the message.
    ///
    /// Fails without From ([`ComposeError::MissingFrom`]), without any To, Cc or Bcc
    /// ([`ComposeError::NoRecipients`]), with a control character in the subject
    /// ([`ComposeError::HeaderInjection`]), with a date outside 1900–9999, or when no
    /// Message-ID was set and none can be generated.
    pub fn build(self) -> Result<Message, ComposeError> {
        let from = self.from.ok_or(ComposeError::MissingFrom)?;
        if self.to.is_empty() && self.cc.is_empty() && self.bcc.is_empty() {
            return Err(ComposeError::NoRecipients);
        }
        if let Some(subject) = &self.subject {
            check_value("Subject", subject)?;
        }
        let date = self.date.unwrap_or_else(SystemTime::now);
        let date_text = format_rfc5322_date(date)?;
        let message_id = match self.message_id {
            Some(message_id) => message_id,
            None => MessageId::generate(from.address().domain())?,
        };

        let mut text = String::with_capacity(1024 + self.body.len() * 3 / 2);
        write_token_field(&mut text, "Date", &date_text);
        write_mailbox_list(&mut text, "From", slice::from_ref(&from));
        for (name, mailboxes) in [
            ("Reply-To", &self.reply_to),
            ("To", &self.to),
            ("Cc", &self.cc),
        ] {
            if !mailboxes.is_empty() {
                write_mailbox_list(&mut text, name, mailboxes);
            }
        }
        if let Some(subject) = &self.subject {
            write_unstructured(&mut text, "Subject", subject, AsciiText::EncodeWhenNeeded)?;
        }
        write_token_field(&mut text, "Message-ID", &message_id.to_string());
        text.push_str(&self.extra_headers);
        text.push_str(MIME_HEADERS);
        quoted_printable::encode(&self.body, &mut text);

        let every_mailbox = || {
            [&self.to, &self.cc, &self.bcc, &self.reply_to]
                .into_iter()
                .flatten()
                .chain(slice::from_ref(&from))
        };
        let smtputf8 = !text.is_ascii() || every_mailbox().any(|m| m.address().requires_smtputf8());
        let recipients = distinct_addresses([&self.to, &self.cc, &self.bcc].into_iter().flatten());
        Ok(Message {
            bytes: text.into_bytes(),
            message_id,
            date,
            sender: from.address().clone(),
            recipients,
            smtputf8,
        })
    }
}

/// The addresses of `mailboxes` in order, each once. Two addresses are the same when their
/// local parts are equal and their domains equal but for ASCII case (domains are
/// case-insensitive, local parts are not: RFC 5321 §2.4).
fn distinct_addresses<'a>(mailboxes: impl Iterator<Item = &'a Mailbox>) -> Vec<Address> {
    let mut distinct: Vec<Address> = Vec::new();
    for address in mailboxes.map(Mailbox::address) {
        let seen = distinct.iter().any(|known| {
            known.local_part() == address.local_part()
                && known.domain().eq_ignore_ascii_case(address.domain())
        });
        if !seen {
            distinct.push(address.clone());
        }
    }
    distinct
}
