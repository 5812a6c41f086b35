//! Per-event summary rules: the few headers an Asterisk engineer scans for in each
//! event class, chosen once for every front end (line output, the TUI's event log).

use super::line::{push_display, push_value};
use super::Charset;
use crate::ami::Message;
use std::borrow::Cow;

/// The few headers that matter for one message, chosen per event class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary<'a> {
    /// Event name, action name, or for a response its `Response` value.
    pub name: Cow<'a, [u8]>,
    /// Labels and values, in display order. Values are bytes: decode them for display
    /// with a [`Charset`].
    pub fields: Vec<SummaryField<'a>>,
}

/// A label and its value, borrowed from the message where possible.
pub type SummaryField<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

impl Summary<'_> {
    /// `Key=value Key="value with spaces"`, decoded with `charset`; control characters
    /// escaped so a hostile value cannot drive the terminal.
    pub fn fields_text(&self, charset: Charset) -> String {
        let mut out = String::new();
        self.push_fields(&mut out, charset);
        out
    }

    pub(super) fn push_fields(&self, out: &mut String, charset: Charset) {
        for (i, (key, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            push_display(out, &charset.decode(key));
            out.push('=');
            push_value(out, &charset.decode(value));
        }
    }
}

/// One item of a summary rule.
#[derive(Clone, Copy)]
enum Field {
    /// Every value of this header, labelled with its own key.
    Header(&'static str),
    /// The header's values under a shorter label.
    Renamed(&'static str, &'static str),
    /// Number and name combined the way Asterisk prints them: `Alice <100>`.
    CallerId {
        num: &'static str,
        name: &'static str,
        label: &'static str,
    },
    /// `Context`, `Exten`, `Priority` as Asterisk's `context,exten,priority`.
    Dialplan,
    /// `VarSet`'s `Variable` and `Value` as `NAME=value`.
    Assignment,
    /// Every remaining header that is not noise.
    Rest,
}

use Field::{Assignment, CallerId, Dialplan, Header as H, Renamed, Rest};

const CALLER: Field = CallerId {
    num: "CallerIDNum",
    name: "CallerIDName",
    label: "CallerID",
};
const CONNECTED: Field = CallerId {
    num: "ConnectedLineNum",
    name: "ConnectedLineName",
    label: "Connected",
};
const STATE: Field = Renamed("ChannelStateDesc", "State");

/// Headers never worth a place on a summary line (still in raw and JSON output):
/// identifiers that only make sense to a program, and numeric twins of shown text.
const NOISE: &[&str] = &[
    "Event",
    "Privilege",
    "ActionID",
    "Uniqueid",
    "Linkedid",
    "Language",
    "AccountCode",
    "ChannelState",
    "SequenceNumber",
    "File",
    "Line",
    "Func",
    "EventList",
];

/// Rules by event name: exact, or a prefix when it ends in `*`; the first match wins.
/// The choice is what an Asterisk engineer scans for in each class.
const RULES: &[(&str, &[Field])] = &[
    ("Newchannel", &[H("Channel"), STATE, CALLER, Dialplan]),
    ("Newstate", &[H("Channel"), STATE, CALLER, CONNECTED]),
    ("NewCallerid", &[H("Channel"), CALLER, H("CID-CallingPres")]),
    ("NewConnectedLine", &[H("Channel"), CONNECTED]),
    (
        "Newexten",
        &[H("Channel"), Dialplan, H("Application"), H("AppData")],
    ),
    ("VarSet", &[H("Channel"), Assignment]),
    (
        "Hangup*",
        &[H("Channel"), CALLER, H("Cause"), H("Cause-txt")],
    ),
    (
        "SoftHangupRequest",
        &[H("Channel"), CALLER, H("Cause"), H("Cause-txt")],
    ),
    (
        "Dial*",
        &[
            H("Channel"),
            H("DestChannel"),
            CallerId {
                num: "DestCallerIDNum",
                name: "DestCallerIDName",
                label: "DestCallerID",
            },
            H("DialString"),
            H("DialStatus"),
            H("Forward"),
        ],
    ),
    (
        "LocalBridge",
        &[
            H("LocalOneChannel"),
            H("LocalTwoChannel"),
            H("Context"),
            H("Exten"),
            H("LocalOptimization"),
        ],
    ),
    (
        "LocalOptimization*",
        &[
            H("LocalOneChannel"),
            H("LocalTwoChannel"),
            H("SourceChannel"),
            H("Success"),
        ],
    ),
    (
        "Bridge*",
        &[
            H("Channel"),
            H("BridgeUniqueid"),
            H("BridgeType"),
            H("BridgeTechnology"),
            H("BridgeNumChannels"),
            H("FromBridgeUniqueid"),
            H("ToBridgeUniqueid"),
        ],
    ),
    (
        "QueueParams",
        &[
            H("Queue"),
            H("Strategy"),
            H("Calls"),
            H("Holdtime"),
            H("TalkTime"),
            H("Completed"),
            H("Abandoned"),
        ],
    ),
    (
        "Queue*",
        &[
            H("Queue"),
            H("MemberName"),
            H("Interface"),
            H("Status"),
            H("Paused"),
            H("PausedReason"),
            H("Channel"),
            CALLER,
            H("Position"),
            H("Count"),
            H("Reason"),
            H("HoldTime"),
            H("TalkTime"),
        ],
    ),
    (
        "Agent*",
        &[
            H("Queue"),
            H("Agent"),
            H("MemberName"),
            H("Interface"),
            H("Channel"),
            CALLER,
            H("DestChannel"),
            H("Status"),
            H("HoldTime"),
            H("TalkTime"),
            H("Reason"),
        ],
    ),
    (
        "CoreShowChannel",
        &[
            H("Channel"),
            STATE,
            CALLER,
            CONNECTED,
            Dialplan,
            H("Application"),
            H("ApplicationData"),
            H("Duration"),
            H("BridgeId"),
        ],
    ),
    (
        "Status",
        &[
            H("Channel"),
            STATE,
            CALLER,
            Dialplan,
            H("Application"),
            H("Data"),
            H("Seconds"),
            H("BridgeID"),
            H("Variable"),
        ],
    ),
    (
        "OriginateResponse",
        &[
            H("Response"),
            H("Channel"),
            H("Reason"),
            CALLER,
            H("Application"),
            H("Data"),
        ],
    ),
    ("DeviceStateChange", &[H("Device"), H("State")]),
    (
        "ExtensionStatus",
        &[H("Exten"), H("Context"), H("Hint"), H("StatusText")],
    ),
    (
        "PeerStatus",
        &[H("Peer"), H("PeerStatus"), H("Cause"), H("Address")],
    ),
    (
        "ContactStatus",
        &[
            H("URI"),
            H("ContactStatus"),
            H("AOR"),
            H("EndpointName"),
            H("RoundtripUsec"),
        ],
    ),
    (
        "Contact*",
        &[
            H("URI"),
            H("Status"),
            H("AOR"),
            H("EndpointName"),
            H("RoundtripUsec"),
        ],
    ),
    (
        "Endpoint*",
        &[
            H("ObjectName"),
            H("DeviceState"),
            H("ActiveChannels"),
            H("Contacts"),
            H("Transport"),
        ],
    ),
    (
        "Aor*",
        &[H("ObjectName"), H("Contacts"), H("TotalContacts")],
    ),
    (
        "Registry",
        &[
            H("ChannelType"),
            H("Domain"),
            H("Username"),
            H("Status"),
            H("Cause"),
        ],
    ),
    ("FullyBooted", &[H("Status")]),
    ("Reload", &[H("Module"), H("Status")]),
    ("UserEvent", &[H("UserEvent"), H("Channel"), Rest]),
    (
        "Cdr",
        &[
            H("Source"),
            H("Destination"),
            H("DestinationContext"),
            H("Channel"),
            H("DestinationChannel"),
            H("Disposition"),
            H("Duration"),
            H("BillableSeconds"),
        ],
    ),
    (
        "CEL",
        &[
            H("EventName"),
            H("Channel"),
            Renamed("CallerIDnum", "CallerID"),
            H("Application"),
            H("AppData"),
        ],
    ),
    ("MusicOnHold*", &[H("Channel"), H("Class")]),
    ("Hold", &[H("Channel"), H("MusicClass")]),
    ("Unhold", &[H("Channel")]),
    (
        "DTMF*",
        &[H("Channel"), H("Digit"), H("Direction"), H("DurationMs")],
    ),
    (
        "AttendedTransfer",
        &[
            H("OrigTransfererChannel"),
            H("SecondTransfererChannel"),
            H("TransfereeChannel"),
            H("TransferTargetChannel"),
            H("DestType"),
            H("Result"),
        ],
    ),
    (
        "BlindTransfer",
        &[
            H("TransfererChannel"),
            H("TransfereeChannel"),
            H("Extension"),
            H("Context"),
            H("Result"),
        ],
    ),
    ("Rename", &[H("Channel"), H("Newname")]),
    ("NewAccountCode", &[H("Channel"), H("AccountCode")]),
    ("ChanSpy*", &[H("SpyerChannel"), H("SpyeeChannel")]),
    ("MixMonitor*", &[H("Channel")]),
    (
        "Confbridge*",
        &[
            H("Conference"),
            H("Channel"),
            CALLER,
            H("TalkingStatus"),
            H("Admin"),
        ],
    ),
    (
        "Meetme*",
        &[H("Meetme"), H("Usernum"), H("Channel"), CALLER],
    ),
    ("Pickup", &[H("Channel"), H("TargetChannel")]),
    ("ChannelHungup", &[H("Channel")]),
    (
        "SuccessfulAuth",
        &[
            H("Service"),
            H("AccountID"),
            H("RemoteAddress"),
            H("UsingPassword"),
        ],
    ),
    // Other security events (FailedACL, InvalidPassword, ChallengeResponseFailed, ...)
    // all carry these; matched below by their `Severity` header.
];

const SECURITY: &[Field] = &[
    H("Service"),
    H("AccountID"),
    H("RemoteAddress"),
    H("Severity"),
];
const CHANNEL_BLOCK: &[Field] = &[H("Channel"), STATE, CALLER, Rest];
const FALLBACK: &[Field] = &[Rest];
const RESPONSE: &[Field] = &[H("Message"), H("Ping"), H("Variable"), H("Value"), Rest];
/// More fields than this and the line ends with a count of what was left out.
const MAX_FIELDS: usize = 10;

fn rule_for(name: &[u8]) -> Option<&'static [Field]> {
    RULES.iter().find_map(|(pattern, fields)| {
        let hit = match pattern.strip_suffix('*') {
            Some(prefix) => {
                name.len() >= prefix.len()
                    && name[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
            }
            None => name.len() == pattern.len() && name.eq_ignore_ascii_case(pattern.as_bytes()),
        };
        hit.then_some(*fields)
    })
}

/// The few headers that matter for this message: per event class for events, the
/// status and message for responses, every header but `Action`/`ActionID` for actions.
/// `Uniqueid`/`Linkedid` are left out as noise (raw and JSON keep everything).
pub fn summary(msg: &Message) -> Summary<'_> {
    let headers = Headers::of(msg);
    let event = headers.get("Event");
    let (name, fields): (&[u8], &[Field]) = match event {
        Some(name) => {
            let fields = if headers
                .get("EventList")
                .is_some_and(|v| v.eq_ignore_ascii_case(b"Complete"))
            {
                &[H("ListItems")][..]
            } else if let Some(rule) = rule_for(name) {
                rule
            } else if headers.get("Severity").is_some() && headers.get("Service").is_some() {
                SECURITY
            } else if headers.get("Channel").is_some() {
                CHANNEL_BLOCK
            } else {
                FALLBACK
            };
            (name, fields)
        }
        None => match headers.get("Response") {
            Some(response) => (response, RESPONSE),
            None => (headers.get("Action").unwrap_or_default(), FALLBACK),
        },
    };
    let mut shown: Vec<&[u8]> = Vec::with_capacity(32);
    shown.extend([&b"Action"[..], b"Response"]);
    if event.is_some() {
        shown.push(b"Event");
    }
    let mut out = Vec::with_capacity(MAX_FIELDS + 1);
    for field in fields {
        collect(&headers, *field, &mut shown, &mut out);
    }
    if let Some(body) = msg.legacy_body() {
        let lines = body
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        out.push((
            Cow::Borrowed(&b"Body"[..]),
            Cow::Owned(format!("{lines} lines").into_bytes()),
        ));
    }
    if out.len() > MAX_FIELDS {
        let more = out.len() - MAX_FIELDS;
        out.truncate(MAX_FIELDS);
        out.push((
            Cow::Borrowed(&b"more"[..]),
            Cow::Owned(format!("{more} fields").into_bytes()),
        ));
    }
    Summary {
        name: Cow::Borrowed(name),
        fields: out,
    }
}

fn is_unknown(value: &[u8]) -> bool {
    value.is_empty() || value.eq_ignore_ascii_case(b"<unknown>")
}

/// A message's headers split once, so a summary's many lookups do not each rescan
/// the message for colons.
struct Headers<'a> {
    list: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> Headers<'a> {
    fn of(msg: &'a Message) -> Headers<'a> {
        Headers {
            list: msg.headers().collect(),
        }
    }

    fn all(&self, key: &'a str) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        let key = key.as_bytes();
        self.list
            .iter()
            .copied()
            .filter(move |(k, _)| k.len() == key.len() && k.eq_ignore_ascii_case(key))
    }

    fn get(&self, key: &'a str) -> Option<&'a [u8]> {
        self.all(key).next().map(|(_, v)| v)
    }
}

fn collect<'a>(
    msg: &Headers<'a>,
    field: Field,
    shown: &mut Vec<&'a [u8]>,
    out: &mut Vec<SummaryField<'a>>,
) {
    match field {
        H(key) | Renamed(key, _) => {
            shown.push(key.as_bytes());
            let label: &[u8] = match field {
                Renamed(_, label) => label.as_bytes(),
                _ => key.as_bytes(),
            };
            for (k, v) in msg.all(key) {
                if !v.is_empty() {
                    let label = if matches!(field, H(_)) { k } else { label };
                    out.push((Cow::Borrowed(label), Cow::Borrowed(v)));
                }
            }
        }
        CallerId { num, name, label } => {
            shown.push(num.as_bytes());
            shown.push(name.as_bytes());
            let num = msg.get(num).filter(|v| !is_unknown(v));
            let name = msg.get(name).filter(|v| !is_unknown(v));
            let value: Cow<'a, [u8]> = match (num, name) {
                (Some(n), None) => Cow::Borrowed(n),
                (None, Some(name)) => Cow::Borrowed(name),
                (Some(n), Some(name)) if n == name => Cow::Borrowed(n),
                (Some(n), Some(name)) => Cow::Owned([name, b" <", n, b">"].concat()),
                (None, None) => return,
            };
            out.push((Cow::Borrowed(label.as_bytes()), value));
        }
        Dialplan => {
            let parts = ["Context", "Exten", "Priority"];
            shown.extend(parts.iter().map(|p| p.as_bytes()));
            let values: Vec<&[u8]> = parts
                .iter()
                .map(|p| msg.get(p).unwrap_or_default())
                .collect();
            if values.iter().any(|v| !v.is_empty()) {
                out.push((
                    Cow::Borrowed(&b"Dialplan"[..]),
                    Cow::Owned(values.join(&b","[..])),
                ));
            }
        }
        Assignment => {
            shown.push(b"Variable");
            shown.push(b"Value");
            if let Some(var) = msg.get("Variable") {
                let value = msg.get("Value").unwrap_or_default();
                out.push((Cow::Borrowed(var), Cow::Borrowed(value)));
            }
        }
        Rest => {
            for &(k, v) in &msg.list {
                let hidden = NOISE.iter().any(|n| k.eq_ignore_ascii_case(n.as_bytes()))
                    || shown.iter().any(|s| k.eq_ignore_ascii_case(s));
                if !hidden && !v.is_empty() {
                    out.push((Cow::Borrowed(k), Cow::Borrowed(v)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::test_support::*;

    #[test]
    fn newchannel_summary_shows_channel_state_caller_and_dialplan() {
        let m = capture("originate-local-call-events.txt");
        assert_eq!(
            fields(first_event(&m, "Newchannel")),
            "Newchannel Channel=Local/echo@test-00000007;1 State=Down Dialplan=test,echo,1"
        );
    }

    #[test]
    fn caller_id_is_combined_and_unknown_parts_left_out() {
        let m = capture("escaped-values.txt");
        let newstate = first_event(&m, "Newstate");
        assert!(
            fields(newstate).contains("CallerID=\"O\\'Brien\\? <1000>\""),
            "{}",
            fields(newstate)
        );
    }

    #[test]
    fn varset_summary_is_the_assignment() {
        let m = capture("originate-local-call-events.txt");
        assert_eq!(
            fields(first_event(&m, "VarSet")),
            "VarSet Channel=Local/echo@test-00000007;1 TWO=2"
        );
    }

    #[test]
    fn newexten_summary_shows_application_and_data() {
        let m = capture("originate-local-call-events.txt");
        let line = fields(first_event(&m, "Newexten"));
        assert!(
            line.ends_with("Dialplan=test,echo,1 Application=AppDial2 AppData=\"(Outgoing Line)\""),
            "{line}"
        );
    }

    #[test]
    fn hangup_summary_shows_cause_and_its_text_but_no_uniqueid() {
        let m = capture("originate-local-call-events.txt");
        let line = fields(first_event(&m, "Hangup"));
        assert!(
            line.contains("Cause=16 Cause-txt=\"Normal Clearing\""),
            "{line}"
        );
        assert!(
            !line.contains("Uniqueid") && !line.contains("Linkedid"),
            "{line}"
        );
    }

    #[test]
    fn dial_summary_shows_the_destination() {
        let m = capture("escaped-values.txt");
        let line = fields(first_event(&m, "DialEnd"));
        assert!(
            line.contains("DestChannel=Local/echo@test-0000000b;1"),
            "{line}"
        );
        assert!(line.contains("DialStatus=ANSWER"), "{line}");
    }

    #[test]
    fn list_items_and_the_list_end_get_their_own_fields() {
        let m = capture("coreshowchannels-eventlist.txt");
        let item = fields(first_event(&m, "CoreShowChannel"));
        assert!(
            item.contains("Application=Wait ApplicationData=30"),
            "{item}"
        );
        assert!(item.contains("Duration="), "{item}");
        assert_eq!(
            fields(first_event(&m, "CoreShowChannelsComplete")),
            "CoreShowChannelsComplete ListItems=2"
        );
    }

    #[test]
    fn responses_show_status_and_message() {
        let m = capture("coreshowchannels-eventlist.txt");
        let response = m
            .iter()
            .find(|m| m.is("ActionID", "csc-1") && m.kind() == Kind::Response)
            .unwrap();
        let line = fields(response);
        assert_eq!(line, "Success Message=\"Channels will follow\"");
    }

    #[test]
    fn command_output_is_counted_not_spelled_out() {
        let m = capture("command-long-output.txt");
        let response = m.iter().find(|m| m.get("Output").is_some()).unwrap();
        let s = summary(response);
        assert!(s.fields.len() <= MAX_FIELDS + 1);
        assert_eq!(s.fields.last().unwrap().0.as_ref(), b"more");
    }

    #[test]
    fn every_captured_message_has_a_summary_without_noise() {
        for entry in std::fs::read_dir("tests/fixtures/vectors").unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "txt") {
                continue;
            }
            for m in capture(path.file_name().unwrap().to_str().unwrap()) {
                let s = summary(&m);
                assert!(s.fields.len() <= MAX_FIELDS + 1);
                for (k, _) in &s.fields {
                    assert!(
                        !k.eq_ignore_ascii_case(b"Uniqueid")
                            && !k.eq_ignore_ascii_case(b"Privilege"),
                        "{m:?}"
                    );
                }
            }
        }
    }
}
