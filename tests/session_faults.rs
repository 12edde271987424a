//! Every step of the conversation crossed with every way a server can fail there: a 421, the
//! connection closed, silence until the deadline, garbage, and the normal reply split byte by
//! byte; with and without PIPELINING and CHUNKING. Each failure must say where it happened,
//! what became of the message, and must stop the client from sending anything more.

mod session_support;

use session_support::*;
use smtpwire::session::{Event, MessageFate, ProtocolViolation, SessionError, Step, TlsPolicy};

const STAGES: [Stage; 13] = [
    Stage::Greeting,
    Stage::Ehlo,
    Stage::StartTls,
    Stage::Auth,
    Stage::Mail,
    Stage::Rcpt,
    Stage::Data,
    Stage::MidBody,
    Stage::FinalDot,
    Stage::Noop,
    Stage::Rset,
    Stage::Quit,
    Stage::Helo,
];

const FAULTS: [Fault; 5] = [
    Fault::ServiceClosing,
    Fault::Eof,
    Fault::Silent,
    Fault::Garbage,
    Fault::ByteByByte,
];

struct Mode {
    name: &'static str,
    extensions: &'static [&'static str],
}

const MODES: [Mode; 4] = [
    Mode {
        name: "plain",
        extensions: &[],
    },
    Mode {
        name: "pipelining",
        extensions: &["PIPELINING"],
    },
    Mode {
        name: "chunking",
        extensions: &["CHUNKING"],
    },
    Mode {
        name: "pipelining+chunking",
        extensions: &["PIPELINING", "CHUNKING"],
    },
];

const BODY: &[u8] =
    b"Subject: faults\r\n\r\n.first dot\r\nline two\r\nline three is a bit longer\r\n";

/// Runs the whole script: STARTTLS, AUTH, one message to two recipients, NOOP, RSET, QUIT.
fn run_script(mode: &Mode, stage: Stage, fault: &Fault) -> Pair {
    let mut config = config(TlsPolicy::Required);
    config.credentials = Some(credentials());
    let mut fake = FakeServer::with_extensions(&["STARTTLS"]);
    let mut after_tls: Vec<String> = mode.extensions.iter().map(|s| s.to_string()).collect();
    after_tls.push("AUTH PLAIN".into());
    fake.extensions_after_tls = Some(after_tls);
    if stage == Stage::Helo {
        // HELO is only reached after EHLO fails, which TLS policy Required forbids; this stage
        // runs with plain text and a server that does not know EHLO.
        config.tls = TlsPolicy::None;
        config.credentials = None;
        fake.ehlo_reply = Some("502 5.5.2 unknown".into());
    }
    let fake = fake.fault(stage, fault.clone());
    let mut pair = Pair::open(config, fake);
    pair.chunk = 9;
    if pair.is_ready() {
        pair.send(envelope(&["a@foo.com", "b@foo.com"]), BODY);
    }
    if pair.is_ready() {
        pair.session.noop(pair.now).unwrap();
        pair.run();
    }
    if pair.is_ready() {
        pair.session.reset(pair.now).unwrap();
        pair.run();
    }
    if pair.is_ready() {
        pair.session.quit(pair.now).unwrap();
        pair.run();
    }
    pair
}

fn stage_step(stage: Stage) -> Step {
    match stage {
        Stage::Greeting => Step::Greeting,
        Stage::Ehlo => Step::Ehlo,
        Stage::Helo => Step::Helo,
        Stage::StartTls => Step::StartTls,
        Stage::Auth => Step::Auth,
        Stage::Mail => Step::Mail,
        Stage::Rcpt => Step::Rcpt,
        Stage::Data => Step::Data,
        Stage::MidBody => Step::Body,
        Stage::FinalDot => Step::FinalReply,
        Stage::Rset => Step::Rset,
        Stage::Noop => Step::Noop,
        Stage::Quit => Step::Quit,
    }
}

fn fires(mode: &Mode, stage: Stage) -> bool {
    // Without a size-less body, CHUNKING sends BDAT: there is no DATA command to fail.
    !(stage == Stage::Data && mode.extensions.contains(&"CHUNKING"))
}

fn assert_completed(pair: &Pair, what: &str) {
    assert!(pair.error().is_none(), "{what}: {:?}", pair.error());
    assert_eq!(pair.server.messages.len(), 1, "{what}");
    assert_eq!(pair.server.messages[0].body, BODY, "{what}");
    assert_eq!(
        pair.server.messages[0].rcpt_to,
        ["a@foo.com", "b@foo.com"],
        "{what}"
    );
    assert_eq!(pair.events.last(), Some(&Event::Closed), "{what}");
}

#[test]
fn every_step_crossed_with_every_fault() {
    let mut checked = 0;
    for mode in &MODES {
        for stage in STAGES {
            for fault in &FAULTS {
                let what = format!("{} / {stage:?} / {fault:?}", mode.name);
                let pair = run_script(mode, stage, fault);
                assert!(
                    pair.sent_after_failure.is_empty(),
                    "{what}: sent after failure"
                );
                checked += 1;
                if *fault == Fault::ByteByByte || !fires(mode, stage) {
                    assert_completed(&pair, &what);
                    continue;
                }
                if stage == Stage::Quit && matches!(fault, Fault::ServiceClosing | Fault::Eof) {
                    // Leaving anyway: a 421 or a close after QUIT is a normal end.
                    assert!(pair.error().is_none(), "{what}");
                    assert_eq!(pair.events.last(), Some(&Event::Closed), "{what}");
                    continue;
                }
                let error = pair.error().unwrap_or_else(|| {
                    panic!("{what}: no error; events {:?}", kinds(&pair.events))
                });
                assert_eq!(
                    pair.events.last(),
                    Some(&Event::Failed(error.clone())),
                    "{what}"
                );
                let in_transaction = matches!(
                    stage,
                    Stage::Mail | Stage::Rcpt | Stage::Data | Stage::MidBody | Stage::FinalDot
                );
                let whole_message_sent = stage == Stage::FinalDot
                    || (*fault == Fault::Silent && stage == Stage::MidBody)
                    || (*fault == Fault::Silent
                        && matches!(stage, Stage::Mail | Stage::Rcpt)
                        && mode.name == "pipelining+chunking");
                let expected_fate = if whole_message_sent {
                    MessageFate::Unknown
                } else if in_transaction {
                    MessageFate::NotDelivered
                } else {
                    MessageFate::NoMessage
                };
                let expected_step = match (fault, stage) {
                    // The server stops reading mid-body; the client ends the body and then waits.
                    (Fault::Silent, Stage::MidBody) => Step::FinalReply,
                    _ => stage_step(stage),
                };
                match (fault, error) {
                    (
                        Fault::ServiceClosing,
                        SessionError::ServiceClosing {
                            reply,
                            interruption,
                        },
                    ) => {
                        assert_eq!(reply.code().get(), 421, "{what}");
                        assert_eq!(interruption.step, expected_step, "{what}");
                        assert_eq!(interruption.fate, expected_fate, "{what}");
                    }
                    (Fault::Eof, SessionError::ConnectionClosed { interruption })
                    | (Fault::Silent, SessionError::Timeout { interruption }) => {
                        assert_eq!(interruption.step, expected_step, "{what}");
                        assert_eq!(interruption.fate, expected_fate, "{what}");
                        if in_transaction {
                            assert_eq!(interruption.unresolved.len(), 2, "{what}");
                        } else {
                            assert!(interruption.unresolved.is_empty(), "{what}");
                        }
                    }
                    (
                        Fault::Garbage,
                        SessionError::Protocol {
                            interruption,
                            violation: ProtocolViolation::Malformed(_),
                        },
                    ) => {
                        let step = &interruption.step;
                        // A garbled final reply leaves the message's fate as unknown as a
                        // lost connection does.
                        assert_eq!(interruption.fate, expected_fate, "{what}");
                        assert_eq!(*step, expected_step, "{what}");
                    }
                    (_, other) => panic!("{what}: unexpected {other:?}"),
                }
                assert_eq!(error.is_reconnectable(), *fault != Fault::Garbage, "{what}");
                let fate = error.interruption().map(|i| i.fate);
                if fate == Some(MessageFate::Unknown) {
                    assert!(
                        error.interruption().unwrap().fate.may_have_been_accepted(),
                        "{what}"
                    );
                }
            }
        }
    }
    assert_eq!(checked, MODES.len() * STAGES.len() * FAULTS.len());
}

#[test]
fn a_421_carries_which_recipients_are_unresolved_and_which_were_refused() {
    let mode = &MODES[1];
    let mut config = config(TlsPolicy::None);
    config.credentials = None;
    let mut fake =
        FakeServer::with_extensions(mode.extensions).fault(Stage::FinalDot, Fault::ServiceClosing);
    fake.recipient_replies
        .push(("b@foo.com".into(), "550 5.1.1 no such user".into()));
    let mut pair = Pair::open(config, fake);
    pair.send(envelope(&["a@foo.com", "b@foo.com", "c@foo.com"]), BODY);
    let interruption = pair
        .error()
        .and_then(SessionError::interruption)
        .expect("interrupted")
        .clone();
    assert_eq!(interruption.step, Step::FinalReply);
    assert_eq!(interruption.fate, MessageFate::Unknown);
    let unresolved: Vec<_> = interruption
        .unresolved
        .iter()
        .map(|a| a.as_str().to_string())
        .collect();
    assert_eq!(unresolved, ["a@foo.com", "c@foo.com"]);
    assert_eq!(interruption.refused.len(), 1);
    assert_eq!(interruption.refused[0].address.as_str(), "b@foo.com");
}

#[test]
fn every_reply_split_at_every_point_gives_the_same_conversation() {
    // Each packet the server sends is handed over in two pieces, split at the same offset
    // for the whole conversation; every offset up to the longest packet is tried.
    let run = |split: Option<usize>| {
        let mut config = config(TlsPolicy::Required);
        config.credentials = Some(credentials());
        let mut fake = FakeServer::with_extensions(&["STARTTLS", "PIPELINING"]);
        fake.extensions_after_tls = Some(vec![
            "PIPELINING".into(),
            "CHUNKING".into(),
            "AUTH PLAIN".into(),
        ]);
        let mut pair = Pair::new(config, fake);
        pair.split = split;
        let greeting = pair.server.greet();
        pair.deliver(greeting);
        pair.run();
        pair.send(envelope(&["a@foo.com", "b@foo.com"]), BODY);
        pair.session.quit(pair.now).unwrap();
        pair.run();
        pair
    };
    let reference = run(None);
    assert!(reference.error().is_none());
    for split in 0..80 {
        let pair = run(Some(split));
        assert_eq!(pair.events, reference.events, "split at {split}");
        assert_eq!(
            pair.server.messages, reference.server.messages,
            "split at {split}"
        );
    }
}

#[test]
fn a_scenario_puts_the_session_at_any_step_and_garbage_there_is_a_protocol_error() {
    let cases = [
        (Stage::Greeting, Step::Greeting),
        (Stage::Ehlo, Step::Ehlo),
        (Stage::StartTls, Step::StartTls),
        (Stage::Auth, Step::Auth),
        (Stage::Mail, Step::Mail),
        (Stage::Rcpt, Step::Rcpt),
        (Stage::Data, Step::Data),
        (Stage::FinalDot, Step::FinalReply),
        (Stage::Noop, Step::Noop),
        (Stage::Rset, Step::Rset),
        (Stage::Quit, Step::Quit),
    ];
    for (stage, step) in cases {
        let mut pair = Scenario::new()
            .starttls_and_auth(TlsPolicy::Required)
            .at(stage);
        assert_eq!(pair.session.step(), step, "{stage:?}");
        assert!(pair.session.wants_input(), "{stage:?}");
        assert!(pair.error().is_none(), "{stage:?}");
        // Not a reply at all: the first digit is outside 2-5.
        pair.session.handle_input(b"600 what\r\n", pair.now);
        match pair.error() {
            Some(SessionError::Protocol {
                interruption,
                violation: ProtocolViolation::Malformed(_),
            }) => {
                assert_eq!(interruption.step, step, "{stage:?}")
            }
            other => panic!("{stage:?}: unexpected {other:?}"),
        }
        let mut out = Vec::new();
        assert!(
            !pair.session.poll_transmit(&mut out),
            "{stage:?}: nothing sent after the failure"
        );
    }
}

#[test]
fn a_reply_with_mixed_codes_fails_at_any_step() {
    // SECURITY.md item 8: `250-a` then `550 b` in one reply.
    for stage in [Stage::Ehlo, Stage::Mail, Stage::FinalDot] {
        let mut pair = Scenario::new().extensions(&["PIPELINING"]).at(stage);
        pair.session
            .handle_input(b"250-first line\r\n550 second line\r\n", pair.now);
        assert!(
            matches!(
                pair.error(),
                Some(SessionError::Protocol {
                    violation: ProtocolViolation::Malformed(_),
                    ..
                })
            ),
            "{stage:?}: {:?}",
            pair.error()
        );
    }
}
