//! Cost of re-applying a filter to a buffered log (issue 6 target: 1 million buffered
//! messages re-filtered in under 200 ms, about 200 ns per message on one core).
//! The log holds 100,000 real call events by default (`AMICON_BENCH_MESSAGES` to change);
//! the time per element is the time per message.

mod common;

use amicon::filter::Filter;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const FILTERS: &[(&str, &str)] = &[
    ("header glob", "Channel=Local/echo@test-*;2"),
    ("name alternation", "Hangup|Newchannel|DialBegin"),
    ("regex on a header", "Channel~;2$"),
    ("glob on any *Channel key", "*Channel=*;2"),
    ("negated names", "!VarSet|Newexten"),
    ("free text", "'normal clearing'"),
    ("line regex", "~'^Cause-txt: Normal'"),
    ("name and header", "Hangup Cause=16"),
];

fn refilter(c: &mut Criterion<common::CpuTime>) {
    let n = std::env::var("AMICON_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let log = common::messages(n);
    let mut group = c.benchmark_group("filter");
    group.throughput(Throughput::Elements(log.len() as u64));
    group.bench_function("count only (baseline)", |b| {
        b.iter(|| black_box(&log).iter().filter(|m| !m.is_empty()).count())
    });
    for (label, text) in FILTERS {
        let filter = Filter::parse(text).expect("bench filters parse");
        let hits = log.iter().filter(|m| filter.matches(m)).count();
        assert!(
            hits > 0 && hits < log.len(),
            "{text} selects some but not all"
        );
        group.bench_function(format!("{label}: {text}"), |b| {
            b.iter(|| log.iter().filter(|m| filter.matches(black_box(m))).count())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = refilter
}
criterion_main!(benches);
