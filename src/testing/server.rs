//! The running server handle: address, records, waiting helpers and shutdown.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::builder::{Config, ServerBuilder};
use super::listener;
use super::record::{ConnectionRecord, MessageRecord};
use super::shared::{Records, Shared};
use super::threads::{ThreadWatch, join_until};
use super::tls::TlsIdentity;

/// Why [`ServerBuilder::start`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Binding or configuring the `127.0.0.1:0` listener failed.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// The accept thread could not be started.
    #[error("cannot start the accept thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// A `wait_for_*` helper gave up at its deadline.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("waited {timeout:?} for {wanted} {what}, saw {seen}")]
#[non_exhaustive]
pub struct WaitTimeout {
    /// What was awaited (`"accepted messages"`, `"closed connections"`).
    pub what: &'static str,
    /// How many were awaited.
    pub wanted: usize,
    /// How many there were at the deadline.
    pub seen: usize,
    /// How long the helper waited.
    pub timeout: Duration,
}

/// An SMTP server for tests on `127.0.0.1` (random port), serving each connection on its
/// own thread until dropped or [`Server::shutdown`]. See the [module docs](super).
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    config: Arc<Config>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl Server {
    /// A builder with every knob at its default.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    pub(crate) fn start(config: Config) -> Result<Server, StartError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(StartError::Bind)?;
        let addr = listener.local_addr().map_err(StartError::Bind)?;
        listener.set_nonblocking(true).map_err(StartError::Bind)?;
        let shared = Arc::new(Shared::default());
        let config = Arc::new(config);
        let acceptor = {
            let shared = Arc::clone(&shared);
            let config = Arc::clone(&config);
            shared
                .threads
                .clone()
                .spawn(format!("smtpwire-test-accept-{}", addr.port()), move || {
                    listener::accept_loop(listener, shared, config);
                })
                .map_err(StartError::Spawn)?
        };
        log::debug!("test SMTP server listening on {addr}");
        Ok(Server {
            addr,
            shared,
            config,
            acceptor: Mutex::new(Some(acceptor)),
        })
    }

    /// The address to connect to (`127.0.0.1:<port>`).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every message record so far (accepted or not), in the order their bodies ended.
    #[must_use]
    pub fn messages(&self) -> Vec<MessageRecord> {
        self.shared.read(|records| records.messages.clone())
    }

    /// The message records the server answered with 2xx.
    #[must_use]
    pub fn accepted_messages(&self) -> Vec<MessageRecord> {
        self.shared.read(|records| accepted(&records.messages))
    }

    /// Every connection record so far, open ones included, in accept order.
    #[must_use]
    pub fn connections(&self) -> Vec<ConnectionRecord> {
        self.shared.read(|records| records.connections.clone())
    }

    /// The record of connection `number` (1-based).
    #[must_use]
    pub fn connection(&self, number: u64) -> Option<ConnectionRecord> {
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        self.shared
            .read(|records| records.connections.get(index).cloned())
    }

    /// How many connections were accepted so far (refused over-cap ones included).
    #[must_use]
    pub fn connection_count(&self) -> u64 {
        self.shared.read(|records| records.connections.len() as u64)
    }

    /// Blocks until at least `count` messages were accepted (2xx after the body), or
    /// `timeout` passes; returns the accepted messages.
    pub fn wait_for_messages(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<MessageRecord>, WaitTimeout> {
        self.wait(
            count,
            timeout,
            "accepted messages",
            |records| records.messages.iter().filter(|m| m.accepted).count(),
            |records| accepted(&records.messages),
        )
    }

    /// Blocks until at least `count` connections have ended (so their records, and any
    /// message they left half-received, are final), or `timeout` passes; returns all
    /// connection records.
    pub fn wait_for_closed_connections(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ConnectionRecord>, WaitTimeout> {
        self.wait(
            count,
            timeout,
            "closed connections",
            |records| {
                records
                    .connections
                    .iter()
                    .filter(|c| c.end.is_some())
                    .count()
            },
            |records| records.connections.clone(),
        )
    }

    /// Waits until `count(records) >= wanted`, then returns `snapshot(records)`.
    fn wait<T>(
        &self,
        wanted: usize,
        timeout: Duration,
        what: &'static str,
        count: impl Fn(&Records) -> usize,
        snapshot: impl Fn(&Records) -> T,
    ) -> Result<T, WaitTimeout> {
        self.shared
            .wait_for(timeout, |records| {
                (count(records) >= wanted).then(|| snapshot(records))
            })
            .ok_or_else(|| WaitTimeout {
                what,
                wanted,
                seen: self.shared.read(&count),
                timeout,
            })
    }

    /// The certificate clients should trust (DER), when TLS is configured.
    #[must_use]
    pub fn certificate_der(&self) -> Option<Vec<u8>> {
        self.tls_identity().map(TlsIdentity::certificate_der)
    }

    /// The certificate clients should trust (PEM), when TLS is configured.
    #[must_use]
    pub fn certificate_pem(&self) -> Option<String> {
        self.tls_identity().map(TlsIdentity::certificate_pem)
    }

    /// The TLS identity the server presents, when TLS is configured.
    #[must_use]
    pub fn tls_identity(&self) -> Option<&TlsIdentity> {
        self.config.tls.as_ref().map(|(identity, _)| identity)
    }

    /// A handle counting the server's running threads; it stays usable after the server
    /// is dropped.
    #[must_use]
    pub fn threads(&self) -> ThreadWatch {
        self.shared.threads.clone()
    }

    /// Stops accepting, ends every connection (open ones are dropped within ~50 ms, their
    /// records get [`ConnectionEnd::ServerShutdown`](super::ConnectionEnd::ServerShutdown))
    /// and joins the threads, waiting at most the builder's `join_bound`. Returns whether
    /// every thread ended in time. Records stay readable. Idempotent; drop calls it.
    pub fn shutdown(&self) -> bool {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + self.config.join_bound;
        let acceptor = self
            .acceptor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let acceptor_done = join_until(acceptor.into_iter().collect(), deadline);
        let connections = std::mem::take(
            &mut *self
                .shared
                .connection_threads
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let connections_done = join_until(connections, deadline);
        self.shared.notify();
        acceptor_done && connections_done
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accepted(messages: &[MessageRecord]) -> Vec<MessageRecord> {
    messages.iter().filter(|m| m.accepted).cloned().collect()
}
