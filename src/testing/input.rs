//! The connection's receive buffer: splits command lines with a length cap, hands body
//! octets out as they are, and tracks which reads delivered body octets.

use std::collections::VecDeque;

/// When the consumed prefix is at least this long, it is dropped from the buffer.
const COMPACT_AFTER: usize = 64 * 1024;

/// A line taken from the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A complete line without its ending; `crlf` is false for a bare-LF ending.
    Complete { bytes: Vec<u8>, crlf: bool },
    /// A line longer than the cap ended; its content was thrown away.
    TooLong,
}

/// Received octets not yet consumed.
///
/// Memory stays bounded: the unconsumed part holds at most one partial line of up to the
/// cap (a longer one is discarded as it arrives) plus whatever the last read delivered.
#[derive(Debug, Default)]
pub(crate) struct InputBuffer {
    data: Vec<u8>,
    /// Start of the unconsumed octets in `data`.
    start: usize,
    /// Octets before this index (and at or after `start`) hold no LF: searching for the
    /// next line starts here, so a line arriving in many reads is scanned once.
    scanned: usize,
    /// Inside an over-long line whose start was discarded.
    discarding: bool,
    /// For each read whose octets are still (partly) unconsumed: its number and how many
    /// of its octets remain, oldest first.
    pending_reads: VecDeque<(u64, usize)>,
    reads: u64,
    /// The highest read number already counted as a body read.
    last_body_read: u64,
    body_reads: u64,
}

impl InputBuffer {
    /// Appends the octets of one read.
    pub(crate) fn push_read(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
            self.scanned = 0;
        } else if self.start >= COMPACT_AFTER {
            self.data.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.data.extend_from_slice(bytes);
        self.reads += 1;
        self.pending_reads.push_back((self.reads, bytes.len()));
    }

    /// The unconsumed octets.
    pub(crate) fn unconsumed(&self) -> &[u8] {
        &self.data[self.start..]
    }

    /// How many reads delivered at least one octet consumed as body.
    pub(crate) fn body_reads(&self) -> u64 {
        self.body_reads
    }

    /// Marks `count` octets (at most [`InputBuffer::unconsumed`]'s length) as used; `body`
    /// says whether they were message body, for the body-read count.
    pub(crate) fn consume(&mut self, count: usize, body: bool) {
        let count = count.min(self.data.len() - self.start);
        self.start += count;
        self.scanned = self.scanned.max(self.start);
        let mut left = count;
        while left > 0 {
            let Some(front) = self.pending_reads.front_mut() else {
                break;
            };
            if body && front.0 > self.last_body_read {
                self.last_body_read = front.0;
                self.body_reads += 1;
            }
            let used = left.min(front.1);
            front.1 -= used;
            left -= used;
            if front.1 == 0 {
                self.pending_reads.pop_front();
            }
        }
    }

    /// Throws away everything unconsumed; returns how many octets that was.
    pub(crate) fn discard_all(&mut self) -> usize {
        let count = self.data.len() - self.start;
        self.consume(count, false);
        count
    }

    /// Takes the next line if a complete one is buffered. A line longer than `cap` octets
    /// (ending excluded) is discarded as it arrives and reported as [`Line::TooLong`] once
    /// its LF is seen.
    pub(crate) fn take_line(&mut self, cap: usize) -> Option<Line> {
        let searched_from = self.scanned;
        match memchr::memchr(b'\n', &self.data[searched_from..]) {
            Some(offset) => {
                let lf = searched_from + offset;
                let mut line = &self.data[self.start..lf];
                let crlf = line.last() == Some(&b'\r');
                if crlf {
                    line = &line[..line.len() - 1];
                }
                let result = if self.discarding || line.len() > cap {
                    Line::TooLong
                } else {
                    Line::Complete {
                        bytes: line.to_vec(),
                        crlf,
                    }
                };
                self.discarding = false;
                self.consume(lf + 1 - self.start, false);
                Some(result)
            }
            None => {
                self.scanned = self.data.len();
                // One more octet than the cap may be the CR of a line exactly `cap` long.
                if self.data.len() - self.start > cap + 1 {
                    self.discarding = true;
                    self.discard_all();
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(text: &[u8], crlf: bool) -> Option<Line> {
        Some(Line::Complete {
            bytes: text.to_vec(),
            crlf,
        })
    }

    #[test]
    fn lines_split_across_reads() {
        let mut input = InputBuffer::default();
        input.push_read(b"EHLO a\r\nMA");
        assert_eq!(input.take_line(100), complete(b"EHLO a", true));
        assert_eq!(input.take_line(100), None);
        input.push_read(b"IL FROM:<>\nNOOP");
        assert_eq!(input.take_line(100), complete(b"MAIL FROM:<>", false));
        assert_eq!(input.take_line(100), None);
        assert_eq!(input.unconsumed(), b"NOOP");
    }

    #[test]
    fn over_long_lines_are_discarded_and_reported_once() {
        let mut input = InputBuffer::default();
        for _ in 0..100 {
            input.push_read(&[b'x'; 50]);
            assert_eq!(input.take_line(10), None);
            assert!(input.unconsumed().len() <= 50);
        }
        input.push_read(b"xx\r\nNOOP\r\n");
        assert_eq!(input.take_line(10), Some(Line::TooLong));
        assert_eq!(input.take_line(10), complete(b"NOOP", true));
        input.push_read(b"0123456789\r\n01234567890\r\n");
        assert_eq!(input.take_line(10), complete(b"0123456789", true));
        assert_eq!(input.take_line(10), Some(Line::TooLong));
    }

    #[test]
    fn body_reads_count_reads_whose_octets_were_body() {
        let mut input = InputBuffer::default();
        input.push_read(b"DATA\r\nhello ");
        assert!(input.take_line(100).is_some());
        input.consume(6, true);
        input.push_read(b"world\r\n.\r\nQUIT\r\n");
        input.consume(10, true);
        assert_eq!(input.take_line(100), complete(b"QUIT", true));
        assert_eq!(input.body_reads(), 2);
        input.push_read(b"NOOP\r\n");
        assert!(input.take_line(100).is_some());
        assert_eq!(input.body_reads(), 2);
    }

    #[test]
    fn discard_all_drops_pipelined_input() {
        let mut input = InputBuffer::default();
        input.push_read(b"STARTTLS\r\nEHLO injected\r\n");
        assert_eq!(input.take_line(100), complete(b"STARTTLS", true));
        assert_eq!(input.discard_all(), 15);
        assert_eq!(input.take_line(100), None);
    }
}
