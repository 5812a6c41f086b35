//! What line mode prints for each thing the session publishes, and the counters behind
//! `:status`: pure state (`View::handle` takes a [`Stamped`], returns text), so the
//! printing rules are tested without a terminal or a server.

use super::composer::OutputFormat;
use crate::ami::Message;
use crate::complete::is_background;
use crate::filter::Filter;
use crate::format::Charset;
use crate::session::{Link, ServerInfo, SessionEvent, SessionState, Stamped};
use std::time::Duration;

/// Messages the session saw, as `:status` reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Unsolicited events received.
    pub events: u64,
    /// Of those, printed.
    pub shown: u64,
    /// Of those, hidden by the filter or by `:events off`.
    pub hidden: u64,
    /// Answers to the user's actions (responses and list items).
    pub answers: u64,
    /// Lost because the console fell behind (session queue or terminal).
    pub dropped: u64,
}

#[derive(Debug)]
pub struct View {
    pub format: OutputFormat,
    /// How non-UTF-8 bytes are decoded for display.
    pub charset: Charset,
    filter: Option<Filter>,
    /// Unsolicited events are printed (`:events on`).
    pub events_shown: bool,
    pub counts: Counts,
    pub state: Option<SessionState>,
    pub server: ServerInfo,
    pub last_rtt: Option<Duration>,
}

impl View {
    pub fn new(
        format: OutputFormat,
        charset: Charset,
        filter: Option<Filter>,
        events_shown: bool,
    ) -> Self {
        View {
            format,
            charset,
            filter,
            events_shown,
            counts: Counts::default(),
            state: None,
            server: ServerInfo::default(),
            last_rtt: None,
        }
    }

    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    pub fn set_filter(&mut self, filter: Option<Filter>) {
        self.filter = filter.filter(|f| !f.is_empty());
    }

    /// The word the prompt shows in parentheses; empty when logged in.
    pub fn status_label(&self) -> &'static str {
        match &self.state {
            None | Some(SessionState::LoggedIn { .. }) => "",
            Some(SessionState::Connecting { .. }) => "connecting",
            Some(SessionState::LoggingIn { .. }) => "logging in",
            Some(SessionState::Reconnecting { .. }) => "reconnecting",
            Some(SessionState::Ended(crate::session::EndReason::AuthFailed(_))) => "auth failed",
            Some(SessionState::Ended(crate::session::EndReason::LoggedOff)) => "logged off",
            Some(SessionState::Ended(_)) => "disconnected",
        }
    }

    /// Updates the state with one published item; returns what to print, if anything
    /// (one or more lines, each ending in `\n`).
    pub fn handle(&mut self, item: &Stamped) -> Option<String> {
        match &item.event {
            SessionEvent::State(state) => {
                self.state = Some(state.clone());
                state_note(state)
            }
            SessionEvent::ServerInfo(info) => {
                let note = (info.asterisk_version.is_some()
                    && self.server.asterisk_version.is_none())
                .then(|| note(&describe_server(info)));
                self.server = info.clone();
                note
            }
            SessionEvent::Sent { .. } => None,
            SessionEvent::Received {
                message,
                link,
                internal,
            } => {
                if *internal || link.action_id().is_some_and(is_background) {
                    return None;
                }
                match link {
                    Link::Unsolicited => {
                        self.counts.events += 1;
                        let wanted = self.events_shown
                            && self.filter.as_ref().is_none_or(|f| f.matches(message));
                        if wanted {
                            self.counts.shown += 1;
                            Some(self.render(item, message))
                        } else {
                            self.counts.hidden += 1;
                            None
                        }
                    }
                    _ => {
                        self.counts.answers += 1;
                        Some(self.render(item, message))
                    }
                }
            }
            SessionEvent::ActionFailed {
                action_id,
                name,
                error,
            } => {
                (!is_background(action_id)).then(|| note(&format!("{name} ({action_id}): {error}")))
            }
            SessionEvent::ProtocolError { what, .. } => {
                Some(note(&format!("protocol error: {what}")))
            }
            SessionEvent::Gap { from, to, reason } => {
                let secs = to.duration_since(*from).unwrap_or_default().as_secs();
                Some(note(&format!(
                    "no events for {secs}s while disconnected ({reason}); some were missed"
                )))
            }
            SessionEvent::Pong { rtt } => {
                self.last_rtt = Some(*rtt);
                None
            }
            SessionEvent::Dropped { count } => {
                self.counts.dropped += count;
                Some(note(&format!(
                    "{count} messages dropped: the console fell behind"
                )))
            }
        }
    }

    fn render(&self, item: &Stamped, message: &Message) -> String {
        let mut text = match self.format {
            OutputFormat::Raw => raw_text(message, self.charset),
            OutputFormat::Line => crate::format::one_line(item, self.charset),
            OutputFormat::Json => crate::format::json_line(item, self.charset),
        };
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }

    /// The `:status` report.
    pub fn status_report(&self, user_rtt: Option<Duration>) -> String {
        let state = match &self.state {
            Some(SessionState::LoggedIn { user, server, tls }) => {
                format!(
                    "logged in as {user}@{server}{}",
                    if *tls { " (TLS)" } else { "" }
                )
            }
            Some(SessionState::Connecting { attempt }) => format!("connecting (attempt {attempt})"),
            Some(SessionState::LoggingIn { banner }) => format!("logging in ({banner})"),
            Some(SessionState::Reconnecting {
                delay,
                attempt,
                reason,
            }) => {
                format!(
                    "reconnecting in {}s (attempt {attempt}): {reason}",
                    delay.as_secs()
                )
            }
            Some(SessionState::Ended(reason)) => format!("ended: {reason}"),
            None => "starting".into(),
        };
        let filter = self
            .filter
            .as_ref()
            .map_or("none".to_string(), |f| f.to_string());
        let rtt = |d: Option<Duration>| {
            d.map_or("-".to_string(), |d| {
                format!("{:.1} ms", d.as_secs_f64() * 1000.0)
            })
        };
        let c = &self.counts;
        [
            format!("state:    {state}"),
            format!("server:   {}", describe_server(&self.server)),
            format!(
                "events:   {} received, {} shown, {} hidden ({})",
                c.events,
                c.shown,
                c.hidden,
                if self.events_shown { "on" } else { "off" }
            ),
            format!("answers:  {}   dropped: {}", c.answers, c.dropped),
            format!("filter:   {filter}"),
            format!("format:   {}", self.format),
            format!(
                "ping:     {} now, {} keepalive",
                rtt(user_rtt),
                rtt(self.last_rtt)
            ),
        ]
        .iter()
        .map(|l| note(l))
        .collect()
    }
}

/// The message as the server wrote it ([`crate::format::raw`]), decoded for the
/// terminal: bytes that are not text show as `\xNN`, control characters other than
/// tabs become `?` so no escape sequence from the wire reaches the terminal, and secret
/// values (of actions echoed back) are masked.
pub fn raw_text(message: &Message, charset: Charset) -> String {
    let is_login = message.is("Action", "Login");
    let wire = crate::format::raw(message);
    let mut out = String::with_capacity(wire.len());
    for line in wire.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = charset.decode(line);
        let secret = text
            .split_once(':')
            .is_some_and(|(key, _)| crate::ami::message::is_secret_key(key.trim(), is_login));
        if secret {
            out.push_str(text.split_once(':').map_or("", |(k, _)| k));
            out.push_str(": ***");
        } else {
            out.extend(
                text.chars()
                    .map(|c| if c.is_control() && c != '\t' { '?' } else { c }),
            );
        }
        out.push('\n');
    }
    // The wire text ends with CRLF CRLF: splitting leaves one empty piece too many.
    out.pop();
    out
}

fn describe_server(info: &ServerInfo) -> String {
    let ami = info.ami_version.as_deref().unwrap_or("?");
    match (&info.asterisk_version, &info.system_name) {
        (Some(v), Some(name)) if !name.is_empty() => format!("Asterisk {v} on {name}, AMI {ami}"),
        (Some(v), _) => format!("Asterisk {v}, AMI {ami}"),
        (None, _) if info.banner.is_empty() => "unknown".into(),
        (None, _) => match info.implied_asterisk() {
            Some(implied) => format!(
                "{} (AMI {ami}: Asterisk {} by its AMI version)",
                info.banner, implied.label
            ),
            None => format!("{} (AMI {ami})", info.banner),
        },
    }
}

/// A line from the console itself, told apart from AMI text by its `-- ` prefix.
pub fn note(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("-- {clean}\n")
}

fn state_note(state: &SessionState) -> Option<String> {
    match state {
        SessionState::Connecting { attempt } if *attempt > 1 => {
            Some(note(&format!("connecting (attempt {attempt})")))
        }
        SessionState::Connecting { .. } | SessionState::LoggingIn { .. } => None,
        SessionState::LoggedIn { user, server, .. } => {
            Some(note(&format!("logged in as {user}@{server}")))
        }
        SessionState::Reconnecting { delay, reason, .. } => Some(note(&format!(
            "connection lost ({reason}); reconnecting in {}s",
            delay.as_secs()
        ))),
        SessionState::Ended(crate::session::EndReason::LoggedOff) => Some(note("logged off")),
        SessionState::Ended(reason) => {
            Some(note(&format!("session ended: {reason} (Ctrl-D quits)")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn stamped(event: SessionEvent) -> Stamped {
        Stamped {
            at: SystemTime::now(),
            event,
        }
    }

    fn event(name: &str, channel: &str) -> Stamped {
        stamped(SessionEvent::Received {
            message: Message::from_headers(&[("Event", name), ("Channel", channel)]),
            link: Link::Unsolicited,
            internal: false,
        })
    }

    fn view(filter: Option<&str>) -> View {
        View::new(
            OutputFormat::Raw,
            Charset::UTF8,
            filter.map(|f| Filter::parse(f).unwrap()),
            true,
        )
    }

    #[test]
    fn events_pass_the_filter_or_are_counted_as_hidden() {
        let mut v = view(Some("Hangup"));
        assert!(v.handle(&event("Newchannel", "PJSIP/1-1")).is_none());
        let shown = v.handle(&event("Hangup", "PJSIP/1-1")).unwrap();
        assert!(
            shown.contains("Event: Hangup") && shown.contains("Channel: PJSIP/1-1"),
            "{shown}"
        );
        assert_eq!(
            (v.counts.events, v.counts.shown, v.counts.hidden),
            (2, 1, 1)
        );
    }

    #[test]
    fn answers_to_our_actions_ignore_the_filter_and_the_events_switch() {
        let mut v = view(Some("Hangup"));
        v.events_shown = false;
        let reply = stamped(SessionEvent::Received {
            message: Message::from_headers(&[
                ("Response", "Success"),
                ("ActionID", "amicon-1-3"),
                ("Ping", "Pong"),
            ]),
            link: Link::Response {
                action_id: "amicon-1-3".into(),
            },
            internal: false,
        });
        assert!(v.handle(&reply).unwrap().contains("Ping: Pong"));
        assert!(
            v.handle(&event("Hangup", "x")).is_none(),
            "events off hides even matching events"
        );
    }

    #[test]
    fn keepalive_and_catalog_requests_stay_out_of_sight() {
        let mut v = view(None);
        let keepalive = stamped(SessionEvent::Received {
            message: Message::from_headers(&[("Response", "Success"), ("Ping", "Pong")]),
            link: Link::Response {
                action_id: "amicon-1-1".into(),
            },
            internal: true,
        });
        assert!(v.handle(&keepalive).is_none());
        let catalog = stamped(SessionEvent::Received {
            message: Message::from_headers(&[("Response", "Success")]),
            link: Link::Response {
                action_id: "amicon-1-catalog-77".into(),
            },
            internal: false,
        });
        assert!(v.handle(&catalog).is_none());
        assert_eq!(v.counts.answers, 0);
    }

    #[test]
    fn state_changes_drive_the_prompt_label_and_print_a_note() {
        let mut v = view(None);
        let lost = SessionState::Reconnecting {
            delay: Duration::from_secs(2),
            attempt: 1,
            reason: "reset".into(),
        };
        assert!(v
            .handle(&stamped(SessionEvent::State(lost)))
            .unwrap()
            .starts_with("-- connection lost (reset)"));
        assert_eq!(v.status_label(), "reconnecting");
        let failed = SessionState::Ended(crate::session::EndReason::AuthFailed(
            "Authentication failed".into(),
        ));
        v.handle(&stamped(SessionEvent::State(failed)));
        assert_eq!(v.status_label(), "auth failed");
        let ok = SessionState::LoggedIn {
            user: "admin".into(),
            server: "127.0.0.1:5038".into(),
            tls: false,
        };
        assert_eq!(
            v.handle(&stamped(SessionEvent::State(ok))).unwrap(),
            "-- logged in as admin@127.0.0.1:5038\n"
        );
        assert_eq!(v.status_label(), "");
    }

    #[test]
    fn status_reports_counts_versions_and_round_trip() {
        let mut v = view(Some("Hangup"));
        v.handle(&stamped(SessionEvent::Pong {
            rtt: Duration::from_micros(1500),
        }));
        v.handle(&stamped(SessionEvent::Dropped { count: 3 }));
        v.handle(&stamped(SessionEvent::ServerInfo(ServerInfo {
            banner: "Asterisk Call Manager/11.0.0".into(),
            ami_version: Some("11.0.0".into()),
            asterisk_version: Some("22.10.1".into()),
            system_name: None,
        })));
        let report = v.status_report(Some(Duration::from_millis(2)));
        assert!(report.contains("Asterisk 22.10.1, AMI 11.0.0"), "{report}");
        assert!(report.contains("2.0 ms now, 1.5 ms keepalive"), "{report}");
        assert!(report.contains("dropped: 3"), "{report}");
        assert!(report.contains("filter:   Hangup"), "{report}");
    }

    #[test]
    fn status_names_the_asterisk_the_ami_version_implies_when_not_told() {
        let mut v = view(None);
        v.handle(&stamped(SessionEvent::ServerInfo(ServerInfo {
            banner: "Asterisk Call Manager/5.0.4".into(),
            ami_version: Some("5.0.4".into()),
            asterisk_version: None,
            system_name: None,
        })));
        let report = v.status_report(None);
        assert!(
            report.contains(
                "Asterisk Call Manager/5.0.4 (AMI 5.0.4: Asterisk 16 by its AMI version)"
            ),
            "{report}"
        );
    }

    #[test]
    fn raw_text_keeps_every_line_and_defuses_escapes() {
        let m = Message::parse(
            b"Event: Newchannel\r\nCallerIDName: Zo\xeb \x1b[2J\r\nOutput: a\r\nOutput: b\r\n\r\n",
        );
        assert_eq!(
            raw_text(&m, Charset::UTF8),
            "Event: Newchannel\nCallerIDName: Zo\\xEB ?[2J\nOutput: a\nOutput: b\n\n"
        );
        let latin1 = Charset::parse("latin1").unwrap();
        assert!(raw_text(&m, latin1).contains("CallerIDName: Zo\u{eb} ?[2J"));
        let login = Message::from_headers(&[("Action", "Login"), ("Secret", "amp111")]);
        assert_eq!(
            raw_text(&login, Charset::UTF8),
            "Action: Login\nSecret: ***\n\n"
        );
    }

    #[test]
    fn line_and_json_formats_come_from_the_shared_formatter() {
        let mut v = view(None);
        v.format = OutputFormat::Line;
        let line = v.handle(&event("Hangup", "PJSIP/1-1")).unwrap();
        assert_eq!(line.lines().count(), 1);
        assert!(
            line.contains("Hangup") && line.contains("PJSIP/1-1"),
            "{line}"
        );
        v.format = OutputFormat::Json;
        let json = v.handle(&event("Hangup", "PJSIP/1-1")).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(json.trim_end()).unwrap();
        assert_eq!(parsed["type"], "event");
    }

    #[test]
    fn notes_cannot_smuggle_terminal_escapes() {
        assert_eq!(note("bad\u{1b}[2Jthing"), "-- bad [2Jthing\n");
    }
}
