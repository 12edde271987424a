//! Server configuration: every knob, with its default, set through [`ServerBuilder`].

use std::time::Duration;

use super::fault::{Fault, Stage};
use super::server::{Server, StartError};
use super::tls::TlsIdentity;

/// Which SMTP extensions EHLO advertises (STARTTLS and AUTH are decided separately, from
/// the TLS identity and the credentials).
///
/// The server enforces what it advertises: a MAIL/RCPT parameter of an extension not
/// advertised is refused with `555 5.5.4`, and `BDAT` without CHUNKING with `502`.
///
/// Start from [`Extensions::none`], [`Extensions::all`] or the default and set fields:
/// `let mut set = Extensions::default(); set.chunking = true;`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Extensions {
    /// `PIPELINING` (RFC 2920). Pipelined input is read either way; this only advertises it.
    pub pipelining: bool,
    /// `CHUNKING` (RFC 3030): `BDAT` accepted.
    pub chunking: bool,
    /// `SIZE <max_message_size>` (RFC 1870): a declared `SIZE=` over the limit gets `552`.
    pub size: bool,
    /// `8BITMIME` (RFC 6152): `BODY=7BIT|8BITMIME` accepted.
    pub eight_bit_mime: bool,
    /// `SMTPUTF8` (RFC 6531): the `SMTPUTF8` parameter accepted; non-ASCII paths need it.
    pub smtputf8: bool,
    /// `ENHANCEDSTATUSCODES` (RFC 2034): replies carry `x.y.z` codes only when this is on.
    pub enhanced_status_codes: bool,
    /// `DSN` (RFC 3461): `RET`, `ENVID`, `NOTIFY`, `ORCPT` accepted.
    pub dsn: bool,
}

impl Extensions {
    /// No extension at all.
    #[must_use]
    pub fn none() -> Self {
        Extensions {
            pipelining: false,
            chunking: false,
            size: false,
            eight_bit_mime: false,
            smtputf8: false,
            enhanced_status_codes: false,
            dsn: false,
        }
    }

    /// Every extension this server knows.
    #[must_use]
    pub fn all() -> Self {
        Extensions {
            pipelining: true,
            chunking: true,
            size: true,
            eight_bit_mime: true,
            smtputf8: true,
            enhanced_status_codes: true,
            dsn: true,
        }
    }
}

impl Default for Extensions {
    /// Only `ENHANCEDSTATUSCODES`.
    fn default() -> Self {
        Extensions {
            enhanced_status_codes: true,
            ..Extensions::none()
        }
    }
}

/// SASL mechanisms the server offers when credentials are configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMechanism {
    /// `PLAIN` (RFC 4616), with or without initial response.
    Plain,
    /// `LOGIN` (the de-facto `Username:`/`Password:` exchange), with or without initial
    /// response.
    Login,
}

impl AuthMechanism {
    pub(crate) fn name(self) -> &'static str {
        match self {
            AuthMechanism::Plain => "PLAIN",
            AuthMechanism::Login => "LOGIN",
        }
    }
}

/// How TLS is offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TlsMode {
    StartTls,
    Implicit,
}

/// A reply for one recipient path (compared case-insensitively, without angle brackets).
#[derive(Clone, Debug)]
pub(crate) struct RecipientReply {
    pub(crate) path: String,
    pub(crate) code: u16,
    pub(crate) text: String,
}

/// The frozen configuration a running server uses.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) hostname: String,
    pub(crate) extensions: Extensions,
    pub(crate) extensions_after_tls: Option<Extensions>,
    pub(crate) tls: Option<(TlsIdentity, TlsMode)>,
    pub(crate) credentials: Vec<(String, String)>,
    pub(crate) auth_mechanisms: Vec<AuthMechanism>,
    pub(crate) auth_only_after_tls: bool,
    pub(crate) require_auth: bool,
    pub(crate) faults: Vec<Fault>,
    pub(crate) recipient_replies: Vec<RecipientReply>,
    pub(crate) max_message_size: u64,
    pub(crate) keep_bodies: bool,
    pub(crate) max_line_length: usize,
    pub(crate) max_connections: usize,
    pub(crate) max_recipients: usize,
    pub(crate) write_bound: Duration,
    pub(crate) join_bound: Duration,
    /// The distinct `MidBody { after }` thresholds of `faults`, ascending.
    pub(crate) mid_body_thresholds: Vec<u64>,
}

impl Config {
    pub(crate) fn identity(&self, mode: TlsMode) -> Option<&TlsIdentity> {
        match &self.tls {
            Some((identity, configured)) if *configured == mode => Some(identity),
            _ => None,
        }
    }

    pub(crate) fn recipient_reply(&self, path: &str) -> Option<&RecipientReply> {
        self.recipient_replies
            .iter()
            .find(|rule| rule.path.eq_ignore_ascii_case(path))
    }

    pub(crate) fn accepts(&self, user: &str, password: &str) -> bool {
        self.credentials
            .iter()
            .any(|(u, p)| u == user && p == password)
    }
}

/// Builds a [`Server`]; every method documents its default. Start with
/// [`Server::builder`].
#[derive(Clone, Debug)]
#[must_use = "a ServerBuilder does nothing until `start()`"]
pub struct ServerBuilder {
    config: Config,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            config: Config {
                hostname: "localhost".into(),
                extensions: Extensions::default(),
                extensions_after_tls: None,
                tls: None,
                credentials: Vec::new(),
                auth_mechanisms: vec![AuthMechanism::Plain, AuthMechanism::Login],
                auth_only_after_tls: false,
                require_auth: false,
                faults: Vec::new(),
                recipient_replies: Vec::new(),
                max_message_size: 64 * 1024 * 1024,
                keep_bodies: true,
                max_line_length: 4096,
                max_connections: 64,
                max_recipients: 1000,
                write_bound: Duration::from_secs(10),
                join_bound: Duration::from_secs(5),
                mid_body_thresholds: Vec::new(),
            },
        }
    }
}

impl ServerBuilder {
    /// The name in the greeting and the first EHLO line. Default `localhost`.
    pub fn hostname(mut self, name: impl Into<String>) -> Self {
        self.config.hostname = name.into();
        self
    }

    /// The whole set of extensions advertised (before TLS, and after it unless
    /// [`ServerBuilder::extensions_after_tls`] is set). Default [`Extensions::default`].
    pub fn extensions(mut self, extensions: Extensions) -> Self {
        self.config.extensions = extensions;
        self
    }

    /// A different set of extensions once TLS is up (STARTTLS or implicit TLS). Default:
    /// the same as before TLS.
    pub fn extensions_after_tls(mut self, extensions: Extensions) -> Self {
        self.config.extensions_after_tls = Some(extensions);
        self
    }

    /// Advertise `PIPELINING`. Default off. Like the other single-extension switches, this
    /// edits the before-TLS set (which also applies after TLS unless
    /// [`ServerBuilder::extensions_after_tls`] is given).
    pub fn pipelining(mut self, on: bool) -> Self {
        self.config.extensions.pipelining = on;
        self
    }

    /// Advertise `CHUNKING` and accept `BDAT`. Default off.
    pub fn chunking(mut self, on: bool) -> Self {
        self.config.extensions.chunking = on;
        self
    }

    /// Advertise `SIZE <max_message_size>`. Default off (the cap applies either way).
    pub fn size(mut self, on: bool) -> Self {
        self.config.extensions.size = on;
        self
    }

    /// Advertise `8BITMIME`. Default off.
    pub fn eight_bit_mime(mut self, on: bool) -> Self {
        self.config.extensions.eight_bit_mime = on;
        self
    }

    /// Advertise `SMTPUTF8`. Default off.
    pub fn smtputf8(mut self, on: bool) -> Self {
        self.config.extensions.smtputf8 = on;
        self
    }

    /// Advertise `ENHANCEDSTATUSCODES` and put `x.y.z` codes in replies. Default on.
    pub fn enhanced_status_codes(mut self, on: bool) -> Self {
        self.config.extensions.enhanced_status_codes = on;
        self
    }

    /// Advertise `DSN`. Default off.
    pub fn dsn(mut self, on: bool) -> Self {
        self.config.extensions.dsn = on;
        self
    }

    /// Offer `STARTTLS` with this identity (replaces any earlier TLS setting). Default: no
    /// TLS.
    pub fn starttls(mut self, identity: TlsIdentity) -> Self {
        self.config.tls = Some((identity, TlsMode::StartTls));
        self
    }

    /// Speak TLS from the first byte (RFC 8314 implicit TLS) with this identity; STARTTLS is
    /// then not offered (replaces any earlier TLS setting). Default: no TLS.
    pub fn implicit_tls(mut self, identity: TlsIdentity) -> Self {
        self.config.tls = Some((identity, TlsMode::Implicit));
        self
    }

    /// Accept these credentials with AUTH (may be called again for more users). AUTH is
    /// advertised only when at least one user is configured. Default: no users, no AUTH.
    pub fn auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.config.credentials.push((user.into(), password.into()));
        self
    }

    /// The mechanisms advertised and accepted, in this order. Default `PLAIN LOGIN`.
    pub fn auth_mechanisms(mut self, mechanisms: impl IntoIterator<Item = AuthMechanism>) -> Self {
        self.config.auth_mechanisms = mechanisms.into_iter().collect();
        self
    }

    /// Advertise and accept AUTH only once TLS is up (Postfix `smtpd_tls_auth_only`);
    /// AUTH before TLS gets `538 5.7.11`. Default off.
    pub fn auth_only_after_tls(mut self, on: bool) -> Self {
        self.config.auth_only_after_tls = on;
        self
    }

    /// Refuse `MAIL` with `530 5.7.0` until the client authenticated. Default off.
    pub fn require_auth(mut self, on: bool) -> Self {
        self.config.require_auth = on;
        self
    }

    /// Adds a fault rule. Rules are tried in the order added; the first that matches a
    /// reply wins.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.config.faults.push(fault);
        self
    }

    /// Adds several fault rules, e.g. `.faults(Fault::boulder_close_first(3))`.
    pub fn faults(mut self, faults: impl IntoIterator<Item = Fault>) -> Self {
        self.config.faults.extend(faults);
        self
    }

    /// Answers `RCPT TO:<path>` with this reply instead of `250` (path compared
    /// case-insensitively, without angle brackets; `text` as sent, `\n` for multi-line).
    /// A 2xx code accepts the recipient, anything else refuses it. Fault rules at
    /// [`Stage::Rcpt`] take precedence.
    pub fn recipient_reply(
        mut self,
        path: impl Into<String>,
        code: u16,
        text: impl Into<String>,
    ) -> Self {
        self.config.recipient_replies.push(RecipientReply {
            path: path.into(),
            code,
            text: text.into(),
        });
        self
    }

    /// The message size cap in octets (after un-stuffing): a longer body is read to its end
    /// and refused with `552 5.3.4`, and only this many octets are kept. Also the value
    /// advertised by `SIZE`. Default 64 MiB.
    pub fn max_message_size(mut self, octets: u64) -> Self {
        self.config.max_message_size = octets;
        self
    }

    /// Keep message bodies in the records. With `false`, records hold only the length and
    /// FNV-1a hash, so a test can send huge messages. Default on.
    pub fn keep_bodies(mut self, on: bool) -> Self {
        self.config.keep_bodies = on;
        self
    }

    /// Longest command line accepted, in octets without CRLF; a longer one is discarded and
    /// answered `500 5.5.2`. Default 4096.
    pub fn max_line_length(mut self, octets: usize) -> Self {
        self.config.max_line_length = octets;
        self
    }

    /// Simultaneous connections served; more are answered `421 4.7.0` and closed (they still
    /// get a connection number and a record). Default 64.
    pub fn max_connections(mut self, count: usize) -> Self {
        self.config.max_connections = count;
        self
    }

    /// Recipients accepted per transaction; more get `452 4.5.3`. Default 1000.
    pub fn max_recipients(mut self, count: usize) -> Self {
        self.config.max_recipients = count;
        self
    }

    /// How long a reply write may wait for a client that does not read before the
    /// connection is dropped. Default 10 s.
    pub fn write_bound(mut self, bound: Duration) -> Self {
        self.config.write_bound = bound;
        self
    }

    /// How long [`Server::shutdown`] (and drop) waits for the server's threads; threads still
    /// running after it are left detached. Default 5 s (they normally end within ~50 ms).
    pub fn join_bound(mut self, bound: Duration) -> Self {
        self.config.join_bound = bound;
        self
    }

    /// Binds `127.0.0.1:0` and starts serving.
    pub fn start(mut self) -> Result<Server, StartError> {
        let mut thresholds: Vec<u64> = self
            .config
            .faults
            .iter()
            .filter_map(|fault| match fault.stage() {
                Stage::MidBody { after } => Some(after),
                _ => None,
            })
            .collect();
        thresholds.sort_unstable();
        thresholds.dedup();
        self.config.mid_body_thresholds = thresholds;
        Server::start(self.config)
    }
}
