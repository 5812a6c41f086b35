//! Writing messages the way Asterisk writes them: `Key: Value\r\n` lines with exactly one
//! space after the colon and a blank line at the end, straight into a byte buffer, so the
//! simulator and the protocol share one fast, allocation-light encoder.

use bytes::{BufMut, Bytes, BytesMut};

/// Event classes (`EVENT_FLAG_*` in Asterisk's `manager.h`), PROTOCOL §14.
pub mod class {
    pub const SYSTEM: u32 = 1;
    pub const CALL: u32 = 1 << 1;
    pub const LOG: u32 = 1 << 2;
    pub const VERBOSE: u32 = 1 << 3;
    pub const COMMAND: u32 = 1 << 4;
    pub const AGENT: u32 = 1 << 5;
    pub const USER: u32 = 1 << 6;
    pub const CONFIG: u32 = 1 << 7;
    pub const DTMF: u32 = 1 << 8;
    pub const REPORTING: u32 = 1 << 9;
    pub const CDR: u32 = 1 << 10;
    pub const DIALPLAN: u32 = 1 << 11;
    pub const ORIGINATE: u32 = 1 << 12;
    pub const AGI: u32 = 1 << 13;
    pub const CC: u32 = 1 << 15;
    pub const AOC: u32 = 1 << 16;
    pub const TEST: u32 = 1 << 17;
    pub const SECURITY: u32 = 1 << 18;
    pub const MESSAGE: u32 = 1 << 30;
    pub const ALL: u32 = u32::MAX;

    /// Class names as `strings_to_mask()` knows them (lowercase, exact).
    pub const NAMES: &[(&str, u32)] = &[
        ("system", SYSTEM),
        ("call", CALL),
        ("log", LOG),
        ("verbose", VERBOSE),
        ("command", COMMAND),
        ("agent", AGENT),
        ("user", USER),
        ("config", CONFIG),
        ("dtmf", DTMF),
        ("reporting", REPORTING),
        ("cdr", CDR),
        ("dialplan", DIALPLAN),
        ("originate", ORIGINATE),
        ("agi", AGI),
        ("cc", CC),
        ("aoc", AOC),
        ("test", TEST),
        ("security", SECURITY),
        ("message", MESSAGE),
        ("all", ALL),
    ];
}

/// Builds one or more messages into a single buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: BytesMut,
}

impl Writer {
    pub fn new() -> Self {
        Writer {
            buf: BytesMut::with_capacity(512),
        }
    }

    /// Starts an unsolicited event: `Event:` then `Privilege: <class>,all`.
    pub fn event(name: &str, privilege: &str) -> Self {
        let mut w = Writer::new();
        w.header("Event", name).header("Privilege", privilege);
        w
    }

    /// Starts a response: `Response:`, the ActionID when the action had a non-empty one,
    /// then `Message:` when given (the order of `astman_send_response_full()`).
    pub fn response(status: &str, action_id: Option<&[u8]>, message: Option<&str>) -> Self {
        let mut w = Writer::new();
        w.header("Response", status);
        w.action_id(action_id);
        if let Some(message) = message {
            w.header("Message", message);
        }
        w
    }

    pub fn header(&mut self, key: &str, value: impl AsRef<[u8]>) -> &mut Self {
        let value = value.as_ref();
        self.buf.reserve(key.len() + value.len() + 4);
        self.buf.put_slice(key.as_bytes());
        self.buf.put_slice(b": ");
        self.buf.put_slice(value);
        self.buf.put_slice(b"\r\n");
        self
    }

    /// `ActionID: ...` when the action carried a non-empty one.
    pub fn action_id(&mut self, action_id: Option<&[u8]>) -> &mut Self {
        if let Some(id) = action_id.filter(|id| !id.is_empty()) {
            self.header("ActionID", id);
        }
        self
    }

    /// Ends the current message (blank line); more may follow in the same buffer.
    pub fn end(&mut self) -> &mut Self {
        self.buf.put_slice(b"\r\n");
        self
    }

    /// Ends the message and hands over the bytes.
    pub fn finish(mut self) -> Bytes {
        self.end();
        self.buf.freeze()
    }

    /// The bytes written so far, without ending the current message.
    pub fn into_bytes(self) -> Bytes {
        self.buf.freeze()
    }
}

/// C-escapes a value as Asterisk 13.5+ does for caller names and `VarSet` values
/// (`ast_escape_c_alloc()`, PROTOCOL §4.4).
pub fn escape_c(value: &str) -> std::borrow::Cow<'_, str> {
    if !value
        .bytes()
        .any(|b| matches!(b, 7..=13 | b'\\' | b'\'' | b'"' | b'?'))
    {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '?' => out.push_str("\\?"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_omits_an_empty_action_id() {
        let bytes = Writer::response("Success", Some(b""), Some("ok")).finish();
        assert_eq!(&bytes[..], b"Response: Success\r\nMessage: ok\r\n\r\n");
    }

    #[test]
    fn escape_matches_the_captured_form() {
        assert_eq!(escape_c("O'Brien?"), "O\\'Brien\\?");
        assert_eq!(escape_c("a\tb"), "a\\tb");
        assert_eq!(escape_c("Zoë 山田"), "Zoë 山田");
    }
}
