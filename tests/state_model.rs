//! The state model (`amicon::state`): one test per event kind and per snapshot and
//! reconciliation case, on hand-built events shaped like the real captures in
//! `tests/fixtures/state/` (Asterisk 22 and 16), plus a property: any interleaving of a
//! channel snapshot with live events ends in the state the events alone give.

use amicon::ami::codec::{AmiCodec, Frame};
use amicon::ami::Message;
use amicon::session::{ActionError, Link, SessionEvent, Stamped};
use amicon::state::{ChannelEndReason, ListKind, ListStatus, MemberStatus, State, StateConfig};
use bytes::BytesMut;
use proptest::prelude::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::codec::Decoder;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn msg(pairs: &[(&str, &str)]) -> Message {
    Message::from_headers(pairs)
}

fn entry(secs: u64, event: SessionEvent) -> Stamped {
    Stamped {
        at: at(secs),
        event,
    }
}

fn live(secs: u64, m: Message) -> Stamped {
    entry(
        secs,
        SessionEvent::Received {
            message: m,
            link: Link::Unsolicited,
            internal: false,
        },
    )
}

fn sent(secs: u64, id: &str, action: &str) -> Stamped {
    entry(
        secs,
        SessionEvent::Sent {
            action_id: id.into(),
            name: action.into(),
            message: msg(&[("Action", action), ("ActionID", id)]),
            internal: true,
        },
    )
}

fn response(secs: u64, id: &str, ok: bool, message: &str) -> Stamped {
    let r = if ok { "Success" } else { "Error" };
    entry(
        secs,
        SessionEvent::Received {
            message: msg(&[("Response", r), ("ActionID", id), ("Message", message)]),
            link: Link::Response {
                action_id: id.into(),
            },
            internal: true,
        },
    )
}

fn item(secs: u64, id: &str, m: Message) -> Stamped {
    entry(
        secs,
        SessionEvent::Received {
            message: m,
            link: Link::ListItem {
                action_id: id.into(),
            },
            internal: true,
        },
    )
}

fn complete(secs: u64, id: &str, event: &str) -> Stamped {
    entry(
        secs,
        SessionEvent::Received {
            message: msg(&[
                ("Event", event),
                ("ActionID", id),
                ("EventList", "Complete"),
            ]),
            link: Link::ListComplete {
                action_id: id.into(),
            },
            internal: true,
        },
    )
}

fn gap(secs: u64) -> Stamped {
    entry(
        secs,
        SessionEvent::Gap {
            from: at(secs.saturating_sub(5)),
            to: at(secs),
            reason: "connection lost".into(),
        },
    )
}

/// The standard channel snapshot every channel event carries (Asterisk 22 shape).
fn chan(
    event: &str,
    uniqueid: &str,
    name: &str,
    linkedid: &str,
    state: &str,
) -> Vec<(String, String)> {
    let code = match state {
        "Down" => "0",
        "Ring" => "4",
        "Ringing" => "5",
        _ => "6",
    };
    [
        ("Event", event),
        ("Privilege", "call,all"),
        ("Channel", name),
        ("ChannelState", code),
        ("ChannelStateDesc", state),
        ("CallerIDNum", "<unknown>"),
        ("CallerIDName", "<unknown>"),
        ("ConnectedLineNum", "<unknown>"),
        ("ConnectedLineName", "<unknown>"),
        ("Language", "en"),
        ("AccountCode", ""),
        ("Context", "test"),
        ("Exten", "long"),
        ("Priority", "1"),
        ("Uniqueid", uniqueid),
        ("Linkedid", linkedid),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn with(mut base: Vec<(String, String)>, extra: &[(&str, &str)]) -> Message {
    for (k, v) in extra {
        match base.iter_mut().find(|(bk, _)| bk == k) {
            Some(slot) => slot.1 = v.to_string(),
            None => base.push((k.to_string(), v.to_string())),
        }
    }
    Message::from_headers(&base)
}

fn newchannel(uniqueid: &str, name: &str, linkedid: &str) -> Message {
    with(chan("Newchannel", uniqueid, name, linkedid, "Down"), &[])
}

fn hangup(uniqueid: &str, name: &str, linkedid: &str, cause: &str, text: &str) -> Message {
    with(
        chan("Hangup", uniqueid, name, linkedid, "Up"),
        &[("Cause", cause), ("Cause-txt", text)],
    )
}

/// A `CoreShowChannel` item for a channel up for `age` seconds.
fn core_show_channel(
    id: &str,
    uniqueid: &str,
    name: &str,
    linkedid: &str,
    age: u64,
    bridge: &str,
) -> Message {
    let duration = format!("{:02}:{:02}:{:02}", age / 3600, age / 60 % 60, age % 60);
    with(
        chan("CoreShowChannel", uniqueid, name, linkedid, "Up"),
        &[
            ("ActionID", id),
            ("Application", "Wait"),
            ("ApplicationData", "30"),
            ("Duration", &duration),
            ("BridgeId", bridge),
        ],
    )
    .unshared()
    .clone()
}

fn apply_all(entries: &[Stamped]) -> State {
    let mut state = State::new(StateConfig::default());
    for e in entries {
        state.apply(e);
    }
    state
}

fn live_names(state: &State) -> Vec<String> {
    state.channels().iter().map(|c| c.name.clone()).collect()
}

// ---- live events, one kind each ---------------------------------------------------

#[test]
fn newchannel_creates_a_channel_that_starts_at_its_event() {
    let state = apply_all(&[live(10, newchannel("1.1", "PJSIP/100-00000001", "1.1"))]);
    let c = state.channel("1.1").expect("channel");
    assert_eq!(c.name, "PJSIP/100-00000001");
    assert_eq!(c.linkedid, "1.1");
    assert_eq!(c.state, "Down");
    assert_eq!(c.start, at(10));
    assert!(c.start_known);
    assert_eq!(c.duration(at(25)), Duration::from_secs(15));
    assert_eq!(state.channel_count(), 1);
}

#[test]
fn newstate_callerid_connected_line_and_newexten_update_the_channel() {
    let n = "PJSIP/100-00000001";
    let state = apply_all(&[
        live(0, newchannel("1.1", n, "1.1")),
        live(1, with(chan("Newstate", "1.1", n, "1.1", "Up"), &[])),
        live(
            2,
            with(
                chan("NewCallerid", "1.1", n, "1.1", "Up"),
                &[("CallerIDNum", "100"), ("CallerIDName", "Alice")],
            ),
        ),
        live(
            3,
            with(
                chan("NewConnectedLine", "1.1", n, "1.1", "Up"),
                &[
                    ("CallerIDNum", "100"),
                    ("CallerIDName", "Alice"),
                    ("ConnectedLineNum", "200"),
                ],
            ),
        ),
        live(
            4,
            with(
                chan("Newexten", "1.1", n, "1.1", "Up"),
                &[
                    ("CallerIDNum", "100"),
                    ("CallerIDName", "Alice"),
                    ("ConnectedLineNum", "200"),
                    ("Exten", "dial"),
                    ("Priority", "3"),
                    ("Application", "Dial"),
                    ("AppData", "PJSIP/200,30"),
                    ("AccountCode", "sales"),
                ],
            ),
        ),
    ]);
    let c = state.channel("1.1").unwrap();
    assert_eq!(c.state, "Up");
    assert_eq!(c.state_code, Some(6));
    assert_eq!(
        (c.caller.num.as_str(), c.caller.name.as_str()),
        ("100", "Alice")
    );
    assert_eq!(c.connected.num, "200");
    assert_eq!((c.exten.as_str(), c.priority.as_str()), ("dial", "3"));
    assert_eq!(
        (c.application.as_str(), c.app_data.as_str()),
        ("Dial", "PJSIP/200,30")
    );
    assert_eq!(c.account_code, "sales");
}

#[test]
fn hangup_ends_the_channel_with_its_cause_and_ended_channels_are_capped() {
    let mut state = State::new(StateConfig {
        max_ended_channels: 2,
        ..StateConfig::default()
    });
    for i in 0..5u64 {
        let u = format!("1.{i}");
        let n = format!("PJSIP/100-{i:08}");
        state.apply(&live(i, newchannel(&u, &n, &u)));
        state.apply(&live(i, hangup(&u, &n, &u, "16", "Normal Clearing")));
    }
    assert_eq!(state.channel_count(), 0);
    assert_eq!(state.ended_channels().count(), 2);
    assert_eq!(state.evicted_channels(), 3);
    let last = state.ended_channels().last().unwrap();
    let end = last.ended.as_ref().unwrap();
    assert_eq!(
        end.reason,
        ChannelEndReason::Hangup {
            cause: Some(16),
            text: "Normal Clearing".into()
        }
    );
    assert_eq!(end.reason.label(), "16 Normal Clearing");
    // A late event for an ended channel does not bring it back.
    state.apply(&live(
        9,
        with(
            chan("VarSet", "1.4", "PJSIP/100-00000004", "1.4", "Up"),
            &[],
        ),
    ));
    assert_eq!(state.channel_count(), 0);
}

#[test]
fn a_global_setvar_is_not_a_channel_nor_a_call() {
    let setvar = msg(&[
        ("Event", "VarSet"),
        ("Privilege", "dialplan,all"),
        ("Channel", "none"),
        ("Uniqueid", "none"),
        ("Linkedid", "none"),
        ("Variable", "GLOBALX"),
        ("Value", "1"),
    ]);
    let state = apply_all(&[live(0, setvar)]);
    assert_eq!(state.channel_count(), 0);
    assert_eq!(state.calls().len(), 0);
}

#[test]
fn each_failed_originate_is_one_ended_failed_call_with_its_reason() {
    let failure = |id: &str| {
        msg(&[
            ("Event", "OriginateResponse"),
            ("Privilege", "call,all"),
            ("ActionID", id),
            ("Response", "Failure"),
            ("Channel", "PJSIP/nobody"),
            ("Context", "test"),
            ("Exten", "busy"),
            ("Reason", "5"),
            ("Uniqueid", "<unknown>"),
            ("CallerIDNum", "<unknown>"),
            ("CallerIDName", "<unknown>"),
        ])
    };
    let related = |secs, id: &str| {
        entry(
            secs,
            SessionEvent::Received {
                message: failure(id),
                link: Link::Related {
                    action_id: id.into(),
                },
                internal: false,
            },
        )
    };
    let state = apply_all(&[
        related(0, "o-1"),
        related(1, "o-2"),
        live(2, failure("other")),
    ]);
    let calls = state.calls();
    assert_eq!(calls.len(), 3, "one row per attempt");
    assert_eq!(calls.live_count(), 0, "never a live phantom");
    for call in calls.ordered() {
        assert_eq!(call.state_label(), "failed");
        let cause = call.cause().unwrap();
        assert!(cause.text.contains("busy"), "{cause:?}");
        assert_eq!(call.first_channel(), Some("PJSIP/nobody"));
        assert_ne!(call.linkedid(), "<unknown>");
    }
    assert_eq!(state.channel_count(), 0);
}

#[test]
fn a_failed_originate_that_made_channels_is_their_call_not_another_row() {
    // The Asterisk 22 busy capture: the Local channel exists, then the response.
    let bytes = fixture("originate-busy-events-22.raw");
    let entries = transcript(&bytes);
    let state = apply_all(&entries);
    let calls = state.calls();
    assert_eq!(calls.live_count(), 0);
    let failed: Vec<_> = calls
        .ordered()
        .into_iter()
        .filter(|c| c.failure().is_some())
        .collect();
    assert_eq!(failed.len(), 1, "{:#?}", calls.ordered());
    assert_eq!(failed[0].state_label(), "failed");
    assert!(failed[0]
        .first_channel()
        .unwrap()
        .starts_with("Local/busy@test-"));
    assert!(!calls.ordered().iter().any(|c| c.linkedid() == "<unknown>"));
}

#[test]
fn asterisk_16_busy_originate_has_no_phantom_either() {
    let entries = transcript(&fixture("originate-busy-events-16.raw"));
    let state = apply_all(&entries);
    assert_eq!(state.calls().live_count(), 0);
    assert_eq!(state.channel_count(), 0);
    assert!(state
        .calls()
        .ordered()
        .iter()
        .any(|c| c.state_label() == "failed"));
}

#[test]
fn bridges_follow_create_enter_leave_destroy() {
    let a = "PJSIP/100-00000001";
    let b = "PJSIP/200-00000002";
    let bridge = [
        ("BridgeUniqueid", "br-1"),
        ("BridgeType", "basic"),
        ("BridgeTechnology", "simple_bridge"),
        ("BridgeCreator", "<unknown>"),
        ("BridgeName", "<unknown>"),
        ("BridgeNumChannels", "0"),
    ];
    let mut create = vec![("Event", "BridgeCreate")];
    create.extend_from_slice(&bridge);
    let mut state = apply_all(&[
        live(0, newchannel("1.1", a, "1.1")),
        live(0, newchannel("1.2", b, "1.1")),
        live(1, msg(&create)),
        live(2, with(chan("BridgeEnter", "1.1", a, "1.1", "Up"), &bridge)),
        live(2, with(chan("BridgeEnter", "1.2", b, "1.1", "Up"), &bridge)),
    ]);
    assert_eq!(state.bridge("br-1").unwrap().technology, "simple_bridge");
    let members: Vec<&str> = state
        .bridge_members("br-1")
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(members, [a, b]);
    state.apply(&live(
        3,
        with(chan("BridgeLeave", "1.2", b, "1.1", "Up"), &bridge),
    ));
    assert_eq!(state.bridge_members("br-1").len(), 1);
    let mut destroy = vec![("Event", "BridgeDestroy")];
    destroy.extend_from_slice(&bridge);
    state.apply(&live(4, msg(&destroy)));
    assert!(state.bridge("br-1").is_none());
    assert_eq!(state.channel("1.1").unwrap().bridge, None);
}

fn queue_member(event: &str, iface: &str, status: &str, paused: &str, reason: &str) -> Message {
    msg(&[
        ("Event", event),
        ("Queue", "support"),
        ("MemberName", "Agent"),
        ("Interface", iface),
        ("StateInterface", iface),
        ("Membership", "dynamic"),
        ("Penalty", "2"),
        ("CallsTaken", "7"),
        ("LastCall", "1796353602"),
        ("InCall", "0"),
        ("Status", status),
        ("Paused", paused),
        ("PausedReason", reason),
    ])
}

#[test]
fn queue_members_are_added_updated_paused_and_removed() {
    let mut state = apply_all(&[live(
        0,
        queue_member("QueueMemberAdded", "PJSIP/100", "1", "0", ""),
    )]);
    let m = &state.queue("support").unwrap().members["PJSIP/100"];
    assert_eq!(m.status, MemberStatus::NotInUse);
    assert_eq!((m.penalty, m.calls_taken, m.last_call), (2, 7, 1796353602));
    state.apply(&live(
        1,
        queue_member("QueueMemberStatus", "PJSIP/100", "2", "0", ""),
    ));
    assert_eq!(
        state.queue("support").unwrap().members["PJSIP/100"]
            .status
            .label(),
        "In use"
    );
    state.apply(&live(
        2,
        queue_member("QueueMemberPause", "PJSIP/100", "2", "1", "lunch"),
    ));
    let m = &state.queue("support").unwrap().members["PJSIP/100"];
    assert!(m.paused);
    assert_eq!(m.paused_reason, "lunch");
    state.apply(&live(
        3,
        queue_member("QueueMemberRemoved", "PJSIP/100", "2", "1", "lunch"),
    ));
    assert!(state.queue("support").unwrap().members.is_empty());
}

fn caller(event: &str, uniqueid: &str, position: &str) -> Message {
    with(
        chan(
            event,
            uniqueid,
            &format!("PJSIP/{uniqueid}"),
            uniqueid,
            "Up",
        ),
        &[
            ("Queue", "support"),
            ("Position", position),
            ("Count", position),
        ],
    )
}

#[test]
fn queue_callers_join_and_leave_with_positions_and_wait() {
    let mut state = apply_all(&[
        live(0, caller("QueueCallerJoin", "9.1", "1")),
        live(5, caller("QueueCallerJoin", "9.2", "2")),
    ]);
    let q = state.queue("support").unwrap();
    assert_eq!(q.callers.len(), 2);
    assert_eq!(q.callers[1].wait(at(20)), Duration::from_secs(15));
    state.apply(&live(6, caller("QueueCallerLeave", "9.1", "1")));
    let q = state.queue("support").unwrap();
    assert_eq!(q.callers.len(), 1);
    assert_eq!(
        (q.callers[0].uniqueid.as_str(), q.callers[0].position),
        ("9.2", 1)
    );
    state.apply(&live(7, caller("QueueCallerAbandon", "9.2", "1")));
    let q = state.queue("support").unwrap();
    assert!(q.callers.is_empty());
    assert_eq!(q.abandoned, 1);
}

#[test]
fn device_and_extension_states_follow_their_events() {
    let state = apply_all(&[
        live(
            0,
            msg(&[
                ("Event", "DeviceStateChange"),
                ("Device", "PJSIP/alice"),
                ("State", "INUSE"),
            ]),
        ),
        live(
            1,
            msg(&[
                ("Event", "ExtensionStatus"),
                ("Exten", "100"),
                ("Context", "default"),
                ("Hint", "PJSIP/alice"),
                ("Status", "1"),
                ("StatusText", "InUse"),
            ]),
        ),
    ]);
    assert_eq!(state.device_states()["PJSIP/alice"], "INUSE");
    let es: Vec<_> = state.extension_states().collect();
    assert_eq!(
        (
            es[0].exten.as_str(),
            es[0].status,
            es[0].status_text.as_str()
        ),
        ("100", 1, "InUse")
    );
}

#[test]
fn endpoints_contacts_and_sip_peers() {
    let endpoint = msg(&[
        ("Event", "EndpointList"),
        ("ActionID", "pe"),
        ("ObjectType", "endpoint"),
        ("ObjectName", "alice"),
        ("Aor", "alice"),
        ("Auths", "alice"),
        ("DeviceState", "Unavailable"),
        ("ActiveChannels", "0"),
    ]);
    let contact = |status: &str, rtt: &str| {
        msg(&[
            ("Event", "ContactStatus"),
            ("URI", "sip:alice@127.0.0.1:5062"),
            ("ContactStatus", status),
            ("AOR", "alice"),
            ("EndpointName", "alice"),
            ("RoundtripUsec", rtt),
        ])
    };
    let peer_entry = msg(&[
        ("Event", "PeerEntry"),
        ("ActionID", "sp"),
        ("Channeltype", "SIP"),
        ("ObjectName", "carol"),
        ("IPaddress", "127.0.0.1"),
        ("IPport", "5070"),
        ("Status", "OK (2 ms)"),
    ]);
    let mut state = apply_all(&[
        sent(0, "pe", "PJSIPShowEndpoints"),
        response(0, "pe", true, "A listing of Endpoints follows"),
        item(0, "pe", endpoint),
        complete(0, "pe", "EndpointListComplete"),
        sent(0, "sp", "SIPpeers"),
        item(0, "sp", peer_entry),
        complete(0, "sp", "PeerlistComplete"),
        live(1, contact("Reachable", "1500")),
        live(
            2,
            msg(&[
                ("Event", "DeviceStateChange"),
                ("Device", "PJSIP/alice"),
                ("State", "NOT_INUSE"),
            ]),
        ),
        live(
            3,
            msg(&[
                ("Event", "PeerStatus"),
                ("ChannelType", "SIP"),
                ("Peer", "SIP/carol"),
                ("PeerStatus", "Unreachable"),
            ]),
        ),
    ]);
    let alice = state.endpoint("PJSIP/alice").unwrap();
    assert_eq!(alice.state, "Not in use");
    assert_eq!(
        (alice.aors.as_str(), alice.auths.as_str()),
        ("alice", "alice")
    );
    assert_eq!(alice.contacts[0].status, "Reachable");
    assert_eq!(alice.contacts[0].rtt, Some(Duration::from_micros(1500)));
    let carol = state.endpoint("SIP/carol").unwrap();
    assert_eq!(carol.state, "Unreachable");
    assert_eq!(carol.address, "127.0.0.1:5070");
    state.apply(&live(4, contact("Removed", "0")));
    assert!(state.endpoint("PJSIP/alice").unwrap().contacts.is_empty());
}

// ---- snapshots --------------------------------------------------------------------

#[test]
fn a_refused_list_is_recorded_with_the_class_it_needs() {
    let state = apply_all(&[
        sent(0, "e", "PJSIPShowEndpoints"),
        response(0, "e", false, "Permission denied"),
        sent(0, "s", "SIPpeers"),
        response(0, "s", false, "Invalid/unknown command: SIPpeers. Use Action: ListCommands to show available commands."),
        sent(0, "c", "PJSIPShowContacts"),
        response(0, "c", false, "No Contacts found"),
    ]);
    assert!(matches!(
        state.list_status(ListKind::Endpoints),
        Some(ListStatus::Denied { .. })
    ));
    assert_eq!(ListKind::Endpoints.needs_label(), "needs write=system");
    assert_eq!(
        ListKind::Channels.needs_label(),
        "needs write=system or write=reporting"
    );
    assert!(matches!(
        state.list_status(ListKind::SipPeers),
        Some(ListStatus::Unsupported { .. })
    ));
    assert!(matches!(
        state.list_status(ListKind::Contacts),
        Some(ListStatus::Complete { items: 0, .. })
    ));
}

#[test]
fn a_list_that_times_out_is_failed_not_collecting_forever() {
    let state = apply_all(&[
        sent(0, "q", "QueueStatus"),
        entry(
            10,
            SessionEvent::ActionFailed {
                action_id: "q".into(),
                name: "QueueStatus".into(),
                error: ActionError::Timeout(Duration::from_secs(10)),
            },
        ),
    ]);
    assert!(matches!(
        state.list_status(ListKind::Queues),
        Some(ListStatus::Failed { .. })
    ));
    assert!(!state.is_collecting());
}

#[test]
fn calls_up_before_connecting_appear_with_their_true_age_and_names() {
    // The real Asterisk 22 capture: a Local/long@test call, two halves, 1 s old.
    let entries = transcript(&fixture("coreshowchannels-eventlist.txt"));
    let first_list_end = entries
        .iter()
        .position(|e| {
            matches!(
                &e.event,
                SessionEvent::Received {
                    link: Link::ListComplete { .. },
                    ..
                }
            )
        })
        .unwrap();
    let mut state = State::default();
    for e in &entries[..=first_list_end] {
        state.apply(e);
    }
    assert_eq!(
        live_names(&state),
        ["Local/long@test-00000008;1", "Local/long@test-00000008;2"]
    );
    let c = state.channel("1795893142.16").unwrap();
    assert_eq!(c.application, "Wait");
    assert_eq!(c.duration(entries[0].at), Duration::from_secs(1));
    let calls = state.calls();
    assert_eq!(calls.live_count(), 1);
    let call = calls.ordered()[0];
    assert_eq!(call.linkedid(), "1795893142.16");
    assert_eq!(call.channels().len(), 2);
    assert_eq!(call.duration(entries[0].at), Duration::from_secs(1));
    assert_eq!(call.caller_label(), "Local/long@test-00000008;1");
    assert_eq!(call.channel_column(), "Local/long@test-00000008;1 +1");
    // The capture then hangs them up (events off) and lists again: none is left, and
    // the model agrees without having seen a Hangup.
    for e in &entries[first_list_end + 1..] {
        state.apply(e);
    }
    assert_eq!(state.channel_count(), 0);
    assert_eq!(state.calls().live_count(), 0);
    assert_eq!(
        state
            .channel("1795893142.16")
            .unwrap()
            .ended
            .as_ref()
            .unwrap()
            .reason,
        ChannelEndReason::Gone { during_gap: false }
    );
}

#[test]
fn seeded_bridged_channels_of_two_linkedids_are_one_bridged_call() {
    let state = apply_all(&[
        sent(100, "c", "CoreShowChannels"),
        item(
            100,
            "c",
            core_show_channel("c", "5.1", "PJSIP/100-00000001", "5.1", 60, "br-9"),
        ),
        item(
            100,
            "c",
            core_show_channel("c", "5.2", "PJSIP/200-00000002", "5.9", 55, "br-9"),
        ),
        complete(100, "c", "CoreShowChannelsComplete"),
    ]);
    let calls = state.calls();
    assert_eq!(calls.live_count(), 1);
    let call = calls.ordered()[0];
    assert_eq!(call.state_label(), "bridged");
    assert_eq!(call.duration(at(100)), Duration::from_secs(60));
    assert_eq!(state.bridge_members("br-9").len(), 2);
}

#[test]
fn after_a_gap_the_snapshot_is_the_truth() {
    let a = "PJSIP/100-00000001";
    let b = "PJSIP/200-00000002";
    let mut state = apply_all(&[
        live(0, newchannel("1.1", a, "1.1")),
        live(0, newchannel("1.2", b, "1.2")),
        gap(50),
        sent(50, "c2", "CoreShowChannels"),
        // 1.1 is still up; 1.2 hung up while we were away; 1.3 is new, 20 s old.
        item(50, "c2", core_show_channel("c2", "1.1", a, "1.1", 50, "")),
        item(
            50,
            "c2",
            core_show_channel("c2", "1.3", "PJSIP/300-00000003", "1.3", 20, ""),
        ),
        complete(50, "c2", "CoreShowChannelsComplete"),
    ]);
    assert_eq!(live_names(&state), [a, "PJSIP/300-00000003"]);
    let gone = state.channel("1.2").unwrap();
    assert_eq!(
        gone.ended.as_ref().unwrap().reason,
        ChannelEndReason::Gone { during_gap: true }
    );
    assert_eq!(
        gone.ended.as_ref().unwrap().reason.label(),
        "gone during the gap"
    );
    assert_eq!(state.channel("1.3").unwrap().start, at(30));
    // The calls agree with Asterisk: two live, the gone one ended.
    let calls = state.calls();
    assert_eq!(calls.live_count(), state.channel_count());
    assert!(
        !calls.call_of_uniqueid("1.1").unwrap().missed_events(),
        "confirmed by the snapshot: no `bridged?`"
    );
    let ended = calls.call_of_uniqueid("1.2").unwrap();
    assert!(!ended.is_live());
    assert_eq!(ended.cause().unwrap().text, "gone during the gap");
    // A second reconnect with nothing up ends everything.
    state.apply(&gap(90));
    state.apply(&sent(90, "c3", "CoreShowChannels"));
    state.apply(&complete(90, "c3", "CoreShowChannelsComplete"));
    assert_eq!(state.channel_count(), 0);
    assert_eq!(state.calls().live_count(), 0);
}

#[test]
fn a_channel_hung_up_during_collection_is_not_resurrected_by_its_item() {
    let a = "PJSIP/100-00000001";
    let state = apply_all(&[
        sent(10, "c", "CoreShowChannels"),
        live(11, hangup("1.1", a, "1.1", "16", "Normal Clearing")),
        item(12, "c", core_show_channel("c", "1.1", a, "1.1", 5, "")),
        complete(12, "c", "CoreShowChannelsComplete"),
    ]);
    assert_eq!(state.channel_count(), 0);
    assert_eq!(state.calls().live_count(), 0);
}

#[test]
fn a_live_change_during_collection_wins_over_the_stale_item() {
    let a = "PJSIP/100-00000001";
    let state = apply_all(&[
        live(0, newchannel("1.1", a, "1.1")),
        sent(10, "c", "CoreShowChannels"),
        live(
            11,
            with(
                chan("NewCallerid", "1.1", a, "1.1", "Ringing"),
                &[("CallerIDNum", "555")],
            ),
        ),
        // The item was built before the change.
        item(12, "c", core_show_channel("c", "1.1", a, "1.1", 12, "")),
        complete(12, "c", "CoreShowChannelsComplete"),
    ]);
    let c = state.channel("1.1").unwrap();
    assert_eq!(c.state, "Ringing");
    assert_eq!(c.caller.num, "555");
    assert_eq!(c.start, at(0), "the Newchannel time is kept");
    assert_eq!(
        c.application, "Wait",
        "what no event said comes from the item"
    );
}

#[test]
fn a_channel_created_during_collection_is_not_ended_by_the_snapshot() {
    let state = apply_all(&[
        sent(10, "c", "CoreShowChannels"),
        live(11, newchannel("1.7", "PJSIP/100-00000007", "1.7")),
        complete(12, "c", "CoreShowChannelsComplete"),
    ]);
    assert_eq!(state.channel_count(), 1);
}

#[test]
fn the_queue_snapshot_replaces_members_and_callers_but_keeps_live_changes() {
    let params = msg(&[
        ("Event", "QueueParams"),
        ("Queue", "support"),
        ("Strategy", "ringall"),
        ("Completed", "4"),
        ("Abandoned", "1"),
        ("ActionID", "q"),
    ]);
    let member = |iface: &str| {
        let mut m = queue_member("QueueMember", iface, "1", "0", "");
        m = with(
            m.headers()
                .map(|(k, v)| {
                    (
                        String::from_utf8_lossy(k).into_owned(),
                        String::from_utf8_lossy(v).into_owned(),
                    )
                })
                .collect(),
            &[("ActionID", "q")],
        );
        m
    };
    let entry_item = with(
        chan("QueueEntry", "8.1", "PJSIP/300-00000001", "8.1", "Up"),
        &[
            ("Queue", "support"),
            ("Position", "1"),
            ("Wait", "42"),
            ("ActionID", "q"),
        ],
    );
    let state = apply_all(&[
        live(
            0,
            queue_member("QueueMemberAdded", "PJSIP/old", "1", "0", ""),
        ),
        sent(10, "q", "QueueStatus"),
        item(10, "q", params),
        item(10, "q", member("PJSIP/100")),
        item(10, "q", member("PJSIP/200")),
        // Removed while the list was collected, after its item went out.
        live(
            11,
            queue_member("QueueMemberRemoved", "PJSIP/200", "1", "0", ""),
        ),
        // Paused while collected, before its (stale) item.
        live(
            11,
            queue_member("QueueMemberPause", "PJSIP/300", "1", "1", "break"),
        ),
        item(12, "q", member("PJSIP/300")),
        item(12, "q", entry_item),
        complete(12, "q", "QueueStatusComplete"),
    ]);
    let q = state.queue("support").unwrap();
    assert_eq!(
        (q.strategy.as_str(), q.completed, q.abandoned),
        ("ringall", 4, 1)
    );
    let members: Vec<&str> = q.members.keys().map(String::as_str).collect();
    assert_eq!(
        members,
        ["PJSIP/100", "PJSIP/300"],
        "old gone, removed not resurrected"
    );
    assert!(q.members["PJSIP/300"].paused);
    assert_eq!(q.callers.len(), 1);
    assert_eq!(q.callers[0].wait(at(12)), Duration::from_secs(42));
}

#[test]
fn a_filtered_queue_status_removes_nothing() {
    let mut filtered = msg(&[
        ("Action", "QueueStatus"),
        ("ActionID", "q"),
        ("Queue", "other"),
    ]);
    filtered = filtered.unshared();
    let state = apply_all(&[
        live(
            0,
            queue_member("QueueMemberAdded", "PJSIP/100", "1", "0", ""),
        ),
        entry(
            1,
            SessionEvent::Sent {
                action_id: "q".into(),
                name: "QueueStatus".into(),
                message: filtered,
                internal: false,
            },
        ),
        complete(1, "q", "QueueStatusComplete"),
    ]);
    assert_eq!(state.queue("support").unwrap().members.len(), 1);
}

#[test]
fn device_and_extension_state_lists_seed() {
    let state = apply_all(&[
        sent(0, "d", "DeviceStateList"),
        item(
            0,
            "d",
            msg(&[
                ("Event", "DeviceStateChange"),
                ("ActionID", "d"),
                ("Device", "PJSIP/bob"),
                ("State", "UNAVAILABLE"),
            ]),
        ),
        complete(0, "d", "DeviceStateListComplete"),
        sent(0, "x", "ExtensionStateList"),
        item(
            0,
            "x",
            msg(&[
                ("Event", "ExtensionStatus"),
                ("ActionID", "x"),
                ("Exten", "1000"),
                ("Context", "demo"),
                ("Hint", "SIP/1000"),
                ("Status", "4"),
                ("StatusText", "Unavailable"),
            ]),
        ),
        complete(0, "x", "ExtensionStateListComplete"),
    ]);
    assert_eq!(state.device_states()["PJSIP/bob"], "UNAVAILABLE");
    assert_eq!(state.extension_states().next().unwrap().status, 4);
}

// ---- the calls model's truth ---------------------------------------------------

#[test]
fn a_ring_all_queue_call_ends_with_the_callers_cause_not_answered_elsewhere() {
    let caller_ch = "PJSIP/alice-00000001";
    let m1 = "Local/m1@test-00000001;1";
    let m2 = "Local/m2@test-00000002;1";
    let state = apply_all(&[
        live(0, newchannel("1.1", caller_ch, "1.1")),
        live(1, newchannel("1.2", m1, "1.1")),
        live(1, newchannel("1.3", m2, "1.1")),
        live(5, hangup("1.3", m2, "1.1", "26", "Answered elsewhere")),
        live(30, hangup("1.2", m1, "1.1", "16", "Normal Clearing")),
        live(30, hangup("1.1", caller_ch, "1.1", "16", "Normal Clearing")),
    ]);
    let call = state.calls().ordered()[0];
    assert!(!call.is_live());
    let cause = call.cause().unwrap();
    assert_eq!((cause.code, cause.channel.as_str()), (Some(16), caller_ch));
}

#[test]
fn live_calls_always_come_first() {
    let mut entries = Vec::new();
    for i in 0..50u64 {
        let u = format!("2.{i}");
        let n = format!("PJSIP/100-{i:08}");
        entries.push(live(i, newchannel(&u, &n, &u)));
        if i % 5 != 0 {
            entries.push(live(i + 100, hangup(&u, &n, &u, "16", "Normal Clearing")));
        }
    }
    let state = apply_all(&entries);
    let ordered = state.calls().ordered();
    let live_count = state.calls().live_count();
    assert_eq!(live_count, 10);
    assert!(ordered[..live_count].iter().all(|c| c.is_live()));
    assert!(ordered[live_count..].iter().all(|c| !c.is_live()));
    // No caller ID: the channel name stands in.
    assert!(ordered[0].caller_label().starts_with("PJSIP/100-"));
}

// ---- the property -------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Up(usize),
    CallerId(usize, u8),
    Exten(usize, bool),
    Enter(usize),
    Leave(usize),
    Hangup(usize),
    New,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..8usize).prop_map(Op::Up),
        (0..8usize, 0..3u8).prop_map(|(i, n)| Op::CallerId(i, n)),
        (0..8usize, any::<bool>()).prop_map(|(i, e)| Op::Exten(i, e)),
        (0..8usize).prop_map(Op::Enter),
        (0..8usize).prop_map(Op::Leave),
        (0..8usize).prop_map(Op::Hangup),
        Just(Op::New),
    ]
}

fn name_of(i: usize) -> String {
    format!("PJSIP/{}-{i:08}", 100 + i)
}

fn uid_of(i: usize) -> String {
    format!("1800000000.{i}")
}

/// The live event an op means, given the channels so far (how many were made, which
/// hung up: a server sends nothing more about those).
fn op_event(op: &Op, existing: &mut usize, dead: &mut Vec<usize>) -> Option<Message> {
    let pick = |i: &usize| (*i < *existing && !dead.contains(i)).then_some(*i);
    let bridge = [
        ("BridgeUniqueid", "br-1"),
        ("BridgeType", "basic"),
        ("BridgeTechnology", "simple_bridge"),
    ];
    Some(match op {
        Op::New => {
            let i = *existing;
            *existing += 1;
            newchannel(&uid_of(i), &name_of(i), &uid_of(i))
        }
        Op::Up(i) => {
            let i = pick(i)?;
            with(
                chan("Newstate", &uid_of(i), &name_of(i), &uid_of(i), "Up"),
                &[],
            )
        }
        Op::CallerId(i, n) => {
            let i = pick(i)?;
            let num = ["", "100", "200"][*n as usize];
            with(
                chan("NewCallerid", &uid_of(i), &name_of(i), &uid_of(i), "Up"),
                &[("CallerIDNum", num)],
            )
        }
        Op::Exten(i, with_data) => {
            let i = pick(i)?;
            let data = if *with_data { "30" } else { "" };
            with(
                chan("Newexten", &uid_of(i), &name_of(i), &uid_of(i), "Up"),
                &[
                    ("Application", "Wait"),
                    ("AppData", data),
                    ("Extension", "long"),
                ],
            )
        }
        Op::Enter(i) => {
            let i = pick(i)?;
            with(
                chan("BridgeEnter", &uid_of(i), &name_of(i), &uid_of(i), "Up"),
                &bridge,
            )
        }
        Op::Leave(i) => {
            let i = pick(i)?;
            with(
                chan("BridgeLeave", &uid_of(i), &name_of(i), &uid_of(i), "Up"),
                &bridge,
            )
        }
        Op::Hangup(i) => {
            let i = pick(i)?;
            dead.push(i);
            hangup(&uid_of(i), &name_of(i), &uid_of(i), "16", "Normal Clearing")
        }
    })
}

/// What the comparison looks at: every live channel's fields, and which ended.
fn projection(state: &State) -> (Vec<String>, Vec<String>, usize) {
    let live: Vec<String> = state
        .channels()
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {} {:?} {} {} {}({}) {:?} {:?}",
                c.uniqueid,
                c.name,
                c.linkedid,
                c.state,
                c.state_code,
                c.caller.num,
                c.exten,
                c.application,
                c.app_data,
                c.bridge,
                c.start
            )
        })
        .collect();
    let mut ended: Vec<String> = state.ended_channels().map(|c| c.uniqueid.clone()).collect();
    ended.sort();
    (live, ended, state.calls().live_count())
}

/// A `CoreShowChannel` item describing `channel` as it is, at `item_at`.
fn item_of(id: &str, c: &amicon::state::Channel, item_at: SystemTime) -> Message {
    let age = item_at.duration_since(c.start).unwrap().as_secs();
    let duration = format!("{:02}:{:02}:{:02}", age / 3600, age / 60 % 60, age % 60);
    let state_code = c.state_code.map(|s| s.to_string()).unwrap_or_default();
    let bridge = c.bridge.clone().unwrap_or_default();
    let num = if c.caller.num.is_empty() {
        "<unknown>"
    } else {
        &c.caller.num
    };
    msg(&[
        ("Event", "CoreShowChannel"),
        ("ActionID", id),
        ("Channel", &c.name),
        ("ChannelState", &state_code),
        ("ChannelStateDesc", &c.state),
        ("CallerIDNum", num),
        ("CallerIDName", "<unknown>"),
        ("ConnectedLineNum", "<unknown>"),
        ("ConnectedLineName", "<unknown>"),
        ("Language", "en"),
        ("AccountCode", ""),
        ("Context", &c.context),
        ("Exten", &c.exten),
        ("Priority", &c.priority),
        ("Uniqueid", &c.uniqueid),
        ("Linkedid", &c.linkedid),
        ("Application", &c.application),
        ("ApplicationData", &c.app_data),
        ("Duration", &duration),
        ("BridgeId", &bridge),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Channels exist (events `before`); amicon connects and lists them while live
    /// events (`after`) keep coming, items and events interleaved in any order. The
    /// result equals what the events alone give, fresh or reconnecting.
    #[test]
    fn any_interleaving_of_a_snapshot_with_live_events_gives_the_events_state(
        before in proptest::collection::vec(op(), 1..12),
        after in proptest::collection::vec(op(), 0..16),
        order in proptest::collection::vec(any::<bool>(), 0..40),
    ) {
        let mut existing = 0usize;
        let mut dead = Vec::new();
        let mut t = 0u64;
        let mut setup: Vec<Stamped> = Vec::new();
        for o in std::iter::once(&Op::New).chain(&before) {
            if let Some(m) = op_event(o, &mut existing, &mut dead) {
                setup.push(live(t, m));
                t += 1;
            }
        }
        let t0 = t;
        let at_t0 = apply_all(&setup);
        let mut events: Vec<Message> = Vec::new();
        for o in &after {
            events.extend(op_event(o, &mut existing, &mut dead));
        }
        // The events alone.
        let mut alone = apply_all(&setup);
        for (i, m) in events.iter().enumerate() {
            alone.apply(&live(t0 + 1 + i as u64, m.clone()));
        }
        // The snapshot items (the state at t0), interleaved with the events.
        let snapshot: Vec<&amicon::state::Channel> = at_t0.channels();
        let mut fresh = State::default();
        let mut reconnecting = apply_all(&setup);
        for s in [&mut fresh, &mut reconnecting] {
            s.apply(&sent(t0, "c", "CoreShowChannels"));
            let (mut ii, mut ei) = (0, 0);
            let mut k = 0;
            while ii < snapshot.len() || ei < events.len() {
                let take_item = ei >= events.len()
                    || (ii < snapshot.len() && order.get(k).copied().unwrap_or(true));
                k += 1;
                if take_item {
                    // An item leaves the server at t0, whenever it is read.
                    s.apply(&item(t0, "c", item_of("c", snapshot[ii], at(t0))));
                    ii += 1;
                } else {
                    s.apply(&live(t0 + 1 + ei as u64, events[ei].clone()));
                    ei += 1;
                }
            }
            s.apply(&complete(t0 + 1 + events.len() as u64, "c", "CoreShowChannelsComplete"));
        }
        let expected = projection(&alone);
        let (fresh_live, _, fresh_calls) = projection(&fresh);
        prop_assert_eq!(&fresh_live, &expected.0);
        // Calls join on bridge history (a channel that left a bridge another then
        // entered): history from before connecting is not in any snapshot, so the
        // call count is compared when there was none.
        if !before.iter().any(|o| matches!(o, Op::Leave(_))) {
            prop_assert_eq!(fresh_calls, expected.2);
        }
        prop_assert_eq!(projection(&reconnecting), expected);
    }
}

// ---- fixtures ---------------------------------------------------------------------

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/state/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture present")
}

/// A server transcript (client lines `>> ` dropped) as the session would publish it:
/// our list actions `Sent`, their answers linked by ActionID, the rest unsolicited;
/// all at one time, so ages read from `Duration` are exact.
fn transcript(bytes: &[u8]) -> Vec<Stamped> {
    let text: Vec<u8> = bytes
        .split_inclusive(|b| *b == b'\n')
        .filter(|l| !l.starts_with(b">> "))
        .flatten()
        .copied()
        .collect();
    let mut codec = if text.starts_with(b"Asterisk Call Manager") {
        AmiCodec::default()
    } else {
        AmiCodec::without_banner(1 << 20)
    };
    let mut buf = BytesMut::from(&text[..]);
    let mut out = Vec::new();
    let mut lists: Vec<String> = Vec::new();
    let mut frames = Vec::new();
    while let Ok(Some(frame)) = codec.decode(&mut buf) {
        frames.push(frame);
    }
    if let Ok(Some(frame)) = codec.decode_eof(&mut buf) {
        frames.push(frame);
    }
    for frame in frames {
        let Frame::Message(m) = frame else { continue };
        let id = m
            .action_id()
            .map(|a| String::from_utf8_lossy(a).into_owned());
        let is_response = m.event_name().is_none();
        let link = match (&id, is_response) {
            (Some(id), true) => {
                if m.is("EventList", "start") {
                    // The capture's list actions are the ones the session would send.
                    let name = if id.starts_with("csc") {
                        "CoreShowChannels"
                    } else if id.starts_with("QS") || id.starts_with("qs") {
                        "QueueStatus"
                    } else {
                        ""
                    };
                    if !name.is_empty() {
                        out.push(sent(0, id, name));
                        lists.push(id.clone());
                    }
                }
                Link::Response {
                    action_id: id.clone(),
                }
            }
            (Some(id), false) if lists.contains(id) && m.is("EventList", "Complete") => {
                Link::ListComplete {
                    action_id: id.clone(),
                }
            }
            (Some(id), false) if lists.contains(id) => Link::ListItem {
                action_id: id.clone(),
            },
            (Some(id), false) if m.is("Event", "OriginateResponse") => Link::Related {
                action_id: id.clone(),
            },
            _ => Link::Unsolicited,
        };
        out.push(entry(
            0,
            SessionEvent::Received {
                message: m,
                link,
                internal: false,
            },
        ));
    }
    out
}
