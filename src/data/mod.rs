//! The message body on the wire: line-ending normalisation, dot-stuffing (DATA) and the
//! end-of-data marker.
//!
//! [`DataEncoder`] turns message bytes, fed in chunks of any size, into wire bytes:
//!
//! * CR and LF reach the wire only as CRLF: a bare CR and a bare LF each become CRLF, CRLF
//!   stays CRLF, and `\r\r\n` (a bare CR, then CRLF) becomes `\r\n\r\n`;
//! * with [`Framing::Data`], a `.` starting a line (the first line too, wherever the chunks
//!   are split) is doubled, so the only `\r\n.\r\n` on the wire is the end marker written by
//!   [`DataEncoder::finish`];
//! * a line longer than [`MAX_LINE_LEN`] octets is refused with [`LineTooLong`] and never
//!   reaches the wire whole.
//!
//! The output does not depend on how the message is split into chunks, and the encoder keeps
//! only a few words of state between chunks, so memory use does not grow with the message.
//!
//! # The empty message
//!
//! An empty message has no lines, so no final CRLF is added: with [`Framing::Data`] its whole
//! wire form is the end marker `.\r\n`, and with [`Framing::Bdat`] it is 0 octets (sent as
//! `BDAT 0 LAST`). [`bdat_wire_len`] agrees: it returns 0 for an empty body.
//!
//! # Driving it
//!
//! Call [`DataEncoder::encode`] for each chunk, then [`DataEncoder::finish`] once. Each call
//! only appends to the caller's `Vec`; what a call appended is final (nothing is held back),
//! so it can be sent as soon as the call returns.
//!
//! ```
//! use smtpwire::data::{DataEncoder, Framing};
//!
//! let mut encoder = DataEncoder::new(Framing::Data);
//! let mut wire = Vec::new();
//! encoder.encode(b".hidden\nline\r", &mut wire)?;
//! encoder.encode(b"\n.\n", &mut wire)?;
//! encoder.finish(&mut wire);
//! assert_eq!(wire, b"..hidden\r\nline\r\n..\r\n.\r\n");
//! assert_eq!(encoder.wire_len(), wire.len() as u64);
//! # Ok::<(), smtpwire::data::LineTooLong>(())
//! ```

mod clean_run;
mod encoder;
mod wire;

pub use encoder::DataEncoder;

use wire::WireCount;

/// The longest text line RFC 5321 §4.5.3.1.6 allows, line ending excluded.
///
/// The encoder counts a line's octets as they are in the message, before a `.` is doubled.
pub const MAX_LINE_LEN: usize = 998;

/// How the body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// After DATA: lines starting with `.` are doubled and `.\r\n` ends the message.
    Data,
    /// BDAT chunks (RFC 3030): the same line endings, no dot-stuffing, no end marker.
    Bdat,
}

/// A text line longer than the encoder allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the message is longer than {limit} octets")]
pub struct LineTooLong {
    /// The 1-based number of the line (each CR, LF or CRLF ends one line).
    pub line: u64,
    /// The limit it broke.
    pub limit: usize,
}

/// The exact number of octets [`Framing::Bdat`] encoding of `body` produces: the size to
/// announce in `BDAT n LAST`.
///
/// This is what a [`DataEncoder`] with [`Framing::Bdat`] writes for `body` (in any chunks)
/// followed by [`DataEncoder::finish`]: `body.len()`, plus one octet per bare CR and per bare
/// LF, plus 2 when the last line has no ending (0 for an empty body). Nothing is allocated.
///
/// # Errors
///
/// [`LineTooLong`] when a line of `body` is longer than [`MAX_LINE_LEN`], exactly as the
/// encoder would refuse it.
pub fn bdat_wire_len(body: &[u8]) -> Result<u64, LineTooLong> {
    let mut encoder = DataEncoder::new(Framing::Bdat);
    let mut count = WireCount::default();
    encoder.encode_to(body, &mut count)?;
    encoder.finish_to(&mut count);
    Ok(count.total())
}
