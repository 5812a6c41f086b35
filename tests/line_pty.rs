//! Line mode end to end against the real Asterisk: typed in a pseudo-terminal (what a
//! person sees is read back through a vt100 emulator), and fed from a pipe.
//!
//! The console under test is this test binary re-run with `AMICON_LINE_HARNESS` set:
//! its `line_mode_entry_point` then calls `amicon::line::run` with a config built from
//! the `AMI_TEST_*` variables, exactly as `amicon --line` does once the CLI hands over.

use amicon::line::{self, LineOptions};
use amicon::secret::Secret;
use amicon::session::{Endpoint, SessionConfig};
use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HARNESS: &str = "AMICON_LINE_HARNESS";

/// Not a test: the entry point the other tests start in a child process.
#[test]
#[ignore = "entry point for the line-mode tests, run by them in a child process"]
fn line_mode_entry_point() {
    if std::env::var_os(HARNESS).is_none() {
        return;
    }
    let addr = std::env::var("AMI_TEST_ADDR").expect("AMI_TEST_ADDR");
    let (host, port) = addr.rsplit_once(':').expect("AMI_TEST_ADDR is host:port");
    let user = std::env::var("AMICON_TEST_LOGIN").expect("AMICON_TEST_LOGIN");
    let secret = std::env::var("AMI_SECRET").expect("AMI_SECRET");
    let endpoint = Endpoint {
        host: host.to_string(),
        port: port.parse().expect("port"),
        tls: false,
    };
    let mut config = SessionConfig::new(endpoint, user, Secret::new(secret));
    config.retry_first_connect = false;
    let options = LineOptions {
        history_path: std::env::var_os("AMICON_TEST_HISTORY").map(Into::into),
        templates_dir: Some("/nonexistent".into()),
        ..LineOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let code = match runtime.block_on(line::run(config, options)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("amicon: {e}");
            2
        }
    };
    runtime.shutdown_timeout(Duration::from_millis(100));
    std::process::exit(code);
}

fn real_asterisk() -> (String, String) {
    let addr = std::env::var("AMI_TEST_ADDR").expect("AMI_TEST_ADDR (see real-asterisk.sh env)");
    let secret = std::env::var("AMI_TEST_SECRET").unwrap_or_else(|_| "amp111".into());
    (addr, secret)
}

fn harness_args() -> [&'static str; 5] {
    [
        "line_mode_entry_point",
        "--exact",
        "--include-ignored",
        "--nocapture",
        "--test-threads=1",
    ]
}

/// A console running in a pseudo-terminal, its screen parsed by vt100.
struct Console {
    parser: Arc<Mutex<vt100::Parser>>,
    /// Everything written to the terminal, for "was it ever printed" checks.
    transcript: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    master: Box<dyn portable_pty::MasterPty + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Console {
    fn start(user: &str, secret: &str, history: &std::path::Path) -> Console {
        let (addr, _) = real_asterisk();
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(std::env::current_exe().unwrap());
        cmd.args(harness_args());
        cmd.env(HARNESS, "1");
        cmd.env("AMI_TEST_ADDR", addr);
        cmd.env("AMICON_TEST_LOGIN", user);
        cmd.env("AMI_SECRET", secret);
        cmd.env("AMICON_TEST_HISTORY", history);
        cmd.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(40, 120, 0)));
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pty.master.try_clone_reader().unwrap();
        let (p, t) = (parser.clone(), transcript.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                t.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let writer = pty.master.take_writer().unwrap();
        Console {
            parser,
            transcript,
            writer,
            master: pty.master,
            child,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.transcript.lock().unwrap()).into_owned()
    }

    /// The last non-blank row of the screen: where the prompt and the typed line are.
    fn last_line(&self) -> String {
        self.screen()
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .trim_end()
            .to_string()
    }

    fn type_text(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn wait_for(&self, what: &str, limit: Duration, mut ok: impl FnMut(&Console) -> bool) {
        let deadline = Instant::now() + limit;
        while !ok(self) {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; screen:\n{}\n--- transcript:\n{}",
                    self.screen(),
                    self.transcript()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the terminal is back in cooked mode (line editing and echo on).
    fn terminal_is_cooked(&self) -> bool {
        let termios = format!(
            "{:?}",
            self.master.get_termios().expect("termios of the pty")
        );
        termios.contains("ICANON") && termios.contains("ECHO")
    }

    fn wait_exit(&mut self, limit: Duration) -> u32 {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.exit_code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the console did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
#[ignore = "needs a real Asterisk (AMI_TEST_ADDR)"]
fn typed_originate_shows_its_answer_and_filtered_events_above_an_unfinished_line() {
    let (_, secret) = real_asterisk();
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let mut c = Console::start("admin", &secret, &history);
    c.wait_for("login and the prompt", Duration::from_secs(15), |c| {
        c.screen().contains("-- logged in as admin@") && c.last_line() == "ami>"
    });

    c.type_text(":filter Hangup\r");
    c.wait_for(
        "the filter to be acknowledged",
        Duration::from_secs(5),
        |c| c.screen().contains("-- filter: Hangup"),
    );

    // Tab completes the action name once ListCommands has come back (fetched after login).
    c.type_text("Action: Orig");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c.last_line().ends_with("Action: Originate") {
        assert!(
            Instant::now() < deadline,
            "Tab did not complete Originate; screen:\n{}",
            c.screen()
        );
        c.type_text("\t");
        std::thread::sleep(Duration::from_millis(300));
    }
    c.type_text("\r");
    c.wait_for(
        "the prompt naming the action",
        Duration::from_secs(5),
        |c| c.last_line() == "ami Originate>",
    );
    for line in [
        "Channel: Local/echo@test",
        "Context: test",
        "Exten: echo",
        "Priority: 1",
        "Async: true",
        "",
    ] {
        c.type_text(&format!("{line}\r"));
    }
    c.wait_for("the prompt back to empty", Duration::from_secs(5), |c| {
        c.last_line() == "ami>"
    });
    // Start another block and leave it unfinished while the call's events arrive.
    c.type_text("Action: Pi");
    c.wait_for("the Originate response", Duration::from_secs(10), |c| {
        c.transcript()
            .contains("Message: Originate successfully queued")
    });
    c.wait_for("the filtered Hangup events", Duration::from_secs(15), |c| {
        c.screen().contains("Event: Hangup")
    });
    assert_eq!(
        c.last_line(),
        "ami> Action: Pi",
        "the unfinished line survives the printing"
    );
    let transcript = c.transcript();
    assert!(
        !transcript.contains("Event: Newchannel"),
        "the filter hides other events"
    );
    assert!(transcript.contains("Response: Success"));

    // Ctrl-C clears the block, Ctrl-D on the empty block logs off and exits 0.
    c.type_text("\x03");
    c.wait_for("a cleared line", Duration::from_secs(5), |c| {
        c.last_line() == "ami>"
    });
    c.type_text("\x04");
    assert_eq!(c.wait_exit(Duration::from_secs(10)), 0);
    assert!(
        !c.transcript().contains(&secret),
        "the secret never reaches the screen"
    );
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(
        saved.contains("Local/echo@test"),
        "the block is in the history: {saved}"
    );
}

#[test]
#[ignore = "needs a real Asterisk (AMI_TEST_ADDR)"]
fn a_wrong_secret_exits_with_code_4() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Console::start("admin", "not-the-secret", &dir.path().join("history"));
    assert_eq!(
        c.wait_exit(Duration::from_secs(15)),
        4,
        "{}",
        c.transcript()
    );
    // The process may be gone before the reader thread has drained the terminal.
    c.wait_for("the reason on screen", Duration::from_secs(5), |c| {
        c.transcript().contains("authentication failed")
    });
}

fn run_piped(user: &str, secret: &str, input: &str) -> (i32, String, String) {
    let (addr, _) = real_asterisk();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(harness_args())
        .env(HARNESS, "1")
        .env("AMI_TEST_ADDR", addr)
        .env("AMICON_TEST_LOGIN", user)
        .env("AMI_SECRET", secret)
        .env("AMICON_TEST_HISTORY", "/nonexistent/never-written")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[ignore = "needs a real Asterisk (AMI_TEST_ADDR)"]
fn piped_blocks_are_answered_in_order_and_exit_0() {
    let (_, secret) = real_asterisk();
    let input = "# a comment\nAction: Ping\n\nAction: Originate\nChannel: Local/echo@test\nContext: test\nExten: echo\nPriority: 1\nAsync: true\n\nCoreShowChannels\n";
    let (code, stdout, stderr) = run_piped("admin", &secret, input);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let ping = stdout.find("Ping: Pong").expect("Ping answered");
    let originate = stdout
        .find("Message: Originate successfully queued")
        .expect("Originate answered");
    let list = stdout
        .find("Event: CoreShowChannelsComplete")
        .expect("the whole list is printed");
    assert!(ping < originate && originate < list, "{stdout}");
    assert!(
        !stdout.contains("Event: Newchannel"),
        "no events without a filter"
    );
}

#[test]
#[ignore = "needs a real Asterisk (AMI_TEST_ADDR)"]
fn piped_error_answers_exit_1_and_bad_blocks_exit_2() {
    let ro_secret = std::env::var("AMI_TEST_RO_SECRET").unwrap_or_else(|_| "ro111".into());
    let (code, stdout, _) = run_piped(
        "readonly",
        &ro_secret,
        "Action: Originate\nChannel: Local/echo@test\n\n",
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("Message: Permission denied"), "{stdout}");

    let (_, secret) = real_asterisk();
    let (code, _, stderr) = run_piped("admin", &secret, "Action: Ping\nthis is not a header\n\n");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not `Key: Value`"), "{stderr}");
}

#[test]
#[ignore = "needs a real Asterisk (AMI_TEST_ADDR)"]
fn piped_with_a_wrong_secret_exits_4() {
    let (code, _, stderr) = run_piped("admin", "wrong", "Action: Ping\n\n");
    assert_eq!(code, 4, "{stderr}");
}

#[test]
#[ignore = "needs a real Asterisk (AMI_TEST_ADDR)"]
fn sigterm_logs_off_and_gives_the_terminal_back_cooked() {
    let (_, secret) = real_asterisk();
    let dir = tempfile::tempdir().unwrap();
    let mut c = Console::start("admin", &secret, &dir.path().join("history"));
    c.wait_for("the prompt", Duration::from_secs(15), |c| {
        c.last_line() == "ami>"
    });
    c.type_text("Action: Pi");
    c.wait_for("the editor in raw mode", Duration::from_secs(5), |c| {
        !c.terminal_is_cooked()
    });
    let pid = c.child.process_id().expect("child pid");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(
        c.wait_exit(Duration::from_secs(10)),
        143,
        "{}",
        c.transcript()
    );
    assert!(c.terminal_is_cooked(), "the terminal is left raw");
    c.wait_for("the note on screen", Duration::from_secs(5), |c| {
        c.transcript().contains("-- terminated: logging off")
    });
}

#[test]
#[ignore = "needs a real Asterisk (AMI_TEST_ADDR)"]
fn piped_json_format_prints_one_object_per_message() {
    let (_, secret) = real_asterisk();
    let (code, stdout, stderr) = run_piped(
        "admin",
        &secret,
        ":format json\nAction: Ping\n\nAction: CoreShowChannels\n\n",
    );
    assert_eq!(code, 0, "{stderr}");
    let objects: Vec<serde_json::Value> = stdout
        .lines()
        // The harness's own `test line_mode_entry_point ... ` may precede the first line.
        .filter_map(|l| l.find("{\"time\"").map(|at| &l[at..]))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(objects.len() >= 3, "{stdout}");
    assert!(
        objects[0]["headers"]
            .to_string()
            .contains(r#"["Ping","Pong"]"#),
        "{}",
        objects[0]
    );
    assert!(
        objects
            .iter()
            .any(|o| o["name"] == "CoreShowChannelsComplete"),
        "{stdout}"
    );
}
