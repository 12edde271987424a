//! Drives `smtpwire::testing::Server` with raw TCP and rustls clients.
//!
//! Every client socket has a read and write timeout, so a failing test fails instead of
//! hanging.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use smtpwire::testing::{
    Action, ConnectionEnd, Extensions, Fault, LineKind, Server, Stage, TlsIdentity, Transfer,
    fnv1a64,
};

/// Upper bound for anything a test waits for.
const PATIENCE: Duration = Duration::from_secs(10);

type TlsStream = StreamOwned<ClientConnection, TcpStream>;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// A line-oriented SMTP client over any stream.
struct Client<S: Read + Write> {
    reader: BufReader<S>,
}

fn connect(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    tcp.set_write_timeout(Some(PATIENCE)).unwrap();
    tcp
}

impl<S: Read + Write> Client<S> {
    fn new(stream: S) -> Self {
        Client {
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, bytes: impl AsRef<[u8]>) {
        let stream = self.reader.get_mut();
        stream.write_all(bytes.as_ref()).expect("write");
        stream.flush().expect("flush");
    }

    /// The next reply, `Ok(None)` on a clean EOF before any of it.
    fn try_reply(&mut self) -> io::Result<Option<Reply>> {
        let mut lines = Vec::new();
        // A reply of more than 100 lines is a bug in the server.
        for _ in 0..100 {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return if lines.is_empty() {
                    Ok(None)
                } else {
                    Err(ErrorKind::UnexpectedEof.into())
                };
            }
            let line = line
                .strip_suffix("\r\n")
                .unwrap_or_else(|| panic!("reply line without CRLF: {line:?}"));
            assert!(line.len() >= 3, "short reply line {line:?}");
            let code: u16 = line[..3].parse().expect("numeric code");
            lines.push(line.get(4..).unwrap_or("").to_owned());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(Some(Reply { code, lines }));
            }
        }
        panic!("reply too long");
    }

    fn reply(&mut self) -> Reply {
        self.try_reply()
            .expect("read reply")
            .expect("reply before EOF")
    }

    fn command(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n"));
        self.reply()
    }

    fn expect(&mut self, line: &str, code: u16) -> Reply {
        let reply = self.command(line);
        assert_eq!(reply.code, code, "{line} -> {reply:?}");
        reply
    }

    fn expect_eof(&mut self) {
        let reply = self.try_reply().expect("clean EOF");
        assert_eq!(reply, None);
    }
}

fn plain(server: &Server) -> Client<TcpStream> {
    let mut client = Client::new(connect(server.addr()));
    assert_eq!(client.reply().code, 220);
    client
}

fn client_config(certificate: Vec<u8>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(certificate))
        .expect("trust anchor");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

fn tls_over(tcp: TcpStream, server: &Server) -> TlsStream {
    let config = client_config(server.certificate_der().expect("server has TLS"));
    let name = ServerName::try_from("localhost").unwrap();
    StreamOwned::new(ClientConnection::new(config, name).unwrap(), tcp)
}

/// Connects, sends STARTTLS and returns a TLS client (before its EHLO).
fn starttls(server: &Server) -> Client<TlsStream> {
    let mut client = plain(server);
    client.expect("EHLO client.test", 250);
    client.expect("STARTTLS", 220);
    assert!(client.reader.buffer().is_empty());
    Client::new(tls_over(client.reader.into_inner(), server))
}

fn keywords(reply: &Reply) -> Vec<String> {
    reply.lines.iter().skip(1).cloned().collect()
}

fn wait_closed(server: &Server, count: usize) -> Vec<smtpwire::testing::ConnectionRecord> {
    server
        .wait_for_closed_connections(count, PATIENCE)
        .expect("connections closed")
}

fn plain_auth(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn full_plain_transaction_is_recorded() {
    let server = Server::builder()
        .pipelining(true)
        .size(true)
        .eight_bit_mime(true)
        .start()
        .unwrap();
    let mut client = plain(&server);
    let ehlo = client.expect("EHLO client.test", 250);
    assert_eq!(ehlo.lines[0], "localhost greets client.test");
    assert_eq!(
        keywords(&ehlo),
        [
            "SIZE 67108864",
            "PIPELINING",
            "8BITMIME",
            "ENHANCEDSTATUSCODES"
        ]
    );
    client.expect("MAIL FROM:<alice@example.org> BODY=8BITMIME SIZE=20", 250);
    client.expect("RCPT TO:<bob@example.net>", 250);
    client.expect("DATA", 354);
    client.send("Subject: t\r\n\r\nhello\r\n.\r\n");
    let queued = client.reply();
    assert_eq!(queued.code, 250);
    assert_eq!(queued.text(), "2.0.0 queued as 1.1");
    client.expect("QUIT", 221);
    client.expect_eof();

    let messages = server.wait_for_messages(1, PATIENCE).unwrap();
    let message = &messages[0];
    assert_eq!(message.connection, 1);
    assert_eq!(message.mail_from, "alice@example.org");
    assert_eq!(message.mail_params, ["BODY=8BITMIME", "SIZE=20"]);
    assert_eq!(message.recipients, ["bob@example.net"]);
    assert_eq!(
        message.body.as_deref(),
        Some(&b"Subject: t\r\n\r\nhello\r\n"[..])
    );
    assert_eq!(message.body_hash, fnv1a64(b"Subject: t\r\n\r\nhello\r\n"));
    assert_eq!(message.transfer, Transfer::Data);
    assert!(message.complete && message.accepted && !message.tls);

    let connections = wait_closed(&server, 1);
    assert_eq!(server.connection_count(), 1);
    let connection = &connections[0];
    assert_eq!(connection.verbs(), ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]);
    assert!(connection.commands.iter().all(|c| !c.tls && c.crlf));
    assert_eq!(connection.end, Some(ConnectionEnd::Quit));
    let total: usize = connection.read_sizes.iter().sum();
    assert_eq!(total as u64, connection.bytes_received);
    assert!(connection.body_reads >= 1 && connection.body_reads <= connection.reads);
}

#[test]
fn pipelined_commands_in_one_write_are_answered_in_order() {
    let server = Server::builder()
        .pipelining(true)
        .recipient_reply("nobody@example.net", 550, "5.1.1 no such user")
        .start()
        .unwrap();
    let mut client = plain(&server);
    client.expect("EHLO client.test", 250);
    client.send(
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n\
         RCPT TO:<nobody@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n",
    );
    let codes: Vec<u16> = (0..5).map(|_| client.reply().code).collect();
    assert_eq!(codes, [250, 250, 550, 250, 354]);
    // The body, the next transaction and QUIT in one write as well.
    client.send("one\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<d@example.net>\r\nDATA\r\n");
    let codes: Vec<u16> = (0..4).map(|_| client.reply().code).collect();
    assert_eq!(codes, [250, 250, 250, 354]);
    client.send("two\r\n.\r\nQUIT\r\n");
    assert_eq!(client.reply().code, 250);
    assert_eq!(client.reply().code, 221);

    let messages = server.wait_for_messages(2, PATIENCE).unwrap();
    assert_eq!(messages[0].recipients, ["b@example.net", "c@example.net"]);
    assert_eq!(messages[0].rejected_recipients, ["nobody@example.net"]);
    assert_eq!(messages[0].body_text().unwrap(), "one\r\n");
    assert_eq!(
        (messages[1].mail_from.as_str(), messages[1].sequence),
        ("", 2)
    );
    assert_eq!(messages[1].body_text().unwrap(), "two\r\n");
}

#[test]
fn data_is_unstuffed_and_only_crlf_dot_crlf_ends_it() {
    let server = Server::builder().start().unwrap();
    let mut client = plain(&server);
    client.expect("HELO client.test", 250);
    client.expect("MAIL FROM:<a@example.org>", 250);
    client.expect("RCPT TO:<b@example.net>", 250);
    client.expect("DATA", 354);
    // Stuffed dots on the first line and later ones, and smuggling-style sequences that
    // must stay content.
    client.send("..first\r\nx\n.\ny\r\n..\r\n...z\r\nw\r.\r\nlast\r\n.\r\n");
    assert_eq!(client.reply().code, 250);
    client.expect("QUIT", 221);

    let message = &server.wait_for_messages(1, PATIENCE).unwrap()[0];
    let expected = b".first\r\nx\n.\ny\r\n.\r\n..z\r\nw\r.\r\nlast\r\n";
    assert_eq!(message.body.as_deref(), Some(&expected[..]));
    assert_eq!((message.bare_lf, message.bare_cr), (2, 1));
    assert_eq!(message.body_len, expected.len() as u64);
}

#[test]
fn bdat_chunks_are_read_exactly_and_concatenated() {
    let server = Server::builder()
        .chunking(true)
        .pipelining(true)
        .start()
        .unwrap();
    let mut client = plain(&server);
    assert!(keywords(&client.expect("EHLO c", 250)).contains(&"CHUNKING".to_owned()));
    // Chunk data that looks like commands and holds a bare dot line, all pipelined.
    client.send(
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n\
         BDAT 13\r\nBDAT 1\r\n.\r\nxyBDAT 0\r\nBDAT 3 LAST\r\nend\
         NOOP\r\n",
    );
    let replies: Vec<Reply> = (0..6).map(|_| client.reply()).collect();
    let codes: Vec<u16> = replies.iter().map(|r| r.code).collect();
    assert_eq!(codes, [250, 250, 250, 250, 250, 250]);
    assert_eq!(replies[2].text(), "2.0.0 13 octets received");

    // BDAT without a transaction: the chunk is still consumed, then refused.
    client.send("BDAT 4 LAST\r\nNOOPNOOP\r\n");
    assert_eq!(client.reply().code, 503);
    assert_eq!(client.reply().code, 250);

    let message = &server.wait_for_messages(1, PATIENCE).unwrap()[0];
    assert_eq!(message.body_text().unwrap(), "BDAT 1\r\n.\r\nxyend");
    assert_eq!(message.transfer, Transfer::Bdat { chunks: 3 });

    // Without CHUNKING, BDAT is refused.
    let strict = Server::builder().start().unwrap();
    let mut client = plain(&strict);
    client.expect("EHLO c", 250);
    client.expect("MAIL FROM:<a@example.org>", 250);
    client.expect("RCPT TO:<b@example.net>", 250);
    client.expect("BDAT 1 LAST", 502);
}

#[test]
fn auth_plain_and_login_with_and_without_initial_response() {
    let server = Server::builder().auth("user", "secret").start().unwrap();
    let attempts: [(&[&str], u16); 8] = [
        (
            &[&format!("AUTH PLAIN {}", plain_auth("user", "secret"))],
            235,
        ),
        (
            &[&format!("AUTH PLAIN {}", plain_auth("user", "wrong"))],
            535,
        ),
        (&["AUTH PLAIN", &plain_auth("user", "secret")], 235),
        (
            &[&format!("AUTH LOGIN {}", b64("user")), &b64("secret")],
            235,
        ),
        (&["AUTH LOGIN", &b64("user"), &b64("secret")], 235),
        (&["AUTH LOGIN", &b64("user"), &b64("nope")], 535),
        (&["AUTH PLAIN", "*"], 501),
        (&["AUTH PLAIN !!notbase64"], 501),
    ];
    for (index, (lines, final_code)) in attempts.iter().enumerate() {
        let mut client = plain(&server);
        let ehlo = client.expect("EHLO c", 250);
        assert!(keywords(&ehlo).contains(&"AUTH PLAIN LOGIN".to_owned()));
        let (last, challenged) = lines.split_last().unwrap();
        for line in challenged {
            assert_eq!(client.command(line).code, 334, "attempt {index}");
        }
        assert_eq!(client.command(last).code, *final_code, "attempt {index}");
        client.expect("QUIT", 221);
    }
    let connections = wait_closed(&server, attempts.len());
    let users: Vec<Option<&str>> = connections
        .iter()
        .map(|c| c.authenticated_as.as_deref())
        .collect();
    let ok = Some("user");
    assert_eq!(users, [ok, None, ok, ok, ok, None, None, None]);
    let responses = connections[4]
        .commands
        .iter()
        .filter(|c| c.kind == LineKind::AuthResponse)
        .count();
    assert_eq!(responses, 2);
    let mut client = plain(&server);
    client.expect("HELO c", 250);
    client.expect(&format!("AUTH PLAIN {}", plain_auth("user", "secret")), 503);
}

#[test]
fn starttls_then_ehlo_offers_other_extensions_and_auth() {
    let identity = TlsIdentity::generate_localhost().unwrap();
    let mut after_tls = Extensions::default();
    after_tls.chunking = true;
    let server = Server::builder()
        .starttls(identity)
        .auth("user", "secret")
        .auth_only_after_tls(true)
        .extensions_after_tls(after_tls)
        .start()
        .unwrap();

    let mut client = plain(&server);
    let before = client.expect("EHLO client.test", 250);
    assert_eq!(keywords(&before), ["ENHANCEDSTATUSCODES", "STARTTLS"]);
    let login = format!("AUTH PLAIN {}", plain_auth("user", "secret"));
    client.expect(&login, 538);
    client.expect("STARTTLS", 220);
    let mut tls = Client::new(tls_over(client.reader.into_inner(), &server));
    // After TLS the session starts over: EHLO first.
    tls.expect("MAIL FROM:<a@example.org>", 503);
    let after = tls.expect("EHLO client.test", 250);
    assert_eq!(
        keywords(&after),
        ["CHUNKING", "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN"]
    );
    tls.expect("STARTTLS", 503);
    tls.expect(&login, 235);
    tls.expect("MAIL FROM:<a@example.org>", 250);
    tls.expect("RCPT TO:<b@example.net>", 250);
    tls.send("BDAT 2 LAST\r\nhi");
    assert_eq!(tls.reply().code, 250);
    tls.expect("QUIT", 221);

    let message = &server.wait_for_messages(1, PATIENCE).unwrap()[0];
    assert!(message.tls);
    assert_eq!(message.authenticated_as.as_deref(), Some("user"));
    let connection = &wait_closed(&server, 1)[0];
    let tls_flags: Vec<(String, bool)> = connection
        .commands
        .iter()
        .map(|c| (c.verb(), c.tls))
        .collect();
    let expected = [
        ("EHLO", false),
        ("AUTH", false),
        ("STARTTLS", false),
        ("MAIL", true),
        ("EHLO", true),
        ("STARTTLS", true),
        ("AUTH", true),
        ("MAIL", true),
        ("RCPT", true),
        ("BDAT", true),
        ("QUIT", true),
    ];
    let expected: Vec<(String, bool)> = expected
        .iter()
        .map(|(verb, tls)| ((*verb).to_owned(), *tls))
        .collect();
    assert_eq!(tls_flags, expected);
    assert!(connection.tls);
    assert_eq!(connection.end, Some(ConnectionEnd::Quit));
}

#[test]
fn plaintext_pipelined_after_starttls_is_discarded() {
    let server = Server::builder()
        .starttls(TlsIdentity::generate_localhost().unwrap())
        .start()
        .unwrap();
    let mut client = plain(&server);
    client.expect("EHLO client.test", 250);
    client.send("STARTTLS\r\nEHLO injected\r\n");
    assert_eq!(client.reply().code, 220);
    // Usually both lines arrive in one read and the second is thrown away before the
    // handshake; if TCP split them, the plaintext reaches the TLS layer as garbage and the
    // handshake fails. Either way it must never be read as a command.
    let mut tls = Client::new(tls_over(client.reader.into_inner(), &server));
    let upgraded = matches!(
        tls.send_and_try("EHLO real"),
        Ok(Some(Reply { code: 250, .. }))
    );
    if upgraded {
        tls.expect("QUIT", 221);
    }
    let connection = &wait_closed(&server, 1)[0];
    assert!(!connection.lines().contains(&"EHLO injected"));
    if upgraded {
        assert_eq!(
            connection.discarded_after_starttls,
            "EHLO injected\r\n".len()
        );
    }
}

impl<S: Read + Write> Client<S> {
    fn send_and_try(&mut self, line: &str) -> io::Result<Option<Reply>> {
        self.reader
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())?;
        self.reader.get_mut().flush()?;
        self.try_reply()
    }
}

#[test]
fn implicit_tls_and_starttls_share_one_certificate() {
    let identity = TlsIdentity::generate_localhost().unwrap();
    let implicit = Server::builder()
        .implicit_tls(identity.clone())
        .start()
        .unwrap();
    let upgrade = Server::builder().starttls(identity).start().unwrap();
    assert_eq!(implicit.certificate_der(), upgrade.certificate_der());
    assert_eq!(implicit.certificate_pem(), upgrade.certificate_pem());
    assert!(
        implicit
            .certificate_pem()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    let mut client = Client::new(tls_over(connect(implicit.addr()), &implicit));
    assert_eq!(client.reply().code, 220);
    let ehlo = client.expect("EHLO client.test", 250);
    assert!(!keywords(&ehlo).contains(&"STARTTLS".to_owned()));
    client.expect("QUIT", 221);
    let record = &wait_closed(&implicit, 1)[0];
    assert!(record.implicit_tls && record.tls);
    assert!(record.commands.iter().all(|c| c.tls));

    let mut client = starttls(&upgrade);
    client.expect("EHLO client.test", 250);
    client.expect("QUIT", 221);
}

#[test]
fn starttls_response_injection_can_be_staged() {
    let server = Server::builder()
        .starttls(TlsIdentity::generate_localhost().unwrap())
        .fault(Fault::at(Stage::StartTls).then(Action::raw("220 go\r\n250 fake\r\n")))
        .start()
        .unwrap();
    let mut client = plain(&server);
    client.expect("EHLO client.test", 250);
    let reply = client.command("STARTTLS");
    assert_eq!((reply.code, reply.text()), (220, "go".to_owned()));
    // The injected reply arrived in the same write as the 220.
    let mut leftover = String::new();
    client.reader.read_line(&mut leftover).unwrap();
    assert_eq!(leftover, "250 fake\r\n");
    // The server goes on with the handshake as if it had sent a plain 220.
    let mut tls = Client::new(tls_over(client.reader.into_inner(), &server));
    tls.expect("EHLO client.test", 250);
    tls.expect("QUIT", 221);
    assert_eq!(wait_closed(&server, 1)[0].faults, [Stage::StartTls]);
}

/// The standard conversation the fault matrix walks: stage, what the client sends (the
/// greeting needs nothing), the normal reply code.
const SCRIPT: &[(Stage, &str, u16)] = &[
    (Stage::Connect, "", 220),
    (Stage::Ehlo, "EHLO client.test\r\n", 250),
    (Stage::Mail, "MAIL FROM:<a@example.org>\r\n", 250),
    (Stage::Rcpt, "RCPT TO:<b@example.net>\r\n", 250),
    (Stage::Data, "DATA\r\n", 354),
    (Stage::EndOfData, "body\r\n.\r\n", 250),
    (Stage::Rset, "RSET\r\n", 250),
    (Stage::Noop, "NOOP\r\n", 250),
    (Stage::Quit, "QUIT\r\n", 221),
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    Close,
    ReplyAndClose,
    Reset,
    Silent,
    Delay,
    Reply,
    Raw,
}

fn action_for(kind: Kind, normal: u16) -> Action {
    match kind {
        Kind::Close => Action::close(),
        Kind::ReplyAndClose => Action::reply_and_close(421, "4.4.2 timeout exceeded"),
        Kind::Reset => Action::reset(),
        Kind::Silent => Action::silent(),
        Kind::Delay => Action::delay(Duration::from_millis(300)),
        Kind::Reply => Action::reply(normal, "custom\nreply"),
        Kind::Raw => Action::raw(format!("{normal} raw\r\n")),
    }
}

/// Walks [`SCRIPT`] against a server with `kind` at `stage`; checks what the client sees
/// and what the server recorded.
fn run_fault(stage: Stage, kind: Kind) {
    let (index, &(_, _, normal)) = SCRIPT
        .iter()
        .enumerate()
        .find(|(_, (s, _, _))| *s == stage)
        .unwrap();
    let server = Server::builder()
        .fault(Fault::at(stage).then(action_for(kind, normal)))
        .start()
        .unwrap();
    let mut client = Client::new(connect(server.addr()));
    for &(_, line, code) in &SCRIPT[..index] {
        client.send(line);
        assert_eq!(
            client.reply().code,
            code,
            "{stage:?} {kind:?} before the fault"
        );
    }
    client.send(SCRIPT[index].1);
    let context = format!("{stage:?} {kind:?}");
    let continues = match kind {
        Kind::Close => {
            client.expect_eof();
            false
        }
        Kind::ReplyAndClose => {
            let reply = client.reply();
            assert_eq!(
                (reply.code, reply.text().as_str()),
                (421, "4.4.2 timeout exceeded")
            );
            client.expect_eof();
            false
        }
        Kind::Reset => {
            let error = client.try_reply().expect_err(&context);
            assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{context}");
            false
        }
        Kind::Silent => {
            let stream = client.reader.get_ref();
            stream
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let error = client.try_reply().expect_err(&context);
            assert!(matches!(
                error.kind(),
                ErrorKind::WouldBlock | ErrorKind::TimedOut
            ));
            false
        }
        Kind::Delay => {
            // The server cannot answer before its 300 ms delay, so a 50 ms read times out.
            let stream = client.reader.get_ref();
            stream
                .set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let early = client.try_reply().expect_err(&context);
            assert!(matches!(
                early.kind(),
                ErrorKind::WouldBlock | ErrorKind::TimedOut
            ));
            client
                .reader
                .get_ref()
                .set_read_timeout(Some(PATIENCE))
                .unwrap();
            assert_eq!(client.reply().code, normal, "{context}");
            true
        }
        Kind::Reply => {
            let reply = client.reply();
            assert_eq!(reply.code, normal, "{context}");
            assert_eq!(reply.lines, ["custom", "reply"], "{context}");
            true
        }
        Kind::Raw => {
            let reply = client.reply();
            assert_eq!(
                (reply.code, reply.text()),
                (normal, "raw".to_owned()),
                "{context}"
            );
            true
        }
    };
    if continues {
        for &(_, line, code) in &SCRIPT[index + 1..] {
            client.send(line);
            assert_eq!(client.reply().code, code, "{context} after the fault");
        }
        client.expect_eof();
    }
    drop(client);
    let connection = &wait_closed(&server, 1)[0];
    assert_eq!(connection.faults, [stage], "{context}");
    let expected_end = match kind {
        Kind::Close | Kind::ReplyAndClose => ConnectionEnd::ClosedByFault,
        Kind::Reset => ConnectionEnd::ResetByFault,
        Kind::Silent => ConnectionEnd::ClientClosed,
        Kind::Delay | Kind::Reply | Kind::Raw => ConnectionEnd::Quit,
    };
    assert_eq!(connection.end, Some(expected_end), "{context}");
    let messages = server.messages();
    // The body was complete when the script got past EndOfData (index 5); it is accepted
    // unless the fault ended the connection at EndOfData instead of its 250.
    if index >= 5 || continues {
        assert_eq!(messages.len(), 1, "{context}");
        assert!(messages[0].complete, "{context}");
        let accepted = stage != Stage::EndOfData || continues;
        assert_eq!(messages[0].accepted, accepted, "{context}");
    } else {
        assert!(messages.is_empty(), "{context}");
    }
}

#[test]
fn every_fault_action_at_every_reply_stage() {
    let kinds = [
        Kind::Close,
        Kind::ReplyAndClose,
        Kind::Reset,
        Kind::Silent,
        Kind::Delay,
        Kind::Reply,
        Kind::Raw,
    ];
    for &(stage, _, _) in SCRIPT {
        for kind in kinds {
            run_fault(stage, kind);
        }
    }
}

#[test]
fn faults_at_helo_auth_and_bdat() {
    let server = Server::builder()
        .chunking(true)
        .auth("u", "p")
        .fault(
            Fault::at(Stage::Helo)
                .on_connection(1)
                .then(Action::reply(554, "5.7.1 go away")),
        )
        .fault(
            Fault::at(Stage::Auth)
                .on_connection(2)
                .then(Action::reply_and_close(454, "4.7.0 later")),
        )
        .fault(
            Fault::at(Stage::Bdat)
                .on_connection(3)
                .then(Action::reset()),
        )
        .start()
        .unwrap();
    let mut first = plain(&server);
    first.expect("HELO c", 554);
    first.expect("MAIL FROM:<a@example.org>", 503); // HELO did not take effect
    first.expect("QUIT", 221);

    let mut second = plain(&server);
    second.expect("EHLO c", 250);
    second.expect("AUTH LOGIN", 454);
    second.expect_eof();

    let mut third = plain(&server);
    third.expect("EHLO c", 250);
    third.expect("MAIL FROM:<a@example.org>", 250);
    third.expect("RCPT TO:<b@example.net>", 250);
    third.send("BDAT 3\r\nabc");
    assert_eq!(
        third.try_reply().unwrap_err().kind(),
        ErrorKind::ConnectionReset
    );

    let connections = wait_closed(&server, 3);
    let faults: Vec<&[Stage]> = connections.iter().map(|c| c.faults.as_slice()).collect();
    assert_eq!(faults, [&[Stage::Helo][..], &[Stage::Auth], &[Stage::Bdat]]);
    // The BDAT chunk was received before the reset: an incomplete message.
    let message = &server.messages()[0];
    assert_eq!((message.complete, message.body_len), (false, 3));
}

#[test]
fn mid_body_faults_cut_or_interrupt_the_body() {
    let server = Server::builder()
        .fault(
            Fault::at(Stage::MidBody { after: 10 })
                .on_connection(1)
                .then(Action::close()),
        )
        .fault(
            Fault::at(Stage::MidBody { after: 4 })
                .on_connection(2)
                .then(Action::reply(451, "4.3.0 early")),
        )
        .start()
        .unwrap();
    let transaction = |client: &mut Client<TcpStream>| {
        client.expect("EHLO c", 250);
        client.expect("MAIL FROM:<a@example.org>", 250);
        client.expect("RCPT TO:<b@example.net>", 250);
        client.expect("DATA", 354);
    };
    let mut first = plain(&server);
    transaction(&mut first);
    first.send("0123456789abcdef\r\n.\r\n");
    first.expect_eof();
    wait_closed(&server, 1);
    let cut = &server.messages()[0];
    assert_eq!(cut.body.as_deref(), Some(&b"0123456789"[..]));
    assert!(!cut.complete && !cut.accepted);

    let mut second = plain(&server);
    transaction(&mut second);
    second.send("0123");
    // An unsolicited reply in the middle of the body, then the body goes on.
    assert_eq!(second.reply().code, 451);
    second.send("4567\r\n.\r\n");
    assert_eq!(second.reply().code, 250);
    second.expect("QUIT", 221);
    let message = &server.wait_for_messages(1, PATIENCE).unwrap()[0];
    assert_eq!(message.body_text().unwrap(), "01234567\r\n");
}

#[test]
fn recipient_replies_and_occurrence_faults() {
    let server = Server::builder()
        .recipient_reply("Full@Example.net", 452, "4.2.2 mailbox full")
        .recipient_reply("ok@example.net", 251, "2.1.5 will forward")
        .fault(
            Fault::at(Stage::Mail)
                .on_occurrence(2)
                .then(Action::reply_and_close(421, "4.3.2 shutting down")),
        )
        .start()
        .unwrap();
    let mut client = plain(&server);
    client.expect("EHLO c", 250);
    client.expect("MAIL FROM:<a@example.org>", 250);
    let full = client.expect("RCPT TO:<full@example.net>", 452);
    assert_eq!(full.text(), "4.2.2 mailbox full");
    client.expect("RCPT TO:<ok@example.net>", 251);
    client.expect("DATA", 354);
    client.send("x\r\n.\r\n");
    assert_eq!(client.reply().code, 250);
    // The second MAIL on the same connection hits the occurrence fault.
    client.expect("MAIL FROM:<a@example.org>", 421);
    client.expect_eof();
    let message = &server.wait_for_messages(1, PATIENCE).unwrap()[0];
    assert_eq!(message.recipients, ["ok@example.net"]);
    assert_eq!(message.rejected_recipients, ["full@example.net"]);
}

#[test]
fn any_reply_faults_count_every_reply_of_a_connection() {
    let server = Server::builder()
        .fault(
            Fault::at(Stage::AnyReply)
                .on_occurrence(3)
                .then(Action::reply(451, "4.3.0 third reply")),
        )
        .start()
        .unwrap();
    // Replies: greeting (1), unknown command (2), EHLO (3: replaced), NOOP (4).
    let mut client = plain(&server);
    client.expect("XYZZY", 500);
    let third = client.expect("EHLO c", 451);
    assert_eq!(third.text(), "4.3.0 third reply");
    client.expect("NOOP", 250);
    client.expect("MAIL FROM:<a@example.org>", 503); // the replaced EHLO had no effect
    client.expect("QUIT", 221);
    assert_eq!(wait_closed(&server, 1)[0].faults, [Stage::AnyReply]);
}

#[test]
fn boulder_close_first_in_one_line() {
    let server = Server::builder()
        .faults(Fault::boulder_close_first(4))
        .start()
        .unwrap();
    for number in 1..=4u64 {
        let mut client = plain(&server);
        client.expect("EHLO c", 250);
        client.send("MAIL FROM:<a@example.org>\r\n");
        if number % 2 == 1 {
            client.expect_eof();
        } else {
            assert_eq!(client.reply().code, 421);
            client.expect_eof();
        }
    }
    let mut client = plain(&server);
    client.expect("EHLO c", 250);
    client.expect("MAIL FROM:<a@example.org>", 250);
    client.expect("RCPT TO:<b@example.net>", 250);
    client.expect("DATA", 354);
    client.send("ok\r\n.\r\n");
    assert_eq!(client.reply().code, 250);
    client.expect("QUIT", 221);
    let connections = wait_closed(&server, 5);
    let ends: Vec<_> = connections.iter().map(|c| c.end.clone().unwrap()).collect();
    let by_fault = ConnectionEnd::ClosedByFault;
    assert_eq!(
        ends,
        [
            by_fault.clone(),
            by_fault.clone(),
            by_fault.clone(),
            by_fault,
            ConnectionEnd::Quit
        ]
    );
    assert_eq!(server.accepted_messages()[0].connection, 5);
}

/// A deterministic byte soup with NUL, CR, LF, high bytes and dots.
fn garbage(length: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn garbage_and_oversized_input_get_answers_not_panics() {
    let server = Server::builder().max_message_size(100).start().unwrap();
    let mut client = plain(&server);
    client.send(garbage(20_000));
    client.send("\r\n");
    // An over-long line (no LF for 100 KiB), then a normal command.
    client.send(vec![b'A'; 100 * 1024]);
    client.send("\r\nNOOP\r\n");
    // Read replies until the NOOP's 250: every garbage line got some reply.
    let mut codes = Vec::new();
    loop {
        let reply = client.reply();
        codes.push(reply.code);
        if reply.code == 250 {
            break;
        }
        assert!(codes.len() < 1000, "too many replies");
    }
    assert!(codes.contains(&500), "{codes:?}");
    client.expect("EHLO c", 250);
    client.expect("MAIL FROM:<a@example.org>", 250);
    client.expect("RCPT TO:<b@example.net>", 250);
    client.expect("DATA", 354);
    client.send(format!("{}\r\n.\r\n", "x".repeat(500)));
    assert_eq!(client.reply().code, 552);
    client.expect("QUIT", 221);
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let big = &messages[0];
    assert!(big.over_limit && big.complete && !big.accepted);
    assert_eq!(
        (big.body_len, big.body.as_ref().map(Vec::len)),
        (502, Some(100))
    );
    let connection = &wait_closed(&server, 1)[0];
    assert!(
        connection
            .commands
            .iter()
            .any(|c| c.kind == LineKind::TooLong)
    );

    // Early closes, half a command, and TLS garbage: the server keeps serving.
    drop(connect(server.addr()));
    let mut half = connect(server.addr());
    half.write_all(b"MAIL FROM:<a@exa").unwrap();
    drop(half);
    let tls_server = Server::builder()
        .implicit_tls(TlsIdentity::generate_localhost().unwrap())
        .start()
        .unwrap();
    let mut raw = connect(tls_server.addr());
    raw.write_all(&garbage(4096)).unwrap();
    let mut sink = Vec::new();
    // The server answers with an alert or closes; either way the read ends.
    let _ = raw.read_to_end(&mut sink);
    let record = &wait_closed(&tls_server, 1)[0];
    assert!(
        matches!(
            record.end,
            Some(ConnectionEnd::TlsFailed(_) | ConnectionEnd::Io(_))
        ),
        "{:?}",
        record.end
    );
    let mut client = Client::new(tls_over(connect(tls_server.addr()), &tls_server));
    assert_eq!(client.reply().code, 220);
    let mut again = plain(&server);
    again.expect("NOOP", 250);
}

#[test]
fn size_limits_and_parameters_follow_what_is_advertised() {
    let server = Server::builder()
        .size(true)
        .max_message_size(1000)
        .start()
        .unwrap();
    let mut client = plain(&server);
    client.expect("EHLO c", 250);
    client.expect("MAIL FROM:<a@example.org> SIZE=1001", 552);
    client.expect("MAIL FROM:<a@example.org> BODY=8BITMIME", 555);
    client.expect("MAIL FROM:<a@example.org> SMTPUTF8", 555);
    client.expect("MAIL FROM:<dé@example.org>", 553);
    client.expect("MAIL FROM:<a@example.org> SIZE=1000", 250);
    client.expect("RCPT TO:<b@example.net> NOTIFY=NEVER", 555);
    client.expect("RCPT TO:<>", 501);
    client.expect("DATA", 554);
    client.expect("QUIT", 221);

    let everything = Server::builder()
        .extensions(Extensions::all())
        .start()
        .unwrap();
    let mut client = plain(&everything);
    let ehlo = client.expect("EHLO c", 250);
    assert_eq!(
        keywords(&ehlo),
        [
            "SIZE 67108864",
            "PIPELINING",
            "8BITMIME",
            "CHUNKING",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
            "DSN"
        ]
    );
    client.expect(
        "MAIL FROM:<dé@example.org> SMTPUTF8 BODY=8BITMIME RET=HDRS ENVID=x",
        250,
    );
    client.expect(
        "RCPT TO:<é@example.net> NOTIFY=NEVER ORCPT=rfc822;b@example.net",
        250,
    );
}

#[test]
fn require_auth_and_plain_replies_without_enhanced_codes() {
    let server = Server::builder()
        .auth("u", "p")
        .require_auth(true)
        .enhanced_status_codes(false)
        .start()
        .unwrap();
    let mut client = plain(&server);
    let ehlo = client.expect("EHLO c", 250);
    assert_eq!(keywords(&ehlo), ["AUTH PLAIN LOGIN"]);
    let refused = client.expect("MAIL FROM:<a@example.org>", 530);
    assert_eq!(refused.text(), "authentication required");
    client.expect(&format!("AUTH PLAIN {}", plain_auth("u", "p")), 235);
    client.expect("MAIL FROM:<a@example.org>", 250);
    client.expect("FOO", 500);
    client.expect("VRFY x", 502);
    client.expect("EHLO", 501);
}

#[test]
fn bodies_can_be_measured_without_being_kept() {
    let server = Server::builder().keep_bodies(false).start().unwrap();
    let mut client = plain(&server);
    client.expect("EHLO c", 250);
    client.expect("MAIL FROM:<a@example.org>", 250);
    client.expect("RCPT TO:<b@example.net>", 250);
    client.expect("DATA", 354);
    let line = format!("{}\r\n", "y".repeat(998));
    let mut hasher = smtpwire::testing::Fnv1a64::new();
    for _ in 0..2000 {
        client.send(&line);
        hasher.update(line.as_bytes());
    }
    client.send(".\r\n");
    assert_eq!(client.reply().code, 250);
    let message = &server.wait_for_messages(1, PATIENCE).unwrap()[0];
    assert_eq!(message.body, None);
    assert_eq!(message.body_len, 2000 * 1000);
    assert_eq!(message.body_hash, hasher.finish());
    assert_eq!(message.longest_line, 998);
}

#[test]
fn connections_over_the_cap_get_421() {
    let server = Server::builder().max_connections(1).start().unwrap();
    let mut first = plain(&server);
    let mut second = Client::new(connect(server.addr()));
    assert_eq!(second.reply().code, 421);
    second.expect_eof();
    first.expect("NOOP", 250);
    let connections = wait_closed(&server, 1);
    assert_eq!(connections[0].end, None);
    assert_eq!(connections[1].end, Some(ConnectionEnd::TooManyConnections));
    assert_eq!(server.connection_count(), 2);
}

#[test]
fn waiting_gives_up_at_the_deadline() {
    let server = Server::builder().start().unwrap();
    let error = server
        .wait_for_messages(1, Duration::from_millis(50))
        .unwrap_err();
    assert_eq!((error.wanted, error.seen), (1, 0));
}

#[test]
fn dropping_the_server_ends_every_thread_despite_stalled_clients() {
    let server = Server::builder()
        .fault(
            Fault::at(Stage::Connect)
                .on_connection(1)
                .then(Action::silent()),
        )
        .fault(
            Fault::at(Stage::Noop)
                .on_connection(3)
                .then(Action::delay(Duration::from_secs(3600))),
        )
        .start()
        .unwrap();
    let threads = server.threads();
    // A client the server is silent to, one stalled mid-body, one waiting on a long delay.
    let silent = connect(server.addr());
    let mut stalled = plain(&server);
    stalled.expect("EHLO c", 250);
    stalled.expect("MAIL FROM:<a@example.org>", 250);
    stalled.expect("RCPT TO:<b@example.net>", 250);
    stalled.expect("DATA", 354);
    stalled.send("half a bo");
    let mut delayed = plain(&server);
    delayed.send("NOOP\r\n");
    let deadline = std::time::Instant::now() + PATIENCE;
    let received = |number| server.connection(number).map_or(0, |c| c.bytes_received);
    // Acceptor plus three connections; all of "half a bo" and the NOOP read.
    while threads.running() < 4 || received(2) < 75 || received(3) < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "server threads never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(server.shutdown());
    assert_eq!(threads.running(), 0);
    let ends: Vec<_> = server.connections().into_iter().map(|c| c.end).collect();
    assert!(
        ends.iter()
            .all(|end| *end == Some(ConnectionEnd::ServerShutdown)),
        "{ends:?}"
    );
    assert_eq!(server.messages()[0].body_len, 9);
    drop(server);
    drop((silent, stalled, delayed));

    let server = Server::builder().start().unwrap();
    let threads = server.threads();
    let _idle = plain(&server);
    drop(server);
    assert_eq!(threads.running(), 0);
}
