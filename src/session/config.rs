//! Session configuration: identity, TLS policy, credentials, timeouts and limits.

use crate::auth::{Credentials, Mechanism};
use crate::ehlo_name::EhloName;
use crate::reply::ReplyLimits;
use alloc::vec::Vec;
use core::time::Duration;

/// When the session uses TLS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsPolicy {
    /// Never: plain text throughout, even when STARTTLS is offered.
    None,
    /// STARTTLS when the server offers it, plain text otherwise.
    #[default]
    Opportunistic,
    /// STARTTLS, or fail before any AUTH or MAIL.
    Required,
    /// TLS from the first byte (RFC 8314, port 465): the driver handshakes before the greeting.
    Implicit,
}

/// How long the session waits for each reply (RFC 5321 §4.5.3.2 defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// The greeting: 5 minutes.
    pub greeting: Duration,
    /// EHLO, HELO, STARTTLS, AUTH, RSET, NOOP and QUIT replies: 5 minutes.
    pub command: Duration,
    /// MAIL: 5 minutes.
    pub mail: Duration,
    /// Each RCPT: 5 minutes.
    pub rcpt: Duration,
    /// The 354 reply to DATA: 2 minutes.
    pub data_init: Duration,
    /// Sending each block of the body: 3 minutes.
    pub data_block: Duration,
    /// The reply after the final dot (or BDAT LAST): 10 minutes.
    pub data_final: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        const MINUTE: u64 = 60;
        Timeouts {
            greeting: Duration::from_secs(5 * MINUTE),
            command: Duration::from_secs(5 * MINUTE),
            mail: Duration::from_secs(5 * MINUTE),
            rcpt: Duration::from_secs(5 * MINUTE),
            data_init: Duration::from_secs(2 * MINUTE),
            data_block: Duration::from_secs(3 * MINUTE),
            data_final: Duration::from_secs(10 * MINUTE),
        }
    }
}

impl Timeouts {
    /// Every timeout set to `timeout`.
    pub fn all(timeout: Duration) -> Timeouts {
        Timeouts {
            greeting: timeout,
            command: timeout,
            mail: timeout,
            rcpt: timeout,
            data_init: timeout,
            data_block: timeout,
            data_final: timeout,
        }
    }
}

/// Everything a session needs to know before the first byte.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The name sent with EHLO or HELO.
    pub ehlo_name: EhloName,
    /// When to use TLS.
    pub tls: TlsPolicy,
    /// Credentials for AUTH, if any.
    pub credentials: Option<Credentials>,
    /// Allow AUTH over a connection without TLS. Off by default: credentials are sent only
    /// once TLS is up.
    pub allow_plaintext_auth: bool,
    /// The AUTH mechanisms to use, most preferred first; those the credentials cannot serve
    /// are skipped. `None`: the credentials' own order (PLAIN then LOGIN for a password,
    /// XOAUTH2 for a token). Some servers advertise PLAIN and only accept LOGIN.
    pub auth_mechanisms: Option<Vec<Mechanism>>,
    /// Reply deadlines.
    pub timeouts: Timeouts,
    /// Caps on reply size.
    pub reply_limits: ReplyLimits,
}

impl SessionConfig {
    /// A configuration with defaults: opportunistic TLS, no credentials, RFC timeouts.
    pub fn new(ehlo_name: EhloName) -> SessionConfig {
        SessionConfig {
            ehlo_name,
            tls: TlsPolicy::default(),
            credentials: None,
            allow_plaintext_auth: false,
            auth_mechanisms: None,
            timeouts: Timeouts::default(),
            reply_limits: ReplyLimits::default(),
        }
    }
}
