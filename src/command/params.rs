//! ESMTP parameters of MAIL FROM and RCPT TO.

use crate::address::Address;
use alloc::string::String;

/// Parameters of MAIL FROM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailParameters {
    /// `SIZE=n` (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, RFC 3030).
    pub body: Option<BodyType>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461).
    pub ret: Option<DsnReturn>,
    /// `ENVID=` (RFC 3461).
    pub envid: Option<EnvelopeId>,
}

/// The `BODY=` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyType {
    /// `7BIT`.
    SevenBit,
    /// `8BITMIME`.
    EightBitMime,
    /// `BINARYMIME` (only with BDAT).
    BinaryMime,
}

/// The `RET=` value: what a delivery status notification should return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsnReturn {
    /// `FULL`: the whole message.
    Full,
    /// `HDRS`: the headers only.
    Headers,
}

/// An `ENVID=` value: printable ASCII, at most 100 characters, sent as xtext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeId(String);

/// Parameters of RCPT TO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RcptParameters {
    /// `NOTIFY=` (RFC 3461).
    pub notify: Option<Notify>,
    /// `ORCPT=rfc822;address` (RFC 3461).
    pub orcpt: Option<Address>,
}

/// The `NOTIFY=` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// `NEVER`.
    Never,
    /// Any non-empty combination of `SUCCESS`, `FAILURE` and `DELAY`.
    On {
        /// `SUCCESS`.
        success: bool,
        /// `FAILURE`.
        failure: bool,
        /// `DELAY`.
        delay: bool,
    },
}
