//! Logging in from the real `amicon` binary in a pseudo-terminal, against the built-in
//! demo PBX (issue 16): a wrong secret is said on the normal screen and asked again, like
//! ssh, up to three tries, before anything goes full screen; the right secret on a later
//! try opens the console; three wrong ones exit 4 with the reason printed; and without a
//! terminal to ask on, the reason is printed at once.

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Pty {
    screen: Arc<Mutex<vt100::Parser>>,
    /// Whether the alternate screen was ever entered (the parser only knows the present).
    ever_full_screen: Arc<Mutex<bool>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Pty {
    fn run(args: &[&str], env: &[(&str, &str)]) -> Pty {
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
        command.env_remove("AMI_SECRET");
        for (k, v) in env {
            command.env(k, v);
        }
        let dir = tempfile::tempdir().unwrap();
        // No user config or history of the machine running the tests.
        command.env("XDG_CONFIG_HOME", dir.path());
        command.env("XDG_STATE_HOME", dir.path());
        command.env("HOME", dir.path());
        let child = pty.slave.spawn_command(command).expect("spawn");
        std::mem::forget(dir);
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(vt100::Parser::new(30, 100, 0)));
        let ever_full_screen = Arc::new(Mutex::new(false));
        let (parser, ever) = (screen.clone(), ever_full_screen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut parser = parser.lock().unwrap();
                parser.process(&buf[..n]);
                if parser.screen().alternate_screen() {
                    *ever.lock().unwrap() = true;
                }
            }
        });
        Pty {
            screen,
            ever_full_screen,
            writer,
            child,
            _master: pty.master,
        }
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Waits until `needle` shows `times` times on the screen.
    fn expect_times(&self, needle: &str, times: usize) {
        let start = Instant::now();
        loop {
            let text = self.contents();
            if text.matches(needle).count() >= times {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "`{needle}` never appeared {times} times; the screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(10));
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
            assert!(start.elapsed() < Duration::from_secs(20), "did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The demo PBX on a free port, in a runtime of its own; its target `demo@127.0.0.1:PORT`.
fn demo_pbx() -> (tokio::runtime::Runtime, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(async {
        amicon::demo::start(amicon::demo::DemoOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            calls_per_second: 0.0,
            ..Default::default()
        })
        .await
        .unwrap()
    });
    let (user, _) = server.login();
    let target = format!("{user}@{}", server.local_addr());
    std::mem::forget(server);
    (runtime, target)
}

const PROMPT: &str = "AMI secret for";

#[test]
fn a_wrong_secret_is_asked_again_and_the_right_one_opens_the_console() {
    let (_pbx, target) = demo_pbx();
    let mut pty = Pty::run(&[&target], &[]);
    pty.expect_times(PROMPT, 1);
    pty.send(b"wrong\r");
    pty.expect_times("try again (1 of 3 tries used)", 1);
    pty.expect_times(PROMPT, 2);
    assert!(
        !*pty.ever_full_screen.lock().unwrap(),
        "still the normal screen"
    );
    pty.send(b"demo\r");
    pty.expect_times("logged in as demo@", 1);
    assert!(*pty.ever_full_screen.lock().unwrap());
    pty.send(b"\x11"); // Ctrl-Q
    assert_eq!(pty.wait_exit(), 0);
}

#[test]
fn three_wrong_secrets_exit_4_with_the_reason_on_the_normal_screen() {
    let (_pbx, target) = demo_pbx();
    let mut pty = Pty::run(&[&target], &[]);
    for n in 1..=3 {
        pty.expect_times(PROMPT, n);
        pty.send(b"wrong\r");
    }
    assert_eq!(pty.wait_exit(), 4);
    let text = pty.contents();
    assert!(text.contains("try again (2 of 3 tries used)"), "{text}");
    assert!(text.contains("authentication failed"), "{text}");
    assert!(!*pty.ever_full_screen.lock().unwrap(), "{text}");
}

#[test]
fn a_wrong_secret_from_the_environment_is_asked_again_too() {
    let (_pbx, target) = demo_pbx();
    let mut pty = Pty::run(&[&target], &[("AMI_SECRET", "wrong")]);
    pty.expect_times("try again (1 of 3 tries used)", 1);
    pty.expect_times(PROMPT, 1);
    pty.send(b"demo\r");
    pty.expect_times("logged in as demo@", 1);
    pty.send(b"\x11");
    assert_eq!(pty.wait_exit(), 0);
}

#[test]
fn without_a_terminal_to_ask_on_a_wrong_secret_exits_4_with_the_reason() {
    let (_pbx, target) = demo_pbx();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_amicon"))
        .arg(&target)
        .env("AMI_SECRET", "wrong")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(!stderr.contains("try again"), "{stderr}");
}
