//! DATA body decoding: dot un-stuffing and the `<CRLF>.<CRLF>` terminator (RFC 5321
//! §4.5.2), incremental over any split of the input.
//!
//! Lines are CRLF-terminated only: a bare LF or bare CR does not start a new line, so a
//! `.` after it is content and `\n.\n` never ends the body (no SMTP smuggling here). The
//! CRLF that ended the `DATA` command counts as the start of the first line, so an empty
//! body is just `.\r\n` and a `.` at the start of the first line is un-stuffed too.

/// Where the decoder is within the current line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a line (after CRLF, or right after the DATA command).
    LineStart,
    /// Inside a line.
    Middle,
    /// Inside a line, just after a CR (already emitted).
    AfterCr,
    /// At the start of a line, after a `.` that has not been emitted.
    Dot,
    /// At the start of a line, after `.` and CR, neither emitted.
    DotCr,
}

/// Incremental DATA body decoder.
#[derive(Clone, Debug)]
pub(crate) struct DotDecoder {
    state: State,
}

impl DotDecoder {
    /// A decoder at the start of the body.
    pub(crate) fn new() -> Self {
        DotDecoder {
            state: State::LineStart,
        }
    }

    /// Decodes wire octets, passing un-stuffed content to `out` (possibly in several
    /// pieces). Returns how many octets of `input` were consumed and whether the terminator
    /// was seen; when it was, consumption stops right after its LF and the content ends
    /// with the CRLF before the `.`.
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut impl FnMut(&[u8])) -> (usize, bool) {
        let mut index = 0;
        // Every pass either consumes an octet or moves to a state whose next pass does, so
        // the loop runs at most twice per input octet.
        while let Some(&byte) = input.get(index) {
            match self.state {
                State::Middle => {
                    let run = &input[index..];
                    match memchr::memchr(b'\r', run) {
                        Some(cr) => {
                            out(&run[..=cr]);
                            index += cr + 1;
                            self.state = State::AfterCr;
                        }
                        None => {
                            out(run);
                            index = input.len();
                        }
                    }
                }
                State::AfterCr => match byte {
                    b'\n' => {
                        out(b"\n");
                        index += 1;
                        self.state = State::LineStart;
                    }
                    b'\r' => {
                        out(b"\r");
                        index += 1;
                    }
                    _ => self.state = State::Middle,
                },
                State::LineStart => {
                    if byte == b'.' {
                        index += 1;
                        self.state = State::Dot;
                    } else {
                        self.state = State::Middle;
                    }
                }
                State::Dot => {
                    if byte == b'\r' {
                        index += 1;
                        self.state = State::DotCr;
                    } else {
                        // The leading dot was stuffing: drop it, keep the rest of the line.
                        self.state = State::Middle;
                    }
                }
                State::DotCr => {
                    if byte == b'\n' {
                        return (index + 1, true);
                    }
                    // `.<CR>x`: the dot was stuffing, the CR is content.
                    out(b"\r");
                    self.state = State::AfterCr;
                }
            }
        }
        (index, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `wire` fed in pieces of `step` octets; returns content, octets consumed and
    /// whether the terminator was found.
    fn decode(wire: &[u8], step: usize) -> (Vec<u8>, usize, bool) {
        let mut decoder = DotDecoder::new();
        let mut content = Vec::new();
        let mut consumed = 0;
        for piece in wire.chunks(step) {
            let (used, done) = decoder.feed(piece, &mut |bytes| content.extend_from_slice(bytes));
            consumed += used;
            if done {
                return (content, consumed, true);
            }
            assert_eq!(used, piece.len());
        }
        (content, consumed, false)
    }

    #[test]
    fn unstuffs_leading_dots_on_every_line_including_the_first() {
        let wire = b"..first\r\nmid.dle\r\n..\r\n...x\r\n.\r\ntrailing";
        for step in 1..=wire.len() {
            let (content, consumed, done) = decode(wire, step);
            assert!(done);
            assert_eq!(content, b".first\r\nmid.dle\r\n.\r\n..x\r\n", "step {step}");
            assert_eq!(consumed, wire.len() - b"trailing".len());
        }
    }

    #[test]
    fn empty_body_is_a_lone_dot_line() {
        assert_eq!(decode(b".\r\n", 1), (Vec::new(), 3, true));
    }

    #[test]
    fn bare_line_endings_never_terminate() {
        for wire in [
            &b"a\n.\nb\r\n.\r\n"[..],
            b"a\r.\r\nb\r\n.\r\n",
            b"a\n.\r\nb\r\n.\r\n",
            b"a\r\n.\r\r\nb\r\n.\r\n",
        ] {
            let (content, consumed, done) = decode(wire, 1);
            assert!(done);
            assert_eq!(consumed, wire.len(), "{wire:?}");
            assert!(content.ends_with(b"b\r\n"), "{wire:?}");
        }
        let (content, _, _) = decode(b"a\r\n.\r\r\nb\r\n.\r\n", 3);
        assert_eq!(content, b"a\r\n\r\r\nb\r\n");
    }

    #[test]
    fn incomplete_terminator_waits_for_more() {
        let (content, consumed, done) = decode(b"x\r\n.\r", 2);
        assert!(!done);
        assert_eq!(consumed, 5);
        assert_eq!(content, b"x\r\n");
    }
}
