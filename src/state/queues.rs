//! Queues as `app_queue` reports them: parameters, members (with their device status
//! decoded) and waiting callers, from `QueueStatus` and the `Queue*` events.

use super::fields::{flag, number, opt, party_field, text};
use crate::ami::Message;
use crate::calls::Party;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// One queue.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Queue {
    pub name: String,
    /// `ringall`, `leastrecent`, ...
    pub strategy: String,
    /// Most callers allowed to wait (0: no limit).
    pub max: u32,
    /// Calls completed and abandoned since the queue was loaded.
    pub completed: u64,
    pub abandoned: u64,
    /// Average hold and talk time, in seconds.
    pub holdtime: u64,
    pub talktime: u64,
    /// `ServiceLevel` (seconds) and `ServicelevelPerf` (percent).
    pub service_level: u64,
    pub service_level_perf: f64,
    pub weight: i64,
    /// Members by interface (`Location`/`Interface`).
    pub members: BTreeMap<String, QueueMember>,
    /// Callers waiting, in position order.
    pub callers: Vec<QueueCaller>,
}

/// One member of a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueMember {
    /// What the queue dials (`Local/echo@test`, `PJSIP/100`).
    pub interface: String,
    pub name: String,
    /// Whose device state counts (`StateInterface`).
    pub state_interface: String,
    /// `static`, `dynamic`, `realtime`.
    pub membership: String,
    pub status: MemberStatus,
    pub paused: bool,
    pub paused_reason: String,
    pub penalty: i64,
    pub calls_taken: u64,
    /// When the member last took a call (Unix seconds; 0: never).
    pub last_call: u64,
    pub in_call: bool,
}

/// A caller waiting in a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueCaller {
    pub channel: String,
    pub uniqueid: String,
    pub caller: Party,
    /// 1 is next to be answered.
    pub position: u32,
    /// When it joined the queue (from `Wait` for callers already waiting).
    pub joined: SystemTime,
}

impl QueueCaller {
    /// How long it has waited until `now`.
    pub fn wait(&self, now: SystemTime) -> Duration {
        now.duration_since(self.joined).unwrap_or_default()
    }
}

/// A member's device status (`Status:` of `QueueMember`/`QueueMemberStatus`,
/// `AST_DEVICE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberStatus {
    Unknown,
    NotInUse,
    InUse,
    Busy,
    Invalid,
    Unavailable,
    Ringing,
    RingInUse,
    OnHold,
}

impl MemberStatus {
    pub fn from_code(code: u32) -> Self {
        match code {
            1 => MemberStatus::NotInUse,
            2 => MemberStatus::InUse,
            3 => MemberStatus::Busy,
            4 => MemberStatus::Invalid,
            5 => MemberStatus::Unavailable,
            6 => MemberStatus::Ringing,
            7 => MemberStatus::RingInUse,
            8 => MemberStatus::OnHold,
            _ => MemberStatus::Unknown,
        }
    }

    /// The words `queue show` uses.
    pub fn label(self) -> &'static str {
        match self {
            MemberStatus::Unknown => "Unknown",
            MemberStatus::NotInUse => "Not in use",
            MemberStatus::InUse => "In use",
            MemberStatus::Busy => "Busy",
            MemberStatus::Invalid => "Invalid",
            MemberStatus::Unavailable => "Unavailable",
            MemberStatus::Ringing => "Ringing",
            MemberStatus::RingInUse => "Ring+Inuse",
            MemberStatus::OnHold => "On Hold",
        }
    }
}

impl Queue {
    pub fn new(name: &str) -> Self {
        Queue {
            name: name.to_string(),
            ..Queue::default()
        }
    }

    /// Takes the parameters of a `QueueParams` item (or a `QueueSummary`-like event).
    pub(crate) fn update_params(&mut self, msg: &Message) {
        if let Some(s) = opt(msg, "Strategy") {
            self.strategy = s;
        }
        let set_u64 = |field: &mut u64, key: &str| {
            if let Some(v) = number(msg, key) {
                *field = v;
            }
        };
        set_u64(&mut self.completed, "Completed");
        set_u64(&mut self.abandoned, "Abandoned");
        set_u64(&mut self.holdtime, "Holdtime");
        set_u64(&mut self.talktime, "TalkTime");
        set_u64(&mut self.service_level, "ServiceLevel");
        if let Some(v) = number(msg, "Max") {
            self.max = v;
        }
        if let Some(v) = number(msg, "ServicelevelPerf") {
            self.service_level_perf = v;
        }
        if let Some(v) = number(msg, "Weight") {
            self.weight = v;
        }
    }

    /// Sorts callers by position (events may report them out of order).
    pub(crate) fn sort_callers(&mut self) {
        self.callers.sort_by_key(|c| c.position);
    }
}

/// The member's interface in any of the spellings events use.
pub(crate) fn member_interface(msg: &Message) -> Option<String> {
    ["Interface", "Location", "StateInterface"]
        .iter()
        .find_map(|k| opt(msg, k).filter(|v| !v.is_empty()))
}

/// A member from a `QueueMember` item or a `QueueMember*` event, updating `old`.
pub(crate) fn member_from(msg: &Message, old: Option<&QueueMember>) -> Option<QueueMember> {
    let interface = member_interface(msg)?;
    let mut m = old.cloned().unwrap_or(QueueMember {
        interface: interface.clone(),
        name: String::new(),
        state_interface: String::new(),
        membership: String::new(),
        status: MemberStatus::Unknown,
        paused: false,
        paused_reason: String::new(),
        penalty: 0,
        calls_taken: 0,
        last_call: 0,
        in_call: false,
    });
    if let Some(name) = opt(msg, "MemberName").or_else(|| opt(msg, "Name")) {
        m.name = name;
    }
    if let Some(v) = opt(msg, "StateInterface") {
        m.state_interface = v;
    }
    if let Some(v) = opt(msg, "Membership") {
        m.membership = v;
    }
    if let Some(code) = number::<u32>(msg, "Status") {
        m.status = MemberStatus::from_code(code);
    }
    if let Some(p) = flag(msg, "Paused") {
        m.paused = p;
        if !p {
            m.paused_reason.clear();
        }
    }
    if let Some(r) = opt(msg, "PausedReason").or_else(|| opt(msg, "Reason")) {
        if m.paused || r.is_empty() {
            m.paused_reason = r;
        }
    }
    if let Some(v) = number(msg, "Penalty") {
        m.penalty = v;
    }
    if let Some(v) = number(msg, "CallsTaken") {
        m.calls_taken = v;
    }
    if let Some(v) = number(msg, "LastCall") {
        m.last_call = v;
    }
    if let Some(v) = flag(msg, "InCall") {
        m.in_call = v;
    }
    Some(m)
}

/// A waiting caller from a `QueueEntry` item (`Wait` seconds) or a `QueueCallerJoin`.
pub(crate) fn caller_from(msg: &Message, at: SystemTime) -> Option<QueueCaller> {
    let uniqueid = text(msg, "Uniqueid");
    if super::fields::is_placeholder(&uniqueid) {
        return None;
    }
    let wait = number::<u64>(msg, "Wait").unwrap_or(0);
    Some(QueueCaller {
        channel: text(msg, "Channel"),
        uniqueid,
        caller: Party {
            num: party_field(msg, "CallerIDNum").unwrap_or_default(),
            name: party_field(msg, "CallerIDName").unwrap_or_default(),
        },
        position: number(msg, "Position").unwrap_or(0),
        joined: at.checked_sub(Duration::from_secs(wait)).unwrap_or(at),
    })
}
