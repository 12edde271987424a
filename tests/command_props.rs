//! Property: for any string `Address::parse` or `EhloName::parse` accepts, every command built
//! from it is exactly one line: one CRLF, at its end, and no other CR, LF or control octet.
//! And any string holding a control character is refused.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use smtpwire::address::{Address, MAX_PATH_LEN, ReversePath};
use smtpwire::command::{
    BodyType, Command, DsnReturn, EnvelopeId, MailParameters, Notify, RcptParameters,
};
use smtpwire::ehlo_name::EhloName;

/// Pieces that make up addresses and EHLO names, and pieces that try to break them.
const PIECES: &[&str] = &[
    "a",
    "Z",
    "0",
    "9",
    "-",
    ".",
    "@",
    "\"",
    "\\",
    "<",
    ">",
    " ",
    "[",
    "]",
    ":",
    "+",
    "=",
    ",",
    "_",
    "é",
    "用",
    "😀",
    "IPv6:",
    "192.0.2.1",
    "::1",
    "example",
    "com",
    "\r",
    "\n",
    "\r\n",
    "\0",
    "\t",
    "\x7f",
    "\u{85}",
];

/// Strings glued from `PIECES`, or shaped like addresses and domains (sometimes with pieces
/// from `PIECES` slipped in) so that many are accepted.
fn candidate() -> impl Strategy<Value = String> {
    let piece = proptest::sample::select(PIECES);
    let word = proptest::collection::vec(piece, 1..8).prop_map(|pieces| pieces.concat());
    let noise = proptest::option::weighted(0.3, word.clone()).prop_map(Option::unwrap_or_default);
    let local = prop_oneof![
        "[a-z0-9+=é]{1,8}(\\.[a-z0-9_]{1,5})?",
        "\"[a-z @<é\\\\]{0,8}\""
    ];
    let domain = prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-zé]{2,5}){0,2}",
        "\\[192\\.0\\.2\\.[0-9]{1,3}\\]",
        "\\[IPv6:2001:db8::[0-9a-f]{1,4}\\]",
    ];
    let shaped = (local, noise, domain.clone(), 0..5usize).prop_map(
        |(local, noise, domain, form)| match form {
            0 => format!("{local}{noise}@{domain}"),
            1 => format!("<{local}@{domain}>{noise}"),
            2 => format!("Name{noise} <{local}@{domain}>"),
            3 => format!("\"{noise}\" <{local}@{domain}>"),
            _ => format!("{noise}{local}@{domain}"),
        },
    );
    let name = (domain, proptest::option::weighted(0.3, word.clone()))
        .prop_map(|(domain, noise)| domain + &noise.unwrap_or_default());
    prop_oneof![4 => shaped, 2 => name, 1 => word, 1 => "\\PC{0,40}"]
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Exactly one CRLF, at the end, and no other control octet (C0 or DEL; C1 characters are
/// refused at construction and UTF-8 continuation octets are not controls on the wire).
fn assert_one_line(line: &[u8]) {
    assert!(line.ends_with(b"\r\n"), "{line:?}");
    let body = &line[..line.len() - 2];
    assert!(
        !body.iter().any(|&b| b < 0x20 || b == 0x7f),
        "control octet in {:?}",
        String::from_utf8_lossy(line)
    );
}

fn encoded_address_commands(address: &Address) -> Vec<Vec<u8>> {
    let from = ReversePath::Address(address.clone());
    let mail = MailParameters {
        size: Some(u64::MAX),
        body: Some(BodyType::BinaryMime),
        smtputf8: true,
        ret: Some(DsnReturn::Full),
        envid: EnvelopeId::new("id+=\\ x").ok(),
    };
    let rcpt = RcptParameters {
        notify: Notify::on(true, true, true),
        orcpt: Some(address.clone()),
    };
    let commands = [
        Command::Mail {
            from: &from,
            params: &MailParameters::default(),
        },
        Command::Mail {
            from: &from,
            params: &mail,
        },
        Command::Rcpt {
            to: address,
            params: &RcptParameters::default(),
        },
        Command::Rcpt {
            to: address,
            params: &rcpt,
        },
    ];
    commands
        .iter()
        .map(|command| {
            let mut out = Vec::new();
            command.encode(&mut out);
            out
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn accepted_addresses_encode_to_one_line(input in candidate()) {
        if let Ok(address) = Address::parse(&input) {
            prop_assert!(!has_control(&input));
            prop_assert!(address.as_str().len() + 2 <= MAX_PATH_LEN);
            let path = format!("<{}>", address.as_str());
            for line in encoded_address_commands(&address) {
                assert_one_line(&line);
                let line = String::from_utf8_lossy(&line);
                prop_assert!(line.contains(&path));
                prop_assert!(!line.contains("<<"));
            }
        }
        if has_control(&input) {
            prop_assert!(Address::parse(&input).is_err());
            prop_assert!(EhloName::parse(&input).is_err());
        }
    }

    #[test]
    fn accepted_ehlo_names_encode_to_one_line(input in candidate()) {
        if let Ok(name) = EhloName::parse(&input) {
            prop_assert!(name.as_str().is_ascii() && !name.as_str().contains(' '));
            for command in [Command::Ehlo(&name), Command::Helo(&name)] {
                let mut out = Vec::new();
                command.encode(&mut out);
                assert_one_line(&out);
            }
        }
    }
}

/// Guards against a vacuous property: the generator must produce accepted addresses and
/// names often enough for the properties above to test something.
#[test]
fn the_generator_reaches_accepted_inputs() {
    let mut runner = TestRunner::deterministic();
    let strategy = candidate();
    let (mut addresses, mut names, mut with_controls) = (0, 0, 0);
    for _ in 0..2000 {
        let input = strategy.new_tree(&mut runner).expect("generator").current();
        addresses += usize::from(Address::parse(&input).is_ok());
        names += usize::from(EhloName::parse(&input).is_ok());
        with_controls += usize::from(has_control(&input));
    }
    eprintln!(
        "generator: {addresses} addresses, {names} EHLO names, {with_controls} with controls, of 2000"
    );
    assert!(
        addresses >= 300,
        "only {addresses} of 2000 inputs were accepted addresses"
    );
    assert!(
        names >= 100,
        "only {names} of 2000 inputs were accepted EHLO names"
    );
    assert!(
        with_controls >= 200,
        "only {with_controls} of 2000 inputs held a control character"
    );
}
