//! Several PBXs at once: `amicon watch pbx1,pbx2,pbx3 Hangup`, `amicon send a,b Ping`.
//! One session per target (a profile or an address), their streams merged in arrival
//! order, every entry tagged with its target: `"server"` in JSON, a column in
//! `--format line`, and in raw output a `#@` comment line before each message (the
//! recording format, so `amicon open` reads it back with the servers).
//!
//! A target that cannot be reached is reported and retried while the others go on. The
//! exit code is the highest of the targets' codes (0 when all succeeded), and each
//! target that failed is named on stderr: `amicon: pbx2: failed (exit 3): ...`.

use super::watch::{compile, round_to_millis};
use super::{is_closed_pipe, warn, EXIT_CANNOT_CONNECT, EXIT_OK, EXIT_USAGE};
use crate::ami::{Action, Kind};
use crate::cli::{ConnectArgs, SendArgs, WatchArgs, WatchFormat};
use crate::config::Resolved;
use crate::filter::Filter;
use crate::format::{self, Charset};
use crate::session::{
    self, EndReason, EventStream, Reply, SessionEvent, SessionHandle, SessionState, Stamped,
};
use std::io::{BufWriter, Write};
use std::time::Duration;
use tokio::sync::mpsc;

const OUTPUT_BUFFER: usize = 1 << 20;
const LOGOFF_GRACE: Duration = Duration::from_secs(2);
/// Batches in flight from the sessions to the printer. When the printer is slower the
/// forwarders wait, and each session's own queue absorbs (then drops and counts) the
/// excess: the socket readers never wait.
const MERGE_DEPTH: usize = 64;

/// The targets of a comma-separated TARGET (`pbx1,pbx2`); `None` for a single target.
pub fn split_targets(target: Option<&str>) -> Result<Option<Vec<String>>, String> {
    let Some(text) = target.filter(|t| t.contains(',')) else {
        return Ok(None);
    };
    let targets: Vec<String> = text.split(',').map(|t| t.trim().to_string()).collect();
    if targets.iter().any(String::is_empty) {
        return Err(format!(
            "bad target list {text:?}: an empty target between commas"
        ));
    }
    for (i, t) in targets.iter().enumerate() {
        if targets[..i].contains(t) {
            return Err(format!("bad target list {text:?}: {t:?} is named twice"));
        }
    }
    Ok(Some(targets))
}

/// `{"time":...}` with `"server"` first: `{"server":"pbx1","time":...}`.
pub fn tag_json(line: &str, server: &str) -> String {
    let name = serde_json::Value::String(server.to_string());
    match line.strip_prefix('{') {
        Some("}") => format!("{{\"server\":{name}}}"),
        Some(rest) => format!("{{\"server\":{name},{rest}"),
        None => line.to_string(),
    }
}

/// Resolves each target like a single one (profile, env, flags; warnings printed).
fn resolve_all(args: &ConnectArgs, targets: &[String]) -> Result<Vec<Resolved>, i32> {
    targets
        .iter()
        .map(|target| {
            let one = ConnectArgs {
                target: Some(target.clone()),
                ..args.clone()
            };
            super::resolve(&one).inspect_err(|_| warn(format!("{target}: not started (see above)")))
        })
        .collect()
}

/// Forwards every session's batches, tagged with its index, into one channel in
/// arrival order. The channel closes when every session has ended.
fn merge(streams: Vec<EventStream>) -> mpsc::Receiver<(usize, Vec<Stamped>)> {
    let (tx, rx) = mpsc::channel(MERGE_DEPTH);
    for (index, mut stream) in streams.into_iter().enumerate() {
        let tx = tx.clone();
        tokio::spawn(async move {
            loop {
                let mut batch = Vec::with_capacity(1024);
                let open = stream.recv_batch(&mut batch).await;
                if !batch.is_empty() && tx.send((index, batch)).await.is_err() {
                    return;
                }
                if !open {
                    return;
                }
            }
        });
    }
    rx
}

/// One target's life during a fleet run.
struct Member {
    name: String,
    filter: Option<Filter>,
    charset: Charset,
    logged_in_before: bool,
    /// Why its session ended, once it has.
    ended: Option<EndReason>,
    /// The last reason a (re)connection failed, while it is still being retried.
    last_failure: Option<String>,
}

impl Member {
    /// The exit code this target contributes, and why, if it failed.
    fn outcome(&self) -> (i32, Option<String>) {
        match &self.ended {
            Some(EndReason::LoggedOff) => (EXIT_OK, None),
            Some(reason) => (reason.exit_code(), Some(reason.to_string())),
            None if !self.logged_in_before => (
                EXIT_CANNOT_CONNECT,
                Some(format!(
                    "never connected ({})",
                    self.last_failure
                        .as_deref()
                        .unwrap_or("still trying when the watch ended")
                )),
            ),
            None => (EXIT_OK, None),
        }
    }
}

/// Names each failed target on stderr; returns the highest code.
fn summarise(outcomes: impl Iterator<Item = (String, i32, Option<String>)>) -> i32 {
    let mut worst = EXIT_OK;
    for (name, code, why) in outcomes {
        if code != EXIT_OK {
            warn(format!(
                "{name}: failed (exit {code}): {}",
                why.unwrap_or_default()
            ));
        }
        worst = worst.max(code);
    }
    worst
}

#[derive(Debug, PartialEq, Eq)]
enum Progress {
    Going,
    Done,
}

struct FleetPrinter<W: Write> {
    out: W,
    format: WatchFormat,
    members: Vec<Member>,
    /// Width of the server column in `--format line`.
    width: usize,
    remaining: Option<u64>,
}

impl<W: Write> FleetPrinter<W> {
    fn print_batch(&mut self, index: usize, batch: &[Stamped]) -> std::io::Result<Progress> {
        let mut progress = Progress::Going;
        for stamped in batch {
            progress = self.print(index, stamped)?;
            if progress != Progress::Going {
                break;
            }
        }
        self.out.flush()?;
        Ok(progress)
    }

    fn print(&mut self, index: usize, stamped: &Stamped) -> std::io::Result<Progress> {
        let member = &mut self.members[index];
        let name = &member.name;
        match &stamped.event {
            SessionEvent::Received {
                message,
                internal: false,
                ..
            } if message.kind() == Kind::Event => {
                if member.filter.as_ref().is_some_and(|f| !f.matches(message)) {
                    return Ok(Progress::Going);
                }
                let charset = member.charset;
                let name = member.name.clone();
                self.write_event(stamped, &name, charset)?;
                if let Some(remaining) = &mut self.remaining {
                    *remaining = remaining.saturating_sub(1);
                    if *remaining == 0 {
                        return Ok(Progress::Done);
                    }
                }
            }
            SessionEvent::State(SessionState::LoggedIn { user, server, .. }) => {
                if member.logged_in_before {
                    warn(format!("{name}: reconnected to {server} as {user}"));
                } else if member.last_failure.is_some() {
                    warn(format!("{name}: connected to {server} as {user}"));
                }
                member.logged_in_before = true;
                member.last_failure = None;
            }
            SessionEvent::State(SessionState::Reconnecting {
                delay,
                attempt,
                reason,
            }) => {
                warn(format!(
                    "{name}: {reason}; retrying in {} (attempt {attempt}); the other servers go on",
                    humantime::format_duration(round_to_millis(*delay))
                ));
                member.last_failure = Some(reason.clone());
            }
            SessionEvent::State(SessionState::Ended(reason)) => {
                if *reason != EndReason::LoggedOff {
                    warn(format!("{name}: {reason}"));
                }
                member.ended = Some(reason.clone());
            }
            SessionEvent::Gap { from, to, reason } => warn(format!(
                "{name}: --- gap: events from {} to {} are missing ({reason}) ---",
                humantime::format_rfc3339_millis(*from),
                humantime::format_rfc3339_millis(*to)
            )),
            SessionEvent::Dropped { count } => warn(format!(
                "{name}: --- {count} messages dropped: output could not keep up ---"
            )),
            SessionEvent::ProtocolError { what, .. } => {
                warn(format!("{name}: protocol error (skipped): {what}"))
            }
            _ => {}
        }
        Ok(Progress::Going)
    }

    fn write_event(
        &mut self,
        stamped: &Stamped,
        name: &str,
        charset: Charset,
    ) -> std::io::Result<()> {
        match self.format {
            WatchFormat::Raw => crate::record::write_entry(&mut self.out, stamped, Some(name)),
            WatchFormat::Line => writeln!(
                self.out,
                "{name:<width$} {}",
                format::one_line(stamped, charset),
                width = self.width
            ),
            WatchFormat::Json => writeln!(
                self.out,
                "{}",
                tag_json(&format::json_line(stamped, charset), name)
            ),
        }
    }

    fn all_ended(&self) -> bool {
        self.members.iter().all(|m| m.ended.is_some())
    }
}

async fn logoff_all(handles: Vec<SessionHandle>) {
    let tasks: Vec<_> = handles
        .into_iter()
        .map(|h| tokio::spawn(async move { h.logoff().await }))
        .collect();
    let _ = tokio::time::timeout(LOGOFF_GRACE, async {
        for task in tasks {
            let _ = task.await;
        }
    })
    .await;
}

/// `amicon watch` over several targets; returns the exit code.
pub async fn watch(args: WatchArgs, cli_filter: Option<Filter>, targets: Vec<String>) -> i32 {
    let resolved = match resolve_all(&args.connect, &targets) {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    let mut members = Vec::new();
    let mut configs = Vec::new();
    for (name, resolved) in targets.iter().zip(resolved) {
        // Terms on the command line replace each profile's default filter.
        let filter = match (&cli_filter, resolved.filter.clone()) {
            (Some(filter), _) => Some(filter.clone()),
            (None, Some(setting)) => match compile(setting) {
                Ok(filter) => filter,
                Err(code) => return code,
            },
            (None, None) => None,
        };
        members.push(Member {
            name: name.clone(),
            filter,
            charset: resolved.charset,
            logged_in_before: false,
            ended: None,
            last_failure: None,
        });
        let mut config = resolved.session;
        // An unreachable server is retried while the others are watched.
        config.retry_first_connect = true;
        configs.push(config);
    }
    if args.count == Some(0) {
        return EXIT_OK;
    }
    let mut recorder = match &args.record {
        None => None,
        Some(path) => match crate::record::Recorder::create(path) {
            Ok(recorder) => Some(recorder),
            Err(e) => {
                warn(format!(
                    "cannot create the recording {}: {e}",
                    path.display()
                ));
                return EXIT_USAGE;
            }
        },
    };
    let (handles, streams): (Vec<_>, Vec<_>) = configs.into_iter().map(session::spawn).unzip();
    let mut merged = merge(streams);
    let stdout = std::io::stdout();
    let width = targets.iter().map(|t| t.chars().count()).max().unwrap_or(0);
    let mut printer = FleetPrinter {
        out: BufWriter::with_capacity(OUTPUT_BUFFER, stdout.lock()),
        format: args.output_format(),
        members,
        width,
        remaining: args.count,
    };
    if printer.format == WatchFormat::Raw {
        if let Err(e) = crate::record::write_header(&mut printer.out) {
            if !is_closed_pipe(&e) {
                warn(format!("cannot write to stdout: {e}"));
            }
            logoff_all(handles).await;
            return EXIT_CANNOT_CONNECT;
        }
    }
    let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
    // Set when stdout failed (not merely closed): that is a failure of its own.
    let output_failed = loop {
        let next = match deadline {
            Some(deadline) => tokio::select! {
                next = merged.recv() => next,
                () = tokio::time::sleep_until(deadline) => break false,
            },
            None => merged.recv().await,
        };
        let Some((index, batch)) = next else {
            break false;
        };
        if let Some(rec) = recorder.as_mut() {
            let name = printer.members[index].name.as_str();
            let written = batch
                .iter()
                .try_for_each(|entry| rec.write_from(entry, Some(name)));
            if let Err(e) = written.and_then(|()| rec.flush()) {
                warn(format!("recording stopped: {e}"));
                recorder = None;
            }
        }
        match printer.print_batch(index, &batch) {
            Ok(Progress::Going) if printer.all_ended() => break false,
            Ok(Progress::Going) => {}
            Ok(Progress::Done) => break false,
            Err(e) if is_closed_pipe(&e) => break false,
            Err(e) => {
                warn(format!("cannot write to stdout: {e}"));
                break true;
            }
        }
    };
    let outcomes: Vec<_> = printer
        .members
        .iter()
        .map(|m| {
            let (code, why) = m.outcome();
            (m.name.clone(), code, why)
        })
        .collect();
    drop(printer);
    logoff_all(handles).await;
    let code = summarise(outcomes.into_iter());
    if output_failed {
        code.max(EXIT_CANNOT_CONNECT)
    } else {
        code
    }
}

/// What one target's send produced, for the printer.
enum SendNews {
    Reply(Reply),
    Failed(String),
}

/// `amicon send` over several targets: the same actions to each, concurrently; each
/// answer printed whole, tagged with its target, as it arrives. Returns the exit code.
pub async fn send(args: &SendArgs, actions: Vec<Action>, targets: Vec<String>) -> i32 {
    let resolved = match resolve_all(&args.connect, &targets) {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    // A profile's `read_only` refuses the whole run before any server is reached.
    if resolved.iter().any(|r| r.read_only) {
        if let Some(code) = super::send::refused_by_read_only(&actions, true) {
            return code;
        }
    }
    let (news_tx, mut news) = mpsc::unbounded_channel::<(usize, SendNews)>();
    let mut charsets = Vec::new();
    let mut tasks = Vec::new();
    for (index, resolved) in resolved.into_iter().enumerate() {
        charsets.push(resolved.charset);
        let config = super::send::session_config(resolved.session, args);
        let actions = actions.clone();
        let tx = news_tx.clone();
        tasks.push(tokio::spawn(send_one(index, config, actions, tx)));
    }
    drop(news_tx);
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut output_open = true;
    if args.output_format() == WatchFormat::Raw && crate::record::write_header(&mut out).is_err() {
        output_open = false;
    }
    let mut write_failed = false;
    while let Some((index, item)) = news.recv().await {
        let name = &targets[index];
        match item {
            SendNews::Failed(why) => warn(format!("{name}: {why}")),
            SendNews::Reply(reply) if output_open => {
                match super::send::write_reply(
                    &mut out,
                    &reply,
                    args.output_format(),
                    charsets[index],
                    Some(name),
                ) {
                    Ok(()) => {}
                    Err(e) => {
                        if !is_closed_pipe(&e) {
                            warn(format!("cannot write the answer: {e}"));
                            write_failed = true;
                        }
                        output_open = false;
                    }
                }
            }
            SendNews::Reply(_) => {}
        }
    }
    drop(out);
    let mut outcomes = Vec::new();
    for (index, task) in tasks.into_iter().enumerate() {
        let (code, why) = task
            .await
            .unwrap_or((EXIT_CANNOT_CONNECT, Some("the session task failed".into())));
        outcomes.push((targets[index].clone(), code, why));
    }
    let code = summarise(outcomes.into_iter());
    if write_failed {
        code.max(super::EXIT_ACTION_ERROR)
    } else {
        code
    }
}

/// One target of a fleet `send`: log in, send every action in order, log off.
async fn send_one(
    index: usize,
    config: session::SessionConfig,
    actions: Vec<Action>,
    news: mpsc::UnboundedSender<(usize, SendNews)>,
) -> (i32, Option<String>) {
    let (handle, mut stream) = session::spawn(config);
    if let Err(reason) = super::wait_for_login(&mut stream).await {
        return (reason.exit_code(), Some(reason.to_string()));
    }
    let drain = tokio::spawn(async move {
        let mut batch = Vec::new();
        while stream.recv_batch(&mut batch).await {
            batch.clear();
        }
    });
    let mut code = EXIT_OK;
    let mut why = None;
    for action in actions {
        let name = action.name().unwrap_or_default();
        match handle.request(action).await {
            Ok(reply) => {
                if !reply.is_success() {
                    code = code.max(super::EXIT_ACTION_ERROR);
                    why.get_or_insert_with(|| {
                        format!(
                            "{name} answered Error: {}",
                            reply.response.get_str("Message").unwrap_or_default()
                        )
                    });
                }
                let _ = news.send((index, SendNews::Reply(reply)));
            }
            Err(error) => {
                let failed = super::send::exit_code_of(&error);
                code = code.max(failed);
                why = Some(format!("{name}: {error}"));
                let _ = news.send((index, SendNews::Failed(format!("{name}: {error}"))));
                if failed == EXIT_CANNOT_CONNECT {
                    break;
                }
            }
        }
    }
    let _ = tokio::time::timeout(LOGOFF_GRACE, handle.logoff()).await;
    drain.abort();
    (code, why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::Message;
    use crate::session::Link;
    use std::time::SystemTime;

    #[test]
    fn a_comma_makes_a_fleet_and_bad_lists_are_refused() {
        assert_eq!(split_targets(Some("pbx")).unwrap(), None);
        assert_eq!(split_targets(None).unwrap(), None);
        assert_eq!(
            split_targets(Some("pbx1, admin@10.0.0.2:5038,amis://x@y")).unwrap(),
            Some(vec![
                "pbx1".to_string(),
                "admin@10.0.0.2:5038".to_string(),
                "amis://x@y".to_string()
            ])
        );
        assert!(split_targets(Some("a,,b")).unwrap_err().contains("empty"));
        assert!(split_targets(Some("a,b,a")).unwrap_err().contains("twice"));
    }

    #[test]
    fn json_lines_get_the_server_first() {
        assert_eq!(
            tag_json(r#"{"time":"t","name":"Hangup"}"#, "pbx\"1"),
            r#"{"server":"pbx\"1","time":"t","name":"Hangup"}"#
        );
        assert_eq!(tag_json("{}", "a"), r#"{"server":"a"}"#);
    }

    fn member(name: &str) -> Member {
        Member {
            name: name.into(),
            filter: None,
            charset: Charset::UTF8,
            logged_in_before: false,
            ended: None,
            last_failure: None,
        }
    }

    fn event(name: &str) -> Stamped {
        Stamped {
            at: SystemTime::UNIX_EPOCH,
            event: SessionEvent::Received {
                message: Message::from_headers(&[("Event", name)]),
                link: Link::Unsolicited,
                internal: false,
            },
        }
    }

    fn printer(format: WatchFormat) -> FleetPrinter<Vec<u8>> {
        FleetPrinter {
            out: Vec::new(),
            format,
            members: vec![member("pbx1"), member("b")],
            width: 4,
            remaining: None,
        }
    }

    #[test]
    fn every_format_tags_the_server() {
        let mut p = printer(WatchFormat::Line);
        p.print_batch(1, &[event("Hangup")]).unwrap();
        let line = String::from_utf8(p.out).unwrap();
        assert!(line.starts_with("b    "), "{line:?}");
        assert!(line.contains("Hangup"), "{line:?}");

        let mut p = printer(WatchFormat::Json);
        p.print_batch(0, &[event("Hangup")]).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(String::from_utf8(p.out).unwrap().trim()).unwrap();
        assert_eq!(json["server"], "pbx1");
        assert_eq!(json["name"], "Hangup");
    }

    #[test]
    fn raw_fleet_output_reads_back_with_each_entrys_server() {
        let mut p = printer(WatchFormat::Raw);
        crate::record::write_header(&mut p.out).unwrap();
        p.print_batch(0, &[event("Newchannel")]).unwrap();
        p.print_batch(1, &[event("Hangup"), event("Newstate")])
            .unwrap();
        let back = crate::record::read(&p.out);
        assert_eq!(back.entries.len(), 3);
        let servers: Vec<_> = back.servers.iter().map(|s| s.as_deref()).collect();
        assert_eq!(servers, [Some("pbx1"), Some("b"), Some("b")]);
        // The AMI text itself is untouched between the comment lines.
        let text = String::from_utf8(p.out).unwrap();
        assert!(text.contains("\nEvent: Hangup\r\n\r\n"), "{text}");
    }

    #[test]
    fn the_exit_code_is_the_worst_and_a_never_connected_server_counts() {
        let mut p = printer(WatchFormat::Json);
        let ended = |r: EndReason| Stamped {
            at: SystemTime::UNIX_EPOCH,
            event: SessionEvent::State(SessionState::Ended(r)),
        };
        let logged_in = Stamped {
            at: SystemTime::UNIX_EPOCH,
            event: SessionEvent::State(SessionState::LoggedIn {
                user: "u".into(),
                server: "s".into(),
                tls: false,
            }),
        };
        p.print_batch(0, &[logged_in]).unwrap();
        assert_eq!(p.members[0].outcome().0, EXIT_OK);
        // Never connected while the watch lasted: cannot connect.
        assert_eq!(p.members[1].outcome().0, EXIT_CANNOT_CONNECT);
        p.print_batch(1, &[ended(EndReason::AuthFailed("no".into()))])
            .unwrap();
        assert_eq!(p.members[1].outcome().0, 4);
        assert!(!p.all_ended());
        p.print_batch(0, &[ended(EndReason::LoggedOff)]).unwrap();
        assert!(p.all_ended());
        let code = summarise(p.members.iter().map(|m| {
            let (c, w) = m.outcome();
            (m.name.clone(), c, w)
        }));
        assert_eq!(code, 4);
    }

    #[test]
    fn count_is_over_the_merged_stream() {
        let mut p = printer(WatchFormat::Json);
        p.remaining = Some(2);
        assert_eq!(p.print_batch(0, &[event("A")]).unwrap(), Progress::Going);
        assert_eq!(
            p.print_batch(1, &[event("B"), event("C")]).unwrap(),
            Progress::Done
        );
        assert_eq!(String::from_utf8(p.out).unwrap().lines().count(), 2);
    }
}
