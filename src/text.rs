//! Text made safe for a terminal, shared by the app state (notifications) and the
//! drawing code, so the state never calls into `ui`.

use std::borrow::Cow;

/// Bytes from the server as text safe to put on a terminal: invalid UTF-8 as `\xNN`,
/// control characters (an ESC in a caller name) escaped so they cannot drive the terminal.
pub fn clean(bytes: &[u8]) -> Cow<'_, str> {
    let text_ok = std::str::from_utf8(bytes).ok();
    if let Some(text) = text_ok {
        if !text.chars().any(|c| c.is_control()) {
            return Cow::Borrowed(text);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_bad_utf8_are_escaped() {
        assert_eq!(clean(b"plain"), "plain");
        assert_eq!(clean(b"a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(clean(b"caf\xe9"), "caf\\xE9");
    }
}
