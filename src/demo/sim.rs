//! The simulated PBX itself: channels, bridges, a `support` queue and the calls that move
//! them, with no sockets and no clock of its own.
//!
//! Every call is a script of timed steps decided when the call starts (from a seeded
//! RNG, so a seed replays the same traffic); [`Pbx::advance`] runs the steps that are due
//! at the time it is given and returns the events they produce, already encoded the way
//! Asterisk 22 writes them (header names and order taken from the captures in
//! `tests/fixtures/vectors/`). Actions that change calls (Originate, Hangup) schedule
//! steps too, so their events come out of the same ordered stream.

use super::wire::{class, escape_c, Writer};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};

/// Microseconds since the Unix epoch: the simulator's only notion of time.
pub type Micros = u64;
pub type CallId = u64;

const SECOND: Micros = 1_000_000;

/// One event as every connection will see it.
#[derive(Clone, Debug)]
pub struct SimEvent {
    /// The event's class bit; 0 for internal markers that are never written.
    pub class: u32,
    pub wire: Bytes,
    /// Set on the step that decides an Originate, for a connection waiting on it.
    pub outcome: Option<Outcome>,
}

/// How an Originate ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub call: CallId,
    pub success: bool,
}

/// A live channel, with the snapshot fields Asterisk puts in every channel event.
#[derive(Clone, Debug)]
pub struct Channel {
    pub name: String,
    pub uniqueid: String,
    pub linkedid: String,
    pub state: u8,
    pub caller_num: String,
    pub caller_name: String,
    pub connected_num: String,
    pub connected_name: String,
    pub context: String,
    pub exten: String,
    pub priority: u32,
    pub application: String,
    pub app_data: String,
    pub created: Micros,
    pub bridge: Option<String>,
    /// Channel variables set on it (`VarSet`), in the order first set.
    pub variables: Vec<(String, String)>,
    call: CallId,
}

/// `ast_state2str()`.
pub fn state_desc(state: u8) -> &'static str {
    match state {
        0 => "Down",
        1 => "Rsrvd",
        2 => "OffHook",
        3 => "Dialing",
        4 => "Ring",
        5 => "Ringing",
        6 => "Up",
        7 => "Busy",
        _ => "Unknown",
    }
}

/// `ast_cause2str()` for the causes the simulator uses.
pub fn cause_text(cause: u32) -> &'static str {
    match cause {
        1 => "Unallocated (unassigned) number",
        3 => "No route to destination",
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "User alerting, no answer",
        21 => "Call Rejected",
        26 => "Answered elsewhere",
        27 => "Destination out of order",
        28 => "Invalid number format",
        31 => "Normal, unspecified",
        34 => "Circuit/channel congestion",
        38 => "Network out of order",
        41 => "Temporary failure",
        _ => "Unknown",
    }
}

/// A demo phone: a PJSIP endpoint with an extension number and a display name.
#[derive(Clone, Copy, Debug)]
pub struct Phone {
    pub endpoint: &'static str,
    pub number: &'static str,
    pub display: &'static str,
}

/// The office. Names mix scripts on purpose, so front ends meet wide characters.
pub const PHONES: &[Phone] = &[
    Phone {
        endpoint: "alice",
        number: "2001",
        display: "Alice Martin",
    },
    Phone {
        endpoint: "bob",
        number: "2002",
        display: "Bob Okafor",
    },
    Phone {
        endpoint: "carol",
        number: "2003",
        display: "Carol Nguyễn",
    },
    Phone {
        endpoint: "dave",
        number: "2004",
        display: "Dave Kowalski",
    },
    Phone {
        endpoint: "erin",
        number: "2005",
        display: "Erin Søndergaard",
    },
    Phone {
        endpoint: "yamada",
        number: "2006",
        display: "山田 太郎",
    },
    Phone {
        endpoint: "francois",
        number: "2007",
        display: "François Dupré",
    },
    Phone {
        endpoint: "grace",
        number: "2008",
        display: "Grace O'Neil",
    },
    Phone {
        endpoint: "heidi",
        number: "2009",
        display: "Heidi Müller",
    },
    Phone {
        endpoint: "ivan",
        number: "2010",
        display: "Иван Петров",
    },
    Phone {
        endpoint: "minjun",
        number: "2011",
        display: "김민준",
    },
    Phone {
        endpoint: "mei",
        number: "2012",
        display: "王美玲",
    },
    Phone {
        endpoint: "omar",
        number: "2013",
        display: "Omar Haddad",
    },
    Phone {
        endpoint: "paula",
        number: "2014",
        display: "Paula Ferreira",
    },
];

/// Indexes into [`PHONES`] of the `support` queue's agents.
const AGENTS: &[usize] = &[2, 3, 4, 11];
pub const QUEUE: &str = "support";
const QUEUE_EXTEN: &str = "600";

/// Outside callers reaching the queue through the trunk.
const OUTSIDE: &[(&str, &str)] = &[
    ("+33142685300", "José Ramírez"),
    ("+81312345678", "佐藤 花子"),
    ("+4930123456", "Müller GmbH"),
    ("+14155550123", "Dana White"),
    ("+861012345678", "李小龙"),
    ("+5511987654321", "João Gonçalves"),
    ("+442071234567", ""),
    ("+74951234567", "Ольга Петрова"),
    ("+34911234567", "Zoë Brontë"),
];

/// A `support` queue member's live figures, for QueueStatus and QueueMemberStatus.
#[derive(Clone, Debug)]
pub struct Member {
    pub phone: Phone,
    pub calls_taken: u64,
    pub last_call: u64,
    pub in_call: bool,
    /// `ast_device_state` number: 1 not in use, 2 in use, 6 ringing.
    pub status: u8,
}

/// A caller waiting in the queue.
#[derive(Clone, Debug)]
pub struct QueueCaller {
    pub uniqueid: String,
    pub joined: Micros,
}

#[derive(Clone, Debug)]
struct OriginateReply {
    action_id: Option<Vec<u8>>,
    broadcast: bool,
    channel: String,
    context: String,
    exten: String,
    application: String,
    data: String,
    caller_num: String,
    caller_name: String,
}

#[derive(Clone, Debug)]
enum Step {
    Create(Box<Channel>),
    State(String, u8),
    Exten {
        uid: String,
        priority: u32,
        app: &'static str,
        data: String,
    },
    VarSet(String, String, String),
    CallerId(String, String, String),
    Connected(String, String, String),
    LocalBridge(String, String),
    DialBegin {
        from: Option<String>,
        to: String,
        dial_string: String,
    },
    DialEnd {
        from: Option<String>,
        to: String,
        status: &'static str,
    },
    BridgeCreate(String),
    BridgeEnter(String, String),
    BridgeLeave(String),
    BridgeDestroy(String),
    SoftHangupRequest(String, u32),
    HangupRequest(String, u32),
    Hangup(String, u32),
    DeviceState(String, &'static str),
    OriginateResponse {
        success: bool,
        reason: u32,
        uid: Option<String>,
    },
    QueueJoin(String),
    QueueLeave(String),
    QueueAbandon(String),
    AgentCalled {
        caller: String,
        agent: String,
        member: usize,
    },
    AgentConnect {
        caller: String,
        agent: String,
        member: usize,
        ring: u64,
    },
    AgentComplete {
        caller: String,
        agent: String,
        member: usize,
        talk: u64,
        reason: &'static str,
    },
    /// The queue rings its free agents for this caller (decided when it runs).
    QueueRing(String),
    /// A phone this call no longer uses (an agent that was rung but did not answer).
    Free(&'static str),
    MemberStatus {
        member: usize,
        status: u8,
        in_call: bool,
        took_call: bool,
    },
    End,
}

#[derive(Clone, Debug, Default)]
struct Call {
    bridges: Vec<String>,
    devices: Vec<String>,
    members: Vec<usize>,
    originate: Option<OriginateReply>,
    answered_at: Option<Micros>,
    tearing_down: bool,
    /// Demo phones this call occupies, freed when it ends.
    phones: Vec<&'static str>,
}

/// The channel that dials, as [`Pbx::dial_phone`] needs it.
struct Caller {
    uid: String,
    number: String,
    name: String,
    /// The dialplan priority its `Dial` runs at.
    priority: u32,
}

/// A timed list of steps, built before a call starts.
struct Script {
    t: Micros,
    steps: Vec<(Micros, Step)>,
}

impl Script {
    fn new(start: Micros) -> Self {
        Script {
            t: start,
            steps: Vec::with_capacity(48),
        }
    }
    fn at(&mut self, step: Step) {
        self.steps.push((self.t, step));
    }
    fn wait(&mut self, seconds: f64) {
        // Float-to-int casts saturate; the sum must too (an Originate may ask for any Timeout).
        self.t = self
            .t
            .saturating_add((seconds.max(0.0) * SECOND as f64) as Micros);
    }
}

/// What an Originate asks for, already read from the action's headers.
#[derive(Clone, Debug, Default)]
pub struct OriginateRequest {
    pub channel: String,
    pub context: String,
    pub exten: String,
    pub priority: u32,
    pub application: String,
    pub data: String,
    pub caller_num: String,
    pub caller_name: String,
    pub variables: Vec<(String, String)>,
    pub timeout_ms: u64,
    pub action_id: Option<Vec<u8>>,
    /// `Async: true`: the result comes as an `OriginateResponse` event.
    pub is_async: bool,
}

/// The contexts of the demo dialplan: `test` as on the real test server
/// (`extensions.conf`), plus `from-internal` and `default` for the office phones.
pub const CONTEXTS: &[&str] = &["test", "from-internal", "default"];

/// The highest priority of `exten` in the demo dialplan (same in every context), or None
/// when the extension does not exist: what `ast_exists_extension()` answers.
pub fn last_priority(context: &str, exten: &str) -> Option<u32> {
    if !CONTEXTS.contains(&context) {
        return None;
    }
    Some(match exten {
        "echo" | "long" => 3,
        "busy" => 1,
        "short" | "noanswer" => 2,
        e if PHONES.iter().any(|p| p.endpoint == e || p.number == e)
            || e == QUEUE_EXTEN
            || e == QUEUE =>
        {
            2
        }
        _ => return None,
    })
}

/// Whether `exten` at `priority` exists in `context`.
pub fn extension_exists(context: &str, exten: &str, priority: u32) -> bool {
    priority >= 1 && last_priority(context, exten).is_some_and(|last| priority <= last)
}

/// What the Local channel's own extension does once dialled.
enum Program {
    Answer { seconds: f64 },
    Busy,
    NoAnswer,
}

fn program_for(context: &str, exten: &str, rng: &mut fastrand::Rng) -> Option<Program> {
    last_priority(context, exten)?;
    Some(match exten {
        "echo" => Program::Answer { seconds: 2.0 },
        "long" => Program::Answer { seconds: 30.0 },
        "short" => Program::Answer { seconds: 0.0 },
        "busy" => Program::Busy,
        "noanswer" => Program::NoAnswer,
        e if PHONES.iter().any(|p| p.endpoint == e || p.number == e)
            || e == QUEUE_EXTEN
            || e == QUEUE =>
        {
            Program::Answer {
                seconds: 3.0 + rng.f64() * 25.0,
            }
        }
        _ => return None,
    })
}

/// The whole simulated PBX.
pub struct Pbx {
    rng: fastrand::Rng,
    calls_per_second: f64,
    started: Micros,
    channels: Vec<Channel>,
    bridges: HashMap<String, u32>,
    calls: HashMap<CallId, Call>,
    schedule: BTreeMap<(Micros, u64), (CallId, Step)>,
    order: u64,
    next_uid: u64,
    next_channel: u32,
    next_call: CallId,
    processed: u64,
    next_background: Micros,
    members: Vec<Member>,
    queue_callers: Vec<QueueCaller>,
    /// Endpoints in a call; background calls only pick idle phones.
    busy: Vec<&'static str>,
    injected: Vec<SimEvent>,
    /// Global dialplan variables (`Setvar` without a channel).
    globals: BTreeMap<String, String>,
    /// The AstDB: `family/key` to value.
    astdb: BTreeMap<String, String>,
    completed: u64,
    abandoned: u64,
    talk_total: u64,
    hold_total: u64,
}

impl Pbx {
    /// A PBX that starts at `now`, places `calls_per_second` background calls on average
    /// (0 for none) and draws every choice from `seed`.
    pub fn new(seed: u64, calls_per_second: f64, now: Micros) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let first = now + (rng.f64() * SECOND as f64) as Micros;
        let members = AGENTS
            .iter()
            .map(|&i| Member {
                phone: PHONES[i],
                calls_taken: 0,
                last_call: 0,
                in_call: false,
                status: 1,
            })
            .collect();
        Pbx {
            rng,
            calls_per_second: if calls_per_second.is_finite() {
                calls_per_second.max(0.0)
            } else {
                0.0
            },
            started: now,
            channels: Vec::new(),
            bridges: HashMap::new(),
            calls: HashMap::new(),
            schedule: BTreeMap::new(),
            order: 0,
            next_uid: 0,
            next_channel: 0,
            next_call: 1,
            processed: 0,
            next_background: first,
            members,
            queue_callers: Vec::new(),
            busy: Vec::new(),
            injected: Vec::new(),
            globals: BTreeMap::new(),
            astdb: BTreeMap::new(),
            completed: 0,
            abandoned: 0,
            talk_total: 0,
            hold_total: 0,
        }
    }

    /// Changes the background call rate (0 stops new calls; calls in progress go on).
    pub fn set_calls_per_second(&mut self, calls_per_second: f64) {
        self.calls_per_second = if calls_per_second.is_finite() {
            calls_per_second.max(0.0)
        } else {
            0.0
        };
    }

    pub fn started(&self) -> Micros {
        self.started
    }

    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn queue_callers(&self) -> &[QueueCaller] {
        &self.queue_callers
    }

    /// Calls finished since start.
    pub fn processed_calls(&self) -> u64 {
        self.processed
    }

    /// Calls with at least one live channel.
    pub fn active_calls(&self) -> usize {
        let mut ids: Vec<&str> = self.channels.iter().map(|c| c.linkedid.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// Queue figures: (completed, abandoned, average hold s, average talk s).
    pub fn queue_figures(&self) -> (u64, u64, u64, u64) {
        let avg = |total: u64| total.checked_div(self.completed).unwrap_or(0);
        (
            self.completed,
            self.abandoned,
            avg(self.hold_total),
            avg(self.talk_total),
        )
    }

    /// Queues an event made outside the simulation (a client's `UserEvent`); it comes
    /// out first from the next [`Pbx::advance`].
    pub fn inject(&mut self, class: u32, wire: Bytes) {
        self.injected.push(SimEvent {
            class,
            wire,
            outcome: None,
        });
    }

    /// Runs every step due at or before `now` (starting background calls on the way)
    /// and returns their events in order.
    pub fn advance(&mut self, now: Micros) -> Vec<SimEvent> {
        let mut out = std::mem::take(&mut self.injected);
        loop {
            let next_step = self.schedule.first_key_value().map(|(k, _)| k.0);
            let background = (self.calls_per_second > 0.0).then_some(self.next_background);
            let due = match (next_step, background) {
                (Some(s), Some(b)) => s.min(b),
                (Some(s), None) => s,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            if due > now {
                break;
            }
            if background == Some(due) && next_step.is_none_or(|s| due < s) {
                self.start_background_call(due);
                let gap = -(1.0 - self.rng.f64()).ln() / self.calls_per_second;
                self.next_background = due + ((gap * SECOND as f64) as Micros).max(1);
                continue;
            }
            let Some(((at, _), (call, step))) = self.schedule.pop_first() else {
                break;
            };
            if let Some(event) = self.apply(at, call, step) {
                out.push(event);
            }
        }
        out
    }

    fn schedule(&mut self, call: CallId, script: Script) {
        for (at, step) in script.steps {
            self.order += 1;
            self.schedule.insert((at, self.order), (call, step));
        }
    }

    fn new_call(&mut self) -> CallId {
        let id = self.next_call;
        self.next_call += 1;
        self.calls.insert(id, Call::default());
        id
    }

    /// Marks `endpoint` in use by `call` until the call ends.
    fn occupy(&mut self, call: CallId, endpoint: &'static str) {
        self.busy.push(endpoint);
        if let Some(c) = self.calls.get_mut(&call) {
            c.phones.push(endpoint);
        }
    }

    /// Whether a demo phone is in a call now.
    pub fn phone_in_use(&self, endpoint: &str) -> bool {
        self.busy.contains(&endpoint)
    }

    fn idle_phones(&self) -> Vec<Phone> {
        PHONES
            .iter()
            .copied()
            .filter(|p| !self.busy.contains(&p.endpoint))
            .collect()
    }

    fn new_uid(&mut self, now: Micros) -> String {
        let uid = format!("{}.{}", now / SECOND, self.next_uid);
        self.next_uid += 1;
        uid
    }

    fn new_suffix(&mut self) -> String {
        let s = format!("{:08x}", self.next_channel);
        self.next_channel = self.next_channel.wrapping_add(1);
        s
    }

    fn bridge_id(&mut self) -> String {
        let r = &mut self.rng;
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            r.u32(..),
            r.u16(..),
            r.u16(..0x1000),
            0x8000 | r.u16(..0x4000),
            r.u64(..1 << 48)
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn channel(
        &mut self,
        call: CallId,
        name: String,
        linkedid: Option<&str>,
        state: u8,
        caller: (&str, &str),
        context: &str,
        exten: &str,
        now: Micros,
    ) -> Channel {
        let uniqueid = self.new_uid(now);
        Channel {
            name,
            linkedid: linkedid.unwrap_or(&uniqueid).to_string(),
            uniqueid,
            state,
            caller_num: caller.0.to_string(),
            caller_name: caller.1.to_string(),
            connected_num: "<unknown>".into(),
            connected_name: "<unknown>".into(),
            context: context.into(),
            exten: exten.into(),
            priority: 1,
            application: String::new(),
            app_data: String::new(),
            created: now,
            bridge: None,
            variables: Vec::new(),
            call,
        }
    }

    fn start_background_call(&mut self, now: Micros) {
        if self.rng.f64() < 0.4 {
            self.queue_call(now);
        } else {
            self.internal_call(now);
        }
    }

    /// One phone calls another: ring, then answer and talk, or busy, no answer, cancel.
    fn internal_call(&mut self, now: Micros) {
        // Agents are left to the queue.
        let idle: Vec<Phone> = self
            .idle_phones()
            .into_iter()
            .filter(|p| !AGENTS.iter().any(|&a| PHONES[a].endpoint == p.endpoint))
            .collect();
        if idle.len() < 2 {
            return; // everyone is on the phone: nobody places a new call
        }
        let from = idle[self.rng.usize(..idle.len())];
        let others: Vec<Phone> = idle
            .iter()
            .copied()
            .filter(|p| p.endpoint != from.endpoint)
            .collect();
        let to = others[self.rng.usize(..others.len())];
        let call = self.new_call();
        let a_name = format!("PJSIP/{}-{}", from.endpoint, self.new_suffix());
        let a = self.channel(
            call,
            a_name,
            None,
            4,
            (from.number, from.display),
            "from-internal",
            to.number,
            now,
        );
        let ua = a.uniqueid.clone();
        let dev_a = format!("PJSIP/{}", from.endpoint);
        if let Some(c) = self.calls.get_mut(&call) {
            c.devices = vec![dev_a.clone()];
        }
        self.occupy(call, from.endpoint);
        self.occupy(call, to.endpoint);
        let mut s = Script::new(now);
        s.at(Step::Create(Box::new(a)));
        s.at(Step::DeviceState(dev_a.clone(), "INUSE"));
        let caller = Caller {
            uid: ua,
            number: from.number.into(),
            name: from.display.into(),
            priority: 1,
        };
        self.dial_phone(&mut s, call, &caller, to, now);
        s.at(Step::DeviceState(dev_a, "NOT_INUSE"));
        s.at(Step::End);
        self.schedule(call, s);
    }

    /// `caller` runs `Dial(PJSIP/<to>,30)`: the phone rings, then answers and talks
    /// (bridged), or is busy, or does not answer, or the caller gives up. Every channel
    /// involved is hung up at the end.
    fn dial_phone(
        &mut self,
        s: &mut Script,
        call: CallId,
        caller: &Caller,
        to: Phone,
        now: Micros,
    ) {
        let ua = caller.uid.clone();
        let link = self.channel_link(s, &ua);
        let b_name = format!("PJSIP/{}-{}", to.endpoint, self.new_suffix());
        let mut b = self.channel(
            call,
            b_name,
            Some(&link),
            0,
            (to.number, to.display),
            "from-internal",
            "",
            now,
        );
        b.connected_num = caller.number.clone();
        b.connected_name = caller.name.clone();
        b.application = "AppDial".into();
        b.app_data = "(Outgoing Line)".into();
        let ub = b.uniqueid.clone();
        let b_name = b.name.clone();
        let a_name = self.channel_name(s, &ua);
        let dial_status = |status: &str| {
            vec![
                Step::VarSet(ua.clone(), "DIALSTATUS".into(), status.into()),
                Step::VarSet(ua.clone(), "DIALEDPEERNAME".into(), b_name.clone()),
                Step::VarSet(ua.clone(), "DIALEDPEERNUMBER".into(), to.endpoint.into()),
            ]
        };
        let dev_b = format!("PJSIP/{}", to.endpoint);
        if let Some(c) = self.calls.get_mut(&call) {
            c.devices.push(dev_b.clone());
        }
        let next = caller.priority + 1;
        s.at(Step::Exten {
            uid: ua.clone(),
            priority: caller.priority,
            app: "Dial",
            data: format!("PJSIP/{},30", to.endpoint),
        });
        s.at(Step::Create(Box::new(b)));
        s.at(Step::DialBegin {
            from: Some(ua.clone()),
            to: ub.clone(),
            dial_string: to.endpoint.into(),
        });
        s.wait(0.05 + self.rng.f64() * 0.2);
        s.at(Step::State(ub.clone(), 5));
        s.at(Step::DeviceState(dev_b.clone(), "RINGING"));
        let roll = self.rng.f64();
        if roll < 0.1 {
            s.wait(0.3 + self.rng.f64());
            s.at(Step::DialEnd {
                from: Some(ua.clone()),
                to: ub.clone(),
                status: "BUSY",
            });
            for step in dial_status("BUSY") {
                s.at(step);
            }
            s.at(Step::Hangup(ub, 17));
            s.at(Step::Exten {
                uid: ua.clone(),
                priority: next,
                app: "Hangup",
                data: String::new(),
            });
            s.at(Step::Hangup(ua, 17));
        } else if roll < 0.2 {
            s.wait(30.0);
            s.at(Step::DialEnd {
                from: Some(ua.clone()),
                to: ub.clone(),
                status: "NOANSWER",
            });
            for step in dial_status("NOANSWER") {
                s.at(step);
            }
            s.at(Step::Hangup(ub, 19));
            s.at(Step::Exten {
                uid: ua.clone(),
                priority: next,
                app: "Hangup",
                data: String::new(),
            });
            s.at(Step::Hangup(ua, 19));
        } else if roll < 0.28 {
            s.wait(1.0 + self.rng.f64() * 8.0);
            s.at(Step::HangupRequest(ua.clone(), 16));
            s.at(Step::DialEnd {
                from: Some(ua.clone()),
                to: ub.clone(),
                status: "CANCEL",
            });
            for step in dial_status("CANCEL") {
                s.at(step);
            }
            s.at(Step::Hangup(ub, 16));
            s.at(Step::Hangup(ua, 16));
        } else {
            s.wait(1.0 + self.rng.f64() * 9.0);
            s.at(Step::State(ub.clone(), 6));
            s.at(Step::DeviceState(dev_b.clone(), "INUSE"));
            s.at(Step::DialEnd {
                from: Some(ua.clone()),
                to: ub.clone(),
                status: "ANSWER",
            });
            for step in dial_status("ANSWER") {
                s.at(step);
            }
            s.at(Step::State(ua.clone(), 6));
            let bridge = self.bridge_id();
            s.at(Step::BridgeCreate(bridge.clone()));
            s.at(Step::BridgeEnter(bridge.clone(), ub.clone()));
            s.at(Step::BridgeEnter(bridge.clone(), ua.clone()));
            s.at(Step::VarSet(
                ub.clone(),
                "BRIDGEPEER".into(),
                a_name.clone(),
            ));
            s.at(Step::VarSet(
                ua.clone(),
                "BRIDGEPEER".into(),
                b_name.clone(),
            ));
            let talk = self.talk_time();
            s.wait(talk);
            let answered = format!("{}", talk as u64);
            s.at(Step::VarSet(ua.clone(), "ANSWEREDTIME".into(), answered));
            s.at(Step::VarSet(
                ua.clone(),
                "ANSWEREDTIME_MS".into(),
                format!("{}", (talk * 1000.0) as u64),
            ));
            let (first, second) = if self.rng.bool() { (ua, ub) } else { (ub, ua) };
            s.at(Step::HangupRequest(first.clone(), 16));
            s.at(Step::BridgeLeave(first.clone()));
            s.at(Step::Hangup(first, 16));
            s.at(Step::BridgeLeave(second.clone()));
            s.at(Step::BridgeDestroy(bridge));
            s.at(Step::SoftHangupRequest(second.clone(), 16));
            s.at(Step::Hangup(second, 16));
        }
        s.at(Step::DeviceState(dev_b, "NOT_INUSE"));
    }

    /// The name of a channel created earlier in script `s` (or already live).
    fn channel_name(&self, s: &Script, uid: &str) -> String {
        s.steps
            .iter()
            .find_map(|(_, step)| match step {
                Step::Create(c) if c.uniqueid == uid => Some(c.name.clone()),
                _ => None,
            })
            .or_else(|| self.channel_by_uid(uid).map(|c| c.name.clone()))
            .unwrap_or_default()
    }

    /// The Linkedid of a channel created earlier in script `s`.
    fn channel_link(&self, s: &Script, uid: &str) -> String {
        s.steps
            .iter()
            .find_map(|(_, step)| match step {
                Step::Create(c) if c.uniqueid == uid => Some(c.linkedid.clone()),
                _ => None,
            })
            .or_else(|| self.channel_by_uid(uid).map(|c| c.linkedid.clone()))
            .unwrap_or_else(|| uid.to_string())
    }

    /// Originate to one of the demo phones: it rings, and once answered it runs the
    /// requested extension (another phone, a Local test extension) or application.
    fn phone_originate(
        &mut self,
        call: CallId,
        phone: Phone,
        request: &OriginateRequest,
        now: Micros,
    ) -> Script {
        let mut s = Script::new(now);
        let name = format!("PJSIP/{}-{}", phone.endpoint, self.new_suffix());
        let unknown = ("<unknown>", "<unknown>");
        let a = self.channel(
            call,
            name,
            None,
            0,
            unknown,
            &request.context,
            &request.exten,
            now,
        );
        let ua = a.uniqueid.clone();
        let device = format!("PJSIP/{}", phone.endpoint);
        if let Some(c) = self.calls.get_mut(&call) {
            c.devices = vec![device.clone()];
        }
        self.occupy(call, phone.endpoint);
        s.at(Step::Create(Box::new(a)));
        let has_cid = !request.caller_num.is_empty() || !request.caller_name.is_empty();
        if has_cid {
            s.at(Step::CallerId(
                ua.clone(),
                request.caller_num.clone(),
                request.caller_name.clone(),
            ));
        }
        s.at(Step::State(ua.clone(), 5));
        s.at(Step::DeviceState(device.clone(), "RINGING"));
        let timeout = if request.timeout_ms == 0 {
            30.0
        } else {
            request.timeout_ms as f64 / 1000.0
        };
        let roll = self.rng.f64();
        if roll < 0.08 {
            s.wait(0.5);
            s.at(Step::Hangup(ua.clone(), 17));
            s.at(Step::OriginateResponse {
                success: false,
                reason: 5,
                uid: Some(ua),
            });
        } else if roll < 0.15 {
            s.wait(timeout);
            s.at(Step::Hangup(ua.clone(), 19));
            s.at(Step::OriginateResponse {
                success: false,
                reason: 3,
                uid: Some(ua),
            });
        } else {
            s.wait(1.0 + self.rng.f64() * 3.0);
            s.at(Step::State(ua.clone(), 6));
            s.at(Step::DeviceState(device.clone(), "INUSE"));
            s.at(Step::OriginateResponse {
                success: true,
                reason: 4,
                uid: Some(ua.clone()),
            });
            let target = PHONES
                .iter()
                .find(|p| p.number == request.exten || p.endpoint == request.exten);
            let caller = Caller {
                uid: ua.clone(),
                number: if has_cid {
                    request.caller_num.clone()
                } else {
                    phone.number.into()
                },
                name: if has_cid {
                    request.caller_name.clone()
                } else {
                    phone.display.into()
                },
                priority: request.priority.max(1),
            };
            match (request.application.is_empty(), target) {
                (true, Some(to)) if to.endpoint != phone.endpoint => {
                    self.occupy(call, to.endpoint);
                    self.dial_phone(&mut s, call, &caller, *to, now)
                }
                (true, _) => {
                    let seconds = match program_for(&request.context, &request.exten, &mut self.rng)
                    {
                        Some(Program::Answer { seconds }) => seconds,
                        _ => 0.0,
                    };
                    s.at(Step::Exten {
                        uid: ua.clone(),
                        priority: caller.priority,
                        app: "Wait",
                        data: format_seconds(seconds),
                    });
                    s.wait(seconds);
                    s.at(Step::Exten {
                        uid: ua.clone(),
                        priority: caller.priority + 1,
                        app: "Hangup",
                        data: String::new(),
                    });
                    s.at(Step::SoftHangupRequest(ua.clone(), 16));
                    s.at(Step::Hangup(ua, 16));
                }
                (false, _) => {
                    s.at(Step::Exten {
                        uid: ua.clone(),
                        priority: 1,
                        app: app_name(&request.application),
                        data: request.data.clone(),
                    });
                    s.wait(10.0);
                    s.at(Step::SoftHangupRequest(ua.clone(), 16));
                    s.at(Step::Hangup(ua, 16));
                }
            }
        }
        s.at(Step::DeviceState(device, "NOT_INUSE"));
        s
    }

    /// Mostly short calls, a few long ones.
    fn talk_time(&mut self) -> f64 {
        // Short enough that a watcher sees calls end; a few long ones stay on screen.
        if self.rng.f64() < 0.1 {
            40.0 + self.rng.f64() * 80.0
        } else {
            3.0 + self.rng.f64() * 17.0
        }
    }

    /// An outside caller reaches the `support` queue; the free agents ring, one answers
    /// (or the caller gives up first).
    fn queue_call(&mut self, now: Micros) {
        let (number, name) = OUTSIDE[self.rng.usize(..OUTSIDE.len())];
        let call = self.new_call();
        let t_name = format!("PJSIP/trunk-{}", self.new_suffix());
        let t = self.channel(
            call,
            t_name,
            None,
            4,
            (number, name),
            "from-trunk",
            QUEUE_EXTEN,
            now,
        );
        let ut = t.uniqueid.clone();
        let mut s = Script::new(now);
        s.at(Step::Create(Box::new(t)));
        s.at(Step::Exten {
            uid: ut.clone(),
            priority: 1,
            app: "Answer",
            data: String::new(),
        });
        s.at(Step::State(ut.clone(), 6));
        s.at(Step::Exten {
            uid: ut.clone(),
            priority: 2,
            app: "Queue",
            data: QUEUE.into(),
        });
        s.at(Step::QueueJoin(ut.clone()));
        let hold = 1.0 + self.rng.f64() * 15.0;
        s.wait(hold);
        if self.rng.f64() < 0.1 {
            s.at(Step::QueueAbandon(ut.clone()));
            s.at(Step::HangupRequest(ut.clone(), 16));
            s.at(Step::Hangup(ut, 16));
            s.at(Step::End);
        } else {
            s.at(Step::QueueRing(ut));
        }
        self.schedule(call, s);
    }

    /// The queue tries its free agents for caller `ut`, now: all ring, one answers. With
    /// no agent free the caller waits on, and gives up after a minute.
    fn queue_ring(&mut self, call: CallId, ut: String, now: Micros) {
        let Some(caller) = self.channel_by_uid(&ut) else {
            return; // hung up meanwhile
        };
        let (number, name, link) = (
            caller.caller_num.clone(),
            caller.caller_name.clone(),
            caller.linkedid.clone(),
        );
        let (number, name) = (number.as_str(), name.as_str());
        let waited = self
            .queue_callers
            .iter()
            .find(|q| q.uniqueid == ut)
            .map_or(0, |q| now.saturating_sub(q.joined));
        let mut s = Script::new(now);
        let free: Vec<usize> = (0..self.members.len())
            .filter(|&m| !self.busy.contains(&self.members[m].phone.endpoint))
            .collect();
        if free.is_empty() {
            if waited > 60 * SECOND {
                s.at(Step::QueueAbandon(ut.clone()));
                s.at(Step::HangupRequest(ut.clone(), 16));
                s.at(Step::Hangup(ut, 16));
                s.at(Step::End);
            } else {
                s.wait(3.0);
                s.at(Step::QueueRing(ut));
            }
            self.schedule(call, s);
            return;
        }
        let mut legs = Vec::new();
        for member in free {
            let phone = self.members[member].phone;
            self.occupy(call, phone.endpoint);
            let leg_name = format!("PJSIP/{}-{}", phone.endpoint, self.new_suffix());
            let mut leg = self.channel(
                call,
                leg_name,
                Some(&link),
                0,
                (number, name),
                "from-queue",
                QUEUE_EXTEN,
                now,
            );
            leg.connected_num = number.into();
            leg.connected_name = name.into();
            leg.application = "AppQueue".into();
            leg.app_data = "(Outgoing Line)".into();
            let uid = leg.uniqueid.clone();
            s.at(Step::Create(Box::new(leg)));
            s.at(Step::AgentCalled {
                caller: ut.clone(),
                agent: uid.clone(),
                member,
            });
            s.at(Step::DialBegin {
                from: Some(ut.clone()),
                to: uid.clone(),
                dial_string: phone.endpoint.into(),
            });
            legs.push((member, uid));
        }
        s.wait(0.1);
        for (member, uid) in &legs {
            s.at(Step::State(uid.clone(), 5));
            s.at(Step::MemberStatus {
                member: *member,
                status: 6,
                in_call: false,
                took_call: false,
            });
        }
        let ring = 1.0 + self.rng.f64() * 6.0;
        s.wait(ring);
        let winner = self.rng.usize(..legs.len());
        let (w_member, w_uid) = legs[winner].clone();
        s.at(Step::State(w_uid.clone(), 6));
        s.at(Step::DialEnd {
            from: Some(ut.clone()),
            to: w_uid.clone(),
            status: "ANSWER",
        });
        for (i, (member, uid)) in legs.iter().enumerate() {
            if i != winner {
                s.at(Step::DialEnd {
                    from: Some(ut.clone()),
                    to: uid.clone(),
                    status: "CANCEL",
                });
                s.at(Step::Hangup(uid.clone(), 26));
                s.at(Step::MemberStatus {
                    member: *member,
                    status: 1,
                    in_call: false,
                    took_call: false,
                });
                s.at(Step::Free(self.members[*member].phone.endpoint));
            }
        }
        s.at(Step::QueueLeave(ut.clone()));
        s.at(Step::AgentConnect {
            caller: ut.clone(),
            agent: w_uid.clone(),
            member: w_member,
            ring: ring as u64,
        });
        s.at(Step::MemberStatus {
            member: w_member,
            status: 2,
            in_call: true,
            took_call: false,
        });
        let bridge = self.bridge_id();
        s.at(Step::BridgeCreate(bridge.clone()));
        s.at(Step::BridgeEnter(bridge.clone(), w_uid.clone()));
        s.at(Step::BridgeEnter(bridge.clone(), ut.clone()));
        let talk = self.talk_time();
        s.wait(talk);
        let caller_first = self.rng.bool();
        let (first, second) = if caller_first {
            (ut.clone(), w_uid.clone())
        } else {
            (w_uid.clone(), ut.clone())
        };
        s.at(Step::HangupRequest(first.clone(), 16));
        s.at(Step::BridgeLeave(first.clone()));
        s.at(Step::AgentComplete {
            caller: ut.clone(),
            agent: w_uid.clone(),
            member: w_member,
            talk: talk as u64,
            reason: if caller_first { "caller" } else { "agent" },
        });
        s.at(Step::Hangup(first, 16));
        s.at(Step::BridgeLeave(second.clone()));
        s.at(Step::BridgeDestroy(bridge));
        s.at(Step::Hangup(second, 16));
        s.at(Step::MemberStatus {
            member: w_member,
            status: 1,
            in_call: false,
            took_call: true,
        });
        s.at(Step::End);
        self.schedule(call, s);
    }

    /// Starts an Originate. `Local/<exten>@<context>` runs the demo dialplan; other
    /// channels fail the way an unreachable endpoint does (`Reason: 0`).
    pub fn originate(&mut self, request: OriginateRequest, now: Micros) -> CallId {
        let call = self.new_call();
        let reply = OriginateReply {
            action_id: request.action_id.clone(),
            broadcast: request.is_async,
            channel: request.channel.clone(),
            context: request.context.clone(),
            exten: request.exten.clone(),
            application: request.application.clone(),
            data: request.data.clone(),
            caller_num: request.caller_num.clone(),
            caller_name: request.caller_name.clone(),
        };
        if let Some(c) = self.calls.get_mut(&call) {
            c.originate = Some(reply);
        }
        if let Some(phone) = parse_phone(&request.channel) {
            let mut s = self.phone_originate(call, phone, &request, now);
            s.at(Step::End);
            self.schedule(call, s);
            return call;
        }
        let mut s = Script::new(now);
        let Some((lexten, lcontext)) = parse_local(&request.channel) else {
            // No such endpoint: no channel is ever made.
            s.wait(0.01);
            s.at(Step::OriginateResponse {
                success: false,
                reason: 0,
                uid: None,
            });
            s.at(Step::End);
            self.schedule(call, s);
            return call;
        };
        let program = program_for(&lcontext, &lexten, &mut self.rng);
        let suffix = self.new_suffix();
        let base = format!("Local/{lexten}@{lcontext}-{suffix}");
        let unknown = ("<unknown>", "<unknown>");
        let l1 = self.channel(
            call,
            format!("{base};1"),
            None,
            0,
            unknown,
            &lcontext,
            &lexten,
            now,
        );
        let link = l1.linkedid.clone();
        let l2 = self.channel(
            call,
            format!("{base};2"),
            Some(&link),
            4,
            unknown,
            &lcontext,
            &lexten,
            now,
        );
        let (u1, u2) = (l1.uniqueid.clone(), l2.uniqueid.clone());
        let device = format!("Local/{lexten}@{lcontext}");
        if let Some(c) = self.calls.get_mut(&call) {
            c.devices = vec![device.clone()];
        }
        s.at(Step::Create(Box::new(l1)));
        s.at(Step::Create(Box::new(l2)));
        let Some(program) = program else {
            // The Local channel's own extension is missing: both halves are made, then
            // hung up before dialling (captured from Asterisk 22).
            s.wait(0.01);
            s.at(Step::Hangup(u2, 0));
            s.at(Step::Hangup(u1, 0));
            s.at(Step::OriginateResponse {
                success: false,
                reason: 0,
                uid: None,
            });
            s.at(Step::DeviceState(device.clone(), "INVALID"));
            s.at(Step::DeviceState(device, "INVALID"));
            s.at(Step::End);
            self.schedule(call, s);
            return call;
        };
        s.at(Step::Exten {
            uid: u1.clone(),
            priority: 1,
            app: "AppDial2",
            data: "(Outgoing Line)".into(),
        });
        for (k, v) in request.variables.iter().rev() {
            s.at(Step::VarSet(u1.clone(), k.clone(), v.clone()));
        }
        let has_cid = !request.caller_num.is_empty() || !request.caller_name.is_empty();
        if has_cid {
            s.at(Step::CallerId(
                u1.clone(),
                request.caller_num.clone(),
                request.caller_name.clone(),
            ));
            s.at(Step::Connected(
                u1.clone(),
                request.caller_num.clone(),
                request.caller_name.clone(),
            ));
        }
        for (k, v) in &request.variables {
            s.at(Step::VarSet(u2.clone(), k.clone(), v.clone()));
        }
        if has_cid {
            s.at(Step::CallerId(
                u2.clone(),
                request.caller_num.clone(),
                request.caller_name.clone(),
            ));
            s.at(Step::Connected(
                u2.clone(),
                request.caller_num.clone(),
                request.caller_name.clone(),
            ));
        }
        s.at(Step::LocalBridge(u1.clone(), u2.clone()));
        s.at(Step::DialBegin {
            from: None,
            to: u1.clone(),
            dial_string: format!("{lexten}@{lcontext}"),
        });
        s.wait(0.01);
        let timeout = if request.timeout_ms == 0 {
            30.0
        } else {
            request.timeout_ms as f64 / 1000.0
        };
        match program {
            Program::Busy => {
                s.at(Step::Exten {
                    uid: u2.clone(),
                    priority: 1,
                    app: "Busy",
                    data: "2".into(),
                });
                s.at(Step::State(u2.clone(), 7));
                s.at(Step::DialEnd {
                    from: None,
                    to: u1.clone(),
                    status: "BUSY",
                });
                // As captured from Asterisk 22: the ;2 half is asked to hang up (cause 0)
                // and goes with 17; the failed dial leaves `;1` with cause 0, and the
                // OriginateResponse names the dialled string with no Uniqueid.
                s.at(Step::HangupRequest(u2.clone(), 0));
                s.at(Step::SoftHangupRequest(u2.clone(), 16));
                s.at(Step::Hangup(u2, 17));
                s.at(Step::OriginateResponse {
                    success: false,
                    reason: 5,
                    uid: None,
                });
                s.at(Step::Hangup(u1, 0));
                for _ in 0..3 {
                    s.at(Step::DeviceState(device.clone(), "NOT_INUSE"));
                }
            }
            Program::NoAnswer => {
                s.at(Step::Exten {
                    uid: u2.clone(),
                    priority: 1,
                    app: "Wait",
                    data: "60".into(),
                });
                s.wait(timeout);
                s.at(Step::DialEnd {
                    from: None,
                    to: u1.clone(),
                    status: "NOANSWER",
                });
                s.at(Step::SoftHangupRequest(u2.clone(), 16));
                s.at(Step::Hangup(u1.clone(), 19));
                s.at(Step::OriginateResponse {
                    success: false,
                    reason: 3,
                    uid: Some(u1),
                });
                s.at(Step::Hangup(u2, 16));
            }
            Program::Answer {
                seconds: local_wait,
            } => {
                s.at(Step::Exten {
                    uid: u2.clone(),
                    priority: 1,
                    app: "Answer",
                    data: String::new(),
                });
                s.at(Step::State(u2.clone(), 6));
                s.at(Step::State(u1.clone(), 6));
                s.at(Step::DeviceState(device.clone(), "INUSE"));
                s.at(Step::DeviceState(device.clone(), "INUSE"));
                s.at(Step::DialEnd {
                    from: None,
                    to: u1.clone(),
                    status: "ANSWER",
                });
                // The ;1 half runs what the Originate asked for.
                let (target_wait, target_app, target_data) = if !request.application.is_empty() {
                    (10.0, app_name(&request.application), request.data.clone())
                } else {
                    match program_for(&request.context, &request.exten, &mut self.rng) {
                        Some(Program::Answer { seconds }) => {
                            (seconds, "Wait", format_seconds(seconds))
                        }
                        _ => (0.0, "Hangup", String::new()),
                    }
                };
                s.at(Step::Exten {
                    uid: u1.clone(),
                    priority: 2,
                    app: target_app,
                    data: target_data,
                });
                s.at(Step::OriginateResponse {
                    success: true,
                    reason: 4,
                    uid: Some(u1.clone()),
                });
                s.at(Step::Exten {
                    uid: u2.clone(),
                    priority: 2,
                    app: "Wait",
                    data: format_seconds(local_wait),
                });
                let wait = target_wait.min(local_wait);
                s.wait(wait);
                let (first, second) = if target_wait <= local_wait {
                    (u1, u2)
                } else {
                    (u2, u1)
                };
                s.at(Step::Exten {
                    uid: first.clone(),
                    priority: 3,
                    app: "Hangup",
                    data: String::new(),
                });
                s.at(Step::SoftHangupRequest(first.clone(), 16));
                s.at(Step::HangupRequest(second.clone(), 16));
                s.at(Step::Hangup(first, 16));
                s.at(Step::SoftHangupRequest(second.clone(), 16));
                s.at(Step::Hangup(second, 16));
                s.at(Step::DeviceState(device.clone(), "NOT_INUSE"));
                s.at(Step::DeviceState(device, "NOT_INUSE"));
            }
        }
        s.at(Step::End);
        self.schedule(call, s);
        call
    }

    /// Hangs up the call `channel` belongs to, now: the rest of its script is dropped and
    /// its channels leave their bridges and hang up. False when no such channel lives.
    pub fn hangup(&mut self, channel: &str, cause: u32, now: Micros) -> bool {
        let Some(target) = self.channels.iter().find(|c| c.name == channel) else {
            return false;
        };
        let call = target.call;
        let target_uid = target.uniqueid.clone();
        match self.calls.get_mut(&call) {
            Some(c) if c.tearing_down => return true,
            Some(c) => c.tearing_down = true,
            None => {}
        }
        self.schedule.retain(|_, (c, _)| *c != call);
        let mut s = Script::new(now);
        // The Hangup action always soft-hangs-up with 16; the channel's own cause is the
        // one given (0, `Unknown`, without one), as Asterisk 22 reports it.
        s.at(Step::SoftHangupRequest(target_uid.clone(), 16));
        if let Some(other) = self.local_partner(&target_uid) {
            // A Local pair: the other half is asked to hang up with the cause, then both
            // go, the other half first, and the device changes once per half.
            s.at(Step::HangupRequest(other.clone(), cause));
            s.at(Step::SoftHangupRequest(other.clone(), 16));
            s.at(Step::Hangup(other, cause));
            s.at(Step::Hangup(target_uid.clone(), cause));
            let info = self.calls.get(&call).cloned().unwrap_or_default();
            for device in info.devices {
                s.at(Step::DeviceState(device.clone(), "NOT_INUSE"));
                s.at(Step::DeviceState(device, "NOT_INUSE"));
            }
            if info.originate.is_some() {
                s.at(Step::OriginateResponse {
                    success: false,
                    reason: 1,
                    uid: Some(target_uid),
                });
            }
            s.at(Step::End);
            self.schedule(call, s);
            return true;
        }
        let mut order: Vec<(String, bool)> = vec![(
            target_uid.clone(),
            self.channel_by_uid(&target_uid)
                .is_some_and(|c| c.bridge.is_some()),
        )];
        for c in self
            .channels
            .iter()
            .filter(|c| c.call == call && c.uniqueid != target_uid)
        {
            order.push((c.uniqueid.clone(), c.bridge.is_some()));
        }
        for (i, (uid, bridged)) in order.iter().enumerate() {
            if self.queue_callers.iter().any(|q| &q.uniqueid == uid) {
                s.at(Step::QueueAbandon(uid.clone()));
            }
            if *bridged {
                s.at(Step::BridgeLeave(uid.clone()));
            }
            // The target carries the given cause; the others end normally with it.
            s.at(Step::Hangup(uid.clone(), if i == 0 { cause } else { 16 }));
        }
        let info = self.calls.get(&call).cloned().unwrap_or_default();
        for bridge in info.bridges {
            s.at(Step::BridgeDestroy(bridge));
        }
        for member in info.members {
            s.at(Step::MemberStatus {
                member,
                status: 1,
                in_call: false,
                took_call: false,
            });
        }
        for device in info.devices {
            s.at(Step::DeviceState(device, "NOT_INUSE"));
        }
        if info.originate.is_some() {
            s.at(Step::OriginateResponse {
                success: false,
                reason: 1,
                uid: Some(target_uid),
            });
        }
        s.at(Step::End);
        self.schedule(call, s);
        true
    }

    /// A global variable's value (empty when unset, as `Getvar` reports it).
    pub fn global(&self, name: &str) -> &str {
        self.globals.get(name).map_or("", String::as_str)
    }

    pub fn set_global(&mut self, name: &str, value: &str) {
        self.globals.insert(name.to_string(), value.to_string());
    }

    /// Sets a variable on a live channel, with its `VarSet` event; false when no such
    /// channel lives.
    pub fn set_channel_var(&mut self, channel: &str, name: &str, value: &str, now: Micros) -> bool {
        let Some(ch) = self.channels.iter().find(|c| c.name == channel) else {
            return false;
        };
        let (call, uid) = (ch.call, ch.uniqueid.clone());
        let mut s = Script::new(now);
        s.at(Step::VarSet(uid, name.to_string(), value.to_string()));
        self.schedule(call, s);
        true
    }

    /// A live channel by name.
    pub fn channel_named(&self, channel: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == channel)
    }

    /// Sends a live channel to `context`,`exten`,`priority` (`Redirect`): a `Newexten`
    /// at the new place, or, when that extension does not exist, the channel hangs up
    /// as Asterisk's does (the Redirect itself still succeeds). False when no such channel.
    pub fn redirect(
        &mut self,
        channel: &str,
        context: &str,
        exten: &str,
        priority: u32,
        now: Micros,
    ) -> bool {
        let Some(ch) = self.channels.iter_mut().find(|c| c.name == channel) else {
            return false;
        };
        if !extension_exists(context, exten, priority) {
            let name = ch.name.clone();
            return self.hangup(&name, 0, now);
        }
        ch.context = context.to_string();
        ch.exten = exten.to_string();
        let (call, uid) = (ch.call, ch.uniqueid.clone());
        let app = if priority == last_priority(context, exten).unwrap_or(1) {
            "Hangup"
        } else {
            "Wait"
        };
        let mut s = Script::new(now);
        s.at(Step::Exten {
            uid,
            priority,
            app,
            data: String::new(),
        });
        self.schedule(call, s);
        true
    }

    /// `ast_db_get()`.
    pub fn db_get(&self, family: &str, key: &str) -> Option<&str> {
        self.astdb
            .get(&format!("{family}/{key}"))
            .map(String::as_str)
    }

    pub fn db_put(&mut self, family: &str, key: &str, value: &str) {
        self.astdb
            .insert(format!("{family}/{key}"), value.to_string());
    }

    /// `ast_db_del()`: false when there was no such key.
    pub fn db_del(&mut self, family: &str, key: &str) -> bool {
        self.astdb.remove(&format!("{family}/{key}")).is_some()
    }

    /// `ast_db_deltree()`: the family, or the keys under `key` in it; how many went.
    pub fn db_deltree(&mut self, family: &str, key: Option<&str>) -> usize {
        let prefix = match key {
            Some(k) => format!("{family}/{k}"),
            None => family.to_string(),
        };
        let before = self.astdb.len();
        self.astdb
            .retain(|k, _| !(k == &prefix || k.starts_with(&format!("{prefix}/"))));
        before - self.astdb.len()
    }

    /// The other half of a live, unbridged Local channel pair.
    fn local_partner(&self, uid: &str) -> Option<String> {
        let ch = self.channel_by_uid(uid)?;
        if ch.bridge.is_some() || !ch.name.starts_with("Local/") {
            return None;
        }
        let (base, half) = ch.name.rsplit_once(';')?;
        let other = format!("{base};{}", if half == "1" { "2" } else { "1" });
        self.channels
            .iter()
            .find(|c| c.name == other && c.call == ch.call && c.bridge.is_none())
            .map(|c| c.uniqueid.clone())
    }

    fn channel_by_uid(&self, uid: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.uniqueid == uid)
    }

    fn channel_mut(&mut self, uid: &str) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.uniqueid == uid)
    }

    fn apply(&mut self, now: Micros, call: CallId, step: Step) -> Option<SimEvent> {
        let call_event = |w: Writer| {
            Some(SimEvent {
                class: class::CALL,
                wire: w.finish(),
                outcome: None,
            })
        };
        let dialplan_event = |w: Writer| {
            Some(SimEvent {
                class: class::DIALPLAN,
                wire: w.finish(),
                outcome: None,
            })
        };
        let agent_event = |w: Writer| {
            Some(SimEvent {
                class: class::AGENT,
                wire: w.finish(),
                outcome: None,
            })
        };
        match step {
            Step::Create(channel) => {
                let mut w = Writer::event("Newchannel", "call,all");
                snapshot(&mut w, "", &channel);
                self.channels.push(*channel);
                call_event(w)
            }
            Step::State(uid, state) => {
                let ch = self.channel_mut(&uid)?;
                ch.state = state;
                let mut w = Writer::event("Newstate", "call,all");
                snapshot(&mut w, "", ch);
                call_event(w)
            }
            Step::Exten {
                uid,
                priority,
                app,
                data,
            } => {
                let ch = self.channel_mut(&uid)?;
                ch.priority = priority;
                ch.application = app.to_string();
                ch.app_data = data;
                let mut w = Writer::event("Newexten", "dialplan,all");
                snapshot(&mut w, "", ch);
                w.header("Extension", &ch.exten)
                    .header("Application", app)
                    .header("AppData", &ch.app_data);
                dialplan_event(w)
            }
            Step::VarSet(uid, name, value) => {
                let ch = self.channel_mut(&uid)?;
                match ch.variables.iter_mut().find(|(n, _)| *n == name) {
                    Some(slot) => slot.1 = value.clone(),
                    None => ch.variables.push((name.clone(), value.clone())),
                }
                let ch = &*ch;
                let mut w = Writer::event("VarSet", "dialplan,all");
                snapshot(&mut w, "", ch);
                w.header("Variable", name)
                    .header("Value", escape_c(&value).as_bytes());
                dialplan_event(w)
            }
            Step::CallerId(uid, num, name) => {
                let ch = self.channel_mut(&uid)?;
                ch.caller_num = num;
                ch.caller_name = name;
                let mut w = Writer::event("NewCallerid", "call,all");
                snapshot(&mut w, "", ch);
                w.header("CID-CallingPres", "0 (Presentation Allowed, Not Screened)");
                call_event(w)
            }
            Step::Connected(uid, num, name) => {
                let ch = self.channel_mut(&uid)?;
                ch.connected_num = num;
                ch.connected_name = name;
                let mut w = Writer::event("NewConnectedLine", "call,all");
                snapshot(&mut w, "", ch);
                call_event(w)
            }
            Step::LocalBridge(one, two) => {
                let one = self.channel_by_uid(&one)?;
                let two = self.channel_by_uid(&two)?;
                let mut w = Writer::event("LocalBridge", "call,all");
                snapshot(&mut w, "LocalOne", one);
                snapshot(&mut w, "LocalTwo", two);
                w.header("Context", &one.context)
                    .header("Exten", &one.exten)
                    .header("LocalOptimization", "Yes");
                call_event(w)
            }
            Step::DialBegin {
                from,
                to,
                dial_string,
            } => {
                let mut w = Writer::event("DialBegin", "call,all");
                if let Some(from) = from.as_deref().and_then(|u| self.channel_by_uid(u)) {
                    snapshot(&mut w, "", from);
                }
                snapshot(&mut w, "Dest", self.channel_by_uid(&to)?);
                w.header("DialString", dial_string);
                call_event(w)
            }
            Step::DialEnd { from, to, status } => {
                let mut w = Writer::event("DialEnd", "call,all");
                if let Some(from) = from.as_deref().and_then(|u| self.channel_by_uid(u)) {
                    snapshot(&mut w, "", from);
                }
                snapshot(&mut w, "Dest", self.channel_by_uid(&to)?);
                w.header("DialStatus", status);
                call_event(w)
            }
            Step::BridgeCreate(id) => {
                self.bridges.insert(id.clone(), 0);
                if let Some(c) = self.calls.get_mut(&call) {
                    c.bridges.push(id.clone());
                    c.answered_at = Some(now);
                }
                let mut w = Writer::event("BridgeCreate", "call,all");
                bridge_block(&mut w, &id, 0);
                call_event(w)
            }
            Step::BridgeEnter(id, uid) => {
                let count = self.bridges.get_mut(&id)?;
                *count += 1;
                let count = *count;
                let ch = self.channel_mut(&uid)?;
                ch.bridge = Some(id.clone());
                let mut w = Writer::event("BridgeEnter", "call,all");
                bridge_block(&mut w, &id, count);
                snapshot(&mut w, "", ch);
                call_event(w)
            }
            Step::BridgeLeave(uid) => {
                let id = self.channel_mut(&uid)?.bridge.take()?;
                let count = self.bridges.get_mut(&id)?;
                *count = count.saturating_sub(1);
                let count = *count;
                let mut w = Writer::event("BridgeLeave", "call,all");
                bridge_block(&mut w, &id, count);
                snapshot(&mut w, "", self.channel_by_uid(&uid)?);
                call_event(w)
            }
            Step::BridgeDestroy(id) => {
                self.bridges.remove(&id)?;
                if let Some(c) = self.calls.get_mut(&call) {
                    c.bridges.retain(|b| *b != id);
                }
                let mut w = Writer::event("BridgeDestroy", "call,all");
                bridge_block(&mut w, &id, 0);
                call_event(w)
            }
            Step::SoftHangupRequest(uid, cause) => {
                let mut w = Writer::event("SoftHangupRequest", "call,all");
                snapshot(&mut w, "", self.channel_by_uid(&uid)?);
                w.header("Cause", cause.to_string());
                call_event(w)
            }
            Step::HangupRequest(uid, cause) => {
                let mut w = Writer::event("HangupRequest", "call,all");
                snapshot(&mut w, "", self.channel_by_uid(&uid)?);
                w.header("Cause", cause.to_string());
                call_event(w)
            }
            Step::Hangup(uid, cause) => {
                let index = self.channels.iter().position(|c| c.uniqueid == uid)?;
                let ch = self.channels.remove(index);
                self.queue_callers.retain(|q| q.uniqueid != uid);
                let mut w = Writer::event("Hangup", "call,all");
                snapshot(&mut w, "", &ch);
                w.header("Cause", cause.to_string())
                    .header("Cause-txt", cause_text(cause));
                call_event(w)
            }
            Step::DeviceState(device, state) => {
                let mut w = Writer::event("DeviceStateChange", "call,all");
                w.header("Device", device).header("State", state);
                call_event(w)
            }
            Step::OriginateResponse {
                success,
                reason,
                uid,
            } => {
                let reply = self.calls.get_mut(&call)?.originate.take()?;
                let outcome = Some(Outcome { call, success });
                if !reply.broadcast {
                    return Some(SimEvent {
                        class: 0,
                        wire: Bytes::new(),
                        outcome,
                    });
                }
                // Once a channel exists, Asterisk names it rather than the dialled string.
                let channel = uid
                    .as_deref()
                    .and_then(|u| self.channel_by_uid(u))
                    .map_or(reply.channel.as_str(), |c| c.name.as_str());
                let mut w = Writer::event("OriginateResponse", "call,all");
                w.action_id(reply.action_id.as_deref());
                w.header("Response", if success { "Success" } else { "Failure" })
                    .header("Channel", channel);
                // An Application originate names the application instead of the extension.
                if reply.application.is_empty() {
                    w.header("Context", &reply.context)
                        .header("Exten", &reply.exten);
                } else {
                    w.header("Application", &reply.application)
                        .header("Data", &reply.data);
                }
                w.header("Reason", reason.to_string())
                    .header("Uniqueid", uid.as_deref().unwrap_or("<unknown>"))
                    .header("CallerIDNum", or_unknown(&reply.caller_num))
                    .header("CallerIDName", or_unknown(&reply.caller_name));
                Some(SimEvent {
                    class: class::CALL,
                    wire: w.finish(),
                    outcome,
                })
            }
            Step::QueueJoin(uid) => {
                self.queue_callers.push(QueueCaller {
                    uniqueid: uid.clone(),
                    joined: now,
                });
                let count = self.queue_callers.len();
                let mut w = Writer::event("QueueCallerJoin", "agent,all");
                snapshot(&mut w, "", self.channel_by_uid(&uid)?);
                w.header("Queue", QUEUE)
                    .header("Position", count.to_string())
                    .header("Count", count.to_string());
                agent_event(w)
            }
            Step::QueueLeave(uid) => {
                let position = self.queue_callers.iter().position(|q| q.uniqueid == uid)?;
                let caller = self.queue_callers.remove(position);
                self.hold_total += now.saturating_sub(caller.joined) / SECOND;
                let mut w = Writer::event("QueueCallerLeave", "agent,all");
                snapshot(&mut w, "", self.channel_by_uid(&uid)?);
                w.header("Queue", QUEUE)
                    .header("Position", (position + 1).to_string())
                    .header("Count", self.queue_callers.len().to_string());
                agent_event(w)
            }
            Step::QueueAbandon(uid) => {
                let position = self.queue_callers.iter().position(|q| q.uniqueid == uid)?;
                let caller = self.queue_callers.remove(position);
                self.abandoned += 1;
                let mut w = Writer::event("QueueCallerAbandon", "agent,all");
                snapshot(&mut w, "", self.channel_by_uid(&uid)?);
                w.header("Queue", QUEUE)
                    .header("Position", (position + 1).to_string())
                    .header("OriginalPosition", (position + 1).to_string())
                    .header(
                        "HoldTime",
                        (now.saturating_sub(caller.joined) / SECOND).to_string(),
                    );
                agent_event(w)
            }
            Step::AgentCalled {
                caller,
                agent,
                member,
            } => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.members.push(member);
                }
                let mut w = Writer::event("AgentCalled", "agent,all");
                snapshot(&mut w, "", self.channel_by_uid(&caller)?);
                snapshot(&mut w, "Dest", self.channel_by_uid(&agent)?);
                member_names(&mut w, &self.members[member]);
                agent_event(w)
            }
            Step::AgentConnect {
                caller,
                agent,
                member,
                ring,
            } => {
                let hold = self
                    .channel_by_uid(&caller)
                    .map_or(0, |c| now.saturating_sub(c.created) / SECOND);
                let mut w = Writer::event("AgentConnect", "agent,all");
                snapshot(&mut w, "", self.channel_by_uid(&caller)?);
                snapshot(&mut w, "Dest", self.channel_by_uid(&agent)?);
                member_names(&mut w, &self.members[member]);
                w.header("HoldTime", hold.to_string())
                    .header("RingTime", ring.to_string());
                agent_event(w)
            }
            Step::AgentComplete {
                caller,
                agent,
                member,
                talk,
                reason,
            } => {
                self.completed += 1;
                self.talk_total += talk;
                let hold = self
                    .calls
                    .get(&call)
                    .and_then(|c| c.answered_at)
                    .zip(self.channel_by_uid(&caller))
                    .map_or(0, |(answered, c)| {
                        answered.saturating_sub(c.created) / SECOND
                    });
                let mut w = Writer::event("AgentComplete", "agent,all");
                snapshot(&mut w, "", self.channel_by_uid(&caller)?);
                snapshot(&mut w, "Dest", self.channel_by_uid(&agent)?);
                member_names(&mut w, &self.members[member]);
                w.header("HoldTime", hold.to_string())
                    .header("TalkTime", talk.to_string())
                    .header("Reason", reason);
                agent_event(w)
            }
            Step::MemberStatus {
                member,
                status,
                in_call,
                took_call,
            } => {
                let m = self.members.get_mut(member)?;
                m.status = status;
                m.in_call = in_call;
                if took_call {
                    m.calls_taken += 1;
                    m.last_call = now / SECOND;
                }
                let m = m.clone();
                let mut w = Writer::event("QueueMemberStatus", "agent,all");
                w.header("Queue", QUEUE)
                    .header("MemberName", m.phone.display);
                let interface = format!("PJSIP/{}", m.phone.endpoint);
                w.header("Interface", &interface)
                    .header("StateInterface", &interface);
                member_figures(&mut w, &m, self.started, true);
                agent_event(w)
            }
            Step::QueueRing(uid) => {
                self.queue_ring(call, uid, now);
                None
            }
            Step::Free(endpoint) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    if let Some(i) = c.phones.iter().position(|p| *p == endpoint) {
                        c.phones.swap_remove(i);
                        if let Some(i) = self.busy.iter().position(|b| *b == endpoint) {
                            self.busy.swap_remove(i);
                        }
                    }
                }
                None
            }
            Step::End => {
                if let Some(ended) = self.calls.remove(&call) {
                    for phone in ended.phones {
                        if let Some(i) = self.busy.iter().position(|b| *b == phone) {
                            self.busy.swap_remove(i);
                        }
                    }
                }
                self.processed += 1;
                None
            }
        }
    }
}

fn or_unknown(value: &str) -> &str {
    if value.is_empty() {
        "<unknown>"
    } else {
        value
    }
}

/// The standard channel snapshot block (`ast_manager_build_channel_state_string_prefix()`),
/// with `prefix` for a second channel (`Dest`, `LocalOne`...).
pub fn snapshot(w: &mut Writer, prefix: &str, ch: &Channel) {
    let mut key = String::with_capacity(prefix.len() + 20);
    let mut put = |w: &mut Writer, name: &str, value: &[u8]| {
        key.clear();
        key.push_str(prefix);
        key.push_str(name);
        w.header(&key, value);
    };
    put(w, "Channel", ch.name.as_bytes());
    put(w, "ChannelState", ch.state.to_string().as_bytes());
    put(w, "ChannelStateDesc", state_desc(ch.state).as_bytes());
    put(w, "CallerIDNum", or_unknown(&ch.caller_num).as_bytes());
    put(
        w,
        "CallerIDName",
        escape_c(or_unknown(&ch.caller_name)).as_bytes(),
    );
    put(
        w,
        "ConnectedLineNum",
        or_unknown(&ch.connected_num).as_bytes(),
    );
    put(
        w,
        "ConnectedLineName",
        escape_c(or_unknown(&ch.connected_name)).as_bytes(),
    );
    put(w, "Language", b"en");
    put(w, "AccountCode", b"");
    put(w, "Context", ch.context.as_bytes());
    put(w, "Exten", ch.exten.as_bytes());
    put(w, "Priority", ch.priority.to_string().as_bytes());
    put(w, "Uniqueid", ch.uniqueid.as_bytes());
    put(w, "Linkedid", ch.linkedid.as_bytes());
}

fn bridge_block(w: &mut Writer, id: &str, channels: u32) {
    w.header("BridgeUniqueid", id)
        .header("BridgeType", "basic")
        .header("BridgeTechnology", "simple_bridge")
        .header("BridgeCreator", "<unknown>")
        .header("BridgeName", "<unknown>")
        .header("BridgeNumChannels", channels.to_string())
        .header("BridgeVideoSourceMode", "none");
}

fn member_names(w: &mut Writer, member: &Member) {
    w.header("Queue", QUEUE)
        .header("Interface", format!("PJSIP/{}", member.phone.endpoint))
        .header("MemberName", member.phone.display);
}

/// The figures `QueueMember` and `QueueMemberStatus` share, from `Membership` on.
pub fn member_figures(w: &mut Writer, m: &Member, login_time: Micros, ring_in_use: bool) {
    w.header("Membership", "static")
        .header("Penalty", "0")
        .header("CallsTaken", m.calls_taken.to_string())
        .header("LastCall", m.last_call.to_string())
        .header("LastPause", "0")
        .header("LoginTime", (login_time / SECOND).to_string())
        .header("InCall", if m.in_call { "1" } else { "0" })
        .header("Status", m.status.to_string())
        .header("Paused", "0")
        .header("PausedReason", "");
    if ring_in_use {
        w.header("Ringinuse", "1");
    }
    w.header("Wrapuptime", "0");
}

/// `Local/<exten>@<context>[/options]` -> (exten, context); `default` when no context.
fn parse_local(channel: &str) -> Option<(String, String)> {
    let rest = channel
        .get(..6)
        .filter(|t| t.eq_ignore_ascii_case("Local/"))
        .map(|_| &channel[6..])?;
    let rest = rest.split('/').next().unwrap_or(rest);
    let (exten, context) = rest.split_once('@').unwrap_or((rest, "default"));
    if exten.is_empty() || context.is_empty() {
        return None;
    }
    Some((exten.to_string(), context.to_string()))
}

/// `PJSIP/<endpoint>` of a demo phone.
fn parse_phone(channel: &str) -> Option<Phone> {
    let rest = channel
        .get(..6)
        .filter(|t| t.eq_ignore_ascii_case("PJSIP/"))
        .map(|_| &channel[6..])?;
    PHONES
        .iter()
        .copied()
        .find(|p| p.endpoint.eq_ignore_ascii_case(rest))
}

/// Applications the demo knows by name; anything else shows as `Wait`.
fn app_name(app: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "Playback",
        "Echo",
        "Wait",
        "MusicOnHold",
        "Queue",
        "Dial",
        "Answer",
        "Hangup",
        "Milliwatt",
    ];
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(app))
        .copied()
        .unwrap_or("Wait")
}

fn format_seconds(seconds: f64) -> String {
    format!("{}", seconds.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Micros = 1_795_893_138 * SECOND;

    fn names(events: &[SimEvent]) -> Vec<String> {
        events
            .iter()
            .filter(|e| e.class != 0)
            .map(|e| {
                crate::ami::Message::parse(&e.wire)
                    .get_str("Event")
                    .unwrap_or_default()
                    .into_owned()
            })
            .collect()
    }

    #[test]
    fn the_same_seed_replays_the_same_traffic() {
        let run = |seed| {
            let mut pbx = Pbx::new(seed, 2.0, T0);
            let events = pbx.advance(T0 + 120 * SECOND);
            events.iter().map(|e| e.wire.clone()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn background_calls_end_with_every_channel_hung_up() {
        let mut pbx = Pbx::new(3, 1.0, T0);
        let mut events = pbx.advance(T0 + 60 * SECOND);
        pbx.calls_per_second = 0.0;
        events.extend(pbx.advance(T0 + 3600 * SECOND));
        let names = names(&events);
        let created = names.iter().filter(|n| *n == "Newchannel").count();
        let hung = names.iter().filter(|n| *n == "Hangup").count();
        assert!(created > 20, "{created}");
        assert_eq!(created, hung);
        assert!(pbx.channels().is_empty());
        assert!(names.iter().any(|n| n == "BridgeEnter"));
        assert!(names.iter().any(|n| n == "QueueCallerJoin"));
        assert_eq!(
            names.iter().filter(|n| *n == "BridgeCreate").count(),
            names.iter().filter(|n| *n == "BridgeDestroy").count()
        );
    }

    #[test]
    fn a_phone_is_never_in_two_background_calls_at_once() {
        let mut pbx = Pbx::new(21, 3.0, T0);
        for step in 1..600 {
            pbx.advance(T0 + step * SECOND);
            let mut in_use: Vec<&str> = pbx
                .channels()
                .iter()
                .filter_map(|c| c.name.strip_prefix("PJSIP/"))
                .filter_map(|n| n.split('-').next())
                .filter(|e| *e != "trunk")
                .collect();
            let total = in_use.len();
            in_use.sort_unstable();
            in_use.dedup();
            assert_eq!(
                in_use.len(),
                total,
                "at {step} s: {:?}",
                pbx.channels().iter().map(|c| &c.name).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn hangup_of_a_live_channel_tears_down_its_call() {
        let mut pbx = Pbx::new(1, 0.0, T0);
        let request = OriginateRequest {
            channel: "Local/long@test".into(),
            context: "test".into(),
            exten: "long".into(),
            priority: 1,
            is_async: true,
            action_id: Some(b"o1".to_vec()),
            ..Default::default()
        };
        pbx.originate(request, T0);
        pbx.advance(T0 + SECOND);
        assert_eq!(pbx.channels().len(), 2);
        let name = pbx.channels()[0].name.clone();
        assert!(pbx.hangup(&name, 16, T0 + SECOND));
        let names = names(&pbx.advance(T0 + SECOND));
        assert_eq!(
            names.iter().filter(|n| *n == "Hangup").count(),
            2,
            "{names:?}"
        );
        assert!(pbx.channels().is_empty());
        assert!(pbx.advance(T0 + 100 * SECOND).is_empty());
        assert!(!pbx.hangup("Local/nothing", 16, T0));
    }

    #[test]
    fn originating_to_a_demo_phone_rings_it_and_dials_the_extension() {
        let mut answered = 0;
        for seed in 0..20 {
            let mut pbx = Pbx::new(seed, 0.0, T0);
            let request = OriginateRequest {
                channel: "PJSIP/alice".into(),
                context: "from-internal".into(),
                exten: "2002".into(),
                priority: 1,
                is_async: true,
                ..Default::default()
            };
            pbx.originate(request, T0);
            let events = pbx.advance(T0 + 3600 * SECOND);
            let names = names(&events);
            assert_eq!(names[0], "Newchannel");
            assert!(names.iter().any(|n| n == "OriginateResponse"));
            if names.iter().any(|n| n == "BridgeEnter") {
                answered += 1;
                assert!(events
                    .iter()
                    .any(|e| e.wire.windows(13).any(|w| w == b"PJSIP/bob-000")));
            }
            assert!(pbx.channels().is_empty());
        }
        assert!(
            answered >= 10,
            "{answered} of 20 calls were answered and bridged"
        );
    }

    #[test]
    fn an_unknown_extension_fails_the_originate() {
        let mut pbx = Pbx::new(1, 0.0, T0);
        let request = OriginateRequest {
            channel: "Local/nowhere@test".into(),
            is_async: false,
            ..Default::default()
        };
        let call = pbx.originate(request, T0);
        let events = pbx.advance(T0 + SECOND);
        // As Asterisk 22 does it: both halves made, then hung up with cause 0.
        assert_eq!(
            names(&events),
            [
                "Newchannel",
                "Newchannel",
                "Hangup",
                "Hangup",
                "DeviceStateChange",
                "DeviceStateChange"
            ]
        );
        let decided = events.iter().find(|e| e.outcome.is_some()).unwrap();
        assert_eq!(
            decided.outcome,
            Some(Outcome {
                call,
                success: false
            })
        );
        assert_eq!(
            decided.class, 0,
            "a synchronous originate sends no OriginateResponse event"
        );
        assert!(events[2]
            .wire
            .windows(20)
            .any(|w| w == b"Cause-txt: Unknown\r\n"));
        assert!(pbx.channels().is_empty());
    }

    #[test]
    fn the_hangup_action_sends_the_local_pair_sequence_with_its_cause() {
        for (cause, text) in [(0, "Unknown"), (17, "User busy")] {
            let mut pbx = Pbx::new(1, 0.0, T0);
            pbx.originate(
                OriginateRequest {
                    channel: "Local/long@test".into(),
                    context: "test".into(),
                    exten: "long".into(),
                    priority: 1,
                    is_async: true,
                    ..Default::default()
                },
                T0,
            );
            pbx.advance(T0 + SECOND);
            let one = pbx.channels()[0].name.clone();
            assert!(one.ends_with(";1"));
            assert!(pbx.hangup(&one, cause, T0 + SECOND));
            let events: Vec<SimEvent> = pbx
                .advance(T0 + SECOND)
                .into_iter()
                .filter(|e| e.class != 0)
                .collect();
            let seen: Vec<(String, String, String)> = events
                .iter()
                .map(|e| {
                    let text = String::from_utf8_lossy(&e.wire).into_owned();
                    let get = |k: &str| {
                        text.lines()
                            .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                            .unwrap_or("")
                            .to_string()
                    };
                    let half = get("Channel").rsplit(';').next().unwrap_or("").to_string();
                    (get("Event"), half, get("Cause"))
                })
                .collect();
            let c = cause.to_string();
            let row = |e: &str, h: &str, c: &str| (e.to_string(), h.to_string(), c.to_string());
            assert_eq!(
                seen,
                [
                    row("SoftHangupRequest", "1", "16"),
                    row("HangupRequest", "2", &c),
                    row("SoftHangupRequest", "2", "16"),
                    row("Hangup", "2", &c),
                    row("Hangup", "1", &c),
                    row("DeviceStateChange", "", ""),
                    row("DeviceStateChange", "", ""),
                ]
            );
            let hangup = String::from_utf8_lossy(&events[4].wire).into_owned();
            assert!(
                hangup.contains(&format!("Cause-txt: {text}\r\n")),
                "{hangup}"
            );
        }
    }
}
