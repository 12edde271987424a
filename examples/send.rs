//! `send`: send one message, read from standard input, through a smtpwire `Mailer`.
//!
//! ```text
//! cargo run --release --example send -- --server HOST:PORT --from ADDR --to ADDR [--to ADDR ...]
//!     [--tls none|opportunistic|required|implicit] [--ca PEMFILE] [--user U --password P]
//!     [--helo NAME] [--count N] [--timeout SECS] [--attempts N] [--allow-plaintext-auth] [-v]
//! ```
//!
//! The message is sent `N` times (default 1) as `N` transactions through one mailer, over
//! one connection while it lives, reconnecting as the mailer does. Bare LF line endings and
//! a missing final line ending are normalised. Exit status: 0 when every message was
//! accepted; 1 with one line `error: <kind>: <detail>` on standard error otherwise; 2 for
//! a usage error. Nothing else is printed unless `-v` is given, and then only on standard
//! error.

use smtpwire::address::{Address, ReversePath};
use smtpwire::auth::Credentials;
use smtpwire::ehlo_name::EhloName;
use smtpwire::mailer::Mailer;
use smtpwire::session::{Envelope, Timeouts, TlsPolicy};
use smtpwire::transport::TlsConfig;
use std::error::Error;
use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: send --server HOST:PORT --from ADDR --to ADDR [--to ADDR ...]
            [--tls none|opportunistic|required|implicit] [--ca PEMFILE]
            [--user U --password P] [--helo NAME] [--count N] [--timeout SECS]
            [--attempts N] [--allow-plaintext-auth] [-v]

Reads one RFC 5322 message from standard input and sends it N times (default 1).
  --tls        default opportunistic
  --ca         trust only the CA certificates in PEMFILE (instead of the Mozilla roots)
  --timeout    per-command (QUIT too) and connect timeout, and each message's
               whole-send deadline
  --attempts   attempts per message, reconnections included (default 5)
  -v           progress and diagnostics on standard error";

/// What the command line asked for.
struct Options {
    host: String,
    port: u16,
    from: Address,
    to: Vec<Address>,
    tls: TlsPolicy,
    ca: Option<String>,
    credentials: Option<Credentials>,
    helo: Option<EhloName>,
    count: u32,
    timeout: Option<Duration>,
    attempts: u32,
    allow_plaintext_auth: bool,
    verbose: bool,
}

fn main() -> ExitCode {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("send: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if options.verbose {
        log::set_logger(&STDERR_LOGGER)
            .map(|()| log::set_max_level(log::LevelFilter::Info))
            .ok();
    }
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err((kind, detail)) => {
            eprintln!("error: {kind}: {}", one_line(&detail));
            ExitCode::from(1)
        }
    }
}

/// Sends the message `count` times; the first failure ends the run.
fn run(options: &Options) -> Result<(), (&'static str, String)> {
    let mut message = Vec::new();
    std::io::stdin()
        .read_to_end(&mut message)
        .map_err(|e| ("body-read", format!("cannot read standard input: {e}")))?;
    let mut mailer = build_mailer(options)?;
    let envelope = Envelope::new(
        ReversePath::Address(options.from.clone()),
        options.to.clone(),
    );
    for n in 1..=options.count {
        let report = mailer
            .send(&envelope, &message)
            .map_err(|error| (error.kind(), describe(&error)))?;
        if options.verbose {
            eprintln!(
                "send: message {n} of {}: {} ({} attempt(s), {} reconnection(s){})",
                options.count,
                report.reply,
                report.attempts,
                report.reconnects,
                if report.possible_duplicate {
                    ", possible duplicate"
                } else {
                    ""
                }
            );
            for refused in report.refused() {
                eprintln!("send:   refused {}: {}", refused.address, refused.reply);
            }
        }
    }
    if let Err(error) = mailer.close() {
        if options.verbose {
            eprintln!("send: closing: {error}");
        }
    }
    Ok(())
}

fn build_mailer(options: &Options) -> Result<Mailer, (&'static str, String)> {
    let mut builder = Mailer::builder(options.host.clone(), options.port)
        .tls(options.tls)
        .max_attempts(options.attempts)
        .allow_plaintext_auth(options.allow_plaintext_auth);
    if let Some(ca) = &options.ca {
        let tls = TlsConfig::builder()
            .without_webpki_roots()
            .add_root_pem_file(ca)
            .and_then(|b| b.build())
            .map_err(|e| ("config", describe(&e)))?;
        builder = builder.tls_config(tls);
    }
    if let Some(credentials) = &options.credentials {
        builder = builder.credentials(credentials.clone());
    }
    if let Some(helo) = &options.helo {
        builder = builder.ehlo_name(helo.clone());
    }
    if let Some(timeout) = options.timeout {
        builder = builder
            .timeouts(Timeouts::all(timeout))
            .connect_timeout(timeout)
            .quit_timeout(timeout)
            .send_deadline(timeout);
    }
    Ok(builder.build())
}

/// The error and its causes, outermost first, without repeating a cause the message
/// already shows.
fn describe(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    // Bounded: error chains are short, and a cycle is cut after 16 links.
    for _ in 0..16 {
        let Some(cause) = source else { break };
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `text` on one line: control characters shown escaped.
fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut server = None;
    let mut from = None;
    let mut to = Vec::new();
    let mut tls = TlsPolicy::Opportunistic;
    let mut ca = None;
    let (mut user, mut password) = (None, None);
    let mut helo = None;
    let mut count = 1;
    let mut timeout = None;
    let mut attempts = smtpwire::mailer::DEFAULT_MAX_ATTEMPTS;
    let mut allow_plaintext_auth = false;
    let mut verbose = false;
    // Bounded: every turn consumes at least one argument.
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => server = Some(parse_server(&value()?)?),
            "--from" => from = Some(parse_address(&value()?)?),
            "--to" => to.push(parse_address(&value()?)?),
            "--tls" => tls = parse_tls(&value()?)?,
            "--ca" => ca = Some(value()?),
            "--user" => user = Some(value()?),
            "--password" => password = Some(value()?),
            "--helo" => {
                let name = value()?;
                helo = Some(EhloName::parse(&name).map_err(|e| format!("--helo {name:?}: {e}"))?);
            }
            "--count" => count = parse_positive(&flag, &value()?)?,
            "--attempts" => attempts = parse_positive(&flag, &value()?)?,
            "--timeout" => timeout = Some(parse_seconds(&value()?)?),
            "--allow-plaintext-auth" => allow_plaintext_auth = true,
            "-v" | "--verbose" => verbose = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let (host, port) = server.ok_or("--server is required")?;
    let from = from.ok_or("--from is required")?;
    if to.is_empty() {
        return Err("at least one --to is required".to_owned());
    }
    let credentials = match (user, password) {
        (None, None) => None,
        (Some(user), Some(password)) => Some(
            Credentials::password(&user, &password)
                .map_err(|e| format!("--user/--password: {e}"))?,
        ),
        _ => return Err("--user and --password go together".to_owned()),
    };
    Ok(Options {
        host,
        port,
        from,
        to,
        tls,
        ca,
        credentials,
        helo,
        count,
        timeout,
        attempts,
        allow_plaintext_auth,
        verbose,
    })
}

/// `HOST:PORT`, `[IPv6]:PORT`.
fn parse_server(text: &str) -> Result<(String, u16), String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("--server {text:?}: expected HOST:PORT"))?;
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("--server {text:?}: invalid port"))?;
    if host.is_empty() {
        return Err(format!("--server {text:?}: empty host"));
    }
    Ok((host.to_owned(), port))
}

fn parse_address(text: &str) -> Result<Address, String> {
    Address::parse(text).map_err(|e| format!("invalid address {text:?}: {e}"))
}

fn parse_tls(text: &str) -> Result<TlsPolicy, String> {
    match text {
        "none" => Ok(TlsPolicy::None),
        "opportunistic" => Ok(TlsPolicy::Opportunistic),
        "required" => Ok(TlsPolicy::Required),
        "implicit" => Ok(TlsPolicy::Implicit),
        other => Err(format!(
            "--tls {other:?}: expected none, opportunistic, required or implicit"
        )),
    }
}

fn parse_positive(flag: &str, text: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{flag} {text:?}: expected a whole number above 0"))
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("--timeout {text:?}: expected a number of seconds above 0"))
}

/// With `-v`: log lines on standard error.
struct StderrLogger;

static STDERR_LOGGER: StderrLogger = StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("{}: {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}
