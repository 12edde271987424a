//! Address and reverse-path parsing: accepted forms, every refusal reason, exact length
//! boundaries (RFC 5321 §4.5.3.1), and the trait impls.

use smtpwire::address::{
    Address, AddressError, MAX_DOMAIN_LEN, MAX_LOCAL_PART_LEN, MAX_PATH_LEN, ReversePath,
};
use smtpwire::command::{Command, MailParameters, RcptParameters};

fn parse(input: &str) -> Result<String, AddressError> {
    Address::parse(input).map(|address| address.as_str().to_owned())
}

#[test]
fn plain_and_bracketed_forms_give_the_bare_address() {
    for input in [
        "jane@example.com",
        "<jane@example.com>",
        "Jane Doe <jane@example.com>",
        "\"Doe, Jane\" <jane@example.com>",
        "Jane<jane@example.com>",
    ] {
        assert_eq!(parse(input).as_deref(), Ok("jane@example.com"), "{input}");
    }
}

#[test]
fn parts_are_split_at_the_last_at() {
    let address = Address::parse("\"a@b\"@example.com").unwrap();
    assert_eq!(address.local_part(), "\"a@b\"");
    assert_eq!(address.domain(), "example.com");
    let address = Address::parse("user+tag@[IPv6:2001:db8::1]").unwrap();
    assert_eq!(
        (address.local_part(), address.domain()),
        ("user+tag", "[IPv6:2001:db8::1]")
    );
}

#[test]
fn valid_addresses() {
    for input in [
        "a@b",
        "first.last@sub.example.co.uk",
        "!#$%&'*+-/=?^_`{|}~@example.com",
        "\"john doe\"@example.com",
        "\"quote\\\"inside\"@example.com",
        "\"\"@example.com",
        "postmaster@localhost",
        "user@[192.0.2.1]",
        "user@[IPv6:::1]",
        "user@[ipv6:2001:db8::ffff:192.0.2.1]",
        "x@xn--bcher-kva.example",
    ] {
        assert!(Address::parse(input).is_ok(), "{input}");
    }
}

#[test]
fn utf8_addresses_are_accepted_but_need_smtputf8() {
    for input in [
        "用户@例子.广告",
        "jöran@example.com",
        "joe@bücher.example",
        "\"ü x\"@example.com",
    ] {
        let address = Address::parse(input).unwrap();
        assert!(address.requires_smtputf8(), "{input}");
    }
    assert!(
        !Address::parse("joe@example.com")
            .unwrap()
            .requires_smtputf8()
    );
    let path = ReversePath::parse("jöran@example.com").unwrap();
    assert!(path.requires_smtputf8());
    assert!(!ReversePath::Null.requires_smtputf8());
}

#[test]
fn each_refusal_has_its_own_reason() {
    use AddressError::*;
    let cases: &[(&str, AddressError)] = &[
        ("", Empty),
        ("<>", Empty),
        ("Name <>", Empty),
        ("a\tb@example.com", ControlCharacter),
        ("a@example.com\u{7f}", ControlCharacter),
        ("a@example.com\u{85}", ControlCharacter),
        ("a b@example.com", Space),
        (" a@example.com", Space),
        ("a@example.com ", Space),
        ("a@exa mple.com", Space),
        ("<a@b", UnbalancedBrackets),
        ("a@b>", UnbalancedBrackets),
        ("<a<b@c>", UnbalancedBrackets),
        ("<a@b>>", UnbalancedBrackets),
        ("\"a<b\"@c", UnbalancedBrackets),
        ("<a@b> trailing", TextAfterAddress),
        ("Doe, Jane <a@b>", MalformedDisplayName),
        ("\"Jane <a@b>", MalformedDisplayName),
        ("(comment) <a@b>", MalformedDisplayName),
        ("example.com", MissingAt),
        ("\"a@b\"", MissingAt),
        ("a..b@example.com", InvalidLocalPart),
        (".a@example.com", InvalidLocalPart),
        ("a,b@example.com", InvalidLocalPart),
        ("\"a\"b@example.com", InvalidLocalPart),
        ("@example.com", InvalidLocalPart),
        ("a@", InvalidDomain),
        ("a@-example.com", InvalidDomain),
        ("a@example-.com", InvalidDomain),
        ("a@example..com", InvalidDomain),
        ("a@exam_ple.com", InvalidDomain),
        ("a@b@c", InvalidDomain),
        ("a@[192.0.2.300]", InvalidAddressLiteral),
        ("a@[2001:db8::1]", InvalidAddressLiteral),
        ("a@[IPv6:2001:db8::1", InvalidAddressLiteral),
        ("a@[tag:content]", InvalidAddressLiteral),
    ];
    for &(input, expected) in cases {
        assert_eq!(Address::parse(input), Err(expected), "{input:?}");
    }
}

#[test]
fn local_part_boundary_64_65() {
    let ok = format!("{}@example.com", "a".repeat(MAX_LOCAL_PART_LEN));
    let too_long = format!("{}@example.com", "a".repeat(MAX_LOCAL_PART_LEN + 1));
    assert_eq!(Address::parse(&ok).unwrap().local_part().len(), 64);
    assert_eq!(
        Address::parse(&too_long),
        Err(AddressError::LocalPartTooLong)
    );
    // Octets, not characters: 32 two-octet characters fill the local part exactly.
    assert!(Address::parse(&format!("{}@example.com", "é".repeat(32))).is_ok());
    assert_eq!(
        Address::parse(&format!("{}a@example.com", "é".repeat(32))),
        Err(AddressError::LocalPartTooLong)
    );
}

/// A domain of exactly `len` octets made of valid labels.
fn domain_of_len(len: usize) -> String {
    let mut domain = String::new();
    while domain.len() < len {
        if !domain.is_empty() {
            domain.push('.');
        }
        let label = (len - domain.len()).min(63);
        domain.push_str(&"d".repeat(label));
    }
    assert_eq!(domain.len(), len);
    domain
}

#[test]
fn domain_boundary_255_256() {
    // A 255-octet domain is a valid domain, but `<a@domain>` would be 259 octets: the path
    // limit refuses it, not the domain limit.
    assert_eq!(
        Address::parse(&format!("a@{}", domain_of_len(MAX_DOMAIN_LEN))),
        Err(AddressError::PathTooLong)
    );
    assert_eq!(
        Address::parse(&format!("a@{}", domain_of_len(MAX_DOMAIN_LEN + 1))),
        Err(AddressError::DomainTooLong)
    );
}

#[test]
fn path_boundary_256_257() {
    // `<` + 1 + `@` + domain + `>` = 256 when the domain is 252 octets.
    let fits = format!("a@{}", domain_of_len(252));
    let address = Address::parse(&fits).unwrap();
    let mut out = Vec::new();
    Command::Rcpt {
        to: &address,
        params: &RcptParameters::default(),
    }
    .encode(&mut out);
    assert_eq!(out.len(), "RCPT TO:".len() + MAX_PATH_LEN + 2);
    assert_eq!(
        Address::parse(&format!("a@{}", domain_of_len(253))),
        Err(AddressError::PathTooLong)
    );
    // The display name does not count towards the path.
    assert!(Address::parse(&format!("\"{}\" <{fits}>", "n".repeat(300))).is_ok());
}

#[test]
fn never_double_brackets() {
    // boulder sent `MAIL FROM:<<a@b>>` for years when given an already bracketed address.
    let from = ReversePath::parse("<a@example.com>").unwrap();
    let mut out = Vec::new();
    Command::Mail {
        from: &from,
        params: &MailParameters::default(),
    }
    .encode(&mut out);
    assert_eq!(out, b"MAIL FROM:<a@example.com>\r\n");
    let to = Address::parse("Name <b@example.com>").unwrap();
    out.clear();
    Command::Rcpt {
        to: &to,
        params: &RcptParameters::default(),
    }
    .encode(&mut out);
    assert_eq!(out, b"RCPT TO:<b@example.com>\r\n");
    assert_eq!(
        Address::parse("<<a@example.com>>"),
        Err(AddressError::UnbalancedBrackets)
    );
}

#[test]
fn reverse_path_forms() {
    assert_eq!(ReversePath::parse("<>"), Ok(ReversePath::Null));
    assert_eq!(ReversePath::parse(""), Err(AddressError::Empty));
    assert_eq!(ReversePath::parse(" <>"), Err(AddressError::Empty));
    let path: ReversePath = "Jane <jane@example.com>".parse().unwrap();
    assert_eq!(
        path.address().map(Address::as_str),
        Some("jane@example.com")
    );
    assert_eq!(path.to_string(), "<jane@example.com>");
    assert_eq!(ReversePath::Null.to_string(), "<>");
    assert_eq!(ReversePath::try_from("<>"), Ok(ReversePath::Null));
    let address = Address::parse("a@b").unwrap();
    assert_eq!(
        ReversePath::from(address.clone()),
        ReversePath::Address(address)
    );
}

#[test]
fn trait_impls_agree_with_parse() {
    let parsed: Address = "Jane <jane@example.com>".parse().unwrap();
    assert_eq!(Address::try_from("jane@example.com"), Ok(parsed.clone()));
    assert_eq!(parsed.to_string(), "jane@example.com");
    assert_eq!(format!("{parsed:?}"), "Address(\"jane@example.com\")");
    assert_eq!(
        "a@b\n".parse::<Address>(),
        Err(AddressError::ControlCharacter)
    );
    // Errors are small and copyable, and say what went wrong.
    let error = AddressError::LocalPartTooLong;
    let copy = error;
    assert_eq!(copy.to_string(), "local part longer than 64 octets");
    assert!(size_of::<AddressError>() <= 1);
}
