//! Write coalescing: what the session has ready goes out in one write, and the end of a body
//! travels with its last bytes (lettre writes the final `.` alone and, without TCP_NODELAY,
//! stalls ~40 ms per message on Nagle and delayed ACKs).

mod transport_support;

use smtpwire::transport::Connection;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use transport_support::*;

const MESSAGES: usize = 5;
const BODY: &[u8] = b"Subject: counting\r\n\r\nfirst line\r\n.leading dot\r\nlast line\r\n";

fn recording(port: u16) -> (RecordingSocket, Arc<Mutex<Vec<Vec<u8>>>>) {
    let inner = TcpStream::connect(("127.0.0.1", port)).unwrap();
    inner.set_nodelay(true).unwrap();
    let writes = Arc::new(Mutex::new(Vec::new()));
    (
        RecordingSocket {
            inner,
            writes: Arc::clone(&writes),
        },
        writes,
    )
}

fn quit() -> [Act; 2] {
    [Act::Expect("QUIT"), send("221 bye\r\n")]
}

/// Sends `MESSAGES` messages and returns the writes of each.
fn writes_per_message(script: Vec<Act>) -> Vec<Vec<Vec<u8>>> {
    let server = ScriptedServer::start(script);
    let (socket, writes) = recording(server.port);
    let options = options(server.port, Duration::from_secs(10));
    let mut connection = Connection::establish(socket, &options).unwrap();
    let mut per_message = Vec::new();
    for _ in 0..MESSAGES {
        let before = writes.lock().unwrap().len();
        connection
            .send_bytes(&envelope(&["a@example.org", "b@example.org"]), BODY)
            .unwrap();
        per_message.push(writes.lock().unwrap()[before..].to_vec());
    }
    connection.close().unwrap();
    server.finish();
    per_message
}

#[test]
fn with_pipelining_a_message_takes_two_writes_and_the_dot_travels_with_the_body() {
    let mut script = opening(&["PIPELINING", "8BITMIME"]);
    for _ in 0..MESSAGES {
        script.extend([
            Act::Expect("MAIL FROM:"),
            Act::Expect("RCPT TO:<a@"),
            Act::Expect("RCPT TO:<b@"),
            Act::Expect("DATA"),
            send("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
            Act::ExpectDataBody,
            send("250 queued\r\n"),
        ]);
    }
    script.extend(quit());
    for writes in writes_per_message(script) {
        assert_eq!(writes.len(), 2, "{writes:?}");
        let commands = String::from_utf8_lossy(&writes[0]);
        assert!(
            commands.starts_with("MAIL FROM:") && commands.ends_with("DATA\r\n"),
            "{commands}"
        );
        assert_eq!(commands.matches("RCPT TO:").count(), 2);
        let body = &writes[1];
        assert!(body.starts_with(b"Subject: counting\r\n"));
        assert!(
            body.ends_with(b"last line\r\n.\r\n"),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn with_pipelining_and_chunking_a_message_takes_one_write() {
    let mut script = opening(&["PIPELINING", "CHUNKING", "8BITMIME"]);
    for _ in 0..MESSAGES {
        script.extend([
            Act::Expect("MAIL FROM:"),
            Act::Expect("RCPT TO:<a@"),
            Act::Expect("RCPT TO:<b@"),
            Act::Expect(&*format!("BDAT {} LAST", BODY.len()).leak()),
            Act::ReadBytes(BODY.len()),
            send("250 ok\r\n250 ok\r\n250 ok\r\n250 queued\r\n"),
        ]);
    }
    script.extend(quit());
    for writes in writes_per_message(script) {
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert!(writes[0].starts_with(b"MAIL FROM:"));
        assert!(writes[0].ends_with(BODY), "BDAT carries the body unstuffed");
    }
}

#[test]
fn without_pipelining_each_command_waits_but_the_dot_still_travels_with_the_body() {
    let mut script = opening(&["8BITMIME"]);
    for _ in 0..MESSAGES {
        script.extend([
            Act::Expect("MAIL FROM:"),
            send("250 ok\r\n"),
            Act::Expect("RCPT TO:<a@"),
            send("250 ok\r\n"),
            Act::Expect("RCPT TO:<b@"),
            send("250 ok\r\n"),
            Act::Expect("DATA"),
            send("354 go\r\n"),
            Act::ExpectDataBody,
            send("250 queued\r\n"),
        ]);
    }
    script.extend(quit());
    for writes in writes_per_message(script) {
        assert_eq!(writes.len(), 5, "MAIL, RCPT, RCPT, DATA, body: {writes:?}");
        assert!(writes[4].ends_with(b"last line\r\n.\r\n"));
    }
}

#[test]
fn a_large_streamed_body_is_written_in_big_blocks_and_its_end_joins_the_last_one() {
    const LEN: u64 = 1 << 20;
    let mut script = opening(&["PIPELINING", "8BITMIME"]);
    script.extend([
        Act::Expect("MAIL FROM:"),
        Act::Expect("RCPT TO:"),
        Act::Expect("DATA"),
        send("250 ok\r\n250 ok\r\n354 go\r\n"),
        Act::ExpectDataBody,
        send("250 queued\r\n"),
    ]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let (socket, writes) = recording(server.port);
    let mut connection =
        Connection::establish(socket, &options(server.port, Duration::from_secs(10))).unwrap();
    let before = writes.lock().unwrap().len();
    let delivery = connection
        .send(
            &envelope(&["a@example.org"]),
            GeneratedBody::new(LEN),
            Default::default(),
        )
        .unwrap();
    assert_eq!(delivery.recipients.len(), 1);
    let body_writes = writes.lock().unwrap()[before + 1..].to_vec();
    // 1 MiB in blocks of at least 64 KiB (the socket may take a block in several writes).
    assert!(
        body_writes.len() <= 2 * (LEN as usize).div_ceil(64 * 1024),
        "{}",
        body_writes.len()
    );
    let total: usize = body_writes.iter().map(Vec::len).sum();
    assert!(total as u64 >= LEN + 3);
    let last = body_writes.last().unwrap();
    assert!(
        last.len() > 3 && last.ends_with(b"\r\n.\r\n"),
        "the end went alone: {last:?}"
    );
    connection.close().unwrap();
    server.finish();
}
