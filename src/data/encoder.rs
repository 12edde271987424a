//! The streaming body encoder.

use super::clean_run::{BLOCK, CleanRun, clean_run};
use super::wire::Wire;
use super::{Framing, LineTooLong, MAX_LINE_LEN};
use alloc::vec::Vec;

/// The longest the fast path is left unused after a miss (less than a block skipped): the
/// pause doubles from [`BLOCK`] after each miss, up to this (the transport's chunk size).
const MAX_FAST_PATH_PAUSE: usize = 64 * 1024;

/// The end-of-data marker; the CRLF before it ends the last line.
const END_MARKER: &[u8] = b".\r\n";
const CRLF: &[u8] = b"\r\n";

/// A streaming encoder from message bytes, in chunks of any size, to wire bytes: bare CR and
/// bare LF become CRLF, and with [`Framing::Data`] a `.` starting a line is doubled.
///
/// The wire bytes do not depend on how the message is split into chunks. Between calls the
/// encoder keeps a few words of state and none of the message.
///
/// # After an error
///
/// When a line is longer than [`MAX_LINE_LEN`], [`encode`](Self::encode) returns
/// [`LineTooLong`] and the error sticks: every later `encode` returns it again and writes
/// nothing, and [`finish`](Self::finish) writes nothing, so the message can never be ended.
/// The `out` of the failing call then ends with the wire form of the message up to and
/// including the 998th octet of the too-long line (its doubled dot included), with no line
/// ending after it; as for every call, only octets were appended. The caller must abandon the
/// message and drop the connection: the server, seeing no end marker, discards the message.
#[derive(Clone, Debug)]
pub struct DataEncoder {
    framing: Framing,
    state: State,
    /// Octets of the current line so far, as in the message, ending excluded. It is 0 exactly
    /// when the next octet starts a line, and never more than [`MAX_LINE_LEN`].
    line_len: usize,
    /// The 1-based number of the current line.
    line: u64,
    /// The previous chunk ended with a CR, already written as CRLF: an LF opening the next
    /// chunk is its second half and is dropped.
    after_cr: bool,
    /// Octets written so far.
    wire_len: u64,
}

/// Where an encoder is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Taking chunks.
    Open,
    /// `finish` ran: the message is complete.
    Finished,
    /// A line was too long: nothing more is ever written.
    Failed(LineTooLong),
}

impl DataEncoder {
    /// An encoder for `framing` that refuses lines over [`MAX_LINE_LEN`].
    pub fn new(framing: Framing) -> DataEncoder {
        DataEncoder {
            framing,
            state: State::Open,
            line_len: 0,
            line: 1,
            after_cr: false,
            wire_len: 0,
        }
    }

    /// Appends the wire form of `chunk` to `out`, which is never cleared or read.
    ///
    /// A CR at the end of `chunk` is written as CRLF at once; if the next chunk starts with
    /// an LF, that LF is its second half and is dropped. Everything appended is final.
    ///
    /// After [`finish`](Self::finish) this writes nothing and returns `Ok(())` (a caller bug:
    /// the message is already complete).
    ///
    /// # Errors
    ///
    /// [`LineTooLong`] when a line gets longer than [`MAX_LINE_LEN`]; see the type's
    /// documentation for what `out` holds then. The error sticks.
    pub fn encode(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), LineTooLong> {
        let before = out.len();
        let result = self.encode_to(chunk, out);
        self.count_written(before, out);
        result
    }

    /// Ends the message: writes a final CRLF when the last line has none and, with
    /// [`Framing::Data`], the terminating `.\r\n`. An empty message gets no CRLF.
    ///
    /// Writes nothing after an error (see [`error`](Self::error)) or when called again.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let before = out.len();
        self.finish_to(out);
        self.count_written(before, out);
    }

    /// The number of octets written to the wire so far (end marker included once finished).
    #[must_use]
    pub fn wire_len(&self) -> u64 {
        self.wire_len
    }

    /// The framing this encoder was made for.
    #[must_use]
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The error that stopped the encoder, if any.
    #[must_use]
    pub fn error(&self) -> Option<LineTooLong> {
        match self.state {
            State::Failed(error) => Some(error),
            State::Open | State::Finished => None,
        }
    }

    /// Whether [`finish`](Self::finish) completed the message (false after an error).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    fn count_written(&mut self, before: usize, out: &[u8]) {
        // Only appends happen between `before` and now, so the subtraction cannot underflow;
        // usize is at most 64 bits, so the cast is lossless.
        self.wire_len += (out.len() - before) as u64;
    }

    /// [`encode`](Self::encode) into any [`Wire`].
    ///
    /// Octets that go out unchanged (CRLF pairs included) are copied in one run, cut only
    /// where something is inserted: a doubled dot, or the LF of a bare CR or the CR of a bare
    /// LF. The exact path finds line endings one by one with `memchr2`; before each, the fast
    /// path ([`clean_run`]) skips whole blocks of clean CRLF text. When the fast path skips
    /// less than a block (a body with bare LFs, say), it pauses for a distance that doubles
    /// each time, so such bodies pay little for it.
    pub(super) fn encode_to<W: Wire>(
        &mut self,
        chunk: &[u8],
        out: &mut W,
    ) -> Result<(), LineTooLong> {
        match self.state {
            State::Open => {}
            State::Finished => return Ok(()),
            State::Failed(error) => return Err(error),
        }
        let stuff_dots = self.framing == Framing::Data;
        // `chunk[..written]` is on the wire (or dropped); `chunk[written..pos]` is a run of
        // octets still to copy unchanged; `pos` is where the scan resumes, always inside the
        // current line, which already has `line_len` octets before `pos`.
        // Invariant: written <= pos <= chunk.len().
        let mut written = 0;
        let mut pos = 0;
        let mut line_len = self.line_len;
        // The fast path is next tried at `fast_from`, then paused for `fast_pause` after a
        // miss.
        let mut fast_from = 0;
        let mut fast_pause = BLOCK;
        if let Some(&first) = chunk.first() {
            if self.after_cr {
                self.after_cr = false;
                if first == b'\n' {
                    written = 1;
                    pos = 1;
                }
            }
        }
        // Each turn either returns or moves `pos` past a line ending, so the loop ends.
        loop {
            // `pos <= chunk.len()` (invariant), so this slice cannot panic.
            let rest = &chunk[pos..];
            if line_len == 0 && stuff_dots && rest.first() == Some(&b'.') {
                // `written <= pos` (invariant).
                out.put(&chunk[written..pos]);
                out.put(b".");
                // The dot itself stays at the start of the next run.
                written = pos;
            }
            if pos >= fast_from {
                // `pos` is not inside a CRLF (an ending is always consumed whole), a dot
                // starting the line is dealt with just above, and `line_len <= MAX_LINE_LEN`:
                // what `clean_run` requires.
                let run: CleanRun = clean_run(rest, line_len, stuff_dots);
                // `run.len <= rest.len()`, so `pos` stays within the chunk.
                pos += run.len;
                self.line += run.endings;
                line_len = run.line_len;
                if run.len < BLOCK {
                    // Not even a block: a miss.
                    fast_from = pos + fast_pause;
                    fast_pause = (fast_pause * 2).min(MAX_FAST_PATH_PAUSE);
                } else {
                    fast_pause = BLOCK;
                }
            }
            // `pos <= chunk.len()` (invariant).
            let rest = &chunk[pos..];
            let ending = memchr::memchr2(b'\r', b'\n', rest);
            let content = ending.unwrap_or(rest.len());
            if content > MAX_LINE_LEN - line_len {
                // `line_len <= MAX_LINE_LEN` (field invariant) so the subtraction above cannot
                // underflow, and `allowed < pos + content <= chunk.len()`.
                let allowed = pos + (MAX_LINE_LEN - line_len);
                out.put(&chunk[written..allowed]);
                let error = LineTooLong {
                    line: self.line,
                    limit: MAX_LINE_LEN,
                };
                self.state = State::Failed(error);
                return Err(error);
            }
            let Some(end) = ending else {
                // `written <= chunk.len()` (invariant).
                out.put(&chunk[written..]);
                self.line_len = line_len + content;
                return Ok(());
            };
            // `end` is an index memchr2 found in `rest`, so `rest[end]` exists.
            let is_cr = rest[end] == b'\r';
            self.line += 1;
            line_len = 0;
            if is_cr && rest.get(end + 1) == Some(&b'\n') {
                // Already CRLF: it stays in the run.
                pos += end + 2;
                continue;
            }
            // A bare CR or a bare LF: copy the run up to it, then write CRLF in its place.
            // `written <= pos <= pos + end < chunk.len()`.
            out.put(&chunk[written..pos + end]);
            out.put(CRLF);
            pos += end + 1;
            written = pos;
            if is_cr && pos == chunk.len() {
                self.after_cr = true;
            }
        }
    }

    /// [`finish`](Self::finish) into any [`Wire`].
    pub(super) fn finish_to<W: Wire>(&mut self, out: &mut W) {
        if self.state != State::Open {
            return;
        }
        self.state = State::Finished;
        if self.line_len > 0 {
            out.put(CRLF);
        }
        if self.framing == Framing::Data {
            out.put(END_MARKER);
        }
    }
}
