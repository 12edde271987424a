//! 421, end of stream and reset at every step of the conversation, table-driven: each must map
//! to the right error variant, step and message fate.

mod transport_support;

use smtpwire::auth::Credentials;
use smtpwire::session::{MessageFate, Step};
use smtpwire::transport::{Connection, Error};
use std::time::Duration;
use transport_support::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    ServiceClosing,
    Eof,
    Reset,
}

impl Fault {
    fn acts(self) -> Vec<Act> {
        match self {
            Fault::ServiceClosing => vec![send("421 4.3.2 Service shutting down\r\n"), Act::Close],
            Fault::Eof => vec![Act::Close],
            Fault::Reset => vec![Act::Reset],
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Fault::ServiceClosing => "service-closing",
            Fault::Eof => "connection-closed",
            Fault::Reset => "connection-reset",
        }
    }
}

const RECIPIENTS: [&str; 2] = ["one@example.org", "two@example.net"];

/// The script up to the fault, and whether the fault hits inside a transaction.
fn script_to(step: Step) -> (Vec<Act>, bool) {
    let transaction_start = || {
        let mut acts = opening(&["8BITMIME"]);
        acts.push(Act::Expect("MAIL FROM:<sender@example.com>"));
        acts
    };
    match step {
        Step::Greeting => (vec![], false),
        Step::Ehlo => (
            vec![send("220 test.example ESMTP\r\n"), Act::Expect("EHLO ")],
            false,
        ),
        Step::StartTls => {
            let mut acts = opening(&["STARTTLS"]);
            acts.push(Act::Expect("STARTTLS"));
            (acts, false)
        }
        Step::Auth => {
            let mut acts = opening(&["AUTH PLAIN"]);
            acts.push(Act::Expect("AUTH PLAIN"));
            (acts, false)
        }
        Step::Mail => (transaction_start(), true),
        Step::Rcpt => {
            let mut acts = transaction_start();
            acts.extend([
                send("250 2.1.0 Ok\r\n"),
                Act::Expect("RCPT TO:<one@example.org>"),
            ]);
            (acts, true)
        }
        Step::Data | Step::Body | Step::FinalReply => {
            let mut acts = transaction_start();
            acts.extend([
                send("250 2.1.0 Ok\r\n"),
                Act::Expect("RCPT TO:<one@example.org>"),
                send("250 2.1.5 Ok\r\n"),
                Act::Expect("RCPT TO:<two@example.net>"),
                send("250 2.1.5 Ok\r\n"),
                Act::Expect("DATA"),
            ]);
            match step {
                Step::Body => acts.extend([send("354 go ahead\r\n"), Act::ReadBytes(64 * 1024)]),
                Step::FinalReply => acts.extend([send("354 go ahead\r\n"), Act::ExpectDataBody]),
                _ => {}
            }
            (acts, true)
        }
        other => unreachable!("no script for {other}"),
    }
}

/// Runs one case; returns a description of what went wrong, if anything.
fn run(step: Step, fault: Fault) -> Option<String> {
    let (mut script, in_transaction) = script_to(step);
    script.extend(fault.acts());
    let server = ScriptedServer::start(script);
    let mut options = options(server.port, Duration::from_secs(10));
    if step == Step::Auth {
        options.session.credentials = Some(Credentials::password("user", "secret").unwrap());
        options.session.allow_plaintext_auth = true;
    }
    let error = match Connection::connect(&options) {
        Err(error) => error,
        Ok(mut connection) => {
            // A body big enough that the client is still writing when the fault hits.
            let body_len = if step == Step::Body { 32 << 20 } else { 2_000 };
            let body = GeneratedBody::new(body_len);
            let info = Default::default();
            match connection.send(&envelope(&RECIPIENTS), body, info) {
                Err(error) => error,
                Ok(delivery) => return Some(format!("delivered: {delivery:?}")),
            }
        }
    };
    let transcript = server.finish();
    let mut problems = Vec::new();
    if error.kind() != fault.kind() {
        problems.push(format!(
            "kind {} (expected {}): {error:?}",
            error.kind(),
            fault.kind()
        ));
    }
    if !error.is_reconnectable() {
        problems.push("not reconnectable".to_owned());
    }
    match error.interruption() {
        None => problems.push("no interruption".to_owned()),
        Some(interruption) => {
            if interruption.step != step {
                problems.push(format!("step {}", interruption.step));
            }
            let fate = match (in_transaction, step) {
                (false, _) => MessageFate::NoMessage,
                (true, Step::FinalReply) => MessageFate::Unknown,
                (true, _) => MessageFate::NotDelivered,
            };
            if interruption.fate != fate {
                problems.push(format!("fate {:?} (expected {fate:?})", interruption.fate));
            }
            let unresolved: Vec<&str> =
                interruption.unresolved.iter().map(|a| a.as_str()).collect();
            let expected: &[&str] = if in_transaction { &RECIPIENTS } else { &[] };
            if unresolved != expected {
                problems.push(format!("unresolved {unresolved:?}"));
            }
        }
    }
    if let Error::ConnectionReset { source, .. } = &error {
        if std::error::Error::source(&error).is_none() {
            problems.push(format!("reset without source: {source}"));
        }
    }
    // After a fault the client sends nothing more (no QUIT into a dead connection, no body
    // after a refusal).
    if step != Step::Body && !transcript.after_script.is_empty() {
        problems.push(format!(
            "sent after the fault: {:?}",
            String::from_utf8_lossy(&transcript.after_script)
        ));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

#[test]
fn every_fault_at_every_step_maps_to_its_variant_step_and_fate() {
    let steps = [
        Step::Greeting,
        Step::Ehlo,
        Step::StartTls,
        Step::Auth,
        Step::Mail,
        Step::Rcpt,
        Step::Data,
        Step::Body,
        Step::FinalReply,
    ];
    let faults = [Fault::ServiceClosing, Fault::Eof, Fault::Reset];
    let mut failures = Vec::new();
    for step in steps {
        for fault in faults {
            if let Some(problem) = run(step, fault) {
                failures.push(format!("{step} / {fault:?}: {problem}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        steps.len() * faults.len(),
        failures.join("\n")
    );
}

#[test]
fn a_connection_that_failed_refuses_further_calls() {
    let (mut script, _) = script_to(Step::Mail);
    script.extend(Fault::Eof.acts());
    let server = ScriptedServer::start(script);
    let mut connection =
        Connection::connect(&options(server.port, Duration::from_secs(10))).unwrap();
    assert!(connection.is_usable());
    let error = connection
        .send_bytes(&envelope(&RECIPIENTS), b"Subject: x\r\n\r\nhi\r\n")
        .unwrap_err();
    assert_eq!(error.kind(), "connection-closed");
    assert!(!connection.is_usable());
    let again = connection.noop().unwrap_err();
    assert_eq!(again.kind(), "invalid-input", "{again:?}");
    assert!(connection.close().is_ok());
    server.finish();
}
