//! The calls table: one row per call, live calls first (always, whatever the sort),
//! with its first channel and how many it has, the channel's name where no caller ID
//! is known, and its true duration from the calls model.

use super::{Column, RowTone, SortKey, TableData, TableRow, ViewKind};
use crate::calls::{Call, Calls, Hangup};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const COLUMNS: [Column; 9] = [
    Column::fixed("Start", 8),
    Column::fixed("Dur", 7),
    Column::fill("Caller", 3),
    Column::fill("Callee", 2),
    Column::fill("Channel", 3).of_channels(),
    Column::fixed("Ch", 4),
    Column::fixed("State", 8),
    Column::fixed("Last event", 11).hidden_below(90),
    Column::fill("Cause", 2),
];

/// The row key of a call (its model id).
pub fn key(id: crate::calls::CallId) -> String {
    id.to_string()
}

pub fn table(calls: &Calls, now: SystemTime) -> TableData {
    let list = calls.ordered();
    let live = list.iter().filter(|c| c.is_live()).count();
    let mut summary = format!("{live} live · {} ended", list.len() - live);
    if calls.evicted_calls() > 0 {
        summary.push_str(&format!(" ({} older not kept)", calls.evicted_calls()));
    }
    TableData {
        kind: ViewKind::Calls,
        columns: COLUMNS.to_vec(),
        rows: list.iter().map(|call| row(call, now)).collect(),
        unavailable: None,
        empty: "No calls yet. Calls appear as their events arrive (Newchannel, Dial, Bridge, \
                Hangup): events must be on for this login."
            .into(),
        summary: Some(summary),
    }
}

fn row(call: &Call, now: SystemTime) -> TableRow {
    let live = call.is_live();
    let mut state = call.state().label().to_string();
    if call.missed_events() && live {
        state.push('?');
    }
    let channels = call.channels();
    let first = channels.first().map_or("", |c| c.name.as_str());
    let live_channels = channels.iter().filter(|c| c.is_live()).count();
    let count = if live {
        format!("{live_channels}/{}", channels.len())
    } else {
        channels.len().to_string()
    };
    let caller = match call.caller().display() {
        c if c.is_empty() => first.to_string(),
        c => c,
    };
    let callee = match call.callee().display() {
        c if c.is_empty() => "?".to_string(),
        c => c,
    };
    let duration = call.duration(now);
    let cause = call.cause().map(cause_text).unwrap_or_default();
    let last = call.last_event().map_or("", |(name, _)| name).to_string();
    let mut detail = vec![
        ("State".to_string(), state.clone()),
        ("Linkedid".to_string(), call.linkedids().join(", ")),
        ("Duration".to_string(), clock_duration(duration)),
    ];
    if !cause.is_empty() {
        detail.push(("Cause".to_string(), cause.clone()));
    }
    for channel in channels {
        let status = match &channel.hangup {
            Some(h) => format!("hung up: {}", cause_text(h)),
            None if channel.bridge.is_some() => format!("{} · bridged", channel.state),
            None => channel.state.clone(),
        };
        detail.push((channel.name.clone(), status));
    }
    for bridge in call.bridges() {
        detail.push(("Bridge".to_string(), bridge.clone()));
    }
    TableRow {
        key: key(call.id),
        group: u8::from(!live),
        cells: vec![
            clock(call.start),
            clock_duration(duration),
            caller.clone(),
            callee.clone(),
            first.to_string(),
            count,
            state.clone(),
            last,
            cause,
        ],
        sort: vec![
            SortKey::Number(secs_since_epoch(call.start)),
            SortKey::Number(duration.as_secs() as i64),
            SortKey::text(&caller),
            SortKey::text(&callee),
            SortKey::text(first),
            SortKey::Number(live_channels as i64 * 1000 + channels.len() as i64),
            SortKey::text(&state),
        ],
        tone: if live { RowTone::Live } else { RowTone::Ended },
        detail,
    }
}

/// `16 Normal Clearing`.
pub fn cause_text(h: &Hangup) -> String {
    let code = h.code.map(|c| c.to_string()).unwrap_or_default();
    format!("{code} {}", h.text).trim().to_string()
}

fn secs_since_epoch(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64
}

/// `HH:MM:SS` (UTC) of a time.
pub fn clock(at: SystemTime) -> String {
    let day = secs_since_epoch(at) % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// `m:ss`, or `h:mm:ss` past an hour.
pub fn clock_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::Message;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    fn newchannel(name: &str, id: &str, num: &str) -> Message {
        Message::from_headers(&[
            ("Event", "Newchannel"),
            ("Channel", name),
            ("ChannelStateDesc", "Ring"),
            ("CallerIDNum", num),
            ("Exten", "2000"),
            ("Uniqueid", id),
            ("Linkedid", id),
        ])
    }

    #[test]
    fn live_calls_come_first_and_a_call_without_caller_id_shows_its_channel() {
        let mut calls = Calls::default();
        calls.apply(at(0), &newchannel("PJSIP/old-00000001", "1.1", "1001"));
        calls.apply(
            at(2),
            &Message::from_headers(&[
                ("Event", "Hangup"),
                ("Channel", "PJSIP/old-00000001"),
                ("Uniqueid", "1.1"),
                ("Linkedid", "1.1"),
                ("Cause", "16"),
                ("Cause-txt", "Normal Clearing"),
            ]),
        );
        calls.apply(at(5), &newchannel("Local/long@test-00000002;1", "2.1", ""));
        let data = table(&calls, at(65));
        let mut view = super::super::TableView::new(ViewKind::Calls);
        // Sorted by start, newest last: the ended call is older, yet the live one leads.
        view.sort = Some(0);
        let rows = super::super::visible(&data, &view);
        assert_eq!(rows[0].cells[2], "Local/long@test-00000002;1");
        assert_eq!(rows[0].cells[1], "1:00");
        assert_eq!(rows[0].cells[4], "Local/long@test-00000002;1");
        assert_eq!(rows[1].cells[8], "16 Normal Clearing");
        view.descending = true;
        let rows = super::super::visible(&data, &view);
        assert_eq!(rows[0].tone, RowTone::Live);
        assert_eq!(data.summary.as_deref(), Some("1 live · 1 ended"));
    }
}
