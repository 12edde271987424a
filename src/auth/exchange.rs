//! The client side of PLAIN, LOGIN and XOAUTH2 exchanges (RFC 4954 §4).
//!
//! ```text
//! PLAIN    C: AUTH PLAIN base64(\0user\0password)      S: 235 | 5yz
//! LOGIN    C: AUTH LOGIN                               S: 334 (user name?)
//!          C: base64(user)                             S: 334 (password?)
//!          C: base64(password)                         S: 235 | 5yz
//! XOAUTH2  C: AUTH XOAUTH2 base64(user=…\x01auth=Bearer …\x01\x01)
//!                                                      S: 235 | 334 base64(JSON error)
//!          C: (empty line)                             S: 5yz
//! ```
//!
//! The steps are counted; the text of a challenge is only checked to be base64, never trusted
//! to say what is asked.

use super::base64_line::{is_base64, write_base64};
use super::credentials::{Credentials, SecretKind};
use super::mechanism::Mechanism;
use alloc::vec::Vec;

/// The client side of one AUTH exchange: writes the AUTH command, then answers each 334
/// challenge until the server's final reply.
///
/// Drive it like this: [`AuthExchange::start`] writes the AUTH line; send it. For every reply
/// that follows, a 334 goes to [`AuthExchange::respond`] (its text after `334 `), whose line
/// is sent in turn; a 235 means success and any other code failure, both ending the exchange.
/// After an error, every later call returns the same error; [`AuthExchange::cancel`] writes
/// the `*` line that makes the server give up with 501.
pub struct AuthExchange {
    steps_taken: u8,
    flow: Flow,
    failed: Option<AuthError>,
}

/// The mechanism being run, with what its later steps need.
enum Flow {
    /// Everything went in the initial response.
    Plain,
    /// The user name and password go out one challenge at a time.
    Login(Credentials),
    /// Everything went in the initial response; a challenge is the server's error report.
    XOAuth2,
}

/// What the exchange wants after a server reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthStep {
    /// A response line was written; wait for the next reply (235 on success, 334 for another
    /// challenge, anything else a failure).
    Responded,
    /// The challenge was the server's report of a failure (XOAUTH2 sends its JSON error as a
    /// 334); an empty line was written to acknowledge it, and the next reply is the failure
    /// itself (5yz). The exchange has failed; it only has to be finished.
    AcknowledgedError,
}

/// Why an exchange cannot go on. No variant carries any part of the credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The server sent more challenges than the mechanism has steps.
    #[error("unexpected authentication challenge")]
    UnexpectedChallenge,
    /// A challenge was not valid base64.
    #[error("authentication challenge is not valid base64")]
    InvalidChallenge,
    /// The mechanism is not one this client implements (PLAIN, LOGIN, XOAUTH2), or the
    /// credentials do not fit it (a password for XOAUTH2, a token for PLAIN or LOGIN).
    #[error("authentication mechanism not supported with these credentials")]
    UnsupportedMechanism,
    /// The client cancelled the exchange.
    #[error("authentication cancelled by the client")]
    Cancelled,
}

impl AuthExchange {
    /// Starts `mechanism` with `credentials`, writing the AUTH command line to `out`.
    ///
    /// Fails with [`AuthError::UnsupportedMechanism`], writing nothing, for a mechanism other
    /// than PLAIN, LOGIN and XOAUTH2 or one that does not fit the credentials (see
    /// [`Credentials::mechanisms`]).
    pub fn start(
        mechanism: &Mechanism,
        credentials: &Credentials,
        out: &mut Vec<u8>,
    ) -> Result<AuthExchange, AuthError> {
        let user = credentials.username().as_bytes();
        let secret = credentials.secret().as_bytes();
        let flow = match (mechanism, credentials.kind()) {
            (Mechanism::Plain, SecretKind::Password) => {
                // RFC 4616: [authzid] NUL authcid NUL passwd, with an empty authzid.
                write_auth_line("PLAIN", &[b"\0", user, b"\0", secret], out);
                Flow::Plain
            }
            (Mechanism::Login, SecretKind::Password) => {
                write_auth_line("LOGIN", &[], out);
                Flow::Login(credentials.clone())
            }
            (Mechanism::XOAuth2, SecretKind::OAuth2Token) => {
                let pieces: [&[u8]; 5] = [b"user=", user, b"\x01auth=Bearer ", secret, b"\x01\x01"];
                write_auth_line("XOAUTH2", &pieces, out);
                Flow::XOAuth2
            }
            _ => return Err(AuthError::UnsupportedMechanism),
        };
        Ok(AuthExchange {
            steps_taken: 0,
            flow,
            failed: None,
        })
    }

    /// Answers a 334 challenge (its text, still base64) by writing one response line to `out`.
    ///
    /// A challenge beyond the mechanism's steps is [`AuthError::UnexpectedChallenge`]; one
    /// that is not base64 is [`AuthError::InvalidChallenge`]. Nothing is written on error, and
    /// the error sticks.
    pub fn respond(&mut self, challenge: &[u8], out: &mut Vec<u8>) -> Result<AuthStep, AuthError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let result = self.answer(challenge, out);
        match result {
            Ok(_) => self.steps_taken = self.steps_taken.saturating_add(1),
            Err(error) => self.failed = Some(error),
        }
        result
    }

    /// Writes the cancellation line `*` (RFC 4954 §4), to which the server answers 501, and
    /// ends the exchange: later calls to [`AuthExchange::respond`] fail with
    /// [`AuthError::Cancelled`] unless it had already failed.
    pub fn cancel(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"*\r\n");
        self.failed.get_or_insert(AuthError::Cancelled);
    }

    /// The mechanism being run.
    pub fn mechanism(&self) -> Mechanism {
        match self.flow {
            Flow::Plain => Mechanism::Plain,
            Flow::Login(_) => Mechanism::Login,
            Flow::XOAuth2 => Mechanism::XOAuth2,
        }
    }

    fn answer(&self, challenge: &[u8], out: &mut Vec<u8>) -> Result<AuthStep, AuthError> {
        let reply = match (&self.flow, self.steps_taken) {
            (Flow::Login(credentials), 0) => Some(credentials.username().as_bytes()),
            (Flow::Login(credentials), 1) => Some(credentials.secret().as_bytes()),
            (Flow::XOAuth2, 0) => None,
            _ => return Err(AuthError::UnexpectedChallenge),
        };
        if !is_base64(challenge) {
            return Err(AuthError::InvalidChallenge);
        }
        match reply {
            Some(data) => {
                write_base64(&[data], out);
                out.extend_from_slice(b"\r\n");
                Ok(AuthStep::Responded)
            }
            None => {
                out.extend_from_slice(b"\r\n");
                Ok(AuthStep::AcknowledgedError)
            }
        }
    }
}

/// The secret is never shown: only the mechanism, the step count and the failure.
impl core::fmt::Debug for AuthExchange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthExchange")
            .field("mechanism", &self.mechanism())
            .field("steps_taken", &self.steps_taken)
            .field("failed", &self.failed)
            .finish()
    }
}

/// `AUTH mechanism` with the initial response made of `pieces`, if there are any. An initial
/// response that encodes to nothing is sent as `=` (RFC 4954 §4).
fn write_auth_line(mechanism: &str, pieces: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(b"AUTH ");
    out.extend_from_slice(mechanism.as_bytes());
    if !pieces.is_empty() {
        out.push(b' ');
        let start = out.len();
        write_base64(pieces, out);
        if out.len() == start {
            out.push(b'=');
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_initial_response_is_an_equals_sign() {
        let mut out = Vec::new();
        write_auth_line("EXTERNAL", &[b""], &mut out);
        assert_eq!(out, b"AUTH EXTERNAL =\r\n");
        out.clear();
        write_auth_line("LOGIN", &[], &mut out);
        assert_eq!(out, b"AUTH LOGIN\r\n");
    }
}
