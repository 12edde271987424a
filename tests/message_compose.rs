//! Composing whole messages: exact bytes, header order, envelope and body information.

use smtpwire::address::{Address, ReversePath};
use smtpwire::message::{ComposeError, Mailbox, Message, MessageBuilder, MessageId};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2026-11-28T23:47:35Z.
fn fixed_date() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_909_655)
}

fn mailbox(text: &str) -> Mailbox {
    text.parse().unwrap()
}

fn address(text: &str) -> Address {
    Address::parse(text).unwrap()
}

fn fixed_builder() -> MessageBuilder {
    Message::builder()
        .from(mailbox("Ann Example <ann@example.com>"))
        .date(fixed_date())
        .message_id(MessageId::parse("<fixed.1@example.com>").unwrap())
}

fn text_of(message: &Message) -> String {
    String::from_utf8(message.as_bytes().to_vec()).unwrap()
}

#[test]
fn simple_ascii_message_has_exact_bytes() {
    let message = fixed_builder()
        .to(mailbox("bob@example.org"))
        .subject("Lunch")
        .text_body("See you at noon.\n")
        .build()
        .unwrap();
    let expected = "Date: Sat, 28 Nov 2026 23:47:35 +0000\r\n\
        From: Ann Example <ann@example.com>\r\n\
        To: bob@example.org\r\n\
        Subject: Lunch\r\n\
        Message-ID: <fixed.1@example.com>\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: text/plain; charset=UTF-8\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\
        \r\n\
        See you at noon.\r\n";
    assert_eq!(text_of(&message), expected);
    assert_eq!(message.clone().into_bytes(), expected.as_bytes());
    assert_eq!(message.date(), fixed_date());
    assert_eq!(message.message_id().to_string(), "<fixed.1@example.com>");
}

#[test]
fn all_address_headers_in_order_and_bcc_only_in_the_envelope() {
    let message = fixed_builder()
        .reply_to(mailbox("Help Desk <help@example.com>"))
        .to(mailbox("bob@example.org"))
        .to(mailbox("Carol <carol@example.net>"))
        .cc(mailbox("\"Doe, Dan\" <dan@example.net>"))
        .bcc(mailbox("Eve Hidden <eve@example.net>"))
        .subject("Plans")
        .header("X-Mailer", "smtpwire")
        .unwrap()
        .build()
        .unwrap();
    let text = text_of(&message);
    let expected_head = "Date: Sat, 28 Nov 2026 23:47:35 +0000\r\n\
        From: Ann Example <ann@example.com>\r\n\
        Reply-To: Help Desk <help@example.com>\r\n\
        To: bob@example.org, Carol <carol@example.net>\r\n\
        Cc: \"Doe, Dan\" <dan@example.net>\r\n\
        Subject: Plans\r\n\
        Message-ID: <fixed.1@example.com>\r\n\
        X-Mailer: smtpwire\r\n\
        MIME-Version: 1.0\r\n";
    assert!(text.starts_with(expected_head), "{text}");
    assert!(
        !text.contains("eve"),
        "a Bcc address leaked into the message: {text}"
    );
    assert!(!text.contains("Hidden"));
    assert!(!text.to_ascii_lowercase().contains("bcc"));

    let recipients: Vec<&str> = message.recipients().iter().map(Address::as_str).collect();
    assert_eq!(
        recipients,
        [
            "bob@example.org",
            "carol@example.net",
            "dan@example.net",
            "eve@example.net"
        ]
    );
    assert_eq!(message.sender().as_str(), "ann@example.com");
    let envelope = message.envelope();
    assert_eq!(
        envelope.from,
        ReversePath::Address(address("ann@example.com"))
    );
    assert_eq!(envelope.recipients, message.recipients());
    assert_eq!(envelope.ret, None);
}

#[test]
fn recipients_are_deduplicated_in_order_with_domains_caseless() {
    let message = fixed_builder()
        .to(mailbox("b@example.org"))
        .to(mailbox("a@example.org"))
        .cc(mailbox("Bee <b@EXAMPLE.org>"))
        .bcc(mailbox("a@example.org"))
        .bcc(mailbox("A@example.org"))
        .build()
        .unwrap();
    let recipients: Vec<&str> = message.recipients().iter().map(Address::as_str).collect();
    // Local parts are case-sensitive, so A@ is someone else.
    assert_eq!(
        recipients,
        ["b@example.org", "a@example.org", "A@example.org"]
    );
}

#[test]
fn a_display_name_never_stands_in_for_the_address() {
    // The boulder mistake was `To: "a@b.c"`: a quoted name and no address at all.
    let named = Mailbox::new(Some("a@b.c".to_string()), address("a@b.c")).unwrap();
    let message = fixed_builder()
        .to(named)
        .to(mailbox("x@y.z"))
        .build()
        .unwrap();
    let text = text_of(&message);
    assert!(
        text.contains("\r\nTo: \"a@b.c\" <a@b.c>, x@y.z\r\n"),
        "{text}"
    );
    // A quoted name alone is not a mailbox: there is no address to take.
    assert!("\"a@b.c\"".parse::<Mailbox>().is_err());
}

#[test]
fn mailbox_parsing_forms() {
    let plain = mailbox("a@example.com");
    assert_eq!(
        (plain.name(), plain.address().as_str()),
        (None, "a@example.com")
    );
    let bracketed = mailbox("<a@example.com>");
    assert_eq!(
        (bracketed.name(), bracketed.address().as_str()),
        (None, "a@example.com")
    );
    let named = mailbox("  Ann  Example   <a@example.com> ");
    assert_eq!(named.name(), Some("Ann  Example"));
    let quoted = mailbox(r#""Example, \"Ann\"" <a@example.com>"#);
    assert_eq!(quoted.name(), Some(r#"Example, "Ann""#));
    let angle_in_quotes = mailbox(r#""a <b>" <a@example.com>"#);
    assert_eq!(angle_in_quotes.name(), Some("a <b>"));
    for bad in [
        "Ann <a@example.com",
        "Ann a@example.com>",
        "<a@example.com> x",
        "\"Ann <a@example.com>",
        "A\"nn <a@example.com>",
        "<<a@example.com>>",
        "",
    ] {
        assert!(bad.parse::<Mailbox>().is_err(), "{bad:?}");
    }
    assert_eq!(
        Mailbox::new(Some(String::new()), address("a@b.c"))
            .unwrap()
            .name(),
        None
    );
}

#[test]
fn missing_from_and_missing_recipients_are_refused() {
    let no_from = Message::builder().to(mailbox("b@example.org")).build();
    assert_eq!(no_from.unwrap_err(), ComposeError::MissingFrom);
    let no_rcpt = fixed_builder().reply_to(mailbox("r@example.org")).build();
    assert_eq!(no_rcpt.unwrap_err(), ComposeError::NoRecipients);
    let bcc_only = fixed_builder()
        .bcc(mailbox("b@example.org"))
        .build()
        .unwrap();
    assert!(!text_of(&bcc_only).contains("\r\nTo:"));
}

#[test]
fn extra_headers_keep_order_and_reserved_names_are_refused() {
    let message = fixed_builder()
        .to(mailbox("b@example.org"))
        .header("In-Reply-To", "<parent@example.com>")
        .unwrap()
        .header("X-Note", "Grüße")
        .unwrap()
        .build()
        .unwrap();
    let text = text_of(&message);
    assert!(
        text.contains("\r\nIn-Reply-To: <parent@example.com>\r\nX-Note: =?UTF-8?"),
        "{text}"
    );
    for name in [
        "Subject",
        "to",
        "BCC",
        "Message-Id",
        "Content-Type",
        "content-disposition",
        "Date",
    ] {
        let refused = Message::builder().header(name, "x").unwrap_err();
        assert!(
            matches!(refused, ComposeError::ReservedHeader { .. }),
            "{name}: {refused:?}"
        );
    }
    for name in ["", "X Note", "X:Note", "X-Nöte"] {
        let refused = Message::builder().header(name, "x").unwrap_err();
        assert!(
            matches!(refused, ComposeError::InvalidHeaderName { .. }),
            "{name}: {refused:?}"
        );
    }
}

#[test]
fn without_date_and_message_id_build_supplies_them() {
    let before = SystemTime::now();
    let message = Message::builder()
        .from(mailbox("ann@mail.example.com"))
        .to(mailbox("b@example.org"))
        .build()
        .unwrap();
    let after = SystemTime::now();
    assert!(before <= message.date() && message.date() <= after);
    assert!(message.message_id().as_str().ends_with("@mail.example.com"));
    let text = text_of(&message);
    assert!(text.contains(&format!("\r\nMessage-ID: {}\r\n", message.message_id())));
}

#[test]
fn ascii_message_is_7bit_and_sized() {
    let message = fixed_builder()
        .to(mailbox("Jörg Ünicode <b@example.org>"))
        .subject("Grüße")
        .text_body("Привет\n")
        .build()
        .unwrap();
    assert!(message.as_bytes().is_ascii());
    let info = message.body_info();
    assert_eq!(info.eight_bit, Some(false));
    assert!(!info.smtputf8);
    assert_eq!(info.wire_size, Some(message.as_bytes().len() as u64));
    assert!(message.as_bytes().ends_with(b"\r\n"));
}

#[test]
fn utf8_address_needs_smtputf8_and_stands_raw() {
    let message = fixed_builder()
        .to(mailbox("Jörg <jörg@bücher.example>"))
        .build()
        .unwrap();
    let text = text_of(&message);
    assert!(text.contains("\r\nTo: =?UTF-8?"), "{text}");
    assert!(text.contains(" <jörg@bücher.example>\r\n"), "{text}");
    let info = message.body_info();
    assert!(info.smtputf8);
    assert_eq!(info.eight_bit, Some(true));

    // A UTF-8 Bcc address is not in the message, but RCPT TO needs SMTPUTF8 all the same.
    let hidden = fixed_builder()
        .bcc(mailbox("jörg@bücher.example"))
        .build()
        .unwrap();
    assert!(hidden.as_bytes().is_ascii());
    assert!(hidden.body_info().smtputf8);
    assert_eq!(hidden.body_info().eight_bit, Some(false));
}

#[test]
fn the_same_message_is_the_same_bytes() {
    let build = || {
        fixed_builder()
            .to(mailbox("b@example.org"))
            .subject("Retry me")
            .text_body("same\n")
            .build()
            .unwrap()
    };
    assert_eq!(build().as_bytes(), build().as_bytes());
}

#[test]
fn dates_out_of_range_are_refused() {
    let old = UNIX_EPOCH - Duration::from_secs(2_208_988_801);
    let refused = fixed_builder()
        .to(mailbox("b@example.org"))
        .date(old)
        .build();
    assert!(matches!(refused, Err(ComposeError::Date(_))), "{refused:?}");
}
