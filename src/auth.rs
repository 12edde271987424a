//! SMTP authentication (RFC 4954): mechanisms, credentials, and the client side of each exchange.
//!
//! The secret in [`Credentials`] never appears in a `Debug` or `Display` output or in an error
//! of this module; it only ever goes out base64-encoded inside an AUTH line or a response line.
//!
//! ```
//! use smtpwire::auth::{AuthExchange, AuthStep, Credentials, Mechanism};
//!
//! let credentials = Credentials::password("tim", "tanstaaftanstaaf")?;
//! let mut out = Vec::new();
//! let exchange = AuthExchange::start(&Mechanism::Plain, &credentials, &mut out).unwrap();
//! assert_eq!(out, b"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
//!
//! let mut out = Vec::new();
//! let mut exchange = AuthExchange::start(&Mechanism::Login, &credentials, &mut out).unwrap();
//! assert_eq!(out, b"AUTH LOGIN\r\n");
//! out.clear();
//! assert_eq!(exchange.respond(b"VXNlcm5hbWU6", &mut out), Ok(AuthStep::Responded));
//! assert_eq!(out, b"dGlt\r\n");
//! # Ok::<(), smtpwire::auth::CredentialsError>(())
//! ```

mod base64_line;
mod credentials;
mod exchange;
mod mechanism;

pub use credentials::{Credentials, CredentialsError, MAX_SECRET_LEN, MAX_USERNAME_LEN};
pub use exchange::{AuthError, AuthExchange, AuthStep};
pub use mechanism::Mechanism;
