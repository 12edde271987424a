//! Throughput of the DATA encoder against a plain copy of the same bytes.
//!
//! A 10 MB text body (lines of about 76 octets, some starting with `.`) goes through in
//! 64 KiB chunks, the transport's chunk size, into one reused output `Vec`, once with CRLF
//! line endings (nothing to change but the dots) and once with bare LF (every ending grows).
//! The `memcpy` rows copy the same chunks into a reused `Vec` with `extend_from_slice`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smtpwire::data::{DataEncoder, Framing, bdat_wire_len};
use std::hint::black_box;

const BODY_LEN: usize = 10 * 1000 * 1000;
const CHUNK_LEN: usize = 64 * 1024;

/// A deterministic text body of ~76-octet lines; about one line in 50 starts with a dot.
fn text_body(ending: &[u8]) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "the",
        "message",
        "body",
        "of",
        "an",
        "ordinary",
        "mail",
        "with",
        "words",
        "and",
        "punctuation,",
        "lines.",
    ];
    let mut state: u32 = 0x9e37_79b9;
    let mut next = move || {
        // xorshift32: cheap, deterministic, good enough to vary the lines.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    let mut body = Vec::with_capacity(BODY_LEN + 100);
    while body.len() < BODY_LEN {
        let line_start = body.len();
        if next() % 50 == 0 {
            body.push(b'.');
        }
        while body.len() - line_start < 70 + next() % 12 {
            body.extend_from_slice(WORDS[next() % WORDS.len()].as_bytes());
            body.push(b' ');
        }
        body.extend_from_slice(ending);
    }
    body
}

fn encode_all(framing: Framing, body: &[u8], out: &mut Vec<u8>) -> u64 {
    let mut encoder = DataEncoder::new(framing);
    for chunk in body.chunks(CHUNK_LEN) {
        out.clear();
        encoder.encode(chunk, out).expect("lines are short");
        black_box(&out[..]);
    }
    out.clear();
    encoder.finish(out);
    black_box(&out[..]);
    encoder.wire_len()
}

fn copy_all(body: &[u8], out: &mut Vec<u8>) {
    for chunk in body.chunks(CHUNK_LEN) {
        out.clear();
        out.extend_from_slice(chunk);
        black_box(&out[..]);
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("data_encoder");
    for (name, ending) in [("crlf", &b"\r\n"[..]), ("bare_lf", b"\n")] {
        let body = text_body(ending);
        group.throughput(Throughput::Bytes(body.len() as u64));
        let mut out = Vec::with_capacity(2 * CHUNK_LEN);
        group.bench_function(format!("memcpy/{name}"), |b| {
            b.iter(|| copy_all(black_box(&body), &mut out))
        });
        group.bench_function(format!("data/{name}"), |b| {
            b.iter(|| encode_all(Framing::Data, black_box(&body), &mut out))
        });
        group.bench_function(format!("bdat/{name}"), |b| {
            b.iter(|| encode_all(Framing::Bdat, black_box(&body), &mut out))
        });
        group.bench_function(format!("bdat_wire_len/{name}"), |b| {
            b.iter(|| bdat_wire_len(black_box(&body)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
