//! STARTTLS response injection over a real socket (CVE-2021-38371, CVE-2021-22947 and
//! friends): bytes behind the 220 are never read as replies, and nothing is sent after.

mod transport_support;

use smtpwire::session::ProtocolViolation;
use smtpwire::transport::{Connection, Error};
use std::time::Duration;
use transport_support::*;

#[test]
fn replies_injected_behind_the_220_fail_the_connection_and_nothing_more_is_sent() {
    let mut script = opening(&["STARTTLS"]);
    script.extend([
        Act::Expect("STARTTLS"),
        // One write: the 220 and a forged EHLO reply offering AUTH PLAIN.
        send("220 2.0.0 Ready to start TLS\r\n250-evil.example\r\n250 AUTH PLAIN\r\n"),
    ]);
    let server = ScriptedServer::start(script);
    let error = Connection::connect(&options(server.port, Duration::from_secs(10))).unwrap_err();
    match &error {
        Error::Protocol {
            violation,
            interruption,
        } => {
            assert_eq!(*violation, ProtocolViolation::StartTlsInjection);
            assert_eq!(error.kind(), "protocol");
            assert!(!error.is_reconnectable());
            let _ = interruption;
        }
        other => panic!("expected a protocol violation, got {other:?}"),
    }
    let transcript = server.finish();
    assert!(
        transcript.after_script.is_empty(),
        "sent after the injection: {:?}",
        String::from_utf8_lossy(&transcript.after_script)
    );
}

#[test]
fn replies_sent_after_the_220_are_fed_to_tls_and_fail_the_handshake() {
    let mut script = opening(&["STARTTLS"]);
    script.extend([
        Act::Expect("STARTTLS"),
        send("220 2.0.0 Ready to start TLS\r\n"),
        Act::Pause(Duration::from_millis(200)),
        send("250-evil.example\r\n250 AUTH PLAIN\r\n"),
    ]);
    let server = ScriptedServer::start(script);
    let error = Connection::connect(&options(server.port, Duration::from_secs(10))).unwrap_err();
    assert_eq!(error.kind(), "tls", "{error:?}");
    let transcript = server.finish();
    // Only a TLS ClientHello (record type 22) may follow STARTTLS, never a command.
    assert!(transcript.after_script.is_empty() || transcript.after_script[0] == 22);
    assert!(
        !transcript
            .after_script
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"EHLO"))
    );
}
