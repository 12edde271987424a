//! Where a message body goes as it arrives: kept (up to the cap) or only measured, always
//! hashed and scanned for line lengths and bare line endings.

use super::record::Fnv1a64;

/// Accumulates one message body (after un-stuffing, or BDAT chunk data).
#[derive(Clone, Debug)]
pub(crate) struct BodySink {
    keep: bool,
    cap: u64,
    kept: Vec<u8>,
    len: u64,
    hasher: Fnv1a64,
    line_len: u64,
    longest_line: u64,
    pending_cr: bool,
    bare_cr: u64,
    bare_lf: u64,
}

/// The measurements of a finished (or abandoned) body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BodySummary {
    pub(crate) kept: Option<Vec<u8>>,
    pub(crate) len: u64,
    pub(crate) hash: u64,
    pub(crate) over_limit: bool,
    pub(crate) longest_line: u64,
    pub(crate) bare_cr: u64,
    pub(crate) bare_lf: u64,
}

impl BodySink {
    /// A sink keeping at most `cap` octets when `keep` is set; longer bodies are flagged
    /// over the limit.
    pub(crate) fn new(keep: bool, cap: u64) -> Self {
        BodySink {
            keep,
            cap,
            kept: Vec::new(),
            len: 0,
            hasher: Fnv1a64::new(),
            line_len: 0,
            longest_line: 0,
            pending_cr: false,
            bare_cr: 0,
            bare_lf: 0,
        }
    }

    /// Whether the body is already longer than the cap.
    pub(crate) fn over_limit(&self) -> bool {
        self.len > self.cap
    }

    /// Adds body octets.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        if self.keep {
            let room = self.cap.saturating_sub(self.kept.len() as u64);
            let take = usize::try_from(room).map_or(bytes.len(), |room| room.min(bytes.len()));
            self.kept.extend_from_slice(&bytes[..take]);
        }
        self.len = self.len.saturating_add(bytes.len() as u64);
        self.hasher.update(bytes);
        self.scan_lines(bytes);
    }

    fn scan_lines(&mut self, bytes: &[u8]) {
        let mut run_start = 0;
        for position in memchr::memchr2_iter(b'\r', b'\n', bytes) {
            self.add_content(position - run_start);
            // memchr reports positions inside `bytes`, so the index is in range.
            if bytes[position] == b'\n' {
                if self.pending_cr {
                    self.pending_cr = false;
                } else {
                    self.bare_lf += 1;
                }
                self.end_line();
            } else {
                self.settle_pending_cr();
                self.pending_cr = true;
            }
            run_start = position + 1;
        }
        self.add_content(bytes.len() - run_start);
    }

    fn add_content(&mut self, octets: usize) {
        if octets > 0 {
            self.settle_pending_cr();
            self.line_len += octets as u64;
        }
    }

    /// A CR that turned out not to be followed by LF is a bare CR and line content.
    fn settle_pending_cr(&mut self) {
        if self.pending_cr {
            self.pending_cr = false;
            self.bare_cr += 1;
            self.line_len += 1;
        }
    }

    fn end_line(&mut self) {
        self.longest_line = self.longest_line.max(self.line_len);
        self.line_len = 0;
    }

    /// The measurements so far; a CR at the very end counts as bare.
    pub(crate) fn finish(mut self) -> BodySummary {
        self.settle_pending_cr();
        self.end_line();
        BodySummary {
            kept: self.keep.then_some(self.kept),
            len: self.len,
            hash: self.hasher.finish(),
            over_limit: self.len > self.cap,
            longest_line: self.longest_line,
            bare_cr: self.bare_cr,
            bare_lf: self.bare_lf,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::record::fnv1a64;

    fn summary(pieces: &[&[u8]], keep: bool, cap: u64) -> BodySummary {
        let mut sink = BodySink::new(keep, cap);
        for piece in pieces {
            sink.write(piece);
        }
        sink.finish()
    }

    #[test]
    fn measures_lines_and_bare_endings_across_pieces() {
        let body = summary(&[b"abc\r", b"\nlonger line\r", b"x\ny\r\n"], true, 100);
        assert_eq!(
            body.kept.as_deref(),
            Some(&b"abc\r\nlonger line\rx\ny\r\n"[..])
        );
        assert_eq!(body.longest_line, 13);
        assert_eq!((body.bare_cr, body.bare_lf), (1, 1));
        assert_eq!(body.hash, fnv1a64(b"abc\r\nlonger line\rx\ny\r\n"));
        let trailing = summary(&[b"a\r"], true, 100);
        assert_eq!((trailing.bare_cr, trailing.longest_line), (1, 2));
    }

    #[test]
    fn cap_limits_what_is_kept_but_not_what_is_measured() {
        let body = summary(&[b"0123", b"456789"], true, 5);
        assert_eq!(body.kept.as_deref(), Some(&b"01234"[..]));
        assert_eq!(body.len, 10);
        assert!(body.over_limit);
        assert_eq!(body.hash, fnv1a64(b"0123456789"));

        let unkept = summary(&[b"0123456789"], false, 100);
        assert_eq!(unkept.kept, None);
        assert_eq!(unkept.len, 10);
        assert!(!unkept.over_limit);
    }
}
