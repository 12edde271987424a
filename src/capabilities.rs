//! The service extensions a server advertises in its EHLO reply (RFC 5321 §4.1.1.1).
//!
//! SKELETON: signatures are the contract; bodies come with issue 2.

use crate::auth::Mechanism;
use crate::reply::Reply;
use alloc::vec::Vec;

/// What a server said it supports. Built from an EHLO reply, or empty after HELO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    auth: Vec<Mechanism>,
}

impl Capabilities {
    /// No extensions at all: what a HELO session has.
    pub fn none() -> Capabilities {
        Capabilities::default()
    }
    /// Parses the lines of a positive EHLO reply; the first line (the server's name and
    /// greeting) is not a capability.
    pub fn from_ehlo_reply(reply: &Reply) -> Capabilities {
        let _ = reply;
        todo!()
    }
    /// SIZE was advertised (RFC 1870).
    pub fn size_advertised(&self) -> bool {
        todo!()
    }
    /// The SIZE limit in octets, when a nonzero one was given.
    pub fn size_limit(&self) -> Option<u64> {
        todo!()
    }
    /// PIPELINING (RFC 2920).
    pub fn pipelining(&self) -> bool {
        todo!()
    }
    /// STARTTLS (RFC 3207).
    pub fn starttls(&self) -> bool {
        todo!()
    }
    /// 8BITMIME (RFC 6152).
    pub fn eight_bit_mime(&self) -> bool {
        todo!()
    }
    /// SMTPUTF8 (RFC 6531).
    pub fn smtputf8(&self) -> bool {
        todo!()
    }
    /// CHUNKING (RFC 3030).
    pub fn chunking(&self) -> bool {
        todo!()
    }
    /// BINARYMIME (RFC 3030).
    pub fn binary_mime(&self) -> bool {
        todo!()
    }
    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub fn enhanced_status_codes(&self) -> bool {
        todo!()
    }
    /// DSN (RFC 3461).
    pub fn dsn(&self) -> bool {
        todo!()
    }
    /// The AUTH mechanisms offered (from `AUTH` and the old `AUTH=` form), in the server's order.
    pub fn auth_mechanisms(&self) -> &[Mechanism] {
        &self.auth
    }
}
