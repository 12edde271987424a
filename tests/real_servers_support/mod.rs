//! Helpers for `tests/real_servers.rs`: the servers' environment, a TCP forwarder, an AUTH
//! mechanism filter, readers for what the servers stored, and the expected wire forms.
//!
//! Every wait here is bounded: socket timeouts on every connection, reply deadlines and a
//! whole-send deadline on every mailer, and a time limit on every poll.

pub mod env;
pub mod forwarder;
pub mod mechanism_filter;
pub mod stored;
pub mod wire;

use smtpwire::address::{Address, ReversePath};
use smtpwire::ehlo_name::EhloName;
use smtpwire::mailer::{Counters, Jitter, Mailer, MailerBuilder};
use smtpwire::session::{Envelope, SessionConfig, Timeouts, TlsPolicy};
use smtpwire::transport::{ConnectOptions, TlsConfig};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Every reply deadline: far above what a loopback server needs (smtp-sink's delays are
/// 1 s), short enough that a hang fails the test quickly.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(15);
/// The bound on one `Connection::connect` or one whole mailer send.
pub const CALL_LIMIT: Duration = Duration::from_secs(60);
/// The bound on a 20 MB send.
pub const BIG_CALL_LIMIT: Duration = Duration::from_secs(240);
/// What the client says in EHLO; Postfix writes it into `Received:`.
pub const EHLO_NAME: &str = "client.real-tests.smtpwire.test";

/// A test id no other message carries: this process, a counter, the clock, and a label.
pub fn test_id(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{label}-{}-{n}-{nanos}", std::process::id())
}

/// An address, which the test knows to be valid.
pub fn address(text: &str) -> Address {
    Address::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
}

/// An envelope from `from` to `to`.
pub fn envelope(from: &str, to: &[&str]) -> Envelope {
    Envelope::new(
        ReversePath::Address(address(from)),
        to.iter().map(|t| address(t)).collect(),
    )
}

/// Trust exactly the test CA (not the web roots).
pub fn trust_ca(ca: &Path) -> TlsConfig {
    TlsConfig::builder()
        .without_webpki_roots()
        .add_root_pem_file(ca)
        .expect("the test CA loads")
        .build()
        .expect("a TLS configuration")
}

/// Connection options for `addr` with `policy`, the test CA when one is given, short reply
/// deadlines and an overall deadline.
pub fn options(addr: SocketAddr, policy: TlsPolicy, ca: Option<&Path>) -> ConnectOptions {
    let mut session = SessionConfig::new(EhloName::parse(EHLO_NAME).expect("valid EHLO name"));
    session.tls = policy;
    session.timeouts = Timeouts::all(REPLY_TIMEOUT);
    let mut options = ConnectOptions::with_session(addr.ip().to_string(), addr.port(), session);
    options.connect_timeout = Duration::from_secs(5);
    options.deadline = Some(Instant::now() + CALL_LIMIT);
    if let Some(ca) = ca {
        options.tls = trust_ca(ca);
    }
    options
}

/// A mailer for `addr` with `policy`: short reply deadlines, a whole-send deadline,
/// backoff without jitter from 10 ms, at most 5 attempts, `counters` watching.
pub fn mailer(addr: SocketAddr, policy: TlsPolicy, counters: &Arc<Counters>) -> MailerBuilder {
    Mailer::builder(addr.ip().to_string(), addr.port())
        .tls(policy)
        .ehlo_name(EhloName::parse(EHLO_NAME).expect("valid EHLO name"))
        .timeouts(Timeouts::all(REPLY_TIMEOUT))
        .connect_timeout(Duration::from_secs(5))
        .send_deadline(CALL_LIMIT)
        .backoff_base(Duration::from_millis(10))
        .backoff_cap(Duration::from_millis(100))
        .jitter(Jitter::None)
        .max_attempts(5)
        .observer(counters.clone())
}

/// A small RFC 5322 message with the test id, CRLF line endings.
pub fn simple_message(id: &str, from: &str, to: &str, body: &str) -> Vec<u8> {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: real-tests {id}\r\nX-Test-Id: {id}\r\n\r\n{body}"
    )
    .into_bytes()
}
