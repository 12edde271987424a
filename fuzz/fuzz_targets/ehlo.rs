//! EHLO capability parsing: arbitrary bytes, split into lines at `\n`, must never panic, and a
//! flag is set exactly when some line after the first starts with its keyword as a whole
//! token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpwire::capabilities::{Capabilities, MAX_AUTH_MECHANISMS, MAX_OTHER_EXTENSIONS};

/// Whether `line` starts with `keyword` (any case) followed by a space or the end.
fn starts_with_token(line: &[u8], keyword: &str) -> bool {
    let token = line.split(|&b| b == b' ').next().unwrap_or_default();
    token.eq_ignore_ascii_case(keyword.as_bytes())
}

fuzz_target!(|data: &[u8]| {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let capabilities = Capabilities::from_ehlo_lines(lines.iter().copied());
    let advertised = |keyword: &str| {
        lines
            .iter()
            .skip(1)
            .any(|line| starts_with_token(line, keyword))
    };
    let flags = [
        ("SIZE", capabilities.size_advertised()),
        ("PIPELINING", capabilities.pipelining()),
        ("STARTTLS", capabilities.starttls()),
        ("8BITMIME", capabilities.eight_bit_mime()),
        ("SMTPUTF8", capabilities.smtputf8()),
        ("CHUNKING", capabilities.chunking()),
        ("BINARYMIME", capabilities.binary_mime()),
        ("ENHANCEDSTATUSCODES", capabilities.enhanced_status_codes()),
        ("DSN", capabilities.dsn()),
    ];
    for (keyword, set) in flags {
        assert_eq!(set, advertised(keyword), "{keyword}");
    }
    assert!(
        capabilities
            .size_limit()
            .is_none_or(|limit| limit > 0 && capabilities.size_advertised())
    );
    let mechanisms = capabilities.auth_mechanisms();
    assert!(mechanisms.len() <= MAX_AUTH_MECHANISMS);
    for (index, mechanism) in mechanisms.iter().enumerate() {
        let name = mechanism.as_str();
        assert!((1..=20).contains(&name.len()));
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        );
        assert!(!mechanisms[..index].contains(mechanism), "duplicate {name}");
        assert!(
            advertised("AUTH")
                || lines
                    .iter()
                    .skip(1)
                    .any(|line| line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"AUTH="))
        );
    }
    let others = capabilities.other_extensions();
    assert!(others.len() <= MAX_OTHER_EXTENSIONS);
    for extension in others {
        assert!(advertised(extension.keyword()));
        assert!(
            extension
                .params()
                .all(|param| param.bytes().all(|b| (33..=126).contains(&b)))
        );
    }
});
