//! Helpers shared by the `reply_*` integration tests: the seed corpus, a driver that feeds a
//! parser chunk by chunk, and a plain reference parser to compare with.
#![allow(dead_code)] // Each test file uses a different subset.

use smtpwire::reply::{Reply, ReplyCode, ReplyError, ReplyLimits, ReplyParser, Status};
use std::path::PathBuf;

/// What the parser reported, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Reply(Reply),
    Error(ReplyError),
}

/// Everything a parser said about a byte stream, and what it still held at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub events: Vec<Event>,
    pub buffered_at_end: usize,
}

/// The real server replies of `fuzz/seeds/reply/`, one per file, sorted by file name.
pub fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/reply");
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("the seed corpus directory exists")
        .map(|entry| {
            let path = entry.expect("a readable directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("a readable seed file"))
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 30, "the corpus lost files: {}", seeds.len());
    seeds
}

/// The seed called `name`.
pub fn seed(name: &str) -> Vec<u8> {
    corpus()
        .into_iter()
        .find(|(file, _)| file == name)
        .unwrap_or_else(|| panic!("no seed {name}"))
        .1
}

/// Feeds `chunks` in order, collecting every reply and the first error, checking on the way
/// that the parser never holds more than its limits allow.
pub fn feed<'a>(parser: &mut ReplyParser, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let limits = parser.limits();
    let mut events = Vec::new();
    'chunks: for chunk in chunks {
        let mut rest = chunk;
        // Each round takes at least one byte, or ends the chunk.
        for _ in 0..=chunk.len() {
            match parser.parse(rest) {
                Ok(Status::Complete { reply, consumed }) => {
                    assert!(
                        consumed >= 1 && consumed <= rest.len(),
                        "consumed {consumed}"
                    );
                    events.push(Event::Reply(reply.to_reply()));
                    rest = &rest[consumed..];
                }
                Ok(Status::Partial) => break,
                Err(error) => {
                    events.push(Event::Error(error));
                    break 'chunks;
                }
            }
            assert!(parser.buffered_len() <= limits.max_reply_len);
        }
        assert!(parser.buffered_len() <= limits.max_reply_len);
    }
    Outcome {
        events,
        buffered_at_end: parser.buffered_len(),
    }
}

/// Feeds `input` in one call per reply.
pub fn feed_whole(limits: ReplyLimits, input: &[u8]) -> Outcome {
    feed(&mut ReplyParser::with_limits(limits), [input])
}

/// Feeds `input` cut at the given ascending positions.
pub fn feed_split(limits: ReplyLimits, input: &[u8], cuts: &[usize]) -> Outcome {
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.clamp(start, input.len());
        chunks.push(&input[start..cut]);
        start = cut;
    }
    chunks.push(&input[start..]);
    feed(&mut ReplyParser::with_limits(limits), chunks)
}

/// Feeds `input` one byte per call.
pub fn feed_bytewise(limits: ReplyLimits, input: &[u8]) -> Outcome {
    feed(&mut ReplyParser::with_limits(limits), input.chunks(1))
}

/// The replies of `input` (which must hold only complete, valid replies) fed whole.
pub fn replies(input: &[u8]) -> Vec<Reply> {
    feed_whole(ReplyLimits::default(), input)
        .events
        .into_iter()
        .map(|event| match event {
            Event::Reply(reply) => reply,
            Event::Error(error) => panic!("unexpected {error:?} in {input:?}"),
        })
        .collect()
}

/// The only reply of `input`.
pub fn reply(input: &[u8]) -> Reply {
    let mut all = replies(input);
    assert_eq!(all.len(), 1, "one reply in {input:?}");
    all.remove(0)
}

/// The first error feeding `input` whole.
pub fn error(limits: ReplyLimits, input: &[u8]) -> Option<ReplyError> {
    feed_whole(limits, input)
        .events
        .into_iter()
        .find_map(|event| match event {
            Event::Error(error) => Some(error),
            Event::Reply(_) => None,
        })
}

/// A deliberately plain reference parser for inputs within the default limits: split at
/// every LF, strip one CR, read code and separator by hand. Lines after the last LF are left
/// out, like a reply in progress.
pub fn reference(input: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut code: Option<ReplyCode> = None;
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut pieces: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    pieces.pop(); // The bytes after the last LF (maybe none) do not form a line.
    for raw in pieces {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let digits_ok = line.len() >= 3 && line[..3].iter().all(u8::is_ascii_digit);
        let value = if digits_ok {
            line[..3]
                .iter()
                .fold(0u16, |v, d| v * 10 + u16::from(d - b'0'))
        } else {
            0
        };
        let Some(this) = ReplyCode::new(value) else {
            events.push(Event::Error(ReplyError::InvalidCode));
            return events;
        };
        let last = match line.get(3) {
            None | Some(b' ') => true,
            Some(b'-') => false,
            Some(_) => {
                events.push(Event::Error(ReplyError::InvalidSeparator));
                return events;
            }
        };
        if let Some(first) = code {
            if first != this {
                events.push(Event::Error(ReplyError::MismatchedCode {
                    first,
                    found: this,
                }));
                return events;
            }
        }
        code = Some(this);
        lines.push(line.get(4..).unwrap_or_default().to_vec());
        if last {
            let texts: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
            events.push(Event::Reply(Reply::new(this, &texts)));
            code = None;
            lines.clear();
        }
    }
    events
}
