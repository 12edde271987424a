//! Base64 (RFC 4648 §4, with padding) of several pieces at once, written straight into the
//! output, so that a secret is never copied into a temporary buffer of its own.

use alloc::vec::Vec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Appends the base64 of the concatenation of `pieces` to `out`.
pub(super) fn write_base64(pieces: &[&[u8]], out: &mut Vec<u8>) {
    let mut group = [0u8; 3];
    let mut filled = 0;
    for &byte in pieces.iter().flat_map(|piece| piece.iter()) {
        // `filled` is reset to 0 whenever it reaches 3, so it indexes the group.
        group[filled] = byte;
        filled += 1;
        if filled == group.len() {
            encode_group(&group, out);
            filled = 0;
        }
    }
    if filled > 0 {
        encode_group(&group[..filled], out);
    }
    group.fill(0);
}

/// Appends the base64 of at most three bytes (padded when fewer).
fn encode_group(group: &[u8], out: &mut Vec<u8>) {
    let mut encoded = [0u8; 4];
    // Three input bytes or fewer encode to four bytes with padding: the buffer always fits,
    // so the error branch cannot be taken.
    let written = STANDARD.encode_slice(group, &mut encoded).unwrap_or(0);
    out.extend_from_slice(&encoded[..written]);
}

/// Whether `text` is valid padded base64 (empty included).
pub(super) fn is_base64(text: &[u8]) -> bool {
    STANDARD.decode(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_one_shot_encoding_across_piece_boundaries() {
        let input: Vec<u8> = (0u8..=255).collect();
        for split_a in [0, 1, 2, 3, 100, 254] {
            for split_b in [split_a, split_a + 1, 200, 256] {
                let split_b = split_b.max(split_a);
                let mut out = Vec::new();
                write_base64(
                    &[
                        &input[..split_a],
                        &input[split_a..split_b],
                        &input[split_b..],
                    ],
                    &mut out,
                );
                assert_eq!(out, STANDARD.encode(&input).into_bytes());
            }
        }
        for len in 0..7 {
            let mut out = Vec::new();
            write_base64(&[&input[..len]], &mut out);
            assert_eq!(
                out,
                STANDARD.encode(&input[..len]).into_bytes(),
                "length {len}"
            );
        }
    }

    #[test]
    fn base64_check() {
        assert!(is_base64(b""));
        assert!(is_base64(b"VXNlcm5hbWU6"));
        assert!(is_base64(b"dGlt"));
        assert!(is_base64(b"dA=="));
        assert!(!is_base64(b"dA"));
        assert!(!is_base64(b"Username:"));
        assert!(!is_base64(b"dGlt "));
        assert!(!is_base64(b"dA==dGlt"));
    }
}
