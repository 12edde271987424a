//! smtpwire: an SMTP client that never hangs, never loses mail silently and never lets a
//! server inject anything.
//!
//! The crate is layered:
//!
//! * a **sans-IO protocol core** ([`reply`], [`capabilities`], [`address`], [`command`],
//!   [`auth`], [`data`], [`session`]) that never touches a socket or a clock and builds
//!   without `std`;
//! * a **blocking transport** (`transport`, feature `std`) that moves bytes between a socket
//!   and the session, with TLS from rustls behind the default `tls` feature;
//! * a **mailer** (`mailer`, feature `std`) that connects late, reconnects on `421` and EOF with
//!   bounded backoff, and never silently duplicates or loses a message.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod address;
pub mod auth;
pub mod capabilities;
pub mod command;
pub mod data;
pub mod ehlo_name;
/// Composing RFC 5322 text messages (From, To, Subject, Date, Message-ID, a quoted-printable
/// body) that the mailer sends unchanged on every retry.
#[cfg(feature = "std")]
pub mod message;
pub mod reply;
pub mod session;
// An in-process SMTP server for tests (feature `testing`): scriptable extensions, TLS and
// AUTH, fault injection, and records of everything that reached it (docs in the module).
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
/// The blocking transport: sockets, deadlines as socket timeouts, STARTTLS and implicit TLS.
#[cfg(feature = "std")]
pub mod transport;
