//! One test per attack sequence of SECURITY.md items 14 (dot-stuffing: lettre
//! RUSTSEC-2021-0069 / CVE-2021-38189, lettre PR #803) and 15 (SMTP smuggling: SEC Consult
//! 2023, Postfix CVE-2023-51764, lettre RUSTSEC-2026-0561). Each body is fed whole, cut at
//! every position, cut at every pair of positions and one octet at a time; the exact DATA
//! and BDAT wire bytes are asserted every time, and so is every general invariant.

mod data_common;

use data_common::{check_invariants, run, split_at_cuts};
use smtpwire::data::Framing;

/// Asserts the exact wire bytes of `body` for every way of cutting it into chunks.
fn assert_wire(body: &[u8], data: &[u8], bdat: &[u8]) {
    let mut splits: Vec<Vec<usize>> = vec![vec![]];
    for first in 0..=body.len() {
        for second in first..=body.len() {
            splits.push(vec![first, second]);
        }
        splits.push(vec![first]);
    }
    splits.push((0..=body.len()).collect());
    for cuts in &splits {
        let chunks = split_at_cuts(body, cuts);
        for (framing, expected) in [(Framing::Data, data), (Framing::Bdat, bdat)] {
            let wire = run(framing, &chunks);
            assert_eq!(wire.error, None);
            assert_eq!(
                wire.wire.escape_ascii().to_string(),
                expected.escape_ascii().to_string(),
                "{framing:?} wire of {:?} cut at {cuts:?}",
                body.escape_ascii().to_string(),
            );
        }
        check_invariants(body, cuts);
    }
}

macro_rules! wire_tests {
    ($($name:ident: $body:expr => data $data:expr, bdat $bdat:expr;)*) => {$(
        #[test]
        fn $name() {
            assert_wire($body, $data, $bdat);
        }
    )*};
}

wire_tests! {
    // Item 14: a dot starting the first line (lettre RUSTSEC-2021-0069 / CVE-2021-38189).
    first_line_dot:
        b".hidden" => data b"..hidden\r\n.\r\n", bdat b".hidden\r\n";
    first_line_lone_dot_then_commands:
        b".\r\nMAIL FROM:<evil@example.org>\r\n"
        => data b"..\r\nMAIL FROM:<evil@example.org>\r\n.\r\n",
           bdat b".\r\nMAIL FROM:<evil@example.org>\r\n";
    body_is_a_lone_dot:
        b"." => data b"..\r\n.\r\n", bdat b".\r\n";
    body_is_the_end_marker:
        b".\r\n" => data b"..\r\n.\r\n", bdat b".\r\n";
    body_is_crlf_dot_crlf:
        b"\r\n.\r\n" => data b"\r\n..\r\n.\r\n", bdat b"\r\n.\r\n";
    // Item 14: dots after a line ending, wherever the chunks are cut (lettre PR #803).
    dot_after_crlf:
        b"a\r\n.\r\nRSET\r\n" => data b"a\r\n..\r\nRSET\r\n.\r\n", bdat b"a\r\n.\r\nRSET\r\n";
    dots_on_every_line:
        b".a\r\n..b\r\n...\r\n" => data b"..a\r\n...b\r\n....\r\n.\r\n",
                                   bdat b".a\r\n..b\r\n...\r\n";
    last_line_is_a_lone_dot:
        b"a\r\n." => data b"a\r\n..\r\n.\r\n", bdat b"a\r\n.\r\n";
    dots_not_at_line_start_stay_single:
        b"a.b\r\nc." => data b"a.b\r\nc.\r\n.\r\n", bdat b"a.b\r\nc.\r\n";
    // Item 15: SMTP smuggling sequences (SEC Consult 2023, Postfix CVE-2023-51764,
    // lettre RUSTSEC-2026-0561).
    lf_dot_lf:
        b"a\n.\nb" => data b"a\r\n..\r\nb\r\n.\r\n", bdat b"a\r\n.\r\nb\r\n";
    cr_dot_crlf:
        b"a\r.\r\nb" => data b"a\r\n..\r\nb\r\n.\r\n", bdat b"a\r\n.\r\nb\r\n";
    lf_dot_crlf:
        b"a\n.\r\nb" => data b"a\r\n..\r\nb\r\n.\r\n", bdat b"a\r\n.\r\nb\r\n";
    crlf_dot_cr_crlf:
        b"a\r\n.\r\r\nb" => data b"a\r\n..\r\n\r\nb\r\n.\r\n", bdat b"a\r\n.\r\n\r\nb\r\n";
    crlf_dot_lf:
        b"a\r\n.\nb" => data b"a\r\n..\r\nb\r\n.\r\n", bdat b"a\r\n.\r\nb\r\n";
    cr_dot_cr:
        b"a\r.\rb" => data b"a\r\n..\r\nb\r\n.\r\n", bdat b"a\r\n.\r\nb\r\n";
    lf_dot_cr:
        b"a\n.\rb" => data b"a\r\n..\r\nb\r\n.\r\n", bdat b"a\r\n.\r\nb\r\n";
    crlf_dot_cr:
        b"a\r\n.\rb" => data b"a\r\n..\r\nb\r\n.\r\n", bdat b"a\r\n.\r\nb\r\n";
    dot_cr_at_start:
        b".\rb" => data b"..\r\nb\r\n.\r\n", bdat b".\r\nb\r\n";
    dot_lf_at_start:
        b".\nb" => data b"..\r\nb\r\n.\r\n", bdat b".\r\nb\r\n";
    cr_cr_lf:
        b"a\r\r\nb" => data b"a\r\n\r\nb\r\n.\r\n", bdat b"a\r\n\r\nb\r\n";
    lf_cr:
        b"a\n\rb" => data b"a\r\n\r\nb\r\n.\r\n", bdat b"a\r\n\r\nb\r\n";
    cr_lf_lf_dot_cr_cr:
        b"a\r\n\n.\r\r" => data b"a\r\n\r\n..\r\n\r\n.\r\n", bdat b"a\r\n\r\n.\r\n\r\n";
    body_ends_with_bare_cr:
        b"a\r" => data b"a\r\n.\r\n", bdat b"a\r\n";
    body_ends_with_bare_lf_dot_cr:
        b"a\n.\r" => data b"a\r\n..\r\n.\r\n", bdat b"a\r\n.\r\n";
    smuggled_transaction_after_lf_dot_crlf:
        b"Subject: hi\r\n\r\nhello\n.\r\nMAIL FROM:<admin@example.org>\r\nRCPT TO:<v@example.org>\r\nDATA\r\nforged\r\n.\r\n"
        => data b"Subject: hi\r\n\r\nhello\r\n..\r\nMAIL FROM:<admin@example.org>\r\nRCPT TO:<v@example.org>\r\nDATA\r\nforged\r\n..\r\n.\r\n",
           bdat b"Subject: hi\r\n\r\nhello\r\n.\r\nMAIL FROM:<admin@example.org>\r\nRCPT TO:<v@example.org>\r\nDATA\r\nforged\r\n.\r\n";
    // Edges of the empty message and of line endings alone.
    empty_message:
        b"" => data b".\r\n", bdat b"";
    lone_crlf:
        b"\r\n" => data b"\r\n.\r\n", bdat b"\r\n";
    lone_lf:
        b"\n" => data b"\r\n.\r\n", bdat b"\r\n";
    lone_cr:
        b"\r" => data b"\r\n.\r\n", bdat b"\r\n";
}
