//! ESMTP parameters of MAIL FROM and RCPT TO.

use super::write_decimal;
use super::xtext::{write_utf8_addr_xtext, write_xtext};
use crate::address::Address;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The longest envelope identifier, in characters (RFC 3461 §4.4).
pub const MAX_ENVELOPE_ID_LEN: usize = 100;

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

impl MailParameters {
    /// Appends each parameter that is set, each behind a space.
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        if let Some(size) = self.size {
            out.extend_from_slice(b" SIZE=");
            write_decimal(size, out);
        }
        if let Some(body) = self.body {
            out.extend_from_slice(b" BODY=");
            out.extend_from_slice(body.as_str().as_bytes());
        }
        if self.smtputf8 {
            out.extend_from_slice(b" SMTPUTF8");
        }
        if let Some(ret) = self.ret {
            out.extend_from_slice(b" RET=");
            out.extend_from_slice(ret.as_str().as_bytes());
        }
        if let Some(envid) = &self.envid {
            out.extend_from_slice(b" ENVID=");
            write_xtext(envid.as_str(), out);
        }
    }
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

impl BodyType {
    /// The value as sent: `7BIT`, `8BITMIME` or `BINARYMIME`.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyType::SevenBit => "7BIT",
            BodyType::EightBitMime => "8BITMIME",
            BodyType::BinaryMime => "BINARYMIME",
        }
    }
}

/// The `RET=` value: what a delivery status notification should return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsnReturn {
    /// `FULL`: the whole message.
    Full,
    /// `HDRS`: the headers only.
    Headers,
}

impl DsnReturn {
    /// The value as sent: `FULL` or `HDRS`.
    pub fn as_str(self) -> &'static str {
        match self {
            DsnReturn::Full => "FULL",
            DsnReturn::Headers => "HDRS",
        }
    }
}

/// An `ENVID=` value: printable ASCII, at most 100 characters, sent as xtext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeId(String);

impl EnvelopeId {
    /// Validates `id`: 1 to [`MAX_ENVELOPE_ID_LEN`] printable ASCII characters (space to `~`).
    /// Characters that xtext cannot carry as they are (`+`, `=`, space) are encoded when sent.
    pub fn new(id: &str) -> Result<EnvelopeId, EnvelopeIdError> {
        if id.is_empty() {
            Err(EnvelopeIdError::Empty)
        } else if id.chars().any(char::is_control) {
            Err(EnvelopeIdError::ControlCharacter)
        } else if !id.is_ascii() {
            Err(EnvelopeIdError::NonAscii)
        } else if id.len() > MAX_ENVELOPE_ID_LEN {
            Err(EnvelopeIdError::TooLong)
        } else {
            Ok(EnvelopeId(id.to_string()))
        }
    }
    /// The identifier, before xtext encoding.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a string is not an acceptable envelope identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeIdError {
    /// The identifier is empty.
    #[error("empty envelope identifier")]
    Empty,
    /// A control character (CR, LF, NUL, any other C0, DEL or C1).
    #[error("control character in envelope identifier")]
    ControlCharacter,
    /// A character outside ASCII.
    #[error("non-ASCII character in envelope identifier")]
    NonAscii,
    /// Longer than 100 characters.
    #[error("envelope identifier longer than 100 characters")]
    TooLong,
}

/// Parameters of RCPT TO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RcptParameters {
    /// `NOTIFY=` (RFC 3461).
    pub notify: Option<Notify>,
    /// `ORCPT=rfc822;address` (RFC 3461). An address with UTF-8 goes out as
    /// `ORCPT=utf-8;address` in the 7-bit form of RFC 6533 §3 instead.
    pub orcpt: Option<Address>,
}

impl RcptParameters {
    /// Appends each parameter that is set, each behind a space.
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        if let Some(notify) = self.notify {
            out.extend_from_slice(b" NOTIFY=");
            notify.write(out);
        }
        if let Some(orcpt) = &self.orcpt {
            if orcpt.requires_smtputf8() {
                out.extend_from_slice(b" ORCPT=utf-8;");
                write_utf8_addr_xtext(orcpt.as_str(), out);
            } else {
                out.extend_from_slice(b" ORCPT=rfc822;");
                write_xtext(orcpt.as_str(), out);
            }
        }
    }
}

/// The `NOTIFY=` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// `NEVER`.
    Never,
    /// Any non-empty combination of `SUCCESS`, `FAILURE` and `DELAY`. Built directly with all
    /// three false, it is sent as `NEVER`, which is what asking for no notification means.
    On {
        /// `SUCCESS`.
        success: bool,
        /// `FAILURE`.
        failure: bool,
        /// `DELAY`.
        delay: bool,
    },
}

impl Notify {
    /// The notifications to ask for; `None` for the empty combination (use
    /// [`Notify::Never`]).
    pub fn on(success: bool, failure: bool, delay: bool) -> Option<Notify> {
        (success || failure || delay).then_some(Notify::On {
            success,
            failure,
            delay,
        })
    }

    /// `NEVER`, or the chosen conditions separated by commas.
    fn write(self, out: &mut Vec<u8>) {
        let (success, failure, delay) = match self {
            Notify::On {
                success,
                failure,
                delay,
            } if success || failure || delay => (success, failure, delay),
            _ => {
                out.extend_from_slice(b"NEVER");
                return;
            }
        };
        let chosen = [(success, "SUCCESS"), (failure, "FAILURE"), (delay, "DELAY")];
        for (index, (_, name)) in chosen.iter().filter(|(on, _)| *on).enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(name.as_bytes());
        }
    }
}
