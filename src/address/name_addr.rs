//! `Name <address>` and `<address>` forms (RFC 5322 §3.4 name-addr): the display name is
//! checked and dropped.

use super::AddressError;

/// The address inside `input`: the text between `<` and `>` when there are brackets, the
/// whole input otherwise.
pub(super) fn strip_display_name(input: &str) -> Result<&str, AddressError> {
    let (open, close) = match (input.find('<'), input.find('>')) {
        (None, None) => return Ok(input),
        (Some(open), Some(close)) if open < close => (open, close),
        _ => return Err(AddressError::UnbalancedBrackets),
    };
    // `open` and `close` index one-octet characters, so every slice below is on character
    // boundaries.
    let (name, inside, after) = (&input[..open], &input[open + 1..close], &input[close + 1..]);
    if inside.contains('<') || after.contains(['<', '>']) {
        return Err(AddressError::UnbalancedBrackets);
    }
    if !after.is_empty() {
        return Err(AddressError::TextAfterAddress);
    }
    validate_display_name(name)?;
    Ok(inside)
}

/// A phrase: words (atext, dots and UTF-8) and quoted strings, separated by spaces. Empty is
/// fine. Control characters and angle brackets were refused before.
fn validate_display_name(name: &str) -> Result<(), AddressError> {
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        let valid = match c {
            '"' => skip_quoted_string(&mut chars),
            ' ' | '.' => true,
            c => c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii(),
        };
        if !valid {
            return Err(AddressError::MalformedDisplayName);
        }
    }
    Ok(())
}

/// Consumes a quoted string after its opening quote; false if it is not closed.
fn skip_quoted_string(chars: &mut core::str::Chars<'_>) -> bool {
    while let Some(c) = chars.next() {
        match c {
            '"' => return true,
            '\\' if chars.next().is_none() => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(strip_display_name("a@b"), Ok("a@b"));
        assert_eq!(strip_display_name("<a@b>"), Ok("a@b"));
        assert_eq!(strip_display_name("Jane Doe <a@b>"), Ok("a@b"));
        assert_eq!(strip_display_name("\"Doe, Jane\" <a@b>"), Ok("a@b"));
        assert_eq!(
            strip_display_name("\"Jane \\\"JD\\\" Doe\"<a@b>"),
            Ok("a@b")
        );
        assert_eq!(strip_display_name("Jane Q. Doe <a@b>"), Ok("a@b"));
        assert_eq!(strip_display_name("Zoë <a@b>"), Ok("a@b"));
    }

    #[test]
    fn refusals() {
        use AddressError::*;
        assert_eq!(strip_display_name("<<a@b>>"), Err(UnbalancedBrackets));
        assert_eq!(strip_display_name("<a@b"), Err(UnbalancedBrackets));
        assert_eq!(strip_display_name("a@b>"), Err(UnbalancedBrackets));
        assert_eq!(strip_display_name(">a@b<"), Err(UnbalancedBrackets));
        assert_eq!(strip_display_name("<a@b><c@d>"), Err(UnbalancedBrackets));
        assert_eq!(strip_display_name("<a@b> x"), Err(TextAfterAddress));
        assert_eq!(strip_display_name("<a@b> "), Err(TextAfterAddress));
        assert_eq!(
            strip_display_name("Doe, Jane <a@b>"),
            Err(MalformedDisplayName)
        );
        assert_eq!(strip_display_name("\"Doe <a@b>"), Err(MalformedDisplayName));
        assert_eq!(strip_display_name("x@y <a@b>"), Err(MalformedDisplayName));
    }
}
