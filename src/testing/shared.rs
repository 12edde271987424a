//! State shared between the [`Server`](super::Server) handle and its threads: the records,
//! the shutdown flag, thread handles and counters.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::record::{ConnectionEnd, ConnectionRecord, MessageRecord};
use super::threads::ThreadWatch;

/// Everything recorded so far.
#[derive(Debug, Default)]
pub(crate) struct Records {
    pub(crate) connections: Vec<ConnectionRecord>,
    pub(crate) messages: Vec<MessageRecord>,
}

/// Shared by the server handle, the acceptor and every connection thread.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) shutdown: Arc<AtomicBool>,
    records: Mutex<Records>,
    changed: Condvar,
    pub(crate) threads: ThreadWatch,
    pub(crate) connection_threads: Mutex<Vec<JoinHandle<()>>>,
    /// Connections currently being served (for the simultaneous-connection cap).
    pub(crate) active: AtomicUsize,
}

impl Shared {
    /// Locks the records. A thread that panicked while holding the lock cannot have left
    /// them inconsistent in a way that matters to a test, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a newly accepted connection and returns its number (1-based).
    pub(crate) fn open_connection(&self, peer: SocketAddr, implicit_tls: bool) -> u64 {
        let mut records = self.lock();
        let number = records.connections.len() as u64 + 1;
        records
            .connections
            .push(ConnectionRecord::new(number, peer, implicit_tls));
        drop(records);
        self.changed.notify_all();
        number
    }

    /// Changes the record of connection `number`.
    pub(crate) fn update_connection(
        &self,
        number: u64,
        change: impl FnOnce(&mut ConnectionRecord),
    ) {
        let mut records = self.lock();
        let index = usize::try_from(number.saturating_sub(1)).unwrap_or(usize::MAX);
        if let Some(record) = records.connections.get_mut(index) {
            change(record);
        }
    }

    /// Records how connection `number` ended.
    pub(crate) fn end_connection(&self, number: u64, end: ConnectionEnd) {
        self.update_connection(number, |record| record.end = Some(end));
        self.changed.notify_all();
    }

    /// Adds a message record.
    pub(crate) fn publish_message(&self, message: MessageRecord) {
        self.lock().messages.push(message);
        self.changed.notify_all();
    }

    /// Runs `view` on the records under the lock.
    pub(crate) fn read<T>(&self, view: impl FnOnce(&Records) -> T) -> T {
        view(&self.lock())
    }

    /// Calls `ready` on the records each time they change until it returns `Some` or
    /// `timeout` passes; returns the last answer.
    pub(crate) fn wait_for<T>(
        &self,
        timeout: Duration,
        mut ready: impl FnMut(&Records) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut records = self.lock();
        loop {
            if let Some(value) = ready(&records) {
                return Some(value);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            records = self
                .changed
                .wait_timeout(records, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Wakes waiters (after shutdown).
    pub(crate) fn notify(&self) {
        self.changed.notify_all();
    }
}
