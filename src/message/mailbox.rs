//! A mailbox as it stands in From, To, Cc and Reply-To: an address and an optional display
//! name.

use super::error::MailboxError;
use super::header::has_forbidden_control;
use crate::address::Address;
use core::str::FromStr;
use std::string::String;

/// An address with an optional display name (RFC 5322 §3.4 `mailbox`).
///
/// The display name is only ever a name: the composer writes it before the address in angle
/// brackets (`Name <a@b.c>`), quoting or encoding it as needed, and never writes a name in
/// place of an address. It holds no control character other than tab (checked here), so it
/// cannot break a header line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mailbox {
    name: Option<String>,
    address: Address,
}

impl Mailbox {
    /// A mailbox for `address` with the display name `name`. An empty name counts as none.
    ///
    /// Fails with [`MailboxError::ControlCharacter`] when the name holds CR, LF or another
    /// control character but tab.
    pub fn new(name: Option<String>, address: Address) -> Result<Mailbox, MailboxError> {
        let name = name.filter(|n| !n.is_empty());
        if name.as_deref().is_some_and(has_forbidden_control) {
            return Err(MailboxError::ControlCharacter);
        }
        Ok(Mailbox { name, address })
    }

    /// The display name, if any, as given (not quoted or encoded).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The address.
    pub fn address(&self) -> &Address {
        &self.address
    }
}

/// A mailbox without a display name.
impl From<Address> for Mailbox {
    fn from(address: Address) -> Mailbox {
        Mailbox {
            name: None,
            address,
        }
    }
}

impl FromStr for Mailbox {
    type Err = MailboxError;

    /// Parses `a@b.c`, `<a@b.c>`, `Name <a@b.c>` or `"Quoted, Name" <a@b.c>`. The address goes
    /// through [`Address::parse`]; a quoted name is unquoted (`\x` becomes `x`); an unquoted
    /// name is taken as written, without the white space around it, and may not hold `"`.
    fn from_str(input: &str) -> Result<Mailbox, MailboxError> {
        let input = input.trim_matches([' ', '\t']);
        let Some(before_close) = input.strip_suffix('>') else {
            return Ok(Mailbox::from(Address::parse(input)?));
        };
        let open = find_angle_open(before_close)?;
        // `open` is the index of an ASCII `<` in `before_close`.
        let (name_part, address_part) = (&before_close[..open], &before_close[open + 1..]);
        let name = parse_display_name(name_part.trim_matches([' ', '\t']))?;
        if address_part.contains(['<', '>']) {
            return Err(MailboxError::Syntax);
        }
        let address = Address::parse(address_part)?;
        Mailbox::new(name, address)
    }
}

/// The index of the `<` that opens the angle address: the first one outside a quoted-string.
fn find_angle_open(text: &str) -> Result<usize, MailboxError> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => return Ok(index),
            _ => {}
        }
    }
    Err(MailboxError::Syntax)
}

/// The display name in `text` (trimmed): nothing, one quoted-string, or plain text without
/// quotes or angle brackets.
fn parse_display_name(text: &str) -> Result<Option<String>, MailboxError> {
    if has_forbidden_control(text) {
        return Err(MailboxError::ControlCharacter);
    }
    let Some(quoted) = text.strip_prefix('"') else {
        if text.contains(['"', '<', '>']) {
            return Err(MailboxError::Syntax);
        }
        return Ok(Some(String::from(text)));
    };
    let mut name = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => name.push(chars.next().ok_or(MailboxError::Syntax)?),
            // The closing quote must end the name.
            '"' if chars.as_str().is_empty() => return Ok(Some(name)),
            '"' => return Err(MailboxError::Syntax),
            _ => name.push(c),
        }
    }
    Err(MailboxError::Syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_parsed_and_unquoted() {
        assert_eq!(parse_display_name(""), Ok(Some(String::new())));
        assert_eq!(
            parse_display_name("Ann Example"),
            Ok(Some("Ann Example".into()))
        );
        assert_eq!(
            parse_display_name(r#""Example, Ann""#),
            Ok(Some("Example, Ann".into()))
        );
        assert_eq!(
            parse_display_name(r#""a \"b\" \\c""#),
            Ok(Some(r#"a "b" \c"#.into()))
        );
        for bad in [r#""open"#, r#""a" b"#, r#"a "b""#, r#""a\"#, "a>b"] {
            assert_eq!(
                parse_display_name(bad),
                Err(MailboxError::Syntax),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_display_name("a\r\nBcc: x"),
            Err(MailboxError::ControlCharacter)
        );
    }

    #[test]
    fn the_angle_address_opens_outside_quotes() {
        assert_eq!(find_angle_open(r#""a<b" <"#), Ok(6));
        assert_eq!(find_angle_open(r#""a\"<b" <"#), Ok(8));
        assert_eq!(find_angle_open(r#""a<b""#), Err(MailboxError::Syntax));
    }
}
