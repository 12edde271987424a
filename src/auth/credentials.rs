//! User names and secrets, checked so that they cannot break the SASL messages they go into.

use super::Mechanism;
use alloc::string::{String, ToString};

/// The longest user name, in octets (RFC 4616 §2 asks servers to accept up to 255).
pub const MAX_USERNAME_LEN: usize = 255;
/// The longest password or access token, in octets: long enough for the biggest OAuth 2.0
/// tokens seen in practice, short enough that the AUTH line stays under RFC 4954's 12288.
pub const MAX_SECRET_LEN: usize = 8192;

static PASSWORD_MECHANISMS: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];
static OAUTH2_MECHANISMS: [Mechanism; 1] = [Mechanism::XOAuth2];

/// What the client authenticates with. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    secret: String,
    kind: SecretKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SecretKind {
    Password,
    OAuth2Token,
}

impl Credentials {
    /// A user name and password for PLAIN or LOGIN. Neither may be empty (RFC 4616); the user
    /// name may hold no control character, the password no NUL (PLAIN's separator), CR or LF.
    pub fn password(username: &str, password: &str) -> Result<Credentials, CredentialsError> {
        check_username(username)?;
        check_secret(password, |c| matches!(c, '\0' | '\r' | '\n'))?;
        Ok(Credentials::new(username, password, SecretKind::Password))
    }
    /// A user name and OAuth 2.0 access token for XOAUTH2. Neither may be empty or hold a
    /// control character (`\x01` separates XOAUTH2's fields; bearer tokens are printable).
    pub fn oauth2(username: &str, access_token: &str) -> Result<Credentials, CredentialsError> {
        check_username(username)?;
        check_secret(access_token, char::is_control)?;
        Ok(Credentials::new(
            username,
            access_token,
            SecretKind::OAuth2Token,
        ))
    }
    /// The mechanisms these credentials can be used with, most preferred first: PLAIN then
    /// LOGIN for a password, XOAUTH2 for a token.
    pub fn mechanisms(&self) -> &'static [Mechanism] {
        match self.kind {
            SecretKind::Password => &PASSWORD_MECHANISMS,
            SecretKind::OAuth2Token => &OAUTH2_MECHANISMS,
        }
    }
    /// The first of [`Credentials::mechanisms`] that the server `offered`, if any.
    pub fn preferred_mechanism(&self, offered: &[Mechanism]) -> Option<&'static Mechanism> {
        self.mechanisms()
            .iter()
            .find(|mechanism| offered.contains(mechanism))
    }
    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    fn new(username: &str, secret: &str, kind: SecretKind) -> Credentials {
        Credentials {
            username: username.to_string(),
            secret: secret.to_string(),
            kind,
        }
    }
    pub(super) fn kind(&self) -> SecretKind {
        self.kind
    }
    pub(super) fn secret(&self) -> &str {
        &self.secret
    }
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .field("kind", &self.kind)
            .finish()
    }
}

fn check_username(username: &str) -> Result<(), CredentialsError> {
    if username.is_empty() {
        Err(CredentialsError::EmptyUsername)
    } else if username.len() > MAX_USERNAME_LEN {
        Err(CredentialsError::UsernameTooLong)
    } else if username.chars().any(char::is_control) {
        Err(CredentialsError::UsernameControlCharacter)
    } else {
        Ok(())
    }
}

fn check_secret(secret: &str, forbidden: impl Fn(char) -> bool) -> Result<(), CredentialsError> {
    if secret.is_empty() {
        Err(CredentialsError::EmptySecret)
    } else if secret.len() > MAX_SECRET_LEN {
        Err(CredentialsError::SecretTooLong)
    } else if secret.chars().any(forbidden) {
        Err(CredentialsError::SecretForbiddenCharacter)
    } else {
        Ok(())
    }
}

/// Why credentials cannot be used. No variant carries any part of the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// The user name is empty.
    #[error("empty user name")]
    EmptyUsername,
    /// The user name is longer than [`MAX_USERNAME_LEN`] octets.
    #[error("user name longer than 255 octets")]
    UsernameTooLong,
    /// The user name holds a control character (CR, LF, NUL, any other C0, DEL or C1).
    #[error("control character in user name")]
    UsernameControlCharacter,
    /// The password or token is empty.
    #[error("empty password or token")]
    EmptySecret,
    /// The password or token is longer than [`MAX_SECRET_LEN`] octets.
    #[error("password or token longer than 8192 octets")]
    SecretTooLong,
    /// The password holds NUL, CR or LF, or the token holds a control character.
    #[error("forbidden character in password or token")]
    SecretForbiddenCharacter,
}
