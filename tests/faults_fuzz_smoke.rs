//! The fuzz targets (`fuzz/src/targets.rs`) run on stable as a bounded, deterministic
//! smoke test: the captures in `tests/fixtures/vectors/` are the seeds, mutated by a
//! seeded RNG. `AMICON_FUZZ_ITERS` sets the number of mutated inputs per target (default
//! 2000); a failing input is written to `target/fuzz-smoke-failure-*.bin` so it can be
//! replayed with `cargo fuzz run <target> <file>` and turned into a regression test.
//! Regression inputs found so far are at the bottom of this file.

#[path = "../fuzz/src/targets.rs"]
mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vectors");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("the vectors")
        .chain(std::fs::read_dir(dir.join("synthetic")).expect("synthetic vectors"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt" || x == "actions"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("readable vector"))
        .collect()
}

/// Pieces that steer inputs into the codec's and filter's interesting states.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"\r",
    b":",
    b": ",
    b"\0",
    b"\xff\xfe",
    b"Asterisk Call Manager/11.0.0\r\n",
    b"Response: Follows\r\n",
    b"Privilege: Command\r\n",
    b"--END COMMAND--",
    b"EventList: start\r\n",
    b"Event: ",
    b"ActionID: ",
    b"!",
    b"*",
    b"~",
    b"!=",
    b"=",
    b"\"",
    b"(",
    b"[",
    b"\\",
    b"|",
    b",",
    b" ",
];

struct Mutator {
    rng: fastrand::Rng,
}

impl Mutator {
    fn mutate(&mut self, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
        for _ in 0..self.rng.usize(1..=4) {
            let len = input.len();
            match self.rng.u8(0..8) {
                0 if len > 0 => {
                    let i = self.rng.usize(..len);
                    input[i] ^= 1 << self.rng.u8(0..8);
                }
                1 if len > 0 => {
                    let i = self.rng.usize(..len);
                    input[i] = self.rng.u8(..);
                }
                2 => {
                    let token = TOKENS[self.rng.usize(..TOKENS.len())];
                    let at = self.rng.usize(..=len);
                    input.splice(at..at, token.iter().copied());
                }
                3 if len > 1 => {
                    let start = self.rng.usize(..len);
                    let end = (start + self.rng.usize(1..=64)).min(len);
                    input.drain(start..end);
                }
                4 if len > 1 => {
                    // Repeat a slice: long lines, many headers.
                    let start = self.rng.usize(..len);
                    let end = (start + self.rng.usize(1..=256)).min(len);
                    let piece = input[start..end].to_vec();
                    let times = self.rng.usize(1..=64);
                    let at = self.rng.usize(..=input.len());
                    input.splice(
                        at..at,
                        piece.iter().copied().cycle().take(piece.len() * times),
                    );
                }
                5 => {
                    // Splice in part of another capture.
                    let other = &seeds[self.rng.usize(..seeds.len())];
                    if !other.is_empty() {
                        let start = self.rng.usize(..other.len());
                        let end = (start + self.rng.usize(1..=512)).min(other.len());
                        let at = self.rng.usize(..=len);
                        input.splice(at..at, other[start..end].iter().copied());
                    }
                }
                6 if len > 0 => input.truncate(self.rng.usize(..len)),
                _ => {
                    let at = self.rng.usize(..=len);
                    input.insert(at, self.rng.u8(..));
                }
            }
        }
    }
}

fn iterations() -> usize {
    std::env::var("AMICON_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// Runs `target` over every seed, then over `iterations()` mutants; panics with the
/// failing input saved to a file.
fn smoke(name: &str, seed: u64, inputs: Vec<Vec<u8>>, target: fn(&[u8])) {
    let seeds = inputs;
    // AMICON_FUZZ_SEED varies the mutations for longer runs by hand.
    let extra: u64 = std::env::var("AMICON_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut mutator = Mutator {
        rng: fastrand::Rng::with_seed(seed ^ extra),
    };
    let run = |input: &[u8]| {
        if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("fuzz-smoke-failure-{name}.bin"));
            let _ = std::fs::write(&file, input);
            panic!(
                "{name}: the input saved in {} fails ({} bytes)",
                file.display(),
                input.len()
            );
        }
    };
    for input in &seeds {
        run(input);
    }
    for _ in 0..iterations() {
        let mut input = seeds[mutator.rng.usize(..seeds.len())].clone();
        mutator.mutate(&seeds, &mut input);
        run(&input);
    }
}

#[test]
fn the_decoder_survives_mutated_captures_and_ignores_how_reads_are_split() {
    // The decoder target reads its first byte as a control byte; vary it over the seeds.
    let inputs: Vec<Vec<u8>> = seeds()
        .into_iter()
        .enumerate()
        .map(|(n, s)| {
            let mut input = vec![n as u8];
            input.extend(s);
            input
        })
        .collect();
    smoke("decoder", 0x00a1_c0de, inputs, targets::decoder);
}

/// Filters worth starting from: every form the filter language has.
const FILTER_SEEDS: &[&str] = &[
    "Newchannel",
    "Queue*",
    "!VarSet",
    "Channel=PJSIP/100-*",
    "Key~^abc$",
    "Key!=glob*",
    "Newchannel,Hangup Channel=PJSIP/*",
    "\"free text\"",
    "Hangup Cause~1[67] !Channel=Local/*",
    "CallerIDName=M\u{fc}ller",
];

#[test]
fn the_filter_parser_survives_mutated_filters_and_prints_what_it_parses() {
    let messages = seeds();
    let inputs: Vec<Vec<u8>> = FILTER_SEEDS
        .iter()
        .enumerate()
        .map(|(n, f)| {
            let mut input = f.as_bytes().to_vec();
            input.push(b'\n');
            // A message to match: the part of a capture after its banner.
            let capture = &messages[n % messages.len()];
            let body = capture
                .iter()
                .position(|&b| b == b'\n')
                .map_or(&capture[..], |i| &capture[i + 1..]);
            input.extend_from_slice(&body[..body.len().min(2048)]);
            input
        })
        .collect();
    smoke("filter", 0xf1_17e5, inputs, targets::filter);
}

// Regression inputs the smoke run found (minimised by hand).

fn names(decoded: &targets::Decoded) -> Vec<String> {
    decoded
        .frames
        .iter()
        .map(|f| match f {
            amicon::ami::Frame::Banner(_) => "banner".to_string(),
            amicon::ami::Frame::Message(m) => m.get_str("Event").unwrap_or_default().into_owned(),
            amicon::ami::Frame::Error(e) => e.to_string(),
        })
        .collect()
}

#[test]
fn a_message_over_the_cap_by_its_blank_line_does_not_swallow_the_next_one() {
    let banner = b"Asterisk Call Manager/11.0.0\r\n";
    let mut stream = banner.to_vec();
    // Headers of exactly 1024 bytes: only the closing blank line takes it over the cap.
    let head = b"Event: Big\r\nPad: ";
    let pad = 1024 - head.len() - 2;
    stream.extend_from_slice(head);
    stream.extend(std::iter::repeat_n(b'x', pad));
    stream.extend_from_slice(b"\r\n\r\nEvent: Next\r\n\r\n");
    // The read that ends on the blank line's `\r` used to start a skip that ran on
    // through `Next`.
    let split = targets::decode_in_reads(&stream, &[banner.len() + 1025], 1024);
    assert_eq!(split, targets::decode_in_reads(&stream, &[], 1024));
    assert_eq!(
        names(&split).last().map(String::as_str),
        Some("Next"),
        "{:?}",
        names(&split)
    );
}

#[test]
fn a_banner_line_over_4096_bytes_is_refused_however_it_arrives() {
    let mut stream = vec![b'x'; 5000];
    stream.extend_from_slice(b"\r\n\r\nEvent: Next\r\n\r\n");
    let whole = targets::decode_in_reads(&stream, &[], 1 << 20);
    for reads in [&[1][..], &[100], &[4097], &[5001]] {
        assert_eq!(
            targets::decode_in_reads(&stream, reads, 1 << 20),
            whole,
            "{reads:?}"
        );
    }
    let names = names(&whole);
    assert!(names[0].contains("not an AMI banner"), "{names:?}");
    assert_eq!(names[1], "skipped 5004 bytes of an oversized message");
    assert_eq!(names[2], "Next");
}
