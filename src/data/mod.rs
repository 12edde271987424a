//! The message body on the wire: line-ending normalisation, dot-stuffing (DATA) and the
//! end-of-data marker.
//!
//! SKELETON: signatures are the contract; bodies come with issue 2.

use alloc::vec::Vec;

/// The longest text line RFC 5321 §4.5.3.1.6 allows, line ending excluded.
pub const MAX_LINE_LEN: usize = 998;

/// How the body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// After DATA: lines starting with `.` are doubled and `.\r\n` ends the message.
    Data,
    /// BDAT chunks (RFC 3030): the same line endings, no dot-stuffing, no end marker.
    Bdat,
}

/// A streaming encoder from message bytes, in chunks of any size, to wire bytes: bare CR and
/// bare LF become CRLF, and with [`Framing::Data`] a `.` starting a line is doubled.
#[derive(Clone, Debug)]
pub struct DataEncoder {
    framing: Framing,
}

/// A text line longer than the encoder allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the message is longer than {limit} octets")]
pub struct LineTooLong {
    /// The 1-based number of the line.
    pub line: u64,
    /// The limit it broke.
    pub limit: usize,
}

impl DataEncoder {
    /// An encoder for `framing` that refuses lines over [`MAX_LINE_LEN`].
    pub fn new(framing: Framing) -> DataEncoder {
        DataEncoder { framing }
    }
    /// Appends the wire form of `chunk` to `out`. A CR at the end of `chunk` is held back
    /// until the next call shows whether an LF follows it.
    pub fn encode(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), LineTooLong> {
        let _ = (chunk, out, self.framing);
        todo!()
    }
    /// Ends the message: writes a held-back CR as CRLF, a final CRLF when the last line has
    /// none, and with [`Framing::Data`] the terminating `.\r\n`.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let _ = out;
        todo!()
    }
    /// The number of octets written to the wire so far (end marker included once finished).
    pub fn wire_len(&self) -> u64 {
        todo!()
    }
}

/// The exact number of octets [`Framing::Bdat`] encoding of `body` produces: the size to
/// announce in `BDAT n LAST`.
pub fn bdat_wire_len(body: &[u8]) -> Result<u64, LineTooLong> {
    let _ = body;
    todo!()
}
