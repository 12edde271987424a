//! Everything a mailer is configured with, set once through [`MailerBuilder`].

use super::Mailer;
use super::clock::{Clock, SystemClock};
use super::observer::Observer;
use super::retry::{Backoff, DEFAULT_MAX_ATTEMPTS, Jitter};
use crate::auth::{Credentials, Mechanism};
use crate::ehlo_name::EhloName;
use crate::message::Mailbox;
use crate::session::{Timeouts, TlsPolicy};
#[cfg(feature = "tls")]
use crate::transport::TlsConfig;
use crate::transport::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_QUIT_TIMEOUT};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What the mailer says in EHLO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EhloIdentity {
    /// This name (a domain or an address literal).
    Name(EhloName),
    /// The address literal of the connection's local address, e.g. `[192.0.2.7]`, decided
    /// anew for each connection.
    LocalAddress,
}

impl EhloIdentity {
    /// This machine's host name when it is a valid EHLO name; otherwise the local address
    /// literal (never `localhost`, which tells the server nothing and which some refuse).
    pub fn from_host_name() -> EhloIdentity {
        match crate::transport::local_ehlo_name() {
            Some(name) => EhloIdentity::Name(name),
            None => EhloIdentity::LocalAddress,
        }
    }
}

/// What to do when the connection is lost after the whole message was sent and before
/// the server's reply, so that the message may or may not have been delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownOutcome {
    /// Send it again (at least once): a duplicate is better than a loss (RFC 5321 §6.1).
    /// The report says [`possible_duplicate`](super::SendReport::possible_duplicate).
    #[default]
    Resend,
    /// Do not send it again (at most once): fail with
    /// [`SendError::OutcomeUnknown`](super::SendError::OutcomeUnknown).
    Fail,
}

/// The frozen configuration of a mailer.
#[derive(Clone)]
pub(super) struct Config {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) tls_policy: TlsPolicy,
    #[cfg(feature = "tls")]
    pub(super) tls: TlsConfig,
    #[cfg(feature = "tls")]
    pub(super) tls_server_name: Option<String>,
    pub(super) credentials: Option<Credentials>,
    pub(super) allow_plaintext_auth: bool,
    pub(super) auth_mechanisms: Option<Vec<Mechanism>>,
    pub(super) sender: Option<Mailbox>,
    pub(super) ehlo: EhloIdentity,
    pub(super) timeouts: Timeouts,
    pub(super) connect_timeout: Duration,
    pub(super) quit_timeout: Duration,
    pub(super) backoff: Backoff,
    pub(super) max_attempts: u32,
    pub(super) send_deadline: Option<Duration>,
    pub(super) observer: Option<Arc<dyn Observer>>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) unknown_outcome: UnknownOutcome,
}

/// Shows the settings, never the credentials' secret.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls_policy", &self.tls_policy)
            .field("credentials", &self.credentials)
            .field("sender", &self.sender)
            .field("ehlo", &self.ehlo)
            .field("timeouts", &self.timeouts)
            .field("connect_timeout", &self.connect_timeout)
            .field("quit_timeout", &self.quit_timeout)
            .field("backoff", &self.backoff)
            .field("max_attempts", &self.max_attempts)
            .field("send_deadline", &self.send_deadline)
            .field("unknown_outcome", &self.unknown_outcome)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Mailer`]; start with [`Mailer::builder`]. Every setter documents its
/// default.
#[derive(Clone, Debug)]
#[must_use = "a MailerBuilder does nothing until `build()`"]
pub struct MailerBuilder {
    config: Config,
}

impl MailerBuilder {
    pub(super) fn new(host: String, port: u16) -> MailerBuilder {
        MailerBuilder {
            config: Config {
                host,
                port,
                tls_policy: TlsPolicy::Opportunistic,
                #[cfg(feature = "tls")]
                tls: TlsConfig::default(),
                #[cfg(feature = "tls")]
                tls_server_name: None,
                credentials: None,
                allow_plaintext_auth: false,
                auth_mechanisms: None,
                sender: None,
                ehlo: EhloIdentity::from_host_name(),
                timeouts: Timeouts::default(),
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                quit_timeout: DEFAULT_QUIT_TIMEOUT,
                backoff: Backoff::default(),
                max_attempts: DEFAULT_MAX_ATTEMPTS,
                send_deadline: None,
                observer: None,
                clock: Arc::new(SystemClock),
                unknown_outcome: UnknownOutcome::Resend,
            },
        }
    }

    /// When to use TLS: none, opportunistic STARTTLS, required STARTTLS, or implicit TLS
    /// (RFC 8314, port 465). Default: opportunistic.
    pub fn tls(mut self, policy: TlsPolicy) -> MailerBuilder {
        self.config.tls_policy = policy;
        self
    }

    /// The trust anchors (and client certificate) for TLS. Default: the `webpki-roots`
    /// anchors.
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, tls: TlsConfig) -> MailerBuilder {
        self.config.tls = tls;
        self
    }

    /// The name the server's certificate must match. Default: the host.
    #[cfg(feature = "tls")]
    pub fn tls_server_name(mut self, name: impl Into<String>) -> MailerBuilder {
        self.config.tls_server_name = Some(name.into());
        self
    }

    /// Authenticate with these credentials. Default: no AUTH.
    pub fn credentials(mut self, credentials: Credentials) -> MailerBuilder {
        self.config.credentials = Some(credentials);
        self
    }

    /// Allow AUTH over a connection without TLS. Default off: credentials are sent only
    /// once TLS is up, whatever the server advertises.
    pub fn allow_plaintext_auth(mut self, allow: bool) -> MailerBuilder {
        self.config.allow_plaintext_auth = allow;
        self
    }

    /// The AUTH mechanisms to use, most preferred first (see
    /// [`SessionConfig::auth_mechanisms`](crate::session::SessionConfig::auth_mechanisms)).
    /// Default: the credentials' own order.
    pub fn auth_mechanisms(
        mut self,
        mechanisms: impl IntoIterator<Item = Mechanism>,
    ) -> MailerBuilder {
        self.config.auth_mechanisms = Some(mechanisms.into_iter().collect());
        self
    }

    /// The sender: the From of messages composed by [`Mailer::send_mail`] and their
    /// envelope sender. Default: none, and `send_mail` fails.
    pub fn sender(mut self, sender: Mailbox) -> MailerBuilder {
        self.config.sender = Some(sender);
        self
    }

    /// The name sent with EHLO. Default: this machine's host name, or the local address
    /// literal when that is not a valid name ([`EhloIdentity::from_host_name`]).
    pub fn ehlo_name(mut self, name: EhloName) -> MailerBuilder {
        self.config.ehlo = EhloIdentity::Name(name);
        self
    }

    /// What to send with EHLO, including [`EhloIdentity::LocalAddress`].
    pub fn ehlo_identity(mut self, identity: EhloIdentity) -> MailerBuilder {
        self.config.ehlo = identity;
        self
    }

    /// The reply deadlines. Default: RFC 5321 §4.5.3.2 (5 minutes for most commands, 10
    /// after the message).
    pub fn timeouts(mut self, timeouts: Timeouts) -> MailerBuilder {
        self.config.timeouts = timeouts;
        self
    }

    /// The time allowed for name resolution and for each TCP connection attempt. Default
    /// 30 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> MailerBuilder {
        self.config.connect_timeout = timeout;
        self
    }

    /// How long [`Mailer::close`] waits for the reply to QUIT. Default 5 s.
    pub fn quit_timeout(mut self, timeout: Duration) -> MailerBuilder {
        self.config.quit_timeout = timeout;
        self
    }

    /// The delays between attempts. Default: 1 s base, 5 min cap, ±20 % random jitter; the
    /// first redial is immediate.
    pub fn backoff(mut self, backoff: Backoff) -> MailerBuilder {
        self.config.backoff = backoff;
        self
    }

    /// The delay before the second redial (each later one doubles it). Default 1 s.
    pub fn backoff_base(mut self, base: Duration) -> MailerBuilder {
        self.config.backoff.base = base;
        self
    }

    /// The longest delay between attempts. Default 5 min.
    pub fn backoff_cap(mut self, cap: Duration) -> MailerBuilder {
        self.config.backoff.cap = cap;
        self
    }

    /// How delays are spread. Default [`Jitter::Random`].
    pub fn jitter(mut self, jitter: Jitter) -> MailerBuilder {
        self.config.backoff.jitter = jitter;
        self
    }

    /// The most attempts one send (or `connect`) makes, the first included; 0 counts as 1.
    /// Default 5.
    pub fn max_attempts(mut self, attempts: u32) -> MailerBuilder {
        self.config.max_attempts = attempts.max(1);
        self
    }

    /// A limit on a whole send (and on [`Mailer::connect`]), retries and waits included: no
    /// retry starts after it, no wait runs past it, and no socket waits past it. Default:
    /// none (each attempt is bounded by the reply deadlines, and the attempts by their
    /// number).
    pub fn send_deadline(mut self, limit: Duration) -> MailerBuilder {
        self.config.send_deadline = Some(limit);
        self
    }

    /// Who hears about attempts, failures, waits and deliveries. Default: nobody (the `log`
    /// facade still gets the main events).
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> MailerBuilder {
        self.config.observer = Some(observer);
        self
    }

    /// The clock for deadlines and waits. Default [`SystemClock`]; tests pass a
    /// [`ManualClock`](super::ManualClock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> MailerBuilder {
        self.config.clock = clock;
        self
    }

    /// What to do when the connection is lost after the whole message was sent. Default
    /// [`UnknownOutcome::Resend`].
    pub fn unknown_outcome(mut self, policy: UnknownOutcome) -> MailerBuilder {
        self.config.unknown_outcome = policy;
        self
    }

    /// The mailer. Nothing is connected yet: the first send (or [`Mailer::connect`]) does.
    pub fn build(self) -> Mailer {
        Mailer::from_config(self.config)
    }
}
