//! The `amicon` binary without Asterisk: help text, usage errors (exit 2), config file
//! errors, connection failures (exit 3), and `send`/`watch` against a small scripted
//! AMI server on 127.0.0.1 (login, answers, errors, events).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Longest any single run may take before the test calls it hung.
const RUN_LIMIT: Duration = Duration::from_secs(20);

fn amicon() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_amicon"));
    cmd.env_remove("AMI_SECRET")
        .env("XDG_CONFIG_HOME", "/nonexistent-amicon-test-config")
        .env("HOME", "/nonexistent-amicon-test-home")
        .stdin(Stdio::null());
    cmd
}

/// Runs to completion, killing the child if it outlives [`RUN_LIMIT`].
fn run(cmd: &mut Command) -> Output {
    run_with_stdin(cmd, None)
}

fn run_with_stdin(cmd: &mut Command, stdin: Option<&str>) -> Output {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn amicon");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("amicon did not finish within {RUN_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited by a signal")
}

#[test]
fn help_documents_targets_and_exit_codes() {
    let out = run(amicon().arg("--help"));
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for needle in [
        "amis://",
        "[::1]:5038",
        "Exit codes",
        "4  authentication failed",
        "AMI_SECRET",
    ] {
        assert!(text.contains(needle), "--help lacks {needle:?}:\n{text}");
    }
}

#[test]
fn send_help_documents_exit_codes_and_stdin_blocks() {
    let out = run(amicon().args(["send", "--help"]));
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for needle in [
        "1  an action answered",
        "5  timeout",
        "from stdin",
        "Variable=A=1",
    ] {
        assert!(
            text.contains(needle),
            "send --help lacks {needle:?}:\n{text}"
        );
    }
}

#[test]
fn watch_help_documents_the_filter_language() {
    let out = run(amicon().args(["watch", "--help"]));
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for needle in [
        "every term matches",
        "Channel=PJSIP/100-*",
        "'Channel~^PJSIP/10[0-9]-'",
        "!VarSet",
        "--count",
        "--for",
    ] {
        assert!(
            text.contains(needle),
            "watch --help lacks {needle:?}:\n{text}"
        );
    }
}

#[test]
fn send_without_a_target_is_a_usage_error() {
    let out = run(amicon().arg("send"));
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("<TARGET>"), "{}", stderr(&out));
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let out = run(amicon().args(["watch", "pbx", "--colour"]));
    assert_eq!(code(&out), 2);
}

#[test]
fn a_malformed_target_is_a_usage_error_that_says_why() {
    let out = run(amicon()
        .args(["send", "admin@::1", "Ping"])
        .env("AMI_SECRET", "x"));
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("brackets"), "{}", stderr(&out));
}

#[test]
fn a_header_without_equals_is_a_usage_error_naming_it() {
    let out = run(amicon()
        .args(["send", "admin@127.0.0.1", "Originate", "Channel"])
        .env("AMI_SECRET", "x"));
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("\"Channel\" is not Key=Value"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_secret_without_a_terminal_is_a_usage_error() {
    let out = run(amicon().args(["send", "admin@127.0.0.1", "Ping"]));
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("no secret") && err.contains("AMI_SECRET"),
        "{err}"
    );
}

#[test]
fn the_secret_flag_warns_that_it_shows_in_the_process_list() {
    let port = closed_port();
    let out = run(amicon().args([
        "send",
        &format!("admin@127.0.0.1:{port}"),
        "Ping",
        "--secret",
        "s3cr3t",
    ]));
    assert!(stderr(&out).contains("process list"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("s3cr3t") && !stdout(&out).contains("s3cr3t"));
}

#[test]
fn a_missing_config_file_named_on_the_command_line_is_an_error() {
    let out = run(amicon().args([
        "send",
        "pbx",
        "Ping",
        "--config",
        "/nonexistent/amicon.toml",
    ]));
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("/nonexistent/amicon.toml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_config_file_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[profiles.lab]\nhost = \"127.0.0.1\"\nport = \"five\"\n",
    )
    .unwrap();
    let out = run(amicon()
        .args(["send", "lab", "Ping", "--config"])
        .arg(&path));
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("bad config file") && err.contains("line 3"),
        "{err}"
    );
}

#[test]
fn an_unknown_profile_is_an_error_listing_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[profiles.lab]\nhost = \"127.0.0.1\"\n").unwrap();
    let out = run(amicon()
        .args(["send", "x@y", "Ping", "--profile", "prod", "--config"])
        .arg(&path));
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("profiles: lab"), "{}", stderr(&out));
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn an_unreachable_port_exits_3() {
    let port = closed_port();
    let target = format!("admin@127.0.0.1:{port}");
    let out = run(amicon()
        .args(["send", &target, "Ping", "--connect-timeout", "3s"])
        .env("AMI_SECRET", "x"));
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains(&port.to_string()), "{}", stderr(&out));
    let out = run(amicon()
        .args(["watch", &target, "--no-reconnect"])
        .env("AMI_SECRET", "x"));
    assert_eq!(code(&out), 3, "{}", stderr(&out));
}

#[test]
fn a_server_that_is_not_ami_exits_3_and_says_so() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((mut socket, _)) = listener.accept() {
            let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.6\r\n");
            thread::sleep(Duration::from_secs(2));
        }
    });
    let out = run(amicon()
        .args(["send", &format!("admin@127.0.0.1:{port}"), "Ping"])
        .env("AMI_SECRET", "x"));
    assert_eq!(code(&out), 3, "{}", stderr(&out));
}

/// How the scripted server answers `Login`.
#[derive(Clone, Copy)]
enum LoginAnswer {
    Accept,
    Refuse,
}

/// A scripted AMI server for one connection: banner, MD5 or plain login, `Ping`,
/// `Originate` (refused: permission denied), a `CoreShowChannels` list, `Logoff`; after
/// login it sends `events` numbered `UserEvent`s when the login asked for events.
struct FakeAmi {
    port: u16,
    server: thread::JoinHandle<Vec<String>>,
}

impl FakeAmi {
    fn start(login: LoginAnswer, events: usize) -> FakeAmi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (socket, _) = listener.accept().unwrap();
            serve(socket, login, events)
        });
        FakeAmi { port, server }
    }

    fn target(&self) -> String {
        format!("admin@127.0.0.1:{}", self.port)
    }

    /// The actions the server received, each as `Name` plus interesting headers.
    fn actions(self) -> Vec<String> {
        self.server.join().unwrap()
    }
}

fn read_block(reader: &mut BufReader<TcpStream>) -> Option<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if headers.is_empty() {
                continue;
            }
            return Some(headers);
        }
        let (k, v) = line.split_once(':').unwrap_or((line, ""));
        headers.push((k.to_string(), v.trim_start().to_string()));
    }
}

fn serve(socket: TcpStream, login: LoginAnswer, events: usize) -> Vec<String> {
    let mut reader = BufReader::new(socket.try_clone().unwrap());
    let mut out = socket;
    let mut seen = Vec::new();
    out.write_all(b"Asterisk Call Manager/9.0.0\r\n").unwrap();
    while let Some(headers) = read_block(&mut reader) {
        let get = |key: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let name = get("Action");
        let id = get("ActionID");
        let mut record = name.clone();
        for key in ["Events", "Channel", "Variable", "AuthType"] {
            for (k, v) in &headers {
                if k.eq_ignore_ascii_case(key) {
                    record.push_str(&format!(" {k}={v}"));
                }
            }
        }
        seen.push(record);
        let reply = match name.to_ascii_lowercase().as_str() {
            "challenge" => format!("Response: Success\r\nActionID: {id}\r\nChallenge: 120484237\r\n\r\n"),
            "login" => match login {
                LoginAnswer::Refuse => {
                    format!("Response: Error\r\nActionID: {id}\r\nMessage: Authentication failed\r\n\r\n")
                }
                LoginAnswer::Accept => {
                    let mut text = format!("Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\n");
                    if !get("Events").eq_ignore_ascii_case("off") {
                        text.push_str("Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n");
                        for n in 0..events {
                            text.push_str(&format!("Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: N{n}\r\n\r\n"));
                        }
                    }
                    text
                }
            },
            // Never answered: for timeouts.
            "noanswer" => String::new(),
            "ping" => format!("Response: Success\r\nActionID: {id}\r\nPing: Pong\r\nTimestamp: 1764000000.000000\r\n\r\n"),
            "originate" => format!("Response: Error\r\nActionID: {id}\r\nMessage: Permission denied\r\n\r\n"),
            "coreshowchannels" => format!(
                "Response: Success\r\nActionID: {id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n\
                 Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: Local/long@test-00000001;1\r\n\r\n\
                 Event: CoreShowChannelsComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: 1\r\n\r\n"
            ),
            "logoff" => {
                let _ = out.write_all(format!("Response: Goodbye\r\nActionID: {id}\r\nMessage: Thanks for all the fish.\r\n\r\n").as_bytes());
                break;
            }
            _ => format!("Response: Success\r\nActionID: {id}\r\n\r\n"),
        };
        if out.write_all(reply.as_bytes()).is_err() {
            break;
        }
    }
    seen
}

#[test]
fn send_prints_the_raw_answer_and_logs_in_with_events_off() {
    let ami = FakeAmi::start(LoginAnswer::Accept, 0);
    let out = run(amicon()
        .args(["send", &ami.target(), "Ping"])
        .env("AMI_SECRET", "amp111"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("Response: Success\r\nActionID: "),
        "{text:?}"
    );
    assert!(
        text.ends_with("Ping: Pong\r\nTimestamp: 1764000000.000000\r\n\r\n"),
        "{text:?}"
    );
    let actions = ami.actions();
    assert!(
        actions
            .iter()
            .any(|a| a.starts_with("Login") && a.contains("Events=off")),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a.starts_with("Challenge")),
        "MD5 is the default: {actions:?}"
    );
}

#[test]
fn send_keeps_repeated_headers_in_order() {
    let ami = FakeAmi::start(LoginAnswer::Accept, 0);
    let out = run(amicon()
        .args([
            "send",
            &ami.target(),
            "Setvar",
            "Variable=A=1",
            "Variable=B=2",
        ])
        .env("AMI_SECRET", "amp111"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let actions = ami.actions();
    assert!(
        actions
            .iter()
            .any(|a| a == "Setvar Variable=A=1 Variable=B=2"),
        "{actions:?}"
    );
}

#[test]
fn an_action_answered_with_error_exits_1_and_still_prints_the_answer() {
    let ami = FakeAmi::start(LoginAnswer::Accept, 0);
    let out = run(amicon()
        .args([
            "send",
            &ami.target(),
            "Originate",
            "Channel=Local/echo@test",
        ])
        .env("AMI_SECRET", "amp111"));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Message: Permission denied\r\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_refused_login_exits_4() {
    let ami = FakeAmi::start(LoginAnswer::Refuse, 0);
    let out = run(amicon()
        .args(["send", &ami.target(), "Ping"])
        .env("AMI_SECRET", "wrong"));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("authentication failed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn send_reads_blocks_from_stdin_and_prints_list_items() {
    let ami = FakeAmi::start(LoginAnswer::Accept, 0);
    let out = run_with_stdin(
        amicon()
            .args(["send", &ami.target(), "--auth", "plain"])
            .env("AMI_SECRET", "amp111"),
        Some("Action: Ping\n\nAction: CoreShowChannels\n"),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let ping = text.find("Ping: Pong").expect("ping answer");
    let item = text.find("Event: CoreShowChannel\r\n").expect("list item");
    let complete = text.find("EventList: Complete").expect("list end");
    assert!(ping < item && item < complete, "{text}");
    let actions = ami.actions();
    assert!(
        !actions.iter().any(|a| a.starts_with("Challenge")),
        "plain login: {actions:?}"
    );
}

#[test]
fn watch_prints_events_and_stops_at_count() {
    let ami = FakeAmi::start(LoginAnswer::Accept, 5);
    let out = run(amicon()
        .args(["watch", &ami.target(), "--count", "3"])
        .env("AMI_SECRET", "amp111"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // FullyBooted, N0, N1: exactly three events, byte for byte.
    assert_eq!(
        stdout(&out),
        "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n\
         Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: N0\r\n\r\n\
         Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: N1\r\n\r\n"
    );
}

#[test]
fn watch_without_reconnect_exits_3_after_printing_what_came_before_the_loss() {
    // A server that drops the connection right after its one event.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(socket.try_clone().unwrap());
        let mut out = socket;
        out.write_all(b"Asterisk Call Manager/9.0.0\r\n").unwrap();
        while let Some(headers) = read_block(&mut reader) {
            let id = headers
                .iter()
                .find(|(k, _)| k == "ActionID")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let name = headers[0].1.to_ascii_lowercase();
            if name == "challenge" {
                out.write_all(
                    format!("Response: Success\r\nActionID: {id}\r\nChallenge: 1\r\n\r\n")
                        .as_bytes(),
                )
                .unwrap();
            } else if name == "login" {
                out.write_all(
                    format!("Response: Success\r\nActionID: {id}\r\n\r\nEvent: Last\r\n\r\n")
                        .as_bytes(),
                )
                .unwrap();
                thread::sleep(Duration::from_millis(300));
                return;
            }
        }
    });
    let out = run(amicon()
        .args([
            "watch",
            &format!("admin@127.0.0.1:{port}"),
            "--no-reconnect",
        ])
        .env("AMI_SECRET", "x"));
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(stdout(&out), "Event: Last\r\n\r\n");
}

#[test]
fn watch_with_for_stops_with_exit_0() {
    let ami = FakeAmi::start(LoginAnswer::Accept, 1);
    let started = Instant::now();
    let out = run(amicon()
        .args(["watch", &ami.target(), "--for", "700ms"])
        .env("AMI_SECRET", "amp111"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(started.elapsed() >= Duration::from_millis(700));
    assert!(stdout(&out).contains("UserEvent: N0"), "{}", stdout(&out));
}

#[test]
fn a_closed_stdout_ends_watch_quietly_with_0() {
    let ami = FakeAmi::start(LoginAnswer::Accept, 50_000);
    let mut child = amicon()
        .args(["watch", &ami.target()])
        .env("AMI_SECRET", "amp111")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < RUN_LIMIT,
            "watch kept running after stdout closed"
        );
        thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_bad_filter_exits_2_with_a_caret_under_the_bad_term() {
    // No secret and no server: the filter is checked before anything else.
    let out = run(amicon().args(["watch", "admin@127.0.0.1", "Hangup", "Channel~PJSIP/("]));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    let shown = lines
        .iter()
        .position(|l| *l == "Hangup Channel~PJSIP/(")
        .expect(&err);
    let caret = lines[shown + 1];
    assert_eq!(
        caret.trim_end(),
        format!("{}{}", " ".repeat(15), "^".repeat(7)),
        "{err}"
    );
}

#[test]
fn a_bad_default_filter_in_the_profile_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[profiles.lab]\nhost = \"127.0.0.1\"\nuser = \"admin\"\nfilter = \"Cause!=16|17\"\n",
    )
    .unwrap();
    let out = run(amicon()
        .args(["watch", "lab", "--config"])
        .arg(&path)
        .env("AMI_SECRET", "x"));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("bad filter in the profile"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn watch_prints_only_the_events_that_match_every_term() {
    let ami = FakeAmi::start(LoginAnswer::Accept, 30);
    let out = run(amicon()
        .args([
            "watch",
            &ami.target(),
            "--count",
            "2",
            "UserEvent",
            "UserEvent=N1?",
        ])
        .env("AMI_SECRET", "amp111"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: N10\r\n\r\n\
         Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: N11\r\n\r\n"
    );
}

#[test]
fn watch_json_prints_one_parseable_object_per_event_with_headers_in_order() {
    let ami = FakeAmi::start(LoginAnswer::Accept, 3);
    let out = run(amicon()
        .args(["watch", &ami.target(), "--json", "--count", "2"])
        .env("AMI_SECRET", "amp111"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(second["type"], "event");
    assert_eq!(second["name"], "UserEvent");
    assert_eq!(
        second["headers"],
        serde_json::json!([
            ["Event", "UserEvent"],
            ["Privilege", "user,all"],
            ["UserEvent", "N0"]
        ])
    );
}

#[test]
fn watch_line_format_prints_one_line_per_event() {
    let ami = FakeAmi::start(LoginAnswer::Accept, 3);
    let out = run(amicon()
        .args(["watch", &ami.target(), "--format", "line", "--count", "4"])
        .env("AMI_SECRET", "amp111"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].contains("EV FullyBooted"), "{text}");
    assert!(
        lines[3].contains("UserEvent") && lines[3].contains("N2"),
        "{text}"
    );
}

#[test]
fn send_json_prints_the_response_and_list_items_as_json_lines() {
    let ami = FakeAmi::start(LoginAnswer::Accept, 0);
    let out = run(amicon()
        .args(["send", &ami.target(), "CoreShowChannels", "--json"])
        .env("AMI_SECRET", "amp111"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let values: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = values.iter().map(|v| v["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["response", "event", "event"], "{text}");
    assert_eq!(values[1]["name"], "CoreShowChannel");
    assert_eq!(values[2]["name"], "CoreShowChannelsComplete");
    assert!(!text.contains("amp111"));
}

#[test]
fn an_action_without_an_answer_exits_5_after_the_timeout() {
    let ami = FakeAmi::start(LoginAnswer::Accept, 0);
    let out = run(amicon()
        .args(["send", &ami.target(), "NoAnswer", "--timeout", "1s"])
        .env("AMI_SECRET", "amp111"));
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(stderr(&out).contains("NoAnswer"), "{}", stderr(&out));
}

#[test]
fn a_server_that_never_answers_login_exits_5() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((mut socket, _)) = listener.accept() {
            let _ = socket.write_all(b"Asterisk Call Manager/9.0.0\r\n");
            let mut sink = Vec::new();
            let _ = socket.read_to_end(&mut sink);
        }
    });
    let out = run(amicon()
        .args([
            "send",
            &format!("admin@127.0.0.1:{port}"),
            "Ping",
            "--timeout",
            "1s",
        ])
        .env("AMI_SECRET", "x"));
    assert_eq!(code(&out), 5, "{}", stderr(&out));
}

/// Logs a client in (MD5 or plain), then sends `events` and closes when `close` is set.
fn login_then_send(socket: TcpStream, events: &str, close: bool) {
    let mut reader = BufReader::new(socket.try_clone().unwrap());
    let mut out = socket;
    out.write_all(b"Asterisk Call Manager/9.0.0\r\n").unwrap();
    while let Some(headers) = read_block(&mut reader) {
        let id = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("ActionID"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        match headers[0].1.to_ascii_lowercase().as_str() {
            "challenge" => out
                .write_all(
                    format!("Response: Success\r\nActionID: {id}\r\nChallenge: 1\r\n\r\n")
                        .as_bytes(),
                )
                .unwrap(),
            "login" => {
                out.write_all(
                    format!("Response: Success\r\nActionID: {id}\r\n\r\n{events}").as_bytes(),
                )
                .unwrap();
                if close {
                    return;
                }
            }
            _ => {
                let _ = out
                    .write_all(format!("Response: Success\r\nActionID: {id}\r\n\r\n").as_bytes());
            }
        }
    }
}

#[test]
fn watch_reconnects_after_a_lost_connection_and_reports_the_gap_on_stderr() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (first, _) = listener.accept().unwrap();
        login_then_send(first, "Event: Before\r\n\r\n", true);
        let (second, _) = listener.accept().unwrap();
        login_then_send(second, "Event: After\r\n\r\n", false);
    });
    let out = run(amicon()
        .args(["watch", &format!("admin@127.0.0.1:{port}"), "--count", "2"])
        .env("AMI_SECRET", "x"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "Event: Before\r\n\r\nEvent: After\r\n\r\n");
    let err = stderr(&out);
    assert!(
        err.contains("connection lost") && err.contains("reconnected"),
        "{err}"
    );
    assert!(err.contains("gap"), "{err}");
}
