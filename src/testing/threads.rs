//! Counting and joining the server's threads.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::transport::POLL;

/// A handle that counts the server's running threads (acceptor and connections). It
/// outlives the [`Server`](super::Server), so a test can check that dropping the server
/// ended every thread.
#[derive(Clone, Debug, Default)]
pub struct ThreadWatch(Arc<AtomicUsize>);

impl ThreadWatch {
    /// Threads started by the server that have not finished yet.
    #[must_use]
    pub fn running(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Spawns a named thread counted by this watch (until `work` returns or panics).
    pub(crate) fn spawn(
        &self,
        name: String,
        work: impl FnOnce() + Send + 'static,
    ) -> io::Result<JoinHandle<()>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let guard = RunningGuard(Arc::clone(&self.0));
        thread::Builder::new().name(name).spawn(move || {
            let _guard = guard;
            work();
        })
        // On a spawn error the closure (and the guard in it) is dropped, undoing the count.
    }
}

/// Decrements the running count when the thread ends, even by panic.
struct RunningGuard(Arc<AtomicUsize>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Joins `handles`, waiting at most until `deadline`; returns whether all of them ended.
/// Handles still running at the deadline are dropped (their threads detach).
pub(crate) fn join_until(handles: Vec<JoinHandle<()>>, deadline: Instant) -> bool {
    let mut pending = handles;
    loop {
        let (finished, running): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(JoinHandle::is_finished);
        for handle in finished {
            // The thread has finished, so join returns at once; a panic in it was already
            // reported by the panic hook.
            let _ = handle.join();
        }
        if running.is_empty() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            log::warn!(
                "{} test-server threads still running at the join bound",
                running.len()
            );
            return false;
        }
        thread::sleep(POLL.min(deadline - now).max(Duration::from_millis(1)));
        pending = running;
    }
}
