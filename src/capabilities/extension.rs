//! An extension the client has no accessor for, kept with its parameters.

use super::line::EhloLine;
use alloc::string::String;

/// An advertised extension: its keyword (upper-cased) and its parameters (printable ASCII
/// tokens, as sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The keyword, then each parameter behind one space.
    text: String,
    keyword_len: usize,
}

impl Extension {
    /// The extension on `line`, or `None` if a parameter is not ehlo-param
    /// (`1*%d33-126`). The keyword was checked by the caller.
    pub(super) fn from_line(line: &EhloLine<'_>) -> Option<Extension> {
        let is_param = |param: &[u8]| param.iter().all(|b| (33..=126).contains(b));
        if !line.params().all(is_param) {
            return None;
        }
        let mut text = String::new();
        push_ascii(&mut text, line.keyword(), |b| b.to_ascii_uppercase());
        let keyword_len = text.len();
        for param in line.params() {
            text.push(' ');
            push_ascii(&mut text, param, |b| b);
        }
        Some(Extension { text, keyword_len })
    }

    /// The keyword, upper-cased, e.g. `MT-PRIORITY`.
    pub fn keyword(&self) -> &str {
        &self.text[..self.keyword_len]
    }

    /// The parameters, in order.
    pub fn params(&self) -> core::str::SplitAsciiWhitespace<'_> {
        self.text[self.keyword_len..].split_ascii_whitespace()
    }
}

/// Appends ASCII `bytes` (checked by the caller), each mapped by `map`.
fn push_ascii(text: &mut String, bytes: &[u8], map: impl Fn(u8) -> u8) {
    text.extend(bytes.iter().map(|&b| char::from(map(b))));
}
