//! The service extensions a server advertises in its EHLO reply (RFC 5321 §4.1.1.1).
//!
//! Each line after the first is `keyword *(SP param)`. A keyword counts only as the whole
//! first token of its line, matched case-insensitively: `XPIPELINING` is not `PIPELINING`,
//! and neither is the third word of `SIZE 100 PIPELINING`. Lines whose first token is not a
//! valid ehlo-keyword are skipped (except the old `AUTH=` form), as are unknown extensions
//! whose parameters are not printable ASCII.
//!
//! ```
//! use smtpwire::auth::Mechanism;
//! use smtpwire::capabilities::Capabilities;
//!
//! let lines: [&[u8]; 4] = [b"mx.example.com Hello", b"SIZE 35882577", b"AUTH LOGIN PLAIN", b"PIPELINING"];
//! let capabilities = Capabilities::from_ehlo_lines(lines);
//! assert_eq!(capabilities.size_limit(), Some(35882577));
//! assert_eq!(capabilities.auth_mechanisms(), &[Mechanism::Login, Mechanism::Plain]);
//! assert!(capabilities.pipelining() && !capabilities.starttls());
//! ```

mod extension;
mod line;

pub use extension::Extension;

use crate::auth::Mechanism;
use crate::reply::Reply;
use alloc::vec::Vec;
use line::EhloLine;

/// At most this many AUTH mechanisms are kept; later ones are dropped.
pub const MAX_AUTH_MECHANISMS: usize = 32;
/// At most this many unknown extensions are kept; later ones are dropped.
pub const MAX_OTHER_EXTENSIONS: usize = 64;

/// An extension without parameters that the client understands, as a bit in
/// [`Capabilities::flags`].
#[derive(Clone, Copy)]
enum Flag {
    Pipelining = 1 << 0,
    StartTls = 1 << 1,
    EightBitMime = 1 << 2,
    SmtpUtf8 = 1 << 3,
    Chunking = 1 << 4,
    BinaryMime = 1 << 5,
    EnhancedStatusCodes = 1 << 6,
    Dsn = 1 << 7,
    Size = 1 << 8,
}

/// The keywords that set each flag (SIZE is also parsed for its limit).
const FLAG_KEYWORDS: [(&str, Flag); 9] = [
    ("PIPELINING", Flag::Pipelining),
    ("STARTTLS", Flag::StartTls),
    ("8BITMIME", Flag::EightBitMime),
    ("SMTPUTF8", Flag::SmtpUtf8),
    ("CHUNKING", Flag::Chunking),
    ("BINARYMIME", Flag::BinaryMime),
    ("ENHANCEDSTATUSCODES", Flag::EnhancedStatusCodes),
    ("DSN", Flag::Dsn),
    ("SIZE", Flag::Size),
];

/// What a server said it supports. Built from an EHLO reply, or empty after HELO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    flags: u16,
    size_limit: Option<u64>,
    auth: Vec<Mechanism>,
    others: Vec<Extension>,
}

impl Capabilities {
    /// No extensions at all: what a HELO session has.
    pub fn none() -> Capabilities {
        Capabilities::default()
    }
    /// Parses the lines of a positive EHLO reply; the first line (the server's name and
    /// greeting) is not a capability.
    pub fn from_ehlo_reply(reply: &Reply) -> Capabilities {
        Capabilities::from_ehlo_lines(reply.lines())
    }
    /// Parses the text of each line of an EHLO reply (without code, separator or line
    /// ending), the first being the server's greeting line, which is skipped. Never fails:
    /// what cannot be understood is left out.
    pub fn from_ehlo_lines<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Capabilities {
        let mut capabilities = Capabilities::none();
        for line in lines.into_iter().skip(1) {
            capabilities.add_line(EhloLine::split(line));
        }
        capabilities
    }
    /// SIZE was advertised (RFC 1870).
    pub fn size_advertised(&self) -> bool {
        self.has(Flag::Size)
    }
    /// The SIZE limit in octets, when a nonzero one was given. When SIZE is advertised more
    /// than once, the smallest nonzero limit.
    pub fn size_limit(&self) -> Option<u64> {
        self.size_limit
    }
    /// PIPELINING (RFC 2920).
    pub fn pipelining(&self) -> bool {
        self.has(Flag::Pipelining)
    }
    /// STARTTLS (RFC 3207).
    pub fn starttls(&self) -> bool {
        self.has(Flag::StartTls)
    }
    /// 8BITMIME (RFC 6152).
    pub fn eight_bit_mime(&self) -> bool {
        self.has(Flag::EightBitMime)
    }
    /// SMTPUTF8 (RFC 6531).
    pub fn smtputf8(&self) -> bool {
        self.has(Flag::SmtpUtf8)
    }
    /// CHUNKING (RFC 3030).
    pub fn chunking(&self) -> bool {
        self.has(Flag::Chunking)
    }
    /// BINARYMIME (RFC 3030).
    pub fn binary_mime(&self) -> bool {
        self.has(Flag::BinaryMime)
    }
    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub fn enhanced_status_codes(&self) -> bool {
        self.has(Flag::EnhancedStatusCodes)
    }
    /// DSN (RFC 3461).
    pub fn dsn(&self) -> bool {
        self.has(Flag::Dsn)
    }
    /// The AUTH mechanisms offered (from `AUTH` and the old `AUTH=` form), in the server's order.
    /// Each appears once; names that are not valid SASL mechanism names are left out.
    pub fn auth_mechanisms(&self) -> &[Mechanism] {
        &self.auth
    }
    /// Every extension this type has no accessor for, in the server's order, each keyword once
    /// (its first line wins).
    pub fn other_extensions(&self) -> &[Extension] {
        &self.others
    }
    /// The extension among [`Capabilities::other_extensions`] whose keyword is `keyword`,
    /// matched case-insensitively.
    pub fn other_extension(&self, keyword: &str) -> Option<&Extension> {
        self.others
            .iter()
            .find(|extension| extension.keyword().eq_ignore_ascii_case(keyword))
    }

    fn has(&self, flag: Flag) -> bool {
        self.flags & flag as u16 != 0
    }

    fn add_line(&mut self, line: EhloLine<'_>) {
        if let Some(first_mechanism) = line.old_auth_form() {
            self.add_auth_mechanisms(core::iter::once(first_mechanism).chain(line.params()));
            return;
        }
        if !line.has_valid_keyword() {
            return;
        }
        if line.keyword_is("AUTH") {
            self.add_auth_mechanisms(line.params());
            return;
        }
        let known = FLAG_KEYWORDS
            .iter()
            .find(|(keyword, _)| line.keyword_is(keyword));
        match known {
            Some((_, Flag::Size)) => self.add_size(line.params().next()),
            Some(&(_, flag)) => self.flags |= flag as u16,
            None => self.add_other(&line),
        }
    }

    /// `SIZE` alone, `SIZE 0` and a limit too large or malformed to read all mean SIZE with no
    /// known limit.
    fn add_size(&mut self, limit: Option<&[u8]>) {
        self.flags |= Flag::Size as u16;
        let Some(limit) = limit.and_then(parse_decimal).filter(|&limit| limit > 0) else {
            return;
        };
        self.size_limit = Some(self.size_limit.map_or(limit, |known| known.min(limit)));
    }

    fn add_auth_mechanisms<'a>(&mut self, names: impl Iterator<Item = &'a [u8]>) {
        for mechanism in names.filter_map(Mechanism::from_bytes) {
            if self.auth.len() >= MAX_AUTH_MECHANISMS {
                return;
            }
            if !self.auth.contains(&mechanism) {
                self.auth.push(mechanism);
            }
        }
    }

    fn add_other(&mut self, line: &EhloLine<'_>) {
        if self.others.len() >= MAX_OTHER_EXTENSIONS
            || self
                .others
                .iter()
                .any(|other| line.keyword_is(other.keyword()))
        {
            return;
        }
        if let Some(extension) = Extension::from_line(line) {
            self.others.push(extension);
        }
    }
}

/// A decimal number of ASCII digits only; `None` if empty, malformed or above `u64::MAX`.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |value, &digit| {
        let digit = char::from(digit).to_digit(10)?;
        value.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"+1"), None);
        assert_eq!(parse_decimal(b"1k"), None);
    }
}
