//! smtpwire against real mail servers: a private Postfix (smtpd, STARTTLS, implicit TLS,
//! SASL, PIPELINING, CHUNKING, SMTPUTF8, Maildir delivery), Postfix's `smtp-sink` in 26
//! modes (one accepting, the others failing on purpose) and Python's aiosmtpd.
//!
//! Start the servers with `tests/servers/start.sh DIR`, then
//! `source DIR/env; SMTPWIRE_REQUIRE_REAL_SERVERS=1 cargo test --test real_servers`.
//! Without `DIR/env` sourced every test says it was skipped and passes; with
//! `SMTPWIRE_REQUIRE_REAL_SERVERS=1` a missing variable fails instead.
//!
//! Every test bounds its waits: reply deadlines of 15 s, an overall deadline on every
//! `Connection::connect` and on every mailer send, socket timeouts in the forwarders, and a
//! time limit on every poll of a server's store or log.

mod real_servers_support;

use real_servers_support::env::{self, Availability, Servers, Sink};
use real_servers_support::forwarder::{Chunk, Direction, Forwarder, Plan};
use real_servers_support::mechanism_filter::MechanismFilter;
use real_servers_support::stored::{
    self, AiosmtpdMessage, PostfixPrepended, contains, count, find, split_postfix, wait_for,
};
use real_servers_support::wire::{self, GeneratedBody, crlf, dot_stuffed, lf};
use real_servers_support::{
    BIG_CALL_LIMIT, EHLO_NAME, envelope, mailer, options, simple_message, test_id, trust_ca,
};
use smtpwire::auth::{Credentials, Mechanism};
use smtpwire::command::{DsnReturn, EnvelopeId, Notify};
use smtpwire::mailer::{Counters, CountersSnapshot, Mailer, SendError, SendReport, UnknownOutcome};
use smtpwire::message::Message;
use smtpwire::reply::Reply;
use smtpwire::session::{
    BodyInfo, Delivery, MessageFate, ProtocolViolation, Step, Timeouts, TlsPolicy,
    TransactionFailure, UsageError,
};
use smtpwire::transport::{ConnectOptions, Connection, Error};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The servers, or return from the test (skipped) when they are absent and not required.
macro_rules! servers {
    () => {
        match env::servers() {
            Some(servers) => servers,
            None => return,
        }
    };
}

/// The sender every test uses: in the test domain, so Postfix accepts it.
fn sender(servers: &Servers) -> String {
    format!("sender@{}", servers.domain)
}

/// The sender for smtp-sink, which accepts anything.
const SINK_FROM: &str = "sender@example.org";

fn postfix_new(servers: &Servers) -> PathBuf {
    servers.postfix.maildir.join("new")
}

fn aiosmtpd_new(servers: &Servers) -> PathBuf {
    servers.aiosmtpd.maildir.join("new")
}

fn password(user: &str, password: &str) -> Credentials {
    Credentials::password(user, password).expect("usable test credentials")
}

fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Connects with `options`, lets `inspect` look at the ready connection, sends `message`
/// from `from` to `to` and says goodbye.
fn send_one(
    options: &ConnectOptions,
    from: &str,
    to: &[&str],
    message: &[u8],
    inspect: impl FnOnce(&Connection),
) -> Delivery {
    let mut connection = Connection::connect(options).unwrap();
    inspect(&connection);
    let delivery = connection.send_bytes(&envelope(from, to), message).unwrap();
    connection.close().unwrap();
    delivery
}

/// Sends a small message to smtp-sink over `connection`.
// `transport::Error` is large by design (see the transport module); tests match on it.
#[allow(clippy::result_large_err)]
fn sink_send(connection: &mut Connection, label: &str) -> Result<Delivery, Error> {
    let to = format!("{label}@example.org");
    let message = simple_message(&test_id(label), SINK_FROM, &to, "x\r\n");
    connection.send_bytes(&envelope(SINK_FROM, &[&to]), &message)
}

/// The one file Postfix stored for test `id`. Checks that after the fields Postfix prepends
/// it holds `sent` exactly, as the client must have put it on the wire (CRLF) and as Postfix
/// stores it (LF), and returns the prepended fields.
fn postfix_stored(servers: &Servers, id: &str, sent: &[u8]) -> PostfixPrepended {
    let files = wait_for(&postfix_new(servers), id, 1);
    let (prepended, stored) = split_postfix(&files[0].bytes);
    assert_eq!(
        text(&stored),
        text(&lf(&crlf(sent))),
        "{}",
        files[0].path.display()
    );
    prepended
}

/// The one file aiosmtpd stored for test `id`, checked to hold `sent` as the client must
/// have put it on the wire: CRLF only, dot-stuffing undone by the server.
fn aiosmtpd_stored(servers: &Servers, id: &str, sent: &[u8]) -> AiosmtpdMessage {
    let files = wait_for(&aiosmtpd_new(servers), id, 1);
    let stored = AiosmtpdMessage::parse(&files[0].bytes);
    assert_eq!(
        text(&stored.data),
        text(&crlf(sent)),
        "{}",
        files[0].path.display()
    );
    stored
}

/// Waits for Postfix to log that the message queued with `reply` came from a client that
/// authenticated with `mechanism`.
fn assert_sasl_logged(servers: &Servers, log_from: usize, reply: &Reply, mechanism: &str) {
    let queue_id = stored::queue_id(&reply.to_string());
    let wanted = format!("{queue_id}: client=localhost[127.0.0.1], sasl_method={mechanism},");
    stored::wait_for_log_line(&servers.postfix.log, log_from, &wanted, |line| {
        line.contains(&wanted)
    });
}

/// The reply code a transport error carries, if any.
fn reply_code(error: &Error) -> Option<u16> {
    let reply = match error {
        Error::AuthFailed { reply }
        | Error::Refused { reply, .. }
        | Error::ServiceClosing { reply, .. } => reply,
        Error::Rejected { failure } => match failure {
            TransactionFailure::MailRejected { reply }
            | TransactionFailure::DataRejected { reply, .. }
            | TransactionFailure::MessageRejected { reply, .. } => reply,
            TransactionFailure::AllRecipientsRejected { recipients } => &recipients.first()?.reply,
            _ => return None,
        },
        _ => return None,
    };
    Some(reply.code().get())
}

// ---------------------------------------------------------------------------------------
// The environment
// ---------------------------------------------------------------------------------------

#[test]
fn without_the_environment_tests_skip_unless_required() {
    let nothing = |_: &str| None;
    assert!(matches!(
        env::availability(Servers::from_lookup(nothing), false),
        Availability::Skip(_)
    ));
    match env::availability(Servers::from_lookup(nothing), true) {
        Availability::Fail(message) => {
            assert!(
                message.contains("SMTPWIRE_POSTFIX_ADDR is not set"),
                "{message}"
            );
            assert!(message.contains(env::REQUIRE_VAR), "{message}");
        }
        other => panic!("required but absent must fail: {other:?}"),
    }
    // Everything set, but one address is not on this machine: never used.
    let remote = |name: &str| {
        Some(match name {
            "SMTPWIRE_SINK_5XX_DOT_ADDR" => "192.0.2.1:25".to_owned(),
            n if n.ends_with("_ADDR") => "127.0.0.1:2525".to_owned(),
            _ => "value".to_owned(),
        })
    };
    match env::availability(Servers::from_lookup(remote), true) {
        Availability::Fail(message) => assert!(message.contains("not a loopback"), "{message}"),
        other => panic!("a remote address must be refused: {other:?}"),
    }
    let local = |name: &str| {
        Some(if name.ends_with("_ADDR") {
            "127.0.0.1:2525".to_owned()
        } else {
            "value".to_owned()
        })
    };
    match env::availability(Servers::from_lookup(local), true) {
        Availability::Ready(servers) => {
            assert_eq!(servers.sink(Sink::Dot5xx).port(), 2525);
            assert_eq!(servers.postfix.user, "value");
        }
        other => panic!("a complete environment is ready: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Plain text, STARTTLS, implicit TLS
// ---------------------------------------------------------------------------------------

#[test]
fn postfix_plain_text_delivers_and_shows_its_extensions() {
    let servers = servers!();
    let id = test_id("postfix-plain");
    let to = format!("plain@{}", servers.domain);
    let message = simple_message(&id, &sender(&servers), &to, "Hello in plain text.\r\n");
    let options = options(servers.postfix.addr, TlsPolicy::None, None);
    let delivery = send_one(&options, &sender(&servers), &[&to], &message, |c| {
        assert!(!c.is_tls());
        let caps = c.capabilities().expect("EHLO was answered");
        assert!(caps.starttls() && caps.pipelining() && caps.chunking());
        assert!(caps.smtputf8() && caps.eight_bit_mime() && caps.dsn());
        assert!(caps.enhanced_status_codes());
        assert_eq!(caps.size_limit(), Some(104_857_600));
        assert!(caps.auth_mechanisms().is_empty(), "AUTH only over TLS");
    });
    assert_eq!(delivery.reply.code().get(), 250);

    let received = postfix_stored(&servers, &id, &message).received;
    let from_line = format!("from {EHLO_NAME} (localhost [127.0.0.1])\n");
    assert!(received.starts_with(&from_line), "{received}");
    assert!(!received.contains("using TLS"), "{received}");
    assert!(received.contains(" with ESMTP id "), "{received}");
}

#[test]
fn postfix_starttls_required_verifies_the_test_ca() {
    let servers = servers!();
    let id = test_id("postfix-starttls");
    let to = format!("starttls@{}", servers.domain);
    let message = simple_message(&id, &sender(&servers), &to, "Over STARTTLS.\r\n");
    let ca = Some(servers.postfix.ca.as_path());
    let options = options(servers.postfix.addr, TlsPolicy::Required, ca);
    send_one(&options, &sender(&servers), &[&to], &message, |c| {
        assert!(c.is_tls());
        let caps = c.capabilities().expect("EHLO over TLS");
        assert!(!caps.starttls(), "after STARTTLS, no STARTTLS is offered");
        assert!(caps.auth_mechanisms().contains(&Mechanism::Plain));
        assert!(caps.auth_mechanisms().contains(&Mechanism::Login));
    });

    let received = postfix_stored(&servers, &id, &message).received;
    assert!(received.contains("(using TLSv1."), "{received}");
    assert!(received.contains(" with ESMTPS id "), "{received}");
}

/// Connects through a recording forwarder and returns the error and what the client sent.
fn failing_connect(
    upstream: SocketAddr,
    adjust: impl FnOnce(&mut ConnectOptions),
) -> (Error, Vec<u8>) {
    let forwarder = Forwarder::start(Plan::to(upstream).recorded());
    let mut options = options(forwarder.addr(), TlsPolicy::Required, None);
    adjust(&mut options);
    let error = Connection::connect(&options).expect_err("the connection must fail");
    (error, forwarder.bytes(0, Direction::ToServer))
}

#[test]
fn postfix_certificate_from_an_unknown_ca_or_for_another_name_fails_closed() {
    let servers = servers!();
    let credentials = password(&servers.postfix.user, &servers.postfix.password);

    // The web roots do not know the test CA.
    let (error, sent) = failing_connect(servers.postfix.addr, |o| {
        o.session.credentials = Some(credentials.clone());
    });
    match &error {
        Error::Tls {
            source: rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            interruption,
        } => assert_eq!(interruption.step, Step::TlsHandshake),
        other => panic!("expected an unknown issuer, got {other:?}"),
    }
    assert!(!error.is_reconnectable());
    assert!(contains(&sent, b"STARTTLS\r\n"));
    assert!(!contains(&sent, b"AUTH") && !contains(&sent, b"MAIL FROM"));

    // The right CA, but a name the certificate does not carry.
    let (error, sent) = failing_connect(servers.postfix.addr, |o| {
        o.tls = trust_ca(&servers.postfix.ca);
        o.tls_server_name = Some("mail.example.com".to_owned());
        o.session.credentials = Some(credentials.clone());
    });
    assert!(
        matches!(
            &error,
            Error::Tls {
                source: rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForName
                        | rustls::CertificateError::NotValidForNameContext { .. }
                ),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!contains(&sent, b"AUTH") && !contains(&sent, b"MAIL FROM"));
}

#[test]
fn tls_required_where_starttls_is_not_offered_stops_before_mail() {
    let servers = servers!();
    let (error, sent) = failing_connect(servers.sink(Sink::Accepting), |_| {});
    assert!(
        matches!(error, Error::TlsUnavailable { reply: None }),
        "{error:?}"
    );
    assert!(contains(&sent, b"EHLO "));
    assert!(!contains(&sent, b"STARTTLS") && !contains(&sent, b"MAIL FROM"));
    assert!(!contains(&sent, b"HELO "), "no fallback to HELO");
}

#[test]
fn credentials_are_not_sent_in_plain_text_although_the_server_offers_auth() {
    let servers = servers!();
    // smtp-sink announces AUTH PLAIN LOGIN without any TLS.
    let (error, sent) = failing_connect(servers.sink(Sink::Accepting), |o| {
        o.session.tls = TlsPolicy::Opportunistic;
        o.session.credentials = Some(password("smtpwire", "not-to-be-seen"));
    });
    assert!(matches!(error, Error::AuthRequiresTls), "{error:?}");
    assert!(!contains(&sent, b"AUTH") && !contains(&sent, b"MAIL FROM"));
    // Neither the password nor its base64 forms in PLAIN and LOGIN.
    for secret in [
        b"not-to-be-seen".as_slice(),
        b"bm90LXRvLWJlLXNlZW4",
        b"AHNtdHB3aXJlAG5vdC10by1iZS1zZWVu",
    ] {
        assert!(!contains(&sent, secret));
    }
}

#[test]
fn postfix_implicit_tls_with_auth_plain() {
    let servers = servers!();
    let id = test_id("postfix-smtps");
    let to = format!("smtps@{}", servers.domain);
    let message = simple_message(&id, &sender(&servers), &to, "Implicit TLS, PLAIN.\r\n");
    let ca = Some(servers.postfix.ca.as_path());
    let mut options = options(servers.postfix.smtps_addr, TlsPolicy::Implicit, ca);
    options.session.credentials = Some(password(&servers.postfix.user, &servers.postfix.password));
    let log_from = stored::log_len(&servers.postfix.log);
    let delivery = send_one(&options, &sender(&servers), &[&to], &message, |c| {
        assert!(c.is_tls());
        assert!(!c.capabilities().unwrap().starttls());
    });

    let received = postfix_stored(&servers, &id, &message).received;
    assert!(received.contains("(using TLSv1."), "{received}");
    assert!(
        received.contains("(Authenticated sender: smtpwire"),
        "{received}"
    );
    assert!(received.contains(" with ESMTPSA id "), "{received}");
    assert_sasl_logged(&servers, log_from, &delivery.reply, "PLAIN");
}

/// AUTH PLAIN to aiosmtpd at `addr` with `policy`; its record of the connection's TLS
/// starts with `tls`.
fn aiosmtpd_tls_with_auth_plain(servers: &Servers, addr: SocketAddr, policy: TlsPolicy, tls: &str) {
    let id = test_id("aiosmtpd-tls");
    let to = "someone@example.org";
    let message = simple_message(&id, &sender(servers), to, "TLS and AUTH PLAIN.\r\n");
    let mut options = options(addr, policy, Some(&servers.aiosmtpd.ca));
    options.session.credentials =
        Some(password(&servers.aiosmtpd.user, &servers.aiosmtpd.password));
    send_one(&options, &sender(servers), &[to], &message, |c| {
        assert!(c.is_tls());
    });

    let stored = aiosmtpd_stored(servers, &id, &message);
    assert!(stored.get("Tls").starts_with(tls), "{stored:?}");
    assert_eq!(stored.get("Auth"), servers.aiosmtpd.user);
    assert_eq!(stored.get("Helo"), EHLO_NAME);
}

#[test]
fn aiosmtpd_starttls_required_with_auth_plain() {
    let servers = servers!();
    let addr = servers.aiosmtpd.addr;
    aiosmtpd_tls_with_auth_plain(&servers, addr, TlsPolicy::Required, "starttls TLSv1.");
}

#[test]
fn aiosmtpd_implicit_tls_with_auth_plain() {
    let servers = servers!();
    let addr = servers.aiosmtpd.smtps_addr;
    aiosmtpd_tls_with_auth_plain(&servers, addr, TlsPolicy::Implicit, "implicit TLSv1.");
}

// ---------------------------------------------------------------------------------------
// AUTH through the mailer: PLAIN, LOGIN, a wrong password
// ---------------------------------------------------------------------------------------

#[test]
fn postfix_auth_plain_over_starttls_through_the_mailer() {
    let servers = servers!();
    let id = test_id("postfix-plain-auth");
    let to = format!("auth-plain@{}", servers.domain);
    let counters = Arc::new(Counters::new());
    let log_from = stored::log_len(&servers.postfix.log);
    let mut mailer = mailer(servers.postfix.addr, TlsPolicy::Required, &counters)
        .tls_config(trust_ca(&servers.postfix.ca))
        .credentials(password(&servers.postfix.user, &servers.postfix.password))
        .build();
    let message = simple_message(&id, &sender(&servers), &to, "AUTH PLAIN.\r\n");
    let report = mailer
        .send(&envelope(&sender(&servers), &[&to]), &message)
        .unwrap();
    assert_eq!((report.attempts, report.reconnects), (1, 0));
    assert!(mailer.connection().is_some_and(|c| c.is_tls()));
    mailer.close().unwrap();

    let received = postfix_stored(&servers, &id, &message).received;
    assert!(received.contains(" with ESMTPSA id "), "{received}");
    assert_sasl_logged(&servers, log_from, &report.reply, "PLAIN");
}

#[test]
fn postfix_auth_login_chosen_by_the_caller_over_starttls() {
    let servers = servers!();
    let id = test_id("postfix-login-chosen");
    let to = format!("auth-login-chosen@{}", servers.domain);
    let counters = Arc::new(Counters::new());
    let log_from = stored::log_len(&servers.postfix.log);
    // Postfix offers PLAIN and LOGIN; the caller's preference decides.
    let mut mailer = mailer(servers.postfix.addr, TlsPolicy::Required, &counters)
        .tls_config(trust_ca(&servers.postfix.ca))
        .credentials(password(&servers.postfix.user, &servers.postfix.password))
        .auth_mechanisms([smtpwire::auth::Mechanism::Login])
        .build();
    let message = simple_message(&id, &sender(&servers), &to, "AUTH LOGIN by choice.\r\n");
    let report = mailer
        .send(&envelope(&sender(&servers), &[&to]), &message)
        .unwrap();
    mailer.close().unwrap();
    let received = postfix_stored(&servers, &id, &message).received;
    assert!(received.contains(" with ESMTPSA id "), "{received}");
    assert_sasl_logged(&servers, log_from, &report.reply, "LOGIN");
}

/// A mailer that reaches the real server through `filter` (plain text on loopback, so AUTH
/// in plain text is allowed for it) with these credentials.
fn login_mailer(
    filter: &MechanismFilter,
    user: &str,
    secret: &str,
    counters: &Arc<Counters>,
) -> Mailer {
    mailer(filter.addr(), TlsPolicy::None, counters)
        .allow_plaintext_auth(true)
        .credentials(password(user, secret))
        .build()
}

#[test]
fn postfix_auth_login_when_only_login_is_offered() {
    let servers = servers!();
    let filter = MechanismFilter::start(servers.postfix.smtps_addr, &servers.postfix.ca, "LOGIN");
    let id = test_id("postfix-login");
    let to = format!("auth-login@{}", servers.domain);
    let counters = Arc::new(Counters::new());
    let log_from = stored::log_len(&servers.postfix.log);
    let (user, secret) = (&servers.postfix.user, &servers.postfix.password);
    let mut mailer = login_mailer(&filter, user, secret, &counters);
    let message = simple_message(&id, &sender(&servers), &to, "AUTH LOGIN.\r\n");
    let report = mailer
        .send(&envelope(&sender(&servers), &[&to]), &message)
        .unwrap();
    mailer.close().unwrap();
    assert!(filter.rewritten() >= 1);
    let sent = filter.client_bytes();
    assert!(contains(&sent, b"AUTH LOGIN\r\n"), "{}", text(&sent));
    assert!(!contains(&sent, b"AUTH PLAIN"));

    let received = postfix_stored(&servers, &id, &message).received;
    assert!(
        received.contains("(Authenticated sender: smtpwire"),
        "{received}"
    );
    assert_sasl_logged(&servers, log_from, &report.reply, "LOGIN");
}

#[test]
fn aiosmtpd_auth_login_when_only_login_is_offered() {
    let servers = servers!();
    let filter = MechanismFilter::start(servers.aiosmtpd.smtps_addr, &servers.aiosmtpd.ca, "LOGIN");
    let id = test_id("aiosmtpd-login");
    let counters = Arc::new(Counters::new());
    let (user, secret) = (&servers.aiosmtpd.user, &servers.aiosmtpd.password);
    let mut mailer = login_mailer(&filter, user, secret, &counters);
    let to = "someone@example.org";
    let message = simple_message(&id, &sender(&servers), to, "AUTH LOGIN.\r\n");
    mailer
        .send(&envelope(&sender(&servers), &[to]), &message)
        .unwrap();
    mailer.close().unwrap();
    assert!(contains(&filter.client_bytes(), b"AUTH LOGIN\r\n"));

    let stored = aiosmtpd_stored(&servers, &id, &message);
    assert_eq!(stored.get("Auth"), servers.aiosmtpd.user);
}

/// Checks that a send with a wrong password failed with a typed AUTH refusal that the mailer
/// did not retry; `connections` counts the TCP connections made.
fn assert_auth_refused_once(
    result: Result<SendReport, SendError>,
    counters: &Counters,
    connections: usize,
) {
    let error = result.expect_err("a wrong password must fail");
    assert!(matches!(error, SendError::NotRetried { .. }), "{error:?}");
    match error.transport_error() {
        Some(Error::AuthFailed { reply }) => assert_eq!(reply.code().get(), 535, "{reply}"),
        other => panic!("expected AuthFailed, got {other:?}"),
    }
    assert!(error.is_permanent());
    assert_eq!(error.attempts(), 1);
    assert_eq!(connections, 1, "not retried: one connection only");
    let counts = counters.snapshot();
    assert_eq!(
        (counts.attempts, counts.reconnects, counts.failed_sends),
        (1, 0, 1)
    );
    assert_eq!(counts.smtp_reply, 1);
}

#[test]
fn postfix_wrong_password_is_a_typed_auth_failure_that_is_not_retried() {
    let servers = servers!();
    let forwarder = Forwarder::start(Plan::to(servers.postfix.smtps_addr));
    let counters = Arc::new(Counters::new());
    let mut mailer = mailer(forwarder.addr(), TlsPolicy::Implicit, &counters)
        .tls_config(trust_ca(&servers.postfix.ca))
        .credentials(password(&servers.postfix.user, "wrong+password/="))
        .build();
    let to = format!("never@{}", servers.domain);
    let result = mailer.send(
        &envelope(&sender(&servers), &[&to]),
        &simple_message("none", &sender(&servers), &to, "x\r\n"),
    );
    assert_auth_refused_once(result, &counters, forwarder.connections());
}

#[test]
fn aiosmtpd_wrong_password_with_plain_and_with_login_is_not_retried() {
    let servers = servers!();
    let to = "never@example.org";
    let message = simple_message("none", &sender(&servers), to, "x\r\n");

    let forwarder = Forwarder::start(Plan::to(servers.aiosmtpd.smtps_addr));
    let counters = Arc::new(Counters::new());
    let mut mailer_plain = mailer(forwarder.addr(), TlsPolicy::Implicit, &counters)
        .tls_config(trust_ca(&servers.aiosmtpd.ca))
        .credentials(password(&servers.aiosmtpd.user, "wrong"))
        .build();
    let result = mailer_plain.send(&envelope(&sender(&servers), &[to]), &message);
    assert_auth_refused_once(result, &counters, forwarder.connections());

    let filter = MechanismFilter::start(servers.aiosmtpd.smtps_addr, &servers.aiosmtpd.ca, "LOGIN");
    let counters = Arc::new(Counters::new());
    let mut mailer_login = login_mailer(&filter, &servers.aiosmtpd.user, "wrong", &counters);
    let result = mailer_login.send(&envelope(&sender(&servers), &[to]), &message);
    assert_auth_refused_once(result, &counters, filter.connections());
    assert!(contains(&filter.client_bytes(), b"AUTH LOGIN\r\n"));
}

// ---------------------------------------------------------------------------------------
// Transactions: several recipients, many messages, a big one, SMTPUTF8
// ---------------------------------------------------------------------------------------

#[test]
fn postfix_several_recipients_some_refused() {
    let servers = servers!();
    let id = test_id("postfix-rcpts");
    let domain = &servers.domain;
    let good: Vec<String> = ["ann", "bob", "cid"]
        .iter()
        .map(|name| format!("{name}@{domain}"))
        .collect();
    let tempfail = format!("rcpt-tempfail@{domain}");
    let reject = format!("rcpt-reject@{domain}");
    // Postfix relays for nobody.
    let relay = "elsewhere@example.com".to_owned();
    let all = [&good[0], &tempfail, &good[1], &reject, &good[2], &relay].map(|s| s.as_str());
    let message = simple_message(&id, &sender(&servers), &good[0], "To several.\r\n");

    let mut connection =
        Connection::connect(&options(servers.postfix.addr, TlsPolicy::None, None)).unwrap();
    let delivery = connection
        .send_bytes(&envelope(&sender(&servers), &all), &message)
        .unwrap();
    let codes: Vec<u16> = delivery
        .recipients
        .iter()
        .map(|r| r.reply.code().get())
        .collect();
    assert_eq!(codes, [250, 450, 250, 550, 250, 554]);
    assert_eq!(delivery.recipients[1].address.as_str(), tempfail);
    // The connection is still good for the next message.
    assert!(connection.is_usable());
    connection.noop().unwrap();
    connection.close().unwrap();

    let files = wait_for(&postfix_new(&servers), &id, 3);
    let mut delivered_to = BTreeSet::new();
    for file in &files {
        let (prepended, stored) = split_postfix(&file.bytes);
        assert_eq!(stored, lf(&message));
        assert_eq!(prepended.original_to, prepended.delivered_to);
        delivered_to.insert(prepended.original_to);
    }
    assert_eq!(delivered_to, good.iter().cloned().collect());
}

#[test]
fn aiosmtpd_several_recipients_through_the_mailer() {
    let servers = servers!();
    let id = test_id("aiosmtpd-rcpts");
    let counters = Arc::new(Counters::new());
    let mut mailer = mailer(servers.aiosmtpd.addr, TlsPolicy::None, &counters).build();
    let to = [
        "one@example.org",
        "rcpt-tempfail@example.org",
        "two@example.net",
        "rcpt-reject@example.org",
    ];
    let message = simple_message(&id, &sender(&servers), to[0], "To several.\r\n");
    let report = mailer
        .send(&envelope(&sender(&servers), &to), &message)
        .unwrap();
    let accepted: Vec<&str> = report.accepted().map(|a| a.as_str()).collect();
    assert_eq!(accepted, ["one@example.org", "two@example.net"]);
    let refused: Vec<u16> = report.refused().map(|r| r.reply.code().get()).collect();
    assert_eq!(refused, [450, 550]);
    mailer.close().unwrap();

    let stored = aiosmtpd_stored(&servers, &id, &message);
    let rcpts: Vec<&str> = stored.all("Rcpt-To").collect();
    assert_eq!(rcpts, ["<one@example.org>", "<two@example.net>"]);
}

#[test]
fn postfix_hundred_messages_over_one_connection() {
    let servers = servers!();
    let id = test_id("postfix-hundred");
    let forwarder = Forwarder::start(Plan::to(servers.postfix.addr));
    let counters = Arc::new(Counters::new());
    let log_from = stored::log_len(&servers.postfix.log);
    let mut mailer = mailer(forwarder.addr(), TlsPolicy::Required, &counters)
        .tls_config(trust_ca(&servers.postfix.ca))
        .tls_server_name("localhost")
        .build();
    let to = format!("hundred@{}", servers.domain);
    for n in 0..100 {
        let message = Message::builder()
            .from(sender(&servers).parse().unwrap())
            .to(to.parse().unwrap())
            .subject(format!("message {n} of 100"))
            .header("X-Test-Id", &id)
            .unwrap()
            .header("X-Test-Seq", &n.to_string())
            .unwrap()
            .text_body(format!("This is message {n}.\n"))
            .build()
            .unwrap();
        let report = mailer.send_message(&message).unwrap();
        assert_eq!((report.attempts, report.reconnects), (1, 0));
    }
    mailer.close().unwrap();
    assert_eq!(forwarder.connections(), 1, "one TCP connection");
    let counts = counters.snapshot();
    assert_eq!((counts.connects, counts.successes), (1, 100));

    // Postfix's own count, for the session that carried them.
    stored::wait_for_log_line(&servers.postfix.log, log_from, "mail=100", |line| {
        line.contains("disconnect from")
            && line.contains(" starttls=1 ")
            && line.contains(" mail=100 ")
            && line.contains(" rcpt=100 ")
    });
    let files = wait_for(&postfix_new(&servers), &id, 100);
    let mut seen = BTreeSet::new();
    for file in &files {
        let (_, stored) = split_postfix(&file.bytes);
        let at = find(&stored, b"X-Test-Seq: ").expect("the sequence header") + 12;
        let end = at + find(&stored[at..], b"\n").unwrap();
        seen.insert(text(&stored[at..end]).parse::<u32>().unwrap());
    }
    assert_eq!(seen, (0..100).collect());
}

#[test]
fn aiosmtpd_hundred_messages_over_one_connection() {
    let servers = servers!();
    let id = test_id("aiosmtpd-hundred");
    let mut connection =
        Connection::connect(&options(servers.aiosmtpd.addr, TlsPolicy::None, None)).unwrap();
    let local = connection.get_ref().unwrap().local_addr().unwrap();
    let to = "hundred@example.org";
    let mut sent = Vec::new();
    for n in 0..100 {
        let message = simple_message(&id, &sender(&servers), to, &format!("Message {n}.\r\n"));
        connection
            .send_bytes(&envelope(&sender(&servers), &[to]), &message)
            .unwrap();
        sent.push(message);
    }
    connection.close().unwrap();

    let files = wait_for(&aiosmtpd_new(&servers), &id, 100);
    let mut received = Vec::new();
    for file in &files {
        let stored = AiosmtpdMessage::parse(&file.bytes);
        // The server saw every message come from the one client port.
        assert_eq!(stored.get("Peer"), local.to_string());
        received.push(stored.data);
    }
    received.sort();
    sent.sort();
    assert_eq!(received, sent);
}

/// 20 MiB (and a little): big enough that nothing can hold the whole message in one buffer
/// by accident.
const TWENTY_MB: u64 = 20 * 1024 * 1024;

/// All of a generated body, read once more.
fn all_of(body: &GeneratedBody) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(body.len() as usize);
    std::io::Read::read_to_end(&mut body.clone(), &mut bytes).unwrap();
    bytes
}

#[test]
fn postfix_twenty_megabytes_streamed_with_bdat_over_starttls() {
    let servers = servers!();
    let id = test_id("postfix-20mb");
    let to = format!("big@{}", servers.domain);
    let body = GeneratedBody::new(simple_message(&id, &sender(&servers), &to, ""), TWENTY_MB);
    let ca = Some(servers.postfix.ca.as_path());
    let mut options = options(servers.postfix.addr, TlsPolicy::Required, ca);
    options.deadline = Some(Instant::now() + BIG_CALL_LIMIT);
    let mut connection = Connection::connect(&options).unwrap();
    // The exact size is known, so it goes as one `BDAT n LAST`, read in pieces.
    let info = BodyInfo {
        wire_size: Some(body.len()),
        eight_bit: Some(false),
        smtputf8: false,
    };
    connection
        .send(&envelope(&sender(&servers), &[&to]), body.clone(), info)
        .unwrap();
    connection.close().unwrap();

    let file = &wait_for(&postfix_new(&servers), &id, 1)[0];
    let (_, stored) = split_postfix(&file.bytes);
    let expected = lf(&all_of(&body));
    assert_eq!(stored.len(), expected.len());
    assert!(stored == expected, "the stored message differs");
}

#[test]
fn aiosmtpd_twenty_megabytes_streamed_with_data_through_the_mailer() {
    let servers = servers!();
    let id = test_id("aiosmtpd-20mb");
    let to = "big@example.org";
    let body = GeneratedBody::new(simple_message(&id, &sender(&servers), to, ""), TWENTY_MB);
    let counters = Arc::new(Counters::new());
    let mut mailer = mailer(servers.aiosmtpd.addr, TlsPolicy::None, &counters)
        .send_deadline(BIG_CALL_LIMIT)
        .build();
    let report = mailer
        .send_stream(&envelope(&sender(&servers), &[to]), body.clone())
        .unwrap();
    assert_eq!(report.attempts, 1);
    mailer.close().unwrap();

    let file = &wait_for(&aiosmtpd_new(&servers), &id, 1)[0];
    let stored = AiosmtpdMessage::parse(&file.bytes);
    let expected = all_of(&body);
    assert_eq!(stored.data.len(), expected.len());
    // Every seventh line starts with a dot: stuffed on the wire, unstuffed by the server.
    assert!(stored.data == expected, "the stored message differs");
}

#[test]
fn postfix_smtputf8_addresses_and_header() {
    let servers = servers!();
    let id = test_id("postfix-utf8");
    let from = format!("absender.grüße@{}", servers.domain);
    let to = format!("empfänger@{}", servers.domain);
    let forwarder = Forwarder::start(Plan::to(servers.postfix.addr).recorded());
    let message = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: Grüße aus Köln\r\nX-Test-Id: {id}\r\n\r\n\
         UTF-8 header, 8-bit body: ü.\r\n"
    )
    .into_bytes();
    let options = options(forwarder.addr(), TlsPolicy::None, None);
    send_one(&options, &from, &[&to], &message, |_| {});

    let sent = forwarder.bytes(0, Direction::ToServer);
    let mail = format!("MAIL FROM:<{from}>");
    let at = find(&sent, mail.as_bytes()).expect("MAIL FROM with the UTF-8 address");
    let line_end = at + find(&sent[at..], b"\r\n").unwrap();
    let line = text(&sent[at..line_end]);
    assert!(line.contains(" SMTPUTF8"), "{line}");
    assert!(line.contains(" BODY=8BITMIME"), "{line}");

    let prepended = postfix_stored(&servers, &id, &message);
    assert_eq!(prepended.original_to, to);
    assert_eq!(prepended.return_path, format!("<{from}>"));
}

#[test]
fn aiosmtpd_smtputf8_is_announced_in_mail_from() {
    let servers = servers!();
    let id = test_id("aiosmtpd-utf8");
    let to = "empfänger@example.org";
    let message = simple_message(&id, &sender(&servers), to, "8-bit: ü\r\n");
    let options = options(servers.aiosmtpd.addr, TlsPolicy::None, None);
    send_one(&options, &sender(&servers), &[to], &message, |_| {});

    let stored = aiosmtpd_stored(&servers, &id, &message);
    let options: BTreeSet<&str> = stored.get("Mail-Options").split(' ').collect();
    assert!(options.contains("SMTPUTF8"), "{options:?}");
    assert!(options.contains("BODY=8BITMIME"), "{options:?}");
    assert_eq!(stored.get("Rcpt-To"), format!("<{to}>"));
}

#[test]
fn smtputf8_where_not_offered_is_refused_before_anything_is_sent() {
    let servers = servers!();
    let forwarder = Forwarder::start(Plan::to(servers.sink(Sink::Accepting)).recorded());
    let mut connection =
        Connection::connect(&options(forwarder.addr(), TlsPolicy::None, None)).unwrap();
    assert!(!connection.capabilities().unwrap().smtputf8());
    let to = "empfänger@example.org";
    let error = connection
        .send_bytes(&envelope(SINK_FROM, &[to]), b"Subject: x\r\n\r\nx\r\n")
        .expect_err("smtp-sink does not offer SMTPUTF8");
    assert!(
        matches!(error, Error::Usage(UsageError::SmtpUtf8Unsupported)),
        "{error:?}"
    );
    let sent = forwarder.bytes(0, Direction::ToServer);
    assert!(!contains(&sent, b"MAIL FROM"));
    // The connection is still usable.
    sink_send(&mut connection, "ascii").unwrap();
    connection.close().unwrap();
}

#[test]
fn postfix_dsn_parameters_come_back_in_its_delivery_report() {
    let servers = servers!();
    let id = test_id("postfix-dsn");
    let from = format!("dsn-sender@{}", servers.domain);
    let to = format!("dsn-rcpt@{}", servers.domain);
    // `+`, `=` and spaces must go as xtext; Postfix decodes them for the report.
    let envid = format!("envid+{id}= with spaces");
    let mut envelope = envelope(&from, &[&to]);
    envelope.notify = Notify::on(true, true, false);
    envelope.ret = Some(DsnReturn::Headers);
    envelope.envid = Some(EnvelopeId::new(&envid).unwrap());
    let message = simple_message(&id, &from, &to, "Tell me when it arrives.\r\n");
    let mut connection =
        Connection::connect(&options(servers.postfix.addr, TlsPolicy::None, None)).unwrap();
    connection.send_bytes(&envelope, &message).unwrap();
    connection.close().unwrap();

    // The message, and the success report to the sender, which returns its header.
    let files = wait_for(&postfix_new(&servers), &id, 2);
    let (reports, messages): (Vec<_>, Vec<_>) = files
        .iter()
        .map(|file| split_postfix(&file.bytes))
        .partition(|(prepended, _)| prepended.return_path == "<>");
    assert_eq!((reports.len(), messages.len()), (1, 1));
    assert_eq!(messages[0].1, lf(&message));
    let report = text(&reports[0].1).into_owned();
    assert_eq!(reports[0].0.original_to, from);
    for expected in [
        format!("Original-Envelope-Id: {envid}"),
        format!("Final-Recipient: rfc822; {to}"),
        "Action: delivered".to_owned(),
        "Content-Type: text/rfc822-headers".to_owned(),
    ] {
        assert!(report.contains(&expected), "{expected:?} not in {report}");
    }
}

#[test]
fn postfix_size_limit_is_honoured_before_anything_is_sent() {
    let servers = servers!();
    let forwarder = Forwarder::start(Plan::to(servers.postfix.addr).recorded());
    let mut connection =
        Connection::connect(&options(forwarder.addr(), TlsPolicy::None, None)).unwrap();
    let to = format!("big@{}", servers.domain);
    let huge = GeneratedBody::new(Vec::new(), 200 * 1024 * 1024);
    let info = BodyInfo {
        wire_size: Some(huge.len()),
        eight_bit: Some(false),
        smtputf8: false,
    };
    let error = connection
        .send(&envelope(&sender(&servers), &[&to]), huge, info)
        .expect_err("over Postfix's SIZE");
    match error {
        Error::Usage(UsageError::MessageTooLarge { size, limit }) => {
            assert_eq!(limit, 104_857_600);
            assert!(size > limit);
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    assert!(!contains(
        &forwarder.bytes(0, Direction::ToServer),
        b"MAIL FROM"
    ));
    assert!(connection.is_usable());
    connection.close().unwrap();
}

#[test]
fn aiosmtpd_takes_a_998_octet_line_and_a_999_octet_one_is_refused_before_sending() {
    let servers = servers!();
    let id = test_id("aiosmtpd-998");
    let to = "long@example.org";
    let mut connection =
        Connection::connect(&options(servers.aiosmtpd.addr, TlsPolicy::None, None)).unwrap();
    let envelope = envelope(&sender(&servers), &[to]);
    let too_long = simple_message("never", &sender(&servers), to, &"y".repeat(999));
    let error = connection
        .send_bytes(&envelope, &too_long)
        .expect_err("999 octets is over RFC 5321's limit");
    assert!(matches!(error, Error::LineTooLong(_)), "{error:?}");
    // Nothing was sent: the connection takes the next message.
    let longest = simple_message(&id, &sender(&servers), to, &"x".repeat(998));
    connection.send_bytes(&envelope, &longest).unwrap();
    connection.close().unwrap();
    aiosmtpd_stored(&servers, &id, &longest);
}

// ---------------------------------------------------------------------------------------
// PIPELINING on and off, CHUNKING (BDAT) and DATA
// ---------------------------------------------------------------------------------------

/// What happened on connection `connection` up to the DATA command: each command line the
/// client sent, and `None` for each chunk of replies.
fn commands_and_replies(chunks: &[Chunk], connection: usize) -> Vec<Option<String>> {
    let mut events = Vec::new();
    for chunk in chunks.iter().filter(|c| c.connection == connection) {
        match chunk.direction {
            Direction::ToClient => events.push(None),
            Direction::ToServer => {
                for line in chunk.bytes.split_inclusive(|&b| b == b'\n') {
                    events.push(Some(text(line).trim_end().to_owned()));
                }
            }
        }
        if events.iter().any(|e| e.as_deref() == Some("DATA")) {
            break;
        }
    }
    events
}

/// The positions of MAIL, every RCPT and DATA in `events`.
fn transaction_commands(events: &[Option<String>]) -> Vec<usize> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.as_deref().is_some_and(|c| {
                c.starts_with("MAIL FROM:") || c.starts_with("RCPT TO:") || c == "DATA"
            })
        })
        .map(|(i, _)| i)
        .collect()
}

/// Sends a message to two recipients through a recording forwarder to `upstream` and
/// returns the conversation up to DATA.
fn two_recipients_conversation(upstream: SocketAddr, label: &str) -> Vec<Option<String>> {
    let forwarder = Forwarder::start(Plan::to(upstream).recorded());
    let to = ["one@example.org", "two@example.org"];
    let message = simple_message(&test_id(label), SINK_FROM, to[0], "Pipelined?\r\n");
    let options = options(forwarder.addr(), TlsPolicy::None, None);
    let delivery = send_one(&options, SINK_FROM, &to, &message, |_| {});
    assert_eq!(delivery.recipients.len(), 2);
    commands_and_replies(&forwarder.chunks(), 0)
}

#[test]
fn pipelining_on_sends_mail_rcpt_and_data_in_one_flight() {
    let servers = servers!();
    let events = two_recipients_conversation(servers.sink(Sink::Accepting), "pipelining");
    let commands = transaction_commands(&events);
    assert_eq!(commands.len(), 4, "{events:?}");
    assert!(
        events[commands[0]..=commands[3]]
            .iter()
            .all(Option::is_some),
        "no reply may come between MAIL and DATA when pipelining: {events:?}"
    );
}

#[test]
fn pipelining_off_waits_for_each_reply() {
    let servers = servers!();
    let events = two_recipients_conversation(servers.sink(Sink::NoPipelining), "no-pipelining");
    let commands = transaction_commands(&events);
    assert_eq!(commands.len(), 4, "{events:?}");
    for pair in commands.windows(2) {
        assert!(
            events[pair[0]..pair[1]].iter().any(Option::is_none),
            "without PIPELINING every command waits for the previous reply: {events:?}"
        );
    }
}

/// A body that tries everything a line-ending or dot-stuffing bug would mishandle, smuggling
/// attempts included (RFC 5321 allows none of these bare forms on the wire).
fn tricky_message(id: &str, from: &str, to: &str) -> Vec<u8> {
    let mut message = simple_message(id, from, to, "");
    message.extend_from_slice(
        b".a line starting with a dot\r\n\
          ..two dots\r\n\
          .\r\n\
          a bare LF\nand a bare CR\rin the middle\r\n\
          smuggling one\n.\nMAIL FROM:<evil@example.org>\r\n\
          smuggling two\r\n.\rRCPT TO:<evil@example.org>\r\n\
          smuggling three\r.\r\n\
          smuggling four\r\n.\r\r\nDATA\r\n\
          .\n\
          the last line has no line ending",
    );
    message
}

#[test]
fn aiosmtpd_stores_crlf_and_dot_stuffed_data_exactly() {
    let servers = servers!();
    let id = test_id("aiosmtpd-dots");
    let to = "dots@example.org";
    let message = tricky_message(&id, &sender(&servers), to);
    let forwarder = Forwarder::start(Plan::to(servers.aiosmtpd.addr).recorded());
    let options = options(forwarder.addr(), TlsPolicy::None, None);
    send_one(&options, &sender(&servers), &[to], &message, |_| {});

    // aiosmtpd keeps line endings as received and undoes dot-stuffing.
    let stored = aiosmtpd_stored(&servers, &id, &message);
    assert!(!wire::has_bare_line_ending(&stored.data));

    // On the wire: CRLF only, every leading dot doubled, one end marker.
    let sent = forwarder.bytes(0, Direction::ToServer);
    assert!(!wire::has_bare_line_ending(&sent));
    let data_at = find(&sent, b"\r\nDATA\r\n").expect("DATA") + 8;
    let stuffed = dot_stuffed(&crlf(&message));
    assert_eq!(
        text(&sent[data_at..data_at + stuffed.len()]),
        text(&stuffed)
    );
    assert_eq!(count(&sent, b"\r\n.\r\n"), 1, "only the end marker");
    assert!(sent[data_at + stuffed.len()..].starts_with(b"QUIT\r\n"));
}

#[test]
fn postfix_bdat_carries_dots_and_line_endings_unstuffed() {
    let servers = servers!();
    let id = test_id("postfix-bdat");
    let to = format!("bdat@{}", servers.domain);
    let message = tricky_message(&id, &sender(&servers), &to);
    let forwarder = Forwarder::start(Plan::to(servers.postfix.addr).recorded());
    let options = options(forwarder.addr(), TlsPolicy::None, None);
    send_one(&options, &sender(&servers), &[&to], &message, |_| {});

    let expected = crlf(&message);
    let sent = forwarder.bytes(0, Direction::ToServer);
    let bdat = format!("BDAT {} LAST\r\n", expected.len());
    let at = find(&sent, bdat.as_bytes()).expect("one BDAT LAST with the exact size") + bdat.len();
    assert_eq!(text(&sent[at..at + expected.len()]), text(&expected));
    // No DATA command (the body itself holds a line "DATA").
    assert!(!contains(&sent[..at], b"\r\nDATA\r\n"));
    postfix_stored(&servers, &id, &message);
}

#[test]
fn postfix_data_when_the_size_is_unknown() {
    let servers = servers!();
    let id = test_id("postfix-data");
    let to = format!("data@{}", servers.domain);
    let message = tricky_message(&id, &sender(&servers), &to);
    let forwarder = Forwarder::start(Plan::to(servers.postfix.addr).recorded());
    let mut connection =
        Connection::connect(&options(forwarder.addr(), TlsPolicy::None, None)).unwrap();
    let info = BodyInfo {
        wire_size: None,
        eight_bit: Some(false),
        smtputf8: false,
    };
    let envelope = envelope(&sender(&servers), &[&to]);
    connection
        .send(&envelope, message.as_slice(), info)
        .unwrap();
    connection.close().unwrap();

    let sent = forwarder.bytes(0, Direction::ToServer);
    assert!(contains(&sent, b"\r\nDATA\r\n") && !contains(&sent, b"BDAT"));
    assert_eq!(count(&sent, b"\r\n.\r\n"), 1, "only the end marker");
    // Had any of the smuggling lines ended the message, Postfix would hold a different one
    // (and a second transaction).
    postfix_stored(&servers, &id, &message);
}

// ---------------------------------------------------------------------------------------
// Postfix stored what was sent, byte for byte
// ---------------------------------------------------------------------------------------

#[test]
fn postfix_stores_the_composed_message_byte_for_byte() {
    let servers = servers!();
    let id = test_id("postfix-exact");
    let domain = &servers.domain;
    let from = sender(&servers);
    let (to, cc, bcc) = (
        format!("exact.to@{domain}"),
        format!("exact.cc@{domain}"),
        format!("exact.bcc@{domain}"),
    );
    let body = ".starts with a dot\n..two\n.\nFrom the start of a line\na long line: ".to_owned()
        + &"0123456789 ".repeat(30)
        + "\nunicode: €, ü, 😀\n\ntrailing spaces   \nlast line";
    let message = Message::builder()
        .from(format!("Sänder Test <{from}>").parse().unwrap())
        .to(format!("To Person <{to}>").parse().unwrap())
        .cc(cc.parse().unwrap())
        .bcc(bcc.parse().unwrap())
        .subject("Grüße, and a subject long enough that the composer folds it over two lines")
        .header("X-Test-Id", &id)
        .unwrap()
        .text_body(body)
        .build()
        .unwrap();
    let counters = Arc::new(Counters::new());
    let mut mailer = mailer(servers.postfix.addr, TlsPolicy::Required, &counters)
        .tls_config(trust_ca(&servers.postfix.ca))
        .credentials(password(&servers.postfix.user, &servers.postfix.password))
        .build();
    let report = mailer.send_message(&message).unwrap();
    assert_eq!(report.accepted().count(), 3);
    mailer.close().unwrap();
    let queue_id = stored::queue_id(&report.reply.to_string());

    let files = wait_for(&postfix_new(&servers), &id, 3);
    let mut recipients = BTreeSet::new();
    for file in &files {
        let (prepended, stored) = split_postfix(&file.bytes);
        // Everything after the four fields Postfix prepends is the message as sent, with
        // LF line endings.
        let path = file.path.display();
        assert_eq!(text(&stored), text(&lf(message.as_bytes())), "{path}");
        assert!(stored == lf(message.as_bytes()));
        assert_eq!(prepended.return_path, format!("<{from}>"));
        assert_eq!(prepended.original_to, prepended.delivered_to);
        let received = &prepended.received;
        let from_line = format!("from {EHLO_NAME} (localhost [127.0.0.1])\n");
        assert!(received.starts_with(&from_line), "{received}");
        assert!(received.contains("\t(using TLSv1."), "{received}");
        assert!(
            received.contains("\t(Authenticated sender: smtpwire"),
            "{received}"
        );
        // With several recipients Postfix writes no `for <recipient>` clause.
        let by = format!("\tby localhost (Postfix) with ESMTPSA id {queue_id};\n");
        assert!(received.contains(&by), "{received}");
        recipients.insert(prepended.original_to);
    }
    assert_eq!(recipients, BTreeSet::from([to, cc, bcc.clone()]));
    // Bcc went in the envelope only.
    assert!(!contains(message.as_bytes(), bcc.as_bytes()));
}

// ---------------------------------------------------------------------------------------
// smtp-sink faults: the mailer reconnects, counts, and does not retry refusals
// ---------------------------------------------------------------------------------------

/// What one send through faults came to.
struct FaultRun {
    id: String,
    result: Result<SendReport, SendError>,
    counts: CountersSnapshot,
    /// TCP connections the mailer opened.
    connections: usize,
}

/// Sends one message through a forwarder whose first `cuts` connections go to `faulty` and
/// later ones to the accepting sink.
fn send_through_faults(
    servers: &Servers,
    faulty: Sink,
    cuts: usize,
    unknown_outcome: UnknownOutcome,
) -> FaultRun {
    let forwarder = Forwarder::start(Plan::faulty_then(
        servers.sink(faulty),
        cuts,
        servers.sink(Sink::Accepting),
    ));
    let counters = Arc::new(Counters::new());
    let mut mailer = mailer(forwarder.addr(), TlsPolicy::None, &counters)
        .unknown_outcome(unknown_outcome)
        .build();
    let id = test_id(&format!("{faulty:?}"));
    let to = "faults@example.org";
    let message = simple_message(&id, SINK_FROM, to, "Through faults.\r\n");
    let result = mailer.send(&envelope(SINK_FROM, &[to]), &message);
    let _ = mailer.close();
    FaultRun {
        id,
        result,
        counts: counters.snapshot(),
        connections: forwarder.connections(),
    }
}

/// How the faulty sink cuts the conversation.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// A 421 reply, then close.
    ServiceClosing,
    /// A close without a reply (the client sees end of stream, or a reset).
    Lost,
}

/// The mailer recovers from `cuts` connections to `faulty`: delivered to the accepting sink
/// on attempt `cuts + 1` over TCP connection `cuts + 1`, every cut counted by the observer,
/// the first redial immediate and the next ones after a backoff wait.
///
/// A connection cut during a transaction had been ready, so each cut is followed by one
/// reconnection; one cut at the greeting never became ready, so however many there were,
/// only the last, good connection counts as opened (and as the one reconnection). A cut
/// after the final dot makes each resend a possible duplicate.
fn assert_recovers(faulty: Sink, cuts: usize, cut: Cut) {
    let Some(servers) = env::servers() else {
        return;
    };
    let run = send_through_faults(&servers, faulty, cuts, UnknownOutcome::Resend);
    let report = run
        .result
        .unwrap_or_else(|e| panic!("{faulty:?}: not recovered: {e:?}"));
    let (counts, cuts) = (run.counts, cuts as u64);
    let at_greeting = matches!(faulty, Sink::Greeting421 | Sink::GreetingDisconnect);
    let after_dot = matches!(faulty, Sink::Dot421 | Sink::DotDisconnect);
    let (opened, reconnects) = if at_greeting {
        (1, 1)
    } else {
        (cuts + 1, cuts)
    };
    assert_eq!(
        run.connections as u64,
        cuts + 1,
        "{faulty:?}: TCP connections"
    );
    assert_eq!(u64::from(report.attempts), cuts + 1, "{faulty:?}");
    assert_eq!(u64::from(report.reconnects), reconnects, "{faulty:?}");
    assert_eq!(report.possible_duplicate, after_dot, "{faulty:?}");
    assert_eq!(counts.attempts, cuts + 1, "{faulty:?}");
    assert_eq!(counts.connects, opened, "{faulty:?}");
    assert_eq!(counts.reconnects, reconnects, "{faulty:?}");
    assert_eq!(
        counts.sleeps,
        cuts - 1,
        "{faulty:?}: the first redial is immediate"
    );
    assert_eq!(
        (counts.successes, counts.failed_sends),
        (1, 0),
        "{faulty:?}"
    );
    let duplicates = if after_dot { cuts } else { 0 };
    assert_eq!(counts.possible_duplicates, duplicates, "{faulty:?}");
    match cut {
        Cut::ServiceClosing => assert_eq!(counts.service_closing, cuts, "{faulty:?}"),
        Cut::Lost => assert_eq!(counts.eof + counts.reset, cuts, "{faulty:?}"),
    }
    // The message reached the accepting sink (the faulty ones store nothing).
    wait_for(&servers.sink_dump_dir, &run.id, 1);
}

#[test]
fn mailer_recovers_from_421_at_the_greeting() {
    assert_recovers(Sink::Greeting421, 2, Cut::ServiceClosing);
}

#[test]
fn mailer_recovers_from_a_disconnect_at_the_greeting() {
    assert_recovers(Sink::GreetingDisconnect, 1, Cut::Lost);
}

#[test]
fn mailer_recovers_from_421_at_mail() {
    assert_recovers(Sink::Mail421, 2, Cut::ServiceClosing);
}

#[test]
fn mailer_recovers_from_a_disconnect_at_mail() {
    assert_recovers(Sink::MailDisconnect, 1, Cut::Lost);
}

#[test]
fn mailer_recovers_from_421_at_rcpt() {
    assert_recovers(Sink::Rcpt421, 1, Cut::ServiceClosing);
}

#[test]
fn mailer_resends_after_421_at_the_final_dot_as_a_possible_duplicate() {
    assert_recovers(Sink::Dot421, 1, Cut::ServiceClosing);
}

#[test]
fn mailer_resends_after_a_disconnect_at_the_final_dot_as_a_possible_duplicate() {
    assert_recovers(Sink::DotDisconnect, 1, Cut::Lost);
}

#[test]
fn mailer_set_to_send_at_most_once_reports_the_unknown_outcome() {
    let servers = servers!();
    let run = send_through_faults(&servers, Sink::Dot421, 1, UnknownOutcome::Fail);
    let error = run.result.expect_err("the outcome is unknown");
    assert!(
        matches!(error, SendError::OutcomeUnknown { .. }),
        "{error:?}"
    );
    assert!(error.may_have_been_delivered());
    let interruption = error
        .transport_error()
        .and_then(Error::interruption)
        .expect("where it was cut");
    assert_eq!(interruption.step, Step::FinalReply);
    assert_eq!(interruption.fate, MessageFate::Unknown);
    assert_eq!(error.attempts(), 1);
    assert_eq!(run.connections, 1);
    assert_eq!((run.counts.reconnects, run.counts.failed_sends), (0, 1));
}

#[test]
fn mailer_gives_up_after_its_attempts_when_every_connection_fails() {
    let servers = servers!();
    let run = send_through_faults(&servers, Sink::Mail421, 100, UnknownOutcome::Resend);
    let error = run.result.expect_err("every connection fails");
    assert!(matches!(error, SendError::GaveUp { .. }), "{error:?}");
    assert_eq!(error.attempts(), 5);
    assert_eq!(run.connections, 5);
    assert_eq!((run.counts.attempts, run.counts.service_closing), (5, 5));
    assert!(!error.may_have_been_delivered());
}

/// One send to `faulty`, which refuses with `code`: a typed refusal, transient or not as
/// the code says, not retried, over one connection. Returns the transport error.
fn assert_refused_once(servers: &Servers, faulty: Sink, code: u16) -> Error {
    let run = send_through_faults(servers, faulty, 1000, UnknownOutcome::Resend);
    let error = run.result.expect_err("smtp-sink refuses");
    assert!(
        matches!(error, SendError::NotRetried { .. }),
        "{faulty:?}: {error:?}"
    );
    assert_eq!(error.attempts(), 1, "{faulty:?}");
    assert_eq!(run.connections, 1, "{faulty:?}: not retried");
    assert_eq!(
        (run.counts.reconnects, run.counts.smtp_reply),
        (0, 1),
        "{faulty:?}"
    );
    assert_eq!(error.is_transient(), code < 500, "{faulty:?}");
    assert_eq!(error.is_permanent(), code >= 500, "{faulty:?}");
    assert!(!error.may_have_been_delivered());
    let SendError::NotRetried { error, .. } = error else {
        unreachable!("checked above");
    };
    assert_eq!(reply_code(&error), Some(code), "{faulty:?}: {error:?}");
    error
}

#[test]
fn refusals_at_rcpt_are_typed_and_not_retried() {
    let servers = servers!();
    for (sink, code) in [(Sink::Rcpt4xx, 450), (Sink::Rcpt5xx, 500)] {
        let error = assert_refused_once(&servers, sink, code);
        assert!(
            matches!(
                error,
                Error::Rejected {
                    failure: TransactionFailure::AllRecipientsRejected { .. }
                }
            ),
            "{error:?}"
        );
    }
}

#[test]
fn refusals_at_mail_data_and_the_final_dot_are_typed_and_not_retried() {
    let servers = servers!();
    for (sink, code) in [
        (Sink::Mail4xx, 450),
        (Sink::Mail5xx, 500),
        (Sink::Data5xx, 500),
        (Sink::Dot4xx, 450),
        (Sink::Dot5xx, 500),
    ] {
        let Error::Rejected { failure } = assert_refused_once(&servers, sink, code) else {
            panic!("{sink:?}: not a refused transaction");
        };
        let right_kind = match sink {
            Sink::Mail4xx | Sink::Mail5xx => {
                matches!(failure, TransactionFailure::MailRejected { .. })
            }
            Sink::Data5xx => matches!(failure, TransactionFailure::DataRejected { .. }),
            _ => matches!(failure, TransactionFailure::MessageRejected { .. }),
        };
        assert!(right_kind, "{sink:?}: {failure:?}");
    }
}

#[test]
fn refused_greetings_are_typed_and_not_retried() {
    let servers = servers!();
    for (sink, code) in [(Sink::Greeting4xx, 450), (Sink::Greeting5xx, 500)] {
        let error = assert_refused_once(&servers, sink, code);
        assert!(
            matches!(
                error,
                Error::Refused {
                    step: Step::Greeting,
                    ..
                }
            ),
            "{error:?}"
        );
    }
}

#[test]
fn delayed_replies_finish_within_the_timeouts() {
    let servers = servers!();
    for sink in [
        Sink::GreetingDelay,
        Sink::MailDelay,
        Sink::DataDelay,
        Sink::DotDelay,
    ] {
        // smtp-sink answers pipelined commands out of order while it delays MAIL (see
        // `smtp_sink_delaying_a_pipelined_mail_answers_out_of_order`): these go one by one.
        let forwarder = Forwarder::start(Plan::to(servers.sink(sink)).without_pipelining());
        let counters = Arc::new(Counters::new());
        let mut mailer = mailer(forwarder.addr(), TlsPolicy::None, &counters).build();
        let to = "slow@example.org";
        let message = simple_message("delayed", SINK_FROM, to, "Slowly.\r\n");
        let report = mailer
            .send(&envelope(SINK_FROM, &[to]), &message)
            .unwrap_or_else(|e| panic!("{sink:?}: {e:?}"));
        let pipelining = mailer
            .connection()
            .map(|c| c.capabilities().unwrap().pipelining());
        assert_eq!(pipelining, Some(false));
        assert_eq!(report.attempts, 1, "{sink:?}");
        assert_eq!(counters.snapshot().timeout, 0, "{sink:?}");
        mailer.close().unwrap();
        assert_eq!(forwarder.connections(), 1);
    }
}

/// smtp-sink `-W MAIL:1` with PIPELINING: it answers the pipelined RCPT and DATA at once
/// (`503 need MAIL command`, `503 need RCPT command`) and MAIL's `250` a second later. The
/// client takes the first reply as MAIL's, as it must, and stops with a typed refusal at
/// once, without waiting for anything more and without retrying.
#[test]
fn smtp_sink_delaying_a_pipelined_mail_answers_out_of_order() {
    let servers = servers!();
    let forwarder = Forwarder::start(Plan::to(servers.sink(Sink::MailDelay)).recorded());
    let counters = Arc::new(Counters::new());
    let mut mailer = mailer(forwarder.addr(), TlsPolicy::None, &counters).build();
    let to = "slow@example.org";
    let message = simple_message("pipelined-delay", SINK_FROM, to, "x\r\n");
    let error = mailer
        .send(&envelope(SINK_FROM, &[to]), &message)
        .expect_err("the first reply is a 503");
    drop(mailer);
    assert!(matches!(error, SendError::NotRetried { .. }), "{error:?}");
    match error.transport_error() {
        Some(Error::Rejected {
            failure: TransactionFailure::MailRejected { reply },
        }) => {
            assert_eq!(reply.code().get(), 503);
            assert!(reply.to_string().contains("need MAIL command"), "{reply}");
        }
        other => panic!("expected MAIL refused with 503, got {other:?}"),
    }
    assert_eq!((forwarder.connections(), error.attempts()), (1, 1));
    let events = commands_and_replies(&forwarder.chunks(), 0);
    let commands = transaction_commands(&events);
    assert!(
        events[commands[0]..=commands[2]]
            .iter()
            .all(Option::is_some),
        "MAIL, RCPT and DATA went in one flight: {events:?}"
    );
}

#[test]
fn a_reply_slower_than_its_deadline_is_a_typed_timeout() {
    let servers = servers!();
    // smtp-sink sleeps 1 s before these replies; the deadlines are far shorter.
    let mut greeting = options(servers.sink(Sink::GreetingDelay), TlsPolicy::None, None);
    greeting.session.timeouts.greeting = Duration::from_millis(200);
    let error = Connection::connect(&greeting).expect_err("the greeting is late");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert_eq!(error.step(), Some(Step::Greeting));
    assert!(error.is_reconnectable());

    let mut dot = options(servers.sink(Sink::DotDelay), TlsPolicy::None, None);
    dot.session.timeouts = Timeouts {
        data_final: Duration::from_millis(200),
        ..Timeouts::all(Duration::from_secs(15))
    };
    let mut connection = Connection::connect(&dot).unwrap();
    let error = sink_send(&mut connection, "late-dot").expect_err("the final reply is late");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    let interruption = error.interruption().expect("where it was cut");
    assert_eq!(interruption.step, Step::FinalReply);
    assert_eq!(interruption.fate, MessageFate::Unknown);
    assert_eq!(interruption.unresolved.len(), 1);
    assert!(!connection.is_usable());
}

#[test]
fn without_esmtp_the_client_falls_back_to_helo() {
    let servers = servers!();
    let forwarder = Forwarder::start(Plan::to(servers.sink(Sink::NoEsmtp)).recorded());
    let mut connection =
        Connection::connect(&options(forwarder.addr(), TlsPolicy::None, None)).unwrap();
    let delivery = sink_send(&mut connection, "helo").unwrap();
    assert_eq!(delivery.reply.code().get(), 250);
    connection.close().unwrap();
    let sent = forwarder.bytes(0, Direction::ToServer);
    let ehlo = find(&sent, b"EHLO ").expect("EHLO first");
    let helo = find(&sent, b"HELO ").expect("then HELO");
    assert!(ehlo < helo);
}

#[test]
fn a_421_to_rset_on_a_reused_connection_is_typed_and_reconnectable() {
    let servers = servers!();
    let options = options(servers.sink(Sink::Rset421), TlsPolicy::None, None);
    let mut connection = Connection::connect(&options).unwrap();
    sink_send(&mut connection, "rset").unwrap();
    let error = connection.rset().expect_err("RSET gets 421");
    assert!(matches!(error, Error::ServiceClosing { .. }), "{error:?}");
    assert_eq!(error.step(), Some(Step::Rset));
    assert!(error.is_reconnectable());
    assert!(!connection.is_usable());
    assert!(matches!(connection.noop(), Err(Error::Usage(_))));
}

/// smtp-sink `-A 0` answers 354, then at once an unsolicited `550 This violates SMTP`, and
/// closes without reading the message. What the client sees depends on timing: the 550
/// arriving while the body is still being written (an unexpected reply: a protocol
/// violation, and the message not delivered), the 550 read as the final reply (a permanent
/// refusal), or the connection gone. Each is a typed error, at once.
#[test]
fn an_abort_after_354_ends_the_send_with_a_typed_error() {
    let servers = servers!();
    let options = options(servers.sink(Sink::DataAbort), TlsPolicy::None, None);
    let mut connection = Connection::connect(&options).unwrap();
    let error = sink_send(&mut connection, "abort").expect_err("smtp-sink aborts");
    match &error {
        Error::Protocol {
            violation: ProtocolViolation::UnexpectedReply(reply),
            interruption,
        } => {
            assert_eq!(reply.code().get(), 550);
            assert_eq!(interruption.step, Step::Body);
            assert_eq!(interruption.fate, MessageFate::NotDelivered);
        }
        Error::Rejected {
            failure: TransactionFailure::MessageRejected { reply, .. },
        } => {
            assert_eq!(reply.code().get(), 550);
            assert!(error.is_permanent());
        }
        Error::ConnectionReset { .. } | Error::ConnectionClosed { .. } => {
            assert!(error.is_reconnectable());
            let step = error.step();
            assert!(
                matches!(step, Some(Step::Body | Step::FinalReply)),
                "{step:?}"
            );
        }
        other => panic!("unexpected outcome: {other:?}"),
    }
    // The server is gone: the next command fails, typed, instead of hanging.
    let next = connection
        .noop()
        .expect_err("the server closed the connection");
    assert!(
        matches!(
            next,
            Error::Usage(_) | Error::ConnectionClosed { .. } | Error::ConnectionReset { .. }
        ),
        "{next:?}"
    );
    assert!(!connection.is_usable());
}

/// smtp-sink `-q QUIT` closes without `221`: the message was delivered before, and closing
/// the connection is what QUIT asked for, so `close` succeeds.
#[test]
fn a_server_closing_without_221_after_quit_still_closes_cleanly() {
    let servers = servers!();
    let options = options(servers.sink(Sink::QuitDisconnect), TlsPolicy::None, None);
    let mut connection = Connection::connect(&options).unwrap();
    sink_send(&mut connection, "quit").unwrap();
    connection.close().unwrap();
}
