//! Property tests of the DATA encoder over random bodies (biased towards CR, LF and `.`) and
//! random chunk splits; every invariant is checked by `data_common::check_invariants`.

mod data_common;

use data_common::check_invariants;
use proptest::prelude::*;

/// An octet, most often one that matters to the encoder.
fn octet() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => Just(b'\r'),
        4 => Just(b'\n'),
        4 => Just(b'.'),
        4 => b'a'..=b'z',
        2 => any::<u8>(),
    ]
}

/// A body with short lines.
fn short_lines() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(octet(), 0..300)
}

/// A body whose lines are often close to the 998-octet limit, on either side of it.
fn long_lines() -> impl Strategy<Value = Vec<u8>> {
    let line = (
        prop_oneof![Just(0usize), 990usize..=1000],
        prop::collection::vec(octet(), 0..4),
        prop::sample::select(vec![&b"\r\n"[..], b"\n", b"\r", b"\r\r\n", b""]),
    );
    prop::collection::vec(line, 0..4).prop_map(|lines| {
        let mut body = Vec::new();
        for (filler, tail, ending) in lines {
            body.resize(body.len() + filler, b'x');
            body.extend_from_slice(&tail);
            body.extend_from_slice(ending);
        }
        body
    })
}

/// Mostly clean CRLF text, long enough for the encoder's block-wise fast path, with a few
/// places that need work: a bare CR or LF, a line starting with a dot, a line near the limit.
fn mostly_clean_text() -> impl Strategy<Value = Vec<u8>> {
    let line = (
        prop_oneof![8 => 0usize..100, 1 => 100usize..400, 1 => 850usize..1000],
        prop_oneof![
            30 => Just(&b""[..]),
            1 => Just(&b"."[..]),
            1 => Just(&b"\r"[..]),
            1 => Just(&b"\n"[..]),
            1 => Just(&b"\r\r"[..]),
            1 => Just(&b"\n."[..]),
        ],
        0usize..200,
    );
    prop::collection::vec(line, 0..40).prop_map(|lines| {
        let mut body = Vec::new();
        for (len, oddity, at) in lines {
            let start = body.len();
            body.extend((0..len).map(|i| b"abc .xyz"[(i + start) % 8]));
            let at = start + at.min(len);
            body.splice(at..at, oddity.iter().copied());
            body.extend_from_slice(b"\r\n");
        }
        body
    })
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..5000, 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn invariants_hold_for_short_lines(body in short_lines(), cuts in cuts()) {
        let cuts: Vec<usize> = cuts.iter().map(|cut| cut % (body.len() + 1)).collect();
        check_invariants(&body, &cuts);
    }

    #[test]
    fn invariants_hold_for_mostly_clean_text(body in mostly_clean_text(), cuts in cuts()) {
        let cuts: Vec<usize> = cuts.iter().map(|cut| cut * 3 % (body.len() + 1)).collect();
        check_invariants(&body, &cuts);
    }

    #[test]
    fn invariants_hold_near_the_line_limit(body in long_lines(), cuts in cuts()) {
        check_invariants(&body, &cuts);
    }
}
