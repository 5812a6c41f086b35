//! Calls from older Asterisks (11 and 1.4), from the synthetic transcripts in
//! `tests/fixtures/vectors/legacy/` (see its README): their legacy events (`Dial` with
//! `SubEvent`, `Bridge` with `Bridgestate`, `Link`/`Unlink`, queue `Join`/`Leave`,
//! `Newchannel` without `Linkedid`) make the same calls as a modern server's, in the
//! calls model and in `amicon open`.

use amicon::ami::codec::{AmiCodec, Frame};
use amicon::ami::Message;
use amicon::calls::{CallState, Calls, LadderKind};
use amicon::record;
use amicon::tui::{replay, replay_app, run_app, Pace};
use bytes::BytesMut;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::stream::{self, Stream, StreamExt};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::codec::Decoder;

fn legacy(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/vectors/legacy/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("legacy vector present")
}

fn messages(bytes: &[u8]) -> Vec<Message> {
    let mut codec = AmiCodec::default();
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Ok(Some(frame)) = codec.decode(&mut buf) {
        if let Frame::Message(m) = frame {
            out.push(m);
        }
    }
    out
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_733_300_000 + secs)
}

/// A transcript applied with one second between messages.
fn calls_of(bytes: &[u8]) -> Calls {
    let mut calls = Calls::default();
    for (i, m) in messages(bytes).iter().enumerate() {
        calls.apply(at(i as u64), m);
    }
    calls
}

/// The checks every legacy two-party call passes: one ended call, both channels in it,
/// caller and callee named, dialed, bridged and hung up in the ladder.
fn assert_two_party_call(
    calls: &Calls,
    (caller, callee): ((&str, &str), (&str, &str)),
    channels: [&str; 2],
) {
    assert_eq!(calls.len(), 1, "{:#?}", calls.ordered());
    let call = calls.ordered()[0];
    assert_eq!(call.state(), CallState::Ended);
    let names: Vec<&str> = call.channels().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, channels);
    assert_eq!(
        (call.caller().num.as_str(), call.caller().name.as_str()),
        caller
    );
    assert_eq!(
        (call.callee().num.as_str(), call.callee().name.as_str()),
        callee
    );
    let cause = call.cause().expect("a hangup cause");
    assert_eq!(
        (cause.code, cause.text.as_str()),
        (Some(16), "Normal Clearing")
    );
    assert_eq!(call.bridges().len(), 1, "one (synthetic) bridge");
    assert!(call.bridges()[0].starts_with("legacy-bridge-"));
    let ladder = call.ladder();
    let kinds: Vec<LadderKind> = ladder.rows.iter().map(|r| r.kind).collect();
    let dial = ladder.rows.iter().find(|r| r.kind == LadderKind::Dial);
    assert_eq!(
        dial.map(|r| (r.from_col, r.to_col)),
        Some((0, Some(1))),
        "the dial goes from the caller to the callee: {kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == LadderKind::Bridge).count(),
        4,
        "both channels enter and leave the bridge: {kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == LadderKind::Hangup).count(),
        2,
        "{kinds:?}"
    );
}

#[test]
fn an_asterisk_11_call_is_one_call_dialed_bridged_and_hung_up() {
    let calls = calls_of(&legacy("asterisk11-sip-call.txt"));
    assert_two_party_call(
        &calls,
        (("1001", "Alice"), ("1002", "Bob")),
        ["SIP/alice-00000000", "SIP/bob-00000001"],
    );
    let call = calls.ordered()[0];
    // Asterisk 11 has no Linkedid: the call is keyed by its first channel's Uniqueid.
    assert_eq!(call.linkedid(), "1733300000.0");
    assert!(calls.call_of_uniqueid("1733300000.1").is_some());
}

#[test]
fn an_asterisk_11_queue_call_joins_the_agent_through_the_dial() {
    let calls = calls_of(&legacy("asterisk11-queue-call.txt"));
    assert_two_party_call(
        &calls,
        (("2001", "Carol"), ("2002", "Dave")),
        ["SIP/carol-00000002", "SIP/dave-00000003"],
    );
    let events: Vec<String> = calls.ordered()[0]
        .events()
        .iter()
        .filter_map(|e| e.message.get_str("Event").map(|n| n.into_owned()))
        .collect();
    assert!(
        events.contains(&"QueueCallerJoin".to_string()),
        "{events:?}"
    );
    assert!(
        events.contains(&"QueueCallerLeave".to_string()),
        "{events:?}"
    );
}

#[test]
fn an_asterisk_1_4_call_with_link_and_unlink_is_one_call() {
    let calls = calls_of(&legacy("asterisk14-sip-call.txt"));
    // 1.4's Newchannel has no Exten and the callee's caller ID is the caller's: the
    // callee is the dial's destination.
    assert_two_party_call(
        &calls,
        (("1001", "Alice"), ("SIP/bob-08d4e5f6", "")),
        ["SIP/alice-09a1b2c3", "SIP/bob-08d4e5f6"],
    );
    let call = calls.ordered()[0];
    // Bob hung up first (message 10 of the transcript), then Alice.
    let hung_up = |i: usize| call.channels()[i].hangup.as_ref().map(|h| h.at);
    assert_eq!((hung_up(1), hung_up(0)), (Some(at(10)), Some(at(11))));
}

#[test]
fn legacy_and_modern_calls_side_by_side_stay_apart() {
    let mut calls = Calls::default();
    let eleven = messages(&legacy("asterisk11-sip-call.txt"));
    let queue = messages(&legacy("asterisk11-queue-call.txt"));
    // Interleaved: two calls at once on one server.
    for (i, m) in eleven
        .iter()
        .zip(queue.iter())
        .flat_map(|(a, b)| [a, b])
        .enumerate()
    {
        calls.apply(at(i as u64), m);
    }
    assert_eq!(calls.len(), 2);
    assert!(calls.ordered().iter().all(|c| c.channels().len() == 2));
}

fn key(code: KeyCode) -> std::io::Result<Event> {
    Ok(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn keys_then_quit(codes: Vec<KeyCode>) -> Pin<Box<dyn Stream<Item = std::io::Result<Event>>>> {
    let settle = stream::once(async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        Ok(Event::Resize(100, 30))
    });
    let pressed = stream::iter(codes.into_iter().map(key));
    let quit = stream::once(async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(Event::Key(KeyEvent::new(
            KeyCode::Char('q'),
            KeyModifiers::CONTROL,
        )))
    });
    Box::pin(settle.chain(pressed).chain(quit).chain(stream::pending()))
}

/// `amicon open FILE` (the real event loop on a test terminal), then the keys.
async fn open_and_press(file: &str, codes: Vec<KeyCode>) -> String {
    let bytes = legacy(file);
    let (port, stream) = replay(record::read(&bytes), Pace::AllAtOnce);
    let app = replay_app(file, true, SystemTime::now());
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let code = run_app(
        &mut terminal,
        app,
        &port,
        stream,
        keys_then_quit(codes),
        std::future::pending(),
        |_| Ok(()),
    )
    .await
    .unwrap();
    assert_eq!(code, 0);
    terminal.backend().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amicon_open_shows_an_asterisk_11_transcript_as_one_ended_call() {
    let screen = open_and_press("asterisk11-sip-call.txt", vec![KeyCode::F(5)]).await;
    assert!(screen.contains("Calls (1) 0 live · 1 ended"), "{screen}");
    // Caller and callee have their own columns in the calls table.
    assert!(screen.contains("Alice <1001>     Bob <1002>"), "{screen}");
    assert!(screen.contains("16 Normal"), "{screen}");
    // No CoreSettings in the transcript: the status bar says what AMI 1.3 implies.
    assert!(screen.contains("AMI 1.3 Asterisk ~11"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amicon_open_shows_the_ladder_of_an_asterisk_11_call() {
    let screen = open_and_press(
        "asterisk11-sip-call.txt",
        vec![KeyCode::F(5), KeyCode::Enter],
    )
    .await;
    assert!(screen.contains("Ladder"), "{screen}");
    assert!(screen.contains("SIP/alice-00000000"), "{screen}");
    assert!(screen.contains("SIP/bob-00000001"), "{screen}");
}
