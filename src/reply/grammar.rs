//! The grammar of one reply line, as `nom` parsers over a complete line.
//!
//! RFC 5321 §4.2:
//!
//! ```text
//! Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
//!                     Reply-code [ SP textstring ] CRLF
//! Reply-code     = %x32-35 %x30-35 %x30-39
//! ```
//!
//! Like Postfix, Go and Python, and unlike the letter of the RFC, smtpwire accepts any second
//! and third digit and any bytes as text. RFC 3463 enhanced status codes
//! (`class "." subject "." detail`, class 2, 4 or 5, subject and detail of one to three digits)
//! are recognised at the start of the first line's text when a space or the end of the line
//! follows.
//!
//! Everything `nom` stays inside this module: callers get smtpwire types and [`ReplyError`].
//! The parsers run on complete lines (line ending already removed), so `Incomplete` never
//! occurs.

use super::code::{EnhancedStatusCode, ReplyCode};
use super::parser::ReplyError;
use nom::branch::alt;
use nom::bytes::{tag, take, take_while1};
use nom::combinator::{eof, map_opt, opt, peek};
use nom::{IResult, Parser};

/// One reply line, split into its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ReplyLine<'a> {
    /// The reply code.
    pub(super) code: ReplyCode,
    /// Whether this is the last line of the reply (a space or nothing after the code).
    pub(super) is_last: bool,
    /// The text behind the separator; may be empty and may hold any bytes.
    pub(super) text: &'a [u8],
}

/// Splits a complete line (without its line ending) into code, separator and text.
pub(super) fn parse_line(line: &[u8]) -> Result<ReplyLine<'_>, ReplyError> {
    let (after_code, code) = reply_code(line).map_err(|_| ReplyError::InvalidCode)?;
    let (text, is_last) = separator(after_code).map_err(|_| ReplyError::InvalidSeparator)?;
    Ok(ReplyLine {
        code,
        is_last,
        text,
    })
}

/// Splits the first line's text into the enhanced status code, if it starts with one, and
/// the message behind it (without the one space that separates them).
pub(super) fn split_enhanced_code(text: &[u8]) -> (Option<EnhancedStatusCode>, &[u8]) {
    match enhanced_code(text) {
        Ok((rest, code)) => (Some(code), rest.strip_prefix(b" ").unwrap_or(rest)),
        Err(_) => (None, text),
    }
}

/// `()` as the nom error: failures carry no detail; the caller knows which step failed.
type Parsed<'a, T> = IResult<&'a [u8], T, ()>;

fn reply_code(input: &[u8]) -> Parsed<'_, ReplyCode> {
    map_opt(take(3usize), |digits: &[u8]| {
        ReplyCode::new(decimal(digits)?)
    })
    .parse_complete(input)
}

/// `true` for the last line: `"250 text"` or `"250"`; `false` for `"250-text"`.
fn separator(input: &[u8]) -> Parsed<'_, bool> {
    map_opt(
        opt(take(1usize)),
        |separator: Option<&[u8]>| match separator {
            None | Some(b" ") => Some(true),
            Some(b"-") => Some(false),
            Some(_) => None,
        },
    )
    .parse_complete(input)
}

fn enhanced_code(input: &[u8]) -> Parsed<'_, EnhancedStatusCode> {
    let number = |max_digits: usize| {
        map_opt(
            take_while1(|b: u8| b.is_ascii_digit()),
            move |digits: &[u8]| {
                if digits.len() <= max_digits {
                    decimal(digits)
                } else {
                    None
                }
            },
        )
    };
    let code = map_opt(
        (
            number(1),
            tag(&b"."[..]),
            number(3),
            tag(&b"."[..]),
            number(3),
        ),
        |(class, _, subject, _, detail)| {
            EnhancedStatusCode::new(u8::try_from(class).ok()?, subject, detail)
        },
    );
    // A code must end at a space or at the end of the line: `1.2.3.4` or `2.0.0x` is text.
    let end = peek(alt((tag(&b" "[..]), eof)));
    (code, end).map(|(code, _)| code).parse_complete(input)
}

/// The value of one to three ASCII digits.
fn decimal(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 3 {
        return None;
    }
    digits.iter().try_fold(0u16, |value, &digit| {
        let digit = digit.checked_sub(b'0').filter(|d| *d <= 9)?;
        // At most three digits: the value stays below 1000.
        Some(value * 10 + u16::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(bytes: &[u8]) -> Result<(u16, bool, &[u8]), ReplyError> {
        parse_line(bytes).map(|l| (l.code.get(), l.is_last, l.text))
    }

    #[test]
    fn splits_code_separator_and_text() {
        assert_eq!(line(b"250 ok"), Ok((250, true, &b"ok"[..])));
        assert_eq!(line(b"250-ok"), Ok((250, false, &b"ok"[..])));
        assert_eq!(line(b"250"), Ok((250, true, &b""[..])));
        assert_eq!(line(b"250 "), Ok((250, true, &b""[..])));
        assert_eq!(line(b"250-"), Ok((250, false, &b""[..])));
        assert_eq!(
            line(b"250  two spaces"),
            Ok((250, true, &b" two spaces"[..]))
        );
    }

    #[test]
    fn rejects_bad_codes_and_separators() {
        assert_eq!(line(b"25"), Err(ReplyError::InvalidCode));
        assert_eq!(line(b""), Err(ReplyError::InvalidCode));
        assert_eq!(line(b"1xx ok"), Err(ReplyError::InvalidCode));
        assert_eq!(line(b"199 ok"), Err(ReplyError::InvalidCode));
        assert_eq!(line(b"600 ok"), Err(ReplyError::InvalidCode));
        assert_eq!(line(b"2a0 ok"), Err(ReplyError::InvalidCode));
        assert_eq!(line(b"2500 ok"), Err(ReplyError::InvalidSeparator));
        assert_eq!(line(b"250\tok"), Err(ReplyError::InvalidSeparator));
        assert_eq!(line(b"250\r"), Err(ReplyError::InvalidSeparator));
    }

    #[test]
    fn finds_enhanced_codes_only_where_they_end() {
        let code = |c, s, d| EnhancedStatusCode::new(c, s, d);
        assert_eq!(
            split_enhanced_code(b"4.4.2 timeout"),
            (code(4, 4, 2), &b"timeout"[..])
        );
        assert_eq!(split_enhanced_code(b"2.0.0"), (code(2, 0, 0), &b""[..]));
        assert_eq!(
            split_enhanced_code(b"5.7.708 denied"),
            (code(5, 7, 708), &b"denied"[..])
        );
        assert_eq!(
            split_enhanced_code(b"5.7.8  two"),
            (code(5, 7, 8), &b" two"[..])
        );
        for text in [
            &b"1.2.3.4 hello"[..],
            b"2.3.4.5 hello",
            b"192.0.2.1",
            b"3.0.0 no class 3",
            b"2.0.0x",
            b"2.1000.0 too long",
            b"2..0 empty",
            b"22.0.0",
            b"hello",
            b"",
        ] {
            assert_eq!(split_enhanced_code(text), (None, text), "{text:?}");
        }
    }
}
