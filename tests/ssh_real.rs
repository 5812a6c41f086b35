//! `--ssh` against a real OpenSSH server and the real Asterisk 22 behind it: login,
//! `send`, `watch`, a killed tunnel and the reconnect, an unknown host key refused, and
//! no ssh child left behind.
//!
//! Needs the sshd of `tests/harness/sshd.sh` (it exports AMICON_TEST_SSH_COMMAND,
//! AMICON_TEST_SSH_DEST, AMICON_TEST_SSH_UNKNOWN_DEST) and the real Asterisk's
//! AMI_TEST_* variables. Run with `cargo test --test ssh_real -- --include-ignored`.

use amicon::ami::Action;
use amicon::secret::Secret;
use amicon::session::{
    self, Endpoint, SessionConfig, SessionEvent, SessionState, SshTunnel, Stamped,
};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const RUN_LIMIT: Duration = Duration::from_secs(30);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: source tests/harness/sshd.sh and export the real Asterisk's env")
    })
}

/// The AMI address as the far side sees it (sshd runs on this machine too).
fn admin_target() -> String {
    format!("{}@{}", env("AMI_TEST_USER"), env("AMI_TEST_ADDR"))
}

fn amicon() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_amicon"));
    cmd.env("AMI_SECRET", env("AMI_TEST_SECRET"))
        .env("AMICON_SSH_COMMAND", env("AMICON_TEST_SSH_COMMAND"))
        .env("XDG_CONFIG_HOME", "/nonexistent-amicon-test-config")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
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
        std::thread::sleep(Duration::from_millis(20));
    }
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

/// The test's ssh command wrapped so that each ssh it starts writes its pid to
/// `pidfile` first (`exec` keeps the pid): the tests can then kill the tunnel, or
/// check that none is left.
fn recording_pid(pidfile: &std::path::Path) -> String {
    let inner = format!(
        "echo $$ >> {}; exec {} \"$@\"",
        shell_words::quote(&pidfile.display().to_string()),
        env("AMICON_TEST_SSH_COMMAND")
    );
    format!("sh -c {} amicon-test-ssh", shell_words::quote(&inner))
}

fn pids(pidfile: &std::path::Path) -> Vec<i32> {
    std::fs::read_to_string(pidfile)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn alive(pid: i32) -> bool {
    // Signal 0 checks existence; a zombie still counts, so look at its state too.
    let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = status
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    !status.is_empty() && state != Some('Z')
}

#[test]
#[ignore = "needs sshd (tests/harness/sshd.sh) and a real Asterisk (AMI_TEST_ADDR)"]
fn send_ping_through_the_tunnel_and_no_ssh_is_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("ssh.pids");
    let out = wait(
        amicon()
            .env("AMICON_SSH_COMMAND", recording_pid(&pidfile))
            .args([
                "send",
                "--ssh",
                &env("AMICON_TEST_SSH_DEST"),
                &admin_target(),
                "Ping",
            ])
            .spawn()
            .unwrap(),
    );
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).contains("Ping: Pong"),
        "{}",
        text(&out.stdout)
    );
    let started = pids(&pidfile);
    assert_eq!(started.len(), 1, "one tunnel for one send");
    assert!(
        !alive(started[0]),
        "the ssh child {} outlived amicon",
        started[0]
    );
}

#[test]
#[ignore = "needs sshd (tests/harness/sshd.sh) and a real Asterisk (AMI_TEST_ADDR)"]
fn watch_through_the_tunnel_sees_an_event_raised_directly() {
    let marker = format!(
        "amicon-ssh-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let watch = amicon()
        .args([
            "watch",
            "--ssh",
            &env("AMICON_TEST_SSH_DEST"),
            &admin_target(),
            "--json",
            "--count",
            "1",
            "--for",
            "20s",
            "UserEvent",
            &format!("Marker={marker}"),
        ])
        .spawn()
        .unwrap();
    // Raise the event over a direct connection until the watcher (logging in through
    // ssh meanwhile) has seen it.
    let started = Instant::now();
    let mut watch = Some(watch);
    let out = loop {
        let sent = wait(
            amicon()
                .args([
                    "send",
                    &admin_target(),
                    "UserEvent",
                    "UserEvent=AmiconSsh",
                    &format!("Marker={marker}"),
                ])
                .spawn()
                .unwrap(),
        );
        assert_exit(&sent, 0);
        let child = watch.as_mut().unwrap();
        if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(20) {
            break wait(watch.take().unwrap());
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_exit(&out, 0);
    let printed = text(&out.stdout);
    assert!(printed.contains(&marker), "{printed}");
    assert!(printed.contains("\"UserEvent\""), "{printed}");
}

#[test]
#[ignore = "needs sshd (tests/harness/sshd.sh) and a real Asterisk (AMI_TEST_ADDR)"]
fn an_unknown_host_key_is_refused_with_a_clear_message_and_exit_3() {
    let out = wait(
        amicon()
            .args([
                "send",
                "--ssh",
                &env("AMICON_TEST_SSH_UNKNOWN_DEST"),
                &admin_target(),
                "Ping",
            ])
            .spawn()
            .unwrap(),
    );
    assert_exit(&out, 3);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is not trusted"), "{stderr}");
    // ssh's own words are shown.
    assert!(stderr.contains("Host key verification failed"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
#[ignore = "needs sshd (tests/harness/sshd.sh) and a real Asterisk (AMI_TEST_ADDR)"]
fn a_far_side_port_nobody_listens_on_is_named() {
    let out = wait(
        amicon()
            .args([
                "send",
                "--ssh",
                &env("AMICON_TEST_SSH_DEST"),
                &format!("{}@127.0.0.1:1", env("AMI_TEST_USER")),
                "Ping",
            ])
            .spawn()
            .unwrap(),
    );
    assert_exit(&out, 3);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("could not connect to 127.0.0.1:1"),
        "{stderr}"
    );
    assert!(stderr.contains("ssh said"), "{stderr}");
}

fn ssh_config(pidfile: &std::path::Path) -> SessionConfig {
    let addr = env("AMI_TEST_ADDR");
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let mut config = SessionConfig::new(
        Endpoint {
            host: host.into(),
            port: port.parse().unwrap(),
            tls: false,
        },
        env("AMI_TEST_USER"),
        Secret::new(env("AMI_TEST_SECRET")),
    );
    config.ssh =
        Some(SshTunnel::new(&env("AMICON_TEST_SSH_DEST"), Some(&recording_pid(pidfile))).unwrap());
    config.max_reconnect_delay = Duration::from_secs(1);
    config
}

async fn until(
    stream: &mut session::EventStream,
    within: Duration,
    what: impl Fn(&Stamped) -> bool,
) -> Vec<Stamped> {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let mut batch = Vec::new();
        match tokio::time::timeout_at(deadline, stream.recv_batch(&mut batch)).await {
            Err(_) => panic!("not seen within {within:?}; saw {seen:#?}"),
            Ok(open) => {
                let done = batch.iter().any(&what);
                seen.extend(batch);
                if done {
                    return seen;
                }
                assert!(open, "the session ended: {seen:#?}");
            }
        }
    }
}

fn logged_in_via_ssh(s: &Stamped) -> bool {
    matches!(&s.event, SessionEvent::State(SessionState::LoggedIn { server, .. }) if server.contains(" via ssh "))
}

#[tokio::test]
#[ignore = "needs sshd (tests/harness/sshd.sh) and a real Asterisk (AMI_TEST_ADDR)"]
async fn a_killed_tunnel_is_restarted_with_the_backoff_and_the_gap_reported() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("ssh.pids");
    let (handle, mut stream) = session::spawn(ssh_config(&pidfile));
    until(&mut stream, Duration::from_secs(15), logged_in_via_ssh).await;
    let first = pids(&pidfile);
    assert_eq!(first.len(), 1);

    // The tunnel dies under the session (a dropped network, a killed ssh).
    assert!(Command::new("kill")
        .args(["-KILL", &first[0].to_string()])
        .status()
        .unwrap()
        .success());
    let seen = until(&mut stream, Duration::from_secs(20), logged_in_via_ssh).await;
    let reason = seen
        .iter()
        .find_map(|s| match &s.event {
            SessionEvent::State(SessionState::Reconnecting { reason, .. }) => Some(reason.clone()),
            _ => None,
        })
        .expect("a reconnect was announced");
    assert!(reason.contains("through ssh"), "{reason}");
    assert!(
        seen.iter()
            .any(|s| matches!(s.event, SessionEvent::Gap { .. })),
        "the gap is reported"
    );
    let now = pids(&pidfile);
    assert_eq!(now.len(), 2, "a new ssh was started");
    assert!(!alive(first[0]));

    // The new tunnel works.
    let reply = handle.request(Action::new("Ping")).await.unwrap();
    assert!(reply.is_success());
    handle.logoff().await;
    // The ended session leaves no ssh behind.
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(now[1]) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!alive(now[1]), "ssh {} outlived the session", now[1]);
}
