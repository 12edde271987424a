//! What a connection needs to know before it opens: where, how long, and how to do TLS.

#[cfg(feature = "tls")]
use super::tls::TlsConfig;
use crate::ehlo_name::EhloName;
use crate::session::SessionConfig;
use std::time::{Duration, Instant};

/// The SMTP relay port (RFC 5321).
pub const SMTP_PORT: u16 = 25;
/// The message submission port, plain text then STARTTLS (RFC 6409).
pub const SUBMISSION_PORT: u16 = 587;
/// The message submission port over implicit TLS (RFC 8314).
pub const SUBMISSIONS_PORT: u16 = 465;

/// The default time allowed for each TCP connection attempt.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default flush threshold and body read size: 64 KiB.
pub const DEFAULT_WRITE_BUFFER: usize = 64 * 1024;
/// The default time `close` waits for the reply to QUIT.
pub const DEFAULT_QUIT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where to connect and how.
///
/// The session part ([`SessionConfig`]) carries the EHLO name, the TLS policy, credentials and
/// reply deadlines; the rest is for the transport.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// The server's host name or IP address (`[::1]` and `::1` both work).
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// The session: EHLO name, TLS policy, credentials, reply deadlines, reply limits.
    pub session: SessionConfig,
    /// The time allowed for each TCP connection attempt, and for name resolution.
    pub connect_timeout: Duration,
    /// An overall limit for [`Connection::connect`](super::Connection::connect): resolving,
    /// connecting, TLS, greeting, EHLO and AUTH all end by then. `None`: only the per-step
    /// limits apply.
    pub deadline: Option<Instant>,
    /// Output is written once this many bytes are pending, or when the session waits for a
    /// reply; it is also the size of each read from a body. At least 1 KiB is used.
    pub write_buffer: usize,
    /// The time [`Connection::close`](super::Connection::close) waits for the reply to QUIT.
    pub quit_timeout: Duration,
    /// Trust anchors and client certificate for TLS.
    #[cfg(feature = "tls")]
    pub tls: TlsConfig,
    /// The name the server's certificate must match; `None`: [`ConnectOptions::host`].
    #[cfg(feature = "tls")]
    pub tls_server_name: Option<String>,
}

impl ConnectOptions {
    /// Options for `host:port` with the defaults: opportunistic STARTTLS, no credentials, RFC
    /// 5321 reply deadlines, the `webpki-roots` anchors, 30 s per connection attempt, and this
    /// machine's host name (or `localhost` when it is not a valid EHLO name) for EHLO.
    pub fn new(host: impl Into<String>, port: u16) -> ConnectOptions {
        ConnectOptions::with_session(host, port, SessionConfig::new(local_ehlo_name()))
    }

    /// Options for `host:port` with the given session configuration and transport defaults.
    pub fn with_session(
        host: impl Into<String>,
        port: u16,
        session: SessionConfig,
    ) -> ConnectOptions {
        ConnectOptions {
            host: host.into(),
            port,
            session,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            deadline: None,
            write_buffer: DEFAULT_WRITE_BUFFER,
            quit_timeout: DEFAULT_QUIT_TIMEOUT,
            #[cfg(feature = "tls")]
            tls: TlsConfig::default(),
            #[cfg(feature = "tls")]
            tls_server_name: None,
        }
    }

    /// The flush threshold actually used.
    pub(crate) fn effective_write_buffer(&self) -> usize {
        self.write_buffer.max(1024)
    }
}

/// This machine's host name when it is a valid EHLO name, else `localhost`.
pub fn local_ehlo_name() -> EhloName {
    let host = gethostname::gethostname();
    host.to_str()
        .and_then(|name| EhloName::parse(name).ok())
        .or_else(|| EhloName::parse("localhost").ok())
        .unwrap_or_else(|| EhloName::from_ip(std::net::Ipv4Addr::LOCALHOST.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::TlsPolicy;

    #[test]
    fn defaults_are_safe_and_bounded() {
        let options = ConnectOptions::new("mail.example.com", SUBMISSION_PORT);
        assert_eq!(options.session.tls, TlsPolicy::Opportunistic);
        assert!(options.session.credentials.is_none());
        assert!(!options.session.allow_plaintext_auth);
        assert_eq!(options.connect_timeout, Duration::from_secs(30));
        assert_eq!(options.deadline, None);
        assert_eq!(options.effective_write_buffer(), 64 * 1024);
        assert_eq!(options.tls_server_name, None);
    }

    #[test]
    fn a_tiny_write_buffer_is_raised_to_one_kib() {
        let mut options = ConnectOptions::new("h", SMTP_PORT);
        options.write_buffer = 0;
        assert_eq!(options.effective_write_buffer(), 1024);
    }

    #[test]
    fn the_local_ehlo_name_is_always_valid() {
        let name = local_ehlo_name();
        assert_eq!(EhloName::parse(name.as_str()), Ok(name.clone()));
        assert!(!name.as_str().is_empty());
    }
}
