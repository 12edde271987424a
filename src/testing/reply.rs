//! Server replies and how they are written on the wire.

/// A reply the server is about to send: a code, an optional enhanced status code and one
/// or more text lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) code: u16,
    enhanced: Option<&'static str>,
    lines: Vec<String>,
}

impl Reply {
    /// A one-line reply with an enhanced status code (`"2.1.0"`), which is written only when
    /// ENHANCEDSTATUSCODES is advertised (see [`Reply::to_wire`]).
    pub(crate) fn new(code: u16, enhanced: &'static str, text: impl Into<String>) -> Self {
        Reply {
            code,
            enhanced: Some(enhanced),
            lines: vec![text.into()],
        }
    }

    /// A reply whose text is used exactly as given; `\n` separates lines of a multi-line
    /// reply (a trailing `\r` on a line is dropped).
    pub(crate) fn verbatim(code: u16, text: &str) -> Self {
        let lines = text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line).to_owned())
            .collect();
        Reply {
            code,
            enhanced: None,
            lines,
        }
    }

    /// A multi-line reply without enhanced codes (EHLO).
    pub(crate) fn lines(code: u16, lines: Vec<String>) -> Self {
        Reply {
            code,
            enhanced: None,
            lines,
        }
    }

    /// Whether the code is positive (2xx or 3xx), i.e. the command had its effect.
    pub(crate) fn is_positive(code: u16) -> bool {
        (200..400).contains(&code)
    }

    /// The octets to write: `code-text` lines and a final `code text` line, each ending in
    /// CRLF, with the enhanced code in front of each line's text when `enhanced` is true.
    pub(crate) fn to_wire(&self, enhanced: bool) -> Vec<u8> {
        let prefix = match self.enhanced {
            Some(code) if enhanced => format!("{code} "),
            _ => String::new(),
        };
        let mut out = Vec::new();
        let count = self.lines.len().max(1);
        for index in 0..count {
            let text = self.lines.get(index).map(String::as_str).unwrap_or("");
            let separator = if index + 1 == count { ' ' } else { '-' };
            out.extend_from_slice(format!("{}{separator}{prefix}{text}\r\n", self.code).as_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_codes_follow_the_extension() {
        let reply = Reply::new(250, "2.1.0", "Sender OK");
        assert_eq!(reply.to_wire(true), b"250 2.1.0 Sender OK\r\n");
        assert_eq!(reply.to_wire(false), b"250 Sender OK\r\n");
    }

    #[test]
    fn verbatim_text_splits_into_lines() {
        let reply = Reply::verbatim(421, "4.4.2 one\r\ntwo");
        assert_eq!(reply.to_wire(true), b"421-4.4.2 one\r\n421 two\r\n");
        let empty = Reply::verbatim(250, "");
        assert_eq!(empty.to_wire(true), b"250 \r\n");
    }

    #[test]
    fn multi_line_replies_use_dashes_until_the_last_line() {
        let reply = Reply::lines(250, vec!["host".into(), "PIPELINING".into()]);
        assert_eq!(reply.to_wire(true), b"250-host\r\n250 PIPELINING\r\n");
    }
}
