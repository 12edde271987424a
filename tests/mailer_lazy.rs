//! Connecting late, surviving a long pause, reusing the connection, and what the mailer
//! tells its observer.

mod mailer_support;

use mailer_support::*;
use smtpwire::mailer::{EhloIdentity, Mailer, SendError};
use smtpwire::testing::{Action, ConnectionEnd, Fault, Server, Stage};
use std::io::{Cursor, Seek, SeekFrom};
use std::time::Duration;

#[test]
fn mailer_is_send() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Mailer>();
}

#[test]
fn the_first_send_connects() {
    let harness = Harness::start(Server::builder());
    let mut mailer = harness.mailer(5).build();
    assert!(!mailer.is_connected());
    assert_eq!(
        harness.server.connection_count(),
        0,
        "building does not connect"
    );

    let report = send_test(&mut mailer).unwrap();

    assert_eq!((report.attempts, report.reconnects), (1, 0));
    assert!(mailer.is_connected());
    assert_eq!(harness.server.connection_count(), 1);
    let snapshot = harness.counters.snapshot();
    assert_eq!((snapshot.connects, snapshot.reconnects), (1, 0));
}

/// `connect()`, a long pause, and a server that dropped the connection meanwhile: the send
/// goes out on a new connection at once.
fn survives_a_long_pause(action: Action) {
    let harness = Harness::cut_once(Stage::Mail, action);
    let mut mailer = harness.mailer(5).build();
    mailer.connect().unwrap();
    assert!(mailer.is_connected());

    harness.clock.advance(Duration::from_secs(3 * 3600));
    let report = send_test(&mut mailer).unwrap();

    assert_eq!((report.attempts, report.reconnects), (2, 1));
    assert!(
        harness.clock.sleeps().is_empty(),
        "the first redial is immediate"
    );
    let delivered = harness.server.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(delivered[0].connection, 2);
}

#[test]
fn a_connection_closed_during_a_long_pause_is_replaced() {
    survives_a_long_pause(Action::close());
}

#[test]
fn a_421_timeout_exceeded_after_a_long_pause_is_survived() {
    survives_a_long_pause(Action::reply_and_close(
        421,
        "4.4.2 mx.example Error: timeout exceeded",
    ));
}

#[test]
fn messages_share_one_connection_while_it_lives() {
    let harness = Harness::start(Server::builder());
    let mut mailer = harness.mailer(5).build();

    for n in 0..3 {
        let to = format!("rcpt{n}@example.org");
        let report = mailer.send(&envelope(&[&to]), MESSAGE).unwrap();
        assert_eq!(report.attempts, 1);
    }
    mailer.close().unwrap();

    let delivered = harness.server.wait_for_messages(3, WAIT).unwrap();
    assert!(delivered.iter().all(|m| m.connection == 1));
    let sequences: Vec<_> = delivered.iter().map(|m| m.sequence).collect();
    assert_eq!(sequences, [1, 2, 3]);
    let connections = harness.server.wait_for_closed_connections(1, WAIT).unwrap();
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0].end, Some(ConnectionEnd::Quit));
}

#[test]
fn connect_replaces_the_current_connection_after_quit() {
    let harness = Harness::start(Server::builder());
    let mut mailer = harness.mailer(5).build();

    mailer.connect().unwrap();
    mailer.connect().unwrap();

    let closed = harness.server.wait_for_closed_connections(1, WAIT).unwrap();
    assert_eq!(closed[0].end, Some(ConnectionEnd::Quit));
    assert_eq!(harness.server.connection_count(), 2);
    mailer.close().unwrap();
    mailer.close().unwrap(); // nothing left to close
}

#[test]
fn the_next_send_after_a_lost_connection_reconnects() {
    // The connection dies after the first message's reply; the second send finds it dead.
    let harness = Harness::start(
        Server::builder().fault(
            Fault::at(Stage::Mail)
                .on_connection(1)
                .on_occurrence(2)
                .then(Action::close()),
        ),
    );
    let mut mailer = harness.mailer(5).build();

    let first = mailer.send(&envelope(&["a@example.org"]), MESSAGE).unwrap();
    let second = mailer.send(&envelope(&["b@example.org"]), MESSAGE).unwrap();

    assert_eq!(first.attempts, 1);
    assert_eq!((second.attempts, second.reconnects), (2, 1));
    let delivered = harness.server.wait_for_messages(2, WAIT).unwrap();
    assert_eq!(delivered[1].connection, 2);
}

#[test]
fn the_observer_counts_what_happened() {
    let harness = Harness::start(
        Server::builder()
            .fault(on_connection(1, Stage::Mail, Action::close()))
            .fault(on_connection(
                2,
                Stage::Mail,
                Action::reply_and_close(421, "4.4.2 timeout exceeded"),
            ))
            .fault(on_connection(3, Stage::EndOfData, Action::reset())),
    );
    let mut mailer = harness.mailer(5).build();

    let report = send_test(&mut mailer).unwrap();

    assert_eq!(report.attempts, 4);
    assert!(report.possible_duplicate);
    let counts = harness.counters.snapshot();
    assert_eq!(counts.attempts, 4);
    assert_eq!(counts.connects, 4);
    assert_eq!(counts.reconnects, 3);
    assert_eq!(counts.successes, 1);
    assert_eq!(counts.eof, 1);
    assert_eq!(counts.service_closing, 1);
    assert_eq!(counts.reset + counts.eof + counts.other, 2, "{counts:?}");
    assert_eq!(counts.possible_duplicates, 1);
    assert_eq!(counts.sleeps, 2);
    assert_eq!(counts.failed_sends, 0);
}

#[test]
fn some_recipients_refused_still_delivers_to_the_others() {
    let harness = Harness::start(Server::builder().recipient_reply(
        "gone@example.org",
        550,
        "5.1.1 No such user",
    ));
    let mut mailer = harness.mailer(5).build();

    let report = mailer
        .send(
            &envelope(&["gone@example.org", "here@example.org"]),
            MESSAGE,
        )
        .unwrap();

    assert_eq!(report.attempts, 1);
    assert_eq!(report.recipients.len(), 2);
    let refused: Vec<_> = report.refused().map(|r| r.address.as_str()).collect();
    assert_eq!(refused, ["gone@example.org"]);
    assert!(report.reply.code().get() / 100 == 2);
}

#[test]
fn the_ehlo_name_can_be_the_local_address_literal() {
    let harness = Harness::start(Server::builder());
    let mut mailer = harness
        .mailer(5)
        .ehlo_identity(EhloIdentity::LocalAddress)
        .build();

    send_test(&mut mailer).unwrap();

    let lines = harness.server.connection(1).unwrap();
    assert_eq!(lines.lines()[0], "EHLO [127.0.0.1]");
}

#[test]
fn the_default_ehlo_name_is_the_host_name_or_the_address_literal_never_localhost() {
    let harness = Harness::start(Server::builder());
    let addr = harness.server.addr();
    let mut mailer = Mailer::builder(addr.ip().to_string(), addr.port())
        .tls(smtpwire::session::TlsPolicy::None)
        .build();

    send_test(&mut mailer).unwrap();

    let ehlo = harness.server.connection(1).unwrap().lines()[0].to_owned();
    let expected = match EhloIdentity::from_host_name() {
        EhloIdentity::Name(name) => format!("EHLO {}", name.as_str()),
        EhloIdentity::LocalAddress => "EHLO [127.0.0.1]".to_owned(),
    };
    assert_eq!(ehlo, expected);
    assert_ne!(ehlo.to_ascii_lowercase(), "ehlo localhost");
}

#[test]
fn a_seekable_body_is_rewound_for_each_attempt() {
    let harness = Harness::cut_once(Stage::EndOfData, Action::close());
    let mut mailer = harness.mailer(5).build();
    let mut body = Cursor::new(b"XXXXX".iter().chain(MESSAGE).copied().collect::<Vec<u8>>());
    body.seek(SeekFrom::Start(5)).unwrap();

    let report = mailer
        .send_stream(&envelope(&["rcpt@example.org"]), body)
        .unwrap();

    assert_eq!(report.attempts, 2);
    let complete: Vec<_> = harness.complete_messages();
    assert_eq!(complete.len(), 2);
    for record in complete {
        assert_eq!(record.body.as_deref(), Some(MESSAGE));
    }
}

#[test]
fn a_plain_reader_is_retried_only_before_its_first_byte_was_read() {
    // Cut at MAIL: nothing was read yet, so the retry goes ahead.
    let harness = Harness::cut_once(Stage::Mail, Action::close());
    let mut mailer = harness.mailer(5).build();
    let report = mailer
        .send_stream_once(&envelope(&["rcpt@example.org"]), MESSAGE)
        .unwrap();
    assert_eq!(report.attempts, 2);

    // Cut after the final dot: the body was read, so it cannot be sent again.
    let harness = Harness::cut_once(Stage::EndOfData, Action::close());
    let mut mailer = harness.mailer(5).build();
    let error = mailer
        .send_stream_once(&envelope(&["rcpt@example.org"]), MESSAGE)
        .unwrap_err();
    assert!(
        matches!(error, SendError::BodyNotResendable { .. }),
        "{error:?}"
    );
    assert_eq!(error.attempts(), 1);
    assert!(error.may_have_been_delivered());
    assert_eq!(harness.server.connection_count(), 1);
}

#[test]
fn bare_line_feeds_are_sent_as_crlf() {
    let harness = Harness::start(Server::builder());
    let mut mailer = harness.mailer(5).build();

    mailer
        .send(
            &envelope(&["rcpt@example.org"]),
            b"Subject: lf\n\nline one\nline two",
        )
        .unwrap();

    let delivered = harness.server.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(
        delivered[0].body.as_deref(),
        Some(b"Subject: lf\r\n\r\nline one\r\nline two\r\n" as &[u8])
    );
}

#[test]
fn a_line_too_long_fails_before_connecting() {
    let harness = Harness::start(Server::builder());
    let mut mailer = harness.mailer(5).build();
    let mut message = b"Subject: long\r\n\r\n".to_vec();
    message.extend(std::iter::repeat_n(b'a', 1200));

    let error = mailer
        .send(&envelope(&["rcpt@example.org"]), &message)
        .unwrap_err();

    assert!(matches!(error, SendError::NotRetried { .. }), "{error:?}");
    assert_eq!(error.kind(), "invalid-input");
    assert_eq!(error.attempts(), 0);
    assert_eq!(harness.server.connection_count(), 0);
}

#[test]
fn close_waits_for_the_quit_reply_no_longer_than_the_quit_timeout() {
    let harness = Harness::cut_always(Stage::Quit, Action::silent());
    let mut mailer = harness
        .mailer(5)
        .quit_timeout(Duration::from_millis(300))
        .build();
    send_test(&mut mailer).unwrap();

    let started = std::time::Instant::now();
    let error = mailer.close().unwrap_err();

    assert!(error.is_timeout(), "{error:?}");
    assert!(!mailer.is_connected());
    // A bound, not a measurement: well below the 5 s default.
    assert!(started.elapsed() < Duration::from_secs(4));
}
