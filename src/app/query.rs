//! The one place the TUI touches the filter language, so the log and the filter bar do not
//! care where it comes from.
//!
//! TEMPORARY: `crate::filter` (the shared filter language) has not landed on main yet.
//! Until it does, this holds a deliberately small stand-in with the same API: every word
//! of the query must occur in the message's raw text (case-insensitive); `"..."` quotes
//! a phrase. It is replaced by `pub use crate::filter::{Filter, FilterError};` at merge.

use crate::ami::Message;
use std::ops::Range;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    pub span: Range<usize>,
    pub message: String,
}

#[derive(Clone, Debug, Default)]
pub struct Filter {
    words: Vec<Vec<u8>>,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let mut words = Vec::new();
        let mut rest = text.char_indices().peekable();
        while let Some((start, c)) = rest.next() {
            if c.is_whitespace() {
                continue;
            }
            if c == '"' {
                let Some(end) = text[start + 1..].find('"').map(|i| start + 1 + i) else {
                    return Err(FilterError {
                        span: start..text.len(),
                        message: "unterminated quote".into(),
                    });
                };
                words.push(text[start + 1..end].to_ascii_lowercase().into_bytes());
                while rest.peek().is_some_and(|(i, _)| *i <= end) {
                    rest.next();
                }
                continue;
            }
            let end = text[start..]
                .find(char::is_whitespace)
                .map_or(text.len(), |i| start + i);
            words.push(text[start..end].to_ascii_lowercase().into_bytes());
            while rest.peek().is_some_and(|(i, _)| *i < end) {
                rest.next();
            }
        }
        Ok(Filter { words })
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub fn matches_named(&self, message: &Message, _action: Option<&[u8]>) -> bool {
        let wire = message.wire();
        self.words.iter().all(|w| contains_ignore_case(wire, w))
    }
}

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
