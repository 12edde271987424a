//! SASL mechanism names (RFC 4422 §3.1).

use alloc::string::String;

/// The longest SASL mechanism name (RFC 4422 §3.1).
const MAX_NAME_LEN: usize = 20;

/// A SASL mechanism name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// PLAIN (RFC 4616).
    Plain,
    /// LOGIN (draft-murchison-sasl-login).
    Login,
    /// XOAUTH2 (Google and Microsoft OAuth 2.0 bearer tokens).
    XOAuth2,
    /// Any other mechanism the server names, upper-cased.
    Other(String),
}

impl Mechanism {
    /// The mechanism named `name`, matched case-insensitively; `None` unless `name` is a valid
    /// SASL mechanism name (1 to 20 letters, digits, `-` or `_`). Unknown names become
    /// [`Mechanism::Other`], upper-cased.
    pub fn parse(name: &str) -> Option<Mechanism> {
        Mechanism::from_bytes(name.as_bytes())
    }

    /// [`Mechanism::parse`] on bytes, as found in an EHLO line.
    pub(crate) fn from_bytes(name: &[u8]) -> Option<Mechanism> {
        let valid_char = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
        if name.is_empty() || name.len() > MAX_NAME_LEN || !name.iter().all(valid_char) {
            return None;
        }
        let known = [Mechanism::Plain, Mechanism::Login, Mechanism::XOAuth2];
        if let Some(mechanism) = known
            .into_iter()
            .find(|m| m.as_str().as_bytes().eq_ignore_ascii_case(name))
        {
            return Some(mechanism);
        }
        // Every byte is ASCII (checked above), so each maps to one char.
        Some(Mechanism::Other(
            name.iter()
                .map(|b| char::from(b.to_ascii_uppercase()))
                .collect(),
        ))
    }

    /// The name as sent in AUTH, e.g. `PLAIN`.
    pub fn as_str(&self) -> &str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::Other(name) => name,
        }
    }
}

impl core::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Mechanism::parse("plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::parse("Login"), Some(Mechanism::Login));
        assert_eq!(Mechanism::parse("XOAUTH2"), Some(Mechanism::XOAuth2));
        assert_eq!(
            Mechanism::parse("cram-md5"),
            Some(Mechanism::Other("CRAM-MD5".into()))
        );
        assert_eq!(
            Mechanism::parse("SCRAM-SHA-256-PLUS"),
            Some(Mechanism::Other("SCRAM-SHA-256-PLUS".into()))
        );
        assert_eq!(Mechanism::parse(""), None);
        assert_eq!(Mechanism::parse("A".repeat(21).as_str()), None);
        assert_eq!(
            Mechanism::parse("A".repeat(20).as_str()).map(|m| m.as_str().len()),
            Some(20)
        );
        assert_eq!(Mechanism::parse("PLAIN\r\n"), None);
        assert_eq!(Mechanism::parse("PL AIN"), None);
        assert_eq!(Mechanism::parse("PLAİN"), None);
        assert_eq!(Mechanism::XOAuth2.as_str(), "XOAUTH2");
    }
}
