//! The TUI's log ring under a million buffered events: re-applying a filter (issue 6
//! target: under 200 ms) and pushing a flood into a full ring.
//!
//! `cargo bench --bench tui_log`; `cargo bench --bench tui_log -- --test` is the smoke mode.

use amicon::ami::Message;
use amicon::app::log::{Entry, Item, Log, ViewOptions};
use amicon::app::query::Filter;
use amicon::session::Link;
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::SystemTime;

const BUFFERED: usize = 1_000_000;

fn call_event(n: usize) -> Message {
    let name = [
        "Newchannel",
        "VarSet",
        "Newexten",
        "Newstate",
        "Hangup",
        "DialBegin",
    ][n % 6];
    Message::from_headers(&[
        ("Event", name),
        ("Privilege", "call,all"),
        ("Channel", &format!("PJSIP/trunk-{n:08x}")),
        ("ChannelState", "6"),
        ("ChannelStateDesc", "Up"),
        ("CallerIDNum", "+15551234567"),
        ("CallerIDName", "Flood Caller"),
        ("ConnectedLineNum", "100"),
        ("ConnectedLineName", "Desk"),
        ("Language", "en"),
        ("AccountCode", ""),
        ("Context", "from-trunk"),
        ("Exten", "s"),
        ("Priority", "3"),
        ("Uniqueid", &format!("1764356400.{n}")),
        ("Linkedid", &format!("1764356400.{n}")),
    ])
}

fn entry(message: Message) -> Entry {
    Entry {
        at: SystemTime::UNIX_EPOCH,
        item: Item::Received {
            message,
            link: Link::Unsolicited,
            internal: false,
            action: None,
        },
    }
}

fn full_log() -> Log {
    let mut log = Log::new(BUFFERED);
    for n in 0..BUFFERED {
        log.push(entry(call_event(n)));
    }
    log
}

fn refilter(c: &mut Criterion) {
    let mut log = full_log();
    let wire: usize = log
        .entries()
        .filter_map(|e| e.message())
        .map(|m| m.wire().len())
        .sum();
    eprintln!(
        "{BUFFERED} events buffered, {} MB of wire bytes",
        wire / 1_000_000
    );
    let mut group = c.benchmark_group("refilter_1m");
    group.sample_size(10);
    let hangup = Filter::parse("Hangup").unwrap();
    // The floor: one sequential pass reading each message's name, as any filter must.
    group.bench_function("baseline_read_every_name", |b| {
        b.iter(|| {
            log.entries()
                .filter_map(|e| e.message())
                .filter(|m| m.event_name().is_some_and(|n| n.len() == 6))
                .count()
        })
    });
    let mut refilter_to = |name: &str, options: ViewOptions| {
        group.bench_function(name, |b| {
            b.iter(|| {
                log.set_options(options.clone());
                log.shown()
            })
        });
    };
    refilter_to(
        "filter_hangup",
        ViewOptions {
            filter: Some(hangup),
            ..Default::default()
        },
    );
    // A glob on every key: the costliest kind, as every header line of a message is
    // split and tried unless the literal part (`;2`) shows it cannot match.
    refilter_to(
        "filter_glob_on_every_key",
        ViewOptions {
            filter: Some(Filter::parse("*Channel=*;2").unwrap()),
            ..Default::default()
        },
    );
    refilter_to(
        "hide_noise",
        ViewOptions {
            hide_noise: true,
            ..Default::default()
        },
    );
    group.finish();
}

fn push_into_full_ring(c: &mut Criterion) {
    let mut log = Log::new(100_000);
    let events: Vec<Message> = (0..1000).map(call_event).collect();
    log.set_options(ViewOptions {
        hide_noise: true,
        ..Default::default()
    });
    c.bench_function("push_1000_into_full_ring", |b| {
        b.iter(|| {
            for m in &events {
                log.push(entry(m.clone()));
            }
        })
    });
}

criterion_group!(benches, refilter, push_into_full_ring);
criterion_main!(benches);
