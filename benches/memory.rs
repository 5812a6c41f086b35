//! Memory of the buffered log: how many bytes the TUI's ring costs per byte of AMI the
//! server sent, for realistic call events (issue 6: at most 1.5×), and the peak RSS
//! for one million of them.
//!
//! `cargo bench --bench memory` (1,000,000 events); `-- --smoke` for CI (100,000).
//! Events are decoded the way the session reads them (`READ_SIZE` reads into one buffer that
//! messages then share), then pushed into `app::log::Log` as the TUI does.

use amicon::ami::{AmiCodec, Frame};
use amicon::app::log::{Entry, Item, Log};
use amicon::session::{Link, READ_SIZE};
use bytes::BytesMut;
use std::time::SystemTime;
use tokio_util::codec::Decoder;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    kb * 1024
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke")
        || std::env::var_os("AMICON_BENCH_SMOKE").is_some()
        || !std::env::args().any(|a| a == "--bench");
    let events: usize = if smoke { 100_000 } else { 1_000_000 };
    let capture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vectors/originate-local-call-events.txt"
    ))
    .expect("capture");
    // The call events of the capture, without its banner and login.
    let start = capture
        .windows(13)
        .position(|w| w == b"Event: Newcha")
        .expect("a Newchannel");
    let call = &capture[start..];

    let before = rss_bytes();
    let mut log = Log::new(events);
    let mut codec = AmiCodec::without_banner(16 * 1024 * 1024);
    let mut buf = BytesMut::with_capacity(READ_SIZE);
    let mut wire = 0usize;
    let mut pushed = 0usize;
    let mut offset = 0usize;
    while pushed < events {
        // One "socket read" of up to READ_SIZE, as the session's reader does.
        if buf.capacity() - buf.len() < READ_SIZE / 4 {
            buf.reserve(READ_SIZE);
        }
        let room = (buf.capacity() - buf.len()).min(READ_SIZE);
        let mut filled = 0;
        while filled < room {
            let take = (call.len() - offset).min(room - filled);
            buf.extend_from_slice(&call[offset..offset + take]);
            offset = (offset + take) % call.len();
            filled += take;
        }
        while let Some(frame) = codec.decode(&mut buf).expect("decode") {
            if let Frame::Message(message) = frame {
                if pushed == events {
                    break;
                }
                wire += message.wire().len();
                log.push(Entry {
                    at: SystemTime::now(),
                    item: Item::Received {
                        message,
                        link: Link::Unsolicited,
                        internal: false,
                        action: None,
                    },
                });
                pushed += 1;
            }
        }
    }
    let after = rss_bytes();
    let grown = after.saturating_sub(before);
    println!(
        "memory: {pushed} events, {:.1} MB on the wire, the log grew RSS by {:.1} MB: {:.2}x the wire size (target 1.5x); peak RSS {:.1} MB",
        wire as f64 / 1e6,
        grown as f64 / 1e6,
        grown as f64 / wire as f64,
        peak_rss_bytes() as f64 / 1e6
    );
    std::hint::black_box(&log);
}
