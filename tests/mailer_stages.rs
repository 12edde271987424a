//! Connections lost at each step of a transaction: what is resent, to whom, and what the
//! report says about duplicates.

mod mailer_support;

use mailer_support::*;
use smtpwire::mailer::{SendError, UnknownOutcome};
use smtpwire::message::Message;
use smtpwire::testing::{Action, Fault, Server, Stage};
use smtpwire::transport;

#[test]
fn a_connection_closed_at_rcpt_is_resent_on_a_new_one() {
    let harness = Harness::cut_once(Stage::Rcpt, Action::close());
    let mut mailer = harness.mailer(5).build();

    let report = send_test(&mut mailer).unwrap();

    assert_eq!((report.attempts, report.reconnects), (2, 1));
    assert!(!report.possible_duplicate);
    let delivered = harness.server.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(delivered[0].recipients, ["rcpt@example.org"]);
    assert!(
        harness.clock.sleeps().is_empty(),
        "the first redial is immediate"
    );
}

#[test]
fn a_recipient_refused_before_the_cut_is_not_sent_to_again() {
    // Boulder #4019: the batch goes on, and the refused address is not retried forever.
    let harness = Harness::start(
        Server::builder()
            .recipient_reply("gone@example.org", 550, "5.1.1 No such user")
            .fault(
                Fault::at(Stage::Rcpt)
                    .on_connection(1)
                    .on_occurrence(2)
                    .then(Action::reply_and_close(421, "4.3.2 Shutting down")),
            ),
    );
    let mut mailer = harness.mailer(5).build();

    let report = mailer
        .send(&envelope(&["gone@example.org", "ok@example.org"]), MESSAGE)
        .unwrap();

    assert_eq!(report.attempts, 2);
    let refused: Vec<_> = report.refused().collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].address.as_str(), "gone@example.org");
    assert_eq!(refused[0].reply.code().get(), 550);
    let accepted: Vec<_> = report.accepted().map(|a| a.as_str()).collect();
    assert_eq!(accepted, ["ok@example.org"]);

    let delivered = harness.server.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(delivered[0].recipients, ["ok@example.org"]);
    let second = harness.server.connection(2).unwrap();
    let rcpts: Vec<_> = second
        .lines()
        .into_iter()
        .filter(|l| l.to_ascii_uppercase().starts_with("RCPT"))
        .map(str::to_owned)
        .collect();
    assert_eq!(rcpts.len(), 1, "{rcpts:?}");
    assert!(rcpts[0].contains("ok@example.org"));
}

#[test]
fn a_connection_closed_at_data_is_resent_without_duplicate() {
    let harness = Harness::cut_once(Stage::Data, Action::close());
    let mut mailer = harness.mailer(5).build();

    let report = send_test(&mut mailer).unwrap();

    assert_eq!(report.attempts, 2);
    assert!(!report.possible_duplicate);
    assert_eq!(harness.counters.snapshot().possible_duplicates, 0);
}

#[test]
fn a_connection_reset_mid_body_is_resent_without_duplicate() {
    // Larger than any loopback socket buffer, so the reset finds the client still writing
    // the body: the end of the message was never sent.
    let line = [b'x'; 98];
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    for _ in 0..160_000 {
        body.extend_from_slice(&line);
        body.extend_from_slice(b"\r\n");
    }
    let harness = Harness::start(Server::builder().keep_bodies(false).fault(on_connection(
        1,
        Stage::MidBody { after: 20 },
        Action::reset(),
    )));
    let mut mailer = harness.mailer(5).build();

    let report = mailer
        .send(&envelope(&["rcpt@example.org"]), &body)
        .unwrap();

    assert_eq!(report.attempts, 2);
    assert!(!report.possible_duplicate);
    let delivered = harness.server.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(delivered[0].connection, 2);
    assert_eq!(delivered[0].body_len, body.len() as u64);
    assert_eq!(delivered[0].body_hash, smtpwire::testing::fnv1a64(&body));
    let counts = harness.counters.snapshot();
    assert_eq!(counts.failures(), 1, "{counts:?}");
}

#[test]
fn a_connection_lost_after_the_final_dot_is_resent_as_a_possible_duplicate() {
    let harness = Harness::cut_once(Stage::EndOfData, Action::close());
    let mut mailer = harness.mailer(5).build();

    let report = send_test(&mut mailer).unwrap();

    assert_eq!(report.attempts, 2);
    assert!(report.possible_duplicate);
    assert_eq!(harness.counters.snapshot().possible_duplicates, 1);
    // The server did receive the whole message twice.
    let delivered = harness.server.wait_for_messages(1, WAIT).unwrap();
    let complete: Vec<_> = harness.complete_messages();
    assert_eq!(complete.len(), 2);
    assert_eq!(complete[0].body, delivered[0].body);
}

#[test]
fn at_most_once_fails_with_outcome_unknown_and_does_not_resend() {
    let harness = Harness::cut_once(Stage::EndOfData, Action::reset());
    let mut mailer = harness
        .mailer(5)
        .unknown_outcome(UnknownOutcome::Fail)
        .build();

    let error = send_test(&mut mailer).unwrap_err();

    let SendError::OutcomeUnknown {
        error: cause,
        progress,
    } = &error
    else {
        panic!("expected OutcomeUnknown, got {error:?}");
    };
    assert!(cause.is_reconnectable(), "{cause:?}");
    assert_eq!(progress.attempts, 1);
    assert!(error.may_have_been_delivered());
    assert_eq!(error.kind(), "outcome-unknown");
    assert_eq!(harness.server.connection_count(), 1);
    assert_eq!(harness.counters.snapshot().possible_duplicates, 0);
}

#[test]
fn a_timeout_after_the_final_dot_is_an_unknown_outcome_too() {
    let harness = Harness::cut_once(Stage::EndOfData, Action::silent());
    let mut mailer = harness
        .mailer(5)
        .timeouts(smtpwire::session::Timeouts {
            data_final: std::time::Duration::from_millis(300),
            ..smtpwire::session::Timeouts::all(REPLY_TIMEOUT)
        })
        .unknown_outcome(UnknownOutcome::Fail)
        .build();

    let error = send_test(&mut mailer).unwrap_err();

    assert!(
        matches!(
            &error,
            SendError::OutcomeUnknown {
                error: transport::Error::Timeout { .. },
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_protocol_violation_after_the_final_dot_is_not_retried_and_may_have_delivered() {
    let harness = Harness::cut_once(Stage::EndOfData, Action::reply(999, "9.9.9 what?"));
    let mut mailer = harness.mailer(5).build();

    let error = send_test(&mut mailer).unwrap_err();

    assert!(matches!(error, SendError::NotRetried { .. }), "{error:?}");
    assert_eq!(error.kind(), "protocol");
    assert!(error.may_have_been_delivered());
    assert_eq!(harness.server.connection_count(), 1);
}

#[test]
fn a_failure_before_the_end_says_the_message_was_not_delivered() {
    let harness = Harness::cut_always(Stage::Data, Action::close());
    let mut mailer = harness.mailer(2).build();

    let error = send_test(&mut mailer).unwrap_err();

    assert!(matches!(error, SendError::GaveUp { .. }), "{error:?}");
    assert!(!error.may_have_been_delivered());
}

#[test]
fn the_message_id_and_date_are_the_same_on_every_attempt() {
    let harness = Harness::start(
        Server::builder().fault(
            Fault::at(Stage::EndOfData)
                .on_first(2)
                .then(Action::close()),
        ),
    );
    let mut mailer = harness.mailer(5).build();

    let report = mailer
        .send_mail(
            ["Rcpt <rcpt@example.org>".parse().unwrap()],
            "Stable",
            "Sent three times, composed once.\n",
        )
        .unwrap();

    assert_eq!(report.attempts, 3);
    let message_id = report
        .message_id
        .expect("a composed message has a Message-ID");
    harness.server.wait_for_messages(1, WAIT).unwrap();
    let complete: Vec<_> = harness.complete_messages();
    assert_eq!(complete.len(), 3);
    for record in &complete {
        assert_eq!(header(record, "Message-ID"), Some(message_id.to_string()));
        assert_eq!(header(record, "Date"), header(&complete[0], "Date"));
        assert_eq!(record.body, complete[0].body, "identical bytes every time");
    }
    assert_eq!(
        header(&complete[0], "From").as_deref(),
        Some("Sender <sender@example.com>")
    );
}

#[test]
fn send_message_sends_the_composed_bytes_to_its_envelope() {
    let harness = Harness::start(Server::builder());
    let mut mailer = harness.mailer(5).build();
    let message = Message::builder()
        .from("ann@example.com".parse().unwrap())
        .to("bob@example.org".parse().unwrap())
        .bcc("carol@example.net".parse().unwrap())
        .subject("Hi")
        .text_body("Hello\n")
        .build()
        .unwrap();

    let report = mailer.send_message(&message).unwrap();

    assert_eq!(report.message_id.as_ref(), Some(message.message_id()));
    let delivered = harness.server.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(delivered[0].mail_from, "ann@example.com");
    assert_eq!(
        delivered[0].recipients,
        ["bob@example.org", "carol@example.net"]
    );
    assert_eq!(delivered[0].body.as_deref(), Some(message.as_bytes()));
}
