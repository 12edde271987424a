//! One client connection: the server side of the SMTP conversation, with fault injection
//! and recording.
//!
//! ```text
//!  accept ─▶ [implicit TLS] ─▶ greeting ─▶ command loop ──QUIT──▶ close
//!                                            │  ▲
//!                      DATA 354 / BDAT n ────┘  └──── final dot / chunk read
//! ```
//!
//! Every reply goes through [`Session::respond`], which consults the fault rules. Every
//! helper returns `Err(ConnectionEnd)` when the connection must end, so `?` unwinds to
//! [`serve`], which records the end (and any half-received message).

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::body::BodySink;
use super::builder::{AuthMechanism, Config, Extensions, TlsMode};
use super::command::{self, Command, Param, PathArgs, Verb};
use super::fault::{Action, Stage};
use super::input::{InputBuffer, Line};
use super::record::{
    COMMAND_LOG_CAP, CommandRecord, ConnectionEnd, LineKind, MessageRecord, READ_LOG_CAP, Transfer,
};
use super::reply::Reply;
use super::shared::Shared;
use super::transport::{LinkError, POLL, ReadEvent, Transport};
use super::unstuff::DotDecoder;

/// Size of one socket read.
const READ_CHUNK: usize = 64 * 1024;

/// Serves one accepted connection until it ends, then records how it ended.
pub(crate) fn serve(number: u64, tcp: TcpStream, shared: Arc<Shared>, config: Arc<Config>) {
    let write_bound = config.write_bound;
    let link = match Transport::new(tcp, Arc::clone(&shared.shutdown), write_bound) {
        Ok(link) => link,
        Err(error) => {
            shared.end_connection(number, ConnectionEnd::Io(error.to_string()));
            return;
        }
    };
    let mut session = Session::new(number, link, shared, config);
    let end = session.converse();
    session.finish(end);
}

impl From<LinkError> for ConnectionEnd {
    fn from(error: LinkError) -> Self {
        match error {
            LinkError::Shutdown => ConnectionEnd::ServerShutdown,
            LinkError::WriteStalled => {
                ConnectionEnd::Io("the client stopped reading (write bound exceeded)".into())
            }
            LinkError::Io(error) => ConnectionEnd::Io(error.to_string()),
            LinkError::Tls(error) => ConnectionEnd::TlsFailed(error.to_string()),
        }
    }
}

/// `Err` ends the connection for the given reason.
type Step<T = ()> = Result<T, ConnectionEnd>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Greeted {
    No,
    Helo,
    Ehlo,
}

/// The envelope of the current transaction.
#[derive(Clone, Debug, Default)]
struct Envelope {
    mail_from: String,
    params: Vec<String>,
    smtputf8: bool,
    recipients: Vec<String>,
    rejected: Vec<String>,
}

/// A message body being received.
#[derive(Debug)]
struct BodyInProgress {
    bdat: bool,
    chunks: u32,
    sink: BodySink,
    /// Body octets received as sent on the wire (for [`Stage::MidBody`]).
    wire: u64,
    /// Index of the next mid-body threshold (in `Config::mid_body_thresholds`) to fire.
    next_threshold: usize,
    tls: bool,
}

struct Session {
    number: u64,
    shared: Arc<Shared>,
    config: Arc<Config>,
    link: Transport,
    input: InputBuffer,
    scratch: Vec<u8>,
    greeted: Greeted,
    user: Option<String>,
    envelope: Option<Envelope>,
    body: Option<BodyInProgress>,
    /// How many times each stage was reached on this connection (for
    /// `FaultBuilder::on_occurrence`).
    occurrences: HashMap<Stage, u64>,
    messages: u32,
}

/// The code the client will see when `fault` is applied to a reply with code `normal`;
/// `None` when the fault ends the connection.
fn effective_code(fault: Option<&Action>, normal: u16) -> Option<u16> {
    match fault {
        Some(action) if action.ends_connection() => None,
        Some(Action::Reply { code, .. }) => Some(*code),
        _ => Some(normal),
    }
}

fn stage_of(verb: Verb) -> Option<Stage> {
    match verb {
        Verb::Ehlo => Some(Stage::Ehlo),
        Verb::Helo => Some(Stage::Helo),
        Verb::StartTls => Some(Stage::StartTls),
        Verb::Auth => Some(Stage::Auth),
        Verb::Mail => Some(Stage::Mail),
        Verb::Rcpt => Some(Stage::Rcpt),
        Verb::Data => Some(Stage::Data),
        Verb::Bdat => Some(Stage::Bdat),
        Verb::Rset => Some(Stage::Rset),
        Verb::Noop => Some(Stage::Noop),
        Verb::Quit => Some(Stage::Quit),
        Verb::NotImplemented | Verb::Unknown => None,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Where an AUTH exchange stands after a step.
enum Sasl<T> {
    /// The client's answer.
    Got(T),
    /// The exchange failed; this is the final reply to send.
    Refuse(Reply),
    /// The exchange is over and already answered (a fault replaced a challenge, or the
    /// response line was too long).
    Over,
}

impl<T> Sasl<T> {
    fn and_then<U>(self, next: impl FnOnce(T) -> Sasl<U>) -> Sasl<U> {
        match self {
            Sasl::Got(value) => next(value),
            Sasl::Refuse(reply) => Sasl::Refuse(reply),
            Sasl::Over => Sasl::Over,
        }
    }
}

/// Decodes a SASL response; `=` is the empty response (RFC 4954 §4).
fn decode_sasl(response: &[u8]) -> Sasl<Vec<u8>> {
    if response == b"=" {
        return Sasl::Got(Vec::new());
    }
    match base64::engine::general_purpose::STANDARD.decode(response) {
        Ok(decoded) => Sasl::Got(decoded),
        Err(_) => Sasl::Refuse(Reply::new(501, "5.5.2", "invalid base64")),
    }
}

impl Session {
    fn new(number: u64, link: Transport, shared: Arc<Shared>, config: Arc<Config>) -> Self {
        Session {
            number,
            shared,
            config,
            link,
            input: InputBuffer::default(),
            scratch: vec![0; READ_CHUNK],
            greeted: Greeted::No,
            user: None,
            envelope: None,
            body: None,
            occurrences: HashMap::new(),
            messages: 0,
        }
    }

    /// Runs the conversation; returns why it ended.
    fn converse(&mut self) -> ConnectionEnd {
        if let Err(end) = self.open() {
            return end;
        }
        loop {
            if let Err(end) = self.step() {
                return end;
            }
        }
    }

    /// Records the end, after the half-received message if any.
    fn finish(&mut self, end: ConnectionEnd) {
        self.abort_transaction();
        self.sync_body_reads();
        log::debug!("test server connection {} ended: {end:?}", self.number);
        self.shared.end_connection(self.number, end);
    }

    fn extensions(&self) -> Extensions {
        match self.config.extensions_after_tls {
            Some(after) if self.link.is_tls() => after,
            _ => self.config.extensions,
        }
    }

    fn starttls_offered(&self) -> bool {
        self.config.identity(TlsMode::StartTls).is_some() && !self.link.is_tls()
    }

    fn auth_configured(&self) -> bool {
        !self.config.credentials.is_empty() && !self.config.auth_mechanisms.is_empty()
    }

    fn auth_offered(&self) -> bool {
        self.auth_configured() && (self.link.is_tls() || !self.config.auth_only_after_tls)
    }

    // ----- replies and faults -------------------------------------------------------

    fn send(&mut self, reply: &Reply) -> Step {
        let wire = reply.to_wire(self.extensions().enhanced_status_codes);
        self.link.write_all(&wire)?;
        Ok(())
    }

    /// The fault rule firing at this reply (`stage` `None`: a reply that only
    /// [`Stage::AnyReply`] covers), counting the occurrence.
    fn fault_for(&mut self, stage: Option<Stage>) -> Option<Action> {
        let mid_body = matches!(stage, Some(Stage::MidBody { .. }));
        let mut count = |stage: Stage| {
            let seen = self.occurrences.entry(stage).or_insert(0);
            *seen += 1;
            *seen
        };
        let stage_occurrence = stage.map(&mut count);
        let any_occurrence = (!mid_body).then(|| count(Stage::AnyReply));
        let fault = self.config.faults.iter().find(|fault| {
            let at_stage = stage
                .zip(stage_occurrence)
                .is_some_and(|(stage, seen)| fault.fires(stage, self.number, seen));
            let anywhere =
                any_occurrence.is_some_and(|seen| fault.fires(Stage::AnyReply, self.number, seen));
            at_stage || anywhere
        })?;
        let fired = fault.stage();
        self.shared.update_connection(self.number, |record| {
            if record.faults.len() < COMMAND_LOG_CAP {
                record.faults.push(fired);
            }
        });
        log::debug!("test server connection {}: fault {fault:?}", self.number);
        Some(fault.action().clone())
    }

    /// Sends `normal` unless a fault rule says otherwise; returns the code the client got.
    fn respond(&mut self, stage: Option<Stage>, normal: Reply) -> Step<u16> {
        let fault = self.fault_for(stage);
        let code = effective_code(fault.as_ref(), normal.code);
        match fault {
            Some(action) => self.perform(action, Some(&normal))?,
            None => self.send(&normal)?,
        }
        // `perform` returned Ok, so the action did not end the connection and `code` is set.
        Ok(code.unwrap_or(normal.code))
    }

    /// Carries out a fault action; `normal` is the reply it stands in for (`None` in the
    /// middle of a body).
    fn perform(&mut self, action: Action, normal: Option<&Reply>) -> Step {
        match action {
            Action::Close => {
                self.link.close_cleanly();
                Err(ConnectionEnd::ClosedByFault)
            }
            Action::ReplyAndClose { code, text } => {
                self.send(&Reply::verbatim(code, &text))?;
                self.link.close_cleanly();
                Err(ConnectionEnd::ClosedByFault)
            }
            Action::Reset => {
                self.link.arm_reset();
                Err(ConnectionEnd::ResetByFault)
            }
            Action::Silent => Err(self.stay_silent()),
            Action::Delay(duration) => {
                self.pause(duration)?;
                normal.map_or(Ok(()), |reply| self.send(reply))
            }
            Action::Reply { code, text } => self.send(&Reply::verbatim(code, &text)),
            Action::Raw(bytes) => Ok(self.link.write_all(&bytes)?),
        }
    }

    /// Sleeps for `duration`, in steps short enough to notice a shutdown.
    fn pause(&mut self, duration: Duration) -> Step {
        let deadline = Instant::now() + duration;
        loop {
            if self
                .shared
                .shutdown
                .load(std::sync::atomic::Ordering::Relaxed)
            {
                return Err(ConnectionEnd::ServerShutdown);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            std::thread::sleep(POLL.min(deadline - now));
        }
    }

    /// Reads and discards raw input without answering until the client closes or the
    /// server shuts down.
    fn stay_silent(&mut self) -> ConnectionEnd {
        loop {
            match self.link.read_raw(&mut self.scratch) {
                Ok(ReadEvent::Eof) => return ConnectionEnd::ClientClosed,
                Ok(ReadEvent::Data(_) | ReadEvent::Idle) => {}
                Err(error) => return error.into(),
            }
        }
    }

    // ----- input --------------------------------------------------------------------

    /// One read from the client into the input buffer (or nothing within the poll time).
    fn fill(&mut self) -> Step {
        match self.link.read(&mut self.scratch)? {
            ReadEvent::Data(count) => {
                // `read` stored `count` octets at the start of `scratch`, so `count` is at
                // most its length.
                self.input.push_read(&self.scratch[..count]);
                let body_reads = self.input.body_reads();
                self.shared.update_connection(self.number, |record| {
                    record.reads += 1;
                    record.bytes_received += count as u64;
                    record.body_reads = body_reads;
                    if record.read_sizes.len() < READ_LOG_CAP {
                        record.read_sizes.push(count);
                    }
                });
                Ok(())
            }
            ReadEvent::Idle => Ok(()),
            ReadEvent::Eof => Err(ConnectionEnd::ClientClosed),
        }
    }

    fn sync_body_reads(&self) {
        let body_reads = self.input.body_reads();
        self.shared
            .update_connection(self.number, |record| record.body_reads = body_reads);
    }

    fn next_line(&mut self) -> Step<Line> {
        loop {
            if let Some(line) = self.input.take_line(self.config.max_line_length) {
                return Ok(line);
            }
            self.fill()?;
        }
    }

    fn record_line(&self, kind: LineKind, raw: &[u8], crlf: bool) {
        let entry = CommandRecord {
            line: text(raw),
            raw: raw.to_vec(),
            kind,
            tls: self.link.is_tls(),
            crlf,
        };
        log::trace!("test server connection {} <- {:?}", self.number, entry.line);
        self.shared.update_connection(self.number, |record| {
            if record.commands.len() < COMMAND_LOG_CAP {
                record.commands.push(entry);
            } else {
                record.commands_dropped += 1;
            }
        });
    }

    /// Reads the next line as `kind`: `Ok(Some(bytes))`, or `Ok(None)` after answering an
    /// over-long line.
    fn read_line_as(&mut self, kind: LineKind) -> Step<Option<Vec<u8>>> {
        match self.next_line()? {
            Line::Complete { bytes, crlf } => {
                self.record_line(kind, &bytes, crlf);
                Ok(Some(bytes))
            }
            Line::TooLong => {
                self.record_line(LineKind::TooLong, &[], true);
                self.respond(None, Reply::new(500, "5.5.2", "line too long"))?;
                Ok(None)
            }
        }
    }

    // ----- the conversation ---------------------------------------------------------

    fn open(&mut self) -> Step {
        if let Some(identity) = self.config.identity(TlsMode::Implicit) {
            let config = identity.server_config();
            self.link.start_tls(config)?;
            self.shared
                .update_connection(self.number, |record| record.tls = true);
        }
        let greeting = format!("{} ESMTP smtpwire test server", self.config.hostname);
        self.respond(Some(Stage::Connect), Reply::lines(220, vec![greeting]))?;
        Ok(())
    }

    fn step(&mut self) -> Step {
        let Some(line) = self.read_line_as(LineKind::Command)? else {
            return Ok(());
        };
        match command::parse(&line) {
            Err(bad) => {
                let reply = Reply::new(bad.code, bad.enhanced, bad.text);
                self.respond(stage_of(bad.verb), reply)?;
                Ok(())
            }
            Ok(Command::Ehlo(domain)) => self.on_hello(Greeted::Ehlo, domain),
            Ok(Command::Helo(domain)) => self.on_hello(Greeted::Helo, domain),
            Ok(Command::StartTls) => self.on_starttls(),
            Ok(Command::Auth { mechanism, initial }) => self.on_auth(mechanism, initial),
            Ok(Command::Mail(args)) => self.on_mail(&args),
            Ok(Command::Rcpt(args)) => self.on_rcpt(&args),
            Ok(Command::Data) => self.on_data(),
            Ok(Command::Bdat { size, last }) => self.on_bdat(size, last),
            Ok(Command::Rset) => {
                let code = self.respond(Some(Stage::Rset), Reply::new(250, "2.0.0", "OK"))?;
                if Reply::is_positive(code) {
                    self.abort_transaction();
                }
                Ok(())
            }
            Ok(Command::Noop) => {
                self.respond(Some(Stage::Noop), Reply::new(250, "2.0.0", "OK"))?;
                Ok(())
            }
            Ok(Command::Quit) => {
                self.respond(Some(Stage::Quit), Reply::new(221, "2.0.0", "Bye"))?;
                self.link.close_cleanly();
                Err(ConnectionEnd::Quit)
            }
            Ok(Command::NotImplemented) => {
                let reply = Reply::new(502, "5.5.1", "command not implemented");
                self.respond(None, reply)?;
                Ok(())
            }
            Ok(Command::Unknown) => {
                self.respond(None, Reply::new(500, "5.5.2", "command unrecognized"))?;
                Ok(())
            }
        }
    }

    fn on_hello(&mut self, kind: Greeted, domain: &[u8]) -> Step {
        let mut lines = vec![format!("{} greets {}", self.config.hostname, text(domain))];
        let stage = if kind == Greeted::Ehlo {
            lines.extend(self.ehlo_keywords());
            Stage::Ehlo
        } else {
            Stage::Helo
        };
        let code = self.respond(Some(stage), Reply::lines(250, lines))?;
        if Reply::is_positive(code) {
            self.greeted = kind;
            self.abort_transaction();
        }
        Ok(())
    }

    fn ehlo_keywords(&self) -> Vec<String> {
        let ext = self.extensions();
        let mut keywords = Vec::new();
        let flags = [
            (ext.pipelining, "PIPELINING"),
            (ext.eight_bit_mime, "8BITMIME"),
            (ext.chunking, "CHUNKING"),
            (ext.smtputf8, "SMTPUTF8"),
            (ext.enhanced_status_codes, "ENHANCEDSTATUSCODES"),
            (ext.dsn, "DSN"),
        ];
        if ext.size {
            keywords.push(format!("SIZE {}", self.config.max_message_size));
        }
        keywords.extend(
            flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, k)| (*k).to_owned()),
        );
        if self.starttls_offered() {
            keywords.push("STARTTLS".into());
        }
        if self.auth_offered() {
            let names: Vec<&str> = self
                .config
                .auth_mechanisms
                .iter()
                .map(|m| m.name())
                .collect();
            keywords.push(format!("AUTH {}", names.join(" ")));
        }
        keywords
    }

    fn on_starttls(&mut self) -> Step {
        let normal = if self.link.is_tls() {
            Reply::new(503, "5.5.1", "TLS already active")
        } else if self.config.identity(TlsMode::StartTls).is_none() {
            Reply::new(502, "5.5.1", "STARTTLS not available")
        } else {
            Reply::new(220, "2.0.0", "Ready to start TLS")
        };
        let code = self.respond(Some(Stage::StartTls), normal)?;
        let identity = self.config.identity(TlsMode::StartTls).cloned();
        if let (220, false, Some(identity)) = (code, self.link.is_tls(), identity) {
            // Plaintext pipelined after STARTTLS must never be read as commands under TLS.
            let discarded = self.input.discard_all();
            self.link.start_tls(identity.server_config())?;
            self.greeted = Greeted::No;
            self.user = None;
            self.abort_transaction();
            self.shared.update_connection(self.number, |record| {
                record.tls = true;
                record.discarded_after_starttls += discarded;
            });
        }
        Ok(())
    }

    // ----- AUTH ---------------------------------------------------------------------

    fn auth_refusal(&self) -> Option<Reply> {
        if !self.auth_configured() {
            Some(Reply::new(502, "5.5.1", "AUTH not available"))
        } else if self.greeted != Greeted::Ehlo {
            Some(Reply::new(503, "5.5.1", "send EHLO first"))
        } else if self.config.auth_only_after_tls && !self.link.is_tls() {
            Some(Reply::new(
                538,
                "5.7.11",
                "encryption required for requested authentication mechanism",
            ))
        } else if self.user.is_some() {
            Some(Reply::new(503, "5.5.1", "already authenticated"))
        } else if self.envelope.is_some() {
            Some(Reply::new(
                503,
                "5.5.1",
                "AUTH not allowed during a mail transaction",
            ))
        } else {
            None
        }
    }

    fn on_auth(&mut self, mechanism: &[u8], initial: Option<&[u8]>) -> Step {
        if let Some(refusal) = self.auth_refusal() {
            self.respond(Some(Stage::Auth), refusal)?;
            return Ok(());
        }
        let chosen = self
            .config
            .auth_mechanisms
            .iter()
            .copied()
            .find(|m| m.name().as_bytes().eq_ignore_ascii_case(mechanism));
        let mut exchange = AuthExchange { first_reply: true };
        let outcome = match chosen {
            None => Sasl::Refuse(Reply::new(504, "5.5.4", "mechanism not supported")),
            Some(AuthMechanism::Plain) => self.plain_credentials(initial, &mut exchange)?,
            Some(AuthMechanism::Login) => self.login_credentials(initial, &mut exchange)?,
        };
        let (reply, user) = match outcome {
            Sasl::Got((user, password)) if self.config.accepts(&user, &password) => (
                Reply::new(235, "2.7.0", "authentication successful"),
                Some(user),
            ),
            Sasl::Got(_) => (
                Reply::new(535, "5.7.8", "authentication credentials invalid"),
                None,
            ),
            Sasl::Refuse(reply) => (reply, None),
            Sasl::Over => return Ok(()),
        };
        let stage = exchange.stage();
        let code = self.respond(stage, reply)?;
        if let (235, Some(user)) = (code, user) {
            let recorded = user.clone();
            self.user = Some(user);
            self.shared.update_connection(self.number, |record| {
                record.authenticated_as = Some(recorded);
            });
        }
        Ok(())
    }

    /// Sends a `334` challenge and reads and decodes the client's response.
    fn challenge(&mut self, prompt: &str, exchange: &mut AuthExchange) -> Step<Sasl<Vec<u8>>> {
        let stage = exchange.stage();
        let code = self.respond(stage, Reply::lines(334, vec![prompt.to_owned()]))?;
        if code != 334 {
            // A fault replaced the challenge with another reply: the exchange is over.
            return Ok(Sasl::Over);
        }
        let Some(response) = self.read_line_as(LineKind::AuthResponse)? else {
            return Ok(Sasl::Over);
        };
        if response == b"*" {
            return Ok(Sasl::Refuse(Reply::new(
                501,
                "5.7.0",
                "authentication cancelled",
            )));
        }
        Ok(decode_sasl(&response))
    }

    /// The initial response if the client sent one with AUTH, else the answer to a first
    /// challenge with `prompt`.
    fn first_response(
        &mut self,
        initial: Option<&[u8]>,
        prompt: &str,
        exchange: &mut AuthExchange,
    ) -> Step<Sasl<Vec<u8>>> {
        match initial {
            Some(initial) => Ok(decode_sasl(initial)),
            None => self.challenge(prompt, exchange),
        }
    }

    fn plain_credentials(
        &mut self,
        initial: Option<&[u8]>,
        exchange: &mut AuthExchange,
    ) -> Step<Sasl<(String, String)>> {
        let message = self.first_response(initial, "", exchange)?;
        Ok(message.and_then(|message| {
            // authzid NUL authcid NUL passwd (RFC 4616 §2)
            let parts: Vec<&[u8]> = message.split(|&b| b == 0).collect();
            match parts.as_slice() {
                [_authzid, user, password] => Sasl::Got((text(user), text(password))),
                _ => Sasl::Refuse(Reply::new(501, "5.5.2", "malformed PLAIN response")),
            }
        }))
    }

    fn login_credentials(
        &mut self,
        initial: Option<&[u8]>,
        exchange: &mut AuthExchange,
    ) -> Step<Sasl<(String, String)>> {
        // "Username:" in base64.
        let user = self.first_response(initial, "VXNlcm5hbWU6", exchange)?;
        let Sasl::Got(user) = user else {
            return Ok(user.and_then(|_| Sasl::Over));
        };
        // "Password:" in base64.
        let password = self.challenge("UGFzc3dvcmQ6", exchange)?;
        Ok(password.and_then(|password| Sasl::Got((text(&user), text(&password)))))
    }

    // ----- the envelope -------------------------------------------------------------

    /// Checks MAIL/RCPT parameters against what was advertised.
    fn check_params(&self, verb: Verb, params: &[Param<'_>]) -> Result<(), Reply> {
        if !params.is_empty() && self.greeted == Greeted::Helo {
            return Err(Reply::new(555, "5.5.4", "parameters need EHLO"));
        }
        let ext = self.extensions();
        for param in params {
            let value = param.value.unwrap_or_default();
            let accepted = match verb {
                Verb::Mail if param.is("SIZE") => {
                    let declared = std::str::from_utf8(value)
                        .ok()
                        .and_then(|v| v.parse::<u64>().ok());
                    if ext.size && declared > Some(self.config.max_message_size) {
                        return Err(Reply::new(
                            552,
                            "5.3.4",
                            "message size exceeds fixed maximum message size",
                        ));
                    }
                    ext.size && declared.is_some()
                }
                Verb::Mail if param.is("BODY") => {
                    ext.eight_bit_mime
                        && (value.eq_ignore_ascii_case(b"7BIT")
                            || value.eq_ignore_ascii_case(b"8BITMIME"))
                }
                Verb::Mail if param.is("SMTPUTF8") => ext.smtputf8 && param.value.is_none(),
                Verb::Mail if param.is("RET") => {
                    ext.dsn
                        && (value.eq_ignore_ascii_case(b"FULL")
                            || value.eq_ignore_ascii_case(b"HDRS"))
                }
                Verb::Mail if param.is("ENVID") => ext.dsn && param.value.is_some(),
                Verb::Mail if param.is("AUTH") => self.auth_offered() && param.value.is_some(),
                Verb::Rcpt if param.is("NOTIFY") || param.is("ORCPT") => {
                    ext.dsn && param.value.is_some()
                }
                _ => false,
            };
            if !accepted {
                return Err(Reply::new(
                    555,
                    "5.5.4",
                    "unsupported or malformed parameter",
                ));
            }
        }
        Ok(())
    }

    fn check_mail(&self, args: &PathArgs<'_>) -> Result<(), Reply> {
        if self.greeted == Greeted::No {
            return Err(Reply::new(503, "5.5.1", "send EHLO or HELO first"));
        }
        if self.envelope.is_some() {
            return Err(Reply::new(503, "5.5.1", "nested MAIL command"));
        }
        if self.config.require_auth && self.user.is_none() {
            return Err(Reply::new(530, "5.7.0", "authentication required"));
        }
        self.check_params(Verb::Mail, &args.params)?;
        let smtputf8 = args.params.iter().any(|p| p.is("SMTPUTF8"));
        if !args.path.is_ascii() && !smtputf8 {
            return Err(Reply::new(553, "5.6.7", "non-ASCII address needs SMTPUTF8"));
        }
        Ok(())
    }

    fn on_mail(&mut self, args: &PathArgs<'_>) -> Step {
        let normal = match self.check_mail(args) {
            Ok(()) => Reply::new(250, "2.1.0", "sender OK"),
            Err(refusal) => refusal,
        };
        let code = self.respond(Some(Stage::Mail), normal)?;
        if Reply::is_positive(code) {
            self.abort_transaction();
            self.envelope = Some(Envelope {
                mail_from: text(args.path),
                params: args.params.iter().map(|p| p.to_text()).collect(),
                smtputf8: args.params.iter().any(|p| p.is("SMTPUTF8")),
                ..Envelope::default()
            });
        }
        Ok(())
    }

    fn check_rcpt(&self, args: &PathArgs<'_>) -> Reply {
        let Some(envelope) = &self.envelope else {
            return Reply::new(503, "5.5.1", "need MAIL before RCPT");
        };
        if args.path.is_empty() {
            return Reply::new(501, "5.1.3", "empty forward path");
        }
        if let Err(refusal) = self.check_params(Verb::Rcpt, &args.params) {
            return refusal;
        }
        if !args.path.is_ascii() && !envelope.smtputf8 {
            return Reply::new(553, "5.6.7", "non-ASCII address needs SMTPUTF8");
        }
        if envelope.recipients.len() >= self.config.max_recipients {
            return Reply::new(452, "4.5.3", "too many recipients");
        }
        match self.config.recipient_reply(&text(args.path)) {
            Some(rule) => Reply::verbatim(rule.code, &rule.text),
            None => Reply::new(250, "2.1.5", "recipient OK"),
        }
    }

    fn on_rcpt(&mut self, args: &PathArgs<'_>) -> Step {
        let normal = self.check_rcpt(args);
        let code = self.respond(Some(Stage::Rcpt), normal)?;
        if let Some(envelope) = self.envelope.as_mut() {
            let path = text(args.path);
            if (200..300).contains(&code) {
                envelope.recipients.push(path);
            } else if envelope.rejected.len() < self.config.max_recipients {
                envelope.rejected.push(path);
            }
        }
        Ok(())
    }

    /// Why the body of a transaction cannot start now, if it cannot.
    fn body_refusal(&self) -> Option<Reply> {
        match &self.envelope {
            None => Some(Reply::new(503, "5.5.1", "need MAIL and RCPT first")),
            Some(envelope) if envelope.recipients.is_empty() => {
                Some(Reply::new(554, "5.5.1", "no valid recipients"))
            }
            Some(_) => None,
        }
    }

    // ----- bodies -------------------------------------------------------------------

    fn begin_body(&mut self, bdat: bool) {
        self.body = Some(BodyInProgress {
            bdat,
            chunks: 0,
            sink: BodySink::new(self.config.keep_bodies, self.config.max_message_size),
            wire: 0,
            next_threshold: 0,
            tls: self.link.is_tls(),
        });
    }

    /// Fires the mid-body faults whose threshold the body has reached.
    fn fire_mid_body_faults(&mut self) -> Step {
        // Bounded by the number of thresholds: each pass moves `next_threshold` on.
        loop {
            let Some(body) = self.body.as_mut() else {
                return Ok(());
            };
            let Some(&after) = self.config.mid_body_thresholds.get(body.next_threshold) else {
                return Ok(());
            };
            if after > body.wire {
                return Ok(());
            }
            body.next_threshold += 1;
            if let Some(action) = self.fault_for(Some(Stage::MidBody { after })) {
                self.perform(action, None)?;
            }
        }
    }

    /// How many more body octets may be consumed before the next mid-body threshold.
    fn octets_before_next_threshold(&self) -> usize {
        self.body
            .as_ref()
            .and_then(|body| {
                let after = self.config.mid_body_thresholds.get(body.next_threshold)?;
                usize::try_from(after.saturating_sub(body.wire)).ok()
            })
            .unwrap_or(usize::MAX)
    }

    fn on_data(&mut self) -> Step {
        let normal = if self.body.is_some() {
            Reply::new(503, "5.5.1", "DATA not allowed after BDAT")
        } else if let Some(refusal) = self.body_refusal() {
            refusal
        } else {
            Reply::lines(354, vec!["End data with <CR><LF>.<CR><LF>".into()])
        };
        let code = self.respond(Some(Stage::Data), normal)?;
        if code == 354 && self.body.is_none() {
            self.receive_data_body()?;
        }
        Ok(())
    }

    fn receive_data_body(&mut self) -> Step {
        self.begin_body(false);
        let mut decoder = DotDecoder::new();
        // Each pass consumes input, fires a threshold or reads; reads are bounded in time
        // by the client and the shutdown flag.
        loop {
            self.fire_mid_body_faults()?;
            let limit = self.octets_before_next_threshold();
            let Some(body) = self.body.as_mut() else {
                return Ok(());
            };
            let available = self.input.unconsumed();
            if available.is_empty() {
                self.fill()?;
                continue;
            }
            let window = &available[..available.len().min(limit)];
            let (used, done) = decoder.feed(window, &mut |content| body.sink.write(content));
            body.wire += used as u64;
            self.input.consume(used, true);
            if done {
                return self.complete_message();
            }
        }
    }

    fn on_bdat(&mut self, size: u64, last: bool) -> Step {
        if !self.extensions().chunking {
            let reply = Reply::new(502, "5.5.1", "BDAT not available (no CHUNKING)");
            self.respond(Some(Stage::Bdat), reply)?;
            return Ok(());
        }
        // RFC 3030 §2: the chunk is read even when the command is refused.
        let refusal = self.body_refusal();
        if refusal.is_none() && self.body.is_none() {
            self.begin_body(true);
        }
        let body = self.body.as_mut().filter(|_| refusal.is_none());
        let keep = body.is_some();
        if let Some(body) = body {
            body.chunks += 1;
        }
        self.receive_chunk(size, keep)?;
        if let Some(refusal) = refusal {
            self.respond(Some(Stage::Bdat), refusal)?;
        } else if last {
            self.complete_message()?;
        } else {
            let reply = Reply::new(250, "2.0.0", format!("{size} octets received"));
            self.respond(Some(Stage::Bdat), reply)?;
        }
        Ok(())
    }

    /// Consumes exactly `size` octets of chunk data, into the body when `keep`.
    fn receive_chunk(&mut self, size: u64, keep: bool) -> Step {
        let mut remaining = size;
        // Each pass consumes input or reads (reads are bounded by client and shutdown).
        while remaining > 0 {
            if keep {
                self.fire_mid_body_faults()?;
            }
            let limit = if keep {
                self.octets_before_next_threshold()
            } else {
                usize::MAX
            };
            let available = self.input.unconsumed();
            if available.is_empty() {
                self.fill()?;
                continue;
            }
            let wanted = usize::try_from(remaining).unwrap_or(usize::MAX);
            let take = available.len().min(limit).min(wanted);
            if let Some(body) = self.body.as_mut().filter(|_| keep) {
                body.sink.write(&available[..take]);
                body.wire += take as u64;
            }
            self.input.consume(take, true);
            remaining -= take as u64;
        }
        if keep {
            self.fire_mid_body_faults()?;
        }
        Ok(())
    }

    /// The body is complete: record the message, then reply (record first, so a client
    /// that has seen the reply finds the record).
    fn complete_message(&mut self) -> Step {
        let Some(body) = self.body.take() else {
            return Ok(());
        };
        let normal = if body.sink.over_limit() {
            Reply::new(552, "5.3.4", "message exceeds the size limit")
        } else {
            let id = format!("queued as {}.{}", self.number, self.messages + 1);
            Reply::new(250, "2.0.0", id)
        };
        let fault = self.fault_for(Some(Stage::EndOfData));
        let code = effective_code(fault.as_ref(), normal.code);
        let accepted = code.is_some_and(|code| (200..300).contains(&code));
        self.publish(body, true, accepted);
        match fault {
            Some(action) => self.perform(action, Some(&normal)),
            None => self.send(&normal),
        }
    }

    /// Ends the current transaction, recording a half-received body as incomplete.
    fn abort_transaction(&mut self) {
        if let Some(body) = self.body.take() {
            self.publish(body, false, false);
        }
        self.envelope = None;
    }

    fn publish(&mut self, body: BodyInProgress, complete: bool, accepted: bool) {
        self.messages += 1;
        let envelope = self.envelope.take().unwrap_or_default();
        let summary = body.sink.finish();
        let transfer = if body.bdat {
            Transfer::Bdat {
                chunks: body.chunks,
            }
        } else {
            Transfer::Data
        };
        self.sync_body_reads();
        self.shared.publish_message(MessageRecord {
            connection: self.number,
            sequence: self.messages,
            mail_from: envelope.mail_from,
            mail_params: envelope.params,
            recipients: envelope.recipients,
            rejected_recipients: envelope.rejected,
            transfer,
            body: summary.kept,
            body_len: summary.len,
            body_hash: summary.hash,
            over_limit: summary.over_limit,
            longest_line: summary.longest_line,
            bare_cr: summary.bare_cr,
            bare_lf: summary.bare_lf,
            tls: body.tls,
            authenticated_as: self.user.clone(),
            complete,
            accepted,
        });
    }
}

/// Tracks whether the next reply of an AUTH exchange is its first (the [`Stage::Auth`]
/// fault point).
struct AuthExchange {
    first_reply: bool,
}

impl AuthExchange {
    fn stage(&mut self) -> Option<Stage> {
        std::mem::replace(&mut self.first_reply, false).then_some(Stage::Auth)
    }
}
