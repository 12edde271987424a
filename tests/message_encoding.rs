//! Encoded words, folding and quoted-printable: line limits hold and decoding gives back the
//! input exactly. The decoders here are written from RFC 2045 §6.7 and RFC 2047, apart from
//! the encoder they check.

use base64::Engine as _;
use proptest::prelude::*;
use smtpwire::address::Address;
use smtpwire::message::{Mailbox, Message, MessageId};
use std::time::{Duration, UNIX_EPOCH};

/// A composed message taken apart: unfolded header fields, and the raw body.
struct Parsed {
    physical_header_lines: Vec<String>,
    fields: Vec<(String, String)>,
    body: String,
}

fn parse(message: &Message) -> Parsed {
    let text = String::from_utf8(message.as_bytes().to_vec()).expect("UTF-8 message");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .expect("blank line after the header");
    let physical_header_lines: Vec<String> = head.split("\r\n").map(String::from).collect();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in &physical_header_lines {
        if line.starts_with([' ', '\t']) {
            // Unfolding removes the CRLF only (RFC 5322 §2.2.3).
            fields
                .last_mut()
                .expect("continuation after a field")
                .1
                .push_str(line);
        } else {
            let (name, value) = line.split_once(':').expect("field name");
            fields.push((name.to_string(), value.to_string()));
        }
    }
    for (_, value) in &mut fields {
        // The single space the composer puts after the colon.
        if let Some(rest) = value.strip_prefix(' ') {
            *value = rest.to_string();
        }
    }
    Parsed {
        physical_header_lines,
        fields,
        body: body.to_string(),
    }
}

impl Parsed {
    fn field(&self, name: &str) -> &str {
        let found = self.fields.iter().find(|(n, _)| n == name);
        &found.unwrap_or_else(|| panic!("no {name} field")).1
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'A'..=b'F' => digit - b'A' + 10,
        _ => panic!("not an uppercase hex digit: {:?}", char::from(digit)),
    }
}

/// Decodes `=XX` escapes (and `_` as space when `underscore_is_space`).
fn decode_escapes(text: &[u8], underscore_is_space: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut index = 0;
    while index < text.len() {
        match text[index] {
            b'=' => {
                out.push(hex_value(text[index + 1]) * 16 + hex_value(text[index + 2]));
                index += 3;
            }
            b'_' if underscore_is_space => {
                out.push(b' ');
                index += 1;
            }
            other => {
                out.push(other);
                index += 1;
            }
        }
    }
    out
}

/// Decodes one encoded word to its octets, checking its form.
fn decode_word(word: &str) -> Vec<u8> {
    assert!(word.len() <= 75, "encoded word longer than 75: {word}");
    let inner = word
        .strip_prefix("=?UTF-8?")
        .and_then(|w| w.strip_suffix("?="))
        .expect(word);
    let (encoding, text) = inner.split_at(2);
    match encoding {
        "Q?" => {
            let allowed = |b: u8| b.is_ascii_alphanumeric() || b"!*+-/=_".contains(&b);
            assert!(
                text.bytes().all(allowed),
                "Q word with a phrase-unsafe octet: {word}"
            );
            decode_escapes(text.as_bytes(), true)
        }
        "B?" => base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect(word),
        _ => panic!("unknown encoding in {word}"),
    }
}

/// Decodes a value that is a run of encoded words separated by white space; each word must
/// hold whole UTF-8 characters.
fn decode_words(value: &str) -> String {
    value
        .split([' ', '\t'])
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8(decode_word(w)).expect("a word splits a UTF-8 character"))
        .collect()
}

/// Decodes an unstructured value as written by the composer: encoded words, or plain text.
fn decode_unstructured(value: &str) -> String {
    if value.starts_with("=?UTF-8?") {
        decode_words(value)
    } else {
        value.to_string()
    }
}

/// Decodes `phrase <address>` into the display name and the address.
fn decode_mailbox(value: &str) -> (Option<String>, String) {
    let Some(before_close) = value.strip_suffix('>') else {
        return (None, value.to_string());
    };
    let (phrase, address) = before_close.rsplit_once(" <").expect("angle address");
    let name = if let Some(quoted) = phrase.strip_prefix('"') {
        let quoted = quoted.strip_suffix('"').expect("closing quote");
        let mut name = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => name.push(chars.next().expect("escaped char")),
                '"' => panic!("unescaped quote in {phrase}"),
                _ => name.push(c),
            }
        }
        name
    } else if phrase.starts_with("=?") {
        decode_words(phrase)
    } else {
        phrase.to_string()
    };
    (Some(name), address.to_string())
}

/// Decodes a quoted-printable body: soft breaks removed, escapes decoded.
fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    String::from_utf8(decode_escapes(joined.as_bytes(), false)).expect("UTF-8 body")
}

/// `text` with every line break (CRLF, LF or CR) as CRLF.
fn crlf_lines(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n")
}

fn compose(name: &str, subject: &str, body: &str) -> Message {
    let to = Mailbox::new(
        Some(name.to_string()),
        Address::parse("to@example.org").unwrap(),
    );
    Message::builder()
        .from("Ann <ann@example.com>".parse().unwrap())
        .to(to.unwrap())
        .subject(subject)
        .text_body(body)
        .date(UNIX_EPOCH + Duration::from_secs(1_795_909_655))
        .message_id(MessageId::parse("<id@example.com>").unwrap())
        .build()
        .unwrap()
}

fn check_limits(parsed: &Parsed) {
    for line in &parsed.physical_header_lines {
        assert!(
            line.len() <= 78,
            "header line of {} octets: {line:?}",
            line.len()
        );
        assert!(
            !line.trim_start_matches([' ', '\t']).is_empty(),
            "blank folded line"
        );
    }
    let body_lines = parsed.body.strip_suffix("\r\n").unwrap_or(&parsed.body);
    for line in body_lines
        .split("\r\n")
        .filter(|l| !parsed.body.is_empty() || !l.is_empty())
    {
        assert!(
            line.len() <= 76,
            "body line of {} octets: {line:?}",
            line.len()
        );
        assert!(
            !line.ends_with([' ', '\t']),
            "trailing white space: {line:?}"
        );
        assert!(!line.starts_with('.'), "line starting with a dot: {line:?}");
        assert!(
            line.bytes().all(|b| b == b'\t' || (32..127).contains(&b)),
            "{line:?}"
        );
    }
}

/// Characters for header text: mostly ASCII words and specials, tabs, and any Unicode
/// outside the control characters (which are refused, see message_injection.rs).
fn header_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        1 => Just('\t'),
        1 => Just(' '),
        2 => any::<char>(),
    ]
    .prop_filter("no control characters but tab", |c| {
        *c == '\t' || !c.is_control()
    })
}

/// A body: lines of 0 to 200 characters (anything but CR and LF, with dots, spaces and `=`
/// made likely), joined by CRLF, LF or CR.
fn body() -> impl Strategy<Value = String> {
    let line_char = prop_oneof![
        6 => proptest::char::range(' ', '~'),
        1 => prop_oneof![Just('.'), Just(' '), Just('\t'), Just('=')],
        2 => any::<char>(),
    ]
    .prop_filter("line breaks come from the joins", |c| {
        *c != '\r' && *c != '\n'
    });
    let line_break = prop_oneof![Just("\r\n"), Just("\n"), Just("\r")];
    proptest::collection::vec((text_of(line_char, 200), line_break), 0..6).prop_map(|lines| {
        lines
            .into_iter()
            .flat_map(|(line, brk)| [line, brk.to_string()])
            .collect()
    })
}

/// Header text: half of the cases plain ASCII (printable, space, tab), which is folded
/// rather than encoded; the other half with any Unicode.
fn header_text(max: usize) -> impl Strategy<Value = String> {
    let ascii_char = prop_oneof![
        6 => proptest::char::range('!', '~'),
        1 => prop_oneof![Just(' '), Just('\t')],
    ];
    prop_oneof![text_of(ascii_char, max), text_of(header_char(), max)]
}

fn text_of(chars: impl Strategy<Value = char>, max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(chars, 0..max).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #[test]
    fn lines_stay_short_and_everything_decodes_back(
        name in header_text(120),
        subject in header_text(300),
        body in body(),
        last_line in text_of(header_char(), 100),
    ) {
        // The last line has no line break after it.
        let body = body + &last_line;
        let message = compose(&name, &subject, &body);
        let parsed = parse(&message);
        check_limits(&parsed);
        prop_assert_eq!(decode_unstructured(parsed.field("Subject")), subject);
        let expected_name = if name.is_empty() { None } else { Some(name.clone()) };
        prop_assert_eq!(
            decode_mailbox(parsed.field("To")),
            (expected_name, "to@example.org".to_string())
        );
        prop_assert_eq!(decode_quoted_printable(&parsed.body), crlf_lines(&body));
        prop_assert!(message.as_bytes().is_ascii());
    }
}

#[test]
fn long_unicode_subject_and_name_fold_within_limits() {
    let subject = "Überraschung! Это длинная тема письма 🎉 ".repeat(12);
    let name = "Zoë Ångström-Ñúñez ".repeat(8);
    let body = "ĉ".repeat(500) + "\n" + &" ".repeat(200) + "\n.\n";
    let message = compose(&name, &subject, &body);
    let parsed = parse(&message);
    check_limits(&parsed);
    assert!(parsed.physical_header_lines.len() > 20);
    assert_eq!(decode_unstructured(parsed.field("Subject")), subject);
    assert_eq!(
        decode_mailbox(parsed.field("To")).0.as_deref(),
        Some(name.as_str())
    );
    assert_eq!(decode_quoted_printable(&parsed.body), crlf_lines(&body));
}

#[test]
fn long_ascii_subject_folds_at_spaces_and_stays_readable() {
    let subject = "The quarterly report for the northern region is attached, please review it before Friday's meeting";
    let parsed = parse(&compose("", subject, ""));
    check_limits(&parsed);
    assert_eq!(parsed.field("Subject"), subject);
    assert!(
        parsed
            .physical_header_lines
            .iter()
            .any(|l| l.starts_with("Subject: The quarterly"))
    );
}

#[test]
fn display_names_are_atoms_quoted_or_encoded() {
    let to_of = |name: &str| parse(&compose(name, "", "")).field("To").to_string();
    assert_eq!(to_of("Bob Smith"), "Bob Smith <to@example.org>");
    assert_eq!(to_of("Smith, Bob"), "\"Smith, Bob\" <to@example.org>");
    assert_eq!(
        to_of(r#"Bob "the builder" \o/"#),
        r#""Bob \"the builder\" \\o/" <to@example.org>"#
    );
    assert_eq!(to_of("Bob  Smith"), "\"Bob  Smith\" <to@example.org>");
    // Text that reads as an encoded word is encoded, so no reader can decode it as one.
    let lookalike = to_of("=?UTF-8?B?Qm9i?=");
    assert!(
        lookalike.starts_with("=?UTF-8?") && !lookalike.contains("Qm9i"),
        "{lookalike}"
    );
    assert_eq!(
        decode_mailbox(&lookalike).0.as_deref(),
        Some("=?UTF-8?B?Qm9i?=")
    );
    assert_eq!(
        to_of("Zoë Day"),
        "=?UTF-8?Q?Zo=C3=AB_Day?= <to@example.org>"
    );
    assert_eq!(to_of("Jörg"), "=?UTF-8?B?SsO2cmc=?= <to@example.org>");
}

#[test]
fn body_line_breaks_and_dots() {
    let parsed = parse(&compose("", "", "line one\r\n.\nfrom here\rFrom there\n\n"));
    assert_eq!(
        parsed.body,
        "line one\r\n=2E\r\nfrom here\r\n=46rom there\r\n\r\n"
    );
    let parsed = parse(&compose("", "", "no final newline"));
    assert_eq!(parsed.body, "no final newline=\r\n");
    assert_eq!(decode_quoted_printable(&parsed.body), "no final newline");
}
