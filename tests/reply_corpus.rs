//! The parser against real server replies (`fuzz/seeds/reply/`): fed whole, cut at every
//! point, byte by byte, and pipelined.

mod reply_support;

use reply_support::{
    Event, corpus, feed, feed_bytewise, feed_split, feed_whole, reference, reply, seed,
};
use smtpwire::reply::{EnhancedStatusCode, ReplyCode, ReplyLimits, ReplyParser, Status};

#[test]
fn every_seed_is_one_complete_reply_that_matches_the_reference() {
    for (name, bytes) in corpus() {
        let outcome = feed_whole(ReplyLimits::default(), &bytes);
        assert_eq!(outcome.events.len(), 1, "{name}");
        assert_eq!(outcome.events, reference(&bytes), "{name}");
        assert_eq!(outcome.buffered_at_end, 0, "{name}");
        let Event::Reply(reply) = &outcome.events[0] else {
            panic!("{name}: not a reply")
        };
        let line_count = bytes.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(reply.lines().len(), line_count, "{name}");
    }
}

#[test]
fn every_proper_prefix_is_partial_and_fully_buffered() {
    for (name, bytes) in corpus() {
        for end in 0..bytes.len() {
            let mut parser = ReplyParser::new();
            let status = parser.parse(&bytes[..end]);
            assert!(
                matches!(status, Ok(Status::Partial)),
                "{name}, prefix {end}: {status:?}"
            );
            assert_eq!(parser.buffered_len(), end, "{name}, prefix {end}");
        }
    }
}

#[test]
fn every_two_way_split_gives_the_whole_input_result() {
    for (name, bytes) in corpus() {
        let whole = feed_whole(ReplyLimits::default(), &bytes);
        for cut in 0..=bytes.len() {
            let split = feed_split(ReplyLimits::default(), &bytes, &[cut]);
            assert_eq!(split, whole, "{name}, cut at {cut}");
        }
    }
}

#[test]
fn byte_at_a_time_gives_the_whole_input_result() {
    for (name, bytes) in corpus() {
        let whole = feed_whole(ReplyLimits::default(), &bytes);
        assert_eq!(
            feed_bytewise(ReplyLimits::default(), &bytes),
            whole,
            "{name}"
        );
    }
}

#[test]
fn pipelined_replies_come_out_one_by_one_in_any_chunking() {
    let seeds = corpus();
    let stream: Vec<u8> = seeds
        .iter()
        .flat_map(|(_, bytes)| bytes.iter().copied())
        .collect();
    let expected: Vec<Event> = seeds
        .iter()
        .flat_map(|(_, bytes)| reference(bytes))
        .collect();
    assert_eq!(expected.len(), seeds.len());
    for chunk_len in [1, 2, 3, 7, 64, 1000, stream.len()] {
        let outcome = feed(&mut ReplyParser::new(), stream.chunks(chunk_len));
        assert_eq!(outcome.events, expected, "chunks of {chunk_len}");
        assert_eq!(outcome.buffered_at_end, 0);
    }
}

#[test]
fn consumed_stops_at_the_end_of_the_reply() {
    // The STARTTLS response injection shape: the caller must see the bytes behind the 220.
    let input = b"220 2.0.0 Ready to start TLS\r\n250-x\r\n250 AUTH PLAIN\r\n";
    let mut parser = ReplyParser::new();
    let Ok(Status::Complete { reply, consumed }) = parser.parse(input) else {
        panic!()
    };
    assert_eq!(reply.code(), ReplyCode::SERVICE_READY);
    assert_eq!(consumed, b"220 2.0.0 Ready to start TLS\r\n".len());
}

#[test]
fn real_replies_are_read_right() {
    let timeout = reply(&seed("postfix_421_timeout"));
    assert_eq!(timeout.code(), ReplyCode::SERVICE_NOT_AVAILABLE);
    assert_eq!(timeout.enhanced_code(), EnhancedStatusCode::new(4, 4, 2));
    assert_eq!(
        timeout.message(),
        b"mail.example.org Error: timeout exceeded"
    );

    let ehlo = reply(&seed("postfix_ehlo"));
    assert_eq!(ehlo.code(), ReplyCode::OK);
    assert_eq!(ehlo.enhanced_code(), None);
    let lines: Vec<&[u8]> = ehlo.lines().collect();
    assert_eq!(lines.len(), 11);
    assert_eq!(lines[0], b"mail.example.org");
    assert_eq!(lines[2], b"SIZE 10240000");
    assert_eq!(lines[10], b"CHUNKING");

    let sink = reply(&seed("smtp_sink_ehlo"));
    assert_eq!(sink.lines().last(), Some(&b""[..]));
    assert_eq!(sink.lines().len(), 10);

    let gmail = reply(&seed("gmail_535"));
    assert_eq!(gmail.code(), ReplyCode::AUTH_CREDENTIALS_INVALID);
    assert_eq!(gmail.enhanced_code(), EnhancedStatusCode::new(5, 7, 8));
    assert_eq!(
        gmail.message(),
        b"Username and Password not accepted. For more information, go to"
    );

    let outlook = reply(&seed("outlook_550_5_7_708"));
    assert_eq!(outlook.enhanced_code(), EnhancedStatusCode::new(5, 7, 708));

    let gmail_354 = reply(&seed("gmail_354"));
    assert_eq!(gmail_354.code(), ReplyCode::START_MAIL_INPUT);
    assert!(gmail_354.message().starts_with(b" Go ahead"));

    let challenge = reply(&seed("gmail_334"));
    assert_eq!(challenge.code(), ReplyCode::AUTH_CONTINUE);
    assert_eq!(challenge.message(), b"VXNlcm5hbWU6");

    let help = reply(&seed("sendmail_help_90_lines"));
    assert_eq!(help.code(), ReplyCode::HELP_MESSAGE);
    assert_eq!(help.lines().len(), 90);
    assert_eq!(help.lines().last(), Some(&b"2.0.0 End of HELP info"[..]));

    let bare = reply(&seed("bare_lf_ehlo"));
    let lines: Vec<&[u8]> = bare.lines().collect();
    assert_eq!(
        lines,
        [
            &b"localhost"[..],
            b"PIPELINING",
            b"SIZE 1000000",
            b"8BITMIME"
        ]
    );

    let mixed = reply(&seed("mixed_endings_ehlo"));
    let lines: Vec<&[u8]> = mixed.lines().collect();
    assert_eq!(lines, [&b"localhost"[..], b"SIZE 1000000", b"HELP"]);
}
