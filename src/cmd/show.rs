//! `amicon show channels|calls|queues|endpoints`: log in, let the session seed the state
//! model (the lists it asks after login), print that state as a table or JSON Lines, log
//! off. It replaces the `asterisk -rx 'core show channels' | sed` scrapers fed to
//! monitoring. With `--open FILE` it prints the state at the end of a recording instead.
//!
//! FILTER words keep the rows whose JSON object contains every word, in any case: a
//! plain substring match over every field, so `show queues support` and
//! `show channels PJSIP/100` do what one expects without learning a language.

use super::{warn, EXIT_ACTION_ERROR, EXIT_CANNOT_CONNECT, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE};
use crate::cli::{ShowArgs, ShowWhat};
use crate::session::{self, SessionEvent, SessionState, Stamped};
use crate::state::{ListKind, ListStatus, State, StateConfig};
use serde_json::{json, Value};
use std::io::{BufWriter, Write};
use std::time::{Duration, SystemTime};

/// How long the final `Logoff` may take before we leave anyway.
const LOGOFF_GRACE: Duration = Duration::from_secs(2);

/// Runs `amicon show`; returns the exit code.
pub async fn run(what: ShowWhat) -> i32 {
    let args = what.args().clone();
    let (state, now, filter) = match &args.open {
        Some(file) => match from_recording(file, &args) {
            Ok(x) => x,
            Err(code) => return code,
        },
        None => match from_server(&args).await {
            Ok((state, now)) => (state, now, args.filter.clone()),
            Err(code) => return code,
        },
    };
    let refused = refusals(&what, &state, args.open.is_some());
    for line in &refused {
        warn(line);
    }
    let rows: Vec<Value> = rows(&what, &state, now)
        .into_iter()
        .filter(|row| matches(row, &filter))
        .collect();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let written = if args.json {
        rows.iter()
            .try_for_each(|row| writeln!(out, "{row}"))
            .and_then(|()| out.flush())
    } else {
        write_table(&mut out, &what, &rows).and_then(|()| out.flush())
    };
    if let Err(e) = written {
        if !super::is_closed_pipe(&e) {
            warn(format!("cannot write the table: {e}"));
            return EXIT_ACTION_ERROR;
        }
    }
    if refused.is_empty() {
        EXIT_OK
    } else {
        EXIT_ACTION_ERROR
    }
}

/// The state at the end of a recording, its last time as "now".
fn from_recording(
    file: &std::path::Path,
    args: &ShowArgs,
) -> Result<(State, SystemTime, Vec<String>), i32> {
    let bytes = std::fs::read(file).map_err(|e| {
        warn(format!("cannot read {}: {e}", file.display()));
        EXIT_USAGE
    })?;
    let recording = crate::record::read(&bytes);
    let mut state = State::new(StateConfig::default());
    for entry in &recording.entries {
        state.apply(entry);
    }
    let now = state.last_at().unwrap_or(SystemTime::UNIX_EPOCH);
    // Without a connection the first positional word is a filter, not a TARGET.
    let mut filter: Vec<String> = args.connect.target.iter().cloned().collect();
    filter.extend(args.filter.iter().cloned());
    Ok((state, now, filter))
}

/// Logs in with seeding on, applies everything until every list has answered.
async fn from_server(args: &ShowArgs) -> Result<(State, SystemTime), i32> {
    let resolved = super::resolve(&args.connect)?;
    let mut config = resolved.session;
    // The lists are the answer; events only when asked for (they would only be
    // applied, never printed).
    if args.connect.events.is_none() {
        config.events = "off".into();
    }
    config.reconnect = false;
    config.retry_first_connect = false;
    config.query_versions = false;
    config.seed_state = true;
    // Each list has the action timeout; past that (plus login), give up.
    let deadline = tokio::time::Instant::now()
        + config.connect_timeout
        + config.login_timeout
        + config.action_timeout
        + Duration::from_secs(2);
    let (handle, mut stream) = session::spawn(config);
    let mut state = State::new(StateConfig::default());
    let mut logged_in = false;
    let mut batch = Vec::new();
    let outcome = loop {
        if logged_in && all_answered(&state) {
            break Ok(());
        }
        let received = tokio::time::timeout_at(deadline, stream.recv_batch(&mut batch)).await;
        match received {
            Err(_) => {
                warn("no complete answer to the state lists in time");
                break Err(EXIT_TIMEOUT);
            }
            Ok(false) => {
                warn("the session ended before the lists were answered");
                break Err(EXIT_CANNOT_CONNECT);
            }
            Ok(true) => {}
        }
        let mut ended = None;
        for entry in batch.drain(..) {
            match &entry.event {
                SessionEvent::State(SessionState::LoggedIn { .. }) => logged_in = true,
                SessionEvent::State(SessionState::Ended(reason)) => {
                    ended = Some(reason.clone());
                }
                _ => {}
            }
            state.apply(&entry);
        }
        if let Some(reason) = ended {
            warn(&reason);
            break Err(reason.exit_code().max(EXIT_CANNOT_CONNECT));
        }
    };
    let _ = tokio::time::timeout(LOGOFF_GRACE, handle.logoff()).await;
    outcome.map(|()| (state, SystemTime::now()))
}

/// Every list the session asks has answered (completed, refused or failed).
fn all_answered(state: &State) -> bool {
    ListKind::ALL.iter().all(|k| {
        state
            .list_status(*k)
            .is_some_and(|s| !matches!(s, ListStatus::Collecting { .. }))
    })
}

/// The lists a table is made of.
fn lists_of(what: &ShowWhat) -> &'static [ListKind] {
    match what {
        ShowWhat::Channels(_) | ShowWhat::Calls(_) => &[ListKind::Channels],
        ShowWhat::Queues(_) => &[ListKind::Queues],
        ShowWhat::Endpoints(_) => &[ListKind::Endpoints, ListKind::Contacts, ListKind::SipPeers],
    }
}

/// What to tell the user about the lists behind this table that did not complete.
fn refusals(what: &ShowWhat, state: &State, from_file: bool) -> Vec<String> {
    let kinds = lists_of(what);
    let mut out = Vec::new();
    let any_complete = kinds
        .iter()
        .any(|k| matches!(state.list_status(*k), Some(ListStatus::Complete { .. })));
    for kind in kinds {
        let action = kind.action();
        match state.list_status(*kind) {
            Some(ListStatus::Denied { message }) => out.push(format!(
                "{}: {action} refused ({message}): the login {}",
                what.name(),
                kind.needs_label()
            )),
            Some(ListStatus::Failed { message }) => {
                out.push(format!("{}: {action} failed: {message}", what.name()))
            }
            // PJSIP without chan_sip (or the reverse) is normal: only when nothing
            // answered is it worth a word.
            Some(ListStatus::Unsupported { message }) if !any_complete => {
                out.push(format!("{}: {action}: {message}", what.name()))
            }
            None if from_file && *kind == kinds[0] => out.push(format!(
                "{}: the recording holds no {action} answer: the table shows only what its events said",
                what.name()
            )),
            _ => {}
        }
    }
    if from_file {
        // A recording without the seeding lists is still worth printing.
        out.retain(|l| !l.contains("holds no"));
    }
    out
}

fn matches(row: &Value, filter: &[String]) -> bool {
    if filter.is_empty() {
        return true;
    }
    let text = row.to_string().to_lowercase();
    filter.iter().all(|w| text.contains(&w.to_lowercase()))
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

/// One JSON object per row.
pub fn rows(what: &ShowWhat, state: &State, now: SystemTime) -> Vec<Value> {
    match what {
        ShowWhat::Channels(_) => state
            .channels()
            .into_iter()
            .map(|c| {
                json!({
                    "channel": c.name,
                    "uniqueid": c.uniqueid,
                    "linkedid": c.linkedid,
                    "state": c.state,
                    "state_code": c.state_code,
                    "duration_s": secs(c.duration(now)),
                    "caller_num": c.caller.num,
                    "caller_name": c.caller.name,
                    "connected_num": c.connected.num,
                    "connected_name": c.connected.name,
                    "context": c.context,
                    "exten": c.exten,
                    "priority": c.priority,
                    "application": c.application,
                    "app_data": c.app_data,
                    "bridge": c.bridge,
                    "account_code": c.account_code,
                })
            })
            .collect(),
        ShowWhat::Calls(_) => state
            .calls()
            .ordered()
            .into_iter()
            .map(|call| {
                let channels: Vec<&str> = call.channels().iter().map(|c| c.name.as_str()).collect();
                let live_channels = call.channels().iter().filter(|c| c.is_live()).count();
                json!({
                    "linkedid": call.linkedid(),
                    "live": call.is_live(),
                    "state": call.state_label(),
                    "channels": channels,
                    "live_channels": live_channels,
                    "duration_s": secs(call.duration(now)),
                    "caller": call.caller_label(),
                    "callee": call.callee().display(),
                    "cause": call.cause().map(|h| match h.code {
                        Some(c) => format!("{c} {}", h.text).trim_end().to_string(),
                        None => h.text.clone(),
                    }),
                    "failed": call.failure().is_some(),
                })
            })
            .collect(),
        ShowWhat::Queues(_) => state
            .queues()
            .map(|q| {
                let members: Vec<Value> = q
                    .members
                    .values()
                    .map(|m| {
                        json!({
                            "interface": m.interface,
                            "name": m.name,
                            "status": m.status.label(),
                            "paused": m.paused,
                            "paused_reason": m.paused_reason,
                            "penalty": m.penalty,
                            "calls_taken": m.calls_taken,
                            "last_call": m.last_call,
                            "in_call": m.in_call,
                            "membership": m.membership,
                        })
                    })
                    .collect();
                let callers: Vec<Value> = q
                    .callers
                    .iter()
                    .map(|c| {
                        json!({
                            "position": c.position,
                            "channel": c.channel,
                            "uniqueid": c.uniqueid,
                            "caller": c.caller.display(),
                            "wait_s": secs(c.wait(now)),
                        })
                    })
                    .collect();
                json!({
                    "queue": q.name,
                    "strategy": q.strategy,
                    "members": members,
                    "callers": callers,
                    "completed": q.completed,
                    "abandoned": q.abandoned,
                    "holdtime_s": q.holdtime,
                    "talktime_s": q.talktime,
                })
            })
            .collect(),
        ShowWhat::Endpoints(_) => state
            .endpoints()
            .map(|e| {
                let contacts: Vec<Value> = e
                    .contacts
                    .iter()
                    .map(|c| {
                        json!({
                            "uri": c.uri,
                            "aor": c.aor,
                            "status": c.status,
                            "rtt_ms": c.rtt.map(|d| d.as_secs_f64() * 1000.0),
                        })
                    })
                    .collect();
                json!({
                    "endpoint": e.key(),
                    "technology": e.technology.label(),
                    "name": e.name,
                    "state": e.state,
                    "contacts": contacts,
                    "aors": e.aors,
                    "auths": e.auths,
                    "address": e.address,
                    "active_channels": e.active_channels,
                })
            })
            .collect(),
    }
}

/// `1:02:03` / `2:03`.
fn clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

fn field(row: &Value, key: &str) -> String {
    match &row[key] {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The table: one header line, one line per row (queues add a line per member and
/// caller), columns as wide as their widest cell.
fn write_table(out: &mut impl Write, what: &ShowWhat, rows: &[Value]) -> std::io::Result<()> {
    let (header, lines): (Vec<&str>, Vec<Vec<String>>) = match what {
        ShowWhat::Channels(_) => (
            vec![
                "CHANNEL",
                "STATE",
                "TIME",
                "CALLER ID",
                "LOCATION",
                "APPLICATION",
                "BRIDGE",
                "UNIQUEID",
                "LINKEDID",
            ],
            rows.iter()
                .map(|r| {
                    let caller = crate::calls::Party {
                        num: field(r, "caller_num"),
                        name: field(r, "caller_name"),
                    }
                    .display();
                    let app = field(r, "application");
                    let data = field(r, "app_data");
                    vec![
                        field(r, "channel"),
                        field(r, "state"),
                        clock(r["duration_s"].as_u64().unwrap_or(0)),
                        caller,
                        format!(
                            "{}@{}:{}",
                            field(r, "exten"),
                            field(r, "context"),
                            field(r, "priority")
                        ),
                        if app.is_empty() {
                            String::new()
                        } else {
                            format!("{app}({data})")
                        },
                        field(r, "bridge"),
                        field(r, "uniqueid"),
                        field(r, "linkedid"),
                    ]
                })
                .collect(),
        ),
        ShowWhat::Calls(_) => (
            vec![
                "STATE", "TIME", "CALLER", "CALLEE", "CHANNELS", "CAUSE", "LINKEDID",
            ],
            rows.iter()
                .map(|r| {
                    let channels: Vec<&str> = r["channels"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let column = match channels.len() {
                        0 => String::new(),
                        1 => channels[0].to_string(),
                        n => format!("{} +{}", channels[0], n - 1),
                    };
                    vec![
                        field(r, "state"),
                        clock(r["duration_s"].as_u64().unwrap_or(0)),
                        field(r, "caller"),
                        field(r, "callee"),
                        column,
                        field(r, "cause"),
                        field(r, "linkedid"),
                    ]
                })
                .collect(),
        ),
        ShowWhat::Queues(_) => {
            let mut lines = Vec::new();
            for r in rows {
                let members = r["members"].as_array().cloned().unwrap_or_default();
                let callers = r["callers"].as_array().cloned().unwrap_or_default();
                lines.push(vec![
                    field(r, "queue"),
                    field(r, "strategy"),
                    format!("{} members, {} callers", members.len(), callers.len()),
                    format!(
                        "completed {} abandoned {}",
                        field(r, "completed"),
                        field(r, "abandoned")
                    ),
                ]);
                for m in &members {
                    let paused = if m["paused"].as_bool().unwrap_or(false) {
                        format!("paused {}", field(m, "paused_reason"))
                            .trim_end()
                            .to_string()
                    } else {
                        String::new()
                    };
                    lines.push(vec![
                        format!("  {}", field(m, "interface")),
                        field(m, "name"),
                        format!("{} {paused}", field(m, "status"))
                            .trim_end()
                            .to_string(),
                        format!(
                            "taken {} penalty {}",
                            field(m, "calls_taken"),
                            field(m, "penalty")
                        ),
                    ]);
                }
                for c in &callers {
                    lines.push(vec![
                        format!("  {}. {}", field(c, "position"), field(c, "channel")),
                        field(c, "caller"),
                        format!("waiting {}", clock(c["wait_s"].as_u64().unwrap_or(0))),
                        String::new(),
                    ]);
                }
            }
            (
                vec!["QUEUE / MEMBER", "STRATEGY / NAME", "STATUS", "STATS"],
                lines,
            )
        }
        ShowWhat::Endpoints(_) => {
            let mut lines = Vec::new();
            for r in rows {
                let contacts = r["contacts"].as_array().cloned().unwrap_or_default();
                lines.push(vec![
                    field(r, "endpoint"),
                    field(r, "state"),
                    if field(r, "address").is_empty() {
                        format!("{} contacts", contacts.len())
                    } else {
                        field(r, "address")
                    },
                    field(r, "aors"),
                ]);
                for c in &contacts {
                    let rtt = c["rtt_ms"]
                        .as_f64()
                        .map(|ms| format!("{ms:.1} ms"))
                        .unwrap_or_default();
                    lines.push(vec![
                        format!("  {}", field(c, "uri")),
                        field(c, "status"),
                        rtt,
                        field(c, "aor"),
                    ]);
                }
            }
            (
                vec!["ENDPOINT / CONTACT", "STATE", "CONTACTS / RTT", "AOR"],
                lines,
            )
        }
    };
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let print = |out: &mut dyn Write, cells: &[String]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            let pad = w.saturating_sub(cell.chars().count());
            text.extend(std::iter::repeat_n(' ', pad));
        }
        writeln!(out, "{}", text.trim_end())
    };
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    print(out, &header)?;
    for line in &lines {
        print(out, line)?;
    }
    let noun = what.name();
    writeln!(out, "{} {noun}", rows.len())
}

/// The state a list of entries builds (tests and `--open` share it).
pub fn state_of(entries: &[Stamped]) -> State {
    let mut state = State::new(StateConfig::default());
    for e in entries {
        state.apply(e);
    }
    state
}
