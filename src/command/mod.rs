//! Client commands, encoded so that caller input can never add a line (RFC 5321 §4.1).
//!
//! Every value a command carries was validated when it was built ([`Address`],
//! [`EhloName`], [`EnvelopeId`]), and parameters that may hold arbitrary characters go out as
//! xtext (RFC 3461 §4). So [`Command::encode`] cannot fail and always writes exactly one line
//! ending in CRLF, with no other CR or LF in it. AUTH lines are written by
//! [`crate::auth::AuthExchange`].
//!
//! ```
//! use smtpwire::address::{Address, ReversePath};
//! use smtpwire::command::{BodyType, Command, MailParameters};
//!
//! let from = ReversePath::parse("Jane Doe <jane@example.com>").unwrap();
//! let params = MailParameters { size: Some(1024), body: Some(BodyType::EightBitMime), ..Default::default() };
//! let mut out = Vec::new();
//! Command::Mail { from: &from, params: &params }.encode(&mut out);
//! assert_eq!(out, b"MAIL FROM:<jane@example.com> SIZE=1024 BODY=8BITMIME\r\n");
//! ```

mod params;
mod xtext;

pub use params::{
    BodyType, DsnReturn, EnvelopeId, EnvelopeIdError, MAX_ENVELOPE_ID_LEN, MailParameters, Notify,
    RcptParameters,
};

use crate::address::{Address, ReversePath};
use crate::ehlo_name::EhloName;
use alloc::vec::Vec;

/// One client command. Every value inside is already validated, so [`Command::encode`] always
/// writes exactly one line ending in CRLF.
#[derive(Clone, Copy, Debug)]
pub enum Command<'a> {
    /// `EHLO name`.
    Ehlo(&'a EhloName),
    /// `HELO name`.
    Helo(&'a EhloName),
    /// `STARTTLS`.
    StartTls,
    /// `MAIL FROM:<path> params`.
    Mail {
        /// The reverse path.
        from: &'a ReversePath,
        /// ESMTP parameters.
        params: &'a MailParameters,
    },
    /// `RCPT TO:<address> params`.
    Rcpt {
        /// The forward path.
        to: &'a Address,
        /// ESMTP parameters.
        params: &'a RcptParameters,
    },
    /// `DATA`.
    Data,
    /// `BDAT size` or `BDAT size LAST`.
    Bdat {
        /// The exact number of octets that follow the command line.
        size: u64,
        /// Whether this chunk ends the message.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`.
    Quit,
}

impl Command<'_> {
    /// Appends the command line, CRLF included, to `out`. Allocates nothing but the growth of
    /// `out`.
    ///
    /// MAIL parameters go in the order SIZE, BODY, SMTPUTF8, RET, ENVID; RCPT parameters in
    /// the order NOTIFY, ORCPT. Whether the server offers them is the caller's business.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Command::Ehlo(name) => {
                out.extend_from_slice(b"EHLO ");
                out.extend_from_slice(name.as_str().as_bytes());
            }
            Command::Helo(name) => {
                out.extend_from_slice(b"HELO ");
                out.extend_from_slice(name.as_str().as_bytes());
            }
            Command::StartTls => out.extend_from_slice(b"STARTTLS"),
            Command::Mail { from, params } => {
                out.extend_from_slice(b"MAIL FROM:");
                write_path(from.address(), out);
                params.write(out);
            }
            Command::Rcpt { to, params } => {
                out.extend_from_slice(b"RCPT TO:");
                write_path(Some(to), out);
                params.write(out);
            }
            Command::Data => out.extend_from_slice(b"DATA"),
            Command::Bdat { size, last } => {
                out.extend_from_slice(b"BDAT ");
                write_decimal(size, out);
                if last {
                    out.extend_from_slice(b" LAST");
                }
            }
            Command::Rset => out.extend_from_slice(b"RSET"),
            Command::Noop => out.extend_from_slice(b"NOOP"),
            Command::Quit => out.extend_from_slice(b"QUIT"),
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// `<address>`, or `<>` for none. The address never holds `<` or `>` itself, so the brackets
/// are never doubled.
fn write_path(address: Option<&Address>, out: &mut Vec<u8>) {
    out.push(b'<');
    if let Some(address) = address {
        out.extend_from_slice(address.as_str().as_bytes());
    }
    out.push(b'>');
}

/// `value` in decimal ASCII, without a temporary allocation.
fn write_decimal(mut value: u64, out: &mut Vec<u8>) {
    // u64::MAX has 20 digits, so `start` never goes below 0.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        // `value % 10` is below 10, so the cast is lossless.
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        for value in [0, 7, 10, 999, 1_000_000, u64::MAX] {
            let mut out = Vec::new();
            write_decimal(value, &mut out);
            assert_eq!(out, alloc::format!("{value}").into_bytes());
        }
    }
}
