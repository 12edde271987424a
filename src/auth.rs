//! SMTP authentication (RFC 4954): mechanisms, credentials, and the client side of each exchange.
//!
//! SKELETON: signatures are the contract; bodies come with issue 2.

use alloc::string::String;
use alloc::vec::Vec;

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

/// What the client authenticates with. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    secret: String,
    kind: SecretKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SecretKind {
    Password,
    OAuth2Token,
}

impl Credentials {
    /// A user name and password for PLAIN or LOGIN.
    pub fn password(username: &str, password: &str) -> Result<Credentials, CredentialsError> {
        let _ = (
            username,
            password,
            SecretKind::Password,
            SecretKind::OAuth2Token,
        );
        todo!()
    }
    /// A user name and OAuth 2.0 access token for XOAUTH2.
    pub fn oauth2(username: &str, access_token: &str) -> Result<Credentials, CredentialsError> {
        let _ = (username, access_token);
        todo!()
    }
    /// The mechanisms these credentials can be used with, most preferred first.
    pub fn mechanisms(&self) -> &'static [Mechanism] {
        todo!()
    }
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Why credentials cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// Placeholder in the skeleton.
    #[error("invalid credentials")]
    Invalid,
}

/// The client side of one AUTH exchange: writes the AUTH command, then answers each 334
/// challenge until the server's final reply.
#[derive(Debug)]
pub struct AuthExchange {
    steps_taken: u8,
}

/// What the exchange wants after a server reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStep {
    /// A response line was written; wait for the next reply.
    Responded,
}

/// Why an exchange cannot go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The server sent more challenges than the mechanism has steps.
    #[error("unexpected authentication challenge")]
    UnexpectedChallenge,
}

impl AuthExchange {
    /// Starts `mechanism` with `credentials`, writing the AUTH command line to `out`.
    pub fn start(
        mechanism: &Mechanism,
        credentials: &Credentials,
        out: &mut Vec<u8>,
    ) -> AuthExchange {
        let _ = (mechanism, credentials, out);
        todo!()
    }
    /// Answers a 334 challenge (its text, still base64) by writing one response line to `out`.
    pub fn respond(&mut self, challenge: &[u8], out: &mut Vec<u8>) -> Result<AuthStep, AuthError> {
        let _ = (challenge, out, self.steps_taken);
        todo!()
    }
}
