//! Whole conversations between a `Session` and an in-memory server: the happy paths, the
//! extensions, flights per message, per-recipient outcomes, RSET, NOOP, QUIT, HELO fallback,
//! AUTH and what fails before anything is sent.

mod session_support;

use session_support::*;
use smtpwire::address::ReversePath;
use smtpwire::auth::Mechanism;
use smtpwire::session::{
    BodyInfo, Event, Interruption, ProtocolViolation, SessionError, Step, TlsPolicy,
    TransactionFailure, UsageError,
};
use std::time::Duration;

const BODY: &[u8] = b"Subject: hi\r\n\r\n.leading dot\nbare LF line\r\nlast line without end";
const BODY_ON_THE_WIRE: &[u8] =
    b"Subject: hi\r\n\r\n.leading dot\r\nbare LF line\r\nlast line without end\r\n";

fn server(extensions: &[&str]) -> FakeServer {
    FakeServer::with_extensions(extensions)
}

#[test]
fn rfc5321_appendix_d1_transaction_without_extensions() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&[]));
    assert!(pair.is_ready());
    pair.send(
        envelope(&["jones@xyz.com", "green@foo.com", "brown@foo.com"]),
        BODY,
    );
    pair.session.quit(pair.now).unwrap();
    pair.run();
    assert_eq!(
        pair.server.commands,
        [
            "EHLO client.example",
            "MAIL FROM:<sender@example.org>",
            "RCPT TO:<jones@xyz.com>",
            "RCPT TO:<green@foo.com>",
            "RCPT TO:<brown@foo.com>",
            "DATA",
            "QUIT",
        ]
    );
    assert_eq!(pair.server.messages.len(), 1);
    assert_eq!(pair.server.messages[0].body, BODY_ON_THE_WIRE);
    assert_eq!(
        kinds(&pair.events),
        ["ready", "send-body", "delivered", "ready", "closed"]
    );
    assert!(pair.error().is_none());
    assert!(!pair.session.is_ready());
}

#[test]
fn rfc5321_appendix_d1_transcript_replayed_byte_for_byte() {
    // The server side of RFC 5321 Appendix D.1, word for word: Brown is refused, the
    // message goes to Jones and Green. The body line `...etc.` goes out dot-stuffed.
    let mut config = config(TlsPolicy::None);
    config.ehlo_name = smtpwire::ehlo_name::EhloName::parse("bar.com").unwrap();
    let mut pair = Pair::new(config, FakeServer::default());
    let mut wire = Vec::new();
    let mut exchange = |pair: &mut Pair, server: &[u8]| {
        pair.session.handle_input(server, pair.now);
        let mut out = Vec::new();
        let _ = pair.session.poll_transmit(&mut out);
        wire.extend_from_slice(&out);
        while let Some(event) = pair.session.poll_event() {
            if event == Event::SendBody {
                pair.session
                    .write_body(b"Blah blah blah...\r\n...etc. etc. etc.\r\n", pair.now)
                    .unwrap();
                pair.session.finish_body(pair.now).unwrap();
                let mut body = Vec::new();
                let _ = pair.session.poll_transmit(&mut body);
                wire.extend_from_slice(&body);
            }
            if event == Event::Ready && pair.session.is_ready() && pair.events.is_empty() {
                let from = ReversePath::Address(address("Smith@bar.com"));
                let to = ["Jones@foo.com", "Green@foo.com", "Brown@foo.com"]
                    .map(address)
                    .to_vec();
                let info = BodyInfo {
                    wire_size: None,
                    eight_bit: Some(false),
                    smtputf8: false,
                };
                pair.session
                    .send_message(smtpwire::session::Envelope::new(from, to), info, pair.now)
                    .unwrap();
                let mut out = Vec::new();
                let _ = pair.session.poll_transmit(&mut out);
                wire.extend_from_slice(&out);
            }
            if matches!(event, Event::TransactionDone(_)) {
                pair.session.quit(pair.now).unwrap();
                let mut out = Vec::new();
                let _ = pair.session.poll_transmit(&mut out);
                wire.extend_from_slice(&out);
            }
            pair.events.push(event);
        }
    };
    exchange(
        &mut pair,
        b"220 foo.com Simple Mail Transfer Service Ready\r\n",
    );
    exchange(
        &mut pair,
        b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n",
    );
    exchange(&mut pair, b"250 OK\r\n");
    exchange(&mut pair, b"250 OK\r\n");
    exchange(&mut pair, b"250 OK\r\n");
    exchange(&mut pair, b"550 No such user here\r\n");
    exchange(
        &mut pair,
        b"354 Start mail input; end with <CRLF>.<CRLF>\r\n",
    );
    exchange(&mut pair, b"250 OK\r\n");
    exchange(
        &mut pair,
        b"221 foo.com Service closing transmission channel\r\n",
    );
    assert_eq!(
        String::from_utf8(wire).unwrap(),
        "EHLO bar.com\r\n\
         MAIL FROM:<Smith@bar.com>\r\n\
         RCPT TO:<Jones@foo.com>\r\n\
         RCPT TO:<Green@foo.com>\r\n\
         RCPT TO:<Brown@foo.com>\r\n\
         DATA\r\n\
         Blah blah blah...\r\n\
         ....etc. etc. etc.\r\n\
         .\r\n\
         QUIT\r\n"
    );
    let delivery = pair
        .events
        .iter()
        .find_map(|e| match e {
            Event::TransactionDone(Ok(delivery)) => Some(delivery.clone()),
            _ => None,
        })
        .expect("delivered");
    let refused: Vec<_> = delivery
        .recipients
        .iter()
        .filter(|r| !r.accepted())
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].address.as_str(), "Brown@foo.com");
    assert_eq!(pair.events.last(), Some(&Event::Closed));
}

#[test]
fn final_reply_text_and_recipient_outcomes_are_kept() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&["PIPELINING"]));
    pair.server.recipient_replies.push((
        "nobody@foo.com".into(),
        "550 5.1.1 <nobody@foo.com>: no such user".into(),
    ));
    pair.send(envelope(&["a@foo.com", "nobody@foo.com"]), BODY);
    let delivery = pair
        .last_transaction()
        .unwrap()
        .as_ref()
        .expect("delivered");
    assert_eq!(delivery.reply.code().get(), 250);
    assert_eq!(delivery.reply.message(), b"Ok: queued as Q1");
    assert_eq!(delivery.recipients.len(), 2);
    assert!(delivery.recipients[0].accepted());
    assert!(!delivery.recipients[1].accepted());
    assert_eq!(delivery.recipients[1].reply.code().get(), 550);
    assert_eq!(
        delivery.recipients[1]
            .reply
            .enhanced_code()
            .unwrap()
            .to_string(),
        "5.1.1"
    );
    assert_eq!(pair.server.messages[0].rcpt_to, ["a@foo.com"]);
}

#[test]
fn flights_per_message_one_with_pipelining_and_chunking() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&["PIPELINING", "CHUNKING"]));
    let before = pair.flights;
    pair.send(envelope(&["a@foo.com", "b@foo.com", "c@foo.com"]), BODY);
    assert_eq!(
        pair.flights - before,
        1,
        "MAIL, RCPT×3, BDAT LAST and the body in one flight"
    );
    assert!(pair.server.messages[0].via_bdat);
    assert_eq!(pair.server.messages[0].body, BODY_ON_THE_WIRE);
    assert!(
        pair.server
            .commands
            .iter()
            .any(|c| c.starts_with("BDAT ") && c.ends_with(" LAST"))
    );
}

#[test]
fn flights_per_message_two_with_pipelining_alone() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&["PIPELINING"]));
    let before = pair.flights;
    pair.send(envelope(&["a@foo.com", "b@foo.com", "c@foo.com"]), BODY);
    assert_eq!(pair.flights - before, 2, "MAIL+RCPT×3+DATA, then the body");
    assert_eq!(pair.server.messages[0].body, BODY_ON_THE_WIRE);
}

#[test]
fn flights_per_message_without_extensions_are_three_plus_recipients() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&[]));
    let before = pair.flights;
    pair.send(envelope(&["a@foo.com", "b@foo.com", "c@foo.com"]), BODY);
    assert_eq!(pair.flights - before, 3 + 3);
}

#[test]
fn chunking_without_pipelining_sends_bdat_after_the_recipients() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&["CHUNKING"]));
    let before = pair.flights;
    pair.send(envelope(&["a@foo.com"]), BODY);
    assert_eq!(
        pair.flights - before,
        3,
        "MAIL, RCPT, BDAT LAST with the body"
    );
    assert!(pair.server.messages[0].via_bdat);
    assert_eq!(pair.server.messages[0].body, BODY_ON_THE_WIRE);
}

#[test]
fn unknown_size_goes_with_data_even_with_chunking() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&["PIPELINING", "CHUNKING"]));
    pair.body = BODY.to_vec();
    let info = BodyInfo {
        wire_size: None,
        eight_bit: None,
        smtputf8: false,
    };
    pair.session
        .send_message(envelope(&["a@foo.com"]), info, pair.now)
        .unwrap();
    pair.run();
    assert!(!pair.server.messages[0].via_bdat);
    assert_eq!(pair.server.messages[0].body, BODY_ON_THE_WIRE);
}

#[test]
fn several_transactions_share_one_connection() {
    for extensions in [&[][..], &["PIPELINING"], &["PIPELINING", "CHUNKING"]] {
        let mut pair = Pair::open(config(TlsPolicy::None), server(extensions));
        for i in 0..5 {
            let body = format!("Subject: {i}\r\n\r\nmessage {i}\r\n");
            pair.send(envelope(&["a@foo.com"]), body.as_bytes());
            assert!(pair.is_ready(), "{extensions:?}: ready after message {i}");
        }
        assert_eq!(pair.server.messages.len(), 5, "{extensions:?}");
        assert_eq!(
            pair.server.messages[4].body,
            b"Subject: 4\r\n\r\nmessage 4\r\n"
        );
        assert_eq!(
            pair.server
                .commands
                .iter()
                .filter(|c| c.starts_with("EHLO"))
                .count(),
            1
        );
    }
}

#[test]
fn every_recipient_refused_sends_no_body_and_resets() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&[]));
    pair.server
        .recipient_replies
        .push(("x@foo.com".into(), "550 5.1.1 no such user".into()));
    pair.server
        .recipient_replies
        .push(("y@foo.com".into(), "450 4.2.1 mailbox busy".into()));
    pair.send(envelope(&["x@foo.com", "y@foo.com"]), BODY);
    match pair.last_transaction().unwrap() {
        Err(TransactionFailure::AllRecipientsRejected { recipients }) => {
            assert_eq!(recipients.len(), 2);
            assert_eq!(recipients[1].reply.code().get(), 450);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        !pair
            .server
            .commands
            .iter()
            .any(|c| c == "DATA" || c.starts_with("BDAT"))
    );
    assert_eq!(pair.server.commands.last().unwrap(), "RSET");
    assert!(pair.is_ready());
    assert!(!kinds(&pair.events).contains(&"send-body"));
}

#[test]
fn every_recipient_refused_with_pipelining_fails_at_data_and_resets() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&["PIPELINING"]));
    pair.server
        .recipient_replies
        .push(("x@foo.com".into(), "550 5.1.1 no such user".into()));
    pair.send(envelope(&["x@foo.com"]), BODY);
    assert!(matches!(
        pair.last_transaction().unwrap(),
        Err(TransactionFailure::AllRecipientsRejected { .. })
    ));
    assert_eq!(pair.server.commands.last().unwrap(), "RSET");
    assert!(pair.server.messages.is_empty());
    assert!(pair.is_ready());
}

#[test]
fn data_accepted_without_recipients_gets_an_empty_end_and_no_body() {
    // RFC 2920 §3.1: a server may answer DATA with 354 although every RCPT failed.
    let fake =
        server(&["PIPELINING"]).fault(Stage::Data, Fault::Reply(b"354 go ahead\r\n".to_vec()));
    let mut pair = Pair::open(config(TlsPolicy::None), fake);
    pair.server
        .recipient_replies
        .push(("x@foo.com".into(), "550 5.1.1 no such user".into()));
    // The fake server would otherwise enter DATA mode only when it accepted a recipient.
    pair.send(envelope(&["x@foo.com"]), BODY);
    assert!(
        !pair.server.wire.windows(12).any(|w| w == b"leading dot\r"),
        "the body must not be sent"
    );
    assert!(matches!(
        pair.last_transaction(),
        Some(Err(TransactionFailure::AllRecipientsRejected { .. }))
    ));
}

#[test]
fn mail_refused_ends_the_transaction_without_rset() {
    for extensions in [&[][..], &["PIPELINING"]] {
        let fake = server(extensions).fault(
            Stage::Mail,
            Fault::Reply(b"553 5.7.1 sender rejected\r\n".to_vec()),
        );
        let mut pair = Pair::open(config(TlsPolicy::None), fake);
        pair.send(envelope(&["a@foo.com"]), BODY);
        match pair.last_transaction().unwrap() {
            Err(TransactionFailure::MailRejected { reply }) => assert_eq!(reply.code().get(), 553),
            other => panic!("{extensions:?}: unexpected {other:?}"),
        }
        assert!(
            !pair.server.commands.contains(&"RSET".to_string()),
            "{extensions:?}"
        );
        assert!(pair.is_ready());
    }
}

#[test]
fn message_refused_after_the_final_dot_needs_no_rset() {
    let fake = server(&["PIPELINING"]).fault(
        Stage::FinalDot,
        Fault::Reply(b"554 5.7.1 spam\r\n".to_vec()),
    );
    let mut pair = Pair::open(config(TlsPolicy::None), fake);
    pair.send(envelope(&["a@foo.com"]), BODY);
    match pair.last_transaction().unwrap() {
        Err(TransactionFailure::MessageRejected { reply, recipients }) => {
            assert_eq!(reply.code().get(), 554);
            assert_eq!(recipients.len(), 1);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!pair.server.commands.contains(&"RSET".to_string()));
    assert!(pair.is_ready());
}

#[test]
fn data_refused_resets_after_recipients_were_accepted() {
    let fake = server(&[]).fault(
        Stage::Data,
        Fault::Reply(b"451 4.3.0 try later\r\n".to_vec()),
    );
    let mut pair = Pair::open(config(TlsPolicy::None), fake);
    pair.send(envelope(&["a@foo.com"]), BODY);
    assert!(matches!(
        pair.last_transaction(),
        Some(Err(TransactionFailure::DataRejected { .. }))
    ));
    assert_eq!(pair.server.commands.last().unwrap(), "RSET");
    assert!(pair.is_ready());
}

#[test]
fn noop_and_rset_report_their_replies() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&[]));
    pair.session.noop(pair.now).unwrap();
    pair.run();
    pair.session.reset(pair.now).unwrap();
    pair.run();
    let tail: Vec<_> = kinds(&pair.events).into_iter().skip(1).collect();
    assert_eq!(tail, ["noop", "ready", "reset", "ready"]);
    assert_eq!(pair.server.commands[1..], ["NOOP", "RSET"]);
}

#[test]
fn requests_outside_the_ready_state_are_refused_without_sending() {
    let mut pair = Pair::new(config(TlsPolicy::None), server(&[]));
    let err = pair
        .session
        .send_message(envelope(&["a@foo.com"]), body_info(BODY), pair.now)
        .unwrap_err();
    assert_eq!(err, UsageError::NotReady(Step::Greeting));
    assert_eq!(
        pair.session.noop(pair.now).unwrap_err(),
        UsageError::NotReady(Step::Greeting)
    );
    assert_eq!(
        pair.session.write_body(b"x", pair.now).unwrap_err(),
        UsageError::NotReady(Step::Greeting)
    );
    let mut out = Vec::new();
    assert!(!pair.session.poll_transmit(&mut out));
}

#[test]
fn helo_fallback_when_ehlo_is_not_understood() {
    for code in [
        "500 5.5.1 unrecognized command",
        "502 5.5.2 not implemented",
    ] {
        let mut fake = server(&["PIPELINING"]);
        fake.ehlo_reply = Some(code.to_string());
        let mut pair = Pair::open(config(TlsPolicy::Opportunistic), fake);
        assert!(pair.is_ready(), "{code}");
        assert_eq!(
            pair.server.commands,
            ["EHLO client.example", "HELO client.example"]
        );
        assert!(!pair.session.capabilities().unwrap().pipelining());
        pair.send(envelope(&["a@foo.com"]), BODY);
        assert_eq!(pair.server.messages.len(), 1);
    }
}

#[test]
fn ehlo_refused_otherwise_is_terminal() {
    let mut fake = server(&[]);
    fake.ehlo_reply = Some("550 5.7.1 go away".into());
    let pair = Pair::open(config(TlsPolicy::None), fake);
    assert!(matches!(
        pair.error(),
        Some(SessionError::Refused {
            step: Step::Ehlo,
            ..
        })
    ));
    assert_eq!(pair.server.commands, ["EHLO client.example"]);
}

#[test]
fn greeting_554_is_a_typed_refusal() {
    let fake = server(&[]).fault(
        Stage::Greeting,
        Fault::Reply(b"554 5.3.2 no service here\r\n".to_vec()),
    );
    let pair = Pair::open(config(TlsPolicy::None), fake);
    match pair.error() {
        Some(SessionError::Refused {
            step: Step::Greeting,
            reply,
        }) => assert_eq!(reply.code().get(), 554),
        other => panic!("unexpected {other:?}"),
    }
    assert!(pair.server.commands.is_empty());
}

#[test]
fn parameters_follow_the_message_and_the_extensions() {
    let mut pair = Pair::open(
        config(TlsPolicy::None),
        server(&["SIZE 1000000", "8BITMIME", "SMTPUTF8", "PIPELINING"]),
    );
    let body = "Subject: caf\u{e9}\r\n\r\nna\u{ef}ve\r\n".as_bytes();
    pair.send(envelope(&["a@foo.com"]), body);
    let mail = pair
        .server
        .commands
        .iter()
        .find(|c| c.starts_with("MAIL"))
        .unwrap();
    assert!(mail.contains(&format!("SIZE={}", body.len())), "{mail}");
    assert!(mail.contains("BODY=8BITMIME"), "{mail}");
    assert!(!mail.contains("SMTPUTF8"), "{mail}");
    assert_eq!(pair.server.messages[0].body, body);
}

#[test]
fn smtputf8_is_requested_for_utf8_addresses() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&["8BITMIME", "SMTPUTF8"]));
    pair.send(envelope(&["j\u{f6}rg@b\u{fc}cher.example"]), BODY);
    let mail = pair
        .server
        .commands
        .iter()
        .find(|c| c.starts_with("MAIL"))
        .unwrap();
    assert!(mail.contains("SMTPUTF8"), "{mail}");
    assert_eq!(pair.server.messages.len(), 1);
}

#[test]
fn what_the_server_cannot_take_fails_before_anything_is_sent() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&["SIZE 100"]));
    let sent = pair.server.wire.len();
    let big = vec![b'x'; 150];
    let err = pair
        .session
        .send_message(envelope(&["a@foo.com"]), body_info(&big), pair.now)
        .unwrap_err();
    assert_eq!(
        err,
        UsageError::MessageTooLarge {
            size: 152,
            limit: 100
        }
    );
    let eight_bit = BodyInfo {
        wire_size: Some(10),
        eight_bit: Some(true),
        smtputf8: false,
    };
    let err = pair
        .session
        .send_message(envelope(&["a@foo.com"]), eight_bit, pair.now)
        .unwrap_err();
    assert_eq!(err, UsageError::EightBitUnsupported);
    let err = pair
        .session
        .send_message(envelope(&["j\u{f6}rg@foo.com"]), body_info(BODY), pair.now)
        .unwrap_err();
    assert_eq!(err, UsageError::SmtpUtf8Unsupported);
    let mut dsn = envelope(&["a@foo.com"]);
    dsn.ret = Some(smtpwire::command::DsnReturn::Headers);
    assert_eq!(
        pair.session
            .send_message(dsn, body_info(BODY), pair.now)
            .unwrap_err(),
        UsageError::DsnUnsupported
    );
    let empty = smtpwire::session::Envelope::new(ReversePath::Null, Vec::new());
    assert_eq!(
        pair.session
            .send_message(empty, body_info(BODY), pair.now)
            .unwrap_err(),
        UsageError::NoRecipients
    );
    let mut out = Vec::new();
    assert!(!pair.session.poll_transmit(&mut out), "nothing queued");
    assert_eq!(pair.server.wire.len(), sent);
    assert!(pair.is_ready(), "the session is still usable");
    pair.send(envelope(&["a@foo.com"]), b"ok\r\n");
    assert_eq!(pair.server.messages.len(), 1);
}

#[test]
fn null_reverse_path_is_sent_as_empty_brackets() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&[]));
    pair.body = BODY.to_vec();
    let bounce = smtpwire::session::Envelope::new(ReversePath::Null, vec![address("a@foo.com")]);
    pair.session
        .send_message(bounce, body_info(BODY), pair.now)
        .unwrap();
    pair.run();
    assert!(pair.server.commands.contains(&"MAIL FROM:<>".to_string()));
}

#[test]
fn a_line_over_998_octets_fails_without_ending_the_message() {
    for extensions in [&[][..], &["PIPELINING", "CHUNKING"]] {
        let mut pair = Pair::open(config(TlsPolicy::None), server(extensions));
        let mut body = b"Subject: long\r\n\r\n".to_vec();
        body.extend(std::iter::repeat_n(b'a', 999));
        body.extend_from_slice(b"\r\n");
        pair.body = body.clone();
        // BodyInfo from the caller without a size: the check happens while streaming.
        let info = BodyInfo {
            wire_size: None,
            eight_bit: Some(false),
            smtputf8: false,
        };
        pair.session
            .send_message(envelope(&["a@foo.com"]), info, pair.now)
            .unwrap();
        pair.run();
        assert!(
            matches!(pair.error(), Some(SessionError::LineTooLong(_))),
            "{extensions:?}: {:?}",
            pair.error()
        );
        assert!(
            !pair.server.wire.ends_with(b"\r\n.\r\n"),
            "the end of data must never be sent"
        );
        assert!(pair.server.messages.is_empty());
        assert!(pair.sent_after_failure.is_empty());
    }
}

#[test]
fn bdat_size_must_match_what_is_written() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&["CHUNKING", "PIPELINING"]));
    let info = BodyInfo {
        wire_size: Some(5),
        eight_bit: Some(false),
        smtputf8: false,
    };
    pair.session
        .send_message(envelope(&["a@foo.com"]), info, pair.now)
        .unwrap();
    assert_eq!(pair.session.poll_event(), Some(Event::SendBody));
    let err = pair
        .session
        .write_body(b"0123456789", pair.now)
        .unwrap_err();
    assert_eq!(
        err,
        UsageError::BodySizeMismatch {
            declared: 5,
            actual: 10
        }
    );
    assert!(matches!(
        pair.error(),
        Some(SessionError::BodySizeMismatch { .. })
    ));
    let mut out = Vec::new();
    assert!(
        !pair.session.poll_transmit(&mut out),
        "nothing is sent after the failure"
    );
}

#[test]
fn errors_stick_and_nothing_is_sent_afterwards() {
    let fake = server(&[]).fault(Stage::Mail, Fault::ServiceClosing);
    let mut pair = Pair::open(config(TlsPolicy::None), fake);
    pair.send(envelope(&["a@foo.com"]), BODY);
    let error = pair.error().cloned().expect("failed");
    assert!(matches!(error, SessionError::ServiceClosing { .. }));
    assert_eq!(
        pair.session
            .send_message(envelope(&["a@foo.com"]), body_info(BODY), pair.now),
        Err(UsageError::Failed(Box::new(error.clone())))
    );
    assert_eq!(
        pair.session.noop(pair.now),
        Err(UsageError::Failed(Box::new(error.clone())))
    );
    assert_eq!(
        pair.session.quit(pair.now),
        Err(UsageError::Failed(Box::new(error.clone())))
    );
    pair.session.handle_input(b"250 ok\r\n", pair.now);
    pair.session.handle_eof(pair.now);
    pair.session
        .handle_timeout(pair.now.saturating_add(Duration::from_secs(86_400)));
    assert_eq!(pair.session.error(), Some(&error));
    let mut out = Vec::new();
    assert!(!pair.session.poll_transmit(&mut out));
    assert_eq!(pair.session.poll_timeout(), None);
    assert_eq!(
        kinds(&pair.events)
            .iter()
            .filter(|k| **k == "failed")
            .count(),
        1
    );
    assert!(pair.sent_after_failure.is_empty());
}

#[test]
fn a_reply_nobody_asked_for_is_a_protocol_error() {
    // Two replies in the greeting's packet: the second cannot answer EHLO, not yet sent.
    let mut pair = Pair::new(config(TlsPolicy::None), server(&[]));
    pair.session
        .handle_input(b"220 hello\r\n250 surprise\r\n", pair.now);
    assert!(matches!(
        pair.error(),
        Some(SessionError::Protocol {
            violation: ProtocolViolation::UnexpectedReply(_),
            ..
        })
    ));
    let mut out = Vec::new();
    assert!(
        !pair.session.poll_transmit(&mut out),
        "EHLO is not sent after the failure"
    );

    // A reply while idle.
    let mut pair = Pair::open(config(TlsPolicy::None), server(&[]));
    pair.session.handle_input(b"250 extra\r\n", pair.now);
    assert!(matches!(
        pair.error(),
        Some(SessionError::Protocol {
            interruption: Interruption {
                step: Step::Idle,
                ..
            },
            violation: ProtocolViolation::UnexpectedReply(_)
        })
    ));

    // An extra reply without PIPELINING is never matched to the next command.
    let fake = server(&[]).fault(
        Stage::Mail,
        Fault::Reply(b"250 ok\r\n250 extra\r\n".to_vec()),
    );
    let mut pair = Pair::open(config(TlsPolicy::None), fake);
    pair.send(envelope(&["a@foo.com"]), BODY);
    assert!(matches!(
        pair.error(),
        Some(SessionError::Protocol {
            violation: ProtocolViolation::UnexpectedReply(_),
            ..
        })
    ));
    assert!(!pair.server.commands.iter().any(|c| c.starts_with("RCPT")));
}

#[test]
fn an_unsolicited_421_while_idle_is_service_closing() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&[]));
    pair.session.handle_input(
        b"421 4.4.2 fake.example Error: timeout exceeded\r\n",
        pair.now,
    );
    match pair.error() {
        Some(SessionError::ServiceClosing {
            reply,
            interruption,
        }) => {
            assert_eq!(reply.enhanced_code().unwrap().to_string(), "4.4.2");
            assert_eq!(interruption.step, Step::Idle);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(pair.error().unwrap().is_reconnectable());
}

#[test]
fn a_trickling_server_cannot_extend_the_deadline() {
    let mut pair = Pair::new(config(TlsPolicy::None), server(&[]));
    pair.session.handle_input(b"220 hi\r\n", pair.now);
    let mut out = Vec::new();
    assert!(pair.session.poll_transmit(&mut out));
    let deadline = pair.session.poll_timeout().unwrap();
    // One byte every 10 seconds: the reply would take far longer than the 60 s allowed.
    let trickle = b"250-fake.example\r\n250-PIPELINING\r\n250-SIZE 10\r\n250 8BITMIME\r\n";
    for byte in trickle {
        pair.advance(Duration::from_secs(10));
        pair.session
            .handle_input(std::slice::from_ref(byte), pair.now);
        assert_eq!(
            pair.session.poll_timeout(),
            Some(deadline),
            "bytes must not move the deadline"
        );
        pair.session.handle_timeout(pair.now);
        if pair.error().is_some() {
            break;
        }
    }
    match pair.error() {
        Some(SessionError::Timeout { interruption }) => assert_eq!(interruption.step, Step::Ehlo),
        other => panic!("unexpected {other:?}"),
    }
    assert!(pair.now <= deadline.saturating_add(Duration::from_secs(10)));
}

#[test]
fn timeouts_follow_rfc5321_per_command() {
    let mut config = config(TlsPolicy::None);
    config.timeouts = smtpwire::session::Timeouts::default();
    let mut pair = Pair::new(config, server(&[]));
    let start = pair.now;
    assert_eq!(
        pair.session.poll_timeout(),
        Some(start.saturating_add(Duration::from_secs(300)))
    );
    pair.session.handle_input(b"220 hi\r\n250", start);
    // The greeting's deadline is replaced by EHLO's once the greeting is complete.
    assert_eq!(
        pair.session.poll_timeout(),
        Some(start.saturating_add(Duration::from_secs(300)))
    );
    pair.session
        .handle_timeout(start.saturating_add(Duration::from_secs(299)));
    assert!(pair.error().is_none(), "not before the deadline");
}

#[test]
fn quit_ends_the_session_on_221_or_on_close() {
    let mut pair = Pair::open(config(TlsPolicy::None), server(&[]));
    pair.session.quit(pair.now).unwrap();
    pair.run();
    assert_eq!(pair.events.last(), Some(&Event::Closed));
    assert!(pair.error().is_none());
    assert_eq!(pair.session.quit(pair.now), Err(UsageError::Closed));

    let fake = server(&[]).fault(Stage::Quit, Fault::Eof);
    let mut pair = Pair::open(config(TlsPolicy::None), fake);
    pair.session.quit(pair.now).unwrap();
    pair.run();
    assert_eq!(pair.events.last(), Some(&Event::Closed));
    assert!(pair.error().is_none());
}

#[test]
fn auth_plain_after_starttls() {
    let mut config = config(TlsPolicy::Required);
    config.credentials = Some(credentials());
    let mut fake = server(&["STARTTLS", "PIPELINING"]);
    fake.extensions_after_tls = Some(vec!["AUTH PLAIN LOGIN".into(), "PIPELINING".into()]);
    let pair = Pair::open(config, fake);
    assert!(pair.is_ready(), "{:?}", pair.error());
    assert!(pair.session.is_tls());
    let auth = pair
        .server
        .commands
        .iter()
        .position(|c| c.starts_with("AUTH PLAIN "))
        .unwrap();
    let tls = pair
        .server
        .commands
        .iter()
        .position(|c| c == "STARTTLS")
        .unwrap();
    assert!(tls < auth);
    assert_eq!(
        pair.server.commands[auth],
        "AUTH PLAIN AHVzZXIAc2VjcmV0LXBhc3N3b3Jk"
    );
}

#[test]
fn auth_login_answers_each_challenge() {
    let mut config = config(TlsPolicy::Implicit);
    config.credentials = Some(credentials());
    let pair = Pair::open(config, server(&["AUTH LOGIN"]));
    assert!(pair.is_ready(), "{:?}", pair.error());
    assert_eq!(
        pair.server.commands[1..],
        ["AUTH LOGIN", "dXNlcg==", "c2VjcmV0LXBhc3N3b3Jk"]
    );
}

#[test]
fn auth_refused_is_terminal() {
    let mut config = config(TlsPolicy::Implicit);
    config.credentials = Some(credentials());
    let fake = server(&["AUTH PLAIN"]).fault(
        Stage::Auth,
        Fault::Reply(b"535 5.7.8 bad credentials\r\n".to_vec()),
    );
    let pair = Pair::open(config, fake);
    match pair.error() {
        Some(SessionError::AuthFailed { reply }) => assert_eq!(reply.code().get(), 535),
        other => panic!("unexpected {other:?}"),
    }
    assert!(!pair.error().unwrap().is_reconnectable());
}

#[test]
fn no_credentials_without_tls_unless_allowed() {
    let mut config = config(TlsPolicy::Opportunistic);
    config.credentials = Some(credentials());
    let pair = Pair::open(config.clone(), server(&["AUTH PLAIN LOGIN"]));
    assert_eq!(pair.error(), Some(&SessionError::AuthRequiresTls));
    assert!(
        !pair.server.wire.windows(4).any(|w| w == b"AUTH"),
        "no AUTH bytes on a plaintext connection"
    );

    config.allow_plaintext_auth = true;
    let pair = Pair::open(config, server(&["AUTH PLAIN LOGIN"]));
    assert!(pair.is_ready());
    assert!(
        pair.server
            .commands
            .iter()
            .any(|c| c.starts_with("AUTH PLAIN"))
    );
}

#[test]
fn no_common_mechanism_is_a_typed_failure() {
    let mut config = config(TlsPolicy::Implicit);
    config.credentials = Some(credentials());
    let pair = Pair::open(config, server(&["AUTH CRAM-MD5 GSSAPI"]));
    assert_eq!(pair.error(), Some(&SessionError::AuthUnavailable));
}

#[test]
fn debug_output_never_shows_credentials() {
    let mut config = config(TlsPolicy::Implicit);
    config.credentials = Some(credentials());
    let mut pair = Pair::new(config, server(&["AUTH PLAIN"]));
    pair.session.handle_input(b"220 hi\r\n", pair.now);
    let mut out = Vec::new();
    assert!(pair.session.poll_transmit(&mut out));
    pair.session
        .handle_input(b"250-hi\r\n250 AUTH PLAIN\r\n", pair.now);
    assert!(pair.session.pending_transmit_len() > 0, "AUTH is queued");
    let debug = format!("{:?}", pair.session);
    assert!(!debug.contains("secret-password"), "{debug}");
    assert!(!debug.contains("AHVzZXIAc2VjcmV0LXBhc3N3b3Jk"), "{debug}");
}

#[test]
fn the_caller_chooses_the_auth_mechanism_order() {
    let mut config = config(TlsPolicy::Implicit);
    config.credentials = Some(credentials());
    config.auth_mechanisms = Some(vec![Mechanism::Login, Mechanism::Plain]);
    let pair = Pair::open(config.clone(), server(&["AUTH PLAIN LOGIN"]));
    assert!(pair.is_ready(), "{:?}", pair.error());
    assert_eq!(
        pair.server.commands[1..],
        ["AUTH LOGIN", "dXNlcg==", "c2VjcmV0LXBhc3N3b3Jk"]
    );

    // A preference the credentials cannot serve is skipped, never sent.
    config.auth_mechanisms = Some(vec![Mechanism::XOAuth2]);
    let pair = Pair::open(config, server(&["AUTH PLAIN LOGIN XOAUTH2"]));
    assert_eq!(pair.error(), Some(&SessionError::AuthUnavailable));
    assert_eq!(pair.server.commands, ["EHLO client.example"]);
}
