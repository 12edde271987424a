//! STARTTLS and AUTH against hostile servers: response injection, stripping, refusal,
//! capability tampering (SECURITY.md items 1 to 5).

mod session_support;

use session_support::*;
use smtpwire::session::{Event, ProtocolViolation, SessionError, Step, TlsPolicy};

fn tls_server() -> FakeServer {
    FakeServer::with_extensions(&["STARTTLS", "PIPELINING"])
}

fn assert_injection_refused(pair: &Pair) {
    assert!(
        matches!(
            pair.error(),
            Some(SessionError::Protocol {
                violation: ProtocolViolation::StartTlsInjection,
                ..
            })
        ),
        "{:?}",
        pair.error()
    );
    assert!(
        !pair.events.contains(&Event::StartTls),
        "no handshake may start"
    );
    assert!(!pair.server.is_tls());
    assert!(pair.sent_after_failure.is_empty());
    assert_eq!(
        pair.server.commands.last().map(String::as_str),
        Some("STARTTLS")
    );
}

#[test]
fn starttls_response_injection_in_one_packet_is_refused() {
    // NO STARTTLS (USENIX Security 2021); Mutt CVE-2020-14954, curl CVE-2021-22947,
    // Exim CVE-2021-38371, Nodemailer PR #1835.
    let injected = b"220 2.0.0 go ahead\r\n250-fake.example\r\n250 AUTH PLAIN\r\n".to_vec();
    for policy in [TlsPolicy::Opportunistic, TlsPolicy::Required] {
        let fake = tls_server().fault(Stage::StartTls, Fault::Reply(injected.clone()));
        let pair = Pair::open(config(policy), fake);
        assert_injection_refused(&pair);
    }
}

#[test]
fn starttls_injection_of_a_partial_reply_is_refused() {
    let fake = tls_server().fault(
        Stage::StartTls,
        Fault::Reply(b"220 go ahead\r\n25".to_vec()),
    );
    let pair = Pair::open(config(TlsPolicy::Required), fake);
    assert_injection_refused(&pair);
}

#[test]
fn bytes_arriving_during_the_handshake_are_refused() {
    let mut pair = Pair::new(config(TlsPolicy::Required), tls_server());
    pair.session.handle_input(b"220 hi\r\n", pair.now);
    let mut out = Vec::new();
    assert!(pair.session.poll_transmit(&mut out));
    pair.session
        .handle_input(b"250-hi\r\n250 STARTTLS\r\n", pair.now);
    out.clear();
    assert!(pair.session.poll_transmit(&mut out));
    assert_eq!(out, b"STARTTLS\r\n");
    pair.session.handle_input(b"220 go\r\n", pair.now);
    assert_eq!(pair.session.poll_event(), Some(Event::StartTls));
    assert_eq!(pair.session.step(), Step::TlsHandshake);
    assert!(!pair.session.wants_input());
    // Plaintext arriving before the driver reports the handshake done must never be read.
    pair.session.handle_input(b"250 injected\r\n", pair.now);
    assert!(matches!(
        pair.session.error(),
        Some(SessionError::Protocol {
            violation: ProtocolViolation::StartTlsInjection,
            ..
        })
    ));
}

#[test]
fn stripped_starttls_with_tls_required_stops_before_auth_and_mail() {
    let mut config = config(TlsPolicy::Required);
    config.credentials = Some(credentials());
    let pair = Pair::open(
        config,
        FakeServer::with_extensions(&["PIPELINING", "AUTH PLAIN"]),
    );
    assert_eq!(
        pair.error(),
        Some(&SessionError::TlsUnavailable { reply: None })
    );
    assert_eq!(pair.server.commands, ["EHLO client.example"]);
}

#[test]
fn ehlo_failure_never_falls_back_to_helo_when_tls_is_required() {
    let mut fake = tls_server();
    fake.ehlo_reply = Some("502 5.5.2 what".into());
    let pair = Pair::open(config(TlsPolicy::Required), fake);
    assert!(matches!(
        pair.error(),
        Some(SessionError::TlsUnavailable { reply: Some(_) })
    ));
    assert_eq!(pair.server.commands, ["EHLO client.example"], "no HELO");
}

#[test]
fn only_220_starts_tls() {
    // Python CVE-2016-0772: an error reply to STARTTLS must not be taken as success.
    for reply in [
        "454 4.7.0 TLS not available\r\n",
        "501 5.5.4 syntax\r\n",
        "250 2.0.0 ok\r\n",
    ] {
        let fake = tls_server().fault(Stage::StartTls, Fault::Reply(reply.as_bytes().to_vec()));
        let pair = Pair::open(config(TlsPolicy::Required), fake);
        match pair.error() {
            Some(SessionError::TlsUnavailable { reply: Some(r) }) => {
                assert_eq!(r.code().get().to_string(), reply[..3])
            }
            other => panic!("{reply}: unexpected {other:?}"),
        }
        assert!(!pair.events.contains(&Event::StartTls), "{reply}");
        assert!(
            !pair.server.commands.iter().any(|c| c.starts_with("MAIL")),
            "{reply}"
        );
    }
}

#[test]
fn refused_starttls_with_opportunistic_tls_carries_on_in_plain_text() {
    let fake = tls_server().fault(
        Stage::StartTls,
        Fault::Reply(b"454 4.7.0 TLS not available\r\n".to_vec()),
    );
    let mut pair = Pair::open(config(TlsPolicy::Opportunistic), fake);
    assert!(pair.is_ready());
    assert!(!pair.session.is_tls());
    pair.send(envelope(&["a@foo.com"]), b"hi\r\n");
    assert_eq!(pair.server.messages.len(), 1);
    assert!(!pair.server.messages[0].tls);
}

#[test]
fn capabilities_are_forgotten_after_tls_and_starttls_is_never_sent_twice() {
    let mut config = config(TlsPolicy::Opportunistic);
    config.credentials = Some(credentials());
    // Before TLS the server claims CHUNKING and an AUTH mechanism that a man in the middle
    // could have injected; after TLS it offers other things and STARTTLS again.
    let mut fake =
        FakeServer::with_extensions(&["STARTTLS", "CHUNKING", "PIPELINING", "AUTH XOAUTH2"]);
    fake.extensions_after_tls = Some(vec![
        "STARTTLS".into(),
        "AUTH LOGIN".into(),
        "SIZE 1000".into(),
    ]);
    let mut pair = Pair::open(config, fake);
    assert!(pair.is_ready(), "{:?}", pair.error());
    let capabilities = pair.session.capabilities().unwrap();
    assert!(
        !capabilities.chunking() && !capabilities.pipelining(),
        "pre-TLS capabilities forgotten"
    );
    assert_eq!(capabilities.size_limit(), Some(1000));
    assert_eq!(
        pair.server
            .commands
            .iter()
            .filter(|c| *c == "STARTTLS")
            .count(),
        1
    );
    assert_eq!(
        pair.server
            .commands
            .iter()
            .filter(|c| c.starts_with("EHLO"))
            .count(),
        2
    );
    assert!(pair.server.commands.contains(&"AUTH LOGIN".to_string()));
    pair.send(envelope(&["a@foo.com"]), b"hi\r\n");
    assert!(pair.server.messages[0].tls);
    assert!(
        !pair.server.messages[0].via_bdat,
        "CHUNKING was only claimed before TLS"
    );
}

#[test]
fn nothing_but_starttls_and_ehlo_goes_out_before_tls_when_required() {
    let mut config = config(TlsPolicy::Required);
    config.credentials = Some(credentials());
    let mut fake = tls_server();
    fake.extensions_after_tls = Some(vec!["AUTH PLAIN".into()]);
    let mut pair = Pair::open(config, fake);
    pair.send(envelope(&["a@foo.com"]), b"hi\r\n");
    let tls_at = pair.server.tls_started_at.expect("TLS started");
    let plaintext = String::from_utf8_lossy(&pair.server.wire[..tls_at]).into_owned();
    assert_eq!(plaintext, "EHLO client.example\r\nSTARTTLS\r\n");
    assert!(pair.server.messages[0].tls);
}

#[test]
fn implicit_tls_never_sends_starttls() {
    let mut pair = Pair::open(config(TlsPolicy::Implicit), tls_server());
    assert!(pair.is_ready());
    assert!(pair.session.is_tls());
    assert!(!pair.server.commands.contains(&"STARTTLS".to_string()));
    pair.send(envelope(&["a@foo.com"]), b"hi\r\n");
    assert_eq!(pair.server.messages.len(), 1);
}

#[test]
fn tls_policy_none_ignores_starttls() {
    let pair = Pair::open(config(TlsPolicy::None), tls_server());
    assert!(pair.is_ready());
    assert!(!pair.server.commands.contains(&"STARTTLS".to_string()));
}

#[test]
fn ehlo_keywords_inside_text_do_not_enable_starttls() {
    let pair = Pair::open(
        config(TlsPolicy::Required),
        FakeServer::with_extensions(&["XSTARTTLS", "HELP STARTTLS"]),
    );
    assert_eq!(
        pair.error(),
        Some(&SessionError::TlsUnavailable { reply: None })
    );
}
