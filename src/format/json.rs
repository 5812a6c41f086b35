//! JSON Lines output (`--json`): a small writer over one buffer, lossless for messages
//! (bytes a charset cannot decode exactly are carried as base64).

use super::Charset;
use crate::ami::{Kind, Message};
use crate::session::event::{Link, SessionEvent, SessionState, Stamped};
use base64::Engine as _;
use std::io::Write as _;
use std::time::SystemTime;

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
                let mut encoded = String::with_capacity(b.len().div_ceil(3) * 4);
                base64::engine::general_purpose::STANDARD.encode_string(b, &mut encoded);
                self.raw(&encoded);
                self.raw("\"}");
            }
        }
    }

    fn time(&mut self, at: SystemTime) {
        // Digits, `-`, `:`, `.`, `T` and `Z`: nothing to escape.
        let _ = write!(self, "\"{}\"", crate::time::rfc3339_micros(at));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::test_support::*;

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
}
