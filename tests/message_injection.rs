//! Header injection: CR, LF and other control characters never reach a header.

use proptest::prelude::*;
use smtpwire::address::Address;
use smtpwire::message::{ComposeError, Mailbox, MailboxError, Message, MessageBuilder};

fn builder() -> MessageBuilder {
    Message::builder()
        .from("ann@example.com".parse().unwrap())
        .to("bob@example.org".parse().unwrap())
}

fn subject_error(subject: &str) -> Option<ComposeError> {
    builder().subject(subject).build().err()
}

fn injected_into(header: &str) -> ComposeError {
    ComposeError::HeaderInjection {
        header: header.to_string(),
    }
}

fn named(name: &str) -> Result<Mailbox, MailboxError> {
    Mailbox::new(
        Some(name.to_string()),
        Address::parse("a@example.com").unwrap(),
    )
}

#[test]
fn crlf_in_subject_is_refused() {
    assert_eq!(
        subject_error("Hi\r\nBcc: victim@example.net"),
        Some(injected_into("Subject"))
    );
}

#[test]
fn bare_lf_in_subject_is_refused() {
    assert_eq!(
        subject_error("Hi\nBcc: victim@example.net"),
        Some(injected_into("Subject"))
    );
}

#[test]
fn bare_cr_in_subject_is_refused() {
    assert_eq!(
        subject_error("Hi\rBcc: victim@example.net"),
        Some(injected_into("Subject"))
    );
}

#[test]
fn other_controls_in_subject_are_refused_but_tab_is_not() {
    for control in ['\0', '\x07', '\x1b', '\x7f', '\u{85}', '\u{9b}'] {
        assert_eq!(
            subject_error(&format!("a{control}b")),
            Some(injected_into("Subject"))
        );
    }
    assert_eq!(subject_error("a\tb"), None);
}

#[test]
fn crlf_in_display_name_is_refused() {
    assert_eq!(
        named("Ann\r\nBcc: victim@example.net").unwrap_err(),
        MailboxError::ControlCharacter
    );
}

#[test]
fn bare_lf_and_bare_cr_in_display_name_are_refused() {
    assert_eq!(
        named("Ann\nBcc: x@example.net").unwrap_err(),
        MailboxError::ControlCharacter
    );
    assert_eq!(
        named("Ann\rBcc: x@example.net").unwrap_err(),
        MailboxError::ControlCharacter
    );
    assert_eq!(named("Ann\0").unwrap_err(), MailboxError::ControlCharacter);
}

#[test]
fn crlf_in_parsed_display_name_is_refused() {
    let parsed = "\"Ann\r\nBcc: x@example.net\" <a@example.com>".parse::<Mailbox>();
    assert_eq!(parsed.unwrap_err(), MailboxError::ControlCharacter);
    let parsed = "Ann\nBcc: x@example.net <a@example.com>".parse::<Mailbox>();
    assert_eq!(parsed.unwrap_err(), MailboxError::ControlCharacter);
}

#[test]
fn crlf_in_address_is_refused() {
    assert!(
        "a@example.com\r\nBcc: x@example.net"
            .parse::<Mailbox>()
            .is_err()
    );
    assert!(
        "Ann <a@example.com\r\nBcc: x@example.net>"
            .parse::<Mailbox>()
            .is_err()
    );
}

#[test]
fn crlf_in_extra_header_value_is_refused() {
    let refused = builder()
        .header("X-Tag", "a\r\nBcc: victim@example.net")
        .unwrap_err();
    assert_eq!(refused, injected_into("X-Tag"));
}

#[test]
fn bare_lf_and_bare_cr_in_extra_header_value_are_refused() {
    assert_eq!(
        builder().header("X-Tag", "a\nb").unwrap_err(),
        injected_into("X-Tag")
    );
    assert_eq!(
        builder().header("X-Tag", "a\rb").unwrap_err(),
        injected_into("X-Tag")
    );
}

#[test]
fn crlf_in_extra_header_name_is_refused() {
    let refused = builder()
        .header("X-Tag\r\nBcc", "victim@example.net")
        .unwrap_err();
    assert!(
        matches!(refused, ComposeError::InvalidHeaderName { .. }),
        "{refused:?}"
    );
}

/// Splits the header block of a composed message into logical lines, checking that every
/// physical line is a field start or a continuation (starts with white space).
fn header_field_names(message: &Message) -> Vec<String> {
    let text = String::from_utf8(message.as_bytes().to_vec()).unwrap();
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    let mut names = Vec::new();
    for line in head.split("\r\n") {
        assert!(!line.contains(['\r', '\n']), "bare CR or LF in {line:?}");
        if !line.starts_with([' ', '\t']) {
            names.push(line.split_once(':').unwrap().0.to_string());
        }
    }
    names
}

proptest! {
    /// Whatever the subject and name hold, the message has exactly the fields it should:
    /// either the input is refused, or no text of it becomes a field of its own.
    #[test]
    fn input_never_adds_a_header_field(
        subject in "[a-z:\r\n \t\x00-\x1f]{0,40}",
        name in "[A-Za-z:\r\n \t\"\\\\]{0,40}",
    ) {
        let Ok(mailbox) = named(&name) else {
            prop_assert!(name.contains(|c: char| c.is_control() && c != '\t'));
            return Ok(());
        };
        match builder().cc(mailbox).subject(subject.clone()).build() {
            Ok(message) => {
                let names = header_field_names(&message);
                prop_assert_eq!(
                    names,
                    ["Date", "From", "To", "Cc", "Subject", "Message-ID", "MIME-Version",
                     "Content-Type", "Content-Transfer-Encoding"]
                );
            }
            Err(error) => {
                prop_assert_eq!(error, injected_into("Subject"));
                prop_assert!(subject.contains(|c: char| c.is_control() && c != '\t'));
            }
        }
    }
}
