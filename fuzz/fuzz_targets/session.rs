//! A whole session fed arbitrary server bytes in arbitrary splits, with EOF, time jumps, TLS
//! completions and caller requests interleaved. Invariants: no panic; nothing is sent after a
//! terminal error; with TLS required, neither AUTH nor MAIL nor the credentials go out before
//! TLS; buffers stay bounded; a session waiting for input always has a deadline.
#![no_main]

use core::time::Duration;
use libfuzzer_sys::fuzz_target;
use smtpwire::address::{Address, ReversePath};
use smtpwire::auth::Credentials;
use smtpwire::ehlo_name::EhloName;
use smtpwire::session::{BodyInfo, Envelope, Event, Session, SessionConfig, Timeouts, TlsPolicy};
use smtpwire::time::Timestamp;

const SECRET: &str = "fuzz-secret-password";

fuzz_target!(|data: &[u8]| {
    let Some((&setup, mut ops)) = data.split_first() else {
        return;
    };
    let policy = match setup % 4 {
        0 => TlsPolicy::None,
        1 => TlsPolicy::Opportunistic,
        2 => TlsPolicy::Required,
        _ => TlsPolicy::Implicit,
    };
    let Ok(ehlo_name) = EhloName::parse("client.example") else {
        return;
    };
    let mut config = SessionConfig::new(ehlo_name);
    config.tls = policy;
    config.timeouts = Timeouts::all(Duration::from_secs(30));
    if setup & 0x10 != 0 {
        config.credentials = Credentials::password("fuzz-user", SECRET).ok();
    }
    let mut now = Timestamp::from_duration(Duration::from_secs(1));
    let mut session = Session::new(config, now);
    let mut tls_up = policy == TlsPolicy::Implicit;
    let mut wire = Vec::new();
    let mut out = Vec::new();

    while let Some((&op, rest)) = ops.split_first() {
        ops = rest;
        match op % 8 {
            // Feed the next n bytes.
            0..=2 => {
                let n =
                    usize::from(ops.first().copied().unwrap_or(0)).min(ops.len().saturating_sub(1));
                let chunk = ops.get(1..1 + n).unwrap_or_default();
                ops = ops.get(1 + n..).unwrap_or_default();
                session.handle_input(chunk, now);
            }
            3 => session.handle_eof(now),
            4 => {
                let jump = u64::from(ops.first().copied().unwrap_or(1));
                ops = ops.get(1..).unwrap_or_default();
                now = now.saturating_add(Duration::from_secs(jump));
                session.handle_timeout(now);
            }
            5 => {
                let handshake_asked = session.step() == smtpwire::session::Step::TlsHandshake;
                session.handle_tls_established(now);
                tls_up |= handshake_asked;
            }
            6 => {
                if session.is_ready() {
                    let (Ok(from), Ok(to)) = (
                        Address::parse("a@example.org"),
                        Address::parse("b@example.org"),
                    ) else {
                        return;
                    };
                    let envelope = Envelope::new(ReversePath::Address(from), vec![to]);
                    let body = BodyInfo {
                        wire_size: Some(6),
                        eight_bit: Some(false),
                        smtputf8: false,
                    };
                    let _ = session.send_message(envelope, body, now);
                } else {
                    let _ = session.noop(now);
                }
            }
            _ => {
                let _ = session.write_body(b".hi\r\n", now);
                let _ = session.finish_body(now);
                let _ = session.quit(now);
            }
        }
        let failed = session.error().is_some();
        out.clear();
        let sent = session.poll_transmit(&mut out);
        assert!(!(failed && sent), "bytes sent after a terminal error");
        if !tls_up && policy == TlsPolicy::Required {
            let text = String::from_utf8_lossy(&out);
            for line in text.split("\r\n") {
                assert!(
                    !line.starts_with("AUTH") && !line.starts_with("MAIL"),
                    "{line} before TLS"
                );
            }
        }
        if !tls_up {
            // base64 of "\0fuzz-user\0fuzz-secret-password" and of the password alone.
            for needle in [
                &b"ZnV6ei1zZWNyZXQtcGFzc3dvcmQ"[..],
                b"AGZ1enotdXNlcgBmdXp6LXNlY3JldC1wYXNzd29yZA",
            ] {
                assert!(
                    !out.windows(needle.len()).any(|w| w == needle),
                    "credentials before TLS"
                );
            }
        }
        wire.extend_from_slice(&out);
        assert!(wire.len() < 1 << 20, "unbounded output");
        if session.wants_input() {
            assert!(
                session.poll_timeout().is_some(),
                "waiting without a deadline"
            );
        }
        while let Some(event) = session.poll_event() {
            if let Event::Failed(error) = &event {
                assert_eq!(Some(error), session.error());
            }
        }
    }
});
