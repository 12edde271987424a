//! Where the real servers listen, read from the environment that `tests/servers/start.sh`
//! writes to `DIR/env`, and what to do when it is missing.
//!
//! Without the variables every test prints (once) that it was skipped and passes, so that
//! `cargo test` on a bare machine stays green. With `SMTPWIRE_REQUIRE_REAL_SERVERS=1` (CI
//! sets it) a missing or unusable variable fails the test instead.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Once;

/// Set to `1` to turn "skipped" into "failed".
pub const REQUIRE_VAR: &str = "SMTPWIRE_REQUIRE_REAL_SERVERS";

/// One `smtp-sink` instance (README table "Postfix smtp-sink").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sink {
    /// Accepts everything, PIPELINING, dumps each message.
    Accepting,
    /// `-p`: PIPELINING not announced.
    NoPipelining,
    /// `-Q CONNECT`: greeting 421, then close.
    Greeting421,
    /// `-r CONNECT`: greeting 450.
    Greeting4xx,
    /// `-f CONNECT`: greeting 500.
    Greeting5xx,
    /// `-q CONNECT`: closes without a byte.
    GreetingDisconnect,
    /// `-W CONNECT:1`: greeting after 1 s.
    GreetingDelay,
    /// `-e`: EHLO refused, HELO works.
    NoEsmtp,
    /// `-Q MAIL`: MAIL gets 421, then close.
    Mail421,
    /// `-q MAIL`: MAIL gets a close without reply.
    MailDisconnect,
    /// `-r MAIL`: MAIL gets 450.
    Mail4xx,
    /// `-f MAIL`: MAIL gets 500.
    Mail5xx,
    /// `-W MAIL:1`: MAIL answered after 1 s.
    MailDelay,
    /// `-Q RCPT`: RCPT gets 421, then close.
    Rcpt421,
    /// `-r RCPT`: every RCPT gets 450.
    Rcpt4xx,
    /// `-f RCPT`: every RCPT gets 500.
    Rcpt5xx,
    /// `-f DATA`: DATA gets 500.
    Data5xx,
    /// `-w 1`: the 354 comes after 1 s.
    DataDelay,
    /// `-A 0`: 354, then an unsolicited 550 and close.
    DataAbort,
    /// `-Q .`: the final dot gets 421, then close.
    Dot421,
    /// `-q .`: the final dot gets a close without reply.
    DotDisconnect,
    /// `-r .`: the final dot gets 450.
    Dot4xx,
    /// `-f .`: the final dot gets 500.
    Dot5xx,
    /// `-W .:1`: the final dot answered after 1 s.
    DotDelay,
    /// `-Q RSET`: RSET gets 421, then close.
    Rset421,
    /// `-q QUIT`: QUIT gets a close without 221.
    QuitDisconnect,
}

impl Sink {
    /// Every instance, in the README's order.
    pub const ALL: [Sink; 26] = [
        Sink::Accepting,
        Sink::NoPipelining,
        Sink::Greeting421,
        Sink::Greeting4xx,
        Sink::Greeting5xx,
        Sink::GreetingDisconnect,
        Sink::GreetingDelay,
        Sink::NoEsmtp,
        Sink::Mail421,
        Sink::MailDisconnect,
        Sink::Mail4xx,
        Sink::Mail5xx,
        Sink::MailDelay,
        Sink::Rcpt421,
        Sink::Rcpt4xx,
        Sink::Rcpt5xx,
        Sink::Data5xx,
        Sink::DataDelay,
        Sink::DataAbort,
        Sink::Dot421,
        Sink::DotDisconnect,
        Sink::Dot4xx,
        Sink::Dot5xx,
        Sink::DotDelay,
        Sink::Rset421,
        Sink::QuitDisconnect,
    ];

    /// The variable holding its address.
    pub fn var(self) -> &'static str {
        match self {
            Sink::Accepting => "SMTPWIRE_SINK_ADDR",
            Sink::NoPipelining => "SMTPWIRE_SINK_NOPIPELINING_ADDR",
            Sink::Greeting421 => "SMTPWIRE_SINK_421_GREETING_ADDR",
            Sink::Greeting4xx => "SMTPWIRE_SINK_4XX_GREETING_ADDR",
            Sink::Greeting5xx => "SMTPWIRE_SINK_5XX_GREETING_ADDR",
            Sink::GreetingDisconnect => "SMTPWIRE_SINK_DISCONNECT_GREETING_ADDR",
            Sink::GreetingDelay => "SMTPWIRE_SINK_DELAY_GREETING_ADDR",
            Sink::NoEsmtp => "SMTPWIRE_SINK_NOESMTP_ADDR",
            Sink::Mail421 => "SMTPWIRE_SINK_421_MAIL_ADDR",
            Sink::MailDisconnect => "SMTPWIRE_SINK_DISCONNECT_MAIL_ADDR",
            Sink::Mail4xx => "SMTPWIRE_SINK_4XX_MAIL_ADDR",
            Sink::Mail5xx => "SMTPWIRE_SINK_5XX_MAIL_ADDR",
            Sink::MailDelay => "SMTPWIRE_SINK_DELAY_ADDR",
            Sink::Rcpt421 => "SMTPWIRE_SINK_421_RCPT_ADDR",
            Sink::Rcpt4xx => "SMTPWIRE_SINK_4XX_RCPT_ADDR",
            Sink::Rcpt5xx => "SMTPWIRE_SINK_5XX_RCPT_ADDR",
            Sink::Data5xx => "SMTPWIRE_SINK_5XX_DATA_ADDR",
            Sink::DataDelay => "SMTPWIRE_SINK_DELAY_DATA_ADDR",
            Sink::DataAbort => "SMTPWIRE_SINK_ABORT_DATA_ADDR",
            Sink::Dot421 => "SMTPWIRE_SINK_421_DOT_ADDR",
            Sink::DotDisconnect => "SMTPWIRE_SINK_DISCONNECT_DOT_ADDR",
            Sink::Dot4xx => "SMTPWIRE_SINK_4XX_DOT_ADDR",
            Sink::Dot5xx => "SMTPWIRE_SINK_5XX_DOT_ADDR",
            Sink::DotDelay => "SMTPWIRE_SINK_DELAY_DOT_ADDR",
            Sink::Rset421 => "SMTPWIRE_SINK_421_RSET_ADDR",
            Sink::QuitDisconnect => "SMTPWIRE_SINK_DISCONNECT_QUIT_ADDR",
        }
    }
}

/// A server that takes a login: its address(es), CA, credentials and where it stores mail.
#[derive(Clone, Debug)]
pub struct MailServer {
    /// Plain text, STARTTLS offered.
    pub addr: SocketAddr,
    /// Implicit TLS.
    pub smtps_addr: SocketAddr,
    /// The CA certificate (PEM file) that signed the server's certificate.
    pub ca: PathBuf,
    /// The SASL user name.
    pub user: String,
    /// The SASL password.
    pub password: String,
    /// The Maildir whose `new/` receives every message.
    pub maildir: PathBuf,
    /// The server's log file.
    pub log: PathBuf,
}

/// The variables of a [`MailServer`], after `SMTPWIRE_POSTFIX_` or `SMTPWIRE_AIOSMTPD_`.
const MAIL_SERVER_FIELDS: [&str; 7] = [
    "ADDR",
    "SMTPS_ADDR",
    "CA",
    "USER",
    "PASSWORD",
    "MAILDIR",
    "LOG",
];

/// Every server the tests use.
#[derive(Clone, Debug)]
pub struct Servers {
    /// The domain both Postfix and aiosmtpd deliver (`smtpwire.test`).
    pub domain: String,
    /// The private Postfix instance.
    pub postfix: MailServer,
    /// aiosmtpd.
    pub aiosmtpd: MailServer,
    /// Where the accepting smtp-sink dumps messages.
    pub sink_dump_dir: PathBuf,
    sinks: BTreeMap<Sink, SocketAddr>,
}

impl Servers {
    /// The address of one smtp-sink instance.
    pub fn sink(&self, sink: Sink) -> SocketAddr {
        // `from_lookup` filled the map from `Sink::ALL`, so every key is present.
        self.sinks[&sink]
    }

    /// Reads every variable through `lookup`; the error names each one missing or unusable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Servers, String> {
        let mut names: Vec<String> = ["SMTPWIRE_TEST_DOMAIN", "SMTPWIRE_SINK_DUMP_DIR"]
            .into_iter()
            .chain(Sink::ALL.iter().map(|sink| sink.var()))
            .map(str::to_owned)
            .collect();
        for server in ["POSTFIX", "AIOSMTPD"] {
            for field in MAIL_SERVER_FIELDS {
                names.push(format!("SMTPWIRE_{server}_{field}"));
            }
        }
        let mut problems = Vec::new();
        let mut raw = BTreeMap::new();
        for name in names {
            match lookup(&name) {
                Some(value) if !value.is_empty() => {
                    raw.insert(name, value);
                }
                _ => problems.push(format!("{name} is not set")),
            }
        }
        if !problems.is_empty() {
            return Err(problems.join(", "));
        }
        let get = |name: &str| raw.get(name).cloned().unwrap_or_default();
        let mut addr = |name: &str| match loopback(&get(name)) {
            Ok(addr) => addr,
            Err(problem) => {
                problems.push(format!("{name}: {problem}"));
                SocketAddr::from(([127, 0, 0, 1], 0))
            }
        };
        let mut mail_server = |server: &str| {
            let var = |field: &str| format!("SMTPWIRE_{server}_{field}");
            MailServer {
                addr: addr(&var("ADDR")),
                smtps_addr: addr(&var("SMTPS_ADDR")),
                ca: get(&var("CA")).into(),
                user: get(&var("USER")),
                password: get(&var("PASSWORD")),
                maildir: get(&var("MAILDIR")).into(),
                log: get(&var("LOG")).into(),
            }
        };
        let postfix = mail_server("POSTFIX");
        let aiosmtpd = mail_server("AIOSMTPD");
        let sinks = Sink::ALL
            .iter()
            .map(|&sink| (sink, addr(sink.var())))
            .collect();
        if !problems.is_empty() {
            return Err(problems.join(", "));
        }
        Ok(Servers {
            domain: get("SMTPWIRE_TEST_DOMAIN"),
            postfix,
            aiosmtpd,
            sink_dump_dir: get("SMTPWIRE_SINK_DUMP_DIR").into(),
            sinks,
        })
    }
}

/// `127.0.0.1:PORT` (or another loopback address): the tests never leave the machine.
fn loopback(value: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = value
        .parse()
        .map_err(|_| format!("{value:?} is not an IP address and port"))?;
    if !addr.ip().is_loopback() || addr.port() == 0 {
        return Err(format!("{addr} is not a loopback address with a port"));
    }
    Ok(addr)
}

/// What a test does about the environment.
#[derive(Debug)]
pub enum Availability {
    /// Every server is there.
    Ready(Box<Servers>),
    /// Not there, and not required: the test passes without checking anything.
    Skip(String),
    /// Not there, and required: the test fails.
    Fail(String),
}

/// Decides from what `from_lookup` said and whether the servers are required.
pub fn availability(loaded: Result<Servers, String>, required: bool) -> Availability {
    match loaded {
        Ok(servers) => Availability::Ready(Box::new(servers)),
        Err(problem) if required => Availability::Fail(format!(
            "{REQUIRE_VAR}=1 but the real servers are not usable: {problem} \
             (run `tests/servers/start.sh DIR` and `source DIR/env`)"
        )),
        Err(problem) => Availability::Skip(summary(&problem)),
    }
}

/// The first two problems and how many more: one line that still fits a terminal.
fn summary(problems: &str) -> String {
    let all: Vec<&str> = problems.split(", ").collect();
    match all.len() {
        0..=2 => problems.to_owned(),
        n => format!("{} and {} more", all[..2].join(", "), n - 2),
    }
}

/// The servers from the process environment; `None` (after saying so once on stderr) when
/// they are absent and not required. Panics when they are required and absent.
pub fn servers() -> Option<Servers> {
    let required = std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1");
    let loaded = Servers::from_lookup(|name| std::env::var(name).ok());
    match availability(loaded, required) {
        Availability::Ready(servers) => Some(*servers),
        Availability::Fail(message) => panic!("{message}"),
        Availability::Skip(problem) => {
            static SAY_ONCE: Once = Once::new();
            SAY_ONCE.call_once(|| {
                // Straight to the process's stderr: libtest captures `eprintln!` of passing
                // tests, and this line is meant to be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "real_servers: SKIPPED, every test here passes without checking anything: \
                     {problem}. Start the servers with `tests/servers/start.sh DIR`, \
                     `source DIR/env`; set {REQUIRE_VAR}=1 to make this a failure."
                );
            });
            None
        }
    }
}
