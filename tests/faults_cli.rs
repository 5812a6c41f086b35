//! Faults as the user of `amicon watch` and `amicon send` sees them: the exit code, what
//! stderr says, and that stdout kept every event received before the fault.

mod support;

use std::process::{Command, Output};
use support::fake_server::{event, plain_login, FakeServer, Step, BANNER};

/// Runs the real binary (secret from `AMI_SECRET`, no config file) off the runtime.
async fn amicon(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_amicon"))
            .args(&args)
            .env("AMI_SECRET", support::SECRET)
            .env(
                "XDG_CONFIG_HOME",
                std::env::temp_dir().join("amicon-faults-cli-test"),
            )
            .output()
            .expect("amicon runs")
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn target(server: &FakeServer) -> String {
    format!("admin@127.0.0.1:{}", server.addr.port())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn watch_prints_every_event_before_a_connection_cut_mid_message_and_exits_3() {
    let mut script = plain_login();
    script.push(Step::Send(event("Newchannel", &[("Channel", "PJSIP/1")])));
    script.push(Step::Send(event("Hangup", &[("Channel", "PJSIP/1")])));
    script.push(Step::Send(b"Event: Newchannel\r\nChannel: PJSIP/".to_vec()));
    script.push(Step::Close);
    let server = FakeServer::start(vec![script]).await;
    let out = amicon(args(&[
        "watch",
        &target(&server),
        "--auth",
        "plain",
        "--no-reconnect",
        "--for",
        "20s",
    ]))
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    println!("stderr:\n{stderr}");
    assert_eq!(
        out.status.code(),
        Some(3),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert_eq!(
        stdout,
        text(
            &[
                event("Newchannel", &[("Channel", "PJSIP/1")]),
                event("Hangup", &[("Channel", "PJSIP/1")])
            ]
            .concat()
        ),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("mid-message") || stderr.contains("middle of a message"),
        "{stderr}"
    );
}

#[tokio::test]
async fn watch_reconnects_by_default_and_marks_the_gap_on_stderr() {
    let mut first = plain_login();
    first.push(Step::Send(event("Newchannel", &[("Channel", "before")])));
    first.push(Step::Close);
    let mut second = plain_login();
    second.push(Step::Send(event("Newchannel", &[("Channel", "after")])));
    let server = FakeServer::start(vec![first, second]).await;
    let out = amicon(args(&[
        "watch",
        &target(&server),
        "--auth",
        "plain",
        "--count",
        "2",
        "--for",
        "20s",
    ]))
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    println!("stderr:\n{stderr}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let before = stdout
        .find("Channel: before")
        .expect("the event before the gap");
    let after = stdout
        .find("Channel: after")
        .expect("the event after the gap");
    assert!(before < after);
    assert!(stderr.to_lowercase().contains("gap"), "{stderr}");
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn watch_against_an_ssh_server_exits_3_naming_it() {
    let server = FakeServer::start(vec![vec![
        Step::Send(b"SSH-2.0-OpenSSH_9.2p1\r\n".to_vec()),
        Step::Hang,
    ]])
    .await;
    let out = amicon(args(&["watch", &target(&server), "--for", "20s"])).await;
    let stderr = text(&out.stderr);
    println!("stderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("SSH server"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn send_with_a_login_that_never_answers_exits_5() {
    let server = FakeServer::start(vec![vec![Step::Send(BANNER.to_vec()), Step::Hang]]).await;
    let out = amicon(args(&[
        "send",
        &target(&server),
        "--auth",
        "plain",
        "--timeout",
        "1s",
        "Ping",
    ]))
    .await;
    let stderr = text(&out.stderr);
    println!("stderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("never answered"), "{stderr}");
}

#[tokio::test]
async fn send_with_bad_credentials_exits_4() {
    let server = FakeServer::start(vec![vec![
        Step::Send(BANNER.to_vec()),
        support::fake_server::expect(
            "Login",
            &support::fake_server::response("Error", "Authentication failed"),
        ),
        Step::Close,
    ]])
    .await;
    let out = amicon(args(&["send", &target(&server), "--auth", "plain", "Ping"])).await;
    let stderr = text(&out.stderr);
    println!("stderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("wrong secret"), "{stderr}");
}
