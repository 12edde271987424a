//! Messages per second over one connection on loopback: smtpwire against lettre 0.11.
//!
//! Both clients talk to the same in-process sink server (below), which answers like a real
//! server: replies to pipelined commands are coalesced into one write, and it does not set
//! TCP_NODELAY itself. lettre writes the final `.` of each message as a separate small write
//! without TCP_NODELAY, so Nagle's algorithm holds it until the server's delayed ACK: about
//! 40 ms per message on Linux. smtpwire sends the end of the body with its last bytes, with
//! TCP_NODELAY on.
//!
//! lettre is built without its `pool` feature here, so `SmtpTransport` would reconnect for
//! every message; its one-connection API, `SmtpConnection`, is used instead (the same code
//! path `SmtpTransport` runs per message).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lettre::transport::smtp::client::SmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use smtpwire::address::{Address, ReversePath};
use smtpwire::ehlo_name::EhloName;
use smtpwire::session::{Envelope, SessionConfig, TlsPolicy};
use smtpwire::transport::{ConnectOptions, Connection};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// A small message: header and a few lines of text, about 600 octets.
fn message() -> Vec<u8> {
    let mut message = b"From: sender@example.com\r\nTo: rcpt@example.org\r\nSubject: bench\r\n\
        Message-ID: <bench@example.com>\r\nDate: Sun, 29 Nov 2026 00:00:00 +0000\r\n\r\n"
        .to_vec();
    for i in 0..8 {
        message.extend_from_slice(
            format!("line {i} of a small message body, some words.\r\n").as_bytes(),
        );
    }
    message
}

/// Starts a sink server; returns its port. `pipelining` decides whether it offers PIPELINING.
fn start_sink(pipelining: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            thread::spawn(move || serve(stream, pipelining));
        }
    });
    port
}

/// One sink connection: answers every command positively, swallows bodies, writes the
/// replies to everything it has read in one write.
fn serve(mut stream: TcpStream, pipelining: bool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    if stream.write_all(b"220 sink.example ESMTP\r\n").is_err() {
        return;
    }
    let ehlo: &[u8] = if pipelining {
        b"250-sink.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 100000000\r\n"
    } else {
        b"250-sink.example\r\n250-8BITMIME\r\n250 SIZE 100000000\r\n"
    };
    let mut input = Vec::with_capacity(64 * 1024);
    let mut replies = Vec::with_capacity(1024);
    let mut in_body = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        input.extend_from_slice(&buf[..n]);
        let mut start = 0;
        loop {
            if in_body {
                match find(&input[start..], b"\r\n.\r\n") {
                    Some(at) => {
                        start += at + 5;
                        in_body = false;
                        replies.extend_from_slice(b"250 2.0.0 Ok: queued\r\n");
                    }
                    None => {
                        // Keep the tail that may start the end marker.
                        start = input.len().saturating_sub(4).max(start);
                        break;
                    }
                }
            } else {
                let Some(at) = find(&input[start..], b"\r\n") else {
                    break;
                };
                let line = &input[start..start + at];
                start += at + 2;
                let verb: Vec<u8> = line.iter().take(4).map(u8::to_ascii_uppercase).collect();
                match &verb[..] {
                    b"EHLO" => replies.extend_from_slice(ehlo),
                    b"DATA" => {
                        in_body = true;
                        // A body may start right after the command: "\r\n.\r\n" needs the CRLF.
                        input.splice(start..start, b"\r\n".iter().copied());
                        replies.extend_from_slice(b"354 End data with <CR><LF>.<CR><LF>\r\n");
                    }
                    b"QUIT" => {
                        replies.extend_from_slice(b"221 2.0.0 Bye\r\n");
                        let _ = stream.write_all(&replies);
                        return;
                    }
                    _ => replies.extend_from_slice(b"250 2.0.0 Ok\r\n"),
                }
            }
        }
        input.drain(..start);
        if !replies.is_empty() {
            if stream.write_all(&replies).is_err() {
                return;
            }
            replies.clear();
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

fn smtpwire_connection(port: u16) -> Connection {
    let mut session = SessionConfig::new(EhloName::parse("client.example").unwrap());
    session.tls = TlsPolicy::None;
    Connection::connect(&ConnectOptions::with_session("127.0.0.1", port, session)).unwrap()
}

fn lettre_connection(port: u16) -> SmtpConnection {
    SmtpConnection::connect(
        ("127.0.0.1", port),
        Some(Duration::from_secs(10)),
        &ClientId::Domain("client.example".into()),
        None,
        None,
    )
    .unwrap()
}

fn one_connection(c: &mut Criterion) {
    let body = message();
    let envelope = Envelope::new(
        ReversePath::Address(Address::parse("sender@example.com").unwrap()),
        vec![Address::parse("rcpt@example.org").unwrap()],
    );
    let lettre_envelope = lettre::address::Envelope::new(
        Some("sender@example.com".parse().unwrap()),
        vec!["rcpt@example.org".parse().unwrap()],
    )
    .unwrap();

    let mut group = c.benchmark_group("small_message_one_connection");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));

    let plain = start_sink(false);
    let mut connection = smtpwire_connection(plain);
    group.bench_function("smtpwire", |b| {
        b.iter(|| connection.send_bytes(&envelope, &body).unwrap())
    });
    connection.close().unwrap();

    let mut connection = lettre_connection(plain);
    group.bench_function("lettre", |b| {
        b.iter(|| connection.send(&lettre_envelope, &body).unwrap())
    });
    connection.quit().unwrap();

    let pipelining = start_sink(true);
    let mut connection = smtpwire_connection(pipelining);
    group.bench_function("smtpwire_pipelining", |b| {
        b.iter(|| connection.send_bytes(&envelope, &body).unwrap())
    });
    connection.close().unwrap();
    group.finish();
}

criterion_group!(benches, one_connection);
criterion_main!(benches);
