//! Command injection through caller input (SECURITY.md item 13): CR, LF, CRLF, NUL and every
//! other control character is refused when the value is built, so it can never reach a
//! command line. Each test names the real-world bug it would have caught.

use smtpwire::address::{Address, AddressError, ReversePath};
use smtpwire::auth::{Credentials, CredentialsError};
use smtpwire::command::{EnvelopeId, EnvelopeIdError};
use smtpwire::ehlo_name::{EhloName, EhloNameError};

/// Line breaks, NUL, other C0 controls, DEL and C1 controls (as UTF-8).
const CONTROLS: &[&str] = &[
    "\r", "\n", "\r\n", "\0", "\t", "\x0b", "\x0c", "\x1b", "\x7f", "\u{85}", "\u{9b}",
];

/// `value` with `payload` put at its start, in its middle and at its end.
fn placements(value: &str, payload: &str) -> [String; 3] {
    let middle = value.len() / 2;
    let middle = (0..=middle)
        .rev()
        .find(|&i| value.is_char_boundary(i))
        .unwrap_or(0);
    [
        format!("{payload}{value}"),
        format!("{}{payload}{}", &value[..middle], &value[middle..]),
        format!("{value}{payload}"),
    ]
}

fn assert_address_refused(input: &str) {
    assert_eq!(
        Address::parse(input),
        Err(AddressError::ControlCharacter),
        "{input:?}"
    );
    assert_eq!(
        ReversePath::parse(input),
        Err(AddressError::ControlCharacter),
        "{input:?}"
    );
}

#[test]
fn go_21159_crlf_in_mail_from_and_rcpt_to_address() {
    // Go's net/smtp passed addresses into MAIL/RCPT as they were.
    assert_address_refused("alice@example.com>\r\nRCPT TO:<victim@example.org");
    assert_address_refused("alice@example.com\r\nDATA\r\nforged\r\n.\r\n");
    for payload in CONTROLS {
        for input in placements("alice@example.com", payload) {
            assert_address_refused(&input);
        }
    }
}

#[test]
fn python_bpo_43124_crlf_in_quoted_local_part_and_display_name() {
    // smtplib sent whatever it was given; a quoted string must not become a hiding place.
    for payload in CONTROLS {
        assert_address_refused(&format!("\"a{payload}b\"@example.com"));
        assert_address_refused(&format!("Name{payload} <a@example.com>"));
        assert_address_refused(&format!("\"Na{payload}me\" <a@example.com>"));
        assert_address_refused(&format!("<a@example.com>{payload}"));
    }
}

#[test]
fn phpmailer_cve_2015_8476_crlf_in_address_and_domain_literal() {
    for payload in CONTROLS {
        assert_address_refused(&format!("a@[192.0.2.1{payload}]"));
        assert_address_refused(&format!("a@exa{payload}mple.com"));
    }
}

#[test]
fn orcpt_takes_an_address_so_it_is_refused_the_same_way() {
    // RcptParameters::orcpt is an Address: the only way to fill it goes through parse.
    for payload in CONTROLS {
        assert_address_refused(&format!("orig{payload}@example.com"));
    }
}

#[test]
fn crlf_in_ehlo_name() {
    assert_eq!(
        EhloName::parse("client.example.com\r\nMAIL FROM:<a@b>"),
        Err(EhloNameError::ControlCharacter)
    );
    for payload in CONTROLS {
        for input in placements("client.example.com", payload) {
            assert_eq!(
                EhloName::parse(&input),
                Err(EhloNameError::ControlCharacter),
                "{input:?}"
            );
        }
        assert_eq!(
            EhloName::parse(&format!("[192.0.2.1{payload}]")),
            Err(EhloNameError::ControlCharacter)
        );
    }
    assert_eq!(EhloName::parse("client example"), Err(EhloNameError::Space));
}

#[test]
fn nodemailer_crlf_in_auth_user() {
    // Nodemailer (GHSA-vvjj-xcjg-gr5g) and PHPMailer let caller text reach command lines; the
    // AUTH user name goes into LOGIN's base64 line and PLAIN's NUL-separated message.
    for payload in CONTROLS {
        for user in placements("user@example.com", payload) {
            assert_eq!(
                Credentials::password(&user, "secret").unwrap_err(),
                CredentialsError::UsernameControlCharacter,
                "{user:?}"
            );
            assert_eq!(
                Credentials::oauth2(&user, "token").unwrap_err(),
                CredentialsError::UsernameControlCharacter,
                "{user:?}"
            );
        }
    }
}

#[test]
fn nul_cr_lf_in_password_and_any_control_in_token() {
    // NUL would split PLAIN's message into other fields; CR and LF have no business there.
    for payload in ["\0", "\r", "\n", "\r\n"] {
        for secret in placements("hunter2", payload) {
            assert_eq!(
                Credentials::password("user", &secret).unwrap_err(),
                CredentialsError::SecretForbiddenCharacter
            );
        }
    }
    // Other controls are legal in a password (it is sent base64-encoded).
    assert!(Credentials::password("user", "tab\there").is_ok());
    // `\x01` separates XOAUTH2's fields; tokens are printable.
    for payload in CONTROLS.iter().chain(&["\x01"]) {
        assert_eq!(
            Credentials::oauth2("user", &format!("ya29.{payload}x")).unwrap_err(),
            CredentialsError::SecretForbiddenCharacter
        );
    }
}

#[test]
fn crlf_in_envelope_id() {
    for payload in CONTROLS {
        for id in placements("QQ314159", payload) {
            assert_eq!(
                EnvelopeId::new(&id).unwrap_err(),
                EnvelopeIdError::ControlCharacter,
                "{id:?}"
            );
        }
    }
}

#[test]
fn credential_errors_never_carry_the_secret() {
    let secret = "s3cr3t-value\n";
    let error = Credentials::password("user", secret).unwrap_err();
    assert!(!format!("{error} {error:?}").contains("s3cr3t"));
}
