//! Test helpers for the DATA encoder, shared by `tests/data_*.rs` and the `data_encoder`
//! fuzz target: independent reference transformations, an RFC 5321 §4.5.2 receiver that
//! un-stuffs DATA wire bytes, and one checker for every invariant the encoder promises.
//!
//! Everything here works byte by byte on purpose: it is slow and obviously right, so it can
//! judge the fast encoder.
#![allow(dead_code)] // Each test crate uses a different part of this module.

use smtpwire::data::{DataEncoder, Framing, LineTooLong, MAX_LINE_LEN, bdat_wire_len};

/// Line-ending normalisation as the encoder's contract states it: every CR, LF and CRLF
/// becomes CRLF, and a non-empty body whose last line has no ending gets one.
pub fn normalise(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 2);
    let mut octets = body.iter().copied().peekable();
    while let Some(octet) = octets.next() {
        match octet {
            b'\r' => {
                octets.next_if_eq(&b'\n');
                out.extend_from_slice(b"\r\n");
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            other => out.push(other),
        }
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// What an RFC 5321 §4.5.2 receiver makes of DATA wire bytes: lines up to the first line
/// that is a lone `.`, with one leading dot removed from every other line. Fails unless the
/// wire is only CRLF-ended lines and the end marker is its very last line.
pub fn unstuff(wire: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::with_capacity(wire.len());
    let mut rest = wire;
    loop {
        let Some(end) = rest.windows(2).position(|pair| pair == b"\r\n") else {
            return Err(format!(
                "no end marker; {} octets left without CRLF",
                rest.len()
            ));
        };
        let (line, tail) = (&rest[..end], &rest[end + 2..]);
        if line.contains(&b'\r') || line.contains(&b'\n') {
            return Err(format!("bare CR or LF in wire line {line:?}"));
        }
        if line == b"." {
            return if tail.is_empty() {
                Ok(body)
            } else {
                Err(format!("{} octets after the end marker", tail.len()))
            };
        }
        body.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        body.extend_from_slice(b"\r\n");
        rest = tail;
    }
}

/// Whether `wire` holds a CR not followed by LF or an LF not preceded by CR.
pub fn has_bare_cr_or_lf(wire: &[u8]) -> bool {
    wire.iter().enumerate().any(|(i, &octet)| match octet {
        b'\r' => wire.get(i + 1) != Some(&b'\n'),
        b'\n' => i == 0 || wire[i - 1] != b'\r',
        _ => false,
    })
}

/// Where `needle` occurs in `haystack`.
pub fn positions(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, window)| *window == needle)
        .map(|(i, _)| i)
        .collect()
}

/// The first line of `body` longer than [`MAX_LINE_LEN`], as `(1-based number, offset of its
/// first octet)`.
pub fn first_long_line(body: &[u8]) -> Option<(u64, usize)> {
    let (mut number, mut start, mut i) = (1, 0, 0);
    while i < body.len() {
        if body[i] == b'\r' || body[i] == b'\n' {
            if i - start > MAX_LINE_LEN {
                return Some((number, start));
            }
            if body[i] == b'\r' && body.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            number += 1;
            start = i + 1;
        }
        i += 1;
    }
    (body.len() - start > MAX_LINE_LEN).then_some((number, start))
}

/// Dot-stuffing of already normalised text: a dot starting a line is doubled.
pub fn stuff(normalised: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(normalised.len() + 8);
    for (i, &octet) in normalised.iter().enumerate() {
        if octet == b'.' && (i == 0 || normalised[i - 1] == b'\n') {
            out.push(b'.');
        }
        out.push(octet);
    }
    out
}

/// What the encoder run over `body` in chunks cut at `cuts` produced.
#[derive(Debug, PartialEq, Eq)]
pub struct Run {
    /// Every octet written, by `encode` and `finish`.
    pub wire: Vec<u8>,
    /// The error `encode` returned, if any.
    pub error: Option<LineTooLong>,
}

/// Splits `body` at `cuts` (offsets, clamped to the body, in any order, repeats giving empty
/// chunks) and returns the chunks in order.
pub fn split_at_cuts<'a>(body: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&cut| cut.min(body.len())).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        chunks.push(&body[start..cut]);
        start = cut;
    }
    chunks.push(&body[start..]);
    chunks
}

/// Runs a fresh encoder over `chunks`, then `finish`, checking on the way that `wire_len`
/// counts what was written, that a call after an error writes nothing and returns the same
/// error, and that `finish` after an error writes nothing.
pub fn run(framing: Framing, chunks: &[&[u8]]) -> Run {
    let mut encoder = DataEncoder::new(framing);
    let mut wire = Vec::new();
    let mut error = None;
    for chunk in chunks {
        let before = wire.len();
        let result = encoder.encode(chunk, &mut wire);
        assert_eq!(
            encoder.wire_len(),
            wire.len() as u64,
            "wire_len after encode"
        );
        if let Some(first) = error {
            assert_eq!(result, Err(first), "the error must stick");
            assert_eq!(wire.len(), before, "nothing is written after an error");
        }
        if let Err(e) = result {
            error.get_or_insert(e);
        }
    }
    let before = wire.len();
    encoder.finish(&mut wire);
    assert_eq!(
        encoder.wire_len(),
        wire.len() as u64,
        "wire_len after finish"
    );
    assert_eq!(encoder.error(), error);
    if error.is_some() {
        assert_eq!(wire.len(), before, "finish writes nothing after an error");
        assert!(!encoder.is_finished());
    } else {
        assert!(encoder.is_finished());
    }
    Run { wire, error }
}

/// Checks every promise the encoder makes for `body` cut at `cuts`, in both framings:
///
/// * (a) the output is the same as for the whole body in one chunk;
/// * (b) un-stuffing the DATA output gives the normalised body;
/// * (c) no bare CR or bare LF on the wire;
/// * (d) the only `\r\n.\r\n` is the end marker, and the wire starts with `.\r\n` only for
///   an empty body;
/// * (e) the BDAT output is the normalised body, as long as `bdat_wire_len` and `wire_len`.
///
/// A body with a line over [`MAX_LINE_LEN`] must fail on that line, in both framings, and
/// have written exactly the encoding of the body up to that line's 998th octet.
pub fn check_invariants(body: &[u8], cuts: &[usize]) {
    let chunks = split_at_cuts(body, cuts);
    let data = run(Framing::Data, &chunks);
    let bdat = run(Framing::Bdat, &chunks);
    assert_eq!(
        data,
        run(Framing::Data, &[body]),
        "(a) DATA output depends on the split"
    );
    assert_eq!(
        bdat,
        run(Framing::Bdat, &[body]),
        "(a) BDAT output depends on the split"
    );
    assert!(
        !has_bare_cr_or_lf(&data.wire),
        "(c) bare CR or LF in DATA output"
    );
    assert!(
        !has_bare_cr_or_lf(&bdat.wire),
        "(c) bare CR or LF in BDAT output"
    );

    if let Some((line, start)) = first_long_line(body) {
        let expected = LineTooLong {
            line,
            limit: MAX_LINE_LEN,
        };
        assert_eq!(data.error, Some(expected));
        assert_eq!(bdat.error, Some(expected));
        assert_eq!(bdat_wire_len(body), Err(expected));
        // What was written: the encoding of everything up to the 998th octet of that line,
        // without the ending that `normalise` adds to an unended last line.
        let prefix = &body[..start + MAX_LINE_LEN];
        let mut sent = normalise(prefix);
        sent.truncate(sent.len() - 2);
        assert_eq!(bdat.wire, sent, "BDAT output before the error");
        assert_eq!(data.wire, stuff(&sent), "DATA output before the error");
        assert!(
            positions(&data.wire, b"\r\n.\r\n").is_empty(),
            "(d) marker after an error"
        );
        return;
    }

    let normalised = normalise(body);
    assert_eq!(data.error, None);
    assert_eq!(bdat.error, None);
    assert_eq!(
        unstuff(&data.wire),
        Ok(normalised.clone()),
        "(b) DATA output un-stuffed"
    );
    let markers = positions(&data.wire, b"\r\n.\r\n");
    if body.is_empty() {
        assert_eq!(
            data.wire, b".\r\n",
            "(d) an empty message is the end marker alone"
        );
        assert!(
            bdat.wire.is_empty(),
            "(e) an empty message is 0 BDAT octets"
        );
    } else {
        assert_eq!(
            markers,
            [data.wire.len() - 5],
            "(d) the only CRLF.CRLF ends the wire"
        );
        assert!(
            !data.wire.starts_with(b".\r\n"),
            "(d) wire starts with .CRLF"
        );
    }
    assert_eq!(
        bdat.wire, normalised,
        "(e) BDAT output is the normalised body"
    );
    assert_eq!(
        bdat_wire_len(body),
        Ok(bdat.wire.len() as u64),
        "(e) bdat_wire_len"
    );
}
