//! Recordings: everything a session saw, stamped with time, in a file that stays
//! readable as AMI text, and the reader that loads it back — or loads a plain AMI
//! transcript (a saved telnet or `nc` session, a customer's log) that has no stamps.
//!
//! Format: a first line `#amicon-recording 1`, then one metadata line per entry,
//! `#@ <UTC time> <kind> <JSON details>`, followed for messages by their exact wire
//! bytes (the terminating blank line included). Metadata lines only ever stand between
//! messages, so a reader of the file sees ordinary AMI blocks with comments between them.
//! Received messages are kept byte for byte; sent actions are the masked form the
//! session publishes, so no secret is ever written.

use crate::ami::codec::{AmiCodec, Frame, DEFAULT_MAX_MESSAGE};
use crate::ami::Message;
use crate::session::{
    ActionError, EndReason, Link, ServerInfo, SessionEvent, SessionState, Stamped,
};
use bytes::{Buf, BytesMut};
use serde_json::{json, Value};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::codec::Decoder;

const MAGIC: &str = "#amicon-recording 1";
const META: &[u8] = b"#@ ";

/// Writes stamped session events to a recording.
pub struct Recorder<W: Write> {
    out: W,
}

impl Recorder<io::BufWriter<std::fs::File>> {
    /// Creates (or truncates) a recording file, readable by its owner only.
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path)?;
        Recorder::new(io::BufWriter::with_capacity(256 * 1024, file))
    }
}

impl<W: Write> Recorder<W> {
    pub fn new(mut out: W) -> io::Result<Self> {
        writeln!(out, "{MAGIC}")?;
        Ok(Recorder { out })
    }

    pub fn write(&mut self, entry: &Stamped) -> io::Result<()> {
        let (kind, details, message) = describe(&entry.event);
        writeln!(self.out, "#@ {} {kind} {details}", format_time(entry.at))?;
        if let Some(message) = message {
            self.out.write_all(message.wire())?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

fn describe(event: &SessionEvent) -> (&'static str, Value, Option<&Message>) {
    match event {
        SessionEvent::Received {
            message,
            link,
            internal,
        } => {
            let (rel, id) = match link {
                Link::Unsolicited => ("unsolicited", None),
                Link::Response { action_id } => ("response", Some(action_id)),
                Link::ListItem { action_id } => ("list_item", Some(action_id)),
                Link::ListComplete { action_id } => ("list_complete", Some(action_id)),
                Link::Related { action_id } => ("related", Some(action_id)),
                Link::UnknownResponse => ("unknown_response", None),
            };
            (
                "recv",
                json!({"link": rel, "action_id": id, "internal": internal}),
                Some(message),
            )
        }
        SessionEvent::Sent {
            action_id,
            name,
            message,
            internal,
        } => (
            "sent",
            json!({"action_id": action_id, "name": name, "internal": internal}),
            Some(message),
        ),
        SessionEvent::State(state) => ("state", state_json(state), None),
        SessionEvent::ServerInfo(info) => (
            "info",
            json!({"banner": info.banner, "ami_version": info.ami_version,
                   "asterisk_version": info.asterisk_version, "system_name": info.system_name}),
            None,
        ),
        SessionEvent::ActionFailed {
            action_id,
            name,
            error,
        } => (
            "failed",
            json!({"action_id": action_id, "name": name, "error": error.to_string()}),
            None,
        ),
        SessionEvent::ProtocolError { what, preview } => (
            "protocol_error",
            json!({"what": what, "preview": String::from_utf8_lossy(preview)}),
            None,
        ),
        SessionEvent::Gap { from, to, reason } => (
            "gap",
            json!({"from": format_time(*from), "to": format_time(*to), "reason": reason}),
            None,
        ),
        SessionEvent::Pong { rtt } => ("pong", json!({"rtt_us": rtt.as_micros() as u64}), None),
        SessionEvent::Dropped { count } => ("dropped", json!({"count": count}), None),
    }
}

fn state_json(state: &SessionState) -> Value {
    match state {
        SessionState::Connecting { attempt } => json!({"state": "connecting", "attempt": attempt}),
        SessionState::LoggingIn { banner } => json!({"state": "logging_in", "banner": banner}),
        SessionState::LoggedIn { user, server, tls } => {
            json!({"state": "logged_in", "user": user, "server": server, "tls": tls})
        }
        SessionState::Reconnecting {
            delay,
            attempt,
            reason,
        } => json!({
            "state": "reconnecting", "delay_ms": delay.as_millis() as u64, "attempt": attempt, "reason": reason
        }),
        SessionState::Ended(reason) => {
            let (end, detail) = match reason {
                EndReason::LoggedOff => ("logged_off", String::new()),
                EndReason::CannotConnect(d) => ("cannot_connect", d.clone()),
                EndReason::NotAmi(d) => ("not_ami", d.clone()),
                EndReason::Tls(d) => ("tls", d.clone()),
                EndReason::AuthFailed(d) => ("auth_failed", d.clone()),
                EndReason::LoginTimeout(t) => ("login_timeout", t.as_millis().to_string()),
                EndReason::ConnectionLost(d) => ("connection_lost", d.clone()),
            };
            json!({"state": "ended", "end": end, "detail": detail,
                   "reason": reason.to_string(), "exit_code": reason.exit_code()})
        }
    }
}

/// What a file held: its entries, and whether they carry real times (a plain transcript
/// does not: its entries are stamped with the Unix epoch and `timed` is false).
#[derive(Debug)]
pub struct Recording {
    pub entries: Vec<Stamped>,
    pub timed: bool,
}

/// Reads a recording, or a plain AMI transcript. Never fails on content: what cannot be
/// understood becomes a protocol-error entry, like on a live session.
pub fn read(bytes: &[u8]) -> Recording {
    let timed = bytes.starts_with(MAGIC.as_bytes());
    let mut buf = BytesMut::from(bytes);
    if timed {
        skip_line(&mut buf);
    }
    let starts_with_banner = !timed && buf.starts_with(b"Asterisk Call Manager");
    let mut codec = if starts_with_banner {
        AmiCodec::new(DEFAULT_MAX_MESSAGE)
    } else {
        AmiCodec::without_banner(DEFAULT_MAX_MESSAGE)
    };
    let mut entries = Vec::new();
    let mut pending: Option<(SystemTime, String, Value)> = None;
    loop {
        while buf.starts_with(b"\r\n") || buf.starts_with(b"\n") {
            let n = if buf[0] == b'\r' { 2 } else { 1 };
            buf.advance(n);
        }
        if buf.starts_with(META) {
            let line = skip_line(&mut buf);
            if let Some((at, kind, details)) = parse_meta(&line) {
                if let Some(event) = non_message_event(&kind, &details) {
                    entries.push(Stamped { at, event });
                } else {
                    pending = Some((at, kind, details));
                }
            }
            continue;
        }
        let frame = match codec.decode(&mut buf) {
            Ok(Some(frame)) => Some(frame),
            Ok(None) => match codec.decode_eof(&mut buf) {
                Ok(frame) => frame,
                Err(e) => {
                    entries.push(Stamped {
                        at: pending.take().map_or(UNIX_EPOCH, |p| p.0),
                        event: SessionEvent::ProtocolError {
                            what: e.to_string(),
                            preview: Vec::new(),
                        },
                    });
                    None
                }
            },
            Err(_) => None,
        };
        let Some(frame) = frame else { break };
        let meta = pending.take();
        let at = meta.as_ref().map_or(UNIX_EPOCH, |m| m.0);
        let event = match frame {
            Frame::Banner(line) => SessionEvent::ServerInfo(ServerInfo {
                banner: String::from_utf8_lossy(&line).into_owned(),
                ami_version: std::str::from_utf8(&line)
                    .ok()
                    .and_then(|l| l.rsplit_once('/'))
                    .map(|(_, v)| v.to_string()),
                ..ServerInfo::default()
            }),
            Frame::Error(e) => SessionEvent::ProtocolError {
                what: e.to_string(),
                preview: Vec::new(),
            },
            Frame::Message(message) => message_event(message, meta.map(|m| (m.1, m.2))),
        };
        entries.push(Stamped { at, event });
    }
    Recording { entries, timed }
}

fn message_event(message: Message, meta: Option<(String, Value)>) -> SessionEvent {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    match meta {
        Some((kind, d)) if kind == "sent" => SessionEvent::Sent {
            action_id: text(&d, "action_id").unwrap_or_default(),
            name: text(&d, "name").unwrap_or_default(),
            message,
            internal: d.get("internal").and_then(Value::as_bool).unwrap_or(false),
        },
        Some((_, d)) => {
            let id = text(&d, "action_id");
            let link = match (text(&d, "link").as_deref(), id) {
                (Some("response"), Some(action_id)) => Link::Response { action_id },
                (Some("list_item"), Some(action_id)) => Link::ListItem { action_id },
                (Some("list_complete"), Some(action_id)) => Link::ListComplete { action_id },
                (Some("related"), Some(action_id)) => Link::Related { action_id },
                (Some("unknown_response"), _) => Link::UnknownResponse,
                _ => Link::Unsolicited,
            };
            let internal = d.get("internal").and_then(Value::as_bool).unwrap_or(false);
            SessionEvent::Received {
                message,
                link,
                internal,
            }
        }
        // A plain transcript: what the client typed are actions, the rest came from the
        // server.
        None if message.get("Action").is_some() && message.kind() == crate::ami::Kind::Other => {
            let name = message.get_str("Action").unwrap_or_default().into_owned();
            let action_id = message.get_str("ActionID").unwrap_or_default().into_owned();
            SessionEvent::Sent {
                action_id,
                name,
                message,
                internal: false,
            }
        }
        None => SessionEvent::Received {
            message,
            link: Link::Unsolicited,
            internal: false,
        },
    }
}

fn non_message_event(kind: &str, d: &Value) -> Option<SessionEvent> {
    let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
    let number = |k: &str| d.get(k).and_then(Value::as_u64);
    Some(match kind {
        "recv" | "sent" => return None,
        "state" => SessionEvent::State(match text("state")?.as_str() {
            "connecting" => SessionState::Connecting {
                attempt: number("attempt").unwrap_or(1) as u32,
            },
            "logging_in" => SessionState::LoggingIn {
                banner: text("banner").unwrap_or_default(),
            },
            "logged_in" => SessionState::LoggedIn {
                user: text("user").unwrap_or_default(),
                server: text("server").unwrap_or_default(),
                tls: d.get("tls").and_then(Value::as_bool).unwrap_or(false),
            },
            "reconnecting" => SessionState::Reconnecting {
                delay: Duration::from_millis(number("delay_ms").unwrap_or(0)),
                attempt: number("attempt").unwrap_or(1) as u32,
                reason: text("reason").unwrap_or_default(),
            },
            _ => SessionState::Ended(end_reason(d)),
        }),
        "info" => SessionEvent::ServerInfo(ServerInfo {
            banner: text("banner").unwrap_or_default(),
            ami_version: text("ami_version"),
            asterisk_version: text("asterisk_version"),
            system_name: text("system_name"),
        }),
        "failed" => SessionEvent::ActionFailed {
            action_id: text("action_id").unwrap_or_default(),
            name: text("name").unwrap_or_default(),
            error: ActionError::Recorded(text("error").unwrap_or_default()),
        },
        "protocol_error" => SessionEvent::ProtocolError {
            what: text("what").unwrap_or_default(),
            preview: text("preview").unwrap_or_default().into_bytes(),
        },
        "gap" => SessionEvent::Gap {
            from: text("from")
                .and_then(|t| parse_time(&t))
                .unwrap_or(UNIX_EPOCH),
            to: text("to")
                .and_then(|t| parse_time(&t))
                .unwrap_or(UNIX_EPOCH),
            reason: text("reason").unwrap_or_default(),
        },
        "pong" => SessionEvent::Pong {
            rtt: Duration::from_micros(number("rtt_us").unwrap_or(0)),
        },
        "dropped" => SessionEvent::Dropped {
            count: number("count").unwrap_or(0),
        },
        _ => return None,
    })
}

/// The end of a session as recorded; a recording without the `end` kind (or a kind this
/// version does not know) keeps the words as a lost connection.
fn end_reason(d: &Value) -> EndReason {
    let detail = d
        .get("detail")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match d.get("end").and_then(Value::as_str) {
        Some("logged_off") => EndReason::LoggedOff,
        Some("cannot_connect") => EndReason::CannotConnect(detail),
        Some("not_ami") => EndReason::NotAmi(detail),
        Some("tls") => EndReason::Tls(detail),
        Some("auth_failed") => EndReason::AuthFailed(detail),
        Some("login_timeout") => {
            EndReason::LoginTimeout(Duration::from_millis(detail.parse().unwrap_or(0)))
        }
        Some("connection_lost") => EndReason::ConnectionLost(detail),
        _ => EndReason::ConnectionLost(
            d.get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
    }
}

/// Takes one line (without its line end) off the front of `buf`.
fn skip_line(buf: &mut BytesMut) -> Vec<u8> {
    let end = memchr::memchr(b'\n', buf).map_or(buf.len(), |i| i + 1);
    let line = buf.split_to(end);
    crate::ami::frame::trim_eol(&line).to_vec()
}

fn parse_meta(line: &[u8]) -> Option<(SystemTime, String, Value)> {
    let text = std::str::from_utf8(line.strip_prefix(META)?).ok()?;
    let mut parts = text.splitn(3, ' ');
    let at = parse_time(parts.next()?)?;
    let kind = parts.next()?.to_string();
    let details = parts
        .next()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    Some((at, kind, details))
}

/// `2026-11-28T20:01:02.123456Z`.
pub fn format_time(at: SystemTime) -> String {
    crate::format::iso8601(at)
}

fn parse_time(text: &str) -> Option<SystemTime> {
    crate::time::parse_rfc3339(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamped(secs: u64, event: SessionEvent) -> Stamped {
        Stamped {
            at: UNIX_EPOCH + Duration::from_micros(secs * 1_000_000 + 123_456),
            event,
        }
    }

    #[test]
    fn times_round_trip() {
        let t = UNIX_EPOCH + Duration::from_micros(1_795_892_903_851_205);
        assert_eq!(parse_time(&format_time(t)), Some(t));
        assert_eq!(format_time(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn a_recording_reads_back_as_the_same_entries() {
        let event =
            Message::parse(b"Event: UserEvent\r\nLatin1: caf\xe9\r\nLine: #@ not metadata\r\n\r\n");
        let action = crate::ami::Action::new("Login")
            .with("Username", "admin")
            .with("Secret", "amp111");
        let entries = vec![
            stamped(
                1,
                SessionEvent::State(SessionState::LoggedIn {
                    user: "admin".into(),
                    server: "pbx:5038".into(),
                    tls: false,
                }),
            ),
            stamped(
                2,
                SessionEvent::Sent {
                    action_id: "a-1".into(),
                    name: "Login".into(),
                    message: action.to_masked_message(),
                    internal: true,
                },
            ),
            stamped(
                3,
                SessionEvent::Received {
                    message: event.clone(),
                    link: Link::Related {
                        action_id: "a-1".into(),
                    },
                    internal: false,
                },
            ),
            stamped(
                4,
                SessionEvent::Gap {
                    from: UNIX_EPOCH,
                    to: UNIX_EPOCH + Duration::from_secs(5),
                    reason: "lost".into(),
                },
            ),
            stamped(5, SessionEvent::Dropped { count: 7 }),
            stamped(
                6,
                SessionEvent::State(SessionState::Ended(EndReason::AuthFailed("refused".into()))),
            ),
            stamped(
                7,
                SessionEvent::State(SessionState::Ended(EndReason::LoginTimeout(
                    Duration::from_secs(5),
                ))),
            ),
            stamped(
                8,
                SessionEvent::State(SessionState::Ended(EndReason::LoggedOff)),
            ),
        ];
        let mut rec = Recorder::new(Vec::new()).unwrap();
        for e in &entries {
            rec.write(e).unwrap();
        }
        let bytes = rec.into_inner();
        assert!(!String::from_utf8_lossy(&bytes).contains("amp111"));
        let back = read(&bytes);
        assert!(back.timed);
        assert_eq!(back.entries.len(), entries.len());
        for (a, b) in entries.iter().zip(&back.entries) {
            assert_eq!(a.at, b.at);
            assert_eq!(format!("{:?}", a.event), format!("{:?}", b.event));
        }
        match &back.entries[2].event {
            SessionEvent::Received { message, .. } => {
                assert_eq!(message.wire(), event.wire(), "byte for byte")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_plain_transcript_is_read_without_times() {
        let transcript = b"Asterisk Call Manager/11.0.0\r\nAction: Ping\r\nActionID: 1\r\n\r\nResponse: Success\r\nActionID: 1\r\nPing: Pong\r\n\r\nEvent: Hangup\r\nChannel: x\r\n\r\n";
        let rec = read(transcript);
        assert!(!rec.timed);
        let kinds: Vec<_> = rec
            .entries
            .iter()
            .map(|s| match &s.event {
                SessionEvent::ServerInfo(_) => "info",
                SessionEvent::Sent { .. } => "sent",
                SessionEvent::Received { .. } => "recv",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["info", "sent", "recv", "recv"]);
    }

    #[test]
    fn a_cut_transcript_keeps_what_it_has() {
        let rec = read(b"Event: Hangup\r\nChannel: x\r\n\r\nEvent: Newchannel\r\nChan");
        assert!(matches!(
            rec.entries[0].event,
            SessionEvent::Received { .. }
        ));
        assert!(matches!(
            rec.entries.last().unwrap().event,
            SessionEvent::ProtocolError { .. }
        ));
    }
}
