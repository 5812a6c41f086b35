//! One-line output (`watch --format line`, line mode): time, kind, name and the
//! summary's fields, with control characters escaped and values quoted as filters read them.

use super::timestamp::push_hms;
use super::{summary, Charset};
use crate::ami::{Kind, Message};
use crate::session::event::{Link, SessionEvent, SessionState, Stamped};
use std::fmt::Write as _;
use std::time::Duration;

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
pub(super) fn push_display(out: &mut String, text: &str) {
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
pub(super) fn push_value(out: &mut String, text: &str) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::test_support::*;

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
}
