//! The resumable, bounded reply parser.
//!
//! # How it stays linear
//!
//! The parser keeps the line in progress (when a line spans calls) and the text of the
//! complete lines of the reply in progress. Each call searches for LF only in the bytes it is
//! given, and only as far as the caps allow; a complete line is split by the grammar once,
//! its text is appended once. Nothing already scanned is scanned again, so feeding a reply
//! one byte at a time costs the same, up to a constant, as feeding it whole.
//!
//! # How the caps stay exact in any split
//!
//! Both size caps are judged on the bytes of the line in progress as they arrive, not only at
//! its LF: after `k` bytes of a line (no LF yet) the reply is too large once
//! `reply_len + k + 1 > max_reply_len` (even an LF right now would not fit), and the line is
//! too long once its `k` bytes, less a final CR that may still start the line ending, exceed
//! `max_line_len`. These are the very conditions a line of `k` bytes fails at its LF, so the
//! error reported is the one of the first byte that proves it, whichever way the input was
//! split. The line's code, separator and the line count are judged at its LF.

use super::grammar::{ReplyLine, parse_line, split_enhanced_code};
use super::{EnhancedStatusCode, ReplyCode, ReplyRef};
use alloc::vec::Vec;
use core::fmt;

/// Caps on what one reply may hold; past a cap the parser fails instead of buffering more.
///
/// The defaults (4096 octets a line, 512 lines, 64 KiB a reply) are far above what real
/// servers send: RFC 5321 §4.5.3.1.5 caps a reply line at 512 octets, and the longest EHLO
/// replies have about 20 lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyLimits {
    /// The longest line accepted, in octets, line ending excluded (code and separator
    /// included).
    pub max_line_len: usize,
    /// The most lines one reply may have.
    pub max_lines: usize,
    /// The most octets one reply may have, line endings included.
    pub max_reply_len: usize,
}

impl ReplyLimits {
    /// 4096 octets a line, line ending excluded.
    pub const DEFAULT_MAX_LINE_LEN: usize = 4096;
    /// 512 lines a reply.
    pub const DEFAULT_MAX_LINES: usize = 512;
    /// 64 KiB a reply, line endings included.
    pub const DEFAULT_MAX_REPLY_LEN: usize = 64 * 1024;
}

impl Default for ReplyLimits {
    fn default() -> Self {
        ReplyLimits {
            max_line_len: Self::DEFAULT_MAX_LINE_LEN,
            max_lines: Self::DEFAULT_MAX_LINES,
            max_reply_len: Self::DEFAULT_MAX_REPLY_LEN,
        }
    }
}

/// Why the bytes received are not a valid reply. Every error is final for the connection.
///
/// All of them are the server's fault (a protocol violation); none depends on how the input
/// was split into calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line does not start with three digits, or the first digit is not 2 to 5.
    #[error("reply line does not start with a reply code (three digits, the first 2 to 5)")]
    InvalidCode,
    /// The code is followed by something other than a space, `-` or the line ending.
    #[error("reply code followed by something other than a space, '-' or the line ending")]
    InvalidSeparator,
    /// A line of a multi-line reply carries another code than the first line.
    #[error("multi-line reply mixes codes: {first} then {found}")]
    MismatchedCode {
        /// The code of the reply's first line.
        first: ReplyCode,
        /// The different code of a later line.
        found: ReplyCode,
    },
    /// A line is longer than [`ReplyLimits::max_line_len`].
    #[error("reply line longer than the limit")]
    LineTooLong,
    /// A reply has more lines than [`ReplyLimits::max_lines`].
    #[error("reply has more lines than the limit")]
    TooManyLines,
    /// A reply is longer than [`ReplyLimits::max_reply_len`].
    #[error("reply longer than the limit")]
    ReplyTooLarge,
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

/// A streaming parser for SMTP replies that takes bytes in any split.
///
/// Feed it bytes as they arrive; each call takes a prefix of its input and says whether a
/// reply is complete:
///
/// * [`Status::Complete`]: the reply is done; the first `consumed` bytes of this input
///   belonged to it. Bytes after them were **not** taken: they start the next reply (with
///   pipelining, several replies often arrive in one read), so call `parse` again with them.
/// * [`Status::Partial`]: every byte of this input was taken; call again with new bytes.
/// * `Err(_)`: the server broke the protocol. The error sticks: every later call returns it
///   (until [`ReplyParser::reset`]), and the connection should be closed.
///
/// # Warning
///
/// Unlike `httparse`, this parser remembers what it was given: feed each byte **exactly
/// once**. After `Partial`, pass only the bytes that arrived since, never the whole growing
/// buffer again (that would feed its start twice). After `Complete`, pass the bytes after
/// `consumed`, which the parser has not taken.
///
/// # Limits and allocation
///
/// The parser never holds more than [`ReplyLimits`] allow and reports an error as soon as the
/// bytes received prove that a cap is exceeded, even in the middle of a line. It reserves its
/// buffers when it is built (a line of up to `max_line_len` octets, up to 64 KiB), so parsing a
/// single-line reply never allocates; longer replies grow the buffers, which keep their
/// capacity for the next replies.
///
/// ```
/// use smtpwire::reply::{ReplyCode, ReplyParser, Status};
///
/// let mut parser = ReplyParser::new();
/// // Two pipelined replies, the second one split across reads.
/// let reads: [&[u8]; 2] = [b"250 2.1.0 Ok\r\n250-2.1.5 O", b"k\r\n250 more\r\n"];
/// let mut replies = Vec::new();
/// for read in reads {
///     let mut rest = read;
///     while let Status::Complete { reply, consumed } = parser.parse(rest)? {
///         replies.push(reply.to_reply());
///         rest = &rest[consumed..];
///     }
/// }
/// assert_eq!(replies.len(), 2);
/// assert_eq!(replies[1].lines().count(), 2);
/// assert!(replies.iter().all(|reply| reply.code() == ReplyCode::OK));
/// # Ok::<(), smtpwire::reply::ReplyError>(())
/// ```
pub struct ReplyParser {
    limits: ReplyLimits,
    phase: Phase,
    /// The bytes of a line whose LF has not arrived yet, when it started in an earlier call.
    line: Vec<u8>,
    /// The complete lines of the reply in progress, or of the reply just delivered.
    reply: Assembly,
}

/// Where the parser stands between calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Between or inside replies: the next bytes continue the reply in progress.
    Receiving,
    /// The last call returned the complete reply in `reply`; the next call starts afresh.
    Delivered,
    /// The server broke the protocol; nothing more is parsed.
    Failed(ReplyError),
}

/// The complete lines of one reply.
#[derive(Debug, Default)]
struct Assembly {
    /// The code of the first line, once it is complete.
    code: Option<ReplyCode>,
    enhanced: Option<EnhancedStatusCode>,
    /// The text of every complete line, concatenated.
    text: Vec<u8>,
    /// The end of each line's text in `text`.
    line_ends: Vec<usize>,
    /// The octets of the complete lines, line endings included.
    len: usize,
}

/// Reserved up front for each buffer at most, whatever the limits say.
const MAX_UP_FRONT: usize = 64 * 1024;
/// Line ends reserved up front: enough for the EHLO replies of common servers.
const LINES_UP_FRONT: usize = 32;

impl ReplyParser {
    /// A parser with the default limits.
    pub fn new() -> ReplyParser {
        Self::with_limits(ReplyLimits::default())
    }

    /// A parser with the given limits. It reserves room for one line of up to
    /// `max_line_len` octets (at most 64 KiB) right away.
    pub fn with_limits(limits: ReplyLimits) -> ReplyParser {
        let line_room = limits
            .max_line_len
            .min(limits.max_reply_len)
            .min(MAX_UP_FRONT);
        ReplyParser {
            limits,
            phase: Phase::Receiving,
            // The line buffer may also hold a CR that turns out to start the line ending.
            line: Vec::with_capacity(line_room + 1),
            reply: Assembly {
                text: Vec::with_capacity(line_room),
                line_ends: Vec::with_capacity(limits.max_lines.clamp(1, LINES_UP_FRONT)),
                ..Assembly::default()
            },
        }
    }

    /// The limits this parser enforces.
    pub fn limits(&self) -> ReplyLimits {
        self.limits
    }

    /// Takes a prefix of `input` and reports whether a reply is complete.
    ///
    /// See the type's documentation for what each outcome asks of the caller, and its
    /// `# Warning` on feeding every byte exactly once.
    pub fn parse(&mut self, input: &[u8]) -> Result<Status<'_>, ReplyError> {
        match self.phase {
            Phase::Failed(error) => return Err(error),
            Phase::Delivered => {
                self.reply.clear();
                self.phase = Phase::Receiving;
            }
            Phase::Receiving => {}
        }
        match self.take(input) {
            Ok(Some((consumed, code))) => {
                self.phase = Phase::Delivered;
                let reply = ReplyRef::from_parts(
                    code,
                    self.reply.enhanced,
                    &self.reply.text,
                    &self.reply.line_ends,
                );
                Ok(Status::Complete { reply, consumed })
            }
            Ok(None) => Ok(Status::Partial),
            Err(error) => {
                self.phase = Phase::Failed(error);
                self.line.clear();
                self.reply.clear();
                Err(error)
            }
        }
    }

    /// The number of bytes buffered of the reply in progress: the octets received of it, line
    /// endings included. Zero between replies (after `Complete`) and after an error; never
    /// more than [`ReplyLimits::max_reply_len`].
    pub fn buffered_len(&self) -> usize {
        match self.phase {
            Phase::Receiving => self.reply.len + self.line.len(),
            Phase::Delivered | Phase::Failed(_) => 0,
        }
    }

    /// The error the parser failed with, if it did.
    pub fn error(&self) -> Option<ReplyError> {
        match self.phase {
            Phase::Failed(error) => Some(error),
            Phase::Receiving | Phase::Delivered => None,
        }
    }

    /// Forgets the reply in progress and any error, keeping the limits and the buffers'
    /// capacity: the parser is as good as new. Use it when the byte stream starts over, for
    /// instance after the TLS handshake that follows STARTTLS, where nothing received before
    /// may be read as a reply.
    pub fn reset(&mut self) {
        self.phase = Phase::Receiving;
        self.line.clear();
        self.reply.clear();
    }

    /// Takes bytes until a reply is complete, returning how many it took and the reply's code,
    /// or takes all of `input` and returns `None`.
    fn take(&mut self, input: &[u8]) -> Result<Option<(usize, ReplyCode)>, ReplyError> {
        let mut rest = input;
        // Every pass either ends the call or completes a line, taking at least its LF from
        // `rest`: the loop runs at most once per LF in the input, plus once.
        loop {
            let (window, _) = rest.split_at(rest.len().min(self.room()));
            match memchr::memchr(b'\n', window) {
                Some(lf) => {
                    // `memchr` found the LF inside `window`: `lf < window.len()`.
                    let body = &window[..lf];
                    self.check_caps(body)?;
                    let finished = self
                        .reply
                        .push(end_line(&mut self.line, body), &self.limits);
                    self.line.clear();
                    let taken = lf + 1;
                    if let Some(code) = finished? {
                        return Ok(Some((input.len() - rest.len() + taken, code)));
                    }
                    // `lf < window.len() <= rest.len()`, so `taken <= rest.len()`.
                    rest = &rest[taken..];
                }
                None if rest.is_empty() => return Ok(None),
                None => {
                    self.check_caps(window)?;
                    // No cap fired, so the window was not cut short: it is all of `rest`.
                    debug_assert_eq!(window.len(), rest.len());
                    self.line.extend_from_slice(window);
                    return Ok(None);
                }
            }
        }
    }

    /// How many more bytes of the line in progress can be looked at: past them, a cap has
    /// surely been exceeded (see [`ReplyParser::check_caps`]).
    fn room(&self) -> usize {
        let reply_room = self.limits.max_reply_len.saturating_sub(self.reply.len);
        let line_room = self.limits.max_line_len.saturating_add(2);
        reply_room.min(line_room).saturating_sub(self.line.len())
    }

    /// Judges the line in progress grown by `new` bytes (none of them an LF), by the first
    /// byte that proves a cap exceeded; see the module documentation.
    fn check_caps(&self, new: &[u8]) -> Result<(), ReplyError> {
        let seen = self.line.len();
        let total = seen + new.len();
        // The line length at which the reply no longer fits, not even with an LF right away.
        let reply_full = self.limits.max_reply_len.saturating_sub(self.reply.len);
        // One byte past `max_line_len` proves the line too long, unless that byte is a CR,
        // which may start the line ending; then the byte after it does.
        let first_over = self.limits.max_line_len.saturating_add(1);
        let line_over = match first_over.checked_sub(seen + 1).and_then(|at| new.get(at)) {
            Some(&byte) if byte != b'\r' => first_over,
            // Either that byte is still to come, or it arrived in an earlier call, where it
            // would have failed unless it was a CR.
            _ => first_over.saturating_add(1),
        };
        if reply_full <= total && reply_full <= line_over {
            Err(ReplyError::ReplyTooLarge)
        } else if line_over <= total {
            Err(ReplyError::LineTooLong)
        } else {
            Ok(())
        }
    }
}

/// The complete line made of the `buffered` bytes and `body`, with one CR stripped from its end,
/// and its length on the wire (LF included).
fn end_line<'a>(buffered: &'a mut Vec<u8>, body: &'a [u8]) -> (&'a [u8], usize) {
    let line: &[u8] = if buffered.is_empty() {
        body
    } else {
        buffered.extend_from_slice(body);
        buffered
    };
    (line.strip_suffix(b"\r").unwrap_or(line), line.len() + 1)
}

impl Assembly {
    fn clear(&mut self) {
        self.code = None;
        self.enhanced = None;
        self.text.clear();
        self.line_ends.clear();
        self.len = 0;
    }

    /// Adds a complete line (its content and its length on the wire) and returns the reply's
    /// code if it was the last one.
    fn push(
        &mut self,
        (content, wire_len): (&[u8], usize),
        limits: &ReplyLimits,
    ) -> Result<Option<ReplyCode>, ReplyError> {
        let ReplyLine {
            code,
            is_last,
            text,
        } = parse_line(content)?;
        match self.code {
            None => {
                self.code = Some(code);
                self.enhanced = split_enhanced_code(text).0;
            }
            Some(first) if first != code => {
                return Err(ReplyError::MismatchedCode { first, found: code });
            }
            Some(_) => {}
        }
        if self.line_ends.len() >= limits.max_lines {
            return Err(ReplyError::TooManyLines);
        }
        self.text.extend_from_slice(text);
        self.line_ends.push(self.text.len());
        self.len += wire_len;
        if is_last {
            return Ok(Some(code));
        }
        // Another line must follow: fail now if it cannot fit.
        if self.line_ends.len() >= limits.max_lines {
            Err(ReplyError::TooManyLines)
        } else if self.len >= limits.max_reply_len {
            Err(ReplyError::ReplyTooLarge)
        } else {
            Ok(None)
        }
    }
}

impl Default for ReplyParser {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ReplyParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyParser")
            .field("limits", &self.limits)
            .field("phase", &self.phase)
            .field("lines", &self.reply.line_ends.len())
            .field("buffered_len", &self.buffered_len())
            .finish()
    }
}
