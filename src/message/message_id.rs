//! The `Message-ID` header: `<left@right>` (RFC 5322 §3.6.4), generated from the operating
//! system's random number generator.

use super::error::MessageIdError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use core::fmt;
use core::str::FromStr;
use std::string::String;

/// Random octets in a generated Message-ID: 144 bits, which base64 writes in 24 characters
/// without padding.
const RANDOM_OCTETS: usize = 18;

/// The longest Message-ID, angle brackets included, that still fits a 998-octet header line
/// after `Message-ID: `.
pub const MAX_MESSAGE_ID_LEN: usize = 998 - "Message-ID: ".len();

/// A Message-ID `<left@right>`: `left` a dot-atom, `right` a dot-atom or a `[literal]`
/// (RFC 5322 §3.6.4, with the UTF-8 of RFC 6532 §3.2 allowed). Valid by construction.
///
/// The ID is what keeps a message the same message: a mailer that resends composed bytes
/// after a broken connection resends the same ID, so receivers can spot the duplicate.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MessageId {
    /// `left@right`, without the angle brackets.
    text: String,
}

impl MessageId {
    /// A new unique ID `<random@domain>`, its left part 144 random bits from the operating
    /// system (`getrandom`) in URL-safe base64.
    ///
    /// `domain` is usually the sender's domain: a host name (ASCII or UTF-8) or an address
    /// literal such as `[192.0.2.1]`. Fails when `domain` cannot stand after the `@` of a
    /// Message-ID or the random number generator fails.
    pub fn generate(domain: &str) -> Result<MessageId, MessageIdError> {
        if !is_id_right(domain) {
            return Err(MessageIdError::Syntax);
        }
        let mut random = [0u8; RANDOM_OCTETS];
        getrandom::fill(&mut random).map_err(MessageIdError::Random)?;
        let text = format!("{}@{domain}", URL_SAFE_NO_PAD.encode(random));
        if text.len() + 2 > MAX_MESSAGE_ID_LEN {
            return Err(MessageIdError::Syntax);
        }
        Ok(MessageId { text })
    }

    /// Parses `<left@right>`, or `left@right` without brackets.
    pub fn parse(input: &str) -> Result<MessageId, MessageIdError> {
        let inner = match input.strip_prefix('<') {
            Some(rest) => rest.strip_suffix('>').ok_or(MessageIdError::Syntax)?,
            None => input,
        };
        if inner.len() + 2 > MAX_MESSAGE_ID_LEN {
            return Err(MessageIdError::Syntax);
        }
        // The left part is a dot-atom and holds no `@`, so the first `@` splits the two.
        let (left, right) = inner.split_once('@').ok_or(MessageIdError::Syntax)?;
        if !is_dot_atom(left) || !is_id_right(right) {
            return Err(MessageIdError::Syntax);
        }
        Ok(MessageId {
            text: String::from(inner),
        })
    }

    /// `left@right`, without the angle brackets.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Writes `<left@right>`, as it stands in the header.
impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.text)
    }
}

impl FromStr for MessageId {
    type Err = MessageIdError;

    /// Same as [`MessageId::parse`].
    fn from_str(input: &str) -> Result<MessageId, MessageIdError> {
        MessageId::parse(input)
    }
}

/// `atext` of RFC 5322 §3.2.3, widened by RFC 6532 §3.2 to every non-ASCII character.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control())
}

/// `dot-atom-text`: atoms of `atext` joined by single dots.
fn is_dot_atom(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// `id-right`: a dot-atom or `[dtext]` (printable ASCII but `[`, `]` and `\`).
fn is_id_right(text: &str) -> bool {
    match text.strip_prefix('[') {
        Some(rest) => rest
            .strip_suffix(']')
            .is_some_and(|literal| literal.bytes().all(|b| matches!(b, 33..=90 | 94..=126))),
        None => is_dot_atom(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_with_and_without_brackets() {
        let id = MessageId::parse("<a.b@example.com>").unwrap();
        assert_eq!(id.as_str(), "a.b@example.com");
        assert_eq!(id.to_string(), "<a.b@example.com>");
        assert_eq!(MessageId::parse("a.b@example.com"), Ok(id));
        assert!(MessageId::parse("x@[192.0.2.1]").is_ok());
        assert!(MessageId::parse("grüße@bücher.example").is_ok());
    }

    #[test]
    fn parse_refuses_what_is_not_a_msg_id() {
        for bad in [
            "",
            "<>",
            "<a@b",
            "a@b>",
            "ab",
            "a@",
            "@b",
            "a..b@c",
            ".a@b",
            "a.@b",
            "a@b..c",
            "a b@c",
            "a@b c",
            "a\r\n@b",
            "a@b\r\nBcc: x@y",
            "a@[b[c]",
            "a@[b",
            "a\"b@c",
            "a@b@c",
            "<<a@b>>",
        ] {
            assert_eq!(
                MessageId::parse(bad),
                Err(MessageIdError::Syntax),
                "{bad:?}"
            );
        }
        let long = format!("{}@b", "a".repeat(MAX_MESSAGE_ID_LEN));
        assert_eq!(MessageId::parse(&long), Err(MessageIdError::Syntax));
    }

    #[test]
    fn generated_ids_parse_back_and_carry_the_domain() {
        let id = MessageId::generate("example.com").unwrap();
        assert_eq!(MessageId::parse(&id.to_string()), Ok(id.clone()));
        let (left, right) = id.as_str().split_once('@').unwrap();
        assert_eq!(right, "example.com");
        assert_eq!(left.len(), 24);
        assert!(MessageId::generate("[192.0.2.1]").is_ok());
        assert_eq!(
            MessageId::generate("bad domain"),
            Err(MessageIdError::Syntax)
        );
        assert_eq!(MessageId::generate(""), Err(MessageIdError::Syntax));
    }
}
