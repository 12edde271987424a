//! The byte pipe under a connection: a TCP stream, or anything the caller wraps around one.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A connected, blocking byte stream whose reads and writes can be given a timeout.
///
/// [`TcpStream`] is the usual one. Implement it for a wrapper (one that counts or records
/// writes, or a tunnel through a proxy) and hand it to
/// [`Connection::establish`](super::Connection::establish).
///
/// # Contract
///
/// The driver calls [`Socket::set_read_timeout`] before every read and
/// [`Socket::set_write_timeout`] before every write, always with a nonzero duration. A read or
/// write that runs out of time must fail with [`io::ErrorKind::WouldBlock`] or
/// [`io::ErrorKind::TimedOut`] (as `TcpStream` does), never block longer.
pub trait Socket: Read + Write {
    /// Bounds how long the next reads may block; `None` means forever (never passed by the
    /// driver).
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Bounds how long the next writes may block; `None` means forever (never passed by the
    /// driver).
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Socket for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
}

impl<S: Socket + ?Sized> Socket for Box<S> {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
}
