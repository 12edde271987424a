//! EHLO names: domains, address literals, length boundaries and `from_ip`.

use smtpwire::ehlo_name::{EhloName, EhloNameError};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[test]
fn domains_and_literals_are_accepted_as_given() {
    for name in [
        "localhost",
        "client.example.com",
        "a-b.c0",
        "[192.0.2.1]",
        "[IPv6:2001:db8::1]",
        "[ipv6:::1]",
        "xn--bcher-kva.example",
    ] {
        assert_eq!(
            EhloName::parse(name).map(|n| n.as_str().to_owned()),
            Ok(name.to_owned())
        );
    }
}

#[test]
fn each_refusal_has_its_own_reason() {
    use EhloNameError::*;
    let cases: &[(&str, EhloNameError)] = &[
        ("", Empty),
        ("a\rb", ControlCharacter),
        ("a b", Space),
        (" localhost", Space),
        ("bücher.example", NonAscii),
        ("-client.example", InvalidDomain),
        ("client-.example", InvalidDomain),
        ("client..example", InvalidDomain),
        ("client.example.", InvalidDomain),
        ("under_score.example", InvalidDomain),
        ("[192.0.2.1", InvalidAddressLiteral),
        ("[2001:db8::1]", InvalidAddressLiteral),
        ("[999.0.0.1]", InvalidAddressLiteral),
    ];
    for &(input, expected) in cases {
        assert_eq!(EhloName::parse(input), Err(expected), "{input:?}");
    }
}

#[test]
fn length_boundary_255_256() {
    let label = |len: usize| "h".repeat(len);
    // Four 63-octet labels and three dots: 255 octets.
    let at_limit = [label(63), label(63), label(63), label(63)].join(".");
    assert_eq!(at_limit.len(), 255);
    assert!(EhloName::parse(&at_limit).is_ok());
    // 63 * 3 + 62 + 1 octets of labels and four dots: 256 octets.
    let over = [label(63), label(63), label(63), label(62), label(1)].join(".");
    assert_eq!(over.len(), 256);
    assert_eq!(EhloName::parse(&over), Err(EhloNameError::TooLong));
}

#[test]
fn label_boundary_63_64() {
    assert!(EhloName::parse(&format!("{}.example", "l".repeat(63))).is_ok());
    assert_eq!(
        EhloName::parse(&format!("{}.example", "l".repeat(64))),
        Err(EhloNameError::InvalidDomain)
    );
}

#[test]
fn from_ip_builds_address_literals_that_parse_back() {
    let cases = [
        (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), "[192.0.2.1]"),
        (
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            "[IPv6:2001:db8::1]",
        ),
        (IpAddr::V6(Ipv6Addr::LOCALHOST), "[IPv6:::1]"),
        (
            IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped()),
            "[IPv6:::ffff:192.0.2.1]",
        ),
    ];
    for (ip, text) in cases {
        let name = EhloName::from_ip(ip);
        assert_eq!(name.as_str(), text);
        assert_eq!(EhloName::parse(text), Ok(name));
    }
}

#[test]
fn trait_impls_agree_with_parse() {
    let name: EhloName = "mx.example.org".parse().unwrap();
    assert_eq!(name.to_string(), "mx.example.org");
    assert_eq!(EhloName::try_from("mx.example.org"), Ok(name));
    assert_eq!(
        "x\n".parse::<EhloName>(),
        Err(EhloNameError::ControlCharacter)
    );
}
