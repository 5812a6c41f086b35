//! Output formats shared by every front end: raw AMI text, one-line summaries, JSON Lines.
//!
//! It exists so `watch`, line mode and the TUI show a message the same way, and so the
//! choice of what matters in each event class is made once. All of it is display only:
//! message bytes are never changed; text is decoded here, as UTF-8 or with a charset set
//! per profile, and anything that does not decode is shown as `\xNN` (lines) or kept as
//! base64 (JSON), never silently replaced by U+FFFD.
//!
//! Times: JSON carries UTC ISO-8601 with microseconds (`2026-11-28T20:01:02.123456Z`);
//! one-line output shows UTC `HH:MM:SS.mmm` (no time-zone database is consulted).

use crate::ami::{Kind, Message};
use crate::session::event::{Link, SessionEvent, SessionState, Stamped};
use encoding_rs::{DecoderResult, Encoding};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------------
// Charset

/// How to show bytes that are not valid UTF-8 (PBXs in China and Europe still send GBK
/// or Latin-1 caller names). Valid UTF-8 is always shown as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Charset {
    /// `None`: invalid bytes are shown as `\xNN`.
    fallback: Option<&'static Encoding>,
}

/// A charset label that `encoding_rs` does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown charset {label:?}: try utf-8, latin1 (iso-8859-1, windows-1252), iso-8859-15, gbk, gb18030, big5, shift_jis, euc-kr, koi8-r")]
pub struct CharsetError {
    pub label: String,
}

impl Charset {
    /// UTF-8 only: invalid bytes are shown as `\xNN`.
    pub const UTF8: Charset = Charset { fallback: None };

    /// Reads a WHATWG encoding label (`utf-8`, `latin1`, `iso-8859-1`, `windows-1252`,
    /// `gbk`, `gb18030`, ...). Note that, as in browsers, `latin1` and `iso-8859-1` mean
    /// windows-1252, which differs only in the C1 control range.
    pub fn parse(label: &str) -> Result<Charset, CharsetError> {
        let encoding =
            Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| CharsetError {
                label: label.to_string(),
            })?;
        if encoding == encoding_rs::UTF_8 {
            return Ok(Charset::UTF8);
        }
        Ok(Charset {
            fallback: Some(encoding),
        })
    }

    /// The charset's canonical name (`UTF-8`, `windows-1252`, `GBK`).
    pub fn name(&self) -> &'static str {
        self.fallback.map_or("UTF-8", Encoding::name)
    }

    /// Text for display: valid UTF-8 as it is; otherwise decoded with the charset if one
    /// is set; bytes that still do not decode are shown as `\xNN`.
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Cow<'a, str> {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return Cow::Borrowed(s);
        }
        let mut out = String::with_capacity(bytes.len() + 8);
        match self.fallback {
            Some(encoding) => {
                decode_with(encoding, bytes, &mut out, true);
            }
            None => escape_invalid_utf8(bytes, &mut out),
        }
        Cow::Owned(out)
    }

    /// Text only when it is exact: valid UTF-8, or bytes the charset decodes without
    /// error. `None` means the bytes must be carried some other way (base64).
    pub fn decode_exact<'a>(&self, bytes: &'a [u8]) -> Option<Cow<'a, str>> {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return Some(Cow::Borrowed(s));
        }
        let encoding = self.fallback?;
        let mut out = String::with_capacity(bytes.len() + 8);
        decode_with(encoding, bytes, &mut out, false).then_some(Cow::Owned(out))
    }
}

fn escape_invalid_utf8(bytes: &[u8], out: &mut String) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
}

/// Decodes `bytes` into `out`; malformed sequences are written as `\xNN` when `escape`
/// is set, else decoding stops. Returns whether everything decoded.
fn decode_with(encoding: &'static Encoding, bytes: &[u8], out: &mut String, escape: bool) -> bool {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut src = bytes;
    let mut clean = true;
    loop {
        let need = decoder
            .max_utf8_buffer_length_without_replacement(src.len())
            .unwrap_or(src.len() * 3 + 16);
        out.reserve(need);
        let (result, read) = decoder.decode_to_string_without_replacement(src, out, true);
        match result {
            DecoderResult::InputEmpty => return clean,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(bad, after) => {
                clean = false;
                if !escape {
                    return false;
                }
                let end = read.saturating_sub(after as usize);
                let start = end.saturating_sub(bad as usize);
                for b in &src[start..end] {
                    let _ = write!(out, "\\x{b:02X}");
                }
            }
        }
        src = &src[read..];
    }
}

// ---------------------------------------------------------------------------------------
// Raw

/// A message as its exact AMI wire bytes (terminating blank line and any legacy
/// `Command` body included): lossless.
pub fn raw(msg: &Message) -> &[u8] {
    msg.wire()
}

// ---------------------------------------------------------------------------------------
// Summary

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

    fn push_fields(&self, out: &mut String, charset: Charset) {
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

// ---------------------------------------------------------------------------------------
// One line

/// One line for `watch --format line` and line mode, e.g.
/// `20:01:02.123 EV Newchannel       Channel=Local/echo@test-00000001;1 State=Down CallerID="Alice <100>"`.
///
/// Kinds: `EV` event, `>>` action sent, `<<` response (list items and the list end are
/// `EV` with the action's id in brackets), `--` connection state and server info, `!!`
/// failed action, protocol error or dropped messages, `~~` gap, `..` keepalive pong.
/// Values with spaces are quoted the way the filter language reads them, so a field can
/// be copied into a filter. No line break ever appears inside the line.
pub fn one_line(stamped: &Stamped, charset: Charset) -> String {
    let mut out = String::with_capacity(160);
    push_hms(&mut out, stamped.at);
    out.push(' ');
    match &stamped.event {
        SessionEvent::Received { message, link, .. } => {
            let kind = if message.kind() == Kind::Event {
                "EV"
            } else {
                "<<"
            };
            push_message_line(&mut out, kind, message, link.action_id(), charset);
            if *link == Link::UnknownResponse {
                out.push_str(" (answers no action of ours)");
            }
        }
        SessionEvent::Sent {
            action_id, message, ..
        } => {
            push_message_line(&mut out, ">>", message, Some(action_id), charset);
        }
        SessionEvent::State(state) => {
            out.push_str("-- ");
            push_display(&mut out, &state_text(state));
        }
        SessionEvent::ServerInfo(info) => {
            out.push_str("-- server: ");
            let mut text = info.banner.clone();
            if let Some(v) = &info.asterisk_version {
                let _ = write!(text, ", Asterisk {v}");
            }
            if let Some(name) = &info.system_name {
                let _ = write!(text, ", system {name}");
            }
            push_display(&mut out, &text);
        }
        SessionEvent::ActionFailed {
            action_id,
            name,
            error,
        } => {
            out.push_str("!! ");
            push_display(&mut out, &format!("{name} [{action_id}] failed: {error}"));
        }
        SessionEvent::ProtocolError { what, preview } => {
            out.push_str("!! protocol error: ");
            push_display(&mut out, what);
            if !preview.is_empty() {
                out.push_str(": ");
                let shown = &preview[..preview.len().min(120)];
                push_display(&mut out, &charset.decode(shown));
                if preview.len() > shown.len() {
                    out.push_str("...");
                }
            }
        }
        SessionEvent::Gap { from, to, reason } => {
            let length = to.duration_since(*from).unwrap_or_default();
            out.push_str("~~ gap: no connection from ");
            push_hms(&mut out, *from);
            out.push_str(" to ");
            push_hms(&mut out, *to);
            let _ = write!(
                out,
                " ({}); events of that time are missing: ",
                seconds(length)
            );
            push_display(&mut out, reason);
        }
        SessionEvent::Pong { rtt } => {
            let _ = write!(out, ".. pong {:.3} ms", rtt.as_secs_f64() * 1000.0);
        }
        SessionEvent::Dropped { count } => {
            let _ = write!(
                out,
                "!! dropped {count} messages: the display fell behind the server"
            );
        }
    }
    out
}

fn push_message_line(
    out: &mut String,
    kind: &str,
    msg: &Message,
    id: Option<&str>,
    charset: Charset,
) {
    let summary = summary(msg);
    out.push_str(kind);
    out.push(' ');
    let name = charset.decode(&summary.name);
    let start = out.len();
    push_display(out, if name.is_empty() { "?" } else { &name });
    let width = out[start..].chars().count();
    if let Some(id) = id {
        out.push_str(" [");
        push_display(out, id);
        out.push(']');
    } else if width < 16 {
        out.extend(std::iter::repeat_n(' ', 16 - width));
    }
    if !summary.fields.is_empty() {
        out.push(' ');
        summary.push_fields(out, charset);
    }
}

fn state_text(state: &SessionState) -> String {
    match state {
        SessionState::Connecting { attempt } => format!("connecting (attempt {attempt})"),
        SessionState::LoggingIn { banner } => format!("logging in ({banner})"),
        SessionState::LoggedIn { user, server, tls } => {
            format!(
                "logged in as {user} to {server}{}",
                if *tls { " over TLS" } else { "" }
            )
        }
        SessionState::Reconnecting {
            delay,
            attempt,
            reason,
        } => {
            format!(
                "connection lost ({reason}); reconnecting in {} (attempt {attempt})",
                seconds(*delay)
            )
        }
        SessionState::Ended(reason) => format!("session ended: {reason}"),
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Appends text with control characters escaped (`\x1B`), so nothing a server sends can
/// move the cursor or recolour the terminal.
fn push_display(out: &mut String, text: &str) {
    // C0 controls and DEL are single bytes; C1 controls (U+0080..U+009F) start with 0xC2.
    if !text.bytes().any(|b| b < 0x20 || b == 0x7F || b == 0xC2) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "\\x{:02X}", c as u32);
        } else {
            out.push(c);
        }
    }
}

/// A value as the filter language would read it: bare when it can be, else quoted.
fn push_value(out: &mut String, text: &str) {
    let needs_quotes = text.is_empty()
        || text
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'"' || b == b'\'')
        || (!text.is_ascii() && text.chars().any(char::is_whitespace));
    if !needs_quotes {
        return push_display(out, text);
    }
    let quote = if text.contains('"') && !text.contains('\'') {
        '\''
    } else {
        '"'
    };
    out.push(quote);
    push_display(out, text);
    out.push(quote);
}

// ---------------------------------------------------------------------------------------
// JSON Lines

/// One JSON object (no trailing newline) for `--json`: lossless for messages (every
/// header, repeated keys and order kept; non-UTF-8 keys or values that the charset does
/// not decode exactly become `{"base64":"..."}`), and a shape for every stream entry:
///
/// - `{"time":..., "type":"event"|"response"|"received", "name":..., "link":{"kind":...,
///   "action_id":...}, "internal":false, "headers":[["Event","Hangup"],...], "body":...}`
///   (`received` is a message that is neither event nor response; `body` only for a
///   legacy `Command` reply)
/// - `{"type":"sent", "action_id", "name", "internal", "headers"}` (secrets masked)
/// - `{"type":"state", "state":"connecting"|"logging_in"|"logged_in"|"reconnecting"|"ended", ...}`
/// - `{"type":"server_info", "banner", "ami_version", "asterisk_version", "system_name"}`
/// - `{"type":"action_failed", "action_id", "name", "error"}`
/// - `{"type":"protocol_error", "what", "preview"}`
/// - `{"type":"gap", "from", "to", "reason"}`
/// - `{"type":"pong", "rtt_ms"}`
/// - `{"type":"dropped", "count"}`
pub fn json_line(stamped: &Stamped, charset: Charset) -> String {
    let mut j = Json {
        buf: Vec::with_capacity(1024),
    };
    j.raw("{\"time\":");
    j.time(stamped.at);
    match &stamped.event {
        SessionEvent::Received {
            message,
            link,
            internal,
        } => {
            let kind = match message.kind() {
                Kind::Event => "event",
                Kind::Response => "response",
                Kind::Other => "received",
            };
            j.key("type");
            j.string(kind);
            let name = match message.kind() {
                Kind::Event => message.event_name(),
                Kind::Response => message.get("Response"),
                Kind::Other => None,
            };
            if let Some(name) = name {
                j.key("name");
                j.bytes(name, charset);
            }
            j.key("link");
            j.link(link);
            j.key("internal");
            j.raw(if *internal { "true" } else { "false" });
            j.message(message, charset, false);
        }
        SessionEvent::Sent {
            action_id,
            name,
            message,
            internal,
        } => {
            j.key("type");
            j.string("sent");
            j.key("action_id");
            j.string(action_id);
            j.key("name");
            j.string(name);
            j.key("internal");
            j.raw(if *internal { "true" } else { "false" });
            j.message(message, charset, true);
        }
        SessionEvent::State(state) => {
            j.key("type");
            j.string("state");
            j.state(state);
        }
        SessionEvent::ServerInfo(info) => {
            j.key("type");
            j.string("server_info");
            j.key("banner");
            j.string(&info.banner);
            for (key, value) in [
                ("ami_version", &info.ami_version),
                ("asterisk_version", &info.asterisk_version),
                ("system_name", &info.system_name),
            ] {
                j.key(key);
                match value {
                    Some(v) => j.string(v),
                    None => j.raw("null"),
                }
            }
        }
        SessionEvent::ActionFailed {
            action_id,
            name,
            error,
        } => {
            j.key("type");
            j.string("action_failed");
            j.key("action_id");
            j.string(action_id);
            j.key("name");
            j.string(name);
            j.key("error");
            j.string(&error.to_string());
        }
        SessionEvent::ProtocolError { what, preview } => {
            j.key("type");
            j.string("protocol_error");
            j.key("what");
            j.string(what);
            j.key("preview");
            j.bytes(preview, charset);
        }
        SessionEvent::Gap { from, to, reason } => {
            j.key("type");
            j.string("gap");
            j.key("from");
            j.time(*from);
            j.key("to");
            j.time(*to);
            j.key("reason");
            j.string(reason);
        }
        SessionEvent::Pong { rtt } => {
            j.key("type");
            j.string("pong");
            let _ = write!(j, ",\"rtt_ms\":{}", rtt.as_secs_f64() * 1000.0);
        }
        SessionEvent::Dropped { count } => {
            j.key("type");
            j.string("dropped");
            let _ = write!(j, ",\"count\":{count}");
        }
    }
    j.raw("}");
    j.finish()
}

/// A small JSON writer over one buffer: no intermediate `serde_json::Value` per
/// header, so a flood of events costs one allocation each.
#[derive(Default)]
struct Json {
    /// Bytes, so strings are escaped straight into it; the whole line is checked as
    /// UTF-8 once at the end.
    buf: Vec<u8>,
}

impl std::io::Write for Json {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Json {
    fn raw(&mut self, text: &str) {
        self.buf.extend_from_slice(text.as_bytes());
    }

    fn finish(self) -> String {
        // Everything written was `str` or serde_json output, so this never fails.
        String::from_utf8(self.buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    fn key(&mut self, key: &str) {
        self.raw(",");
        self.string(key);
        self.raw(":");
    }

    /// A JSON string (RFC 8259): quote, backslash and C0 controls escaped, the rest
    /// copied as UTF-8. By hand because it runs for every key and value of a flood.
    fn string(&mut self, s: &str) {
        self.escaped(s.as_bytes());
    }

    /// `bytes` must be UTF-8 (a `str`, or ASCII).
    fn escaped(&mut self, bytes: &[u8]) {
        let buf = &mut self.buf;
        buf.push(b'"');
        // A branch-free scan first (it vectorises): most values need no escaping.
        let needs_escape = bytes.iter().fold(false, |any, &b| {
            any | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if !needs_escape {
            buf.extend_from_slice(bytes);
            buf.push(b'"');
            return;
        }
        let mut clean_from = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x00..=0x1F => b"",
                _ => continue,
            };
            buf.extend_from_slice(&bytes[clean_from..i]);
            if escape.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[usize::from(b >> 4)]);
                buf.push(HEX[usize::from(b & 15)]);
            } else {
                buf.extend_from_slice(escape);
            }
            clean_from = i + 1;
        }
        buf.extend_from_slice(&bytes[clean_from..]);
        buf.push(b'"');
    }

    fn bytes(&mut self, b: &[u8], charset: Charset) {
        // Nearly every AMI key and value is printable ASCII with nothing to escape: one
        // branch-free pass (it vectorises) finds that, and the bytes are copied as they are.
        let plain = !b.iter().fold(false, |any, &c| {
            any | (c < 0x20) | (c == b'"') | (c == b'\\') | (c >= 0x80)
        });
        if plain {
            self.buf.push(b'"');
            self.buf.extend_from_slice(b);
            self.buf.push(b'"');
            return;
        }
        if b.is_ascii() {
            self.escaped(b);
            return;
        }
        match charset.decode_exact(b) {
            Some(text) => self.string(&text),
            None => {
                self.raw("{\"base64\":\"");
                let mut encoded = String::with_capacity(b.len() * 4 / 3 + 4);
                base64_into(b, &mut encoded);
                self.raw(&encoded);
                self.raw("\"}");
            }
        }
    }

    fn time(&mut self, at: SystemTime) {
        let mut text = String::with_capacity(32);
        push_iso8601(&mut text, at);
        self.string(&text);
    }

    fn link(&mut self, link: &Link) {
        let kind = match link {
            Link::Unsolicited => "unsolicited",
            Link::Response { .. } => "response",
            Link::ListItem { .. } => "list_item",
            Link::ListComplete { .. } => "list_complete",
            Link::Related { .. } => "related",
            Link::UnknownResponse => "unknown_response",
        };
        self.raw("{\"kind\":");
        self.string(kind);
        if let Some(id) = link.action_id() {
            self.key("action_id");
            self.string(id);
        }
        self.raw("}");
    }

    fn message(&mut self, msg: &Message, charset: Charset, mask_secrets: bool) {
        self.key("headers");
        self.raw("[");
        let is_login = mask_secrets && msg.is("Action", "Login");
        for (i, (k, v)) in msg.headers().enumerate() {
            if i > 0 {
                self.raw(",");
            }
            self.raw("[");
            self.bytes(k, charset);
            self.raw(",");
            // Sent actions arrive masked already; masking again costs nothing and keeps
            // a secret out of JSON even if a caller forgot.
            let secret = mask_secrets
                && std::str::from_utf8(k)
                    .is_ok_and(|k| crate::ami::message::is_secret_key(k, is_login));
            if secret {
                self.string("***");
            } else {
                self.bytes(v, charset);
            }
            self.raw("]");
        }
        self.raw("]");
        if let Some(body) = msg.legacy_body() {
            self.key("body");
            self.bytes(body, charset);
        }
    }

    fn state(&mut self, state: &SessionState) {
        self.key("state");
        match state {
            SessionState::Connecting { attempt } => {
                self.string("connecting");
                let _ = write!(self, ",\"attempt\":{attempt}");
            }
            SessionState::LoggingIn { banner } => {
                self.string("logging_in");
                self.key("banner");
                self.string(banner);
            }
            SessionState::LoggedIn { user, server, tls } => {
                self.string("logged_in");
                self.key("user");
                self.string(user);
                self.key("server");
                self.string(server);
                let _ = write!(self, ",\"tls\":{tls}");
            }
            SessionState::Reconnecting {
                delay,
                attempt,
                reason,
            } => {
                self.string("reconnecting");
                let _ = write!(
                    self.buf,
                    ",\"delay_ms\":{},\"attempt\":{attempt}",
                    delay.as_millis()
                );
                self.key("reason");
                self.string(reason);
            }
            SessionState::Ended(reason) => {
                self.string("ended");
                self.key("reason");
                self.string(&reason.to_string());
                let _ = write!(self, ",\"exit_code\":{}", reason.exit_code());
            }
        }
    }
}

fn base64_into(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Time

/// Seconds since the epoch (negative before it) and the microseconds within.
fn split_time(at: SystemTime) -> (i64, u32) {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs().min(i64::MAX as u64) as i64, d.subsec_micros()),
        Err(e) => {
            let d = e.duration();
            let secs = -(d.as_secs().min(i64::MAX as u64 - 1) as i64);
            match d.subsec_micros() {
                0 => (secs, 0),
                us => (secs - 1, 1_000_000 - us),
            }
        }
    }
}

/// `2026-11-28T20:01:02.123456Z`, as JSON output and recordings write times.
pub fn iso8601(at: SystemTime) -> String {
    let mut out = String::with_capacity(27);
    push_iso8601(&mut out, at);
    out
}

/// `2026-11-28T20:01:02.123456Z`
fn push_iso8601(out: &mut String, at: SystemTime) {
    let (secs, micros) = split_time(at);
    let (year, month, day) = crate::time::civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400) as u32;
    match u32::try_from(year) {
        Ok(year) if year <= 9999 => push_digits(out, year, 4),
        _ => {
            let _ = write!(out, "{year:04}");
        }
    }
    out.push('-');
    push_digits(out, month, 2);
    out.push('-');
    push_digits(out, day, 2);
    out.push('T');
    push_digits(out, of_day / 3600, 2);
    out.push(':');
    push_digits(out, of_day / 60 % 60, 2);
    out.push(':');
    push_digits(out, of_day % 60, 2);
    out.push('.');
    push_digits(out, micros, 6);
    out.push('Z');
}

/// `20:01:02.123` (UTC)
fn push_hms(out: &mut String, at: SystemTime) {
    let (secs, micros) = split_time(at);
    let of_day = secs.rem_euclid(86_400) as u32;
    // By hand: `write!` costs more than the rest of a short line.
    push_digits(out, of_day / 3600, 2);
    out.push(':');
    push_digits(out, of_day / 60 % 60, 2);
    out.push(':');
    push_digits(out, of_day % 60, 2);
    out.push('.');
    push_digits(out, micros / 1000, 3);
}

/// `value` as exactly `width` decimal digits (zero-padded; `value` must fit).
fn push_digits(out: &mut String, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width - 1);
    while divisor > 0 {
        out.push(char::from(b'0' + (value / divisor % 10) as u8));
        divisor /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::{AmiCodec, Frame};
    use crate::session::event::{ActionError, EndReason, ServerInfo};
    use bytes::BytesMut;
    use tokio_util::codec::Decoder;

    fn capture(name: &str) -> Vec<Message> {
        let bytes = std::fs::read(format!("tests/fixtures/vectors/{name}")).unwrap();
        let mut buf = BytesMut::from(&bytes[..]);
        let mut codec = AmiCodec::default();
        let mut out = Vec::new();
        while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
            if let Frame::Message(m) = frame {
                out.push(m);
            }
        }
        out
    }

    fn first_event<'a>(messages: &'a [Message], name: &str) -> &'a Message {
        messages
            .iter()
            .find(|m| m.event_name() == Some(name.as_bytes()))
            .unwrap_or_else(|| panic!("{name}"))
    }

    fn fields(msg: &Message) -> String {
        let s = summary(msg);
        format!(
            "{} {}",
            String::from_utf8_lossy(&s.name),
            s.fields_text(Charset::UTF8)
        )
    }

    fn at(secs: u64, micros: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, micros * 1000)
    }

    fn stamped(event: SessionEvent) -> Stamped {
        // 2026-11-28T20:01:02.123456Z
        Stamped {
            at: at(1_795_896_062, 123_456),
            event,
        }
    }

    fn received(message: Message, link: Link) -> Stamped {
        stamped(SessionEvent::Received {
            message,
            link,
            internal: false,
        })
    }

    #[test]
    fn valid_utf8_is_shown_as_it_is_and_invalid_bytes_as_hex() {
        assert!(matches!(
            Charset::UTF8.decode("Zo\u{eb}".as_bytes()),
            Cow::Borrowed("Zo\u{eb}")
        ));
        assert_eq!(Charset::UTF8.decode(b"Jos\xe9 \xff"), "Jos\\xE9 \\xFF");
    }

    #[test]
    fn a_charset_decodes_what_is_not_utf8() {
        let latin1 = Charset::parse("latin1").unwrap();
        assert_eq!(latin1.decode(b"Jos\xe9"), "Jos\u{e9}");
        let gbk = Charset::parse("GBK").unwrap();
        assert_eq!(gbk.decode(b"\xd5\xc5\xc8\xfd"), "\u{5f20}\u{4e09}");
        // Bytes GBK cannot decode are still shown, not replaced.
        assert_eq!(gbk.decode(b"\xd5\xc5\x81"), "\u{5f20}\\x81");
        assert_eq!(gbk.decode_exact(b"\xd5\xc5\x81"), None);
        assert_eq!(Charset::parse("utf-8").unwrap(), Charset::UTF8);
    }

    #[test]
    fn an_unknown_charset_error_lists_examples() {
        let e = Charset::parse("klingon").unwrap_err().to_string();
        assert!(
            e.contains("klingon") && e.contains("gbk") && e.contains("latin1"),
            "{e}"
        );
    }

    #[test]
    fn raw_is_the_exact_wire_bytes() {
        let bytes =
            std::fs::read("tests/fixtures/vectors/originate-local-call-events.txt").unwrap();
        let messages = capture("originate-local-call-events.txt");
        let joined: Vec<u8> = messages.iter().flat_map(|m| raw(m).to_vec()).collect();
        let banner_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        assert_eq!(joined, bytes[banner_end..]);
    }

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

    #[test]
    fn one_line_of_an_event() {
        let m = capture("originate-local-call-events.txt");
        let line = one_line(
            &received(first_event(&m, "Newchannel").clone(), Link::Unsolicited),
            Charset::UTF8,
        );
        assert_eq!(
            line,
            "20:01:02.123 EV Newchannel       Channel=Local/echo@test-00000007;1 State=Down Dialplan=test,echo,1"
        );
    }

    #[test]
    fn one_line_of_a_list_item_and_a_response_carries_the_action_id() {
        let m = capture("coreshowchannels-eventlist.txt");
        let item = first_event(&m, "CoreShowChannel").clone();
        let line = one_line(
            &received(
                item,
                Link::ListItem {
                    action_id: "csc-1".into(),
                },
            ),
            Charset::UTF8,
        );
        assert!(
            line.starts_with("20:01:02.123 EV CoreShowChannel [csc-1] Channel=Local/long@test-"),
            "{line}"
        );
        let response = m
            .iter()
            .find(|m| m.kind() == Kind::Response && m.is("ActionID", "csc-1"))
            .unwrap()
            .clone();
        let line = one_line(
            &received(
                response,
                Link::Response {
                    action_id: "csc-1".into(),
                },
            ),
            Charset::UTF8,
        );
        assert_eq!(
            line,
            "20:01:02.123 << Success [csc-1] Message=\"Channels will follow\""
        );
    }

    #[test]
    fn one_line_of_a_sent_action_never_shows_a_secret() {
        let action = crate::ami::Action::new("Login")
            .with("Username", "admin")
            .with("Secret", "amp111");
        let sent = stamped(SessionEvent::Sent {
            action_id: "login-1".into(),
            name: "Login".into(),
            message: action.to_masked_message(),
            internal: false,
        });
        let line = one_line(&sent, Charset::UTF8);
        assert_eq!(
            line,
            "20:01:02.123 >> Login [login-1] Username=admin Secret=***"
        );
        assert!(!json_line(&sent, Charset::UTF8).contains("amp111"));
    }

    #[test]
    fn one_line_escapes_control_characters() {
        let m = Message::from_headers(&[("Event", "UserEvent"), ("UserEvent", "x\x1b[2Jy")]);
        let line = one_line(&received(m, Link::Unsolicited), Charset::UTF8);
        assert!(
            !line.contains('\x1b') && line.contains("x\\x1B[2Jy"),
            "{line}"
        );
    }

    #[test]
    fn one_line_covers_every_kind_of_entry() {
        let cases = [
            (SessionEvent::State(SessionState::Connecting { attempt: 2 }), "20:01:02.123 -- connecting (attempt 2)"),
            (
                SessionEvent::State(SessionState::LoggedIn { user: "admin".into(), server: "pbx:5039".into(), tls: true }),
                "20:01:02.123 -- logged in as admin to pbx:5039 over TLS",
            ),
            (
                SessionEvent::State(SessionState::Reconnecting {
                    delay: Duration::from_millis(1500),
                    attempt: 3,
                    reason: "reset".into(),
                }),
                "20:01:02.123 -- connection lost (reset); reconnecting in 1.5s (attempt 3)",
            ),
            (
                SessionEvent::State(SessionState::Ended(EndReason::LoggedOff)),
                "20:01:02.123 -- session ended: logged off",
            ),
            (
                SessionEvent::ServerInfo(ServerInfo {
                    banner: "Asterisk Call Manager/11.0.0".into(),
                    ami_version: Some("11.0.0".into()),
                    asterisk_version: Some("22.10.1".into()),
                    system_name: None,
                }),
                "20:01:02.123 -- server: Asterisk Call Manager/11.0.0, Asterisk 22.10.1",
            ),
            (
                SessionEvent::ActionFailed {
                    action_id: "a-1".into(),
                    name: "Originate".into(),
                    error: ActionError::Timeout(Duration::from_secs(10)),
                },
                "20:01:02.123 !! Originate [a-1] failed: no answer within 10s",
            ),
            (
                SessionEvent::ProtocolError { what: "oversized message".into(), preview: b"Event: X\r\n".to_vec() },
                "20:01:02.123 !! protocol error: oversized message: Event: X\\x0D\\x0A",
            ),
            (
                SessionEvent::Gap { from: at(1_795_896_000, 0), to: at(1_795_896_003, 500_000), reason: "reset".into() },
                "20:01:02.123 ~~ gap: no connection from 20:00:00.000 to 20:00:03.500 (3.5s); events of that time are missing: reset",
            ),
            (SessionEvent::Pong { rtt: Duration::from_micros(1234) }, "20:01:02.123 .. pong 1.234 ms"),
            (
                SessionEvent::Dropped { count: 7 },
                "20:01:02.123 !! dropped 7 messages: the display fell behind the server",
            ),
        ];
        for (event, expected) in cases {
            let s = stamped(event);
            assert_eq!(one_line(&s, Charset::UTF8), expected);
            let json: serde_json::Value =
                serde_json::from_str(&json_line(&s, Charset::UTF8)).unwrap();
            assert_eq!(json["time"], "2026-11-28T20:01:02.123456Z");
            assert!(json["type"].is_string());
        }
    }

    #[test]
    fn json_of_an_event_keeps_every_header_in_order() {
        let m = capture("status-eventlist.txt");
        let status = first_event(&m, "Status").clone();
        let json: serde_json::Value = serde_json::from_str(&json_line(
            &received(
                status.clone(),
                Link::ListItem {
                    action_id: "st-1".into(),
                },
            ),
            Charset::UTF8,
        ))
        .unwrap();
        assert_eq!(json["type"], "event");
        assert_eq!(json["name"], "Status");
        assert_eq!(
            json["link"],
            serde_json::json!({"kind": "list_item", "action_id": "st-1"})
        );
        let headers = json["headers"].as_array().unwrap();
        assert_eq!(headers.len(), status.len());
        for ((k, v), pair) in status.headers().zip(headers) {
            assert_eq!(pair[0].as_str().unwrap().as_bytes(), k);
            assert_eq!(pair[1].as_str().unwrap().as_bytes(), v);
        }
    }

    #[test]
    fn json_keeps_repeated_keys() {
        let m = capture("command-core-show-version.txt");
        let response = m
            .iter()
            .find(|m| m.get("Output").is_some())
            .unwrap()
            .clone();
        let json: serde_json::Value = serde_json::from_str(&json_line(
            &received(response.clone(), Link::UnknownResponse),
            Charset::UTF8,
        ))
        .unwrap();
        let outputs = json["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p[0] == "Output")
            .count();
        assert_eq!(outputs, response.get_all("Output").count());
        assert_eq!(json["link"]["kind"], "unknown_response");
    }

    #[test]
    fn json_writes_bytes_that_are_not_utf8_as_base64_unless_a_charset_decodes_them() {
        let m = Message::parse(b"Event: Newchannel\r\nCallerIDName: Jos\xe9\r\n\xff: x\r\n\r\n");
        let s = received(m, Link::Unsolicited);
        let json: serde_json::Value = serde_json::from_str(&json_line(&s, Charset::UTF8)).unwrap();
        assert_eq!(
            json["headers"][1],
            serde_json::json!(["CallerIDName", {"base64": "Sm9z6Q=="}])
        );
        assert_eq!(json["headers"][2][0], serde_json::json!({"base64": "/w=="}));
        let latin1 = Charset::parse("latin1").unwrap();
        let json: serde_json::Value = serde_json::from_str(&json_line(&s, latin1)).unwrap();
        assert_eq!(
            json["headers"][1],
            serde_json::json!(["CallerIDName", "Jos\u{e9}"])
        );
    }

    #[test]
    fn json_includes_a_legacy_command_body() {
        let m = capture("synthetic/legacy-command-follows.txt");
        let legacy = m
            .iter()
            .find(|m| m.legacy_body().is_some())
            .unwrap()
            .clone();
        let body = legacy.legacy_body().unwrap().to_vec();
        let json: serde_json::Value = serde_json::from_str(&json_line(
            &received(
                legacy,
                Link::Response {
                    action_id: "x".into(),
                },
            ),
            Charset::UTF8,
        ))
        .unwrap();
        assert_eq!(json["body"].as_str().unwrap().as_bytes(), body);
        assert_eq!(json["type"], "response");
    }

    #[test]
    fn json_strings_read_back_as_the_same_text() {
        let all_ascii: String = (0u8..0x80).map(char::from).collect();
        for text in [
            all_ascii.as_str(),
            "",
            "plain",
            "a\"b\\c",
            "caf\u{e9} \u{4e2d}\u{1F600}",
            "\u{85}\u{9b}x",
        ] {
            let mut j = Json { buf: Vec::new() };
            j.string(text);
            let back: String = serde_json::from_slice(&j.buf).unwrap();
            assert_eq!(back, text);
        }
    }

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        for (input, expected) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foobar", "Zm9vYmFy"),
        ] {
            let mut out = String::new();
            base64_into(input, &mut out);
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn times_are_utc_civil_dates() {
        let mut s = String::new();
        push_iso8601(&mut s, at(0, 0));
        assert_eq!(s, "1970-01-01T00:00:00.000000Z");
        s.clear();
        push_iso8601(&mut s, at(951_782_400, 5)); // leap day
        assert_eq!(s, "2000-02-29T00:00:00.000005Z");
        s.clear();
        push_iso8601(&mut s, UNIX_EPOCH - Duration::from_micros(1));
        assert_eq!(s, "1969-12-31T23:59:59.999999Z");
        s.clear();
        push_hms(&mut s, at(1_795_896_062, 999_999));
        assert_eq!(s, "20:01:02.999");
    }
}
