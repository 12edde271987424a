//! Local parts (RFC 5321 §4.1.2, with the UTF-8 extension of RFC 6531 §3.3): a dot-atom or a
//! quoted string.

use super::AddressError;

/// The index of the `@` that ends the local part at the start of `address`. A quoted local
/// part may itself hold `@`, so the split point is found by scanning, not by searching.
pub(super) fn find_end(address: &str) -> Result<usize, AddressError> {
    let end = match address.strip_prefix('"') {
        Some(quoted) => 1 + closing_quote(quoted).ok_or(AddressError::InvalidLocalPart)? + 1,
        None => return address.find('@').ok_or(AddressError::MissingAt),
    };
    match address.as_bytes().get(end) {
        Some(b'@') => Ok(end),
        Some(_) => Err(AddressError::InvalidLocalPart),
        None => Err(AddressError::MissingAt),
    }
}

/// Checks the syntax of a local part that [`find_end`] delimited. Control characters and
/// angle brackets were refused before.
pub(super) fn validate(local: &str) -> Result<(), AddressError> {
    match local.strip_prefix('"') {
        Some(quoted) => validate_quoted(quoted),
        None => validate_dot_string(local),
    }
}

/// Dot-string: atoms of atext (or UTF-8) separated by single dots.
fn validate_dot_string(local: &str) -> Result<(), AddressError> {
    if local.contains(' ') {
        return Err(AddressError::Space);
    }
    let is_atom = |atom: &str| !atom.is_empty() && atom.chars().all(is_atext);
    if local.split('.').all(is_atom) {
        Ok(())
    } else {
        Err(AddressError::InvalidLocalPart)
    }
}

/// The content of a quoted string, after its opening quote and up to its closing one
/// (included). Only a backslash followed by printable ASCII may quote a character.
fn validate_quoted(quoted: &str) -> Result<(), AddressError> {
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(' '..='~') => {}
                _ => return Err(AddressError::InvalidLocalPart),
            },
            '"' => {
                return if chars.as_str().is_empty() {
                    Ok(())
                } else {
                    Err(AddressError::InvalidLocalPart)
                };
            }
            _ => {}
        }
    }
    Err(AddressError::InvalidLocalPart)
}

/// The byte index of the quote that closes a quoted string whose content starts `content`.
fn closing_quote(content: &str) -> Option<usize> {
    let mut escaped = false;
    for (index, byte) in content.bytes().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(index),
            _ => {}
        }
    }
    None
}

/// RFC 5322 atext, extended with every non-ASCII character (RFC 6531).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_points() {
        assert_eq!(find_end("a@b"), Ok(1));
        assert_eq!(find_end("\"a@b\"@c"), Ok(5));
        assert_eq!(find_end("\"a\\\"@\"@c"), Ok(6));
        assert_eq!(find_end("\"a@b\""), Err(AddressError::MissingAt));
        assert_eq!(find_end("\"ab\"c@d"), Err(AddressError::InvalidLocalPart));
        assert_eq!(find_end("\"ab@c"), Err(AddressError::InvalidLocalPart));
        assert_eq!(find_end("abc"), Err(AddressError::MissingAt));
    }

    #[test]
    fn local_part_syntax() {
        assert_eq!(validate("first.last"), Ok(()));
        assert_eq!(validate("user+tag"), Ok(()));
        assert_eq!(validate("üser"), Ok(()));
        assert_eq!(validate("\"john doe\""), Ok(()));
        assert_eq!(validate("\"\""), Ok(()));
        assert_eq!(validate("\"a\\\\b\""), Ok(()));
        assert_eq!(validate("john doe"), Err(AddressError::Space));
        assert_eq!(validate(".a"), Err(AddressError::InvalidLocalPart));
        assert_eq!(validate("a."), Err(AddressError::InvalidLocalPart));
        assert_eq!(validate("a..b"), Err(AddressError::InvalidLocalPart));
        assert_eq!(validate(""), Err(AddressError::InvalidLocalPart));
        assert_eq!(validate("a,b"), Err(AddressError::InvalidLocalPart));
        assert_eq!(validate("\"a\\é\""), Err(AddressError::InvalidLocalPart));
    }
}
