//! xtext (RFC 3461 §4) and its UTF-8 address form (RFC 6533 §3): encodings that carry any
//! character in an ESMTP parameter without a space, `=`, or a control character.

use alloc::vec::Vec;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `text` as xtext: `!` to `~` as they are except `+` and `=`, every other octet as
/// `+HH`.
pub(super) fn write_xtext(text: &str, out: &mut Vec<u8>) {
    for &byte in text.as_bytes() {
        if matches!(byte, b'!'..=b'~') && byte != b'+' && byte != b'=' {
            out.push(byte);
        } else {
            out.push(b'+');
            write_hex(u32::from(byte), out);
        }
    }
}

/// Appends `address` as utf-8-addr-xtext: `!` to `~` as they are except `+`, `=` and `\`,
/// every other character as `\x{HEX}` of its code point (upper case, at least two digits).
pub(super) fn write_utf8_addr_xtext(address: &str, out: &mut Vec<u8>) {
    for c in address.chars() {
        if matches!(c, '!'..='~') && !matches!(c, '+' | '=' | '\\') {
            // `c` is in '!'..='~', so it is one ASCII octet.
            out.push(c as u8);
        } else {
            out.extend_from_slice(b"\\x{");
            write_hex(u32::from(c), out);
            out.push(b'}');
        }
    }
}

/// `value` in upper-case hexadecimal, at least two digits, no more than needed.
fn write_hex(value: u32, out: &mut Vec<u8>) {
    let digits = (8 - value.leading_zeros() as usize / 4).max(2);
    for shift in (0..digits).rev() {
        // The nibble is masked to 0..=15, so it indexes HEX.
        out.push(HEX[((value >> (shift * 4)) & 0xF) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(write: fn(&str, &mut Vec<u8>), text: &str) -> alloc::string::String {
        let mut out = Vec::new();
        write(text, &mut out);
        alloc::string::String::from_utf8(out).unwrap_or_default()
    }

    fn xtext(text: &str) -> alloc::string::String {
        encoded(write_xtext, text)
    }

    fn utf8_xtext(text: &str) -> alloc::string::String {
        encoded(write_utf8_addr_xtext, text)
    }

    #[test]
    fn xtext_examples() {
        assert_eq!(xtext("QQ314159"), "QQ314159");
        assert_eq!(xtext("a+b=c d"), "a+2Bb+3Dc+20d");
        assert_eq!(xtext("\"x y\"@example.com"), "\"x+20y\"@example.com");
        assert_eq!(xtext("é"), "+C3+A9");
    }

    #[test]
    fn utf8_addr_xtext_examples() {
        assert_eq!(utf8_xtext("a@b.example"), "a@b.example");
        assert_eq!(utf8_xtext("é@b"), "\\x{E9}@b");
        assert_eq!(utf8_xtext("δ@b"), "\\x{3B4}@b");
        assert_eq!(utf8_xtext("用户@b"), "\\x{7528}\\x{6237}@b");
        assert_eq!(
            utf8_xtext("😀+=\\ "),
            "\\x{1F600}\\x{2B}\\x{3D}\\x{5C}\\x{20}"
        );
        assert_eq!(utf8_xtext("\u{10FFFF}"), "\\x{10FFFF}");
    }
}
