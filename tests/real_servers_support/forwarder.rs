//! A TCP forwarder on 127.0.0.1, port 0: it sends its first connections to some servers (the
//! faulty ones) and later ones to another, counts the connections, and can record every
//! chunk in both directions, in the order it passed them on.
//!
//! Order matters for the pipelining checks: a chunk is recorded *before* it is written to
//! the other side, so a client command recorded after a server reply was sent after the
//! client could have read that reply, and one recorded before it was not.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a pump waits for bytes before looking at the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// The longest a forwarded connection lives.
const LIFETIME: Duration = Duration::from_secs(180);
/// The most connections one forwarder accepts.
const MAX_CONNECTIONS: usize = 1000;
/// Timeouts for connecting upstream and for each write.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Which way a chunk went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// One read passed on.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// The connection's number, from 0.
    pub connection: usize,
    /// Which way.
    pub direction: Direction,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Where connections go and whether to record them.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Connection `i` goes to `first[i]` while there is one …
    pub first: Vec<SocketAddr>,
    /// … and to `then` after that.
    pub then: SocketAddr,
    /// Record every chunk.
    pub record: bool,
    /// Take `PIPELINING` out of the server's EHLO reply (rewritten as an unknown keyword),
    /// so that the client does not pipeline.
    pub hide_pipelining: bool,
}

impl Plan {
    /// Every connection to `upstream`, nothing recorded.
    pub fn to(upstream: SocketAddr) -> Plan {
        Plan {
            first: Vec::new(),
            then: upstream,
            record: false,
            hide_pipelining: false,
        }
    }

    /// The first `count` connections to `faulty`, the rest to `good`.
    pub fn faulty_then(faulty: SocketAddr, count: usize, good: SocketAddr) -> Plan {
        Plan {
            first: vec![faulty; count],
            then: good,
            record: false,
            hide_pipelining: false,
        }
    }

    /// The same plan, recording every chunk.
    pub fn recorded(mut self) -> Plan {
        self.record = true;
        self
    }

    /// The same plan, with PIPELINING taken out of EHLO replies.
    pub fn without_pipelining(mut self) -> Plan {
        self.hide_pipelining = true;
        self
    }
}

struct Shared {
    plan: Plan,
    stop: AtomicBool,
    accepted: AtomicUsize,
    chunks: Mutex<Vec<Chunk>>,
    pumps: Mutex<Vec<JoinHandle<()>>>,
}

/// A running forwarder; dropping it stops every thread it started.
pub struct Forwarder {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A pump that panicked cannot leave the data half-changed (pushes only): keep going.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Forwarder {
    /// Listens on 127.0.0.1, port 0.
    pub fn start(plan: Plan) -> Forwarder {
        assert!(
            plan.first
                .iter()
                .chain([&plan.then])
                .all(|a| a.ip().is_loopback()),
            "the forwarder only forwards to loopback addresses"
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            plan,
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            chunks: Mutex::new(Vec::new()),
            pumps: Mutex::new(Vec::new()),
        });
        let for_acceptor = Arc::clone(&shared);
        let acceptor = thread::spawn(move || accept_loop(listener, &for_acceptor));
        Forwarder {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Every chunk recorded so far, in the order passed on.
    pub fn chunks(&self) -> Vec<Chunk> {
        lock(&self.shared.chunks).clone()
    }

    /// Everything one connection carried one way, concatenated.
    pub fn bytes(&self, connection: usize, direction: Direction) -> Vec<u8> {
        lock(&self.shared.chunks)
            .iter()
            .filter(|c| c.connection == connection && c.direction == direction)
            .flat_map(|c| c.bytes.iter().copied())
            .collect()
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the acceptor from `accept`; it sees the flag and ends.
        let _ = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let pumps = std::mem::take(&mut *lock(&self.shared.pumps));
        for pump in pumps {
            let _ = pump.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: &Arc<Shared>) {
    for _ in 0..MAX_CONNECTIONS {
        let Ok((client, _)) = listener.accept() else {
            return;
        };
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let number = shared.accepted.fetch_add(1, Ordering::SeqCst);
        let upstream_addr = shared
            .plan
            .first
            .get(number)
            .copied()
            .unwrap_or(shared.plan.then);
        let Ok(upstream) = TcpStream::connect_timeout(&upstream_addr, IO_TIMEOUT) else {
            // The client sees its connection closed, as if the server had gone.
            continue;
        };
        let pair = (client.try_clone(), upstream.try_clone());
        let (Ok(client_copy), Ok(upstream_copy)) = pair else {
            continue;
        };
        let mut pumps = lock(&shared.pumps);
        for (from, to, direction) in [
            (client, upstream, Direction::ToServer),
            (upstream_copy, client_copy, Direction::ToClient),
        ] {
            let shared = Arc::clone(shared);
            pumps.push(thread::spawn(move || {
                pump(from, to, number, direction, &shared)
            }));
        }
    }
}

/// Copies `from` to `to` until end of stream, an error, the stop flag or [`LIFETIME`].
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    connection: usize,
    direction: Direction,
    shared: &Shared,
) {
    let started = Instant::now();
    let configured = from.set_read_timeout(Some(POLL)).is_ok()
        && to.set_write_timeout(Some(IO_TIMEOUT)).is_ok()
        && to.set_nodelay(true).is_ok();
    let mut buffer = vec![0u8; 64 * 1024];
    // Bounded by LIFETIME: every turn either moves bytes or waits at most POLL.
    while configured && started.elapsed() < LIFETIME && !shared.stop.load(Ordering::SeqCst) {
        match from.read(&mut buffer) {
            Ok(0) => {
                // Half-close: the other side sees end of stream, and may still answer.
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                let mut bytes = buffer[..n].to_vec();
                if shared.plan.hide_pipelining && direction == Direction::ToClient {
                    bytes = hide_pipelining(&bytes);
                }
                if shared.plan.record {
                    lock(&shared.chunks).push(Chunk {
                        connection,
                        direction,
                        bytes: bytes.clone(),
                    });
                }
                if to.write_all(&bytes).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// `250-PIPELINING` and `250 PIPELINING` lines renamed to `X-NO-PIPELINING`, an extension
/// no client knows. (An EHLO reply comes in one read from a loopback server.)
fn hide_pipelining(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let is_pipelining = line.len() >= 14
            && line.starts_with(b"250")
            && line[4..14].eq_ignore_ascii_case(b"PIPELINING")
            && line[14..].iter().all(|b| b.is_ascii_whitespace());
        if is_pipelining {
            out.extend_from_slice(&line[..4]);
            out.extend_from_slice(b"X-NO-PIPELINING\r\n");
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}
