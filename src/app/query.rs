//! The one place the TUI touches the filter language (`crate::filter`), plus the plain
//! case-insensitive text search behind `/`.

pub use crate::filter::{Filter, FilterError};

/// Case-insensitive (ASCII) search of `needle` (already lower-case) in `haystack`.
pub fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.len() > haystack.len() {
        return false;
    }
    let first = needle[0];
    let upper = first.to_ascii_uppercase();
    let mut from = 0;
    while let Some(i) = memchr::memchr2(first, upper, &haystack[from..]) {
        let at = from + i;
        if haystack.len() - at < needle.len() {
            return false;
        }
        if haystack[at..at + needle.len()].eq_ignore_ascii_case(needle) {
            return true;
        }
        from = at + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::contains_ignore_case;

    #[test]
    fn search_ignores_ascii_case_and_finds_late_matches() {
        assert!(contains_ignore_case(b"Event: HANGUP\r\n", b"hangup"));
        assert!(contains_ignore_case(b"hhhhangup", b"hangup"));
        assert!(!contains_ignore_case(b"Event: Hang", b"hangup"));
        assert!(contains_ignore_case(b"", b""));
    }
}
