//! When to try again: the bound on attempts and the delay before each reconnection.
//!
//! The delay before the `k`-th dial that follows a failure within one send is:
//!
//! | redial `k` | nominal delay                  |
//! |-----------:|--------------------------------|
//! | 1          | none: the first redial is immediate |
//! | 2          | `base`                         |
//! | 3          | `2·base`                       |
//! | `k`        | `base·2^(k-2)`, at most `cap`  |
//!
//! With [`Jitter::Random`] (the default) or [`Jitter::Seeded`], each nonzero delay is then
//! drawn uniformly within ±20 % of its nominal value, and never above `cap`.

use std::time::Duration;

/// The default bound on attempts for one send, the first included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// The default delay before the second redial.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_secs(1);
/// The default longest delay between two attempts.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(5 * 60);
/// How far a jittered delay may stray from its nominal value, in percent.
pub const JITTER_PERCENT: u64 = 20;

/// How the delays between attempts are spread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the nominal delays: for tests that check the schedule.
    None,
    /// Within ±20 % of nominal, from a generator seeded by the operating system, so that
    /// many mailers failing together do not come back together.
    #[default]
    Random,
    /// Within ±20 % of nominal, from a generator seeded with this value: the same seed gives
    /// the same delays.
    Seeded(u64),
}

/// The delays between attempts: exponential from `base`, capped at `cap`, with jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the second redial; each later one doubles it.
    pub base: Duration,
    /// The longest delay.
    pub cap: Duration,
    /// How delays are spread around their nominal value.
    pub jitter: Jitter,
}

impl Default for Backoff {
    /// 1 s base, 5 min cap, random jitter (boulder's numbers).
    fn default() -> Backoff {
        Backoff {
            base: DEFAULT_BACKOFF_BASE,
            cap: DEFAULT_BACKOFF_CAP,
            jitter: Jitter::Random,
        }
    }
}

impl Backoff {
    /// The delay before the `redial`-th dial after a failure (1-based), before jitter:
    /// zero for the first, then `base·2^(redial-2)`, at most `cap`. Zero for `redial` 0.
    pub fn nominal_delay(&self, redial: u32) -> Duration {
        let Some(doublings) = redial.checked_sub(2) else {
            return Duration::ZERO;
        };
        let base = self.base.as_nanos();
        // 2^doublings overflows u128 past 127 doublings; the cap applies long before.
        let nanos = 1u128
            .checked_shl(doublings)
            .and_then(|factor| base.checked_mul(factor))
            .unwrap_or(u128::MAX);
        duration_from_nanos(nanos.min(self.cap.as_nanos()))
    }

    /// The delay before the `redial`-th dial after a failure, jittered with `source`.
    pub(crate) fn delay(&self, redial: u32, source: &mut JitterSource) -> Duration {
        let nominal = self.nominal_delay(redial);
        if nominal.is_zero() {
            return nominal;
        }
        let Some(random) = source.next() else {
            return nominal;
        };
        // A factor in [100 - J, 100 + J] percent, in millionths for a fine spread.
        let spread = 2 * JITTER_PERCENT * 10_000;
        let millionths = u128::from((100 - JITTER_PERCENT) * 10_000 + random % (spread + 1));
        let jittered = nominal.as_nanos().saturating_mul(millionths) / 1_000_000;
        duration_from_nanos(jittered.min(self.cap.as_nanos()))
    }
}

/// A duration of `nanos` nanoseconds, saturating at [`Duration::MAX`].
fn duration_from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    // The remainder is below 10^9, which fits in u32.
    let subsec = u32::try_from(nanos % NANOS_PER_SEC).unwrap_or(0);
    Duration::new(secs, subsec)
}

/// The random numbers behind [`Jitter`]: SplitMix64, which needs no more than a seed. Not
/// for secrets; it only spreads retries.
#[derive(Clone, Debug)]
pub(crate) struct JitterSource {
    state: Option<u64>,
}

impl JitterSource {
    pub(crate) fn new(jitter: Jitter) -> JitterSource {
        let state = match jitter {
            Jitter::None => None,
            Jitter::Seeded(seed) => Some(seed),
            Jitter::Random => Some(getrandom::u64().unwrap_or_else(|_| fallback_seed())),
        };
        JitterSource { state }
    }

    /// The next number, or `None` without jitter.
    fn next(&mut self) -> Option<u64> {
        let state = self.state.as_mut()?;
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Some(z ^ (z >> 31))
    }
}

/// A seed when the operating system has no randomness to give: the clock's nanoseconds.
fn fallback_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // Truncation keeps the fast-moving low bits, which is all a seed needs here.
    nanos as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff(base_ms: u64, cap_ms: u64, jitter: Jitter) -> Backoff {
        Backoff {
            base: Duration::from_millis(base_ms),
            cap: Duration::from_millis(cap_ms),
            jitter,
        }
    }

    #[test]
    fn nominal_schedule_starts_immediate_then_doubles_up_to_the_cap() {
        let b = backoff(100, 1000, Jitter::None);
        let schedule: Vec<u64> = (0..8)
            .map(|k| b.nominal_delay(k).as_millis() as u64)
            .collect();
        assert_eq!(schedule, [0, 0, 100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn huge_redial_numbers_saturate_at_the_cap() {
        let b = backoff(1000, 300_000, Jitter::None);
        assert_eq!(b.nominal_delay(u32::MAX), Duration::from_secs(300));
        assert_eq!(b.nominal_delay(200), Duration::from_secs(300));
        let unbounded = Backoff {
            base: Duration::MAX,
            cap: Duration::MAX,
            jitter: Jitter::None,
        };
        assert_eq!(unbounded.nominal_delay(3), Duration::MAX);
    }

    #[test]
    fn without_jitter_delays_are_nominal() {
        let b = backoff(100, 10_000, Jitter::None);
        let mut source = JitterSource::new(b.jitter);
        for k in 0..10 {
            assert_eq!(b.delay(k, &mut source), b.nominal_delay(k));
        }
    }

    #[test]
    fn jittered_delays_stay_within_twenty_percent_and_below_the_cap() {
        let b = backoff(1000, 6000, Jitter::Seeded(7));
        let mut source = JitterSource::new(b.jitter);
        let mut differs = false;
        for round in 0..200 {
            let k = round % 8;
            let nominal = b.nominal_delay(k).as_nanos();
            let delay = b.delay(k, &mut source).as_nanos();
            assert!(delay * 100 >= nominal * 80, "{delay} < 80% of {nominal}");
            assert!(delay * 100 <= nominal * 120, "{delay} > 120% of {nominal}");
            assert!(delay <= b.cap.as_nanos());
            differs |= delay != nominal;
        }
        assert!(differs, "jitter never moved a delay");
        assert_eq!(b.delay(1, &mut source), Duration::ZERO);
    }

    #[test]
    fn a_seed_gives_the_same_delays_every_time() {
        let b = backoff(1000, 60_000, Jitter::Seeded(42));
        let run = || {
            let mut source = JitterSource::new(b.jitter);
            (0..6).map(|k| b.delay(k, &mut source)).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
