//! A scripted in-memory SMTP server and a driver that pairs it with a [`Session`], with a
//! virtual clock: the session tests run without sockets and without real time.
//!
//! The server model is deliberately small: it answers each command line with a default reply
//! (or a scripted one), reads DATA up to the final dot and BDAT chunks by size, and records what
//! it received so tests can assert on it.
#![allow(dead_code)]

use smtpwire::address::{Address, ReversePath};
use smtpwire::auth::Credentials;
use smtpwire::ehlo_name::EhloName;
use smtpwire::session::{
    BodyInfo, Envelope, Event, Session, SessionConfig, SessionError, Timeouts, TlsPolicy,
};
use smtpwire::time::Timestamp;
use std::collections::VecDeque;
use std::time::Duration;

/// Where in the conversation a fault strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    /// After the first body bytes arrived, before the end.
    MidBody,
    /// After the final dot or the whole `BDAT LAST` chunk.
    FinalDot,
    Rset,
    Noop,
    Quit,
}

/// What the server does at a stage instead of its normal reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Send these bytes instead of the normal reply.
    Reply(Vec<u8>),
    /// Send `421 4.4.2 … timeout exceeded` (boulder's case).
    ServiceClosing,
    /// Close the connection.
    Eof,
    /// Never answer.
    Silent,
    /// Answer with bytes that are not a reply.
    Garbage,
    /// The normal reply, fed to the client one byte at a time.
    ByteByByte,
}

/// What the server sends back after reading some client bytes.
#[derive(Clone, Debug, Default)]
pub struct ServerOutput {
    pub bytes: Vec<u8>,
    /// The server closes the connection after `bytes`.
    pub eof: bool,
    /// Deliver `bytes` one byte per `handle_input` call.
    pub byte_by_byte: bool,
    /// The server switches to TLS after `bytes` (the 220 to STARTTLS).
    pub start_tls: bool,
}

/// A received message as the server stored it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// DATA un-stuffed, or BDAT chunks joined.
    pub body: Vec<u8>,
    pub via_bdat: bool,
    pub tls: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Mode {
    Commands,
    /// Reading DATA until the final dot; `stuffed` holds the raw wire bytes so far.
    Data {
        stuffed: Vec<u8>,
    },
    /// Reading `remaining` octets of a BDAT chunk.
    Bdat {
        remaining: u64,
        last: bool,
    },
    Closed,
    Silent,
}

/// The scripted server.
#[derive(Debug)]
pub struct FakeServer {
    /// Extension lines for EHLO before TLS (without `250-`), e.g. `PIPELINING`.
    pub extensions: Vec<String>,
    /// Extension lines after TLS; `None`: the same as before.
    pub extensions_after_tls: Option<Vec<String>>,
    /// Reply lines by recipient address, e.g. `550 5.1.1 no such user`.
    pub recipient_replies: Vec<(String, String)>,
    /// EHLO is refused with this reply (HELO fallback tests).
    pub ehlo_reply: Option<String>,
    pub faults: Vec<(Stage, Fault)>,
    /// Every line received in command mode, in order.
    pub commands: Vec<String>,
    /// All bytes ever received, and where TLS started in them.
    pub wire: Vec<u8>,
    pub tls_started_at: Option<usize>,
    pub messages: Vec<Received>,
    mode: Mode,
    line: Vec<u8>,
    tls: bool,
    envelope: Option<(String, Vec<String>)>,
    body: Vec<u8>,
    fired: Vec<Stage>,
    auth_login_step: u8,
}

impl Default for FakeServer {
    fn default() -> Self {
        FakeServer {
            extensions: Vec::new(),
            extensions_after_tls: None,
            recipient_replies: Vec::new(),
            ehlo_reply: None,
            faults: Vec::new(),
            commands: Vec::new(),
            wire: Vec::new(),
            tls_started_at: None,
            messages: Vec::new(),
            mode: Mode::Commands,
            line: Vec::new(),
            tls: false,
            envelope: None,
            body: Vec::new(),
            fired: Vec::new(),
            auth_login_step: 0,
        }
    }
}

impl FakeServer {
    pub fn with_extensions(extensions: &[&str]) -> FakeServer {
        FakeServer {
            extensions: extensions.iter().map(|s| s.to_string()).collect(),
            ..FakeServer::default()
        }
    }

    pub fn fault(mut self, stage: Stage, fault: Fault) -> FakeServer {
        self.faults.push((stage, fault));
        self
    }

    /// The greeting, or the fault scripted for it.
    pub fn greet(&mut self) -> ServerOutput {
        self.respond(
            Stage::Greeting,
            b"220 fake.example ESMTP ready\r\n".to_vec(),
        )
    }

    /// Takes client bytes; returns what the server sends back.
    pub fn receive(&mut self, bytes: &[u8]) -> ServerOutput {
        self.wire.extend_from_slice(bytes);
        let mut out = ServerOutput::default();
        let mut rest = bytes;
        while !rest.is_empty() {
            let step = match &mut self.mode {
                Mode::Closed | Mode::Silent => break,
                Mode::Commands => match rest.iter().position(|&b| b == b'\n') {
                    Some(end) => {
                        self.line.extend_from_slice(&rest[..=end]);
                        rest = &rest[end + 1..];
                        let line = std::mem::take(&mut self.line);
                        self.command(&line)
                    }
                    None => {
                        self.line.extend_from_slice(rest);
                        rest = &[];
                        continue;
                    }
                },
                Mode::Data { stuffed } => {
                    let before = stuffed.len();
                    stuffed.extend_from_slice(rest);
                    rest = &[];
                    let ended = find_end_of_data(stuffed);
                    match ended {
                        Some(end) => {
                            let leftover = stuffed[end..].to_vec();
                            let body = unstuff(&stuffed[..end]);
                            self.body = body;
                            self.mode = Mode::Commands;
                            let reply = self.finish_message(false);
                            // Anything after the dot is the next pipelined command group.
                            let mut o = self.respond(Stage::FinalDot, reply);
                            if !leftover.is_empty() && !o.eof {
                                let more = self.receive_inner(&leftover);
                                o.bytes.extend_from_slice(&more.bytes);
                                o.eof |= more.eof;
                            }
                            o
                        }
                        None if before == 0 && !self.fired.contains(&Stage::MidBody) => {
                            self.respond_mid_body()
                        }
                        None => ServerOutput::default(),
                    }
                }
                Mode::Bdat { remaining, last } => {
                    let take = (*remaining).min(rest.len() as u64) as usize;
                    let last = *last;
                    self.body.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                    *remaining -= take as u64;
                    if *remaining == 0 {
                        self.mode = Mode::Commands;
                        if last {
                            let reply = self.finish_message(true);
                            self.respond(Stage::FinalDot, reply)
                        } else {
                            ServerOutput {
                                bytes: b"250 2.0.0 chunk ok\r\n".to_vec(),
                                ..Default::default()
                            }
                        }
                    } else if !self.fired.contains(&Stage::MidBody) {
                        self.respond_mid_body()
                    } else {
                        ServerOutput::default()
                    }
                }
            };
            out.bytes.extend_from_slice(&step.bytes);
            out.eof |= step.eof;
            out.byte_by_byte |= step.byte_by_byte;
            if step.start_tls {
                out.start_tls = true;
            }
            if step.eof {
                self.mode = Mode::Closed;
            }
            if out.eof || out.start_tls {
                break;
            }
        }
        out
    }

    fn receive_inner(&mut self, bytes: &[u8]) -> ServerOutput {
        // Re-enter without recording the bytes twice.
        let wire_len = self.wire.len();
        let out = self.receive(bytes);
        self.wire.truncate(wire_len);
        out
    }

    /// The client finished its TLS handshake.
    pub fn tls_established(&mut self) {
        self.tls = true;
        self.tls_started_at = Some(self.wire.len());
    }

    pub fn is_tls(&self) -> bool {
        self.tls
    }

    fn respond_mid_body(&mut self) -> ServerOutput {
        if self.faults.iter().any(|(s, _)| *s == Stage::MidBody) {
            self.respond(Stage::MidBody, Vec::new())
        } else {
            ServerOutput::default()
        }
    }

    fn respond(&mut self, stage: Stage, normal: Vec<u8>) -> ServerOutput {
        let fault = if self.fired.contains(&stage) {
            None
        } else {
            self.faults
                .iter()
                .find(|(s, _)| *s == stage)
                .map(|(_, f)| f.clone())
        };
        let Some(fault) = fault else {
            return ServerOutput {
                bytes: normal,
                ..Default::default()
            };
        };
        self.fired.push(stage);
        match fault {
            Fault::Reply(bytes) => ServerOutput {
                bytes,
                ..Default::default()
            },
            Fault::ServiceClosing => ServerOutput {
                bytes: b"421 4.4.2 fake.example Error: timeout exceeded\r\n".to_vec(),
                eof: true,
                ..Default::default()
            },
            Fault::Eof => ServerOutput {
                eof: true,
                ..Default::default()
            },
            Fault::Silent => {
                self.mode = Mode::Silent;
                ServerOutput::default()
            }
            Fault::Garbage => ServerOutput {
                bytes: b"HTTP/1.1 400 Bad Request\r\n".to_vec(),
                ..Default::default()
            },
            Fault::ByteByByte => ServerOutput {
                bytes: normal,
                byte_by_byte: true,
                ..Default::default()
            },
        }
    }

    fn command(&mut self, raw: &[u8]) -> ServerOutput {
        let line = String::from_utf8_lossy(raw)
            .trim_end_matches(['\r', '\n'])
            .to_string();
        self.commands.push(line.clone());
        let upper = line.to_ascii_uppercase();
        let verb = upper.split([' ', ':']).next().unwrap_or("").to_string();
        if self.auth_login_step > 0 {
            self.auth_login_step -= 1;
            let reply: &[u8] = if self.auth_login_step == 1 {
                b"334 UGFzc3dvcmQ6\r\n"
            } else {
                b"235 2.7.0 Authentication successful\r\n"
            };
            return self.respond(Stage::Auth, reply.to_vec());
        }
        match verb.as_str() {
            "EHLO" => {
                let reply = match &self.ehlo_reply {
                    Some(r) => format!("{r}\r\n").into_bytes(),
                    None => self.ehlo_lines(),
                };
                self.respond(Stage::Ehlo, reply)
            }
            "HELO" => self.respond(Stage::Helo, b"250 fake.example\r\n".to_vec()),
            "STARTTLS" => {
                let mut out = self.respond(
                    Stage::StartTls,
                    b"220 2.0.0 Ready to start TLS\r\n".to_vec(),
                );
                if out.bytes.starts_with(b"220") && !out.eof {
                    out.start_tls = true;
                }
                out
            }
            "AUTH" => {
                if upper.starts_with("AUTH LOGIN") {
                    self.auth_login_step = 2;
                    self.respond(Stage::Auth, b"334 VXNlcm5hbWU6\r\n".to_vec())
                } else {
                    self.respond(
                        Stage::Auth,
                        b"235 2.7.0 Authentication successful\r\n".to_vec(),
                    )
                }
            }
            "MAIL" => {
                let from = between_brackets(&line);
                self.envelope = Some((from, Vec::new()));
                self.body.clear();
                self.respond(Stage::Mail, b"250 2.1.0 Ok\r\n".to_vec())
            }
            "RCPT" => {
                let to = between_brackets(&line);
                let scripted = self
                    .recipient_replies
                    .iter()
                    .find(|(a, _)| *a == to)
                    .map(|(_, r)| format!("{r}\r\n").into_bytes());
                let accepted = scripted.as_ref().is_none_or(|r| r.starts_with(b"2"));
                if accepted {
                    if let Some((_, rcpts)) = &mut self.envelope {
                        rcpts.push(to);
                    }
                }
                self.respond(
                    Stage::Rcpt,
                    scripted.unwrap_or_else(|| b"250 2.1.5 Ok\r\n".to_vec()),
                )
            }
            "DATA" => {
                let has_rcpt = self.envelope.as_ref().is_some_and(|(_, r)| !r.is_empty());
                let normal: &[u8] = if has_rcpt {
                    b"354 End data with <CR><LF>.<CR><LF>\r\n"
                } else {
                    b"554 5.5.1 Error: no valid recipients\r\n"
                };
                let out = self.respond(Stage::Data, normal.to_vec());
                if out.bytes.starts_with(b"354") {
                    self.mode = Mode::Data {
                        stuffed: Vec::new(),
                    };
                }
                out
            }
            "BDAT" => {
                let mut parts = upper.split_whitespace().skip(1);
                let size: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                let last = parts.next() == Some("LAST");
                self.mode = Mode::Bdat {
                    remaining: size,
                    last,
                };
                if size == 0 && last {
                    self.mode = Mode::Commands;
                    let reply = self.finish_message(true);
                    return self.respond(Stage::FinalDot, reply);
                }
                ServerOutput::default()
            }
            "RSET" => {
                self.envelope = None;
                self.respond(Stage::Rset, b"250 2.0.0 Ok\r\n".to_vec())
            }
            "NOOP" => self.respond(Stage::Noop, b"250 2.0.0 Ok\r\n".to_vec()),
            "QUIT" => {
                let mut out = self.respond(Stage::Quit, b"221 2.0.0 Bye\r\n".to_vec());
                out.eof |= self.mode != Mode::Silent;
                out
            }
            _ => ServerOutput {
                bytes: b"502 5.5.2 Error: command not recognized\r\n".to_vec(),
                ..Default::default()
            },
        }
    }

    fn ehlo_lines(&self) -> Vec<u8> {
        let extensions = match (&self.extensions_after_tls, self.tls) {
            (Some(after), true) => after,
            _ => &self.extensions,
        };
        let mut lines = vec!["fake.example greets you".to_string()];
        lines.extend(extensions.iter().cloned());
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            out.extend_from_slice(format!("250{sep}{line}\r\n").as_bytes());
        }
        out
    }

    fn finish_message(&mut self, via_bdat: bool) -> Vec<u8> {
        let Some((from, rcpts)) = self.envelope.take() else {
            return b"503 5.5.1 Error: need MAIL command\r\n".to_vec();
        };
        if rcpts.is_empty() {
            return b"554 5.5.1 Error: no valid recipients\r\n".to_vec();
        }
        let body = std::mem::take(&mut self.body);
        self.messages.push(Received {
            mail_from: from,
            rcpt_to: rcpts,
            body,
            via_bdat,
            tls: self.tls,
        });
        format!("250 2.0.0 Ok: queued as Q{}\r\n", self.messages.len()).into_bytes()
    }
}

fn between_brackets(line: &str) -> String {
    match (line.find('<'), line.find('>')) {
        (Some(a), Some(b)) if a < b => line[a + 1..b].to_string(),
        _ => String::new(),
    }
}

/// The offset just past `\r\n.\r\n` (or a leading `.\r\n`), if the data has ended.
fn find_end_of_data(stuffed: &[u8]) -> Option<usize> {
    if stuffed.starts_with(b".\r\n") {
        return Some(3);
    }
    stuffed
        .windows(5)
        .position(|w| w == b"\r\n.\r\n")
        .map(|p| p + 5)
}

/// Removes dot-stuffing and the end marker from DATA wire bytes.
pub fn unstuff(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len());
    let mut at_line_start = true;
    let mut i = 0;
    while i < wire.len() {
        let b = wire[i];
        if at_line_start && b == b'.' {
            if wire[i..].starts_with(b".\r\n") {
                break;
            }
            i += 1;
            at_line_start = false;
            continue;
        }
        out.push(b);
        at_line_start = b == b'\n';
        i += 1;
    }
    out
}

/// A session paired with a [`FakeServer`], a virtual clock and a record of what happened.
pub struct Pair {
    pub session: Session,
    pub server: FakeServer,
    pub now: Timestamp,
    pub events: Vec<Event>,
    /// How many times the client sent bytes and then had to wait for the server.
    pub flights: usize,
    /// Bytes the client sent after its terminal error (must stay empty).
    pub sent_after_failure: Vec<u8>,
    /// The body to stream on the next `SendBody`, and the chunk size.
    pub body: Vec<u8>,
    pub chunk: usize,
    /// Hand each server packet over in two pieces, split at this offset.
    pub split: Option<usize>,
    /// Stop `run` when the server owes a reply it holds back, instead of letting the
    /// session's deadline pass.
    pub stop_when_stalled: bool,
    server_closed: bool,
}

/// A configuration for tests: a fixed EHLO name and short, distinct timeouts.
pub fn config(tls: TlsPolicy) -> SessionConfig {
    let mut config = SessionConfig::new(EhloName::parse("client.example").expect("valid name"));
    config.tls = tls;
    config.timeouts = Timeouts::all(Duration::from_secs(60));
    config
}

pub fn address(s: &str) -> Address {
    Address::parse(s).expect("valid test address")
}

pub fn envelope(to: &[&str]) -> Envelope {
    Envelope::new(
        ReversePath::Address(address("sender@example.org")),
        to.iter().map(|s| address(s)).collect(),
    )
}

pub fn credentials() -> Credentials {
    Credentials::password("user", "secret-password").expect("valid credentials")
}

/// The `BodyInfo` of a byte-slice body.
pub fn body_info(body: &[u8]) -> BodyInfo {
    BodyInfo {
        wire_size: Some(smtpwire::data::bdat_wire_len(body).expect("short lines")),
        eight_bit: Some(!body.is_ascii()),
        smtputf8: false,
    }
}

impl Pair {
    pub fn new(config: SessionConfig, server: FakeServer) -> Pair {
        let now = Timestamp::from_duration(Duration::from_secs(1_000));
        Pair {
            session: Session::new(config, now),
            server,
            now,
            events: Vec::new(),
            flights: 0,
            sent_after_failure: Vec::new(),
            body: Vec::new(),
            chunk: 7,
            split: None,
            stop_when_stalled: false,
            server_closed: false,
        }
    }

    /// Connects: the greeting, then runs until the session waits for the caller.
    pub fn open(config: SessionConfig, server: FakeServer) -> Pair {
        let mut pair = Pair::new(config, server);
        let greeting = pair.server.greet();
        pair.deliver(greeting);
        pair.run();
        pair
    }

    /// Moves the virtual clock.
    pub fn advance(&mut self, by: Duration) {
        self.now = self.now.saturating_add(by);
    }

    /// Runs the conversation until nothing more happens without the caller: bytes go to the
    /// server and its replies come back; `StartTls` is honoured; `SendBody` streams
    /// `self.body`. When the server stays silent, the clock jumps to the session's deadline.
    pub fn run(&mut self) {
        for _round in 0..10_000 {
            self.handle_events();
            let mut out = Vec::new();
            if self.session.poll_transmit(&mut out) {
                if self.session.error().is_some() {
                    self.sent_after_failure.extend_from_slice(&out);
                }
                if self.server_closed {
                    continue;
                }
                self.flights += 1;
                let reply = self.server.receive(&out);
                self.deliver(reply);
                continue;
            }
            if self.session.wants_input() {
                if self.stop_when_stalled {
                    return;
                }
                // The server owes a reply it will never send: let the deadline pass.
                match self.session.poll_timeout() {
                    Some(deadline) => {
                        self.now = deadline;
                        self.session.handle_timeout(self.now);
                        continue;
                    }
                    None => panic!("session waits for input without a deadline"),
                }
            }
            if self.pending_events_empty() {
                return;
            }
        }
        panic!("conversation did not settle in 10 000 rounds");
    }

    fn pending_events_empty(&mut self) -> bool {
        let before = self.events.len();
        self.handle_events();
        self.events.len() == before
    }

    fn handle_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match &event {
                Event::StartTls => {
                    self.server.tls_established();
                    self.session.handle_tls_established(self.now);
                }
                Event::SendBody => {
                    let body = std::mem::take(&mut self.body);
                    let mut failed = false;
                    for chunk in body.chunks(self.chunk.max(1)) {
                        if self.session.write_body(chunk, self.now).is_err() {
                            failed = true;
                            break;
                        }
                        // Let the server see the body in pieces, as a socket would.
                        let mut out = Vec::new();
                        if self.session.poll_transmit(&mut out) && !self.server_closed {
                            let reply = self.server.receive(&out);
                            self.deliver(reply);
                        }
                        if self.session.error().is_some() {
                            failed = true;
                            break;
                        }
                    }
                    if !failed {
                        let _ = self.session.finish_body(self.now);
                    }
                }
                _ => {}
            }
            self.events.push(event);
        }
    }

    /// Hands what the server sent to the session.
    pub fn deliver(&mut self, output: ServerOutput) {
        if output.byte_by_byte {
            for byte in &output.bytes {
                self.session
                    .handle_input(std::slice::from_ref(byte), self.now);
            }
        } else if let Some(split) = self.split {
            let (first, second) = output.bytes.split_at(split.min(output.bytes.len()));
            for piece in [first, second] {
                if !piece.is_empty() {
                    self.session.handle_input(piece, self.now);
                }
            }
        } else if !output.bytes.is_empty() {
            self.session.handle_input(&output.bytes, self.now);
        }
        if output.eof {
            self.server_closed = true;
            self.session.handle_eof(self.now);
        }
    }

    /// Sends a message with `body` and runs until the transaction ends.
    pub fn send(&mut self, envelope: Envelope, body: &[u8]) {
        self.body = body.to_vec();
        self.session
            .send_message(envelope, body_info(body), self.now)
            .expect("session ready");
        self.run();
    }

    /// The last `TransactionDone` event.
    pub fn last_transaction(&self) -> Option<&smtpwire::session::TransactionResult> {
        self.events.iter().rev().find_map(|e| match e {
            Event::TransactionDone(result) => Some(result),
            _ => None,
        })
    }

    /// The terminal error, if any.
    pub fn error(&self) -> Option<&SessionError> {
        self.session.error()
    }

    pub fn is_ready(&self) -> bool {
        self.session.is_ready()
    }
}

/// A queue of events seen, for asserting order.
pub fn kinds(events: &[Event]) -> VecDeque<&'static str> {
    events
        .iter()
        .map(|e| match e {
            Event::StartTls => "start-tls",
            Event::Ready => "ready",
            Event::SendBody => "send-body",
            Event::TransactionDone(Ok(_)) => "delivered",
            Event::TransactionDone(Err(_)) => "failed-transaction",
            Event::NoopDone(_) => "noop",
            Event::ResetDone(_) => "reset",
            Event::Closed => "closed",
            Event::Failed(_) => "failed",
            _ => "other",
        })
        .collect()
}

/// Puts a session in any state of the conversation, as ureq-proto's test `Scenario` does:
/// the in-memory server holds back its reply at the chosen step, so the test can send
/// whatever it wants from there.
pub struct Scenario {
    config: SessionConfig,
    server: FakeServer,
    recipients: Vec<&'static str>,
    body: Vec<u8>,
}

impl Scenario {
    /// A plain-text session without extensions, one recipient and a short body.
    pub fn new() -> Scenario {
        Scenario {
            config: config(TlsPolicy::None),
            server: FakeServer::default(),
            recipients: vec!["a@foo.com"],
            body: b"Subject: scenario\r\n\r\nbody line\r\n".to_vec(),
        }
    }

    pub fn extensions(mut self, extensions: &[&str]) -> Scenario {
        self.server.extensions = extensions.iter().map(|e| e.to_string()).collect();
        self
    }

    /// TLS with STARTTLS offered before TLS and `extensions` plus AUTH PLAIN after it, and
    /// credentials configured.
    pub fn starttls_and_auth(mut self, policy: TlsPolicy) -> Scenario {
        let after: Vec<String> = self
            .server
            .extensions
            .iter()
            .cloned()
            .chain(["AUTH PLAIN".to_string()])
            .collect();
        self.server.extensions = vec!["STARTTLS".into()];
        self.server.extensions_after_tls = Some(after);
        self.config.tls = policy;
        self.config.credentials = Some(credentials());
        self
    }

    pub fn recipients(mut self, recipients: &[&'static str]) -> Scenario {
        self.recipients = recipients.to_vec();
        self
    }

    /// Runs the conversation until the session waits for the reply at `stage`, which the
    /// server keeps to itself. `Stage::MidBody` stops after the first body chunk reached the
    /// server, with the driver still holding the rest.
    pub fn at(mut self, stage: Stage) -> Pair {
        self.server.faults.push((stage, Fault::Silent));
        let mut pair = Pair::new(self.config, self.server);
        pair.stop_when_stalled = true;
        pair.chunk = 4;
        let greeting = pair.server.greet();
        pair.deliver(greeting);
        pair.run();
        let in_transaction = matches!(
            stage,
            Stage::Mail | Stage::Rcpt | Stage::Data | Stage::MidBody | Stage::FinalDot
        );
        if pair.is_ready() {
            match stage {
                _ if in_transaction => {
                    let envelope = envelope(&self.recipients);
                    pair.body = self.body.clone();
                    pair.session
                        .send_message(envelope, body_info(&self.body), pair.now)
                        .expect("ready");
                }
                Stage::Noop => pair.session.noop(pair.now).expect("ready"),
                Stage::Rset => pair.session.reset(pair.now).expect("ready"),
                Stage::Quit => pair.session.quit(pair.now).expect("ready"),
                _ => {}
            }
            pair.run();
        }
        pair
    }
}
