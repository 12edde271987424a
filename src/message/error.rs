//! What can go wrong while composing a message.

use crate::address::AddressError;
use alloc::string::String;

/// Why a message could not be composed.
///
/// Every error is the caller's: the composer refuses input it cannot write safely instead
/// of writing something a reader could misread.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ComposeError {
    /// A header value holds CR, LF or another control character (tab excepted). Writing it
    /// could end the header early and let the text after it pose as another header.
    #[error("the {header} header holds a control character: refused to prevent header injection")]
    HeaderInjection {
        /// The header the value was meant for.
        header: String,
    },
    /// No From mailbox was given.
    #[error("the message has no From mailbox")]
    MissingFrom,
    /// No To, Cc or Bcc mailbox was given.
    #[error("the message has no recipient")]
    NoRecipients,
    /// An extra header name is empty, longer than [`MAX_HEADER_NAME_LEN`](super::MAX_HEADER_NAME_LEN)
    /// or holds a character outside printable ASCII without `:` (RFC 5322 §3.6.8 `ftext`).
    #[error("invalid header name {name:?}")]
    InvalidHeaderName {
        /// The refused name.
        name: String,
    },
    /// An extra header names a field the composer writes itself (From, To, Date, Content-*, …)
    /// or one it must never write (Bcc).
    #[error("the {name} header is written by the composer and cannot be added")]
    ReservedHeader {
        /// The refused name, as given.
        name: String,
    },
    /// An extra header value holds a word too long to fit the 998-octet line limit of
    /// RFC 5322 §2.1.1 even on a line of its own.
    #[error("the {header} header holds a word longer than a header line may be")]
    HeaderTooLong {
        /// The header the value was meant for.
        header: String,
    },
    /// The Date is outside the years 1900 to 9999.
    #[error(transparent)]
    Date(#[from] DateOutOfRange),
    /// No Message-ID was given and none could be generated.
    #[error(transparent)]
    MessageId(#[from] MessageIdError),
}

/// Why a string is not an acceptable [`Mailbox`](super::Mailbox).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MailboxError {
    /// The display name holds CR, LF or another control character (tab excepted).
    #[error("the display name holds a control character: refused to prevent header injection")]
    ControlCharacter,
    /// The text around the address is not `Name <address>`: a `<` without its `>`, text after
    /// the `>`, or an unterminated quoted name.
    #[error("expected `address` or `Name <address>`")]
    Syntax,
    /// The address itself is invalid.
    #[error("invalid address: {0}")]
    Address(#[from] AddressError),
}

/// Why a Message-ID could not be parsed or generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageIdError {
    /// The text is not `<left@right>` with `left` a dot-atom and `right` a dot-atom or a
    /// `[literal]` (RFC 5322 §3.6.4), or is too long for a header line.
    #[error("invalid Message-ID syntax")]
    Syntax,
    /// The operating system's random number generator failed.
    #[error("no randomness for a Message-ID: {0}")]
    Random(getrandom::Error),
}

/// A date outside the years 1900 to 9999, which RFC 5322 §3.3 cannot express as written by
/// this composer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the date is outside the years 1900 to 9999")]
pub struct DateOutOfRange;
