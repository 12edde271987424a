//! The `Date` header: RFC 5322 §3.3 date-time in UTC, computed from [`SystemTime`] without a
//! time-zone database.

use super::error::DateOutOfRange;
use std::string::String;
use std::time::{SystemTime, UNIX_EPOCH};

const DAY_NAMES: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const SECONDS_PER_DAY: i64 = 86_400;
const FIRST_YEAR: i64 = 1900;
const LAST_YEAR: i64 = 9999;

/// Formats `time` as an RFC 5322 date-time in UTC, such as `Sat, 28 Nov 2026 23:47:35 +0000`
/// (day of the month in two digits, fractions of a second dropped).
///
/// Fails for times before 1900 (RFC 5322 §3.3 wants "1900 or later") or after 9999.
pub fn format_rfc5322_date(time: SystemTime) -> Result<String, DateOutOfRange> {
    let seconds = unix_seconds(time).ok_or(DateOutOfRange)?;
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Err(DateOutOfRange);
    }
    // 1970-01-01 was a Thursday, DAY_NAMES[0]; rem_euclid(7) is in 0..7.
    let weekday = DAY_NAMES[days.rem_euclid(7) as usize];
    // civil_from_days returns a month in 1..=12.
    let month_name = MONTH_NAMES[(month - 1) as usize];
    Ok(format!(
        "{weekday}, {day:02} {month_name} {year} {:02}:{:02}:{:02} +0000",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    ))
}

/// Whole seconds since 1970-01-01T00:00:00Z, rounded down (so half a second before the
/// epoch is -1), or `None` when that does not fit an `i64`.
fn unix_seconds(time: SystemTime) -> Option<i64> {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).ok(),
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).ok()?;
            let partial = i64::from(before.subsec_nanos() > 0);
            whole.checked_neg()?.checked_sub(partial)
        }
    }
}

/// The proleptic Gregorian (year, month 1..=12, day 1..=31) of the day `days` after
/// 1970-01-01, by Howard Hinnant's `civil_from_days`: count 400-year eras from 0000-03-01 so
/// the leap day is the last day of each year.
///
/// `days` comes from an `i64` of seconds divided by 86 400, so every product below stays
/// far from `i64` overflow.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    const DAYS_PER_ERA: i64 = 146_097;
    let shifted = days + 719_468; // days from 0000-03-01
    let era = shifted.div_euclid(DAYS_PER_ERA);
    let day_of_era = shifted.rem_euclid(DAYS_PER_ERA); // 0..=146_096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_based_month = (5 * day_of_year + 2) / 153; // 0 = March .. 11 = February
    let day = day_of_year - (153 * march_based_month + 2) / 5 + 1;
    let month = if march_based_month < 10 {
        march_based_month + 3
    } else {
        march_based_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(seconds: i64) -> SystemTime {
        if seconds >= 0 {
            UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
        }
    }

    #[test]
    fn civil_dates_round_trip_against_a_day_by_day_walk() {
        // Walk forward one day at a time from 1900-01-01 (-25567 days) to 2100-12-31 and
        // check every day against a calendar kept by hand.
        let (mut year, mut month, mut day) = (1900, 1, 1);
        for days in -25_567..=47_846 {
            assert_eq!(civil_from_days(days), (year, month, day), "day {days}");
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let month_len = match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            day += 1;
            if day > month_len {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
        assert_eq!((year, month, day), (2101, 1, 1));
    }

    #[test]
    fn fractions_before_the_epoch_round_down() {
        let half_before = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(unix_seconds(half_before), Some(-1));
        assert_eq!(
            format_rfc5322_date(half_before).as_deref(),
            Ok("Wed, 31 Dec 1969 23:59:59 +0000")
        );
        assert_eq!(
            unix_seconds(UNIX_EPOCH + Duration::from_millis(999)),
            Some(0)
        );
    }

    #[test]
    fn years_outside_1900_to_9999_are_refused() {
        assert_eq!(
            format_rfc5322_date(at(-2_208_988_800)).as_deref(),
            Ok("Mon, 01 Jan 1900 00:00:00 +0000")
        );
        assert_eq!(format_rfc5322_date(at(-2_208_988_801)), Err(DateOutOfRange));
        assert_eq!(
            format_rfc5322_date(at(253_402_300_799)).as_deref(),
            Ok("Fri, 31 Dec 9999 23:59:59 +0000")
        );
        assert_eq!(
            format_rfc5322_date(at(253_402_300_800)),
            Err(DateOutOfRange)
        );
    }
}
