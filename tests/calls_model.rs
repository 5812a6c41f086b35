//! The calls model over real captures (`tests/fixtures/vectors/`, and a call through
//! `Local/dial@test` recorded from the real Asterisk in `tests/fixtures/calls/`), plus
//! the joining rules, bounds and helpers on hand-built events.

use amicon::ami::codec::{AmiCodec, Frame};
use amicon::ami::{Action, Message};
use amicon::calls::{
    first_placeholder, prefill, CallState, Calls, CallsConfig, ChannelAction, LadderKind,
};
use amicon::filter::Filter;
use amicon::record;
use amicon::session::{Link, SessionEvent, Stamped};
use bytes::BytesMut;
use proptest::prelude::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::codec::Decoder;

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("vector present")
}

fn dial_call() -> record::Recording {
    let bytes = std::fs::read(format!(
        "{}/tests/fixtures/calls/dial-call.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture present");
    record::read(&bytes)
}

/// Every message of a raw server transcript, in order.
fn messages(bytes: &[u8]) -> Vec<Message> {
    let mut codec = AmiCodec::default();
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Ok(Some(frame)) = codec.decode(&mut buf) {
        if let Frame::Message(m) = frame {
            out.push(m);
        }
    }
    if let Ok(Some(Frame::Message(m))) = codec.decode_eof(&mut buf) {
        out.push(m);
    }
    out
}

/// Applies a transcript with one second between messages (transcripts have no times).
fn calls_of(bytes: &[u8]) -> Calls {
    let mut calls = Calls::default();
    for (i, m) in messages(bytes).iter().enumerate() {
        calls.apply(at(i as u64), m);
    }
    calls
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn event(headers: &[(&str, &str)]) -> Message {
    Message::from_headers(headers)
}

fn newchannel(name: &str, uniqueid: &str, linkedid: &str) -> Message {
    event(&[
        ("Event", "Newchannel"),
        ("Channel", name),
        ("ChannelStateDesc", "Ring"),
        ("CallerIDNum", "100"),
        ("CallerIDName", "Alice"),
        ("Exten", "200"),
        ("Uniqueid", uniqueid),
        ("Linkedid", linkedid),
    ])
}

fn hangup(name: &str, uniqueid: &str, linkedid: &str, cause: &str) -> Message {
    event(&[
        ("Event", "Hangup"),
        ("Channel", name),
        ("Uniqueid", uniqueid),
        ("Linkedid", linkedid),
        ("Cause", cause),
        ("Cause-txt", "Normal Clearing"),
    ])
}

fn bridge(kind: &str, name: &str, uniqueid: &str, linkedid: &str, bridge: &str) -> Message {
    event(&[
        ("Event", kind),
        ("BridgeUniqueid", bridge),
        ("BridgeType", "basic"),
        ("Channel", name),
        ("ChannelStateDesc", "Up"),
        ("Uniqueid", uniqueid),
        ("Linkedid", linkedid),
    ])
}

#[test]
fn an_originated_local_call_is_one_call_with_both_halves() {
    let calls = calls_of(&vector("originate-local-call-events.txt"));
    assert_eq!(calls.len(), 1);
    let call = calls.ordered()[0];
    let names: Vec<&str> = call.channels().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["Local/echo@test-00000007;1", "Local/echo@test-00000007;2"]
    );
    assert_eq!(call.state(), CallState::Ended);
    assert_eq!(call.linkedid(), "1795893138.14");
    let cause = call.cause().expect("a hangup cause");
    assert_eq!(
        (cause.code, cause.text.as_str()),
        (Some(16), "Normal Clearing")
    );
    assert_eq!(call.caller().display(), "AMI Test <1000>");
    assert_eq!(call.callee().display(), "echo");
    assert!(call.channels().iter().all(|c| c.hangup.is_some()));
    assert_eq!(call.last_event().map(|(n, _)| n), Some("Hangup"));
    // Every event naming one of its channels is in its timeline (the DeviceStateChanges,
    // FullyBooted and SuccessfulAuth are not).
    let names: Vec<String> = call
        .events()
        .iter()
        .map(|e| String::from_utf8_lossy(e.message.event_name().unwrap()).into_owned())
        .collect();
    assert!(names.contains(&"OriginateResponse".to_string()));
    assert!(
        names.contains(&"TestEvent".to_string()),
        "joined by channel name"
    );
    assert!(!names
        .iter()
        .any(|n| n == "DeviceStateChange" || n == "FullyBooted"));
    // 38 events, less FullyBooted, SuccessfulAuth and four DeviceStateChanges.
    assert_eq!(call.events().len(), 32);

    let ladder = call.ladder();
    assert_eq!(ladder.columns.len(), 2);
    let local = ladder
        .rows
        .iter()
        .find(|r| r.label == "LocalBridge")
        .expect("a LocalBridge row");
    assert_eq!((local.from_col, local.to_col), (0, Some(1)));
    let hangups = ladder
        .rows
        .iter()
        .filter(|r| r.kind == LadderKind::Hangup)
        .count();
    assert_eq!(hangups, 2);
}

#[test]
fn list_items_never_create_calls() {
    for name in ["coreshowchannels-eventlist.txt", "status-eventlist.txt"] {
        let calls = calls_of(&vector(name));
        assert!(calls.is_empty(), "{name}: {:?}", calls.ordered());
    }
}

#[test]
fn events_around_a_list_make_one_call_and_its_list_items_are_not_in_it() {
    let calls = calls_of(&vector("events-around-list.txt"));
    assert_eq!(calls.len(), 1);
    let call = calls.ordered()[0];
    assert_eq!(call.channels().len(), 2);
    assert_eq!(call.state(), CallState::Ended);
    assert_eq!(call.cause().map(|c| c.code), Some(Some(0)));
    assert!(call.events().iter().all(|e| {
        let name = e.message.event_name().unwrap();
        name != b"CoreShowChannel" && name != b"ChannelHungup"
    }));
}

#[test]
fn a_call_through_local_dial_has_two_legs_joined_by_a_bridge() {
    let recording = dial_call();
    assert!(recording.timed);
    let mut calls = Calls::default();
    for entry in &recording.entries {
        calls.apply_stamped(entry);
    }
    assert_eq!(calls.len(), 1, "{:?}", calls.ordered());
    let call = calls.ordered()[0];
    let names: Vec<&str> = call.channels().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names[0].starts_with("Local/dial@test-") && names[0].ends_with(";1"));
    assert!(names[1].starts_with("Local/dial@test-") && names[1].ends_with(";2"));
    assert!(names[2].starts_with("Local/echo@test-") && names[2].ends_with(";1"));
    assert!(names[3].starts_with("Local/echo@test-") && names[3].ends_with(";2"));
    assert_eq!(call.bridges().len(), 1);
    assert_eq!(call.state(), CallState::Ended);
    assert_eq!(call.cause().map(|c| c.code), Some(Some(16)));
    assert_eq!(call.caller().display(), "Alice Caller <1001>");
    assert_eq!(call.callee().display(), "dial");
    let duration = call.duration(SystemTime::now());
    assert!(
        duration >= Duration::from_secs(1) && duration < Duration::from_secs(10),
        "{duration:?}"
    );

    let ladder = call.ladder();
    let bridged: Vec<_> = ladder
        .rows
        .iter()
        .filter(|r| r.kind == LadderKind::Bridge && r.label.starts_with("BridgeEnter"))
        .collect();
    assert_eq!(bridged.len(), 2);
    // The second to enter points at the first: dial;2 and echo;1 are bridged.
    let arrow = bridged[1];
    let pair = [arrow.from_col, arrow.to_col.expect("an arrow")];
    assert!(pair.contains(&1) && pair.contains(&2), "{pair:?}");
    let dial = ladder
        .rows
        .iter()
        .find(|r| r.label == "DialBegin echo@test" && r.to_col.is_some())
        .expect("the Dial row");
    assert_eq!((dial.from_col, dial.to_col), (1, Some(2)));
    assert_eq!(
        ladder
            .rows
            .iter()
            .filter(|r| r.kind == LadderKind::Hangup)
            .count(),
        4
    );
}

#[test]
fn a_recording_and_its_raw_messages_give_the_same_calls() {
    let recording = dial_call();
    let mut stamped = Calls::default();
    let mut raw = Calls::default();
    for entry in &recording.entries {
        stamped.apply_stamped(entry);
        if let SessionEvent::Received { message, .. } = &entry.event {
            raw.apply(entry.at, message);
        }
    }
    let a = stamped.ordered()[0];
    let b = raw.ordered()[0];
    assert_eq!(raw.len(), 1);
    assert_eq!(a.channels(), b.channels());
    assert_eq!(a.events().len(), b.events().len());
    assert_eq!((a.start, a.end), (b.start, b.end));
}

#[test]
fn only_unsolicited_and_related_events_count_from_a_session() {
    let mut calls = Calls::default();
    let item = Stamped {
        at: at(0),
        event: SessionEvent::Received {
            message: newchannel("PJSIP/a-1", "1.1", "1.1"),
            link: Link::ListItem {
                action_id: "x".into(),
            },
            internal: false,
        },
    };
    calls.apply_stamped(&item);
    assert!(calls.is_empty());
    let live = Stamped {
        event: SessionEvent::Received {
            message: newchannel("PJSIP/a-1", "1.1", "1.1"),
            link: Link::Unsolicited,
            internal: false,
        },
        ..item
    };
    calls.apply_stamped(&live);
    assert_eq!(calls.len(), 1);
}

#[test]
fn a_gap_marks_live_calls_as_possibly_incomplete() {
    let mut calls = Calls::default();
    calls.apply(at(0), &newchannel("PJSIP/a-1", "1.1", "1.1"));
    calls.apply(at(0), &newchannel("PJSIP/b-1", "2.1", "2.1"));
    calls.apply(at(1), &hangup("PJSIP/b-1", "2.1", "2.1", "16"));
    calls.apply_stamped(&Stamped {
        at: at(2),
        event: SessionEvent::Gap {
            from: at(1),
            to: at(2),
            reason: "lost".into(),
        },
    });
    let live = calls.ordered()[0];
    assert!(live.is_live() && live.missed_events());
    assert!(!calls.ordered()[1].missed_events());
}

#[test]
fn calls_with_different_linkedids_join_when_bridged_together() {
    let mut calls = Calls::default();
    calls.apply(at(0), &newchannel("PJSIP/a-1", "1.1", "1.1"));
    calls.apply(at(1), &newchannel("PJSIP/b-1", "2.1", "2.1"));
    assert_eq!(calls.len(), 2);
    calls.apply(
        at(2),
        &bridge("BridgeEnter", "PJSIP/a-1", "1.1", "1.1", "br-1"),
    );
    assert_eq!(calls.len(), 2, "one channel in a bridge joins nothing");
    calls.apply(
        at(3),
        &bridge("BridgeEnter", "PJSIP/b-1", "2.1", "2.1", "br-1"),
    );
    assert_eq!(calls.len(), 1);
    let call = calls.ordered()[0];
    assert_eq!(call.state(), CallState::Bridged);
    assert_eq!(call.start, at(0));
    assert_eq!(call.linkedids(), ["1.1", "2.1"]);
    let seqs: Vec<u64> = call.events().iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "events stay in order");
    assert_eq!(call.events().len(), 4);
}

#[test]
fn a_parking_lot_does_not_join_the_calls_parked_in_it() {
    let mut calls = Calls::default();
    for (name, id) in [("PJSIP/a-1", "1.1"), ("PJSIP/b-1", "2.1")] {
        calls.apply(at(0), &newchannel(name, id, id));
        calls.apply(
            at(1),
            &event(&[
                ("Event", "BridgeEnter"),
                ("BridgeUniqueid", "lot"),
                ("BridgeType", "parking"),
                ("Channel", name),
                ("Uniqueid", id),
                ("Linkedid", id),
            ]),
        );
    }
    assert_eq!(calls.len(), 2);
}

#[test]
fn local_halves_join_by_name_even_with_different_linkedids() {
    let mut calls = Calls::default();
    calls.apply(at(0), &newchannel("Local/x@ctx-00000001;1", "1.1", "1.1"));
    calls.apply(at(0), &newchannel("Local/x@ctx-00000001;2", "1.2", "9.9"));
    assert_eq!(calls.len(), 1);
    assert_eq!(calls.ordered()[0].channels().len(), 2);
}

#[test]
fn a_dial_joins_its_destination_into_the_callers_call() {
    let mut calls = Calls::default();
    calls.apply(at(0), &newchannel("PJSIP/a-1", "1.1", "1.1"));
    calls.apply(at(1), &newchannel("PJSIP/b-1", "1.2", "1.2"));
    calls.apply(
        at(2),
        &event(&[
            ("Event", "DialBegin"),
            ("Channel", "PJSIP/a-1"),
            ("Uniqueid", "1.1"),
            ("Linkedid", "1.1"),
            ("DestChannel", "PJSIP/b-1"),
            ("DestCallerIDNum", "200"),
            ("DestUniqueid", "1.2"),
            ("DestLinkedid", "1.2"),
            ("DialString", "b"),
        ]),
    );
    assert_eq!(calls.len(), 1);
    let ladder = calls.ordered()[0].ladder();
    let dial = ladder.rows.iter().find(|r| r.kind == LadderKind::Dial);
    assert_eq!(dial.map(|r| (r.from_col, r.to_col)), Some((0, Some(1))));
}

#[test]
fn live_calls_come_first_newest_first_then_ended_ones_latest_ended_first() {
    let mut calls = Calls::default();
    for i in 0..4u64 {
        let id = format!("{i}.0");
        calls.apply(at(i), &newchannel(&format!("PJSIP/{i}-1"), &id, &id));
    }
    calls.apply(at(10), &hangup("PJSIP/0-1", "0.0", "0.0", "16"));
    calls.apply(at(11), &hangup("PJSIP/2-1", "2.0", "2.0", "17"));
    let order: Vec<String> = calls
        .ordered()
        .iter()
        .map(|c| c.linkedid().to_string())
        .collect();
    assert_eq!(order, ["3.0", "1.0", "2.0", "0.0"]);
}

#[test]
fn duration_ticks_while_live_and_stops_at_the_end() {
    let mut calls = Calls::default();
    calls.apply(at(0), &newchannel("PJSIP/a-1", "1.1", "1.1"));
    let id = calls.ordered()[0].id;
    assert_eq!(
        calls.get(id).unwrap().duration(at(5)),
        Duration::from_secs(5)
    );
    assert_eq!(
        calls.get(id).unwrap().duration(at(9)),
        Duration::from_secs(9)
    );
    calls.apply(at(12), &hangup("PJSIP/a-1", "1.1", "1.1", "16"));
    let call = calls.get(id).unwrap();
    assert_eq!(call.duration(at(100)), Duration::from_secs(12));
    assert_eq!(call.end, Some(at(12)));
}

#[test]
fn events_per_call_are_bounded_and_counted() {
    let mut calls = Calls::new(CallsConfig {
        max_events_per_call: 5,
        ..CallsConfig::default()
    });
    calls.apply(at(0), &newchannel("PJSIP/a-1", "1.1", "1.1"));
    for i in 0..10 {
        calls.apply(
            at(i),
            &event(&[
                ("Event", "VarSet"),
                ("Channel", "PJSIP/a-1"),
                ("Uniqueid", "1.1"),
                ("Linkedid", "1.1"),
                ("Variable", "X"),
            ]),
        );
    }
    let call = calls.ordered()[0];
    assert_eq!(call.events().len(), 5);
    assert_eq!(call.evicted_events(), 6);
}

#[test]
fn ended_calls_are_kept_by_count_and_by_age() {
    let mut calls = Calls::new(CallsConfig {
        max_ended_calls: 2,
        max_ended_age: Duration::from_secs(60),
        ..CallsConfig::default()
    });
    for i in 0..4u64 {
        let id = format!("{i}.0");
        let name = format!("PJSIP/{i}-1");
        calls.apply(at(i), &newchannel(&name, &id, &id));
        calls.apply(at(i), &hangup(&name, &id, &id, "16"));
    }
    assert_eq!(calls.len(), 2);
    assert_eq!(calls.evicted_calls(), 2);
    calls.apply(at(10), &newchannel("PJSIP/live-1", "9.0", "9.0"));
    calls.expire(at(30));
    assert_eq!(calls.len(), 3);
    calls.expire(at(200));
    assert_eq!(calls.len(), 1, "only the live call is left");
    assert!(calls.ordered()[0].is_live());
    assert!(calls.call_of_uniqueid("0.0").is_none());
}

#[test]
fn late_accounting_records_do_not_revive_an_evicted_call() {
    let mut calls = Calls::new(CallsConfig {
        max_ended_calls: 0,
        ..CallsConfig::default()
    });
    calls.apply(at(0), &newchannel("PJSIP/a-1", "1.1", "1.1"));
    calls.apply(at(1), &hangup("PJSIP/a-1", "1.1", "1.1", "16"));
    assert!(calls.is_empty());
    calls.apply(
        at(2),
        &event(&[
            ("Event", "Cdr"),
            ("UniqueID", "1.1"),
            ("Channel", "PJSIP/a-1"),
        ]),
    );
    assert!(calls.is_empty());
}

#[test]
fn the_follow_filter_parses_and_matches_every_event_of_the_call_and_nothing_else() {
    let recording = dial_call();
    let mut calls = Calls::default();
    for entry in &recording.entries {
        calls.apply_stamped(entry);
    }
    let call = calls.ordered()[0];
    let text = call.follow_filter();
    let filter = Filter::parse(&text).unwrap_or_else(|e| panic!("{}", e.render()));
    for e in call.events() {
        let name = String::from_utf8_lossy(e.message.event_name().unwrap()).into_owned();
        // TestEvent names its channel only; the filter follows ids.
        if name != "TestEvent" {
            assert!(filter.matches(&e.message), "{text} misses {:?}", e.message);
        }
    }
    let other = newchannel("PJSIP/z-1", "42.42", "42.42");
    assert!(!filter.matches(&other));
    let device = event(&[
        ("Event", "DeviceStateChange"),
        ("Device", "Local/dial@test"),
    ]);
    assert!(!filter.matches(&device));
}

#[test]
fn a_follow_filter_reads_odd_ids_literally() {
    let mut calls = Calls::default();
    let odd = "my id*with?odd|chars";
    calls.apply(at(0), &newchannel("PJSIP/a-1", odd, odd));
    let text = calls.ordered()[0].follow_filter();
    let filter = Filter::parse(&text).unwrap_or_else(|e| panic!("{}", e.render()));
    assert!(filter.matches(&newchannel("PJSIP/a-1", odd, odd)));
    assert!(!filter.matches(&newchannel("PJSIP/a-1", "my idXwith?odd|chars", "x")));
}

#[test]
fn every_prefill_is_a_valid_action_on_the_channel() {
    let calls = calls_of(&vector("originate-local-call-events.txt"));
    let channel = &calls.ordered()[0].channels()[0];
    for action in ChannelAction::ALL {
        let text = prefill(action, channel);
        let parsed = Action::parse_block(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(parsed.name().is_some(), "{text}");
        assert!(text.contains(&channel.name), "{text}");
    }
    let redirect = prefill(ChannelAction::Redirect, channel);
    assert!(redirect.contains("Context: test\n"), "{redirect}");
    let hole = first_placeholder(&redirect).expect("a placeholder");
    assert_eq!(&redirect[hole], "<exten>");
    assert_eq!(
        first_placeholder(&prefill(ChannelAction::Status, channel)),
        None
    );
}

fn arbitrary_message() -> impl Strategy<Value = Message> {
    let key = prop::sample::select(vec![
        "Event",
        "Channel",
        "Uniqueid",
        "Linkedid",
        "DestUniqueid",
        "DestChannel",
        "LocalOneUniqueid",
        "LocalTwoChannel",
        "BridgeUniqueid",
        "Cause",
        "ChannelStateDesc",
        "ActionID",
        "EventList",
        "BridgeType",
    ]);
    let value = prop::sample::select(vec![
        "",
        "<null>",
        "1.1",
        "1.2",
        "2.1",
        "Hangup",
        "Newchannel",
        "BridgeEnter",
        "BridgeLeave",
        "DialBegin",
        "Cdr",
        "Local/x@y-1;1",
        "Local/x@y-1;2",
        "parking",
        "Up",
        "abc",
        "16",
    ]);
    prop::collection::vec((key, value), 0..8).prop_map(|h| Message::from_headers(&h))
}

proptest! {
    #[test]
    fn any_event_stream_keeps_the_model_consistent(
        msgs in prop::collection::vec((arbitrary_message(), 0u64..100), 0..60)
    ) {
        let mut calls = Calls::new(CallsConfig {
            max_events_per_call: 7,
            max_ended_calls: 3,
            max_ended_age: Duration::from_secs(30),
            max_live_calls: 4,
        });
        for (m, t) in &msgs {
            calls.apply(at(*t), m);
        }
        prop_assert!(calls.live_count() <= 4);
        for call in calls.ordered() {
            prop_assert!(call.events().len() <= 7);
            for c in call.channels() {
                prop_assert_eq!(calls.call_of_uniqueid(&c.uniqueid).map(|x| x.id), Some(call.id));
            }
            let _ = call.ladder();
            let _ = Filter::parse(&call.follow_filter()).map_err(|e| e.render());
            prop_assert!(Filter::parse(&call.follow_filter()).is_ok() || call.channels().is_empty());
        }
    }
}

#[test]
fn a_local_name_seen_again_after_a_restart_starts_a_new_call() {
    let mut calls = Calls::default();
    calls.apply(at(0), &newchannel("Local/x@ctx-00000001;1", "1.1", "1.1"));
    calls.apply(at(1), &hangup("Local/x@ctx-00000001;1", "1.1", "1.1", "16"));
    // Asterisk restarted: channel sequence numbers start again, Uniqueids do not repeat.
    calls.apply(at(60), &newchannel("Local/x@ctx-00000001;2", "9.2", "9.2"));
    assert_eq!(calls.len(), 2);
    assert!(calls.ordered()[0].is_live());
}

/// Messages decoded from one socket read share its buffer; a call keeps its events long
/// after the read's other messages are gone, so it must keep copies of its own, not
/// slices that hold the whole read alive.
#[test]
fn kept_call_events_do_not_share_the_read_buffer() {
    let bytes = vector("originate-local-call-events.txt");
    let read = messages(&bytes);
    let buffer_range = {
        let first = read[0].wire().as_ptr() as usize;
        let last = read.last().unwrap().wire();
        first..last.as_ptr() as usize + last.len()
    };
    let mut calls = Calls::default();
    for (i, m) in read.iter().enumerate() {
        calls.apply(at(i as u64), m);
    }
    let call = calls.ordered()[0];
    assert!(!call.events().is_empty());
    for kept in call.events() {
        let at = kept.message.wire().as_ptr() as usize;
        assert!(
            !buffer_range.contains(&at),
            "a kept event points into the read buffer"
        );
    }
}
