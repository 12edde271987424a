//! The resumable, bounded reply parser.

use super::{EnhancedStatusCode, Reply, ReplyCode};

/// Caps on what one reply may hold; past a cap the parser fails instead of buffering more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyLimits {
    /// The longest line accepted, in octets, line ending excluded.
    pub max_line_len: usize,
    /// The most lines one reply may have.
    pub max_lines: usize,
    /// The most octets one reply may have, line endings included.
    pub max_reply_len: usize,
}

impl Default for ReplyLimits {
    fn default() -> Self {
        todo!()
    }
}

/// Why the bytes received are not a valid reply. Every error is final for the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// Placeholder in the skeleton.
    #[error("invalid reply")]
    Invalid,
}

/// The outcome of one call to [`ReplyParser::parse`].
#[derive(Debug)]
pub enum Status<'p> {
    /// A reply is complete; `consumed` bytes of the input were used.
    Complete {
        /// The reply, borrowed from the parser until its next call.
        reply: ReplyRef<'p>,
        /// How many bytes of the input belong to this reply; the rest belongs to the next one.
        consumed: usize,
    },
    /// All of the input was taken and the reply is not complete yet.
    Partial,
}

/// A complete reply borrowed from the parser's buffer.
#[derive(Clone, Copy, Debug)]
pub struct ReplyRef<'p> {
    parser: &'p ReplyParser,
}

impl<'p> ReplyRef<'p> {
    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        todo!()
    }
    /// The enhanced status code at the start of the first line, if any.
    pub fn enhanced_code(&self) -> Option<EnhancedStatusCode> {
        todo!()
    }
    /// The text of each line, without code, separator or line ending.
    pub fn lines(&self) -> super::Lines<'p> {
        let _ = self.parser;
        todo!()
    }
    /// An owned copy.
    pub fn to_reply(&self) -> Reply {
        todo!()
    }
}

/// A streaming parser for SMTP replies that takes bytes in any split.
#[derive(Debug)]
pub struct ReplyParser {
    limits: ReplyLimits,
}

impl ReplyParser {
    /// A parser with the default limits.
    pub fn new() -> ReplyParser {
        Self::with_limits(ReplyLimits::default())
    }
    /// A parser with the given limits.
    pub fn with_limits(limits: ReplyLimits) -> ReplyParser {
        ReplyParser { limits }
    }
    /// Takes a prefix of `input` and reports whether a reply is complete.
    pub fn parse(&mut self, input: &[u8]) -> Result<Status<'_>, ReplyError> {
        let _ = input;
        todo!()
    }
    /// The number of bytes buffered of the reply in progress.
    pub fn buffered_len(&self) -> usize {
        todo!()
    }
}

impl Default for ReplyParser {
    fn default() -> Self {
        Self::new()
    }
}
