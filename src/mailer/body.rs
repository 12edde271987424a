//! The three kinds of body a mailer sends, and how each is prepared for another attempt.

use crate::data;
use crate::session::{BodyInfo, Delivery, Envelope};
use crate::transport::{self, Connection};
use std::io::{self, Read, Seek, SeekFrom};

/// A message body that a send may need to transmit more than once.
pub(super) trait BodySource {
    /// Puts the body back at its start before an attempt.
    fn rewind(&mut self) -> io::Result<()>;
    /// Whether the body can still be sent in full (false once a one-shot reader was read).
    fn resendable(&self) -> bool;
    /// What the session must know about the body.
    fn info(&self) -> BodyInfo;
    /// The body, from where [`BodySource::rewind`] put it.
    fn reader(&mut self) -> &mut dyn Read;
}

/// Sends `body` over `connection` to `envelope`.
pub(super) fn send_body(
    connection: &mut Connection,
    envelope: &Envelope,
    body: &mut dyn BodySource,
) -> Result<Delivery, transport::Error> {
    let info = body.info();
    connection.send(envelope, body.reader(), info)
}

/// Bytes in memory, with their size known up front (so `SIZE=` and `BDAT n LAST` work).
pub(super) struct Bytes<'a> {
    bytes: &'a [u8],
    /// What is left to read in this attempt.
    rest: &'a [u8],
    info: BodyInfo,
}

impl<'a> Bytes<'a> {
    /// Measures `bytes`; a line over 998 octets is refused here, before anything is sent.
    pub(super) fn new(bytes: &'a [u8]) -> Result<Bytes<'a>, transport::Error> {
        let info = BodyInfo {
            wire_size: Some(data::bdat_wire_len(bytes)?),
            eight_bit: Some(!bytes.is_ascii()),
            smtputf8: false,
        };
        Ok(Bytes::with_info(bytes, info))
    }

    /// Bytes whose description the caller already knows (a composed message).
    pub(super) fn with_info(bytes: &'a [u8], info: BodyInfo) -> Bytes<'a> {
        Bytes {
            bytes,
            rest: bytes,
            info,
        }
    }
}

impl BodySource for Bytes<'_> {
    fn rewind(&mut self) -> io::Result<()> {
        self.rest = self.bytes;
        Ok(())
    }

    fn resendable(&self) -> bool {
        true
    }

    fn info(&self) -> BodyInfo {
        self.info
    }

    fn reader(&mut self) -> &mut dyn Read {
        &mut self.rest
    }
}

/// A reader that can seek: rewound to where it stood at the first attempt. Its size is not
/// known, so it goes with DATA.
pub(super) struct Seekable<R> {
    reader: R,
    start: Option<u64>,
}

impl<R: Read + Seek> Seekable<R> {
    pub(super) fn new(reader: R) -> Seekable<R> {
        Seekable {
            reader,
            start: None,
        }
    }
}

impl<R: Read + Seek> BodySource for Seekable<R> {
    fn rewind(&mut self) -> io::Result<()> {
        match self.start {
            None => {
                self.start = Some(self.reader.stream_position()?);
            }
            Some(start) => {
                self.reader.seek(SeekFrom::Start(start))?;
            }
        }
        Ok(())
    }

    fn resendable(&self) -> bool {
        true
    }

    fn info(&self) -> BodyInfo {
        BodyInfo::default()
    }

    fn reader(&mut self) -> &mut dyn Read {
        &mut self.reader
    }
}

/// A plain reader: sendable again only as long as nothing was read from it.
pub(super) struct ReadOnce<R> {
    reader: R,
    read: u64,
}

impl<R: Read> ReadOnce<R> {
    pub(super) fn new(reader: R) -> ReadOnce<R> {
        ReadOnce { reader, read: 0 }
    }
}

impl<R: Read> Read for ReadOnce<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        Ok(n)
    }
}

impl<R: Read> BodySource for ReadOnce<R> {
    fn rewind(&mut self) -> io::Result<()> {
        if self.resendable() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a plain reader cannot be read again",
            ))
        }
    }

    fn resendable(&self) -> bool {
        self.read == 0
    }

    fn info(&self) -> BodyInfo {
        BodyInfo::default()
    }

    fn reader(&mut self) -> &mut dyn Read {
        self
    }
}
