//! The session against the real Asterisk 22 (`tests/harness/asterisk.sh`):
//! login paths, lists during a live call, `Command` output, TLS, permissions.
//! Run by `.ci/run`, which starts Asterisk and exports the `AMI_TEST_*` variables.

use amicon::ami::{Action, AuthMethod};
use amicon::secret::Secret;
use amicon::session::{
    self, EndReason, Endpoint, Link, SessionConfig, SessionEvent, SessionState, Stamped,
};
use std::time::Duration;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run tests/harness/run-all, or start tests/harness/asterisk.sh and export its env")
    })
}

fn endpoint(var: &str, tls: bool) -> Endpoint {
    let addr = env(var);
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    Endpoint {
        host: host.to_string(),
        port: port.parse().unwrap(),
        tls,
    }
}

fn admin_config() -> SessionConfig {
    let mut c = SessionConfig::new(
        endpoint("AMI_TEST_ADDR", false),
        env("AMI_TEST_USER"),
        Secret::new(env("AMI_TEST_SECRET")),
    );
    c.reconnect = false;
    c
}

/// Collects stream entries until `until` matches one (or the time runs out).
async fn collect_until(
    stream: &mut session::EventStream,
    within: Duration,
    until: impl Fn(&Stamped) -> bool,
) -> Vec<Stamped> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut batch = Vec::new();
        let open = match tokio::time::timeout_at(deadline, stream.recv_batch(&mut batch)).await {
            Ok(open) => open,
            Err(_) => return seen,
        };
        let done = batch.iter().any(&until);
        seen.extend(batch);
        if done || !open {
            return seen;
        }
    }
}

fn ended(s: &Stamped) -> Option<&EndReason> {
    match &s.event {
        SessionEvent::State(SessionState::Ended(r)) => Some(r),
        _ => None,
    }
}

fn logged_in(s: &Stamped) -> bool {
    matches!(s.event, SessionEvent::State(SessionState::LoggedIn { .. }))
}

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn md5_login_ping_and_versions() {
    let (handle, mut stream) = session::spawn(admin_config());
    let reply = handle
        .request(Action::new("Ping"))
        .await
        .expect("ping answered");
    assert!(reply.is_success());
    assert_eq!(reply.response.get("Ping"), Some(&b"Pong"[..]));
    let seen = collect_until(
        &mut stream,
        Duration::from_secs(5),
        |s| matches!(&s.event, SessionEvent::ServerInfo(i) if i.asterisk_version.is_some()),
    )
    .await;
    assert!(seen.iter().any(logged_in));
    let sent_login = seen.iter().find_map(|s| match &s.event {
        SessionEvent::Sent { name, message, .. } if name == "Login" => Some(message.clone()),
        _ => None,
    });
    let login = sent_login.expect("the login is published");
    assert_eq!(login.get("AuthType"), Some(&b"MD5"[..]));
    assert_eq!(login.get("Key"), Some(&b"***"[..]), "the MD5 key is masked");
    handle.logoff().await;
}

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn plain_login_works_and_a_bad_secret_is_an_auth_failure() {
    let mut c = admin_config();
    c.auth = AuthMethod::Plain;
    let (handle, _stream) = session::spawn(c);
    assert!(handle
        .request(Action::new("Ping"))
        .await
        .unwrap()
        .is_success());
    handle.logoff().await;

    let mut bad = admin_config();
    bad.secret = Secret::new("wrong-secret".into());
    let (handle, mut stream) = session::spawn(bad);
    let seen = collect_until(&mut stream, Duration::from_secs(10), |s| ended(s).is_some()).await;
    let reason = seen.iter().find_map(ended).expect("the session ends");
    assert!(matches!(reason, EndReason::AuthFailed(_)), "{reason:?}");
    assert_eq!(reason.exit_code(), 4);
    assert!(handle.request(Action::new("Ping")).await.is_err());
}

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn command_output_lines_are_kept() {
    let (handle, _stream) = session::spawn(admin_config());
    let reply = handle
        .request(Action::new("Command").with("Command", "core show version"))
        .await
        .unwrap();
    assert!(reply.is_success());
    let output: Vec<_> = reply.response.get_all("Output").collect();
    assert!(
        String::from_utf8_lossy(output[0]).starts_with("Asterisk 22"),
        "{output:?}"
    );
    let bad = handle
        .request(Action::new("Command").with("Command", "no such cli command"))
        .await
        .unwrap();
    assert!(
        !bad.is_success(),
        "an unknown CLI command answers Response: Error"
    );
    handle.logoff().await;
}

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn a_list_action_during_a_live_call_collects_its_items_and_call_events_arrive() {
    let (handle, mut stream) = session::spawn(admin_config());
    let originate = Action::new("Originate")
        .with("Channel", "Local/long@test")
        .with("Context", "test")
        .with("Exten", "echo")
        .with("Priority", "1")
        .with("Async", "true");
    let reply = handle.request(originate).await.unwrap();
    assert!(reply.is_success(), "{:?}", reply.response);
    let originate_id = reply.action_id.clone();
    // Wait until the channel is up, then list channels.
    let mut seen = collect_until(&mut stream, Duration::from_secs(5), |s| {
        matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Event", "Newchannel"))
    })
    .await;
    let list = handle
        .request(Action::new("CoreShowChannels"))
        .await
        .unwrap();
    assert!(list.response.is("EventList", "start"));
    let complete = list.complete.as_ref().expect("the list completes");
    let count: usize = complete.get_str("ListItems").unwrap().parse().unwrap();
    assert_eq!(count, list.items.len());
    assert!(list.items.iter().any(|m| m
        .get_str("Channel")
        .is_some_and(|c| c.starts_with("Local/long@test"))));
    // The call's OriginateResponse carries our ActionID and is linked to the action.
    let is_originate_response = |s: &Stamped| matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Event", "OriginateResponse"));
    if !seen.iter().any(is_originate_response) {
        seen.extend(
            collect_until(&mut stream, Duration::from_secs(10), is_originate_response).await,
        );
    }
    let linked = seen.iter().find_map(|s| match &s.event {
        SessionEvent::Received { message, link, .. }
            if message.is("Event", "OriginateResponse") =>
        {
            Some(link.clone())
        }
        _ => None,
    });
    assert_eq!(
        linked,
        Some(Link::Related {
            action_id: originate_id
        })
    );
    handle
        .request(Action::new("Hangup").with("Channel", "/^Local\\/long@test-/"))
        .await
        .unwrap();
    handle.logoff().await;
}

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn the_readonly_user_is_denied_originate() {
    let mut c = admin_config();
    c.username = env("AMI_TEST_RO_USER");
    c.secret = Secret::new(env("AMI_TEST_RO_SECRET"));
    let (handle, _stream) = session::spawn(c);
    let reply = handle
        .request(
            Action::new("Originate")
                .with("Channel", "Local/echo@test")
                .with("Application", "Wait")
                .with("Data", "1"),
        )
        .await
        .unwrap();
    assert!(!reply.is_success());
    assert_eq!(
        reply.response.get("Message"),
        Some(&b"Permission denied"[..])
    );
    handle.logoff().await;
}

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn tls_with_the_test_ca_logs_in_and_without_it_names_the_certificate_problem() {
    let mut c = admin_config();
    c.endpoint = endpoint("AMI_TEST_TLS_ADDR", true);
    c.tls.ca_file = Some(env("AMI_TEST_CA").into());
    let (handle, _stream) = session::spawn(c.clone());
    assert!(handle
        .request(Action::new("Ping"))
        .await
        .unwrap()
        .is_success());
    handle.logoff().await;

    c.tls.ca_file = None;
    let (_handle, mut stream) = session::spawn(c.clone());
    let seen = collect_until(&mut stream, Duration::from_secs(10), |s| ended(s).is_some()).await;
    let reason = seen.iter().find_map(ended).unwrap();
    assert!(
        matches!(reason, EndReason::Tls(m) if m.contains("self-signed")),
        "{reason:?}"
    );

    // A plain AMI port spoken to in TLS.
    c.endpoint = endpoint("AMI_TEST_ADDR", true);
    c.tls.ca_file = Some(env("AMI_TEST_CA").into());
    let (_handle, mut stream) = session::spawn(c);
    let seen = collect_until(&mut stream, Duration::from_secs(10), |s| ended(s).is_some()).await;
    let reason = seen.iter().find_map(ended).unwrap();
    assert!(
        matches!(reason, EndReason::Tls(m) if m.contains("did not answer in TLS")),
        "{reason:?}"
    );
}
