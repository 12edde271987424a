//! The name the client gives in EHLO and HELO: a domain or an address literal.
//!
//! SKELETON: signatures are the contract; bodies come with issue 2.

use alloc::string::String;

/// A validated EHLO/HELO argument: a domain name or an address literal such as `[192.0.2.1]`
/// or `[IPv6:2001:db8::1]`. Never holds a control character or a space.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EhloName(String);

impl EhloName {
    /// Validates `name` as a domain or an address literal.
    pub fn parse(name: &str) -> Result<EhloName, EhloNameError> {
        let _ = name;
        todo!()
    }
    /// The address literal for `ip`.
    pub fn from_ip(ip: core::net::IpAddr) -> EhloName {
        let _ = ip;
        todo!()
    }
    /// The name as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a string is not an acceptable EHLO name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EhloNameError {
    /// Placeholder in the skeleton.
    #[error("invalid EHLO name")]
    Invalid,
}
