//! How fast `amicon serve --flood max` streams events to one client, and whether the
//! client receives exactly as many as the server says it sent.
//!
//! `cargo bench --bench demo_flood` (set DEMO_FLOOD_SECONDS to change the 3 s run).

use amicon::demo::{self, DemoOptions, FloodRate};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    let seconds: f64 = std::env::var("DEMO_FLOOD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    run(FloodRate::Max, seconds);
    run(FloodRate::PerSecond(200_000), seconds);
}

fn run(rate: FloodRate, seconds: f64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let options = DemoOptions { calls_per_second: 0.0, flood: Some(rate), ..Default::default() };
        let server = demo::start(options).await.expect("demo server");
        let mut stream = tokio::net::TcpStream::connect(server.local_addr()).await.expect("connect");
        stream.write_all(b"Action: Login\r\nUsername: demo\r\nSecret: demo\r\n\r\n").await.expect("login");
        let finder = memchr::memmem::Finder::new(b"\r\n\r\n");
        let mut buf = vec![0u8; 1 << 20];
        let mut tail = 0usize; // bytes kept from the previous read (a split terminator)
        let (mut messages, mut bytes) = (0u64, 0u64);
        let started = Instant::now();
        let mut logged_off = false;
        let mut measured = None;
        loop {
            let n = stream.read(&mut buf[tail..]).await.expect("read");
            if n == 0 {
                break;
            }
            bytes += n as u64;
            let end = tail + n;
            messages += finder.find_iter(&buf[..end]).count() as u64;
            // Keep the last 3 bytes so a terminator split across reads is still found once.
            let keep = end.min(3);
            buf.copy_within(end - keep..end, 0);
            let overlap = finder.find_iter(&buf[..keep]).count() as u64;
            messages -= overlap;
            tail = keep;
            if !logged_off && started.elapsed() >= Duration::from_secs_f64(seconds) {
                measured = Some((messages, bytes, started.elapsed()));
                stream.write_all(b"Action: Logoff\r\n\r\n").await.expect("logoff");
                logged_off = true;
            }
        }
        let (m, b, elapsed) = measured.expect("ran long enough");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sent = server.flood_events_sent();
        // Messages that are not flood events: the login response, FullyBooted and the
        // Goodbye. (A session's own SuccessfulAuth comes through the event stream, which
        // a flooded session does not get.)
        let received = messages.saturating_sub(3);
        println!(
            "demo flood {rate:?}: {:.0} events/s, {:.0} MB/s over {:.1} s; server sent {sent}, client received {received}: {}",
            m as f64 / elapsed.as_secs_f64(),
            b as f64 / elapsed.as_secs_f64() / 1e6,
            elapsed.as_secs_f64(),
            if sent == received { "none lost" } else { "MISMATCH" }
        );
        assert_eq!(sent, received);
    });
}
