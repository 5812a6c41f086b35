//! How fast the calls model folds events in, over realistic traffic from the demo PBX
//! (Newchannel, Newexten, VarSet, Dial, bridges, queues, hangups), and how long one
//! call's ladder takes to build (it is rebuilt on every draw of the detail view), and
//! what the legacy-dialect translation (Asterisk 11 and older) costs.

use amicon::ami::Message;
use amicon::calls::{Calls, CallsConfig};
use amicon::demo::sim::Pbx;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn demo_traffic(seconds: u64) -> Vec<(SystemTime, Message)> {
    let start = 1_800_000_000_000_000u64;
    let mut pbx = Pbx::new(11, 20.0, start);
    let mut out = Vec::new();
    let mut now = start;
    for _ in 0..seconds * 10 {
        now += 100_000;
        for e in pbx.advance(now) {
            if e.class != 0 && !e.wire.is_empty() {
                out.push((
                    UNIX_EPOCH + Duration::from_micros(now),
                    Message::parse(&e.wire),
                ));
            }
        }
    }
    out
}

/// The synthetic Asterisk 11 call of `tests/fixtures/vectors/legacy/`.
fn legacy_call() -> Vec<Message> {
    let bytes = include_bytes!("../tests/fixtures/vectors/legacy/asterisk11-sip-call.txt");
    let text = &bytes[bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1)..];
    text.split(|&b| b == b'\n')
        .collect::<Vec<_>>()
        .split(|line| line.trim_ascii().is_empty())
        .filter(|block| !block.is_empty())
        .map(|block| Message::parse(&block.join(&b'\n')))
        .collect()
}

fn apply(c: &mut Criterion) {
    let traffic = demo_traffic(60);
    let mut group = c.benchmark_group("calls");
    group.throughput(Throughput::Elements(traffic.len() as u64));
    group.bench_function("apply demo traffic (20 calls/s for 60 s)", |b| {
        b.iter_batched(
            || Calls::new(CallsConfig::default()),
            |mut calls| {
                for (at, m) in &traffic {
                    calls.apply(*at, m);
                }
                calls
            },
            BatchSize::LargeInput,
        )
    });
    // What the legacy-dialect check (src/dialect.rs) costs each event of a modern
    // server, which it passes through untouched: compare with the line above.
    group.bench_function("dialect check of the same traffic", |b| {
        b.iter(|| {
            traffic
                .iter()
                .map(|(_, m)| amicon::dialect::modernize(m).len())
                .sum::<usize>()
        })
    });
    // An Asterisk 11 call, translated: per message of the transcript.
    let legacy = legacy_call();
    let mut once = Calls::new(CallsConfig::default());
    for (i, m) in legacy.iter().enumerate() {
        once.apply(UNIX_EPOCH + Duration::from_secs(i as u64), m);
    }
    assert_eq!(legacy.len(), 14, "the transcript's messages");
    assert_eq!(once.len(), 1, "one call");
    assert_eq!(once.ordered()[0].channels().len(), 2, "both legs");
    group.throughput(Throughput::Elements(legacy.len() as u64));
    group.bench_function("apply an Asterisk 11 call (legacy dialect)", |b| {
        b.iter_batched(
            || Calls::new(CallsConfig::default()),
            |mut calls| {
                for (i, m) in legacy.iter().enumerate() {
                    calls.apply(UNIX_EPOCH + Duration::from_secs(i as u64), m);
                }
                calls
            },
            BatchSize::SmallInput,
        )
    });
    let mut calls = Calls::new(CallsConfig::default());
    for (at, m) in &traffic {
        calls.apply(*at, m);
    }
    let biggest = calls
        .ordered()
        .into_iter()
        .max_by_key(|c| c.events().len())
        .expect("some call")
        .id;
    let call = calls.get(biggest).expect("kept");
    group.throughput(Throughput::Elements(call.events().len() as u64));
    group.bench_function("ladder of the largest call", |b| b.iter(|| call.ladder()));
    group.throughput(Throughput::Elements(calls.len() as u64));
    group.bench_function("list order", |b| b.iter(|| calls.ordered().len()));
    group.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);
