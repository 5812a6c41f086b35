//! `amicon open`: a recording or a plain AMI transcript replayed into the real event loop
//! on a `TestBackend`, with no connection: the log, the calls view and the status bar
//! work on it, sending is refused, and a `watch --record` file opens with its events.

use amicon::app::log::Item;
use amicon::app::{update, App, Msg};
use amicon::record;
use amicon::session::{EventStream, SessionEvent};
use amicon::tui::{replay, replay_app, run_app, Pace, SessionPort, REPLAY_REFUSAL};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::stream::{self, Stream, StreamExt};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture present")
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> std::io::Result<Event> {
    Ok(Event::Key(KeyEvent::new(code, modifiers)))
}

/// Waits for the replay to be drawn, presses the keys, waits, then Ctrl-Q.
fn keys_then_quit(codes: Vec<KeyCode>) -> Pin<Box<dyn Stream<Item = std::io::Result<Event>>>> {
    let settle = stream::once(async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        Ok(Event::Resize(100, 30))
    });
    let pressed = stream::iter(codes.into_iter().map(|c| key(c, KeyModifiers::NONE)));
    let quit = stream::once(async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        key(KeyCode::Char('q'), KeyModifiers::CONTROL)
    });
    Box::pin(settle.chain(pressed).chain(quit).chain(stream::pending()))
}

async fn screen_after(file: &str, bytes: &[u8], codes: Vec<KeyCode>) -> String {
    let (port, stream) = replay(record::read(bytes), Pace::AllAtOnce);
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

/// Everything a replay publishes, applied to a fresh app.
fn drain_into(app: &mut App, stream: &mut EventStream) {
    let mut batch = Vec::new();
    while stream.try_recv_batch(&mut batch) == Some(true) {
        update(app, Msg::Session(std::mem::take(&mut batch)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_opens_and_shows_its_call_in_the_calls_view() {
    let screen = screen_after(
        "dial-call.txt",
        &fixture("calls/dial-call.txt"),
        vec![KeyCode::F(5)],
    )
    .await;
    assert!(screen.contains("Calls (1) 0 live · 1 ended"), "{screen}");
    assert!(screen.contains("Alice Caller"), "{screen}");
    assert!(
        screen.contains("dial@test-10;1"),
        "the first channel: {screen}"
    );
    assert!(screen.contains("recording dial-call.txt"), "{screen}");
    assert!(!screen.contains("logged"), "no login state: {screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_transcript_opens_and_its_call_has_a_detail() {
    let bytes = fixture("vectors/originate-local-call-events.txt");
    assert!(!record::read(&bytes).timed);
    let screen = screen_after(
        "originate-local-call-events.txt",
        &bytes,
        vec![KeyCode::F(5), KeyCode::Enter],
    )
    .await;
    assert!(screen.contains("Ladder"), "{screen}");
    assert!(screen.contains("Local/"), "{screen}");
    assert!(
        screen.contains("recording originate-local-call-events.txt"),
        "{screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_filters_work_on_a_recording() {
    let bytes = fixture("calls/dial-call.txt");
    let (_port, mut stream) = replay(record::read(&bytes), Pace::AllAtOnce);
    let mut app = replay_app("dial-call.txt", true, SystemTime::now());
    drain_into(&mut app, &mut stream);
    let total = app.log.shown();
    app.apply_filter("Hangup").unwrap();
    let received: Vec<String> = app
        .log
        .shown_entries()
        .filter_map(|entry| match &entry.item {
            Item::Received { message, .. } => {
                Some(message.get_str("Event").unwrap_or_default().into_owned())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        received, ["Hangup"; 4],
        "four channels hung up (notes stay shown)"
    );
    assert!(total > 4);
    app.apply_filter("").unwrap();
    assert_eq!(app.log.shown(), total);
}

#[test]
fn sending_from_an_open_file_is_refused_with_a_clear_message() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let (port, _stream) = replay(record::read(&fixture("calls/dial-call.txt")), Pace::Step);
    let action = amicon::ami::Action::parse_block("Action: Ping\n").unwrap();
    let error = port.submit(action).unwrap_err();
    assert_eq!(error.to_string(), REPLAY_REFUSAL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_mode_passes_one_entry_per_step_then_ends() {
    let recording = record::read(&fixture("calls/dial-call.txt"));
    let count = recording.entries.len();
    let (port, mut stream) = replay(recording, Pace::Step);
    let mut batch = Vec::new();
    assert_eq!(
        stream.try_recv_batch(&mut batch),
        None,
        "nothing before a step"
    );
    assert!(port.step());
    assert!(port.step());
    assert_eq!(stream.try_recv_batch(&mut batch), Some(true));
    assert_eq!(batch.len(), 2);
    for _ in 2..count {
        assert!(port.step());
    }
    assert!(!port.step(), "the end of the file");
    batch.clear();
    assert_eq!(stream.try_recv_batch(&mut batch), Some(true));
    assert_eq!(batch.len(), count - 2);
    assert_eq!(stream.try_recv_batch(&mut batch), Some(false), "closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speed_replays_at_the_recorded_pace_scaled() {
    let recording = record::read(&fixture("calls/dial-call.txt"));
    let first = recording.entries.first().unwrap().at;
    let last = recording.entries.last().unwrap().at;
    let span = last.duration_since(first).unwrap();
    assert!(span >= Duration::from_secs(1), "the fixture spans {span:?}");
    let (_port, mut stream) = replay(recording, Pace::Speed(20.0));
    let start = tokio::time::Instant::now();
    let mut batch = Vec::new();
    while stream.recv_batch(&mut batch).await {}
    let took = start.elapsed();
    // Scaled down 20 times: well under the recorded span, but not all at once.
    assert!(took < span, "{took:?} for a {span:?} recording at 20x");
    assert!(took >= span.div_f64(20.0).mul_f64(0.5), "{took:?}");
    assert_eq!(batch.first().map(|e| e.at), Some(first), "times are kept");
}

#[test]
fn open_refuses_speed_on_a_plain_transcript() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_amicon"))
        .args(["open", "--speed", "2"])
        .arg(format!(
            "{}/tests/fixtures/vectors/originate-local-call-events.txt",
            env!("CARGO_MANIFEST_DIR")
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plain AMI transcript"), "{err}");
}

#[test]
fn open_says_why_a_missing_file_cannot_be_read() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_amicon"))
        .args(["open", "/nonexistent/x.ami"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read /nonexistent/x.ami"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_recording_opens_with_the_same_events() {
    use amicon::demo::{self, DemoOptions, Users};
    use amicon::secret::Secret;
    let mut users = Users::default();
    users.add("recorder", Secret::new("rec-open-1".into()));
    let server = demo::start(DemoOptions {
        calls_per_second: 20.0,
        users,
        ..DemoOptions::default()
    })
    .await
    .expect("demo server");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("watch.ami");
    let addr = server.local_addr();
    let path_arg = path.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_amicon"))
            .args([
                "watch",
                &format!("recorder@{addr}"),
                "--count",
                "30",
                "--record",
            ])
            .arg(&path_arg)
            .env("AMI_SECRET", "rec-open-1")
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
    server.shutdown().await;

    let recording = record::read(&std::fs::read(&path).unwrap());
    let recorded_events = recording
        .entries
        .iter()
        .filter(|e| {
            matches!(&e.event, SessionEvent::Received { message, .. }
                if message.kind() == amicon::ami::Kind::Event)
        })
        .count() as u64;
    assert!(recorded_events >= 30, "{recorded_events}");
    let (_port, mut stream) = replay(recording, Pace::AllAtOnce);
    let mut app = replay_app("watch.ami", true, SystemTime::now());
    drain_into(&mut app, &mut stream);
    assert_eq!(app.status.events_total, recorded_events);
    assert!(
        !app.state.calls().is_empty(),
        "the demo's calls are in the calls view"
    );
}

#[test]
fn dot_steps_only_when_a_file_is_open() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let dot = || Msg::Input(key(KeyCode::Char('.'), KeyModifiers::NONE).unwrap());
    let mut app = replay_app("f.ami", true, SystemTime::now());
    assert_eq!(update(&mut app, dot()), [amicon::app::Cmd::Step]);
    let mut live = App::new(amicon::app::AppOptions::default(), SystemTime::now());
    update(
        &mut live,
        Msg::Input(key(KeyCode::Tab, KeyModifiers::NONE).unwrap()),
    );
    assert!(update(&mut live, dot()).is_empty());
    update(&mut app, Msg::StepEnd);
    let mut terminal = Terminal::new(TestBackend::new(100, 24)).unwrap();
    terminal.draw(|f| amicon::ui::draw(f, &app)).unwrap();
    assert!(terminal
        .backend()
        .to_string()
        .contains("end of the file: nothing more to step"));
}
