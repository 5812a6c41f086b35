//! The calls view against the real Asterisk 22 (`tests/harness/asterisk.sh`):
//! a call through `Local/dial@test` (two Local legs joined by a bridge) grouped into one
//! call. Run by `.ci/run`, which starts Asterisk and exports the `AMI_TEST_*` variables.
//! With `AMICON_CAPTURE_CALL=PATH` set, the stream is also written as a recording
//! (how `tests/fixtures/calls/dial-call.txt` was made, on a server with no other calls).

use amicon::ami::Action;
use amicon::calls::{CallState, Calls, LadderKind};
use amicon::record::Recorder;
use amicon::secret::Secret;
use amicon::session::{self, Endpoint, Link, SessionConfig, SessionEvent, SessionState, Stamped};
use std::time::Duration;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run tests/harness/run-all, or start tests/harness/asterisk.sh and export its env")
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

/// The Uniqueid our Originate's channel got, from the `OriginateResponse` linked to it.
fn originated_uniqueid(s: &Stamped, action_id: &str) -> Option<String> {
    match &s.event {
        SessionEvent::Received {
            message,
            link: Link::Related { action_id: id },
            ..
        } if id == action_id && message.is("Event", "OriginateResponse") => {
            message.get_str("Uniqueid").map(|u| u.into_owned())
        }
        _ => None,
    }
}

/// Originates `Local/dial@test` and collects the stream until that call ended. Other
/// sessions may place calls on the same server meanwhile: those are in the stream too.
async fn originate_dial_call() -> (Vec<Stamped>, String) {
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
    let mut calls = Calls::default();
    for s in &seen {
        calls.apply_stamped(s);
    }
    let mut ours = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut batch = Vec::new();
        match tokio::time::timeout_at(deadline, stream.recv_batch(&mut batch)).await {
            Ok(true) => {}
            Ok(false) | Err(_) => panic!("our call did not end within 20 s"),
        }
        for s in &batch {
            calls.apply_stamped(s);
            ours = ours.or_else(|| originated_uniqueid(s, &reply.action_id));
        }
        seen.extend(batch);
        let ended = ours
            .as_deref()
            .and_then(|u| calls.call_of_uniqueid(u))
            .is_some_and(|c| !c.is_live());
        if ended {
            break;
        }
    }
    handle.logoff().await;
    while let Ok(Some(s)) = tokio::time::timeout(Duration::from_secs(2), stream.recv()).await {
        seen.push(s);
    }
    if let Ok(path) = std::env::var("AMICON_CAPTURE_CALL") {
        let mut recorder = Recorder::create(std::path::Path::new(&path)).expect("create capture");
        for s in &seen {
            recorder.write(s).expect("write capture");
        }
        recorder.flush().expect("flush capture");
    }
    (seen, ours.expect("our originate's channel"))
}

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn a_call_through_local_dial_is_one_call_with_two_legs_a_bridge_and_a_cause() {
    let (seen, uniqueid) = originate_dial_call().await;
    let mut calls = Calls::default();
    for s in &seen {
        calls.apply_stamped(s);
    }
    let call = calls.call_of_uniqueid(&uniqueid).expect("our call");
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

    // The same stream written as a recording and read back gives the same call.
    let mut recorder = Recorder::new(Vec::new()).expect("recorder");
    for s in &seen {
        recorder.write(s).expect("write");
    }
    let replayed = amicon::record::read(&recorder.into_inner());
    let mut again = Calls::default();
    for s in &replayed.entries {
        again.apply_stamped(s);
    }
    assert_eq!(again.len(), calls.len());
    let replay = again
        .call_of_uniqueid(&uniqueid)
        .expect("our call, replayed");
    // Recordings keep microseconds, so compare everything but the times.
    let shape = |c: &amicon::calls::Call| {
        let channels: Vec<_> = c
            .channels()
            .iter()
            .map(|ch| {
                let cause = ch.hangup.as_ref().map(|h| (h.code, h.text.clone()));
                (
                    ch.name.clone(),
                    ch.uniqueid.clone(),
                    ch.state.clone(),
                    cause,
                )
            })
            .collect();
        let rows: Vec<_> = c
            .ladder()
            .rows
            .into_iter()
            .map(|r| (r.from_col, r.to_col, r.label))
            .collect();
        (channels, rows, c.events().len(), c.caller(), c.callee())
    };
    assert_eq!(shape(replay), shape(call));
}
