//! What the session tells its driver.

use super::{SessionError, TransactionResult};
use crate::reply::Reply;

/// Something the driver must act on or may report.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server agreed to STARTTLS: the driver must run the TLS handshake on the connection
    /// now, before sending or reading anything else, then call
    /// [`super::Session::handle_tls_established`].
    StartTls,
    /// The session is ready for [`super::Session::send_message`], NOOP, RSET or QUIT.
    Ready,
    /// The driver should stream the body with [`super::Session::write_body`] and end it with
    /// [`super::Session::finish_body`].
    SendBody,
    /// A transaction ended.
    TransactionDone(TransactionResult),
    /// NOOP was answered.
    NoopDone(Reply),
    /// RSET was answered.
    ResetDone(Reply),
    /// QUIT was answered (or the server closed the connection after QUIT).
    Closed,
    /// The session failed; [`super::Session::error`] returns the same error from now on.
    Failed(SessionError),
}
