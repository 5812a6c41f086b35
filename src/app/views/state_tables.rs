//! The tables of the PBX's state (`crate::state`): channels (live first, then the
//! recently ended with how they ended), queue members and waiting callers, endpoints
//! with their contacts, bridges with their members. A list the login may not ask for
//! is said as such (`CoreShowChannels needs write=system`), never an empty table.

use super::actions::{self, RowAction};
use super::calls::clock_duration;
use super::{Column, RowTone, SortKey, TableData, TableRow, ViewKind};
use crate::app::App;
use crate::state::{Channel, ListKind, ListStatus, State};
use std::time::SystemTime;

/// Separates the parts of a row key (`queue`, `interface`).
const SEP: char = '\u{1f}';

pub fn table(app: &App, kind: ViewKind) -> TableData {
    let now = app.calls_now();
    let state = &app.state;
    let mut data = match kind {
        ViewKind::Channels => channels(state, now),
        ViewKind::Queues => queues(state, now),
        ViewKind::Endpoints => endpoints(state),
        ViewKind::Bridges => bridges(state, now),
        ViewKind::Calls => super::calls::table(state.calls(), now),
    };
    let lists: &[ListKind] = match kind {
        ViewKind::Channels => &[ListKind::Channels],
        ViewKind::Queues => &[ListKind::Queues],
        ViewKind::Endpoints => &[ListKind::Endpoints, ListKind::SipPeers],
        ViewKind::Bridges => &[ListKind::Bridges],
        ViewKind::Calls => &[],
    };
    if let Some(why) = refused(state, lists) {
        if data.rows.is_empty() {
            data.unavailable = Some(why);
        } else {
            let summary = data.summary.take().unwrap_or_default();
            data.summary = Some(format!("{summary} · incomplete: {why}"));
        }
    }
    data
}

/// Why the lists behind a view were refused, when every one asked was (an endpoint
/// view is fine with PJSIP refused as unknown when `SIPpeers` answered).
fn refused(state: &State, lists: &[ListKind]) -> Option<String> {
    let mut reasons = Vec::new();
    for kind in lists {
        match state.list_status(*kind) {
            Some(ListStatus::Denied { .. }) => {
                reasons.push(format!("{} {}", kind.action(), kind.needs_label()))
            }
            Some(ListStatus::Failed { message }) => {
                reasons.push(format!("{} failed: {message}", kind.action()))
            }
            Some(ListStatus::Unsupported { .. }) | None => {}
            Some(ListStatus::Complete { .. }) | Some(ListStatus::Collecting { .. }) => return None,
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

pub const CHANNEL_COLUMNS: [Column; 8] = [
    Column::fill("Channel", 3).of_channels(),
    Column::fixed("State", 8),
    Column::fixed("Dur", 8),
    Column::fill("Caller", 2),
    Column::fill("Connected", 2).hidden_below(100),
    Column::fill("Context,Exten,Prio", 2),
    Column::fill("Application", 2),
    Column::fill("Bridge", 1).hidden_below(120),
];

fn channels(state: &State, now: SystemTime) -> TableData {
    let live = state.channels();
    let ended: Vec<&Channel> = state.ended_channels().collect();
    let mut rows: Vec<TableRow> = live.iter().map(|c| channel_row(c, now)).collect();
    rows.extend(ended.iter().rev().map(|c| channel_row(c, now)));
    let mut summary = format!("{} live · {} ended", live.len(), ended.len());
    if state.evicted_channels() > 0 {
        summary.push_str(&format!(" ({} older not kept)", state.evicted_channels()));
    }
    TableData {
        kind: ViewKind::Channels,
        columns: CHANNEL_COLUMNS.to_vec(),
        rows,
        unavailable: None,
        empty: "No channel up. Channels appear from the snapshot taken at login \
                (CoreShowChannels) and from events."
            .into(),
        summary: Some(summary),
    }
}

fn channel_row(c: &Channel, now: SystemTime) -> TableRow {
    let live = c.is_live();
    let duration = c.duration(now);
    let location = [c.context.as_str(), &c.exten, &c.priority]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(",");
    let application = if c.app_data.is_empty() {
        c.application.clone()
    } else {
        format!("{}({})", c.application, c.app_data)
    };
    let state = match &c.ended {
        Some(_) => "ended".to_string(),
        None => c.state.clone(),
    };
    let mut detail = vec![
        ("Channel".to_string(), c.name.clone()),
        ("Uniqueid".to_string(), c.uniqueid.clone()),
        ("Linkedid".to_string(), c.linkedid.clone()),
        ("State".to_string(), c.state.clone()),
        (
            "Duration".to_string(),
            format!(
                "{}{}",
                clock_duration(duration),
                if c.start_known { "" } else { " (at least)" }
            ),
        ),
        ("Caller".to_string(), c.caller.display()),
        ("Connected".to_string(), c.connected.display()),
        ("Context".to_string(), c.context.clone()),
        ("Exten".to_string(), c.exten.clone()),
        ("Priority".to_string(), c.priority.clone()),
        ("Application".to_string(), application.clone()),
        ("Bridge".to_string(), c.bridge.clone().unwrap_or_default()),
        ("AccountCode".to_string(), c.account_code.clone()),
    ];
    if let Some(end) = &c.ended {
        detail.push(("Ended".to_string(), end.reason.label()));
    }
    detail.retain(|(_, v)| !v.is_empty());
    TableRow {
        key: c.uniqueid.clone(),
        group: u8::from(!live),
        cells: vec![
            c.name.clone(),
            state,
            clock_duration(duration),
            c.caller.display(),
            c.connected.display(),
            location,
            application,
            c.bridge.clone().unwrap_or_default(),
        ],
        sort: vec![
            SortKey::text(&c.name),
            SortKey::text(&c.state),
            SortKey::Number(duration.as_secs() as i64),
        ],
        tone: if live { RowTone::Live } else { RowTone::Ended },
        detail,
    }
}

pub const QUEUE_COLUMNS: [Column; 8] = [
    Column::fill("Queue", 2),
    Column::fill("Member / caller", 2),
    Column::fill("Interface", 3).of_channels(),
    Column::fixed("Status", 12),
    Column::fill("Paused", 2),
    Column::fixed("Pen", 4),
    Column::fixed("Calls", 6),
    Column::fixed("In call", 7).hidden_below(100),
];

fn queues(state: &State, now: SystemTime) -> TableData {
    let mut rows = Vec::new();
    let mut members = 0;
    let mut callers = 0;
    for queue in state.queues() {
        let params = vec![
            ("Queue".to_string(), queue.name.clone()),
            ("Strategy".to_string(), queue.strategy.clone()),
            ("Max".to_string(), queue.max.to_string()),
            ("Completed".to_string(), queue.completed.to_string()),
            ("Abandoned".to_string(), queue.abandoned.to_string()),
            ("Holdtime".to_string(), format!("{} s", queue.holdtime)),
            ("Talktime".to_string(), format!("{} s", queue.talktime)),
            (
                "ServiceLevel".to_string(),
                format!(
                    "{} s ({:.1} %)",
                    queue.service_level, queue.service_level_perf
                ),
            ),
            ("Weight".to_string(), queue.weight.to_string()),
            ("Callers".to_string(), queue.callers.len().to_string()),
        ];
        for caller in &queue.callers {
            callers += 1;
            let wait = caller.wait(now);
            let who = match caller.caller.display() {
                w if w.is_empty() => caller.channel.clone(),
                w => w,
            };
            let mut detail = params.clone();
            detail.extend([
                ("Caller".to_string(), who.clone()),
                ("Channel".to_string(), caller.channel.clone()),
                ("Position".to_string(), caller.position.to_string()),
                ("Wait".to_string(), clock_duration(wait)),
            ]);
            rows.push(TableRow {
                key: format!("c{SEP}{}{SEP}{}", queue.name, caller.uniqueid),
                group: 0,
                cells: vec![
                    queue.name.clone(),
                    format!("#{} {who}", caller.position),
                    caller.channel.clone(),
                    format!("waiting {}", clock_duration(wait)),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ],
                sort: vec![
                    SortKey::text(&queue.name),
                    SortKey::text(&who),
                    SortKey::text(&caller.channel),
                    SortKey::text("waiting"),
                ],
                tone: RowTone::Warn,
                detail,
            });
        }
        for member in queue.members.values() {
            members += 1;
            let paused = if !member.paused {
                String::new()
            } else if member.paused_reason.is_empty() {
                "paused".to_string()
            } else {
                format!("paused: {}", member.paused_reason)
            };
            let mut detail = vec![
                ("Member".to_string(), member.name.clone()),
                ("Interface".to_string(), member.interface.clone()),
                ("StateInterface".to_string(), member.state_interface.clone()),
                ("Membership".to_string(), member.membership.clone()),
                ("Status".to_string(), member.status.label().to_string()),
                ("Paused".to_string(), paused.clone()),
                ("Penalty".to_string(), member.penalty.to_string()),
                ("CallsTaken".to_string(), member.calls_taken.to_string()),
                ("LastCall".to_string(), member.last_call.to_string()),
                ("InCall".to_string(), yes_no(member.in_call).to_string()),
            ];
            detail.retain(|(_, v)| !v.is_empty());
            detail.extend(params.iter().cloned());
            rows.push(TableRow {
                key: format!("m{SEP}{}{SEP}{}", queue.name, member.interface),
                group: 0,
                cells: vec![
                    queue.name.clone(),
                    member.name.clone(),
                    member.interface.clone(),
                    member.status.label().to_string(),
                    paused,
                    member.penalty.to_string(),
                    member.calls_taken.to_string(),
                    yes_no(member.in_call).to_string(),
                ],
                sort: vec![
                    SortKey::text(&queue.name),
                    SortKey::text(&member.name),
                    SortKey::text(&member.interface),
                    SortKey::text(member.status.label()),
                    SortKey::Number(i64::from(member.paused)),
                    SortKey::Number(member.penalty),
                    SortKey::Number(member.calls_taken as i64),
                    SortKey::Number(i64::from(member.in_call)),
                ],
                tone: if member.paused {
                    RowTone::Warn
                } else {
                    RowTone::Plain
                },
                detail,
            });
        }
        if queue.members.is_empty() && queue.callers.is_empty() {
            rows.push(TableRow {
                key: format!("q{SEP}{}", queue.name),
                group: 0,
                cells: vec![queue.name.clone(), "(no members)".into()],
                sort: vec![SortKey::text(&queue.name)],
                tone: RowTone::Ended,
                detail: params,
            });
        }
    }
    let count = state.queues().count();
    TableData {
        kind: ViewKind::Queues,
        columns: QUEUE_COLUMNS.to_vec(),
        rows,
        unavailable: None,
        empty: "No queue. Queues appear from the snapshot taken at login (QueueStatus).".into(),
        summary: Some(format!(
            "{count} queues · {members} members · {callers} waiting"
        )),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

pub const ENDPOINT_COLUMNS: [Column; 6] = [
    Column::fill("Endpoint", 2),
    Column::fixed("State", 14),
    Column::fixed("Ch", 3),
    Column::fill("Contact", 4),
    Column::fixed("RTT", 8),
    Column::fill("AORs / address", 2).hidden_below(100),
];

fn endpoints(state: &State) -> TableData {
    let rows: Vec<TableRow> = state
        .endpoints()
        .map(|e| {
            let key = e.key();
            let first = e.contacts.first();
            let contact = match (first, e.contacts.len()) {
                (None, _) => String::new(),
                (Some(c), 1) => format!("{} {}", c.status, c.uri),
                (Some(c), n) => format!("{} {} (+{})", c.status, c.uri, n - 1),
            };
            let rtt = first
                .and_then(|c| c.rtt)
                .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
                .unwrap_or_default();
            let place = if e.aors.is_empty() {
                e.address.clone()
            } else {
                e.aors.clone()
            };
            let unavailable = e.state.to_ascii_lowercase().contains("unavailable")
                || e.state.to_ascii_lowercase().contains("unreachable");
            let mut detail = vec![
                ("Endpoint".to_string(), key.clone()),
                ("State".to_string(), e.state.clone()),
                ("AORs".to_string(), e.aors.clone()),
                ("Auths".to_string(), e.auths.clone()),
                ("Address".to_string(), e.address.clone()),
                (
                    "Channels".to_string(),
                    e.active_channels.map(|n| n.to_string()).unwrap_or_default(),
                ),
            ];
            for c in &e.contacts {
                let rtt = c
                    .rtt
                    .map(|d| format!(" {:.1} ms", d.as_secs_f64() * 1000.0))
                    .unwrap_or_default();
                detail.push((
                    "Contact".to_string(),
                    format!("{} {}{rtt} {}", c.uri, c.status, c.user_agent),
                ));
            }
            detail.retain(|(_, v)| !v.trim().is_empty());
            TableRow {
                key: key.clone(),
                group: 0,
                cells: vec![
                    key.clone(),
                    e.state.clone(),
                    e.active_channels.map(|n| n.to_string()).unwrap_or_default(),
                    contact,
                    rtt,
                    place,
                ],
                sort: vec![
                    SortKey::text(&key),
                    SortKey::text(&e.state),
                    SortKey::Number(i64::from(e.active_channels.unwrap_or(0))),
                    SortKey::text(first.map_or("", |c| c.status.as_str())),
                    SortKey::Number(
                        first
                            .and_then(|c| c.rtt)
                            .map_or(i64::MAX, |d| d.as_micros() as i64),
                    ),
                ],
                tone: if unavailable {
                    RowTone::Ended
                } else {
                    RowTone::Plain
                },
                detail,
            }
        })
        .collect();
    TableData {
        kind: ViewKind::Endpoints,
        columns: ENDPOINT_COLUMNS.to_vec(),
        rows,
        unavailable: None,
        empty: "No endpoint. Endpoints appear from the snapshot taken at login \
                (PJSIPShowEndpoints and PJSIPShowContacts, or SIPpeers)."
            .into(),
        summary: None,
    }
}

pub const BRIDGE_COLUMNS: [Column; 6] = [
    Column::fill("Bridge", 3),
    Column::fixed("Type", 9),
    Column::fill("Technology", 1),
    Column::fixed("Ch", 3),
    Column::fill("Members", 4).of_channels(),
    Column::fixed("Seen", 8),
];

fn bridges(state: &State, now: SystemTime) -> TableData {
    let rows = state
        .bridges()
        .iter()
        .map(|b| {
            let members = state.bridge_members(&b.id);
            let names: Vec<&str> = members.iter().map(|c| c.name.as_str()).collect();
            let age = now.duration_since(b.seen).unwrap_or_default();
            let mut detail = vec![
                ("Bridge".to_string(), b.id.clone()),
                ("Type".to_string(), b.bridge_type.clone()),
                ("Technology".to_string(), b.technology.clone()),
                ("Creator".to_string(), b.creator.clone()),
                ("Name".to_string(), b.name.clone()),
            ];
            for name in &names {
                detail.push(("Member".to_string(), name.to_string()));
            }
            detail.retain(|(_, v)| !v.is_empty());
            TableRow {
                key: b.id.clone(),
                group: 0,
                cells: vec![
                    b.id.clone(),
                    b.bridge_type.clone(),
                    b.technology.clone(),
                    members.len().to_string(),
                    names.join(" "),
                    clock_duration(age),
                ],
                sort: vec![
                    SortKey::text(&b.id),
                    SortKey::text(&b.bridge_type),
                    SortKey::text(&b.technology),
                    SortKey::Number(members.len() as i64),
                    SortKey::text(&names.join(" ")),
                    SortKey::Number(age.as_secs() as i64),
                ],
                tone: if members.is_empty() {
                    RowTone::Ended
                } else {
                    RowTone::Live
                },
                detail,
            }
        })
        .collect();
    TableData {
        kind: ViewKind::Bridges,
        columns: BRIDGE_COLUMNS.to_vec(),
        rows,
        unavailable: None,
        empty: "No bridge. Bridges appear from the snapshot taken at login (BridgeList) \
                and from events."
            .into(),
        summary: None,
    }
}

/// What the row `key` of a state table offers.
pub fn actions(app: &App, kind: ViewKind, key: &str) -> Vec<RowAction> {
    let state = &app.state;
    match kind {
        ViewKind::Channels => channel_actions(app, key),
        ViewKind::Queues => {
            let mut parts = key.split(SEP);
            match (parts.next(), parts.next(), parts.next()) {
                (Some("m"), Some(queue), Some(interface)) => {
                    let paused = state
                        .queue(queue)
                        .and_then(|q| q.members.values().find(|m| m.interface == interface))
                        .is_some_and(|m| m.paused);
                    actions::queue_member(queue, interface, paused)
                }
                (Some("c"), Some(_), Some(uniqueid)) => channel_actions(app, uniqueid),
                _ => Vec::new(),
            }
        }
        ViewKind::Endpoints => match state.endpoint(key) {
            Some(e) if e.technology == crate::state::Technology::Pjsip => {
                actions::endpoint(&e.name)
            }
            _ => Vec::new(),
        },
        ViewKind::Bridges | ViewKind::Calls => Vec::new(),
    }
}

/// The channel actions on the live channel `uniqueid`, as the calls model knows it.
fn channel_actions(app: &App, uniqueid: &str) -> Vec<RowAction> {
    let channel = app
        .state
        .calls()
        .call_of_uniqueid(uniqueid)
        .and_then(|call| call.channels().iter().find(|c| c.uniqueid == uniqueid));
    match channel {
        Some(channel) if channel.is_live() => actions::channel(channel),
        _ => Vec::new(),
    }
}
