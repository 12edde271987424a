//! Domains and address literals (RFC 5321 §4.1.2 and §4.1.3), shared by addresses and EHLO
//! names. Lengths are checked by the callers, which know their own limits.

use core::net::{Ipv4Addr, Ipv6Addr};

/// The longest label, in octets (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// Why a string is not a domain or an address literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DomainError {
    /// A space somewhere.
    Space,
    /// Not dot-separated labels of 1 to 63 octets without a hyphen at either end.
    InvalidDomain,
    /// Bracketed, but not `[IPv4]` or `[IPv6:IPv6]`.
    InvalidAddressLiteral,
}

/// Checks that `text` is a host name or an address literal. Host-name labels hold ASCII
/// letters, digits and hyphens, or non-ASCII characters (U-labels); callers that need ASCII
/// check that themselves.
pub(crate) fn validate(text: &str) -> Result<(), DomainError> {
    if text.contains(' ') {
        return Err(DomainError::Space);
    }
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or(DomainError::InvalidAddressLiteral)?;
        return validate_address_literal(inner);
    }
    if text.split('.').all(is_label) {
        Ok(())
    } else {
        Err(DomainError::InvalidDomain)
    }
}

/// `192.0.2.1` or `IPv6:2001:db8::1` (the tag is case-insensitive), without the brackets.
fn validate_address_literal(inner: &str) -> Result<(), DomainError> {
    let valid = match split_ipv6_tag(inner) {
        Some(ipv6) => ipv6.parse::<Ipv6Addr>().is_ok(),
        None => inner.parse::<Ipv4Addr>().is_ok(),
    };
    if valid {
        Ok(())
    } else {
        Err(DomainError::InvalidAddressLiteral)
    }
}

/// The text after a leading `IPv6:` tag, matched case-insensitively.
fn split_ipv6_tag(inner: &str) -> Option<&str> {
    const TAG: &str = "IPv6:";
    let tag = inner.get(..TAG.len())?;
    // `get` returned a slice, so TAG.len() is a character boundary.
    tag.eq_ignore_ascii_case(TAG).then(|| &inner[TAG.len()..])
}

fn is_label(label: &str) -> bool {
    (1..=MAX_LABEL_LEN).contains(&label.len())
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_literals() {
        assert_eq!(validate("example.com"), Ok(()));
        assert_eq!(validate("xn--bcher-kva.example"), Ok(()));
        assert_eq!(validate("bücher.example"), Ok(()));
        assert_eq!(validate("[192.0.2.1]"), Ok(()));
        assert_eq!(validate("[ipv6:2001:db8::1]"), Ok(()));
        assert_eq!(validate("-a.example"), Err(DomainError::InvalidDomain));
        assert_eq!(validate("a-.example"), Err(DomainError::InvalidDomain));
        assert_eq!(validate("a..example"), Err(DomainError::InvalidDomain));
        assert_eq!(validate("example.com."), Err(DomainError::InvalidDomain));
        assert_eq!(validate(""), Err(DomainError::InvalidDomain));
        assert_eq!(validate("a_b.example"), Err(DomainError::InvalidDomain));
        assert_eq!(validate("exa mple.com"), Err(DomainError::Space));
        assert_eq!(
            validate("[192.0.2.1"),
            Err(DomainError::InvalidAddressLiteral)
        );
        assert_eq!(
            validate("[192.0.2.256]"),
            Err(DomainError::InvalidAddressLiteral)
        );
        assert_eq!(
            validate("[2001:db8::1]"),
            Err(DomainError::InvalidAddressLiteral)
        );
        assert_eq!(
            validate("[IPv6:192.0.2.1]"),
            Err(DomainError::InvalidAddressLiteral)
        );
        assert_eq!(
            validate("[IPv6:fe80::1%eth0]"),
            Err(DomainError::InvalidAddressLiteral)
        );
        assert_eq!(validate("[IPv"), Err(DomainError::InvalidAddressLiteral));
    }

    #[test]
    fn label_length_boundary() {
        let label63 = "a".repeat(63);
        let label64 = "a".repeat(64);
        assert_eq!(validate(&alloc::format!("{label63}.example")), Ok(()));
        assert_eq!(
            validate(&alloc::format!("{label64}.example")),
            Err(DomainError::InvalidDomain)
        );
    }
}
