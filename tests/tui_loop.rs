//! The real event loop (`amicon::tui::run_app`) on a `TestBackend`: keys in, actions out,
//! answers drawn, and a flood drawn at a bounded frame rate rather than once per event.

use amicon::ami::{Action, Message};
use amicon::app::{App, AppOptions};
use amicon::session::queue::{self, Publisher};
use amicon::session::{ActionError, Link, SessionEvent, SessionState};
use amicon::tui::{run_app, SessionPort};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::stream::{self, Stream, StreamExt};
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::Terminal;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A `TestBackend` that counts frames.
struct Counting {
    inner: TestBackend,
    frames: u64,
}

impl Backend for Counting {
    type Error = <TestBackend as Backend>::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.frames += 1;
        self.inner.flush()
    }
}

/// Answers every action at once with `Response: Success`, as a session would publish it.
struct Answering {
    out: Publisher,
    next: AtomicU64,
    sent: Mutex<Vec<String>>,
}

impl SessionPort for Answering {
    fn submit(&self, mut action: Action) -> Result<String, ActionError> {
        let id = format!("t-{}", self.next.fetch_add(1, Ordering::Relaxed));
        action.ensure_action_id(|| id.clone());
        let name = action.name().unwrap_or_default();
        self.sent.lock().unwrap().push(name.clone());
        self.out.publish(SessionEvent::Sent {
            action_id: id.clone(),
            name,
            message: action.to_masked_message(),
            internal: false,
        });
        self.out.publish(SessionEvent::Received {
            message: Message::from_headers(&[("Response", "Success"), ("ActionID", id.as_str())]),
            link: Link::Response {
                action_id: id.clone(),
            },
            internal: false,
        });
        Ok(id)
    }

    fn logoff(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.out.publish(SessionEvent::State(SessionState::Ended(
            amicon::session::EndReason::LoggedOff,
        )));
        Box::pin(async {})
    }
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> std::io::Result<Event> {
    Ok(Event::Key(KeyEvent::new(code, modifiers)))
}

/// Types `text` at once, then waits `pause`, then presses Ctrl-Q.
fn typing(text: &str, pause: Duration) -> Pin<Box<dyn Stream<Item = std::io::Result<Event>>>> {
    let keys: Vec<_> = text
        .chars()
        .map(|c| match c {
            '\n' => key(KeyCode::Enter, KeyModifiers::NONE),
            c => key(KeyCode::Char(c), KeyModifiers::NONE),
        })
        .collect();
    let quit = stream::once(async move {
        tokio::time::sleep(pause).await;
        key(KeyCode::Char('q'), KeyModifiers::CONTROL)
    });
    Box::pin(stream::iter(keys).chain(quit).chain(stream::pending()))
}

fn app() -> App {
    App::new(
        AppOptions {
            target: "admin@test:5038".into(),
            ..AppOptions::default()
        },
        SystemTime::now(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_blocks_reach_the_session_and_the_answer_is_drawn() {
    let (out, stream) = queue::channel(1 << 20);
    let session = Answering {
        out,
        next: AtomicU64::new(1),
        sent: Mutex::new(Vec::new()),
    };
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let input = typing("Action: Ping\n\n", Duration::from_millis(300));
    let code = run_app(
        &mut terminal,
        app(),
        &session,
        stream,
        input,
        std::future::pending(),
        |_| Ok(()),
    )
    .await
    .unwrap();
    assert_eq!(code, 0);
    assert_eq!(*session.sent.lock().unwrap(), ["Ping"]);
    let screen = terminal.backend().to_string();
    assert!(screen.contains("Ping Success"), "{screen}");
    assert!(screen.contains("Ping → Success"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_drawn_at_a_bounded_frame_rate_not_once_per_event() {
    let (out, stream) = queue::channel(64 << 20);
    let stop = Arc::new(AtomicBool::new(false));
    let published = Arc::new(AtomicU64::new(0));
    let flood = {
        let (out, stop, published) = (out.clone(), stop.clone(), published.clone());
        std::thread::spawn(move || {
            let message = Message::from_headers(&[("Event", "Newstate"), ("Channel", "PJSIP/1-1")]);
            while !stop.load(Ordering::Relaxed) {
                let batch = (0..200).map(|_| SessionEvent::Received {
                    message: message.clone(),
                    link: Link::Unsolicited,
                    internal: false,
                });
                out.publish_batch(batch, SystemTime::now());
                published.fetch_add(200, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(500));
            }
        })
    };
    let session = Answering {
        out,
        next: AtomicU64::new(1),
        sent: Mutex::new(Vec::new()),
    };
    let mut terminal = Terminal::new(Counting {
        inner: TestBackend::new(80, 24),
        frames: 0,
    })
    .unwrap();
    let run_for = Duration::from_millis(1000);
    let input = typing("", run_for);
    run_app(
        &mut terminal,
        app(),
        &session,
        stream,
        input,
        std::future::pending(),
        |_| Ok(()),
    )
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    flood.join().unwrap();
    let frames = terminal.backend().frames;
    let events = published.load(Ordering::Relaxed);
    // At most one frame per 16 ms (plus the first): far fewer frames than events.
    assert!(events > 10 * frames, "{events} events, {frames} frames");
    assert!(
        frames <= 1 + run_for.as_millis() as u64 / 16 + 2,
        "{frames} frames in {run_for:?}"
    );
    assert!(frames >= 2, "the screen was not redrawn during the flood");
}
