//! Client commands, encoded so that caller input can never add a line (RFC 5321 §4.1).
//!
//! SKELETON: signatures are the contract; bodies come with issue 2.

mod params;

pub use params::{BodyType, DsnReturn, EnvelopeId, MailParameters, Notify, RcptParameters};

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
    /// Appends the command line, CRLF included, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let _ = out;
        todo!()
    }
}
