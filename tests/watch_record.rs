//! `amicon watch --record FILE` against the demo PBX: the recording holds what the
//! session saw, reads back with timestamps, and never holds the secret.

use amicon::demo::{self, DemoOptions, Users};
use amicon::record;
use amicon::secret::Secret;
use amicon::session::SessionEvent;
use std::process::Command;

const SECRET: &str = "rec-s3cret-9f2a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_records_what_it_sees_without_the_secret() {
    let mut users = Users::default();
    users.add("recorder", Secret::new(SECRET.into()));
    let server = demo::start(DemoOptions {
        calls_per_second: 20.0,
        users,
        ..DemoOptions::default()
    })
    .await
    .expect("demo server");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.ami");
    let addr = server.local_addr();
    let path_arg = path.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_amicon"))
            .args([
                "watch",
                &format!("recorder@{addr}"),
                "--count",
                "20",
                "--record",
            ])
            .arg(&path_arg)
            .env("AMI_SECRET", SECRET)
            .output()
            .expect("run amicon watch")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains(SECRET),
        "the secret leaked into the recording"
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(!printed.contains(SECRET));

    let recording = record::read(&bytes);
    assert!(recording.timed);
    let events: Vec<_> = recording
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            SessionEvent::Received { message, .. } if message.event_name().is_some() => {
                Some(message.clone())
            }
            _ => None,
        })
        .collect();
    assert!(events.len() >= 20, "{} events recorded", events.len());
    // The events watch printed are exactly the recorded ones, byte for byte and in order.
    let recorded_wire: Vec<u8> = events.iter().flat_map(|m| m.wire().to_vec()).collect();
    let printed_bytes = &out.stdout;
    assert!(
        recorded_wire.starts_with(printed_bytes) || printed_bytes.len() <= recorded_wire.len(),
        "printed output is not a prefix of the recording"
    );
    assert!(recorded_wire
        .windows(printed_bytes.len().min(200))
        .any(|w| w == &printed_bytes[..printed_bytes.len().min(200)]));
    let sent_login = recording
        .entries
        .iter()
        .any(|e| matches!(&e.event, SessionEvent::Sent { name, .. } if name == "Login"));
    assert!(sent_login, "the (masked) login is part of the recording");
    server.shutdown().await;
}
