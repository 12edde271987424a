//! The name the client gives in EHLO and HELO: a domain or an address literal.
//!
//! ```
//! use smtpwire::ehlo_name::{EhloName, EhloNameError};
//!
//! assert_eq!(EhloName::parse("client.example.com")?.as_str(), "client.example.com");
//! assert_eq!(EhloName::from_ip("2001:db8::1".parse().unwrap()).as_str(), "[IPv6:2001:db8::1]");
//! assert_eq!(EhloName::parse("x\r\nMAIL FROM:<a@b>"), Err(EhloNameError::ControlCharacter));
//! # Ok::<(), EhloNameError>(())
//! ```

use crate::address::MAX_DOMAIN_LEN;
use crate::address::domain::{self, DomainError};
use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;
use core::net::IpAddr;
use core::str::FromStr;

/// A validated EHLO/HELO argument: a domain name or an address literal such as `[192.0.2.1]`
/// or `[IPv6:2001:db8::1]`. Never holds a control character or a space.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EhloName(String);

impl EhloName {
    /// Validates `name` as a domain (ASCII labels of letters, digits and hyphens, 1 to 63
    /// octets each, no hyphen at either end; at most 255 octets in all) or an address literal.
    /// Non-ASCII is refused: EHLO goes out before the client knows whether the server speaks
    /// SMTPUTF8, so a name with U-labels must be given in its `xn--` form.
    pub fn parse(name: &str) -> Result<EhloName, EhloNameError> {
        if name.is_empty() {
            return Err(EhloNameError::Empty);
        }
        if name.chars().any(char::is_control) {
            return Err(EhloNameError::ControlCharacter);
        }
        if !name.is_ascii() {
            return Err(EhloNameError::NonAscii);
        }
        if name.len() > MAX_DOMAIN_LEN {
            return Err(EhloNameError::TooLong);
        }
        domain::validate(name).map_err(EhloNameError::from)?;
        Ok(EhloName(name.to_string()))
    }
    /// The address literal for `ip`.
    pub fn from_ip(ip: IpAddr) -> EhloName {
        match ip {
            IpAddr::V4(ip) => EhloName(format!("[{ip}]")),
            IpAddr::V6(ip) => EhloName(format!("[IPv6:{ip}]")),
        }
    }
    /// The name as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EhloName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EhloName {
    type Err = EhloNameError;
    fn from_str(s: &str) -> Result<EhloName, EhloNameError> {
        EhloName::parse(s)
    }
}

impl TryFrom<&str> for EhloName {
    type Error = EhloNameError;
    fn try_from(s: &str) -> Result<EhloName, EhloNameError> {
        EhloName::parse(s)
    }
}

/// Why a string is not an acceptable EHLO name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EhloNameError {
    /// The name is empty.
    #[error("empty EHLO name")]
    Empty,
    /// A control character (C0 such as CR, LF, NUL or TAB, DEL, or C1).
    #[error("control character in EHLO name")]
    ControlCharacter,
    /// A space.
    #[error("space in EHLO name")]
    Space,
    /// A non-ASCII character: use the A-label (`xn--`) form.
    #[error("non-ASCII character in EHLO name")]
    NonAscii,
    /// Longer than 255 octets.
    #[error("EHLO name longer than 255 octets")]
    TooLong,
    /// Not a sequence of valid labels.
    #[error("invalid domain in EHLO name")]
    InvalidDomain,
    /// Bracketed, but not a valid IPv4 or `IPv6:` address literal.
    #[error("invalid address literal in EHLO name")]
    InvalidAddressLiteral,
}

impl From<DomainError> for EhloNameError {
    fn from(error: DomainError) -> EhloNameError {
        match error {
            DomainError::Space => EhloNameError::Space,
            DomainError::InvalidDomain => EhloNameError::InvalidDomain,
            DomainError::InvalidAddressLiteral => EhloNameError::InvalidAddressLiteral,
        }
    }
}
