//! Shared by the `mailer_*` tests: a test server on 127.0.0.1 port 0, a mailer aimed at it
//! with a manual clock (so backoff waits are recorded, never slept) and short deadlines (so
//! a bug fails a test instead of hanging it), and small helpers.
#![allow(dead_code)]

use smtpwire::address::{Address, ReversePath};
use smtpwire::ehlo_name::EhloName;
use smtpwire::mailer::{Counters, Jitter, Mailer, MailerBuilder, ManualClock};
use smtpwire::mailer::{SendError, SendReport};
use smtpwire::session::{Envelope, Timeouts, TlsPolicy};
use smtpwire::testing::{Action, Fault, MessageRecord, Server, ServerBuilder, Stage};
use std::sync::Arc;
use std::time::Duration;

/// The backoff base every test uses, so schedules read in whole steps.
pub const BASE: Duration = Duration::from_millis(100);
/// Reply deadlines: generous for a loopback server, short enough that a hang fails fast.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a test waits for the server to record something.
pub const WAIT: Duration = Duration::from_secs(10);

/// A mailer under test, with what the test inspects.
pub struct Harness {
    pub server: Server,
    pub clock: Arc<ManualClock>,
    pub counters: Arc<Counters>,
}

impl Harness {
    /// Starts `server` and returns it with a manual clock and counters.
    pub fn start(server: ServerBuilder) -> Harness {
        Harness {
            server: server.start().expect("the test server starts"),
            clock: Arc::new(ManualClock::new()),
            counters: Arc::new(Counters::new()),
        }
    }

    /// A server whose connection 1 meets `action` at `stage`; later ones work.
    pub fn cut_once(stage: Stage, action: Action) -> Harness {
        Harness::start(Server::builder().fault(on_connection(1, stage, action)))
    }

    /// A server whose every connection meets `action` at `stage`.
    pub fn cut_always(stage: Stage, action: Action) -> Harness {
        Harness::start(Server::builder().fault(Fault::at(stage).then(action)))
    }

    /// The messages whose whole body reached the server, accepted or not.
    pub fn complete_messages(&self) -> Vec<MessageRecord> {
        self.server
            .messages()
            .into_iter()
            .filter(|m| m.complete)
            .collect()
    }

    /// A mailer for this server: plain text, manual clock, no jitter, base [`BASE`],
    /// `max_attempts` attempts.
    pub fn mailer(&self, max_attempts: u32) -> MailerBuilder {
        builder_for(&self.server)
            .clock(self.clock.clone())
            .observer(self.counters.clone())
            .max_attempts(max_attempts)
    }
}

/// The usual test settings, aimed at `server`.
pub fn builder_for(server: &Server) -> MailerBuilder {
    let addr = server.addr();
    Mailer::builder(addr.ip().to_string(), addr.port())
        .tls(TlsPolicy::None)
        .ehlo_name(EhloName::parse("client.test").unwrap())
        .sender("Sender <sender@example.com>".parse().unwrap())
        .timeouts(Timeouts::all(REPLY_TIMEOUT))
        .connect_timeout(Duration::from_secs(5))
        .backoff_base(BASE)
        .backoff_cap(Duration::from_secs(60))
        .jitter(Jitter::None)
}

pub fn address(text: &str) -> Address {
    Address::parse(text).unwrap()
}

/// An envelope from sender@example.com to `to`.
pub fn envelope(to: &[&str]) -> Envelope {
    Envelope::new(
        ReversePath::Address(address("sender@example.com")),
        to.iter().map(|t| address(t)).collect(),
    )
}

/// A small message with CRLF line endings.
pub const MESSAGE: &[u8] = b"From: sender@example.com\r\nTo: rcpt@example.org\r\n\
Subject: test\r\nMessage-ID: <fixed.1@example.com>\r\n\r\nHello.\r\n.leading dot\r\n";

/// The value of the first header field `name` in a recorded message.
pub fn header(record: &MessageRecord, name: &str) -> Option<String> {
    let text = record.body_text()?.into_owned();
    let prefix = format!("{name}:");
    text.split("\r\n")
        .take_while(|line| !line.is_empty())
        .find(|line| {
            line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(&prefix)
        })
        .map(|line| line[prefix.len()..].trim().to_owned())
}

/// The verbs the server received on connection `number`.
pub fn verbs(server: &Server, number: u64) -> Vec<String> {
    server
        .connection(number)
        .map(|c| c.verbs())
        .unwrap_or_default()
}

/// A fault doing `action` at `stage` on connection `number` only.
pub fn on_connection(number: u64, stage: Stage, action: Action) -> Fault {
    Fault::at(stage).on_connection(number).then(action)
}

/// Sends [`MESSAGE`] to rcpt@example.org.
#[allow(clippy::result_large_err)]
pub fn send_test(mailer: &mut Mailer) -> Result<SendReport, SendError> {
    mailer.send(&envelope(&["rcpt@example.org"]), MESSAGE)
}
