//! Resolving a host and opening a TCP connection to one of its addresses, within time limits.

use super::error::{ConnectAttempt, ConnectError, Error};
use socket2::{Domain, Protocol, SockAddr, Socket as RawSocket, TcpKeepalive, Type};
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long an idle connection waits before the first TCP keepalive probe.
pub(crate) const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);

/// The earlier of `now + span` and `deadline`.
pub(crate) fn earliest(now: Instant, span: Duration, deadline: Option<Instant>) -> Instant {
    let by_span = now.checked_add(span);
    match (by_span, deadline) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        // `span` is absurdly large and there is no deadline: a year is "forever" here.
        (None, None) => now + Duration::from_secs(365 * 24 * 3600),
    }
}

/// Resolves `host` (a name, an IPv4 address or an IPv6 address with or without brackets) to
/// its addresses, giving up at `deadline`.
///
/// IP literals are parsed without a lookup. Names are looked up on a helper thread so that a
/// stuck resolver cannot hold the caller past the deadline; the thread ends when the system
/// resolver gives up on its own.
pub(crate) fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, Error> {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let fail = |source: io::Error| Error::Resolve {
        host: host.to_owned(),
        source,
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(fail(io::ErrorKind::TimedOut.into()));
    }
    let (sender, receiver) = mpsc::sync_channel(1);
    let name = host.to_owned();
    thread::Builder::new()
        .name("smtpwire-resolve".to_owned())
        .spawn(move || {
            // The receiver may be gone (deadline passed): nothing to do then.
            let _ = sender.send((name.as_str(), port).to_socket_addrs().map(Vec::from_iter));
        })
        .map_err(fail)?;
    match receiver.recv_timeout(left) {
        Ok(Ok(addresses)) if addresses.is_empty() => Err(fail(io::ErrorKind::NotFound.into())),
        Ok(Ok(addresses)) => Ok(addresses),
        Ok(Err(source)) => Err(fail(source)),
        Err(_) => Err(fail(io::ErrorKind::TimedOut.into())),
    }
}

/// Connects to each address in turn until one accepts, giving each at most `per_address` and
/// all of them together at most until `deadline`.
pub(crate) fn connect_any(
    host: &str,
    port: u16,
    addresses: &[SocketAddr],
    per_address: Duration,
    deadline: Option<Instant>,
) -> Result<TcpStream, Error> {
    let mut attempts = Vec::with_capacity(addresses.len());
    for &address in addresses {
        let now = Instant::now();
        let limit = earliest(now, per_address, deadline);
        let left = limit.saturating_duration_since(now);
        if left.is_zero() {
            attempts.push(ConnectAttempt {
                address,
                error: io::ErrorKind::TimedOut.into(),
            });
            break;
        }
        match connect_one(address, left) {
            Ok(stream) => return Ok(stream),
            Err(error) => {
                log_debug(address, &error);
                attempts.push(ConnectAttempt { address, error });
            }
        }
    }
    if attempts.is_empty() {
        attempts.push(ConnectAttempt {
            address: SocketAddr::new(IpAddr::from([0, 0, 0, 0]), port),
            error: io::ErrorKind::NotFound.into(),
        });
    }
    Err(Error::Connect {
        host: host.to_owned(),
        port,
        source: ConnectError { attempts },
    })
}

fn log_debug(address: SocketAddr, error: &io::Error) {
    log::debug!("smtpwire: connecting to {address} failed: {error}");
}

/// One TCP connection with TCP_NODELAY and keepalive on.
fn connect_one(address: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let socket = RawSocket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_tcp_nodelay(true)?;
    socket.set_keepalive(true)?;
    socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(KEEPALIVE_IDLE))?;
    socket.connect_timeout(&SockAddr::from(address), timeout)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[test]
    fn ip_literals_resolve_without_lookup() {
        let v4 = resolve("127.0.0.1", 25, far()).unwrap();
        assert_eq!(v4, vec![SocketAddr::from(([127, 0, 0, 1], 25))]);
        let v6 = resolve("[::1]", 465, far()).unwrap();
        assert_eq!(
            v6,
            vec![SocketAddr::from((
                IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
                465
            ))]
        );
        assert_eq!(resolve("::1", 587, far()).unwrap()[0].port(), 587);
    }

    #[test]
    fn localhost_resolves_through_the_helper_thread() {
        let addresses = resolve("localhost", 2525, far()).unwrap();
        assert!(!addresses.is_empty());
        assert!(
            addresses
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 2525)
        );
    }

    #[test]
    fn a_passed_deadline_fails_resolution_as_a_timeout() {
        let error = resolve("localhost", 25, Instant::now()).unwrap_err();
        assert!(matches!(&error, Error::Resolve { .. }));
        assert!(error.is_timeout(), "{error:?}");
    }

    #[test]
    fn connects_with_nodelay_and_keepalive() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let stream = connect_any(
            "127.0.0.1",
            address.port(),
            &[address],
            Duration::from_secs(5),
            Some(far()),
        )
        .unwrap();
        assert!(stream.nodelay().unwrap());
        assert!(socket2::SockRef::from(&stream).keepalive().unwrap());
        assert_eq!(stream.peer_addr().unwrap(), address);
    }

    #[test]
    fn tries_every_address_and_reports_each_failure() {
        // Two ports nobody listens on (bound, then released), then a live one.
        let dead: Vec<SocketAddr> = (0..2)
            .map(|_| {
                TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
            })
            .collect();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let live = listener.local_addr().unwrap();
        let mut addresses = dead.clone();
        addresses.push(live);
        let stream = connect_any(
            "h",
            live.port(),
            &addresses,
            Duration::from_secs(5),
            Some(far()),
        )
        .unwrap();
        assert_eq!(stream.peer_addr().unwrap(), live);

        let error = connect_any("h", 1, &dead, Duration::from_secs(5), Some(far())).unwrap_err();
        let Error::Connect { source, .. } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(source.attempts.len(), 2);
        assert!(
            source
                .attempts
                .iter()
                .all(|a| a.error.kind() == io::ErrorKind::ConnectionRefused)
        );
        assert_eq!(error.kind(), "connect");
        assert!(!error.is_reconnectable());
        assert!(std::error::Error::source(source).is_some());
    }

    #[test]
    fn a_passed_deadline_stops_before_connecting() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let error = connect_any(
            "h",
            address.port(),
            &[address],
            Duration::from_secs(5),
            Some(Instant::now()),
        )
        .unwrap_err();
        assert!(error.is_timeout(), "{error:?}");
    }

    #[test]
    fn earliest_picks_the_nearer_limit() {
        let now = Instant::now();
        let soon = now + Duration::from_secs(1);
        assert_eq!(earliest(now, Duration::from_secs(5), Some(soon)), soon);
        assert_eq!(
            earliest(now, Duration::from_millis(10), Some(soon)),
            now + Duration::from_millis(10)
        );
        assert_eq!(
            earliest(now, Duration::from_secs(2), None),
            now + Duration::from_secs(2)
        );
        assert!(earliest(now, Duration::MAX, None) > now);
    }
}
