//! What the bytes should look like: the client's normalisation written out independently of
//! the library, and a large generated body that is read in pieces, never held whole.

use std::io::{self, Read, Seek, SeekFrom};

/// `body` as the client must send it before dot-stuffing: every CRLF, bare CR and bare LF as
/// CRLF, and a final CRLF when the body does not end with a line break (an empty body stays
/// empty).
pub fn crlf(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 16 + 2);
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\r' if body.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
            }
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// CRLF as LF: how Postfix stores what came as CRLF.
pub fn lf(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len());
    let mut i = 0;
    while i < wire.len() {
        if wire[i] == b'\r' && wire.get(i + 1) == Some(&b'\n') {
            out.push(b'\n');
            i += 2;
        } else {
            out.push(wire[i]);
            i += 1;
        }
    }
    out
}

/// The DATA form of CRLF text: every line starting with `.` gets another, then `.\r\n`.
pub fn dot_stuffed(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 16);
    for line in text.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Whether `bytes` has a CR not followed by LF, or an LF not preceded by CR.
pub fn has_bare_line_ending(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| match b {
        b'\r' => bytes.get(i + 1) != Some(&b'\n'),
        b'\n' => i == 0 || bytes[i - 1] != b'\r',
        _ => false,
    })
}

/// The length of each generated line, CRLF included.
const LINE: u64 = 80;

/// A message of `header` then `lines` generated text lines of 80 octets (every seventh
/// starts with a dot), produced as it is read: `Read + Seek` over content that is never in
/// memory whole.
#[derive(Clone, Debug)]
pub struct GeneratedBody {
    header: Vec<u8>,
    lines: u64,
    position: u64,
}

impl GeneratedBody {
    /// At least `size` octets: `header`, then as many lines as needed.
    pub fn new(header: Vec<u8>, size: u64) -> GeneratedBody {
        let lines = size.saturating_sub(header.len() as u64).div_ceil(LINE);
        GeneratedBody {
            header,
            lines,
            position: 0,
        }
    }

    /// The total length in octets.
    pub fn len(&self) -> u64 {
        self.header.len() as u64 + self.lines * LINE
    }

    /// Line `index`, CRLF included.
    fn line(index: u64) -> [u8; LINE as usize] {
        let mut line = [b'x'; LINE as usize];
        let number = format!("{index:010} ");
        line[..number.len()].copy_from_slice(number.as_bytes());
        for (offset, byte) in line[number.len()..LINE as usize - 2].iter_mut().enumerate() {
            *byte = b'A' + ((index as usize + offset) % 26) as u8;
        }
        if index % 7 == 0 {
            line[0] = b'.';
        }
        line[LINE as usize - 2] = b'\r';
        line[LINE as usize - 1] = b'\n';
        line
    }
}

impl Read for GeneratedBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let header_len = self.header.len() as u64;
        let mut written = 0;
        while written < buf.len() && self.position < self.len() {
            let n = if self.position < header_len {
                let from = &self.header[self.position as usize..];
                let n = from.len().min(buf.len() - written);
                buf[written..written + n].copy_from_slice(&from[..n]);
                n
            } else {
                let offset = self.position - header_len;
                let line = Self::line(offset / LINE);
                let from = &line[(offset % LINE) as usize..];
                let n = from.len().min(buf.len() - written);
                buf[written..written + n].copy_from_slice(&from[..n]);
                n
            };
            written += n;
            self.position += n as u64;
        }
        Ok(written)
    }
}

impl Seek for GeneratedBody {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.position.checked_add_signed(d),
        };
        match target {
            Some(n) => {
                self.position = n;
                Ok(n)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_matches_the_rules() {
        assert_eq!(crlf(b""), b"");
        assert_eq!(crlf(b"a"), b"a\r\n");
        assert_eq!(crlf(b"a\nb\rc\r\nd\r\r\n"), b"a\r\nb\r\nc\r\nd\r\n\r\n");
        assert_eq!(lf(b"a\r\nb\r\n"), b"a\nb\n");
        assert_eq!(dot_stuffed(b".a\r\nb\r\n.\r\n"), b"..a\r\nb\r\n..\r\n.\r\n");
        assert!(has_bare_line_ending(b"a\nb"));
        assert!(has_bare_line_ending(b"a\rb"));
        assert!(!has_bare_line_ending(b"a\r\nb\r\n"));
    }

    #[test]
    fn the_generated_body_reads_the_same_in_any_pieces_and_after_a_seek() {
        let mut whole = Vec::new();
        let mut body = GeneratedBody::new(b"H: v\r\n\r\n".to_vec(), 1000);
        body.read_to_end(&mut whole).unwrap();
        assert_eq!(whole.len() as u64, body.len());
        assert!(whole.len() >= 1000);
        let mut small = Vec::new();
        body.seek(SeekFrom::Start(0)).unwrap();
        let mut buf = [0u8; 7];
        for _ in 0..10_000 {
            let n = body.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            small.extend_from_slice(&buf[..n]);
        }
        assert_eq!(small, whole);
        assert!(!has_bare_line_ending(&whole));
        assert!(whole[8..].starts_with(b".000000000"));
    }
}
