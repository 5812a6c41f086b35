//! The decoder over byte-exact captures from a real Asterisk 22 (tests/fixtures/vectors),
//! fed whole and split at every byte offset, plus property tests: round trips and no
//! panic on arbitrary bytes.

use amicon::ami::codec::{AmiCodec, Frame, DEFAULT_MAX_MESSAGE};
use amicon::ami::{Action, Kind, Message};
use bytes::BytesMut;
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

fn vector(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Decodes `bytes` delivered in chunks cut at `cuts`, then EOF.
fn decode_chunked(bytes: &[u8], cuts: &[usize], codec: &mut AmiCodec) -> Vec<Frame> {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        buf.extend_from_slice(&bytes[start..cut]);
        start = cut;
        while let Some(f) = codec
            .decode(&mut buf)
            .expect("decode never fails mid-stream")
        {
            frames.push(f);
        }
    }
    if let Ok(Some(f)) = codec.decode_eof(&mut buf) {
        frames.push(f);
    }
    frames
}

fn decode(bytes: &[u8]) -> Vec<Frame> {
    decode_chunked(bytes, &[], &mut AmiCodec::default())
}

fn messages(frames: &[Frame]) -> Vec<&Message> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

const CAPTURES: &[&str] = &[
    "login-success.txt",
    "originate-local-call-events.txt",
    "coreshowchannels-eventlist.txt",
    "command-long-output.txt",
    "manager-show-command-originate.txt",
    "pjsipshowendpoints-eventlist.txt",
    "userevent-raw-headers.txt",
    "getvar-setvar.txt",
    "escaped-values.txt",
    "framing-variants.txt",
    "actionid-long-truncated.txt",
    "status-eventlist.txt",
    "listcommands.txt",
];

#[test]
fn every_capture_decodes_the_same_whatever_the_read_boundaries() {
    for name in CAPTURES {
        let bytes = vector(name);
        let whole = decode(&bytes);
        assert!(matches!(whole[0], Frame::Banner(_)), "{name}");
        // Every byte is accounted for: the messages' wire bytes plus the banner line
        // are the capture, except empty messages (stray line ends), which are skipped.
        let total: usize = messages(&whole).iter().map(|m| m.wire().len()).sum();
        assert!(
            total <= bytes.len() && total + 64 >= bytes.len() - 30,
            "{name}: {total} of {}",
            bytes.len()
        );
        // Every offset for the small captures; a prime stride through the big ones
        // (29 KB of `core show help`), which covers every position modulo the stride.
        let stride = if bytes.len() > 8192 { 7 } else { 1 };
        for cut in (1..bytes.len()).step_by(stride) {
            let split = decode_chunked(&bytes, &[cut], &mut AmiCodec::default());
            assert_eq!(split, whole, "{name} split at {cut}");
        }
    }
}

#[test]
fn byte_by_byte_delivery_gives_the_same_messages() {
    let bytes = vector("originate-local-call-events.txt");
    let cuts: Vec<usize> = (1..bytes.len()).collect();
    assert_eq!(
        decode_chunked(&bytes, &cuts, &mut AmiCodec::default()),
        decode(&bytes)
    );
}

#[test]
fn every_event_of_a_whole_call_is_decoded_and_originate_response_is_an_event() {
    let bytes = vector("originate-local-call-events.txt");
    let frames = decode(&bytes);
    let msgs = messages(&frames);
    let events: Vec<_> = msgs.iter().filter(|m| m.kind() == Kind::Event).collect();
    let event_lines = bytes
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"Event: "))
        .count();
    assert_eq!(events.len(), event_lines);
    assert_eq!(events.len(), 38);
    let orig = events
        .iter()
        .find(|m| m.is("Event", "OriginateResponse"))
        .unwrap();
    assert_eq!(orig.get("Response"), Some(&b"Success"[..]));
    let test_event = events.iter().find(|m| m.is("Event", "TestEvent")).unwrap();
    assert_eq!(
        test_event.get_all("State").count(),
        2,
        "repeated keys are kept"
    );
}

#[test]
fn raw_user_event_headers_survive_byte_for_byte() {
    let frames = decode(&vector("userevent-raw-headers.txt"));
    let ev = messages(&frames)
        .into_iter()
        .find(|m| m.is("Event", "UserEvent"))
        .unwrap();
    let dups: Vec<_> = ev.get_all("Dup").collect();
    assert_eq!(dups, vec![&b"one"[..], &b"two"[..]]);
    assert_eq!(ev.get("Colon"), Some(&b"a: b: c"[..]));
    assert_eq!(ev.get("NoSpace"), Some(&b"tight"[..]));
    assert_eq!(
        ev.get("Latin1"),
        Some(&b"caf\xe9"[..]),
        "non-UTF-8 bytes untouched"
    );
    assert_eq!(ev.get("Utf8"), Some("café".as_bytes()));
    assert_eq!(ev.get("Empty"), Some(&b""[..]));
}

#[test]
fn command_output_keeps_leading_spaces_and_empty_lines() {
    let frames = decode(&vector("manager-show-command-originate.txt"));
    let reply = messages(&frames)
        .into_iter()
        .find(|m| m.get("Output").is_some())
        .unwrap();
    let lines: Vec<_> = reply.get_all("Output").collect();
    assert!(lines.contains(&&b""[..]));
    assert!(
        lines.iter().any(|l| l.starts_with(b"    ")),
        "indentation kept"
    );
    let long = decode(&vector("command-long-output.txt"));
    let help = messages(&long)
        .into_iter()
        .find(|m| m.get("Output").is_some())
        .unwrap();
    assert_eq!(help.get_all("Output").count(), 380);
}

#[test]
fn the_stray_lf_of_pjsip_errors_makes_no_empty_message() {
    let frames = decode(&vector("pjsipshowendpoints-eventlist.txt"));
    let err = messages(&frames)
        .into_iter()
        .find(|m| m.is("Response", "Error"))
        .unwrap();
    assert_eq!(err.get("Message"), Some(&b"No endpoints found"[..]));
    assert!(messages(&frames).iter().all(|m| !m.is_empty()));
}

#[test]
fn legacy_follows_command_body_is_read_raw() {
    let frames = decode(&vector("synthetic/legacy-command-follows.txt"));
    let msgs = messages(&frames);
    let follows: Vec<_> = msgs
        .iter()
        .filter(|m| m.is("Response", "Follows"))
        .collect();
    assert_eq!(follows.len(), 2);
    let body = String::from_utf8_lossy(follows[0].legacy_body().unwrap()).into_owned();
    assert!(
        body.starts_with("\n  -= Info about Manager Command 'Originate' =-"),
        "{body:?}"
    );
    assert!(
        body.contains("\nAction: Originate\n"),
        "lines that look like headers stay body text"
    );
    assert!(
        !body.ends_with('\n') || body.ends_with("\n\n"),
        "one final LF removed"
    );
    assert_eq!(follows[0].get("ActionID"), Some(&b"msc-1"[..]));
    let second = String::from_utf8_lossy(follows[1].legacy_body().unwrap()).into_owned();
    assert!(second.starts_with("No such command"), "{second:?}");
    assert!(
        msgs.last().unwrap().is("Response", "Goodbye"),
        "decoding resumes after the body"
    );
}

#[test]
fn the_truncated_action_id_line_is_kept_as_asterisk_sent_it() {
    let frames = decode(&vector("actionid-long-truncated.txt"));
    let glued = messages(&frames).into_iter().find(|m| {
        m.get_str("ActionID")
            .is_some_and(|v| v.contains("AMIversion:"))
    });
    assert!(glued.is_some(), "the glued line is data, not an error");
}

#[test]
fn a_message_cut_by_eof_is_handed_back_in_the_error() {
    let mut codec = AmiCodec::default();
    let mut buf =
        BytesMut::from(&b"Asterisk Call Manager/11.0.0\r\nEvent: Hangup\r\nChannel: x"[..]);
    assert!(matches!(
        codec.decode(&mut buf).unwrap(),
        Some(Frame::Banner(_))
    ));
    assert!(codec.decode(&mut buf).unwrap().is_none());
    let err = codec.decode_eof(&mut buf).unwrap_err();
    assert!(err.to_string().contains("middle of a message"), "{err}");
}

fn header_key() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_()-]{0,20}"
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no line breaks", |b| *b != b'\r' && *b != b'\n' && *b != 0),
        0..60,
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_never_error(bytes in proptest::collection::vec(any::<u8>(), 0..4096), cut in 0usize..4096) {
        let cut = cut.min(bytes.len());
        let mut codec = AmiCodec::new(1024);
        let _ = decode_chunked(&bytes, &[cut], &mut codec);
    }

    #[test]
    fn encoded_actions_decode_to_the_same_headers(headers in proptest::collection::vec((header_key(), header_value()), 0..20)) {
        let mut action = Action::new("UserEvent");
        for (k, v) in &headers {
            action.push(k, v);
        }
        let mut wire = BytesMut::new();
        AmiCodec::default().encode(&action, &mut wire).unwrap();
        let mut codec = AmiCodec::without_banner(DEFAULT_MAX_MESSAGE);
        let Some(Frame::Message(m)) = codec.decode(&mut wire).unwrap() else { panic!("one message") };
        let decoded: Vec<(Vec<u8>, Vec<u8>)> = m.headers().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        let expected: Vec<(Vec<u8>, Vec<u8>)> = action.headers().map(|(k, v)| (k.as_bytes().to_vec(), v.to_vec())).collect();
        // One leading space of a value is eaten by the `: ` separator on decode, as
        // Asterisk's own writer intends; values starting with a space are the exception.
        for ((dk, dv), (ek, ev)) in decoded.iter().zip(expected.iter()) {
            prop_assert_eq!(dk, ek);
            prop_assert_eq!(dv, ev);
        }
        prop_assert_eq!(decoded.len(), expected.len());
        prop_assert!(wire.is_empty());
    }
}

/// The framing rule, the slow and obvious way: lines end at `\n`; a line that is only
/// `\n` or `\r\n` ends the message before it (or is skipped when nothing precedes it).
/// Returns each message's wire bytes and its header lines without their line ends.
fn reference_split(bytes: &[u8]) -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
    let mut out = Vec::new();
    let (mut start, mut pos) = (0, 0);
    let mut lines: Vec<Vec<u8>> = Vec::new();
    while let Some(i) = bytes[pos..].iter().position(|&b| b == b'\n') {
        let line = &bytes[pos..pos + i + 1];
        pos += i + 1;
        if line == b"\n" || line == b"\r\n" {
            if !lines.is_empty() {
                out.push((bytes[start..pos].to_vec(), std::mem::take(&mut lines)));
            }
            start = pos;
        } else {
            let without_lf = &line[..line.len() - 1];
            lines.push(
                without_lf
                    .strip_suffix(b"\r")
                    .unwrap_or(without_lf)
                    .to_vec(),
            );
        }
    }
    out
}

fn ami_fragment() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        &b"Event: Newstate"[..],
        b"Key: value",
        b"X:",
        b": ",
        b"\r\n",
        b"\n",
        b"\r",
        b"\r\n\r\n",
        b"\n\n",
        b"\n\r\n",
        b"\r\r\n",
        b" ",
    ])
}

proptest! {
    /// The decoder's fast path (a substring search for the blank line) and its
    /// line-by-line path agree with the rule itself, however the bytes are cut.
    #[test]
    fn framing_matches_the_line_rule_at_any_cut(
        fragments in proptest::collection::vec(ami_fragment(), 0..200),
        cuts in proptest::collection::vec(0usize..4000, 0..4),
    ) {
        let bytes: Vec<u8> = fragments.concat();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort_unstable();
        let frames = decode_chunked(&bytes, &cuts, &mut AmiCodec::without_banner(DEFAULT_MAX_MESSAGE));
        let decoded: Vec<(Vec<u8>, Vec<Vec<u8>>)> = frames
            .iter()
            .filter_map(|f| match f {
                Frame::Message(m) => Some(m),
                _ => None,
            })
            .map(|m| (m.wire().to_vec(), m.lines().map(<[u8]>::to_vec).collect()))
            .collect();
        prop_assert_eq!(decoded, reference_split(&bytes));
    }
}
