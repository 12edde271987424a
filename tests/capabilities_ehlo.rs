//! Capabilities from EHLO replies of real servers, and from tricky ones: keywords inside text,
//! lower case, the old `AUTH=` form, duplicates and invalid keywords. The real replies are
//! also run through an independent parser (smtp-proto) as a cross-check.

use smtpwire::auth::Mechanism;
use smtpwire::capabilities::{Capabilities, MAX_AUTH_MECHANISMS, MAX_OTHER_EXTENSIONS};

/// The text of each line of a `250-…`/`250 …` reply, as the reply parser hands them over.
fn lines(reply: &str) -> Vec<&[u8]> {
    reply
        .lines()
        .map(|line| line.get(4..).unwrap_or("").as_bytes())
        .collect()
}

fn parse(reply: &str) -> Capabilities {
    Capabilities::from_ehlo_lines(lines(reply))
}

fn other(mechanism: &str) -> Mechanism {
    Mechanism::Other(mechanism.to_owned())
}

/// What the flags say, in a fixed order, for compact assertions.
fn flags(c: &Capabilities) -> [(&'static str, bool); 9] {
    [
        ("SIZE", c.size_advertised()),
        ("PIPELINING", c.pipelining()),
        ("STARTTLS", c.starttls()),
        ("8BITMIME", c.eight_bit_mime()),
        ("SMTPUTF8", c.smtputf8()),
        ("CHUNKING", c.chunking()),
        ("BINARYMIME", c.binary_mime()),
        ("ENHANCEDSTATUSCODES", c.enhanced_status_codes()),
        ("DSN", c.dsn()),
    ]
}

/// The names of the flags that are set, separated by spaces.
fn set_flags(c: &Capabilities) -> String {
    let names: Vec<&str> = flags(c)
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name)
        .collect();
    names.join(" ")
}

const POSTFIX: &str = "250-mail.example.com\n250-PIPELINING\n250-SIZE 10240000\n250-VRFY\n250-ETRN\n250-STARTTLS\n250-ENHANCEDSTATUSCODES\n250-8BITMIME\n250-DSN\n250-SMTPUTF8\n250 CHUNKING";
const EXIM: &str = "250-mx.example.org Hello client.example.com [192.0.2.10]\n250-SIZE 52428800\n250-LIMITS MAILMAX=1000 RCPTMAX=50000\n250-8BITMIME\n250-PIPELINING\n250-PIPE_CONNECT\n250-AUTH PLAIN LOGIN\n250-CHUNKING\n250-STARTTLS\n250-PRDR\n250 HELP";
const GMAIL_AFTER_TLS: &str = "250-smtp.gmail.com at your service, [203.0.113.5]\n250-SIZE 35882577\n250-8BITMIME\n250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\n250-ENHANCEDSTATUSCODES\n250-PIPELINING\n250-CHUNKING\n250 SMTPUTF8";
const OUTLOOK: &str = "250-LO2P265CA0123.outlook.office365.com Hello [203.0.113.5]\n250-SIZE 157286400\n250-PIPELINING\n250-DSN\n250-ENHANCEDSTATUSCODES\n250-STARTTLS\n250-8BITMIME\n250-BINARYMIME\n250-CHUNKING\n250 SMTPUTF8";
const SMTP_SINK: &str = "250-smtp-sink.example\n250-PIPELINING\n250-8BITMIME\n250-AUTH PLAIN LOGIN\n250-AUTH=PLAIN LOGIN\n250-XCLIENT NAME HELO\n250-XFORWARD NAME ADDR PROTO HELO\n250-ENHANCEDSTATUSCODES\n250-SMTPUTF8\n250 DSN";

#[test]
fn postfix() {
    let c = parse(POSTFIX);
    assert_eq!(
        set_flags(&c),
        "SIZE PIPELINING STARTTLS 8BITMIME SMTPUTF8 CHUNKING ENHANCEDSTATUSCODES DSN"
    );
    assert_eq!(c.size_limit(), Some(10_240_000));
    assert!(c.auth_mechanisms().is_empty());
    let others: Vec<&str> = c.other_extensions().iter().map(|e| e.keyword()).collect();
    assert_eq!(others, ["VRFY", "ETRN"]);
}

#[test]
fn exim() {
    let c = parse(EXIM);
    assert_eq!(set_flags(&c), "SIZE PIPELINING STARTTLS 8BITMIME CHUNKING");
    assert_eq!(c.size_limit(), Some(52_428_800));
    assert_eq!(c.auth_mechanisms(), &[Mechanism::Plain, Mechanism::Login]);
    // PIPE_CONNECT is not a valid ehlo-keyword (underscore): skipped, and not PIPELINING.
    assert!(c.other_extension("PIPE_CONNECT").is_none());
    let limits = c.other_extension("limits").unwrap();
    assert_eq!(limits.keyword(), "LIMITS");
    assert_eq!(
        limits.params().collect::<Vec<_>>(),
        ["MAILMAX=1000", "RCPTMAX=50000"]
    );
    assert!(c.other_extension("PRDR").is_some() && c.other_extension("HELP").is_some());
}

#[test]
fn gmail_after_starttls() {
    let c = parse(GMAIL_AFTER_TLS);
    assert_eq!(
        set_flags(&c),
        "SIZE PIPELINING 8BITMIME SMTPUTF8 CHUNKING ENHANCEDSTATUSCODES"
    );
    assert_eq!(c.size_limit(), Some(35_882_577));
    let expected = [
        Mechanism::Login,
        Mechanism::Plain,
        Mechanism::XOAuth2,
        other("PLAIN-CLIENTTOKEN"),
        other("OAUTHBEARER"),
        other("XOAUTH"),
    ];
    assert_eq!(c.auth_mechanisms(), &expected);
    // The greeting line's "at your service" is not a capability.
    assert!(c.other_extensions().is_empty());
}

#[test]
fn outlook() {
    let c = parse(OUTLOOK);
    assert_eq!(
        set_flags(&c),
        "SIZE PIPELINING STARTTLS 8BITMIME SMTPUTF8 CHUNKING BINARYMIME ENHANCEDSTATUSCODES DSN"
    );
    assert_eq!(c.size_limit(), Some(157_286_400));
}

#[test]
fn smtp_sink_with_both_auth_forms() {
    let c = parse(SMTP_SINK);
    assert_eq!(
        c.auth_mechanisms(),
        &[Mechanism::Plain, Mechanism::Login],
        "merged and deduplicated"
    );
    assert_eq!(
        set_flags(&c),
        "PIPELINING 8BITMIME SMTPUTF8 ENHANCEDSTATUSCODES DSN"
    );
    let xforward = c.other_extension("XFORWARD").unwrap();
    assert_eq!(
        xforward.params().collect::<Vec<_>>(),
        ["NAME", "ADDR", "PROTO", "HELO"]
    );
}

#[test]
fn real_replies_agree_with_smtp_proto() {
    use smtp_proto::*;
    for reply in [POSTFIX, EXIM, GMAIL_AFTER_TLS, OUTLOOK, SMTP_SINK] {
        let wire = format!("{}\r\n", reply.replace('\n', "\r\n"));
        let theirs =
            EhloResponse::parse(&mut wire.as_bytes().iter()).expect("smtp-proto parses it");
        let ours = parse(reply);
        let has = |flag: u32| theirs.capabilities & flag != 0;
        let expected = [
            ("SIZE", has(EXT_SIZE)),
            ("PIPELINING", has(EXT_PIPELINING)),
            ("STARTTLS", has(EXT_START_TLS)),
            ("8BITMIME", has(EXT_8BIT_MIME)),
            ("SMTPUTF8", has(EXT_SMTP_UTF8)),
            ("CHUNKING", has(EXT_CHUNKING)),
            ("BINARYMIME", has(EXT_BINARY_MIME)),
            ("ENHANCEDSTATUSCODES", has(EXT_ENHANCED_STATUS_CODES)),
            ("DSN", has(EXT_DSN)),
        ];
        assert_eq!(flags(&ours), expected, "{reply}");
        assert_eq!(ours.size_limit().unwrap_or(0), theirs.size as u64);
        assert_eq!(
            ours.auth_mechanisms().contains(&Mechanism::Plain),
            theirs.auth_mechanisms & AUTH_PLAIN != 0
        );
        assert_eq!(
            ours.auth_mechanisms().contains(&Mechanism::Login),
            theirs.auth_mechanisms & AUTH_LOGIN != 0
        );
    }
}

#[test]
fn keywords_are_whole_tokens_at_the_start_of_a_line() {
    let c = parse(
        "250-mx PIPELINING STARTTLS SIZE 10 AUTH PLAIN\n250-XPIPELINING\n250-SIZE 100 PIPELINING\n250-X-STARTTLS\n250-STARTTLSX\n250 8BITMIMEX",
    );
    assert_eq!(c.size_limit(), Some(100));
    assert_eq!(set_flags(&c), "SIZE");
    assert!(
        c.auth_mechanisms().is_empty(),
        "the greeting line is never a capability"
    );
}

#[test]
fn keywords_match_case_insensitively() {
    let c = parse(
        "250-mx\n250-pipelining\n250-StartTLS\n250-size 42\n250-auth plain xoauth2\n250-8bitmime\n250 smtputf8",
    );
    assert_eq!(set_flags(&c), "SIZE PIPELINING STARTTLS 8BITMIME SMTPUTF8");
    assert_eq!(c.size_limit(), Some(42));
    assert_eq!(c.auth_mechanisms(), &[Mechanism::Plain, Mechanism::XOAuth2]);
}

#[test]
fn size_variants() {
    let limit = |reply: &str| {
        let c = parse(reply);
        (c.size_advertised(), c.size_limit())
    };
    assert_eq!(limit("250-mx\n250 SIZE"), (true, None));
    assert_eq!(limit("250-mx\n250 SIZE 0"), (true, None));
    assert_eq!(limit("250-mx\n250 SIZE 1000"), (true, Some(1000)));
    assert_eq!(
        limit("250-mx\n250 SIZE 18446744073709551615"),
        (true, Some(u64::MAX))
    );
    assert_eq!(limit("250-mx\n250 SIZE 18446744073709551616"), (true, None));
    assert_eq!(limit("250-mx\n250 SIZE -5"), (true, None));
    assert_eq!(limit("250-mx\n250 SIZE 10MB"), (true, None));
    assert_eq!(
        limit("250-mx\n250-SIZE 5000\n250 SIZE 3000"),
        (true, Some(3000)),
        "the smallest limit wins"
    );
    assert_eq!(
        limit("250-mx\n250-SIZE 3000\n250 SIZE 0"),
        (true, Some(3000))
    );
    assert_eq!(limit("250 mx"), (false, None));
}

#[test]
fn auth_forms_are_merged_deduplicated_in_server_order() {
    let c = parse(
        "250-mx\n250-AUTH=LOGIN\n250-AUTH LOGIN PLAIN login\n250-auth=cram-md5 PLAIN\n250 AUTH  XOAUTH2  bad/name PLAIN\u{e9}",
    );
    assert_eq!(
        c.auth_mechanisms(),
        &[
            Mechanism::Login,
            Mechanism::Plain,
            other("CRAM-MD5"),
            Mechanism::XOAuth2
        ]
    );
    assert!(parse("250-mx\n250 AUTH=").auth_mechanisms().is_empty());
    assert!(parse("250-mx\n250 AUTH").auth_mechanisms().is_empty());
}

#[test]
fn invalid_keywords_and_params_are_skipped() {
    let c = parse(
        "250-mx\n250- PIPELINING\n250--STARTTLS\n250-X_Y\n250-\n250-DSN\u{0}\n250-CHUNKING\t\n250-XGOOD a\u{e9}b\n250-XFINE p=1\n250 8BITMIME",
    );
    assert_eq!(set_flags(&c), "8BITMIME");
    let others: Vec<&str> = c.other_extensions().iter().map(|e| e.keyword()).collect();
    assert_eq!(others, ["XFINE"]);
}

#[test]
fn unknown_extensions_keep_their_first_line() {
    let c = parse("250-mx\n250-xclient NAME ADDR\n250-XCLIENT PROTO\n250 MT-PRIORITY MIXER");
    let xclient = c.other_extension("XCLIENT").unwrap();
    assert_eq!(xclient.params().collect::<Vec<_>>(), ["NAME", "ADDR"]);
    assert_eq!(c.other_extensions().len(), 2);
    assert_eq!(
        c.other_extension("mt-priority")
            .unwrap()
            .params()
            .collect::<Vec<_>>(),
        ["MIXER"]
    );
}

#[test]
fn lines_with_invalid_utf8_or_binary_do_not_panic() {
    let junk: [&[u8]; 5] = [
        b"mx",
        b"\xff\xfe",
        b"SIZE \xff",
        b"AUTH \xc3\x28 PLAIN",
        b"PIPELINING",
    ];
    let c = Capabilities::from_ehlo_lines(junk);
    assert!(c.pipelining() && c.size_advertised());
    assert_eq!(c.size_limit(), None);
    assert_eq!(c.auth_mechanisms(), &[Mechanism::Plain]);
}

#[test]
fn stored_lists_are_capped() {
    let mut reply = String::from("250-mx\n250-AUTH");
    for i in 0..100 {
        reply.push_str(&format!(" MECH{i}"));
    }
    for i in 0..100 {
        reply.push_str(&format!("\n250-X{i} p"));
    }
    let c = parse(&reply);
    assert_eq!(c.auth_mechanisms().len(), MAX_AUTH_MECHANISMS);
    assert_eq!(c.auth_mechanisms()[0], other("MECH0"));
    assert_eq!(c.other_extensions().len(), MAX_OTHER_EXTENSIONS);
}

#[test]
fn empty_and_helo() {
    assert_eq!(
        Capabilities::from_ehlo_lines(Vec::<&[u8]>::new()),
        Capabilities::none()
    );
    assert_eq!(parse("250 mx.example.com"), Capabilities::none());
    assert_eq!(set_flags(&Capabilities::none()), "");
}
