//! Fuzz target `reply`: arbitrary bytes fed to `ReplyParser` whole and in arbitrary splits.
//!
//! Checks: no panic; the same replies and error in the same order however the input is split
//! (the split points come from a generator seeded by the input's first bytes, so a plain
//! reply works as a seed); the parser never buffers more than its caps. Each input runs
//! with the default limits and with tight limits taken from its first bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpwire::reply::{Reply, ReplyError, ReplyLimits, ReplyParser, Status};

fuzz_target!(|data: &[u8]| {
    let tight = ReplyLimits {
        max_line_len: usize::from(data.first().copied().unwrap_or(0) % 40),
        max_lines: usize::from(data.get(1).copied().unwrap_or(0) % 6),
        max_reply_len: usize::from(data.get(2).copied().unwrap_or(0) % 160),
    };
    for limits in [ReplyLimits::default(), tight] {
        let whole = run(limits, data, &[data.len()]);
        let splits = split_points(data);
        assert_eq!(run(limits, data, &splits), whole, "split at {splits:?}");
        let bytewise: Vec<usize> = (1..=data.len()).collect();
        assert_eq!(run(limits, data, &bytewise), whole, "byte by byte");
    }
});

/// Every reply and the error (if any) the parser reported, and what it held at the end.
type Outcome = (Vec<Result<Reply, ReplyError>>, usize);

/// Feeds `data` cut at the ascending positions `ends` (the last one is `data.len()`).
fn run(limits: ReplyLimits, data: &[u8], ends: &[usize]) -> Outcome {
    let mut parser = ReplyParser::with_limits(limits);
    let mut events = Vec::new();
    let mut start = 0;
    'chunks: for &end in ends {
        let mut rest = &data[start..end];
        start = end;
        // Each round takes at least one byte or ends the chunk.
        for _ in 0..=rest.len() {
            let outcome = parser.parse(rest);
            match outcome {
                Ok(Status::Complete { reply, consumed }) => {
                    assert!((1..=rest.len()).contains(&consumed));
                    let reply = reply.to_reply();
                    assert!((200..=599).contains(&reply.code().get()));
                    assert!(reply.lines().all(|line| !line.contains(&b'\n')));
                    events.push(Ok(reply));
                    rest = &rest[consumed..];
                }
                Ok(Status::Partial) => break,
                Err(error) => {
                    assert_eq!(parser.parse(b"250 ok\r\n").err(), Some(error), "sticky");
                    events.push(Err(error));
                    break 'chunks;
                }
            }
            assert!(parser.buffered_len() <= limits.max_reply_len);
        }
        assert!(parser.buffered_len() <= limits.max_reply_len);
    }
    (events, parser.buffered_len())
}

/// Ascending cut points ending at `data.len()`, drawn from a xorshift generator seeded by the
/// first eight bytes and the length: mostly short chunks, now and then a long one.
fn split_points(data: &[u8]) -> Vec<usize> {
    let mut seed = [0u8; 8];
    for (slot, byte) in seed.iter_mut().zip(data) {
        *slot = *byte;
    }
    let mut state = u64::from_le_bytes(seed) ^ (data.len() as u64).rotate_left(32) | 1;
    let mut ends = Vec::new();
    let mut at = 0;
    while at < data.len() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let step = if state.is_multiple_of(8) {
            state >> 3
        } else {
            (state >> 3) % 16
        };
        at = at
            .saturating_add(1 + (step % data.len() as u64) as usize)
            .min(data.len());
        ends.push(at);
    }
    if ends.is_empty() {
        ends.push(0);
    }
    ends
}
