//! Validated mailbox addresses and reverse paths, as they appear in MAIL FROM and RCPT TO.
//!
//! Everything is checked at construction, so an [`Address`] can be written into a command as
//! it is: it never holds a control character (CR, LF and NUL included), a space outside a
//! quoted local part, or an angle bracket, and it always fits in an RFC 5321 path.
//!
//! ```
//! use smtpwire::address::{Address, AddressError, ReversePath};
//!
//! let address = Address::parse("\"Doe, Jane\" <jane@example.com>")?;
//! assert_eq!(address.as_str(), "jane@example.com");
//! assert_eq!(Address::parse("jane@example.com\r\nRCPT TO:<x@y>"), Err(AddressError::ControlCharacter));
//! assert_eq!(ReversePath::parse("<>")?.to_string(), "<>");
//! # Ok::<(), AddressError>(())
//! ```

pub(crate) mod domain;
mod local_part;
mod name_addr;

use alloc::string::{String, ToString};
use core::fmt;
use core::str::FromStr;

/// The longest local part, in octets (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_PART_LEN: usize = 64;
/// The longest domain, in octets (RFC 5321 §4.5.3.1.2).
pub const MAX_DOMAIN_LEN: usize = 255;
/// The longest path, `<` and `>` included, in octets (RFC 5321 §4.5.3.1.3). An address is
/// therefore at most `MAX_PATH_LEN - 2` octets.
pub const MAX_PATH_LEN: usize = 256;

/// A mailbox address `local-part@domain` (RFC 5321 §4.1.2), validated at construction: it
/// holds no control character, its local part is at most 64 octets, its domain at most 255,
/// and `<address>` at most 256. It may hold UTF-8, which then needs SMTPUTF8 to be sent.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    text: String,
    /// The index in `text` of the one-octet `@` after the local part, so `..at` and `at + 1..`
    /// are always in bounds and on character boundaries.
    at: usize,
}

impl Address {
    /// Parses `a@b`, `<a@b>` or `Name <a@b>` (the display name is dropped) into the bare
    /// address.
    ///
    /// The local part is a dot-atom or a quoted string; the domain is a host name (labels of
    /// letters, digits and hyphens, or UTF-8 U-labels) or an address literal (`[192.0.2.1]`,
    /// `[IPv6:2001:db8::1]`). Nothing is trimmed: a space outside a quoted local part or a
    /// display name is an error, and so is any text behind the closing `>`.
    pub fn parse(input: &str) -> Result<Address, AddressError> {
        if input.chars().any(char::is_control) {
            return Err(AddressError::ControlCharacter);
        }
        let bare = name_addr::strip_display_name(input)?;
        if bare.is_empty() {
            return Err(AddressError::Empty);
        }
        let at = local_part::find_end(bare)?;
        // `find_end` returns the index of an `@`, a one-octet character, so both slices
        // start and end on character boundaries.
        let (local, domain) = (&bare[..at], &bare[at + 1..]);
        if local.len() > MAX_LOCAL_PART_LEN {
            return Err(AddressError::LocalPartTooLong);
        }
        if domain.len() > MAX_DOMAIN_LEN {
            return Err(AddressError::DomainTooLong);
        }
        if bare.len() + 2 > MAX_PATH_LEN {
            return Err(AddressError::PathTooLong);
        }
        local_part::validate(local)?;
        domain::validate(domain).map_err(AddressError::from)?;
        Ok(Address {
            text: bare.to_string(),
            at,
        })
    }
    /// The whole address, without angle brackets.
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The part before the last `@`.
    pub fn local_part(&self) -> &str {
        &self.text[..self.at]
    }
    /// The part after the last `@`.
    pub fn domain(&self) -> &str {
        &self.text[self.at + 1..]
    }
    /// Whether the address holds non-ASCII characters and so needs SMTPUTF8.
    pub fn requires_smtputf8(&self) -> bool {
        !self.text.is_ascii()
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({:?})", self.text)
    }
}

/// The bare address, without angle brackets.
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Address, AddressError> {
        Address::parse(s)
    }
}

impl TryFrom<&str> for Address {
    type Error = AddressError;
    fn try_from(s: &str) -> Result<Address, AddressError> {
        Address::parse(s)
    }
}

impl AsRef<str> for Address {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

/// The reverse path of MAIL FROM: an address, or the null path `<>` used for bounces.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReversePath {
    /// `MAIL FROM:<>`.
    Null,
    /// `MAIL FROM:<address>`.
    Address(Address),
}

impl ReversePath {
    /// Parses `<>` as the null path and anything else as [`Address::parse`] does. An empty
    /// string is an error, not the null path: a missing sender should not turn a message
    /// into a bounce.
    pub fn parse(input: &str) -> Result<ReversePath, AddressError> {
        if input == "<>" {
            Ok(ReversePath::Null)
        } else {
            Address::parse(input).map(ReversePath::Address)
        }
    }
    /// The address, unless this is the null path.
    pub fn address(&self) -> Option<&Address> {
        match self {
            ReversePath::Null => None,
            ReversePath::Address(address) => Some(address),
        }
    }
    /// Whether the path holds non-ASCII characters and so needs SMTPUTF8.
    pub fn requires_smtputf8(&self) -> bool {
        self.address().is_some_and(Address::requires_smtputf8)
    }
}

impl From<Address> for ReversePath {
    fn from(address: Address) -> ReversePath {
        ReversePath::Address(address)
    }
}

/// The path as MAIL FROM carries it: `<>` or `<address>`.
impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Address(address) => write!(f, "<{address}>"),
        }
    }
}

impl FromStr for ReversePath {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<ReversePath, AddressError> {
        ReversePath::parse(s)
    }
}

impl TryFrom<&str> for ReversePath {
    type Error = AddressError;
    fn try_from(s: &str) -> Result<ReversePath, AddressError> {
        ReversePath::parse(s)
    }
}

/// Why a string is not an acceptable address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// There is no address at all (`""` or `<>`; the null reverse path is
    /// [`ReversePath::Null`]).
    #[error("empty address")]
    Empty,
    /// A control character (C0 such as CR, LF, NUL or TAB, DEL, or C1) anywhere in the input.
    #[error("control character in address")]
    ControlCharacter,
    /// A space outside a quoted local part and outside the display name.
    #[error("space in address outside a quoted local part")]
    Space,
    /// A `<` or `>` that does not enclose the address: two of either, one without the other,
    /// in the wrong order, or inside the address.
    #[error("unbalanced or repeated angle brackets in address")]
    UnbalancedBrackets,
    /// Text after the closing `>`.
    #[error("text after the closing angle bracket")]
    TextAfterAddress,
    /// The display name before `<` is not a phrase of words and quoted strings.
    #[error("malformed display name")]
    MalformedDisplayName,
    /// No `@` after the local part.
    #[error("address has no @")]
    MissingAt,
    /// The local part is longer than 64 octets.
    #[error("local part longer than 64 octets")]
    LocalPartTooLong,
    /// The domain is longer than 255 octets.
    #[error("domain longer than 255 octets")]
    DomainTooLong,
    /// `<address>` is longer than 256 octets.
    #[error("path longer than 256 octets")]
    PathTooLong,
    /// The local part is neither a dot-atom nor a quoted string.
    #[error("invalid local part")]
    InvalidLocalPart,
    /// The domain is not a sequence of valid labels.
    #[error("invalid domain")]
    InvalidDomain,
    /// The domain is a bracketed address literal, but not a valid IPv4 or `IPv6:` address.
    #[error("invalid address literal")]
    InvalidAddressLiteral,
}

impl From<domain::DomainError> for AddressError {
    fn from(error: domain::DomainError) -> AddressError {
        match error {
            domain::DomainError::Space => AddressError::Space,
            domain::DomainError::InvalidDomain => AddressError::InvalidDomain,
            domain::DomainError::InvalidAddressLiteral => AddressError::InvalidAddressLiteral,
        }
    }
}
