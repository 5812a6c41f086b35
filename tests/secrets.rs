//! Secrets never leak (issue 7): after a session that logged in (MD5 and plain), used
//! `Challenge`, and sent actions carrying `Secret:`/`Password:`/MD5 `Key:` fields, every
//! output is searched for each secret and each MD5 key: the event stream's `Debug`, the
//! published messages as raw AMI text, one-line and JSON output, a recording (and what
//! reading it back gives), the line-mode history file, `SessionConfig`'s `Debug`, and the
//! stdout/stderr of `amicon send` and `amicon watch`. Files holding history or recordings
//! must be created 0600.
//!
//! Each test also checks that the secrets really went over the wire to the (fake) server,
//! so a search that finds nothing means they were masked, not that they were never used.

mod support;

use amicon::ami::{auth, Action, AuthMethod};
use amicon::format::{self, Charset};
use amicon::history::History;
use amicon::record::{self, Recorder};
use amicon::secret::Secret;
use amicon::session::{self, SessionConfig, SessionEvent, Stamped};
use std::process::Command;
use std::time::Duration;
use support::fake_server::{event, expect, md5_login, plain_login, response, FakeServer, Step};
use support::*;

const WITHIN: Duration = Duration::from_secs(20);
const LOGIN_CHALLENGE: &str = "987654321";
const USER_CHALLENGE: &str = "555000111";
const OTHER_SECRET: &str = "0ther-Secr3t-XYZ";
const PASSWORD: &str = "Passw0rd-QRS";

/// Every secret and key this session's traffic carries.
fn needles(config_secret: &str) -> Vec<String> {
    let secret = Secret::new(config_secret.into());
    let other = Secret::new(OTHER_SECRET.into());
    vec![
        config_secret.to_string(),
        OTHER_SECRET.to_string(),
        PASSWORD.to_string(),
        auth::md5_key(LOGIN_CHALLENGE.as_bytes(), &secret),
        auth::md5_key(USER_CHALLENGE.as_bytes(), &other),
    ]
}

/// The fake server's side: a login, then answers to what the user sends.
fn script(login: Vec<Step>) -> Vec<Step> {
    let mut steps = login;
    steps.push(expect(
        "Challenge",
        &format!("Response: Success\r\nActionID: {{id}}\r\nChallenge: {USER_CHALLENGE}\r\n\r\n"),
    ));
    steps.push(expect(
        "Login",
        &response("Success", "Already authenticated"),
    ));
    steps.push(expect(
        "Login",
        &response("Success", "Already authenticated"),
    ));
    steps.push(expect("SIPpeers", &response("Success", "Done")));
    steps.push(Step::Send(event(
        "Newchannel",
        &[("Channel", "PJSIP/100-00000001")],
    )));
    steps
}

/// The user's actions: `Challenge`, a plain re-login, an MD5 re-login, and an action
/// with a `Password` header.
async fn user_actions(handle: &session::SessionHandle) {
    let challenge = handle
        .request(Action::new("Challenge").with("AuthType", "MD5"))
        .await
        .expect("challenge answered");
    assert_eq!(
        challenge.response.get("Challenge"),
        Some(USER_CHALLENGE.as_bytes())
    );
    let other = Secret::new(OTHER_SECRET.into());
    for action in [
        Action::new("Login")
            .with("Username", "other")
            .with("Secret", OTHER_SECRET),
        Action::new("Login")
            .with("AuthType", "MD5")
            .with("Username", "other")
            .with("Key", auth::md5_key(USER_CHALLENGE.as_bytes(), &other)),
        Action::new("SIPpeers").with("Password", PASSWORD),
    ] {
        handle.request(action).await.expect("answered");
    }
}

/// Everything a front end can produce from a session's stream, as one text.
fn every_output(seen: &[Stamped], config: &SessionConfig) -> String {
    let mut out = format!("{config:?}\n{seen:?}\n{seen:#?}\n");
    let mut recorder = Recorder::new(Vec::new()).expect("recorder");
    for stamped in seen {
        recorder.write(stamped).expect("recorded");
        out.push_str(&format::one_line(stamped, Charset::default()));
        out.push('\n');
        out.push_str(&format::json_line(stamped, Charset::default()));
        out.push('\n');
        if let SessionEvent::Sent { message, .. } | SessionEvent::Received { message, .. } =
            &stamped.event
        {
            out.push_str(&String::from_utf8_lossy(format::raw(message)));
        }
    }
    let recording = recorder.into_inner();
    out.push_str(&String::from_utf8_lossy(&recording));
    out.push_str(&format!("{:?}", record::read(&recording)));
    out
}

fn assert_no_secret(what: &str, text: &str, needles: &[String]) {
    for needle in needles {
        assert!(
            !text.contains(needle.as_str()),
            "{what} shows the secret {needle:?}"
        );
    }
}

async fn leak_check(auth_method: AuthMethod, login: Vec<Step>) {
    let server = FakeServer::start(vec![script(login)]).await;
    let mut config = config(server.endpoint());
    config.auth = auth_method;
    let (handle, mut stream) = session::spawn(config.clone());
    user_actions(&handle).await;
    let mut seen = collect_until(&mut stream, WITHIN, |s| {
        matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Event", "Newchannel"))
    })
    .await;
    handle.logoff().await;
    seen.extend(until_ended(&mut stream, WITHIN).await);

    let needles = needles(SECRET);
    // The secrets did cross the wire (the login's own one only for plain login).
    let wire = String::from_utf8_lossy(&server.received(0).bytes).into_owned();
    let sent: Vec<&String> = needles
        .iter()
        .filter(|n| wire.contains(n.as_str()))
        .collect();
    // Plain: the login secret; MD5: the login key. Both: the user's three.
    assert_eq!(sent.len(), 4, "on the wire: {sent:?}");
    assert_eq!(
        wire.contains(SECRET),
        auth_method == AuthMethod::Plain,
        "an MD5 login never sends the secret itself"
    );
    // The masked actions are in the stream, so masking (not absence) is what is tested.
    let masked = seen
        .iter()
        .filter(|s| matches!(&s.event, SessionEvent::Sent { message, .. } if message.get_all("Secret").chain(message.get_all("Key")).chain(message.get_all("Password")).any(|v| v == b"***")))
        .count();
    assert_eq!(masked, 4, "login + 3 user actions carry a masked field");
    assert_no_secret(
        "the session's outputs",
        &every_output(&seen, &config),
        &needles,
    );
}

#[tokio::test(start_paused = true)]
async fn an_md5_session_using_challenge_and_secret_fields_leaks_no_secret() {
    leak_check(AuthMethod::Md5, md5_login(LOGIN_CHALLENGE)).await;
}

#[tokio::test(start_paused = true)]
async fn a_plain_login_session_with_secret_fields_leaks_no_secret() {
    leak_check(AuthMethod::Plain, plain_login()).await;
}

#[test]
fn the_line_mode_history_masks_secrets_and_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("amicon").join("history");
    let mut history = History::open(&path).unwrap();
    let other = Secret::new(OTHER_SECRET.into());
    let md5 = auth::md5_key(USER_CHALLENGE.as_bytes(), &other);
    history
        .add(&format!(
            "Action: Login\nUsername: other\nSecret: {OTHER_SECRET}"
        ))
        .unwrap();
    history
        .add(&format!(
            "Action: Login\nAuthType: MD5\nUsername: other\nKey: {md5}"
        ))
        .unwrap();
    history
        .add(&format!("Action: SIPpeers\nPassword: {PASSWORD}"))
        .unwrap();
    let needles = [OTHER_SECRET.to_string(), md5, PASSWORD.to_string()];
    let file = std::fs::read_to_string(&path).unwrap();
    assert_eq!(file.matches("***").count(), 3, "{file}");
    assert_no_secret("the history file", &file, &needles);
    let shown: Vec<&str> = history.entries().collect();
    assert_no_secret("the history in memory", &shown.join("\n"), &needles);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "history file mode {mode:o}");
}

#[test]
fn a_recording_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.amirec");
    let recorder = Recorder::create(&path).unwrap();
    drop(recorder);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "recording file mode {mode:o}");
}

#[test]
fn secret_debug_and_display_print_stars() {
    let secret = Secret::new(SECRET.into());
    assert_eq!(format!("{secret:?} {secret}"), "*** ***");
    let config = SessionConfig::new(
        amicon::session::Endpoint {
            host: "pbx".into(),
            port: 5038,
            tls: false,
        },
        "admin",
        secret,
    );
    assert!(!format!("{config:?} {config:#?}").contains(SECRET));
}

/// Runs the real binary with the secret in `AMI_SECRET`; returns (stdout, stderr).
fn run_amicon(args: Vec<String>) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_amicon"))
        .args(args)
        .env("AMI_SECRET", SECRET)
        .env("HOME", std::env::temp_dir())
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("amicon-secrets-test"),
        )
        .output()
        .expect("amicon runs");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn send_and_watch_print_no_secret() {
    use std::os::unix::fs::PermissionsExt;
    let needles = needles(SECRET);
    // send: an MD5 login, then an action carrying a Secret, answered with an error that
    // `send` prints in full.
    let mut send_script = md5_login(LOGIN_CHALLENGE);
    send_script.push(expect("Login", &response("Error", "Authentication failed")));
    let mut watch_script = plain_login();
    watch_script.push(Step::Send(event(
        "Newchannel",
        &[("Channel", "PJSIP/100-00000001")],
    )));
    let server = FakeServer::start(vec![
        send_script,
        watch_script.clone(),
        watch_script.clone(),
        watch_script,
    ])
    .await;
    let target = format!("admin@127.0.0.1:{}", server.addr.port());
    let secret_arg = format!("Secret={OTHER_SECRET}");
    let send_args: Vec<String> = [
        "send",
        &target,
        "--auth",
        "md5",
        "Login",
        "Username=other",
        &secret_arg,
    ]
    .map(String::from)
    .into();
    let (out, err) = tokio::task::spawn_blocking(move || run_amicon(send_args))
        .await
        .unwrap();
    assert!(
        out.contains("Authentication failed"),
        "stdout: {out}\nstderr: {err}"
    );
    assert_no_secret("send's stdout", &out, &needles);
    assert_no_secret("send's stderr", &err, &needles);
    assert!(String::from_utf8_lossy(&server.received(0).bytes).contains(OTHER_SECRET));

    for (n, format) in ["raw", "line", "json"].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let recording = dir.path().join("watch.amirec");
        let watch_args: Vec<String> = [
            "watch",
            &target,
            "--auth",
            "plain",
            "--format",
            format,
            "--count",
            "1",
            "--for",
            "10s",
            "--record",
            recording.to_str().unwrap(),
        ]
        .map(String::from)
        .into();
        let (out, err) = tokio::task::spawn_blocking(move || run_amicon(watch_args))
            .await
            .unwrap();
        assert!(
            out.contains("Newchannel"),
            "{format} stdout: {out}\nstderr: {err}"
        );
        assert_no_secret(&format!("watch --format {format} stdout"), &out, &needles);
        assert_no_secret(&format!("watch --format {format} stderr"), &err, &needles);
        assert!(String::from_utf8_lossy(&server.received(n + 1).bytes).contains(SECRET));
        let recorded = std::fs::read(&recording).expect("watch --record wrote a file");
        assert!(String::from_utf8_lossy(&recorded).contains("Newchannel"));
        // The login went into the recording too, masked.
        assert!(String::from_utf8_lossy(&recorded).contains("Secret: ***"));
        assert_no_secret(
            "watch's recording",
            &String::from_utf8_lossy(&recorded),
            &needles,
        );
        let mode = std::fs::metadata(&recording).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "watch --record file mode {mode:o}");
    }
}

/// The real-Asterisk tier: the same searches after a real MD5 or plain login, a real
/// `Challenge`, re-logins carrying the secret and the MD5 key, and a `Password` field.
async fn real_leak_check(auth_method: AuthMethod) {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: run tests/harness/run-all, or start tests/harness/asterisk.sh and export its env"
            )
        })
    };
    let addr = var("AMI_TEST_ADDR");
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let secret_text = var("AMI_TEST_SECRET");
    let secret = Secret::new(secret_text.clone());
    let mut config = SessionConfig::new(
        amicon::session::Endpoint {
            host: host.into(),
            port: port.parse().unwrap(),
            tls: false,
        },
        var("AMI_TEST_USER"),
        secret.clone(),
    );
    config.auth = auth_method;
    config.reconnect = false;
    let (handle, mut stream) = session::spawn(config.clone());
    let challenge = handle
        .request(Action::new("Challenge").with("AuthType", "MD5"))
        .await
        .expect("challenge answered");
    let user_key = auth::md5_key(challenge.response.get("Challenge").unwrap(), &secret);
    let again = handle
        .request(
            Action::new("Login")
                .with("Username", var("AMI_TEST_USER"))
                .with("Secret", &secret_text),
        )
        .await
        .expect("answered");
    assert!(again.response.is("Message", "Already authenticated"));
    for action in [
        Action::new("Login")
            .with("AuthType", "MD5")
            .with("Username", var("AMI_TEST_USER"))
            .with("Key", &user_key),
        Action::new("Ping").with("Password", PASSWORD),
    ] {
        handle.request(action).await.expect("answered");
    }
    handle.logoff().await;
    let seen = until_ended(&mut stream, WITHIN).await;
    let mut needles = vec![secret_text, user_key, PASSWORD.to_string()];
    // The session's own login challenge is in the stream; its key must not be.
    for s in &seen {
        if let SessionEvent::Received {
            message,
            internal: true,
            ..
        } = &s.event
        {
            if let Some(c) = message.get("Challenge") {
                needles.push(auth::md5_key(c, &secret));
            }
        }
    }
    assert_eq!(
        needles.len(),
        3 + usize::from(auth_method == AuthMethod::Md5)
    );
    assert_no_secret(
        "the session's outputs",
        &every_output(&seen, &config),
        &needles,
    );
}

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn a_real_md5_session_leaks_no_secret() {
    real_leak_check(AuthMethod::Md5).await;
}

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn a_real_plain_session_leaks_no_secret() {
    real_leak_check(AuthMethod::Plain).await;
}
