//! The PBX's live state: what Asterisk has *now* (channels, bridges, calls, queues,
//! endpoints, device and extension states), one pure model shared by every front end
//! (TUI tables, line mode, `amicon show`).
//!
//! It is fed the session's [`Stamped`] entries with [`State::apply`] (no I/O, no clock:
//! the entry's time is the time), so it builds the same state live and from a
//! recording. It learns the truth two ways:
//! - **snapshots**: the list actions the session sends after each login
//!   (`CoreShowChannels`, `QueueStatus`...; see [`ListKind`]). The model recognises
//!   them by the `Sent` entry's action name, stages their items and merges them when
//!   the list completes. A list refused (`Permission denied`) is recorded as such
//!   ([`ListStatus::Denied`]) so a view can say what the login lacks;
//! - **live events**, applied as they arrive (`Newchannel`, `Hangup`, `BridgeEnter`,
//!   `QueueMemberStatus`, `ContactStatus`...).
//!
//! Reconciliation: when a list completes, its items are the truth for everything that
//! no live event touched while it was being collected. Entries the snapshot lacks end
//! (a channel missing after a gap ends as "gone during the gap"); a live event that
//! arrived during collection wins over a staler item, and a channel hung up during
//! collection is never resurrected by its item.
//!
//! Never a phantom: `Channel: none`, `Uniqueid: none`, `<unknown>` never create a
//! channel (see [`fields::is_placeholder`]). Memory is bounded: ended channels are
//! capped and the evicted ones counted; the calls model has its own bounds.

pub mod endpoints;
pub mod fields;
pub mod queues;

pub use endpoints::{Contact, Endpoint, Technology};
pub use queues::{MemberStatus, Queue, QueueCaller, QueueMember};

use crate::ami::Message;
use crate::calls::{Calls, CallsConfig, Party};
use crate::session::{Link, SessionEvent, Stamped};
use fields::{is_placeholder, number, opt, party_field, text};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, SystemTime};

/// How much the model keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateConfig {
    /// Ended channels kept for the views (most recently ended last); older ones are
    /// dropped and counted in [`State::evicted_channels`].
    pub max_ended_channels: usize,
    pub calls: CallsConfig,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            max_ended_channels: 1_000,
            calls: CallsConfig::default(),
        }
    }
}

/// The snapshot lists the model understands, by the action that asks for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListKind {
    Channels,
    Bridges,
    Queues,
    Endpoints,
    Contacts,
    SipPeers,
    DeviceStates,
    ExtensionStates,
}

impl ListKind {
    pub const ALL: [ListKind; 8] = [
        ListKind::Channels,
        ListKind::Bridges,
        ListKind::Queues,
        ListKind::Endpoints,
        ListKind::Contacts,
        ListKind::SipPeers,
        ListKind::DeviceStates,
        ListKind::ExtensionStates,
    ];

    /// The AMI action that lists it.
    pub fn action(self) -> &'static str {
        match self {
            ListKind::Channels => "CoreShowChannels",
            ListKind::Bridges => "BridgeList",
            ListKind::Queues => "QueueStatus",
            ListKind::Endpoints => "PJSIPShowEndpoints",
            ListKind::Contacts => "PJSIPShowContacts",
            ListKind::SipPeers => "SIPpeers",
            ListKind::DeviceStates => "DeviceStateList",
            ListKind::ExtensionStates => "ExtensionStateList",
        }
    }

    /// The list an action name asks for (any case).
    pub fn from_action(name: &str) -> Option<ListKind> {
        ListKind::ALL
            .into_iter()
            .find(|k| k.action().eq_ignore_ascii_case(name.trim()))
    }

    /// The `write=` classes of manager.conf of which the login needs one to run the
    /// action (Asterisk checks an action against the user's *write* mask; the
    /// authority is what `ListCommands`/`manager show commands` print). Empty: none.
    pub fn needs(self) -> &'static [&'static str] {
        match self {
            ListKind::Channels | ListKind::SipPeers => &["system", "reporting"],
            ListKind::Endpoints | ListKind::Contacts => &["system"],
            ListKind::DeviceStates | ListKind::ExtensionStates => &["call", "reporting"],
            ListKind::Bridges | ListKind::Queues => &[],
        }
    }

    /// What a view says when the list was refused: `needs write=system`.
    pub fn needs_label(self) -> String {
        match self.needs() {
            [] => "permission denied".to_string(),
            classes => format!("needs write={}", classes.join(" or write=")),
        }
    }
}

/// Where one snapshot list stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListStatus {
    /// Asked for; items are arriving.
    Collecting { since: SystemTime },
    /// The list completed: its items are merged.
    Complete { at: SystemTime, items: usize },
    /// Refused for lack of permission (`Response: Error`, `Permission denied`).
    Denied { message: String },
    /// The server does not know the action (`SIPpeers` without chan_sip, PJSIP
    /// actions without res_pjsip).
    Unsupported { message: String },
    /// Any other error, a timeout, or the connection lost mid-list.
    Failed { message: String },
}

/// One channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub name: String,
    pub uniqueid: String,
    pub linkedid: String,
    /// `ChannelStateDesc` (`Down`, `Ring`, `Ringing`, `Up`...).
    pub state: String,
    /// `ChannelState` (0-10).
    pub state_code: Option<u32>,
    pub caller: Party,
    pub connected: Party,
    pub context: String,
    pub exten: String,
    pub priority: String,
    pub application: String,
    pub app_data: String,
    /// The bridge it is in now (`BridgeUniqueid`).
    pub bridge: Option<String>,
    pub account_code: String,
    /// When it was created: its `Newchannel`, or now minus the snapshot's `Duration`.
    pub start: SystemTime,
    /// Whether [`Channel::start`] is known (a `Newchannel` or a snapshot), rather than
    /// just the time amicon first heard of it.
    pub start_known: bool,
    pub ended: Option<ChannelEnd>,
}

/// How and when a channel ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelEnd {
    pub at: SystemTime,
    pub reason: ChannelEndReason,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelEndReason {
    /// Its `Hangup` event, with the Q.850 cause.
    Hangup { cause: Option<u32>, text: String },
    /// A snapshot no longer listed it: it hung up while amicon was not connected
    /// (`during_gap`) or its Hangup was lost.
    Gone { during_gap: bool },
}

impl ChannelEndReason {
    pub fn label(&self) -> String {
        match self {
            ChannelEndReason::Hangup { cause, text } => match cause {
                Some(c) => format!("{c} {text}").trim_end().to_string(),
                None => text.clone(),
            },
            ChannelEndReason::Gone { during_gap: true } => "gone during the gap".into(),
            ChannelEndReason::Gone { during_gap: false } => "gone (hangup not seen)".into(),
        }
    }
}

impl Channel {
    fn new(uniqueid: &str, at: SystemTime) -> Self {
        Channel {
            name: String::new(),
            uniqueid: uniqueid.to_string(),
            linkedid: String::new(),
            state: String::new(),
            state_code: None,
            caller: Party::default(),
            connected: Party::default(),
            context: String::new(),
            exten: String::new(),
            priority: String::new(),
            application: String::new(),
            app_data: String::new(),
            bridge: None,
            account_code: String::new(),
            start: at,
            start_known: false,
            ended: None,
        }
    }

    pub fn is_live(&self) -> bool {
        self.ended.is_none()
    }

    /// How long it has been up (until it ended, or `now`).
    pub fn duration(&self, now: SystemTime) -> Duration {
        self.ended
            .as_ref()
            .map_or(now, |e| e.at)
            .duration_since(self.start)
            .unwrap_or_default()
    }

    /// Takes what a channel snapshot (any event's unprefixed channel fields, or a
    /// `CoreShowChannel` item) says. With `fill_only`, only fields still empty.
    fn update_from(&mut self, msg: &Message, fill_only: bool) {
        let put = |field: &mut String, value: Option<String>| {
            if let Some(v) = value {
                if (!fill_only || field.is_empty()) && *field != v {
                    *field = v;
                }
            }
        };
        put(
            &mut self.name,
            opt(msg, "Channel").filter(|c| !is_placeholder(c)),
        );
        put(
            &mut self.linkedid,
            opt(msg, "Linkedid").filter(|l| !is_placeholder(l)),
        );
        put(&mut self.state, opt(msg, "ChannelStateDesc"));
        put(&mut self.caller.num, party_field(msg, "CallerIDNum"));
        put(&mut self.caller.name, party_field(msg, "CallerIDName"));
        put(
            &mut self.connected.num,
            party_field(msg, "ConnectedLineNum"),
        );
        put(
            &mut self.connected.name,
            party_field(msg, "ConnectedLineName"),
        );
        put(&mut self.context, opt(msg, "Context"));
        put(&mut self.exten, opt(msg, "Exten"));
        put(&mut self.priority, opt(msg, "Priority"));
        put(&mut self.account_code, opt(msg, "AccountCode"));
        put(&mut self.application, opt(msg, "Application"));
        put(
            &mut self.app_data,
            opt(msg, "AppData").or_else(|| opt(msg, "ApplicationData")),
        );
        if !(fill_only && self.state_code.is_some()) {
            if let Some(code) = number(msg, "ChannelState") {
                self.state_code = Some(code);
            }
        }
    }
}

/// One bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bridge {
    pub id: String,
    /// `basic`, `holding`, `parking`...
    pub bridge_type: String,
    /// `simple_bridge`, `native_rtp`, `softmix`, `holding_bridge`...
    pub technology: String,
    pub creator: String,
    pub name: String,
    /// When amicon learned of it (`BridgeCreate`, or the snapshot).
    pub seen: SystemTime,
}

impl Bridge {
    fn update_from(&mut self, msg: &Message) {
        for (field, key) in [
            (&mut self.bridge_type, "BridgeType"),
            (&mut self.technology, "BridgeTechnology"),
            (&mut self.creator, "BridgeCreator"),
            (&mut self.name, "BridgeName"),
        ] {
            if let Some(v) = opt(msg, key) {
                *field = v;
            }
        }
    }
}

/// A hint's state (`ExtensionStatus`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionState {
    pub context: String,
    pub exten: String,
    pub hint: String,
    /// `AST_EXTENSION_*` bits (-1 removed, 0 idle, 1 in use, 2 busy, 4 unavailable,
    /// 8 ringing, 16 on hold).
    pub status: i32,
    /// `Idle`, `InUse`, `Unavailable`...
    pub status_text: String,
}

/// A list being collected: its items wait here until the list completes.
#[derive(Debug)]
struct Collection {
    kind: ListKind,
    /// Sequence number of the `Sent` entry: live changes after it win over items.
    begin_seq: u64,
    /// A filtered list (`QueueStatus` with `Queue:`): merged, but lacking an entry
    /// means nothing.
    partial: bool,
    items: Vec<(SystemTime, Message)>,
    /// Keys removed by live events during collection (a member removed, a caller
    /// gone): their items are stale.
    tombstones: HashSet<String>,
}

/// The whole live state of one PBX as one connection sees it.
#[derive(Debug, Default)]
pub struct State {
    config: StateConfig,
    seq: u64,
    last_at: Option<SystemTime>,
    channels: HashMap<String, Channel>,
    ended_channels: VecDeque<Channel>,
    /// Uniqueids of channels that ended (kept longer than the channels themselves), so
    /// a stale snapshot item or a late event never brings one back.
    ended_ids: HashSet<String>,
    ended_ids_order: VecDeque<String>,
    evicted_channels: u64,
    bridges: HashMap<String, Bridge>,
    queues: BTreeMap<String, Queue>,
    endpoints: BTreeMap<String, Endpoint>,
    device_states: BTreeMap<String, String>,
    extension_states: BTreeMap<(String, String), ExtensionState>,
    lists: BTreeMap<ListKind, ListStatus>,
    collecting: HashMap<String, Collection>,
    /// Key → sequence number of the last live change, kept while lists are collected.
    touched: HashMap<String, u64>,
    /// A gap was seen and no channel snapshot has reconciled it yet.
    gap_pending: bool,
    gaps: u64,
    calls: Calls,
}

impl State {
    pub fn new(config: StateConfig) -> Self {
        State {
            calls: Calls::new(config.calls.clone()),
            config,
            ..State::default()
        }
    }

    pub fn config(&self) -> &StateConfig {
        &self.config
    }

    /// Folds one entry of the session's stream in.
    pub fn apply(&mut self, entry: &Stamped) {
        self.seq += 1;
        let at = entry.at;
        self.last_at = Some(at);
        match &entry.event {
            SessionEvent::Sent {
                action_id,
                name,
                message,
                ..
            } => {
                if let Some(kind) = ListKind::from_action(name) {
                    let partial = is_filtered(kind, message);
                    self.snapshot_begin(kind, action_id, at, partial);
                }
            }
            SessionEvent::Received { message, link, .. } => match link {
                Link::Response { action_id } if message.is("Response", "Error") => {
                    let words = text(message, "Message");
                    if is_empty_list_answer(&words) {
                        // `PJSIPShowContacts` with none: an error response, an empty list.
                        self.snapshot_complete(action_id, at);
                    } else {
                        self.snapshot_refused(action_id, &words);
                    }
                }
                Link::ListItem { action_id } if self.collecting.contains_key(action_id) => {
                    self.snapshot_item(action_id, at, message);
                }
                Link::ListComplete { action_id } if self.collecting.contains_key(action_id) => {
                    self.snapshot_complete(action_id, at);
                }
                Link::Unsolicited | Link::Related { .. } => self.apply_event(at, message),
                _ => {}
            },
            SessionEvent::ActionFailed {
                action_id, error, ..
            } => {
                if let Some(c) = self.collecting.remove(action_id) {
                    self.lists.insert(
                        c.kind,
                        ListStatus::Failed {
                            message: error.to_string(),
                        },
                    );
                }
            }
            SessionEvent::Gap { .. } => {
                self.gap_pending = true;
                self.gaps += 1;
            }
            _ => {}
        }
        self.calls.apply_stamped(entry);
        if self.collecting.is_empty() && !self.touched.is_empty() {
            self.touched.clear();
        }
    }

    /// Starts collecting list `kind`, asked by action `action_id`. A filtered list
    /// (`partial`) is merged without removing what it lacks.
    pub fn snapshot_begin(
        &mut self,
        kind: ListKind,
        action_id: &str,
        at: SystemTime,
        partial: bool,
    ) {
        self.collecting.insert(
            action_id.to_string(),
            Collection {
                kind,
                begin_seq: self.seq,
                partial,
                items: Vec::new(),
                tombstones: HashSet::new(),
            },
        );
        self.lists
            .insert(kind, ListStatus::Collecting { since: at });
    }

    /// One item of a list being collected; ignored if no list `action_id` is.
    pub fn snapshot_item(&mut self, action_id: &str, at: SystemTime, msg: &Message) {
        if let Some(c) = self.collecting.get_mut(action_id) {
            c.items.push((at, msg.clone()));
        }
    }

    /// The list's error response: recorded as denied, unsupported or failed.
    pub fn snapshot_refused(&mut self, action_id: &str, message: &str) {
        let Some(c) = self.collecting.remove(action_id) else {
            return;
        };
        let lower = message.to_ascii_lowercase();
        let message = message.to_string();
        let status = if lower.contains("permission denied") {
            ListStatus::Denied { message }
        } else if lower.contains("invalid/unknown command") || lower.contains("unknown command") {
            ListStatus::Unsupported { message }
        } else {
            ListStatus::Failed { message }
        };
        self.lists.insert(c.kind, status);
    }

    /// The list completed: merges its items (see the module doc for the rules).
    pub fn snapshot_complete(&mut self, action_id: &str, at: SystemTime) {
        let Some(c) = self.collecting.remove(action_id) else {
            return;
        };
        let items = c.items.len();
        let kind = c.kind;
        match kind {
            ListKind::Channels => self.merge_channels(c, at),
            ListKind::Bridges => self.merge_bridges(c),
            ListKind::Queues => self.merge_queues(c),
            ListKind::Endpoints => self.merge_endpoints(c),
            ListKind::Contacts => self.merge_contacts(c),
            ListKind::SipPeers => self.merge_sip_peers(c),
            ListKind::DeviceStates => self.merge_device_states(c),
            ListKind::ExtensionStates => self.merge_extension_states(c),
        }
        self.lists.insert(kind, ListStatus::Complete { at, items });
    }

    // ---- queries -------------------------------------------------------------

    /// Where each list asked for stands (lists never asked are absent).
    pub fn list_status(&self, kind: ListKind) -> Option<&ListStatus> {
        self.lists.get(&kind)
    }

    /// Whether any list is still being collected.
    pub fn is_collecting(&self) -> bool {
        !self.collecting.is_empty()
    }

    /// Live channels, oldest first.
    pub fn channels(&self) -> Vec<&Channel> {
        let mut list: Vec<&Channel> = self.channels.values().collect();
        list.sort_by(|a, b| (a.start, &a.uniqueid).cmp(&(b.start, &b.uniqueid)));
        list
    }

    /// Live channels: what `core show channels` counts.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    pub fn channel(&self, uniqueid: &str) -> Option<&Channel> {
        self.channels.get(uniqueid).or_else(|| {
            self.ended_channels
                .iter()
                .rev()
                .find(|c| c.uniqueid == uniqueid)
        })
    }

    pub fn channel_by_name(&self, name: &str) -> Option<&Channel> {
        self.channels.values().find(|c| c.name == name)
    }

    /// Recently ended channels, most recently ended last.
    pub fn ended_channels(&self) -> impl Iterator<Item = &Channel> {
        self.ended_channels.iter()
    }

    /// Ended channels dropped to stay within [`StateConfig::max_ended_channels`].
    pub fn evicted_channels(&self) -> u64 {
        self.evicted_channels
    }

    /// Bridges, by id.
    pub fn bridges(&self) -> Vec<&Bridge> {
        let mut list: Vec<&Bridge> = self.bridges.values().collect();
        list.sort_by(|a, b| (a.seen, &a.id).cmp(&(b.seen, &b.id)));
        list
    }

    pub fn bridge(&self, id: &str) -> Option<&Bridge> {
        self.bridges.get(id)
    }

    /// The live channels in bridge `id`.
    pub fn bridge_members(&self, id: &str) -> Vec<&Channel> {
        let mut list: Vec<&Channel> = self
            .channels
            .values()
            .filter(|c| c.bridge.as_deref() == Some(id))
            .collect();
        list.sort_by(|a, b| (a.start, &a.uniqueid).cmp(&(b.start, &b.uniqueid)));
        list
    }

    /// Queues by name.
    pub fn queues(&self) -> impl Iterator<Item = &Queue> {
        self.queues.values()
    }

    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues.get(name)
    }

    /// Endpoints and SIP peers by key (`PJSIP/alice`, `SIP/carol`).
    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.values()
    }

    pub fn endpoint(&self, key: &str) -> Option<&Endpoint> {
        self.endpoints.get(key)
    }

    /// Device states by device (`PJSIP/alice` → `NOT_INUSE`).
    pub fn device_states(&self) -> &BTreeMap<String, String> {
        &self.device_states
    }

    /// Hint states by (context, exten).
    pub fn extension_states(&self) -> impl Iterator<Item = &ExtensionState> {
        self.extension_states.values()
    }

    /// The calls, grouped from the same entries (and seeded by the channel snapshot).
    pub fn calls(&self) -> &Calls {
        &self.calls
    }

    pub fn calls_mut(&mut self) -> &mut Calls {
        &mut self.calls
    }

    /// Gaps seen in the stream (reconnects).
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// The time of the last entry applied.
    pub fn last_at(&self) -> Option<SystemTime> {
        self.last_at
    }

    /// Drops ended calls past their age; call it from a timer.
    pub fn expire(&mut self, now: SystemTime) {
        self.calls.expire(now);
    }

    // ---- live events ------------------------------------------------------------

    fn touch(&mut self, key: String) {
        if !self.collecting.is_empty() {
            self.touched.insert(key, self.seq);
        }
    }

    fn tombstone(&mut self, kind: ListKind, key: &str) {
        for c in self.collecting.values_mut().filter(|c| c.kind == kind) {
            c.tombstones.insert(key.to_string());
        }
    }

    /// Whether a live change to `key` came after the list began.
    fn touched_since(&self, key: &str, begin_seq: u64) -> bool {
        self.touched.get(key).is_some_and(|s| *s > begin_seq)
    }

    fn apply_event(&mut self, at: SystemTime, msg: &Message) {
        let Some(name) = msg.event_name() else {
            return;
        };
        let name = String::from_utf8_lossy(name);
        match name.as_ref() {
            "Hangup" => self.hangup(at, msg),
            "BridgeCreate" => {
                if let Some(id) = opt(msg, "BridgeUniqueid").filter(|b| !is_placeholder(b)) {
                    self.touch(format!("br:{id}"));
                    let bridge = self.bridges.entry(id.clone()).or_insert_with(|| Bridge {
                        id,
                        bridge_type: String::new(),
                        technology: String::new(),
                        creator: String::new(),
                        name: String::new(),
                        seen: at,
                    });
                    bridge.update_from(msg);
                }
            }
            "BridgeDestroy" => {
                if let Some(id) = opt(msg, "BridgeUniqueid") {
                    self.bridges.remove(&id);
                    self.tombstone(ListKind::Bridges, &id);
                    for c in self.channels.values_mut() {
                        if c.bridge.as_deref() == Some(id.as_str()) {
                            c.bridge = None;
                        }
                    }
                }
            }
            "QueueMemberAdded"
            | "QueueMemberStatus"
            | "QueueMemberPause"
            | "QueueMemberPaused"
            | "QueueMemberPenalty"
            | "QueueMemberRinginuse" => self.queue_member_update(msg),
            "QueueMemberRemoved" => {
                if let (Some(queue), Some(iface)) =
                    (opt(msg, "Queue"), queues::member_interface(msg))
                {
                    if let Some(q) = self.queues.get_mut(&queue) {
                        q.members.remove(&iface);
                    }
                    self.tombstone(ListKind::Queues, &format!("qm:{queue}\0{iface}"));
                }
            }
            "AgentConnect" | "AgentComplete" => {
                if let (Some(queue), Some(iface)) =
                    (opt(msg, "Queue"), queues::member_interface(msg))
                {
                    self.touch(format!("qm:{queue}\0{iface}"));
                    if let Some(m) = self
                        .queues
                        .get_mut(&queue)
                        .and_then(|q| q.members.get_mut(&iface))
                    {
                        m.in_call = name == "AgentConnect";
                    }
                }
            }
            "QueueCallerJoin" => {
                if let (Some(queue), Some(caller)) =
                    (opt(msg, "Queue"), queues::caller_from(msg, at))
                {
                    self.touch(format!("qc:{queue}\0{}", caller.uniqueid));
                    let q = self
                        .queues
                        .entry(queue.clone())
                        .or_insert_with(|| Queue::new(&queue));
                    q.callers.retain(|c| c.uniqueid != caller.uniqueid);
                    q.callers.push(caller);
                    q.sort_callers();
                }
            }
            "QueueCallerLeave" | "QueueCallerAbandon" => {
                let uniqueid = text(msg, "Uniqueid");
                if let Some(queue) = opt(msg, "Queue") {
                    self.tombstone(ListKind::Queues, &format!("qc:{queue}\0{uniqueid}"));
                    if let Some(q) = self.queues.get_mut(&queue) {
                        if name == "QueueCallerAbandon" {
                            q.abandoned += 1;
                        }
                        if let Some(i) = q.callers.iter().position(|c| c.uniqueid == uniqueid) {
                            let gone = q.callers.remove(i);
                            for c in &mut q.callers {
                                if c.position > gone.position {
                                    c.position -= 1;
                                }
                            }
                        }
                    }
                }
            }
            "DeviceStateChange" => {
                if let (Some(device), Some(state)) = (opt(msg, "Device"), opt(msg, "State")) {
                    self.touch(format!("ds:{device}"));
                    self.device_state(&device, &state);
                }
            }
            "ExtensionStatus" => {
                let key = (text(msg, "Context"), text(msg, "Exten"));
                self.touch(format!("es:{}\0{}", key.0, key.1));
                let es = extension_state_from(msg);
                self.extension_states.insert(key, es);
            }
            "ContactStatus" => self.contact_status(msg),
            "PeerStatus" => self.peer_status(msg),
            _ => {}
        }
        if name != "Hangup" {
            self.channel_event(at, &name, msg);
        }
    }

    /// Any event that carries a channel's snapshot updates the channel (and creates it
    /// if it was not known: we joined mid-call). Never for placeholders or channels
    /// already ended.
    fn channel_event(&mut self, at: SystemTime, name: &str, msg: &Message) {
        let Some(uniqueid) = opt(msg, "Uniqueid").filter(|u| !is_placeholder(u)) else {
            return;
        };
        // Only events that carry the standard channel snapshot describe the channel
        // (accounting records, Cdr and CEL, do not, and come after the Hangup).
        if msg.get("ChannelStateDesc").is_none() {
            return;
        }
        if opt(msg, "Channel").is_none_or(|c| is_placeholder(&c)) {
            return;
        }
        if self.ended_ids.contains(&uniqueid) {
            return;
        }
        self.touch(format!("ch:{uniqueid}"));
        if msg.get("Application").is_some() {
            self.touch(format!("cha:{uniqueid}"));
        }
        if matches!(name, "BridgeEnter" | "BridgeLeave") {
            self.touch(format!("chb:{uniqueid}"));
        }
        let channel = self
            .channels
            .entry(uniqueid.clone())
            .or_insert_with(|| Channel::new(&uniqueid, at));
        if name == "Newchannel" {
            channel.start = at;
            channel.start_known = true;
        }
        channel.update_from(msg, false);
        match name {
            "Rename" => {
                if let Some(new) = opt(msg, "Newname") {
                    channel.name = new;
                }
            }
            "BridgeEnter" => {
                channel.bridge = opt(msg, "BridgeUniqueid").filter(|b| !b.is_empty());
            }
            "BridgeLeave" => channel.bridge = None,
            _ => {}
        }
    }

    fn hangup(&mut self, at: SystemTime, msg: &Message) {
        let Some(uniqueid) = opt(msg, "Uniqueid").filter(|u| !is_placeholder(u)) else {
            return;
        };
        if self.ended_ids.contains(&uniqueid) {
            return;
        }
        let mut channel = self
            .channels
            .remove(&uniqueid)
            .unwrap_or_else(|| Channel::new(&uniqueid, at));
        channel.update_from(msg, false);
        channel.bridge = None;
        channel.ended = Some(ChannelEnd {
            at,
            reason: ChannelEndReason::Hangup {
                cause: number(msg, "Cause"),
                text: text(msg, "Cause-txt"),
            },
        });
        self.end_channel(channel);
    }

    fn end_channel(&mut self, channel: Channel) {
        self.ended_ids.insert(channel.uniqueid.clone());
        self.ended_ids_order.push_back(channel.uniqueid.clone());
        let max_ids = self.config.max_ended_channels.max(1_000) * 10;
        while self.ended_ids_order.len() > max_ids {
            if let Some(old) = self.ended_ids_order.pop_front() {
                self.ended_ids.remove(&old);
            }
        }
        self.ended_channels.push_back(channel);
        while self.ended_channels.len() > self.config.max_ended_channels {
            self.ended_channels.pop_front();
            self.evicted_channels += 1;
        }
    }

    fn queue_member_update(&mut self, msg: &Message) {
        let (Some(queue), Some(iface)) = (opt(msg, "Queue"), queues::member_interface(msg)) else {
            return;
        };
        self.touch(format!("qm:{queue}\0{iface}"));
        let q = self
            .queues
            .entry(queue.clone())
            .or_insert_with(|| Queue::new(&queue));
        if let Some(m) = queues::member_from(msg, q.members.get(&iface)) {
            q.members.insert(iface, m);
        }
    }

    fn device_state(&mut self, device: &str, state: &str) {
        self.device_states
            .insert(device.to_string(), state.to_string());
        if let Some((Technology::Pjsip, _)) = endpoints::split_peer(device) {
            if let Some(e) = self.endpoints.get_mut(device) {
                e.state = device_state_words(state).to_string();
            }
        }
    }

    fn contact_status(&mut self, msg: &Message) {
        let Some((endpoint, contact)) = endpoints::contact_from(msg) else {
            return;
        };
        let key = endpoints::key(Technology::Pjsip, &endpoint);
        if contact.status.eq_ignore_ascii_case("Removed") {
            self.tombstone(ListKind::Contacts, &contact.uri);
            for e in self.endpoints.values_mut() {
                e.contacts.retain(|c| c.uri != contact.uri);
            }
            return;
        }
        self.touch(format!("ct:{}", contact.uri));
        if endpoint.is_empty() {
            return;
        }
        self.endpoints
            .entry(key)
            .or_insert_with(|| Endpoint::new(Technology::Pjsip, &endpoint))
            .upsert_contact(contact);
    }

    fn peer_status(&mut self, msg: &Message) {
        let peer = text(msg, "Peer");
        let Some((Technology::Sip, name)) = endpoints::split_peer(&peer) else {
            return;
        };
        let key = endpoints::key(Technology::Sip, name);
        self.touch(format!("ep:{key}"));
        let e = self
            .endpoints
            .entry(key)
            .or_insert_with(|| Endpoint::new(Technology::Sip, name));
        if let Some(status) = opt(msg, "PeerStatus") {
            e.state = match number::<u64>(msg, "Time") {
                Some(ms) if status.eq_ignore_ascii_case("Reachable") => format!("OK ({ms} ms)"),
                _ => status,
            };
        }
        if let Some(address) = opt(msg, "Address").filter(|a| !a.is_empty()) {
            e.address = address;
        }
    }

    // ---- snapshot merges ------------------------------------------------------

    fn merge_channels(&mut self, c: Collection, at: SystemTime) {
        let mut seen: HashSet<String> = HashSet::with_capacity(c.items.len());
        for (item_at, msg) in &c.items {
            let Some(uniqueid) = opt(msg, "Uniqueid").filter(|u| !is_placeholder(u)) else {
                continue;
            };
            if opt(msg, "Channel").is_none_or(|n| is_placeholder(&n)) {
                continue;
            }
            seen.insert(uniqueid.clone());
            // Hung up during collection (or ever): the item is stale.
            if self.ended_ids.contains(&uniqueid) {
                continue;
            }
            // A live event about the channel since the list began is newer than the
            // item: the item only adds what no event said (its age, its application,
            // its bridge).
            let touched = self.touched_since(&format!("ch:{uniqueid}"), c.begin_seq);
            let app_known = self.touched_since(&format!("cha:{uniqueid}"), c.begin_seq);
            let bridge_known = self.touched_since(&format!("chb:{uniqueid}"), c.begin_seq);
            let age = fields::opt(msg, "Duration")
                .and_then(|d| fields::parse_hms(&d))
                .map(Duration::from_secs);
            let channel = self
                .channels
                .entry(uniqueid.clone())
                .or_insert_with(|| Channel::new(&uniqueid, *item_at));
            if !touched {
                channel.update_from(msg, false);
            } else if !app_known {
                channel.application = text(msg, "Application");
                channel.app_data = text(msg, "ApplicationData");
            }
            if !bridge_known {
                let bridge = text(msg, "BridgeId");
                channel.bridge = (!bridge.is_empty()).then_some(bridge);
            }
            if let Some(age) = age {
                if !channel.start_known {
                    channel.start = item_at.checked_sub(age).unwrap_or(*item_at);
                    channel.start_known = true;
                }
            }
            let start = channel.start;
            let bridge = channel.bridge.clone();
            if self.calls.call_of_uniqueid(&uniqueid).is_none() || !touched {
                self.calls.seed_channel(*item_at, msg, start);
            } else {
                self.calls
                    .seed_known_channel(&uniqueid, start, bridge.as_deref());
            }
        }
        if c.partial {
            return;
        }
        let during_gap = std::mem::take(&mut self.gap_pending);
        let gone: Vec<String> = self
            .channels
            .keys()
            .filter(|u| !seen.contains(*u) && !self.touched_since(&format!("ch:{u}"), c.begin_seq))
            .cloned()
            .collect();
        for uniqueid in gone {
            if let Some(mut channel) = self.channels.remove(&uniqueid) {
                channel.bridge = None;
                channel.ended = Some(ChannelEnd {
                    at,
                    reason: ChannelEndReason::Gone { during_gap },
                });
                self.calls.channel_gone(&uniqueid, at, during_gap);
                self.end_channel(channel);
            }
        }
        self.calls.mark_reconciled();
    }

    fn merge_bridges(&mut self, c: Collection) {
        let mut seen = HashSet::new();
        for (item_at, msg) in &c.items {
            let Some(id) = opt(msg, "BridgeUniqueid").filter(|b| !is_placeholder(b)) else {
                continue;
            };
            seen.insert(id.clone());
            if c.tombstones.contains(&id) || self.touched_since(&format!("br:{id}"), c.begin_seq) {
                continue;
            }
            let bridge = self.bridges.entry(id.clone()).or_insert_with(|| Bridge {
                id,
                bridge_type: String::new(),
                technology: String::new(),
                creator: String::new(),
                name: String::new(),
                seen: *item_at,
            });
            bridge.update_from(msg);
        }
        if !c.partial {
            let keep: Vec<String> = self
                .bridges
                .keys()
                .filter(|id| {
                    seen.contains(*id) || self.touched_since(&format!("br:{id}"), c.begin_seq)
                })
                .cloned()
                .collect();
            self.bridges.retain(|id, _| keep.contains(id));
        }
    }

    fn merge_queues(&mut self, c: Collection) {
        let mut seen_queues: HashSet<String> = HashSet::new();
        let mut seen_keys: HashSet<String> = HashSet::new();
        for (item_at, msg) in &c.items {
            let Some(queue) = opt(msg, "Queue").filter(|q| !q.is_empty()) else {
                continue;
            };
            seen_queues.insert(queue.clone());
            let event = msg
                .event_name()
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .unwrap_or_default();
            match event.as_str() {
                "QueueParams" => {
                    self.queues
                        .entry(queue.clone())
                        .or_insert_with(|| Queue::new(&queue))
                        .update_params(msg);
                }
                "QueueMember" => {
                    let Some(iface) = queues::member_interface(msg) else {
                        continue;
                    };
                    let key = format!("qm:{queue}\0{iface}");
                    seen_keys.insert(key.clone());
                    if c.tombstones.contains(&key) || self.touched_since(&key, c.begin_seq) {
                        continue;
                    }
                    let q = self
                        .queues
                        .entry(queue.clone())
                        .or_insert_with(|| Queue::new(&queue));
                    if let Some(m) = queues::member_from(msg, None) {
                        q.members.insert(iface, m);
                    }
                }
                "QueueEntry" => {
                    let Some(caller) = queues::caller_from(msg, *item_at) else {
                        continue;
                    };
                    let key = format!("qc:{queue}\0{}", caller.uniqueid);
                    seen_keys.insert(key.clone());
                    if c.tombstones.contains(&key) || self.touched_since(&key, c.begin_seq) {
                        continue;
                    }
                    let q = self
                        .queues
                        .entry(queue.clone())
                        .or_insert_with(|| Queue::new(&queue));
                    q.callers.retain(|x| x.uniqueid != caller.uniqueid);
                    q.callers.push(caller);
                    q.sort_callers();
                }
                _ => {}
            }
        }
        if c.partial {
            return;
        }
        let begin = c.begin_seq;
        let touched = &self.touched;
        let live = |key: &str| touched.get(key).is_some_and(|s| *s > begin);
        self.queues.retain(|name, q| {
            if !seen_queues.contains(name) {
                // A queue the server no longer lists, unless live events just made it.
                return q.members.keys().any(|i| live(&format!("qm:{name}\0{i}")))
                    || q.callers
                        .iter()
                        .any(|x| live(&format!("qc:{name}\0{}", x.uniqueid)));
            }
            q.members.retain(|iface, _| {
                let key = format!("qm:{name}\0{iface}");
                seen_keys.contains(&key) || live(&key)
            });
            q.callers.retain(|x| {
                let key = format!("qc:{name}\0{}", x.uniqueid);
                seen_keys.contains(&key) || live(&key)
            });
            true
        });
    }

    fn merge_endpoints(&mut self, c: Collection) {
        let mut seen = HashSet::new();
        for (_, msg) in &c.items {
            let Some(name) = opt(msg, "ObjectName").filter(|n| !n.is_empty()) else {
                continue;
            };
            let key = endpoints::key(Technology::Pjsip, &name);
            seen.insert(key.clone());
            let fresh = !self.touched_since(&format!("ep:{key}"), c.begin_seq);
            let e = self
                .endpoints
                .entry(key)
                .or_insert_with(|| Endpoint::new(Technology::Pjsip, &name));
            if fresh {
                e.update_from_list(msg);
            }
        }
        if !c.partial {
            self.endpoints
                .retain(|key, e| e.technology != Technology::Pjsip || seen.contains(key));
        }
    }

    fn merge_contacts(&mut self, c: Collection) {
        let mut seen = HashSet::new();
        for (_, msg) in &c.items {
            let Some((endpoint, contact)) = endpoints::contact_from(msg) else {
                continue;
            };
            seen.insert(contact.uri.clone());
            if endpoint.is_empty()
                || c.tombstones.contains(&contact.uri)
                || self.touched_since(&format!("ct:{}", contact.uri), c.begin_seq)
            {
                continue;
            }
            self.endpoints
                .entry(endpoints::key(Technology::Pjsip, &endpoint))
                .or_insert_with(|| Endpoint::new(Technology::Pjsip, &endpoint))
                .upsert_contact(contact);
        }
        if !c.partial {
            let begin = c.begin_seq;
            let touched = &self.touched;
            for e in self.endpoints.values_mut() {
                if e.technology == Technology::Pjsip {
                    e.contacts.retain(|x| {
                        seen.contains(&x.uri)
                            || touched
                                .get(&format!("ct:{}", x.uri))
                                .is_some_and(|s| *s > begin)
                    });
                }
            }
        }
    }

    fn merge_sip_peers(&mut self, c: Collection) {
        let mut seen = HashSet::new();
        for (_, msg) in &c.items {
            let Some(name) = opt(msg, "ObjectName").filter(|n| !n.is_empty()) else {
                continue;
            };
            let key = endpoints::key(Technology::Sip, &name);
            seen.insert(key.clone());
            let fresh = !self.touched_since(&format!("ep:{key}"), c.begin_seq);
            let e = self
                .endpoints
                .entry(key)
                .or_insert_with(|| Endpoint::new(Technology::Sip, &name));
            if fresh {
                e.update_from_peer_entry(msg);
            }
        }
        if !c.partial {
            let begin = c.begin_seq;
            let touched = &self.touched;
            self.endpoints.retain(|key, e| {
                e.technology != Technology::Sip
                    || seen.contains(key)
                    || touched
                        .get(&format!("ep:{key}"))
                        .is_some_and(|s| *s > begin)
            });
        }
    }

    fn merge_device_states(&mut self, c: Collection) {
        let mut seen = HashSet::new();
        for (_, msg) in &c.items {
            let (Some(device), Some(state)) = (opt(msg, "Device"), opt(msg, "State")) else {
                continue;
            };
            seen.insert(device.clone());
            if !self.touched_since(&format!("ds:{device}"), c.begin_seq) {
                self.device_state(&device, &state);
            }
        }
        if !c.partial {
            let begin = c.begin_seq;
            let touched = &self.touched;
            self.device_states.retain(|d, _| {
                seen.contains(d) || touched.get(&format!("ds:{d}")).is_some_and(|s| *s > begin)
            });
        }
    }

    fn merge_extension_states(&mut self, c: Collection) {
        let mut seen = HashSet::new();
        for (_, msg) in &c.items {
            let key = (text(msg, "Context"), text(msg, "Exten"));
            if key.1.is_empty() {
                continue;
            }
            seen.insert(key.clone());
            if !self.touched_since(&format!("es:{}\0{}", key.0, key.1), c.begin_seq) {
                self.extension_states.insert(key, extension_state_from(msg));
            }
        }
        if !c.partial {
            let begin = c.begin_seq;
            let touched = &self.touched;
            self.extension_states.retain(|k, _| {
                seen.contains(k)
                    || touched
                        .get(&format!("es:{}\0{}", k.0, k.1))
                        .is_some_and(|s| *s > begin)
            });
        }
    }
}

/// Some lists answer an empty result with an error: `No Contacts found`,
/// `No endpoints found` (res_pjsip).
fn is_empty_list_answer(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.starts_with("no ") && m.ends_with(" found")
}

/// Whether the list action was filtered (then lacking an entry means nothing).
fn is_filtered(kind: ListKind, action: &Message) -> bool {
    match kind {
        ListKind::Queues => ["Queue", "Member"]
            .iter()
            .any(|k| action.get(k).is_some_and(|v| !v.trim_ascii().is_empty())),
        _ => false,
    }
}

fn extension_state_from(msg: &Message) -> ExtensionState {
    ExtensionState {
        context: text(msg, "Context"),
        exten: text(msg, "Exten"),
        hint: text(msg, "Hint"),
        status: number(msg, "Status").unwrap_or(-1),
        status_text: text(msg, "StatusText"),
    }
}

/// `NOT_INUSE` → `Not in use`: the words `pjsip show endpoints` uses.
pub fn device_state_words(state: &str) -> &str {
    match state {
        "UNKNOWN" => "Unknown",
        "NOT_INUSE" => "Not in use",
        "INUSE" => "In use",
        "BUSY" => "Busy",
        "INVALID" => "Invalid",
        "UNAVAILABLE" => "Unavailable",
        "RINGING" => "Ringing",
        "RINGINUSE" => "Ring+Inuse",
        "ONHOLD" => "On Hold",
        other => other,
    }
}
