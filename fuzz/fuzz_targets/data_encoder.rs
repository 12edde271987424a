//! The DATA encoder fed arbitrary bodies split into arbitrary chunks: it must not panic, and
//! every invariant of `tests/data_common` must hold (a line over 998 octets must stop the
//! encoder, and then only what was written before the error is checked).
//!
//! Input: one octet `n`, then `n % 8` cut offsets of two octets each (little endian), then
//! the body.
#![no_main]

#[path = "../../tests/data_common/mod.rs"]
mod data_common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&count, rest)) = input.split_first() else {
        return;
    };
    let cut_octets = usize::from(count % 8) * 2;
    if rest.len() < cut_octets {
        return;
    }
    let (cuts, body) = rest.split_at(cut_octets);
    let cuts: Vec<usize> = cuts
        .chunks_exact(2)
        .map(|pair| usize::from(u16::from_le_bytes([pair[0], pair[1]])))
        .collect();
    data_common::check_invariants(body, &cuts);
});
