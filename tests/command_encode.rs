//! The exact bytes of every command, and a cross-check of MAIL, RCPT, BDAT and EHLO lines
//! against an independent server-side parser (smtp-proto).

use smtp_proto::{
    MAIL_BODY_8BITMIME, MAIL_BODY_BINARYMIME, MAIL_RET_HDRS, MAIL_SMTPUTF8, RCPT_NOTIFY_DELAY,
    RCPT_NOTIFY_FAILURE, RCPT_NOTIFY_NEVER, RCPT_NOTIFY_SUCCESS, Request,
};
use smtpwire::address::{Address, ReversePath};
use smtpwire::command::{
    BodyType, Command, DsnReturn, EnvelopeId, EnvelopeIdError, MailParameters, Notify,
    RcptParameters,
};
use smtpwire::ehlo_name::EhloName;

fn encode(command: Command<'_>) -> String {
    let mut out = Vec::new();
    command.encode(&mut out);
    String::from_utf8(out).expect("commands are UTF-8")
}

fn address(text: &str) -> Address {
    Address::parse(text).expect("test address")
}

/// `RCPT TO` for `to` with `notify` and `orcpt`.
fn rcpt(to: &Address, notify: Option<Notify>, orcpt: Option<&Address>) -> String {
    let params = RcptParameters {
        notify,
        orcpt: orcpt.cloned(),
    };
    encode(Command::Rcpt {
        to,
        params: &params,
    })
}

/// Parses `line` as a server would.
fn server_parse(line: &str) -> Request<String> {
    Request::parse(&mut line.as_bytes().iter())
        .expect("smtp-proto parses the line")
        .into_owned()
}

#[test]
fn commands_without_arguments() {
    assert_eq!(encode(Command::StartTls), "STARTTLS\r\n");
    assert_eq!(encode(Command::Data), "DATA\r\n");
    assert_eq!(encode(Command::Rset), "RSET\r\n");
    assert_eq!(encode(Command::Noop), "NOOP\r\n");
    assert_eq!(encode(Command::Quit), "QUIT\r\n");
}

#[test]
fn ehlo_and_helo() {
    let name = EhloName::parse("client.example.com").unwrap();
    assert_eq!(encode(Command::Ehlo(&name)), "EHLO client.example.com\r\n");
    assert_eq!(encode(Command::Helo(&name)), "HELO client.example.com\r\n");
    let literal = EhloName::from_ip("192.0.2.1".parse().unwrap());
    assert_eq!(encode(Command::Ehlo(&literal)), "EHLO [192.0.2.1]\r\n");
    assert_eq!(
        server_parse(&encode(Command::Ehlo(&literal))),
        Request::Ehlo {
            host: "[192.0.2.1]".into()
        }
    );
}

#[test]
fn bdat_sizes() {
    assert_eq!(
        encode(Command::Bdat {
            size: 0,
            last: true
        }),
        "BDAT 0 LAST\r\n"
    );
    assert_eq!(
        encode(Command::Bdat {
            size: 65536,
            last: false
        }),
        "BDAT 65536\r\n"
    );
    assert_eq!(
        encode(Command::Bdat {
            size: u64::MAX,
            last: false
        }),
        "BDAT 18446744073709551615\r\n"
    );
    assert_eq!(
        server_parse(&encode(Command::Bdat {
            size: 1234,
            last: true
        })),
        Request::Bdat {
            chunk_size: 1234,
            is_last: true
        }
    );
    assert_eq!(
        server_parse(&encode(Command::Bdat {
            size: 99,
            last: false
        })),
        Request::Bdat {
            chunk_size: 99,
            is_last: false
        }
    );
}

#[test]
fn mail_from_null_and_plain() {
    let params = MailParameters::default();
    assert_eq!(
        encode(Command::Mail {
            from: &ReversePath::Null,
            params: &params
        }),
        "MAIL FROM:<>\r\n"
    );
    let from = ReversePath::Address(address("a@example.com"));
    assert_eq!(
        encode(Command::Mail {
            from: &from,
            params: &params
        }),
        "MAIL FROM:<a@example.com>\r\n"
    );
}

#[test]
fn mail_from_with_every_parameter() {
    let from = ReversePath::Address(address("bounce+id=1@example.com"));
    let params = MailParameters {
        size: Some(123_456),
        body: Some(BodyType::EightBitMime),
        smtputf8: true,
        ret: Some(DsnReturn::Headers),
        envid: Some(EnvelopeId::new("QQ314159 a+b=c").unwrap()),
    };
    let line = encode(Command::Mail {
        from: &from,
        params: &params,
    });
    assert_eq!(
        line,
        "MAIL FROM:<bounce+id=1@example.com> SIZE=123456 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159+20a+2Bb+3Dc\r\n"
    );
    let Request::Mail { from: parsed } = server_parse(&line) else {
        panic!("not MAIL: {line}")
    };
    assert_eq!(parsed.address, "bounce+id=1@example.com");
    assert_eq!(parsed.size, 123_456);
    assert_eq!(
        parsed.flags,
        MAIL_BODY_8BITMIME | MAIL_SMTPUTF8 | MAIL_RET_HDRS
    );
    assert_eq!(
        parsed.env_id.as_deref(),
        Some("QQ314159 a+b=c"),
        "xtext round trip"
    );
}

#[test]
fn body_and_ret_values() {
    let from = ReversePath::Null;
    let cases = [
        (BodyType::SevenBit, "7BIT"),
        (BodyType::EightBitMime, "8BITMIME"),
        (BodyType::BinaryMime, "BINARYMIME"),
    ];
    for (body, text) in cases {
        let params = MailParameters {
            body: Some(body),
            ..MailParameters::default()
        };
        assert_eq!(
            encode(Command::Mail {
                from: &from,
                params: &params
            }),
            format!("MAIL FROM:<> BODY={text}\r\n")
        );
    }
    let params = MailParameters {
        body: Some(BodyType::BinaryMime),
        ret: Some(DsnReturn::Full),
        ..MailParameters::default()
    };
    let Request::Mail { from: parsed } = server_parse(&encode(Command::Mail {
        from: &from,
        params: &params,
    })) else {
        panic!("not MAIL")
    };
    assert_eq!(
        parsed.flags,
        MAIL_BODY_BINARYMIME | smtp_proto::MAIL_RET_FULL
    );
}

#[test]
fn rcpt_to_with_notify_and_orcpt() {
    let to = address("\"john doe\"@example.com");
    let line = rcpt(&to, Notify::on(true, true, false), Some(&to));
    assert_eq!(
        line,
        "RCPT TO:<\"john doe\"@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;\"john+20doe\"@example.com\r\n"
    );
    let Request::Rcpt { to: parsed } = server_parse(&line) else {
        panic!("not RCPT: {line}")
    };
    assert_eq!(parsed.flags, RCPT_NOTIFY_SUCCESS | RCPT_NOTIFY_FAILURE);
    assert_eq!(
        parsed.orcpt.as_deref(),
        Some("\"john doe\"@example.com"),
        "xtext round trip"
    );
}

#[test]
fn notify_combinations() {
    let to = address("a@example.com");
    let cases = [
        (Notify::Never, "NEVER", RCPT_NOTIFY_NEVER),
        (
            Notify::On {
                success: true,
                failure: false,
                delay: false,
            },
            "SUCCESS",
            RCPT_NOTIFY_SUCCESS,
        ),
        (
            Notify::On {
                success: false,
                failure: true,
                delay: true,
            },
            "FAILURE,DELAY",
            RCPT_NOTIFY_FAILURE | RCPT_NOTIFY_DELAY,
        ),
        (
            Notify::On {
                success: true,
                failure: true,
                delay: true,
            },
            "SUCCESS,FAILURE,DELAY",
            RCPT_NOTIFY_SUCCESS | RCPT_NOTIFY_FAILURE | RCPT_NOTIFY_DELAY,
        ),
        // Built directly with nothing chosen: asking for no notification is NEVER.
        (
            Notify::On {
                success: false,
                failure: false,
                delay: false,
            },
            "NEVER",
            RCPT_NOTIFY_NEVER,
        ),
    ];
    for (notify, text, flags) in cases {
        let line = rcpt(&to, Some(notify), None);
        assert_eq!(line, format!("RCPT TO:<a@example.com> NOTIFY={text}\r\n"));
        let Request::Rcpt { to: parsed } = server_parse(&line) else {
            panic!("not RCPT")
        };
        assert_eq!(parsed.flags, flags, "{text}");
    }
}

#[test]
fn notify_constructor_refuses_the_empty_combination() {
    assert_eq!(Notify::on(false, false, false), None);
    assert_eq!(
        Notify::on(false, false, true),
        Some(Notify::On {
            success: false,
            failure: false,
            delay: true
        })
    );
}

#[test]
fn utf8_orcpt_uses_the_utf8_address_type() {
    // RFC 6533 §3: utf-8-addr-xtext, 7-bit and safe even without SMTPUTF8.
    let to = address("用户+x@例子.广告");
    let line = rcpt(&to, None, Some(&to));
    assert_eq!(
        line,
        "RCPT TO:<用户+x@例子.广告> ORCPT=utf-8;\\x{7528}\\x{6237}\\x{2B}x@\\x{4F8B}\\x{5B50}.\\x{5E7F}\\x{544A}\r\n"
    );
}

#[test]
fn envelope_id_rules() {
    assert_eq!(EnvelopeId::new("").unwrap_err(), EnvelopeIdError::Empty);
    assert_eq!(
        EnvelopeId::new("id\u{e9}").unwrap_err(),
        EnvelopeIdError::NonAscii
    );
    assert_eq!(
        EnvelopeId::new(&"x".repeat(101)).unwrap_err(),
        EnvelopeIdError::TooLong
    );
    assert_eq!(
        EnvelopeId::new(&"x".repeat(100)).unwrap().as_str().len(),
        100
    );
    // Every character xtext must encode goes out as +HH and comes back intact.
    let every_printable: String = (' '..='~').take(100).collect();
    let id = EnvelopeId::new(&every_printable).unwrap();
    let params = MailParameters {
        envid: Some(id),
        ..MailParameters::default()
    };
    let line = encode(Command::Mail {
        from: &ReversePath::Null,
        params: &params,
    });
    let Request::Mail { from: parsed } = server_parse(&line) else {
        panic!("not MAIL: {line}")
    };
    assert_eq!(parsed.env_id.as_deref(), Some(every_printable.as_str()));
}

#[test]
fn encode_appends_without_touching_what_is_already_there() {
    let mut out = b"NOOP\r\n".to_vec();
    Command::Quit.encode(&mut out);
    assert_eq!(out, b"NOOP\r\nQUIT\r\n");
}
