//! Message-ID generation and the Date header.

use smtpwire::message::{MessageId, MessageIdError, format_rfc5322_date};
use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn at(seconds: i64) -> SystemTime {
    if seconds >= 0 {
        UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    }
}

fn date(seconds: i64) -> String {
    format_rfc5322_date(at(seconds)).unwrap()
}

#[test]
fn ten_thousand_generated_ids_are_distinct_and_valid() {
    let mut seen = HashSet::new();
    for _ in 0..10_000 {
        let id = MessageId::generate("example.com").unwrap();
        let shown = id.to_string();
        let (left, right) = shown
            .strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .and_then(|s| s.split_once('@'))
            .expect("<left@right>");
        assert_eq!(right, "example.com");
        // 144 random bits in URL-safe base64: 24 atext characters, no dot needed.
        assert_eq!(left.len(), 24, "{shown}");
        assert!(
            left.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(MessageId::parse(&shown).as_ref(), Ok(&id));
        assert!(seen.insert(shown), "duplicate Message-ID");
    }
}

#[test]
fn generate_refuses_a_domain_that_would_break_the_header() {
    for domain in ["", "a b", "a\r\nBcc: x@y", "a..b", "<x>", "a@b"] {
        assert_eq!(
            MessageId::generate(domain),
            Err(MessageIdError::Syntax),
            "{domain:?}"
        );
    }
    assert!(MessageId::generate("[192.0.2.1]").is_ok());
    assert!(MessageId::generate("bücher.example").is_ok());
}

#[test]
fn the_epoch() {
    assert_eq!(date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
}

#[test]
fn leap_day_2000_a_leap_century() {
    assert_eq!(date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    assert_eq!(
        date(951_782_400 + 86_400),
        "Wed, 01 Mar 2000 00:00:00 +0000"
    );
}

#[test]
fn leap_day_2024() {
    assert_eq!(date(1_709_208_000), "Thu, 29 Feb 2024 12:00:00 +0000");
}

#[test]
fn no_leap_day_in_2100_or_1900() {
    assert_eq!(
        date(4_107_542_400 - 86_400),
        "Sun, 28 Feb 2100 00:00:00 +0000"
    );
    assert_eq!(date(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 +0000");
    assert_eq!(
        date(-2_203_891_200 - 86_400),
        "Wed, 28 Feb 1900 00:00:00 +0000"
    );
    assert_eq!(date(-2_203_891_200), "Thu, 01 Mar 1900 00:00:00 +0000");
}

#[test]
fn the_example_date_2026_11_28() {
    assert_eq!(date(1_795_909_655), "Sat, 28 Nov 2026 23:47:35 +0000");
}

#[test]
fn a_second_before_the_epoch() {
    assert_eq!(date(-1), "Wed, 31 Dec 1969 23:59:59 +0000");
}

#[test]
fn fractions_of_a_second_are_dropped() {
    let time = at(1_795_909_655) + Duration::from_millis(999);
    assert_eq!(
        format_rfc5322_date(time).unwrap(),
        "Sat, 28 Nov 2026 23:47:35 +0000"
    );
}

#[test]
fn before_1900_is_out_of_range() {
    assert!(format_rfc5322_date(at(-2_208_988_801)).is_err());
}
