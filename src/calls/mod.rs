//! Calls: the event stream grouped into calls, the way sngrep groups SIP messages into
//! dialogs, so an engineer sees "who is talking to whom, since when, and how it ended"
//! instead of a flood of Newexten and VarSet.
//!
//! This module is the pure model: [`Calls::apply`] folds one event in, with the time it
//! was seen passed by the caller (no clock, no I/O), so it builds the same calls live and
//! from a recording. Events are grouped by `Linkedid` (falling back to `Uniqueid`), and
//! groups are joined when an event links them: a dial (`DialBegin`), the two halves of a
//! Local channel (`LocalBridge`, or the `;1`/`;2` names), a bridge both sides entered
//! (`BridgeEnter` with the same `BridgeUniqueid`), a transfer. Only events count:
//! responses and list items (`CoreShowChannel`, `Status`) describe calls but are not
//! calls. Memory is bounded: events kept per call, ended calls kept (by count and age),
//! live calls; what is evicted is counted. Rendering lives in `crate::ui`.

use crate::ami::Message;
use crate::session::{Link, SessionEvent, Stamped};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

/// Identifies a call within one [`Calls`]; stable while the call is kept (a call merged
/// into another takes the older one's id).
pub type CallId = u64;

/// How much the model keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallsConfig {
    /// Events kept per call; older ones are dropped (and counted) first.
    pub max_events_per_call: usize,
    /// Ended calls kept; the longest-ended go first.
    pub max_ended_calls: usize,
    /// How long an ended call stays in the list.
    pub max_ended_age: Duration,
    /// Live calls kept: a guard against a server whose Hangups never reach us.
    pub max_live_calls: usize,
}

impl Default for CallsConfig {
    fn default() -> Self {
        CallsConfig {
            max_events_per_call: 2_000,
            max_ended_calls: 500,
            max_ended_age: Duration::from_secs(3600),
            max_live_calls: 10_000,
        }
    }
}

/// Every call seen, live and recently ended.
#[derive(Debug, Default)]
pub struct Calls {
    config: CallsConfig,
    calls: HashMap<CallId, Call>,
    next_id: CallId,
    next_seq: u64,
    by_uniqueid: HashMap<String, CallId>,
    by_linkedid: HashMap<String, CallId>,
    by_bridge: HashMap<String, CallId>,
    by_local: HashMap<String, CallId>,
    by_name: HashMap<String, CallId>,
    /// Ended calls in the order they ended (entries may be stale: checked when popped).
    ended_order: VecDeque<(SystemTime, CallId)>,
    evicted_calls: u64,
}

/// One call: the channels that took part and what happened to them.
#[derive(Clone, Debug)]
pub struct Call {
    pub id: CallId,
    /// Time of its first event.
    pub start: SystemTime,
    /// Time the last of its channels hung up; `None` while live.
    pub end: Option<SystemTime>,
    /// Linkedids of the groups joined into this call; the first is the call's own.
    linkedids: Vec<String>,
    channels: Vec<Channel>,
    bridges: Vec<String>,
    events: VecDeque<CallEvent>,
    evicted_events: u64,
    last_event: Option<(String, SystemTime)>,
    cause: Option<Hangup>,
    first_dial: Option<DialTarget>,
    missed_events: bool,
    failure: Option<OriginateFailure>,
}

/// A failed `Originate` attempt (`OriginateResponse` with `Response: Failure`): one
/// ended "failed" call per attempt, never a live one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginateFailure {
    /// What was originated (`Channel:` of the response: `Local/busy@test`, `PJSIP/100`).
    pub channel: String,
    pub context: String,
    pub exten: String,
    pub application: String,
    /// `Reason:` code (see [`originate_reason`]).
    pub reason: Option<u32>,
    /// The failure as a hangup cause, for the call's cause column.
    pub hangup: Hangup,
}

/// The words for an `OriginateResponse` `Reason` (the outgoing call's last control
/// frame, `AST_CONTROL_*`).
pub fn originate_reason(code: u32) -> &'static str {
    match code {
        0 => "failed (no such extension or channel could not be created)",
        1 => "hung up before answer",
        2 => "local ring",
        3 => "ringing, no answer",
        4 => "answered",
        5 => "busy",
        8 => "congestion / unavailable",
        _ => "failed",
    }
}

/// One channel of a call, as its latest snapshot describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub name: String,
    pub uniqueid: String,
    pub linkedid: String,
    /// `ChannelStateDesc` of its latest snapshot (`Down`, `Ring`, `Ringing`, `Up`...).
    pub state: String,
    pub caller: Party,
    pub connected: Party,
    pub context: String,
    pub exten: String,
    /// The extension it had when first seen: what was dialed, for an incoming channel.
    pub dialed_exten: String,
    pub first_seen: SystemTime,
    /// The bridge it is in now.
    pub bridge: Option<String>,
    pub hangup: Option<Hangup>,
    order: u64,
}

/// A number and a name (`<unknown>` read as empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Party {
    pub num: String,
    pub name: String,
}

/// Why a channel hung up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hangup {
    pub at: SystemTime,
    /// Q.850 cause code (`Cause`).
    pub code: Option<u32>,
    /// `Cause-txt` (`Normal Clearing`).
    pub text: String,
    pub channel: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct DialTarget {
    dest_channel: String,
    dest: Party,
    dial_string: String,
}

/// One event of a call, in the order the stream delivered it.
#[derive(Clone, Debug)]
pub struct CallEvent {
    /// Position in the whole stream (orders events of joined calls).
    pub seq: u64,
    pub at: SystemTime,
    pub message: Message,
}

/// Where a call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallState {
    /// Being set up: no channel answered yet.
    Ringing,
    /// A channel answered, none is in a bridge.
    Up,
    /// Channels are bridged: people are talking.
    Bridged,
    /// Every channel hung up.
    Ended,
}

impl CallState {
    pub fn label(self) -> &'static str {
        match self {
            CallState::Ringing => "ringing",
            CallState::Up => "up",
            CallState::Bridged => "bridged",
            CallState::Ended => "ended",
        }
    }
}

impl Calls {
    pub fn new(config: CallsConfig) -> Self {
        Calls {
            config,
            ..Calls::default()
        }
    }

    pub fn config(&self) -> &CallsConfig {
        &self.config
    }

    /// Folds one message in. Only events count: responses, actions and list items (an
    /// `EventList` member, `CoreShowChannel`, `Status`...) are ignored, since they
    /// describe calls without being part of one.
    pub fn apply(&mut self, at: SystemTime, msg: &Message) {
        for msg in crate::dialect::modernize(msg).iter() {
            let scan = scan(msg);
            if !scan.list_item {
                self.apply_scanned(at, msg, scan);
            }
        }
    }

    /// Folds one entry of a session's stream in: unsolicited events and events related to
    /// our actions (`OriginateResponse`). A gap in the stream (lost connection, dropped
    /// messages) marks the live calls as possibly missing events.
    pub fn apply_stamped(&mut self, entry: &Stamped) {
        match &entry.event {
            SessionEvent::Received {
                message,
                link: Link::Unsolicited | Link::Related { .. },
                ..
            } => (crate::dialect::modernize(message).iter())
                .for_each(|m| self.apply_scanned(entry.at, m, scan(m))),
            SessionEvent::Gap { .. } | SessionEvent::Dropped { .. } => {
                for call in self.calls.values_mut().filter(|c| c.end.is_none()) {
                    call.missed_events = true;
                }
            }
            _ => {}
        }
    }

    /// Drops ended calls older than the configured age; call it from a timer, since
    /// [`Calls::apply`] only expires calls when events arrive.
    pub fn expire(&mut self, now: SystemTime) {
        self.evict_ended(now);
    }

    pub fn get(&self, id: CallId) -> Option<&Call> {
        self.calls.get(&id)
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    pub fn live_count(&self) -> usize {
        self.calls.values().filter(|c| c.end.is_none()).count()
    }

    /// Calls dropped to stay within the configured bounds.
    pub fn evicted_calls(&self) -> u64 {
        self.evicted_calls
    }

    /// Calls in list order: live ones first, newest first; then ended ones, most
    /// recently ended first.
    pub fn ordered(&self) -> Vec<&Call> {
        let mut list: Vec<&Call> = self.calls.values().collect();
        list.sort_by(|a, b| match (a.end, b.end) {
            (None, None) => (b.start, b.id).cmp(&(a.start, a.id)),
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(ea), Some(eb)) => (eb, b.id).cmp(&(ea, a.id)),
        });
        list
    }

    /// The call a channel (by `Uniqueid`) belongs to.
    pub fn call_of_uniqueid(&self, uniqueid: &str) -> Option<&Call> {
        self.by_uniqueid
            .get(uniqueid)
            .and_then(|id| self.calls.get(id))
    }

    /// Adds a channel from a `CoreShowChannel` item (a channel already up when amicon
    /// connected), created at `start` (now minus its `Duration`): the call it belongs
    /// to appears with its true age, its bridge (`BridgeId`) joining it to the other
    /// side. Called by [`crate::state::State`] when the channel list completes.
    pub fn seed_channel(&mut self, at: SystemTime, item: &Message, start: SystemTime) {
        let scanned = scan(item);
        let Some(own) = scanned.own_uniqueid.clone() else {
            return;
        };
        let Some(snapshot) = scanned
            .snapshots
            .iter()
            .find(|s| s.uniqueid == own)
            .filter(|s| s.channel.is_some())
        else {
            return;
        };
        let bridge = text(item, "BridgeId").filter(|b| !b.is_empty());
        let bridges: Vec<String> = bridge.iter().cloned().collect();
        let Some(id) = self.unit(at, std::slice::from_ref(snapshot), &bridges, true) else {
            return;
        };
        let call = self.calls.get_mut(&id).expect("unit returns a kept call");
        if let Some(channel) = call
            .channels
            .iter_mut()
            .find(|c| c.uniqueid == own.as_ref())
        {
            channel.first_seen = channel.first_seen.min(start);
            if channel.hangup.is_none() {
                channel.bridge = bridge;
            }
        }
        call.start = call.start.min(start);
        // Snapshot items come in no particular order: creation order is the
        // Uniqueid's (`epoch.sequence`).
        call.channels
            .sort_by_key(|c| (uniqueid_order(&c.uniqueid), c.order));
        self.evict_live();
    }

    /// A channel already known from live events that a snapshot also listed: takes
    /// only what the events could not say, its true `start` and its `bridge` (joining
    /// the call of the bridge's other side).
    pub fn seed_known_channel(&mut self, uniqueid: &str, start: SystemTime, bridge: Option<&str>) {
        let Some(&id) = self.by_uniqueid.get(uniqueid) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.start = call.start.min(start);
        if let Some(channel) = call.channels.iter_mut().find(|c| c.uniqueid == uniqueid) {
            channel.first_seen = channel.first_seen.min(start);
            if channel.hangup.is_none() {
                channel.bridge = bridge.map(str::to_string);
            }
        }
        let mut target = id;
        if let Some(b) = bridge {
            if let Some(&other) = self.by_bridge.get(b) {
                if other != id && self.calls.contains_key(&other) {
                    let (keep, gone) =
                        if (self.calls[&other].start, other) <= (self.calls[&id].start, id) {
                            (other, id)
                        } else {
                            (id, other)
                        };
                    self.merge(keep, gone);
                    target = keep;
                }
            }
            let call = self.calls.get_mut(&target).expect("kept call exists");
            if !call.bridges.iter().any(|x| x == b) {
                call.bridges.push(b.to_string());
            }
            point(&mut self.by_bridge, b, target);
        }
        if let Some(call) = self.calls.get_mut(&target) {
            call.channels
                .sort_by_key(|c| (uniqueid_order(&c.uniqueid), c.order));
        }
    }

    /// A complete channel snapshot was merged: every live call is now as Asterisk has
    /// it, so none is marked as possibly missing events any more (no `bridged?`).
    pub fn mark_reconciled(&mut self) {
        for call in self.calls.values_mut().filter(|c| c.end.is_none()) {
            call.missed_events = false;
        }
    }

    /// A channel the server no longer has (a snapshot lacked it): it ends, and its
    /// call with it once no channel is left.
    pub fn channel_gone(&mut self, uniqueid: &str, at: SystemTime, during_gap: bool) {
        let Some(&id) = self.by_uniqueid.get(uniqueid) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(channel) = call
            .channels
            .iter_mut()
            .find(|c| c.uniqueid == uniqueid && c.hangup.is_none())
        else {
            return;
        };
        channel.bridge = None;
        channel.hangup = Some(Hangup {
            at,
            code: None,
            text: if during_gap {
                "gone during the gap".into()
            } else {
                "gone (hangup not seen)".into()
            },
            channel: channel.name.clone(),
        });
        if call.end.is_none() && call.channels.iter().all(|c| c.hangup.is_some()) {
            call.end = Some(at);
            self.ended_order.push_back((at, id));
        }
    }

    /// A failed Originate: attached to the call of the channel it created, if one
    /// (`Local/busy@test-000000e5;1` for `Local/busy@test`), else a call of its own,
    /// ended at once.
    fn originate_failed(&mut self, at: SystemTime, msg: &Message) {
        let channel = text(msg, "Channel").unwrap_or_default();
        let reason = text(msg, "Reason").and_then(|r| r.parse::<u32>().ok());
        let words = reason.map_or("failed", originate_reason);
        let failure = OriginateFailure {
            channel: channel.clone(),
            context: text(msg, "Context").unwrap_or_default(),
            exten: text(msg, "Exten").unwrap_or_default(),
            application: text(msg, "Application").unwrap_or_default(),
            reason,
            hangup: Hangup {
                at,
                code: None,
                text: match reason {
                    Some(code) => format!("originate failed: {words} ({code})"),
                    None => "originate failed".into(),
                },
                channel: channel.clone(),
            },
        };
        let prefix = format!("{channel}-");
        let recent = Duration::from_secs(60);
        let attach = self
            .calls
            .values()
            .filter(|c| c.failure.is_none())
            .filter(|c| {
                c.channels
                    .first()
                    .is_some_and(|ch| !channel.is_empty() && ch.name.starts_with(&prefix))
            })
            .filter(|c| {
                c.end
                    .is_none_or(|e| at.duration_since(e).is_ok_and(|d| d < recent))
            })
            .filter(|c| at.duration_since(c.start).is_ok_and(|d| d < recent) || at < c.start)
            .max_by_key(|c| (c.start, c.id))
            .map(|c| c.id);
        let id = match attach {
            Some(id) => id,
            None => {
                let id = self.next_id;
                self.next_id += 1;
                let mut call = Call::new(id, at, String::new());
                call.end = Some(at);
                self.calls.insert(id, call);
                self.ended_order.push_back((at, id));
                id
            }
        };
        if let Some(call) = self.calls.get_mut(&id) {
            call.failure = Some(failure);
        }
        self.record(id, at, "OriginateResponse", msg, None, &[]);
        self.evict_ended(at);
    }

    fn apply_scanned(&mut self, at: SystemTime, msg: &Message, scan: Scan<'_>) {
        if scan.event.as_deref() == Some("OriginateResponse") && msg.is("Response", "Failure") {
            self.originate_failed(at, msg);
            return;
        }
        let Scan {
            event: Some(name),
            snapshots,
            bridges: named_bridges,
            holding_bridge,
            own_uniqueid,
            ..
        } = scan
        else {
            return;
        };
        // Late accounting records must not resurrect a call that was already evicted.
        let creates = !matches!(name.as_ref(), "Cdr" | "CEL");
        let bridges = if holding_bridge {
            Vec::new()
        } else {
            named_bridges.clone()
        };
        let mut targets: Vec<CallId> = Vec::new();
        if SEPARATE_SNAPSHOTS.contains(&name.as_ref()) {
            for s in &snapshots {
                if let Some(id) = self.unit(at, std::slice::from_ref(s), &[], creates) {
                    targets.push(id);
                }
            }
        } else if let Some(id) = self.unit(at, &snapshots, &bridges, creates) {
            targets.push(id);
        } else if snapshots.is_empty() && bridges.is_empty() {
            // Only a channel name (`TestEvent`), or only a bridge (`BridgeDestroy`).
            let by_name = text(msg, "Channel")
                .and_then(|n| self.by_name.get(&n).copied())
                .filter(|id| self.calls.get(id).is_some_and(Call::is_live));
            let by_bridge = named_bridges
                .iter()
                .find_map(|b| self.by_bridge.get(b).copied());
            targets.extend(by_name.or(by_bridge));
        }
        targets.sort_unstable();
        targets.dedup();
        for id in targets {
            self.record(id, at, &name, msg, own_uniqueid.as_deref(), &named_bridges);
        }
        self.evict_ended(at);
        self.evict_live();
    }

    /// Finds (or creates) the call that `snapshots` and `bridges` belong to, joining
    /// every call they name into one, and registers them with it.
    fn unit(
        &mut self,
        at: SystemTime,
        snapshots: &[Snapshot<'_>],
        bridges: &[String],
        creates: bool,
    ) -> Option<CallId> {
        let mut found: Vec<CallId> = Vec::new();
        for s in snapshots {
            let linkedid = s.linkedid.as_deref();
            let hit = self
                .by_uniqueid
                .get(s.uniqueid.as_ref())
                .or_else(|| linkedid.and_then(|l| self.by_linkedid.get(l)))
                .or_else(|| linkedid.and_then(|l| self.by_uniqueid.get(l)))
                .or_else(|| {
                    // Names repeat after an Asterisk restart: only a live call's Local
                    // channel can be the other half.
                    s.channel
                        .as_deref()
                        .and_then(local_base)
                        .and_then(|b| self.by_local.get(b))
                        .filter(|id| self.calls.get(id).is_some_and(Call::is_live))
                });
            found.extend(hit.copied());
        }
        for b in bridges {
            found.extend(self.by_bridge.get(b).copied());
        }
        found.sort_unstable();
        found.dedup();
        let target = match found.first() {
            Some(_) => {
                let keep = *found
                    .iter()
                    .min_by_key(|id| (self.calls[id].start, **id))
                    .expect("found is not empty");
                for gone in found.iter().copied().filter(|id| *id != keep) {
                    self.merge(keep, gone);
                }
                keep
            }
            None => {
                let first = snapshots.first().filter(|_| creates)?;
                let id = self.next_id;
                self.next_id += 1;
                let linkedid = first
                    .linkedid
                    .as_ref()
                    .unwrap_or(&first.uniqueid)
                    .to_string();
                self.calls.insert(id, Call::new(id, at, linkedid.clone()));
                if !linkedid.is_empty() {
                    self.by_linkedid.insert(linkedid, id);
                }
                id
            }
        };
        for s in snapshots {
            let known = self.by_uniqueid.contains_key(s.uniqueid.as_ref());
            if !known && !creates {
                continue;
            }
            let order = self.next_seq;
            self.next_seq += 1;
            let call = self.calls.get_mut(&target).expect("target exists");
            let channel = call.channel_entry(s, at, order);
            channel.update_from(s);
            let channel_live = channel.hangup.is_none();
            if channel_live {
                call.end = None;
            }
            point(&mut self.by_uniqueid, &s.uniqueid, target);
            if let Some(name) = &s.channel {
                point(&mut self.by_name, name, target);
                if let Some(base) = local_base(name) {
                    point(&mut self.by_local, base, target);
                }
            }
            if let Some(l) = s.linkedid.as_deref() {
                if !call.linkedids.iter().any(|x| x == l) {
                    call.linkedids.push(l.to_string());
                }
                point(&mut self.by_linkedid, l, target);
            }
        }
        let call = self.calls.get_mut(&target).expect("target exists");
        for b in bridges {
            if !call.bridges.contains(b) {
                call.bridges.push(b.clone());
            }
            point(&mut self.by_bridge, b, target);
        }
        Some(target)
    }

    /// Moves everything of call `gone` into call `keep`.
    fn merge(&mut self, keep: CallId, gone: CallId) {
        let Some(other) = self.calls.remove(&gone) else {
            return;
        };
        for c in &other.channels {
            self.by_uniqueid.insert(c.uniqueid.clone(), keep);
            self.by_name.insert(c.name.clone(), keep);
            if let Some(base) = local_base(&c.name) {
                self.by_local.insert(base.to_string(), keep);
            }
        }
        for l in &other.linkedids {
            self.by_linkedid.insert(l.clone(), keep);
        }
        for b in &other.bridges {
            self.by_bridge.insert(b.clone(), keep);
        }
        let max_events = self.config.max_events_per_call;
        let call = self.calls.get_mut(&keep).expect("kept call exists");
        call.absorb(other, max_events);
    }

    /// Adds the event to call `id` and applies what it means.
    fn record(
        &mut self,
        id: CallId,
        at: SystemTime,
        name: &str,
        msg: &Message,
        uniqueid: Option<&str>,
        bridges: &[String],
    ) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let max_events = self.config.max_events_per_call;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.events.push_back(CallEvent {
            seq,
            at,
            // Kept for as long as the call is: must not pin the whole socket read.
            message: msg.unshared(),
        });
        while call.events.len() > max_events {
            call.events.pop_front();
            call.evicted_events += 1;
        }
        match &mut call.last_event {
            Some((last, when)) => {
                if last != name {
                    name.clone_into(last);
                }
                *when = at;
            }
            None => call.last_event = Some((name.to_string(), at)),
        }
        let channel = uniqueid.and_then(|u| call.channels.iter_mut().find(|c| c.uniqueid == u));
        match name {
            "Hangup" => {
                if let Some(channel) = channel {
                    let hangup = Hangup {
                        at,
                        code: text(msg, "Cause").and_then(|c| c.trim().parse().ok()),
                        text: text(msg, "Cause-txt").unwrap_or_default(),
                        channel: channel.name.clone(),
                    };
                    channel.bridge = None;
                    channel.hangup = Some(hangup.clone());
                    if call.cause.is_none() {
                        call.cause = Some(hangup);
                    }
                }
                if call.end.is_none() && call.channels.iter().all(|c| c.hangup.is_some()) {
                    call.end = Some(at);
                    self.ended_order.push_back((at, id));
                }
            }
            "BridgeEnter" => {
                if let Some(channel) = channel {
                    channel.bridge = bridges.first().cloned();
                }
            }
            "BridgeLeave" => {
                if let Some(channel) = channel {
                    channel.bridge = None;
                }
            }
            "DialBegin" if call.first_dial.is_none() => {
                call.first_dial = Some(DialTarget {
                    dest_channel: text(msg, "DestChannel").unwrap_or_default(),
                    dest: Party {
                        num: party_text(msg, "DestCallerIDNum"),
                        name: party_text(msg, "DestCallerIDName"),
                    },
                    dial_string: text(msg, "DialString").unwrap_or_default(),
                });
            }
            _ => {}
        }
    }

    fn evict_ended(&mut self, now: SystemTime) {
        let max_age = self.config.max_ended_age;
        while let Some(&(ended_at, id)) = self.ended_order.front() {
            let still_ended = self.calls.get(&id).is_some_and(|c| c.end == Some(ended_at));
            if !still_ended {
                self.ended_order.pop_front();
                continue;
            }
            let too_many = self.ended_order.len() > self.config.max_ended_calls;
            let too_old = now.duration_since(ended_at).is_ok_and(|age| age > max_age);
            if !(too_many || too_old) {
                break;
            }
            self.ended_order.pop_front();
            self.remove(id);
        }
        // Stale entries (calls merged or revived) would let the queue grow unbounded.
        if self.ended_order.len() > 2 * self.config.max_ended_calls + 16 {
            let calls = &self.calls;
            self.ended_order
                .retain(|(at, id)| calls.get(id).is_some_and(|c| c.end == Some(*at)));
        }
    }

    fn evict_live(&mut self) {
        // Counting live calls walks them all: only worth it when there could be too many.
        if self.calls.len() <= self.config.max_live_calls {
            return;
        }
        let live = self.live_count();
        if live <= self.config.max_live_calls {
            return;
        }
        let mut oldest: Vec<(SystemTime, CallId)> = self
            .calls
            .values()
            .filter(|c| c.end.is_none())
            .map(|c| (c.start, c.id))
            .collect();
        oldest.sort_unstable();
        for (_, id) in oldest.into_iter().take(live - self.config.max_live_calls) {
            self.remove(id);
        }
    }

    fn remove(&mut self, id: CallId) {
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        self.evicted_calls += 1;
        let forget = |map: &mut HashMap<String, CallId>, key: &str| {
            if map.get(key) == Some(&id) {
                map.remove(key);
            }
        };
        for c in &call.channels {
            forget(&mut self.by_uniqueid, &c.uniqueid);
            forget(&mut self.by_name, &c.name);
            if let Some(base) = local_base(&c.name) {
                forget(&mut self.by_local, base);
            }
        }
        for l in &call.linkedids {
            forget(&mut self.by_linkedid, l);
        }
        for b in &call.bridges {
            forget(&mut self.by_bridge, b);
        }
    }
}

impl Call {
    fn new(id: CallId, at: SystemTime, linkedid: String) -> Self {
        Call {
            id,
            start: at,
            end: None,
            linkedids: vec![linkedid],
            channels: Vec::new(),
            bridges: Vec::new(),
            events: VecDeque::new(),
            evicted_events: 0,
            last_event: None,
            cause: None,
            first_dial: None,
            missed_events: false,
            failure: None,
        }
    }

    fn channel_entry(&mut self, s: &Snapshot<'_>, at: SystemTime, order: u64) -> &mut Channel {
        let index = match self.channels.iter().position(|c| c.uniqueid == s.uniqueid) {
            Some(i) => i,
            None => {
                self.channels.push(Channel {
                    name: s.channel.as_deref().unwrap_or_default().to_string(),
                    uniqueid: s.uniqueid.to_string(),
                    linkedid: s.linkedid.as_deref().unwrap_or_default().to_string(),
                    state: String::new(),
                    caller: Party::default(),
                    connected: Party::default(),
                    context: String::new(),
                    exten: String::new(),
                    dialed_exten: s.exten.as_deref().unwrap_or_default().to_string(),
                    first_seen: at,
                    bridge: None,
                    hangup: None,
                    order,
                });
                self.channels.len() - 1
            }
        };
        &mut self.channels[index]
    }

    fn absorb(&mut self, other: Call, max_events: usize) {
        self.start = self.start.min(other.start);
        for l in other.linkedids {
            if !self.linkedids.contains(&l) {
                self.linkedids.push(l);
            }
        }
        for b in other.bridges {
            if !self.bridges.contains(&b) {
                self.bridges.push(b);
            }
        }
        self.channels.extend(other.channels);
        self.channels.sort_by_key(|c| c.order);
        let mut events: Vec<CallEvent> = self.events.drain(..).chain(other.events).collect();
        events.sort_by_key(|e| e.seq);
        self.evicted_events += other.evicted_events;
        let excess = events.len().saturating_sub(max_events);
        self.evicted_events += excess as u64;
        self.events = events.into_iter().skip(excess).collect();
        self.last_event = match (self.last_event.take(), other.last_event) {
            (Some(a), Some(b)) => Some(if b.1 > a.1 { b } else { a }),
            (a, b) => a.or(b),
        };
        self.cause = match (self.cause.take(), other.cause) {
            (Some(a), Some(b)) => Some(if b.at < a.at { b } else { a }),
            (a, b) => a.or(b),
        };
        self.first_dial = self.first_dial.take().or(other.first_dial);
        self.failure = self.failure.take().or(other.failure);
        self.missed_events |= other.missed_events;
        self.end = if self.channels.iter().all(|c| c.hangup.is_some()) {
            self.channels
                .iter()
                .filter_map(|c| c.hangup.as_ref().map(|h| h.at))
                .max()
        } else {
            None
        };
    }

    /// The call's own Linkedid (of its oldest group).
    pub fn linkedid(&self) -> &str {
        &self.linkedids[0]
    }

    /// Every Linkedid joined into this call.
    pub fn linkedids(&self) -> &[String] {
        &self.linkedids
    }

    /// Channels in order of appearance.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// Bridges its channels entered.
    pub fn bridges(&self) -> &[String] {
        &self.bridges
    }

    /// The kept events, oldest first.
    pub fn events(&self) -> &VecDeque<CallEvent> {
        &self.events
    }

    /// Events dropped from the front of [`Call::events`] to stay within the bound.
    pub fn evicted_events(&self) -> u64 {
        self.evicted_events
    }

    /// Whether the stream had a gap (reconnect, dropped messages) while the call was
    /// live, so some of its events, its hangup included, may be missing.
    pub fn missed_events(&self) -> bool {
        self.missed_events
    }

    /// Name and time of its latest event.
    pub fn last_event(&self) -> Option<(&str, SystemTime)> {
        self.last_event.as_ref().map(|(n, t)| (n.as_str(), *t))
    }

    /// How the call ended, from the caller's side: a failed Originate's reason; else
    /// the caller's (first channel's) hangup; else, once ended, the first hangup that
    /// is not a losing leg's `26 Answered elsewhere` (a ring-all queue), else the first.
    pub fn cause(&self) -> Option<&Hangup> {
        if let Some(f) = &self.failure {
            return Some(&f.hangup);
        }
        if let Some(h) = self.channels.first().and_then(|c| c.hangup.as_ref()) {
            return Some(h);
        }
        self.end?;
        self.channels
            .iter()
            .filter_map(|c| c.hangup.as_ref())
            .filter(|h| h.code != Some(26))
            .min_by_key(|h| h.at)
            .or(self.cause.as_ref())
    }

    /// The failed Originate this call is, or ended in.
    pub fn failure(&self) -> Option<&OriginateFailure> {
        self.failure.as_ref()
    }

    /// The state's word for a list: `failed` for a failed Originate, else
    /// [`CallState::label`].
    pub fn state_label(&self) -> &'static str {
        if self.failure.is_some() && self.end.is_some() {
            "failed"
        } else {
            self.state().label()
        }
    }

    /// The first channel's name (or what a failed Originate tried), for the channel
    /// column: with [`Call::channels`]`.len()` it reads `PJSIP/100-0000001a +2`.
    pub fn first_channel(&self) -> Option<&str> {
        self.channels
            .first()
            .map(|c| c.name.as_str())
            .filter(|n| !n.is_empty())
            .or_else(|| self.failure.as_ref().map(|f| f.channel.as_str()))
    }

    /// `PJSIP/100-0000001a +2`: the first channel and how many more.
    pub fn channel_column(&self) -> String {
        let first = self.first_channel().unwrap_or_default();
        match self.channels.len() {
            0 | 1 => first.to_string(),
            n => format!("{first} +{}", n - 1),
        }
    }

    /// Who called, for a list: the caller ID, else the first channel's name (never
    /// `?` when the channel is known).
    pub fn caller_label(&self) -> String {
        let caller = self.caller().display();
        if !caller.is_empty() {
            return caller;
        }
        self.first_channel().unwrap_or_default().to_string()
    }

    pub fn is_live(&self) -> bool {
        self.end.is_none()
    }

    /// How long it lasted, or has lasted until `now` while live.
    pub fn duration(&self, now: SystemTime) -> Duration {
        self.end
            .unwrap_or(now)
            .duration_since(self.start)
            .unwrap_or_default()
    }

    pub fn state(&self) -> CallState {
        if self.end.is_some() {
            CallState::Ended
        } else if self
            .channels
            .iter()
            .any(|c| c.hangup.is_none() && c.bridge.is_some())
        {
            CallState::Bridged
        } else if self
            .channels
            .iter()
            .any(|c| c.hangup.is_none() && c.state.eq_ignore_ascii_case("Up"))
        {
            CallState::Up
        } else {
            CallState::Ringing
        }
    }

    /// Who called: the first channel's caller ID.
    pub fn caller(&self) -> Party {
        self.channels
            .first()
            .map(|c| c.caller.clone())
            .unwrap_or_default()
    }

    /// Who was called: the first channel's connected line once it names someone else,
    /// else the extension it dialed, else the first dial's destination.
    pub fn callee(&self) -> Party {
        let caller = self.caller();
        if let Some(first) = self.channels.first() {
            let connected = &first.connected;
            if !connected.num.is_empty() && connected.num != caller.num {
                return connected.clone();
            }
            if !first.dialed_exten.is_empty() && first.dialed_exten != "s" {
                return Party {
                    num: first.dialed_exten.clone(),
                    name: String::new(),
                };
            }
        }
        if let Some(dial) = &self.first_dial {
            if !dial.dest.num.is_empty() && dial.dest.num != caller.num {
                return dial.dest.clone();
            }
            let num = if dial.dial_string.is_empty() {
                dial.dest_channel.clone()
            } else {
                dial.dial_string.clone()
            };
            return Party {
                num,
                name: String::new(),
            };
        }
        Party::default()
    }

    /// An event-log filter (the project's filter language) matching every event of
    /// this call's channels, Linkedids and bridges, prefixed ones (`DestUniqueid`,
    /// `LocalOneLinkedid`, `BridgeUniqueid`) included.
    pub fn follow_filter(&self) -> String {
        let mut out = String::new();
        let linked: Vec<&str> = self.linkedids.iter().map(String::as_str).collect();
        let unique: Vec<&str> = self
            .channels
            .iter()
            .map(|c| c.uniqueid.as_str())
            .chain(self.bridges.iter().map(String::as_str))
            .collect();
        for (key, values) in [("*Linkedid=", linked), ("*Uniqueid=", unique)] {
            let values: Vec<&str> = values.into_iter().filter(|v| !v.is_empty()).collect();
            for (i, v) in values.iter().enumerate() {
                if !out.is_empty() {
                    out.push('|');
                }
                if i == 0 {
                    out.push_str(key);
                }
                out.push_str(&filter_literal(v));
            }
        }
        out
    }

    /// The call as a ladder: channel columns and one row per significant event.
    pub fn ladder(&self) -> Ladder {
        let columns: Vec<LadderColumn> = self
            .channels
            .iter()
            .map(|c| LadderColumn {
                name: c.name.clone(),
                uniqueid: c.uniqueid.clone(),
            })
            .collect();
        let col = |uniqueid: Option<String>| {
            uniqueid.and_then(|u| columns.iter().position(|c| c.uniqueid == u))
        };
        let mut members: HashMap<String, Vec<usize>> = HashMap::new();
        let mut rows = Vec::new();
        for e in &self.events {
            let m = &e.message;
            let name = m
                .event_name()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let own = col(text(m, "Uniqueid"));
            let row = |from: usize, to: Option<usize>, kind: LadderKind, label: String| LadderRow {
                time: e.at,
                from_col: from,
                to_col: to,
                kind,
                label,
            };
            let made = match name.as_ref() {
                "Newchannel" => own.map(|c| {
                    let state = text(m, "ChannelStateDesc").unwrap_or_default();
                    row(c, None, LadderKind::Channel, format!("Newchannel {state}"))
                }),
                "Newstate" => own.map(|c| {
                    let state = text(m, "ChannelStateDesc").unwrap_or_default();
                    row(c, None, LadderKind::Channel, format!("Newstate {state}"))
                }),
                "DialBegin" | "DialEnd" => col(text(m, "DestUniqueid")).map(|dest| {
                    let begin = name == "DialBegin";
                    let what = if begin {
                        text(m, "DialString").unwrap_or_default()
                    } else {
                        text(m, "DialStatus").unwrap_or_default()
                    };
                    let label = format!("{name} {what}").trim_end().to_string();
                    match own {
                        Some(src) if begin => row(src, Some(dest), LadderKind::Dial, label),
                        Some(src) => row(dest, Some(src), LadderKind::Dial, label),
                        None => row(dest, None, LadderKind::Dial, label),
                    }
                }),
                "LocalBridge" => col(text(m, "LocalOneUniqueid")).map(|one| {
                    let two = col(text(m, "LocalTwoUniqueid"));
                    row(one, two, LadderKind::Bridge, "LocalBridge".into())
                }),
                "BridgeEnter" | "BridgeLeave" => own.map(|c| {
                    let bridge = text(m, "BridgeUniqueid").unwrap_or_default();
                    let list = members.entry(bridge.clone()).or_default();
                    list.retain(|x| *x != c);
                    let peer = list.first().copied();
                    if name == "BridgeEnter" {
                        list.push(c);
                    }
                    let short: String = bridge.chars().take(8).collect();
                    row(c, peer, LadderKind::Bridge, format!("{name} {short}"))
                }),
                "Hangup" => own.map(|c| {
                    let code = text(m, "Cause").unwrap_or_default();
                    let why = text(m, "Cause-txt").unwrap_or_default();
                    let label = format!("Hangup {code} {why}").trim_end().to_string();
                    row(c, None, LadderKind::Hangup, label)
                }),
                "Hold"
                | "Unhold"
                | "BlindTransfer"
                | "AttendedTransfer"
                | "LocalOptimizationBegin"
                | "LocalOptimizationEnd"
                | "OriginateResponse" => own.map(|c| {
                    let extra = text(m, "Response").unwrap_or_default();
                    let label = format!("{name} {extra}").trim_end().to_string();
                    row(c, None, LadderKind::Other, label)
                }),
                _ => None,
            };
            rows.extend(made);
        }
        Ladder { columns, rows }
    }
}

impl Channel {
    fn update_from(&mut self, s: &Snapshot<'_>) {
        let fields = [
            (&mut self.name, &s.channel),
            (&mut self.state, &s.state),
            (&mut self.context, &s.context),
            (&mut self.exten, &s.exten),
            (&mut self.caller.num, &s.caller_num),
            (&mut self.caller.name, &s.caller_name),
            (&mut self.connected.num, &s.connected_num),
            (&mut self.connected.name, &s.connected_name),
        ];
        for (field, value) in fields {
            if let Some(v) = value {
                set(field, v);
            }
        }
        if self.linkedid.is_empty() {
            if let Some(l) = &s.linkedid {
                set(&mut self.linkedid, l);
            }
        }
    }

    pub fn is_live(&self) -> bool {
        self.hangup.is_none()
    }
}

impl Party {
    /// `Name <num>`, or whichever of the two is known.
    pub fn display(&self) -> String {
        match (self.name.is_empty(), self.num.is_empty()) {
            (false, false) if self.name != self.num => format!("{} <{}>", self.name, self.num),
            (false, _) => self.name.clone(),
            (true, false) => self.num.clone(),
            (true, true) => String::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.num.is_empty() && self.name.is_empty()
    }
}

/// A call drawn as a ladder diagram, as data: rendering is in `crate::ui::call_detail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ladder {
    pub columns: Vec<LadderColumn>,
    pub rows: Vec<LadderRow>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LadderColumn {
    pub name: String,
    pub uniqueid: String,
}

/// One significant event: on one channel (`to_col: None`) or an arrow between two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LadderRow {
    pub time: SystemTime,
    pub from_col: usize,
    pub to_col: Option<usize>,
    pub kind: LadderKind,
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LadderKind {
    /// Created, changed state.
    Channel,
    Dial,
    Bridge,
    Hangup,
    Other,
}

/// Actions on a selected channel, for [`prefill`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelAction {
    Hangup,
    Redirect,
    Getvar,
    Setvar,
    Status,
    MixMonitor,
    StopMixMonitor,
    PlayDtmf,
    BlindTransfer,
    Atxfer,
    /// Listen in: originate a call from your own phone into `ChanSpy` on this channel.
    Spy,
}

impl ChannelAction {
    pub const ALL: [ChannelAction; 11] = [
        ChannelAction::Hangup,
        ChannelAction::Redirect,
        ChannelAction::Getvar,
        ChannelAction::Setvar,
        ChannelAction::Status,
        ChannelAction::MixMonitor,
        ChannelAction::StopMixMonitor,
        ChannelAction::PlayDtmf,
        ChannelAction::BlindTransfer,
        ChannelAction::Atxfer,
        ChannelAction::Spy,
    ];

    /// What the action is called in a menu.
    pub fn label(self) -> &'static str {
        match self {
            ChannelAction::Hangup => "Hangup",
            ChannelAction::Redirect => "Redirect",
            ChannelAction::Getvar => "Getvar",
            ChannelAction::Setvar => "Setvar",
            ChannelAction::Status => "Status",
            ChannelAction::MixMonitor => "MixMonitor (record)",
            ChannelAction::StopMixMonitor => "StopMixMonitor",
            ChannelAction::PlayDtmf => "PlayDTMF",
            ChannelAction::BlindTransfer => "BlindTransfer",
            ChannelAction::Atxfer => "Atxfer (attended transfer)",
            ChannelAction::Spy => "Spy (Originate ChanSpy)",
        }
    }
}

/// Composer text for `action` on `channel`: `Key: Value` lines, with `<placeholders>`
/// for what the user must choose ([`first_placeholder`] finds the first).
pub fn prefill(action: ChannelAction, channel: &Channel) -> String {
    let ch = &channel.name;
    let context = if channel.context.is_empty() {
        "<context>"
    } else {
        &channel.context
    };
    match action {
        ChannelAction::Hangup => format!("Action: Hangup\nChannel: {ch}\nCause: 16\n"),
        ChannelAction::Redirect => format!(
            "Action: Redirect\nChannel: {ch}\nContext: {context}\nExten: <exten>\nPriority: 1\n"
        ),
        ChannelAction::Getvar => format!("Action: Getvar\nChannel: {ch}\nVariable: <variable>\n"),
        ChannelAction::Setvar => format!(
            "Action: Setvar\nChannel: {ch}\nVariable: <variable>\nValue: <value>\n"
        ),
        ChannelAction::Status => format!("Action: Status\nChannel: {ch}\n"),
        ChannelAction::MixMonitor => format!(
            "Action: MixMonitor\nChannel: {ch}\nFile: <file>.wav\nOptions: b\n"
        ),
        ChannelAction::StopMixMonitor => format!("Action: StopMixMonitor\nChannel: {ch}\n"),
        ChannelAction::PlayDtmf => format!("Action: PlayDTMF\nChannel: {ch}\nDigit: <digit>\n"),
        ChannelAction::BlindTransfer => format!(
            "Action: BlindTransfer\nChannel: {ch}\nContext: {context}\nExten: <exten>\n"
        ),
        ChannelAction::Atxfer => format!(
            "Action: Atxfer\nChannel: {ch}\nContext: {context}\nExten: <exten>\n"
        ),
        ChannelAction::Spy => format!(
            "Action: Originate\nChannel: <your endpoint, e.g. PJSIP/100>\nApplication: ChanSpy\nData: {ch},qE\nAsync: true\n"
        ),
    }
}

/// Byte range of the first `<placeholder>` in prefilled text, for the composer to
/// select.
pub fn first_placeholder(text: &str) -> Option<std::ops::Range<usize>> {
    let start = text.find('<')?;
    let end = start + text[start..].find('>')? + 1;
    Some(start..end)
}

/// One channel described by an event: `Channel`, `Uniqueid`... or the same keys with a
/// prefix (`DestUniqueid`, `LocalOneUniqueid`, `TransfereeUniqueid`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Snapshot<'a> {
    uniqueid: Cow<'a, str>,
    linkedid: Option<Cow<'a, str>>,
    channel: Option<Cow<'a, str>>,
    state: Option<Cow<'a, str>>,
    caller_num: Option<Cow<'a, str>>,
    caller_name: Option<Cow<'a, str>>,
    connected_num: Option<Cow<'a, str>>,
    connected_name: Option<Cow<'a, str>>,
    context: Option<Cow<'a, str>>,
    exten: Option<Cow<'a, str>>,
}

/// Assigns without allocating when the value did not change (the usual case: every
/// event repeats its channel's whole snapshot).
fn set(field: &mut String, value: &str) {
    if field != value {
        value.clone_into(field);
    }
}

/// Points `key` at `target`, allocating the key only when it is new.
fn point(map: &mut HashMap<String, CallId>, key: &str, target: CallId) {
    match map.get_mut(key) {
        Some(id) => *id = target,
        None => {
            map.insert(key.to_string(), target);
        }
    }
}

/// What one pass over an event's headers finds: the channels it describes and the
/// bridges it names. One pass, because events carry 20 to 60 headers and a key lookup
/// is a scan: looking each field up by name made this the cost of the whole model.
struct Scan<'a> {
    /// The `Event` value; `None` for responses and actions.
    event: Option<Cow<'a, str>>,
    /// An item of some action's list rather than a call event (see [`Calls::apply`]).
    list_item: bool,
    /// The unprefixed `Uniqueid`: the channel the event is about.
    own_uniqueid: Option<Cow<'a, str>>,
    snapshots: Vec<Snapshot<'a>>,
    bridges: Vec<String>,
    /// A parking lot or holding bridge: being in one does not join calls.
    holding_bridge: bool,
}

/// The snapshot fields, found under any prefix (`DestChannel`, `LocalOneUniqueid`).
const FIELDS: [&[u8]; 10] = [
    b"Uniqueid",
    b"Linkedid",
    b"Channel",
    b"ChannelStateDesc",
    b"CallerIDNum",
    b"CallerIDName",
    b"ConnectedLineNum",
    b"ConnectedLineName",
    b"Context",
    b"Exten",
];

struct RawSnapshot<'a> {
    prefix: &'a [u8],
    fields: [Option<&'a [u8]>; FIELDS.len()],
}

fn scan(msg: &Message) -> Scan<'_> {
    let mut raw: Vec<RawSnapshot> = Vec::new();
    let mut bridges: Vec<String> = Vec::new();
    let mut holding_bridge = false;
    let mut new_name = None;
    let mut event = None;
    let mut action_id = false;
    let mut event_list = false;
    for (key, value) in msg.headers() {
        if key.eq_ignore_ascii_case(b"Event") {
            event.get_or_insert(value);
            continue;
        }
        if key.eq_ignore_ascii_case(b"ActionID") {
            action_id = true;
            continue;
        }
        if key.eq_ignore_ascii_case(b"EventList") {
            event_list = true;
            continue;
        }
        if let Some(prefix) = strip_suffix_ignore_case(key, b"Uniqueid") {
            if strip_suffix_ignore_case(prefix, b"Bridge").is_some() {
                let id = lossy_trim(value);
                if !id.is_empty() && !bridges.iter().any(|b| *b == id) {
                    bridges.push(id.into_owned());
                }
                continue;
            }
        }
        if key.eq_ignore_ascii_case(b"BridgeType") || key.eq_ignore_ascii_case(b"BridgeTechnology")
        {
            holding_bridge |=
                value.eq_ignore_ascii_case(b"parking") || value.eq_ignore_ascii_case(b"holding");
            continue;
        }
        if key.eq_ignore_ascii_case(b"Newname") {
            new_name = Some(value);
            continue;
        }
        for (i, field) in FIELDS.iter().enumerate() {
            let Some(prefix) = strip_suffix_ignore_case(key, field) else {
                continue;
            };
            let slot = match raw
                .iter()
                .position(|r| r.prefix.eq_ignore_ascii_case(prefix))
            {
                Some(slot) => slot,
                None => {
                    raw.push(RawSnapshot {
                        prefix,
                        fields: [None; FIELDS.len()],
                    });
                    raw.len() - 1
                }
            };
            // The first value wins, as with `Message::get`.
            raw[slot].fields[i].get_or_insert(value);
            break;
        }
    }
    let mut snapshots: Vec<Snapshot> = Vec::with_capacity(raw.len());
    let mut own_uniqueid = None;
    for r in &raw {
        let [uniqueid, linkedid, channel, state, cid_num, cid_name, cl_num, cl_name, context, exten] =
            r.fields;
        let Some(uniqueid) = uniqueid.map(lossy_trim) else {
            continue;
        };
        // `Uniqueid: none` (a global Setvar), `<unknown>` (a failed Originate): no channel.
        if crate::state::fields::is_placeholder(&uniqueid)
            || snapshots.iter().any(|s| s.uniqueid == uniqueid)
        {
            continue;
        }
        if r.prefix.is_empty() {
            own_uniqueid = Some(uniqueid.clone());
        }
        let (cid_num, cid_name) = party(cid_num, cid_name);
        let (cl_num, cl_name) = party(cl_num, cl_name);
        snapshots.push(Snapshot {
            uniqueid,
            linkedid: linkedid
                .map(lossy_trim)
                .filter(|l| !crate::state::fields::is_placeholder(l)),
            channel: channel
                .map(lossy_trim)
                .filter(|c| !crate::state::fields::is_placeholder(c)),
            state: state.map(lossy_trim),
            caller_num: cid_num,
            caller_name: cid_name,
            connected_num: cl_num,
            connected_name: cl_name,
            context: context.map(lossy_trim),
            exten: exten.map(lossy_trim),
        });
    }
    // A `Rename` event gives the channel's new name in `Newname`.
    if let (Some(new), true) = (new_name, msg.is("Event", "Rename")) {
        if let Some(first) = snapshots.first_mut() {
            first.channel = Some(lossy_trim(new));
        }
    }
    let event = event.map(lossy_trim);
    let list_item = event.as_deref().is_some_and(|name| {
        event_list
            || LIST_ITEM_EVENTS.iter().any(|n| name.eq_ignore_ascii_case(n))
            // Only these two carry an ActionID as real events.
            || (action_id
                && !name.eq_ignore_ascii_case("OriginateResponse")
                && !name.eq_ignore_ascii_case("UserEvent"))
    });
    Scan {
        event,
        list_item,
        own_uniqueid,
        snapshots,
        bridges,
        holding_bridge,
    }
}

fn lossy_trim(value: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(value.trim_ascii())
}

/// Caller ID fields, known when either the number or the name is given, with
/// `<unknown>` (Asterisk's way of saying empty) read as empty.
#[allow(clippy::type_complexity)]
fn party<'a>(
    num: Option<&'a [u8]>,
    name: Option<&'a [u8]>,
) -> (Option<Cow<'a, str>>, Option<Cow<'a, str>>) {
    if num.is_none() && name.is_none() {
        return (None, None);
    }
    let value = |v: Option<&'a [u8]>| {
        let v = v.map(|v| v.trim_ascii()).unwrap_or_default();
        if v == b"<unknown>" {
            Cow::Borrowed("")
        } else {
            String::from_utf8_lossy(v)
        }
    };
    (Some(value(num)), Some(value(name)))
}

/// Events naming channels of different calls without joining them: a supervisor
/// spying on a call is not part of it.
const SEPARATE_SNAPSHOTS: &[&str] = &["ChanSpyStart", "ChanSpyStop"];

/// Items of list actions, which snapshot channels without being call events.
const LIST_ITEM_EVENTS: &[&str] = &[
    "CoreShowChannel",
    "CoreShowChannelsComplete",
    "Status",
    "StatusComplete",
    "ChannelHungup",
    "ChannelsHungupListComplete",
    "BridgeListItem",
    "BridgeInfoChannel",
    "BridgeInfoComplete",
    "QueueMember",
    "QueueEntry",
    "QueueParams",
];

fn strip_suffix_ignore_case<'a>(key: &'a [u8], suffix: &[u8]) -> Option<&'a [u8]> {
    let cut = key.len().checked_sub(suffix.len())?;
    key[cut..]
        .eq_ignore_ascii_case(suffix)
        .then_some(&key[..cut])
}

/// `1795893142.16` → (1795893142, 16): the order Asterisk created channels in.
fn uniqueid_order(uniqueid: &str) -> (u64, u64) {
    let (secs, seq) = uniqueid.split_once('.').unwrap_or((uniqueid, "0"));
    (
        secs.parse().unwrap_or(u64::MAX),
        seq.parse().unwrap_or(u64::MAX),
    )
}

/// `Local/x@ctx-00000001;1` → `Local/x@ctx-00000001`: what both halves share.
fn local_base(name: &str) -> Option<&str> {
    if !name.get(..6)?.eq_ignore_ascii_case("Local/") {
        return None;
    }
    name.strip_suffix(";1").or_else(|| name.strip_suffix(";2"))
}

fn text(msg: &Message, key: &str) -> Option<String> {
    msg.get(key)
        .map(|v| String::from_utf8_lossy(v).trim().to_string())
}

/// A caller ID field: `<unknown>` is Asterisk's way of saying empty.
fn party_text(msg: &Message, key: &str) -> String {
    text(msg, key)
        .filter(|v| v != "<unknown>")
        .unwrap_or_default()
}

/// A value written so the filter language reads it literally: every character that is
/// not plainly safe gets a backslash.
fn filter_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if !(c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '@' | ';' | ':' | '+')) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One line about an event for the call's timeline: its name and what matters in it.
pub fn event_summary(msg: &Message) -> String {
    let name = msg
        .event_name()
        .map(String::from_utf8_lossy)
        .unwrap_or_default()
        .into_owned();
    let get = |k: &str| text(msg, k).unwrap_or_default();
    let detail = match name.as_str() {
        "Newchannel" | "Newstate" => get("ChannelStateDesc"),
        "Newexten" => format!(
            "{},{},{} {}({})",
            get("Context"),
            get("Exten"),
            get("Priority"),
            get("Application"),
            get("AppData")
        ),
        "VarSet" => format!("{}={}", get("Variable"), get("Value")),
        "DialBegin" => format!("→ {} {}", get("DestChannel"), get("DialString")),
        "DialEnd" => format!("{} {}", get("DestChannel"), get("DialStatus")),
        "DialState" => format!("{} {}", get("DestChannel"), get("DialStatus")),
        "BridgeEnter" | "BridgeLeave" | "BridgeCreate" | "BridgeDestroy" => {
            format!("{} {}", get("BridgeUniqueid"), get("BridgeTechnology"))
        }
        "LocalBridge" => format!("{} ↔ {}", get("LocalOneChannel"), get("LocalTwoChannel")),
        "Hangup" | "HangupRequest" | "SoftHangupRequest" => {
            format!("{} {}", get("Cause"), get("Cause-txt"))
        }
        "NewCallerid" => Party {
            num: party_text(msg, "CallerIDNum"),
            name: party_text(msg, "CallerIDName"),
        }
        .display(),
        "NewConnectedLine" => Party {
            num: party_text(msg, "ConnectedLineNum"),
            name: party_text(msg, "ConnectedLineName"),
        }
        .display(),
        "DTMFBegin" | "DTMFEnd" => format!("{} {}", get("Digit"), get("Direction")),
        "OriginateResponse" => format!("{} {}", get("Response"), get("Reason")),
        _ => String::new(),
    };
    let channel = get("Channel");
    let mut out = name;
    if !channel.is_empty() {
        out.push_str("  ");
        out.push_str(&channel);
    }
    let detail = detail.trim();
    if !detail.is_empty() {
        out.push_str("  ");
        out.push_str(detail);
    }
    out
}
