//! Validated mailbox addresses and reverse paths, as they appear in MAIL FROM and RCPT TO.
//!
//! SKELETON: signatures are the contract; bodies come with issue 2.

use alloc::string::String;
use core::fmt;

/// A mailbox address `local-part@domain` (RFC 5321 §4.1.2), validated at construction: it
/// holds no control character, its local part is at most 64 octets, its domain at most 255,
/// and `<address>` at most 256. It may hold UTF-8, which then needs SMTPUTF8 to be sent.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    text: String,
    at: usize,
}

impl Address {
    /// Parses `a@b`, `<a@b>` or `Name <a@b>` (the display name is dropped) into the bare
    /// address.
    pub fn parse(input: &str) -> Result<Address, AddressError> {
        let _ = input;
        todo!()
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

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
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

/// Why a string is not an acceptable address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Placeholder in the skeleton.
    #[error("invalid address")]
    Invalid,
}
