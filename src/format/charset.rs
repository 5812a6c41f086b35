//! Charset decoding for display: valid UTF-8 as it is, else the profile's charset,
//! and bytes that still do not decode shown as `\xNN`, never replaced by U+FFFD.

use encoding_rs::{DecoderResult, Encoding};
use std::borrow::Cow;
use std::fmt::Write as _;

/// How to show bytes that are not valid UTF-8 (PBXs in China and Europe still send GBK
/// or Latin-1 caller names). Valid UTF-8 is always shown as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Charset {
    /// `None`: invalid bytes are shown as `\xNN`.
    fallback: Option<&'static Encoding>,
}

/// A charset label that `encoding_rs` does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown charset {label:?}: try utf-8, latin1 (iso-8859-1, windows-1252), iso-8859-15, gbk, gb18030, big5, shift_jis, euc-kr, koi8-r")]
pub struct CharsetError {
    pub label: String,
}

impl Charset {
    /// UTF-8 only: invalid bytes are shown as `\xNN`.
    pub const UTF8: Charset = Charset { fallback: None };

    /// Reads a WHATWG encoding label (`utf-8`, `latin1`, `iso-8859-1`, `windows-1252`,
    /// `gbk`, `gb18030`, ...). Note that, as in browsers, `latin1` and `iso-8859-1` mean
    /// windows-1252, which differs only in the C1 control range.
    pub fn parse(label: &str) -> Result<Charset, CharsetError> {
        let encoding =
            Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| CharsetError {
                label: label.to_string(),
            })?;
        if encoding == encoding_rs::UTF_8 {
            return Ok(Charset::UTF8);
        }
        Ok(Charset {
            fallback: Some(encoding),
        })
    }

    /// The charset's canonical name (`UTF-8`, `windows-1252`, `GBK`).
    pub fn name(&self) -> &'static str {
        self.fallback.map_or("UTF-8", Encoding::name)
    }

    /// Text for display: valid UTF-8 as it is; otherwise decoded with the charset if one
    /// is set; bytes that still do not decode are shown as `\xNN`.
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Cow<'a, str> {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return Cow::Borrowed(s);
        }
        let mut out = String::with_capacity(bytes.len() + 8);
        match self.fallback {
            Some(encoding) => {
                decode_with(encoding, bytes, &mut out, true);
            }
            None => escape_invalid_utf8(bytes, &mut out),
        }
        Cow::Owned(out)
    }

    /// Text only when it is exact: valid UTF-8, or bytes the charset decodes without
    /// error. `None` means the bytes must be carried some other way (base64).
    pub fn decode_exact<'a>(&self, bytes: &'a [u8]) -> Option<Cow<'a, str>> {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return Some(Cow::Borrowed(s));
        }
        let encoding = self.fallback?;
        let mut out = String::with_capacity(bytes.len() + 8);
        decode_with(encoding, bytes, &mut out, false).then_some(Cow::Owned(out))
    }
}

fn escape_invalid_utf8(bytes: &[u8], out: &mut String) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
}

/// Decodes `bytes` into `out`; malformed sequences are written as `\xNN` when `escape`
/// is set, else decoding stops. Returns whether everything decoded.
fn decode_with(encoding: &'static Encoding, bytes: &[u8], out: &mut String, escape: bool) -> bool {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut src = bytes;
    let mut clean = true;
    loop {
        let need = decoder
            .max_utf8_buffer_length_without_replacement(src.len())
            .unwrap_or(src.len() * 3 + 16);
        out.reserve(need);
        let (result, read) = decoder.decode_to_string_without_replacement(src, out, true);
        match result {
            DecoderResult::InputEmpty => return clean,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(bad, after) => {
                clean = false;
                if !escape {
                    return false;
                }
                let end = read.saturating_sub(after as usize);
                let start = end.saturating_sub(bad as usize);
                for b in &src[start..end] {
                    let _ = write!(out, "\\x{b:02X}");
                }
            }
        }
        src = &src[read..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_utf8_is_shown_as_it_is_and_invalid_bytes_as_hex() {
        assert!(matches!(
            Charset::UTF8.decode("Zo\u{eb}".as_bytes()),
            Cow::Borrowed("Zo\u{eb}")
        ));
        assert_eq!(Charset::UTF8.decode(b"Jos\xe9 \xff"), "Jos\\xE9 \\xFF");
    }

    #[test]
    fn a_charset_decodes_what_is_not_utf8() {
        let latin1 = Charset::parse("latin1").unwrap();
        assert_eq!(latin1.decode(b"Jos\xe9"), "Jos\u{e9}");
        let gbk = Charset::parse("GBK").unwrap();
        assert_eq!(gbk.decode(b"\xd5\xc5\xc8\xfd"), "\u{5f20}\u{4e09}");
        // Bytes GBK cannot decode are still shown, not replaced.
        assert_eq!(gbk.decode(b"\xd5\xc5\x81"), "\u{5f20}\\x81");
        assert_eq!(gbk.decode_exact(b"\xd5\xc5\x81"), None);
        assert_eq!(Charset::parse("utf-8").unwrap(), Charset::UTF8);
    }

    #[test]
    fn an_unknown_charset_error_lists_examples() {
        let e = Charset::parse("klingon").unwrap_err().to_string();
        assert!(
            e.contains("klingon") && e.contains("gbk") && e.contains("latin1"),
            "{e}"
        );
    }
}
