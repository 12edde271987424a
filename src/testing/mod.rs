//! An in-process SMTP server for tests: scriptable, recording, fault-injecting.
//!
//! [`Server::builder`] configures it, [`ServerBuilder::start`] binds `127.0.0.1` on a
//! random port and serves each connection on its own thread; dropping the [`Server`] (or
//! [`Server::shutdown`]) ends every thread. A test talks to [`Server::addr`] and then
//! asserts on what reached the server:
//!
//! ```
//! use smtpwire::testing::Server;
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::time::Duration;
//!
//! let server = Server::builder().pipelining(true).start()?;
//! let mut client = TcpStream::connect(server.addr())?;
//! client.set_read_timeout(Some(Duration::from_secs(5)))?;
//! // The server reads whatever arrives, so a test may send everything in one write.
//! client.write_all(
//!     b"EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n\
//!       DATA\r\nSubject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n",
//! )?;
//! let mut replies = String::new();
//! client.read_to_string(&mut replies)?; // the server closes after QUIT
//! assert!(replies.ends_with("221 2.0.0 Bye\r\n"));
//!
//! let messages = server.messages();
//! assert_eq!(messages[0].recipients, ["b@example.net"]);
//! assert_eq!(messages[0].body_text().unwrap(), "Subject: hi\r\n\r\n.dot\r\n");
//! assert!(messages[0].accepted);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it speaks
//!
//! `EHLO`/`HELO`, `STARTTLS` (RFC 3207) or implicit TLS (RFC 8314) with a [`TlsIdentity`]
//! (generated for `localhost`/`127.0.0.1`, or yours), `AUTH PLAIN` and `AUTH LOGIN` with
//! and without initial response (`235`/`535`), `MAIL`/`RCPT`/`DATA` with dot un-stuffing,
//! `BDAT n [LAST]` (RFC 3030, exactly `n` octets, pipelined with other commands), `RSET`,
//! `NOOP`, `QUIT`. Which extensions EHLO advertises is set by [`Extensions`] (optionally a
//! different set after TLS), and the server enforces it: parameters of extensions not
//! advertised get `555`, declared or actual sizes over the cap `552`.
//!
//! Commands are read as they come (pipelining never needs a flush) and answered one by
//! one in order. Plaintext pipelined after `STARTTLS` is discarded, never read under TLS.
//! Lines end with CRLF; a bare LF also ends a command line (recorded as such), but in a
//! DATA body only CRLF ends lines, so `\n.\n` never ends a message.
//!
//! # What it records
//!
//! [`Server::connections`] returns a [`ConnectionRecord`] per accepted connection
//! (1-based number, every command line with whether TLS was up, AUTH user, faults fired,
//! read sizes, how it ended) and [`Server::messages`] a [`MessageRecord`] per transaction
//! that reached its body (envelope, body or just its length and FNV-1a hash, whether it
//! was complete and accepted). Both return snapshots. A message's record exists before the
//! server's reply to its final dot is written. [`Server::wait_for_messages`] and
//! [`Server::wait_for_closed_connections`] block with a deadline.
//!
//! # Faults
//!
//! A [`Fault`] fires at a [`Stage`] on chosen connections and does an [`Action`]: close,
//! reply and close, reset, stay silent, delay, replace the reply, or write raw bytes. For
//! example `Fault::at(Stage::Mail).on_first(5).then(Action::reply_and_close(421,
//! "4.4.2 timeout exceeded"))`, or boulder's close-first test in one line with
//! `.faults(Fault::boulder_close_first(4))`. [`ServerBuilder::recipient_reply`] answers a
//! given recipient with a given reply.
//!
//! # Limits
//!
//! Nothing a client sends makes the server panic or grow without bound: command lines are
//! capped (default 4096 octets, `500 5.5.2 line too long`), messages too (default 64 MiB,
//! `552`), and so are simultaneous connections (`421`), recipients, and the command and
//! read logs. Every socket call times out after 20 ms to look at the shutdown flag, so a
//! stalled client never keeps a thread alive after shutdown.

mod body;
mod builder;
mod command;
mod fault;
mod input;
mod listener;
mod record;
mod reply;
mod server;
mod session;
mod shared;
mod threads;
mod tls;
mod transport;
mod unstuff;

pub use builder::{AuthMechanism, Extensions, ServerBuilder};
pub use fault::{Action, Fault, FaultBuilder, Stage};
pub use record::{
    COMMAND_LOG_CAP, CommandRecord, ConnectionEnd, ConnectionRecord, Fnv1a64, LineKind,
    MessageRecord, READ_LOG_CAP, Transfer, fnv1a64,
};
pub use server::{Server, StartError, WaitTimeout};
pub use threads::ThreadWatch;
pub use tls::{TlsIdentity, TlsIdentityError};
