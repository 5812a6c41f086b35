//! `amicon send` and `amicon watch` against a real Asterisk 22
//! (`tests/harness/asterisk.sh`; its `env` prints the AMI_TEST_* variables).
//! Run with `cargo test --test cli_real_asterisk -- --include-ignored`.

use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const RUN_LIMIT: Duration = Duration::from_secs(30);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run tests/harness/run-all, or export `bash tests/harness/asterisk.sh env`")
    })
}

fn admin_target() -> String {
    format!("{}@{}", env("AMI_TEST_USER"), env("AMI_TEST_ADDR"))
}

fn amicon(secret: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_amicon"));
    cmd.env("AMI_SECRET", secret)
        .env("XDG_CONFIG_HOME", "/nonexistent-amicon-test-config")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn admin() -> Command {
    amicon(&env("AMI_TEST_SECRET"))
}

fn wait(mut child: Child) -> Output {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            panic!("amicon did not finish within {RUN_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn run(cmd: &mut Command) -> Output {
    wait(cmd.spawn().expect("spawn amicon"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// An ActionID no other test run uses, to find our call among everyone's events.
fn unique_id(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("amicon-test-{what}-{}-{nanos}", std::process::id())
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
fn send_ping_succeeds_with_md5_and_with_plain_login() {
    for auth in ["md5", "plain"] {
        let out = run(admin().args(["send", &admin_target(), "Ping", "--auth", auth]));
        assert_exit(&out, 0);
        let stdout = text(&out.stdout);
        assert!(
            stdout.starts_with("Response: Success\r\n") && stdout.contains("Ping: Pong\r\n"),
            "{stdout}"
        );
        assert!(stdout.ends_with("\r\n\r\n"), "{stdout:?}");
    }
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
fn a_bad_secret_exits_4() {
    let out = run(amicon("not-the-secret").args(["send", &admin_target(), "Ping"]));
    assert_exit(&out, 4);
    assert!(
        text(&out.stderr).contains("authentication failed"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).contains("not-the-secret"));
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
fn the_readonly_users_originate_exits_1_with_permission_denied() {
    let target = format!("{}@{}", env("AMI_TEST_RO_USER"), env("AMI_TEST_ADDR"));
    let out = run(amicon(&env("AMI_TEST_RO_SECRET")).args([
        "send",
        &target,
        "Originate",
        "Channel=Local/echo@test",
        "Context=test",
        "Exten=echo",
        "Priority=1",
    ]));
    assert_exit(&out, 1);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Response: Error\r\n") && stdout.contains("Permission denied"),
        "{stdout}"
    );
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
fn command_prints_its_output_lines() {
    let out = run(admin().args([
        "send",
        &admin_target(),
        "Command",
        "Command=core show version",
    ]));
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Output: Asterisk 22"), "{stdout}");
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
fn tls_with_the_test_ca_works() {
    let target = format!(
        "amis://{}@{}",
        env("AMI_TEST_USER"),
        env("AMI_TEST_TLS_ADDR")
    );
    let out = run(admin().args(["send", &target, "Ping", "--ca-file", &env("AMI_TEST_CA")]));
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).contains("Ping: Pong"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
fn tls_without_the_test_ca_exits_3_naming_the_certificate() {
    let target = format!(
        "amis://{}@{}",
        env("AMI_TEST_USER"),
        env("AMI_TEST_TLS_ADDR")
    );
    let out = run(admin().args(["send", &target, "Ping"]));
    assert_exit(&out, 3);
    assert!(
        text(&out.stderr).to_lowercase().contains("certificate"),
        "{}",
        text(&out.stderr)
    );
}

fn originate(exten: &str, action_id: &str) {
    let out = run(admin().args([
        "send",
        &admin_target(),
        "Originate",
        &format!("Channel=Local/{exten}@test"),
        "Context=test",
        &format!("Exten={exten}"),
        "Priority=1",
        "Async=true",
        &format!("ActionID={action_id}"),
    ]));
    assert_exit(&out, 0);
}

/// The channel named by the `OriginateResponse` that carries `action_id`, in raw output.
fn originated_channel(raw: &str, action_id: &str) -> String {
    let message = raw
        .split("\r\n\r\n")
        .find(|m| {
            m.starts_with("Event: OriginateResponse")
                && m.contains(&format!("ActionID: {action_id}\r\n"))
        })
        .unwrap_or_else(|| panic!("no OriginateResponse for {action_id} in:\n{raw}"));
    let line = message
        .lines()
        .find(|l| l.starts_with("Channel: "))
        .expect("Channel header");
    line["Channel: ".len()..].to_string()
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
fn watch_sees_the_events_of_a_call_originated_by_send() {
    let watcher = admin()
        .args(["watch", &admin_target(), "--for", "8s"])
        .spawn()
        .unwrap();
    // Give watch time to log in before the call starts.
    thread::sleep(Duration::from_millis(1500));
    let action_id = unique_id("echo");
    originate("echo", &action_id);
    let out = wait(watcher);
    assert_exit(&out, 0);
    let raw = text(&out.stdout);
    let channel = originated_channel(&raw, &action_id);
    assert!(channel.starts_with("Local/echo@test-"), "{channel}");
    let base = channel.trim_end_matches(";1").trim_end_matches(";2");
    for event in ["Newchannel", "Hangup"] {
        assert!(
            raw.split("\r\n\r\n")
                .any(|m| m.starts_with(&format!("Event: {event}\r\n"))
                    && m.contains(&format!("Channel: {base}"))),
            "no {event} for {base} in the watch output"
        );
    }
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
fn watch_count_with_a_filter_stops_at_the_originate_response_and_json_lines_parse() {
    let action_id = unique_id("json");
    let watcher = admin()
        .args([
            "watch",
            &admin_target(),
            "--json",
            "--count",
            "1",
            "OriginateResponse",
        ])
        .arg(format!("ActionID={action_id}"))
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(1500));
    originate("echo", &action_id);
    let out = wait(watcher);
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let value: serde_json::Value =
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {}", lines[0]));
    assert!(value.to_string().contains(&action_id), "{value}");
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
fn a_list_action_during_a_live_call_prints_its_items() {
    let action_id = unique_id("long");
    let watcher = admin()
        .args([
            "watch",
            &admin_target(),
            "--count",
            "1",
            "OriginateResponse",
        ])
        .arg(format!("ActionID={action_id}"))
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(1500));
    originate("long", &action_id);
    let out = wait(watcher);
    assert_exit(&out, 0);
    let channel = originated_channel(&text(&out.stdout), &action_id);

    let out = run(admin().args(["send", &admin_target(), "CoreShowChannels"]));
    assert_exit(&out, 0);
    let listed = text(&out.stdout);
    // Hang the call up before asserting, so a failure leaves no 30 s call behind.
    let _ = run(admin()
        .args(["send", &admin_target(), "Hangup"])
        .arg(format!("Channel={channel}")));
    assert!(listed.contains("EventList: start"), "{listed}");
    assert!(
        listed
            .split("\r\n\r\n")
            .any(|m| m.starts_with("Event: CoreShowChannel\r\n") && m.contains(&channel)),
        "{channel} not among the items:\n{listed}"
    );
    assert!(
        listed.contains("Event: CoreShowChannelsComplete\r\n"),
        "{listed}"
    );
}

#[test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
fn send_reads_several_actions_from_stdin() {
    let mut child = admin()
        .args(["send", &admin_target()])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"Action: Ping\nActionID: first\n\nAction: CoreStatus\nActionID: second\n")
            .unwrap();
    }
    let out = wait(child);
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    let first = stdout.find("ActionID: first").expect("first answer");
    let second = stdout.find("ActionID: second").expect("second answer");
    assert!(
        first < second && stdout.contains("CoreCurrentCalls"),
        "{stdout}"
    );
}
