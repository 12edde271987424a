//! The accept loop: numbers connections, enforces the simultaneous-connection cap and
//! starts one thread per connection.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;

use super::builder::{Config, TlsMode};
use super::record::ConnectionEnd;
use super::session;
use super::shared::Shared;
use super::transport::POLL;

/// Accepts connections until the shutdown flag is set. The listener must be non-blocking,
/// so the flag is looked at every [`POLL`].
pub(crate) fn accept_loop(listener: TcpListener, shared: Arc<Shared>, config: Arc<Config>) {
    while !shared.shutdown.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((tcp, peer)) => admit(tcp, peer, &shared, &config),
            Err(error) => {
                if !matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) {
                    log::warn!("test server accept failed: {error}");
                }
                thread::sleep(POLL / 2);
            }
        }
    }
}

/// Decrements the active-connection count when a connection thread ends.
struct ActiveGuard(Arc<Shared>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

fn admit(tcp: TcpStream, peer: SocketAddr, shared: &Arc<Shared>, config: &Arc<Config>) {
    let implicit_tls = config.identity(TlsMode::Implicit).is_some();
    let number = shared.open_connection(peer, implicit_tls);
    {
        let mut handles = shared
            .connection_threads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        handles.retain(|handle| !handle.is_finished());
    }
    if shared.active.load(Ordering::SeqCst) >= config.max_connections {
        refuse(tcp, implicit_tls);
        shared.end_connection(number, ConnectionEnd::TooManyConnections);
        return;
    }
    shared.active.fetch_add(1, Ordering::SeqCst);
    let active = ActiveGuard(Arc::clone(shared));
    let thread_shared = Arc::clone(shared);
    let thread_config = Arc::clone(config);
    let spawned = shared
        .threads
        .spawn(format!("smtpwire-test-conn-{number}"), move || {
            let _active = active;
            session::serve(number, tcp, thread_shared, thread_config);
        });
    match spawned {
        Ok(handle) => shared
            .connection_threads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(handle),
        Err(error) => shared.end_connection(number, ConnectionEnd::Io(error.to_string())),
    }
}

/// Over the cap: `421` (not in implicit-TLS mode, where plaintext would be garbage) and
/// close.
fn refuse(mut tcp: TcpStream, implicit_tls: bool) {
    if !implicit_tls {
        let _ = tcp.set_nonblocking(false);
        let _ = tcp.set_write_timeout(Some(POLL));
        let _ = tcp.write_all(b"421 4.7.0 too many connections, try again later\r\n");
    }
    let _ = tcp.shutdown(Shutdown::Write);
}
