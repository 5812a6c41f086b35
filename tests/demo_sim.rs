//! The simulator's background traffic uses the events, headers and header order of a
//! real Asterisk 22 call through a bridge and a queue (`tests/fixtures/demo/`).

mod demo_support;

use amicon::ami::Message;
use amicon::demo::sim::{Pbx, SimEvent};
use demo_support::*;
use std::collections::{BTreeMap, BTreeSet};

const T0: u64 = 1_795_893_138_000_000;

fn run(seed: u64, rate: f64, seconds: u64) -> Vec<Message> {
    let mut pbx = Pbx::new(seed, rate, T0);
    let mut events: Vec<SimEvent> = pbx.advance(T0 + seconds * 1_000_000);
    // No new calls; let the ones in progress finish.
    pbx.set_calls_per_second(0.0);
    events.extend(pbx.advance(T0 + (seconds + 3600) * 1_000_000));
    assert!(pbx.channels().is_empty());
    events
        .into_iter()
        .filter(|e| e.class != 0)
        .map(|e| Message::parse(&e.wire))
        .collect()
}

#[test]
fn background_events_have_the_headers_of_a_real_call() {
    let real = messages(&demo_fixture("dial-queue-call.txt"));
    let mut shapes: BTreeMap<String, BTreeSet<Vec<String>>> = BTreeMap::new();
    for m in real.iter().filter(|m| m.get("Event").is_some()) {
        shapes.entry(name(m)).or_default().insert(keys(m));
    }
    let ours = run(11, 1.0, 600);
    let mut checked = BTreeSet::new();
    for m in &ours {
        let event = name(m);
        let Some(known) = shapes.get(&event) else {
            continue;
        };
        assert!(
            known.contains(&keys(m)),
            "{event} has keys {:?}; Asterisk sends one of {known:?}",
            keys(m)
        );
        checked.insert(event);
    }
    for needed in [
        "Newchannel",
        "Newstate",
        "Newexten",
        "DialBegin",
        "DialEnd",
        "BridgeCreate",
        "BridgeEnter",
        "BridgeLeave",
        "BridgeDestroy",
        "HangupRequest",
        "SoftHangupRequest",
        "Hangup",
        "DeviceStateChange",
        "QueueCallerJoin",
        "QueueCallerLeave",
        "AgentCalled",
        "AgentConnect",
        "AgentComplete",
        "QueueMemberStatus",
    ] {
        assert!(
            checked.contains(needed),
            "the simulation never produced {needed}"
        );
    }
}

#[test]
fn background_calls_carry_wide_and_accented_names() {
    let ours = run(5, 1.0, 900);
    let names: BTreeSet<String> = ours
        .iter()
        .filter_map(|m| m.get_str("CallerIDName").map(|n| n.into_owned()))
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.chars().any(|c| "éèëøễçã".contains(c))),
        "{names:?}"
    );
}

#[test]
fn hangup_causes_vary_like_a_real_office() {
    let ours = run(9, 1.0, 1800);
    let causes: BTreeSet<String> = ours
        .iter()
        .filter(|m| m.is("Event", "Hangup"))
        .filter_map(|m| m.get_str("Cause-txt").map(|c| c.into_owned()))
        .collect();
    for cause in [
        "Normal Clearing",
        "User busy",
        "User alerting, no answer",
        "Answered elsewhere",
    ] {
        assert!(causes.contains(cause), "{causes:?}");
    }
    let statuses: BTreeSet<String> = ours
        .iter()
        .filter(|m| m.is("Event", "DialEnd"))
        .filter_map(|m| m.get_str("DialStatus").map(|c| c.into_owned()))
        .collect();
    for status in ["ANSWER", "BUSY", "NOANSWER", "CANCEL"] {
        assert!(statuses.contains(status), "{statuses:?}");
    }
}

#[test]
fn every_channel_event_belongs_to_a_channel_that_was_created() {
    let ours = run(3, 2.0, 300);
    let mut live = BTreeSet::new();
    for m in &ours {
        let Some(channel) = m.get_str("Channel").map(|c| c.into_owned()) else {
            continue;
        };
        if m.is("Event", "Newchannel") {
            assert!(live.insert(channel.clone()), "{channel} created twice");
        } else {
            assert!(
                live.contains(&channel),
                "{} for {channel}, which does not exist",
                name(m)
            );
        }
        if m.is("Event", "Hangup") {
            live.remove(&channel);
        }
    }
}

#[test]
fn at_the_demo_rate_most_queue_callers_reach_an_agent() {
    let ours = run(1, 0.5, 1200);
    let count = |event: &str| ours.iter().filter(|m| m.is("Event", event)).count();
    let (joined, connected) = (count("QueueCallerJoin"), count("AgentConnect"));
    assert!(joined > 100, "{joined} queue calls");
    assert!(
        connected * 10 >= joined * 6,
        "only {connected} of {joined} queue callers reached an agent"
    );
}
