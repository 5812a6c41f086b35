//! Timestamps as the outputs write them: UTC ISO-8601 with microseconds for JSON and
//! recordings (humantime's RFC 3339, see `crate::time`), UTC `HH:MM:SS.mmm` for one-line
//! output (time of day only, by hand: no calendar, and `write!` would cost more than the
//! rest of a short line).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch (negative before it) and the microseconds within.
fn split_time(at: SystemTime) -> (i64, u32) {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs().min(i64::MAX as u64) as i64, d.subsec_micros()),
        Err(e) => {
            let d = e.duration();
            let secs = -(d.as_secs().min(i64::MAX as u64 - 1) as i64);
            match d.subsec_micros() {
                0 => (secs, 0),
                us => (secs - 1, 1_000_000 - us),
            }
        }
    }
}

/// `2026-11-28T20:01:02.123456Z`, as JSON output and recordings write times.
pub fn iso8601(at: SystemTime) -> String {
    crate::time::rfc3339_micros(at).to_string()
}

/// `20:01:02.123` (UTC)
pub(super) fn push_hms(out: &mut String, at: SystemTime) {
    let (secs, micros) = split_time(at);
    let of_day = secs.rem_euclid(86_400) as u32;
    // By hand: `write!` costs more than the rest of a short line.
    push_digits(out, of_day / 3600, 2);
    out.push(':');
    push_digits(out, of_day / 60 % 60, 2);
    out.push(':');
    push_digits(out, of_day % 60, 2);
    out.push('.');
    push_digits(out, micros / 1000, 3);
}

/// `value` as exactly `width` decimal digits (zero-padded; `value` must fit).
fn push_digits(out: &mut String, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width - 1);
    while divisor > 0 {
        out.push(char::from(b'0' + (value / divisor % 10) as u8));
        divisor /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::test_support::*;

    #[test]
    fn times_are_utc_civil_dates() {
        assert_eq!(iso8601(at(0, 0)), "1970-01-01T00:00:00.000000Z");
        // A leap day.
        assert_eq!(iso8601(at(951_782_400, 5)), "2000-02-29T00:00:00.000005Z");
        // Only a broken clock is before the epoch: clamped, not a panic.
        assert_eq!(
            iso8601(UNIX_EPOCH - Duration::from_micros(1)),
            "1970-01-01T00:00:00.000000Z"
        );
        let mut s = String::new();
        push_hms(&mut s, at(1_795_896_062, 999_999));
        assert_eq!(s, "20:01:02.999");
    }
}
