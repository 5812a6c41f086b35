//! Older Asterisks' event shapes, translated into the modern ones (Asterisk 12 and later)
//! that the calls model and the summaries understand.
//!
//! Asterisk 12 rewrote the AMI call events around bridges and channel snapshots. Boxes
//! still in service (Elastix and Issabel on 11, old appliances on 1.4/1.8) speak the
//! older dialect:
//!
//! | legacy (version)                                   | modern                         |
//! |----------------------------------------------------|--------------------------------|
//! | `Dial` with `SubEvent: Begin` / `End` (1.6 – 11)   | `DialBegin` / `DialEnd`        |
//! | `Dial` with `Source`, `SrcUniqueID` (1.4)          | `DialBegin`                    |
//! | `Bridge` with `Bridgestate: Link` / `Unlink` (1.6 – 11), `Link` / `Unlink` (1.4) | a `BridgeEnter` / `BridgeLeave` per channel, in a bridge named after the pair |
//! | `Join` / `Leave` with `Queue` (before 12)          | `QueueCallerJoin` / `QueueCallerLeave` |
//! | `LocalBridge` with `Channel1`, `Uniqueid1` (before 12) | `LocalBridge` with `LocalOne*`, `LocalTwo*` |
//! | `Newchannel` / `Newstate` with `State` (1.4)       | the same with `ChannelStateDesc` |
//! | `Rename` with `Oldname` (1.4)                      | `Rename` with `Channel`        |
//!
//! Before 13.5 `Newchannel` has no `Linkedid`: nothing to translate, the calls model then
//! keys a channel by its `Uniqueid` and joins the legs through the (translated) dial and
//! bridge events. `Response: Follows` command output (before 14) is the codec's business
//! (`Message::legacy_body`).
//!
//! [`modernize`] is pure and stateless: the same message always gives the same
//! translation, so a recording replays into the same calls. A translated message keeps
//! every header it did not rename (`Privilege`, `Timestamp`, `ChanVariable`...) and says
//! where it came from in `LegacyEvent:`. Modern messages come back as they are, borrowed.
//! The shapes are those of Asterisk's own sources (`app_dial.c`, `features.c`,
//! `app_queue.c`, `chan_local.c`, `channel.c` of 1.4, 1.8 and 11).

use crate::ami::Message;
use std::borrow::Cow;

/// The header naming the legacy event a translated message was made from.
pub const LEGACY_EVENT: &str = "LegacyEvent";

/// The bridge id given to a legacy two-party bridge (which has no id of its own): the
/// same for its `Link` and its `Unlink`, whichever channel is named first.
pub fn legacy_bridge_id(uniqueid1: &str, uniqueid2: &str) -> String {
    let (a, b) = if uniqueid1 <= uniqueid2 {
        (uniqueid1, uniqueid2)
    } else {
        (uniqueid2, uniqueid1)
    };
    format!("legacy-bridge-{a}+{b}")
}

/// The modern message(s) `msg` stands for: itself when it is already modern (or not an
/// event), else its translation (one message, or one per channel for a bridge).
pub fn modernize(msg: &Message) -> Cow<'_, [Message]> {
    match translate(msg) {
        Some(modern) => Cow::Owned(modern),
        None => Cow::Borrowed(std::slice::from_ref(msg)),
    }
}

/// Whether `msg` is in a legacy shape [`modernize`] translates.
pub fn is_legacy(msg: &Message) -> bool {
    legacy_kind(msg).is_some()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Legacy {
    DialBegin,
    DialEnd,
    /// 1.4's `Dial`: `Source`, `SrcUniqueID`, `Destination`, `DestUniqueID`.
    Dial14,
    BridgeLink,
    BridgeUnlink,
    QueueJoin,
    QueueLeave,
    LocalBridge,
    /// 1.4's `Newchannel` / `Newstate`: `State` instead of `ChannelStateDesc`.
    StateNamed,
    /// 1.4's `Rename`: `Oldname` instead of `Channel`.
    Rename14,
}

fn legacy_kind(msg: &Message) -> Option<Legacy> {
    let name = msg.event_name()?;
    // Cheap on the hot path: modern names fall through after one comparison or two.
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    let has = |k: &str| msg.get(k).is_some();
    if is("Dial") {
        return Some(match msg.get("SubEvent") {
            Some(s) if s.eq_ignore_ascii_case(b"End") => Legacy::DialEnd,
            Some(_) => Legacy::DialBegin,
            None if has("Source") || has("SrcUniqueID") => Legacy::Dial14,
            None => Legacy::DialBegin,
        });
    }
    if is("Bridge") && has("Bridgestate") {
        return Some(if msg.is("Bridgestate", "Unlink") {
            Legacy::BridgeUnlink
        } else {
            Legacy::BridgeLink
        });
    }
    if is("Link") && has("Uniqueid1") {
        return Some(Legacy::BridgeLink);
    }
    if is("Unlink") && has("Uniqueid1") {
        return Some(Legacy::BridgeUnlink);
    }
    if is("Join") && has("Queue") {
        return Some(Legacy::QueueJoin);
    }
    if is("Leave") && has("Queue") {
        return Some(Legacy::QueueLeave);
    }
    if is("LocalBridge") && has("Uniqueid1") && !has("LocalOneUniqueid") {
        return Some(Legacy::LocalBridge);
    }
    if (is("Newchannel") || is("Newstate")) && has("State") && !has("ChannelStateDesc") {
        return Some(Legacy::StateNamed);
    }
    if is("Rename") && has("Oldname") && !has("Channel") {
        return Some(Legacy::Rename14);
    }
    None
}

/// One header of a translated message: borrowed from the original where it can be.
type Header<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// A translated message under construction: the modern headers first, then every
/// original header not renamed, in its original order.
struct Modern<'a> {
    source: &'a Message,
    headers: Vec<Header<'a>>,
    used: Vec<&'static str>,
}

impl<'a> Modern<'a> {
    fn new(source: &'a Message, event: &'static str) -> Self {
        let legacy = source.event_name().unwrap_or_default();
        let mut m = Modern {
            source,
            headers: Vec::new(),
            used: vec!["Event"],
        };
        m.set(b"Event", event.as_bytes());
        m.set(LEGACY_EVENT.as_bytes(), legacy);
        m
    }

    fn set(&mut self, key: &'a [u8], value: &'a [u8]) {
        self.headers
            .push((Cow::Borrowed(key), Cow::Borrowed(value)));
    }

    fn set_owned(&mut self, key: &'static str, value: String) {
        self.headers.push((
            Cow::Borrowed(key.as_bytes()),
            Cow::Owned(value.into_bytes()),
        ));
    }

    /// Copies the first of `from` present (renamed to `to`), marking them all used.
    fn rename(&mut self, to: &'static str, from: &[&'static str]) {
        let value = from.iter().find_map(|k| self.source.get(k));
        self.used.extend_from_slice(from);
        if let Some(v) = value {
            self.set(to.as_bytes(), v);
        }
    }

    /// Keeps these headers under their own names, in this place.
    fn keep(&mut self, keys: &[&'static str]) {
        for k in keys {
            self.rename(k, &[k]);
        }
    }

    /// Marks headers as consumed without copying them.
    fn drop_keys(&mut self, keys: &[&'static str]) {
        self.used.extend_from_slice(keys);
    }

    fn finish(mut self, with_rest: bool) -> Message {
        if with_rest {
            for (k, v) in self.source.headers() {
                let used = self
                    .used
                    .iter()
                    .any(|u| k.eq_ignore_ascii_case(u.as_bytes()));
                if !used {
                    self.set(k, v);
                }
            }
        }
        Message::from_headers(&self.headers)
    }
}

fn translate(msg: &Message) -> Option<Vec<Message>> {
    let kind = legacy_kind(msg)?;
    let text = |k: &str| msg.get_str(k).map(|v| v.trim().to_string());
    Some(match kind {
        Legacy::DialBegin => {
            let mut m = Modern::new(msg, "DialBegin");
            m.keep(&["Privilege", "Channel"]);
            m.rename("Uniqueid", &["UniqueID"]);
            m.keep(&[
                "CallerIDNum",
                "CallerIDName",
                "ConnectedLineNum",
                "ConnectedLineName",
            ]);
            m.rename("DestChannel", &["Destination"]);
            m.rename("DestUniqueid", &["DestUniqueID"]);
            m.rename("DialString", &["Dialstring"]);
            m.drop_keys(&["SubEvent"]);
            vec![m.finish(true)]
        }
        Legacy::DialEnd => {
            let mut m = Modern::new(msg, "DialEnd");
            m.keep(&["Privilege", "Channel"]);
            m.rename("Uniqueid", &["UniqueID"]);
            m.keep(&["DialStatus"]);
            m.drop_keys(&["SubEvent"]);
            vec![m.finish(true)]
        }
        Legacy::Dial14 => {
            let mut m = Modern::new(msg, "DialBegin");
            m.keep(&["Privilege"]);
            m.rename("Channel", &["Source"]);
            m.rename("Uniqueid", &["SrcUniqueID"]);
            m.rename("CallerIDNum", &["CallerID"]);
            m.keep(&["CallerIDName"]);
            m.rename("DestChannel", &["Destination"]);
            m.rename("DestUniqueid", &["DestUniqueID"]);
            vec![m.finish(true)]
        }
        Legacy::BridgeLink | Legacy::BridgeUnlink => {
            let event = if kind == Legacy::BridgeLink {
                "BridgeEnter"
            } else {
                "BridgeLeave"
            };
            let (u1, u2) = (text("Uniqueid1")?, text("Uniqueid2")?);
            let bridge = legacy_bridge_id(&u1, &u2);
            let mut out = Vec::with_capacity(2);
            for (i, (channel, uniqueid, caller)) in [
                ("Channel1", "Uniqueid1", "CallerID1"),
                ("Channel2", "Uniqueid2", "CallerID2"),
            ]
            .into_iter()
            .enumerate()
            {
                let mut m = Modern::new(msg, event);
                m.keep(&["Privilege"]);
                m.set_owned("BridgeUniqueid", bridge.clone());
                m.rename("BridgeType", &["Bridgetype"]);
                m.rename("Channel", &[channel]);
                m.rename("Uniqueid", &[uniqueid]);
                // Only the number: as `CallerIDNum` it would blank the name the
                // channel is known by (a snapshot names both or neither).
                m.rename("CallerID", &[caller]);
                m.drop_keys(&[
                    "Bridgestate",
                    "Channel1",
                    "Channel2",
                    "Uniqueid1",
                    "Uniqueid2",
                    "CallerID1",
                    "CallerID2",
                ]);
                // Headers of the pair as a whole (ChanVariable...) go with the first only.
                out.push(m.finish(i == 0));
            }
            out
        }
        Legacy::QueueJoin | Legacy::QueueLeave => {
            let event = if kind == Legacy::QueueJoin {
                "QueueCallerJoin"
            } else {
                "QueueCallerLeave"
            };
            let mut m = Modern::new(msg, event);
            m.keep(&["Privilege", "Channel", "Uniqueid"]);
            m.rename("CallerIDNum", &["CallerIDNum", "CallerID"]);
            m.keep(&[
                "CallerIDName",
                "ConnectedLineNum",
                "ConnectedLineName",
                "Queue",
                "Position",
                "Count",
            ]);
            vec![m.finish(true)]
        }
        Legacy::LocalBridge => {
            let mut m = Modern::new(msg, "LocalBridge");
            m.keep(&["Privilege"]);
            m.rename("LocalOneChannel", &["Channel1"]);
            m.rename("LocalOneUniqueid", &["Uniqueid1"]);
            m.rename("LocalTwoChannel", &["Channel2"]);
            m.rename("LocalTwoUniqueid", &["Uniqueid2"]);
            m.keep(&["Context", "Exten", "LocalOptimization"]);
            vec![m.finish(true)]
        }
        Legacy::StateNamed => {
            let event = if msg.is("Event", "Newchannel") {
                "Newchannel"
            } else {
                "Newstate"
            };
            let mut m = Modern::new(msg, event);
            m.keep(&["Privilege", "Channel"]);
            m.rename("ChannelStateDesc", &["State"]);
            m.rename("CallerIDNum", &["CallerIDNum", "CallerID"]);
            m.keep(&["CallerIDName", "Uniqueid"]);
            vec![m.finish(true)]
        }
        Legacy::Rename14 => {
            let mut m = Modern::new(msg, "Rename");
            m.keep(&["Privilege"]);
            m.rename("Channel", &["Oldname"]);
            m.keep(&["Newname", "Uniqueid"]);
            vec![m.finish(true)]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> Message {
        Message::parse(text.replace('\n', "\r\n").as_bytes())
    }

    fn pairs(m: &Message) -> Vec<(String, String)> {
        m.headers()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn modern_events_and_responses_come_back_borrowed_and_unchanged() {
        for text in [
            "Event: DialBegin\nChannel: PJSIP/a-1\nUniqueid: 1.1\nDestUniqueid: 1.2\n",
            "Event: BridgeEnter\nBridgeUniqueid: b\nUniqueid: 1.1\n",
            "Response: Success\nActionID: 1\n",
            "Event: LocalBridge\nLocalOneUniqueid: 1.1\nLocalTwoUniqueid: 1.2\nUniqueid1: x\n",
            "Event: Newchannel\nChannel: SIP/a-1\nChannelState: 0\nChannelStateDesc: Down\nUniqueid: 1.1\n",
            "Event: Join\nChannel: ConfBridge\n",
        ] {
            let m = msg(text);
            assert!(!is_legacy(&m), "{text}");
            let out = modernize(&m);
            assert!(matches!(out, Cow::Borrowed(_)), "{text}");
            assert_eq!(out.as_ref(), std::slice::from_ref(&m));
        }
    }

    #[test]
    fn an_asterisk_11_dial_begin_becomes_a_dial_begin_with_its_destination() {
        let m = msg("Event: Dial\nPrivilege: call,all\nSubEvent: Begin\nChannel: SIP/alice-00000000\nDestination: SIP/bob-00000001\nCallerIDNum: 1001\nCallerIDName: Alice\nConnectedLineNum: <unknown>\nConnectedLineName: <unknown>\nUniqueID: 1700000000.0\nDestUniqueID: 1700000000.1\nDialstring: bob\nChanVariable: X=1\n");
        let out = modernize(&m);
        assert_eq!(out.len(), 1);
        let p = pairs(&out[0]);
        let want = [
            ("Event", "DialBegin"),
            ("LegacyEvent", "Dial"),
            ("Privilege", "call,all"),
            ("Channel", "SIP/alice-00000000"),
            ("Uniqueid", "1700000000.0"),
            ("CallerIDNum", "1001"),
            ("CallerIDName", "Alice"),
            ("ConnectedLineNum", "<unknown>"),
            ("ConnectedLineName", "<unknown>"),
            ("DestChannel", "SIP/bob-00000001"),
            ("DestUniqueid", "1700000000.1"),
            ("DialString", "bob"),
            ("ChanVariable", "X=1"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(p, want);
    }

    #[test]
    fn a_dial_end_keeps_its_status() {
        let m = msg("Event: Dial\nPrivilege: call,all\nSubEvent: End\nChannel: SIP/alice-00000000\nUniqueID: 1700000000.0\nDialStatus: ANSWER\n");
        let out = modernize(&m);
        assert!(out[0].is("Event", "DialEnd"));
        assert_eq!(out[0].get_str("Uniqueid").as_deref(), Some("1700000000.0"));
        assert_eq!(out[0].get_str("DialStatus").as_deref(), Some("ANSWER"));
        assert!(out[0].get("SubEvent").is_none());
    }

    #[test]
    fn a_1_4_dial_names_source_and_destination() {
        let m = msg("Event: Dial\nPrivilege: call,all\nSource: SIP/alice-0a1b\nDestination: SIP/bob-0c2d\nCallerID: 1001\nCallerIDName: Alice\nSrcUniqueID: 1200000000.5\nDestUniqueID: 1200000000.6\n");
        let out = modernize(&m);
        let d = &out[0];
        assert!(d.is("Event", "DialBegin"));
        assert_eq!(d.get_str("Channel").as_deref(), Some("SIP/alice-0a1b"));
        assert_eq!(d.get_str("Uniqueid").as_deref(), Some("1200000000.5"));
        assert_eq!(d.get_str("CallerIDNum").as_deref(), Some("1001"));
        assert_eq!(d.get_str("DestChannel").as_deref(), Some("SIP/bob-0c2d"));
        assert_eq!(d.get_str("DestUniqueid").as_deref(), Some("1200000000.6"));
    }

    #[test]
    fn a_bridge_link_and_its_unlink_are_one_bridge_entered_and_left_by_both() {
        let link = msg("Event: Bridge\nPrivilege: call,all\nBridgestate: Link\nBridgetype: core\nChannel1: SIP/alice-00000000\nChannel2: SIP/bob-00000001\nUniqueid1: 1700000000.0\nUniqueid2: 1700000000.1\nCallerID1: 1001\nCallerID2: 1002\n");
        // Unlink may name the pair the other way round: still the same bridge.
        let unlink = msg("Event: Unlink\nPrivilege: call,all\nChannel1: SIP/bob-00000001\nChannel2: SIP/alice-00000000\nUniqueid1: 1700000000.1\nUniqueid2: 1700000000.0\nCallerID1: 1002\nCallerID2: 1001\n");
        let enter = modernize(&link);
        let leave = modernize(&unlink);
        assert_eq!(enter.len(), 2);
        assert_eq!(leave.len(), 2);
        let bridge = legacy_bridge_id("1700000000.0", "1700000000.1");
        for m in enter.iter() {
            assert!(m.is("Event", "BridgeEnter"), "{m:?}");
            assert_eq!(
                m.get_str("BridgeUniqueid").as_deref(),
                Some(bridge.as_str())
            );
            assert_eq!(m.get_str("BridgeType").as_deref(), Some("core"));
            assert!(m.get("Channel1").is_none() && m.get("Uniqueid2").is_none());
        }
        for m in leave.iter() {
            assert!(m.is("Event", "BridgeLeave"), "{m:?}");
            assert_eq!(
                m.get_str("BridgeUniqueid").as_deref(),
                Some(bridge.as_str())
            );
        }
        assert_eq!(
            enter[0].get_str("Channel").as_deref(),
            Some("SIP/alice-00000000")
        );
        assert_eq!(enter[0].get_str("CallerID").as_deref(), Some("1001"));
        assert_eq!(
            enter[1].get_str("Uniqueid").as_deref(),
            Some("1700000000.1")
        );
        assert_eq!(leave[0].get_str("LegacyEvent").as_deref(), Some("Unlink"));
    }

    #[test]
    fn an_unlink_bridgestate_leaves() {
        let m = msg("Event: Bridge\nBridgestate: Unlink\nBridgetype: core\nChannel1: A\nChannel2: B\nUniqueid1: 1.1\nUniqueid2: 1.2\n");
        assert!(modernize(&m).iter().all(|m| m.is("Event", "BridgeLeave")));
    }

    #[test]
    fn a_bridge_without_both_uniqueids_is_left_as_it_is() {
        let m = msg("Event: Bridge\nBridgestate: Link\nChannel1: A\nUniqueid1: 1.1\n");
        assert!(is_legacy(&m));
        assert_eq!(modernize(&m).as_ref(), std::slice::from_ref(&m));
    }

    #[test]
    fn queue_join_and_leave_become_queue_caller_events() {
        let join = msg("Event: Join\nPrivilege: call,all\nChannel: SIP/alice-00000000\nCallerIDNum: 1001\nCallerIDName: Alice\nConnectedLineNum: unknown\nConnectedLineName: unknown\nQueue: support\nPosition: 1\nCount: 1\nUniqueid: 1700000000.0\n");
        let leave = msg("Event: Leave\nPrivilege: call,all\nChannel: SIP/alice-00000000\nQueue: support\nCount: 0\nPosition: 1\nUniqueid: 1700000000.0\n");
        let j = &modernize(&join)[0];
        assert!(j.is("Event", "QueueCallerJoin"));
        assert_eq!(j.get_str("Queue").as_deref(), Some("support"));
        assert_eq!(j.get_str("Position").as_deref(), Some("1"));
        let l = &modernize(&leave)[0];
        assert!(l.is("Event", "QueueCallerLeave"));
        assert_eq!(l.get_str("Count").as_deref(), Some("0"));
        // 1.4's Join says CallerID.
        let old = msg("Event: Join\nChannel: SIP/a-1\nCallerID: 1001\nCallerIDName: A\nQueue: q\nPosition: 1\nCount: 1\nUniqueid: 1.1\n");
        assert_eq!(
            modernize(&old)[0].get_str("CallerIDNum").as_deref(),
            Some("1001")
        );
    }

    #[test]
    fn an_11_local_bridge_names_its_halves_one_and_two() {
        let m = msg("Event: LocalBridge\nPrivilege: call,all\nChannel1: Local/100@from-internal-0001;1\nChannel2: Local/100@from-internal-0001;2\nUniqueid1: 1.1\nUniqueid2: 1.2\nContext: from-internal\nExten: 100\nLocalOptimization: Yes\n");
        let l = &modernize(&m)[0];
        assert_eq!(
            l.get_str("LocalOneChannel").as_deref(),
            Some("Local/100@from-internal-0001;1")
        );
        assert_eq!(l.get_str("LocalTwoUniqueid").as_deref(), Some("1.2"));
        assert!(l.get("Uniqueid1").is_none());
    }

    #[test]
    fn a_1_4_newstate_gets_a_channel_state_desc() {
        let m = msg("Event: Newstate\nPrivilege: call,all\nChannel: SIP/bob-0c2d\nState: Ringing\nCallerID: 1002\nCallerIDName: Bob\nUniqueid: 1200000000.6\n");
        let s = &modernize(&m)[0];
        assert!(s.is("Event", "Newstate"));
        assert_eq!(s.get_str("ChannelStateDesc").as_deref(), Some("Ringing"));
        assert_eq!(s.get_str("CallerIDNum").as_deref(), Some("1002"));
        let r = msg("Event: Rename\nOldname: SIP/a-1\nNewname: SIP/a-1<MASQ>\nUniqueid: 1.1\n");
        assert_eq!(
            modernize(&r)[0].get_str("Channel").as_deref(),
            Some("SIP/a-1")
        );
    }

    #[test]
    fn odd_input_never_panics() {
        for text in [
            "Event: Dial\n",
            "Event: Dial\nSubEvent: \n",
            "Event: Bridge\nBridgestate:\n",
            "Event: Link\nUniqueid1: 1\n",
            "Event: Join\nQueue:\n",
            "Event: LocalBridge\nUniqueid1: \n",
            "Event: Newchannel\nState: \n",
            "Event: Rename\nOldname:\n",
            "",
        ] {
            let m = msg(text);
            let _ = modernize(&m);
        }
    }
}
