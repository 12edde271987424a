//! One EHLO line, `keyword *(SP param)`, split into its tokens.

/// An EHLO line cut at its first space: the first token and what follows.
pub(super) struct EhloLine<'a> {
    keyword: &'a [u8],
    rest: &'a [u8],
}

impl<'a> EhloLine<'a> {
    /// Splits `line` at its first space. Nothing is trimmed: a line that starts with a space
    /// has an empty (invalid) keyword.
    pub(super) fn split(line: &'a [u8]) -> EhloLine<'a> {
        match memchr::memchr(b' ', line) {
            // `space` is an index into `line`, so both ranges are in bounds.
            Some(space) => EhloLine {
                keyword: &line[..space],
                rest: &line[space + 1..],
            },
            None => EhloLine {
                keyword: line,
                rest: &[],
            },
        }
    }

    /// The first token as sent.
    pub(super) fn keyword(&self) -> &'a [u8] {
        self.keyword
    }

    /// Whether the first token is an ehlo-keyword: `(ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`.
    pub(super) fn has_valid_keyword(&self) -> bool {
        match self.keyword.split_first() {
            Some((first, rest)) => {
                first.is_ascii_alphanumeric()
                    && rest.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            }
            None => false,
        }
    }

    /// Whether the first token is `keyword`, ignoring ASCII case.
    pub(super) fn keyword_is(&self, keyword: &str) -> bool {
        self.keyword.eq_ignore_ascii_case(keyword.as_bytes())
    }

    /// For the old `AUTH=LOGIN PLAIN` form, the mechanism glued to `AUTH=`.
    pub(super) fn old_auth_form(&self) -> Option<&'a [u8]> {
        const PREFIX: &[u8] = b"AUTH=";
        let head = self.keyword.get(..PREFIX.len())?;
        // `get` succeeded, so the keyword is at least PREFIX.len() long.
        head.eq_ignore_ascii_case(PREFIX)
            .then(|| &self.keyword[PREFIX.len()..])
    }

    /// The parameters: the tokens after the keyword, runs of spaces skipped.
    pub(super) fn params(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        self.rest
            .split(|&b| b == b' ')
            .filter(|param| !param.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let line = EhloLine::split(b"AUTH  PLAIN LOGIN ");
        assert!(line.has_valid_keyword() && line.keyword_is("auth"));
        assert_eq!(
            line.params().collect::<alloc::vec::Vec<_>>(),
            [&b"PLAIN"[..], b"LOGIN"]
        );
        assert!(!EhloLine::split(b" PIPELINING").has_valid_keyword());
        assert!(!EhloLine::split(b"-X").has_valid_keyword());
        assert!(!EhloLine::split(b"X_Y").has_valid_keyword());
        assert!(!EhloLine::split(b"PIPELINING\r").has_valid_keyword());
        assert!(EhloLine::split(b"X-Y2").has_valid_keyword());
        assert_eq!(
            EhloLine::split(b"auth=LOGIN PLAIN").old_auth_form(),
            Some(&b"LOGIN"[..])
        );
        assert_eq!(EhloLine::split(b"AUTH LOGIN").old_auth_form(), None);
        assert_eq!(EhloLine::split(b"AUT").old_auth_form(), None);
    }
}
