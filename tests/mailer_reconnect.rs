//! Let's Encrypt boulder's mailer tests, and the reconnection schedule they exercise.

mod mailer_support;

use mailer_support::*;
use smtpwire::mailer::SendError;
use smtpwire::session::TransactionFailure;
use smtpwire::testing::{Action, Fault, Server, Stage};
use smtpwire::transport;
use std::time::Duration;

/// The first `closed` connections are cut at MAIL with `action`; the send must succeed on
/// connection `closed + 1`, with one attempt counter across the reconnections.
fn survives_cut_connections(action: Action) {
    const CLOSED: u64 = 5;
    let harness = Harness::start(
        Server::builder().fault(Fault::at(Stage::Mail).on_first(CLOSED).then(action)),
    );
    let mut mailer = harness.mailer(CLOSED as u32 + 1).build();

    let report = send_test(&mut mailer).expect("the sixth connection delivers");

    assert_eq!(report.attempts, 6);
    assert_eq!(report.reconnects, 5);
    assert!(!report.possible_duplicate);
    assert_eq!(harness.server.connection_count(), 6);
    let delivered = harness.server.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].connection, 6);
    // First redial immediate, then base, 2·base, 4·base, 8·base.
    assert_eq!(harness.clock.sleeps(), [BASE, BASE * 2, BASE * 4, BASE * 8]);
    let counts = harness.counters.snapshot();
    assert_eq!(
        (counts.attempts, counts.reconnects, counts.successes),
        (6, 5, 1)
    );
    assert_eq!(counts.failures(), 5);
}

#[test]
fn reconnects_after_the_server_closes_the_first_five_connections_at_mail() {
    survives_cut_connections(Action::close());
}

#[test]
fn reconnects_after_a_421_goodbye_at_mail() {
    survives_cut_connections(Action::reply_and_close(
        421,
        "1.2.3 mx.example Error: timeout exceeded",
    ));
}

#[test]
fn reconnects_after_a_tcp_reset_at_mail() {
    survives_cut_connections(Action::reset());
}

#[test]
fn boulder_close_first_mixes_closes_and_421s() {
    let harness = Harness::start(Server::builder().faults(Fault::boulder_close_first(4)));
    let mut mailer = harness.mailer(5).build();

    let report = send_test(&mut mailer).unwrap();

    assert_eq!((report.attempts, report.reconnects), (5, 4));
    let counts = harness.counters.snapshot();
    assert_eq!(counts.eof, 2, "{counts:?}");
    assert_eq!(counts.service_closing, 2, "{counts:?}");
}

#[test]
fn a_recipient_refused_with_401_is_reported_not_retried_and_reset() {
    let harness = Harness::start(Server::builder().recipient_reply(
        "bad@example.org",
        401,
        "4.1.3 Bad recipient address syntax",
    ));
    let mut mailer = harness.mailer(5).build();

    let error = mailer
        .send(&envelope(&["bad@example.org"]), MESSAGE)
        .unwrap_err();

    let SendError::NotRetried {
        error: transport::Error::Rejected { failure },
        progress,
    } = &error
    else {
        panic!("expected a refusal, got {error:?}");
    };
    assert_eq!(progress.attempts, 1);
    let TransactionFailure::AllRecipientsRejected { recipients } = failure else {
        panic!("expected every recipient refused, got {failure:?}");
    };
    assert_eq!(recipients.len(), 1);
    assert_eq!(recipients[0].address.as_str(), "bad@example.org");
    assert_eq!(recipients[0].reply.code().get(), 401);
    assert_eq!(
        recipients[0].reply.enhanced_code().map(|c| c.to_string()),
        Some("4.1.3".to_owned())
    );
    assert!(error.is_transient());
    assert!(!error.is_permanent());
    assert_eq!(error.kind(), "rejected");
    assert_eq!(error.refused_recipients().len(), 1);
    assert!(harness.clock.sleeps().is_empty());
    assert_eq!(harness.counters.snapshot().reconnects, 0);

    // The transaction is reset on the same connection, which then says goodbye.
    mailer.close().unwrap();
    let connections = harness.server.wait_for_closed_connections(1, WAIT).unwrap();
    assert_eq!(connections.len(), 1, "no reconnection");
    let verbs = connections[0].verbs();
    assert_eq!(verbs, ["EHLO", "MAIL", "RCPT", "RSET", "QUIT"]);
}

#[test]
fn an_unexpected_reply_code_is_returned_not_retried() {
    // boulder's TestOtherError: a reply no SMTP server may send.
    let harness = Harness::cut_always(
        Stage::Mail,
        Action::reply(999, "1.1.1 This would probably be bad?"),
    );
    let mut mailer = harness.mailer(5).build();

    let error = send_test(&mut mailer).unwrap_err();

    assert!(matches!(error, SendError::NotRetried { .. }), "{error:?}");
    assert_eq!(error.kind(), "protocol");
    assert_eq!(error.attempts(), 1);
    assert_eq!(harness.server.connection_count(), 1);
    assert_eq!(harness.counters.snapshot().protocol, 1);
}

#[test]
fn a_reply_code_that_makes_no_sense_at_mail_is_not_retried() {
    let harness = Harness::cut_always(Stage::Mail, Action::reply(354, "go ahead"));
    let mut mailer = harness.mailer(5).build();

    let error = send_test(&mut mailer).unwrap_err();

    assert_eq!(error.attempts(), 1, "{error:?}");
    assert!(!matches!(error, SendError::GaveUp { .. }));
    assert_eq!(harness.server.connection_count(), 1);
}

#[test]
fn gives_up_after_the_bound_with_the_last_error_and_the_count() {
    let harness = Harness::cut_always(
        Stage::Mail,
        Action::reply_and_close(421, "4.4.2 mx.example Error: timeout exceeded"),
    );
    let mut mailer = harness.mailer(3).build();

    let error = send_test(&mut mailer).unwrap_err();

    let SendError::GaveUp {
        error: last,
        progress,
    } = &error
    else {
        panic!("expected GaveUp, got {error:?}");
    };
    assert!(
        matches!(last, transport::Error::ServiceClosing { .. }),
        "{last:?}"
    );
    assert_eq!(progress.attempts, 3);
    assert_eq!(error.kind(), "service-closing");
    assert!(error.to_string().contains("3 attempts"), "{error}");
    assert_eq!(harness.server.connection_count(), 3);
    assert_eq!(harness.clock.sleeps(), [BASE]);
    let counts = harness.counters.snapshot();
    assert_eq!(
        (counts.attempts, counts.service_closing, counts.failed_sends),
        (3, 3, 1)
    );
}

#[test]
fn the_default_bound_is_five_attempts() {
    let harness = Harness::cut_always(Stage::Mail, Action::close());
    let mut mailer = builder_for(&harness.server)
        .clock(harness.clock.clone())
        .build();

    let error = send_test(&mut mailer).unwrap_err();

    assert!(matches!(error, SendError::GaveUp { .. }), "{error:?}");
    assert_eq!(error.attempts(), 5);
    assert_eq!(harness.server.connection_count(), 5);
}

#[test]
fn the_backoff_doubles_up_to_the_cap() {
    let harness = Harness::cut_always(Stage::Mail, Action::close());
    let mut mailer = harness.mailer(8).backoff_cap(BASE * 5).build();

    let error = send_test(&mut mailer).unwrap_err();

    assert_eq!(error.attempts(), 8);
    // Attempt 2 immediate, then 1, 2, 4 bases, then the cap of 5 bases.
    assert_eq!(
        harness.clock.sleeps(),
        [BASE, BASE * 2, BASE * 4, BASE * 5, BASE * 5, BASE * 5]
    );
}

#[test]
fn jittered_delays_stay_within_twenty_percent_of_the_schedule() {
    for jitter in [
        smtpwire::mailer::Jitter::Random,
        smtpwire::mailer::Jitter::Seeded(3),
    ] {
        let harness = Harness::cut_always(Stage::Mail, Action::close());
        let mut mailer = harness
            .mailer(7)
            .backoff_cap(Duration::from_secs(3600))
            .jitter(jitter)
            .build();

        send_test(&mut mailer).unwrap_err();

        let sleeps = harness.clock.sleeps();
        assert_eq!(sleeps.len(), 5, "{sleeps:?}");
        for (i, sleep) in sleeps.iter().enumerate() {
            let nominal = BASE * (1 << i);
            assert!(
                *sleep >= nominal * 4 / 5 && *sleep <= nominal * 6 / 5,
                "delay {i} is {sleep:?}, nominal {nominal:?}"
            );
        }
    }
}
