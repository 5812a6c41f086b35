//! End-to-end throughput: `amicon watch` reading a flood from `amicon serve --flood max`
//! into /dev/null, side by side with a plain read-and-discard reader of the same flood
//! (the ceiling), plus the `Ping` round trip while the flood runs (beside a plain
//! reader's, and under a paced flood), and on the real Asterisk while it floods the
//! session with `UserEvent`s when the `AMI_TEST_*` variables are set.
//!
//! `cargo bench --bench e2e` measures (2 million events, 3 runs each, medians);
//! `cargo bench --bench e2e -- --smoke` is the quick CI form (checks that everything
//! runs and that `watch` loses nothing; its figures are not meaningful).
//! Figures are reported as events/s and as a ratio to the plain reader of the same run:
//! these machines are shared and noisy, ratios travel better than absolute numbers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_amicon");
/// A flood rate well above what a real Asterisk produces, and below what the session
/// reads: the second Ping measurement.
const PACED_FLOOD: &str = "500000";

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(flood: &str) -> Server {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(BIN)
        .args(["serve", "--listen", &addr, "--flood", flood, "--rate", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start amicon serve");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "amicon serve did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, addr }
}

/// The ceiling: log in with plain bytes, then read and discard, counting message ends.
fn plain_reader(addr: &str, events: u64) -> Duration {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut banner = String::new();
    BufReader::new(stream.try_clone().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let started = Instant::now();
    stream.write_all(&Login::demo(addr).wire("on")).unwrap();
    let finder = memchr::memmem::Finder::new(b"\r\n\r\n");
    let mut buf = vec![0u8; 256 * 1024];
    let mut seen = 0u64;
    // A message end may straddle two reads: carry the last 3 bytes over.
    let mut carry = Vec::with_capacity(3);
    while seen < events {
        let n = stream.read(&mut buf[3..]).unwrap();
        assert!(n > 0, "the flood stopped");
        let start = 3 - carry.len();
        buf[start..3].copy_from_slice(&carry);
        let window = &buf[start..3 + n];
        seen += finder.find_iter(window).count() as u64;
        carry.clear();
        carry.extend_from_slice(&window[window.len().saturating_sub(3)..]);
    }
    started.elapsed()
}

/// `amicon watch` until it has printed `events` events; returns the time it took and
/// how many messages it reported dropped (an output slower than the flood: the session
/// never stops reading, it counts what the output could not take).
fn watch(addr: &str, events: u64, extra: &[&str]) -> (Duration, u64) {
    let started = Instant::now();
    let out = Command::new(BIN)
        .arg("watch")
        .arg(format!("demo@{addr}"))
        .args(["--count", &events.to_string()])
        .args(extra)
        .env("AMI_SECRET", "demo")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run amicon watch");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "amicon watch {extra:?} failed: {}\n{stderr}",
        out.status
    );
    (elapsed, dropped_in(&stderr))
}

/// The sum of `--- N messages dropped ...` notices.
fn dropped_in(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter(|l| l.contains("messages dropped"))
        .filter_map(|l| {
            l.split("--- ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// `amicon watch --count N` raw output checked against the flood: the same events, in
/// order, none dropped, none twice.
fn watch_loses_nothing(addr: &str, events: u64) {
    let out = Command::new(BIN)
        .arg("watch")
        .arg(format!("demo@{addr}"))
        .args(["--count", &events.to_string()])
        .env("AMI_SECRET", "demo")
        .stdin(Stdio::null())
        .output()
        .expect("run amicon watch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(dropped_in(&stderr), 0, "{stderr}");
    let finder = memchr::memmem::Finder::new(b"\r\n\r\n");
    let printed = finder.find_iter(&out.stdout).count() as u64;
    assert_eq!(
        printed, events,
        "watch --count printed a different number of events"
    );
    // Each connection's flood replays one buffer in a loop from its start: after the
    // login's own events, the output must be that loop, byte for byte.
    let printed = after_login(&out.stdout);
    let flood = flood_bytes(addr, printed.len());
    assert!(
        printed == &flood[..],
        "watch's raw output differs from the flood's bytes"
    );
}

/// `bytes` from the first message that is not the login's answer or its events.
fn after_login(mut bytes: &[u8]) -> &[u8] {
    let finder = memchr::memmem::Finder::new(b"\r\n\r\n");
    while [
        &b"Response: "[..],
        b"Event: FullyBooted\r\n",
        b"Event: SuccessfulAuth\r\n",
    ]
    .iter()
    .any(|start| bytes.starts_with(start))
    {
        match finder.find(bytes) {
            Some(end) => bytes = &bytes[end + 4..],
            None => return &[],
        }
    }
    bytes
}

/// The first `len` bytes of the flood, as a plain reader gets them after login.
fn flood_bytes(addr: &str, len: usize) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut banner = String::new();
    reader.read_line(&mut banner).unwrap();
    stream.write_all(&Login::demo(addr).wire("on")).unwrap();
    // Enough for the login's messages and `len` bytes of flood after them.
    let mut bytes = vec![0u8; len + 64 * 1024];
    reader.read_exact(&mut bytes).unwrap();
    let skipped = bytes.len() - after_login(&bytes).len();
    bytes.drain(..skipped);
    bytes.truncate(len);
    bytes
}

/// The share of flood events that `filter` matches, from a sample decoded in-process.
fn match_fraction(addr: &str, filter: &[&str], sample: u64) -> f64 {
    use amicon::ami::{AmiCodec, Frame};
    use tokio_util::codec::Decoder;
    let terms: Vec<String> = filter.iter().map(|s| s.to_string()).collect();
    let filter = amicon::filter::Filter::from_terms(&terms).expect("the bench filter parses");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(&Login::demo(addr).wire("on")).unwrap();
    let mut codec = AmiCodec::default();
    let mut buf = bytes::BytesMut::with_capacity(256 * 1024);
    let (mut events, mut matched) = (0u64, 0u64);
    let mut chunk = vec![0u8; 64 * 1024];
    while events < sample {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the flood stopped");
        buf.extend_from_slice(&chunk[..n]);
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            if let Frame::Message(m) = frame {
                if m.event_name().is_some() {
                    events += 1;
                    matched += u64::from(filter.matches(&m));
                }
            }
        }
    }
    matched as f64 / events as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The same Ping round trips for a plain reader: one thread reads and discards, looking
/// only for `Ping: Pong`; the caller sends the next Ping when the last one came back.
fn plain_ping_rtt_during_flood(login: &Login<'_>, pings: usize) -> (Duration, Duration) {
    let mut stream = TcpStream::connect(login.addr).unwrap();
    stream.write_all(&login.wire("on")).unwrap();
    let mut reading = stream.try_clone().unwrap();
    let (pong_tx, pong_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let finder = memchr::memmem::Finder::new(b"Ping: Pong\r\n");
        let mut buf = vec![0u8; 256 * 1024];
        // A match may straddle two reads: carry the tail over.
        let keep = finder.needle().len() - 1;
        let mut carried = 0;
        loop {
            let n = match reading.read(&mut buf[carried..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let window = &buf[..carried + n];
            for _ in finder.find_iter(window) {
                if pong_tx.send(Instant::now()).is_err() {
                    return;
                }
            }
            let tail = window.len().min(keep);
            let from = window.len() - tail;
            buf.copy_within(from..from + tail, 0);
            carried = tail;
        }
    });
    let mut rtts = Vec::with_capacity(pings);
    for n in 0..=pings {
        let sent = Instant::now();
        stream
            .write_all(format!("Action: Ping\r\nActionID: plain-{n}\r\n\r\n").as_bytes())
            .unwrap();
        let back = pong_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the plain reader saw its Pong");
        // The first one waits for the login: not counted, as for amicon.
        if n > 0 {
            rtts.push(back - sent);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = reader.join();
    rtts.sort();
    (rtts[rtts.len() / 2], rtts[rtts.len() * 99 / 100])
}

/// Who the Ping session logs in as.
struct Login<'a> {
    addr: &'a str,
    user: &'a str,
    secret: &'a str,
}

impl<'a> Login<'a> {
    fn demo(addr: &'a str) -> Self {
        Login {
            addr,
            user: "demo",
            secret: "demo",
        }
    }

    /// The Login action as a plain reader sends it, with this `Events:` mask.
    fn wire(&self, events: &str) -> Vec<u8> {
        format!(
            "Action: Login\r\nUsername: {}\r\nSecret: {}\r\nEvents: {events}\r\n\r\n",
            self.user, self.secret
        )
        .into_bytes()
    }
}

/// Ping round trips (p50, p99) through a session whose consumer keeps up, and the rate
/// of events that session received meanwhile.
fn ping_rtt_during_flood(login: &Login<'_>, pings: usize) -> (Duration, Duration, f64) {
    use amicon::ami::{Action, AuthMethod};
    use amicon::session::{self, Endpoint, SessionConfig};
    // Laid out as the binary runs: the session on the runtime's workers, the consumer
    // and the one asking on threads of their own (the TUI's loop, `watch`'s printer).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rt = runtime.handle().clone();
    runtime.block_on(async {
        let (host, port) = login.addr.rsplit_once(':').unwrap();
        let endpoint = Endpoint {
            host: host.into(),
            port: port.parse().unwrap(),
            tls: false,
        };
        let mut config = SessionConfig::new(
            endpoint,
            login.user,
            amicon::secret::Secret::new(login.secret.into()),
        );
        config.auth = AuthMethod::Md5;
        config.reconnect = false;
        let (handle, mut stream) = session::spawn(config);
        // A consumer that keeps up, as `watch` does; replies must not queue behind it.
        let received = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = received.clone();
        let drain = std::thread::spawn(move || {
            rt.block_on(async move {
                let mut batch = Vec::new();
                while stream.recv_batch(&mut batch).await {
                    counted.fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    batch.clear();
                }
            })
        });
        // The first request waits for the login and the flood's start: not counted.
        handle
            .request(Action::new("Ping"))
            .await
            .expect("ping answered after login");
        let mut rtts = Vec::with_capacity(pings);
        let started = Instant::now();
        let before = received.load(std::sync::atomic::Ordering::Relaxed);
        for _ in 0..pings {
            let sent = Instant::now();
            handle
                .request(Action::new("Ping"))
                .await
                .expect("ping answered during the flood");
            rtts.push(sent.elapsed());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let rate = (received.load(std::sync::atomic::Ordering::Relaxed) - before) as f64
            / started.elapsed().as_secs_f64();
        handle.logoff().await;
        drop(handle);
        drain
            .join()
            .expect("the consumer thread ends with the session");
        rtts.sort();
        (rtts[rtts.len() / 2], rtts[rtts.len() * 99 / 100], rate)
    })
}

/// Events per second a real Asterisk is asked to send: a rate it sustains here while
/// sharing the 2 cores with amicon and the senders. At 50,000/s it is near saturation:
/// Pings then sometimes wait 0.1-8 s before Asterisk even reads them (its `Timestamp`
/// says so), for a plain reader too once the machine is loaded; unpaced senders made a
/// Ping time out after 10 s.
const REAL_FLOOD_RATE: u64 = 20_000;

/// A flood from a real Asterisk: `connections` clients that log in with `Events: off`
/// and send `UserEvent` actions, together `REAL_FLOOD_RATE` per second (reading their
/// answers on the side), until `stop` is set. Asterisk sends each event to every
/// session that asked for the `user` class.
fn real_asterisk_flood(
    login: &Login<'_>,
    connections: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    const BATCH: u64 = 100;
    let batch_every =
        Duration::from_secs_f64(BATCH as f64 * connections as f64 / REAL_FLOOD_RATE as f64);
    use std::sync::atomic::Ordering;
    (0..connections)
        .map(|c| {
            let (addr, login_off) = (login.addr.to_string(), login.wire("off"));
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(&addr).expect("connect to Asterisk");
                stream.write_all(&login_off).unwrap();
                let mut answers = stream.try_clone().unwrap();
                let reader = std::thread::spawn(move || {
                    let mut sink = vec![0u8; 1 << 20];
                    while matches!(answers.read(&mut sink), Ok(n) if n > 0) {}
                });
                let batch: Vec<u8> = (0..BATCH)
                    .flat_map(|n| {
                        format!(
                            "Action: UserEvent\r\nUserEvent: AmiconFlood\r\nFlooder: {c}\r\nSeq: {n}\r\nPayload: 0123456789abcdefghijklmnopqrstuvwxyz\r\n\r\n"
                        )
                        .into_bytes()
                    })
                    .collect();
                let mut due = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    if stream.write_all(&batch).is_err() {
                        break;
                    }
                    due += batch_every;
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                }
                let _ = stream.write_all(b"Action: Logoff\r\n\r\n");
                let _ = stream.shutdown(std::net::Shutdown::Write);
                let _ = reader.join();
            })
        })
        .collect()
}

/// Ping round trips on a session of the real Asterisk (`AMI_TEST_*`) while it floods
/// that session with `UserEvent`s: the heaviest flood a real server sends here.
fn real_asterisk_ping(pings: usize) {
    let (Ok(addr), user, secret) = (
        std::env::var("AMI_TEST_ADDR"),
        std::env::var("AMI_TEST_USER").unwrap_or_else(|_| "admin".into()),
        std::env::var("AMI_TEST_SECRET").unwrap_or_else(|_| "amp111".into()),
    ) else {
        println!("  (real Asterisk: set AMI_TEST_ADDR to measure Ping during its flood)");
        return;
    };
    let login = Login {
        addr: &addr,
        user: &user,
        secret: &secret,
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooders = real_asterisk_flood(&login, 4, stop.clone());
    std::thread::sleep(Duration::from_millis(300));
    let (p50, p99, rate) = ping_rtt_during_flood(&login, pings);
    let (plain_p50, plain_p99) = plain_ping_rtt_during_flood(&login, pings);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for flooder in flooders {
        let _ = flooder.join();
    }
    println!(
        "  Ping round trip on a real Asterisk flooding the session with UserEvents ({rate:.0} events/s): p50 {:.2} ms, p99 {:.2} ms (plain reader: p50 {:.2} ms, p99 {:.2} ms)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        plain_p50.as_secs_f64() * 1e3,
        plain_p99.as_secs_f64() * 1e3
    );
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke")
        || std::env::var_os("AMICON_BENCH_SMOKE").is_some();
    // `cargo test --benches` runs bench targets without `--bench`: stay quick there too.
    let smoke = smoke || !std::env::args().any(|a| a == "--bench");
    let (events, runs) = if smoke {
        (100_000u64, 1)
    } else {
        (2_000_000u64, 3)
    };
    let server = start_server("max");
    let addr = server.addr.clone();

    watch_loses_nothing(&addr, events.min(200_000));

    let variants: [(&str, &[&str]); 4] = [
        ("raw", &[]),
        ("--json", &["--json"]),
        ("--format line", &["--format", "line"]),
        // BridgeEnter is about 1.3 % of the demo flood (the bench prints the share).
        ("filter ~1 %", &["BridgeEnter"]),
    ];
    println!("e2e: {events} events per run, {runs} run(s), medians; ratio = amicon / plain reader of the same flood");
    let filter_terms = variants[3].1;
    let fraction = match_fraction(&addr, filter_terms, 200_000);
    println!(
        "  (the filter {filter_terms:?} matches {:.2} % of the flood)",
        fraction * 100.0
    );
    let mut plain_rates = Vec::new();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut dropped = vec![0u64; variants.len()];
    for _ in 0..runs {
        plain_rates.push(events as f64 / plain_reader(&addr, events).as_secs_f64());
        for (i, (_, args)) in variants.iter().enumerate() {
            // With a filter, --count counts matches: ask for the matches of `events`
            // flood events, so every variant reads the same amount of the flood.
            let count = if i == 3 {
                ((events as f64 * fraction) as u64).max(1)
            } else {
                events
            };
            let (took, lost) = watch(&addr, count, args);
            rates[i].push(events as f64 / took.as_secs_f64());
            dropped[i] += lost;
        }
    }
    let plain = median(plain_rates);
    println!("  plain read-and-discard     {:>12.0} events/s", plain);
    for (i, (name, _)) in variants.iter().enumerate() {
        let rate = median(rates[i].clone());
        let lost = match dropped[i] {
            0 => String::new(),
            n => format!("  ({n} dropped over {runs} runs: output slower than the flood)"),
        };
        println!(
            "  amicon watch {:<13} {:>12.0} events/s  ratio {:.2}{lost}",
            name,
            rate,
            rate / plain
        );
    }
    let pings = if smoke { 20 } else { 200 };
    let (p50, p99, _) = ping_rtt_during_flood(&Login::demo(&addr), pings);
    let (plain_p50, plain_p99) = plain_ping_rtt_during_flood(&Login::demo(&addr), pings);
    println!(
        "  Ping round trip during the unlimited flood: p50 {:.2} ms, p99 {:.2} ms (plain reader: p50 {:.2} ms, p99 {:.2} ms)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        plain_p50.as_secs_f64() * 1e3,
        plain_p99.as_secs_f64() * 1e3
    );
    // A server that is not faster than the session: no backlog builds up in the
    // kernel's socket buffers, and what remains is amicon's own answer time.
    let paced = start_server(PACED_FLOOD);
    let (p50, p99, _) = ping_rtt_during_flood(&Login::demo(&paced.addr), pings);
    println!(
        "  Ping round trip during a {PACED_FLOOD} events/s flood: p50 {:.2} ms, p99 {:.2} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    real_asterisk_ping(pings);
}
