//! What one AMI message is: its exact wire bytes and where its header lines end.
//!
//! A message is kept as the single byte buffer it arrived in (one allocation shared with
//! the read buffer, terminating blank line included) and the offset where its header
//! lines end. Lines, keys and values are found on demand (a SIMD scan of a few hundred
//! bytes costs less than building, keeping and freeing an index for every message of a
//! flood), so nothing is decoded, copied or lost:
//! repeated keys (`Output`, `Variable`, `ChanVariable(...)`), header order, non-UTF-8
//! bytes and values containing `: ` all survive untouched. Lookups are case-insensitive
//! because Asterisk itself spells the same key differently between events
//! (`BridgeID` in `Status`, `BridgeId` in `CoreShowChannel`).

use bytes::{Bytes, BytesMut};
use std::fmt;

/// One message as received (or as it will be sent): exact bytes, where its lines end.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    raw: Bytes,
    /// Where the header lines end: the start of the legacy body or of the terminating
    /// blank line. Every header line before it ends with `\n`.
    header_end: u32,
    /// The raw CLI text of a legacy (`Response: Follows`, Asterisk <= 13) `Command` reply.
    body: Option<(u32, u32)>,
}

/// How a message is classified. `Event` is checked before `Response` because
/// `OriginateResponse` is an event that carries `Response: Success|Failure`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Event,
    Response,
    /// Neither header: an action (when we build one) or something unexpected.
    Other,
}

impl Message {
    /// Builds a message from wire bytes and the offset where its header lines end.
    pub(crate) fn from_parts(raw: Bytes, header_end: u32, body: Option<(u32, u32)>) -> Self {
        debug_assert!(header_end as usize <= raw.len());
        Message {
            raw,
            header_end,
            body,
        }
    }

    /// Parses one complete message from bytes (lines ended by CRLF or LF, an optional
    /// terminating blank line). Intended for tests, recordings and building actions;
    /// the stream decoder in [`crate::ami::codec`] is the incremental version.
    pub fn parse(bytes: &[u8]) -> Message {
        let mut pos = 0usize;
        while pos < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i + 1);
            if trim_eol(&bytes[pos..end]).is_empty() {
                break;
            }
            pos = end;
        }
        let mut raw = BytesMut::from(bytes);
        if pos == bytes.len() {
            // No terminating blank line: add one so `wire()` is always a whole message
            // (and every header line ends with a line end).
            if !bytes.is_empty() && !bytes.ends_with(b"\n") {
                raw.extend_from_slice(b"\r\n");
                pos += 2;
            }
            raw.extend_from_slice(b"\r\n");
        }
        Message::from_parts(raw.freeze(), pos as u32, None)
    }

    /// Builds a message from ordered key/value pairs, written the way Asterisk writes them
    /// (`Key: Value\r\n`, a blank line at the end).
    pub fn from_headers<K: AsRef<[u8]>, V: AsRef<[u8]>>(headers: &[(K, V)]) -> Message {
        let mut raw = BytesMut::new();
        for (k, v) in headers {
            raw.extend_from_slice(k.as_ref());
            raw.extend_from_slice(b": ");
            raw.extend_from_slice(v.as_ref());
            raw.extend_from_slice(b"\r\n");
        }
        let header_end = raw.len() as u32;
        raw.extend_from_slice(b"\r\n");
        Message::from_parts(raw.freeze(), header_end, None)
    }

    /// A copy that owns exactly its own bytes. A received message shares the buffer of
    /// the socket read it came in (256 KiB): whatever keeps one message long after its
    /// neighbours are gone (the calls model) keeps a copy, not the whole read.
    pub fn unshared(&self) -> Message {
        Message {
            raw: Bytes::copy_from_slice(&self.raw),
            header_end: self.header_end,
            body: self.body,
        }
    }

    /// The exact bytes of the message, terminating blank line included.
    pub fn wire(&self) -> &Bytes {
        &self.raw
    }

    /// The header lines, one after another, with their line ends.
    fn header_block(&self) -> &[u8] {
        &self.raw[..self.header_end as usize]
    }

    /// Number of header lines (a count, not a lookup: it scans the message).
    pub fn len(&self) -> usize {
        memchr::memchr_iter(b'\n', self.header_block()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.header_end == 0
    }

    /// Every header line in order, without its line end.
    pub fn lines(&self) -> Lines<'_> {
        Lines {
            rest: self.header_block(),
        }
    }

    /// The header line at `index`, without its line end. Walks the lines before it:
    /// to visit them all, use [`Self::lines`] or [`Self::headers`].
    ///
    /// # Panics
    /// When `index` is not below [`Self::len`].
    pub fn line(&self, index: usize) -> &[u8] {
        match self.lines().nth(index) {
            Some(line) => line,
            None => panic!("header line {index} of a message with {}", self.len()),
        }
    }

    /// The header at `index` as (key, value). The key is everything before the first
    /// `:`; the value is the rest with one leading space removed (Asterisk's
    /// `Output:     text` keeps its meaningful indentation). A line without a colon is
    /// returned whole as the key with an empty value.
    pub fn header(&self, index: usize) -> (&[u8], &[u8]) {
        split_header(self.line(index))
    }

    /// Every header in order, repeated keys included.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.lines().map(split_header)
    }

    /// The header lines as one span of the wire bytes: from the first line's start to
    /// the last one's end, its line end left out.
    pub fn header_text(&self) -> &[u8] {
        trim_eol(self.header_block())
    }

    /// The first value of `key` (case-insensitive), as Asterisk's own lookup does.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        let key = key.as_bytes();
        self.headers()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// The first value of `key` as text, decoded lossily for display.
    pub fn get_str(&self, key: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.get(key).map(String::from_utf8_lossy)
    }

    /// Every value of `key` (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let key = key.as_bytes();
        self.headers()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// Whether `key` is present with `value` (both compared case-insensitively).
    pub fn is(&self, key: &str, value: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.eq_ignore_ascii_case(value.as_bytes()))
    }

    pub fn kind(&self) -> Kind {
        // Fast path: Asterisk puts `Event:` or `Response:` first.
        if self
            .lines()
            .next()
            .is_some_and(|line| split_header(line).0.eq_ignore_ascii_case(b"Event"))
        {
            return Kind::Event;
        }
        if self.get("Event").is_some() {
            Kind::Event
        } else if self.get("Response").is_some() {
            Kind::Response
        } else {
            Kind::Other
        }
    }

    /// The event name, if this is an event.
    pub fn event_name(&self) -> Option<&[u8]> {
        self.get("Event")
    }

    pub fn action_id(&self) -> Option<&[u8]> {
        self.get("ActionID")
    }

    /// The raw CLI text of a legacy `Response: Follows` command reply.
    pub fn legacy_body(&self) -> Option<&[u8]> {
        self.body.map(|(s, e)| &self.raw[s as usize..e as usize])
    }
}

/// The header lines of a [`Message`], without their line ends.
#[derive(Clone, Debug)]
pub struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', self.rest).map_or(self.rest.len(), |i| i + 1);
        let (line, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(trim_eol(line))
    }
}

impl std::iter::FusedIterator for Lines<'_> {}

impl fmt::Debug for Message {
    /// Shows headers in order, with any secret masked: `Debug` output ends up in logs
    /// and panic messages, where a secret must never appear.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        let is_login = self.is("Action", "Login");
        for (k, v) in self.headers() {
            let key = String::from_utf8_lossy(k);
            if crate::ami::message::is_secret_key(&key, is_login) {
                list.entry(&format_args!("{key}: ***"));
            } else {
                list.entry(&format_args!("{key}: {}", String::from_utf8_lossy(v)));
            }
        }
        if let Some(body) = self.legacy_body() {
            list.entry(&format_args!("<body {} bytes>", body.len()));
        }
        list.finish()
    }
}

/// Removes one line end: a final `\n`, then a `\r` before it (or a lone final `\r`).
/// The stray LF some PJSIP error messages carry (`found\n\r\n`) never reaches here
/// inside a line: the decoder splits at every `\n`, so it ends its own line.
pub(crate) fn trim_eol(line: &[u8]) -> &[u8] {
    let mut l = line;
    if let Some(rest) = l.strip_suffix(b"\n") {
        l = rest;
    }
    if let Some(rest) = l.strip_suffix(b"\r") {
        l = rest;
    }
    l
}

pub(crate) fn split_header(line: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b':', line) {
        Some(i) => {
            let value = &line[i + 1..];
            (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
        }
        None => (line, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_at_first_colon_and_keep_extra_spaces() {
        let m = Message::parse(b"Event: UserEvent\r\nColon: a: b: c\r\nOutput:     indented\r\nNoSpace:tight\r\nEmpty:\r\n\r\n");
        assert_eq!(m.get("colon"), Some(&b"a: b: c"[..]));
        assert_eq!(m.get("OUTPUT"), Some(&b"    indented"[..]));
        assert_eq!(m.get("NoSpace"), Some(&b"tight"[..]));
        assert_eq!(m.get("Empty"), Some(&b""[..]));
        assert_eq!(m.kind(), Kind::Event);
    }

    #[test]
    fn repeated_keys_are_kept_in_order() {
        let m = Message::parse(b"Response: Success\r\nOutput: one\r\nOutput: two\r\n\r\n");
        let all: Vec<_> = m.get_all("output").collect();
        assert_eq!(all, vec![&b"one"[..], &b"two"[..]]);
        assert_eq!(m.kind(), Kind::Response);
    }

    #[test]
    fn event_is_classified_before_response() {
        let m = Message::parse(b"Event: OriginateResponse\r\nResponse: Success\r\n\r\n");
        assert_eq!(m.kind(), Kind::Event);
    }

    #[test]
    fn lines_are_found_on_demand_with_either_line_end() {
        let m = Message::parse(b"Event: A\r\nBare: lf\nCr: \r\r\nLast: x\r\n\r\nNot: this\r\n");
        let lines: Vec<&[u8]> = m.lines().collect();
        assert_eq!(
            lines,
            [&b"Event: A"[..], b"Bare: lf", b"Cr: \r", b"Last: x"]
        );
        assert_eq!(m.len(), 4);
        assert_eq!(m.line(3), b"Last: x");
        assert_eq!(m.header(1), (&b"Bare"[..], &b"lf"[..]));
        assert_eq!(m.header_text(), b"Event: A\r\nBare: lf\nCr: \r\r\nLast: x");

        let unterminated = Message::parse(b"Action: Ping\r\nActionID: 7");
        assert_eq!(unterminated.len(), 2);
        assert_eq!(unterminated.get("actionid"), Some(&b"7"[..]));
        assert_eq!(
            unterminated.wire().as_ref(),
            b"Action: Ping\r\nActionID: 7\r\n\r\n"
        );

        let copy = m.unshared();
        assert_eq!(copy, m);
        assert_ne!(copy.wire().as_ptr(), m.wire().as_ptr());

        let empty = Message::parse(b"");
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
        assert_eq!(empty.lines().next(), None);
    }

    #[test]
    fn debug_masks_secrets() {
        let m = Message::from_headers(&[
            ("Action", "Login"),
            ("Username", "admin"),
            ("Secret", "amp111"),
        ]);
        let shown = format!("{m:?}");
        assert!(!shown.contains("amp111"), "{shown}");
        assert!(shown.contains("Secret: ***"));
    }
}
