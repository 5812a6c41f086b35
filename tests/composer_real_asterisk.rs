//! The composer as a telnet user meets it: the real `amicon` binary in a pseudo-terminal
//! against a real Asterisk (AMI_TEST_ADDR, AMI_TEST_USER, AMI_TEST_SECRET; see
//! tests/harness and the README). Run with
//! `cargo test --test composer_real_asterisk -- --include-ignored --test-threads=2`.

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// The binary in a pseudo-terminal, its screen parsed by vt100.
struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _state: tempfile::TempDir,
}

impl Screen {
    fn start(extra: &[&str]) -> Screen {
        let addr = std::env::var("AMI_TEST_ADDR").expect("AMI_TEST_ADDR");
        let user = env("AMI_TEST_USER", "admin");
        let secret = env("AMI_TEST_SECRET", "amp111");
        let state = tempfile::tempdir().unwrap();
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_amicon"));
        cmd.arg(format!("{user}@{addr}"));
        for arg in extra {
            cmd.arg(arg);
        }
        cmd.env("AMI_SECRET", secret);
        cmd.env("TERM", "xterm-256color");
        cmd.env("XDG_CONFIG_HOME", "/nonexistent-amicon-test-config");
        cmd.env("XDG_STATE_HOME", state.path());
        cmd.env("HOME", state.path());
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(40, 120, 0)));
        let mut reader = pty.master.try_clone_reader().unwrap();
        let p = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pty.master.take_writer().unwrap();
        // The master must outlive the child's use of the terminal.
        std::mem::forget(pty.master);
        Screen {
            parser,
            writer,
            child,
            _state: state,
        }
    }

    fn contents(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Types text one key at a time, as a person would (a burst would read as a paste).
    fn type_keys(&mut self, text: &str) {
        for c in text.chars() {
            let mut buf = [0u8; 4];
            self.send(c.encode_utf8(&mut buf));
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.contents();
            if ok(&screen) {
                return;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn logged_in(&self) {
        self.wait_for("the login", |s| s.contains("logged in as"));
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness (see README)"]
fn the_answer_pane_shows_core_show_channels_in_full() {
    let mut s = Screen::start(&[]);
    s.logged_in();
    s.type_keys("Action: Command\rCommand: core show channels\r\r");
    s.wait_for("the answer pane with the CLI output", |screen| {
        screen.contains(" Answer ")
            && screen.contains("lines of output")
            && screen.contains("active channel")
            && screen.contains("Channel")
    });
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness (see README)"]
fn a_list_action_is_sent_after_its_help_was_fetched() {
    let mut s = Screen::start(&[]);
    s.logged_in();
    // The action list, then the help of the named action, come before Enter.
    std::thread::sleep(Duration::from_millis(800));
    s.type_keys("Action: CoreShowChannels");
    std::thread::sleep(Duration::from_millis(1500));
    s.type_keys("\r\r");
    s.wait_for("the list in the answer pane", |screen| {
        screen.contains("CoreShowChannels: ") && screen.contains("items")
    });
    assert!(
        !s.contents().contains("missing required"),
        "{}",
        s.contents()
    );
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness (see README)"]
fn tab_completes_in_the_composer() {
    let mut s = Screen::start(&[]);
    s.logged_in();
    std::thread::sleep(Duration::from_millis(800));
    s.type_keys("Action: CoreSett\t");
    s.wait_for("the completed action", |screen| {
        screen.contains("Action: CoreSettings")
    });
    s.type_keys("\r\r");
    s.wait_for("its answer", |screen| screen.contains("AsteriskVersion"));
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness (see README)"]
fn a_two_block_paste_sends_both() {
    let mut s = Screen::start(&[]);
    s.logged_in();
    s.send("\x1b[200~Action: Ping\r\nActionID: paste-1\r\n\r\nAction: CoreSettings\r\nActionID: paste-2\r\n\r\n\x1b[201~");
    s.wait_for("both answers", |screen| {
        screen.contains("2 pasted blocks sent in order") || screen.contains("AsteriskVersion")
    });
    s.wait_for("the second answer in the pane", |screen| {
        screen.contains("AsteriskVersion")
    });
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness (see README)"]
fn read_only_refuses_originate_and_says_so() {
    let mut s = Screen::start(&["--read-only"]);
    s.logged_in();
    s.wait_for("the status bar", |screen| screen.contains("READ-ONLY"));
    s.type_keys("Action: Originate\rChannel: Local/echo@test\rApplication: Wait\rData: 1\r\r");
    s.wait_for("the refusal", |screen| {
        screen.contains("read-only mode: Originate is not on the read list")
    });
    // A read action still goes.
    s.send("\x0c");
    s.type_keys("Ping\r\r");
    s.wait_for("the Ping answer", |screen| {
        screen.contains("Ping → Success")
    });
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness (see README)"]
fn line_mode_asks_before_a_hangup() {
    let mut s = Screen::start(&["--line"]);
    s.wait_for("the prompt", |screen| screen.contains("ami> "));
    s.type_keys("Action: Hangup\rChannel: PJSIP/nobody-00000001\r\r");
    s.wait_for("the question", |screen| {
        screen.contains("Hangup changes live calls")
            && screen.contains("PJSIP/nobody-00000001: not among the live channels")
            && screen.contains("Send it? [y/N]")
    });
    s.type_keys("n\r");
    s.wait_for("not sent", |screen| screen.contains("not sent"));
    assert!(
        !s.contents().contains("No such channel"),
        "{}",
        s.contents()
    );
}
