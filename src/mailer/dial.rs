//! Opening a ready connection from the mailer's configuration.
//!
//! With a configured EHLO name this is [`Connection::connect`]. With
//! [`EhloIdentity::LocalAddress`] the name depends on the local address of the socket, which
//! is known only once it is connected, so the mailer opens the TCP connection itself and
//! hands it to [`Connection::establish`]; the transport has no hook to choose the EHLO name
//! after connecting.

use super::config::{Config, EhloIdentity};
use crate::ehlo_name::EhloName;
use crate::session::SessionConfig;
use crate::transport::{self, ConnectAttempt, ConnectError, ConnectOptions, Connection};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A ready connection (greeting, EHLO, TLS and AUTH done), every wait ending by `deadline`.
pub(super) fn dial(
    config: &Config,
    deadline: Option<Instant>,
) -> Result<Connection, transport::Error> {
    let name = match &config.ehlo {
        EhloIdentity::Name(name) => name.clone(),
        // Replaced once the socket's local address is known.
        EhloIdentity::LocalAddress => EhloName::from_ip(Ipv4Addr::LOCALHOST.into()),
    };
    let mut options = connect_options(config, name, deadline);
    match config.ehlo {
        EhloIdentity::Name(_) => Connection::connect(&options),
        EhloIdentity::LocalAddress => {
            let socket = open_socket(config, deadline)?;
            let local = socket.local_addr().map_err(|source| transport::Error::Io {
                interruption: crate::session::Interruption::at(crate::session::Step::Greeting),
                source,
            })?;
            options.session.ehlo_name = EhloName::from_ip(local.ip());
            Connection::establish(socket, &options)
        }
    }
}

fn connect_options(config: &Config, name: EhloName, deadline: Option<Instant>) -> ConnectOptions {
    let mut session = SessionConfig::new(name);
    session.tls = config.tls_policy;
    session.credentials = config.credentials.clone();
    session.allow_plaintext_auth = config.allow_plaintext_auth;
    session.timeouts = config.timeouts;
    let mut options = ConnectOptions::with_session(config.host.clone(), config.port, session);
    options.connect_timeout = config.connect_timeout;
    options.quit_timeout = config.quit_timeout;
    options.deadline = deadline;
    #[cfg(feature = "tls")]
    {
        options.tls = config.tls.clone();
        options.tls_server_name = config.tls_server_name.clone();
    }
    options
}

/// Resolves the host and connects to its addresses in turn, each within the connect
/// timeout, all by `deadline`.
fn open_socket(config: &Config, deadline: Option<Instant>) -> Result<TcpStream, transport::Error> {
    let limit = |now: Instant| {
        let by_timeout = now.checked_add(config.connect_timeout);
        match (by_timeout, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    let addresses = resolve(&config.host, config.port, limit(Instant::now()))?;
    let mut attempts = Vec::new();
    for address in addresses {
        let now = Instant::now();
        let left = limit(now).map_or(config.connect_timeout, |by| {
            by.saturating_duration_since(now)
        });
        if left.is_zero() {
            attempts.push(ConnectAttempt {
                address,
                error: io::ErrorKind::TimedOut.into(),
            });
            break;
        }
        match TcpStream::connect_timeout(&address, left).and_then(configure) {
            Ok(stream) => return Ok(stream),
            Err(error) => attempts.push(ConnectAttempt { address, error }),
        }
    }
    if attempts.is_empty() {
        attempts.push(ConnectAttempt {
            address: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), config.port),
            error: io::ErrorKind::NotFound.into(),
        });
    }
    Err(transport::Error::Connect {
        host: config.host.clone(),
        port: config.port,
        source: ConnectError { attempts },
    })
}

/// No Nagle delay (commands are small and waited for), keepalive on.
fn configure(stream: TcpStream) -> io::Result<TcpStream> {
    stream.set_nodelay(true)?;
    socket2::SockRef::from(&stream).set_keepalive(true)?;
    Ok(stream)
}

/// The addresses of `host`: an IP literal at once, a name on a helper thread so that a
/// stuck resolver cannot hold the caller past `by`.
fn resolve(
    host: &str,
    port: u16,
    by: Option<Instant>,
) -> Result<Vec<SocketAddr>, transport::Error> {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let fail = |source: io::Error| transport::Error::Resolve {
        host: host.to_owned(),
        source,
    };
    let (sender, receiver) = mpsc::sync_channel(1);
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("smtpwire-mailer-resolve".to_owned())
        .spawn(move || {
            // The receiver is gone when the caller stopped waiting: nothing to do then.
            let _ = sender.send((name.as_str(), port).to_socket_addrs().map(Vec::from_iter));
        })
        .map_err(fail)?;
    let wait = by.map_or(Duration::from_secs(365 * 24 * 3600), |by| {
        by.saturating_duration_since(Instant::now())
    });
    match receiver.recv_timeout(wait) {
        Ok(Ok(addresses)) if !addresses.is_empty() => Ok(addresses),
        Ok(Ok(_)) => Err(fail(io::ErrorKind::NotFound.into())),
        Ok(Err(source)) => Err(fail(source)),
        Err(_) => Err(fail(io::ErrorKind::TimedOut.into())),
    }
}
