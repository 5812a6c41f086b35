//! The calls view against the real Asterisk 22 (`../shared/asterisk/real-asterisk.sh`):
//! a call through `Local/dial@test` (two Local legs joined by a bridge) grouped into one
//! call. Run by `.ci/run`, which starts Asterisk and exports the `AMI_TEST_*` variables.
//! With `AMICON_CAPTURE_CALL=PATH` set, the stream is also written as a recording
//! (how `tests/fixtures/calls/dial-call.txt` was made).

use amicon::ami::Action;
use amicon::calls::{CallState, Calls, LadderKind};
use amicon::record::Recorder;
use amicon::secret::Secret;
use amicon::session::{self, Endpoint, SessionConfig, SessionEvent, SessionState, Stamped};
use std::collections::HashSet;
use std::time::Duration;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start ../shared/asterisk/real-asterisk.sh and export its env")
    })
}

fn admin_config() -> SessionConfig {
    let addr = env("AMI_TEST_ADDR");
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let endpoint = Endpoint {
        host: host.to_string(),
        port: port.parse().expect("a port number"),
        tls: false,
    };
    let mut c = SessionConfig::new(
        endpoint,
        env("AMI_TEST_USER"),
        Secret::new(env("AMI_TEST_SECRET")),
    );
    c.reconnect = false;
    c.ping_interval = None;
    c
}

fn event_of<'a>(s: &'a Stamped, name: &str) -> Option<&'a amicon::ami::Message> {
    match &s.event {
        SessionEvent::Received { message, .. } if message.is("Event", name) => Some(message),
        _ => None,
    }
}

/// Collects the stream until every channel that appeared has hung up (or time runs out).
async fn collect_call(stream: &mut session::EventStream, within: Duration) -> Vec<Stamped> {
    let mut seen = Vec::new();
    let mut open_channels = HashSet::new();
    let mut any_hangup = false;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut batch = Vec::new();
        match tokio::time::timeout_at(deadline, stream.recv_batch(&mut batch)).await {
            Ok(true) => {}
            Ok(false) | Err(_) => return seen,
        }
        for s in &batch {
            if let Some(m) = event_of(s, "Newchannel") {
                open_channels.insert(m.get("Uniqueid").unwrap_or_default().to_vec());
            }
            if let Some(m) = event_of(s, "Hangup") {
                open_channels.remove(m.get("Uniqueid").unwrap_or_default());
                any_hangup = true;
            }
        }
        seen.extend(batch);
        if any_hangup && open_channels.is_empty() {
            return seen;
        }
    }
}

async fn originate_dial_call() -> Vec<Stamped> {
    let (handle, mut stream) = session::spawn(admin_config());
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen
        .iter()
        .any(|s: &Stamped| matches!(s.event, SessionEvent::State(SessionState::LoggedIn { .. })))
    {
        let mut batch = Vec::new();
        let open = tokio::time::timeout_at(deadline, stream.recv_batch(&mut batch))
            .await
            .expect("logged in within 10 s");
        seen.extend(batch);
        assert!(open, "the session ended before login: {seen:?}");
    }
    let originate = Action::new("Originate")
        .with("Channel", "Local/dial@test")
        .with("Context", "test")
        .with("Exten", "echo")
        .with("Priority", "1")
        .with("CallerID", "Alice Caller <1001>")
        .with("Async", "true");
    let reply = handle.request(originate).await.expect("originate answered");
    assert!(reply.is_success(), "{:?}", reply.response);
    seen.extend(collect_call(&mut stream, Duration::from_secs(20)).await);
    handle.logoff().await;
    let mut rest = Vec::new();
    while let Ok(Some(s)) = tokio::time::timeout(Duration::from_secs(2), stream.recv()).await {
        rest.push(s);
    }
    seen.extend(rest);
    if let Ok(path) = std::env::var("AMICON_CAPTURE_CALL") {
        let mut recorder = Recorder::create(std::path::Path::new(&path)).expect("create capture");
        for s in &seen {
            recorder.write(s).expect("write capture");
        }
        recorder.flush().expect("flush capture");
    }
    seen
}

#[tokio::test]
#[ignore = "needs a real Asterisk (AMI_TEST_ADDR)"]
async fn a_call_through_local_dial_is_one_call_with_two_legs_a_bridge_and_a_cause() {
    let seen = originate_dial_call().await;
    let mut calls = Calls::default();
    for s in &seen {
        calls.apply_stamped(s);
    }
    assert_eq!(calls.len(), 1, "{:?}", calls.ordered());
    let call = calls.ordered()[0];
    let names: Vec<&str> = call.channels().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 4, "two Local legs, two halves each: {names:?}");
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("Local/dial@test-"))
            .count(),
        2
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("Local/echo@test-"))
            .count(),
        2
    );
    assert_eq!(call.state(), CallState::Ended);
    assert_eq!(call.caller().num, "1001");
    let cause = call.cause().expect("a hangup cause");
    assert_eq!(cause.code, Some(16), "{cause:?}");
    let ladder = call.ladder();
    let bridge_arrow = ladder.rows.iter().find(|r| {
        r.kind == LadderKind::Bridge && r.label.starts_with("BridgeEnter") && r.to_col.is_some()
    });
    assert!(bridge_arrow.is_some(), "{:#?}", ladder.rows);
    assert!(ladder
        .rows
        .iter()
        .any(|r| r.kind == LadderKind::Dial && r.to_col.is_some()));
}
