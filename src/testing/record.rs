//! What the server saw: connection, command and message records handed out as snapshots.

use std::borrow::Cow;
use std::net::SocketAddr;

use super::fault::Stage;

/// How many command lines one connection record keeps; later lines are only counted in
/// [`ConnectionRecord::commands_dropped`].
pub const COMMAND_LOG_CAP: usize = 100_000;

/// How many read sizes one connection record keeps; later reads are only counted in
/// [`ConnectionRecord::reads`].
pub const READ_LOG_CAP: usize = 100_000;

/// One line the server received while it expected a command (or an AUTH response).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandRecord {
    /// The line without its line ending, decoded lossily as UTF-8. Empty for
    /// [`LineKind::TooLong`].
    pub line: String,
    /// The same line as the exact octets received (without the line ending).
    pub raw: Vec<u8>,
    /// What the server took the line to be.
    pub kind: LineKind,
    /// Whether TLS was up when the line was received.
    pub tls: bool,
    /// Whether the line ended with CRLF (`false`: a bare LF, which the server tolerates).
    pub crlf: bool,
}

impl CommandRecord {
    /// The first word of the line in upper case (`"MAIL"` for `mail from:<a@b>`).
    #[must_use]
    pub fn verb(&self) -> String {
        self.line
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase()
    }
}

/// What a received line was, as far as the server is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineKind {
    /// A command line (valid or not).
    Command,
    /// A response to an AUTH challenge (`334`): base64 credentials or `*`.
    AuthResponse,
    /// A line longer than the configured cap; its content was discarded and the server
    /// answered `500 5.5.2`.
    TooLong,
}

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEnd {
    /// The client sent `QUIT` and the server answered and closed.
    Quit,
    /// The client closed the connection (EOF) without `QUIT`.
    ClientClosed,
    /// A fault closed the connection cleanly (with or without a reply first).
    ClosedByFault,
    /// A fault reset the connection (RST).
    ResetByFault,
    /// The connection was over the simultaneous-connection cap: `421` and close.
    TooManyConnections,
    /// The server was shut down while the connection was open.
    ServerShutdown,
    /// The TLS handshake or a TLS record failed.
    TlsFailed(String),
    /// A socket error, or the client stopped reading for longer than the write bound.
    Io(String),
}

/// How a message body was transferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transfer {
    /// `DATA`, dot-stuffed, ended by `<CRLF>.<CRLF>`.
    Data,
    /// `BDAT` chunks (RFC 3030); `chunks` counts the BDAT commands of this message.
    Bdat {
        /// How many BDAT commands carried this message (including the `LAST` one).
        chunks: u32,
    },
}

/// One mail transaction that reached the body stage (a `354` to DATA or a first BDAT chunk).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageRecord {
    /// The connection number (1-based) the message arrived on.
    pub connection: u64,
    /// Position of this message among the messages of its connection (1-based).
    pub sequence: u32,
    /// The reverse path of `MAIL FROM`, without angle brackets (empty for `<>`).
    pub mail_from: String,
    /// The `MAIL FROM` parameters as sent (`"SIZE=1234"`, `"BODY=8BITMIME"`, ...).
    pub mail_params: Vec<String>,
    /// The forward paths of accepted `RCPT TO` commands, without angle brackets, in order.
    pub recipients: Vec<String>,
    /// The forward paths of `RCPT TO` commands the server refused, in order (at most the
    /// builder's `max_recipients`).
    pub rejected_recipients: Vec<String>,
    /// DATA or BDAT.
    pub transfer: Transfer,
    /// The body after dot un-stuffing (DATA) or the concatenated chunks (BDAT). `None` when
    /// the server was built with `keep_bodies(false)`. When the body went over the message
    /// size cap, only the first `cap` octets are kept (see [`MessageRecord::over_limit`]).
    pub body: Option<Vec<u8>>,
    /// Length of the whole body in octets (after un-stuffing), kept or not.
    pub body_len: u64,
    /// FNV-1a 64-bit hash of the whole body (after un-stuffing); compare with [`fnv1a64`].
    pub body_hash: u64,
    /// The body went over the configured message size cap.
    pub over_limit: bool,
    /// The longest line of the body in octets, without its line ending.
    pub longest_line: u64,
    /// CR octets in the body not followed by LF.
    pub bare_cr: u64,
    /// LF octets in the body not preceded by CR.
    pub bare_lf: u64,
    /// Whether TLS was up when the body was received.
    pub tls: bool,
    /// The user the connection had authenticated as, if any.
    pub authenticated_as: Option<String>,
    /// The whole body arrived (final dot or `BDAT ... LAST`); `false` when the connection
    /// ended or the transaction was reset mid-body.
    pub complete: bool,
    /// The server sent a 2xx reply for the completed message.
    pub accepted: bool,
}

impl MessageRecord {
    /// The kept body decoded lossily as UTF-8 (`None` when bodies are not kept).
    #[must_use]
    pub fn body_text(&self) -> Option<Cow<'_, str>> {
        self.body.as_deref().map(String::from_utf8_lossy)
    }
}

/// Everything recorded about one accepted TCP connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionRecord {
    /// Connection number, 1-based, in accept order.
    pub number: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// TLS from the first byte (implicit TLS mode).
    pub implicit_tls: bool,
    /// TLS is (or was, at the end) up on this connection.
    pub tls: bool,
    /// Every line received in command mode, in order (at most [`COMMAND_LOG_CAP`]).
    pub commands: Vec<CommandRecord>,
    /// Lines received beyond [`COMMAND_LOG_CAP`].
    pub commands_dropped: u64,
    /// The user this connection authenticated as, if any.
    pub authenticated_as: Option<String>,
    /// The stages at which a configured fault fired, in order (at most
    /// [`COMMAND_LOG_CAP`]).
    pub faults: Vec<Stage>,
    /// How many reads delivered data (plaintext reads when TLS is up).
    pub reads: u64,
    /// The size of each read, in order (at most [`READ_LOG_CAP`] entries).
    ///
    /// Best effort: TCP may merge or split the client's writes, and with TLS the sizes are
    /// those of decrypted data handed over per read, so use this to bound how the client
    /// coalesced writes (e.g. "few reads"), never to assert exact segment sizes.
    pub read_sizes: Vec<usize>,
    /// How many reads delivered at least one octet that was consumed as message body
    /// (DATA body including the final dot line, or BDAT chunk data). Same caveat as
    /// [`ConnectionRecord::read_sizes`].
    pub body_reads: u64,
    /// Octets received (plaintext when TLS is up; TLS overhead not counted).
    pub bytes_received: u64,
    /// Plaintext octets that had arrived after `STARTTLS` before the handshake and were
    /// thrown away (a client pipelining past STARTTLS).
    pub discarded_after_starttls: usize,
    /// Why the connection ended; `None` while it is open.
    pub end: Option<ConnectionEnd>,
}

impl ConnectionRecord {
    pub(crate) fn new(number: u64, peer: SocketAddr, implicit_tls: bool) -> Self {
        ConnectionRecord {
            number,
            peer,
            implicit_tls,
            tls: false,
            commands: Vec::new(),
            commands_dropped: 0,
            authenticated_as: None,
            faults: Vec::new(),
            reads: 0,
            read_sizes: Vec::new(),
            body_reads: 0,
            bytes_received: 0,
            discarded_after_starttls: 0,
            end: None,
        }
    }

    /// The received command lines as text, in order (AUTH responses included).
    #[must_use]
    pub fn lines(&self) -> Vec<&str> {
        self.commands.iter().map(|c| c.line.as_str()).collect()
    }

    /// The verbs of the received commands in order (AUTH responses and over-long lines
    /// left out): `["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]`.
    #[must_use]
    pub fn verbs(&self) -> Vec<String> {
        self.commands
            .iter()
            .filter(|c| c.kind == LineKind::Command)
            .map(CommandRecord::verb)
            .collect()
    }
}

/// FNV-1a, 64 bits: the hash [`MessageRecord::body_hash`] uses. Feed it the expected body
/// (after un-stuffing) in any number of pieces and compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv1a64(u64);

impl Fnv1a64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// A hasher that has seen nothing.
    #[must_use]
    pub fn new() -> Self {
        Fnv1a64(Self::OFFSET_BASIS)
    }

    /// Feeds more octets.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut hash = self.0;
        for &byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(Self::PRIME);
        }
        self.0 = hash;
    }

    /// The hash of everything fed so far.
    #[must_use]
    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self::new()
    }
}

/// FNV-1a 64-bit hash of `bytes` in one call.
#[must_use]
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hasher = Fnv1a64::new();
    hasher.update(bytes);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_published_vectors() {
        // Test vectors from the FNV reference (http://www.isthe.com/chongo/tech/comp/fnv/).
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fnv1a64_is_independent_of_how_input_is_split() {
        let mut hasher = Fnv1a64::new();
        hasher.update(b"foo");
        hasher.update(b"");
        hasher.update(b"bar");
        assert_eq!(hasher.finish(), fnv1a64(b"foobar"));
    }
}
