//! Property tests: replies written by the rules round-trip; any bytes in any split give the
//! same result as one whole feed, agree with a plain reference parser, and never panic.

mod reply_support;

use proptest::collection::vec;
use proptest::prelude::*;
use reply_support::{Event, feed_split, feed_whole, reference};
use smtpwire::reply::{EnhancedStatusCode, Reply, ReplyCode, ReplyLimits};

/// Text of one line: any bytes but LF, and not ending in CR (which would join the ending).
fn line_text() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..40).prop_map(|mut text| {
        text.retain(|&b| b != b'\n');
        if text.last() == Some(&b'\r') {
            text.push(b'.');
        }
        text
    })
}

fn reply_code() -> impl Strategy<Value = ReplyCode> {
    (200u16..=599).prop_map(|n| ReplyCode::new(n).unwrap())
}

/// Writes a reply the way a server would, with a random ending per line and, for the last
/// line, sometimes no text and no space at all.
fn write_reply(code: ReplyCode, lines: &[Vec<u8>], crlf: &[bool]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, text) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        out.extend_from_slice(code.to_string().as_bytes());
        if !(last && text.is_empty() && crlf[i]) {
            out.push(if last { b' ' } else { b'-' });
        }
        out.extend_from_slice(text);
        out.extend_from_slice(if crlf[i] { b"\r\n" } else { b"\n" });
    }
    out
}

/// Bytes that look like replies often enough to reach every branch: lines from a small
/// alphabet of codes, separators and endings, with some noise.
fn reply_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(&b"250"[..]),
        Just(&b"250"[..]),
        Just(&b"550"[..]),
        Just(&b"199"[..]),
        Just(&b"-"[..]),
        Just(&b" "[..]),
        Just(&b" "[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\n"[..]),
        Just(&b"\r"[..]),
        Just(&b"4.4.2 "[..]),
        Just(&b"text"[..]),
        Just(&b"\xff"[..]),
    ];
    vec(piece, 0..60).prop_map(|pieces| pieces.concat())
}

fn ascending_cuts(len: usize) -> impl Strategy<Value = Vec<usize>> {
    vec(0..=len, 0..8).prop_map(|mut cuts| {
        cuts.sort_unstable();
        cuts
    })
}

proptest! {
    #[test]
    fn written_replies_round_trip(
        code in reply_code(),
        lines in vec(line_text(), 1..12),
        crlf in vec(any::<bool>(), 12),
    ) {
        let bytes = write_reply(code, &lines, &crlf);
        let texts: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let expected = Reply::new(code, &texts);
        let outcome = feed_whole(ReplyLimits::default(), &bytes);
        prop_assert_eq!(outcome.events, vec![Event::Reply(expected)]);
    }

    #[test]
    fn enhanced_codes_round_trip(
        code in reply_code(),
        class in prop_oneof![Just(2u8), Just(4), Just(5)],
        subject in 0u16..1000,
        detail in 0u16..1000,
        message in line_text(),
    ) {
        let enhanced = EnhancedStatusCode::new(class, subject, detail).unwrap();
        let bytes = [format!("{code} {enhanced} ").as_bytes(), &message, b"\r\n"].concat();
        let outcome = feed_whole(ReplyLimits::default(), &bytes);
        let [Event::Reply(reply)] = outcome.events.as_slice() else {
            return Err(TestCaseError::fail("one reply expected"));
        };
        prop_assert_eq!(reply.enhanced_code(), Some(enhanced));
        prop_assert_eq!(reply.message(), &message[..]);
    }

    #[test]
    fn any_split_of_arbitrary_bytes_gives_the_whole_result(
        bytes in vec(any::<u8>(), 0..300),
        cuts in ascending_cuts(300),
    ) {
        let whole = feed_whole(ReplyLimits::default(), &bytes);
        prop_assert_eq!(feed_split(ReplyLimits::default(), &bytes, &cuts), whole);
    }

    #[test]
    fn reply_like_bytes_match_the_reference_in_any_split(
        bytes in reply_like_bytes(),
        cuts in ascending_cuts(200),
    ) {
        let whole = feed_whole(ReplyLimits::default(), &bytes);
        prop_assert_eq!(&whole.events, &reference(&bytes));
        prop_assert_eq!(feed_split(ReplyLimits::default(), &bytes, &cuts), whole);
    }

    #[test]
    fn tight_limits_give_the_same_result_in_any_split(
        bytes in reply_like_bytes(),
        cuts in ascending_cuts(200),
        max_line_len in 0usize..24,
        max_lines in 0usize..5,
        max_reply_len in 0usize..64,
    ) {
        let limits = ReplyLimits { max_line_len, max_lines, max_reply_len };
        let whole = feed_whole(limits, &bytes);
        prop_assert_eq!(feed_split(limits, &bytes, &cuts), whole.clone());
        prop_assert_eq!(reply_support::feed_bytewise(limits, &bytes), whole);
    }
}
