//! Bytes on the socket <-> AMI frames: the banner line, then messages of lines ended by
//! a blank line.
//!
//! The decoder is incremental (it never rescans a partial message), accepts CRLF and bare
//! LF, skips empty messages, reads the legacy `Response: Follows` ... `--END COMMAND--`
//! body of Asterisk <= 13 in a raw mode, and never fails on any byte sequence: a message
//! over the size cap, or a line that never ends, becomes a [`Frame::Error`] and the
//! decoder skips to the next blank line, so the session goes on.
//!
//! The encoder refuses what Asterisk's `get_input()`/`do_message()` would reject, before
//! a single byte is written.

use super::frame::{split_header, trim_eol, Message};
use super::message::{Action, EncodeError};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// The default cap on one message: generous, since `core show help` alone is 29 KB and
/// `dialplan show` on a big system is far larger.
pub const DEFAULT_MAX_MESSAGE: usize = 16 * 1024 * 1024;
/// A first line longer than this is not an AMI banner.
const MAX_BANNER: usize = 4096;
/// How much of a skipped message is kept to show the user what it was.
const PREVIEW: usize = 256;
const END_COMMAND: &[u8] = b"--END COMMAND--";

/// A line end followed by a blank line, in either line-end style.
static BLANK_CRLF: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\n\r\n"));
static BLANK_LF: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\n\n"));

/// What the decoder yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The greeting line, without its line end (`Asterisk Call Manager/11.0.0`).
    Banner(Bytes),
    Message(Message),
    /// Something that could not be a message; the stream goes on after it.
    Error(FrameError),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("message larger than the {limit}-byte cap (or a line with no end); skipping to the next blank line")]
    Oversized { limit: usize, preview: Bytes },
    #[error("skipped {bytes} bytes of an oversized message")]
    Skipped { bytes: u64 },
    #[error("the first line is over {MAX_BANNER} bytes long: this is not an AMI banner")]
    BannerTooLong { preview: Bytes },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Banner,
    Headers,
    /// Inside a `Response: Follows` reply, reading its `Privilege`/`ActionID` lines.
    LegacyHeaders,
    /// Inside the raw CLI text of a legacy reply, which started at `body_start`.
    LegacyBody {
        body_start: usize,
    },
    /// After `--END COMMAND--`: the body ended at `body_end`; the next line, if blank,
    /// belongs to this message.
    LegacyEnd {
        body_start: usize,
        body_end: usize,
    },
    /// Skipping an oversized message up to the next blank line.
    Discarding {
        skipped: u64,
        line_blank: bool,
    },
}

/// The AMI codec. One per connection: it tracks whether the banner was read.
#[derive(Debug)]
pub struct AmiCodec {
    phase: Phase,
    /// Bytes of the current partial message already split into lines (0: none yet).
    scanned: usize,
    /// The start of the last line taken: once the message is whole, where its header
    /// lines end.
    header_end: usize,
    max_message: usize,
}

impl Default for AmiCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE)
    }
}

impl AmiCodec {
    /// A codec that expects the banner line first.
    pub fn new(max_message: usize) -> Self {
        AmiCodec {
            phase: Phase::Banner,
            scanned: 0,
            header_end: 0,
            max_message: max_message.clamp(1024, u32::MAX as usize / 2),
        }
    }

    /// A codec for a stream without a banner (a saved transcript, or the server side).
    pub fn without_banner(max_message: usize) -> Self {
        let mut codec = Self::new(max_message);
        codec.phase = Phase::Headers;
        codec
    }

    fn finish_message(
        &mut self,
        src: &mut BytesMut,
        end: usize,
        body: Option<(u32, u32)>,
    ) -> Frame {
        let raw = src.split_to(end).freeze();
        let header_end = self.header_end as u32;
        self.scanned = 0;
        self.phase = Phase::Headers;
        Frame::Message(Message::from_parts(raw, header_end, body))
    }

    /// The hot path of a flood: after a message's first line (which alone can start a
    /// legacy reply), finds the blank line that ends it with two SIMD substring
    /// searches instead of one search per line. A blank line is a `\n` followed by `\n`
    /// or `\r\n`: exactly the lines `trim_eol` leaves empty. Returns the message; or,
    /// when its end has not arrived (or lies past the size cap), leaves `scanned` at the
    /// first line not yet complete, for the general code to handle as before.
    fn find_message_end(&mut self, src: &mut BytesMut) -> Option<Frame> {
        let within_cap = &src[..src.len().min(self.max_message)];
        // From the line end just before `scanned`, so a blank line right there is seen.
        let from = self.scanned - 1;
        let rest = &within_cap[from..];
        let crlf = BLANK_CRLF.find(rest);
        // A bare-LF blank line counts only if it comes first.
        let lf_within = crlf.map_or(rest.len(), |at| at + 1);
        let (at, blank_len) = match (BLANK_LF.find(&rest[..lf_within]), crlf) {
            (Some(at), _) => (at, 1),
            (None, Some(at)) => (at, 2),
            (None, None) => {
                // `rest` starts with the `\n` before `scanned`, so there is one.
                let last_line_end = memchr::memrchr(b'\n', rest).unwrap_or(0);
                self.scanned = from + last_line_end + 1;
                return None;
            }
        };
        self.header_end = from + at + 1;
        let end = self.header_end + blank_len;
        Some(self.finish_message(src, end, None))
    }

    /// Starts skipping an oversized message. `consumed` bytes of `src` are dropped now;
    /// `at_line_start` says whether they end exactly at the start of a line.
    fn start_discarding(
        &mut self,
        src: &mut BytesMut,
        consumed: usize,
        at_line_start: bool,
    ) -> Frame {
        let preview = Bytes::copy_from_slice(&src[..src.len().min(PREVIEW)]);
        src.advance(consumed);
        self.scanned = 0;
        self.phase = Phase::Discarding {
            skipped: consumed as u64,
            line_blank: at_line_start,
        };
        Frame::Error(FrameError::Oversized {
            limit: self.max_message,
            preview,
        })
    }
}

/// Looks for the blank line that ends a message being skipped. `line_blank` says whether
/// the bytes seen so far of the current line are only `\r` (and it began at a line start).
/// Returns the offset just past the blank line, or the state to carry to the next call.
fn find_blank_line(src: &[u8], mut line_blank: bool) -> Result<usize, bool> {
    let mut pos = 0;
    loop {
        match memchr::memchr(b'\n', &src[pos..]) {
            Some(i) => {
                if line_blank && src[pos..pos + i].iter().all(|&b| b == b'\r') {
                    return Ok(pos + i + 1);
                }
                pos += i + 1;
                line_blank = true;
            }
            None => return Err(line_blank && src[pos..].iter().all(|&b| b == b'\r')),
        }
    }
}

impl Decoder for AmiCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        loop {
            match self.phase {
                Phase::Banner => {
                    let newline = memchr::memchr(b'\n', src);
                    // Too long whether or not its end already arrived, so the outcome
                    // does not depend on how the bytes were split into reads.
                    if newline.map_or(src.len(), |i| i) > MAX_BANNER {
                        let preview = Bytes::copy_from_slice(&src[..PREVIEW]);
                        let dropped = if newline.is_some() { 0 } else { src.len() };
                        src.advance(dropped);
                        self.phase = Phase::Discarding {
                            skipped: dropped as u64,
                            line_blank: false,
                        };
                        return Ok(Some(Frame::Error(FrameError::BannerTooLong { preview })));
                    }
                    let Some(i) = newline else {
                        return Ok(None);
                    };
                    let line = src.split_to(i + 1);
                    self.phase = Phase::Headers;
                    return Ok(Some(Frame::Banner(Bytes::copy_from_slice(trim_eol(&line)))));
                }
                Phase::Discarding {
                    skipped,
                    line_blank,
                } => match find_blank_line(src, line_blank) {
                    Ok(end) => {
                        src.advance(end);
                        self.phase = Phase::Headers;
                        let bytes = skipped + end as u64;
                        return Ok(Some(Frame::Error(FrameError::Skipped { bytes })));
                    }
                    Err(line_blank) => {
                        let n = src.len() as u64;
                        src.clear();
                        self.phase = Phase::Discarding {
                            skipped: skipped + n,
                            line_blank,
                        };
                        return Ok(None);
                    }
                },
                Phase::LegacyEnd {
                    body_start,
                    body_end,
                } => {
                    // The blank line after `--END COMMAND--` belongs to this reply.
                    let rest = &src[self.scanned..];
                    let end = match rest {
                        [] | [b'\r'] => return Ok(None),
                        [b'\n', ..] => self.scanned + 1,
                        [b'\r', b'\n', ..] => self.scanned + 2,
                        _ => self.scanned,
                    };
                    let body = Some((body_start as u32, body_end as u32));
                    return Ok(Some(self.finish_message(src, end, body)));
                }
                Phase::Headers | Phase::LegacyHeaders | Phase::LegacyBody { .. } => {
                    if self.phase == Phase::Headers && self.scanned > 0 {
                        if let Some(frame) = self.find_message_end(src) {
                            return Ok(Some(frame));
                        }
                    }
                    let Some(i) = memchr::memchr(b'\n', &src[self.scanned..]) else {
                        if src.len() > self.max_message {
                            // A line with no end in sight: drop all of it, mid-line. If
                            // that line is so far only `\r`, it may be the blank line
                            // ending the message: the skip must know, or it would run
                            // on through the next message.
                            let all = src.len();
                            let blank_so_far = src[self.scanned..].iter().all(|&b| b == b'\r');
                            return Ok(Some(self.start_discarding(src, all, blank_so_far)));
                        }
                        return Ok(None);
                    };
                    let line_start = self.scanned;
                    let line_end = line_start + i + 1;
                    if line_end > self.max_message {
                        // Resume the skip at this line, which may be the blank one.
                        return Ok(Some(self.start_discarding(src, line_start, true)));
                    }
                    let content = trim_eol(&src[line_start..line_end]);
                    match self.phase {
                        Phase::Headers => {
                            if content.is_empty() {
                                if line_start == 0 {
                                    // An empty message (a stray line end): skip it.
                                    src.advance(line_end);
                                    continue;
                                }
                                self.header_end = line_start;
                                return Ok(Some(self.finish_message(src, line_end, None)));
                            }
                            if line_start == 0 && is_follows(content) {
                                self.phase = Phase::LegacyHeaders;
                            }
                        }
                        Phase::LegacyHeaders => {
                            let (key, _) = split_header(content);
                            if !key.eq_ignore_ascii_case(b"Privilege")
                                && !key.eq_ignore_ascii_case(b"ActionID")
                            {
                                self.header_end = line_start;
                                self.phase = Phase::LegacyBody {
                                    body_start: line_start,
                                };
                                // Re-examine this same line as body text.
                                continue;
                            }
                        }
                        Phase::LegacyBody { body_start } => {
                            if content.ends_with(END_COMMAND) {
                                let mut body_end = line_start + content.len() - END_COMMAND.len();
                                if body_end > body_start && src[body_end - 1] == b'\n' {
                                    body_end -= 1;
                                }
                                self.scanned = line_end;
                                self.phase = Phase::LegacyEnd {
                                    body_start,
                                    body_end,
                                };
                                continue;
                            }
                        }
                        _ => unreachable!("outer match covers only these phases"),
                    }
                    self.scanned = line_end;
                }
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        match self.phase {
            Phase::LegacyEnd {
                body_start,
                body_end,
            } => {
                let end = self.scanned;
                let body = Some((body_start as u32, body_end as u32));
                Ok(Some(self.finish_message(src, end, body)))
            }
            Phase::Discarding { skipped, .. } => {
                self.phase = Phase::Headers;
                Ok(Some(Frame::Error(FrameError::Skipped { bytes: skipped })))
            }
            _ if src.is_empty() => Ok(None),
            // A message cut by EOF: hand over what arrived (it is data the server sent),
            // and let the caller see from `is_complete() == false` that it was cut.
            _ => {
                let tail = src.split().freeze();
                self.scanned = 0;
                self.phase = Phase::Headers;
                Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    TruncatedMessage(tail),
                ))
            }
        }
    }
}

/// The bytes of a message the connection closed in the middle of, carried inside the
/// `UnexpectedEof` error so the session can still show (and record) them.
#[derive(Debug, thiserror::Error)]
#[error("connection closed in the middle of a message ({} bytes received of it)", .0.len())]
pub struct TruncatedMessage(pub Bytes);

fn is_follows(line: &[u8]) -> bool {
    let (key, value) = split_header(line);
    key.eq_ignore_ascii_case(b"Response") && value.trim_ascii().eq_ignore_ascii_case(b"Follows")
}

impl Encoder<&Action> for AmiCodec {
    type Error = EncodeError;

    fn encode(&mut self, action: &Action, dst: &mut BytesMut) -> Result<(), EncodeError> {
        action.validate()?;
        dst.reserve(action.encoded_len());
        for (key, value) in action.headers() {
            dst.put_slice(key.as_bytes());
            dst.put_slice(b": ");
            dst.put_slice(value);
            dst.put_slice(b"\r\n");
        }
        dst.put_slice(b"\r\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut AmiCodec, bytes: &[u8]) -> Vec<Frame> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(f) = codec.decode(&mut buf).unwrap() {
            out.push(f);
        }
        out
    }

    #[test]
    fn banner_is_consumed_before_first_message() {
        let mut c = AmiCodec::default();
        let frames = decode_all(
            &mut c,
            b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\n\r\n",
        );
        assert_eq!(
            frames[0],
            Frame::Banner(Bytes::from_static(b"Asterisk Call Manager/11.0.0"))
        );
        let Frame::Message(m) = &frames[1] else {
            panic!()
        };
        assert!(m.is("Response", "Success"));
    }

    #[test]
    fn stray_lf_before_crlf_yields_no_empty_message() {
        let mut c = AmiCodec::without_banner(DEFAULT_MAX_MESSAGE);
        let frames = decode_all(
            &mut c,
            b"Response: Error\r\nMessage: No endpoints found\n\r\n\r\nResponse: Success\r\n\r\n",
        );
        assert_eq!(frames.len(), 2);
        let Frame::Message(m) = &frames[0] else {
            panic!()
        };
        assert_eq!(m.get("Message"), Some(&b"No endpoints found"[..]));
    }

    #[test]
    fn oversized_message_is_skipped_and_decoding_resumes() {
        let mut c = AmiCodec::without_banner(1024);
        let mut input = b"Event: Big\r\n".to_vec();
        for _ in 0..200 {
            input.extend_from_slice(b"Pad: xxxxxxxxxxxxxxxxxxxxxxxx\r\n");
        }
        input.extend_from_slice(b"\r\nEvent: Small\r\n\r\n");
        let frames = decode_all(&mut c, &input);
        assert!(matches!(
            frames[0],
            Frame::Error(FrameError::Oversized { .. })
        ));
        assert!(matches!(
            frames[1],
            Frame::Error(FrameError::Skipped { .. })
        ));
        let Frame::Message(m) = &frames[2] else {
            panic!("{frames:?}")
        };
        assert!(m.is("Event", "Small"));
    }

    #[test]
    fn encoder_refuses_line_breaks_in_values() {
        let mut c = AmiCodec::default();
        let a = Action::new("Ping").with("X", "a\r\nAction: Logoff");
        let mut dst = BytesMut::new();
        assert!(c.encode(&a, &mut dst).is_err());
        assert!(dst.is_empty());
    }
}
