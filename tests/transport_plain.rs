//! Plain SMTP end to end against `testing::Server`: delivery, refusals that leave the
//! connection usable, NOOP, RSET, QUIT, and what reaches the server byte for byte.

mod transport_support;

use smtpwire::session::{TlsPolicy, TransactionFailure};
use smtpwire::testing::{Action, Fault, Server, Stage};
use smtpwire::transport::{ConnectOptions, Connection, Error};
use std::time::Duration;
use transport_support::{GeneratedBody, envelope, options};

fn plain(server: &Server) -> ConnectOptions {
    let mut options = options(server.addr().port(), Duration::from_secs(10));
    options.session.tls = TlsPolicy::None;
    options
}

#[test]
fn delivers_several_messages_over_one_connection_and_quits() {
    let server = Server::builder()
        .pipelining(true)
        .eight_bit_mime(true)
        .start()
        .unwrap();
    let mut connection = Connection::connect(&plain(&server)).unwrap();
    assert!(connection.capabilities().is_some_and(|c| c.pipelining()));
    assert!(!connection.is_tls());
    let bodies: [&[u8]; 3] = [
        b"Subject: one\r\n\r\nplain\r\n",
        b"Subject: two\r\n\r\n.leading dot\r\n..two dots\r\n",
        b"Subject: three\n\nbare LF line endings\nand no final newline",
    ];
    for body in bodies {
        let delivery = connection
            .send_bytes(&envelope(&["a@example.org", "b@example.net"]), body)
            .unwrap();
        assert_eq!(delivery.reply.code().get(), 250);
        assert_eq!(delivery.recipients.len(), 2);
        assert!(delivery.recipients.iter().all(|r| r.accepted()));
        assert!(connection.is_usable());
    }
    assert_eq!(connection.noop().unwrap().code().get(), 250);
    assert_eq!(connection.rset().unwrap().code().get(), 250);
    connection.close().unwrap();
    let messages = server
        .wait_for_messages(3, Duration::from_secs(10))
        .unwrap();
    assert_eq!(messages[0].body.as_deref(), Some(bodies[0]));
    assert_eq!(
        messages[1].body.as_deref(),
        Some(bodies[1]),
        "dots survive the round trip"
    );
    assert_eq!(
        messages[2].body.as_deref(),
        Some(&b"Subject: three\r\n\r\nbare LF line endings\r\nand no final newline\r\n"[..]),
    );
    assert!(messages.iter().all(|m| m.bare_lf == 0 && m.bare_cr == 0));
    drop(server.wait_for_closed_connections(1, Duration::from_secs(10)));
    let verbs = server.connection(1).unwrap().verbs();
    assert_eq!(verbs.last().map(String::as_str), Some("QUIT"));
}

#[test]
fn a_streamed_body_arrives_whole() {
    let server = Server::builder().keep_bodies(false).start().unwrap();
    let mut connection = Connection::connect(&plain(&server)).unwrap();
    let len = GeneratedBody::LINE.len() as u64 * 20_000;
    connection
        .send(
            &envelope(&["a@example.org"]),
            GeneratedBody::new(len),
            Default::default(),
        )
        .unwrap();
    connection.close().unwrap();
    let messages = server
        .wait_for_messages(1, Duration::from_secs(10))
        .unwrap();
    assert_eq!(messages[0].body_len, len);
}

#[test]
fn a_refused_recipient_is_reported_and_the_others_get_the_message() {
    let server = Server::builder()
        .recipient_reply("gone@example.org", 550, "5.1.1 no such user")
        .start()
        .unwrap();
    let mut connection = Connection::connect(&plain(&server)).unwrap();
    let delivery = connection
        .send_bytes(
            &envelope(&["gone@example.org", "here@example.org"]),
            b"hi\r\n",
        )
        .unwrap();
    let refused: Vec<_> = delivery
        .recipients
        .iter()
        .filter(|r| !r.accepted())
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].address.as_str(), "gone@example.org");
    assert_eq!(
        server
            .wait_for_messages(1, Duration::from_secs(10))
            .unwrap()[0]
            .recipients,
        ["here@example.org"]
    );
}

#[test]
fn refusals_are_permanent_or_transient_and_leave_the_connection_usable() {
    let server = Server::builder()
        .recipient_reply("full@example.org", 452, "4.2.2 mailbox full")
        .recipient_reply("gone@example.org", 550, "5.1.1 no such user")
        .start()
        .unwrap();
    let mut connection = Connection::connect(&plain(&server)).unwrap();
    let error = connection
        .send_bytes(&envelope(&["gone@example.org"]), b"hi\r\n")
        .unwrap_err();
    assert!(matches!(
        &error,
        Error::Rejected {
            failure: TransactionFailure::AllRecipientsRejected { .. }
        }
    ));
    assert_eq!(error.kind(), "rejected");
    assert!(error.is_permanent() && !error.is_transient() && !error.is_reconnectable());
    assert!(connection.is_usable());

    let error = connection
        .send_bytes(&envelope(&["full@example.org"]), b"hi\r\n")
        .unwrap_err();
    assert!(error.is_transient() && !error.is_permanent(), "{error:?}");
    assert!(connection.is_usable());

    connection
        .send_bytes(&envelope(&["ok@example.org"]), b"hi\r\n")
        .unwrap();
    connection.close().unwrap();
}

#[test]
fn a_refused_message_after_the_dot_is_rejected_not_lost() {
    let server = Server::builder()
        .fault(
            Fault::at(Stage::EndOfData)
                .on_occurrence(1)
                .then(Action::reply(554, "5.7.1 spam")),
        )
        .start()
        .unwrap();
    let mut connection = Connection::connect(&plain(&server)).unwrap();
    let error = connection
        .send_bytes(&envelope(&["a@example.org"]), b"spam\r\n")
        .unwrap_err();
    assert!(
        matches!(&error, Error::Rejected { failure: TransactionFailure::MessageRejected { reply, .. } } if reply.code().get() == 554),
        "{error:?}"
    );
    assert!(error.is_permanent());
    assert!(connection.is_usable());
    connection
        .send_bytes(&envelope(&["a@example.org"]), b"ham\r\n")
        .unwrap();
    connection.close().unwrap();
}

#[test]
fn a_421_at_mail_is_reconnectable_and_says_nothing_was_delivered() {
    let server = Server::builder()
        .fault(
            Fault::at(Stage::Mail)
                .on_first(1)
                .then(Action::reply_and_close(421, "4.3.2 going down")),
        )
        .start()
        .unwrap();
    let mut connection = Connection::connect(&plain(&server)).unwrap();
    let error = connection
        .send_bytes(&envelope(&["a@example.org"]), b"hi\r\n")
        .unwrap_err();
    assert_eq!(error.kind(), "service-closing");
    assert!(error.is_reconnectable());
    let interruption = error.interruption().unwrap();
    assert!(!interruption.fate.may_have_been_accepted());
    assert_eq!(interruption.unresolved.len(), 1);
    assert!(!connection.is_usable());
}

/// A body reader that fails after `good` octets.
struct FailingBody {
    good: usize,
}

impl std::io::Read for FailingBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.good == 0 {
            return Err(std::io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.good).min(100);
        buf[..n].fill(b'a');
        if n == 100 {
            buf[99] = b'\n';
        }
        self.good -= n;
        Ok(n)
    }
}

#[test]
fn a_failing_body_reader_never_ends_the_message() {
    let server = Server::builder().start().unwrap();
    let mut connection = Connection::connect(&plain(&server)).unwrap();
    let error = connection
        .send(
            &envelope(&["a@example.org"]),
            FailingBody { good: 10_000 },
            Default::default(),
        )
        .unwrap_err();
    assert!(matches!(&error, Error::BodyRead { .. }), "{error:?}");
    assert_eq!(error.kind(), "body-read");
    assert!(!error.interruption().unwrap().fate.may_have_been_accepted());
    assert!(!connection.is_usable());
    drop(connection);
    drop(server.wait_for_closed_connections(1, Duration::from_secs(10)));
    let messages = server.messages();
    assert!(
        messages.iter().all(|m| !m.complete && !m.accepted),
        "{messages:?}"
    );
}

#[test]
fn an_over_long_line_is_refused_before_sending_from_memory_and_mid_stream_from_a_reader() {
    let server = Server::builder().start().unwrap();
    let mut connection = Connection::connect(&plain(&server)).unwrap();
    let mut long = b"Subject: long\r\n\r\n".to_vec();
    long.extend(std::iter::repeat_n(b'x', 2000));
    long.extend_from_slice(b"\r\n");
    let error = connection
        .send_bytes(&envelope(&["a@example.org"]), &long)
        .unwrap_err();
    assert!(matches!(&error, Error::LineTooLong(_)), "{error:?}");
    assert!(connection.is_usable(), "nothing was sent");
    connection
        .send_bytes(&envelope(&["a@example.org"]), b"short\r\n")
        .unwrap();

    let error = connection
        .send(&envelope(&["a@example.org"]), &long[..], Default::default())
        .unwrap_err();
    assert_eq!(error.kind(), "invalid-input", "{error:?}");
    assert!(
        !connection.is_usable(),
        "a message cannot be abandoned mid-body"
    );
    drop(connection);
    drop(server.wait_for_closed_connections(1, Duration::from_secs(10)));
    let messages = server.messages();
    assert_eq!(
        messages.iter().filter(|m| m.accepted).count(),
        1,
        "{messages:?}"
    );
}

#[test]
fn without_a_usable_host_name_ehlo_names_the_local_address() {
    let server = Server::builder().start().unwrap();
    let mut options = plain(&server);
    options.ehlo_from_local_address = true;
    let connection = Connection::connect(&options).unwrap();
    connection.close().unwrap();
    drop(server.wait_for_closed_connections(1, Duration::from_secs(10)));
    let lines = server.connection(1).unwrap().lines().join("\n");
    assert!(lines.starts_with("EHLO [127.0.0.1]"), "{lines}");
}
