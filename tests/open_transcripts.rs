//! `amicon open` of what users really have (issue 16): a saved telnet session carries the
//! password in clear, and none of it may reach the screen, the clipboard, a saved file or
//! a JSON export; what Ctrl-S saves opens back exactly as it was shown (save → open →
//! save gives the same bytes); a plain transcript takes its times from the server's own
//! clock; a file that is not AMI is refused with a message saying so.

use amicon::app::{update, App, Cmd, Msg};
use amicon::record;
use amicon::session::{EventStream, SessionEvent};
use amicon::tui::{replay, replay_app, run_app, Pace};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::stream::{self, Stream, StreamExt};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TELNET: &str = "transcripts/telnet-login.txt";
/// The clear password and the MD5 key of the transcript's two logins.
const SECRETS: [&str; 2] = ["amp111", "5f4dcc3b5aa765d61d8327deb882cf99"];

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture present")
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows `{secret}`:\n{text}");
    }
}

fn press(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Cmd> {
    update(app, Msg::Input(Event::Key(KeyEvent::new(code, modifiers))))
}

/// Everything a replay publishes, applied to a fresh app.
fn drain_into(app: &mut App, stream: &mut EventStream) {
    let mut batch = Vec::new();
    while stream.try_recv_batch(&mut batch) == Some(true) {
        update(app, Msg::Session(std::mem::take(&mut batch)));
    }
}

/// The app `amicon open` shows for these bytes, everything passed on.
fn opened(name: &str, bytes: &[u8]) -> App {
    let (_port, mut stream) = replay(record::read(bytes), Pace::AllAtOnce);
    let mut app = replay_app(name, true, SystemTime::now());
    update(&mut app, Msg::Input(Event::Resize(120, 40)));
    drain_into(&mut app, &mut stream);
    app
}

/// What Ctrl-S writes to `name` from this app.
fn saved(app: &mut App, name: &str) -> Vec<u8> {
    press(app, KeyCode::Char('s'), KeyModifiers::CONTROL);
    press(app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    for c in name.chars() {
        press(app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    let cmds = press(app, KeyCode::Enter, KeyModifiers::NONE);
    match cmds.as_slice() {
        [Cmd::Save { contents, .. }] => contents.clone(),
        other => panic!("Ctrl-S gave {other:?}"),
    }
}

fn keys_then_quit(codes: Vec<KeyCode>) -> Pin<Box<dyn Stream<Item = std::io::Result<Event>>>> {
    let settle = stream::once(async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        Ok(Event::Resize(120, 40))
    });
    let pressed = stream::iter(
        codes
            .into_iter()
            .map(|c| Ok(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)))),
    );
    let quit = stream::once(async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(Event::Key(KeyEvent::new(
            KeyCode::Char('q'),
            KeyModifiers::CONTROL,
        )))
    });
    Box::pin(settle.chain(pressed).chain(quit).chain(stream::pending()))
}

async fn screen_after(bytes: &[u8], codes: Vec<KeyCode>) -> String {
    let (port, stream) = replay(record::read(bytes), Pace::AllAtOnce);
    let app = replay_app("telnet-login.txt", true, SystemTime::now());
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
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
async fn an_opened_telnet_session_never_shows_its_secrets() {
    let bytes = fixture(TELNET);
    let log = screen_after(&bytes, vec![]).await;
    assert_no_secret("the log", &log);
    assert!(log.contains("Secret=***"), "{log}");
    assert!(log.contains("Key=***"), "the MD5 login's key: {log}");
    assert!(
        log.contains("Key=plainkey"),
        "DBGet's Key is no secret: {log}"
    );
    // The detail of the first login (the oldest line) and of the MD5 login.
    let detail = screen_after(&bytes, vec![KeyCode::Home, KeyCode::Enter]).await;
    assert!(detail.contains("Secret: ***"), "{detail}");
    assert_no_secret("the detail", &detail);
    let md5 = screen_after(
        &bytes,
        vec![
            KeyCode::Home,
            KeyCode::Down,
            KeyCode::Down,
            KeyCode::Down,
            KeyCode::Down,
            KeyCode::Enter,
        ],
    )
    .await;
    assert!(md5.contains("Key: ***"), "{md5}");
    assert_no_secret("the MD5 login's detail", &md5);
}

#[tokio::test]
async fn nothing_copied_saved_or_exported_from_a_transcript_holds_a_secret() {
    let mut app = opened("telnet-login.txt", &fixture(TELNET));
    let lines = app.log.shown();
    assert!(lines >= 12, "every block is a line: {lines}");
    press(&mut app, KeyCode::Home, KeyModifiers::NONE);
    let mut copied = String::new();
    for _ in 0..lines {
        for cmd in press(&mut app, KeyCode::Char('y'), KeyModifiers::NONE) {
            if let Cmd::Copy(text) = cmd {
                copied.push_str(&text);
            }
        }
        press(&mut app, KeyCode::Down, KeyModifiers::NONE);
    }
    assert!(copied.contains("Secret: ***\r\n"), "{copied}");
    assert!(copied.contains("Key: ***\r\n"), "{copied}");
    assert_no_secret("the copies", &copied);

    let raw = String::from_utf8(saved(&mut app, "out.ami")).unwrap();
    assert!(raw.contains("Secret: ***\r\n") && raw.contains("Key: ***\r\n"));
    assert_no_secret("the saved file", &raw);

    let json = String::from_utf8(saved(&mut app, "out.jsonl")).unwrap();
    assert!(json.contains(r#"["Secret","***"]"#), "{json}");
    assert_no_secret("the JSON export", &json);
}

#[tokio::test]
async fn save_then_open_then_save_gives_the_same_bytes() {
    for (name, bytes) in [
        ("telnet-login.txt", fixture(TELNET)),
        ("dial-call.txt", fixture("calls/dial-call.txt")),
        (
            "originate-local-call-events.txt",
            fixture("vectors/originate-local-call-events.txt"),
        ),
    ] {
        let first = saved(&mut opened(name, &bytes), "first.ami");
        let mut reopened = opened("first.ami", &first);
        let second = saved(&mut reopened, "second.ami");
        assert_eq!(
            String::from_utf8_lossy(&first),
            String::from_utf8_lossy(&second),
            "{name}: save → open → save"
        );
        // What was shown is shown again: the same lines, notes included, at the same times.
        let original = opened(name, &bytes);
        let a: Vec<_> = original.log.shown_entries().map(|e| e.at).collect();
        let b: Vec<_> = reopened.log.shown_entries().map(|e| e.at).collect();
        assert_eq!(a, b, "{name}: the same entries at the same times");
    }
}

#[tokio::test]
async fn saved_notes_and_answers_keep_their_meaning() {
    let bytes = fixture("calls/dial-call.txt");
    let saved_bytes = saved(&mut opened("dial-call.txt", &bytes), "notes.ami");
    let text = String::from_utf8_lossy(&saved_bytes);
    assert!(text.starts_with("#amicon-recording 1\n"), "{text}");
    // No bare console line that `open` would read as a header.
    for line in text.lines() {
        assert!(
            line.is_empty()
                || line.starts_with("#@ ")
                || line.contains(':')
                || line == "#amicon-recording 1",
            "a bare line: {line:?}"
        );
    }
}

#[test]
fn a_plain_transcript_takes_the_servers_clock_and_names_the_answers() {
    let rec = record::read(&fixture(TELNET));
    assert!(!rec.timed);
    // EventTV: 2026-11-28T19:12:01.767+0000 is the only clock in the file.
    let tv = UNIX_EPOCH + Duration::from_millis(1_795_893_121_767);
    assert!(
        rec.entries.iter().all(|e| e.at == tv),
        "{:?}",
        rec.entries[0].at
    );
    let links: Vec<_> = rec
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            SessionEvent::Received { message, link, .. } if message.get("ActionID").is_some() => {
                Some(format!("{link:?}"))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        links,
        [
            r#"Response { action_id: "c1" }"#,
            r#"Response { action_id: "l2" }"#,
            r#"Response { action_id: "d3" }"#,
            r#"ListItem { action_id: "d3" }"#,
            r#"ListComplete { action_id: "d3" }"#,
        ]
    );
    let pinged =
        record::read(b"Response: Success\r\nPing: Pong\r\nTimestamp: 1795892903.851205\r\n\r\n");
    assert_eq!(
        pinged.entries[0].at,
        UNIX_EPOCH + Duration::from_micros(1_795_892_903_851_205)
    );
}

#[test]
fn a_file_that_is_not_ami_is_refused_before_the_screen_opens() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "notes.txt",
            &b"just some notes\nabout the pbx\n"[..],
            "is not AMI",
        ),
        ("empty.txt", &b""[..], "is empty"),
    ];
    for (name, bytes, says) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_amicon"))
            .arg("open")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(
            !stderr.contains("connection"),
            "there is no connection: {stderr}"
        );
    }
    let cut = record::read(b"Event: Hangup\r\nChannel: x\r\n\r\nEvent: Newch");
    match &cut.entries.last().unwrap().event {
        SessionEvent::ProtocolError { what, .. } => {
            assert_eq!(what, "the file ends in the middle of a message");
        }
        other => panic!("{other:?}"),
    }
}
