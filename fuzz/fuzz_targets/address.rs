//! Address parsing: arbitrary UTF-8 must never panic, and anything accepted encodes in MAIL
//! FROM and RCPT TO as one line with no control character, within the RFC 5321 length caps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpwire::address::{Address, MAX_DOMAIN_LEN, MAX_LOCAL_PART_LEN, MAX_PATH_LEN, ReversePath};
use smtpwire::command::{Command, MailParameters, Notify, RcptParameters};
use smtpwire::ehlo_name::EhloName;

/// One line: CRLF at the end and no control octet before it.
fn assert_one_line(line: &[u8]) {
    assert!(line.ends_with(b"\r\n"));
    assert!(
        !line[..line.len() - 2]
            .iter()
            .any(|&b| b < 0x20 || b == 0x7f)
    );
}

fn encode(command: Command<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    command.encode(&mut out);
    assert_one_line(&out);
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(name) = EhloName::parse(text) {
        assert!(
            name.as_str().len() <= MAX_DOMAIN_LEN
                && name.as_str().bytes().all(|b| b.is_ascii_graphic())
        );
        encode(Command::Ehlo(&name));
    }
    let Ok(address) = Address::parse(text) else {
        assert!(ReversePath::parse(text).is_err() || text == "<>");
        return;
    };
    assert!(!address.as_str().chars().any(|c| c.is_control()));
    assert!(address.local_part().len() <= MAX_LOCAL_PART_LEN);
    assert!(address.domain().len() <= MAX_DOMAIN_LEN);
    assert!(address.as_str().len() + 2 <= MAX_PATH_LEN);
    // The bare address parses back to itself, with or without brackets.
    assert_eq!(Address::parse(address.as_str()).as_ref(), Ok(&address));
    assert_eq!(
        Address::parse(&format!("<{address}>")).as_ref(),
        Ok(&address)
    );
    assert_eq!(
        ReversePath::parse(text),
        Ok(ReversePath::Address(address.clone()))
    );

    let from = ReversePath::Address(address.clone());
    let mail = encode(Command::Mail {
        from: &from,
        params: &MailParameters::default(),
    });
    assert!(mail.len() <= "MAIL FROM:".len() + MAX_PATH_LEN + 2);
    let rcpt = encode(Command::Rcpt {
        to: &address,
        params: &RcptParameters::default(),
    });
    assert!(rcpt.len() <= "RCPT TO:".len() + MAX_PATH_LEN + 2);
    let params = RcptParameters {
        notify: Notify::on(true, true, false),
        orcpt: Some(address.clone()),
    };
    encode(Command::Rcpt {
        to: &address,
        params: &params,
    });
});
