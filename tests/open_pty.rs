//! The real `amicon open` binary in a pseudo-terminal: it shows the recording without a
//! connection, opens the calls view, refuses to send, and quits leaving the terminal
//! restored.

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Pty {
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Pty {
    fn open(args: &[&str]) -> Pty {
        let mut all = vec!["open"];
        all.extend_from_slice(args);
        Pty::run(&all)
    }

    fn run(args: &[&str]) -> Pty {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 30,
                cols: 100,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_amicon"));
        command.args(args);
        command.env("TERM", "xterm-256color");
        command.cwd(env!("CARGO_MANIFEST_DIR"));
        let child = pty.slave.spawn_command(command).expect("spawn");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(vt100::Parser::new(30, 100, 0)));
        let parser = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                parser.lock().unwrap().process(&buf[..n]);
            }
        });
        Pty {
            screen,
            writer,
            child,
            _master: pty.master,
        }
    }

    fn expect(&self, needle: &str) {
        let start = Instant::now();
        loop {
            let text = self.screen.lock().unwrap().screen().contents();
            if text.contains(needle) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "`{needle}` never appeared; the screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    fn wait_exit(&mut self) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(200));
                return status.exit_code();
            }
            assert!(start.elapsed() < Duration::from_secs(15), "did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn open_shows_a_recording_its_calls_and_refuses_to_send() {
    let mut pty = Pty::open(&["tests/fixtures/calls/dial-call.txt"]);
    pty.expect("recording tests/fixtures/calls/dial-call.txt");
    pty.expect("Hangup");
    // F5: the calls view.
    pty.send(b"\x1b[15~");
    pty.expect("Alice Caller <1");
    pty.expect("dial@test-10;1");
    // Tab to the composer, type a block and send it: refused, nothing sent.
    pty.send(b"\t");
    pty.send(b"Action: Ping\r\r");
    pty.expect("a recording: nothing is sent");
    pty.send(b"\x11"); // Ctrl-Q
    assert_eq!(pty.wait_exit(), 0);
    let parser = pty.screen.lock().unwrap();
    assert!(!parser.screen().alternate_screen(), "terminal restored");
}

#[test]
fn open_shows_an_asterisk_11_transcript_as_one_call_with_its_ladder() {
    // A synthetic Asterisk 11 call (Dial SubEvent, Bridge Bridgestate, no Linkedid).
    let mut pty = Pty::open(&["tests/fixtures/vectors/legacy/asterisk11-sip-call.txt"]);
    pty.expect("Cause-txt");
    pty.send(b"\x1b[15~"); // F5
                           // Caller and callee have their own columns in the calls table.
    pty.expect("Alice <1001>     Bob <1002>");
    pty.expect("1 ended");
    pty.send(b"\r"); // the call's detail
    pty.expect("SIP/bob-00000001");
    pty.send(b"\x11"); // Ctrl-Q
    assert_eq!(pty.wait_exit(), 0);
}

/// How many steps until the log shows `lines` lines (server info and pings are
/// stepped through but add no line).
fn steps_for_lines(path: &str, lines: usize) -> usize {
    use amicon::session::SessionEvent;
    let bytes = std::fs::read(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut shown = 0;
    for (i, entry) in amicon::record::read(&bytes).entries.iter().enumerate() {
        if !matches!(
            entry.event,
            SessionEvent::ServerInfo(_) | SessionEvent::Pong { .. }
        ) {
            shown += 1;
        }
        if shown == lines {
            return i + 1;
        }
    }
    panic!("{path} has fewer than {lines} log lines");
}

#[test]
fn open_step_shows_one_entry_per_dot() {
    let path = "tests/fixtures/vectors/originate-local-call-events.txt";
    let mut pty = Pty::open(&["--step", path]);
    pty.expect(&format!("recording {path}"));
    pty.expect("Log 0");
    let first = steps_for_lines(path, 1);
    pty.send(".".repeat(first).as_bytes());
    pty.expect("Log 1 ");
    let third = steps_for_lines(path, 3);
    pty.send(".".repeat(third - first).as_bytes());
    pty.expect("Log 3 ");
    pty.send(b"\x11");
    assert_eq!(pty.wait_exit(), 0);
}

#[test]
fn a_demo_recorded_with_record_opens_with_its_calls() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.ami");
    let file = file.to_str().unwrap();
    let mut pty = Pty::run(&["demo", "--rate", "20", "--seed", "7", "--record", file]);
    pty.expect(&format!("REC {file}"));
    pty.expect("Hangup");
    pty.send(b"\x11");
    assert_eq!(pty.wait_exit(), 0);
    let recording = amicon::record::read(&std::fs::read(file).unwrap());
    assert!(recording.timed);
    let mut calls = amicon::calls::Calls::default();
    for entry in &recording.entries {
        calls.apply_stamped(entry);
    }
    assert!(!calls.is_empty(), "the demo's calls were recorded");

    let mut pty = Pty::open(&[file]);
    pty.expect(&format!("recording {file}"));
    pty.send(b"\x1b[15~");
    pty.expect(" Calls (");
    pty.expect(" ended ");
    pty.send(b"\x11");
    assert_eq!(pty.wait_exit(), 0);
}

#[test]
fn open_step_shows_the_position_in_the_file() {
    let path = "tests/fixtures/transcripts/telnet-login.txt";
    let bytes = std::fs::read(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let total = amicon::record::read(&bytes).entries.len();
    let mut pty = Pty::open(&["--step", path]);
    pty.expect(&format!("entry 0 of {total}"));
    pty.send(b"..");
    // The transcript's only clock is its EventTV (2026-11-28T19:12:01.767+0000).
    pty.expect(&format!("entry 2 of {total} · 19:12:01.767"));
    pty.send(b"\x11");
    assert_eq!(pty.wait_exit(), 0);
}
