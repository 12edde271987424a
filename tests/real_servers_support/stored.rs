//! Reading what the servers stored: Postfix's Maildir files, aiosmtpd's envelope-and-data
//! files, smtp-sink's dumps, and Postfix's log.
//!
//! Every message a test sends carries a header line `X-Test-Id: <unique id>`; a test finds
//! its files by that line. Files appear in `new/` whole (written elsewhere, then renamed),
//! a little after the server's reply: [`wait_for`] polls, within a bound.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for a server to store or log something (Postfix delivers in
/// milliseconds; this is for a loaded machine).
pub const STORE_WAIT: Duration = Duration::from_secs(30);
/// How much of a file is read to look for the `X-Test-Id` line.
const HEAD: u64 = 64 * 1024;
/// Poll interval.
const POLL: Duration = Duration::from_millis(20);

/// One stored file.
#[derive(Clone, Debug)]
pub struct StoredFile {
    /// Where it is.
    pub path: PathBuf,
    /// All of it.
    pub bytes: Vec<u8>,
}

/// Whether `haystack` holds `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// Where `needle` first starts in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How many times `needle` occurs in `haystack`, overlaps counted.
pub fn count(haystack: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// Whether the `X-Test-Id: id` line is in `head` (ended by LF or CRLF).
fn has_test_id(head: &[u8], id: &str) -> bool {
    let line = format!("X-Test-Id: {id}");
    [b"\n".as_slice(), b"\r\n"].iter().any(|end| {
        let mut needle = line.clone().into_bytes();
        needle.extend_from_slice(end);
        contains(head, &needle)
    })
}

fn read_head(path: &Path) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(HEAD)
        .read_to_end(&mut head)
        .ok()?;
    Some(head)
}

/// Waits until `count` files in `dir` carry the test id `id`, and returns them sorted by
/// name. Panics (naming what it found) when they are not all there after [`STORE_WAIT`].
pub fn wait_for(dir: &Path, id: &str, count: usize) -> Vec<StoredFile> {
    let started = Instant::now();
    let mut looked_at: HashSet<PathBuf> = HashSet::new();
    let mut found: Vec<PathBuf> = Vec::new();
    // Bounded by STORE_WAIT.
    loop {
        if let Ok(entries) = fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if looked_at.contains(&path) {
                    continue;
                }
                if let Some(head) = read_head(&path) {
                    // Files are renamed into place whole, so a look is final.
                    looked_at.insert(path.clone());
                    if has_test_id(&head, id) {
                        found.push(path);
                    }
                }
            }
        }
        if found.len() >= count {
            break;
        }
        assert!(
            started.elapsed() < STORE_WAIT,
            "{} of {count} messages with X-Test-Id {id} stored in {} after {STORE_WAIT:?}",
            found.len(),
            dir.display()
        );
        thread::sleep(POLL);
    }
    found.sort();
    found
        .into_iter()
        .map(|path| StoredFile {
            bytes: fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())),
            path,
        })
        .collect()
}

/// The four header fields Postfix prepends to a message it delivers to a Maildir
/// (tests/servers/README.md, "Finding a delivered message"), as found.
#[derive(Clone, Debug)]
pub struct PostfixPrepended {
    /// `Return-Path:` value.
    pub return_path: String,
    /// `X-Original-To:` value.
    pub original_to: String,
    /// `Delivered-To:` value.
    pub delivered_to: String,
    /// The `Received:` field, continuation lines included, LF line endings kept.
    pub received: String,
}

/// Splits a Postfix Maildir file into the fields Postfix prepended and the message as it
/// stored it (dot-unstuffed, LF line endings). Panics when the file does not start with
/// exactly those four fields in that order.
pub fn split_postfix(file: &[u8]) -> (PostfixPrepended, Vec<u8>) {
    let mut rest = file;
    let mut field = |name: &str, folded: bool| -> String {
        let prefix = format!("{name}: ");
        assert!(
            rest.starts_with(prefix.as_bytes()),
            "expected a {name} field next, found {:?}",
            String::from_utf8_lossy(&rest[..rest.len().min(200)])
        );
        let mut end = 0;
        // Bounded by the file's length: every turn moves past one line.
        loop {
            let line_end = find(&rest[end..], b"\n").expect("a whole header line") + end + 1;
            end = line_end;
            let continues = folded && matches!(rest.get(end), Some(b' ' | b'\t'));
            if !continues {
                break;
            }
        }
        let value = String::from_utf8_lossy(&rest[prefix.len()..end - 1]).into_owned();
        rest = &rest[end..];
        value
    };
    let prepended = PostfixPrepended {
        return_path: field("Return-Path", false),
        original_to: field("X-Original-To", false),
        delivered_to: field("Delivered-To", false),
        received: field("Received", true),
    };
    (prepended, rest.to_vec())
}

/// An aiosmtpd file: the envelope lines and the data exactly as received.
#[derive(Clone, Debug)]
pub struct AiosmtpdMessage {
    /// `(Name, value)` for each `X-Smtpwire-Name: value` line, in order.
    pub envelope: Vec<(String, String)>,
    /// The message data: dot-unstuffed, line endings as sent.
    pub data: Vec<u8>,
}

impl AiosmtpdMessage {
    /// Parses a file (README "aiosmtpd"); panics when it is not in that form.
    pub fn parse(file: &[u8]) -> AiosmtpdMessage {
        let mut envelope = Vec::new();
        let mut at = 0;
        // Bounded: every turn consumes one line, and Data-Length ends the envelope.
        loop {
            let end = find(&file[at..], b"\r\n").expect("an envelope line") + at;
            let line = String::from_utf8_lossy(&file[at..end]).into_owned();
            at = end + 2;
            let (name, value) = line
                .strip_prefix("X-Smtpwire-")
                .and_then(|l| l.split_once(": ").or_else(|| l.split_once(':')))
                .unwrap_or_else(|| panic!("not an envelope line: {line:?}"));
            envelope.push((name.to_owned(), value.to_owned()));
            if name == "Data-Length" {
                let length: usize = value.parse().expect("Data-Length is a number");
                assert_eq!(
                    file.len() - at,
                    length,
                    "the data is exactly the last Data-Length bytes"
                );
                return AiosmtpdMessage {
                    envelope,
                    data: file[at..].to_vec(),
                };
            }
        }
    }

    /// The value of the first envelope line `name`.
    pub fn get(&self, name: &str) -> &str {
        self.envelope
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no X-Smtpwire-{name} line"))
    }

    /// The values of every envelope line `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.envelope
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The current length of the log at `path` (0 when it does not exist yet), to search only
/// what is written after it.
pub fn log_len(path: &Path) -> usize {
    fs::metadata(path).map(|m| m.len() as usize).unwrap_or(0)
}

/// Waits until a line of the log at `path`, written after its first `from` octets,
/// satisfies `wanted`, and returns it. Panics after [`STORE_WAIT`].
pub fn wait_for_log_line(
    path: &Path,
    from: usize,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let started = Instant::now();
    // Bounded by STORE_WAIT.
    loop {
        if let Ok(text) = fs::read(path) {
            let text = String::from_utf8_lossy(text.get(from..).unwrap_or_default());
            if let Some(line) = text.lines().find(|line| wanted(line)) {
                return line.to_owned();
            }
        }
        assert!(
            started.elapsed() < STORE_WAIT,
            "no line in {} shows {what} after {STORE_WAIT:?}",
            path.display()
        );
        thread::sleep(POLL);
    }
}

/// The Postfix queue id in a reply to the end of a message (`250 2.0.0 Ok: queued as ID`).
pub fn queue_id(reply_text: &str) -> String {
    reply_text
        .split("queued as ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no queue id in {reply_text:?}"))
        .to_owned()
}
