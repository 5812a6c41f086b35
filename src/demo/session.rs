//! One client's AMI session on the demo server, as pure state: an action in, the bytes to
//! answer and what the connection should do next out. No socket here, so every answer
//! can be checked against the captures without a network.
//!
//! Behaviour follows Asterisk 22's `main/manager.c` as PROTOCOL.md describes it: only
//! Login/Challenge/Logoff before login, a one-second-delayed `Authentication failed`
//! then close, first-match header lookups with leading blanks skipped, the 1024-byte
//! line and 128-header limits, and the event mask grammar of `strings_to_mask()`.

use super::actions::{self, ACTIONS};
use super::sim::{self, state_desc, CallId, Micros, OriginateRequest, Pbx};
use super::users::Users;
use super::wire::{class, escape_c, Writer};
use crate::ami::frame::split_header;
use crate::ami::message::{MAX_HEADERS, MAX_LINE};
use crate::ami::Message;
use bytes::Bytes;
use md5::{Digest, Md5};
use std::net::SocketAddr;

/// The Asterisk version the demo claims; the suffix says what it really is.
pub const ASTERISK_VERSION: &str = "22.10.1-amicon-demo";
pub const AMI_VERSION: &str = "11.0.0";
pub const BANNER: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";

/// What the connection must do after an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Write these bytes.
    Send(Bytes),
    /// Login failed: wait about a second, write these bytes, close.
    FailAndClose(Bytes),
    /// Close once everything before is written (Logoff).
    Close,
    /// Login succeeded or the Events action ran: (re)start delivering events, or the
    /// flood, for the new mask.
    EventMaskSet,
    /// The PBX changed: publish its new events now.
    Publish,
    /// A synchronous Originate: answer when the call is up or has failed, and read no
    /// further action until then (Asterisk blocks the session the same way).
    AwaitOriginate {
        call: CallId,
        action_id: Option<Vec<u8>>,
        /// Give up (`Originate failed`) after this long.
        limit: std::time::Duration,
    },
}

/// What an action handler may touch.
pub struct Context<'a> {
    pub pbx: &'a mut Pbx,
    pub users: &'a Users,
    pub now: Micros,
}

#[derive(Clone, Debug)]
pub struct Session {
    user: Option<String>,
    challenge: String,
    mask: u32,
    local: SocketAddr,
    remote: SocketAddr,
    session_id: u64,
}

impl Session {
    /// `seed` makes the MD5 challenge (fixed for the connection, as in Asterisk).
    pub fn new(seed: u64, local: SocketAddr, remote: SocketAddr) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        Session {
            user: None,
            challenge: rng.u32(100_000_000..2_000_000_000).to_string(),
            mask: 0,
            local,
            remote,
            session_id: 0x7f00_0000_0000 | rng.u64(..1 << 40) & !0xf,
        }
    }

    pub fn is_logged_in(&self) -> bool {
        self.user.is_some()
    }

    /// The classes this session receives now (nothing before login).
    pub fn event_mask(&self) -> u32 {
        if self.user.is_some() {
            self.mask
        } else {
            0
        }
    }

    /// Whether an event of `event_class` goes to this session.
    pub fn wants(&self, event_class: u32) -> bool {
        self.event_mask() & event_class != 0
    }

    /// The answer to a message the decoder had to skip (too large to be an action).
    pub fn oversized() -> Bytes {
        Writer::response(
            "Error",
            None,
            Some("Too many lines in message or allocation failure"),
        )
        .finish()
    }

    /// The answer to a synchronous Originate once its call is decided.
    pub fn originate_reply(action_id: Option<&[u8]>, success: bool) -> Bytes {
        if success {
            Writer::response("Success", action_id, Some("Originate successfully queued")).finish()
        } else {
            Writer::response("Error", action_id, Some("Originate failed")).finish()
        }
    }

    /// Handles one action.
    pub fn handle(&mut self, msg: &Message, ctx: &mut Context<'_>) -> Vec<Effect> {
        // `do_message()`: lines past the 128th are lost, and so is the whole action.
        let headers = Headers::new(msg);
        let id = headers.action_id();
        if msg.len() > MAX_HEADERS {
            return error(id, "Too many lines in message or allocation failure");
        }
        if headers.too_long {
            return error(id, "Failed to parse message: line too long");
        }
        let Some(action) = headers.action() else {
            return error(id, "Missing action in request");
        };
        let action = String::from_utf8_lossy(action).into_owned();
        let lower = action.to_ascii_lowercase();
        if self.user.is_none() && !matches!(lower.as_str(), "login" | "challenge" | "logoff") {
            return error(id, "Permission denied");
        }
        match lower.as_str() {
            "login" => self.login(&headers, ctx),
            "challenge" => {
                if headers.get("AuthType").is_some_and(|t| t.eq_ignore_ascii_case(b"md5")) {
                    let mut w = Writer::response("Success", id, None);
                    w.header("Challenge", &self.challenge);
                    send(w.finish())
                } else {
                    error(id, "Must specify AuthType")
                }
            }
            "logoff" => vec![
                Effect::Send(Writer::response("Goodbye", id, Some("Thanks for all the fish.")).finish()),
                Effect::Close,
            ],
            "ping" => {
                let mut w = Writer::response("Success", id, None);
                w.header("Ping", "Pong").header("Timestamp", timestamp(ctx.now));
                send(w.finish())
            }
            "coresettings" => send(core_settings(id)),
            "corestatus" => send(core_status(id, ctx.pbx)),
            "listcommands" => {
                let mut w = Writer::response("Success", id, None);
                for a in ACTIONS {
                    w.header(a.name, format!("{} (Priv: {})", a.synopsis, a.privilege));
                }
                send(w.finish())
            }
            "command" => send(command(id, headers.get("Command").unwrap_or_default(), ctx)),
            "coreshowchannels" => send(core_show_channels(id, ctx)),
            "queuestatus" => send(queue_status(id, &headers, ctx)),
            "queuesummary" => send(queue_summary(id, &headers, ctx)),
            "status" => status(id, &headers, ctx),
            "userevent" => user_event(id, msg, &headers, ctx),
            "originate" => originate(id, &headers, ctx),
            "hangup" => hangup(id, &headers, ctx),
            "events" => match headers.get("EventMask").filter(|m| !m.is_empty()) {
                None => error(id, "Invalid event mask"),
                Some(mask) => {
                    self.mask = parse_mask(mask);
                    let mut w = Writer::response("Success", id, None);
                    w.header("Events", if self.mask != 0 { "On" } else { "Off" });
                    vec![Effect::Send(w.finish()), Effect::EventMaskSet]
                }
            },
            _ => error(
                id,
                &format!("Invalid/unknown command: {action}. Use Action: ListCommands to show available commands."),
            ),
        }
    }

    fn login(&mut self, headers: &Headers<'_>, ctx: &mut Context<'_>) -> Vec<Effect> {
        let id = headers.action_id();
        if self.user.is_some() {
            return send(Writer::response("Success", id, Some("Already authenticated")).finish());
        }
        let name =
            String::from_utf8_lossy(headers.get("Username").unwrap_or_default()).into_owned();
        let accepted = ctx.users.secret(&name).is_some_and(|secret| {
            if headers
                .get("AuthType")
                .is_some_and(|t| t.eq_ignore_ascii_case(b"md5"))
            {
                let mut hasher = Md5::new();
                hasher.update(self.challenge.as_bytes());
                hasher.update(secret.expose().as_bytes());
                let key: String = hasher
                    .finalize()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                headers.get("Key") == Some(key.as_bytes())
            } else {
                headers.get("Secret") == Some(secret.expose().as_bytes())
            }
        });
        if !accepted {
            return vec![Effect::FailAndClose(
                Writer::response("Error", id, Some("Authentication failed")).finish(),
            )];
        }
        self.mask = match headers.get("Events").filter(|e| !e.is_empty()) {
            Some(events) => parse_mask(events),
            None => class::ALL,
        };
        let mut out = vec![Effect::Send(
            Writer::response("Success", id, Some("Authentication accepted")).finish(),
        )];
        let uptime = ctx.now.saturating_sub(ctx.pbx.started()) / 1_000_000;
        if self.mask & class::SYSTEM != 0 {
            let mut w = Writer::event("FullyBooted", "system,all");
            w.header("Uptime", uptime.to_string())
                .header("LastReload", uptime.to_string())
                .header("Status", "Fully Booted");
            out.push(Effect::Send(w.finish()));
        }
        if self.mask & class::SECURITY != 0 {
            let tv = event_tv(ctx.now);
            let mut w = Writer::event("SuccessfulAuth", "security,all");
            w.header("EventTV", &tv)
                .header("Severity", "Informational")
                .header("Service", "AMI")
                .header("EventVersion", "1")
                .header("AccountID", &name)
                .header("SessionID", format!("0x{:x}", self.session_id))
                .header("LocalAddress", address(self.local))
                .header("RemoteAddress", address(self.remote))
                .header("UsingPassword", "0")
                .header("SessionTV", &tv);
            out.push(Effect::Send(w.finish()));
        }
        self.user = Some(name);
        out.push(Effect::EventMaskSet);
        out
    }
}

fn send(bytes: Bytes) -> Vec<Effect> {
    vec![Effect::Send(bytes)]
}

fn error(id: Option<&[u8]>, message: &str) -> Vec<Effect> {
    send(Writer::response("Error", id, Some(message)).finish())
}

/// Header lookups the way `astman_get_header()` does them: first match, key compared
/// case-insensitively, blanks after the colon skipped (trailing ones kept).
struct Headers<'m> {
    msg: &'m Message,
    too_long: bool,
}

impl<'m> Headers<'m> {
    fn new(msg: &'m Message) -> Self {
        let too_long = msg.lines().any(|line| line.len() + 2 > MAX_LINE);
        Headers { msg, too_long }
    }

    /// Only the lines Asterisk kept: the first 128, without over-long ones.
    fn kept(&self) -> impl Iterator<Item = (&'m [u8], &'m [u8])> + '_ {
        self.msg
            .lines()
            .take(MAX_HEADERS)
            .filter(|line| line.len() + 2 <= MAX_LINE)
            .map(|line| {
                let (k, v) = split_header(line);
                (k, trim_leading_blanks(v))
            })
    }

    fn get(&self, key: &str) -> Option<&'m [u8]> {
        self.kept()
            .find(|(k, _)| k.eq_ignore_ascii_case(key.as_bytes()))
            .map(|(_, v)| v)
    }

    fn get_all(&self, key: &'static str) -> impl Iterator<Item = &'m [u8]> + '_ {
        self.kept()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key.as_bytes()))
            .map(|(_, v)| v)
    }

    /// `Action` takes the first non-empty match.
    fn action(&self) -> Option<&'m [u8]> {
        self.kept()
            .find(|(k, v)| k.eq_ignore_ascii_case(b"Action") && !v.is_empty())
            .map(|(_, v)| v)
    }

    fn action_id(&self) -> Option<&'m [u8]> {
        self.get("ActionID")
    }

    fn text(&self, key: &str) -> String {
        String::from_utf8_lossy(self.get(key).unwrap_or_default()).into_owned()
    }
}

fn trim_leading_blanks(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .unwrap_or(v.len());
    &v[start..]
}

/// `strings_to_mask()`, PROTOCOL §9.1.
pub fn parse_mask(value: &[u8]) -> u32 {
    let text = String::from_utf8_lossy(value);
    let text = text.as_ref();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().map_or(class::ALL, |n| n as u32);
    }
    let lower = text.to_ascii_lowercase();
    if matches!(lower.as_str(), "yes" | "true" | "y" | "t" | "on") {
        return class::ALL;
    }
    if matches!(lower.as_str(), "no" | "false" | "n" | "f" | "off") {
        return 0;
    }
    class::NAMES
        .iter()
        .filter(|(name, _)| text.split(',').any(|part| part == *name))
        .fold(0, |mask, (_, bit)| mask | bit)
}

fn timestamp(now: Micros) -> String {
    format!("{}.{:06}", now / 1_000_000, now % 1_000_000)
}

/// `now` as `2026-11-28T19:12:17.685Z`, from which the demo cuts Asterisk's formats.
fn utc(now: Micros) -> String {
    crate::time::rfc3339_millis(std::time::UNIX_EPOCH + std::time::Duration::from_micros(now))
        .to_string()
}

/// `EventTV`: `2026-11-28T19:12:17.685+0000`.
fn event_tv(now: Micros) -> String {
    let text = utc(now);
    format!("{}+0000", &text[..23])
}

fn address(addr: SocketAddr) -> String {
    let family = if addr.is_ipv4() { "IPV4" } else { "IPV6" };
    format!("{family}/TCP/{}/{}", addr.ip(), addr.port())
}

fn core_settings(id: Option<&[u8]>) -> Bytes {
    let mut w = Writer::response("Success", id, None);
    w.header("AMIversion", AMI_VERSION)
        .header("AsteriskVersion", ASTERISK_VERSION)
        .header("SystemName", "")
        .header("CoreMaxCalls", "0")
        .header("CoreMaxLoadAvg", "0.000000")
        .header("CoreRunUser", "")
        .header("CoreRunGroup", "")
        .header("CoreMaxFilehandles", "0")
        .header("CoreRealTimeEnabled", "No")
        .header("CoreCDRenabled", "Yes")
        .header("CoreHTTPenabled", "No")
        .header("SoundsSearchCustomDir", "No");
    w.finish()
}

fn core_status(id: Option<&[u8]>, pbx: &Pbx) -> Bytes {
    let started = utc(pbx.started());
    let (date, time) = (started[..10].to_string(), started[11..19].to_string());
    let mut w = Writer::response("Success", id, None);
    w.header("CoreStartupDate", &date)
        .header("CoreStartupTime", &time)
        .header("CoreReloadDate", &date)
        .header("CoreReloadTime", &time)
        .header("CoreCurrentCalls", pbx.active_calls().to_string())
        .header("CoreProcessedCalls", pbx.processed_calls().to_string());
    w.finish()
}

fn duration(seconds: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn list_start(id: Option<&[u8]>, message: &str) -> Writer {
    let mut w = Writer::new();
    w.header("Response", "Success")
        .action_id(id)
        .header("EventList", "start")
        .header("Message", message);
    w.end();
    w
}

fn list_complete(w: &mut Writer, name: &str, id: Option<&[u8]>, items: usize) {
    w.header("Event", name)
        .action_id(id)
        .header("EventList", "Complete")
        .header("ListItems", items.to_string())
        .end();
}

fn core_show_channels(id: Option<&[u8]>, ctx: &Context<'_>) -> Bytes {
    let mut w = list_start(id, "Channels will follow");
    let channels = ctx.pbx.channels();
    for ch in channels {
        w.header("Event", "CoreShowChannel").action_id(id);
        sim::snapshot(&mut w, "", ch);
        w.header("Application", &ch.application)
            .header("ApplicationData", &ch.app_data)
            .header(
                "Duration",
                duration(ctx.now.saturating_sub(ch.created) / 1_000_000),
            )
            .header("BridgeId", ch.bridge.as_deref().unwrap_or(""))
            .end();
    }
    list_complete(&mut w, "CoreShowChannelsComplete", id, channels.len());
    w.into_bytes()
}

fn queue_status(id: Option<&[u8]>, headers: &Headers<'_>, ctx: &Context<'_>) -> Bytes {
    let queue = headers.text("Queue");
    let member_filter = headers.text("Member");
    let mut w = list_start(id, "Queue status will follow");
    let mut items = 0;
    if queue.is_empty() || queue == sim::QUEUE {
        let pbx = &*ctx.pbx;
        let (completed, abandoned, hold, talk) = pbx.queue_figures();
        w.header("Event", "QueueParams")
            .header("Queue", sim::QUEUE)
            .header("Max", "0")
            .header("Strategy", "ringall")
            .header("Calls", pbx.queue_callers().len().to_string())
            .header("Holdtime", hold.to_string())
            .header("TalkTime", talk.to_string())
            .header("Completed", completed.to_string())
            .header("Abandoned", abandoned.to_string())
            .header("ServiceLevel", "0")
            .header("ServicelevelPerf", "0.0")
            .header("ServicelevelPerf2", "0.0")
            .header("Weight", "0")
            .action_id(id)
            .end();
        items += 1;
        for m in pbx.members() {
            let interface = format!("PJSIP/{}", m.phone.endpoint);
            if !member_filter.is_empty()
                && member_filter != interface
                && member_filter != m.phone.display
            {
                continue;
            }
            w.header("Event", "QueueMember")
                .header("Queue", sim::QUEUE)
                .header("Name", m.phone.display)
                .header("Location", &interface)
                .header("StateInterface", &interface);
            sim::member_figures(&mut w, m, pbx.started(), false);
            w.action_id(id).end();
            items += 1;
        }
        for (position, caller) in pbx.queue_callers().iter().enumerate() {
            let Some(ch) = pbx
                .channels()
                .iter()
                .find(|c| c.uniqueid == caller.uniqueid)
            else {
                continue;
            };
            w.header("Event", "QueueEntry")
                .header("Queue", sim::QUEUE)
                .header("Position", (position + 1).to_string())
                .header("Channel", &ch.name)
                .header("Uniqueid", &ch.uniqueid)
                .header("CallerIDNum", &ch.caller_num)
                .header("CallerIDName", escape_c(&ch.caller_name).as_bytes())
                .header("ConnectedLineNum", &ch.connected_num)
                .header("ConnectedLineName", escape_c(&ch.connected_name).as_bytes())
                .header(
                    "Wait",
                    (ctx.now.saturating_sub(caller.joined) / 1_000_000).to_string(),
                )
                .header("Priority", "0")
                .action_id(id)
                .end();
            items += 1;
        }
    }
    list_complete(&mut w, "QueueStatusComplete", id, items);
    w.into_bytes()
}

fn queue_summary(id: Option<&[u8]>, headers: &Headers<'_>, ctx: &Context<'_>) -> Bytes {
    let queue = headers.text("Queue");
    let mut w = list_start(id, "Queue summary will follow");
    let mut items = 0;
    if queue.is_empty() || queue == sim::QUEUE {
        let pbx = &*ctx.pbx;
        let (_, _, hold, talk) = pbx.queue_figures();
        let longest = pbx
            .queue_callers()
            .iter()
            .map(|c| ctx.now.saturating_sub(c.joined) / 1_000_000)
            .max()
            .unwrap_or(0);
        let available = pbx.members().iter().filter(|m| m.status == 1).count();
        w.header("Event", "QueueSummary")
            .header("Queue", sim::QUEUE)
            .header("LoggedIn", pbx.members().len().to_string())
            .header("Available", available.to_string())
            .header("Callers", pbx.queue_callers().len().to_string())
            .header("HoldTime", hold.to_string())
            .header("TalkTime", talk.to_string())
            .header("LongestHoldTime", longest.to_string())
            .action_id(id)
            .end();
        items += 1;
    }
    list_complete(&mut w, "QueueSummaryComplete", id, items);
    w.into_bytes()
}

/// `UserEvent`: every other line of the action, byte for byte, goes out to all sessions
/// reading the `user` class (vector `userevent-raw-headers`).
fn user_event(
    id: Option<&[u8]>,
    msg: &Message,
    headers: &Headers<'_>,
    ctx: &mut Context<'_>,
) -> Vec<Effect> {
    let Some(name) = headers.get("UserEvent").filter(|n| !n.is_empty()) else {
        return error(id, "UserEvent not specified");
    };
    let mut w = Writer::event("UserEvent", "user,all");
    w.header("UserEvent", name);
    let mut raw = w.into_bytes().to_vec();
    for line in msg.lines().take(MAX_HEADERS) {
        let (key, _) = split_header(line);
        if key.eq_ignore_ascii_case(b"Action") || key.eq_ignore_ascii_case(b"UserEvent") {
            continue;
        }
        raw.extend_from_slice(line);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    ctx.pbx.inject(class::USER, Bytes::from(raw));
    vec![
        Effect::Send(Writer::response("Success", id, Some("Event Sent")).finish()),
        Effect::Publish,
    ]
}

/// `Status`: one `Status` event per channel, `Privilege: Call` and the ActionID last, as
/// captured (vector `status-eventlist`).
fn status(id: Option<&[u8]>, headers: &Headers<'_>, ctx: &Context<'_>) -> Vec<Effect> {
    let wanted = headers.text("Channel");
    let channels: Vec<&sim::Channel> = ctx
        .pbx
        .channels()
        .iter()
        .filter(|c| wanted.is_empty() || c.name == wanted)
        .collect();
    if !wanted.is_empty() && channels.is_empty() {
        return error(id, "No such channel");
    }
    let names = headers.text("Variables");
    let all = headers.get("AllVariables").is_some_and(|v| {
        matches!(
            String::from_utf8_lossy(v).to_ascii_lowercase().as_str(),
            "yes" | "true" | "1" | "on"
        )
    });
    let mut w = list_start(id, "Channel status will follow");
    for ch in &channels {
        let local = ch.name.starts_with("Local/");
        let format = if local { "slin" } else { "ulaw" };
        w.header("Event", "Status").header("Privilege", "Call");
        sim::snapshot(&mut w, "", ch);
        w.header("Type", ch.name.split('/').next().unwrap_or_default())
            .header("DNID", "")
            .header(
                "EffectiveConnectedLineNum",
                if ch.connected_num.is_empty() {
                    "<unknown>"
                } else {
                    &ch.connected_num
                },
            )
            .header(
                "EffectiveConnectedLineName",
                escape_c(if ch.connected_name.is_empty() {
                    "<unknown>"
                } else {
                    &ch.connected_name
                })
                .as_bytes(),
            )
            .header("TimeToHangup", "0")
            .header("BridgeID", ch.bridge.as_deref().unwrap_or(""))
            .header("Application", &ch.application)
            .header("Data", &ch.app_data)
            .header("Nativeformats", format!("({format})"))
            .header("Readformat", format)
            .header("Readtrans", "")
            .header("Writeformat", format)
            .header("Writetrans", "")
            .header("Callgroup", "0")
            .header("Pickupgroup", "0")
            .header(
                "Seconds",
                (ctx.now.saturating_sub(ch.created) / 1_000_000).to_string(),
            );
        if all {
            for (name, value) in &ch.variables {
                w.header("Variable", format!("{name}={value}"));
            }
        } else {
            for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let value = ch
                    .variables
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or("", |(_, v)| v.as_str());
                w.header("Variable", format!("{name}={value}"));
            }
        }
        w.action_id(id).end();
    }
    w.header("Event", "StatusComplete")
        .action_id(id)
        .header("EventList", "Complete")
        .header("ListItems", channels.len().to_string())
        .header("Items", channels.len().to_string())
        .end();
    send(w.into_bytes())
}

/// The CLI commands the demo answers, as word lists.
const CLI: &[&str] = &[
    "core show version",
    "core show channels",
    "core show uptime",
    "manager show command",
    "manager show commands",
];

fn command(id: Option<&[u8]>, cmd: &[u8], ctx: &Context<'_>) -> Bytes {
    let cmd = String::from_utf8_lossy(cmd);
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let lines: Option<Vec<String>> = match words.as_slice() {
        ["core", "show", "version"] => Some(vec![format!(
            "Asterisk {ASTERISK_VERSION} built by amicon @ demo on a simulated PBX running Linux"
        )]),
        ["core", "show", "channels"] => Some(show_channels(ctx)),
        ["core", "show", "uptime"] => {
            let up = ctx.now.saturating_sub(ctx.pbx.started()) / 1_000_000;
            Some(vec![
                format!("System uptime: {}", human(up)),
                format!("Last reload: {}", human(up)),
            ])
        }
        ["manager", "show", "commands"] => {
            let mut out = vec![format!(
                "  {:<30} {:<30} {}",
                "Action", "Privilege", "Synopsis"
            )];
            out.push(format!(
                "  {:<30} {:<30} {}",
                "------", "---------", "--------"
            ));
            for a in ACTIONS {
                out.push(format!(
                    "  {:<30} {:<30} {}",
                    a.name, a.privilege, a.synopsis
                ));
            }
            Some(out)
        }
        ["manager", "show", "command", names @ ..] if !names.is_empty() => {
            let mut out = Vec::new();
            for name in names {
                if let Some(doc) = actions::find(name) {
                    out.extend(actions::help_lines(doc));
                }
            }
            if out.is_empty() {
                out.push(String::new());
            }
            Some(out)
        }
        _ => None,
    };
    match lines {
        Some(lines) => {
            let mut w = Writer::response("Success", id, Some("Command output follows"));
            for line in lines {
                w.header("Output", line);
            }
            w.finish()
        }
        None => {
            let mut w = Writer::response("Error", id, Some("Command output follows"));
            w.header(
                "Output",
                format!("No such command '{cmd}' (type 'core show help {}' for other possible commands)", best_prefix(&words)),
            );
            w.finish()
        }
    }
}

/// The leading words that still lead to a known command (`find_best()` in the CLI).
fn best_prefix(words: &[&str]) -> String {
    let mut best = 0;
    for n in 1..=words.len() {
        if CLI.iter().any(|c| {
            let known: Vec<&str> = c.split(' ').collect();
            known.len() >= n && known[..n] == words[..n]
        }) {
            best = n;
        } else {
            break;
        }
    }
    words[..best].join(" ")
}

fn human(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h} hour{}", if h == 1 { "" } else { "s" }));
    }
    if m > 0 {
        parts.push(format!("{m} minute{}", if m == 1 { "" } else { "s" }));
    }
    parts.push(format!("{s} second{}", if s == 1 { "" } else { "s" }));
    parts.join(", ")
}

/// `core show channels`, in the CLI's fixed columns.
fn show_channels(ctx: &Context<'_>) -> Vec<String> {
    let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    let row = |a: &str, b: &str, c: &str, d: &str| {
        format!(
            "{:<64} {:<32} {:<7} {:<30}",
            cut(a, 64),
            cut(b, 32),
            cut(c, 7),
            cut(d, 30)
        )
    };
    let mut out = vec![row("Channel", "Location", "State", "Application(Data)")];
    for ch in ctx.pbx.channels() {
        let location = if ch.exten.is_empty() {
            "(None)".to_string()
        } else {
            format!("{}@{}:{}", ch.exten, ch.context, ch.priority)
        };
        let app = if ch.application.is_empty() {
            "(None)".to_string()
        } else {
            format!("{}({})", ch.application, ch.app_data)
        };
        out.push(row(&ch.name, &location, state_desc(ch.state), &app));
    }
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    out.push(plural(
        ctx.pbx.channels().len(),
        "active channel",
        "active channels",
    ));
    out.push(plural(
        ctx.pbx.active_calls(),
        "active call",
        "active calls",
    ));
    out.push(plural(
        ctx.pbx.processed_calls() as usize,
        "call processed",
        "calls processed",
    ));
    out
}

/// `"Name" <number>`, `Name <number>` or a bare number.
fn parse_caller_id(value: &str) -> (String, String) {
    let value = value.trim();
    if let (Some(open), true) = (value.rfind('<'), value.ends_with('>')) {
        let number = value[open + 1..value.len() - 1].trim().to_string();
        let name = value[..open].trim().trim_matches('"').to_string();
        (number, name)
    } else if value.bytes().all(|b| b.is_ascii_digit() || b == b'+') {
        (value.to_string(), String::new())
    } else {
        (String::new(), value.trim_matches('"').to_string())
    }
}

/// Splits a `Variable:` value on commas outside quotes, brackets and parentheses,
/// removing quotes and backslashes (`__ast_app_separate_args()`, PROTOCOL §3.2).
fn split_variables(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
    let mut push = |current: &mut String| {
        if let Some((k, v)) = current.split_once('=') {
            if !k.is_empty() {
                out.push((k.to_string(), v.to_string()));
            }
        }
        current.clear();
    };
    for c in value.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '(' | '[' if !quoted => {
                depth += 1;
                current.push(c);
            }
            ')' | ']' if !quoted => {
                depth -= 1;
                current.push(c);
            }
            ',' if !quoted && depth <= 0 => push(&mut current),
            c => current.push(c),
        }
    }
    push(&mut current);
    out
}

fn originate(id: Option<&[u8]>, headers: &Headers<'_>, ctx: &mut Context<'_>) -> Vec<Effect> {
    let channel = headers.text("Channel");
    if channel.is_empty() {
        return error(id, "Channel not specified");
    }
    let priority = headers.text("Priority");
    let priority = if priority.is_empty() {
        1
    } else {
        match priority.trim().parse::<u32>() {
            Ok(p) => p,
            Err(_) => return error(id, "Invalid priority"),
        }
    };
    let timeout = headers.text("Timeout");
    let timeout_ms = if timeout.is_empty() {
        30_000
    } else {
        match timeout.trim().parse::<u64>() {
            // Longer than an hour is kept to an hour: nothing in the demo rings that long.
            Ok(t) => t.min(3_600_000),
            Err(_) => return error(id, "Invalid timeout"),
        }
    };
    let (caller_num, caller_name) = parse_caller_id(&headers.text("CallerID"));
    let variables = headers
        .get_all("Variable")
        .flat_map(|v| split_variables(&String::from_utf8_lossy(v)))
        .collect();
    let is_async = headers.get("Async").is_some_and(|a| {
        matches!(
            String::from_utf8_lossy(a).to_ascii_lowercase().as_str(),
            "yes" | "true" | "y" | "t" | "1" | "on"
        )
    });
    let request = OriginateRequest {
        channel,
        context: headers.text("Context"),
        exten: headers.text("Exten"),
        priority,
        application: headers.text("Application"),
        data: headers.text("Data"),
        caller_num,
        caller_name,
        variables,
        timeout_ms,
        action_id: id.map(<[u8]>::to_vec),
        is_async,
    };
    let call = ctx.pbx.originate(request, ctx.now);
    if is_async {
        vec![
            Effect::Send(
                Writer::response("Success", id, Some("Originate successfully queued")).finish(),
            ),
            Effect::Publish,
        ]
    } else {
        vec![
            Effect::Publish,
            Effect::AwaitOriginate {
                call,
                action_id: id.map(<[u8]>::to_vec),
                limit: std::time::Duration::from_millis(timeout_ms.saturating_add(10_000)),
            },
        ]
    }
}

fn hangup(id: Option<&[u8]>, headers: &Headers<'_>, ctx: &mut Context<'_>) -> Vec<Effect> {
    let channel = headers.text("Channel");
    if channel.is_empty() {
        return error(id, "No channel specified");
    }
    let cause = headers
        .text("Cause")
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|c| *c > 0)
        .unwrap_or(16);
    let pattern = channel.strip_prefix('/').and_then(|c| c.strip_suffix('/'));
    let Some(pattern) = pattern.filter(|_| channel.len() >= 2) else {
        return if ctx.pbx.hangup(&channel, cause, ctx.now) {
            vec![
                Effect::Send(Writer::response("Success", id, Some("Channel Hungup")).finish()),
                Effect::Publish,
            ]
        } else {
            error(id, "No such channel")
        };
    };
    let Ok(regex) = regex::Regex::new(pattern) else {
        return error(id, "Invalid regex");
    };
    let names: Vec<String> = ctx
        .pbx
        .channels()
        .iter()
        .map(|c| c.name.clone())
        .filter(|n| regex.is_match(n))
        .collect();
    let mut w = list_start(id, "Channels hung up will follow");
    for name in &names {
        ctx.pbx.hangup(name, cause, ctx.now);
        w.header("Event", "ChannelHungup")
            .header("Channel", name)
            .action_id(id)
            .end();
    }
    list_complete(&mut w, "ChannelsHungupListComplete", id, names.len());
    vec![Effect::Send(w.into_bytes()), Effect::Publish]
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::secret::Secret;
    use proptest::prelude::*;

    fn any_header() -> impl Strategy<Value = (String, String)> {
        let keys = prop_oneof![
            Just("Action".to_string()),
            Just("ActionID".to_string()),
            Just("Channel".to_string()),
            Just("Username".to_string()),
            Just("Secret".to_string()),
            Just("EventMask".to_string()),
            Just("Command".to_string()),
            Just("Timeout".to_string()),
            Just("Variable".to_string()),
            Just("CallerID".to_string()),
            "[A-Za-z]{1,8}",
        ];
        let values = prop_oneof![
            Just("Login".to_string()),
            Just("Originate".to_string()),
            Just("Hangup".to_string()),
            Just("Events".to_string()),
            Just("Command".to_string()),
            Just("QueueStatus".to_string()),
            Just("CoreShowChannels".to_string()),
            Just("Local/echo@test".to_string()),
            Just("PJSIP/alice".to_string()),
            Just("/(/".to_string()),
            Just("/.*/".to_string()),
            Just("demo".to_string()),
            Just("18446744073709551615".to_string()),
            ".{0,40}",
        ];
        (keys, values)
    }

    proptest! {
        #[test]
        fn no_action_sequence_panics(actions in prop::collection::vec(prop::collection::vec(any_header(), 0..8), 1..12)) {
            let addr: SocketAddr = "127.0.0.1:5038".parse().unwrap();
            let mut session = Session::new(1, addr, addr);
            let mut pbx = Pbx::new(1, 0.0, 1_795_000_000_000_000);
            let mut users = Users::default();
            users.add("demo", Secret::new("demo".into()));
            let mut now = 1_795_000_000_000_000;
            // Logged in first, so every action is reachable.
            let login = Message::from_headers(&[("Action", "Login"), ("Username", "demo"), ("Secret", "demo")]);
            session.handle(&login, &mut Context { pbx: &mut pbx, users: &users, now });
            for headers in actions {
                let msg = Message::from_headers(&headers);
                session.handle(&msg, &mut Context { pbx: &mut pbx, users: &users, now });
                now += 1_000_000;
                pbx.advance(now);
            }
            pbx.advance(u64::MAX);
        }
    }

    #[test]
    fn masks_follow_strings_to_mask() {
        assert_eq!(parse_mask(b"off"), 0);
        assert_eq!(parse_mask(b"on"), class::ALL);
        assert_eq!(parse_mask(b"1"), class::SYSTEM);
        assert_eq!(parse_mask(b"Call"), 0, "class names are case-sensitive");
        assert_eq!(parse_mask(b"call,user"), class::CALL | class::USER);
        assert_eq!(parse_mask(b"nosuchclass"), 0);
    }

    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(
            event_tv(1_795_893_137_685_000),
            "2026-11-28T19:12:17.685+0000"
        );
    }

    #[test]
    fn variables_split_like_the_dialplan() {
        assert_eq!(
            split_variables("ONE=1,TWO=2,PJSIP_HEADER(add,X-Foo)=bar,Q=\"a,b\""),
            vec![
                ("ONE".into(), "1".into()),
                ("TWO".into(), "2".into()),
                ("PJSIP_HEADER(add,X-Foo)".into(), "bar".into()),
                ("Q".into(), "a,b".into())
            ]
        );
    }

    #[test]
    fn caller_ids_are_split_into_number_and_name() {
        assert_eq!(
            parse_caller_id("\"AMI Test\" <1000>"),
            ("1000".into(), "AMI Test".into())
        );
        assert_eq!(parse_caller_id("2001"), ("2001".into(), String::new()));
    }

    #[test]
    fn unknown_cli_names_the_best_prefix() {
        assert_eq!(best_prefix(&["core", "show", "nothing"]), "core show");
        assert_eq!(best_prefix(&["no", "such"]), "");
    }
}
