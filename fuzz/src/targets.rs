//! What each fuzz target checks. Only `amicon`, `bytes` and `tokio-util` are used, so the
//! main crate's tests can include this file by path and run it on stable.
//!
//! Beyond "never panics", each target checks a property that must hold for every input:
//! - decoder: the frames do not depend on how the bytes were split into reads, and every
//!   message's accessors work on what was decoded;
//! - filter: a filter that parses prints as text that parses again to the same text,
//!   and matching never panics.

use amicon::ami::{AmiCodec, Frame, Message};
use amicon::filter::Filter;
use bytes::BytesMut;
use tokio_util::codec::Decoder;

/// What decoding a byte stream gave: the frames, then how the stream ended.
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded {
    pub frames: Vec<Frame>,
    /// The error at EOF (a message cut short), as text.
    pub end: Option<String>,
}

/// Decodes `data` delivered in reads of the given sizes (cycled; the rest in one read),
/// the way `FramedRead` drives a codec.
pub fn decode_in_reads(data: &[u8], reads: &[usize], max_message: usize) -> Decoded {
    let mut codec = AmiCodec::new(max_message);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = data;
    let mut sizes = reads.iter().cycle();
    while !rest.is_empty() {
        let n = sizes
            .next()
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => {
                    return Decoded {
                        frames,
                        end: Some(format!("decode: {e}")),
                    }
                }
            }
        }
    }
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => return Decoded { frames, end: None },
            Err(e) => {
                return Decoded {
                    frames,
                    end: Some(e.to_string()),
                }
            }
        }
    }
}

/// Uses every accessor a front end uses on a received message.
fn exercise(message: &Message) {
    let _ = message.kind();
    let _ = message.event_name();
    let _ = message.action_id();
    let _ = message.legacy_body();
    let _ = message.header_text();
    assert_eq!(message.lines().count(), message.len());
    for (key, _value) in message.headers() {
        // Lookups take text; a key that is not UTF-8 cannot be asked for by name.
        if let Ok(key) = std::str::from_utf8(key) {
            assert!(
                message.get(key).is_some(),
                "header {key:?} not found by name"
            );
            assert!(message.get_all(key).count() > 0);
        }
    }
    let _ = format!("{message:?}");
    // The wire bytes of a decoded message are a whole message on their own.
    assert!(message.wire().ends_with(b"\n") || message.legacy_body().is_some());
}

/// The decoder target: `data[0]` picks the read size pattern and the cap, the rest is the
/// byte stream (banner first).
pub fn decoder(data: &[u8]) {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    // Small caps reach the oversized paths with small inputs.
    let max_message = [1024, 2048, 16 * 1024, 1 << 20][usize::from(control & 3)];
    let whole = decode_in_reads(stream, &[], max_message);
    for frame in &whole.frames {
        if let Frame::Message(m) = frame {
            exercise(m);
        }
    }
    let pattern: &[usize] = match control >> 2 & 3 {
        0 => &[1],
        1 => &[2, 3, 5, 7],
        2 => &[usize::from(control) + 1],
        _ => &[13, 1, 64, 1, 1],
    };
    let split = decode_in_reads(stream, pattern, max_message);
    assert_eq!(
        whole, split,
        "frames differ between one read and reads of {pattern:?}"
    );
}

/// The filter target: the first line is the filter, the rest a message to match.
pub fn filter(data: &[u8]) {
    let (line, message) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(line) = std::str::from_utf8(line) else {
        return;
    };
    let message = Message::parse(message);
    match Filter::parse(line) {
        Ok(filter) => {
            let _ = filter.matches(&message);
            let printed = filter.to_string();
            let again = Filter::parse(&printed).unwrap_or_else(|e| {
                panic!("{line:?} printed as {printed:?}, which does not parse: {e}")
            });
            assert_eq!(again.to_string(), printed, "printing is not stable");
            assert_eq!(
                again.matches(&message),
                filter.matches(&message),
                "{line:?} and its printed form {printed:?} disagree"
            );
        }
        Err(e) => {
            let _ = e.render();
        }
    }
}
