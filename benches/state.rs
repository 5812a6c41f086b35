//! The state model's speed and memory targets (issue 11), measured in the bench
//! thread's CPU time so the figures mean "one core" on a shared machine:
//! - applying a 5,000-channel `CoreShowChannels` snapshot: target < 200 ms;
//! - live events with 10,000 live channels: target 100,000 events/s;
//! - memory bounded: 200,000 short calls leave at most the configured ended channels
//!   and calls, the rest counted as evicted.
//!
//! `cargo bench --bench state` measures; `-- --test` (or `AMICON_BENCH_SMOKE`) runs
//! small sizes once so the bench cannot rot, and checks only the memory bounds.

use amicon::ami::Message;
use amicon::session::{Link, SessionEvent, Stamped};
use amicon::state::{State, StateConfig};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn at(micros: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(1_800_000_000_000_000 + micros)
}

fn uid(i: usize) -> String {
    format!("1800000000.{i}")
}

fn name(i: usize) -> String {
    format!("PJSIP/{}-{i:08x}", 100 + i % 900)
}

/// The channel snapshot fields every channel event carries (Asterisk 22 order).
fn channel_headers(event: &str, i: usize, state: &str) -> Vec<(String, String)> {
    let linked = uid(i - i % 2);
    [
        ("Event", event.to_string()),
        ("Privilege", "call,all".into()),
        ("Channel", name(i)),
        ("ChannelState", "6".into()),
        ("ChannelStateDesc", state.into()),
        ("CallerIDNum", format!("{}", 100 + i % 900)),
        ("CallerIDName", "Alice".into()),
        ("ConnectedLineNum", "<unknown>".into()),
        ("ConnectedLineName", "<unknown>".into()),
        ("Language", "en".into()),
        ("AccountCode", "".into()),
        ("Context", "from-internal".into()),
        ("Exten", "200".into()),
        ("Priority", "1".into()),
        ("Uniqueid", uid(i)),
        ("Linkedid", linked),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn message(mut headers: Vec<(String, String)>, extra: &[(&str, &str)]) -> Message {
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Message::from_headers(&headers)
}

fn received(at_us: u64, message: Message, link: Link) -> Stamped {
    Stamped {
        at: at(at_us),
        event: SessionEvent::Received {
            message,
            link,
            internal: true,
        },
    }
}

/// `CoreShowChannels` as the session publishes it: sent, response, items, complete.
fn snapshot(channels: usize, id: &str, at_us: u64) -> Vec<Stamped> {
    let link = |id: &str| Link::ListItem {
        action_id: id.into(),
    };
    let mut out = vec![Stamped {
        at: at(at_us),
        event: SessionEvent::Sent {
            action_id: id.into(),
            name: "CoreShowChannels".into(),
            message: Message::from_headers(&[("Action", "CoreShowChannels"), ("ActionID", id)]),
            internal: true,
        },
    }];
    out.push(received(
        at_us,
        Message::from_headers(&[
            ("Response", "Success"),
            ("ActionID", id),
            ("EventList", "start"),
        ]),
        Link::Response {
            action_id: id.into(),
        },
    ));
    for i in 0..channels {
        let bridge = format!("bridge-{:06}", i / 2);
        let m = message(
            channel_headers("CoreShowChannel", i, "Up"),
            &[
                ("ActionID", id),
                ("Application", "Dial"),
                ("ApplicationData", "PJSIP/200,30"),
                ("Duration", "00:01:40"),
                ("BridgeId", &bridge),
            ],
        );
        out.push(received(at_us, m, link(id)));
    }
    out.push(received(
        at_us,
        Message::from_headers(&[
            ("Event", "CoreShowChannelsComplete"),
            ("ActionID", id),
            ("EventList", "Complete"),
            ("ListItems", &channels.to_string()),
        ]),
        Link::ListComplete {
            action_id: id.into(),
        },
    ));
    out
}

/// Live traffic on `channels` live channels: mostly VarSet and Newexten, as real
/// traffic is, with state and caller ID changes.
fn live_events(channels: usize, count: usize) -> Vec<Stamped> {
    let mut out = Vec::with_capacity(count);
    let mut rng = fastrand::Rng::with_seed(7);
    for n in 0..count {
        let i = rng.usize(..channels);
        let m = match n % 10 {
            0..=4 => message(
                channel_headers("VarSet", i, "Up"),
                &[("Variable", "DIALSTATUS"), ("Value", "ANSWER")],
            ),
            5..=7 => message(
                channel_headers("Newexten", i, "Up"),
                &[
                    ("Extension", "200"),
                    ("Application", "Set"),
                    ("AppData", "X=1"),
                ],
            ),
            8 => message(channel_headers("Newstate", i, "Up"), &[]),
            _ => message(
                channel_headers("NewCallerid", i, "Up"),
                &[("CID-CallingPres", "0")],
            ),
        };
        out.push(received(n as u64, m, Link::Unsolicited));
    }
    out
}

/// Short calls, one after the other: Newchannel then Hangup.
fn churn(calls: usize) -> Vec<Stamped> {
    let mut out = Vec::with_capacity(calls * 2);
    for c in 0..calls {
        let i = 1_000_000 + c * 2;
        out.push(received(
            c as u64 * 1000,
            message(channel_headers("Newchannel", i, "Ring"), &[]),
            Link::Unsolicited,
        ));
        out.push(received(
            c as u64 * 1000 + 500,
            message(
                channel_headers("Hangup", i, "Up"),
                &[("Cause", "16"), ("Cause-txt", "Normal Clearing")],
            ),
            Link::Unsolicited,
        ));
    }
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--test" || a == "--smoke")
        || std::env::var_os("AMICON_BENCH_SMOKE").is_some();
    let (snap_channels, live_channels, events, churn_calls, rounds) = if smoke {
        (500, 1_000, 20_000, 5_000, 1)
    } else {
        (5_000, 10_000, 1_000_000, 200_000, 7)
    };

    // 1. A snapshot of N channels into a fresh model (the calls built with it).
    let entries = snapshot(snap_channels, "seed", 0);
    let mut times = Vec::new();
    for _ in 0..rounds {
        let mut state = State::new(StateConfig::default());
        let t = thread_cpu();
        for e in &entries {
            state.apply(e);
        }
        times.push(thread_cpu() - t);
        assert_eq!(state.channel_count(), snap_channels);
        assert_eq!(state.calls().live_count(), snap_channels / 2);
    }
    let snap = median(times);
    println!(
        "state/snapshot {snap_channels} channels: {:.1} ms thread CPU (target < 200 ms for 5,000: {:.2}x of the budget)",
        snap.as_secs_f64() * 1e3,
        snap.as_secs_f64() / 0.200 * (5_000.0 / snap_channels as f64)
    );

    // 2. Live events with M live channels.
    let mut state = State::new(StateConfig::default());
    for e in snapshot(live_channels, "seed", 0) {
        state.apply(&e);
    }
    let traffic = live_events(live_channels, events);
    let mut rates = Vec::new();
    for _ in 0..rounds.min(3) {
        let t = thread_cpu();
        for e in &traffic {
            state.apply(e);
        }
        let cpu = thread_cpu() - t;
        rates.push(Duration::from_secs_f64(cpu.as_secs_f64() / events as f64));
    }
    assert_eq!(state.channel_count(), live_channels);
    let per_event = median(rates);
    let rate = 1.0 / per_event.as_secs_f64();
    println!(
        "state/live events with {live_channels} live channels: {:.0} events/s on one core ({:.2}x the 100,000/s target)",
        rate,
        rate / 100_000.0
    );

    // 3. Memory bounded under churn.
    let config = StateConfig::default();
    let max_ended = config.max_ended_channels;
    let max_calls = config.calls.max_ended_calls;
    let mut state = State::new(config);
    let t = thread_cpu();
    let churn = churn(churn_calls);
    for e in &churn {
        state.apply(e);
    }
    let cpu = thread_cpu() - t;
    let kept = state.ended_channels().count();
    assert!(kept <= max_ended, "{kept} ended channels kept");
    assert_eq!(state.evicted_channels() as usize + kept, churn_calls);
    assert!(
        state.calls().len() <= max_calls + 1,
        "{} calls kept",
        state.calls().len()
    );
    println!(
        "state/churn {churn_calls} calls: {kept} ended channels kept (cap {max_ended}), {} evicted and counted; {} calls kept (cap {max_calls}), {} evicted; {:.0} events/s",
        state.evicted_channels(),
        state.calls().len(),
        state.calls().evicted_calls(),
        churn.len() as f64 / cpu.as_secs_f64()
    );
}
