//! Recording from the console: Ctrl-O asks for a file (a dated default) and starts, the
//! status bar says REC, Ctrl-O again stops; the event loop writes every stream entry;
//! `--record` works in line mode and `amicon demo`, and never writes the secret.

use amicon::app::{default_recording_name, update, App, AppOptions, BarKind, Cmd, Msg};
use amicon::record;
use amicon::session::{queue, SessionEvent};
use amicon::tui::{run_app_recording, ActiveRecording, SessionPort};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::stream::{self, StreamExt};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn press(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Cmd> {
    update(app, Msg::Input(Event::Key(KeyEvent::new(code, modifiers))))
}

fn screen(app: &mut App) -> String {
    update(app, Msg::Input(Event::Resize(100, 24)));
    let mut terminal = Terminal::new(TestBackend::new(100, 24)).unwrap();
    terminal.draw(|f| amicon::ui::draw(f, app)).unwrap();
    terminal.backend().to_string()
}

#[test]
fn the_default_recording_name_is_the_utc_time() {
    let at = UNIX_EPOCH + Duration::from_secs(1_764_356_400 + 3723); // 2025-11-28 20:02:03
    assert_eq!(default_recording_name(at), "amicon-20251128-200203.ami");
}

#[test]
fn ctrl_o_asks_for_a_file_starts_and_stops_recording() {
    let now = UNIX_EPOCH + Duration::from_secs(1_764_356_400);
    let mut app = App::new(AppOptions::default(), now);
    assert!(press(&mut app, KeyCode::Char('o'), KeyModifiers::CONTROL).is_empty());
    let bar = app.bar.as_ref().expect("a prompt");
    assert_eq!(bar.kind, BarKind::Record);
    assert_eq!(bar.text, "amicon-20251128-190000.ami");
    let cmds = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(
        cmds,
        [Cmd::StartRecording("amicon-20251128-190000.ami".into())]
    );
    update(
        &mut app,
        Msg::Recording(Ok(Some("amicon-20251128-190000.ami".into()))),
    );
    assert!(screen(&mut app).contains("REC amicon-20251128-190000.ami"));
    let cmds = press(&mut app, KeyCode::Char('o'), KeyModifiers::CONTROL);
    assert_eq!(cmds, [Cmd::StopRecording]);
    update(&mut app, Msg::Recording(Ok(None)));
    assert!(app.recording.is_none());
    assert!(!screen(&mut app).contains("REC "));
}

#[test]
fn a_failed_recording_says_why_and_stops() {
    let mut app = App::new(AppOptions::default(), SystemTime::now());
    update(&mut app, Msg::Recording(Ok(Some("x.ami".into()))));
    update(
        &mut app,
        Msg::Recording(Err("writing x.ami failed: disk full".into())),
    );
    assert!(app.recording.is_none());
    assert!(screen(&mut app).contains("not recording: writing x.ami failed: disk full"));
}

struct Silent;

impl SessionPort for Silent {
    fn submit(&self, _action: amicon::ami::Action) -> Result<String, amicon::session::ActionError> {
        Err(amicon::session::ActionError::NotConnected)
    }
    fn logoff(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_loop_records_every_stream_entry() {
    let fixture = std::fs::read(format!(
        "{}/tests/fixtures/calls/dial-call.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let original = record::read(&fixture).entries;
    let (out, stream) = queue::channel(1 << 24);
    for entry in original.clone() {
        out.publish_batch(std::iter::once(entry.event), entry.at);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tui.ami");
    let active = ActiveRecording::create(path.clone()).unwrap();
    let quit = stream::once(async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(Event::Key(KeyEvent::new(
            KeyCode::Char('q'),
            KeyModifiers::CONTROL,
        )))
    })
    .chain(stream::pending());
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let app = App::new(AppOptions::default(), SystemTime::now());
    run_app_recording(
        &mut terminal,
        app,
        &Silent,
        stream,
        Box::pin(quit),
        std::future::pending(),
        |_| Ok(()),
        Some(active),
    )
    .await
    .unwrap();
    assert!(terminal.backend().to_string().contains("REC "));
    let again = record::read(&std::fs::read(&path).unwrap());
    assert!(again.timed);
    assert_eq!(again.entries.len(), original.len());
    for (a, b) in again.entries.iter().zip(&original) {
        assert_eq!(a.at, b.at);
        if let SessionEvent::State(_) = b.event {
            // A read-back `ConnectionLost` gains a prefix on each round trip (record.rs);
            // states are compared by kind only.
            assert!(matches!(a.event, SessionEvent::State(_)));
        } else {
            assert_eq!(format!("{:?}", a.event), format!("{:?}", b.event));
        }
    }
}

#[test]
fn an_unwritable_recording_is_refused_before_the_screen_is_taken() {
    let error = ActiveRecording::create("/nonexistent/dir/x.ami".into())
        .err()
        .expect("refused");
    assert!(error.contains("cannot create the recording /nonexistent/dir/x.ami"));
}

#[test]
fn demo_line_mode_records_without_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.ami");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_amicon"))
        .args(["demo", "--line", "--rate", "0", "--record"])
        .arg(&path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"Action: Ping\n\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&path).expect("the recording exists");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("#amicon-recording 1"));
    assert!(text.contains("Action: Ping"), "{text}");
    assert!(text.contains("Response: Success"), "{text}");
    let credentials: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Secret:") || l.starts_with("Key:"))
        .collect();
    assert!(!credentials.is_empty(), "the login is recorded: {text}");
    for line in credentials {
        assert!(line.trim_end().ends_with(": ***"), "unmasked: {line}");
    }
    let recording = record::read(&bytes);
    assert!(recording.timed && recording.entries.len() > 3);
}
