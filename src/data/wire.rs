//! Where encoded octets go: the caller's `Vec`, or a counter that only measures them.

use alloc::vec::Vec;

/// A destination for wire octets. The encoder is generic over it so that measuring a body
/// ([`super::bdat_wire_len`]) runs the very same code as encoding it.
pub(super) trait Wire {
    /// Appends `octets`.
    fn put(&mut self, octets: &[u8]);
}

impl Wire for Vec<u8> {
    #[inline]
    fn put(&mut self, octets: &[u8]) {
        self.extend_from_slice(octets);
    }
}

/// Counts octets without storing them.
#[derive(Debug, Default)]
pub(super) struct WireCount(u64);

impl WireCount {
    /// The number of octets put so far.
    pub(super) fn total(&self) -> u64 {
        self.0
    }
}

impl Wire for WireCount {
    #[inline]
    fn put(&mut self, octets: &[u8]) {
        // usize is at most 64 bits on every target Rust supports, so the cast is lossless.
        self.0 += octets.len() as u64;
    }
}
