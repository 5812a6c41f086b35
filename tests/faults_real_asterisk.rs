//! Faults and load against the real Asterisk (`tests/harness/asterisk.sh`):
//! nothing lost under a burst of 200 calls (compared with a raw socket reader), and the
//! server restarting under a live session. Run by `.ci/run` with the `AMI_TEST_*`
//! variables exported; the restart test also needs `AMI_TEST_ALLOW_RESTART=1`, because
//! it stops the Asterisk other tests may be using.

mod support;

use amicon::ami::{Action, AuthMethod};
use amicon::secret::Secret;
use amicon::session::{self, Endpoint, SessionConfig, SessionEvent, SessionState, Stamped};
use std::time::Duration;
use support::{collect_until, logged_in};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The tests of this file run one at a time: the restart must not cut a burst short.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run tests/harness/run-all, or start tests/harness/asterisk.sh and export its env")
    })
}

fn admin_config() -> SessionConfig {
    let addr = env("AMI_TEST_ADDR");
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let mut c = SessionConfig::new(
        Endpoint {
            host: host.into(),
            port: port.parse().expect("port"),
            tls: false,
        },
        env("AMI_TEST_USER"),
        Secret::new(env("AMI_TEST_SECRET")),
    );
    c.auth = AuthMethod::Md5;
    c.reconnect = false;
    c
}

/// A reader that logs in with plain bytes and keeps every byte it receives.
struct RawReader {
    bytes: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RawReader {
    async fn start() -> RawReader {
        let mut socket = tokio::net::TcpStream::connect(env("AMI_TEST_ADDR"))
            .await
            .expect("raw connect");
        let login = format!(
            "Action: Login\r\nActionID: raw-login\r\nUsername: {}\r\nSecret: {}\r\nEvents: on\r\n\r\n",
            env("AMI_TEST_USER"),
            env("AMI_TEST_SECRET")
        );
        socket.write_all(login.as_bytes()).await.expect("raw login");
        let bytes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = bytes.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => sink.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
        });
        RawReader { bytes, task }
    }

    /// The events received so far, each as its exact bytes (blank line included).
    fn events(&self) -> Vec<Vec<u8>> {
        let bytes = self.bytes.lock().unwrap().clone();
        let after_banner = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(&bytes[..], |i| &bytes[i + 1..]);
        let mut out = Vec::new();
        let mut rest = after_banner;
        while let Some(i) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
            let message = &rest[..i + 4];
            if message.starts_with(b"Event:") {
                out.push(message.to_vec());
            }
            rest = &rest[i + 4..];
        }
        out
    }
}

impl Drop for RawReader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The events between the `UserEvent` markers `start` and `end` (exclusive).
fn between(events: &[Vec<u8>], start: &str, end: &str) -> Vec<Vec<u8>> {
    let is = |e: &Vec<u8>, name: &str| {
        let needle = format!("UserEvent: {name}\r\n");
        e.windows(needle.len()).any(|w| w == needle.as_bytes())
    };
    let from = events
        .iter()
        .position(|e| is(e, start))
        .expect("start marker");
    let to = events.iter().position(|e| is(e, end)).expect("end marker");
    events[from + 1..to].to_vec()
}

fn headline(event: &[u8]) -> String {
    let text = String::from_utf8_lossy(event);
    let name = text.lines().next().unwrap_or_default().to_string();
    let uniqueid = text
        .lines()
        .find(|l| l.starts_with("Uniqueid:"))
        .unwrap_or_default()
        .to_string();
    format!("{name} {uniqueid}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn a_burst_of_200_calls_reaches_the_session_exactly_as_a_raw_reader_sees_it() {
    const CALLS: usize = 200;
    let _alone = ONE_AT_A_TIME.lock().await;
    let raw = RawReader::start().await;
    let (handle, mut stream) = session::spawn(admin_config());
    let mut seen = collect_until(&mut stream, Duration::from_secs(20), logged_in).await;
    assert!(seen.iter().any(logged_in), "{seen:#?}");
    let tag = handle.tag().to_string();
    let start = format!("{tag}-burst-start");
    let end = format!("{tag}-burst-end");
    handle
        .request(Action::new("UserEvent").with("UserEvent", &start))
        .await
        .expect("start marker");
    for _ in 0..CALLS {
        handle
            .submit(
                Action::new("Originate")
                    .with("Channel", "Local/short@test")
                    .with("Context", "test")
                    .with("Exten", "short")
                    .with("Priority", "1")
                    .with("Async", "true"),
            )
            .expect("originate sent");
    }
    // Every call answers its OriginateResponse and hangs up both halves of its Local
    // channel on each side: wait for all of it, then for the stragglers to settle.
    let originated = std::sync::atomic::AtomicUsize::new(0);
    let more = collect_until(&mut stream, Duration::from_secs(60), |s| {
        if matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Event", "OriginateResponse"))
        {
            originated.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        originated.load(std::sync::atomic::Ordering::Relaxed) == CALLS
    })
    .await;
    seen.extend(more);
    tokio::time::sleep(Duration::from_secs(2)).await;
    handle
        .request(Action::new("UserEvent").with("UserEvent", &end))
        .await
        .expect("end marker");
    let end_marker = end.clone();
    seen.extend(
        collect_until(&mut stream, Duration::from_secs(20), move |s| {
            matches!(&s.event, SessionEvent::Received { message, .. } if message.is("UserEvent", &end_marker))
        })
        .await,
    );
    // The raw reader gets the marker at the same time; give it a moment to read it.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let ours: Vec<Vec<u8>> = seen
        .iter()
        .filter_map(|s: &Stamped| match &s.event {
            SessionEvent::Received { message, .. } if message.event_name().is_some() => {
                Some(message.wire().to_vec())
            }
            _ => None,
        })
        .collect();
    let theirs = raw.events();
    let ours = between(&ours, &start, &end);
    let theirs = between(&theirs, &start, &end);
    let lost: Vec<_> = seen
        .iter()
        .filter(|s| {
            matches!(
                s.event,
                SessionEvent::Dropped { .. } | SessionEvent::ProtocolError { .. }
            )
        })
        .collect();
    assert!(lost.is_empty(), "{lost:#?}");
    assert!(
        ours.len() >= CALLS * 4,
        "only {} events for {CALLS} calls",
        ours.len()
    );
    println!(
        "{} events in the burst, identical on both connections",
        ours.len()
    );
    if ours != theirs {
        let first = ours
            .iter()
            .zip(&theirs)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(theirs.len()));
        panic!(
            "amicon saw {} events, the raw reader {}; first difference at {first}: {:?} vs {:?}",
            ours.len(),
            theirs.len(),
            ours.get(first).map(|e| headline(e)),
            theirs.get(first).map(|e| headline(e)),
        );
    }
    handle.logoff().await;
}

fn asterisk_script(action: &str) {
    let script = std::env::var("AMI_TEST_ASTERISK_SCRIPT")
        .unwrap_or_else(|_| format!("{}/tests/harness/asterisk.sh", env!("CARGO_MANIFEST_DIR")));
    let status = std::process::Command::new("bash")
        .arg(&script)
        .arg(action)
        .status()
        .unwrap_or_else(|e| panic!("running {script} {action}: {e}"));
    assert!(status.success(), "{script} {action} failed: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn a_restarted_asterisk_gets_a_reconnect_a_new_login_a_gap_marker_and_later_events() {
    if std::env::var("AMI_TEST_ALLOW_RESTART").as_deref() != Ok("1") {
        eprintln!(
            "SKIPPED: this test stops and starts the shared Asterisk; set AMI_TEST_ALLOW_RESTART=1 to run it"
        );
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut config = admin_config();
    config.reconnect = true;
    config.max_reconnect_delay = Duration::from_secs(2);
    let (handle, mut stream) = session::spawn(config);
    let mut seen = collect_until(&mut stream, Duration::from_secs(20), logged_in).await;
    assert!(seen.iter().any(logged_in));
    handle
        .request(Action::new("UserEvent").with("UserEvent", "before-restart"))
        .await
        .expect("marker before");

    tokio::task::spawn_blocking(|| asterisk_script("stop"))
        .await
        .unwrap();
    seen.extend(
        collect_until(&mut stream, Duration::from_secs(10), |s| {
            matches!(
                &s.event,
                SessionEvent::State(SessionState::Reconnecting { .. })
            )
        })
        .await,
    );
    tokio::task::spawn_blocking(|| asterisk_script("start"))
        .await
        .unwrap();
    seen.extend(collect_until(&mut stream, Duration::from_secs(60), logged_in).await);
    let reply = handle
        .request(Action::new("UserEvent").with("UserEvent", "after-restart"))
        .await
        .expect("the session works after the restart");
    assert!(reply.is_success());
    seen.extend(
        collect_until(&mut stream, Duration::from_secs(10), |s| {
            matches!(&s.event, SessionEvent::Received { message, .. } if message.is("UserEvent", "after-restart"))
        })
        .await,
    );
    handle.logoff().await;

    let story: Vec<String> = seen
        .iter()
        .filter_map(|s| match &s.event {
            SessionEvent::State(SessionState::LoggedIn { .. }) => Some("logged in".into()),
            SessionEvent::State(SessionState::Reconnecting { .. }) => Some("reconnecting".into()),
            SessionEvent::Gap { .. } => Some("gap".into()),
            SessionEvent::Received { message, .. } if message.is("Event", "UserEvent") => {
                Some(message.get_str("UserEvent").unwrap().into_owned())
            }
            _ => None,
        })
        .collect();
    let position = |what: &str| {
        story
            .iter()
            .position(|s| s == what)
            .unwrap_or_else(|| panic!("no {what:?} in {story:?}"))
    };
    assert!(
        position("before-restart") < position("reconnecting"),
        "{story:?}"
    );
    assert!(position("reconnecting") < position("gap"), "{story:?}");
    assert!(position("gap") < position("after-restart"), "{story:?}");
    assert_eq!(
        story.iter().filter(|s| *s == "logged in").count(),
        2,
        "{story:?}"
    );
    let shutdown_named = seen.iter().any(|s| matches!(&s.event, SessionEvent::Gap { reason, .. } if reason.contains("shutting down") || reason.contains("closed")));
    assert!(shutdown_named, "the gap says why: {seen:#?}");
}

/// Splits `amicon watch` raw output into events (each with its blank line).
fn split_events(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(i) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
        out.push(rest[..i + 4].to_vec());
        rest = &rest[i + 4..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn a_burst_of_200_calls_reaches_watch_output_exactly_as_a_raw_reader_sees_it() {
    use std::io::Read;
    const CALLS: usize = 200;
    let _alone = ONE_AT_A_TIME.lock().await;
    let target = format!("{}@{}", env("AMI_TEST_USER"), env("AMI_TEST_ADDR"));
    let mut watch = std::process::Command::new(env!("CARGO_BIN_EXE_amicon"))
        .args(["watch", &target, "--no-reconnect", "--for", "120s"])
        .env("AMI_SECRET", env("AMI_TEST_SECRET"))
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("amicon-burst-test"),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("amicon watch starts");
    let printed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let sink = printed.clone();
    let mut stdout = watch.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let raw = RawReader::start().await;
    let (handle, mut stream) = session::spawn(admin_config());
    collect_until(&mut stream, Duration::from_secs(20), logged_in).await;
    // watch logs in on its own; a marker it prints proves it is listening.
    let tag = handle.tag().to_string();
    let (start, end) = (format!("{tag}-watch-start"), format!("{tag}-watch-end"));
    let printed_has = |name: &str| {
        let needle = format!("UserEvent: {name}\r\n");
        let bytes = printed.lock().unwrap();
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    };
    let mut listening = false;
    for attempt in 0..40 {
        let ready = format!("{tag}-ready-{attempt}");
        handle
            .request(Action::new("UserEvent").with("UserEvent", &ready))
            .await
            .expect("ready marker");
        tokio::time::sleep(Duration::from_millis(250)).await;
        if printed_has(&ready) {
            listening = true;
            break;
        }
    }
    assert!(listening, "amicon watch never printed a marker");
    handle
        .request(Action::new("UserEvent").with("UserEvent", &start))
        .await
        .expect("start marker");
    for _ in 0..CALLS {
        handle
            .submit(
                Action::new("Originate")
                    .with("Channel", "Local/short@test")
                    .with("Context", "test")
                    .with("Exten", "short")
                    .with("Priority", "1")
                    .with("Async", "true"),
            )
            .expect("originate sent");
    }
    let originated = std::sync::atomic::AtomicUsize::new(0);
    collect_until(&mut stream, Duration::from_secs(60), |s| {
        if matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Event", "OriginateResponse"))
        {
            originated.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        originated.load(std::sync::atomic::Ordering::Relaxed) == CALLS
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    handle
        .request(Action::new("UserEvent").with("UserEvent", &end))
        .await
        .expect("end marker");
    for _ in 0..40 {
        if printed_has(&end) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = watch.kill();
    let _ = watch.wait();
    let _ = reader.join();
    handle.logoff().await;

    let ours = between(&split_events(&printed.lock().unwrap()), &start, &end);
    let theirs = between(&raw.events(), &start, &end);
    assert!(ours.len() >= CALLS * 4, "only {} events", ours.len());
    println!(
        "{} events printed by watch, identical to the raw reader's",
        ours.len()
    );
    if ours != theirs {
        let first = ours
            .iter()
            .zip(&theirs)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(theirs.len()));
        panic!(
            "watch printed {} events, the raw reader got {}; first difference at {first}: {:?} vs {:?}",
            ours.len(),
            theirs.len(),
            ours.get(first).map(|e| headline(e)),
            theirs.get(first).map(|e| headline(e)),
        );
    }
}
