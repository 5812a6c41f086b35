//! `amicon show ... --open FILE`: the state at the end of a recording, printed by the
//! real binary as JSON Lines or a table, with FILTER words; and its usage errors.

use amicon::ami::Message;
use amicon::record::Recorder;
use amicon::session::{Link, SessionEvent, Stamped};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

fn stamped(secs: u64, event: SessionEvent) -> Stamped {
    Stamped {
        at: UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs),
        event,
    }
}

fn item(id: &str, uniqueid: &str, name: &str, linkedid: &str, duration: &str) -> Message {
    Message::from_headers(&[
        ("Event", "CoreShowChannel"),
        ("ActionID", id),
        ("Channel", name),
        ("ChannelState", "6"),
        ("ChannelStateDesc", "Up"),
        ("CallerIDNum", "1001"),
        ("CallerIDName", "Alice"),
        ("ConnectedLineNum", "<unknown>"),
        ("ConnectedLineName", "<unknown>"),
        ("AccountCode", ""),
        ("Context", "test"),
        ("Exten", "long"),
        ("Priority", "2"),
        ("Uniqueid", uniqueid),
        ("Linkedid", linkedid),
        ("Application", "Wait"),
        ("ApplicationData", "30"),
        ("Duration", duration),
        ("BridgeId", ""),
    ])
}

/// A recording of a seeded session: two channels of one call, 1:05 old, then a
/// hangup of a third channel that was never listed.
fn recording() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut rec = Recorder::create(file.path()).unwrap();
    let id = "amicon-1-i3";
    let list = |m: Message, link: Link| SessionEvent::Received {
        message: m,
        link,
        internal: true,
    };
    let entries = [
        stamped(
            0,
            SessionEvent::Sent {
                action_id: id.into(),
                name: "CoreShowChannels".into(),
                message: Message::from_headers(&[("Action", "CoreShowChannels"), ("ActionID", id)]),
                internal: true,
            },
        ),
        stamped(
            0,
            list(
                Message::from_headers(&[
                    ("Response", "Success"),
                    ("ActionID", id),
                    ("EventList", "start"),
                ]),
                Link::Response {
                    action_id: id.into(),
                },
            ),
        ),
        stamped(
            0,
            list(
                item(id, "7.1", "Local/long@test-00000001;1", "7.1", "00:01:05"),
                Link::ListItem {
                    action_id: id.into(),
                },
            ),
        ),
        stamped(
            0,
            list(
                item(id, "7.2", "Local/long@test-00000001;2", "7.1", "00:01:05"),
                Link::ListItem {
                    action_id: id.into(),
                },
            ),
        ),
        stamped(
            0,
            list(
                Message::from_headers(&[
                    ("Event", "CoreShowChannelsComplete"),
                    ("ActionID", id),
                    ("EventList", "Complete"),
                    ("ListItems", "2"),
                ]),
                Link::ListComplete {
                    action_id: id.into(),
                },
            ),
        ),
        stamped(
            10,
            SessionEvent::Received {
                message: Message::from_headers(&[
                    ("Event", "VarSet"),
                    ("Channel", "none"),
                    ("Uniqueid", "none"),
                    ("Variable", "G"),
                    ("Value", "1"),
                ]),
                link: Link::Unsolicited,
                internal: false,
            },
        ),
    ];
    for e in &entries {
        rec.write(e).unwrap();
    }
    rec.flush().unwrap();
    file
}

fn show(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_amicon"))
        .arg("show")
        .args(args)
        .env("XDG_CONFIG_HOME", "/nonexistent-amicon-test-config")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn channels_at_the_end_of_a_recording_as_json_lines_with_true_ages() {
    let file = recording();
    let path = file.path().to_str().unwrap();
    let (code, out, err) = show(&["channels", "--open", path, "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(rows[0]["channel"], "Local/long@test-00000001;1");
    assert_eq!(rows[0]["uniqueid"], "7.1");
    assert_eq!(rows[0]["linkedid"], "7.1");
    assert_eq!(rows[0]["state"], "Up");
    // 65 s old when listed, and the recording ends 10 s later.
    assert_eq!(rows[0]["duration_s"], 75);
}

#[test]
fn calls_and_filters_from_a_recording() {
    let file = recording();
    let path = file.path().to_str().unwrap();
    let (code, out, err) = show(&["calls", "--open", path, "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "the global Setvar is no call: {out}");
    assert_eq!(rows[0]["live"], true);
    assert_eq!(rows[0]["linkedid"], "7.1");
    assert_eq!(rows[0]["channels"].as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["duration_s"], 75);
    // A table, filtered: a word that matches, and one that matches nothing.
    let (code, out, _) = show(&["channels", "--open", path, ";2"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Local/long@test-00000001;2") && !out.contains(";1 "),
        "{out}"
    );
    assert!(out.lines().next().unwrap().starts_with("CHANNEL"), "{out}");
    assert!(out.ends_with("1 channels\n"), "{out}");
    let (_, out, _) = show(&["channels", "--open", path, "nothing-like-this", "--json"]);
    assert!(out.is_empty(), "{out}");
}

#[test]
fn a_missing_recording_is_a_usage_error() {
    let (code, _, err) = show(&["queues", "--open", "/nonexistent/amicon.rec"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}
