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
    self, AiosmtpdMessage, contains, count, find, split_postfix, wait_for,
};
use real_servers_support::wire::{self, GeneratedBody, crlf, dot_stuffed, lf};
use real_servers_support::{
    BIG_CALL_LIMIT, EHLO_NAME, envelope, mailer, options, simple_message, test_id, trust_ca,
};
use smtpwire::auth::{Credentials, Mechanism};
use smtpwire::mailer::{Counters, SendError, UnknownOutcome};
use smtpwire::message::Message;
use smtpwire::session::{BodyInfo, MessageFate, Step, Timeouts, TlsPolicy, TransactionFailure};
use smtpwire::session::UsageError;
use smtpwire::transport::{Connection, Error};
use std::collections::BTreeSet;
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

fn postfix_new(servers: &Servers) -> std::path::PathBuf {
    servers.postfix.maildir.join("new")
}

fn aiosmtpd_new(servers: &Servers) -> std::path::PathBuf {
    servers.aiosmtpd.maildir.join("new")
}

fn password(user: &str, password: &str) -> Credentials {
    Credentials::password(user, password).expect("usable test credentials")
}

fn reply_code(error: &Error) -> Option<u16> {
    match error {
        Error::AuthFailed { reply } | Error::Refused { reply, .. } => Some(reply.code().get()),
        Error::ServiceClosing { reply, .. } => Some(reply.code().get()),
        Error::Rejected { failure } => match failure {
            TransactionFailure::MailRejected { reply }
            | TransactionFailure::DataRejected { reply, .. }
            | TransactionFailure::MessageRejected { reply, .. } => Some(reply.code().get()),
            TransactionFailure::AllRecipientsRejected { recipients } => {
                recipients.first().map(|r| r.reply.code().get())
            }
            _ => None,
        },
        _ => None,
    }
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
            assert!(message.contains("SMTPWIRE_POSTFIX_ADDR is not set"), "{message}");
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
    let mut connection =
        Connection::connect(&options(servers.postfix.addr, TlsPolicy::None, None)).unwrap();
    assert!(!connection.is_tls());
    let caps = connection.capabilities().expect("EHLO was answered");
    assert!(caps.starttls() && caps.pipelining() && caps.chunking());
    assert!(caps.smtputf8() && caps.eight_bit_mime() && caps.dsn());
    assert!(caps.enhanced_status_codes());
    assert_eq!(caps.size_limit(), Some(104_857_600));
    assert!(
        caps.auth_mechanisms().is_empty(),
        "Postfix offers AUTH only over TLS"
    );
    let message = simple_message(&id, &sender(&servers), &to, "Hello in plain text.\r\n");
    let delivery = connection
        .send_bytes(&envelope(&sender(&servers), &[&to]), &message)
        .unwrap();
    assert_eq!(delivery.reply.code().get(), 250);
    connection.close().unwrap();

    let files = wait_for(&postfix_new(&servers), &id, 1);
    let (prepended, stored) = split_postfix(&files[0].bytes);
    assert_eq!(stored, lf(&message));
    assert!(
        prepended
            .received
            .starts_with(&format!("from {EHLO_NAME} (localhost [127.0.0.1])\n")),
        "{}",
        prepended.received
    );
    assert!(!prepended.received.contains("using TLS"));
    assert!(prepended.received.contains(" with ESMTP id "));
}

#[test]
fn postfix_starttls_required_verifies_the_test_ca() {
    let servers = servers!();
    let id = test_id("postfix-starttls");
    let to = format!("starttls@{}", servers.domain);
    let mut connection = Connection::connect(&options(
        servers.postfix.addr,
        TlsPolicy::Required,
        Some(&servers.postfix.ca),
    ))
    .unwrap();
    assert!(connection.is_tls());
    let caps = connection.capabilities().expect("EHLO over TLS");
    assert!(!caps.starttls(), "after STARTTLS, no STARTTLS is offered");
    assert!(caps.auth_mechanisms().contains(&Mechanism::Plain));
    assert!(caps.auth_mechanisms().contains(&Mechanism::Login));
    let message = simple_message(&id, &sender(&servers), &to, "Over STARTTLS.\r\n");
    connection
        .send_bytes(&envelope(&sender(&servers), &[&to]), &message)
        .unwrap();
    connection.close().unwrap();

    let files = wait_for(&postfix_new(&servers), &id, 1);
    let (prepended, stored) = split_postfix(&files[0].bytes);
    assert_eq!(stored, lf(&message));
    assert!(prepended.received.contains("(using TLSv1."), "{}", prepended.received);
    assert!(prepended.received.contains(" with ESMTPS id "));
}

/// Connects through a recording forwarder and returns the error and what the client sent.
fn failing_connect(
    upstream: std::net::SocketAddr,
    adjust: impl FnOnce(&mut smtpwire::transport::ConnectOptions),
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
    let mut options = options(
        servers.postfix.smtps_addr,
        TlsPolicy::Implicit,
        Some(&servers.postfix.ca),
    );
    options.session.credentials = Some(password(&servers.postfix.user, &servers.postfix.password));
    let log_from = stored::log_len(&servers.postfix.log);
    let mut connection = Connection::connect(&options).unwrap();
    assert!(connection.is_tls());
    assert!(!connection.capabilities().unwrap().starttls());
    let message = simple_message(&id, &sender(&servers), &to, "Implicit TLS, AUTH PLAIN.\r\n");
    let delivery = connection
        .send_bytes(&envelope(&sender(&servers), &[&to]), &message)
        .unwrap();
    connection.close().unwrap();

    let files = wait_for(&postfix_new(&servers), &id, 1);
    let (prepended, stored) = split_postfix(&files[0].bytes);
    assert_eq!(stored, lf(&message));
    let received = &prepended.received;
    assert!(received.contains("(using TLSv1."), "{received}");
    assert!(received.contains("(Authenticated sender: smtpwire"), "{received}");
    assert!(received.contains(" with ESMTPSA id "), "{received}");
    let queue_id = stored::queue_id(&delivery.reply.to_string());
    stored::wait_for_log_line(&servers.postfix.log, log_from, "sasl_method=PLAIN", |line| {
        line.contains(&format!("{queue_id}: client=")) && line.contains("sasl_method=PLAIN")
    });
}

#[test]
fn aiosmtpd_starttls_required_with_auth_plain() {
    let servers = servers!();
    let id = test_id("aiosmtpd-starttls");
    let mut options = options(
        servers.aiosmtpd.addr,
        TlsPolicy::Required,
        Some(&servers.aiosmtpd.ca),
    );
    options.session.credentials =
        Some(password(&servers.aiosmtpd.user, &servers.aiosmtpd.password));
    let mut connection = Connection::connect(&options).unwrap();
    assert!(connection.is_tls());
    let to = "someone@example.org";
    let message = simple_message(&id, &sender(&servers), to, "STARTTLS then AUTH.\r\n");
    connection
        .send_bytes(&envelope(&sender(&servers), &[to]), &message)
        .unwrap();
    connection.close().unwrap();

    let file = &wait_for(&aiosmtpd_new(&servers), &id, 1)[0];
    let stored = AiosmtpdMessage::parse(&file.bytes);
    assert!(stored.get("Tls").starts_with("starttls TLSv1."), "{stored:?}");
    assert_eq!(stored.get("Auth"), servers.aiosmtpd.user);
    assert_eq!(stored.get("Helo"), EHLO_NAME);
    assert_eq!(stored.data, message);
}

#[test]
fn aiosmtpd_implicit_tls_with_auth_plain() {
    let servers = servers!();
    let id = test_id("aiosmtpd-smtps");
    let mut options = options(
        servers.aiosmtpd.smtps_addr,
        TlsPolicy::Implicit,
        Some(&servers.aiosmtpd.ca),
    );
    options.session.credentials =
        Some(password(&servers.aiosmtpd.user, &servers.aiosmtpd.password));
    let mut connection = Connection::connect(&options).unwrap();
    assert!(connection.is_tls());
    let to = "someone@example.org";
    let message = simple_message(&id, &sender(&servers), to, "Implicit TLS.\r\n");
    connection
        .send_bytes(&envelope(&sender(&servers), &[to]), &message)
        .unwrap();
    connection.close().unwrap();

    let file = &wait_for(&aiosmtpd_new(&servers), &id, 1)[0];
    let stored = AiosmtpdMessage::parse(&file.bytes);
    assert!(stored.get("Tls").starts_with("implicit TLSv1."), "{stored:?}");
    assert_eq!(stored.get("Auth"), servers.aiosmtpd.user);
    assert_eq!(stored.data, message);
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

    let (prepended, stored) = split_postfix(&wait_for(&postfix_new(&servers), &id, 1)[0].bytes);
    assert_eq!(stored, lf(&message));
    assert!(prepended.received.contains(" with ESMTPSA id "));
    let queue_id = stored::queue_id(&report.reply.to_string());
    stored::wait_for_log_line(&servers.postfix.log, log_from, "sasl_method=PLAIN", |line| {
        line.contains(&format!("{queue_id}: client=")) && line.contains("sasl_method=PLAIN")
    });
}

#[test]
fn postfix_auth_login_when_only_login_is_offered() {
    let servers = servers!();
    let filter = MechanismFilter::start(servers.postfix.smtps_addr, &servers.postfix.ca, "LOGIN");
    let id = test_id("postfix-login");
    let to = format!("auth-login@{}", servers.domain);
    let counters = Arc::new(Counters::new());
    let log_from = stored::log_len(&servers.postfix.log);
    // The filter speaks plain text on loopback, implicit TLS to Postfix.
    let mut mailer = mailer(filter.addr(), TlsPolicy::None, &counters)
        .allow_plaintext_auth(true)
        .credentials(password(&servers.postfix.user, &servers.postfix.password))
        .build();
    let message = simple_message(&id, &sender(&servers), &to, "AUTH LOGIN.\r\n");
    let report = mailer
        .send(&envelope(&sender(&servers), &[&to]), &message)
        .unwrap();
    mailer.close().unwrap();
    assert!(filter.rewritten() >= 1);
    let sent = filter.client_bytes();
    assert!(contains(&sent, b"AUTH LOGIN"), "{}", String::from_utf8_lossy(&sent));
    assert!(!contains(&sent, b"AUTH PLAIN"));

    let (prepended, stored) = split_postfix(&wait_for(&postfix_new(&servers), &id, 1)[0].bytes);
    assert_eq!(stored, lf(&message));
    assert!(prepended.received.contains("(Authenticated sender: smtpwire"));
    let queue_id = stored::queue_id(&report.reply.to_string());
    stored::wait_for_log_line(&servers.postfix.log, log_from, "sasl_method=LOGIN", |line| {
        line.contains(&format!("{queue_id}: client=")) && line.contains("sasl_method=LOGIN")
    });
}

#[test]
fn aiosmtpd_auth_login_when_only_login_is_offered() {
    let servers = servers!();
    let filter =
        MechanismFilter::start(servers.aiosmtpd.smtps_addr, &servers.aiosmtpd.ca, "LOGIN");
    let id = test_id("aiosmtpd-login");
    let counters = Arc::new(Counters::new());
    let mut mailer = mailer(filter.addr(), TlsPolicy::None, &counters)
        .allow_plaintext_auth(true)
        .credentials(password(&servers.aiosmtpd.user, &servers.aiosmtpd.password))
        .build();
    let to = "someone@example.org";
    let message = simple_message(&id, &sender(&servers), to, "AUTH LOGIN.\r\n");
    mailer
        .send(&envelope(&sender(&servers), &[to]), &message)
        .unwrap();
    mailer.close().unwrap();
    assert!(contains(&filter.client_bytes(), b"AUTH LOGIN"));

    let stored = AiosmtpdMessage::parse(&wait_for(&aiosmtpd_new(&servers), &id, 1)[0].bytes);
    assert_eq!(stored.get("Auth"), servers.aiosmtpd.user);
    assert_eq!(stored.data, message);
}

/// Sends one message with a wrong password and checks the failure is a typed AUTH refusal
/// that the mailer did not retry; `connections` counts the TCP connections made.
fn assert_auth_refused_once(result: Result<smtpwire::mailer::SendReport, SendError>, counters: &Counters, connections: usize) {
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
    assert_eq!((counts.attempts, counts.reconnects, counts.failed_sends), (1, 0, 1));
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

    let filter =
        MechanismFilter::start(servers.aiosmtpd.smtps_addr, &servers.aiosmtpd.ca, "LOGIN");
    let counters = Arc::new(Counters::new());
    let mut mailer_login = mailer(filter.addr(), TlsPolicy::None, &counters)
        .allow_plaintext_auth(true)
        .credentials(password(&servers.aiosmtpd.user, "wrong"))
        .build();
    let result = mailer_login.send(&envelope(&sender(&servers), &[to]), &message);
    assert_auth_refused_once(result, &counters, filter.connections());
    assert!(contains(&filter.client_bytes(), b"AUTH LOGIN"));
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
    let all = [&good[0], &tempfail, &good[1], &reject, &good[2]];
    let all: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
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
    assert_eq!(codes, [250, 450, 250, 550, 250]);
    assert_eq!(delivery.recipients[1].address.as_str(), tempfail);
    assert_eq!(delivery.recipients.iter().filter(|r| r.accepted()).count(), 3);
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

    let stored = AiosmtpdMessage::parse(&wait_for(&aiosmtpd_new(&servers), &id, 1)[0].bytes);
    let rcpts: Vec<&str> = stored.all("Rcpt-To").collect();
    assert_eq!(rcpts, ["<one@example.org>", "<two@example.net>"]);
    assert_eq!(stored.data, message);
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
    assert_eq!(forwarder.connections(), 1, "one TCP connection for 100 messages");
    let counts = counters.snapshot();
    assert_eq!((counts.connects, counts.successes), (1, 100));

    // Postfix's own count, for the session that carried them.
    stored::wait_for_log_line(&servers.postfix.log, log_from, "mail=100 in one session", |line| {
        line.contains("disconnect from") && line.contains(" mail=100 ") && line.contains(" rcpt=100 ")
    });
    let files = wait_for(&postfix_new(&servers), &id, 100);
    let mut seen = BTreeSet::new();
    for file in &files {
        let (_, stored) = split_postfix(&file.bytes);
        let at = find(stored, b"X-Test-Seq: ").expect("the sequence header") + 12;
        let end = at + find(&stored[at..], b"\n").unwrap();
        seen.insert(String::from_utf8_lossy(&stored[at..end]).parse::<u32>().unwrap());
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

/// 20 MB (and a little): big enough that nothing can hold the whole message in one buffer
/// by accident.
const TWENTY_MB: u64 = 20 * 1024 * 1024;

#[test]
fn postfix_twenty_megabytes_streamed_with_bdat_over_starttls() {
    let servers = servers!();
    let id = test_id("postfix-20mb");
    let to = format!("big@{}", servers.domain);
    let header = simple_message(&id, &sender(&servers), &to, "");
    let body = GeneratedBody::new(header, TWENTY_MB);
    let size = body.len();
    let mut options = options(
        servers.postfix.addr,
        TlsPolicy::Required,
        Some(&servers.postfix.ca),
    );
    options.deadline = Some(Instant::now() + BIG_CALL_LIMIT);
    let mut connection = Connection::connect(&options).unwrap();
    let info = BodyInfo {
        wire_size: Some(size),
        eight_bit: Some(false),
        smtputf8: false,
    };
    connection
        .send(&envelope(&sender(&servers), &[&to]), body.clone(), info)
        .unwrap();
    connection.close().unwrap();

    let file = &wait_for(&postfix_new(&servers), &id, 1)[0];
    let (_, stored) = split_postfix(&file.bytes);
    let mut expected = Vec::with_capacity(size as usize);
    std::io::Read::read_to_end(&mut body.clone(), &mut expected).unwrap();
    assert_eq!(stored.len() as u64, size - count(&expected, b"\r\n") as u64);
    assert!(stored == lf(&expected).as_slice(), "the stored message differs");
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
    let mut expected = Vec::with_capacity(body.len() as usize);
    std::io::Read::read_to_end(&mut body.clone(), &mut expected).unwrap();
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
    let mut connection =
        Connection::connect(&options(forwarder.addr(), TlsPolicy::None, None)).unwrap();
    let message = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: Grüße aus Köln\r\nX-Test-Id: {id}\r\n\r\nUTF-8 header, 8-bit body: ü.\r\n"
    )
    .into_bytes();
    connection
        .send_bytes(&envelope(&from, &[&to]), &message)
        .unwrap();
    connection.close().unwrap();

    let sent = forwarder.bytes(0, Direction::ToServer);
    let mail = format!("MAIL FROM:<{from}>");
    let at = find(&sent, mail.as_bytes()).expect("MAIL FROM with the UTF-8 address");
    let line_end = at + find(&sent[at..], b"\r\n").unwrap();
    let line = String::from_utf8_lossy(&sent[at..line_end]);
    assert!(line.contains(" SMTPUTF8"), "{line}");
    assert!(line.contains(" BODY=8BITMIME"), "{line}");

    let (prepended, stored) = split_postfix(&wait_for(&postfix_new(&servers), &id, 1)[0].bytes);
    assert_eq!(prepended.original_to, to);
    assert_eq!(prepended.return_path, format!("<{from}>"));
    assert_eq!(stored, lf(&message));
}

#[test]
fn aiosmtpd_smtputf8_is_announced_in_mail_from() {
    let servers = servers!();
    let id = test_id("aiosmtpd-utf8");
    let to = "empfänger@example.org";
    let mut connection =
        Connection::connect(&options(servers.aiosmtpd.addr, TlsPolicy::None, None)).unwrap();
    let message = simple_message(&id, &sender(&servers), to, "8-bit: ü\r\n");
    connection
        .send_bytes(&envelope(&sender(&servers), &[to]), &message)
        .unwrap();
    connection.close().unwrap();
    let stored = AiosmtpdMessage::parse(&wait_for(&aiosmtpd_new(&servers), &id, 1)[0].bytes);
    let options: BTreeSet<&str> = stored.get("Mail-Options").split(' ').collect();
    assert!(options.contains("SMTPUTF8"), "{options:?}");
    assert!(options.contains("BODY=8BITMIME"), "{options:?}");
    assert_eq!(stored.get("Rcpt-To"), format!("<{to}>"));
    assert_eq!(stored.data, message);
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
        .send_bytes(&envelope("sender@example.org", &[to]), b"Subject: x\r\n\r\nx\r\n")
        .expect_err("smtp-sink does not offer SMTPUTF8");
    assert!(
        matches!(error, Error::Usage(UsageError::SmtpUtf8Unsupported)),
        "{error:?}"
    );
    assert!(!contains(&forwarder.bytes(0, Direction::ToServer), b"MAIL FROM"));
    // The connection is still usable.
    let id = test_id("sink-after-utf8");
    let message = simple_message(&id, "sender@example.org", "ascii@example.org", "x\r\n");
    connection
        .send_bytes(&envelope("sender@example.org", &["ascii@example.org"]), &message)
        .unwrap();
    connection.close().unwrap();
    wait_for(&servers.sink_dump_dir, &id, 1);
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
                    events.push(Some(String::from_utf8_lossy(line).trim_end().to_owned()));
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

fn send_two_recipients_through(upstream: std::net::SocketAddr, label: &str) -> Forwarder {
    let forwarder = Forwarder::start(Plan::to(upstream).recorded());
    let mut connection =
        Connection::connect(&options(forwarder.addr(), TlsPolicy::None, None)).unwrap();
    let id = test_id(label);
    let to = ["one@example.org", "two@example.org"];
    let message = simple_message(&id, "sender@example.org", to[0], "Pipelined or not.\r\n");
    let delivery = connection
        .send_bytes(&envelope("sender@example.org", &to), &message)
        .unwrap();
    assert_eq!(delivery.recipients.len(), 2);
    connection.close().unwrap();
    forwarder
}

#[test]
fn pipelining_on_sends_mail_rcpt_and_data_in_one_flight() {
    let servers = servers!();
    let forwarder = send_two_recipients_through(servers.sink(Sink::Accepting), "pipelining");
    let events = commands_and_replies(&forwarder.chunks(), 0);
    let commands = transaction_commands(&events);
    assert_eq!(commands.len(), 4, "{events:?}");
    let (first, last) = (commands[0], commands[3]);
    assert!(
        events[first..=last].iter().all(Option::is_some),
        "no reply may come between MAIL and DATA when pipelining: {events:?}"
    );
}

#[test]
fn pipelining_off_waits_for_each_reply() {
    let servers = servers!();
    let forwarder = send_two_recipients_through(servers.sink(Sink::NoPipelining), "no-pipelining");
    let events = commands_and_replies(&forwarder.chunks(), 0);
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
    let mut connection =
        Connection::connect(&options(forwarder.addr(), TlsPolicy::None, None)).unwrap();
    connection
        .send_bytes(&envelope(&sender(&servers), &[to]), &message)
        .unwrap();
    connection.close().unwrap();

    let expected = crlf(&message);
    let stored = AiosmtpdMessage::parse(&wait_for(&aiosmtpd_new(&servers), &id, 1)[0].bytes);
    assert_eq!(
        String::from_utf8_lossy(&stored.data),
        String::from_utf8_lossy(&expected)
    );
    assert!(!wire::has_bare_line_ending(&stored.data));

    // On the wire: CRLF only, every leading dot doubled, one end marker.
    let sent = forwarder.bytes(0, Direction::ToServer);
    assert!(!wire::has_bare_line_ending(&sent));
    let data_at = find(&sent, b"\r\nDATA\r\n").expect("DATA") + 8;
    let stuffed = dot_stuffed(&expected);
    assert_eq!(
        String::from_utf8_lossy(&sent[data_at..data_at + stuffed.len()]),
        String::from_utf8_lossy(&stuffed)
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
    let log_from = stored::log_len(&servers.postfix.log);
    let mut connection =
        Connection::connect(&options(forwarder.addr(), TlsPolicy::None, None)).unwrap();
    connection
        .send_bytes(&envelope(&sender(&servers), &[&to]), &message)
        .unwrap();
    connection.close().unwrap();

    let expected = crlf(&message);
    let sent = forwarder.bytes(0, Direction::ToServer);
    let bdat = format!("BDAT {} LAST\r\n", expected.len());
    let at = find(&sent, bdat.as_bytes()).expect("one BDAT LAST with the exact size");
    assert_eq!(&sent[at + bdat.len()..at + bdat.len() + expected.len()], expected.as_slice());
    assert!(!contains(&sent, b"\r\nDATA\r\n"));
    let (_, stored) = split_postfix(&wait_for(&postfix_new(&servers), &id, 1)[0].bytes);
    assert_eq!(String::from_utf8_lossy(stored), String::from_utf8_lossy(&lf(&expected)));
    stored::wait_for_log_line(&servers.postfix.log, log_from, "bdat=1", |line| {
        line.contains("disconnect from") && line.contains(" bdat=1 ") && !line.contains(" data=")
    });
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
    connection
        .send(&envelope(&sender(&servers), &[&to]), message.as_slice(), info)
        .unwrap();
    connection.close().unwrap();

    let sent = forwarder.bytes(0, Direction::ToServer);
    assert!(contains(&sent, b"\r\nDATA\r\n") && !contains(&sent, b"BDAT"));
    assert_eq!(count(&sent, b"\r\n.\r\n"), 1, "only the end marker");
    // Had any of the smuggling lines ended the message, Postfix would hold a different one
    // (and a second transaction).
    let (_, stored) = split_postfix(&wait_for(&postfix_new(&servers), &id, 1)[0].bytes);
    assert_eq!(
        String::from_utf8_lossy(stored),
        String::from_utf8_lossy(&lf(&crlf(&message)))
    );
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
    let message = Message::builder()
        .from(format!("Sänder Test <{from}>").parse().unwrap())
        .to(format!("To Person <{to}>").parse().unwrap())
        .cc(cc.parse().unwrap())
        .bcc(bcc.parse().unwrap())
        .subject("Grüße, and a long subject that the composer has to fold over more than one line of the header")
        .header("X-Test-Id", &id)
        .unwrap()
        .text_body(
            ".starts with a dot\n..two\n.\nFrom the start of a line\n\
             a long line: ".to_owned()
                + &"0123456789 ".repeat(30)
                + "\nunicode: €, ü, 😀\n\ntrailing spaces   \nlast line",
        )
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
        assert_eq!(
            String::from_utf8_lossy(stored),
            String::from_utf8_lossy(&lf(message.as_bytes()))
        );
        assert!(stored == lf(message.as_bytes()).as_slice());
        assert_eq!(prepended.return_path, format!("<{from}>"));
        assert_eq!(prepended.original_to, prepended.delivered_to);
        let received = &prepended.received;
        assert!(received.starts_with(&format!("from {EHLO_NAME} (localhost [127.0.0.1])\n")));
        assert!(received.contains("\t(using TLSv1."), "{received}");
        assert!(received.contains("\t(Authenticated sender: smtpwire"), "{received}");
        assert!(
            received.contains(&format!("\tby localhost (Postfix) with ESMTPSA id {queue_id}\n")),
            "{received}"
        );
        assert!(
            received.contains(&format!("\tfor <{}>; ", prepended.original_to)),
            "{received}"
        );
        recipients.insert(prepended.original_to);
    }
    assert_eq!(recipients, BTreeSet::from([to, cc, bcc.clone()]));
    // Bcc went in the envelope only.
    assert!(!contains(message.as_bytes(), bcc.as_bytes()));
}

// ---------------------------------------------------------------------------------------
// smtp-sink faults: the mailer reconnects, counts, and does not retry refusals
// ---------------------------------------------------------------------------------------

/// Sends one message through a forwarder whose first `cuts` connections go to `faulty` and
/// later ones to the accepting sink; returns the result, the counters and the connections.
fn send_through_faults(
    servers: &Servers,
    faulty: Sink,
    cuts: usize,
    label: &str,
    unknown_outcome: UnknownOutcome,
) -> (
    String,
    Result<smtpwire::mailer::SendReport, SendError>,
    smtpwire::mailer::CountersSnapshot,
    usize,
) {
    let forwarder = Forwarder::start(Plan::faulty_then(
        servers.sink(faulty),
        cuts,
        servers.sink(Sink::Accepting),
    ));
    let counters = Arc::new(Counters::new());
    let mut mailer = mailer(forwarder.addr(), TlsPolicy::None, &counters)
        .unknown_outcome(unknown_outcome)
        .build();
    let id = test_id(label);
    let to = "faults@example.org";
    let message = simple_message(&id, "sender@example.org", to, "Through faults.\r\n");
    let result = mailer.send(&envelope("sender@example.org", &[to]), &message);
    let _ = mailer.close();
    let connections = forwarder.connections();
    (id, result, counters.snapshot(), connections)
}

/// The mailer recovers from `cuts` connections to `faulty`: delivered to the accepting sink
/// on attempt `cuts + 1`, one reconnection per cut, counted.
fn assert_recovers(
    faulty: Sink,
    cuts: usize,
    possible_duplicate: bool,
) -> Option<smtpwire::mailer::CountersSnapshot> {
    let servers = servers_or_skip()?;
    let label = format!("recover-{faulty:?}");
    let (id, result, counts, connections) =
        send_through_faults(&servers, faulty, cuts, &label, UnknownOutcome::Resend);
    let report = result.unwrap_or_else(|e| panic!("{faulty:?}: not recovered: {e:?}"));
    let cuts = cuts as u32;
    assert_eq!(report.attempts, cuts + 1, "{faulty:?}");
    assert_eq!(report.reconnects, cuts, "{faulty:?}");
    assert_eq!(report.possible_duplicate, possible_duplicate, "{faulty:?}");
    assert_eq!(connections, cuts as usize + 1, "{faulty:?}");
    assert_eq!(counts.reconnects, u64::from(cuts), "{faulty:?}");
    assert_eq!(counts.connects, u64::from(cuts) + 1, "{faulty:?}");
    assert_eq!(counts.successes, 1);
    assert_eq!(
        counts.possible_duplicates,
        if possible_duplicate { u64::from(cuts) } else { 0 },
        "{faulty:?}"
    );
    // Exactly one copy reached the accepting sink (the faulty ones store nothing).
    let dumps = wait_for(&servers.sink_dump_dir, &id, 1);
    assert_eq!(dumps.len(), 1);
    Some(counts)
}

/// Like `servers!()`, for helpers that return a value.
fn servers_or_skip() -> Option<Servers> {
    env::servers()
}

#[test]
fn mailer_recovers_from_421_at_the_greeting() {
    let Some(counts) = assert_recovers(Sink::Greeting421, 2, false) else {
        return;
    };
    assert_eq!(counts.service_closing, 2);
    // The first redial is immediate, the second waits.
    assert_eq!(counts.sleeps, 1);
}

#[test]
fn mailer_recovers_from_a_disconnect_at_the_greeting() {
    let Some(counts) = assert_recovers(Sink::GreetingDisconnect, 1, false) else {
        return;
    };
    assert_eq!(counts.eof + counts.reset, 1);
}

#[test]
fn mailer_recovers_from_421_at_mail() {
    let Some(counts) = assert_recovers(Sink::Mail421, 1, false) else {
        return;
    };
    assert_eq!(counts.service_closing, 1);
}

#[test]
fn mailer_recovers_from_a_disconnect_at_mail() {
    let Some(counts) = assert_recovers(Sink::MailDisconnect, 1, false) else {
        return;
    };
    assert_eq!(counts.eof + counts.reset, 1);
}

#[test]
fn mailer_recovers_from_421_at_rcpt() {
    let Some(counts) = assert_recovers(Sink::Rcpt421, 1, false) else {
        return;
    };
    assert_eq!(counts.service_closing, 1);
}

#[test]
fn mailer_resends_after_421_at_the_final_dot_as_a_possible_duplicate() {
    let Some(counts) = assert_recovers(Sink::Dot421, 1, true) else {
        return;
    };
    assert_eq!(counts.service_closing, 1);
}

#[test]
fn mailer_resends_after_a_disconnect_at_the_final_dot_as_a_possible_duplicate() {
    let Some(counts) = assert_recovers(Sink::DotDisconnect, 1, true) else {
        return;
    };
    assert_eq!(counts.eof + counts.reset, 1);
}

#[test]
fn mailer_set_to_send_at_most_once_reports_the_unknown_outcome() {
    let servers = servers!();
    let (_, result, counts, connections) =
        send_through_faults(&servers, Sink::Dot421, 1, "at-most-once", UnknownOutcome::Fail);
    let error = result.expect_err("the outcome is unknown");
    assert!(matches!(error, SendError::OutcomeUnknown { .. }), "{error:?}");
    assert!(error.may_have_been_delivered());
    let interruption = error
        .transport_error()
        .and_then(Error::interruption)
        .expect("where it was cut");
    assert_eq!(interruption.step, Step::FinalReply);
    assert_eq!(interruption.fate, MessageFate::Unknown);
    assert_eq!(error.attempts(), 1);
    assert_eq!(connections, 1);
    assert_eq!((counts.reconnects, counts.failed_sends), (0, 1));
}

#[test]
fn mailer_gives_up_after_its_attempts_when_every_connection_fails() {
    let servers = servers!();
    let (_, result, counts, connections) =
        send_through_faults(&servers, Sink::Mail421, 100, "give-up", UnknownOutcome::Resend);
    let error = result.expect_err("every connection fails");
    assert!(matches!(error, SendError::GaveUp { .. }), "{error:?}");
    assert_eq!(error.attempts(), 5);
    assert_eq!(connections, 5);
    assert_eq!((counts.attempts, counts.service_closing), (5, 5));
    assert!(!error.may_have_been_delivered());
}

/// One send to `faulty`, which refuses: a typed refusal, not retried, one connection.
fn assert_refused_once(faulty: Sink, code: u16, transient: bool) -> Option<Error> {
    let servers = servers_or_skip()?;
    let label = format!("refused-{faulty:?}");
    let (_, result, counts, connections) =
        send_through_faults(&servers, faulty, 1000, &label, UnknownOutcome::Resend);
    let error = result.expect_err("smtp-sink refuses");
    assert!(matches!(error, SendError::NotRetried { .. }), "{faulty:?}: {error:?}");
    assert_eq!(error.attempts(), 1, "{faulty:?}");
    assert_eq!(connections, 1, "{faulty:?}: not retried");
    assert_eq!((counts.reconnects, counts.smtp_reply), (0, 1), "{faulty:?}");
    assert_eq!(error.is_transient(), transient, "{faulty:?}");
    assert_eq!(error.is_permanent(), !transient, "{faulty:?}");
    assert!(!error.may_have_been_delivered());
    let transport = match error {
        SendError::NotRetried { error, .. } => error,
        _ => unreachable!("checked above"),
    };
    assert_eq!(reply_code(&transport), Some(code), "{faulty:?}: {transport:?}");
    Some(transport)
}

#[test]
fn refusals_at_rcpt_are_typed_and_not_retried() {
    for (sink, code, transient) in [(Sink::Rcpt4xx, 450, true), (Sink::Rcpt5xx, 500, false)] {
        let Some(error) = assert_refused_once(sink, code, transient) else {
            return;
        };
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
    for (sink, code, transient) in [
        (Sink::Mail4xx, 450, true),
        (Sink::Mail5xx, 500, false),
        (Sink::Data5xx, 500, false),
        (Sink::Dot4xx, 450, true),
        (Sink::Dot5xx, 500, false),
    ] {
        let Some(error) = assert_refused_once(sink, code, transient) else {
            return;
        };
        let expected = match sink {
            Sink::Mail4xx | Sink::Mail5xx => "MailRejected",
            Sink::Data5xx => "DataRejected",
            _ => "MessageRejected",
        };
        assert!(format!("{error:?}").contains(expected), "{sink:?}: {error:?}");
    }
}

#[test]
fn refused_greetings_are_typed_and_not_retried() {
    for (sink, code, transient) in [(Sink::Greeting4xx, 450, true), (Sink::Greeting5xx, 500, false)]
    {
        let Some(error) = assert_refused_once(sink, code, transient) else {
            return;
        };
        assert!(
            matches!(error, Error::Refused { step: Step::Greeting, .. }),
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
        let counters = Arc::new(Counters::new());
        let mut mailer = mailer(servers.sink(sink), TlsPolicy::None, &counters).build();
        let to = "slow@example.org";
        let message = simple_message("delayed", "sender@example.org", to, "Slowly.\r\n");
        let report = mailer
            .send(&envelope("sender@example.org", &[to]), &message)
            .unwrap_or_else(|e| panic!("{sink:?}: {e:?}"));
        assert_eq!(report.attempts, 1, "{sink:?}");
        assert_eq!(counters.snapshot().timeout, 0, "{sink:?}");
        mailer.close().unwrap();
    }
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
    let to = "slow@example.org";
    let error = connection
        .send_bytes(
            &envelope("sender@example.org", &[to]),
            &simple_message("late-dot", "sender@example.org", to, "x\r\n"),
        )
        .expect_err("the final reply is late");
    let interruption = error.interruption().expect("where it was cut");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
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
    let to = "helo@example.org";
    let delivery = connection
        .send_bytes(
            &envelope("sender@example.org", &[to]),
            &simple_message("helo", "sender@example.org", to, "x\r\n"),
        )
        .unwrap();
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
    let mut connection =
        Connection::connect(&options(servers.sink(Sink::Rset421), TlsPolicy::None, None))
            .unwrap();
    let to = "rset@example.org";
    connection
        .send_bytes(
            &envelope("sender@example.org", &[to]),
            &simple_message("rset", "sender@example.org", to, "x\r\n"),
        )
        .unwrap();
    let error = connection.rset().expect_err("RSET gets 421");
    assert!(matches!(error, Error::ServiceClosing { .. }), "{error:?}");
    assert_eq!(error.step(), Some(Step::Rset));
    assert!(error.is_reconnectable());
    assert!(!connection.is_usable());
    assert!(matches!(connection.noop(), Err(Error::Usage(_))));
}

#[test]
fn an_abort_after_354_ends_the_send_with_a_typed_error() {
    let servers = servers!();
    let mut connection =
        Connection::connect(&options(servers.sink(Sink::DataAbort), TlsPolicy::None, None))
            .unwrap();
    let to = "abort@example.org";
    let error = connection
        .send_bytes(
            &envelope("sender@example.org", &[to]),
            &simple_message("abort", "sender@example.org", to, "x\r\n"),
        )
        .expect_err("smtp-sink aborts the message");
    eprintln!("abort after 354: {error:?}");
    assert!(!connection.is_usable());
}

#[test]
fn a_server_closing_without_221_after_quit_does_not_hang_close() {
    let servers = servers!();
    let mut connection = Connection::connect(&options(
        servers.sink(Sink::QuitDisconnect),
        TlsPolicy::None,
        None,
    ))
    .unwrap();
    let to = "quit@example.org";
    connection
        .send_bytes(
            &envelope("sender@example.org", &[to]),
            &simple_message("quit", "sender@example.org", to, "x\r\n"),
        )
        .unwrap();
    let result = connection.close();
    eprintln!("close without 221: {result:?}");
}
