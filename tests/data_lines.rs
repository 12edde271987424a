//! Line length (SECURITY.md item 16), the sticky error, and the encoder's life cycle.

mod data_common;

use data_common::{check_invariants, run, split_at_cuts};
use smtpwire::data::{DataEncoder, Framing, LineTooLong, MAX_LINE_LEN, bdat_wire_len};

fn line(len: usize) -> Vec<u8> {
    vec![b'x'; len]
}

fn too_long(line: u64) -> LineTooLong {
    LineTooLong {
        line,
        limit: MAX_LINE_LEN,
    }
}

/// Every single cut of `body`, the whole body, and the body octet by octet.
fn every_split(body: &[u8]) -> impl Iterator<Item = Vec<&[u8]>> {
    (0..=body.len())
        .map(move |cut| split_at_cuts(body, &[cut]))
        .chain([body.chunks(1).collect()])
}

#[test]
fn limit_is_rfc_5321() {
    assert_eq!(MAX_LINE_LEN, 998);
}

#[test]
fn line_of_998_is_accepted_with_every_ending_and_split() {
    for ending in [&b"\r\n"[..], b"\n", b"\r", b""] {
        let mut body = line(998);
        body.extend_from_slice(ending);
        body.extend_from_slice(b"next\r\n");
        let mut expected = line(998);
        expected.extend_from_slice(b"\r\nnext\r\n");
        for chunks in every_split(&body) {
            let bdat = run(Framing::Bdat, &chunks);
            if ending.is_empty() {
                // 998 + "next" is one line of 1002 octets.
                assert_eq!(bdat.error, Some(too_long(1)));
                continue;
            }
            assert_eq!(bdat.error, None);
            assert_eq!(bdat.wire, expected);
            let data = run(Framing::Data, &chunks);
            assert_eq!(data.error, None);
            assert_eq!(data.wire[..expected.len()], expected[..]);
            assert_eq!(&data.wire[expected.len()..], b".\r\n");
        }
        check_invariants(&body, &[500]);
    }
}

#[test]
fn unended_last_line_of_998_gets_its_crlf() {
    let body = line(998);
    let mut expected = line(998);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(bdat_wire_len(&body), Ok(1000));
    for chunks in every_split(&body) {
        assert_eq!(run(Framing::Bdat, &chunks).wire, expected);
    }
}

#[test]
fn dot_does_not_count_towards_the_limit() {
    // 998 octets in the message, 999 on the wire once the dot is doubled.
    let mut body = b".".to_vec();
    body.extend_from_slice(&line(997));
    body.extend_from_slice(b"\r\n");
    let mut expected = b"..".to_vec();
    expected.extend_from_slice(&line(997));
    expected.extend_from_slice(b"\r\n.\r\n");
    for chunks in every_split(&body) {
        let data = run(Framing::Data, &chunks);
        assert_eq!(data.error, None);
        assert_eq!(data.wire, expected);
    }
}

#[test]
fn line_of_999_is_refused_wherever_the_chunks_are_cut() {
    let mut body = b"first\r\n".to_vec();
    body.extend_from_slice(&line(999));
    body.extend_from_slice(b"\r\nafter\r\n");
    let mut sent = b"first\r\n".to_vec();
    sent.extend_from_slice(&line(998));
    for chunks in every_split(&body) {
        for framing in [Framing::Data, Framing::Bdat] {
            let result = run(framing, &chunks);
            assert_eq!(result.error, Some(too_long(2)), "{framing:?}");
            assert_eq!(
                result.wire, sent,
                "{framing:?}: the first 998 octets, nothing more"
            );
        }
    }
    assert_eq!(bdat_wire_len(&body), Err(too_long(2)));
}

#[test]
fn long_first_line_starting_with_a_dot_is_refused_after_its_998th_octet() {
    let mut body = b".".to_vec();
    body.extend_from_slice(&line(998));
    let mut sent = b"..".to_vec();
    sent.extend_from_slice(&line(997));
    for chunks in every_split(&body) {
        let data = run(Framing::Data, &chunks);
        assert_eq!(data.error, Some(too_long(1)));
        assert_eq!(data.wire, sent);
    }
}

#[test]
fn line_numbers_count_every_kind_of_ending() {
    // Lines: "a", "b", "c", "" (after the \r\r\n pair: bare CR, then CRLF), then the long one.
    let mut body = b"a\rb\nc\r\r\n".to_vec();
    body.extend_from_slice(&line(1000));
    assert_eq!(bdat_wire_len(&body), Err(too_long(5)));
    let mut encoder = DataEncoder::new(Framing::Data);
    assert_eq!(encoder.encode(&body, &mut Vec::new()), Err(too_long(5)));
}

#[test]
fn the_error_sticks() {
    let mut encoder = DataEncoder::new(Framing::Data);
    let mut out = Vec::new();
    assert_eq!(encoder.encode(&line(600), &mut out), Ok(()));
    assert_eq!(encoder.encode(&line(600), &mut out), Err(too_long(1)));
    assert_eq!(out.len(), 998);
    assert_eq!(encoder.error(), Some(too_long(1)));
    // A harmless chunk, a line ending, an end marker in the body: nothing more goes out.
    for chunk in [&b"ok"[..], b"\r\n", b"\r\n.\r\n", b""] {
        assert_eq!(encoder.encode(chunk, &mut out), Err(too_long(1)));
    }
    encoder.finish(&mut out);
    encoder.finish(&mut out);
    assert_eq!(out, line(998));
    assert_eq!(encoder.wire_len(), 998);
    assert!(!encoder.is_finished());
}

#[test]
fn bdat_wire_len_agrees_with_the_encoder() {
    let bodies: [&[u8]; 7] = [
        b"",
        b"a",
        b"a\r\n",
        b"a\n",
        b"a\r",
        b"\r\r\n\n\r.",
        b"x\r\n\r\n.\r\n",
    ];
    for body in bodies {
        let wire = run(Framing::Bdat, &[body]).wire;
        assert_eq!(bdat_wire_len(body), Ok(wire.len() as u64), "{body:?}");
    }
    assert_eq!(bdat_wire_len(b""), Ok(0));
    assert_eq!(bdat_wire_len(b"a\nb"), Ok(6));
}

#[test]
fn out_is_appended_to_never_cleared() {
    let mut encoder = DataEncoder::new(Framing::Data);
    let mut out = b"DATA\r\n".to_vec();
    encoder.encode(b"hi", &mut out).unwrap();
    encoder.finish(&mut out);
    assert_eq!(out, b"DATA\r\nhi\r\n.\r\n");
    assert_eq!(encoder.wire_len(), 7);
}

#[test]
fn finish_is_once_and_encode_after_it_writes_nothing() {
    let mut encoder = DataEncoder::new(Framing::Data);
    let mut out = Vec::new();
    encoder.encode(b"a", &mut out).unwrap();
    encoder.finish(&mut out);
    assert!(encoder.is_finished());
    encoder.finish(&mut out);
    assert_eq!(encoder.encode(b"b\r\n.\r\n", &mut out), Ok(()));
    assert_eq!(out, b"a\r\n.\r\n");
    assert_eq!(encoder.wire_len(), 6);
}

#[test]
fn a_cr_ending_a_chunk_is_written_at_once() {
    let mut encoder = DataEncoder::new(Framing::Bdat);
    let mut out = Vec::new();
    encoder.encode(b"a\r", &mut out).unwrap();
    assert_eq!(out, b"a\r\n");
    // Empty chunks in between do not make the encoder forget the CR.
    encoder.encode(b"", &mut out).unwrap();
    encoder.encode(b"\n.", &mut out).unwrap();
    assert_eq!(out, b"a\r\n.");
    encoder.finish(&mut out);
    assert_eq!(out, b"a\r\n.\r\n");
}

#[test]
fn framing_is_reported() {
    assert_eq!(DataEncoder::new(Framing::Data).framing(), Framing::Data);
    assert_eq!(DataEncoder::new(Framing::Bdat).framing(), Framing::Bdat);
}

#[test]
fn memory_does_not_grow_with_the_message() {
    // 20 MB through one encoder, with the output cleared after every chunk: the output never
    // holds more than one chunk's encoding, so nothing of earlier chunks is kept.
    let chunk: Vec<u8> = b".dot\nbare lf line\r\ncrlf line\rbare cr\r\n".repeat(1700);
    let mut encoder = DataEncoder::new(Framing::Data);
    let mut out = Vec::new();
    let mut total = 0u64;
    for _ in 0..300 {
        encoder.encode(&chunk, &mut out).unwrap();
        total += out.len() as u64;
        assert!(out.len() <= chunk.len() * 2);
        out.clear();
    }
    assert_eq!(encoder.wire_len(), total);
    assert!(std::mem::size_of::<DataEncoder>() <= 64);
}

#[test]
fn line_numbers_stay_exact_over_long_clean_text() {
    // Clean CRLF text goes through the encoder's block-wise fast path; lines of every length
    // from 20 to 80 make its blocks end at every place in a line, CRLF included.
    for line_len in 20..=80 {
        let mut body = Vec::new();
        for _ in 0..300 {
            body.extend_from_slice(&line(line_len));
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(&line(MAX_LINE_LEN + 1));
        let expected = Err(too_long(301));
        assert_eq!(bdat_wire_len(&body), expected, "lines of {line_len}");
        for cut in [0, 1000, 4097] {
            let run = run(Framing::Data, &split_at_cuts(&body, &[cut]));
            assert_eq!(
                run.error,
                expected.err(),
                "lines of {line_len}, cut at {cut}"
            );
        }
    }
}
