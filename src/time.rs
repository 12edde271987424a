//! Time as the sans-IO core sees it: a point measured from an epoch the driver chooses.
//!
//! The core never reads a clock. Every call that can change state takes a [`Timestamp`], and
//! the session reports its next deadline as one. A blocking driver typically takes
//! `std::time::Instant::now()` once when it opens the connection and passes the time elapsed
//! since then.

use core::time::Duration;

/// A point in time, as a duration since an epoch chosen by whoever drives the core.
///
/// Only differences between timestamps of the same driver mean anything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The driver's epoch.
    pub const ZERO: Timestamp = Timestamp(Duration::ZERO);

    /// The point `since_epoch` after the driver's epoch.
    pub const fn from_duration(since_epoch: Duration) -> Timestamp {
        Timestamp(since_epoch)
    }

    /// The time elapsed from the driver's epoch to this point.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// This point moved `later` into the future, saturating at the largest representable time.
    pub fn saturating_add(self, later: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(later))
    }

    /// The time from `earlier` to this point, or zero when `earlier` is later than this point.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let late = Timestamp::from_duration(Duration::MAX);
        assert_eq!(late.saturating_add(Duration::from_secs(1)), late);
        let t = Timestamp::from_duration(Duration::from_secs(5));
        assert_eq!(Timestamp::ZERO.saturating_duration_since(t), Duration::ZERO);
        assert_eq!(
            t.saturating_duration_since(Timestamp::ZERO),
            Duration::from_secs(5)
        );
    }
}
