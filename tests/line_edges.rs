//! Line mode's first-hour edges (issue 16), on the real binary against the built-in demo
//! PBX: Ctrl-D on an empty block says "logged off" before the prompt gives the terminal
//! back, and a piped `:template` names the command, not a Rust debug name.

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn amicon() -> &'static str {
    env!("CARGO_BIN_EXE_amicon")
}

#[test]
fn ctrl_d_says_logged_off() {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut command = CommandBuilder::new(amicon());
    command.args(["demo", "--line", "--rate", "0"]);
    command.env("TERM", "xterm-256color");
    command.env("XDG_STATE_HOME", dir.path());
    command.env("HOME", dir.path());
    let mut child = pty.slave.spawn_command(command).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let mut writer = pty.master.take_writer().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let text = || String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    let wait = |what: &str| {
        let start = Instant::now();
        while !text().contains(what) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no `{what}`:\n{}",
                text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait("logged in as demo@");
    wait("ami>");
    writer.write_all(b"\x04").unwrap();
    writer.flush().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.exit_code(), 0);
    wait("logged off");
}

#[test]
fn a_piped_template_command_names_itself() {
    let mut child = std::process::Command::new(amicon())
        .args(["demo", "--line", "--rate", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b":template\nPing\n\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("amicon: :template is for the interactive console; ignored"),
        "{stderr}"
    );
    assert!(!stderr.contains("Template("), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Ping: Pong"));
}
