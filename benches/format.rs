//! Per-message cost of the output formats (`watch --format line`, `watch --json`),
//! against a plain copy of the raw wire bytes.

mod common;

use amicon::format::{self, Charset};
use amicon::session::{Link, SessionEvent, Stamped};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::SystemTime;

fn formats(c: &mut Criterion<common::CpuTime>) {
    let stamped: Vec<Stamped> = common::messages(1000)
        .into_iter()
        .map(|message| Stamped {
            at: SystemTime::now(),
            event: SessionEvent::Received {
                message,
                link: Link::Unsolicited,
                internal: false,
            },
        })
        .collect();
    let messages = || {
        stamped.iter().map(|s| match &s.event {
            SessionEvent::Received { message, .. } => message,
            _ => unreachable!("built above"),
        })
    };
    let mut group = c.benchmark_group("format");
    group.throughput(Throughput::Elements(stamped.len() as u64));
    group.bench_function("raw (copy wire bytes)", |b| {
        let mut out = Vec::with_capacity(1 << 20);
        b.iter(|| {
            out.clear();
            for m in messages() {
                out.extend_from_slice(format::raw(black_box(m)));
            }
            out.len()
        })
    });
    group.bench_function("summary", |b| {
        b.iter(|| {
            messages()
                .map(|m| format::summary(black_box(m)).fields.len())
                .sum::<usize>()
        })
    });
    group.bench_function("one_line", |b| {
        b.iter(|| {
            stamped
                .iter()
                .map(|s| format::one_line(black_box(s), Charset::UTF8).len())
                .sum::<usize>()
        })
    });
    group.bench_function("json_line", |b| {
        b.iter(|| {
            stamped
                .iter()
                .map(|s| format::json_line(black_box(s), Charset::UTF8).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = formats
}
criterion_main!(benches);
