//! Header fields: validation of names and values, and a writer that folds lines.
//!
//! Every line the writer produces is at most [`FOLD_AT`] octets (RFC 5322 §2.1.1 "SHOULD"),
//! except where a single token cannot be split (an address, a Message-ID, a long word in an
//! extra header kept as given); no line ever passes [`MAX_LINE_LEN`], 998 octets (the
//! "MUST").

use super::encoded_word;
use super::error::ComposeError;
use super::mailbox::Mailbox;
use crate::data::MAX_LINE_LEN;
use std::string::String;

/// The length at which header lines are folded, line ending excluded.
pub const FOLD_AT: usize = 78;

/// The longest extra header name: `Name:` and a value's first octets must fit a
/// [`FOLD_AT`]-octet line.
pub const MAX_HEADER_NAME_LEN: usize = 76;

/// Headers the composer writes itself (and `Bcc`, which it must never write): an extra header
/// by one of these names is refused. Any `Content-*` name is refused too.
const RESERVED_NAMES: [&str; 9] = [
    "From",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
];

/// Whether `value` holds a character that must never reach a header: CR, LF or any other
/// control character (C0, DEL, C1) except tab.
pub(crate) fn has_forbidden_control(value: &str) -> bool {
    value.chars().any(|c| c.is_control() && c != '\t')
}

/// Refuses `value` for `header` when it holds a forbidden control character.
pub(crate) fn check_value(header: &str, value: &str) -> Result<(), ComposeError> {
    if has_forbidden_control(value) {
        return Err(ComposeError::HeaderInjection {
            header: String::from(header),
        });
    }
    Ok(())
}

/// Checks the name of an extra header: `ftext` (RFC 5322 §3.6.8), at most
/// [`MAX_HEADER_NAME_LEN`] octets, and not one the composer writes itself.
pub(crate) fn check_extra_name(name: &str) -> Result<(), ComposeError> {
    let is_ftext = |b: u8| matches!(b, 33..=57 | 59..=126);
    if name.is_empty() || name.len() > MAX_HEADER_NAME_LEN || !name.bytes().all(is_ftext) {
        return Err(ComposeError::InvalidHeaderName {
            name: String::from(name),
        });
    }
    let reserved = RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name))
        || name
            .get(..8)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("Content-"));
    if reserved {
        return Err(ComposeError::ReservedHeader {
            name: String::from(name),
        });
    }
    Ok(())
}

/// Writes one header field, folding before a token that would push the line past
/// [`FOLD_AT`]. Folding only ever happens at white space the caller supplies, so unfolding
/// (removing each CRLF) gives back exactly what was pushed.
pub(crate) struct HeaderWriter<'a> {
    out: &'a mut String,
    /// Octets on the current line so far.
    column: usize,
    /// The longest line written so far.
    longest: usize,
    /// Whether a token follows the field name yet.
    has_token: bool,
}

impl<'a> HeaderWriter<'a> {
    /// Starts the field `name:` (the caller validated `name`).
    pub(crate) fn new(out: &'a mut String, name: &str) -> HeaderWriter<'a> {
        out.push_str(name);
        out.push(':');
        let column = name.len() + 1;
        HeaderWriter {
            out,
            column,
            longest: column,
            has_token: false,
        }
    }

    /// The octets a token may take on the current line after a one-octet separator.
    pub(crate) fn room(&self) -> usize {
        FOLD_AT.saturating_sub(self.column + 1)
    }

    /// Appends `separator` (non-empty white space) and `token`, first folding the line (CRLF
    /// before `separator`) when both would not fit on it. A first token too long for any line
    /// stays after the field name, unless that alone would break [`MAX_LINE_LEN`].
    pub(crate) fn push(&mut self, separator: &str, token: &str) {
        debug_assert!(!separator.is_empty() && separator.bytes().all(|b| b == b' ' || b == b'\t'));
        let needed = separator.len() + token.len();
        let overflows = self.column + needed > FOLD_AT;
        let fresh_line_helps = needed <= FOLD_AT || self.column + needed > MAX_LINE_LEN;
        if overflows && (self.has_token || fresh_line_helps) {
            self.out.push_str("\r\n");
            self.column = 0;
        }
        self.out.push_str(separator);
        self.out.push_str(token);
        self.column += needed;
        self.longest = self.longest.max(self.column);
        self.has_token = true;
    }

    /// Ends the field with CRLF and returns the length of its longest line.
    pub(crate) fn finish(self) -> usize {
        self.out.push_str("\r\n");
        self.longest
    }
}

/// Writes a field whose value is one token that is never folded (Date, Message-ID, …).
pub(crate) fn write_token_field(out: &mut String, name: &str, value: &str) {
    let mut writer = HeaderWriter::new(out, name);
    writer.push(" ", value);
    writer.finish();
}

/// How an unstructured value (RFC 5322 §3.2.5) that is plain ASCII is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AsciiText {
    /// As given, folded at its white space, whatever the length of its words (extra headers,
    /// whose fields may be structured and must not be encoded). Only non-ASCII values become
    /// encoded words.
    Verbatim,
    /// As given when it folds within [`FOLD_AT`], has no white space at either end and holds
    /// nothing that reads as an encoded word (`=?`); as encoded words otherwise (Subject).
    EncodeWhenNeeded,
}

/// Writes the unstructured field `name: value`. `value` must already have passed
/// [`check_value`]. Fails only when a [`AsciiText::Verbatim`] line would pass
/// [`MAX_LINE_LEN`].
pub(crate) fn write_unstructured(
    out: &mut String,
    name: &str,
    value: &str,
    ascii: AsciiText,
) -> Result<(), ComposeError> {
    let start = out.len();
    if value.is_ascii() {
        let plain_is_faithful = match ascii {
            AsciiText::Verbatim => true,
            AsciiText::EncodeWhenNeeded => {
                let is_wsp = |c: char| c == ' ' || c == '\t';
                !value.contains("=?") && !value.starts_with(is_wsp) && !value.ends_with(is_wsp)
            }
        };
        if plain_is_faithful {
            let mut writer = HeaderWriter::new(out, name);
            push_folded_text(&mut writer, value);
            let longest = writer.finish();
            let limit = match ascii {
                AsciiText::Verbatim => MAX_LINE_LEN,
                AsciiText::EncodeWhenNeeded => FOLD_AT,
            };
            if longest <= limit {
                return Ok(());
            }
            out.truncate(start);
            if ascii == AsciiText::Verbatim {
                return Err(ComposeError::HeaderTooLong {
                    header: String::from(name),
                });
            }
        }
    }
    let mut writer = HeaderWriter::new(out, name);
    encoded_word::push_encoded_words(&mut writer, value);
    writer.finish();
    Ok(())
}

/// Pushes `text` split before each run of white space that has a word after it, so that
/// unfolding restores `text` exactly and no line holds white space alone.
fn push_folded_text(writer: &mut HeaderWriter<'_>, text: &str) {
    if text.is_empty() {
        return;
    }
    let is_wsp = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = text.as_bytes();
    let mut piece_start = 0;
    let mut separator = " ";
    let mut index = 1;
    while index < bytes.len() {
        // A fold point: white space after a non-space, with a non-space somewhere after it.
        // `index` ≥ 1 and < len, so `index - 1` and `index` are in bounds.
        if is_wsp(&bytes[index]) && !is_wsp(&bytes[index - 1]) {
            let run_end = bytes[index..]
                .iter()
                .position(|b| !is_wsp(b))
                .map(|n| index + n);
            let Some(word_start) = run_end else { break };
            // Slicing at ASCII white space and ASCII letters stays on char boundaries.
            writer.push(separator, &text[piece_start..index]);
            separator = &text[index..word_start];
            piece_start = word_start;
            index = word_start;
        }
        index += 1;
    }
    writer.push(separator, &text[piece_start..]);
}

/// Writes an address-list field (From, To, Cc, Reply-To): `Name <address>` or a bare
/// `address` for each mailbox, separated by commas. Display names that are not atoms become
/// quoted-strings or encoded words; an address is never folded.
pub(crate) fn write_mailbox_list(out: &mut String, name: &str, mailboxes: &[Mailbox]) {
    let mut writer = HeaderWriter::new(out, name);
    let mut token = String::new();
    for (index, mailbox) in mailboxes.iter().enumerate() {
        token.clear();
        match mailbox.name() {
            Some(display_name) => {
                push_phrase(&mut writer, display_name);
                token.push('<');
                token.push_str(mailbox.address().as_str());
                token.push('>');
            }
            None => token.push_str(mailbox.address().as_str()),
        }
        if index + 1 < mailboxes.len() {
            token.push(',');
        }
        writer.push(" ", &token);
    }
    writer.finish();
}

/// Pushes a display name (RFC 5322 `phrase`): as atoms when it is single-spaced `atext`, as a
/// quoted-string when it is other printable ASCII, and as encoded words when it holds
/// non-ASCII, text that reads as an encoded word (`=?`), or a piece too long for a line. The
/// name has passed [`check_value`].
fn push_phrase(writer: &mut HeaderWriter<'_>, display_name: &str) {
    let longest_fit = FOLD_AT - 1;
    if display_name.is_ascii() && !display_name.contains("=?") {
        let atoms_fit = display_name.split(' ').all(|atom| {
            !atom.is_empty() && atom.len() <= longest_fit && atom.bytes().all(is_atext)
        });
        if atoms_fit {
            for atom in display_name.split(' ') {
                writer.push(" ", atom);
            }
            return;
        }
        let quoted = quote(display_name);
        if quoted.len() <= longest_fit {
            writer.push(" ", &quoted);
            return;
        }
    }
    encoded_word::push_encoded_words(writer, display_name);
}

/// `atext` of RFC 5322 §3.2.3 (ASCII only).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// `text` as an RFC 5322 quoted-string: in double quotes, `"` and `\` escaped.
fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unstructured(name: &str, value: &str, ascii: AsciiText) -> Result<String, ComposeError> {
        let mut out = String::new();
        write_unstructured(&mut out, name, value, ascii).map(|()| out)
    }

    #[test]
    fn short_ascii_text_is_written_as_is() {
        assert_eq!(
            unstructured("Subject", "Hello there", AsciiText::EncodeWhenNeeded).unwrap(),
            "Subject: Hello there\r\n"
        );
        assert_eq!(
            unstructured("Subject", "", AsciiText::EncodeWhenNeeded).unwrap(),
            "Subject:\r\n"
        );
    }

    #[test]
    fn long_text_folds_before_white_space_and_unfolds_exactly() {
        let value = "word ".repeat(40) + "end\tof  it";
        let out = unstructured("Subject", &value, AsciiText::EncodeWhenNeeded).unwrap();
        assert!(out.split("\r\n").all(|line| line.len() <= FOLD_AT), "{out}");
        assert!(out.matches("\r\n").count() > 2);
        assert_eq!(out.replace("\r\n", ""), format!("Subject: {value}"));
    }

    #[test]
    fn trailing_white_space_never_makes_a_blank_line() {
        let value = format!("{}    ", "x".repeat(74));
        let out = unstructured("X-Test", &value, AsciiText::Verbatim).unwrap();
        assert_eq!(out, format!("X-Test: {value}\r\n"));
    }

    #[test]
    fn subject_words_too_long_to_fold_become_encoded_words() {
        let value = "y".repeat(100);
        let out = unstructured("Subject", &value, AsciiText::EncodeWhenNeeded).unwrap();
        assert!(out.starts_with("Subject: =?UTF-8?Q?"), "{out}");
        assert!(out.split("\r\n").all(|line| line.len() <= FOLD_AT), "{out}");
    }

    #[test]
    fn subject_that_reads_as_an_encoded_word_is_encoded() {
        let out = unstructured("Subject", "=?UTF-8?B?aGk=?=", AsciiText::EncodeWhenNeeded).unwrap();
        assert!(!out.contains("=?UTF-8?B?aGk=?="), "{out}");
        let out = unstructured("X-Test", "=?UTF-8?B?aGk=?=", AsciiText::Verbatim).unwrap();
        assert_eq!(out, "X-Test: =?UTF-8?B?aGk=?=\r\n");
    }

    #[test]
    fn verbatim_lines_over_998_are_refused() {
        let fits = "z".repeat(MAX_LINE_LEN - 1);
        assert!(unstructured("X-Test", &fits, AsciiText::Verbatim).is_ok());
        let too_long = "z".repeat(MAX_LINE_LEN);
        assert_eq!(
            unstructured("X-Test", &too_long, AsciiText::Verbatim),
            Err(ComposeError::HeaderTooLong {
                header: String::from("X-Test")
            })
        );
    }

    #[test]
    fn extra_header_names_are_checked() {
        assert!(check_extra_name("X-Mailer").is_ok());
        assert!(check_extra_name("List-Unsubscribe").is_ok());
        for bad in [
            "",
            "X Mailer",
            "X:Mailer",
            "X-Ünicode",
            "X\r\nBcc",
            &"x".repeat(77),
        ] {
            assert!(
                matches!(
                    check_extra_name(bad),
                    Err(ComposeError::InvalidHeaderName { .. })
                ),
                "{bad:?}"
            );
        }
        for reserved in [
            "to",
            "BCC",
            "Message-Id",
            "content-type",
            "Content-Disposition",
            "mime-version",
        ] {
            assert!(
                matches!(
                    check_extra_name(reserved),
                    Err(ComposeError::ReservedHeader { .. })
                ),
                "{reserved:?}"
            );
        }
    }

    #[test]
    fn control_characters_are_found() {
        for bad in ["a\rb", "a\nb", "\0", "\x7f", "\u{85}", "\x1b[31m"] {
            assert!(has_forbidden_control(bad), "{bad:?}");
        }
        assert!(!has_forbidden_control("tab\tis fine, ünïcode too"));
    }

    #[test]
    fn quoting_escapes_quotes_and_backslashes() {
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }
}
