//! RFC 2047 encoded words (`=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=`): how non-ASCII text, and text too
//! long to fold, goes into a header.
//!
//! The whole value becomes a run of encoded words separated by white space, which readers
//! drop between adjacent encoded words (RFC 2047 §6.2), so decoding gives back the value
//! exactly. Each word holds whole UTF-8 characters, is at most [`MAX_ENCODED_WORD_LEN`]
//! octets, and is sized to fit the header line it lands on. `Q` uses only the characters
//! RFC 2047 §5(3) allows in a phrase, so the same words serve in a Subject and in a display
//! name. `B` is used instead when it is shorter for the value.

use super::header::HeaderWriter;
use super::quoted_printable::push_escape;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::string::String;

/// The longest encoded word RFC 2047 §2 allows.
pub const MAX_ENCODED_WORD_LEN: usize = 75;

const Q_PREFIX: &str = "=?UTF-8?Q?";
const B_PREFIX: &str = "=?UTF-8?B?";
const SUFFIX: &str = "?=";
/// Octets of an encoded word around its encoded text; both prefixes have the same length.
const OVERHEAD: usize = Q_PREFIX.len() + SUFFIX.len();

/// The two encodings of RFC 2047 §4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    /// Like quoted-printable: readable for mostly-ASCII text.
    Q,
    /// Base64: shorter for mostly non-ASCII text.
    B,
}

/// Pushes `text` into `writer` as encoded words, one per [`HeaderWriter::push`]. Each word
/// fills the room left on the current line, or a fresh line when not even the next character
/// fits there.
pub(crate) fn push_encoded_words(writer: &mut HeaderWriter<'_>, text: &str) {
    let encoding = choose_encoding(text);
    let mut rest = text;
    let mut word = String::new();
    while let Some(first) = rest.chars().next() {
        let smallest_word = OVERHEAD + encoded_len(encoding, &rest.as_bytes()[..first.len_utf8()]);
        let room = writer.room().min(MAX_ENCODED_WORD_LEN);
        let longest_word = if room >= smallest_word {
            room
        } else {
            MAX_ENCODED_WORD_LEN
        };
        let take = longest_prefix(encoding, rest, longest_word - OVERHEAD);
        // `take` ends on a char boundary and covers at least `first`, since the smallest word
        // (at most 12 + 3 × 4 octets) always fits MAX_ENCODED_WORD_LEN.
        let (chunk, after) = rest.split_at(take.max(first.len_utf8()));
        word.clear();
        encode_word(encoding, chunk, &mut word);
        writer.push(" ", &word);
        rest = after;
    }
}

/// `Q` unless `B` is shorter for the whole of `text`.
fn choose_encoding(text: &str) -> Encoding {
    let bytes = text.as_bytes();
    if encoded_len(Encoding::Q, bytes) <= encoded_len(Encoding::B, bytes) {
        Encoding::Q
    } else {
        Encoding::B
    }
}

/// The length of `bytes` encoded, without prefix and suffix.
fn encoded_len(encoding: Encoding, bytes: &[u8]) -> usize {
    match encoding {
        Encoding::Q => bytes.iter().map(|&b| q_len(b)).sum(),
        Encoding::B => bytes.len().div_ceil(3) * 4,
    }
}

/// The longest prefix of `text`, in whole characters, whose encoding fits `budget` octets.
fn longest_prefix(encoding: Encoding, text: &str, budget: usize) -> usize {
    let mut taken = 0;
    let mut q_used = 0;
    for (start, c) in text.char_indices() {
        let end = start + c.len_utf8();
        let used = match encoding {
            Encoding::Q => {
                // `start..end` is the char `c` itself.
                q_used += text.as_bytes()[start..end]
                    .iter()
                    .map(|&b| q_len(b))
                    .sum::<usize>();
                q_used
            }
            Encoding::B => end.div_ceil(3) * 4,
        };
        if used > budget {
            break;
        }
        taken = end;
    }
    taken
}

/// Whether `Q` writes `b` as itself: letters, digits and `!*+-/` (RFC 2047 §5(3)).
fn q_literal(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!*+-/".contains(&b)
}

fn q_len(b: u8) -> usize {
    if q_literal(b) || b == b' ' { 1 } else { 3 }
}

/// Appends the encoded word for `chunk` to `out`.
fn encode_word(encoding: Encoding, chunk: &str, out: &mut String) {
    match encoding {
        Encoding::Q => {
            out.push_str(Q_PREFIX);
            for &b in chunk.as_bytes() {
                if q_literal(b) {
                    out.push(char::from(b));
                } else if b == b' ' {
                    out.push('_');
                } else {
                    push_escape(b, out);
                }
            }
        }
        Encoding::B => {
            out.push_str(B_PREFIX);
            STANDARD.encode_string(chunk, out);
        }
    }
    out.push_str(SUFFIX);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(name: &str, text: &str) -> String {
        let mut out = String::new();
        let mut writer = HeaderWriter::new(&mut out, name);
        push_encoded_words(&mut writer, text);
        writer.finish();
        out
    }

    #[test]
    fn mostly_ascii_text_uses_q() {
        assert_eq!(
            words("Subject", "Café au lait"),
            "Subject: =?UTF-8?Q?Caf=C3=A9_au_lait?=\r\n"
        );
        assert_eq!(
            words("Subject", "Is it true that a=b_c?"),
            "Subject: =?UTF-8?Q?Is_it_true_that_a=3Db=5Fc=3F?=\r\n"
        );
    }

    #[test]
    fn mostly_non_ascii_text_uses_b() {
        assert_eq!(
            words("Subject", "日本語"),
            "Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\n"
        );
    }

    #[test]
    fn words_fill_lines_and_never_split_a_character() {
        let text = "😀".repeat(60);
        let out = words("Subject", &text);
        for line in out.split("\r\n") {
            assert!(line.len() <= 78, "{line}");
            for word in line.split(' ').filter(|w| w.starts_with("=?")) {
                assert!(word.len() <= MAX_ENCODED_WORD_LEN, "{word}");
                let payload = &word[B_PREFIX.len()..word.len() - SUFFIX.len()];
                // 4-octet characters: each word holds a whole number of them.
                assert_eq!(STANDARD.decode(payload).unwrap().len() % 4, 0, "{word}");
            }
        }
    }

    #[test]
    fn a_long_field_name_pushes_the_first_word_to_a_fresh_line() {
        let name = format!("X-{}", "n".repeat(70));
        let out = words(&name, "é");
        assert_eq!(out, format!("{name}:\r\n =?UTF-8?B?w6k=?=\r\n"));
    }
}
