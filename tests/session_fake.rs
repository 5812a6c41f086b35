//! The session against a scripted fake server (issue 2, "Session tests"): login paths,
//! lists, timeouts, keepalive, reconnect, a connection dropped mid-message. Timing tests
//! run on tokio's paused clock: the fake server and the session share the runtime, so
//! the clock only jumps when both wait.

mod support;

use amicon::ami::{auth, Action, AuthMethod};
use amicon::secret::Secret;
use amicon::session::{self, ActionError, EndReason, Link, SessionEvent, SessionState};
use std::time::Duration;
use support::fake_server::{
    event, expect, md5_login, plain_login, response, FakeServer, Step, BANNER,
};
use support::*;

/// A real-time bound on every wait, so a broken session fails a test instead of hanging it.
const WITHIN: Duration = Duration::from_secs(20);

#[tokio::test(start_paused = true)]
async fn plain_login_sends_user_and_secret_and_reaches_logged_in() {
    let server = FakeServer::start(vec![plain_login()]).await;
    let (handle, mut stream) = session::spawn(config(server.endpoint()));
    let seen = collect_until(&mut stream, WITHIN, logged_in).await;
    assert!(seen.iter().any(logged_in), "{seen:#?}");
    let login = server.received(0).find("Login").cloned().expect("a Login");
    assert_eq!(login.get_str("Username").as_deref(), Some(USER));
    assert_eq!(login.get_str("Secret").as_deref(), Some(SECRET));
    assert_eq!(login.get_str("Events").as_deref(), Some("on"));
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn md5_login_sends_the_lowercase_md5_of_challenge_and_secret_and_no_secret() {
    let server = FakeServer::start(vec![md5_login("120484237")]).await;
    let mut c = config(server.endpoint());
    c.auth = AuthMethod::Md5;
    let (handle, mut stream) = session::spawn(c);
    let seen = collect_until(&mut stream, WITHIN, logged_in).await;
    assert!(seen.iter().any(logged_in), "{seen:#?}");
    let got = server.received(0);
    assert_eq!(got.action_names(), ["Challenge", "Login"]);
    let challenge = got.find("Challenge").unwrap();
    assert_eq!(challenge.get_str("AuthType").as_deref(), Some("MD5"));
    let login = got.find("Login").unwrap();
    let expected = auth::md5_key(b"120484237", &Secret::new(SECRET.into()));
    assert_eq!(login.get_str("Key").as_deref(), Some(expected.as_str()));
    assert_eq!(login.get_str("AuthType").as_deref(), Some("MD5"));
    assert!(login.get("Secret").is_none());
    assert!(!String::from_utf8_lossy(&got.bytes).contains(SECRET));
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn bad_credentials_end_the_session_with_auth_failed_exit_4() {
    let server = FakeServer::start(vec![vec![
        Step::Send(BANNER.to_vec()),
        Step::Expect {
            action: "Login".into(),
            reply: response("Error", "Authentication failed"),
        },
        Step::Close,
    ]])
    .await;
    let seen = run_to_end(config(server.endpoint()), WITHIN).await;
    let reason = end_reason(&seen);
    assert!(
        matches!(reason, EndReason::AuthFailed(ref m) if m.contains("admin") && m.contains("wrong secret")),
        "{reason}"
    );
    assert_eq!(reason.exit_code(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_login_never_answered_ends_with_login_timeout_exit_5() {
    let server = FakeServer::start(vec![vec![Step::Send(BANNER.to_vec()), Step::Hang]]).await;
    let seen = run_to_end(config(server.endpoint()), WITHIN).await;
    let reason = end_reason(&seen);
    assert_eq!(reason, EndReason::LoginTimeout(Duration::from_secs(5)));
    assert_eq!(reason.exit_code(), 5);
    assert!(reason.to_string().contains("never answered"));
}

#[tokio::test(start_paused = true)]
async fn a_server_that_sends_no_banner_is_named_not_ami() {
    let server = FakeServer::start(vec![vec![Step::Hang]]).await;
    let seen = run_to_end(config(server.endpoint()), WITHIN).await;
    let reason = end_reason(&seen);
    assert!(
        matches!(reason, EndReason::NotAmi(ref m) if m.contains("no banner")),
        "{reason}"
    );
    assert_eq!(reason.exit_code(), 3);
}

/// A list answer (`EventList: start` ... `Complete`) with an unrelated event in between.
fn list_script() -> Vec<Step> {
    let mut steps = plain_login();
    steps.push(expect(
        "CoreShowChannels",
        "Response: Success\r\nActionID: {id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n\
         Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: PJSIP/100-00000001\r\n\r\n\
         Event: Newchannel\r\nChannel: PJSIP/200-00000002\r\n\r\n\
         Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: PJSIP/101-00000003\r\n\r\n\
         Event: CoreShowChannelsComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: 2\r\n\r\n",
    ));
    steps
}

#[tokio::test(start_paused = true)]
async fn list_answers_are_collected_with_their_items_and_other_events_stay_events() {
    let server = FakeServer::start(vec![list_script()]).await;
    let (handle, mut stream) = session::spawn(config(server.endpoint()));
    let reply = tokio::time::timeout(WITHIN, handle.request(Action::new("CoreShowChannels")))
        .await
        .expect("bounded")
        .expect("answered");
    assert!(reply.is_success());
    let channels: Vec<_> = reply
        .items
        .iter()
        .map(|m| m.get_str("Channel").unwrap().into_owned())
        .collect();
    assert_eq!(channels, ["PJSIP/100-00000001", "PJSIP/101-00000003"]);
    assert!(reply.complete.as_ref().unwrap().is("ListItems", "2"));
    let id = reply.action_id.clone();

    let seen = collect_until(&mut stream, WITHIN, |s| {
        matches!(
            &s.event,
            SessionEvent::Received {
                link: Link::ListComplete { .. },
                ..
            }
        )
    })
    .await;
    let expected = vec![
        (
            "CoreShowChannel".to_string(),
            Link::ListItem {
                action_id: id.clone(),
            },
        ),
        ("Newchannel".to_string(), Link::Unsolicited),
        (
            "CoreShowChannel".to_string(),
            Link::ListItem {
                action_id: id.clone(),
            },
        ),
        (
            "CoreShowChannelsComplete".to_string(),
            Link::ListComplete { action_id: id },
        ),
    ];
    assert_eq!(events(&seen), expected);
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn events_between_an_action_and_its_answer_stay_events() {
    let mut script = plain_login();
    script.push(expect(
        "Ping",
        "Event: VarSet\r\nVariable: X\r\n\r\nEvent: Hangup\r\nActionID: someone-else\r\n\r\n\
         Response: Success\r\nActionID: {id}\r\nPing: Pong\r\n\r\n",
    ));
    let server = FakeServer::start(vec![script]).await;
    let (handle, mut stream) = session::spawn(config(server.endpoint()));
    let reply = handle.request(Action::new("Ping")).await.expect("answered");
    assert!(reply.items.is_empty());
    assert!(reply.response.is("Ping", "Pong"));
    let seen = collect_until(&mut stream, WITHIN, |s| {
        matches!(
            &s.event,
            SessionEvent::Received {
                link: Link::Response { .. },
                internal: false,
                ..
            }
        )
    })
    .await;
    assert_eq!(
        events(&seen),
        [
            ("VarSet".to_string(), Link::Unsolicited),
            ("Hangup".to_string(), Link::Unsolicited)
        ]
    );
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_action_times_out_with_a_clear_error_and_the_session_goes_on() {
    let mut script = plain_login();
    script.push(expect("Originate", ""));
    script.push(expect(
        "Ping",
        "Response: Success\r\nActionID: {id}\r\nPing: Pong\r\n\r\n",
    ));
    let server = FakeServer::start(vec![script]).await;
    let (handle, mut stream) = session::spawn(config(server.endpoint()));
    let started = tokio::time::Instant::now();
    let err = handle
        .request(Action::new("Originate").with("Async", "true"))
        .await
        .expect_err("never answered");
    assert_eq!(err, ActionError::Timeout(Duration::from_secs(5)));
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert!(err.to_string().contains("no answer within"));
    // The session is still up.
    assert!(handle.request(Action::new("Ping")).await.is_ok());
    let seen = drain(&mut stream);
    assert!(seen.iter().any(|s| matches!(
        &s.event,
        SessionEvent::ActionFailed { name, error: ActionError::Timeout(_), .. } if name == "Originate"
    )));
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn keepalive_ping_is_sent_on_schedule_and_its_rtt_published() {
    let mut script = plain_login();
    script.push(expect(
        "Ping",
        "Response: Success\r\nActionID: {id}\r\nPing: Pong\r\n\r\n",
    ));
    script.push(expect(
        "Ping",
        "Response: Success\r\nActionID: {id}\r\nPing: Pong\r\n\r\n",
    ));
    let server = FakeServer::start(vec![script]).await;
    let mut c = config(server.endpoint());
    c.ping_interval = Some(Duration::from_secs(20));
    let (handle, mut stream) = session::spawn(c);
    collect_until(&mut stream, WITHIN, logged_in).await;
    let logged_in_at = tokio::time::Instant::now();
    let mut pongs = 0;
    tokio::time::sleep(Duration::from_secs(50)).await;
    let seen = drain(&mut stream);
    for s in &seen {
        if let SessionEvent::Pong { rtt } = s.event {
            pongs += 1;
            assert!(rtt < Duration::from_secs(1), "{rtt:?}");
        }
    }
    assert_eq!(pongs, 2, "two pings in 50 s at a 20 s interval: {seen:#?}");
    let pings: Vec<_> = server
        .received(0)
        .actions
        .iter()
        .filter(|(_, m)| m.is("Action", "Ping"))
        .map(|(at, _)| at.duration_since(logged_in_at))
        .collect();
    assert_eq!(pings.len(), 2);
    assert!(
        pings[0] >= Duration::from_secs(19) && pings[0] <= Duration::from_secs(21),
        "{pings:?}"
    );
    let between = pings[1] - pings[0];
    assert!(
        between >= Duration::from_secs(19) && between <= Duration::from_secs(21),
        "{pings:?}"
    );
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn a_ping_that_never_comes_back_makes_the_session_reconnect() {
    let mut first = plain_login();
    first.push(Step::Hang);
    let mut second = plain_login();
    second.push(Step::Hang);
    let server = FakeServer::start(vec![first, second]).await;
    let mut c = config(server.endpoint());
    c.reconnect = true;
    c.ping_interval = Some(Duration::from_secs(10));
    let (handle, mut stream) = session::spawn(c);
    let logins = std::cell::Cell::new(0);
    let seen = collect_until(&mut stream, WITHIN, |s| {
        logins.set(logins.get() + usize::from(logged_in(s)));
        logins.get() == 2
    })
    .await;
    let logins = logins.get();
    assert_eq!(logins, 2, "{seen:#?}");
    let reason = seen
        .iter()
        .find_map(|s| match &s.event {
            SessionEvent::State(SessionState::Reconnecting { reason, .. }) => Some(reason.clone()),
            _ => None,
        })
        .expect("a reconnect");
    assert!(reason.contains("keepalive Ping"), "{reason}");
    assert_eq!(server.connections(), 2);
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn after_a_lost_connection_the_session_logs_in_again_marks_the_gap_and_events_follow() {
    let mut first = plain_login();
    first.push(Step::Send(event("Newchannel", &[("Channel", "before")])));
    first.push(Step::Close);
    let mut second = plain_login();
    second.push(Step::Send(event("Newchannel", &[("Channel", "after")])));
    let server = FakeServer::start(vec![first, second]).await;
    let mut c = config(server.endpoint());
    c.reconnect = true;
    let (handle, mut stream) = session::spawn(c);
    let seen = collect_until(&mut stream, WITHIN, |s| {
        matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Channel", "after"))
    })
    .await;
    let order: Vec<String> = seen
        .iter()
        .filter_map(|s| match &s.event {
            SessionEvent::Received { message, .. } if message.event_name().is_some() => {
                Some(message.get_str("Channel").unwrap().into_owned())
            }
            SessionEvent::Gap { reason, .. } => Some(format!("gap: {reason}")),
            SessionEvent::State(SessionState::LoggedIn { .. }) => Some("logged in".into()),
            _ => None,
        })
        .collect();
    assert_eq!(
        order,
        [
            "logged in",
            "before",
            "logged in",
            "gap: the server closed the connection",
            "after"
        ]
    );
    assert!(server.received(1).find("Login").is_some());
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn actions_are_never_resent_after_a_reconnect() {
    let mut first = plain_login();
    first.push(expect("Originate", ""));
    first.push(Step::Close);
    let mut second = plain_login();
    second.push(Step::Hang);
    let server = FakeServer::start(vec![first, second]).await;
    let mut c = config(server.endpoint());
    c.reconnect = true;
    let (handle, mut stream) = session::spawn(c);
    let err = handle
        .request(Action::new("Originate").with("Async", "true"))
        .await
        .expect_err("the connection went first");
    assert_eq!(err, ActionError::ConnectionLost);
    assert!(err.to_string().contains("not re-sent"));
    // Wait for the second login, then a while longer.
    let mut seen = collect_until(&mut stream, WITHIN, logged_in).await;
    seen.extend(collect_until(&mut stream, WITHIN, logged_in).await);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(server.received(1).action_names(), ["Login"]);
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn a_connection_dropped_mid_message_keeps_the_partial_bytes_in_a_protocol_error() {
    let mut script = plain_login();
    script.push(Step::Send(event("Newchannel", &[("Channel", "whole")])));
    script.push(Step::Send(b"Event: Hangup\r\nChannel: PJSIP/1".to_vec()));
    script.push(Step::Close);
    let server = FakeServer::start(vec![script]).await;
    let seen = run_to_end(config(server.endpoint()), WITHIN).await;
    assert_eq!(event_names(&seen), ["Newchannel"]);
    let errors = protocol_errors(&seen);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].0.contains("middle of a message"),
        "{}",
        errors[0].0
    );
    assert_eq!(errors[0].1, b"Event: Hangup\r\nChannel: PJSIP/1");
    let reason = end_reason(&seen);
    assert!(
        matches!(reason, EndReason::ConnectionLost(ref m) if m.contains("mid-message")),
        "{reason}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_action_id_is_refused_while_the_first_waits() {
    let mut script = plain_login();
    script.push(expect(
        "Ping",
        "Response: Success\r\nActionID: {id}\r\nPing: Pong\r\n\r\n",
    ));
    let server = FakeServer::start(vec![script]).await;
    let (handle, mut stream) = session::spawn(config(server.endpoint()));
    collect_until(&mut stream, WITHIN, logged_in).await;
    let first = handle.request(Action::new("Ping").with("ActionID", "mine-1"));
    let second = async {
        tokio::task::yield_now().await;
        handle
            .request(Action::new("Ping").with("ActionID", "mine-1"))
            .await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.expect("answered").action_id, "mine-1");
    assert_eq!(
        second.expect_err("refused"),
        ActionError::DuplicateActionId("mine-1".into())
    );
    // Only one went over the wire.
    assert_eq!(server.received(0).action_names(), ["Login", "Ping"]);
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn a_response_to_an_unknown_action_id_is_marked_unknown() {
    let mut script = plain_login();
    script.push(Step::Send(
        b"Response: Success\r\nActionID: nobody-asked\r\nMessage: Stray\r\n\r\n".to_vec(),
    ));
    script.push(Step::Send(event("Newchannel", &[("Channel", "after")])));
    let server = FakeServer::start(vec![script]).await;
    let (handle, mut stream) = session::spawn(config(server.endpoint()));
    let seen = collect_until(&mut stream, WITHIN, |s| {
        matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Event", "Newchannel"))
    })
    .await;
    let stray = seen
        .iter()
        .find_map(|s| match &s.event {
            SessionEvent::Received { message, link, .. } if message.is("Message", "Stray") => {
                Some(link.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("the stray response is kept: {seen:#?}"));
    assert_eq!(stray, Link::UnknownResponse);
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn goodbye_mid_session_ends_a_session_without_reconnect_naming_it() {
    let mut script = plain_login();
    script.push(Step::Send(event("Newchannel", &[("Channel", "before")])));
    script.push(Step::Send(
        b"Response: Goodbye\r\nMessage: Manager shutting down\r\n\r\n".to_vec(),
    ));
    script.push(Step::Close);
    let server = FakeServer::start(vec![script]).await;
    let seen = run_to_end(config(server.endpoint()), WITHIN).await;
    assert_eq!(event_names(&seen), ["Newchannel"]);
    let reason = end_reason(&seen);
    assert!(
        matches!(reason, EndReason::ConnectionLost(ref m) if m.contains("Goodbye")),
        "{reason}"
    );
    assert_eq!(reason.exit_code(), 3);
}

#[tokio::test(start_paused = true)]
async fn goodbye_mid_session_makes_a_reconnecting_session_come_back() {
    let mut first = plain_login();
    first.push(Step::Send(
        b"Response: Goodbye\r\nMessage: Manager shutting down\r\n\r\n".to_vec(),
    ));
    first.push(Step::Close);
    let mut second = plain_login();
    second.push(Step::Send(event("Newchannel", &[("Channel", "after")])));
    let server = FakeServer::start(vec![first, second]).await;
    let mut c = config(server.endpoint());
    c.reconnect = true;
    let (handle, mut stream) = session::spawn(c);
    let seen = collect_until(&mut stream, WITHIN, |s| {
        matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Channel", "after"))
    })
    .await;
    assert!(
        seen.iter().any(
            |s| matches!(&s.event, SessionEvent::Gap { reason, .. } if reason.contains("Goodbye"))
        ),
        "{seen:#?}"
    );
    assert_eq!(event_names(&seen), ["Newchannel"]);
    handle.logoff().await;
}
