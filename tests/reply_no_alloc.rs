//! Parsing a single-line reply never allocates once the parser exists: counted with a
//! global allocator that tallies allocations per thread.
//!
//! This file alone uses `unsafe` (to implement `GlobalAlloc`); the library forbids it.

use smtpwire::reply::{ReplyParser, Status};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct CountingAllocator;

thread_local! {
    // `const` initialisation: reading it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with` fails only while the thread is being torn down; nothing is measured then.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// thread-local `Cell`, which neither allocates nor re-enters the allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// How many allocations this thread made while running `f`.
fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// Parses `chunks` (which together hold one reply, in its last chunk's end) and checks the
/// outcome without allocating: only borrowed data is looked at.
fn parse_in_chunks(parser: &mut ReplyParser, chunks: &[&[u8]]) {
    let (last, init) = chunks.split_last().expect("at least one chunk");
    for chunk in init {
        assert!(matches!(parser.parse(chunk), Ok(Status::Partial)));
    }
    let Ok(Status::Complete { reply, consumed }) = parser.parse(last) else {
        panic!("a complete reply");
    };
    assert_eq!(consumed, last.len());
    assert_eq!(reply.code().get(), 250);
    assert_eq!(reply.enhanced_code().map(|code| code.class()), Some(2));
    assert_eq!(reply.lines().len(), 1);
    assert_eq!(reply.message(), b"Ok: queued as 4ZkQ3x1s2Fz9sWR");
}

const QUEUED: &[u8] = b"250 2.0.0 Ok: queued as 4ZkQ3x1s2Fz9sWR\r\n";

#[test]
fn the_counter_sees_allocations() {
    // Proves the harness can fail: an allocation inside the measured block is counted.
    let counted = allocations_in(|| drop(std::hint::black_box(Vec::<u8>::with_capacity(16))));
    assert_eq!(counted, 1);
    let counted = allocations_in(|| drop(std::hint::black_box(ReplyParser::new())));
    assert!(counted >= 1, "building a parser reserves its buffers");
}

#[test]
fn single_line_reply_fed_whole_does_not_allocate() {
    let mut parser = ReplyParser::new();
    let counted = allocations_in(|| {
        for _ in 0..100 {
            parse_in_chunks(&mut parser, &[QUEUED]);
        }
    });
    assert_eq!(counted, 0);
}

#[test]
fn single_line_reply_fed_in_splits_does_not_allocate() {
    let mut parser = ReplyParser::new();
    let counted = allocations_in(|| {
        for cut in 0..QUEUED.len() {
            let (head, tail) = QUEUED.split_at(cut);
            parse_in_chunks(&mut parser, &[head, tail]);
        }
        let mut bytes = [&b""[..]; QUEUED.len()];
        for (slot, byte) in bytes.iter_mut().zip(QUEUED.chunks(1)) {
            *slot = byte;
        }
        parse_in_chunks(&mut parser, &bytes);
    });
    assert_eq!(counted, 0);
}

#[test]
fn longest_single_line_reply_does_not_allocate() {
    let mut line = b"250 2.0.0 ".to_vec();
    line.resize(4096, b'x');
    line.extend_from_slice(b"\r\n");
    let mut parser = ReplyParser::new();
    let counted = allocations_in(|| {
        let (head, tail) = line.split_at(4097); // the CR arrives alone, then the LF
        assert!(matches!(parser.parse(head), Ok(Status::Partial)));
        assert!(matches!(
            parser.parse(tail),
            Ok(Status::Complete { consumed: 1, .. })
        ));
        assert!(matches!(parser.parse(&line), Ok(Status::Complete { .. })));
    });
    assert_eq!(counted, 0);
}

#[test]
fn ehlo_reply_does_not_allocate_after_the_first() {
    let ehlo = b"250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n\
        250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n\
        250-SMTPUTF8\r\n250 CHUNKING\r\n";
    let mut parser = ReplyParser::new();
    let _ = parser.parse(ehlo);
    let counted = allocations_in(|| {
        for chunk in ehlo.chunks(5) {
            let _ = std::hint::black_box(parser.parse(chunk));
        }
    });
    assert_eq!(counted, 0);
}
