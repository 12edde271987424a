//! Deadlines, failed dials, and failures that must not be retried.

mod mailer_support;

use mailer_support::*;
use smtpwire::auth::Credentials;
use smtpwire::mailer::{Mailer, SendError, SystemClock};
use smtpwire::session::TlsPolicy;
use smtpwire::testing::{Action, Fault, Server, Stage, TlsIdentity};
use smtpwire::transport::{self, TlsConfig};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn a_silent_server_is_abandoned_at_the_send_deadline_not_per_attempt() {
    let server = Server::builder()
        .fault(Fault::at(Stage::Mail).then(Action::silent()))
        .start()
        .unwrap();
    // Each reply may take 60 s and 5 attempts are allowed; the send may take 1 s.
    let mut mailer = builder_for(&server)
        .clock(Arc::new(SystemClock))
        .timeouts(smtpwire::session::Timeouts::all(Duration::from_secs(60)))
        .send_deadline(Duration::from_secs(1))
        .build();

    let started = Instant::now();
    let error = send_test(&mut mailer).unwrap_err();
    let took = started.elapsed();

    let SendError::DeadlineExceeded {
        error: cause,
        progress,
    } = &error
    else {
        panic!("expected DeadlineExceeded, got {error:?}");
    };
    assert!(cause.is_timeout(), "{cause:?}");
    assert_eq!(progress.attempts, 1, "no retry after the deadline");
    assert_eq!(error.kind(), "timeout");
    assert_eq!(server.connection_count(), 1);
    // A bound, not a measurement: far below one reply deadline.
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn no_retry_starts_and_no_wait_runs_past_the_send_deadline() {
    let harness = Harness::cut_always(Stage::Mail, Action::close());
    // Waits: attempt 2 at once, attempt 3 after 4 s, attempt 4 would need 8 s more: past
    // the 10 s deadline, so it never starts and the 8 s wait never happens.
    let mut mailer = harness
        .mailer(10)
        .backoff_base(Duration::from_secs(4))
        .send_deadline(Duration::from_secs(10))
        .build();

    let error = send_test(&mut mailer).unwrap_err();

    assert!(
        matches!(error, SendError::DeadlineExceeded { .. }),
        "{error:?}"
    );
    assert_eq!(error.attempts(), 3);
    assert_eq!(harness.clock.sleeps(), [Duration::from_secs(4)]);
    assert_eq!(harness.server.connection_count(), 3);
}

#[test]
fn a_deadline_already_passed_stops_retries_at_once() {
    let harness = Harness::start(
        Server::builder().fault(Fault::at(Stage::Mail).on_first(1).then(Action::close())),
    );
    let clock = harness.clock.clone();
    // An observer that moves the manual clock past the deadline once the first connection
    // is up, as if the attempt had taken that long.
    struct Advance(Arc<smtpwire::mailer::ManualClock>);
    impl smtpwire::mailer::Observer for Advance {
        fn on_event(&self, event: &smtpwire::mailer::MailerEvent<'_>) {
            if let smtpwire::mailer::MailerEvent::Connected { .. } = event {
                self.0.advance(Duration::from_secs(60));
            }
        }
    }
    let mut mailer = harness
        .mailer(5)
        .observer(Arc::new(Advance(clock)))
        .send_deadline(Duration::from_secs(30))
        .build();

    let error = send_test(&mut mailer).unwrap_err();

    assert!(
        matches!(error, SendError::DeadlineExceeded { .. }),
        "{error:?}"
    );
    assert_eq!(error.attempts(), 1);
    assert_eq!(harness.server.connection_count(), 1);
}

#[test]
fn a_redial_that_fails_is_one_more_attempt_and_the_next_succeeds() {
    let harness = Harness::start(
        Server::builder()
            .fault(on_connection(1, Stage::Mail, Action::close()))
            .fault(on_connection(
                2,
                Stage::Connect,
                Action::reply_and_close(421, "4.3.2 try later"),
            )),
    );
    let mut mailer = harness.mailer(5).build();

    let report = send_test(&mut mailer).unwrap();

    assert_eq!(report.attempts, 3);
    assert_eq!(report.reconnects, 1, "one redial failed, one succeeded");
    assert_eq!(harness.clock.sleeps(), [BASE]);
    let counts = harness.counters.snapshot();
    assert_eq!((counts.eof, counts.service_closing), (1, 1), "{counts:?}");
}

#[test]
fn a_server_that_cannot_be_reached_is_retried_up_to_the_bound() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let clock = Arc::new(smtpwire::mailer::ManualClock::new());
    let mut mailer = Mailer::builder("127.0.0.1", port)
        .tls(TlsPolicy::None)
        .clock(clock.clone())
        .backoff_base(BASE)
        .jitter(smtpwire::mailer::Jitter::None)
        .max_attempts(3)
        .build();

    let error = send_test(&mut mailer).unwrap_err();

    let SendError::GaveUp { error: cause, .. } = &error else {
        panic!("expected GaveUp, got {error:?}");
    };
    assert!(
        matches!(cause, transport::Error::Connect { .. }),
        "{cause:?}"
    );
    assert_eq!(error.attempts(), 3);
    assert_eq!(error.kind(), "connect");
    assert_eq!(clock.sleeps(), [BASE]);

    // connect() retries the same way.
    let error = mailer.connect().unwrap_err();
    assert!(matches!(error, SendError::GaveUp { .. }), "{error:?}");
    assert_eq!(error.attempts(), 3);
}

#[test]
fn refused_credentials_are_not_retried() {
    let harness = Harness::start(Server::builder().auth("robot", "right-password"));
    let mut mailer = harness
        .mailer(5)
        .credentials(Credentials::password("robot", "wrong-password").unwrap())
        .allow_plaintext_auth(true)
        .build();

    let error = send_test(&mut mailer).unwrap_err();

    assert!(matches!(error, SendError::NotRetried { .. }), "{error:?}");
    assert_eq!(error.kind(), "auth");
    assert_eq!(error.attempts(), 1);
    assert_eq!(harness.server.connection_count(), 1);
    assert!(!format!("{error:?} {error}").contains("wrong-password"));
}

#[test]
fn accepted_credentials_authenticate_the_session() {
    let harness = Harness::start(Server::builder().auth("robot", "right-password"));
    let mut mailer = harness
        .mailer(5)
        .credentials(Credentials::password("robot", "right-password").unwrap())
        .allow_plaintext_auth(true)
        .build();

    send_test(&mut mailer).unwrap();

    let delivered = harness.server.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(delivered[0].authenticated_as.as_deref(), Some("robot"));
}

#[test]
fn an_untrusted_certificate_is_not_retried() {
    let harness =
        Harness::start(Server::builder().starttls(TlsIdentity::generate_localhost().unwrap()));
    // The default roots do not include the test server's self-signed certificate.
    let mut mailer = harness.mailer(5).tls(TlsPolicy::Required).build();

    let error = send_test(&mut mailer).unwrap_err();

    assert!(matches!(error, SendError::NotRetried { .. }), "{error:?}");
    assert_eq!(error.kind(), "tls");
    assert_eq!(error.attempts(), 1);
    assert_eq!(harness.server.connection_count(), 1);
    assert_eq!(harness.counters.snapshot().tls, 1);
}

#[test]
fn required_tls_that_the_server_does_not_offer_is_not_retried() {
    let harness = Harness::start(Server::builder());
    let mut mailer = harness.mailer(5).tls(TlsPolicy::Required).build();

    let error = send_test(&mut mailer).unwrap_err();

    assert!(matches!(error, SendError::NotRetried { .. }), "{error:?}");
    assert_eq!(error.kind(), "tls-unavailable");
    assert_eq!(error.attempts(), 1);
    assert_eq!(harness.server.connection_count(), 1);
    assert!(!verbs(&harness.server, 1).iter().any(|v| v == "MAIL"));
}

fn trusting(server: &Server) -> TlsConfig {
    TlsConfig::builder()
        .without_webpki_roots()
        .add_root_der(&server.certificate_der().unwrap())
        .unwrap()
        .build()
        .unwrap()
}

#[test]
fn starttls_with_a_trusted_certificate_delivers_over_tls() {
    let harness =
        Harness::start(Server::builder().starttls(TlsIdentity::generate_localhost().unwrap()));
    let mut mailer = harness
        .mailer(5)
        .tls(TlsPolicy::Required)
        .tls_config(trusting(&harness.server))
        .build();

    send_test(&mut mailer).unwrap();

    assert!(mailer.connection().is_some_and(|c| c.is_tls()));
    let delivered = harness.server.wait_for_messages(1, WAIT).unwrap();
    assert!(delivered[0].tls);
}

#[test]
fn implicit_tls_reconnects_like_plain_text() {
    let harness = Harness::start(
        Server::builder()
            .implicit_tls(TlsIdentity::generate_localhost().unwrap())
            .fault(on_connection(1, Stage::Mail, Action::close())),
    );
    let mut mailer = harness
        .mailer(5)
        .tls(TlsPolicy::Implicit)
        .tls_config(trusting(&harness.server))
        .build();

    let report = send_test(&mut mailer).unwrap();

    assert_eq!(report.attempts, 2);
    let delivered = harness.server.wait_for_messages(1, WAIT).unwrap();
    assert!(delivered[0].tls);
}
