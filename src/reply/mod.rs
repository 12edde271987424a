//! Server replies: typed reply codes, enhanced status codes, and a resumable parser.
//!
//! * [`ReplyCode`], [`Severity`], [`Category`] and [`EnhancedStatusCode`] give names to the
//!   numbers of RFC 5321 §4.2 and RFC 3463.
//! * [`ReplyParser`] turns bytes from the server, split any way the network likes, into
//!   replies. It is linear (every byte is looked at a bounded number of times), bounded
//!   ([`ReplyLimits`]), allocation-free once warmed up, and never panics on any input.
//! * [`ReplyRef`] is a complete reply borrowed from the parser; [`Reply`] is an owned one.
//!
//! A reply has one or more lines that all carry the same code; every line but the last has a
//! `-` behind the code (RFC 5321 §4.2.1):
//!
//! ```
//! use smtpwire::reply::{EnhancedStatusCode, ReplyCode, ReplyParser, Status};
//!
//! let mut parser = ReplyParser::new();
//! let input = b"250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 10240000\r\n";
//! let Ok(Status::Complete { reply, consumed }) = parser.parse(input) else {
//!     panic!("a complete reply");
//! };
//! assert_eq!(consumed, input.len());
//! assert_eq!(reply.code(), ReplyCode::OK);
//! let lines: Vec<&[u8]> = reply.lines().collect();
//! assert_eq!(lines, [&b"mx.example.org"[..], b"PIPELINING", b"SIZE 10240000"]);
//!
//! let Ok(Status::Complete { reply, .. }) = parser.parse(b"421 4.4.2 timeout exceeded\r\n")
//! else {
//!     panic!("a complete reply");
//! };
//! assert_eq!(reply.enhanced_code(), EnhancedStatusCode::new(4, 4, 2));
//! assert_eq!(reply.message(), b"timeout exceeded");
//! assert_eq!(reply.to_string(), "421 4.4.2 timeout exceeded");
//! ```

mod code;
mod grammar;
mod parser;
mod render;

pub use code::{Category, EnhancedStatusCode, InvalidReplyCode, ReplyCode, Severity};
pub use parser::{ReplyError, ReplyLimits, ReplyParser, Status};

use alloc::vec::Vec;
use core::fmt;

/// A complete server reply, owned: its code, its enhanced status code when the first line
/// carries one, and the text of every line (without the code, separator or line ending).
///
/// `Display` prints `421 4.4.2 text of line one text of line two`, with invalid UTF-8
/// replaced and every control or line-breaking character escaped, so a reply can never forge
/// lines in a log. `Debug` shows each line as a quoted, escaped string.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reply {
    code: ReplyCode,
    enhanced: Option<EnhancedStatusCode>,
    /// The text of all lines, concatenated.
    text: Vec<u8>,
    /// The end offset in `text` of each line, ascending; never empty.
    line_ends: Vec<usize>,
}

impl Reply {
    /// Builds a reply from its code and the text of each line (at least one; an empty slice
    /// stands for one empty line). The enhanced status code is parsed from the first line.
    ///
    /// The text is taken as given: nothing checks it for line breaks (`Display` escapes them).
    ///
    /// ```
    /// use smtpwire::reply::{Reply, ReplyCode};
    ///
    /// let reply = Reply::new(ReplyCode::OK, &[b"2.0.0 Ok: queued as 4ZkQ3x1s2F"]);
    /// assert_eq!(reply.enhanced_code().map(|e| e.to_string()), Some("2.0.0".into()));
    /// assert_eq!(reply.message(), b"Ok: queued as 4ZkQ3x1s2F");
    /// assert_eq!(Reply::new(ReplyCode::OK, &[]).lines().collect::<Vec<_>>(), [b""]);
    /// ```
    pub fn new(code: ReplyCode, lines: &[&[u8]]) -> Reply {
        let lines = if lines.is_empty() {
            &[&b""[..]][..]
        } else {
            lines
        };
        let mut text = Vec::with_capacity(lines.iter().map(|line| line.len()).sum());
        let mut line_ends = Vec::with_capacity(lines.len());
        for line in lines {
            text.extend_from_slice(line);
            line_ends.push(text.len());
        }
        let enhanced = grammar::split_enhanced_code(lines.first().copied().unwrap_or_default()).0;
        Reply {
            code,
            enhanced,
            text,
            line_ends,
        }
    }

    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status code (RFC 3463) at the start of the first line, if there is one.
    pub fn enhanced_code(&self) -> Option<EnhancedStatusCode> {
        self.enhanced
    }

    /// The text of each line, in order, without code, separator or line ending. Never empty.
    pub fn lines(&self) -> Lines<'_> {
        Lines::new(&self.text, &self.line_ends)
    }

    /// The first line's text after the enhanced status code (if any) and the space behind it.
    pub fn message(&self) -> &[u8] {
        self.borrowed().message()
    }

    /// The reply as a [`ReplyRef`], the form the parser hands out.
    fn borrowed(&self) -> ReplyRef<'_> {
        ReplyRef::from_parts(self.code, self.enhanced, &self.text, &self.line_ends)
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render::debug_reply("Reply", self.borrowed(), f)
    }
}

/// Shows the code, the enhanced code and the text, with control characters escaped so that
/// a reply can never forge lines in a log.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render::display_reply(self.borrowed(), f)
    }
}

/// A complete reply borrowed from the parser's buffer, valid until the parser's next call.
///
/// It offers what [`Reply`] offers without copying; [`ReplyRef::to_reply`] makes an owned
/// copy to keep.
#[derive(Clone, Copy)]
pub struct ReplyRef<'p> {
    code: ReplyCode,
    enhanced: Option<EnhancedStatusCode>,
    text: &'p [u8],
    line_ends: &'p [usize],
}

impl<'p> ReplyRef<'p> {
    /// A view of a reply whose lines end at `line_ends` (ascending offsets into `text`, at
    /// least one).
    pub(crate) fn from_parts(
        code: ReplyCode,
        enhanced: Option<EnhancedStatusCode>,
        text: &'p [u8],
        line_ends: &'p [usize],
    ) -> ReplyRef<'p> {
        ReplyRef {
            code,
            enhanced,
            text,
            line_ends,
        }
    }
    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }
    /// The enhanced status code at the start of the first line, if any.
    pub fn enhanced_code(&self) -> Option<EnhancedStatusCode> {
        self.enhanced
    }
    /// The text of each line, without code, separator or line ending. Never empty.
    pub fn lines(&self) -> Lines<'p> {
        Lines::new(self.text, self.line_ends)
    }
    /// The first line's text after the enhanced status code (if any) and the space behind it.
    pub fn message(&self) -> &'p [u8] {
        let first_line = self.lines().next().unwrap_or_default();
        if self.enhanced.is_some() {
            grammar::split_enhanced_code(first_line).1
        } else {
            first_line
        }
    }
    /// An owned copy.
    pub fn to_reply(&self) -> Reply {
        Reply {
            code: self.code,
            enhanced: self.enhanced,
            text: self.text.to_vec(),
            line_ends: self.line_ends.to_vec(),
        }
    }
}

impl fmt::Debug for ReplyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render::debug_reply("ReplyRef", *self, f)
    }
}

/// The same as [`Reply`]'s `Display`.
impl fmt::Display for ReplyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render::display_reply(*self, f)
    }
}

impl PartialEq<Reply> for ReplyRef<'_> {
    fn eq(&self, other: &Reply) -> bool {
        self.code == other.code
            && self.enhanced == other.enhanced
            && self.text == other.text.as_slice()
            && self.line_ends == other.line_ends.as_slice()
    }
}

impl PartialEq<ReplyRef<'_>> for Reply {
    fn eq(&self, other: &ReplyRef<'_>) -> bool {
        other == self
    }
}

/// The text lines of a reply.
#[derive(Clone, Debug)]
pub struct Lines<'a> {
    text: &'a [u8],
    ends: &'a [usize],
    start: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8], ends: &'a [usize]) -> Lines<'a> {
        Lines {
            text,
            ends,
            start: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (&end, rest) = self.ends.split_first()?;
        // Both constructors record ascending ends no greater than `text.len()`; `get` keeps a
        // broken invariant from panicking all the same.
        let line = self.text.get(self.start..end).unwrap_or_default();
        self.start = end;
        self.ends = rest;
        Some(line)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.ends.len(), Some(self.ends.len()))
    }
}

impl ExactSizeIterator for Lines<'_> {}
