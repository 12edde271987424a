//! A 100 MiB body streamed from a generating reader (never held in memory) to a
//! `testing::Server` that keeps only each body's length and hash: the peak resident memory
//! of this whole process (client, server and test harness) must stay under 20 MB.
//!
//! One test in its own binary, so that nothing else moves the high-water mark.

mod transport_support;

use smtpwire::session::TlsPolicy;
use smtpwire::testing::{Fnv1a64, Server};
use smtpwire::transport::Connection;
use std::io::Read;
use std::time::Duration;
use transport_support::{GeneratedBody, envelope, options};

/// Peak resident set size of this process, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_100_mib_body_streams_with_peak_memory_under_20_mb() {
    let line = GeneratedBody::LINE.len() as u64;
    let len = ((100 << 20) / line + 1) * line; // whole lines: the wire body is the same
    let server = Server::builder()
        .keep_bodies(false)
        .max_message_size(len + 1)
        .pipelining(true)
        .start()
        .unwrap();
    let mut options = options(server.addr().port(), Duration::from_secs(60));
    options.session.tls = TlsPolicy::None;
    let mut connection = Connection::connect(&options).unwrap();
    // Warm up: every buffer of the path allocated once.
    connection
        .send(
            &envelope(&["rcpt@example.org"]),
            GeneratedBody::new(1 << 20),
            Default::default(),
        )
        .unwrap();

    let before = peak_rss_kib();
    connection
        .send(
            &envelope(&["rcpt@example.org"]),
            GeneratedBody::new(len),
            Default::default(),
        )
        .unwrap();
    let after = peak_rss_kib();
    connection.close().unwrap();
    eprintln!("VmHWM before {before} KiB, after {after} KiB, body {len} octets");

    let messages = server
        .wait_for_messages(2, Duration::from_secs(60))
        .unwrap();
    let big = &messages[1];
    assert_eq!(big.body, None, "the server keeps no body");
    assert_eq!(big.body_len, len);
    let mut expected = Fnv1a64::new();
    let mut generated = GeneratedBody::new(len);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = generated.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        expected.update(&chunk[..n]);
    }
    assert_eq!(big.body_hash, expected.finish());
    assert!(after < 20 * 1000, "peak RSS {after} KiB");
    assert!(after - before < 20 * 1000, "grew by {} KiB", after - before);
}
