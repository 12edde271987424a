//! How replies print: `Display` for logs and terminals, `Debug` for developers.
//!
//! Reply text comes from the server and may hold anything. `Display` replaces invalid UTF-8
//! with U+FFFD and escapes control characters, backslashes, and the invisible characters that
//! move or reorder text (line and paragraph separators, bidirectional overrides, zero-width
//! characters), so that a reply printed on one line stays one honest line: it can never forge
//! a log line or hide text from an operator's terminal.

use super::ReplyRef;
use core::fmt::{self, Write};

/// Writes `code [enhanced] message [line …]`, every piece after the code escaped and
/// separated by one space; empty pieces are left out.
pub(super) fn display_reply(reply: ReplyRef<'_>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}", reply.code())?;
    if let Some(enhanced) = reply.enhanced_code() {
        write!(f, " {enhanced}")?;
    }
    let pieces = core::iter::once(reply.message()).chain(reply.lines().skip(1));
    for piece in pieces.filter(|piece| !piece.is_empty()) {
        write!(f, " {}", EscapedText(piece))?;
    }
    Ok(())
}

/// Writes `name { code: 250, enhanced_code: Some(2.0.0), lines: ["…", …] }`.
pub(super) fn debug_reply(
    name: &str,
    reply: ReplyRef<'_>,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    f.debug_struct(name)
        .field("code", &format_args!("{}", reply.code()))
        .field("enhanced_code", &reply.enhanced_code().map(DisplayAsDebug))
        .field("lines", &DebugLines(reply))
        .finish()
}

/// Reply text made safe to print on one line (see the module documentation).
#[derive(Clone, Copy)]
pub(super) struct EscapedText<'a>(pub(super) &'a [u8]);

impl fmt::Display for EscapedText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            write_escaped(chunk.valid(), f)?;
            if !chunk.invalid().is_empty() {
                f.write_char(char::REPLACEMENT_CHARACTER)?;
            }
        }
        Ok(())
    }
}

/// Writes `text`, copying runs of harmless characters as they are.
fn write_escaped(text: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut run_start = 0;
    for (at, c) in text.char_indices() {
        if !must_escape(c) {
            continue;
        }
        // `run_start` and `at` are char boundaries of `text`, with `run_start <= at`.
        f.write_str(&text[run_start..at])?;
        match c {
            '\r' => f.write_str("\\r")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\\' => f.write_str("\\\\")?,
            other => write!(f, "\\u{{{:x}}}", u32::from(other))?,
        }
        run_start = at + c.len_utf8();
    }
    // `run_start` is a char boundary no greater than `text.len()`.
    f.write_str(&text[run_start..])
}

fn must_escape(c: char) -> bool {
    c.is_control() || c == '\\' || moves_text(c)
}

/// Invisible format characters that break lines or reorder what a terminal shows.
fn moves_text(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'                  // Arabic letter mark
            | '\u{200B}'..='\u{200F}' // zero-width characters, LRM, RLM
            | '\u{2028}'..='\u{202E}' // line and paragraph separators, bidi embeddings
            | '\u{2060}'..='\u{2069}' // word joiner, invisible operators, bidi isolates
            | '\u{FEFF}'              // zero-width no-break space
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
    )
}

/// A byte string as a quoted Rust-like literal: valid UTF-8 escaped as `str`'s `Debug` does,
/// invalid bytes as `\xNN`.
#[derive(Clone, Copy)]
struct QuotedBytes<'a>(&'a [u8]);

impl fmt::Debug for QuotedBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if moves_text(c) {
                    write!(f, "\\u{{{:x}}}", u32::from(c))?;
                } else {
                    write!(f, "{}", c.escape_debug())?;
                }
            }
            for byte in chunk.invalid() {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        f.write_char('"')
    }
}

struct DebugLines<'a>(ReplyRef<'a>);

impl fmt::Debug for DebugLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.lines().map(QuotedBytes))
            .finish()
    }
}

struct DisplayAsDebug<T>(T);

impl<T: fmt::Display> fmt::Debug for DisplayAsDebug<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
