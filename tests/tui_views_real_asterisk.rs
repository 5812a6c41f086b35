//! The live tables of the real `amicon` binary, in a pseudo-terminal, against the real
//! Asterisk (ignored unless AMI_TEST_ADDR is set; `.ci/run` starts Asterisk and exports
//! the `AMI_TEST_*` variables). A call is up *before* amicon starts, so what the tables
//! show comes from the snapshot taken at login; each table is compared with what
//! Asterisk itself answers (`CoreShowChannels`, `QueueStatus`, `PJSIPShowEndpoints`).
//! Other sessions may use the same server: only channels Asterisk lists both before
//! and after the screen is read are required on it.

use amicon::ami::{Action, Message};
use amicon::secret::Secret;
use amicon::session::{self, Endpoint, SessionConfig, SessionEvent, SessionHandle, SessionState};
use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set (see README: real tier)"))
}

fn config() -> SessionConfig {
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
    c.events = "off".into();
    c
}

async fn login() -> SessionHandle {
    let (handle, mut stream) = session::spawn(config());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let entry = tokio::time::timeout_at(deadline, stream.recv())
            .await
            .expect("logged in within 10 s")
            .expect("the session ended before login");
        if matches!(
            entry.event,
            SessionEvent::State(SessionState::LoggedIn { .. })
        ) {
            break;
        }
    }
    // Keep the stream drained so the session never waits for us.
    tokio::spawn(async move { while stream.recv().await.is_some() {} });
    handle
}

async fn items(handle: &SessionHandle, action: &str) -> Vec<Message> {
    let reply = handle
        .request(Action::new(action))
        .await
        .unwrap_or_else(|e| panic!("{action}: {e}"));
    assert!(reply.is_success(), "{action}: {:?}", reply.response);
    reply.items
}

fn values(items: &[Message], event: &str, field: &str) -> BTreeSet<String> {
    items
        .iter()
        .filter(|m| m.is("Event", event))
        .filter_map(|m| m.get_str(field).map(|v| v.into_owned()))
        .collect()
}

/// The real binary in a PTY, its screen parsed as it draws.
struct Pty {
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Pty {
    fn amicon(cols: u16, rows: u16) -> Pty {
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_amicon"));
        command.arg(format!("{}@{}", env("AMI_TEST_USER"), env("AMI_TEST_ADDR")));
        command.env("AMI_SECRET", env("AMI_TEST_SECRET"));
        command.env("TERM", "xterm-256color");
        command.env("NO_COLOR", "1");
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let child = pty.slave.spawn_command(command).expect("spawn amicon");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let parser = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                parser.lock().unwrap().process(&buf[..n]);
            }
        });
        // The master must outlive the child's use of the terminal.
        std::mem::forget(pty.master);
        Pty {
            screen,
            writer,
            child,
        }
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    fn wait_for(&self, what: impl Fn(&str) -> bool) -> Result<String, String> {
        let start = Instant::now();
        loop {
            let text = self.contents();
            if what(&text) {
                return Ok(text);
            }
            if start.elapsed() > Duration::from_secs(15) {
                return Err(text);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn expect(&self, needle: &str) -> String {
        self.wait_for(|s| s.contains(needle))
            .unwrap_or_else(|screen| panic!("`{needle}` never appeared; the screen:\n{screen}"))
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    fn quit(&mut self) {
        self.send(b"\x11");
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "amicon did not exit"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: run tests/harness (see README)"]
async fn the_tables_show_what_asterisk_reports_including_calls_up_before_connecting() {
    let admin = login().await;
    // A call up before amicon connects: Local/long@test answers and waits 30 s.
    let originate = Action::new("Originate")
        .with("Channel", "Local/long@test")
        .with("Application", "Wait")
        .with("Data", "25")
        .with("CallerID", "Views Test <7001>")
        .with("Async", "false");
    let reply = admin.request(originate).await.expect("originate answered");
    assert!(reply.is_success(), "{:?}", reply.response);
    let before = values(
        &items(&admin, "CoreShowChannels").await,
        "CoreShowChannel",
        "Channel",
    );
    assert!(
        before.iter().any(|c| c.starts_with("Local/long@test-")),
        "our call is up: {before:?}"
    );

    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut pty = Pty::amicon(220, 50);
    pty.expect("F1 help");
    pty.send(b"\x1b[17~"); // F6: the channels table
    pty.expect("Channels (");
    let screen = pty
        .wait_for(|s| s.contains("Local/long@test-") && s.contains("live"))
        .unwrap_or_else(|s| panic!("no Local/long channel on the channels table:\n{s}"));
    let after = values(
        &items(&admin, "CoreShowChannels").await,
        "CoreShowChannel",
        "Channel",
    );
    let stable: Vec<&String> = before.intersection(&after).collect();
    assert!(!stable.is_empty(), "our call ended too early: {after:?}");
    // Read the screen again now that both answers are in.
    let screen = if stable.iter().all(|c| screen.contains(c.as_str())) {
        screen
    } else {
        pty.wait_for(|s| stable.iter().all(|c| s.contains(c.as_str())))
            .unwrap_or_else(|s| {
                panic!("channels {stable:?} Asterisk lists are not all shown:\n{s}")
            })
    };
    if std::env::var_os("AMICON_PRINT_SCREEN").is_some() {
        eprintln!("{screen}");
    }
    for line in screen.lines().filter(|l| l.contains("Local/long@test-")) {
        // Up 4 s before amicon connected (Asterisk's `Duration` counts whole seconds):
        // its age comes from the snapshot, not from when amicon first saw it.
        assert!(line.contains("Up"), "{line}");
        for young in [" 0:00 ", " 0:01 "] {
            assert!(!line.contains(young), "age from the snapshot: {line}");
        }
    }

    // The queue `support`: every member Asterisk reports, by name.
    pty.send(b"\t:queues\r");
    pty.expect("Queues (");
    let queue_items = items(&admin, "QueueStatus").await;
    let members: BTreeSet<String> = queue_items
        .iter()
        .filter(|m| m.is("Event", "QueueMember") && m.is("Queue", "support"))
        .filter_map(|m| m.get_str("Name").map(|v| v.into_owned()))
        .collect();
    assert!(!members.is_empty(), "support has members: {queue_items:?}");
    let screen = pty
        .wait_for(|s| members.iter().all(|m| s.contains(m.as_str())))
        .unwrap_or_else(|s| panic!("members {members:?} are not all shown:\n{s}"));
    assert!(screen.contains("support"), "{screen}");

    // The endpoints: every PJSIP endpoint Asterisk lists.
    pty.send(b":endpoints\r");
    pty.expect("Endpoints (");
    let endpoints = values(
        &items(&admin, "PJSIPShowEndpoints").await,
        "EndpointList",
        "ObjectName",
    );
    assert!(!endpoints.is_empty(), "the test server has PJSIP endpoints");
    pty.wait_for(|s| endpoints.iter().all(|e| s.contains(&format!("PJSIP/{e} "))))
        .unwrap_or_else(|s| panic!("endpoints {endpoints:?} are not all shown:\n{s}"));
    // Where chan_sip is loaded (Asterisk 16 here) its peers share the table.
    let peers = match admin.request(Action::new("SIPpeers")).await {
        Ok(reply) if reply.is_success() => values(&reply.items, "PeerEntry", "ObjectName"),
        _ => BTreeSet::new(),
    };
    for peer in &peers {
        pty.expect(&format!("SIP/{peer} "));
    }
    pty.expect(&format!("Endpoints ({})", endpoints.len() + peers.len()));

    pty.quit();
    admin.logoff().await;
}
