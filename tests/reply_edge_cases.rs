//! Named edge cases: SECURITY.md items 7 (unbounded input), 8 (mixed codes) and 9 (syntax
//! edges), enhanced status codes, sticky errors, and how replies print.

mod reply_support;

use reply_support::{Event, error, feed_bytewise, feed_split, feed_whole, reply};
use smtpwire::reply::{
    Category, EnhancedStatusCode, Reply, ReplyCode, ReplyError, ReplyLimits, ReplyParser, Severity,
    Status,
};

fn limits(max_line_len: usize, max_lines: usize, max_reply_len: usize) -> ReplyLimits {
    ReplyLimits {
        max_line_len,
        max_lines,
        max_reply_len,
    }
}

/// The first error, after checking that whole, byte-wise and a few split feeds agree on it.
fn error_in_any_split(limits: ReplyLimits, input: &[u8]) -> Option<ReplyError> {
    let whole = feed_whole(limits, input);
    assert_eq!(feed_bytewise(limits, input), whole, "byte-wise");
    for cut in [1, 3, 4, 5, input.len() / 2, input.len().saturating_sub(1)] {
        assert_eq!(feed_split(limits, input, &[cut]), whole, "cut at {cut}");
    }
    error(limits, input)
}

// --- SECURITY.md 7: unbounded input -----------------------------------------------------

#[test]
fn security_7_default_limits() {
    let limits = ReplyLimits::default();
    assert_eq!(limits.max_line_len, 4096);
    assert_eq!(limits.max_lines, 512);
    assert_eq!(limits.max_reply_len, 64 * 1024);
}

#[test]
fn security_7_line_at_the_cap_is_accepted_with_any_ending() {
    let line = [b"250 ".as_slice(), &[b'x'; 6]].concat(); // 10 octets
    for ending in [&b"\r\n"[..], b"\n"] {
        let input = [line.as_slice(), ending].concat();
        assert_eq!(
            error_in_any_split(limits(10, 4, 100), &input),
            None,
            "{ending:?}"
        );
    }
}

#[test]
fn security_7_line_one_over_the_cap_fails() {
    let input = b"250 xxxxxxx\r\n"; // 11 octets before the ending
    assert_eq!(
        error_in_any_split(limits(10, 4, 100), input),
        Some(ReplyError::LineTooLong)
    );
    // A CR inside the text is text: it counts.
    let input = b"250 xxxxxx\rx\n";
    assert_eq!(
        error_in_any_split(limits(10, 4, 100), input),
        Some(ReplyError::LineTooLong)
    );
}

#[test]
fn security_7_long_line_fails_before_its_lf_arrives() {
    let mut parser = ReplyParser::with_limits(limits(10, 4, 100));
    // 10 octets, then a CR that may still start the line ending: not proven too long yet.
    assert!(matches!(parser.parse(b"250 xxxxxx\r"), Ok(Status::Partial)));
    assert_eq!(parser.buffered_len(), 11);
    assert_eq!(parser.parse(b"y").unwrap_err(), ReplyError::LineTooLong);

    let mut parser = ReplyParser::with_limits(limits(10, 4, 100));
    assert!(matches!(parser.parse(b"250 xxxxxx"), Ok(Status::Partial)));
    assert_eq!(parser.parse(b"x").unwrap_err(), ReplyError::LineTooLong);
}

#[test]
fn security_7_endless_line_fails_after_reading_at_most_the_cap() {
    // A megabyte without LF, in one call and in 4 KiB reads: the parser fails without ever
    // holding more than a line.
    let flood = vec![b'a'; 1 << 20];
    let mut parser = ReplyParser::new();
    assert_eq!(parser.parse(&flood).unwrap_err(), ReplyError::LineTooLong);

    let mut parser = ReplyParser::new();
    let mut failed_after = None;
    for (reads, chunk) in flood.chunks(4096).enumerate() {
        assert!(parser.buffered_len() <= ReplyLimits::DEFAULT_MAX_LINE_LEN + 1);
        if parser.parse(chunk).is_err() {
            failed_after = Some(reads + 1);
            break;
        }
    }
    assert_eq!(failed_after, Some(2));
}

#[test]
fn security_7_reply_size_cap_counts_line_endings() {
    // 3 lines of 6 octets + CRLF = 24 octets.
    let input = b"250-ab\r\n250-cd\r\n250 ef\r\n";
    assert_eq!(error_in_any_split(limits(100, 10, 24), input), None);
    assert_eq!(
        error_in_any_split(limits(100, 10, 23), input),
        Some(ReplyError::ReplyTooLarge)
    );
    // With bare LFs the same reply is 21 octets.
    let input = b"250-ab\n250-cd\n250 ef\n";
    assert_eq!(error_in_any_split(limits(100, 10, 21), input), None);
    assert_eq!(
        error_in_any_split(limits(100, 10, 20), input),
        Some(ReplyError::ReplyTooLarge)
    );
}

#[test]
fn security_7_reply_size_cap_fires_mid_line() {
    let mut parser = ReplyParser::with_limits(limits(100, 10, 12));
    assert!(matches!(
        parser.parse(b"250-ab\r\n250"),
        Ok(Status::Partial)
    ));
    assert_eq!(parser.buffered_len(), 11);
    // 12 octets received and no LF yet: even an LF now would make 13.
    assert_eq!(parser.parse(b" ").unwrap_err(), ReplyError::ReplyTooLarge);
}

#[test]
fn security_7_full_reply_with_a_continuation_fails_at_that_lf() {
    let mut parser = ReplyParser::with_limits(limits(100, 10, 8));
    assert_eq!(
        parser.parse(b"250-ab\r\n").unwrap_err(),
        ReplyError::ReplyTooLarge
    );
}

#[test]
fn security_7_line_count_cap() {
    let three = b"250-a\r\n250-b\r\n250 c\r\n";
    assert_eq!(error_in_any_split(limits(100, 3, 1000), three), None);
    assert_eq!(
        error_in_any_split(limits(100, 2, 1000), three),
        Some(ReplyError::TooManyLines)
    );
    // The cap fires at the LF of the last allowed line when it announces one more.
    let mut parser = ReplyParser::with_limits(limits(100, 2, 1000));
    assert!(matches!(parser.parse(b"250-a\r\n"), Ok(Status::Partial)));
    assert_eq!(
        parser.parse(b"250-b\r\n").unwrap_err(),
        ReplyError::TooManyLines
    );
}

#[test]
fn security_7_many_replies_do_not_accumulate() {
    let mut parser = ReplyParser::with_limits(limits(100, 3, 64));
    for _ in 0..10_000 {
        let Ok(Status::Complete { consumed, .. }) = parser.parse(b"250-a\r\n250 b\r\n") else {
            panic!("a complete reply");
        };
        assert_eq!(consumed, 14);
    }
    assert_eq!(parser.buffered_len(), 0);
}

#[test]
fn security_7_zero_limits_refuse_everything_without_panicking() {
    assert_eq!(
        error_in_any_split(limits(0, 10, 100), b"250\r\n"),
        Some(ReplyError::LineTooLong)
    );
    assert_eq!(
        error_in_any_split(limits(100, 0, 100), b"250\r\n"),
        Some(ReplyError::TooManyLines)
    );
    assert_eq!(
        error_in_any_split(limits(100, 10, 0), b"250\r\n"),
        Some(ReplyError::ReplyTooLarge)
    );
    assert_eq!(
        error_in_any_split(limits(100, 10, 0), b"\n"),
        Some(ReplyError::ReplyTooLarge)
    );
    let mut parser = ReplyParser::with_limits(limits(0, 0, 0));
    assert!(matches!(parser.parse(b""), Ok(Status::Partial)));
}

#[test]
fn security_7_huge_limits_do_not_overflow() {
    let huge = limits(usize::MAX, usize::MAX, usize::MAX);
    assert_eq!(error_in_any_split(huge, b"250-a\r\n250 b\r\n"), None);
    assert_eq!(
        reply_support::feed_whole(huge, b"250 b\r\n").events.len(),
        1
    );
}

// --- SECURITY.md 8: mixed codes ---------------------------------------------------------

#[test]
fn security_8_mixed_codes_are_a_protocol_error() {
    let found = error_in_any_split(ReplyLimits::default(), b"250-a\r\n550 b\r\n");
    let code = |n| ReplyCode::new(n).unwrap();
    assert_eq!(
        found,
        Some(ReplyError::MismatchedCode {
            first: code(250),
            found: code(550)
        })
    );
    let found = error_in_any_split(
        ReplyLimits::default(),
        b"250-a\r\n250-b\r\n251-c\r\n250 d\r\n",
    );
    assert_eq!(
        found,
        Some(ReplyError::MismatchedCode {
            first: code(250),
            found: code(251)
        })
    );
}

#[test]
fn security_8_mixed_codes_are_not_read_as_two_replies() {
    let outcome = feed_whole(ReplyLimits::default(), b"250-a\r\n550 b\r\n250 c\r\n");
    assert_eq!(outcome.events.len(), 1);
    assert!(matches!(
        outcome.events[0],
        Event::Error(ReplyError::MismatchedCode { .. })
    ));
}

// --- SECURITY.md 9: syntax edges --------------------------------------------------------

#[test]
fn security_9_code_without_text_or_space() {
    let bare = reply(b"250\r\n");
    assert_eq!(bare.code(), ReplyCode::OK);
    assert_eq!(bare.lines().collect::<Vec<_>>(), [b""]);
    assert_eq!(bare.message(), b"");
}

#[test]
fn security_9_code_with_space_and_no_text() {
    let spaced = reply(b"250 \r\n");
    assert_eq!(spaced.lines().collect::<Vec<_>>(), [b""]);
}

#[test]
fn security_9_empty_continuation_lines() {
    let empty = reply(b"250-\r\n250-\r\n250\r\n");
    assert_eq!(empty.lines().collect::<Vec<_>>(), [b"", b"", b""]);
}

#[test]
fn security_9_first_digit_outside_2_to_5_is_fatal() {
    for first in [b'0', b'1', b'6', b'7', b'8', b'9'] {
        let input = [&[first][..], b"50 text\r\n"].concat();
        assert_eq!(
            error_in_any_split(ReplyLimits::default(), &input),
            Some(ReplyError::InvalidCode)
        );
    }
    for input in [
        &b"2x0 text\r\n"[..],
        b"25\r\n",
        b"\r\n",
        b" 250 text\r\n",
        b"HTTP/1.1 400\r\n",
    ] {
        assert_eq!(
            error_in_any_split(ReplyLimits::default(), input),
            Some(ReplyError::InvalidCode)
        );
    }
    // Any first digit from 2 to 5 with any second and third digit is a code.
    for input in [&b"200 a\r\n"[..], b"299 a\r\n", b"399 a\r\n", b"599 a\r\n"] {
        assert_eq!(error_in_any_split(ReplyLimits::default(), input), None);
    }
}

#[test]
fn security_9_invalid_separator_is_fatal() {
    for input in [
        &b"2500 text\r\n"[..],
        b"250\ttext\r\n",
        b"250_text\r\n",
        b"250\rtext\r\n",
        b"250\r\r\n",
    ] {
        assert_eq!(
            error_in_any_split(ReplyLimits::default(), input),
            Some(ReplyError::InvalidSeparator),
            "{input:?}"
        );
    }
}

#[test]
fn security_9_text_may_hold_any_bytes() {
    let text: Vec<u8> = (0u8..=255).filter(|&b| b != b'\n').collect();
    // A CR right before the LF belongs to the line ending: end the text with something else.
    let input = [&b"250 "[..], &text, b"!\r\n"].concat();
    let parsed = reply(&input);
    assert_eq!(parsed.lines().next().unwrap(), [&text[..], b"!"].concat());
}

#[test]
fn security_9_bare_lf_ends_a_line() {
    let parsed = reply(b"250-first\n250-second\r\n250 third\n");
    assert_eq!(
        parsed.lines().collect::<Vec<_>>(),
        [&b"first"[..], b"second", b"third"]
    );
}

#[test]
fn security_9_only_one_cr_is_stripped() {
    let parsed = reply(b"250 text\r\r\n");
    assert_eq!(parsed.lines().next().unwrap(), b"text\r");
}

// --- Enhanced status codes --------------------------------------------------------------

#[test]
fn enhanced_code_is_read_from_the_first_line_only() {
    let first = reply(b"421 4.4.2 timeout exceeded\r\n");
    assert_eq!(first.enhanced_code(), EnhancedStatusCode::new(4, 4, 2));
    assert_eq!(first.message(), b"timeout exceeded");
    let later = reply(b"250-first\r\n250 2.0.0 second\r\n");
    assert_eq!(later.enhanced_code(), None);
    assert_eq!(later.message(), b"first");
    let alone = reply(b"250 2.0.0\r\n");
    assert_eq!(alone.enhanced_code(), EnhancedStatusCode::new(2, 0, 0));
    assert_eq!(alone.message(), b"");
}

#[test]
fn dotted_numbers_are_not_enhanced_codes() {
    for input in [
        &b"250 1.2.3.4 hello\r\n"[..],
        b"250 2.3.4.5 hello\r\n",
        b"250 192.0.2.1\r\n",
        b"220 4.2.0-rc1 server\r\n",
        b"250 2.0.0: queued\r\n",
        b"250 2.1234.0 x\r\n",
        b"354 3.0.0 go\r\n",
    ] {
        let parsed = reply(input);
        assert_eq!(parsed.enhanced_code(), None, "{input:?}");
        assert_eq!(parsed.message(), parsed.lines().next().unwrap());
    }
}

#[test]
fn enhanced_code_constructor_bounds() {
    assert!(EnhancedStatusCode::new(2, 999, 999).is_some());
    for (class, subject, detail) in [
        (1, 0, 0),
        (3, 0, 0),
        (6, 0, 0),
        (0, 0, 0),
        (2, 1000, 0),
        (5, 0, 1000),
    ] {
        assert_eq!(EnhancedStatusCode::new(class, subject, detail), None);
    }
    let code = EnhancedStatusCode::new(5, 7, 708).unwrap();
    assert_eq!((code.class(), code.subject(), code.detail()), (5, 7, 708));
    assert_eq!(code.to_string(), "5.7.708");
}

// --- Reply codes ------------------------------------------------------------------------

#[test]
fn reply_code_bounds_and_digits() {
    assert_eq!(ReplyCode::new(199), None);
    assert_eq!(ReplyCode::new(600), None);
    assert_eq!(ReplyCode::new(99), None);
    assert_eq!(ReplyCode::new(200).map(ReplyCode::get), Some(200));
    assert_eq!(ReplyCode::new(599).map(ReplyCode::get), Some(599));
    assert!(ReplyCode::try_from(700u16).is_err());
    assert_eq!(u16::from(ReplyCode::OK), 250);

    let code = |n| ReplyCode::new(n).unwrap();
    assert_eq!(code(250).severity(), Severity::PositiveCompletion);
    assert_eq!(code(354).severity(), Severity::PositiveIntermediate);
    assert_eq!(code(421).severity(), Severity::TransientNegative);
    assert_eq!(code(550).severity(), Severity::PermanentNegative);
    assert_eq!(code(500).category(), Category::Syntax);
    assert_eq!(code(214).category(), Category::Information);
    assert_eq!(code(421).category(), Category::Connections);
    assert_eq!(code(250).category(), Category::MailSystem);
    assert_eq!(code(235).category(), Category::Unspecified(3));
    assert_eq!(code(299).category(), Category::Unspecified(9));
}

#[test]
fn reply_code_helpers() {
    let code = |n| ReplyCode::new(n).unwrap();
    let flags = |c: ReplyCode| {
        [
            c.is_positive(),
            c.is_completion(),
            c.is_intermediate(),
            c.is_negative(),
            c.is_transient(),
            c.is_permanent(),
        ]
    };
    assert_eq!(flags(code(250)), [true, true, false, false, false, false]);
    assert_eq!(flags(code(334)), [true, false, true, false, false, false]);
    assert_eq!(flags(code(451)), [false, false, false, true, true, false]);
    assert_eq!(flags(code(554)), [false, false, false, true, false, true]);
}

#[test]
fn reply_code_constants_have_their_numbers() {
    let named = [
        (ReplyCode::SYSTEM_STATUS, 211),
        (ReplyCode::HELP_MESSAGE, 214),
        (ReplyCode::SERVICE_READY, 220),
        (ReplyCode::SERVICE_CLOSING, 221),
        (ReplyCode::AUTH_SUCCEEDED, 235),
        (ReplyCode::OK, 250),
        (ReplyCode::USER_NOT_LOCAL_WILL_FORWARD, 251),
        (ReplyCode::CANNOT_VERIFY_USER, 252),
        (ReplyCode::AUTH_CONTINUE, 334),
        (ReplyCode::START_MAIL_INPUT, 354),
        (ReplyCode::SERVICE_NOT_AVAILABLE, 421),
        (ReplyCode::MAILBOX_BUSY, 450),
        (ReplyCode::LOCAL_ERROR, 451),
        (ReplyCode::INSUFFICIENT_STORAGE, 452),
        (ReplyCode::TEMPORARY_FAILURE, 454),
        (ReplyCode::PARAMETERS_NOT_ACCOMMODATED, 455),
        (ReplyCode::SYNTAX_ERROR, 500),
        (ReplyCode::PARAMETER_SYNTAX_ERROR, 501),
        (ReplyCode::COMMAND_NOT_IMPLEMENTED, 502),
        (ReplyCode::BAD_SEQUENCE, 503),
        (ReplyCode::PARAMETER_NOT_IMPLEMENTED, 504),
        (ReplyCode::DOES_NOT_ACCEPT_MAIL, 521),
        (ReplyCode::AUTH_REQUIRED, 530),
        (ReplyCode::AUTH_MECHANISM_TOO_WEAK, 534),
        (ReplyCode::AUTH_CREDENTIALS_INVALID, 535),
        (ReplyCode::MAILBOX_UNAVAILABLE, 550),
        (ReplyCode::USER_NOT_LOCAL, 551),
        (ReplyCode::EXCEEDED_STORAGE, 552),
        (ReplyCode::MAILBOX_NAME_NOT_ALLOWED, 553),
        (ReplyCode::TRANSACTION_FAILED, 554),
        (ReplyCode::PARAMETERS_NOT_RECOGNIZED, 555),
    ];
    for (constant, number) in named {
        assert_eq!(constant.get(), number);
        assert_eq!(Some(constant), ReplyCode::new(number));
    }
    assert_eq!(
        reply(b"421 bye\r\n").code(),
        ReplyCode::SERVICE_NOT_AVAILABLE
    );
}

// --- Parser behaviour -------------------------------------------------------------------

#[test]
fn errors_stick_until_reset() {
    let mut parser = ReplyParser::new();
    assert_eq!(
        parser.parse(b"999 x\r\n").unwrap_err(),
        ReplyError::InvalidCode
    );
    assert_eq!(parser.error(), Some(ReplyError::InvalidCode));
    assert_eq!(
        parser.parse(b"250 fine\r\n").unwrap_err(),
        ReplyError::InvalidCode
    );
    assert_eq!(parser.parse(b"").unwrap_err(), ReplyError::InvalidCode);
    assert_eq!(parser.buffered_len(), 0);
    parser.reset();
    assert_eq!(parser.error(), None);
    assert!(matches!(
        parser.parse(b"250 fine\r\n"),
        Ok(Status::Complete { consumed: 10, .. })
    ));
}

#[test]
fn reset_forgets_a_reply_in_progress() {
    let mut parser = ReplyParser::new();
    assert!(matches!(
        parser.parse(b"250-injected\r\n250 AU"),
        Ok(Status::Partial)
    ));
    parser.reset();
    assert_eq!(parser.buffered_len(), 0);
    let Ok(Status::Complete { reply, .. }) = parser.parse(b"220 ready\r\n") else {
        panic!()
    };
    assert_eq!(reply.lines().collect::<Vec<_>>(), [b"ready"]);
}

#[test]
fn buffered_len_follows_the_reply_in_progress() {
    let mut parser = ReplyParser::new();
    assert_eq!(parser.buffered_len(), 0);
    assert!(matches!(parser.parse(b""), Ok(Status::Partial)));
    assert!(matches!(parser.parse(b"250-a\r\n25"), Ok(Status::Partial)));
    assert_eq!(parser.buffered_len(), 9);
    assert!(matches!(
        parser.parse(b"0 b\r\n"),
        Ok(Status::Complete { consumed: 5, .. })
    ));
    assert_eq!(parser.buffered_len(), 0);
}

#[test]
fn reply_ref_and_owned_reply_agree() {
    let mut parser = ReplyParser::new();
    let Ok(Status::Complete {
        reply: borrowed, ..
    }) = parser.parse(b"550-5.1.1 no\r\n550 such user\r\n")
    else {
        panic!()
    };
    let owned = borrowed.to_reply();
    assert_eq!(borrowed, owned);
    assert_eq!(
        owned,
        Reply::new(ReplyCode::MAILBOX_UNAVAILABLE, &[b"5.1.1 no", b"such user"])
    );
    assert_eq!(borrowed.message(), owned.message());
    assert_eq!(borrowed.to_string(), owned.to_string());
    assert_eq!(
        format!("{borrowed:?}").replace("ReplyRef", "Reply"),
        format!("{owned:?}")
    );
}

// --- Printing ---------------------------------------------------------------------------

#[test]
fn display_joins_lines_with_spaces() {
    assert_eq!(
        reply(b"421 4.4.2 timeout exceeded\r\n").to_string(),
        "421 4.4.2 timeout exceeded"
    );
    assert_eq!(reply(b"250-a\r\n250-\r\n250 z\r\n").to_string(), "250 a z");
    assert_eq!(reply(b"250\r\n").to_string(), "250");
    assert_eq!(reply(b"250 2.0.0\r\n").to_string(), "250 2.0.0");
}

#[test]
fn display_cannot_forge_log_lines() {
    let forged = Reply::new(
        ReplyCode::OK,
        &[b"ok\r\nINFO login admin succeeded\x1b[2K\t\\"],
    );
    let shown = forged.to_string();
    assert_eq!(
        shown,
        "250 ok\\r\\nINFO login admin succeeded\\u{1b}[2K\\t\\\\"
    );
    assert!(!shown.chars().any(char::is_control));
    let parsed = reply(b"250 a\rb\x00c\x7f\r\n");
    assert_eq!(parsed.to_string(), "250 a\\rb\\u{0}c\\u{7f}");
}

#[test]
fn display_escapes_invisible_reordering_characters() {
    let text = "evil\u{202E}txt.exe\u{2028}next\u{200B}".as_bytes();
    let shown = Reply::new(ReplyCode::OK, &[text]).to_string();
    assert_eq!(shown, "250 evil\\u{202e}txt.exe\\u{2028}next\\u{200b}");
    // Ordinary non-ASCII text stays readable.
    assert_eq!(
        Reply::new(ReplyCode::OK, &["déjà vu ✓".as_bytes()]).to_string(),
        "250 déjà vu ✓"
    );
}

#[test]
fn display_replaces_invalid_utf8() {
    let shown = reply(b"250 caf\xe9 \xff\xfe ok\r\n").to_string();
    assert_eq!(shown, "250 caf\u{FFFD} \u{FFFD}\u{FFFD} ok");
}

#[test]
fn debug_shows_escaped_lines() {
    let parsed = reply(b"250-2.0.0 a\"b\r\n250 \xff\x1b\r\n");
    assert_eq!(
        format!("{parsed:?}"),
        r#"Reply { code: 250, enhanced_code: Some(2.0.0), lines: ["2.0.0 a\"b", "\xff\u{1b}"] }"#
    );
}

#[test]
fn error_messages_name_both_codes() {
    let code = |n| ReplyCode::new(n).unwrap();
    let error = ReplyError::MismatchedCode {
        first: code(250),
        found: code(550),
    };
    assert_eq!(
        error.to_string(),
        "multi-line reply mixes codes: 250 then 550"
    );
    assert!(core::mem::size_of::<ReplyError>() <= 8);
}
