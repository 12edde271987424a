//! The body in quoted-printable (RFC 2045 §6.7), so that any text travels as short 7-bit
//! lines.
//!
//! What the encoder guarantees, checked by its tests:
//! * every output line is at most [`MAX_LINE_LEN`] octets, the `=` of a soft break included;
//! * only printable ASCII but `=`, and space and tab, stand for themselves; every other octet
//!   (`=`, controls, UTF-8) is written `=XX`;
//! * a space or tab that would end a line is written `=20` or `=09`, so a transport that strips
//!   trailing white space changes nothing;
//! * a `.` or a `From ` starting an output line is written `=2E` or `=46rom `, so neither
//!   dot-stuffing nor mbox quoting ever has to touch the body;
//! * every line break of the input (CRLF, LF or CR alone) becomes CRLF, and the output always
//!   ends with CRLF: when the input does not end with a line break, the last line ends with a
//!   soft break, so decoding gives back the input exactly (line breaks as CRLF).

use std::string::String;

/// The longest encoded line, line ending excluded (RFC 2045 §6.7 rule 5).
pub const MAX_LINE_LEN: usize = 76;

const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Appends the quoted-printable form of `text` to `out`.
pub(crate) fn encode(text: &str, out: &mut String) {
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        // The line runs up to the first CR or LF; a CRLF pair counts as one break.
        let (line, after) = match memchr::memchr2(b'\r', b'\n', rest) {
            Some(at) => {
                let break_len = if rest[at..].starts_with(b"\r\n") {
                    2
                } else {
                    1
                };
                // `at` is an index memchr found in `rest`, and the break lies within it.
                (&rest[..at], Some(&rest[at + break_len..]))
            }
            None => (rest, None),
        };
        encode_line(line, after.is_some(), out);
        rest = after.unwrap_or_default();
    }
}

/// Appends one input line: soft breaks where needed, then CRLF when the input broke the line
/// there (`hard_break`), or a final soft break when the input ended without a line break.
fn encode_line(line: &[u8], hard_break: bool, out: &mut String) {
    let mut column = 0;
    for (index, &octet) in line.iter().enumerate() {
        let is_last = index + 1 == line.len();
        // Ends the encoded line: a hard break follows. Otherwise a soft break `=` may follow,
        // so the octet must leave room for it.
        let ends_line = is_last && hard_break;
        let limit = if ends_line {
            MAX_LINE_LEN
        } else {
            MAX_LINE_LEN - 1
        };
        let mut literal = stands_for_itself(octet, ends_line, column == 0, &line[index..]);
        if column + token_len(literal) > limit {
            out.push_str("=\r\n");
            column = 0;
            literal = stands_for_itself(octet, ends_line, true, &line[index..]);
        }
        if literal {
            out.push(char::from(octet));
        } else {
            push_escape(octet, out);
        }
        column += token_len(literal);
    }
    if hard_break {
        out.push_str("\r\n");
    } else if !line.is_empty() {
        out.push_str("=\r\n");
    }
}

/// Whether `octet` (the first of `from_here`) may be written as itself.
fn stands_for_itself(octet: u8, ends_line: bool, starts_line: bool, from_here: &[u8]) -> bool {
    match octet {
        b'.' if starts_line => false,
        b'F' if starts_line && from_here.starts_with(b"From ") => false,
        b'=' => false,
        b' ' | b'\t' => !ends_line,
        33..=126 => true,
        _ => false,
    }
}

/// Appends `=XX`, the escape of `octet` in upper-case hex, shared with RFC 2047 `Q`.
pub(crate) fn push_escape(octet: u8, out: &mut String) {
    out.push('=');
    out.push(char::from(HEX_DIGITS[usize::from(octet >> 4)]));
    out.push(char::from(HEX_DIGITS[usize::from(octet & 0x0f)]));
}

fn token_len(literal: bool) -> usize {
    if literal { 1 } else { 3 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qp(text: &str) -> String {
        let mut out = String::new();
        encode(text, &mut out);
        out
    }

    #[test]
    fn plain_ascii_lines_pass_unchanged_with_crlf() {
        assert_eq!(qp("Hello\nworld\r\n"), "Hello\r\nworld\r\n");
        assert_eq!(qp("a\rb\r\n\r\nc\n"), "a\r\nb\r\n\r\nc\r\n");
        assert_eq!(qp(""), "");
        assert_eq!(qp("\n"), "\r\n");
    }

    #[test]
    fn equals_utf8_and_controls_are_encoded() {
        assert_eq!(qp("a=b\n"), "a=3Db\r\n");
        assert_eq!(qp("Grüße\n"), "Gr=C3=BC=C3=9Fe\r\n");
        assert_eq!(qp("\0\x7f\x1b\n"), "=00=7F=1B\r\n");
        assert_eq!(qp("tab\there\n"), "tab\there\r\n");
    }

    #[test]
    fn trailing_white_space_is_encoded() {
        assert_eq!(qp("end \nend\t\n"), "end=20\r\nend=09\r\n");
        assert_eq!(qp(" \n"), "=20\r\n");
    }

    #[test]
    fn input_without_final_break_ends_with_a_soft_break() {
        assert_eq!(qp("no break"), "no break=\r\n");
        assert_eq!(qp("space "), "space =\r\n");
    }

    #[test]
    fn dot_and_from_at_line_start_are_encoded() {
        assert_eq!(qp(".\n..\na.b\n"), "=2E\r\n=2E.\r\na.b\r\n");
        assert_eq!(
            qp("From me\nFrom\nX From y\n"),
            "=46rom me\r\nFrom\r\nX From y\r\n"
        );
    }

    #[test]
    fn long_lines_get_soft_breaks_at_76() {
        let out = qp(&format!("{}\n", "a".repeat(76)));
        assert_eq!(out, format!("{}\r\n", "a".repeat(76)));
        let out = qp(&format!("{}\n", "a".repeat(77)));
        assert_eq!(out, format!("{}=\r\naa\r\n", "a".repeat(75)));
        // An escape is never split, and a dot that lands at a line start is escaped.
        let out = qp(&format!("{}é.x\n", "a".repeat(73)));
        assert_eq!(out, format!("{}=\r\n=C3=A9.x\r\n", "a".repeat(73)));
        let out = qp(&format!("{}.x\n", "a".repeat(75)));
        assert_eq!(out, format!("{}=\r\n=2Ex\r\n", "a".repeat(75)));
    }
}
