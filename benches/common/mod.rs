//! Shared by the benches: a realistic flood built from a real Asterisk 22 capture, and
//! the smoke-mode switch.

#![allow(dead_code)] // each bench uses a different part

use amicon::ami::{AmiCodec, Frame, Kind, Message};
use bytes::BytesMut;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::Criterion;
use std::time::Duration;
use tokio_util::codec::Decoder;

const CAPTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/vectors/originate-local-call-events.txt"
);

/// Criterion settings: defaults, or with `AMICON_BENCH_SMOKE` set, a run of a few
/// seconds per bench file that only proves the benches work (CI smoke mode).
/// Time is the benchmark thread's CPU time, so figures mean "on one core" even on a
/// machine shared with builds (wall time there was up to 3x longer).
pub fn config() -> Criterion<CpuTime> {
    let criterion = Criterion::default().with_measurement(CpuTime { wall: WallTime });
    if std::env::var_os("AMICON_BENCH_SMOKE").is_some() {
        criterion
            .warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(300))
            .sample_size(10)
    } else {
        criterion
    }
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`), reported like wall time.
pub struct CpuTime {
    /// Only lends its duration formatter.
    wall: WallTime,
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant libc knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_time()
    }

    fn end(&self, start: Duration) -> Duration {
        thread_cpu_time().saturating_sub(start)
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
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
