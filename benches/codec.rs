//! Decoder throughput on a realistic flood (issue 6 target: at least 3 million events/s
//! on one core), beside plain scans of the same buffer for the ceiling.

mod common;

use amicon::ami::codec::DEFAULT_MAX_MESSAGE;
use amicon::ami::{AmiCodec, Frame};
use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use tokio_util::codec::Decoder;

const READ_SIZE: usize = 4096;

fn decode(c: &mut Criterion<common::CpuTime>) {
    let (flood, events) = common::flood(8 << 20);
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(events));

    group.bench_function("memchr line scan (ceiling)", |b| {
        b.iter(|| memchr::memchr_iter(b'\n', black_box(&flood)).count())
    });

    group.bench_function("blank-line framing only", |b| {
        b.iter(|| memchr::memmem::find_iter(black_box(&flood), b"\r\n\r\n").count())
    });

    group.bench_function("decode whole buffer", |b| {
        b.iter_batched(
            || BytesMut::from(&flood[..]),
            |mut src| {
                let mut codec = AmiCodec::without_banner(DEFAULT_MAX_MESSAGE);
                let mut n = 0u64;
                while let Ok(Some(frame)) = codec.decode(&mut src) {
                    if let Frame::Message(m) = frame {
                        n += 1;
                        black_box(&m);
                    }
                }
                assert_eq!(n, events);
                n
            },
            BatchSize::LargeInput,
        )
    });

    group.bench_function("decode in 4 KB reads", |b| {
        b.iter(|| {
            let mut codec = AmiCodec::without_banner(DEFAULT_MAX_MESSAGE);
            let mut src = BytesMut::with_capacity(64 * 1024);
            let mut n = 0u64;
            for chunk in flood.chunks(READ_SIZE) {
                // What `FramedRead` does: keep spare room, append a read, drain frames.
                src.reserve(READ_SIZE);
                src.extend_from_slice(chunk);
                while let Ok(Some(frame)) = codec.decode(&mut src) {
                    if let Frame::Message(m) = frame {
                        n += 1;
                        black_box(&m);
                    }
                }
            }
            assert_eq!(n, events);
            n
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = decode
}
criterion_main!(benches);
