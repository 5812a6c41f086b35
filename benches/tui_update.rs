//! What feeding the calls model costs the TUI: one `update` of a 1000-event batch (log,
//! counters, completion catalog and calls) against pushing the same events into the log
//! alone. The calls view is fed from every stream entry, so this is its price in floods.
//!
//! Also: with a million events buffered (100,000 in smoke mode), one page of scrolling
//! and the frame drawn after it (issue 6: scrolling stays instant).
//!
//! `cargo bench --bench tui_update`; `cargo bench --bench tui_update -- --test` is the
//! smoke mode.

use amicon::ami::Message;
use amicon::app::log::{Entry, Item, Log};
use amicon::app::{update, App, AppOptions, Msg};
use amicon::session::{Link, SessionEvent, Stamped};
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, SystemTime};

/// Events of 100 calls, 10 each: a new channel, its dialplan and state, its hangup.
fn flood(batch: usize, round: usize) -> Vec<Message> {
    (0..batch)
        .map(|n| {
            let call = round * batch / 10 + n / 10;
            let name = match n % 10 {
                0 => "Newchannel",
                9 => "Hangup",
                1 | 4 | 7 => "Newstate",
                _ => "VarSet",
            };
            Message::from_headers(&[
                ("Event", name),
                ("Privilege", "call,all"),
                ("Channel", &format!("PJSIP/trunk-{call:08x}")),
                ("ChannelState", "6"),
                ("ChannelStateDesc", "Up"),
                ("CallerIDNum", "+15551234567"),
                ("CallerIDName", "Flood Caller"),
                ("Context", "from-trunk"),
                ("Exten", "s"),
                ("Priority", "3"),
                ("Uniqueid", &format!("1764356400.{call}")),
                ("Linkedid", &format!("1764356400.{call}")),
                ("Cause", "16"),
            ])
        })
        .collect()
}

fn stamped(messages: &[Message], at: SystemTime) -> Vec<Stamped> {
    messages
        .iter()
        .map(|m| Stamped {
            at,
            event: SessionEvent::Received {
                message: m.clone(),
                link: Link::Unsolicited,
                internal: false,
            },
        })
        .collect()
}

fn feed(c: &mut Criterion) {
    const BATCH: usize = 1000;
    let rounds: Vec<Vec<Message>> = (0..50).map(|r| flood(BATCH, r)).collect();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_356_400);
    let mut group = c.benchmark_group("tui_update_1000_events");
    group.bench_function("log_push_only", |b| {
        let mut log = Log::new(100_000);
        let mut round = 0;
        b.iter(|| {
            for m in &rounds[round % rounds.len()] {
                log.push(Entry {
                    at: t0,
                    item: Item::Received {
                        message: m.clone(),
                        link: Link::Unsolicited,
                        internal: false,
                        action: None,
                    },
                });
            }
            round += 1;
        })
    });
    group.bench_function("app_update_with_calls", |b| {
        let mut app = App::new(
            AppOptions {
                ring_size: 100_000,
                ..AppOptions::default()
            },
            t0,
        );
        let mut round = 0;
        b.iter_batched(
            || {
                round += 1;
                stamped(&rounds[round % rounds.len()], t0)
            },
            |batch| update(&mut app, Msg::Session(batch)),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("calls_apply_only", |b| {
        let mut calls = amicon::calls::Calls::default();
        let mut round = 0;
        b.iter_batched(
            || {
                round += 1;
                stamped(&rounds[round % rounds.len()], t0)
            },
            |batch| {
                for entry in &batch {
                    calls.apply_stamped(entry);
                }
                batch
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn scroll(c: &mut Criterion) {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use ratatui::{backend::TestBackend, Terminal};
    let buffered = if std::env::var_os("AMICON_BENCH_SMOKE").is_some() {
        100_000
    } else {
        1_000_000
    };
    const BATCH: usize = 1000;
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_356_400);
    let mut app = App::new(
        AppOptions {
            ring_size: buffered,
            ..AppOptions::default()
        },
        t0,
    );
    for round in 0..buffered / BATCH {
        update(&mut app, Msg::Session(stamped(&flood(BATCH, round), t0)));
    }
    let (width, height) = (160, 50);
    update(&mut app, Msg::Input(Event::Resize(width, height)));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| amicon::ui::draw(f, &app)).unwrap();
    let key = |code| Msg::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    let mut up = true;
    c.bench_function(&format!("page_scroll_and_draw_{buffered}_buffered"), |b| {
        b.iter(|| {
            // Up and down in turn, so every step moves the view.
            update(
                &mut app,
                key(if up {
                    KeyCode::PageUp
                } else {
                    KeyCode::PageDown
                }),
            );
            up = !up;
            terminal.draw(|f| amicon::ui::draw(f, &app)).unwrap();
        })
    });
}

criterion_group!(benches, feed, scroll);
criterion_main!(benches);
