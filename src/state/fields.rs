//! Reading header values the way every part of the state model needs them: trimmed text,
//! numbers, and Asterisk's many spellings of "nothing" (`none`, `<unknown>`, `<null>`),
//! which must never become a channel or a call.

use crate::ami::Message;

/// A header's value as trimmed text; empty when absent.
pub(crate) fn text(msg: &Message, key: &str) -> String {
    msg.get(key)
        .map(|v| String::from_utf8_lossy(v.trim_ascii()).into_owned())
        .unwrap_or_default()
}

/// A header's value as trimmed text, `None` when absent.
pub(crate) fn opt(msg: &Message, key: &str) -> Option<String> {
    msg.get(key)
        .map(|v| String::from_utf8_lossy(v.trim_ascii()).into_owned())
}

/// The first header present among `keys` (Asterisk renamed some between versions).
pub(crate) fn first_of(msg: &Message, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| opt(msg, k))
}

/// A caller ID field: `<unknown>` is Asterisk's way of saying empty.
pub(crate) fn party_field(msg: &Message, key: &str) -> Option<String> {
    opt(msg, key).map(|v| if v == "<unknown>" { String::new() } else { v })
}

pub(crate) fn number<T: std::str::FromStr>(msg: &Message, key: &str) -> Option<T> {
    opt(msg, key).and_then(|v| v.parse().ok())
}

/// `1`, `true`, `yes` (any case) are true.
pub(crate) fn flag(msg: &Message, key: &str) -> Option<bool> {
    opt(msg, key).map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// Whether a Uniqueid, Linkedid or channel name is one of Asterisk's placeholders for
/// "no channel": a global `Setvar` says `Channel: none`, `Uniqueid: none`; a failed
/// Originate says `Uniqueid: <unknown>`.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || v.eq_ignore_ascii_case("none")
        || v.eq_ignore_ascii_case("<unknown>")
        || v.eq_ignore_ascii_case("<null>")
        || v == "(null)"
}

/// `HH:MM:SS` (as `CoreShowChannel` gives `Duration`), or plain seconds.
pub fn parse_hms(value: &str) -> Option<u64> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut parts = 0;
    for part in v.split(':') {
        parts += 1;
        if parts > 3 {
            return None;
        }
        let n: u64 = part.trim().parse().ok()?;
        total = total.checked_mul(60)?.checked_add(n)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_hms("00:00:01"), Some(1));
        assert_eq!(parse_hms("01:02:03"), Some(3723));
        assert_eq!(parse_hms("100:00:00"), Some(360_000));
        assert_eq!(parse_hms("42"), Some(42));
        assert_eq!(parse_hms(""), None);
        assert_eq!(parse_hms("1:2:3:4"), None);
        assert_eq!(parse_hms("x"), None);
    }

    #[test]
    fn placeholders() {
        for p in ["none", "None", "<unknown>", "<null>", "", "  "] {
            assert!(is_placeholder(p), "{p:?}");
        }
        assert!(!is_placeholder("1796354641.458"));
    }
}
