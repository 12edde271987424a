//! Reply parsing throughput: smtpwire against lettre 0.11 and smtp-proto 0.2 on real replies
//! (`fuzz/seeds/reply/`): a one-line `250 2.0.0 Ok: queued as …`, Postfix's 11-line EHLO
//! reply and a 90-line HELP reply.
//!
//! `cargo bench --bench reply_parse -- --warm-up-time 1 --measurement-time 3`
//!
//! Each function turns the whole reply, fed in one piece, into that library's reply value:
//! * `smtpwire`: `ReplyParser::parse` into a borrowed `ReplyRef` (the parser is reused, as a
//!   connection reuses it), then reads the code and walks the lines;
//! * `smtpwire_owned`: the same plus `ReplyRef::to_reply`, an owned copy (two allocations);
//! * `lettre`: `std::str::from_utf8` (lettre parses `&str` only), then `Response::from_str`;
//! * `smtp_proto`: `ResponseReceiver::parse`, reset between replies as a client would.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smtpwire::reply::{ReplyParser, Status};
use std::hint::black_box;
use std::str::FromStr;

const CORPUS: [(&str, &[u8]); 3] = [
    (
        "one_line_queued",
        include_bytes!("../fuzz/seeds/reply/postfix_queued"),
    ),
    (
        "ehlo_11_lines",
        include_bytes!("../fuzz/seeds/reply/postfix_ehlo"),
    ),
    (
        "help_90_lines",
        include_bytes!("../fuzz/seeds/reply/sendmail_help_90_lines"),
    ),
];

fn smtpwire_parse(parser: &mut ReplyParser, input: &[u8]) -> (u16, usize) {
    match parser.parse(input) {
        Ok(Status::Complete { reply, .. }) => {
            let text_len = reply.lines().map(<[u8]>::len).sum::<usize>();
            (reply.code().get(), text_len)
        }
        other => panic!("smtpwire did not parse the reply: {other:?}"),
    }
}

fn smtpwire_owned(parser: &mut ReplyParser, input: &[u8]) -> smtpwire::reply::Reply {
    match parser.parse(input) {
        Ok(Status::Complete { reply, .. }) => reply.to_reply(),
        other => panic!("smtpwire did not parse the reply: {other:?}"),
    }
}

fn lettre_parse(input: &[u8]) -> lettre::transport::smtp::response::Response {
    let text = std::str::from_utf8(input).expect("the corpus is UTF-8");
    lettre::transport::smtp::response::Response::from_str(text).expect("lettre parses the reply")
}

fn smtp_proto_parse(
    receiver: &mut smtp_proto::response::parser::ResponseReceiver,
    input: &[u8],
) -> smtp_proto::Response<String> {
    receiver.reset();
    receiver
        .parse(&mut input.iter())
        .expect("smtp-proto parses the reply")
}

fn reply_parse(c: &mut Criterion) {
    for (name, input) in CORPUS {
        // All three must understand the reply the same way before their speed means anything.
        let mut parser = ReplyParser::new();
        let mut receiver = smtp_proto::response::parser::ResponseReceiver::default();
        let ours = smtpwire_owned(&mut parser, input);
        let theirs = lettre_parse(input);
        let proto = smtp_proto_parse(&mut receiver, input);
        assert_eq!(ours.lines().count(), theirs.message().count(), "{name}");
        assert_eq!(u16::from(ours.code()), proto.code, "{name}");

        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("smtpwire", |b| {
            b.iter(|| smtpwire_parse(&mut parser, black_box(input)))
        });
        group.bench_function("smtpwire_owned", |b| {
            b.iter(|| smtpwire_owned(&mut parser, black_box(input)))
        });
        group.bench_function("lettre", |b| b.iter(|| lettre_parse(black_box(input))));
        group.bench_function("smtp_proto", |b| {
            b.iter(|| smtp_proto_parse(&mut receiver, black_box(input)))
        });
        group.finish();
    }
}

criterion_group!(benches, reply_parse);
criterion_main!(benches);
