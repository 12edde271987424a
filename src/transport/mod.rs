//! The blocking transport: a thin driver that owns the socket and moves bytes between it and
//! the sans-IO [`Session`](crate::session::Session).
//!
//! It has no protocol logic of its own. It resolves and connects (every address in turn,
//! with a connect timeout, TCP_NODELAY and keepalive on), runs the TLS handshake when the
//! session asks (STARTTLS) or before the greeting (implicit TLS, RFC 8314), turns the
//! session's absolute deadlines into socket timeouts before every read and write, and
//! coalesces output so that what the session has ready goes out in one write.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use smtpwire::address::{Address, ReversePath};
//! use smtpwire::session::{Envelope, TlsPolicy};
//! use smtpwire::transport::{ConnectOptions, Connection, SUBMISSION_PORT};
//!
//! let mut options = ConnectOptions::new("mail.example.com", SUBMISSION_PORT);
//! options.session.tls = TlsPolicy::Required;
//! let mut connection = Connection::connect(&options)?;
//! let envelope = Envelope::new(
//!     ReversePath::Address(Address::parse("me@example.com")?),
//!     vec![Address::parse("you@example.org")?],
//! );
//! let delivery = connection.send_bytes(&envelope, b"Subject: hi\r\n\r\nHello.\r\n")?;
//! println!("{}", delivery.reply);
//! connection.close()?;
//! # Ok(())
//! # }
//! ```
//!
//! TLS (rustls with the ring provider, `webpki-roots` anchors by default) needs the `tls`
//! feature; without it, plain SMTP still works and a policy that needs TLS fails with
//! [`ConfigError::TlsNotCompiled`](crate::transport::ConfigError::TlsNotCompiled).

// `Error` carries the reply and the interruption by value so that callers can match on them
// (128 bytes). It is built only on the failure path, next to network IO, so boxing its fields
// would buy nothing but clumsier matching.
#![allow(clippy::result_large_err)]

mod connect;
mod connection;
mod error;
mod options;
mod socket;
mod stream;
#[cfg(feature = "tls")]
mod tls;

pub use connection::Connection;
#[cfg(feature = "tls")]
pub use error::PemItem;
pub use error::{ConfigError, ConnectAttempt, ConnectError, Error};
pub use options::{
    ConnectOptions, DEFAULT_CONNECT_TIMEOUT, DEFAULT_QUIT_TIMEOUT, DEFAULT_WRITE_BUFFER, SMTP_PORT,
    SUBMISSION_PORT, SUBMISSIONS_PORT, local_ehlo_name,
};
pub use socket::Socket;
#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsConfigBuilder};
