//! What a live table costs the TUI with 10,000 live channels (1,000 in smoke mode): one
//! key in the channels table (a selection move, which builds the rows to find the next
//! one) and the frame drawn after it, against the 50 ms key-to-screen budget.
//! Also the same for the calls table, whose rows come from the calls model.
//!
//! `cargo bench --bench tui_tables`; `cargo bench --bench tui_tables -- --test` is the
//! smoke mode.

use amicon::ami::Message;
use amicon::app::{update, App, AppOptions, Msg};
use amicon::session::{Link, SessionEvent, Stamped};
use criterion::{criterion_group, criterion_main, Criterion};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, SystemTime};

fn smoke() -> bool {
    std::env::args().any(|a| a == "--test") || std::env::var_os("AMICON_BENCH_SMOKE").is_some()
}

/// An app whose state holds `channels` live channels, each up since its Newchannel.
fn app_with_channels(channels: usize) -> App {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut app = App::new(AppOptions::default(), at);
    let batch: Vec<Stamped> = (0..channels)
        .map(|n| Stamped {
            at,
            event: SessionEvent::Received {
                message: Message::from_headers(&[
                    ("Event", "Newchannel"),
                    ("Privilege", "call,all"),
                    ("Channel", &format!("PJSIP/trunk-{n:08x}")),
                    ("ChannelState", "6"),
                    ("ChannelStateDesc", "Up"),
                    ("CallerIDNum", &format!("+1555{n:07}")),
                    ("CallerIDName", "Flood Caller"),
                    ("Context", "from-trunk"),
                    ("Exten", "s"),
                    ("Priority", "3"),
                    ("Uniqueid", &format!("1764356400.{n}")),
                    ("Linkedid", &format!("1764356400.{n}")),
                ]),
                link: Link::Unsolicited,
                internal: false,
            },
        })
        .collect();
    update(&mut app, Msg::Session(batch));
    update(&mut app, Msg::Input(Event::Resize(200, 50)));
    app
}

fn key_and_frame(app: &mut App, terminal: &mut Terminal<TestBackend>, code: KeyCode) {
    update(
        app,
        Msg::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE))),
    );
    terminal.draw(|f| amicon::ui::draw(f, app)).unwrap();
}

fn tables(c: &mut Criterion) {
    let channels = if smoke() { 1_000 } else { 10_000 };
    let mut app = app_with_channels(channels);
    assert_eq!(app.state.channel_count(), channels);
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let mut group = c.benchmark_group("tui_tables");
    for (name, open) in [("channels", KeyCode::F(6)), ("calls", KeyCode::F(5))] {
        key_and_frame(&mut app, &mut terminal, open);
        let shown = terminal.backend().to_string();
        assert!(shown.contains(&format!("({channels})")), "{shown}");
        let mut down = true;
        group.bench_function(format!("{name}: key and frame, {channels} live"), |b| {
            b.iter(|| {
                down = !down;
                let code = if down { KeyCode::Down } else { KeyCode::Up };
                key_and_frame(&mut app, &mut terminal, code)
            })
        });
        key_and_frame(&mut app, &mut terminal, KeyCode::Esc);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = if smoke() {
        Criterion::default().sample_size(10).warm_up_time(Duration::from_millis(100)).measurement_time(Duration::from_millis(300))
    } else {
        Criterion::default().sample_size(30)
    };
    targets = tables
}
criterion_main!(benches);
