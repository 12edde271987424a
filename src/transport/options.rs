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
    /// Once [`Connection::connect`](super::Connection::connect) has a socket, replace the
    /// session's EHLO name with the address literal of its local address (`[192.0.2.7]`),
    /// as RFC 5321 §4.1.4 suggests for a client without a meaningful host name. Not used by
    /// [`Connection::establish`](super::Connection::establish).
    pub ehlo_from_local_address: bool,
}

impl ConnectOptions {
    /// Options for `host:port` with the defaults: opportunistic STARTTLS, no credentials, RFC
    /// 5321 reply deadlines, the `webpki-roots` anchors, 30 s per connection attempt, and for
    /// EHLO this machine's host name ([`local_ehlo_name`]), or when it has none that is
    /// usable, the address literal of the connection's local address.
    pub fn new(host: impl Into<String>, port: u16) -> ConnectOptions {
        match local_ehlo_name() {
            Some(name) => ConnectOptions::with_session(host, port, SessionConfig::new(name)),
            None => {
                // A placeholder until the socket's local address is known.
                let placeholder = EhloName::from_ip(std::net::Ipv4Addr::LOCALHOST.into());
                let mut options =
                    ConnectOptions::with_session(host, port, SessionConfig::new(placeholder));
                options.ehlo_from_local_address = true;
                options
            }
        }
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
            ehlo_from_local_address: false,
        }
    }

    /// The flush threshold actually used.
    pub(crate) fn effective_write_buffer(&self) -> usize {
        self.write_buffer.max(1024)
    }
}

/// This machine's host name when it is a valid EHLO name other than `localhost` (which tells
/// the server nothing, and which some servers refuse); `None` otherwise.
pub fn local_ehlo_name() -> Option<EhloName> {
    let host = gethostname::gethostname();
    let name = EhloName::parse(host.to_str()?).ok()?;
    (!name.as_str().eq_ignore_ascii_case("localhost")).then_some(name)
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
    fn the_default_ehlo_name_is_never_localhost() {
        let options = ConnectOptions::new("mail.example.com", SMTP_PORT);
        match local_ehlo_name() {
            Some(name) => {
                assert!(!name.as_str().eq_ignore_ascii_case("localhost"));
                assert_eq!(options.session.ehlo_name, name);
                assert!(!options.ehlo_from_local_address);
            }
            // No usable host name: the local address literal is put in once connected.
            None => assert!(options.ehlo_from_local_address),
        }
    }
}
