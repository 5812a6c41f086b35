//! The project's own session driver against the in-process demo, as `amicon demo` uses
//! it: MD5 login with the demo's user, versions, lists, an originated call's events.

use amicon::ami::Action;
use amicon::demo::{self, DemoOptions};
use amicon::session::{self, SessionEvent, SessionState};
use std::time::Duration;

async fn until<F: FnMut(&SessionEvent) -> bool>(
    stream: &mut session::EventStream,
    mut done: F,
) -> Vec<SessionEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let next = tokio::time::timeout_at(deadline, stream.recv())
            .await
            .expect("in time")
            .expect("stream open");
        let stop = done(&next.event);
        seen.push(next.event);
        if stop {
            return seen;
        }
    }
}

#[tokio::test]
async fn the_session_driver_logs_in_to_the_demo_and_follows_a_call() {
    let server = demo::start(DemoOptions {
        calls_per_second: 0.0,
        seed: 9,
        ..Default::default()
    })
    .await
    .unwrap();
    let (handle, mut stream) = session::spawn(server.session_config());
    let seen = until(&mut stream, |e| {
        matches!(e, SessionEvent::State(SessionState::LoggedIn { .. }))
    })
    .await;
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, SessionEvent::ProtocolError { .. })),
        "{seen:?}"
    );

    let channels = handle
        .request(Action::new("CoreShowChannels"))
        .await
        .expect("a list");
    assert!(channels.complete.is_some());
    assert!(channels.items.is_empty());

    let originate = Action::new("Originate")
        .with("Channel", "Local/long@test")
        .with("Context", "test")
        .with("Exten", "long")
        .with("Priority", "1")
        .with("CallerID", "\"山田 太郎\" <2006>")
        .with("Async", "true");
    assert!(handle
        .request(originate)
        .await
        .expect("queued")
        .is_success());
    until(&mut stream, |e| matches!(e, SessionEvent::Received { message, .. } if message.is("Event", "OriginateResponse")))
        .await;
    let channels = handle
        .request(Action::new("CoreShowChannels"))
        .await
        .expect("a list");
    assert_eq!(channels.items.len(), 2);

    let hangup = Action::new("Hangup").with("Channel", "/^Local\\/long@test-/");
    let reply = handle.request(hangup).await.expect("a list");
    assert_eq!(reply.items.len(), 2);
    let mut hung = 0;
    until(&mut stream, |e| {
        hung += usize::from(
            matches!(e, SessionEvent::Received { message, .. } if message.is("Event", "Hangup")),
        );
        hung == 2
    })
    .await;
    handle.logoff().await;
}
