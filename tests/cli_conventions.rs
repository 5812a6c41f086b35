//! The conventions of a Rust command-line tool, tried on the real binary: shell
//! completions and the man page on stdout, the debug log (`--log`, `AMICON_LOG`) written
//! to its file with no secret in it, and the console refusing to start without a
//! terminal (exit 2 with a hint) instead of failing on the terminal's absence.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longest any single run may take before the test calls it hung.
const RUN_LIMIT: Duration = Duration::from_secs(20);

fn amicon() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_amicon"));
    cmd.env_remove("AMI_SECRET")
        .env_remove("AMICON_LOG")
        .env("XDG_CONFIG_HOME", "/nonexistent-amicon-test-config")
        .env("HOME", "/nonexistent-amicon-test-home")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs to completion, killing the child if it outlives [`RUN_LIMIT`].
fn run(cmd: &mut Command) -> Output {
    let mut child = cmd.spawn().expect("spawn amicon");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            panic!("amicon hung: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn completions_are_printed_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef amicon"),
        ("fish", "complete -c amicon"),
        ("elvish", "edit:completion:arg-completer[amicon]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run(amicon().args(["completions", shell]));
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell} script lacks {marker:?}");
        // Subcommands and their flags are offered.
        assert!(script.contains("watch"), "{shell}: no `watch`");
        assert!(script.contains("--record"), "{shell}: no `--record`");
    }
    let out = run(amicon().args(["completions", "tcsh"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_reader_that_stops_early_is_no_panic() {
    for args in [&["completions", "bash"][..], &["man"]] {
        let mut child = amicon().args(args).spawn().expect("spawn amicon");
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

#[test]
fn the_man_page_is_roff_on_stdout() {
    let out = run(amicon().arg("man"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH amicon"),
        "{page:.200}"
    );
    assert!(page.contains(".TH amicon 1"));
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "no {section}");
    }
    assert!(page.contains("watch"));
}

#[test]
fn the_console_without_a_terminal_says_what_to_use_and_exits_2() {
    for args in [
        &["demo"][..],
        &["admin@127.0.0.1:1"],
        // A real AMI transcript: a file that is not AMI is refused before the terminal
        // is even looked at.
        &["open", "tests/fixtures/transcripts/telnet-login.txt"],
    ] {
        // A secret at hand, so the TUI gets as far as taking the terminal.
        let out = run(amicon().env("AMI_SECRET", "x").args(args));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("the console needs a terminal: use --line, send or watch"),
            "{args:?}: {err}"
        );
    }
}

/// `amicon serve` on a free loopback port, with one user whose secret must stay secret.
struct Server {
    child: Child,
    port: u16,
}

const SECRET: &str = "s3cr3t-never-logged";

impl Server {
    fn start() -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = amicon()
            .args(["serve", "--rate", "0", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--user")
            .arg(format!("alice:{SECRET}"))
            .spawn()
            .expect("spawn amicon serve");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < RUN_LIMIT, "amicon serve did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(path: &std::path::Path) -> String {
    let mut text = String::new();
    std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn the_debug_log_tells_the_session_story_without_secrets() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("amicon.log");
    let out = run(amicon()
        .env("AMI_SECRET", SECRET)
        .arg("send")
        .arg("--log")
        .arg(&log)
        .arg(format!("alice@127.0.0.1:{}", server.port))
        .args(["Ping", &format!("Secret={SECRET}")]));
    assert!(
        !text(&out.stdout).is_empty(),
        "send printed nothing: {}",
        text(&out.stderr)
    );
    let written = read(&log);
    for story in [
        "amicon started",
        "connecting",
        "logging in",
        "logged in",
        "action sent",
        "Ping",
        "session ended",
    ] {
        assert!(
            written.contains(story),
            "no {story:?} in the log:\n{written}"
        );
    }
    assert!(
        !written.contains(SECRET),
        "the secret leaked into the log:\n{written}"
    );
    // Nothing of the log on the terminal's streams.
    assert!(!text(&out.stderr).contains("action sent"));
    assert!(!text(&out.stdout).contains("action sent"));

    // AMICON_LOG does the same, appending.
    let out = run(amicon()
        .env("AMI_SECRET", SECRET)
        .env("AMICON_LOG", &log)
        .arg("send")
        .arg(format!("alice@127.0.0.1:{}", server.port))
        .arg("CoreStatus"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = read(&log);
    assert!(written.contains("CoreStatus"), "{written}");
    assert!(!written.contains(SECRET));
}

#[test]
fn a_log_file_that_cannot_be_opened_is_a_usage_error() {
    let out = run(amicon().args([
        "send",
        "--log",
        "/nonexistent-dir/amicon.log",
        "127.0.0.1:1",
        "Ping",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("/nonexistent-dir/amicon.log"));
}
