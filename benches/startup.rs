//! Start-up to a drawn screen (issue 6: under 50 ms before the network): the real
//! `amicon` TUI in a pseudo-terminal, timed from spawning the process to the first
//! screen that shows the key bar, against a server that accepts the connection and
//! never says a word (so no network answer is ever part of the figure).
//!
//! Side by side in the same run, the floor: `amicon --version` in the same terminal,
//! timed to its output (process start, dynamic loading, argument parsing).
//!
//! `cargo bench --bench startup` (30 runs each, interleaved); `-- --smoke` for CI (3).

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_amicon");
/// On the TUI's bottom bar: the screen is drawn.
const DRAWN: &str = "F1 help";

/// Spawns `args` in a fresh 100x30 terminal; returns how long until the screen shows
/// `marker`, then ends the program (Ctrl-Q, then a kill if it is still there).
fn time_to_screen(args: &[&str], home: &std::path::Path, marker: &str) -> Duration {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("openpty");
    let mut command = CommandBuilder::new(BIN);
    command.args(args);
    command.env("HOME", home);
    command.env("XDG_CONFIG_HOME", home.join(".config"));
    command.env("XDG_DATA_HOME", home.join(".local/share"));
    command.env("AMI_SECRET", "never-sent");
    command.env("TERM", "xterm-256color");
    let (seen_tx, seen_rx) = mpsc::channel();
    let mut reader = pty.master.try_clone_reader().unwrap();
    let started = Instant::now();
    let mut child = pty.slave.spawn_command(command).expect("spawn amicon");
    drop(pty.slave);
    let marker = marker.to_string();
    let reading = std::thread::spawn(move || {
        let mut screen = vt100::Parser::new(30, 100, 0);
        let mut buf = [0u8; 65536];
        let mut told = false;
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            screen.process(&buf[..n]);
            if !told && screen.screen().contents().contains(&marker) {
                told = true;
                let _ = seen_tx.send(started.elapsed());
            }
        }
        if !told {
            let _ = seen_tx.send(Duration::MAX);
            eprintln!("never drawn; last screen:\n{}", screen.screen().contents());
        }
    });
    let elapsed = seen_rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or(Duration::MAX);
    let mut writer = pty.master.take_writer().unwrap();
    let _ = writer.write_all(b"\x11");
    let deadline = Instant::now() + Duration::from_secs(3);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(writer);
    drop(pty.master);
    let _ = reading.join();
    assert!(elapsed != Duration::MAX, "{args:?} never drew its screen");
    elapsed
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke")
        || std::env::var_os("AMICON_BENCH_SMOKE").is_some()
        || !std::env::args().any(|a| a == "--bench");
    let runs = if smoke { 3 } else { 30 };

    // A server that takes the connection and never sends its banner.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let home = tempfile::tempdir().unwrap();
    let target = format!("admin@{addr}");

    let mut tui = Vec::with_capacity(runs);
    let mut floor = Vec::with_capacity(runs);
    for _ in 0..runs {
        tui.push(time_to_screen(&[&target], home.path(), DRAWN));
        floor.push(time_to_screen(&["--version"], home.path(), "amicon"));
    }
    tui.sort();
    floor.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("startup: {runs} runs each, interleaved, in a 100x30 pseudo-terminal");
    println!(
        "  amicon --version printed         p50 {:>6.1} ms  p90 {:>6.1} ms",
        ms(percentile(&floor, 0.5)),
        ms(percentile(&floor, 0.9))
    );
    println!(
        "  amicon TUI screen drawn          p50 {:>6.1} ms  p90 {:>6.1} ms  (target < 50 ms)",
        ms(percentile(&tui, 0.5)),
        ms(percentile(&tui, 0.9))
    );
    println!(
        "  ratio TUI / --version (medians)  {:.2}",
        ms(percentile(&tui, 0.5)) / ms(percentile(&floor, 0.5))
    );
}
