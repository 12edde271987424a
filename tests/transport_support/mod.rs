//! A scripted SMTP server on 127.0.0.1 for transport tests: it plays a fixed script, can
//! misbehave in precise ways (421, EOF, reset, silence, trickling, injection), and returns
//! everything the client sent.
#![allow(dead_code)]

use smtpwire::address::{Address, ReversePath};
use smtpwire::ehlo_name::EhloName;
use smtpwire::session::{Envelope, SessionConfig, Timeouts};
use smtpwire::transport::{ConnectOptions, Socket};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long any blocking step of the scripted server may take: tests never hang.
pub const SERVER_IO_TIMEOUT: Duration = Duration::from_secs(20);

/// One step of a script.
#[derive(Clone, Debug)]
pub enum Act {
    /// Write these bytes in one write.
    Send(Vec<u8>),
    /// Read one command line; it must start with this prefix (ASCII case-insensitive).
    Expect(&'static str),
    /// Read a DATA body up to and including the final `.` line.
    ExpectDataBody,
    /// Read exactly this many bytes (a BDAT chunk, or part of a body).
    ReadBytes(usize),
    /// Close gracefully (FIN), then discard whatever arrives until the client closes.
    Hangup,
    /// Close at once, discarding unread data: the peer sees a reset.
    Reset,
    /// Send FIN, then close without reading what is left (the peer's next write is reset).
    Close,
    /// Stop reading for this long (the peer's writes block once buffers fill), then drain.
    Stall(Duration),
    /// Do nothing for this long, keeping the connection open.
    Pause(Duration),
    /// Write `bytes` one byte at a time, `every` apart, until the client goes away or
    /// `for_at_most` passed.
    Trickle {
        bytes: Vec<u8>,
        every: Duration,
        for_at_most: Duration,
    },
}

/// Shorthand for [`Act::Send`].
pub fn send(text: &str) -> Act {
    Act::Send(text.as_bytes().to_vec())
}

/// What the client sent.
#[derive(Debug, Default)]
pub struct Transcript {
    /// Every byte read, in order.
    pub received: Vec<u8>,
    /// The command lines read by `Expect` steps.
    pub commands: Vec<String>,
    /// Bytes that arrived after the script ended, until the client closed.
    pub after_script: Vec<u8>,
}

/// A server playing one script for one connection.
pub struct ScriptedServer {
    pub port: u16,
    handle: JoinHandle<Transcript>,
}

impl ScriptedServer {
    pub fn start(script: Vec<Act>) -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(SERVER_IO_TIMEOUT)).unwrap();
            stream.set_write_timeout(Some(SERVER_IO_TIMEOUT)).unwrap();
            let mut conn = ServerConn {
                stream,
                pending: Vec::new(),
                transcript: Transcript::default(),
            };
            conn.play(script);
            conn.transcript
        });
        ScriptedServer { port, handle }
    }

    /// Waits for the script to end (bounded by the server's IO timeouts).
    pub fn finish(self) -> Transcript {
        self.handle.join().expect("the scripted server panicked")
    }
}

struct ServerConn {
    stream: TcpStream,
    /// Bytes read but not consumed by a step yet.
    pending: Vec<u8>,
    transcript: Transcript,
}

impl ServerConn {
    fn play(&mut self, script: Vec<Act>) {
        for act in script {
            match act {
                Act::Send(bytes) => {
                    if self.stream.write_all(&bytes).is_err() {
                        return;
                    }
                }
                Act::Expect(prefix) => {
                    let Some(line) = self.read_line() else {
                        panic!("EOF, expected {prefix}")
                    };
                    assert!(
                        line.len() >= prefix.len()
                            && line[..prefix.len()].eq_ignore_ascii_case(prefix),
                        "expected {prefix:?}, got {line:?}"
                    );
                    self.transcript.commands.push(line);
                }
                Act::ExpectDataBody => {
                    assert!(self.read_until(b"\r\n.\r\n"), "EOF inside the body");
                }
                Act::ReadBytes(n) => {
                    assert!(self.read_exact(n), "EOF before {n} bytes");
                }
                Act::Hangup => {
                    let _ = self.stream.shutdown(Shutdown::Write);
                    self.drain();
                    return;
                }
                Act::Reset => {
                    socket2::SockRef::from(&self.stream)
                        .set_linger(Some(Duration::ZERO))
                        .unwrap();
                    return;
                }
                Act::Close => {
                    let _ = self.stream.shutdown(Shutdown::Write);
                    return;
                }
                Act::Stall(duration) => {
                    thread::sleep(duration);
                    self.drain();
                    return;
                }
                Act::Pause(duration) => thread::sleep(duration),
                Act::Trickle {
                    bytes,
                    every,
                    for_at_most,
                } => {
                    let until = Instant::now() + for_at_most;
                    for byte in bytes.iter().cycle() {
                        if Instant::now() > until || self.stream.write_all(&[*byte]).is_err() {
                            break;
                        }
                        thread::sleep(every);
                    }
                }
            }
        }
        self.drain();
    }

    /// Reads until the client closes (or the IO timeout), keeping what came.
    fn drain(&mut self) {
        self.transcript.after_script.append(&mut self.pending);
        let mut buf = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    self.transcript.received.extend_from_slice(&buf[..n]);
                    self.transcript.after_script.extend_from_slice(&buf[..n]);
                }
            }
        }
    }

    /// Reads more; false on EOF or error.
    fn fill(&mut self) -> bool {
        let mut buf = [0u8; 64 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.transcript.received.extend_from_slice(&buf[..n]);
                self.pending.extend_from_slice(&buf[..n]);
                true
            }
        }
    }

    fn read_line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = find(&self.pending, b"\r\n") {
                let line: Vec<u8> = self.pending.drain(..end + 2).collect();
                return Some(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn read_until(&mut self, marker: &[u8]) -> bool {
        // The body may start with the marker's tail: search from the CRLF before it.
        let mut searched = 0;
        loop {
            if let Some(at) = find(&self.pending[searched..], marker) {
                self.pending.drain(..searched + at + marker.len());
                return true;
            }
            searched = self.pending.len().saturating_sub(marker.len());
            if !self.fill() {
                return false;
            }
        }
    }

    fn read_exact(&mut self, n: usize) -> bool {
        while self.pending.len() < n {
            if !self.fill() {
                return false;
            }
        }
        self.pending.drain(..n);
        true
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Options for a scripted server on `port`, with short reply deadlines.
pub fn options(port: u16, timeout: Duration) -> ConnectOptions {
    let mut session = SessionConfig::new(EhloName::parse("client.example").unwrap());
    session.timeouts = Timeouts::all(timeout);
    let mut options = ConnectOptions::with_session("127.0.0.1", port, session);
    options.connect_timeout = Duration::from_secs(5);
    options
}

pub fn envelope(recipients: &[&str]) -> Envelope {
    Envelope::new(
        ReversePath::Address(Address::parse("sender@example.com").unwrap()),
        recipients
            .iter()
            .map(|r| Address::parse(r).unwrap())
            .collect(),
    )
}

/// A body of `len` octets of short text lines, generated as it is read.
pub struct GeneratedBody {
    left: u64,
    position: u64,
}

impl GeneratedBody {
    pub const LINE: &'static [u8] = b"The quick brown fox jumps over the lazy dog 0123456789.\r\n";

    pub fn new(len: u64) -> GeneratedBody {
        GeneratedBody {
            left: len,
            position: 0,
        }
    }
}

impl Read for GeneratedBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for byte in &mut buf[..n] {
            *byte = Self::LINE[(self.position % Self::LINE.len() as u64) as usize];
            self.position += 1;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// A socket that records every write call, to count them.
pub struct RecordingSocket {
    pub inner: TcpStream,
    pub writes: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Read for RecordingSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for RecordingSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.writes.lock().unwrap().push(buf[..n].to_vec());
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = self.inner.write_vectored(bufs)?;
        let mut taken = Vec::with_capacity(n);
        for buf in bufs {
            let want = (n - taken.len()).min(buf.len());
            taken.extend_from_slice(&buf[..want]);
        }
        self.writes.lock().unwrap().push(taken);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Socket for RecordingSocket {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(timeout)
    }
}

/// The greeting and EHLO exchange, advertising `extensions`.
pub fn opening(extensions: &[&str]) -> Vec<Act> {
    let mut ehlo = String::from("250-test.example greets you\r\n");
    for (i, extension) in extensions.iter().enumerate() {
        let sep = if i + 1 == extensions.len() { ' ' } else { '-' };
        ehlo.push_str(&format!("250{sep}{extension}\r\n"));
    }
    if extensions.is_empty() {
        ehlo = String::from("250 test.example greets you\r\n");
    }
    vec![
        send("220 test.example ESMTP ready\r\n"),
        Act::Expect("EHLO "),
        Act::Send(ehlo.into_bytes()),
    ]
}
