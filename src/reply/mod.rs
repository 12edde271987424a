//! Server replies: typed reply codes, enhanced status codes, and a resumable parser.
//!
//! SKELETON: signatures are the contract other modules build on; bodies are filled in by the
//! reply-parser work (issue 2).

mod code;
mod parser;

pub use code::{Category, EnhancedStatusCode, ReplyCode, Severity};
pub use parser::{ReplyError, ReplyLimits, ReplyParser, ReplyRef, Status};

use alloc::vec::Vec;
use core::fmt;

/// A complete server reply, owned: its code, its enhanced status code when the first line
/// carries one, and the text of every line (without the code, separator or line ending).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reply {
    code: ReplyCode,
    enhanced: Option<EnhancedStatusCode>,
    /// The text of all lines, concatenated.
    text: Vec<u8>,
    /// The end offset in `text` of each line; never empty.
    line_ends: Vec<u32>,
}

impl Reply {
    /// Builds a reply from its code and the text of each line (at least one; an empty slice
    /// stands for one empty line). The enhanced status code is parsed from the first line.
    pub fn new(code: ReplyCode, lines: &[&[u8]]) -> Reply {
        let _ = (code, lines);
        todo!()
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
        todo!()
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

/// Shows the code, the enhanced code and the text, with control characters escaped so that
/// a reply can never forge lines in a log.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

/// The text lines of a reply.
#[derive(Clone, Debug)]
pub struct Lines<'a> {
    text: &'a [u8],
    ends: &'a [u32],
    start: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8], ends: &'a [u32]) -> Lines<'a> {
        Lines { text, ends, start: 0 }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (&end, rest) = self.ends.split_first()?;
        let end = end as usize;
        let line = &self.text[self.start..end];
        self.start = end;
        self.ends = rest;
        Some(line)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.ends.len(), Some(self.ends.len()))
    }
}

impl ExactSizeIterator for Lines<'_> {}
