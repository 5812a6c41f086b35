//! UTC timestamps as text for JSON output, recordings and the demo's `EventTV` and
//! `CoreStatus`, through `humantime`'s RFC 3339 formatting and parsing, so every front
//! end prints the same dates and no calendar arithmetic is written by hand.
//!
//! humantime covers 1970-01-01 to 9999-12-31 and panics outside; only a broken clock
//! gives such a time (recordings before 1970 are refused when read), so it is clamped
//! to the nearest end of that range instead.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The last instant humantime formats: 9999-12-31T23:59:59.999999999Z.
const LAST: Duration = Duration::new(253_402_300_799, 999_999_999);

fn clamped(at: SystemTime) -> SystemTime {
    match at.duration_since(UNIX_EPOCH) {
        Ok(since) if since <= LAST => at,
        Ok(_) => UNIX_EPOCH + LAST,
        Err(_) => UNIX_EPOCH,
    }
}

/// `2026-11-28T20:01:02.123456Z`, for `write!` or `to_string`.
pub(crate) fn rfc3339_micros(at: SystemTime) -> humantime::Rfc3339Timestamp {
    humantime::format_rfc3339_micros(clamped(at))
}

/// `2026-11-28T20:01:02.123Z`
pub(crate) fn rfc3339_millis(at: SystemTime) -> humantime::Rfc3339Timestamp {
    humantime::format_rfc3339_millis(clamped(at))
}

/// Reads `2026-11-28T20:01:02.123456Z` (any number of fraction digits up to nine, or
/// none) back.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, micros: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, micros * 1000)
    }

    #[test]
    fn dates_are_utc_across_leap_days_and_the_epoch() {
        assert_eq!(
            rfc3339_micros(at(0, 0)).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            rfc3339_micros(at(951_782_400, 5)).to_string(),
            "2000-02-29T00:00:00.000005Z"
        );
        assert_eq!(
            rfc3339_millis(at(1_795_896_062, 123_456)).to_string(),
            "2026-11-28T20:01:02.123Z"
        );
    }

    #[test]
    fn times_outside_what_humantime_formats_are_clamped_not_a_panic() {
        let before = UNIX_EPOCH - Duration::from_micros(1);
        assert_eq!(
            rfc3339_micros(before).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(
            rfc3339_micros(far).to_string(),
            "9999-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn written_times_read_back() {
        for t in [at(0, 0), at(951_782_400, 5), at(1_795_896_062, 123_456)] {
            assert_eq!(parse_rfc3339(&rfc3339_micros(t).to_string()), Some(t));
        }
        assert_eq!(
            parse_rfc3339("2026-11-28T20:01:02Z"),
            Some(at(1_795_896_062, 0))
        );
        assert_eq!(parse_rfc3339("not a time"), None);
    }
}
