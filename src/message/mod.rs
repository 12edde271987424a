//! Composing a text message: an RFC 5322 message with UTF-8 text in quoted-printable, ready
//! to hand to the session as is, and to send again unchanged on a retry.
//!
//! ```
//! use smtpwire::message::{Mailbox, Message};
//!
//! let message = Message::builder()
//!     .from("Ann Example <ann@example.com>".parse()?)
//!     .to("bob@example.org".parse()?)
//!     .subject("Café au lait?")
//!     .text_body("Hello Bob,\nsee you at 10.\n")
//!     .build()?;
//! let text = String::from_utf8(message.as_bytes().to_vec())?;
//! assert!(text.contains("From: Ann Example <ann@example.com>\r\n"));
//! assert!(text.contains("Subject: =?UTF-8?Q?Caf=C3=A9_au_lait=3F?=\r\n"));
//! assert_eq!(message.recipients()[0].as_str(), "bob@example.org");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What the composer guarantees, whatever the input:
//! * no header value holds CR, LF or another control character (tab excepted): such input is
//!   refused with [`ComposeError::HeaderInjection`](crate::message::ComposeError::HeaderInjection)
//!   or [`MailboxError::ControlCharacter`](crate::message::MailboxError::ControlCharacter);
//! * a display name is only ever a name, written before `<address>`; an address is written
//!   as the address;
//! * lines end with CRLF; header lines are folded at 78 octets, except where one address,
//!   Message-ID or word of an extra header is longer; no line passes 998 octets;
//! * subjects and display names that are not plain ASCII become RFC 2047 encoded words, so the
//!   message stays 7-bit unless an address holds UTF-8, which then stands raw in the header
//!   as RFC 6532 allows, and makes the message need SMTPUTF8;
//! * the body is quoted-printable with lines of at most 76 octets, and no line of it starts
//!   with `.` or `From `.

mod builder;
mod composed;
mod date;
mod encoded_word;
mod error;
mod header;
mod mailbox;
mod message_id;
mod quoted_printable;

pub use builder::MessageBuilder;
pub use composed::Message;
pub use date::format_rfc5322_date;
pub use encoded_word::MAX_ENCODED_WORD_LEN;
pub use error::{ComposeError, DateOutOfRange, MailboxError, MessageIdError};
pub use header::{FOLD_AT, MAX_HEADER_NAME_LEN};
pub use mailbox::Mailbox;
pub use message_id::{MAX_MESSAGE_ID_LEN, MessageId};
pub use quoted_printable::MAX_LINE_LEN as MAX_BODY_LINE_LEN;
