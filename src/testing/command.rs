//! Server-side parsing of one command line (without its line ending).
//!
//! Independent of the client-side `smtpwire::command` module on purpose: the test server
//! must judge what a client sends with its own reading of RFC 5321.

/// Longest path accepted in `MAIL FROM`/`RCPT TO`, angle brackets included (RFC 5321
/// §4.5.3.1.3).
pub(crate) const MAX_PATH: usize = 256;

/// The command word of a line, known even when the rest of the line is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Ehlo,
    Helo,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Noop,
    Quit,
    /// A real SMTP command this server does not implement (`VRFY`, `EXPN`, ...).
    NotImplemented,
    Unknown,
}

impl Verb {
    fn from_word(word: &[u8]) -> Self {
        const TABLE: &[(&[u8], Verb)] = &[
            (b"EHLO", Verb::Ehlo),
            (b"HELO", Verb::Helo),
            (b"STARTTLS", Verb::StartTls),
            (b"AUTH", Verb::Auth),
            (b"MAIL", Verb::Mail),
            (b"RCPT", Verb::Rcpt),
            (b"DATA", Verb::Data),
            (b"BDAT", Verb::Bdat),
            (b"RSET", Verb::Rset),
            (b"NOOP", Verb::Noop),
            (b"QUIT", Verb::Quit),
            (b"VRFY", Verb::NotImplemented),
            (b"EXPN", Verb::NotImplemented),
            (b"HELP", Verb::NotImplemented),
            (b"ETRN", Verb::NotImplemented),
            (b"TURN", Verb::NotImplemented),
        ];
        TABLE
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
            .map_or(Verb::Unknown, |&(_, verb)| verb)
    }
}

/// One `KEYWORD[=VALUE]` parameter of MAIL or RCPT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Param<'a> {
    pub(crate) keyword: &'a [u8],
    pub(crate) value: Option<&'a [u8]>,
}

impl Param<'_> {
    /// The parameter as it was sent, for the record.
    pub(crate) fn to_text(self) -> String {
        let keyword = String::from_utf8_lossy(self.keyword);
        match self.value {
            Some(value) => format!("{keyword}={}", String::from_utf8_lossy(value)),
            None => keyword.into_owned(),
        }
    }

    pub(crate) fn is(&self, keyword: &str) -> bool {
        self.keyword.eq_ignore_ascii_case(keyword.as_bytes())
    }
}

/// The path (without angle brackets) and parameters of MAIL FROM or RCPT TO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PathArgs<'a> {
    pub(crate) path: &'a [u8],
    pub(crate) params: Vec<Param<'a>>,
}

/// A command line, understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    Ehlo(&'a [u8]),
    Helo(&'a [u8]),
    StartTls,
    Auth {
        mechanism: &'a [u8],
        initial: Option<&'a [u8]>,
    },
    Mail(PathArgs<'a>),
    Rcpt(PathArgs<'a>),
    Data,
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
    NotImplemented,
    Unknown,
}

/// A line whose verb is known but whose arguments are not acceptable: answer `501` (or `500`
/// for forbidden characters) with `text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed {
    pub(crate) verb: Verb,
    pub(crate) code: u16,
    pub(crate) enhanced: &'static str,
    pub(crate) text: &'static str,
}

impl Malformed {
    fn syntax(verb: Verb, text: &'static str) -> Self {
        Malformed {
            verb,
            code: 501,
            enhanced: "5.5.4",
            text,
        }
    }
}

/// Parses one command line (no CRLF).
pub(crate) fn parse(line: &[u8]) -> Result<Command<'_>, Malformed> {
    let (word, rest) = split_word(line);
    let verb = Verb::from_word(word);
    if line.iter().any(|&b| b == b'\r' || b == 0) {
        return Err(Malformed {
            verb,
            code: 500,
            enhanced: "5.5.2",
            text: "CR or NUL inside a command line",
        });
    }
    let args = trim_spaces(rest);
    let no_arguments = |command: Command<'static>| {
        if args.is_empty() {
            Ok(command)
        } else {
            Err(Malformed::syntax(verb, "no arguments allowed"))
        }
    };
    match verb {
        Verb::Ehlo | Verb::Helo => {
            let (domain, _) = split_word(args);
            if domain.is_empty() {
                return Err(Malformed::syntax(
                    verb,
                    "a domain or address literal is required",
                ));
            }
            Ok(if verb == Verb::Ehlo {
                Command::Ehlo(domain)
            } else {
                Command::Helo(domain)
            })
        }
        Verb::StartTls => no_arguments(Command::StartTls),
        Verb::Data => no_arguments(Command::Data),
        Verb::Rset => no_arguments(Command::Rset),
        Verb::Quit => no_arguments(Command::Quit),
        // RFC 5321 §4.1.1.9: NOOP may carry a string, which is ignored.
        Verb::Noop => Ok(Command::Noop),
        Verb::Auth => parse_auth(args),
        Verb::Mail => parse_path_args(verb, args, b"FROM:").map(Command::Mail),
        Verb::Rcpt => parse_path_args(verb, args, b"TO:").map(Command::Rcpt),
        Verb::Bdat => parse_bdat(args),
        Verb::NotImplemented => Ok(Command::NotImplemented),
        Verb::Unknown => Ok(Command::Unknown),
    }
}

fn parse_auth(args: &[u8]) -> Result<Command<'_>, Malformed> {
    let mut words = args.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let mechanism = words
        .next()
        .ok_or(Malformed::syntax(Verb::Auth, "a mechanism is required"))?;
    let initial = words.next();
    if words.next().is_some() {
        return Err(Malformed::syntax(Verb::Auth, "too many arguments"));
    }
    Ok(Command::Auth { mechanism, initial })
}

fn parse_bdat(args: &[u8]) -> Result<Command<'_>, Malformed> {
    let bad = Malformed::syntax(Verb::Bdat, "expected BDAT <size> [LAST]");
    let mut words = args.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let size_word = words.next().ok_or(bad)?;
    let last = match words.next() {
        None => false,
        Some(word) if word.eq_ignore_ascii_case(b"LAST") => true,
        Some(_) => return Err(bad),
    };
    if words.next().is_some() {
        return Err(bad);
    }
    // At most 19 digits always fits in a u64, so the fold cannot overflow.
    if size_word.is_empty() || size_word.len() > 19 || !size_word.iter().all(u8::is_ascii_digit) {
        return Err(bad);
    }
    let size = size_word
        .iter()
        .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
    Ok(Command::Bdat { size, last })
}

fn parse_path_args<'a>(
    verb: Verb,
    args: &'a [u8],
    keyword: &[u8],
) -> Result<PathArgs<'a>, Malformed> {
    let after_keyword = args
        .get(..keyword.len())
        .filter(|head| head.eq_ignore_ascii_case(keyword))
        .and_then(|_| args.get(keyword.len()..))
        .ok_or(Malformed::syntax(verb, "expected FROM:<path> or TO:<path>"))?;
    // Tolerate spaces after the colon, as most servers do.
    let bracketed = trim_spaces(after_keyword);
    let path_end = closing_bracket(bracketed).ok_or(Malformed::syntax(
        verb,
        "the path must be in angle brackets",
    ))?;
    if path_end + 1 > MAX_PATH {
        return Err(Malformed::syntax(verb, "path longer than 256 octets"));
    }
    // `closing_bracket` found '<' at 0 and '>' at `path_end`, so both slices are in range.
    let path = &bracketed[1..path_end];
    let rest = &bracketed[path_end + 1..];
    if rest.first().is_some_and(|&b| b != b' ') {
        return Err(Malformed::syntax(verb, "a space must follow the path"));
    }
    let params = rest
        .split(|&b| b == b' ')
        .filter(|w| !w.is_empty())
        .map(|word| parse_param(verb, word))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PathArgs { path, params })
}

/// Index of the `>` closing a path that starts with `<`, skipping quoted strings and
/// backslash escapes.
fn closing_bracket(text: &[u8]) -> Option<usize> {
    if text.first() != Some(&b'<') {
        return None;
    }
    let mut quoted = false;
    let mut escaped = false;
    for (index, &byte) in text.iter().enumerate().skip(1) {
        match byte {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => quoted = !quoted,
            b'>' if !quoted => return Some(index),
            _ => {}
        }
    }
    None
}

fn parse_param(verb: Verb, word: &[u8]) -> Result<Param<'_>, Malformed> {
    let (keyword, value) = match word.iter().position(|&b| b == b'=') {
        Some(eq) => (&word[..eq], Some(&word[eq + 1..])),
        None => (word, None),
    };
    let keyword_ok = keyword.first().is_some_and(u8::is_ascii_alphanumeric)
        && keyword
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-');
    // RFC 5321 esmtp-value: %d33-60 / %d62-126 (printable, no '='); SMTPUTF8 (RFC 6531)
    // also allows UTF-8, so any octet above 127 passes too.
    let value_ok = value.is_none_or(|v| {
        !v.is_empty()
            && v.iter()
                .all(|&b| b != b'=' && (b >= 0x80 || b.is_ascii_graphic()))
    });
    if keyword_ok && value_ok {
        Ok(Param { keyword, value })
    } else {
        Err(Malformed::syntax(verb, "malformed parameter"))
    }
}

/// Splits at the first space: `(word, rest after the space)`.
fn split_word(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&b| b == b' ') {
        Some(space) => (&line[..space], &line[space + 1..]),
        None => (line, &[]),
    }
}

fn trim_spaces(mut text: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = text {
        text = rest;
    }
    while let [rest @ .., b' '] = text {
        text = rest;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_are_case_insensitive() {
        assert_eq!(
            parse(b"ehlo client.test"),
            Ok(Command::Ehlo(b"client.test"))
        );
        assert_eq!(parse(b"QuIt"), Ok(Command::Quit));
        assert_eq!(parse(b"VRFY x"), Ok(Command::NotImplemented));
        assert_eq!(parse(b"FOO"), Ok(Command::Unknown));
        assert_eq!(parse(b""), Ok(Command::Unknown));
    }

    #[test]
    fn mail_path_and_params() {
        let Ok(Command::Mail(args)) = parse(b"MAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME")
        else {
            panic!("not a MAIL command");
        };
        assert_eq!(args.path, b"a@b.example");
        let texts: Vec<String> = args.params.iter().map(|p| p.to_text()).collect();
        assert_eq!(texts, ["SIZE=100", "BODY=8BITMIME"]);

        let Ok(Command::Mail(null)) = parse(b"mail from: <>") else {
            panic!("null path refused");
        };
        assert_eq!(null.path, b"");

        let Ok(Command::Rcpt(quoted)) = parse(br#"RCPT TO:<"a>b"@c.example>"#) else {
            panic!("quoted local part refused");
        };
        assert_eq!(quoted.path, br#""a>b"@c.example"#);
    }

    #[test]
    fn malformed_paths_are_refused_with_the_right_verb() {
        for line in [
            &b"MAIL FROM:a@b"[..],
            b"MAIL TO:<a@b>",
            b"MAIL FROM:<a@b",
            b"MAIL FROM:<a@b>SIZE=1",
            b"RCPT TO:<a@b> =x",
            b"RCPT TO:<a@b> X=",
        ] {
            let error = parse(line).unwrap_err();
            assert_eq!(error.code, 501, "{}", String::from_utf8_lossy(line));
        }
        let long = format!("RCPT TO:<{}@example.org>", "a".repeat(250));
        assert_eq!(parse(long.as_bytes()).unwrap_err().verb, Verb::Rcpt);
    }

    #[test]
    fn forbidden_characters_are_refused() {
        let error = parse(b"MAIL FROM:<a@b>\rRCPT TO:<c@d>").unwrap_err();
        assert_eq!((error.verb, error.code), (Verb::Mail, 500));
        assert_eq!(parse(b"NOOP \0").unwrap_err().code, 500);
    }

    #[test]
    fn bdat_sizes() {
        assert_eq!(
            parse(b"BDAT 0 LAST"),
            Ok(Command::Bdat {
                size: 0,
                last: true
            })
        );
        assert_eq!(
            parse(b"bdat 9999999999999999999"),
            Ok(Command::Bdat {
                size: 9_999_999_999_999_999_999,
                last: false
            })
        );
        for bad in [
            &b"BDAT"[..],
            b"BDAT x",
            b"BDAT 1 FIRST",
            b"BDAT 99999999999999999999",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn auth_arguments() {
        assert_eq!(
            parse(b"AUTH PLAIN AGEAYg=="),
            Ok(Command::Auth {
                mechanism: b"PLAIN",
                initial: Some(b"AGEAYg==")
            })
        );
        assert!(parse(b"AUTH").is_err());
        assert!(parse(b"AUTH PLAIN a b").is_err());
    }

    #[test]
    fn commands_without_arguments_refuse_them() {
        assert!(parse(b"DATA x").is_err());
        assert!(parse(b"STARTTLS now").is_err());
        assert_eq!(parse(b"NOOP anything"), Ok(Command::Noop));
        assert_eq!(parse(b"DATA  "), Ok(Command::Data));
    }
}
