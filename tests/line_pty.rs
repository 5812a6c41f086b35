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
        Console::start_at(&addr, user, secret, history)
    }

    fn start_at(addr: &str, user: &str, secret: &str, history: &std::path::Path) -> Console {
        let mut cmd = CommandBuilder::new(std::env::current_exe().unwrap());
        cmd.args(harness_args());
        cmd.env(HARNESS, "1");
        cmd.env("AMI_TEST_ADDR", addr);
        cmd.env("AMICON_TEST_LOGIN", user);
        cmd.env("AMI_SECRET", secret);
        cmd.env("AMICON_TEST_HISTORY", history);
        Console::spawn(cmd)
    }

    fn spawn(mut cmd: CommandBuilder) -> Console {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
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
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
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
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
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
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
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
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
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
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
fn piped_with_a_wrong_secret_exits_4() {
    let (code, _, stderr) = run_piped("admin", "wrong", "Action: Ping\n\n");
    assert_eq!(code, 4, "{stderr}");
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
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
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
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

/// A stand-in AMI server that accepts any login and, while `flooding` is set, sends
/// `UserEvent`s at about `per_second`. The real Asterisk is shared, so it is not flooded.
fn flood_server(per_second: u64) -> (String, Arc<std::sync::atomic::AtomicBool>) {
    use std::io::BufRead;
    use std::sync::atomic::{AtomicBool, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let flooding = Arc::new(AtomicBool::new(false));
    let flag = flooding.clone();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let writer = Arc::new(Mutex::new(stream.try_clone().unwrap()));
        writer
            .lock()
            .unwrap()
            .write_all(b"Asterisk Call Manager/11.0.0\r\n")
            .unwrap();
        let flood_writer = writer.clone();
        std::thread::spawn(move || {
            let batch = (per_second / 100).max(1);
            let mut seq = 0u64;
            loop {
                if flag.load(Ordering::Relaxed) {
                    let mut chunk = String::new();
                    for _ in 0..batch {
                        seq += 1;
                        chunk.push_str(&format!(
                            "Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: Flood\r\nSeq: {seq}\r\n\r\n"
                        ));
                    }
                    if flood_writer
                        .lock()
                        .unwrap()
                        .write_all(chunk.as_bytes())
                        .is_err()
                    {
                        return;
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        let mut block: Vec<(String, String)> = Vec::new();
        for line in std::io::BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if !line.trim().is_empty() {
                if let Some((k, v)) = line.split_once(':') {
                    block.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
                continue;
            }
            let get = |key: &str| {
                block
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let (action, id) = (get("action").to_ascii_lowercase(), get("actionid"));
            let reply = match action.as_str() {
                "challenge" => {
                    format!("Response: Success\r\nActionID: {id}\r\nChallenge: 424242\r\n\r\n")
                }
                "logoff" => format!("Response: Goodbye\r\nActionID: {id}\r\n\r\n"),
                _ => format!("Response: Success\r\nActionID: {id}\r\nMessage: ok\r\n\r\n"),
            };
            if writer.lock().unwrap().write_all(reply.as_bytes()).is_err() || action == "logoff" {
                return;
            }
            block.clear();
        }
    });
    (addr, flooding)
}

/// Milliseconds from typing one character to seeing it at the end of the prompt line.
fn echo_latencies(c: &mut Console, count: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for n in 1..=count {
        let typed = format!("ami> {}", "x".repeat(n));
        let started = Instant::now();
        c.type_text("x");
        // Polled every millisecond: `wait_for`'s 50 ms step would hide the latency.
        while c.last_line() != typed {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "lost keystroke; screen:\n{}",
                c.screen()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        out.push(started.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(20));
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "measurement: prints typing latency under an event flood (no real Asterisk needed)"]
fn typing_keeps_up_during_an_event_flood() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let (addr, flooding) = flood_server(20_000);
    let mut c = Console::start_at(&addr, "admin", "any", &dir.path().join("history"));
    c.wait_for("the prompt", Duration::from_secs(15), |c| {
        c.last_line() == "ami>"
    });
    let idle = median(echo_latencies(&mut c, 15));
    c.type_text("\x03");
    c.wait_for("a cleared line", Duration::from_secs(5), |c| {
        c.last_line() == "ami>"
    });

    flooding.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(500));
    let printing = median(echo_latencies(&mut c, 15));
    c.type_text("\x03:filter Nothing\r");
    std::thread::sleep(Duration::from_millis(500));
    let filtered = median(echo_latencies(&mut c, 15));
    flooding.store(false, Ordering::Relaxed);
    eprintln!(
        "echo latency, median of 15: idle {idle:.1} ms; 20k events/s printed {printing:.1} ms ({:.1}x); \
         filtered out {filtered:.1} ms ({:.1}x)",
        printing / idle,
        filtered / idle
    );
    c.type_text("\x03");
    c.wait_for("a cleared line", Duration::from_secs(20), |c| {
        c.last_line() == "ami>"
    });
    c.type_text("\x04");
    let started = Instant::now();
    let code = c.wait_exit(Duration::from_secs(30));
    eprintln!("exit {code} after {:?}", started.elapsed());
    assert_eq!(code, 0);
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
fn the_amicon_binary_runs_line_mode_with_history_in_the_xdg_state_dir() {
    let (addr, secret) = real_asterisk();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_amicon"));
    cmd.args(["--line", &format!("admin@{addr}")]);
    cmd.env("AMI_SECRET", &secret);
    cmd.env("HOME", home.path());
    cmd.env("XDG_STATE_HOME", home.path().join("state"));
    cmd.env("XDG_CONFIG_HOME", home.path().join("config"));
    let mut c = Console::spawn(cmd);
    c.wait_for("the prompt", Duration::from_secs(15), |c| {
        c.last_line() == "ami>"
    });
    c.type_text("Ping\r\r");
    c.wait_for("the Pong", Duration::from_secs(10), |c| {
        c.screen().contains("Ping: Pong")
    });
    c.type_text("\x04");
    assert_eq!(c.wait_exit(Duration::from_secs(10)), 0);
    let history = home.path().join("state/amicon/history");
    assert_eq!(
        std::fs::read_to_string(&history).unwrap(),
        "# amicon history v1\n\"Action: Ping\"\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&history).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
