//! The state model and `amicon show` against a real Asterisk (22, or 16 with the 16
//! variables exported): calls up before amicon connects, failed originates, a global
//! `Setvar`, a queue call; after each, what amicon reports is compared with what
//! Asterisk itself answers (`CoreShowChannels`, `QueueStatus`, over AMI). Other
//! sessions may place calls on the same server meanwhile, so comparisons are made on
//! the channels present in Asterisk's answers both before and after amicon's.
//! The restart test stops the server, so it also needs `AMI_TEST_ALLOW_RESTART=1`.

use amicon::ami::Action;
use amicon::secret::Secret;
use amicon::session::{
    self, Endpoint, EventStream, Link, SessionConfig, SessionEvent, SessionHandle, SessionState,
    Stamped,
};
use amicon::state::{ChannelEndReason, ListKind, ListStatus, State};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The tests of this file run one at a time: the restart test takes the server away, and
/// a test running beside it would see its connection refused.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the real Asterisk (tests/harness, see README) and export its env")
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

async fn login(config: SessionConfig) -> (SessionHandle, EventStream, Vec<Stamped>) {
    let (handle, mut stream) = session::spawn(config);
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
    (handle, stream, seen)
}

/// Asterisk's own list of channels: name → (Uniqueid, Linkedid, Duration seconds).
async fn asterisk_channels(handle: &SessionHandle) -> HashMap<String, (String, String, u64)> {
    let reply = handle
        .request(Action::new("CoreShowChannels"))
        .await
        .expect("CoreShowChannels answered");
    assert!(reply.is_success(), "{:?}", reply.response);
    reply
        .items
        .iter()
        .map(|m| {
            let get = |k: &str| m.get_str(k).unwrap_or_default().into_owned();
            let duration = amicon::state::fields::parse_hms(&get("Duration")).unwrap_or(0);
            (get("Channel"), (get("Uniqueid"), get("Linkedid"), duration))
        })
        .collect()
}

/// Runs `amicon show WHAT TARGET --json` and parses its rows.
fn show(what: &str) -> (i32, Vec<Value>, String) {
    let target = format!("{}@{}", env("AMI_TEST_USER"), env("AMI_TEST_ADDR"));
    let out = Command::new(env!("CARGO_BIN_EXE_amicon"))
        .args(["show", what, &target, "--json"])
        .env("AMI_SECRET", env("AMI_TEST_SECRET"))
        .env("XDG_CONFIG_HOME", "/nonexistent-amicon-test-config")
        .stdin(Stdio::null())
        .output()
        .expect("amicon runs");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let rows = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        rows,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Originates `Local/long@test` (30 s of Wait on both halves); returns the ActionID.
async fn originate_long(handle: &SessionHandle) -> String {
    let reply = handle
        .request(
            Action::new("Originate")
                .with("Channel", "Local/long@test")
                .with("Context", "test")
                .with("Exten", "long")
                .with("Priority", "1")
                .with("Async", "true"),
        )
        .await
        .expect("originate answered");
    assert!(reply.is_success(), "{:?}", reply.response);
    reply.action_id
}

/// Feeds `state` from `stream` until `done` holds (or panics after `within`).
async fn feed_until(
    state: &mut State,
    stream: &mut EventStream,
    within: Duration,
    what: &str,
    done: impl Fn(&State) -> bool,
) {
    let deadline = tokio::time::Instant::now() + within;
    while !done(state) {
        let mut batch = Vec::new();
        match tokio::time::timeout_at(deadline, stream.recv_batch(&mut batch)).await {
            Ok(true) => {}
            Ok(false) => panic!("the session ended waiting for {what}"),
            Err(_) => panic!("{what}: not within {within:?}"),
        }
        for s in &batch {
            state.apply(s);
        }
    }
}

fn our_linkedid_channels(
    channels: &HashMap<String, (String, String, u64)>,
    prefix: &str,
) -> Vec<(String, String, String, u64)> {
    let mut v: Vec<_> = channels
        .iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(n, (u, l, d))| (n.clone(), u.clone(), l.clone(), *d))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: run tests/harness (see README)"]
async fn calls_up_before_amicon_connects_are_shown_with_their_true_age() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (handle, _stream, _) = login(admin_config()).await;
    let before_ours = asterisk_channels(&handle).await;
    let _ = originate_long(&handle).await;
    // Let them age: the durations must come from Asterisk, not from when we looked.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let before = asterisk_channels(&handle).await;
    let (code, rows, stderr) = tokio::task::spawn_blocking(|| show("channels"))
        .await
        .unwrap();
    let after = asterisk_channels(&handle).await;
    assert_eq!(code, 0, "{stderr}");
    let shown: HashMap<String, &Value> = rows
        .iter()
        .map(|r| (r["channel"].as_str().unwrap().to_string(), r))
        .collect();
    // Every channel Asterisk had both before and after is shown, with its ids and age.
    let stable: Vec<&String> = before.keys().filter(|n| after.contains_key(*n)).collect();
    assert!(!stable.is_empty(), "our Local/long call is up: {before:?}");
    for name in &stable {
        let row = shown
            .get(*name)
            .unwrap_or_else(|| panic!("{name} missing from show: {rows:?}"));
        let (uniqueid, linkedid, age_before) = &before[*name];
        let age_after = after[*name].2;
        assert_eq!(row["uniqueid"].as_str(), Some(uniqueid.as_str()));
        assert_eq!(row["linkedid"].as_str(), Some(linkedid.as_str()));
        let age = row["duration_s"].as_u64().unwrap();
        assert!(
            (*age_before..=age_after + 1).contains(&age),
            "{name}: shown {age} s, Asterisk said {age_before}..{age_after} s"
        );
        assert!(row["state"].as_str().is_some_and(|s| !s.is_empty()));
    }
    // Nothing shown that Asterisk never had.
    for name in shown.keys() {
        assert!(
            before.contains_key(name) || after.contains_key(name),
            "{name} shown but not in Asterisk's lists"
        );
    }
    // Our call, among them, is one live call of two channels with its true age.
    let ours: Vec<_> = our_linkedid_channels(&before, "Local/long@test-")
        .into_iter()
        .filter(|(n, ..)| !before_ours.contains_key(n) && after.contains_key(n))
        .collect();
    assert!(!ours.is_empty(), "{before:?}");
    let linkedid = ours[0].2.clone();
    let (code, calls, stderr) = tokio::task::spawn_blocking(|| show("calls")).await.unwrap();
    assert_eq!(code, 0, "{stderr}");
    let call = calls
        .iter()
        .find(|c| c["linkedid"].as_str() == Some(linkedid.as_str()))
        .unwrap_or_else(|| panic!("call {linkedid} missing: {calls:?}"));
    assert_eq!(call["live"], Value::Bool(true));
    let names: HashSet<&str> = call["channels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for (n, ..) in &ours {
        assert!(names.contains(n.as_str()), "{n} not in {names:?}");
    }
    assert!(call["duration_s"].as_u64().unwrap() >= 4, "{call}");
    // Every live call's channels are channels Asterisk has: the header count is true.
    let live_channels: usize = calls
        .iter()
        .filter(|c| c["live"] == Value::Bool(true))
        .map(|c| c["live_channels"].as_u64().unwrap() as usize)
        .sum();
    assert!(
        live_channels <= before.len().max(after.len()) + 2,
        "{calls:?}"
    );
    // Asterisk's own words agree (the CLI over AMI).
    let reply = handle
        .request(Action::new("Command").with("Command", "core show channels concise"))
        .await
        .expect("Command answered");
    let text = String::from_utf8_lossy(reply.response.wire()).into_owned();
    for (n, ..) in &ours {
        assert!(
            text.contains(n.as_str()),
            "{n} not in `core show channels concise`: {text}"
        );
    }
    for (n, ..) in &ours {
        let _ = handle
            .request(Action::new("Hangup").with("Channel", n))
            .await;
    }
    handle.logoff().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: run tests/harness (see README)"]
async fn failed_originates_are_ended_failed_rows_and_a_global_setvar_is_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut config = admin_config();
    config.seed_state = true;
    let (handle, mut stream, seen) = login(config).await;
    let mut state = State::default();
    for s in &seen {
        state.apply(s);
    }
    feed_until(
        &mut state,
        &mut stream,
        Duration::from_secs(15),
        "the seed lists",
        |s| {
            ListKind::ALL.iter().all(|k| {
                s.list_status(*k)
                    .is_some_and(|st| !matches!(st, ListStatus::Collecting { .. }))
            })
        },
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let reply = handle
            .request(
                Action::new("Originate")
                    .with("Channel", "Local/busy@test")
                    .with("Context", "test")
                    .with("Exten", "busy")
                    .with("Priority", "1")
                    .with("Async", "true"),
            )
            .await
            .expect("originate answered");
        ids.push(reply.action_id);
    }
    let setvar = handle
        .request(
            Action::new("Setvar")
                .with("Variable", "AMICON_STATE_TEST")
                .with("Value", "1"),
        )
        .await
        .expect("Setvar answered");
    assert!(setvar.is_success(), "{:?}", setvar.response);
    let ids2 = ids.clone();
    let mut responses = 0usize;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while responses < ids2.len() {
        let mut batch = Vec::new();
        let open = tokio::time::timeout_at(deadline, stream.recv_batch(&mut batch))
            .await
            .expect("both OriginateResponses within 20 s");
        assert!(open);
        for s in &batch {
            if let SessionEvent::Received {
                message,
                link: Link::Related { action_id },
                ..
            } = &s.event
            {
                if ids2.contains(action_id) && message.is("Event", "OriginateResponse") {
                    assert!(message.is("Response", "Failure"), "{message:?}");
                    responses += 1;
                }
            }
            state.apply(s);
        }
    }
    // Let the channels of the attempts hang up.
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            let mut batch = Vec::new();
            if !stream.recv_batch(&mut batch).await {
                break;
            }
            for s in &batch {
                state.apply(s);
            }
        }
    })
    .await;
    let calls = state.calls().ordered();
    let failed: Vec<_> = calls
        .iter()
        .filter(|c| c.failure().is_some_and(|f| f.channel == "Local/busy@test"))
        .collect();
    assert_eq!(failed.len(), 2, "one failed row per attempt: {calls:#?}");
    for call in &failed {
        assert!(!call.is_live());
        assert_eq!(call.state_label(), "failed");
        assert!(
            call.cause().unwrap().text.contains("busy"),
            "{:?}",
            call.cause()
        );
    }
    for call in &calls {
        assert!(
            !["<unknown>", "none"].contains(&call.linkedid()),
            "phantom call {call:#?}"
        );
        assert!(call
            .channels()
            .iter()
            .all(|c| c.name != "none" && c.uniqueid != "none"));
    }
    assert!(state.channel_by_name("none").is_none());
    assert!(state.channel("none").is_none());
    // What the model calls live is what Asterisk has (others' calls may come and go:
    // compare on the channels in both of Asterisk's answers).
    let before = asterisk_channels(&handle).await;
    for s in support_drain(&mut stream) {
        state.apply(&s);
    }
    let after = asterisk_channels(&handle).await;
    for name in before.keys().filter(|n| after.contains_key(*n)) {
        assert!(state.channel_by_name(name).is_some(), "{name} missing");
    }
    for c in state.channels() {
        assert!(
            before.contains_key(&c.name) || after.contains_key(&c.name),
            "{} live in the model but not in Asterisk",
            c.name
        );
    }
    handle.logoff().await;
}

fn support_drain(stream: &mut EventStream) -> Vec<Stamped> {
    let mut seen = Vec::new();
    while let Some(true) = stream.try_recv_batch(&mut seen) {}
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: run tests/harness (see README)"]
async fn a_queue_call_shows_in_show_queues_and_ends_with_the_callers_cause() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut config = admin_config();
    config.seed_state = true;
    let (handle, mut stream, seen) = login(config).await;
    let mut state = State::default();
    for s in &seen {
        state.apply(s);
    }
    // Asterisk's members of `support`, to compare with.
    let reply = handle
        .request(Action::new("QueueStatus").with("Queue", "support"))
        .await
        .expect("QueueStatus answered");
    let asterisk_members: HashSet<String> = reply
        .items
        .iter()
        .filter(|m| m.is("Event", "QueueMember"))
        .filter_map(|m| m.get_str("Location").or_else(|| m.get_str("Interface")))
        .map(|s| s.into_owned())
        .collect();
    assert!(!asterisk_members.is_empty(), "{:?}", reply.items);
    let (code, rows, stderr) = tokio::task::spawn_blocking(|| show("queues"))
        .await
        .unwrap();
    assert_eq!(code, 0, "{stderr}");
    let support = rows
        .iter()
        .find(|r| r["queue"] == "support")
        .unwrap_or_else(|| panic!("{rows:?}"));
    let shown: HashSet<String> = support["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["interface"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(shown, asterisk_members);
    for m in support["members"].as_array().unwrap() {
        assert!(m["status"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(m["paused"].is_boolean());
    }
    // A call into the ring-all queue: a Local caller whose other half runs Queue().
    let reply = handle
        .request(
            Action::new("Originate")
                .with("Channel", "Local/long@test")
                .with("Application", "Queue")
                .with("Data", "support,,,,8")
                .with("CallerID", "Queue Caller <7007>")
                .with("Async", "true"),
        )
        .await
        .expect("originate answered");
    assert!(reply.is_success(), "{:?}", reply.response);
    // Until the caller's call has ended.
    feed_until(
        &mut state,
        &mut stream,
        Duration::from_secs(50),
        "the queue call to end",
        |s| {
            s.calls()
                .ordered()
                .iter()
                .any(|c| !c.is_live() && c.channels().iter().any(|ch| ch.caller.num == "7007"))
        },
    )
    .await;
    let calls = state.calls().ordered();
    let call = calls
        .iter()
        .find(|c| !c.is_live() && c.channels().iter().any(|ch| ch.caller.num == "7007"))
        .unwrap();
    let cause = call.cause().expect("a cause");
    // Both members rang: the one that lost was hung up with 26 (when Asterisk reports
    // it so), and that is not how the call ended.
    let losing_leg = call
        .channels()
        .iter()
        .any(|c| c.hangup.as_ref().is_some_and(|h| h.code == Some(26)));
    eprintln!("queue call: losing leg with 26 seen: {losing_leg}; cause {cause:?}");
    assert_ne!(
        cause.code,
        Some(26),
        "the losing member's leg is not the cause: {call:#?}"
    );
    assert_eq!(cause.channel, call.channels()[0].name);
    handle.logoff().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: run tests/harness (see README)"]
async fn a_login_without_write_system_is_told_what_the_endpoint_list_needs() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut config = admin_config();
    config.username = env("AMI_TEST_RO_USER");
    config.secret = Secret::new(env("AMI_TEST_RO_SECRET"));
    config.seed_state = true;
    let (handle, mut stream, seen) = login(config).await;
    let mut state = State::default();
    for s in &seen {
        state.apply(s);
    }
    feed_until(
        &mut state,
        &mut stream,
        Duration::from_secs(15),
        "the seed lists",
        |s| {
            ListKind::ALL.iter().all(|k| {
                s.list_status(*k)
                    .is_some_and(|st| !matches!(st, ListStatus::Collecting { .. }))
            })
        },
    )
    .await;
    assert!(
        matches!(
            state.list_status(ListKind::Endpoints),
            Some(ListStatus::Denied { .. }) | Some(ListStatus::Unsupported { .. })
        ),
        "{:?}",
        state.list_status(ListKind::Endpoints)
    );
    assert_eq!(ListKind::Endpoints.needs_label(), "needs write=system");
    handle.logoff().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: run tests/harness (see README)"]
async fn after_an_asterisk_restart_calls_from_before_end_as_gone_during_the_gap() {
    let _one = ONE_AT_A_TIME.lock().await;
    if std::env::var("AMI_TEST_ALLOW_RESTART").as_deref() != Ok("1") {
        eprintln!(
            "SKIPPED: this test stops and starts the Asterisk; set AMI_TEST_ALLOW_RESTART=1 to run it"
        );
        return;
    }
    let mut config = admin_config();
    config.seed_state = true;
    config.reconnect = true;
    config.max_reconnect_delay = Duration::from_secs(2);
    let (handle, mut stream, seen) = login(config).await;
    let mut state = State::default();
    for s in &seen {
        state.apply(s);
    }
    let _ = originate_long(&handle).await;
    feed_until(
        &mut state,
        &mut stream,
        Duration::from_secs(10),
        "our call up",
        |s| {
            s.channels()
                .iter()
                .any(|c| c.name.starts_with("Local/long@test-"))
        },
    )
    .await;
    let ours: Vec<String> = state
        .channels()
        .iter()
        .filter(|c| c.name.starts_with("Local/long@test-"))
        .map(|c| c.uniqueid.clone())
        .collect();
    // A crash, not a clean stop: a clean `core stop` hangs the channels up and the
    // session reads their Hangups before the connection closes, so nothing would be
    // left for the snapshot to reconcile. SIGKILL leaves the channels unended until the
    // new snapshot after the reconnect says they are gone.
    let script = env("AMI_TEST_ASTERISK_SCRIPT");
    let pidfile = format!("{}/.ami-test.pid", env("AMI_ASTERISK_ROOT"));
    let restart = tokio::task::spawn_blocking(move || {
        let pid = std::fs::read_to_string(&pidfile).expect("the harness's pid file");
        let status = Command::new("kill")
            .args(["-KILL", pid.trim()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -KILL {pid}");
        let alive = || {
            Command::new("kill")
                .args(["-0", pid.trim()])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        for action in ["stop", "start"] {
            let status = Command::new("bash")
                .arg(&script)
                .arg(action)
                .status()
                .unwrap();
            assert!(status.success(), "{script} {action}");
        }
    });
    let gaps = state.gaps();
    // The channel list of the login before the crash stays `Complete` until the new
    // one is asked: wait for a list completed after it, not for any completed list.
    let before = match state.list_status(ListKind::Channels) {
        Some(ListStatus::Complete { at, .. }) => *at,
        other => panic!("the first snapshot did not complete: {other:?}"),
    };
    feed_until(
        &mut state,
        &mut stream,
        Duration::from_secs(90),
        "the reconnect and its snapshot",
        |s| {
            s.gaps() > gaps
                && matches!(
                    s.list_status(ListKind::Channels),
                    Some(ListStatus::Complete { at, .. }) if *at > before
                )
        },
    )
    .await;
    restart.await.unwrap();
    for u in &ours {
        let c = state.channel(u).expect("kept as ended");
        assert_eq!(
            c.ended.as_ref().map(|e| &e.reason),
            Some(&ChannelEndReason::Gone { during_gap: true })
        );
        assert!(!state.calls().call_of_uniqueid(u).unwrap().is_live());
    }
    // The script's `start` waits for Asterisk to be fully booted, and a session that
    // got in before that may be dropped once more (seen on 16): wait for it to be back
    // before asking Asterisk's own list.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while handle.request(Action::new("Ping")).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "no session after the restart"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let asterisk = asterisk_channels(&handle).await;
    assert!(state.channel_count() <= asterisk.len() + 2);
    handle.logoff().await;
}
