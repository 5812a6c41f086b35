//! Shared by the benches: a realistic flood built from a real Asterisk 22 capture, and
//! the smoke-mode switch.

#![allow(dead_code)] // each bench uses a different part

use amicon::ami::{AmiCodec, Frame, Kind, Message};
use bytes::BytesMut;
use criterion::Criterion;
use std::time::Duration;
use tokio_util::codec::Decoder;

const CAPTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/vectors/originate-local-call-events.txt"
);

/// Criterion settings: defaults, or with `AMICON_BENCH_SMOKE` set, a run of a few
/// seconds per bench file that only proves the benches work (CI smoke mode).
pub fn config() -> Criterion {
    let criterion = Criterion::default();
    if std::env::var_os("AMICON_BENCH_SMOKE").is_some() {
        criterion
            .warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(300))
            .sample_size(10)
    } else {
        criterion
    }
}

/// Every message of a byte stream (no banner).
pub fn decode_all(bytes: &[u8]) -> Vec<Message> {
    let mut codec = AmiCodec::without_banner(amicon::ami::codec::DEFAULT_MAX_MESSAGE);
    let mut src = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Ok(Some(frame)) = codec.decode_eof(&mut src) {
        if let Frame::Message(m) = frame {
            out.push(m);
        }
    }
    out
}

/// The wire bytes of the events of one real `Originate` of `Local/echo@test` (the call's
/// Newchannel, Newexten, VarSet, Dial*, Hangup ... events, 400-500 bytes each).
pub fn call_events() -> Vec<Message> {
    let bytes = std::fs::read(CAPTURE).expect("capture present");
    let banner_end = bytes.iter().position(|&b| b == b'\n').expect("banner") + 1;
    decode_all(&bytes[banner_end..])
        .into_iter()
        .filter(|m| m.kind() == Kind::Event)
        .collect()
}

/// Those events repeated into a buffer of at least `min_bytes`, and how many it holds.
pub fn flood(min_bytes: usize) -> (Vec<u8>, u64) {
    let events = call_events();
    let one_round: Vec<u8> = events.iter().flat_map(|m| m.wire().to_vec()).collect();
    let rounds = min_bytes.div_ceil(one_round.len());
    (one_round.repeat(rounds), (rounds * events.len()) as u64)
}

/// `n` decoded messages cycling through the call's events, as a log buffer holds them.
pub fn messages(n: usize) -> Vec<Message> {
    let events = call_events();
    let one_round: Vec<u8> = events.iter().flat_map(|m| m.wire().to_vec()).collect();
    let rounds = n.div_ceil(events.len());
    let mut all = decode_all(&one_round.repeat(rounds));
    all.truncate(n);
    all
}
