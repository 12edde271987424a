//! Time for the mailer: a [`Clock`] reads the time and sleeps, so that tests can replace it.
//!
//! The mailer reads its clock for the whole-send deadline and sleeps on it between
//! reconnections. Socket waits are not on this clock: the connection gets the *time left*
//! on the mailer's clock, turned into a real deadline when each attempt starts.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Where the mailer reads the time and how it waits between attempts.
///
/// Implementations must be cheap to call and must not panic.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Instant;
    /// Waits for `duration` (or, for a test clock, records the wait and moves time on).
    fn sleep(&self, duration: Duration);
}

/// The operating system's clock: [`Instant::now`] and [`std::thread::sleep`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A clock for tests: it starts at the real time of its creation, moves only when told to
/// ([`ManualClock::advance`]) or when the mailer sleeps on it, and records every sleep
/// instead of sleeping.
///
/// ```
/// use smtpwire::mailer::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.sleep(Duration::from_secs(2)); // returns at once
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now() - start, Duration::from_secs(62));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(2)]);
/// ```
pub struct ManualClock {
    state: Mutex<ManualState>,
}

struct ManualState {
    now: Instant,
    sleeps: Vec<Duration>,
}

/// The most sleeps a [`ManualClock`] records; later ones still move its time.
pub const MANUAL_CLOCK_SLEEP_LOG_CAP: usize = 10_000;

impl ManualClock {
    /// A clock standing at the current real time, with no sleep recorded.
    pub fn new() -> ManualClock {
        ManualClock {
            state: Mutex::new(ManualState {
                now: Instant::now(),
                sleeps: Vec::new(),
            }),
        }
    }

    /// Moves the time forward by `duration` without recording a sleep (a pause in the
    /// caller's program, say). Saturates instead of overflowing.
    pub fn advance(&self, duration: Duration) {
        let mut state = self.lock();
        state.now = state.now.checked_add(duration).unwrap_or(state.now);
    }

    /// Every sleep so far, in order (at most [`MANUAL_CLOCK_SLEEP_LOG_CAP`]).
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    /// The sum of every sleep so far.
    pub fn slept(&self) -> Duration {
        self.lock().sleeps.iter().sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // A panic while holding the lock cannot leave the state half-changed: every change
        // is a single assignment or push.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ManualClock {
    fn default() -> ManualClock {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.lock().now
    }

    fn sleep(&self, duration: Duration) {
        let mut state = self.lock();
        state.now = state.now.checked_add(duration).unwrap_or(state.now);
        if state.sleeps.len() < MANUAL_CLOCK_SLEEP_LOG_CAP {
            state.sleeps.push(duration);
        }
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("ManualClock")
            .field("sleeps", &state.sleeps.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.sleep(Duration::from_millis(1500));
        clock.advance(Duration::from_secs(10));
        clock.sleep(Duration::from_secs(3));
        assert_eq!(clock.now() - start, Duration::from_millis(14_500));
        assert_eq!(
            clock.sleeps(),
            [Duration::from_millis(1500), Duration::from_secs(3)]
        );
        assert_eq!(clock.slept(), Duration::from_millis(4500));
    }

    #[test]
    fn manual_clock_saturates_instead_of_panicking() {
        let clock = ManualClock::new();
        clock.advance(Duration::MAX);
        clock.sleep(Duration::MAX);
        assert_eq!(clock.sleeps().len(), 1);
    }
}
